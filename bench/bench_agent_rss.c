/**
 * @file bench_agent_rss.c
 * @brief defender-agent's own figures: peak RSS (VmHWM) while the host holds N
 * established TCP connections, and CPU time used between reports.
 *
 * Usage: bench_agent_rss [CONNECTIONS [PERIOD_SECONDS]] (default 50000, 5).
 * CONNECTIONS is the number of established TCP sockets the agent sees (both ends of
 * CONNECTIONS/2 loopback connections), held by helper processes so that no single
 * process needs more descriptors than RLIMIT_NOFILE allows. The agent reports every
 * PERIOD to a local Mosquitto broker answered by the test peer; after three reports
 * the benchmark reads VmHWM and the agent's CPU time across most of one idle period.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "test_broker.h"
#include "test_peer.h"

#define MAX_HELPERS 64

static pid_t helpers[MAX_HELPERS];
static size_t helperCount;

/** @brief Helper: opens `pairs` loopback connections (both ends), then waits to die. */
static void helper(size_t pairs, int ready)
{
    struct sockaddr_in address;
    socklen_t length = sizeof(address);
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    size_t i;
    char ok = 1;

    memset(&address, 0, sizeof(address));
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(listener, (struct sockaddr *) &address, sizeof(address)) != 0 ||
        listen(listener, 1024) != 0 ||
        getsockname(listener, (struct sockaddr *) &address, &length) != 0)
    {
        ok = 0;
    }
    for (i = 0; ok && i < pairs; i++)
    {
        int client = socket(AF_INET, SOCK_STREAM, 0);
        if (client < 0 || connect(client, (struct sockaddr *) &address, sizeof(address)) != 0 ||
            accept(listener, NULL, NULL) < 0)
        {
            ok = 0;
        }
    }
    close(listener);
    (void) !write(ready, &ok, 1);
    pause();
    _exit(0);
}

/** @brief Opens `established` established sockets in helper processes. */
static int openConnections(size_t established)
{
    struct rlimit limit;
    size_t pairs = established / 2;
    size_t perHelper;
    int fds[2];

    getrlimit(RLIMIT_NOFILE, &limit);
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
    perHelper = (limit.rlim_cur > 200) ? (limit.rlim_cur - 100) / 2 : 50;
    if (perHelper > 14000)
    {
        perHelper = 14000; /* Ephemeral ports per listener. */
    }
    if (pipe(fds) != 0)
    {
        return -1;
    }
    while (pairs > 0 && helperCount < MAX_HELPERS)
    {
        size_t share = (pairs < perHelper) ? pairs : perHelper;
        char ok = 0;
        pid_t pid = fork();
        if (pid == 0)
        {
            helper(share, fds[1]);
        }
        helpers[helperCount++] = pid;
        if (read(fds[0], &ok, 1) != 1 || !ok)
        {
            fprintf(stderr, "helper could not open %zu connections\n", share);
            return -1;
        }
        pairs -= share;
    }
    close(fds[0]);
    close(fds[1]);
    return (pairs == 0) ? 0 : -1;
}

/** @brief Kills the helpers. */
static void closeConnections(void)
{
    size_t i;
    for (i = 0; i < helperCount; i++)
    {
        kill(helpers[i], SIGKILL);
        waitpid(helpers[i], NULL, 0);
    }
}

/** @brief Reads a "Name:  value kB" line of /proc/PID/status. */
static long statusKb(pid_t pid, const char *pName)
{
    char path[64];
    char line[256];
    long value = -1;
    FILE *pFile;
    snprintf(path, sizeof(path), "/proc/%d/status", (int) pid);
    pFile = fopen(path, "r");
    while (pFile != NULL && fgets(line, sizeof(line), pFile) != NULL)
    {
        if (strncmp(line, pName, strlen(pName)) == 0)
        {
            value = atol(line + strlen(pName) + 1);
        }
    }
    if (pFile != NULL)
    {
        fclose(pFile);
    }
    return value;
}

