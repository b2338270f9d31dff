/**
 * @file test_agent_metrics.c
 * @brief defender-agent --dry-run against ground truth. The test moves into a private
 * network namespace (so that no other process's sockets interfere), opens TCP
 * listeners on IPv4 and IPv6 (loopback and wildcard), UDP sockets and established
 * connections, and checks that every one appears in the agent's report with the right
 * port, address and interface, and that the totals match exactly. Network statistics
 * deltas are checked against a known transfer over loopback (--include-loopback), and
 * every report is validated against the protocol spec (keys per style, emission
 * order, types, ranges, address forms, custom-metric shape) in JSON and CBOR.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <cbor.h>
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "test_agent_util.h"
#include "test_sandbox.h"
#include "test_skip.h"

static bool isolated;
static AgentTestResult_t result;

/* ---- Spec validation ------------------------------------------------------------ */

/** @brief A key in both spellings. */
typedef struct
{
    const char *pLong;
    const char *pShort;
} Key_t;

static const Key_t rootKeys[] = {{"header", "hed"}, {"metrics", "met"}, {"custom_metrics", "cmet"}};
static const Key_t headerKeys[] = {{"report_id", "rid"}, {"version", "v"}};
static const Key_t metricKeys[] = {{"listening_tcp_ports", "tp"},
                                   {"listening_udp_ports", "up"},
                                   {"network_stats", "ns"},
                                   {"tcp_connections", "tc"}};
static const Key_t portBlockKeys[] = {{"ports", "pts"}, {"total", "t"}};
static const Key_t portKeys[] = {{"interface", "if"}, {"port", "pt"}};
static const Key_t statsKeys[] = {
    {"bytes_in", "bi"}, {"bytes_out", "bo"}, {"packets_in", "pi"}, {"packets_out", "po"}};
static const Key_t tcKeys[] = {{"established_connections", "ec"}};
static const Key_t ecKeys[] = {{"connections", "cs"}, {"total", "t"}};
static const Key_t connKeys[] = {
    {"local_interface", "li"}, {"local_port", "lp"}, {"remote_addr", "rad"}};

static char why[512];
static bool longStyle;

#define CHECK(cond, ...)                                                                           \
    do                                                                                             \
    {                                                                                              \
        if (!(cond))                                                                               \
        {                                                                                          \
            snprintf(why, sizeof(why), __VA_ARGS__);                                               \
            return false;                                                                          \
        }                                                                                          \
    } while (0)

/** @brief Spelling of key i in the report's style. */
static const char *K(const Key_t *pKeys, size_t i)
{
    return longStyle ? pKeys[i].pLong : pKeys[i].pShort;
}

/** @brief An object holding only keys of the table, in table order, in one style. */
static bool checkMap(const cJSON *pObject, const Key_t *pKeys, size_t count, const char *pWhere)
{
    const cJSON *pItem;
    size_t last = 0;
    bool first = true;

    CHECK(cJSON_IsObject(pObject), "%s is not a map", pWhere);
    cJSON_ArrayForEach(pItem, pObject)
    {
        size_t i;
        for (i = 0; i < count && strcmp(pItem->string, K(pKeys, i)) != 0; i++)
        {
        }
        CHECK(i < count, "%s: key '%s' not allowed (style %s)", pWhere, pItem->string,
              longStyle ? "long" : "short");
        CHECK(first || i > last, "%s: key '%s' out of order or repeated", pWhere, pItem->string);
        last = i;
        first = false;
    }
    return true;
}

/** @brief An integer in [lo, hi]. */
static bool checkInteger(const cJSON *pItem, double lo, double hi, const char *pWhere)
{
    CHECK(cJSON_IsNumber(pItem), "%s is not a number", pWhere);
    CHECK(floor(pItem->valuedouble) == pItem->valuedouble, "%s is not whole", pWhere);
    CHECK(pItem->valuedouble >= lo && pItem->valuedouble <= hi, "%s out of range", pWhere);
    return true;
}

