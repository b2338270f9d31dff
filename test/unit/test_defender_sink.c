/**
 * @file test_defender_sink.c
 * @brief Unit tests of the metrics sink (source/defender_sink.c): head/window
 * arithmetic of the list rotation (PD-26), caps (PD-9), ignored entries, and the
 * interface table.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "defender_core.h"

/** @brief Capacity used by most tests (C). */
#define CAP 3U

/** @brief A listening port with `port` and interface "eth0". */
static DefenderListeningPort_t makePort(uint16_t port)
{
    DefenderListeningPort_t entry;

    (void) memset(&entry, 0, sizeof(entry));
    entry.port = port;
    (void) strcpy(entry.interfaceName, "eth0");
    return entry;
}

/**
 * @brief Collects ports 1..n (entry i has port i+1) into a sink with capacity `cap`,
 * rotation `k` and estimate `expected`; returns the listed count and the listed ports.
 */
static size_t collectPorts(size_t n, size_t cap, uint64_t k, uint64_t expected, uint16_t *pListed,
                           uint64_t *pSeen)
{
    DefenderListeningPort_t head[16];
    DefenderListeningPort_t window[16];
    DefenderMetricsSink_t sink;
    DefenderListeningPort_t entry;
    size_t listed;
    size_t i;

    assert_true(cap <= 16U);
    Defender_SinkInit(&sink, DEFENDER_METRIC_LISTENING_TCP_PORTS, head, window, cap, k, expected);
    for (i = 0U; i < n; i++)
    {
        entry = makePort((uint16_t) (i + 1U));
        Defender_SinkAddListeningPort(&sink, &entry);
    }
    listed = Defender_SinkFinish(&sink);
    assert_true(listed <= cap);
    for (i = 0U; i < listed; i++)
    {
        pListed[i] = window[i].port;
    }
    if (pSeen != NULL)
    {
        *pSeen = sink.seen;
    }
    return listed;
}

/** @brief NULL arguments do nothing and Finish returns 0. */
static void test_Defender_Sink_NullArguments(void **state)
{
    DefenderMetricsSink_t sink;
    DefenderListeningPort_t head[2];
    DefenderListeningPort_t window[2];
    DefenderListeningPort_t port = makePort(22);
    DefenderConnection_t connection;
    DefenderInterfaceCounters_t counters;

    (void) state;
    (void) memset(&connection, 0, sizeof(connection));
    (void) memset(&counters, 0, sizeof(counters));
    Defender_SinkInit(NULL, DEFENDER_METRIC_LISTENING_TCP_PORTS, head, window, 2U, 0U, 0U);
    Defender_SinkAddConnection(NULL, &connection);
    Defender_SinkAddListeningPort(NULL, &port);
    Defender_SinkAddInterface(NULL, &counters);
    assert_int_equal(Defender_SinkFinish(NULL), 0);

    Defender_SinkInit(&sink, DEFENDER_METRIC_LISTENING_TCP_PORTS, head, window, 2U, 0U, 0U);
    Defender_SinkAddListeningPort(&sink, NULL);
    assert_int_equal(sink.seen, 0);
    assert_int_equal(Defender_SinkFinish(&sink), 0);

    /* Arrays missing: entries are not kept. */
    Defender_SinkInit(&sink, DEFENDER_METRIC_LISTENING_TCP_PORTS, NULL, NULL, 2U, 0U, 0U);
    Defender_SinkAddListeningPort(&sink, &port);
    assert_int_equal(Defender_SinkFinish(&sink), 0);
}

/** @brief Fewer entries than the cap: all listed, in order. */
static void test_Defender_SinkFinish_UnderCapListsAll(void **state)
{
    uint16_t listed[16];
    uint64_t seen = 0U;

    (void) state;
    assert_int_equal(collectPorts(2U, CAP, 7U, 0U, listed, &seen), 2);
    assert_int_equal(seen, 2);
    assert_int_equal(listed[0], 1);
    assert_int_equal(listed[1], 2);

    /* Exactly the cap, whatever the rotation and estimate. */
    assert_int_equal(collectPorts(3U, CAP, 5U, 3U, listed, &seen), 3);
    assert_int_equal(listed[0], 1);
    assert_int_equal(listed[2], 3);

    /* Nothing at all. */
    assert_int_equal(collectPorts(0U, CAP, 5U, 10U, listed, &seen), 0);
    assert_int_equal(seen, 0);
}

