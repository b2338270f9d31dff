/**
 * @file defender_address.c
 * @brief IP address text: RFC 5952 formatting and inet_pton-like parsing, no OS calls.
 */
#include <string.h>

#include "private/defender_report_private.h"

/** @brief Groups of 16 bits in an IPv6 address. */
#define IPV6_GROUPS 8U

/** @brief ParseIpv6: no `::` seen (any value above 16). */
#define NO_GAP 17U

/** @brief Longest IP text accepted by the parser ("ffff:...:255.255.255.255" is 45). */
#define IP_TEXT_MAX_LENGTH 45U

/** @brief Hexadecimal digits, shared by the IPv6 formatter and parser. */
static const char hexDigits[] = "0123456789abcdef";

/**
 * @brief Writes a dotted quad.
 * @param[in] pBytes Four bytes.
 * @param[out] pText At least 16 bytes.
 * @return Length.
 */
static size_t FormatIpv4(const uint8_t *pBytes, char *pText)
{
    size_t length = 0U;
    size_t i;

    for (i = 0U; i < 4U; i++)
    {
        length += DefenderReport_FormatUint(pBytes[i], &pText[length]);
        pText[length++] = '.';
    }
    return length - 1U;
}

/**
 * @brief Writes an IPv6 address in RFC 5952 form (mapped addresses as ::ffff:a.b.c.d):
 * the first longest run of two or more zero groups is written as `::`.
 * @param[in] pBytes Sixteen bytes.
 * @param[in] mapped The address is IPv4-mapped.
 * @param[out] pText At least 46 bytes.
 * @return Length.
 */
static size_t FormatIpv6(const uint8_t *pBytes, bool mapped, char *pText)
{
    size_t bestStart = IPV6_GROUPS;
    size_t bestLength = 1U;
    size_t runLength = 0U;
    size_t length = 0U;
    size_t i;
    uint32_t shift;
    uint32_t group;

    for (i = 0U; i < IPV6_GROUPS; i++)
    {
        runLength = ((pBytes[2U * i] | pBytes[(2U * i) + 1U]) == 0U) ? (runLength + 1U) : 0U;
        if (runLength > bestLength)
        {
            bestLength = runLength;
            bestStart = i + 1U - runLength;
        }
    }
    for (i = 0U; i < IPV6_GROUPS; i++)
    {
        if ((i != 0U) || (i == bestStart))
        {
            pText[length++] = ':';
        }
        if (i == bestStart)
        {
            /* `::`: the next group writes the second colon (or the end does). */
            i += bestLength - 1U;
            if (i == (IPV6_GROUPS - 1U))
            {
                pText[length++] = ':';
            }
        }
        else if ((i == 6U) && mapped)
        {
            length += FormatIpv4(&pBytes[12], &pText[length]);
            i = IPV6_GROUPS;
        }
        else
        {
            group = ((uint32_t) pBytes[2U * i] << 8) | pBytes[(2U * i) + 1U];
            for (shift = 12U; shift <= 12U; shift -= 4U)
            {
                if (((group >> shift) != 0U) || (shift == 0U))
                {
                    pText[length++] = hexDigits[(group >> shift) & 0x0FU];
                }
            }
        }
    }
    return length;
}

