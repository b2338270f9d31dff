/**
 * @file test_period_floor.c
 * @brief The production build option (PD-23): with DEFENDER_CONFIG_MIN_PERIOD_SECONDS
 * = 300, shorter periods are refused by the core and by the seed API.
 * This program compiles the core and the seed API itself with that option.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "defender.h"
#include "defender_platform.h"

#if DEFENDER_CONFIG_MIN_PERIOD_SECONDS != 300
#error "this test must be built with DEFENDER_CONFIG_MIN_PERIOD_SECONDS=300"
#endif

/** @brief No platform: only the period functions are exercised. */
const DefenderPlatform_t *DefenderPlatform_Get(void)
{
    return NULL;
}

static void test_DEFENDER_ReportPeriodSet_ProductionFloor(void **state)
{
    (void) state;
    assert_int_equal(DEFENDER_ReportPeriodSet(1), eDefenderErrPeriodTooShort);
    assert_int_equal(DEFENDER_ReportPeriodSet(299), eDefenderErrPeriodTooShort);
    assert_int_equal(DEFENDER_ReportPeriodSet(0), eDefenderErrPeriodTooShort);
    assert_int_equal(DEFENDER_ReportPeriodSet(-300), eDefenderErrPeriodTooShort);
    assert_int_equal(DEFENDER_ReportPeriodSet(300), eDefenderErrSuccess);
    assert_int_equal(DEFENDER_ReportPeriodSet(3600), eDefenderErrSuccess);
    assert_int_equal(DEFENDER_ReportPeriodSet(2000001), eDefenderErrOther);
    /* Without a platform, DEFENDER_Start cannot run. */
    assert_int_equal(DEFENDER_Start(), eDefenderErrOther);
}

static void test_Defender_SetPeriod_ProductionFloor(void **state)
{
    DefenderContext_t context;
    (void) state;
    /* SetPeriod checks the period before anything else. */
    assert_int_equal(Defender_SetPeriod(&context, 299), DEFENDER_PERIOD_TOO_SHORT);
    assert_int_equal(Defender_SetPeriod(NULL, 300), DEFENDER_BAD_PARAMETER);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_DEFENDER_ReportPeriodSet_ProductionFloor),
        cmocka_unit_test(test_Defender_SetPeriod_ProductionFloor),
    };
    return cmocka_run_group_tests_name("unit_period_floor", tests, NULL, NULL);
}
