/* Malformed HTTP requests, bodies and query strings get a clear API error (status and
 * x-amzn-ErrorType), never a crash; the service stays up. */
#include "itest.h"
#include "sigv4.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <mosquitto.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int g_port;

/* A request with X-Test sent twice, as libmicrohttpd must hand both to the verifier */
typedef struct
{
    char host[32];
    const char *date;
} two_ctx;

static const char *two_header(void *ctx, const char *name, size_t index)
{
    static const char *const xtest[] = {"one", " two   two "};
    const two_ctx *t = ctx;
    if (strcmp(name, "x-test") == 0)
        return index < 2 ? xtest[index] : NULL;
    if (index > 0)
        return NULL;
    if (strcmp(name, "host") == 0)
        return t->host;
    if (strcmp(name, "x-amz-date") == 0)
        return t->date;
    return NULL;
}

/* GET /custom-metrics?maxResults=5 signed over host, both X-Test values and X-Amz-Date; the
 * headers to send: X-Amz-Date, `before`, Authorization, `after` */
static void sign_two(int port, const char *date, const char *before, const char *after, char *out,
                     size_t cap)
{
    two_ctx t;
    snprintf(t.host, sizeof t.host, "127.0.0.1:%d", port);
    t.date = date;
    sigv4_kv kv = {"maxResults", "5"};
    char scope[64], sig[65];
    snprintf(scope, sizeof scope, "%.8s/us-east-1/iot/aws4_request", date);
    CHECK(sigv4_sign("GET", "/custom-metrics", &kv, 1, "host;x-amz-date;x-test", two_header, &t,
                     (const uint8_t *) "", 0, date, scope, "SECRETTEST", sig) == 0,
          "sign");
    int n = snprintf(out, cap,
                     "X-Amz-Date: %s\r\n%sAuthorization: AWS4-HMAC-SHA256 Credential=AKIDTEST/%s, "
                     "SignedHeaders=host;x-amz-date;x-test, Signature=%s\r\n%s",
                     date, before, scope, sig, after);
    CHECK(n > 0 && (size_t) n < cap, "headers too long");
}

static void expect(const char *method, const char *pq, const char *body, int status,
                   const char *err_type)
{
    char *resp = NULL;
    int st = it_http(g_port, method, pq, body, &resp);
    CHECK(st == status, "%s %.80s: status %d, expected %d (%s)", method, pq, st, status,
          resp ? resp : "");
    if (err_type != NULL)
    {
        char want[128];
        snprintf(want, sizeof want, "#ErrorType=%s", err_type);
        CHECK(resp != NULL && strstr(resp, want) != NULL && strstr(resp, "\"message\":") != NULL,
              "%s %.80s: expected %s, got %s", method, pq, err_type, resp ? resp : "");
    }
    free(resp);
}

/* Like expect(), with extra request headers; `msg_part`, when given, must be in the body. */
static void expect_h(int port, const char *pq, const char *headers, int status,
                     const char *err_type, const char *msg_part)
{
    char *resp = NULL;
    int st = it_http_h(port, "GET", pq, headers, NULL, &resp);
    CHECK(st == status, "GET %.80s [%s]: status %d, expected %d (%s)", pq, headers ? headers : "",
          st, status, resp ? resp : "");
    if (err_type != NULL)
    {
        /* the whole x-amzn-ErrorType value (it_http puts it last, after "#ErrorType=") */
        const char *et = resp ? strstr(resp, "#ErrorType=") : NULL;
        CHECK(et != NULL && strcmp(et + 11, err_type) == 0 && strstr(resp, "\"message\":") != NULL,
              "GET %.80s: expected %s, got %s", pq, err_type, resp ? resp : "");
    }
    if (msg_part != NULL)
        CHECK(resp != NULL && strstr(resp, msg_part) != NULL, "GET %.80s: message lacks '%s': %s",
              pq, msg_part, resp ? resp : "");
    free(resp);
}

/* SigV4 with --credentials, through the HTTP server: each way a request can fail
 * authentication gets AWS's status and error name (see the comment in http_api.c). */
