/**
 * @file test_metrics_linux.c
 * @brief Integration tests of the Linux metrics source against the running kernel: real
 * sockets on loopback, collected through netlink and through /proc, plus the /proc
 * parser on canned files.
 *
 * Other processes on the host may open and close sockets while this runs, so checks
 * look at the ports this test opened, and compare whole lists only with retries.
 */
#define _GNU_SOURCE

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "defender_core.h"
#include "defender_metrics_linux.h"

/** @brief Entries a test collection keeps. */
#define CAPACITY 65536U

/** @brief One collection's result. */
typedef struct Collected
{
    size_t count;   /**< Entries listed. */
    uint64_t total; /**< Entries delivered. */
    DefenderSourceStatus_t status;
} Collected_t;

static DefenderLinuxSource_t source;
static DefenderConnection_t connHead[CAPACITY];
static DefenderConnection_t connWindow[CAPACITY];
static DefenderListeningPort_t portHead[CAPACITY];
static DefenderListeningPort_t portWindow[CAPACITY];
static DefenderInterfaceCounters_t interfaces[DEFENDER_CONFIG_MAX_INTERFACES];

static bool modeNetlink = true;
static bool modeProc = false;

/**
 * @brief Initialises the source in the mode of the test state.
 * @param[in] state Pointer to a bool: true netlink, false /proc.
 */
static void initSource(void **state, const char *pRoot)
{
    DefenderLinuxSourceOptions_t options = {*(const bool *) *state, pRoot};

    assert_int_equal(DefenderLinux_SourceInit(&source, &options), DEFENDER_SUCCESS);
}

/**
 * @brief Asserts that the netlink mode did not fall back to /proc (this kernel has
 * sock_diag for TCP and UDP); prints the diagnostics.
 * @param[in] state The test state (mode).
 */
static void assertPathUsed(void **state)
{
    DefenderLinuxSourceStats_t stats;

    assert_int_equal(DefenderLinux_SourceGetStats(&source, &stats), DEFENDER_SUCCESS);
    print_message("    %s: %u collections, %u fallbacks, %u malformed lines, %u messages\n",
                  *(const bool *) *state ? "netlink" : "/proc", stats.collections,
                  stats.netlinkFallbacks, stats.malformedLines, stats.malformedMessages);
    if (*(const bool *) *state)
    {
        assert_int_equal(stats.netlinkFallbacks, 0);
    }
    assert_int_equal(stats.malformedLines, 0);
    assert_int_equal(stats.malformedMessages, 0);
}

/**
 * @brief Collects one group through the DefenderMetricsSource_t interface.
 * @param[in] group The group.
 * @return Counts; the entries are in connWindow / portWindow / interfaces.
 */
static Collected_t collect(DefenderMetricGroup_t group)
{
    DefenderMetricsSource_t iface = {0};
    DefenderMetricsSink_t sink;
    Collected_t result = {0};

    DefenderLinux_SourceGet(&source, &iface);
    assert_ptr_equal(iface.pContext, &source);
    if (group == DEFENDER_METRIC_TCP_CONNECTIONS)
    {
        Defender_SinkInit(&sink, group, connHead, connWindow, CAPACITY, 0U, 0U);
    }
    else if (group == DEFENDER_METRIC_NETWORK_STATS)
    {
        Defender_SinkInit(&sink, group, interfaces, NULL, DEFENDER_CONFIG_MAX_INTERFACES, 0U, 0U);
    }
    else
    {
        Defender_SinkInit(&sink, group, portHead, portWindow, CAPACITY, 0U, 0U);
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
        assert_true(result.total < CAPACITY);
        assert_int_equal(result.count, (size_t) result.total);
    }
    return result;
}

/**
 * @brief Counts listed listening entries with this port and interface name.
 */
static size_t countPort(const Collected_t *pResult, uint16_t port, const char *pName)
{
    size_t n = 0U;
    size_t i;

    for (i = 0U; i < pResult->count; i++)
    {
        if ((portWindow[i].port == port) && (strcmp(portWindow[i].interfaceName, pName) == 0))
        {
            n++;
        }
    }
    return n;
}

/**
 * @brief Counts listed entries with this port, any interface.
 */
static size_t countPortAny(const Collected_t *pResult, uint16_t port)
{
    size_t n = 0U;
    size_t i;

    for (i = 0U; i < pResult->count; i++)
    {
        if (portWindow[i].port == port)
        {
            n++;
        }
    }
    return n;
}

/**
 * @brief Asserts no (port, interface) appears twice.
 */
