/**
 * @file defender_topic.c
 * @brief Device Defender topics and thing names (protocol spec 1.1, 1.2; PD-1, PD-2).
 */
#include <string.h>

#include "defender_protocol.h"
#include "private/defender_response_private.h"

/** @brief `$aws/things/`. */
#define TOPIC_PREFIX "$aws/things/"
/** @brief Its length. */
#define TOPIC_PREFIX_LENGTH 12U
/** @brief `/defender/metrics/`. */
#define TOPIC_MIDDLE "/defender/metrics/"
/** @brief Its length. */
#define TOPIC_MIDDLE_LENGTH 18U
/** @brief Length of `json` and `cbor`. */
#define TOPIC_FORMAT_LENGTH 4U
/** @brief Length of `/accepted` and `/rejected`. */
#define TOPIC_SUFFIX_LENGTH 9U

/** @brief Format segments indexed by DefenderFormat_t. */
static const char formatNames[2][TOPIC_FORMAT_LENGTH + 1U] = {"json", "cbor"};

/** @brief Suffixes indexed by DefenderTopicKind_t. */
static const char suffixNames[3][TOPIC_SUFFIX_LENGTH + 1U] = {"", "/accepted", "/rejected"};

size_t Defender_Utf8SequenceLength(const uint8_t *pBytes, size_t available)
{
    uint8_t lead = pBytes[0];
    size_t length = 0U;
    size_t i;
    uint32_t codePoint;

    if (lead < 0x80U)
    {
        length = 1U;
    }
    else if ((lead >= 0xC2U) && (lead < 0xF5U))
    {
        length = (lead < 0xE0U) ? 2U : ((lead < 0xF0U) ? 3U : 4U);
    }
    else
    {
        /* Continuation byte, overlong 2-byte lead, or beyond U+10FFFF. */
    }

    if (length > available)
    {
        length = 0U;
    }

    codePoint = (uint32_t) lead & (0x7FU >> length);

    for (i = 1U; i < length; i++)
    {
        if ((pBytes[i] & 0xC0U) != 0x80U)
        {
            length = 0U;
        }
        codePoint = (codePoint << 6) | (pBytes[i] & 0x3FUL);
    }

    /* Overlong 3- and 4-byte forms (below 2^11 and 2^16: 1 << (5 * length - 4)), surrogates
     * (3 bytes) and code points past U+10FFFF (4 bytes). */
    if ((length > 2U) && ((codePoint < (1UL << ((5U * length) - 4U))) ||
                          ((codePoint & 0xFFFFF800U) == 0xD800U) || (codePoint > 0x10FFFFU)))
    {
        length = 0U;
    }

    return length;
}

bool Defender_ThingNameValid(const char *pName, size_t length)
{
    const uint8_t *pBytes = (const uint8_t *) pName;
    size_t position = 0U;
    size_t step = 1U;

    if ((pName == NULL) || (length == 0U) || (length > DEFENDER_CONFIG_MAX_THING_NAME_LENGTH))
    {
        position = length + 1U;
    }

    while ((position < length) && (step != 0U))
    {
        uint8_t c = pBytes[position];

        step = Defender_Utf8SequenceLength(&pBytes[position], length - position);

        if ((c < 0x20U) || (c == 0x7FU) || (c == (uint8_t) '/') || (c == (uint8_t) '+') ||
            (c == (uint8_t) '#'))
        {
            step = 0U;
        }
        position += step;
    }

    return position == length;
}

DefenderStatus_t Defender_GetTopic(char *pBuffer, size_t bufferSize, const char *pThingName,
                                   size_t thingNameLength, DefenderFormat_t format,
                                   DefenderTopicKind_t kind, size_t *pLength)
{
    DefenderStatus_t status = DEFENDER_BAD_PARAMETER;
    size_t suffixLength = (kind == DEFENDER_TOPIC_REPORT) ? 0U : TOPIC_SUFFIX_LENGTH;
    size_t length = TOPIC_PREFIX_LENGTH + thingNameLength + TOPIC_MIDDLE_LENGTH +
                    TOPIC_FORMAT_LENGTH + suffixLength;
    char *pOut = pBuffer;

    if ((pBuffer == NULL) || ((unsigned) format > (unsigned) DEFENDER_FORMAT_CBOR) ||
        ((unsigned) kind > (unsigned) DEFENDER_TOPIC_REJECTED) ||
        !Defender_ThingNameValid(pThingName, thingNameLength))
    {
        /* status stays DEFENDER_BAD_PARAMETER. */
    }
    else if (bufferSize <= length)
    {
        status = DEFENDER_BUFFER_TOO_SMALL;
    }
    else
    {
        (void) memcpy(pOut, TOPIC_PREFIX, TOPIC_PREFIX_LENGTH);
        pOut = &pOut[TOPIC_PREFIX_LENGTH];
        (void) memcpy(pOut, pThingName, thingNameLength);
        pOut = &pOut[thingNameLength];
        (void) memcpy(pOut, TOPIC_MIDDLE, TOPIC_MIDDLE_LENGTH);
        pOut = &pOut[TOPIC_MIDDLE_LENGTH];
        (void) memcpy(pOut, formatNames[format], TOPIC_FORMAT_LENGTH);
        pOut = &pOut[TOPIC_FORMAT_LENGTH];
        (void) memcpy(pOut, suffixNames[kind], suffixLength + 1U);

        if (pLength != NULL)
        {
            *pLength = length;
        }
        status = DEFENDER_SUCCESS;
    }

    return status;
}
