/**
 * @file test_metrics_lwip.c
 * @brief Integration test of the lwIP metrics source against a real lwIP stack running
 * in this process (the host's lwIP library, its tcpip thread and core lock).
 *
 * The stack gets two netifs that loop every packet back to themselves: "lo" (127.0.0.1,
 * ::1) and "te" (10.0.0.1, named like a device's Ethernet netif). The test opens known
 * listeners and UDP endpoints, makes TCP connections through the stack to its own
 * listeners, moves known data over them, then collects every group through the source
 * into the core's sink and compares the entries with what it opened. Nothing else uses
 * this stack, so the expected lists are exact.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

#include "lwip/opt.h"
#include "lwip/init.h"
#include "lwip/ip_addr.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/sys.h"
#include "lwip/tcp.h"
#include "lwip/tcpip.h"
#include "lwip/udp.h"

#include "defender_core.h"
#include "defender_report.h"
#include "defender_metrics_lwip.h"

#if NO_SYS || !LWIP_TCPIP_CORE_LOCKING || !LWIP_IPV4 || !LWIP_IPV6 || !LWIP_TCP || !LWIP_UDP ||    \
    !LWIP_NETIF_LOOPBACK
#error "This test expects lwIP with an OS, core locking, IPv4, IPv6, TCP, UDP and loopback"
#endif

/** @brief Entries a collection keeps. */
#define CAPACITY 64U

/** @brief Bytes the client sends on each connection, and the server back. */
#define CLIENT_BYTES 20000U
#define SERVER_BYTES 7000U

/** @brief Longest wait for the stack, in ms. */
#define WAIT_MS 10000U

/** @brief Ports of the listeners (the stack is private: any port is free). */
enum
{
    PORT_LO = 7001,       /**< TCP 127.0.0.1 and ::1 (one entry, "lo0"). */
    PORT_ANY = 7002,      /**< TCP IP_ANY_TYPE (""). */
    PORT_ANY_BOTH = 7003, /**< TCP 0.0.0.0 and :: (one entry, ""). */
    PORT_TE = 7004,       /**< TCP 10.0.0.1 ("te1"). */
    PORT_TE_BOUND = 7005, /**< TCP wildcard bound to netif te ("te1"). */
    UDP_LO = 7101,        /**< UDP 127.0.0.1 ("lo0"). */
    UDP_ANY = 7102,       /**< UDP IP_ANY_TYPE (""). */
    UDP_LO6 = 7103,       /**< UDP ::1 ("lo0"). */
    UDP_TE = 7104,        /**< UDP 10.0.0.1 ("te1"). */
    UDP_CONNECTED = 7105, /**< UDP 127.0.0.1 connected to UDP_LO: not listed. */
    UDP_ANY_BOTH = 7106   /**< UDP 0.0.0.0 and :: (one entry, ""). */
};

/** @brief One TCP connection the test makes: both ends and what they moved. */
typedef struct Link
{
    struct tcp_pcb *pClient; /**< Client end. */
    struct tcp_pcb *pServer; /**< Server end (accepted). */
    bool connected;          /**< Client's connected callback ran. */
    bool failed;             /**< Client's error callback ran. */
    size_t serverReceived;   /**< Bytes the server end received. */
    size_t clientReceived;   /**< Bytes the client end received. */
    bool clientSawFin;       /**< The server closed its end. */
} Link_t;

/** @brief A listener and the link its next accepted connection belongs to. */
typedef struct Listener
{
    struct tcp_pcb *pPcb; /**< Listening PCB. */
    Link_t *pPending;     /**< Link waiting for its server end. */
} Listener_t;

static struct netif loNetif;
static struct netif teNetif;
static Listener_t listeners[7];
static Link_t linkLo4;  /**< 127.0.0.1 -> 127.0.0.1:PORT_LO. */
static Link_t linkLo6;  /**< ::1 -> ::1:PORT_LO. */
static Link_t linkTe;   /**< 10.0.0.1 -> 10.0.0.1:PORT_TE. */
static Link_t linkHalf; /**< 127.0.0.1 -> PORT_ANY, closed by the server: not established. */
static struct udp_pcb *udpPcbs[8];
static size_t udpReceived;

static DefenderLwipSource_t source;
static DefenderConnection_t connHead[CAPACITY];
static DefenderConnection_t connWindow[CAPACITY];
static DefenderListeningPort_t portHead[CAPACITY];
static DefenderListeningPort_t portWindow[CAPACITY];
static DefenderInterfaceCounters_t interfaces[DEFENDER_CONFIG_MAX_INTERFACES];

