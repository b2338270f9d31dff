/**
 * @file test_defender_core.c
 * @brief Unit tests of the agent core's state machine (source/defender_core.c) against
 * protocol spec section 10 (10.1-10.8, PD-21..PD-26).
 *
 * Everything is deterministic: the clock, the MQTT client, the id store and the
 * metrics source are fakes (test/common). Reports are built by the real encoder and
 * decoded here with cJSON; responses are the spec's R1-R4 (JSON) and V5-V7 (CBOR)
 * fed through the real response parser.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <cjson/cJSON.h>

#include "defender_core.h"
#include "fake_clock.h"
#include "fake_mqtt.h"
#include "fake_source.h"

/* ------------------------------------------------------------------------- */
/* Fixture                                                                    */
/* ------------------------------------------------------------------------- */

#define THING          "sensor-42"
#define T0_WALL        1735689600000ULL /* 2025-01-01T00:00:00Z, the spec's report id */
#define T0_MONO        1000000ULL
#define PERIOD_MS      300000ULL
#define ACK_MS         10000ULL
#define MAX_INT63      9223372036854775807ULL
#define WALL_VALID_MIN 1577836800000ULL

#define TOPIC_REPORT   "$aws/things/" THING "/defender/metrics/json"
#define TOPIC_ACCEPTED "$aws/things/" THING "/defender/metrics/json/accepted"
#define TOPIC_REJECTED "$aws/things/" THING "/defender/metrics/json/rejected"
#define CBOR_REPORT    "$aws/things/" THING "/defender/metrics/cbor"
#define CBOR_ACCEPTED  "$aws/things/" THING "/defender/metrics/cbor/accepted"
#define CBOR_REJECTED  "$aws/things/" THING "/defender/metrics/cbor/rejected"

/* Spec 11.4 */
static const char R1[] = "{\"thingName\":\"sensor-42\",\"reportId\":1735689600000,\"status\":"
                         "\"ACCEPTED\",\"timestamp\":1735689600412}";
static const char R2[] = "{\"thingName\":\"sensor-42\",\"reportId\":1735689600000,\"status\":"
                         "\"REJECTED\",\"statusDetails\":{\"ErrorCode\":\"InvalidPayload\","
                         "\"ErrorMessage\":\"Malformed metrics report\"},\"timestamp\":"
                         "1735689600415}";
static const char R3[] = "{\"thingName\":\"sensor-42\",\"status\":\"REJECTED\",\"statusDetails\":{"
                         "\"ErrorCode\":\"InvalidPayload\",\"ErrorMessage\":\"Malformed metrics "
                         "report\"},\"timestamp\":1735689600415}";
static const char R4[] = "{\"thingName\":\"sensor-42\",\"reportId\":1735689600000,\"status\":"
                         "\"REJECTED\",\"statusDetails\":{\"ErrorCode\":\"Throttled\","
                         "\"ErrorMessage\":\"Metrics report rate exceeded\"},\"timestamp\":"
                         "1735689600415}";

/* Spec 11.5 */
static const char V5[] = "a4697468696e674e616d656973656e736f722d3432687265706f727449641b000001941f"
                         "297c00667374617475736841434345505445446974696d657374616d701b000001941f29"
                         "7d9c";
static const char V6[] =
    "a5697468696e674e616d656973656e736f722d3432687265706f727449641b000001941f297c0066737461"
    "7475736852454a45435445446d73746174757344657461696c73a2694572726f72436f6465695468726f74"
    "746c65646c4572726f724d657373616765781c4d657472696373207265706f727420726174652065786365"
    "656465646974696d657374616d701b000001941f297d9f";
static const char V7[] =
    "a4697468696e674e616d656973656e736f722d3432667374617475736852454a45435445446d7374617475"
    "7344657461696c73a2694572726f72436f64656e496e76616c69645061796c6f61646c4572726f724d6573"
    "7361676578184d616c666f726d6564206d657472696373207265706f72746974696d657374616d701b0000"
    "01941f297d9f";

/** @brief Tests of periods under 300 s do not apply to a build with the production floor. */
#if DEFENDER_CONFIG_MIN_PERIOD_SECONDS > 1
#define SKIP_UNDER_FLOOR() skip()
#else
#define SKIP_UNDER_FLOOR()
#endif

/** @brief One report callback invocation. */
typedef struct Event
{
    DefenderReportEvent_t event;
    DefenderReportInfo_t info;
} Event_t;

/** @brief One log callback invocation. */
typedef struct LogEntry
{
    DefenderLogLevel_t level;
    const char *pMessage;
} LogEntry_t;

/** @brief Everything one test needs. */
typedef struct Fixture
{
    FakeClock_t clock;
    FakeMqtt_t mqtt;
    FakeSource_t source;
    FakeStore_t store;
    DefenderSettings_t settings;
    DefenderInterfaces_t interfaces;
    DefenderContext_t ctx;
    uint8_t buffer[32768];
    Event_t events[128];
    size_t eventCount;
    LogEntry_t logs[256];
    size_t logCount;
} Fixture_t;

/** @brief Report callback: records the event. */
static void onReport(void *pUserContext, DefenderReportEvent_t event,
                     const DefenderReportInfo_t *pInfo)
{
    Fixture_t *f = (Fixture_t *) pUserContext;

    assert_non_null(pInfo);
    if (f->eventCount < (sizeof(f->events) / sizeof(f->events[0])))
    {
        f->events[f->eventCount].event = event;
        f->events[f->eventCount].info = *pInfo;
    }
    f->eventCount++;
}

/** @brief Log callback: records the message. */
static void onLog(void *pUserContext, DefenderLogLevel_t level, const char *pMessage)
{
    Fixture_t *f = (Fixture_t *) pUserContext;

    assert_non_null(pMessage);
    if (f->logCount < (sizeof(f->logs) / sizeof(f->logs[0])))
    {
        f->logs[f->logCount].level = level;
        f->logs[f->logCount].pMessage = pMessage;
    }
    f->logCount++;
}

/** @brief (Re)initialises the context from the fixture's settings and interfaces. */
static void reinit(Fixture_t *f)
{
    assert_int_equal(Defender_Init(&f->ctx, &f->settings, &f->interfaces), DEFENDER_SUCCESS);
}

/** @brief cmocka setup: default agent (JSON, long keys, all groups, 300 s, 10 s). */
static int setup(void **state)
{
    Fixture_t *f = calloc(1U, sizeof(Fixture_t));

    if (f == NULL)
    {
        return -1;
    }
    FakeSequence_Reset();
    FakeClock_Init(&f->clock, T0_MONO, T0_WALL);
    FakeMqtt_Init(&f->mqtt);
    FakeSource_Init(&f->source);
    FakeStore_Init(&f->store);

    Defender_DefaultSettings(&f->settings);
    f->settings.pThingName = THING;
    f->settings.thingNameLength = strlen(THING);
    f->settings.keys = DEFENDER_KEYS_LONG;
    f->settings.pReportBuffer = f->buffer;
    f->settings.reportBufferSize = sizeof(f->buffer);

    (void) memset(&f->interfaces, 0, sizeof(f->interfaces));
    f->interfaces.mqtt = FakeMqtt_Interface(&f->mqtt, true);
    f->interfaces.clock = FakeClock_Interface(&f->clock, true, true);
    f->interfaces.metricsSource = FakeSource_Interface(&f->source);
    f->interfaces.pfLog = onLog;
    f->interfaces.pfReport = onReport;
    f->interfaces.pCallbackContext = f;
    reinit(f);

    *state = f;
    return 0;
}

/** @brief cmocka teardown. */
static int teardown(void **state)
{
    free(*state);
    return 0;
}

/** @brief Calls Defender_Process, expecting success; returns the ms until the next call. */
static uint32_t process(Fixture_t *f)
{
    uint32_t next = 0U;

    assert_int_equal(Defender_Process(&f->ctx, &next), DEFENDER_SUCCESS);
    return next;
}

/** @brief Advances the fake clock, then processes. */
static uint32_t advance(Fixture_t *f, uint64_t ms)
{
    FakeClock_Advance(&f->clock, ms);
    return process(f);
}

/** @brief Connects (clean session) and starts. */
static void connectAndStart(Fixture_t *f)
{
    Defender_OnConnectionChanged(&f->ctx, true, false);
    assert_int_equal(Defender_Start(&f->ctx), DEFENDER_SUCCESS);
}

/** @brief Connects, starts and processes once: the first report is published. */
static void startAndPublishFirst(Fixture_t *f)
{
    connectAndStart(f);
    (void) process(f);
    assert_int_equal(f->mqtt.publishSucceeded, 1);
    assert_int_equal(Defender_GetReportStatus(&f->ctx), eDefenderRepNoAck);
}

/** @brief Connects, starts and processes once: one successful publish, any status. */
static void startAndPublishFirstAny(Fixture_t *f)
{
    connectAndStart(f);
    (void) process(f);
    assert_int_equal(f->mqtt.publishSucceeded, 1);
}

/** @brief The latest report's information. */
static DefenderReportInfo_t lastInfo(const Fixture_t *f)
{
    DefenderReportInfo_t info;

    assert_int_equal(Defender_GetLastReport(&f->ctx, &info), DEFENDER_SUCCESS);
    return info;
}

/** @brief The counters. */
static DefenderCounters_t counters(const Fixture_t *f)
{
    DefenderCounters_t c;

    assert_int_equal(Defender_GetCounters(&f->ctx, &c), DEFENDER_SUCCESS);
    return c;
}

/** @brief Hands a text payload to the core. */
static DefenderStatus_t deliver(Fixture_t *f, const char *pTopic, const char *pPayload)
{
    return Defender_OnMessage(&f->ctx, pTopic, strlen(pTopic), (const uint8_t *) pPayload,
                              strlen(pPayload));
}

/** @brief Converts hex to bytes; returns the count. */
static size_t fromHex(const char *pHex, uint8_t *pOut, size_t outSize)
{
    size_t count = 0U;
    unsigned int byte;

    while ((pHex[0] != '\0') && (pHex[1] != '\0'))
    {
        assert_int_equal(sscanf(pHex, "%2x", &byte), 1);
        assert_true(count < outSize);
        pOut[count++] = (uint8_t) byte;
        pHex += 2;
    }
    return count;
}

/** @brief Hands a CBOR payload given in hex to the core. */
static DefenderStatus_t deliverHex(Fixture_t *f, const char *pTopic, const char *pHex)
{
    uint8_t bytes[512];
    size_t length = fromHex(pHex, bytes, sizeof(bytes));

    return Defender_OnMessage(&f->ctx, pTopic, strlen(pTopic), bytes, length);
}

/** @brief Sends an ACCEPTED JSON response for `id`. */
static DefenderStatus_t accept(Fixture_t *f, uint64_t id)
{
    char payload[256];

    (void) snprintf(payload, sizeof(payload),
                    "{\"thingName\":\"" THING "\",\"reportId\":%llu,\"status\":\"ACCEPTED\","
                    "\"timestamp\":1735689600412}",
                    (unsigned long long) id);
    return deliver(f, TOPIC_ACCEPTED, payload);
}

/** @brief Sends a REJECTED JSON response for `id` with an error code. */
static DefenderStatus_t reject(Fixture_t *f, uint64_t id, const char *pCode)
{
    char payload[512];

    (void) snprintf(payload, sizeof(payload),
                    "{\"thingName\":\"" THING "\",\"reportId\":%llu,\"status\":\"REJECTED\","
                    "\"statusDetails\":{\"ErrorCode\":\"%s\",\"ErrorMessage\":\"msg\"},"
                    "\"timestamp\":1735689600415}",
                    (unsigned long long) id, pCode);
    return deliver(f, TOPIC_REJECTED, payload);
}

/** @brief Decodes the latest published report; the caller deletes it. */
static cJSON *published(const Fixture_t *f)
{
    cJSON *pRoot =
        cJSON_ParseWithLength((const char *) f->mqtt.lastPayload, f->mqtt.lastPayloadLength);

    assert_non_null(pRoot);
    assert_true(cJSON_IsObject(pRoot));
    return pRoot;
}

/** @brief Follows object keys from `pRoot`; NULL when a key is missing. */
static cJSON *path(cJSON *pRoot, const char *pKey1, const char *pKey2, const char *pKey3,
                   const char *pKey4)
{
    const char *keys[4] = {pKey1, pKey2, pKey3, pKey4};
    cJSON *pItem = pRoot;
    size_t i;

    for (i = 0U; (i < 4U) && (keys[i] != NULL) && (pItem != NULL); i++)
    {
        pItem = cJSON_GetObjectItemCaseSensitive(pItem, keys[i]);
    }
    return pItem;
}

/**
 * @brief Reads an unsigned integer exactly from the latest payload, after the first
 * occurrence of `"key":`; UINT64_MAX when the key is absent.
 */
static uint64_t rawUint(const Fixture_t *f, const char *pKey)
{
    char pattern[64];
    const char *pFound;
    uint64_t value = UINT64_MAX;

    (void) snprintf(pattern, sizeof(pattern), "\"%s\":", pKey);
    pFound = strstr((const char *) f->mqtt.lastPayload, pattern);
    if (pFound != NULL)
    {
        value = strtoull(pFound + strlen(pattern), NULL, 10);
    }
    return value;
}

/** @brief The report id of the latest published report (exact). */
static uint64_t publishedId(const Fixture_t *f)
{
    return rawUint(f, "report_id");
}

/** @brief Number of logged messages at a level. */
static size_t logsAt(const Fixture_t *f, DefenderLogLevel_t level)
{
    size_t count = 0U;
    size_t i;

    for (i = 0U; (i < f->logCount) && (i < (sizeof(f->logs) / sizeof(f->logs[0]))); i++)
    {
        if (f->logs[i].level == level)
        {
            count++;
        }
    }
    return count;
}

/** @brief Index of the last event of a kind, or -1. */
static int lastEventIndex(const Fixture_t *f, DefenderReportEvent_t event)
{
    int index = -1;
    size_t i;

    for (i = 0U; i < f->eventCount; i++)
    {
        if (f->events[i].event == event)
        {
            index = (int) i;
        }
    }
    return index;
}

/** @brief The latest recorded report event (there must be one). */
static const Event_t *lastEvent(const Fixture_t *f)
{
    assert_true(f->eventCount > 0U);
    assert_true(f->eventCount <= (sizeof(f->events) / sizeof(f->events[0])));
    return &f->events[f->eventCount - 1U];
}

/* ------------------------------------------------------------------------- */
/* API arguments                                                              */
/* ------------------------------------------------------------------------- */

/** @brief Defaults: JSON, short keys, all groups, 300 s, 10 s, cap 50. */
static void test_Defender_DefaultSettings_Values(void **state)
{
    DefenderSettings_t settings;

    (void) state;
    (void) memset(&settings, 0xA5, sizeof(settings));
    Defender_DefaultSettings(&settings);
    assert_int_equal(settings.format, DEFENDER_FORMAT_JSON);
    assert_int_equal(settings.keys, DEFENDER_KEYS_SHORT);
    assert_int_equal(settings.metrics, DEFENDER_METRIC_ALL);
    assert_int_equal(settings.periodSeconds, 300);
    assert_int_equal(settings.ackTimeoutMs, 10000);
    assert_int_equal(settings.maxListEntries, DEFENDER_CONFIG_MAX_LIST_ENTRIES);
    assert_false(settings.includeLoopback);
    assert_null(settings.pThingName);
    assert_null(settings.pReportBuffer);
    Defender_DefaultSettings(NULL);
}

/** @brief NULL pointers and missing required interface functions. */
static void test_Defender_Init_NullArguments(void **state)
{
    Fixture_t *f = *state;
    DefenderInterfaces_t interfaces;

    assert_int_equal(Defender_Init(NULL, &f->settings, &f->interfaces), DEFENDER_BAD_PARAMETER);
    assert_int_equal(Defender_Init(&f->ctx, NULL, &f->interfaces), DEFENDER_BAD_PARAMETER);
    assert_int_equal(Defender_Init(&f->ctx, &f->settings, NULL), DEFENDER_BAD_PARAMETER);

    interfaces = f->interfaces;
    interfaces.mqtt.pfSubscribe = NULL;
    assert_int_equal(Defender_Init(&f->ctx, &f->settings, &interfaces), DEFENDER_BAD_PARAMETER);
    interfaces = f->interfaces;
    interfaces.mqtt.pfPublish = NULL;
    assert_int_equal(Defender_Init(&f->ctx, &f->settings, &interfaces), DEFENDER_BAD_PARAMETER);
    interfaces = f->interfaces;
    interfaces.clock.pfMonotonicMs = NULL;
    assert_int_equal(Defender_Init(&f->ctx, &f->settings, &interfaces), DEFENDER_BAD_PARAMETER);

    /* A source is required only when a standard group is enabled. */
    interfaces = f->interfaces;
    interfaces.metricsSource.pfCollect = NULL;
    assert_int_equal(Defender_Init(&f->ctx, &f->settings, &interfaces), DEFENDER_BAD_PARAMETER);
    f->settings.metrics = 0U;
    assert_int_equal(Defender_Init(&f->ctx, &f->settings, &interfaces), DEFENDER_SUCCESS);
    f->settings.metrics = DEFENDER_METRIC_ALL;

    /* Store: both functions or neither. */
    interfaces = f->interfaces;
    interfaces.store = FakeStore_Interface(&f->store);
    interfaces.store.pfSaveLastReportId = NULL;
    assert_int_equal(Defender_Init(&f->ctx, &f->settings, &interfaces), DEFENDER_BAD_PARAMETER);
    interfaces.store = FakeStore_Interface(&f->store);
    interfaces.store.pfLoadLastReportId = NULL;
    assert_int_equal(Defender_Init(&f->ctx, &f->settings, &interfaces), DEFENDER_BAD_PARAMETER);

    /* Optional ones may be NULL. */
    interfaces = f->interfaces;
    interfaces.mqtt.pfUnsubscribe = NULL;
    interfaces.clock.pfWallClockMs = NULL;
    interfaces.clock.pfRandom = NULL;
    interfaces.pfLog = NULL;
    interfaces.pfReport = NULL;
    assert_int_equal(Defender_Init(&f->ctx, &f->settings, &interfaces), DEFENDER_SUCCESS);
}

