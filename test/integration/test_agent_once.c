/**
 * @file test_agent_once.c
 * @brief defender-agent through the real path: the program, a real Mosquitto broker
 * and a test peer answering like the service. Every --once outcome (accepted,
 * rejected, throttled, no answer, broker down), service mode stopped by SIGTERM,
 * a report not sent after an accepted one (logged without an id), the configuration file,
 * custom-metric commands that fail, a response subscription the broker refuses, and bad
 * input.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test_agent_util.h"
#include "test_broker.h"
#include "test_peer.h"
#include "test_skip.h"

static TestBroker_t broker;
static TestPeer_t peer;
static char endpoint[64];
static char stateDir[64];
static AgentTestResult_t result;

/** @brief Starts the broker and the peer once for all tests. */
static int setUpAll(void **state)
{
    (void) state;
    if (!TestBroker_Start(&broker, NULL) || !TestPeer_Start(&peer, broker.port, TEST_PEER_ACCEPT))
    {
        return -1;
    }
    snprintf(endpoint, sizeof(endpoint), "127.0.0.1:%u", (unsigned) broker.port);
    snprintf(stateDir, sizeof(stateDir), "/tmp/agent-once-XXXXXX");
    return (mkdtemp(stateDir) != NULL) ? 0 : -1;
}

/** @brief Stops the peer and the broker. */
static int tearDownAll(void **state)
{
    char command[128];
    (void) state;
    TestPeer_Stop(&peer);
    TestBroker_Stop(&broker);
    snprintf(command, sizeof(command), "rm -rf %s", stateDir);
    return system(command) == 0 ? 0 : -1;
}

/** @brief Runs `--once` against the broker with extra arguments. */
static void runOnce(const char *pThing, const char *const *extra)
{
    const char *args[40] = {"--once",      "--endpoint", endpoint,        "--thing", pThing,
                            "--state-dir", stateDir,     "--ack-timeout", "1500"};
    size_t n = 9;
    while ((extra != NULL) && (*extra != NULL) && (n < 39))
    {
        args[n++] = *extra++;
    }
    args[n] = NULL;
    AgentTest_Run(args, 20000, &result);
}

/** @brief Last report the peer received, parsed (caller deletes). */
static cJSON *lastReport(uint64_t *pId)
{
    static uint8_t payload[TEST_PEER_MAX_REPORT + 1];
    char topic[256];
    size_t length = TestPeer_LastReport(&peer, payload, sizeof(payload), topic, sizeof(topic), pId);
    payload[length < sizeof(payload) ? length : sizeof(payload) - 1] = '\0';
    return cJSON_Parse((const char *) payload);
}

static void test_once_Accepted(void **state)
{
    uint32_t before = TestPeer_Reports(&peer);
    uint64_t id = 0;
    char expected[128];
    cJSON *pReport;

    (void) state;
    TestPeer_SetMode(&peer, TEST_PEER_ACCEPT);
    runOnce("agent-accepted", NULL);
    assert_int_equal(result.exitCode, 0);
    assert_int_equal(TestPeer_Reports(&peer), before + 1);
    pReport = lastReport(&id);
    assert_non_null(pReport);
    assert_non_null(cJSON_GetObjectItem(pReport, "hed"));
    cJSON_Delete(pReport);
    /* Outcome on stdout, with the id; the same line in the log. */
    snprintf(expected, sizeof(expected), "report %llu (", (unsigned long long) id);
    assert_non_null(strstr(result.out, expected));
    assert_non_null(strstr(result.out, "bytes): accepted"));
    assert_non_null(strstr(result.err, expected));
}

static void test_once_Rejected(void **state)
{
    (void) state;
    TestPeer_SetMode(&peer, TEST_PEER_REJECT);
    runOnce("agent-rejected", NULL);
    assert_int_equal(result.exitCode, 2);
    assert_non_null(strstr(result.out, "rejected: ErrorCode=InvalidPayload "
                                       "ErrorMessage=\"Malformed metrics report\""));
    assert_non_null(strstr(result.err, "ErrorCode=InvalidPayload"));
}

