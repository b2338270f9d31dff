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

/** @brief Index of the accepted / rejected subscription. */
#define SUB_ACCEPTED 0U
#define SUB_REJECTED 1U

#if DEFENDER_CONFIG_ENABLE_LOGGING
/** @brief Logs a constant message through the context's log callback. */
#define LOG(pCtx, level, msg) logMessage((pCtx), (level), (msg))

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
        pSettings->format = DEFENDER_FORMAT_JSON;
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
        (pInterfaces->clock.pfMonotonicMs != NULL) && (pSettings->pThingName != NULL) &&
        Defender_ThingNameValid(pSettings->pThingName, pSettings->thingNameLength) &&
        (pSettings->thingNameLength <= DEFENDER_CONFIG_MAX_THING_NAME_LENGTH) &&
        (pSettings->format <= DEFENDER_FORMAT_CBOR) && (pSettings->keys <= DEFENDER_KEYS_SHORT) &&
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
        (void) memcpy(pContext->thingName, pSettings->pThingName, pSettings->thingNameLength);
        pContext->thingName[pSettings->thingNameLength] = '\0';
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

    if (pContext != NULL)
    {
        status = checkPeriod(pContext, periodSeconds);
        if (status == DEFENDER_SUCCESS)
        {
            pContext->settings.periodSeconds = periodSeconds;
            if ((pContext->state != DEFENDER_STATE_STOPPED) && pContext->firstReportDone)
            {
                /* The next report is due one (new) period after the last attempt, but
                 * never earlier than a Throttled postponement. */
                pContext->nextReportMs = pContext->lastAttemptMs + periodMs(pContext);
                if (pContext->throttled)
                {
                    pContext->nextReportMs =
                        later(pContext->nextReportMs, pContext->throttledUntilMs);
                }
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
        if (Defender_CustomMetricNameValid(pMetric->pName, length))
        {
            status = DEFENDER_SUCCESS;
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

DefenderStatus_t Defender_Start(DefenderContext_t *pContext)
{
    DefenderStatus_t status = DEFENDER_BAD_PARAMETER;
    uint64_t stored = 0U;

    if (pContext != NULL)
    {
        status = DEFENDER_ALREADY_STARTED;
        if (pContext->state == DEFENDER_STATE_STOPPED)
        {
            if (!pContext->lastReportIdLoaded)
            {
                pContext->lastReportIdLoaded = true;
                if ((pContext->interfaces.store.pfLoadLastReportId != NULL) &&
                    pContext->interfaces.store.pfLoadLastReportId(
                        pContext->interfaces.store.pContext, &stored) &&
                    (stored <= MAX_INT63) && (stored > pContext->lastReportId))
                {
                    pContext->lastReportId = stored;
                }
                else if ((pContext->interfaces.store.pfLoadLastReportId == NULL) &&
                         (pContext->interfaces.clock.pfWallClockMs == NULL) &&
                         (pContext->interfaces.clock.pfRandom != NULL))
                {
                    /* Neither wall clock nor store: seed from the random source (10.2),
                     * leaving room for a long life of increments. */
                    pContext->lastReportId =
                        pContext->interfaces.clock.pfRandom(pContext->interfaces.clock.pContext) >>
                        2;
                }
                else
                {
                    /* Ids start from the wall clock, or from 1. */
                }
            }

            pContext->nextReportMs = nowMs(pContext);
            pContext->throttled = false;
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
    size_t length;

    if (pContext != NULL)
    {
        status = DEFENDER_NOT_STARTED;
        if (pContext->state != DEFENDER_STATE_STOPPED)
        {
            if (pContext->connected && (pContext->interfaces.mqtt.pfUnsubscribe != NULL))
            {
                length = buildTopic(pContext, DEFENDER_TOPIC_ACCEPTED, topic);
                (void) pContext->interfaces.mqtt.pfUnsubscribe(pContext->interfaces.mqtt.pContext,
                                                               topic, length);
                length = buildTopic(pContext, DEFENDER_TOPIC_REJECTED, topic);
                (void) pContext->interfaces.mqtt.pfUnsubscribe(pContext->interfaces.mqtt.pContext,
                                                               topic, length);
            }
            pContext->subscriptions[SUB_ACCEPTED] = DEFENDER_SUB_NONE;
            pContext->subscriptions[SUB_REJECTED] = DEFENDER_SUB_NONE;
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

    for (i = 0U; (i < 2U) && pContext->connected; i++)
    {
        if ((pContext->subscriptions[i] == DEFENDER_SUB_NONE) ||
            (retryFailed && (pContext->subscriptions[i] == DEFENDER_SUB_FAILED)))
        {
            length = buildTopic(
                pContext, (i == SUB_ACCEPTED) ? DEFENDER_TOPIC_ACCEPTED : DEFENDER_TOPIC_REJECTED,
                topic);
            /* Mark pending first: a port may report the result from inside the call. */
            pContext->subscriptions[i] = DEFENDER_SUB_PENDING;
            result = pContext->interfaces.mqtt.pfSubscribe(pContext->interfaces.mqtt.pContext,
                                                           topic, length);
            if (result == DEFENDER_MQTT_SUCCESS)
            {
                pContext->subscriptions[i] = DEFENDER_SUB_GRANTED;
            }
            else if (result == DEFENDER_MQTT_NOT_CONNECTED)
            {
                pContext->subscriptions[i] = DEFENDER_SUB_NONE;
                pContext->connected = false;
            }
            else if (result == DEFENDER_MQTT_FAILURE)
            {
                pContext->subscriptions[i] = DEFENDER_SUB_FAILED;
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
    LOG(pContext, DEFENDER_LOG_WARN, "report not sent");
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
 * @brief Collects one list group through the metrics source.
 * @param[in,out] pContext Agent.
 * @param[in] group The group.
 * @param[in] index List index (0 connections, 1 TCP ports, 2 UDP ports).
 * @param[in] pHead Head array.
 * @param[in] pWindow Window array (receives the listed entries).
 * @param[out] pCount Entries listed.
 * @param[out] pTotal True total.
 * @return true when collected.
 */
static bool collectList(DefenderContext_t *pContext, DefenderMetricGroup_t group, size_t index,
                        void *pHead, void *pWindow, size_t *pCount, uint64_t *pTotal)
{
    DefenderMetricsSink_t sink;
    bool collected = false;

    Defender_SinkInit(&sink, group, pHead, pWindow, pContext->settings.maxListEntries,
                      pContext->reportNumber, pContext->lists[index].lastTotal);
    if (pContext->interfaces.metricsSource.pfCollect(pContext->interfaces.metricsSource.pContext,
                                                     group, &sink) == DEFENDER_SOURCE_OK)
    {
        *pCount = Defender_SinkFinish(&sink);
        *pTotal = sink.seen;
        pContext->lists[index].lastTotal = sink.seen;
        collected = true;
    }
    else
    {
        pContext->counters.sourceErrors++;
        LOG(pContext, DEFENDER_LOG_ERROR, "metrics source failed to collect a list group");
    }

    return collected;
}

/** @brief Offsets of the four counters, in DefenderInterfaceCounters_t and in
 * DefenderNetworkStats_t, so that one loop handles all four. */
static const uint8_t counterOffsets[2][4] = {
    {(uint8_t) offsetof(DefenderInterfaceCounters_t, bytesIn),
     (uint8_t) offsetof(DefenderInterfaceCounters_t, bytesOut),
     (uint8_t) offsetof(DefenderInterfaceCounters_t, packetsIn),
     (uint8_t) offsetof(DefenderInterfaceCounters_t, packetsOut)},
    {(uint8_t) offsetof(DefenderNetworkStats_t, bytesIn),
     (uint8_t) offsetof(DefenderNetworkStats_t, bytesOut),
     (uint8_t) offsetof(DefenderNetworkStats_t, packetsIn),
     (uint8_t) offsetof(DefenderNetworkStats_t, packetsOut)}};

/**
 * @brief Adds the deltas of one interface to the sums (PD-25).
 * @param[in] pNow Current counters.
 * @param[in] pBefore Baseline counters (zero for a new interface).
 * @param[in,out] pStats Sums, clamped at 2^63-1.
 */
static void addDeltas(const DefenderInterfaceCounters_t *pNow,
                      const DefenderInterfaceCounters_t *pBefore, DefenderNetworkStats_t *pStats)
{
    size_t i;
    uint64_t now;
    uint64_t before;
    uint64_t sum;
    uint64_t delta;

    for (i = 0U; i < 4U; i++)
    {
        (void) memcpy(&now, (const uint8_t *) pNow + counterOffsets[0][i], sizeof(now));
        (void) memcpy(&before, (const uint8_t *) pBefore + counterOffsets[0][i], sizeof(before));
        (void) memcpy(&sum, (uint8_t *) pStats + counterOffsets[1][i], sizeof(sum));
        if (pNow->counterBits == 32U)
        {
            delta = (now - before) & 0xFFFFFFFFULL;
        }
        else
        {
            /* A counter that went backwards (reset, re-created interface) counts from 0. */
            delta = (now >= before) ? (now - before) : now;
        }
        sum = ((delta <= MAX_INT63) && (sum <= (MAX_INT63 - delta))) ? (sum + delta) : MAX_INT63;
        (void) memcpy((uint8_t *) pStats + counterOffsets[1][i], &sum, sizeof(sum));
    }
}

/**
 * @brief Collects interface counters and computes the deltas since the baseline.
 * @param[in,out] pContext Agent.
 * @param[out] pStats Deltas.
 * @param[out] pHaveDeltas true when a baseline existed (the report carries stats).
 * @return true when collected (the counters become the baseline once published).
 */
static bool collectNetworkStats(DefenderContext_t *pContext, DefenderNetworkStats_t *pStats,
                                bool *pHaveDeltas)
{
    DefenderMetricsSink_t sink;
    DefenderInterfaceCounters_t zero;
    const DefenderInterfaceCounters_t *pBefore;
    bool collected = false;
    size_t i;
    size_t j;

    (void) memset(pStats, 0, sizeof(*pStats));
    (void) memset(&zero, 0, sizeof(zero));
    *pHaveDeltas = false;
    Defender_SinkInit(&sink, DEFENDER_METRIC_NETWORK_STATS, pContext->interfacesNow, NULL,
                      DEFENDER_CONFIG_MAX_INTERFACES, 0U, 0U);
    if (pContext->interfaces.metricsSource.pfCollect(pContext->interfaces.metricsSource.pContext,
                                                     DEFENDER_METRIC_NETWORK_STATS,
                                                     &sink) == DEFENDER_SOURCE_OK)
    {
        collected = true;
        pContext->interfacesNowCount = sink.interfaceCount;
        pContext->counters.interfacesDropped += sink.interfacesDropped;
        *pHaveDeltas = pContext->haveBaseline;

        for (i = 0U; (i < sink.interfaceCount) && pContext->haveBaseline; i++)
        {
            const DefenderInterfaceCounters_t *pNow = &pContext->interfacesNow[i];

            if (!pNow->isLoopback || pContext->settings.includeLoopback)
            {
                /* New interfaces count from zero; vanished ones contribute nothing. */
                pBefore = &zero;
                for (j = 0U; j < pContext->baselineCount; j++)
                {
                    if (strncmp(pContext->baseline[j].name, pNow->name,
                                DEFENDER_INTERFACE_NAME_SIZE) == 0)
                    {
                        pBefore = &pContext->baseline[j];
                    }
                }
                addDeltas(pNow, pBefore, pStats);
            }
        }
    }
    else
    {
        pContext->counters.sourceErrors++;
        LOG(pContext, DEFENDER_LOG_ERROR, "metrics source failed to collect network statistics");
    }

    return collected;
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

    for (i = 0U; i < pContext->customMetricCount; i++)
    {
        const DefenderCustomMetric_t *pMetric = &pContext->customMetrics[i];
        DefenderCustomMetricValue_t *pValue = &pValues[count];

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
    uint32_t metrics = pContext->settings.metrics;
    size_t listed[3] = {0U, 0U, 0U};
    size_t wanted[3] = {0U, 0U, 0U};
    bool haveDeltas = false;
    DefenderStatus_t status;
    size_t i;
    static const DefenderMetricGroup_t listGroups[3] = {DEFENDER_METRIC_TCP_CONNECTIONS,
                                                        DEFENDER_METRIC_LISTENING_TCP_PORTS,
                                                        DEFENDER_METRIC_LISTENING_UDP_PORTS};
    void *heads[3] = {pContext->connectionHead, pContext->portHead, pContext->udpPortHead};
    void *windows[3] = {pContext->connectionWindow, pContext->portWindow, pContext->udpPortWindow};
    uint64_t *totals[3] = {&content.connections.total, &content.tcpPorts.total,
                           &content.udpPorts.total};

    (void) memset(&content, 0, sizeof(content));
    content.reportId = reportId;
    *pStatsCollected = false;

    for (i = 0U; i < 3U; i++)
    {
        if (((metrics & listGroups[i]) != 0U) &&
            collectList(pContext, listGroups[i], i, heads[i], windows[i], &wanted[i], totals[i]))
        {
            content.groups |= listGroups[i];
        }
    }
    content.connections.pEntries = pContext->connectionWindow;
    content.connections.count = wanted[0];
    content.tcpPorts.pEntries = pContext->portWindow;
    content.tcpPorts.count = wanted[1];
    content.udpPorts.pEntries = pContext->udpPortWindow;
    content.udpPorts.count = wanted[2];
    if ((metrics & DEFENDER_METRIC_NETWORK_STATS) != 0U)
    {
        *pStatsCollected = collectNetworkStats(pContext, &content.networkStats, &haveDeltas);
        if (haveDeltas)
        {
            content.groups |= DEFENDER_METRIC_NETWORK_STATS;
        }
    }

    content.customCount = collectCustomMetrics(pContext, custom);
    content.pCustom = custom;
    content.emitEmptyMetrics = (metrics != 0U);

    status = Defender_EncodeReport(&content, pContext->settings.format, pContext->settings.keys,
                                   pContext->settings.pReportBuffer,
                                   pContext->settings.reportBufferSize, pLength, listed);
    if (status == DEFENDER_SUCCESS)
    {
        for (i = 0U; i < 3U; i++)
        {
            if (listed[i] < wanted[i])
            {
                pContext->counters.listEntriesDropped += (uint32_t) (wanted[i] - listed[i]);
            }
        }
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

    pContext->lastReportId = reportId;
    (void) memset(&pContext->last, 0, sizeof(pContext->last));
    pContext->last.reportId = reportId;

    if (buildReport(pContext, reportId, &length, &statsCollected) != DEFENDER_SUCCESS)
    {
        LOG(pContext, DEFENDER_LOG_ERROR, "report does not fit the report buffer");
        recordNotSent(pContext, DEFENDER_NOT_SENT_ENCODE_FAILED);
    }
    else
    {
        pContext->last.size = length;
        if ((pContext->interfaces.store.pfSaveLastReportId != NULL) &&
            !pContext->interfaces.store.pfSaveLastReportId(pContext->interfaces.store.pContext,
                                                           reportId))
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
                (void) memcpy(pContext->baseline, pContext->interfacesNow,
                              pContext->interfacesNowCount * sizeof(pContext->baseline[0]));
                pContext->baselineCount = pContext->interfacesNowCount;
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
    bool granted = (pContext->subscriptions[SUB_ACCEPTED] == DEFENDER_SUB_GRANTED) &&
                   (pContext->subscriptions[SUB_REJECTED] == DEFENDER_SUB_GRANTED);
    bool pending = (pContext->subscriptions[SUB_ACCEPTED] == DEFENDER_SUB_PENDING) ||
                   (pContext->subscriptions[SUB_REJECTED] == DEFENDER_SUB_PENDING);
    uint32_t graceEnd = pContext->nextReportMs + ackWaitMs(pContext);

    if (granted && pContext->connected)
    {
        sendReport(pContext, now);
        attempted = true;
    }
    else if (!reached(now, graceEnd) && ((pContext->connected && pending) ||
                                         (!pContext->connected && !pContext->firstReportDone)))
    {
        /* Give the connection and the subscriptions one acknowledgement wait. */
        *pWait = shorter(*pWait, now, graceEnd);
    }
    else
    {
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
            LOG(pContext, DEFENDER_LOG_WARN, "no response to the report within the timeout");
            notify(pContext, DEFENDER_EVENT_NO_ACK);
        }

        subscribe(pContext, false);

        if ((pContext->state == DEFENDER_STATE_WAITING) && reached(now, pContext->nextReportMs) &&
            reportDue(pContext, now, &wait))
        {
            pContext->firstReportDone = true;
            pContext->lastAttemptMs = now;
            pContext->notSentRecorded = false;
            pContext->nextReportMs = now + periodMs(pContext);
            if (pContext->throttled)
            {
                pContext->nextReportMs = later(pContext->nextReportMs, pContext->throttledUntilMs);
            }
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
            if (!connected)
            {
                /* A SUBACK still awaited will not come. */
                if (pContext->subscriptions[i] == DEFENDER_SUB_PENDING)
                {
                    pContext->subscriptions[i] = DEFENDER_SUB_NONE;
                }
            }
            else if (!sessionPresent)
            {
                /* A clean session: the broker kept no subscription. */
                pContext->subscriptions[i] = DEFENDER_SUB_NONE;
            }
            else
            {
                /* The broker kept the session and its subscriptions. */
            }
        }
    }
}

void Defender_OnSubscribeResult(DefenderContext_t *pContext, const char *pTopic, size_t topicLength,
                                bool granted)
{
    char topic[DEFENDER_TOPIC_BUFFER_SIZE];
    size_t length;
    size_t i;

    if ((pContext != NULL) && (pTopic != NULL) && (pContext->state != DEFENDER_STATE_STOPPED))
    {
        for (i = 0U; i < 2U; i++)
        {
            length = buildTopic(
                pContext, (i == SUB_ACCEPTED) ? DEFENDER_TOPIC_ACCEPTED : DEFENDER_TOPIC_REJECTED,
                topic);
            if ((length == topicLength) && (memcmp(topic, pTopic, length) == 0) &&
                (pContext->subscriptions[i] == DEFENDER_SUB_PENDING))
            {
                pContext->subscriptions[i] = granted ? DEFENDER_SUB_GRANTED : DEFENDER_SUB_FAILED;
            }
        }
    }
}

/**
 * @brief Copies a text into a fixed buffer, truncating.
 * @param[out] pDest Buffer.
 * @param[in] size Its size.
 * @param[in] pSource NUL-terminated text.
 */
static void copyText(char *pDest, size_t size, const char *pSource)
{
    size_t length = boundedLength(pSource, size - 1U);

    if (length > (size - 1U))
    {
        length = size - 1U;
    }
    (void) memcpy(pDest, pSource, length);
    pDest[length] = '\0';
}

/**
 * @brief Applies a valid response that matched the latest report.
 * @param[in,out] pContext Agent.
 * @param[in] pResponse The response.
 */
static void applyResponse(DefenderContext_t *pContext, const DefenderResponse_t *pResponse)
{
    pContext->state = DEFENDER_STATE_WAITING;
    pContext->latestAwaitingLate = false;

    if (pResponse->status == DEFENDER_RESPONSE_ACCEPTED)
    {
        pContext->last.status = eDefenderRepSuccess;
        pContext->last.errorCode[0] = '\0';
        pContext->last.errorMessage[0] = '\0';
        pContext->counters.reportsAccepted++;
        notify(pContext, DEFENDER_EVENT_ACCEPTED);
    }
    else
    {
        pContext->last.status = eDefenderRepRejected;
        copyText(pContext->last.errorCode, sizeof(pContext->last.errorCode), pResponse->errorCode);
        copyText(pContext->last.errorMessage, sizeof(pContext->last.errorMessage),
                 pResponse->errorMessage);
        pContext->counters.reportsRejected++;
        if (strcmp(pResponse->errorCode, DEFENDER_ERROR_CODE_THROTTLED) == 0)
        {
            /* The next report goes out one full period after the rejection (10.5). */
            pContext->counters.reportsThrottled++;
            pContext->throttledUntilMs = nowMs(pContext) + periodMs(pContext);
            pContext->throttled = true;
            pContext->nextReportMs = later(pContext->nextReportMs, pContext->throttledUntilMs);
            LOG(pContext, DEFENDER_LOG_WARN, "report throttled: next report postponed a period");
        }
        else
        {
            LOG(pContext, DEFENDER_LOG_WARN, "report rejected");
        }
        notify(pContext, DEFENDER_EVENT_REJECTED);
    }
}

DefenderStatus_t Defender_OnMessage(DefenderContext_t *pContext, const char *pTopic,
                                    size_t topicLength, const uint8_t *pPayload,
                                    size_t payloadLength)
{
    DefenderStatus_t status = DEFENDER_BAD_PARAMETER;
    DefenderFormat_t format = DEFENDER_FORMAT_JSON;
    DefenderTopicKind_t kind = DEFENDER_TOPIC_REPORT;
    const char *pThing = NULL;
    size_t thingLength = 0U;
    DefenderResponse_t response;
    bool inFlight;
    bool late;

    if ((pContext != NULL) && (pTopic != NULL) && ((pPayload != NULL) || (payloadLength == 0U)))
    {
        status = Defender_MatchTopic(pTopic, topicLength, &format, &kind, &pThing, &thingLength);
        if ((status != DEFENDER_SUCCESS) || (kind == DEFENDER_TOPIC_REPORT) ||
            (format != pContext->settings.format) ||
            (thingLength != pContext->settings.thingNameLength) ||
            (memcmp(pThing, pContext->thingName, thingLength) != 0) ||
            (pContext->state == DEFENDER_STATE_STOPPED))
        {
            pContext->counters.messagesIgnored++;
            status = DEFENDER_NOT_FOUND;
        }
    }

    if (status == DEFENDER_SUCCESS)
    {
        status = Defender_ParseResponse(format, pPayload, payloadLength, &response);
        if ((status != DEFENDER_SUCCESS) ||
            ((kind == DEFENDER_TOPIC_ACCEPTED) != (response.status == DEFENDER_RESPONSE_ACCEPTED)))
        {
            /* Undecodable, or a status that contradicts its topic (10.4). */
            pContext->counters.responsesMalformed++;
            LOG(pContext, DEFENDER_LOG_WARN, "malformed response ignored");
            status = DEFENDER_MALFORMED;
        }
    }

    if (status == DEFENDER_SUCCESS)
    {
        inFlight = (pContext->state == DEFENDER_STATE_IN_FLIGHT) &&
                   (!response.hasReportId || (response.reportId == pContext->lastReportId));
        late = pContext->latestAwaitingLate && response.hasReportId &&
               (response.reportId == pContext->lastReportId);

        if (response.hasThingName &&
            ((strlen(response.thingName) != thingLength) ||
             (memcmp(response.thingName, pContext->thingName, thingLength) != 0)))
        {
            inFlight = false;
            late = false;
        }

        if (inFlight || late)
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
        *pCounters = pContext->counters;
        status = DEFENDER_SUCCESS;
    }

    return status;
}

const char *Defender_StatusString(DefenderStatus_t status)
{
    static const char *const names[] = {"DEFENDER_SUCCESS",
                                        "DEFENDER_BAD_PARAMETER",
                                        "DEFENDER_BUFFER_TOO_SMALL",
                                        "DEFENDER_TOO_MANY",
                                        "DEFENDER_PERIOD_TOO_SHORT",
                                        "DEFENDER_ALREADY_STARTED",
                                        "DEFENDER_NOT_STARTED",
                                        "DEFENDER_MALFORMED",
                                        "DEFENDER_NOT_FOUND",
                                        "DEFENDER_DUPLICATE",
                                        "DEFENDER_ERROR"};
    const char *pName = "DEFENDER_UNKNOWN";

    if ((size_t) status < (sizeof(names) / sizeof(names[0])))
    {
        pName = names[status];
    }

    return pName;
}

const char *Defender_ReportStatusString(DefenderReportStatus_t status)
{
    static const char *const names[] = {"eDefenderRepSuccess", "eDefenderRepInit",
                                        "eDefenderRepRejected", "eDefenderRepNoAck",
                                        "eDefenderRepNotSent"};
    const char *pName = "eDefenderRepUnknown";

    if ((size_t) status < (sizeof(names) / sizeof(names[0])))
    {
        pName = names[status];
    }

    return pName;
}
