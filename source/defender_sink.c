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
 * @brief Keeps one entry at list index `index` in the head and window arrays.
 * @param[in,out] pSink Sink.
 * @param[in] pEntry Entry to keep.
 * @param[in] size Size of one entry.
 * @param[out] pHead Head array.
 * @param[out] pWindow Window array.
 */
static void keepEntry(DefenderMetricsSink_t *pSink, const void *pEntry, size_t size, void *pHead,
                      void *pWindow)
{
    uint64_t index = pSink->seen;

    if (index < pSink->capacity)
    {
        (void) memcpy((uint8_t *) pHead + ((size_t) index * size), pEntry, size);
        pSink->headCount++;
    }

    if ((index >= pSink->windowStart) && ((index - pSink->windowStart) < pSink->capacity))
    {
        (void) memcpy((uint8_t *) pWindow + ((size_t) (index - pSink->windowStart) * size), pEntry,
                      size);
        pSink->windowCount++;
    }

    pSink->seen++;
}

void Defender_SinkInit(DefenderMetricsSink_t *pSink, DefenderMetricGroup_t group, void *pHead,
                       void *pWindow, size_t capacity, uint64_t rotation, uint64_t expectedTotal)
{
    if (pSink != NULL)
    {
        (void) memset(pSink, 0, sizeof(*pSink));
        pSink->group = group;
        pSink->capacity = capacity;

        if (group == DEFENDER_METRIC_TCP_CONNECTIONS)
        {
            pSink->pConnectionHead = (DefenderConnection_t *) pHead;
            pSink->pConnectionWindow = (DefenderConnection_t *) pWindow;
        }
        else if (group == DEFENDER_METRIC_NETWORK_STATS)
        {
            pSink->pInterfaces = (DefenderInterfaceCounters_t *) pHead;
            pSink->interfaceCapacity = capacity;
        }
        else
        {
            pSink->pPortHead = (DefenderListeningPort_t *) pHead;
            pSink->pPortWindow = (DefenderListeningPort_t *) pWindow;
        }

        /* (k * C) mod n in 32-bit arithmetic (no 64-bit division on small MCUs): lists
         * beyond 2^32 / C entries are not rotated. */
        if ((expectedTotal > capacity) && (expectedTotal <= (0xFFFFFFFFU / capacity)))
        {
            uint32_t n = (uint32_t) expectedTotal;
            pSink->windowStart =
                ((uint32_t) (rotation % 0x100000000ULL) % n) * (uint32_t) capacity % n;
        }
    }
}

void Defender_SinkAddConnection(DefenderMetricsSink_t *pSink,
                                const DefenderConnection_t *pConnection)
{
    if ((pSink != NULL) && (pConnection != NULL) &&
        (pSink->group == DEFENDER_METRIC_TCP_CONNECTIONS) && (pSink->pConnectionHead != NULL) &&
        (pSink->pConnectionWindow != NULL))
    {
        keepEntry(pSink, pConnection, sizeof(*pConnection), pSink->pConnectionHead,
                  pSink->pConnectionWindow);
    }
}

void Defender_SinkAddListeningPort(DefenderMetricsSink_t *pSink,
                                   const DefenderListeningPort_t *pPort)
{
    if ((pSink != NULL) && (pPort != NULL) && (pPort->port != 0U) &&
        ((pSink->group == DEFENDER_METRIC_LISTENING_TCP_PORTS) ||
         (pSink->group == DEFENDER_METRIC_LISTENING_UDP_PORTS)) &&
        (pSink->pPortHead != NULL) && (pSink->pPortWindow != NULL))
    {
        keepEntry(pSink, pPort, sizeof(*pPort), pSink->pPortHead, pSink->pPortWindow);
    }
}

void Defender_SinkAddInterface(DefenderMetricsSink_t *pSink,
                               const DefenderInterfaceCounters_t *pCounters)
{
    if ((pSink != NULL) && (pCounters != NULL) && (pSink->group == DEFENDER_METRIC_NETWORK_STATS) &&
        (pSink->pInterfaces != NULL))
    {
        if (pSink->interfaceCount < pSink->interfaceCapacity)
        {
            pSink->pInterfaces[pSink->interfaceCount] = *pCounters;
            pSink->interfaceCount++;
        }
        else
        {
            pSink->interfacesDropped++;
        }
        pSink->seen++;
    }
}

/**
 * @brief Arranges the listed entries at the start of the window array.
 * @param[in,out] pSink Sink.
 * @param[in] size Size of one entry.
 * @param[in] pHead Head array.
 * @param[in,out] pWindow Window array.
 * @return Entries listed.
 */
static size_t arrange(DefenderMetricsSink_t *pSink, size_t size, const void *pHead, void *pWindow)
{
    size_t listed = 0U;
    uint64_t n = pSink->seen;
    uint64_t start = 0U;

    if (n > pSink->capacity)
    {
        start = ((pSink->windowStart == 0U) ? 0U : pSink->windowStart);
        if ((start >= n) || (pSink->windowCount == 0U))
        {
            start = 0U;
        }
    }

    if (start == 0U)
    {
        /* The head holds entries 0..min(n, C)-1. */
        listed = pSink->headCount;
        (void) memmove(pWindow, pHead, listed * size);
    }
    else
    {
        /* Window entries start..n-1 (at most C), then wrap to the head. */
        size_t wrap = pSink->capacity - pSink->windowCount;
        if (wrap > pSink->headCount)
        {
            wrap = pSink->headCount;
        }
        (void) memcpy((uint8_t *) pWindow + (pSink->windowCount * size), pHead, wrap * size);
        listed = pSink->windowCount + wrap;
    }

    return listed;
}

size_t Defender_SinkFinish(DefenderMetricsSink_t *pSink)
{
    size_t listed = 0U;

    if (pSink != NULL)
    {
        if (pSink->group == DEFENDER_METRIC_TCP_CONNECTIONS)
        {
            listed = arrange(pSink, sizeof(DefenderConnection_t), pSink->pConnectionHead,
                             pSink->pConnectionWindow);
        }
        else if (pSink->group == DEFENDER_METRIC_NETWORK_STATS)
        {
            listed = pSink->interfaceCount;
        }
        else if (pSink->pPortHead != NULL)
        {
            listed = arrange(pSink, sizeof(DefenderListeningPort_t), pSink->pPortHead,
                             pSink->pPortWindow);
        }
        else
        {
            /* Not initialised for a list: nothing listed. */
        }
    }

    return listed;
}
