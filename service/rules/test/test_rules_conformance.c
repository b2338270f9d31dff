/* Sentences of detect-rules.md that the golden cases (section 7) do not pin: traffic windows
 * across coverage changes, validation messages, set normalisation, lifecycle details. */
#include "rules_test_util.h"

#include "rules_engine.h"

#define QARN "securityProfileTargetArn=arn%3Aaws%3Aiot%3Aus-east-1%3A123456789012%3A"

static void attach_all(rt_env *v, const char *profile)
{
    char path[200];
    snprintf(path, sizeof path, "/security-profiles/%s/targets", profile);
    rt_ok(v, "PUT", path, QARN "all%2Fthings", NULL);
}

static const char *const WINDOW_PROFILE =
    "{\"behaviors\":[{\"name\":\"bo\",\"metric\":\"aws:all-bytes-out\",\"criteria\":{"
    "\"comparisonOperator\":\"less-than\",\"value\":{\"count\":1000},\"durationSeconds\":900}}]}";

#define BYTES_OUT(n) "\"metrics\":{\"network_stats\":{\"bytes_out\":" #n "}}"

/* 4.3 / PD-20: a windowed traffic datapoint is the sum over the thing's accepted reports in
 * (t - D, t], including reports received before the thing was covered by the profile, and
 * before the profile (or any windowed behavior) existed. */
static void test_window_history(void **state)
{
    (void) state;
    rt_env *v = rt_setup(0);
    /* reports before the first profile exists */
    rt_report(v, "early", 0, BYTES_OUT(400));
    rt_report(v, "early", 300, BYTES_OUT(400));
    v->now_ms = (T0 + 400) * 1000;
    rt_ok(v, "POST", "/security-profiles/w", NULL, WINDOW_PROFILE);
    /* a report while the profile exists but covers nothing */
    rt_report(v, "late", 450, BYTES_OUT(600));
    attach_all(v, "w");
    rt_report(v, "early", 600, BYTES_OUT(400));
    cJSON *e = rt_events(v, 600, 600, NULL);
    rt_expect(e, "in-alarm", "bo", 600, "early", "{\"count\":1200}");
    cJSON_Delete(e);
    rt_report(v, "late", 750, BYTES_OUT(600));
    e = rt_events(v, 750, 750, NULL);
    rt_expect(e, "in-alarm", "bo", 750, "late", "{\"count\":1200}");
    cJSON_Delete(e);
    /* the window is half-open: at t=1200 it is (300, 1200], holding 400 + 100 */
    rt_report(v, "early", 1200, BYTES_OUT(100));
    e = rt_events(v, 1200, 1200, NULL);
    rt_expect(e, "alarm-cleared", "bo", 1200, "early", "{\"count\":500}");
    cJSON_Delete(e);
    rt_teardown(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_window_history),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
