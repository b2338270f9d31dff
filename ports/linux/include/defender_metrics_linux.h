/**
 * @file defender_metrics_linux.h
 * @brief Metrics source for Linux hosts (DefenderMetricsSource_t).
 *
 * Collects the four standard metric groups from the running kernel:
 * - established TCP connections (IPv4 and IPv6, state ESTABLISHED only);
 * - listening TCP ports (state LISTEN) and listening UDP ports (bound, unconnected
 *   UDP sockets), each distinct (port, interface) once, interface empty for
 *   wildcard binds;
 * - cumulative per-interface counters (64-bit) with the loopback flag.
 *
 * Two paths give the same results:
 * - netlink (default): NETLINK_SOCK_DIAG dumps filtered in the kernel by state, and
 *   rtnetlink RTM_GETLINK / RTM_GETADDR dumps for interface counters and addresses;
 * - /proc (when netlink is refused, or on request): /proc/net/{tcp,tcp6,udp,udp6},
 *   /proc/net/dev and /proc/net/if_inet6, plus the SIOCGIFCONF / SIOCGIFFLAGS ioctls.
 *
 * Both stream their input through one fixed buffer inside the source object and hand
 * entries to the sink one by one: memory use is fixed (sizeof(DefenderLinuxSource_t))
 * whatever the number of sockets, and the cost is linear in it. No heap is used.
 *
 * Interface of a local address: the interface that owns the address, from a table
 * of the host's addresses rebuilt once per collection (at most
 * DEFENDER_LINUX_MAX_ADDRESSES entries; an address not in it gets an empty name).
 * Loopback addresses (127.0.0.0/8, ::1) belong to the loopback interface. IPv4-mapped
 * IPv6 addresses (::ffff:a.b.c.d) are treated, and delivered, as IPv4.
 *
 * Thread safety: one source object must not be used by two threads at once.
 */
#ifndef DEFENDER_METRICS_LINUX_H
#define DEFENDER_METRICS_LINUX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "defender_types.h"
#include "defender_metrics_source.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Addresses kept in the address-to-interface table (excess ones are counted). */
#ifndef DEFENDER_LINUX_MAX_ADDRESSES
#define DEFENDER_LINUX_MAX_ADDRESSES 128U
#endif

/**
 * @brief Port bitmaps for listener de-duplication: one 8 KiB bitmap (65536 bits) per
 * interface name seen in one collection, the first for the empty name (wildcard or
 * unknown). When more distinct interface names carry listeners than there are slots,
 * the extra listeners are delivered without de-duplication and counted.
 */
#ifndef DEFENDER_LINUX_PORT_SLOTS
#define DEFENDER_LINUX_PORT_SLOTS 16U
#endif

/** @brief Size of the receive / read buffer (netlink datagrams and /proc chunks). */
#ifndef DEFENDER_LINUX_BUFFER_SIZE
#define DEFENDER_LINUX_BUFFER_SIZE 32768U
#endif

/** @brief Longest /proc/net line kept; longer lines are skipped as malformed. */
#define DEFENDER_LINUX_LINE_SIZE 512U

/** @brief Longest proc root path (with terminator). */
#define DEFENDER_LINUX_PROC_ROOT_SIZE 128U

/** @brief Options of DefenderLinux_SourceInit(). */
typedef struct DefenderLinuxSourceOptions
{
    /** true (default): netlink first, /proc when netlink is refused; false: /proc only. */
    bool useNetlink;
    /** Root of the proc files, "/proc" by default (NULL). Tests point it at canned files. */
    const char *pProcRoot;
} DefenderLinuxSourceOptions_t;

/** @brief What the source met, for diagnostics (cumulative since init). */
typedef struct DefenderLinuxSourceStats
{
    uint32_t collections;       /**< pfCollect calls. */
    uint32_t netlinkFallbacks;  /**< Collections that fell back from netlink to /proc. */
    uint32_t malformedLines;    /**< /proc lines skipped as unparsable. */
    uint32_t malformedMessages; /**< Netlink messages skipped as truncated or invalid. */
    uint32_t addressesDropped;  /**< Host addresses beyond DEFENDER_LINUX_MAX_ADDRESSES. */
    uint32_t dedupeOverflows;   /**< Listeners delivered without de-duplication. */
} DefenderLinuxSourceStats_t;

