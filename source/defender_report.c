/**
 * @file defender_report.c
 * @brief The report walk (emission order of spec 10.8), the writer with its JSON and
 * CBOR spellings, the fit-by-dropping-entries logic and custom metric validation.
 *
 * One walk drives a small writer that spells each item in JSON or CBOR. The first
 * pass writes into the caller's buffer and keeps counting past its end, so it also
 * yields the size of the whole report. When that is too large, entries are dropped
 * one at a time from the list with the most listed entries (ties: connections, then
 * TCP ports, then UDP ports), each drop subtracting the exact size of that entry
 * (measured by encoding it in count-only mode) and of its separators, and a second
 * pass writes the result.
 */
#include <string.h>

#include "private/defender_report_private.h"
#include "private/defender_response_private.h"

/** @brief Largest report id and integer value (2^63-1). */
#define MAX_INT63 0x7FFFFFFFFFFFFFFFULL

/** @brief Keys of the report (section 2.1), indexes into keyIndex. */
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
    KEY_IP_LIST,
    KEY_COUNT
} ReportKey_t;

/** @brief Offset of the short spellings in keyPool. */
#define SHORT_BASE 204U

/**
 * @brief Every key spelling of section 2.1, packed: long spellings (overlapping where one
 * contains another), the value keys shared by both styles, then the short spellings.
 */
static const char keyPool[] = "established_connectionslistening_tcp_portslistening_udp_ports"
                              "tcp_connectionslocal_interfacecustom_metricsnetwork_stats"
                              "packets_outremote_addrpackets_inlocal_portreport_idbytes_out"
                              "bytes_inversionheadertotalnumber_liststring_listip_list"
                              "cmethedptsradridifecponstccspibilpbotpupv";

/**
 * @brief Offset and length of each key in keyPool: [style][key][0: offset, 1: length].
 * Long offsets count from keyPool, short ones from keyPool + SHORT_BASE.
 */
static const uint8_t keyIndex[2][KEY_COUNT][2] = {
    {{193U, 6U},  {98U, 7U},   {91U, 14U},  {160U, 9U},  {186U, 7U},  {23U, 19U},  {42U, 19U},
     {37U, 5U},   {37U, 4U},   {82U, 9U},   {199U, 5U},  {105U, 13U}, {178U, 8U},  {169U, 9U},
     {140U, 10U}, {118U, 11U}, {61U, 15U},  {0U, 23U},   {12U, 11U},  {129U, 11U}, {150U, 10U},
     {76U, 15U},  {204U, 6U},  {204U, 11U}, {215U, 11U}, {226U, 7U}},
    {{33U, 3U}, {30U, 3U}, {29U, 4U}, {42U, 3U},  {69U, 1U}, {65U, 2U}, {67U, 2U},
     {36U, 3U}, {36U, 2U}, {45U, 2U}, {10U, 1U},  {51U, 2U}, {59U, 2U}, {63U, 2U},
     {57U, 2U}, {49U, 2U}, {28U, 2U}, {47U, 2U},  {55U, 2U}, {39U, 3U}, {61U, 2U},
     {7U, 2U},  {0U, 6U},  {0U, 11U}, {11U, 11U}, {22U, 7U}}};

/** @brief Indexes of the three lists in pListed. */
#define LIST_CONNECTIONS 0U
#define LIST_TCP_PORTS   1U
#define LIST_UDP_PORTS   2U

/* ---- Writer ------------------------------------------------------------------------ */

/** @brief Longest key item: JSON `,"` 23 `":`. */
#define KEY_RESERVE 28U

/** @brief Longest uint item: JSON `,` and 20 digits, or a 9-byte CBOR head. */
#define UINT_RESERVE 21U

/** @brief Texts shorter than this may be written in one piece by PlainText. */
#define SHORT_TEXT 24U

/** @brief Input bytes of text escaped per reservation. */
#define TEXT_CHUNK 24U

void DefenderReport_Put(DefenderReportWriter_t *pWriter, const void *pData, size_t length)
{
    if ((pWriter->pBuffer != NULL) && (pWriter->length <= pWriter->bufferSize) &&
        (length <= (pWriter->bufferSize - pWriter->length)))
    {
        (void) memcpy(&pWriter->pBuffer[pWriter->length], pData, length);
    }
    pWriter->length += length;
}

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

