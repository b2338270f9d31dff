/**
 * @file test_agent_tls.c
 * @brief defender-agent over mutual TLS: a Mosquitto broker with
 * `require_certificate true`, a CA and certificates made with openssl at test time.
 * A client with a certificate of the right CA is accepted (also with ALPN); one with a
 * certificate of another CA, without a certificate, or trusting another CA is refused
 * (the report is not sent, exit 4); a key that does not match is a configuration
 * error (exit 1). An agent that is done disconnects cleanly, over TLS and plain TCP: the
 * broker receives its DISCONNECT (its log says so) rather than a connection that ends.
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
#include <sys/stat.h>
#include <unistd.h>

#include "test_agent_util.h"
#include "test_sandbox.h"

static TestTlsSandbox_t sandbox;
static char endpoint[64];
static AgentTestResult_t result;

static int setUpAll(void **state)
{
    (void) state;
    if (!TestSandbox_StartTls(&sandbox, "agent-tls", 0U, 0U, true))
    {
        return -1;
    }
    snprintf(endpoint, sizeof(endpoint), "127.0.0.1:%u", (unsigned) sandbox.broker.port);
    return 0;
}

static int tearDownAll(void **state)
{
    (void) state;
    return TestSandbox_StopTls(&sandbox) ? 0 : -1;
}

/** @brief Runs --once over TLS with the given CA, certificate, key and extra option pair. */
static void runTls(const char *pCa, const char *pCert, const char *pKey, const char *pExtra,
                   const char *pExtraValue)
{
    const char *args[24] = {"--once",    "--endpoint",  endpoint,    "--thing",
                            "agent-tls", "--state-dir", sandbox.dir, "--ack-timeout",
                            "2500",      "--ca",        pCa};
    size_t n = 11;
    if (pCert != NULL)
    {
        args[n++] = "--cert";
        args[n++] = pCert;
        args[n++] = "--key";
        args[n++] = pKey;
    }
    if (pExtra != NULL)
    {
        args[n++] = pExtra;
        args[n++] = pExtraValue;
    }
    args[n] = NULL;
    AgentTest_Run(args, 20000, &result);
}

/** @brief The agent's output (log lines and result) holds `pText`. */
static bool saidSo(const char *pText)
{
    return (strstr(result.out, pText) != NULL) || (strstr(result.err, pText) != NULL);
}

static void test_tls_ValidCertificateAccepted(void **state)
{
    uint32_t before = TestPeer_Reports(&sandbox.peer);
    (void) state;
    runTls(TestSandbox_Path(sandbox.dir, "ca.pem"), TestSandbox_Path(sandbox.dir, "client.pem"),
           TestSandbox_Path(sandbox.dir, "client.key"), NULL, NULL);
    assert_int_equal(result.exitCode, 0);
    assert_int_equal(TestPeer_Reports(&sandbox.peer), before + 1);
    assert_non_null(strstr(result.out, "accepted"));
}

static void test_tls_AlpnAccepted(void **state)
{
    (void) state;
    runTls(TestSandbox_Path(sandbox.dir, "ca.pem"), TestSandbox_Path(sandbox.dir, "client.pem"),
           TestSandbox_Path(sandbox.dir, "client.key"), "--alpn", "x-amzn-mqtt-ca");
    assert_int_equal(result.exitCode, 0);
}

static void test_tls_OtherCaCertificateRefused(void **state)
{
    uint32_t before = TestPeer_Reports(&sandbox.peer);
    (void) state;
    runTls(TestSandbox_Path(sandbox.dir, "ca.pem"), TestSandbox_Path(sandbox.dir, "intruder.pem"),
           TestSandbox_Path(sandbox.dir, "intruder.key"), NULL, NULL);
    assert_int_equal(result.exitCode, 4);
    assert_int_equal(TestPeer_Reports(&sandbox.peer), before);
    assert_non_null(strstr(result.out, "not sent: not connected to the broker"));
    /* OpenSSL's reason, passed on from libmosquitto: the broker refused our certificate. */
    assert_true(saidSo("alert unknown ca"));
}

static void test_tls_NoCertificateRefused(void **state)
{
    uint32_t before = TestPeer_Reports(&sandbox.peer);
    (void) state;
    runTls(TestSandbox_Path(sandbox.dir, "ca.pem"), NULL, NULL, NULL, NULL);
    assert_int_equal(result.exitCode, 4);
    assert_int_equal(TestPeer_Reports(&sandbox.peer), before);
    assert_true(saidSo("alert certificate required"));
}