/** @brief Invalid settings are refused with BAD_PARAMETER. */
static void test_Defender_Init_InvalidSettings(void **state)
{
    Fixture_t *f = *state;
    DefenderSettings_t s;
    char longName[130];

    (void) memset(longName, 'a', sizeof(longName));
    longName[129] = '\0';

#define EXPECT_BAD(mutation)                                                                       \
    do                                                                                             \
    {                                                                                              \
        s = f->settings;                                                                           \
        mutation;                                                                                  \
        assert_int_equal(Defender_Init(&f->ctx, &s, &f->interfaces), DEFENDER_BAD_PARAMETER);      \
    } while (0)

    EXPECT_BAD(s.pThingName = NULL);
    EXPECT_BAD(s.thingNameLength = 0U);
    EXPECT_BAD((s.pThingName = longName, s.thingNameLength = 129U));
    EXPECT_BAD((s.pThingName = "a/b", s.thingNameLength = 3U));
    EXPECT_BAD((s.pThingName = "a+b", s.thingNameLength = 3U));
    EXPECT_BAD((s.pThingName = "a#b", s.thingNameLength = 3U));
    EXPECT_BAD((s.pThingName = "a\nb", s.thingNameLength = 3U));
    EXPECT_BAD(s.format = (DefenderFormat_t) 2);
    EXPECT_BAD(s.keys = (DefenderKeyStyle_t) 2);
    EXPECT_BAD(s.metrics = 0x10U);
    EXPECT_BAD(s.maxListEntries = 0U);
    EXPECT_BAD(s.maxListEntries = (uint16_t) (DEFENDER_CONFIG_MAX_LIST_ENTRIES + 1U));
    EXPECT_BAD(s.ackTimeoutMs = 0U);
    EXPECT_BAD(s.pReportBuffer = NULL);
    EXPECT_BAD(s.reportBufferSize = 0U);
#undef EXPECT_BAD

    /* 128 bytes is the longest valid name; the name is copied. */
    s = f->settings;
    s.pThingName = longName;
    s.thingNameLength = 128U;
    assert_int_equal(Defender_Init(&f->ctx, &s, &f->interfaces), DEFENDER_SUCCESS);
    longName[0] = 'z';
    assert_int_equal(f->ctx.thingName[0], 'a');
}

/** @brief Period 0 is refused; under 300 s a warning is logged. */
static void test_Defender_Init_Period(void **state)
{
    Fixture_t *f = *state;
    DefenderSettings_t s = f->settings;

    SKIP_UNDER_FLOOR();

    s.periodSeconds = 0U;
    assert_int_equal(Defender_Init(&f->ctx, &s, &f->interfaces), DEFENDER_PERIOD_TOO_SHORT);

    f->logCount = 0U;
    s.periodSeconds = 300U;
    assert_int_equal(Defender_Init(&f->ctx, &s, &f->interfaces), DEFENDER_SUCCESS);
    assert_int_equal(logsAt(f, DEFENDER_LOG_WARN), 0);

    s.periodSeconds = 60U;
    assert_int_equal(Defender_Init(&f->ctx, &s, &f->interfaces), DEFENDER_SUCCESS);
    assert_int_equal(logsAt(f, DEFENDER_LOG_WARN), 1);
    assert_non_null(strstr(f->logs[0].pMessage, "300"));
}

/** @brief Defender_SetMetrics: arguments, stopped only. */
static void test_Defender_SetMetrics_Arguments(void **state)
{
    Fixture_t *f = *state;

    assert_int_equal(Defender_SetMetrics(NULL, 0U), DEFENDER_BAD_PARAMETER);
    assert_int_equal(Defender_SetMetrics(&f->ctx, 0x10U), DEFENDER_BAD_PARAMETER);
    assert_int_equal(Defender_SetMetrics(&f->ctx, DEFENDER_METRIC_NETWORK_STATS), DEFENDER_SUCCESS);
    assert_int_equal(Defender_SetMetrics(&f->ctx, 0U), DEFENDER_SUCCESS);
    assert_int_equal(Defender_Start(&f->ctx), DEFENDER_SUCCESS);
    assert_int_equal(Defender_SetMetrics(&f->ctx, DEFENDER_METRIC_ALL), DEFENDER_ALREADY_STARTED);
    assert_int_equal(Defender_Stop(&f->ctx), DEFENDER_SUCCESS);
    assert_int_equal(Defender_SetMetrics(&f->ctx, DEFENDER_METRIC_ALL), DEFENDER_SUCCESS);

    /* Without a source only 0 is possible. */
    f->interfaces.metricsSource.pfCollect = NULL;
    f->settings.metrics = 0U;
    reinit(f);
    assert_int_equal(Defender_SetMetrics(&f->ctx, DEFENDER_METRIC_ALL), DEFENDER_BAD_PARAMETER);
    assert_int_equal(Defender_SetMetrics(&f->ctx, 0U), DEFENDER_SUCCESS);
}

/** @brief Defender_SetPeriod: NULL, 0, the 300 s warning. */
static void test_Defender_SetPeriod_Arguments(void **state)
{
    Fixture_t *f = *state;

    SKIP_UNDER_FLOOR();

    assert_int_equal(Defender_SetPeriod(NULL, 300U), DEFENDER_BAD_PARAMETER);
    assert_int_equal(Defender_SetPeriod(&f->ctx, 0U), DEFENDER_PERIOD_TOO_SHORT);
    assert_int_equal(f->ctx.settings.periodSeconds, 300);

    f->logCount = 0U;
    assert_int_equal(Defender_SetPeriod(&f->ctx, 300U), DEFENDER_SUCCESS);
    assert_int_equal(Defender_SetPeriod(&f->ctx, 86400U), DEFENDER_SUCCESS);
    assert_int_equal(logsAt(f, DEFENDER_LOG_WARN), 0);
    assert_int_equal(Defender_SetPeriod(&f->ctx, 299U), DEFENDER_SUCCESS);
    assert_int_equal(logsAt(f, DEFENDER_LOG_WARN), 1);
    assert_int_equal(Defender_SetPeriod(&f->ctx, 1U), DEFENDER_SUCCESS);
    assert_int_equal(logsAt(f, DEFENDER_LOG_WARN), 2);
    assert_int_equal(f->ctx.settings.periodSeconds, 1);
}

/** @brief Defender_SetAckTimeout: NULL and 0 refused. */
static void test_Defender_SetAckTimeout_Arguments(void **state)
{
    Fixture_t *f = *state;

    assert_int_equal(Defender_SetAckTimeout(NULL, 1000U), DEFENDER_BAD_PARAMETER);
    assert_int_equal(Defender_SetAckTimeout(&f->ctx, 0U), DEFENDER_BAD_PARAMETER);
    assert_int_equal(Defender_SetAckTimeout(&f->ctx, 1U), DEFENDER_SUCCESS);
    assert_int_equal(Defender_Start(&f->ctx), DEFENDER_SUCCESS);
    assert_int_equal(Defender_SetAckTimeout(&f->ctx, 5000U), DEFENDER_SUCCESS);
}

/** @brief Custom metric read callback: a fixed number. */
static bool readNumber(void *pUserContext, DefenderCustomValue_t *pValue)
{
    const double *pNumber = (const double *) pUserContext;

    pValue->number = (pNumber != NULL) ? *pNumber : 1.0;
    return true;
}

/** @brief A custom metric of type number with the given name. */
static DefenderCustomMetric_t numberMetric(const char *pName)
{
    DefenderCustomMetric_t metric;

    (void) memset(&metric, 0, sizeof(metric));
    metric.pName = pName;
    metric.type = DEFENDER_CUSTOM_NUMBER;
    metric.pfRead = readNumber;
    return metric;
}

/** @brief Defender_AddCustomMetric refuses invalid names, types and callbacks. */
static void test_Defender_AddCustomMetric_Invalid(void **state)
{
    Fixture_t *f = *state;
    DefenderCustomMetric_t metric = numberMetric("ok");
    char name[130];

    assert_int_equal(Defender_AddCustomMetric(NULL, &metric), DEFENDER_BAD_PARAMETER);
    assert_int_equal(Defender_AddCustomMetric(&f->ctx, NULL), DEFENDER_BAD_PARAMETER);

    metric = numberMetric(NULL);
    assert_int_equal(Defender_AddCustomMetric(&f->ctx, &metric), DEFENDER_BAD_PARAMETER);
    metric = numberMetric("aws:x");
    assert_int_equal(Defender_AddCustomMetric(&f->ctx, &metric), DEFENDER_BAD_PARAMETER);
    metric = numberMetric("");
    assert_int_equal(Defender_AddCustomMetric(&f->ctx, &metric), DEFENDER_BAD_PARAMETER);
    metric = numberMetric("has space");
    assert_int_equal(Defender_AddCustomMetric(&f->ctx, &metric), DEFENDER_BAD_PARAMETER);
    metric = numberMetric("dot.ted");
    assert_int_equal(Defender_AddCustomMetric(&f->ctx, &metric), DEFENDER_BAD_PARAMETER);
    (void) memset(name, 'm', sizeof(name));
    name[129] = '\0';
    metric = numberMetric(name);
    assert_int_equal(Defender_AddCustomMetric(&f->ctx, &metric), DEFENDER_BAD_PARAMETER);
    metric = numberMetric("ok");
    metric.pfRead = NULL;
    assert_int_equal(Defender_AddCustomMetric(&f->ctx, &metric), DEFENDER_BAD_PARAMETER);
    metric = numberMetric("ok");
    metric.type = (DefenderCustomMetricType_t) 4;
    assert_int_equal(Defender_AddCustomMetric(&f->ctx, &metric), DEFENDER_BAD_PARAMETER);
    assert_int_equal(f->ctx.customMetricCount, 0);

    /* Valid edge cases: 128 characters, every allowed character, `aws:` case-sensitive. */
    name[128] = '\0';
    metric = numberMetric(name);
    assert_int_equal(Defender_AddCustomMetric(&f->ctx, &metric), DEFENDER_SUCCESS);
    metric = numberMetric("aZ09:_-");
    assert_int_equal(Defender_AddCustomMetric(&f->ctx, &metric), DEFENDER_SUCCESS);
    metric = numberMetric("AWS:x");
    assert_int_equal(Defender_AddCustomMetric(&f->ctx, &metric), DEFENDER_SUCCESS);
    metric = numberMetric("aws");
    assert_int_equal(Defender_AddCustomMetric(&f->ctx, &metric), DEFENDER_SUCCESS);
}

/** @brief Duplicate names, a full table, and registration while started. */
static void test_Defender_AddCustomMetric_DuplicateTooManyStarted(void **state)
{
    Fixture_t *f = *state;
    static char names[DEFENDER_CONFIG_MAX_CUSTOM_METRICS + 1U][8];
    DefenderCustomMetric_t metric;
    size_t i;

    for (i = 0U; i < (DEFENDER_CONFIG_MAX_CUSTOM_METRICS + 1U); i++)
    {
        (void) snprintf(names[i], sizeof(names[i]), "m%u", (unsigned) i);
    }
    metric = numberMetric(names[0]);
    assert_int_equal(Defender_AddCustomMetric(&f->ctx, &metric), DEFENDER_SUCCESS);
    metric = numberMetric("m0");
    assert_int_equal(Defender_AddCustomMetric(&f->ctx, &metric), DEFENDER_DUPLICATE);
    for (i = 1U; i < DEFENDER_CONFIG_MAX_CUSTOM_METRICS; i++)
    {
        metric = numberMetric(names[i]);
        assert_int_equal(Defender_AddCustomMetric(&f->ctx, &metric), DEFENDER_SUCCESS);
    }
    metric = numberMetric(names[DEFENDER_CONFIG_MAX_CUSTOM_METRICS]);
    assert_int_equal(Defender_AddCustomMetric(&f->ctx, &metric), DEFENDER_TOO_MANY);

    reinit(f);
    assert_int_equal(Defender_Start(&f->ctx), DEFENDER_SUCCESS);
    metric = numberMetric("late");
    assert_int_equal(Defender_AddCustomMetric(&f->ctx, &metric), DEFENDER_ALREADY_STARTED);
    assert_int_equal(Defender_Stop(&f->ctx), DEFENDER_SUCCESS);
    assert_int_equal(Defender_AddCustomMetric(&f->ctx, &metric), DEFENDER_SUCCESS);
}

/** @brief Start/Stop/IsStarted/Process return codes. */
static void test_Defender_StartStopProcess_Codes(void **state)
{
    Fixture_t *f = *state;
    uint32_t next = 0U;

    assert_int_equal(Defender_Start(NULL), DEFENDER_BAD_PARAMETER);
    assert_int_equal(Defender_Stop(NULL), DEFENDER_BAD_PARAMETER);
    assert_int_equal(Defender_Process(NULL, &next), DEFENDER_BAD_PARAMETER);
    assert_false(Defender_IsStarted(NULL));

    assert_false(Defender_IsStarted(&f->ctx));
    assert_int_equal(Defender_Stop(&f->ctx), DEFENDER_NOT_STARTED);
    assert_int_equal(Defender_Process(&f->ctx, &next), DEFENDER_NOT_STARTED);
    assert_int_equal(next, UINT32_MAX);
    assert_int_equal(Defender_Process(&f->ctx, NULL), DEFENDER_NOT_STARTED);

    assert_int_equal(Defender_Start(&f->ctx), DEFENDER_SUCCESS);
    assert_true(Defender_IsStarted(&f->ctx));
    assert_int_equal(Defender_Start(&f->ctx), DEFENDER_ALREADY_STARTED);
    assert_int_equal(Defender_Process(&f->ctx, NULL), DEFENDER_SUCCESS);
    assert_int_equal(Defender_Stop(&f->ctx), DEFENDER_SUCCESS);
    assert_false(Defender_IsStarted(&f->ctx));
    assert_int_equal(Defender_Stop(&f->ctx), DEFENDER_NOT_STARTED);
    assert_int_equal(Defender_Process(&f->ctx, &next), DEFENDER_NOT_STARTED);
    assert_int_equal(f->mqtt.publishCalls, 0);
}

/** @brief Getters, string functions and event functions with NULL/out-of-range input. */
static void test_Defender_Getters_Arguments(void **state)
{
    Fixture_t *f = *state;
    DefenderReportInfo_t info;
    DefenderCounters_t c;

    assert_int_equal(Defender_GetLastReport(NULL, &info), DEFENDER_BAD_PARAMETER);
    assert_int_equal(Defender_GetLastReport(&f->ctx, NULL), DEFENDER_BAD_PARAMETER);
    assert_int_equal(Defender_GetCounters(NULL, &c), DEFENDER_BAD_PARAMETER);
    assert_int_equal(Defender_GetCounters(&f->ctx, NULL), DEFENDER_BAD_PARAMETER);
    assert_int_equal(Defender_GetReportStatus(NULL), eDefenderRepInit);

    assert_string_equal(Defender_StatusString(DEFENDER_SUCCESS), "DEFENDER_SUCCESS");
    assert_string_equal(Defender_StatusString(DEFENDER_ERROR), "DEFENDER_ERROR");
    assert_string_equal(Defender_StatusString((DefenderStatus_t) 99), "DEFENDER_UNKNOWN");
    assert_string_equal(Defender_ReportStatusString(eDefenderRepSuccess), "eDefenderRepSuccess");
    assert_string_equal(Defender_ReportStatusString(eDefenderRepNotSent), "eDefenderRepNotSent");
    assert_string_equal(Defender_ReportStatusString((DefenderReportStatus_t) 99),
                        "eDefenderRepUnknown");

    Defender_OnConnectionChanged(NULL, true, false);
    Defender_OnSubscribeResult(NULL, TOPIC_ACCEPTED, strlen(TOPIC_ACCEPTED), true);
    Defender_OnSubscribeResult(&f->ctx, NULL, 0U, true);
}

/**
 * @brief Defender_OnMessage takes a message only on the agent's own response topics of
 * its format: exact lower-case segments (PD-1), no prefix, extension or look-alike.
 */
static void test_Defender_OnMessage_OnlyOwnResponseTopics(void **state)
{
    static const char *others[] = {
        "",
        "$aws/things/",
        "$aws/things//defender/metrics/json/accepted",
        "$aws/things/sensor-42/defender/metrics/JSON/accepted",
        "$aws/things/sensor-42/defender/metrics/Json/accepted",
        "$aws/things/sensor-42/defender/metrics/json/Accepted",
        "$aws/things/sensor-42/Defender/metrics/json/accepted",
        "$AWS/things/sensor-42/defender/metrics/json/accepted",
        "$aws/Things/sensor-42/defender/metrics/json/accepted",
        "$aws/things/sensor-42/defender/metrics/xml/accepted",
        "$aws/things/sensor-42/defender/metrics/json/accepted/",
        "$aws/things/sensor-42/defender/metrics/json/accepted/x",
        "$aws/things/sensor-42/defender/metrics/json/rejected/",
        "$aws/things/sensor-42/defender/metrics/json/other",
        "$aws/things/sensor-42/defender/metrics/json/acceptedx",
        "$aws/things/sensor-42/defender/metrics/jsonx/accepted",
        "$aws/things/sensor-42/defender/metrics",
        "$aws/things/sensor-42/defender/metrics/json",
        "$aws/things/sensor-4/defender/metrics/json/accepted",
        "$aws/things/sensor-42x/defender/metrics/json/accepted",
        "$aws/things/+/defender/metrics/json/accepted",
        "$aws/things/#",
        "aws/things/sensor-42/defender/metrics/json/accepted",
        "/$aws/things/sensor-42/defender/metrics/json/accepted",
        "$aws/things/sensor-42//defender/metrics/json/accepted",
        "$aws/things/sensor-42/shadow/update/accepted",
    };
    Fixture_t *f = *state;
    uint32_t ignored = 0U;
    size_t i;
    size_t n;

    startAndPublishFirst(f);
    for (i = 0U; i < (sizeof(others) / sizeof(others[0])); i++)
    {
        if (deliver(f, others[i], R1) != DEFENDER_NOT_FOUND)
        {
            fail_msg("taken: %s", others[i]);
        }
        assert_int_equal(counters(f).messagesIgnored, ++ignored);
    }
    /* Every strict prefix of the accepted topic (the length decides, no terminator). */
    for (n = 0U; n < strlen(TOPIC_ACCEPTED); n++)
    {
        assert_int_equal(
            Defender_OnMessage(&f->ctx, TOPIC_ACCEPTED, n, (const uint8_t *) R1, strlen(R1)),
            DEFENDER_NOT_FOUND);
    }
    assert_int_equal(Defender_GetReportStatus(&f->ctx), eDefenderRepNoAck);
    assert_int_equal(accept(f, publishedId(f)), DEFENDER_SUCCESS);
    assert_int_equal(Defender_GetReportStatus(&f->ctx), eDefenderRepSuccess);
}

