/**
 * @file defender.h
 * @brief The Device Defender agent API of Amazon FreeRTOS (the seed API), kept exactly.
 *
 * @code
 * defender_metric_t metrics_list[] = { DEFENDER_tcp_connections };
 * (void) DEFENDER_MetricsInit(metrics_list);
 * (void) DEFENDER_ReportPeriodSet(300);
 * DEFENDER_Start();
 * @endcode
 *
 * One agent per program, running in its own task; the platform port linked in
 * (for Linux: libdefender with its mosquitto connection, configured by
 * DEFENDER_LinuxConfigSet() in defender_linux.h or the DEFENDER_* environment
 * variables) provides the connection. Programs that need several agents, their own
 * MQTT connection or no task use the context API of defender_core.h.
 */
#ifndef DEFENDER_H
#define DEFENDER_H

#include <stdint.h>
#include <stdlib.h>

#include "defender_core.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @brief A Device Defender metric (a group of the report). Compare only with the
 * constants below; the contents are private.
 */
typedef struct DefenderMetric_s *DefenderMetric_t;

/** @brief The seed document's spelling of DefenderMetric_t. */
typedef DefenderMetric_t defender_metric_t;

/** @brief Status returned from the API functions. */
typedef enum
{
    /** The operation was successful. */
    eDefenderErrSuccess = 0,
    /** More metrics were given than exist (or an unknown or repeated one). */
    eDefenderErrTooManyMetrics,
    /** The report period is 0, negative, or under the build's minimum. */
    eDefenderErrPeriodTooShort,
    /** The operation could not be started (the agent task could not be created). */
    eDefenderErrFailedToCreateTask,
    /** The agent is already running. */
    eDefenderErrAlreadyStarted,
    /** The agent has not been started. */
    eDefenderErrNotStarted,
    /** An unspecified error occurred (for example: no connection configured). */
    eDefenderErrOther
} DefenderErr_t;

/** @brief Established TCP connections (`tcp_connections`: total and list). */
extern DefenderMetric_t DEFENDER_tcp_connections;
/** @brief Listening TCP ports (`listening_tcp_ports`). */
extern DefenderMetric_t DEFENDER_listening_tcp_ports;
/** @brief Listening UDP ports (`listening_udp_ports`). */
extern DefenderMetric_t DEFENDER_listening_udp_ports;
/** @brief Network statistics deltas (`network_stats`). */
extern DefenderMetric_t DEFENDER_network_stats;
/** @brief The Amazon FreeRTOS 1.4 name of DEFENDER_tcp_connections. */
extern DefenderMetric_t xDefenderTCPConnections;

/** @brief Number of standard metrics. */
#define DEFENDER_MAX_METRICS_COUNT (4)

/**
 * @brief Specifies the metrics the device sends (by array, as in the seed).
 * @param pxMetricsList An array of DefenderMetric_t (not a pointer: its length is taken).
 */
#define DEFENDER_MetricsInit(pxMetricsList)                                                        \
    DEFENDER_MetricsInitFunc((pxMetricsList),                                                      \
                             (int32_t) (sizeof(pxMetricsList) / sizeof(DefenderMetric_t)))

/**
 * @brief Specifies the metrics the device sends. Prefer DEFENDER_MetricsInit.
 * @param[in] pxMetricsList Metrics (may be NULL when lMetricsLength is 0: no
 *            standard metric, only custom ones).
 * @param[in] lMetricsLength Their number.
 * @return eDefenderErrSuccess; eDefenderErrTooManyMetrics for more than
 *         DEFENDER_MAX_METRICS_COUNT, an unknown or a repeated metric;
 *         eDefenderErrAlreadyStarted while running; eDefenderErrOther for a NULL
 *         list with a non-zero length or a negative length.
 */
DefenderErr_t DEFENDER_MetricsInitFunc(DefenderMetric_t *pxMetricsList, int32_t lMetricsLength);

/**
 * @brief Sets the report period in seconds (default 300). Under 300 s a warning is
 * logged: the service is not guaranteed to accept reports faster. Takes effect
 * from the next report when running.
 * @return eDefenderErrSuccess; eDefenderErrPeriodTooShort for 0, negative, or
 *         (production builds, DEFENDER_CONFIG_MIN_PERIOD_SECONDS=300) under 300 s;
 *         eDefenderErrOther above DEFENDER_MAX_PERIOD_SECONDS (2,000,000 s).
 */
DefenderErr_t DEFENDER_ReportPeriodSet(int32_t LPeriodSec);

/**
 * @brief Starts the agent: connects (platform port), subscribes to the response
 * topics, and sends the first report right away, then one every period. When the
 * last report before a DEFENDER_Stop() was Throttled, the first report waits until
 * one period after that rejection.
 * @return eDefenderErrSuccess, eDefenderErrAlreadyStarted,
 *         eDefenderErrFailedToCreateTask, or eDefenderErrOther (platform not
 *         configured: see the port's documentation; the reason is logged).
 */
DefenderErr_t DEFENDER_Start(void);

/**
 * @brief Stops the agent and its connection; returns promptly, even mid-report,
 * and leaves nothing running.
 * @return eDefenderErrSuccess or eDefenderErrNotStarted.
 */
DefenderErr_t DEFENDER_Stop(void);

/**
 * @brief Status of the last report: eDefenderRepInit after DEFENDER_Start until a
 * report was attempted; then Success, Rejected, NoAck or NotSent.
 */
DefenderReportStatus_t DEFENDER_ReportStatusGet(void);

/* ---- Additions to the seed API ----------------------------------------------------- */

/**
 * @brief Sets how long to wait for the accepted/rejected response, in ms (default
 * 10000; never longer than the period). eDefenderErrOther for 0.
 */
DefenderErr_t DEFENDER_AckTimeoutSet(uint32_t ulTimeoutMs);

/**
 * @brief Chooses the report encoding and key style (default JSON, short keys; CBOR in a
 * build with DEFENDER_CONFIG_FORMAT_JSON 0). Only while stopped. eDefenderErrOther for a
 * format the build leaves out.
 */
DefenderErr_t DEFENDER_FormatSet(DefenderFormat_t format, DefenderKeyStyle_t keys);

/**
 * @brief Registers a custom metric (see DefenderCustomMetric_t; the name and context
 * must stay valid). Only while stopped.
 * @return eDefenderErrSuccess; eDefenderErrTooManyMetrics when the table is full;
 *         eDefenderErrAlreadyStarted; eDefenderErrOther for an invalid or repeated name.
 */
DefenderErr_t DEFENDER_CustomMetricAdd(const DefenderCustomMetric_t *pxMetric);

/**
 * @brief Copies the last report's id, size, status and, when rejected, the
 * service's ErrorCode and ErrorMessage.
 */
DefenderErr_t DEFENDER_LastReportGet(DefenderReportInfo_t *pxInfo);

/** @brief Copies the agent's counters (reports, ignored responses ...). */
DefenderErr_t DEFENDER_CountersGet(DefenderCounters_t *pxCounters);

/** @brief Name of an error value ("eDefenderErrSuccess" ...). */
const char *DEFENDER_ErrAsString(DefenderErr_t eErrNum);

/** @brief Name of a report status ("eDefenderRepSuccess" ...). */
const char *DEFENDER_ReportStatusAsString(DefenderReportStatus_t eStatusNum);

#ifdef __cplusplus
}
#endif

#endif /* DEFENDER_H */
