/* Metric catalog (3.4), behavior validation (3.5) and compilation, CIDR handling (RD-20). */
#include "rules_internal.h"

#include <arpa/inet.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const metric_info g_catalog[] = {
    {"aws:all-bytes-in", MK_TRAFFIC, 0, 1, 1, 0},
    {"aws:all-bytes-out", MK_TRAFFIC, 0, 1, 1, 1},
    {"aws:all-packets-in", MK_TRAFFIC, 0, 1, 1, 2},
    {"aws:all-packets-out", MK_TRAFFIC, 0, 1, 1, 3},
    {"aws:num-listening-tcp-ports", MK_GAUGE, 0, 1, 1, 4},
    {"aws:num-listening-udp-ports", MK_GAUGE, 0, 1, 1, 5},
    {"aws:num-established-tcp-connections", MK_GAUGE, 0, 1, 1, 6},
    {"aws:listening-tcp-ports", MK_PORTS, 0, 0, 0, 7},
    {"aws:listening-udp-ports", MK_PORTS, 0, 0, 0, 8},
    {"aws:destination-ip-addresses", MK_IPS, 0, 0, 0, 9},
    {"aws:message-byte-size", MK_CLOUD_NUM, 1, 1, 1, -1},
    {"aws:num-messages-sent", MK_CLOUD_NUM, 1, 1, 1, -1},
    {"aws:num-messages-received", MK_CLOUD_NUM, 1, 1, 1, -1},
    {"aws:num-authorization-failures", MK_CLOUD_NUM, 1, 1, 1, -1},
    {"aws:source-ip-address", MK_CLOUD_IPS, 1, 0, 0, -1},
    {"aws:num-connection-attempts", MK_CLOUD_NUM, 0, 1, 1, -1},
    {"aws:num-disconnects", MK_CLOUD_NUM, 0, 1, 1, -1},
};

const metric_info *rules_metric_lookup(const char *name,
                                       cm_type (*ct)(void *, const char *, size_t), void *ctx,
                                       metric_info *custom_out)
{
    for (size_t i = 0; i < sizeof g_catalog / sizeof g_catalog[0]; i++)
        if (strcmp(g_catalog[i].name, name) == 0)
            return &g_catalog[i];
    if (strncmp(name, "aws:", 4) == 0 || ct == NULL)
        return NULL;
    size_t n = strlen(name);
    if (!rules_name_ok(name, 1, RULES_NAME_MAX))
        return NULL;
    cm_type t = ct(ctx, name, n);
    metric_info m = {NULL, MK_NUMBER, 0, 0, 0, -1};
    switch (t)
    {
        case CM_NUMBER:
            m.kind = MK_NUMBER;
            m.dur_ok = 1;
            m.stat_ok = 1;
            break;
        case CM_NUMBER_LIST:
            m.kind = MK_NUMBERS;
            break;
        case CM_STRING_LIST:
            m.kind = MK_STRINGS;
            break;
        case CM_IP_LIST:
            m.kind = MK_IPS;
            break;
        default:
            return NULL;
    }
    *custom_out = m;
    return custom_out;
}

