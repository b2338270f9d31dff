/**
 * @file bench_metrics_linux.c
 * @brief Benchmark of the Linux metrics source: time of one full collection (all four
 * standard groups into the core's sink) with N established loopback connections,
 * through sock_diag netlink, through the source's /proc path, and through a plain
 * fopen/fgets/sscanf reader of /proc/net/{tcp,tcp6,udp,udp6,dev} (the approach of the
 * common agents), written here as the baseline.
 *
 * Usage: bench_metrics_linux [N ...]   (default: 100 1000 10000 50000)
 *
 * Each connection takes two descriptors; the program raises RLIMIT_NOFILE (the hard
 * limit too when it may) and holds the connections in helper processes of at most
 * that many descriptors each, so the collector sees the whole host's N connections
 * whatever one process may open; it skips the sizes it cannot reach. Connections
 * close with RST (SO_LINGER 0) so no TIME_WAIT sockets are left for the next size.
 */
#define _GNU_SOURCE

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "defender_core.h"
#include "defender_metrics_linux.h"

/** @brief Listeners the connections are spread over (ephemeral ports are per peer). */
#define LISTENERS 4

/** @brief Entries per list, as the Linux configuration lists. */
#define CAPACITY DEFENDER_CONFIG_MAX_LIST_ENTRIES

static DefenderLinuxSource_t source;
static DefenderConnection_t connHead[CAPACITY];
static DefenderConnection_t connWindow[CAPACITY];
static DefenderListeningPort_t portHead[CAPACITY];
static DefenderListeningPort_t portWindow[CAPACITY];
static DefenderInterfaceCounters_t interfaces[DEFENDER_CONFIG_MAX_INTERFACES];

/** @brief Monotonic time in seconds. */
static double now(void)
{
    struct timespec ts;

    (void) clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + ((double) ts.tv_nsec * 1e-9);
}

/** @brief Prepares the sink for a group (capacity as in the agent). */
static void sinkFor(DefenderMetricsSink_t *pSink, DefenderMetricGroup_t group)
{
    if (group == DEFENDER_METRIC_TCP_CONNECTIONS)
    {
        Defender_SinkInit(pSink, group, connHead, connWindow, CAPACITY, 0U, 0U);
    }
    else if (group == DEFENDER_METRIC_NETWORK_STATS)
    {
        Defender_SinkInit(pSink, group, interfaces, NULL, DEFENDER_CONFIG_MAX_INTERFACES, 0U, 0U);
    }
    else
    {
        Defender_SinkInit(pSink, group, portHead, portWindow, CAPACITY, 0U, 0U);
    }
}

/**
 * @brief One full collection through the source; returns the established total.
 */
static uint64_t collectSource(void)
{
    static const DefenderMetricGroup_t groups[4] = {
        DEFENDER_METRIC_TCP_CONNECTIONS, DEFENDER_METRIC_LISTENING_TCP_PORTS,
        DEFENDER_METRIC_LISTENING_UDP_PORTS, DEFENDER_METRIC_NETWORK_STATS};
    DefenderMetricsSource_t iface;
    uint64_t established = 0U;
    size_t g;

    DefenderLinux_SourceGet(&source, &iface);
    for (g = 0U; g < 4U; g++)
    {
        DefenderMetricsSink_t sink;

        sinkFor(&sink, groups[g]);
        if (iface.pfCollect(iface.pContext, groups[g], &sink) != DEFENDER_SOURCE_OK)
        {
            fprintf(stderr, "collection failed\n");
            exit(1);
        }
        if (groups[g] != DEFENDER_METRIC_NETWORK_STATS)
        {
            (void) Defender_SinkFinish(&sink);
        }
        if (g == 0U)
        {
            established = sink.seen;
        }
    }
    return established;
}

/**
 * @brief Baseline: reads one /proc/net socket file with fgets + sscanf, delivering
 * connections or listeners of the wanted state to the sink (no interface lookup, no
 * de-duplication: less work than the source does).
 */
