/* Section 7.5 validation cases and the profile, target and dimension API (sections 1-3, 6.2). */
#include "rules_test_util.h"

#include "rules_internal.h"

#define ARN  "arn:aws:iot:us-east-1:123456789012:"
#define QARN "securityProfileTargetArn=arn%3Aaws%3Aiot%3Aus-east-1%3A123456789012%3A"

typedef struct
{
    const char *behavior; /* JSON object with name b */
    const char *error;    /* NULL = valid */
} vcase;

#define B(metric, crit) "{\"name\":\"b\",\"metric\":\"" metric "\",\"criteria\":{" crit "}}"

static const vcase g_cases[] = {
    {B("aws:all-bytes-out",
       "\"comparisonOperator\":\"less-than\",\"value\":{\"count\":4096},\"durationSeconds\":300"),
     NULL},
    {B("aws:all-bytes-out", "\"comparisonOperator\":\"less-than\",\"value\":{\"count\":\"4096\"},"
                            "\"durationSeconds\":300"),
     NULL},
    {B("aws:all-bytes-out",
       "\"comparisonOperator\":\"less-than\",\"value\":{\"count\":4096},\"durationSeconds\":120"),
     "durationSeconds 120 not one of 300, 600, 900, 1800, 3600"},
    {B("aws:all-bytes-out", "\"comparisonOperator\":\"in-port-set\",\"value\":{\"ports\":[22]}"),
     "operator in-port-set not valid for metric aws:all-bytes-out"},
    {B("aws:listening-tcp-ports",
       "\"comparisonOperator\":\"in-port-set\",\"value\":{\"ports\":[22]},\"durationSeconds\":300"),
     "durationSeconds not allowed for list-based metric"},
    {B("aws:listening-tcp-ports",
       "\"comparisonOperator\":\"in-port-set\",\"value\":{\"ports\":[70000]}"),
     "port 70000 out of range [0,65535]"},
    {B("aws:destination-ip-addresses",
       "\"comparisonOperator\":\"in-cidr-set\",\"value\":{\"cidrs\":[\"10.0.0.0/33\"]}"),
     "invalid CIDR 10.0.0.0/33"},
    {B("aws:num-established-tcp-connections",
       "\"comparisonOperator\":\"less-than\",\"value\":{\"count\":3},"
       "\"consecutiveDatapointsToAlarm\":100000"),
     "consecutiveDatapointsToAlarm 100000 should be in range[1,10]"},
    {B("aws:num-established-tcp-connections",
       "\"comparisonOperator\":\"less-than\",\"value\":{\"count\":-1}"),
     "count must be >= 0"},
    {B("aws:all-bytes-in", "\"comparisonOperator\":\"less-than-equals\",\"statisticalThreshold\":{"
                           "\"statistic\":\"p95\"},\"durationSeconds\":300"),
     "statistic p95 not supported"},
    {B("aws:all-bytes-in", "\"comparisonOperator\":\"less-than-equals\",\"statisticalThreshold\":{"
                           "\"statistic\":\"p90\"}"),
     "durationSeconds required with statisticalThreshold"},
    {B("aws:listening-udp-ports",
       "\"comparisonOperator\":\"in-port-set\",\"statisticalThreshold\":{\"statistic\":\"p50\"}"),
     "statisticalThreshold not valid for metric aws:listening-udp-ports"},
    {B("aws:all-bytes-in",
       "\"comparisonOperator\":\"less-than\",\"value\":{\"count\":1},"
       "\"statisticalThreshold\":{\"statistic\":\"p50\"},\"durationSeconds\":300"),
     "exactly one of value, statisticalThreshold required"},
    {"{\"name\":\"b\",\"metric\":\"aws:all-bytes-in\",\"metricDimension\":{\"dimensionName\":\"d\"}"
     ","
     "\"criteria\":{\"comparisonOperator\":\"less-than\",\"value\":{\"count\":1}}}",
     "metricDimension not supported for metric aws:all-bytes-in"},
    {B("battery_pct", "\"comparisonOperator\":\"in-set\",\"value\":{\"numbers\":[1]}"),
     "operator in-set not valid for metric type number"},
    {B("undefined_metric", "\"comparisonOperator\":\"less-than\",\"value\":{\"number\":1}"),
     "unknown metric undefined_metric"},
    {B("aws:all-bytes-in", "\"mlDetectionConfig\":{\"confidenceLevel\":\"HIGH\"}"),
     "mlDetectionConfig (ML Detect) is not supported"},
    /* more than the golden table */
    {B("battery_pct", "\"comparisonOperator\":\"less-than\",\"value\":{\"count\":20}"), NULL},
    {B("aws:all-bytes-in", "\"comparisonOperator\":\"less-than\",\"value\":{\"count\":1.5}"),
     "count must be a non-negative integer (number or decimal string)"},
    {B("aws:all-bytes-in", "\"comparisonOperator\":\"less-than\",\"value\":{\"ports\":[1]}"),
     "value must carry exactly the field count for metric aws:all-bytes-in"},
    {B("aws:all-bytes-in", "\"comparisonOperator\":\"around\",\"value\":{\"count\":1}"),
     "comparisonOperator around is not valid"},
    {B("aws:message-byte-size",
       "\"comparisonOperator\":\"greater-than\",\"value\":{\"count\":128}"),
     NULL},
    {B("aws:destination-ip-addresses",
       "\"comparisonOperator\":\"not-in-cidr-set\",\"value\":{\"cidrs\":[\"10.0.0.1\",\"::ffff:1.2."
       "3.4/120\",\"2001:db8::/32\"]}"),
     NULL},
};