/** @brief The longest thing name (128 bytes, with UTF-8) gets its responses. */
static void test_Defender_OnMessage_LongestThingName(void **state)
{
    Fixture_t *f = *state;
    char name[129];
    char topic[DEFENDER_TOPIC_BUFFER_SIZE];
    char payload[512];

    (void) memset(name, 'q', 128U);
    name[5] = '\xC3';
    name[6] = '\xA9';
    name[128] = '\0';
    f->settings.pThingName = name;
    f->settings.thingNameLength = 128U;
    reinit(f);
    startAndPublishFirst(f);
    (void) snprintf(topic, sizeof(topic), "$aws/things/%s/defender/metrics/json/accepted", name);
    (void) snprintf(payload, sizeof(payload),
                    "{\"thingName\":\"%s\",\"reportId\":%llu,\"status\":\"ACCEPTED\","
                    "\"timestamp\":1735689600412}",
                    name, (unsigned long long) publishedId(f));
    /* One byte short of the name is another thing's topic. */
    assert_int_equal(
        Defender_OnMessage(&f->ctx, topic, 12U + 127U, (const uint8_t *) payload, strlen(payload)),
        DEFENDER_NOT_FOUND);
    assert_int_equal(deliver(f, topic, payload), DEFENDER_SUCCESS);
    assert_int_equal(Defender_GetReportStatus(&f->ctx), eDefenderRepSuccess);
}

/** @brief Defender_OnMessage: NULLs, other topics, other things, other formats. */
static void test_Defender_OnMessage_Arguments(void **state)
{
    Fixture_t *f = *state;
    const char *pOther = "$aws/things/other/defender/metrics/json/accepted";

    startAndPublishFirst(f);
    assert_int_equal(Defender_OnMessage(NULL, TOPIC_ACCEPTED, strlen(TOPIC_ACCEPTED),
                                        (const uint8_t *) R1, strlen(R1)),
                     DEFENDER_BAD_PARAMETER);
    assert_int_equal(Defender_OnMessage(&f->ctx, NULL, 5U, (const uint8_t *) R1, strlen(R1)),
                     DEFENDER_BAD_PARAMETER);
    assert_int_equal(
        Defender_OnMessage(&f->ctx, TOPIC_ACCEPTED, strlen(TOPIC_ACCEPTED), NULL, strlen(R1)),
        DEFENDER_BAD_PARAMETER);
    assert_int_equal(counters(f).messagesIgnored, 0);

    assert_int_equal(deliver(f, "sensors/temperature", "{}"), DEFENDER_NOT_FOUND);
    assert_int_equal(deliver(f, TOPIC_REPORT, R1), DEFENDER_NOT_FOUND);
    assert_int_equal(deliver(f, pOther, R1), DEFENDER_NOT_FOUND);
    assert_int_equal(deliver(f, CBOR_ACCEPTED, R1), DEFENDER_NOT_FOUND);
    assert_int_equal(deliver(f, "$aws/things/sensor-42/defender/metrics/JSON/accepted", R1),
                     DEFENDER_NOT_FOUND);
    assert_int_equal(counters(f).messagesIgnored, 5);

    /* Empty payload on our topic: malformed. */
    assert_int_equal(Defender_OnMessage(&f->ctx, TOPIC_ACCEPTED, strlen(TOPIC_ACCEPTED), NULL, 0U),
                     DEFENDER_MALFORMED);
    assert_int_equal(Defender_GetReportStatus(&f->ctx), eDefenderRepNoAck);
    assert_int_equal(counters(f).responsesMalformed, 1);
}

/* ------------------------------------------------------------------------- */
/* Subscriptions and the first report                                         */
/* ------------------------------------------------------------------------- */

/** @brief Status is Init after Start; nothing happens while disconnected. */
static void test_Defender_Start_StatusInit(void **state)
{
    Fixture_t *f = *state;

    assert_int_equal(Defender_GetReportStatus(&f->ctx), eDefenderRepInit);
    assert_int_equal(Defender_Start(&f->ctx), DEFENDER_SUCCESS);
    assert_int_equal(Defender_GetReportStatus(&f->ctx), eDefenderRepInit);
    assert_int_equal(lastInfo(f).reportId, 0);
    (void) process(f);
    assert_int_equal(f->mqtt.subscribeCalls, 0);
    assert_int_equal(f->mqtt.publishCalls, 0);
    assert_int_equal(Defender_GetReportStatus(&f->ctx), eDefenderRepInit);
}

/** @brief First Process when connected subscribes both topics, then publishes at once. */
static void test_Defender_Process_SubscribesThenPublishes(void **state)
{
    Fixture_t *f = *state;
    const FakeMqttCall_t *pSub0;
    const FakeMqttCall_t *pSub1;
    const FakeMqttCall_t *pPub;
    DefenderReportInfo_t info;

    connectAndStart(f);
    (void) process(f);
    assert_int_equal(FakeMqtt_CountCalls(&f->mqtt, FAKE_MQTT_SUBSCRIBE), 2);
    pSub0 = FakeMqtt_GetCall(&f->mqtt, FAKE_MQTT_SUBSCRIBE, 0U);
    pSub1 = FakeMqtt_GetCall(&f->mqtt, FAKE_MQTT_SUBSCRIBE, 1U);
    pPub = FakeMqtt_GetCall(&f->mqtt, FAKE_MQTT_PUBLISH, 0U);
    assert_string_equal(pSub0->topic, TOPIC_ACCEPTED);
    assert_int_equal(pSub0->topicLength, strlen(TOPIC_ACCEPTED));
    assert_string_equal(pSub1->topic, TOPIC_REJECTED);
    assert_int_equal(pSub1->topicLength, strlen(TOPIC_REJECTED));
    assert_non_null(pPub);
    assert_string_equal(pPub->topic, TOPIC_REPORT);
    assert_true(pPub->event > pSub1->event);

    info = lastInfo(f);
    assert_int_equal(info.status, eDefenderRepNoAck);
    assert_int_equal(info.reportId, T0_WALL);
    assert_int_equal(info.size, f->mqtt.lastPayloadLength);
    assert_int_equal(publishedId(f), T0_WALL);
    assert_int_equal(counters(f).reportsPublished, 1);

    /* No more subscriptions while they stay granted. */
    (void) advance(f, PERIOD_MS);
    assert_int_equal(f->mqtt.subscribeCalls, 2);
    assert_int_equal(f->mqtt.publishSucceeded, 2);
}

/** @brief PENDING subscriptions: no publish until both SUBACKs are granted. */
static void test_Defender_Process_WaitsForBothSubacks(void **state)
{
    Fixture_t *f = *state;

    f->mqtt.subscribeResult = DEFENDER_MQTT_PENDING;
    connectAndStart(f);
    (void) process(f);
    assert_int_equal(f->mqtt.subscribeCalls, 2);
    assert_int_equal(f->mqtt.publishCalls, 0);

    (void) advance(f, 1000U);
    assert_int_equal(f->mqtt.subscribeCalls, 2); /* not re-requested while pending */
    Defender_OnSubscribeResult(&f->ctx, TOPIC_ACCEPTED, strlen(TOPIC_ACCEPTED), true);
    (void) process(f);
    assert_int_equal(f->mqtt.publishCalls, 0);
    assert_int_equal(Defender_GetReportStatus(&f->ctx), eDefenderRepInit);

    /* A result for a topic that is not ours changes nothing. */
    Defender_OnSubscribeResult(&f->ctx, TOPIC_REPORT, strlen(TOPIC_REPORT), true);
    (void) process(f);
    assert_int_equal(f->mqtt.publishCalls, 0);

    Defender_OnSubscribeResult(&f->ctx, TOPIC_REJECTED, strlen(TOPIC_REJECTED), true);
    (void) process(f);
    assert_int_equal(f->mqtt.publishSucceeded, 1);
    assert_int_equal(Defender_GetReportStatus(&f->ctx), eDefenderRepNoAck);
}

/** @brief Hook: the port reports the SUBACK from inside pfSubscribe. */
static void grantInside(void *pHookContext, const char *pTopic, size_t topicLength,
                        DefenderMqttStatus_t result)
{
    Fixture_t *f = (Fixture_t *) pHookContext;

    assert_int_equal(result, DEFENDER_MQTT_PENDING);
    Defender_OnSubscribeResult(&f->ctx, pTopic, topicLength, true);
}

/** @brief A SUBACK reported from inside the subscribe call counts. */
static void test_Defender_OnSubscribeResult_FromInsideSubscribe(void **state)
{
    Fixture_t *f = *state;

    f->mqtt.subscribeResult = DEFENDER_MQTT_PENDING;
    f->mqtt.pfSubscribeHook = grantInside;
    f->mqtt.pHookContext = f;
    connectAndStart(f);
    (void) process(f);
    assert_int_equal(f->mqtt.subscribeCalls, 2);
    assert_int_equal(f->mqtt.publishSucceeded, 1);
}

/** @brief A refused SUBACK: NotSent (not subscribed), retried at the next report. */
static void test_Defender_OnSubscribeResult_RefusedNotSent(void **state)
{
    Fixture_t *f = *state;
    DefenderReportInfo_t info;

    f->mqtt.subscribeResult = DEFENDER_MQTT_PENDING;
    connectAndStart(f);
    (void) process(f);
    Defender_OnSubscribeResult(&f->ctx, TOPIC_ACCEPTED, strlen(TOPIC_ACCEPTED), false);
    Defender_OnSubscribeResult(&f->ctx, TOPIC_REJECTED, strlen(TOPIC_REJECTED), true);
    (void) process(f);
    assert_int_equal(f->mqtt.publishCalls, 0);
    info = lastInfo(f);
    assert_int_equal(info.status, eDefenderRepNotSent);
    assert_int_equal(info.notSentReason, DEFENDER_NOT_SENT_NOT_SUBSCRIBED);
    assert_int_equal(counters(f).reportsNotSent, 1);
    assert_int_equal(f->eventCount, 1);
    assert_int_equal(f->events[0].event, DEFENDER_EVENT_NOT_SENT);

    /* Retried once right after the NotSent, for the next report; not in a loop. */
    assert_int_equal(f->mqtt.subscribeCalls, 3);
    assert_string_equal(FakeMqtt_GetCall(&f->mqtt, FAKE_MQTT_SUBSCRIBE, 2U)->topic, TOPIC_ACCEPTED);
    (void) advance(f, 1000U);
    (void) process(f);
    assert_int_equal(f->mqtt.subscribeCalls, 3);
    /* The report stayed due: it goes out as soon as the retry is granted (10.3). */
    Defender_OnSubscribeResult(&f->ctx, TOPIC_ACCEPTED, strlen(TOPIC_ACCEPTED), true);
    (void) process(f);
    assert_int_equal(f->mqtt.publishSucceeded, 1);
    assert_int_equal(f->mqtt.subscribeCalls, 3);
    /* No second NotSent for that report, and nothing more until the next period. */
    assert_int_equal(counters(f).reportsNotSent, 1);
    (void) advance(f, PERIOD_MS - 1U);
    assert_int_equal(f->mqtt.publishCalls, 1);

    /* Refused again (e.g. after a clean reconnect): NotSent at the due time, one retry. */
    Defender_OnConnectionChanged(&f->ctx, true, false);
    (void) process(f);
    assert_int_equal(f->mqtt.subscribeCalls, 5);
    Defender_OnSubscribeResult(&f->ctx, TOPIC_ACCEPTED, strlen(TOPIC_ACCEPTED), true);
    Defender_OnSubscribeResult(&f->ctx, TOPIC_REJECTED, strlen(TOPIC_REJECTED), false);
    (void) advance(f, 1U);
    assert_int_equal(lastInfo(f).status, eDefenderRepNotSent);
    assert_int_equal(lastInfo(f).notSentReason, DEFENDER_NOT_SENT_NOT_SUBSCRIBED);
    assert_int_equal(f->mqtt.subscribeCalls, 6);
    (void) process(f);
    assert_int_equal(f->mqtt.subscribeCalls, 6);
}

/**
 * @brief The connection is down when a report is due: NotSent once per period, no
 * catching up, and the report goes out as soon as the agent is subscribed again.
 */
static void test_Defender_Process_ReportWaitsForReconnect(void **state)
{
    Fixture_t *f = *state;
    uint32_t wait;

    startAndPublishFirst(f);
    assert_int_equal(accept(f, f->ctx.lastReportId), DEFENDER_SUCCESS);
    Defender_OnConnectionChanged(&f->ctx, false, false);
    (void) advance(f, PERIOD_MS);
    assert_int_equal(lastInfo(f).status, eDefenderRepNotSent);
    assert_int_equal(lastInfo(f).notSentReason, DEFENDER_NOT_SENT_NOT_CONNECTED);
    assert_int_equal(lastInfo(f).reportId, 0);
    assert_int_equal(counters(f).reportsNotSent, 1);
    wait = advance(f, PERIOD_MS / 2U);
    assert_int_equal(counters(f).reportsNotSent, 1);
    assert_int_equal(wait, PERIOD_MS / 2U);
    (void) advance(f, 10U * PERIOD_MS);
    assert_int_equal(counters(f).reportsNotSent, 2);
    assert_int_equal(f->mqtt.publishCalls, 1);

    Defender_OnConnectionChanged(&f->ctx, true, false);
    (void) process(f);
    assert_int_equal(f->mqtt.publishSucceeded, 2);
    assert_int_equal(Defender_GetReportStatus(&f->ctx), eDefenderRepNoAck);
    /* The next one a full period later. */
    (void) advance(f, PERIOD_MS - 1U);
    assert_int_equal(f->mqtt.publishCalls, 2);
    (void) advance(f, 1U);
    assert_int_equal(f->mqtt.publishCalls, 3);
}

/**
 * @brief The core keeps times modulo 2^32 ms: a monotonic clock that crosses a
 * multiple of 2^32 ms changes nothing in the schedule or the timeouts.
 */
static void test_Defender_Process_MonotonicClockWraps(void **state)
{
    Fixture_t *f = *state;
    uint32_t wait;

    f->clock.monotonicMs = 0x1FFFFFFFFULL - 2000U; /* 2 s before 2^33 ms */
    startAndPublishFirst(f);
    wait = advance(f, ACK_MS - 1U);
    assert_int_equal(wait, 1U);
    assert_int_equal(counters(f).reportsNoAck, 0);
    (void) advance(f, 1U);
    assert_int_equal(counters(f).reportsNoAck, 1);
    (void) advance(f, PERIOD_MS - ACK_MS - 1U);
    assert_int_equal(f->mqtt.publishCalls, 1);
    (void) advance(f, 1U);
    assert_int_equal(f->mqtt.publishCalls, 2);
}

/** @brief Periods beyond the longest supported one are refused. */
static void test_Defender_SetPeriod_TooLong(void **state)
{
    Fixture_t *f = *state;

    assert_int_equal(Defender_SetPeriod(&f->ctx, DEFENDER_MAX_PERIOD_SECONDS + 1U),
                     DEFENDER_BAD_PARAMETER);
    assert_int_equal(Defender_SetPeriod(&f->ctx, DEFENDER_MAX_PERIOD_SECONDS), DEFENDER_SUCCESS);
}

/** @brief A synchronous subscribe FAILURE: NotSent at once. */
static void test_Defender_Process_SubscribeFailureNotSent(void **state)
{
    Fixture_t *f = *state;

    FakeMqtt_QueueSubscribeResult(&f->mqtt, DEFENDER_MQTT_SUCCESS);
    FakeMqtt_QueueSubscribeResult(&f->mqtt, DEFENDER_MQTT_FAILURE);
    connectAndStart(f);
    (void) process(f);
    assert_int_equal(f->mqtt.publishCalls, 0);
    assert_int_equal(lastInfo(f).status, eDefenderRepNotSent);
    assert_int_equal(lastInfo(f).notSentReason, DEFENDER_NOT_SENT_NOT_SUBSCRIBED);
    assert_true(logsAt(f, DEFENDER_LOG_ERROR) >= 1U);
}

/** @brief pfSubscribe says NOT_CONNECTED: treated as disconnected until the next connect. */
static void test_Defender_Process_SubscribeNotConnected(void **state)
{
    Fixture_t *f = *state;

    FakeMqtt_QueueSubscribeResult(&f->mqtt, DEFENDER_MQTT_NOT_CONNECTED);
    connectAndStart(f);
    (void) process(f);
    assert_int_equal(f->mqtt.subscribeCalls, 1);
    assert_int_equal(f->mqtt.publishCalls, 0);
    (void) advance(f, ACK_MS);
    assert_int_equal(f->mqtt.subscribeCalls, 1);
    assert_int_equal(lastInfo(f).notSentReason, DEFENDER_NOT_SENT_NOT_CONNECTED);
    Defender_OnConnectionChanged(&f->ctx, true, false);
    (void) process(f);
    assert_int_equal(f->mqtt.subscribeCalls, 3);
}

/** @brief SUBACKs that never come: NotSent after one acknowledgement wait. */
static void test_Defender_Process_SubackNeverComes(void **state)
{
    Fixture_t *f = *state;

    f->mqtt.subscribeResult = DEFENDER_MQTT_PENDING;
    connectAndStart(f);
    (void) process(f);
    (void) advance(f, ACK_MS - 1U);
    assert_int_equal(Defender_GetReportStatus(&f->ctx), eDefenderRepInit);
    (void) advance(f, 1U);
    assert_int_equal(Defender_GetReportStatus(&f->ctx), eDefenderRepNotSent);
    assert_int_equal(lastInfo(f).notSentReason, DEFENDER_NOT_SENT_NOT_SUBSCRIBED);
    assert_int_equal(f->mqtt.publishCalls, 0);
}

/** @brief Not connected when the report is due: NotSent (not connected). */
static void test_Defender_Process_NotConnectedNotSent(void **state)
{
    Fixture_t *f = *state;

    assert_int_equal(Defender_Start(&f->ctx), DEFENDER_SUCCESS);
    (void) process(f);
    (void) advance(f, ACK_MS);
    assert_int_equal(Defender_GetReportStatus(&f->ctx), eDefenderRepNotSent);
    assert_int_equal(lastInfo(f).notSentReason, DEFENDER_NOT_SENT_NOT_CONNECTED);
    assert_int_equal(f->mqtt.subscribeCalls, 0);
    assert_int_equal(f->mqtt.publishCalls, 0);

    /* Later reports: NotSent at their due time. */
    (void) advance(f, PERIOD_MS);
    assert_int_equal(counters(f).reportsNotSent, 2);

    /* Disconnected while running: the next due report is NotSent. */
    reinit(f);
    startAndPublishFirst(f);
    Defender_OnConnectionChanged(&f->ctx, false, false);
    (void) advance(f, PERIOD_MS);
    assert_int_equal(Defender_GetReportStatus(&f->ctx), eDefenderRepNotSent);
    assert_int_equal(lastInfo(f).notSentReason, DEFENDER_NOT_SENT_NOT_CONNECTED);
    assert_int_equal(f->mqtt.publishCalls, 1);
}

/**
 * @brief Spec 10.3: the first report goes out as soon as the subscriptions are
 * confirmed, also when the connection comes up after the first due time passed.
 */
static void test_Defender_Process_FirstReportAfterLateConnect(void **state)
{
    Fixture_t *f = *state;

    /* The report stays due while the agent is not connected (spec 10.3: the first
     * report goes out as soon as the subscriptions are confirmed). */
    assert_int_equal(Defender_Start(&f->ctx), DEFENDER_SUCCESS);
    (void) process(f);
    (void) advance(f, 20000U); /* longer than the acknowledgement wait */
    Defender_OnConnectionChanged(&f->ctx, true, false);
    (void) process(f);
    assert_int_equal(f->mqtt.subscribeCalls, 2);
    assert_int_equal(f->mqtt.publishSucceeded, 1);
}