/** @brief Without an estimate (first collection) the first C entries are listed. */
static void test_Defender_SinkFinish_NoEstimateListsHead(void **state)
{
    uint16_t listed[16];
    uint64_t seen = 0U;

    (void) state;
    assert_int_equal(collectPorts(10U, CAP, 4U, 0U, listed, &seen), 3);
    assert_int_equal(seen, 10);
    assert_int_equal(listed[0], 1);
    assert_int_equal(listed[1], 2);
    assert_int_equal(listed[2], 3);
}

/** @brief PD-26: with C=3 and n=10 stable, report k lists (k*C) mod n onwards, wrapping. */
static void test_Defender_SinkFinish_RotationWindowAndWrap(void **state)
{
    uint16_t listed[16];
    uint64_t seen = 0U;
    uint64_t k;
    size_t i;

    (void) state;
    for (k = 0U; k < 25U; k++)
    {
        assert_int_equal(collectPorts(10U, CAP, k, 10U, listed, &seen), 3);
        assert_int_equal(seen, 10);
        for (i = 0U; i < CAP; i++)
        {
            uint64_t expected = (((k * CAP) % 10U) + i) % 10U;
            assert_int_equal(listed[i], expected + 1U);
        }
    }

    /* k = 3: entries 9, 0, 1 (wrap after one window entry). */
    (void) collectPorts(10U, CAP, 3U, 10U, listed, NULL);
    assert_int_equal(listed[0], 10);
    assert_int_equal(listed[1], 1);
    assert_int_equal(listed[2], 2);
}

/** @brief Large report numbers do not overflow the offset. */
static void test_Defender_SinkInit_LargeRotation(void **state)
{
    uint16_t listed[16];

    (void) state;
    /* UINT64_MAX mod 10 = 5; 5*3 mod 10 = 5. */
    assert_int_equal(collectPorts(10U, CAP, UINT64_MAX, 10U, listed, NULL), 3);
    assert_int_equal(listed[0], 6);
    assert_int_equal(listed[1], 7);
    assert_int_equal(listed[2], 8);
}

/** @brief The list shrank below the window start: falls back to the head. */
static void test_Defender_SinkFinish_EstimatePastEndListsHead(void **state)
{
    uint16_t listed[16];
    uint64_t seen = 0U;

    (void) state;
    /* Estimate 20, k=5: start 15; only 10 entries arrive. */
    assert_int_equal(collectPorts(10U, CAP, 5U, 20U, listed, &seen), 3);
    assert_int_equal(seen, 10);
    assert_int_equal(listed[0], 1);
    assert_int_equal(listed[1], 2);
    assert_int_equal(listed[2], 3);
}

/** @brief The list grew: the window (placed with the old n) fills completely. */
static void test_Defender_SinkFinish_ListGrew(void **state)
{
    uint16_t listed[16];
    uint64_t seen = 0U;

    (void) state;
    /* Estimate 10, k=3: start 9; 12 entries arrive: 9, 10, 11. */
    assert_int_equal(collectPorts(12U, CAP, 3U, 10U, listed, &seen), 3);
    assert_int_equal(seen, 12);
    assert_int_equal(listed[0], 10);
    assert_int_equal(listed[1], 11);
    assert_int_equal(listed[2], 12);

    /* Estimate 10, k=3; 11 entries: 9, 10 then wrap to 0. */
    assert_int_equal(collectPorts(11U, CAP, 3U, 10U, listed, &seen), 3);
    assert_int_equal(listed[0], 10);
    assert_int_equal(listed[1], 11);
    assert_int_equal(listed[2], 1);
}

