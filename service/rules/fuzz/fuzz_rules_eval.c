/* libFuzzer target: arbitrary reports (through the service's own validator and datapoint
 * derivation) evaluated against profiles covering every metric kind and operator, with
 * windows, statistics and consecutive counts. Nothing in a report may crash the evaluator or
 * make it allocate without bound. */
#include "report.h"
#include "rules.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static rules_engine *g_e;
static int64_t g_now = 1767225600000LL;

static cm_type fuzz_custom(void *ctx, const char *name, size_t len)
{
    (void) ctx;
    if (len == 1 && name[0] == 'n')
        return CM_NUMBER;
    if (len == 1 && name[0] == 'l')
        return CM_NUMBER_LIST;
    if (len == 1 && name[0] == 's')
        return CM_STRING_LIST;
    if (len == 1 && name[0] == 'i')
        return CM_IP_LIST;
    return CM_NONE;
}

static int64_t fuzz_clock(void *ctx)
{
    (void) ctx;
    return g_now;
}

static void api(const char *m, const char *path, const char *q, const char *body)
{
    int st;
    char *resp = NULL;
    const char *et;
    rules_http_handle(g_e, m, path, q, body, body ? strlen(body) : 0, &st, &resp, &et);
    if (st != 200)
    {
        fprintf(stderr, "setup %s %s failed: %s\n", m, path, resp ? resp : "");
        abort();
    }
    rules_free(resp);
}

static void setup(void)
{
    rules_config c;
    rules_config_defaults(&c);
    c.db_path = ":memory:";
    c.now_ms = fuzz_clock;
    c.custom_type = fuzz_custom;
    char err[256];
    g_e = rules_open(&c, err, sizeof err);
    if (g_e == NULL)
        abort();
    api("POST", "/security-profiles/all", NULL,
        "{\"behaviors\":["
        "{\"name\":\"a\",\"metric\":\"aws:all-bytes-in\",\"criteria\":{\"comparisonOperator\":"
        "\"less-than\",\"value\":{\"count\":1000},\"durationSeconds\":900,"
        "\"consecutiveDatapointsToAlarm\":2,\"consecutiveDatapointsToClear\":3}},"
        "{\"name\":\"b\",\"metric\":\"aws:all-packets-out\",\"criteria\":{\"comparisonOperator\":"
        "\"greater-than\",\"statisticalThreshold\":{\"statistic\":\"p50\"},\"durationSeconds\":300}"
        "},"
        "{\"name\":\"c\",\"metric\":\"aws:num-listening-udp-ports\",\"criteria\":{"
        "\"comparisonOperator\":\"less-than-equals\",\"value\":{\"count\":3}}},"
        "{\"name\":\"d\",\"metric\":\"aws:listening-tcp-ports\",\"criteria\":{"
        "\"comparisonOperator\":"
        "\"in-port-set\",\"value\":{\"ports\":[22,443,8883]}}},"
        "{\"name\":\"e\",\"metric\":\"aws:destination-ip-addresses\",\"criteria\":{"
        "\"comparisonOperator\":\"not-in-cidr-set\",\"value\":{\"cidrs\":[\"10.0.0.0/8\","
        "\"2001:db8::/32\",\"192.0.2.1\"]}}},"
        "{\"name\":\"f\",\"metric\":\"n\",\"criteria\":{\"comparisonOperator\":\"greater-than-"
        "equals\","
        "\"statisticalThreshold\":{\"statistic\":\"p10\"},\"durationSeconds\":300}},"
        "{\"name\":\"g\",\"metric\":\"l\",\"criteria\":{\"comparisonOperator\":\"in-set\","
        "\"value\":{"
        "\"numbers\":[1,6,11]}}},"
        "{\"name\":\"h\",\"metric\":\"s\",\"criteria\":{\"comparisonOperator\":\"not-in-set\","
        "\"value\":{\"strings\":[\"x\",\"y\"]}}},"
        "{\"name\":\"i\",\"metric\":\"i\",\"criteria\":{\"comparisonOperator\":\"in-cidr-set\","
        "\"value\":{\"cidrs\":[\"10.0.0.0/8\"]}}},"
        "{\"name\":\"j\",\"metric\":\"n\",\"criteria\":{\"comparisonOperator\":\"less-than\","
        "\"value\":{\"count\":20}}}],"
        "\"alertTargets\":{\"SNS\":{\"alertTargetArn\":\"arn:aws:sns:us-east-1:1:a\",\"roleArn\":"
        "\"arn:aws:iam::123456789012:role/a\"}}}");
    api("PUT", "/security-profiles/all/targets",
        "securityProfileTargetArn=arn:aws:iot:us-east-1:123456789012:all/things", NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (g_e == NULL)
        setup();
    if (size < 2 || size > 65536)
        return 0;
    /* first byte: thing (one of 8) and time step; the rest: the report */
    uint8_t sel = data[0];
    char thing[8];
    snprintf(thing, sizeof thing, "t%u", (unsigned) (sel & 7));
    g_now += 1000LL * (1 + (sel >> 3) * 40);
    arena a;
    arena_init(&a, 0);
    validate_opts o = {0, fuzz_custom, NULL};
    report_result r;
    if (report_validate(&a, data + 1, size - 1, (sel & 0x80) ? FMT_CBOR : FMT_JSON, &o, &r))
        rules_on_report(g_e, thing, strlen(thing), g_now, r.dps, r.ndps);
    arena_free(&a);
    if ((sel & 0x3f) == 0x3f)
        rules_tick(g_e, g_now + 200000000LL); /* invalidation sweep now and then */
    return 0;
}