size_t DefenderReport_FormatUint(uint64_t value, char *pEnd)
{
    char *p = pEnd;
    uint64_t quotient;
    uint32_t part;
    uint32_t small;
    int32_t shift;

    while (value > 0xFFFFFFFFU)
    {
        /* Long division by 10, 16 bits at a time (no 64-bit division routine). */
        quotient = 0U;
        part = 0U;
        for (shift = 48; shift >= 0; shift -= 16)
        {
            part = (part << 16) | (uint32_t) ((value >> (uint32_t) shift) & 0xFFFFU);
            quotient |= (uint64_t) (part / 10U) << (uint32_t) shift;
            part %= 10U;
        }
        p--;
        *p = (char) ('0' + part);
        value = quotient;
    }
    small = (uint32_t) value;
    do
    {
        p--;
        *p = (char) ('0' + (small % 10U));
        small /= 10U;
    } while (small != 0U);
    return (size_t) (pEnd - p);
}

/**
 * @brief Tells whether a text byte is written as it is: ASCII (JSON: printable, and
 * neither `"` nor `\\`).
 * @param[in] c The byte.
 * @param[in] json JSON rules.
 * @return true when it is.
 */
static bool PlainByte(uint8_t c, bool json)
{
    return (c < 0x80U) &&
           (!json || ((c >= 0x20U) && (c != (uint8_t) '"') && (c != (uint8_t) '\\')));
}

/**
 * @brief Writes the start of a value: JSON the separating comma (when a value precedes)
 * and `c`; CBOR a head.
 * @param[in] pWriter The writer.
 * @param[out] pOut Where to write.
 * @param[in] c JSON: the opening character (0: none).
 * @param[in] major CBOR: major type of the head.
 * @param[in] argument CBOR: its argument.
 * @return One past the bytes written.
 */
static uint8_t *Start(const DefenderReportWriter_t *pWriter, uint8_t *pOut, uint8_t c,
                      uint8_t major, uint64_t argument)
{
    uint8_t *p = pOut;

    if (pWriter->cbor)
    {
        p = DefenderReport_Head(p, major, argument);
    }
    else
    {
        if (pWriter->comma)
        {
            *p = (uint8_t) ',';
            p++;
        }
        if (c != 0U)
        {
            *p = c;
            p++;
        }
    }
    return p;
}

/**
 * @brief Writes a text known to be plain (see PlainByte) in one piece.
 * @param[in] pWriter The writer.
 * @param[out] pOut Room for the text, 3 bytes and a CBOR head.
 * @param[in] pText Text.
 * @param[in] length Its length.
 * @return One past the bytes written.
 */
static uint8_t *QuotedAt(const DefenderReportWriter_t *pWriter, uint8_t *pOut, const char *pText,
                         size_t length)
{
    uint8_t *p = Start(pWriter, pOut, (uint8_t) '"', DEFENDER_CBOR_TEXT, length);

    (void) memcpy(p, pText, length);
    p = &p[length];
    if (!pWriter->cbor)
    {
        *p = (uint8_t) '"';
        p++;
    }
    return p;
}

/**
 * @brief Writes a short text in one piece when all its bytes are plain (see PlainByte).
 * @param[in] pWriter The writer.
 * @param[out] pOut Room for the text, 3 bytes and a CBOR head.
 * @param[in] pText Text.
 * @param[in] length Its length, below SHORT_TEXT.
 * @return One past the bytes written, or NULL when a byte is not plain.
 */
static uint8_t *PlainText(const DefenderReportWriter_t *pWriter, uint8_t *pOut, const char *pText,
                          size_t length)
{
    uint8_t *p = NULL;
    size_t i = 0U;

    while ((i < length) && PlainByte((uint8_t) pText[i], !pWriter->cbor))
    {
        i++;
    }
    if (i == length)
    {
        p = QuotedAt(pWriter, pOut, pText, length);
    }
    return p;
}

/**
 * @brief Writes up to TEXT_CHUNK input bytes of text (escaped in JSON; invalid UTF-8
 * bytes become `?`, the same length), more when a UTF-8 sequence crosses the end.
 * @param[in] pWriter The writer.
 * @param[out] pOut DEFENDER_REPORT_RESERVE_SIZE bytes.
 * @param[in] pBytes Text.
 * @param[in,out] pIndex Next input byte; advanced.
 * @param[in] length Text length.
 * @return One past the bytes written.
 */
