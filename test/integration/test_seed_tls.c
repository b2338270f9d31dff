/**
 * @file test_seed_tls.c
 * @brief The seed API over mutual TLS, configured only through the environment
 * (DEFENDER_ENDPOINT, DEFENDER_CA_FILE, DEFENDER_CERT_FILE, DEFENDER_KEY_FILE ...):
 * nothing is configured in code. A Mosquitto broker with `require_certificate true`
 * and a CA and certificates made with openssl at test time.
 *
 * The default ports (8883 with TLS, 1883 without, when DEFENDER_ENDPOINT has no port)
 * are checked through a real connection too: the program moves into a private network
 * namespace first, where the broker can listen on 8883 (TLS) and 1883 (plain) without
 * meeting anything else on the host. Where no namespace can be made, those two tests are
 * skipped (unit_linux_ports checks the rule on the connection settings in any case).
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "defender.h"
#include "defender_linux.h"
#include "test_sandbox.h"
#include "test_skip.h"
#include "test_seed_wait.h"

static TestTlsSandbox_t sandbox;
static char thing[64];
static bool isolated;

static int setupGroup(void **state)
{
    (void) state;
    snprintf(thing, sizeof(thing), "seed-tls-%d", (int) getpid());
    /* In a namespace of its own nothing else listens: the default ports are free. */
    return TestSandbox_StartTls(&sandbox, "seed-tls", isolated ? 8883U : 0U, isolated ? 1883U : 0U,
                                false)
               ? 0
               : -1;
}

static int teardownGroup(void **state)
{
    (void) state;
    return TestSandbox_StopTls(&sandbox) ? 0 : -1;
}

/** @brief Configuration from the environment only: endpoint, thing, state folder; no
 * TLS variables (each test sets the ones it needs). */
static int setupTest(void **state)
{
    (void) state;
    setenv("DEFENDER_THING_NAME", thing, 1);
    setenv("DEFENDER_STATE_DIR", sandbox.dir, 1);
    setenv("DEFENDER_LOG_LEVEL", "error", 1);
    unsetenv("DEFENDER_ENDPOINT");
    unsetenv("DEFENDER_CA_FILE");
    unsetenv("DEFENDER_CERT_FILE");
    unsetenv("DEFENDER_KEY_FILE");
    unsetenv("DEFENDER_ALPN");
    unsetenv("DEFENDER_CLIENT_ID");
    assert_int_equal(DEFENDER_LinuxConfigSet(NULL), eDefenderErrSuccess);
    assert_int_equal(DEFENDER_AckTimeoutSet(5000), eDefenderErrSuccess);
    return 0;
}

static int teardownTest(void **state)
{
    (void) state;
    (void) DEFENDER_Stop();
    return 0;
}

/** @brief Sets DEFENDER_ENDPOINT to 127.0.0.1 with `port`, or without a port for 0. */
static void setEndpoint(uint16_t port)
{
    char endpoint[64];
    if (port != 0U)
    {
        snprintf(endpoint, sizeof(endpoint), "127.0.0.1:%u", (unsigned) port);
    }
    else
    {
        snprintf(endpoint, sizeof(endpoint), "127.0.0.1");
    }
    setenv("DEFENDER_ENDPOINT", endpoint, 1);
}

/** @brief Sets the three TLS variables to the test's CA and client certificate. */
static void setTlsEnvironment(void)
{
    setenv("DEFENDER_CA_FILE", TestSandbox_Path(sandbox.dir, "ca.pem"), 1);
    setenv("DEFENDER_CERT_FILE", TestSandbox_Path(sandbox.dir, "client.pem"), 1);
    setenv("DEFENDER_KEY_FILE", TestSandbox_Path(sandbox.dir, "client.key"), 1);
}

/** @brief Starts the seed API and expects the service's ACCEPTED for a report on
 * this thing's topic, published at QoS 1 and not retained. */
static void startAndExpectAccepted(void)
{
    uint8_t report[TEST_PEER_MAX_REPORT];
    char topic[256];
    char expectedTopic[256];
    uint64_t id = 0;
    int qos = -1;
    bool retain = true;
    DefenderReportInfo_t info;
    uint32_t before = TestPeer_Reports(&sandbox.peer);

    assert_int_equal(DEFENDER_Start(), eDefenderErrSuccess);
    assert_true(TestWaitStatus(eDefenderRepSuccess, 15000));
    assert_true(TestPeer_Reports(&sandbox.peer) > before);
    TestPeer_LastReport(&sandbox.peer, report, sizeof(report), topic, sizeof(topic), &id);
    snprintf(expectedTopic, sizeof(expectedTopic), "$aws/things/%s/defender/metrics/json", thing);
    assert_string_equal(topic, expectedTopic);
    assert_int_equal(DEFENDER_LastReportGet(&info), eDefenderErrSuccess);
    assert_int_equal(info.reportId, id);
    TestPeer_Delivery(&sandbox.peer, &qos, &retain, NULL, NULL);
    assert_int_equal(qos, 1);
    assert_false(retain);
}

