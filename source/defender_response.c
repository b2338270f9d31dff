/**
 * @file defender_response.c
 * @brief Decoder of Device Defender responses (protocol spec section 5), JSON and CBOR.
 *
 * One small pull reader serves both formats: it yields one item head at a time (map,
 * array, text, unsigned integer, tag or "other" scalar), reads text into the current
 * output buffer, and steps through container members. The field walk on top of it is
 * shared. No heap; the only recursion is the skip of unknown values, bounded by
 * DEFENDER_RESPONSE_MAX_DEPTH.
 */
#include <string.h>

#include "defender_protocol.h"
#include "private/defender_response_private.h"

/** @brief Item kinds yielded by the reader. */
#define ITEM_MAP   0U /**< JSON object, CBOR major type 5. */
#define ITEM_ARRAY 1U /**< JSON array, CBOR major type 4. */
#define ITEM_TEXT  2U /**< String; its text went to the reader's output. */
#define ITEM_UINT  3U /**< Integer 0..2^64-1; value in Item_t.value. */
#define ITEM_TAG   4U /**< CBOR tag; number in Item_t.value. */
#define ITEM_OTHER 5U /**< Any other scalar (negative, float, bool, null, bytes...). */

/** @brief CBOR self-describe tag. */
#define CBOR_SELF_DESCRIBE 55799U

/** @brief Index of each known key in knownKeys. */
#define KEY_THING_NAME     0U
#define KEY_REPORT_ID      1U
#define KEY_STATUS         2U
#define KEY_STATUS_DETAILS 3U
#define KEY_TIMESTAMP      4U
#define KEY_ERROR_CODE     5U
#define KEY_ERROR_MESSAGE  6U
#define KEY_UNKNOWN        7U

/** @brief Known keys, NUL-separated, in the order of the KEY_ ids. */
static const char knownKeys[] =
    "thingName\0reportId\0status\0statusDetails\0timestamp\0ErrorCode\0ErrorMessage";

/** @brief One item head, and the iteration state when it is a container. */
typedef struct Item
{
    uint64_t value;  /**< Integer, tag number, or members left in a definite container. */
    uint8_t type;    /**< ITEM_*. */
    bool indefinite; /**< CBOR container of indefinite length. */
    bool started;    /**< JSON container: a member was read already. */
} Item_t;

/** @brief Reader state. */
typedef struct Reader
{
    const uint8_t *pIn; /**< Payload. */
    size_t length;      /**< Its length. */
    size_t position;    /**< Next byte to read. */
    bool cbor;          /**< Format. */
    bool failed;        /**< Sticky: the payload is malformed. */
    bool noNul;         /**< A U+0000 in the text being read is malformed. */
    bool truncated;     /**< The text being read did not fit pOut. */
    char *pOut;         /**< Where text goes (NULL: dropped). */
    size_t outSize;     /**< Its size, terminator included. */
    size_t outLength;   /**< Bytes written so far. */
} Reader_t;

/**
 * @brief Directs the text of the next item to a buffer.
 * @param[in,out] pReader Reader.
 * @param[out] pOut Buffer (NULL to drop the text).
 * @param[in] size Its size including the terminator.
 * @param[in] noNul true when U+0000 is malformed in this text.
 */
static void setOutput(Reader_t *pReader, char *pOut, size_t size, bool noNul)
{
    pReader->pOut = pOut;
    pReader->outSize = size;
    pReader->outLength = 0U;
    pReader->truncated = false;
    pReader->noNul = noNul;

    if (pOut != NULL)
    {
        pOut[0] = '\0';
    }
}

/**
 * @brief Appends one whole UTF-8 character to the output, or stops the output there
 * (truncation on a character boundary) when it does not fit.
 * @param[in,out] pReader Reader.
 * @param[in] pBytes The character's bytes.
 * @param[in] length Their number, 1..4.
 */
