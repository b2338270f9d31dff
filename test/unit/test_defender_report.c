/**
 * @file test_defender_report.c
 * @brief Unit tests of the report encoder: byte-exact spec examples (11.1, 11.2,
 * 11.3, CBOR V1, V2, V4), independent decoding (cJSON, libcbor) of random reports in
 * both formats and key styles, list fitting with canaries, number rounding against
 * glibc's %.15g, and custom metric validation.
 */
#define _GNU_SOURCE /* memmem */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "report_examples.h"
#include "test_scale.h"
#include <math.h>

#include <cbor.h>
#include <cjson/cJSON.h>

#include "defender_report.h"
#include "private/defender_report_private.h"

#define BUFFER_SIZE  (256U * 1024U)
#define CANARY       0xA5U
#define CANARY_BYTES 64U
#define MAX_ENTRIES  300U

/* ---- Seeded PRNG (xorshift64*) ----------------------------------------------------- */

static uint64_t rngState = 0x9E3779B97F4A7C15ULL;

static uint64_t Rand64(void)
{
    rngState ^= rngState >> 12;
    rngState ^= rngState << 25;
    rngState ^= rngState >> 27;
    return rngState * 0x2545F4914F6CDD1DULL;
}

static uint32_t RandBelow(uint32_t n)
{
    return (uint32_t) (Rand64() % n);
}

static uint8_t buffer[BUFFER_SIZE + CANARY_BYTES];

static size_t EncodeOk(const DefenderReportContent_t *pContent, DefenderFormat_t format,
                       DefenderKeyStyle_t keys)
{
    size_t length = 0;
    size_t listed[3];

    assert_int_equal(
        Defender_EncodeReport(pContent, format, keys, buffer, BUFFER_SIZE, &length, listed),
        DEFENDER_SUCCESS);
    return length;
}

static void AssertJson(const DefenderReportContent_t *pContent, DefenderKeyStyle_t keys,
                       const char *pExpected)
{
    size_t length = EncodeOk(pContent, DEFENDER_FORMAT_JSON, keys);

    assert_int_equal(length, strlen(pExpected));
    assert_memory_equal(buffer, pExpected, length);
}

static void AssertCbor(const DefenderReportContent_t *pContent, DefenderKeyStyle_t keys,
                       const char *pHex)
{
    static uint8_t expected[4096];
    size_t expectedLength = FromHex(pHex, expected);
    size_t length = EncodeOk(pContent, DEFENDER_FORMAT_CBOR, keys);

    assert_int_equal(length, expectedLength);
    assert_memory_equal(buffer, expected, length);
}

/* ---- Byte-exact examples ------------------------------------------------------------ */

static void test_Defender_EncodeReport_Example11_1LongJson(void **state)
{
    DefenderReportContent_t content;

    (void) state;
    FillExample(&content);
    assert_int_equal(strlen(example11_1), 776);
    AssertJson(&content, DEFENDER_KEYS_LONG, example11_1);
}

static void test_Defender_EncodeReport_Example11_2ShortJson(void **state)
{
    DefenderReportContent_t content;

    (void) state;
    FillExample(&content);
    assert_int_equal(strlen(example11_2), 528);
    AssertJson(&content, DEFENDER_KEYS_SHORT, example11_2);
}

static void test_Defender_EncodeReport_VectorV4ShortCbor(void **state)
{
    DefenderReportContent_t content;

    (void) state;
    FillExample(&content);
    AssertCbor(&content, DEFENDER_KEYS_SHORT, vectorV4);
    assert_int_equal(strlen(vectorV4) / 2U, 371);
}

static void test_Defender_EncodeReport_Example11_1LongCborSize(void **state)
{
    DefenderReportContent_t content;

    (void) state;
    FillExample(&content);
    assert_int_equal(EncodeOk(&content, DEFENDER_FORMAT_CBOR, DEFENDER_KEYS_LONG), 619);
}

static void test_Defender_EncodeReport_VectorV1(void **state)
{
    DefenderReportContent_t content;
    DefenderConnection_t connection;

    (void) state;
    FillVectorV1(&content, &connection);
    AssertCbor(&content, DEFENDER_KEYS_SHORT, vectorV1);
    assert_int_equal(strlen(vectorV1) / 2U, 68);
    AssertJson(&content, DEFENDER_KEYS_SHORT, jsonV1);
}

static void test_Defender_EncodeReport_VectorV2(void **state)
{
    DefenderReportContent_t content;

    (void) state;
    memset(&content, 0, sizeof(content));
    content.reportId = 1735689600000ULL;
    AssertCbor(&content, DEFENDER_KEYS_LONG, vectorV2);
    assert_int_equal(strlen(vectorV2) / 2U, 49);
}

static void test_Defender_EncodeReport_Example11_3Minimal(void **state)
{
    DefenderReportContent_t content;
    DefenderCustomMetricValue_t custom;

    (void) state;
    memset(&content, 0, sizeof(content));
    content.reportId = 1735690200000ULL;
    AssertJson(&content, DEFENDER_KEYS_LONG,
               "{\"header\":{\"report_id\":1735690200000,\"version\":\"1.0\"},\"metrics\":{}}");
    AssertJson(&content, DEFENDER_KEYS_SHORT,
               "{\"hed\":{\"rid\":1735690200000,\"v\":\"1.0\"},\"met\":{}}");

    memset(&custom, 0, sizeof(custom));
    custom.pName = "rssi_dbm";
    custom.type = DEFENDER_CUSTOM_NUMBER;
    custom.value.number = -71.5;
    content.reportId = 1735689900000ULL;
    content.pCustom = &custom;
    content.customCount = 1;
    AssertJson(&content, DEFENDER_KEYS_LONG,
               "{\"header\":{\"report_id\":1735689900000,\"version\":\"1.0\"},\"custom_"
               "metrics\":{\"rssi_dbm\":[{\"number\":-71.5}]}}");
    assert_int_equal(EncodeOk(&content, DEFENDER_FORMAT_JSON, DEFENDER_KEYS_LONG), 103);

    content.emitEmptyMetrics = true;
    AssertJson(&content, DEFENDER_KEYS_SHORT,
               "{\"hed\":{\"rid\":1735689900000,\"v\":\"1.0\"},\"met\":{},\"cmet\":{\"rssi_dbm\":"
               "[{\"number\":-71.5}]}}");
}

static void test_Defender_EncodeReport_EmptyListsWriteTotal(void **state)
{
    DefenderReportContent_t content;

    (void) state;
    memset(&content, 0, sizeof(content));
    content.reportId = 7;
    content.groups = DEFENDER_METRIC_LISTENING_TCP_PORTS | DEFENDER_METRIC_LISTENING_UDP_PORTS |
                     DEFENDER_METRIC_TCP_CONNECTIONS;
    content.udpPorts.total = 4; /* Entries dropped to fit elsewhere: list omitted. */
    AssertJson(&content, DEFENDER_KEYS_SHORT,
               "{\"hed\":{\"rid\":7,\"v\":\"1.0\"},\"met\":{\"tp\":{\"t\":0},\"up\":{\"t\":4},"
               "\"tc\":{\"ec\":{\"t\":0}}}}");
    AssertCbor(&content, DEFENDER_KEYS_SHORT,
               "a263686564a2637269640761766331" /* {"hed":{"rid":7,"v":"1 */
               "2e30636d6574a36274"
               "70a16174006275"
               "70a16174046274"
               "63a1626563a1617400");
}