static void assertNoDuplicatePorts(const Collected_t *pResult)
{
    size_t i;
    size_t j;

    for (i = 0U; i < pResult->count; i++)
    {
        for (j = i + 1U; j < pResult->count; j++)
        {
            assert_false((portWindow[i].port == portWindow[j].port) &&
                         (strcmp(portWindow[i].interfaceName, portWindow[j].interfaceName) == 0));
        }
    }
}

/**
 * @brief Counts connections matching the given fields.
 */
static size_t countConnection(const Collected_t *pResult, uint8_t family, const char *pRemote,
                              uint16_t remotePort, uint16_t localPort, const char *pName)
{
    uint8_t bytes[16] = {0};
    size_t n = 0U;
    size_t i;

    assert_int_equal(inet_pton((family == 4U) ? AF_INET : AF_INET6, pRemote, bytes), 1);
    for (i = 0U; i < pResult->count; i++)
    {
        const DefenderConnection_t *pC = &connWindow[i];

        if ((pC->remoteAddress.family == family) &&
            (memcmp(pC->remoteAddress.bytes, bytes, (family == 4U) ? 4U : 16U) == 0) &&
            (pC->remotePort == remotePort) && (pC->localPort == localPort) &&
            (strcmp(pC->localInterface, pName) == 0))
        {
            n++;
        }
    }
    return n;
}

/**
 * @brief Opens a socket bound to addr:port (port 0: ephemeral).
 * @return fd; its port in *pPort.
 */
static int openBound(int family, int type, const char *pAddress, uint16_t port, bool v6only,
                     uint16_t *pPort)
{
    struct sockaddr_storage storage;
    socklen_t length;
    int one = 1;
    int fd = socket(family, type, 0);

    assert_true(fd >= 0);
    memset(&storage, 0, sizeof(storage));
    if (family == AF_INET)
    {
        struct sockaddr_in *p4 = (struct sockaddr_in *) &storage;

        p4->sin_family = AF_INET;
        p4->sin_port = htons(port);
        assert_int_equal(inet_pton(AF_INET, pAddress, &p4->sin_addr), 1);
        length = sizeof(*p4);
    }
    else
    {
        struct sockaddr_in6 *p6 = (struct sockaddr_in6 *) &storage;
        int flag = v6only ? 1 : 0;

        assert_int_equal(setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &flag, sizeof(flag)), 0);
        p6->sin6_family = AF_INET6;
        p6->sin6_port = htons(port);
        assert_int_equal(inet_pton(AF_INET6, pAddress, &p6->sin6_addr), 1);
        length = sizeof(*p6);
    }
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), 0);
    assert_int_equal(bind(fd, (struct sockaddr *) &storage, length), 0);
    length = sizeof(storage);
    assert_int_equal(getsockname(fd, (struct sockaddr *) &storage, &length), 0);
    *pPort = ntohs(((struct sockaddr_in *) &storage)->sin_port);
    if (type == SOCK_STREAM)
    {
        assert_int_equal(listen(fd, 16), 0);
    }
    return fd;
}

/**
 * @brief Connects a TCP client to addr:port and accepts it on the listener.
 * @param[out] pClient, pServer The two ends. @param[out] pClientPort The client's port.
 */
