/* Strict RFC 8259 JSON decoder for device reports.
 * Keeps duplicate keys (the validator reports them), exact 64-bit integers,
 * rejects invalid UTF-8 and lone surrogates, limits nesting to DOM_MAX_DEPTH. */
#include "dom.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct
{
    arena *a;
    const uint8_t *p;
    const uint8_t *end;
    const uint8_t *start;
    dom_error *err;
} jctx;

static void jfail(jctx *c, const char *msg)
{
    if (c->err->msg[0] == '\0')
    {
        snprintf(c->err->msg, sizeof c->err->msg, "%s", msg);
        c->err->offset = (size_t) (c->p - c->start);
    }
}

static void skip_ws(jctx *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
    {
        c->p++;
    }
}

static dnode *new_node(jctx *c, uint8_t type)
{
    dnode *n = arena_alloc(c->a, sizeof *n);
    if (n == NULL)
    {
        jfail(c, "out of memory");
        return NULL;
    }
    memset(n, 0, sizeof *n);
    n->type = type;
    return n;
}

static int hex4(const uint8_t *p, uint32_t *out)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
    {
        uint8_t h = p[i];
        uint32_t d;
        if (h >= '0' && h <= '9')
            d = (uint32_t) (h - '0');
        else if (h >= 'a' && h <= 'f')
            d = (uint32_t) (h - 'a' + 10);
        else if (h >= 'A' && h <= 'F')
            d = (uint32_t) (h - 'A' + 10);
        else
            return 0;
        v = (v << 4) | d;
    }
    *out = v;
    return 1;
}

