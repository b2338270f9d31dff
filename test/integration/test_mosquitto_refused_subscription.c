/**
 * @file test_mosquitto_refused_subscription.c
 * @brief A broker that refuses one of the agent's response subscriptions, through the
 * real path: the seed API, the libmosquitto connection and a real Mosquitto broker.
 *
 * Mosquitto's `acl_file` never refuses a subscription (it only holds back messages at
 * delivery, so the SUBACK grants it); its dynamic-security plugin does: under MQTT
 * 3.1.1 the SUBACK carries 0x80 (0x87 under MQTT 5). The broker refuses subscriptions
 * by default and allows the peer's and the thing's `accepted` topic, not its `rejected`
 * one. The report must then be NotSent (response topics not subscribed), with nothing
 * published, once per period while the refusal lasts (spec 10.1); once the broker
 * allows subscriptions (without dropping any connection), the next period's retry is
 * granted on the same connection and the report goes out and is accepted.
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
#include <unistd.h>

#include "defender.h"
#include "defender_linux.h"
#include "test_broker.h"
#include "test_peer.h"
#include "test_seed_wait.h"
#include "test_skip.h"

/** @brief The report period of the test (seconds). */
#define PERIOD_S 2

/** @brief What the test starts; stopped by the teardown even when an assertion fails. */
static struct
{
    TestBroker_t broker;
    TestPeer_t peer;
    bool brokerStarted;
    bool peerStarted;
    char stateDir[64];
    char thing[64];
} t;

static int setup(void **state)
{
    (void) state;
    (void) snprintf(t.stateDir, sizeof(t.stateDir), "/tmp/defender-state-XXXXXX");
    (void) snprintf(t.thing, sizeof(t.thing), "refused-%d", (int) getpid());
    return (mkdtemp(t.stateDir) != NULL) ? 0 : -1;
}

static int teardown(void **state)
{
    char command[128];

    (void) state;
    (void) DEFENDER_Stop();
    if (t.peerStarted)
    {
        TestPeer_Stop(&t.peer);
    }
    if (t.brokerStarted)
    {
        TestBroker_Stop(&t.broker);
    }
    (void) snprintf(command, sizeof(command), "rm -rf '%s'", t.stateDir);
    return system(command);
}

/** @brief Waits until the agent counted `count` reports not sent. */
static bool waitNotSent(uint32_t count, uint32_t timeoutMs)
{
    DefenderCounters_t counters;
    uint64_t end = TestMonotonicMs() + timeoutMs;

    do
    {
        assert_int_equal(DEFENDER_CountersGet(&counters), eDefenderErrSuccess);
        if (counters.reportsNotSent >= count)
        {
            return true;
        }
        usleep(20000);
    } while (TestMonotonicMs() < end);
    return false;
}

/** @brief The `rejected` subscription is refused: NotSent every period, nothing
 * published; allowed at run time, the next retry succeeds and the report is accepted. */
