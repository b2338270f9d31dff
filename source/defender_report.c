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

void DefenderReport_Put(DefenderReportWriter_t *pWriter, const void *pData, size_t length)
{
    if ((pWriter->pBuffer != NULL) && (pWriter->length <= pWriter->bufferSize) &&
        (length <= (pWriter->bufferSize - pWriter->length)))
    {
        (void) memcpy(&pWriter->pBuffer[pWriter->length], pData, length);
    }
    pWriter->length += length;
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
 * @brief JSON: writes the comma that separates a value from the previous one.
 * @param[in,out] pWriter The writer.
 */
static void Separate(DefenderReportWriter_t *pWriter)
{
    if (pWriter->comma)
    {
        DefenderReport_Put(pWriter, ",", 1U);
    }
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

void DefenderReport_Text(DefenderReportWriter_t *pWriter, const char *pText, size_t length)
{
    static const char hexDigits[] = "0123456789abcdef";
    const uint8_t *pBytes = (const uint8_t *) pText;
    char escape[6] = {'\\', 'u', '0', '0', '0', '0'};
    char chunk[DEFENDER_REPORT_ADDRESS_TEXT_SIZE + 3U];
    bool json = !pWriter->cbor;
    size_t i = 0U;
    size_t start;
    size_t step;
    uint8_t c;

    /* Fast path: a short text of plain bytes goes out in one piece. */
    while ((i < length) && (length < (json ? DEFENDER_REPORT_ADDRESS_TEXT_SIZE : 24U)) &&
           PlainByte(pBytes[i], json))
    {
        chunk[i + 2U] = (char) pBytes[i];
        i++;
    }
    if (i == length)
    {
        chunk[0] = ',';
        chunk[1] = '"';
        chunk[i + 2U] = '"';
        start = (pWriter->comma && json) ? 0U : 1U;
        if (!json)
        {
            start = 1U;
            chunk[1] = (char) ((DEFENDER_CBOR_TEXT << 5) | length);
        }
        DefenderReport_Put(pWriter, &chunk[start], i + (json ? 3U : 2U) - start);
    }
    else if (json)
    {
        Separate(pWriter);
        DefenderReport_Put(pWriter, "\"", 1U);
    }
    else
    {
        DefenderReportCbor_Head(pWriter, DEFENDER_CBOR_TEXT, length);
    }
    i = (i == length) ? (length + 1U) : 0U;
    while (i < length)
    {
        start = i;
        /* Run of bytes written as they are. */
        while ((i < length) && PlainByte(pBytes[i], json))
        {
            i++;
        }
        DefenderReport_Put(pWriter, &pBytes[start], i - start);
        if (i < length)
        {
            c = pBytes[i];
            step = 1U;
            if (c >= 0x80U)
            {
                step = Defender_Utf8SequenceLength(&pBytes[i], length - i);
                /* Invalid: `?`, the same length as the byte it replaces. */
                DefenderReport_Put(pWriter, (step == 0U) ? "?" : (const char *) &pBytes[i],
                                   (step == 0U) ? 1U : step);
                step = (step == 0U) ? 1U : step;
            }
            else if (c < 0x20U)
            {
                escape[4] = hexDigits[c >> 4];
                escape[5] = hexDigits[c & 0x0FU];
                DefenderReport_Put(pWriter, escape, sizeof(escape));
            }
            else
            {
                escape[1] = (char) c; /* `"` or `\`. */
                DefenderReport_Put(pWriter, escape, 2U);
                escape[1] = 'u';
            }
            i += step;
        }
    }
    if (json && (i == length))
    {
        DefenderReport_Put(pWriter, "\"", 1U);
    }
    pWriter->comma = true;
}

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
        Separate(pWriter);
        DefenderReport_Put(pWriter, (major == DEFENDER_CBOR_MAP) ? "{" : "[", 1U);
    }
    pWriter->comma = false;
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
        DefenderReport_Put(pWriter, (major == DEFENDER_CBOR_MAP) ? "}" : "]", 1U);
    }
    pWriter->comma = true;
}

