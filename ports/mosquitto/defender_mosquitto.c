/**
 * @file defender_mosquitto.c
 * @brief libmosquitto MQTT port: connection thread with back-off, interface, events.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <mosquitto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "defender_mosquitto.h"

/**
 * @brief Longest wait of one network loop iteration. The loop also wakes at once when
 * another thread queues a packet (libmosquitto writes to its internal socket pair), so
 * publishes and DefenderMosquitto_Deinit() (which queues a DISCONNECT) are not delayed:
 * between reports the thread sleeps, waking only for keep-alive work.
 */
#define LOOP_TIMEOUT_MAX_MS 30000

/** @brief Network loop iterations (of at most 10 ms each) that let the DISCONNECT go out. */
#define DISCONNECT_LOOPS 20

/** @brief How long the network thread waits for a name lookup between looks at a stop. */
#define LOOKUP_SLICE_MS 50U

/** @brief libmosquitto is initialised once per process. */
static pthread_once_t libraryOnce = PTHREAD_ONCE_INIT;

/** @brief Initialises libmosquitto. */
static void initLibrary(void)
{
    (void) mosquitto_lib_init();
}

/**
 * @brief Formats a message and passes it to the log callback (or stderr).
 * @param[in] pConnection Connection.
 * @param[in] level Level.
 * @param[in] pFormat printf format.
 */
static void logMessage(const DefenderMosquitto_t *pConnection, DefenderLogLevel_t level,
                       const char *pFormat, ...) __attribute__((format(printf, 3, 4)));

static void logMessage(const DefenderMosquitto_t *pConnection, DefenderLogLevel_t level,
                       const char *pFormat, ...)
{
    char message[512];
    va_list arguments;

    va_start(arguments, pFormat);
    (void) vsnprintf(message, sizeof(message), pFormat, arguments);
    va_end(arguments);
    if (pConnection->pfLog != NULL)
    {
        pConnection->pfLog(pConnection->pLogContext, level, message);
    }
    else if (level <= DEFENDER_LOG_WARN)
    {
        (void) fprintf(stderr, "defender: %s\n", message);
    }
    else
    {
        /* Info and debug are quiet by default. */
    }
}

/** @brief Writes an error text if a buffer was given. */
static void setError(char *pErrorText, size_t size, const char *pWhat, const char *pDetail)
{
    if ((pErrorText != NULL) && (size > 0U))
    {
        (void) snprintf(pErrorText, size, "%s%s%s", pWhat, (pDetail != NULL) ? ": " : "",
                        (pDetail != NULL) ? pDetail : "");
    }
}

uint32_t DefenderMosquitto_BackoffMs(uint32_t attempt, uint32_t baseMs, uint32_t maxMs,
                                     uint64_t random)
{
    uint64_t delay = (baseMs == 0U) ? 1U : baseMs;
    uint32_t i;
    uint64_t half;

    for (i = 1U; (i < attempt) && (delay < maxMs); i++)
    {
        delay *= 2U;
    }
    if (delay > maxMs)
    {
        delay = maxMs;
    }
    half = delay / 2U;

    return (uint32_t) (half + (random % (delay - half + 1U)));
}

/** @brief MQTT CONNACK callback. */
static void onConnect(struct mosquitto *pClient, void *pObject, int rc, int flags,
                      const mosquitto_property *pProperties)
{
    DefenderMosquitto_t *pConnection = pObject;

    (void) pClient;
    (void) pProperties;
    if (rc == 0)
    {
        (void) pthread_mutex_lock(&pConnection->mutex);
        pConnection->connected = true;
        pConnection->attempt = 0U;
        pConnection->connects++;
        (void) pthread_mutex_unlock(&pConnection->mutex);
        logMessage(pConnection, DEFENDER_LOG_INFO, "connected to %s:%u", pConnection->host,
                   (unsigned) pConnection->port);
        DefenderRunner_OnConnectionChanged(pConnection->pRunner, true, (flags & 1) != 0);
    }
    else
    {
        logMessage(pConnection, DEFENDER_LOG_ERROR, "broker %s:%u refused the connection: %s",
                   pConnection->host, (unsigned) pConnection->port, mosquitto_connack_string(rc));
    }
}

