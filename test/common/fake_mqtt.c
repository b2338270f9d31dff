/**
 * @file fake_mqtt.c
 * @brief Scripted, recording fake of the MQTT interface.
 */
#include <string.h>

#include "fake_clock.h"
#include "fake_mqtt.h"

/**
 * @brief Records one call.
 * @return The record (or NULL when the array is full).
 */
static FakeMqttCall_t *record(FakeMqtt_t *pMqtt, FakeMqttCallKind_t kind, const char *pTopic,
                              size_t topicLength, size_t payloadLength, DefenderMqttStatus_t result)
{
    FakeMqttCall_t *pCall = NULL;
    size_t copy = topicLength;

    if (pMqtt->callCount < FAKE_MQTT_MAX_CALLS)
    {
        pCall = &pMqtt->calls[pMqtt->callCount];
        (void) memset(pCall, 0, sizeof(*pCall));
        pCall->kind = kind;
        if (copy >= FAKE_MQTT_TOPIC_SIZE)
        {
            copy = FAKE_MQTT_TOPIC_SIZE - 1U;
        }
        if (pTopic != NULL)
        {
            (void) memcpy(pCall->topic, pTopic, copy);
        }
        pCall->topicLength = topicLength;
        pCall->payloadLength = payloadLength;
        pCall->result = result;
        pCall->event = FakeSequence_Next();
    }
    pMqtt->callCount++;
    return pCall;
}

/** @brief Takes the next queued result, or the default. */
static DefenderMqttStatus_t takeResult(DefenderMqttStatus_t *pQueue, size_t *pQueued,
                                       DefenderMqttStatus_t defaultResult)
{
    DefenderMqttStatus_t result = defaultResult;

    if (*pQueued > 0U)
    {
        result = pQueue[0];
        (void) memmove(&pQueue[0], &pQueue[1], (*pQueued - 1U) * sizeof(pQueue[0]));
        (*pQueued)--;
    }
    return result;
}

/** @brief pfSubscribe of the fake. */
static DefenderMqttStatus_t fakeSubscribe(void *pContext, const char *pTopic, size_t topicLength)
{
    FakeMqtt_t *pMqtt = (FakeMqtt_t *) pContext;
    DefenderMqttStatus_t result =
        takeResult(pMqtt->subscribeQueue, &pMqtt->subscribeQueued, pMqtt->subscribeResult);

    pMqtt->subscribeCalls++;
    (void) record(pMqtt, FAKE_MQTT_SUBSCRIBE, pTopic, topicLength, 0U, result);
    if (pMqtt->pfSubscribeHook != NULL)
    {
        pMqtt->pfSubscribeHook(pMqtt->pHookContext, pTopic, topicLength, result);
    }
    return result;
}

/** @brief pfPublish of the fake. */
static DefenderMqttStatus_t fakePublish(void *pContext, const char *pTopic, size_t topicLength,
                                        const uint8_t *pPayload, size_t payloadLength)
{
    FakeMqtt_t *pMqtt = (FakeMqtt_t *) pContext;
    DefenderMqttStatus_t result =
        takeResult(pMqtt->publishQueue, &pMqtt->publishQueued, pMqtt->publishResult);
    const FakeMqttCall_t *pCall;
    size_t copy = payloadLength;

    pMqtt->publishCalls++;
    pCall = record(pMqtt, FAKE_MQTT_PUBLISH, pTopic, topicLength, payloadLength, result);
    pMqtt->lastPublishEvent = (pCall != NULL) ? pCall->event : FakeSequence_Next();
    if (result == DEFENDER_MQTT_SUCCESS)
    {
        pMqtt->publishSucceeded++;
    }
    (void) memset(pMqtt->lastPublishTopic, 0, sizeof(pMqtt->lastPublishTopic));
    if ((pTopic != NULL) && (topicLength < FAKE_MQTT_TOPIC_SIZE))
    {
        (void) memcpy(pMqtt->lastPublishTopic, pTopic, topicLength);
    }
    if (copy > FAKE_MQTT_PAYLOAD_SIZE)
    {
        copy = FAKE_MQTT_PAYLOAD_SIZE;
    }
    if (pPayload != NULL)
    {
        (void) memcpy(pMqtt->lastPayload, pPayload, copy);
    }
    pMqtt->lastPayload[copy] = 0U;
    pMqtt->lastPayloadLength = payloadLength;
    if (pMqtt->pfPublishHook != NULL)
    {
        pMqtt->pfPublishHook(pMqtt->pHookContext, pTopic, topicLength, pPayload, payloadLength,
                             result);
    }
    return result;
}

