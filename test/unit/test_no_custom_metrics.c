/**
 * @file test_no_custom_metrics.c
 * @brief A core built without custom metrics (DEFENDER_CONFIG_MAX_CUSTOM_METRICS 0): the
 * standard metrics still encode the spec's examples byte for byte in both formats and a
 * report goes through the state machine to Success; custom metrics are refused by
 * Defender_AddCustomMetric (DEFENDER_TOO_MANY), DEFENDER_CustomMetricAdd
 * (eDefenderErrTooManyMetrics), Defender_EncodeReport (DEFENDER_BAD_PARAMETER) and
 * Defender_CustomMetricValueValid. This program compiles the core and the seed API itself
 * with the option.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "defender.h"
#include "defender_core.h"
#include "defender_platform.h"
#include "defender_report.h"
#include "report_examples.h"
#include "test_agent.h"

#if DEFENDER_CONFIG_MAX_CUSTOM_METRICS != 0
#error "this test must be built with DEFENDER_CONFIG_MAX_CUSTOM_METRICS=0"
#endif

#define THING TEST_AGENT_THING

/** @brief No platform: only the seed API's registration is exercised. */
const DefenderPlatform_t *DefenderPlatform_Get(void)
{
    return NULL;
}

static bool readNumber(void *pUserContext, DefenderCustomValue_t *pValue)
{
    (void) pUserContext;
    pValue->number = 1.0;
    return true;
}

static uint8_t buffer[4096];

/** @brief Asserts the encoding in both formats. */
static void AssertBoth(const DefenderReportContent_t *pContent, DefenderKeyStyle_t keys,
                       const char *pJson, const char *pCborHex)
{
    AssertEncodesTo(pContent, DEFENDER_FORMAT_JSON, keys, pJson, pCborHex);
    AssertEncodesTo(pContent, DEFENDER_FORMAT_CBOR, keys, pJson, pCborHex);
}

static void test_EncodeReport_StandardMetricsMatchSpec(void **state)
{
    DefenderReportContent_t content;
    DefenderConnection_t connection;

    (void) state;
    FillVectorV1(&content, &connection);
    AssertBoth(&content, DEFENDER_KEYS_SHORT, jsonV1, vectorV1);
    memset(&content, 0, sizeof(content));
    content.reportId = 1735689600000ULL;
    AssertBoth(&content, DEFENDER_KEYS_LONG, jsonV2, vectorV2);
}

static void test_CustomMetricsRefused(void **state)
{
    DefenderReportContent_t content;
    DefenderCustomMetric_t metric = {"rssi_dbm", DEFENDER_CUSTOM_NUMBER, readNumber, NULL};
    DefenderCustomValue_t value;
    DefenderContext_t context;
    size_t length = 0U;
    size_t listed[3];

    (void) state;
    /* The encoder: content holding custom metrics (the example of 11.1). */
    FillExample(&content);
    assert_int_equal(Defender_EncodeReport(&content, DEFENDER_FORMAT_JSON, DEFENDER_KEYS_SHORT,
                                           buffer, sizeof(buffer), &length, listed),
                     DEFENDER_BAD_PARAMETER);
    content.customCount = 0U;
    assert_int_equal(Defender_EncodeReport(&content, DEFENDER_FORMAT_CBOR, DEFENDER_KEYS_SHORT,
                                           buffer, sizeof(buffer), &length, listed),
                     DEFENDER_SUCCESS);

    memset(&value, 0, sizeof(value));
    value.number = 1.0;
    assert_false(Defender_CustomMetricValueValid(DEFENDER_CUSTOM_NUMBER, &value));

    /* The core and the seed API: no room for any. */
    memset(&context, 0, sizeof(context));
    assert_int_equal(Defender_AddCustomMetric(&context, &metric), DEFENDER_TOO_MANY);
    assert_int_equal(Defender_AddCustomMetric(NULL, &metric), DEFENDER_BAD_PARAMETER);
    assert_int_equal(DEFENDER_CustomMetricAdd(&metric), eDefenderErrTooManyMetrics);
}

static void test_Agent_ReportWithoutCustomMetrics(void **state)
{
    static TestAgent_t agent;
    const char *pTopic = "$aws/things/" THING "/defender/metrics/json/accepted";
    char payload[256];
    uint64_t reportId;

    (void) state;
    TestAgent_Setup(&agent);
    agent.settings.keys = DEFENDER_KEYS_LONG;
    assert_int_equal(Defender_Init(&agent.context, &agent.settings, &agent.interfaces),
                     DEFENDER_SUCCESS);
    reportId = TestAgent_StartAndPublish(&agent);
    assert_non_null(strstr((const char *) agent.mqtt.lastPayload, "\"metrics\":{"));
    assert_null(strstr((const char *) agent.mqtt.lastPayload, "custom_metrics"));

    (void) snprintf(payload, sizeof(payload),
                    "{\"thingName\":\"" THING "\",\"reportId\":%llu,\"status\":\"ACCEPTED\","
                    "\"timestamp\":1735689600412}",
                    (unsigned long long) reportId);
    assert_int_equal(Defender_OnMessage(&agent.context, pTopic, strlen(pTopic),
                                        (const uint8_t *) payload, strlen(payload)),
                     DEFENDER_SUCCESS);
    assert_int_equal(Defender_GetReportStatus(&agent.context), eDefenderRepSuccess);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_EncodeReport_StandardMetricsMatchSpec),
        cmocka_unit_test(test_CustomMetricsRefused),
        cmocka_unit_test(test_Agent_ReportWithoutCustomMetrics),
    };
    return cmocka_run_group_tests_name("unit_no_custom_metrics", tests, NULL, NULL);
}
