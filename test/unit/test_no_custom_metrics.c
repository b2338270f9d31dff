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
#include "fake_clock.h"
#include "fake_mqtt.h"
#include "fake_source.h"
#include "report_examples.h"

#if DEFENDER_CONFIG_MAX_CUSTOM_METRICS != 0
#error "this test must be built with DEFENDER_CONFIG_MAX_CUSTOM_METRICS=0"
#endif

#define THING "sensor-42"

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

static void AssertBoth(const DefenderReportContent_t *pContent, DefenderKeyStyle_t keys,
                       const char *pJson, const char *pCborHex)
{
    static uint8_t expected[1024];
    size_t expectedLength = FromHex(pCborHex, expected);
    size_t length = 0U;
    size_t listed[3];

    assert_int_equal(Defender_EncodeReport(pContent, DEFENDER_FORMAT_JSON, keys, buffer,
                                           sizeof(buffer), &length, listed),
                     DEFENDER_SUCCESS);
    assert_int_equal(length, strlen(pJson));
    assert_memory_equal(buffer, pJson, length);
    assert_int_equal(Defender_EncodeReport(pContent, DEFENDER_FORMAT_CBOR, keys, buffer,
                                           sizeof(buffer), &length, listed),
                     DEFENDER_SUCCESS);
    assert_int_equal(length, expectedLength);
    assert_memory_equal(buffer, expected, length);
}

static void test_EncodeReport_StandardMetricsMatchSpec(void **state)
{
    DefenderReportContent_t content;
    DefenderConnection_t connection;

    (void) state;
    FillVectorV1(&content, &connection);
    AssertBoth(&content, DEFENDER_KEYS_SHORT,
               "{\"hed\":{\"rid\":1735689600000,\"v\":\"1.0\"},\"met\":{\"tc\":{\"ec\":{\"cs\":"
               "[{\"rad\":\"198.51.100.7:8883\"}],\"t\":1}}}}",
               vectorV1);
    memset(&content, 0, sizeof(content));
    content.reportId = 1735689600000ULL;
    AssertBoth(&content, DEFENDER_KEYS_LONG,
               "{\"header\":{\"report_id\":1735689600000,\"version\":\"1.0\"},\"metrics\":{}}",
               vectorV2);
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
    static DefenderContext_t context;
    static uint8_t reportBuffer[4096];
    FakeClock_t clock;
    FakeMqtt_t mqtt;
    FakeSource_t source;
    DefenderSettings_t settings;
    DefenderInterfaces_t interfaces;
    DefenderReportInfo_t info;
    const char *pTopic = "$aws/things/" THING "/defender/metrics/json/accepted";
    char payload[256];
    uint32_t next = 0U;

    (void) state;
    FakeClock_Init(&clock, 1000U, 1735689600000ULL);
    FakeMqtt_Init(&mqtt);
    FakeSource_Init(&source);
    Defender_DefaultSettings(&settings);
    settings.pThingName = THING;
    settings.thingNameLength = strlen(THING);
    settings.keys = DEFENDER_KEYS_LONG;
    settings.pReportBuffer = reportBuffer;
    settings.reportBufferSize = sizeof(reportBuffer);
    memset(&interfaces, 0, sizeof(interfaces));
    interfaces.mqtt = FakeMqtt_Interface(&mqtt, true);
    interfaces.clock = FakeClock_Interface(&clock, true, true);
    interfaces.metricsSource = FakeSource_Interface(&source);
    assert_int_equal(Defender_Init(&context, &settings, &interfaces), DEFENDER_SUCCESS);

    Defender_OnConnectionChanged(&context, true, false);
    assert_int_equal(Defender_Start(&context), DEFENDER_SUCCESS);
    assert_int_equal(Defender_Process(&context, &next), DEFENDER_SUCCESS);
    assert_int_equal(mqtt.publishSucceeded, 1);
    assert_non_null(strstr((const char *) mqtt.lastPayload, "\"metrics\":{"));
    assert_null(strstr((const char *) mqtt.lastPayload, "custom_metrics"));

    assert_int_equal(Defender_GetLastReport(&context, &info), DEFENDER_SUCCESS);
    (void) snprintf(payload, sizeof(payload),
                    "{\"thingName\":\"" THING "\",\"reportId\":%llu,\"status\":\"ACCEPTED\","
                    "\"timestamp\":1735689600412}",
                    (unsigned long long) info.reportId);
    assert_int_equal(Defender_OnMessage(&context, pTopic, strlen(pTopic), (const uint8_t *) payload,
                                        strlen(payload)),
                     DEFENDER_SUCCESS);
    assert_int_equal(Defender_GetReportStatus(&context), eDefenderRepSuccess);
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
