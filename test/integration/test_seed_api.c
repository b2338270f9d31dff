/**
 * @file test_seed_api.c
 * @brief The seed API end to end on Linux: a real Mosquitto broker on loopback, the
 * agent's own libmosquitto connection, the host's real sockets, and a test peer
 * that answers like the service (accepted, rejected, or not at all).
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "defender.h"
#include "defender_linux.h"
#include "test_broker.h"
#include "test_seed_wait.h"
#include "test_peer.h"

void MyDefenderInit(void);

static TestBroker_t broker;
static TestPeer_t peer;
static char stateDir[64];
static char thing[64];

/** @brief Points the agent at the test broker. */
static void configure(uint16_t port)
{
    char endpoint[64];
    snprintf(endpoint, sizeof(endpoint), "127.0.0.1:%u", (unsigned) port);
    setenv("DEFENDER_ENDPOINT", endpoint, 1);
    setenv("DEFENDER_THING_NAME", thing, 1);
    setenv("DEFENDER_STATE_DIR", stateDir, 1);
    setenv("DEFENDER_LOG_LEVEL", "error", 1);
    assert_int_equal(DEFENDER_LinuxConfigSet(NULL), eDefenderErrSuccess);
}

/** @brief Every report the peer received so far was published at QoS 1 and not
 * retained (the peer subscribes at QoS 2 with "retain as published", so it sees the
 * agent's own QoS and retain flag). */
static void assertReportsQos1NotRetained(void)
{
    int qos = -1;
    bool retain = true;
    uint32_t notQos1 = 1;
    uint32_t retained = 1;

    TestPeer_Delivery(&peer, &qos, &retain, &notQos1, &retained);
    assert_int_equal(qos, 1);
    assert_false(retain);
    assert_int_equal(notQos1, 0);
    assert_int_equal(retained, 0);
}

/** @brief Points the agent at a port, configured in code, with a given reconnect back-off. */
static void configureBackoff(uint16_t port, uint32_t baseMs, uint32_t maxMs)
{
    static char endpoint[64];
    DefenderLinuxConfig_t config;

    memset(&config, 0, sizeof(config));
    snprintf(endpoint, sizeof(endpoint), "127.0.0.1:%u", (unsigned) port);
    config.pEndpoint = endpoint;
    config.pThingName = thing;
    config.pStateDir = stateDir;
    config.logLevel = DEFENDER_LOG_ERROR;
    config.backoffBaseMs = baseMs;
    config.backoffMaxMs = maxMs;
    assert_int_equal(DEFENDER_LinuxConfigSet(&config), eDefenderErrSuccess);
}

static int setupGroup(void **state)
{
    (void) state;
    snprintf(stateDir, sizeof(stateDir), "/tmp/defender-state-XXXXXX");
    if (mkdtemp(stateDir) == NULL)
    {
        return -1;
    }
    snprintf(thing, sizeof(thing), "seed-test-%d", (int) getpid());
    if (!TestBroker_Start(&broker, NULL))
    {
        return -1;
    }
    return TestPeer_Start(&peer, broker.port, TEST_PEER_ACCEPT) ? 0 : -1;
}

static int teardownGroup(void **state)
{
    char command[128];
    (void) state;
    TestPeer_Stop(&peer);
    TestBroker_Stop(&broker);
    snprintf(command, sizeof(command), "rm -rf '%s'", stateDir);
    return system(command);
}

static int setupTest(void **state)
{
    (void) state;
    configure(broker.port);
    TestPeer_SetMode(&peer, TEST_PEER_ACCEPT);
    (void) DEFENDER_AckTimeoutSet(10000);
    (void) DEFENDER_FormatSet(DEFENDER_FORMAT_JSON, DEFENDER_KEYS_SHORT);
    return 0;
}

static int teardownTest(void **state)
{
    (void) state;
    (void) DEFENDER_Stop();
    return 0;
}

/** @brief The seed's example runs unchanged; the first report is accepted, and it
 * holds exactly the seed's metric with the agent's own broker connection in it. */