/** @brief MQTT disconnect callback. */
static void onDisconnect(struct mosquitto *pClient, void *pObject, int rc,
                         const mosquitto_property *pProperties)
{
    DefenderMosquitto_t *pConnection = pObject;
    bool wasConnected;

    (void) pClient;
    (void) pProperties;
    (void) pthread_mutex_lock(&pConnection->mutex);
    wasConnected = pConnection->connected;
    pConnection->connected = false;
    /* SUBACKs still awaited will not come on a new connection: free their slots. */
    (void) memset(pConnection->pending, 0, sizeof(pConnection->pending));
    pConnection->unsubscribesAwaited = 0U;
    pConnection->publishesAwaited = 0U;
    (void) pthread_cond_broadcast(&pConnection->condition);
    if (wasConnected)
    {
        pConnection->disconnects++;
    }
    (void) pthread_mutex_unlock(&pConnection->mutex);
    if (wasConnected)
    {
        if (!pConnection->stopRequested)
        {
            logMessage(pConnection, DEFENDER_LOG_WARN, "connection to %s:%u lost (%s)",
                       pConnection->host, (unsigned) pConnection->port, mosquitto_strerror(rc));
        }
        DefenderRunner_OnConnectionChanged(pConnection->pRunner, false, false);
    }
}

/** @brief SUBACK callback. */
static void onSubscribe(struct mosquitto *pClient, void *pObject, int mid, int qosCount,
                        const int *pGrantedQos, const mosquitto_property *pProperties)
{
    DefenderMosquitto_t *pConnection = pObject;
    char topic[sizeof(pConnection->pending[0].topic)];
    bool found = false;
    size_t i;

    (void) pClient;
    (void) pProperties;
    topic[0] = '\0';
    (void) pthread_mutex_lock(&pConnection->mutex);
    for (i = 0U; i < DEFENDER_MOSQUITTO_PENDING_SUBSCRIPTIONS; i++)
    {
        if ((pConnection->pending[i].mid == mid) && (pConnection->pending[i].topic[0] != '\0'))
        {
            (void) memcpy(topic, pConnection->pending[i].topic, sizeof(topic));
            pConnection->pending[i].topic[0] = '\0';
            pConnection->pending[i].mid = 0;
            found = true;
        }
    }
    (void) pthread_cond_broadcast(&pConnection->condition);
    (void) pthread_mutex_unlock(&pConnection->mutex);

    if (found)
    {
        /* One topic per SUBSCRIBE: a granted QoS, or a failure code (0x80 under MQTT 3.1.1,
         * e.g. an ACL or a policy that does not allow the topic). */
        int code = ((qosCount >= 1) && (pGrantedQos != NULL)) ? pGrantedQos[0] : -1;
        bool granted = (code >= 0) && (code <= 2);

        if (!granted)
        {
            logMessage(pConnection, DEFENDER_LOG_ERROR,
                       "the broker refused the subscription to %s (SUBACK return code 0x%02x)",
                       topic, (unsigned) code & 0xFFU);
        }
        DefenderRunner_OnSubscribeResult(pConnection->pRunner, topic, strlen(topic), granted);
    }
}

/** @brief Counts one acknowledgement that came (never below zero: a counter is reset
 * when the connection drops, and a PUBACK may still come for a resent message). */
static void acknowledged(DefenderMosquitto_t *pConnection, uint32_t *pAwaited)
{
    (void) pthread_mutex_lock(&pConnection->mutex);
    if (*pAwaited > 0U)
    {
        (*pAwaited)--;
    }
    (void) pthread_cond_broadcast(&pConnection->condition);
    (void) pthread_mutex_unlock(&pConnection->mutex);
}

/** @brief UNSUBACK callback. */
static void onUnsubscribe(struct mosquitto *pClient, void *pObject, int mid,
                          const mosquitto_property *pProperties)
{
    DefenderMosquitto_t *pConnection = pObject;

    (void) pClient;
    (void) mid;
    (void) pProperties;
    acknowledged(pConnection, &pConnection->unsubscribesAwaited);
}

/** @brief PUBACK callback (every publish is QoS 1). */
static void onPublish(struct mosquitto *pClient, void *pObject, int mid, int reasonCode,
                      const mosquitto_property *pProperties)
{
    DefenderMosquitto_t *pConnection = pObject;

    (void) pClient;
    (void) mid;
    (void) reasonCode;
    (void) pProperties;
    acknowledged(pConnection, &pConnection->publishesAwaited);
}

/** @brief libmosquitto's own errors and warnings: the reasons behind a failed connection that
 * its return codes do not carry (OpenSSL's "certificate verify failed", for one). */
static void onLog(struct mosquitto *pClient, void *pObject, int level, const char *pText)
{
    const DefenderMosquitto_t *pConnection = pObject;

    (void) pClient;
    if (((level & (MOSQ_LOG_ERR | MOSQ_LOG_WARNING)) != 0) && (pText != NULL))
    {
        logMessage(pConnection, DEFENDER_LOG_WARN, "libmosquitto: %s", pText);
    }
}

