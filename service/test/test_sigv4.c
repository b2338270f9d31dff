/* Unit tests: SigV4 verification (sigv4_verify), every acceptance and refusal branch.
 *
 * The expected signatures are computed here by an independent implementation of AWS
 * Signature Version 4 (canonical request, string to sign, HMAC-SHA256 key derivation), not
 * with the service's sigv4_sign. That implementation is checked first against signatures
 * published in AWS's SigV4 test suite (aws-sig-v4-test-suite, scope .../service/...). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "sigv4.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* ---------------------------------------------------------------------------------------------
 * Independent SigV4 signer
 * ------------------------------------------------------------------------------------------- */

#define AKID   "AKIDEXAMPLE"
#define SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define DATE   "20150830T123600Z"

typedef struct
{
    char d[8192];
    size_t n;
} buf;

static void put(buf *b, const char *s, size_t n)
{
    assert_true(b->n + n < sizeof b->d);
    memcpy(b->d + b->n, s, n);
    b->n += n;
    b->d[b->n] = '\0';
}

static void puts_(buf *b, const char *s)
{
    put(b, s, strlen(s));
}

/* RFC 3986 unreserved characters stay, every other byte is %XX (upper-case hex) */
static void enc(buf *b, const char *s, size_t n, int keep_slash)
{
    static const char hx[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++)
    {
        unsigned char c = (unsigned char) s[i];
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/'))
            put(b, (const char *) &s[i], 1);
        else
        {
            char e[3] = {'%', hx[c >> 4], hx[c & 15]};
            put(b, e, 3);
        }
    }
}

static int hexv(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* RFC 3986's remove_dot_segments, repeated slashes taken as one (strtok skips empty
 * segments); the leading '/' stays, and a trailing one unless nothing is left */
static void norm_path(buf *out, const char *path)
{
    char copy[1024];
    char *seg[512];
    size_t n = 0, len = strlen(path);
    assert_true(len < sizeof copy);
    memcpy(copy, path, len + 1);
    for (char *save = NULL, *s = strtok_r(copy, "/", &save); s != NULL;
         s = strtok_r(NULL, "/", &save))
    {
        if (strcmp(s, "..") == 0)
        {
            if (n > 0)
                n--;
        }
        else if (strcmp(s, ".") != 0)
            seg[n++] = s;
    }
    if (path[0] == '/')
        puts_(out, "/");
    for (size_t i = 0; i < n; i++)
    {
        if (i > 0)
            puts_(out, "/");
        puts_(out, seg[i]);
    }
    if (n > 0 && len > 0 && path[len - 1] == '/')
        puts_(out, "/");
}

/* the query as sent (percent-encoded or not) decoded, then encoded as SigV4 wants */
static void canon_qpart(buf *out, const char *raw)
{
    buf dec = {.n = 0};
    for (size_t i = 0; raw[i]; i++)
    {
        if (raw[i] == '%' && hexv(raw[i + 1]) >= 0 && hexv(raw[i + 2]) >= 0)
        {
            char c = (char) (hexv(raw[i + 1]) * 16 + hexv(raw[i + 2]));
            put(&dec, &c, 1);
            i += 2;
        }
        else
            put(&dec, &raw[i], 1);
    }
    enc(out, dec.d, dec.n, 0);
}

typedef struct
{
    char k[256];
    char v[256];
} qpair;

static int cmp_qpair(const void *a, const void *b)
{
    const qpair *x = a;
    const qpair *y = b;
    int c = strcmp(x->k, y->k);
    return c != 0 ? c : strcmp(x->v, y->v);
}

static void hex(const unsigned char *in, size_t n, char *out)
{
    static const char hx[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++)
    {
        out[2 * i] = hx[in[i] >> 4];
        out[2 * i + 1] = hx[in[i] & 15];
    }
    out[2 * n] = '\0';
}

static void sha256hex(const void *d, size_t n, char out[65])
{
    unsigned char md[32];
    unsigned int ml = 0;
    assert_int_equal(EVP_Digest(d, n, md, &ml, EVP_sha256(), NULL), 1);
    assert_int_equal(ml, 32);
    hex(md, 32, out);
}

static void hmac256(const void *key, size_t kl, const char *msg, unsigned char out[32])
{
    unsigned int ol = 0;
    assert_non_null(
        HMAC(EVP_sha256(), key, (int) kl, (const unsigned char *) msg, strlen(msg), out, &ol));
    assert_int_equal(ol, 32);
}

/* A request as the service sees it: path and query raw, as sent */
typedef struct
{
    const char *name; /* as sent, any case */
    const char *value;
} hdr;

typedef struct
{
    const char *method;
    const char *path;
    sigv4_kv q[16];
    size_t nq;
    hdr h[16];
    size_t nh;
    const char *body;
    char auth[1024];
} req;

/* the index-th occurrence of a header (0 the first), the name in any case */
static const char *find_header_n(const req *r, const char *name, size_t index)
{
    for (size_t i = 0; i < r->nh; i++)
        if (strcasecmp(r->h[i].name, name) == 0 && index-- == 0)
            return r->h[i].value;
    return NULL;
}

static const char *find_header(const req *r, const char *name)
{
    return find_header_n(r, name, 0);
}

/* Signature over r; signed_headers as it will appear in the Authorization header (the
 * canonical headers follow its order, as a careless client would); payload_hash NULL for the
 * SHA-256 of the body. */
