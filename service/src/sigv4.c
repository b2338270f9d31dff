#include "sigv4.h"

#include "strbuf.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void hexify(const unsigned char *in, size_t n, char *out)
{
    static const char hx[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++)
    {
        out[2 * i] = hx[in[i] >> 4];
        out[2 * i + 1] = hx[in[i] & 15];
    }
    out[2 * n] = '\0';
}

static int sha256_hex(const void *d, size_t n, char *out)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int ml = 0;
    if (EVP_Digest(d, n, md, &ml, EVP_sha256(), NULL) != 1 || ml != 32)
        return -1;
    hexify(md, 32, out);
    return 0;
}

static int hmac(const void *key, size_t kl, const char *msg, unsigned char *out)
{
    unsigned int ol = 0;
    if (HMAC(EVP_sha256(), key, (int) kl, (const unsigned char *) msg, strlen(msg), out, &ol) ==
            NULL ||
        ol != 32)
        return -1;
    return 0;
}

static int unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == '~';
}

static int uri_encode(strbuf *b, const char *s, int keep_slash)
{
    for (; *s; s++)
    {
        unsigned char c = (unsigned char) *s;
        if (unreserved(c) || (keep_slash && c == '/'))
        {
            if (!sb_putc(b, (char) c))
                return 0;
        }
        else if (!sb_printf(b, "%%%02X", c))
            return 0;
    }
    return 1;
}

/* The path as SigV4 has it for services other than S3, before it is URI-encoded once more:
 * empty and "." segments dropped, ".." dropping the segment before it (RFC 3986 section 5.2.4,
 * and repeated slashes as one, as botocore and the AWS SDK for JavaScript sign it); the
 * leading '/' kept, and a trailing one when a segment remains. "" is "/". 1, or 0 when out of
 * memory. */
static int normalize_path(strbuf *out, const char *raw)
{
    if (raw[0] == '\0')
        return sb_putc(out, '/');
    size_t n = strlen(raw);
    /* start and length of each segment kept; at most one per two characters */
    size_t cap = n / 2 + 1;
    size_t *seg = malloc(2 * cap * sizeof *seg);
    if (seg == NULL)
        return 0;
    size_t ns = 0;
    for (size_t i = 0; i <= n;)
    {
        size_t e = i;
        while (e < n && raw[e] != '/')
            e++;
        size_t l = e - i;
        if (l == 2 && raw[i] == '.' && raw[i + 1] == '.')
            ns = ns > 0 ? ns - 1 : 0;
        else if (l > 0 && !(l == 1 && raw[i] == '.'))
        {
            seg[2 * ns] = i;
            seg[2 * ns + 1] = l;
            ns++;
        }
        i = e + 1;
    }
    int ok = raw[0] != '/' || sb_putc(out, '/');
    for (size_t k = 0; k < ns && ok; k++)
        ok = (k == 0 || sb_putc(out, '/')) && sb_append(out, raw + seg[2 * k], seg[2 * k + 1]);
    if (ok && ns > 0 && raw[n - 1] == '/')
        ok = sb_putc(out, '/');
    free(seg);
    return ok;
}

int sigv4_path_is_normal(const char *raw_path)
{
    strbuf b;
    sb_init(&b, strlen(raw_path) + 2);
    int normal = normalize_path(&b, raw_path) && !b.oom && strcmp(sb_cstr(&b), raw_path) == 0;
    sb_free(&b);
    return normal;
}

/* A query name or value as sent, decoded (%XX) and URI-encoded as SigV4 wants: a client may
 * send raw UTF-8, reserved characters unencoded or lower-case escapes (malloc'd, NULL if out of
 * memory). */