static void test_once_Throttled(void **state)
{
    (void) state;
    TestPeer_SetMode(&peer, TEST_PEER_THROTTLE);
    runOnce("agent-throttled", NULL);
    assert_int_equal(result.exitCode, 2);
    assert_non_null(strstr(result.out, "ErrorCode=Throttled"));
}

static void test_once_NoAnswer(void **state)
{
    uint32_t before = TestPeer_Reports(&peer);
    (void) state;
    TestPeer_SetMode(&peer, TEST_PEER_SILENT);
    runOnce("agent-silent", NULL);
    assert_int_equal(result.exitCode, 3);
    assert_int_equal(TestPeer_Reports(&peer), before + 1);
    assert_non_null(strstr(result.out, "no acknowledgement within 1500 ms"));
    assert_true(result.seconds < 6.0);
    TestPeer_SetMode(&peer, TEST_PEER_ACCEPT);
}

static void test_once_BrokerDown(void **state)
{
    char down[64];
    const char *args[] = {"--once", "--endpoint",    down,   "--thing", "agent-down", "--state-dir",
                          stateDir, "--ack-timeout", "1500", NULL};
    (void) state;
    snprintf(down, sizeof(down), "127.0.0.1:%u", (unsigned) TestBroker_FreePort());
    AgentTest_Run(args, 20000, &result);
    assert_int_equal(result.exitCode, 4);
    /* No report went out: the line carries no id (not "report 0"). */
    assert_string_equal(result.out, "report not sent: not connected to the broker\n");
    assert_non_null(strstr(result.err, "report not sent: not connected to the broker"));
    assert_null(strstr(result.err, "report 0"));
    assert_non_null(strstr(result.err, "cannot reach 127.0.0.1"));
}

/** @brief The broker refuses the `accepted` subscription (SUBACK 0x80): not sent, exit 4,
 * nothing published, and the log names the refused topic. */
static void test_once_SubscriptionRefused(void **state)
{
    TestBrokerOptions_t options;
    TestBroker_t ownBroker;
    TestPeer_t ownPeer;
    char ownEndpoint[64];
    const char *args[] = {"--once",      "--endpoint", ownEndpoint,     "--thing", "agent-refused",
                          "--state-dir", stateDir,     "--ack-timeout", "1500",    NULL};
    bool peerStarted;

    (void) state;
    if (TestBroker_DynamicSecurityPlugin() == NULL)
    {
        TEST_SKIP_UNLESS_CI("Mosquitto's dynamic-security plugin");
    }
    (void) memset(&options, 0, sizeof(options));
    /* The peer's report topics and the thing's `rejected` topic; not `accepted`. */
    options.pAnonymousAcls =
        "[{\"acltype\": \"subscribePattern\", \"topic\": \"$aws/things/+/defender/metrics/+\", "
        "\"allow\": true}, {\"acltype\": \"subscribeLiteral\", \"topic\": "
        "\"$aws/things/agent-refused/defender/metrics/json/rejected\", \"allow\": true}]";
    options.subscribeDeniedByDefault = true;
    assert_true(TestBroker_Start(&ownBroker, &options));
    peerStarted = TestPeer_Start(&ownPeer, ownBroker.port, TEST_PEER_ACCEPT);
    snprintf(ownEndpoint, sizeof(ownEndpoint), "127.0.0.1:%u", (unsigned) ownBroker.port);
    if (peerStarted)
    {
        AgentTest_Run(args, 20000, &result);
    }
    if (peerStarted)
    {
        assert_int_equal(TestPeer_Reports(&ownPeer), 0);
        TestPeer_Stop(&ownPeer);
    }
    TestBroker_Stop(&ownBroker);
    assert_true(peerStarted);
    assert_int_equal(result.exitCode, 4);
    assert_string_equal(result.out,
                        "report not sent: the response topics are not subscribed (check the "
                        "policy)\n");
    assert_non_null(strstr(result.err, "the broker refused the subscription to "
                                       "$aws/things/agent-refused/defender/metrics/json/accepted "
                                       "(SUBACK return code 0x80)"));
    assert_null(strstr(result.err, "json/rejected"));
}

