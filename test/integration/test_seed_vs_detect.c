/**
 * @file test_seed_vs_detect.c
 * @brief The agent library end to end against this project's own service: the seed
 * API's agent reports through a real Mosquitto broker to `defender-detect`, which
 * validates, stores and answers each report. Accepted, rejected (the service told to
 * reject), throttled, and CBOR with long keys.
 *
 * Usage: test_seed_vs_detect PATH_TO_DEFENDER_DETECT
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "defender.h"
#include "test_broker.h"
#include "test_seed_wait.h"

void MyDefenderInit(void);

static const char *detectPath;
static TestBroker_t broker;
static pid_t detect;
static char work[64];
static char thing[64];

/** @brief GET /service/health; true when the service says its MQTT client is connected. */
static bool serviceReady(uint16_t port)
{
    struct sockaddr_in address;
    char response[512];
    const char request[] = "GET /service/health HTTP/1.0\r\n\r\n";
    ssize_t n;
    bool ready = false;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    memset(&address, 0, sizeof(address));
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if ((fd >= 0) && (connect(fd, (struct sockaddr *) &address, sizeof(address)) == 0) &&
        (write(fd, request, sizeof(request) - 1U) == (ssize_t) (sizeof(request) - 1U)))
    {
        n = read(fd, response, sizeof(response) - 1U);
        if (n > 0)
        {
            response[n] = '\0';
            ready = (strstr(response, "\"mqttConnected\":true") != NULL);
        }
    }
    if (fd >= 0)
    {
        close(fd);
    }
    return ready;
}