/** @brief `ip:port` or `[ipv6]:port` (PD-5). */
static bool checkRemote(const char *pText)
{
    char address[64];
    const char *pPort;
    struct in6_addr buffer;
    int family = AF_INET;
    size_t length;

    if (pText[0] == '[')
    {
        const char *pEnd = strstr(pText, "]:");
        CHECK(pEnd != NULL, "remote_addr '%s' without ]:port", pText);
        length = (size_t) (pEnd - pText - 1);
        CHECK(length < sizeof(address), "remote_addr too long");
        memcpy(address, pText + 1, length);
        pPort = pEnd + 2;
        family = AF_INET6;
    }
    else
    {
        pPort = strrchr(pText, ':');
        CHECK(pPort != NULL, "remote_addr '%s' without port", pText);
        length = (size_t) (pPort - pText);
        CHECK(length < sizeof(address), "remote_addr too long");
        memcpy(address, pText, length);
        pPort++;
    }
    address[length] = '\0';
    CHECK(inet_pton(family, address, &buffer) == 1, "remote_addr '%s': bad address", pText);
    CHECK(strlen(pPort) >= 1 && strlen(pPort) <= 5 &&
              strspn(pPort, "0123456789") == strlen(pPort) && atol(pPort) <= 65535,
          "remote_addr '%s': bad port", pText);
    return true;
}

/** @brief A listening-port block. */
static bool checkPorts(const cJSON *pBlock, const char *pWhere)
{
    const cJSON *pList = cJSON_GetObjectItem(pBlock, K(portBlockKeys, 0));
    const cJSON *pTotal = cJSON_GetObjectItem(pBlock, K(portBlockKeys, 1));
    const cJSON *pEntry;

    if (!checkMap(pBlock, portBlockKeys, 2, pWhere))
    {
        return false;
    }
    CHECK(pTotal != NULL, "%s: no total", pWhere);
    if (!checkInteger(pTotal, 0, 9.2e18, "total"))
    {
        return false;
    }
    if (pList != NULL)
    {
        CHECK(cJSON_IsArray(pList) && cJSON_GetArraySize(pList) > 0, "%s: bad list", pWhere);
        CHECK(cJSON_GetArraySize(pList) <= pTotal->valuedouble, "%s: total below list", pWhere);
        cJSON_ArrayForEach(pEntry, pList)
        {
            const cJSON *pIf = cJSON_GetObjectItem(pEntry, K(portKeys, 0));
            if (!checkMap(pEntry, portKeys, 2, pWhere) ||
                !checkInteger(cJSON_GetObjectItem(pEntry, K(portKeys, 1)), 1, 65535, "port"))
            {
                return false;
            }
            CHECK(pIf == NULL || (cJSON_IsString(pIf) && pIf->valuestring[0] != '\0'),
                  "%s: bad interface", pWhere);
        }
    }
    else
    {
        CHECK(pTotal->valuedouble == 0 || true, "unreachable");
    }
    return true;
}