static uint8_t *TextChunk(const DefenderReportWriter_t *pWriter, uint8_t *pOut,
                          const uint8_t *pBytes, size_t *pIndex, size_t length)
{
    static const char hexDigits[] = "0123456789abcdef";
    bool json = !pWriter->cbor;
    size_t i = *pIndex;
    size_t stop = ((length - i) > TEXT_CHUNK) ? (i + TEXT_CHUNK) : length;
    uint8_t *p = pOut;
    size_t step;
    size_t k;
    uint8_t c;

    while (i < stop)
    {
        c = pBytes[i];
        step = 1U;
        if (PlainByte(c, json))
        {
            *p = c;
        }
        else if (c >= 0x80U)
        {
            step = Defender_Utf8SequenceLength(&pBytes[i], length - i);
            for (k = 0U; k < step; k++)
            {
                p[k] = pBytes[i + k];
            }
            /* Invalid: `?`, the same length as the byte it replaces. */
            p[0] = (step == 0U) ? (uint8_t) '?' : p[0];
            step = (step == 0U) ? 1U : step;
            p = &p[step - 1U];
        }
        else
        {
            /* `\"`, `\\` or `\u00XX`. */
            p[0] = (uint8_t) '\\';
            p[1] = c;
            if (c < 0x20U)
            {
                p[1] = (uint8_t) 'u';
                p[2] = (uint8_t) '0';
                p[3] = (uint8_t) '0';
                p[4] = (uint8_t) hexDigits[c >> 4];
                p[5] = (uint8_t) hexDigits[c & 0x0FU];
                p = &p[4];
            }
            p++;
        }
        p++;
        i += step;
    }
    *pIndex = i;
    return p;
}

void DefenderReport_Text(DefenderReportWriter_t *pWriter, const char *pText, size_t length)
{
    const uint8_t *pBytes = (const uint8_t *) pText;
    uint8_t *pStart = DefenderReport_Reserve(pWriter, DEFENDER_REPORT_RESERVE_SIZE);
    uint8_t *p = (length < SHORT_TEXT) ? PlainText(pWriter, pStart, pText, length) : NULL;
    size_t i = 0U;

    if (p == NULL)
    {
        /* Escapes or a long text: the head, the text in chunks, the quote. */
        p = Start(pWriter, pStart, (uint8_t) '"', DEFENDER_CBOR_TEXT, length);
        do
        {
            p = TextChunk(pWriter, p, pBytes, &i, length);
            DefenderReport_Commit(pWriter, pStart, p);
            pStart = DefenderReport_Reserve(pWriter, DEFENDER_REPORT_RESERVE_SIZE);
            p = pStart;
        } while (i < length);
        if (!pWriter->cbor)
        {
            *p = (uint8_t) '"';
            p++;
        }
    }
    DefenderReport_Commit(pWriter, pStart, p);
    pWriter->comma = true;
}

/**
 * @brief Writes the opening of a map or array.
 * @param[in,out] pWriter The writer.
 * @param[out] pOut Where to write (10 bytes).
 * @param[in] major DEFENDER_CBOR_MAP or DEFENDER_CBOR_ARRAY.
 * @param[in] count Number of pairs or items (CBOR only).
 * @return One past the bytes written.
 */
static uint8_t *OpenAt(DefenderReportWriter_t *pWriter, uint8_t *pOut, uint8_t major, size_t count)
{
    uint8_t *p = Start(pWriter, pOut, (major == DEFENDER_CBOR_MAP) ? (uint8_t) '{' : (uint8_t) '[',
                       major, count);

    pWriter->comma = false;
    return p;
}

/**
 * @brief Writes the closing of a map or array (JSON only; CBOR lengths are definite).
 * @param[in,out] pWriter The writer.
 * @param[out] pOut Where to write (1 byte).
 * @param[in] major DEFENDER_CBOR_MAP or DEFENDER_CBOR_ARRAY.
 * @return One past the bytes written.
 */
static uint8_t *CloseAt(DefenderReportWriter_t *pWriter, uint8_t *pOut, uint8_t major)
{
    uint8_t *p = pOut;

    if (!pWriter->cbor)
    {
        *p = (major == DEFENDER_CBOR_MAP) ? (uint8_t) '}' : (uint8_t) ']';
        p++;
    }
    pWriter->comma = true;
    return p;
}