static char *canon_qpart(const char *raw)
{
    size_t n = strlen(raw);
    char *dec = malloc(n + 1);
    char *out = malloc(3 * n + 1);
    if (dec == NULL || out == NULL)
    {
        free(dec);
        free(out);
        return NULL;
    }
    size_t d = 0;
    for (size_t i = 0; i < n; i++)
    {
        if (raw[i] == '%' && hex_digit_value(raw[i + 1]) >= 0 && hex_digit_value(raw[i + 2]) >= 0)
        {
            dec[d++] = (char) (hex_digit_value(raw[i + 1]) * 16 + hex_digit_value(raw[i + 2]));
            i += 2;
        }
        else
            dec[d++] = raw[i];
    }
    static const char hx[] = "0123456789ABCDEF";
    size_t o = 0;
    for (size_t i = 0; i < d; i++)
    {
        unsigned char c = (unsigned char) dec[i];
        if (unreserved(c))
            out[o++] = (char) c;
        else
        {
            out[o++] = '%';
            out[o++] = hx[c >> 4];
            out[o++] = hx[c & 15];
        }
    }
    out[o] = '\0';
    free(dec);
    return out;
}

typedef struct
{
    char *key;
    char *value;
} canon_kv;

static int cmp_kv(const void *a, const void *b)
{
    const canon_kv *x = a;
    const canon_kv *y = b;
    int c = strcmp(x->key, y->key);
    if (c != 0)
        return c;
    return strcmp(x->value, y->value);
}

/* A header value trimmed, each run of spaces and tabs inside it as one space. */
static int put_trimmed(strbuf *b, const char *v)
{
    int sp = 0, any = 0;
    for (; *v; v++)
    {
        if (*v == ' ' || *v == '\t')
        {
            sp = 1;
            continue;
        }
        if ((sp && any && !sb_putc(b, ' ')) || !sb_putc(b, *v))
            return 0;
        sp = 0;
        any = 1;
    }
    return 1;
}

/* The canonical request into cr; 1, or 0 on failure. A query name given twice once decoded
 * (maxResults, maxResult%73) is a failure with the name in `repeated`: the signature covers
 * the values in sorted order, not in the order the API reads them (the first one wins), so
 * swapping them would keep the signature. */
static int canonical_request(strbuf *cr, const char *method, const char *raw_path,
                             const sigv4_kv *query, size_t nq, const char *signed_headers,
                             sigv4_header_fn get_header, void *hctx, const uint8_t *body,
                             size_t body_len, char *repeated, size_t repeated_size)
{
    int ok = sb_puts(cr, method) && sb_putc(cr, '\n');
    /* non-S3 services: the path as sent, normalised, URI-encoded once more */
    strbuf path;
    sb_init(&path, strlen(raw_path) + 2);
    ok = ok && normalize_path(&path, raw_path) && !path.oom && uri_encode(cr, sb_cstr(&path), 1) &&
         sb_putc(cr, '\n');
    sb_free(&path);
    /* names and values canonically encoded, sorted by name, then value */
    canon_kv *sorted = NULL;
    if (nq > 0)
    {
        sorted = calloc(nq, sizeof *sorted);
        if (sorted == NULL)
            return 0;
        for (size_t i = 0; i < nq && ok; i++)
        {
            sorted[i].key = canon_qpart(query[i].key);
            sorted[i].value = canon_qpart(query[i].value ? query[i].value : "");
            ok = sorted[i].key != NULL && sorted[i].value != NULL;
        }
        if (ok)
            qsort(sorted, nq, sizeof *sorted, cmp_kv);
        for (size_t i = 1; i < nq && ok; i++)
            if (strcmp(sorted[i - 1].key, sorted[i].key) == 0)
            {
                snprintf(repeated, repeated_size, "%s", sorted[i].key);
                ok = 0;
            }
    }
    for (size_t i = 0; i < nq && ok; i++)
    {
        ok = (i == 0 || sb_putc(cr, '&')) && sb_puts(cr, sorted[i].key) && sb_putc(cr, '=') &&
             sb_puts(cr, sorted[i].value);
    }
    for (size_t i = 0; i < nq; i++)
    {
        free(sorted[i].key);
        free(sorted[i].value);
    }
    free(sorted);
    ok = ok && sb_putc(cr, '\n');
    /* canonical headers in the order of SignedHeaders (which is sorted) */
    const char *p = signed_headers;
    while (ok && *p)
    {
        const char *e = strchr(p, ';');
        size_t l = e ? (size_t) (e - p) : strlen(p);
        char name[128];
        if (l == 0 || l >= sizeof name)
            return 0;
        memcpy(name, p, l);
        name[l] = '\0';
        ok = sb_puts(cr, name) && sb_putc(cr, ':');
        /* every occurrence in the order sent, joined with ',' */
        const char *v;
        for (size_t k = 0; ok && (v = get_header(hctx, name, k)) != NULL; k++)
            ok = (k == 0 || sb_putc(cr, ',')) && put_trimmed(cr, v);
        ok = ok && sb_putc(cr, '\n');
        p = e ? e + 1 : p + l;
    }
    char ph[65];
    if (sha256_hex(body_len ? (const void *) body : "", body_len, ph) != 0)
        return 0;
    ok = ok && sb_putc(cr, '\n') && sb_puts(cr, signed_headers) && sb_putc(cr, '\n') &&
         sb_puts(cr, ph);
    return ok;
}