static void test_validation_cases(void **state)
{
    (void) state;
    rt_env *v = rt_setup(0);
    for (size_t i = 0; i < sizeof g_cases / sizeof g_cases[0]; i++)
    {
        char body[2048];
        snprintf(body, sizeof body, "{\"behaviors\":[%s]}", g_cases[i].behavior);
        cJSON *o = NULL;
        int st = rt_api(v, "POST", "/security-profile-behaviors/validate", NULL, body, &o, NULL);
        assert_int_equal(st, 200);
        int valid = cJSON_IsTrue(cJSON_GetObjectItem(o, "valid"));
        cJSON *errs = cJSON_GetObjectItem(o, "validationErrors");
        assert_true(cJSON_IsArray(errs));
        if (g_cases[i].error == NULL)
        {
            if (!valid)
                fail_msg("case %zu should be valid: %s", i, cJSON_PrintUnformatted(o));
            assert_int_equal(cJSON_GetArraySize(errs), 0);
        }
        else
        {
            char want[512];
            snprintf(want, sizeof want, "Behavior b is malformed. %s", g_cases[i].error);
            assert_false(valid);
            if (cJSON_GetArraySize(errs) != 1 ||
                strcmp(
                    cJSON_GetObjectItem(cJSON_GetArrayItem(errs, 0), "errorMessage")->valuestring,
                    want) != 0)
                fail_msg("case %zu: want [%s], got %s", i, want, cJSON_PrintUnformatted(errs));
        }
        cJSON_Delete(o);
    }
    /* two behaviors both named b */
    cJSON *o = NULL;
    char body[1024];
    snprintf(body, sizeof body, "{\"behaviors\":[%s,%s]}", g_cases[0].behavior,
             g_cases[0].behavior);
    assert_int_equal(
        rt_api(v, "POST", "/security-profile-behaviors/validate", NULL, body, &o, NULL), 200);
    assert_false(cJSON_IsTrue(cJSON_GetObjectItem(o, "valid")));
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(o, "validationErrors"), 0),
                            "errorMessage")
            ->valuestring,
        "Behavior b is malformed. duplicate behavior name b");
    cJSON_Delete(o);
    rt_teardown(v);
}

/* Every error is reported, in behavior order, with the behavior and the field. */
static void test_all_errors(void **state)
{
    (void) state;
    rt_env *v = rt_setup(0);
    const char *body =
        "{\"behaviors\":[{\"name\":\"one\",\"metric\":\"aws:all-bytes-out\",\"criteria\":{"
        "\"comparisonOperator\":\"less-than\",\"value\":{\"count\":-5},\"durationSeconds\":7,"
        "\"consecutiveDatapointsToClear\":0}},{\"name\":\"two\",\"metric\":\"nope\"},{\"metric\":"
        "\"aws:all-bytes-in\"}]}";
    cJSON *o = NULL;
    const char *et = NULL;
    assert_int_equal(rt_api(v, "POST", "/security-profiles/p1", NULL, body, &o, &et), 400);
    assert_string_equal(et, "InvalidRequestException");
    const char *msg = cJSON_GetObjectItem(o, "message")->valuestring;
    assert_non_null(strstr(msg, "Behavior one is malformed. durationSeconds 7 not one of"));
    assert_non_null(strstr(msg, "Behavior one is malformed. consecutiveDatapointsToClear 0 should "
                                "be in range[1,10]"));
    assert_non_null(strstr(msg, "Behavior one is malformed. count must be >= 0"));
    assert_non_null(strstr(msg, "Behavior two is malformed. unknown metric nope"));
    assert_non_null(strstr(msg, "Behavior #3 is malformed. name is required"));
    assert_true(strstr(msg, "Behavior one") < strstr(msg, "Behavior two"));
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(o, "validationErrors")), 6);
    cJSON_Delete(o);
    /* nothing was created */
    assert_int_equal(rt_api(v, "GET", "/security-profiles/p1", NULL, NULL, &o, &et), 404);
    assert_string_equal(et, "ResourceNotFoundException");
    cJSON_Delete(o);
    rt_teardown(v);
}

