/**
 * @file test_metrics_lwip.c
 * @brief Unit tests of the lwIP metrics source over PCB and netif lists built here, with
 * lwIP's real headers in the configuration of test/unit/lwip/lwipopts.h (built several
 * times: dual stack with core locking and MIB-2 counters, IPv4 only with NO_SYS and no
 * counters, IPv6 only). Edge cases the in-process stack cannot easily produce: lists
 * longer than the sink's cap, PCBs in every other state, IPv4-mapped peers, addresses no
 * netif owns, zones, counters that wrap, odd netif names.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "lwip/opt.h"
#include "lwip/ip_addr.h"
#include "lwip/netif.h"
#include "lwip/tcp.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/udp.h"

#include "defender_core.h"
#include "defender_metrics_lwip.h"

/*-----------------------------------------------------------------------------------------*/
/* The lists lwIP would own, and its functions the source calls                           */
/*-----------------------------------------------------------------------------------------*/

struct tcp_pcb *tcp_active_pcbs;
union tcp_listen_pcbs_t tcp_listen_pcbs;
struct udp_pcb *udp_pcbs;
#if !LWIP_SINGLE_NETIF
struct netif *netif_list;
#endif
struct netif *netif_default;

struct netif *netif_get_by_index(u8_t idx)
{
    struct netif *pNetif;
    struct netif *pFound = NULL;

    NETIF_FOREACH(pNetif)
    {
        if (netif_get_index(pNetif) == idx)
        {
            pFound = pNetif;
        }
    }
    return pFound;
}

/** @brief Core lock depth and what the source did with it. */
static int lockDepth;
static unsigned int locks;
static unsigned int contextChecks;
static bool inCoreContext;

void TestLwip_LockCore(void)
{
    assert_int_equal(lockDepth, 0); /* lwIP's lock is not recursive */
    lockDepth++;
    locks++;
}

void TestLwip_UnlockCore(void)
{
    assert_int_equal(lockDepth, 1);
    lockDepth--;
}

void TestLwip_AssertCoreLocked(void)
{
    contextChecks++;
    assert_true((lockDepth > 0) || inCoreContext);
}

/*-----------------------------------------------------------------------------------------*/
/* Building the lists                                                                      */
/*-----------------------------------------------------------------------------------------*/

#define MANY 300U

static struct netif netifs[3];
static struct tcp_pcb tcpPcbs[MANY];
static struct tcp_pcb_listen listenPcbs[MANY];
static struct udp_pcb udpPcbsStore[MANY];

static DefenderLwipSource_t source;
static DefenderConnection_t connHead[MANY];
static DefenderConnection_t connWindow[MANY];
static DefenderListeningPort_t portHead[MANY];
static DefenderListeningPort_t portWindow[MANY];
static DefenderInterfaceCounters_t interfaces[DEFENDER_CONFIG_MAX_INTERFACES];

#if LWIP_IPV4
/** @brief Sets an IPv4 address. */
static void setV4(ip_addr_t *pAddress, uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
    memset(pAddress, 0, sizeof(*pAddress));
    IP_ADDR4(pAddress, a, b, c, d);
}
#endif

#if LWIP_IPV6
/** @brief Sets an IPv6 address from four host-order words. */
static void setV6(ip_addr_t *pAddress, uint32_t w0, uint32_t w1, uint32_t w2, uint32_t w3)
{
    memset(pAddress, 0, sizeof(*pAddress));
    IP_ADDR6_HOST(pAddress, w0, w1, w2, w3);
}
#endif

/** @brief Adds a netif named name[0..1] with number `num` (first one is the default). */
static struct netif *addNetif(size_t slot, const char *pName, uint8_t num)
{
    struct netif *pNetif = &netifs[slot];

    memset(pNetif, 0, sizeof(*pNetif));
    pNetif->name[0] = pName[0];
    pNetif->name[1] = pName[1];
    pNetif->num = num;
#if !LWIP_SINGLE_NETIF
    pNetif->next = netif_list;
    netif_list = pNetif;
#endif
    if (netif_default == NULL)
    {
        netif_default = pNetif;
    }
    return pNetif;
}

