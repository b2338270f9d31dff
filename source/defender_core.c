/**
 * @file defender_core.c
 * @brief The agent's state machine: schedule, report ids, subscriptions, responses.
 *
 * Protocol spec section 10. No heap, no OS calls: time comes from the clock
 * interface, messages from Defender_OnMessage(), and reports leave through the MQTT
 * interface, only from Defender_Process().
 */
#include <stddef.h>
#include <string.h>

#include "defender_core.h"

/** @brief 2020-01-01T00:00:00Z in Unix ms: wall-clock readings before it mean "not set". */
#define WALL_CLOCK_VALID_MS 1577836800000ULL

/** @brief Largest report id and delta value (2^63-1). */
#define MAX_INT63 0x7FFFFFFFFFFFFFFFULL

/** @brief Period below which a warning is logged (the rate AWS guarantees to accept). */
#define RECOMMENDED_PERIOD_SECONDS 300U

/** @brief The two error texts are next to each other, in the same order, in a response and
 * in the report information: applyResponse copies them with one call. */
typedef char DefenderErrorTextsAdjacent_t[((offsetof(DefenderReportInfo_t, errorMessage) ==
                                            (offsetof(DefenderReportInfo_t, errorCode) +
                                             sizeof(((DefenderReportInfo_t *) 0)->errorCode))) &&
                                           (offsetof(DefenderResponse_t, errorMessage) ==
                                            (offsetof(DefenderResponse_t, errorCode) +
                                             sizeof(((DefenderResponse_t *) 0)->errorCode))) &&
                                           (sizeof(((DefenderReportInfo_t *) 0)->errorMessage) ==
                                            sizeof(((DefenderResponse_t *) 0)->errorMessage)))
                                              ? 1
                                              : -1];

/** @brief Index of the accepted / rejected subscription. */
#define SUB_ACCEPTED 0U
#define SUB_REJECTED 1U

#if DEFENDER_CONFIG_ENABLE_LOGGING
/** @brief Logs a constant message through the context's log callback. */
#define LOG(pCtx, level, msg) logMessage((pCtx), (level), (msg))
/** @brief Logs what became of a report, unless the application takes the report events
 * (pfReport): it then logs them itself, with the details (id, codes, reason). */
#define LOG_REPORT_EVENT(pCtx, level, msg)                                                         \
    do                                                                                             \
    {                                                                                              \
        if ((pCtx)->interfaces.pfReport == NULL)                                                   \
        {                                                                                          \
            logMessage((pCtx), (level), (msg));                                                    \
        }                                                                                          \
    } while (0)

/**
 * @brief Passes a message to the log callback, if any.
 * @param[in] pContext Agent.
 * @param[in] level Level.
 * @param[in] pMessage Constant text.
 */
static void logMessage(const DefenderContext_t *pContext, DefenderLogLevel_t level,
                       const char *pMessage)
{
    if (pContext->interfaces.pfLog != NULL)
    {
        pContext->interfaces.pfLog(pContext->interfaces.pCallbackContext, level, pMessage);
    }
}
#else
#define LOG(pCtx, level, msg)
#define LOG_REPORT_EVENT(pCtx, level, msg)
#endif

/**
 * @brief Reads the monotonic clock.
 * @param[in] pContext Agent.
 * @return Milliseconds.
 */
static uint32_t nowMs(const DefenderContext_t *pContext)
{
    /* Times are kept modulo 2^32 ms and compared with reached(): 32-bit arithmetic is
     * much smaller on 32-bit MCUs, and periods stay below 2^31 ms. */
    return (uint32_t) pContext->interfaces.clock.pfMonotonicMs(pContext->interfaces.clock.pContext);
}

/**
 * @brief Whether the wall clock gives a usable time now (10.2: from 2020 on).
 * @param[in] pContext Agent.
 * @return true when it does.
 */
static bool wallClockValid(const DefenderContext_t *pContext)
{
    const DefenderClockInterface_t *pClock = &pContext->interfaces.clock;

    return (pClock->pfWallClockMs != NULL) &&
           (pClock->pfWallClockMs(pClock->pContext) >= WALL_CLOCK_VALID_MS);
}

/**
 * @brief Whether time `t` has come at `now` (both modulo 2^32 ms, less than 2^31 apart).
 * @param[in] now Current time.
 * @param[in] t Time of interest.
 * @return true when now >= t.
 */
static bool reached(uint32_t now, uint32_t t)
{
    return (now - t) < 0x80000000UL;
}

/**
 * @brief The shorter of a wait and the time until `t`.
 * @param[in] wait Current wait in ms.
 * @param[in] now Current time.
 * @param[in] t Time of interest (0 ms wait if reached).
 * @return Shorter wait.
 */
static uint32_t shorter(uint32_t wait, uint32_t now, uint32_t t)
{
    uint32_t until = reached(now, t) ? 0U : (t - now);
    return (until < wait) ? until : wait;
}

/**
 * @brief The later of two times (less than 2^31 ms apart).
 * @param[in] a A time.
 * @param[in] b Another.
 * @return The later one.
 */
static uint32_t later(uint32_t a, uint32_t b)
{
    return reached(a, b) ? a : b;
}

/**
 * @brief Schedules the next report one period after `base`, but never earlier than a
 * Throttled postponement (10.5).
 * @param[in,out] pContext Agent.
 * @param[in] base Time of the last attempt.
 */
static void scheduleAfter(DefenderContext_t *pContext, uint32_t base)
{
    uint32_t next = base + (pContext->settings.periodSeconds * 1000U);

    pContext->nextReportMs = (pContext->throttled && !reached(next, pContext->throttledUntilMs))
                                 ? pContext->throttledUntilMs
                                 : next;
}

/**
 * @brief Reports an event to the application callback, if any.
 * @param[in] pContext Agent.
 * @param[in] event What happened to the latest report.
 */
static void notify(const DefenderContext_t *pContext, DefenderReportEvent_t event)
{
    if (pContext->interfaces.pfReport != NULL)
    {
        pContext->interfaces.pfReport(pContext->interfaces.pCallbackContext, event,
                                      &pContext->last);
    }
}

