/* AWS-compatible REST-JSON API (detect-rules.md sections 1, 5.6, 6.1) on libmicrohttpd. */
#include "http_api.h"
#include "timeparse.h"

#include "credentials.h"
#include "log.h"
#include "sigv4.h"
#include "strbuf.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#define MAX_BODY   (64u * 1024u)
#define MAX_QUERY  32
#define MAX_RESULT 250
/* ListMetricValues: the response buffer's hard cap, and the byte budget of one page's
 * datapoints. A page ends early (with a nextToken) before its datapoints exceed the budget;
 * the first datum of a page is always included (one report's value is far smaller). */
#define MV_BUF_MAX     (8u * 1024u * 1024u)
#define MV_PAGE_BUDGET (4u * 1024u * 1024u)

struct detect_http
{
    struct MHD_Daemon *d;
    detect_service *svc;
    store *db;
    credential *creds;
    size_t ncreds;
    int (*mqtt_connected)(void *);
    void *mqtt_ctx;
    detect_http_ext_fn ext;
    void (*ext_free)(void *);
    int (*ext_in_use)(void *, const char *);
    void *ext_ctx;
    /* The hooks above are set after the daemon has started (the MQTT connection and Rules
     * Detect come up after the HTTP API) and cleared before the MQTT side is freed: requests
     * read them under this lock. Until `ready`, only /service/health is served. */
    pthread_rwlock_t hooks_lock;
    atomic_int ready;
};

typedef struct
{
    strbuf body;
    int too_large;
} req_ctx;

/* Whether the MQTT connection is up (false before it is attached and after it is gone). */
static int mqtt_up(detect_http *h)
{
    pthread_rwlock_rdlock(&h->hooks_lock);
    int up = h->mqtt_connected != NULL && h->mqtt_connected(h->mqtt_ctx);
    pthread_rwlock_unlock(&h->hooks_lock);
    return up;
}

/* ---------------------------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------------------------- */

static enum MHD_Result send_body(struct MHD_Connection *c, unsigned status, const char *body,
                                 const char *err_type)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(
        strlen(body), (void *) (uintptr_t) body, MHD_RESPMEM_MUST_COPY);
    if (r == NULL)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", "application/json");
    if (err_type != NULL)
        MHD_add_response_header(r, "x-amzn-ErrorType", err_type);
    char rid[40];
    static unsigned long long seq;
    snprintf(rid, sizeof rid, "detect-%llx-%llx", (unsigned long long) time(NULL), ++seq);
    MHD_add_response_header(r, "x-amzn-RequestId", rid);
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result send_error(struct MHD_Connection *c, unsigned status, const char *type,
                                  const char *msg)
{
    strbuf b;
    sb_init(&b, 4096);
    sb_puts(&b, "{\"message\":");
    sb_json_str(&b, msg, strlen(msg));
    sb_putc(&b, '}');
    enum MHD_Result r = send_body(c, status, b.oom ? "{}" : sb_cstr(&b), type);
    sb_free(&b);
    return r;
}

static enum MHD_Result bad_request(struct MHD_Connection *c, const char *msg)
{
    return send_error(c, 400, "InvalidRequestException", msg);
}

static enum MHD_Result send_sb(struct MHD_Connection *c, strbuf *b)
{
    if (b->oom)
        return send_error(c, 500, "InternalFailureException", "response too large");
    return send_body(c, 200, sb_cstr(b), NULL);
}

/* Percent-decodes into out (cap bytes). Returns 0 ok, -1 bad escape/too long/NUL. */
static int pct_decode(const char *in, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; in[i]; i++)
    {
        char ch = in[i];
        if (ch == '%')
        {
            int h = hex_digit_value(in[i + 1]);
            int l = h < 0 ? -1 : hex_digit_value(in[i + 2]);
            if (h < 0 || l < 0)
                return -1;
            ch = (char) (h * 16 + l);
            i += 2;
            if (ch == '\0')
                return -1;
        }
        if (o + 1 >= cap)
            return -1;
        out[o++] = ch;
    }
    out[o] = '\0';
    return 0;
}

typedef struct
{
    sigv4_kv kv[MAX_QUERY];
    size_t n;
    int overflow;
} query_list;

static enum MHD_Result collect_query(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    (void) kind;
    query_list *q = cls;
    if (q->n >= MAX_QUERY)
    {
        q->overflow = 1;
        return MHD_NO;
    }
    q->kv[q->n].key = key;
    q->kv[q->n].value = value;
    q->n++;
    return MHD_YES;
}

/* Returns the decoded value of a query parameter: 1 found, 0 absent, -1 invalid. */
static int qparam(const query_list *q, const char *name, char *out, size_t cap)
{
    for (size_t i = 0; i < q->n; i++)
    {
        char k[64];
        if (pct_decode(q->kv[i].key, k, sizeof k) != 0)
            continue;
        if (strcmp(k, name) == 0)
        {
            if (pct_decode(q->kv[i].value ? q->kv[i].value : "", out, cap) != 0)
                return -1;
            return 1;
        }
    }
    return 0;
}

static void put_epoch(strbuf *b, int64_t ms)
{
    sb_printf(b, "%lld.%03lld", (long long) (ms / 1000), (long long) (ms % 1000));
}