/** @brief One host address and the name of the interface that owns it. */
typedef struct DefenderLinuxAddress
{
    DefenderIpAddress_t address;             /**< Family 4 or 6. */
    uint32_t ifIndex;                        /**< Owning interface index (0: unknown). */
    char name[DEFENDER_INTERFACE_NAME_SIZE]; /**< Owning interface. */
} DefenderLinuxAddress_t;

/**
 * @brief The source. Allocate it (statically: it holds ~170 KiB of buffers) and
 * initialise it with DefenderLinux_SourceInit(); treat the fields as private.
 */
typedef struct DefenderLinuxSource
{
    bool useNetlink;                              /**< Try netlink first. */
    char procRoot[DEFENDER_LINUX_PROC_ROOT_SIZE]; /**< Root of the proc files. */
    uint32_t seq;                                 /**< Netlink sequence number. */
    DefenderLinuxSourceStats_t stats;             /**< Diagnostics. */

    DefenderLinuxAddress_t addresses[DEFENDER_LINUX_MAX_ADDRESSES]; /**< Address table. */
    size_t addressCount;                                            /**< Entries in it. */
    char loopbackName[DEFENDER_INTERFACE_NAME_SIZE]; /**< Name of the loopback interface. */

    char slotNames[DEFENDER_LINUX_PORT_SLOTS][DEFENDER_INTERFACE_NAME_SIZE]; /**< Per slot. */
    size_t slotCount;                                                        /**< Slots in use. */
    uint8_t portBits[DEFENDER_LINUX_PORT_SLOTS][65536U / 8U];                /**< Seen ports. */

    char line[DEFENDER_LINUX_LINE_SIZE]; /**< /proc line being parsed. */
    /** Receive / read buffer, aligned for netlink headers. */
    union
    {
        uint8_t bytes[DEFENDER_LINUX_BUFFER_SIZE]; /**< The buffer. */
        uint64_t align;                            /**< Alignment only. */
    } buffer;
} DefenderLinuxSource_t;

/**
 * @brief Initialises a source.
 * @param[out] pSource Source to initialise.
 * @param[in] pOptions Options, or NULL for the defaults (netlink, "/proc").
 * @return DEFENDER_SUCCESS; DEFENDER_BAD_PARAMETER for a NULL source or a proc root
 *         longer than DEFENDER_LINUX_PROC_ROOT_SIZE - 1.
 */
DefenderStatus_t DefenderLinux_SourceInit(DefenderLinuxSource_t *pSource,
                                          const DefenderLinuxSourceOptions_t *pOptions);

/**
 * @brief Fills a DefenderMetricsSource_t that collects through this source.
 * @param[in] pSource An initialised source.
 * @param[out] pInterface Receives pfCollect and pContext (pSource). Unchanged if either
 *             pointer is NULL.
 */
void DefenderLinux_SourceGet(DefenderLinuxSource_t *pSource, DefenderMetricsSource_t *pInterface);

/**
 * @brief Collects one metric group (the function DefenderLinux_SourceGet() installs).
 * @param[in] pContext The DefenderLinuxSource_t.
 * @param[in] group One DEFENDER_METRIC_* bit.
 * @param[in] pSink Where entries go.
 * @return DEFENDER_SOURCE_OK; DEFENDER_SOURCE_UNSUPPORTED for an unknown group;
 *         DEFENDER_SOURCE_ERROR when neither netlink nor /proc could be read.
 */
DefenderSourceStatus_t DefenderLinux_Collect(void *pContext, DefenderMetricGroup_t group,
                                             DefenderMetricsSink_t *pSink);

/**
 * @brief Copies the diagnostic counters.
 * @return DEFENDER_SUCCESS or DEFENDER_BAD_PARAMETER (NULL pointer).
 */
DefenderStatus_t DefenderLinux_SourceGetStats(const DefenderLinuxSource_t *pSource,
                                              DefenderLinuxSourceStats_t *pStats);

/**
 * @brief Releases the source. Holds no descriptor between collections, so this only
 * clears it; the object may be initialised again.
 */
void DefenderLinux_SourceDeinit(DefenderLinuxSource_t *pSource);

#ifdef __cplusplus
}
#endif

#endif /* DEFENDER_METRICS_LINUX_H */