/**
 * @brief The period in ms.
 * @param[in] pContext Agent.
 * @return Period.
 */
static uint32_t periodMs(const DefenderContext_t *pContext)
{
    return pContext->settings.periodSeconds * 1000U;
}

/**
 * @brief The acknowledgement wait in ms: the timeout, never longer than the period.
 * @param[in] pContext Agent.
 * @return Wait.
 */
static uint32_t ackWaitMs(const DefenderContext_t *pContext)
{
    uint32_t wait = pContext->settings.ackTimeoutMs;
    return (wait < periodMs(pContext)) ? wait : periodMs(pContext);
}

/**
 * @brief Checks a period against the build's minimum, logging short periods.
 * @param[in] pContext Agent (for the log), may not be initialised beyond interfaces.
 * @param[in] periodSeconds Period.
 * @return DEFENDER_SUCCESS or DEFENDER_PERIOD_TOO_SHORT.
 */
static DefenderStatus_t checkPeriod(const DefenderContext_t *pContext, uint32_t periodSeconds)
{
    DefenderStatus_t status = DEFENDER_PERIOD_TOO_SHORT;

    if (periodSeconds > DEFENDER_MAX_PERIOD_SECONDS)
    {
        status = DEFENDER_BAD_PARAMETER;
    }
    else if (periodSeconds >= DEFENDER_CONFIG_MIN_PERIOD_SECONDS)
    {
        status = DEFENDER_SUCCESS;
        if (periodSeconds < RECOMMENDED_PERIOD_SECONDS)
        {
            LOG(pContext, DEFENDER_LOG_WARN,
                "report period under 300 s: the service is not guaranteed to accept reports "
                "faster than every 300 s and may throttle them");
        }
    }

    (void) pContext;
    return status;
}

void Defender_DefaultSettings(DefenderSettings_t *pSettings)
{
    if (pSettings != NULL)
    {
        (void) memset(pSettings, 0, sizeof(*pSettings));
        /* JSON unless the build has CBOR only (DEFENDER_CONFIG_FORMAT_JSON 0). */
        pSettings->format =
            (DEFENDER_CONFIG_FORMAT_JSON == 1) ? DEFENDER_FORMAT_JSON : DEFENDER_FORMAT_CBOR;
        pSettings->keys = DEFENDER_KEYS_SHORT;
        pSettings->metrics = DEFENDER_METRIC_ALL;
        pSettings->periodSeconds = DEFENDER_CONFIG_DEFAULT_PERIOD_SECONDS;
        pSettings->ackTimeoutMs = DEFENDER_CONFIG_DEFAULT_ACK_TIMEOUT_MS;
        pSettings->maxListEntries = (uint16_t) DEFENDER_CONFIG_MAX_LIST_ENTRIES;
    }
}

DefenderStatus_t Defender_Init(DefenderContext_t *pContext, const DefenderSettings_t *pSettings,
                               const DefenderInterfaces_t *pInterfaces)
{
    DefenderStatus_t status = DEFENDER_BAD_PARAMETER;

    if ((pContext != NULL) && (pSettings != NULL) && (pInterfaces != NULL) &&
        (pInterfaces->mqtt.pfSubscribe != NULL) && (pInterfaces->mqtt.pfPublish != NULL) &&
        (pInterfaces->clock.pfMonotonicMs != NULL) &&
        /* NULL, empty and names over DEFENDER_CONFIG_MAX_THING_NAME_LENGTH are invalid. */
        Defender_ThingNameValid(pSettings->pThingName, pSettings->thingNameLength) &&
        DEFENDER_FORMAT_SUPPORTED(pSettings->format) && (pSettings->keys <= DEFENDER_KEYS_SHORT) &&
        ((pSettings->metrics & ~DEFENDER_METRIC_ALL) == 0U) &&
        ((pSettings->metrics == 0U) || (pInterfaces->metricsSource.pfCollect != NULL)) &&
        (pSettings->maxListEntries >= 1U) &&
        (pSettings->maxListEntries <= DEFENDER_CONFIG_MAX_LIST_ENTRIES) &&
        (pSettings->ackTimeoutMs > 0U) && (pSettings->pReportBuffer != NULL) &&
        (pSettings->reportBufferSize > 0U) &&
        ((pInterfaces->store.pfLoadLastReportId == NULL) ==
         (pInterfaces->store.pfSaveLastReportId == NULL)))
    {
        (void) memset(pContext, 0, sizeof(*pContext));
        pContext->interfaces = *pInterfaces;
        pContext->settings = *pSettings;
        /* Terminated by the zeroing above (the name is at most
         * DEFENDER_CONFIG_MAX_THING_NAME_LENGTH bytes long). */
        (void) memcpy(pContext->thingName, pSettings->pThingName, pSettings->thingNameLength);
        pContext->settings.pThingName = pContext->thingName;
        pContext->last.status = eDefenderRepInit;
        status = checkPeriod(pContext, pSettings->periodSeconds);
    }

    return status;
}

DefenderStatus_t Defender_SetMetrics(DefenderContext_t *pContext, uint32_t metrics)
{
    DefenderStatus_t status = DEFENDER_BAD_PARAMETER;

    if ((pContext != NULL) && ((metrics & ~DEFENDER_METRIC_ALL) == 0U) &&
        ((metrics == 0U) || (pContext->interfaces.metricsSource.pfCollect != NULL)))
    {
        status = DEFENDER_ALREADY_STARTED;
        if (pContext->state == DEFENDER_STATE_STOPPED)
        {
            pContext->settings.metrics = metrics;
            status = DEFENDER_SUCCESS;
        }
    }

    return status;
}

DefenderStatus_t Defender_SetPeriod(DefenderContext_t *pContext, uint32_t periodSeconds)
{
    DefenderStatus_t status = DEFENDER_BAD_PARAMETER;
    uint32_t now;

    if (pContext != NULL)
    {
        status = checkPeriod(pContext, periodSeconds);
        if (status == DEFENDER_SUCCESS)
        {
            pContext->settings.periodSeconds = periodSeconds;
            now = nowMs(pContext);
            if ((pContext->state != DEFENDER_STATE_STOPPED) && pContext->firstReportDone &&
                !reached(now, pContext->nextReportMs))
            {
                /* The next report is due one (new) period after the last attempt (which is
                 * then less than a period ago); a report already due stays due. */
                scheduleAfter(pContext, pContext->lastAttemptMs);
            }
            if (pContext->notSentRecorded &&
                !reached(now + (periodSeconds * 1000U), pContext->notSentUntilMs))
            {
                /* A blocked report: NotSent and the subscription retry once per new period. */
                pContext->notSentUntilMs = now + (periodSeconds * 1000U);
            }
        }
    }

    return status;
}

