/**
 * @file defender_report_private.h
 * @brief Declarations shared by the report encoder's files only (walk, JSON and CBOR
 * writer backends, address formatting). Not part of the public API.
 */
#ifndef DEFENDER_REPORT_PRIVATE_H
#define DEFENDER_REPORT_PRIVATE_H

#include "defender_report.h"

/** @brief Enough for any `remote_addr` text ("[" 39 "]:" 5 digits), with terminator. */
#define DEFENDER_REPORT_ADDRESS_TEXT_SIZE 54U

/** @brief Enough for any unsigned 64-bit decimal number (20 digits). */
#define DEFENDER_REPORT_UINT_TEXT_SIZE 20U

/**
 * @brief Bytes a writer can reserve at once: one list entry with an interface name of
 * up to 23 plain bytes, or 24 input bytes of text escaped (6 bytes each) plus a 4-byte
 * UTF-8 sequence started at its end.
 */
#define DEFENDER_REPORT_RESERVE_SIZE 160U

/** @brief CBOR major types used by the encoder. */
#define DEFENDER_CBOR_UINT  0U /**< Unsigned integer. */
#define DEFENDER_CBOR_NINT  1U /**< Negative integer. */
#define DEFENDER_CBOR_TEXT  3U /**< Text string. */
#define DEFENDER_CBOR_ARRAY 4U /**< Array. */
#define DEFENDER_CBOR_MAP   5U /**< Map. */

/**
 * @brief Output of one encoding pass. With pBuffer NULL it only counts bytes.
 *
 * `length` keeps counting once the buffer is full, so one pass yields the size the
 * whole report needs; bytes that do not fit are never written.
 */
typedef struct DefenderReportWriter
{
    uint8_t *pBuffer;  /**< Output, or NULL to count only. */
    size_t bufferSize; /**< Size of pBuffer. */
    size_t length;     /**< Bytes produced so far (may exceed bufferSize). */
    bool cbor;         /**< true: CBOR backend; false: JSON backend. */
    bool shortKeys;    /**< Key spelling (section 2.1). */
    bool comma;        /**< JSON: a value precedes in the open container. */
    bool invalid;      /**< An item could not be encoded (bad address family). */
    uint8_t scratch[DEFENDER_REPORT_RESERVE_SIZE]; /**< Output that does not fit pBuffer. */
} DefenderReportWriter_t;

/** @brief A custom number rounded to 15 significant digits (section 3). */
typedef struct DefenderReportNumber
{
    bool negative;    /**< Sign (false for any zero). */
    bool isInteger;   /**< Whole with magnitude <= 2^53: `integer` holds it. */
    uint64_t integer; /**< Magnitude when isInteger. */
    uint64_t digits;  /**< 15 significant digits, 10^14 <= digits < 10^15. */
    int32_t exponent; /**< Decimal exponent of the first digit. */
    double rounded;   /**< The rounded value as a double (signed). */
} DefenderReportNumber_t;

/**
 * @brief Appends bytes, or only counts them when they do not fit.
 * @param[in,out] pWriter The writer.
 * @param[in] pData Bytes to append.
 * @param[in] length Their number.
 */
void DefenderReport_Put(DefenderReportWriter_t *pWriter, const void *pData, size_t length);

/**
 * @brief Reserves room for up to `size` bytes: the place in the buffer when they fit,
 * else the writer's scratch area (DefenderReport_Commit then counts them). Inline so
 * that the per-entry path writes bytes without a call or a bounds check per byte.
 * @param[in] pWriter The writer.
 * @param[in] size At most DEFENDER_REPORT_RESERVE_SIZE.
 * @return Where to write.
 */
static inline uint8_t *DefenderReport_Reserve(DefenderReportWriter_t *pWriter, size_t size)
{
    uint8_t *pOut = pWriter->scratch;

    if ((pWriter->pBuffer != NULL) && (pWriter->length <= pWriter->bufferSize) &&
        (size <= (pWriter->bufferSize - pWriter->length)))
    {
        pOut = &pWriter->pBuffer[pWriter->length];
    }
    return pOut;
}