/**
 * @brief Writes a key of the key table in the writer's style: JSON `[,]"key":`, or a
 * CBOR text string (every key is shorter than 24 bytes).
 * @param[in,out] pWriter The writer.
 * @param[out] pOut Where to write (KEY_RESERVE bytes).
 * @param[in] key The key.
 * @return One past the bytes written.
 */
static uint8_t *KeyAt(DefenderReportWriter_t *pWriter, uint8_t *pOut, ReportKey_t key)
{
    size_t style = pWriter->shortKeys ? 1U : 0U;
    const char *pText = &keyPool[keyIndex[style][key][0] + (style * SHORT_BASE)];
    uint8_t *p = QuotedAt(pWriter, pOut, pText, keyIndex[style][key][1]);

    if (!pWriter->cbor)
    {
        *p = (uint8_t) ':';
        p++;
    }
    pWriter->comma = false;
    return p;
}

/**
 * @brief Writes an integer value, clamped to 2^63-1 (PD-3).
 * @param[in,out] pWriter The writer.
 * @param[out] pOut Where to write (UINT_RESERVE bytes).
 * @param[in] value The value.
 * @return One past the bytes written.
 */
static uint8_t *UintAt(DefenderReportWriter_t *pWriter, uint8_t *pOut, uint64_t value)
{
    char text[DEFENDER_REPORT_UINT_TEXT_SIZE];
    uint64_t clamped = (value > MAX_INT63) ? MAX_INT63 : value;
    uint8_t *p = Start(pWriter, pOut, 0U, DEFENDER_CBOR_UINT, clamped);
    size_t length;
    size_t i;

    if (!pWriter->cbor)
    {
        length = DefenderReport_FormatUint(clamped, &text[sizeof(text)]);
        for (i = 0U; i < length; i++)
        {
            p[i] = (uint8_t) text[sizeof(text) - length + i];
        }
        p = &p[length];
    }
    pWriter->comma = true;
    return p;
}

/**
 * @brief Opens a map or array.
 * @param[in,out] pWriter The writer.
 * @param[in] major DEFENDER_CBOR_MAP or DEFENDER_CBOR_ARRAY.
 * @param[in] count Number of pairs or items (CBOR only).
 */
static void Open(DefenderReportWriter_t *pWriter, uint8_t major, size_t count)
{
    uint8_t *pStart = DefenderReport_Reserve(pWriter, 10U);

    DefenderReport_Commit(pWriter, pStart, OpenAt(pWriter, pStart, major, count));
}

/**
 * @brief Closes a map or array (JSON only; CBOR lengths are definite).
 * @param[in,out] pWriter The writer.
 * @param[in] major DEFENDER_CBOR_MAP or DEFENDER_CBOR_ARRAY.
 */
static void Close(DefenderReportWriter_t *pWriter, uint8_t major)
{
    uint8_t *pStart = DefenderReport_Reserve(pWriter, 1U);

    DefenderReport_Commit(pWriter, pStart, CloseAt(pWriter, pStart, major));
}

/**
 * @brief Writes a key of the key table.
 * @param[in,out] pWriter The writer.
 * @param[in] key The key.
 */
static void Key(DefenderReportWriter_t *pWriter, ReportKey_t key)
{
    uint8_t *pStart = DefenderReport_Reserve(pWriter, KEY_RESERVE);

    DefenderReport_Commit(pWriter, pStart, KeyAt(pWriter, pStart, key));
}

/**
 * @brief Writes a key followed by an integer value.
 * @param[in,out] pWriter The writer.
 * @param[in] key The key.
 * @param[in] value The value.
 */