static void test_service_NotSentAfterAcceptedHasNoId(void **state)
{
    TestBroker_t ownBroker;
    TestPeer_t ownPeer;
    char ownEndpoint[64];
    const char *args[] = {"--endpoint",    ownEndpoint, "--thing",  "agent-notsent",
                          "--state-dir",   stateDir,    "--period", "1",
                          "--ack-timeout", "800",       NULL};
    char errPath[] = "/tmp/agent-notsent-err-XXXXXX";
    char acceptedLine[96];
    char topic[256];
    static uint8_t payload[TEST_PEER_MAX_REPORT];
    uint64_t id = 0;
    uint64_t end;
    int fd = mkstemp(errPath);
    int out = -1;
    pid_t pid;

    (void) state;
    close(fd);
    assert_true(TestBroker_Start(&ownBroker, NULL));
    assert_true(TestPeer_Start(&ownPeer, ownBroker.port, TEST_PEER_ACCEPT));
    snprintf(ownEndpoint, sizeof(ownEndpoint), "127.0.0.1:%u", (unsigned) ownBroker.port);
    pid = AgentTest_Start(args, &out, errPath);
    assert_true(pid > 0);
    assert_true(TestPeer_WaitReports(&ownPeer, 1, 8000));
    (void) TestPeer_LastReport(&ownPeer, payload, sizeof(payload), topic, sizeof(topic), &id);
    assert_true(id > 0);
    snprintf(acceptedLine, sizeof(acceptedLine), "report %llu (", (unsigned long long) id);
    end = AgentTest_NowMs() + 8000;
    do
    {
        usleep(100000);
        AgentTest_ReadFile(errPath, result.err, sizeof(result.err));
    } while ((strstr(result.err, "bytes): accepted") == NULL) && (AgentTest_NowMs() < end));
    TestPeer_Stop(&ownPeer);
    TestBroker_Kill(&ownBroker);
    end = AgentTest_NowMs() + 10000;
    do
    {
        usleep(100000);
        AgentTest_ReadFile(errPath, result.err, sizeof(result.err));
    } while ((strstr(result.err, "not sent") == NULL) && (AgentTest_NowMs() < end));
    kill(pid, SIGTERM);
    assert_int_equal(AgentTest_Wait(pid, 5000), 0);
    AgentTest_ReadFile(errPath, result.err, sizeof(result.err));
    unlink(errPath);
    close(out);
    TestBroker_Stop(&ownBroker);
    assert_non_null(strstr(result.err, acceptedLine));
    /* The report that was not sent is not logged under the accepted report's id. */
    assert_non_null(strstr(result.err, "report not sent: "));
    assert_null(strstr(result.err, ": not sent:"));
    /* Logged once, by the agent with the reason (the core's bare line is left out). */
    assert_null(strstr(result.err, "report not sent\n"));
}

static void test_once_CborLongKeys(void **state)
{
    static const char *const extra[] = {"--format", "cbor", "--keys", "long", NULL};
    char topic[256];
    static uint8_t payload[TEST_PEER_MAX_REPORT];
    uint64_t id = 0;
    (void) state;
    TestPeer_SetMode(&peer, TEST_PEER_ACCEPT);
    runOnce("agent-cbor", extra);
    assert_int_equal(result.exitCode, 0);
    (void) TestPeer_LastReport(&peer, payload, sizeof(payload), topic, sizeof(topic), &id);
    assert_string_equal(topic, "$aws/things/agent-cbor/defender/metrics/cbor");
    assert_true(id > 0);
}