/** @brief A custom-metric name (section 3). */
static bool nameValid(const char *pName)
{
    size_t length = strlen(pName);
    return length >= 1 && length <= 128 && strncmp(pName, "aws:", 4) != 0 &&
           strspn(pName, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:_-") ==
               length;
}

/** @brief The custom_metrics map (PD-11, PD-12). */
static bool checkCustom(const cJSON *pCustom)
{
    const cJSON *pMetric;
    CHECK(cJSON_IsObject(pCustom), "custom_metrics not a map");
    cJSON_ArrayForEach(pMetric, pCustom)
    {
        const cJSON *pValue;
        const cJSON *pEntry;
        CHECK(nameValid(pMetric->string), "bad custom name '%s'", pMetric->string);
        CHECK(cJSON_IsArray(pMetric) && cJSON_GetArraySize(pMetric) == 1,
              "custom '%s' not an array of one map", pMetric->string);
        pEntry = cJSON_GetArrayItem(pMetric, 0);
        CHECK(cJSON_IsObject(pEntry) && cJSON_GetArraySize(pEntry) == 1, "custom '%s' map",
              pMetric->string);
        pValue = pEntry->child;
        if (strcmp(pValue->string, "number") == 0)
        {
            CHECK(cJSON_IsNumber(pValue), "number not a number");
        }
        else
        {
            const cJSON *pElement;
            CHECK(strcmp(pValue->string, "number_list") == 0 ||
                      strcmp(pValue->string, "string_list") == 0 ||
                      strcmp(pValue->string, "ip_list") == 0,
                  "unknown value key '%s'", pValue->string);
            CHECK(cJSON_IsArray(pValue), "custom list not an array");
            cJSON_ArrayForEach(pElement, pValue)
            {
                if (pValue->string[0] == 'n')
                {
                    CHECK(cJSON_IsNumber(pElement), "number_list element");
                }
                else if (pValue->string[0] == 's')
                {
                    CHECK(cJSON_IsString(pElement) &&
                              strspn(pElement->valuestring, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJ"
                                                            "KLMNOPQRSTUVWXYZ0123456789:_./-") ==
                                  strlen(pElement->valuestring),
                          "string_list element");
                }
                else
                {
                    struct in6_addr buffer;
                    CHECK(cJSON_IsString(pElement) &&
                              (inet_pton(AF_INET, pElement->valuestring, &buffer) == 1 ||
                               inet_pton(AF_INET6, pElement->valuestring, &buffer) == 1),
                          "ip_list element");
                }
            }
        }
    }
    return true;
}

/** @brief The whole report (spec sections 2, 3, 10.8). */
static bool validateReport(const cJSON *pRoot)
{
    const cJSON *pHeader;
    const cJSON *pMetrics;
    const cJSON *pCustom;
    const cJSON *pItem;

    CHECK(cJSON_IsObject(pRoot) && pRoot->child != NULL, "root not a map");
    longStyle = (strcmp(pRoot->child->string, "header") == 0);
    if (!checkMap(pRoot, rootKeys, 3, "root"))
    {
        return false;
    }
    pHeader = cJSON_GetObjectItem(pRoot, K(rootKeys, 0));
    pMetrics = cJSON_GetObjectItem(pRoot, K(rootKeys, 1));
    pCustom = cJSON_GetObjectItem(pRoot, K(rootKeys, 2));
    CHECK(pHeader != NULL, "no header");
    CHECK(pMetrics != NULL || pCustom != NULL, "no body");
    if (!checkMap(pHeader, headerKeys, 2, "header") ||
        !checkInteger(cJSON_GetObjectItem(pHeader, K(headerKeys, 0)), 1, 9.2e18, "report_id"))
    {
        return false;
    }
    pItem = cJSON_GetObjectItem(pHeader, K(headerKeys, 1));
    CHECK(cJSON_IsString(pItem) && strcmp(pItem->valuestring, "1.0") == 0, "version");
    if (pMetrics != NULL)
    {
        if (!checkMap(pMetrics, metricKeys, 4, "metrics"))
        {
            return false;
        }
        if ((pItem = cJSON_GetObjectItem(pMetrics, K(metricKeys, 0))) != NULL &&
            !checkPorts(pItem, "listening_tcp_ports"))
        {
            return false;
        }
        if ((pItem = cJSON_GetObjectItem(pMetrics, K(metricKeys, 1))) != NULL &&
            !checkPorts(pItem, "listening_udp_ports"))
        {
            return false;
        }
        if ((pItem = cJSON_GetObjectItem(pMetrics, K(metricKeys, 2))) != NULL)
        {
            size_t i;
            if (!checkMap(pItem, statsKeys, 4, "network_stats"))
            {
                return false;
            }
            for (i = 0; i < 4; i++)
            {
                if (!checkInteger(cJSON_GetObjectItem(pItem, K(statsKeys, i)), 0, 9.2e18,
                                  "network_stats value"))
                {
                    return false;
                }
            }
        }
        if ((pItem = cJSON_GetObjectItem(pMetrics, K(metricKeys, 3))) != NULL)
        {
            const cJSON *pEc = cJSON_GetObjectItem(pItem, K(tcKeys, 0));
            const cJSON *pList;
            const cJSON *pEntry;
            if (!checkMap(pItem, tcKeys, 1, "tcp_connections") ||
                !checkMap(pEc, ecKeys, 2, "established_connections") ||
                !checkInteger(cJSON_GetObjectItem(pEc, K(ecKeys, 1)), 0, 9.2e18, "total"))
            {
                return false;
            }
            pList = cJSON_GetObjectItem(pEc, K(ecKeys, 0));
            if (pList != NULL)
            {
                CHECK(cJSON_GetArraySize(pList) > 0 &&
                          cJSON_GetArraySize(pList) <=
                              cJSON_GetObjectItem(pEc, K(ecKeys, 1))->valuedouble,
                      "connections list vs total");
                cJSON_ArrayForEach(pEntry, pList)
                {
                    const cJSON *pRemote = cJSON_GetObjectItem(pEntry, K(connKeys, 2));
                    const cJSON *pPort = cJSON_GetObjectItem(pEntry, K(connKeys, 1));
                    if (!checkMap(pEntry, connKeys, 3, "connection") ||
                        (pPort != NULL && !checkInteger(pPort, 0, 65535, "local_port")))
                    {
                        return false;
                    }
                    CHECK(cJSON_IsString(pRemote), "connection without remote_addr");
                    if (!checkRemote(pRemote->valuestring))
                    {
                        return false;
                    }
                }
            }
        }
    }
    return (pCustom == NULL) || checkCustom(pCustom);
}

/* ---- CBOR to cJSON (definite lengths, integers outside custom metrics) ------------ */

static cJSON *fromCbor(cbor_item_t *pItem, bool inCustom)
{
    cJSON *pOut = NULL;
    size_t i;

    switch (cbor_typeof(pItem))
    {
        case CBOR_TYPE_UINT:
            pOut = cJSON_CreateNumber((double) cbor_get_int(pItem));
            break;
        case CBOR_TYPE_NEGINT:
            pOut = inCustom ? cJSON_CreateNumber(-1.0 - (double) cbor_get_int(pItem)) : NULL;
            break;
        case CBOR_TYPE_FLOAT_CTRL:
            pOut = (inCustom && cbor_float_get_width(pItem) == CBOR_FLOAT_64)
                       ? cJSON_CreateNumber(cbor_float_get_float(pItem))
                       : NULL;
            break;
        case CBOR_TYPE_STRING:
            if (cbor_string_is_definite(pItem))
            {
                char text[256];
                size_t length = cbor_string_length(pItem);
                if (length < sizeof(text))
                {
                    memcpy(text, cbor_string_handle(pItem), length);
                    text[length] = '\0';
                    pOut = cJSON_CreateString(text);
                }
            }
            break;
        case CBOR_TYPE_ARRAY:
            if (cbor_array_is_definite(pItem))
            {
                pOut = cJSON_CreateArray();
                for (i = 0; pOut != NULL && i < cbor_array_size(pItem); i++)
                {
                    cJSON *pChild = fromCbor(cbor_array_handle(pItem)[i], inCustom);
                    if (pChild == NULL)
                    {
                        cJSON_Delete(pOut);
                        pOut = NULL;
                    }
                    else
                    {
                        cJSON_AddItemToArray(pOut, pChild);
                    }
                }
            }
            break;
        case CBOR_TYPE_MAP:
            if (cbor_map_is_definite(pItem))
            {
                struct cbor_pair *pPairs = cbor_map_handle(pItem);
                pOut = cJSON_CreateObject();
                for (i = 0; pOut != NULL && i < cbor_map_size(pItem); i++)
                {
                    char key[256];
                    cJSON *pChild = NULL;
                    size_t length;
                    if (cbor_isa_string(pPairs[i].key) && cbor_string_is_definite(pPairs[i].key) &&
                        (length = cbor_string_length(pPairs[i].key)) < sizeof(key))
                    {
                        memcpy(key, cbor_string_handle(pPairs[i].key), length);
                        key[length] = '\0';
                        pChild = fromCbor(pPairs[i].value, inCustom ||
                                                               strcmp(key, "custom_metrics") == 0 ||
                                                               strcmp(key, "cmet") == 0);
                    }
                    if (pChild == NULL)
                    {
                        cJSON_Delete(pOut);
                        pOut = NULL;
                    }
                    else
                    {
                        cJSON_AddItemToObject(pOut, key, pChild);
                    }
                }
            }
            break;
        default:
            break;
    }
    return pOut;
}

/** @brief Parses one line of --dry-run output (JSON text, or CBOR in hex). */
static cJSON *parseLine(const char *pLine, bool cbor)
{
    cJSON *pRoot = NULL;
    if (!cbor)
    {
        pRoot = cJSON_Parse(pLine);
    }
    else
    {
        static uint8_t bytes[140000];
        size_t length = strlen(pLine) / 2;
        size_t i;
        struct cbor_load_result loaded;
        cbor_item_t *pItem;
        for (i = 0; i < length && i < sizeof(bytes); i++)
        {
            unsigned value;
            sscanf(pLine + 2 * i, "%2x", &value);
            bytes[i] = (uint8_t) value;
        }
        pItem = cbor_load(bytes, length, &loaded);
        if (pItem != NULL && loaded.read == length)
        {
            pRoot = fromCbor(pItem, false);
        }
        if (pItem != NULL)
        {
            cbor_decref(&pItem);
        }
    }
    return pRoot;
}

/* ---- Sockets ----------------------------------------------------------------------- */

/** @brief Opens a socket bound to address:0 (listening for TCP); returns its port. */
static int openBound(int family, int type, const char *pAddress, uint16_t *pPort)
{
    struct sockaddr_storage storage;
    socklen_t length = sizeof(storage);
    int one = 1;
    int fd = socket(family, type, 0);

    memset(&storage, 0, sizeof(storage));
    if (family == AF_INET)
    {
        struct sockaddr_in *p = (struct sockaddr_in *) &storage;
        p->sin_family = AF_INET;
        inet_pton(AF_INET, pAddress, &p->sin_addr);
        length = sizeof(*p);
    }
    else
    {
        struct sockaddr_in6 *p = (struct sockaddr_in6 *) &storage;
        p->sin6_family = AF_INET6;
        inet_pton(AF_INET6, pAddress, &p->sin6_addr);
        length = sizeof(*p);
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    }
    assert_int_equal(bind(fd, (struct sockaddr *) &storage, length), 0);
    if (type == SOCK_STREAM)
    {
        assert_int_equal(listen(fd, 16), 0);
    }
    length = sizeof(storage);
    getsockname(fd, (struct sockaddr *) &storage, &length);
    *pPort = ntohs(family == AF_INET ? ((struct sockaddr_in *) &storage)->sin_port
                                     : ((struct sockaddr_in6 *) &storage)->sin6_port);
    return fd;
}

/** @brief Connects to address:port; returns the client socket and its local port. */
static int connectTo(int family, const char *pAddress, uint16_t port, uint16_t *pLocalPort)
{
    struct sockaddr_storage storage;
    socklen_t length;
    int fd = socket(family, SOCK_STREAM, 0);

    memset(&storage, 0, sizeof(storage));
    if (family == AF_INET)
    {
        struct sockaddr_in *p = (struct sockaddr_in *) &storage;
        p->sin_family = AF_INET;
        p->sin_port = htons(port);
        inet_pton(AF_INET, pAddress, &p->sin_addr);
        length = sizeof(*p);
    }
    else
    {
        struct sockaddr_in6 *p = (struct sockaddr_in6 *) &storage;
        p->sin6_family = AF_INET6;
        p->sin6_port = htons(port);
        inet_pton(AF_INET6, pAddress, &p->sin6_addr);
        length = sizeof(*p);
    }
    assert_int_equal(connect(fd, (struct sockaddr *) &storage, length), 0);
    length = sizeof(storage);
    getsockname(fd, (struct sockaddr *) &storage, &length);
    *pLocalPort = ntohs(family == AF_INET ? ((struct sockaddr_in *) &storage)->sin_port
                                          : ((struct sockaddr_in6 *) &storage)->sin6_port);
    return fd;
}

/** @brief Finds a listening entry (port, interface or NULL for none). */
static bool hasPort(const cJSON *pBlock, uint16_t port, const char *pInterface)
{
    const cJSON *pEntry;
    cJSON_ArrayForEach(pEntry, cJSON_GetObjectItem(pBlock, "ports"))
    {
        const cJSON *pIf = cJSON_GetObjectItem(pEntry, "interface");
        if (cJSON_GetObjectItem(pEntry, "port")->valueint == port &&
            ((pInterface == NULL) ? (pIf == NULL)
                                  : (pIf != NULL && strcmp(pIf->valuestring, pInterface) == 0)))
        {
            return true;
        }
    }
    return false;
}

/** @brief Finds a connection entry. */
static bool hasConnection(const cJSON *pEc, uint16_t localPort, const char *pRemote)
{
    const cJSON *pEntry;
    cJSON_ArrayForEach(pEntry, cJSON_GetObjectItem(pEc, "connections"))
    {
        if (cJSON_GetObjectItem(pEntry, "local_port")->valueint == localPort &&
            strcmp(cJSON_GetObjectItem(pEntry, "remote_addr")->valuestring, pRemote) == 0 &&
            strcmp(cJSON_GetObjectItem(pEntry, "local_interface")->valuestring, "lo") == 0)
        {
            return true;
        }
    }
    return false;
}

static void test_dryRun_GroundTruth(void **state)
{
    enum
    {
        V4_CLIENTS = 4,
        V6_CLIENTS = 3
    };
    const char *args[] = {"--dry-run", "--keys", "long", "--max-list", "50", NULL};
    uint16_t tcp[4];
    uint16_t udp[3];
    int fds[64];
    size_t n = 0;
    uint16_t clientPorts[V4_CLIENTS + V6_CLIENTS];
    char remote[64];
    cJSON *pRoot;
    cJSON *pMetrics;
    cJSON *pEc;
    int i;

    (void) state;
    if (!isolated)
    {
        TEST_SKIP_UNLESS_CI("no private network namespace");
    }
    fds[n++] = openBound(AF_INET, SOCK_STREAM, "127.0.0.1", &tcp[0]);
    fds[n++] = openBound(AF_INET, SOCK_STREAM, "0.0.0.0", &tcp[1]);
    fds[n++] = openBound(AF_INET6, SOCK_STREAM, "::1", &tcp[2]);
    fds[n++] = openBound(AF_INET6, SOCK_STREAM, "::", &tcp[3]);
    fds[n++] = openBound(AF_INET, SOCK_DGRAM, "127.0.0.1", &udp[0]);
    fds[n++] = openBound(AF_INET, SOCK_DGRAM, "0.0.0.0", &udp[1]);
    fds[n++] = openBound(AF_INET6, SOCK_DGRAM, "::1", &udp[2]);
    for (i = 0; i < V4_CLIENTS + V6_CLIENTS; i++)
    {
        bool v4 = (i < V4_CLIENTS);
        fds[n++] = connectTo(v4 ? AF_INET : AF_INET6, v4 ? "127.0.0.1" : "::1",
                             v4 ? tcp[0] : tcp[2], &clientPorts[i]);
        fds[n++] = accept(fds[v4 ? 0 : 2], NULL, NULL);
        assert_true(fds[n - 1] >= 0);
    }

    AgentTest_Run(args, 20000, &result);
    assert_int_equal(result.exitCode, 0);
    pRoot = cJSON_Parse(result.out);
    assert_non_null(pRoot);
    if (!validateReport(pRoot))
    {
        fail_msg("report invalid: %s", why);
    }
    pMetrics = cJSON_GetObjectItem(pRoot, "metrics");

    /* Listeners: loopback binds carry "lo", wildcard binds no interface; exact totals. */
    assert_int_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(pMetrics, "listening_tcp_ports"), "total")
            ->valueint,
        4);
    assert_true(hasPort(cJSON_GetObjectItem(pMetrics, "listening_tcp_ports"), tcp[0], "lo"));
    assert_true(hasPort(cJSON_GetObjectItem(pMetrics, "listening_tcp_ports"), tcp[1], NULL));
    assert_true(hasPort(cJSON_GetObjectItem(pMetrics, "listening_tcp_ports"), tcp[2], "lo"));
    assert_true(hasPort(cJSON_GetObjectItem(pMetrics, "listening_tcp_ports"), tcp[3], NULL));
    assert_int_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(pMetrics, "listening_udp_ports"), "total")
            ->valueint,
        3);
    assert_true(hasPort(cJSON_GetObjectItem(pMetrics, "listening_udp_ports"), udp[0], "lo"));
    assert_true(hasPort(cJSON_GetObjectItem(pMetrics, "listening_udp_ports"), udp[1], NULL));
    assert_true(hasPort(cJSON_GetObjectItem(pMetrics, "listening_udp_ports"), udp[2], "lo"));

    /* Both ends of every connection, with the peer's address and port. */
    pEc = cJSON_GetObjectItem(cJSON_GetObjectItem(pMetrics, "tcp_connections"),
                              "established_connections");
    assert_int_equal(cJSON_GetObjectItem(pEc, "total")->valueint, 2 * (V4_CLIENTS + V6_CLIENTS));
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(pEc, "connections")),
                     2 * (V4_CLIENTS + V6_CLIENTS));
    for (i = 0; i < V4_CLIENTS + V6_CLIENTS; i++)
    {
        bool v4 = (i < V4_CLIENTS);
        snprintf(remote, sizeof(remote), v4 ? "127.0.0.1:%u" : "[::1]:%u",
                 (unsigned) (v4 ? tcp[0] : tcp[2]));
        assert_true(hasConnection(pEc, clientPorts[i], remote));
        snprintf(remote, sizeof(remote), v4 ? "127.0.0.1:%u" : "[::1]:%u",
                 (unsigned) clientPorts[i]);
        assert_true(hasConnection(pEc, v4 ? tcp[0] : tcp[2], remote));
    }
    cJSON_Delete(pRoot);
    while (n > 0)
    {
        close(fds[--n]);
    }
}