int rules_name_ok(const char *s, size_t minlen, size_t maxlen)
{
    size_t n = strlen(s);
    if (n < minlen || n > maxlen)
        return 0;
    for (size_t i = 0; i < n; i++)
    {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == ':' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

static const char *const g_ops[] = {
    NULL,          "less-than",       "less-than-equals", "greater-than",    "greater-than-equals",
    "in-cidr-set", "not-in-cidr-set", "in-port-set",      "not-in-port-set", "in-set",
    "not-in-set"};

const char *rules_op_name(rules_op op)
{
    return g_ops[op];
}

static rules_op op_parse(const char *s)
{
    for (int i = 1; i <= (int) OP_NOT_IN_SET; i++)
        if (strcmp(g_ops[i], s) == 0)
            return (rules_op) i;
    return (rules_op) 0;
}

static int op_valid(metric_kind k, rules_op op)
{
    switch (k)
    {
        case MK_TRAFFIC:
        case MK_GAUGE:
        case MK_NUMBER:
        case MK_CLOUD_NUM:
            return op >= OP_LT && op <= OP_GE;
        case MK_PORTS:
            return op == OP_IN_PORT || op == OP_NOT_IN_PORT;
        case MK_IPS:
        case MK_CLOUD_IPS:
            return op == OP_IN_CIDR || op == OP_NOT_IN_CIDR;
        case MK_NUMBERS:
        case MK_STRINGS:
            return op == OP_IN_SET || op == OP_NOT_IN_SET;
    }
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Addresses and CIDRs (RD-20)
 * ------------------------------------------------------------------------------------------- */

int rules_parse_addr(const char *s, size_t len, int *family, uint8_t addr[16])
{
    char buf[64];
    if (len == 0 || len >= sizeof buf)
        return 0;
    memcpy(buf, s, len);
    buf[len] = '\0';
    memset(addr, 0, 16);
    if (inet_pton(AF_INET, buf, addr) == 1)
    {
        *family = 4;
        return 1;
    }
    if (inet_pton(AF_INET6, buf, addr) == 1)
    {
        static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (memcmp(addr, mapped, 12) == 0)
        {
            memmove(addr, addr + 12, 4);
            memset(addr + 4, 0, 12);
            *family = 4;
            return 1;
        }
        *family = 6;
        return 1;
    }
    return 0;
}

static void cidr_words(rules_cidr *c);

int rules_parse_cidr(const char *s, rules_cidr *out)
{
    size_t n = strlen(s);
    if (n < 2 || n > 43)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!strchr("0123456789abcdefABCDEF:./", s[i]))
            return 0;
    const char *slash = strchr(s, '/');
    size_t alen = slash ? (size_t) (slash - s) : n;
    if (!rules_parse_addr(s, alen, &out->family, out->addr))
        return 0;
    int maxp = out->family == 4 ? 32 : 128;
    int mapped_shift = 0;
    if (out->family == 4 && memchr(s, ':', alen) != NULL)
        mapped_shift = 96; /* ::ffff:a.b.c.d/n */
    if (slash == NULL)
    {
        out->prefix = maxp;
        cidr_words(out);
        return 1;
    }
    const char *p = slash + 1;
    if (*p == '\0' || strlen(p) > 3)
        return 0;
    int v = 0;
    for (; *p; p++)
    {
        if (*p < '0' || *p > '9')
            return 0;
        v = v * 10 + (*p - '0');
    }
    v -= mapped_shift;
    if (v < 0 || v > maxp)
        return 0;
    out->prefix = v;
    cidr_words(out);
    return 1;
}

void rules_addr_words(const uint8_t addr[16], uint64_t w[2])
{
    w[0] = w[1] = 0;
    for (int i = 0; i < 8; i++)
    {
        w[0] = (w[0] << 8) | addr[i];
        w[1] = (w[1] << 8) | addr[8 + i];
    }
}

static void cidr_words(rules_cidr *c)
{
    int p = c->prefix;
    c->mask[0] = p <= 0 ? 0 : p >= 64 ? ~0ull : ~0ull << (64 - p);
    c->mask[1] = p <= 64 ? 0 : p >= 128 ? ~0ull : ~0ull << (128 - p);
    uint64_t w[2];
    rules_addr_words(c->addr, w);
    c->pfx[0] = w[0] & c->mask[0];
    c->pfx[1] = w[1] & c->mask[1];
}

int rules_cidr_match(const rules_cidr *c, int family, const uint8_t addr[16])
{
    if (c->family != family)
        return 0;
    int full = c->prefix / 8, rem = c->prefix % 8;
    if (memcmp(c->addr, addr, (size_t) full) != 0)
        return 0;
    if (rem == 0)
        return 1;
    uint8_t mask = (uint8_t) (0xFFu << (8 - rem));
    return (c->addr[full] & mask) == (addr[full] & mask);
}

/* ---------------------------------------------------------------------------------------------
 * Errors
 * ------------------------------------------------------------------------------------------- */

void rules_errs_add(rules_errs *e, const char *fmt, ...)
{
    e->total++;
    if (e->n >= RULES_MAX_ERRORS)
        return;
    char **nv = realloc(e->v, (e->n + 1) * sizeof *nv);
    if (nv == NULL)
        return;
    e->v = nv;
    char *m = malloc(RULES_ERRMSG_MAX + 1);
    if (m == NULL)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m, RULES_ERRMSG_MAX + 1, fmt, ap);
    va_end(ap);
    e->v[e->n++] = m;
}

void rules_errs_free(rules_errs *e)
{
    for (size_t i = 0; i < e->n; i++)
        free(e->v[i]);
    free(e->v);
    e->v = NULL;
    e->n = e->total = 0;
}

/* ---------------------------------------------------------------------------------------------
 * Behaviors
 * ------------------------------------------------------------------------------------------- */

static const struct
{
    const char *s;
    int q;
} g_stats[] = {{"p0", 0},       {"p0.1", 10},     {"p0.01", 1},   {"p1", 100},
               {"p10", 1000},   {"p50", 5000},    {"p90", 9000},  {"p99", 9900},
               {"p99.9", 9990}, {"p99.99", 9999}, {"p100", 10000}};

static const char *custom_type_name(metric_kind k)
{
    switch (k)
    {
        case MK_NUMBER:
            return "number";
        case MK_NUMBERS:
            return "number-list";
        case MK_STRINGS:
            return "string-list";
        default:
            return "ip-address-list";
    }
}

static const char *value_field_for(metric_kind k)
{
    switch (k)
    {
        case MK_TRAFFIC:
        case MK_GAUGE:
        case MK_CLOUD_NUM:
            return "count";
        case MK_NUMBER:
            return "number";
        case MK_PORTS:
            return "ports";
        case MK_IPS:
        case MK_CLOUD_IPS:
            return "cidrs";
        case MK_NUMBERS:
            return "numbers";
        case MK_STRINGS:
            return "strings";
    }
    return "count";
}

/* count: integer >= 0, JSON number or decimal string (RD-2). 1 ok, 0 negative, -1 invalid. */
static int parse_count(const cJSON *c, uint64_t *out)
{
    if (cJSON_IsNumber(c))
    {
        double d = c->valuedouble;
        if (d < 0)
            return 0;
        if (!(d == floor(d)) || d > 9223372036854775807.0)
            return -1;
        *out = (uint64_t) d;
        return 1;
    }
    if (cJSON_IsString(c))
    {
        const char *s = c->valuestring;
        if (s[0] == '-')
            return 0;
        if (s[0] == '\0' || strlen(s) > 19)
            return -1;
        uint64_t v = 0;
        for (const char *p = s; *p; p++)
        {
            if (*p < '0' || *p > '9')
                return -1;
            v = v * 10 + (uint64_t) (*p - '0');
        }
        if (v > 9223372036854775807ull)
            return -1;
        *out = v;
        return 1;
    }
    return -1;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return x < y ? -1 : x > y ? 1 : 0;
}

static int cmp_rstr(const void *a, const void *b)
{
    const rules_str *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->s, y->s, n);
    if (c != 0)
        return c;
    return x->len < y->len ? -1 : x->len > y->len ? 1 : 0;
}