static size_t put_utf8(uint8_t *o, uint32_t cp)
{
    if (cp < 0x80)
    {
        o[0] = (uint8_t) cp;
        return 1;
    }
    if (cp < 0x800)
    {
        o[0] = (uint8_t) (0xC0 | (cp >> 6));
        o[1] = (uint8_t) (0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000)
    {
        o[0] = (uint8_t) (0xE0 | (cp >> 12));
        o[1] = (uint8_t) (0x80 | ((cp >> 6) & 0x3F));
        o[2] = (uint8_t) (0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (uint8_t) (0xF0 | (cp >> 18));
    o[1] = (uint8_t) (0x80 | ((cp >> 12) & 0x3F));
    o[2] = (uint8_t) (0x80 | ((cp >> 6) & 0x3F));
    o[3] = (uint8_t) (0x80 | (cp & 0x3F));
    return 4;
}

/* Parses a string starting at the opening quote. */
static int parse_string(jctx *c, const char **out, uint32_t *out_len)
{
    c->p++; /* opening quote */
    const uint8_t *s = c->p;
    int simple = 1;
    while (c->p < c->end && *c->p != '"')
    {
        uint8_t ch = *c->p;
        if (ch < 0x20)
        {
            jfail(c, "control character in string");
            return 0;
        }
        if (ch == '\\' || ch >= 0x80)
        {
            simple = 0;
            if (ch == '\\')
            {
                c->p++;
                if (c->p >= c->end)
                {
                    break;
                }
            }
        }
        c->p++;
    }
    if (c->p >= c->end)
    {
        jfail(c, "unterminated string");
        return 0;
    }
    size_t raw = (size_t) (c->p - s);
    if (raw > UINT32_MAX)
    {
        jfail(c, "string too long");
        return 0;
    }
    c->p++; /* closing quote */
    if (simple)
    {
        *out = (const char *) s;
        *out_len = (uint32_t) raw;
        return 1;
    }
    uint8_t *o = arena_alloc(c->a, raw + 1);
    if (o == NULL)
    {
        jfail(c, "out of memory");
        return 0;
    }
    size_t ol = 0;
    const uint8_t *q = s;
    const uint8_t *qe = s + raw;
    while (q < qe)
    {
        if (*q != '\\')
        {
            /* copy a run of plain bytes; validated below */
            o[ol++] = *q++;
            continue;
        }
        q++;
        uint8_t e = *q++;
        switch (e)
        {
            case '"':
            case '\\':
            case '/':
                o[ol++] = e;
                break;
            case 'b':
                o[ol++] = '\b';
                break;
            case 'f':
                o[ol++] = '\f';
                break;
            case 'n':
                o[ol++] = '\n';
                break;
            case 'r':
                o[ol++] = '\r';
                break;
            case 't':
                o[ol++] = '\t';
                break;
            case 'u':
            {
                uint32_t cp;
                if (qe - q < 4 || !hex4(q, &cp))
                {
                    jfail(c, "bad \\u escape");
                    return 0;
                }
                q += 4;
                if (cp >= 0xDC00 && cp <= 0xDFFF)
                {
                    jfail(c, "lone low surrogate");
                    return 0;
                }
                if (cp >= 0xD800 && cp <= 0xDBFF)
                {
                    uint32_t lo;
                    if (qe - q < 6 || q[0] != '\\' || q[1] != 'u' || !hex4(q + 2, &lo) ||
                        lo < 0xDC00 || lo > 0xDFFF)
                    {
                        jfail(c, "lone high surrogate");
                        return 0;
                    }
                    q += 6;
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                }
                /* a \u escape is at least 6 input bytes, at most 4 output bytes */
                ol += put_utf8(o + ol, cp);
                break;
            }
            default:
                jfail(c, "bad escape");
                return 0;
        }
    }
    if (!utf8_valid(o, ol))
    {
        jfail(c, "invalid UTF-8 in string");
        return 0;
    }
    *out = (const char *) o;
    *out_len = (uint32_t) ol;
    return 1;
}

/* Digit k of the digit sequence int ++ frac (zero beyond its end). */
static unsigned digit_at(const uint8_t *ip, size_t ni, const uint8_t *fp, size_t nf, int64_t k)
{
    if (k < (int64_t) ni)
        return (unsigned) (ip[k] - '0');
    if (k < (int64_t) (ni + nf))
        return (unsigned) (fp[k - (int64_t) ni] - '0');
    return 0;
}

/* For a number with fraction or exponent: decides from the text whether the value it denotes
 * is a whole number and, if so, its exact magnitude (PD-4 judges that value; its nearest
 * double can be whole when the text is not: 22.0000000000000001, 1e-400). The text is
 * int digits [ip, ip+ni), fraction digits [fp, fp+nf), times 10^exp. */
static void exact_whole(dnode *n, const uint8_t *ip, size_t ni, const uint8_t *fp, size_t nf,
                        int64_t exp, int neg)
{
    int64_t len = (int64_t) (ni + nf);
    int64_t first = -1, last = -1;
    for (int64_t k = 0; k < len; k++)
        if (digit_at(ip, ni, fp, nf, k) != 0)
        {
            if (first < 0)
                first = k;
            last = k;
        }
    n->whole = 0;
    n->big = 0;
    n->mag = 0;
    if (first < 0)
    {
        n->whole = 1; /* zero, whatever the exponent */
        return;
    }
    int64_t point = (int64_t) ni + exp; /* digits before the decimal point */
    if (last >= point)
        return; /* a nonzero digit after the point */
    n->whole = 1;
    n->neg = (uint8_t) neg;
    if (point - first > 20)
    {
        n->big = 1;
        return;
    }
    uint64_t mag = 0;
    for (int64_t k = first; k < point; k++)
    {
        unsigned dgt = digit_at(ip, ni, fp, nf, k);
        if (mag > (UINT64_MAX - dgt) / 10)
        {
            n->big = 1;
            return;
        }
        mag = mag * 10 + dgt;
    }
    n->mag = mag;
}

static dnode *parse_number(jctx *c)
{
    const uint8_t *s = c->p;
    int neg = 0;
    int integral = 1;
    if (c->p < c->end && *c->p == '-')
    {
        neg = 1;
        c->p++;
    }
    if (c->p >= c->end || *c->p < '0' || *c->p > '9')
    {
        jfail(c, "bad number");
        return NULL;
    }
    uint64_t mag = 0;
    int big = 0;
    const uint8_t *ip = c->p;
    const uint8_t *fp = NULL;
    size_t nf = 0;
    int64_t exp = 0;
    if (*c->p == '0')
    {
        c->p++;
        if (c->p < c->end && *c->p >= '0' && *c->p <= '9')
        {
            jfail(c, "leading zero in number");
            return NULL;
        }
    }
    else
    {
        while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
        {
            uint64_t dgt = (uint64_t) (*c->p - '0');
            if (mag > (UINT64_MAX - dgt) / 10)
            {
                big = 1;
            }
            else
            {
                mag = mag * 10 + dgt;
            }
            c->p++;
        }
    }
    size_t ni = (size_t) (c->p - ip);
    if (c->p < c->end && *c->p == '.')
    {
        integral = 0;
        c->p++;
        if (c->p >= c->end || *c->p < '0' || *c->p > '9')
        {
            jfail(c, "bad fraction");
            return NULL;
        }
        fp = c->p;
        while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
            c->p++;
        nf = (size_t) (c->p - fp);
    }
    if (c->p < c->end && (*c->p == 'e' || *c->p == 'E'))
    {
        integral = 0;
        c->p++;
        int eneg = 0;
        if (c->p < c->end && (*c->p == '+' || *c->p == '-'))
            eneg = *c->p++ == '-';
        if (c->p >= c->end || *c->p < '0' || *c->p > '9')
        {
            jfail(c, "bad exponent");
            return NULL;
        }
        /* saturated far beyond any digit count a payload can hold */
        while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
        {
            if (exp < 100000000)
                exp = exp * 10 + (*c->p - '0');
            c->p++;
        }
        if (eneg)
            exp = -exp;
    }
    dnode *n = new_node(c, integral ? DN_INT : DN_FLOAT);
    if (n == NULL)
        return NULL;
    if (integral && !big)
    {
        n->mag = mag;
        n->neg = (uint8_t) (neg && mag != 0);
        n->d = neg ? -(double) mag : (double) mag;
        return n;
    }
    n->big = (uint8_t) big;
    n->neg = (uint8_t) neg;
    size_t l = (size_t) (c->p - s);
    char *tmp = arena_alloc(c->a, l + 1);
    if (tmp == NULL)
    {
        jfail(c, "out of memory");
        return NULL;
    }
    memcpy(tmp, s, l);
    tmp[l] = '\0';
    errno = 0;
    n->d = strtod(tmp, NULL); /* +-HUGE_VAL on overflow: not finite, flagged later */
    if (!integral)
        exact_whole(n, ip, ni, fp, nf, exp, neg);
    return n;
}

static int match_lit(jctx *c, const char *lit)
{
    size_t l = strlen(lit);
    if ((size_t) (c->end - c->p) < l || memcmp(c->p, lit, l) != 0)
    {
        jfail(c, "bad literal");
        return 0;
    }
    c->p += l;
    return 1;
}

static dnode *parse_value(jctx *c, int depth);

static dnode *parse_container(jctx *c, int depth, int is_map)
{
    if (depth > DOM_MAX_DEPTH)
    {
        jfail(c, "nesting deeper than 16");
        return NULL;
    }
    dnode *n = new_node(c, is_map ? DN_MAP : DN_ARRAY);
    if (n == NULL)
        return NULL;
    c->p++;
    skip_ws(c);
    uint8_t close = is_map ? '}' : ']';
    if (c->p < c->end && *c->p == close)
    {
        c->p++;
        return n;
    }
    dnode **tail = &n->child;
    for (;;)
    {
        const char *k = NULL;
        uint32_t kl = 0;
        if (is_map)
        {
            skip_ws(c);
            if (c->p >= c->end || *c->p != '"')
            {
                jfail(c, "expected key");
                return NULL;
            }
            if (!parse_string(c, &k, &kl))
                return NULL;
            skip_ws(c);
            if (c->p >= c->end || *c->p != ':')
            {
                jfail(c, "expected ':'");
                return NULL;
            }
            c->p++;
        }
        dnode *v = parse_value(c, depth + 1);
        if (v == NULL)
            return NULL;
        v->key = k;
        v->key_len = kl;
        *tail = v;
        tail = &v->next;
        if (n->count == UINT32_MAX)
        {
            jfail(c, "too many elements");
            return NULL;
        }
        n->count++;
        skip_ws(c);
        if (c->p >= c->end)
        {
            jfail(c, "unterminated container");
            return NULL;
        }
        if (*c->p == ',')
        {
            c->p++;
            continue;
        }
        if (*c->p == close)
        {
            c->p++;
            return n;
        }
        jfail(c, "expected ',' or end of container");
        return NULL;
    }
}

static dnode *parse_value(jctx *c, int depth)
{
    skip_ws(c);
    if (c->p >= c->end)
    {
        jfail(c, "unexpected end of input");
        return NULL;
    }
    switch (*c->p)
    {
        case '{':
            return parse_container(c, depth, 1);
        case '[':
            return parse_container(c, depth, 0);
        case '"':
        {
            dnode *n = new_node(c, DN_STRING);
            if (n == NULL || !parse_string(c, &n->str, &n->len))
                return NULL;
            return n;
        }
        case 't':
        case 'f':
        {
            int t = *c->p == 't';
            if (!match_lit(c, t ? "true" : "false"))
                return NULL;
            dnode *n = new_node(c, DN_BOOL);
            if (n != NULL)
                n->mag = (uint64_t) t;
            return n;
        }
        case 'n':
            if (!match_lit(c, "null"))
                return NULL;
            return new_node(c, DN_NULL);
        default:
            if (*c->p == '-' || (*c->p >= '0' && *c->p <= '9'))
                return parse_number(c);
            jfail(c, "unexpected character");
            return NULL;
    }
}

dnode *json_decode(arena *a, const uint8_t *buf, size_t len, int allow_nul, dom_error *err)
{
    jctx c = {a, buf, buf + len, buf, err};
    err->msg[0] = '\0';
    err->offset = 0;
    if (allow_nul && len > 0 && buf[len - 1] == '\0')
    {
        c.end--;
    }
    skip_ws(&c);
    if (c.p >= c.end || *c.p != '{')
    {
        jfail(&c, "top-level value is not an object");
        return NULL;
    }
    dnode *root = parse_value(&c, 1);
    if (root == NULL)
        return NULL;
    skip_ws(&c);
    if (c.p != c.end)
    {
        jfail(&c, "trailing bytes after JSON text");
        return NULL;
    }
    return root;
}
