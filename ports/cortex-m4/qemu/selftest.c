/**
 * @file selftest.c
 * @brief The agent core on a Cortex-M4, run for real: a bare-metal program for QEMU's
 * mps2-an386 board that encodes the protocol spec's worked examples and checks them byte
 * for byte (11.1, 11.2, 11.5 V1, V2, V4: JSON and CBOR, long and short keys, custom numbers
 * through the soft-float library), parses its responses (11.4 R1-R4, 11.5 V5-V7), and runs
 * the state machine through three reports answered ACCEPTED. Results go out through
 * semihosting; the exit status is 0 only when every check held.
 *
 * Run by ports/cortex-m4/run-selftest.sh (scripts/test.sh).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "defender_core.h"
#include "defender_protocol.h"
#include "private/defender_report_private.h"
#include "cmocka.h"
#include "report_examples.h"

/** @brief Semihosting operations (Arm semihosting specification). */
#define SYS_WRITE0                   0x04
#define SYS_EXIT                     0x18
#define ADP_STOPPED_APPLICATION_EXIT 0x20026
#define ADP_STOPPED_RUNTIME_ERROR    0x20023

/** @brief Linker-script symbols. */
extern uint32_t _estack;
extern uint32_t __bss_start__;
extern uint32_t __bss_end__;

int main(void);

/** @brief Checks that failed. */
static uint32_t failures;
/** @brief Checks made. */
static uint32_t checks;

