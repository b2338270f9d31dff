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

/** @brief Bytes of one output chunk: items are written into a chunk, then counted. */
#define DEFENDER_REPORT_RESERVE_SIZE 128U

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
 * whole report needs; bytes that do not fit are never written. Items go into a chunk
 * (in the buffer, or the scratch area near its end) and are counted by a flush.
 */
typedef struct DefenderReportWriter
{
    uint8_t *pBuffer;  /**< Output, or NULL to count only. */
    size_t bufferSize; /**< Size of pBuffer. */
    size_t length;     /**< Bytes counted so far (may exceed bufferSize). */
    uint8_t *pStart;   /**< The current chunk (NULL: none yet). */
    uint8_t *pCursor;  /**< Where the next byte of the chunk goes. */
    bool cbor;         /**< true: CBOR; false: JSON. */
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
 * @brief Counts the bytes written at the cursor (copying them to the buffer when they
 * were written to the scratch area and fit) and starts a new chunk: at the buffer's
 * end when DEFENDER_REPORT_RESERVE_SIZE bytes fit there, else in the scratch area.
 * @param[in,out] pWriter The writer (pStart NULL: no chunk started yet).
 */
void DefenderReport_Flush(DefenderReportWriter_t *pWriter);

/**
 * @brief Where to write the next item: the cursor, with at least 64 bytes of room
 * (after a flush when the chunk is too full). Items are written without a bounds
 * check per byte; the caller then moves pCursor past them.
 * @param[in,out] pWriter The writer.
 * @return The cursor.
 */
uint8_t *DefenderReport_Room(DefenderReportWriter_t *pWriter);

/**
 * @brief Writes the start of a value: JSON the separating comma (when a value precedes)
 * and `c`; CBOR a head.
 * @param[in] pWriter The writer.
 * @param[out] pOut Where to write (at least 10 bytes).
 * @param[in] major CBOR: major type of the head.
 * @param[in] argument CBOR: its argument.
 * @param[in] c JSON: the opening character (0: none).
 * @return One past the bytes written.
 */
uint8_t *DefenderReport_Start(const DefenderReportWriter_t *pWriter, uint8_t *pOut, uint8_t major,
                              uint64_t argument, uint8_t c);

/**
 * @brief Writes a number in decimal (no 64-bit division: a number above 32 bits is divided
 * by 10 word by word, its low word in 16-bit steps).
 * @param[in] value The number.
 * @param[out] pOut Room for its digits (DEFENDER_REPORT_UINT_TEXT_SIZE is enough).
 * @return Number of digits written.
 */
size_t DefenderReport_FormatUint(uint64_t value, char *pOut);

/**
 * @brief Rounds a finite number to 15 significant digits and classifies it
 * (exactly as glibc's `%.15g`, or approximately: DEFENDER_CONFIG_EXACT_NUMBER_TEXT).
 * @param[in] value A finite number.
 * @param[out] pNumber The result.
 */
void DefenderReport_RoundNumber(double value, DefenderReportNumber_t *pNumber);

/**
 * @brief Writes a rounded custom number in the writer's format: JSON text as `%.15g`
 * would write it (integers as integer text) with the separating comma; CBOR an integer
 * (major type 0/1) or a float64.
 * @param[in,out] pWriter The writer.
 * @param[in] pNumber The rounded number.
 */
void DefenderReport_Number(DefenderReportWriter_t *pWriter, const DefenderReportNumber_t *pNumber);

/** @brief The JSON number writer: DefenderReport_Number with the writer's cbor false. */
#define DefenderReportJson_Number(pWriter, pNumber) DefenderReport_Number((pWriter), (pNumber))

/**
 * @brief Writes a CBOR data item head in shortest form.
 * @param[out] pOut At least 9 writable bytes.
 * @param[in] major Major type (0..7).
 * @param[in] argument The argument (value, length or count).
 * @return One past the head.
 */
uint8_t *DefenderReport_Head(uint8_t *pOut, uint8_t major, uint64_t argument);

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

#endif /* DEFENDER_REPORT_PRIVATE_H */
