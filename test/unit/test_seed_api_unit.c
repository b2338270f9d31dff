/**
 * @file test_seed_api_unit.c
 * @brief Unit tests of the seed API (source/defender.c) over a fake platform: fake MQTT,
 * fake clock and fake metrics source, with the POSIX OS port running the agent task (its
 * task creation can be made to fail). Every DEFENDER_* function, every DefenderErr_t it
 * returns, and every report status the seed lists.
 *
 * The fake platform connects at once (as a port does on CONNACK) and keeps the runner, so
 * that the test can hand responses to the agent as the MQTT port does. The task runs on
 * its own thread: the fakes are read and changed only under the runner's lock, and the
 * test waits (bounded) for what the task does. The singleton lives across the tests, which
 * run in order.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <cjson/cJSON.h>

#include "defender.h"
#include "defender_platform.h"
#include "defender_posix.h"
#include "fake_clock.h"
#include "fake_mqtt.h"
#include "fake_source.h"

#define THING     "seed-unit"
#define PERIOD_MS 300000U
#define ACK_MS    10000U

/** @brief The fake platform's state. */
static struct
{
    FakeClock_t clock;
    FakeMqtt_t mqtt;
    FakeSource_t source;
    DefenderPosixOs_t posix;
    DefenderOsInterface_t posixInterface;
    uint8_t buffer[8192];
    DefenderRunner_t *pRunner;
    bool openFails;
    bool taskCreateFails;
    bool connectFails;
    unsigned opens;
    unsigned closes;
} g;

/** @brief pfTaskCreate: the POSIX one, unless told to fail. */
static bool taskCreate(void *pContext, DefenderTaskEntry_t pfEntry, void *pArgument)
{
    return !g.taskCreateFails && g.posixInterface.pfTaskCreate(pContext, pfEntry, pArgument);
}

static DefenderStatus_t platformOpen(DefenderSettings_t *pSettings,
                                     DefenderInterfaces_t *pInterfaces, DefenderOsInterface_t *pOs)
{
    DefenderStatus_t status = DEFENDER_ERROR;

    g.opens++;
    if (!g.openFails && (DefenderPosix_OsInit(&g.posix, &g.posixInterface) == DEFENDER_SUCCESS))
    {
        pSettings->pThingName = THING;
        pSettings->thingNameLength = strlen(THING);
        pSettings->pReportBuffer = g.buffer;
        pSettings->reportBufferSize = sizeof(g.buffer);
        pInterfaces->mqtt = FakeMqtt_Interface(&g.mqtt, true);
        pInterfaces->clock = FakeClock_Interface(&g.clock, true, true);
        pInterfaces->metricsSource = FakeSource_Interface(&g.source);
        *pOs = g.posixInterface;
        pOs->pfTaskCreate = taskCreate;
        status = DEFENDER_SUCCESS;
    }
    return status;
}

static DefenderStatus_t platformConnect(DefenderRunner_t *pRunner)
{
    DefenderStatus_t status = DEFENDER_ERROR;

    if (!g.connectFails)
    {
        g.pRunner = pRunner;
        DefenderRunner_OnConnectionChanged(pRunner, true, false);
        status = DEFENDER_SUCCESS;
    }
    return status;
}

static void platformClose(void)
{
    g.closes++;
    g.pRunner = NULL;
    DefenderPosix_OsDeinit(&g.posix);
}

static const DefenderPlatform_t platform = {platformOpen, platformConnect, platformClose};

const DefenderPlatform_t *DefenderPlatform_Get(void)
{
    return &platform;
}

/** @brief Milliseconds of the monotonic clock. */
static uint64_t realMs(void)
{
    struct timespec now;

    (void) clock_gettime(CLOCK_MONOTONIC, &now);
    return ((uint64_t) now.tv_sec * 1000U) + ((uint64_t) now.tv_nsec / 1000000U);
}

/** @brief Successful publishes so far (read under the runner's lock). */
static uint32_t publishes(void)
{
    uint32_t count;

    DefenderRunner_Lock(g.pRunner);
    count = g.mqtt.publishSucceeded;
    DefenderRunner_Unlock(g.pRunner);
    return count;
}