/**
 * @brief Completes a reservation: the bytes from pStart to pEnd are produced.
 * @param[in,out] pWriter The writer.
 * @param[in] pStart What DefenderReport_Reserve returned.
 * @param[in] pEnd One past the last byte written.
 */
static inline void DefenderReport_Commit(DefenderReportWriter_t *pWriter, const uint8_t *pStart,
                                         const uint8_t *pEnd)
{
    size_t used = (size_t) (pEnd - pStart);

    if (pStart == pWriter->scratch)
    {
        DefenderReport_Put(pWriter, pStart, used);
    }
    else
    {
        pWriter->length += used;
    }
}

/**
 * @brief Writes a string value: JSON with RFC 8259 escapes (and the separating comma),
 * or a CBOR text string. Invalid UTF-8 bytes become `?` (the length stays the same).
 * @param[in,out] pWriter The writer.
 * @param[in] pText Text.
 * @param[in] length Its length.
 */
void DefenderReport_Text(DefenderReportWriter_t *pWriter, const char *pText, size_t length);

/**
 * @brief Writes a number in decimal, backwards, ending just before pEnd (no 64-bit
 * division: numbers above 2^32 are divided by 10 in 16-bit steps).
 * @param[in] value The number.
 * @param[out] pEnd One past the last digit; DEFENDER_REPORT_UINT_TEXT_SIZE bytes before
 * it must be writable.
 * @return Number of digits written (they start at pEnd - return value).
 */
size_t DefenderReport_FormatUint(uint64_t value, char *pEnd);

/**
 * @brief Rounds a finite number to 15 significant digits and classifies it
 * (exactly as glibc's `%.15g`, or approximately: DEFENDER_CONFIG_EXACT_NUMBER_TEXT).
 * @param[in] value A finite number.
 * @param[out] pNumber The result.
 */
void DefenderReport_RoundNumber(double value, DefenderReportNumber_t *pNumber);

/** @brief DefenderReport_FormatAddress: write the address alone (no port). */
#define DEFENDER_REPORT_NO_PORT 0x10000U

/**
 * @brief Writes address text without terminator: `remote_addr` text (IPv4-mapped IPv6 as
 * IPv4, IPv6 in brackets, `:port`), or with port DEFENDER_REPORT_NO_PORT the address alone.
 * @param[in] pAddress Address (family 4 or 6).
 * @param[in] port Port 0..65535, or DEFENDER_REPORT_NO_PORT.
 * @param[out] pText At least DEFENDER_REPORT_ADDRESS_TEXT_SIZE bytes.
 * @return Length, or 0 for an invalid family.
 */
size_t DefenderReport_FormatAddress(const DefenderIpAddress_t *pAddress, uint32_t port,
                                    char *pText);

/**
 * @brief Writes a rounded custom number as JSON text as `%.15g` would (integers as
 * integer text), with the separating comma.
 * @param[in,out] pWriter The writer.
 * @param[in] pNumber The rounded number.
 */
void DefenderReportJson_Number(DefenderReportWriter_t *pWriter,
                               const DefenderReportNumber_t *pNumber);

/**
 * @brief Writes a CBOR data item head in shortest form.
 * @param[out] pOut At least 9 writable bytes.
 * @param[in] major Major type (0..7).
 * @param[in] argument The argument (value, length or count).
 * @return One past the head.
 */
uint8_t *DefenderReport_Head(uint8_t *pOut, uint8_t major, uint64_t argument);

/**
 * @brief Writes a rounded custom number as CBOR: integer (major type 0/1) or float64.
 * @param[in,out] pWriter The writer.
 * @param[in] pNumber The rounded number.
 */
void DefenderReportCbor_Number(DefenderReportWriter_t *pWriter,
                               const DefenderReportNumber_t *pNumber);

#endif /* DEFENDER_REPORT_PRIVATE_H */
