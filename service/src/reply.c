#include "reply.h"

#include <stdio.h>
#include <string.h>

typedef struct
{
    uint8_t *p;
    size_t len;
    size_t cap;
    int err;
} wbuf;

static void w_bytes(wbuf *w, const void *d, size_t n)
{
    if (w->err || n > w->cap - w->len)
    {
        w->err = 1;
        return;
    }
    memcpy(w->p + w->len, d, n);
    w->len += n;
}

static void w_str(wbuf *w, const char *s)
{
    w_bytes(w, s, strlen(s));
}

static void w_json_str(wbuf *w, const char *s, size_t n)
{
    w_bytes(w, "\"", 1);
    for (size_t i = 0; i < n; i++)
    {
        unsigned char c = (unsigned char) s[i];
        if (c == '"' || c == '\\')
        {
            char e[2] = {'\\', (char) c};
            w_bytes(w, e, 2);
        }
        else if (c < 0x20 || c == 0x7f)
        {
            char e[8];
            snprintf(e, sizeof e, "\\u%04x", c);
            w_str(w, e);
        }
        else
        {
            w_bytes(w, &s[i], 1);
        }
    }
    w_bytes(w, "\"", 1);
}

static void c_head(wbuf *w, uint8_t major, uint64_t v)
{
    uint8_t b[9];
    size_t n;
    if (v < 24)
    {
        b[0] = (uint8_t) ((unsigned) (major << 5) | (unsigned) v);
        n = 1;
    }
    else if (v <= 0xff)
    {
        b[0] = (uint8_t) ((major << 5) | 24);
        b[1] = (uint8_t) v;
        n = 2;
    }
    else if (v <= 0xffff)
    {
        b[0] = (uint8_t) ((major << 5) | 25);
        b[1] = (uint8_t) (v >> 8);
        b[2] = (uint8_t) v;
        n = 3;
    }
    else if (v <= 0xffffffffu)
    {
        b[0] = (uint8_t) ((major << 5) | 26);
        for (int i = 0; i < 4; i++)
            b[1 + i] = (uint8_t) (v >> (24 - 8 * i));
        n = 5;
    }
    else
    {
        b[0] = (uint8_t) ((major << 5) | 27);
        for (int i = 0; i < 8; i++)
            b[1 + i] = (uint8_t) (v >> (56 - 8 * i));
        n = 9;
    }
    w_bytes(w, b, n);
}

static void c_text(wbuf *w, const char *s, size_t n)
{
    c_head(w, 3, n);
    w_bytes(w, s, n);
}

static void c_ctext(wbuf *w, const char *s)
{
    c_text(w, s, strlen(s));
}

size_t reply_encode(uint8_t *out, size_t cap, report_fmt fmt, const char *thing, size_t thing_len,
                    int has_id, uint64_t report_id, reply_kind kind, uint64_t ts_ms)
{
    wbuf w = {out, 0, cap, 0};
    const char *code = kind == REPLY_THROTTLED ? "Throttled" : "InvalidPayload";
    const char *msg =
        kind == REPLY_THROTTLED ? "Metrics report rate exceeded" : "Malformed metrics report";
    int accepted = kind == REPLY_ACCEPTED;
    if (fmt == FMT_JSON)
    {
        char num[32];
        w_str(&w, "{\"thingName\":");
        w_json_str(&w, thing, thing_len);
        if (has_id)
        {
            snprintf(num, sizeof num, "%llu", (unsigned long long) report_id);
            w_str(&w, ",\"reportId\":");
            w_str(&w, num);
        }
        w_str(&w, accepted ? ",\"status\":\"ACCEPTED\"" : ",\"status\":\"REJECTED\"");
        if (!accepted)
        {
            w_str(&w, ",\"statusDetails\":{\"ErrorCode\":\"");
            w_str(&w, code);
            w_str(&w, "\",\"ErrorMessage\":\"");
            w_str(&w, msg);
            w_str(&w, "\"}");
        }
        snprintf(num, sizeof num, "%llu", (unsigned long long) ts_ms);
        w_str(&w, ",\"timestamp\":");
        w_str(&w, num);
        w_str(&w, "}");
    }
    else
    {
        uint64_t fields = 3u + (has_id ? 1u : 0u) + (accepted ? 0u : 1u);
        c_head(&w, 5, fields);
        c_ctext(&w, "thingName");
        c_text(&w, thing, thing_len);
        if (has_id)
        {
            c_ctext(&w, "reportId");
            c_head(&w, 0, report_id);
        }
        c_ctext(&w, "status");
        c_ctext(&w, accepted ? "ACCEPTED" : "REJECTED");
        if (!accepted)
        {
            c_ctext(&w, "statusDetails");
            c_head(&w, 5, 2);
            c_ctext(&w, "ErrorCode");
            c_ctext(&w, code);
            c_ctext(&w, "ErrorMessage");
            c_ctext(&w, msg);
        }
        c_ctext(&w, "timestamp");
        c_head(&w, 0, ts_ms);
    }
    return w.err ? 0 : w.len;
}

int reply_topic(char *out, size_t cap, const char *thing, size_t thing_len, report_fmt fmt,
                int accepted)
{
    int n = snprintf(out, cap, "$aws/things/%.*s/defender/metrics/%s/%s", (int) thing_len, thing,
                     fmt == FMT_JSON ? "json" : "cbor", accepted ? "accepted" : "rejected");
    return n > 0 && (size_t) n < cap;
}
