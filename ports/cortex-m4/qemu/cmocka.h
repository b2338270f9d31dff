/**
 * @file cmocka.h
 * @brief The few cmocka assertions the shared test data (test/common/report_examples.c)
 * uses, for the Cortex-M4 self-test, which has no cmocka: a failed check is reported
 * through semihosting and fails the run.
 */
#ifndef DEFENDER_M4_CMOCKA_SHIM_H
#define DEFENDER_M4_CMOCKA_SHIM_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/**
 * @brief Records one check.
 * @param[in] passed Whether it held.
 * @param[in] pWhat The checked expression.
 * @param[in] pFile Source file.
 * @param[in] line Source line.
 */
void SelfTest_Check(bool passed, const char *pWhat, const char *pFile, int line);

#define assert_true(c) SelfTest_Check((c) != 0, #c, __FILE__, __LINE__)
#define assert_int_equal(a, b)                                                                     \
    SelfTest_Check((uintmax_t) (a) == (uintmax_t) (b), #a " == " #b, __FILE__, __LINE__)
#define assert_memory_equal(a, b, n)                                                               \
    SelfTest_Check(memcmp((a), (b), (n)) == 0, #a " equals " #b, __FILE__, __LINE__)

#endif /* DEFENDER_M4_CMOCKA_SHIM_H */
