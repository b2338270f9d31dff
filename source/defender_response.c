/**
 * @file defender_response.c
 * @brief Decoder of Device Defender responses (protocol spec section 5), JSON and CBOR.
 *
 * One flat pull reader serves both formats: it yields one item head at a time (map,
 * array, text, unsigned integer, tag or "other" scalar) and sends text to the current
 * output buffer. One iterative walk on top of it reads every member of every map and
 * array with a small explicit stack (no recursion), bounded by
 * DEFENDER_RESPONSE_MAX_DEPTH (the one self-call reads a chunk of an indefinite CBOR
 * string, one level); the known keys are found in a table.
 */
#include <stddef.h>
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
#define KEY_ROOT           7U /**< The document: one map, maybe tagged 55799. */
#define KEY_UNKNOWN        8U

/** @brief Frame flags. */
#define FRAME_MAP        0x01U /**< A map (else an array). */
#define FRAME_INDEFINITE 0x02U /**< CBOR container of indefinite length. */
#define FRAME_STARTED    0x04U /**< JSON container: a member was read already. */
#define FRAME_TOP        0x08U /**< The top-level map (keys 0..4 known). */
#define FRAME_DETAILS    0x10U /**< `statusDetails` (keys 5..6 known). */
#define FRAME_ROOT       0x20U /**< The document, holding one item. */

/** @brief Known keys, NUL-separated, in the order of the KEY_ ids. */
static const char knownKeys[] =
    "thingName\0reportId\0status\0statusDetails\0timestamp\0ErrorCode\0ErrorMessage";

/** @brief One item head. */
typedef struct Item
{
    uint64_t value;  /**< Integer, tag number, or members of a definite container. */
    uint8_t type;    /**< ITEM_*. */
    bool indefinite; /**< CBOR container of indefinite length. */
} Item_t;

/** @brief One open container. */
typedef struct Frame
{
    size_t left;   /**< CBOR definite container: members (pairs for maps) left. */
    uint8_t flags; /**< FRAME_*. */
} Frame_t;

/** @brief Reader state. */
typedef struct Reader
{
    const uint8_t *pIn; /**< Payload. */
    size_t length;      /**< Its length (or the end of the CBOR chunk being read). */
    size_t position;    /**< Next byte to read. */
    bool cbor;          /**< Format. */
    bool failed;        /**< Sticky: the payload is malformed. */
    bool noNul;         /**< A U+0000 in the text being read is malformed. */
    bool truncated;     /**< The text being read did not fit pOut. */
    char *pOut;         /**< Where text goes. */
    size_t outSize;     /**< Its size, terminator included. */
    size_t outLength;   /**< Bytes written so far. */
} Reader_t;

/**
 * @brief Directs the text of the next item to a buffer.
 * @param[in,out] pReader Reader.
 * @param[out] pOut Buffer.
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
    pOut[0] = '\0';
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
 * @brief Validates and copies the UTF-8 character at the read position.
 * @param[in,out] pReader Reader.
 */
static void copyCharacter(Reader_t *pReader)
{
    const uint8_t *pBytes = &pReader->pIn[pReader->position];
    size_t step = Defender_Utf8SequenceLength(pBytes, pReader->length - pReader->position);

    pReader->failed |= (step == 0U);
    putCharacter(pReader, pBytes, step);
    pReader->position += step;
}

/**
 * @brief The byte at the read position, or 0 at the end of the input.
 * @param[in] pReader Reader.
 * @return The byte.
 */
static uint8_t peekRaw(const Reader_t *pReader)
{
    return (pReader->position < pReader->length) ? pReader->pIn[pReader->position] : 0U;
}

/**
 * @brief Next JSON byte after white space (not consumed), or 0 at the end.
 * @param[in,out] pReader Reader.
 * @return The byte, or 0 at the end of the input.
 */
