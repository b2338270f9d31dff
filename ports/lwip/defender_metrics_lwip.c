/**
 * @file defender_metrics_lwip.c
 * @brief Metrics source for lwIP 2.x: walks the PCB lists and the netif list.
 *
 * Compiles against any lwipopts.h: IPv4 only, IPv6 only or both, NO_SYS 0 or 1, with or
 * without core locking, MIB-2 counters or a single netif. Entries go to the sink as the
 * lists are walked; nothing is stored and nothing is allocated.
 */
#include "defender_metrics_lwip.h"

#include <string.h>

#include "lwip/opt.h"
#include "lwip/init.h"
#include "lwip/ip_addr.h"
#include "lwip/netif.h"
#include "lwip/stats.h"
#if LWIP_TCP
#include "lwip/tcp.h"
#include "lwip/priv/tcp_priv.h"
#endif
#if LWIP_UDP
#include "lwip/udp.h"
#endif
#if !NO_SYS
#include "lwip/tcpip.h"
#endif

#if DEFENDER_CONFIG_MAX_INTERFACE_NAME_LENGTH < 5
#error "The lwIP source needs DEFENDER_CONFIG_MAX_INTERFACE_NAME_LENGTH >= 5 (\"lo255\")"
#endif

/** @brief lwIP 2.1 or later: netif indexes, PCBs bound to a netif, IPv6 zones. */
#if (LWIP_VERSION_MAJOR > 2) || ((LWIP_VERSION_MAJOR == 2) && (LWIP_VERSION_MINOR >= 1))
#define LWIP_HAS_NETIF_INDEX 1
#else
#define LWIP_HAS_NETIF_INDEX 0
#endif

/** @brief The netif a PCB is bound to (tcp_bind_netif / udp_bind_netif), 0 for none. */
#if LWIP_HAS_NETIF_INDEX
#define PCB_BOUND_INDEX(pcb) ((pcb)->netif_idx)
#else
#define PCB_BOUND_INDEX(pcb) (0U)
#endif

/** @brief The source can take the core lock itself. */
#if !NO_SYS && LWIP_TCPIP_CORE_LOCKING
#define SOURCE_CAN_LOCK 1
#else
#define SOURCE_CAN_LOCK 0
#endif

/** @brief Every netif (lwIP 2.0 has no NETIF_FOREACH; a single-netif build no list). */
#if defined(NETIF_FOREACH)
#define FOR_EACH_NETIF(pNetif) NETIF_FOREACH(pNetif)
#else
#define FOR_EACH_NETIF(pNetif)                                                                     \
    for ((pNetif) = netif_list; (pNetif) != NULL; (pNetif) = (pNetif)->next)
#endif

/*-----------------------------------------------------------------------------------------*/
/* Addresses and netifs                                                                    */
/*-----------------------------------------------------------------------------------------*/

/**
 * @brief Converts an lwIP address; an IPv4-mapped IPv6 address becomes IPv4.
 * @param[in] pIp The address.
 * @param[out] pOut The address in network byte order.
 */
static void convertAddress(const ip_addr_t *pIp, DefenderIpAddress_t *pOut)
{
    (void) memset(pOut, 0, sizeof(*pOut));
#if LWIP_IPV6
    if (IP_IS_V6(pIp))
    {
        const ip6_addr_t *pIp6 = ip_2_ip6(pIp);

        if (ip6_addr_isipv4mappedipv6(pIp6))
        {
            pOut->family = 4U;
            (void) memcpy(pOut->bytes, &pIp6->addr[3], 4U);
        }
        else
        {
            pOut->family = 6U;
            (void) memcpy(pOut->bytes, pIp6->addr, 16U);
        }
    }
#endif
#if LWIP_IPV4
    if (!IP_IS_V6(pIp))
    {
        pOut->family = 4U;
        (void) memcpy(pOut->bytes, &ip_2_ip4(pIp)->addr, 4U);
    }
#endif
}

/**
 * @brief Tells whether an address is a loopback address (127.0.0.0/8 or ::1).
 * @param[in] pAddress The address (converted).
 * @return true for loopback.
 */