/**
 * @brief Writes a key of the key table in the writer's style, in one piece:
 * JSON `[,]"key":`, or a CBOR text string (every key is shorter than 24 bytes).
 * @param[in,out] pWriter The writer.
 * @param[in] key The key.
 */
static void Key(DefenderReportWriter_t *pWriter, ReportKey_t key)
{
    char chunk[32];
    size_t style = pWriter->shortKeys ? 1U : 0U;
    const char *pText = &keyPool[keyIndex[style][key][0] + (style * SHORT_BASE)];
    size_t length = keyIndex[style][key][1];
    size_t used = 0U;

    if (pWriter->cbor)
    {
        chunk[used++] = (char) ((DEFENDER_CBOR_TEXT << 5) | length);
    }
    else
    {
        if (pWriter->comma)
        {
            chunk[used++] = ',';
        }
        chunk[used++] = '"';
    }
    (void) memcpy(&chunk[used], pText, length);
    used += length;
    if (!pWriter->cbor)
    {
        chunk[used++] = '"';
        chunk[used++] = ':';
    }
    DefenderReport_Put(pWriter, chunk, used);
    pWriter->comma = false;
}

/**
 * @brief Writes an integer value, clamped to 2^63-1 (PD-3).
 * @param[in,out] pWriter The writer.
 * @param[in] value The value.
 */
static void Uint(DefenderReportWriter_t *pWriter, uint64_t value)
{
    char text[DEFENDER_REPORT_UINT_TEXT_SIZE + 1U];
    uint64_t clamped = (value > MAX_INT63) ? MAX_INT63 : value;
    size_t length;

    if (pWriter->cbor)
    {
        DefenderReportCbor_Head(pWriter, DEFENDER_CBOR_UINT, clamped);
    }
    else
    {
        length = DefenderReport_FormatUint(clamped, &text[sizeof(text)]);
        if (pWriter->comma)
        {
            length++;
            text[sizeof(text) - length] = ',';
        }
        DefenderReport_Put(pWriter, &text[sizeof(text) - length], length);
    }
    pWriter->comma = true;
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
    const DefenderConnection_t *pConnection = NULL;
    const DefenderListeningPort_t *pPort;
    const char *pName;
    uint16_t port;
    size_t nameLength;
    size_t addressLength = 0U;
    size_t connection = 0U;

    if (list == LIST_CONNECTIONS)
    {
        pConnection = &pContent->connections.pEntries[index];
        pName = pConnection->localInterface;
        port = pConnection->localPort;
        addressLength = DefenderReport_FormatRemote(&pConnection->remoteAddress,
                                                    pConnection->remotePort, address);
        pWriter->invalid = pWriter->invalid || (addressLength == 0U);
        connection = 1U;
    }
    else
    {
        pPort = (list == LIST_TCP_PORTS) ? &pContent->tcpPorts.pEntries[index]
                                         : &pContent->udpPorts.pEntries[index];
        pName = pPort->interfaceName;
        port = pPort->port;
    }
    nameLength = TextLength(pName, DEFENDER_INTERFACE_NAME_SIZE);
    Open(pWriter, DEFENDER_CBOR_MAP,
         connection + ((nameLength != 0U) ? 1U : 0U) + ((port != 0U) ? 1U : 0U));
    if (nameLength != 0U)
    {
        Key(pWriter, (connection != 0U) ? KEY_LOCAL_INTERFACE : KEY_INTERFACE);
        DefenderReport_Text(pWriter, pName, nameLength);
    }
    if (port != 0U)
    {
        KeyUint(pWriter, (connection != 0U) ? KEY_LOCAL_PORT : KEY_PORT, port);
    }
    if (connection != 0U)
    {
        Key(pWriter, KEY_REMOTE_ADDR);
        DefenderReport_Text(pWriter, address, addressLength);
    }
    Close(pWriter, DEFENDER_CBOR_MAP);
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
