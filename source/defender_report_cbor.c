/**
 * @file defender_report_cbor.c
 * @brief CBOR spelling of custom numbers (protocol spec section 4): integers as major
 * type 0/1, other values as float64. Heads are written by DefenderReport_Head.
 */
#include <string.h>

#include "private/defender_report_private.h"

/** @brief Initial byte of a float64 (major type 7, additional information 27). */
#define CBOR_FLOAT64 0xFBU

void DefenderReportCbor_Number(DefenderReportWriter_t *pWriter,
                               const DefenderReportNumber_t *pNumber)
{
    uint8_t *pStart = DefenderReport_Reserve(pWriter, 9U);
    uint8_t *pOut;
    uint64_t bits;
    size_t i;

    if (pNumber->isInteger)
    {
        pOut =
            DefenderReport_Head(pStart, pNumber->negative ? DEFENDER_CBOR_NINT : DEFENDER_CBOR_UINT,
                                pNumber->integer - (pNumber->negative ? 1U : 0U));
    }
    else
    {
        /* IEEE 754 binary64 assumed (checked at compile time in defender_report_json.c). */
        (void) memcpy(&bits, &pNumber->rounded, sizeof(bits));
        pStart[0] = CBOR_FLOAT64;
        for (i = 8U; i > 0U; i--)
        {
            pStart[i] = (uint8_t) bits;
            bits >>= 8;
        }
        pOut = &pStart[9];
    }
    DefenderReport_Commit(pWriter, pStart, pOut);
}