static void KeyUint(DefenderReportWriter_t *pWriter, ReportKey_t key, uint64_t value)
{
    uint8_t *pStart = DefenderReport_Reserve(pWriter, KEY_RESERVE + UINT_RESERVE);

    DefenderReport_Commit(pWriter, pStart, UintAt(pWriter, KeyAt(pWriter, pStart, key), value));
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
    pWriter->comma = true;
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
 * @brief Writes entry `index` of a list. A listening entry has `interface` (omitted
 * when empty: wildcard bind) and `port` (0 means unknown and is omitted, PD-3/PD-9); a
 * connection has `local_interface`, `local_port` (omitted when 0, as in vector V1) and
 * `remote_addr`.
 * @param[in,out] pWriter The writer.
 * @param[in] pContent The report.
 * @param[in] list LIST_CONNECTIONS, LIST_TCP_PORTS or LIST_UDP_PORTS.
 * @param[in] index Entry index.
 */
static void EncodeEntry(DefenderReportWriter_t *pWriter, const DefenderReportContent_t *pContent,
                        size_t list, size_t index)
{
    char address[DEFENDER_REPORT_ADDRESS_TEXT_SIZE];
    const DefenderConnection_t *pConnection;
    const DefenderListeningPort_t *pPort;
    const char *pName;
    uint16_t port;
    size_t nameLength;
    size_t addressLength = 0U;
    size_t connection = 1U;
    uint8_t *pStart;
    uint8_t *p;
    uint8_t *pEnd;

    if (list == LIST_CONNECTIONS)
    {
        pConnection = &pContent->connections.pEntries[index];
        pName = pConnection->localInterface;
        port = pConnection->localPort;
        addressLength = DefenderReport_FormatAddress(&pConnection->remoteAddress,
                                                     pConnection->remotePort, address);
        pWriter->invalid = pWriter->invalid || (addressLength == 0U);
    }
    else
    {
        pPort = (list == LIST_TCP_PORTS) ? &pContent->tcpPorts.pEntries[index]
                                         : &pContent->udpPorts.pEntries[index];
        pName = pPort->interfaceName;
        port = pPort->port;
        connection = 0U;
    }
    nameLength = TextLength(pName, DEFENDER_INTERFACE_NAME_SIZE);
    /* The whole entry in one reservation (see DEFENDER_REPORT_RESERVE_SIZE). */
    pStart = DefenderReport_Reserve(pWriter, DEFENDER_REPORT_RESERVE_SIZE);
    p = OpenAt(pWriter, pStart, DEFENDER_CBOR_MAP,
               connection + ((nameLength != 0U) ? 1U : 0U) + ((port != 0U) ? 1U : 0U));
    if (nameLength != 0U)
    {
        p = KeyAt(pWriter, p, (connection != 0U) ? KEY_LOCAL_INTERFACE : KEY_INTERFACE);
        pEnd = (nameLength < SHORT_TEXT) ? PlainText(pWriter, p, pName, nameLength) : NULL;
        if (pEnd == NULL)
        {
            DefenderReport_Commit(pWriter, pStart, p);
            DefenderReport_Text(pWriter, pName, nameLength);
            pStart = DefenderReport_Reserve(pWriter, DEFENDER_REPORT_RESERVE_SIZE);
            pEnd = pStart;
        }
        p = pEnd;
        pWriter->comma = true;
    }
    if (port != 0U)
    {
        p = UintAt(pWriter, KeyAt(pWriter, p, (connection != 0U) ? KEY_LOCAL_PORT : KEY_PORT),
                   port);
    }
    if (connection != 0U)
    {
        p = QuotedAt(pWriter, KeyAt(pWriter, p, KEY_REMOTE_ADDR), address, addressLength);
    }
    DefenderReport_Commit(pWriter, pStart, CloseAt(pWriter, p, DEFENDER_CBOR_MAP));
}

/**
 * @brief Writes a list block: `{list: [...], total}` (the list omitted when empty).
 * @param[in,out] pWriter The writer.
 * @param[in] pContent The report.
 * @param[in] list LIST_CONNECTIONS, LIST_TCP_PORTS or LIST_UDP_PORTS.
 * @param[in] listed Entries to list.
 */
static void EncodeList(DefenderReportWriter_t *pWriter, const DefenderReportContent_t *pContent,
                       size_t list, size_t listed)
{
    size_t i;
    uint64_t total =
        (list == LIST_CONNECTIONS)
            ? pContent->connections.total
            : ((list == LIST_TCP_PORTS) ? pContent->tcpPorts.total : pContent->udpPorts.total);

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
    const char *pText;
    size_t i;

    Open(pWriter, DEFENDER_CBOR_ARRAY, 1U);
    Open(pWriter, DEFENDER_CBOR_MAP, 1U);
    /* Value keys follow DefenderCustomMetricType_t order. */
    Key(pWriter, (ReportKey_t) ((uint32_t) KEY_NUMBER + (uint32_t) pMetric->type));
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
                pText = pValue->ppStrings[i];
                DefenderReport_Text(pWriter, pText, TextLength(pText, SIZE_MAX));
            }
        }
        Close(pWriter, DEFENDER_CBOR_ARRAY);
    }
    Close(pWriter, DEFENDER_CBOR_MAP);
    Close(pWriter, DEFENDER_CBOR_ARRAY);
}