/*-----------------------------------------------------------------------------------------*/
/* The stack                                                                               */
/*-----------------------------------------------------------------------------------------*/

/** @brief Output to another host: there is none, the packet is dropped (lwIP loops
 * packets to the netif's own addresses and to loopback before calling this). */
static err_t dropOutput4(struct netif *pNetif, struct pbuf *p, const ip4_addr_t *pDest)
{
    (void) pNetif;
    (void) p;
    (void) pDest;
    return ERR_OK;
}

/** @brief IPv6 counterpart of dropOutput4(). */
static err_t dropOutput6(struct netif *pNetif, struct pbuf *p, const ip6_addr_t *pDest)
{
    (void) pNetif;
    (void) p;
    (void) pDest;
    return ERR_OK;
}

/** @brief netif init function: the name comes in the state argument. */
static err_t initNetif(struct netif *pNetif)
{
    const char *pName = (const char *) pNetif->state;

    pNetif->name[0] = pName[0];
    pNetif->name[1] = pName[1];
    pNetif->output = dropOutput4;
    pNetif->output_ip6 = dropOutput6;
    pNetif->mtu = 1500U;
    return ERR_OK;
}

/** @brief tcpip_init's callback. */
static void onStackReady(void *pArg)
{
    sys_sem_signal((sys_sem_t *) pArg);
}

/** @brief Sleeps one millisecond. */
static void sleepMs(void)
{
    struct timespec delay = {0, 1000000L};

    (void) nanosleep(&delay, NULL);
}

/** @brief Waits (the core lock released between looks) until *pFlag is set. */
static void waitFor(const bool *pFlag, const char *pWhat)
{
    unsigned int waited;
    bool done = false;

    for (waited = 0U; (waited < WAIT_MS) && !done; waited++)
    {
        LOCK_TCPIP_CORE();
        done = *pFlag;
        UNLOCK_TCPIP_CORE();
        if (!done)
        {
            sleepMs();
        }
    }
    if (!done)
    {
        fail_msg("timed out waiting for %s", pWhat);
    }
}

/** @brief Waits until *pCount reaches `want`. */
static void waitForBytes(const size_t *pCount, size_t want, const char *pWhat)
{
    unsigned int waited;
    size_t count = 0U;

    for (waited = 0U; (waited < WAIT_MS) && (count < want); waited++)
    {
        LOCK_TCPIP_CORE();
        count = *pCount;
        UNLOCK_TCPIP_CORE();
        if (count < want)
        {
            sleepMs();
        }
    }
    if (count != want)
    {
        fail_msg("%s: %zu bytes, expected %zu", pWhat, count, want);
    }
}

/*-----------------------------------------------------------------------------------------*/
/* TCP callbacks (tcpip thread, core lock held)                                            */
/*-----------------------------------------------------------------------------------------*/

/** @brief Server end: counts and frees what arrives; a FIN is ignored. */
static err_t onServerRecv(void *pArg, struct tcp_pcb *pPcb, struct pbuf *p, err_t err)
{
    Link_t *pLink = (Link_t *) pArg;

    (void) err;
    if (p != NULL)
    {
        pLink->serverReceived += p->tot_len;
        tcp_recved(pPcb, p->tot_len);
        (void) pbuf_free(p);
    }
    return ERR_OK;
}

/** @brief Client end: counts what arrives; a FIN is noted, the end stays open. */
static err_t onClientRecv(void *pArg, struct tcp_pcb *pPcb, struct pbuf *p, err_t err)
{
    Link_t *pLink = (Link_t *) pArg;

    (void) err;
    if (p != NULL)
    {
        pLink->clientReceived += p->tot_len;
        tcp_recved(pPcb, p->tot_len);
        (void) pbuf_free(p);
    }
    else
    {
        pLink->clientSawFin = true;
    }
    return ERR_OK;
}

/** @brief A listener accepted a connection: it is the server end of the pending link. */
static err_t onAccept(void *pArg, struct tcp_pcb *pNew, err_t err)
{
    Listener_t *pListener = (Listener_t *) pArg;
    err_t result = ERR_VAL;

    if ((err == ERR_OK) && (pNew != NULL) && (pListener->pPending != NULL))
    {
        pListener->pPending->pServer = pNew;
        tcp_arg(pNew, pListener->pPending);
        tcp_recv(pNew, onServerRecv);
        pListener->pPending = NULL;
        result = ERR_OK;
    }
    return result;
}