static void putCharacter(Reader_t *pReader, const uint8_t *pBytes, size_t length)
{
    if (pReader->noNul && (pBytes[0] == 0U))
    {
        pReader->failed = true;
    }
    else if (pReader->truncated || ((pReader->outLength + length) >= pReader->outSize))
    {
        pReader->truncated = true;
    }
    else
    {
        (void) memcpy(&pReader->pOut[pReader->outLength], pBytes, length);
        pReader->outLength += length;
        pReader->pOut[pReader->outLength] = '\0';
    }
}

/**
 * @brief Validates and copies UTF-8 text (a CBOR text chunk, or a raw JSON run).
 * @param[in,out] pReader Reader, at the text.
 * @param[in] length Bytes of text.
 */
static void readUtf8(Reader_t *pReader, size_t length)
{
    size_t end = pReader->position + length;

    while (!pReader->failed && (pReader->position < end))
    {
        size_t step =
            Defender_Utf8SequenceLength(&pReader->pIn[pReader->position], end - pReader->position);

        if (step == 0U)
        {
            pReader->failed = true;
        }
        else
        {
            putCharacter(pReader, &pReader->pIn[pReader->position], step);
            pReader->position += step;
        }
    }
}

/**
 * @brief Next JSON byte after whitespace (not consumed), or 0 at the end.
 * @param[in,out] pReader Reader.
 * @return The byte, or 0 at the end of the input.
 */
static uint8_t peekJson(Reader_t *pReader)
{
    uint8_t c = 0U;
    bool space = true;

    while (space && (pReader->position < pReader->length))
    {
        c = pReader->pIn[pReader->position];
        space = (c == (uint8_t) ' ') || (c == (uint8_t) '\t') || (c == (uint8_t) '\n') ||
                (c == (uint8_t) '\r');

        if (space)
        {
            c = 0U;
            pReader->position++;
        }
    }

    return c;
}

/**
 * @brief Reads the next byte, or fails the reader at the end of the input.
 * @param[in,out] pReader Reader.
 * @return The byte, or 0 at the end.
 */
static uint8_t nextByte(Reader_t *pReader)
{
    uint8_t c = 0U;

    if (pReader->position < pReader->length)
    {
        c = pReader->pIn[pReader->position];
        pReader->position++;
    }
    else
    {
        pReader->failed = true;
    }

    return c;
}

/**
 * @brief Reads four hex digits of a JSON `\\u` escape.
 * @param[in,out] pReader Reader, after `\\u`.
 * @return The value, or a value above 0xFFFF when a digit is not hex.
 */
static uint32_t readHex4(Reader_t *pReader)
{
    uint32_t value = 0U;
    uint32_t invalid = 0U;
    uint32_t i;

    for (i = 0U; i < 4U; i++)
    {
        uint32_t c = nextByte(pReader);

        if ((c >= (uint32_t) '0') && (c <= (uint32_t) '9'))
        {
            c -= (uint32_t) '0';
        }
        else if (((c | 0x20U) >= (uint32_t) 'a') && ((c | 0x20U) <= (uint32_t) 'f'))
        {
            c = (c | 0x20U) - (uint32_t) 'a' + 10U;
        }
        else
        {
            invalid = 0x110000U;
        }
        value = (value << 4) | (c & 0x0FU);
    }

    return value | invalid;
}

/**
 * @brief Reads the rest of a JSON string (after the opening quote) into the output.
 * @param[in,out] pReader Reader.
 */
