/**
 * @file test_mosquitto_slow_dns.c
 * @brief DEFENDER_Stop() returns promptly while the broker's name is being looked up and
 * the DNS server does not answer.
 *
 * The process runs in private network and mount namespaces where `/etc/resolv.conf`
 * names a server on 127.0.0.1 that never answers (each lookup waits out the resolver's
 * time-out, about 2 s) and `/etc/hosts` knows `broker.test` as 127.0.0.1. The connection
 * used to look the name up on its network thread, which DEFENDER_Stop() joins: a stop
 * during a lookup took as long as the resolver's time-out (up to 30 s and more with the
 * defaults and several servers).
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "defender.h"
#include "defender_linux.h"
#include "test_broker.h"
#include "test_peer.h"
#include "test_sandbox.h"
#include "test_seed_wait.h"
#include "test_skip.h"

/** @brief A name the hosts file does not know: looked up in DNS, which never answers. */
#define SILENT_NAME "broker.example.com"

static int dnsServer = -1;
static bool lookupsHang;
static char stateDir[64];
static char thing[64];
static char logPath[64];
/** @brief The test's stderr while the agent's log goes to logPath (-1: not redirected). */
static int savedStderr = -1;

/** @brief Sends the agent's log (stderr) to logPath, or back to stderr. */
static void redirectStderr(bool toLog)
{
    int logFile;

    if (toLog && (savedStderr < 0))
    {
        savedStderr = dup(STDERR_FILENO);
        logFile = open(logPath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        assert_true((savedStderr >= 0) && (logFile >= 0));
        assert_int_equal(dup2(logFile, STDERR_FILENO), STDERR_FILENO);
        close(logFile);
    }
    else if (!toLog && (savedStderr >= 0))
    {
        (void) dup2(savedStderr, STDERR_FILENO);
        close(savedStderr);
        savedStderr = -1;
    }
}

/** @brief Waits until the process has `count` threads again; true if it did in time. */
static bool waitThreadCount(int count, uint32_t timeoutMs)
{
    uint64_t end = TestMonotonicMs() + timeoutMs;

    while ((TestThreadCount() != count) && (TestMonotonicMs() < end))
    {
        usleep(20000);
    }
    return TestThreadCount() == count;
}

/** @brief Points the agent at `host:port`, configured in code. */
static void configure(const char *pHost, uint16_t port)
{
    static char endpoint[128];
    DefenderLinuxConfig_t config;

    memset(&config, 0, sizeof(config));
    snprintf(endpoint, sizeof(endpoint), "%s:%u", pHost, (unsigned) port);
    config.pEndpoint = endpoint;
    config.pThingName = thing;
    config.pStateDir = stateDir;
    config.logLevel = DEFENDER_LOG_WARN;
    assert_int_equal(DEFENDER_LinuxConfigSet(&config), eDefenderErrSuccess);
}

/** @brief Times DEFENDER_Stop(); returns its duration in ms. */
static uint64_t timedStop(void)
{
    uint64_t start = TestMonotonicMs();

    assert_int_equal(DEFENDER_Stop(), eDefenderErrSuccess);
    return TestMonotonicMs() - start;
}

/** @brief A thread that does nothing (see setupGroup). */
static void *idle(void *pArgument)
{
    return pArgument;
}

static int setupGroup(void **state)
{
    pthread_t thread;

    (void) state;
    /* A first thread, so that threads a runtime starts with it (ThreadSanitizer's) exist
     * before the tests count theirs. */
    if ((pthread_create(&thread, NULL, idle, NULL) != 0) || (pthread_join(thread, NULL) != 0))
    {
        return -1;
    }
    snprintf(stateDir, sizeof(stateDir), "/tmp/defender-state-XXXXXX");
    snprintf(thing, sizeof(thing), "slow-dns-%d", (int) getpid());
    snprintf(logPath, sizeof(logPath), "%s/stderr.log", mkdtemp(stateDir));
    return 0;
}

static int teardownGroup(void **state)
{
    char command[128];

    (void) state;
    snprintf(command, sizeof(command), "rm -rf '%s'", stateDir);
    return system(command);
}

static int setupTest(void **state)
{
    (void) state;
    if (!lookupsHang)
    {
        TEST_SKIP_UNLESS_CI("no private namespaces with a silent DNS server");
    }
    return 0;
}

static int teardownTest(void **state)
{
    (void) state;
    (void) DEFENDER_Stop();
    redirectStderr(false);
    return 0;
}

/** @brief A stop while the lookup waits for DNS returns well under a second; the lookup,
 * left to finish on its own, leaves nothing running once the resolver gives up. */
static void test_Stop_DuringTheBrokerNameLookupReturnsPromptly(void **state)
{
    int threadsBefore = TestThreadCount();

    (void) state;
    configure(SILENT_NAME, 1883U);
    assert_int_equal(DEFENDER_AckTimeoutSet(10000), eDefenderErrSuccess);
    assert_int_equal(DEFENDER_Start(), eDefenderErrSuccess);
    usleep(300000);
    assert_true(TestThreadCount() > threadsBefore);

    assert_true(timedStop() < 1000U);
    assert_int_equal(DEFENDER_Stop(), eDefenderErrNotStarted);
    assert_true(waitThreadCount(threadsBefore, 15000U));
}

/** @brief While the name does not resolve, the report is NotSent (not connected), the
 * log says the name could not be resolved, and a stop is still prompt. */
static void test_UnresolvedName_ReportNotSentAndLogged(void **state)
{
    DefenderReportInfo_t info;
    int threadsBefore = TestThreadCount();
    char text[4096];
    FILE *pLog;
    size_t length;

    (void) state;
    configure(SILENT_NAME, 1883U);
    assert_int_equal(DEFENDER_AckTimeoutSet(500), eDefenderErrSuccess);
    /* The agent's warnings go to stderr: into the file while it runs. */
    redirectStderr(true);
    assert_int_equal(DEFENDER_Start(), eDefenderErrSuccess);
    assert_true(TestWaitStatus(eDefenderRepNotSent, 3000));
    assert_int_equal(DEFENDER_LastReportGet(&info), eDefenderErrSuccess);
    assert_int_equal(info.notSentReason, DEFENDER_NOT_SENT_NOT_CONNECTED);
    /* The first lookup gives up after the resolver's time-out; the retry is then due. */
    usleep(3000000);
    assert_true(timedStop() < 1000U);
    redirectStderr(false);

    pLog = fopen(logPath, "r");
    assert_non_null(pLog);
    length = fread(text, 1U, sizeof(text) - 1U, pLog);
    text[length] = '\0';
    fclose(pLog);
    if (strstr(text, "cannot resolve " SILENT_NAME) == NULL)
    {
        fail_msg("no line about the name lookup in the agent's log:\n%s", text);
    }
    assert_true(waitThreadCount(threadsBefore, 15000U));
}

/** @brief Start and stop several times while lookups hang: each stop is prompt, and the
 * abandoned lookups end on their own. */
static void test_RepeatedStartStop_DuringLookups(void **state)
{
    int threadsBefore = TestThreadCount();
    int i;

    (void) state;
    configure(SILENT_NAME, 1883U);
    for (i = 0; i < 4; i++)
    {
        assert_int_equal(DEFENDER_Start(), eDefenderErrSuccess);
        usleep(100000);
        assert_true(timedStop() < 1000U);
    }
    assert_true(waitThreadCount(threadsBefore, 15000U));
}

/** @brief A name that resolves (from the hosts file) still connects: the report is accepted. */
static void test_ResolvedName_ReportAccepted(void **state)
{
    TestBroker_t broker;
    TestPeer_t peer;

    (void) state;
    assert_true(TestBroker_Start(&broker, NULL));
    assert_true(TestPeer_Start(&peer, broker.port, TEST_PEER_ACCEPT));
    configure("broker.test", broker.port);
    assert_int_equal(DEFENDER_AckTimeoutSet(10000), eDefenderErrSuccess);
    assert_int_equal(DEFENDER_Start(), eDefenderErrSuccess);
    assert_true(TestWaitStatus(eDefenderRepSuccess, 10000));
    assert_true(timedStop() < 1000U);
    TestPeer_Stop(&peer);
    TestBroker_Stop(&broker);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_Stop_DuringTheBrokerNameLookupReturnsPromptly,
                                        setupTest, teardownTest),
        cmocka_unit_test_setup_teardown(test_UnresolvedName_ReportNotSentAndLogged, setupTest,
                                        teardownTest),
        cmocka_unit_test_setup_teardown(test_RepeatedStartStop_DuringLookups, setupTest,
                                        teardownTest),
        cmocka_unit_test_setup_teardown(test_ResolvedName_ReportAccepted, setupTest, teardownTest),
    };
    struct addrinfo hints;
    struct addrinfo *pResult = NULL;
    uint64_t start;

    /* Before any thread exists: unshare(CLONE_NEWUSER) refuses multi-threaded callers. */
    if (TestSandbox_IsolateNetwork())
    {
        dnsServer = TestSandbox_HangNameLookups();
    }
    if (dnsServer >= 0)
    {
        /* The premise: a lookup of the name waits (the resolver's time-out is 2 s). */
        memset(&hints, 0, sizeof(hints));
        hints.ai_socktype = SOCK_STREAM;
        start = TestMonotonicMs();
        if (getaddrinfo(SILENT_NAME, NULL, &hints, &pResult) == 0)
        {
            freeaddrinfo(pResult);
        }
        lookupsHang = (TestMonotonicMs() - start) >= 1500U;
    }
    if (!lookupsHang)
    {
        fprintf(stderr, "cannot make DNS lookups hang here (private network and mount "
                        "namespaces): the tests are skipped\n");
    }
    return cmocka_run_group_tests_name("integration_mosquitto_slow_dns", tests, setupGroup,
                                       teardownGroup);
}