static void test_SeedExample_ReportAccepted(void **state)
{
    uint8_t report[TEST_PEER_MAX_REPORT];
    char topic[256];
    char expectedTopic[256];
    char remote[64];
    uint64_t id = 0;
    DefenderReportInfo_t info;
    cJSON *pRoot, *pMetrics, *pConnections, *pList, *pEntry;
    bool found = false;
    uint32_t before = TestPeer_Reports(&peer);
    uint64_t stopStart;

    (void) state;
    MyDefenderInit();
    assert_true(TestWaitStatus(eDefenderRepSuccess, 10000));
    assert_true(TestPeer_Reports(&peer) > before);

    TestPeer_LastReport(&peer, report, sizeof(report), topic, sizeof(topic), &id);
    snprintf(expectedTopic, sizeof(expectedTopic), "$aws/things/%s/defender/metrics/json", thing);
    assert_string_equal(topic, expectedTopic);
    assert_int_equal(DEFENDER_LastReportGet(&info), eDefenderErrSuccess);
    assert_int_equal(info.reportId, id);
    assert_true(id > 1577836800000ULL); /* Unix ms (PD-22). */
    assertReportsQos1NotRetained();

    pRoot = cJSON_Parse((const char *) report);
    assert_non_null(pRoot);
    pMetrics = cJSON_GetObjectItemCaseSensitive(pRoot, "met");
    assert_non_null(pMetrics);
    /* Only the selected group. */
    assert_int_equal(cJSON_GetArraySize(pMetrics), 1);
    pConnections =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(pMetrics, "tc"), "ec");
    assert_non_null(pConnections);
    assert_true(cJSON_GetObjectItemCaseSensitive(pConnections, "t")->valuedouble >= 1);
    pList = cJSON_GetObjectItemCaseSensitive(pConnections, "cs");
    snprintf(remote, sizeof(remote), "127.0.0.1:%u", (unsigned) broker.port);
    cJSON_ArrayForEach(pEntry, pList)
    {
        cJSON *pAddress = cJSON_GetObjectItemCaseSensitive(pEntry, "rad");
        if (cJSON_IsString(pAddress) && (strcmp(pAddress->valuestring, remote) == 0))
        {
            found = true;
            assert_string_equal(cJSON_GetObjectItemCaseSensitive(pEntry, "li")->valuestring, "lo");
        }
    }
    /* The list may be capped at 50: only insist when the host has few connections. */
    if (cJSON_GetArraySize(pList) < 50)
    {
        assert_true(found);
    }
    cJSON_Delete(pRoot);

    stopStart = TestMonotonicMs();
    assert_int_equal(DEFENDER_Stop(), eDefenderErrSuccess);
    assert_true(TestMonotonicMs() - stopStart < 1000U);
}

/** @brief REJECTED responses give eDefenderRepRejected with the service's error. */
static void test_Start_RejectedKeepsErrorCode(void **state)
{
    DefenderReportInfo_t info;

    (void) state;
    TestPeer_SetMode(&peer, TEST_PEER_REJECT);
    assert_int_equal(DEFENDER_Start(), eDefenderErrSuccess);
    assert_true(TestWaitStatus(eDefenderRepRejected, 10000));
    assert_int_equal(DEFENDER_LastReportGet(&info), eDefenderErrSuccess);
    assert_string_equal(info.errorCode, "InvalidPayload");
    assert_string_equal(info.errorMessage, "Malformed metrics report");
    assertReportsQos1NotRetained();
}