static int is_int_in(const cJSON *j, double lo, double hi, int *out)
{
    if (!cJSON_IsNumber(j))
        return 0;
    double d = j->valuedouble;
    if (d != floor(d) || d < lo || d > hi)
        return 0;
    *out = (int) d;
    return 1;
}

/* Copies the known keys of src (in their order) into a new object. */
static cJSON *copy_known(const cJSON *src, const char *const *keys)
{
    cJSON *o = cJSON_CreateObject();
    if (o == NULL)
        return NULL;
    const cJSON *it;
    cJSON_ArrayForEach(it, src)
    {
        for (size_t k = 0; keys[k]; k++)
            if (it->string && strcmp(it->string, keys[k]) == 0)
            {
                cJSON *d = cJSON_Duplicate(it, 1);
                if (d == NULL || !cJSON_AddItemToObject(o, keys[k], d))
                {
                    cJSON_Delete(d);
                    cJSON_Delete(o);
                    return NULL;
                }
                break;
            }
    }
    return o;
}

static const char *const k_beh[] = {
    "name", "metric", "metricDimension", "criteria", "suppressAlerts", "exportMetric", NULL};
static const char *const k_crit[] = {"comparisonOperator",
                                     "value",
                                     "durationSeconds",
                                     "consecutiveDatapointsToAlarm",
                                     "consecutiveDatapointsToClear",
                                     "statisticalThreshold",
                                     "mlDetectionConfig",
                                     NULL};
static const char *const k_val[] = {"count",   "cidrs",   "ports", "number",
                                    "numbers", "strings", NULL};

/* Stored form: known keys only, count strings normalised to numbers. */
static cJSON *clean_behavior(const cJSON *b, uint64_t count, int has_count)
{
    cJSON *o = copy_known(b, k_beh);
    if (o == NULL)
        return NULL;
    cJSON *cr = cJSON_GetObjectItemCaseSensitive(o, "criteria");
    if (cr != NULL)
    {
        cJSON *nc = copy_known(cr, k_crit);
        if (nc == NULL || !cJSON_ReplaceItemInObjectCaseSensitive(o, "criteria", nc))
        {
            cJSON_Delete(nc);
            cJSON_Delete(o);
            return NULL;
        }
        cJSON *v = cJSON_GetObjectItemCaseSensitive(nc, "value");
        if (v != NULL)
        {
            cJSON *nv = copy_known(v, k_val);
            if (nv == NULL || !cJSON_ReplaceItemInObjectCaseSensitive(nc, "value", nv))
            {
                cJSON_Delete(nv);
                cJSON_Delete(o);
                return NULL;
            }
            cJSON *c = cJSON_GetObjectItemCaseSensitive(nv, "count");
            if (c != NULL && has_count && cJSON_IsString(c))
            {
                cJSON *num = cJSON_CreateNumber((double) count);
                if (num == NULL || !cJSON_ReplaceItemInObjectCaseSensitive(nv, "count", num))
                {
                    cJSON_Delete(num);
                    cJSON_Delete(o);
                    return NULL;
                }
            }
        }
    }
    return o;
}

#define BERR(...)                                                                                  \
    do                                                                                             \
    {                                                                                              \
        char d_[RULES_ERRMSG_MAX];                                                                 \
        snprintf(d_, sizeof d_, __VA_ARGS__);                                                      \
        rules_errs_add(errs, "Behavior %s is malformed. %s", label, d_);                           \
        bad = 1;                                                                                   \
    } while (0)

static int value_fields_ok(const cJSON *val, metric_kind k)
{
    const char *want = value_field_for(k);
    int n = 0, okf = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, val)
    {
        n++;
        if (it->string == NULL)
            return 0;
        if (strcmp(it->string, want) == 0 || (k == MK_NUMBER && strcmp(it->string, "count") == 0))
            okf++;
    }
    return n == 1 && okf == 1;
}

