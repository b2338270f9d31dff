/**
 * @file defender_metrics_lwip.h
 * @brief Metrics source for the lwIP TCP/IP stack (DefenderMetricsSource_t).
 *
 * Reads lwIP's own tables, so a device running lwIP 2.x reports what its stack holds:
 * - established TCP connections: `tcp_active_pcbs` entries in state ESTABLISHED
 *   (IPv4 and IPv6; an IPv4-mapped IPv6 peer is delivered as IPv4);
 * - listening TCP ports: `tcp_listen_pcbs`; listening UDP ports: `udp_pcbs` entries
 *   that are bound to a port and not connected (UDP-Lite PCBs are left out). Each
 *   distinct (port, interface) once; the interface is empty for a wildcard bind;
 * - network statistics: per netif, the MIB-2 counters lwIP keeps when it is built with
 *   `LWIP_STATS` and `MIB2_STATS` (32-bit counters: `counterBits` 32). Without them
 *   the group is DEFENDER_SOURCE_UNSUPPORTED: leave DEFENDER_METRIC_NETWORK_STATS out of
 *   the agent's settings.
 *
 * Interface names are lwIP's: the two characters of `netif->name` and `netif->num` in
 * decimal ("lo0", "et1", "st2"; characters outside printable ASCII become '_'). The
 * interface of a PCB is the netif it is bound to (`tcp_bind_netif`/`udp_bind_netif`),
 * else the netif owning its local address, else, for 127.0.0.0/8 and ::1, the first
 * loopback netif; a wildcard local address without a bound netif gives the empty name.
 * A netif is loopback when its name is "lo" or it holds 127.0.0.0/8 or ::1.
 *
 * Memory: none besides the small source object; no heap. Listener de-duplication
 * re-walks the list before each listener, so it costs O(n^2) for n listeners (lwIP's
 * listener tables are small: MEMP_NUM_TCP_PCB_LISTEN, MEMP_NUM_UDP_PCB).
 *
 * Thread safety: lwIP's PCB lists and netifs may only be read in the lwIP core context
 * (the tcpip thread, or with the core lock held; the main loop when NO_SYS is 1).
 * - With `LWIP_TCPIP_CORE_LOCKING` (and NO_SYS 0), each collection takes
 *   LOCK_TCPIP_CORE() / UNLOCK_TCPIP_CORE() itself, unless the options say that the
 *   caller already runs in the core context (`callerInCoreContext`): the core lock is
 *   not recursive, so a caller holding it, or the tcpip thread itself, must say so.
 * - Without core locking (or with NO_SYS 1), the source takes no lock: the caller must
 *   call pfCollect (that is, run Defender_Process()) in the core context, e.g. from a
 *   function posted with tcpip_callback(), or from the NO_SYS main loop; set
 *   `callerInCoreContext` to acknowledge that. DefenderLwip_SourceInit() refuses the
 *   options otherwise, since a collection from another thread would race the stack.
 * Where lwIP's LWIP_ASSERT_CORE_LOCKED() is defined, each collection checks it.
 */
#ifndef DEFENDER_METRICS_LWIP_H
#define DEFENDER_METRICS_LWIP_H

#include <stdbool.h>
#include <stdint.h>

#include "defender_types.h"
#include "defender_metrics_source.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Options of DefenderLwip_SourceInit(). */
typedef struct DefenderLwipSourceOptions
{
    /**
     * true: pfCollect is always called in lwIP's core context (the tcpip thread, with
     * the core lock held, or the NO_SYS main loop) and the source takes no lock.
     * false (default): the source takes the core lock; only possible with
     * LWIP_TCPIP_CORE_LOCKING.
     */
    bool callerInCoreContext;
} DefenderLwipSourceOptions_t;

/** @brief What the source met, for diagnostics (cumulative since init). */
typedef struct DefenderLwipSourceStats
{
    uint32_t collections;      /**< pfCollect calls. */
    uint32_t connections;      /**< Established connections delivered. */
    uint32_t listeners;        /**< Listening ports delivered (TCP and UDP). */
    uint32_t duplicates;       /**< Listeners skipped as an already delivered (port, interface). */
    uint32_t interfaces;       /**< Interface counters delivered. */
    uint32_t unsupported;      /**< Collections answered DEFENDER_SOURCE_UNSUPPORTED. */
    uint32_t unknownAddresses; /**< Local addresses no netif owns (delivered without name). */
} DefenderLwipSourceStats_t;

/** @brief The source. Initialise it with DefenderLwip_SourceInit(); fields are private. */
typedef struct DefenderLwipSource
{
    bool lockCore;                   /**< Take the core lock around each collection. */
    DefenderLwipSourceStats_t stats; /**< Diagnostics. */
} DefenderLwipSource_t;

/** @brief True when this build can take lwIP's core lock (LWIP_TCPIP_CORE_LOCKING). */
bool DefenderLwip_CanLockCore(void);

/** @brief True when this build reads MIB-2 interface counters (network statistics). */
bool DefenderLwip_HasInterfaceCounters(void);

/**
 * @brief Initialises a source.
 * @param[out] pSource The source.
 * @param[in] pOptions Options (NULL: defaults, the source takes the core lock).
 * @return DEFENDER_SUCCESS; DEFENDER_BAD_PARAMETER for NULL, or when the source would
 *         have to lock but lwIP is built without LWIP_TCPIP_CORE_LOCKING (or NO_SYS):
 *         set callerInCoreContext and call pfCollect in the core context.
 */
DefenderStatus_t DefenderLwip_SourceInit(DefenderLwipSource_t *pSource,
                                         const DefenderLwipSourceOptions_t *pOptions);

/**
 * @brief Fills a DefenderMetricsSource_t for the core (pContext = pSource).
 * @param[in] pSource The source (initialised).
 * @param[out] pInterface The interface.
 */
void DefenderLwip_SourceGet(DefenderLwipSource_t *pSource, DefenderMetricsSource_t *pInterface);

/** @brief The pfCollect function (pContext is a DefenderLwipSource_t). */
DefenderSourceStatus_t DefenderLwip_Collect(void *pContext, DefenderMetricGroup_t group,
                                            DefenderMetricsSink_t *pSink);

/**
 * @brief Copies the diagnostics.
 * @return DEFENDER_SUCCESS, or DEFENDER_BAD_PARAMETER for NULL.
 */
DefenderStatus_t DefenderLwip_SourceGetStats(const DefenderLwipSource_t *pSource,
                                             DefenderLwipSourceStats_t *pStats);

#ifdef __cplusplus
}
#endif

#endif /* DEFENDER_METRICS_LWIP_H */
