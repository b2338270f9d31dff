#include "dom.h"

#include <stdlib.h>
#include <string.h>

#define ARENA_BLOCK_MIN ((size_t) 64 * 1024)

void arena_init(arena *a, size_t limit)
{
    a->head = NULL;
    a->total = 0;
    a->limit = limit;
}

void *arena_alloc(arena *a, size_t size)
{
    size = (size + 7u) & ~(size_t) 7u;
    if (size == 0)
    {
        size = 8;
    }
    arena_block *b = a->head;
    if (b == NULL || b->size - b->used < size)
    {
        size_t bs = size > ARENA_BLOCK_MIN ? size : ARENA_BLOCK_MIN;
        if (a->limit != 0 && a->total + bs > a->limit)
        {
            return NULL;
        }
        arena_block *nb = malloc(sizeof(arena_block) + bs);
        if (nb == NULL)
        {
            return NULL;
        }
        nb->size = bs;
        nb->used = 0;
        nb->next = a->head;
        a->head = nb;
        a->total += bs;
        b = nb;
    }
    void *p = (unsigned char *) (b + 1) + b->used;
    b->used += size;
    return p;
}

void arena_reset(arena *a)
{
    arena_block *b = a->head;
    if (b == NULL)
    {
        return;
    }
    /* keep the oldest block (the last in the list) */
    while (b->next != NULL)
    {
        arena_block *n = b->next;
        a->total -= b->size;
        free(b);
        b = n;
    }
    b->used = 0;
    a->head = b;
}

void arena_free(arena *a)
{
    arena_block *b = a->head;
    while (b != NULL)
    {
        arena_block *n = b->next;
        free(b);
        b = n;
    }
    a->head = NULL;
    a->total = 0;
}

int utf8_valid(const uint8_t *s, size_t len)
{
    size_t i = 0;
    while (i < len)
    {
        uint8_t c = s[i];
        if (c < 0x80)
        {
            i++;
            continue;
        }
        size_t n;
        uint32_t cp;
        uint32_t min;
        if (c >= 0xC2 && c <= 0xDF)
        {
            n = 1;
            cp = c & 0x1Fu;
            min = 0x80;
        }
        else if (c >= 0xE0 && c <= 0xEF)
        {
            n = 2;
            cp = c & 0x0Fu;
            min = 0x800;
        }
        else if (c >= 0xF0 && c <= 0xF4)
        {
            n = 3;
            cp = c & 0x07u;
            min = 0x10000;
        }
        else
        {
            return 0;
        }
        if (len - i <= n)
        {
            return 0;
        }
        for (size_t k = 1; k <= n; k++)
        {
            uint8_t cc = s[i + k];
            if ((cc & 0xC0) != 0x80)
            {
                return 0;
            }
            cp = (cp << 6) | (cc & 0x3Fu);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        {
            return 0;
        }
        i += n + 1;
    }
    return 1;
}

int dn_key_is(const dnode *n, const char *k)
{
    size_t kl = strlen(k);
    return n->key != NULL && n->key_len == kl && memcmp(n->key, k, kl) == 0;
}