DefenderStatus_t Defender_SetAckTimeout(DefenderContext_t *pContext, uint32_t timeoutMs)
{
    DefenderStatus_t status = DEFENDER_BAD_PARAMETER;

    if ((pContext != NULL) && (timeoutMs > 0U))
    {
        pContext->settings.ackTimeoutMs = timeoutMs;
        status = DEFENDER_SUCCESS;
    }

    return status;
}

/**
 * @brief Length of a NUL-terminated string, at most `limit + 1`.
 * @param[in] pText Text.
 * @param[in] limit Longest length of interest.
 * @return Length, or limit + 1 when longer.
 */
static size_t boundedLength(const char *pText, size_t limit)
{
    size_t length = 0U;

    while ((length <= limit) && (pText[length] != '\0'))
    {
        length++;
    }

    return length;
}

DefenderStatus_t Defender_AddCustomMetric(DefenderContext_t *pContext,
                                          const DefenderCustomMetric_t *pMetric)
{
    DefenderStatus_t status = DEFENDER_BAD_PARAMETER;
    size_t i;
    size_t length = 0U;

    if ((pContext != NULL) && (pMetric != NULL) && (pMetric->pName != NULL) &&
        (pMetric->pfRead != NULL) && (pMetric->type <= DEFENDER_CUSTOM_IP_LIST))
    {
        length = boundedLength(pMetric->pName, 128U);
        if (DEFENDER_CONFIG_MAX_CUSTOM_METRICS == 0U)
        {
            /* A build without custom metrics: no room for any (and no code for them). */
            status = DEFENDER_TOO_MANY;
        }
        else if (Defender_CustomMetricNameValid(pMetric->pName, length))
        {
            status = DEFENDER_SUCCESS;
        }
        else
        {
            /* Invalid name. */
        }
    }

    if (status == DEFENDER_SUCCESS)
    {
        if (pContext->state != DEFENDER_STATE_STOPPED)
        {
            status = DEFENDER_ALREADY_STARTED;
        }
        else
        {
            for (i = 0U; i < pContext->customMetricCount; i++)
            {
                if (strcmp(pContext->customMetrics[i].pName, pMetric->pName) == 0)
                {
                    status = DEFENDER_DUPLICATE;
                }
            }
        }
    }

#if DEFENDER_CONFIG_MAX_CUSTOM_METRICS > 0
    if (status == DEFENDER_SUCCESS)
    {
        if (pContext->customMetricCount >= DEFENDER_CONFIG_MAX_CUSTOM_METRICS)
        {
            status = DEFENDER_TOO_MANY;
        }
        else
        {
            pContext->customMetrics[pContext->customMetricCount] = *pMetric;
            pContext->customMetricCount++;
        }
    }
#endif

    return status;
}

/**
 * @brief Builds one of this agent's topics.
 * @param[in] pContext Agent.
 * @param[in] kind Report, accepted or rejected.
 * @param[out] pBuffer Buffer of DEFENDER_TOPIC_BUFFER_SIZE bytes.
 * @return Length of the topic (0 on failure, which valid settings exclude).
 */
static size_t buildTopic(const DefenderContext_t *pContext, DefenderTopicKind_t kind, char *pBuffer)
{
    size_t length = 0U;

    if (Defender_GetTopic(pBuffer, DEFENDER_TOPIC_BUFFER_SIZE, pContext->thingName,
                          pContext->settings.thingNameLength, pContext->settings.format, kind,
                          &length) != DEFENDER_SUCCESS)
    {
        length = 0U;
    }

    return length;
}

/**
 * @brief Finds which of this agent's response topics a topic is.
 * @param[in] pContext Agent.
 * @param[in] pTopic Topic.
 * @param[in] topicLength Its length.
 * @return SUB_ACCEPTED, SUB_REJECTED, or 2 when it is neither.
 */
static size_t responseTopicIndex(const DefenderContext_t *pContext, const char *pTopic,
                                 size_t topicLength)
{
    char topic[DEFENDER_TOPIC_BUFFER_SIZE];
    size_t i = 0U;

    while ((i < 2U) && ((buildTopic(pContext, (DefenderTopicKind_t) (DEFENDER_TOPIC_ACCEPTED + i),
                                    topic) != topicLength) ||
                        (memcmp(topic, pTopic, topicLength) != 0)))
    {
        i++;
    }

    return i;
}

