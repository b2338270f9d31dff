/**
 * @file defender_report.c
 * @brief The report walk (emission order of spec 10.8), the writer with its JSON and
 * CBOR spellings, the fit-by-dropping-entries logic and custom metric validation.
 *
 * One walk drives a small writer whose few item functions (open, close, text, key,
 * integer, number) spell each item in JSON or CBOR. The first pass writes into the
 * caller's buffer and keeps counting past its end, so it also yields the size of the
 * whole report. When that is too large, entries are dropped one at a time from the list
 * with the most listed entries (ties: connections, then TCP ports, then UDP ports), each
 * drop subtracting the exact size it saves (its list block measured in count-only mode
 * with and without the entry), and a second pass writes the result.
 */
#include <string.h>

#include "private/defender_report_private.h"

/** @brief Custom metrics are compiled in (DEFENDER_CONFIG_MAX_CUSTOM_METRICS > 0). */
#define CUSTOM_METRICS (DEFENDER_CONFIG_MAX_CUSTOM_METRICS > 0U)
#include "private/defender_response_private.h"

/** @brief Largest report id and integer value (2^63-1). */
#define MAX_INT63 0x7FFFFFFFFFFFFFFFULL

/**
 * @brief Keys of the report (section 2.1), indexes into keyIndex. The order lets the walk
 * compute keys: group keys follow the DEFENDER_METRIC_* bit numbers, the entry keys come
 * in pairs (name, port), value keys follow DefenderCustomMetricType_t.
 */