/** @brief Publish hook: the service answers ACCEPTED from inside the publish call. */
static void acceptInside(void *pHookContext, const char *pTopic, size_t topicLength,
                         const uint8_t *pPayload, size_t payloadLength, DefenderMqttStatus_t result)
{
    Fixture_t *f = (Fixture_t *) pHookContext;
    char text[FAKE_MQTT_PAYLOAD_SIZE + 1U];
    const char *pId;

    (void) pTopic;
    (void) topicLength;
    assert_int_equal(result, DEFENDER_MQTT_SUCCESS);
    assert_true(payloadLength < sizeof(text));
    (void) memcpy(text, pPayload, payloadLength);
    text[payloadLength] = '\0';
    pId = strstr(text, "\"report_id\":");
    assert_non_null(pId);
    (void) accept(f, strtoull(pId + strlen("\"report_id\":"), NULL, 10));
}

/**
 * @brief The header allows event functions inside interface functions: a response
 * delivered from inside pfPublish applies to the report being published.
 */
static void test_Defender_OnMessage_ResponseInsidePublish(void **state)
{
    Fixture_t *f = *state;

    f->mqtt.pfPublishHook = acceptInside;
    f->mqtt.pHookContext = f;
    startAndPublishFirstAny(f);
    assert_int_equal(Defender_GetReportStatus(&f->ctx), eDefenderRepSuccess);
    assert_int_equal(counters(f).reportsAccepted, 1);
    (void) advance(f, ACK_MS);
    assert_int_equal(counters(f).reportsNoAck, 0);
    assert_int_equal(Defender_GetReportStatus(&f->ctx), eDefenderRepSuccess);
    assert_int_equal(f->eventCount, 2);
    assert_int_equal(f->events[0].event, DEFENDER_EVENT_ACCEPTED);
    assert_int_equal(f->events[1].event, DEFENDER_EVENT_PUBLISHED);

    /* A failed publish after all is NotSent, nothing in flight. */
    f->mqtt.pfPublishHook = NULL;
    FakeMqtt_QueuePublishResult(&f->mqtt, DEFENDER_MQTT_FAILURE);
    (void) advance(f, PERIOD_MS - ACK_MS);
    assert_int_equal(Defender_GetReportStatus(&f->ctx), eDefenderRepNotSent);
    (void) advance(f, ACK_MS);
    assert_int_equal(counters(f).reportsNoAck, 0);
    assert_int_equal(accept(f, lastInfo(f).reportId), DEFENDER_NOT_FOUND);
}

/** @brief A publish call that fails: NotSent (publish failed / not connected). */
static void test_Defender_Process_PublishFails(void **state)
{
    Fixture_t *f = *state;

    FakeMqtt_QueuePublishResult(&f->mqtt, DEFENDER_MQTT_FAILURE);
    connectAndStart(f);
    (void) process(f);
    assert_int_equal(f->mqtt.publishCalls, 1);
    assert_int_equal(Defender_GetReportStatus(&f->ctx), eDefenderRepNotSent);
    assert_int_equal(lastInfo(f).notSentReason, DEFENDER_NOT_SENT_PUBLISH_FAILED);
    assert_int_equal(counters(f).reportsPublished, 0);
    /* No report in flight: a response for that id is not applied. */
    assert_int_equal(deliver(f, TOPIC_ACCEPTED, R1), DEFENDER_NOT_FOUND);
    assert_int_equal(Defender_GetReportStatus(&f->ctx), eDefenderRepNotSent);

    FakeMqtt_QueuePublishResult(&f->mqtt, DEFENDER_MQTT_NOT_CONNECTED);
    (void) advance(f, PERIOD_MS);
    assert_int_equal(lastInfo(f).notSentReason, DEFENDER_NOT_SENT_NOT_CONNECTED);
    assert_int_equal(f->mqtt.publishCalls, 2);

    /* The connection comes back (session kept): the next report goes out. */
    Defender_OnConnectionChanged(&f->ctx, true, true);
    (void) advance(f, PERIOD_MS);
    assert_int_equal(f->mqtt.publishSucceeded, 1);
    assert_int_equal(Defender_GetReportStatus(&f->ctx), eDefenderRepNoAck);
}

/** @brief A report that does not fit even without lists: NotSent (encode failed). */
static void test_Defender_Process_EncodeFails(void **state)
{
    Fixture_t *f = *state;

    f->settings.reportBufferSize = 40U; /* the minimal long-key report is 67 bytes */
    reinit(f);
    connectAndStart(f);
    (void) process(f);
    assert_int_equal(f->mqtt.publishCalls, 0);
    assert_int_equal(Defender_GetReportStatus(&f->ctx), eDefenderRepNotSent);
    assert_int_equal(lastInfo(f).notSentReason, DEFENDER_NOT_SENT_ENCODE_FAILED);
    assert_int_equal(counters(f).reportsNotSent, 1);
    assert_int_equal(lastEvent(f)->event, DEFENDER_EVENT_NOT_SENT);
    assert_int_equal(lastEvent(f)->info.notSentReason, DEFENDER_NOT_SENT_ENCODE_FAILED);
    /* The report callback has the reason: the core does not log it too. */
    assert_int_equal(logsAt(f, DEFENDER_LOG_ERROR), 0U);

    /* Without a report callback, the core says why. */
    f->interfaces.pfReport = NULL;
    reinit(f);
    f->logCount = 0U;
    connectAndStart(f);
    (void) process(f);
    assert_int_equal(logsAt(f, DEFENDER_LOG_ERROR), 1U);
    assert_string_equal(f->logs[0].pMessage, "report does not fit the report buffer");
}

/** @brief A report too long with its lists: fewer entries listed, true totals kept. */
static void test_Defender_Process_ListsShrinkToFit(void **state)
{
    Fixture_t *f = *state;
    cJSON *pRoot;
    cJSON *pPorts;
    uint16_t i;

    for (i = 0U; i < 50U; i++)
    {
        FakeSource_AddTcpPort(&f->source, (uint16_t) (1000U + i), "eth0");
    }
    f->settings.reportBufferSize = 400U;
    reinit(f);
    startAndPublishFirst(f);
    assert_true(f->mqtt.lastPayloadLength <= 400U);
    pRoot = published(f);
    pPorts = path(pRoot, "metrics", "listening_tcp_ports", "ports", NULL);
    assert_true(cJSON_GetArraySize(pPorts) < 50);
    assert_int_equal(path(pRoot, "metrics", "listening_tcp_ports", "total", NULL)->valuedouble, 50);
    assert_int_equal(counters(f).listEntriesDropped, 50 - cJSON_GetArraySize(pPorts));
    cJSON_Delete(pRoot);
}

/* ------------------------------------------------------------------------- */
/* Responses                                                                  */
/* ------------------------------------------------------------------------- */

/** @brief NoAck while in flight and after the timeout; NO_ACK event at the deadline. */
static void test_Defender_Process_NoAckTimeout(void **state)
{
    Fixture_t *f = *state;
    uint32_t next;

    connectAndStart(f);
    next = process(f);
    assert_int_equal(next, ACK_MS);
    assert_int_equal(lastEventIndex(f, DEFENDER_EVENT_PUBLISHED), 0);
    next = advance(f, ACK_MS - 1U);
    assert_int_equal(next, 1);
    assert_int_equal(lastEventIndex(f, DEFENDER_EVENT_NO_ACK), -1);
    assert_int_equal(Defender_GetReportStatus(&f->ctx), eDefenderRepNoAck);
    next = advance(f, 1U);
    assert_int_equal(next, PERIOD_MS - ACK_MS);
    assert_int_equal(lastEventIndex(f, DEFENDER_EVENT_NO_ACK), 1);
    assert_int_equal(f->events[1].info.reportId, T0_WALL);
    assert_int_equal(f->events[1].info.status, eDefenderRepNoAck);
    assert_int_equal(Defender_GetReportStatus(&f->ctx), eDefenderRepNoAck);
    assert_int_equal(counters(f).reportsNoAck, 1);
    (void) advance(f, 1000U);
    assert_int_equal(counters(f).reportsNoAck, 1);
}

/** @brief R1: matching ACCEPTED gives Success. */
static void test_Defender_OnMessage_AcceptedJson(void **state)
{
    Fixture_t *f = *state;

    startAndPublishFirst(f);
    assert_int_equal(deliver(f, TOPIC_ACCEPTED, R1), DEFENDER_SUCCESS);
    assert_int_equal(Defender_GetReportStatus(&f->ctx), eDefenderRepSuccess);
    assert_int_equal(counters(f).reportsAccepted, 1);
    assert_int_equal(lastEvent(f)->event, DEFENDER_EVENT_ACCEPTED);
    assert_int_equal(lastEvent(f)->info.status, eDefenderRepSuccess);
    assert_int_equal(lastEvent(f)->info.reportId, T0_WALL);

    /* No NoAck later; a repeat of the response is for no report in flight. */
    (void) advance(f, ACK_MS);
    assert_int_equal(counters(f).reportsNoAck, 0);
    assert_int_equal(deliver(f, TOPIC_ACCEPTED, R1), DEFENDER_NOT_FOUND);
    assert_int_equal(counters(f).responsesForeign, 1);
    assert_int_equal(counters(f).reportsAccepted, 1);
    assert_int_equal(Defender_GetReportStatus(&f->ctx), eDefenderRepSuccess);
}

/** @brief R2: matching REJECTED gives Rejected with ErrorCode/ErrorMessage kept. */
static void test_Defender_OnMessage_RejectedJson(void **state)
{
    Fixture_t *f = *state;
    DefenderReportInfo_t info;

    startAndPublishFirst(f);
    assert_int_equal(deliver(f, TOPIC_REJECTED, R2), DEFENDER_SUCCESS);
    info = lastInfo(f);
    assert_int_equal(info.status, eDefenderRepRejected);
    assert_string_equal(info.errorCode, "InvalidPayload");
    assert_string_equal(info.errorMessage, "Malformed metrics report");
    assert_int_equal(counters(f).reportsRejected, 1);
    assert_int_equal(counters(f).reportsThrottled, 0);
    assert_int_equal(lastEvent(f)->event, DEFENDER_EVENT_REJECTED);
    assert_string_equal(lastEvent(f)->info.errorCode, "InvalidPayload");

    /* Not throttled: the schedule is unchanged. */
    (void) advance(f, PERIOD_MS);
    assert_int_equal(f->mqtt.publishSucceeded, 2);
    /* The new report clears the old error. */
    info = lastInfo(f);
    assert_int_equal(info.status, eDefenderRepNoAck);
    assert_string_equal(info.errorCode, "");
    assert_string_equal(info.errorMessage, "");
}

/** @brief R3 (no reportId) applies to the report in flight (PD-24). */
static void test_Defender_OnMessage_NoReportIdAppliesInFlight(void **state)
{
    Fixture_t *f = *state;

    startAndPublishFirst(f);
    assert_int_equal(deliver(f, TOPIC_REJECTED, R3), DEFENDER_SUCCESS);
    assert_int_equal(Defender_GetReportStatus(&f->ctx), eDefenderRepRejected);
    assert_string_equal(lastInfo(f).errorCode, "InvalidPayload");

    /* None in flight any more: the same response is ignored. */
    assert_int_equal(deliver(f, TOPIC_REJECTED, R3), DEFENDER_NOT_FOUND);
    assert_int_equal(counters(f).reportsRejected, 1);

    /* Nor does one apply after the timeout (only a response with the id is late). */
    (void) advance(f, PERIOD_MS);
    (void) advance(f, ACK_MS);
    assert_int_equal(
        deliver(f, TOPIC_ACCEPTED, "{\"thingName\":\"sensor-42\",\"status\":\"ACCEPTED\"}"),
        DEFENDER_NOT_FOUND);
    assert_int_equal(Defender_GetReportStatus(&f->ctx), eDefenderRepNoAck);
}

/** @brief A response for another id, or another thing, is ignored and counted. */
static void test_Defender_OnMessage_ForeignIgnored(void **state)
{
    Fixture_t *f = *state;

    startAndPublishFirst(f);
    assert_int_equal(accept(f, T0_WALL - 1U), DEFENDER_NOT_FOUND);
    assert_int_equal(accept(f, T0_WALL + 1U), DEFENDER_NOT_FOUND);
    assert_int_equal(deliver(f, TOPIC_ACCEPTED,
                             "{\"thingName\":\"sensor-43\",\"reportId\":1735689600000,"
                             "\"status\":\"ACCEPTED\"}"),
                     DEFENDER_NOT_FOUND);
    assert_int_equal(counters(f).responsesForeign, 3);
    assert_int_equal(Defender_GetReportStatus(&f->ctx), eDefenderRepNoAck);
    assert_int_equal(accept(f, T0_WALL), DEFENDER_SUCCESS);
    assert_int_equal(Defender_GetReportStatus(&f->ctx), eDefenderRepSuccess);
}

/** @brief Malformed responses and a status contradicting the topic: counted, no change. */
static void test_Defender_OnMessage_MalformedIgnored(void **state)
{
    Fixture_t *f = *state;

    startAndPublishFirst(f);
    assert_int_equal(deliver(f, TOPIC_ACCEPTED, "not json"), DEFENDER_MALFORMED);
    assert_int_equal(deliver(f, TOPIC_ACCEPTED, "{\"reportId\":1735689600000}"),
                     DEFENDER_MALFORMED);
    assert_int_equal(deliver(f, TOPIC_ACCEPTED, R2), DEFENDER_MALFORMED);
    assert_int_equal(deliver(f, TOPIC_REJECTED, R1), DEFENDER_MALFORMED);
    assert_int_equal(
        deliver(f, TOPIC_ACCEPTED, "{\"reportId\":1735689600000,\"status\":\"ACCEPTED\"} x"),
        DEFENDER_MALFORMED);
    assert_int_equal(counters(f).responsesMalformed, 5);
    assert_int_equal(counters(f).responsesForeign, 0);
    assert_int_equal(Defender_GetReportStatus(&f->ctx), eDefenderRepNoAck);
    assert_int_equal(f->eventCount, 1);
}

/** @brief A late response (after the timeout, before the next publish) still applies. */
static void test_Defender_OnMessage_LateResponseApplies(void **state)
{
    Fixture_t *f = *state;

    startAndPublishFirst(f);
    (void) advance(f, ACK_MS + 5000U);
    assert_int_equal(counters(f).reportsNoAck, 1);
    assert_int_equal(deliver(f, TOPIC_ACCEPTED, R1), DEFENDER_SUCCESS);
    assert_int_equal(Defender_GetReportStatus(&f->ctx), eDefenderRepSuccess);
    assert_int_equal(counters(f).responsesLate, 1);
    assert_int_equal(counters(f).reportsAccepted, 1);
    /* Only once. */
    assert_int_equal(deliver(f, TOPIC_ACCEPTED, R1), DEFENDER_NOT_FOUND);
    assert_int_equal(counters(f).responsesLate, 1);

    /* A late REJECTED too. */
    (void) advance(f, PERIOD_MS - ACK_MS - 5000U);
    assert_int_equal(f->mqtt.publishSucceeded, 2);
    (void) advance(f, ACK_MS);
    assert_int_equal(reject(f, lastInfo(f).reportId, "InvalidPayload"), DEFENDER_SUCCESS);
    assert_int_equal(Defender_GetReportStatus(&f->ctx), eDefenderRepRejected);
    assert_int_equal(counters(f).responsesLate, 2);
}

/** @brief After the next publish, a late response for the old id is foreign. */
static void test_Defender_OnMessage_LateAfterNextPublishForeign(void **state)
{
    Fixture_t *f = *state;

    startAndPublishFirst(f);
    (void) advance(f, PERIOD_MS);
    assert_int_equal(f->mqtt.publishSucceeded, 2);
    assert_int_equal(deliver(f, TOPIC_ACCEPTED, R1), DEFENDER_NOT_FOUND);
    assert_int_equal(counters(f).responsesForeign, 1);
    assert_int_equal(counters(f).responsesLate, 0);
    assert_int_equal(Defender_GetReportStatus(&f->ctx), eDefenderRepNoAck);
}

/** @brief After a NotSent report, a late response for the previous id does not apply. */
static void test_Defender_OnMessage_LateAfterNotSentIgnored(void **state)
{
    Fixture_t *f = *state;

    startAndPublishFirst(f);
    (void) advance(f, ACK_MS);
    FakeMqtt_QueuePublishResult(&f->mqtt, DEFENDER_MQTT_FAILURE);
    (void) advance(f, PERIOD_MS - ACK_MS);
    assert_int_equal(Defender_GetReportStatus(&f->ctx), eDefenderRepNotSent);
    assert_int_equal(deliver(f, TOPIC_ACCEPTED, R1), DEFENDER_NOT_FOUND);
    assert_int_equal(Defender_GetReportStatus(&f->ctx), eDefenderRepNotSent);
}

/** @brief Throttled postpones the next report by a full period from the rejection. */
static void test_Defender_OnMessage_ThrottledPostpones(void **state)
{
    Fixture_t *f = *state;
    uint32_t next;

    startAndPublishFirst(f);
    FakeClock_Advance(&f->clock, 5000U);
    assert_int_equal(deliver(f, TOPIC_REJECTED, R4), DEFENDER_SUCCESS);
    assert_int_equal(Defender_GetReportStatus(&f->ctx), eDefenderRepRejected);
    assert_string_equal(lastInfo(f).errorCode, "Throttled");
    assert_string_equal(lastInfo(f).errorMessage, "Metrics report rate exceeded");
    assert_int_equal(counters(f).reportsThrottled, 1);
    next = process(f);
    assert_int_equal(next, PERIOD_MS);

    (void) advance(f, PERIOD_MS - 5000U); /* T0 + period: would be due without Throttled */
    assert_int_equal(f->mqtt.publishCalls, 1);
    (void) advance(f, 4999U);
    assert_int_equal(f->mqtt.publishCalls, 1);
    (void) advance(f, 1U);
    assert_int_equal(f->mqtt.publishCalls, 2);

    /* Afterwards the normal period applies again, from that publish. */
    (void) advance(f, PERIOD_MS - 1U);
    assert_int_equal(f->mqtt.publishCalls, 2);
    (void) advance(f, 1U);
    assert_int_equal(f->mqtt.publishCalls, 3);
}

/** @brief Throttles the first report 5 s after it went out, then stops the agent.
 * @param[in,out] f Fixture. */
