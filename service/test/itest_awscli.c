/* The AWS CLI drives the HTTP API with --endpoint-url: list-metric-values (with paging) and
 * the custom-metric commands, with SigV4 verification against a credentials file. */
#include "itest.h"

#include <cjson/cJSON.h>
#include <mosquitto.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#define T0_MS 1767225600000ull /* 2026-01-01T00:00:00Z */

static char g_env[1024];
static const char *g_aws;
static int g_port;
static const char *g_akid = "AKIDTEST";

/* Runs `aws iot <args>`; returns exit status, output (stdout+stderr) in *out. */
static int aws(const char *secret, const char *args, char **out)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "%s AWS_ACCESS_KEY_ID=%s AWS_SECRET_ACCESS_KEY=%s '%s' iot %s --endpoint-url "
             "http://127.0.0.1:%d --output json 2>&1",
             g_env, g_akid, secret, g_aws, args, g_port);
    FILE *p = popen(cmd, "r");
    if (p == NULL)
        return -1;
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap);
    if (buf == NULL)
    {
        pclose(p);
        return -1;
    }
    size_t r;
    while ((r = fread(buf + n, 1, cap - n - 1, p)) > 0)
    {
        n += r;
        if (n + 1 >= cap)
        {
            char *nb = realloc(buf, cap * 2);
            if (nb == NULL)
                break;
            buf = nb;
            cap *= 2;
        }
    }
    buf[n] = 0;
    int st = pclose(p);
    *out = buf;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static cJSON *aws_json(const char *args)
{
    char *out = NULL;
    int rc = aws("SECRETTEST", args, &out);
    cJSON *j = rc == 0 ? cJSON_Parse(out) : NULL;
    if (j == NULL)
        CHECK(0, "aws iot %s -> %d: %s", args, rc, out ? out : "");
    free(out);
    return j;
}

static void expect_error(const char *secret, const char *args, const char *err_name)
{
    char *out = NULL;
    int rc = aws(secret, args, &out);
    CHECK(rc != 0 && out != NULL && strstr(out, err_name) != NULL,
          "aws iot %s: expected %s, got %d: %s", args, err_name, rc, out ? out : "");
    free(out);
}

/* The raw ListMetricValues body (a signed request through the HTTP server): every
 * timestamp is epoch seconds with the millisecond fraction, a plain JSON number
 * (REST-JSON convention, rules spec section 1), e.g. 1767225600.25. */
static void check_wire_timestamps(void)
{
    const char *pq = "/metric-values?thingName=cli-thing&metricName=aws%3Aall-bytes-in"
                     "&startTime=1767225600&endTime=1767312000";
    char h[1024], *body = NULL;
    CHECK(it_sigv4_headers(g_port, "GET", pq, NULL, g_akid, "SECRETTEST", time(NULL), h,
                           sizeof h) == 0,
          "sign");
    int st = it_http_h(g_port, "GET", pq, h, NULL, &body);
    CHECK(st == 200 && body != NULL, "raw list-metric-values: %d %s", st, body ? body : "");
    if (body == NULL)
        return;
    const char *p = body;
    int n = 0;
    for (; (p = strstr(p, "\"timestamp\":")) != NULL; n++)
    {
        p += strlen("\"timestamp\":");
        /* the token: digits, '.', digits (no exponent, no quotes) */
        size_t il = strspn(p, "0123456789");
        size_t fl = p[il] == '.' ? strspn(p + il + 1, "0123456789") : 0;
        char tok[40];
        snprintf(tok, sizeof tok, "%.*s", (int) (il + 1 + fl), p);
        double want = (double) (T0_MS + (unsigned long long) n * 300000 + 250) / 1000.0;
        CHECK(il == 10 && fl >= 1 && fl <= 3 && (p[il + 1 + fl] == ',' || p[il + 1 + fl] == '}') &&
                  strtod(tok, NULL) == want,
              "wire timestamp %d: %.30s (expected %.3f as epoch seconds with a fraction)", n, p,
              want);
    }
    CHECK(n == 3, "%d timestamps in %s", n, body);
    char first[64];
    snprintf(first, sizeof first, "\"timestamp\":%s", "1767225600.25");
    CHECK(strstr(body, first) != NULL, "first datum at 1767225600.25: %s", body);
    free(body);
}

