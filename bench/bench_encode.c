/**
 * @file bench_encode.c
 * @brief Times Defender_EncodeReport on a report with 1,000 connections, 50 TCP and
 * 20 UDP listeners, network statistics and two custom metrics, in JSON and CBOR with
 * long and short keys, and compares with the same JSON built with snprintf.
 *
 * Each variant runs in ROUNDS rounds of iterations / ROUNDS encodings; the figure is the
 * median round (the spread, fastest to slowest round, follows it), so that a round slowed
 * by something else on the machine does not move it. The snprintf baseline runs in rounds
 * that alternate with rounds of the JSON encoder; the speed-up is the median of the pairs'
 * ratios.
 *
 * Usage: bench_encode [iterations]
 */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "defender_report.h"

#define CONNECTIONS 1000U
#define TCP_PORTS   50U
#define UDP_PORTS   20U
#define BUFFER_SIZE (512U * 1024U)
#define ROUNDS      7

static DefenderConnection_t connections[CONNECTIONS];
static DefenderListeningPort_t tcpPorts[TCP_PORTS];
static DefenderListeningPort_t udpPorts[UDP_PORTS];
static const double cpuLoad[] = {12.0, 7.5, 3.0, 0.25};
static const char *const tasks[] = {"net", "app/main", "idle"};
static DefenderCustomMetricValue_t custom[2];
static uint8_t output[BUFFER_SIZE];
static char baseline[BUFFER_SIZE];

/** @brief Monotonic time in nanoseconds. */
static double NowNs(void)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return ((double) now.tv_sec * 1e9) + (double) now.tv_nsec;
}

/** @brief Orders doubles (qsort). */
static int CompareDoubles(const void *pA, const void *pB)
{
    double a = *(const double *) pA;
    double b = *(const double *) pB;

    return (a > b) - (a < b);
}

/** @brief Sorts the rounds' times; returns the median (rounds[0] and rounds[ROUNDS - 1] are
 * then the fastest and the slowest). */
static double Median(double rounds[ROUNDS])
{
    qsort(rounds, ROUNDS, sizeof(rounds[0]), CompareDoubles);
    return rounds[ROUNDS / 2];
}

/** @brief Fills the report with deterministic pseudo-random content. */
static void Fill(DefenderReportContent_t *pContent)
{
    uint32_t seed = 12345U;
    size_t i;
    size_t j;

    memset(pContent, 0, sizeof(*pContent));
    for (i = 0; i < CONNECTIONS; i++)
    {
        DefenderConnection_t *pC = &connections[i];
        for (j = 0; j < 16; j++)
        {
            seed = (seed * 1103515245U) + 12345U;
            pC->remoteAddress.bytes[j] = (uint8_t) (seed >> 16);
        }
        if ((i % 4U) == 3U)
        {
            pC->remoteAddress.family = 6;
            pC->remoteAddress.bytes[0] = 0x20;
            pC->remoteAddress.bytes[1] = 0x01;
            memset(&pC->remoteAddress.bytes[4], 0, 6);
        }
        else
        {
            pC->remoteAddress.family = 4;
            memset(&pC->remoteAddress.bytes[4], 0, 12);
        }
        pC->remotePort = (uint16_t) (1024U + (seed % 60000U));
        pC->localPort = (uint16_t) (1U + (i * 7U) % 65535U);
        strcpy(pC->localInterface, ((i % 3U) == 0U) ? "wlan0" : "eth0");
    }
    for (i = 0; i < TCP_PORTS; i++)
    {
        tcpPorts[i].port = (uint16_t) (20U + i * 97U);
        strcpy(tcpPorts[i].interfaceName, ((i % 5U) == 0U) ? "" : "eth0");
    }
    for (i = 0; i < UDP_PORTS; i++)
    {
        udpPorts[i].port = (uint16_t) (53U + i * 331U);
        strcpy(udpPorts[i].interfaceName, "eth0");
    }
    custom[0].pName = "cpu_load";
    custom[0].type = DEFENDER_CUSTOM_NUMBER_LIST;
    custom[0].value.pNumbers = cpuLoad;
    custom[0].value.count = 4;
    custom[1].pName = "task_names";
    custom[1].type = DEFENDER_CUSTOM_STRING_LIST;
    custom[1].value.ppStrings = tasks;
    custom[1].value.count = 3;

    pContent->reportId = 1735689600000ULL;
    pContent->groups = DEFENDER_METRIC_ALL;
    pContent->connections.pEntries = connections;
    pContent->connections.count = CONNECTIONS;
    pContent->connections.total = CONNECTIONS;
    pContent->tcpPorts.pEntries = tcpPorts;
    pContent->tcpPorts.count = TCP_PORTS;
    pContent->tcpPorts.total = TCP_PORTS;
    pContent->udpPorts.pEntries = udpPorts;
    pContent->udpPorts.count = UDP_PORTS;
    pContent->udpPorts.total = UDP_PORTS;
    pContent->networkStats.bytesIn = 5000000000ULL;
    pContent->networkStats.bytesOut = 81234;
    pContent->networkStats.packetsIn = 3402;
    pContent->networkStats.packetsOut = 1210;
    pContent->pCustom = custom;
    pContent->customCount = 2;
}

