/**
 * @file defender_report.h
 * @brief Metrics report encoder: JSON and CBOR, long and short keys, no heap.
 *
 * Encodes one report exactly as the protocol spec prescribes (sections 2, 3, 4 and
 * 10.8: key table, emission order, compact JSON, definite-length shortest-form CBOR)
 * into the caller's buffer. Stateless and reentrant.
 */
#ifndef DEFENDER_REPORT_H
#define DEFENDER_REPORT_H

#include "defender_types.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Longest report payload in bytes (PD-10: IoT Core refuses larger publishes). */
#define DEFENDER_MAX_PAYLOAD_SIZE 131072U

/** @brief A list of entries to report, with the true number of items it samples. */
typedef struct DefenderConnectionList
{
    const DefenderConnection_t *pEntries; /**< Entries to list (may be NULL when count is 0). */
    size_t count;                         /**< Entries in pEntries. */
    uint64_t total;                       /**< True number of connections (>= count). */
} DefenderConnectionList_t;

/** @brief Listening ports to report, with their true total. */
typedef struct DefenderPortList
{
    const DefenderListeningPort_t *pEntries; /**< Entries to list (may be NULL when count is 0). */
    size_t count;                            /**< Entries in pEntries. */
    uint64_t total;                          /**< True number of listeners (>= count). */
} DefenderPortList_t;

/** @brief A custom metric with its value, ready to encode. */
typedef struct DefenderCustomMetricValue
{
    const char *pName;               /**< Metric name (already validated). */
    DefenderCustomMetricType_t type; /**< Type, selects the value key. */
    DefenderCustomValue_t value;     /**< Value (already validated). */
} DefenderCustomMetricValue_t;

/** @brief Everything one report holds. Groups whose bit is not set are left out. */
typedef struct DefenderReportContent
{
    uint64_t reportId;                          /**< 1..2^63-1. */
    uint32_t groups;                            /**< DEFENDER_METRIC_* bits present in `metrics`. */
    DefenderConnectionList_t connections;       /**< DEFENDER_METRIC_TCP_CONNECTIONS. */
    DefenderPortList_t tcpPorts;                /**< DEFENDER_METRIC_LISTENING_TCP_PORTS. */
    DefenderPortList_t udpPorts;                /**< DEFENDER_METRIC_LISTENING_UDP_PORTS. */
    DefenderNetworkStats_t networkStats;        /**< DEFENDER_METRIC_NETWORK_STATS. */
    const DefenderCustomMetricValue_t *pCustom; /**< Custom metrics, in registration order. */
    size_t customCount;                         /**< Entries in pCustom. */
    bool emitEmptyMetrics;                      /**< Emit `metrics: {}` even when no group is set
                                                     and custom metrics exist (10.8). */
} DefenderReportContent_t;

/**
 * @brief Encodes a report.
 *
 * When the full report does not fit, list entries are dropped (the `total`s stay
 * true) until it fits: the longest listed list loses entries first. Only when even
 * the report with no list entries does not fit is DEFENDER_BUFFER_TOO_SMALL
 * returned. Nothing is ever written past `bufferSize`, and a report is never longer
 * than DEFENDER_MAX_PAYLOAD_SIZE (PD-10), however large the buffer.
 *
 * @param[in] pContent What to encode. Not modified.
 * @param[in] format DEFENDER_FORMAT_JSON or DEFENDER_FORMAT_CBOR.
 * @param[in] keys DEFENDER_KEYS_LONG or DEFENDER_KEYS_SHORT.
 * @param[out] pBuffer Output buffer.
 * @param[in] bufferSize Size of pBuffer.
 * @param[out] pLength Bytes written (no terminator is added).
 * @param[out] pListed Optional (may be NULL): entries actually listed, in the order
 *             connections, TCP ports, UDP ports.
 * @return DEFENDER_SUCCESS; DEFENDER_BAD_PARAMETER for NULL pointers, an invalid
 *         format/key style, report id 0 or above 2^63-1, count > total, or a
 *         non-finite custom number; DEFENDER_BUFFER_TOO_SMALL as above.
 */
DefenderStatus_t Defender_EncodeReport(const DefenderReportContent_t *pContent,
                                       DefenderFormat_t format, DefenderKeyStyle_t keys,
                                       uint8_t *pBuffer, size_t bufferSize, size_t *pLength,
                                       size_t pListed[3]);

/**
 * @brief Writes an address as the protocol's `remote_addr` text: `a.b.c.d:port` or
 * `[v6]:port` with the IPv6 part in RFC 5952 form; IPv4-mapped IPv6 as IPv4 (PD-5).
 *
 * @param[in] pAddress The address.
 * @param[in] port The port.
 * @param[out] pBuffer Output; NUL-terminated on success.
 * @param[in] bufferSize Size of pBuffer (54 is always enough).
 * @return Length written without the terminator, or 0 if it does not fit or the
 *         address family is invalid.
 */
size_t Defender_FormatRemoteAddress(const DefenderIpAddress_t *pAddress, uint16_t port,
                                    char *pBuffer, size_t bufferSize);

/**
 * @brief Writes an IP address without port (RFC 5952 for IPv6, dotted quad for IPv4).
 * @return Length without terminator, or 0 if it does not fit / invalid family.
 */
size_t Defender_FormatIpAddress(const DefenderIpAddress_t *pAddress, char *pBuffer,
                                size_t bufferSize);

/**
 * @brief Parses IPv4 (dotted quad, no leading zeros) or IPv6 text (no brackets,
 * port, zone or prefix), as inet_pton would.
 * @return true when valid.
 */
bool Defender_ParseIpAddress(const char *pText, size_t length, DefenderIpAddress_t *pAddress);

/**
 * @brief Checks a custom metric name: 1..128 of [a-zA-Z0-9:_-], not starting `aws:`.
 */
bool Defender_CustomMetricNameValid(const char *pName, size_t length);

/**
 * @brief Checks a custom metric value: finite numbers; strings matching
 * `^[A-Za-z0-9:_./-]+$`; IP texts accepted by Defender_ParseIpAddress (PD-12).
 */
bool Defender_CustomMetricValueValid(DefenderCustomMetricType_t type,
                                     const DefenderCustomValue_t *pValue);

#ifdef __cplusplus
}
#endif

#endif /* DEFENDER_REPORT_H */
