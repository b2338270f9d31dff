/**
 * @file test_peer.h
 * @brief A stand-in for the Device Defender service in integration tests: subscribes
 * to every thing's report topics on a real broker and answers each report ACCEPTED,
 * REJECTED (InvalidPayload or Throttled), or not at all.
 */
#ifndef TEST_PEER_H
#define TEST_PEER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** @brief How the peer answers. */
typedef enum
{
    TEST_PEER_ACCEPT = 0,    /**< ACCEPTED with the report id. */
    TEST_PEER_REJECT,        /**< REJECTED InvalidPayload / Malformed metrics report. */
    TEST_PEER_THROTTLE,      /**< REJECTED Throttled. */
    TEST_PEER_SILENT,        /**< No answer. */
    TEST_PEER_ACCEPT_NO_ID,  /**< ACCEPTED without reportId (PD-24). */
    TEST_PEER_WRONG_ID_FIRST /**< First an ACCEPTED for another id, then the right one. */
} TestPeerMode_t;

/** @brief Largest report kept. */
#define TEST_PEER_MAX_REPORT 140000U

/** @brief The peer. Fields may be read under `mutex`. */
typedef struct TestPeer
{
    struct mosquitto *pClient;
    pthread_mutex_t mutex;
    pthread_cond_t condition;
    TestPeerMode_t mode;
    bool connected;
    uint32_t reports;                         /**< Reports received. */
    uint32_t undecodable;                     /**< Reports whose id could not be read. */
    uint64_t lastReportId;                    /**< Id of the last report. */
    char lastTopic[256];                      /**< Topic of the last report. */
    uint8_t lastReport[TEST_PEER_MAX_REPORT]; /**< Its payload. */
    size_t lastReportLength;                  /**< Its length. */
    int lastQos;                              /**< QoS the last report was published at. */
    bool lastRetain;                          /**< Its retain flag, as published. */
    uint32_t reportsNotQos1;                  /**< Reports published at a QoS other than 1. */
    uint32_t reportsRetained;                 /**< Reports published with the retain flag. */
} TestPeer_t;

/**
 * @brief Connects to 127.0.0.1:port (MQTT 5), subscribes to
 * `$aws/things/+/defender/metrics/json` and `.../cbor` at QoS 2 with "retain as
 * published", so that each report's QoS and retain flag are those its publisher used,
 * and starts answering.
 * @return true when subscribed.
 */
bool TestPeer_Start(TestPeer_t *pPeer, uint16_t port, TestPeerMode_t mode);

/** @brief Changes the answer mode. */
void TestPeer_SetMode(TestPeer_t *pPeer, TestPeerMode_t mode);

/** @brief Waits until at least `count` reports arrived. @return true if they did. */
bool TestPeer_WaitReports(TestPeer_t *pPeer, uint32_t count, uint32_t timeoutMs);

/** @brief Number of reports received. */
uint32_t TestPeer_Reports(TestPeer_t *pPeer);

/**
 * @brief Copies the last report (payload NUL-terminated when it fits) and its topic.
 * @return Payload length.
 */
size_t TestPeer_LastReport(TestPeer_t *pPeer, uint8_t *pBuffer, size_t size, char *pTopic,
                           size_t topicSize, uint64_t *pReportId);

/**
 * @brief How the reports were published: the last one's QoS and retain flag, and how
 * many reports so far were not QoS 1 or were retained. Any pointer may be NULL.
 */
void TestPeer_Delivery(TestPeer_t *pPeer, int *pLastQos, bool *pLastRetain, uint32_t *pNotQos1,
                       uint32_t *pRetained);

/** @brief Disconnects and frees the peer. */
void TestPeer_Stop(TestPeer_t *pPeer);

#endif /* TEST_PEER_H */