/** @brief No response: NoAck, and the timeout is counted. */
static void test_Start_SilentServiceGivesNoAck(void **state)
{
    DefenderCounters_t counters;
    uint32_t before = TestPeer_Reports(&peer);

    (void) state;
    TestPeer_SetMode(&peer, TEST_PEER_SILENT);
    assert_int_equal(DEFENDER_AckTimeoutSet(300), eDefenderErrSuccess);
    assert_int_equal(DEFENDER_Start(), eDefenderErrSuccess);
    assert_true(TestPeer_WaitReports(&peer, before + 1U, 10000));
    assert_int_equal(DEFENDER_ReportStatusGet(), eDefenderRepNoAck);
    usleep(600000);
    assert_int_equal(DEFENDER_ReportStatusGet(), eDefenderRepNoAck);
    assert_int_equal(DEFENDER_CountersGet(&counters), eDefenderErrSuccess);
    assert_int_equal(counters.reportsNoAck, 1);
    assertReportsQos1NotRetained();
}

/** @brief CBOR with long keys is accepted too. */
static void test_Start_CborLongKeysAccepted(void **state)
{
    uint8_t report[TEST_PEER_MAX_REPORT];
    char topic[256];
    uint32_t before = TestPeer_Reports(&peer);

    (void) state;
    assert_int_equal(DEFENDER_FormatSet(DEFENDER_FORMAT_CBOR, DEFENDER_KEYS_LONG),
                     eDefenderErrSuccess);
    assert_int_equal(DEFENDER_Start(), eDefenderErrSuccess);
    assert_true(TestWaitStatus(eDefenderRepSuccess, 10000));
    assert_true(TestPeer_Reports(&peer) > before);
    TestPeer_LastReport(&peer, report, sizeof(report), topic, sizeof(topic), NULL);
    assert_non_null(strstr(topic, "/defender/metrics/cbor"));
    assert_non_null(memmem(report, sizeof(report), "report_id", 9));
    assertReportsQos1NotRetained();
}

/** @brief No broker: the report is NotSent, and the agent says why. */
static void test_Start_NoBrokerGivesNotSent(void **state)
{
    DefenderReportInfo_t info;

    (void) state;
    configure(TestBroker_FreePort());
    assert_int_equal(DEFENDER_AckTimeoutSet(300), eDefenderErrSuccess);
    assert_int_equal(DEFENDER_Start(), eDefenderErrSuccess);
    assert_true(TestWaitStatus(eDefenderRepNotSent, 5000));
    assert_int_equal(DEFENDER_LastReportGet(&info), eDefenderErrSuccess);
    assert_int_equal(info.notSentReason, DEFENDER_NOT_SENT_NOT_CONNECTED);
}

/** @brief The broker goes away and comes back: the agent reconnects, subscribes
 * again (clean session) and its next report is accepted. */
static void test_Start_ReconnectsAfterBrokerRestart(void **state)
{
    uint32_t before;

    (void) state;
    configureBackoff(broker.port, 100, 400);
    assert_int_equal(DEFENDER_ReportPeriodSet(2), eDefenderErrSuccess);
    assert_int_equal(DEFENDER_Start(), eDefenderErrSuccess);
    assert_true(TestWaitStatus(eDefenderRepSuccess, 10000));

    TestBroker_Kill(&broker);
    assert_true(TestWaitStatus(eDefenderRepNotSent, 6000));
    assert_true(TestBroker_Restart(&broker));
    before = TestPeer_Reports(&peer);
    /* The peer reconnects by itself; the agent's next report must be accepted. */
    assert_true(TestPeer_WaitReports(&peer, before + 1U, 15000));
    assert_true(TestWaitStatus(eDefenderRepSuccess, 5000));
    /* Also after reconnecting. */
    assertReportsQos1NotRetained();
    assert_int_equal(DEFENDER_ReportPeriodSet(300), eDefenderErrSuccess);
}

/** @brief DEFENDER_Stop() right after a publish, while the report awaits its ack (the
 * peer stays silent, the ack timeout is 10 s), returns well under a second and leaves
 * no thread of the agent running. */