/** @brief The client end is connected. */
static err_t onConnected(void *pArg, struct tcp_pcb *pPcb, err_t err)
{
    (void) pPcb;
    ((Link_t *) pArg)->connected = (err == ERR_OK);
    return ERR_OK;
}

/** @brief The client end failed. */
static void onClientError(void *pArg, err_t err)
{
    (void) err;
    ((Link_t *) pArg)->failed = true;
    ((Link_t *) pArg)->connected = true; /* ends the wait; asserted afterwards */
}

/** @brief UDP: counts what arrives. */
static void onUdpRecv(void *pArg, struct udp_pcb *pPcb, struct pbuf *p, const ip_addr_t *pAddr,
                      u16_t port)
{
    (void) pArg;
    (void) pPcb;
    (void) pAddr;
    (void) port;
    udpReceived += p->tot_len;
    (void) pbuf_free(p);
}

/*-----------------------------------------------------------------------------------------*/
/* Setting up (test thread; every raw API call under the core lock)                        */
/*-----------------------------------------------------------------------------------------*/

/** @brief Opens a TCP listener on (address, port), optionally bound to a netif. */
static void listenOn(Listener_t *pListener, const ip_addr_t *pAddress, u16_t port,
                     struct netif *pBound)
{
    struct tcp_pcb *pPcb;

    LOCK_TCPIP_CORE();
    pPcb = tcp_new_ip_type((u8_t) IP_GET_TYPE(pAddress));
    assert_non_null(pPcb);
    if (pBound != NULL)
    {
        tcp_bind_netif(pPcb, pBound);
    }
    assert_int_equal(tcp_bind(pPcb, pAddress, port), ERR_OK);
    pListener->pPcb = tcp_listen(pPcb);
    assert_non_null(pListener->pPcb);
    tcp_arg(pListener->pPcb, pListener);
    tcp_accept(pListener->pPcb, onAccept);
    UNLOCK_TCPIP_CORE();
}

/** @brief Connects a link to (address, port) through a listener and moves the test's
 * data both ways. */
static void connectLink(Link_t *pLink, Listener_t *pListener, const ip_addr_t *pAddress, u16_t port)
{
    static uint8_t data[CLIENT_BYTES];

    memset(data, 0x5A, sizeof(data));
    LOCK_TCPIP_CORE();
    pListener->pPending = pLink;
    pLink->pClient = tcp_new_ip_type((u8_t) IP_GET_TYPE(pAddress));
    assert_non_null(pLink->pClient);
    tcp_arg(pLink->pClient, pLink);
    tcp_recv(pLink->pClient, onClientRecv);
    tcp_err(pLink->pClient, onClientError);
    assert_int_equal(tcp_connect(pLink->pClient, pAddress, port, onConnected), ERR_OK);
    UNLOCK_TCPIP_CORE();
    waitFor(&pLink->connected, "the connection");
    assert_false(pLink->failed);

    /* Client to server, in pieces that fit the send buffer. */
    {
        size_t sent = 0U;
        unsigned int waited = 0U;

        while ((sent < CLIENT_BYTES) && (waited < WAIT_MS))
        {
            size_t chunk;

            LOCK_TCPIP_CORE();
            chunk = CLIENT_BYTES - sent;
            if (chunk > tcp_sndbuf(pLink->pClient))
            {
                chunk = tcp_sndbuf(pLink->pClient);
            }
            if ((chunk > 0U) && (tcp_write(pLink->pClient, &data[sent], (u16_t) chunk,
                                           TCP_WRITE_FLAG_COPY) == ERR_OK))
            {
                sent += chunk;
                (void) tcp_output(pLink->pClient);
            }
            UNLOCK_TCPIP_CORE();
            if (sent < CLIENT_BYTES)
            {
                sleepMs();
                waited++;
            }
        }
        assert_int_equal(sent, CLIENT_BYTES);
    }
    waitForBytes(&pLink->serverReceived, CLIENT_BYTES, "server end");

    LOCK_TCPIP_CORE();
    assert_non_null(pLink->pServer);
    assert_int_equal(tcp_write(pLink->pServer, data, SERVER_BYTES, TCP_WRITE_FLAG_COPY), ERR_OK);
    (void) tcp_output(pLink->pServer);
    UNLOCK_TCPIP_CORE();
    waitForBytes(&pLink->clientReceived, SERVER_BYTES, "client end");
}

/** @brief Opens a UDP PCB bound to (address, port). */
static struct udp_pcb *udpOn(const ip_addr_t *pAddress, u16_t port)
{
    struct udp_pcb *pPcb;