static void test_once_ReportIdsGrowAcrossRuns(void **state)
{
    uint64_t first = 0;
    uint64_t second = 0;
    cJSON *pReport;
    (void) state;
    TestPeer_SetMode(&peer, TEST_PEER_ACCEPT);
    runOnce("agent-ids", NULL);
    assert_int_equal(result.exitCode, 0);
    pReport = lastReport(&first);
    cJSON_Delete(pReport);
    runOnce("agent-ids", NULL);
    assert_int_equal(result.exitCode, 0);
    pReport = lastReport(&second);
    cJSON_Delete(pReport);
    assert_true(second > first);
}

static void test_once_CustomCommandsFailing(void **state)
{
    static const char *const extra[] = {"--keys",
                                        "long",
                                        "--command-timeout",
                                        "700",
                                        "--custom",
                                        "good:number:echo 42",
                                        "--custom",
                                        "list:number-list:echo 1, 2.5 -3",
                                        "--custom",
                                        "names:string-list:printf 'eth0\\napp/main\\n'",
                                        "--custom",
                                        "dns:ip-list:echo 192.0.2.53 2001:db8::53",
                                        "--custom",
                                        "fails:number:exit 3",
                                        "--custom",
                                        "hangs:number:sleep 30",
                                        "--custom",
                                        "garbage:number:echo forty-two",
                                        "--custom",
                                        "badip:ip-list:echo 300.1.1.1",
                                        "--custom",
                                        "huge:string-list:yes x | head -c 100000",
                                        NULL};
    cJSON *pReport;
    cJSON *pCustom;
    uint64_t id = 0;

    (void) state;
    TestPeer_SetMode(&peer, TEST_PEER_ACCEPT);
    runOnce("agent-custom", extra);
    assert_int_equal(result.exitCode, 0);
    pReport = lastReport(&id);
    assert_non_null(pReport);
    pCustom = cJSON_GetObjectItem(pReport, "custom_metrics");
    assert_non_null(pCustom);
    assert_int_equal(cJSON_GetArraySize(pCustom), 4);
    assert_int_equal(
        cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(pCustom, "good"), 0), "number")
            ->valueint,
        42);
    assert_int_equal(
        cJSON_GetArraySize(cJSON_GetObjectItem(
            cJSON_GetArrayItem(cJSON_GetObjectItem(pCustom, "list"), 0), "number_list")),
        3);
    assert_non_null(cJSON_GetObjectItem(pCustom, "names"));
    assert_non_null(cJSON_GetObjectItem(pCustom, "dns"));
    assert_non_null(cJSON_GetObjectItem(pReport, "metrics"));
    cJSON_Delete(pReport);
    assert_non_null(strstr(result.err, "custom metric 'fails': command exited with status 3"));
    assert_non_null(
        strstr(result.err, "custom metric 'hangs': command did not finish within 700 ms"));
    assert_non_null(strstr(result.err, "custom metric 'garbage': output is not a valid number"));
    assert_non_null(strstr(result.err, "custom metric 'badip': output is not a valid ip-list"));
    assert_non_null(
        strstr(result.err, "custom metric 'huge': command printed more than 4096 bytes"));
}

static void test_service_SigtermStopsCleanly(void **state)
{
    const char *args[] = {"--endpoint",    endpoint, "--thing",  "agent-service",
                          "--state-dir",   stateDir, "--period", "1",
                          "--ack-timeout", "800",    NULL};
    char errPath[] = "/tmp/agent-service-err-XXXXXX";
    int fd = mkstemp(errPath);
    uint32_t before = TestPeer_Reports(&peer);
    int out = -1;
    pid_t pid;
    uint64_t start;
    int code;

    (void) state;
    close(fd);
    TestPeer_SetMode(&peer, TEST_PEER_ACCEPT);
    pid = AgentTest_Start(args, &out, errPath);
    assert_true(pid > 0);
    assert_true(TestPeer_WaitReports(&peer, before + 2, 8000));
    usleep(300000);
    start = AgentTest_NowMs();
    kill(pid, SIGTERM);
    code = AgentTest_Wait(pid, 5000);
    assert_int_equal(code, 0);
    assert_true(AgentTest_NowMs() - start < 2000);
    AgentTest_ReadFile(errPath, result.err, sizeof(result.err));
    unlink(errPath);
    close(out);
    assert_non_null(strstr(result.err, "SIGTERM received: stopping"));
    assert_non_null(strstr(result.err, "bytes): accepted"));
}

