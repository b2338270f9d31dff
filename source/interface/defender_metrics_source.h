/**
 * @file defender_metrics_source.h
 * @brief Where the standard metrics come from: one implementation per TCP/IP stack.
 *
 * The core asks the source for one metric group at a time and the source streams
 * what it finds into a sink, entry by entry. The sink keeps at most the configured
 * number of list entries (rotating through them from report to report, PD-26) and
 * counts all of them, so a source needs no memory of its own for lists of any length.
 */
#ifndef DEFENDER_METRICS_SOURCE_H
#define DEFENDER_METRICS_SOURCE_H

#include "defender_types.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Receives the entries of one collection. Opaque; owned by the core. */
typedef struct DefenderMetricsSink DefenderMetricsSink_t;

/** @brief Result of a collection. */
typedef enum
{
    DEFENDER_SOURCE_OK = 0,      /**< Every entry was delivered. */
    DEFENDER_SOURCE_UNSUPPORTED, /**< This source cannot measure the group: it is left out of
                                      the report, and not counted as an error. */
    DEFENDER_SOURCE_ERROR        /**< Measuring failed; the group is left out of the report. */
} DefenderSourceStatus_t;

/** @brief A metrics source. */
typedef struct DefenderMetricsSource
{
    /** Opaque context of the integrator. */
    void *pContext;

    /**
     * @brief Collects one metric group, calling the sink function of that group for
     * every entry:
     * - DEFENDER_METRIC_TCP_CONNECTIONS: Defender_SinkAddConnection() per
     *   established TCP connection;
     * - DEFENDER_METRIC_LISTENING_TCP_PORTS / _UDP_PORTS: Defender_SinkAddListeningPort()
     *   once per distinct (port, interface) listener, interface empty for wildcard binds;
     * - DEFENDER_METRIC_NETWORK_STATS: Defender_SinkAddInterface() per interface with
     *   its cumulative counters.
     * @param[in] pContext The context above.
     * @param[in] group One DEFENDER_METRIC_* bit.
     * @param[in] pSink Where entries go.
     * @return DEFENDER_SOURCE_OK, _UNSUPPORTED or _ERROR.
     */
    DefenderSourceStatus_t (*pfCollect)(void *pContext, DefenderMetricGroup_t group,
                                        DefenderMetricsSink_t *pSink);
} DefenderMetricsSource_t;

/** @brief Delivers one established connection (ignored unless its remote address family
 * is 4 or 6). */
void Defender_SinkAddConnection(DefenderMetricsSink_t *pSink,
                                const DefenderConnection_t *pConnection);

/** @brief Delivers one listening port of the group being collected (ignored when its port
 * is 0). */
void Defender_SinkAddListeningPort(DefenderMetricsSink_t *pSink,
                                   const DefenderListeningPort_t *pPort);

/** @brief Delivers one interface's cumulative counters. */
void Defender_SinkAddInterface(DefenderMetricsSink_t *pSink,
                               const DefenderInterfaceCounters_t *pCounters);

#ifdef __cplusplus
}
#endif

#endif /* DEFENDER_METRICS_SOURCE_H */