/** @brief Starts defender-detect with extra options; waits until it is subscribed. */
static void startDetect(const char *pOption, const char *pValue)
{
    char brokerText[32];
    char httpText[32];
    char dbPath[128];
    uint16_t httpPort = TestBroker_FreePort();
    int i;

    snprintf(brokerText, sizeof(brokerText), "127.0.0.1:%u", (unsigned) broker.port);
    snprintf(httpText, sizeof(httpText), "127.0.0.1:%u", (unsigned) httpPort);
    snprintf(dbPath, sizeof(dbPath), "%s/detect.db", work);
    detect = fork();
    assert_true(detect >= 0);
    if (detect == 0)
    {
        char logPath[160];
        int null;
        snprintf(logPath, sizeof(logPath), "%s/detect.log", work);
        null = open(logPath, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (null >= 0)
        {
            dup2(null, STDOUT_FILENO);
            dup2(null, STDERR_FILENO);
        }
        execl(detectPath, "defender-detect", "serve", "--broker", brokerText, "--db", dbPath,
              "--http", httpText, pOption, pValue, (char *) NULL);
        _exit(127);
    }
    for (i = 0; (i < 250) && !serviceReady(httpPort); i++)
    {
        usleep(20000);
    }
    assert_true(serviceReady(httpPort));
    /* The MQTT client is connected; give its SUBSCRIBE a moment to be granted. */
    usleep(200000);
}

/** @brief Stops defender-detect (SIGTERM: it finishes in-flight work) and reaps it. */
static void stopDetect(void)
{
    int status = 0;
    if (detect > 0)
    {
        kill(detect, SIGTERM);
        assert_int_equal(waitpid(detect, &status, 0), detect);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
        detect = 0;
    }
}

static int setupGroup(void **state)
{
    char endpoint[64];
    (void) state;
    snprintf(work, sizeof(work), "/tmp/defender-e2e-XXXXXX");
    if ((mkdtemp(work) == NULL) || !TestBroker_Start(&broker, NULL))
    {
        return -1;
    }
    snprintf(thing, sizeof(thing), "e2e-%d", (int) getpid());
    snprintf(endpoint, sizeof(endpoint), "127.0.0.1:%u", (unsigned) broker.port);
    setenv("DEFENDER_ENDPOINT", endpoint, 1);
    setenv("DEFENDER_THING_NAME", thing, 1);
    setenv("DEFENDER_STATE_DIR", work, 1);
    setenv("DEFENDER_LOG_LEVEL", "error", 1);
    return 0;
}

static int teardownGroup(void **state)
{
    char command[128];
    (void) state;
    TestBroker_Stop(&broker);
    if (getenv("DEFENDER_KEEP_TEST_FILES") != NULL)
    {
        fprintf(stderr, "kept %s (service log: detect.log)\n", work);
        return 0;
    }
    snprintf(command, sizeof(command), "rm -rf '%s'", work);
    return system(command);
}

static int teardownTest(void **state)
{
    (void) state;
    (void) DEFENDER_Stop();
    stopDetect();
    return 0;
}

/** @brief The seed's example against the service: accepted. */
static void test_SeedExample_AcceptedByDetect(void **state)
{
    DefenderReportInfo_t info;
    (void) state;
    startDetect("--throttle-seconds", "0");
    MyDefenderInit();
    assert_true(TestWaitStatus(eDefenderRepSuccess, 10000));
    assert_int_equal(DEFENDER_LastReportGet(&info), eDefenderErrSuccess);
    assert_true(info.reportId > 1577836800000ULL);
}

/** @brief Every metric group, CBOR with long keys: accepted. */
static void test_AllMetricsCborLongKeys_AcceptedByDetect(void **state)
{
    DefenderMetric_t all[] = {DEFENDER_tcp_connections, DEFENDER_listening_tcp_ports,
                              DEFENDER_listening_udp_ports, DEFENDER_network_stats};
    DefenderCounters_t counters;
    (void) state;
    startDetect("--throttle-seconds", "0");
    assert_int_equal(DEFENDER_MetricsInit(all), eDefenderErrSuccess);
    assert_int_equal(DEFENDER_FormatSet(DEFENDER_FORMAT_CBOR, DEFENDER_KEYS_LONG),
                     eDefenderErrSuccess);
    assert_int_equal(DEFENDER_ReportPeriodSet(1), eDefenderErrSuccess);
    assert_int_equal(DEFENDER_Start(), eDefenderErrSuccess);
    assert_true(TestWaitStatus(eDefenderRepSuccess, 10000));
    /* A second report (with network_stats) is accepted as well. */
    usleep(1500000);
    assert_true(TestWaitStatus(eDefenderRepSuccess, 5000));
    assert_int_equal(DEFENDER_CountersGet(&counters), eDefenderErrSuccess);
    assert_true(counters.reportsAccepted >= 2);
    assert_int_equal(counters.reportsRejected, 0);
    assert_int_equal(DEFENDER_Stop(), eDefenderErrSuccess);
    assert_int_equal(DEFENDER_FormatSet(DEFENDER_FORMAT_JSON, DEFENDER_KEYS_SHORT),
                     eDefenderErrSuccess);
    assert_int_equal(DEFENDER_ReportPeriodSet(300), eDefenderErrSuccess);
}

/** @brief The service told to reject: eDefenderRepRejected with its error. */
static void test_Seed_RejectedByDetect(void **state)
{
    DefenderReportInfo_t info;
    (void) state;
    startDetect("--reject-all", "invalid");
    assert_int_equal(DEFENDER_Start(), eDefenderErrSuccess);
    assert_true(TestWaitStatus(eDefenderRepRejected, 10000));
    assert_int_equal(DEFENDER_LastReportGet(&info), eDefenderErrSuccess);
    assert_string_equal(info.errorCode, "InvalidPayload");
    assert_string_equal(info.errorMessage, "Malformed metrics report");
}

/** @brief Reports faster than the service's window: the second is Throttled. */
static void test_Seed_ThrottledByDetect(void **state)
{
    DefenderReportInfo_t info;
    DefenderCounters_t counters;
    (void) state;
    /* A thing the service has not seen yet: the window state of the others persists. */
    char throttledThing[80];
    snprintf(throttledThing, sizeof(throttledThing), "%s-throttled", thing);
    setenv("DEFENDER_THING_NAME", throttledThing, 1);
    startDetect("--throttle-seconds", "300");
    assert_int_equal(DEFENDER_ReportPeriodSet(1), eDefenderErrSuccess);
    assert_int_equal(DEFENDER_Start(), eDefenderErrSuccess);
    assert_true(TestWaitStatus(eDefenderRepSuccess, 10000));
    assert_true(TestWaitStatus(eDefenderRepRejected, 5000));
    assert_int_equal(DEFENDER_LastReportGet(&info), eDefenderErrSuccess);
    assert_string_equal(info.errorCode, "Throttled");
    assert_int_equal(DEFENDER_CountersGet(&counters), eDefenderErrSuccess);
    assert_int_equal(counters.reportsThrottled, 1);
    assert_int_equal(DEFENDER_ReportPeriodSet(300), eDefenderErrSuccess);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_SeedExample_AcceptedByDetect, teardownTest),
        cmocka_unit_test_teardown(test_AllMetricsCborLongKeys_AcceptedByDetect, teardownTest),
        cmocka_unit_test_teardown(test_Seed_RejectedByDetect, teardownTest),
        cmocka_unit_test_teardown(test_Seed_ThrottledByDetect, teardownTest),
    };
    if (argc < 2)
    {
        fprintf(stderr, "usage: %s PATH_TO_DEFENDER_DETECT\n", argv[0]);
        return 1;
    }
    detectPath = argv[1];
    return cmocka_run_group_tests_name("integration_seed_vs_detect", tests, setupGroup,
                                       teardownGroup);
}