static void check_sigv4(const it_broker *b, const char *exe)
{
    char creds[400], db[400];
    snprintf(creds, sizeof creds, "%s/credentials", b->dir);
    snprintf(db, sizeof db, "%s/sigv4.db", b->dir);
    FILE *f = fopen(creds, "w");
    CHECK(f != NULL, "credentials file");
    if (f == NULL)
        return;
    fprintf(f, "AKIDTEST SECRETTEST\n");
    fclose(f);
    it_service s;
    const char *args[] = {"--credentials", creds, NULL};
    if (it_service_start(&s, exe, b, db, args) != 0)
    {
        CHECK(0, "cannot start the service with --credentials");
        return;
    }
    int port = s.http_port;
    const char *pq = "/custom-metrics?maxResults=5";
    char h[1024];
    time_t now = time(NULL);
    /* a good signature, also 10 minutes old or ahead (inside the 15-minute skew) */
    CHECK(it_sigv4_headers(port, "GET", pq, NULL, "AKIDTEST", "SECRETTEST", now, h, sizeof h) == 0,
          "sign");
    expect_h(port, pq, h, 200, NULL, NULL);
    it_sigv4_headers(port, "GET", pq, NULL, "AKIDTEST", "SECRETTEST", now - 600, h, sizeof h);
    expect_h(port, pq, h, 200, NULL, NULL);
    it_sigv4_headers(port, "GET", pq, NULL, "AKIDTEST", "SECRETTEST", now + 600, h, sizeof h);
    expect_h(port, pq, h, 200, NULL, NULL);
    /* no Authorization header: 403 MissingAuthenticationTokenException */
    expect_h(port, pq, NULL, 403, "MissingAuthenticationTokenException", NULL);
    /* X-Amz-Date outside the allowed skew, correctly signed: 403 InvalidSignatureException */
    it_sigv4_headers(port, "GET", pq, NULL, "AKIDTEST", "SECRETTEST", now - 1200, h, sizeof h);
    expect_h(port, pq, h, 403, "InvalidSignatureException", "Signature expired: ");
    it_sigv4_headers(port, "GET", pq, NULL, "AKIDTEST", "SECRETTEST", now + 1200, h, sizeof h);
    expect_h(port, pq, h, 403, "InvalidSignatureException", "Signature not yet current: ");
    /* wrong secret, unknown key */
    it_sigv4_headers(port, "GET", pq, NULL, "AKIDTEST", "WRONG", now, h, sizeof h);
    expect_h(port, pq, h, 403, "InvalidSignatureException", "does not match");
    it_sigv4_headers(port, "GET", pq, NULL, "AKIDOTHER", "SECRETTEST", now, h, sizeof h);
    expect_h(port, pq, h, 403, "UnrecognizedClientException", NULL);
    /* malformed or incomplete Authorization: 400 IncompleteSignatureException */
    char date[20], hdr[512];
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(date, sizeof date, "%Y%m%dT%H%M%SZ", &tm);
    snprintf(hdr, sizeof hdr, "X-Amz-Date: %s\r\nAuthorization: Bearer x\r\n", date);
    expect_h(port, pq, hdr, 400, "IncompleteSignatureException", NULL);
    snprintf(hdr, sizeof hdr,
             "X-Amz-Date: %s\r\nAuthorization: AWS4-HMAC-SHA256 SignedHeaders=host;x-amz-date, "
             "Signature=%064d\r\n",
             date, 0);
    expect_h(port, pq, hdr, 400, "IncompleteSignatureException",
             "Authorization header requires 'Credential' parameter.");
    snprintf(hdr, sizeof hdr,
             "X-Amz-Date: %s\r\nAuthorization: AWS4-HMAC-SHA256 Credential=AKIDTEST/%.8s/"
             "us-east-1/iot/aws4_request, SignedHeaders=host;x-amz-date\r\n",
             date, date);
    expect_h(port, pq, hdr, 400, "IncompleteSignatureException",
             "Authorization header requires 'Signature' parameter.");
    /* a good signature whose X-Amz-Date header is left out */
    it_sigv4_headers(port, "GET", pq, NULL, "AKIDTEST", "SECRETTEST", now, h, sizeof h);
    char *auth = strstr(h, "Authorization:");
    expect_h(port, pq, auth, 400, "IncompleteSignatureException", NULL);
    /* a path that normalises to another: refused before its signature is checked, so a
     * signature over /custom-metrics is not one for /x/../custom-metrics (the API would read
     * the path as sent) */
    static const char *const odd[] = {"//custom-metrics?maxResults=5",
                                      "/x/../custom-metrics?maxResults=5"};
    for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++)
    {
        it_sigv4_headers(port, "GET", odd[i], NULL, "AKIDTEST", "SECRETTEST", now, h, sizeof h);
        expect_h(port, odd[i], h, 400, "InvalidRequestException", "malformed path");
        it_sigv4_headers(port, "GET", pq, NULL, "AKIDTEST", "SECRETTEST", now, h, sizeof h);
        expect_h(port, odd[i], h, 400, "InvalidRequestException", "malformed path");
    }
    /* a signed header sent twice: both values, in order, are signed */
    char two[1200];
    sign_two(port, date, "X-Test: one\r\n", "X-Test:  two   two \r\n", two, sizeof two);
    expect_h(port, pq, two, 200, NULL, NULL);
    sign_two(port, date, "X-Test:  two   two \r\n", "X-Test: one\r\n", two, sizeof two);
    expect_h(port, pq, two, 403, "InvalidSignatureException", "does not match");
    sign_two(port, date, "X-Test: one\r\n", "", two, sizeof two);
    expect_h(port, pq, two, 403, "InvalidSignatureException", "does not match");
    /* a second X-Amz-Date */
    it_sigv4_headers(port, "GET", pq, NULL, "AKIDTEST", "SECRETTEST", now, h, sizeof h);
    snprintf(two, sizeof two, "%sX-Amz-Date: %s\r\n", h, date);
    expect_h(port, pq, two, 400, "IncompleteSignatureException", "More than one X-Amz-Date header");
    /* the refusals did not stop the service */
    it_sigv4_headers(port, "GET", pq, NULL, "AKIDTEST", "SECRETTEST", time(NULL), h, sizeof h);
    expect_h(port, pq, h, 200, NULL, NULL);
    int rc = it_service_stop(&s, SIGTERM, 10000);
    CHECK(rc == 0, "exit status %d (--credentials)", rc);
}