/** @brief Incoming message callback. */
static void onMessage(struct mosquitto *pClient, void *pObject,
                      const struct mosquitto_message *pMessage,
                      const mosquitto_property *pProperties)
{
    DefenderMosquitto_t *pConnection = pObject;

    (void) pClient;
    (void) pProperties;
    if ((pMessage != NULL) && (pMessage->topic != NULL) && (pMessage->payloadlen >= 0))
    {
        (void) DefenderRunner_OnMessage(pConnection->pRunner, pMessage->topic,
                                        strlen(pMessage->topic), pMessage->payload,
                                        (size_t) pMessage->payloadlen);
    }
}

/** @brief Checks that a file can be read, for early, clear errors. */
static bool readable(const char *pPath, const char *pWhat, char *pErrorText, size_t size)
{
    bool ok = (access(pPath, R_OK) == 0);

    if (!ok)
    {
        char detail[DEFENDER_MOSQUITTO_MAX_TEXT + 64U];
        (void) snprintf(detail, sizeof(detail), "%s: %s", pPath, strerror(errno));
        setError(pErrorText, size, pWhat, detail);
    }

    return ok;
}

DefenderStatus_t DefenderMosquitto_Init(DefenderMosquitto_t *pConnection,
                                        const DefenderMosquittoSettings_t *pSettings,
                                        char *pErrorText, size_t errorTextSize)
{
    DefenderStatus_t status = DEFENDER_BAD_PARAMETER;
    bool tls = false;
    int rc;

    if (pConnection != NULL)
    {
        /* Nothing to release on the error paths below until the client exists. */
        (void) memset(pConnection, 0, sizeof(*pConnection));
    }

    if ((pConnection == NULL) || (pSettings == NULL))
    {
        setError(pErrorText, errorTextSize, "no connection settings", NULL);
    }
    else if ((pSettings->pHost == NULL) || (pSettings->pHost[0] == '\0') ||
             (strlen(pSettings->pHost) >= sizeof(pConnection->host)))
    {
        setError(pErrorText, errorTextSize, "no valid broker host given", NULL);
    }
    else if ((pSettings->pClientId == NULL) || (pSettings->pClientId[0] == '\0'))
    {
        setError(pErrorText, errorTextSize, "no client id given", NULL);
    }
    else if ((pSettings->pCertFile != NULL) != (pSettings->pKeyFile != NULL))
    {
        setError(pErrorText, errorTextSize,
                 "a client certificate needs its key and a key needs its certificate", NULL);
    }
    else if (((pSettings->pCertFile != NULL) || (pSettings->pAlpn != NULL)) &&
             (pSettings->pCaFile == NULL))
    {
        setError(pErrorText, errorTextSize,
                 "TLS needs the CA certificate that signed the broker's certificate (CA file)",
                 NULL);
    }
    else if (((pSettings->pCaFile != NULL) &&
              !readable(pSettings->pCaFile, "cannot read the CA file", pErrorText,
                        errorTextSize)) ||
             ((pSettings->pCertFile != NULL) &&
              !readable(pSettings->pCertFile, "cannot read the certificate file", pErrorText,
                        errorTextSize)) ||
             ((pSettings->pKeyFile != NULL) &&
              !readable(pSettings->pKeyFile, "cannot read the key file", pErrorText,
                        errorTextSize)))
    {
        /* The error text is set. */
    }
    else
    {
        status = DEFENDER_SUCCESS;
        tls = (pSettings->pCaFile != NULL);
    }

    if (status == DEFENDER_SUCCESS)
    {
        (void) pthread_once(&libraryOnce, initLibrary);
        (void) memset(pConnection, 0, sizeof(*pConnection));
        (void) snprintf(pConnection->host, sizeof(pConnection->host), "%s", pSettings->pHost);
        /* Without a port: 443 with ALPN (AWS IoT Core takes MQTT with x-amzn-mqtt-ca on
         * 443, as defender-agent assumes), else 8883 with TLS, else 1883. */
        pConnection->port = (pSettings->port != 0U)      ? pSettings->port
                            : (pSettings->pAlpn != NULL) ? 443U
                            : tls                        ? 8883U
                                                         : 1883U;
        pConnection->keepAlive =
            (pSettings->keepAliveSeconds != 0U) ? pSettings->keepAliveSeconds : 60U;
        pConnection->backoffBaseMs =
            (pSettings->backoffBaseMs != 0U) ? pSettings->backoffBaseMs : 1000U;
        pConnection->backoffMaxMs =
            (pSettings->backoffMaxMs != 0U) ? pSettings->backoffMaxMs : 60000U;
        pConnection->pfLog = pSettings->pfLog;
        pConnection->pLogContext = pSettings->pLogContext;
        if (pConnection->backoffMaxMs < pConnection->backoffBaseMs)
        {
            pConnection->backoffMaxMs = pConnection->backoffBaseMs;
        }
        (void) pthread_mutex_init(&pConnection->mutex, NULL);
        {
            /* Back-off sleeps on the monotonic clock: a wall-clock step must not stretch them. */
            pthread_condattr_t attributes;
            (void) pthread_condattr_init(&attributes);
            (void) pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC);
            (void) pthread_cond_init(&pConnection->condition, &attributes);
            (void) pthread_condattr_destroy(&attributes);
        }

        pConnection->pClient = mosquitto_new(pSettings->pClientId, true, pConnection);
        if (pConnection->pClient == NULL)
        {
            setError(pErrorText, errorTextSize, "cannot create the MQTT client", strerror(errno));
            status = DEFENDER_ERROR;
        }
    }

    if (status == DEFENDER_SUCCESS)
    {
        (void) mosquitto_threaded_set(pConnection->pClient, true);
        (void) mosquitto_int_option(pConnection->pClient, MOSQ_OPT_PROTOCOL_VERSION,
                                    MQTT_PROTOCOL_V311);
        mosquitto_log_callback_set(pConnection->pClient, onLog);
        mosquitto_connect_v5_callback_set(pConnection->pClient, onConnect);
        mosquitto_disconnect_v5_callback_set(pConnection->pClient, onDisconnect);
        mosquitto_subscribe_v5_callback_set(pConnection->pClient, onSubscribe);
        mosquitto_message_v5_callback_set(pConnection->pClient, onMessage);
        mosquitto_unsubscribe_v5_callback_set(pConnection->pClient, onUnsubscribe);
        mosquitto_publish_v5_callback_set(pConnection->pClient, onPublish);
        if (tls)
        {
            rc = mosquitto_tls_set(pConnection->pClient, pSettings->pCaFile, NULL,
                                   pSettings->pCertFile, pSettings->pKeyFile, NULL);
            if ((rc == MOSQ_ERR_SUCCESS) && (pSettings->pAlpn != NULL))
            {
                rc = mosquitto_string_option(pConnection->pClient, MOSQ_OPT_TLS_ALPN,
                                             pSettings->pAlpn);
            }
            if (rc != MOSQ_ERR_SUCCESS)
            {
                setError(pErrorText, errorTextSize, "TLS set-up failed", mosquitto_strerror(rc));
                status = DEFENDER_BAD_PARAMETER;
            }
        }
    }

    if ((status != DEFENDER_SUCCESS) && (pConnection != NULL) && (pConnection->pClient != NULL))
    {
        mosquitto_destroy(pConnection->pClient);
        pConnection->pClient = NULL;
    }

    return status;
}