static void throttleThenStop(Fixture_t *f)
{
    startAndPublishFirst(f);
    FakeClock_Advance(&f->clock, 5000U);
    assert_int_equal(deliver(f, TOPIC_REJECTED, R4), DEFENDER_SUCCESS);
    assert_int_equal(Defender_Stop(&f->ctx), DEFENDER_SUCCESS);
}

/** @brief A Stop and Start do not cut a Throttled postponement short (10.5): the first
 * report after the Start waits for one period after the rejection. */
static void test_Defender_Start_KeepsThrottledPostponement(void **state)
{
    Fixture_t *f = *state;

    throttleThenStop(f);
    FakeClock_Advance(&f->clock, 60000U);
    connectAndStart(f);
    assert_int_equal(process(f), PERIOD_MS - 60000U);
    assert_int_equal(f->mqtt.publishCalls, 1);
    (void) advance(f, PERIOD_MS - 60001U);
    assert_int_equal(f->mqtt.publishCalls, 1);
    (void) advance(f, 1U);
    assert_int_equal(f->mqtt.publishCalls, 2);
}

/** @brief A period shortened while stopped does not cut a Throttled postponement short
 * either (10.5: one full period, as it was, after the rejection), as it does not while
 * running. */
static void test_Defender_Start_ShorterPeriodKeepsThrottledPostponement(void **state)
{
    Fixture_t *f = *state;

    SKIP_UNDER_FLOOR();

    throttleThenStop(f);
    assert_int_equal(Defender_SetPeriod(&f->ctx, 60U), DEFENDER_SUCCESS);
    FakeClock_Advance(&f->clock, 10000U);
    connectAndStart(f);
    assert_int_equal(process(f), PERIOD_MS - 10000U);
    (void) advance(f, PERIOD_MS - 10001U);
    assert_int_equal(f->mqtt.publishCalls, 1);
    (void) advance(f, 1U);
    assert_int_equal(f->mqtt.publishCalls, 2);
    /* Then the new period. */
    (void) advance(f, 60000U);
    assert_int_equal(f->mqtt.publishCalls, 3);
}

/** @brief PD-16: only the ErrorCode `Throttled` itself postpones (10.5); codes that merely
 * look like it are plain rejections and leave the schedule as it was. */
static void test_Defender_OnMessage_OnlyThrottledPostpones(void **state)
{
    Fixture_t *f = *state;
    static const char *const codes[] = {"Throttle", "ThrottledX", "throttled", "Throt"};
    size_t i;

    startAndPublishFirst(f);
    for (i = 0U; i < (sizeof(codes) / sizeof(codes[0])); i++)
    {
        FakeClock_Advance(&f->clock, 5000U);
        assert_int_equal(reject(f, lastInfo(f).reportId, codes[i]), DEFENDER_SUCCESS);
        assert_int_equal(Defender_GetReportStatus(&f->ctx), eDefenderRepRejected);
        assert_string_equal(lastInfo(f).errorCode, codes[i]);
        /* Due one period after the previous publish, 5 s ago. */
        assert_int_equal(process(f), PERIOD_MS - 5000U);
        (void) advance(f, PERIOD_MS - 5000U);
        assert_int_equal(f->mqtt.publishSucceeded, i + 2U);
    }
    assert_int_equal(counters(f).reportsThrottled, 0);
    assert_int_equal(counters(f).reportsRejected, 4);
}

/** @brief 10.5: a period changed after a Throttled rejection does not bring the next report
 * before the end of the postponement (one full period, as it was, after the rejection). */
static void test_Defender_SetPeriod_AfterThrottledKeepsPostponement(void **state)
{
    Fixture_t *f = *state;

    SKIP_UNDER_FLOOR();

    startAndPublishFirst(f);
    FakeClock_Advance(&f->clock, 5000U);
    assert_int_equal(deliver(f, TOPIC_REJECTED, R4), DEFENDER_SUCCESS);
    assert_int_equal(Defender_SetPeriod(&f->ctx, 60U), DEFENDER_SUCCESS);
    assert_int_equal(process(f), PERIOD_MS);
    (void) advance(f, PERIOD_MS - 1U);
    assert_int_equal(f->mqtt.publishCalls, 1);
    (void) advance(f, 1U);
    assert_int_equal(f->mqtt.publishCalls, 2);
    /* Then the new period. */
    (void) advance(f, 60000U);
    assert_int_equal(f->mqtt.publishCalls, 3);
}

/** @brief A late Throttled (after the timeout, before the next publish, 10.4) postpones the
 * next report a full period from its arrival, like one in time (10.5). */
static void test_Defender_OnMessage_LateThrottledPostpones(void **state)
{
    Fixture_t *f = *state;

    startAndPublishFirst(f);
    (void) advance(f, ACK_MS + 20000U);
    assert_int_equal(counters(f).reportsNoAck, 1);
    assert_int_equal(deliver(f, TOPIC_REJECTED, R4), DEFENDER_SUCCESS);
    assert_int_equal(counters(f).responsesLate, 1);
    assert_int_equal(counters(f).reportsThrottled, 1);
    assert_int_equal(process(f), PERIOD_MS);
    (void) advance(f, PERIOD_MS - 1U);
    assert_int_equal(f->mqtt.publishCalls, 1);
    (void) advance(f, 1U);
    assert_int_equal(f->mqtt.publishCalls, 2);
}

/** @brief A Start after the postponement is over reports at once, also after a stop long
 * enough for the 32-bit clock to wrap to just before the old postponement's end. */
static void test_Defender_Start_AfterThrottledPostponementOver(void **state)
{
    Fixture_t *f = *state;

    throttleThenStop(f);
    FakeClock_Advance(&f->clock, PERIOD_MS);
    connectAndStart(f);
    (void) process(f);
    assert_int_equal(f->mqtt.publishCalls, 2);

    assert_int_equal(reject(f, lastInfo(f).reportId, "Throttled"), DEFENDER_SUCCESS);
    assert_int_equal(Defender_Stop(&f->ctx), DEFENDER_SUCCESS);
    /* 2^32 ms less 1 s later, the old end is a period and a second ahead in 32-bit time. */
    FakeClock_Advance(&f->clock, 0x100000000ULL - 1000U);
    connectAndStart(f);
    (void) process(f);
    assert_int_equal(f->mqtt.publishCalls, 3);
}

/** @brief Warnings logged with this exact text. */
static size_t warningsSaying(const Fixture_t *f, const char *pText)
{
    size_t count = 0U;
    size_t i;

    for (i = 0U; (i < f->logCount) && (i < (sizeof(f->logs) / sizeof(f->logs[0]))); i++)
    {
        if ((f->logs[i].level == DEFENDER_LOG_WARN) && (strcmp(f->logs[i].pMessage, pText) == 0))
        {
            count++;
        }
    }
    return count;
}

/** @brief What became of a report (NoAck, Rejected, Throttled, NotSent) is logged by the core
 * only for an application that takes no report events: one that does logs them itself, with
 * the id, codes and reason, and got each line twice. */
static void test_Defender_Log_ReportEventsOnlyWithoutCallback(void **state)
{
    Fixture_t *f = *state;
    static const char *const texts[] = {
        "no response to the report within the timeout", "report rejected",
        "report throttled: next report postponed a period", "report not sent"};
    size_t round;
    size_t i;

    for (round = 0U; round < 2U; round++)
    {
        /* Round 0 with the report callback (the fixture's), round 1 without. */
        f->interfaces.pfReport = (round == 0U) ? f->interfaces.pfReport : NULL;
        reinit(f);
        FakeMqtt_ClearCalls(&f->mqtt);
        f->logCount = 0U;
        startAndPublishFirstAny(f);
        (void) advance(f, ACK_MS);
        (void) advance(f, PERIOD_MS - ACK_MS);
        assert_int_equal(reject(f, lastInfo(f).reportId, "Invalid"), DEFENDER_SUCCESS);
        (void) advance(f, PERIOD_MS);
        assert_int_equal(reject(f, lastInfo(f).reportId, "Throttled"), DEFENDER_SUCCESS);
        Defender_OnConnectionChanged(&f->ctx, false, false);
        (void) advance(f, PERIOD_MS);
        (void) advance(f, ACK_MS);
        assert_int_equal(counters(f).reportsNoAck, 1);
        assert_int_equal(counters(f).reportsRejected, 2);
        assert_int_equal(counters(f).reportsNotSent, 1);
        for (i = 0U; i < (sizeof(texts) / sizeof(texts[0])); i++)
        {
            assert_int_equal(warningsSaying(f, texts[i]), round);
        }
        assert_int_equal(Defender_Stop(&f->ctx), DEFENDER_SUCCESS);
    }
}

/** @brief Hours in the long-running schedule tests (60 days: past 2^31 ms, and the 32-bit
 * monotonic clock wraps once, at 49.7 days). */
#define LONG_RUN_HOURS (60U * 24U)

/** @brief Runs the agent event-driven (the clock advances by the wait Defender_Process
 * asks for) for `hours` hours with an hourly period, accepting each report at once, and
 * checks that reports go out exactly one period apart.
 * @param[in,out] f Fixture, started, the latest report published.
 * @param[in] hours How long.
 */
static void runHourlyAccepting(Fixture_t *f, uint32_t hours)
{
    uint64_t now = 0U;
    uint64_t lastPublishAt = 0U;
    uint32_t published = f->mqtt.publishSucceeded;
    const uint32_t before = published;
    uint32_t wait;
    size_t steps = 0U;

    assert_int_equal(accept(f, lastInfo(f).reportId), DEFENDER_SUCCESS);
    wait = process(f);
    while (now < ((uint64_t) hours * 3600000U))
    {
        assert_true((wait > 0U) && (wait <= 3600000U));
        now += wait;
        wait = advance(f, wait);
        if (f->mqtt.publishSucceeded != published)
        {
            assert_int_equal(f->mqtt.publishSucceeded, published + 1U);
            assert_int_equal(now - lastPublishAt, 3600000U);
            lastPublishAt = now;
            published = f->mqtt.publishSucceeded;
            assert_int_equal(accept(f, lastInfo(f).reportId), DEFENDER_SUCCESS);
            wait = process(f);
        }
        assert_true(++steps < (4U * hours));
    }
    assert_int_equal(published - before, hours);
}

/** @brief Once a Throttled postponement is over it never comes back: 60 days of hourly
 * reports after one, exactly an hour apart (the postponement's time, compared in 32-bit
 * time, flipped to "in the future" after 2^31 ms and made a burst, then weeks of silence). */
static void test_Defender_Process_ThrottledOnceThenMonths(void **state)
{
    Fixture_t *f = *state;

    assert_int_equal(Defender_SetPeriod(&f->ctx, 3600U), DEFENDER_SUCCESS);
    startAndPublishFirst(f);
    assert_int_equal(reject(f, lastInfo(f).reportId, "Throttled"), DEFENDER_SUCCESS);
    /* The throttled report's successor one period after the rejection, then hourly. */
    assert_int_equal(process(f), 3600000U);
    assert_int_equal(advance(f, 3600000U) > 0U, true);
    assert_int_equal(f->mqtt.publishSucceeded, 2);
    runHourlyAccepting(f, LONG_RUN_HOURS);
    assert_int_equal(counters(f).reportsThrottled, 1);
}

/** @brief A connection down for weeks: NotSent once a period all along, and the report
 * goes out as soon as the connection is back (the due time, compared in 32-bit time,
 * used to look weeks ahead after 2^31 ms). */
static void test_Defender_Process_OfflineForWeeks(void **state)
{
    Fixture_t *f = *state;
    uint64_t now = 0U;
    uint32_t wait;
    uint32_t notSent = 0U;

    assert_int_equal(Defender_SetPeriod(&f->ctx, 3600U), DEFENDER_SUCCESS);
    startAndPublishFirst(f);
    assert_int_equal(accept(f, lastInfo(f).reportId), DEFENDER_SUCCESS);
    Defender_OnConnectionChanged(&f->ctx, false, false);
    wait = process(f);
    while (now < (30ULL * 86400000ULL))
    {
        assert_true((wait > 0U) && (wait <= 3600000U));
        now += wait;
        f->eventCount = 0U;
        wait = advance(f, wait);
        notSent += (f->eventCount == 1U) && (f->events[0].event == DEFENDER_EVENT_NOT_SENT);
    }
    /* One NotSent per period from the first due report on (30 days: 720 periods). */
    assert_int_equal(notSent, 720U);
    assert_int_equal(Defender_GetReportStatus(&f->ctx), eDefenderRepNotSent);
    assert_int_equal(f->mqtt.publishSucceeded, 1);

    /* Back: the due report goes out at once, and hourly after it. */
    Defender_OnConnectionChanged(&f->ctx, true, false);
    (void) process(f);
    assert_int_equal(f->mqtt.publishSucceeded, 2);
    runHourlyAccepting(f, 24U * 30U);
}

/** @brief A shorter period while a report is blocked (subscription refused): NotSent and the
 * subscription retry come once per new period, not only after the old one. */
static void test_Defender_SetPeriod_ShorterWhileBlocked(void **state)
{
    Fixture_t *f = *state;
    uint32_t wait;
    size_t subscribes;

    assert_int_equal(Defender_SetPeriod(&f->ctx, 3600U), DEFENDER_SUCCESS);
    f->mqtt.subscribeResult = DEFENDER_MQTT_FAILURE;
    connectAndStart(f);
    (void) process(f);
    assert_int_equal(lastInfo(f).status, eDefenderRepNotSent);
    subscribes = f->mqtt.subscribeCalls;
    f->eventCount = 0U;

    assert_int_equal(Defender_SetPeriod(&f->ctx, 60U), DEFENDER_SUCCESS);
    wait = process(f);
    assert_true(wait <= 60000U);
    (void) advance(f, 60000U);
    assert_int_equal(f->eventCount, 1U);
    assert_int_equal(f->events[0].event, DEFENDER_EVENT_NOT_SENT);
    assert_true(f->mqtt.subscribeCalls > subscribes);
    assert_int_equal(f->mqtt.publishCalls, 0);
}

/** @brief A new period while a report is due and cannot go out: it stays due (and goes out
 * as soon as it can), rather than being moved to a period after the last attempt. */
static void test_Defender_SetPeriod_WhileReportBlocked(void **state)
{
    Fixture_t *f = *state;

    startAndPublishFirst(f);
    assert_int_equal(accept(f, lastInfo(f).reportId), DEFENDER_SUCCESS);
    Defender_OnConnectionChanged(&f->ctx, false, false);
    (void) advance(f, PERIOD_MS + ACK_MS);
    assert_int_equal(Defender_GetReportStatus(&f->ctx), eDefenderRepNotSent);
    assert_int_equal(Defender_SetPeriod(&f->ctx, 3600U), DEFENDER_SUCCESS);
    Defender_OnConnectionChanged(&f->ctx, true, false);
    (void) advance(f, 1U);
    assert_int_equal(f->mqtt.publishSucceeded, 2);
    /* From that report on, the new period. */
    assert_int_equal(process(f), ACK_MS);
    assert_int_equal(accept(f, lastInfo(f).reportId), DEFENDER_SUCCESS);
    assert_int_equal(process(f), 3600000U);
}

/** @brief CBOR: V5 accepted, V6 throttled, V7 (no reportId) rejected. */
static void test_Defender_OnMessage_Cbor(void **state)
{
    Fixture_t *f = *state;

    f->settings.format = DEFENDER_FORMAT_CBOR;
    f->settings.keys = DEFENDER_KEYS_SHORT;
    reinit(f);
    f->clock.wallFollows = false;
    startAndPublishFirst(f);
    assert_string_equal(f->mqtt.lastPublishTopic, CBOR_REPORT);
    assert_int_equal(f->mqtt.lastPayload[0] & 0xE0U, 0xA0U); /* a CBOR map */
    assert_string_equal(FakeMqtt_GetCall(&f->mqtt, FAKE_MQTT_SUBSCRIBE, 0U)->topic, CBOR_ACCEPTED);
    assert_string_equal(FakeMqtt_GetCall(&f->mqtt, FAKE_MQTT_SUBSCRIBE, 1U)->topic, CBOR_REJECTED);

    /* JSON responses are not for this agent; JSON text on the CBOR topic is malformed. */
    assert_int_equal(deliver(f, TOPIC_ACCEPTED, R1), DEFENDER_NOT_FOUND);
    assert_int_equal(deliver(f, CBOR_ACCEPTED, R1), DEFENDER_MALFORMED);
    assert_int_equal(deliverHex(f, CBOR_REJECTED, V5), DEFENDER_MALFORMED);

    assert_int_equal(deliverHex(f, CBOR_ACCEPTED, V5), DEFENDER_SUCCESS);
    assert_int_equal(Defender_GetReportStatus(&f->ctx), eDefenderRepSuccess);

    /* Second report (id T0_WALL + 1 with the wall clock frozen): V7 applies in flight. */
    (void) advance(f, PERIOD_MS);
    assert_int_equal(lastInfo(f).reportId, T0_WALL + 1U);
    assert_int_equal(deliverHex(f, CBOR_REJECTED, V6), DEFENDER_NOT_FOUND); /* id T0_WALL */
    assert_int_equal(deliverHex(f, CBOR_REJECTED, V7), DEFENDER_SUCCESS);
    assert_int_equal(Defender_GetReportStatus(&f->ctx), eDefenderRepRejected);
    assert_string_equal(lastInfo(f).errorCode, "InvalidPayload");
    assert_string_equal(lastInfo(f).errorMessage, "Malformed metrics report");

    /* V6 on a fresh context whose report id is T0_WALL: Throttled. */
    reinit(f);
    FakeMqtt_Init(&f->mqtt);
    startAndPublishFirst(f);
    assert_int_equal(deliverHex(f, CBOR_REJECTED, V6), DEFENDER_SUCCESS);
    assert_string_equal(lastInfo(f).errorCode, "Throttled");
    assert_int_equal(counters(f).reportsThrottled, 1);
}

/** @brief Responses while stopped are ignored; Stop abandons the report in flight. */
static void test_Defender_Stop_AbandonsInFlight(void **state)
{
    Fixture_t *f = *state;

    startAndPublishFirst(f);
    assert_int_equal(Defender_Stop(&f->ctx), DEFENDER_SUCCESS);
    assert_int_equal(f->mqtt.unsubscribeCalls, 2);
    assert_string_equal(FakeMqtt_GetCall(&f->mqtt, FAKE_MQTT_UNSUBSCRIBE, 0U)->topic,
                        TOPIC_ACCEPTED);
    assert_string_equal(FakeMqtt_GetCall(&f->mqtt, FAKE_MQTT_UNSUBSCRIBE, 1U)->topic,
                        TOPIC_REJECTED);
    assert_int_equal(Defender_GetReportStatus(&f->ctx), eDefenderRepNoAck);
    assert_int_equal(deliver(f, TOPIC_ACCEPTED, R1), DEFENDER_NOT_FOUND);
    assert_int_equal(counters(f).messagesIgnored, 1);
    assert_int_equal(Defender_GetReportStatus(&f->ctx), eDefenderRepNoAck);

    /* Without pfUnsubscribe, Stop still works. */
    f->interfaces.mqtt.pfUnsubscribe = NULL;
    reinit(f);
    FakeMqtt_Init(&f->mqtt);
    startAndPublishFirst(f);
    assert_int_equal(Defender_Stop(&f->ctx), DEFENDER_SUCCESS);
}