static void sign_indep(const req *r, const char *signed_headers, const char *amz_date,
                       const char *scope, const char *secret, const char *payload_hash,
                       char sig[65])
{
    buf cr = {.n = 0};
    puts_(&cr, r->method);
    puts_(&cr, "\n");
    /* non-S3: the path as sent, its dot segments resolved and empty ones dropped, is encoded
     * once more */
    buf path = {.n = 0};
    norm_path(&path, r->path[0] ? r->path : "/");
    enc(&cr, path.d, path.n, 1);
    puts_(&cr, "\n");
    qpair q[16];
    for (size_t i = 0; i < r->nq; i++)
    {
        buf k = {.n = 0}, v = {.n = 0};
        canon_qpart(&k, r->q[i].key);
        canon_qpart(&v, r->q[i].value ? r->q[i].value : "");
        assert_true(k.n < sizeof q[i].k && v.n < sizeof q[i].v);
        memcpy(q[i].k, k.d, k.n + 1);
        memcpy(q[i].v, v.d, v.n + 1);
    }
    qsort(q, r->nq, sizeof q[0], cmp_qpair);
    for (size_t i = 0; i < r->nq; i++)
    {
        if (i > 0)
            puts_(&cr, "&");
        puts_(&cr, q[i].k);
        puts_(&cr, "=");
        puts_(&cr, q[i].v);
    }
    puts_(&cr, "\n");
    char names[512];
    snprintf(names, sizeof names, "%s", signed_headers);
    for (char *save = NULL, *n = strtok_r(names, ";", &save); n != NULL;
         n = strtok_r(NULL, ";", &save))
    {
        for (char *c = n; *c; c++)
            if (*c >= 'A' && *c <= 'Z')
                *c = (char) (*c - 'A' + 'a');
        puts_(&cr, n);
        puts_(&cr, ":");
        /* each value sent under this name, in order, separated by ','; each trimmed, runs of
         * white space as one space */
        int first = 1;
        for (size_t i = 0; i < r->nh; i++)
        {
            if (strcasecmp(r->h[i].name, n) != 0)
                continue;
            if (!first)
                puts_(&cr, ",");
            first = 0;
            int sp = 0, any = 0;
            for (const char *v = r->h[i].value; *v; v++)
            {
                if (*v == ' ' || *v == '\t')
                {
                    sp = 1;
                    continue;
                }
                if (sp && any)
                    puts_(&cr, " ");
                put(&cr, v, 1);
                sp = 0;
                any = 1;
            }
        }
        puts_(&cr, "\n");
    }
    puts_(&cr, "\n");
    puts_(&cr, signed_headers);
    puts_(&cr, "\n");
    char ph[65];
    if (payload_hash == NULL)
    {
        const char *body = r->body ? r->body : "";
        sha256hex(body, strlen(body), ph);
        payload_hash = ph;
    }
    puts_(&cr, payload_hash);

    char crh[65];
    sha256hex(cr.d, cr.n, crh);
    char sts[512];
    snprintf(sts, sizeof sts, "AWS4-HMAC-SHA256\n%s\n%s\n%s", amz_date, scope, crh);

    char k0[320];
    snprintf(k0, sizeof k0, "AWS4%s", secret);
    char sc[256];
    snprintf(sc, sizeof sc, "%s", scope);
    unsigned char k[32], k2[32];
    const void *key = k0;
    size_t kl = strlen(k0);
    for (char *save = NULL, *part = strtok_r(sc, "/", &save); part != NULL;
         part = strtok_r(NULL, "/", &save))
    {
        hmac256(key, kl, part, k2);
        memcpy(k, k2, 32);
        key = k;
        kl = 32;
    }
    hmac256(k, 32, sts, k2);
    hex(k2, 32, sig);
}

/* ---------------------------------------------------------------------------------------------
 * Requests and the verifier
 * ------------------------------------------------------------------------------------------- */

static time_t g_now;

static void add_header(req *r, const char *name, const char *value)
{
    assert_true(r->nh < sizeof r->h / sizeof r->h[0]);
    r->h[r->nh].name = name;
    r->h[r->nh].value = value;
    r->nh++;
}

static void set_header(req *r, const char *name, const char *value)
{
    for (size_t i = 0; i < r->nh; i++)
        if (strcasecmp(r->h[i].name, name) == 0)
        {
            r->h[i].value = value;
            return;
        }
    add_header(r, name, value);
}

/* the first occurrence removed, the others kept in order */
static void del_header(req *r, const char *name)
{
    for (size_t i = 0; i < r->nh; i++)
        if (strcasecmp(r->h[i].name, name) == 0)
        {
            memmove(&r->h[i], &r->h[i + 1], (r->nh - i - 1) * sizeof r->h[0]);
            r->nh--;
            return;
        }
}

static void add_query(req *r, const char *k, const char *v)
{
    assert_true(r->nq < sizeof r->q / sizeof r->q[0]);
    r->q[r->nq].key = k;
    r->q[r->nq].value = v;
    r->nq++;
}

/* GET / to example.amazonaws.com at 20150830T123600Z, as in AWS's test suite */
static void base_req(req *r, const char *method, const char *path)
{
    memset(r, 0, sizeof *r);
    r->method = method;
    r->path = path;
    add_header(r, "Host", "example.amazonaws.com");
    add_header(r, "X-Amz-Date", DATE);
}

static const char *hdr_cb(void *ctx, const char *lower_name, size_t index)
{
    /* as libmicrohttpd: a case-insensitive look-up; the verifier must ask in lower case */
    for (const char *c = lower_name; *c; c++)
        if (*c >= 'A' && *c <= 'Z')
            return NULL;
    return find_header_n(ctx, lower_name, index);
}

/* the longest secret the credentials file holds (299 characters) */
static char long_secret[300];

static const char *secret_cb(void *ctx, const char *akid)
{
    (void) ctx;
    if (strcmp(akid, "AKIDLONG") == 0)
        return long_secret;
    if (strcmp(akid, AKID) == 0)
        return SECRET;
    if (strcmp(akid, "AKIDOTHER") == 0)
        return "other-secret";
    return NULL;
}

/* Signs r (independently) for scope <date>/us-east-1/iot/aws4_request and sets its
 * Authorization header. */
static void sign_req(req *r, const char *signed_headers)
{
    char sig[65], scope[64];
    const char *date = find_header(r, "x-amz-date");
    snprintf(scope, sizeof scope, "%.8s/us-east-1/iot/aws4_request", date ? date : DATE);
    sign_indep(r, signed_headers, date ? date : DATE, scope, SECRET, NULL, sig);
    snprintf(r->auth, sizeof r->auth,
             "AWS4-HMAC-SHA256 Credential=" AKID "/%s, SignedHeaders=%s, Signature=%s", scope,
             signed_headers, sig);
    set_header(r, "Authorization", r->auth);
}

static int verify(req *r, char *why, size_t whysz)
{
    const char *body = r->body ? r->body : "";
    why[0] = '\0';
    return sigv4_verify(r->method, r->path, r->q, r->nq, hdr_cb, r, (const uint8_t *) body,
                        strlen(body), secret_cb, NULL, g_now, why, whysz);
}

static void expect_ok(req *r)
{
    char why[256];
    int rc = verify(r, why, sizeof why);
    if (rc != SIGV4_OK)
        fail_msg("expected SIGV4_OK, got %d (%s); Authorization: %s", rc, why, r->auth);
}

/* the result code, and a `why` that names the reason (contains `needle`) */
static void expect_refused(req *r, int code, const char *needle)
{
    char why[256];
    int rc = verify(r, why, sizeof why);
    if (rc != code)
        fail_msg("expected %d, got %d (%s); Authorization: %s", code, rc, why, r->auth);
    if (why[0] == '\0' || strstr(why, needle) == NULL)
        fail_msg("why '%s' does not mention '%s'", why, needle);
}

/* Authorization set verbatim (for malformed ones) */
static void set_auth(req *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_auth(req *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->auth, sizeof r->auth, fmt, ap);
    va_end(ap);
    set_header(r, "Authorization", r->auth);
}

static void good_sig(req *r, const char *signed_headers, char sig[65])
{
    sign_indep(r, signed_headers, DATE, "20150830/us-east-1/iot/aws4_request", SECRET, NULL, sig);
}

#define SCOPE "20150830/us-east-1/iot/aws4_request"

#define MISMATCH "The request signature we calculated does not match the signature you provided."

/* ---------------------------------------------------------------------------------------------
 * The signer against AWS's published test suite
 * ------------------------------------------------------------------------------------------- */

