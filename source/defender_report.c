/**
 * @file defender_report.c
 * @brief The report walk (emission order of spec 10.8), the fit-by-dropping-entries
 * logic, custom number rounding and custom metric validation.
 *
 * One walk drives a small writer with a JSON and a CBOR backend. The first pass
 * writes into the caller's buffer and keeps counting past its end, so it also
 * yields the size of the whole report. When that is too large, entries are dropped
 * one at a time from the list with the most listed entries (ties: connections, then
 * TCP ports, then UDP ports), each drop subtracting the exact size of that entry
 * and of its separators, and a second pass writes the result.
 */
#include <string.h>

#include "private/defender_report_private.h"

/** @brief The encoder needs IEEE 754 binary64 doubles. */
typedef char DefenderDoubleIs64Bits_t[(sizeof(double) == sizeof(uint64_t)) ? 1 : -1];

/** @brief Largest report id and integer value (2^63-1). */
#define MAX_INT63 0x7FFFFFFFFFFFFFFFULL

/** @brief 2^53: larger whole numbers are encoded as floats. */
#define MAX_WHOLE 9007199254740992ULL

/** @brief 10^14 and 10^15, the range of 15-digit significands. */
#define POW10_14 100000000000000ULL
#define POW10_15 1000000000000000ULL

/** @brief 15 digits of the largest double rounded down (1.79769313486231e308). */
#define LARGEST_DIGITS 179769313486231ULL

/** @brief Keys of the report (section 2.1), indexes into keyTable. */
typedef enum
{
    KEY_HEADER = 0,
    KEY_METRICS,
    KEY_CUSTOM_METRICS,
    KEY_REPORT_ID,
    KEY_VERSION,
    KEY_TCP_PORTS,
    KEY_UDP_PORTS,
    KEY_PORTS,
    KEY_PORT,
    KEY_INTERFACE,
    KEY_TOTAL,
    KEY_NETWORK_STATS,
    KEY_BYTES_IN,
    KEY_BYTES_OUT,
    KEY_PACKETS_IN,
    KEY_PACKETS_OUT,
    KEY_TCP_CONNECTIONS,
    KEY_ESTABLISHED,
    KEY_CONNECTIONS,
    KEY_REMOTE_ADDR,
    KEY_LOCAL_PORT,
    KEY_LOCAL_INTERFACE,
    KEY_NUMBER,
    KEY_NUMBER_LIST,
    KEY_STRING_LIST,
    KEY_IP_LIST
} ReportKey_t;

/** @brief One key in both spellings. */
typedef struct KeyText
{
    const char *pText[2]; /**< Long and short spelling, as JSON `"key":`. */
    uint8_t length[2];    /**< Their lengths (with quotes and colon). */
} KeyText_t;

/** @brief Builds a KeyText_t from two keys, stored as the JSON text `"key":`. */
#define KEY(longKey, shortKey)                                                                     \
    {                                                                                              \
        {"\"" longKey "\":", "\"" shortKey "\":"},                                                 \
        {                                                                                          \
            sizeof(longKey) + 2U, sizeof(shortKey) + 2U                                            \
        }                                                                                          \
    }

/** @brief The key table of section 2.1, indexed by ReportKey_t. */
static const KeyText_t keyTable[] = {
    KEY("header", "hed"),
    KEY("metrics", "met"),
    KEY("custom_metrics", "cmet"),
    KEY("report_id", "rid"),
    KEY("version", "v"),
    KEY("listening_tcp_ports", "tp"),
    KEY("listening_udp_ports", "up"),
    KEY("ports", "pts"),
    KEY("port", "pt"),
    KEY("interface", "if"),
    KEY("total", "t"),
    KEY("network_stats", "ns"),
    KEY("bytes_in", "bi"),
    KEY("bytes_out", "bo"),
    KEY("packets_in", "pi"),
    KEY("packets_out", "po"),
    KEY("tcp_connections", "tc"),
    KEY("established_connections", "ec"),
    KEY("connections", "cs"),
    KEY("remote_addr", "rad"),
    KEY("local_port", "lp"),
    KEY("local_interface", "li"),
    KEY("number", "number"),
    KEY("number_list", "number_list"),
    KEY("string_list", "string_list"),
    KEY("ip_list", "ip_list"),
};

/** @brief Value key of each custom metric type (DefenderCustomMetricType_t order). */
static const uint8_t customValueKey[] = {KEY_NUMBER, KEY_NUMBER_LIST, KEY_STRING_LIST, KEY_IP_LIST};

/** @brief Indexes of the three lists in pListed. */
#define LIST_CONNECTIONS 0U
#define LIST_TCP_PORTS   1U
#define LIST_UDP_PORTS   2U