/** @brief Appends with snprintf (the baseline). */
#define APPEND(...)                                                                                \
    (length += (size_t) snprintf(&baseline[length], BUFFER_SIZE - length, __VA_ARGS__))

/** @brief Builds the same JSON with snprintf and inet_ntop (no escaping needed here). */
static size_t Baseline(const DefenderReportContent_t *pContent, int shortKeys)
{
    size_t length = 0;
    size_t i;
    char address[64];
    const char *const *k;
    static const char *const longKeys[] = {"header",
                                           "report_id",
                                           "version",
                                           "metrics",
                                           "listening_tcp_ports",
                                           "ports",
                                           "interface",
                                           "port",
                                           "total",
                                           "listening_udp_ports",
                                           "network_stats",
                                           "bytes_in",
                                           "bytes_out",
                                           "packets_in",
                                           "packets_out",
                                           "tcp_connections",
                                           "established_connections",
                                           "connections",
                                           "local_interface",
                                           "local_port",
                                           "remote_addr",
                                           "custom_metrics"};
    static const char *const shortKeysTable[] = {
        "hed", "rid", "v",  "met", "tp", "pts", "if", "pt", "t",  "up",  "ns",
        "bi",  "bo",  "pi", "po",  "tc", "ec",  "cs", "li", "lp", "rad", "cmet"};
    const DefenderPortList_t *lists[2] = {&pContent->tcpPorts, &pContent->udpPorts};

    k = shortKeys ? shortKeysTable : longKeys;
    APPEND("{\"%s\":{\"%s\":%llu,\"%s\":\"1.0\"},\"%s\":{", k[0], k[1],
           (unsigned long long) pContent->reportId, k[2], k[3]);
    for (int l = 0; l < 2; l++)
    {
        APPEND("\"%s\":{\"%s\":[", k[l == 0 ? 4 : 9], k[5]);
        for (i = 0; i < lists[l]->count; i++)
        {
            const DefenderListeningPort_t *pP = &lists[l]->pEntries[i];
            APPEND("%s{", (i == 0) ? "" : ",");
            if (pP->interfaceName[0] != '\0')
            {
                APPEND("\"%s\":\"%s\",", k[6], pP->interfaceName);
            }
            APPEND("\"%s\":%u}", k[7], pP->port);
        }
        APPEND("],\"%s\":%llu},", k[8], (unsigned long long) lists[l]->total);
    }
    APPEND("\"%s\":{\"%s\":%llu,\"%s\":%llu,\"%s\":%llu,\"%s\":%llu},", k[10], k[11],
           (unsigned long long) pContent->networkStats.bytesIn, k[12],
           (unsigned long long) pContent->networkStats.bytesOut, k[13],
           (unsigned long long) pContent->networkStats.packetsIn, k[14],
           (unsigned long long) pContent->networkStats.packetsOut);
    APPEND("\"%s\":{\"%s\":{\"%s\":[", k[15], k[16], k[17]);
    for (i = 0; i < pContent->connections.count; i++)
    {
        const DefenderConnection_t *pC = &pContent->connections.pEntries[i];
        inet_ntop((pC->remoteAddress.family == 4) ? AF_INET : AF_INET6, pC->remoteAddress.bytes,
                  address, sizeof(address));
        APPEND((pC->remoteAddress.family == 4) ? "%s{\"%s\":\"%s\",\"%s\":%u,\"%s\":\"%s:%u\"}"
                                               : "%s{\"%s\":\"%s\",\"%s\":%u,\"%s\":\"[%s]:%u\"}",
               (i == 0) ? "" : ",", k[18], pC->localInterface, k[19], pC->localPort, k[20], address,
               pC->remotePort);
    }
    APPEND("],\"%s\":%llu}}},", k[8], (unsigned long long) pContent->connections.total);
    APPEND("\"%s\":{\"cpu_load\":[{\"number_list\":[", k[21]);
    for (i = 0; i < custom[0].value.count; i++)
    {
        APPEND("%s%.15g", (i == 0) ? "" : ",", custom[0].value.pNumbers[i]);
    }
    APPEND("]}],\"task_names\":[{\"string_list\":[");
    for (i = 0; i < custom[1].value.count; i++)
    {
        APPEND("%s\"%s\"", (i == 0) ? "" : ",", custom[1].value.ppStrings[i]);
    }
    APPEND("]}]}}");
    return length;
}