static void readJsonString(Reader_t *pReader)
{
    static const char escapes[] = "\"\"\\\\//b\bf\fn\nr\rt\t";
    bool done = false;

    while (!pReader->failed && !done)
    {
        uint8_t c = nextByte(pReader);

        if (c == (uint8_t) '"')
        {
            done = true;
        }
        else if (c < 0x20U)
        {
            pReader->failed = true;
        }
        else if (c != (uint8_t) '\\')
        {
            size_t step;

            pReader->position--;
            step = Defender_Utf8SequenceLength(&pReader->pIn[pReader->position],
                                               pReader->length - pReader->position);
            pReader->failed = (step == 0U);
            readUtf8(pReader, step);
        }
        else
        {
            uint8_t e = nextByte(pReader);
            uint32_t codePoint = 0x110000U;
            uint8_t utf8[4];
            size_t i;

            for (i = 0U; i < (sizeof(escapes) - 1U); i += 2U)
            {
                if ((uint8_t) escapes[i] == e)
                {
                    codePoint = (uint8_t) escapes[i + 1U];
                }
            }

            if (e == (uint8_t) 'u')
            {
                codePoint = readHex4(pReader);

                if ((codePoint >= 0xD800U) && (codePoint < 0xDC00U) &&
                    (nextByte(pReader) == (uint8_t) '\\') && (nextByte(pReader) == (uint8_t) 'u'))
                {
                    uint32_t low = readHex4(pReader);

                    codePoint = ((low & 0xFFFFFC00U) == 0xDC00U)
                                    ? (0x10000U + ((codePoint - 0xD800U) << 10) + (low - 0xDC00U))
                                    : 0x110000U;
                }
            }

            if ((codePoint > 0x10FFFFU) || ((codePoint & 0xFFFFF800U) == 0xD800U))
            {
                pReader->failed = true;
            }
            else if (codePoint < 0x80U)
            {
                utf8[0] = (uint8_t) codePoint;
                putCharacter(pReader, utf8, 1U);
            }
            else
            {
                size_t length = (codePoint < 0x800U) ? 2U : ((codePoint < 0x10000U) ? 3U : 4U);

                for (i = length - 1U; i > 0U; i--)
                {
                    utf8[i] = (uint8_t) (0x80U | (codePoint & 0x3FU));
                    codePoint >>= 6;
                }
                utf8[0] = (uint8_t) ((0xF00U >> length) | codePoint);
                putCharacter(pReader, utf8, length);
            }
        }
    }
}

/**
 * @brief Reads the rest of a JSON literal.
 * @param[in,out] pReader Reader, after the literal's first letter.
 * @param[in] pRest The letters that must follow.
 */
static void readLiteral(Reader_t *pReader, const char *pRest)
{
    size_t i;

    for (i = 0U; pRest[i] != '\0'; i++)
    {
        if (nextByte(pReader) != (uint8_t) pRest[i])
        {
            pReader->failed = true;
        }
    }
}

/**
 * @brief Reads a run of decimal digits.
 * @param[in,out] pReader Reader.
 * @param[in,out] pValue Accumulated value.
 * @param[in,out] pOverflow Set when the value passes 2^64-1.
 * @return The number of digits read.
 */
static size_t readDigits(Reader_t *pReader, uint64_t *pValue, bool *pOverflow)
{
    size_t count = 0U;

    while ((pReader->position < pReader->length) &&
           ((uint8_t) (pReader->pIn[pReader->position] - (uint8_t) '0') < 10U))
    {
        uint64_t digit = (uint64_t) pReader->pIn[pReader->position] - (uint64_t) '0';

        if (*pValue > (UINT64_MAX / 10U))
        {
            *pOverflow = true;
        }
        *pValue = (*pValue * 10U) + digit;
        *pOverflow = *pOverflow || (*pValue < digit);
        pReader->position++;
        count++;
    }

    return count;
}

/**
 * @brief The byte at the read position, without skipping white space (inside a number
 * white space ends it), or 0 at the end of the input.
 * @param[in] pReader Reader.
 * @return The byte.
 */
static uint8_t peekRaw(const Reader_t *pReader)
{
    return (pReader->position < pReader->length) ? pReader->pIn[pReader->position] : 0U;
}

/**
 * @brief Reads a JSON number (RFC 8259 grammar).
 * @param[in,out] pReader Reader, at the number.
 * @param[out] pItem ITEM_UINT for a non-negative integer without fraction or exponent
 * that fits 64 bits; ITEM_OTHER for any other valid number.
 */