#if LWIP_IPV6
/** @brief Gives a netif a valid IPv6 address in slot i. */
static void addV6(struct netif *pNetif, size_t i, uint32_t w0, uint32_t w3)
{
    setV6(&pNetif->ip6_addr[i], w0, 0U, 0U, w3);
    pNetif->ip6_addr_state[i] = IP6_ADDR_PREFERRED;
}
#endif

/** @brief Starts from empty lists and a fresh source that takes the lock if it can. */
static int reset(void **state)
{
    DefenderLwipSourceOptions_t options = {!DefenderLwip_CanLockCore()};

    (void) state;
    tcp_active_pcbs = NULL;
    tcp_listen_pcbs.listen_pcbs = NULL;
    udp_pcbs = NULL;
#if !LWIP_SINGLE_NETIF
    netif_list = NULL;
#endif
    netif_default = NULL;
    memset(tcpPcbs, 0, sizeof(tcpPcbs));
    memset(listenPcbs, 0, sizeof(listenPcbs));
    memset(udpPcbsStore, 0, sizeof(udpPcbsStore));
    lockDepth = 0;
    locks = 0U;
    contextChecks = 0U;
    inCoreContext = options.callerInCoreContext;
    assert_int_equal(DefenderLwip_SourceInit(&source, &options), DEFENDER_SUCCESS);
    return 0;
}

/** @brief Adds an active TCP PCB (list order: last added first, as lwIP's TCP_REG). */
static struct tcp_pcb *addTcp(size_t slot, enum tcp_state state, uint16_t localPort,
                              uint16_t remotePort)
{
    struct tcp_pcb *pPcb = &tcpPcbs[slot];

    pPcb->state = state;
    pPcb->local_port = localPort;
    pPcb->remote_port = remotePort;
    pPcb->next = tcp_active_pcbs;
    tcp_active_pcbs = pPcb;
    return pPcb;
}

/** @brief Adds a listening TCP PCB. */
static struct tcp_pcb_listen *addListen(size_t slot, uint16_t port)
{
    struct tcp_pcb_listen *pPcb = &listenPcbs[slot];

    pPcb->state = LISTEN;
    pPcb->local_port = port;
    pPcb->next = tcp_listen_pcbs.listen_pcbs;
    tcp_listen_pcbs.listen_pcbs = pPcb;
    return pPcb;
}

/** @brief Adds a UDP PCB. */
static struct udp_pcb *addUdp(size_t slot, uint16_t port, uint8_t flags)
{
    struct udp_pcb *pPcb = &udpPcbsStore[slot];

    pPcb->local_port = port;
    pPcb->flags = flags;
    pPcb->next = udp_pcbs;
    udp_pcbs = pPcb;
    return pPcb;
}

/** @brief One collection's result. */
typedef struct Collected
{
    DefenderSourceStatus_t status;
    size_t count;
    uint64_t total;
} Collected_t;

/** @brief Collects a group into a real sink of `capacity` entries. */
static Collected_t collect(DefenderMetricGroup_t group, size_t capacity)
{
    DefenderMetricsSource_t iface = {0};
    DefenderMetricsSink_t sink;
    Collected_t result;

    DefenderLwip_SourceGet(&source, &iface);
    if (group == DEFENDER_METRIC_TCP_CONNECTIONS)
    {
        Defender_SinkInit(&sink, group, connHead, connWindow, capacity, 0U, 0U);
    }
    else if (group == DEFENDER_METRIC_NETWORK_STATS)
    {
        Defender_SinkInit(&sink, group, interfaces, NULL, DEFENDER_CONFIG_MAX_INTERFACES, 0U, 0U);
    }
    else
    {
        Defender_SinkInit(&sink, group, portHead, portWindow, capacity, 0U, 0U);
    }
    result.status = iface.pfCollect(iface.pContext, group, &sink);
    assert_int_equal(lockDepth, 0);
    if (group == DEFENDER_METRIC_NETWORK_STATS)
    {
        result.count = sink.interfaceCount;
        result.total = sink.interfaceCount;
    }
    else
    {
        result.count = Defender_SinkFinish(&sink);
        result.total = sink.seen;
    }
    return result;
}