/**
 * @brief Writes the `metrics` map (groups in the order of 10.8).
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
        EncodeList(pWriter, pContent, LIST_TCP_PORTS, pListed[LIST_TCP_PORTS]);
    }
    if ((groups & DEFENDER_METRIC_LISTENING_UDP_PORTS) != 0U)
    {
        Key(pWriter, KEY_UDP_PORTS);
        EncodeList(pWriter, pContent, LIST_UDP_PORTS, pListed[LIST_UDP_PORTS]);
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
        EncodeList(pWriter, pContent, LIST_CONNECTIONS, pListed[LIST_CONNECTIONS]);
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
    /* `metrics` is written when a group is set, when there is nothing else, or when asked. */
    bool hasMetrics = ((pContent->groups & DEFENDER_METRIC_ALL) != 0U) ||
                      (pContent->customCount == 0U) || pContent->emitEmptyMetrics;
    bool hasCustom = pContent->customCount != 0U;
    const char *pName;
    size_t i;

    pWriter->length = 0U;
    pWriter->comma = false;
    Open(pWriter, DEFENDER_CBOR_MAP, 1U + (hasMetrics ? 1U : 0U) + (hasCustom ? 1U : 0U));
    Key(pWriter, KEY_HEADER);
    Open(pWriter, DEFENDER_CBOR_MAP, 2U);
    KeyUint(pWriter, KEY_REPORT_ID, pContent->reportId);
    Key(pWriter, KEY_VERSION);
    DefenderReport_Text(pWriter, "1.0", 3U);
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
            pName = pContent->pCustom[i].pName;
            DefenderReport_Text(pWriter, pName, TextLength(pName, SIZE_MAX));
            if (!pWriter->cbor)
            {
                DefenderReport_Put(pWriter, ":", 1U);
            }
            pWriter->comma = false;
            EncodeCustomValue(pWriter, &pContent->pCustom[i]);
        }
        Close(pWriter, DEFENDER_CBOR_MAP);
    }
    Close(pWriter, DEFENDER_CBOR_MAP);
}

/* ---- Fitting ------------------------------------------------------------------------ */

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
    DefenderReportWriter_t counter = *pWriter;
    size_t saving;

    /* The entry itself, measured in count-only mode. */
    counter.pBuffer = NULL;
    counter.length = 0U;
    counter.comma = false;
    EncodeEntry(&counter, pContent, list, listed - 1U);
    saving = counter.length;
    counter.length = 0U;
    if (listed > 1U)
    {
        /* JSON: its comma; CBOR: the array head may get shorter. */
        Open(&counter, DEFENDER_CBOR_ARRAY, listed);
        saving += pWriter->cbor ? counter.length : 1U;
        counter.length = 0U;
        Open(&counter, DEFENDER_CBOR_ARRAY, listed - 1U);
        saving -= pWriter->cbor ? counter.length : 0U;
    }
    else
    {
        /* The last entry: the key, the array head or brackets and, in JSON, a comma. */
        counter.comma = true;
        Key(&counter, (list == LIST_CONNECTIONS) ? KEY_CONNECTIONS : KEY_PORTS);
        Open(&counter, DEFENDER_CBOR_ARRAY, 0U);
        Close(&counter, DEFENDER_CBOR_ARRAY);
        saving += counter.length;
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
 * @brief Tells whether a number is finite (not NaN, not infinite).
 * @param[in] value The number.
 * @return true when finite.
 */
static bool IsFinite(double value)
{
    return (value - value) == 0.0;
}

/**
 * @brief Checks a custom metric value: enough to encode it safely, or (strict) also
 * the content rules of PD-12.
 * @param[in] type The metric type.
 * @param[in] pValue The value.
 * @param[in] strict Also check string and IP text content.
 * @return true when valid.
 */
static bool ValueValid(DefenderCustomMetricType_t type, const DefenderCustomValue_t *pValue,
                       bool strict);

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
    bool valid = ((uint32_t) format <= (uint32_t) DEFENDER_FORMAT_CBOR) &&
                 ((uint32_t) keys <= (uint32_t) DEFENDER_KEYS_SHORT) &&
                 (pContent->reportId != 0U) && (pContent->reportId <= MAX_INT63) &&
                 ((pContent->pCustom != NULL) || (pContent->customCount == 0U));
    const DefenderCustomMetricValue_t *pMetric;
    size_t i;

    /* count <= total and entries present, for the three lists. */
    valid = valid && ((uint64_t) pContent->connections.count <= pContent->connections.total) &&
            ((pContent->connections.pEntries != NULL) || (pContent->connections.count == 0U)) &&
            ((uint64_t) pContent->tcpPorts.count <= pContent->tcpPorts.total) &&
            ((pContent->tcpPorts.pEntries != NULL) || (pContent->tcpPorts.count == 0U)) &&
            ((uint64_t) pContent->udpPorts.count <= pContent->udpPorts.total) &&
            ((pContent->udpPorts.pEntries != NULL) || (pContent->udpPorts.count == 0U));
    for (i = 0U; valid && (i < pContent->customCount); i++)
    {
        pMetric = &pContent->pCustom[i];
        valid = (pMetric->pName != NULL) && ValueValid(pMetric->type, &pMetric->value, false);
    }
    return valid;
}

