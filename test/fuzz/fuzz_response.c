/**
 * @file fuzz_response.c
 * @brief libFuzzer target for Defender_ParseResponse.
 *
 * Input: the first byte selects the format (even: JSON, odd: CBOR); the rest is the
 * payload. Beyond memory safety (ASan/UBSan), it checks what a caller relies on: a
 * successful parse leaves terminated, valid UTF-8 strings within their buffers and
 * values in range, and the result does not depend on anything but the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "defender_protocol.h"
#include "private/defender_response_private.h"

int LLVMFuzzerTestOneInput(const uint8_t *pData, size_t size);

/** @brief Aborts unless pText is terminated inside its buffer and valid UTF-8. */
static size_t checkText(const char *pText, size_t bufferSize)
{
    const uint8_t *pBytes = (const uint8_t *) pText;
    const char *pEnd = memchr(pText, '\0', bufferSize);
    size_t length;
    size_t i = 0U;

    if (pEnd == NULL)
    {
        abort();
    }
    length = (size_t) (pEnd - pText);
    while (i < length)
    {
        size_t step = Defender_Utf8SequenceLength(&pBytes[i], length - i);

        if (step == 0U)
        {
            abort();
        }
        i += step;
    }

    return length;
}

int LLVMFuzzerTestOneInput(const uint8_t *pData, size_t size)
{
    DefenderResponse_t first;
    DefenderResponse_t second;
    DefenderFormat_t format;
    DefenderStatus_t status;
    uint8_t *pCopy;
    size_t length;

    if (size == 0U)
    {
        return 0;
    }
    format = ((pData[0] & 1U) != 0U) ? DEFENDER_FORMAT_CBOR : DEFENDER_FORMAT_JSON;
    pData++;
    size--;

    /* Poison the outputs: the parser must set every field it reports. */
    memset(&first, 0xA5, sizeof(first));
    memset(&second, 0x5A, sizeof(second));
    status = Defender_ParseResponse(format, pData, size, &first);

    if ((status != DEFENDER_SUCCESS) && (status != DEFENDER_MALFORMED))
    {
        abort();
    }
    if (Defender_ParseResponse(format, pData, size, &second) != status)
    {
        abort();
    }

    if (status == DEFENDER_SUCCESS)
    {
        /* Deterministic and fully written (no byte of the poison left over). */
        if (memcmp(&first, &second, sizeof(first)) != 0)
        {
            abort();
        }
        if ((first.status != DEFENDER_RESPONSE_ACCEPTED) &&
            (first.status != DEFENDER_RESPONSE_REJECTED))
        {
            abort();
        }
        if (first.hasReportId && ((first.reportId == 0U) || (first.reportId > INT64_MAX)))
        {
            abort();
        }
        if ((!first.hasReportId && (first.reportId != 0U)) ||
            (!first.hasTimestamp && (first.timestamp != 0U)))
        {
            abort();
        }
        length = checkText(first.thingName, sizeof(first.thingName));
        if ((!first.hasThingName && ((length != 0U) || first.thingNameTruncated)) ||
            (first.thingNameTruncated && ((length + 4U) < sizeof(first.thingName))))
        {
            abort();
        }
        (void) checkText(first.errorCode, sizeof(first.errorCode));
        (void) checkText(first.errorMessage, sizeof(first.errorMessage));

        /* An accepted payload is complete: CBOR cut by one byte must fail; JSON with a
         * NUL added must still pass. */
        pCopy = malloc(size + 1U);
        if (pCopy == NULL)
        {
            abort();
        }
        if (size > 0U)
        {
            memcpy(pCopy, pData, size);
        }
        if ((format == DEFENDER_FORMAT_CBOR) && (size > 0U) &&
            (Defender_ParseResponse(format, pCopy, size - 1U, &second) != DEFENDER_MALFORMED))
        {
            abort();
        }
        if ((format == DEFENDER_FORMAT_JSON) && (size > 0U) && (pData[size - 1U] != 0U))
        {
            pCopy[size] = 0U;
            if (Defender_ParseResponse(format, pCopy, size + 1U, &second) != DEFENDER_SUCCESS)
            {
                abort();
            }
        }
        free(pCopy);
    }

    return 0;
}