int main(int argc, char **argv)
{
    DefenderReportContent_t content;
    int iterations = (argc > 1) ? atoi(argv[1]) : 3500;
    int perRound;
    int round;
    static const char *const names[2][2] = {{"JSON long ", "JSON short"},
                                            {"CBOR long ", "CBOR short"}};
    double rounds[ROUNDS];
    size_t lengths[2][2];
    int format;
    int keys;
    int i;

    perRound = (iterations > ROUNDS) ? (iterations / ROUNDS) : 1;
    Fill(&content);
    printf("bench_encode: %u connections, %u TCP + %u UDP ports, stats, 2 custom metrics; "
           "%d rounds of %d iterations, median round\n",
           CONNECTIONS, TCP_PORTS, UDP_PORTS, ROUNDS, perRound);
    for (format = 0; format < 2; format++)
    {
        for (keys = 0; keys < 2; keys++)
        {
            size_t length = 0;
            double start;
            double elapsed;

            for (i = 0; i < 50; i++) /* warm-up */
            {
                (void) Defender_EncodeReport(&content, (DefenderFormat_t) format,
                                             (DefenderKeyStyle_t) keys, output, BUFFER_SIZE,
                                             &length, NULL);
            }
            for (round = 0; round < ROUNDS; round++)
            {
                start = NowNs();
                for (i = 0; i < perRound; i++)
                {
                    if (Defender_EncodeReport(&content, (DefenderFormat_t) format,
                                              (DefenderKeyStyle_t) keys, output, BUFFER_SIZE,
                                              &length, NULL) != DEFENDER_SUCCESS)
                    {
                        fprintf(stderr, "encode failed\n");
                        return 1;
                    }
                }
                rounds[round] = (NowNs() - start) / perRound;
            }
            elapsed = Median(rounds);
            lengths[format][keys] = length;
            printf("  %s  %7zu bytes  %9.0f ns/report (rounds %.0f-%.0f)  %7.1f ns/connection  "
                   "%7.1f MB/s\n",
                   names[format][keys], length, elapsed, rounds[0], rounds[ROUNDS - 1],
                   elapsed / CONNECTIONS, (double) length / elapsed * 1e3);
        }
    }
    /* The baseline: rounds of the snprintf encoder alternate with rounds of ours, and each
     * pair gives a ratio, so that a change of the machine's speed between rounds (a shared
     * machine's speed varies within seconds) moves both sides of a ratio alike. */
    for (keys = 0; keys < 2; keys++)
    {
        double encoderRounds[ROUNDS];
        double ratios[ROUNDS];
        double encoderMedian;
        double ratioMedian;
        size_t length = 0;
        size_t encodedLength = 0;
        double start;
        double elapsed;

        for (i = 0; i < 20; i++)
        {
            length = Baseline(&content, keys);
        }
        for (round = 0; round < ROUNDS; round++)
        {
            start = NowNs();
            for (i = 0; i < perRound; i++)
            {
                length = Baseline(&content, keys);
            }
            rounds[round] = (NowNs() - start) / perRound;
            start = NowNs();
            for (i = 0; i < perRound; i++)
            {
                (void) Defender_EncodeReport(&content, DEFENDER_FORMAT_JSON,
                                             (DefenderKeyStyle_t) keys, output, BUFFER_SIZE,
                                             &encodedLength, NULL);
            }
            encoderRounds[round] = (NowNs() - start) / perRound;
            ratios[round] = rounds[round] / encoderRounds[round];
        }
        elapsed = Median(rounds);
        encoderMedian = Median(encoderRounds);
        ratioMedian = Median(ratios); /* sorted: ratios[0] is now the lowest */
        printf("  snprintf %s  %7zu bytes  %9.0f ns/report (rounds %.0f-%.0f)  %7.1f MB/s\n"
               "    against JSON %s in alternating rounds: %.0f ns/report; encoder %.1fx faster "
               "(median of the rounds' ratios, %.1f-%.1f); output %s\n",
               keys ? "short" : "long ", length, elapsed, rounds[0], rounds[ROUNDS - 1],
               (double) length / elapsed * 1e3, keys ? "short" : "long", encoderMedian, ratioMedian,
               ratios[0], ratios[ROUNDS - 1],
               ((length == encodedLength) && (memcmp(baseline, output, length) == 0)) ? "identical"
                                                                                      : "DIFFERS");
    }
    /* Fitting: a buffer of half the JSON size forces entries to be dropped. */
    {
        size_t listed[3];
        size_t length = 0;
        double start = NowNs();
        for (i = 0; i < iterations / 10 + 1; i++)
        {
            (void) Defender_EncodeReport(&content, DEFENDER_FORMAT_JSON, DEFENDER_KEYS_LONG, output,
                                         lengths[0][0] / 2U, &length, listed);
        }
        printf("  JSON long into half the size: %.0f ns/report, listed %zu/%zu/%zu, %zu bytes\n",
               (NowNs() - start) / (iterations / 10 + 1), listed[0], listed[1], listed[2], length);
    }
    return 0;
}
