/**
 * @file metrics_linux_sink_fallback.c
 * @brief Stand-in for the core's sink (source/defender_sink.c) while that file does
 * not implement it yet. Built only when test/cmake/metrics_linux.cmake finds the sink
 * functions missing there; the symbols are weak so that the real ones win whenever both
 * are linked. Behaviour: no rotation, the first `capacity` entries are listed.
 */
#include <string.h>

#include "defender_core.h"

/** @brief See defender_core.h. */
__attribute__((weak)) void Defender_SinkInit(DefenderMetricsSink_t *pSink,
                                             DefenderMetricGroup_t group, void *pHead,
                                             void *pWindow, size_t capacity, uint64_t rotation,
                                             uint64_t expectedTotal)
{
    (void) rotation;
    (void) expectedTotal;
    memset(pSink, 0, sizeof(*pSink));
    pSink->group = group;
    pSink->capacity = capacity;
    if (group == DEFENDER_METRIC_TCP_CONNECTIONS)
    {
        pSink->pConnectionHead = pHead;
        pSink->pConnectionWindow = pWindow;
    }
    else if (group == DEFENDER_METRIC_NETWORK_STATS)
    {
        pSink->pInterfaces = pHead;
        pSink->interfaceCapacity = capacity;
    }
    else
    {
        pSink->pPortHead = pHead;
        pSink->pPortWindow = pWindow;
    }
}

/** @brief See defender_core.h. */
__attribute__((weak)) size_t Defender_SinkFinish(DefenderMetricsSink_t *pSink)
{
    if (pSink->pConnectionHead != NULL)
    {
        memcpy(pSink->pConnectionWindow, pSink->pConnectionHead,
               pSink->headCount * sizeof(DefenderConnection_t));
    }
    else if (pSink->pPortHead != NULL)
    {
        memcpy(pSink->pPortWindow, pSink->pPortHead,
               pSink->headCount * sizeof(DefenderListeningPort_t));
    }
    pSink->windowCount = pSink->headCount;
    return pSink->headCount;
}

/** @brief See defender_metrics_source.h. */
__attribute__((weak)) void Defender_SinkAddConnection(DefenderMetricsSink_t *pSink,
                                                      const DefenderConnection_t *pConnection)
{
    if (pSink->headCount < pSink->capacity)
    {
        pSink->pConnectionHead[pSink->headCount++] = *pConnection;
    }
    pSink->seen++;
}

/** @brief See defender_metrics_source.h. */
__attribute__((weak)) void Defender_SinkAddListeningPort(DefenderMetricsSink_t *pSink,
                                                         const DefenderListeningPort_t *pPort)
{
    if (pSink->headCount < pSink->capacity)
    {
        pSink->pPortHead[pSink->headCount++] = *pPort;
    }
    pSink->seen++;
}

/** @brief See defender_metrics_source.h. */
__attribute__((weak)) void Defender_SinkAddInterface(DefenderMetricsSink_t *pSink,
                                                     const DefenderInterfaceCounters_t *pCounters)
{
    if (pSink->interfaceCount < pSink->interfaceCapacity)
    {
        pSink->pInterfaces[pSink->interfaceCount++] = *pCounters;
    }
    else
    {
        pSink->interfacesDropped++;
    }
    pSink->seen++;
}
