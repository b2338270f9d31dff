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

/* Validates one behavior named b; returns the error messages joined by " | " ("" = valid). */
static void validate_expect(rt_env *v, const char *behavior, const char *want)
{
    char body[4096];
    snprintf(body, sizeof body, "{\"behaviors\":[%s]}", behavior);
    cJSON *o = NULL;
    assert_int_equal(
        rt_api(v, "POST", "/security-profile-behaviors/validate", NULL, body, &o, NULL), 200);
    char got[4096] = "";
    const cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(o, "validationErrors"))
    {
        snprintf(got + strlen(got), sizeof got - strlen(got), "%s%s", got[0] ? " | " : "",
                 cJSON_GetObjectItem(it, "errorMessage")->valuestring);
    }
    if (strcmp(got, want) != 0)
        fail_msg("%s\n  want: %s\n  got:  %s", behavior, want, got);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(o, "valid")) == (want[0] == '\0'));
    cJSON_Delete(o);
}

#define BEH(metric, crit) "{\"name\":\"b\",\"metric\":\"" metric "\",\"criteria\":{" crit "}}"
#define MAL               "Behavior b is malformed. "

/* 3.5 V-9, V-10, V-11: a message names the value the caller sent, never a rounded one. */
static void test_validation_numbers(void **state)
{
    (void) state;
    rt_env *v = rt_setup(0);
    validate_expect(v,
                    BEH("aws:listening-tcp-ports",
                        "\"comparisonOperator\":\"in-port-set\",\"value\":{\"ports\":[22.5]}"),
                    MAL "ports must be integers");
    validate_expect(v,
                    BEH("aws:listening-tcp-ports",
                        "\"comparisonOperator\":\"in-port-set\",\"value\":{\"ports\":[65535.6]}"),
                    MAL "ports must be integers");
    validate_expect(v,
                    BEH("aws:listening-tcp-ports",
                        "\"comparisonOperator\":\"in-port-set\",\"value\":{\"ports\":[-1]}"),
                    MAL "port -1 out of range [0,65535]");
    validate_expect(v,
                    BEH("aws:all-bytes-out", "\"comparisonOperator\":\"less-than\",\"value\":{"
                                             "\"count\":1},\"durationSeconds\":300.4"),
                    MAL "durationSeconds 300.4 not one of 300, 600, 900, 1800, 3600");
    validate_expect(v,
                    BEH("aws:all-bytes-out", "\"comparisonOperator\":\"less-than\",\"value\":{"
                                             "\"count\":1},\"consecutiveDatapointsToAlarm\":1.5"),
                    MAL "consecutiveDatapointsToAlarm must be an integer in range[1,10]");
    validate_expect(v,
                    BEH("aws:all-bytes-out", "\"comparisonOperator\":\"less-than\",\"value\":{"
                                             "\"count\":1},\"consecutiveDatapointsToClear\":10.2"),
                    MAL "consecutiveDatapointsToClear must be an integer in range[1,10]");
    validate_expect(v,
                    BEH("aws:all-bytes-out", "\"comparisonOperator\":\"less-than\",\"value\":{"
                                             "\"count\":1},\"consecutiveDatapointsToClear\":0"),
                    MAL "consecutiveDatapointsToClear 0 should be in range[1,10]");
    rt_teardown(v);
}

/* 4.3 RD-18: a set value is de-duplicated and IPv4-mapped addresses count as IPv4; metricValue
 * shows that normalised set, for a custom ip-address-list as for destination addresses. */
static void test_custom_ip_set_normalised(void **state)
{
    (void) state;
    rt_env *v = rt_setup(0);
    rt_ok(v, "POST", "/security-profiles/d", NULL,
          "{\"behaviors\":[{\"name\":\"dns\",\"metric\":\"dns_servers\",\"criteria\":{"
          "\"comparisonOperator\":\"in-cidr-set\",\"value\":{\"cidrs\":[\"10.0.0.0/8\"]}}}]}");
    attach_all(v, "d");
    rt_report(v, "t1", 0,
              "\"custom_metrics\":{\"dns_servers\":[{\"ip_list\":[\"8.8.8.8\",\"::ffff:8.8.8.8\","
              "\"2001:DB8::1\",\"2001:db8:0:0::1\",\"::FFFF:10.0.0.2\",\"10.0.0.2\"]}]}");
    const char *want = "{\"cidrs\":[\"8.8.8.8\",\"2001:db8::1\",\"10.0.0.2\"]}";
    cJSON *e = rt_events(v, 0, 0, NULL);
    rt_expect(e, "in-alarm", "dns", 0, "t1", want);
    cJSON_Delete(e);
    rt_report(v, "t1", 300,
              "\"custom_metrics\":{\"dns_servers\":[{\"ip_list\":[\"::ffff:9.9.9.9\",\"9.9.9.9\"]}]"
              "}");
    cJSON *o = NULL;
    assert_int_equal(rt_api(v, "GET", "/active-violations", NULL, NULL, &o, NULL), 200);
    const cJSON *lv = cJSON_GetObjectItem(
        cJSON_GetArrayItem(cJSON_GetObjectItem(o, "activeViolations"), 0), "lastViolationValue");
    assert_true(rt_json_eq(lv, "{\"cidrs\":[\"9.9.9.9\"]}"));
    cJSON_Delete(o);
    rt_teardown(v);
}

