/**
 * @file defender.c
 * @brief The seed's singleton API over one agent context and its runner.
 */
#include <string.h>

#include "defender.h"
#include "defender_platform.h"

/** @brief Private definition of a metric handle: the group bit it stands for. */
struct DefenderMetric_s
{
    uint32_t group; /**< DEFENDER_METRIC_* bit. */
};

static struct DefenderMetric_s metricTcpConnections = {DEFENDER_METRIC_TCP_CONNECTIONS};
static struct DefenderMetric_s metricListeningTcpPorts = {DEFENDER_METRIC_LISTENING_TCP_PORTS};
static struct DefenderMetric_s metricListeningUdpPorts = {DEFENDER_METRIC_LISTENING_UDP_PORTS};
static struct DefenderMetric_s metricNetworkStats = {DEFENDER_METRIC_NETWORK_STATS};

DefenderMetric_t DEFENDER_tcp_connections = &metricTcpConnections;
DefenderMetric_t DEFENDER_listening_tcp_ports = &metricListeningTcpPorts;
DefenderMetric_t DEFENDER_listening_udp_ports = &metricListeningUdpPorts;
DefenderMetric_t DEFENDER_network_stats = &metricNetworkStats;
DefenderMetric_t xDefenderTCPConnections = &metricTcpConnections;

/** @brief The singleton's state. */
static struct
{
    DefenderContext_t agent;
    DefenderRunner_t runner;
    bool started;
    bool everStarted;
    uint32_t metrics;
    uint32_t periodSeconds;
    uint32_t ackTimeoutMs;
    DefenderFormat_t format;
    DefenderKeyStyle_t keys;
    DefenderCustomMetric_t custom[DEFENDER_CONFIG_MAX_CUSTOM_METRICS + 1U];
    size_t customCount;
    bool configured;
} singleton;

/** @brief Applies the defaults once. */
static void configureDefaults(void)
{
    if (!singleton.configured)
    {
        singleton.configured = true;
        singleton.metrics = DEFENDER_METRIC_ALL;
        singleton.periodSeconds = DEFENDER_CONFIG_DEFAULT_PERIOD_SECONDS;
        singleton.ackTimeoutMs = DEFENDER_CONFIG_DEFAULT_ACK_TIMEOUT_MS;
        /* JSON unless the build has CBOR only (DEFENDER_CONFIG_FORMAT_JSON 0). */
        singleton.format =
            (DEFENDER_CONFIG_FORMAT_JSON == 1) ? DEFENDER_FORMAT_JSON : DEFENDER_FORMAT_CBOR;
        singleton.keys = DEFENDER_KEYS_SHORT;
    }
}

DefenderErr_t DEFENDER_MetricsInitFunc(DefenderMetric_t *pxMetricsList, int32_t lMetricsLength)
{
    DefenderErr_t err = eDefenderErrSuccess;
    uint32_t mask = 0U;
    int32_t i;

    configureDefaults();
    if (singleton.started)
    {
        err = eDefenderErrAlreadyStarted;
    }
    else if ((lMetricsLength < 0) || ((pxMetricsList == NULL) && (lMetricsLength != 0)))
    {
        err = eDefenderErrOther;
    }
    else if (lMetricsLength > DEFENDER_MAX_METRICS_COUNT)
    {
        err = eDefenderErrTooManyMetrics;
    }
    else
    {
        for (i = 0; (i < lMetricsLength) && (err == eDefenderErrSuccess); i++)
        {
            DefenderMetric_t metric = pxMetricsList[i];
            if ((metric == NULL) ||
                ((metric != &metricTcpConnections) && (metric != &metricListeningTcpPorts) &&
                 (metric != &metricListeningUdpPorts) && (metric != &metricNetworkStats)) ||
                ((mask & metric->group) != 0U))
            {
                err = eDefenderErrTooManyMetrics;
            }
            else
            {
                mask |= metric->group;
            }
        }
        if (err == eDefenderErrSuccess)
        {
            singleton.metrics = mask;
        }
    }

    return err;
}

DefenderErr_t DEFENDER_ReportPeriodSet(int32_t LPeriodSec)
{
    DefenderErr_t err = eDefenderErrPeriodTooShort;

    configureDefaults();
    if ((LPeriodSec > 0) && ((uint32_t) LPeriodSec > DEFENDER_MAX_PERIOD_SECONDS))
    {
        /* Longer than the core can schedule (about 23 days). */
        err = eDefenderErrOther;
    }
    else if ((LPeriodSec > 0) && ((uint32_t) LPeriodSec >= DEFENDER_CONFIG_MIN_PERIOD_SECONDS))
    {
        err = eDefenderErrSuccess;
        singleton.periodSeconds = (uint32_t) LPeriodSec;
        if (singleton.started)
        {
            DefenderRunner_Lock(&singleton.runner);
            if (Defender_SetPeriod(&singleton.agent, (uint32_t) LPeriodSec) != DEFENDER_SUCCESS)
            {
                err = eDefenderErrPeriodTooShort;
            }
            DefenderRunner_Unlock(&singleton.runner);
        }
    }

    return err;
}

