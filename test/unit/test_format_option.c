/**
 * @file test_format_option.c
 * @brief A core built with one report format (DEFENDER_CONFIG_FORMAT_JSON 0 or
 * DEFENDER_CONFIG_FORMAT_CBOR 0): the format compiled in encodes the spec's examples
 * byte for byte, decodes the spec's responses and runs a report through the state
 * machine to Success; the other format is refused by Defender_Init,
 * Defender_EncodeReport and Defender_ParseResponse with DEFENDER_BAD_PARAMETER, and
 * Defender_DefaultSettings picks the format compiled in; so do the seed API's defaults
 * and DEFENDER_FormatSet. This program compiles the core and the seed API itself with the
 * option (built twice, once per format).
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
#include "defender_protocol.h"
#include "defender_report.h"
#include "report_examples.h"
#include "test_agent.h"

#if (DEFENDER_CONFIG_FORMAT_JSON + DEFENDER_CONFIG_FORMAT_CBOR) != 1
#error "this test must be built with exactly one of the two formats"
#endif

/** @brief The format compiled in, and the one left out. */
#define BUILT       (DEFENDER_CONFIG_FORMAT_CBOR ? DEFENDER_FORMAT_CBOR : DEFENDER_FORMAT_JSON)
#define OMITTED     (DEFENDER_CONFIG_FORMAT_CBOR ? DEFENDER_FORMAT_JSON : DEFENDER_FORMAT_CBOR)
#define FORMAT_NAME (DEFENDER_CONFIG_FORMAT_CBOR ? "cbor" : "json")

#define THING TEST_AGENT_THING

/** @brief 11.4 R1 and R4 in JSON, 11.5 V5 and V6 (the same in CBOR). */
static const char r1Json[] = "{\"thingName\":\"sensor-42\",\"reportId\":1735689600000,\"status\":"
                             "\"ACCEPTED\",\"timestamp\":1735689600412}";
static const char r4Json[] =
    "{\"thingName\":\"sensor-42\",\"reportId\":1735689600000,\"status\":\"REJECTED\","
    "\"statusDetails\":{\"ErrorCode\":\"Throttled\",\"ErrorMessage\":\"Metrics report rate "
    "exceeded\"},\"timestamp\":1735689600415}";
static const char v5[] = "a4697468696e674e616d656973656e736f722d3432687265706f727449641b000001"
                         "941f297c00667374617475736841434345505445446974696d657374616d701b0000"
                         "01941f297d9c";
static const char v6[] =
    "a5697468696e674e616d656973656e736f722d3432687265706f727449641b000001941f297c00667374617475"
    "736852454a45435445446d73746174757344657461696c73a2694572726f72436f6465695468726f74746c6564"
    "6c4572726f724d657373616765781c4d657472696373207265706f727420726174652065786365656465646974"
    "696d657374616d701b000001941f297d9f";

static uint8_t buffer[4096];

/** @brief The bytes of a response in the format compiled in (JSON text or CBOR hex). */
static size_t ResponseBytes(const char *pJson, const char *pCborHex, uint8_t *pOut)
{
    size_t length;

    if (BUILT == DEFENDER_FORMAT_CBOR)
    {
        length = FromHex(pCborHex, pOut);
    }
    else
    {
        length = strlen(pJson);
        memcpy(pOut, pJson, length);
    }
    return length;
}

static void test_EncodeReport_BuiltFormatMatchesSpecExamples(void **state)
{
    DefenderReportContent_t content;
    DefenderConnection_t connection;

    (void) state;
    /* 11.2 / V4: every group, custom metrics of the four types, IPv4 and IPv6. */
    FillExample(&content);
    AssertEncodesTo(&content, BUILT, DEFENDER_KEYS_SHORT, example11_2, vectorV4);
    if (BUILT == DEFENDER_FORMAT_JSON)
    {
        AssertEncodesTo(&content, BUILT, DEFENDER_KEYS_LONG, example11_1, NULL);
    }

    /* V1: one connection, short keys. */
    FillVectorV1(&content, &connection);
    AssertEncodesTo(&content, BUILT, DEFENDER_KEYS_SHORT, jsonV1, vectorV1);

    /* V2: minimal, long keys. */
    memset(&content, 0, sizeof(content));
    content.reportId = 1735689600000ULL;
    AssertEncodesTo(&content, BUILT, DEFENDER_KEYS_LONG, jsonV2, vectorV2);
}

