/**
 * @file fuzz_proc.c
 * @brief libFuzzer target: the Linux metrics source's /proc parser (net/tcp, tcp6, udp,
 * udp6, if_inet6, dev) on arbitrary file contents.
 *
 * The input is split at NUL bytes into the six files, written to a private proc root
 * (`DefenderLinuxSourceOptions_t.pProcRoot`, netlink off), and every metric group is
 * collected into a sink of 8 entries. Checks: the source never fails on content (malformed
 * lines are skipped and counted), the sink stays within its capacity, listed entries are
 * at most the total, listening ports are never 0, and interface names are terminated.
 */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "defender_core.h"
#include "defender_metrics_linux.h"

int LLVMFuzzerTestOneInput(const uint8_t *pData, size_t size);

#define CAPACITY 8U

static const char *const files[] = {"net/tcp",  "net/tcp6", "net/udp",
                                    "net/udp6", "net/dev",  "net/if_inet6"};
static char root[64];

static void check(bool condition)
{
    if (!condition)
    {
        __builtin_trap();
    }
}

/** @brief Removes the private proc root at exit. */
static void removeRoot(void)
{
    char path[128];
    size_t i;

    for (i = 0U; i < (sizeof(files) / sizeof(files[0])); i++)
    {
        (void) snprintf(path, sizeof(path), "%s/%s", root, files[i]);
        (void) unlink(path);
    }
    (void) snprintf(path, sizeof(path), "%s/net", root);
    (void) rmdir(path);
    (void) rmdir(root);
}

/** @brief Creates the private proc root once (a new directory of its own: mkdtemp). The
 * files are removed at a normal exit; after a crash they stay for the report. */
static void makeRoot(void)
{
    char net[96];
    const char *pTmp = getenv("TMPDIR");

    if (root[0] == '\0')
    {
        (void) snprintf(root, sizeof(root), "%s/defender-fuzz-proc-XXXXXX",
                        ((pTmp != NULL) && (pTmp[0] != '\0') && (strlen(pTmp) < 32U)) ? pTmp
                                                                                      : "/tmp");
        check(mkdtemp(root) != NULL);
        (void) snprintf(net, sizeof(net), "%s/net", root);
        check(mkdir(net, 0700) == 0);
        (void) atexit(removeRoot);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *pData, size_t size)
{
    static DefenderConnection_t connHead[CAPACITY];
    static DefenderConnection_t connWindow[CAPACITY];
    static DefenderListeningPort_t portHead[CAPACITY];
    static DefenderListeningPort_t portWindow[CAPACITY];
    static DefenderInterfaceCounters_t interfaces[DEFENDER_CONFIG_MAX_INTERFACES];
    static const DefenderMetricGroup_t groups[] = {
        DEFENDER_METRIC_TCP_CONNECTIONS, DEFENDER_METRIC_LISTENING_TCP_PORTS,
        DEFENDER_METRIC_LISTENING_UDP_PORTS, DEFENDER_METRIC_NETWORK_STATS};
    DefenderLinuxSource_t source;
    DefenderLinuxSourceOptions_t options = {false, NULL};
    DefenderMetricsSource_t iface;
    DefenderMetricsSink_t sink;
    char path[128];
    size_t start = 0U;
    size_t i;

    if (size > 65536U)
    {
        return 0;
    }
    makeRoot();
    for (i = 0U; i < (sizeof(files) / sizeof(files[0])); i++)
    {
        const uint8_t *pEnd = (start < size) ? memchr(&pData[start], 0, size - start) : NULL;
        size_t length = (start < size)
                            ? ((pEnd != NULL) ? (size_t) (pEnd - &pData[start]) : (size - start))
                            : 0U;
        FILE *pFile;

        (void) snprintf(path, sizeof(path), "%s/%s", root, files[i]);
        pFile = fopen(path, "w");
        check(pFile != NULL);
        check((length == 0U) || (fwrite(&pData[start], 1U, length, pFile) == length));
        check(fclose(pFile) == 0);
        start += length + 1U;
    }

    options.pProcRoot = root;
    check(DefenderLinux_SourceInit(&source, &options) == DEFENDER_SUCCESS);
    DefenderLinux_SourceGet(&source, &iface);
    for (i = 0U; i < (sizeof(groups) / sizeof(groups[0])); i++)
    {
        DefenderMetricGroup_t group = groups[i];
        size_t count;
        size_t j;

        if (group == DEFENDER_METRIC_TCP_CONNECTIONS)
        {
            Defender_SinkInit(&sink, group, connHead, connWindow, CAPACITY, 0U, 0U);
        }
        else if (group == DEFENDER_METRIC_NETWORK_STATS)
        {
            Defender_SinkInit(&sink, group, interfaces, NULL, DEFENDER_CONFIG_MAX_INTERFACES, 0U,
                              0U);
        }
        else
        {
            Defender_SinkInit(&sink, group, portHead, portWindow, CAPACITY, 0U, 0U);
        }
        /* Content never makes the source fail (a missing file would). */
        check(iface.pfCollect(iface.pContext, group, &sink) == DEFENDER_SOURCE_OK);
        if (group == DEFENDER_METRIC_NETWORK_STATS)
        {
            check(sink.interfaceCount <= DEFENDER_CONFIG_MAX_INTERFACES);
            for (j = 0U; j < sink.interfaceCount; j++)
            {
                check(memchr(interfaces[j].name, 0, sizeof(interfaces[j].name)) != NULL);
                check((interfaces[j].counterBits == 32U) || (interfaces[j].counterBits == 64U));
            }
        }
        else
        {
            count = Defender_SinkFinish(&sink);
            check(count <= CAPACITY);
            check((uint64_t) count <= sink.seen);
            for (j = 0U; (group != DEFENDER_METRIC_TCP_CONNECTIONS) && (j < count); j++)
            {
                check(portWindow[j].port != 0U);
                check(memchr(portWindow[j].interfaceName, 0, sizeof(portWindow[j].interfaceName)) !=
                      NULL);
            }
            for (j = 0U; (group == DEFENDER_METRIC_TCP_CONNECTIONS) && (j < count); j++)
            {
                check(memchr(connWindow[j].localInterface, 0,
                             sizeof(connWindow[j].localInterface)) != NULL);
            }
        }
    }
    return 0;
}
