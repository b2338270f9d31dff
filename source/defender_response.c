/**
 * @file defender_response.c
 * @brief Decoder of Device Defender responses (protocol spec section 5), JSON and CBOR.
 *
 * One flat pull reader serves both formats: it yields one item head at a time (map,
 * array, text, unsigned integer, tag or "other" scalar) and sends text, checked
 * character by character through one UTF-8 path, to the current output buffer. One
 * iterative walk on top of it reads every member of every map and array with a small
 * explicit stack (no recursion), bounded by DEFENDER_RESPONSE_MAX_DEPTH; the known keys
 * and status values are found in one table of names.
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

/** @brief Index of each name in `names` (status values, then keys), then the two
 * pseudo-keys of the walk. The first three keys store their text in the response. */
#define NAME_ACCEPTED      0U
#define NAME_REJECTED      1U
#define KEY_THING_NAME     2U
#define KEY_ERROR_CODE     3U
#define KEY_ERROR_MESSAGE  4U
#define KEY_STATUS         5U
#define KEY_REPORT_ID      6U
#define KEY_TIMESTAMP      7U
#define KEY_STATUS_DETAILS 8U
#define KEY_ROOT           9U  /**< The document: one map, maybe tagged 55799. */
#define KEY_UNKNOWN        10U /**< Also: "no name matched". */

/** @brief Names of the masks below: which entries of `names` a lookup may match. */
#define MASK_STATUS  0x003U /**< ACCEPTED, REJECTED. */
#define MASK_TOP     0x1E4U /**< Keys of the top-level map. */
#define MASK_DETAILS 0x018U /**< Keys of `statusDetails`. */

/** @brief Frame flags above the 9-bit mask of the keys a map may hold. */
#define FRAME_KEYS       0x01FFU /**< Mask of the known keys (MASK_*). */
#define FRAME_MAP        0x0200U /**< A map (else an array). */
#define FRAME_INDEFINITE 0x0400U /**< CBOR container of indefinite length. */
#define FRAME_STARTED    0x0800U /**< JSON container: a member was read already. */
#define FRAME_ROOT       0x1000U /**< The document, holding one item. */

/** @brief Status values and known keys, NUL-separated, in the order of the ids. */
static const char names[] = "ACCEPTED\0REJECTED\0thingName\0ErrorCode\0ErrorMessage\0status\0"
                            "reportId\0timestamp\0statusDetails";

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
    size_t left;    /**< CBOR definite container: members (pairs for maps) left. */
    uint16_t flags; /**< FRAME_* and the key mask. */
} Frame_t;

/** @brief Reader state. */
typedef struct Reader
{
    const uint8_t *pIn; /**< Payload. */
    size_t length;      /**< Its length (or the end of the CBOR chunk being read). */
    size_t position;    /**< Next byte to read. */
    char *pOut;         /**< Where text goes. */
    size_t outSize;     /**< Its size, terminator included. */
    size_t outLength;   /**< Bytes written so far. */
    bool cbor;          /**< Format. */
    bool failed;        /**< Sticky: the payload is malformed. */
    bool noNul;         /**< A U+0000 in the text being read is malformed. */
    bool truncated;     /**< The text did not fit pOut, or held U+0000. */
} Reader_t;

/**
 * @brief Validates one UTF-8 character and appends it to the output, or stops the
 * output there (truncation on a character boundary) when it does not fit. A U+0000
 * fails a known field and marks any other text as truncated (so it never matches a
 * name).
 * @param[in,out] pReader Reader.
 * @param[in] pBytes The character's bytes.
 * @param[in] available Bytes readable at pBytes (at least 1).
 * @return The character's length, 0 when invalid (the reader failed).
 */
static size_t putCharacter(Reader_t *pReader, const uint8_t *pBytes, size_t available)
{
    size_t length = Defender_Utf8SequenceLength(pBytes, available);
    bool nul = (pBytes[0] == 0U);

    pReader->failed |= (length == 0U) || (pReader->noNul && nul);
    pReader->truncated |= nul || ((pReader->outLength + length) >= pReader->outSize);
    if (!pReader->truncated)
    {
        (void) memcpy(&pReader->pOut[pReader->outLength], pBytes, length);
        pReader->outLength += length;
        pReader->pOut[pReader->outLength] = '\0';
    }

    return length;
}

/**
 * @brief Copies the UTF-8 character at the read position to the output.
 * @param[in,out] pReader Reader.
 */