#define CONN(n) "\"metrics\":{\"tcp_connections\":{\"established_connections\":{\"total\":" #n "}}}"

static const char *const CONN_PROFILE =
    "{\"behaviors\":[{\"name\":\"c\",\"metric\":\"aws:num-established-tcp-connections\","
    "\"criteria\":{\"comparisonOperator\":\"less-than\",\"value\":{\"count\":3}}}]}";

/* 4.5: an active violation's lastViolationTime/Value advance while it stays in alarm, and
 * survive closing the engine right after such a datapoint (no API call, no sweep thread). */
static void test_last_violation_survives_close(void **state)
{
    (void) state;
    rt_env *v = rt_setup(0);
    rt_ok(v, "POST", "/security-profiles/s", NULL, CONN_PROFILE);
    attach_all(v, "s");
    rt_report(v, "t1", 0, CONN(5));
    rt_report(v, "t1", 300, CONN(7));
    rules_close(v->e);
    v->e = rt_open_engine(v, NULL, 0);
    cJSON *o = NULL;
    assert_int_equal(rt_api(v, "GET", "/active-violations", NULL, NULL, &o, NULL), 200);
    const cJSON *av = cJSON_GetArrayItem(cJSON_GetObjectItem(o, "activeViolations"), 0);
    assert_non_null(av);
    assert_true(rt_json_eq(cJSON_GetObjectItem(av, "lastViolationValue"), "{\"count\":7}"));
    assert_true(cJSON_GetObjectItem(av, "lastViolationTime")->valuedouble == (double) (T0 + 300));
    assert_true(cJSON_GetObjectItem(av, "violationStartTime")->valuedouble == (double) T0);
    cJSON_Delete(o);
    rt_teardown(v);
}

static int n_events(rt_env *v, int64_t t0, int64_t t1, const char *extra)
{
    cJSON *e = rt_events(v, t0, t1, extra);
    int n = cJSON_GetArraySize(e);
    cJSON_Delete(e);
    return n;
}

/* 2.3 RD-6, 4.1 keys, 4.8 lifecycle: a behavior name in two profiles is two keys; a profile
 * reachable through two targets is evaluated once; a registry change that un-covers a thing,
 * deleteBehaviors and DeleteSecurityProfile invalidate at change time without metricValue. */
static void test_keys_and_lifecycle(void **state)
{
    (void) state;
    rt_env *v = rt_setup(0);
    rt_ok(v, "POST", "/security-profiles/p1", NULL, CONN_PROFILE);
    rt_ok(v, "POST", "/security-profiles/p2", NULL, CONN_PROFILE);
    rt_ok(v, "POST", "/security-profiles/p3", NULL, CONN_PROFILE);
    attach_all(v, "p1");
    attach_all(v, "p2");
    rt_ok(v, "POST", "/thing-groups/g", NULL, "{}");
    rt_ok(v, "PUT", "/thing-groups/addThingToThingGroup", NULL,
          "{\"thingGroupName\":\"g\",\"thingName\":\"t1\"}");
    rt_ok(v, "PUT", "/security-profiles/p1/targets", QARN "thinggroup%2Fg", NULL);
    rt_ok(v, "PUT", "/security-profiles/p3/targets", QARN "all%2Funregistered-things", NULL);
    rt_report(v, "t1", 0, CONN(5));
    cJSON *e = rt_events(v, 0, 0, NULL);
    assert_int_equal(cJSON_GetArraySize(e), 3); /* p1 once, p2, p3 */
    char vid[3][40];
    for (int i = 0; i < 3; i++)
    {
        char q[64];
        snprintf(q, sizeof q, "securityProfileName=p%d", i + 1);
        cJSON *one = rt_events(v, 0, 0, q);
        assert_int_equal(cJSON_GetArraySize(one), 1);
        snprintf(vid[i], sizeof vid[i], "%s",
                 rt_expect(one, "in-alarm", "c", 0, "t1", "{\"count\":5}"));
        cJSON_Delete(one);
    }
    assert_string_not_equal(vid[0], vid[1]);
    cJSON_Delete(e);
    /* registering the thing un-covers it from all/unregistered-things */
    v->now_ms = (T0 + 100) * 1000;
    rt_ok(v, "POST", "/things/t1", NULL, "{}");
    e = rt_events(v, 100, 100, NULL);
    assert_int_equal(cJSON_GetArraySize(e), 1);
    assert_string_equal(rt_expect(e, "alarm-invalidated", "c", 100, "t1", NULL), vid[2]);
    cJSON_Delete(e);
    /* deleteBehaviors */
    v->now_ms = (T0 + 200) * 1000;
    rt_ok(v, "PATCH", "/security-profiles/p2", NULL, "{\"deleteBehaviors\":true}");
    e = rt_events(v, 200, 200, NULL);
    assert_int_equal(cJSON_GetArraySize(e), 1);
    assert_string_equal(rt_expect(e, "alarm-invalidated", "c", 200, "t1", NULL), vid[1]);
    cJSON_Delete(e);
    /* DeleteSecurityProfile */
    v->now_ms = (T0 + 300) * 1000;
    rt_ok(v, "DELETE", "/security-profiles/p1", NULL, NULL);
    e = rt_events(v, 300, 300, NULL);
    assert_int_equal(cJSON_GetArraySize(e), 1);
    assert_string_equal(rt_expect(e, "alarm-invalidated", "c", 300, "t1", NULL), vid[0]);
    cJSON_Delete(e);
    cJSON *o = NULL;
    assert_int_equal(rt_api(v, "GET", "/active-violations", NULL, NULL, &o, NULL), 200);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(o, "activeViolations")), 0);
    cJSON_Delete(o);
    /* history stays */
    assert_int_equal(n_events(v, 0, 300, "thingName=t1"), 6);
    rt_teardown(v);
}