static bool isLoopbackAddress(const DefenderIpAddress_t *pAddress)
{
    static const uint8_t loopback6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1U};
    bool loopback;

    if (pAddress->family == 4U)
    {
        loopback = (pAddress->bytes[0] == 127U);
    }
    else
    {
        loopback = (memcmp(pAddress->bytes, loopback6, 16U) == 0);
    }
    return loopback;
}

/**
 * @brief Tells whether a netif holds an address (IPv4, or a valid IPv6 address).
 * @param[in] pNetif The netif.
 * @param[in] pAddress The address (converted).
 * @return true when the netif holds it.
 */
static bool netifHolds(const struct netif *pNetif, const DefenderIpAddress_t *pAddress)
{
    bool holds = false;

#if LWIP_IPV4
    if ((pAddress->family == 4U) && !ip4_addr_isany(netif_ip4_addr(pNetif)))
    {
        holds = (memcmp(&netif_ip4_addr(pNetif)->addr, pAddress->bytes, 4U) == 0);
    }
#endif
#if LWIP_IPV6
    if (pAddress->family == 6U)
    {
        size_t i;

        for (i = 0U; (i < (size_t) LWIP_IPV6_NUM_ADDRESSES) && !holds; i++)
        {
            holds = ip6_addr_isvalid(netif_ip6_addr_state(pNetif, i)) &&
                    (memcmp(netif_ip6_addr(pNetif, i)->addr, pAddress->bytes, 16U) == 0);
        }
    }
#endif
    (void) pNetif;
    (void) pAddress;
    return holds;
}

/**
 * @brief Tells whether a netif is a loopback interface: named "lo", or holding
 * 127.0.0.0/8 or ::1 (lwIP has no loopback flag).
 * @param[in] pNetif The netif.
 * @return true for loopback.
 */
static bool netifIsLoopback(const struct netif *pNetif)
{
    bool loopback = (pNetif->name[0] == 'l') && (pNetif->name[1] == 'o');

#if LWIP_IPV4
    loopback = loopback || ip4_addr_isloopback(netif_ip4_addr(pNetif));
#endif
#if LWIP_IPV6
    {
        size_t i;

        for (i = 0U; (i < (size_t) LWIP_IPV6_NUM_ADDRESSES) && !loopback; i++)
        {
            loopback = ip6_addr_isvalid(netif_ip6_addr_state(pNetif, i)) &&
                       ip6_addr_isloopback(netif_ip6_addr(pNetif, i));
        }
    }
#endif
    return loopback;
}

/**
 * @brief Writes a netif's name as lwIP spells it: name[0], name[1], num in decimal.
 * @param[in] pNetif The netif (NULL: the empty name).
 * @param[out] pOut Buffer of DEFENDER_INTERFACE_NAME_SIZE (at least 6) bytes.
 */
static void netifName(const struct netif *pNetif, char *pOut)
{
    size_t length = 0U;

    if (pNetif != NULL)
    {
        unsigned int num = pNetif->num;
        size_t i;

        for (i = 0U; i < 2U; i++)
        {
            char c = pNetif->name[i];

            pOut[length] = ((c > ' ') && (c < (char) 0x7F)) ? c : '_';
            length++;
        }
        if (num >= 100U)
        {
            pOut[length] = (char) ('0' + (num / 100U));
            length++;
        }
        if (num >= 10U)
        {
            pOut[length] = (char) ('0' + ((num / 10U) % 10U));
            length++;
        }
        pOut[length] = (char) ('0' + (num % 10U));
        length++;
    }
    pOut[length] = '\0';
}

/**
 * @brief Finds the interface of a local endpoint: the bound netif, else the netif
 * owning the address, else the first loopback netif for a loopback address.
 * @param[in] pLocal Local address.
 * @param[in] boundIndex Index of the netif the PCB is bound to (0: none).
 * @param[in,out] pUnknown Incremented when no netif owns the address (NULL: not counted).
 * @return The netif; NULL for a wildcard bind or an address no netif owns.
 */
