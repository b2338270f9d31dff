/**
 * @file defender_report_json.c
 * @brief Custom numbers: rounding to 15 significant digits (section 3) and their JSON
 * text as `%.15g` writes it, or their CBOR value.
 *
 * With DEFENDER_CONFIG_EXACT_NUMBER_TEXT 1 the digits are those of glibc's `%.15g`
 * (round half to even on the exact binary value, decided with big-number comparisons)
 * and the CBOR double is the one strtod() gives for the text. With 0 a short scaling
 * loop in double arithmetic yields the digits; see the option for the difference.
 */
#include <string.h>

#include "private/defender_report_private.h"

/** @brief The encoder needs IEEE 754 binary64 doubles. */
typedef char DefenderDoubleIs64Bits_t[(sizeof(double) == sizeof(uint64_t)) ? 1 : -1];

/* Custom metrics are the only numbers written this way: a build without them
 * (DEFENDER_CONFIG_MAX_CUSTOM_METRICS 0) has none of this file's code. */
#if DEFENDER_CONFIG_MAX_CUSTOM_METRICS > 0

/** @brief 2^53: larger whole numbers are encoded as floats. */
#define MAX_WHOLE 9007199254740992.0

/** @brief 10^14 and 10^15, the range of 15-digit significands. */
#define POW10_14 100000000000000ULL
#define POW10_15 1000000000000000ULL

/** @brief 15 digits of the largest double rounded down (1.79769313486231e308). */
#define LARGEST_DIGITS 179769313486231ULL

/** @brief Significant digits of a custom number (section 3). */
#define NUMBER_DIGITS 15

/** @brief Longest number text: "-" 15 digits "." "e-308" or "-0.0000" 15 digits. */
#define NUMBER_TEXT_SIZE 32U

/**
 * @brief Multiplies by 10^exponent, in steps of at most 10^22 (exact powers; one
 * rounding when |exponent| <= 22).
 * @param[in] value The value.
 * @param[in] exponent Power of ten.
 * @return value * 10^exponent.
 */
static double ScalePow10(double value, int32_t exponent)
{
    uint32_t left = (exponent < 0) ? (uint32_t) -exponent : (uint32_t) exponent;
    uint32_t step;
    uint32_t i;
    double power;

    while (left != 0U)
    {
        step = (left > 22U) ? 22U : left;
        power = 1.0;
        for (i = 0U; i < step; i++)
        {
            power *= 10.0;
        }
        value = (exponent < 0) ? (value / power) : (value * power);
        left -= step;
    }
    return value;
}

/**
 * @brief Estimates floor(log10(magnitude)) from the binary exponent: the true value is
 * the estimate or one more (subnormal numbers: with DEFENDER_CONFIG_EXACT_NUMBER_TEXT 0
 * the estimate may be higher, up to 16 more; the compact rounding only needs an
 * estimate that is not too low).
 * @param[in] magnitude A finite positive number.
 * @return The estimate.
 */
static int32_t EstimateExponent(double magnitude)
{
    uint64_t bits;
    int32_t binaryExponent;

    (void) memcpy(&bits, &magnitude, sizeof(bits));
    binaryExponent = (int32_t) ((bits >> 52) & 0x7FFU) - 1023;
#if DEFENDER_CONFIG_EXACT_NUMBER_TEXT
    if (binaryExponent == -1023)
    {
        /* Subnormal: the binary exponent is lower still; scale by 2^64 to see it. */
        magnitude *= 18446744073709551616.0;
        (void) memcpy(&bits, &magnitude, sizeof(bits));
        binaryExponent = (int32_t) ((bits >> 52) & 0x7FFU) - 1023 - 64;
    }
#endif
    /* 78913 / 2^18 is log10(2) rounded up; the floor of the quotient, taken on a value
     * made positive by adding 1100 * 2^18. */
    return (int32_t) ((uint32_t) ((binaryExponent * 78913) + (1100 * 262144)) >> 18) - 1100;
}

