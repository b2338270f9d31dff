/**
 * @file fake_source.c
 * @brief Fake metrics source streaming test tables into the real sink.
 */
#include <string.h>

#include "fake_source.h"

/** @brief Copies an interface name, truncating to the field. */
static void copyName(char *pDest, const char *pName)
{
    size_t length = (pName != NULL) ? strlen(pName) : 0U;

    if (length >= DEFENDER_INTERFACE_NAME_SIZE)
    {
        length = DEFENDER_INTERFACE_NAME_SIZE - 1U;
    }
    (void) memset(pDest, 0, DEFENDER_INTERFACE_NAME_SIZE);
    if (length > 0U)
    {
        (void) memcpy(pDest, pName, length);
    }
}

size_t FakeSource_GroupIndex(DefenderMetricGroup_t group)
{
    size_t index = 4U;

    if (group == DEFENDER_METRIC_TCP_CONNECTIONS)
    {
        index = 0U;
    }
    else if (group == DEFENDER_METRIC_LISTENING_TCP_PORTS)
    {
        index = 1U;
    }
    else if (group == DEFENDER_METRIC_LISTENING_UDP_PORTS)
    {
        index = 2U;
    }
    else if (group == DEFENDER_METRIC_NETWORK_STATS)
    {
        index = 3U;
    }
    return index;
}

/** @brief pfCollect of the fake. */
static DefenderSourceStatus_t fakeCollect(void *pContext, DefenderMetricGroup_t group,
                                          DefenderMetricsSink_t *pSink)
{
    FakeSource_t *pSource = (FakeSource_t *) pContext;
    size_t index = FakeSource_GroupIndex(group);
    DefenderSourceStatus_t result = DEFENDER_SOURCE_UNSUPPORTED;
    size_t i;

    if (index >= 4U)
    {
        pSource->badGroupCalls++;
    }
    else
    {
        pSource->collectCalls[index]++;
        result = pSource->result[index];
    }

    if (result == DEFENDER_SOURCE_OK)
    {
        switch (index)
        {
            case 0U:
                for (i = 0U; i < pSource->connectionCount; i++)
                {
                    Defender_SinkAddConnection(pSink, &pSource->connections[i]);
                }
                break;
            case 1U:
                for (i = 0U; i < pSource->tcpPortCount; i++)
                {
                    Defender_SinkAddListeningPort(pSink, &pSource->tcpPorts[i]);
                }
                break;
            case 2U:
                for (i = 0U; i < pSource->udpPortCount; i++)
                {
                    Defender_SinkAddListeningPort(pSink, &pSource->udpPorts[i]);
                }
                break;
            default:
                for (i = 0U; i < pSource->interfaceCount; i++)
                {
                    Defender_SinkAddInterface(pSink, &pSource->interfaces[i]);
                }
                break;
        }
    }
    return result;
}

void FakeSource_Init(FakeSource_t *pSource)
{
    (void) memset(pSource, 0, sizeof(*pSource));
}

DefenderMetricsSource_t FakeSource_Interface(FakeSource_t *pSource)
{
    DefenderMetricsSource_t source;

    source.pContext = pSource;
    source.pfCollect = fakeCollect;
    return source;
}

DefenderConnection_t *FakeSource_AddConnectionV4(FakeSource_t *pSource, uint8_t a, uint8_t b,
                                                 uint8_t c, uint8_t d, uint16_t remotePort,
                                                 uint16_t localPort, const char *pInterface)
{
    DefenderConnection_t *pEntry = NULL;

    if (pSource->connectionCount < FAKE_SOURCE_MAX_ENTRIES)
    {
        pEntry = &pSource->connections[pSource->connectionCount];
        (void) memset(pEntry, 0, sizeof(*pEntry));
        pEntry->remoteAddress.family = 4U;
        pEntry->remoteAddress.bytes[0] = a;
        pEntry->remoteAddress.bytes[1] = b;
        pEntry->remoteAddress.bytes[2] = c;
        pEntry->remoteAddress.bytes[3] = d;
        pEntry->remotePort = remotePort;
        pEntry->localPort = localPort;
        copyName(pEntry->localInterface, pInterface);
        pSource->connectionCount++;
    }
    return pEntry;
}

/** @brief Appends a port to a table. */
static void addPort(DefenderListeningPort_t *pTable, size_t *pCount, uint16_t port,
                    const char *pInterface)
{
    if (*pCount < FAKE_SOURCE_MAX_ENTRIES)
    {
        pTable[*pCount].port = port;
        copyName(pTable[*pCount].interfaceName, pInterface);
        (*pCount)++;
    }
}

void FakeSource_AddTcpPort(FakeSource_t *pSource, uint16_t port, const char *pInterface)
{
    addPort(pSource->tcpPorts, &pSource->tcpPortCount, port, pInterface);
}

void FakeSource_AddUdpPort(FakeSource_t *pSource, uint16_t port, const char *pInterface)
{
    addPort(pSource->udpPorts, &pSource->udpPortCount, port, pInterface);
}

void FakeSource_SetInterface(FakeSource_t *pSource, const char *pName, uint64_t bytesIn,
                             uint64_t bytesOut, uint64_t packetsIn, uint64_t packetsOut,
                             bool isLoopback, uint8_t counterBits)
{
    DefenderInterfaceCounters_t *pEntry = NULL;
    size_t i;

    for (i = 0U; (i < pSource->interfaceCount) && (pEntry == NULL); i++)
    {
        if (strncmp(pSource->interfaces[i].name, pName, DEFENDER_INTERFACE_NAME_SIZE) == 0)
        {
            pEntry = &pSource->interfaces[i];
        }
    }
    if ((pEntry == NULL) && (pSource->interfaceCount < FAKE_SOURCE_MAX_INTERFACES))
    {
        pEntry = &pSource->interfaces[pSource->interfaceCount];
        pSource->interfaceCount++;
        (void) memset(pEntry, 0, sizeof(*pEntry));
        copyName(pEntry->name, pName);
    }
    if (pEntry != NULL)
    {
        pEntry->bytesIn = bytesIn;
        pEntry->bytesOut = bytesOut;
        pEntry->packetsIn = packetsIn;
        pEntry->packetsOut = packetsOut;
        pEntry->isLoopback = isLoopback;
        pEntry->counterBits = counterBits;
    }
}

void FakeSource_RemoveInterface(FakeSource_t *pSource, const char *pName)
{
    size_t i;

    for (i = 0U; i < pSource->interfaceCount; i++)
    {
        if (strncmp(pSource->interfaces[i].name, pName, DEFENDER_INTERFACE_NAME_SIZE) == 0)
        {
            (void) memmove(&pSource->interfaces[i], &pSource->interfaces[i + 1U],
                           (pSource->interfaceCount - i - 1U) * sizeof(pSource->interfaces[0]));
            pSource->interfaceCount--;
            break;
        }
    }
}