/** @brief Waits (up to 5 s) until the task has published `count` reports. */
static void waitPublishes(uint32_t count)
{
    uint64_t end = realMs() + 5000U;

    while ((publishes() < count) && (realMs() < end))
    {
        (void) usleep(2000);
    }
    assert_int_equal(publishes(), count);
}

/** @brief Waits (up to 5 s) for a report status. */
static void waitStatus(DefenderReportStatus_t status)
{
    uint64_t end = realMs() + 5000U;

    while ((DEFENDER_ReportStatusGet() != status) && (realMs() < end))
    {
        (void) usleep(2000);
    }
    assert_int_equal(DEFENDER_ReportStatusGet(), status);
}

/** @brief Reports that got no acknowledgement in time. */
static uint32_t noAcks(void)
{
    DefenderCounters_t counters;

    assert_int_equal(DEFENDER_CountersGet(&counters), eDefenderErrSuccess);
    return counters.reportsNoAck;
}

/** @brief Waits (up to 5 s) until `count` reports got no acknowledgement in time. */
static void waitNoAcks(uint32_t count)
{
    uint64_t end = realMs() + 5000U;

    while ((noAcks() < count) && (realMs() < end))
    {
        (void) usleep(2000);
    }
    assert_int_equal(noAcks(), count);
}

/** @brief Advances the fake clock under the lock; unlocking wakes the task. */
static void advance(uint32_t ms)
{
    DefenderRunner_Lock(g.pRunner);
    FakeClock_Advance(&g.clock, ms);
    DefenderRunner_Unlock(g.pRunner);
}

/** @brief The id of the latest report. */
static uint64_t lastId(void)
{
    DefenderReportInfo_t info;

    assert_int_equal(DEFENDER_LastReportGet(&info), eDefenderErrSuccess);
    return info.reportId;
}

/** @brief Hands a response to the agent as the MQTT port does. */
static void respond(const char *pKind, const char *pStatus, uint64_t id, const char *pCode)
{
    char topic[128];
    char payload[256];
    int length;

    (void) snprintf(topic, sizeof(topic), "$aws/things/" THING "/defender/metrics/json/%s", pKind);
    length = snprintf(payload, sizeof(payload),
                      "{\"thingName\":\"" THING "\",\"reportId\":%llu,\"status\":\"%s\"%s%s%s}",
                      (unsigned long long) id, pStatus,
                      (pCode != NULL) ? ",\"statusDetails\":{\"ErrorCode\":\"" : "",
                      (pCode != NULL) ? pCode : "",
                      (pCode != NULL) ? "\",\"ErrorMessage\":\"why\"}" : "");
    assert_int_equal(DefenderRunner_OnMessage(g.pRunner, topic, strlen(topic),
                                              (const uint8_t *) payload, (size_t) length),
                     DEFENDER_SUCCESS);
}

/** @brief The latest published report, decoded (the caller deletes it). */
static cJSON *lastReport(void)
{
    cJSON *pRoot;

    DefenderRunner_Lock(g.pRunner);
    pRoot = cJSON_ParseWithLength((const char *) g.mqtt.lastPayload, g.mqtt.lastPayloadLength);
    DefenderRunner_Unlock(g.pRunner);
    assert_non_null(pRoot);
    return pRoot;
}

static int setupGroup(void **state)
{
    (void) state;
    FakeClock_Init(&g.clock, 1000U, 1735689600000ULL);
    FakeMqtt_Init(&g.mqtt);
    FakeSource_Init(&g.source);
    return 0;
}

