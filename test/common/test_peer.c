/**
 * @file test_peer.c
 * @brief Test stand-in for the Device Defender service.
 */
#define _GNU_SOURCE
#include <cbor.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "test_peer.h"

/** @brief Reads the report id from a JSON report (long or short keys); 0 if none. */
static uint64_t jsonReportId(const uint8_t *pPayload, size_t length)
{
    uint64_t id = 0;
    cJSON *pRoot = cJSON_ParseWithLength((const char *) pPayload, length);
    if (pRoot != NULL)
    {
        cJSON *pHeader = cJSON_GetObjectItemCaseSensitive(pRoot, "header");
        if (pHeader == NULL)
        {
            pHeader = cJSON_GetObjectItemCaseSensitive(pRoot, "hed");
        }
        if (pHeader != NULL)
        {
            cJSON *pId = cJSON_GetObjectItemCaseSensitive(pHeader, "report_id");
            if (pId == NULL)
            {
                pId = cJSON_GetObjectItemCaseSensitive(pHeader, "rid");
            }
            if (cJSON_IsNumber(pId) && (pId->valuedouble > 0))
            {
                /* Re-read the digits: doubles lose precision above 2^53. */
                const char *pText = strstr((const char *) pPayload, "id\":");
                id = (pText != NULL) ? strtoull(pText + 4, NULL, 10) : (uint64_t) pId->valuedouble;
            }
        }
        cJSON_Delete(pRoot);
    }
    return id;
}

/** @brief Reads the report id from a CBOR report; 0 if none. */
static uint64_t cborReportId(const uint8_t *pPayload, size_t length)
{
    uint64_t id = 0;
    struct cbor_load_result result;
    cbor_item_t *pRoot = cbor_load(pPayload, length, &result);
    size_t i, j;

    if ((pRoot != NULL) && cbor_isa_map(pRoot))
    {
        struct cbor_pair *pPairs = cbor_map_handle(pRoot);
        for (i = 0; i < cbor_map_size(pRoot); i++)
        {
            if (cbor_isa_string(pPairs[i].key) && cbor_isa_map(pPairs[i].value) &&
                ((cbor_string_length(pPairs[i].key) == 3 &&
                  memcmp(cbor_string_handle(pPairs[i].key), "hed", 3) == 0) ||
                 (cbor_string_length(pPairs[i].key) == 6 &&
                  memcmp(cbor_string_handle(pPairs[i].key), "header", 6) == 0)))
            {
                struct cbor_pair *pHeader = cbor_map_handle(pPairs[i].value);
                for (j = 0; j < cbor_map_size(pPairs[i].value); j++)
                {
                    size_t keyLength = cbor_string_length(pHeader[j].key);
                    const unsigned char *pKey = cbor_string_handle(pHeader[j].key);
                    if (cbor_isa_uint(pHeader[j].value) &&
                        ((keyLength == 3 && memcmp(pKey, "rid", 3) == 0) ||
                         (keyLength == 9 && memcmp(pKey, "report_id", 9) == 0)))
                    {
                        id = cbor_get_int(pHeader[j].value);
                    }
                }
            }
        }
    }
    if (pRoot != NULL)
    {
        cbor_decref(&pRoot);
    }
    return id;
}

/** @brief Current time in Unix ms. */
static uint64_t unixMs(void)
{
    struct timeval now;
    gettimeofday(&now, NULL);
    return (uint64_t) now.tv_sec * 1000U + (uint64_t) now.tv_usec / 1000U;
}

/** @brief Appends a CBOR head (major type, argument) in shortest form. */
static size_t cborHead(uint8_t *pOut, uint8_t major, uint64_t value)
{
    size_t n = 0;
    if (value < 24)
    {
        pOut[n++] = (uint8_t) ((major << 5) | value);
    }
    else if (value <= 0xFF)
    {
        pOut[n++] = (uint8_t) ((major << 5) | 24);
        pOut[n++] = (uint8_t) value;
    }
    else if (value <= 0xFFFF)
    {
        pOut[n++] = (uint8_t) ((major << 5) | 25);
        pOut[n++] = (uint8_t) (value >> 8);
        pOut[n++] = (uint8_t) value;
    }
    else if (value <= 0xFFFFFFFFULL)
    {
        pOut[n++] = (uint8_t) ((major << 5) | 26);
        for (int i = 3; i >= 0; i--)
        {
            pOut[n++] = (uint8_t) (value >> (8 * i));
        }
    }
    else
    {
        pOut[n++] = (uint8_t) ((major << 5) | 27);
        for (int i = 7; i >= 0; i--)
        {
            pOut[n++] = (uint8_t) (value >> (8 * i));
        }
    }
    return n;
}