static void readJsonNumber(Reader_t *pReader, Item_t *pItem)
{
    uint64_t ignored = 0U;
    bool other = (peekJson(pReader) == (uint8_t) '-');
    uint8_t c;

    pReader->position += other ? 1U : 0U;
    c = peekRaw(pReader);

    if (c == (uint8_t) '0')
    {
        pReader->position++;
    }
    else if (readDigits(pReader, &pItem->value, &other) == 0U)
    {
        pReader->failed = true;
    }
    else
    {
        /* Integer part read. */
    }

    c = peekRaw(pReader);
    if (c == (uint8_t) '.')
    {
        pReader->position++;
        pReader->failed |= (readDigits(pReader, &ignored, &other) == 0U);
        other = true;
        c = peekRaw(pReader);
    }
    if ((c | 0x20U) == (uint8_t) 'e')
    {
        pReader->position++;
        c = peekRaw(pReader);
        pReader->position += ((c == (uint8_t) '+') || (c == (uint8_t) '-')) ? 1U : 0U;
        pReader->failed |= (readDigits(pReader, &ignored, &other) == 0U);
        other = true;
    }

    pItem->type = other ? ITEM_OTHER : ITEM_UINT;
}

/**
 * @brief Reads the head of the next JSON value; text goes to the reader's output.
 * @param[in,out] pReader Reader.
 * @param[out] pItem The item.
 */
static void readJsonItem(Reader_t *pReader, Item_t *pItem)
{
    uint8_t c = peekJson(pReader);

    pReader->position++;

    switch (c)
    {
        case (uint8_t) '{':
            pItem->type = ITEM_MAP;
            break;
        case (uint8_t) '[':
            pItem->type = ITEM_ARRAY;
            break;
        case (uint8_t) '"':
            pItem->type = ITEM_TEXT;
            readJsonString(pReader);
            break;
        case (uint8_t) 't':
            readLiteral(pReader, "rue");
            break;
        case (uint8_t) 'f':
            readLiteral(pReader, "alse");
            break;
        case (uint8_t) 'n':
            readLiteral(pReader, "ull");
            break;
        default:
            pReader->position--;
            if ((c == (uint8_t) '-') || ((uint8_t) (c - (uint8_t) '0') < 10U))
            {
                readJsonNumber(pReader, pItem);
            }
            else
            {
                pReader->failed = true;
            }
            break;
    }
}

/**
 * @brief Reads a CBOR initial byte and its argument.
 * @param[in,out] pReader Reader.
 * @param[out] pValue The argument (additional information 0..27), or 31 for
 * indefinite length / break.
 * @return The initial byte.
 */
static uint8_t readCborHead(Reader_t *pReader, uint64_t *pValue)
{
    uint8_t initial = nextByte(pReader);
    uint8_t info = initial & 0x1FU;
    uint64_t value = info;

    if ((info >= 24U) && (info < 28U))
    {
        uint32_t count = 1U << (info - 24U);

        value = 0U;
        while (count > 0U)
        {
            value = (value << 8) | nextByte(pReader);
            count--;
        }
    }
    else if ((info >= 28U) && (info < 31U))
    {
        pReader->failed = true;
    }
    else
    {
        /* Argument in the initial byte, or 31. */
    }

    *pValue = value;

    return initial;
}

/**
 * @brief Consumes a CBOR `break` when one comes next.
 * @param[in,out] pReader Reader.
 * @return true when a break was consumed or the reader failed (input ended).
 */
static bool readCborBreak(Reader_t *pReader)
{
    bool isBreak = true;

    if (pReader->position >= pReader->length)
    {
        pReader->failed = true;
    }
    else if (pReader->pIn[pReader->position] == 0xFFU)
    {
        pReader->position++;
    }
    else
    {
        isBreak = pReader->failed;
    }

    return isBreak;
}

/**
 * @brief Consumes one definite CBOR string; text is validated and sent to the output.
 * @param[in,out] pReader Reader, at the string's bytes.
 * @param[in] major 2 (bytes) or 3 (text).
 * @param[in] length Its length.
 */