/** @brief Finds a listener entry. */
static bool hasPort(size_t count, uint16_t port, const char *pInterface)
{
    size_t i;
    size_t found = 0U;

    for (i = 0U; i < count; i++)
    {
        if ((portWindow[i].port == port) && (strcmp(portWindow[i].interfaceName, pInterface) == 0))
        {
            found++;
        }
    }
    return found == 1U;
}

/** @brief Finds the connection entry of a local port. */
static const DefenderConnection_t *connectionOf(size_t count, uint16_t localPort)
{
    const DefenderConnection_t *pFound = NULL;
    size_t i;

    for (i = 0U; i < count; i++)
    {
        if (connWindow[i].localPort == localPort)
        {
            assert_null(pFound);
            pFound = &connWindow[i];
        }
    }
    assert_non_null(pFound);
    return pFound;
}

/*-----------------------------------------------------------------------------------------*/
/* Tests                                                                                   */
/*-----------------------------------------------------------------------------------------*/

/** @brief Locking as configured: one lock per collection, or none in the core context. */
static void test_locking(void **state)
{
    DefenderLwipSourceOptions_t inCore = {true};
    Collected_t result;

    (void) state;
    result = collect(DEFENDER_METRIC_TCP_CONNECTIONS, 4U);
    assert_int_equal(result.status, DEFENDER_SOURCE_OK);
    assert_int_equal(result.total, 0U);
    assert_int_equal(contextChecks, 1U);
#if !NO_SYS
    assert_true(DefenderLwip_CanLockCore());
    assert_int_equal(locks, 1U);
    assert_int_equal(DefenderLwip_SourceInit(&source, NULL), DEFENDER_SUCCESS);
    (void) collect(DEFENDER_METRIC_LISTENING_UDP_PORTS, 4U);
    assert_int_equal(locks, 2U);
#else
    /* No core lock to take: the integrator must call in the core context and say so. */
    assert_false(DefenderLwip_CanLockCore());
    assert_int_equal(locks, 0U);
    assert_int_equal(DefenderLwip_SourceInit(&source, NULL), DEFENDER_BAD_PARAMETER);
#endif
    assert_int_equal(DefenderLwip_SourceInit(&source, &inCore), DEFENDER_SUCCESS);
    inCoreContext = true;
    locks = 0U;
    (void) collect(DEFENDER_METRIC_LISTENING_TCP_PORTS, 4U);
    assert_int_equal(locks, 0U);
}

/** @brief Bad arguments and groups. */
static void test_arguments(void **state)
{
    DefenderMetricsSink_t sink;
    DefenderMetricsSource_t iface = {0};
    DefenderLwipSourceStats_t stats;

    (void) state;
    assert_int_equal(DefenderLwip_SourceInit(NULL, NULL), DEFENDER_BAD_PARAMETER);
    assert_int_equal(DefenderLwip_Collect(NULL, DEFENDER_METRIC_TCP_CONNECTIONS, &sink),
                     DEFENDER_SOURCE_ERROR);
    assert_int_equal(DefenderLwip_Collect(&source, DEFENDER_METRIC_TCP_CONNECTIONS, NULL),
                     DEFENDER_SOURCE_ERROR);
    Defender_SinkInit(&sink, DEFENDER_METRIC_TCP_CONNECTIONS, connHead, connWindow, 4U, 0U, 0U);
    assert_int_equal(DefenderLwip_Collect(&source, 1U << 7, &sink), DEFENDER_SOURCE_UNSUPPORTED);
    DefenderLwip_SourceGet(NULL, &iface);
    assert_null(iface.pfCollect);
    DefenderLwip_SourceGet(&source, NULL);
    assert_int_equal(DefenderLwip_SourceGetStats(NULL, &stats), DEFENDER_BAD_PARAMETER);
    assert_int_equal(DefenderLwip_SourceGetStats(&source, NULL), DEFENDER_BAD_PARAMETER);
    assert_int_equal(DefenderLwip_SourceGetStats(&source, &stats), DEFENDER_SUCCESS);
    assert_int_equal(stats.unsupported, 1U);
}