static void test_tls_UntrustedServerRefused(void **state)
{
    (void) state;
    runTls(TestSandbox_Path(sandbox.dir, "other-ca.pem"),
           TestSandbox_Path(sandbox.dir, "client.pem"), TestSandbox_Path(sandbox.dir, "client.key"),
           NULL, NULL);
    assert_int_equal(result.exitCode, 4);
    /* The broker's certificate is not signed by the CA given: said so, not only "TLS error". */
    assert_true(saidSo("certificate verify failed"));
}

static void test_tls_KeyNotMatchingIsConfigError(void **state)
{
    (void) state;
    runTls(TestSandbox_Path(sandbox.dir, "ca.pem"), TestSandbox_Path(sandbox.dir, "client.pem"),
           TestSandbox_Path(sandbox.dir, "intruder.key"), NULL, NULL);
    assert_int_equal(result.exitCode, 1);
    assert_non_null(strstr(result.err, "does not belong to the certificate"));
}

static void test_tls_MissingCertificateIsConfigError(void **state)
{
    (void) state;
    runTls(TestSandbox_Path(sandbox.dir, "ca.pem"), TestSandbox_Path(sandbox.dir, "missing.pem"),
           TestSandbox_Path(sandbox.dir, "client.key"), NULL, NULL);
    assert_int_equal(result.exitCode, 1);
    assert_non_null(strstr(result.err, "cannot read the certificate file"));
}

/**
 * @brief Checks the broker's log for the end of the connection of client `pClientId`:
 * its DISCONNECT arrived and the broker logged a clean disconnection ("Client ...
 * disconnected."), not "closed its connection" or "disconnected: <error>".
 */
static void assertDisconnectedCleanly(const char *pClientId)
{
    char ending[96];
    char received[96];
    char clean[96];
    char lines[4096];
    size_t endings;

    snprintf(ending, sizeof(ending), "Client %s ", pClientId);
    snprintf(received, sizeof(received), "Received DISCONNECT from %s\n", pClientId);
    snprintf(clean, sizeof(clean), "Client %s disconnected.\n", pClientId);
    /* The broker logs the end of the connection when it notices it. */
    assert_true(TestBroker_WaitLog(&sandbox.broker, ending, 5000));
    endings = TestBroker_LogLines(&sandbox.broker, ending, lines, sizeof(lines));
    if ((endings != 1U) || (strstr(lines, clean) == NULL))
    {
        fail_msg("the broker logged the end of the connection as:\n%s", lines);
    }
    assert_int_equal(TestBroker_LogLines(&sandbox.broker, received, lines, sizeof(lines)), 1U);
}

static void test_tls_DisconnectIsClean(void **state)
{
    (void) state;
    runTls(TestSandbox_Path(sandbox.dir, "ca.pem"), TestSandbox_Path(sandbox.dir, "client.pem"),
           TestSandbox_Path(sandbox.dir, "client.key"), "--client-id", "agent-tls-bye");
    assert_int_equal(result.exitCode, 0);
    assertDisconnectedCleanly("agent-tls-bye");
}

static void test_plain_DisconnectIsClean(void **state)
{
    char plainEndpoint[64];
    const char *args[] = {"--once",          "--endpoint",  plainEndpoint,
                          "--thing",         "agent-tls",   "--client-id",
                          "agent-plain-bye", "--state-dir", sandbox.dir,
                          "--ack-timeout",   "2500",        NULL};

    (void) state;
    snprintf(plainEndpoint, sizeof(plainEndpoint), "127.0.0.1:%u",
             (unsigned) sandbox.broker.plainPort);
    AgentTest_Run(args, 20000, &result);
    assert_int_equal(result.exitCode, 0);
    assertDisconnectedCleanly("agent-plain-bye");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tls_ValidCertificateAccepted),
        cmocka_unit_test(test_tls_AlpnAccepted),
        cmocka_unit_test(test_tls_OtherCaCertificateRefused),
        cmocka_unit_test(test_tls_NoCertificateRefused),
        cmocka_unit_test(test_tls_UntrustedServerRefused),
        cmocka_unit_test(test_tls_KeyNotMatchingIsConfigError),
        cmocka_unit_test(test_tls_MissingCertificateIsConfigError),
        cmocka_unit_test(test_tls_DisconnectIsClean),
        cmocka_unit_test(test_plain_DisconnectIsClean),
    };
    return cmocka_run_group_tests(tests, setUpAll, tearDownAll);
}