/* sigv4_sign, with the repeated query name (if that is why it failed) in `repeated`. */
static int sign_request(const char *method, const char *raw_path, const sigv4_kv *query, size_t nq,
                        const char *signed_headers, sigv4_header_fn get_header, void *hctx,
                        const uint8_t *body, size_t body_len, const char *amz_date,
                        const char *scope, const char *secret, char *sig_hex, char *repeated,
                        size_t repeated_size)
{
    strbuf cr;
    sb_init(&cr, 1u << 20);
    if (!canonical_request(&cr, method, raw_path, query, nq, signed_headers, get_header, hctx, body,
                           body_len, repeated, repeated_size))
    {
        sb_free(&cr);
        return -1;
    }
    char crh[65];
    int rc = sha256_hex(cr.data, cr.len, crh);
    sb_free(&cr);
    if (rc != 0)
        return -1;
    char sts[512];
    int n = snprintf(sts, sizeof sts, "AWS4-HMAC-SHA256\n%s\n%s\n%s", amz_date, scope, crh);
    if (n < 0 || (size_t) n >= sizeof sts)
        return -1;
    /* scope = date/region/service/aws4_request */
    char parts[4][64];
    const char *p = scope;
    for (int i = 0; i < 4; i++)
    {
        const char *e = strchr(p, '/');
        size_t l = e ? (size_t) (e - p) : strlen(p);
        if (l >= sizeof parts[i] || (i < 3 && e == NULL))
            return -1;
        memcpy(parts[i], p, l);
        parts[i][l] = '\0';
        p = e ? e + 1 : p + l;
    }
    /* "AWS4" and the secret (up to 299 characters, http_api.c), then the keys derived from it
     * (the last one signs for a whole day in the scope's region): wiped on every path, with
     * OPENSSL_cleanse, which the compiler cannot drop as a dead store */
    struct
    {
        char k0[8 + 300];
        unsigned char k[4][32];
    } keys;
    unsigned char sig[32];
    rc = -1;
    n = snprintf(keys.k0, sizeof keys.k0, "AWS4%s", secret);
    if (n >= 0 && (size_t) n < sizeof keys.k0 &&
        hmac(keys.k0, (size_t) n, parts[0], keys.k[0]) == 0 &&
        hmac(keys.k[0], 32, parts[1], keys.k[1]) == 0 &&
        hmac(keys.k[1], 32, parts[2], keys.k[2]) == 0 &&
        hmac(keys.k[2], 32, parts[3], keys.k[3]) == 0 && hmac(keys.k[3], 32, sts, sig) == 0)
    {
        hexify(sig, 32, sig_hex);
        rc = 0;
    }
    OPENSSL_cleanse(&keys, sizeof keys);
    return rc;
}

