/**
 * @file defender_report_json.c
 * @brief JSON writer backend of the report encoder: compact RFC 8259 text (2.5).
 */
#include <string.h>

#include "private/defender_report_private.h"

/** @brief Significant digits of a custom number (section 3). */
#define NUMBER_DIGITS 15

/** @brief Longest number text: "-" 15 digits "." "e-308" or "-0.0000" 15 digits. */
#define NUMBER_TEXT_SIZE 32U

/**
 * @brief Writes the comma that separates a value from the previous one.
 * @param[in,out] pWriter The writer.
 */
static void PutComma(DefenderReportWriter_t *pWriter)
{
    if (pWriter->comma)
    {
        DefenderReport_Put(pWriter, ",", 1U);
    }
}

/**
 * @brief Tells whether a byte is written as itself inside a JSON string.
 * @param[in] byte The byte.
 * @return true for printable ASCII other than `"` and `\`.
 */
static bool PlainByte(uint8_t byte)
{
    return (byte >= 0x20U) && (byte < 0x80U) && (byte != (uint8_t) '"') && (byte != (uint8_t) '\\');
}

/**
 * @brief Writes `[,]"text"[:]` with one DefenderReport_Put when the text is short and
 * needs no escaping.
 * @param[in,out] pWriter The writer.
 * @param[in] pText Text.
 * @param[in] length Its length.
 * @param[in] colon Append `:` (a key).
 * @return true when written; false when the caller must take the escaping path.
 */
static bool PutPlainString(DefenderReportWriter_t *pWriter, const char *pText, size_t length,
                           bool colon)
{
    uint8_t scratch[DEFENDER_REPORT_CHUNK_SIZE + 4U];
    uint8_t *pOut = DefenderReport_Reserve(pWriter, length + 4U, scratch);
    size_t used = 0U;
    size_t i;
    bool plain = length <= DEFENDER_REPORT_CHUNK_SIZE;

    if (plain)
    {
        if (pWriter->comma)
        {
            pOut[used++] = (uint8_t) ',';
        }
        pOut[used++] = (uint8_t) '"';
        /* Copy while checking; bytes written before a non-plain one are overwritten. */
        for (i = 0U; plain && (i < length); i++)
        {
            pOut[used++] = (uint8_t) pText[i];
            plain = PlainByte((uint8_t) pText[i]);
        }
        pOut[used++] = (uint8_t) '"';
        if (colon)
        {
            pOut[used++] = (uint8_t) ':';
        }
    }
    if (plain)
    {
        pWriter->length += used;
        pWriter->comma = !colon;
    }
    return plain;
}

void DefenderReportJson_Open(DefenderReportWriter_t *pWriter, char bracket)
{
    char chunk[2] = {',', bracket};

    DefenderReport_Put(pWriter, pWriter->comma ? &chunk[0] : &chunk[1], pWriter->comma ? 2U : 1U);
    pWriter->comma = false;
}

void DefenderReportJson_Close(DefenderReportWriter_t *pWriter, char bracket)
{
    DefenderReport_Put(pWriter, &bracket, 1U);
    pWriter->comma = true;
}

void DefenderReportJson_Key(DefenderReportWriter_t *pWriter, const char *pText, size_t length)
{
    if (!PutPlainString(pWriter, pText, length, true))
    {
        DefenderReportJson_String(pWriter, pText, length);
        DefenderReport_Put(pWriter, ":", 1U);
        pWriter->comma = false;
    }
}

void DefenderReportJson_Token(DefenderReportWriter_t *pWriter, const char *pText, size_t length)
{
    uint8_t scratch[DEFENDER_REPORT_CHUNK_SIZE + 1U];
    uint8_t *pOut = DefenderReport_Reserve(pWriter, length + 1U, scratch);
    size_t used = 0U;

    if (pWriter->comma)
    {
        pOut[used++] = (uint8_t) ',';
    }
    (void) memcpy(&pOut[used], pText, length);
    pWriter->length += used + length;
    pWriter->comma = false;
}