/* ------------------------------------------------------------------------- */
/* Schedule                                                                   */
/* ------------------------------------------------------------------------- */

/** @brief At most one report per period, measured from the previous publish. */
static void test_Defender_Process_OneReportPerPeriod(void **state)
{
    Fixture_t *f = *state;

    startAndPublishFirst(f);
    assert_int_equal(accept(f, T0_WALL), DEFENDER_SUCCESS);
    (void) advance(f, PERIOD_MS - 1U);
    assert_int_equal(f->mqtt.publishCalls, 1);
    (void) process(f);
    (void) process(f);
    assert_int_equal(f->mqtt.publishCalls, 1);
    /* Processed 7 s late: published then, and the next is a period after that. */
    (void) advance(f, 7001U);
    assert_int_equal(f->mqtt.publishCalls, 2);
    (void) advance(f, PERIOD_MS - 1U);
    assert_int_equal(f->mqtt.publishCalls, 2);
    (void) advance(f, 1U);
    assert_int_equal(f->mqtt.publishCalls, 3);
}

/** @brief Missed periods are skipped, not caught up. */
static void test_Defender_Process_MissedPeriodsSkipped(void **state)
{
    Fixture_t *f = *state;

    startAndPublishFirst(f);
    (void) advance(f, 10U * PERIOD_MS);
    assert_int_equal(f->mqtt.publishCalls, 2);
    (void) process(f);
    (void) process(f);
    assert_int_equal(f->mqtt.publishCalls, 2);
    assert_int_equal(counters(f).reportsNotSent, 0);
    (void) advance(f, PERIOD_MS - 1U);
    assert_int_equal(f->mqtt.publishCalls, 2);
    (void) advance(f, 1U);
    assert_int_equal(f->mqtt.publishCalls, 3);
}

/** @brief A period change while running applies from the last report. */
static void test_Defender_SetPeriod_WhileRunning(void **state)
{
    Fixture_t *f = *state;
    uint32_t next;

    SKIP_UNDER_FLOOR();

    startAndPublishFirst(f);
    (void) advance(f, 20000U);
    assert_int_equal(Defender_SetPeriod(&f->ctx, 60U), DEFENDER_SUCCESS);
    next = process(f);
    assert_int_equal(next, 40000U);
    (void) advance(f, 39999U);
    assert_int_equal(f->mqtt.publishCalls, 1);
    (void) advance(f, 1U);
    assert_int_equal(f->mqtt.publishCalls, 2);

    /* Longer again. */
    assert_int_equal(Defender_SetPeriod(&f->ctx, 600U), DEFENDER_SUCCESS);
    (void) advance(f, 599999U);
    assert_int_equal(f->mqtt.publishCalls, 2);
    (void) advance(f, 1U);
    assert_int_equal(f->mqtt.publishCalls, 3);
}

/** @brief The acknowledgement timeout is capped at the period. */
static void test_Defender_SetAckTimeout_CappedAtPeriod(void **state)
{
    Fixture_t *f = *state;

    SKIP_UNDER_FLOOR();

    f->settings.periodSeconds = 5U;
    f->settings.ackTimeoutMs = 60000U;
    reinit(f);
    startAndPublishFirst(f);
    (void) advance(f, 4999U);
    assert_int_equal(counters(f).reportsNoAck, 0);
    (void) advance(f, 1U);
    assert_int_equal(counters(f).reportsNoAck, 1);
    assert_int_equal(f->mqtt.publishCalls, 2);
    assert_int_equal(f->events[1].event, DEFENDER_EVENT_NO_ACK);
    assert_int_equal(f->events[2].event, DEFENDER_EVENT_PUBLISHED);

    /* A shorter timeout set while running applies to the next report. */
    assert_int_equal(Defender_SetAckTimeout(&f->ctx, 1000U), DEFENDER_SUCCESS);
    (void) advance(f, 5000U);
    (void) advance(f, 999U);
    assert_int_equal(counters(f).reportsNoAck, 2);
    (void) advance(f, 1U);
    assert_int_equal(counters(f).reportsNoAck, 3);
}

/* ------------------------------------------------------------------------- */
/* Reconnect                                                                  */
/* ------------------------------------------------------------------------- */

/** @brief Reconnect without session: re-subscribes before the next publish. */
static void test_Defender_OnConnectionChanged_CleanSessionResubscribes(void **state)
{
    Fixture_t *f = *state;
    const FakeMqttCall_t *pSub;
    const FakeMqttCall_t *pPub;

    startAndPublishFirst(f);
    assert_int_equal(accept(f, T0_WALL), DEFENDER_SUCCESS);
    Defender_OnConnectionChanged(&f->ctx, false, false);
    (void) advance(f, 1000U);
    Defender_OnConnectionChanged(&f->ctx, true, false);
    FakeMqtt_ClearCalls(&f->mqtt);
    f->mqtt.subscribeResult = DEFENDER_MQTT_PENDING;
    (void) advance(f, PERIOD_MS - 1000U);
    assert_int_equal(FakeMqtt_CountCalls(&f->mqtt, FAKE_MQTT_SUBSCRIBE), 2);
    assert_int_equal(f->mqtt.publishCalls, 0);
    Defender_OnSubscribeResult(&f->ctx, TOPIC_ACCEPTED, strlen(TOPIC_ACCEPTED), true);
    Defender_OnSubscribeResult(&f->ctx, TOPIC_REJECTED, strlen(TOPIC_REJECTED), true);
    (void) process(f);
    pSub = FakeMqtt_GetCall(&f->mqtt, FAKE_MQTT_SUBSCRIBE, 1U);
    pPub = FakeMqtt_GetCall(&f->mqtt, FAKE_MQTT_PUBLISH, 0U);
    assert_non_null(pPub);
    assert_true(pPub->event > pSub->event);
}

/** @brief Reconnect with the session kept: no new subscriptions. */
static void test_Defender_OnConnectionChanged_SessionPresentKeeps(void **state)
{
    Fixture_t *f = *state;

    startAndPublishFirst(f);
    Defender_OnConnectionChanged(&f->ctx, false, false);
    Defender_OnConnectionChanged(&f->ctx, true, true);
    FakeMqtt_ClearCalls(&f->mqtt);
    (void) advance(f, PERIOD_MS);
    assert_int_equal(f->mqtt.subscribeCalls, 0);
    assert_int_equal(f->mqtt.publishSucceeded, 1);
}

/** @brief A SUBACK awaited when the connection drops is requested again. */
static void test_Defender_OnConnectionChanged_PendingLost(void **state)
{
    Fixture_t *f = *state;

    f->mqtt.subscribeResult = DEFENDER_MQTT_PENDING;
    connectAndStart(f);
    (void) process(f);
    assert_int_equal(f->mqtt.subscribeCalls, 2);
    Defender_OnConnectionChanged(&f->ctx, false, false);
    Defender_OnConnectionChanged(&f->ctx, true, true);
    f->mqtt.subscribeResult = DEFENDER_MQTT_SUCCESS;
    (void) advance(f, 1000U);
    assert_int_equal(f->mqtt.subscribeCalls, 4);
    assert_int_equal(f->mqtt.publishSucceeded, 1);
}

/* ------------------------------------------------------------------------- */
/* Report ids                                                                 */
/* ------------------------------------------------------------------------- */

/** @brief Publishes reports one period apart and returns their ids. */
static void publishIds(Fixture_t *f, uint64_t *pIds, size_t count)
{
    size_t i;

    for (i = 0U; i < count; i++)
    {
        if (i > 0U)
        {
            (void) advance(f, PERIOD_MS);
        }
        else
        {
            (void) process(f);
        }
        assert_int_equal(f->mqtt.lastPayloadLength > 0U, true);
        pIds[i] = publishedId(f);
        assert_int_equal(pIds[i], lastInfo(f).reportId);
    }
}

/** @brief Ids follow the wall clock when it is ahead, else last + 1. */
static void test_ReportId_WallClockAndIncrement(void **state)
{
    Fixture_t *f = *state;
    uint64_t ids[3];

    connectAndStart(f);
    publishIds(f, ids, 2U);
    assert_int_equal(ids[0], T0_WALL);
    assert_int_equal(ids[1], T0_WALL + PERIOD_MS);

    /* Wall clock stops: +1. */
    f->clock.wallFollows = false;
    (void) advance(f, PERIOD_MS);
    assert_int_equal(publishedId(f), T0_WALL + PERIOD_MS + 1U);
    /* Wall clock jumps back: still +1. */
    f->clock.wallMs = T0_WALL - 86400000ULL;
    (void) advance(f, PERIOD_MS);
    assert_int_equal(publishedId(f), T0_WALL + PERIOD_MS + 2U);
    /* Wall clock jumps ahead: followed. */
    f->clock.wallMs = T0_WALL + 86400000ULL;
    (void) advance(f, PERIOD_MS);
    assert_int_equal(publishedId(f), T0_WALL + 86400000ULL);
}

/** @brief A wall clock that is not set (before 2020) at the start, and no store: the ids
 * are seeded from the random source (10.2: an id from 1 would repeat the previous run's),
 * then increase by one; a wall clock set later does not take them back to its time. */
static void test_ReportId_WallClockNotSet(void **state)
{
    Fixture_t *f = *state;
    uint64_t ids[3];

    FakeClock_Init(&f->clock, T0_MONO, 0U);
    f->clock.randomValue = 0x0123456789ABCDEFULL;
    connectAndStart(f);
    publishIds(f, ids, 2U);
    assert_int_equal(f->clock.randomCalls, 1);
    assert_int_equal(ids[0], (0x0123456789ABCDEFULL >> 2) + 1U);
    assert_int_equal(ids[1], ids[0] + 1U);
    f->clock.wallFollows = false;
    f->clock.wallMs = WALL_VALID_MIN;
    (void) advance(f, PERIOD_MS);
    assert_int_equal(publishedId(f), ids[1] + 1U);
    assert_int_equal(f->clock.randomCalls, 1);
}

/** @brief 10.2: a wall-clock reading from 1577836800000 (2020-01-01) on is set, one below it
 * is not: at Start the first only gives the id, the second makes the agent seed from the
 * random source. */
static void test_ReportId_WallClockSetFrom2020(void **state)
{
    Fixture_t *f = *state;

    FakeClock_Init(&f->clock, T0_MONO, WALL_VALID_MIN);
    f->clock.randomValue = 0x0123456789ABCDEFULL;
    startAndPublishFirst(f);
    assert_int_equal(f->clock.randomCalls, 0);
    assert_int_equal(publishedId(f), WALL_VALID_MIN);

    FakeClock_Init(&f->clock, T0_MONO, WALL_VALID_MIN - 1U);
    f->clock.randomValue = 0x0123456789ABCDEFULL;
    reinit(f);
    FakeMqtt_Init(&f->mqtt);
    startAndPublishFirst(f);
    assert_int_equal(f->clock.randomCalls, 1);
    assert_int_equal(publishedId(f), (0x0123456789ABCDEFULL >> 2) + 1U);
}

/** @brief Without a random source either, ids start from 1 and follow the wall clock once it
 * is set (the port must document that it cannot keep ids unique across restarts). */
static void test_ReportId_WallClockNotSetNoRandom(void **state)
{
    Fixture_t *f = *state;
    uint64_t ids[3];

    FakeClock_Init(&f->clock, T0_MONO, 0U);
    f->interfaces.clock = FakeClock_Interface(&f->clock, true, false);
    reinit(f);
    connectAndStart(f);
    publishIds(f, ids, 2U);
    assert_int_equal(ids[0], 1);
    assert_int_equal(ids[1], 2);
    f->clock.wallFollows = false;
    f->clock.wallMs = WALL_VALID_MIN;
    (void) advance(f, PERIOD_MS);
    assert_int_equal(publishedId(f), WALL_VALID_MIN);
}

/** @brief A store that cannot be read at the first Start, with no wall clock: the ids come
 * from the random source (never from 1, which would overwrite the stored id with a lower
 * one); the store is read again at the next Start, and a stored id above the ids in use is
 * taken. A stored 2^63-1 is ignored (the next id would have nowhere to go). */
static void test_ReportId_StoreUnreadableAtStart(void **state)
{
    Fixture_t *f = *state;
    uint64_t first;

    f->interfaces.store = FakeStore_Interface(&f->store);
    f->interfaces.clock = FakeClock_Interface(&f->clock, false, true);
    f->clock.randomValue = 0x0000000400000000ULL;
    f->store.hasValue = true;
    f->store.value = 0x0000000200000000ULL;
    f->store.failLoad = true;
    reinit(f);
    startAndPublishFirst(f);
    first = publishedId(f);
    assert_int_equal(first, (0x0000000400000000ULL >> 2) + 1U);
    assert_int_equal(f->clock.randomCalls, 1);

    /* The store reads at the next Start: its id is above the seeded ones, so it is taken. */
    f->store.failLoad = false;
    f->store.value = 0x0000000300000000ULL;
    assert_int_equal(Defender_Stop(&f->ctx), DEFENDER_SUCCESS);
    connectAndStart(f);
    (void) process(f);
    assert_int_equal(f->store.loadCalls, 2);
    assert_int_equal(publishedId(f), 0x0000000300000001ULL);

    /* A stored 2^63-1 (garbage, or the end of the range) is not taken. */
    f->store.value = MAX_INT63;
    reinit(f);
    FakeMqtt_Init(&f->mqtt);
    startAndPublishFirst(f);
    assert_true(publishedId(f) < MAX_INT63);
}

/** @brief Ids are persisted before the publish call. */
static void test_ReportId_SavedBeforePublish(void **state)
{
    Fixture_t *f = *state;

    f->interfaces.store = FakeStore_Interface(&f->store);
    reinit(f);
    startAndPublishFirst(f);
    assert_int_equal(f->store.loadCalls, 1);
    assert_int_equal(f->store.saveCalls, 1);
    assert_int_equal(f->store.value, T0_WALL);
    assert_true(f->store.lastSaveEvent < f->mqtt.lastPublishEvent);
    (void) advance(f, PERIOD_MS);
    assert_int_equal(f->store.saveCalls, 2);
    assert_int_equal(f->store.value, T0_WALL + PERIOD_MS);
    assert_true(f->store.lastSaveEvent < f->mqtt.lastPublishEvent);
    assert_int_equal(counters(f).storeErrors, 0);

    /* A failing save is counted; the report still goes out. */
    f->store.failSave = true;
    (void) advance(f, PERIOD_MS);
    assert_int_equal(counters(f).storeErrors, 1);
    assert_int_equal(f->mqtt.publishSucceeded, 3);
}

/** @brief Ids continue across restarts (new context) through the store. */
static void test_ReportId_LoadedFromStore(void **state)
{
    Fixture_t *f = *state;

    f->interfaces.store = FakeStore_Interface(&f->store);
    f->store.hasValue = true;
    f->store.value = T0_WALL + 5000000ULL; /* ahead of the wall clock */
    reinit(f);
    startAndPublishFirst(f);
    assert_int_equal(publishedId(f), T0_WALL + 5000001ULL);

    /* "Restart": a new context, no wall clock. */
    f->interfaces.clock = FakeClock_Interface(&f->clock, false, true);
    reinit(f);
    FakeMqtt_Init(&f->mqtt);
    startAndPublishFirst(f);
    assert_int_equal(publishedId(f), T0_WALL + 5000002ULL);
    assert_int_equal(f->clock.randomCalls, 0);
}

/** @brief Ids continue across Stop/Start of one context. */
static void test_ReportId_StopStartContinues(void **state)
{
    Fixture_t *f = *state;

    f->clock.wallFollows = false;
    startAndPublishFirst(f);
    assert_int_equal(reject(f, T0_WALL, "InvalidPayload"), DEFENDER_SUCCESS);
    assert_int_equal(Defender_Stop(&f->ctx), DEFENDER_SUCCESS);
    assert_int_equal(Defender_Start(&f->ctx), DEFENDER_SUCCESS);
    assert_int_equal(Defender_GetReportStatus(&f->ctx), eDefenderRepInit);
    (void) process(f);
    assert_int_equal(f->mqtt.publishSucceeded, 2);
    /* A rejected report's id is never reused. */
    assert_int_equal(publishedId(f), T0_WALL + 1U);
}

/** @brief Neither wall clock nor store: seeded from pfRandom. */
static void test_ReportId_SeededFromRandom(void **state)
{
    Fixture_t *f = *state;
    uint64_t first;
    uint64_t second;

    f->interfaces.clock = FakeClock_Interface(&f->clock, false, true);
    f->clock.randomValue = 0x0123456789ABCDEFULL;
    reinit(f);
    startAndPublishFirst(f);
    first = publishedId(f);
    assert_int_equal(f->clock.randomCalls, 1);
    assert_true(first > 1000U);
    assert_true(first <= MAX_INT63);
    (void) advance(f, PERIOD_MS);
    assert_int_equal(publishedId(f), first + 1U);

    /* Another random value, another start; an all-ones value stays in range. */
    f->clock.randomValue = UINT64_MAX;
    reinit(f);
    FakeMqtt_Init(&f->mqtt);
    startAndPublishFirst(f);
    second = publishedId(f);
    assert_int_not_equal(second, first);
    assert_true(second <= MAX_INT63);
}

/* ------------------------------------------------------------------------- */
/* Network statistics                                                         */
/* ------------------------------------------------------------------------- */

/** @brief Enables only network statistics. */
static void statsOnly(Fixture_t *f)
{
    f->settings.metrics = DEFENDER_METRIC_NETWORK_STATS;
    reinit(f);
}

/** @brief The exact value of one network_stats field of the latest report. */
static uint64_t stat(const Fixture_t *f, const char *pKey)
{
    return rawUint(f, pKey);
}

