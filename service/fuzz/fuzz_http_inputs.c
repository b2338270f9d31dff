/* libFuzzer target: the parsers of the HTTP API that are the service's own (the request
 * line, headers and JSON bodies are parsed by libmicrohttpd and cJSON): AWS Signature V4
 * verification (Authorization and X-Amz-Date headers, canonical request of any method, path,
 * query and body) and the time stamps of query strings (parse_time_ms).
 *
 * Input: fields separated by '\n' — method, path, query string (`k=v&k2`), Authorization,
 * X-Amz-Date, Host (a tab between values sent as several Host headers), a query time stamp —
 * then the body. The path also goes through sigv4_path_is_normal. When the first byte is odd, the
 * request is also signed with the configured key (sigv4_sign over the same fields, with the
 * X-Amz-Date's day as scope) and must then verify: signing and verifying share the canonical
 * request, so any input that signs must verify. */
#include "sigv4.h"
#include "timeparse.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FIELDS    7
#define MAX_QUERY 16
#define AKID      "AKIDFUZZ"
#define SECRET    "fuzz-secret"

#define MAX_HOSTS 4

typedef struct
{
    const char *authorization;
    const char *amz_date;
    const char *host[MAX_HOSTS];
    size_t nhost;
} headers;

static const char *get_header(void *ctx, const char *name, size_t index)
{
    const headers *h = ctx;
    if (strcmp(name, "host") == 0)
        return index < h->nhost ? h->host[index] : NULL;
    if (index > 0)
        return NULL;
    if (strcmp(name, "authorization") == 0)
        return h->authorization;
    if (strcmp(name, "x-amz-date") == 0)
        return h->amz_date;
    return NULL;
}

static const char *secret_for(void *ctx, const char *akid)
{
    (void) ctx;
    return strcmp(akid, AKID) == 0 ? SECRET : NULL;
}

/* 20260101T000000Z -> seconds (UTC), or -1 unless it is 16 characters of that form and a
 * real time (month 13, February 30 or hour 24 are not: the verifier refuses them). */
static time_t amz_time(const char *s)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    if (strlen(s) != 16 || s[8] != 'T' || s[15] != 'Z')
        return -1;
    for (int i = 0; i < 15; i++)
        if (i != 8 && (s[i] < '0' || s[i] > '9'))
            return -1;
    if (sscanf(s, "%4d%2d%2dT%2d%2d%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec) != 6)
        return -1;
    struct tm want = tm;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    time_t t = timegm(&tm);
    if (t < 0 || tm.tm_year + 1900 != want.tm_year || tm.tm_mon + 1 != want.tm_mon ||
        tm.tm_mday != want.tm_mday || tm.tm_hour != want.tm_hour || tm.tm_min != want.tm_min ||
        tm.tm_sec != want.tm_sec)
        return -1;
    return t;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 8192)
        return 0;
    int sign = data[0] & 1;
    /* A NUL-terminated copy, split in place. */
    char *buf = malloc(size);
    if (buf == NULL)
        return 0;
    memcpy(buf, data + 1, size - 1);
    buf[size - 1] = '\0';
    char *field[FIELDS];
    char *p = buf;
    for (int i = 0; i < FIELDS; i++)
    {
        field[i] = p;
        char *nl = strchr(p, '\n');
        if (nl != NULL)
        {
            *nl = '\0';
            p = nl + 1;
        }
        else
            p += strlen(p);
    }
    const char *body = p;
    size_t body_len = strlen(p);

    sigv4_kv query[MAX_QUERY];
    size_t nq = 0;
    for (char *q = field[2]; *q != '\0' && nq < MAX_QUERY;)
    {
        char *amp = strchr(q, '&');
        if (amp != NULL)
            *amp = '\0';
        char *eq = strchr(q, '=');
        if (eq != NULL)
            *eq = '\0';
        query[nq].key = q;
        query[nq].value = eq != NULL ? eq + 1 : NULL;
        nq++;
        q = amp != NULL ? amp + 1 : q + strlen(q);
    }

    int64_t ms;
    (void) parse_time_ms(field[6], &ms);

    (void) sigv4_path_is_normal(field[1]);

    headers h = {field[3], field[4], {NULL}, 0};
    for (char *v = field[5]; h.nhost < MAX_HOSTS;)
    {
        h.host[h.nhost++] = v;
        char *tab = strchr(v, '\t');
        if (tab == NULL)
            break;
        *tab = '\0';
        v = tab + 1;
    }
    char why[200] = "";
    time_t now = amz_time(field[4]);
    int verdict =
        sigv4_verify(field[0], field[1], query, nq, get_header, &h, (const uint8_t *) body,
                     body_len, secret_for, NULL, now >= 0 ? now : 0, why, sizeof why);
    /* A refusal always says why (the reason is logged and returned to the client). */
    if (verdict != SIGV4_OK && why[0] == '\0')
        __builtin_trap();

    if (sign && now >= 0)
    {
        char scope[64], sig[65], auth[256];
        snprintf(scope, sizeof scope, "%.8s/us-east-1/iot/aws4_request", field[4]);
        h.authorization = "";
        if (sigv4_sign(field[0], field[1], query, nq, "host;x-amz-date", get_header, &h,
                       (const uint8_t *) body, body_len, field[4], scope, SECRET, sig) == 0)
        {
            snprintf(auth, sizeof auth,
                     "AWS4-HMAC-SHA256 Credential=" AKID "/%s, SignedHeaders=host;x-amz-date, "
                     "Signature=%s",
                     scope, sig);
            h.authorization = auth;
            int r =
                sigv4_verify(field[0], field[1], query, nq, get_header, &h, (const uint8_t *) body,
                             body_len, secret_for, NULL, now, why, sizeof why);
            if (r != SIGV4_OK)
            {
                fprintf(stderr, "a signed request did not verify: %s\n", why);
                __builtin_trap();
            }
        }
    }
    free(buf);
    return 0;
}