static void suite_sig(req *r, const char *signed_headers, const char *expect)
{
    char sig[65];
    sign_indep(r, signed_headers, DATE, "20150830/us-east-1/service/aws4_request", SECRET, NULL,
               sig);
    assert_string_equal(sig, expect);
}

static void test_independent_signer_matches_aws_suite(void **state)
{
    (void) state;
    req r;
    /* get-vanilla */
    base_req(&r, "GET", "/");
    suite_sig(&r, "host;x-amz-date",
              "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
    /* get-vanilla-query-order-key-case */
    base_req(&r, "GET", "/");
    add_query(&r, "Param2", "value2");
    add_query(&r, "Param1", "value1");
    suite_sig(&r, "host;x-amz-date",
              "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500");
    /* get-vanilla-utf8-query (the key sent as raw UTF-8) */
    base_req(&r, "GET", "/");
    add_query(&r, "\xe1\x88\xb4", "bar");
    suite_sig(&r, "host;x-amz-date",
              "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04");
    /* post-vanilla */
    base_req(&r, "POST", "/");
    suite_sig(&r, "host;x-amz-date",
              "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b");
    /* post-x-www-form-urlencoded */
    base_req(&r, "POST", "/");
    add_header(&r, "Content-Type", "application/x-www-form-urlencoded");
    r.body = "Param1=value1";
    suite_sig(&r, "content-type;host;x-amz-date",
              "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a");
    /* get-header-value-trim */
    base_req(&r, "GET", "/");
    add_header(&r, "My-Header1", " value1");
    add_header(&r, "My-Header2", " \"a   b   c\"");
    suite_sig(&r, "host;my-header1;my-header2;x-amz-date",
              "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736");
    /* get-header-key-duplicate: one name sent three times */
    base_req(&r, "GET", "/");
    add_header(&r, "My-Header1", "value2");
    add_header(&r, "My-Header1", "value2");
    add_header(&r, "My-Header1", "value1");
    suite_sig(&r, "host;my-header1;x-amz-date",
              "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea");
    /* get-header-value-order: the values in the order sent, not sorted */
    base_req(&r, "GET", "/");
    add_header(&r, "My-Header1", "value4");
    add_header(&r, "My-Header1", "value1");
    add_header(&r, "My-Header1", "value3");
    add_header(&r, "My-Header1", "value2");
    suite_sig(&r, "host;my-header1;x-amz-date",
              "08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01");
    /* normalize-path: get-relative, get-relative-relative, get-slash, get-slash-dot-slash (all
     * sign as "/", the signature of get-vanilla), get-slash-pointless-dot, get-slashes,
     * get-space */
    static const char *const as_root[] = {"/example/..", "/example1/example2/../..", "//", "/./"};
    for (size_t i = 0; i < sizeof as_root / sizeof as_root[0]; i++)
    {
        base_req(&r, "GET", as_root[i]);
        suite_sig(&r, "host;x-amz-date",
                  "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
    }
    base_req(&r, "GET", "/./example");
    suite_sig(&r, "host;x-amz-date",
              "ef75d96142cf21edca26f06005da7988e4f8dc83a165a80865db7089db637ec5");
    base_req(&r, "GET", "//example//");
    suite_sig(&r, "host;x-amz-date",
              "9a624bd73a37c9a373b5312afbebe7a714a789de108f0bdfe846570885f57e84");
    base_req(&r, "GET", "/example space/");
    suite_sig(&r, "host;x-amz-date",
              "652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741");
}

/* ---------------------------------------------------------------------------------------------
 * Accepted requests
 * ------------------------------------------------------------------------------------------- */

static void test_ok_vanilla(void **state)
{
    (void) state;
    req r;
    base_req(&r, "GET", "/");
    sign_req(&r, "host;x-amz-date");
    expect_ok(&r);
    /* an empty path is "/" */
    base_req(&r, "GET", "");
    sign_req(&r, "host;x-amz-date");
    expect_ok(&r);
}

/* as the AWS CLI sends list-metric-values: the query percent-encoded, in any order */
static void test_ok_query_canonical_order(void **state)
{
    (void) state;
    req r;
    base_req(&r, "GET", "/metric-values");
    add_query(&r, "thingName", "thing-1");
    add_query(&r, "metricName", "aws%3Alistening-tcp-ports");
    add_query(&r, "startTime", "2015-08-30T00%3A00%3A00Z");
    add_query(&r, "endTime", "2015-08-31T00%3A00%3A00Z");
    add_query(&r, "maxResults", "5");
    add_query(&r, "nextToken", "a%2Fb%2Bc%3D%3D");
    sign_req(&r, "host;x-amz-date");
    expect_ok(&r);
    /* names ordered byte-wise (upper case first); a name given twice is refused
     * (test_repeated_query_name) */
    base_req(&r, "GET", "/");
    add_query(&r, "param1", "value2");
    add_query(&r, "Param1", "Value1");
    add_query(&r, "-._~", "0aA");
    sign_req(&r, "host;x-amz-date");
    expect_ok(&r);
    /* a key without a value is key= */
    base_req(&r, "GET", "/");
    add_query(&r, "flag", NULL);
    add_query(&r, "a", "");
    sign_req(&r, "host;x-amz-date");
    expect_ok(&r);
}

/* AWS canonicalises the query: names and values are decoded and encoded again, so a query
 * sent with raw UTF-8 (get-vanilla-utf8-query), unencoded reserved characters (curl
 * --aws-sigv4 with a literal ':') or lower-case escapes signs as the encoded form. */
static void test_ok_query_needs_encoding(void **state)
{
    (void) state;
    req r;
    base_req(&r, "GET", "/");
    add_query(&r, "\xe1\x88\xb4", "bar");
    sign_req(&r, "host;x-amz-date");
    expect_ok(&r);
    base_req(&r, "GET", "/metric-values");
    add_query(&r, "startTime", "2015-08-30T00:00:00Z");
    add_query(&r, "metricName", "aws%3alistening-tcp-ports");
    sign_req(&r, "host;x-amz-date");
    expect_ok(&r);
}

static void test_ok_path_encoding(void **state)
{
    (void) state;
    req r;
    /* non-S3: the path as sent is encoded once more (an escape becomes %25..) */
    base_req(&r, "GET", "/things/my%20thing/metrics");
    sign_req(&r, "host;x-amz-date");
    expect_ok(&r);
    base_req(&r, "GET", "/\xe1\x88\xb4");
    sign_req(&r, "host;x-amz-date");
    expect_ok(&r);
}

/* The path is signed normalised, as AWS's normalize-path cases and botocore sign it (the
 * verifier signed the path as sent, so the AWS CLI's signature of such a path did not verify).
 * The service refuses these paths before verifying (sigv4_path_is_normal); the verifier alone
 * follows SigV4. */
static void test_ok_path_normalized(void **state)
{
    (void) state;
    static const char *const paths[] = {
        "//custom-metrics",
        "/custom-metrics//",
        "/./custom-metrics",
        "/custom-metrics/.",
        "/x/../custom-metrics",
        "/custom-metric/a/b/../../m1",
        "/..",
        "/a/%2E%2E/b/../c",
    };
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
    {
        req r;
        base_req(&r, "GET", paths[i]);
        sign_req(&r, "host;x-amz-date");
        expect_ok(&r);
    }
    /* the signature of /custom-metrics is that of any path that normalises to it... */
    req r, c;
    base_req(&r, "GET", "/custom-metrics");
    sign_req(&r, "host;x-amz-date");
    c = r;
    c.path = "/a/..//custom-metrics";
    expect_ok(&c);
    /* ...and of no other: an escaped '/' or '.' is not a separator or a dot segment */
    c.path = "/a%2F..%2Fcustom-metrics";
    expect_refused(&c, SIGV4_BAD_SIGNATURE, MISMATCH);
    c.path = "/a/%2E%2E/custom-metrics";
    expect_refused(&c, SIGV4_BAD_SIGNATURE, MISMATCH);
    c.path = "/custom-metrics/";
    expect_refused(&c, SIGV4_BAD_SIGNATURE, MISMATCH);
}

/* the paths the service accepts: those that are their own normal form */
static void test_path_is_normal(void **state)
{
    (void) state;
    static const char *const normal[] = {
        "/",
        "/custom-metrics",
        "/custom-metrics/",
        "/custom-metric/aws:x_y-z",
        "/security-profiles/p1/targets",
        "/a/.b",
        "/a/..b",
        "/a/b.",
        "/a%2F..%2Fb",
        "/a/%2E%2E/b",
        "/a/%2e/b",
        "*",
    };
    static const char *const not_normal[] = {
        "",       "//",      "/./",  "/.",    "/..",     "//a",  "/a//b",
        "/a/./b", "/a/../b", "/a/.", "/a/..", "/a/b/..", "/a//",
    };
    for (size_t i = 0; i < sizeof normal / sizeof normal[0]; i++)
        if (!sigv4_path_is_normal(normal[i]))
            fail_msg("'%s' is normal", normal[i]);
    for (size_t i = 0; i < sizeof not_normal / sizeof not_normal[0]; i++)
        if (sigv4_path_is_normal(not_normal[i]))
            fail_msg("'%s' is not normal", not_normal[i]);
}

static void test_ok_post_body(void **state)
{
    (void) state;
    req r;
    base_req(&r, "POST", "/custom-metric/m1");
    add_header(&r, "Content-Type", "application/json");
    r.body = "{\"metricType\":\"number\",\"displayName\":\"x\"}";
    sign_req(&r, "content-type;host;x-amz-date");
    expect_ok(&r);
}

/* header names as sent in any case; values trimmed and runs of spaces/tabs collapsed */
static void test_ok_header_case_and_trim(void **state)
{
    (void) state;
    req r;
    memset(&r, 0, sizeof r);
    r.method = "GET";
    r.path = "/";
    add_header(&r, "HOST", "example.amazonaws.com");
    add_header(&r, "x-AMZ-date", DATE);
    add_header(&r, "My-Header1", "  value1  ");
    add_header(&r, "MY-HEADER2", "\t\"a   b \t c\"\t");
    add_header(&r, "X-Amz-Security-Token", "tok");
    sign_req(&r, "host;my-header1;my-header2;x-amz-date;x-amz-security-token");
    expect_ok(&r);
    /* a signed header sent empty is "name:" */
    base_req(&r, "GET", "/");
    add_header(&r, "X-Empty", "");
    sign_req(&r, "host;x-amz-date;x-empty");
    expect_ok(&r);
}

/* A signed header sent several times is signed as its values in the order sent, each trimmed
 * and collapsed, joined with ',' (as AWS's get-header-key-duplicate and botocore): the verifier
 * read only the first one, refusing such requests and missing changes to the others. */
static void test_ok_repeated_header(void **state)
{
    (void) state;
    req r;
    base_req(&r, "GET", "/");
    add_header(&r, "My-Header1", "  b   c ");
    add_header(&r, "X-Other", "o");
    add_header(&r, "my-header1", "a");
    add_header(&r, "MY-HEADER1", "");
    add_header(&r, "My-Header1", "\tb\t");
    sign_req(&r, "host;my-header1;x-amz-date");
    expect_ok(&r);
    /* an unsigned header may be repeated */
    add_header(&r, "X-Other", "p");
    expect_ok(&r);
}

static void test_repeated_header_changed(void **state)
{
    (void) state;
    req r;
    base_req(&r, "GET", "/");
    add_header(&r, "My-Header1", "value1");
    add_header(&r, "My-Header1", "value2");
    sign_req(&r, "host;my-header1;x-amz-date");
    expect_ok(&r);
    /* the values swapped */
    req c = r;
    c.h[2].value = "value2";
    c.h[3].value = "value1";
    expect_refused(&c, SIGV4_BAD_SIGNATURE, MISMATCH);
    /* one of them dropped */
    c = r;
    c.h[3] = c.h[4]; /* Authorization in place of the second value */
    c.nh--;
    expect_refused(&c, SIGV4_BAD_SIGNATURE, MISMATCH);
    /* a third added after signing */
    c = r;
    add_header(&c, "My-Header1", "value3");
    expect_refused(&c, SIGV4_BAD_SIGNATURE, MISMATCH);
    /* one header signed, sent as two */
    base_req(&r, "GET", "/");
    add_header(&r, "My-Header1", "value1,value2");
    sign_req(&r, "host;my-header1;x-amz-date");
    expect_ok(&r);
    add_header(&r, "Host", "other.example.com");
    expect_refused(&r, SIGV4_BAD_SIGNATURE, MISMATCH);
}

/* Authorization or X-Amz-Date twice: malformed, whichever comes first (the verifier read the
 * first and ignored the other) */
static void test_repeated_authorization_or_date(void **state)
{
    (void) state;
    req r;
    base_req(&r, "GET", "/");
    sign_req(&r, "host;x-amz-date");
    expect_ok(&r);
    req c = r;
    add_header(&c, "Authorization",
               "AWS4-HMAC-SHA256 Credential=AKIDOTHER/" SCOPE
               ", SignedHeaders=host;x-amz-date, Signature=0");
    expect_refused(&c, SIGV4_MALFORMED, "More than one Authorization header");
    c = r;
    add_header(&c, "authorization", r.auth);
    expect_refused(&c, SIGV4_MALFORMED, "More than one Authorization header");
    /* a second date, signed with the first (the date signed would be "d1,d2") */
    base_req(&r, "GET", "/");
    add_header(&r, "X-Amz-Date", "20150830T123700Z");
    sign_req(&r, "host;x-amz-date");
    expect_refused(&r, SIGV4_MALFORMED, "More than one X-Amz-Date header");
    /* or added after signing */
    base_req(&r, "GET", "/");
    sign_req(&r, "host;x-amz-date");
    add_header(&r, "x-amz-date", "20150830T123700Z");
    expect_refused(&r, SIGV4_MALFORMED, "More than one X-Amz-Date header");
}

/* up to SIGV4_SKEW_SECONDS either side of the service clock */
static void test_ok_skew_limits(void **state)
{
    (void) state;
    time_t saved = g_now;
    req r;
    base_req(&r, "GET", "/");
    sign_req(&r, "host;x-amz-date");
    g_now = saved + SIGV4_SKEW_SECONDS;
    expect_ok(&r);
    g_now = saved - SIGV4_SKEW_SECONDS;
    expect_ok(&r);
    g_now = saved;
}

/* the authorization header's parameters in another order, with other spacing */
static void test_ok_auth_layout(void **state)
{
    (void) state;
    req r;
    char sig[65];
    base_req(&r, "GET", "/");
    good_sig(&r, "host;x-amz-date", sig);
    set_auth(&r,
             "AWS4-HMAC-SHA256 Signature=%s,SignedHeaders=host;x-amz-date,Credential=" AKID
             "/" SCOPE,
             sig);
    expect_ok(&r);
}

/* ---------------------------------------------------------------------------------------------
 * Refusals: the Authorization header
 * ------------------------------------------------------------------------------------------- */

static void test_missing_authorization(void **state)
{
    (void) state;
    req r;
    base_req(&r, "GET", "/");
    expect_refused(&r, SIGV4_MISSING, "Missing Authentication Token");
}

static void test_other_algorithm(void **state)
{
    (void) state;
    req r;
    char sig[65];
    base_req(&r, "GET", "/");
    good_sig(&r, "host;x-amz-date", sig);
    set_auth(&r, "Bearer abc");
    expect_refused(&r, SIGV4_MALFORMED, "Unsupported authorization type");
    set_auth(&r,
             "AWS4-HMAC-SHA512 Credential=" AKID "/" SCOPE
             ", SignedHeaders=host;x-amz-date, Signature=%s",
             sig);
    expect_refused(&r, SIGV4_MALFORMED, "Unsupported authorization type");
    set_auth(&r, "AWS4-HMAC-SHA256");
    expect_refused(&r, SIGV4_MALFORMED, "Unsupported authorization type");
    set_auth(&r, "%s", "");
    expect_refused(&r, SIGV4_MALFORMED, "Unsupported authorization type");
}

static void test_missing_parameters(void **state)
{
    (void) state;
    req r;
    char sig[65];
    base_req(&r, "GET", "/");
    good_sig(&r, "host;x-amz-date", sig);
    set_auth(&r, "AWS4-HMAC-SHA256 SignedHeaders=host;x-amz-date, Signature=%s", sig);
    expect_refused(&r, SIGV4_MALFORMED, "requires 'Credential' parameter");
    set_auth(&r, "AWS4-HMAC-SHA256 Credential=" AKID "/" SCOPE ", Signature=%s", sig);
    expect_refused(&r, SIGV4_MALFORMED, "requires 'SignedHeaders' parameter");
    set_auth(&r, "AWS4-HMAC-SHA256 Credential=" AKID "/" SCOPE ", SignedHeaders=host;x-amz-date");
    expect_refused(&r, SIGV4_MALFORMED, "requires 'Signature' parameter");
    /* all three named, Credential, Signature, SignedHeaders (AWS's order) */
    set_auth(&r, "AWS4-HMAC-SHA256 ");
    char why[256];
    assert_int_equal(verify(&r, why, sizeof why), SIGV4_MALFORMED);
    assert_string_equal(why, "Authorization header requires 'Credential' parameter. "
                             "Authorization header requires 'Signature' parameter. "
                             "Authorization header requires 'SignedHeaders' parameter.");
    /* a parameter without '=' is not one */
    set_auth(&r, "AWS4-HMAC-SHA256 Credential");
    expect_refused(&r, SIGV4_MALFORMED, "requires 'Credential' parameter");
    /* names are case-sensitive */
    set_auth(&r,
             "AWS4-HMAC-SHA256 credential=" AKID "/" SCOPE
             ", SignedHeaders=host;x-amz-date, Signature=%s",
             sig);
    expect_refused(&r, SIGV4_MALFORMED, "requires 'Credential' parameter");
}

static void test_empty_parameters(void **state)
{
    (void) state;
    req r;
    char sig[65];
    base_req(&r, "GET", "/");
    good_sig(&r, "host;x-amz-date", sig);
    set_auth(&r, "AWS4-HMAC-SHA256 Credential=, SignedHeaders=host;x-amz-date, Signature=%s", sig);
    expect_refused(&r, SIGV4_MALFORMED, "requires 'Credential' parameter");
    set_auth(&r, "AWS4-HMAC-SHA256 Credential=" AKID "/" SCOPE ", SignedHeaders=, Signature=%s",
             sig);
    expect_refused(&r, SIGV4_MALFORMED, "requires 'SignedHeaders' parameter");
    set_auth(&r, "AWS4-HMAC-SHA256 Credential=" AKID "/" SCOPE
                 ", SignedHeaders=host;x-amz-date, Signature=");
    expect_refused(&r, SIGV4_MALFORMED, "requires 'Signature' parameter");
}

/* A parameter given twice is refused, even when the last one is right. */
static void test_duplicated_parameters(void **state)
{
    (void) state;
    req r;
    char sig[65];
    base_req(&r, "GET", "/");
    good_sig(&r, "host;x-amz-date", sig);
    set_auth(&r,
             "AWS4-HMAC-SHA256 Credential=AKIDOTHER/" SCOPE ", Credential=" AKID "/" SCOPE
             ", SignedHeaders=host;x-amz-date, Signature=%s",
             sig);
    expect_refused(&r, SIGV4_MALFORMED, "'Credential'");
    set_auth(&r,
             "AWS4-HMAC-SHA256 Credential=" AKID "/" SCOPE
             ", SignedHeaders=host, SignedHeaders=host;x-amz-date, Signature=%s",
             sig);
    expect_refused(&r, SIGV4_MALFORMED, "'SignedHeaders'");
    set_auth(&r,
             "AWS4-HMAC-SHA256 Credential=" AKID "/" SCOPE
             ", SignedHeaders=host;x-amz-date, Signature=%s, Signature=%s",
             "0000000000000000000000000000000000000000000000000000000000000000", sig);
    expect_refused(&r, SIGV4_MALFORMED, "'Signature'");
}

static void test_parameter_too_long(void **state)
{
    (void) state;
    req r;
    char longv[600];
    memset(longv, 'a', sizeof longv - 1);
    longv[sizeof longv - 1] = '\0';
    base_req(&r, "GET", "/");
    set_auth(&r, "AWS4-HMAC-SHA256 Credential=" AKID "/" SCOPE ", SignedHeaders=%s, Signature=x",
             longv);
    expect_refused(&r, SIGV4_MALFORMED, "too long");
}

/* ---------------------------------------------------------------------------------------------
 * Refusals: the credential and its scope
 * ------------------------------------------------------------------------------------------- */

static void auth_with_cred(req *r, const char *cred, const char *sig)
{
    set_auth(r, "AWS4-HMAC-SHA256 Credential=%s, SignedHeaders=host;x-amz-date, Signature=%s", cred,
             sig);
}

/* a scope signed consistently by the client (so only the scope check can refuse it) */
static void sign_scope(req *r, const char *akid, const char *scope)
{
    char sig[65], cred[300];
    sign_indep(r, "host;x-amz-date", DATE, scope, SECRET, NULL, sig);
    snprintf(cred, sizeof cred, "%s/%s", akid, scope);
    auth_with_cred(r, cred, sig);
}

/* A query parameter given twice (also in two spellings that decode alike) is refused: the
 * signature covers the values in sorted order, while the API reads the first one, so a
 * captured request could be replayed with the values swapped. */
static void test_repeated_query_name(void **state)
{
    (void) state;
    req r;
    base_req(&r, "GET", "/custom-metrics");
    add_query(&r, "maxResults", "1");
    add_query(&r, "maxResults", "250");
    sign_req(&r, "host;x-amz-date");
    expect_refused(&r, SIGV4_MALFORMED, "'maxResults' is given more than once");
    base_req(&r, "GET", "/custom-metrics");
    add_query(&r, "maxResults", "1");
    add_query(&r, "maxResult%73", "250");
    sign_req(&r, "host;x-amz-date");
    expect_refused(&r, SIGV4_MALFORMED, "more than once");
    /* one each: fine */
    base_req(&r, "GET", "/custom-metrics");
    add_query(&r, "maxResults", "1");
    add_query(&r, "nextToken", "a");
    sign_req(&r, "host;x-amz-date");
    expect_ok(&r);
}

/* a secret as long as the credentials file allows still signs (the key buffer held 299
 * bytes with the "AWS4" prefix, so secrets of 296-299 characters were refused) */
static void test_ok_long_secret(void **state)
{
    (void) state;
    req r;
    char sig[65], cred[128];
    memset(long_secret, 'k', sizeof long_secret - 1);
    long_secret[sizeof long_secret - 1] = '\0';
    base_req(&r, "GET", "/");
    sign_indep(&r, "host;x-amz-date", DATE, "20150830/us-east-1/iot/aws4_request", long_secret,
               NULL, sig);
    snprintf(cred, sizeof cred, "AKIDLONG/20150830/us-east-1/iot/aws4_request");
    auth_with_cred(&r, cred, sig);
    expect_ok(&r);
}

static void test_credential_form(void **state)
{
    (void) state;
    req r;
    char sig[65];
    base_req(&r, "GET", "/");
    good_sig(&r, "host;x-amz-date", sig);
    auth_with_cred(&r, AKID, sig);
    expect_refused(&r, SIGV4_MALFORMED, "Credential must have the form");
}

static void test_unknown_key(void **state)
{
    (void) state;
    req r;
    base_req(&r, "GET", "/");
    sign_scope(&r, "AKIDNOBODY", SCOPE);
    expect_refused(&r, SIGV4_UNKNOWN_KEY, "security token included in the request is invalid");
    /* an access key id that is a prefix of a known one */
    sign_scope(&r, "AKID", SCOPE);
    expect_refused(&r, SIGV4_UNKNOWN_KEY, "security token included in the request is invalid");
}

static void test_scope_parts(void **state)
{
    (void) state;
    req r;
    base_req(&r, "GET", "/");
    sign_scope(&r, AKID, "20150830/us-east-1/iot");
    expect_refused(&r, SIGV4_MALFORMED, "Credential");
    sign_scope(&r, AKID, "20150830/us-east-1/iot/aws4_request/extra");
    expect_refused(&r, SIGV4_MALFORMED, "Credential");
    sign_scope(&r, AKID, "20150830");
    expect_refused(&r, SIGV4_MALFORMED, "Credential");
}

static void test_scope_terminator(void **state)
{
    (void) state;
    req r;
    base_req(&r, "GET", "/");
    sign_scope(&r, AKID, "20150830/us-east-1/iot/aws4_requesx");
    expect_refused(&r, SIGV4_BAD_SIGNATURE, "terminator");
    sign_scope(&r, AKID, "20150830/us-east-1/iot/");
    expect_refused(&r, SIGV4_BAD_SIGNATURE, "terminator");
}

static void test_scope_region(void **state)
{
    (void) state;
    req r;
    base_req(&r, "GET", "/");
    sign_scope(&r, AKID, "20150830//iot/aws4_request");
    expect_refused(&r, SIGV4_BAD_SIGNATURE, "region");
    /* any other region is the service's */
    sign_scope(&r, AKID, "20150830/eu-west-3/iot/aws4_request");
    expect_ok(&r);
}

static void test_scope_service(void **state)
{
    (void) state;
    req r;
    base_req(&r, "GET", "/");
    sign_scope(&r, AKID, "20150830/us-east-1/s3/aws4_request");
    expect_refused(&r, SIGV4_BAD_SIGNATURE, "service");
    sign_scope(&r, AKID, "20150830/us-east-1/IOT/aws4_request");
    expect_refused(&r, SIGV4_BAD_SIGNATURE, "service");
    /* the IoT model's signing name before "iot" (the AWS CLI 2.9 of Debian 12 signs with it) */
    sign_scope(&r, AKID, "20150830/us-east-1/execute-api/aws4_request");
    expect_ok(&r);
    sign_scope(&r, AKID, "20150830/us-east-1/execute-apis/aws4_request");
    expect_refused(&r, SIGV4_BAD_SIGNATURE, "service");
    sign_scope(&r, AKID, "20150830/us-east-1/execute/aws4_request");
    expect_refused(&r, SIGV4_BAD_SIGNATURE, "service");
    sign_scope(&r, AKID, "20150830/us-east-1/io/aws4_request");
    expect_refused(&r, SIGV4_BAD_SIGNATURE, "service");
    /* the service name is signed: a signature made for one is not one for the other */
    char sig[65];
    sign_indep(&r, "host;x-amz-date", DATE, "20150830/us-east-1/execute-api/aws4_request", SECRET,
               NULL, sig);
    auth_with_cred(&r, AKID "/" SCOPE, sig);
    expect_refused(&r, SIGV4_BAD_SIGNATURE, MISMATCH);
}

static void test_scope_date(void **state)
{
    (void) state;
    req r;
    base_req(&r, "GET", "/");
    sign_scope(&r, AKID, "20150831/us-east-1/iot/aws4_request");
    expect_refused(&r, SIGV4_BAD_SIGNATURE, "date");
    /* the date part is the whole YYYYMMDD, not a prefix */
    sign_scope(&r, AKID, "201508301/us-east-1/iot/aws4_request");
    expect_refused(&r, SIGV4_BAD_SIGNATURE, "date");
    sign_scope(&r, AKID, "2015083/us-east-1/iot/aws4_request");
    expect_refused(&r, SIGV4_BAD_SIGNATURE, "date");
}

/* ---------------------------------------------------------------------------------------------
 * Refusals: X-Amz-Date
 * ------------------------------------------------------------------------------------------- */

static void expect_bad_date(const char *date)
{
    req r;
    base_req(&r, "GET", "/");
    set_header(&r, "X-Amz-Date", date);
    char sig[65];
    sign_indep(&r, "host;x-amz-date", date, SCOPE, SECRET, NULL, sig);
    set_auth(&r,
             "AWS4-HMAC-SHA256 Credential=" AKID "/" SCOPE
             ", SignedHeaders=host;x-amz-date, Signature=%s",
             sig);
    char why[256];
    int rc = verify(&r, why, sizeof why);
    if (rc != SIGV4_MALFORMED || strstr(why, "X-Amz-Date") == NULL)
        fail_msg("X-Amz-Date '%s': expected SIGV4_MALFORMED, got %d (%s)", date, rc, why);
}

static void test_amz_date_missing_or_malformed(void **state)
{
    (void) state;
    req r;
    char sig[65];
    base_req(&r, "GET", "/");
    good_sig(&r, "host;x-amz-date", sig);
    del_header(&r, "X-Amz-Date");
    set_auth(&r,
             "AWS4-HMAC-SHA256 Credential=" AKID "/" SCOPE
             ", SignedHeaders=host;x-amz-date, Signature=%s",
             sig);
    expect_refused(&r, SIGV4_MALFORMED, "X-Amz-Date");
    static const char *const bad[] = {
        "",
        "20150830",
        "20150830T123600",
        "20150830T123600z",
        "2015-08-30T12:36:00Z",
        "20150830 123600Z",
        "20150830T1236000Z",
        "Sun, 30 Aug 2015 12:36:00 GMT",
        /* 16 characters of the right shape, but not digits or not a real time */
        "2015+830T123600Z",
        "2015083 T123600Z",
        "20150830T12 600Z",
        "20150830T-23600Z",
        "20151330T123600Z",
        "20150230T123600Z",
        "20150800T123600Z",
        "20150830T243600Z",
        "20150830T126000Z",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_bad_date(bad[i]);
}

static void test_amz_date_skew(void **state)
{
    (void) state;
    time_t saved = g_now;
    req r;
    base_req(&r, "GET", "/");
    sign_req(&r, "host;x-amz-date");
    g_now = saved + SIGV4_SKEW_SECONDS + 1;
    expect_refused(&r, SIGV4_BAD_SIGNATURE,
                   "Signature expired: 20150830T123600Z is now earlier than 20150830T123601Z "
                   "(20150830T125101Z - 15 min.)");
    g_now = saved - SIGV4_SKEW_SECONDS - 1;
    expect_refused(&r, SIGV4_BAD_SIGNATURE,
                   "Signature not yet current: 20150830T123600Z is still later than "
                   "20150830T123559Z (20150830T122059Z + 15 min.)");
    g_now = saved - 86400;
    expect_refused(&r, SIGV4_BAD_SIGNATURE, "not yet current");
    g_now = saved;
}

/* ---------------------------------------------------------------------------------------------
 * Refusals: SignedHeaders
 * ------------------------------------------------------------------------------------------- */

static void test_signed_headers_without_host(void **state)
{
    (void) state;
    req r;
    base_req(&r, "GET", "/");
    sign_req(&r, "x-amz-date");
    expect_refused(&r, SIGV4_BAD_SIGNATURE, "host");
    /* a header whose name contains "host" is not host */
    add_header(&r, "X-Host", "example.amazonaws.com");
    sign_req(&r, "x-amz-date;x-host");
    expect_refused(&r, SIGV4_BAD_SIGNATURE, "host must be signed");
    add_header(&r, "Hostname", "example.amazonaws.com");
    sign_req(&r, "hostname;x-amz-date");
    expect_refused(&r, SIGV4_BAD_SIGNATURE, "host must be signed");
}

/* a signed header the request does not carry */
static void test_signed_header_absent(void **state)
{
    (void) state;
    req r;
    base_req(&r, "GET", "/");
    sign_req(&r, "host;x-amz-date;x-amz-target");
    expect_refused(&r, SIGV4_BAD_SIGNATURE, "x-amz-target");
}

/* AWS wants SignedHeaders sorted, lower case, each name once; clients that sent them otherwise
 * got SignatureDoesNotMatch from AWS. */
static void test_signed_headers_form(void **state)
{
    (void) state;
    req r;
    base_req(&r, "GET", "/");
    sign_req(&r, "x-amz-date;host");
    expect_refused(&r, SIGV4_BAD_SIGNATURE, "SignedHeaders");
    sign_req(&r, "Host;X-Amz-Date");
    expect_refused(&r, SIGV4_BAD_SIGNATURE, "SignedHeaders");
    sign_req(&r, "host;host;x-amz-date");
    expect_refused(&r, SIGV4_BAD_SIGNATURE, "SignedHeaders");
    sign_req(&r, "host;;x-amz-date");
    expect_refused(&r, SIGV4_BAD_SIGNATURE, "SignedHeaders");
    sign_req(&r, "host;x-amz-date;");
    expect_refused(&r, SIGV4_BAD_SIGNATURE, "SignedHeaders");
    /* a name longer than the verifier handles */
    char name[200], list[256];
    memset(name, 'x', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    add_header(&r, name, "v");
    snprintf(list, sizeof list, "host;x-amz-date;%s", name);
    sign_req(&r, list);
    char why[256];
    int rc = verify(&r, why, sizeof why);
    assert_int_not_equal(rc, SIGV4_OK);
    assert_true(why[0] != '\0');
}

/* ---------------------------------------------------------------------------------------------
 * Refusals: the signature
 * ------------------------------------------------------------------------------------------- */

static void test_signature_form(void **state)
{
    (void) state;
    req r;
    char sig[65], bad[80];
    base_req(&r, "GET", "/");
    good_sig(&r, "host;x-amz-date", sig);
#define SIGNATURE_AUTH                                                                             \
    "AWS4-HMAC-SHA256 Credential=" AKID "/" SCOPE ", SignedHeaders=host;x-amz-date, Signature=%s"
    /* one short */
    snprintf(bad, sizeof bad, "%.63s", sig);
    set_auth(&r, SIGNATURE_AUTH, bad);
    expect_refused(&r, SIGV4_BAD_SIGNATURE, MISMATCH);
    /* one long */
    snprintf(bad, sizeof bad, "%s0", sig);
    set_auth(&r, SIGNATURE_AUTH, bad);
    expect_refused(&r, SIGV4_BAD_SIGNATURE, MISMATCH);
    /* 64 characters, not hex */
    snprintf(bad, sizeof bad, "%s", sig);
    bad[10] = 'g';
    set_auth(&r, SIGNATURE_AUTH, bad);
    expect_refused(&r, SIGV4_BAD_SIGNATURE, MISMATCH);
    /* the right signature in upper case */
    snprintf(bad, sizeof bad, "%s", sig);
    for (char *c = bad; *c; c++)
        if (*c >= 'a' && *c <= 'f')
            *c = (char) (*c - 'a' + 'A');
    set_auth(&r, SIGNATURE_AUTH, bad);
    expect_refused(&r, SIGV4_BAD_SIGNATURE, MISMATCH);
    /* and as it is, accepted */
    set_auth(&r, SIGNATURE_AUTH, sig);
    expect_ok(&r);
}

static void test_wrong_secret(void **state)
{
    (void) state;
    req r;
    char sig[65];
    base_req(&r, "GET", "/");
    sign_indep(&r, "host;x-amz-date", DATE, SCOPE, "not-the-secret", NULL, sig);
    set_auth(&r,
             "AWS4-HMAC-SHA256 Credential=" AKID "/" SCOPE
             ", SignedHeaders=host;x-amz-date, Signature=%s",
             sig);
    expect_refused(&r, SIGV4_BAD_SIGNATURE, MISMATCH);
    /* another key's secret */
    sign_scope(&r, "AKIDOTHER", SCOPE);
    expect_refused(&r, SIGV4_BAD_SIGNATURE, MISMATCH);
}

/* anything signed changed after signing */
static void test_changed_after_signing(void **state)
{
    (void) state;
    req r;
    base_req(&r, "POST", "/custom-metric/m1");
    add_header(&r, "Content-Type", "application/json");
    add_query(&r, "a", "1");
    r.body = "{\"metricType\":\"number\"}";
    sign_req(&r, "content-type;host;x-amz-date");
    expect_ok(&r);

    req c = r;
    c.body = "{\"metricType\":\"string-list\"}";
    expect_refused(&c, SIGV4_BAD_SIGNATURE, MISMATCH);
    c = r;
    c.body = NULL;
    expect_refused(&c, SIGV4_BAD_SIGNATURE, MISMATCH);
    c = r;
    c.q[0].value = "2";
    expect_refused(&c, SIGV4_BAD_SIGNATURE, MISMATCH);
    c = r;
    add_query(&c, "b", "1");
    expect_refused(&c, SIGV4_BAD_SIGNATURE, MISMATCH);
    c = r;
    c.nq = 0;
    expect_refused(&c, SIGV4_BAD_SIGNATURE, MISMATCH);
    c = r;
    c.method = "PUT";
    expect_refused(&c, SIGV4_BAD_SIGNATURE, MISMATCH);
    c = r;
    c.path = "/custom-metric/m2";
    expect_refused(&c, SIGV4_BAD_SIGNATURE, MISMATCH);
    c = r;
    set_header(&c, "Content-Type", "text/plain");
    expect_refused(&c, SIGV4_BAD_SIGNATURE, MISMATCH);
    c = r;
    set_header(&c, "Host", "example.org");
    expect_refused(&c, SIGV4_BAD_SIGNATURE, MISMATCH);
    c = r;
    set_header(&c, "X-Amz-Date", "20150830T123601Z");
    expect_refused(&c, SIGV4_BAD_SIGNATURE, MISMATCH);
    /* an unsigned header may change */
    c = r;
    add_header(&c, "User-Agent", "other");
    expect_ok(&c);
}

/* x-amz-content-sha256 is not honoured: the payload hash is always the body's SHA-256, so a
 * request signed with UNSIGNED-PAYLOAD (or any other claimed hash) is refused; one whose header
 * carries the body's real hash is accepted. */
static void test_content_sha256_header(void **state)
{
    (void) state;
    req r;
    char sig[65], ph[65];
    base_req(&r, "POST", "/custom-metric/m1");
    r.body = "{}";
    add_header(&r, "X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD");
    sign_indep(&r, "host;x-amz-content-sha256;x-amz-date", DATE, SCOPE, SECRET, "UNSIGNED-PAYLOAD",
               sig);
    set_auth(&r,
             "AWS4-HMAC-SHA256 Credential=" AKID "/" SCOPE
             ", SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=%s",
             sig);
    expect_refused(&r, SIGV4_BAD_SIGNATURE, MISMATCH);

    sha256hex(r.body, strlen(r.body), ph);
    set_header(&r, "X-Amz-Content-Sha256", ph);
    sign_req(&r, "host;x-amz-content-sha256;x-amz-date");
    expect_ok(&r);
}

/* ---------------------------------------------------------------------------------------------
 * why: always terminated, and cut to a small buffer
 * ------------------------------------------------------------------------------------------- */

static void test_why_small_buffer(void **state)
{
    (void) state;
    req r;
    base_req(&r, "GET", "/");
    char why[8];
    memset(why, 'z', sizeof why);
    assert_int_equal(sigv4_verify(r.method, r.path, NULL, 0, hdr_cb, &r, NULL, 0, secret_cb, NULL,
                                  g_now, why, sizeof why),
                     SIGV4_MISSING);
    assert_string_equal(why, "Missing");
}

int main(void)
{
    struct tm tm = {.tm_year = 115, .tm_mon = 7, .tm_mday = 30, .tm_hour = 12, .tm_min = 36};
    g_now = timegm(&tm);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_independent_signer_matches_aws_suite),
        cmocka_unit_test(test_ok_vanilla),
        cmocka_unit_test(test_ok_query_canonical_order),
        cmocka_unit_test(test_ok_query_needs_encoding),
        cmocka_unit_test(test_ok_path_encoding),
        cmocka_unit_test(test_ok_path_normalized),
        cmocka_unit_test(test_path_is_normal),
        cmocka_unit_test(test_ok_post_body),
        cmocka_unit_test(test_ok_header_case_and_trim),
        cmocka_unit_test(test_ok_repeated_header),
        cmocka_unit_test(test_repeated_header_changed),
        cmocka_unit_test(test_repeated_authorization_or_date),
        cmocka_unit_test(test_ok_skew_limits),
        cmocka_unit_test(test_ok_auth_layout),
        cmocka_unit_test(test_missing_authorization),
        cmocka_unit_test(test_other_algorithm),
        cmocka_unit_test(test_missing_parameters),
        cmocka_unit_test(test_empty_parameters),
        cmocka_unit_test(test_duplicated_parameters),
        cmocka_unit_test(test_parameter_too_long),
        cmocka_unit_test(test_ok_long_secret),
        cmocka_unit_test(test_repeated_query_name),
        cmocka_unit_test(test_credential_form),
        cmocka_unit_test(test_unknown_key),
        cmocka_unit_test(test_scope_parts),
        cmocka_unit_test(test_scope_terminator),
        cmocka_unit_test(test_scope_region),
        cmocka_unit_test(test_scope_service),
        cmocka_unit_test(test_scope_date),
        cmocka_unit_test(test_amz_date_missing_or_malformed),
        cmocka_unit_test(test_amz_date_skew),
        cmocka_unit_test(test_signed_headers_without_host),
        cmocka_unit_test(test_signed_header_absent),
        cmocka_unit_test(test_signed_headers_form),
        cmocka_unit_test(test_signature_form),
        cmocka_unit_test(test_wrong_secret),
        cmocka_unit_test(test_changed_after_signing),
        cmocka_unit_test(test_content_sha256_header),
        cmocka_unit_test(test_why_small_buffer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