static void test_limits(void **state)
{
    (void) state;
    rt_env *v = rt_setup(0);
    /* 100 behaviors with 1000 elements in total: accepted; one more element: refused */
    size_t cap = 200000;
    char *body = malloc(cap);
    assert_non_null(body);
    for (int extra = 0; extra < 2; extra++)
    {
        size_t w = (size_t) snprintf(body, cap, "{\"behaviors\":[");
        for (int b = 0; b < 100; b++)
        {
            w += (size_t) snprintf(body + w, cap - w,
                                   "%s{\"name\":\"b%d\",\"metric\":\"aws:listening-tcp-ports\","
                                   "\"criteria\":{\"comparisonOperator\":\"in-port-set\",\"value\":"
                                   "{\"ports\":[",
                                   b ? "," : "", b);
            int n = 10 + (b == 99 ? extra : 0);
            for (int k = 0; k < n; k++)
                w += (size_t) snprintf(body + w, cap - w, "%s%d", k ? "," : "", b * 10 + k);
            w += (size_t) snprintf(body + w, cap - w, "]}}}");
        }
        snprintf(body + w, cap - w, "]}");
        cJSON *o = NULL;
        char path[64];
        snprintf(path, sizeof path, "/security-profiles/big%d", extra);
        int st = rt_api(v, "POST", path, NULL, body, &o, NULL);
        if (extra == 0)
            assert_int_equal(st, 200);
        else
        {
            assert_int_equal(st, 400);
            assert_non_null(
                strstr(cJSON_GetObjectItem(o, "message")->valuestring, "too many value elements"));
        }
        cJSON_Delete(o);
    }
    /* 101 behaviors */
    size_t w = (size_t) snprintf(body, cap, "{\"behaviors\":[");
    for (int b = 0; b < 101; b++)
        w += (size_t) snprintf(body + w, cap - w,
                               "%s{\"name\":\"b%d\",\"metric\":\"aws:all-bytes-in\",\"criteria\":{"
                               "\"comparisonOperator\":\"less-than\",\"value\":{\"count\":1}}}",
                               b ? "," : "", b);
    snprintf(body + w, cap - w, "]}");
    cJSON *o = NULL;
    assert_int_equal(rt_api(v, "POST", "/security-profiles/too-many", NULL, body, &o, NULL), 400);
    assert_non_null(strstr(cJSON_GetObjectItem(o, "message")->valuestring, "too many behaviors"));
    cJSON_Delete(o);
    free(body);
    /* a profile with 1000-element sets evaluates a report with many values */
    rt_ok(v, "PUT", "/security-profiles/big0/targets", QARN "all%2Fthings", NULL);
    char rep[20000];
    size_t rw =
        (size_t) snprintf(rep, sizeof rep, "\"metrics\":{\"listening_tcp_ports\":{\"ports\":[");
    for (int p = 1; p <= 500; p++)
        rw += (size_t) snprintf(rep + rw, sizeof rep - rw, "%s{\"port\":%d}", p > 1 ? "," : "", p);
    snprintf(rep + rw, sizeof rep - rw, "]}}");
    rt_report(v, "t1", 0, "%s", rep);
    cJSON *e = rt_events(v, 0, 0, NULL);
    assert_int_equal(cJSON_GetArraySize(e), 100);
    cJSON_Delete(e);
    rt_teardown(v);
}