static void readCborChunk(Reader_t *pReader, uint8_t major, uint64_t length)
{
    if (length > (uint64_t) (pReader->length - pReader->position))
    {
        pReader->failed = true;
    }
    else if (major == 3U)
    {
        readUtf8(pReader, (size_t) length);
    }
    else
    {
        pReader->position += (size_t) length;
    }
}

/**
 * @brief Reads the head of the next CBOR item; text goes to the reader's output.
 * @param[in,out] pReader Reader.
 * @param[out] pItem The item.
 */
static void readCborItem(Reader_t *pReader, Item_t *pItem)
{
    static const uint8_t majorTypes[8] = {ITEM_UINT,  ITEM_OTHER, ITEM_OTHER, ITEM_TEXT,
                                          ITEM_ARRAY, ITEM_MAP,   ITEM_TAG,   ITEM_OTHER};
    uint8_t initial = readCborHead(pReader, &pItem->value);
    uint8_t major = initial >> 5;

    pItem->type = majorTypes[major];

    if ((initial & 0x1FU) == 0x1FU)
    {
        /* Indefinite length: strings, arrays and maps only (a stray break fails here). */
        pItem->indefinite = true;
        pReader->failed |= (major < 2U) || (major > 5U);
    }

    if ((major == 2U) || (major == 3U))
    {
        if (!pItem->indefinite)
        {
            readCborChunk(pReader, major, pItem->value);
        }
        while (pItem->indefinite && !readCborBreak(pReader))
        {
            uint64_t length;
            uint8_t chunk = readCborHead(pReader, &length);

            pReader->failed =
                pReader->failed || ((chunk >> 5) != major) || ((chunk & 0x1FU) == 0x1FU);
            readCborChunk(pReader, major, length);
        }
    }
    else if ((major == 7U) && (((initial & 0x1FU) < 20U) || ((initial & 0x1FU) == 24U)))
    {
        /* Unassigned simple values: only false, true, null, undefined and floats pass. */
        pReader->failed = true;
    }
    else
    {
        /* Floats and other arguments were consumed with the head. */
    }
}

/**
 * @brief Reads the head of the next item.
 * @param[in,out] pReader Reader.
 * @param[out] pItem The item (ITEM_OTHER when the reader failed).
 */
static void readItem(Reader_t *pReader, Item_t *pItem)
{
    (void) memset(pItem, 0, sizeof(*pItem));
    pItem->type = ITEM_OTHER;

    if (pReader->cbor)
    {
        readCborItem(pReader, pItem);
    }
    else
    {
        readJsonItem(pReader, pItem);
    }

    if (pReader->failed)
    {
        pItem->type = ITEM_OTHER;
    }
}

/**
 * @brief Steps to the next member of a map or array.
 * @param[in,out] pReader Reader.
 * @param[in,out] pItem The container.
 * @return true when a member follows; false at its end or on failure.
 */
static bool nextMember(Reader_t *pReader, Item_t *pItem)
{
    bool more = false;

    if (pReader->cbor)
    {
        if (pItem->indefinite)
        {
            more = !readCborBreak(pReader);
        }
        else if (pItem->value > 0U)
        {
            pItem->value--;
            more = true;
        }
        else
        {
            /* Definite container done. */
        }
    }
    else
    {
        uint8_t c = peekJson(pReader);

        if (c == ((pItem->type == ITEM_MAP) ? (uint8_t) '}' : (uint8_t) ']'))
        {
            pReader->position++;
        }
        else if (!pItem->started)
        {
            pItem->started = true;
            more = true;
        }
        else if (c == (uint8_t) ',')
        {
            pReader->position++;
            more = true;
        }
        else
        {
            pReader->failed = true;
        }
    }

    return more && !pReader->failed;
}

/**
 * @brief Steps to the next key of a map and reads it (and, in JSON, its colon).
 * @param[in,out] pReader Reader.
 * @param[in,out] pMap The map.
 * @param[out] pKey Buffer for the key (NULL to drop it).
 * @param[in] keySize Its size.
 * @return true when a key was read.
 */