DefenderStatus_t Defender_Start(DefenderContext_t *pContext)
{
    DefenderStatus_t status = DEFENDER_BAD_PARAMETER;
    uint64_t stored = 0U;
    const DefenderStoreInterface_t *pStore;
    const DefenderClockInterface_t *pClock;
    uint32_t now;

    if (pContext != NULL)
    {
        status = DEFENDER_ALREADY_STARTED;
        pStore = &pContext->interfaces.store;
        pClock = &pContext->interfaces.clock;
        if (pContext->state == DEFENDER_STATE_STOPPED)
        {
            if (!pContext->lastReportIdLoaded)
            {
                /* Tried again at each Start until the store reads (none stored yet, or an
                 * error). The largest id is never used, so that ids can still increase. */
                if ((pStore->pfLoadLastReportId != NULL) &&
                    pStore->pfLoadLastReportId(pStore->pContext, &stored))
                {
                    pContext->lastReportIdLoaded = true;
                    if ((stored < MAX_INT63) && (stored > pContext->lastReportId))
                    {
                        pContext->lastReportId = stored;
                    }
                }
                else if ((pContext->lastReportId == 0U) && !wallClockValid(pContext) &&
                         (pClock->pfRandom != NULL))
                {
                    /* No id known and no wall clock to start from (10.2): an id from 1 would
                     * repeat the previous run's. Seed from the random source, leaving room
                     * for a long life of increments. */
                    pContext->lastReportId = pClock->pfRandom(pClock->pContext) >> 2;
                }
                else
                {
                    /* Ids start from the wall clock (or continue this run's). */
                }
            }

            /* The first report goes out now, unless a Throttled postponement from before
             * a Stop is still running (10.5): it is at most its own period ahead (the one
             * it was set with: a period changed since does not shorten it), so a time that
             * only looks ahead after weeks of stop (32-bit wrap) is dropped. */
            now = nowMs(pContext);
            /* Still ahead (by 1 ms or more) and by at most the span (under 2^31 ms). */
            pContext->throttled = pContext->throttled && ((pContext->throttledUntilMs - now - 1U) <
                                                          pContext->throttledSpanMs);
            pContext->nextReportMs = pContext->throttled ? pContext->throttledUntilMs : now;
            pContext->notSentRecorded = false;
            pContext->firstReportDone = false;
            pContext->latestAwaitingLate = false;
            pContext->haveBaseline = false;
            pContext->subscriptions[SUB_ACCEPTED] = DEFENDER_SUB_NONE;
            pContext->subscriptions[SUB_REJECTED] = DEFENDER_SUB_NONE;
            (void) memset(&pContext->last, 0, sizeof(pContext->last));
            pContext->last.status = eDefenderRepInit;
            pContext->state = DEFENDER_STATE_WAITING;
            status = DEFENDER_SUCCESS;
        }
    }

    return status;
}

DefenderStatus_t Defender_Stop(DefenderContext_t *pContext)
{
    DefenderStatus_t status = DEFENDER_BAD_PARAMETER;
    char topic[DEFENDER_TOPIC_BUFFER_SIZE];
    size_t i;

    if (pContext != NULL)
    {
        status = DEFENDER_NOT_STARTED;
        if (pContext->state != DEFENDER_STATE_STOPPED)
        {
            for (i = 0U; i < 2U; i++)
            {
                if (pContext->connected && (pContext->interfaces.mqtt.pfUnsubscribe != NULL))
                {
                    (void) pContext->interfaces.mqtt.pfUnsubscribe(
                        pContext->interfaces.mqtt.pContext, topic,
                        buildTopic(pContext, (DefenderTopicKind_t) (DEFENDER_TOPIC_ACCEPTED + i),
                                   topic));
                }
                pContext->subscriptions[i] = DEFENDER_SUB_NONE;
            }
            pContext->state = DEFENDER_STATE_STOPPED;
            pContext->latestAwaitingLate = false;
            status = DEFENDER_SUCCESS;
        }
    }

    return status;
}

bool Defender_IsStarted(const DefenderContext_t *pContext)
{
    return (pContext != NULL) && (pContext->state != DEFENDER_STATE_STOPPED);
}

/**
 * @brief Requests the response subscriptions that are missing.
 * @param[in,out] pContext Agent.
 * @param[in] retryFailed Also retry subscriptions the broker refused.
 */
static void subscribe(DefenderContext_t *pContext, bool retryFailed)
{
    char topic[DEFENDER_TOPIC_BUFFER_SIZE];
    size_t length;
    size_t i;
    DefenderMqttStatus_t result;
    DefenderSubscriptionState_t *pState;

    for (i = 0U; (i < 2U) && pContext->connected; i++)
    {
        pState = &pContext->subscriptions[i];
        if ((*pState == DEFENDER_SUB_NONE) || (retryFailed && (*pState == DEFENDER_SUB_FAILED)))
        {
            length =
                buildTopic(pContext, (DefenderTopicKind_t) (DEFENDER_TOPIC_ACCEPTED + i), topic);
            /* Mark pending first: a port may report the result from inside the call. */
            *pState = DEFENDER_SUB_PENDING;
            result = pContext->interfaces.mqtt.pfSubscribe(pContext->interfaces.mqtt.pContext,
                                                           topic, length);
            if (result == DEFENDER_MQTT_SUCCESS)
            {
                *pState = DEFENDER_SUB_GRANTED;
            }
            else if (result == DEFENDER_MQTT_NOT_CONNECTED)
            {
                *pState = DEFENDER_SUB_NONE;
                pContext->connected = false;
            }
            else if (result == DEFENDER_MQTT_FAILURE)
            {
                *pState = DEFENDER_SUB_FAILED;
                LOG(pContext, DEFENDER_LOG_ERROR, "subscription to a response topic failed");
            }
            else
            {
                /* PENDING, or already reported through Defender_OnSubscribeResult(). */
            }
        }
    }
}

/**
 * @brief Records that a report could not be sent.
 * @param[in,out] pContext Agent.
 * @param[in] reason Why.
 */
static void recordNotSent(DefenderContext_t *pContext, DefenderNotSentReason_t reason)
{
    pContext->last.status = eDefenderRepNotSent;
    pContext->last.notSentReason = reason;
    pContext->last.errorCode[0] = '\0';
    pContext->last.errorMessage[0] = '\0';
    pContext->latestAwaitingLate = false;
    pContext->counters.reportsNotSent++;
    LOG_REPORT_EVENT(pContext, DEFENDER_LOG_WARN, "report not sent");
    notify(pContext, DEFENDER_EVENT_NOT_SENT);
}

/**
 * @brief Picks the next report id: max(last + 1, wall clock ms) (spec 10.2).
 * @param[in] pContext Agent.
 * @return The id (1..2^63-1).
 */
static uint64_t nextReportId(const DefenderContext_t *pContext)
{
    uint64_t id = pContext->lastReportId + 1U;
    uint64_t wall = 0U;

    if (pContext->interfaces.clock.pfWallClockMs != NULL)
    {
        wall = pContext->interfaces.clock.pfWallClockMs(pContext->interfaces.clock.pContext);
    }
    if ((wall >= WALL_CLOCK_VALID_MS) && (wall > id) && (wall <= MAX_INT63))
    {
        id = wall;
    }
    if (id > MAX_INT63)
    {
        /* Cannot happen in practice (2^63 ms is 292 million years). */
        id = MAX_INT63;
    }

    return id;
}