/** @brief Appends a CBOR text string. */
static size_t cborText(uint8_t *pOut, const char *pText)
{
    size_t length = strlen(pText);
    size_t n = cborHead(pOut, 3, length);
    memcpy(pOut + n, pText, length);
    return n + length;
}

/** @brief Builds a response like the service's (PD-15 field order). */
static size_t buildResponse(bool cbor, const char *pThing, bool withId, uint64_t id,
                            const char *pCode, const char *pMessage, uint8_t *pOut, size_t size)
{
    size_t n = 0;
    uint64_t timestamp = unixMs();

    if (!cbor)
    {
        int written;
        char idPart[48] = "";
        char details[256] = "";
        if (withId)
        {
            snprintf(idPart, sizeof(idPart), "\"reportId\":%llu,", (unsigned long long) id);
        }
        if (pCode != NULL)
        {
            snprintf(details, sizeof(details),
                     "\"statusDetails\":{\"ErrorCode\":\"%s\",\"ErrorMessage\":\"%s\"},", pCode,
                     pMessage);
        }
        written = snprintf((char *) pOut, size,
                           "{\"thingName\":\"%s\",%s\"status\":\"%s\",%s\"timestamp\":%llu}",
                           pThing, idPart, (pCode == NULL) ? "ACCEPTED" : "REJECTED", details,
                           (unsigned long long) timestamp);
        n = (written > 0) ? (size_t) written : 0;
    }
    else
    {
        n += cborHead(pOut + n, 5, 3U + (withId ? 1U : 0U) + ((pCode != NULL) ? 1U : 0U));
        n += cborText(pOut + n, "thingName");
        n += cborText(pOut + n, pThing);
        if (withId)
        {
            n += cborText(pOut + n, "reportId");
            n += cborHead(pOut + n, 0, id);
        }
        n += cborText(pOut + n, "status");
        n += cborText(pOut + n, (pCode == NULL) ? "ACCEPTED" : "REJECTED");
        if (pCode != NULL)
        {
            n += cborText(pOut + n, "statusDetails");
            n += cborHead(pOut + n, 5, 2);
            n += cborText(pOut + n, "ErrorCode");
            n += cborText(pOut + n, pCode);
            n += cborText(pOut + n, "ErrorMessage");
            n += cborText(pOut + n, pMessage);
        }
        n += cborText(pOut + n, "timestamp");
        n += cborHead(pOut + n, 0, timestamp);
    }
    return n;
}

/** @brief Publishes one response. */
static void respond(TestPeer_t *pPeer, const char *pReportTopic, bool cbor, const char *pThing,
                    bool withId, uint64_t id, const char *pCode, const char *pMessage)
{
    uint8_t payload[1024];
    char topic[300];
    size_t length =
        buildResponse(cbor, pThing, withId, id, pCode, pMessage, payload, sizeof(payload));
    snprintf(topic, sizeof(topic), "%s/%s", pReportTopic,
             (pCode == NULL) ? "accepted" : "rejected");
    mosquitto_publish(pPeer->pClient, NULL, topic, (int) length, payload, 1, false);
}

