/**
 * @file defender_report_cbor.c
 * @brief CBOR spelling of the report encoder: definite lengths, shortest-form heads,
 * text strings only (protocol spec section 4).
 */
#include <string.h>

#include "private/defender_report_private.h"

/** @brief Initial byte of a float64 (major type 7, additional information 27). */
#define CBOR_FLOAT64 0xFBU

/**
 * @brief Writes an initial byte followed by 2^power big-endian argument bytes.
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
        head[i] = (uint8_t) argument;
        argument >>= 8;
    }
    DefenderReport_Put(pWriter, head, count + 1U);
}

void DefenderReportCbor_Head(DefenderReportWriter_t *pWriter, uint8_t major, uint64_t argument)
{
    uint32_t info = 24U;
    size_t count = 1U;

    if (argument < 24U)
    {
        info = (uint32_t) argument;
        count = 0U;
    }
    else
    {
        /* 1, 2, 4 or 8 argument bytes: additional information 24..27. */
        while ((count < 8U) && ((argument >> (8U * count)) != 0U))
        {
            count *= 2U;
            info++;
        }
    }
    PutHead(pWriter, (uint8_t) (((uint32_t) major << 5) | info), argument, count);
}

void DefenderReportCbor_Number(DefenderReportWriter_t *pWriter,
                               const DefenderReportNumber_t *pNumber)
{
    uint64_t bits;

    if (pNumber->isInteger)
    {
        DefenderReportCbor_Head(pWriter,
                                pNumber->negative ? DEFENDER_CBOR_NINT : DEFENDER_CBOR_UINT,
                                pNumber->integer - (pNumber->negative ? 1U : 0U));
    }
    else
    {
        /* IEEE 754 binary64 assumed (checked at compile time in defender_report_json.c). */
        (void) memcpy(&bits, &pNumber->rounded, sizeof(bits));
        PutHead(pWriter, CBOR_FLOAT64, bits, 8U);
    }
}