/** @brief utime + stime of a process in clock ticks. */
static long long cpuTicks(pid_t pid)
{
    char path[64];
    char text[1024];
    long long user = 0;
    long long system = 0;
    FILE *pFile;
    snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
    pFile = fopen(path, "r");
    if (pFile != NULL && fgets(text, sizeof(text), pFile) != NULL)
    {
        const char *p = strrchr(text, ')');
        /* Fields after the command: state(3) ... utime(14) stime(15). */
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lld %lld", &user, &system);
    }
    if (pFile != NULL)
    {
        fclose(pFile);
    }
    return user + system;
}

/** @brief Total of established connections in the peer's last report. */
static double reportedTotal(TestPeer_t *pPeer)
{
    static uint8_t payload[TEST_PEER_MAX_REPORT + 1];
    char topic[256];
    uint64_t id;
    double total = -1;
    size_t length =
        TestPeer_LastReport(pPeer, payload, sizeof(payload) - 1, topic, sizeof(topic), &id);
    cJSON *pRoot;
    payload[length] = '\0';
    pRoot = cJSON_Parse((const char *) payload);
    if (pRoot != NULL)
    {
        cJSON *pEc =
            cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(pRoot, "met"), "tc"), "ec");
        if (pEc != NULL)
        {
            total = cJSON_GetObjectItem(pEc, "t")->valuedouble;
        }
        cJSON_Delete(pRoot);
    }
    return total;
}

int main(int argc, char **argv)
{
    size_t established = (argc > 1) ? (size_t) atol(argv[1]) : 50000;
    unsigned period = (argc > 2) ? (unsigned) atoi(argv[2]) : 5;
    static TestBroker_t broker;
    static TestPeer_t peer;
    char endpoint[64];
    char periodText[16];
    char stateDir[] = "/tmp/bench-agent-XXXXXX";
    long long before;
    long long after;
    long ticks = sysconf(_SC_CLK_TCK);
    double idleSeconds = (double) period - 1.5;
    pid_t agent;
    int status = 1;

    if (mkdtemp(stateDir) == NULL || openConnections(established) != 0 ||
        !TestBroker_Start(&broker, NULL) || !TestPeer_Start(&peer, broker.port, TEST_PEER_ACCEPT))
    {
        fprintf(stderr, "set-up failed\n");
        closeConnections();
        return 1;
    }
    snprintf(endpoint, sizeof(endpoint), "127.0.0.1:%u", (unsigned) broker.port);
    snprintf(periodText, sizeof(periodText), "%u", period);
    agent = fork();
    if (agent == 0)
    {
        char *args[] = {(char *) DEFENDER_AGENT_PATH,
                        "--endpoint",
                        endpoint,
                        "--thing",
                        "bench-agent",
                        "--period",
                        periodText,
                        "--state-dir",
                        stateDir,
                        "--ack-timeout",
                        "2000",
                        "--log-level",
                        "warn",
                        NULL};
        execv(args[0], args);
        _exit(127);
    }
    if (TestPeer_WaitReports(&peer, 3, 20000U + 3U * period * 1000U))
    {
        /* Idle: from shortly after report 3 to shortly before report 4. */
        usleep(500000);
        before = cpuTicks(agent);
        usleep((useconds_t) (idleSeconds * 1e6));
        after = cpuTicks(agent);
        printf("defender-agent: established connections reported %.0f (requested %zu)\n",
               reportedTotal(&peer), established);
        printf("defender-agent: peak RSS (VmHWM) %ld KiB, RSS now %ld KiB\n",
               statusKb(agent, "VmHWM:"), statusKb(agent, "VmRSS:"));
        printf("defender-agent: CPU between reports %.1f ms over %.1f s (%.3f %% of a core)\n",
               (double) (after - before) * 1000.0 / (double) ticks, idleSeconds,
               (double) (after - before) * 100.0 / (double) ticks / idleSeconds);
        status = 0;
    }
    else
    {
        fprintf(stderr, "the agent did not send three reports\n");
    }
    kill(agent, SIGTERM);
    waitpid(agent, NULL, 0);
    TestPeer_Stop(&peer);
    TestBroker_Stop(&broker);
    closeConnections();
    {
        char command[64];
        snprintf(command, sizeof(command), "rm -rf %s", stateDir);
        (void) !system(command);
    }
    return status;
}
