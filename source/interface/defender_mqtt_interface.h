/**
 * @file defender_mqtt_interface.h
 * @brief The MQTT client the agent core publishes and subscribes through.
 *
 * The integrator implements these functions over its MQTT client (libmosquitto,
 * coreMQTT, a modem's AT client ...) and feeds the client's events back into the
 * core with Defender_OnConnectionChanged(), Defender_OnSubscribeResult() and
 * Defender_OnMessage(). The core calls these functions only from Defender_Process().
 */
#ifndef DEFENDER_MQTT_INTERFACE_H
#define DEFENDER_MQTT_INTERFACE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Result of an MQTT interface call. */
typedef enum
{
    /** Done: the request was handed to the client (for a publish: queued or sent at
     * QoS 1; for a subscribe: SUBACK received and granted). */
    DEFENDER_MQTT_SUCCESS = 0,
    /** Subscribe only: the request was sent; the port reports the SUBACK later
     * through Defender_OnSubscribeResult(). */
    DEFENDER_MQTT_PENDING,
    /** The client is not connected. */
    DEFENDER_MQTT_NOT_CONNECTED,
    /** Any other failure. */
    DEFENDER_MQTT_FAILURE
} DefenderMqttStatus_t;

/** @brief MQTT publish/subscribe, as used by the agent core. */
typedef struct DefenderMqttInterface
{
    /** Opaque context of the integrator, passed to every function. */
    void *pContext;

    /**
     * @brief Subscribes to one topic at QoS 1.
     * @param[in] pContext The context above.
     * @param[in] pTopic Topic filter (NUL-terminated; `topicLength` bytes).
     * @param[in] topicLength Its length.
     * @return SUCCESS when granted already, PENDING when the result will be reported
     *         with Defender_OnSubscribeResult(), NOT_CONNECTED or FAILURE.
     */
    DefenderMqttStatus_t (*pfSubscribe)(void *pContext, const char *pTopic, size_t topicLength);

    /**
     * @brief Publishes a message at QoS 1, retain flag clear.
     * @param[in] pContext The context above.
     * @param[in] pTopic Topic (NUL-terminated; `topicLength` bytes).
     * @param[in] topicLength Its length.
     * @param[in] pPayload Payload; valid only during the call (copy it if queued).
     * @param[in] payloadLength Its length.
     * @return SUCCESS, NOT_CONNECTED or FAILURE.
     */
    DefenderMqttStatus_t (*pfPublish)(void *pContext, const char *pTopic, size_t topicLength,
                                      const uint8_t *pPayload, size_t payloadLength);

    /**
     * @brief Optional (may be NULL): unsubscribes from one topic. Called by
     * Defender_Stop() so a shared connection stops receiving responses.
     * @return SUCCESS, NOT_CONNECTED or FAILURE (ignored by the core).
     */
    DefenderMqttStatus_t (*pfUnsubscribe)(void *pContext, const char *pTopic, size_t topicLength);
} DefenderMqttInterface_t;

#ifdef __cplusplus
}
#endif

#endif /* DEFENDER_MQTT_INTERFACE_H */
