/**
 * @file main.c
 * @brief A small Cortex-M4 program that links the whole agent core: it runs the
 * state machine over a loopback "MQTT client" that answers every report ACCEPTED,
 * with a metrics source of fixed entries and a tick counter as clock. No heap, no
 * printf: the build checks that no malloc/free/printf-family symbol is linked.
 */
#include <stdint.h>
#include <string.h>

#include "defender_core.h"

/** @brief A memory-mapped "UART" data register (a status byte per report). */
#define UART_DATA (*(volatile uint8_t *) 0x4000C000U)

static DefenderContext_t agent;
static uint8_t reportBuffer[1024];
static volatile uint64_t ticks;
static char lastTopic[DEFENDER_TOPIC_BUFFER_SIZE];
static uint8_t response[160];
static size_t responseLength;

/** @brief Monotonic ms: a tick counter a SysTick handler would advance. */
static uint64_t monotonicMs(void *pContext)
{
    (void) pContext;
    ticks += 1000U;
    return ticks;
}

/** @brief Every subscription is granted at once. */
static DefenderMqttStatus_t subscribe(void *pContext, const char *pTopic, size_t length)
{
    (void) pContext;
    (void) pTopic;
    (void) length;
    return DEFENDER_MQTT_SUCCESS;
}

/** @brief Writes an unsigned decimal number. */
static size_t putNumber(uint8_t *pOut, uint64_t value)
{
    uint8_t digits[20];
    size_t n = 0U;
    size_t i;

    do
    {
        digits[n++] = (uint8_t) ('0' + (value % 10U));
        value /= 10U;
    } while (value != 0U);
    for (i = 0U; i < n; i++)
    {
        pOut[i] = digits[n - 1U - i];
    }
    return n;
}

/** @brief "Publishes" by preparing the ACCEPTED response the service would send. */
static DefenderMqttStatus_t publish(void *pContext, const char *pTopic, size_t length,
                                    const uint8_t *pPayload, size_t payloadLength)
{
    static const char head[] = "{\"status\":\"ACCEPTED\",\"reportId\":";
    (void) pContext;
    (void) pPayload;
    (void) payloadLength;
    (void) memcpy(lastTopic, pTopic, length);
    (void) memcpy(&lastTopic[length], "/accepted", 10U);
    (void) memcpy(response, head, sizeof(head) - 1U);
    responseLength = sizeof(head) - 1U;
    responseLength += putNumber(&response[responseLength], agent.lastReportId);
    response[responseLength++] = (uint8_t) '}';
    return DEFENDER_MQTT_SUCCESS;
}

/** @brief A metrics source with fixed entries (an lwIP port would walk its PCBs). */
static DefenderSourceStatus_t collect(void *pContext, DefenderMetricGroup_t group,
                                      DefenderMetricsSink_t *pSink)
{
    DefenderConnection_t connection;
    DefenderListeningPort_t port;
    DefenderInterfaceCounters_t counters;

    (void) pContext;
    (void) memset(&connection, 0, sizeof(connection));
    (void) memset(&port, 0, sizeof(port));
    (void) memset(&counters, 0, sizeof(counters));
    if (group == DEFENDER_METRIC_TCP_CONNECTIONS)
    {
        connection.remoteAddress.family = 4U;
        connection.remoteAddress.bytes[0] = 198U;
        connection.remoteAddress.bytes[1] = 51U;
        connection.remoteAddress.bytes[2] = 100U;
        connection.remoteAddress.bytes[3] = 7U;
        connection.remotePort = 8883U;
        connection.localPort = 49822U;
        (void) memcpy(connection.localInterface, "st0", 4U);
        Defender_SinkAddConnection(pSink, &connection);
    }
    else if (group == DEFENDER_METRIC_NETWORK_STATS)
    {
        (void) memcpy(counters.name, "st0", 4U);
        counters.bytesIn = ticks;
        counters.counterBits = 32U;
        Defender_SinkAddInterface(pSink, &counters);
    }
    else
    {
        port.port = 80U;
        Defender_SinkAddListeningPort(pSink, &port);
    }
    return DEFENDER_SOURCE_OK;
}

/** @brief A custom metric. */
static bool readTemperature(void *pContext, DefenderCustomValue_t *pValue)
{
    (void) pContext;
    pValue->number = 21.5;
    return true;
}

int main(void)
{
    DefenderSettings_t settings;
    DefenderInterfaces_t interfaces;
    DefenderCustomMetric_t temperature = {"temperature", DEFENDER_CUSTOM_NUMBER, readTemperature,
                                          NULL};
    uint32_t wait = 0U;
    int i;

    (void) memset(&interfaces, 0, sizeof(interfaces));
    Defender_DefaultSettings(&settings);
    settings.pThingName = "mcu-1";
    settings.thingNameLength = 5U;
    /* CBOR unless the build leaves it out (DEFENDER_CONFIG_FORMAT_CBOR 0). */
    settings.format =
        (DEFENDER_CONFIG_FORMAT_CBOR == 1) ? DEFENDER_FORMAT_CBOR : DEFENDER_FORMAT_JSON;
    settings.periodSeconds = 300U;
    settings.pReportBuffer = reportBuffer;
    settings.reportBufferSize = sizeof(reportBuffer);
    interfaces.mqtt.pfSubscribe = subscribe;
    interfaces.mqtt.pfPublish = publish;
    interfaces.clock.pfMonotonicMs = monotonicMs;
    interfaces.metricsSource.pfCollect = collect;

    if ((Defender_Init(&agent, &settings, &interfaces) == DEFENDER_SUCCESS) &&
        (Defender_AddCustomMetric(&agent, &temperature) == DEFENDER_SUCCESS) &&
        (Defender_Start(&agent) == DEFENDER_SUCCESS))
    {
        Defender_OnConnectionChanged(&agent, true, false);
        for (i = 0; i < 4; i++)
        {
            (void) Defender_Process(&agent, &wait);
            /* The response arrives as JSON here to exercise both decoders' code paths. */
            (void) Defender_OnMessage(&agent, lastTopic, strlen(lastTopic), response,
                                      responseLength);
            UART_DATA = (uint8_t) Defender_GetReportStatus(&agent);
            ticks += 300000U;
        }
        (void) Defender_Stop(&agent);
    }

    for (;;)
    {
    }
}