static void test_Defender_EncodeReport_WildcardAndPortZero(void **state)
{
    DefenderReportContent_t content;
    DefenderListeningPort_t ports[2];

    (void) state;
    memset(&content, 0, sizeof(content));
    memset(ports, 0, sizeof(ports));
    ports[0].port = 443;
    strcpy(ports[1].interfaceName, "lo");
    content.reportId = 1;
    content.groups = DEFENDER_METRIC_LISTENING_TCP_PORTS;
    content.tcpPorts.pEntries = ports;
    content.tcpPorts.count = 2;
    content.tcpPorts.total = 2;
    AssertJson(&content, DEFENDER_KEYS_LONG,
               "{\"header\":{\"report_id\":1,\"version\":\"1.0\"},\"metrics\":{\"listening_tcp_"
               "ports\":{\"ports\":[{\"port\":443},{\"interface\":\"lo\"}],\"total\":2}}}");
}

static void test_Defender_EncodeReport_EscapesAndUtf8(void **state)
{
    DefenderReportContent_t content;
    DefenderListeningPort_t port;
    static const char name[] = "a\"b\\c\x01\x1f\xc3\xa9\xff\x7f";
    static const char cborName[] = "a\"b\\c\x01\x1f\xc3\xa9?\x7f";

    (void) state;
    memset(&content, 0, sizeof(content));
    memset(&port, 0, sizeof(port));
    memcpy(port.interfaceName, name, sizeof(name));
    port.port = 1;
    content.reportId = 1;
    content.groups = DEFENDER_METRIC_LISTENING_UDP_PORTS;
    content.udpPorts.pEntries = &port;
    content.udpPorts.count = 1;
    content.udpPorts.total = 1;
    AssertJson(&content, DEFENDER_KEYS_SHORT,
               "{\"hed\":{\"rid\":1,\"v\":\"1.0\"},\"met\":{\"up\":{\"pts\":[{\"if\":"
               "\"a\\\"b\\\\c\\u0001\\u001f\xc3\xa9?\x7f\",\"pt\":1}],\"t\":1}}}");
    {
        size_t length = EncodeOk(&content, DEFENDER_FORMAT_CBOR, DEFENDER_KEYS_SHORT);
        uint8_t *p = memmem(buffer, length, cborName, sizeof(cborName) - 1U);

        assert_non_null(p);
        assert_int_equal(p[-1], 0x60 + sizeof(cborName) - 1U);
    }
}

static void test_Defender_EncodeReport_InterfaceNameFillsArray(void **state)
{
    DefenderReportContent_t content;
    DefenderListeningPort_t port[2];
    char expected[256];

    (void) state;
    memset(&content, 0, sizeof(content));
    memset(port, 'x', sizeof(port)); /* No terminator inside interfaceName. */
    port[0].port = 9;
    content.reportId = 1;
    content.groups = DEFENDER_METRIC_LISTENING_TCP_PORTS;
    content.tcpPorts.pEntries = port;
    content.tcpPorts.count = 1;
    content.tcpPorts.total = 1;
    snprintf(expected, sizeof(expected),
             "{\"hed\":{\"rid\":1,\"v\":\"1.0\"},\"met\":{\"tp\":{\"pts\":[{\"if\":\"%.*s\","
             "\"pt\":9}],\"t\":1}}}",
             (int) DEFENDER_INTERFACE_NAME_SIZE, port[1].interfaceName);
    AssertJson(&content, DEFENDER_KEYS_SHORT, expected);
}

static void test_Defender_EncodeReport_LargeIntegers(void **state)
{
    DefenderReportContent_t content;
    size_t length = 0;

    (void) state;
    memset(&content, 0, sizeof(content));
    content.reportId = 0x7FFFFFFFFFFFFFFFULL;
    content.groups = DEFENDER_METRIC_NETWORK_STATS;
    content.networkStats.bytesIn = UINT64_MAX; /* Clamped to 2^63-1 (PD-3). */
    content.networkStats.bytesOut = 24;
    content.networkStats.packetsIn = 256;
    content.networkStats.packetsOut = 65536;
    AssertJson(&content, DEFENDER_KEYS_SHORT,
               "{\"hed\":{\"rid\":9223372036854775807,\"v\":\"1.0\"},\"met\":{\"ns\":{\"bi\":"
               "9223372036854775807,\"bo\":24,\"pi\":256,\"po\":65536}}}");
    AssertCbor(&content, DEFENDER_KEYS_SHORT,
               "a263686564a2637269641b7fffffffffffffff617663312e30636d6574a1626e73a4626269"
               "1b7fffffffffffffff62626f18186270691901006270"
               "6f1a00010000");
    content.reportId = 0x8000000000000000ULL;
    assert_int_equal(Defender_EncodeReport(&content, DEFENDER_FORMAT_JSON, DEFENDER_KEYS_LONG,
                                           buffer, BUFFER_SIZE, &length, NULL),
                     DEFENDER_BAD_PARAMETER);
}

static void test_Defender_EncodeReport_BadParameters(void **state)
{
    DefenderReportContent_t content;
    DefenderCustomMetricValue_t custom;
    DefenderConnection_t connection;
    size_t length = 0;
    size_t listed[3] = {9, 9, 9};
    double nan = strtod("nan", NULL);

    (void) state;
    FillExample(&content);
#define EXPECT_BAD(c, f, k, b, l)                                                                  \
    assert_int_equal(Defender_EncodeReport(c, f, k, b, BUFFER_SIZE, l, listed),                    \
                     DEFENDER_BAD_PARAMETER)
    EXPECT_BAD(NULL, DEFENDER_FORMAT_JSON, DEFENDER_KEYS_LONG, buffer, &length);
    EXPECT_BAD(&content, DEFENDER_FORMAT_JSON, DEFENDER_KEYS_LONG, NULL, &length);
    EXPECT_BAD(&content, DEFENDER_FORMAT_JSON, DEFENDER_KEYS_LONG, buffer, NULL);
    EXPECT_BAD(&content, (DefenderFormat_t) 2, DEFENDER_KEYS_LONG, buffer, &length);
    EXPECT_BAD(&content, DEFENDER_FORMAT_JSON, (DefenderKeyStyle_t) 2, buffer, &length);
    assert_int_equal(listed[0] + listed[1] + listed[2], 0);
    content.reportId = 0;
    EXPECT_BAD(&content, DEFENDER_FORMAT_JSON, DEFENDER_KEYS_LONG, buffer, &length);
    FillExample(&content);
    content.connections.total = 1; /* count 2 > total */
    EXPECT_BAD(&content, DEFENDER_FORMAT_CBOR, DEFENDER_KEYS_LONG, buffer, &length);
    FillExample(&content);
    content.tcpPorts.pEntries = NULL;
    EXPECT_BAD(&content, DEFENDER_FORMAT_CBOR, DEFENDER_KEYS_LONG, buffer, &length);
    FillExample(&content);
    exCustom[0].value.number = nan;
    EXPECT_BAD(&content, DEFENDER_FORMAT_JSON, DEFENDER_KEYS_SHORT, buffer, &length);
    FillExample(&content);
    exCustom[0].value.number = 1.0 / 0.0;
    EXPECT_BAD(&content, DEFENDER_FORMAT_CBOR, DEFENDER_KEYS_SHORT, buffer, &length);
    FillExample(&content);
    exCustom[1].value.pNumbers = (const double[]){1.0, -1.0 / 0.0, 2.0};
    EXPECT_BAD(&content, DEFENDER_FORMAT_CBOR, DEFENDER_KEYS_SHORT, buffer, &length);
    FillExample(&content);
    exCustom[2].pName = NULL;
    EXPECT_BAD(&content, DEFENDER_FORMAT_CBOR, DEFENDER_KEYS_SHORT, buffer, &length);
    FillExample(&content);
    exConn[1].remoteAddress.family = 5;
    EXPECT_BAD(&content, DEFENDER_FORMAT_JSON, DEFENDER_KEYS_SHORT, buffer, &length);
    FillExample(&content);
    content.pCustom = NULL;
    EXPECT_BAD(&content, DEFENDER_FORMAT_JSON, DEFENDER_KEYS_SHORT, buffer, &length);
    /* A disabled group's list is not looked at. */
    memset(&content, 0, sizeof(content));
    memset(&connection, 0, sizeof(connection));
    memset(&custom, 0, sizeof(custom));
    content.reportId = 5;
    content.connections.pEntries = &connection;
    content.connections.count = 1;
    content.connections.total = 1;
    assert_int_equal(Defender_EncodeReport(&content, DEFENDER_FORMAT_JSON, DEFENDER_KEYS_SHORT,
                                           buffer, BUFFER_SIZE, &length, listed),
                     DEFENDER_SUCCESS);
    assert_int_equal(listed[0], 0);
#undef EXPECT_BAD
}