static void test_Stop_MidReportReturnsPromptlyAndLeavesNothingRunning(void **state)
{
    DefenderCounters_t counters;
    uint32_t before = TestPeer_Reports(&peer);
    int threadsBefore = TestThreadCount();
    uint64_t stopStart;
    uint64_t elapsed;

    (void) state;
    TestPeer_SetMode(&peer, TEST_PEER_SILENT);
    assert_int_equal(DEFENDER_AckTimeoutSet(10000), eDefenderErrSuccess);
    assert_int_equal(DEFENDER_Start(), eDefenderErrSuccess);
    assert_true(TestPeer_WaitReports(&peer, before + 1U, 10000));
    /* The report is out and no answer comes: in flight, awaiting its ack. */
    assert_int_equal(DEFENDER_CountersGet(&counters), eDefenderErrSuccess);
    assert_int_equal(counters.reportsPublished, 1);
    assert_int_equal(counters.reportsAccepted + counters.reportsRejected + counters.reportsNoAck,
                     0);
    assert_true(TestThreadCount() > threadsBefore);

    stopStart = TestMonotonicMs();
    assert_int_equal(DEFENDER_Stop(), eDefenderErrSuccess);
    elapsed = TestMonotonicMs() - stopStart;
    assert_true(elapsed < 1000U);
    assert_int_equal(TestThreadCount(), threadsBefore);
    assert_int_equal(DEFENDER_Stop(), eDefenderErrNotStarted);
    assertReportsQos1NotRetained();
}

/** @brief DEFENDER_Stop() while the connection waits out its reconnect back-off (no
 * broker listens on the port; the first delay is 15..30 s) returns well under a second
 * and leaves no thread of the agent running. */
static void test_Stop_DuringReconnectBackoffReturnsPromptly(void **state)
{
    DefenderReportInfo_t info;
    int threadsBefore = TestThreadCount();
    uint64_t stopStart;
    uint64_t elapsed;

    (void) state;
    configureBackoff(TestBroker_FreePort(), 30000, 60000);
    assert_int_equal(DEFENDER_AckTimeoutSet(300), eDefenderErrSuccess);
    assert_int_equal(DEFENDER_Start(), eDefenderErrSuccess);
    assert_true(TestWaitStatus(eDefenderRepNotSent, 5000));
    assert_int_equal(DEFENDER_LastReportGet(&info), eDefenderErrSuccess);
    assert_int_equal(info.notSentReason, DEFENDER_NOT_SENT_NOT_CONNECTED);
    /* The refused connection (loopback, nothing listening) fails at once: the network
     * thread is now waiting out its first back-off. */
    usleep(300000);
    assert_true(TestThreadCount() > threadsBefore);

    stopStart = TestMonotonicMs();
    assert_int_equal(DEFENDER_Stop(), eDefenderErrSuccess);
    elapsed = TestMonotonicMs() - stopStart;
    assert_true(elapsed < 1000U);
    assert_int_equal(TestThreadCount(), threadsBefore);
}

/** @brief Ids strictly increase across Stop/Start, and the last one is kept on disk. */
static void test_ReportIds_IncreaseAcrossStopStartAndPersist(void **state)
{
    DefenderReportInfo_t first;
    DefenderReportInfo_t second;
    char path[256];
    char text[32] = "";
    FILE *pFile;

    (void) state;
    assert_int_equal(DEFENDER_Start(), eDefenderErrSuccess);
    assert_true(TestWaitStatus(eDefenderRepSuccess, 10000));
    assert_int_equal(DEFENDER_LastReportGet(&first), eDefenderErrSuccess);
    assert_int_equal(DEFENDER_Stop(), eDefenderErrSuccess);
    assert_int_equal(DEFENDER_Start(), eDefenderErrSuccess);
    assert_true(TestWaitStatus(eDefenderRepSuccess, 10000));
    assert_int_equal(DEFENDER_LastReportGet(&second), eDefenderErrSuccess);
    assert_true(second.reportId > first.reportId);

    snprintf(path, sizeof(path), "%s/%s.last-report-id", stateDir, thing);
    pFile = fopen(path, "r");
    assert_non_null(pFile);
    assert_non_null(fgets(text, sizeof(text), pFile));
    fclose(pFile);
    assert_int_equal(strtoull(text, NULL, 10), second.reportId);
}