/** @brief Sends `size` bytes over a loopback TCP connection and reads them all. */
static void transfer(size_t size)
{
    static char chunk[65536];
    uint16_t port;
    uint16_t local;
    int listener = openBound(AF_INET, SOCK_STREAM, "127.0.0.1", &port);
    int client = connectTo(AF_INET, "127.0.0.1", port, &local);
    int server = accept(listener, NULL, NULL);
    size_t sent = 0;
    size_t received = 0;

    fcntl(client, F_SETFL, O_NONBLOCK);
    fcntl(server, F_SETFL, O_NONBLOCK);
    while (received < size)
    {
        ssize_t got;
        if (sent < size)
        {
            size_t want = (size - sent < sizeof(chunk)) ? size - sent : sizeof(chunk);
            ssize_t put = send(client, chunk, want, 0);
            sent += (put > 0) ? (size_t) put : 0;
        }
        got = recv(server, chunk, sizeof(chunk), 0);
        received += (got > 0) ? (size_t) got : 0;
    }
    close(client);
    close(server);
    close(listener);
}

/** @brief Runs two dry-run reports with a known transfer between them; returns report 2. */
static cJSON *statsAround(size_t size, bool includeLoopback)
{
    const char *args[] = {"--dry-run",
                          "--count",
                          "2",
                          "--period",
                          "2",
                          "--keys",
                          "long",
                          "--metrics",
                          "network-stats",
                          includeLoopback ? "--include-loopback" : NULL,
                          NULL};
    char errPath[] = "/tmp/agent-stats-err-XXXXXX";
    static char line[8192];
    cJSON *pRoot = NULL;
    int out = -1;
    pid_t pid;
    int fd = mkstemp(errPath);

    close(fd);
    pid = AgentTest_Start(args, &out, errPath);
    assert_true(pid > 0);
    assert_true(AgentTest_ReadLine(out, line, sizeof(line), 10000));
    pRoot = cJSON_Parse(line);
    assert_non_null(pRoot);
    /* The first report has no baseline, so no network statistics (10.6). */
    assert_null(cJSON_GetObjectItem(cJSON_GetObjectItem(pRoot, "metrics"), "network_stats"));
    cJSON_Delete(pRoot);
    transfer(size);
    assert_true(AgentTest_ReadLine(out, line, sizeof(line), 10000));
    assert_int_equal(AgentTest_Wait(pid, 5000), 0);
    close(out);
    unlink(errPath);
    pRoot = cJSON_Parse(line);
    assert_non_null(pRoot);
    if (!validateReport(pRoot))
    {
        fail_msg("report invalid: %s", why);
    }
    return pRoot;
}