size_t DefenderReport_FormatAddress(const DefenderIpAddress_t *pAddress, uint32_t port, char *pText)
{
    static const uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFFU, 0xFFU};
    bool remote = port <= 0xFFFFU;
    bool mapped = memcmp(pAddress->bytes, prefix, sizeof(prefix)) == 0;
    size_t length = 0U;

    if ((pAddress->family == 4U) || ((pAddress->family == 6U) && mapped && remote))
    {
        length = FormatIpv4(&pAddress->bytes[(pAddress->family == 4U) ? 0U : 12U], pText);
    }
    else if (pAddress->family == 6U)
    {
        /* Brackets around IPv6 with a port. */
        pText[0] = '[';
        length = remote ? 1U : 0U;
        length += FormatIpv6(pAddress->bytes, mapped, &pText[length]);
        if (remote)
        {
            pText[length++] = ']';
        }
    }
    else
    {
        /* Invalid family: length stays 0. */
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

/**
 * @brief Parses a dotted quad that spans the whole text (inet_pton AF_INET rules:
 * four decimal octets 0..255, no leading zeros).
 * @param[in] pText Text.
 * @param[in] length Its length.
 * @param[out] pBytes Four bytes, written only in part on failure.
 * @return true when valid.
 */
static bool ParseIpv4(const char *pText, size_t length, uint8_t *pBytes)
{
    size_t i = 0U;
    size_t octets = 0U;
    size_t digits;
    uint32_t value;
    bool valid = true;

    while (valid && (octets < 4U))
    {
        value = 0U;
        digits = 0U;
        while (valid && (i < length) && (pText[i] >= '0') && (pText[i] <= '9'))
        {
            /* A second digit after a leading 0, or a value above 255, is invalid. */
            valid = !((digits != 0U) && (value == 0U));
            value = (value * 10U) + (uint32_t) (pText[i] - '0');
            valid = valid && (value <= 255U);
            digits++;
            i++;
        }
        valid = valid && (digits != 0U);
        pBytes[octets] = (uint8_t) value;
        octets++;
        if (valid && (octets < 4U))
        {
            valid = (i < length) && (pText[i] == '.');
            i++;
        }
    }
    return valid && (i == length);
}

/**
 * @brief Value of a hexadecimal digit.
 * @param[in] c Character.
 * @return 0..15, or 16 when c is not a hexadecimal digit.
 */
static uint32_t HexValue(char c)
{
    uint32_t value = 0U;

    /* Upper case letters match as lower case; control characters never match. */
    while ((value < 16U) && ((c < '0') || (hexDigits[value] != (char) (c | 0x20))))
    {
        value++;
    }
    return value;
}

/**
 * @brief Parses IPv6 text as inet_pton(AF_INET6) does: 1..4 hex digits per group,
 * one `::` at most, an optional dotted quad in the last 32 bits.
 * @param[in] pText Text.
 * @param[in] length Its length.
 * @param[out] pBytes Sixteen bytes (valid only on success: every byte written then).
 * @return true when valid.
 */
static bool ParseIpv6(const char *pText, size_t length, uint8_t *pBytes)
{
    size_t i = 0U;
    size_t out = 0U;
    size_t gap = NO_GAP; /* Where `::` was seen. */
    size_t token = 0U;
    size_t hexCount = 0U;
    uint32_t value = 0U;
    uint32_t digit;
    bool valid = true;
    bool done = false;
    char c;

    if ((length > 0U) && (pText[0] == ':'))
    {
        valid = (length > 1U) && (pText[1] == ':');
        i = 1U;
    }
    token = i;
    while (valid && !done && (i < length))
    {
        c = pText[i];
        i++;
        digit = HexValue(c);
        if (digit < 16U)
        {
            value = (value << 4) | digit;
            hexCount++;
            valid = hexCount <= 4U;
        }
        else if (c == ':')
        {
            token = i;
            if (hexCount == 0U)
            {
                valid = (gap == NO_GAP);
                gap = out;
            }
            else
            {
                valid = (i < length) && ((out + 2U) <= 16U);
                if (valid)
                {
                    pBytes[out++] = (uint8_t) (value >> 8);
                    pBytes[out++] = (uint8_t) value;
                }
                hexCount = 0U;
                value = 0U;
            }
        }
        else
        {
            valid = (c == '.') && ((out + 4U) <= 16U) &&
                    ParseIpv4(&pText[token], length - token, &pBytes[out]);
            out += 4U;
            hexCount = 0U;
            done = true;
        }
    }
    if (valid && (hexCount != 0U))
    {
        valid = (out + 2U) <= 16U;
        if (valid)
        {
            pBytes[out++] = (uint8_t) (value >> 8);
            pBytes[out++] = (uint8_t) value;
        }
    }
    if (valid && (gap != NO_GAP))
    {
        valid = out != 16U;
        if (valid)
        {
            /* Move the groups after `::` to the end and zero the gap. */
            (void) memmove(&pBytes[16U - (out - gap)], &pBytes[gap], out - gap);
            (void) memset(&pBytes[gap], 0, 16U - out);
            out = 16U;
        }
    }
    return valid && (out == 16U);
}

bool Defender_ParseIpAddress(const char *pText, size_t length, DefenderIpAddress_t *pAddress)
{
    uint8_t bytes[16] = {0};
    uint8_t family = 0U;

    if ((pText != NULL) && (length <= IP_TEXT_MAX_LENGTH))
    {
        if (ParseIpv4(pText, length, bytes))
        {
            family = 4U; /* bytes[4..15] are still 0. */
        }
        else if (ParseIpv6(pText, length, bytes))
        {
            family = 6U;
        }
        else
        {
            /* Invalid: family stays 0. */
        }
    }
    if ((family != 0U) && (pAddress != NULL))
    {
        pAddress->family = family;
        (void) memcpy(pAddress->bytes, bytes, sizeof(bytes));
    }
    return family != 0U;
}