static void baselineSockets(const char *pPath, bool v6, DefenderMetricsSink_t *pSink,
                            unsigned wantState, bool udp)
{
    char line[512];
    FILE *pFile = fopen(pPath, "r");

    if (pFile == NULL)
    {
        return;
    }
    (void) fgets(line, sizeof(line), pFile);
    while (fgets(line, sizeof(line), pFile) != NULL)
    {
        char local[64];
        char remote[64];
        unsigned localPort;
        unsigned remotePort;
        unsigned state;

        if (sscanf(line, " %*d: %63[0-9A-Fa-f]:%x %63[0-9A-Fa-f]:%x %x", local, &localPort, remote,
                   &remotePort, &state) != 5)
        {
            continue;
        }
        if (state != wantState)
        {
            continue;
        }
        if (wantState == 1U)
        {
            DefenderConnection_t c;
            size_t i;

            memset(&c, 0, sizeof(c));
            c.remoteAddress.family = v6 ? 6U : 4U;
            for (i = 0U; i < (v6 ? 4U : 1U); i++)
            {
                unsigned word;

                (void) sscanf(&remote[i * 8U], "%8x", &word);
                memcpy(&c.remoteAddress.bytes[i * 4U], &word, 4U);
            }
            c.remotePort = (uint16_t) remotePort;
            c.localPort = (uint16_t) localPort;
            Defender_SinkAddConnection(pSink, &c);
        }
        else if (!udp || (remotePort == 0U))
        {
            DefenderListeningPort_t p;

            memset(&p, 0, sizeof(p));
            p.port = (uint16_t) localPort;
            if (p.port != 0U)
            {
                Defender_SinkAddListeningPort(pSink, &p);
            }
        }
    }
    (void) fclose(pFile);
}

/**
 * @brief Baseline: one full collection with fopen/fgets/sscanf.
 */
static uint64_t collectBaseline(void)
{
    DefenderMetricsSink_t sink;
    uint64_t established;
    char line[512];
    FILE *pFile;

    sinkFor(&sink, DEFENDER_METRIC_TCP_CONNECTIONS);
    baselineSockets("/proc/net/tcp", false, &sink, 1U, false);
    baselineSockets("/proc/net/tcp6", true, &sink, 1U, false);
    (void) Defender_SinkFinish(&sink);
    established = sink.seen;
    sinkFor(&sink, DEFENDER_METRIC_LISTENING_TCP_PORTS);
    baselineSockets("/proc/net/tcp", false, &sink, 10U, false);
    baselineSockets("/proc/net/tcp6", true, &sink, 10U, false);
    (void) Defender_SinkFinish(&sink);
    sinkFor(&sink, DEFENDER_METRIC_LISTENING_UDP_PORTS);
    baselineSockets("/proc/net/udp", false, &sink, 7U, true);
    baselineSockets("/proc/net/udp6", true, &sink, 7U, true);
    (void) Defender_SinkFinish(&sink);

    sinkFor(&sink, DEFENDER_METRIC_NETWORK_STATS);
    pFile = fopen("/proc/net/dev", "r");
    if (pFile != NULL)
    {
        while (fgets(line, sizeof(line), pFile) != NULL)
        {
            DefenderInterfaceCounters_t c;
            unsigned long long v[10];
            char name[16];

            memset(&c, 0, sizeof(c));
            if (sscanf(line, " %15[^:]: %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", name,
                       &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9]) == 11)
            {
                (void) snprintf(c.name, sizeof(c.name), "%.15s", name);
                c.bytesIn = v[0];
                c.packetsIn = v[1];
                c.bytesOut = v[8];
                c.packetsOut = v[9];
                c.counterBits = 64U;
                c.isLoopback = (strcmp(name, "lo") == 0);
                Defender_SinkAddInterface(&sink, &c);
            }
        }
        (void) fclose(pFile);
    }
    return established;
}

/** @brief Most helper processes (each holds up to its descriptor limit of sockets). */
#define MAX_HELPERS 64

/** @brief Helper processes holding the connections of the current size. */
static pid_t helpers[MAX_HELPERS];
static size_t helperCount;
/** @brief Write end of the pipe whose closing tells the helpers to exit. */
static int stopFd = -1;

/** @brief Ends every helper; their sockets close with RST (SO_LINGER 0), no TIME_WAIT. */
static void closeAll(void)
{
    size_t i;

    if (stopFd >= 0)
    {
        (void) close(stopFd);
        stopFd = -1;
    }
    for (i = 0U; i < helperCount; i++)
    {
        (void) waitpid(helpers[i], NULL, 0);
    }
    helperCount = 0U;
}