/* Validates one behavior; fills r when valid. Returns 1 when valid. */
static int compile_one(const cJSON *b, size_t idx, const rules_vctx *v, rules_errs *errs,
                       rules_beh *r, size_t *elements)
{
    char label[RULES_NAME_MAX + 40];
    int bad = 0;
    memset(r, 0, sizeof *r);
    r->stat_q = -1;
    r->alarm_n = r->clear_n = 1;
    r->slot = -1;
    if (!cJSON_IsObject(b))
    {
        snprintf(label, sizeof label, "#%zu", idx + 1);
        BERR("a behavior must be a JSON object");
        return 0;
    }
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(b, "name");
    if (cJSON_IsString(name) && rules_name_ok(name->valuestring, 1, RULES_NAME_MAX))
    {
        snprintf(label, sizeof label, "%s", name->valuestring);
        snprintf(r->name, sizeof r->name, "%s", name->valuestring);
    }
    else
    {
        snprintf(label, sizeof label, "#%zu", idx + 1);
        if (name == NULL)
            BERR("name is required");
        else
            BERR("name must be 1..128 characters of [a-zA-Z0-9:_-]");
    }
    const cJSON *sup = cJSON_GetObjectItemCaseSensitive(b, "suppressAlerts");
    if (sup != NULL && !cJSON_IsBool(sup))
        BERR("suppressAlerts must be a boolean");
    r->suppress = cJSON_IsTrue(sup);
    const cJSON *exp = cJSON_GetObjectItemCaseSensitive(b, "exportMetric");
    if (exp != NULL && !cJSON_IsBool(exp))
        BERR("exportMetric must be a boolean");

    const cJSON *metric = cJSON_GetObjectItemCaseSensitive(b, "metric");
    const cJSON *crit = cJSON_GetObjectItemCaseSensitive(b, "criteria");
    const cJSON *dim = cJSON_GetObjectItemCaseSensitive(b, "metricDimension");
    metric_info custom;
    const metric_info *mi = NULL;
    if (metric == NULL)
    {
        BERR("metric is required");
        return 0;
    }
    if (!cJSON_IsString(metric) || strlen(metric->valuestring) > RULES_NAME_MAX)
    {
        BERR("metric must be a string of at most 128 characters");
        return 0;
    }
    mi = rules_metric_lookup(metric->valuestring, v->custom_type, v->custom_ctx, &custom);
    if (mi == NULL)
    {
        BERR("unknown metric %s", metric->valuestring);
        return 0;
    }
    snprintf(r->metric, sizeof r->metric, "%s", metric->valuestring);
    r->kind = mi->kind;
    r->slot = mi->slot;
    r->evaluable = mi->kind != MK_CLOUD_NUM && mi->kind != MK_CLOUD_IPS;
    int is_custom = mi->name == NULL;
    if (dim != NULL)
    {
        if (!mi->dim_ok)
            BERR("metricDimension not supported for metric %s", r->metric);
        else if (!cJSON_IsObject(dim))
            BERR("metricDimension must be an object");
        else
        {
            const cJSON *dn = cJSON_GetObjectItemCaseSensitive(dim, "dimensionName");
            const cJSON *dop = cJSON_GetObjectItemCaseSensitive(dim, "operator");
            if (!cJSON_IsString(dn) || !rules_name_ok(dn->valuestring, 1, RULES_NAME_MAX))
                BERR("metricDimension.dimensionName is required");
            else if (v->dim_exists != NULL && !v->dim_exists(v->dim_ctx, dn->valuestring))
                BERR("dimension %s does not exist", dn->valuestring);
            if (dop != NULL && (!cJSON_IsString(dop) || (strcmp(dop->valuestring, "IN") != 0 &&
                                                         strcmp(dop->valuestring, "NOT_IN") != 0)))
                BERR("metricDimension.operator must be IN or NOT_IN");
        }
    }
    if (crit == NULL)
    {
        BERR("criteria is required");
        return 0;
    }
    if (!cJSON_IsObject(crit))
    {
        BERR("criteria must be an object");
        return 0;
    }
    if (cJSON_GetObjectItemCaseSensitive(crit, "mlDetectionConfig") != NULL)
    {
        BERR("mlDetectionConfig (ML Detect) is not supported");
        return 0;
    }
    const cJSON *opj = cJSON_GetObjectItemCaseSensitive(crit, "comparisonOperator");
    const cJSON *val = cJSON_GetObjectItemCaseSensitive(crit, "value");
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(crit, "statisticalThreshold");
    const cJSON *dur = cJSON_GetObjectItemCaseSensitive(crit, "durationSeconds");
    const cJSON *ca = cJSON_GetObjectItemCaseSensitive(crit, "consecutiveDatapointsToAlarm");
    const cJSON *cc = cJSON_GetObjectItemCaseSensitive(crit, "consecutiveDatapointsToClear");
    int op_ok = 0;
    if (opj == NULL)
        BERR("comparisonOperator is required");
    else if (!cJSON_IsString(opj) || op_parse(opj->valuestring) == 0)
        BERR("comparisonOperator %.100s is not valid",
             cJSON_IsString(opj) ? opj->valuestring : "(not a string)");
    else
    {
        r->op = op_parse(opj->valuestring);
        if (!op_valid(mi->kind, r->op))
        {
            if (is_custom)
                BERR("operator %s not valid for metric type %s", opj->valuestring,
                     custom_type_name(mi->kind));
            else
                BERR("operator %s not valid for metric %s", opj->valuestring, r->metric);
        }
        else
            op_ok = 1;
    }
    if ((val == NULL) == (st == NULL))
    {
        BERR("exactly one of value, statisticalThreshold required");
        op_ok = 0;
    }
    if (dur != NULL)
    {
        int d = 0;
        if (!mi->dur_ok)
            BERR("durationSeconds not allowed for list-based metric");
        else if (!is_int_in(dur, 0, 1e9, &d) ||
                 (d != 300 && d != 600 && d != 900 && d != 1800 && d != 3600))
        {
            if (cJSON_IsNumber(dur))
            {
                char num[40];
                rules_fmt_double(num, sizeof num, dur->valuedouble);
                BERR("durationSeconds %s not one of 300, 600, 900, 1800, 3600", num);
            }
            else
                BERR("durationSeconds must be one of 300, 600, 900, 1800, 3600");
        }
        else
            r->duration = d;
    }
    const cJSON *cnts[2] = {ca, cc};
    const char *cnames[2] = {"consecutiveDatapointsToAlarm", "consecutiveDatapointsToClear"};
    for (int i = 0; i < 2; i++)
    {
        if (cnts[i] == NULL)
            continue;
        int n = 0;
        if (!is_int_in(cnts[i], 1, 10, &n))
        {
            /* AWS's text for an integer out of range; a fraction is not an integer at all */
            if (cJSON_IsNumber(cnts[i]) && cnts[i]->valuedouble == floor(cnts[i]->valuedouble))
            {
                char num[40];
                rules_fmt_double(num, sizeof num, cnts[i]->valuedouble);
                BERR("%s %s should be in range[1,10]", cnames[i], num);
            }
            else
                BERR("%s must be an integer in range[1,10]", cnames[i]);
        }
        else if (i == 0)
            r->alarm_n = n;
        else
            r->clear_n = n;
    }
    if (st != NULL && val == NULL)
    {
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(st, "statistic");
        if (!mi->stat_ok)
            BERR("statisticalThreshold not valid for metric %s", r->metric);
        else if (!cJSON_IsObject(st) || !cJSON_IsString(s))
            BERR("statisticalThreshold.statistic is required");
        else
        {
            for (size_t i = 0; i < sizeof g_stats / sizeof g_stats[0]; i++)
                if (strcmp(g_stats[i].s, s->valuestring) == 0)
                    r->stat_q = g_stats[i].q;
            if (r->stat_q < 0)
                BERR("statistic %.100s not supported", s->valuestring);
            else if (dur == NULL)
                BERR("durationSeconds required with statisticalThreshold");
        }
    }
    if (val != NULL && st == NULL && op_ok)
    {
        if (!cJSON_IsObject(val) || !value_fields_ok(val, mi->kind))
        {
            if (mi->kind == MK_NUMBER)
                BERR("value must carry exactly one of number, count for metric %s", r->metric);
            else
                BERR("value must carry exactly the field %s for metric %s",
                     value_field_for(mi->kind), r->metric);
        }
        else
        {
            r->has_value = 1;
            const cJSON *f = val->child;
            if (strcmp(f->string, "count") == 0)
            {
                int pc = parse_count(f, &r->count);
                if (pc == 0)
                    BERR("count must be >= 0");
                else if (pc < 0)
                    BERR("count must be a non-negative integer (number or decimal string)");
                r->value_is_count = 1;
                r->number = (double) r->count;
                *elements += 1;
            }
            else if (strcmp(f->string, "number") == 0)
            {
                if (!cJSON_IsNumber(f) || !isfinite(f->valuedouble))
                    BERR("number must be a number");
                r->number = f->valuedouble;
                *elements += 1;
            }
            else if (!cJSON_IsArray(f))
                BERR("%s must be a list", f->string);
            else
            {
                int n = cJSON_GetArraySize(f);
                *elements += (size_t) n;
                const cJSON *e;
                if (mi->kind == MK_PORTS)
                {
                    r->portmap = calloc(8192, 1);
                    if (r->portmap == NULL)
                        BERR("out of memory");
                    cJSON_ArrayForEach(e, f)
                    {
                        int p = 0;
                        if (is_int_in(e, 0, 65535, &p))
                        {
                            if (r->portmap)
                                r->portmap[p >> 3] |= (uint8_t) (1u << (p & 7));
                        }
                        else if (cJSON_IsNumber(e) && e->valuedouble == floor(e->valuedouble))
                        {
                            char num[40];
                            rules_fmt_double(num, sizeof num, e->valuedouble);
                            BERR("port %s out of range [0,65535]", num);
                        }
                        else
                            BERR("ports must be integers");
                    }
                }
                else if (mi->kind == MK_IPS || mi->kind == MK_CLOUD_IPS)
                {
                    r->cidrs = calloc((size_t) n + 1, sizeof *r->cidrs);
                    cJSON_ArrayForEach(e, f)
                    {
                        rules_cidr c;
                        if (!cJSON_IsString(e))
                            BERR("cidrs must be strings");
                        else if (!rules_parse_cidr(e->valuestring, &c))
                            BERR("invalid CIDR %.60s", e->valuestring);
                        else if (r->cidrs)
                            r->cidrs[r->ncidrs++] = c;
                    }
                    if (r->cidrs == NULL || rules_cidr_groups_build(r) != 0)
                        BERR("out of memory");
                }
                else if (mi->kind == MK_NUMBERS)
                {
                    r->nums = calloc((size_t) n + 1, sizeof *r->nums);
                    cJSON_ArrayForEach(e, f)
                    {
                        if (!cJSON_IsNumber(e) || !isfinite(e->valuedouble))
                            BERR("numbers must be numbers");
                        else if (r->nums)
                            r->nums[r->nnums++] = e->valuedouble;
                    }
                    if (r->nums)
                        qsort(r->nums, r->nnums, sizeof *r->nums, cmp_double);
                }
                else
                {
                    size_t pool = 0;
                    cJSON_ArrayForEach(e, f)
                    {
                        if (!cJSON_IsString(e) || strlen(e->valuestring) > 1024)
                            BERR("strings must be strings of at most 1024 bytes");
                        else
                            pool += strlen(e->valuestring) + 1;
                    }
                    if (!bad)
                    {
                        r->strs = calloc((size_t) n + 1, sizeof *r->strs);
                        r->strpool = malloc(pool + 1);
                        if (r->strs == NULL || r->strpool == NULL)
                            BERR("out of memory");
                        else
                        {
                            size_t off = 0;
                            cJSON_ArrayForEach(e, f)
                            {
                                size_t l = strlen(e->valuestring);
                                memcpy(r->strpool + off, e->valuestring, l + 1);
                                r->strs[r->nstrs].s = r->strpool + off;
                                r->strs[r->nstrs].len = l;
                                r->nstrs++;
                                off += l + 1;
                            }
                            qsort(r->strs, r->nstrs, sizeof *r->strs, cmp_rstr);
                        }
                    }
                }
            }
        }
    }
    if (bad)
        return 0;
    r->json = clean_behavior(b, r->count, r->value_is_count);
    if (r->json == NULL)
    {
        rules_errs_add(errs, "Behavior %s is malformed. out of memory", label);
        return 0;
    }
    return 1;
}