typedef enum
{
    KEY_HEADER = 0,
    KEY_METRICS,
    KEY_CUSTOM_METRICS,
    KEY_REPORT_ID,
    KEY_VERSION,
    KEY_TCP_CONNECTIONS, /* + bit number of the group */
    KEY_TCP_PORTS,
    KEY_UDP_PORTS,
    KEY_NETWORK_STATS,
    KEY_BYTES_IN,
    KEY_BYTES_OUT,
    KEY_PACKETS_IN,
    KEY_PACKETS_OUT,
    KEY_ESTABLISHED,
    KEY_CONNECTIONS, /* + 1: KEY_PORTS */
    KEY_PORTS,
    KEY_TOTAL,
    KEY_LOCAL_INTERFACE, /* + 2: the listening entry's keys */
    KEY_LOCAL_PORT,
    KEY_INTERFACE,
    KEY_PORT,
    KEY_REMOTE_ADDR,
    KEY_NUMBER, /* + DefenderCustomMetricType_t */
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
 * @brief Where each key is in keyPool: { long offset, short offset (from SHORT_BASE), long
 * length | short length << 5 }. A short length of 0: the short spelling is the long one
 * (the value keys).
 */
static const uint8_t keyIndex[KEY_COUNT][3] = {
    {193U, 33U, 102U}, {98U, 30U, 103U},  {91U, 29U, 142U}, {160U, 42U, 105U}, {186U, 69U, 39U},
    {61U, 28U, 79U},   {23U, 65U, 83U},   {42U, 67U, 83U},  {105U, 51U, 77U},  {178U, 59U, 72U},
    {169U, 63U, 73U},  {140U, 57U, 74U},  {118U, 49U, 75U}, {0U, 47U, 87U},    {12U, 55U, 75U},
    {37U, 36U, 101U},  {199U, 10U, 37U},  {76U, 7U, 79U},   {150U, 61U, 74U},  {82U, 45U, 73U},
    {37U, 36U, 68U},   {129U, 39U, 107U}, {204U, 0U, 6U},   {204U, 0U, 11U},   {215U, 0U, 11U},
    {226U, 0U, 7U}};

/** @brief Index of the connection list in pListed (the lists follow the group bits). */
#define LIST_CONNECTIONS 0U

/** @brief Text flags: a key (`:` follows in JSON, no comma before the value). */
#define TEXT_KEY 1U

/** @brief Text flags: every byte is plain ASCII (copied without a look at each byte). */
#define TEXT_PLAIN 2U

/* ---- Writer ------------------------------------------------------------------------ */

/** @brief Bytes one item may need at the cursor: a `remote_addr` text with its key. */
#define ITEM_ROOM 64U

void DefenderReport_Flush(DefenderReportWriter_t *pWriter)
{
    size_t used = 0U;

    if (pWriter->pStart != NULL)
    {
        used = (size_t) (pWriter->pCursor - pWriter->pStart);
    }
    if ((pWriter->pStart == pWriter->scratch) && (pWriter->pBuffer != NULL) &&
        (pWriter->length <= pWriter->bufferSize) &&
        (used <= (pWriter->bufferSize - pWriter->length)))
    {
        /* Scratch output near the end of the buffer: copied when it fits whole. */
        (void) memcpy(&pWriter->pBuffer[pWriter->length], pWriter->scratch, used);
    }
    pWriter->length += used;
    pWriter->pStart = pWriter->scratch;
    if ((pWriter->pBuffer != NULL) && (pWriter->length <= pWriter->bufferSize) &&
        ((pWriter->bufferSize - pWriter->length) >= DEFENDER_REPORT_RESERVE_SIZE))
    {
        pWriter->pStart = &pWriter->pBuffer[pWriter->length];
    }
    pWriter->pCursor = pWriter->pStart;
}

uint8_t *DefenderReport_Room(DefenderReportWriter_t *pWriter)
{
    if ((pWriter->pStart == NULL) || ((size_t) (pWriter->pCursor - pWriter->pStart) >
                                      (DEFENDER_REPORT_RESERVE_SIZE - ITEM_ROOM)))
    {
        DefenderReport_Flush(pWriter);
    }
    return pWriter->pCursor;
}

uint8_t *DefenderReport_Start(const DefenderReportWriter_t *pWriter, uint8_t *pOut, uint8_t major,
                              uint64_t argument, uint8_t c)
{
    uint8_t *p = pOut;

    if (DEFENDER_IS_CBOR(pWriter->cbor))
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

size_t DefenderReport_FormatUint(uint64_t value, char *pOut)
{
    char digits[DEFENDER_REPORT_UINT_TEXT_SIZE];
    size_t count = DEFENDER_REPORT_UINT_TEXT_SIZE;
    uint32_t high = (uint32_t) (value >> 32);
    uint32_t low = (uint32_t) value;
    uint32_t part = 0U;
    uint32_t middle;

    do
    {
        if (high != 0U)
        {
            /* Long division by 10 (no 64-bit division routine): the high word, then the
             * low word 16 bits at a time, each step carrying the remainder. */
            part = high % 10U;
            high /= 10U;
            middle = (part << 16) | (low >> 16);
            part = ((middle % 10U) << 16) | (low & 0xFFFFU);
            low = ((middle / 10U) << 16) | (part / 10U);
            part %= 10U;
        }
        else
        {
            part = low % 10U;
            low /= 10U;
        }
        count--;
        digits[count] = (char) ('0' + part);
    } while ((high | low) != 0U);
    (void) memcpy(pOut, &digits[count], DEFENDER_REPORT_UINT_TEXT_SIZE - count);
    return DEFENDER_REPORT_UINT_TEXT_SIZE - count;
}

/**
 * @brief Writes a text: JSON a string with RFC 8259 escapes (`\"`, `\\`, `\u00XX`),
 * CBOR a text string; invalid UTF-8 bytes become `?` (the length stays the same).
 * Long texts are written in chunks.
 * @param[in,out] pWriter The writer.
 * @param[in] pText Text.
 * @param[in] length Its length.
 * @param[in] flags TEXT_KEY and/or TEXT_PLAIN.
 */
static void Text(DefenderReportWriter_t *pWriter, const char *pText, size_t length, uint32_t flags)
{
    const uint8_t *pBytes = (const uint8_t *) pText;
    bool json = !DEFENDER_IS_CBOR(pWriter->cbor);
    uint8_t *p = DefenderReport_Start(pWriter, DefenderReport_Room(pWriter), DEFENDER_CBOR_TEXT,
                                      length, (uint8_t) '"');
    size_t i = 0U;
    size_t step;
    uint8_t c;

    if ((flags & TEXT_PLAIN) != 0U)
    {
        /* At most DEFENDER_REPORT_ADDRESS_TEXT_SIZE bytes: the item room holds them. */
        (void) memcpy(p, pText, length);
        p = &p[length];
        i = length;
    }
    while (i < length)
    {
        if ((size_t) (p - pWriter->pStart) > (DEFENDER_REPORT_RESERVE_SIZE - 8U))
        {
            /* Room for the longest escape, the quote and the colon is kept. */
            pWriter->pCursor = p;
            DefenderReport_Flush(pWriter);
            p = pWriter->pCursor;
        }
        c = pBytes[i];
        step = 1U;
        if (json && ((c < 0x20U) || (c == (uint8_t) '"') || (c == (uint8_t) '\\')))
        {
            p[0] = (uint8_t) '\\';
            p[1] = c;
            if (c < 0x20U)
            {
                p[1] = (uint8_t) 'u';
                p[2] = (uint8_t) '0';
                p[3] = (uint8_t) '0';
                /* Below 0x20: the high digit is 0 or 1. */
                p[4] = (uint8_t) ('0' + (c >> 4));
                c &= 0x0FU;
                p[5] = (uint8_t) ((c < 10U) ? ('0' + c) : (('a' - 10) + c));
                p = &p[4];
            }
            p = &p[2];
        }
        else if (c < 0x80U)
        {
            *p = c;
            p++;
        }
        else
        {
            step = Defender_Utf8SequenceLength(&pBytes[i], length - i);
            /* Invalid: `?`, the same length as the byte it replaces. */
            *p = (uint8_t) '?';
            (void) memcpy(p, &pBytes[i], step);
            step = (step == 0U) ? 1U : step;
            p = &p[step];
        }
        i += step;
    }
    if (json)
    {
        *p = (uint8_t) '"';
        p++;
        if ((flags & TEXT_KEY) != 0U)
        {
            *p = (uint8_t) ':';
            p++;
        }
    }
    pWriter->pCursor = p;
    pWriter->comma = (flags & TEXT_KEY) == 0U;
}

/**
 * @brief Writes a key of the key table in the writer's style (a plain text key: JSON
 * `[,]"key":`, CBOR a text string).
 * @param[in,out] pWriter The writer.
 * @param[in] key The key (a ReportKey_t).
 */
static void Key(DefenderReportWriter_t *pWriter, uint32_t key)
{
    const uint8_t *pIndex = keyIndex[key];
    uint32_t offset = pIndex[0];
    uint32_t length = (uint32_t) pIndex[2] >> 5;

    if (pWriter->shortKeys && (length != 0U))
    {
        offset = SHORT_BASE + pIndex[1];
    }
    else
    {
        length = pIndex[2] & 0x1FU;
    }
    Text(pWriter, &keyPool[offset], length, TEXT_KEY | TEXT_PLAIN);
}

/**
 * @brief Opens a map or array after an optional key: JSON `{` or `[` (after a comma
 * when a value precedes), CBOR a head with the number of pairs or items.
 * @param[in,out] pWriter The writer.
 * @param[in] key The key (a ReportKey_t), or KEY_COUNT for none.
 * @param[in] major DEFENDER_CBOR_MAP or DEFENDER_CBOR_ARRAY.
 * @param[in] count Number of pairs or items (CBOR only).
 */
static void Open(DefenderReportWriter_t *pWriter, uint32_t key, uint8_t major, size_t count)
{
    if (key < (uint32_t) KEY_COUNT)
    {
        Key(pWriter, key);
    }
    pWriter->pCursor =
        DefenderReport_Start(pWriter, DefenderReport_Room(pWriter), major, count,
                             (major == DEFENDER_CBOR_MAP) ? (uint8_t) '{' : (uint8_t) '[');
    pWriter->comma = false;
}

/**
 * @brief Closes a map or array (JSON only; CBOR lengths are definite).
 * @param[in,out] pWriter The writer.
 * @param[in] major DEFENDER_CBOR_MAP or DEFENDER_CBOR_ARRAY.
 */
static void Close(DefenderReportWriter_t *pWriter, uint8_t major)
{
    uint8_t *p = DefenderReport_Room(pWriter);

    if (!DEFENDER_IS_CBOR(pWriter->cbor))
    {
        *p = (major == DEFENDER_CBOR_MAP) ? (uint8_t) '}' : (uint8_t) ']';
        pWriter->pCursor = &p[1];
    }
    pWriter->comma = true;
}

/**
 * @brief Writes a key and an integer value, clamped to 2^63-1 (PD-3).
 * @param[in,out] pWriter The writer.
 * @param[in] key The key (a ReportKey_t).
 * @param[in] value The value.
 */
static void KeyUint(DefenderReportWriter_t *pWriter, uint32_t key, uint64_t value)
{
    uint64_t clamped = (value > MAX_INT63) ? MAX_INT63 : value;
    uint8_t *p;

    Key(pWriter, key);
    p = DefenderReport_Start(pWriter, DefenderReport_Room(pWriter), DEFENDER_CBOR_UINT, clamped,
                             0U);
    if (!DEFENDER_IS_CBOR(pWriter->cbor))
    {
        p = &p[DefenderReport_FormatUint(clamped, (char *) p)];
    }
    pWriter->pCursor = p;
    pWriter->comma = true;
}

/**
 * @brief Writes a custom number (rounded to 15 significant digits).
 * @param[in,out] pWriter The writer.
 * @param[in] value A finite number.
 */
static void Number(DefenderReportWriter_t *pWriter, double value)
{
#if CUSTOM_METRICS
    DefenderReportNumber_t number;

    DefenderReport_RoundNumber(value, &number);
    DefenderReport_Number(pWriter, &number);
#else
    /* Never reached: only custom metrics have such numbers, and a build without them has no
     * number writer (defender_report_json.c is empty); unoptimised builds still compile this. */
    (void) pWriter;
    (void) value;
#endif
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
 * @brief The entries and totals of one list.
 * @param[in] pContent The report.
 * @param[in] list 0: connections, 1: TCP ports, 2: UDP ports (the group bit numbers).
 * @param[out] ppEntries The entries (DefenderConnection_t or DefenderListeningPort_t).
 * @param[out] pTotal The true total.
 * @return The number of entries.
 */
static size_t ListOf(const DefenderReportContent_t *pContent, size_t list, const void **ppEntries,
                     uint64_t *pTotal)
{
    const DefenderPortList_t *pPorts = (list == 1U) ? &pContent->tcpPorts : &pContent->udpPorts;
    size_t count = pPorts->count;

    *ppEntries = pPorts->pEntries;
    *pTotal = pPorts->total;
    if (list == LIST_CONNECTIONS)
    {
        *ppEntries = pContent->connections.pEntries;
        *pTotal = pContent->connections.total;
        count = pContent->connections.count;
    }
    return count;
}

/**
 * @brief Writes entry `index` of a list. A listening entry has `interface` (omitted
 * when empty: wildcard bind) and `port` (0 means unknown and is omitted, PD-3/PD-9); a
 * connection has `local_interface`, `local_port` (omitted when 0, as in vector V1) and
 * `remote_addr`.
 * @param[in,out] pWriter The writer.
 * @param[in] pEntries The list's entries.
 * @param[in] list 0: connections, 1: TCP ports, 2: UDP ports.
 * @param[in] index Entry index.
 */
static void EncodeEntry(DefenderReportWriter_t *pWriter, const void *pEntries, size_t list,
                        size_t index)
{
    char address[DEFENDER_REPORT_ADDRESS_TEXT_SIZE];
    const DefenderConnection_t *pConnection = NULL;
    const DefenderListeningPort_t *pPort;
    bool connection = list == LIST_CONNECTIONS;
    const char *pName;
    uint32_t port;
    uint32_t key = KEY_INTERFACE;
    size_t length;

    if (connection)
    {
        pConnection = &((const DefenderConnection_t *) pEntries)[index];
        pName = pConnection->localInterface;
        port = pConnection->localPort;
        key = KEY_LOCAL_INTERFACE;
    }
    else
    {
        pPort = &((const DefenderListeningPort_t *) pEntries)[index];
        pName = pPort->interfaceName;
        port = pPort->port;
    }
    length = TextLength(pName, DEFENDER_INTERFACE_NAME_SIZE);

    Open(pWriter, KEY_COUNT, DEFENDER_CBOR_MAP,
         ((length != 0U) ? 1U : 0U) + ((port != 0U) ? 1U : 0U) + (connection ? 1U : 0U));
    if (length != 0U)
    {
        Key(pWriter, key);
        Text(pWriter, pName, length, 0U);
    }
    if (port != 0U)
    {
        KeyUint(pWriter, key + 1U, port);
    }
    if (connection)
    {
        length = DefenderReport_FormatAddress(&pConnection->remoteAddress, pConnection->remotePort,
                                              address);
        if (length == 0U)
        {
            pWriter->invalid = true;
        }
        Key(pWriter, KEY_REMOTE_ADDR);
        Text(pWriter, address, length, TEXT_PLAIN);
    }
    Close(pWriter, DEFENDER_CBOR_MAP);
}

/**
 * @brief Writes a list block: `{list: [...], total}` (the list omitted when empty). With
 * `from` above 0 only the entries from there on are written, as if the others preceded
 * (the fitting logic measures one entry so).
 * @param[in,out] pWriter The writer.
 * @param[in] pContent The report.
 * @param[in] list 0: connections, 1: TCP ports, 2: UDP ports.
 * @param[in] listed Entries to list.
 * @param[in] from First entry written.
 */
static void EncodeList(DefenderReportWriter_t *pWriter, const DefenderReportContent_t *pContent,
                       size_t list, size_t listed, size_t from)
{
    const void *pEntries;
    uint64_t total;
    size_t i;

    (void) ListOf(pContent, list, &pEntries, &total);
    Open(pWriter, KEY_COUNT, DEFENDER_CBOR_MAP, (listed != 0U) ? 2U : 1U);
    if (listed != 0U)
    {
        Open(pWriter, (list == LIST_CONNECTIONS) ? KEY_CONNECTIONS : KEY_PORTS, DEFENDER_CBOR_ARRAY,
             listed);
        pWriter->comma = from != 0U;
        for (i = from; i < listed; i++)
        {
            EncodeEntry(pWriter, pEntries, list, i);
        }
        Close(pWriter, DEFENDER_CBOR_ARRAY);
    }
    KeyUint(pWriter, KEY_TOTAL, total);
    Close(pWriter, DEFENDER_CBOR_MAP);
}

/**
 * @brief Writes the `metrics` map: groups in the order of 10.8 (TCP ports, UDP ports,
 * network statistics, connections: bits 1, 2, 3, 0).
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
    uint32_t bit;
    uint32_t key;

    for (bits = groups; bits != 0U; bits &= bits - 1U)
    {
        count++;
    }
    Open(pWriter, KEY_METRICS, DEFENDER_CBOR_MAP, count);
    for (bits = 1U; bits <= 4U; bits++)
    {
        bit = bits & 3U;
        if ((groups & (1UL << bit)) != 0U)
        {
            key = KEY_TCP_CONNECTIONS + bit;
            if (bit == 3U)
            {
                /* The four counters are consecutive uint64_t members, in key order. */
                Open(pWriter, key, DEFENDER_CBOR_MAP, 4U);
                for (key = 0U; key < 4U; key++)
                {
                    KeyUint(pWriter, KEY_BYTES_IN + key, (&pStats->bytesIn)[key]);
                }
                Close(pWriter, DEFENDER_CBOR_MAP);
            }
            else
            {
                /* Connections are wrapped in `tcp_connections: {established_connections}`. */
                if (bit == LIST_CONNECTIONS)
                {
                    Open(pWriter, key, DEFENDER_CBOR_MAP, 1U);
                    key = KEY_ESTABLISHED;
                }
                Key(pWriter, key);
                EncodeList(pWriter, pContent, bit, pListed[bit], 0U);
                if (bit == LIST_CONNECTIONS)
                {
                    Close(pWriter, DEFENDER_CBOR_MAP);
                }
            }
        }
    }
    Close(pWriter, DEFENDER_CBOR_MAP);
}