static void raw(const char *bytes, size_t n)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t) g_port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *) &a, sizeof a) == 0)
    {
        if (write(fd, bytes, n) < 0)
            CHECK(0, "write");
        shutdown(fd, SHUT_WR);
        char buf[4096];
        while (read(fd, buf, sizeof buf) > 0)
        {
        }
    }
    close(fd);
}

/* Reports big enough that the datapoints of one 250-row page exceed the 8 MB response buffer:
 * every page ends early by size, and paging with nextToken still returns every datum once and
 * in order. Report i lists the 10,000 TCP ports 10000+i .. 19999+i. */
#define BIG_REPORTS 150
#define BIG_PORTS   10000

static int publish_big(it_peer *pub, it_peer *sub, int i)
{
    uint8_t *cbor = NULL;
    size_t cl = 0;
    int rc = it_big_ports_report(i, BIG_PORTS, &cbor, &cl);
    if (rc != 0 || cl > 131072)
    {
        free(cbor);
        return -1;
    }
    it_peer_publish(pub, "$aws/things/big/defender/metrics/cbor", cbor, cl, 1);
    free(cbor);
    it_msg m;
    if (!it_peer_next(sub, &m, 10000))
        return -1;
    rc = strstr(m.topic, "/accepted") != NULL ? 0 : -1;
    free(m.payload);
    return rc;
}