    LOCK_TCPIP_CORE();
    pPcb = udp_new_ip_type((u8_t) IP_GET_TYPE(pAddress));
    assert_non_null(pPcb);
    assert_int_equal(udp_bind(pPcb, pAddress, port), ERR_OK);
    udp_recv(pPcb, onUdpRecv, NULL);
    UNLOCK_TCPIP_CORE();
    return pPcb;
}

/** @brief Starts lwIP, adds the netifs, opens everything the tests look for. */
static int setUpStack(void **state)
{
    sys_sem_t ready;
    ip4_addr_t address4;
    ip4_addr_t mask4;
    ip4_addr_t gateway4;
    ip_addr_t loopback4;
    ip_addr_t loopback6;
    ip_addr_t te4;
    ip_addr_t any4;
    ip_addr_t any6;
    ip6_addr_t one6;
    s8_t index6 = -1;

    (void) state;
    assert_int_equal(sys_sem_new(&ready, 0), ERR_OK);
    tcpip_init(onStackReady, &ready);
    sys_sem_wait(&ready);
    sys_sem_free(&ready);

    IP4_ADDR(&gateway4, 0, 0, 0, 0);
    LOCK_TCPIP_CORE();
    IP4_ADDR(&address4, 127, 0, 0, 1);
    IP4_ADDR(&mask4, 255, 0, 0, 0);
    assert_non_null(
        netif_add(&loNetif, &address4, &mask4, &gateway4, (void *) "lo", initNetif, tcpip_input));
    ip6_addr_set_loopback(&one6);
    assert_int_equal(netif_add_ip6_address(&loNetif, &one6, &index6), ERR_OK);
    netif_ip6_addr_set_state(&loNetif, index6, IP6_ADDR_PREFERRED);
    netif_set_up(&loNetif);
    netif_set_link_up(&loNetif);
    netif_set_default(&loNetif);

    IP4_ADDR(&address4, 10, 0, 0, 1);
    IP4_ADDR(&mask4, 255, 255, 255, 0);
    assert_non_null(
        netif_add(&teNetif, &address4, &mask4, &gateway4, (void *) "te", initNetif, tcpip_input));
    netif_set_up(&teNetif);
    netif_set_link_up(&teNetif);
    assert_int_equal(loNetif.num, 0);
    assert_int_equal(teNetif.num, 1);
    UNLOCK_TCPIP_CORE();

    IP_ADDR4(&loopback4, 127, 0, 0, 1);
    ip_addr_copy_from_ip6(loopback6, one6);
    IP_ADDR4(&te4, 10, 0, 0, 1);
    ip_addr_set_any(0, &any4);
    ip_addr_set_any(1, &any6);

    listenOn(&listeners[0], &loopback4, PORT_LO, NULL);
    listenOn(&listeners[1], &loopback6, PORT_LO, NULL);
    listenOn(&listeners[2], IP_ANY_TYPE, PORT_ANY, NULL);
    listenOn(&listeners[3], &any4, PORT_ANY_BOTH, NULL);
    listenOn(&listeners[4], &any6, PORT_ANY_BOTH, NULL);
    listenOn(&listeners[5], &te4, PORT_TE, NULL);
    listenOn(&listeners[6], &any4, PORT_TE_BOUND, &teNetif);

    connectLink(&linkLo4, &listeners[0], &loopback4, PORT_LO);
    connectLink(&linkLo6, &listeners[1], &loopback6, PORT_LO);
    connectLink(&linkTe, &listeners[5], &te4, PORT_TE);
    connectLink(&linkHalf, &listeners[2], &loopback4, PORT_ANY);
    /* The server closes its end: FIN_WAIT_2 there, CLOSE_WAIT at the client. */
    LOCK_TCPIP_CORE();
    assert_int_equal(tcp_close(linkHalf.pServer), ERR_OK);
    UNLOCK_TCPIP_CORE();
    waitFor(&linkHalf.clientSawFin, "the server's FIN");

    udpPcbs[0] = udpOn(&loopback4, UDP_LO);
    udpPcbs[1] = udpOn(IP_ANY_TYPE, UDP_ANY);
    udpPcbs[2] = udpOn(&loopback6, UDP_LO6);
    udpPcbs[3] = udpOn(&te4, UDP_TE);
    udpPcbs[4] = udpOn(&loopback4, UDP_CONNECTED);
    udpPcbs[5] = udpOn(&any4, UDP_ANY_BOTH);
    udpPcbs[6] = udpOn(&any6, UDP_ANY_BOTH);
    LOCK_TCPIP_CORE();
    assert_int_equal(udp_connect(udpPcbs[4], &loopback4, UDP_LO), ERR_OK);
    {
        struct pbuf *p = pbuf_alloc(PBUF_TRANSPORT, 100U, PBUF_RAM);

        assert_non_null(p);
        memset(p->payload, 0x33, 100U);
        assert_int_equal(udp_send(udpPcbs[4], p), ERR_OK);
        (void) pbuf_free(p);
    }
    UNLOCK_TCPIP_CORE();
    waitForBytes(&udpReceived, 100U, "UDP datagram");
    return 0;
}