/** @brief pfUnsubscribe of the fake. */
static DefenderMqttStatus_t fakeUnsubscribe(void *pContext, const char *pTopic, size_t topicLength)
{
    FakeMqtt_t *pMqtt = (FakeMqtt_t *) pContext;

    pMqtt->unsubscribeCalls++;
    (void) record(pMqtt, FAKE_MQTT_UNSUBSCRIBE, pTopic, topicLength, 0U, pMqtt->unsubscribeResult);
    return pMqtt->unsubscribeResult;
}

void FakeMqtt_Init(FakeMqtt_t *pMqtt)
{
    (void) memset(pMqtt, 0, sizeof(*pMqtt));
    pMqtt->subscribeResult = DEFENDER_MQTT_SUCCESS;
    pMqtt->publishResult = DEFENDER_MQTT_SUCCESS;
    pMqtt->unsubscribeResult = DEFENDER_MQTT_SUCCESS;
}

DefenderMqttInterface_t FakeMqtt_Interface(FakeMqtt_t *pMqtt, bool withUnsubscribe)
{
    DefenderMqttInterface_t mqtt;

    mqtt.pContext = pMqtt;
    mqtt.pfSubscribe = fakeSubscribe;
    mqtt.pfPublish = fakePublish;
    mqtt.pfUnsubscribe = withUnsubscribe ? fakeUnsubscribe : NULL;
    return mqtt;
}

void FakeMqtt_QueueSubscribeResult(FakeMqtt_t *pMqtt, DefenderMqttStatus_t result)
{
    if (pMqtt->subscribeQueued < FAKE_MQTT_MAX_QUEUED)
    {
        pMqtt->subscribeQueue[pMqtt->subscribeQueued] = result;
        pMqtt->subscribeQueued++;
    }
}

void FakeMqtt_QueuePublishResult(FakeMqtt_t *pMqtt, DefenderMqttStatus_t result)
{
    if (pMqtt->publishQueued < FAKE_MQTT_MAX_QUEUED)
    {
        pMqtt->publishQueue[pMqtt->publishQueued] = result;
        pMqtt->publishQueued++;
    }
}

size_t FakeMqtt_CountCalls(const FakeMqtt_t *pMqtt, FakeMqttCallKind_t kind)
{
    size_t count = 0U;
    size_t i;
    size_t recorded =
        (pMqtt->callCount < FAKE_MQTT_MAX_CALLS) ? pMqtt->callCount : FAKE_MQTT_MAX_CALLS;

    for (i = 0U; i < recorded; i++)
    {
        if (pMqtt->calls[i].kind == kind)
        {
            count++;
        }
    }
    return count;
}

const FakeMqttCall_t *FakeMqtt_GetCall(const FakeMqtt_t *pMqtt, FakeMqttCallKind_t kind, size_t n)
{
    const FakeMqttCall_t *pCall = NULL;
    size_t seen = 0U;
    size_t i;
    size_t recorded =
        (pMqtt->callCount < FAKE_MQTT_MAX_CALLS) ? pMqtt->callCount : FAKE_MQTT_MAX_CALLS;

    for (i = 0U; (i < recorded) && (pCall == NULL); i++)
    {
        if (pMqtt->calls[i].kind == kind)
        {
            if (seen == n)
            {
                pCall = &pMqtt->calls[i];
            }
            seen++;
        }
    }
    return pCall;
}

void FakeMqtt_ClearCalls(FakeMqtt_t *pMqtt)
{
    pMqtt->callCount = 0U;
    pMqtt->subscribeCalls = 0U;
    pMqtt->publishCalls = 0U;
    pMqtt->publishSucceeded = 0U;
    pMqtt->unsubscribeCalls = 0U;
}