/**
 * @brief Writes the value of one custom metric after its name: `[{<value key>: value}]`.
 * @param[in,out] pWriter The writer.
 * @param[in] pMetric The metric.
 */
static void EncodeCustom(DefenderReportWriter_t *pWriter,
                         const DefenderCustomMetricValue_t *pMetric)
{
    const DefenderCustomValue_t *pValue = &pMetric->value;
    const char *pText;
    size_t i;

    Text(pWriter, pMetric->pName, TextLength(pMetric->pName, SIZE_MAX), TEXT_KEY);
    Open(pWriter, KEY_COUNT, DEFENDER_CBOR_ARRAY, 1U);
    Open(pWriter, KEY_COUNT, DEFENDER_CBOR_MAP, 1U);
    Key(pWriter, (uint32_t) KEY_NUMBER + (uint32_t) pMetric->type);
    if (pMetric->type == DEFENDER_CUSTOM_NUMBER)
    {
        Number(pWriter, pValue->number);
    }
    else
    {
        Open(pWriter, KEY_COUNT, DEFENDER_CBOR_ARRAY, pValue->count);
        for (i = 0U; i < pValue->count; i++)
        {
            if (pMetric->type == DEFENDER_CUSTOM_NUMBER_LIST)
            {
                Number(pWriter, pValue->pNumbers[i]);
            }
            else
            {
                pText = pValue->ppStrings[i];
                Text(pWriter, pText, TextLength(pText, SIZE_MAX), 0U);
            }
        }
        Close(pWriter, DEFENDER_CBOR_ARRAY);
    }
    Close(pWriter, DEFENDER_CBOR_MAP);
    Close(pWriter, DEFENDER_CBOR_ARRAY);
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
    bool hasMetrics = ((pContent->groups & DEFENDER_METRIC_ALL) != 0U) || !CUSTOM_METRICS ||
                      (pContent->customCount == 0U) || pContent->emitEmptyMetrics;
    size_t i;

    pWriter->length = 0U;
    pWriter->pStart = NULL;
    pWriter->comma = false;
    Open(pWriter, KEY_COUNT, DEFENDER_CBOR_MAP,
         1U + (hasMetrics ? 1U : 0U) +
             ((CUSTOM_METRICS && (pContent->customCount != 0U)) ? 1U : 0U));
    Open(pWriter, KEY_HEADER, DEFENDER_CBOR_MAP, 2U);
    KeyUint(pWriter, KEY_REPORT_ID, pContent->reportId);
    Key(pWriter, KEY_VERSION);
    Text(pWriter, "1.0", 3U, TEXT_PLAIN);
    Close(pWriter, DEFENDER_CBOR_MAP);
    if (hasMetrics)
    {
        EncodeMetrics(pWriter, pContent, pListed);
    }
    if (CUSTOM_METRICS && (pContent->customCount != 0U))
    {
        Open(pWriter, KEY_CUSTOM_METRICS, DEFENDER_CBOR_MAP, pContent->customCount);
        for (i = 0U; i < pContent->customCount; i++)
        {
            EncodeCustom(pWriter, &pContent->pCustom[i]);
        }
        Close(pWriter, DEFENDER_CBOR_MAP);
    }
    Close(pWriter, DEFENDER_CBOR_MAP);
    DefenderReport_Flush(pWriter);
}