/*-----------------------------------------------------------------------------------------*/
/* Collecting                                                                              */
/*-----------------------------------------------------------------------------------------*/

/** @brief One collection's result. */
typedef struct Collected
{
    DefenderSourceStatus_t status; /**< What pfCollect returned. */
    size_t count;                  /**< Entries listed (in the window array). */
    uint64_t total;                /**< Entries delivered. */
} Collected_t;

/** @brief Collects one group through the DefenderMetricsSource_t into a real sink. */
static Collected_t collect(DefenderMetricGroup_t group, size_t capacity)
{
    DefenderMetricsSource_t iface = {0};
    DefenderMetricsSink_t sink;
    Collected_t result;

    DefenderLwip_SourceGet(&source, &iface);
    assert_ptr_equal(iface.pContext, &source);
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
    bool found = false;
    size_t i;

    for (i = 0U; i < count; i++)
    {
        found = found || ((portWindow[i].port == port) &&
                          (strcmp(portWindow[i].interfaceName, pInterface) == 0));
    }
    return found;
}

/** @brief Prints a listener list. */
static void printPorts(const char *pWhat, size_t count)
{
    size_t i;

    print_message("    %s:", pWhat);
    for (i = 0U; i < count; i++)
    {
        print_message(" %u/%s", portWindow[i].port,
                      (portWindow[i].interfaceName[0] != '\0') ? portWindow[i].interfaceName : "*");
    }
    print_message("\n");
}

/** @brief Finds a connection entry: remote (family, bytes of `pRemote`, port), local port,
 * interface. */
static bool hasConnection(size_t count, const ip_addr_t *pRemote, uint16_t remotePort,
                          uint16_t localPort, const char *pInterface)
{
    DefenderIpAddress_t want;
    bool found = false;
    size_t i;

    memset(&want, 0, sizeof(want));
    if (IP_IS_V6(pRemote))
    {
        want.family = 6U;
        memcpy(want.bytes, ip_2_ip6(pRemote)->addr, 16U);
    }
    else
    {
        want.family = 4U;
        memcpy(want.bytes, &ip_2_ip4(pRemote)->addr, 4U);
    }
    for (i = 0U; i < count; i++)
    {
        const DefenderConnection_t *pEntry = &connWindow[i];

        found = found || ((pEntry->remoteAddress.family == want.family) &&
                          (memcmp(pEntry->remoteAddress.bytes, want.bytes, 16U) == 0) &&
                          (pEntry->remotePort == remotePort) && (pEntry->localPort == localPort) &&
                          (strcmp(pEntry->localInterface, pInterface) == 0));
    }
    return found;
}

/** @brief Checks both ends of a link among the collected connections. */
static void assertLinkListed(size_t count, const Link_t *pLink, const char *pInterface)
{
    ip_addr_t clientAddress;
    ip_addr_t serverAddress;
    u16_t clientPort;
    u16_t serverPort;

    enum tcp_state clientState;
    enum tcp_state serverState;

    /* Read under the lock, checked after it (a failed check must not keep the lock). */
    LOCK_TCPIP_CORE();
    clientState = pLink->pClient->state;
    serverState = pLink->pServer->state;
    ip_addr_copy(clientAddress, pLink->pClient->local_ip);
    ip_addr_copy(serverAddress, pLink->pServer->local_ip);
    clientPort = pLink->pClient->local_port;
    serverPort = pLink->pServer->local_port;
    UNLOCK_TCPIP_CORE();
    assert_int_equal(clientState, ESTABLISHED);
    assert_int_equal(serverState, ESTABLISHED);

    /* The client end: remote is the server; the server end: remote is the client. */
    assert_true(hasConnection(count, &serverAddress, serverPort, clientPort, pInterface));
    assert_true(hasConnection(count, &clientAddress, clientPort, serverPort, pInterface));
}