/** @brief Arguments refused before anything starts, and the names of the codes. */
static void test_Arguments(void **state)
{
    defender_metric_t all[] = {DEFENDER_tcp_connections, DEFENDER_listening_tcp_ports,
                               DEFENDER_listening_udp_ports, DEFENDER_network_stats};
    defender_metric_t five[] = {DEFENDER_tcp_connections, DEFENDER_listening_tcp_ports,
                                DEFENDER_listening_udp_ports, DEFENDER_network_stats,
                                DEFENDER_tcp_connections};
    defender_metric_t twice[] = {DEFENDER_network_stats, DEFENDER_network_stats};
    defender_metric_t none[] = {NULL};
    DefenderReportInfo_t info;

    (void) state;
    /* Never started: Init, and nothing to stop. */
    assert_int_equal(DEFENDER_ReportStatusGet(), eDefenderRepInit);
    assert_int_equal(DEFENDER_LastReportGet(&info), eDefenderErrSuccess);
    assert_int_equal(info.status, eDefenderRepInit);
    assert_int_equal(DEFENDER_Stop(), eDefenderErrNotStarted);

    assert_int_equal(DEFENDER_MetricsInit(all), eDefenderErrSuccess);
    assert_int_equal(DEFENDER_MetricsInitFunc(five, 5), eDefenderErrTooManyMetrics);
    assert_int_equal(DEFENDER_MetricsInit(twice), eDefenderErrTooManyMetrics);
    assert_int_equal(DEFENDER_MetricsInitFunc(none, 1), eDefenderErrTooManyMetrics);
    assert_int_equal(DEFENDER_MetricsInitFunc(all, -1), eDefenderErrOther);
    assert_int_equal(DEFENDER_MetricsInitFunc(NULL, 1), eDefenderErrOther);
    assert_int_equal(DEFENDER_MetricsInitFunc(NULL, 0), eDefenderErrSuccess); /* no group */
    assert_int_equal(DEFENDER_MetricsInit(all), eDefenderErrSuccess);

    assert_int_equal(DEFENDER_ReportPeriodSet(0), eDefenderErrPeriodTooShort);
    assert_int_equal(DEFENDER_ReportPeriodSet(-300), eDefenderErrPeriodTooShort);
    assert_int_equal(DEFENDER_ReportPeriodSet((int32_t) DEFENDER_MAX_PERIOD_SECONDS + 1),
                     eDefenderErrOther);
#if DEFENDER_CONFIG_MIN_PERIOD_SECONDS == 1
    /* 10.3: any period of 1 s or more (under 300 s with a warning). */
    assert_int_equal(DEFENDER_ReportPeriodSet(1), eDefenderErrSuccess);
    assert_int_equal(DEFENDER_ReportPeriodSet(299), eDefenderErrSuccess);
#endif
    assert_int_equal(DEFENDER_ReportPeriodSet(300), eDefenderErrSuccess);
    assert_int_equal(DEFENDER_AckTimeoutSet(0U), eDefenderErrOther);
    assert_int_equal(DEFENDER_AckTimeoutSet(ACK_MS), eDefenderErrSuccess);
    assert_int_equal(DEFENDER_FormatSet((DefenderFormat_t) 7, DEFENDER_KEYS_SHORT),
                     eDefenderErrOther);
    assert_int_equal(DEFENDER_FormatSet(DEFENDER_FORMAT_JSON, (DefenderKeyStyle_t) 7),
                     eDefenderErrOther);
    assert_int_equal(DEFENDER_FormatSet(DEFENDER_FORMAT_JSON, DEFENDER_KEYS_LONG),
                     eDefenderErrSuccess);
    assert_int_equal(DEFENDER_LastReportGet(NULL), eDefenderErrOther);
    assert_int_equal(DEFENDER_CountersGet(NULL), eDefenderErrOther);

    assert_string_equal(DEFENDER_ErrAsString(eDefenderErrSuccess), "eDefenderErrSuccess");
    assert_string_equal(DEFENDER_ErrAsString(eDefenderErrFailedToCreateTask),
                        "eDefenderErrFailedToCreateTask");
    assert_string_equal(DEFENDER_ErrAsString(eDefenderErrOther), "eDefenderErrOther");
    assert_string_equal(DEFENDER_ErrAsString((DefenderErr_t) 99), "eDefenderErrUnknown");
    assert_string_equal(DEFENDER_ReportStatusAsString(eDefenderRepNoAck), "eDefenderRepNoAck");
}

/** @brief Start fails cleanly: no configuration (Other), no task (FailedToCreateTask), no
 * connection (Other); each time the platform is closed and nothing stays started. */