/** @brief Listed entries are distinct in every case. */
static void test_Defender_SinkFinish_NoDuplicates(void **state)
{
    uint16_t listed[16];
    size_t n;
    size_t cap;
    uint64_t expected;
    uint64_t k;
    size_t count;
    size_t i;
    size_t j;

    (void) state;
    for (n = 0U; n <= 12U; n++)
    {
        for (cap = 1U; cap <= 5U; cap++)
        {
            for (expected = 0U; expected <= 14U; expected++)
            {
                for (k = 0U; k < 8U; k++)
                {
                    count = collectPorts(n, cap, k, expected, listed, NULL);
                    assert_int_equal(count, (n < cap) ? n : cap);
                    for (i = 0U; i < count; i++)
                    {
                        assert_true((listed[i] >= 1U) && (listed[i] <= n));
                        for (j = i + 1U; j < count; j++)
                        {
                            assert_int_not_equal(listed[i], listed[j]);
                        }
                    }
                }
            }
        }
    }
}

/** @brief Listening entries with port 0 are neither listed nor counted. */
static void test_Defender_SinkAddListeningPort_PortZeroIgnored(void **state)
{
    DefenderListeningPort_t head[CAP];
    DefenderListeningPort_t window[CAP];
    DefenderMetricsSink_t sink;
    DefenderListeningPort_t entry;

    (void) state;
    Defender_SinkInit(&sink, DEFENDER_METRIC_LISTENING_UDP_PORTS, head, window, CAP, 0U, 0U);
    entry = makePort(0U);
    Defender_SinkAddListeningPort(&sink, &entry);
    entry = makePort(53U);
    Defender_SinkAddListeningPort(&sink, &entry);
    entry = makePort(0U);
    Defender_SinkAddListeningPort(&sink, &entry);
    assert_int_equal(Defender_SinkFinish(&sink), 1);
    assert_int_equal(sink.seen, 1);
    assert_int_equal(window[0].port, 53);
}

/** @brief Connections whose peer address the report cannot hold (family neither 4 nor 6)
 * are neither listed nor counted, like port-less listeners. */
static void test_Defender_SinkAddConnection_UnknownFamilyIgnored(void **state)
{
    DefenderConnection_t head[CAP];
    DefenderConnection_t window[CAP];
    DefenderMetricsSink_t sink;
    DefenderConnection_t connection;
    static const uint8_t families[] = {0U, 4U, 2U, 6U, 5U, 7U, 255U};
    size_t i;

    (void) state;
    Defender_SinkInit(&sink, DEFENDER_METRIC_TCP_CONNECTIONS, head, window, CAP, 0U, 0U);
    for (i = 0U; i < sizeof(families); i++)
    {
        (void) memset(&connection, 0, sizeof(connection));
        connection.remoteAddress.family = families[i];
        connection.remotePort = (uint16_t) (1000U + i);
        Defender_SinkAddConnection(&sink, &connection);
    }
    assert_int_equal(Defender_SinkFinish(&sink), 2);
    assert_int_equal(sink.seen, 2);
    assert_int_equal(window[0].remotePort, 1001);
    assert_int_equal(window[1].remotePort, 1003);
}

/** @brief Entries of another group than the one being collected are ignored. */
static void test_Defender_SinkAdd_GroupMismatchIgnored(void **state)
{
    DefenderListeningPort_t portHead[CAP];
    DefenderListeningPort_t portWindow[CAP];
    DefenderConnection_t connHead[CAP];
    DefenderConnection_t connWindow[CAP];
    DefenderInterfaceCounters_t interfaces[CAP];
    DefenderMetricsSink_t sink;
    DefenderListeningPort_t port = makePort(22U);
    DefenderConnection_t connection;
    DefenderInterfaceCounters_t counters;

    (void) state;
    (void) memset(&connection, 0, sizeof(connection));
    connection.remoteAddress.family = 4U;
    connection.remotePort = 443U;
    (void) memset(&counters, 0, sizeof(counters));
    (void) strcpy(counters.name, "eth0");

    Defender_SinkInit(&sink, DEFENDER_METRIC_LISTENING_TCP_PORTS, portHead, portWindow, CAP, 0U,
                      0U);
    Defender_SinkAddConnection(&sink, &connection);
    Defender_SinkAddInterface(&sink, &counters);
    assert_int_equal(sink.seen, 0);
    assert_int_equal(Defender_SinkFinish(&sink), 0);

    Defender_SinkInit(&sink, DEFENDER_METRIC_TCP_CONNECTIONS, connHead, connWindow, CAP, 0U, 0U);
    Defender_SinkAddListeningPort(&sink, &port);
    Defender_SinkAddInterface(&sink, &counters);
    assert_int_equal(sink.seen, 0);
    Defender_SinkAddConnection(&sink, &connection);
    assert_int_equal(Defender_SinkFinish(&sink), 1);
    assert_int_equal(connWindow[0].remotePort, 443);

    Defender_SinkInit(&sink, DEFENDER_METRIC_NETWORK_STATS, interfaces, NULL, CAP, 0U, 0U);
    Defender_SinkAddListeningPort(&sink, &port);
    Defender_SinkAddConnection(&sink, &connection);
    assert_int_equal(sink.interfaceCount, 0);
    Defender_SinkAddInterface(&sink, &counters);
    assert_int_equal(Defender_SinkFinish(&sink), 1);
    assert_string_equal(interfaces[0].name, "eth0");
}