static void connectPair(int family, const char *pAddress, uint16_t port, int listener, int *pClient,
                        int *pServer, uint16_t *pClientPort)
{
    struct sockaddr_storage storage;
    socklen_t length;
    int fd = socket(family, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    memset(&storage, 0, sizeof(storage));
    if (family == AF_INET)
    {
        struct sockaddr_in *p4 = (struct sockaddr_in *) &storage;

        p4->sin_family = AF_INET;
        p4->sin_port = htons(port);
        assert_int_equal(inet_pton(AF_INET, pAddress, &p4->sin_addr), 1);
        length = sizeof(*p4);
    }
    else
    {
        struct sockaddr_in6 *p6 = (struct sockaddr_in6 *) &storage;

        p6->sin6_family = AF_INET6;
        p6->sin6_port = htons(port);
        assert_int_equal(inet_pton(AF_INET6, pAddress, &p6->sin6_addr), 1);
        length = sizeof(*p6);
    }
    assert_int_equal(connect(fd, (struct sockaddr *) &storage, length), 0);
    *pServer = accept(listener, NULL, NULL);
    assert_true(*pServer >= 0);
    length = sizeof(storage);
    assert_int_equal(getsockname(fd, (struct sockaddr *) &storage, &length), 0);
    *pClientPort = ntohs(((struct sockaddr_in *) &storage)->sin_port);
    *pClient = fd;
}

/*-----------------------------------------------------------------------------------------*/

/**
 * @brief Listening TCP and UDP ports: loopback and wildcard binds, IPv4 and IPv6, the
 * wildcard pair on one port counted once, a connected UDP socket left out.
 */
static void test_Collect_ListeningPorts(void **state)
{
    uint16_t pLo4, pLo6, pAny4, pAny6, pDual, uLo4, uLo6, uAny, uConn, uDummy;
    int fds[10];
    Collected_t tcpBefore;
    Collected_t udpBefore;
    Collected_t tcp;
    Collected_t udp;
    struct sockaddr_in peer;
    size_t i;

    initSource(state, NULL);
    tcpBefore = collect(DEFENDER_METRIC_LISTENING_TCP_PORTS);
    udpBefore = collect(DEFENDER_METRIC_LISTENING_UDP_PORTS);
    assert_int_equal(tcpBefore.status, DEFENDER_SOURCE_OK);
    assert_int_equal(udpBefore.status, DEFENDER_SOURCE_OK);

    fds[0] = openBound(AF_INET, SOCK_STREAM, "127.0.0.1", 0U, false, &pLo4);
    fds[1] = openBound(AF_INET6, SOCK_STREAM, "::1", 0U, true, &pLo6);
    fds[2] = openBound(AF_INET, SOCK_STREAM, "0.0.0.0", 0U, false, &pAny4);
    /* IPv6 wildcard on the same port as the IPv4 wildcard: one entry. */
    fds[3] = openBound(AF_INET6, SOCK_STREAM, "::", pAny4, true, &pAny6);
    fds[4] = openBound(AF_INET6, SOCK_STREAM, "::", 0U, false, &pDual);
    fds[5] = openBound(AF_INET, SOCK_DGRAM, "127.0.0.1", 0U, false, &uLo4);
    fds[6] = openBound(AF_INET6, SOCK_DGRAM, "::1", 0U, true, &uLo6);
    fds[7] = openBound(AF_INET6, SOCK_DGRAM, "::", 0U, false, &uAny);
    fds[8] = openBound(AF_INET, SOCK_DGRAM, "127.0.0.1", 0U, false, &uConn);
    fds[9] = openBound(AF_INET, SOCK_DGRAM, "127.0.0.1", 0U, false, &uDummy);
    memset(&peer, 0, sizeof(peer));
    peer.sin_family = AF_INET;
    peer.sin_port = htons(uDummy);
    peer.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fds[8], (struct sockaddr *) &peer, sizeof(peer)), 0);
    assert_int_equal(pAny6, pAny4);

    /* Both groups share portWindow: check TCP before collecting UDP. */
    tcp = collect(DEFENDER_METRIC_LISTENING_TCP_PORTS);
    assert_int_equal(tcp.status, DEFENDER_SOURCE_OK);

    assert_int_equal(countPort(&tcp, pLo4, "lo"), 1);
    assert_int_equal(countPortAny(&tcp, pLo4), 1);
    assert_int_equal(countPort(&tcp, pLo6, "lo"), 1);
    assert_int_equal(countPortAny(&tcp, pLo6), 1);
    assert_int_equal(countPort(&tcp, pAny4, ""), 1);
    assert_int_equal(countPortAny(&tcp, pAny4), 1);
    assert_int_equal(countPort(&tcp, pDual, ""), 1);
    assert_int_equal(countPortAny(&tcp, pDual), 1);
    assert_int_equal(countPortAny(&tcp, uLo4), 0);
    assertNoDuplicatePorts(&tcp);

    udp = collect(DEFENDER_METRIC_LISTENING_UDP_PORTS);
    assert_int_equal(udp.status, DEFENDER_SOURCE_OK);
    assert_int_equal(countPort(&udp, uLo4, "lo"), 1);
    assert_int_equal(countPort(&udp, uLo6, "lo"), 1);
    assert_int_equal(countPort(&udp, uAny, ""), 1);
    assert_int_equal(countPort(&udp, uDummy, "lo"), 1);
    /* Connected UDP is not listening. */
    assert_int_equal(countPortAny(&udp, uConn), 0);
    assertNoDuplicatePorts(&udp);
    assertPathUsed(state);
    /* Four new TCP listeners (wildcard pair counted once), four UDP ones. */
    assert_true(tcp.total >= tcpBefore.total + 4U - 2U);
    assert_true(udp.total >= udpBefore.total + 4U - 2U);

    for (i = 0U; i < 10U; i++)
    {
        (void) close(fds[i]);
    }
    tcp = collect(DEFENDER_METRIC_LISTENING_TCP_PORTS);
    assert_int_equal(countPortAny(&tcp, pLo4), 0);
    assert_int_equal(countPortAny(&tcp, pAny4), 0);
}