static void test_profile_crud(void **state)
{
    (void) state;
    rt_env *v = rt_setup(0);
    cJSON *o = NULL;
    const char *et = NULL;
    const char *create =
        "{\"securityProfileDescription\":\"d\",\"behaviors\":[{\"name\":\"b\",\"metric\":\"aws:"
        "all-bytes-out\",\"criteria\":{\"comparisonOperator\":\"less-than\",\"value\":{\"count\":"
        "\"4096\"},\"durationSeconds\":300}}],\"tags\":[{\"Key\":\"k\",\"Value\":\"v\"}],"
        "\"metricsExportConfig\":{\"mqttTopic\":\"x/y\",\"roleArn\":\"arn:aws:iam::1:role/"
        "abcdef\"}}";
    assert_int_equal(rt_api(v, "POST", "/security-profiles/p1", NULL, create, &o, NULL), 200);
    assert_true(rt_json_eq(o, "{\"securityProfileName\":\"p1\",\"securityProfileArn\":\"" ARN
                              "securityprofile/p1\"}"));
    cJSON_Delete(o);
    assert_int_equal(rt_api(v, "POST", "/security-profiles/p1", NULL, create, &o, &et), 409);
    assert_string_equal(et, "ResourceAlreadyExistsException");
    assert_string_equal(cJSON_GetObjectItem(o, "resourceArn")->valuestring,
                        ARN "securityprofile/p1");
    cJSON_Delete(o);
    assert_int_equal(rt_api(v, "GET", "/security-profiles/p1", NULL, NULL, &o, NULL), 200);
    assert_int_equal(cJSON_GetObjectItem(o, "version")->valueint, 1);
    assert_null(cJSON_GetObjectItem(o, "alertTargets"));
    assert_non_null(cJSON_GetObjectItem(o, "metricsExportConfig"));
    assert_true(rt_json_eq(cJSON_GetObjectItem(o, "behaviors"),
                           "[{\"name\":\"b\",\"metric\":\"aws:all-bytes-out\",\"criteria\":{"
                           "\"comparisonOperator\":\"less-than\",\"value\":{\"count\":4096},"
                           "\"durationSeconds\":300}}]"));
    cJSON_Delete(o);
    assert_int_equal(rt_api(v, "PATCH", "/security-profiles/p1", "expectedVersion=7",
                            "{\"securityProfileDescription\":\"e\"}", &o, &et),
                     409);
    assert_string_equal(et, "VersionConflictException");
    cJSON_Delete(o);
    assert_int_equal(rt_api(v, "PATCH", "/security-profiles/p1", NULL,
                            "{\"deleteBehaviors\":true,\"behaviors\":[]}", &o, &et),
                     400);
    cJSON_Delete(o);
    assert_int_equal(rt_api(v, "PATCH", "/security-profiles/p1", "expectedVersion=1",
                            "{\"securityProfileDescription\":\"e\",\"deleteMetricsExportConfig\":"
                            "true}",
                            &o, &et),
                     200);
    assert_int_equal(cJSON_GetObjectItem(o, "version")->valueint, 2);
    assert_string_equal(cJSON_GetObjectItem(o, "securityProfileDescription")->valuestring, "e");
    assert_null(cJSON_GetObjectItem(o, "metricsExportConfig"));
    assert_non_null(cJSON_GetObjectItem(o, "behaviors"));
    cJSON_Delete(o);
    /* list, filters, paging */
    rt_ok(v, "POST", "/security-profiles/p2", NULL, "{}");
    rt_ok(v, "POST", "/security-profiles/p3", NULL, "{}");
    assert_int_equal(rt_api(v, "GET", "/security-profiles", "maxResults=2", NULL, &o, NULL), 200);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(o, "securityProfileIdentifiers")), 2);
    char q[64];
    snprintf(q, sizeof q, "maxResults=2&nextToken=%s",
             cJSON_GetObjectItem(o, "nextToken")->valuestring);
    cJSON_Delete(o);
    assert_int_equal(rt_api(v, "GET", "/security-profiles", q, NULL, &o, NULL), 200);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(o, "securityProfileIdentifiers")), 1);
    assert_null(cJSON_GetObjectItem(o, "nextToken"));
    cJSON_Delete(o);
    assert_int_equal(
        rt_api(v, "GET", "/security-profiles", "metricName=aws%3Aall-bytes-out", NULL, &o, NULL),
        200);
    assert_true(rt_json_eq(o, "{\"securityProfileIdentifiers\":[{\"name\":\"p1\",\"arn\":\"" ARN
                              "securityprofile/p1\"}]}"));
    cJSON_Delete(o);
    assert_int_equal(
        rt_api(v, "GET", "/security-profiles", "metricName=a&dimensionName=b", NULL, &o, NULL),
        400);
    cJSON_Delete(o);
    assert_true(rules_metric_in_use(v->e, "aws:all-bytes-out"));
    assert_false(rules_metric_in_use(v->e, "battery_pct"));
    /* delete */
    assert_int_equal(
        rt_api(v, "DELETE", "/security-profiles/p1", "expectedVersion=1", NULL, &o, &et), 409);
    cJSON_Delete(o);
    rt_ok(v, "DELETE", "/security-profiles/p1", "expectedVersion=2", NULL);
    assert_int_equal(rt_api(v, "GET", "/security-profiles/p1", NULL, NULL, &o, &et), 404);
    cJSON_Delete(o);
    /* persisted across a restart */
    rules_close(v->e);
    v->e = rt_open_engine(v, NULL, 0);
    assert_int_equal(rt_api(v, "GET", "/security-profiles", NULL, NULL, &o, NULL), 200);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(o, "securityProfileIdentifiers")), 2);
    cJSON_Delete(o);
    /* not a rules route */
    int st;
    char *resp = NULL;
    assert_int_equal(
        rules_http_handle(v->e, "GET", "/metric-values", NULL, NULL, 0, &st, &resp, &et), 0);
    rt_teardown(v);
}