/**
 * @brief Collects one group through the metrics source into a sink.
 * @param[in,out] pContext Agent.
 * @param[out] pSink Sink (initialised here).
 * @param[in] group One DEFENDER_METRIC_* bit.
 * @param[in] pHead Head array (interface counters for network statistics).
 * @param[in] pWindow Window array (NULL for network statistics).
 * @param[in] capacity Entries per array.
 * @param[in] expectedTotal Entries found by the previous collection (0: unknown).
 * @return Entries kept (listed), or SIZE_MAX when the source failed or cannot measure
 *         the group.
 */
static size_t collect(DefenderContext_t *pContext, DefenderMetricsSink_t *pSink,
                      DefenderMetricGroup_t group, void *pHead, void *pWindow, size_t capacity,
                      uint64_t expectedTotal)
{
    size_t count = SIZE_MAX;
    DefenderSourceStatus_t result;

    Defender_SinkInit(pSink, group, pHead, pWindow, capacity, pContext->reportNumber,
                      expectedTotal);
    result = pContext->interfaces.metricsSource.pfCollect(
        pContext->interfaces.metricsSource.pContext, group, pSink);
    if (result == DEFENDER_SOURCE_OK)
    {
        count = Defender_SinkFinish(pSink);
    }
    else if (result != DEFENDER_SOURCE_UNSUPPORTED)
    {
        pContext->counters.sourceErrors++;
        LOG(pContext, DEFENDER_LOG_ERROR, "metrics source failed to collect a metric group");
    }
    else
    {
        /* The source cannot measure this group (an lwIP build without interface
         * counters): the group is left out of every report, which is no error. */
    }

    return count;
}

/**
 * @brief Adds the deltas of one interface's four counters to the sums (PD-25).
 *
 * The counters of DefenderInterfaceCounters_t and DefenderNetworkStats_t are four
 * consecutive uint64_t members in the same order (bytes in/out, packets in/out).
 * @param[in] pNow Current counters.
 * @param[in] pBefore Baseline counters (NULL for a new interface: counts from zero).
 * @param[in,out] pStats Sums, at most 2^63-1 (they start at 0); clamped there.
 */
static void addDeltas(const DefenderInterfaceCounters_t *pNow,
                      const DefenderInterfaceCounters_t *pBefore, DefenderNetworkStats_t *pStats)
{
    const uint64_t *pNowCounter = &pNow->bytesIn;
    const uint64_t *pBeforeCounter = (pBefore != NULL) ? &pBefore->bytesIn : NULL;
    uint64_t *pSum = &pStats->bytesIn;
    uint64_t before;
    uint64_t delta;
    uint64_t sum;
    size_t i;

    for (i = 0U; i < 4U; i++)
    {
        before = (pBeforeCounter != NULL) ? pBeforeCounter[i] : 0U;
        delta = pNowCounter[i] - before;
        if (pNow->counterBits == 32U)
        {
            delta &= 0xFFFFFFFFULL;
        }
        else if (pNowCounter[i] < before)
        {
            /* A counter that went backwards (reset, re-created interface) counts from 0. */
            delta = pNowCounter[i];
        }
        else
        {
            /* The plain difference. */
        }
        /* The sum is at most 2^63-1 before the addition: with a delta of at most as much the
         * addition cannot wrap, and a result past 2^63-1 has its top bit set. */
        sum = pSum[i] + delta;
        pSum[i] = (((sum | delta) >> 63) != 0U) ? MAX_INT63 : sum;
    }
}

/**
 * @brief Keeps the interface counters just collected and sums their deltas since the
 * baseline.
 * @param[in,out] pContext Agent (interfacesNow holds the counters).
 * @param[in] pSink The sink they were collected with.
 * @param[in] count Interfaces kept.
 * @param[out] pStats Deltas (zero when there is no baseline yet).
 */
static void sumNetworkStats(DefenderContext_t *pContext, const DefenderMetricsSink_t *pSink,
                            size_t count, DefenderNetworkStats_t *pStats)
{
    const DefenderInterfaceCounters_t *pNow;
    const DefenderInterfaceCounters_t *pBefore;
    size_t i;
    size_t j;

    pContext->interfacesNow.count = count;
    pContext->interfacesNow.complete = (pSink->interfacesDropped == 0U);
    pContext->counters.interfacesDropped += pSink->interfacesDropped;
    for (i = 0U; (i < count) && pContext->haveBaseline; i++)
    {
        pNow = &pContext->interfacesNow.entries[i];
        if (!pNow->isLoopback || pContext->settings.includeLoopback)
        {
            /* New interfaces count from zero; vanished ones contribute nothing. One
             * missing from a baseline that had no room for all interfaces may have
             * been left out of it: it contributes nothing either, rather than its
             * whole lifetime's counters at once. */
            pBefore = NULL;
            for (j = 0U; j < pContext->baseline.count; j++)
            {
                if (strncmp(pContext->baseline.entries[j].name, pNow->name,
                            DEFENDER_INTERFACE_NAME_SIZE) == 0)
                {
                    pBefore = &pContext->baseline.entries[j];
                }
            }
            if ((pBefore != NULL) || pContext->baseline.complete)
            {
                addDeltas(pNow, pBefore, pStats);
            }
        }
    }
}

/**
 * @brief Reads and validates the custom metrics.
 * @param[in,out] pContext Agent.
 * @param[out] pValues Array of DEFENDER_CONFIG_MAX_CUSTOM_METRICS + 1 entries.
 * @return Number of values.
 */
static size_t collectCustomMetrics(DefenderContext_t *pContext,
                                   DefenderCustomMetricValue_t *pValues)
{
    size_t count = 0U;
    size_t i;
    const DefenderCustomMetric_t *pMetric;
    DefenderCustomMetricValue_t *pValue;

    /* Constant false without custom metrics (DEFENDER_CONFIG_MAX_CUSTOM_METRICS 0). */
    for (i = 0U; (DEFENDER_CONFIG_MAX_CUSTOM_METRICS > 0U) && (i < pContext->customMetricCount);
         i++)
    {
        pMetric = &pContext->customMetrics[i];
        pValue = &pValues[count];
        (void) memset(pValue, 0, sizeof(*pValue));
        if (pMetric->pfRead(pMetric->pUserContext, &pValue->value))
        {
            if (Defender_CustomMetricValueValid(pMetric->type, &pValue->value))
            {
                pValue->pName = pMetric->pName;
                pValue->type = pMetric->type;
                count++;
            }
            else
            {
                pContext->counters.customMetricErrors++;
                LOG(pContext, DEFENDER_LOG_WARN,
                    "custom metric value invalid (non-finite number, or text that does not "
                    "conform): left out of the report");
            }
        }
    }

    return count;
}