/**
 * @brief In a helper: opens n established loopback connections spread over the listeners.
 * @return true on success.
 */
static bool openConnections(size_t n, size_t first, const int *pListeners,
                            const struct sockaddr_in *pAddrs)
{
    struct linger hard = {1, 0};
    bool ok = true;
    size_t i;

    for (i = first; (i < first + n) && ok; i++)
    {
        size_t l = i % LISTENERS;
        int client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int server = -1;

        ok = (client >= 0) &&
             (setsockopt(client, SOL_SOCKET, SO_LINGER, &hard, sizeof(hard)) == 0) &&
             (connect(client, (const struct sockaddr *) &pAddrs[l], sizeof(pAddrs[l])) == 0);
        if (ok)
        {
            server = accept(pListeners[l], NULL, NULL);
            ok = (server >= 0) &&
                 (setsockopt(server, SOL_SOCKET, SO_LINGER, &hard, sizeof(hard)) == 0);
        }
        if (!ok)
        {
            fprintf(stderr, "connection %zu: %s\n", i, strerror(errno));
        }
    }
    return ok;
}

/**
 * @brief Opens n connections in helper processes of `perHelper` connections each (the
 * descriptor limit of one process may be below 2n and not raisable without
 * CAP_SYS_RESOURCE). The helpers keep them until closeAll().
 * @return true when all are established.
 */
static bool openInHelpers(size_t n, size_t perHelper, const int *pListeners,
                          const struct sockaddr_in *pAddrs)
{
    int stopPipe[2];
    bool ok = (pipe(stopPipe) == 0);
    size_t opened = 0U;

    stopFd = ok ? stopPipe[1] : -1;
    while (ok && (opened < n))
    {
        size_t chunk = ((n - opened) < perHelper) ? (n - opened) : perHelper;
        int ready[2];
        char status = 0;
        pid_t pid;

        ok = (helperCount < MAX_HELPERS) && (pipe(ready) == 0);
        pid = ok ? fork() : -1;
        if (pid == 0)
        {
            char byte;

            (void) close(stopPipe[1]);
            (void) close(ready[0]);
            status = openConnections(chunk, opened, pListeners, pAddrs) ? 1 : 0;
            (void) write(ready[1], &status, 1U);
            /* Wait until the parent closes the stop pipe (or dies). */
            (void) read(stopPipe[0], &byte, 1U);
            _exit(0);
        }
        if (pid > 0)
        {
            helpers[helperCount++] = pid;
            (void) close(ready[1]);
            ok = (read(ready[0], &status, 1U) == 1) && (status == 1);
            (void) close(ready[0]);
        }
        else
        {
            ok = false;
        }
        opened += chunk;
    }
    if (ok || (stopPipe[0] >= 0))
    {
        (void) close(stopPipe[0]);
    }
    return ok;
}

/**
 * @brief Times `collections` collections of one method.
 * @return Seconds per collection; *pEstablished gets the last established count.
 */
static double timeMethod(int method, unsigned collections, uint64_t *pEstablished)
{
    DefenderLinuxSourceOptions_t options = {method == 0, NULL};
    double start;
    unsigned i;

    (void) DefenderLinux_SourceInit(&source, &options);
    /* One warm-up collection. */
    *pEstablished = (method == 2) ? collectBaseline() : collectSource();
    start = now();
    for (i = 0U; i < collections; i++)
    {
        *pEstablished = (method == 2) ? collectBaseline() : collectSource();
    }
    return (now() - start) / (double) collections;
}