/** @brief DefenderMqttInterface_t::pfSubscribe. */
static DefenderMqttStatus_t subscribe(void *pContext, const char *pTopic, size_t topicLength)
{
    DefenderMosquitto_t *pConnection = pContext;
    DefenderMqttStatus_t status = DEFENDER_MQTT_FAILURE;
    size_t slot = DEFENDER_MOSQUITTO_PENDING_SUBSCRIPTIONS;
    size_t i;
    int mid = 0;
    int rc;

    (void) pthread_mutex_lock(&pConnection->mutex);
    for (i = 0U; i < DEFENDER_MOSQUITTO_PENDING_SUBSCRIPTIONS; i++)
    {
        if (pConnection->pending[i].topic[0] == '\0')
        {
            slot = i;
            break;
        }
    }
    if (!pConnection->connected)
    {
        status = DEFENDER_MQTT_NOT_CONNECTED;
    }
    else if ((slot < DEFENDER_MOSQUITTO_PENDING_SUBSCRIPTIONS) &&
             (topicLength < sizeof(pConnection->pending[0].topic)))
    {
        rc = mosquitto_subscribe(pConnection->pClient, &mid, pTopic, 1);
        if (rc == MOSQ_ERR_SUCCESS)
        {
            pConnection->pending[slot].mid = mid;
            (void) memcpy(pConnection->pending[slot].topic, pTopic, topicLength);
            pConnection->pending[slot].topic[topicLength] = '\0';
            status = DEFENDER_MQTT_PENDING;
        }
        else if (rc == MOSQ_ERR_NO_CONN)
        {
            status = DEFENDER_MQTT_NOT_CONNECTED;
        }
        else
        {
            /* Failure. */
        }
    }
    else
    {
        /* No free slot or topic too long: failure. */
    }
    (void) pthread_mutex_unlock(&pConnection->mutex);

    return status;
}