/**
 * @brief Builds the report into the report buffer.
 * @param[in,out] pContext Agent.
 * @param[in] reportId Id of the report.
 * @param[out] pLength Encoded length.
 * @param[out] pStatsCollected Network counters were collected (baseline candidate).
 * @return DEFENDER_SUCCESS or the encoder's error.
 */
static DefenderStatus_t buildReport(DefenderContext_t *pContext, uint64_t reportId, size_t *pLength,
                                    bool *pStatsCollected)
{
    DefenderReportContent_t content;
    DefenderCustomMetricValue_t custom[DEFENDER_CONFIG_MAX_CUSTOM_METRICS + 1U];
    DefenderMetricsSink_t sink;
    uint32_t metrics = pContext->settings.metrics;
    size_t listed[3] = {0U, 0U, 0U};
    size_t wanted[3] = {0U, 0U, 0U};
    DefenderStatus_t status;
    DefenderMetricGroup_t group;
    void *pHead;
    void *pWindow;
    size_t capacity;
    uint64_t expectedTotal;
    size_t count;
    size_t i;

    (void) memset(&content, 0, sizeof(content));
    content.reportId = reportId;

    /* Group bits 0..2 are the three lists (connections, TCP ports, UDP ports), bit 3
     * the network statistics, collected in this order. */
    for (i = 0U; i < 4U; i++)
    {
        group = (DefenderMetricGroup_t) 1U << i;
        if ((metrics & group) != 0U)
        {
            /* Network statistics: interface counters in one array, no rotation. */
            pHead = pContext->interfacesNow.entries;
            pWindow = NULL;
            capacity = DEFENDER_CONFIG_MAX_INTERFACES;
            expectedTotal = 0U;
            if (i < 3U)
            {
                pHead = (i == 0U) ? (void *) pContext->connections[0]
                                  : (void *) pContext->ports[i - 1U][0];
                pWindow = (i == 0U) ? (void *) pContext->connections[1]
                                    : (void *) pContext->ports[i - 1U][1];
                capacity = pContext->settings.maxListEntries;
                expectedTotal = pContext->listTotals[i];
            }
            count = collect(pContext, &sink, group, pHead, pWindow, capacity, expectedTotal);
            if ((count != SIZE_MAX) && (i == 3U))
            {
                /* Collected: the counters become the baseline once published. */
                *pStatsCollected = true;
                sumNetworkStats(pContext, &sink, count, &content.networkStats);
                if (pContext->haveBaseline)
                {
                    content.groups |= group;
                }
            }
            else if (count != SIZE_MAX)
            {
                wanted[i] = count;
                pContext->listTotals[i] = sink.seen;
                content.groups |= group;
            }
            else
            {
                /* The source failed: the group is left out. */
            }
        }
    }
    content.connections.pEntries = pContext->connections[1];
    content.connections.count = wanted[0];
    content.connections.total = pContext->listTotals[0];
    content.tcpPorts.pEntries = pContext->ports[0][1];
    content.tcpPorts.count = wanted[1];
    content.tcpPorts.total = pContext->listTotals[1];
    content.udpPorts.pEntries = pContext->ports[1][1];
    content.udpPorts.count = wanted[2];
    content.udpPorts.total = pContext->listTotals[2];

    content.customCount = collectCustomMetrics(pContext, custom);
    content.pCustom = custom;
    content.emitEmptyMetrics = (metrics != 0U);

    status = Defender_EncodeReport(&content, pContext->settings.format, pContext->settings.keys,
                                   pContext->settings.pReportBuffer,
                                   pContext->settings.reportBufferSize, pLength, listed);
    for (i = 0U; (i < 3U) && (status == DEFENDER_SUCCESS); i++)
    {
        pContext->counters.listEntriesDropped += (uint32_t) (wanted[i] - listed[i]);
    }

    return status;
}

/**
 * @brief Builds and publishes the report that is due.
 * @param[in,out] pContext Agent.
 * @param[in] now Monotonic time.
 */
static void sendReport(DefenderContext_t *pContext, uint32_t now)
{
    char topic[DEFENDER_TOPIC_BUFFER_SIZE];
    size_t topicLength;
    size_t length = 0U;
    bool statsCollected = false;
    uint64_t reportId = nextReportId(pContext);
    DefenderMqttStatus_t result;
    const DefenderStoreInterface_t *pStore = &pContext->interfaces.store;

    pContext->lastReportId = reportId;
    (void) memset(&pContext->last, 0, sizeof(pContext->last));
    pContext->last.reportId = reportId;

    if (buildReport(pContext, reportId, &length, &statsCollected) != DEFENDER_SUCCESS)
    {
        LOG_REPORT_EVENT(pContext, DEFENDER_LOG_ERROR, "report does not fit the report buffer");
        recordNotSent(pContext, DEFENDER_NOT_SENT_ENCODE_FAILED);
    }
    else
    {
        pContext->last.size = length;
        if ((pStore->pfSaveLastReportId != NULL) &&
            !pStore->pfSaveLastReportId(pStore->pContext, reportId))
        {
            pContext->counters.storeErrors++;
            LOG(pContext, DEFENDER_LOG_ERROR,
                "could not save the last report id; publishing anyway");
        }

        topicLength = buildTopic(pContext, DEFENDER_TOPIC_REPORT, topic);
        /* In flight before the call: a port may deliver the response from inside it
         * (the PUBLISHED event then follows the ACCEPTED/REJECTED one). */
        pContext->last.status = eDefenderRepNoAck;
        pContext->state = DEFENDER_STATE_IN_FLIGHT;
        pContext->inFlightDeadlineMs = now + ackWaitMs(pContext);
        pContext->latestAwaitingLate = false;
        result = pContext->interfaces.mqtt.pfPublish(pContext->interfaces.mqtt.pContext, topic,
                                                     topicLength, pContext->settings.pReportBuffer,
                                                     length);
        if (result == DEFENDER_MQTT_SUCCESS)
        {
            if (statsCollected)
            {
                /* Counters of a published report become the baseline (10.6). */
                pContext->baseline = pContext->interfacesNow;
                pContext->haveBaseline = true;
            }
            pContext->counters.reportsPublished++;
            notify(pContext, DEFENDER_EVENT_PUBLISHED);
        }
        else
        {
            pContext->state = DEFENDER_STATE_WAITING;
            if (result == DEFENDER_MQTT_NOT_CONNECTED)
            {
                pContext->connected = false;
            }
            recordNotSent(pContext, (result == DEFENDER_MQTT_NOT_CONNECTED)
                                        ? DEFENDER_NOT_SENT_NOT_CONNECTED
                                        : DEFENDER_NOT_SENT_PUBLISH_FAILED);
        }
    }

    pContext->reportNumber++;
}