/* ---- Independent decoding ------------------------------------------------------------ */

typedef enum
{
    K_HEADER,
    K_METRICS,
    K_CUSTOM,
    K_RID,
    K_VERSION,
    K_TP,
    K_UP,
    K_PORTS,
    K_PORT,
    K_IF,
    K_TOTAL,
    K_NS,
    K_BI,
    K_BO,
    K_PI,
    K_PO,
    K_TC,
    K_EC,
    K_CS,
    K_RAD,
    K_LP,
    K_LI,
    K_COUNT
} TestKey_t;

/* Written again here from the spec's table, independent of the encoder's. */
static const char *const testKeys[K_COUNT][2] = {
    {"header", "hed"},
    {"metrics", "met"},
    {"custom_metrics", "cmet"},
    {"report_id", "rid"},
    {"version", "v"},
    {"listening_tcp_ports", "tp"},
    {"listening_udp_ports", "up"},
    {"ports", "pts"},
    {"port", "pt"},
    {"interface", "if"},
    {"total", "t"},
    {"network_stats", "ns"},
    {"bytes_in", "bi"},
    {"bytes_out", "bo"},
    {"packets_in", "pi"},
    {"packets_out", "po"},
    {"tcp_connections", "tc"},
    {"established_connections", "ec"},
    {"connections", "cs"},
    {"remote_addr", "rad"},
    {"local_port", "lp"},
    {"local_interface", "li"},
};

static int style;

/* Converts a libcbor item to a cJSON tree, checking the encoder's CBOR rules. */
static cJSON *CborToJson(cbor_item_t *pItem)
{
    cJSON *pOut = NULL;
    size_t i;
    char text[1024];

    switch (cbor_typeof(pItem))
    {
        case CBOR_TYPE_UINT:
            pOut = cJSON_CreateNumber((double) cbor_get_int(pItem));
            break;
        case CBOR_TYPE_NEGINT:
            pOut = cJSON_CreateNumber(-1.0 - (double) cbor_get_int(pItem));
            break;
        case CBOR_TYPE_FLOAT_CTRL:
            assert_int_equal(cbor_float_get_width(pItem), CBOR_FLOAT_64);
            pOut = cJSON_CreateNumber(cbor_float_get_float8(pItem));
            break;
        case CBOR_TYPE_STRING:
            assert_true(cbor_string_is_definite(pItem));
            assert_true(cbor_string_length(pItem) < sizeof(text));
            memcpy(text, cbor_string_handle(pItem), cbor_string_length(pItem));
            text[cbor_string_length(pItem)] = '\0';
            pOut = cJSON_CreateString(text);
            break;
        case CBOR_TYPE_ARRAY:
            assert_true(cbor_array_is_definite(pItem));
            pOut = cJSON_CreateArray();
            for (i = 0; i < cbor_array_size(pItem); i++)
            {
                cJSON_AddItemToArray(pOut, CborToJson(cbor_array_handle(pItem)[i]));
            }
            break;
        case CBOR_TYPE_MAP:
            assert_true(cbor_map_is_definite(pItem));
            pOut = cJSON_CreateObject();
            for (i = 0; i < cbor_map_size(pItem); i++)
            {
                struct cbor_pair pair = cbor_map_handle(pItem)[i];
                assert_int_equal(cbor_typeof(pair.key), CBOR_TYPE_STRING);
                memcpy(text, cbor_string_handle(pair.key), cbor_string_length(pair.key));
                text[cbor_string_length(pair.key)] = '\0';
                assert_null(cJSON_GetObjectItemCaseSensitive(pOut, text));
                cJSON_AddItemToObject(pOut, text, CborToJson(pair.value));
            }
            break;
        default:
            fail_msg("unexpected CBOR type %d", (int) cbor_typeof(pItem));
            break;
    }
    return pOut;
}

/* Checks the CBOR integers are in shortest form by re-serialising with libcbor. */
static cJSON *Decode(DefenderFormat_t format, const uint8_t *pData, size_t length)
{
    cJSON *pRoot;

    if (format == DEFENDER_FORMAT_JSON)
    {
        pRoot = cJSON_ParseWithLength((const char *) pData, length);
        assert_non_null(pRoot);
    }
    else
    {
        struct cbor_load_result result;
        cbor_item_t *pItem = cbor_load(pData, length, &result);
        unsigned char *pCopy = NULL;
        size_t copySize = 0;
        size_t copyLength;

        assert_non_null(pItem);
        assert_int_equal(result.error.code, CBOR_ERR_NONE);
        assert_int_equal(result.read, length);
        /* libcbor serialises in shortest form: must give the same bytes. */
        copyLength = cbor_serialize_alloc(pItem, &pCopy, &copySize);
        assert_int_equal(copyLength, length);
        assert_memory_equal(pCopy, pData, length);
        free(pCopy);
        pRoot = CborToJson(pItem);
        cbor_decref(&pItem);
    }
    return pRoot;
}

static const cJSON *Get(const cJSON *pObject, TestKey_t key)
{
    const cJSON *pItem = cJSON_GetObjectItemCaseSensitive(pObject, testKeys[key][style]);

    assert_non_null(pItem);
    return pItem;
}

static void AssertKeys(const cJSON *pObject, size_t count)
{
    assert_true(cJSON_IsObject(pObject));
    assert_int_equal(cJSON_GetArraySize(pObject), count);
}

static void AssertUint(const cJSON *pObject, TestKey_t key, uint64_t value)
{
    const cJSON *pItem = Get(pObject, key);

    assert_true(cJSON_IsNumber(pItem));
    assert_true(pItem->valuedouble == (double) value);
}

static void AssertString(const cJSON *pItem, const char *pExpected)
{
    assert_true(cJSON_IsString(pItem));
    assert_string_equal(pItem->valuestring, pExpected);
}

static double RoundedExpected(double value)
{
    char text[64];

    snprintf(text, sizeof(text), "%.15g", value);
    return strtod(text, NULL);
}

static void AssertPorts(const cJSON *pBlock, const DefenderPortList_t *pList, size_t listed)
{
    const cJSON *pPorts;
    size_t i;

    AssertKeys(pBlock, (listed != 0U) ? 2U : 1U);
    AssertUint(pBlock, K_TOTAL, pList->total);
    if (listed != 0U)
    {
        pPorts = Get(pBlock, K_PORTS);
        assert_int_equal(cJSON_GetArraySize(pPorts), listed);
        for (i = 0; i < listed; i++)
        {
            const cJSON *pEntry = cJSON_GetArrayItem(pPorts, (int) i);
            const DefenderListeningPort_t *pPort = &pList->pEntries[i];
            size_t keys = (pPort->interfaceName[0] != '\0') + (pPort->port != 0);

            AssertKeys(pEntry, keys);
            if (pPort->interfaceName[0] != '\0')
            {
                AssertString(Get(pEntry, K_IF), pPort->interfaceName);
            }
            if (pPort->port != 0)
            {
                AssertUint(pEntry, K_PORT, pPort->port);
            }
        }
    }
}

