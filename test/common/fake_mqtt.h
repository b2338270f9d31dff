/**
 * @file fake_mqtt.h
 * @brief A scripted, recording fake of the MQTT interface (defender_mqtt_interface.h).
 *
 * Every call is recorded (kind, topic, payload size, global event number from
 * fake_clock.h); the payload of the latest publish is copied. Results are scripted:
 * a queue of one-shot results is consumed first, then the default result applies.
 * Subscriptions are at QoS 1 by the interface's contract, so the fake records the
 * topic only. An optional hook runs inside pfSubscribe, so a test can play a port
 * that reports the SUBACK from inside the call.
 */
#ifndef FAKE_MQTT_H
#define FAKE_MQTT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "defender_mqtt_interface.h"

/** @brief Calls recorded (later calls are counted but not recorded). */
#define FAKE_MQTT_MAX_CALLS 256U

/** @brief Longest topic kept per call. */
#define FAKE_MQTT_TOPIC_SIZE 256U

/** @brief Bytes of the latest publish payload kept. */
#define FAKE_MQTT_PAYLOAD_SIZE 65536U

/** @brief One-shot results that can be queued per call kind. */
#define FAKE_MQTT_MAX_QUEUED 16U

/** @brief Kind of a recorded call. */
typedef enum
{
    FAKE_MQTT_SUBSCRIBE = 0,
    FAKE_MQTT_PUBLISH,
    FAKE_MQTT_UNSUBSCRIBE
} FakeMqttCallKind_t;

/** @brief One recorded call. */
typedef struct FakeMqttCall
{
    FakeMqttCallKind_t kind;
    char topic[FAKE_MQTT_TOPIC_SIZE]; /**< NUL-terminated copy (truncated if too long). */
    size_t topicLength;               /**< Length passed by the caller. */
    size_t payloadLength;             /**< Publish only. */
    DefenderMqttStatus_t result;      /**< What the fake returned. */
    uint32_t event;                   /**< FakeSequence_Next() number. */
} FakeMqttCall_t;

/** @brief Hook run inside pfSubscribe, before it returns `result`. */
typedef void (*FakeMqttSubscribeHook_t)(void *pHookContext, const char *pTopic, size_t topicLength,
                                        DefenderMqttStatus_t result);

/**
 * @brief Hook run inside pfPublish after the call is recorded, before it returns
 * `result` (e.g. to deliver the service's response from inside the call).
 */
typedef void (*FakeMqttPublishHook_t)(void *pHookContext, const char *pTopic, size_t topicLength,
                                      const uint8_t *pPayload, size_t payloadLength,
                                      DefenderMqttStatus_t result);

/** @brief The fake client. */
typedef struct FakeMqtt
{
    DefenderMqttStatus_t subscribeResult;   /**< Default subscribe result (SUCCESS). */
    DefenderMqttStatus_t publishResult;     /**< Default publish result (SUCCESS). */
    DefenderMqttStatus_t unsubscribeResult; /**< Default unsubscribe result (SUCCESS). */
    DefenderMqttStatus_t subscribeQueue[FAKE_MQTT_MAX_QUEUED]; /**< One-shot subscribe results. */
    size_t subscribeQueued;                                    /**< Entries queued. */
    DefenderMqttStatus_t publishQueue[FAKE_MQTT_MAX_QUEUED];   /**< One-shot publish results. */
    size_t publishQueued;                                      /**< Entries queued. */
    FakeMqttSubscribeHook_t pfSubscribeHook;                   /**< Optional. */
    FakeMqttPublishHook_t pfPublishHook;                       /**< Optional. */
    void *pHookContext;                                        /**< Passed to the hooks. */

    FakeMqttCall_t calls[FAKE_MQTT_MAX_CALLS];       /**< Recorded calls, in order. */
    size_t callCount;                                /**< All calls (may exceed the array). */
    uint32_t subscribeCalls;                         /**< pfSubscribe calls. */
    uint32_t publishCalls;                           /**< pfPublish calls (any result). */
    uint32_t publishSucceeded;                       /**< pfPublish calls that returned SUCCESS. */
    uint32_t unsubscribeCalls;                       /**< pfUnsubscribe calls. */
    uint32_t lastPublishEvent;                       /**< Event number of the latest publish. */
    char lastPublishTopic[FAKE_MQTT_TOPIC_SIZE];     /**< Topic of the latest publish. */
    uint8_t lastPayload[FAKE_MQTT_PAYLOAD_SIZE + 1]; /**< Its payload, NUL appended. */
    size_t lastPayloadLength;                        /**< Its length. */
} FakeMqtt_t;

/** @brief Resets the fake: every result SUCCESS, nothing recorded, no hook. */
void FakeMqtt_Init(FakeMqtt_t *pMqtt);

/** @brief Builds the interface over the fake (with pfUnsubscribe when `withUnsubscribe`). */
DefenderMqttInterface_t FakeMqtt_Interface(FakeMqtt_t *pMqtt, bool withUnsubscribe);

/** @brief Queues a one-shot result for the next pfSubscribe call not yet scripted. */
void FakeMqtt_QueueSubscribeResult(FakeMqtt_t *pMqtt, DefenderMqttStatus_t result);

/** @brief Queues a one-shot result for the next pfPublish call not yet scripted. */
void FakeMqtt_QueuePublishResult(FakeMqtt_t *pMqtt, DefenderMqttStatus_t result);

/** @brief Number of recorded calls of one kind. */
size_t FakeMqtt_CountCalls(const FakeMqtt_t *pMqtt, FakeMqttCallKind_t kind);

/**
 * @brief The n-th (0-based) recorded call of one kind, or NULL.
 */
const FakeMqttCall_t *FakeMqtt_GetCall(const FakeMqtt_t *pMqtt, FakeMqttCallKind_t kind, size_t n);

/** @brief Forgets the recorded calls and counters (scripted results stay). */
void FakeMqtt_ClearCalls(FakeMqtt_t *pMqtt);

#endif /* FAKE_MQTT_H */