static void check_big_paging(const it_broker *b)
{
    it_peer *sub, *pub;
    if (it_peer_pair(b->port, "$aws/things/big/defender/metrics/cbor/+", &sub, &pub) != 0)
        return;
    for (int i = 0; i < BIG_REPORTS; i++)
    {
        if (publish_big(pub, sub, i) != 0)
        {
            CHECK(0, "big report %d not accepted", i + 1);
            break;
        }
    }
    it_peer_close(sub);
    it_peer_close(pub);
    const char *base = "/metric-values?thingName=big&metricName=aws:listening-tcp-ports"
                       "&startTime=0&endTime=2000000000";
    char tok[128] = "";
    int seen = 0, pages = 0;
    for (;;)
    {
        char pq[512];
        snprintf(pq, sizeof pq, "%s%s%s", base, tok[0] ? "&nextToken=" : "", tok);
        char *body = NULL;
        int st = it_http(g_port, "GET", pq, NULL, &body);
        pages++;
        CHECK(st == 200, "page %d: status %d: %.200s", pages, st, body ? body : "");
        CHECK(body == NULL || strlen(body) <= 4u * 1024u * 1024u + 70000u,
              "page %d is %zu bytes, above the page budget", pages, body ? strlen(body) : 0);
        cJSON *j = st == 200 ? cJSON_Parse(body) : NULL;
        free(body);
        if (j == NULL)
        {
            CHECK(0, "page %d is not JSON", pages);
            break;
        }
        const cJSON *l = cJSON_GetObjectItemCaseSensitive(j, "metricDatumList");
        CHECK(cJSON_GetArraySize(l) >= 1, "page %d is empty", pages);
        const cJSON *d;
        cJSON_ArrayForEach(d, l)
        {
            const cJSON *ports = cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(d, "value"), "ports");
            const cJSON *first = cJSON_GetArrayItem(ports, 0);
            CHECK(cJSON_GetArraySize(ports) == BIG_PORTS && cJSON_IsNumber(first) &&
                      first->valueint == 10000 + seen,
                  "page %d: datum %d is not report %d", pages, seen, seen + 1);
            seen++;
        }
        const cJSON *nt = cJSON_GetObjectItemCaseSensitive(j, "nextToken");
        int more = cJSON_IsString(nt) && strlen(nt->valuestring) < sizeof tok;
        if (more)
            snprintf(tok, sizeof tok, "%s", nt->valuestring);
        cJSON_Delete(j);
        if (!more || pages > BIG_REPORTS + 1)
            break;
    }
    CHECK(seen == BIG_REPORTS, "%d of %d datapoints returned", seen, BIG_REPORTS);
    CHECK(pages >= 3, "%d page(s): expected the byte budget to split the list", pages);
    /* the count limit still applies */
    char pq[512];
    snprintf(pq, sizeof pq, "%s&maxResults=2", base);
    char *body = NULL;
    int st = it_http(g_port, "GET", pq, NULL, &body);
    cJSON *j = st == 200 ? cJSON_Parse(body) : NULL;
    CHECK(j != NULL &&
              cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "metricDatumList")) == 2 &&
              cJSON_IsString(cJSON_GetObjectItemCaseSensitive(j, "nextToken")),
          "maxResults=2: %d", st);
    cJSON_Delete(j);
    free(body);
}

/* A custom metric deleted and created again with another type: ListMetricValues lists only
 * values of the current type (no number under a string-list metric). */
static void check_retyped_metric(const it_broker *b)
{
    it_peer *sub, *pub;
    if (it_peer_pair(b->port, "$aws/things/retype/defender/metrics/json/+", &sub, &pub) != 0)
        return;
    static const char *const reports[] = {
        "{\"header\":{\"report_id\":1,\"version\":\"1.0\"},\"metrics\":{},"
        "\"custom_metrics\":{\"retyped\":[{\"number\":5}]}}",
        "{\"header\":{\"report_id\":2,\"version\":\"1.0\"},\"metrics\":{},"
        "\"custom_metrics\":{\"retyped\":[{\"string_list\":[\"x\"]}]}}"};
    /* defined as a number, then deleted; a number arrives while the name is undefined (stored,
     * PD-13); then it is defined again as a string-list, and a string list arrives */
    expect("POST", "/custom-metric/retyped",
           "{\"metricType\":\"number\",\"clientRequestToken\":\"a\"}", 200, NULL);
    expect("DELETE", "/custom-metric/retyped", NULL, 200, NULL);
    for (int i = 0; i < 2; i++)
    {
        if (i == 1)
            expect("POST", "/custom-metric/retyped",
                   "{\"metricType\":\"string-list\",\"clientRequestToken\":\"b\"}", 200, NULL);
        it_peer_publish(pub, "$aws/things/retype/defender/metrics/json", reports[i],
                        strlen(reports[i]), 1);
        it_msg m;
        int got = it_peer_next(sub, &m, 10000);
        CHECK(got && strstr(m.topic, "/accepted") != NULL, "retyped report %d accepted", i + 1);
        if (got)
            free(m.payload);
    }
    char *body = NULL;
    int st = it_http(g_port, "GET",
                     "/metric-values?thingName=retype&metricName=retyped&startTime=0&endTime="
                     "4000000000",
                     NULL, &body);
    CHECK(st == 200 && body != NULL && strstr(body, "\"strings\":[\"x\"]") != NULL &&
              strstr(body, "\"number\"") == NULL,
          "only the string-list value under the re-created metric: %d %s", st,
          body ? body : "(none)");
    free(body);
    expect("DELETE", "/custom-metric/retyped", NULL, 200, NULL);
    it_peer_close(sub);
    it_peer_close(pub);
}