static void test_dryRun_NetworkStatsKnownTransfer(void **state)
{
    const size_t size = 4U * 1024U * 1024U;
    cJSON *pRoot;
    cJSON *pStats;
    double in;
    double out;

    (void) state;
    if (!isolated)
    {
        TEST_SKIP_UNLESS_CI("no private network namespace");
    }
    pRoot = statsAround(size, true);
    pStats = cJSON_GetObjectItem(cJSON_GetObjectItem(pRoot, "metrics"), "network_stats");
    assert_non_null(pStats);
    in = cJSON_GetObjectItem(pStats, "bytes_in")->valuedouble;
    out = cJSON_GetObjectItem(pStats, "bytes_out")->valuedouble;
    /* Payload plus TCP/IP headers and ACKs: at most a few percent more. */
    print_message("transfer %zu bytes: bytes_in %.0f bytes_out %.0f packets_in %.0f\n", size, in,
                  out, cJSON_GetObjectItem(pStats, "packets_in")->valuedouble);
    assert_true(in >= (double) size && in <= (double) size * 1.05 + 65536.0);
    assert_true(out >= (double) size && out <= (double) size * 1.05 + 65536.0);
    assert_true(cJSON_GetObjectItem(pStats, "packets_in")->valuedouble >= 4.0);
    cJSON_Delete(pRoot);

    /* Without --include-loopback the same transfer counts for nothing. */
    pRoot = statsAround(size, false);
    pStats = cJSON_GetObjectItem(cJSON_GetObjectItem(pRoot, "metrics"), "network_stats");
    assert_non_null(pStats);
    assert_int_equal(cJSON_GetObjectItem(pStats, "bytes_in")->valueint, 0);
    assert_int_equal(cJSON_GetObjectItem(pStats, "packets_out")->valueint, 0);
    cJSON_Delete(pRoot);
}