/** @brief Only ESTABLISHED PCBs; addresses, ports and interfaces as lwIP holds them. */
static void test_connections(void **state)
{
    static const enum tcp_state others[] = {CLOSED,     LISTEN,  SYN_SENT,   SYN_RCVD, FIN_WAIT_1,
                                            FIN_WAIT_2, CLOSING, CLOSE_WAIT, LAST_ACK, TIME_WAIT};
    struct netif *pEt = addNetif(0U, "et", 0U);
    struct netif *pLo = addNetif(1U, "lo", 1U);
    struct tcp_pcb *pPcb;
    const DefenderConnection_t *pEntry;
    DefenderLwipSourceStats_t stats;
    Collected_t result;
    size_t i;

    (void) state;
    (void) pEt;
    (void) pLo;
    for (i = 0U; i < (sizeof(others) / sizeof(others[0])); i++)
    {
        pPcb = addTcp(i, others[i], (uint16_t) (100U + i), 443U);
#if LWIP_IPV4
        setV4(&pPcb->remote_ip, 192, 0, 2, 1);
#else
        setV6(&pPcb->remote_ip, 0x20010db8U, 0U, 0U, 1U);
#endif
    }
#if LWIP_IPV4
    setV4(&pEt->ip_addr, 192, 168, 1, 20);
    setV4(&pLo->ip_addr, 127, 0, 0, 1);
    pPcb = addTcp(20U, ESTABLISHED, 50000U, 8883U);
    setV4(&pPcb->local_ip, 192, 168, 1, 20);
    setV4(&pPcb->remote_ip, 198, 51, 100, 7);
    pPcb = addTcp(21U, ESTABLISHED, 50001U, 22U);
    setV4(&pPcb->local_ip, 127, 0, 0, 9); /* owned by no netif: the loopback netif */
    setV4(&pPcb->remote_ip, 127, 0, 0, 1);
    pPcb = addTcp(22U, ESTABLISHED, 50002U, 80U);
    setV4(&pPcb->local_ip, 10, 9, 9, 9); /* owned by no netif: no name */
    setV4(&pPcb->remote_ip, 10, 9, 9, 1);
#endif
#if LWIP_IPV6
    addV6(pEt, 1U, 0x20010db8U, 0x20U);
    pPcb = addTcp(23U, ESTABLISHED, 50003U, 443U);
    setV6(&pPcb->local_ip, 0x20010db8U, 0U, 0U, 0x20U);
    setV6(&pPcb->remote_ip, 0x20010db8U, 0U, 0U, 0x17U);
    pPcb = addTcp(24U, ESTABLISHED, 50004U, 1883U);
    setV6(&pPcb->local_ip, 0U, 0U, 0xFFFFU, 0xC0A80114U);  /* ::ffff:192.168.1.20 */
    setV6(&pPcb->remote_ip, 0U, 0U, 0xFFFFU, 0xCB007107U); /* ::ffff:203.0.113.7 */
    pPcb = addTcp(25U, ESTABLISHED, 50005U, 7U);
    setV6(&pPcb->local_ip, 0U, 0U, 0U, 1U); /* ::1 on no netif: the "lo" netif */
    setV6(&pPcb->remote_ip, 0U, 0U, 0U, 1U);
#endif

    result = collect(DEFENDER_METRIC_TCP_CONNECTIONS, 16U);
    assert_int_equal(result.status, DEFENDER_SOURCE_OK);
    assert_int_equal(result.total, (LWIP_IPV4 ? 3U : 0U) + (LWIP_IPV6 ? 3U : 0U));
#if LWIP_IPV4
    pEntry = connectionOf(result.count, 50000U);
    assert_int_equal(pEntry->remoteAddress.family, 4U);
    assert_memory_equal(pEntry->remoteAddress.bytes, ((const uint8_t[]){198, 51, 100, 7}), 4U);
    assert_int_equal(pEntry->remotePort, 8883U);
    assert_string_equal(pEntry->localInterface, "et0");
    assert_string_equal(connectionOf(result.count, 50001U)->localInterface, "lo1");
    assert_string_equal(connectionOf(result.count, 50002U)->localInterface, "");
#endif
#if LWIP_IPV6
    pEntry = connectionOf(result.count, 50003U);
    assert_int_equal(pEntry->remoteAddress.family, 6U);
    assert_int_equal(pEntry->remoteAddress.bytes[15], 0x17U);
    assert_string_equal(pEntry->localInterface, "et0");
    pEntry = connectionOf(result.count, 50004U);
    assert_int_equal(pEntry->remoteAddress.family, 4U);
    assert_memory_equal(pEntry->remoteAddress.bytes, ((const uint8_t[]){203, 0, 113, 7}), 4U);
#if LWIP_IPV4
    assert_string_equal(pEntry->localInterface, "et0"); /* the mapped address is et0's */
#endif
    /* A single-netif build lists only the default netif (et0): no loopback netif. */
    assert_string_equal(connectionOf(result.count, 50005U)->localInterface,
                        LWIP_SINGLE_NETIF ? "" : "lo1");
#endif
    assert_int_equal(DefenderLwip_SourceGetStats(&source, &stats), DEFENDER_SUCCESS);
    /* 10.9.9.9; IPv6 only: the IPv4-mapped local address (no IPv4 netif address); with a
     * single netif also ::1. */
    assert_int_equal(stats.unknownAddresses, LWIP_SINGLE_NETIF ? 2U : 1U);
}