/** @brief The seed's error codes for bad calls. */
static void test_SeedApi_ErrorCodes(void **state)
{
    DefenderMetric_t tooMany[] = {DEFENDER_tcp_connections, DEFENDER_listening_tcp_ports,
                                  DEFENDER_listening_udp_ports, DEFENDER_network_stats,
                                  DEFENDER_tcp_connections};
    DefenderMetric_t repeated[] = {DEFENDER_tcp_connections, xDefenderTCPConnections};
    DefenderMetric_t all[] = {DEFENDER_tcp_connections, DEFENDER_listening_tcp_ports,
                              DEFENDER_listening_udp_ports, DEFENDER_network_stats};
    char longName[140];

    (void) state;
    assert_int_equal(DEFENDER_ReportPeriodSet(0), eDefenderErrPeriodTooShort);
    assert_int_equal(DEFENDER_ReportPeriodSet(-5), eDefenderErrPeriodTooShort);
    assert_int_equal(DEFENDER_MetricsInit(tooMany), eDefenderErrTooManyMetrics);
    assert_int_equal(DEFENDER_MetricsInit(repeated), eDefenderErrTooManyMetrics);
    assert_int_equal(DEFENDER_MetricsInitFunc(NULL, 2), eDefenderErrOther);
    assert_int_equal(DEFENDER_MetricsInit(all), eDefenderErrSuccess);
    assert_int_equal(DEFENDER_Stop(), eDefenderErrNotStarted);

    setenv("DEFENDER_THING_NAME", "bad/name", 1);
    assert_int_equal(DEFENDER_Start(), eDefenderErrOther);
    memset(longName, 'a', 129);
    longName[129] = '\0';
    setenv("DEFENDER_THING_NAME", longName, 1);
    assert_int_equal(DEFENDER_Start(), eDefenderErrOther);
    unsetenv("DEFENDER_ENDPOINT");
    setenv("DEFENDER_THING_NAME", thing, 1);
    assert_int_equal(DEFENDER_Start(), eDefenderErrOther);

    configure(broker.port);
    assert_int_equal(DEFENDER_Start(), eDefenderErrSuccess);
    assert_int_equal(DEFENDER_Start(), eDefenderErrAlreadyStarted);
    assert_int_equal(DEFENDER_MetricsInit(all), eDefenderErrAlreadyStarted);
    assert_int_equal(DEFENDER_ReportPeriodSet(600), eDefenderErrSuccess);
    assert_int_equal(DEFENDER_Stop(), eDefenderErrSuccess);
    assert_int_equal(DEFENDER_Stop(), eDefenderErrNotStarted);
    assert_string_equal(DEFENDER_ErrAsString(eDefenderErrPeriodTooShort),
                        "eDefenderErrPeriodTooShort");
    assert_string_equal(DEFENDER_ReportStatusAsString(eDefenderRepNoAck), "eDefenderRepNoAck");
    assert_int_equal(DEFENDER_ReportPeriodSet(300), eDefenderErrSuccess);
}

/** @brief Opens a socket bound to a loopback address on an ephemeral port. */
static int openBound(int family, int type, uint16_t *pPort)
{
    struct sockaddr_storage address;
    socklen_t length;
    int fd = socket(family, type, 0);

    memset(&address, 0, sizeof(address));
    if (family == AF_INET)
    {
        struct sockaddr_in *pIn = (struct sockaddr_in *) &address;
        pIn->sin_family = AF_INET;
        pIn->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        length = sizeof(*pIn);
    }
    else
    {
        struct sockaddr_in6 *pIn6 = (struct sockaddr_in6 *) &address;
        pIn6->sin6_family = AF_INET6;
        pIn6->sin6_addr = in6addr_loopback;
        length = sizeof(*pIn6);
    }
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *) &address, length), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *) &address, &length), 0);
    *pPort = ntohs((family == AF_INET) ? ((struct sockaddr_in *) &address)->sin_port
                                       : ((struct sockaddr_in6 *) &address)->sin6_port);
    return fd;
}