/* ---- Fitting ------------------------------------------------------------------------ */

/**
 * @brief Bytes of a list block counted with its last entry as the only one written.
 * @param[in] pWriter The real writer (format and key style).
 * @param[in] pContent The report.
 * @param[in] list 0: connections, 1: TCP ports, 2: UDP ports.
 * @param[in] listed Entries listed.
 * @param[in] from Entry written first (the others count as written before it).
 * @return The bytes counted.
 */
static size_t ListSize(const DefenderReportWriter_t *pWriter,
                       const DefenderReportContent_t *pContent, size_t list, size_t listed,
                       size_t from)
{
    DefenderReportWriter_t counter = *pWriter;

    counter.pBuffer = NULL;
    counter.length = 0U;
    counter.pStart = NULL;
    counter.comma = false;
    EncodeList(&counter, pContent, list, listed, from);
    DefenderReport_Flush(&counter);
    return counter.length;
}

/**
 * @brief Drops list entries, longest listed list first, until the size fits. The
 * saving of one drop is its list block with the entry minus the block without it,
 * both written from that entry on: the entry, its separator and any head change.
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
    size_t n;

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
        n = pListed[longest];
        size -= ListSize(pWriter, pContent, longest, n, n - 1U) -
                ListSize(pWriter, pContent, longest, n - 1U, n - 1U);
        pListed[longest] = n - 1U;
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
    uint64_t bits;

    /* IEEE 754 binary64: NaN and the infinities have every exponent bit set. */
    (void) memcpy(&bits, &value, sizeof(bits));
    return ((uint32_t) (bits >> 52) & 0x7FFU) != 0x7FFU;
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
 * @param[out] pListed Entries to list per list (all of a present group's entries).
 * @return true when valid.
 */
static bool ContentValid(const DefenderReportContent_t *pContent, DefenderFormat_t format,
                         DefenderKeyStyle_t keys, size_t *pListed)
{
    bool valid = DEFENDER_FORMAT_SUPPORTED(format) &&
                 ((uint32_t) keys <= (uint32_t) DEFENDER_KEYS_SHORT) &&
                 (pContent->reportId != 0U) && (pContent->reportId <= MAX_INT63) &&
                 ((pContent->pCustom != NULL) || (pContent->customCount == 0U));
    const DefenderCustomMetricValue_t *pMetric;
    const void *pEntries;
    uint64_t total;
    size_t count;
    size_t i;

    /* count <= total and entries present, for the three lists. */
    for (i = 0U; valid && (i < 3U); i++)
    {
        count = ListOf(pContent, i, &pEntries, &total);
        valid = ((uint64_t) count <= total) && ((pEntries != NULL) || (count == 0U));
        /* A list is listed whole when its group is present. */
        pListed[i] = (((pContent->groups >> i) & 1U) != 0U) ? count : 0U;
    }
    /* A build without custom metrics refuses them (and leaves their code out). */
    valid = valid && (CUSTOM_METRICS || (pContent->customCount == 0U));
    for (i = 0U; CUSTOM_METRICS && valid && (i < pContent->customCount); i++)
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
    DefenderReportWriter_t writer;
    size_t listed[3] = {0U, 0U, 0U};
    size_t size;

    (void) memset(&writer, 0, sizeof(writer));
    if ((pContent != NULL) && (pBuffer != NULL) && (pLength != NULL) &&
        ContentValid(pContent, format, keys, listed))
    {
        writer.pBuffer = pBuffer;
        /* PD-10: never more than the largest payload, whatever the buffer. */
        writer.bufferSize =
            (bufferSize < DEFENDER_MAX_PAYLOAD_SIZE) ? bufferSize : DEFENDER_MAX_PAYLOAD_SIZE;
        writer.cbor = (format == DEFENDER_FORMAT_CBOR);
        writer.shortKeys = (keys == DEFENDER_KEYS_SHORT);
        EncodeReport(&writer, pContent, listed);
        size = FitLists(&writer, pContent, listed);
        if ((size != writer.length) && (size <= writer.bufferSize))
        {
            /* Entries were dropped: write the report again with the new counts. */
            EncodeReport(&writer, pContent, listed);
            DEFENDER_ASSERT(writer.length == size);
        }
        status = writer.invalid                        ? DEFENDER_BAD_PARAMETER
                 : (writer.length > writer.bufferSize) ? DEFENDER_BUFFER_TOO_SMALL
                                                       : DEFENDER_SUCCESS;
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
 * @brief Tells whether a character is one of `[A-Za-z0-9:_-]`, or also `.` and `/`.
 * @param[in] c Character.
 * @param[in] dotSlash Also accept `.` and `/` (string-list entries).
 * @return true when it is.
 */
static bool NameChar(uint32_t c, bool dotSlash)
{
    /* `-`, `.`, `/`, `0`..`9` and `:` are the range 0x2D..0x3A. */
    return (((c | 0x20U) - (uint32_t) 'a') < 26U) || (c == (uint32_t) '_') ||
           (((c - (uint32_t) '-') < 14U) && (dotSlash || ((c - (uint32_t) '.') >= 2U)));
}

/**
 * @brief Counts the leading characters of a text that NameChar accepts.
 * @param[in] pText Text (read up to `maximum` bytes or the first other character).
 * @param[in] maximum Bytes that may be read.
 * @param[in] dotSlash Also accept `.` and `/` (string-list entries).
 * @return The count.
 */
static size_t NameLength(const char *pText, size_t maximum, bool dotSlash)
{
    size_t i = 0U;

    while ((i < maximum) && NameChar((uint8_t) pText[i], dotSlash))
    {
        i++;
    }
    return i;
}

bool Defender_CustomMetricNameValid(const char *pName, size_t length)
{
    return (pName != NULL) && (length >= 1U) && (length <= 128U) &&
           (NameLength(pName, length, false) == length) &&
           ((length < 4U) || (memcmp(pName, "aws:", 4U) != 0));
}

static bool ValueValid(DefenderCustomMetricType_t type, const DefenderCustomValue_t *pValue,
                       bool strict)
{
    bool numbers = (uint32_t) type <= (uint32_t) DEFENDER_CUSTOM_NUMBER_LIST;
    /* A single number is checked as a list of one. */
    const double *pNumbers = (type == DEFENDER_CUSTOM_NUMBER) ? &pValue->number : pValue->pNumbers;
    size_t count = (type == DEFENDER_CUSTOM_NUMBER) ? 1U : pValue->count;
    bool valid = ((uint32_t) type <= (uint32_t) DEFENDER_CUSTOM_IP_LIST) &&
                 ((count == 0U) || (numbers ? (pNumbers != NULL) : (pValue->ppStrings != NULL)));
    const char *pText;
    size_t i;
    size_t j;

    for (i = 0U; valid && (i < count); i++)
    {
        if (numbers)
        {
            valid = IsFinite(pNumbers[i]);
        }
        else
        {
            pText = pValue->ppStrings[i];
            valid = pText != NULL;
            if (valid && strict && (type == DEFENDER_CUSTOM_STRING_LIST))
            {
                /* `^[A-Za-z0-9:_./-]+$` */
                j = NameLength(pText, SIZE_MAX, true);
                valid = (j != 0U) && (pText[j] == '\0');
            }
            else if (valid && strict)
            {
                /* 46 bytes read at most: longer IP texts are invalid anyway. */
                valid = Defender_ParseIpAddress(pText, TextLength(pText, 46U), NULL);
            }
            else
            {
                /* Not strict: any text. */
            }
        }
    }
    return valid;
}

bool Defender_CustomMetricValueValid(DefenderCustomMetricType_t type,
                                     const DefenderCustomValue_t *pValue)
{
    return CUSTOM_METRICS && (pValue != NULL) && ValueValid(type, pValue, true);
}
