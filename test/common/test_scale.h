/**
 * @file test_scale.h
 * @brief Iteration counts of randomised tests: full natively, a hundredth when the
 * environment sets DEFENDER_TEST_QUICK (the valgrind runs, which are ~50x slower).
 */
#ifndef TEST_SCALE_H
#define TEST_SCALE_H

#include <stdlib.h>

/**
 * @brief Scales a loop count.
 * @param[in] full Iterations of a native run.
 * @return `full`, or full / 100 + 1 under DEFENDER_TEST_QUICK.
 */
static inline unsigned long TestScale(unsigned long full)
{
    return (getenv("DEFENDER_TEST_QUICK") != NULL) ? ((full / 100UL) + 1UL) : full;
}

#endif /* TEST_SCALE_H */
