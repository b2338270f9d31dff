/* In-memory document tree shared by the strict JSON and CBOR report decoders. */
#ifndef DETECT_DOM_H
#define DETECT_DOM_H

#include <stddef.h>
#include <stdint.h>

/* Nesting limit of PD-8 / section 4: the root map is level 1. */
#define DOM_MAX_DEPTH 16

typedef enum
{
    DN_MAP = 1,
    DN_ARRAY,
    DN_STRING,
    DN_BYTES,
    DN_INT,   /* JSON integer literal or CBOR major type 0/1 */
    DN_FLOAT, /* JSON number with fraction/exponent or CBOR float */
    DN_BOOL,
    DN_NULL,
    DN_SIMPLE /* CBOR undefined or another simple value */
} dn_type;

typedef struct dnode
{
    struct dnode *next;  /* next sibling */
    struct dnode *child; /* first child (map values carry their key) */
    const char *key;     /* key when this node is a map member */
    const char *str;     /* string / byte string content (not NUL-terminated) */
    uint64_t mag;        /* DN_INT, whole DN_FLOAT: magnitude (value = neg ? -mag : mag) */
    double d;            /* numeric value as double (DN_INT and DN_FLOAT) */
    uint32_t key_len;
    uint32_t len;   /* string length */
    uint32_t count; /* number of children */
    uint8_t type;
    uint8_t neg;   /* DN_INT, whole DN_FLOAT: negative */
    uint8_t big;   /* DN_INT, whole DN_FLOAT: magnitude does not fit 64 bits */
    uint8_t whole; /* DN_FLOAT: the exact value (the JSON text's, not its nearest double) is a
                      whole number, given by mag / neg / big */
} dnode;

/* Bump allocator; memory is released all at once. */
typedef struct arena_block
{
    struct arena_block *next;
    size_t size;
    size_t used;
    /* data follows */
} arena_block;

typedef struct
{
    arena_block *head;
    size_t total;
    size_t limit; /* 0 = unlimited */
} arena;

void arena_init(arena *a, size_t limit);
void *arena_alloc(arena *a, size_t size);
void arena_reset(arena *a); /* keeps the first block */
void arena_free(arena *a);

typedef struct
{
    char msg[96];
    size_t offset;
} dom_error;

/* Decoders: return the root node or NULL with err filled.
 * JSON: allow_nul tolerates one trailing NUL byte (PD-8 default mode). */
dnode *json_decode(arena *a, const uint8_t *buf, size_t len, int allow_nul, dom_error *err);
dnode *cbor_decode(arena *a, const uint8_t *buf, size_t len, dom_error *err);

/* UTF-8 validation (RFC 3629: no overlongs, no surrogates, <= U+10FFFF). */
int utf8_valid(const uint8_t *s, size_t len);

/* Key comparison helper. */
int dn_key_is(const dnode *n, const char *k);

#endif