int sigv4_sign(const char *method, const char *raw_path, const sigv4_kv *query, size_t nq,
               const char *signed_headers, sigv4_header_fn get_header, void *hctx,
               const uint8_t *body, size_t body_len, const char *amz_date, const char *scope,
               const char *secret, char *sig_hex)
{
    char repeated[64];
    return sign_request(method, raw_path, query, nq, signed_headers, get_header, hctx, body,
                        body_len, amz_date, scope, secret, sig_hex, repeated, sizeof repeated);
}

static void fmt_amz_date(time_t t, char out[20])
{
    struct tm tm;
    if (gmtime_r(&t, &tm) == NULL || strftime(out, 20, "%Y%m%dT%H%M%SZ", &tm) == 0)
        strcpy(out, "?");
}

static int d2(const char *s)
{
    return (s[0] - '0') * 10 + (s[1] - '0');
}

static int parse_amz_date(const char *s, time_t *out)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    /* YYYYMMDDTHHMMSSZ, digits only, and a real time (timegm would normalise 20151332) */
    if (strlen(s) != 16 || s[8] != 'T' || s[15] != 'Z')
        return -1;
    for (int i = 0; i < 15; i++)
        if (i != 8 && (s[i] < '0' || s[i] > '9'))
            return -1;
    int v[6] = {d2(s) * 100 + d2(s + 2), d2(s + 4), d2(s + 6), d2(s + 9), d2(s + 11), d2(s + 13)};
    tm.tm_year = v[0] - 1900;
    tm.tm_mon = v[1] - 1;
    tm.tm_mday = v[2];
    tm.tm_hour = v[3];
    tm.tm_min = v[4];
    tm.tm_sec = v[5];
    time_t t = timegm(&tm);
    struct tm back;
    if (t == (time_t) -1 || gmtime_r(&t, &back) == NULL || back.tm_year != v[0] - 1900 ||
        back.tm_mon != v[1] - 1 || back.tm_mday != v[2] || back.tm_hour != v[3] ||
        back.tm_min != v[4] || back.tm_sec != v[5])
        return -1;
    *out = t;
    return 0;
}

