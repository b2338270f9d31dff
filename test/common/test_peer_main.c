/**
 * @file test_peer_main.c
 * @brief `defender-test-peer`: the test peer as a program, for shell-driven tests.
 *
 * Usage: defender-test-peer PORT [accept|reject|throttle|silent]
 * Connects to 127.0.0.1:PORT, prints "ready" once subscribed, answers reports until
 * it gets SIGTERM or SIGINT, then prints the number of reports it answered.
 */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test_peer.h"

static volatile sig_atomic_t stopRequested;

static void onSignal(int signalNumber)
{
    (void) signalNumber;
    stopRequested = 1;
}

int main(int argc, char **argv)
{
    static TestPeer_t peer;
    TestPeerMode_t mode = TEST_PEER_ACCEPT;
    struct sigaction action;
    long port;

    if ((argc < 2) || ((port = strtol(argv[1], NULL, 10)) <= 0) || (port > 65535))
    {
        fprintf(stderr, "usage: %s PORT [accept|reject|throttle|silent]\n", argv[0]);
        return 1;
    }
    if (argc > 2)
    {
        if (strcmp(argv[2], "reject") == 0)
        {
            mode = TEST_PEER_REJECT;
        }
        else if (strcmp(argv[2], "throttle") == 0)
        {
            mode = TEST_PEER_THROTTLE;
        }
        else if (strcmp(argv[2], "silent") == 0)
        {
            mode = TEST_PEER_SILENT;
        }
        else if (strcmp(argv[2], "accept") != 0)
        {
            fprintf(stderr, "unknown mode '%s'\n", argv[2]);
            return 1;
        }
    }
    memset(&action, 0, sizeof(action));
    action.sa_handler = onSignal;
    sigaction(SIGTERM, &action, NULL);
    sigaction(SIGINT, &action, NULL);
    if (!TestPeer_Start(&peer, (uint16_t) port, mode))
    {
        fprintf(stderr, "cannot connect to 127.0.0.1:%ld\n", port);
        return 1;
    }
    printf("ready\n");
    fflush(stdout);
    while (!stopRequested)
    {
        pause();
    }
    printf("reports %u\n", TestPeer_Reports(&peer));
    TestPeer_Stop(&peer);
    return 0;
}