static void copyCharacter(Reader_t *pReader)
{
    pReader->position += putCharacter(pReader, &pReader->pIn[pReader->position],
                                      pReader->length - pReader->position);
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
 * @brief Skips JSON white space, then returns the next byte (not consumed).
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
 * @brief Reads one JSON escape (after its backslash) and puts its character through
 * the UTF-8 path: the code point is encoded first, so a lone surrogate or a bad
 * escape (encoded as a value above U+10FFFF) fails as invalid UTF-8. A high surrogate
 * followed by `\\u` reads a second group of four hex digits in the same loop.
 * @param[in,out] pReader Reader.
 */
static void readEscape(Reader_t *pReader)
{
    static const char escapes[] = "\"\\/bfnrt";
    static const char values[] = "\"\\/\b\f\n\r\t";
    uint8_t e = nextByte(pReader);
    const char *pFound = memchr(escapes, e, sizeof(escapes) - 1U);
    uint32_t codePoint = (pFound != NULL) ? (uint8_t) values[pFound - escapes] : 0x110000U;
    uint32_t high = 0U;
    uint8_t utf8[4];
    size_t length;
    size_t i;

    while (e == (uint8_t) 'u')
    {
        /* Four hex digits; a non-hex digit sets a bit above 0xFFFF, read as invalid. */
        codePoint = 0U;
        for (i = 0U; i < 4U; i++)
        {
            uint32_t c = nextByte(pReader);
            uint32_t letter = (c | 0x20U) - (uint32_t) 'a';

            c = ((c - (uint32_t) '0') < 10U) ? (c - (uint32_t) '0')
                                             : ((letter < 6U) ? (letter + 10U) : 0x10000U);
            codePoint = (codePoint << 4) | c;
        }
        codePoint = (codePoint > 0xFFFFU) ? 0x110000U : codePoint;
        e = 0U;
        if (high != 0U)
        {
            codePoint = ((codePoint & 0xFFFFFC00U) == 0xDC00U)
                            ? (0x10000U + ((high - 0xD800U) << 10) + (codePoint - 0xDC00U))
                            : 0x110000U;
        }
        else if (((codePoint & 0xFFFFFC00U) == 0xD800U) && (nextByte(pReader) == (uint8_t) '\\') &&
                 (nextByte(pReader) == (uint8_t) 'u'))
        {
            high = codePoint;
            e = (uint8_t) 'u';
        }
        else
        {
            /* A single escape (a lone high surrogate fails as UTF-8). */
        }
    }

    length = 1U + ((codePoint >= 0x80U) ? 1U : 0U) + ((codePoint >= 0x800U) ? 1U : 0U) +
             ((codePoint >= 0x10000U) ? 1U : 0U);
    for (i = length - 1U; i > 0U; i--)
    {
        utf8[i] = (uint8_t) (0x80U | (codePoint & 0x3FU));
        codePoint >>= 6;
    }
    utf8[0] = (uint8_t) (codePoint | (uint8_t) ("\0\0\xC0\xE0\xF0"[length]));
    (void) putCharacter(pReader, utf8, length);
}

/**
 * @brief Reads a JSON number (RFC 8259 grammar) with a state machine: an optional
 * `-`, an integer part without leading zero, an optional fraction after `.`, an
 * optional exponent after `e` or `E` with an optional sign; each part holds at least
 * one digit. The number ends at the first character its state does not accept (what
 * follows is then checked by the caller).
 * @param[in,out] pReader Reader, at the number.
 * @param[out] pItem ITEM_UINT for a non-negative integer without fraction or exponent
 * that fits 64 bits; ITEM_OTHER for any other valid number.
 */
static void readJsonNumber(Reader_t *pReader, Item_t *pItem)
{
    /** @brief Character classes: `0`, `1`..`9` (read as `1`), `-`, `+`, `.`, `e`, `E`,
     * then any other character (the terminator). */
    static const char classes[] = "01-+.eE";
    /** @brief Next state per state and class, one nibble per class (class 0 lowest);
     * 0xF: the number ends here. States: 0 start, 1 after `-`, 2 integer `0`, 3
     * integer digits, 4 after `.`, 5 fraction digits, 6 after `e`, 7 after the
     * exponent's sign, 8 exponent digits. */
    static const uint32_t transitions[9] = {0xFFFFF132U, 0xFFFFFF32U, 0xF664FFFFU,
                                            0xF664FF33U, 0xFFFFFF55U, 0xF66FFF55U,
                                            0xFFFF7788U, 0xFFFFFF88U, 0xFFFFFF88U};
    /** @brief States where the number may end: 2, 3, 5, 8. */
    static const uint32_t accepting = 0x12CU;
    uint32_t state = 0U;
    uint32_t next;

    pItem->type = ITEM_UINT;
    do
    {
        uint8_t c = peekRaw(pReader);
        uint8_t digit = (uint8_t) (c - (uint8_t) '0');
        uint64_t value = pItem->value;
        uint32_t cls = 0U;

        c = ((uint8_t) (digit - 1U) < 9U) ? (uint8_t) '1' : c;
        while ((classes[cls] != '\0') && ((uint8_t) classes[cls] != c))
        {
            cls++;
        }
        next = (transitions[state] >> (cls * 4U)) & 0xFU;
        if (next != 0xFU)
        {
            /* Any mark, or a value past 2^64-1, makes it another number. */
            pItem->value = (value * 10U) + digit;
            if ((cls > 1U) || (value > (UINT64_MAX / 10U)) || (pItem->value < digit))
            {
                pItem->type = ITEM_OTHER;
            }
            pReader->position++;
            state = next;
        }
    } while (next != 0xFU);

    pReader->failed |= (((accepting >> state) & 1U) == 0U);
}

/**
 * @brief Reads the head of the next JSON value; text goes to the reader's output.
 * @param[in,out] pReader Reader.
 * @param[out] pItem The item (ITEM_OTHER on entry).
 */
static void readJsonItem(Reader_t *pReader, Item_t *pItem)
{
    uint8_t c = peekJson(pReader);
    const char *pLiteral;
    size_t i;

    if ((c == (uint8_t) '{') || (c == (uint8_t) '['))
    {
        pItem->type = (uint8_t) ((c == (uint8_t) '{') ? ITEM_MAP : ITEM_ARRAY);
        pReader->position++;
    }
    else if (c == (uint8_t) '"')
    {
        pItem->type = ITEM_TEXT;
        pReader->position++;
        c = nextByte(pReader);
        while (!pReader->failed && (c >= 0x20U) && (c != (uint8_t) '"'))
        {
            if (c == (uint8_t) '\\')
            {
                readEscape(pReader);
            }
            else
            {
                pReader->position--;
                copyCharacter(pReader);
            }
            c = nextByte(pReader);
        }
        pReader->failed |= (c != (uint8_t) '"');
    }
    else if ((c | 0x20U) >= (uint8_t) 'a')
    {
        /* `true` or `false` by their first letter, else `null` (another letter fails
         * on its first byte). */
        pLiteral = (c == (uint8_t) 't') ? "true" : ((c == (uint8_t) 'f') ? "false" : "null");
        for (i = 0U; pLiteral[i] != '\0'; i++)
        {
            pReader->failed |= (nextByte(pReader) != (uint8_t) pLiteral[i]);
        }
    }
    else
    {
        /* A number, or malformed (no digit). */
        readJsonNumber(pReader, pItem);
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
 * @brief Reads the content of one definite CBOR string: text goes through the UTF-8
 * path (bounded by the string's end), bytes are skipped.
 * @param[in,out] pReader Reader, after the string's head.
 * @param[in] major 2 (bytes) or 3 (text).
 * @param[in] length The string's length.
 */
static void readCborString(Reader_t *pReader, uint8_t major, uint64_t length)
{
    size_t end = pReader->length;

    if (length > (uint64_t) (end - pReader->position))
    {
        pReader->failed = true;
    }
    else if (major == 3U)
    {
        pReader->length = pReader->position + (size_t) length;
        while (!pReader->failed && (pReader->position < pReader->length))
        {
            copyCharacter(pReader);
        }
        pReader->length = end;
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
    uint8_t info = initial & 0x1FU;

    pItem->type = majorTypes[major];
    pItem->indefinite = (info == 0x1FU);
    /* Indefinite length: strings, arrays and maps only (a stray break fails here);
     * unassigned simple values: only false, true, null, undefined and floats pass. */
    pReader->failed |= (pItem->indefinite && ((major < 2U) || (major > 5U))) ||
                       ((major == 7U) && ((info < 20U) || (info == 24U)));

    if ((major == 2U) || (major == 3U))
    {
        if (pItem->indefinite)
        {
            /* Definite chunks of the same major type up to the break. */
            while (!pReader->failed && (peekRaw(pReader) != 0xFFU))
            {
                uint64_t length;

                /* Same major type, definite: differs from `initial` in the low bits. */
                pReader->failed |=
                    ((uint8_t) ((readCborHead(pReader, &length) ^ initial) - 1U) >= 0x1FU);
                readCborString(pReader, major, length);
            }
            pReader->position++;
        }
        else
        {
            readCborString(pReader, major, pItem->value);
        }
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

    if (DEFENDER_IS_CBOR(pReader->cbor))
    {
        readCborItem(pReader, pItem);
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

    if (!DEFENDER_IS_CBOR(pReader->cbor) && ((pFrame->flags & FRAME_ROOT) == 0U))
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
 * @brief Finds the text just read among the names a mask allows.
 * @param[in] pReader Reader holding the text just read.
 * @param[in] mask Bit i set: `names` entry i may match.
 * @return The name's index, or KEY_UNKNOWN.
 */
static uint8_t findName(const Reader_t *pReader, uint32_t mask)
{
    uint8_t id = KEY_UNKNOWN;
    uint8_t i;
    const char *pName = names;

    for (i = 0U; i < KEY_ROOT; i++)
    {
        if ((((mask >> i) & 1U) != 0U) && !pReader->truncated &&
            (strcmp(pName, pReader->pOut) == 0))
        {
            id = i;
        }
        pName = &pName[strlen(pName) + 1U];
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
    /** @brief Expected item type per id from KEY_THING_NAME (unknown: the one refused). */
    static const uint8_t expected[KEY_UNKNOWN - 1U] = {ITEM_TEXT, ITEM_TEXT, ITEM_TEXT,
                                                       ITEM_TEXT, ITEM_UINT, ITEM_UINT,
                                                       ITEM_MAP,  ITEM_MAP,  ITEM_TAG};
    /** @brief Where the three stored strings go: offset and size in the response. */
    static const uint16_t outputs[3][2] = {
        {(uint16_t) offsetof(DefenderResponse_t, thingName),
         (uint16_t) sizeof(pResponse->thingName)},
        {(uint16_t) offsetof(DefenderResponse_t, errorCode),
         (uint16_t) sizeof(pResponse->errorCode)},
        {(uint16_t) offsetof(DefenderResponse_t, errorMessage),
         (uint16_t) sizeof(pResponse->errorMessage)},
    };
    char text[sizeof("statusDetails")];
    char *pOut = text;
    size_t size = sizeof(text);
    Frame_t *pFrame = &pStack[*pDepth - 1U];
    uint8_t id = ((pFrame->flags & FRAME_ROOT) != 0U) ? KEY_ROOT : KEY_UNKNOWN;
    uint32_t bit;
    uint8_t value;
    Item_t item;

    if ((pFrame->flags & FRAME_MAP) != 0U)
    {
        setOutput(pReader, text, sizeof(text), false);
        readItem(pReader, &item);
        pReader->failed |= (item.type != ITEM_TEXT);
        if (!DEFENDER_IS_CBOR(pReader->cbor))
        {
            pReader->failed |= (peekJson(pReader) != (uint8_t) ':');
            pReader->position++;
        }
        id = findName(pReader, pFrame->flags & FRAME_KEYS);
    }

    if (id <= KEY_ERROR_MESSAGE)
    {
        pOut = &((char *) pResponse)[outputs[id - KEY_THING_NAME][0]];
        size = outputs[id - KEY_THING_NAME][1];
    }
    setOutput(pReader, pOut, size, id != KEY_UNKNOWN);
    readItem(pReader, &item);
    if ((id == KEY_ROOT) && (item.type == ITEM_TAG) && (item.value == CBOR_SELF_DESCRIBE))
    {
        readItem(pReader, &item);
    }

    /* Known: a second occurrence or another type fails; unknown: a tag fails. */
    bit = (1U << id) & ((1U << KEY_UNKNOWN) - 1U);
    pReader->failed |= ((*pSeen & bit) != 0U) ||
                       ((id == KEY_UNKNOWN) == (item.type == expected[id - KEY_THING_NAME]));
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
        value = findName(pReader, MASK_STATUS);
        pReader->failed |= (value > NAME_REJECTED);
        pResponse->status = (DefenderResponseStatus_t) value;
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
            pFrame->flags = (uint16_t) ((item.indefinite ? FRAME_INDEFINITE : 0U) |
                                        ((item.type == ITEM_MAP) ? FRAME_MAP : 0U) |
                                        ((id == KEY_ROOT) ? MASK_TOP : 0U) |
                                        ((id == KEY_STATUS_DETAILS) ? MASK_DETAILS : 0U));
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

    if ((pPayload != NULL) && (pResponse != NULL) && DEFENDER_FORMAT_SUPPORTED(format))
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

        if (!DEFENDER_IS_CBOR(reader.cbor))
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
