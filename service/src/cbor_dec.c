/* Careful CBOR (RFC 8949) decoder for device reports, per protocol section 4:
 * definite and indefinite lengths, non-shortest arguments, float16/32/64,
 * tag 55799 around the top-level item; everything else is an error. */
#include "dom.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

typedef struct
{
    arena *a;
    const uint8_t *p;
    const uint8_t *end;
    const uint8_t *start;
    dom_error *err;
} cctx;

#define CBOR_BREAK 0xFFu

static void cfail(cctx *c, const char *msg)
{
    if (c->err->msg[0] == '\0')
    {
        snprintf(c->err->msg, sizeof c->err->msg, "%s", msg);
        c->err->offset = (size_t) (c->p - c->start);
    }
}

static dnode *cnew(cctx *c, uint8_t type)
{
    dnode *n = arena_alloc(c->a, sizeof *n);
    if (n == NULL)
    {
        cfail(c, "out of memory");
        return NULL;
    }
    memset(n, 0, sizeof *n);
    n->type = type;
    return n;
}

/* Reads the argument of an initial byte. indefinite set for ai 31. */
static int read_arg(cctx *c, uint8_t ai, uint64_t *val, int *indefinite)
{
    *indefinite = 0;
    if (ai < 24)
    {
        *val = ai;
        return 1;
    }
    size_t n;
    switch (ai)
    {
        case 24:
            n = 1;
            break;
        case 25:
            n = 2;
            break;
        case 26:
            n = 4;
            break;
        case 27:
            n = 8;
            break;
        case 31:
            *indefinite = 1;
            *val = 0;
            return 1;
        default:
            cfail(c, "reserved additional information");
            return 0;
    }
    if ((size_t) (c->end - c->p) < n)
    {
        cfail(c, "truncated argument");
        return 0;
    }
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
    {
        v = (v << 8) | c->p[i];
    }
    c->p += n;
    *val = v;
    return 1;
}

static double half_to_double(uint16_t h)
{
    int e = (h >> 10) & 0x1f;
    int m = h & 0x3ff;
    double v;
    if (e == 0)
        v = ldexp((double) m, -24);
    else if (e != 31)
        v = ldexp((double) (m + 1024), e - 25);
    else
        v = m == 0 ? INFINITY : NAN;
    return (h & 0x8000) ? -v : v;
}

/* Text string (major 3), definite or chunked. */
static int read_text(cctx *c, uint8_t ai, int want_text, const char **out, uint32_t *out_len)
{
    uint64_t len;
    int indef;
    if (!read_arg(c, ai, &len, &indef))
        return 0;
    if (!indef)
    {
        if (len > (uint64_t) (c->end - c->p))
        {
            cfail(c, "truncated string");
            return 0;
        }
        if (want_text && !utf8_valid(c->p, (size_t) len))
        {
            cfail(c, "invalid UTF-8 in text string");
            return 0;
        }
        *out = (const char *) c->p;
        *out_len = (uint32_t) len;
        c->p += len;
        return 1;
    }
    /* chunked: a first pass validates the chunks and sums their lengths, so that the copy
     * takes exactly the content size (memory stays proportional to the input) */
    uint8_t major = want_text ? 3 : 2;
    const uint8_t *start = c->p;
    size_t total = 0;
    for (int pass = 0; pass < 2; pass++)
    {
        uint8_t *buf = NULL;
        if (pass == 1)
        {
            buf = arena_alloc(c->a, total + 1);
            if (buf == NULL)
            {
                cfail(c, "out of memory");
                return 0;
            }
            c->p = start;
        }
        size_t used = 0;
        for (;;)
        {
            if (c->p >= c->end)
            {
                cfail(c, "truncated chunked string");
                return 0;
            }
            uint8_t ib = *c->p++;
            if (ib == CBOR_BREAK)
                break;
            if ((ib >> 5) != major || (ib & 0x1f) == 31)
            {
                cfail(c, "bad chunk in indefinite string");
                return 0;
            }
            uint64_t cl;
            int ci;
            if (!read_arg(c, ib & 0x1f, &cl, &ci))
                return 0;
            if (cl > (uint64_t) (c->end - c->p))
            {
                cfail(c, "truncated string chunk");
                return 0;
            }
            if (pass == 0 && want_text && !utf8_valid(c->p, (size_t) cl))
            {
                cfail(c, "invalid UTF-8 in text chunk");
                return 0;
            }
            if (pass == 1)
                memcpy(buf + used, c->p, (size_t) cl);
            used += (size_t) cl;
            c->p += cl;
        }
        if (pass == 0)
        {
            total = used;
            continue;
        }
        *out = (const char *) buf;
        *out_len = (uint32_t) used;
    }
    return 1;
}

static dnode *citem(cctx *c, int depth);

static dnode *ccontainer(cctx *c, int depth, uint8_t major, uint8_t ai)
{
    if (depth > DOM_MAX_DEPTH)
    {
        cfail(c, "nesting deeper than 16");
        return NULL;
    }
    uint64_t cnt;
    int indef;
    if (!read_arg(c, ai, &cnt, &indef))
        return NULL;
    int is_map = major == 5;
    /* every element takes at least one byte: reject impossible counts early */
    if (!indef && cnt > (uint64_t) (c->end - c->p))
    {
        cfail(c, "truncated container");
        return NULL;
    }
    dnode *n = cnew(c, is_map ? DN_MAP : DN_ARRAY);
    if (n == NULL)
        return NULL;
    dnode **tail = &n->child;
    for (uint64_t i = 0; indef || i < cnt; i++)
    {
        if (c->p >= c->end)
        {
            cfail(c, "truncated container");
            return NULL;
        }
        if (indef && *c->p == CBOR_BREAK)
        {
            c->p++;
            break;
        }
        const char *k = NULL;
        uint32_t kl = 0;
        if (is_map)
        {
            uint8_t kb = *c->p++;
            if ((kb >> 5) != 3)
            {
                cfail(c, "map key is not a text string");
                return NULL;
            }
            if (!read_text(c, kb & 0x1f, 1, &k, &kl))
                return NULL;
        }
        dnode *v = citem(c, depth + 1);
        if (v == NULL)
            return NULL;
        v->key = k;
        v->key_len = kl;
        *tail = v;
        tail = &v->next;
        if (n->count == UINT32_MAX)
        {
            cfail(c, "too many elements");
            return NULL;
        }
        n->count++;
    }
    return n;
}