DefenderErr_t DEFENDER_AckTimeoutSet(uint32_t ulTimeoutMs)
{
    DefenderErr_t err = eDefenderErrOther;

    configureDefaults();
    if (ulTimeoutMs > 0U)
    {
        err = eDefenderErrSuccess;
        singleton.ackTimeoutMs = ulTimeoutMs;
        if (singleton.started)
        {
            DefenderRunner_Lock(&singleton.runner);
            (void) Defender_SetAckTimeout(&singleton.agent, ulTimeoutMs);
            DefenderRunner_Unlock(&singleton.runner);
        }
    }

    return err;
}

DefenderErr_t DEFENDER_FormatSet(DefenderFormat_t format, DefenderKeyStyle_t keys)
{
    DefenderErr_t err = eDefenderErrOther;

    configureDefaults();
    if (singleton.started)
    {
        err = eDefenderErrAlreadyStarted;
    }
    else if (DEFENDER_FORMAT_SUPPORTED(format) && (keys <= DEFENDER_KEYS_SHORT))
    {
        singleton.format = format;
        singleton.keys = keys;
        err = eDefenderErrSuccess;
    }
    else
    {
        /* Unknown format or key style. */
    }

    return err;
}

DefenderErr_t DEFENDER_CustomMetricAdd(const DefenderCustomMetric_t *pxMetric)
{
    DefenderErr_t err = eDefenderErrOther;
    size_t i;
    size_t length;

    configureDefaults();
    if (singleton.started)
    {
        err = eDefenderErrAlreadyStarted;
    }
    else if ((pxMetric != NULL) && (pxMetric->pName != NULL) && (pxMetric->pfRead != NULL) &&
             (pxMetric->type <= DEFENDER_CUSTOM_IP_LIST))
    {
        length = strlen(pxMetric->pName);
        err = Defender_CustomMetricNameValid(pxMetric->pName, length) ? eDefenderErrSuccess
                                                                      : eDefenderErrOther;
        for (i = 0U; (i < singleton.customCount) && (err == eDefenderErrSuccess); i++)
        {
            if (strcmp(singleton.custom[i].pName, pxMetric->pName) == 0)
            {
                err = eDefenderErrOther;
            }
        }
#if DEFENDER_CONFIG_MAX_CUSTOM_METRICS == 0
        /* A build without custom metrics: no room for any. */
        err = (err == eDefenderErrSuccess) ? eDefenderErrTooManyMetrics : err;
#else
        if ((err == eDefenderErrSuccess) &&
            (singleton.customCount >= DEFENDER_CONFIG_MAX_CUSTOM_METRICS))
        {
            err = eDefenderErrTooManyMetrics;
        }
        if (err == eDefenderErrSuccess)
        {
            singleton.custom[singleton.customCount] = *pxMetric;
            singleton.customCount++;
        }
#endif
    }
    else
    {
        /* Invalid argument. */
    }

    return err;
}