/** @brief In service mode a Throttled rejection says when the next report goes, on the
 * report's own line (the core's line without the id is left out). */
static void test_service_ThrottledSaysWhenNext(void **state)
{
    const char *args[] = {"--endpoint",    endpoint, "--thing",  "agent-throttled-svc",
                          "--state-dir",   stateDir, "--period", "1",
                          "--ack-timeout", "800",    NULL};
    char errPath[] = "/tmp/agent-throttled-err-XXXXXX";
    int fd = mkstemp(errPath);
    uint32_t before = TestPeer_Reports(&peer);
    int out = -1;
    pid_t pid;
    uint64_t end;

    (void) state;
    close(fd);
    TestPeer_SetMode(&peer, TEST_PEER_THROTTLE);
    pid = AgentTest_Start(args, &out, errPath);
    assert_true(pid > 0);
    assert_true(TestPeer_WaitReports(&peer, before + 1, 8000));
    end = AgentTest_NowMs() + 8000;
    do
    {
        usleep(100000);
        AgentTest_ReadFile(errPath, result.err, sizeof(result.err));
    } while ((strstr(result.err, "ErrorCode=Throttled") == NULL) && (AgentTest_NowMs() < end));
    kill(pid, SIGTERM);
    assert_int_equal(AgentTest_Wait(pid, 5000), 0);
    AgentTest_ReadFile(errPath, result.err, sizeof(result.err));
    unlink(errPath);
    close(out);
    TestPeer_SetMode(&peer, TEST_PEER_ACCEPT);
    assert_non_null(strstr(result.err, "ErrorMessage=\"Metrics report rate exceeded\" (next "
                                       "report one period from now)"));
    assert_null(strstr(result.err, "report throttled: next report postponed a period"));
}

static void test_config_FileSettings(void **state)
{
    char path[] = "/tmp/agent-config-XXXXXX";
    int fd = mkstemp(path);
    FILE *pFile = fdopen(fd, "w");
    const char *args[] = {"--config", path, "--once", NULL};
    uint64_t id = 0;
    cJSON *pReport;

    (void) state;
    fprintf(pFile,
            "# test configuration\n\nendpoint = %s\nthing = agent-config\n"
            "state-dir = %s\nkeys = long\nmetrics = listening-tcp-ports, network-stats\n"
            "ack-timeout = 1500\ncustom = c1:number:echo 7 # a comment is part of the command\n",
            endpoint, stateDir);
    fclose(pFile);
    TestPeer_SetMode(&peer, TEST_PEER_ACCEPT);
    AgentTest_Run(args, 20000, &result);
    unlink(path);
    assert_int_equal(result.exitCode, 0);
    pReport = lastReport(&id);
    assert_non_null(pReport);
    assert_non_null(
        cJSON_GetObjectItem(cJSON_GetObjectItem(pReport, "metrics"), "listening_tcp_ports"));
    assert_null(cJSON_GetObjectItem(cJSON_GetObjectItem(pReport, "metrics"), "tcp_connections"));
    assert_non_null(cJSON_GetObjectItem(cJSON_GetObjectItem(pReport, "custom_metrics"), "c1"));
    cJSON_Delete(pReport);
}

/** @brief Runs the agent expecting exit status 1 and `pMessage` on stderr. */
static void expectUsageError(const char *const *args, const char *pMessage)
{
    AgentTest_Run(args, 10000, &result);
    assert_int_equal(result.exitCode, 1);
    if (strstr(result.err, pMessage) == NULL)
    {
        fprintf(stderr, "expected '%s' in:\n%s\n", pMessage, result.err);
        fail();
    }
}