/**
 * @brief Handles a report that is due.
 *
 * The report goes out as soon as the connection is up and both subscriptions are
 * granted. Until then it stays due: NotSent is recorded once the acknowledgement
 * wait for the connection or the SUBACKs has passed, and again once per period while
 * it cannot be sent (missed periods are not caught up).
 * @param[in,out] pContext Agent.
 * @param[in] now Monotonic time.
 * @param[in,out] pWait Shortened to when to look again if the report could not go out.
 * @return true when the report was built (sent, or NotSent because encoding or the
 *         publish call failed); false while it waits.
 */
static bool reportDue(DefenderContext_t *pContext, uint32_t now, uint32_t *pWait)
{
    bool attempted = false;
    const DefenderSubscriptionState_t *pSubs = pContext->subscriptions;
    uint32_t graceEnd = pContext->nextReportMs + ackWaitMs(pContext);

    if ((pSubs[0] == DEFENDER_SUB_GRANTED) && (pSubs[1] == DEFENDER_SUB_GRANTED) &&
        pContext->connected)
    {
        sendReport(pContext, now);
        attempted = true;
    }
    else if (!reached(now, graceEnd) &&
             (pContext->connected
                  ? ((pSubs[0] == DEFENDER_SUB_PENDING) || (pSubs[1] == DEFENDER_SUB_PENDING))
                  : !pContext->firstReportDone))
    {
        /* Give the connection and the subscriptions one acknowledgement wait. */
        *pWait = shorter(*pWait, now, graceEnd);
    }
    else
    {
        /* Still due and past its grace: kept within one acknowledgement wait of now, so
         * that it stays due (in 32-bit time) however long the report cannot go out. */
        pContext->nextReportMs = now - ackWaitMs(pContext);
        if (!pContext->notSentRecorded || reached(now, pContext->notSentUntilMs))
        {
            (void) memset(&pContext->last, 0, sizeof(pContext->last));
            recordNotSent(pContext, pContext->connected ? DEFENDER_NOT_SENT_NOT_SUBSCRIBED
                                                        : DEFENDER_NOT_SENT_NOT_CONNECTED);
            pContext->firstReportDone = true;
            pContext->reportNumber++;
            pContext->notSentUntilMs = now + periodMs(pContext);
            pContext->notSentRecorded = true;
            /* A refused subscription is retried once per period (10.1). */
            subscribe(pContext, true);
        }
        *pWait = shorter(*pWait, now, pContext->notSentUntilMs);
    }

    return attempted;
}

DefenderStatus_t Defender_Process(DefenderContext_t *pContext, uint32_t *pMsUntilNext)
{
    DefenderStatus_t status = DEFENDER_BAD_PARAMETER;
    uint32_t now;
    uint32_t wait = UINT32_MAX;

    if (pContext != NULL)
    {
        status = DEFENDER_NOT_STARTED;
    }
    if ((pContext != NULL) && (pContext->state != DEFENDER_STATE_STOPPED))
    {
        status = DEFENDER_SUCCESS;
        now = nowMs(pContext);

        if ((pContext->state == DEFENDER_STATE_IN_FLIGHT) &&
            reached(now, pContext->inFlightDeadlineMs))
        {
            pContext->state = DEFENDER_STATE_WAITING;
            pContext->latestAwaitingLate = true;
            pContext->counters.reportsNoAck++;
            LOG_REPORT_EVENT(pContext, DEFENDER_LOG_WARN,
                             "no response to the report within the timeout");
            notify(pContext, DEFENDER_EVENT_NO_ACK);
        }

        subscribe(pContext, false);

        if ((pContext->state == DEFENDER_STATE_WAITING) && reached(now, pContext->nextReportMs))
        {
            /* Due: a Throttled postponement, which the due time includes, is over (and
             * throttledUntilMs is never compared again, however long ago it becomes). */
            pContext->throttled = false;
        }
        if ((pContext->state == DEFENDER_STATE_WAITING) && reached(now, pContext->nextReportMs) &&
            reportDue(pContext, now, &wait))
        {
            pContext->firstReportDone = true;
            pContext->lastAttemptMs = now;
            pContext->notSentRecorded = false;
            scheduleAfter(pContext, now);
            /* After a refused SUBACK, one retry for the next report. */
            subscribe(pContext, true);
        }

        if (pContext->state == DEFENDER_STATE_IN_FLIGHT)
        {
            wait = shorter(wait, now, pContext->inFlightDeadlineMs);
        }
        if (!reached(now, pContext->nextReportMs))
        {
            wait = shorter(wait, now, pContext->nextReportMs);
        }
    }

    if (pMsUntilNext != NULL)
    {
        *pMsUntilNext = wait;
    }

    return status;
}

void Defender_OnConnectionChanged(DefenderContext_t *pContext, bool connected, bool sessionPresent)
{
    size_t i;

    if (pContext != NULL)
    {
        pContext->connected = connected;
        for (i = 0U; i < 2U; i++)
        {
            /* Going down, a SUBACK still awaited will not come; coming up with a clean
             * session, the broker kept no subscription (with a kept session it did). */
            if (connected ? !sessionPresent : (pContext->subscriptions[i] == DEFENDER_SUB_PENDING))
            {
                pContext->subscriptions[i] = DEFENDER_SUB_NONE;
            }
        }
    }
}

