/**
 * @file fuzz_topic.c
 * @brief libFuzzer target for Defender_ThingNameValid, Defender_GetTopic and
 * Defender_MatchTopic.
 *
 * Input: the first byte picks the format (bit 0) and kind (bits 1-2); the rest is used
 * both as a topic to match and as a thing name to build topics from. Checks that
 * building and matching are inverse to each other.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "defender_protocol.h"

int LLVMFuzzerTestOneInput(const uint8_t *pData, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *pData, size_t size)
{
    char topic[DEFENDER_TOPIC_BUFFER_SIZE];
    const char *pText;
    const char *pName = NULL;
    size_t nameLength = 0U;
    size_t length = 0U;
    DefenderFormat_t format;
    DefenderTopicKind_t kind;
    DefenderFormat_t gotFormat;
    DefenderTopicKind_t gotKind;
    bool valid;

    if (size == 0U)
    {
        return 0;
    }
    format = (DefenderFormat_t) (pData[0] & 1U);
    kind = (DefenderTopicKind_t) (((pData[0] >> 1) & 3U) % 3U);
    pText = (const char *) &pData[1];
    size--;

    /* As a topic: a match must rebuild to exactly the same bytes. */
    if (Defender_MatchTopic(pText, size, &gotFormat, &gotKind, &pName, &nameLength) ==
        DEFENDER_SUCCESS)
    {
        if ((pName != &pText[12]) || !Defender_ThingNameValid(pName, nameLength) ||
            (Defender_GetTopic(topic, sizeof(topic), pName, nameLength, gotFormat, gotKind,
                               &length) != DEFENDER_SUCCESS) ||
            (length != size) || (memcmp(topic, pText, size) != 0))
        {
            abort();
        }
    }

    /* As a thing name: a topic is built exactly when the name is valid, and matches. */
    valid = Defender_ThingNameValid(pText, size);
    if ((Defender_GetTopic(topic, sizeof(topic), pText, size, format, kind, &length) ==
         DEFENDER_SUCCESS) != valid)
    {
        abort();
    }
    if (valid)
    {
        if ((length != (size + ((kind == DEFENDER_TOPIC_REPORT) ? 34U : 43U))) ||
            (strlen(topic) != length) ||
            (Defender_MatchTopic(topic, length, &gotFormat, &gotKind, &pName, &nameLength) !=
             DEFENDER_SUCCESS) ||
            (gotFormat != format) || (gotKind != kind) || (nameLength != size) ||
            (memcmp(pName, pText, size) != 0))
        {
            abort();
        }
    }

    return 0;
}