/** @brief true when a JSON list holds an entry whose `key` equals the number or text. */
static bool listHas(cJSON *pList, const char *pKey, double number, const char *pText)
{
    cJSON *pEntry;
    cJSON_ArrayForEach(pEntry, pList)
    {
        cJSON *pValue = cJSON_GetObjectItemCaseSensitive(pEntry, pKey);
        if ((pText == NULL) && cJSON_IsNumber(pValue) && (pValue->valuedouble == number))
        {
            return true;
        }
        if ((pText != NULL) && cJSON_IsString(pValue) && (strcmp(pValue->valuestring, pText) == 0))
        {
            return true;
        }
    }
    return false;
}

/** @brief Every standard metric through the real path: sockets the test opens appear
 * in the report the broker carries, and the second report has network statistics. */
/** @brief One report's list of a group (`tp`, `up`, or `tc` with its `ec` level). */
static cJSON *groupList(cJSON *pMetrics, const char *pGroup, double *pTotal)
{
    cJSON *pGroupItem = cJSON_GetObjectItemCaseSensitive(pMetrics, pGroup);

    if (strcmp(pGroup, "tc") == 0)
    {
        pGroupItem = cJSON_GetObjectItemCaseSensitive(pGroupItem, "ec");
    }
    assert_non_null(pGroupItem);
    *pTotal = cJSON_GetObjectItemCaseSensitive(pGroupItem, "t")->valuedouble;
    return cJSON_GetObjectItemCaseSensitive(pGroupItem, (strcmp(pGroup, "tc") == 0) ? "cs" : "pts");
}

/** @brief Reports to read so that a list of `total` entries was listed whole (PD-26:
 * ceil(total / 50) consecutive reports, doubled, plus the first two), at least `needed`. */
static uint32_t coverReports(uint32_t needed, double total)
{
    uint32_t reports = 2U * (2U + ((uint32_t) total + 49U) / 50U);

    return (reports > needed) ? reports : needed;
}