static void test_targets(void **state)
{
    (void) state;
    rt_env *v = rt_setup(0);
    cJSON *o = NULL;
    const char *et = NULL;
    assert_int_equal(
        rt_api(v, "PUT", "/security-profiles/none/targets", QARN "all%2Fthings", NULL, &o, &et),
        404);
    cJSON_Delete(o);
    for (int i = 0; i < 6; i++)
    {
        char path[64];
        snprintf(path, sizeof path, "/security-profiles/p%d", i);
        rt_ok(v, "POST", path, NULL, "{}");
        snprintf(path, sizeof path, "/security-profiles/p%d/targets", i);
        int st = rt_api(v, "PUT", path, QARN "all%2Fthings", NULL, &o, &et);
        assert_int_equal(st, i < 5 ? 200 : 410);
        if (i == 5)
            assert_string_equal(et, "LimitExceededException");
        cJSON_Delete(o);
    }
    rt_ok(v, "PUT", "/security-profiles/p0/targets", QARN "all%2Fthings", NULL); /* idempotent */
    assert_int_equal(
        rt_api(v, "PUT", "/security-profiles/p5/targets", QARN "thinggroup%2Fnope", NULL, &o, &et),
        404);
    cJSON_Delete(o);
    assert_int_equal(rt_api(v, "PUT", "/security-profiles/p5/targets", "securityProfileTargetArn=x",
                            NULL, &o, &et),
                     400);
    cJSON_Delete(o);
    rt_ok(v, "POST", "/thing-groups/parent", NULL, "{}");
    rt_ok(v, "POST", "/thing-groups/child", NULL, "{\"parentGroupName\":\"parent\"}");
    rt_ok(v, "PUT", "/security-profiles/p5/targets", QARN "thinggroup%2Fchild", NULL);
    rt_ok(v, "PUT", "/security-profiles/p5/targets", QARN "thing%2Fone-thing", NULL);
    assert_int_equal(rt_api(v, "GET", "/security-profiles/p5/targets", NULL, NULL, &o, NULL), 200);
    assert_true(rt_json_eq(o, "{\"securityProfileTargets\":[{\"arn\":\"" ARN
                              "thinggroup/child\"},{\"arn\":\"" ARN "thing/one-thing\"}]}"));
    cJSON_Delete(o);
    assert_int_equal(rt_api(v, "GET", "/security-profiles-for-target", QARN "thinggroup%2Fparent",
                            NULL, &o, NULL),
                     200);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(o, "securityProfileTargetMappings")),
                     0);
    cJSON_Delete(o);
    assert_int_equal(rt_api(v, "GET", "/security-profiles-for-target",
                            QARN "thinggroup%2Fparent&recursive=true", NULL, &o, NULL),
                     200);
    assert_true(rt_json_eq(o, "{\"securityProfileTargetMappings\":[{\"securityProfileIdentifier\":"
                              "{\"name\":\"p5\",\"arn\":\"" ARN "securityprofile/p5\"},\"target\":{"
                              "\"arn\":\"" ARN "thinggroup/child\"}}]}"));
    cJSON_Delete(o);
    /* RD-7: a profile on the parent covers members of the child */
    rt_ok(v, "PATCH", "/security-profiles/p5", NULL,
          "{\"behaviors\":[{\"name\":\"conn\",\"metric\":\"aws:num-established-tcp-connections\","
          "\"criteria\":{\"comparisonOperator\":\"less-than\",\"value\":{\"count\":1}}}]}");
    rt_ok(v, "DELETE", "/security-profiles/p5/targets", QARN "thinggroup%2Fchild", NULL);
    rt_ok(v, "PUT", "/security-profiles/p4/targets", QARN "thinggroup%2Fparent", NULL);
    rt_ok(v, "PATCH", "/security-profiles/p4", NULL,
          "{\"behaviors\":[{\"name\":\"conn\",\"metric\":\"aws:num-established-tcp-connections\","
          "\"criteria\":{\"comparisonOperator\":\"less-than\",\"value\":{\"count\":1}}}]}");
    rt_ok(v, "DELETE", "/security-profiles/p4/targets", QARN "all%2Fthings", NULL);
    rt_ok(v, "PUT", "/thing-groups/addThingToThingGroup", NULL,
          "{\"thingGroupArn\":\"" ARN "thinggroup/child\",\"thingName\":\"kid\"}");
    rt_report(v, "kid", 0,
              "\"metrics\":{\"tcp_connections\":{\"established_connections\":{\"total\":3}}}");
    cJSON *e = rt_events(v, 0, 0, "thingName=kid");
    assert_int_equal(cJSON_GetArraySize(e), 1);
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetArrayItem(e, 0), "securityProfileName")->valuestring, "p4");
    cJSON_Delete(e);
    /* removing the thing from the group invalidates (4.8) */
    v->now_ms = (T0 + 5) * 1000;
    rt_ok(v, "PUT", "/thing-groups/removeThingFromThingGroup", NULL,
          "{\"thingGroupName\":\"child\",\"thingName\":\"kid\"}");
    e = rt_events(v, 5, 5, NULL);
    assert_int_equal(cJSON_GetArraySize(e), 1);
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetArrayItem(e, 0), "violationEventType")->valuestring,
        "alarm-invalidated");
    cJSON_Delete(e);
    /* single-thing extension */
    rt_ok(v, "PUT", "/security-profiles/p5/targets", QARN "thing%2Fone-thing", NULL);
    rt_report(v, "one-thing", 10,
              "\"metrics\":{\"tcp_connections\":{\"established_connections\":{\"total\":3}}}");
    e = rt_events(v, 10, 10, "securityProfileName=p5");
    assert_int_equal(cJSON_GetArraySize(e), 1);
    cJSON_Delete(e);
    /* query errors */
    assert_int_equal(rt_api(v, "GET", "/violation-events", "startTime=5", NULL, &o, &et), 400);
    cJSON_Delete(o);
    assert_int_equal(rt_api(v, "GET", "/violation-events", "startTime=10&endTime=5", NULL, &o, &et),
                     400);
    cJSON_Delete(o);
    assert_int_equal(rt_api(v, "GET", "/violation-events",
                            "startTime=2026-01-01T00:00:00Z&endTime=2026-01-01T00:00:10.000Z", NULL,
                            &o, &et),
                     200);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(o, "violationEvents")), 3);
    cJSON_Delete(o);
    assert_int_equal(
        rt_api(v, "GET", "/active-violations", "securityProfileName=zz", NULL, &o, &et), 404);
    cJSON_Delete(o);
    assert_int_equal(rt_api(v, "GET", "/active-violations", "maxResults=0", NULL, &o, &et), 400);
    cJSON_Delete(o);
    rt_teardown(v);
}

