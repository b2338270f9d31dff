/**
 * @file fake_source.h
 * @brief A fake metrics source (defender_metrics_source.h) serving tables the test fills.
 *
 * Each collection streams the table of the requested group into the sink, in table
 * order, through the real Defender_Sink* functions, and returns the group's scripted
 * result (DEFENDER_SOURCE_OK by default; on _ERROR or _UNSUPPORTED nothing is
 * streamed). Tables are larger than any configuration's caps so tests can exceed them.
 */
#ifndef FAKE_SOURCE_H
#define FAKE_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "defender_metrics_source.h"

/** @brief Entries per list table. */
#define FAKE_SOURCE_MAX_ENTRIES 256U

/** @brief Interfaces in the table. */
#define FAKE_SOURCE_MAX_INTERFACES 128U

/** @brief The fake source. Index groups with FakeSource_GroupIndex(). */
typedef struct FakeSource
{
    DefenderConnection_t connections[FAKE_SOURCE_MAX_ENTRIES];
    size_t connectionCount;
    DefenderListeningPort_t tcpPorts[FAKE_SOURCE_MAX_ENTRIES];
    size_t tcpPortCount;
    DefenderListeningPort_t udpPorts[FAKE_SOURCE_MAX_ENTRIES];
    size_t udpPortCount;
    DefenderInterfaceCounters_t interfaces[FAKE_SOURCE_MAX_INTERFACES];
    size_t interfaceCount;
    DefenderSourceStatus_t result[4]; /**< Per group: connections, tcp, udp, stats. */
    uint32_t collectCalls[4];         /**< Per group. */
    uint32_t badGroupCalls;           /**< Calls with a group that is not one known bit. */
} FakeSource_t;

/** @brief Empties every table; every result OK. */
void FakeSource_Init(FakeSource_t *pSource);

/** @brief Builds the source interface over the fake. */
DefenderMetricsSource_t FakeSource_Interface(FakeSource_t *pSource);

/** @brief Index 0..3 of a group bit (connections, tcp, udp, stats), or 4 if unknown. */
size_t FakeSource_GroupIndex(DefenderMetricGroup_t group);

/**
 * @brief Appends an established connection to an IPv4 peer a.b.c.d:remotePort.
 * @return The entry (for further edits).
 */
DefenderConnection_t *FakeSource_AddConnectionV4(FakeSource_t *pSource, uint8_t a, uint8_t b,
                                                 uint8_t c, uint8_t d, uint16_t remotePort,
                                                 uint16_t localPort, const char *pInterface);

/** @brief Appends a listening TCP port ("" interface: wildcard). */
void FakeSource_AddTcpPort(FakeSource_t *pSource, uint16_t port, const char *pInterface);

/** @brief Appends a bound UDP port ("" interface: wildcard). */
void FakeSource_AddUdpPort(FakeSource_t *pSource, uint16_t port, const char *pInterface);

/**
 * @brief Sets the cumulative counters of an interface, adding it when new.
 * @param[in] isLoopback Loopback flag.
 * @param[in] counterBits 64 or 32.
 */
void FakeSource_SetInterface(FakeSource_t *pSource, const char *pName, uint64_t bytesIn,
                             uint64_t bytesOut, uint64_t packetsIn, uint64_t packetsOut,
                             bool isLoopback, uint8_t counterBits);

/** @brief Removes an interface (it "vanished"). */
void FakeSource_RemoveInterface(FakeSource_t *pSource, const char *pName);

#endif /* FAKE_SOURCE_H */
