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

/**
 * @brief Writes a dotted quad.
 * @param[in] pBytes Four bytes.
 * @param[out] pText At least 15 bytes.
 * @return Length.
 */
static size_t FormatIpv4(const uint8_t *pBytes, char *pText)
{
    size_t length = 0U;
    size_t i;
    uint32_t octet;

    for (i = 0U; i < 4U; i++)
    {
        octet = pBytes[i];
        if (octet >= 100U)
        {
            pText[length++] = (char) ('0' + (octet / 100U));
            octet %= 100U;
            pText[length++] = (char) ('0' + (octet / 10U));
        }
        else if (octet >= 10U)
        {
            pText[length++] = (char) ('0' + (octet / 10U));
        }
        else
        {
            /* One digit. */
        }
        pText[length++] = (char) ('0' + (octet % 10U));
        pText[length++] = '.';
    }
    return length - 1U;
}

/**
 * @brief Tells whether an IPv6 address is IPv4-mapped (::ffff:a.b.c.d).
 * @param[in] pBytes Sixteen bytes.
 * @return true when mapped.
 */
static bool IsMapped(const uint8_t *pBytes)
{
    static const uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFFU, 0xFFU};

    return memcmp(pBytes, prefix, sizeof(prefix)) == 0;
}

/**
 * @brief Writes an IPv6 address in RFC 5952 form (mapped addresses as ::ffff:a.b.c.d).
 * @param[in] pBytes Sixteen bytes.
 * @param[out] pText At least 40 bytes.
 * @return Length.
 */
static size_t FormatIpv6(const uint8_t *pBytes, char *pText)
{
    static const char hexDigits[] = "0123456789abcdef";
    size_t bestStart = IPV6_GROUPS;
    size_t bestLength = 1U;
    size_t runLength = 0U;
    size_t length = 0U;
    size_t i;
    int shift;
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
    if (bestStart == IPV6_GROUPS)
    {
        bestLength = 0U;
    }
    for (i = 0U; i < IPV6_GROUPS; i++)
    {
        if (i == bestStart)
        {
            pText[length++] = ':';
            pText[length++] = ':';
            i += bestLength - 1U;
        }
        else if ((i == 6U) && IsMapped(pBytes))
        {
            pText[length++] = ':';
            length += FormatIpv4(&pBytes[12], &pText[length]);
            i = IPV6_GROUPS;
        }
        else
        {
            if ((i != 0U) && (i != (bestStart + bestLength)))
            {
                pText[length++] = ':';
            }
            group = ((uint32_t) pBytes[2U * i] << 8) | pBytes[(2U * i) + 1U];
            for (shift = 12; shift > 0; shift -= 4)
            {
                if ((group >> (uint32_t) shift) != 0U)
                {
                    pText[length++] = hexDigits[(group >> (uint32_t) shift) & 0x0FU];
                }
            }
            pText[length++] = hexDigits[group & 0x0FU];
        }
    }
    return length;
}

/**
 * @brief Writes an address without port.
 * @param[in] pAddress The address.
 * @param[in] mappedAsIpv4 Write IPv4-mapped IPv6 addresses as IPv4.
 * @param[out] pText At least 46 bytes.
 * @return Length, or 0 for an invalid family.
 */
static size_t FormatAddress(const DefenderIpAddress_t *pAddress, bool mappedAsIpv4, char *pText)
{
    size_t length = 0U;

    if (pAddress->family == 4U)
    {
        length = FormatIpv4(pAddress->bytes, pText);
    }
    else if (pAddress->family == 6U)
    {
        if (mappedAsIpv4 && IsMapped(pAddress->bytes))
        {
            length = FormatIpv4(&pAddress->bytes[12], pText);
        }
        else
        {
            length = FormatIpv6(pAddress->bytes, pText);
        }
    }
    else
    {
        /* Invalid family: length stays 0. */
    }
    return length;
}