/* RD-7 with the service's --direct-members-only: a profile on a group covers its direct
 * members only, not the members of its child groups. */
static void test_targets_direct_members_only(void **state)
{
    (void) state;
    rt_env *v = rt_setup(0);
    rules_close(v->e);
    v->direct_members_only = 1;
    v->e = rt_open_engine(v, NULL, 0);
    static const char behavior[] =
        "{\"behaviors\":[{\"name\":\"conn\",\"metric\":\"aws:num-established-tcp-connections\","
        "\"criteria\":{\"comparisonOperator\":\"less-than\",\"value\":{\"count\":1}}}]}";
    static const char report[] =
        "\"metrics\":{\"tcp_connections\":{\"established_connections\":{\"total\":3}}}";
    rt_ok(v, "POST", "/thing-groups/parent", NULL, "{}");
    rt_ok(v, "POST", "/thing-groups/child", NULL, "{\"parentGroupName\":\"parent\"}");
    rt_ok(v, "POST", "/security-profiles/on-parent", NULL, behavior);
    rt_ok(v, "PUT", "/security-profiles/on-parent/targets", QARN "thinggroup%2Fparent", NULL);
    rt_ok(v, "PUT", "/thing-groups/addThingToThingGroup", NULL,
          "{\"thingGroupArn\":\"" ARN "thinggroup/child\",\"thingName\":\"kid\"}");
    rt_ok(v, "PUT", "/thing-groups/addThingToThingGroup", NULL,
          "{\"thingGroupArn\":\"" ARN "thinggroup/parent\",\"thingName\":\"direct\"}");
    rt_report(v, "kid", 0, report);
    rt_report(v, "direct", 0, report);
    cJSON *e = rt_events(v, 0, 0, "thingName=kid");
    assert_int_equal(cJSON_GetArraySize(e), 0); /* the child's member is not covered */
    cJSON_Delete(e);
    e = rt_events(v, 0, 0, "thingName=direct");
    assert_int_equal(cJSON_GetArraySize(e), 1); /* the direct member is */
    cJSON_Delete(e);
    rt_teardown(v);
}

/* DeleteThingGroup of a parent: its child groups become top-level groups. A group created
 * later with the parent's name neither adopts them nor covers their members. */
static void test_delete_parent_group(void **state)
{
    (void) state;
    rt_env *v = rt_setup(0);
    static const char behavior[] =
        "{\"behaviors\":[{\"name\":\"conn\",\"metric\":\"aws:num-established-tcp-connections\","
        "\"criteria\":{\"comparisonOperator\":\"less-than\",\"value\":{\"count\":1}}}]}";
    static const char report[] =
        "\"metrics\":{\"tcp_connections\":{\"established_connections\":{\"total\":3}}}";
    rt_ok(v, "POST", "/thing-groups/parent", NULL, "{}");
    rt_ok(v, "POST", "/thing-groups/child", NULL, "{\"parentGroupName\":\"parent\"}");
    rt_ok(v, "PUT", "/thing-groups/addThingToThingGroup", NULL,
          "{\"thingGroupArn\":\"" ARN "thinggroup/child\",\"thingName\":\"kid\"}");
    rt_ok(v, "DELETE", "/thing-groups/parent", NULL, NULL);
    cJSON *o = NULL;
    assert_int_equal(rt_api(v, "GET", "/thing-groups/child", NULL, NULL, &o, NULL), 200);
    assert_null(cJSON_GetObjectItem(o, "parentGroupName"));
    cJSON_Delete(o);

    rt_ok(v, "POST", "/thing-groups/parent", NULL, "{}");
    rt_ok(v, "POST", "/security-profiles/on-parent", NULL, behavior);
    rt_ok(v, "PUT", "/security-profiles/on-parent/targets", QARN "thinggroup%2Fparent", NULL);
    assert_int_equal(rt_api(v, "GET", "/thing-groups/child", NULL, NULL, &o, NULL), 200);
    assert_null(cJSON_GetObjectItem(o, "parentGroupName"));
    cJSON_Delete(o);
    rt_report(v, "kid", 0, report);
    cJSON *e = rt_events(v, 0, 0, "thingName=kid");
    assert_int_equal(cJSON_GetArraySize(e), 0); /* not covered through the new group */
    cJSON_Delete(e);

    /* and so after a restart (the database holds the change too) */
    rules_close(v->e);
    v->e = rt_open_engine(v, NULL, 0);
    assert_int_equal(rt_api(v, "GET", "/thing-groups/child", NULL, NULL, &o, NULL), 200);
    assert_null(cJSON_GetObjectItem(o, "parentGroupName"));
    cJSON_Delete(o);
    rt_teardown(v);
}

