/**
 * @file test_mosquitto_resubscribe.c
 * @brief The agent's libmosquitto connection subscribes again after connections that
 * dropped while SUBACKs were awaited.
 *
 * A scripted broker on the test broker's port accepts the agent's connection, answers
 * CONNECT, reads both SUBSCRIBE packets and closes the connection without a SUBACK; twice.
 * Then the real Mosquitto broker comes up on the same port with the test peer, and the
 * seed API's next report must be accepted. (The connection used to keep the SUBACKs of
 * dropped connections waiting in its four slots, so after two such drops it could never
 * subscribe again and every report was NotSent.)
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "defender.h"
#include "defender_linux.h"
#include "test_broker.h"
#include "test_peer.h"
#include "test_seed_wait.h"

/** @brief Connections the scripted broker drops before SUBACK. */
#define DROPS 2

/** @brief Reads exactly `length` bytes within `timeoutMs`; false on EOF or time-out. */
static bool readExactly(int fd, uint8_t *pOut, size_t length, int timeoutMs)
{
    size_t got = 0U;

    while (got < length)
    {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        ssize_t n;

        if (poll(&p, 1, timeoutMs) != 1)
        {
            return false;
        }
        n = read(fd, &pOut[got], length - got);
        if (n <= 0)
        {
            return false;
        }
        got += (size_t) n;
    }
    return true;
}

/** @brief Reads one MQTT packet; returns its type (high nibble), or -1. */
static int readPacket(int fd, int timeoutMs)
{
    uint8_t header;
    uint8_t digit;
    uint8_t body[1024];
    size_t remaining = 0U;
    size_t shift = 0U;

    if (!readExactly(fd, &header, 1U, timeoutMs))
    {
        return -1;
    }
    do
    {
        if ((shift > 21U) || !readExactly(fd, &digit, 1U, timeoutMs))
        {
            return -1;
        }
        remaining |= (size_t) (digit & 0x7FU) << shift;
        shift += 7U;
    } while ((digit & 0x80U) != 0U);
    if ((remaining > sizeof(body)) || !readExactly(fd, body, remaining, timeoutMs))
    {
        return -1;
    }
    return header >> 4;
}

/**
 * @brief Serves one connection: CONNACK to CONNECT, then reads SUBSCRIBE packets until
 * two came (or a second passed) and closes without answering them.
 * @return The number of SUBSCRIBE packets read.
 */
static int dropBeforeSuback(int listener)
{
    static const uint8_t connack[] = {0x20U, 0x02U, 0x00U, 0x00U};
    struct pollfd p = {.fd = listener, .events = POLLIN};
    int subscribes = 0;
    int type;
    int fd;

    if (poll(&p, 1, 15000) != 1)
    {
        return -1;
    }
    fd = accept(listener, NULL, NULL);
    if (fd < 0)
    {
        return -1;
    }
    type = readPacket(fd, 5000);
    if ((type == 1) && (write(fd, connack, sizeof(connack)) == (ssize_t) sizeof(connack)))
    {
        while ((subscribes < 2) && ((type = readPacket(fd, 1000)) >= 0))
        {
            subscribes += (type == 8) ? 1 : 0;
        }
    }
    close(fd);
    return subscribes;
}

/** @brief What the test starts; stopped by the teardown even when an assertion fails. */
static struct
{
    TestBroker_t broker;
    TestPeer_t peer;
    bool brokerStarted;
    bool peerStarted;
    int listener;
    char stateDir[64];
} t;

static int setup(void **state)
{
    (void) state;
    t.listener = -1;
    (void) snprintf(t.stateDir, sizeof(t.stateDir), "/tmp/defender-state-XXXXXX");
    return (mkdtemp(t.stateDir) != NULL) ? 0 : -1;
}

static int teardown(void **state)
{
    char command[128];

    (void) state;
    (void) DEFENDER_Stop();
    if (t.listener >= 0)
    {
        close(t.listener);
    }
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

/** @brief Two connections dropped while SUBACKs were awaited; the third (a real broker)
 * gets SUBSCRIBE packets and the report is accepted. */
static void test_ResubscribesAfterDropsBeforeSuback(void **state)
{
    struct sockaddr_in address;
    char endpoint[64];
    char thing[64];
    defender_metric_t metrics[] = {DEFENDER_tcp_connections};
    int one = 1;
    int i;

    (void) state;
    t.brokerStarted = TestBroker_Start(&t.broker, NULL);
    assert_true(t.brokerStarted);
    TestBroker_Kill(&t.broker); /* Keeps its configuration and port for the restart. */

    t.listener = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(t.listener >= 0);
    assert_int_equal(setsockopt(t.listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), 0);
    (void) memset(&address, 0, sizeof(address));
    address.sin_family = AF_INET;
    address.sin_port = htons(t.broker.port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(t.listener, (struct sockaddr *) &address, sizeof(address)), 0);
    assert_int_equal(listen(t.listener, 4), 0);

    (void) snprintf(thing, sizeof(thing), "resubscribe-%d", (int) getpid());
    (void) snprintf(endpoint, sizeof(endpoint), "127.0.0.1:%u", (unsigned) t.broker.port);
    setenv("DEFENDER_ENDPOINT", endpoint, 1);
    setenv("DEFENDER_THING_NAME", thing, 1);
    setenv("DEFENDER_STATE_DIR", t.stateDir, 1);
    setenv("DEFENDER_LOG_LEVEL", "error", 1);
    assert_int_equal(DEFENDER_LinuxConfigSet(NULL), eDefenderErrSuccess);
    assert_int_equal(DEFENDER_MetricsInit(metrics), eDefenderErrSuccess);
    assert_int_equal(DEFENDER_ReportPeriodSet(5), eDefenderErrSuccess);
    assert_int_equal(DEFENDER_Start(), eDefenderErrSuccess);

    for (i = 0; i < DROPS; i++)
    {
        /* Both response topics were requested, and neither SUBACK came. */
        assert_int_equal(dropBeforeSuback(t.listener), 2);
    }
    close(t.listener);
    t.listener = -1;

    assert_true(TestBroker_Restart(&t.broker));
    t.peerStarted = TestPeer_Start(&t.peer, t.broker.port, TEST_PEER_ACCEPT);
    assert_true(t.peerStarted);
    /* Reconnect back-off (about 1-2 s after these drops), SUBACKs, then the due report. */
    assert_true(TestWaitStatus(eDefenderRepSuccess, 20000));
    assert_true(TestPeer_Reports(&t.peer) >= 1U);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ResubscribesAfterDropsBeforeSuback, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