static void test_dryRun_ValidAgainstSpecAllEncodings(void **state)
{
    static const char *const formats[] = {"json", "cbor"};
    static const char *const keys[] = {"long", "short"};
    size_t f;
    size_t k;

    (void) state;
    for (f = 0; f < 2; f++)
    {
        for (k = 0; k < 2; k++)
        {
            const char *args[] = {"--dry-run", "--count",
                                  "2",         "--period",
                                  "1",         "--format",
                                  formats[f],  "--keys",
                                  keys[k],     "--include-loopback",
                                  "--custom",  "rssi_dbm:number:echo -67",
                                  "--custom",  "cpu_load:number-list:echo 12 7.5 3",
                                  "--custom",  "task_names:string-list:printf 'net\\napp/main\\n'",
                                  "--custom",  "dns_servers:ip-list:echo 192.0.2.53 2001:db8::53",
                                  NULL};
            char *pLine;
            char *pSave = NULL;
            int lines = 0;

            AgentTest_Run(args, 20000, &result);
            assert_int_equal(result.exitCode, 0);
            for (pLine = strtok_r(result.out, "\n", &pSave); pLine != NULL;
                 pLine = strtok_r(NULL, "\n", &pSave))
            {
                cJSON *pRoot = parseLine(pLine, f == 1);
                cJSON *pCustom;
                if (pRoot == NULL)
                {
                    fail_msg("%s/%s: undecodable (or indefinite lengths, or non-integers): %.80s",
                             formats[f], keys[k], pLine);
                }
                if (!validateReport(pRoot))
                {
                    fail_msg("%s/%s: %s", formats[f], keys[k], why);
                }
                assert_int_equal(longStyle, k == 0);
                pCustom = cJSON_GetObjectItem(pRoot, k == 0 ? "custom_metrics" : "cmet");
                assert_int_equal(cJSON_GetArraySize(pCustom), 4);
                assert_string_equal(pCustom->child->string, "rssi_dbm");
                assert_int_equal(
                    cJSON_GetObjectItem(cJSON_GetArrayItem(pCustom->child, 0), "number")->valueint,
                    -67);
                cJSON_Delete(pRoot);
                lines++;
            }
            assert_int_equal(lines, 2);
        }
    }
}