/** @brief Handles a report. */
static void onMessage(struct mosquitto *pClient, void *pObject,
                      const struct mosquitto_message *pMessage)
{
    TestPeer_t *pPeer = pObject;
    char thing[256] = "";
    const char *pStart;
    const char *pEnd;
    bool cbor;
    uint64_t id;
    TestPeerMode_t mode;

    (void) pClient;
    if ((pMessage->topic == NULL) || (strncmp(pMessage->topic, "$aws/things/", 12) != 0))
    {
        return;
    }
    pStart = pMessage->topic + 12;
    pEnd = strchr(pStart, '/');
    if ((pEnd == NULL) || ((size_t) (pEnd - pStart) >= sizeof(thing)))
    {
        return;
    }
    memcpy(thing, pStart, (size_t) (pEnd - pStart));
    thing[pEnd - pStart] = '\0';
    cbor = (strstr(pEnd, "/cbor") != NULL);
    id = cbor ? cborReportId(pMessage->payload, (size_t) pMessage->payloadlen)
              : jsonReportId(pMessage->payload, (size_t) pMessage->payloadlen);

    pthread_mutex_lock(&pPeer->mutex);
    pPeer->reports++;
    if (id == 0)
    {
        pPeer->undecodable++;
    }
    pPeer->lastReportId = id;
    snprintf(pPeer->lastTopic, sizeof(pPeer->lastTopic), "%s", pMessage->topic);
    pPeer->lastReportLength = ((size_t) pMessage->payloadlen < sizeof(pPeer->lastReport))
                                  ? (size_t) pMessage->payloadlen
                                  : sizeof(pPeer->lastReport);
    memcpy(pPeer->lastReport, pMessage->payload, pPeer->lastReportLength);
    /* Subscribed at QoS 2 with "retain as published": these are the publisher's. */
    pPeer->lastQos = pMessage->qos;
    pPeer->lastRetain = pMessage->retain;
    if (pMessage->qos != 1)
    {
        pPeer->reportsNotQos1++;
    }
    if (pMessage->retain)
    {
        pPeer->reportsRetained++;
    }
    mode = pPeer->mode;
    pthread_cond_broadcast(&pPeer->condition);
    pthread_mutex_unlock(&pPeer->mutex);

    if (id == 0)
    {
        respond(pPeer, pMessage->topic, cbor, thing, false, 0, "InvalidPayload",
                "Malformed metrics report");
        return;
    }
    switch (mode)
    {
        case TEST_PEER_ACCEPT:
            respond(pPeer, pMessage->topic, cbor, thing, true, id, NULL, NULL);
            break;
        case TEST_PEER_ACCEPT_NO_ID:
            respond(pPeer, pMessage->topic, cbor, thing, false, id, NULL, NULL);
            break;
        case TEST_PEER_WRONG_ID_FIRST:
            respond(pPeer, pMessage->topic, cbor, thing, true, id - 1U, NULL, NULL);
            respond(pPeer, pMessage->topic, cbor, thing, true, id, NULL, NULL);
            break;
        case TEST_PEER_REJECT:
            respond(pPeer, pMessage->topic, cbor, thing, true, id, "InvalidPayload",
                    "Malformed metrics report");
            break;
        case TEST_PEER_THROTTLE:
            respond(pPeer, pMessage->topic, cbor, thing, true, id, "Throttled",
                    "Metrics report rate exceeded");
            break;
        default:
            break;
    }
}

/** @brief SUBACK: marks the peer ready. */
static void onSubscribe(struct mosquitto *pClient, void *pObject, int mid, int count,
                        const int *pGranted)
{
    TestPeer_t *pPeer = pObject;
    (void) pClient;
    (void) mid;
    (void) count;
    (void) pGranted;
    pthread_mutex_lock(&pPeer->mutex);
    pPeer->connected = true;
    pthread_cond_broadcast(&pPeer->condition);
    pthread_mutex_unlock(&pPeer->mutex);
}

/** @brief CONNACK: subscribes to every thing's report topics, at QoS 2 so that the
 * delivered QoS is the one the report was published at, and with "retain as published"
 * (MQTT 5) so that the retain flag is the publisher's too. */
static void onConnect(struct mosquitto *pClient, void *pObject, int rc)
{
    char *topics[] = {"$aws/things/+/defender/metrics/json", "$aws/things/+/defender/metrics/cbor"};
    (void) pObject;
    if (rc == 0)
    {
        mosquitto_subscribe_multiple(pClient, NULL, 2, topics, 2, MQTT_SUB_OPT_RETAIN_AS_PUBLISHED,
                                     NULL);
    }
}