static uint8_t peekJson(Reader_t *pReader)
{
    uint8_t c = peekRaw(pReader);

    while ((c == (uint8_t) ' ') || ((uint8_t) (c - (uint8_t) '\t') < 2U) || (c == (uint8_t) '\r'))
    {
        pReader->position++;
        c = peekRaw(pReader);
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
    uint8_t c = peekRaw(pReader);

    pReader->failed |= (pReader->position >= pReader->length);
    pReader->position++;

    return c;
}

/**
 * @brief Reads four hex digits of a JSON `\\u` escape.
 * @param[in,out] pReader Reader, after `\\u`.
 * @return The value, or a value above 0x10FFFF when a digit is not hex.
 */
static uint32_t readHex4(Reader_t *pReader)
{
    uint32_t value = 0U;
    uint32_t invalid = 0U;
    uint32_t i;

    for (i = 0U; i < 4U; i++)
    {
        uint32_t c = nextByte(pReader);
        uint32_t letter = (c | 0x20U) - (uint32_t) 'a';

        if ((c - (uint32_t) '0') < 10U)
        {
            c -= (uint32_t) '0';
        }
        else if (letter < 6U)
        {
            c = letter + 10U;
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
    uint8_t c = nextByte(pReader);

    while (!pReader->failed && (c != (uint8_t) '"'))
    {
        if (c < 0x20U)
        {
            pReader->failed = true;
        }
        else if (c != (uint8_t) '\\')
        {
            pReader->position--;
            copyCharacter(pReader);
        }
        else
        {
            uint8_t e = nextByte(pReader);
            uint32_t codePoint = 0x110000U;
            uint8_t utf8[4];
            size_t i;
            size_t length;

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

                if (((codePoint & 0xFFFFFC00U) == 0xD800U) &&
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
                length = (codePoint < 0x800U) ? 2U : ((codePoint < 0x10000U) ? 3U : 4U);

                for (i = length - 1U; i > 0U; i--)
                {
                    utf8[i] = (uint8_t) (0x80U | (codePoint & 0x3FU));
                    codePoint >>= 6;
                }
                utf8[0] = (uint8_t) ((0xF00U >> length) | codePoint);
                putCharacter(pReader, utf8, length);
            }
        }
        c = nextByte(pReader);
    }
}

/**
 * @brief Reads a run of decimal digits into the item's value (no white space inside).
 * @param[in,out] pReader Reader.
 * @param[in,out] pItem Item; its type becomes ITEM_OTHER when the value passes 2^64-1.
 * @return The number of digits read.
 */
static size_t readDigits(Reader_t *pReader, Item_t *pItem)
{
    size_t start = pReader->position;
    uint8_t digit = (uint8_t) (peekRaw(pReader) - (uint8_t) '0');

    while (digit < 10U)
    {
        uint64_t value = pItem->value;

        pItem->value = (value * 10U) + digit;
        if ((value > (UINT64_MAX / 10U)) || (pItem->value < digit))
        {
            pItem->type = ITEM_OTHER;
        }
        pReader->position++;
        digit = (uint8_t) (peekRaw(pReader) - (uint8_t) '0');
    }

    return pReader->position - start;
}

/**
 * @brief Reads a JSON number (RFC 8259 grammar): an integer part after an optional
 * `-`, then an optional fraction after `.`, then an optional exponent after `e` or `E`
 * and an optional sign; each part holds at least one digit.
 * @param[in,out] pReader Reader, at the number.
 * @param[out] pItem ITEM_UINT for a non-negative integer without fraction or exponent
 * that fits 64 bits; ITEM_OTHER for any other valid number.
 */
static void readJsonNumber(Reader_t *pReader, Item_t *pItem)
{
    static const char marks[] = "-.e";
    size_t part;

    pItem->type = ITEM_UINT;

    for (part = 0U; part < 3U; part++)
    {
        uint8_t c = peekRaw(pReader);
        bool present = ((c | ((part == 2U) ? 0x20U : 0U)) == (uint8_t) marks[part]);
        size_t start;
        size_t count;

        if (present)
        {
            pReader->position++;
            pItem->type = ITEM_OTHER;
            c = peekRaw(pReader);
            pReader->position +=
                ((part == 2U) && ((c == (uint8_t) '+') || (c == (uint8_t) '-'))) ? 1U : 0U;
        }
        if ((part == 0U) || present)
        {
            start = pReader->position;
            count = readDigits(pReader, pItem);
            /* No leading zero in the integer part. */
            pReader->failed |= (count == 0U) || ((part == 0U) && (count > 1U) &&
                                                 (pReader->pIn[start] == (uint8_t) '0'));
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
        pReader->failed |= (nextByte(pReader) != (uint8_t) pRest[i]);
    }
}

/**
 * @brief Reads the head of the next JSON value; text goes to the reader's output.
 * @param[in,out] pReader Reader.
 * @param[out] pItem The item (ITEM_OTHER on entry).
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
            /* A number, or malformed (no digit). */
            readJsonNumber(pReader, pItem);
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

    if (info >= 24U)
    {
        uint32_t count = 1U << (info & 3U);

        pReader->failed |= (info >= 28U) && (info < 31U);
        value = 0U;
        while ((count > 0U) && (info < 28U))
        {
            value = (value << 8) | nextByte(pReader);
            count--;
        }
    }

    *pValue = value;

    return initial;
}

/**
 * @brief Reads the head of the next CBOR item; text goes to the reader's output.
 * @param[in,out] pReader Reader.
 * @param[out] pItem The item.
 * @param[in] chunkOf 0, or the major type (2 or 3) of the indefinite string whose
 * chunk this item must be (a definite string of that type).
 */
static void readCborItem(Reader_t *pReader, Item_t *pItem, uint8_t chunkOf)
{
    static const uint8_t majorTypes[8] = {ITEM_UINT,  ITEM_OTHER, ITEM_OTHER, ITEM_TEXT,
                                          ITEM_ARRAY, ITEM_MAP,   ITEM_TAG,   ITEM_OTHER};
    uint8_t initial = readCborHead(pReader, &pItem->value);
    uint8_t major = initial >> 5;
    uint8_t info = initial & 0x1FU;
    size_t end = pReader->length;

    pItem->type = majorTypes[major];
    pItem->indefinite = (info == 0x1FU);
    /* Indefinite length: strings, arrays and maps only (a stray break fails here);
     * unassigned simple values: only false, true, null, undefined and floats pass. */
    pReader->failed |= (pItem->indefinite && ((major < 2U) || (major > 5U))) ||
                       ((major == 7U) && ((info < 20U) || (info == 24U))) ||
                       ((chunkOf != 0U) && ((major != chunkOf) || pItem->indefinite));

    if (((major == 2U) || (major == 3U)) && pItem->indefinite)
    {
        /* Chunks up to the break (one level: a chunk is never indefinite). */
        while (!pReader->failed && (peekRaw(pReader) != 0xFFU))
        {
            Item_t chunk;

            readCborItem(pReader, &chunk, major);
        }
        pReader->position++;
    }
    else if ((major == 2U) || (major == 3U))
    {
        if (pItem->value > (uint64_t) (end - pReader->position))
        {
            pReader->failed = true;
        }
        else if (major == 3U)
        {
            /* The chunk's end bounds its characters. */
            pReader->length = pReader->position + (size_t) pItem->value;
            while (!pReader->failed && (pReader->position < pReader->length))
            {
                copyCharacter(pReader);
            }
            pReader->length = end;
        }
        else
        {
            pReader->position += (size_t) pItem->value;
        }
    }
    else
    {
        /* Other arguments were consumed with the head. */
    }
}

/**
 * @brief Reads the head of the next item.
 * @param[in,out] pReader Reader.
 * @param[out] pItem The item.
 */
static void readItem(Reader_t *pReader, Item_t *pItem)
{
    pItem->value = 0U;
    pItem->indefinite = false;
    pItem->type = ITEM_OTHER;

    if (pReader->cbor)
    {
        readCborItem(pReader, pItem, 0U);
    }
    else
    {
        readJsonItem(pReader, pItem);
    }
}

/**
 * @brief Steps to the next member of a map or array.
 * @param[in,out] pReader Reader.
 * @param[in,out] pFrame The container.
 * @return true when a member follows; false at its end or on failure.
 */
static bool nextMember(Reader_t *pReader, Frame_t *pFrame)
{
    bool more = true;

    if (!pReader->cbor && ((pFrame->flags & FRAME_ROOT) == 0U))
    {
        uint8_t c = peekJson(pReader);

        if (c == (((pFrame->flags & FRAME_MAP) != 0U) ? (uint8_t) '}' : (uint8_t) ']'))
        {
            pReader->position++;
            more = false;
        }
        else if ((pFrame->flags & FRAME_STARTED) == 0U)
        {
            pFrame->flags |= FRAME_STARTED;
        }
        else
        {
            pReader->failed |= (c != (uint8_t) ',');
            pReader->position++;
        }
    }
    else if ((pFrame->flags & FRAME_INDEFINITE) != 0U)
    {
        if (peekRaw(pReader) == 0xFFU)
        {
            pReader->position++;
            more = false;
        }
    }
    else if (pFrame->left > 0U)
    {
        pFrame->left--;
    }
    else
    {
        more = false;
    }

    return more && !pReader->failed;
}

/**
 * @brief Finds the key just read among the known keys of its map.
 * @param[in] pReader Reader holding the key just read.
 * @param[in] flags The map's frame flags.
 * @return The key id, or KEY_UNKNOWN.
 */
static uint8_t findKey(const Reader_t *pReader, uint8_t flags)
{
    uint8_t id = KEY_UNKNOWN;
    uint8_t i;
    const char *pKnown = knownKeys;

    for (i = 0U; i < KEY_ROOT; i++)
    {
        size_t length = strlen(pKnown);

        if (((flags & ((i < KEY_ERROR_CODE) ? FRAME_TOP : FRAME_DETAILS)) != 0U) &&
            !pReader->truncated && (length == pReader->outLength) &&
            (memcmp(pKnown, pReader->pOut, length) == 0))
        {
            id = i;
        }
        pKnown = &pKnown[length + 1U];
    }

    return id;
}

/**
 * @brief Reads one member (key and value of a map, or element of an array) of the
 * innermost open container, storing known fields; opens a frame for a container value.
 * @param[in,out] pReader Reader, at the member.
 * @param[in,out] pStack Open containers.
 * @param[in,out] pDepth Their number.
 * @param[in,out] pResponse Response being filled.
 * @param[in,out] pSeen Bit mask of the known keys met so far.
 */
static void readMember(Reader_t *pReader, Frame_t *pStack, size_t *pDepth,
                       DefenderResponse_t *pResponse, uint32_t *pSeen)
{
    /** @brief Per key id: expected type (unknown: the one type refused), flags of the
     * frame it opens, and where its text goes (offset 0: a local buffer). */
    static const struct
    {
        uint8_t type;    /**< ITEM_*. */
        uint8_t frame;   /**< FRAME_* flags of a container value. */
        uint16_t size;   /**< Output size. */
        uint16_t offset; /**< Output offset in DefenderResponse_t, or 0. */
    } fields[KEY_UNKNOWN + 1U] = {
        {ITEM_TEXT, 0U, (uint16_t) sizeof(pResponse->thingName),
         (uint16_t) offsetof(DefenderResponse_t, thingName)},
        {ITEM_UINT, 0U, sizeof("ACCEPTED"), 0U},
        {ITEM_TEXT, 0U, sizeof("ACCEPTED"), 0U},
        {ITEM_MAP, FRAME_DETAILS, sizeof("ACCEPTED"), 0U},
        {ITEM_UINT, 0U, sizeof("ACCEPTED"), 0U},
        {ITEM_TEXT, 0U, (uint16_t) sizeof(pResponse->errorCode),
         (uint16_t) offsetof(DefenderResponse_t, errorCode)},
        {ITEM_TEXT, 0U, (uint16_t) sizeof(pResponse->errorMessage),
         (uint16_t) offsetof(DefenderResponse_t, errorMessage)},
        {ITEM_MAP, FRAME_TOP, sizeof("ACCEPTED"), 0U},
        {ITEM_TAG, 0U, sizeof("ACCEPTED"), 0U},
    };
    char text[sizeof("statusDetails")];
    Frame_t *pFrame = &pStack[*pDepth - 1U];
    uint8_t id = ((pFrame->flags & FRAME_ROOT) != 0U) ? KEY_ROOT : KEY_UNKNOWN;
    uint32_t bit;
    Item_t item;

    if ((pFrame->flags & FRAME_MAP) != 0U)
    {
        setOutput(pReader, text, sizeof(text), false);
        readItem(pReader, &item);
        pReader->failed |= (item.type != ITEM_TEXT);
        if (!pReader->cbor)
        {
            pReader->failed |= (peekJson(pReader) != (uint8_t) ':');
            pReader->position++;
        }
        id = findKey(pReader, pFrame->flags);
    }

    setOutput(pReader, (fields[id].offset != 0U) ? &((char *) pResponse)[fields[id].offset] : text,
              fields[id].size, id != KEY_UNKNOWN);
    readItem(pReader, &item);
    if ((id == KEY_ROOT) && (item.type == ITEM_TAG) && (item.value == CBOR_SELF_DESCRIBE))
    {
        readItem(pReader, &item);
    }

    /* Known: a second occurrence or another type fails; unknown: a tag fails. */
    bit = (1U << id) & ((1U << KEY_UNKNOWN) - 1U);
    pReader->failed |=
        ((*pSeen & bit) != 0U) || ((id == KEY_UNKNOWN) == (item.type == fields[id].type));
    *pSeen |= bit;

    if (id == KEY_THING_NAME)
    {
        pResponse->thingNameTruncated = pReader->truncated;
    }
    else if (id == KEY_REPORT_ID)
    {
        pReader->failed |= ((item.value - 1U) >= (uint64_t) INT64_MAX);
        pResponse->reportId = item.value;
    }
    else if (id == KEY_TIMESTAMP)
    {
        pResponse->timestamp = item.value;
    }
    else if (id == KEY_STATUS)
    {
        pReader->failed |=
            pReader->truncated || ((memcmp(text, "ACCEPTED", sizeof("ACCEPTED")) != 0) &&
                                   (memcmp(text, "REJECTED", sizeof("REJECTED")) != 0));
        pResponse->status =
            (text[0] == 'R') ? DEFENDER_RESPONSE_REJECTED : DEFENDER_RESPONSE_ACCEPTED;
    }
    else
    {
        /* Strings were stored by the reader; containers open below. */
    }

    if (!pReader->failed && (item.type <= ITEM_ARRAY))
    {
        /* A definite container needs at least one byte per member. */
        pReader->failed = (*pDepth > DEFENDER_RESPONSE_MAX_DEPTH) ||
                          (item.value > (uint64_t) (pReader->length - pReader->position));
        if (!pReader->failed)
        {
            pFrame = &pStack[*pDepth];
            pFrame->left = (size_t) item.value;
            pFrame->flags =
                (uint8_t) ((item.indefinite ? FRAME_INDEFINITE : 0U) |
                           ((item.type == ITEM_MAP) ? FRAME_MAP : 0U) | fields[id].frame);
            (*pDepth)++;
        }
    }
}

DefenderStatus_t Defender_ParseResponse(DefenderFormat_t format, const uint8_t *pPayload,
                                        size_t payloadLength, DefenderResponse_t *pResponse)
{
    DefenderStatus_t status = DEFENDER_BAD_PARAMETER;
    Frame_t stack[DEFENDER_RESPONSE_MAX_DEPTH + 1U];
    Reader_t reader;
    uint32_t seen = 0U;
    size_t depth = 1U;

    if ((pPayload != NULL) && (pResponse != NULL) &&
        ((unsigned) format <= (unsigned) DEFENDER_FORMAT_CBOR))
    {
        (void) memset(pResponse, 0, sizeof(*pResponse));
        (void) memset(&reader, 0, sizeof(reader));
        reader.pIn = pPayload;
        reader.length = payloadLength;
        reader.cbor = (format == DEFENDER_FORMAT_CBOR);

        stack[0].left = 1U;
        stack[0].flags = FRAME_ROOT;

        while (!reader.failed && (depth > 0U))
        {
            if (nextMember(&reader, &stack[depth - 1U]))
            {
                readMember(&reader, stack, &depth, pResponse, &seen);
            }
            else
            {
                depth--;
            }
        }

        if (!reader.cbor)
        {
            /* Trailing white space, then at most one NUL. */
            reader.position += (peekJson(&reader) == 0U) ? 1U : 0U;
            reader.position = (reader.position > reader.length) ? reader.length : reader.position;
        }

        pResponse->hasThingName = ((seen & (1U << KEY_THING_NAME)) != 0U);
        pResponse->hasReportId = ((seen & (1U << KEY_REPORT_ID)) != 0U);
        pResponse->hasTimestamp = ((seen & (1U << KEY_TIMESTAMP)) != 0U);
        status = (reader.failed || (reader.position != reader.length) ||
                  ((seen & (1U << KEY_STATUS)) == 0U))
                     ? DEFENDER_MALFORMED
                     : DEFENDER_SUCCESS;
    }

    return status;
}