/** @brief DEFENDER_Start() with nothing configured in code: the endpoint and the CA,
 * certificate and key come from the environment, the broker requires the client
 * certificate, and the report is accepted. */
static void test_SeedApi_TlsFromEnvironmentAccepted(void **state)
{
    (void) state;
    setEndpoint(sandbox.broker.port);
    setTlsEnvironment();
    startAndExpectAccepted();
}

/** @brief Without DEFENDER_CERT_FILE/DEFENDER_KEY_FILE the broker (which requires a
 * client certificate) refuses the connection: the report is not sent. So the accepted
 * report above did use the certificate the environment named. */
static void test_SeedApi_TlsWithoutClientCertificateNotSent(void **state)
{
    DefenderReportInfo_t info;
    uint32_t before = TestPeer_Reports(&sandbox.peer);

    (void) state;
    setEndpoint(sandbox.broker.port);
    setenv("DEFENDER_CA_FILE", TestSandbox_Path(sandbox.dir, "ca.pem"), 1);
    assert_int_equal(DEFENDER_AckTimeoutSet(300), eDefenderErrSuccess);
    assert_int_equal(DEFENDER_Start(), eDefenderErrSuccess);
    assert_true(TestWaitStatus(eDefenderRepNotSent, 10000));
    assert_int_equal(DEFENDER_LastReportGet(&info), eDefenderErrSuccess);
    assert_int_equal(info.notSentReason, DEFENDER_NOT_SENT_NOT_CONNECTED);
    assert_int_equal(TestPeer_Reports(&sandbox.peer), before);
}

/** @brief The TLS variables are read: a CA file that does not exist, or a certificate
 * without its key, makes DEFENDER_Start() fail at once. */
static void test_SeedApi_TlsEnvironmentErrors(void **state)
{
    (void) state;
    setEndpoint(sandbox.broker.port);
    setTlsEnvironment();
    setenv("DEFENDER_CA_FILE", TestSandbox_Path(sandbox.dir, "missing-ca.pem"), 1);
    assert_int_equal(DEFENDER_Start(), eDefenderErrOther);
    setTlsEnvironment();
    unsetenv("DEFENDER_KEY_FILE");
    assert_int_equal(DEFENDER_Start(), eDefenderErrOther);
    setTlsEnvironment();
    setenv("DEFENDER_KEY_FILE", TestSandbox_Path(sandbox.dir, "missing.key"), 1);
    assert_int_equal(DEFENDER_Start(), eDefenderErrOther);
}

/** @brief DEFENDER_ENDPOINT without a port and the TLS variables set: port 8883. */
static void test_SeedApi_DefaultPort8883WithTls(void **state)
{
    (void) state;
    if (!isolated)
    {
        TEST_SKIP_UNLESS_CI("no private network namespace");
    }
    assert_int_equal(sandbox.broker.port, 8883);
    setEndpoint(0U);
    setTlsEnvironment();
    startAndExpectAccepted();
}

/** @brief DEFENDER_ENDPOINT without a port and no TLS variable: plain TCP on 1883. */
static void test_SeedApi_DefaultPort1883WithoutTls(void **state)
{
    (void) state;
    if (!isolated)
    {
        TEST_SKIP_UNLESS_CI("no private network namespace");
    }
    assert_int_equal(sandbox.broker.plainPort, 1883);
    setEndpoint(0U);
    startAndExpectAccepted();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_SeedApi_TlsFromEnvironmentAccepted, setupTest,
                                        teardownTest),
        cmocka_unit_test_setup_teardown(test_SeedApi_TlsWithoutClientCertificateNotSent, setupTest,
                                        teardownTest),
        cmocka_unit_test_setup_teardown(test_SeedApi_TlsEnvironmentErrors, setupTest, teardownTest),
        cmocka_unit_test_setup_teardown(test_SeedApi_DefaultPort8883WithTls, setupTest,
                                        teardownTest),
        cmocka_unit_test_setup_teardown(test_SeedApi_DefaultPort1883WithoutTls, setupTest,
                                        teardownTest),
    };
    /* Before any thread exists: unshare(CLONE_NEWUSER) refuses multi-threaded callers. */
    isolated = TestSandbox_IsolateNetwork();
    if (!isolated)
    {
        fprintf(stderr, "cannot create a private network namespace: the default-port tests "
                        "are skipped\n");
    }
    return cmocka_run_group_tests_name("integration_seed_tls", tests, setupGroup, teardownGroup);
}
