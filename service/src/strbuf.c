#include "strbuf.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/types.h>
#include <time.h>

void sb_init(strbuf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
    b->oom = 0;
}

void sb_free(strbuf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

void sb_reset(strbuf *b)
{
    b->len = 0;
    b->oom = 0;
}

static int sb_reserve(strbuf *b, size_t extra)
{
    if (b->oom)
        return 0;
    if (extra > SIZE_MAX / 2 - b->len)
    {
        b->oom = 1;
        return 0;
    }
    size_t need = b->len + extra + 1;
    if (b->max != 0 && need > b->max + 1)
    {
        b->oom = 1;
        return 0;
    }
    if (need <= b->cap)
        return 1;
    size_t nc = b->cap ? b->cap : 256;
    while (nc < need)
        nc *= 2;
    char *nd = realloc(b->data, nc);
    if (nd == NULL)
    {
        b->oom = 1;
        return 0;
    }
    b->data = nd;
    b->cap = nc;
    return 1;
}

int sb_append(strbuf *b, const void *p, size_t n)
{
    if (!sb_reserve(b, n))
        return 0;
    if (n > 0)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 1;
}

int sb_puts(strbuf *b, const char *s)
{
    return sb_append(b, s, strlen(s));
}

int sb_putc(strbuf *b, char c)
{
    return sb_append(b, &c, 1);
}

int sb_printf(strbuf *b, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        return 0;
    if ((size_t) n < sizeof tmp)
        return sb_append(b, tmp, (size_t) n);
    if (!sb_reserve(b, (size_t) n))
        return 0;
    va_start(ap, fmt);
    int m = vsnprintf(b->data + b->len, (size_t) n + 1, fmt, ap);
    va_end(ap);
    if (m != n)
        return 0;
    b->len += (size_t) n;
    return 1;
}

int sb_json_str(strbuf *b, const char *s, size_t n)
{
    if (!sb_putc(b, '"'))
        return 0;
    size_t run = 0;
    for (size_t i = 0; i < n; i++)
    {
        unsigned char c = (unsigned char) s[i];
        if (c == '"' || c == '\\' || c < 0x20 || c == 0x7f)
        {
            if (!sb_append(b, s + run, i - run))
                return 0;
            char esc[8];
            if (c == '"' || c == '\\')
            {
                esc[0] = '\\';
                esc[1] = (char) c;
                esc[2] = '\0';
            }
            else
            {
                snprintf(esc, sizeof esc, "\\u%04x", c);
            }
            if (!sb_puts(b, esc))
                return 0;
            run = i + 1;
        }
    }
    if (!sb_append(b, s + run, n - run))
        return 0;
    return sb_putc(b, '"');
}

const char *sb_cstr(strbuf *b)
{
    if (b->data == NULL)
    {
        if (!sb_reserve(b, 0))
            return "";
        b->data[0] = '\0';
    }
    return b->data;
}

int hex_digit_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Chosen at the first call, once: threads that ask at the same time all get the seed the
 * first of them stored (the tables keep each entry's hash, so the seed must never change). */
static uint32_t hash_seed(void)
{
    static atomic_uint seed;
    unsigned s = atomic_load_explicit(&seed, memory_order_relaxed);
    if (s == 0)
    {
        uint32_t r;
        if (getrandom(&r, sizeof r, GRND_NONBLOCK) != (ssize_t) sizeof r)
            r = (uint32_t) time(NULL) ^ (uint32_t) (uintptr_t) &seed;
        unsigned expected = 0;
        s = r | 1u;
        if (!atomic_compare_exchange_strong_explicit(&seed, &expected, s, memory_order_relaxed,
                                                     memory_order_relaxed))
            s = expected; /* another thread's, stored first */
    }
    return (uint32_t) s;
}

uint32_t str_hash_seeded(const void *p, size_t n)
{
    const uint8_t *b = p;
    uint32_t h = 2166136261u ^ hash_seed();
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 16777619u;
    return h;
}