static void test_EncodeReport_OmittedFormatRefused(void **state)
{
    DefenderReportContent_t content;
    size_t length = 0U;
    size_t listed[3];

    (void) state;
    FillExample(&content);
    assert_int_equal(Defender_EncodeReport(&content, OMITTED, DEFENDER_KEYS_SHORT, buffer,
                                           sizeof(buffer), &length, listed),
                     DEFENDER_BAD_PARAMETER);
    assert_int_equal(Defender_EncodeReport(&content, (DefenderFormat_t) 2, DEFENDER_KEYS_SHORT,
                                           buffer, sizeof(buffer), &length, listed),
                     DEFENDER_BAD_PARAMETER);
}

static void test_ParseResponse_BuiltFormat(void **state)
{
    uint8_t payload[512];
    size_t length;
    DefenderResponse_t response;

    (void) state;
    length = ResponseBytes(r1Json, v5, payload);
    assert_int_equal(Defender_ParseResponse(BUILT, payload, length, &response), DEFENDER_SUCCESS);
    assert_int_equal(response.status, DEFENDER_RESPONSE_ACCEPTED);
    assert_true(response.hasReportId);
    assert_int_equal(response.reportId, 1735689600000ULL);
    assert_int_equal(response.timestamp, 1735689600412ULL);
    assert_string_equal(response.thingName, THING);

    length = ResponseBytes(r4Json, v6, payload);
    assert_int_equal(Defender_ParseResponse(BUILT, payload, length, &response), DEFENDER_SUCCESS);
    assert_int_equal(response.status, DEFENDER_RESPONSE_REJECTED);
    assert_string_equal(response.errorCode, "Throttled");
    assert_string_equal(response.errorMessage, "Metrics report rate exceeded");

    /* Truncated: malformed, as in the full build. */
    assert_int_equal(Defender_ParseResponse(BUILT, payload, length - 1U, &response),
                     DEFENDER_MALFORMED);
}

static void test_ParseResponse_OmittedFormatRefused(void **state)
{
    uint8_t payload[512];
    size_t length;
    DefenderResponse_t response;

    (void) state;
    /* Even a payload that is valid in the omitted format. */
    length = (OMITTED == DEFENDER_FORMAT_CBOR) ? FromHex(v5, payload) : strlen(r1Json);
    if (OMITTED == DEFENDER_FORMAT_JSON)
    {
        memcpy(payload, r1Json, length);
    }
    assert_int_equal(Defender_ParseResponse(OMITTED, payload, length, &response),
                     DEFENDER_BAD_PARAMETER);
}