/**
 * @brief Established connections over IPv4 and IPv6 loopback, and an IPv4 client on a
 * dual-stack listener (the server side sees an IPv4-mapped peer, delivered as IPv4).
 */
static void test_Collect_Connections(void **state)
{
    uint16_t l4, l6, ld, c4, c6, cd;
    int listeners[3];
    int ends[6];
    Collected_t before;
    Collected_t now;
    size_t i;

    initSource(state, NULL);
    before = collect(DEFENDER_METRIC_TCP_CONNECTIONS);
    assert_int_equal(before.status, DEFENDER_SOURCE_OK);

    listeners[0] = openBound(AF_INET, SOCK_STREAM, "127.0.0.1", 0U, false, &l4);
    listeners[1] = openBound(AF_INET6, SOCK_STREAM, "::1", 0U, true, &l6);
    listeners[2] = openBound(AF_INET6, SOCK_STREAM, "::", 0U, false, &ld);
    connectPair(AF_INET, "127.0.0.1", l4, listeners[0], &ends[0], &ends[1], &c4);
    connectPair(AF_INET6, "::1", l6, listeners[1], &ends[2], &ends[3], &c6);
    connectPair(AF_INET, "127.0.0.1", ld, listeners[2], &ends[4], &ends[5], &cd);

    now = collect(DEFENDER_METRIC_TCP_CONNECTIONS);
    assert_int_equal(now.status, DEFENDER_SOURCE_OK);
    /* Client side: remote is the listener; server side: remote is the client. */
    assert_int_equal(countConnection(&now, 4U, "127.0.0.1", l4, c4, "lo"), 1);
    assert_int_equal(countConnection(&now, 4U, "127.0.0.1", c4, l4, "lo"), 1);
    assert_int_equal(countConnection(&now, 6U, "::1", l6, c6, "lo"), 1);
    assert_int_equal(countConnection(&now, 6U, "::1", c6, l6, "lo"), 1);
    assert_int_equal(countConnection(&now, 4U, "127.0.0.1", ld, cd, "lo"), 1);
    assert_int_equal(countConnection(&now, 4U, "127.0.0.1", cd, ld, "lo"), 1);
    /* Listeners are not established connections. */
    for (i = 0U; i < now.count; i++)
    {
        assert_false((connWindow[i].localPort == l4) && (connWindow[i].remotePort == 0U));
    }
    assert_true(now.total >= 6U);
    assertPathUsed(state);

    for (i = 0U; i < 6U; i++)
    {
        (void) close(ends[i]);
    }
    for (i = 0U; i < 3U; i++)
    {
        (void) close(listeners[i]);
    }
    now = collect(DEFENDER_METRIC_TCP_CONNECTIONS);
    assert_int_equal(countConnection(&now, 4U, "127.0.0.1", l4, c4, "lo"), 0);
}

/**
 * @brief Network statistics: bytes sent over loopback TCP show on `lo`, flagged loopback,
 * 64-bit counters.
 */
static void test_Collect_NetworkStats(void **state)
{
    static char block[65536];
    const size_t sendTotal = 1024U * 1024U;
    DefenderInterfaceCounters_t before = {0};
    DefenderInterfaceCounters_t after = {0};
    Collected_t result;
    uint16_t port;
    uint16_t clientPort;
    int listener;
    int client;
    int server;
    size_t sent = 0U;
    size_t received = 0U;
    size_t i;
    bool found = false;

    initSource(state, NULL);
    result = collect(DEFENDER_METRIC_NETWORK_STATS);
    assert_int_equal(result.status, DEFENDER_SOURCE_OK);
    for (i = 0U; i < result.count; i++)
    {
        assert_int_equal(interfaces[i].counterBits, 64);
        if (strcmp(interfaces[i].name, "lo") == 0)
        {
            before = interfaces[i];
            found = true;
        }
    }
    assert_true(found);
    assert_true(before.isLoopback);

    listener = openBound(AF_INET, SOCK_STREAM, "127.0.0.1", 0U, false, &port);
    connectPair(AF_INET, "127.0.0.1", port, listener, &client, &server, &clientPort);
    while (sent < sendTotal)
    {
        ssize_t n = send(client, block, sizeof(block), 0);

        assert_true(n > 0);
        sent += (size_t) n;
        while (received < sent)
        {
            ssize_t r = recv(server, block, sizeof(block), 0);

            assert_true(r > 0);
            received += (size_t) r;
        }
    }
    (void) close(client);
    (void) close(server);
    (void) close(listener);

    result = collect(DEFENDER_METRIC_NETWORK_STATS);
    found = false;
    for (i = 0U; i < result.count; i++)
    {
        if (strcmp(interfaces[i].name, "lo") == 0)
        {
            after = interfaces[i];
            found = true;
        }
    }
    assert_true(found);
    assert_true(after.isLoopback);
    assert_true(after.bytesIn - before.bytesIn >= sendTotal);
    assert_true(after.bytesOut - before.bytesOut >= sendTotal);
    assert_true(after.packetsIn > before.packetsIn);
    assert_true(after.packetsOut > before.packetsOut);
    assertPathUsed(state);
}