/** @brief Checks the connections collected: exactly the three established links. */
static void checkConnections(void)
{
    Collected_t result = collect(DEFENDER_METRIC_TCP_CONNECTIONS, CAPACITY);
    enum tcp_state halfState;
    ip_addr_t halfRemote;
    u16_t halfRemotePort;
    u16_t halfLocalPort;

    assert_int_equal(result.status, DEFENDER_SOURCE_OK);
    print_message("    %u established connections\n", (unsigned int) result.total);
    assert_int_equal(result.total, 6U);
    assert_int_equal(result.count, 6U);
    assertLinkListed(result.count, &linkLo4, "lo0");
    assertLinkListed(result.count, &linkLo6, "lo0");
    assertLinkListed(result.count, &linkTe, "te1");
    /* The half-closed link's ends are in other states and not listed. */
    LOCK_TCPIP_CORE();
    halfState = linkHalf.pClient->state;
    ip_addr_copy(halfRemote, linkHalf.pClient->remote_ip);
    halfRemotePort = linkHalf.pClient->remote_port;
    halfLocalPort = linkHalf.pClient->local_port;
    UNLOCK_TCPIP_CORE();
    assert_int_equal(halfState, CLOSE_WAIT);
    assert_false(hasConnection(result.count, &halfRemote, halfRemotePort, halfLocalPort, "lo0"));
}

/** @brief Checks the TCP listeners collected. */
static void checkTcpListeners(void)
{
    Collected_t result = collect(DEFENDER_METRIC_LISTENING_TCP_PORTS, CAPACITY);

    assert_int_equal(result.status, DEFENDER_SOURCE_OK);
    printPorts("TCP listeners", result.count);
    assert_int_equal(result.total, 5U);
    assert_int_equal(result.count, 5U);
    assert_true(hasPort(result.count, PORT_LO, "lo0"));
    assert_true(hasPort(result.count, PORT_ANY, ""));
    assert_true(hasPort(result.count, PORT_ANY_BOTH, ""));
    assert_true(hasPort(result.count, PORT_TE, "te1"));
    assert_true(hasPort(result.count, PORT_TE_BOUND, "te1"));
}

/** @brief Checks the UDP listeners collected. */
static void checkUdpListeners(void)
{
    Collected_t result = collect(DEFENDER_METRIC_LISTENING_UDP_PORTS, CAPACITY);

    assert_int_equal(result.status, DEFENDER_SOURCE_OK);
    printPorts("UDP listeners", result.count);
    assert_int_equal(result.total, 5U);
    assert_int_equal(result.count, 5U);
    assert_true(hasPort(result.count, UDP_LO, "lo0"));
    assert_true(hasPort(result.count, UDP_ANY, ""));
    assert_true(hasPort(result.count, UDP_LO6, "lo0"));
    assert_true(hasPort(result.count, UDP_TE, "te1"));
    assert_true(hasPort(result.count, UDP_ANY_BOTH, ""));
    assert_false(hasPort(result.count, UDP_CONNECTED, "lo0"));
}

/*-----------------------------------------------------------------------------------------*/
/* Tests                                                                                   */
/*-----------------------------------------------------------------------------------------*/

/** @brief The source takes the core lock itself (the default), from the test thread. */
static void test_collect_with_core_lock(void **state)
{
    DefenderLwipSourceStats_t stats;

    (void) state;
    assert_true(DefenderLwip_CanLockCore());
    assert_int_equal(DefenderLwip_SourceInit(&source, NULL), DEFENDER_SUCCESS);
    checkConnections();
    checkTcpListeners();
    checkUdpListeners();
    assert_int_equal(DefenderLwip_SourceGetStats(&source, &stats), DEFENDER_SUCCESS);
    assert_int_equal(stats.collections, 3U);
    assert_int_equal(stats.connections, 6U);
    assert_int_equal(stats.listeners, 10U);
    /* ::1 beside 127.0.0.1, :: beside 0.0.0.0 (TCP and UDP). */
    assert_int_equal(stats.duplicates, 3U);
    assert_int_equal(stats.unknownAddresses, 0U);
}

/** @brief What the collection in the tcpip thread found. */
typedef struct InThread
{
    sys_sem_t done; /**< Signalled at the end. */
    DefenderSourceStatus_t status[3];
    uint64_t totals[3];
} InThread_t;

/** @brief Runs in the tcpip thread: collects the three lists with a source that takes no
 * lock (it would deadlock there). */