/** @brief More connections than the sink keeps: all delivered, the cap listed. */
static void test_connections_beyond_cap(void **state)
{
    Collected_t result;
    size_t i;

    (void) state;
    (void) addNetif(0U, "et", 0U);
    for (i = 0U; i < MANY; i++)
    {
        struct tcp_pcb *pPcb = addTcp(i, ESTABLISHED, (uint16_t) (1000U + i), 443U);

#if LWIP_IPV4
        setV4(&pPcb->remote_ip, 198, 51, 100, (uint8_t) i);
#else
        setV6(&pPcb->remote_ip, 0x20010db8U, 0U, 0U, (uint32_t) i);
#endif
    }
    result = collect(DEFENDER_METRIC_TCP_CONNECTIONS, 10U);
    assert_int_equal(result.status, DEFENDER_SOURCE_OK);
    assert_int_equal(result.total, MANY);
    assert_int_equal(result.count, 10U);
}

/** @brief TCP listeners: wildcard (IPv4, IPv6, any type), bound to a netif, per address,
 * duplicates once, a PCB in another state skipped, more than the cap. */
static void test_tcp_listeners(void **state)
{
    struct netif *pEt = addNetif(0U, "et", 0U);
    struct netif *pLo = addNetif(1U, "lo", 1U);
    struct tcp_pcb_listen *pPcb;
    DefenderLwipSourceStats_t stats;
    Collected_t result;
    size_t i;

    (void) state;
    (void) pLo;
    pPcb = addListen(0U, 80U); /* wildcard of the configured family */
    (void) pPcb;
#if LWIP_IPV6
    pPcb = addListen(1U, 80U);
    setV6(&pPcb->local_ip, 0U, 0U, 0U, 0U); /* [::]:80, the same (80, "") */
#endif
#if LWIP_IPV4 && LWIP_IPV6
    pPcb = addListen(2U, 81U);
    IP_SET_TYPE_VAL(pPcb->local_ip, IPADDR_TYPE_ANY); /* dual-stack wildcard */
#endif
    pPcb = addListen(3U, 82U);
    pPcb->netif_idx = netif_get_index(pEt); /* wildcard bound to et0 */
#if LWIP_IPV4
    setV4(&pEt->ip_addr, 192, 168, 1, 20);
    pPcb = addListen(4U, 82U);
    setV4(&pPcb->local_ip, 192, 168, 1, 20); /* the same (82, "et0") */
#endif
#if LWIP_IPV6
    addV6(pEt, 0U, 0xfe800000U, 0x20U);
    pPcb = addListen(5U, 83U);
    setV6(&pPcb->local_ip, 0xfe800000U, 0U, 0U, 0x99U);
    ip6_addr_set_zone(ip_2_ip6(&pPcb->local_ip), netif_get_index(pEt)); /* zone names et0 */
#endif
    pPcb = addListen(6U, 84U);
    pPcb->state = CLOSED; /* not a listener, whatever its list */

    result = collect(DEFENDER_METRIC_LISTENING_TCP_PORTS, 16U);
    assert_int_equal(result.status, DEFENDER_SOURCE_OK);
    assert_true(hasPort(result.count, 80U, ""));
#if LWIP_IPV4 && LWIP_IPV6
    assert_true(hasPort(result.count, 81U, ""));
#endif
    assert_true(hasPort(result.count, 82U, "et0"));
#if LWIP_IPV6 && (LWIP_IPV6_SCOPES)
    assert_true(hasPort(result.count, 83U, "et0"));
#endif
    assert_false(hasPort(result.count, 84U, ""));
    /* Without zones, fe80::99 belongs to no netif: (83, "") is still one entry. */
    assert_int_equal(result.total,
                     2U + ((LWIP_IPV4 && LWIP_IPV6) ? 1U : 0U) + (LWIP_IPV6 ? 1U : 0U));
    assert_int_equal(DefenderLwip_SourceGetStats(&source, &stats), DEFENDER_SUCCESS);
    assert_int_equal(stats.duplicates, (LWIP_IPV6 ? 1U : 0U) + (LWIP_IPV4 ? 1U : 0U));

    /* Many listeners: all counted, the cap listed. */
    tcp_listen_pcbs.listen_pcbs = NULL;
    for (i = 0U; i < MANY; i++)
    {
        (void) addListen(i, (uint16_t) (2000U + i));
    }
    result = collect(DEFENDER_METRIC_LISTENING_TCP_PORTS, 10U);
    assert_int_equal(result.total, MANY);
    assert_int_equal(result.count, 10U);
}