bool TestPeer_Start(TestPeer_t *pPeer, uint16_t port, TestPeerMode_t mode)
{
    char clientId[64];
    struct timespec deadline;
    bool ok;

    memset(pPeer, 0, sizeof(*pPeer));
    mosquitto_lib_init();
    pthread_mutex_init(&pPeer->mutex, NULL);
    pthread_cond_init(&pPeer->condition, NULL);
    pPeer->mode = mode;
    snprintf(clientId, sizeof(clientId), "test-peer-%d-%u", (int) getpid(), (unsigned) port);
    pPeer->pClient = mosquitto_new(clientId, true, pPeer);
    if (pPeer->pClient == NULL)
    {
        return false;
    }
    mosquitto_int_option(pPeer->pClient, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
    mosquitto_connect_callback_set(pPeer->pClient, onConnect);
    mosquitto_subscribe_callback_set(pPeer->pClient, onSubscribe);
    mosquitto_message_callback_set(pPeer->pClient, onMessage);
    if ((mosquitto_connect(pPeer->pClient, "127.0.0.1", port, 30) != MOSQ_ERR_SUCCESS) ||
        (mosquitto_loop_start(pPeer->pClient) != MOSQ_ERR_SUCCESS))
    {
        return false;
    }
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 5;
    pthread_mutex_lock(&pPeer->mutex);
    while (!pPeer->connected &&
           pthread_cond_timedwait(&pPeer->condition, &pPeer->mutex, &deadline) != ETIMEDOUT)
    {
    }
    ok = pPeer->connected;
    pthread_mutex_unlock(&pPeer->mutex);
    return ok;
}

void TestPeer_SetMode(TestPeer_t *pPeer, TestPeerMode_t mode)
{
    pthread_mutex_lock(&pPeer->mutex);
    pPeer->mode = mode;
    pthread_mutex_unlock(&pPeer->mutex);
}

bool TestPeer_WaitReports(TestPeer_t *pPeer, uint32_t count, uint32_t timeoutMs)
{
    struct timespec deadline;
    bool ok;

    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += timeoutMs / 1000U;
    deadline.tv_nsec += (long) (timeoutMs % 1000U) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L)
    {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&pPeer->mutex);
    while ((pPeer->reports < count) &&
           pthread_cond_timedwait(&pPeer->condition, &pPeer->mutex, &deadline) != ETIMEDOUT)
    {
    }
    ok = (pPeer->reports >= count);
    pthread_mutex_unlock(&pPeer->mutex);
    return ok;
}

uint32_t TestPeer_Reports(TestPeer_t *pPeer)
{
    uint32_t reports;
    pthread_mutex_lock(&pPeer->mutex);
    reports = pPeer->reports;
    pthread_mutex_unlock(&pPeer->mutex);
    return reports;
}

size_t TestPeer_LastReport(TestPeer_t *pPeer, uint8_t *pBuffer, size_t size, char *pTopic,
                           size_t topicSize, uint64_t *pReportId)
{
    size_t length;
    pthread_mutex_lock(&pPeer->mutex);
    length = (pPeer->lastReportLength < size) ? pPeer->lastReportLength : size;
    memcpy(pBuffer, pPeer->lastReport, length);
    if (length < size)
    {
        pBuffer[length] = 0;
    }
    if (pTopic != NULL)
    {
        snprintf(pTopic, topicSize, "%s", pPeer->lastTopic);
    }
    if (pReportId != NULL)
    {
        *pReportId = pPeer->lastReportId;
    }
    pthread_mutex_unlock(&pPeer->mutex);
    return length;
}

void TestPeer_Delivery(TestPeer_t *pPeer, int *pLastQos, bool *pLastRetain, uint32_t *pNotQos1,
                       uint32_t *pRetained)
{
    pthread_mutex_lock(&pPeer->mutex);
    if (pLastQos != NULL)
    {
        *pLastQos = pPeer->lastQos;
    }
    if (pLastRetain != NULL)
    {
        *pLastRetain = pPeer->lastRetain;
    }
    if (pNotQos1 != NULL)
    {
        *pNotQos1 = pPeer->reportsNotQos1;
    }
    if (pRetained != NULL)
    {
        *pRetained = pPeer->reportsRetained;
    }
    pthread_mutex_unlock(&pPeer->mutex);
}

void TestPeer_Stop(TestPeer_t *pPeer)
{
    if (pPeer->pClient != NULL)
    {
        mosquitto_disconnect(pPeer->pClient);
        mosquitto_loop_stop(pPeer->pClient, true);
        mosquitto_destroy(pPeer->pClient);
        pPeer->pClient = NULL;
    }
    pthread_cond_destroy(&pPeer->condition);
    pthread_mutex_destroy(&pPeer->mutex);
}