void DefenderReportJson_String(DefenderReportWriter_t *pWriter, const char *pText, size_t length)
{
    static const char hexDigits[] = "0123456789abcdef";
    const uint8_t *pBytes = (const uint8_t *) pText;
    size_t i = 0U;
    size_t start;
    size_t sequence;
    char escape[6] = {'\\', 'u', '0', '0', '0', '0'};

    if (!PutPlainString(pWriter, pText, length, false))
    {
        PutComma(pWriter);
        DefenderReport_Put(pWriter, "\"", 1U);
        while (i < length)
        {
            start = i;
            while ((i < length) && PlainByte(pBytes[i]))
            {
                i++;
            }
            DefenderReport_Put(pWriter, &pBytes[start], i - start);
            if (i < length)
            {
                if (pBytes[i] < 0x20U)
                {
                    escape[4] = hexDigits[pBytes[i] >> 4];
                    escape[5] = hexDigits[pBytes[i] & 0x0FU];
                    DefenderReport_Put(pWriter, escape, sizeof(escape));
                    sequence = 1U;
                }
                else if (pBytes[i] < 0x80U)
                {
                    /* '"' or '\'. */
                    escape[1] = (char) pBytes[i];
                    DefenderReport_Put(pWriter, escape, 2U);
                    escape[1] = 'u';
                    sequence = 1U;
                }
                else
                {
                    sequence = DefenderReport_Utf8Length(&pBytes[i], length - i);
                    if (sequence == 0U)
                    {
                        DefenderReport_Put(pWriter, "?", 1U);
                        sequence = 1U;
                    }
                    else
                    {
                        DefenderReport_Put(pWriter, &pBytes[i], sequence);
                    }
                }
                i += sequence;
            }
        }
        DefenderReport_Put(pWriter, "\"", 1U);
        pWriter->comma = true;
    }
}

void DefenderReportJson_Uint(DefenderReportWriter_t *pWriter, uint64_t value)
{
    char text[DEFENDER_REPORT_UINT_TEXT_SIZE + 1U];
    size_t length = DefenderReport_FormatUint(value, &text[sizeof(text)]);

    if (pWriter->comma)
    {
        length++;
        text[sizeof(text) - length] = ',';
    }
    DefenderReport_Put(pWriter, &text[sizeof(text) - length], length);
    pWriter->comma = true;
}

/**
 * @brief Formats a non-integer rounded number as `%.15g` does.
 * @param[in] pNumber Rounded number (isInteger false).
 * @param[out] pText At least NUMBER_TEXT_SIZE bytes.
 * @return Text length.
 */
static size_t FormatDecimal(const DefenderReportNumber_t *pNumber, char *pText)
{
    char digits[NUMBER_DIGITS];
    char exponentText[DEFENDER_REPORT_UINT_TEXT_SIZE];
    size_t count = NUMBER_DIGITS;
    size_t length = 0U;
    size_t i;
    size_t exponentLength;
    int32_t exponent = pNumber->exponent;
    uint32_t magnitude;

    (void) DefenderReport_FormatUint(pNumber->digits, &digits[NUMBER_DIGITS]);
    while ((count > 1U) && (digits[count - 1U] == '0'))
    {
        count--;
    }
    if (pNumber->negative)
    {
        pText[length++] = '-';
    }
    if ((exponent < -4) || (exponent >= NUMBER_DIGITS))
    {
        pText[length++] = digits[0];
        if (count > 1U)
        {
            pText[length++] = '.';
            (void) memcpy(&pText[length], &digits[1], count - 1U);
            length += count - 1U;
        }
        pText[length++] = 'e';
        pText[length++] = (exponent < 0) ? '-' : '+';
        magnitude = (exponent < 0) ? (uint32_t) -exponent : (uint32_t) exponent;
        if (magnitude < 10U)
        {
            pText[length++] = '0';
        }
        exponentLength = DefenderReport_FormatUint(magnitude, &exponentText[sizeof(exponentText)]);
        (void) memcpy(&pText[length], &exponentText[sizeof(exponentText) - exponentLength],
                      exponentLength);
        length += exponentLength;
    }
    else if (exponent >= 0)
    {
        /* Not whole (else it would be an integer), so count > exponent + 1. */
        i = (size_t) exponent + 1U;
        (void) memcpy(&pText[length], digits, i);
        length += i;
        pText[length++] = '.';
        (void) memcpy(&pText[length], &digits[i], count - i);
        length += count - i;
    }
    else
    {
        pText[length++] = '0';
        pText[length++] = '.';
        for (i = 1U; i < (size_t) -exponent; i++)
        {
            pText[length++] = '0';
        }
        (void) memcpy(&pText[length], digits, count);
        length += count;
    }
    return length;
}

void DefenderReportJson_Number(DefenderReportWriter_t *pWriter,
                               const DefenderReportNumber_t *pNumber)
{
    char text[NUMBER_TEXT_SIZE];
    size_t length;

    if (pNumber->isInteger)
    {
        length = DefenderReport_FormatUint(pNumber->integer, &text[sizeof(text)]);
        if (pNumber->negative)
        {
            length++;
            text[sizeof(text) - length] = '-';
        }
        PutComma(pWriter);
        DefenderReport_Put(pWriter, &text[sizeof(text) - length], length);
    }
    else
    {
        length = FormatDecimal(pNumber, text);
        PutComma(pWriter);
        DefenderReport_Put(pWriter, text, length);
    }
    pWriter->comma = true;
}
