/**
 * @file defender_response_private.h
 * @brief Helpers shared by the topic and response modules of the core (not public).
 */
#ifndef DEFENDER_RESPONSE_PRIVATE_H
#define DEFENDER_RESPONSE_PRIVATE_H

#include <stddef.h>
#include <stdint.h>

/** @brief Deepest nesting of maps and arrays in a response; the top-level map is level 1. */
#define DEFENDER_RESPONSE_MAX_DEPTH 16U

/**
 * @brief Length of the well-formed UTF-8 sequence at pBytes.
 *
 * Rejects overlong forms, surrogates (U+D800..U+DFFF), values above U+10FFFF and
 * sequences cut by the end of the input.
 *
 * @param[in] pBytes First byte of the sequence.
 * @param[in] available Bytes readable from pBytes (at least 1).
 * @return 1..4, or 0 when the bytes are not a valid sequence.
 */
size_t Defender_Utf8SequenceLength(const uint8_t *pBytes, size_t available);

#endif /* DEFENDER_RESPONSE_PRIVATE_H */