static void test_dryRun_NoStandardMetricsAndFailingCustom(void **state)
{
    const char *args[] = {"--dry-run", "--metrics", "none", "--custom", "x:number:false", NULL};
    cJSON *pRoot;
    (void) state;
    AgentTest_Run(args, 20000, &result);
    assert_int_equal(result.exitCode, 0);
    pRoot = cJSON_Parse(result.out);
    assert_non_null(pRoot);
    if (!validateReport(pRoot))
    {
        fail_msg("report invalid: %s", why);
    }
    /* Nothing to report but the header: an empty metrics map keeps the report valid. */
    assert_non_null(cJSON_GetObjectItem(pRoot, "met"));
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(pRoot, "met")), 0);
    assert_null(cJSON_GetObjectItem(pRoot, "cmet"));
    cJSON_Delete(pRoot);
    assert_non_null(strstr(result.err, "custom metric 'x': command exited with status 1"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dryRun_GroundTruth),
        cmocka_unit_test(test_dryRun_NetworkStatsKnownTransfer),
        cmocka_unit_test(test_dryRun_ValidAgainstSpecAllEncodings),
        cmocka_unit_test(test_dryRun_NoStandardMetricsAndFailingCustom),
    };
    /* Before any thread exists: unshare(CLONE_NEWUSER) refuses multi-threaded callers. */
    isolated = TestSandbox_IsolateNetwork();
    if (!isolated)
    {
        fprintf(stderr, "cannot create a private network namespace: ground-truth tests skipped\n");
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