/**
 * @brief Orders listening entries (for comparing two collections).
 */
static int comparePorts(const void *pA, const void *pB)
{
    const DefenderListeningPort_t *a = pA;
    const DefenderListeningPort_t *b = pB;
    int diff = (int) a->port - (int) b->port;

    return (diff != 0) ? diff : strcmp(a->interfaceName, b->interfaceName);
}

/**
 * @brief Orders connections (for comparing two collections).
 */
static int compareConnections(const void *pA, const void *pB)
{
    return memcmp(pA, pB, sizeof(DefenderConnection_t));
}

/**
 * @brief Collects a group through one path and returns a sorted copy.
 */
static size_t collectSorted(bool netlink, DefenderMetricGroup_t group, void *pCopy)
{
    bool mode = netlink;
    void *pState = &mode;
    Collected_t result;

    initSource(&pState, NULL);
    result = collect(group);
    assert_int_equal(result.status, DEFENDER_SOURCE_OK);
    if (group == DEFENDER_METRIC_TCP_CONNECTIONS)
    {
        memcpy(pCopy, connWindow, result.count * sizeof(DefenderConnection_t));
        qsort(pCopy, result.count, sizeof(DefenderConnection_t), compareConnections);
    }
    else
    {
        memcpy(pCopy, portWindow, result.count * sizeof(DefenderListeningPort_t));
        qsort(pCopy, result.count, sizeof(DefenderListeningPort_t), comparePorts);
    }
    return result.count;
}

/**
 * @brief netlink and /proc give the same lists (retried: the host may change between
 * the two collections) and the same interfaces.
 */
static void test_Collect_PathsAgree(void **state)
{
    static DefenderConnection_t connA[CAPACITY];
    static DefenderConnection_t connB[CAPACITY];
    static DefenderListeningPort_t portA[CAPACITY];
    static DefenderListeningPort_t portB[CAPACITY];
    static const DefenderMetricGroup_t groups[3] = {DEFENDER_METRIC_TCP_CONNECTIONS,
                                                    DEFENDER_METRIC_LISTENING_TCP_PORTS,
                                                    DEFENDER_METRIC_LISTENING_UDP_PORTS};
    DefenderInterfaceCounters_t netlinkIfs[DEFENDER_CONFIG_MAX_INTERFACES];
    uint16_t lp, dp, up, cp;
    int fds[5];
    size_t g;
    size_t i;
    size_t j;
    size_t nIfs;
    Collected_t result;
    void *pState;

    (void) state;
    fds[0] = openBound(AF_INET, SOCK_STREAM, "127.0.0.1", 0U, false, &lp);
    fds[1] = openBound(AF_INET6, SOCK_STREAM, "::", 0U, false, &dp);
    fds[2] = openBound(AF_INET6, SOCK_DGRAM, "::1", 0U, true, &up);
    connectPair(AF_INET, "127.0.0.1", dp, fds[1], &fds[3], &fds[4], &cp);

    for (g = 0U; g < 3U; g++)
    {
        bool same = false;
        int attempt;

        for (attempt = 0; (attempt < 5) && !same; attempt++)
        {
            bool connections = (groups[g] == DEFENDER_METRIC_TCP_CONNECTIONS);
            size_t a = collectSorted(true, groups[g], connections ? (void *) connA : portA);
            size_t b = collectSorted(false, groups[g], connections ? (void *) connB : portB);

            same = (a == b) && (connections ? (memcmp(connA, connB, a * sizeof(connA[0])) == 0)
                                            : (memcmp(portA, portB, a * sizeof(portA[0])) == 0));
            assert_true(a > 0U);
        }
        assert_true(same);
    }

    pState = &modeNetlink;
    initSource(&pState, NULL);
    result = collect(DEFENDER_METRIC_NETWORK_STATS);
    nIfs = result.count;
    memcpy(netlinkIfs, interfaces, sizeof(netlinkIfs));
    pState = &modeProc;
    initSource(&pState, NULL);
    result = collect(DEFENDER_METRIC_NETWORK_STATS);
    assert_int_equal(result.count, nIfs);
    for (i = 0U; i < nIfs; i++)
    {
        bool found = false;

        for (j = 0U; j < result.count; j++)
        {
            if (strcmp(netlinkIfs[i].name, interfaces[j].name) == 0)
            {
                found = true;
                assert_int_equal(netlinkIfs[i].isLoopback, interfaces[j].isLoopback);
                assert_int_equal(netlinkIfs[i].counterBits, interfaces[j].counterBits);
                /* Counters only grow between the two reads. */
                assert_true(interfaces[j].bytesIn >= netlinkIfs[i].bytesIn);
                assert_true(interfaces[j].packetsOut >= netlinkIfs[i].packetsOut);
            }
        }
        assert_true(found);
    }
    for (i = 0U; i < 5U; i++)
    {
        (void) close(fds[i]);
    }
}