#if DEFENDER_CONFIG_EXACT_NUMBER_TEXT

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

/**
 * @brief Rounds a non-whole (or above 2^53) magnitude to 15 significant digits,
 * exactly (round half to even on the exact binary value, as glibc's printf does).
 * @param[in] magnitude Finite, positive.
 * @param[out] pNumber digits, exponent and rounded (the nearest double) are set.
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
    pNumber->rounded = NearestDouble(digits, exponent);
}

#else /* DEFENDER_CONFIG_EXACT_NUMBER_TEXT */

/**
 * @brief Rounds a magnitude to 15 significant digits in double arithmetic: scaled by an
 * exact power of ten (one rounding when the scale is at most 10^22) and rounded half up,
 * which may differ from the exact value's rounding in the last digit. The rounded value
 * is then digits * 10^(exponent - 14): the nearest double when |exponent - 14| <= 22,
 * else within one unit in the last place. One scaling call serves both steps.
 * @param[in] magnitude Finite, positive.
 * @param[out] pNumber digits, exponent and rounded are set.
 */
static void RoundDigits(double magnitude, DefenderReportNumber_t *pNumber)
{
    /* The estimate or one more is floor(log10(magnitude)): try the larger first. */
    int32_t exponent = EstimateExponent(magnitude) + 2;
    uint64_t digits = 0U;
    double value = magnitude;
    double scaled;
    bool rounding = true;
    bool done = false;

    do
    {
        if (rounding)
        {
            exponent--;
        }
        scaled = ScalePow10(value, rounding ? (14 - exponent) : (exponent - 14));
        done = !rounding;
        if (rounding)
        {
            digits = (uint64_t) (scaled + 0.5);
        }
        if (rounding && (digits >= POW10_14))
        {
            if (digits >= POW10_15)
            {
                /* Rounded up to 10^15. */
                digits = POW10_14;
                exponent++;
            }
            if ((exponent == 308) && (digits > LARGEST_DIGITS))
            {
                /* Rounding up would leave the double range: keep the text finite. */
                digits = LARGEST_DIGITS;
            }
            /* Then the double of the digits. */
            value = (double) digits;
            rounding = false;
        }
    } while (!done);
    pNumber->digits = digits;
    pNumber->exponent = exponent;
    pNumber->rounded = scaled;
}

#endif /* DEFENDER_CONFIG_EXACT_NUMBER_TEXT */

void DefenderReport_RoundNumber(double value, DefenderReportNumber_t *pNumber)
{
    uint64_t bits;
    bool negative;
    double magnitude;
    double limit = (double) (POW10_15 - 1U);
    uint32_t pass;

    /* Negative: the sign bit of a non-zero number (-0.0 is not below 0.0). */
    (void) memcpy(&bits, &value, sizeof(bits));
    negative = ((bits >> 63) != 0U) && ((bits << 1) != 0U);
    magnitude = negative ? -value : value;
    (void) memset(pNumber, 0, sizeof(*pNumber));
    pNumber->rounded = magnitude;
    /* Pass 0: whole with at most 15 digits is already rounded, else it is rounded here.
     * Pass 1: whole (also after rounding: 0.99999999999999999 -> 1, 2^53 + 2 -> ...990)
     * at most 2^53 (a value whole at pass 0 stays so). */
    for (pass = 0U; pass < 2U; pass++)
    {
        pNumber->isInteger = (pNumber->rounded <= limit) &&
                             ((double) (uint64_t) pNumber->rounded == pNumber->rounded);
        if (!pNumber->isInteger && (pass == 0U))
        {
            RoundDigits(magnitude, pNumber);
        }
        limit = MAX_WHOLE;
    }
    if (pNumber->isInteger)
    {
        pNumber->integer = (uint64_t) pNumber->rounded;
    }
    /* Negative unless zero (an integer 0 is written without sign). */
    pNumber->negative = negative && !(pNumber->isInteger && (pNumber->integer == 0U));
    if (pNumber->negative)
    {
        pNumber->rounded = -pNumber->rounded;
    }
}