/** @brief Connections rotate like ports. */
static void test_Defender_SinkFinish_ConnectionsRotate(void **state)
{
    DefenderConnection_t head[CAP];
    DefenderConnection_t window[CAP];
    DefenderMetricsSink_t sink;
    DefenderConnection_t connection;
    uint16_t i;

    (void) state;
    Defender_SinkInit(&sink, DEFENDER_METRIC_TCP_CONNECTIONS, head, window, CAP, 1U, 10U);
    for (i = 0U; i < 10U; i++)
    {
        (void) memset(&connection, 0, sizeof(connection));
        connection.remoteAddress.family = 4U;
        connection.localPort = (uint16_t) (1000U + i);
        Defender_SinkAddConnection(&sink, &connection);
    }
    assert_int_equal(Defender_SinkFinish(&sink), 3);
    assert_int_equal(sink.seen, 10);
    assert_int_equal(window[0].localPort, 1003);
    assert_int_equal(window[1].localPort, 1004);
    assert_int_equal(window[2].localPort, 1005);
}

/** @brief Interfaces beyond the table are counted as dropped, the rest kept. */
static void test_Defender_SinkAddInterface_Overflow(void **state)
{
    DefenderInterfaceCounters_t interfaces[2];
    DefenderMetricsSink_t sink;
    DefenderInterfaceCounters_t counters;
    uint64_t i;

    (void) state;
    Defender_SinkInit(&sink, DEFENDER_METRIC_NETWORK_STATS, interfaces, NULL, 2U, 0U, 0U);
    for (i = 0U; i < 5U; i++)
    {
        (void) memset(&counters, 0, sizeof(counters));
        counters.name[0] = (char) ('a' + (char) i);
        counters.bytesIn = i;
        Defender_SinkAddInterface(&sink, &counters);
    }
    assert_int_equal(sink.interfaceCount, 2);
    assert_int_equal(sink.interfacesDropped, 3);
    assert_int_equal(Defender_SinkFinish(&sink), 2);
    assert_string_equal(interfaces[0].name, "a");
    assert_string_equal(interfaces[1].name, "b");
    assert_int_equal(interfaces[1].bytesIn, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_Defender_Sink_NullArguments),
        cmocka_unit_test(test_Defender_SinkFinish_UnderCapListsAll),
        cmocka_unit_test(test_Defender_SinkFinish_NoEstimateListsHead),
        cmocka_unit_test(test_Defender_SinkFinish_RotationWindowAndWrap),
        cmocka_unit_test(test_Defender_SinkInit_LargeRotation),
        cmocka_unit_test(test_Defender_SinkFinish_EstimatePastEndListsHead),
        cmocka_unit_test(test_Defender_SinkFinish_ListGrew),
        cmocka_unit_test(test_Defender_SinkFinish_NoDuplicates),
        cmocka_unit_test(test_Defender_SinkAddListeningPort_PortZeroIgnored),
        cmocka_unit_test(test_Defender_SinkAddConnection_UnknownFamilyIgnored),
        cmocka_unit_test(test_Defender_SinkAdd_GroupMismatchIgnored),
        cmocka_unit_test(test_Defender_SinkFinish_ConnectionsRotate),
        cmocka_unit_test(test_Defender_SinkAddInterface_Overflow),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
