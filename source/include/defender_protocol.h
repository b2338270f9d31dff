/**
 * @file defender_protocol.h
 * @brief Topics, thing names and service responses of the Device Defender protocol.
 *
 * Stateless and reentrant; no heap. See the protocol spec sections 1, 5 and 6.
 */
#ifndef DEFENDER_PROTOCOL_H
#define DEFENDER_PROTOCOL_H

#include "defender_types.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Kinds of Device Defender topic. */
typedef enum
{
    DEFENDER_TOPIC_REPORT = 0, /**< `$aws/things/{thing}/defender/metrics/{format}` */
    DEFENDER_TOPIC_ACCEPTED,   /**< `.../{format}/accepted` */
    DEFENDER_TOPIC_REJECTED    /**< `.../{format}/rejected` */
} DefenderTopicKind_t;

/** @brief Longest topic with a 128-byte thing name, without terminator (171). */
#define DEFENDER_MAX_TOPIC_LENGTH (12U + 128U + 18U + 4U + 9U)

/** @brief Buffer size that holds any topic with its terminator. */
#define DEFENDER_TOPIC_BUFFER_SIZE (DEFENDER_MAX_TOPIC_LENGTH + 1U)

/**
 * @brief Checks a thing name (PD-2): 1..128 bytes of UTF-8 without `/`, `+`, `#`,
 * U+0000..U+001F or U+007F.
 * @param[in] pName Name (need not be terminated).
 * @param[in] length Its length in bytes.
 * @return true when valid.
 */
bool Defender_ThingNameValid(const char *pName, size_t length);

/**
 * @brief Builds a topic.
 * @param[out] pBuffer Output, NUL-terminated on success.
 * @param[in] bufferSize Size of pBuffer.
 * @param[in] pThingName Thing name (validated with Defender_ThingNameValid).
 * @param[in] thingNameLength Its length.
 * @param[in] format Report format.
 * @param[in] kind Report, accepted or rejected.
 * @param[out] pLength Optional: length written without terminator.
 * @return DEFENDER_SUCCESS, DEFENDER_BAD_PARAMETER, DEFENDER_BUFFER_TOO_SMALL.
 */
DefenderStatus_t Defender_GetTopic(char *pBuffer, size_t bufferSize, const char *pThingName,
                                   size_t thingNameLength, DefenderFormat_t format,
                                   DefenderTopicKind_t kind, size_t *pLength);

/** @brief Outcome carried by a response. */
typedef enum
{
    DEFENDER_RESPONSE_ACCEPTED = 0,
    DEFENDER_RESPONSE_REJECTED
} DefenderResponseStatus_t;

/** @brief A decoded service response (protocol spec section 5). */
typedef struct DefenderResponse
{
    DefenderResponseStatus_t status; /**< From the `status` field. */
    bool hasReportId;                /**< `reportId` present. */
    bool hasTimestamp;               /**< `timestamp` present. */
    bool hasThingName;               /**< `thingName` present. */
    bool thingNameTruncated;         /**< The name was longer than the buffer. */
    uint64_t reportId;               /**< The echoed report id. */
    uint64_t timestamp;              /**< Service time, ms. */
    char thingName[DEFENDER_CONFIG_MAX_THING_NAME_LENGTH + 1U];       /**< Unescaped, terminated. */
    char errorCode[DEFENDER_CONFIG_MAX_ERROR_CODE_LENGTH + 1U];       /**< `ErrorCode`, or "". */
    char errorMessage[DEFENDER_CONFIG_MAX_ERROR_MESSAGE_LENGTH + 1U]; /**< Truncated to fit. */
} DefenderResponse_t;

/**
 * @brief Decodes a response payload (JSON or CBOR, chosen by the topic's format).
 *
 * Valid: one map holding `status` "ACCEPTED" or "REJECTED"; optional `thingName`
 * (string), `reportId` (integer 1..2^63-1), `timestamp` (integer 0..2^64-1),
 * `statusDetails` (map with optional string `ErrorCode`, `ErrorMessage`; other
 * members ignored). Integers are JSON digits without sign, fraction or exponent, or
 * CBOR major type 0 with any argument length. Unknown fields of any type are
 * skipped (and checked). Strings are unescaped (`\uXXXX` and surrogate pairs to
 * UTF-8) and truncated on a character boundary to the buffers, always terminated.
 * Malformed: duplicate known fields, wrong types, a known string holding U+0000,
 * trailing bytes, nesting deeper than 16 (the top-level map is level 1), invalid
 * UTF-8 or lone surrogates, JSON control characters in strings, CBOR tags other
 * than one 55799 around the top-level map, CBOR unassigned simple values, byte
 * strings where text is expected. JSON may be followed by whitespace and one NUL.
 * The topic, not this function, decides accepted/rejected (spec 10.4): the caller
 * compares `status` with it.
 *
 * @param[in] format Payload format.
 * @param[in] pPayload Payload bytes.
 * @param[in] payloadLength Their number.
 * @param[out] pResponse Decoded response (valid only on DEFENDER_SUCCESS).
 * @return DEFENDER_SUCCESS, DEFENDER_MALFORMED, DEFENDER_BAD_PARAMETER.
 */
DefenderStatus_t Defender_ParseResponse(DefenderFormat_t format, const uint8_t *pPayload,
                                        size_t payloadLength, DefenderResponse_t *pResponse);

/** @brief The ErrorCode of a throttled report. */
#define DEFENDER_ERROR_CODE_THROTTLED "Throttled"

#ifdef __cplusplus
}
#endif

#endif /* DEFENDER_PROTOCOL_H */