static void ExpectedRemote(const DefenderConnection_t *pConnection, char *pText)
{
    char address[64];
    const uint8_t *b = pConnection->remoteAddress.bytes;
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

    if (pConnection->remoteAddress.family == 4 || memcmp(b, mapped, 12) == 0)
    {
        const uint8_t *v4 = (pConnection->remoteAddress.family == 4) ? b : &b[12];
        snprintf(pText, 128, "%u.%u.%u.%u:%u", v4[0], v4[1], v4[2], v4[3], pConnection->remotePort);
    }
    else
    {
        assert_non_null(Defender_FormatIpAddress(&pConnection->remoteAddress, address, 64) ? address
                                                                                           : NULL);
        snprintf(pText, 128, "[%s]:%u", address, pConnection->remotePort);
    }
}

/* Compares a decoded report with its content (listed entries given). */
static void AssertContent(const cJSON *pRoot, const DefenderReportContent_t *pContent,
                          const size_t *pListed)
{
    const cJSON *pHeader;
    const cJSON *pMetrics;
    uint32_t groups = pContent->groups & DEFENDER_METRIC_ALL;
    bool hasMetrics = (groups != 0) || (pContent->customCount == 0) || pContent->emitEmptyMetrics;
    size_t i;
    size_t j;

    AssertKeys(pRoot, 1U + hasMetrics + (pContent->customCount != 0));
    pHeader = Get(pRoot, K_HEADER);
    AssertKeys(pHeader, 2);
    AssertUint(pHeader, K_RID, pContent->reportId);
    AssertString(Get(pHeader, K_VERSION), "1.0");
    if (hasMetrics)
    {
        pMetrics = Get(pRoot, K_METRICS);
        AssertKeys(pMetrics, (size_t) __builtin_popcount(groups));
        if (groups & DEFENDER_METRIC_LISTENING_TCP_PORTS)
        {
            AssertPorts(Get(pMetrics, K_TP), &pContent->tcpPorts, pListed[1]);
        }
        if (groups & DEFENDER_METRIC_LISTENING_UDP_PORTS)
        {
            AssertPorts(Get(pMetrics, K_UP), &pContent->udpPorts, pListed[2]);
        }
        if (groups & DEFENDER_METRIC_NETWORK_STATS)
        {
            const cJSON *pStats = Get(pMetrics, K_NS);
            AssertKeys(pStats, 4);
            AssertUint(pStats, K_BI, pContent->networkStats.bytesIn);
            AssertUint(pStats, K_BO, pContent->networkStats.bytesOut);
            AssertUint(pStats, K_PI, pContent->networkStats.packetsIn);
            AssertUint(pStats, K_PO, pContent->networkStats.packetsOut);
        }
        if (groups & DEFENDER_METRIC_TCP_CONNECTIONS)
        {
            const cJSON *pTc = Get(pMetrics, K_TC);
            const cJSON *pEc;
            AssertKeys(pTc, 1);
            pEc = Get(pTc, K_EC);
            AssertKeys(pEc, (pListed[0] != 0U) ? 2U : 1U);
            AssertUint(pEc, K_TOTAL, pContent->connections.total);
            if (pListed[0] != 0U)
            {
                const cJSON *pList = Get(pEc, K_CS);
                assert_int_equal(cJSON_GetArraySize(pList), pListed[0]);
                for (i = 0; i < pListed[0]; i++)
                {
                    const cJSON *pEntry = cJSON_GetArrayItem(pList, (int) i);
                    const DefenderConnection_t *pC = &pContent->connections.pEntries[i];
                    char remote[128];
                    AssertKeys(pEntry, 1U + (pC->localInterface[0] != '\0') + (pC->localPort != 0));
                    if (pC->localInterface[0] != '\0')
                    {
                        AssertString(Get(pEntry, K_LI), pC->localInterface);
                    }
                    if (pC->localPort != 0)
                    {
                        AssertUint(pEntry, K_LP, pC->localPort);
                    }
                    ExpectedRemote(pC, remote);
                    AssertString(Get(pEntry, K_RAD), remote);
                }
            }
        }
    }
    if (pContent->customCount != 0)
    {
        const cJSON *pCustom = Get(pRoot, K_CUSTOM);
        static const char *const valueKeys[] = {"number", "number_list", "string_list", "ip_list"};
        AssertKeys(pCustom, pContent->customCount);
        for (i = 0; i < pContent->customCount; i++)
        {
            const DefenderCustomMetricValue_t *pM = &pContent->pCustom[i];
            const cJSON *pArray = cJSON_GetArrayItem(pCustom, (int) i);
            const cJSON *pMap;
            const cJSON *pValue;

            assert_string_equal(pArray->string, pM->pName);
            assert_true(cJSON_IsArray(pArray));
            assert_int_equal(cJSON_GetArraySize(pArray), 1);
            pMap = cJSON_GetArrayItem(pArray, 0);
            AssertKeys(pMap, 1);
            pValue = cJSON_GetObjectItemCaseSensitive(pMap, valueKeys[pM->type]);
            assert_non_null(pValue);
            if (pM->type == DEFENDER_CUSTOM_NUMBER)
            {
                assert_true(cJSON_IsNumber(pValue));
#if DEFENDER_CONFIG_EXACT_NUMBER_TEXT
                assert_true(pValue->valuedouble == RoundedExpected(pM->value.number));
#else
                /* Compact numbers: within two units in the 15th digit of %.15g's. */
                assert_true(fabs(pValue->valuedouble - RoundedExpected(pM->value.number)) <=
                            fabs(pValue->valuedouble) * 2.0000001e-14);
#endif
            }
            else
            {
                assert_true(cJSON_IsArray(pValue));
                assert_int_equal(cJSON_GetArraySize(pValue), pM->value.count);
                for (j = 0; j < pM->value.count; j++)
                {
                    const cJSON *pE = cJSON_GetArrayItem(pValue, (int) j);
                    if (pM->type == DEFENDER_CUSTOM_NUMBER_LIST)
                    {
                        assert_true(cJSON_IsNumber(pE));
#if DEFENDER_CONFIG_EXACT_NUMBER_TEXT
                        if (pE->valuedouble != RoundedExpected(pM->value.pNumbers[j]))
#else
                        /* Compact numbers: within two units in the 15th digit of %.15g's. */
                        if (fabs(pE->valuedouble - RoundedExpected(pM->value.pNumbers[j])) >
                            fabs(pE->valuedouble) * 2.0000001e-14)
#endif
                        {
                            fail_msg("%.17g decoded as %.17g", pM->value.pNumbers[j],
                                     pE->valuedouble);
                        }
                    }
                    else
                    {
                        AssertString(pE, pM->value.ppStrings[j]);
                    }
                }
            }
        }
    }
}

/* Random report storage. */
static DefenderConnection_t rConn[MAX_ENTRIES];
static DefenderListeningPort_t rTcp[MAX_ENTRIES];
static DefenderListeningPort_t rUdp[MAX_ENTRIES];
static DefenderCustomMetricValue_t rCustom[6];
static char rNames[6][140];
static double rNumbers[6][8];
static char rStrings[6][8][64];
static const char *rStringPointers[6][8];

static void RandomName(char *pName, size_t size)
{
    static const char odd[] = "\"\\\x01\x1f\t\n\x7f";
    size_t length = RandBelow((uint32_t) size);
    size_t i;

    for (i = 0; i < length; i++)
    {
        uint32_t kind = RandBelow(10);
        if (kind == 0)
        {
            pName[i] = odd[RandBelow(sizeof(odd) - 1U)];
        }
        else if ((kind == 1) && (i + 2 <= length))
        {
            pName[i++] = (char) 0xc3; /* é: valid UTF-8 */
            pName[i] = (char) 0xa9;
        }
        else
        {
            pName[i] = (char) ('a' + RandBelow(26));
        }
    }
    pName[length] = '\0';
}