DefenderErr_t DEFENDER_Start(void)
{
    DefenderErr_t err = eDefenderErrOther;
    const DefenderPlatform_t *pPlatform = DefenderPlatform_Get();
    DefenderSettings_t settings;
    DefenderInterfaces_t interfaces;
    DefenderOsInterface_t os;
    DefenderStatus_t status = DEFENDER_ERROR;
    size_t i;

    configureDefaults();
    (void) memset(&interfaces, 0, sizeof(interfaces));
    (void) memset(&os, 0, sizeof(os));
    Defender_DefaultSettings(&settings);
    settings.metrics = singleton.metrics;
    settings.periodSeconds = singleton.periodSeconds;
    settings.ackTimeoutMs = singleton.ackTimeoutMs;
    settings.format = singleton.format;
    settings.keys = singleton.keys;

    if (singleton.started)
    {
        err = eDefenderErrAlreadyStarted;
    }
    else if ((pPlatform != NULL) &&
             (pPlatform->pfOpen(&settings, &interfaces, &os) == DEFENDER_SUCCESS))
    {
        /* The report id continues across Stop/Start, and so does a Throttled
         * postponement (the platform's clock is the same monotonic clock): keep both
         * from the last run. */
        uint64_t lastId = singleton.agent.lastReportId;
        uint32_t throttledUntilMs = singleton.agent.throttledUntilMs;
        uint32_t throttledSpanMs = singleton.agent.throttledSpanMs;
        bool throttled = singleton.agent.throttled;

        status = Defender_Init(&singleton.agent, &settings, &interfaces);
        if (singleton.everStarted)
        {
            singleton.agent.lastReportId = lastId;
            singleton.agent.throttledUntilMs = throttledUntilMs;
            singleton.agent.throttledSpanMs = throttledSpanMs;
            singleton.agent.throttled = throttled;
        }
        for (i = 0U; (i < singleton.customCount) && (status == DEFENDER_SUCCESS); i++)
        {
            status = Defender_AddCustomMetric(&singleton.agent, &singleton.custom[i]);
        }
        if (status == DEFENDER_SUCCESS)
        {
            status = DefenderRunner_Init(&singleton.runner, &singleton.agent, &os);
        }
        if (status == DEFENDER_SUCCESS)
        {
            status = DefenderRunner_Start(&singleton.runner);
            err =
                (status == DEFENDER_SUCCESS) ? eDefenderErrSuccess : eDefenderErrFailedToCreateTask;
        }
        if ((err == eDefenderErrSuccess) &&
            (pPlatform->pfConnect(&singleton.runner) != DEFENDER_SUCCESS))
        {
            (void) DefenderRunner_Stop(&singleton.runner);
            err = eDefenderErrOther;
        }
        if (err == eDefenderErrSuccess)
        {
            singleton.started = true;
            singleton.everStarted = true;
        }
        else
        {
            pPlatform->pfClose();
        }
    }
    else
    {
        /* No platform, or it is not configured: the platform logged why. */
    }

    return err;
}

DefenderErr_t DEFENDER_Stop(void)
{
    DefenderErr_t err = eDefenderErrNotStarted;
    const DefenderPlatform_t *pPlatform = DefenderPlatform_Get();

    if (singleton.started)
    {
        (void) DefenderRunner_Stop(&singleton.runner);
        if (pPlatform != NULL)
        {
            pPlatform->pfClose();
        }
        singleton.started = false;
        err = eDefenderErrSuccess;
    }

    return err;
}

DefenderReportStatus_t DEFENDER_ReportStatusGet(void)
{
    DefenderReportStatus_t status = eDefenderRepInit;

    if (singleton.started)
    {
        DefenderRunner_Lock(&singleton.runner);
        status = Defender_GetReportStatus(&singleton.agent);
        DefenderRunner_Unlock(&singleton.runner);
    }
    else if (singleton.everStarted)
    {
        status = Defender_GetReportStatus(&singleton.agent);
    }
    else
    {
        /* Never started. */
    }

    return status;
}

DefenderErr_t DEFENDER_LastReportGet(DefenderReportInfo_t *pxInfo)
{
    DefenderErr_t err = eDefenderErrOther;

    if (pxInfo != NULL)
    {
        err = eDefenderErrSuccess;
        if (singleton.started)
        {
            DefenderRunner_Lock(&singleton.runner);
            (void) Defender_GetLastReport(&singleton.agent, pxInfo);
            DefenderRunner_Unlock(&singleton.runner);
        }
        else if (singleton.everStarted)
        {
            (void) Defender_GetLastReport(&singleton.agent, pxInfo);
        }
        else
        {
            (void) memset(pxInfo, 0, sizeof(*pxInfo));
            pxInfo->status = eDefenderRepInit;
        }
    }

    return err;
}

DefenderErr_t DEFENDER_CountersGet(DefenderCounters_t *pxCounters)
{
    DefenderErr_t err = eDefenderErrOther;

    if (pxCounters != NULL)
    {
        err = eDefenderErrSuccess;
        if (singleton.started)
        {
            DefenderRunner_Lock(&singleton.runner);
            (void) Defender_GetCounters(&singleton.agent, pxCounters);
            DefenderRunner_Unlock(&singleton.runner);
        }
        else
        {
            (void) Defender_GetCounters(&singleton.agent, pxCounters);
        }
    }

    return err;
}

const char *DEFENDER_ErrAsString(DefenderErr_t eErrNum)
{
    static const char *const names[] = {
        "eDefenderErrSuccess",        "eDefenderErrTooManyMetrics",
        "eDefenderErrPeriodTooShort", "eDefenderErrFailedToCreateTask",
        "eDefenderErrAlreadyStarted", "eDefenderErrNotStarted",
        "eDefenderErrOther"};
    const char *pName = "eDefenderErrUnknown";

    if ((size_t) eErrNum < (sizeof(names) / sizeof(names[0])))
    {
        pName = names[eErrNum];
    }

    return pName;
}

const char *DEFENDER_ReportStatusAsString(DefenderReportStatus_t eStatusNum)
{
    return Defender_ReportStatusString(eStatusNum);
}