static int parse_max_results(const query_list *q, int def, int *out)
{
    char v[32];
    int r = qparam(q, "maxResults", v, sizeof v);
    if (r < 0)
        return -1;
    if (r == 0)
    {
        *out = def;
        return 0;
    }
    long n;
    if (parse_query_count(v, MAX_RESULT, &n) != 0)
        return -1;
    *out = (int) n;
    return 0;
}

static void hex_encode(const char *s, char *out, size_t cap)
{
    static const char hx[] = "0123456789abcdef";
    size_t o = 0;
    for (; *s && o + 3 < cap; s++)
    {
        out[o++] = hx[(unsigned char) *s >> 4];
        out[o++] = hx[(unsigned char) *s & 15];
    }
    out[o] = '\0';
}

static int hex_decode(const char *s, char *out, size_t cap)
{
    size_t n = strlen(s);
    if (n % 2 != 0 || n / 2 >= cap)
        return -1;
    for (size_t i = 0; i < n; i += 2)
    {
        int h = hex_digit_value(s[i]);
        int l = hex_digit_value(s[i + 1]);
        if (h < 0 || l < 0 || (h == 0 && l == 0))
            return -1;
        out[i / 2] = (char) (h * 16 + l);
    }
    out[n / 2] = '\0';
    return 0;
}

static void arn(detect_http *h, char *out, size_t cap, const char *kind, const char *name)
{
    const detect_config *c = &h->svc->cfg;
    snprintf(out, cap, "arn:%s:iot:%s:%s:%s/%s", c->partition, c->region, c->account_id, kind,
             name);
}

/* ---------------------------------------------------------------------------------------------
 * ListMetricValues
 * ------------------------------------------------------------------------------------------- */

typedef struct
{
    strbuf *b;
    int n;
    int limit;
    int64_t last_ms;
    int64_t last_row;
    int more;
} mv_ctx;

static int mv_cb(void *ctx, int64_t row, int64_t ms, const char *value)
{
    mv_ctx *m = ctx;
    /* {"timestamp":<epoch>.<ms>,"value":<value>}, plus the separator */
    size_t need = strlen(value) + 64;
    if (m->n == m->limit || (m->n > 0 && m->b->len + need > MV_PAGE_BUDGET))
    {
        m->more = 1; /* this row follows the last one included */
        return 1;
    }
    if (m->n > 0)
        sb_putc(m->b, ',');
    sb_puts(m->b, "{\"timestamp\":");
    put_epoch(m->b, ms);
    sb_puts(m->b, ",\"value\":");
    sb_puts(m->b, value);
    sb_putc(m->b, '}');
    m->n++;
    m->last_ms = ms;
    m->last_row = row;
    return 0;
}