static void test_RefusedSubscriptionIsNotSentThenRecovers(void **state)
{
    TestBrokerOptions_t options;
    DefenderReportInfo_t info;
    DefenderCounters_t counters;
    defender_metric_t metrics[] = {DEFENDER_tcp_connections};
    char acls[512];
    char endpoint[64];
    char connections[1024];
    char connected[256];

    (void) state;
    if (TestBroker_DynamicSecurityPlugin() == NULL)
    {
        TEST_SKIP_UNLESS_CI("Mosquitto's dynamic-security plugin");
    }
    /* The peer's report topics and the thing's `accepted` topic; not `rejected`. */
    (void) snprintf(acls, sizeof(acls),
                    "[{\"acltype\": \"subscribePattern\", \"topic\": "
                    "\"$aws/things/+/defender/metrics/+\", \"allow\": true},"
                    " {\"acltype\": \"subscribeLiteral\", \"topic\": "
                    "\"$aws/things/%s/defender/metrics/json/accepted\", \"allow\": true}]",
                    t.thing);
    (void) memset(&options, 0, sizeof(options));
    options.pAnonymousAcls = acls;
    options.subscribeDeniedByDefault = true;
    options.logToFile = true;
    t.brokerStarted = TestBroker_Start(&t.broker, &options);
    assert_true(t.brokerStarted);
    t.peerStarted = TestPeer_Start(&t.peer, t.broker.port, TEST_PEER_ACCEPT);
    assert_true(t.peerStarted);

    (void) snprintf(endpoint, sizeof(endpoint), "127.0.0.1:%u", (unsigned) t.broker.port);
    setenv("DEFENDER_ENDPOINT", endpoint, 1);
    setenv("DEFENDER_THING_NAME", t.thing, 1);
    setenv("DEFENDER_STATE_DIR", t.stateDir, 1);
    setenv("DEFENDER_LOG_LEVEL", "error", 1);
    assert_int_equal(DEFENDER_LinuxConfigSet(NULL), eDefenderErrSuccess);
    assert_int_equal(DEFENDER_MetricsInit(metrics), eDefenderErrSuccess);
    assert_int_equal(DEFENDER_ReportPeriodSet(PERIOD_S), eDefenderErrSuccess);
    assert_int_equal(DEFENDER_AckTimeoutSet(1000U), eDefenderErrSuccess);
    assert_int_equal(DEFENDER_Start(), eDefenderErrSuccess);

    /* The refusal (0x80) makes the due report NotSent at once, for the subscription. */
    assert_true(TestWaitStatus(eDefenderRepNotSent, 5000));
    assert_int_equal(DEFENDER_LastReportGet(&info), eDefenderErrSuccess);
    assert_int_equal(info.status, eDefenderRepNotSent);
    assert_int_equal(info.notSentReason, DEFENDER_NOT_SENT_NOT_SUBSCRIBED);

    /* The next period retries the subscription, is refused again: NotSent again. */
    assert_true(waitNotSent(2U, (PERIOD_S * 1000U) + 3000U));
    assert_int_equal(DEFENDER_CountersGet(&counters), eDefenderErrSuccess);
    assert_int_equal(counters.reportsPublished, 0);
    assert_int_equal(counters.reportsAccepted, 0);
    assert_int_equal(counters.reportsNoAck, 0);
    assert_int_equal(TestPeer_Reports(&t.peer), 0);
    assert_int_equal(DEFENDER_ReportStatusGet(), eDefenderRepNotSent);

    /* The broker now allows the topic: the next period's retry is granted, the report
     * goes out and is accepted. */
    assert_true(TestBroker_DynamicSecurity(
        t.broker.port,
        "[{\"command\": \"setDefaultACLAccess\", \"acls\": [{\"acltype\": \"subscribe\", "
        "\"allow\": true}]}]",
        5000));
    assert_true(TestWaitStatus(eDefenderRepSuccess, (PERIOD_S * 1000U) + 5000U));
    assert_int_equal(DEFENDER_CountersGet(&counters), eDefenderErrSuccess);
    assert_int_equal(counters.reportsPublished, 1);
    assert_int_equal(counters.reportsAccepted, 1);
    assert_int_equal(TestPeer_Reports(&t.peer), 1);
    /* One connection all along: the recovery was the retry, not a reconnect. */
    (void) snprintf(connected, sizeof(connected), " as %s ", t.thing);
    assert_int_equal(TestBroker_LogLines(&t.broker, connected, connections, sizeof(connections)),
                     1U);
    /* The `rejected` topic was requested three times or more (refused, refused, granted)
     * and granted once (Mosquitto logs the granted QoS only for a granted topic). */
    (void) snprintf(connected, sizeof(connected), "%s/defender/metrics/json/rejected (QoS 1)",
                    t.thing);
    assert_true(TestBroker_LogLines(&t.broker, connected, connections, sizeof(connections)) >= 3U);
    (void) snprintf(connected, sizeof(connected),
                    "%s 1 $aws/things/%s/defender/metrics/json/rejected", t.thing, t.thing);
    assert_int_equal(TestBroker_LogLines(&t.broker, connected, connections, sizeof(connections)),
                     1U);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_RefusedSubscriptionIsNotSentThenRecovers, setup,
                                        teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
