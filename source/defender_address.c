/**
 * @file defender_address.c
 * @brief IP address text: RFC 5952 formatting and inet_pton-like parsing, no OS calls.
 */
#include <string.h>

#include "private/defender_report_private.h"

/** @brief No `::` (as a byte index: above any index, 16 included). */
#define NO_GAP 17U

/** @brief Defender_ParseIpAddress: the end of the text (above any character value). */
#define TEXT_END 256U

/** @brief Digits of the formatter (lower case hexadecimal). */
static const char hexDigits[] = "0123456789abcdef";

size_t DefenderReport_FormatAddress(const DefenderIpAddress_t *pAddress, uint32_t port, char *pText)
{
    static const uint8_t mappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFFU, 0xFFU};
    const uint8_t *pBytes = pAddress->bytes;
    bool remote = port <= 0xFFFFU;
    size_t start = 0U;     /* First byte written. */
    size_t hexEnd = 0U;    /* Bytes before it are 16-bit hex groups, the rest decimal. */
    size_t end = 0U;       /* One past the last byte written. */
    size_t runStart = 16U; /* The zero groups written as `::` (none: 16). */
    size_t runLength = 2U; /* Their byte count: a run must be longer than one group. */
    size_t run = 0U;
    size_t length = 0U;
    size_t i;
    uint32_t value;
    uint32_t shift;
    bool brackets;

    if (pAddress->family == 4U)
    {
        end = 4U;
    }
    else if (pAddress->family == 6U)
    {
        end = 16U;
        hexEnd = 16U;
        if (memcmp(pBytes, mappedPrefix, sizeof(mappedPrefix)) == 0)
        {
            /* IPv4-mapped (PD-5): `::ffff:a.b.c.d`, with a port `a.b.c.d` alone. */
            hexEnd = 12U;
            start = remote ? 12U : 0U;
        }
    }
    else
    {
        /* Invalid family: nothing is written. */
    }
    /* The first longest run of two or more zero groups. */
    for (i = 0U; i < hexEnd; i += 2U)
    {
        run = ((pBytes[i] | pBytes[i + 1U]) == 0U) ? (run + 2U) : 0U;
        if (run > runLength)
        {
            runLength = run;
            runStart = i + 2U - run;
        }
    }
    brackets = remote && (start < hexEnd);
    if (brackets)
    {
        pText[length++] = '[';
    }
    i = start;
    while (i < end)
    {
        /* `::` is the separator of the run plus one more at either end of the address. */
        if ((i != start) || (i == runStart))
        {
            pText[length++] = (i > hexEnd) ? '.' : ':';
        }
        if (i == runStart)
        {
            i += runLength;
            if (i == end)
            {
                pText[length++] = ':';
            }
        }
        else
        {
            /* A hex group or a decimal byte, without leading zeros. */
            value = pBytes[i];
            i++;
            if (i <= hexEnd)
            {
                value = (value << 8) | pBytes[i];
                i++;
                for (shift = 12U; shift <= 12U; shift -= 4U)
                {
                    if (((value >> shift) != 0U) || (shift == 0U))
                    {
                        pText[length++] = hexDigits[(value >> shift) & 0x0FU];
                    }
                }
            }
            else
            {
                length += DefenderReport_FormatUint(value, &pText[length]);
            }
        }
    }
    if (brackets)
    {
        pText[length++] = ']';
    }
    if ((length != 0U) && remote)
    {
        pText[length++] = ':';
        length += DefenderReport_FormatUint(port, &pText[length]);
    }
    return length;
}

/**
 * @brief Formats an address (with port unless port is DEFENDER_REPORT_NO_PORT) into a
 * caller's buffer with a terminator.
 * @param[in] pAddress The address.
 * @param[in] port Port, or DEFENDER_REPORT_NO_PORT.
 * @param[out] pBuffer Destination.
 * @param[in] bufferSize Its size.
 * @return Length, or 0 when invalid or it does not fit with the terminator.
 */
static size_t FormatOut(const DefenderIpAddress_t *pAddress, uint32_t port, char *pBuffer,
                        size_t bufferSize)
{
    char text[DEFENDER_REPORT_ADDRESS_TEXT_SIZE];
    size_t length = 0U;

    if ((pAddress != NULL) && (pBuffer != NULL))
    {
        length = DefenderReport_FormatAddress(pAddress, port, text);
        length = (length < bufferSize) ? length : 0U;
        if (length != 0U)
        {
            (void) memcpy(pBuffer, text, length);
            pBuffer[length] = '\0';
        }
    }
    return length;
}