/** @brief UDP: bound and unconnected only; UDP-Lite and port 0 left out; duplicates once. */
static void test_udp_listeners(void **state)
{
    struct netif *pEt = addNetif(0U, "et", 0U);
    struct udp_pcb *pPcb;
    Collected_t result;

    (void) state;
    (void) addUdp(0U, 53U, 0U);
    (void) addUdp(1U, 54U, UDP_FLAGS_CONNECTED);
    (void) addUdp(2U, 55U, UDP_FLAGS_UDPLITE);
    (void) addUdp(3U, 0U, 0U);
    pPcb = addUdp(4U, 68U, 0U);
    pPcb->netif_idx = netif_get_index(pEt);
    (void) addUdp(5U, 53U, 0U); /* same wildcard (53, "") */
#if LWIP_IPV4
    setV4(&pEt->ip_addr, 10, 0, 0, 2);
    pPcb = addUdp(6U, 5353U, 0U);
    setV4(&pPcb->local_ip, 10, 0, 0, 2);
#endif
#if LWIP_IPV6
    pPcb = addUdp(7U, 53U, 0U);
    setV6(&pPcb->local_ip, 0U, 0U, 0U, 0U); /* [::]:53 */
    addV6(pEt, 2U, 0x20010db8U, 0x2U);
    pPcb = addUdp(8U, 5353U, 0U);
    setV6(&pPcb->local_ip, 0x20010db8U, 0U, 0U, 0x2U); /* the same (5353, "et0") as IPv4 */
#endif
    result = collect(DEFENDER_METRIC_LISTENING_UDP_PORTS, 16U);
    assert_int_equal(result.status, DEFENDER_SOURCE_OK);
    assert_true(hasPort(result.count, 53U, ""));
    assert_true(hasPort(result.count, 68U, "et0"));
    assert_true(hasPort(result.count, 5353U, "et0"));
    assert_int_equal(result.total, 3U);
}