static void RandomAddress(DefenderIpAddress_t *pAddress)
{
    size_t i;
    uint32_t kind = RandBelow(4);

    memset(pAddress, 0, sizeof(*pAddress));
    pAddress->family = (kind == 0) ? 4 : 6;
    for (i = 0; i < 16; i++)
    {
        pAddress->bytes[i] = (RandBelow(3) == 0) ? 0 : (uint8_t) Rand64();
    }
    if (kind == 0)
    {
        memset(&pAddress->bytes[4], 0, 12);
    }
    else if (kind == 1)
    {
        memset(pAddress->bytes, 0, 10);
        pAddress->bytes[10] = 0xff;
        pAddress->bytes[11] = 0xff;
    }
}

static double RandomNumber(void)
{
    double value;
    uint64_t bits;

    switch (RandBelow(5))
    {
        case 0:
            value = (double) (int64_t) (Rand64() >> RandBelow(64));
            break;
        case 1:
            value = (double) (int32_t) Rand64() / 16.0;
            break;
        case 2:
            do
            {
                bits = Rand64();
                memcpy(&value, &bits, sizeof(value));
            } while ((value - value) != 0.0);
            break;
        case 3:
            value = ((double) Rand64() / 18446744073709551616.0) * 1000.0;
            break;
        default:
            value = -((double) RandBelow(1000000) / 1000.0);
            break;
    }
    return (RandBelow(2) == 0) ? value : -value;
}

static void RandomContent(DefenderReportContent_t *pContent, size_t maxEntries)
{
    size_t i;
    size_t j;
    static const char strChars[] = "ABCxyz019:_./-";

    memset(pContent, 0, sizeof(*pContent));
    pContent->reportId = 1U + (Rand64() >> (1U + RandBelow(63)));
    pContent->groups = RandBelow(16);
    pContent->emitEmptyMetrics = RandBelow(2) != 0;
    pContent->connections.count = RandBelow((uint32_t) maxEntries + 1U);
    pContent->connections.total = pContent->connections.count + RandBelow(3);
    pContent->connections.pEntries = rConn;
    pContent->tcpPorts.count = RandBelow((uint32_t) maxEntries + 1U);
    pContent->tcpPorts.total = pContent->tcpPorts.count + RandBelow(3);
    pContent->tcpPorts.pEntries = rTcp;
    pContent->udpPorts.count = RandBelow((uint32_t) maxEntries + 1U);
    pContent->udpPorts.total = pContent->udpPorts.count;
    pContent->udpPorts.pEntries = rUdp;
    pContent->networkStats.bytesIn = Rand64() >> (11 + RandBelow(53));
    pContent->networkStats.bytesOut = Rand64() >> (11 + RandBelow(53));
    pContent->networkStats.packetsIn = RandBelow(30);
    pContent->networkStats.packetsOut = Rand64() >> 11;
    for (i = 0; i < maxEntries; i++)
    {
        RandomAddress(&rConn[i].remoteAddress);
        rConn[i].remotePort = (uint16_t) Rand64();
        rConn[i].localPort = (RandBelow(8) == 0) ? 0 : (uint16_t) Rand64();
        RandomName(rConn[i].localInterface, sizeof(rConn[i].localInterface));
        rTcp[i].port = (RandBelow(8) == 0) ? 0 : (uint16_t) Rand64();
        RandomName(rTcp[i].interfaceName, sizeof(rTcp[i].interfaceName));
        rUdp[i].port = (uint16_t) (1U + RandBelow(65535));
        RandomName(rUdp[i].interfaceName, sizeof(rUdp[i].interfaceName));
    }
    pContent->customCount = RandBelow(7);
    pContent->pCustom = rCustom;
    for (i = 0; i < pContent->customCount; i++)
    {
        DefenderCustomMetricValue_t *pM = &rCustom[i];
        size_t nameLength = 1U + RandBelow(128);
        for (j = 0; j < nameLength; j++)
        {
            rNames[i][j] = "abcXYZ09:_-"[RandBelow(11)];
        }
        rNames[i][nameLength] = '\0';
        rNames[i][0] = (char) ('a' + i); /* Unique names. */
        memset(pM, 0, sizeof(*pM));
        pM->pName = rNames[i];
        pM->type = (DefenderCustomMetricType_t) RandBelow(4);
        pM->value.count = RandBelow(9);
        pM->value.number = RandomNumber();
        pM->value.pNumbers = rNumbers[i];
        pM->value.ppStrings = rStringPointers[i];
        for (j = 0; j < 8; j++)
        {
            rNumbers[i][j] = RandomNumber();
            rStringPointers[i][j] = rStrings[i][j];
            if (pM->type == DEFENDER_CUSTOM_IP_LIST)
            {
                DefenderIpAddress_t address;
                RandomAddress(&address);
                assert_true(Defender_FormatIpAddress(&address, rStrings[i][j], 64) > 0);
            }
            else
            {
                size_t length = 1U + RandBelow(60);
                size_t k;
                for (k = 0; k < length; k++)
                {
                    rStrings[i][j][k] = strChars[RandBelow(sizeof(strChars) - 1U)];
                }
                rStrings[i][j][length] = '\0';
            }
        }
        assert_true(Defender_CustomMetricNameValid(pM->pName, strlen(pM->pName)));
        assert_true(Defender_CustomMetricValueValid(pM->type, &pM->value));
    }
}

static void test_Defender_EncodeReport_RandomDecodesToContent(void **state)
{
    DefenderReportContent_t content;
    size_t listed[3];
    size_t length;
    int iteration;
    int combo;

    (void) state;
    rngState = 12345;
    for (iteration = 0; iteration < 300; iteration++)
    {
        RandomContent(&content, 40);
        for (combo = 0; combo < 4; combo++)
        {
            DefenderFormat_t format = (combo & 1) ? DEFENDER_FORMAT_CBOR : DEFENDER_FORMAT_JSON;
            cJSON *pRoot;

            style = combo >> 1;
            assert_int_equal(Defender_EncodeReport(&content, format, (DefenderKeyStyle_t) style,
                                                   buffer, BUFFER_SIZE, &length, listed),
                             DEFENDER_SUCCESS);
            assert_int_equal(listed[0], (content.groups & DEFENDER_METRIC_TCP_CONNECTIONS)
                                            ? content.connections.count
                                            : 0);
            pRoot = Decode(format, buffer, length);
            AssertContent(pRoot, &content, listed);
            cJSON_Delete(pRoot);
        }
    }
}

static void test_Defender_EncodeReport_FitsByDroppingEntries(void **state)
{
    DefenderReportContent_t content;
    size_t listed[3];
    size_t again[3];
    size_t length;
    size_t fullLength;
    size_t size;
    size_t i;
    int iteration;
    int combo;
    DefenderStatus_t status;

    (void) state;
    rngState = 777;
    for (iteration = 0; iteration < 150; iteration++)
    {
        RandomContent(&content, 60);
        for (combo = 0; combo < 4; combo++)
        {
            DefenderFormat_t format = (combo & 1) ? DEFENDER_FORMAT_CBOR : DEFENDER_FORMAT_JSON;
            style = combo >> 1;
            fullLength = EncodeOk(&content, format, (DefenderKeyStyle_t) style);
            size = RandBelow((uint32_t) fullLength + 20U);
            memset(buffer, CANARY, sizeof(buffer));
            length = 0;
            status = Defender_EncodeReport(&content, format, (DefenderKeyStyle_t) style, buffer,
                                           size, &length, listed);
            for (i = size; i < size + CANARY_BYTES; i++)
            {
                assert_int_equal(buffer[i], CANARY);
            }
            if (status == DEFENDER_BUFFER_TOO_SMALL)
            {
                assert_int_equal(listed[0] + listed[1] + listed[2], 0);
                continue;
            }
            assert_int_equal(status, DEFENDER_SUCCESS);
            assert_true(length <= size);
            {
                cJSON *pRoot = Decode(format, buffer, length);
                AssertContent(pRoot, &content, listed);
                cJSON_Delete(pRoot);
            }
            if (length < fullLength)
            {
                /* Longest list first: no list is more than one shorter than another
                 * list that still has more entries than it. */
                size_t maxListed = listed[0];
                for (i = 1; i < 3; i++)
                {
                    maxListed = (listed[i] > maxListed) ? listed[i] : maxListed;
                }
                assert_true(listed[0] + 1U >= maxListed || listed[0] == content.connections.count ||
                            !(content.groups & DEFENDER_METRIC_TCP_CONNECTIONS));
                assert_true(listed[1] + 1U >= maxListed || listed[1] == content.tcpPorts.count ||
                            !(content.groups & DEFENDER_METRIC_LISTENING_TCP_PORTS));
                assert_true(listed[2] + 1U >= maxListed || listed[2] == content.udpPorts.count ||
                            !(content.groups & DEFENDER_METRIC_LISTENING_UDP_PORTS));
                /* One byte less must list fewer entries: the fit is tight. */
                status = Defender_EncodeReport(&content, format, (DefenderKeyStyle_t) style, buffer,
                                               length - 1U, &length, again);
                assert_true((status == DEFENDER_BUFFER_TOO_SMALL) ||
                            (again[0] + again[1] + again[2] < listed[0] + listed[1] + listed[2]));
            }
        }
    }
}