static bool nextKey(Reader_t *pReader, Item_t *pMap, char *pKey, size_t keySize)
{
    bool more = nextMember(pReader, pMap);

    if (more)
    {
        Item_t key;

        setOutput(pReader, pKey, keySize, false);
        readItem(pReader, &key);
        pReader->failed |= (key.type != ITEM_TEXT);

        if (!pReader->cbor)
        {
            pReader->failed |= (peekJson(pReader) != (uint8_t) ':');
            pReader->position++;
        }
    }

    return more && !pReader->failed;
}

/**
 * @brief Skips one value of any type, validating it.
 * @param[in,out] pReader Reader.
 * @param[in] depth Nesting level of the container holding the value (top map: 1).
 */
static void skipValue(Reader_t *pReader, uint32_t depth)
{
    Item_t item;

    setOutput(pReader, NULL, 0U, false);
    readItem(pReader, &item);

    if (item.type == ITEM_TAG)
    {
        pReader->failed = true;
    }
    else if ((item.type == ITEM_MAP) || (item.type == ITEM_ARRAY))
    {
        pReader->failed |= (depth >= DEFENDER_RESPONSE_MAX_DEPTH);

        while ((item.type == ITEM_MAP) ? nextKey(pReader, &item, NULL, 0U)
                                       : nextMember(pReader, &item))
        {
            skipValue(pReader, depth + 1U);
        }
    }
    else
    {
        /* Scalar: already consumed. */
    }
}

/**
 * @brief Finds a key among the known keys of one level.
 * @param[in] pReader Reader holding the key just read.
 * @param[in] first First key id of the level.
 * @param[in] last Last key id of the level.
 * @return The key id, or KEY_UNKNOWN.
 */
static uint8_t findKey(const Reader_t *pReader, uint8_t first, uint8_t last)
{
    uint8_t id = KEY_UNKNOWN;
    uint8_t i;
    const char *pKnown = knownKeys;

    for (i = 0U; i <= last; i++)
    {
        size_t length = strlen(pKnown);

        if ((i >= first) && !pReader->truncated && (length == pReader->outLength) &&
            (memcmp(pKnown, pReader->pOut, length) == 0))
        {
            id = i;
        }
        pKnown = &pKnown[length + 1U];
    }

    return id;
}

static void readFields(Reader_t *pReader, Item_t *pMap, DefenderResponse_t *pResponse,
                       uint32_t *pSeen, uint32_t depth);

/**
 * @brief Reads the value of one field of the response.
 * @param[in,out] pReader Reader, at the value.
 * @param[in] id Key id.
 * @param[in,out] pResponse Response being filled.
 * @param[in,out] pSeen Bit mask of the known keys met so far.
 * @param[in] depth Nesting level of the map holding the field.
 */