/** @brief DefenderMqttInterface_t::pfUnsubscribe. */
static DefenderMqttStatus_t unsubscribe(void *pContext, const char *pTopic, size_t topicLength)
{
    DefenderMosquitto_t *pConnection = pContext;
    DefenderMqttStatus_t status = DEFENDER_MQTT_FAILURE;

    (void) topicLength;
    /* Counted first: the UNSUBACK may come before mosquitto_unsubscribe() returns. */
    (void) pthread_mutex_lock(&pConnection->mutex);
    pConnection->unsubscribesAwaited++;
    (void) pthread_mutex_unlock(&pConnection->mutex);
    if (mosquitto_unsubscribe(pConnection->pClient, NULL, pTopic) == MOSQ_ERR_SUCCESS)
    {
        status = DEFENDER_MQTT_SUCCESS;
    }
    else
    {
        acknowledged(pConnection, &pConnection->unsubscribesAwaited);
    }

    return status;
}

/** @brief DefenderMqttInterface_t::pfPublish. */
static DefenderMqttStatus_t publish(void *pContext, const char *pTopic, size_t topicLength,
                                    const uint8_t *pPayload, size_t payloadLength)
{
    DefenderMosquitto_t *pConnection = pContext;
    DefenderMqttStatus_t status = DEFENDER_MQTT_FAILURE;
    bool connected;
    int rc;

    (void) topicLength;
    (void) pthread_mutex_lock(&pConnection->mutex);
    connected = pConnection->connected;
    (void) pthread_mutex_unlock(&pConnection->mutex);

    if (!connected)
    {
        status = DEFENDER_MQTT_NOT_CONNECTED;
    }
    else if (payloadLength <= (size_t) INT_MAX)
    {
        /* Counted first: the PUBACK may come before mosquitto_publish() returns. */
        (void) pthread_mutex_lock(&pConnection->mutex);
        pConnection->publishesAwaited++;
        (void) pthread_mutex_unlock(&pConnection->mutex);
        rc = mosquitto_publish(pConnection->pClient, NULL, pTopic, (int) payloadLength, pPayload, 1,
                               false);
        if (rc == MOSQ_ERR_SUCCESS)
        {
            status = DEFENDER_MQTT_SUCCESS;
        }
        else
        {
            acknowledged(pConnection, &pConnection->publishesAwaited);
            if (rc == MOSQ_ERR_NO_CONN)
            {
                status = DEFENDER_MQTT_NOT_CONNECTED;
            }
            else
            {
                logMessage(pConnection, DEFENDER_LOG_ERROR, "publish failed: %s",
                           mosquitto_strerror(rc));
            }
        }
    }
    else
    {
        /* Too large for MQTT. */
    }

    return status;
}

void DefenderMosquitto_GetInterface(DefenderMosquitto_t *pConnection,
                                    DefenderMqttInterface_t *pInterface)
{
    if ((pConnection != NULL) && (pInterface != NULL))
    {
        pInterface->pContext = pConnection;
        pInterface->pfSubscribe = subscribe;
        pInterface->pfPublish = publish;
        pInterface->pfUnsubscribe = unsubscribe;
    }
}

/**
 * @brief The monotonic time `ms` from now, for pthread_cond_timedwait on the connection's
 * condition (which runs on CLOCK_MONOTONIC).
 */
static void deadlineAfter(uint32_t ms, struct timespec *pDeadline)
{
    (void) clock_gettime(CLOCK_MONOTONIC, pDeadline);
    pDeadline->tv_sec += (time_t) (ms / 1000U);
    pDeadline->tv_nsec += (long) (ms % 1000U) * 1000000L;
    if (pDeadline->tv_nsec >= 1000000000L)
    {
        pDeadline->tv_sec++;
        pDeadline->tv_nsec -= 1000000000L;
    }
}

/**
 * @brief Sleeps up to `ms`, returning early when a stop is requested.
 * @return true when a stop was requested.
 */
static bool sleepUnlessStopped(DefenderMosquitto_t *pConnection, uint32_t ms)
{
    struct timespec deadline;
    bool stop;

    deadlineAfter(ms, &deadline);
    (void) pthread_mutex_lock(&pConnection->mutex);
    while (!pConnection->stopRequested &&
           (pthread_cond_timedwait(&pConnection->condition, &pConnection->mutex, &deadline) !=
            ETIMEDOUT))
    {
    }
    stop = pConnection->stopRequested;
    (void) pthread_mutex_unlock(&pConnection->mutex);

    return stop;
}

/** @brief The text of a libmosquitto error (errno's for MOSQ_ERR_ERRNO). */
static const char *failureReason(int rc)
{
    return (rc == MOSQ_ERR_ERRNO) ? strerror(errno) : mosquitto_strerror(rc);
}

/**
 * @brief Logs why an attempt failed and waits the back-off delay of the next one.
 * @param[in] pWhat "cannot reach" or "cannot resolve".
 * @param[in] pWhy The reason.
 * @return true on stop.
 */