static void test_Defender_EncodeReport_BufferTooSmall(void **state)
{
    DefenderReportContent_t content;
    size_t listed[3] = {1, 1, 1};
    size_t length = 0;
    size_t size;

    (void) state;
    FillExample(&content);
    for (size = 0; size < 600; size++)
    {
        memset(buffer, CANARY, 1024);
        DefenderStatus_t status = Defender_EncodeReport(
            &content, DEFENDER_FORMAT_JSON, DEFENDER_KEYS_SHORT, buffer, size, &length, listed);
        assert_true(buffer[size] == CANARY);
        if (status == DEFENDER_SUCCESS)
        {
            assert_true(length <= size);
            break;
        }
        assert_int_equal(status, DEFENDER_BUFFER_TOO_SMALL);
        assert_int_equal(listed[0] + listed[1] + listed[2], 0);
    }
    /* The first size that succeeds lists no entries at all (totals only). */
    assert_true(size < 528);
    assert_int_equal(listed[0] + listed[1] + listed[2], 0);
    assert_int_equal(length, size);
}

/** @brief PD-10: a report payload is at most 131072 bytes, whatever the buffer: beyond it,
 * entries are dropped (the totals stay true), and a report that is longer even without any
 * entry is not written. */
static void test_Defender_EncodeReport_AtMost128KiB(void **state)
{
    static DefenderConnection_t connections[2000];
    static char text[100];
    static const char *strings[2000];
    DefenderReportContent_t content;
    DefenderCustomMetricValue_t custom;
    size_t listed[3];
    size_t length = 0;
    size_t i;
    cJSON *pRoot;

    (void) state;
    memset(&content, 0, sizeof(content));
    memset(connections, 0, sizeof(connections));
    for (i = 0; i < 2000U; i++)
    {
        connections[i].remoteAddress.family = 6;
        memset(connections[i].remoteAddress.bytes, 0xAB, 16);
        connections[i].remotePort = 50000;
        connections[i].localPort = (uint16_t) (1000U + i);
        strcpy(connections[i].localInterface, "eth0");
    }
    content.reportId = 1735689600000ULL;
    content.groups = DEFENDER_METRIC_TCP_CONNECTIONS;
    content.connections.pEntries = connections;
    content.connections.count = 2000;
    content.connections.total = 2000;
    style = DEFENDER_KEYS_LONG;
    for (i = 0; i < 2; i++)
    {
        DefenderFormat_t format = (i == 0) ? DEFENDER_FORMAT_JSON : DEFENDER_FORMAT_CBOR;
        assert_int_equal(Defender_EncodeReport(&content, format, DEFENDER_KEYS_LONG, buffer,
                                               BUFFER_SIZE, &length, listed),
                         DEFENDER_SUCCESS);
        assert_true(length <= 131072U);
        /* Tight: one more entry (about 100 bytes) would not have fitted. */
        assert_true(length > (131072U - 200U));
        assert_true((listed[0] > 0U) && (listed[0] < 2000U));
        pRoot = Decode(format, buffer, length);
        AssertContent(pRoot, &content, listed);
        cJSON_Delete(pRoot);
    }

    /* Custom metrics cannot be shortened: over 131072 bytes without any entry. */
    memset(text, 'x', sizeof(text) - 1U);
    for (i = 0; i < 2000U; i++)
    {
        strings[i] = text;
    }
    memset(&custom, 0, sizeof(custom));
    custom.pName = "tasks";
    custom.type = DEFENDER_CUSTOM_STRING_LIST;
    custom.value.ppStrings = strings;
    custom.value.count = 2000;
    content.pCustom = &custom;
    content.customCount = 1;
    assert_int_equal(Defender_EncodeReport(&content, DEFENDER_FORMAT_CBOR, DEFENDER_KEYS_SHORT,
                                           buffer, BUFFER_SIZE, &length, listed),
                     DEFENDER_BUFFER_TOO_SMALL);
    assert_int_equal(listed[0], 0);
    /* Under the limit it is written, with the entries that still fit. */
    custom.value.count = 1250;
    assert_int_equal(Defender_EncodeReport(&content, DEFENDER_FORMAT_CBOR, DEFENDER_KEYS_SHORT,
                                           buffer, BUFFER_SIZE, &length, listed),
                     DEFENDER_SUCCESS);
    assert_true((length <= 131072U) && (length > (131072U - 200U)));
    assert_true((listed[0] > 0U) && (listed[0] < 100U));
}

/* ---- Numbers --------------------------------------------------------------------------- */

static size_t JsonNumber(double value, char *pText)
{
    DefenderReportNumber_t number;
    DefenderReportWriter_t writer;

    memset(&writer, 0, sizeof(writer));
    writer.pBuffer = (uint8_t *) pText;
    writer.bufferSize = 63;
    DefenderReport_RoundNumber(value, &number);
    DefenderReportJson_Number(&writer, &number);
    pText[writer.length] = '\0';
    return writer.length;
}

#if DEFENDER_CONFIG_EXACT_NUMBER_TEXT
static void test_DefenderReport_RoundNumber_MatchesPrintf(void **state)
{
    char ours[64];
    char glibc[64];
    char again[64];
    double value;
    double parsed;
    uint64_t bits;
    int i;
    int differences = 0;
    int tried = 0;
    DefenderReportNumber_t number;
    static const double fixed[] = {0.0,
                                   -0.0,
                                   1.0,
                                   -67.0,
                                   7.5,
                                   -71.5,
                                   0.1,
                                   0.0001,
                                   0.00001,
                                   123456789012345.0,
                                   1234567890123456.0,
                                   9007199254740992.0,
                                   9007199254740993.0,
                                   1e15,
                                   1e16,
                                   1e300,
                                   5e-324,
                                   1.7976931348623157e308,
                                   0.99999999999999999,
                                   0.999999999999999,
                                   123456.7890123456789,
                                   3.14159265358979323846,
                                   1000000000000005.0,
                                   2.5e-5};

    (void) state;
    rngState = 4242;
    for (i = 0; i < 400000; i++)
    {
        if (i < (int) (sizeof(fixed) / sizeof(fixed[0])))
        {
            value = fixed[i];
        }
        else if ((i & 1) != 0)
        {
            do
            {
                bits = Rand64();
                memcpy(&value, &bits, sizeof(value));
            } while ((value - value) != 0.0);
        }
        else
        {
            value = RandomNumber();
        }
        tried++;
        JsonNumber(value, ours);
        DefenderReport_RoundNumber(value, &number);
        snprintf(glibc, sizeof(glibc), "%.15g", value);
        parsed = strtod(ours, NULL);
        if (number.isInteger)
        {
            /* Integer text: same value as %.15g's. */
            assert_true(parsed == strtod(glibc, NULL));
            assert_null(strpbrk(ours, ".e"));
        }
        else
        {
            /* Our text re-prints identically. */
            snprintf(again, sizeof(again), "%.15g", parsed);
            if (strcmp(again, ours) != 0)
            {
                fail_msg("%s re-prints as %s (value %.17g)", ours, again, value);
            }
            if (strcmp(ours, glibc) != 0)
            {
                differences++;
            }
        }
        /* The rounded double is the text's value (what CBOR carries). */
        if (!(number.rounded == parsed || (parsed == 0.0 && number.rounded == 0.0)))
        {
            fail_msg("value %.17g: text %s, rounded %.17g", value, ours, number.rounded);
        }
    }
    print_message("numbers: %d of %d texts differ from glibc %%.15g in the last digit\n",
                  differences, tried);
    assert_true(differences * 10000 < tried);
    JsonNumber(-0.0, ours);
    assert_string_equal(ours, "0");
    JsonNumber(1234567890123456.0, ours);
    assert_string_equal(ours, "1234567890123460");
    JsonNumber(1e16, ours);
    assert_string_equal(ours, "1e+16");
    JsonNumber(2.5e-5, ours);
    assert_string_equal(ours, "2.5e-05");
    JsonNumber(0.0001, ours);
    assert_string_equal(ours, "0.0001");
    JsonNumber(-71.5, ours);
    assert_string_equal(ours, "-71.5");
    JsonNumber(0.99999999999999999, ours);
    assert_string_equal(ours, "1");
}

