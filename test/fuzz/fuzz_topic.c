/**
 * @file fuzz_topic.c
 * @brief libFuzzer target for Defender_ThingNameValid and Defender_GetTopic.
 *
 * Input: the first byte picks the format (bit 0) and kind (bits 1-2); the rest is a
 * thing name. A topic is built exactly when the name is valid, and it is then
 * `$aws/things/{name}/defender/metrics/{json|cbor}[/accepted|/rejected]`, terminated.
 * The response topics a running agent takes are exercised through the core in
 * unit_core (Defender_OnMessage compares against these built topics).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "defender_protocol.h"

int LLVMFuzzerTestOneInput(const uint8_t *pData, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *pData, size_t size)
{
    static const char *const suffixes[3] = {"", "/accepted", "/rejected"};
    char topic[DEFENDER_TOPIC_BUFFER_SIZE];
    char tail[64];
    const char *pName;
    size_t length = 0U;
    size_t tailLength;
    DefenderFormat_t format;
    DefenderTopicKind_t kind;
    bool valid;

    if (size == 0U)
    {
        return 0;
    }
    format = (DefenderFormat_t) (pData[0] & 1U);
    kind = (DefenderTopicKind_t) (((pData[0] >> 1) & 3U) % 3U);
    pName = (const char *) &pData[1];
    size--;

    valid = Defender_ThingNameValid(pName, size);
    if ((Defender_GetTopic(topic, sizeof(topic), pName, size, format, kind, &length) ==
         DEFENDER_SUCCESS) != valid)
    {
        abort();
    }
    if (valid)
    {
        tailLength =
            (size_t) snprintf(tail, sizeof(tail), "/defender/metrics/%s%s",
                              (format == DEFENDER_FORMAT_JSON) ? "json" : "cbor", suffixes[kind]);
        if ((size > 128U) || (memchr(pName, '/', size) != NULL) ||
            (memchr(pName, '+', size) != NULL) || (memchr(pName, '#', size) != NULL) ||
            (memchr(pName, '\0', size) != NULL) || (length != (12U + size + tailLength)) ||
            (strlen(topic) != length) || (memcmp(topic, "$aws/things/", 12U) != 0) ||
            (memcmp(&topic[12], pName, size) != 0) ||
            (memcmp(&topic[12U + size], tail, tailLength) != 0))
        {
            abort();
        }
        /* A buffer one byte short is refused without writing past it. */
        if (Defender_GetTopic(topic, length, pName, size, format, kind, &length) !=
            DEFENDER_BUFFER_TOO_SMALL)
        {
            abort();
        }
    }

    return 0;
}