/** @brief Network statistics: MIB-2 counters, or unsupported without them. */
static void test_network_stats(void **state)
{
    struct netif *pEt = addNetif(0U, "et", 255U);
    Collected_t result;

    (void) state;
#if MIB2_STATS && !LWIP_SINGLE_NETIF
    {
        struct netif *pLo = addNetif(1U, "lo", 7U);
        struct netif *pOdd = addNetif(2U, "\001\377", 12U);
        size_t i;

        pEt->mib2_counters.ifinoctets = 0xFFFFFFF0U;
        pEt->mib2_counters.ifoutoctets = 1234U;
        pEt->mib2_counters.ifinucastpkts = 0xFFFFFFFFU;
        pEt->mib2_counters.ifinnucastpkts = 2U; /* sum wraps to 1, as a 32-bit counter */
        pEt->mib2_counters.ifoutucastpkts = 10U;
        pEt->mib2_counters.ifoutnucastpkts = 5U;
        pLo->mib2_counters.ifinoctets = 77U;
        (void) pOdd;
        result = collect(DEFENDER_METRIC_NETWORK_STATS, 0U);
        assert_true(DefenderLwip_HasInterfaceCounters());
        assert_int_equal(result.status, DEFENDER_SOURCE_OK);
        assert_int_equal(result.count, 3U);
        for (i = 0U; i < result.count; i++)
        {
            const DefenderInterfaceCounters_t *pEntry = &interfaces[i];

            assert_int_equal(pEntry->counterBits, 32U);
            if (strcmp(pEntry->name, "et255") == 0)
            {
                assert_int_equal(pEntry->bytesIn, 0xFFFFFFF0U);
                assert_int_equal(pEntry->bytesOut, 1234U);
                assert_int_equal(pEntry->packetsIn, 1U);
                assert_int_equal(pEntry->packetsOut, 15U);
                assert_false(pEntry->isLoopback);
            }
            else if (strcmp(pEntry->name, "lo7") == 0)
            {
                assert_int_equal(pEntry->bytesIn, 77U);
                assert_true(pEntry->isLoopback);
            }
            else
            {
                assert_string_equal(pEntry->name, "__12");
                assert_false(pEntry->isLoopback);
            }
        }
    }
#else
    (void) pEt;
    result = collect(DEFENDER_METRIC_NETWORK_STATS, 0U);
    assert_int_equal(result.status, MIB2_STATS ? DEFENDER_SOURCE_OK : DEFENDER_SOURCE_UNSUPPORTED);
    assert_int_equal(DefenderLwip_HasInterfaceCounters(), MIB2_STATS != 0);
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_locking, reset),
        cmocka_unit_test_setup(test_arguments, reset),
        cmocka_unit_test_setup(test_connections, reset),
        cmocka_unit_test_setup(test_connections_beyond_cap, reset),
        cmocka_unit_test_setup(test_tcp_listeners, reset),
        cmocka_unit_test_setup(test_udp_listeners, reset),
        cmocka_unit_test_setup(test_network_stats, reset),
    };

    print_message("lwIP configuration: IPv4 %d, IPv6 %d, NO_SYS %d, MIB2_STATS %d\n", LWIP_IPV4,
                  LWIP_IPV6, NO_SYS, MIB2_STATS);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