#endif /* DEFENDER_CONFIG_EXACT_NUMBER_TEXT */

/* The PD-12 property (both DEFENDER_CONFIG_EXACT_NUMBER_TEXT modes; 0 is compact). The text
 * has at most 15 significant digits and re-prints as itself with %.15g (so
 * strtod(snprintf("%.15g", t)) == t for the value t it parses to), it is within one
 * unit in the 15th digit of the value (two for decimal exponents outside -8..36 in
 * compact mode), and the CBOR double is t (exponents -8..36). */
static void test_DefenderReport_RoundNumber_CompactConforms(void **state)
{
    char ours[64];
    char again[64];
    double value;
    double parsed;
    long double unit;
    uint64_t bits;
    int i;
    int exponent;
    int differences = 0;
    DefenderReportNumber_t number;
    static const double fixed[] = {0.0,
                                   -0.0,
                                   1.0,
                                   -67.0,
                                   7.5,
                                   0.1,
                                   1e-5,
                                   1e15,
                                   1e16,
                                   1e300,
                                   2.2250738585072014e-308,
                                   1.7976931348623157e308,
                                   0.99999999999999999,
                                   9007199254740993.0,
                                   1000000000000005.0,
                                   2.5e-5};

    (void) state;
    rngState = 777;
    for (i = 0; (unsigned long) i < TestScale(1000000UL); i++)
    {
        if (i < (int) (sizeof(fixed) / sizeof(fixed[0])))
        {
            value = fixed[i];
        }
        else if ((i & 1) != 0)
        {
            do
            {
                bits = Rand64();
                memcpy(&value, &bits, sizeof(value));
            } while ((value - value) != 0.0);
        }
        else
        {
            value = RandomNumber();
        }
        JsonNumber(value, ours);
        DefenderReport_RoundNumber(value, &number);
        parsed = strtod(ours, NULL);
        snprintf(again, sizeof(again), "%.15g", parsed);
        if (number.isInteger)
        {
            assert_null(strpbrk(ours, ".e"));
            snprintf(again, sizeof(again), "%.0f", parsed);
        }
        if ((strcmp(again, ours) != 0) && (fabs(parsed) >= 2.2250738585072014e-308))
        {
            fail_msg("%s re-prints as %s (value %.17g)", ours, again, value);
        }
        assert_true(strtod(again, NULL) == parsed);
        /* Subnormal values (below 2.2e-308) carry fewer digits; compact mode may be a
         * few units off there. */
        if (fabs(value) >= 2.2250738585072014e-308)
        {
            exponent = (int) floorl(log10l(fabsl((long double) value)));
            unit = powl(10.0L, (long double) (exponent - 14));
            /* One unit where one exact scaling step suffices, else two. */
            unit *= ((exponent >= -8) && (exponent <= 36)) ? 1.000001L : 2.000001L;
            if (fabsl((long double) parsed - (long double) value) > unit)
            {
                fail_msg("value %.17g: text %s is more than one unit off", value, ours);
            }
            if ((exponent >= -8) && (exponent <= 36) &&
                !(number.rounded == parsed || (parsed == 0.0 && number.rounded == 0.0)))
            {
                fail_msg("value %.17g: text %s, rounded %.17g", value, ours, number.rounded);
            }
        }
        snprintf(again, sizeof(again), "%.15g", value);
        differences += (strcmp(again, ours) != 0) && !number.isInteger;
    }
    print_message("compact numbers: %d of %d texts differ from glibc %%.15g\n", differences, i);
    JsonNumber(1234567890123456.0, ours);
    assert_string_equal(ours, "1234567890123460");
    JsonNumber(2.5e-5, ours);
    assert_string_equal(ours, "2.5e-05");
    JsonNumber(-71.5, ours);
    assert_string_equal(ours, "-71.5");
    JsonNumber(0.99999999999999999, ours);
    assert_string_equal(ours, "1");
}

static void test_Defender_EncodeReport_CborNumbers(void **state)
{
    DefenderReportContent_t content;
    DefenderCustomMetricValue_t custom;
    static const double numbers[] = {
        0.0, 23.0, -24.0, -25.0, 9007199254740992.0 /* rounds to ...990 */, -0.5, 1e20};

    (void) state;
    memset(&content, 0, sizeof(content));
    memset(&custom, 0, sizeof(custom));
    custom.pName = "n";
    custom.type = DEFENDER_CUSTOM_NUMBER_LIST;
    custom.value.pNumbers = numbers;
    custom.value.count = 7;
    content.reportId = 1;
    content.pCustom = &custom;
    content.customCount = 1;
    AssertCbor(&content, DEFENDER_KEYS_SHORT,
               "a263686564a2637269640161766331"
               "2e30"
               "64636d6574a1616e81a16b6e756d6265725f6c69737487"
               "00"
               "17"
               "37"
               "3818"
               "1b001ffffffffffffe"
               "fbbfe0000000000000"
               "fb4415af1d78b58c40");
    AssertJson(&content, DEFENDER_KEYS_SHORT,
               "{\"hed\":{\"rid\":1,\"v\":\"1.0\"},\"cmet\":{\"n\":[{\"number_list\":[0,23,-24,"
               "-25,9007199254740990,-0.5,1e+20]}]}}");
}

/* ---- Validation -------------------------------------------------------------------------- */

static void test_Defender_CustomMetricNameValid_Rules(void **state)
{
    char name[130];

    (void) state;
    assert_true(Defender_CustomMetricNameValid("a", 1));
    assert_true(Defender_CustomMetricNameValid("cpu:load_1-x", 12));
    assert_true(Defender_CustomMetricNameValid("AWS:x", 5));
    assert_true(Defender_CustomMetricNameValid("aws", 3));
    assert_false(Defender_CustomMetricNameValid("aws:x", 5));
    assert_false(Defender_CustomMetricNameValid("", 0));
    assert_false(Defender_CustomMetricNameValid(NULL, 1));
    assert_false(Defender_CustomMetricNameValid("a b", 3));
    assert_false(Defender_CustomMetricNameValid("a.b", 3));
    assert_false(Defender_CustomMetricNameValid("a\0", 2));
    memset(name, 'n', sizeof(name));
    assert_true(Defender_CustomMetricNameValid(name, 128));
    assert_false(Defender_CustomMetricNameValid(name, 129));
}

