/**
 * @file defender_report_cbor.c
 * @brief CBOR data item heads (protocol spec section 4: definite lengths, shortest form).
 */
#include "private/defender_report_private.h"

/* Only the CBOR encoding writes heads: a JSON-only build (DEFENDER_CONFIG_FORMAT_CBOR 0) has
 * none of this file's code. */
#if DEFENDER_CONFIG_FORMAT_CBOR == 1

uint8_t *DefenderReport_Head(uint8_t *pOut, uint8_t major, uint64_t argument)
{
    uint32_t info = 24U;
    size_t count = 1U;
    size_t i;

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
    pOut[0] = (uint8_t) (((uint32_t) major << 5) | info);
    for (i = count; i > 0U; i--)
    {
        pOut[i] = (uint8_t) argument;
        argument >>= 8;
    }
    return &pOut[count + 1U];
}

#endif /* DEFENDER_CONFIG_FORMAT_CBOR == 1 */