/**
 * @brief Writes a rounded number's text as `%.15g` does (integers as integer text):
 * digits with the point inside (`12.5`), after leading zeros (`0.0001`), or after the
 * first digit with an exponent (`1.5e-07`, `1e+16`).
 * @param[in] pNumber Rounded number.
 * @param[out] pText At least NUMBER_TEXT_SIZE bytes.
 * @return Text length.
 */
static size_t FormatNumber(const DefenderReportNumber_t *pNumber, uint8_t *pText)
{
    char digits[DEFENDER_REPORT_UINT_TEXT_SIZE];
    size_t count =
        DefenderReport_FormatUint(pNumber->isInteger ? pNumber->integer : pNumber->digits, digits);
    int32_t exponent = (int32_t) count - 1;
    int32_t point = (int32_t) count; /* Digits before the point. */
    size_t length = 0U;
    int32_t i;
    uint32_t magnitude;

    if (pNumber->negative)
    {
        pText[length++] = (uint8_t) '-';
    }
    if (!pNumber->isInteger)
    {
        while ((count > 1U) && (digits[count - 1U] == '0'))
        {
            count--;
        }
        exponent = pNumber->exponent;
        point = ((exponent < -4) || (exponent >= NUMBER_DIGITS)) ? 1 : (exponent + 1);
    }
    /* Digit i of the text; for a point at or before the first digit, zeros at
     * i = point - 1 .. -1 (`0.000ddd`). */
    for (i = (point <= 0) ? (point - 1) : 0; i < (int32_t) count; i++)
    {
        pText[length++] = (i < 0) ? (uint8_t) '0' : (uint8_t) digits[i];
        if (((i + 1) == point) && ((i + 1) < (int32_t) count))
        {
            pText[length++] = (uint8_t) '.';
        }
    }
    if (point != (exponent + 1))
    {
        pText[length++] = (uint8_t) 'e';
        pText[length++] = (exponent < 0) ? (uint8_t) '-' : (uint8_t) '+';
        magnitude = (exponent < 0) ? (uint32_t) -exponent : (uint32_t) exponent;
        if (magnitude < 10U)
        {
            pText[length++] = (uint8_t) '0';
        }
        length += DefenderReport_FormatUint(magnitude, (char *) &pText[length]);
    }
    return length;
}

void DefenderReport_Number(DefenderReportWriter_t *pWriter, const DefenderReportNumber_t *pNumber)
{
    uint8_t *p = DefenderReport_Room(pWriter);
    uint64_t bits;
    size_t i;

    if (DEFENDER_IS_CBOR(pWriter->cbor) && !pNumber->isInteger)
    {
        /* A float64 (major type 7, additional information 27), IEEE 754 binary64. */
        (void) memcpy(&bits, &pNumber->rounded, sizeof(bits));
        p[0] = 0xFBU;
        for (i = 8U; i > 0U; i--)
        {
            p[i] = (uint8_t) bits;
            bits >>= 8;
        }
        p = &p[9];
    }
    else
    {
        /* JSON: the comma; CBOR: an integer head (-1 - n for negative numbers). */
        p = DefenderReport_Start(pWriter, p,
                                 pNumber->negative ? DEFENDER_CBOR_NINT : DEFENDER_CBOR_UINT,
                                 pNumber->integer - (pNumber->negative ? 1U : 0U), 0U);
        if (!DEFENDER_IS_CBOR(pWriter->cbor))
        {
            p = &p[FormatNumber(pNumber, p)];
        }
    }
    pWriter->pCursor = p;
    pWriter->comma = true;
    /* Counted at once: a caller may read `length` next. */
    DefenderReport_Flush(pWriter);
}

#endif /* DEFENDER_CONFIG_MAX_CUSTOM_METRICS > 0 */