static void test_Defender_CustomMetricValueValid_Rules(void **state)
{
    DefenderCustomValue_t value;
    const char *strings[3];
    double numbers[2] = {1.0, -2.5};

    (void) state;
    memset(&value, 0, sizeof(value));
    assert_true(Defender_CustomMetricValueValid(DEFENDER_CUSTOM_NUMBER, &value));
    value.number = strtod("inf", NULL);
    assert_false(Defender_CustomMetricValueValid(DEFENDER_CUSTOM_NUMBER, &value));
    value.number = strtod("nan", NULL);
    assert_false(Defender_CustomMetricValueValid(DEFENDER_CUSTOM_NUMBER, &value));
    assert_false(Defender_CustomMetricValueValid(DEFENDER_CUSTOM_NUMBER, NULL));
    assert_false(Defender_CustomMetricValueValid((DefenderCustomMetricType_t) 9, &value));

    memset(&value, 0, sizeof(value));
    assert_true(Defender_CustomMetricValueValid(DEFENDER_CUSTOM_NUMBER_LIST, &value));
    value.count = 2;
    assert_false(Defender_CustomMetricValueValid(DEFENDER_CUSTOM_NUMBER_LIST, &value));
    value.pNumbers = numbers;
    assert_true(Defender_CustomMetricValueValid(DEFENDER_CUSTOM_NUMBER_LIST, &value));
    numbers[1] = -strtod("inf", NULL);
    assert_false(Defender_CustomMetricValueValid(DEFENDER_CUSTOM_NUMBER_LIST, &value));

    memset(&value, 0, sizeof(value));
    value.ppStrings = strings;
    value.count = 3;
    strings[0] = "value_1";
    strings[1] = "app/main.c";
    strings[2] = "A:b-c";
    assert_true(Defender_CustomMetricValueValid(DEFENDER_CUSTOM_STRING_LIST, &value));
    assert_false(Defender_CustomMetricValueValid(DEFENDER_CUSTOM_IP_LIST, &value));
    strings[2] = "a b";
    assert_false(Defender_CustomMetricValueValid(DEFENDER_CUSTOM_STRING_LIST, &value));
    strings[2] = "";
    assert_false(Defender_CustomMetricValueValid(DEFENDER_CUSTOM_STRING_LIST, &value));
    strings[2] = NULL;
    assert_false(Defender_CustomMetricValueValid(DEFENDER_CUSTOM_STRING_LIST, &value));

    strings[0] = "192.0.2.53";
    strings[1] = "2001:db8::53";
    strings[2] = "::ffff:1.2.3.4";
    assert_true(Defender_CustomMetricValueValid(DEFENDER_CUSTOM_IP_LIST, &value));
    strings[2] = "192.0.2.053";
    assert_false(Defender_CustomMetricValueValid(DEFENDER_CUSTOM_IP_LIST, &value));
    strings[2] = "[2001:db8::1]";
    assert_false(Defender_CustomMetricValueValid(DEFENDER_CUSTOM_IP_LIST, &value));
    strings[2] = "1111:2222:3333:4444:5555:6666:7777:8888:9999:aaaa";
    assert_false(Defender_CustomMetricValueValid(DEFENDER_CUSTOM_IP_LIST, &value));
    value.ppStrings = NULL;
    assert_false(Defender_CustomMetricValueValid(DEFENDER_CUSTOM_IP_LIST, &value));
}

/* ---- Number text and character classes ---------------------------------------------- */

static void CheckFormatUint(uint64_t value)
{
    char ours[DEFENDER_REPORT_UINT_TEXT_SIZE + 1U];
    char expected[32];
    size_t length = DefenderReport_FormatUint(value, ours);

    ours[length] = '\0';
    snprintf(expected, sizeof(expected), "%llu", (unsigned long long) value);
    assert_string_equal(ours, expected);
}

static void test_DefenderReport_FormatUint_MatchesPrintf(void **state)
{
    static const uint64_t edges[] = {0U,           9U,          10U,         65535U,
                                     65536U,       4294967295U, 4294967296U, 4294967305U,
                                     42949672950U, 1ULL << 48,  UINT64_MAX,  UINT64_MAX - 1U};
    uint64_t power = 1U;
    size_t i;

    (void) state;
    for (i = 0U; i < sizeof(edges) / sizeof(edges[0]); i++)
    {
        CheckFormatUint(edges[i]);
    }
    for (i = 0U; i < 20U; i++)
    {
        /* Around each power of ten, where the digit count changes. */
        CheckFormatUint(power - 1U);
        CheckFormatUint(power);
        CheckFormatUint(power + 1U);
        power *= 10U;
    }
    for (i = 0U; i < 200000U; i++)
    {
        /* All magnitudes: the shift spreads values over 0..64 bits. */
        CheckFormatUint(Rand64() >> (i % 64U));
    }
}

static void test_Defender_CustomMetricValueValid_StringCharacters(void **state)
{
    DefenderCustomValue_t value;
    const char *strings[1];
    char text[2] = {0, 0};
    bool inName;
    bool inString;
    int c;

    (void) state;
    memset(&value, 0, sizeof(value));
    value.ppStrings = strings;
    value.count = 1U;
    strings[0] = text;
    for (c = 1; c < 256; c++)
    {
        text[0] = (char) c;
        inName = ((c >= 'a') && (c <= 'z')) || ((c >= 'A') && (c <= 'Z')) ||
                 ((c >= '0') && (c <= '9')) || (c == ':') || (c == '_') || (c == '-');
        inString = inName || (c == '.') || (c == '/');
        assert_int_equal(Defender_CustomMetricNameValid(text, 1U), inName);
        assert_int_equal(Defender_CustomMetricValueValid(DEFENDER_CUSTOM_STRING_LIST, &value),
                         inString);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_Defender_EncodeReport_Example11_1LongJson),
        cmocka_unit_test(test_Defender_EncodeReport_Example11_2ShortJson),
        cmocka_unit_test(test_Defender_EncodeReport_VectorV4ShortCbor),
        cmocka_unit_test(test_Defender_EncodeReport_Example11_1LongCborSize),
        cmocka_unit_test(test_Defender_EncodeReport_VectorV1),
        cmocka_unit_test(test_Defender_EncodeReport_VectorV2),
        cmocka_unit_test(test_Defender_EncodeReport_Example11_3Minimal),
        cmocka_unit_test(test_Defender_EncodeReport_EmptyListsWriteTotal),
        cmocka_unit_test(test_Defender_EncodeReport_WildcardAndPortZero),
        cmocka_unit_test(test_Defender_EncodeReport_EscapesAndUtf8),
        cmocka_unit_test(test_Defender_EncodeReport_InterfaceNameFillsArray),
        cmocka_unit_test(test_Defender_EncodeReport_LargeIntegers),
        cmocka_unit_test(test_Defender_EncodeReport_BadParameters),
        cmocka_unit_test(test_Defender_EncodeReport_RandomDecodesToContent),
        cmocka_unit_test(test_Defender_EncodeReport_FitsByDroppingEntries),
        cmocka_unit_test(test_Defender_EncodeReport_BufferTooSmall),
        cmocka_unit_test(test_Defender_EncodeReport_AtMost128KiB),
#if DEFENDER_CONFIG_EXACT_NUMBER_TEXT
        cmocka_unit_test(test_DefenderReport_RoundNumber_MatchesPrintf),
#endif
        cmocka_unit_test(test_DefenderReport_RoundNumber_CompactConforms),
        cmocka_unit_test(test_Defender_EncodeReport_CborNumbers),
        cmocka_unit_test(test_Defender_CustomMetricNameValid_Rules),
        cmocka_unit_test(test_Defender_CustomMetricValueValid_Rules),
        cmocka_unit_test(test_DefenderReport_FormatUint_MatchesPrintf),
        cmocka_unit_test(test_Defender_CustomMetricValueValid_StringCharacters),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