int sigv4_verify(const char *method, const char *raw_path, const sigv4_kv *query, size_t nq,
                 sigv4_header_fn get_header, void *hctx, const uint8_t *body, size_t body_len,
                 sigv4_secret_fn secret_for, void *sctx, time_t now, char *why, size_t whysz)
{
    const char *auth = get_header(hctx, "authorization", 0);
    if (auth == NULL)
    {
        snprintf(why, whysz, "Missing Authentication Token");
        return SIGV4_MISSING;
    }
    /* Two Authorization headers or two dates: which one counts would be a guess (the date
     * signed would be both, joined) */
    if (get_header(hctx, "authorization", 1) != NULL)
    {
        snprintf(why, whysz, "More than one Authorization header");
        return SIGV4_MALFORMED;
    }
    static const char alg[] = "AWS4-HMAC-SHA256 ";
    if (strncmp(auth, alg, sizeof alg - 1) != 0)
    {
        snprintf(why, whysz, "Unsupported authorization type");
        return SIGV4_MALFORMED;
    }
    char cred[256] = "", signed_headers[512] = "", sig[80] = "";
    const char *p = auth + sizeof alg - 1;
    int seen = 0;
    while (*p)
    {
        while (*p == ' ' || *p == ',')
            p++;
        const char *eq = strchr(p, '=');
        if (eq == NULL)
            break;
        const char *end = strchr(eq, ',');
        size_t vl = end ? (size_t) (end - eq - 1) : strlen(eq + 1);
        char *dst = NULL;
        size_t cap = 0;
        if ((size_t) (eq - p) == 10 && strncmp(p, "Credential", 10) == 0)
        {
            dst = cred;
            cap = sizeof cred;
        }
        else if ((size_t) (eq - p) == 13 && strncmp(p, "SignedHeaders", 13) == 0)
        {
            dst = signed_headers;
            cap = sizeof signed_headers;
        }
        else if ((size_t) (eq - p) == 9 && strncmp(p, "Signature", 9) == 0)
        {
            dst = sig;
            cap = sizeof sig;
        }
        if (dst != NULL)
        {
            int bit = dst == cred ? 1 : dst == signed_headers ? 2 : 4;
            if (seen & bit)
            {
                snprintf(why, whysz, "Authorization header has more than one '%.*s' parameter",
                         (int) (eq - p), p);
                return SIGV4_MALFORMED;
            }
            seen |= bit;
            if (vl >= cap)
            {
                snprintf(why, whysz, "Authorization header field too long");
                return SIGV4_MALFORMED;
            }
            memcpy(dst, eq + 1, vl);
            dst[vl] = '\0';
        }
        p = end ? end + 1 : eq + 1 + vl;
    }
    char *slash = strchr(cred, '/');
    if (cred[0] == '\0' || signed_headers[0] == '\0' || sig[0] == '\0')
    {
        /* AWS names every missing part, in this order */
        snprintf(why, whysz, "%s%s%s",
                 cred[0] ? "" : "Authorization header requires 'Credential' parameter. ",
                 sig[0] ? "" : "Authorization header requires 'Signature' parameter. ",
                 signed_headers[0] ? ""
                                   : "Authorization header requires 'SignedHeaders' parameter.");
        return SIGV4_MALFORMED;
    }
    if (slash == NULL)
    {
        snprintf(why, whysz, "Credential must have the form <access key id>/<scope>");
        return SIGV4_MALFORMED;
    }
    *slash = '\0';
    const char *akid = cred;
    const char *scope = slash + 1;
    /* scope: <YYYYMMDD>/<region>/<service>/aws4_request */
    const char *sp[4] = {scope, NULL, NULL, NULL};
    size_t sl[4];
    int nparts = 1;
    for (const char *c = scope; *c; c++)
        if (*c == '/' && nparts++ < 4)
            sp[nparts - 1] = c + 1;
    if (nparts != 4)
    {
        snprintf(why, whysz,
                 "Credential should have the form "
                 "<access key id>/<YYYYMMDD>/<region>/" SIGV4_SERVICE "/aws4_request");
        return SIGV4_MALFORMED;
    }
    for (int i = 0; i < 3; i++)
        sl[i] = (size_t) (sp[i + 1] - sp[i] - 1);
    sl[3] = strlen(sp[3]);
    const char *secret = secret_for(sctx, akid);
    if (secret == NULL)
    {
        snprintf(why, whysz, "The security token included in the request is invalid.");
        return SIGV4_UNKNOWN_KEY;
    }
    const char *amz_date = get_header(hctx, "x-amz-date", 0);
    time_t t;
    if (amz_date != NULL && get_header(hctx, "x-amz-date", 1) != NULL)
    {
        snprintf(why, whysz, "More than one X-Amz-Date header");
        return SIGV4_MALFORMED;
    }
    if (amz_date == NULL || parse_amz_date(amz_date, &t) != 0)
    {
        snprintf(why, whysz, "Missing or invalid X-Amz-Date");
        return SIGV4_MALFORMED;
    }
    if (sl[0] != 8 || strncmp(scope, amz_date, 8) != 0)
    {
        snprintf(why, whysz, "Credential scope date does not match X-Amz-Date");
        return SIGV4_BAD_SIGNATURE;
    }
    if (sl[1] == 0)
    {
        snprintf(why, whysz, "Credential should be scoped to a valid region");
        return SIGV4_BAD_SIGNATURE;
    }
    if ((sl[2] != strlen(SIGV4_SERVICE) || strncmp(sp[2], SIGV4_SERVICE, sl[2]) != 0) &&
        (sl[2] != strlen(SIGV4_SERVICE_OLD) || strncmp(sp[2], SIGV4_SERVICE_OLD, sl[2]) != 0))
    {
        snprintf(why, whysz, "Credential should be scoped to correct service: '" SIGV4_SERVICE "'");
        return SIGV4_BAD_SIGNATURE;
    }
    if (strcmp(sp[3], "aws4_request") != 0)
    {
        snprintf(why, whysz, "Credential should be scoped with a valid terminator: 'aws4_request'");
        return SIGV4_BAD_SIGNATURE;
    }
    if (t > now + SIGV4_SKEW_SECONDS || t < now - SIGV4_SKEW_SECONDS)
    {
        /* AWS's wording, e.g. "Signature expired: 20260101T000000Z is now earlier than
         * 20260101T001501Z (20260101T003001Z - 15 min.)" */
        char limit[20], nowbuf[20];
        fmt_amz_date(t < now ? now - SIGV4_SKEW_SECONDS : now + SIGV4_SKEW_SECONDS, limit);
        fmt_amz_date(now, nowbuf);
        if (t < now)
            snprintf(why, whysz, "Signature expired: %s is now earlier than %s (%s - 15 min.)",
                     amz_date, limit, nowbuf);
        else
            snprintf(why, whysz,
                     "Signature not yet current: %s is still later than %s (%s + 15 min.)",
                     amz_date, limit, nowbuf);
        return SIGV4_BAD_SIGNATURE;
    }
    /* SignedHeaders: lower-case names, sorted, each once, host among them */
    int host = 0;
    const char *prev = NULL;
    size_t prevl = 0;
    for (const char *h = signed_headers;;)
    {
        const char *e = strchr(h, ';');
        size_t l = e ? (size_t) (e - h) : strlen(h);
        int bad = l == 0;
        for (size_t i = 0; i < l && !bad; i++)
            bad = h[i] >= 'A' && h[i] <= 'Z';
        if (!bad && prev != NULL)
        {
            int c = strncmp(prev, h, prevl < l ? prevl : l);
            bad = c > 0 || (c == 0 && prevl >= l);
        }
        if (bad)
        {
            snprintf(why, whysz,
                     "SignedHeaders must be lower-case header names, sorted, each once");
            return SIGV4_BAD_SIGNATURE;
        }
        host = host || (l == 4 && strncmp(h, "host", 4) == 0);
        char name[128];
        if (l < sizeof name)
        {
            memcpy(name, h, l);
            name[l] = '\0';
            if (get_header(hctx, name, 0) == NULL)
            {
                snprintf(why, whysz, "Signed header '%s' is not in the request", name);
                return SIGV4_BAD_SIGNATURE;
            }
        }
        prev = h;
        prevl = l;
        if (e == NULL)
            break;
        h = e + 1;
    }
    if (!host)
    {
        snprintf(why, whysz, "host must be signed");
        return SIGV4_BAD_SIGNATURE;
    }
    char expect[65], repeated[64] = "";
    if (sign_request(method, raw_path, query, nq, signed_headers, get_header, hctx, body, body_len,
                     amz_date, scope, secret, expect, repeated, sizeof repeated) != 0)
    {
        if (repeated[0] != '\0')
            snprintf(why, whysz, "Query parameter '%s' is given more than once", repeated);
        else
            snprintf(why, whysz, "Malformed request for signing");
        return SIGV4_MALFORMED;
    }
    if (strlen(sig) != 64 || CRYPTO_memcmp(sig, expect, 64) != 0)
    {
        snprintf(why, whysz,
                 "The request signature we calculated does not match the signature you provided.");
        return SIGV4_BAD_SIGNATURE;
    }
    return SIGV4_OK;
}