static bool backOff(DefenderMosquitto_t *pConnection, const char *pWhat, const char *pWhy)
{
    uint64_t random = 0U;
    uint32_t delay;

    pConnection->attempt++;
    if (getrandom(&random, sizeof(random), 0) != (ssize_t) sizeof(random))
    {
        random = (uint64_t) time(NULL);
    }
    delay = DefenderMosquitto_BackoffMs(pConnection->attempt, pConnection->backoffBaseMs,
                                        pConnection->backoffMaxMs, random);
    logMessage(pConnection, DEFENDER_LOG_WARN, "%s %s:%u (%s); retrying in %u ms", pWhat,
               pConnection->host, (unsigned) pConnection->port, pWhy, (unsigned) delay);
    return sleepUnlessStopped(pConnection, delay);
}

/**
 * @brief A lookup of the broker's name, on a thread of its own. getaddrinfo() cannot be
 * interrupted, and when DNS does not answer it waits out the resolver's time-outs (tens of
 * seconds with several servers). The network thread waits for the lookup in slices and
 * gives up on a stop, leaving it to finish alone: a stop never waits for DNS. The two
 * threads share it; whichever is done with it last frees it. It holds nothing of the
 * connection's.
 */
typedef struct NameLookup
{
    pthread_mutex_t mutex;
    pthread_cond_t finishedCondition; /**< Signalled when the lookup ends (monotonic clock). */
    bool finished;
    int result;       /**< getaddrinfo()'s result. */
    int systemError;  /**< errno after it, for EAI_SYSTEM. */
    unsigned holders; /**< Threads still using it (2, then 1, then it is freed). */
    char host[256];   /**< The name looked up (a copy). */
} NameLookup_t;

/** @brief What came of looking the broker's name up. */
typedef enum LookupOutcome
{
    LOOKUP_CONNECT, /**< Resolved, or nothing to look up: connect now. */
    LOOKUP_FAILED,  /**< The name does not resolve now: back off. */
    LOOKUP_STOPPED  /**< A stop was requested during the lookup. */
} LookupOutcome_t;

/** @brief Frees a lookup no thread uses any more. */
static void freeLookup(NameLookup_t *pLookup)
{
    (void) pthread_cond_destroy(&pLookup->finishedCondition);
    (void) pthread_mutex_destroy(&pLookup->mutex);
    free(pLookup);
}

/** @brief Drops one thread's hold on a lookup; the last one frees it. */
static void releaseLookup(NameLookup_t *pLookup)
{
    bool last;

    (void) pthread_mutex_lock(&pLookup->mutex);
    pLookup->holders--;
    last = (pLookup->holders == 0U);
    (void) pthread_mutex_unlock(&pLookup->mutex);
    if (last)
    {
        freeLookup(pLookup);
    }
}

/** @brief The lookup thread: resolves the name as libmosquitto will (any family, TCP). */
static void *lookupThread(void *pArgument)
{
    NameLookup_t *pLookup = pArgument;
    struct addrinfo hints;
    struct addrinfo *pResult = NULL;
    int result;
    int systemError;

    (void) memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    result = getaddrinfo(pLookup->host, NULL, &hints, &pResult);
    systemError = errno;
    if (pResult != NULL)
    {
        freeaddrinfo(pResult);
    }

    (void) pthread_mutex_lock(&pLookup->mutex);
    pLookup->result = result;
    pLookup->systemError = systemError;
    pLookup->finished = true;
    (void) pthread_cond_signal(&pLookup->finishedCondition);
    (void) pthread_mutex_unlock(&pLookup->mutex);
    releaseLookup(pLookup);

    return NULL;
}

/** @brief Starts a detached lookup thread for `pHost`. @return The lookup, or NULL. */
static NameLookup_t *startLookup(const char *pHost)
{
    NameLookup_t *pLookup = calloc(1U, sizeof(*pLookup));
    pthread_condattr_t conditionAttributes;
    pthread_attr_t threadAttributes;
    pthread_t thread;
    bool started = false;

    if (pLookup != NULL)
    {
        (void) snprintf(pLookup->host, sizeof(pLookup->host), "%s", pHost);
        pLookup->holders = 2U;
        (void) pthread_mutex_init(&pLookup->mutex, NULL);
        (void) pthread_condattr_init(&conditionAttributes);
        (void) pthread_condattr_setclock(&conditionAttributes, CLOCK_MONOTONIC);
        (void) pthread_cond_init(&pLookup->finishedCondition, &conditionAttributes);
        (void) pthread_condattr_destroy(&conditionAttributes);
        if (pthread_attr_init(&threadAttributes) == 0)
        {
            started =
                (pthread_attr_setdetachstate(&threadAttributes, PTHREAD_CREATE_DETACHED) == 0) &&
                (pthread_create(&thread, &threadAttributes, lookupThread, pLookup) == 0);
            (void) pthread_attr_destroy(&threadAttributes);
        }
        if (!started)
        {
            freeLookup(pLookup);
            pLookup = NULL;
        }
    }

    return pLookup;
}