static void test_Start_Failures(void **state)
{
    (void) state;
    g.openFails = true;
    assert_int_equal(DEFENDER_Start(), eDefenderErrOther);
    assert_int_equal(g.closes, 0U); /* Nothing was opened. */
    g.openFails = false;

    g.taskCreateFails = true;
    assert_int_equal(DEFENDER_Start(), eDefenderErrFailedToCreateTask);
    assert_int_equal(g.closes, 1U);
    assert_int_equal(DEFENDER_Stop(), eDefenderErrNotStarted);
    g.taskCreateFails = false;

    g.connectFails = true;
    assert_int_equal(DEFENDER_Start(), eDefenderErrOther);
    assert_int_equal(g.closes, 2U);
    assert_int_equal(DEFENDER_Stop(), eDefenderErrNotStarted);
    g.connectFails = false;
    assert_int_equal(DEFENDER_ReportStatusGet(), eDefenderRepInit);
}

/** @brief Every report status through the seed API, in the order a device meets them. */
static void test_Start_StatusTransitions(void **state)
{
    DefenderCounters_t counters;
    DefenderReportInfo_t info;
    uint32_t published;

    (void) state;
    assert_int_equal(DEFENDER_Start(), eDefenderErrSuccess);
    assert_int_equal(DEFENDER_Start(), eDefenderErrAlreadyStarted);

    /* The first report right after Start; awaiting its acknowledgement: NoAck. */
    waitPublishes(1U);
    published = 1U;
    assert_int_equal(DEFENDER_ReportStatusGet(), eDefenderRepNoAck);

    respond("accepted", "ACCEPTED", lastId(), NULL);
    waitStatus(eDefenderRepSuccess);

    advance(PERIOD_MS);
    waitPublishes(++published);
    respond("rejected", "REJECTED", lastId(), "InvalidPayload");
    waitStatus(eDefenderRepRejected);
    assert_int_equal(DEFENDER_LastReportGet(&info), eDefenderErrSuccess);
    assert_string_equal(info.errorCode, "InvalidPayload");
    assert_string_equal(info.errorMessage, "why");

    /* No response within the acknowledgement timeout: NoAck, counted. */
    advance(PERIOD_MS);
    waitPublishes(++published);
    advance(ACK_MS);
    waitNoAcks(1U);
    assert_int_equal(DEFENDER_ReportStatusGet(), eDefenderRepNoAck);

    /* The publish cannot be made: NotSent. */
    DefenderRunner_Lock(g.pRunner);
    FakeMqtt_QueuePublishResult(&g.mqtt, DEFENDER_MQTT_FAILURE);
    FakeClock_Advance(&g.clock, PERIOD_MS - ACK_MS);
    DefenderRunner_Unlock(g.pRunner);
    waitStatus(eDefenderRepNotSent);
    assert_int_equal(publishes(), published);

    /* Stopped: Stop once, the last status stays readable. */
    assert_int_equal(DEFENDER_Stop(), eDefenderErrSuccess);
    assert_int_equal(DEFENDER_Stop(), eDefenderErrNotStarted);
    assert_int_equal(g.closes, 3U);
    assert_int_equal(DEFENDER_ReportStatusGet(), eDefenderRepNotSent);
    assert_int_equal(DEFENDER_CountersGet(&counters), eDefenderErrSuccess);
    assert_int_equal(counters.reportsAccepted, 1U);
    assert_int_equal(counters.reportsRejected, 1U);
}

/** @brief While started, what fixes the report's shape is refused; the period and the
 * acknowledgement timeout apply at once; ids keep increasing across Stop/Start. */
