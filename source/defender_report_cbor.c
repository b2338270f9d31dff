/**
 * @file defender_report_cbor.c
 * @brief CBOR writer backend of the report encoder: definite lengths, shortest-form
 * heads, text strings only (protocol spec section 4).
 */
#include <string.h>

#include "private/defender_report_private.h"

/** @brief Additional-information values that announce 1, 2, 4 or 8 argument bytes. */
#define CBOR_ARGUMENT_1 24U
#define CBOR_ARGUMENT_2 25U
#define CBOR_ARGUMENT_4 26U
#define CBOR_ARGUMENT_8 27U

/** @brief Initial byte of a float64 (major type 7, additional information 27). */
#define CBOR_FLOAT64 0xFBU

/**
 * @brief Writes an initial byte followed by `count` big-endian argument bytes.
 * @param[in,out] pWriter The writer.
 * @param[in] initial The initial byte.
 * @param[in] argument The argument.
 * @param[in] count Argument bytes (0, 1, 2, 4 or 8).
 */
static void PutHead(DefenderReportWriter_t *pWriter, uint8_t initial, uint64_t argument,
                    size_t count)
{
    uint8_t head[9];
    size_t i;

    head[0] = initial;
    for (i = count; i > 0U; i--)
    {
        head[i] = (uint8_t) (argument & 0xFFU);
        argument >>= 8;
    }
    DefenderReport_Put(pWriter, head, count + 1U);
}

void DefenderReportCbor_Head(DefenderReportWriter_t *pWriter, uint8_t major, uint64_t argument)
{
    uint8_t initial = (uint8_t) (major << 5);

    if (argument < CBOR_ARGUMENT_1)
    {
        PutHead(pWriter, (uint8_t) (initial | argument), 0U, 0U);
    }
    else if (argument <= 0xFFU)
    {
        PutHead(pWriter, (uint8_t) (initial | CBOR_ARGUMENT_1), argument, 1U);
    }
    else if (argument <= 0xFFFFU)
    {
        PutHead(pWriter, (uint8_t) (initial | CBOR_ARGUMENT_2), argument, 2U);
    }
    else if (argument <= 0xFFFFFFFFU)
    {
        PutHead(pWriter, (uint8_t) (initial | CBOR_ARGUMENT_4), argument, 4U);
    }
    else
    {
        PutHead(pWriter, (uint8_t) (initial | CBOR_ARGUMENT_8), argument, 8U);
    }
}

void DefenderReportCbor_String(DefenderReportWriter_t *pWriter, const char *pText, size_t length)
{
    const uint8_t *pBytes = (const uint8_t *) pText;
    uint8_t chunk[DEFENDER_REPORT_CHUNK_SIZE];
    size_t i = 0U;
    size_t start;
    size_t sequence;

    uint8_t *pOut = DefenderReport_Reserve(pWriter, length + 1U, chunk);

    if (length < CBOR_ARGUMENT_1)
    {
        /* Short string: head and text in one piece if all ASCII. */
        pOut[0] = (uint8_t) ((DEFENDER_CBOR_TEXT << 5) | length);
        while ((i < length) && (pBytes[i] < 0x80U))
        {
            pOut[i + 1U] = pBytes[i];
            i++;
        }
    }
    if ((i == length) && (length < CBOR_ARGUMENT_1))
    {
        pWriter->length += length + 1U;
    }
    else
    {
        i = 0U;
        DefenderReportCbor_Head(pWriter, DEFENDER_CBOR_TEXT, length);
        while (i < length)
        {
            start = i;
            while ((i < length) && (pBytes[i] < 0x80U))
            {
                i++;
            }
            sequence = (i < length) ? DefenderReport_Utf8Length(&pBytes[i], length - i) : 0U;
            i += sequence;
            DefenderReport_Put(pWriter, &pBytes[start], i - start);
            if ((i < length) && (sequence == 0U))
            {
                /* Same length as the byte it replaces: the head stays right. */
                DefenderReport_Put(pWriter, "?", 1U);
                i++;
            }
        }
    }
}

void DefenderReportCbor_Number(DefenderReportWriter_t *pWriter,
                               const DefenderReportNumber_t *pNumber)
{
    uint64_t bits;

    if (pNumber->isInteger)
    {
        if (pNumber->negative)
        {
            DefenderReportCbor_Head(pWriter, DEFENDER_CBOR_NINT, pNumber->integer - 1U);
        }
        else
        {
            DefenderReportCbor_Head(pWriter, DEFENDER_CBOR_UINT, pNumber->integer);
        }
    }
    else
    {
        /* IEEE 754 binary64 assumed (checked at compile time in defender_report.c). */
        (void) memcpy(&bits, &pNumber->rounded, sizeof(bits));
        PutHead(pWriter, CBOR_FLOAT64, bits, 8U);
    }
}