static int cmp_w2(const void *a, const void *b)
{
    const uint64_t *x = a, *y = b;
    if (x[0] != y[0])
        return x[0] < y[0] ? -1 : 1;
    return x[1] < y[1] ? -1 : x[1] > y[1] ? 1 : 0;
}

int rules_cidr_groups_build(rules_beh *b)
{
    if (b->ncidrs == 0)
        return 0;
    b->cgroups = calloc(b->ncidrs, sizeof *b->cgroups);
    if (b->cgroups == NULL)
        return -1;
    for (size_t i = 0; i < b->ncidrs; i++)
    {
        const rules_cidr *c = &b->cidrs[i];
        rules_cidr_group *g = NULL;
        for (size_t k = 0; k < b->ncgroups && g == NULL; k++)
            if (b->cgroups[k].family == c->family && b->cgroups[k].mask[0] == c->mask[0] &&
                b->cgroups[k].mask[1] == c->mask[1])
                g = &b->cgroups[k];
        if (g == NULL)
        {
            g = &b->cgroups[b->ncgroups++];
            g->family = c->family;
            g->mask[0] = c->mask[0];
            g->mask[1] = c->mask[1];
            g->pfx = calloc(b->ncidrs, sizeof *g->pfx);
            if (g->pfx == NULL)
                return -1;
        }
        g->pfx[g->n][0] = c->pfx[0];
        g->pfx[g->n][1] = c->pfx[1];
        g->n++;
    }
    for (size_t k = 0; k < b->ncgroups; k++)
        qsort(b->cgroups[k].pfx, b->cgroups[k].n, sizeof *b->cgroups[k].pfx, cmp_w2);
    return 0;
}