DefenderStatus_t Defender_EncodeReport(const DefenderReportContent_t *pContent,
                                       DefenderFormat_t format, DefenderKeyStyle_t keys,
                                       uint8_t *pBuffer, size_t bufferSize, size_t *pLength,
                                       size_t pListed[3])
{
    DefenderStatus_t status = DEFENDER_BAD_PARAMETER;
    DefenderReportWriter_t writer = {NULL, 0U, 0U, false, false, false, false, {0U}};
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
            status = DEFENDER_BUFFER_TOO_SMALL;
            if (size <= bufferSize)
            {
                EncodeReport(&writer, pContent, listed);
                DEFENDER_ASSERT(writer.length == size);
                /* Fail closed should the size prediction ever be wrong. */
                status =
                    (writer.length > bufferSize) ? DEFENDER_BUFFER_TOO_SMALL : DEFENDER_SUCCESS;
            }
        }
    }
    if (status == DEFENDER_SUCCESS)
    {
        *pLength = writer.length;
    }
    else
    {
        (void) memset(listed, 0, sizeof(listed));
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

/**
 * @brief Checks one list entry of a custom value.
 * @param[in] type The metric type.
 * @param[in] pValue The value.
 * @param[in] index The entry.
 * @param[in] strict Also check string and IP text content.
 * @return true when valid.
 */
static bool EntryValid(DefenderCustomMetricType_t type, const DefenderCustomValue_t *pValue,
                       size_t index, bool strict)
{
    bool valid;
    const char *pText;

    if (type == DEFENDER_CUSTOM_NUMBER_LIST)
    {
        valid = IsFinite(pValue->pNumbers[index]);
    }
    else
    {
        pText = pValue->ppStrings[index];
        valid = pText != NULL;
        if (valid && strict)
        {
            /* 46 bytes read at most: longer IP texts are invalid anyway. */
            valid = (type == DEFENDER_CUSTOM_STRING_LIST)
                        ? ListStringValid(pText)
                        : Defender_ParseIpAddress(pText, TextLength(pText, 46U), NULL);
        }
    }
    return valid;
}

static bool ValueValid(DefenderCustomMetricType_t type, const DefenderCustomValue_t *pValue,
                       bool strict)
{
    bool valid = (uint32_t) type <= (uint32_t) DEFENDER_CUSTOM_IP_LIST;
    size_t i;

    if (valid && (type == DEFENDER_CUSTOM_NUMBER))
    {
        valid = IsFinite(pValue->number);
    }
    else if (valid)
    {
        /* The list array: pNumbers or ppStrings by type. */
        valid = (pValue->count == 0U) ||
                ((type == DEFENDER_CUSTOM_NUMBER_LIST) ? (pValue->pNumbers != NULL)
                                                       : (pValue->ppStrings != NULL));
        for (i = 0U; valid && (i < pValue->count); i++)
        {
            valid = EntryValid(type, pValue, i, strict);
        }
    }
    else
    {
        /* Unknown type. */
    }
    return valid;
}

bool Defender_CustomMetricValueValid(DefenderCustomMetricType_t type,
                                     const DefenderCustomValue_t *pValue)
{
    return (pValue != NULL) && ValueValid(type, pValue, true);
}