static void test_Agent_BuiltFormatEndToEnd(void **state)
{
    static TestAgent_t agent;
    char topic[DEFENDER_TOPIC_BUFFER_SIZE];
    char payload[512];
    uint8_t bytes[512];
    size_t length;
    uint64_t reportId;

    (void) state;
    TestAgent_Setup(&agent);
    assert_int_equal(agent.settings.format, BUILT);
    agent.settings.format = OMITTED;
    assert_int_equal(Defender_Init(&agent.context, &agent.settings, &agent.interfaces),
                     DEFENDER_BAD_PARAMETER);
    agent.settings.format = BUILT;
    assert_int_equal(Defender_Init(&agent.context, &agent.settings, &agent.interfaces),
                     DEFENDER_SUCCESS);
    reportId = TestAgent_StartAndPublish(&agent);
    (void) snprintf(topic, sizeof(topic), "$aws/things/" THING "/defender/metrics/%s", FORMAT_NAME);
    assert_string_equal(agent.mqtt.lastPublishTopic, topic);

    /* The published report is in the format compiled in. */
    if (BUILT == DEFENDER_FORMAT_CBOR)
    {
        assert_int_equal(agent.mqtt.lastPayload[0] & 0xE0U, 0xA0U); /* a CBOR map */
    }
    else
    {
        assert_int_equal(agent.mqtt.lastPayload[0], '{');
    }

    /* ACCEPTED for its id, in the same format. */
    if (BUILT == DEFENDER_FORMAT_CBOR)
    {
        /* V5 with the report's id: 0x1b and 8 bytes after "reportId". */
        length = FromHex(v5, bytes);
        for (size_t i = 0U; i < 8U; i++)
        {
            bytes[31U + i] = (uint8_t) (reportId >> (56U - (8U * i)));
        }
        assert_int_equal(bytes[30], 0x1BU);
    }
    else
    {
        length = (size_t) snprintf(payload, sizeof(payload),
                                   "{\"thingName\":\"" THING "\",\"reportId\":%llu,\"status\":"
                                   "\"ACCEPTED\",\"timestamp\":1735689600412}",
                                   (unsigned long long) reportId);
        memcpy(bytes, payload, length);
    }
    (void) snprintf(topic, sizeof(topic), "$aws/things/" THING "/defender/metrics/%s/accepted",
                    FORMAT_NAME);
    assert_int_equal(Defender_OnMessage(&agent.context, topic, strlen(topic), bytes, length),
                     DEFENDER_SUCCESS);
    assert_int_equal(Defender_GetReportStatus(&agent.context), eDefenderRepSuccess);
}

/** @brief Format the seed API handed to the platform (99: not opened). */
static DefenderFormat_t openedFormat = (DefenderFormat_t) 99;

/** @brief A platform that records the settings and refuses to open. */
static DefenderStatus_t recordingOpen(DefenderSettings_t *pSettings,
                                      DefenderInterfaces_t *pInterfaces, DefenderOsInterface_t *pOs)
{
    (void) pInterfaces;
    (void) pOs;
    openedFormat = pSettings->format;
    return DEFENDER_ERROR;
}

static void recordingClose(void)
{
}

const DefenderPlatform_t *DefenderPlatform_Get(void)
{
    static const DefenderPlatform_t platform = {recordingOpen, NULL, recordingClose};
    return &platform;
}

static void test_SeedApi_DefaultAndFormatSet(void **state)
{
    (void) state;
    /* The default reaches the platform as the format compiled in. */
    assert_int_not_equal(DEFENDER_Start(), eDefenderErrSuccess);
    assert_int_equal(openedFormat, BUILT);
    assert_int_equal(DEFENDER_FormatSet(OMITTED, DEFENDER_KEYS_SHORT), eDefenderErrOther);
    assert_int_equal(DEFENDER_FormatSet(BUILT, DEFENDER_KEYS_LONG), eDefenderErrSuccess);
    openedFormat = (DefenderFormat_t) 99;
    assert_int_not_equal(DEFENDER_Start(), eDefenderErrSuccess);
    assert_int_equal(openedFormat, BUILT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_EncodeReport_BuiltFormatMatchesSpecExamples),
        cmocka_unit_test(test_EncodeReport_OmittedFormatRefused),
        cmocka_unit_test(test_ParseResponse_BuiltFormat),
        cmocka_unit_test(test_ParseResponse_OmittedFormatRefused),
        cmocka_unit_test(test_Agent_BuiltFormatEndToEnd),
        cmocka_unit_test(test_SeedApi_DefaultAndFormatSet),
    };
    return cmocka_run_group_tests_name(DEFENDER_CONFIG_FORMAT_CBOR ? "unit_format_cbor_only"
                                                                   : "unit_format_json_only",
                                       tests, NULL, NULL);
}