static dnode *citem(cctx *c, int depth)
{
    if (c->p >= c->end)
    {
        cfail(c, "truncated item");
        return NULL;
    }
    uint8_t ib = *c->p++;
    uint8_t major = (uint8_t) (ib >> 5);
    uint8_t ai = ib & 0x1f;
    switch (major)
    {
        case 0:
        case 1:
        {
            uint64_t v;
            int indef;
            if (!read_arg(c, ai, &v, &indef))
                return NULL;
            if (indef)
            {
                cfail(c, "indefinite integer");
                return NULL;
            }
            dnode *n = cnew(c, DN_INT);
            if (n == NULL)
                return NULL;
            if (major == 0)
            {
                n->mag = v;
                n->d = (double) v;
            }
            else
            {
                n->neg = 1;
                if (v == UINT64_MAX)
                {
                    n->big = 1;
                    n->d = -18446744073709551616.0;
                }
                else
                {
                    n->mag = v + 1;
                    n->d = -(double) n->mag;
                }
            }
            return n;
        }
        case 2:
        case 3:
        {
            dnode *n = cnew(c, major == 3 ? DN_STRING : DN_BYTES);
            if (n == NULL || !read_text(c, ai, major == 3, &n->str, &n->len))
                return NULL;
            return n;
        }
        case 4:
        case 5:
            return ccontainer(c, depth, major, ai);
        case 6:
            cfail(c, "unsupported tag");
            return NULL;
        default: /* 7 */
        {
            if (ai == 31)
            {
                cfail(c, "misplaced break");
                return NULL;
            }
            if (ai >= 28)
            {
                cfail(c, "reserved simple encoding");
                return NULL;
            }
            if (ai == 25 || ai == 26 || ai == 27)
            {
                size_t n = ai == 25 ? 2u : ai == 26 ? 4u : 8u;
                if ((size_t) (c->end - c->p) < n)
                {
                    cfail(c, "truncated float");
                    return NULL;
                }
                uint64_t bits = 0;
                for (size_t i = 0; i < n; i++)
                    bits = (bits << 8) | c->p[i];
                c->p += n;
                dnode *f = cnew(c, DN_FLOAT);
                if (f == NULL)
                    return NULL;
                if (n == 2)
                {
                    f->d = half_to_double((uint16_t) bits);
                }
                else if (n == 4)
                {
                    uint32_t b32 = (uint32_t) bits;
                    float fv;
                    memcpy(&fv, &b32, sizeof fv);
                    f->d = (double) fv;
                }
                else
                {
                    memcpy(&f->d, &bits, sizeof f->d);
                }
                /* a float's value is exact: whole when it has no fractional part */
                if (isfinite(f->d) && floor(f->d) == f->d)
                {
                    double m = fabs(f->d);
                    f->whole = 1;
                    f->neg = (uint8_t) (f->d < 0);
                    if (m >= 18446744073709551616.0)
                        f->big = 1;
                    else
                        f->mag = (uint64_t) m;
                }
                return f;
            }
            uint64_t sv;
            if (ai == 24)
            {
                if (c->p >= c->end)
                {
                    cfail(c, "truncated simple value");
                    return NULL;
                }
                sv = *c->p++;
                if (sv < 32)
                {
                    cfail(c, "badly formed simple value");
                    return NULL;
                }
            }
            else
            {
                sv = ai;
            }
            if (sv == 20 || sv == 21)
            {
                dnode *b = cnew(c, DN_BOOL);
                if (b != NULL)
                    b->mag = sv - 20;
                return b;
            }
            if (sv == 22)
                return cnew(c, DN_NULL);
            dnode *s = cnew(c, DN_SIMPLE);
            if (s != NULL)
                s->mag = sv;
            return s;
        }
    }
}

dnode *cbor_decode(arena *a, const uint8_t *buf, size_t len, dom_error *err)
{
    cctx c = {a, buf, buf + len, buf, err};
    err->msg[0] = '\0';
    err->offset = 0;
    /* self-describe tag 55799 around the top-level item: usually d9 d9 f7, but like any
     * argument the tag number may be written longer than necessary (da 00 00 d9 f7, ...) */
    if (len > 0 && (buf[0] >> 5) == 6)
    {
        uint64_t tag;
        int indef;
        c.p++;
        if (!read_arg(&c, buf[0] & 0x1f, &tag, &indef))
            return NULL;
        if (indef || tag != 55799)
        {
            c.p = c.start;
            cfail(&c, "unsupported tag");
            return NULL;
        }
    }
    if (c.p >= c.end)
    {
        cfail(&c, "empty input");
        return NULL;
    }
    if ((*c.p >> 5) != 5)
    {
        cfail(&c, "top-level item is not a map");
        return NULL;
    }
    dnode *root = citem(&c, 1);
    if (root == NULL)
        return NULL;
    if (c.p != c.end)
    {
        cfail(&c, "bytes after the top-level item");
        return NULL;
    }
    return root;
}
