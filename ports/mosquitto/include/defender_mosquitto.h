/**
 * @file defender_mosquitto.h
 * @brief MQTT port of the agent over libmosquitto: connection, TLS, reconnection
 * with exponential back-off and jitter, and the DefenderMqttInterface_t.
 *
 * The port runs its own network thread. Events (connection, SUBACK, messages) go
 * to a DefenderRunner_t. Applications that already own a `struct mosquitto` use the
 * core API with their own interface instead (see docs/porting.md).
 */
#ifndef DEFENDER_MOSQUITTO_H
#define DEFENDER_MOSQUITTO_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "defender_runner.h"

#ifdef __cplusplus
extern "C" {
#endif

struct mosquitto;

/** @brief Connection settings. Strings are copied by DefenderMosquitto_Init(). */
typedef struct DefenderMosquittoSettings
{
    const char *pHost;         /**< Broker host name or address. Required. */
    uint16_t port;             /**< 0: 443 with ALPN, else 8883 with TLS, 1883 without. */
    const char *pClientId;     /**< MQTT client id; required (usually the thing name). */
    const char *pCaFile;       /**< CA certificate(s) (PEM). TLS when set. */
    const char *pCertFile;     /**< Client certificate (PEM), for mutual TLS. */
    const char *pKeyFile;      /**< Client private key (PEM), for mutual TLS. */
    const char *pAlpn;         /**< ALPN protocol (`x-amzn-mqtt-ca` for AWS IoT on 443). */
    uint16_t keepAliveSeconds; /**< 0: 60. */
    uint32_t backoffBaseMs;    /**< First reconnect delay; 0: 1000. */
    uint32_t backoffMaxMs;     /**< Longest reconnect delay; 0: 60000. */
    /** Where connection messages go (connected: INFO, lost and retrying: WARN, refused:
     * ERROR), and libmosquitto's own error and warning lines (OpenSSL's reasons for a failed
     * handshake, say) at WARN. Called on the port's threads and on those that call into
     * libmosquitto, sometimes with libmosquitto's or the port's locks held: it must not call
     * back into the port. NULL: WARN and ERROR to stderr. */
    DefenderLogCallback_t pfLog;
    void *pLogContext; /**< Passed to pfLog. */
} DefenderMosquittoSettings_t;

/** @brief Longest host, client id or path kept. */
#define DEFENDER_MOSQUITTO_MAX_TEXT 4096U

/** @brief Subscriptions awaiting their SUBACK. */
#define DEFENDER_MOSQUITTO_PENDING_SUBSCRIPTIONS 4U

/** @brief Longest wait of DefenderMosquitto_Deinit() for acknowledgements still due. With
 * the DISCONNECT's own flush (at most 200 ms) a stop stays well under a second even when a
 * connected broker answers nothing; on a lost or silent link the close is abrupt. */
#define DEFENDER_MOSQUITTO_DRAIN_MS 400U

/** @brief A connection. Fields are private. */
typedef struct DefenderMosquitto
{
    struct mosquitto *pClient;
    DefenderRunner_t *pRunner;
    pthread_t thread;
    bool threadRunning;
    pthread_mutex_t mutex;
    pthread_cond_t condition;
    bool stopRequested;
    bool connected;
    uint32_t attempt;
    bool connectCalled; /* mosquitto_connect_async() was called (then: reconnect). */
    uint64_t connects;
    uint64_t disconnects;
    char host[256];
    uint16_t port;
    uint16_t keepAlive;
    uint32_t backoffBaseMs;
    uint32_t backoffMaxMs;
    DefenderLogCallback_t pfLog;
    void *pLogContext;
    struct
    {
        int mid;
        char topic[200];
    } pending[DEFENDER_MOSQUITTO_PENDING_SUBSCRIPTIONS];
    uint32_t unsubscribesAwaited; /* UNSUBACKs due on this connection. */
    uint32_t publishesAwaited;    /* PUBACKs due on this connection. */
} DefenderMosquitto_t;

/**
 * @brief Creates the client and applies the settings (TLS files are checked for
 * readability here, so a missing certificate is reported at once).
 * @param[out] pConnection Connection.
 * @param[in] pSettings Settings.
 * @param[out] pErrorText Optional: a buffer for a human-readable error.
 * @param[in] errorTextSize Its size.
 * @return DEFENDER_SUCCESS; DEFENDER_BAD_PARAMETER for missing or invalid settings or
 *         unreadable files; DEFENDER_ERROR when libmosquitto fails.
 */
DefenderStatus_t DefenderMosquitto_Init(DefenderMosquitto_t *pConnection,
                                        const DefenderMosquittoSettings_t *pSettings,
                                        char *pErrorText, size_t errorTextSize);

/** @brief Fills the agent's MQTT interface for this connection. */
void DefenderMosquitto_GetInterface(DefenderMosquitto_t *pConnection,
                                    DefenderMqttInterface_t *pInterface);

/**
 * @brief Starts the network thread: connects, reconnects with back-off and jitter,
 * and delivers events to `pRunner`.
 * @return DEFENDER_SUCCESS, DEFENDER_ALREADY_STARTED, DEFENDER_ERROR.
 */
DefenderStatus_t DefenderMosquitto_Start(DefenderMosquitto_t *pConnection,
                                         DefenderRunner_t *pRunner);

/**
 * @brief Disconnects, stops the thread and frees the client. While connected, first
 * waits (at most DEFENDER_MOSQUITTO_DRAIN_MS) for the acknowledgements still due
 * (SUBACK, UNSUBACK, PUBACK; the unsubscriptions of DefenderRunner_Stop()), so that the
 * DISCONNECT is the last packet and the broker sees a clean disconnection. The port's
 * lookup of the broker's name, made before each connection attempt, is not waited for
 * when DNS does not answer: it ends on its own thread and frees itself. libmosquitto looks
 * the name up once more when it connects, right after that lookup succeeded (it needs the
 * name for TLS); a stop during that second lookup still waits for it.
 */
void DefenderMosquitto_Deinit(DefenderMosquitto_t *pConnection);

/**
 * @brief The reconnect delay before attempt `attempt` (1, 2, ...): exponential
 * from `baseMs`, capped at `maxMs`, with "full jitter" (uniform in [delay/2, delay]).
 * @param[in] random A random value.
 */
uint32_t DefenderMosquitto_BackoffMs(uint32_t attempt, uint32_t baseMs, uint32_t maxMs,
                                     uint64_t random);

#ifdef __cplusplus
}
#endif

#endif /* DEFENDER_MOSQUITTO_H */