size_t DefenderReport_FormatRemote(const DefenderIpAddress_t *pAddress, uint16_t port, char *pText)
{
    size_t length;
    size_t digits;
    bool bracket = (pAddress->family == 6U) && !IsMapped(pAddress->bytes);
    char portText[DEFENDER_REPORT_UINT_TEXT_SIZE];

    length = FormatAddress(pAddress, true, bracket ? &pText[1] : pText);
    if (length != 0U)
    {
        if (bracket)
        {
            pText[0] = '[';
            length++;
            pText[length++] = ']';
        }
        pText[length++] = ':';
        digits = DefenderReport_FormatUint(port, &portText[sizeof(portText)]);
        (void) memcpy(&pText[length], &portText[sizeof(portText) - digits], digits);
        length += digits;
    }
    return length;
}

/**
 * @brief Copies text to a caller's buffer with a terminator.
 * @param[in] pText Text.
 * @param[in] length Its length (0: nothing to copy).
 * @param[out] pBuffer Destination.
 * @param[in] bufferSize Its size.
 * @return length, or 0 when it is 0 or does not fit with the terminator.
 */
static size_t CopyOut(const char *pText, size_t length, char *pBuffer, size_t bufferSize)
{
    size_t result = 0U;

    if ((length != 0U) && (length < bufferSize))
    {
        (void) memcpy(pBuffer, pText, length);
        pBuffer[length] = '\0';
        result = length;
    }
    return result;
}

size_t Defender_FormatRemoteAddress(const DefenderIpAddress_t *pAddress, uint16_t port,
                                    char *pBuffer, size_t bufferSize)
{
    char text[DEFENDER_REPORT_ADDRESS_TEXT_SIZE];
    size_t length = 0U;

    if ((pAddress != NULL) && (pBuffer != NULL))
    {
        length = DefenderReport_FormatRemote(pAddress, port, text);
        length = CopyOut(text, length, pBuffer, bufferSize);
    }
    return length;
}

size_t Defender_FormatIpAddress(const DefenderIpAddress_t *pAddress, char *pBuffer,
                                size_t bufferSize)
{
    char text[DEFENDER_REPORT_ADDRESS_TEXT_SIZE];
    size_t length = 0U;

    if ((pAddress != NULL) && (pBuffer != NULL))
    {
        length = FormatAddress(pAddress, false, text);
        length = CopyOut(text, length, pBuffer, bufferSize);
    }
    return length;
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
    uint32_t value = 16U;

    if ((c >= '0') && (c <= '9'))
    {
        value = (uint32_t) (c - '0');
    }
    else if ((c >= 'a') && (c <= 'f'))
    {
        value = (uint32_t) (c - 'a') + 10U;
    }
    else if ((c >= 'A') && (c <= 'F'))
    {
        value = (uint32_t) (c - 'A') + 10U;
    }
    else
    {
        /* Not a digit. */
    }
    return value;
}

/**
 * @brief Parses IPv6 text as inet_pton(AF_INET6) does: 1..4 hex digits per group,
 * one `::` at most, an optional dotted quad in the last 32 bits.
 * @param[in] pText Text.
 * @param[in] length Its length.
 * @param[out] pBytes Sixteen bytes (valid only on success).
 * @return true when valid.
 */
static bool ParseIpv6(const char *pText, size_t length, uint8_t *pBytes)
{
    size_t i = 0U;
    size_t out = 0U;
    size_t gap = NO_GAP; /* Where `::` was seen. */
    size_t token = 0U;
    size_t hexDigits = 0U;
    uint32_t value = 0U;
    uint32_t digit;
    bool valid = true;
    bool done = false;
    char c;

    (void) memset(pBytes, 0, 16U);
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
            hexDigits++;
            valid = hexDigits <= 4U;
        }
        else if (c == ':')
        {
            token = i;
            if (hexDigits == 0U)
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
                hexDigits = 0U;
                value = 0U;
            }
        }
        else
        {
            valid = (c == '.') && ((out + 4U) <= 16U) &&
                    ParseIpv4(&pText[token], length - token, &pBytes[out]);
            out += 4U;
            hexDigits = 0U;
            done = true;
        }
    }
    if (valid && (hexDigits != 0U))
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
            family = 4U;
            (void) memset(&bytes[4], 0, 12U);
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