static void test_dimensions(void **state)
{
    (void) state;
    rt_env *v = rt_setup(0);
    cJSON *o = NULL;
    const char *et = NULL;
    const char *d = "{\"type\":\"TOPIC_FILTER\",\"stringValues\":[\"a/#\"],\"clientRequestToken\":"
                    "\"tok1\"}";
    assert_int_equal(rt_api(v, "POST", "/dimensions/TopicFilterForAuthMessages", NULL, d, &o, NULL),
                     200);
    cJSON_Delete(o);
    rt_ok(v, "POST", "/dimensions/TopicFilterForAuthMessages", NULL, d); /* same token */
    assert_int_equal(rt_api(v, "POST", "/dimensions/TopicFilterForAuthMessages", NULL,
                            "{\"type\":\"TOPIC_FILTER\",\"stringValues\":[\"b\"],"
                            "\"clientRequestToken\":\"tok2\"}",
                            &o, &et),
                     409);
    cJSON_Delete(o);
    assert_int_equal(rt_api(v, "POST", "/dimensions/x", NULL,
                            "{\"type\":\"OTHER\",\"stringValues\":[\"b\"]}", &o, &et),
                     400);
    cJSON_Delete(o);
    /* AWS's pattern for the token is [a-zA-Z0-9-_]+: no ':' (which names allow) */
    assert_int_equal(rt_api(v, "POST", "/dimensions/y", NULL,
                            "{\"type\":\"TOPIC_FILTER\",\"stringValues\":[\"b\"],"
                            "\"clientRequestToken\":\"a:b\"}",
                            &o, &et),
                     400);
    cJSON_Delete(o);
    assert_int_equal(rt_api(v, "PATCH", "/dimensions/TopicFilterForAuthMessages", NULL,
                            "{\"stringValues\":[\"c/+\",\"d\"]}", &o, NULL),
                     200);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(o, "stringValues")), 2);
    assert_string_equal(cJSON_GetObjectItem(o, "type")->valuestring, "TOPIC_FILTER");
    cJSON_Delete(o);
    rt_ok(v, "POST", "/security-profiles/cloud", NULL,
          "{\"behaviors\":[{\"name\":\"auth\",\"metric\":\"aws:num-authorization-failures\","
          "\"metricDimension\":{\"dimensionName\":\"TopicFilterForAuthMessages\",\"operator\":"
          "\"IN\"},\"criteria\":{\"comparisonOperator\":\"less-than\",\"value\":{\"count\":5},"
          "\"durationSeconds\":300}}]}");
    assert_int_equal(
        rt_api(v, "POST", "/security-profiles/cloud2", NULL,
               "{\"behaviors\":[{\"name\":\"auth\",\"metric\":\"aws:num-messages-sent\","
               "\"metricDimension\":{\"dimensionName\":\"missing\"},\"criteria\":{"
               "\"comparisonOperator\":\"less-than\",\"value\":{\"count\":5}}}]}",
               &o, &et),
        400);
    cJSON_Delete(o);
    assert_int_equal(
        rt_api(v, "DELETE", "/dimensions/TopicFilterForAuthMessages", NULL, NULL, &o, &et), 400);
    cJSON_Delete(o);
    assert_int_equal(rt_api(v, "GET", "/security-profiles",
                            "dimensionName=TopicFilterForAuthMessages", NULL, &o, NULL),
                     200);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(o, "securityProfileIdentifiers")), 1);
    cJSON_Delete(o);
    rt_ok(v, "DELETE", "/security-profiles/cloud", NULL, NULL);
    rt_ok(v, "DELETE", "/dimensions/TopicFilterForAuthMessages", NULL, NULL);
    assert_int_equal(rt_api(v, "GET", "/dimensions", NULL, NULL, &o, NULL), 200);
    assert_true(rt_json_eq(o, "{\"dimensionNames\":[]}"));
    cJSON_Delete(o);
    rt_teardown(v);
}