static void publish_and_wait(it_peer *pub, it_peer *sub, const char *payload)
{
    it_peer_publish(pub, "$aws/things/cli-thing/defender/metrics/json", payload, strlen(payload),
                    1);
    it_msg m;
    if (it_peer_next(sub, &m, 5000))
    {
        CHECK(strstr(m.topic, "/accepted") != NULL, "report not accepted: %s", m.payload);
        free(m.payload);
    }
    else
        CHECK(0, "no reply");
}

static void set_clock(int http_port, unsigned long long ms)
{
    char path[96], *body = NULL;
    snprintf(path, sizeof path, "/_test/clock?nowMs=%llu", ms);
    CHECK(it_http(http_port, "POST", path, NULL, &body) == 200, "clock");
    free(body);
}

/* Report i of thing cli-big (CBOR, short keys) lists the 10,000 TCP ports 10000+i .. 19999+i:
 * about 60 KB of datapoint each, so BIG_REPORTS of them exceed one page's byte budget. */
#define BIG_REPORTS 80
#define BIG_PORTS   10000

static void publish_big(it_peer *pub, it_peer *sub, int i)
{
    uint8_t *cbor = NULL;
    size_t cl = 0;
    int rc = it_big_ports_report(i, BIG_PORTS, &cbor, &cl);
    CHECK(rc == 0 && cl <= 131072, "big report %d: %d, %zu bytes", i + 1, rc, cl);
    if (rc == 0)
        it_peer_publish(pub, "$aws/things/cli-big/defender/metrics/cbor", cbor, cl, 1);
    free(cbor);
    it_msg m;
    if (it_peer_next(sub, &m, 10000))
    {
        CHECK(strstr(m.topic, "/accepted") != NULL, "big report %d not accepted", i + 1);
        free(m.payload);
    }
    else
        CHECK(0, "big report %d: no reply", i + 1);
}

static void set_clock(int http_port, unsigned long long ms);

/* list-metric-values pages that end early by size are followed by the CLI's paging */
static void check_big_paging(const it_broker *b, int http_port)
{
    it_peer *sub = it_peer_connect(b->port, "$aws/things/cli-big/defender/metrics/cbor/+");
    it_peer *pub = it_peer_connect(b->port, NULL);
    CHECK(sub != NULL && pub != NULL, "mqtt peers");
    if (sub != NULL && pub != NULL)
        for (int i = 0; i < BIG_REPORTS; i++)
        {
            set_clock(http_port, T0_MS + 86400000ull + (unsigned long long) i * 300000);
            publish_big(pub, sub, i);
        }
    if (sub != NULL)
        it_peer_close(sub);
    if (pub != NULL)
        it_peer_close(pub);
    cJSON *j = aws_json("list-metric-values --thing-name cli-big --metric-name "
                        "aws:listening-tcp-ports --start-time 2026-01-02T00:00:00Z "
                        "--end-time 2026-01-03T00:00:00Z "
                        "--query 'metricDatumList[].value.ports[0]'");
    CHECK(cJSON_GetArraySize(j) == BIG_REPORTS, "%d of %d datapoints", cJSON_GetArraySize(j),
          BIG_REPORTS);
    for (int i = 0; i < cJSON_GetArraySize(j); i++)
    {
        const cJSON *p = cJSON_GetArrayItem(j, i);
        CHECK(cJSON_IsNumber(p) && p->valueint == 10000 + i, "datum %d is not report %d", i, i + 1);
    }
    cJSON_Delete(j);
    /* the first page alone ends early, with a nextToken */
    j = aws_json("list-metric-values --thing-name cli-big --metric-name "
                 "aws:listening-tcp-ports --start-time 2026-01-02T00:00:00Z "
                 "--end-time 2026-01-03T00:00:00Z --no-paginate "
                 "--query '[length(metricDatumList), nextToken]'");
    const cJSON *n = cJSON_GetArrayItem(j, 0);
    CHECK(cJSON_IsNumber(n) && n->valueint >= 1 && n->valueint < BIG_REPORTS &&
              cJSON_IsString(cJSON_GetArrayItem(j, 1)),
          "first page ends early by size");
    cJSON_Delete(j);
}