static const struct netif *ownerOf(const ip_addr_t *pLocal, unsigned int boundIndex,
                                   uint32_t *pUnknown)
{
    const struct netif *pOwner = NULL;
    struct netif *pNetif;
    DefenderIpAddress_t address;
    bool found = false;

#if LWIP_HAS_NETIF_INDEX
    if (boundIndex != (unsigned int) NETIF_NO_INDEX)
    {
        pOwner = netif_get_by_index((u8_t) boundIndex);
        found = true;
    }
#if LWIP_IPV6
    else if (IP_IS_V6(pLocal) && ip6_addr_has_zone(ip_2_ip6(pLocal)))
    {
        /* A scoped (link-local) address names its netif. */
        pOwner = netif_get_by_index(ip6_addr_zone(ip_2_ip6(pLocal)));
        found = true;
    }
#endif
    else
    {
        /* Not bound: by address below. */
    }
#else
    (void) boundIndex;
#endif
    if (!found && !ip_addr_isany(pLocal))
    {
        convertAddress(pLocal, &address);
        FOR_EACH_NETIF(pNetif)
        {
            if (!found && netifHolds(pNetif, &address))
            {
                pOwner = pNetif;
                found = true;
            }
        }
        if (!found && isLoopbackAddress(&address))
        {
            FOR_EACH_NETIF(pNetif)
            {
                if (!found && netifIsLoopback(pNetif))
                {
                    pOwner = pNetif;
                    found = true;
                }
            }
        }
        if (!found && (pUnknown != NULL))
        {
            (*pUnknown)++;
        }
    }
    return pOwner;
}

/*-----------------------------------------------------------------------------------------*/
/* Groups                                                                                  */
/*-----------------------------------------------------------------------------------------*/

/**
 * @brief Delivers one listener unless an earlier one had the same (port, interface).
 * @param[in,out] pSource The source.
 * @param[in] pSink The sink.
 * @param[in] port The port.
 * @param[in] pOwner Its interface (NULL: empty name).
 * @param[in] duplicate An earlier listener had the same (port, interface).
 */
static void deliverListener(DefenderLwipSource_t *pSource, DefenderMetricsSink_t *pSink,
                            uint16_t port, const struct netif *pOwner, bool duplicate)
{
    DefenderListeningPort_t entry;

    if (duplicate)
    {
        pSource->stats.duplicates++;
    }
    else
    {
        (void) memset(&entry, 0, sizeof(entry));
        entry.port = port;
        netifName(pOwner, entry.interfaceName);
        pSource->stats.listeners++;
        Defender_SinkAddListeningPort(pSink, &entry);
    }
}

#if LWIP_TCP
/**
 * @brief Delivers the ESTABLISHED PCBs of tcp_active_pcbs.
 * @param[in,out] pSource The source.
 * @param[in] pSink The sink.
 */
static void collectConnections(DefenderLwipSource_t *pSource, DefenderMetricsSink_t *pSink)
{
    const struct tcp_pcb *pPcb;
    DefenderConnection_t entry;

    for (pPcb = tcp_active_pcbs; pPcb != NULL; pPcb = pPcb->next)
    {
        if (pPcb->state == ESTABLISHED)
        {
            (void) memset(&entry, 0, sizeof(entry));
            convertAddress(&pPcb->remote_ip, &entry.remoteAddress);
            entry.remotePort = pPcb->remote_port;
            entry.localPort = pPcb->local_port;
            netifName(
                ownerOf(&pPcb->local_ip, PCB_BOUND_INDEX(pPcb), &pSource->stats.unknownAddresses),
                entry.localInterface);
            pSource->stats.connections++;
            Defender_SinkAddConnection(pSink, &entry);
        }
    }
}

/**
 * @brief Delivers the listeners of tcp_listen_pcbs, each (port, interface) once.
 * @param[in,out] pSource The source.
 * @param[in] pSink The sink.
 */
