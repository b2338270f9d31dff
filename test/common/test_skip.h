/**
 * @file test_skip.h
 * @brief Skipping a test that needs something the machine may lack (a private network
 * namespace): a skip on a developer's machine, a failure in CI (environment variable CI
 * set), where a test must not vanish silently. Include after <cmocka.h>.
 */
#ifndef TEST_SKIP_H
#define TEST_SKIP_H

#include <stdlib.h>

/** @brief Skips the current test, or fails it in CI, naming what is missing. */
#define TEST_SKIP_UNLESS_CI(pWhat)                                                                 \
    do                                                                                             \
    {                                                                                              \
        if (getenv("CI") != NULL)                                                                  \
        {                                                                                          \
            fail_msg("%s in CI: this test did not run", (pWhat));                                  \
        }                                                                                          \
        skip();                                                                                    \
    } while (0)

#endif /* TEST_SKIP_H */