static void readField(Reader_t *pReader, uint8_t id, DefenderResponse_t *pResponse, uint32_t *pSeen,
                      uint32_t depth)
{
    static const uint8_t types[KEY_UNKNOWN] = {ITEM_TEXT, ITEM_UINT, ITEM_TEXT, ITEM_MAP,
                                               ITEM_UINT, ITEM_TEXT, ITEM_TEXT};
    char statusText[sizeof("ACCEPTED")];
    Item_t item;

    if (id == KEY_UNKNOWN)
    {
        skipValue(pReader, depth);
    }
    else
    {
        pReader->failed |= ((*pSeen & (1U << id)) != 0U);
        *pSeen |= 1U << id;

        if (id == KEY_THING_NAME)
        {
            setOutput(pReader, pResponse->thingName, sizeof(pResponse->thingName), true);
        }
        else if (id == KEY_STATUS)
        {
            setOutput(pReader, statusText, sizeof(statusText), true);
        }
        else if (id == KEY_ERROR_CODE)
        {
            setOutput(pReader, pResponse->errorCode, sizeof(pResponse->errorCode), true);
        }
        else if (id == KEY_ERROR_MESSAGE)
        {
            setOutput(pReader, pResponse->errorMessage, sizeof(pResponse->errorMessage), true);
        }
        else
        {
            setOutput(pReader, NULL, 0U, false);
        }

        readItem(pReader, &item);
        pReader->failed |= (item.type != types[id]);

        if (id == KEY_THING_NAME)
        {
            pResponse->hasThingName = true;
            pResponse->thingNameTruncated = pReader->truncated;
        }
        else if (id == KEY_REPORT_ID)
        {
            pReader->failed =
                pReader->failed || (item.value == 0U) || (item.value > (uint64_t) INT64_MAX);
            pResponse->hasReportId = true;
            pResponse->reportId = item.value;
        }
        else if (id == KEY_TIMESTAMP)
        {
            pResponse->hasTimestamp = true;
            pResponse->timestamp = item.value;
        }
        else if (id == KEY_STATUS)
        {
            if (!pReader->truncated && (memcmp(statusText, "REJECTED", sizeof(statusText)) == 0))
            {
                pResponse->status = DEFENDER_RESPONSE_REJECTED;
            }
            else
            {
                pReader->failed |=
                    pReader->truncated || (memcmp(statusText, "ACCEPTED", sizeof(statusText)) != 0);
            }
        }
        else if (id == KEY_STATUS_DETAILS)
        {
            readFields(pReader, &item, pResponse, pSeen, depth + 1U);
        }
        else
        {
            /* ErrorCode and ErrorMessage: stored (and truncated) by the reader. */
        }
    }
}

/**
 * @brief Reads the members of the top-level map or of `statusDetails`.
 * @param[in,out] pReader Reader, after the map's head.
 * @param[in,out] pMap The map.
 * @param[in,out] pResponse Response being filled.
 * @param[in,out] pSeen Bit mask of the known keys met so far.
 * @param[in] depth Nesting level of the map (top: 1; `statusDetails`: 2).
 */
static void readFields(Reader_t *pReader, Item_t *pMap, DefenderResponse_t *pResponse,
                       uint32_t *pSeen, uint32_t depth)
{
    char key[sizeof("statusDetails")];

    while (!pReader->failed && nextKey(pReader, pMap, key, sizeof(key)))
    {
        readField(pReader,
                  (depth == 1U) ? findKey(pReader, KEY_THING_NAME, KEY_TIMESTAMP)
                                : findKey(pReader, KEY_ERROR_CODE, KEY_ERROR_MESSAGE),
                  pResponse, pSeen, depth);
    }
}

DefenderStatus_t Defender_ParseResponse(DefenderFormat_t format, const uint8_t *pPayload,
                                        size_t payloadLength, DefenderResponse_t *pResponse)
{
    DefenderStatus_t status = DEFENDER_BAD_PARAMETER;
    Reader_t reader;
    Item_t item;
    uint32_t seen = 0U;

    if ((pPayload != NULL) && (pResponse != NULL) &&
        ((unsigned) format <= (unsigned) DEFENDER_FORMAT_CBOR))
    {
        (void) memset(pResponse, 0, sizeof(*pResponse));
        (void) memset(&reader, 0, sizeof(reader));
        reader.pIn = pPayload;
        reader.length = payloadLength;
        reader.cbor = (format == DEFENDER_FORMAT_CBOR);

        readItem(&reader, &item);
        if ((item.type == ITEM_TAG) && (item.value == CBOR_SELF_DESCRIBE))
        {
            readItem(&reader, &item);
        }
        reader.failed |= (item.type != ITEM_MAP);

        readFields(&reader, &item, pResponse, &seen, 1U);

        if (!reader.cbor)
        {
            /* Trailing whitespace, then at most one NUL. */
            (void) peekJson(&reader);
            if ((reader.position < reader.length) && (reader.pIn[reader.position] == 0U))
            {
                reader.position++;
            }
        }

        status = (reader.failed || (reader.position != reader.length) ||
                  ((seen & (1U << KEY_STATUS)) == 0U))
                     ? DEFENDER_MALFORMED
                     : DEFENDER_SUCCESS;
    }

    return status;
}