static void collectInThread(void *pArg)
{
    InThread_t *pRun = (InThread_t *) pArg;
    static const DefenderMetricGroup_t groups[3] = {DEFENDER_METRIC_TCP_CONNECTIONS,
                                                    DEFENDER_METRIC_LISTENING_TCP_PORTS,
                                                    DEFENDER_METRIC_LISTENING_UDP_PORTS};
    size_t i;

    for (i = 0U; i < 3U; i++)
    {
        DefenderMetricsSink_t sink;

        if (i == 0U)
        {
            Defender_SinkInit(&sink, groups[i], connHead, connWindow, CAPACITY, 0U, 0U);
        }
        else
        {
            Defender_SinkInit(&sink, groups[i], portHead, portWindow, CAPACITY, 0U, 0U);
        }
        pRun->status[i] = DefenderLwip_Collect(&source, groups[i], &sink);
        (void) Defender_SinkFinish(&sink);
        pRun->totals[i] = sink.seen;
    }
    sys_sem_signal(&pRun->done);
}

/** @brief callerInCoreContext: pfCollect called from the tcpip thread itself. */
static void test_collect_in_tcpip_thread(void **state)
{
    DefenderLwipSourceOptions_t options = {true};
    InThread_t run;

    (void) state;
    memset(&run, 0, sizeof(run));
    assert_int_equal(DefenderLwip_SourceInit(&source, &options), DEFENDER_SUCCESS);
    assert_int_equal(sys_sem_new(&run.done, 0), ERR_OK);
    assert_int_equal(tcpip_callback(collectInThread, &run), ERR_OK);
    sys_sem_wait(&run.done);
    sys_sem_free(&run.done);
    assert_int_equal(run.status[0], DEFENDER_SOURCE_OK);
    assert_int_equal(run.status[1], DEFENDER_SOURCE_OK);
    assert_int_equal(run.status[2], DEFENDER_SOURCE_OK);
    assert_int_equal(run.totals[0], 6U);
    assert_int_equal(run.totals[1], 5U);
    assert_int_equal(run.totals[2], 5U);
}

/** @brief callerInCoreContext from the test thread with the core lock held by the caller. */
static void test_collect_caller_holds_lock(void **state)
{
    DefenderLwipSourceOptions_t options = {true};
    DefenderMetricsSink_t sink;

    (void) state;
    assert_int_equal(DefenderLwip_SourceInit(&source, &options), DEFENDER_SUCCESS);
    LOCK_TCPIP_CORE();
    Defender_SinkInit(&sink, DEFENDER_METRIC_LISTENING_TCP_PORTS, portHead, portWindow, CAPACITY,
                      0U, 0U);
    assert_int_equal(DefenderLwip_Collect(&source, DEFENDER_METRIC_LISTENING_TCP_PORTS, &sink),
                     DEFENDER_SOURCE_OK);
    UNLOCK_TCPIP_CORE();
    assert_int_equal(Defender_SinkFinish(&sink), 5U);
}

/**
 * @brief The host lwIP's LWIP_ASSERT_CORE_LOCKED() is live: a collection outside the core
 * context (callerInCoreContext claimed falsely) aborts. So every collection of the other
 * tests, which the source checks with it, did run under the core lock or in the tcpip
 * thread. Run in a child process (only the calling thread is copied: no lock is held).
 */
static void test_collect_outside_core_is_caught(void **state)
{
    DefenderLwipSourceOptions_t options = {true};
    int status = 0;
    pid_t child;

    (void) state;
    assert_int_equal(DefenderLwip_SourceInit(&source, &options), DEFENDER_SUCCESS);
    (void) fflush(NULL);
    child = fork();
    assert_true(child >= 0);
    if (child == 0)
    {
        DefenderMetricsSink_t sink;

        (void) close(STDOUT_FILENO); /* lwIP's assertion message is expected */
        Defender_SinkInit(&sink, DEFENDER_METRIC_LISTENING_TCP_PORTS, portHead, portWindow,
                          CAPACITY, 0U, 0U);
        (void) DefenderLwip_Collect(&source, DEFENDER_METRIC_LISTENING_TCP_PORTS, &sink);
        _exit(0);
    }
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGABRT);
}

/** @brief A sink with a smaller cap: the source delivers everything, the sink lists its cap
 * and counts the true total. */
static void test_sink_cap(void **state)
{
    Collected_t result;

    (void) state;
    assert_int_equal(DefenderLwip_SourceInit(&source, NULL), DEFENDER_SUCCESS);
    result = collect(DEFENDER_METRIC_TCP_CONNECTIONS, 2U);
    assert_int_equal(result.status, DEFENDER_SOURCE_OK);
    assert_int_equal(result.count, 2U);
    assert_int_equal(result.total, 6U);
    result = collect(DEFENDER_METRIC_LISTENING_UDP_PORTS, 3U);
    assert_int_equal(result.count, 3U);
    assert_int_equal(result.total, 5U);
}