/** @brief First report: no network_stats; then deltas over non-loopback interfaces. */
static void test_NetworkStats_DeltasExcludeLoopback(void **state)
{
    Fixture_t *f = *state;
    cJSON *pRoot;

    statsOnly(f);
    FakeSource_SetInterface(&f->source, "eth0", 1000U, 2000U, 10U, 20U, false, 64U);
    FakeSource_SetInterface(&f->source, "wlan0", 100U, 200U, 1U, 2U, false, 64U);
    FakeSource_SetInterface(&f->source, "lo", 500U, 500U, 5U, 5U, true, 64U);
    startAndPublishFirst(f);
    pRoot = published(f);
    assert_non_null(path(pRoot, "metrics", NULL, NULL, NULL));
    assert_null(path(pRoot, "metrics", "network_stats", NULL, NULL));
    cJSON_Delete(pRoot);

    FakeSource_SetInterface(&f->source, "eth0", 1500U, 2600U, 15U, 27U, false, 64U);
    FakeSource_SetInterface(&f->source, "wlan0", 110U, 230U, 2U, 4U, false, 64U);
    FakeSource_SetInterface(&f->source, "lo", 900U, 900U, 9U, 9U, true, 64U);
    (void) advance(f, PERIOD_MS);
    pRoot = published(f);
    assert_non_null(path(pRoot, "metrics", "network_stats", NULL, NULL));
    cJSON_Delete(pRoot);
    assert_int_equal(stat(f, "bytes_in"), 510);
    assert_int_equal(stat(f, "bytes_out"), 630);
    assert_int_equal(stat(f, "packets_in"), 6);
    assert_int_equal(stat(f, "packets_out"), 9);

    /* Nothing moved: zeros, still present. */
    (void) advance(f, PERIOD_MS);
    assert_int_equal(stat(f, "bytes_in"), 0);
    assert_int_equal(stat(f, "packets_out"), 0);
}

/** @brief includeLoopback adds the loopback deltas. */
static void test_NetworkStats_IncludeLoopback(void **state)
{
    Fixture_t *f = *state;

    f->settings.includeLoopback = true;
    statsOnly(f);
    FakeSource_SetInterface(&f->source, "eth0", 1000U, 2000U, 10U, 20U, false, 64U);
    FakeSource_SetInterface(&f->source, "lo", 500U, 500U, 5U, 5U, true, 64U);
    startAndPublishFirst(f);
    FakeSource_SetInterface(&f->source, "eth0", 1500U, 2600U, 15U, 27U, false, 64U);
    FakeSource_SetInterface(&f->source, "lo", 900U, 910U, 9U, 10U, true, 64U);
    (void) advance(f, PERIOD_MS);
    assert_int_equal(stat(f, "bytes_in"), 900);
    assert_int_equal(stat(f, "bytes_out"), 1010);
    assert_int_equal(stat(f, "packets_in"), 9);
    assert_int_equal(stat(f, "packets_out"), 12);
}

/** @brief Backwards counters count their current value; vanished interfaces 0. */
static void test_NetworkStats_ResetAndVanished(void **state)
{
    Fixture_t *f = *state;

    statsOnly(f);
    FakeSource_SetInterface(&f->source, "eth0", 1000U, 2000U, 10U, 20U, false, 64U);
    FakeSource_SetInterface(&f->source, "wlan0", 100U, 200U, 1U, 2U, false, 64U);
    startAndPublishFirst(f);

    FakeSource_SetInterface(&f->source, "eth0", 300U, 2100U, 3U, 25U, false, 64U);
    FakeSource_RemoveInterface(&f->source, "wlan0");
    (void) advance(f, PERIOD_MS);
    assert_int_equal(stat(f, "bytes_in"), 300);
    assert_int_equal(stat(f, "bytes_out"), 100);
    assert_int_equal(stat(f, "packets_in"), 3);
    assert_int_equal(stat(f, "packets_out"), 5);

    /* An interface that (re)appears counts from zero: its whole value. */
    FakeSource_SetInterface(&f->source, "wlan0", 50U, 60U, 7U, 8U, false, 64U);
    (void) advance(f, PERIOD_MS);
    assert_int_equal(stat(f, "bytes_in"), 50);
    assert_int_equal(stat(f, "bytes_out"), 60);
}

/** @brief 32-bit counters are differenced modulo 2^32. */
static void test_NetworkStats_Counter32Wraps(void **state)
{
    Fixture_t *f = *state;

    statsOnly(f);
    FakeSource_SetInterface(&f->source, "eth0", 0xFFFFFF00ULL, 0xFFFFFFFFULL, 10U, 20U, false, 32U);
    startAndPublishFirst(f);
    FakeSource_SetInterface(&f->source, "eth0", 0x100ULL, 0x4ULL, 11U, 20U, false, 32U);
    (void) advance(f, PERIOD_MS);
    assert_int_equal(stat(f, "bytes_in"), 0x200);
    assert_int_equal(stat(f, "bytes_out"), 5);
    assert_int_equal(stat(f, "packets_in"), 1);
    assert_int_equal(stat(f, "packets_out"), 0);
}

/** @brief After a NotSent report the baseline stays: the next delta spans both periods. */
static void test_NetworkStats_NotSentKeepsBaseline(void **state)
{
    Fixture_t *f = *state;

    statsOnly(f);
    FakeSource_SetInterface(&f->source, "eth0", 1000U, 1000U, 10U, 10U, false, 64U);
    startAndPublishFirst(f);
    FakeSource_SetInterface(&f->source, "eth0", 1500U, 1100U, 15U, 11U, false, 64U);
    FakeMqtt_QueuePublishResult(&f->mqtt, DEFENDER_MQTT_FAILURE);
    (void) advance(f, PERIOD_MS);
    assert_int_equal(Defender_GetReportStatus(&f->ctx), eDefenderRepNotSent);
    FakeSource_SetInterface(&f->source, "eth0", 2000U, 1300U, 20U, 13U, false, 64U);
    (void) advance(f, PERIOD_MS);
    assert_int_equal(f->mqtt.publishSucceeded, 2);
    assert_int_equal(stat(f, "bytes_in"), 1000);
    assert_int_equal(stat(f, "bytes_out"), 300);

    /* Not connected at due time: same. */
    Defender_OnConnectionChanged(&f->ctx, false, false);
    FakeSource_SetInterface(&f->source, "eth0", 2100U, 1300U, 20U, 13U, false, 64U);
    (void) advance(f, PERIOD_MS);
    assert_int_equal(Defender_GetReportStatus(&f->ctx), eDefenderRepNotSent);
    Defender_OnConnectionChanged(&f->ctx, true, true);
    FakeSource_SetInterface(&f->source, "eth0", 2200U, 1300U, 20U, 13U, false, 64U);
    (void) advance(f, PERIOD_MS);
    assert_int_equal(stat(f, "bytes_in"), 200);
}

/** @brief Deltas and sums above 2^63-1 are clamped to 2^63-1. */
static void test_NetworkStats_Clamp(void **state)
{
    Fixture_t *f = *state;

    statsOnly(f);
    FakeSource_SetInterface(&f->source, "eth0", 0U, 0U, 0U, 0U, false, 64U);
    FakeSource_SetInterface(&f->source, "eth1", 0U, 0U, 0U, 0U, false, 64U);
    startAndPublishFirst(f);
    FakeSource_SetInterface(&f->source, "eth0", UINT64_MAX, MAX_INT63, 0x6000000000000000ULL, 1U,
                            false, 64U);
    FakeSource_SetInterface(&f->source, "eth1", 0U, 1U, 0x6000000000000000ULL, 2U, false, 64U);
    (void) advance(f, PERIOD_MS);
    assert_int_equal(stat(f, "bytes_in"), MAX_INT63);
    assert_int_equal(stat(f, "bytes_out"), MAX_INT63);
    assert_int_equal(stat(f, "packets_in"), MAX_INT63);
    assert_int_equal(stat(f, "packets_out"), 3);
}

/** @brief A failed collection leaves network_stats out and keeps the baseline. */
static void test_NetworkStats_SourceError(void **state)
{
    Fixture_t *f = *state;
    cJSON *pRoot;

    statsOnly(f);
    FakeSource_SetInterface(&f->source, "eth0", 1000U, 1000U, 10U, 10U, false, 64U);
    startAndPublishFirst(f);
    f->source.result[3] = DEFENDER_SOURCE_ERROR;
    FakeSource_SetInterface(&f->source, "eth0", 1500U, 1000U, 10U, 10U, false, 64U);
    (void) advance(f, PERIOD_MS);
    pRoot = published(f);
    assert_null(path(pRoot, "metrics", "network_stats", NULL, NULL));
    assert_non_null(path(pRoot, "metrics", NULL, NULL, NULL));
    cJSON_Delete(pRoot);
    assert_int_equal(counters(f).sourceErrors, 1);
    f->source.result[3] = DEFENDER_SOURCE_OK;
    FakeSource_SetInterface(&f->source, "eth0", 1700U, 1000U, 10U, 10U, false, 64U);
    (void) advance(f, PERIOD_MS);
    assert_int_equal(stat(f, "bytes_in"), 700);
}

/** @brief A source that cannot measure network statistics: the group is left out of every
 * report, and that is no source error. */
static void test_NetworkStats_SourceUnsupported(void **state)
{
    Fixture_t *f = *state;
    cJSON *pRoot;
    int i;

    statsOnly(f);
    f->source.result[3] = DEFENDER_SOURCE_UNSUPPORTED;
    startAndPublishFirst(f);
    for (i = 0; i < 2; i++)
    {
        (void) advance(f, PERIOD_MS);
        pRoot = published(f);
        assert_null(path(pRoot, "metrics", "network_stats", NULL, NULL));
        assert_non_null(path(pRoot, "metrics", NULL, NULL, NULL));
        cJSON_Delete(pRoot);
    }
    assert_int_equal(counters(f).reportsPublished, 3);
    assert_int_equal(counters(f).sourceErrors, 0);
}

/** @brief Interfaces beyond the table are counted. */
static void test_NetworkStats_InterfacesDropped(void **state)
{
    Fixture_t *f = *state;
    char name[16];
    unsigned i;

    statsOnly(f);
    for (i = 0U; i < (DEFENDER_CONFIG_MAX_INTERFACES + 6U); i++)
    {
        (void) snprintf(name, sizeof(name), "if%u", i);
        FakeSource_SetInterface(&f->source, name, 1U, 1U, 1U, 1U, false, 64U);
    }
    startAndPublishFirst(f);
    assert_int_equal(counters(f).interfacesDropped, 6);
}

/** @brief An interface that had no room in the baseline, then gets one, contributes nothing
 * in that report (not its lifetime's counters at once, a spike that no traffic made); from
 * a baseline with room for all, it counts as usual. */
static void test_NetworkStats_InterfaceLeftOutOfBaseline(void **state)
{
    Fixture_t *f = *state;
    char name[16];
    unsigned i;

    statsOnly(f);
    for (i = 0U; i < DEFENDER_CONFIG_MAX_INTERFACES; i++)
    {
        (void) snprintf(name, sizeof(name), "if%u", i);
        FakeSource_SetInterface(&f->source, name, 1000U, 1000U, 10U, 10U, false, 64U);
    }
    FakeSource_SetInterface(&f->source, "late", 5000000U, 6000000U, 5000U, 6000U, false, 64U);
    startAndPublishFirst(f);
    assert_int_equal(counters(f).interfacesDropped, 1);

    /* if0 goes: `late` fits now, but the baseline does not know it. */
    FakeSource_RemoveInterface(&f->source, "if0");
    FakeSource_SetInterface(&f->source, "if1", 1010U, 1000U, 11U, 10U, false, 64U);
    (void) advance(f, PERIOD_MS);
    assert_int_equal(counters(f).interfacesDropped, 1);
    assert_int_equal(stat(f, "bytes_in"), 10);
    assert_int_equal(stat(f, "bytes_out"), 0);
    assert_int_equal(stat(f, "packets_in"), 1);

    /* That report's baseline had room for all: `late` counts from it. */
    FakeSource_SetInterface(&f->source, "late", 5000007U, 6000000U, 5001U, 6000U, false, 64U);
    (void) advance(f, PERIOD_MS);
    assert_int_equal(stat(f, "bytes_in"), 7);
    assert_int_equal(stat(f, "packets_in"), 1);
}

/** @brief A new start has no baseline: its first report has no network_stats. */
static void test_NetworkStats_FirstAfterRestart(void **state)
{
    Fixture_t *f = *state;
    cJSON *pRoot;

    statsOnly(f);
    FakeSource_SetInterface(&f->source, "eth0", 1000U, 1000U, 10U, 10U, false, 64U);
    startAndPublishFirst(f);
    (void) advance(f, PERIOD_MS);
    assert_int_equal(stat(f, "bytes_in"), 0);
    assert_int_equal(Defender_Stop(&f->ctx), DEFENDER_SUCCESS);
    assert_int_equal(Defender_Start(&f->ctx), DEFENDER_SUCCESS);
    (void) advance(f, 1000U);
    assert_int_equal(f->mqtt.publishSucceeded, 3);
    pRoot = published(f);
    assert_null(path(pRoot, "metrics", "network_stats", NULL, NULL));
    cJSON_Delete(pRoot);
}

/* ------------------------------------------------------------------------- */
/* Lists and custom metrics                                                   */
/* ------------------------------------------------------------------------- */

/** @brief Lists are capped at maxListEntries; total is the true count. */
static void test_Lists_CapWithTrueTotal(void **state)
{
    Fixture_t *f = *state;
    cJSON *pRoot;
    cJSON *pConn;
    cJSON *pFirst;
    uint16_t i;

    f->settings.maxListEntries = 3U;
    reinit(f);
    for (i = 0U; i < 10U; i++)
    {
        FakeSource_AddTcpPort(&f->source, (uint16_t) (1000U + i), "eth0");
        FakeSource_AddUdpPort(&f->source, (uint16_t) (2000U + i), "");
        (void) FakeSource_AddConnectionV4(&f->source, 198U, 51U, 100U, 7U, 8883U,
                                          (uint16_t) (40000U + i), "eth0");
    }
    startAndPublishFirst(f);
    pRoot = published(f);
    assert_int_equal(
        cJSON_GetArraySize(path(pRoot, "metrics", "listening_tcp_ports", "ports", NULL)), 3);
    assert_int_equal(path(pRoot, "metrics", "listening_tcp_ports", "total", NULL)->valuedouble, 10);
    assert_int_equal(
        cJSON_GetArraySize(path(pRoot, "metrics", "listening_udp_ports", "ports", NULL)), 3);
    assert_int_equal(path(pRoot, "metrics", "listening_udp_ports", "total", NULL)->valuedouble, 10);
    /* Wildcard binds have no interface (10.7). */
    pFirst = cJSON_GetArrayItem(path(pRoot, "metrics", "listening_udp_ports", "ports", NULL), 0);
    assert_null(cJSON_GetObjectItemCaseSensitive(pFirst, "interface"));
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(pFirst, "port")->valuedouble, 2000);

    pConn = path(pRoot, "metrics", "tcp_connections", "established_connections", NULL);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(pConn, "connections")), 3);
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(pConn, "total")->valuedouble, 10);
    pFirst = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(pConn, "connections"), 0);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(pFirst, "remote_addr")->valuestring,
                        "198.51.100.7:8883");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(pFirst, "local_interface")->valuestring,
                        "eth0");
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(pFirst, "local_port")->valuedouble, 40000);
    cJSON_Delete(pRoot);
    assert_int_equal(counters(f).listEntriesDropped, 0);
}

/** @brief PD-10: the report is an encode error only when it does not fit. A connection the
 * source delivers with a peer address that cannot be written (no family) is left out of the
 * list and the total; the report goes out with the others. */
static void test_Lists_UnwritableConnectionLeftOut(void **state)
{
    Fixture_t *f = *state;
    cJSON *pRoot;
    cJSON *pEstablished;

    f->settings.metrics = DEFENDER_METRIC_TCP_CONNECTIONS;
    reinit(f);
    (void) FakeSource_AddConnectionV4(&f->source, 198U, 51U, 100U, 7U, 8883U, 40000U, "eth0");
    FakeSource_AddConnectionV4(&f->source, 198U, 51U, 100U, 8U, 8883U, 40001U, "eth0")
        ->remoteAddress.family = 0U;
    (void) FakeSource_AddConnectionV4(&f->source, 198U, 51U, 100U, 9U, 8883U, 40002U, "eth0");
    startAndPublishFirst(f);
    pRoot = published(f);
    pEstablished = path(pRoot, "metrics", "tcp_connections", "established_connections", NULL);
    assert_int_equal(
        cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(pEstablished, "connections")), 2);
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(pEstablished, "total")->valuedouble, 2);
    assert_string_equal(
        cJSON_GetObjectItemCaseSensitive(
            cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(pEstablished, "connections"), 1),
            "remote_addr")
            ->valuestring,
        "198.51.100.9:8883");
    cJSON_Delete(pRoot);
    assert_int_equal(counters(f).reportsNotSent, 0);
}

/** @brief PD-26: C=3, n=10 stable: report k lists entries from (k*C) mod n, wrapping. */
static void test_Lists_Rotation(void **state)
{
    Fixture_t *f = *state;
    cJSON *pRoot;
    cJSON *pPorts;
    uint16_t i;
    uint64_t k;
    int j;

    f->settings.maxListEntries = 3U;
    f->settings.metrics = DEFENDER_METRIC_LISTENING_TCP_PORTS;
    reinit(f);
    for (i = 0U; i < 10U; i++)
    {
        FakeSource_AddTcpPort(&f->source, (uint16_t) (1000U + i), "eth0");
    }
    connectAndStart(f);
    for (k = 0U; k < 12U; k++)
    {
        if (k == 0U)
        {
            (void) process(f);
        }
        else
        {
            (void) advance(f, PERIOD_MS);
        }
        assert_int_equal(f->mqtt.publishSucceeded, k + 1U);
        pRoot = published(f);
        pPorts = path(pRoot, "metrics", "listening_tcp_ports", "ports", NULL);
        assert_int_equal(cJSON_GetArraySize(pPorts), 3);
        for (j = 0; j < 3; j++)
        {
            uint64_t expected = 1000U + ((((k * 3U) % 10U) + (uint64_t) j) % 10U);
            assert_int_equal(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(pPorts, j), "port")
                                 ->valuedouble,
                             expected);
        }
        cJSON_Delete(pRoot);
    }
}

/** @brief Only the selected groups are collected and appear. */
static void test_Lists_OnlySelectedGroups(void **state)
{
    Fixture_t *f = *state;
    cJSON *pRoot;
    cJSON *pMetrics;

    f->settings.metrics = DEFENDER_METRIC_TCP_CONNECTIONS | DEFENDER_METRIC_LISTENING_UDP_PORTS;
    reinit(f);
    FakeSource_AddTcpPort(&f->source, 22U, "eth0");
    FakeSource_AddUdpPort(&f->source, 53U, "eth0");
    startAndPublishFirst(f);
    pRoot = published(f);
    pMetrics = path(pRoot, "metrics", NULL, NULL, NULL);
    assert_non_null(cJSON_GetObjectItemCaseSensitive(pMetrics, "tcp_connections"));
    assert_non_null(cJSON_GetObjectItemCaseSensitive(pMetrics, "listening_udp_ports"));
    assert_null(cJSON_GetObjectItemCaseSensitive(pMetrics, "listening_tcp_ports"));
    assert_null(cJSON_GetObjectItemCaseSensitive(pMetrics, "network_stats"));
    assert_int_equal(cJSON_GetArraySize(pMetrics), 2);
    /* Empty list: omitted, total 0 (PD-9). */
    assert_int_equal(
        path(pMetrics, "tcp_connections", "established_connections", "total", NULL)->valuedouble,
        0);
    cJSON_Delete(pRoot);
    assert_int_equal(f->source.collectCalls[1], 0);
    assert_int_equal(f->source.collectCalls[3], 0);
    assert_int_equal(f->source.collectCalls[0], 1);
    assert_int_equal(f->source.collectCalls[2], 1);
    assert_int_equal(f->source.badGroupCalls, 0);

    /* A group the source fails to collect is left out and counted. */
    f->source.result[2] = DEFENDER_SOURCE_ERROR;
    (void) advance(f, PERIOD_MS);
    pRoot = published(f);
    assert_null(path(pRoot, "metrics", "listening_udp_ports", NULL, NULL));
    assert_non_null(path(pRoot, "metrics", "tcp_connections", NULL, NULL));
    cJSON_Delete(pRoot);
    assert_int_equal(counters(f).sourceErrors, 1);
}