/** @brief One semihosting call. */
static uint32_t semihost(uint32_t operation, const void *pArgument)
{
    register uint32_t r0 __asm__("r0") = operation;
    register const void *r1 __asm__("r1") = pArgument;

    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

/** @brief Writes a text to the host's console. */
static void say(const char *pText)
{
    (void) semihost(SYS_WRITE0, pText);
}

/** @brief Writes an unsigned number in decimal. */
static void sayNumber(uint32_t value)
{
    char text[11];
    size_t i = sizeof(text) - 1U;

    text[i] = '\0';
    do
    {
        text[--i] = (char) ('0' + (value % 10U));
        value /= 10U;
    } while (value != 0U);
    say(&text[i]);
}

/** @brief Ends the run: QEMU exits 0 for an application exit, 1 otherwise. */
static void finish(bool passed) __attribute__((noreturn));
static void finish(bool passed)
{
    (void) semihost(SYS_EXIT, (const void *) (uintptr_t) (passed ? ADP_STOPPED_APPLICATION_EXIT
                                                                 : ADP_STOPPED_RUNTIME_ERROR));
    for (;;)
    {
    }
}

void SelfTest_Check(bool passed, const char *pWhat, const char *pFile, int line)
{
    checks++;
    if (!passed)
    {
        failures++;
        say("FAIL ");
        say(pFile);
        say(":");
        sayNumber((uint32_t) line);
        say(": ");
        say(pWhat);
        say("\n");
    }
}

/** @brief Any fault (an unaligned double-word access, a bad address...): the run fails. */
static void faultHandler(void)
{
    say("FAIL: the processor took a fault\n");
    finish(false);
}

/** @brief Reset: clears .bss and runs the tests. */
static void resetHandler(void)
{
    uint32_t *pWord;

    for (pWord = &__bss_start__; pWord < &__bss_end__; pWord++)
    {
        *pWord = 0U;
    }
    (void) main();
    finish(false);
}

/** @brief The vector table: initial stack, reset, then the fault handlers (NMI to
 * UsageFault); nothing else is enabled. */
__attribute__((section(".vectors"), used)) static void (*const vectors[8])(void) = {
    (void (*)(void))(uintptr_t) &_estack,
    resetHandler,
    faultHandler,
    faultHandler,
    faultHandler,
    faultHandler,
    faultHandler,
    faultHandler};

/** @brief The entry point the linker script names. */
void Reset_Handler(void) __attribute__((alias("resetHandler")));

/** @brief Decodes hex text; returns the number of bytes. */
static size_t fromHex(const char *pHex, uint8_t *pOut, size_t size)
{
    size_t n = 0U;
    uint8_t nibbles[2];
    size_t i;

    while ((pHex[0] != '\0') && (pHex[1] != '\0') && (n < size))
    {
        for (i = 0U; i < 2U; i++)
        {
            char c = pHex[i];
            nibbles[i] = (uint8_t) ((c <= '9') ? (c - '0') : ((c | 0x20) - 'a' + 10));
        }
        pOut[n++] = (uint8_t) ((nibbles[0] << 4) | nibbles[1]);
        pHex = &pHex[2];
    }
    return n;
}

/** @brief Encodes `pContent` and compares with the expected bytes. */
static void expectEncoding(const char *pName, const DefenderReportContent_t *pContent,
                           DefenderFormat_t format, DefenderKeyStyle_t keys, const char *pJson,
                           const char *pCborHex)
{
    static uint8_t expected[1024];
    static uint8_t encoded[1024];
    size_t expectedLength;
    size_t length = 0U;
    size_t listed[3];
    uint32_t failuresBefore = failures;

    if (format == DEFENDER_FORMAT_CBOR)
    {
        expectedLength = fromHex(pCborHex, expected, sizeof(expected));
    }
    else
    {
        expectedLength = strlen(pJson);
        (void) memcpy(expected, pJson, expectedLength);
    }
    assert_int_equal(
        Defender_EncodeReport(pContent, format, keys, encoded, sizeof(encoded), &length, listed),
        DEFENDER_SUCCESS);
    assert_int_equal(length, expectedLength);
    assert_memory_equal(encoded, expected, expectedLength);
    say((failures == failuresBefore) ? "ok   " : "FAIL ");
    say(pName);
    say("\n");
}

/** @brief The spec's report examples, encoded on this processor. */
static void testEncoder(void)
{
    DefenderReportContent_t content;
    DefenderConnection_t connection;

    FillExample(&content);
    expectEncoding("11.1 JSON, long keys", &content, DEFENDER_FORMAT_JSON, DEFENDER_KEYS_LONG,
                   example11_1, NULL);
    expectEncoding("11.2 JSON, short keys", &content, DEFENDER_FORMAT_JSON, DEFENDER_KEYS_SHORT,
                   example11_2, NULL);
    expectEncoding("11.5 V4 CBOR, short keys", &content, DEFENDER_FORMAT_CBOR, DEFENDER_KEYS_SHORT,
                   NULL, vectorV4);

    FillVectorV1(&content, &connection);
    expectEncoding("11.5 V1 CBOR, short keys", &content, DEFENDER_FORMAT_CBOR, DEFENDER_KEYS_SHORT,
                   NULL, vectorV1);
    expectEncoding("11.5 V1 as JSON, short keys", &content, DEFENDER_FORMAT_JSON,
                   DEFENDER_KEYS_SHORT, jsonV1, NULL);

    (void) memset(&content, 0, sizeof(content));
    content.reportId = 1735689600000ULL;
    expectEncoding("11.5 V2 CBOR, long keys", &content, DEFENDER_FORMAT_CBOR, DEFENDER_KEYS_LONG,
                   NULL, vectorV2);
    expectEncoding("11.3 minimal JSON, long keys", &content, DEFENDER_FORMAT_JSON,
                   DEFENDER_KEYS_LONG, jsonV2, NULL);
}

/** @brief Parses one response and checks status, report id and error code. */
static void expectResponse(const char *pName, DefenderFormat_t format, const char *pText,
                           DefenderResponseStatus_t status, bool hasReportId,
                           const char *pErrorCode)
{
    static uint8_t bytes[256];
    DefenderResponse_t response;
    size_t length;
    uint32_t failuresBefore = failures;

    if (format == DEFENDER_FORMAT_CBOR)
    {
        length = fromHex(pText, bytes, sizeof(bytes));
    }
    else
    {
        length = strlen(pText);
        (void) memcpy(bytes, pText, length);
    }
    assert_int_equal(Defender_ParseResponse(format, bytes, length, &response), DEFENDER_SUCCESS);
    assert_int_equal(response.status, status);
    assert_true(response.hasReportId == hasReportId);
    assert_true(!hasReportId || (response.reportId == 1735689600000ULL));
    assert_true(strcmp(response.errorCode, pErrorCode) == 0);
    assert_true(strcmp(response.thingName, "sensor-42") == 0);
    say((failures == failuresBefore) ? "ok   " : "FAIL ");
    say(pName);
    say("\n");
}

/** @brief The spec's responses, parsed on this processor. */
static void testResponses(void)
{
    expectResponse("11.4 R1 ACCEPTED", DEFENDER_FORMAT_JSON, exampleR1, DEFENDER_RESPONSE_ACCEPTED,
                   true, "");
    expectResponse("11.4 R2 REJECTED", DEFENDER_FORMAT_JSON, exampleR2, DEFENDER_RESPONSE_REJECTED,
                   true, "InvalidPayload");
    expectResponse("11.4 R3 REJECTED, no reportId", DEFENDER_FORMAT_JSON, exampleR3,
                   DEFENDER_RESPONSE_REJECTED, false, "InvalidPayload");
    expectResponse("11.4 R4 Throttled", DEFENDER_FORMAT_JSON, exampleR4, DEFENDER_RESPONSE_REJECTED,
                   true, "Throttled");
    expectResponse("11.5 V5 CBOR ACCEPTED", DEFENDER_FORMAT_CBOR, vectorV5,
                   DEFENDER_RESPONSE_ACCEPTED, true, "");
    expectResponse("11.5 V6 CBOR Throttled", DEFENDER_FORMAT_CBOR, vectorV6,
                   DEFENDER_RESPONSE_REJECTED, true, "Throttled");
    expectResponse("11.5 V7 CBOR, no reportId", DEFENDER_FORMAT_CBOR, vectorV7,
                   DEFENDER_RESPONSE_REJECTED, false, "InvalidPayload");
}

/** @brief State of the loopback MQTT client and clock of the state-machine test. */
static DefenderContext_t agent;
static uint8_t reportBuffer[1024];
static uint32_t clockMs = 1000U;
static uint32_t published;
static char reportTopic[DEFENDER_TOPIC_BUFFER_SIZE];
static uint8_t reportCopy[1024];
static size_t reportLength;

/** @brief Monotonic clock of the test (advanced by the test). */
static uint64_t monotonicMs(void *pContext)
{
    (void) pContext;
    return clockMs;
}

/** @brief Wall clock: 2025-01-01, so ids are epoch milliseconds. */
static uint64_t wallClockMs(void *pContext)
{
    (void) pContext;
    return 1735689600000ULL + clockMs;
}

/** @brief Subscriptions are granted at once. */
static DefenderMqttStatus_t subscribe(void *pContext, const char *pTopic, size_t length)
{
    (void) pContext;
    (void) pTopic;
    (void) length;
    return DEFENDER_MQTT_SUCCESS;
}

/** @brief Keeps the published report. */
static DefenderMqttStatus_t publish(void *pContext, const char *pTopic, size_t length,
                                    const uint8_t *pPayload, size_t payloadLength)
{
    (void) pContext;
    if ((length < sizeof(reportTopic)) && (payloadLength <= sizeof(reportCopy)))
    {
        (void) memcpy(reportTopic, pTopic, length);
        reportTopic[length] = '\0';
        (void) memcpy(reportCopy, pPayload, payloadLength);
        reportLength = payloadLength;
        published++;
    }
    return DEFENDER_MQTT_SUCCESS;
}

/** @brief One established connection and one listener. */
static DefenderSourceStatus_t collect(void *pContext, DefenderMetricGroup_t group,
                                      DefenderMetricsSink_t *pSink)
{
    DefenderConnection_t connection;
    DefenderListeningPort_t port;

    (void) pContext;
    (void) memset(&connection, 0, sizeof(connection));
    (void) memset(&port, 0, sizeof(port));
    if (group == DEFENDER_METRIC_TCP_CONNECTIONS)
    {
        SetAddress(&connection.remoteAddress, "2001:db8::17");
        connection.remotePort = 8883U;
        connection.localPort = 49822U;
        Defender_SinkAddConnection(pSink, &connection);
    }
    else if (group != DEFENDER_METRIC_NETWORK_STATS)
    {
        port.port = 1883U;
        Defender_SinkAddListeningPort(pSink, &port);
    }
    return DEFENDER_SOURCE_OK;
}

/** @brief A custom number read through the soft-float library. */
static bool readTemperature(void *pContext, DefenderCustomValue_t *pValue)
{
    (void) pContext;
    pValue->number = 21.25;
    return true;
}

/** @brief Three periods: each report published, answered ACCEPTED, ids increasing. */
static void testStateMachine(void)
{
    static const char accepted[] = "{\"thingName\":\"mcu-1\",\"reportId\":";
    DefenderSettings_t settings;
    DefenderInterfaces_t interfaces;
    DefenderCustomMetric_t temperature = {"temperature", DEFENDER_CUSTOM_NUMBER, readTemperature,
                                          NULL};
    char response[96];
    char topic[DEFENDER_TOPIC_BUFFER_SIZE + 16U];
    uint64_t previousId = 0U;
    uint32_t wait = 0U;
    uint32_t failuresBefore = failures;
    size_t length;
    int round;

    (void) memset(&interfaces, 0, sizeof(interfaces));
    Defender_DefaultSettings(&settings);
    settings.pThingName = "mcu-1";
    settings.thingNameLength = 5U;
    settings.format = DEFENDER_FORMAT_JSON;
    settings.keys = DEFENDER_KEYS_LONG;
    settings.periodSeconds = 300U;
    settings.pReportBuffer = reportBuffer;
    settings.reportBufferSize = sizeof(reportBuffer);
    interfaces.mqtt.pfSubscribe = subscribe;
    interfaces.mqtt.pfPublish = publish;
    interfaces.clock.pfMonotonicMs = monotonicMs;
    interfaces.clock.pfWallClockMs = wallClockMs;
    interfaces.metricsSource.pfCollect = collect;

    assert_int_equal(Defender_Init(&agent, &settings, &interfaces), DEFENDER_SUCCESS);
    assert_int_equal(Defender_AddCustomMetric(&agent, &temperature), DEFENDER_SUCCESS);
    assert_int_equal(Defender_Start(&agent), DEFENDER_SUCCESS);
    Defender_OnConnectionChanged(&agent, true, false);
    for (round = 0; round < 3; round++)
    {
        assert_int_equal(Defender_Process(&agent, &wait), DEFENDER_SUCCESS);
        assert_int_equal(published, (uint32_t) round + 1U);
        assert_int_equal(Defender_GetReportStatus(&agent), eDefenderRepNoAck);
        assert_true(agent.lastReportId > previousId);
        previousId = agent.lastReportId;
        /* The report holds the listed connection and the custom number as text. */
        assert_true(reportLength > 0U);
        reportCopy[(reportLength < sizeof(reportCopy)) ? reportLength : 0U] = 0U;
        assert_true(strstr((const char *) reportCopy, "\"[2001:db8::17]:8883\"") != NULL);
        assert_true(strstr((const char *) reportCopy, "{\"number\":21.25}") != NULL);

        (void) memcpy(response, accepted, sizeof(accepted) - 1U);
        length = sizeof(accepted) - 1U;
        length += DefenderReport_FormatUint(previousId, &response[length]);
        (void) memcpy(&response[length], ",\"status\":\"ACCEPTED\"}", 22U);
        length += 21U;
        (void) memcpy(topic, reportTopic, strlen(reportTopic));
        (void) memcpy(&topic[strlen(reportTopic)], "/accepted", 10U);
        assert_int_equal(
            Defender_OnMessage(&agent, topic, strlen(topic), (const uint8_t *) response, length),
            DEFENDER_SUCCESS);
        assert_int_equal(Defender_GetReportStatus(&agent), eDefenderRepSuccess);
        /* Nothing more until the period has passed. */
        assert_int_equal(Defender_Process(&agent, &wait), DEFENDER_SUCCESS);
        assert_int_equal(published, (uint32_t) round + 1U);
        assert_true(wait <= 300000U);
        clockMs += 300000U;
    }
    assert_int_equal(Defender_Stop(&agent), DEFENDER_SUCCESS);
    say((failures == failuresBefore) ? "ok   " : "FAIL ");
    say("state machine: three reports published and ACCEPTED\n");
}

int main(void)
{
    say("Device Defender core on a Cortex-M4 (QEMU mps2-an386)\n");
    testEncoder();
    testResponses();
    testStateMachine();
    sayNumber(checks - failures);
    say(" of ");
    sayNumber(checks);
    say(" checks passed\n");
    finish((failures == 0U) && (checks > 0U));
}