static int metric_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 128)
        return 0;
    for (size_t i = 0; i < n; i++)
    {
        char c = s[i];
        if (!(isalnum((unsigned char) c) || c == ':' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

/* Parses a lowercase hex number without leading zeros (as printed by %llx) of at most 16
 * digits that fits an int64_t; advances *p past it. Returns 0, or -1 if malformed. */
static int parse_hex_i64(const char **p, int64_t *out)
{
    const char *s = *p;
    uint64_t v = 0;
    size_t n = 0;
    while ((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f'))
    {
        if (n == 16)
            return -1;
        v = v * 16u + (uint64_t) hex_digit_value(s[n]);
        n++;
    }
    if (n == 0 || (n > 1 && s[0] == '0') || v > (uint64_t) INT64_MAX)
        return -1;
    *out = (int64_t) v;
    *p = s + n;
    return 0;
}

/* Accepts exactly the tokens list_metric_values issues: "mv1-<ms>-<row>". */
static int parse_mv_token(const char *tok, int64_t *after_ms, int64_t *after_row)
{
    if (strncmp(tok, "mv1-", 4) != 0)
        return -1;
    const char *p = tok + 4;
    if (parse_hex_i64(&p, after_ms) != 0 || *p != '-')
        return -1;
    p++;
    if (parse_hex_i64(&p, after_row) != 0 || *p != '\0')
        return -1;
    return 0;
}

static enum MHD_Result list_metric_values(detect_http *h, struct MHD_Connection *c,
                                          const query_list *q)
{
    char thing[THING_NAME_MAX + 1], metric[160], st[64], et[64], tok[128];
    if (qparam(q, "thingName", thing, sizeof thing) != 1 || thing[0] == '\0')
        return bad_request(c, "thingName is required (1..128 characters)");
    if (qparam(q, "metricName", metric, sizeof metric) != 1 || !metric_name_ok(metric))
        return bad_request(c, "metricName is required and must match [a-zA-Z0-9:_-]{1,128}");
    if (qparam(q, "startTime", st, sizeof st) != 1 || qparam(q, "endTime", et, sizeof et) != 1)
        return bad_request(c, "startTime and endTime are required");
    int64_t start_ms, end_ms;
    if (parse_time_ms(st, &start_ms) != 0 || parse_time_ms(et, &end_ms) != 0)
        return bad_request(c, "startTime/endTime must be ISO 8601 or epoch seconds");
    if (end_ms < start_ms)
        return bad_request(c, "endTime is before startTime");
    char op[32];
    int r = qparam(q, "dimensionValueOperator", op, sizeof op);
    if (r < 0 || (r == 1 && strcmp(op, "IN") != 0 && strcmp(op, "NOT_IN") != 0))
        return bad_request(c, "dimensionValueOperator must be IN or NOT_IN");
    int limit;
    if (parse_max_results(q, MAX_RESULT, &limit) != 0)
        return bad_request(c, "maxResults must be 1..250");
    int64_t after_ms = -1, after_row = -1;
    r = qparam(q, "nextToken", tok, sizeof tok);
    if (r < 0 || (r == 1 && parse_mv_token(tok, &after_ms, &after_row) != 0))
        return bad_request(c, "invalid nextToken: not a token returned by ListMetricValues");
    /* retention: older data is not returned even if not yet purged */
    int64_t floor_ms = service_now_ms(h->svc) - (int64_t) h->svc->cfg.retention_days * 86400 * 1000;
    if (start_ms < floor_ms)
        start_ms = floor_ms;
    strbuf b;
    sb_init(&b, MV_BUF_MAX);
    sb_puts(&b, "{\"metricDatumList\":[");
    mv_ctx m = {&b, 0, limit, 0, 0, 0};
    int n = h->db->ops->list_metric_values(h->db, thing, metric, start_ms, end_ms, after_ms,
                                           after_row, limit + 1, mv_cb, &m);
    if (n < 0)
    {
        sb_free(&b);
        return send_error(c, 500, "InternalFailureException", "storage error");
    }
    sb_putc(&b, ']');
    if (m.more)
        sb_printf(&b, ",\"nextToken\":\"mv1-%llx-%llx\"", (unsigned long long) m.last_ms,
                  (unsigned long long) m.last_row);
    sb_putc(&b, '}');
    enum MHD_Result ret = send_sb(c, &b);
    sb_free(&b);
    return ret;
}

/* ---------------------------------------------------------------------------------------------
 * Custom metrics
 * ------------------------------------------------------------------------------------------- */

static int display_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (!utf8_valid((const uint8_t *) s, n))
        return 0;
    size_t chars = 0;
    for (size_t i = 0; i < n; i++)
    {
        unsigned char ch = (unsigned char) s[i];
        if (ch < 0x20 || ch == 0x7f)
            return 0;
        if ((ch & 0xC0) != 0x80)
            chars++;
    }
    return chars <= 128;
}

static int token_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 64)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!(isalnum((unsigned char) s[i]) || s[i] == '-' || s[i] == '_'))
            return 0;
    return 1;
}

static void describe_json(detect_http *h, strbuf *b, const store_custom_metric *m)
{
    char a[400];
    arn(h, a, sizeof a, "custommetric", m->name);
    sb_puts(b, "{\"metricName\":");
    sb_json_str(b, m->name, strlen(m->name));
    sb_puts(b, ",\"metricArn\":");
    sb_json_str(b, a, strlen(a));
    sb_puts(b, ",\"metricType\":");
    sb_json_str(b, m->type, strlen(m->type));
    if (m->display_name[0])
    {
        sb_puts(b, ",\"displayName\":");
        sb_json_str(b, m->display_name, strlen(m->display_name));
    }
    sb_puts(b, ",\"creationDate\":");
    put_epoch(b, m->created_ms);
    sb_puts(b, ",\"lastModifiedDate\":");
    put_epoch(b, m->modified_ms);
    sb_putc(b, '}');
}

/* cJSON ends a string at U+0000 (escaped "\\u0000" or a raw NUL byte), which would silently
 * truncate e.g. a displayName; such requests are refused. For a body that parsed as JSON. */
static int body_has_nul(const req_ctx *rc)
{
    const char *s = rc->body.data;
    size_t n = rc->body.len;
    if (n == 0)
        return 0;
    if (memchr(s, '\0', n) != NULL)
        return 1;
    for (size_t i = 0; i + 1 < n; i++)
    {
        if (s[i] != '\\')
            continue;
        if (s[i + 1] == 'u' && i + 6 <= n && memcmp(s + i + 2, "0000", 4) == 0)
            return 1;
        i++; /* skip the escaped character */
    }
    return 0;
}

#define NUL_STRING_MSG "strings in the request (e.g. displayName) must not contain U+0000"

static cJSON *parse_body(const req_ctx *rc, int required)
{
    if (rc->body.len == 0)
        return required ? NULL : cJSON_CreateObject();
    if (!utf8_valid((const uint8_t *) rc->body.data, rc->body.len))
        return NULL;
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(rc->body.data, rc->body.len, &end, 0);
    const char *stop = rc->body.data + rc->body.len;
    while (end != NULL && end < stop &&
           (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n'))
        end++;
    if (j == NULL || !cJSON_IsObject(j) || end != stop)
    {
        cJSON_Delete(j);
        return NULL;
    }
    return j;
}

static enum MHD_Result create_custom_metric(detect_http *h, struct MHD_Connection *c,
                                            const char *name, const req_ctx *rc)
{
    cJSON *j = parse_body(rc, 1);
    if (j == NULL)
        return bad_request(c, "request body must be a JSON object");
    if (body_has_nul(rc))
    {
        cJSON_Delete(j);
        return bad_request(c, NUL_STRING_MSG);
    }
    store_custom_metric m;
    memset(&m, 0, sizeof m);
    snprintf(m.name, sizeof m.name, "%s", name);
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "metricType");
    const cJSON *dn = cJSON_GetObjectItemCaseSensitive(j, "displayName");
    const cJSON *tok = cJSON_GetObjectItemCaseSensitive(j, "clientRequestToken");
    const cJSON *tags = cJSON_GetObjectItemCaseSensitive(j, "tags");
    const char *err = NULL;
    if (!cJSON_IsString(t) || custom_type_from_string(t->valuestring) == CM_NONE)
        err = "metricType must be number, number-list, string-list or ip-address-list";
    else if (dn != NULL && (!cJSON_IsString(dn) || !display_name_ok(dn->valuestring)))
        err = "displayName must be a string of at most 128 printable characters";
    else if (!cJSON_IsString(tok) || !token_ok(tok->valuestring))
        err = "clientRequestToken is required: 1..64 characters of [a-zA-Z0-9-_]";
    else if (tags != NULL && !cJSON_IsArray(tags))
        err = "tags must be a list of {Key, Value}";
    if (err == NULL && tags != NULL)
    {
        const cJSON *tg;
        cJSON_ArrayForEach(tg, tags)
        {
            const cJSON *k = cJSON_GetObjectItemCaseSensitive(tg, "Key");
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(tg, "Value");
            if (!cJSON_IsString(k) || strlen(k->valuestring) < 1 || strlen(k->valuestring) > 128 ||
                (v != NULL && (!cJSON_IsString(v) || strlen(v->valuestring) > 256)))
            {
                err = "invalid tag";
                break;
            }
        }
    }
    if (err != NULL)
    {
        cJSON_Delete(j);
        return bad_request(c, err);
    }
    snprintf(m.type, sizeof m.type, "%s", t->valuestring);
    if (dn != NULL)
        snprintf(m.display_name, sizeof m.display_name, "%s", dn->valuestring);
    snprintf(m.token, sizeof m.token, "%s", tok->valuestring);
    m.created_ms = m.modified_ms = service_now_ms(h->svc);
    char *tags_json = tags ? cJSON_PrintUnformatted(tags) : NULL;
    cJSON_Delete(j);
    store_custom_metric existing;
    int r = h->db->ops->custom_create(h->db, &m, tags_json, &existing);
    cJSON_free(tags_json);
    char a[400];
    arn(h, a, sizeof a, "custommetric", name);
    if (r == STORE_EXISTS)
    {
        strbuf b;
        sb_init(&b, 4096);
        sb_puts(&b, "{\"message\":");
        char msg[300];
        snprintf(msg, sizeof msg, "Custom metric %s already exists", name);
        sb_json_str(&b, msg, strlen(msg));
        sb_puts(&b, ",\"resourceId\":");
        sb_json_str(&b, name, strlen(name));
        sb_puts(&b, ",\"resourceArn\":");
        sb_json_str(&b, a, strlen(a));
        sb_putc(&b, '}');
        enum MHD_Result ret = send_body(c, 409, sb_cstr(&b), "ResourceAlreadyExistsException");
        sb_free(&b);
        return ret;
    }
    if (r != STORE_OK && r != STORE_EXISTS_SAME)
        return send_error(c, 500, "InternalFailureException", "storage error");
    if (r == STORE_OK)
    {
        custom_registry_set(name, custom_type_from_string(m.type));
        log_msg(LOG_INFO, "custom metric %s (%s) created", name, m.type);
    }
    strbuf b;
    sb_init(&b, 4096);
    sb_puts(&b, "{\"metricName\":");
    sb_json_str(&b, name, strlen(name));
    sb_puts(&b, ",\"metricArn\":");
    sb_json_str(&b, a, strlen(a));
    sb_putc(&b, '}');
    enum MHD_Result ret = send_sb(c, &b);
    sb_free(&b);
    return ret;
}

static enum MHD_Result describe_custom_metric(detect_http *h, struct MHD_Connection *c,
                                              const char *name)
{
    store_custom_metric m;
    int r = h->db->ops->custom_get(h->db, name, &m);
    if (r == STORE_NOT_FOUND)
        return send_error(c, 404, "ResourceNotFoundException", "The custom metric does not exist");
    if (r != STORE_OK)
        return send_error(c, 500, "InternalFailureException", "storage error");
    strbuf b;
    sb_init(&b, 4096);
    describe_json(h, &b, &m);
    enum MHD_Result ret = send_sb(c, &b);
    sb_free(&b);
    return ret;
}

static enum MHD_Result update_custom_metric(detect_http *h, struct MHD_Connection *c,
                                            const char *name, const req_ctx *rc)
{
    cJSON *j = parse_body(rc, 1);
    if (j == NULL)
        return bad_request(c, "request body must be a JSON object");
    if (body_has_nul(rc))
    {
        cJSON_Delete(j);
        return bad_request(c, NUL_STRING_MSG);
    }
    const cJSON *dn = cJSON_GetObjectItemCaseSensitive(j, "displayName");
    if (!cJSON_IsString(dn) || !display_name_ok(dn->valuestring))
    {
        cJSON_Delete(j);
        return bad_request(c, "displayName is required: at most 128 printable characters");
    }
    char display[STORE_DISPLAY_NAME_CAP];
    snprintf(display, sizeof display, "%s", dn->valuestring);
    cJSON_Delete(j);
    int r = h->db->ops->custom_update(h->db, name, display, service_now_ms(h->svc));
    if (r == STORE_NOT_FOUND)
        return send_error(c, 404, "ResourceNotFoundException", "The custom metric does not exist");
    if (r != STORE_OK)
        return send_error(c, 500, "InternalFailureException", "storage error");
    return describe_custom_metric(h, c, name);
}

static enum MHD_Result delete_custom_metric(detect_http *h, struct MHD_Connection *c,
                                            const char *name)
{
    /* RD-34: a metric that a security profile uses is not deleted */
    pthread_rwlock_rdlock(&h->hooks_lock);
    int used = h->ext_in_use != NULL && h->ext_in_use(h->ext_ctx, name);
    pthread_rwlock_unlock(&h->hooks_lock);
    if (used)
        return bad_request(c, "The custom metric is used by a security profile");
    int r = h->db->ops->custom_delete(h->db, name, service_now_ms(h->svc));
    if (r != STORE_OK && r != STORE_NOT_FOUND)
        return send_error(c, 500, "InternalFailureException", "storage error");
    if (r == STORE_OK)
    {
        custom_registry_remove(name);
        log_msg(LOG_INFO, "custom metric %s deleted", name);
    }
    return send_body(c, 200, "{}", NULL);
}

typedef struct
{
    strbuf *b;
    int n;
    char last[129];
} cl_ctx;

static void cl_cb(void *ctx, const char *name, const char *type)
{
    (void) type;
    cl_ctx *l = ctx;
    if (l->n > 0)
        sb_putc(l->b, ',');
    sb_json_str(l->b, name, strlen(name));
    snprintf(l->last, sizeof l->last, "%s", name);
    l->n++;
}

/* Accepts exactly the tokens list_custom_metrics issues: "cm1-" and the last name listed,
 * lowercase hex; an empty name (which would restart the list) is refused. */
static int parse_cm_token(const char *tok, char *after, size_t cap)
{
    if (strncmp(tok, "cm1-", 4) != 0 || tok[4] == '\0' || hex_decode(tok + 4, after, cap) != 0 ||
        !metric_name_ok(after))
        return -1;
    char canon[300];
    hex_encode(after, canon, sizeof canon);
    return strcmp(canon, tok + 4) == 0 ? 0 : -1;
}

static enum MHD_Result list_custom_metrics(detect_http *h, struct MHD_Connection *c,
                                           const query_list *q)
{
    int limit;
    if (parse_max_results(q, 25, &limit) != 0)
        return bad_request(c, "maxResults must be 1..250");
    char tok[300], after[140] = "";
    int r = qparam(q, "nextToken", tok, sizeof tok);
    if (r < 0 || (r == 1 && parse_cm_token(tok, after, sizeof after) != 0))
        return bad_request(c, "invalid nextToken: not a token returned by ListCustomMetrics");
    strbuf b;
    sb_init(&b, 1u << 20);
    sb_puts(&b, "{\"metricNames\":[");
    cl_ctx l = {&b, 0, ""};
    int n = h->db->ops->custom_list(h->db, after, limit, cl_cb, &l);
    if (n < 0)
    {
        sb_free(&b);
        return send_error(c, 500, "InternalFailureException", "storage error");
    }
    sb_putc(&b, ']');
    if (n == limit)
    {
        /* more only if something follows the last name */
        char dummy_after[140];
        snprintf(dummy_after, sizeof dummy_after, "%s", l.last);
        strbuf probe;
        sb_init(&probe, 4096);
        cl_ctx pl = {&probe, 0, ""};
        int more = h->db->ops->custom_list(h->db, dummy_after, 1, cl_cb, &pl);
        sb_free(&probe);
        if (more > 0)
        {
            char hx[300];
            hex_encode(l.last, hx, sizeof hx);
            sb_printf(&b, ",\"nextToken\":\"cm1-%s\"", hx);
        }
    }
    sb_putc(&b, '}');
    enum MHD_Result ret = send_sb(c, &b);
    sb_free(&b);
    return ret;
}

/* ---------------------------------------------------------------------------------------------
 * Service endpoints
 * ------------------------------------------------------------------------------------------- */

static enum MHD_Result counters(detect_http *h, struct MHD_Connection *c)
{
    strbuf b;
    sb_init(&b, 1u << 16);
    sb_putc(&b, '{');
    int first = 1;
#define PUT_COUNTER(n)                                                                             \
    sb_printf(&b, "%s\"" #n "\":%llu", first ? "" : ",",                                           \
              (unsigned long long) atomic_load(&h->svc->counters.n));                              \
    first = 0;
    DETECT_COUNTERS(PUT_COUNTER)
#undef PUT_COUNTER
    sb_printf(&b, ",\"mqttConnected\":%s}", mqtt_up(h) ? "true" : "false");
    enum MHD_Result ret = send_sb(c, &b);
    sb_free(&b);
    return ret;
}

static enum MHD_Result test_hook(detect_http *h, struct MHD_Connection *c, const char *what,
                                 const query_list *q)
{
    char v[64];
    if (strcmp(what, "clock") == 0)
    {
        if (qparam(q, "nowMs", v, sizeof v) != 1)
            return bad_request(c, "nowMs required (0 = real clock)");
        long long n = strtoll(v, NULL, 10);
        if (n < 0)
            return bad_request(c, "nowMs must be >= 0");
        atomic_store(&h->svc->fake_now_ms, (int_fast64_t) n);
    }
    else if (strcmp(what, "reject") == 0)
    {
        if (qparam(q, "mode", v, sizeof v) != 1)
            return bad_request(c, "mode required");
        int m = strcmp(v, "invalid") == 0 ? 1 : strcmp(v, "throttled") == 0 ? 2 : 0;
        if (m == 0 && strcmp(v, "none") != 0)
            return bad_request(c, "mode must be none, invalid or throttled");
        atomic_store(&h->svc->reject_mode, m);
    }
    else if (strcmp(what, "drop-responses") == 0)
    {
        if (qparam(q, "count", v, sizeof v) != 1)
            return bad_request(c, "count required");
        atomic_store(&h->svc->drop_responses, atoi(v));
    }
    else if (strcmp(what, "fail-commits") == 0)
    {
        if (qparam(q, "count", v, sizeof v) != 1)
            return bad_request(c, "count required");
        atomic_store(&h->svc->fail_commits, atoi(v));
    }
    else if (strcmp(what, "response-delay") == 0)
    {
        if (qparam(q, "ms", v, sizeof v) != 1)
            return bad_request(c, "ms required");
        atomic_store(&h->svc->response_delay_ms, atoi(v));
    }
    else
    {
        return send_error(c, 404, "ResourceNotFoundException", "unknown test hook");
    }
    log_msg(LOG_INFO, "test hook %s applied", what);
    return send_body(c, 200, "{}", NULL);
}

/* ---------------------------------------------------------------------------------------------
 * Dispatch
 * ------------------------------------------------------------------------------------------- */

typedef struct
{
    struct MHD_Connection *c;
} hdr_ctx;

typedef struct
{
    const char *name;
    size_t skip; /* occurrences still to pass over */
    const char *found;
} hdr_find;

static enum MHD_Result find_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    (void) kind;
    hdr_find *f = cls;
    if (strcasecmp(key, f->name) != 0)
        return MHD_YES;
    if (f->skip > 0)
    {
        f->skip--;
        return MHD_YES;
    }
    f->found = value != NULL ? value : "";
    return MHD_NO;
}

/* The index-th occurrence of a header (libmicrohttpd keeps them all, in the order sent). */
static const char *get_header(void *ctx, const char *name, size_t index)
{
    hdr_ctx *hc = ctx;
    hdr_find f = {name, index, NULL};
    MHD_get_connection_values(hc->c, MHD_HEADER_KIND, find_header, &f);
    return f.found;
}

static const char *secret_for(void *ctx, const char *akid)
{
    detect_http *h = ctx;
    for (size_t i = 0; i < h->ncreds; i++)
        if (strcmp(h->creds[i].akid, akid) == 0)
            return h->creds[i].secret;
    return NULL;
}

static enum MHD_Result dispatch(detect_http *h, struct MHD_Connection *c, const char *url,
                                const char *method, req_ctx *rc)
{
    if (rc->too_large)
        return send_error(c, 413, "InvalidRequestException", "request body too large");
    query_list q;
    memset(&q, 0, sizeof q);
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect_query, &q);
    if (q.overflow)
        return bad_request(c, "too many query parameters");
    char path[512];
    if (pct_decode(url, path, sizeof path) != 0)
        return bad_request(c, "malformed path");
    /* SigV4 signs the path normalised (//a and /b/../a as /a) while the API reads it as sent:
     * only a path that is its own normal form has one meaning for both. None of the API's
     * names can be empty, "." or "..", so no request of the AWS CLI or SDKs is refused. */
    if (!sigv4_path_is_normal(url))
        return bad_request(c, "malformed path: empty, '.' or '..' segment");
    if (strcmp(path, "/service/health") == 0)
        return send_body(c, 200,
                         mqtt_up(h) ? "{\"status\":\"ok\",\"mqttConnected\":true}"
                                    : "{\"status\":\"ok\",\"mqttConnected\":false}",
                         NULL);
    /* retryable for the AWS SDKs and CLI: the API is not complete yet */
    if (!atomic_load(&h->ready))
        return send_error(c, 503, "ServiceUnavailableException", "the service is starting");
    static const char th[] = "/_test/";
    if (h->svc->cfg.test_hooks && strncmp(path, th, sizeof th - 1) == 0 &&
        strcmp(method, "POST") == 0)
        return test_hook(h, c, path + sizeof th - 1, &q); /* test-only, never signed */
    if (h->ncreds > 0)
    {
        hdr_ctx hc = {c};
        char why[200];
        int r =
            sigv4_verify(method, url, q.kv, q.n, get_header, &hc, (const uint8_t *) rc->body.data,
                         rc->body.len, secret_for, h, time(NULL), why, sizeof why);
        if (r != SIGV4_OK)
        {
            log_msg(LOG_INFO, "refused %s %s: %s", method, path, why);
            /* Status and error name as AWS answers them:
             * - no Authorization header: 403 MissingAuthenticationTokenException;
             * - a header that is not SigV4 (e.g. "Bearer x"), lacks Credential, Signature or
             *   SignedHeaders, or comes without a usable X-Amz-Date: 400
             *   IncompleteSignatureException, "The request signature does not conform to AWS
             *   standards" in AWS's common-errors reference (IncompleteSignature, HTTP 400), as
             *   JSON services such as DynamoDB answer. API Gateway and some newer API
             *   references say 403 for it; we follow the long-standing common-errors table;
             * - an unknown access key id: 403 UnrecognizedClientException;
             * - a wrong signature, a wrong scope date, or an X-Amz-Date more than 15 minutes
             *   from the service clock ("Signature expired: ..."): 403
             *   InvalidSignatureException, as REST-JSON services answer (AWS's Query-protocol
             *   services name the last one RequestExpired instead). */
            unsigned status = r == SIGV4_MALFORMED ? 400 : 403;
            const char *type = r == SIGV4_MISSING       ? "MissingAuthenticationTokenException"
                               : r == SIGV4_UNKNOWN_KEY ? "UnrecognizedClientException"
                               : r == SIGV4_MALFORMED   ? "IncompleteSignatureException"
                                                        : "InvalidSignatureException";
            return send_error(c, status, type, why);
        }
    }
    int get = strcmp(method, "GET") == 0;
    if (strcmp(path, "/metric-values") == 0 && get)
        return list_metric_values(h, c, &q);
    if (strcmp(path, "/custom-metrics") == 0 && get)
        return list_custom_metrics(h, c, &q);
    static const char cm[] = "/custom-metric/";
    if (strncmp(path, cm, sizeof cm - 1) == 0)
    {
        const char *name = path + sizeof cm - 1;
        if (!custom_metric_name_valid(name, strlen(name)))
            return bad_request(c, "metricName must be 1..128 characters of [a-zA-Z0-9:_-] and "
                                  "must not begin with aws:");
        if (strcmp(method, "POST") == 0)
            return create_custom_metric(h, c, name, rc);
        if (get)
            return describe_custom_metric(h, c, name);
        if (strcmp(method, "PATCH") == 0)
            return update_custom_metric(h, c, name, rc);
        if (strcmp(method, "DELETE") == 0)
            return delete_custom_metric(h, c, name);
        return send_error(c, 405, "InvalidRequestException", "method not allowed");
    }
    if (strcmp(path, "/service/counters") == 0 && get)
        return counters(h, c);
    pthread_rwlock_rdlock(&h->hooks_lock);
    if (h->ext != NULL)
    {
        strbuf qs;
        sb_init(&qs, 16384);
        for (size_t i = 0; i < q.n; i++)
        {
            if (i > 0)
                sb_putc(&qs, '&');
            sb_puts(&qs, q.kv[i].key);
            if (q.kv[i].value != NULL)
            {
                sb_putc(&qs, '=');
                sb_puts(&qs, q.kv[i].value);
            }
        }
        int status = 0;
        char *resp = NULL;
        const char *etype = NULL;
        int handled = !qs.oom && h->ext(h->ext_ctx, method, path, q.n ? sb_cstr(&qs) : NULL,
                                        rc->body.data, rc->body.len, &status, &resp, &etype);
        sb_free(&qs);
        if (handled)
        {
            enum MHD_Result r = send_body(c, status > 0 ? (unsigned) status : 500,
                                          resp != NULL ? resp : "{}", etype);
            if (resp != NULL)
                (h->ext_free ? h->ext_free : free)(resp);
            pthread_rwlock_unlock(&h->hooks_lock);
            return r;
        }
    }
    pthread_rwlock_unlock(&h->hooks_lock);
    return send_error(c, 404, "UnknownOperationException", "unknown operation");
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    (void) version;
    detect_http *h = cls;
    req_ctx *rc = *con_cls;
    if (rc == NULL)
    {
        rc = calloc(1, sizeof *rc);
        if (rc == NULL)
            return MHD_NO;
        sb_init(&rc->body, MAX_BODY);
        *con_cls = rc;
        return MHD_YES;
    }
    if (*upload_size > 0)
    {
        if (!rc->too_large && !sb_append(&rc->body, upload, *upload_size))
            rc->too_large = 1;
        *upload_size = 0;
        return MHD_YES;
    }
    return dispatch(h, c, url, method, rc);
}