/**
 * @brief Writes a file below a directory.
 */
static void writeFile(const char *pDir, const char *pName, const char *pText)
{
    char path[512];
    FILE *pFile;

    (void) snprintf(path, sizeof(path), "%s/%s", pDir, pName);
    pFile = fopen(path, "w");
    assert_non_null(pFile);
    assert_int_equal(fputs(pText, pFile) >= 0, 1);
    assert_int_equal(fclose(pFile), 0);
}

/** @brief Header line of /proc/net/tcp and udp. */
#define HDR4                                                                                       \
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout "  \
    "inode\n"
/** @brief Tail of a socket line after the state. */
#define TAIL                                                                                       \
    " 00000000:00000000 00:00000000 00000000     0        0 1234 1 0000000000000000 100 0 0 10 "   \
    "0\n"
/** @brief 32 zero hex digits. */
#define Z6 "00000000000000000000000000000000"

/**
 * @brief The /proc parser on canned files: exact entries, malformed lines skipped and
 * counted (little-endian word order, as a little-endian kernel prints).
 */
static void test_ProcParser_CannedFiles(void **state)
{
    char dir[] = "/tmp/defender_proc_XXXXXX";
    char net[64];
    char longLine[700];
    char tcp[2048];
    DefenderLinuxSourceOptions_t options = {false, dir};
    DefenderLinuxSourceStats_t stats;
    Collected_t result;
    uint32_t malformedBefore;
    size_t i;

    (void) state;
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
    skip();
#endif
    assert_non_null(mkdtemp(dir));
    (void) snprintf(net, sizeof(net), "%s/net", dir);
    assert_int_equal(mkdir(net, 0700), 0);

    memset(longLine, 'A', sizeof(longLine) - 2U);
    longLine[sizeof(longLine) - 2U] = '\n';
    longLine[sizeof(longLine) - 1U] = '\0';
    (void) snprintf(
        tcp, sizeof(tcp),
        HDR4 "   0: 0100007F:1F90 00000000:0000 0A" TAIL /* 127.0.0.1:8080 listen */
             "   1: 00000000:0016 00000000:0000 0A" TAIL /* *:22 listen */
             "   2: 0100007F:1F90 0100007F:C350 01" TAIL /* est. <- 127.0.0.1:50000 */
             "   3: 0A0200C0:0050 076433C6:D431 01" TAIL /* 192.0.2.10:80 <- 198.51.100.7:54321 */
             "this is not a socket\n"
             "   5: 0100007F:ZZZZ 00000000:0000 0A" TAIL "%s"
             "   6: 00000000:0016 00000000:0000 06" TAIL  /* TIME_WAIT: not counted */
             "   7: 0200007F:0016 00000000:0000 0A" TAIL, /* 127.0.0.2:22 -> lo */
        longLine);
    writeFile(dir, "net/tcp", tcp);
    writeFile(dir, "net/tcp6",
              HDR4 "   0: " Z6 ":0016 " Z6 ":0000 0A" TAIL /* [::]:22, same as *:22 */
                   "   1: 00000000000000000000000001000000:1F91 " Z6 ":0000 0A" TAIL /* ::1 */
                   "   2: B80D0120000000000000000005000000:01BB " Z6
                   ":0000 0A" TAIL /* 2001:db8::5 */
                   "   3: 0000000000000000FFFF00000100007F:1F90 "
                   "0000000000000000FFFF00000100007F:C351 01" TAIL /* mapped */
                   "   4: 0000\n");
    writeFile(dir, "net/udp",
              HDR4 "   0: 0100007F:0035 00000000:0000 07" TAIL   /* 127.0.0.1:53 */
                   "   1: 00000000:0044 00000000:0000 07" TAIL   /* *:68 */
                   "   2: 0100007F:A000 0100007F:0035 01" TAIL   /* connected */
                   "   3: 00000000:0000 00000000:0000 07" TAIL); /* port 0 */
    writeFile(dir, "net/udp6",
              HDR4 "   0: " Z6 ":0044 " Z6 ":0000 07" TAIL                           /* [::]:68 */
                   "   1: 00000000000000000000000001000000:0035 " Z6 ":0000 07" TAIL /* ::1:53 */
                   "garbage\n");
    writeFile(dir, "net/if_inet6",
              "20010db8000000000000000000000005 07 40 00 80     eth7\n"
              "00000000000000000000000000000001 01 80 10 80       lo\n"
              "zzzz\n");
    writeFile(dir, "net/dev",
              "Inter-|   Receive                                                |  Transmit\n"
              " face |bytes    packets errs drop fifo frame compressed multicast|bytes    "
              "packets errs drop fifo colls carrier compressed\n"
              "    lo:    1000      10    0    0    0     0          0         0     2000      "
              "20    0    0    0     0       0          0\n"
              "  eth7: 18446744073709551615 5 0 0 0 0 0 0 4294967296 7 0 0 0 0 0 0\n"
              "bad line\n"
              "  eth8: 12 x\n"
              "  toolonginterfacename0: 1 1 0 0 0 0 0 0 1 1 0 0 0 0 0 0\n"
              "  eth9: 1 2 3 4 5 6 7 8 9 10"); /* No final newline: still read. */

    assert_int_equal(DefenderLinux_SourceInit(&source, &options), DEFENDER_SUCCESS);

    result = collect(DEFENDER_METRIC_TCP_CONNECTIONS);
    assert_int_equal(result.status, DEFENDER_SOURCE_OK);
    assert_int_equal(result.total, 3);
    assert_int_equal(countConnection(&result, 4U, "127.0.0.1", 50000U, 8080U, "lo"), 1);
    assert_int_equal(countConnection(&result, 4U, "198.51.100.7", 54321U, 80U, ""), 1);
    assert_int_equal(countConnection(&result, 4U, "127.0.0.1", 50001U, 8080U, "lo"), 1);
    assert_int_equal(DefenderLinux_SourceGetStats(&source, &stats), DEFENDER_SUCCESS);
    /* tcp: 3 (garbage, bad port, overlong); tcp6: 1; if_inet6: 1. */
    assert_int_equal(stats.malformedLines, 5);
    malformedBefore = stats.malformedLines;

    result = collect(DEFENDER_METRIC_LISTENING_TCP_PORTS);
    assert_int_equal(result.status, DEFENDER_SOURCE_OK);
    assert_int_equal(result.total, 5);
    assert_int_equal(countPort(&result, 8080U, "lo"), 1);
    assert_int_equal(countPort(&result, 22U, ""), 1);
    assert_int_equal(countPort(&result, 22U, "lo"), 1);
    assert_int_equal(countPort(&result, 8081U, "lo"), 1);
    assert_int_equal(countPort(&result, 443U, "eth7"), 1);
    assert_int_equal(DefenderLinux_SourceGetStats(&source, &stats), DEFENDER_SUCCESS);
    assert_int_equal(stats.malformedLines - malformedBefore, 5);

    result = collect(DEFENDER_METRIC_LISTENING_UDP_PORTS);
    assert_int_equal(result.status, DEFENDER_SOURCE_OK);
    assert_int_equal(result.total, 2);
    assert_int_equal(countPort(&result, 53U, "lo"), 1);
    assert_int_equal(countPort(&result, 68U, ""), 1);
    assert_int_equal(DefenderLinux_SourceGetStats(&source, &stats), DEFENDER_SUCCESS);
    malformedBefore = stats.malformedLines;

    result = collect(DEFENDER_METRIC_NETWORK_STATS);
    assert_int_equal(result.status, DEFENDER_SOURCE_OK);
    assert_int_equal(result.count, 3);
    assert_string_equal(interfaces[0].name, "lo");
    assert_true(interfaces[0].isLoopback);
    assert_int_equal(interfaces[0].bytesIn, 1000);
    assert_int_equal(interfaces[0].packetsIn, 10);
    assert_int_equal(interfaces[0].bytesOut, 2000);
    assert_int_equal(interfaces[0].packetsOut, 20);
    assert_int_equal(interfaces[0].counterBits, 64);
    assert_string_equal(interfaces[1].name, "eth7");
    assert_false(interfaces[1].isLoopback);
    assert_true(interfaces[1].bytesIn == UINT64_MAX);
    assert_true(interfaces[1].bytesOut == 4294967296ULL);
    assert_int_equal(interfaces[1].packetsIn, 5);
    assert_int_equal(interfaces[1].packetsOut, 7);
    assert_string_equal(interfaces[2].name, "eth9");
    assert_int_equal(interfaces[2].bytesOut, 9);
    assert_int_equal(DefenderLinux_SourceGetStats(&source, &stats), DEFENDER_SUCCESS);
    assert_int_equal(stats.malformedLines - malformedBefore, 3);

    /* A missing IPv4 file is an error; missing IPv6 files mean no IPv6. */
    for (i = 0U; i < 2U; i++)
    {
        char path[512];

        (void) snprintf(path, sizeof(path), "%s/net/%s", dir, (i == 0U) ? "tcp6" : "tcp");
        assert_int_equal(unlink(path), 0);
        result = collect(DEFENDER_METRIC_TCP_CONNECTIONS);
        assert_int_equal(result.status, (i == 0U) ? DEFENDER_SOURCE_OK : DEFENDER_SOURCE_ERROR);
    }
    (void) snprintf(tcp, sizeof(tcp),
                    "rm -f %s/net/udp %s/net/udp6 %s/net/dev %s/net/if_inet6 && rmdir %s/net %s",
                    dir, dir, dir, dir, dir, dir);
    assert_int_equal(system(tcp), 0);
}