size_t Defender_FormatRemoteAddress(const DefenderIpAddress_t *pAddress, uint16_t port,
                                    char *pBuffer, size_t bufferSize)
{
    return FormatOut(pAddress, port, pBuffer, bufferSize);
}

size_t Defender_FormatIpAddress(const DefenderIpAddress_t *pAddress, char *pBuffer,
                                size_t bufferSize)
{
    return FormatOut(pAddress, DEFENDER_REPORT_NO_PORT, pBuffer, bufferSize);
}

bool Defender_ParseIpAddress(const char *pText, size_t length, DefenderIpAddress_t *pAddress)
{
    uint8_t bytes[16] = {0};
    size_t out = 0U;     /* Bytes parsed (past 16 the text is invalid: writes wrap). */
    size_t gap = NO_GAP; /* Where `::` stands. */
    size_t octets = 0U;  /* Bytes of the dotted quad parsed. */
    size_t i = 0U;
    size_t first;
    size_t end = (pText != NULL) ? length : 0U;
    uint32_t hex;
    uint32_t decimal;
    uint32_t digit;
    uint32_t separator;
    uint8_t family;
    bool valid = true;

    /* One field per step: digits, then `:`, `.` or the end. The digits are read both as
     * a hex group and as a decimal byte; the separators tell which one the field is. */
    while (valid && (i < end))
    {
        first = i;
        hex = 0U;
        decimal = 0U;
        digit = 0U;
        while ((i < end) && (digit < 16U))
        {
            /* Upper case letters match as lower case; nothing else does. */
            digit = (uint8_t) pText[i] - (uint32_t) '0';
            if (digit > 9U)
            {
                digit = ((uint8_t) pText[i] | 0x20U) - (uint32_t) 'a';
                digit = (digit < 6U) ? (digit + 10U) : 16U;
            }
            if (digit < 16U)
            {
                hex = (hex << 4) | digit;
                /* Not decimal, or a digit after a leading zero: above 255. */
                decimal = ((digit < 10U) && ((i == first) || (decimal != 0U)))
                              ? ((decimal * 10U) + digit)
                              : 256U;
                i++;
            }
        }
        separator = (i < end) ? (uint8_t) pText[i] : TEXT_END;
        i++;
        /* 1..4 digits; a separator is followed by more text (but for `::`). */
        valid = ((i - first) <= 5U) && ((separator == TEXT_END) || (i < end));
        if ((octets != 0U) || (separator == '.'))
        {
            /* A byte of the dotted quad; the fourth ends the text. */
            valid = valid && (i != (first + 1U)) && (decimal <= 255U) &&
                    (separator == ((octets < 3U) ? (uint32_t) '.' : TEXT_END));
            bytes[out & 15U] = (uint8_t) decimal;
            out++;
            octets++;
        }
        else if (i != (first + 1U))
        {
            valid = valid && ((separator == ':') || (separator == TEXT_END));
            bytes[out & 15U] = (uint8_t) (hex >> 8);
            bytes[(out + 1U) & 15U] = (uint8_t) hex;
            out += 2U;
        }
        else if (first == 0U)
        {
            /* A leading colon is the first of `::`. */
            valid = valid && (separator == ':') && (pText[i] == ':');
        }
        else
        {
            /* The second colon of `::` (one at most; it may end the text). */
            valid = (separator == ':') && (gap == NO_GAP);
            gap = out;
        }
    }
    if (valid && (gap != NO_GAP))
    {
        /* `::` stands for one group at least: move the groups after it to the end and
         * leave zeros in the gap. */
        valid = out < 16U;
        if (valid)
        {
            (void) memmove(&bytes[16U - (out - gap)], &bytes[gap], out - gap);
            (void) memset(&bytes[gap], 0, 16U - out);
        }
        out = 16U;
    }
    /* IPv4 has the four bytes of a quad only; IPv6 sixteen bytes. */
    valid = valid && ((out == 16U) || ((octets == out) && (out != 0U)));
    family = (out == 16U) ? 6U : 4U;
    if (valid && (pAddress != NULL))
    {
        pAddress->family = family;
        (void) memcpy(pAddress->bytes, bytes, sizeof(pAddress->bytes));
    }
    return valid;
}