static void test_AllMetrics_ReportTheSocketsOpened(void **state)
{
    DefenderMetric_t all[] = {DEFENDER_tcp_connections, DEFENDER_listening_tcp_ports,
                              DEFENDER_listening_udp_ports, DEFENDER_network_stats};
    uint8_t report[TEST_PEER_MAX_REPORT];
    char serverEnd[64];
    char clientEnd[64];
    uint16_t tcpPort = 0, udpPort = 0, clientPort = 0;
    int listener = openBound(AF_INET, SOCK_STREAM, &tcpPort);
    int udp = openBound(AF_INET6, SOCK_DGRAM, &udpPort);
    int client = socket(AF_INET, SOCK_STREAM, 0);
    int accepted;
    struct sockaddr_in address;
    socklen_t length = sizeof(address);
    uint32_t before = TestPeer_Reports(&peer);
    uint32_t examined = 0U;
    uint32_t needed = 2U;
    bool seen[4] = {false, false, false, false}; /* TCP port, UDP port, both connection ends */
    cJSON *pRoot, *pMetrics;
    double total;

    (void) state;
    assert_int_equal(listen(listener, 4), 0);
    memset(&address, 0, sizeof(address));
    address.sin_family = AF_INET;
    address.sin_port = htons(tcpPort);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(client, (struct sockaddr *) &address, sizeof(address)), 0);
    accepted = accept(listener, NULL, NULL);
    assert_true(accepted >= 0);
    assert_int_equal(getsockname(client, (struct sockaddr *) &address, &length), 0);
    clientPort = ntohs(address.sin_port);
    snprintf(serverEnd, sizeof(serverEnd), "127.0.0.1:%u", (unsigned) tcpPort);
    snprintf(clientEnd, sizeof(clientEnd), "127.0.0.1:%u", (unsigned) clientPort);

    assert_int_equal(DEFENDER_MetricsInit(all), eDefenderErrSuccess);
    assert_int_equal(DEFENDER_ReportPeriodSet(1), eDefenderErrSuccess);
    assert_int_equal(DEFENDER_Start(), eDefenderErrSuccess);

    /* Lists hold at most 50 entries and rotate through longer ones (PD-26): every entry
     * is listed within ceil(total / 50) consecutive reports. Read reports one by one (the
     * second and later carry network statistics) until the sockets of this test were all
     * listed, allowing twice that many reports in case one is missed between reads. */
    while (!(seen[0] && seen[1] && seen[2] && seen[3]) && (examined < needed))
    {
        assert_true(TestPeer_WaitReports(&peer, before + 2U + examined, 10000));
        examined = TestPeer_Reports(&peer) - before - 1U;
        TestPeer_LastReport(&peer, report, sizeof(report), NULL, 0, NULL);
        pRoot = cJSON_Parse((const char *) report);
        assert_non_null(pRoot);
        pMetrics = cJSON_GetObjectItemCaseSensitive(pRoot, "met");
        assert_true(
            cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(pMetrics, "ns"), "bi")
                ->valuedouble >= 0);
        seen[0] |= listHas(groupList(pMetrics, "tp", &total), "pt", tcpPort, NULL);
        assert_true(total >= 1);
        needed = coverReports(needed, total);
        seen[1] |= listHas(groupList(pMetrics, "up", &total), "pt", udpPort, NULL);
        assert_true(total >= 1);
        needed = coverReports(needed, total);
        seen[2] |= listHas(groupList(pMetrics, "tc", &total), "rad", 0, serverEnd);
        seen[3] |= listHas(groupList(pMetrics, "tc", &total), "rad", 0, clientEnd);
        assert_true(total >= 3); /* both ends of ours, and the agent's own connection */
        needed = coverReports(needed, total);
        cJSON_Delete(pRoot);
    }
    assert_int_equal(DEFENDER_Stop(), eDefenderErrSuccess);
    assertReportsQos1NotRetained();
    assert_true(seen[0]); /* the listening TCP port */
    assert_true(seen[1]); /* the bound UDP port (IPv6 wildcard) */
    assert_true(seen[2]); /* the client's connection to the listener */
    assert_true(seen[3]); /* the accepted end */
    close(accepted);
    close(client);
    close(udp);
    close(listener);
    assert_int_equal(DEFENDER_ReportPeriodSet(300), eDefenderErrSuccess);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_SeedExample_ReportAccepted, setupTest, teardownTest),
        cmocka_unit_test_setup_teardown(test_Start_RejectedKeepsErrorCode, setupTest, teardownTest),
        cmocka_unit_test_setup_teardown(test_Start_SilentServiceGivesNoAck, setupTest,
                                        teardownTest),
        cmocka_unit_test_setup_teardown(test_Start_CborLongKeysAccepted, setupTest, teardownTest),
        cmocka_unit_test_setup_teardown(test_Start_NoBrokerGivesNotSent, setupTest, teardownTest),
        cmocka_unit_test_setup_teardown(test_Start_ReconnectsAfterBrokerRestart, setupTest,
                                        teardownTest),
        cmocka_unit_test_setup_teardown(test_ReportIds_IncreaseAcrossStopStartAndPersist, setupTest,
                                        teardownTest),
        cmocka_unit_test_setup_teardown(test_Stop_MidReportReturnsPromptlyAndLeavesNothingRunning,
                                        setupTest, teardownTest),
        cmocka_unit_test_setup_teardown(test_Stop_DuringReconnectBackoffReturnsPromptly, setupTest,
                                        teardownTest),
        cmocka_unit_test_setup_teardown(test_AllMetrics_ReportTheSocketsOpened, setupTest,
                                        teardownTest),
        cmocka_unit_test_setup_teardown(test_SeedApi_ErrorCodes, setupTest, teardownTest),
    };
    return cmocka_run_group_tests_name("integration_seed_api", tests, setupGroup, teardownGroup);
}