/* 4.7 RD-24: a key in NORMAL with violating datapoints counted goes back to zero after two
 * days without datapoints, silently. */
static void test_silence_resets_count(void **state)
{
    (void) state;
    rt_env *v = rt_setup(0);
    rt_ok(v, "POST", "/security-profiles/s", NULL,
          "{\"behaviors\":[{\"name\":\"c\",\"metric\":\"aws:num-established-tcp-connections\","
          "\"criteria\":{\"comparisonOperator\":\"less-than\",\"value\":{\"count\":3},"
          "\"consecutiveDatapointsToAlarm\":2}}]}");
    attach_all(v, "s");
    rt_report(v, "t1", 0, CONN(5));
    v->now_ms = (T0 + 172800) * 1000;
    rules_tick(v->e, v->now_ms); /* exactly two days: not more */
    rt_report(v, "t1", 172800, CONN(5));
    assert_int_equal(n_events(v, 172800, 172800, NULL), 1); /* 2 of 2 */
    rt_report(v, "t1", 173100, CONN(1));
    assert_int_equal(n_events(v, 173100, 173100, NULL), 1); /* cleared */
    rt_report(v, "t1", 173400, CONN(5));                    /* 1 of 2 */
    v->now_ms = (T0 + 173400 + 172801) * 1000;
    rules_tick(v->e, v->now_ms);
    assert_int_equal(n_events(v, 173400, 173400 + 172801, NULL), 0);
    rt_report(v, "t1", 173400 + 172900, CONN(5)); /* 1 of 2 again */
    assert_int_equal(n_events(v, 173400, 173400 + 172900, NULL), 0);
    rt_report(v, "t1", 173400 + 173200, CONN(5));
    assert_int_equal(n_events(v, 173400, 173400 + 173200, NULL), 1);
    rt_teardown(v);
}

/* 1, 5.3 RD-28: ListActiveViolations pages newest violationStartTime first; the last page
 * has no nextToken. */
static void test_active_paging(void **state)
{
    (void) state;
    rt_env *v = rt_setup(0);
    rt_ok(v, "POST", "/security-profiles/s", NULL, CONN_PROFILE);
    attach_all(v, "s");
    for (int i = 0; i < 5; i++)
    {
        char th[16];
        snprintf(th, sizeof th, "t%d", i);
        rt_report(v, th, i, CONN(5));
    }
    static const char *const want[3][2] = {{"t4", "t3"}, {"t2", "t1"}, {"t0", NULL}};
    char q[128] = "maxResults=2";
    for (int page = 0; page < 3; page++)
    {
        cJSON *o = NULL;
        assert_int_equal(rt_api(v, "GET", "/active-violations", q, NULL, &o, NULL), 200);
        const cJSON *arr = cJSON_GetObjectItem(o, "activeViolations");
        assert_int_equal(cJSON_GetArraySize(arr), want[page][1] ? 2 : 1);
        for (int k = 0; k < 2 && want[page][k]; k++)
            assert_string_equal(
                cJSON_GetObjectItem(cJSON_GetArrayItem(arr, k), "thingName")->valuestring,
                want[page][k]);
        const cJSON *nt = cJSON_GetObjectItem(o, "nextToken");
        if (page < 2)
            snprintf(q, sizeof q, "maxResults=2&nextToken=%s", nt->valuestring);
        else
            assert_null(nt);
        cJSON_Delete(o);
    }
    rt_teardown(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_window_history),
        cmocka_unit_test(test_validation_numbers),
        cmocka_unit_test(test_custom_ip_set_normalised),
        cmocka_unit_test(test_last_violation_survives_close),
        cmocka_unit_test(test_keys_and_lifecycle),
        cmocka_unit_test(test_silence_resets_count),
        cmocka_unit_test(test_active_paging),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