/** @brief Network statistics: MIB-2 counters when this lwIP keeps them, else unsupported. */
static void test_network_stats(void **state)
{
    Collected_t result;

    (void) state;
    assert_int_equal(DefenderLwip_SourceInit(&source, NULL), DEFENDER_SUCCESS);
    result = collect(DEFENDER_METRIC_NETWORK_STATS, 0U);
#if MIB2_STATS
    {
        size_t i;
        bool sawLo = false;
        bool sawTe = false;

        assert_true(DefenderLwip_HasInterfaceCounters());
        assert_int_equal(result.status, DEFENDER_SOURCE_OK);
        assert_int_equal(result.count, 2U);
        for (i = 0U; i < result.count; i++)
        {
            const DefenderInterfaceCounters_t *pEntry = &interfaces[i];
            /* lo0 carried three links, te1 one; a looped byte goes out and comes in. */
            uint64_t moved = (strcmp(pEntry->name, "lo0") == 0)
                                 ? (3U * (CLIENT_BYTES + SERVER_BYTES))
                                 : (CLIENT_BYTES + SERVER_BYTES);

            assert_int_equal(pEntry->counterBits, 32U);
            sawLo = sawLo || (strcmp(pEntry->name, "lo0") == 0);
            sawTe = sawTe || (strcmp(pEntry->name, "te1") == 0);
            assert_int_equal(pEntry->isLoopback, strcmp(pEntry->name, "lo0") == 0);
            /* Every byte moved went out and came in on the netif, headers on top. */
            assert_true(pEntry->bytesIn >= moved);
            assert_true(pEntry->bytesOut >= moved);
            assert_true(pEntry->packetsIn > 0U);
            assert_true(pEntry->packetsOut > 0U);
        }
        assert_true(sawLo && sawTe);
    }
#else
    assert_false(DefenderLwip_HasInterfaceCounters());
    assert_int_equal(result.status, DEFENDER_SOURCE_UNSUPPORTED);
    assert_int_equal(result.count, 0U);
    print_message("    this lwIP has no MIB-2 counters (MIB2_STATS 0): network stats "
                  "unsupported, as documented\n");
#endif
}

/** @brief The lists collected from lwIP, encoded by the core as a report. */
static void test_report(void **state)
{
    static uint8_t buffer[8192];
    static char text[8193];
    DefenderReportContent_t content;
    Collected_t result;
    size_t length = 0U;

    (void) state;
    assert_int_equal(DefenderLwip_SourceInit(&source, NULL), DEFENDER_SUCCESS);
    memset(&content, 0, sizeof(content));
    content.reportId = 1U;
    content.groups = DEFENDER_METRIC_TCP_CONNECTIONS | DEFENDER_METRIC_LISTENING_TCP_PORTS;
    result = collect(DEFENDER_METRIC_TCP_CONNECTIONS, CAPACITY);
    content.connections.pEntries = connWindow;
    content.connections.count = result.count;
    content.connections.total = result.total;
    result = collect(DEFENDER_METRIC_LISTENING_TCP_PORTS, CAPACITY);
    content.tcpPorts.pEntries = portWindow;
    content.tcpPorts.count = result.count;
    content.tcpPorts.total = result.total;
    assert_int_equal(Defender_EncodeReport(&content, DEFENDER_FORMAT_JSON, DEFENDER_KEYS_LONG,
                                           buffer, sizeof(buffer), &length, NULL),
                     DEFENDER_SUCCESS);
    memcpy(text, buffer, length);
    text[length] = '\0';
    assert_non_null(strstr(text, "\"remote_addr\":\"[::1]:7001\""));
    assert_non_null(strstr(text, "\"remote_addr\":\"127.0.0.1:7001\""));
    assert_non_null(strstr(text, "\"remote_addr\":\"10.0.0.1:7004\""));
    assert_non_null(strstr(text, "{\"interface\":\"te1\",\"port\":7004}"));
    assert_non_null(strstr(text, "{\"interface\":\"lo0\",\"port\":7001}"));
    assert_non_null(strstr(text, "{\"port\":7002}"));
    assert_non_null(strstr(text, "\"total\":6"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_collect_with_core_lock),
        cmocka_unit_test(test_collect_in_tcpip_thread),
        cmocka_unit_test(test_collect_caller_holds_lock),
        cmocka_unit_test(test_collect_outside_core_is_caught),
        cmocka_unit_test(test_sink_cap),
        cmocka_unit_test(test_network_stats),
        cmocka_unit_test(test_report),
    };

    return cmocka_run_group_tests(tests, setUpStack, NULL);
}
