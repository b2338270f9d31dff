/**
 * @file defender_sink.c
 * @brief The metrics sink: bounded collection of list entries with rotation (PD-9,
 * PD-26) and of interface counters.
 *
 * A source streams every entry; the sink counts them all (the true `total`) and
 * keeps two arrays of `capacity` entries: the first entries (head) and the entries
 * of the rotation window that starts at `(k * C) mod n`. As the sink sees each
 * entry only once, the window is placed with the count `n` of the previous
 * collection: while the count is unchanged the result is exactly PD-26's; when it
 * changed, the window still rotates, from that estimate (and falls back to the
 * first entries when the estimate lies past the end).
 */
#include <string.h>

#include "defender_core.h"

/**
 * @brief Keeps one entry: in the head array while it is among the first `capacity`,
 * and in the window array while it falls in the rotation window; counts it.
 * @param[in,out] pSink Sink.
 * @param[in] pEntry Entry of the sink's type (may be NULL: ignored).
 * @param[in] groups Groups this entry type belongs to.
 */
static void keepEntry(DefenderMetricsSink_t *pSink, const void *pEntry, uint32_t groups)
{
    uint64_t index;
    size_t size;

    if ((pSink != NULL) && (pEntry != NULL) && ((pSink->group & groups) != 0U) &&
        (pSink->pHead != NULL) &&
        ((pSink->pWindow != NULL) || (groups == DEFENDER_METRIC_NETWORK_STATS)))
    {
        index = pSink->seen;
        size = pSink->entrySize;
        if (index < pSink->capacity)
        {
            (void) memcpy(&pSink->pHead[(size_t) index * size], pEntry, size);
            pSink->headCount++;
        }
        if ((pSink->pWindow != NULL) && (index >= pSink->windowStart) &&
            ((index - pSink->windowStart) < pSink->capacity))
        {
            (void) memcpy(&pSink->pWindow[(size_t) (index - pSink->windowStart) * size], pEntry,
                          size);
            pSink->windowCount++;
        }
        pSink->seen = index + 1U;
        pSink->interfaceCount = pSink->headCount;
        pSink->interfacesDropped = (uint32_t) (pSink->seen - pSink->headCount);
    }
}

void Defender_SinkInit(DefenderMetricsSink_t *pSink, DefenderMetricGroup_t group, void *pHead,
                       void *pWindow, size_t capacity, uint64_t rotation, uint64_t expectedTotal)
{
    uint32_t n;

    if (pSink != NULL)
    {
        (void) memset(pSink, 0, sizeof(*pSink));
        pSink->group = group;
        pSink->capacity = capacity;
        pSink->pHead = (uint8_t *) pHead;
        pSink->entrySize = sizeof(DefenderListeningPort_t);
        if (group == DEFENDER_METRIC_TCP_CONNECTIONS)
        {
            pSink->entrySize = sizeof(DefenderConnection_t);
        }
        if (group == DEFENDER_METRIC_NETWORK_STATS)
        {
            pSink->entrySize = sizeof(DefenderInterfaceCounters_t);
        }
        else
        {
            pSink->pWindow = (uint8_t *) pWindow;
        }

        /* (k * C) mod n in 32-bit arithmetic (no 64-bit division on small MCUs): lists
         * beyond 2^32 / C entries are not rotated. */
        if ((expectedTotal > capacity) && (expectedTotal <= (0xFFFFFFFFU / capacity)))
        {
            n = (uint32_t) expectedTotal;
            pSink->windowStart = ((uint32_t) rotation % n) * (uint32_t) capacity % n;
        }
    }
}

void Defender_SinkAddConnection(DefenderMetricsSink_t *pSink,
                                const DefenderConnection_t *pConnection)
{
    /* A peer address the report cannot hold (family neither 4 nor 6: `| 2` maps only 4
     * and 6 to 6) is left out like a port-less listener, not made an encode error. */
    if ((pConnection != NULL) && ((pConnection->remoteAddress.family | 2U) == 6U))
    {
        keepEntry(pSink, pConnection, DEFENDER_METRIC_TCP_CONNECTIONS);
    }
}

void Defender_SinkAddListeningPort(DefenderMetricsSink_t *pSink,
                                   const DefenderListeningPort_t *pPort)
{
    if ((pPort != NULL) && (pPort->port != 0U))
    {
        keepEntry(pSink, pPort,
                  DEFENDER_METRIC_LISTENING_TCP_PORTS | DEFENDER_METRIC_LISTENING_UDP_PORTS);
    }
}

void Defender_SinkAddInterface(DefenderMetricsSink_t *pSink,
                               const DefenderInterfaceCounters_t *pCounters)
{
    keepEntry(pSink, pCounters, DEFENDER_METRIC_NETWORK_STATS);
}

size_t Defender_SinkFinish(DefenderMetricsSink_t *pSink)
{
    size_t listed = 0U;
    size_t size;
    size_t wrap;
    uint64_t start = 0U;

    if (pSink != NULL)
    {
        listed = pSink->headCount;
        size = pSink->entrySize;
        if (pSink->seen > pSink->capacity)
        {
            start = pSink->windowStart;
            if ((start >= pSink->seen) || (pSink->windowCount == 0U))
            {
                start = 0U;
            }
        }

        if (pSink->pWindow == NULL)
        {
            /* Network statistics (or a sink without arrays): the head is the result. */
        }
        else if (start == 0U)
        {
            /* The head holds entries 0..min(n, C)-1. */
            (void) memmove(pSink->pWindow, pSink->pHead, listed * size);
        }
        else
        {
            /* Window entries start..n-1 (at most C), then wrap to the head. */
            wrap = pSink->capacity - pSink->windowCount;
            if (wrap > pSink->headCount)
            {
                wrap = pSink->headCount;
            }
            (void) memcpy(&pSink->pWindow[pSink->windowCount * size], pSink->pHead, wrap * size);
            listed = pSink->windowCount + wrap;
        }
    }

    return listed;
}