int rules_cidr_set_match(const rules_beh *b, int family, const uint64_t w[2])
{
    for (size_t k = 0; k < b->ncgroups; k++)
    {
        const rules_cidr_group *g = &b->cgroups[k];
        if (g->family != family)
            continue;
        uint64_t key[2] = {w[0] & g->mask[0], w[1] & g->mask[1]};
        size_t lo = 0, hi = g->n;
        while (lo < hi)
        {
            size_t mid = lo + (hi - lo) / 2;
            int c = cmp_w2(key, g->pfx[mid]);
            if (c == 0)
                return 1;
            if (c < 0)
                hi = mid;
            else
                lo = mid + 1;
        }
    }
    return 0;
}

static void beh_free(rules_beh *b)
{
    if (b->cgroups)
        for (size_t k = 0; k < b->ncgroups; k++)
            free(b->cgroups[k].pfx);
    free(b->cgroups);
    free(b->portmap);
    free(b->cidrs);
    free(b->nums);
    free(b->strs);
    free(b->strpool);
    cJSON_Delete(b->json);
    if (b->stat)
    {
        free(b->stat->vals);
        free(b->stat);
    }
}

void rules_behs_free(rules_beh *b, size_t n)
{
    if (b == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        beh_free(&b[i]);
    free(b);
}

int rules_compile_behaviors(const cJSON *arr, const rules_vctx *v, rules_errs *errs,
                            rules_beh **out, size_t *nout, cJSON **clean, size_t *elements)
{
    size_t before = errs->total;
    *out = NULL;
    *nout = 0;
    *clean = NULL;
    *elements = 0;
    if (!cJSON_IsArray(arr))
    {
        rules_errs_add(errs, "behaviors must be a list");
        return 0;
    }
    size_t n = (size_t) cJSON_GetArraySize(arr);
    if (n > (size_t) v->max_behaviors)
    {
        rules_errs_add(errs, "too many behaviors: %zu (at most %d)", n, v->max_behaviors);
        return 0;
    }
    rules_beh *bs = calloc(n + 1, sizeof *bs);
    cJSON *ca = cJSON_CreateArray();
    if (bs == NULL || ca == NULL)
    {
        free(bs);
        cJSON_Delete(ca);
        rules_errs_add(errs, "out of memory");
        return 0;
    }
    size_t i = 0, good = 0;
    const cJSON *b;
    cJSON_ArrayForEach(b, arr)
    {
        rules_beh tmp;
        int ok = compile_one(b, i, v, errs, &tmp, elements);
        /* RD-8: names unique in the profile */
        const cJSON *nm = cJSON_IsObject(b) ? cJSON_GetObjectItemCaseSensitive(b, "name") : NULL;
        if (cJSON_IsString(nm))
        {
            size_t k = 0;
            const cJSON *p;
            cJSON_ArrayForEach(p, arr)
            {
                if (k++ >= i)
                    break;
                const cJSON *pn =
                    cJSON_IsObject(p) ? cJSON_GetObjectItemCaseSensitive(p, "name") : NULL;
                if (cJSON_IsString(pn) && strcmp(pn->valuestring, nm->valuestring) == 0)
                {
                    rules_errs_add(errs,
                                   "Behavior %.128s is malformed. duplicate behavior name %.128s",
                                   nm->valuestring, nm->valuestring);
                    ok = 0;
                    break;
                }
            }
        }
        if (ok)
        {
            bs[good] = tmp;
            if (!cJSON_AddItemReferenceToArray(ca, bs[good].json))
            {
                rules_errs_add(errs, "out of memory");
                beh_free(&tmp);
            }
            else
                good++;
        }
        else
        {
            beh_free(&tmp);
        }
        i++;
    }
    if (*elements > (size_t) v->max_value_elements)
        rules_errs_add(errs, "too many value elements in the profile: %zu (at most %d)", *elements,
                       v->max_value_elements);
    if (errs->total != before)
    {
        cJSON_Delete(ca);
        rules_behs_free(bs, good);
        return 0;
    }
    /* the clean array holds references: duplicate to make it independent */
    cJSON *dup = cJSON_Duplicate(ca, 1);
    cJSON_Delete(ca);
    if (dup == NULL)
    {
        rules_behs_free(bs, good);
        rules_errs_add(errs, "out of memory");
        return 0;
    }
    *out = bs;
    *nout = good;
    *clean = dup;
    return 1;
}

/* ---------------------------------------------------------------------------------------------
 * Profile fields
 * ------------------------------------------------------------------------------------------- */

static int text_ok(const char *s, size_t maxchars)
{
    size_t chars = 0;
    for (const unsigned char *p = (const unsigned char *) s; *p; p++)
    {
        if (*p < 0x20 || *p == 0x7f)
            return 0;
        if ((*p & 0xC0) != 0x80)
            chars++;
    }
    return chars <= maxchars;
}

static int str_len_in(const cJSON *j, size_t lo, size_t hi)
{
    if (!cJSON_IsString(j))
        return 0;
    size_t n = strlen(j->valuestring);
    return n >= lo && n <= hi;
}

static void validate_tags(const cJSON *tags, rules_errs *errs)
{
    if (!cJSON_IsArray(tags))
    {
        rules_errs_add(errs, "tags must be a list of {Key, Value}");
        return;
    }
    if (cJSON_GetArraySize(tags) > 50)
        rules_errs_add(errs, "at most 50 tags");
    const cJSON *t;
    cJSON_ArrayForEach(t, tags)
    {
        const cJSON *k = cJSON_GetObjectItemCaseSensitive(t, "Key");
        const cJSON *val = cJSON_GetObjectItemCaseSensitive(t, "Value");
        if (!str_len_in(k, 1, 128) || (val != NULL && !str_len_in(val, 0, 256)))
        {
            rules_errs_add(errs, "invalid tag: Key must be 1..128 characters, Value 0..256");
            return;
        }
    }
}

void rules_validate_profile_fields(const cJSON *body, int update, const rules_vctx *v,
                                   rules_errs *errs)
{
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(body, "securityProfileDescription");
    if (d != NULL && (!cJSON_IsString(d) || !text_ok(d->valuestring, 1000)))
        rules_errs_add(errs,
                       "securityProfileDescription must be at most 1000 printable characters");
    const cJSON *at = cJSON_GetObjectItemCaseSensitive(body, "alertTargets");
    if (at != NULL)
    {
        if (!cJSON_IsObject(at))
            rules_errs_add(errs, "alertTargets must be a map");
        else
        {
            const cJSON *t;
            cJSON_ArrayForEach(t, at)
            {
                if (t->string == NULL || strcmp(t->string, "SNS") != 0)
                {
                    rules_errs_add(errs, "alertTargets: unknown alert target type %.64s (only SNS)",
                                   t->string ? t->string : "");
                    continue;
                }
                const cJSON *a = cJSON_GetObjectItemCaseSensitive(t, "alertTargetArn");
                const cJSON *r = cJSON_GetObjectItemCaseSensitive(t, "roleArn");
                if (!str_len_in(a, 1, 2048))
                    rules_errs_add(errs, "alertTargets.SNS.alertTargetArn is required");
                if (!str_len_in(r, 20, 2048))
                    rules_errs_add(errs,
                                   "alertTargets.SNS.roleArn is required (20..2048 characters)");
            }
        }
    }
    const cJSON *am = cJSON_GetObjectItemCaseSensitive(body, "additionalMetricsToRetain");
    metric_info custom;
    if (am != NULL)
    {
        const cJSON *m;
        if (!cJSON_IsArray(am))
            rules_errs_add(errs, "additionalMetricsToRetain must be a list of metric names");
        else
            cJSON_ArrayForEach(m, am)
            {
                if (!cJSON_IsString(m) || rules_metric_lookup(m->valuestring, v->custom_type,
                                                              v->custom_ctx, &custom) == NULL)
                    rules_errs_add(errs, "additionalMetricsToRetain: unknown metric %.128s",
                                   cJSON_IsString(m) ? m->valuestring : "(not a string)");
            }
    }
    const cJSON *am2 = cJSON_GetObjectItemCaseSensitive(body, "additionalMetricsToRetainV2");
    if (am2 != NULL)
    {
        const cJSON *m;
        if (!cJSON_IsArray(am2))
            rules_errs_add(errs, "additionalMetricsToRetainV2 must be a list");
        else
            cJSON_ArrayForEach(m, am2)
            {
                const cJSON *mn = cJSON_GetObjectItemCaseSensitive(m, "metric");
                const cJSON *md = cJSON_GetObjectItemCaseSensitive(m, "metricDimension");
                const cJSON *ex = cJSON_GetObjectItemCaseSensitive(m, "exportMetric");
                const metric_info *mi = cJSON_IsString(mn)
                                            ? rules_metric_lookup(mn->valuestring, v->custom_type,
                                                                  v->custom_ctx, &custom)
                                            : NULL;
                if (mi == NULL)
                {
                    rules_errs_add(errs, "additionalMetricsToRetainV2: unknown metric %.128s",
                                   cJSON_IsString(mn) ? mn->valuestring : "(missing)");
                    continue;
                }
                if (md != NULL)
                {
                    const cJSON *dn = cJSON_GetObjectItemCaseSensitive(md, "dimensionName");
                    if (!mi->dim_ok)
                        rules_errs_add(errs,
                                       "additionalMetricsToRetainV2: metricDimension not supported "
                                       "for metric %s",
                                       mn->valuestring);
                    else if (!cJSON_IsString(dn) ||
                             (v->dim_exists && !v->dim_exists(v->dim_ctx, dn->valuestring)))
                        rules_errs_add(
                            errs, "additionalMetricsToRetainV2: dimension %.128s does not exist",
                            cJSON_IsString(dn) ? dn->valuestring : "(missing)");
                }
                if (ex != NULL && !cJSON_IsBool(ex))
                    rules_errs_add(errs,
                                   "additionalMetricsToRetainV2: exportMetric must be a boolean");
            }
    }
    const cJSON *tags = cJSON_GetObjectItemCaseSensitive(body, "tags");
    if (tags != NULL)
        validate_tags(tags, errs);
    const cJSON *mec = cJSON_GetObjectItemCaseSensitive(body, "metricsExportConfig");
    if (mec != NULL)
    {
        if (!str_len_in(cJSON_GetObjectItemCaseSensitive(mec, "mqttTopic"), 1, 512) ||
            !str_len_in(cJSON_GetObjectItemCaseSensitive(mec, "roleArn"), 20, 2048))
            rules_errs_add(errs, "metricsExportConfig needs mqttTopic (1..512) and roleArn "
                                 "(20..2048)");
    }
    if (update)
    {
        static const char *const pairs[][2] = {
            {"deleteBehaviors", "behaviors"},
            {"deleteAlertTargets", "alertTargets"},
            {"deleteAdditionalMetricsToRetain", "additionalMetricsToRetain"},
            {"deleteMetricsExportConfig", "metricsExportConfig"}};
        for (size_t i = 0; i < 4; i++)
        {
            const cJSON *f = cJSON_GetObjectItemCaseSensitive(body, pairs[i][0]);
            if (f == NULL)
                continue;
            if (!cJSON_IsBool(f))
                rules_errs_add(errs, "%s must be a boolean", pairs[i][0]);
            else if (cJSON_IsTrue(f) &&
                     (cJSON_GetObjectItemCaseSensitive(body, pairs[i][1]) != NULL ||
                      (i == 2 && cJSON_GetObjectItemCaseSensitive(
                                     body, "additionalMetricsToRetainV2") != NULL)))
                rules_errs_add(errs, "%s cannot be set together with %s", pairs[i][0], pairs[i][1]);
        }
    }
}

/* ---------------------------------------------------------------------------------------------
 * Statistics and formatting
 * ------------------------------------------------------------------------------------------- */

double rules_percentile(double *vals, size_t n, int q)
{
    qsort(vals, n, sizeof *vals, cmp_double);
    uint64_t rank = ((uint64_t) q * n + 9999u) / 10000u;
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return vals[rank - 1];
}

void rules_fmt_double(char *out, size_t cap, double d)
{
    if (d == floor(d) && fabs(d) < 1e15)
    {
        snprintf(out, cap, "%.0f", d);
        return;
    }
    snprintf(out, cap, "%.15g", d);
    if (strtod(out, NULL) != d)
        snprintf(out, cap, "%.17g", d);
}

/* ---------------------------------------------------------------------------------------------
 * Engine-less validation (fuzzing, tools)
 * ------------------------------------------------------------------------------------------- */

int rules_validate_profile_text(const char *body, size_t len,
                                cm_type (*custom_type)(void *, const char *, size_t), void *ctx)
{
    cJSON *j = cJSON_ParseWithLength(body, len);
    if (!cJSON_IsObject(j))
    {
        cJSON_Delete(j);
        return -1;
    }
    rules_vctx v = {custom_type, ctx, NULL, NULL, 100, 1000};
    rules_errs errs = {0};
    rules_validate_profile_fields(j, 0, &v, &errs);
    const cJSON *bs = cJSON_GetObjectItemCaseSensitive(j, "behaviors");
    if (bs != NULL)
    {
        rules_beh *b = NULL;
        size_t nb = 0, el = 0;
        cJSON *clean = NULL;
        if (rules_compile_behaviors(bs, &v, &errs, &b, &nb, &clean, &el))
        {
            rules_behs_free(b, nb);
            cJSON_Delete(clean);
        }
    }
    int n = (int) errs.total;
    rules_errs_free(&errs);
    cJSON_Delete(j);
    return n;
}