/** @brief Whether a stop was requested. */
static bool stopRequested(DefenderMosquitto_t *pConnection)
{
    bool stop;

    (void) pthread_mutex_lock(&pConnection->mutex);
    stop = pConnection->stopRequested;
    (void) pthread_mutex_unlock(&pConnection->mutex);
    return stop;
}

/**
 * @brief Looks the broker's name up before libmosquitto connects (which looks it up again,
 * at once after this one; an address needs no lookup), waiting until the lookup ends or a
 * stop is requested.
 * @param[in] pConnection Connection.
 * @param[out] pWhy Why the name does not resolve (LOOKUP_FAILED): a constant text, or one
 *             written to `pWhyBuffer`.
 * @param[out] pWhyBuffer Room for such a text.
 * @param[in] whySize Its size.
 * @return LOOKUP_CONNECT, LOOKUP_FAILED or LOOKUP_STOPPED.
 */
static LookupOutcome_t lookUpBroker(DefenderMosquitto_t *pConnection, const char **pWhy,
                                    char *pWhyBuffer, size_t whySize)
{
    struct in6_addr address;
    struct timespec deadline;
    NameLookup_t *pLookup = NULL;
    LookupOutcome_t outcome = LOOKUP_CONNECT;
    bool stop = false;

    if ((inet_pton(AF_INET, pConnection->host, &address) != 1) &&
        (inet_pton(AF_INET6, pConnection->host, &address) != 1))
    {
        /* Without a thread (no memory, thread limit), libmosquitto looks the name up
         * itself, as it always did: only a stop during that lookup is slow. */
        pLookup = startLookup(pConnection->host);
    }

    if (pLookup != NULL)
    {
        (void) pthread_mutex_lock(&pLookup->mutex);
        while (!pLookup->finished && !stop)
        {
            deadlineAfter(LOOKUP_SLICE_MS, &deadline);
            (void) pthread_cond_timedwait(&pLookup->finishedCondition, &pLookup->mutex, &deadline);
            if (!pLookup->finished)
            {
                (void) pthread_mutex_unlock(&pLookup->mutex);
                stop = stopRequested(pConnection);
                (void) pthread_mutex_lock(&pLookup->mutex);
            }
        }
        if (!pLookup->finished)
        {
            outcome = LOOKUP_STOPPED;
        }
        else if (pLookup->result != 0)
        {
            outcome = LOOKUP_FAILED;
            (void) snprintf(pWhyBuffer, whySize, "%s",
                            (pLookup->result == EAI_SYSTEM) ? strerror(pLookup->systemError)
                                                            : gai_strerror(pLookup->result));
            *pWhy = pWhyBuffer;
        }
        else
        {
            /* Resolved. */
        }
        (void) pthread_mutex_unlock(&pLookup->mutex);
        releaseLookup(pLookup);
    }

    return outcome;
}

/** @brief The network thread. */
static void *networkThread(void *pArgument)
{
    DefenderMosquitto_t *pConnection = pArgument;
    /* Half the keep-alive, so PINGREQs go out in time. */
    int loopTimeoutMs = ((uint32_t) pConnection->keepAlive * 500U < LOOP_TIMEOUT_MAX_MS)
                            ? (int) pConnection->keepAlive * 500
                            : LOOP_TIMEOUT_MAX_MS;
    bool haveSocket = false;
    bool stop = false;
    bool connected;
    LookupOutcome_t lookup;
    const char *pWhy = NULL;
    char why[128];
    int rc;
    int i;

    while (!stop)
    {
        if (!haveSocket)
        {
            lookup = lookUpBroker(pConnection, &pWhy, why, sizeof(why));
            if (lookup == LOOKUP_STOPPED)
            {
                stop = true;
            }
            else if (lookup == LOOKUP_FAILED)
            {
                stop = backOff(pConnection, "cannot resolve", pWhy);
            }
            else
            {
                /* The first call gives libmosquitto the broker; later ones reuse it. */
                rc = !pConnection->connectCalled
                         ? mosquitto_connect_async(pConnection->pClient, pConnection->host,
                                                   pConnection->port, pConnection->keepAlive)
                         : mosquitto_reconnect_async(pConnection->pClient);
                pConnection->connectCalled = true;
                if (rc == MOSQ_ERR_SUCCESS)
                {
                    haveSocket = true;
                }
                else
                {
                    stop = backOff(pConnection, "cannot reach", failureReason(rc));
                }
            }
        }
        else
        {
            rc = mosquitto_loop(pConnection->pClient, loopTimeoutMs, 1);
            if (rc != MOSQ_ERR_SUCCESS)
            {
                haveSocket = false;
                onDisconnect(pConnection->pClient, pConnection, rc, NULL);
                if (!pConnection->stopRequested)
                {
                    stop = backOff(pConnection, "cannot reach", failureReason(rc));
                }
            }
        }
        stop = stop || stopRequested(pConnection);
    }

    if (haveSocket)
    {
        (void) pthread_mutex_lock(&pConnection->mutex);
        connected = pConnection->connected;
        (void) pthread_mutex_unlock(&pConnection->mutex);
        /* Queued already by DefenderMosquitto_Deinit(), unless the loop returned before. */
        (void) mosquitto_disconnect(pConnection->pClient);
        /* Let the DISCONNECT packet go out: libmosquitto closes the socket once it is
         * written (TLS: after its close_notify). Not connected yet, one try is enough. */
        for (i = 0; (i == 0) || (connected && (i < DISCONNECT_LOOPS) &&
                                 (mosquitto_socket(pConnection->pClient) >= 0));
             i++)
        {
            (void) mosquitto_loop(pConnection->pClient, 10, 1);
        }
        onDisconnect(pConnection->pClient, pConnection, 0, NULL);
    }

    return NULL;
}