/** @brief Custom metric callbacks of the four types. */
static const double cpuLoad[] = {12.0, 7.5, 3.0};
static const char *const taskNames[] = {"net", "app/main"};
static const char *const dnsServers[] = {"192.0.2.53", "2001:db8::53"};
static const char *const badStrings[] = {"ok", "a b"};
static const char *const badIps[] = {"192.0.2.1", "300.1.2.3"};

/** @brief number -67. */
static bool readRssi(void *pUserContext, DefenderCustomValue_t *pValue)
{
    (void) pUserContext;
    pValue->number = -67.0;
    return true;
}

/** @brief number_list. */
static bool readCpu(void *pUserContext, DefenderCustomValue_t *pValue)
{
    (void) pUserContext;
    pValue->pNumbers = cpuLoad;
    pValue->count = 3U;
    return true;
}

/** @brief string_list (or the strings in the user context). */
static bool readStrings(void *pUserContext, DefenderCustomValue_t *pValue)
{
    pValue->ppStrings = (pUserContext != NULL) ? (const char *const *) pUserContext : taskNames;
    pValue->count = 2U;
    return true;
}

/** @brief ip_list (or the texts in the user context). */
static bool readIps(void *pUserContext, DefenderCustomValue_t *pValue)
{
    pValue->ppStrings = (pUserContext != NULL) ? (const char *const *) pUserContext : dnsServers;
    pValue->count = 2U;
    return true;
}

/** @brief No value this time. */
static bool readNothing(void *pUserContext, DefenderCustomValue_t *pValue)
{
    (void) pUserContext;
    (void) pValue;
    return false;
}

/** @brief Registers a metric, expecting success. */
static void addMetric(Fixture_t *f, const char *pName, DefenderCustomMetricType_t type,
                      DefenderCustomMetricRead_t pfRead, void *pUserContext)
{
    DefenderCustomMetric_t metric;

    metric.pName = pName;
    metric.type = type;
    metric.pfRead = pfRead;
    metric.pUserContext = pUserContext;
    assert_int_equal(Defender_AddCustomMetric(&f->ctx, &metric), DEFENDER_SUCCESS);
}

/** @brief Four types, in registration order; false and invalid values left out. */
static void test_CustomMetrics_TypesOrderAndInvalid(void **state)
{
    Fixture_t *f = *state;
    static double nan;
    cJSON *pRoot;
    cJSON *pCustom;
    cJSON *pItem;

    nan = NAN;
    addMetric(f, "rssi_dbm", DEFENDER_CUSTOM_NUMBER, readRssi, NULL);
    addMetric(f, "skipped", DEFENDER_CUSTOM_NUMBER, readNothing, NULL);
    addMetric(f, "cpu_load", DEFENDER_CUSTOM_NUMBER_LIST, readCpu, NULL);
    addMetric(f, "not_a_number", DEFENDER_CUSTOM_NUMBER, readNumber, &nan);
    addMetric(f, "task_names", DEFENDER_CUSTOM_STRING_LIST, readStrings, NULL);
    addMetric(f, "bad_strings", DEFENDER_CUSTOM_STRING_LIST, readStrings, (void *) badStrings);
    addMetric(f, "dns_servers", DEFENDER_CUSTOM_IP_LIST, readIps, NULL);
    addMetric(f, "bad_ips", DEFENDER_CUSTOM_IP_LIST, readIps, (void *) badIps);
    startAndPublishFirst(f);

    pRoot = published(f);
    pCustom = path(pRoot, "custom_metrics", NULL, NULL, NULL);
    assert_non_null(pCustom);
    assert_int_equal(cJSON_GetArraySize(pCustom), 4);
    pItem = cJSON_GetArrayItem(pCustom, 0);
    assert_string_equal(pItem->string, "rssi_dbm");
    assert_true(cJSON_IsArray(pItem));
    assert_int_equal(cJSON_GetArraySize(pItem), 1);
    /* A double compared as a double (cmocka's integer asserts take unsigned values). */
    assert_true(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(pItem, 0), "number")->valuedouble ==
        -67.0);
    pItem = cJSON_GetArrayItem(pCustom, 1);
    assert_string_equal(pItem->string, "cpu_load");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(
                         cJSON_GetArrayItem(pItem, 0), "number_list")),
                     3);
    pItem = cJSON_GetArrayItem(pCustom, 2);
    assert_string_equal(pItem->string, "task_names");
    assert_string_equal(
        cJSON_GetArrayItem(
            cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(pItem, 0), "string_list"), 1)
            ->valuestring,
        "app/main");
    pItem = cJSON_GetArrayItem(pCustom, 3);
    assert_string_equal(pItem->string, "dns_servers");
    assert_string_equal(
        cJSON_GetArrayItem(
            cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(pItem, 0), "ip_list"), 0)
            ->valuestring,
        "192.0.2.53");
    /* metrics comes first and is present (all groups enabled). */
    assert_string_equal(cJSON_GetArrayItem(pRoot, 0)->string, "header");
    assert_string_equal(cJSON_GetArrayItem(pRoot, 1)->string, "metrics");
    assert_string_equal(cJSON_GetArrayItem(pRoot, 2)->string, "custom_metrics");
    cJSON_Delete(pRoot);
    assert_int_equal(counters(f).customMetricErrors, 3);
}

/** @brief No standard group: metrics omitted when a custom value exists, else `{}`. */
static void test_CustomMetrics_NoStandardGroups(void **state)
{
    Fixture_t *f = *state;
    cJSON *pRoot;

    f->settings.metrics = 0U;
    f->interfaces.metricsSource.pfCollect = NULL;
    reinit(f);
    addMetric(f, "rssi_dbm", DEFENDER_CUSTOM_NUMBER, readRssi, NULL);
    startAndPublishFirst(f);
    pRoot = published(f);
    assert_null(path(pRoot, "metrics", NULL, NULL, NULL));
    assert_non_null(path(pRoot, "custom_metrics", "rssi_dbm", NULL, NULL));
    cJSON_Delete(pRoot);

    /* Custom metric without a value: the report still needs a body. */
    reinit(f);
    addMetric(f, "skipped", DEFENDER_CUSTOM_NUMBER, readNothing, NULL);
    FakeMqtt_Init(&f->mqtt);
    startAndPublishFirst(f);
    pRoot = published(f);
    /* 10.8: `metrics` is left out only when a custom metric has a value. */
    assert_true(cJSON_IsObject(path(pRoot, "metrics", NULL, NULL, NULL)));
    assert_int_equal(cJSON_GetArraySize(path(pRoot, "metrics", NULL, NULL, NULL)), 0);
    cJSON_Delete(pRoot);
}

/** @brief 10.8: with a standard group enabled, `metrics` is written even when the group adds
 * nothing (the first report has no network_stats; a source that fails) and custom metrics
 * have values. */
static void test_CustomMetrics_EnabledGroupKeepsEmptyMetrics(void **state)
{
    Fixture_t *f = *state;
    cJSON *pRoot;
    size_t i;

    statsOnly(f);
    addMetric(f, "rssi_dbm", DEFENDER_CUSTOM_NUMBER, readRssi, NULL);
    FakeSource_SetInterface(&f->source, "eth0", 1000U, 1000U, 10U, 10U, false, 64U);
    startAndPublishFirst(f);
    pRoot = published(f);
    assert_true(cJSON_IsObject(path(pRoot, "metrics", NULL, NULL, NULL)));
    assert_int_equal(cJSON_GetArraySize(path(pRoot, "metrics", NULL, NULL, NULL)), 0);
    assert_non_null(path(pRoot, "custom_metrics", "rssi_dbm", NULL, NULL));
    cJSON_Delete(pRoot);

    /* Every group enabled, the source failing them all. */
    f->settings.metrics = DEFENDER_METRIC_ALL;
    reinit(f);
    addMetric(f, "rssi_dbm", DEFENDER_CUSTOM_NUMBER, readRssi, NULL);
    for (i = 0U; i < 4U; i++)
    {
        f->source.result[i] = DEFENDER_SOURCE_ERROR;
    }
    FakeMqtt_Init(&f->mqtt);
    startAndPublishFirst(f);
    pRoot = published(f);
    assert_string_equal(cJSON_GetArrayItem(pRoot, 1)->string, "metrics");
    assert_int_equal(cJSON_GetArraySize(path(pRoot, "metrics", NULL, NULL, NULL)), 0);
    assert_non_null(path(pRoot, "custom_metrics", "rssi_dbm", NULL, NULL));
    cJSON_Delete(pRoot);
}

/** @brief Short keys: the header is written with hed/rid/v. */
static void test_Report_ShortKeys(void **state)
{
    Fixture_t *f = *state;
    cJSON *pRoot;

    f->settings.keys = DEFENDER_KEYS_SHORT;
    f->settings.metrics = 0U;
    reinit(f);
    startAndPublishFirst(f);
    pRoot = published(f);
    assert_string_equal(path(pRoot, "hed", "v", NULL, NULL)->valuestring, "1.0");
    assert_non_null(path(pRoot, "met", NULL, NULL, NULL));
    cJSON_Delete(pRoot);
    assert_int_equal(rawUint(f, "rid"), T0_WALL);
}

/* ------------------------------------------------------------------------- */
/* Report callback                                                            */
/* ------------------------------------------------------------------------- */

/** @brief PUBLISHED, ACCEPTED, REJECTED, NO_ACK, NOT_SENT with the right information. */
static void test_ReportCallback_Events(void **state)
{
    Fixture_t *f = *state;
    uint64_t id;

    startAndPublishFirst(f);
    assert_int_equal(f->eventCount, 1);
    assert_int_equal(f->events[0].event, DEFENDER_EVENT_PUBLISHED);
    assert_int_equal(f->events[0].info.status, eDefenderRepNoAck);
    assert_int_equal(f->events[0].info.reportId, T0_WALL);
    assert_int_equal(f->events[0].info.size, f->mqtt.lastPayloadLength);
    assert_int_equal(f->events[0].info.notSentReason, DEFENDER_NOT_SENT_NONE);

    assert_int_equal(accept(f, T0_WALL), DEFENDER_SUCCESS);
    assert_int_equal(f->eventCount, 2);
    assert_int_equal(f->events[1].event, DEFENDER_EVENT_ACCEPTED);
    assert_int_equal(f->events[1].info.status, eDefenderRepSuccess);

    (void) advance(f, PERIOD_MS);
    id = lastInfo(f).reportId;
    assert_int_equal(reject(f, id, "SomethingElse"), DEFENDER_SUCCESS);
    assert_int_equal(f->eventCount, 4);
    assert_int_equal(f->events[2].event, DEFENDER_EVENT_PUBLISHED);
    assert_int_equal(f->events[3].event, DEFENDER_EVENT_REJECTED);
    assert_int_equal(f->events[3].info.status, eDefenderRepRejected);
    assert_int_equal(f->events[3].info.reportId, id);
    assert_string_equal(f->events[3].info.errorCode, "SomethingElse");
    assert_string_equal(f->events[3].info.errorMessage, "msg");
    assert_int_equal(counters(f).reportsThrottled, 0);

    (void) advance(f, PERIOD_MS);
    (void) advance(f, ACK_MS);
    assert_int_equal(f->eventCount, 6);
    assert_int_equal(f->events[5].event, DEFENDER_EVENT_NO_ACK);
    assert_int_equal(f->events[5].info.status, eDefenderRepNoAck);
    assert_int_equal(f->events[5].info.reportId, f->events[4].info.reportId);

    FakeMqtt_QueuePublishResult(&f->mqtt, DEFENDER_MQTT_FAILURE);
    (void) advance(f, PERIOD_MS - ACK_MS);
    assert_int_equal(f->eventCount, 7);
    assert_int_equal(f->events[6].event, DEFENDER_EVENT_NOT_SENT);
    assert_int_equal(f->events[6].info.status, eDefenderRepNotSent);
    assert_int_equal(f->events[6].info.notSentReason, DEFENDER_NOT_SENT_PUBLISH_FAILED);
    assert_true(f->events[6].info.reportId > f->events[4].info.reportId);

    /* NotSent before encoding (not connected): no new id is used. */
    Defender_OnConnectionChanged(&f->ctx, false, false);
    (void) advance(f, PERIOD_MS);
    assert_int_equal(f->eventCount, 8);
    assert_int_equal(f->events[7].event, DEFENDER_EVENT_NOT_SENT);
    assert_int_equal(f->events[7].info.notSentReason, DEFENDER_NOT_SENT_NOT_CONNECTED);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_Defender_DefaultSettings_Values),
        T(test_Defender_Init_NullArguments),
        T(test_Defender_Init_InvalidSettings),
        T(test_Defender_Init_Period),
        T(test_Defender_SetMetrics_Arguments),
        T(test_Defender_SetPeriod_Arguments),
        T(test_Defender_SetAckTimeout_Arguments),
        T(test_Defender_AddCustomMetric_Invalid),
        T(test_Defender_AddCustomMetric_DuplicateTooManyStarted),
        T(test_Defender_StartStopProcess_Codes),
        T(test_Defender_Getters_Arguments),
        T(test_Defender_OnMessage_Arguments),
        T(test_Defender_OnMessage_OnlyOwnResponseTopics),
        T(test_Defender_OnMessage_LongestThingName),
        T(test_Defender_Start_StatusInit),
        T(test_Defender_Process_SubscribesThenPublishes),
        T(test_Defender_Process_WaitsForBothSubacks),
        T(test_Defender_OnSubscribeResult_FromInsideSubscribe),
        T(test_Defender_OnSubscribeResult_RefusedNotSent),
        T(test_Defender_Process_SubscribeFailureNotSent),
        T(test_Defender_Process_SubscribeNotConnected),
        T(test_Defender_Process_SubackNeverComes),
        T(test_Defender_Process_NotConnectedNotSent),
        T(test_Defender_Process_FirstReportAfterLateConnect),
        T(test_Defender_Process_ReportWaitsForReconnect),
        T(test_Defender_Process_MonotonicClockWraps),
        T(test_Defender_SetPeriod_TooLong),
        T(test_Defender_OnMessage_ResponseInsidePublish),
        T(test_Defender_Process_PublishFails),
        T(test_Defender_Process_EncodeFails),
        T(test_Defender_Process_ListsShrinkToFit),
        T(test_Defender_Process_NoAckTimeout),
        T(test_Defender_OnMessage_AcceptedJson),
        T(test_Defender_OnMessage_RejectedJson),
        T(test_Defender_OnMessage_NoReportIdAppliesInFlight),
        T(test_Defender_OnMessage_ForeignIgnored),
        T(test_Defender_OnMessage_MalformedIgnored),
        T(test_Defender_OnMessage_LateResponseApplies),
        T(test_Defender_OnMessage_LateAfterNextPublishForeign),
        T(test_Defender_OnMessage_LateAfterNotSentIgnored),
        T(test_Defender_OnMessage_ThrottledPostpones),
        T(test_Defender_OnMessage_OnlyThrottledPostpones),
        T(test_Defender_OnMessage_LateThrottledPostpones),
        T(test_Defender_SetPeriod_AfterThrottledKeepsPostponement),
        T(test_Defender_Process_ThrottledOnceThenMonths),
        T(test_Defender_Start_KeepsThrottledPostponement),
        T(test_Defender_Start_ShorterPeriodKeepsThrottledPostponement),
        T(test_Defender_Start_AfterThrottledPostponementOver),
        T(test_Defender_Log_ReportEventsOnlyWithoutCallback),
        T(test_Defender_Process_OfflineForWeeks),
        T(test_Defender_SetPeriod_WhileReportBlocked),
        T(test_Defender_SetPeriod_ShorterWhileBlocked),
        T(test_Defender_OnMessage_Cbor),
        T(test_Defender_Stop_AbandonsInFlight),
        T(test_Defender_Process_OneReportPerPeriod),
        T(test_Defender_Process_MissedPeriodsSkipped),
        T(test_Defender_SetPeriod_WhileRunning),
        T(test_Defender_SetAckTimeout_CappedAtPeriod),
        T(test_Defender_OnConnectionChanged_CleanSessionResubscribes),
        T(test_Defender_OnConnectionChanged_SessionPresentKeeps),
        T(test_Defender_OnConnectionChanged_PendingLost),
        T(test_ReportId_WallClockAndIncrement),
        T(test_ReportId_WallClockNotSet),
        T(test_ReportId_WallClockSetFrom2020),
        T(test_ReportId_WallClockNotSetNoRandom),
        T(test_ReportId_StoreUnreadableAtStart),
        T(test_ReportId_SavedBeforePublish),
        T(test_ReportId_LoadedFromStore),
        T(test_ReportId_StopStartContinues),
        T(test_ReportId_SeededFromRandom),
        T(test_NetworkStats_DeltasExcludeLoopback),
        T(test_NetworkStats_IncludeLoopback),
        T(test_NetworkStats_ResetAndVanished),
        T(test_NetworkStats_Counter32Wraps),
        T(test_NetworkStats_NotSentKeepsBaseline),
        T(test_NetworkStats_Clamp),
        T(test_NetworkStats_SourceError),
        T(test_NetworkStats_SourceUnsupported),
        T(test_NetworkStats_InterfacesDropped),
        T(test_NetworkStats_InterfaceLeftOutOfBaseline),
        T(test_NetworkStats_FirstAfterRestart),
        T(test_Lists_CapWithTrueTotal),
        T(test_Lists_UnwritableConnectionLeftOut),
        T(test_Lists_Rotation),
        T(test_Lists_OnlySelectedGroups),
        T(test_CustomMetrics_TypesOrderAndInvalid),
        T(test_CustomMetrics_NoStandardGroups),
        T(test_CustomMetrics_EnabledGroupKeepsEmptyMetrics),
        T(test_Report_ShortKeys),
        T(test_ReportCallback_Events),
    };
#undef T

    return cmocka_run_group_tests(tests, NULL, NULL);
}