static void test_Settings_WhileStarted(void **state)
{
    defender_metric_t one[] = {DEFENDER_network_stats};
    DefenderCustomMetric_t metric = {0};
    uint64_t before = lastId();
    uint32_t published;

    (void) state;
    FakeMqtt_Init(&g.mqtt);
    assert_int_equal(DEFENDER_Start(), eDefenderErrSuccess);
    waitPublishes(1U);
    published = 1U;
    assert_true(lastId() > before);

    assert_int_equal(DEFENDER_MetricsInit(one), eDefenderErrAlreadyStarted);
    assert_int_equal(DEFENDER_FormatSet(DEFENDER_FORMAT_JSON, DEFENDER_KEYS_SHORT),
                     eDefenderErrAlreadyStarted);
    assert_int_equal(DEFENDER_CustomMetricAdd(&metric), eDefenderErrAlreadyStarted);

    respond("accepted", "ACCEPTED", lastId(), NULL);
    waitStatus(eDefenderRepSuccess);
    /* A new period of 600 s: nothing at 300 s, the next report at 600 s. */
    assert_int_equal(DEFENDER_ReportPeriodSet(600), eDefenderErrSuccess);
    assert_int_equal(DEFENDER_ReportPeriodSet(0), eDefenderErrPeriodTooShort);
    advance(PERIOD_MS);
    (void) usleep(50000);
    assert_int_equal(publishes(), published);
    advance(PERIOD_MS);
    waitPublishes(++published);

    /* A shorter acknowledgement timeout applies from the next report on: the report in
     * flight keeps its 10 s, the next one gets 2 s. */
    assert_int_equal(DEFENDER_AckTimeoutSet(2000U), eDefenderErrSuccess);
    advance(2000U);
    (void) usleep(50000);
    assert_int_equal(noAcks(), 0U);
    advance(ACK_MS - 2000U);
    waitNoAcks(1U);
    advance((2U * PERIOD_MS) - ACK_MS);
    waitPublishes(++published);
    advance(2000U);
    waitNoAcks(2U);
    assert_int_equal(DEFENDER_ReportStatusGet(), eDefenderRepNoAck);
    assert_int_equal(DEFENDER_Stop(), eDefenderErrSuccess);
    assert_int_equal(DEFENDER_AckTimeoutSet(ACK_MS), eDefenderErrSuccess);
    assert_int_equal(DEFENDER_ReportPeriodSet(300), eDefenderErrSuccess);
}

/** @brief Custom metric values of the callbacks. */
static bool readNumber(void *pUserContext, DefenderCustomValue_t *pValue)
{
    (void) pUserContext;
    pValue->number = 42.5;
    return true;
}

static bool readStrings(void *pUserContext, DefenderCustomValue_t *pValue)
{
    static const char *const texts[] = {"alpha", "beta"};

    (void) pUserContext;
    pValue->ppStrings = texts;
    pValue->count = 2U;
    return true;
}

/** @brief DEFENDER_CustomMetricAdd: refusals, the table limit, and the values in a report
 * published through the seed API. */
static void test_CustomMetricAdd(void **state)
{
    DefenderCustomMetric_t number = {"battery-level", DEFENDER_CUSTOM_NUMBER, readNumber, NULL};
    DefenderCustomMetric_t strings = {"users", DEFENDER_CUSTOM_STRING_LIST, readStrings, NULL};
    DefenderCustomMetric_t metric = number;
    /* The singleton keeps the names for every later Start: static, as an application's. */
    static char names[DEFENDER_CONFIG_MAX_CUSTOM_METRICS + 1U][16];
    cJSON *pRoot;
    cJSON *pCustom;
    cJSON *pValue;
    size_t i;

    (void) state;
    assert_int_equal(DEFENDER_CustomMetricAdd(NULL), eDefenderErrOther);
    metric.pName = "aws:reserved";
    assert_int_equal(DEFENDER_CustomMetricAdd(&metric), eDefenderErrOther);
    metric.pName = "has space";
    assert_int_equal(DEFENDER_CustomMetricAdd(&metric), eDefenderErrOther);
    metric.pName = "no-callback";
    metric.pfRead = NULL;
    assert_int_equal(DEFENDER_CustomMetricAdd(&metric), eDefenderErrOther);

    assert_int_equal(DEFENDER_CustomMetricAdd(&number), eDefenderErrSuccess);
    assert_int_equal(DEFENDER_CustomMetricAdd(&number), eDefenderErrOther); /* duplicate */
    assert_int_equal(DEFENDER_CustomMetricAdd(&strings), eDefenderErrSuccess);
    for (i = 2U; i < DEFENDER_CONFIG_MAX_CUSTOM_METRICS; i++)
    {
        (void) snprintf(names[i], sizeof(names[i]), "filler-%u", (unsigned) i);
        metric = number;
        metric.pName = names[i];
        assert_int_equal(DEFENDER_CustomMetricAdd(&metric), eDefenderErrSuccess);
    }
    metric = number;
    metric.pName = "one-too-many";
    assert_int_equal(DEFENDER_CustomMetricAdd(&metric), eDefenderErrTooManyMetrics);

    FakeMqtt_Init(&g.mqtt);
    assert_int_equal(DEFENDER_Start(), eDefenderErrSuccess);
    waitPublishes(1U);
    pRoot = lastReport();
    pCustom = cJSON_GetObjectItemCaseSensitive(pRoot, "custom_metrics");
    assert_non_null(pCustom);
    assert_int_equal(cJSON_GetArraySize(pCustom), DEFENDER_CONFIG_MAX_CUSTOM_METRICS);
    pValue = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(pCustom, "battery-level"), 0);
    assert_true(cJSON_GetObjectItemCaseSensitive(pValue, "number")->valuedouble == 42.5);
    pValue = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(pCustom, "users"), 0), "string_list");
    assert_int_equal(cJSON_GetArraySize(pValue), 2);
    assert_string_equal(cJSON_GetArrayItem(pValue, 1)->valuestring, "beta");
    cJSON_Delete(pRoot);
    respond("accepted", "ACCEPTED", lastId(), NULL);
    waitStatus(eDefenderRepSuccess);
    assert_int_equal(DEFENDER_Stop(), eDefenderErrSuccess);
}