void Defender_OnSubscribeResult(DefenderContext_t *pContext, const char *pTopic, size_t topicLength,
                                bool granted)
{
    size_t i;

    if ((pContext != NULL) && (pTopic != NULL) && (pContext->state != DEFENDER_STATE_STOPPED))
    {
        i = responseTopicIndex(pContext, pTopic, topicLength);
        if ((i < 2U) && (pContext->subscriptions[i] == DEFENDER_SUB_PENDING))
        {
            pContext->subscriptions[i] = granted ? DEFENDER_SUB_GRANTED : DEFENDER_SUB_FAILED;
        }
    }
}

/**
 * @brief Applies a valid response that matched the latest report.
 * @param[in,out] pContext Agent.
 * @param[in] pResponse The response.
 */
static void applyResponse(DefenderContext_t *pContext, const DefenderResponse_t *pResponse)
{
    DefenderReportEvent_t event = DEFENDER_EVENT_ACCEPTED;

    pContext->state = DEFENDER_STATE_WAITING;
    pContext->latestAwaitingLate = false;
    /* Both structures hold the two texts next to each other, in the same order and with the
     * sizes of the same configuration macros (char arrays: no padding between them). */
    (void) memcpy(pContext->last.errorCode, pResponse->errorCode,
                  sizeof(pContext->last.errorCode) + sizeof(pContext->last.errorMessage));

    if (pResponse->status == DEFENDER_RESPONSE_ACCEPTED)
    {
        pContext->last.status = eDefenderRepSuccess;
        pContext->counters.reportsAccepted++;
    }
    else
    {
        event = DEFENDER_EVENT_REJECTED;
        pContext->last.status = eDefenderRepRejected;
        pContext->counters.reportsRejected++;
        if (strcmp(pResponse->errorCode, DEFENDER_ERROR_CODE_THROTTLED) == 0)
        {
            /* The next report goes out one full period after the rejection (10.5). */
            pContext->counters.reportsThrottled++;
            pContext->throttledSpanMs = periodMs(pContext);
            pContext->throttledUntilMs = nowMs(pContext) + pContext->throttledSpanMs;
            pContext->throttled = true;
            pContext->nextReportMs = later(pContext->nextReportMs, pContext->throttledUntilMs);
            LOG_REPORT_EVENT(pContext, DEFENDER_LOG_WARN,
                             "report throttled: next report postponed a period");
        }
        else
        {
            LOG_REPORT_EVENT(pContext, DEFENDER_LOG_WARN, "report rejected");
        }
    }
    notify(pContext, event);
}

DefenderStatus_t Defender_OnMessage(DefenderContext_t *pContext, const char *pTopic,
                                    size_t topicLength, const uint8_t *pPayload,
                                    size_t payloadLength)
{
    DefenderStatus_t status = DEFENDER_BAD_PARAMETER;
    DefenderResponse_t response;
    size_t index = 2U;
    bool ours;
    bool sameId;
    bool late;

    if ((pContext != NULL) && (pTopic != NULL) && ((pPayload != NULL) || (payloadLength == 0U)))
    {
        status = DEFENDER_NOT_FOUND;
        if (pContext->state != DEFENDER_STATE_STOPPED)
        {
            index = responseTopicIndex(pContext, pTopic, topicLength);
        }
        if (index < 2U)
        {
            status = Defender_ParseResponse(pContext->settings.format, pPayload, payloadLength,
                                            &response);
            if ((status != DEFENDER_SUCCESS) ||
                ((index == SUB_ACCEPTED) != (response.status == DEFENDER_RESPONSE_ACCEPTED)))
            {
                /* Undecodable, or a status that contradicts its topic (10.4). */
                pContext->counters.responsesMalformed++;
                LOG(pContext, DEFENDER_LOG_WARN, "malformed response ignored");
                status = DEFENDER_MALFORMED;
            }
        }
        else
        {
            /* Not one of this agent's response topics (or the agent is stopped). */
            pContext->counters.messagesIgnored++;
        }
    }

    if (status == DEFENDER_SUCCESS)
    {
        ours = !response.hasThingName || (!response.thingNameTruncated &&
                                          (strcmp(response.thingName, pContext->thingName) == 0));
        sameId = response.reportId == pContext->lastReportId;
        late = ours && pContext->latestAwaitingLate && response.hasReportId && sameId;
        if (ours && (late || ((pContext->state == DEFENDER_STATE_IN_FLIGHT) &&
                              (!response.hasReportId || sameId))))
        {
            if (late)
            {
                pContext->counters.responsesLate++;
            }
            applyResponse(pContext, &response);
        }
        else
        {
            pContext->counters.responsesForeign++;
            LOG(pContext, DEFENDER_LOG_DEBUG, "response for another report ignored");
            status = DEFENDER_NOT_FOUND;
        }
    }

    return status;
}

DefenderReportStatus_t Defender_GetReportStatus(const DefenderContext_t *pContext)
{
    return (pContext != NULL) ? pContext->last.status : eDefenderRepInit;
}

DefenderStatus_t Defender_GetLastReport(const DefenderContext_t *pContext,
                                        DefenderReportInfo_t *pInfo)
{
    DefenderStatus_t status = DEFENDER_BAD_PARAMETER;

    if ((pContext != NULL) && (pInfo != NULL))
    {
        *pInfo = pContext->last;
        status = DEFENDER_SUCCESS;
    }

    return status;
}

DefenderStatus_t Defender_GetCounters(const DefenderContext_t *pContext,
                                      DefenderCounters_t *pCounters)
{
    DefenderStatus_t status = DEFENDER_BAD_PARAMETER;

    if ((pContext != NULL) && (pCounters != NULL))
    {
        /* One call (an assignment of this size is expanded inline). */
        (void) memcpy(pCounters, &pContext->counters, sizeof(*pCounters));
        status = DEFENDER_SUCCESS;
    }

    return status;
}