int main(int argc, char **argv)
{
    static const size_t defaults[] = {100U, 1000U, 10000U, 50000U};
    size_t sizes[32];
    size_t sizeCount = 0U;
    int listeners[LISTENERS];
    struct sockaddr_in addrs[LISTENERS];
    struct rlimit limit;
    rlim_t maxFds;
    size_t perHelper;
    size_t maxN = 0U;
    double previous[3] = {0.0, 0.0, 0.0};
    size_t previousN = 0U;
    int i;

    for (i = 1; (i < argc) && (sizeCount < 32U); i++)
    {
        sizes[sizeCount++] = (size_t) strtoul(argv[i], NULL, 10);
    }
    if (sizeCount == 0U)
    {
        memcpy(sizes, defaults, sizeof(defaults));
        sizeCount = sizeof(defaults) / sizeof(defaults[0]);
    }
    for (i = 0; i < (int) sizeCount; i++)
    {
        maxN = (sizes[i] > maxN) ? sizes[i] : maxN;
    }

    /* Two descriptors per connection, plus slack. */
    (void) getrlimit(RLIMIT_NOFILE, &limit);
    if (limit.rlim_max < (rlim_t) (2U * maxN + 64U))
    {
        struct rlimit raised = {(rlim_t) (2U * maxN + 64U), (rlim_t) (2U * maxN + 64U)};

        if (setrlimit(RLIMIT_NOFILE, &raised) != 0)
        {
            fprintf(stderr, "note: cannot raise the hard descriptor limit (%s)\n", strerror(errno));
        }
        (void) getrlimit(RLIMIT_NOFILE, &limit);
    }
    limit.rlim_cur = limit.rlim_max;
    (void) setrlimit(RLIMIT_NOFILE, &limit);
    (void) getrlimit(RLIMIT_NOFILE, &limit);
    maxFds = limit.rlim_cur;
    perHelper = (maxFds > 128U) ? (size_t) ((maxFds - 64U) / 2U) : 0U;

    for (i = 0; i < LISTENERS; i++)
    {
        socklen_t length = sizeof(addrs[i]);

        memset(&addrs[i], 0, sizeof(addrs[i]));
        addrs[i].sin_family = AF_INET;
        addrs[i].sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        listeners[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if ((listeners[i] < 0) ||
            (bind(listeners[i], (struct sockaddr *) &addrs[i], sizeof(addrs[i])) != 0) ||
            (listen(listeners[i], 4096) != 0) ||
            (getsockname(listeners[i], (struct sockaddr *) &addrs[i], &length) != 0))
        {
            perror("listener");
            return 1;
        }
    }

    printf("Linux metrics source: one full collection (4 groups) with N established loopback\n"
           "connections (2N sockets in ESTABLISHED, plus the host's own).\n"
           "descriptor limit %llu per process: connections held by helpers of up to %zu each\n\n",
           (unsigned long long) maxFds, perHelper);
    printf("%8s %10s | %12s %12s %12s | %10s %10s | %s\n", "N", "seen", "netlink ms", "/proc ms",
           "baseline ms", "base/nl", "proc/nl", "growth vs previous N (nl, proc, base)");

    for (i = 0; i < (int) sizeCount; i++)
    {
        size_t n = sizes[i];
        unsigned collections;
        double t[3];
        uint64_t seen[3];
        int m;

        if ((perHelper == 0U) || (((n + perHelper - 1U) / perHelper) > MAX_HELPERS))
        {
            printf("%8zu skipped: needs %zu descriptors, %d processes of %llu at most\n", n, 2U * n,
                   MAX_HELPERS, (unsigned long long) maxFds);
            continue;
        }
        if (!openInHelpers(n, perHelper, listeners, addrs))
        {
            printf("%8zu skipped: could not open the connections\n", n);
            closeAll();
            continue;
        }
        collections = (n <= 1000U) ? 200U : ((n <= 10000U) ? 20U : 5U);
        for (m = 0; m < 3; m++)
        {
            t[m] = timeMethod(m, collections, &seen[m]);
        }
        printf("%8zu %10llu | %12.3f %12.3f %12.3f | %9.1fx %9.1fx |", n,
               (unsigned long long) seen[0], t[0] * 1e3, t[1] * 1e3, t[2] * 1e3, t[2] / t[0],
               t[1] / t[0]);
        if (previousN != 0U)
        {
            printf(" x%.1f N: %.1f, %.1f, %.1f", (double) n / (double) previousN,
                   t[0] / previous[0], t[1] / previous[1], t[2] / previous[2]);
        }
        printf("\n");
        if ((seen[0] < 2U * n) || (seen[1] < 2U * n) || (seen[2] < 2U * n))
        {
            printf(
                "         warning: fewer established sockets seen than opened (%llu %llu %llu)\n",
                (unsigned long long) seen[0], (unsigned long long) seen[1],
                (unsigned long long) seen[2]);
        }
        memcpy(previous, t, sizeof(previous));
        previousN = n;
        closeAll();
    }
    for (i = 0; i < LISTENERS; i++)
    {
        (void) close(listeners[i]);
    }
    return 0;
}