/* displayName is up to 128 characters, not bytes: names of multi-byte characters come back
 * whole from Create, Update and Describe; 129 characters are refused. */
static void check_display_name_chars(void)
{
    static const char *const ch[] = {"\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80"};
    for (size_t i = 0; i < 3; i++)
    {
        char name[600] = "", body[800], *resp = NULL;
        for (int k = 0; k < 128; k++)
            strcat(name, ch[i]);
        snprintf(body, sizeof body,
                 "{\"metricType\":\"number\",\"clientRequestToken\":\"t\",\"displayName\":\"%s\"}",
                 name);
        expect("POST", "/custom-metric/wide", body, 200, NULL);
        int st = it_http(g_port, "GET", "/custom-metric/wide", NULL, &resp);
        cJSON *j = st == 200 ? cJSON_Parse(resp) : NULL;
        const cJSON *dn = cJSON_GetObjectItemCaseSensitive(j, "displayName");
        CHECK(cJSON_IsString(dn) && strcmp(dn->valuestring, name) == 0,
              "%zu-byte characters: displayName of 128 characters came back as %s", i + 2,
              resp ? resp : "(none)");
        cJSON_Delete(j);
        free(resp);
        resp = NULL;
        snprintf(body, sizeof body, "{\"displayName\":\"%s\"}", name + strlen(ch[i]));
        st = it_http(g_port, "PATCH", "/custom-metric/wide", body, &resp);
        j = st == 200 ? cJSON_Parse(resp) : NULL;
        dn = cJSON_GetObjectItemCaseSensitive(j, "displayName");
        CHECK(cJSON_IsString(dn) && strcmp(dn->valuestring, name + strlen(ch[i])) == 0,
              "%zu-byte characters: updated displayName of 127 characters came back as %s", i + 2,
              resp ? resp : "(none)");
        cJSON_Delete(j);
        free(resp);
        strcat(name, ch[i]);
        snprintf(body, sizeof body, "{\"displayName\":\"%s\"}", name);
        expect("PATCH", "/custom-metric/wide", body, 400, "InvalidRequestException");
        expect("DELETE", "/custom-metric/wide", NULL, 200, NULL);
    }
}