/* Garbage in bodies, queries and paths: answers, never crashes. */
static void test_bad_input(void **state)
{
    (void) state;
    rt_env *v = rt_setup(0);
    static const char *const bodies[] = {
        "",
        "[]",
        "{",
        "{\"behaviors\":7}",
        "{\"behaviors\":[7,null,\"x\",{}]}",
        "{\"behaviors\":[{\"name\":\"a\",\"metric\":\"aws:all-bytes-in\",\"criteria\":{"
        "\"comparisonOperator\":\"less-than\",\"value\":{\"count\":\"99999999999999999999\"}}}]}",
        "{\"behaviors\":[{\"name\":\"a\",\"metric\":7,\"criteria\":[]}]}",
        "{\"alertTargets\":{\"SNS\":{}},\"tags\":[{}],\"additionalMetricsToRetainV2\":[{\"metric\":"
        "\"nope\"}],\"securityProfileDescription\":\"\\u0001\"}",
        "{\"behaviors\":[{\"name\":\"a\",\"metric\":\"aws:destination-ip-addresses\",\"criteria\":{"
        "\"comparisonOperator\":\"in-cidr-set\",\"value\":{\"cidrs\":[\"1.2.3.4/\",\"::/129\",\":::"
        "\",\"1.2.3.4/-1\",7]}}}]}",
    };
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++)
    {
        cJSON *o = NULL;
        const char *et = NULL;
        int st = rt_api(v, "POST", "/security-profiles/g", NULL, bodies[i], &o, &et);
        assert_true(st == 400 || st == 200);
        cJSON_Delete(o);
        rt_api(v, "DELETE", "/security-profiles/g", NULL, NULL, &o, &et);
        cJSON_Delete(o);
        st = rt_api(v, "POST", "/security-profile-behaviors/validate", NULL, bodies[i], &o, &et);
        assert_true(st == 400 || st == 200);
        cJSON_Delete(o);
    }
    cJSON *o = NULL;
    const char *et = NULL;
    assert_int_equal(rt_api(v, "GET", "/security-profiles/bad%2Fname", NULL, NULL, &o, &et), 400);
    cJSON_Delete(o);
    assert_int_equal(rt_api(v, "GET", "/active-violations", "a=%zz&b=%00&c", NULL, &o, &et), 400);
    cJSON_Delete(o);
    assert_int_equal(rt_api(v, "GET", "/violation-events", "startTime=x&endTime=y", NULL, &o, &et),
                     400);
    cJSON_Delete(o);
    assert_int_equal(rules_validate_profile_text("{\"behaviors\":[{}]}", 18, NULL, NULL), 2);
    assert_int_equal(rules_validate_profile_text("nope", 4, NULL, NULL), -1);
    rt_teardown(v);
}

/* 4.6: nearest-rank percentile table */
static void test_percentile_table(void **state)
{
    (void) state;
    static const int q[11] = {0, 1, 10, 100, 1000, 5000, 9000, 9900, 9990, 9999, 10000};
    static const double want10[11] = {1, 1, 1, 1, 1, 5, 9, 10, 10, 10, 10};
    static const double want1000[11] = {1, 1, 1, 10, 100, 500, 900, 990, 999, 1000, 1000};
    double v[1000];
    for (int i = 0; i < 11; i++)
    {
        for (int k = 0; k < 10; k++)
            v[k] = 10 - k; /* unsorted on purpose */
        assert_true(rules_percentile(v, 10, q[i]) == want10[i]);
        for (int k = 0; k < 1000; k++)
            v[k] = 1000 - k;
        assert_true(rules_percentile(v, 1000, q[i]) == want1000[i]);
    }
    /* CIDR rules of RD-20 */
    rules_cidr c;
    uint8_t a[16];
    int fam;
    assert_true(rules_parse_cidr("10.1.2.3/8", &c));
    assert_true(rules_parse_addr("10.200.0.1", 10, &fam, a));
    assert_true(rules_cidr_match(&c, fam, a));
    assert_true(rules_parse_addr("::ffff:10.0.0.1", 15, &fam, a));
    assert_int_equal(fam, 4);
    assert_true(rules_cidr_match(&c, fam, a));
    assert_true(rules_parse_cidr("2001:db8::/32", &c));
    assert_false(rules_cidr_match(&c, fam, a));
    assert_true(rules_parse_cidr("192.0.2.53", &c));
    assert_int_equal(c.prefix, 32);
    assert_false(rules_parse_cidr("10.0.0.0/33", &c));
    assert_false(rules_parse_cidr("10.0.0.0/", &c));
    assert_false(rules_parse_cidr("x", &c));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_validation_cases), cmocka_unit_test(test_all_errors),
        cmocka_unit_test(test_limits),           cmocka_unit_test(test_profile_crud),
        cmocka_unit_test(test_targets),          cmocka_unit_test(test_delete_parent_group),
        cmocka_unit_test(test_dimensions),       cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_percentile_table), cmocka_unit_test(test_targets_direct_members_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