static void test_badInput_Messages(void **state)
{
    char longName[200];
    char path[] = "/tmp/agent-garbage-XXXXXX";
    int fd = mkstemp(path);

    (void) state;
    assert_int_equal(write(fd, "not a certificate\n", 18), 18);
    close(fd);
    memset(longName, 'a', 129);
    longName[129] = '\0';
    {
        const char *a[] = {"--once", "--endpoint", endpoint, "--thing", longName, NULL};
        expectUsageError(a, "the thing name is 129 bytes long; at most 128 are allowed");
    }
    {
        const char *a[] = {"--once", "--endpoint", endpoint, "--thing", "bad+name", NULL};
        expectUsageError(a, "the thing name has '+' at byte 4");
    }
    {
        const char *a[] = {"--once", "--endpoint", endpoint, "--thing", "bad\tname", NULL};
        expectUsageError(a, "control character (0x09) at byte 4");
    }
    {
        const char *a[] = {"--once", "--endpoint",          endpoint, "--thing", "t",
                           "--ca",   "/nonexistent/ca.pem", NULL};
        expectUsageError(a, "cannot read the CA certificate file /nonexistent/ca.pem");
    }
    {
        const char *a[] = {"--once", "--endpoint", endpoint, "--thing", "t", "--ca", path, NULL};
        expectUsageError(a, "does not hold a PEM certificate");
    }
    {
        const char *a[] = {"--once", "--endpoint", endpoint, "--thing", "t", "--cert", path, NULL};
        expectUsageError(a, "--cert and --key go together");
    }
    {
        const char *a[] = {"--once", "--endpoint", endpoint, "--thing", "t", "--period", "0", NULL};
        expectUsageError(a, "invalid period '0'");
    }
    {
        const char *a[] = {"--once",   "--endpoint",          endpoint, "--thing", "t",
                           "--custom", "aws:x:number:echo 1", NULL};
        expectUsageError(a, "custom metric name 'aws:x' is not valid");
    }
    {
        const char *a[] = {"--once", "--endpoint", endpoint,         "--thing",
                           "t",      "--custom",   "x:float:echo 1", NULL};
        expectUsageError(a, "expected NAME:TYPE:COMMAND");
    }
    {
        const char *a[] = {"--bogus", NULL};
        expectUsageError(a, "Try 'defender-agent --help'");
    }
    {
        const char *a[] = {"--config", "/nonexistent.conf", NULL};
        expectUsageError(a, "cannot read the configuration file /nonexistent.conf");
    }
    unlink(path);
}

static void test_help_ListsEveryOption(void **state)
{
    static const char *const options[] = {"--endpoint", "--thing",     "--period", "--format",
                                          "--keys",     "--ca",        "--cert",   "--key",
                                          "--alpn",     "--metrics",   "--custom", "--once",
                                          "--dry-run",  "--log-level", "--config", "--ack-timeout"};
    const char *args[] = {"--help", NULL};
    size_t i;
    (void) state;
    AgentTest_Run(args, 5000, &result);
    assert_int_equal(result.exitCode, 0);
    for (i = 0; i < sizeof(options) / sizeof(options[0]); i++)
    {
        assert_non_null(strstr(result.out, options[i]));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_once_Accepted),
        cmocka_unit_test(test_once_Rejected),
        cmocka_unit_test(test_once_Throttled),
        cmocka_unit_test(test_once_NoAnswer),
        cmocka_unit_test(test_once_BrokerDown),
        cmocka_unit_test(test_once_SubscriptionRefused),
        cmocka_unit_test(test_once_CborLongKeys),
        cmocka_unit_test(test_once_ReportIdsGrowAcrossRuns),
        cmocka_unit_test(test_once_CustomCommandsFailing),
        cmocka_unit_test(test_service_SigtermStopsCleanly),
        cmocka_unit_test(test_service_ThrottledSaysWhenNext),
        cmocka_unit_test(test_service_NotSentAfterAcceptedHasNoId),
        cmocka_unit_test(test_config_FileSettings),
        cmocka_unit_test(test_badInput_Messages),
        cmocka_unit_test(test_help_ListsEveryOption),
    };
    return cmocka_run_group_tests(tests, setUpAll, tearDownAll);
}