int main(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    it_broker b;
    it_service s;
    const char *args[] = {"--throttle-seconds", "0", NULL};
    if (it_start(&b, &s, argv[1], argv[2], "http.db", args) != 0)
        return 1;
    g_port = s.http_port;
    const char *IRE = "InvalidRequestException";
    check_retyped_metric(&b);
    expect("GET", "/metric-values", NULL, 400, IRE);
    expect("GET", "/metric-values?thingName=a&metricName=aws:all-bytes-in", NULL, 400, IRE);
    expect("GET",
           "/metric-values?thingName=a&metricName=aws:all-bytes-in&startTime=yesterday&endTime=1",
           NULL, 400, IRE);
    expect("GET",
           "/metric-values?thingName=a&metricName=x&startTime=2026-13-01T00:00:00Z&endTime=1", NULL,
           400, IRE);
    expect("GET", "/metric-values?thingName=a&metricName=x&startTime=1e999&endTime=1", NULL, 400,
           IRE);
    expect("GET", "/metric-values?thingName=a&metricName=x&startTime=0&endTime=1&maxResults=0",
           NULL, 400, IRE);
    expect("GET", "/metric-values?thingName=a&metricName=x&startTime=0&endTime=1&maxResults=251",
           NULL, 400, IRE);
    expect("GET", "/metric-values?thingName=a&metricName=x&startTime=0&endTime=1&maxResults=9x",
           NULL, 400, IRE);
    /* maxResults: plain decimal digits only ("+5", " 5", "-0", "0x5" refused; "5", "005" fine) */
    static const char *const bad_max[] = {"%2B5", "%205", "5%20", "-0", "0x5", "", "5.0", "1e2"};
    for (size_t i = 0; i < sizeof bad_max / sizeof bad_max[0]; i++)
    {
        char pq[200];
        snprintf(pq, sizeof pq,
                 "/metric-values?thingName=a&metricName=x&startTime=0&endTime=1&maxResults=%s",
                 bad_max[i]);
        expect("GET", pq, NULL, 400, IRE);
        snprintf(pq, sizeof pq, "/custom-metrics?maxResults=%s", bad_max[i]);
        expect("GET", pq, NULL, 400, IRE);
    }
    expect("GET", "/metric-values?thingName=a&metricName=x&startTime=0&endTime=1&maxResults=5",
           NULL, 200, NULL);
    expect("GET", "/metric-values?thingName=a&metricName=x&startTime=0&endTime=1&maxResults=005",
           NULL, 200, NULL);
    expect("GET", "/custom-metrics?maxResults=250", NULL, 200, NULL);
    /* time stamps: impossible calendar dates and loose field forms are refused, not rolled
     * over into the next month; real ones (leap days included) are taken */
    static const char *const bad_time[] = {
        "2026-02-31T00:00:00Z",       "2026-02-29T00:00:00Z",        "2100-02-29T00:00:00Z",
        "2026-04-31T00:00:00Z",       "2026-06-31T00:00:00Z",        "2026-09-31T00:00:00Z",
        "2026-11-31T00:00:00Z",       "2026-01-32T00:00:00Z",        "2026-01-00T00:00:00Z",
        "2026-00-10T00:00:00Z",       "2026-01-01T24:00:00Z",        "2026-01-01T00:60:00Z",
        "2026-1-01T00:00:00Z",        "2026-01-%2B1T00:00:00Z",      "2026-01-%201T00:00:00Z",
        "2026-01-01T00:00:00%2B1:00", "2026-01-01T00:00:00%2B01:-1",
    };
    for (size_t i = 0; i < sizeof bad_time / sizeof bad_time[0]; i++)
    {
        char pq[200];
        snprintf(pq, sizeof pq,
                 "/metric-values?thingName=a&metricName=x&startTime=%s&endTime=2000000000",
                 bad_time[i]);
        expect("GET", pq, NULL, 400, IRE);
    }
    static const char *const good_time[] = {"2028-02-29T00:00:00Z", "2000-02-29T00:00:00Z",
                                            "2026-01-31T23:59:59Z", "2026-04-30T00:00:00%2B02:00",
                                            "2026-12-31T00:00:00.5Z"};
    for (size_t i = 0; i < sizeof good_time / sizeof good_time[0]; i++)
    {
        char pq[200];
        snprintf(pq, sizeof pq, "/metric-values?thingName=a&metricName=x&startTime=0&endTime=%s",
                 good_time[i]);
        expect("GET", pq, NULL, 200, NULL);
    }
    expect("GET", "/metric-values?thingName=a&metricName=x&startTime=0&endTime=1&nextToken=zz",
           NULL, 400, IRE);
    /* nextToken: only the exact form the service issues ("mv1-<hex ms>-<hex row>") */
    static const char *const bad_mv[] = {
        "mv1-0x10-%2B5",
        "mv1-10-%2B5",
        "mv1-10-5x",
        "mv1-010-5",
        "mv1-10",
        "mv1-10-",
        "mv1--1-5",
        "mv1-A-5",
        "mv1-10-5%20",
        "mv2-10-5",
        "mv1-8000000000000000-0",
        "mv1-10000000000000000-0",
        "mv1-10--5",
    };
    for (size_t i = 0; i < sizeof bad_mv / sizeof bad_mv[0]; i++)
    {
        char pq[256];
        snprintf(pq, sizeof pq,
                 "/metric-values?thingName=a&metricName=x&startTime=0&endTime=1&nextToken=%s",
                 bad_mv[i]);
        expect("GET", pq, NULL, 400, IRE);
        char *resp = NULL;
        it_http(g_port, "GET", pq, NULL, &resp);
        CHECK(resp != NULL && strstr(resp, "nextToken") != NULL, "message names nextToken: %s",
              resp ? resp : "");
        free(resp);
    }
    expect("GET", "/metric-values?thingName=a&metricName=x&startTime=0&endTime=1&nextToken=mv1-0-0",
           NULL, 200, NULL);
    expect("GET",
           "/metric-values?thingName=a&metricName=x&startTime=0&endTime=1&nextToken="
           "mv1-7fffffffffffffff-1a",
           NULL, 200, NULL);
    expect("GET", "/metric-values?thingName=a&metricName=x%zz&startTime=0&endTime=1", NULL, 400,
           IRE);
    expect("GET", "/metric-values?thingName=a%00b&metricName=x&startTime=0&endTime=1", NULL, 400,
           IRE);
    expect("GET", "/metric-values?thingName=a&metricName=bad%22name&startTime=0&endTime=1", NULL,
           400, IRE);
    expect(
        "GET",
        "/metric-values?thingName=a&metricName=x&startTime=0&endTime=1&dimensionValueOperator=EQ",
        NULL, 400, IRE);
    char longname[400];
    snprintf(longname, sizeof longname,
             "/metric-values?thingName=%0200d&metricName=x&startTime=0&endTime=1", 0);
    expect("GET", longname, NULL, 400, IRE);
    expect("GET",
           "/metric-values?thingName=nobody&metricName=aws:all-bytes-in&startTime=0&endTime="
           "2000000000",
           NULL, 200, NULL);
    char many[2048] = "/custom-metrics?";
    for (int i = 0; i < 40; i++)
        snprintf(many + strlen(many), sizeof many - strlen(many), "p%d=1&", i);
    expect("GET", many, NULL, 400, IRE);
    expect("GET", "/custom-metrics?maxResults=-1", NULL, 400, IRE);
    expect("GET", "/custom-metrics?nextToken=cm1-zz", NULL, 400, IRE);
    expect("GET", "/custom-metrics?nextToken=cm1-", NULL, 400, IRE); /* would restart the list */
    expect("GET", "/custom-metrics?nextToken=cm1", NULL, 400, IRE);
    expect("GET", "/custom-metrics?nextToken=cm1-6D31", NULL, 400, IRE); /* not as issued */
    expect("GET", "/custom-metrics?nextToken=cm1-2f", NULL, 400, IRE);   /* "/": not a name */
    expect("GET", "/custom-metrics?nextToken=cm1-6d3", NULL, 400, IRE);
    expect("GET", "/custom-metrics?nextToken=cm1-6d31", NULL, 200, NULL);
    expect("POST", "/custom-metric/m1", "not json", 400, IRE);
    expect("POST", "/custom-metric/m1", "[]", 400, IRE);
    expect("POST", "/custom-metric/m1", "{\"metricType\":\"number\"} trailing", 400, IRE);
    expect("POST", "/custom-metric/m1", "{\"metricType\":\"bogus\",\"clientRequestToken\":\"t\"}",
           400, IRE);
    expect("POST", "/custom-metric/m1", "{\"metricType\":\"number\"}", 400, IRE);
    expect("POST", "/custom-metric/m1",
           "{\"metricType\":\"number\",\"clientRequestToken\":\"t\",\"displayName\":\"\xff\"}", 400,
           IRE);
    expect("POST", "/custom-metric/m1",
           "{\"metricType\":\"number\",\"clientRequestToken\":\"t\",\"tags\":[{\"Value\":1}]}", 400,
           IRE);
    expect("POST", "/custom-metric/m0",
           "{\"metricType\":\"number\",\"clientRequestToken\":\"t\",\"displayName\":\"a\\u0000b\"}",
           400, IRE);
    expect("GET", "/custom-metric/m0", NULL, 404, "ResourceNotFoundException");
    expect("POST", "/custom-metric/aws:m",
           "{\"metricType\":\"number\",\"clientRequestToken\":\"t\"}", 400, IRE);
    expect("POST", "/custom-metric/a%2Fb",
           "{\"metricType\":\"number\",\"clientRequestToken\":\"t\"}", 400, IRE);
    /* a path that is not its own normal form (SigV4 signs it normalised) */
    expect("GET", "//custom-metrics", NULL, 400, IRE);
    expect("GET", "/custom-metrics/.", NULL, 400, IRE);
    expect("GET", "/x/../custom-metrics", NULL, 400, IRE);
    expect("DELETE", "/custom-metric/x/../m1", NULL, 400, IRE);
    expect("GET", "/service//health", NULL, 400, IRE);
    size_t big = 100 * 1024;
    char *huge = malloc(big + 1);
    if (huge != NULL)
    {
        memset(huge, ' ', big);
        huge[0] = '{';
        huge[big - 1] = '}';
        huge[big] = 0;
        expect("POST", "/custom-metric/m1", huge, 413, IRE);
        free(huge);
    }
    char deep[4096];
    size_t o = 0;
    for (int i = 0; i < 1500; i++)
        deep[o++] = '[';
    deep[o] = 0;
    expect("POST", "/custom-metric/m1", deep, 400, IRE);
    expect("POST", "/custom-metric/m1", "{\"metricType\":\"number\",\"clientRequestToken\":\"t1\"}",
           200, NULL);
    expect("POST", "/custom-metric/m1", "{\"metricType\":\"number\",\"clientRequestToken\":\"t1\"}",
           200, NULL); /* idempotent */
    expect("POST", "/custom-metric/m1", "{\"metricType\":\"number\",\"clientRequestToken\":\"t2\"}",
           409, "ResourceAlreadyExistsException");
    expect("PATCH", "/custom-metric/m1", NULL, 400, IRE);
    expect("PATCH", "/custom-metric/m1", "{\"displayName\":5}", 400, IRE);
    /* U+0000 would truncate the name ("a"): refused, and the metric is unchanged */
    expect("PATCH", "/custom-metric/m1", "{\"displayName\":\"ok\"}", 200, NULL);
    expect("PATCH", "/custom-metric/m1", "{\"displayName\":\"a\\u0000b\"}", 400, IRE);
    expect("PATCH", "/custom-metric/m1", "{\"displayName\":\"\\u0000\"}", 400, IRE);
    {
        char *resp = NULL;
        int st = it_http(g_port, "GET", "/custom-metric/m1", NULL, &resp);
        CHECK(st == 200 && resp != NULL && strstr(resp, "\"displayName\":\"ok\"") != NULL,
              "displayName unchanged after refused update: %s", resp ? resp : "");
        free(resp);
    }
    /* an escaped backslash followed by "u0000" is an ordinary displayName */
    expect("PATCH", "/custom-metric/m1", "{\"displayName\":\"a\\\\u0000b\"}", 200, NULL);
    check_display_name_chars();
    expect("PATCH", "/custom-metric/nope", "{\"displayName\":\"x\"}", 404,
           "ResourceNotFoundException");
    expect("GET", "/custom-metric/nope", NULL, 404, "ResourceNotFoundException");
    expect("PUT", "/custom-metric/m1", NULL, 405, IRE);
    expect("DELETE", "/custom-metric/nope", NULL, 200, NULL);
    expect("DELETE", "/custom-metric/m1", NULL, 200, NULL);
    expect("GET", "/no-such-operation", NULL, 404, "UnknownOperationException");
    expect("POST", "/_test/clock?nowMs=1", NULL, 404, "UnknownOperationException"); /* hooks off */
    raw("GARBAGE\r\n\r\n", strlen("GARBAGE\r\n\r\n"));
    raw("GET /metric-values?\x01\x02 HTTP/1.1\r\nHost: x\r\n\r\n",
        strlen("GET /metric-values?\x01\x02 HTTP/1.1\r\nHost: x\r\n\r\n"));
    raw("POST /custom-metric/m2 HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n{",
        strlen("POST /custom-metric/m2 HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n{"));
    raw("POST /custom-metric/m2 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        strlen("POST /custom-metric/m2 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
               "chunked\r\n\r\nzz\r\n"));
    char *longurl = malloc(20000);
    if (longurl != NULL)
    {
        strcpy(longurl, "/metric-values?thingName=");
        memset(longurl + strlen(longurl), 'a', 15000);
        longurl[25 + 15000] = 0;
        char *r = NULL;
        int st = it_http(g_port, "GET", longurl, NULL, &r);
        CHECK(st >= 400 && st < 500, "very long URL: %d", st);
        free(r);
        free(longurl);
    }
    expect("GET", "/service/health", NULL, 200, NULL);
    check_sigv4(&b, argv[1]);
    int64_t t0 = it_now_ms();
    check_big_paging(&b);
    printf("large ListMetricValues paging: %lld ms\n", (long long) (it_now_ms() - t0));
    int rc = it_service_stop(&s, SIGTERM, 10000);
    CHECK(rc == 0, "exit status %d", rc);
    return it_finish(&b, "http");
}