/**
 * @brief Parameter checks and the unsupported group.
 */
static void test_SourceInit_Parameters(void **state)
{
    char longRoot[DEFENDER_LINUX_PROC_ROOT_SIZE + 1U];
    DefenderLinuxSourceOptions_t options = {true, longRoot};
    DefenderMetricsSource_t iface = {0};
    DefenderMetricsSink_t sink;
    DefenderLinuxSourceStats_t stats;

    (void) state;
    memset(longRoot, 'x', sizeof(longRoot) - 1U);
    longRoot[sizeof(longRoot) - 1U] = '\0';
    assert_int_equal(DefenderLinux_SourceInit(NULL, NULL), DEFENDER_BAD_PARAMETER);
    assert_int_equal(DefenderLinux_SourceInit(&source, &options), DEFENDER_BAD_PARAMETER);
    assert_int_equal(DefenderLinux_SourceInit(&source, NULL), DEFENDER_SUCCESS);
    DefenderLinux_SourceGet(NULL, &iface);
    assert_null(iface.pfCollect);
    DefenderLinux_SourceGet(&source, &iface);
    assert_non_null(iface.pfCollect);
    Defender_SinkInit(&sink, DEFENDER_METRIC_TCP_CONNECTIONS, connHead, connWindow, CAPACITY, 0U,
                      0U);
    assert_int_equal(iface.pfCollect(&source, 1U << 7, &sink), DEFENDER_SOURCE_UNSUPPORTED);
    assert_int_equal(iface.pfCollect(NULL, DEFENDER_METRIC_TCP_CONNECTIONS, &sink),
                     DEFENDER_SOURCE_ERROR);
    assert_int_equal(iface.pfCollect(&source, DEFENDER_METRIC_TCP_CONNECTIONS, NULL),
                     DEFENDER_SOURCE_ERROR);
    assert_int_equal(DefenderLinux_SourceGetStats(NULL, &stats), DEFENDER_BAD_PARAMETER);
    assert_int_equal(DefenderLinux_SourceGetStats(&source, &stats), DEFENDER_SUCCESS);
    assert_int_equal(stats.collections, 0);
    DefenderLinux_SourceDeinit(&source);
    DefenderLinux_SourceDeinit(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_prestate(test_Collect_ListeningPorts, &modeNetlink),
        cmocka_unit_test_prestate(test_Collect_ListeningPorts, &modeProc),
        cmocka_unit_test_prestate(test_Collect_Connections, &modeNetlink),
        cmocka_unit_test_prestate(test_Collect_Connections, &modeProc),
        cmocka_unit_test_prestate(test_Collect_NetworkStats, &modeNetlink),
        cmocka_unit_test_prestate(test_Collect_NetworkStats, &modeProc),
        cmocka_unit_test(test_Collect_PathsAgree),
        cmocka_unit_test(test_ProcParser_CannedFiles),
        cmocka_unit_test(test_SourceInit_Parameters),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