/** @brief Throttles the first report, stops, waits `stoppedMs` (setting the period to
 * `periodWhileStopped` s meanwhile, unless 0), starts again, and checks that the next report
 * goes out exactly one period (as it was at the rejection) after the rejection. */
static void throttledThenRestarted(uint32_t stoppedMs, int32_t periodWhileStopped)
{
    FakeMqtt_Init(&g.mqtt);
    assert_int_equal(DEFENDER_Start(), eDefenderErrSuccess);
    waitPublishes(1U);
    respond("rejected", "REJECTED", lastId(), "Throttled");
    waitStatus(eDefenderRepRejected);
    assert_int_equal(DEFENDER_Stop(), eDefenderErrSuccess);
    if (periodWhileStopped != 0)
    {
        assert_int_equal(DEFENDER_ReportPeriodSet(periodWhileStopped), eDefenderErrSuccess);
    }

    advance(stoppedMs);
    FakeMqtt_Init(&g.mqtt);
    assert_int_equal(DEFENDER_Start(), eDefenderErrSuccess);
    (void) usleep(50000);
    assert_int_equal(publishes(), 0U);
    advance(PERIOD_MS - stoppedMs - 1U);
    (void) usleep(50000);
    assert_int_equal(publishes(), 0U);
    advance(1U);
    waitPublishes(1U);
    respond("accepted", "ACCEPTED", lastId(), NULL);
    waitStatus(eDefenderRepSuccess);
    assert_int_equal(DEFENDER_Stop(), eDefenderErrSuccess);
    assert_int_equal(DEFENDER_ReportPeriodSet((int32_t) (PERIOD_MS / 1000U)), eDefenderErrSuccess);
}

/** @brief A Throttled postponement holds across DEFENDER_Stop and DEFENDER_Start (the seed
 * API makes its agent anew at each Start). */
static void test_Throttled_AcrossStopStart(void **state)
{
    (void) state;
    throttledThenRestarted(60000U, 0);
}

/** @brief A period shortened between DEFENDER_Stop and DEFENDER_Start does not cut the
 * postponement short. */
static void test_Throttled_ShorterPeriodAcrossStopStart(void **state)
{
    (void) state;
#if DEFENDER_CONFIG_MIN_PERIOD_SECONDS > 60
    skip();
#endif
    throttledThenRestarted(10000U, 60);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_Arguments),
        cmocka_unit_test(test_Start_Failures),
        cmocka_unit_test(test_Start_StatusTransitions),
        cmocka_unit_test(test_Settings_WhileStarted),
        cmocka_unit_test(test_CustomMetricAdd),
        cmocka_unit_test(test_Throttled_AcrossStopStart),
        cmocka_unit_test(test_Throttled_ShorterPeriodAcrossStopStart),
    };

    return cmocka_run_group_tests(tests, setupGroup, NULL);
}