/** @brief Exact powers of ten representable as doubles. */
static const double pow10Table[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                    1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                    1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/** @brief Largest index of pow10Table. */
#define POW10_TABLE_MAX 22

/* ---- Writer primitives ------------------------------------------------------------- */

size_t DefenderReport_FormatUint(uint64_t value, char *pEnd)
{
    static const char pairs[] = "00010203040506070809101112131415161718192021222324252627282930"
                                "31323334353637383940414243444546474849505152535455565758596061"
                                "62636465666768697071727374757677787980818283848586878889909192"
                                "93949596979899";
    char *p = pEnd;
    uint32_t small;
    uint32_t pair;

    while (value > 0xFFFFFFFFU)
    {
        pair = (uint32_t) (value % 100U);
        value /= 100U;
        p -= 2;
        p[0] = pairs[2U * pair];
        p[1] = pairs[(2U * pair) + 1U];
    }
    small = (uint32_t) value;
    while (small >= 100U)
    {
        pair = small % 100U;
        small /= 100U;
        p -= 2;
        p[0] = pairs[2U * pair];
        p[1] = pairs[(2U * pair) + 1U];
    }
    if (small >= 10U)
    {
        p -= 2;
        p[0] = pairs[2U * small];
        p[1] = pairs[(2U * small) + 1U];
    }
    else
    {
        p--;
        *p = (char) ('0' + small);
    }
    return (size_t) (pEnd - p);
}

size_t DefenderReport_Utf8Length(const uint8_t *pText, size_t length)
{
    size_t sequence = 0U;
    size_t i;
    uint8_t first = pText[0];
    uint8_t low = 0x80U;
    uint8_t high = 0xBFU;

    if ((first >= 0xC2U) && (first <= 0xDFU))
    {
        sequence = 2U;
    }
    else if ((first >= 0xE0U) && (first <= 0xEFU))
    {
        sequence = 3U;
        low = (first == 0xE0U) ? 0xA0U : low;   /* No overlong forms. */
        high = (first == 0xEDU) ? 0x9FU : high; /* No surrogates. */
    }
    else if ((first >= 0xF0U) && (first <= 0xF4U))
    {
        sequence = 4U;
        low = (first == 0xF0U) ? 0x90U : low;   /* No overlong forms. */
        high = (first == 0xF4U) ? 0x8FU : high; /* Not above U+10FFFF. */
    }
    else
    {
        /* Continuation byte or invalid lead byte: sequence stays 0. */
    }
    if (sequence > length)
    {
        sequence = 0U;
    }
    for (i = 1U; i < sequence; i++)
    {
        if ((pText[i] < low) || (pText[i] > high))
        {
            sequence = 0U;
        }
        low = 0x80U;
        high = 0xBFU;
    }
    return sequence;
}

/* ---- Custom numbers ---------------------------------------------------------------- */

/**
 * @brief Multiplies by 10^exponent (one rounding when |exponent| <= 22).
 * @param[in] value The value.
 * @param[in] exponent Power of ten.
 * @return value * 10^exponent.
 */
static double ScalePow10(double value, int32_t exponent)
{
    while (exponent > POW10_TABLE_MAX)
    {
        value *= pow10Table[POW10_TABLE_MAX];
        exponent -= POW10_TABLE_MAX;
    }
    while (exponent < -POW10_TABLE_MAX)
    {
        value /= pow10Table[POW10_TABLE_MAX];
        exponent += POW10_TABLE_MAX;
    }
    return (exponent >= 0) ? (value * pow10Table[exponent]) : (value / pow10Table[-exponent]);
}

/**
 * @brief 10^exponent as an integer.
 * @param[in] exponent 0..19.
 * @return The power.
 */
static uint64_t IntegerPow10(int32_t exponent)
{
    uint64_t result = 1U;
    int32_t i;

    for (i = 0; i < exponent; i++)
    {
        result *= 10U;
    }
    return result;
}

/**
 * @brief Estimates floor(log10(magnitude)) to within one, from the binary exponent.
 * @param[in] magnitude A finite positive number.
 * @return The estimate; the true value is the estimate or one more.
 */
static int32_t EstimateExponent(double magnitude)
{
    uint64_t bits;
    int32_t binaryExponent;
    int32_t estimate;

    (void) memcpy(&bits, &magnitude, sizeof(bits));
    binaryExponent = (int32_t) ((bits >> 52) & 0x7FFU) - 1023;
    if (binaryExponent == -1023)
    {
        /* Subnormal: the binary exponent is lower still; scale by 2^64 to see it. */
        magnitude *= 18446744073709551616.0;
        (void) memcpy(&bits, &magnitude, sizeof(bits));
        binaryExponent = (int32_t) ((bits >> 52) & 0x7FFU) - 1023 - 64;
    }
    /* 78913 / 2^18 is log10(2) rounded up; floor division for negative values. */
    if (binaryExponent >= 0)
    {
        estimate = (binaryExponent * 78913) / 262144;
    }
    else
    {
        estimate = -((((-binaryExponent) * 78913) + 262143) / 262144);
    }
    return estimate;
}

/** @brief 32-bit words of a big number: 1280 bits hold every product compared. */
#define BIG_WORDS 40U

/** @brief An unsigned big number, little-endian 32-bit words, no leading zero words. */
typedef struct BigNumber
{
    uint32_t word[BIG_WORDS]; /**< Words, least significant first. */
    size_t used;              /**< Words in use. */
} BigNumber_t;

/**
 * @brief Sets a big number from 64 bits.
 * @param[out] pBig The number.
 * @param[in] value Its value.
 */
static void BigSet(BigNumber_t *pBig, uint64_t value)
{
    pBig->word[0] = (uint32_t) value;
    pBig->word[1] = (uint32_t) (value >> 32);
    pBig->used = (pBig->word[1] != 0U) ? 2U : ((pBig->word[0] != 0U) ? 1U : 0U);
}

/**
 * @brief Multiplies a big number by 10^exponent.
 * @param[in,out] pBig The number.
 * @param[in] exponent 0 or more.
 */
static void BigMulPow10(BigNumber_t *pBig, int32_t exponent)
{
    uint64_t product;
    uint32_t carry;
    uint32_t factor;
    size_t i;

    while (exponent > 0)
    {
        factor = (exponent >= 9) ? 1000000000U : (uint32_t) IntegerPow10(exponent);
        exponent -= 9;
        carry = 0U;
        for (i = 0U; i < pBig->used; i++)
        {
            product = ((uint64_t) pBig->word[i] * factor) + carry;
            pBig->word[i] = (uint32_t) product;
            carry = (uint32_t) (product >> 32);
        }
        if ((carry != 0U) && (pBig->used < BIG_WORDS))
        {
            pBig->word[pBig->used++] = carry;
        }
    }
}

/**
 * @brief Multiplies a big number by 2^bits.
 * @param[in,out] pBig The number.
 * @param[in] bits 0 or more.
 */
static void BigShift(BigNumber_t *pBig, int32_t bits)
{
    size_t words = (size_t) bits / 32U;
    uint32_t rest = (uint32_t) bits % 32U;
    uint32_t carry = 0U;
    uint32_t word;
    size_t i;

    if ((pBig->used != 0U) && ((pBig->used + words + 1U) <= BIG_WORDS))
    {
        for (i = pBig->used; i > 0U; i--)
        {
            pBig->word[i - 1U + words] = pBig->word[i - 1U];
        }
        for (i = 0U; i < words; i++)
        {
            pBig->word[i] = 0U;
        }
        pBig->used += words;
        for (i = words; (rest != 0U) && (i < pBig->used); i++)
        {
            word = pBig->word[i];
            pBig->word[i] = (word << rest) | carry;
            carry = word >> (32U - rest);
        }
        if (carry != 0U)
        {
            pBig->word[pBig->used++] = carry;
        }
    }
}

/**
 * @brief Compares decimal10 * 10^exponent10 with binary * 2^exponent2 exactly.
 * @param[in] decimal Decimal significand.
 * @param[in] exponent10 Its power of ten.
 * @param[in] binary Binary significand.
 * @param[in] exponent2 Its power of two.
 * @return Negative, 0 or positive as the first is less, equal or greater.
 */
static int32_t CompareExact(uint64_t decimal, int32_t exponent10, uint64_t binary,
                            int32_t exponent2)
{
    BigNumber_t left;
    BigNumber_t right;
    int32_t result = 0;
    size_t i;

    BigSet(&left, decimal);
    BigSet(&right, binary);
    BigMulPow10((exponent10 >= 0) ? &left : &right, (exponent10 >= 0) ? exponent10 : -exponent10);
    BigShift((exponent2 >= 0) ? &right : &left, (exponent2 >= 0) ? exponent2 : -exponent2);
    if (left.used != right.used)
    {
        result = (left.used > right.used) ? 1 : -1;
    }
    for (i = left.used; (result == 0) && (i > 0U); i--)
    {
        if (left.word[i - 1U] != right.word[i - 1U])
        {
            result = (left.word[i - 1U] > right.word[i - 1U]) ? 1 : -1;
        }
    }
    return result;
}

/**
 * @brief Splits a positive finite double into significand * 2^exponent.
 * @param[in] bits The double's bits.
 * @param[out] pExponent The power of two.
 * @return The integer significand.
 */
static uint64_t SplitDouble(uint64_t bits, int32_t *pExponent)
{
    uint64_t significand = bits & 0x000FFFFFFFFFFFFFULL;
    int32_t biased = (int32_t) (bits >> 52);

    *pExponent = (biased == 0) ? -1074 : (biased - 1075);
    return (biased == 0) ? significand : (significand | 0x0010000000000000ULL);
}

/**
 * @brief Rounds a non-whole (or above 2^53) magnitude to 15 significant digits,
 * exactly (round half to even on the exact binary value, as glibc's printf does).
 * @param[in] magnitude Finite, positive.
 * @param[out] pNumber digits and exponent are set.
 */
static void RoundDigits(double magnitude, DefenderReportNumber_t *pNumber)
{
    int32_t exponent = EstimateExponent(magnitude) + 1;
    double scaled = ScalePow10(magnitude, 14 - exponent);
    uint64_t digits;
    uint64_t bits;
    uint64_t significand;
    int32_t binaryExponent;
    int32_t upper;
    int32_t lower;
    int32_t i;

    if (scaled < (double) POW10_14)
    {
        exponent--;
        scaled = ScalePow10(magnitude, 14 - exponent);
    }
    digits = (uint64_t) (scaled + 0.5);
    (void) memcpy(&bits, &magnitude, sizeof(bits));
    significand = SplitDouble(bits, &binaryExponent);
    /* Move to the digits whose half-open interval holds the value (a few steps at
     * most: the scaling above is off by a few units in the last place). */
    for (i = 0; i < 8; i++)
    {
        if (digits >= POW10_15)
        {
            digits /= 10U;
            exponent++;
        }
        else if (digits < POW10_14)
        {
            digits = (digits * 10U) + 9U;
            exponent--;
        }
        else
        {
            /* 15 digits. */
        }
        upper = CompareExact((2U * digits) + 1U, exponent - 14, significand, binaryExponent + 1);
        lower = CompareExact((2U * digits) - 1U, exponent - 14, significand, binaryExponent + 1);
        if ((upper < 0) || ((upper == 0) && ((digits & 1U) != 0U)))
        {
            digits++;
        }
        else if ((lower > 0) || ((lower == 0) && ((digits & 1U) != 0U)))
        {
            digits--;
        }
        else
        {
            i = 8;
        }
    }
    if ((exponent == 308) && (digits > LARGEST_DIGITS))
    {
        /* Rounding up would leave the double range: keep the text finite. */
        digits = LARGEST_DIGITS;
    }
    pNumber->digits = digits;
    pNumber->exponent = exponent;
}

/**
 * @brief The double nearest to digits * 10^(exponent - 14) (as strtod gives it).
 * @param[in] digits 15-digit significand.
 * @param[in] exponent Decimal exponent of the first digit.
 * @return The double (infinite above the double range).
 */
static double NearestDouble(uint64_t digits, int32_t exponent)
{
    double result = ScalePow10((double) digits, exponent - 14);
    uint64_t bits;
    uint64_t significand;
    int32_t binaryExponent;
    int32_t upper;
    int32_t lower;
    int32_t i;
    bool halved;

    (void) memcpy(&bits, &result, sizeof(bits));
    for (i = 0; (i < 8) && ((bits >> 52) < 0x7FFU); i++)
    {
        significand = SplitDouble(bits, &binaryExponent);
        /* Midpoints to the neighbours; below a power of two the spacing halves. */
        upper = CompareExact(digits, exponent - 14, (2U * significand) + 1U, binaryExponent - 1);
        halved = (significand == 0x0010000000000000ULL) && ((bits >> 52) > 1U);
        lower = (significand == 0U)
                    ? 1
                    : CompareExact(digits, exponent - 14,
                                   halved ? ((4U * significand) - 1U) : ((2U * significand) - 1U),
                                   binaryExponent - (halved ? 2 : 1));
        if ((upper > 0) || ((upper == 0) && ((significand & 1U) != 0U)))
        {
            bits++;
        }
        else if ((lower < 0) || ((lower == 0) && ((significand & 1U) != 0U)))
        {
            bits--;
        }
        else
        {
            i = 8;
        }
    }
    (void) memcpy(&result, &bits, sizeof(bits));
    return result;
}

void DefenderReport_RoundNumber(double value, DefenderReportNumber_t *pNumber)
{
    double magnitude = (value < 0.0) ? -value : value;
    uint64_t whole;
    uint64_t power;
    uint32_t last;

    pNumber->negative = value < 0.0;
    pNumber->isInteger = false;
    pNumber->integer = 0U;
    if (magnitude <= (double) MAX_WHOLE)
    {
        whole = (uint64_t) magnitude;
        if ((double) whole == magnitude)
        {
            /* Whole: round to 15 digits (half to even) in integer arithmetic. */
            if (whole >= POW10_15)
            {
                last = (uint32_t) (whole % 10U);
                whole /= 10U;
                if ((last > 5U) || ((last == 5U) && ((whole & 1U) != 0U)))
                {
                    whole++;
                }
                whole *= 10U;
            }
            pNumber->isInteger = true;
            pNumber->integer = whole;
        }
    }
    if (pNumber->isInteger)
    {
        pNumber->rounded = (double) pNumber->integer;
    }
    else
    {
        RoundDigits(magnitude, pNumber);
        if ((pNumber->exponent >= 0) && (pNumber->exponent <= 14))
        {
            /* Rounding may have made it whole (0.99999999999999999 -> 1). */
            power = IntegerPow10(14 - pNumber->exponent);
            if ((pNumber->digits % power) == 0U)
            {
                pNumber->isInteger = true;
                pNumber->integer = pNumber->digits / power;
            }
        }
        else if (pNumber->exponent == 15)
        {
            /* Above 2^53 before rounding, possibly not after. */
            if ((pNumber->digits * 10U) <= MAX_WHOLE)
            {
                pNumber->isInteger = true;
                pNumber->integer = pNumber->digits * 10U;
            }
        }
        else
        {
            /* Not whole, or whole above 2^53. */
        }
        pNumber->rounded = pNumber->isInteger ? (double) pNumber->integer
                                              : NearestDouble(pNumber->digits, pNumber->exponent);
    }
    if (pNumber->isInteger && (pNumber->integer == 0U))
    {
        pNumber->negative = false;
    }
    if (pNumber->negative)
    {
        pNumber->rounded = -pNumber->rounded;
    }
}

/* ---- Writer dispatch --------------------------------------------------------------- */

/**
 * @brief Opens a map or array.
 * @param[in,out] pWriter The writer.
 * @param[in] major DEFENDER_CBOR_MAP or DEFENDER_CBOR_ARRAY.
 * @param[in] count Number of pairs or items (CBOR only).
 */
static void Open(DefenderReportWriter_t *pWriter, uint8_t major, size_t count)
{
    if (pWriter->cbor)
    {
        DefenderReportCbor_Head(pWriter, major, count);
    }
    else
    {
        DefenderReportJson_Open(pWriter, (major == DEFENDER_CBOR_MAP) ? '{' : '[');
    }
}

/**
 * @brief Closes a map or array (JSON only; CBOR lengths are definite).
 * @param[in,out] pWriter The writer.
 * @param[in] major DEFENDER_CBOR_MAP or DEFENDER_CBOR_ARRAY.
 */
static void Close(DefenderReportWriter_t *pWriter, uint8_t major)
{
    if (!pWriter->cbor)
    {
        DefenderReportJson_Close(pWriter, (major == DEFENDER_CBOR_MAP) ? '}' : ']');
    }
}

/**
 * @brief Writes a key given as text.
 * @param[in,out] pWriter The writer.
 * @param[in] pText Key.
 * @param[in] length Its length.
 */
static void KeyText(DefenderReportWriter_t *pWriter, const char *pText, size_t length)
{
    if (pWriter->cbor)
    {
        DefenderReportCbor_String(pWriter, pText, length);
    }
    else
    {
        DefenderReportJson_Key(pWriter, pText, length);
    }
}

/**
 * @brief Writes a key of the key table in the writer's style.
 * @param[in,out] pWriter The writer.
 * @param[in] key The key.
 */
static void Key(DefenderReportWriter_t *pWriter, ReportKey_t key)
{
    const KeyText_t *pKey = &keyTable[key];
    size_t style = pWriter->shortKeys ? 1U : 0U;

    if (pWriter->cbor)
    {
        /* The text between the quotes. */
        DefenderReportCbor_String(pWriter, &pKey->pText[style][1], pKey->length[style] - 3U);
    }
    else
    {
        DefenderReportJson_Token(pWriter, pKey->pText[style], pKey->length[style]);
    }
}

/**
 * @brief Writes a string value.
 * @param[in,out] pWriter The writer.
 * @param[in] pText Text.
 * @param[in] length Its length.
 */
static void String(DefenderReportWriter_t *pWriter, const char *pText, size_t length)
{
    if (pWriter->cbor)
    {
        DefenderReportCbor_String(pWriter, pText, length);
    }
    else
    {
        DefenderReportJson_String(pWriter, pText, length);
    }
}

/**
 * @brief Writes an integer value, clamped to 2^63-1 (PD-3).
 * @param[in,out] pWriter The writer.
 * @param[in] value The value.
 */
static void Uint(DefenderReportWriter_t *pWriter, uint64_t value)
{
    uint64_t clamped = (value > MAX_INT63) ? MAX_INT63 : value;

    if (pWriter->cbor)
    {
        DefenderReportCbor_Head(pWriter, DEFENDER_CBOR_UINT, clamped);
    }
    else
    {
        DefenderReportJson_Uint(pWriter, clamped);
    }
}

/**
 * @brief Writes a key followed by an integer value.
 * @param[in,out] pWriter The writer.
 * @param[in] key The key.
 * @param[in] value The value.
 */
static void KeyUint(DefenderReportWriter_t *pWriter, ReportKey_t key, uint64_t value)
{
    Key(pWriter, key);
    Uint(pWriter, value);
}

/**
 * @brief Writes a custom number (rounded to 15 significant digits).
 * @param[in,out] pWriter The writer.
 * @param[in] value A finite number.
 */
static void Number(DefenderReportWriter_t *pWriter, double value)
{
    DefenderReportNumber_t number;

    DefenderReport_RoundNumber(value, &number);
    if (pWriter->cbor)
    {
        DefenderReportCbor_Number(pWriter, &number);
    }
    else
    {
        DefenderReportJson_Number(pWriter, &number);
    }
}

/* ---- Report walk ------------------------------------------------------------------- */

/**
 * @brief Length of a text, at most `maximum`.
 * @param[in] pText Text (NUL-terminated, or `maximum` bytes long).
 * @param[in] maximum Bytes that may be read.
 * @return The length.
 */
static size_t TextLength(const char *pText, size_t maximum)
{
    size_t length = 0U;

    while ((length < maximum) && (pText[length] != '\0'))
    {
        length++;
    }
    return length;
}

/**
 * @brief Writes one listening port entry (`interface`, `port`). Port 0 is no valid
 * listener (PD-3): it means unknown and is omitted, as AWS allows (PD-9).
 * @param[in,out] pWriter The writer.
 * @param[in] pPort The entry.
 */
static void EncodePort(DefenderReportWriter_t *pWriter, const DefenderListeningPort_t *pPort)
{
    size_t nameLength = TextLength(pPort->interfaceName, sizeof(pPort->interfaceName));

    Open(pWriter, DEFENDER_CBOR_MAP,
         ((nameLength != 0U) ? 1U : 0U) + ((pPort->port != 0U) ? 1U : 0U));
    if (nameLength != 0U)
    {
        Key(pWriter, KEY_INTERFACE);
        String(pWriter, pPort->interfaceName, nameLength);
    }
    if (pPort->port != 0U)
    {
        KeyUint(pWriter, KEY_PORT, pPort->port);
    }
    Close(pWriter, DEFENDER_CBOR_MAP);
}

/**
 * @brief Writes one connection entry (`local_interface`, `local_port`, `remote_addr`).
 * An established connection never has local port 0: 0 means unknown and `local_port`
 * (optional, 2.1) is omitted, as in vector V1.
 * @param[in,out] pWriter The writer.
 * @param[in] pConnection The entry.
 */
static void EncodeConnection(DefenderReportWriter_t *pWriter,
                             const DefenderConnection_t *pConnection)
{
    char address[DEFENDER_REPORT_ADDRESS_TEXT_SIZE];
    size_t nameLength =
        TextLength(pConnection->localInterface, sizeof(pConnection->localInterface));
    size_t addressLength =
        DefenderReport_FormatRemote(&pConnection->remoteAddress, pConnection->remotePort, address);

    if (addressLength == 0U)
    {
        pWriter->invalid = true;
    }
    Open(pWriter, DEFENDER_CBOR_MAP,
         1U + ((nameLength != 0U) ? 1U : 0U) + ((pConnection->localPort != 0U) ? 1U : 0U));
    if (nameLength != 0U)
    {
        Key(pWriter, KEY_LOCAL_INTERFACE);
        String(pWriter, pConnection->localInterface, nameLength);
    }
    if (pConnection->localPort != 0U)
    {
        KeyUint(pWriter, KEY_LOCAL_PORT, pConnection->localPort);
    }
    Key(pWriter, KEY_REMOTE_ADDR);
    String(pWriter, address, addressLength);
    Close(pWriter, DEFENDER_CBOR_MAP);
}

/**
 * @brief Writes entry `index` of a list.
 * @param[in,out] pWriter The writer.
 * @param[in] pContent The report.
 * @param[in] list LIST_CONNECTIONS, LIST_TCP_PORTS or LIST_UDP_PORTS.
 * @param[in] index Entry index.
 */
static void EncodeEntry(DefenderReportWriter_t *pWriter, const DefenderReportContent_t *pContent,
                        size_t list, size_t index)
{
    if (list == LIST_CONNECTIONS)
    {
        EncodeConnection(pWriter, &pContent->connections.pEntries[index]);
    }
    else if (list == LIST_TCP_PORTS)
    {
        EncodePort(pWriter, &pContent->tcpPorts.pEntries[index]);
    }
    else
    {
        EncodePort(pWriter, &pContent->udpPorts.pEntries[index]);
    }
}

/**
 * @brief Writes a list block: `{list: [...], total}` (the list omitted when empty).
 * @param[in,out] pWriter The writer.
 * @param[in] pContent The report.
 * @param[in] list LIST_CONNECTIONS, LIST_TCP_PORTS or LIST_UDP_PORTS.
 * @param[in] listed Entries to list.
 * @param[in] total The true total.
 */
static void EncodeList(DefenderReportWriter_t *pWriter, const DefenderReportContent_t *pContent,
                       size_t list, size_t listed, uint64_t total)
{
    size_t i;

    Open(pWriter, DEFENDER_CBOR_MAP, (listed != 0U) ? 2U : 1U);
    if (listed != 0U)
    {
        Key(pWriter, (list == LIST_CONNECTIONS) ? KEY_CONNECTIONS : KEY_PORTS);
        Open(pWriter, DEFENDER_CBOR_ARRAY, listed);
        for (i = 0U; i < listed; i++)
        {
            EncodeEntry(pWriter, pContent, list, i);
        }
        Close(pWriter, DEFENDER_CBOR_ARRAY);
    }
    KeyUint(pWriter, KEY_TOTAL, total);
    Close(pWriter, DEFENDER_CBOR_MAP);
}

/**
 * @brief Writes the value of one custom metric: `[{<value key>: value}]`.
 * @param[in,out] pWriter The writer.
 * @param[in] pMetric The metric.
 */
static void EncodeCustomValue(DefenderReportWriter_t *pWriter,
                              const DefenderCustomMetricValue_t *pMetric)
{
    const DefenderCustomValue_t *pValue = &pMetric->value;
    size_t i;

    Open(pWriter, DEFENDER_CBOR_ARRAY, 1U);
    Open(pWriter, DEFENDER_CBOR_MAP, 1U);
    Key(pWriter, (ReportKey_t) customValueKey[pMetric->type]);
    if (pMetric->type == DEFENDER_CUSTOM_NUMBER)
    {
        Number(pWriter, pValue->number);
    }
    else
    {
        Open(pWriter, DEFENDER_CBOR_ARRAY, pValue->count);
        for (i = 0U; i < pValue->count; i++)
        {
            if (pMetric->type == DEFENDER_CUSTOM_NUMBER_LIST)
            {
                Number(pWriter, pValue->pNumbers[i]);
            }
            else
            {
                String(pWriter, pValue->ppStrings[i], TextLength(pValue->ppStrings[i], SIZE_MAX));
            }
        }
        Close(pWriter, DEFENDER_CBOR_ARRAY);
    }
    Close(pWriter, DEFENDER_CBOR_MAP);
    Close(pWriter, DEFENDER_CBOR_ARRAY);
}

/**
 * @brief Tells whether the report has a `metrics` map (10.8).
 * @param[in] pContent The report.
 * @return true when `metrics` is written.
 */
static bool HasMetrics(const DefenderReportContent_t *pContent)
{
    return ((pContent->groups & DEFENDER_METRIC_ALL) != 0U) || (pContent->customCount == 0U) ||
           pContent->emitEmptyMetrics;
}

/**
 * @brief Writes the `metrics` map.
 * @param[in,out] pWriter The writer.
 * @param[in] pContent The report.
 * @param[in] pListed Entries to list per list.
 */
static void EncodeMetrics(DefenderReportWriter_t *pWriter, const DefenderReportContent_t *pContent,
                          const size_t *pListed)
{
    uint32_t groups = pContent->groups & DEFENDER_METRIC_ALL;
    const DefenderNetworkStats_t *pStats = &pContent->networkStats;
    size_t count = 0U;
    uint32_t bits;

    for (bits = groups; bits != 0U; bits &= bits - 1U)
    {
        count++;
    }
    Key(pWriter, KEY_METRICS);
    Open(pWriter, DEFENDER_CBOR_MAP, count);
    if ((groups & DEFENDER_METRIC_LISTENING_TCP_PORTS) != 0U)
    {
        Key(pWriter, KEY_TCP_PORTS);
        EncodeList(pWriter, pContent, LIST_TCP_PORTS, pListed[LIST_TCP_PORTS],
                   pContent->tcpPorts.total);
    }
    if ((groups & DEFENDER_METRIC_LISTENING_UDP_PORTS) != 0U)
    {
        Key(pWriter, KEY_UDP_PORTS);
        EncodeList(pWriter, pContent, LIST_UDP_PORTS, pListed[LIST_UDP_PORTS],
                   pContent->udpPorts.total);
    }
    if ((groups & DEFENDER_METRIC_NETWORK_STATS) != 0U)
    {
        Key(pWriter, KEY_NETWORK_STATS);
        Open(pWriter, DEFENDER_CBOR_MAP, 4U);
        KeyUint(pWriter, KEY_BYTES_IN, pStats->bytesIn);
        KeyUint(pWriter, KEY_BYTES_OUT, pStats->bytesOut);
        KeyUint(pWriter, KEY_PACKETS_IN, pStats->packetsIn);
        KeyUint(pWriter, KEY_PACKETS_OUT, pStats->packetsOut);
        Close(pWriter, DEFENDER_CBOR_MAP);
    }
    if ((groups & DEFENDER_METRIC_TCP_CONNECTIONS) != 0U)
    {
        Key(pWriter, KEY_TCP_CONNECTIONS);
        Open(pWriter, DEFENDER_CBOR_MAP, 1U);
        Key(pWriter, KEY_ESTABLISHED);
        EncodeList(pWriter, pContent, LIST_CONNECTIONS, pListed[LIST_CONNECTIONS],
                   pContent->connections.total);
        Close(pWriter, DEFENDER_CBOR_MAP);
    }
    Close(pWriter, DEFENDER_CBOR_MAP);
}

/**
 * @brief Writes the whole report in the emission order of 10.8.
 * @param[in,out] pWriter The writer.
 * @param[in] pContent The report (validated).
 * @param[in] pListed Entries to list per list.
 */
static void EncodeReport(DefenderReportWriter_t *pWriter, const DefenderReportContent_t *pContent,
                         const size_t *pListed)
{
    bool hasMetrics = HasMetrics(pContent);
    bool hasCustom = pContent->customCount != 0U;
    size_t i;

    Open(pWriter, DEFENDER_CBOR_MAP, 1U + (hasMetrics ? 1U : 0U) + (hasCustom ? 1U : 0U));
    Key(pWriter, KEY_HEADER);
    Open(pWriter, DEFENDER_CBOR_MAP, 2U);
    KeyUint(pWriter, KEY_REPORT_ID, pContent->reportId);
    Key(pWriter, KEY_VERSION);
    String(pWriter, "1.0", 3U);
    Close(pWriter, DEFENDER_CBOR_MAP);
    if (hasMetrics)
    {
        EncodeMetrics(pWriter, pContent, pListed);
    }
    if (hasCustom)
    {
        Key(pWriter, KEY_CUSTOM_METRICS);
        Open(pWriter, DEFENDER_CBOR_MAP, pContent->customCount);
        for (i = 0U; i < pContent->customCount; i++)
        {
            KeyText(pWriter, pContent->pCustom[i].pName,
                    TextLength(pContent->pCustom[i].pName, SIZE_MAX));
            EncodeCustomValue(pWriter, &pContent->pCustom[i]);
        }
        Close(pWriter, DEFENDER_CBOR_MAP);
    }
    Close(pWriter, DEFENDER_CBOR_MAP);
}

/* ---- Fitting ------------------------------------------------------------------------ */

/**
 * @brief Size of a CBOR head for an argument.
 * @param[in] argument The argument.
 * @return 1, 2, 3, 5 or 9.
 */
static size_t CborHeadSize(uint64_t argument)
{
    size_t size = 9U;

    if (argument < 24U)
    {
        size = 1U;
    }
    else if (argument <= 0xFFU)
    {
        size = 2U;
    }
    else if (argument <= 0xFFFFU)
    {
        size = 3U;
    }
    else if (argument <= 0xFFFFFFFFU)
    {
        size = 5U;
    }
    else
    {
        /* 8 argument bytes. */
    }
    return size;
}

/**
 * @brief Bytes saved by listing `listed - 1` instead of `listed` entries of a list.
 * @param[in] pWriter The real writer (format and key style).
 * @param[in] pContent The report.
 * @param[in] list LIST_CONNECTIONS, LIST_TCP_PORTS or LIST_UDP_PORTS.
 * @param[in] listed Entries listed now (>= 1).
 * @return The saving.
 */
static size_t DropSaving(const DefenderReportWriter_t *pWriter,
                         const DefenderReportContent_t *pContent, size_t list, size_t listed)
{
    DefenderReportWriter_t counter = {NULL, 0U, 0U, false, false, false, false};
    const KeyText_t *pKey = &keyTable[(list == LIST_CONNECTIONS) ? KEY_CONNECTIONS : KEY_PORTS];
    size_t keyLength = pKey->length[pWriter->shortKeys ? 1U : 0U] - 3U;
    size_t saving;

    counter.cbor = pWriter->cbor;
    counter.shortKeys = pWriter->shortKeys;
    EncodeEntry(&counter, pContent, list, listed - 1U);
    saving = counter.length;
    if (pWriter->cbor)
    {
        /* Last entry: the array head and the key text head + text go too. */
        saving += (listed > 1U) ? (CborHeadSize(listed) - CborHeadSize(listed - 1U))
                                : (1U + 1U + keyLength);
    }
    else
    {
        /* The comma before it; or for the last one `"key":[` `]` and the comma. */
        saving += (listed > 1U) ? 1U : (keyLength + 6U);
    }
    return saving;
}

/**
 * @brief Drops list entries, longest listed list first, until the size fits.
 * @param[in] pWriter The writer after the first pass (length = full size).
 * @param[in] pContent The report.
 * @param[in,out] pListed Entries listed per list.
 * @return The size of the report with the new counts (> bufferSize when even no
 *         entries do not fit).
 */
static size_t FitLists(const DefenderReportWriter_t *pWriter,
                       const DefenderReportContent_t *pContent, size_t *pListed)
{
    size_t size = pWriter->length;
    size_t longest;
    size_t list;

    while ((size > pWriter->bufferSize) && ((pListed[0] | pListed[1] | pListed[2]) != 0U))
    {
        longest = 0U;
        for (list = 1U; list < 3U; list++)
        {
            if (pListed[list] > pListed[longest])
            {
                longest = list;
            }
        }
        size -= DropSaving(pWriter, pContent, longest, pListed[longest]);
        pListed[longest]--;
    }
    return size;
}

/**
 * @brief Checks one list: count <= total, entries present.
 * @param[in] pEntries Entries.
 * @param[in] count Listed.
 * @param[in] total True total.
 * @return true when valid.
 */
static bool ListValid(const void *pEntries, size_t count, uint64_t total)
{
    return ((uint64_t) count <= total) && ((pEntries != NULL) || (count == 0U));
}

/**
 * @brief Tells whether a number is finite (not NaN, not infinite).
 * @param[in] value The number.
 * @return true when finite.
 */
static bool IsFinite(double value)
{
    return (value - value) == 0.0;
}

/**
 * @brief Checks the custom metrics enough to encode them safely.
 * @param[in] pContent The report.
 * @return true when they can be encoded.
 */
static bool CustomValid(const DefenderReportContent_t *pContent)
{
    const DefenderCustomMetricValue_t *pMetric;
    size_t i;
    size_t j;
    bool valid = (pContent->pCustom != NULL) || (pContent->customCount == 0U);

    for (i = 0U; valid && (i < pContent->customCount); i++)
    {
        pMetric = &pContent->pCustom[i];
        valid = (pMetric->pName != NULL) && ((uint32_t) pMetric->type <= DEFENDER_CUSTOM_IP_LIST);
        if (valid && (pMetric->type == DEFENDER_CUSTOM_NUMBER))
        {
            valid = IsFinite(pMetric->value.number);
        }
        else if (valid && (pMetric->type == DEFENDER_CUSTOM_NUMBER_LIST))
        {
            valid = (pMetric->value.pNumbers != NULL) || (pMetric->value.count == 0U);
            for (j = 0U; valid && (j < pMetric->value.count); j++)
            {
                valid = IsFinite(pMetric->value.pNumbers[j]);
            }
        }
        else if (valid)
        {
            valid = (pMetric->value.ppStrings != NULL) || (pMetric->value.count == 0U);
            for (j = 0U; valid && (j < pMetric->value.count); j++)
            {
                valid = pMetric->value.ppStrings[j] != NULL;
            }
        }
        else
        {
            /* Invalid already. */
        }
    }
    return valid;
}

/**
 * @brief Checks the encoder's parameters.
 * @param[in] pContent The report.
 * @param[in] format Format.
 * @param[in] keys Key style.
 * @return true when valid.
 */
static bool ContentValid(const DefenderReportContent_t *pContent, DefenderFormat_t format,
                         DefenderKeyStyle_t keys)
{
    return ((format == DEFENDER_FORMAT_JSON) || (format == DEFENDER_FORMAT_CBOR)) &&
           ((keys == DEFENDER_KEYS_LONG) || (keys == DEFENDER_KEYS_SHORT)) &&
           (pContent->reportId != 0U) && (pContent->reportId <= MAX_INT63) &&
           ListValid(pContent->connections.pEntries, pContent->connections.count,
                     pContent->connections.total) &&
           ListValid(pContent->tcpPorts.pEntries, pContent->tcpPorts.count,
                     pContent->tcpPorts.total) &&
           ListValid(pContent->udpPorts.pEntries, pContent->udpPorts.count,
                     pContent->udpPorts.total) &&
           CustomValid(pContent);
}

DefenderStatus_t Defender_EncodeReport(const DefenderReportContent_t *pContent,
                                       DefenderFormat_t format, DefenderKeyStyle_t keys,
                                       uint8_t *pBuffer, size_t bufferSize, size_t *pLength,
                                       size_t pListed[3])
{
    DefenderStatus_t status = DEFENDER_BAD_PARAMETER;
    DefenderReportWriter_t writer = {NULL, 0U, 0U, false, false, false, false};
    size_t listed[3] = {0U, 0U, 0U};
    size_t size;

    if ((pContent != NULL) && (pBuffer != NULL) && (pLength != NULL) &&
        ContentValid(pContent, format, keys))
    {
        if ((pContent->groups & DEFENDER_METRIC_TCP_CONNECTIONS) != 0U)
        {
            listed[LIST_CONNECTIONS] = pContent->connections.count;
        }
        if ((pContent->groups & DEFENDER_METRIC_LISTENING_TCP_PORTS) != 0U)
        {
            listed[LIST_TCP_PORTS] = pContent->tcpPorts.count;
        }
        if ((pContent->groups & DEFENDER_METRIC_LISTENING_UDP_PORTS) != 0U)
        {
            listed[LIST_UDP_PORTS] = pContent->udpPorts.count;
        }
        writer.pBuffer = pBuffer;
        writer.bufferSize = bufferSize;
        writer.cbor = (format == DEFENDER_FORMAT_CBOR);
        writer.shortKeys = (keys == DEFENDER_KEYS_SHORT);
        EncodeReport(&writer, pContent, listed);
        status = writer.invalid ? DEFENDER_BAD_PARAMETER : DEFENDER_SUCCESS;
        if ((status == DEFENDER_SUCCESS) && (writer.length > bufferSize))
        {
            size = FitLists(&writer, pContent, listed);
            if (size > bufferSize)
            {
                status = DEFENDER_BUFFER_TOO_SMALL;
            }
            else
            {
                writer.length = 0U;
                writer.comma = false;
                EncodeReport(&writer, pContent, listed);
                DEFENDER_ASSERT(writer.length == size);
                /* Fail closed should the size prediction ever be wrong. */
                status = (writer.length > bufferSize) ? DEFENDER_BUFFER_TOO_SMALL : status;
            }
        }
    }
    if (status == DEFENDER_SUCCESS)
    {
        *pLength = writer.length;
    }
    else
    {
        listed[0] = 0U;
        listed[1] = 0U;
        listed[2] = 0U;
    }
    if (pListed != NULL)
    {
        (void) memcpy(pListed, listed, sizeof(listed));
    }
    return status;
}

/* ---- Custom metric validation ------------------------------------------------------ */

/**
 * @brief Tells whether a character is one of `[A-Za-z0-9:_-]`.
 * @param[in] c Character.
 * @return true when it is.
 */
static bool NameChar(char c)
{
    return ((c >= 'a') && (c <= 'z')) || ((c >= 'A') && (c <= 'Z')) || ((c >= '0') && (c <= '9')) ||
           (c == ':') || (c == '_') || (c == '-');
}

bool Defender_CustomMetricNameValid(const char *pName, size_t length)
{
    bool valid = (pName != NULL) && (length >= 1U) && (length <= 128U);
    size_t i;

    for (i = 0U; valid && (i < length); i++)
    {
        valid = NameChar(pName[i]);
    }
    if (valid && (length >= 4U))
    {
        valid = memcmp(pName, "aws:", 4U) != 0;
    }
    return valid;
}

/**
 * @brief Checks a string-list entry: `^[A-Za-z0-9:_./-]+$`.
 * @param[in] pText NUL-terminated text.
 * @return true when it conforms.
 */
static bool ListStringValid(const char *pText)
{
    size_t i = 0U;

    while (NameChar(pText[i]) || (pText[i] == '.') || (pText[i] == '/'))
    {
        i++;
    }
    return (i != 0U) && (pText[i] == '\0');
}

bool Defender_CustomMetricValueValid(DefenderCustomMetricType_t type,
                                     const DefenderCustomValue_t *pValue)
{
    bool valid = (pValue != NULL);
    size_t i;

    if (valid && (type == DEFENDER_CUSTOM_NUMBER))
    {
        valid = IsFinite(pValue->number);
    }
    else if (valid && (type == DEFENDER_CUSTOM_NUMBER_LIST))
    {
        valid = (pValue->pNumbers != NULL) || (pValue->count == 0U);
        for (i = 0U; valid && (i < pValue->count); i++)
        {
            valid = IsFinite(pValue->pNumbers[i]);
        }
    }
    else if (valid && ((type == DEFENDER_CUSTOM_STRING_LIST) || (type == DEFENDER_CUSTOM_IP_LIST)))
    {
        valid = (pValue->ppStrings != NULL) || (pValue->count == 0U);
        for (i = 0U; valid && (i < pValue->count); i++)
        {
            valid = pValue->ppStrings[i] != NULL;
            if (valid && (type == DEFENDER_CUSTOM_STRING_LIST))
            {
                valid = ListStringValid(pValue->ppStrings[i]);
            }
            else if (valid)
            {
                /* 46 bytes read at most: longer texts are invalid anyway. */
                valid = Defender_ParseIpAddress(pValue->ppStrings[i],
                                                TextLength(pValue->ppStrings[i], 46U), NULL);
            }
            else
            {
                /* NULL entry. */
            }
        }
    }
    else
    {
        valid = false;
    }
    return valid;
}