static void collectTcpListeners(DefenderLwipSource_t *pSource, DefenderMetricsSink_t *pSink)
{
    const struct tcp_pcb_listen *pPcb;
    const struct tcp_pcb_listen *pEarlier;

    for (pPcb = tcp_listen_pcbs.listen_pcbs; pPcb != NULL; pPcb = pPcb->next)
    {
        if ((pPcb->state == LISTEN) && (pPcb->local_port != 0U))
        {
            const struct netif *pOwner =
                ownerOf(&pPcb->local_ip, PCB_BOUND_INDEX(pPcb), &pSource->stats.unknownAddresses);
            bool duplicate = false;

            for (pEarlier = tcp_listen_pcbs.listen_pcbs; (pEarlier != pPcb) && !duplicate;
                 pEarlier = pEarlier->next)
            {
                duplicate =
                    (pEarlier->state == LISTEN) && (pEarlier->local_port == pPcb->local_port) &&
                    (ownerOf(&pEarlier->local_ip, PCB_BOUND_INDEX(pEarlier), NULL) == pOwner);
            }
            deliverListener(pSource, pSink, pPcb->local_port, pOwner, duplicate);
        }
    }
}
#endif /* LWIP_TCP */

#if LWIP_UDP
/**
 * @brief Tells whether a UDP PCB listens: bound to a port, not connected, not UDP-Lite.
 * @param[in] pPcb The PCB.
 * @return true when it listens.
 */
static bool udpListens(const struct udp_pcb *pPcb)
{
    unsigned int skip = UDP_FLAGS_CONNECTED;

#if LWIP_UDPLITE
    skip |= UDP_FLAGS_UDPLITE;
#endif
    return (pPcb->local_port != 0U) && ((pPcb->flags & skip) == 0U);
}

/**
 * @brief Delivers the listening UDP PCBs of udp_pcbs, each (port, interface) once.
 * @param[in,out] pSource The source.
 * @param[in] pSink The sink.
 */
static void collectUdpListeners(DefenderLwipSource_t *pSource, DefenderMetricsSink_t *pSink)
{
    const struct udp_pcb *pPcb;
    const struct udp_pcb *pEarlier;

    for (pPcb = udp_pcbs; pPcb != NULL; pPcb = pPcb->next)
    {
        if (udpListens(pPcb))
        {
            const struct netif *pOwner =
                ownerOf(&pPcb->local_ip, PCB_BOUND_INDEX(pPcb), &pSource->stats.unknownAddresses);
            bool duplicate = false;

            for (pEarlier = udp_pcbs; (pEarlier != pPcb) && !duplicate; pEarlier = pEarlier->next)
            {
                duplicate =
                    udpListens(pEarlier) && (pEarlier->local_port == pPcb->local_port) &&
                    (ownerOf(&pEarlier->local_ip, PCB_BOUND_INDEX(pEarlier), NULL) == pOwner);
            }
            deliverListener(pSource, pSink, pPcb->local_port, pOwner, duplicate);
        }
    }
}
#endif /* LWIP_UDP */

#if MIB2_STATS
/**
 * @brief Delivers every netif's MIB-2 counters (32-bit, cumulative).
 * @param[in,out] pSource The source.
 * @param[in] pSink The sink.
 */
static void collectInterfaces(DefenderLwipSource_t *pSource, DefenderMetricsSink_t *pSink)
{
    struct netif *pNetif;
    DefenderInterfaceCounters_t entry;

    FOR_EACH_NETIF(pNetif)
    {
        const struct stats_mib2_netif_ctrs *pCounters = &pNetif->mib2_counters;

        (void) memset(&entry, 0, sizeof(entry));
        netifName(pNetif, entry.name);
        entry.bytesIn = pCounters->ifinoctets;
        entry.bytesOut = pCounters->ifoutoctets;
        /* Sums of two wrapping counters, kept modulo 2^32 like the counters. */
        entry.packetsIn = (uint32_t) (pCounters->ifinucastpkts + pCounters->ifinnucastpkts);
        entry.packetsOut = (uint32_t) (pCounters->ifoutucastpkts + pCounters->ifoutnucastpkts);
        entry.isLoopback = netifIsLoopback(pNetif);
        entry.counterBits = 32U;
        pSource->stats.interfaces++;
        Defender_SinkAddInterface(pSink, &entry);
    }
}
#endif /* MIB2_STATS */

/**
 * @brief Collects one group; runs in lwIP's core context.
 * @param[in,out] pSource The source.
 * @param[in] group The group.
 * @param[in] pSink The sink.
 * @return DEFENDER_SOURCE_OK or DEFENDER_SOURCE_UNSUPPORTED.
 */