int main(int argc, char **argv)
{
    if (argc < 4 || argv[3][0] == '\0' || strstr(argv[3], "NOTFOUND") != NULL)
    {
        printf("SKIP: the AWS CLI (Debian package awscli) is not installed\n");
        return 77;
    }
    g_aws = argv[3];
    mosquitto_lib_init();
    it_broker b;
    if (it_broker_start(&b, argv[2], NULL) != 0)
        return 1;
    char creds[400], db[400];
    snprintf(creds, sizeof creds, "%s/credentials", b.dir);
    snprintf(db, sizeof db, "%s/cli.db", b.dir);
    FILE *f = fopen(creds, "w");
    if (f == NULL)
        return 1;
    fprintf(f, "# access-key-id secret\nAKIDTEST SECRETTEST\n");
    fclose(f);
    snprintf(g_env, sizeof g_env,
             "HOME='%s' AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null "
             "AWS_PAGER= AWS_EC2_METADATA_DISABLED=true AWS_DEFAULT_REGION=us-east-1",
             b.dir);
    it_service s;
    const char *args[] = {"--test-hooks", "--credentials", creds, NULL};
    if (it_service_start(&s, argv[1], &b, db, args) != 0)
    {
        fprintf(stderr, "cannot start service\n");
        it_broker_stop(&b);
        return 1;
    }
    g_port = s.http_port;
    it_peer *sub = it_peer_connect(b.port, "$aws/things/cli-thing/defender/metrics/json/+");
    it_peer *pub = it_peer_connect(b.port, NULL);
    if (sub == NULL || pub == NULL)
    {
        it_service_stop(&s, SIGTERM, 5000);
        it_broker_stop(&b);
        return 1;
    }
    /* three accepted reports, 300 s apart */
    for (int i = 0; i < 3; i++)
    {
        set_clock(s.http_port, T0_MS + (unsigned long long) i * 300000 + 250);
        char rep[300];
        snprintf(
            rep, sizeof rep,
            "{\"header\":{\"report_id\":%d,\"version\":\"1.0\"},\"metrics\":{\"network_stats\":"
            "{\"bytes_in\":%d}},\"custom_metrics\":{\"temp\":[{\"number\":%d.5}]}}",
            i + 1, (i + 1) * 100, 20 + i);
        publish_and_wait(pub, sub, rep);
    }
    /* list-metric-values, one page and paged by 1 */
    const char *lmv = "list-metric-values --thing-name cli-thing --metric-name aws:all-bytes-in "
                      "--start-time 2026-01-01T00:00:00Z --end-time 2026-01-02T00:00:00Z";
    for (int paged = 0; paged < 2; paged++)
    {
        char a[512];
        snprintf(a, sizeof a, "%s%s", lmv, paged ? " --page-size 1" : "");
        cJSON *j = aws_json(a);
        cJSON *l = cJSON_GetObjectItem(j, "metricDatumList");
        CHECK(cJSON_GetArraySize(l) == 3, "3 datapoints (paged=%d)", paged);
        for (int i = 0; i < cJSON_GetArraySize(l); i++)
        {
            cJSON *d = cJSON_GetArrayItem(l, i);
            cJSON *c = cJSON_GetObjectItem(cJSON_GetObjectItem(d, "value"), "count");
            CHECK(cJSON_IsNumber(c) && c->valuedouble == (i + 1) * 100.0, "count %d", i);
            cJSON *ts = cJSON_GetObjectItem(d, "timestamp");
            /* report i was received at T0 + i * 300 s + 250 ms; the CLI prints timestamps
             * as they came on the wire (v1) or as ISO strings (v2, or a timestamp format) */
            double want = (double) (T0_MS + (unsigned long long) i * 300000 + 250) / 1000.0;
            char iso[40];
            snprintf(iso, sizeof iso, "2026-01-01T00:%02d:00.25", i * 5);
            CHECK((cJSON_IsNumber(ts) && ts->valuedouble == want) ||
                      (cJSON_IsString(ts) && strncmp(ts->valuestring, iso, strlen(iso)) == 0),
                  "datum %d timestamp: expected %.3f, got %s", i, want,
                  ts ? (cJSON_IsString(ts) ? ts->valuestring : "a number") : "none");
        }
        cJSON_Delete(j);
    }
    check_wire_timestamps();
    cJSON *j = aws_json("list-metric-values --thing-name cli-thing --metric-name temp "
                        "--start-time 1767225600 --end-time 1767312000");
    cJSON *l = cJSON_GetObjectItem(j, "metricDatumList");
    CHECK(cJSON_GetArraySize(l) == 3, "custom metric datapoints");
    cJSON *num =
        cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetArrayItem(l, 2), "value"), "number");
    CHECK(cJSON_IsNumber(num) && num->valuedouble == 22.5, "custom number value");
    cJSON_Delete(j);
    expect_error("SECRETTEST",
                 "list-metric-values --thing-name cli-thing --metric-name aws:all-bytes-in "
                 "--start-time 2026-01-02T00:00:00Z --end-time 2026-01-01T00:00:00Z",
                 "InvalidRequestException");
    /* custom metrics */
    j = aws_json("create-custom-metric --metric-name temp --metric-type number "
                 "--display-name Temperature --tags Key=site,Value=lab");
    cJSON *arn = cJSON_GetObjectItem(j, "metricArn");
    CHECK(cJSON_IsString(arn) &&
              strcmp(arn->valuestring, "arn:aws:iot:us-east-1:123456789012:custommetric/temp") == 0,
          "metricArn");
    cJSON_Delete(j);
    expect_error("SECRETTEST", "create-custom-metric --metric-name temp --metric-type number",
                 "ResourceAlreadyExistsException");
    expect_error("SECRETTEST", "create-custom-metric --metric-name aws:temp --metric-type number",
                 "InvalidRequestException");
    j = aws_json("describe-custom-metric --metric-name temp");
    cJSON *mt = cJSON_GetObjectItem(j, "metricType");
    cJSON *dn = cJSON_GetObjectItem(j, "displayName");
    CHECK(cJSON_IsString(mt) && strcmp(mt->valuestring, "number") == 0, "metricType");
    CHECK(cJSON_IsString(dn) && strcmp(dn->valuestring, "Temperature") == 0, "displayName");
    CHECK(cJSON_GetObjectItem(j, "creationDate") != NULL, "creationDate");
    cJSON_Delete(j);
    j = aws_json("update-custom-metric --metric-name temp --display-name 'Temp C'");
    dn = cJSON_GetObjectItem(j, "displayName");
    CHECK(cJSON_IsString(dn) && strcmp(dn->valuestring, "Temp C") == 0, "updated displayName");
    cJSON_Delete(j);
    cJSON_Delete(aws_json("create-custom-metric --metric-name ports2 --metric-type number-list"));
    cJSON_Delete(
        aws_json("create-custom-metric --metric-name addrs --metric-type ip-address-list"));
    for (int paged = 0; paged < 2; paged++)
    {
        j = aws_json(paged ? "list-custom-metrics --page-size 1" : "list-custom-metrics");
        cJSON *names = cJSON_GetObjectItem(j, "metricNames");
        CHECK(cJSON_GetArraySize(names) == 3, "3 custom metrics (paged=%d)", paged);
        CHECK(strcmp(cJSON_GetArrayItem(names, 0)->valuestring, "addrs") == 0, "sorted names");
        cJSON_Delete(j);
    }
    {
        char *out = NULL;
        int drc = aws("SECRETTEST", "delete-custom-metric --metric-name temp", &out);
        CHECK(drc == 0, "delete-custom-metric: %d %s", drc, out ? out : "");
        free(out);
    }
    expect_error("SECRETTEST", "describe-custom-metric --metric-name temp",
                 "ResourceNotFoundException");
    j = aws_json("list-metric-values --thing-name cli-thing --metric-name temp "
                 "--start-time 1767225600 --end-time 1767312000");
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(j, "metricDatumList")) == 0,
          "deleting a custom metric deletes its data");
    cJSON_Delete(j);
    /* signatures */
    expect_error("WRONGSECRET", "list-custom-metrics", "InvalidSignatureException");
    {
        char *out = NULL;
        char a[256];
        snprintf(a, sizeof a, "list-custom-metrics");
        g_akid = "AKIDOTHER";
        int rc = aws("SECRETTEST", a, &out);
        CHECK(rc != 0 && out && strstr(out, "UnrecognizedClientException"),
              "unknown key refused: %s", out ? out : "");
        free(out);
        g_akid = "AKIDTEST";
    }
    check_big_paging(&b, s.http_port);
    int rc = it_service_stop(&s, SIGTERM, 10000);
    CHECK(rc == 0, "SIGTERM exit %d", rc);
    it_peer_close(sub);
    it_peer_close(pub);
    return it_finish(&b, "awscli");
}