DefenderStatus_t DefenderMosquitto_Start(DefenderMosquitto_t *pConnection,
                                         DefenderRunner_t *pRunner)
{
    DefenderStatus_t status = DEFENDER_BAD_PARAMETER;

    if ((pConnection != NULL) && (pRunner != NULL) && (pConnection->pClient != NULL))
    {
        status = DEFENDER_ALREADY_STARTED;
        if (!pConnection->threadRunning)
        {
            pConnection->pRunner = pRunner;
            pConnection->stopRequested = false;
            status = (pthread_create(&pConnection->thread, NULL, networkThread, pConnection) == 0)
                         ? DEFENDER_SUCCESS
                         : DEFENDER_ERROR;
            pConnection->threadRunning = (status == DEFENDER_SUCCESS);
        }
    }

    return status;
}

/** @brief true while the broker owes an acknowledgement on this connection. */
static bool acknowledgementsDue(const DefenderMosquitto_t *pConnection)
{
    bool due = (pConnection->unsubscribesAwaited > 0U) || (pConnection->publishesAwaited > 0U);
    size_t i;

    for (i = 0U; (i < DEFENDER_MOSQUITTO_PENDING_SUBSCRIPTIONS) && !due; i++)
    {
        due = (pConnection->pending[i].topic[0] != '\0');
    }
    return due;
}

/**
 * @brief Waits, while connected, until the broker has acknowledged everything sent
 * (at most DEFENDER_MOSQUITTO_DRAIN_MS). libmosquitto takes any packet that arrives
 * after mosquitto_disconnect() for a protocol error and closes the socket without
 * writing the queued DISCONNECT (and, with the UNSUBACK unread, the close resets the
 * connection): the broker then logs a lost connection ("Protocol error" over TLS).
 */
static void drain(DefenderMosquitto_t *pConnection)
{
    struct timespec deadline;

    deadlineAfter(DEFENDER_MOSQUITTO_DRAIN_MS, &deadline);
    (void) pthread_mutex_lock(&pConnection->mutex);
    while (pConnection->connected && acknowledgementsDue(pConnection) &&
           (pthread_cond_timedwait(&pConnection->condition, &pConnection->mutex, &deadline) !=
            ETIMEDOUT))
    {
    }
    (void) pthread_mutex_unlock(&pConnection->mutex);
}

void DefenderMosquitto_Deinit(DefenderMosquitto_t *pConnection)
{
    if ((pConnection != NULL) && (pConnection->pClient != NULL))
    {
        if (pConnection->threadRunning)
        {
            drain(pConnection);
            (void) pthread_mutex_lock(&pConnection->mutex);
            pConnection->stopRequested = true;
            (void) pthread_cond_broadcast(&pConnection->condition);
            (void) pthread_mutex_unlock(&pConnection->mutex);
            /* Queuing the DISCONNECT wakes the network loop at once. */
            (void) mosquitto_disconnect(pConnection->pClient);
            (void) pthread_join(pConnection->thread, NULL);
            pConnection->threadRunning = false;
        }
        mosquitto_destroy(pConnection->pClient);
        pConnection->pClient = NULL;
        (void) pthread_cond_destroy(&pConnection->condition);
        (void) pthread_mutex_destroy(&pConnection->mutex);
    }
}
