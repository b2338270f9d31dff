/**
 * @file defender_types.h
 * @brief Types shared by the Device Defender agent core, its encoders and its ports.
 *
 * Plain data only: no function here does I/O.
 */
#ifndef DEFENDER_TYPES_H
#define DEFENDER_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "defender_config_defaults.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Status of the last report (the seed API's values and meanings). */
typedef enum
{
    /** Last report was successfully sent and acknowledged. */
    eDefenderRepSuccess = 0,
    /** The agent has been started, but no report has been sent. */
    eDefenderRepInit,
    /** The last report was rejected. */
    eDefenderRepRejected,
    /** The last report was not acknowledged (yet, or the timeout expired). */
    eDefenderRepNoAck,
    /** The last report was not sent, likely due to a connectivity issue. */
    eDefenderRepNotSent
} DefenderReportStatus_t;

/** @brief Result of the context-based core functions. */
typedef enum
{
    DEFENDER_SUCCESS = 0,      /**< Done. */
    DEFENDER_BAD_PARAMETER,    /**< NULL pointer, out-of-range value or invalid text. */
    DEFENDER_BUFFER_TOO_SMALL, /**< The output does not fit the caller's buffer. */
    DEFENDER_TOO_MANY,         /**< A fixed-size table is full. */
    DEFENDER_PERIOD_TOO_SHORT, /**< Report period under the configured minimum. */
    DEFENDER_ALREADY_STARTED,  /**< Not allowed while the agent runs. */
    DEFENDER_NOT_STARTED,      /**< Not allowed while the agent is stopped. */
    DEFENDER_MALFORMED,        /**< Input (a response) is not valid. */
    DEFENDER_NOT_FOUND,        /**< No such item (a topic that is not ours, a missing key). */
    DEFENDER_DUPLICATE,        /**< The item exists already. */
    DEFENDER_ERROR             /**< A port or interface failed. */
} DefenderStatus_t;

/** @brief Report encoding. */
typedef enum
{
    DEFENDER_FORMAT_JSON = 0,
    DEFENDER_FORMAT_CBOR
} DefenderFormat_t;

/** @brief Key spelling (protocol spec section 2.1). Never mixed in one report. */
typedef enum
{
    DEFENDER_KEYS_LONG = 0,
    DEFENDER_KEYS_SHORT
} DefenderKeyStyle_t;

/** @brief Standard metric groups, combined as a bit mask. */
#define DEFENDER_METRIC_TCP_CONNECTIONS     (1U << 0) /**< Established TCP connections. */
#define DEFENDER_METRIC_LISTENING_TCP_PORTS (1U << 1) /**< Listening TCP ports. */
#define DEFENDER_METRIC_LISTENING_UDP_PORTS (1U << 2) /**< Listening (bound) UDP ports. */
#define DEFENDER_METRIC_NETWORK_STATS       (1U << 3) /**< Bytes/packets in/out deltas. */
#define DEFENDER_METRIC_ALL                 (0x0FU)   /**< Every standard group. */

/** @brief One metric group (a single bit of the mask above). */
typedef uint32_t DefenderMetricGroup_t;

/** @brief An IPv4 or IPv6 address in network byte order. */
typedef struct DefenderIpAddress
{
    uint8_t family;    /**< 4 or 6. */
    uint8_t bytes[16]; /**< IPv4 uses bytes[0..3]. */
} DefenderIpAddress_t;

/** @brief Buffer size of an interface name (with terminator). */
#define DEFENDER_INTERFACE_NAME_SIZE (DEFENDER_CONFIG_MAX_INTERFACE_NAME_LENGTH + 1U)

/** @brief One established TCP connection. */
typedef struct DefenderConnection
{
    DefenderIpAddress_t remoteAddress; /**< Peer address. IPv4-mapped IPv6 is written as IPv4. */
    uint16_t remotePort;               /**< Peer port, 0..65535. */
    uint16_t localPort;                /**< Local port, 0..65535. */
    char localInterface[DEFENDER_INTERFACE_NAME_SIZE]; /**< Empty: omitted from the report. */
} DefenderConnection_t;

/** @brief One listening port (TCP listener, or bound UDP socket). */
typedef struct DefenderListeningPort
{
    uint16_t port;                                    /**< 1..65535. */
    char interfaceName[DEFENDER_INTERFACE_NAME_SIZE]; /**< Empty for a wildcard bind. */
} DefenderListeningPort_t;

/** @brief Cumulative traffic counters of one network interface. */
typedef struct DefenderInterfaceCounters
{
    char name[DEFENDER_INTERFACE_NAME_SIZE]; /**< Interface name (identifies it across reports).
                                              */
    uint64_t bytesIn;                        /**< Received bytes. */
    uint64_t bytesOut;                       /**< Sent bytes. */
    uint64_t packetsIn;                      /**< Received packets. */
    uint64_t packetsOut;                     /**< Sent packets. */
    bool isLoopback;                         /**< Excluded from the sums unless configured. */
    uint8_t counterBits;                     /**< 64, or 32 for counters that wrap at 2^32. */
} DefenderInterfaceCounters_t;

/** @brief Network statistics deltas of one report (protocol spec 10.6). */
typedef struct DefenderNetworkStats
{
    uint64_t bytesIn;
    uint64_t bytesOut;
    uint64_t packetsIn;
    uint64_t packetsOut;
} DefenderNetworkStats_t;

/** @brief Custom metric types (AWS `metricType`). */
typedef enum
{
    DEFENDER_CUSTOM_NUMBER = 0,  /**< `number`: one number. */
    DEFENDER_CUSTOM_NUMBER_LIST, /**< `number-list`: array of numbers. */
    DEFENDER_CUSTOM_STRING_LIST, /**< `string-list`: array of strings. */
    DEFENDER_CUSTOM_IP_LIST      /**< `ip-address-list`: array of IP address texts. */
} DefenderCustomMetricType_t;

/**
 * @brief The value of a custom metric, filled in by the metric's read callback.
 *
 * The arrays belong to the callback's owner and must stay valid until the report
 * has been encoded (the end of the Defender_Process() call that read them).
 */
typedef struct DefenderCustomValue
{
    double number;                /**< DEFENDER_CUSTOM_NUMBER. */
    const double *pNumbers;       /**< DEFENDER_CUSTOM_NUMBER_LIST: `count` numbers. */
    const char *const *ppStrings; /**< STRING_LIST / IP_LIST: `count` NUL-terminated texts. */
    size_t count;                 /**< Entries in the list. 0 is a valid, empty list. */
} DefenderCustomValue_t;

/**
 * @brief Reads a custom metric's current value.
 * @param[in] pUserContext The context given at registration.
 * @param[out] pValue Where to put the value (zeroed before the call).
 * @return true when a value was written; false to leave the metric out of this report.
 */
typedef bool (*DefenderCustomMetricRead_t)(void *pUserContext, DefenderCustomValue_t *pValue);

/** @brief A registered custom metric. */
typedef struct DefenderCustomMetric
{
    const char *pName;                 /**< 1..128 of [a-zA-Z0-9:_-], not starting with `aws:`. */
    DefenderCustomMetricType_t type;   /**< Value type. */
    DefenderCustomMetricRead_t pfRead; /**< Value callback. */
    void *pUserContext;                /**< Passed to pfRead. */
} DefenderCustomMetric_t;

#ifdef __cplusplus
}
#endif

#endif /* DEFENDER_TYPES_H */