static DefenderSourceStatus_t collectLocked(DefenderLwipSource_t *pSource,
                                            DefenderMetricGroup_t group,
                                            DefenderMetricsSink_t *pSink)
{
    DefenderSourceStatus_t status = DEFENDER_SOURCE_OK;

    /* Without TCP or UDP in the build there is nothing to list: an empty list is true. */
    if (group == DEFENDER_METRIC_TCP_CONNECTIONS)
    {
#if LWIP_TCP
        collectConnections(pSource, pSink);
#endif
    }
    else if (group == DEFENDER_METRIC_LISTENING_TCP_PORTS)
    {
#if LWIP_TCP
        collectTcpListeners(pSource, pSink);
#endif
    }
    else if (group == DEFENDER_METRIC_LISTENING_UDP_PORTS)
    {
#if LWIP_UDP
        collectUdpListeners(pSource, pSink);
#endif
    }
    else if (group == DEFENDER_METRIC_NETWORK_STATS)
    {
#if MIB2_STATS
        collectInterfaces(pSource, pSink);
#else
        status = DEFENDER_SOURCE_UNSUPPORTED;
#endif
    }
    else
    {
        status = DEFENDER_SOURCE_UNSUPPORTED;
    }
    return status;
}

/*-----------------------------------------------------------------------------------------*/
/* Public functions                                                                        */
/*-----------------------------------------------------------------------------------------*/

bool DefenderLwip_CanLockCore(void)
{
    return SOURCE_CAN_LOCK != 0;
}

bool DefenderLwip_HasInterfaceCounters(void)
{
    return MIB2_STATS != 0;
}

DefenderStatus_t DefenderLwip_SourceInit(DefenderLwipSource_t *pSource,
                                         const DefenderLwipSourceOptions_t *pOptions)
{
    DefenderStatus_t status = DEFENDER_BAD_PARAMETER;
    bool lockCore = (pOptions == NULL) || !pOptions->callerInCoreContext;

    if ((pSource != NULL) && (!lockCore || (SOURCE_CAN_LOCK != 0)))
    {
        (void) memset(pSource, 0, sizeof(*pSource));
        pSource->lockCore = lockCore;
        status = DEFENDER_SUCCESS;
    }
    return status;
}

void DefenderLwip_SourceGet(DefenderLwipSource_t *pSource, DefenderMetricsSource_t *pInterface)
{
    if ((pSource != NULL) && (pInterface != NULL))
    {
        pInterface->pContext = pSource;
        pInterface->pfCollect = DefenderLwip_Collect;
    }
}

DefenderSourceStatus_t DefenderLwip_Collect(void *pContext, DefenderMetricGroup_t group,
                                            DefenderMetricsSink_t *pSink)
{
    DefenderLwipSource_t *pSource = (DefenderLwipSource_t *) pContext;
    DefenderSourceStatus_t status = DEFENDER_SOURCE_ERROR;

    if ((pSource != NULL) && (pSink != NULL))
    {
#if SOURCE_CAN_LOCK
        if (pSource->lockCore)
        {
            LOCK_TCPIP_CORE();
        }
#endif
#ifdef LWIP_ASSERT_CORE_LOCKED
        LWIP_ASSERT_CORE_LOCKED();
#endif
        pSource->stats.collections++;
        status = collectLocked(pSource, group, pSink);
        if (status == DEFENDER_SOURCE_UNSUPPORTED)
        {
            pSource->stats.unsupported++;
        }
#if SOURCE_CAN_LOCK
        if (pSource->lockCore)
        {
            UNLOCK_TCPIP_CORE();
        }
#endif
    }
    return status;
}

DefenderStatus_t DefenderLwip_SourceGetStats(const DefenderLwipSource_t *pSource,
                                             DefenderLwipSourceStats_t *pStats)
{
    DefenderStatus_t status = DEFENDER_BAD_PARAMETER;

    if ((pSource != NULL) && (pStats != NULL))
    {
        *pStats = pSource->stats;
        status = DEFENDER_SUCCESS;
    }
    return status;
}