static void on_complete(void *cls, struct MHD_Connection *c, void **con_cls,
                        enum MHD_RequestTerminationCode toe)
{
    (void) cls;
    (void) c;
    (void) toe;
    req_ctx *rc = *con_cls;
    if (rc != NULL)
    {
        sb_free(&rc->body);
        free(rc);
        *con_cls = NULL;
    }
}

/* Keeps the raw (percent-encoded) form: SigV4 needs it; the API decodes itself. */
static size_t keep_raw(void *cls, struct MHD_Connection *c, char *s)
{
    (void) cls;
    (void) c;
    return strlen(s);
}

static void load_custom_cb(void *ctx, const char *name, const char *type)
{
    (void) ctx;
    custom_registry_set(name, custom_type_from_string(type));
}

detect_http *http_start(detect_service *svc, int (*mqtt_connected)(void *), void *mqtt_ctx,
                        char *err, size_t errsz)
{
    detect_http *h = calloc(1, sizeof *h);
    if (h == NULL)
    {
        snprintf(err, errsz, "out of memory");
        return NULL;
    }
    h->svc = svc;
    h->mqtt_connected = mqtt_connected;
    h->mqtt_ctx = mqtt_ctx;
    if (pthread_rwlock_init(&h->hooks_lock, NULL) != 0)
    {
        snprintf(err, errsz, "cannot create a lock");
        free(h);
        return NULL;
    }
    if (svc->cfg.credentials[0] &&
        credentials_load(svc->cfg.credentials, &h->creds, &h->ncreds, err, errsz) != 0)
    {
        free(h);
        return NULL;
    }
    h->db = store_sqlite_open(svc->cfg.db_path, 0, svc->cfg.sync_normal, err, errsz);
    if (h->db == NULL)
    {
        credentials_free(h->creds, h->ncreds);
        free(h);
        return NULL;
    }
    /* custom-metric definitions for the validator (PD-13) */
    char after[140] = "";
    for (;;)
    {
        cl_ctx l;
        strbuf tmp;
        sb_init(&tmp, 1u << 20);
        l.b = &tmp;
        l.n = 0;
        l.last[0] = '\0';
        int n = h->db->ops->custom_list(h->db, after, 200, cl_cb, &l);
        sb_free(&tmp);
        if (n <= 0)
            break;
        /* second pass to get types */
        h->db->ops->custom_list(h->db, after, 200, load_custom_cb, NULL);
        snprintf(after, sizeof after, "%s", l.last);
        if (n < 200)
            break;
    }
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    socklen_t sl;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
    struct sockaddr_in *s4 = (struct sockaddr_in *) &ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *) &ss;
    if (inet_pton(AF_INET, svc->cfg.http_addr, &s4->sin_addr) == 1)
    {
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t) svc->cfg.http_port);
        sl = sizeof *s4;
    }
    else if (inet_pton(AF_INET6, svc->cfg.http_addr, &s6->sin6_addr) == 1)
    {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t) svc->cfg.http_port);
        sl = sizeof *s6;
        flags |= MHD_USE_IPv6;
    }
    else
    {
        snprintf(err, errsz, "--http needs a numeric address (got %s)", svc->cfg.http_addr);
        h->db->ops->close(h->db);
        credentials_free(h->creds, h->ncreds);
        free(h);
        return NULL;
    }
    (void) sl;
    h->d = MHD_start_daemon(
        flags, (uint16_t) svc->cfg.http_port, NULL, NULL, on_request, h, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *) &ss, MHD_OPTION_NOTIFY_COMPLETED, on_complete, h,
        MHD_OPTION_UNESCAPE_CALLBACK, keep_raw, h, MHD_OPTION_CONNECTION_LIMIT, (unsigned) 256,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned) 30, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t) 128 * 1024, MHD_OPTION_END);
    if (h->d == NULL)
    {
        snprintf(err, errsz, "cannot listen on %s:%d", svc->cfg.http_addr, svc->cfg.http_port);
        h->db->ops->close(h->db);
        credentials_free(h->creds, h->ncreds);
        free(h);
        return NULL;
    }
    log_msg(LOG_INFO, "HTTP API on %s:%d%s", svc->cfg.http_addr, svc->cfg.http_port,
            h->ncreds ? " (SigV4 verified)" : "");
    return h;
}

void http_set_mqtt(detect_http *h, int (*mqtt_connected)(void *), void *mqtt_ctx)
{
    /* once this returns, no request is inside the previous callback */
    pthread_rwlock_wrlock(&h->hooks_lock);
    h->mqtt_ctx = mqtt_ctx;
    h->mqtt_connected = mqtt_connected;
    pthread_rwlock_unlock(&h->hooks_lock);
}

void http_set_extension(detect_http *h, detect_http_ext_fn handle, void (*free_fn)(void *),
                        int (*metric_in_use)(void *ctx, const char *metric), void *ctx)
{
    pthread_rwlock_wrlock(&h->hooks_lock);
    h->ext_ctx = ctx;
    h->ext_free = free_fn;
    h->ext_in_use = metric_in_use;
    h->ext = handle;
    pthread_rwlock_unlock(&h->hooks_lock);
}

void http_set_ready(detect_http *h)
{
    atomic_store(&h->ready, 1);
}

void http_stop(detect_http *h)
{
    if (h == NULL)
        return;
    MHD_stop_daemon(h->d);
    pthread_rwlock_destroy(&h->hooks_lock);
    h->db->ops->close(h->db);
    credentials_free(h->creds, h->ncreds);
    free(h);
}
