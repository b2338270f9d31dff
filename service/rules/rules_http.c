/* AWS REST-JSON operations of Rules Detect (sections 1, 2, 3.6, 5, 6.2) plus a minimal
 * thing registry and static thing groups (CreateThing, CreateThingGroup,
 * AddThingToThingGroup and their inverses) for targets (2.3). */
#include "rules_engine.h"
#include "strbuf.h"
#include "timeparse.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_PARAMS  32
#define MAX_RESULTS 250

void rules_vctx_init(rules_engine *e, rules_vctx *v);
int rules_group_add_member(rules_engine *e, const char *g, const char *thing);
void rules_group_remove_member(rules_engine *e, const char *g, const char *thing);
int rules_group_add(rules_engine *e, const char *name, const char *parent, int from_file);
void rules_profile_set_alert(rules_profile *p);
void rules_profile_init_behaviors(rules_engine *e, rules_profile *p);
void rules_profile_free(rules_profile *p);

typedef struct
{
    char *k[MAX_PARAMS];
    char *v[MAX_PARAMS];
    size_t n;
} qparams;

typedef struct
{
    int status;
    const char *type;
    cJSON *body;
} resp;

static char *pct_dup(const char *s, size_t n)
{
    char *o = malloc(n + 1);
    if (o == NULL)
        return NULL;
    size_t w = 0;
    for (size_t i = 0; i < n; i++)
    {
        if (s[i] == '%' && i + 2 < n && hex_digit_value(s[i + 1]) >= 0 &&
            hex_digit_value(s[i + 2]) >= 0)
        {
            char c = (char) (hex_digit_value(s[i + 1]) * 16 + hex_digit_value(s[i + 2]));
            if (c == '\0')
            {
                free(o);
                return NULL;
            }
            o[w++] = c;
            i += 2;
        }
        else
            o[w++] = s[i];
    }
    o[w] = '\0';
    return o;
}

static int parse_query(const char *q, qparams *p)
{
    memset(p, 0, sizeof *p);
    if (q == NULL)
        return 0;
    const char *s = q;
    while (*s)
    {
        const char *amp = strchr(s, '&');
        size_t len = amp ? (size_t) (amp - s) : strlen(s);
        if (len > 0)
        {
            if (p->n >= MAX_PARAMS || len > 4096)
                return -1;
            const char *eq = memchr(s, '=', len);
            size_t kl = eq ? (size_t) (eq - s) : len;
            p->k[p->n] = pct_dup(s, kl);
            p->v[p->n] = eq ? pct_dup(eq + 1, len - kl - 1) : pct_dup("", 0);
            if (p->k[p->n] == NULL || p->v[p->n] == NULL)
            {
                free(p->k[p->n]);
                free(p->v[p->n]);
                return -1;
            }
            p->n++;
        }
        s += len;
        if (*s == '&')
            s++;
    }
    return 0;
}

static void free_query(qparams *p)
{
    for (size_t i = 0; i < p->n; i++)
    {
        free(p->k[i]);
        free(p->v[i]);
    }
}

static const char *qget(const qparams *p, const char *k)
{
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->k[i], k) == 0)
            return p->v[i];
    return NULL;
}

__attribute__((format(printf, 4, 5))) static void fail(resp *r, int status, const char *type,
                                                       const char *fmt, ...)
{
    char msg[RULES_ERRMSG_MAX * 2];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cJSON_Delete(r->body);
    r->status = status;
    r->type = type;
    r->body = cJSON_CreateObject();
    if (r->body)
        cJSON_AddStringToObject(r->body, "message", msg);
}

static void bad(resp *r, const char *msg)
{
    fail(r, 400, "InvalidRequestException", "%s", msg);
}

static void ok(resp *r, cJSON *body)
{
    cJSON_Delete(r->body);
    r->status = 200;
    r->type = NULL;
    r->body = body ? body : cJSON_CreateObject();
    if (r->body == NULL)
        fail(r, 500, "InternalFailureException", "out of memory");
}

static double epoch_s(int64_t ms)
{
    return (double) ms / 1000.0;
}

/* RD-1: the service's one parser (ISO 8601 with a zone, or epoch seconds). */
static int parse_time(const char *s, int64_t *ms)
{
    return (s == NULL) ? -1 : parse_time_ms(s, ms);
}

static int page_args(const qparams *q, resp *r, size_t *offset, size_t *limit, size_t def)
{
    const char *mr = qget(q, "maxResults");
    const char *nt = qget(q, "nextToken");
    *limit = def;
    *offset = 0;
    if (mr != NULL)
    {
        long v;
        if (parse_query_count(mr, MAX_RESULTS, &v) != 0)
        {
            bad(r, "maxResults must be 1..250");
            return -1;
        }
        *limit = (size_t) v;
    }
    if (nt != NULL && nt[0] != '\0')
    {
        char *end;
        if (nt[0] != 'o' || !isdigit((unsigned char) nt[1]))
        {
            bad(r, "invalid nextToken");
            return -1;
        }
        unsigned long long v = strtoull(nt + 1, &end, 10);
        if (*end != '\0' || v > 100000000ull)
        {
            bad(r, "invalid nextToken");
            return -1;
        }
        *offset = (size_t) v;
    }
    return 0;
}

static void add_next(cJSON *o, size_t next)
{
    char t[32];
    snprintf(t, sizeof t, "o%zu", next);
    cJSON_AddStringToObject(o, "nextToken", t);
}

static cJSON *parse_body(const char *body, size_t len, resp *r, int required)
{
    if (body == NULL || len == 0)
    {
        if (required)
        {
            bad(r, "request body must be a JSON object");
            return NULL;
        }
        return cJSON_CreateObject();
    }
    cJSON *j = cJSON_ParseWithLength(body, len);
    if (!cJSON_IsObject(j))
    {
        cJSON_Delete(j);
        bad(r, "request body must be a JSON object");
        return NULL;
    }
    return j;
}

static void fail_errs(resp *r, rules_errs *errs)
{
    /* 3.5: the message starts with the first error; every error follows (issue: all errors) */
    size_t cap = 0;
    for (size_t i = 0; i < errs->n; i++)
        cap += strlen(errs->v[i]) + 2;
    char *m = malloc(cap + 64);
    if (m == NULL)
    {
        fail(r, 500, "InternalFailureException", "out of memory");
        return;
    }
    size_t w = 0;
    for (size_t i = 0; i < errs->n; i++)
        w += (size_t) sprintf(m + w, "%s%s", i ? "; " : "", errs->v[i]);
    if (errs->total > errs->n)
        sprintf(m + w, "; (%zu more)", errs->total - errs->n);
    cJSON_Delete(r->body);
    r->status = 400;
    r->type = "InvalidRequestException";
    r->body = cJSON_CreateObject();
    if (r->body)
    {
        cJSON_AddStringToObject(r->body, "message", m);
        cJSON *arr = cJSON_AddArrayToObject(r->body, "validationErrors");
        for (size_t i = 0; arr && i < errs->n; i++)
        {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "errorMessage", errs->v[i]);
            cJSON_AddItemToArray(arr, o);
        }
    }
    free(m);
}

/* ---------------------------------------------------------------------------------------------
 * Security profiles
 * ------------------------------------------------------------------------------------------- */

static cJSON *describe_profile(rules_engine *e, const rules_profile *p)
{
    cJSON *o = cJSON_CreateObject();
    if (o == NULL)
        return NULL;
    char arn[400];
    rules_make_arn(e, arn, sizeof arn, "securityprofile", p->name);
    cJSON_AddStringToObject(o, "securityProfileName", p->name);
    cJSON_AddStringToObject(o, "securityProfileArn", arn);
    static const char *const keys[] = {"securityProfileDescription", "behaviors", "alertTargets",
                                       "additionalMetricsToRetain", "additionalMetricsToRetainV2"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
    {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(p->doc, keys[i]);
        if (v != NULL)
            cJSON_AddItemToObject(o, keys[i], cJSON_Duplicate(v, 1));
    }
    cJSON_AddNumberToObject(o, "version", (double) p->version);
    cJSON_AddNumberToObject(o, "creationDate", epoch_s(p->created_ms));
    cJSON_AddNumberToObject(o, "lastModifiedDate", epoch_s(p->modified_ms));
    const cJSON *mec = cJSON_GetObjectItemCaseSensitive(p->doc, "metricsExportConfig");
    if (mec != NULL)
        cJSON_AddItemToObject(o, "metricsExportConfig", cJSON_Duplicate(mec, 1));
    return o;
}

static const char *const g_doc_keys[] = {
    "securityProfileDescription",  "alertTargets",        "additionalMetricsToRetain",
    "additionalMetricsToRetainV2", "metricsExportConfig", "tags"};

/*
 * Validates a Create/UpdateSecurityProfile body and compiles its behaviors (every error
 * collected, 3.5). On failure the reply is set, everything compiled is freed and -1 is
 * returned; the caller still owns `j`.
 */
static int check_profile_body(rules_engine *e, const cJSON *j, int update, resp *r, rules_beh **bs,
                              size_t *nb, cJSON **clean, size_t *el)
{
    rules_vctx v;
    rules_vctx_init(e, &v);
    rules_errs errs = {0};
    rules_validate_profile_fields(j, update, &v, &errs);
    const cJSON *bj = cJSON_GetObjectItemCaseSensitive(j, "behaviors");
    if (bj != NULL)
        rules_compile_behaviors(bj, &v, &errs, bs, nb, clean, el);
    if (errs.total > 0)
    {
        fail_errs(r, &errs);
        rules_errs_free(&errs);
        rules_behs_free(*bs, *nb);
        cJSON_Delete(*clean);
        *bs = NULL;
        *nb = 0;
        *clean = NULL;
        return -1;
    }
    return 0;
}

static void create_profile(rules_engine *e, const char *name, const char *body, size_t len, resp *r)
{
    cJSON *j = parse_body(body, len, r, 0);
    if (j == NULL)
        return;
    char arn[400];
    rules_make_arn(e, arn, sizeof arn, "securityprofile", name);
    if (rules_profile_find(e, name) != NULL)
    {
        fail(r, 409, "ResourceAlreadyExistsException", "Security profile %s already exists", name);
        cJSON_AddStringToObject(r->body, "resourceId", name);
        cJSON_AddStringToObject(r->body, "resourceArn", arn);
        cJSON_Delete(j);
        return;
    }
    if (e->nprofiles >= RULES_MAX_PROFILES)
    {
        fail(r, 410, "LimitExceededException", "at most %d security profiles", RULES_MAX_PROFILES);
        cJSON_Delete(j);
        return;
    }
    rules_beh *bs = NULL;
    size_t nb = 0, el = 0;
    cJSON *clean = NULL;
    if (check_profile_body(e, j, 0, r, &bs, &nb, &clean, &el) != 0)
    {
        cJSON_Delete(j);
        return;
    }
    rules_profile *p = calloc(1, sizeof *p);
    rules_profile **np = realloc(e->profiles, (e->nprofiles + 1) * sizeof *np);
    if (p == NULL || np == NULL || (p->doc = cJSON_CreateObject()) == NULL)
    {
        free(p);
        if (np)
            e->profiles = np;
        rules_behs_free(bs, nb);
        cJSON_Delete(clean);
        cJSON_Delete(j);
        fail(r, 500, "InternalFailureException", "out of memory");
        return;
    }
    e->profiles = np;
    snprintf(p->name, sizeof p->name, "%s", name);
    for (size_t i = 0; i < sizeof g_doc_keys / sizeof g_doc_keys[0]; i++)
    {
        const cJSON *f = cJSON_GetObjectItemCaseSensitive(j, g_doc_keys[i]);
        if (f != NULL)
            cJSON_AddItemToObject(p->doc, g_doc_keys[i], cJSON_Duplicate(f, 1));
        if (i == 0 && clean != NULL)
        {
            cJSON_AddItemToObject(p->doc, "behaviors", clean);
            clean = NULL;
        }
    }
    if (clean != NULL)
        cJSON_AddItemToObject(p->doc, "behaviors", clean);
    p->behs = bs;
    p->nbehs = nb;
    rules_profile_init_behaviors(e, p);
    rules_profile_set_alert(p);
    p->version = 1;
    p->created_ms = p->modified_ms = rules_now(e);
    if (rules_tx_begin(e) != 0 || rules_profile_store(e, p, 1) != 0)
    {
        rules_profile_free(p);
        cJSON_Delete(j);
        fail(r, 500, "InternalFailureException", "storage error");
        return;
    }
    e->profiles[e->nprofiles++] = p;
    rules_windows_update(e);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "securityProfileName", name);
    cJSON_AddStringToObject(o, "securityProfileArn", arn);
    ok(r, o);
    cJSON_Delete(j);
}

static int check_version(const qparams *q, const rules_profile *p, resp *r)
{
    const char *ev = qget(q, "expectedVersion");
    if (ev == NULL)
        return 0;
    char *end;
    long long v = strtoll(ev, &end, 10);
    if (*ev == '\0' || *end != '\0')
    {
        bad(r, "expectedVersion must be an integer");
        return -1;
    }
    if (v != p->version)
    {
        fail(r, 409, "VersionConflictException",
             "The version of security profile %s is %lld, not the expected %lld", p->name,
             (long long) p->version, v);
        return -1;
    }
    return 0;
}

static void update_profile(rules_engine *e, rules_profile *p, const qparams *q, const char *body,
                           size_t len, resp *r)
{
    cJSON *j = parse_body(body, len, r, 0);
    if (j == NULL)
        return;
    if (check_version(q, p, r) != 0)
    {
        cJSON_Delete(j);
        return;
    }
    rules_beh *bs = NULL;
    size_t nb = 0, el = 0;
    cJSON *clean = NULL;
    if (check_profile_body(e, j, 1, r, &bs, &nb, &clean, &el) != 0)
    {
        cJSON_Delete(j);
        return;
    }
    if (rules_tx_begin(e) != 0)
    {
        rules_behs_free(bs, nb);
        cJSON_Delete(clean);
        cJSON_Delete(j);
        fail(r, 500, "InternalFailureException", "storage error");
        return;
    }
    for (size_t i = 0; i < sizeof g_doc_keys / sizeof g_doc_keys[0]; i++)
    {
        const cJSON *f = cJSON_GetObjectItemCaseSensitive(j, g_doc_keys[i]);
        if (f != NULL)
        {
            cJSON_DeleteItemFromObjectCaseSensitive(p->doc, g_doc_keys[i]);
            cJSON_AddItemToObject(p->doc, g_doc_keys[i], cJSON_Duplicate(f, 1));
        }
    }
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "deleteAlertTargets")))
        cJSON_DeleteItemFromObjectCaseSensitive(p->doc, "alertTargets");
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "deleteAdditionalMetricsToRetain")))
    {
        cJSON_DeleteItemFromObjectCaseSensitive(p->doc, "additionalMetricsToRetain");
        cJSON_DeleteItemFromObjectCaseSensitive(p->doc, "additionalMetricsToRetainV2");
    }
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "deleteMetricsExportConfig")))
        cJSON_DeleteItemFromObjectCaseSensitive(p->doc, "metricsExportConfig");
    /* flags first so that events of removed behaviors use the new alert targets */
    rules_profile_set_alert(p);
    if (clean != NULL)
    {
        cJSON_DeleteItemFromObjectCaseSensitive(p->doc, "behaviors");
        cJSON_AddItemToObject(p->doc, "behaviors", clean);
        rules_profile_replace_behaviors(e, p, bs, nb);
    }
    else if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "deleteBehaviors")))
    {
        cJSON_DeleteItemFromObjectCaseSensitive(p->doc, "behaviors");
        rules_profile_replace_behaviors(e, p, NULL, 0);
    }
    p->version++;
    p->modified_ms = rules_now(e);
    if (rules_profile_store(e, p, 0) != 0)
        fail(r, 500, "InternalFailureException", "storage error");
    else
        ok(r, describe_profile(e, p));
    cJSON_Delete(j);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *) a, *(const char *const *) b);
}

static int profile_uses(const rules_profile *p, const char *dim, const char *metric)
{
    for (size_t i = 0; i < p->nbehs; i++)
    {
        if (metric && strcmp(p->behs[i].metric, metric) == 0)
            return 1;
        const cJSON *md = cJSON_GetObjectItemCaseSensitive(p->behs[i].json, "metricDimension");
        const cJSON *dn = md ? cJSON_GetObjectItemCaseSensitive(md, "dimensionName") : NULL;
        if (dim && cJSON_IsString(dn) && strcmp(dn->valuestring, dim) == 0)
            return 1;
    }
    const cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(p->doc, "additionalMetricsToRetainV2"))
    {
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(it, "metric");
        const cJSON *md = cJSON_GetObjectItemCaseSensitive(it, "metricDimension");
        const cJSON *dn = md ? cJSON_GetObjectItemCaseSensitive(md, "dimensionName") : NULL;
        if (metric && cJSON_IsString(m) && strcmp(m->valuestring, metric) == 0)
            return 1;
        if (dim && cJSON_IsString(dn) && strcmp(dn->valuestring, dim) == 0)
            return 1;
    }
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(p->doc, "additionalMetricsToRetain"))
    {
        if (metric && cJSON_IsString(it) && strcmp(it->valuestring, metric) == 0)
            return 1;
    }
    return 0;
}

static void list_profiles(rules_engine *e, const qparams *q, resp *r)
{
    const char *dim = qget(q, "dimensionName");
    const char *metric = qget(q, "metricName");
    if (dim && metric)
    {
        bad(r, "dimensionName and metricName are mutually exclusive");
        return;
    }
    size_t off, lim;
    if (page_args(q, r, &off, &lim, MAX_RESULTS) != 0)
        return;
    const char **names = calloc(e->nprofiles + 1, sizeof *names);
    if (names == NULL)
    {
        fail(r, 500, "InternalFailureException", "out of memory");
        return;
    }
    size_t n = 0;
    for (size_t i = 0; i < e->nprofiles; i++)
        if ((!dim && !metric) || profile_uses(e->profiles[i], dim, metric))
            names[n++] = e->profiles[i]->name;
    qsort(names, n, sizeof *names, cmp_str);
    cJSON *o = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(o, "securityProfileIdentifiers");
    for (size_t i = off; i < n && i < off + lim; i++)
    {
        char arn[400];
        rules_make_arn(e, arn, sizeof arn, "securityprofile", names[i]);
        cJSON *it = cJSON_CreateObject();
        cJSON_AddStringToObject(it, "name", names[i]);
        cJSON_AddStringToObject(it, "arn", arn);
        cJSON_AddItemToArray(arr, it);
    }
    if (off + lim < n)
        add_next(o, off + lim);
    free(names);
    ok(r, o);
}

static int target_count(rules_engine *e, const char *arn)
{
    int n = 0;
    for (size_t i = 0; i < e->nprofiles; i++)
        for (size_t k = 0; k < e->profiles[i]->ntargets; k++)
            if (strcmp(e->profiles[i]->targets[k].arn, arn) == 0)
                n++;
    return n;
}

static void targets_op(rules_engine *e, rules_profile *p, const char *method, const qparams *q,
                       resp *r)
{
    if (strcmp(method, "GET") == 0)
    {
        size_t off, lim;
        if (page_args(q, r, &off, &lim, MAX_RESULTS) != 0)
            return;
        cJSON *o = cJSON_CreateObject();
        cJSON *arr = cJSON_AddArrayToObject(o, "securityProfileTargets");
        for (size_t i = off; i < p->ntargets && i < off + lim; i++)
        {
            cJSON *it = cJSON_CreateObject();
            cJSON_AddStringToObject(it, "arn", p->targets[i].arn);
            cJSON_AddItemToArray(arr, it);
        }
        if (off + lim < p->ntargets)
            add_next(o, off + lim);
        ok(r, o);
        return;
    }
    const char *arn = qget(q, "securityProfileTargetArn");
    if (arn == NULL || arn[0] == '\0')
    {
        bad(r, "securityProfileTargetArn is required");
        return;
    }
    rules_target t;
    int pr = rules_parse_target(e, arn, &t);
    if (pr == -2)
    {
        bad(r, "thing targets (arn:...:thing/<name>) are an extension, disabled in strict mode");
        return;
    }
    if (pr != 0)
    {
        fail(r, 400, "InvalidRequestException",
             "securityProfileTargetArn %.300s is not a target of this service (all/things, "
             "all/registered-things, all/unregistered-things, thinggroup/<name>, thing/<name>)",
             arn);
        return;
    }
    size_t idx = p->ntargets;
    for (size_t i = 0; i < p->ntargets; i++)
        if (strcmp(p->targets[i].arn, arn) == 0)
            idx = i;
    sqlite3_stmt *st = NULL;
    if (strcmp(method, "PUT") == 0)
    {
        if (t.kind == TG_GROUP && rules_group_find(e, t.name) == NULL)
        {
            fail(r, 404, "ResourceNotFoundException", "Thing group %s does not exist", t.name);
            return;
        }
        if (idx < p->ntargets)
        {
            ok(r, NULL); /* RD-4: idempotent */
            return;
        }
        if (target_count(e, arn) >= e->cfg.max_profiles_per_target)
        {
            fail(r, 410, "LimitExceededException",
                 "Target %.300s already has %d security profiles attached (the limit)", arn,
                 e->cfg.max_profiles_per_target);
            return;
        }
        rules_target *nt = realloc(p->targets, (p->ntargets + 1) * sizeof *nt);
        if (nt == NULL || (t.arn = strdup(arn)) == NULL)
        {
            if (nt)
                p->targets = nt;
            fail(r, 500, "InternalFailureException", "out of memory");
            return;
        }
        p->targets = nt;
        if (rules_tx_begin(e) != 0 ||
            sqlite3_prepare_v2(e->db,
                               "INSERT OR IGNORE INTO rules_targets(profile, arn) VALUES(?,?)", -1,
                               &st, NULL) != SQLITE_OK)
        {
            free(t.arn);
            fail(r, 500, "InternalFailureException", "storage error");
            return;
        }
        sqlite3_bind_text(st, 1, p->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, arn, -1, SQLITE_STATIC);
        int rc = sqlite3_step(st);
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE)
        {
            free(t.arn);
            fail(r, 500, "InternalFailureException", "storage error");
            return;
        }
        p->targets[p->ntargets++] = t;
        ok(r, NULL);
        return;
    }
    /* DELETE: detach */
    if (idx == p->ntargets)
    {
        fail(r, 404, "ResourceNotFoundException", "Security profile %s is not attached to %.300s",
             p->name, arn);
        return;
    }
    free(p->targets[idx].arn);
    p->targets[idx] = p->targets[--p->ntargets];
    if (rules_tx_begin(e) == 0 &&
        sqlite3_prepare_v2(e->db, "DELETE FROM rules_targets WHERE profile=? AND arn=?", -1, &st,
                           NULL) == SQLITE_OK)
    {
        sqlite3_bind_text(st, 1, p->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, arn, -1, SQLITE_STATIC);
        sqlite3_step(st);
        sqlite3_finalize(st);
    }
    rules_recheck_coverage(e, NULL);
    ok(r, NULL);
}

static int group_is_descendant(rules_engine *e, const char *g, const char *ancestor)
{
    const char *cur = g;
    for (int d = 0; d < 16 && cur && cur[0]; d++)
    {
        if (strcmp(cur, ancestor) == 0)
            return 1;
        rules_group *gr = rules_group_find(e, cur);
        cur = gr ? gr->parent : NULL;
    }
    return 0;
}

static void profiles_for_target(rules_engine *e, const qparams *q, resp *r)
{
    const char *arn = qget(q, "securityProfileTargetArn");
    const char *rec = qget(q, "recursive");
    if (arn == NULL || arn[0] == '\0')
    {
        bad(r, "securityProfileTargetArn is required");
        return;
    }
    int recursive = rec != NULL && strcmp(rec, "true") == 0;
    rules_target t;
    if (rules_parse_target(e, arn, &t) != 0)
    {
        bad(r, "securityProfileTargetArn is not a valid target");
        return;
    }
    size_t off, lim;
    if (page_args(q, r, &off, &lim, MAX_RESULTS) != 0)
        return;
    cJSON *o = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(o, "securityProfileTargetMappings");
    size_t n = 0;
    for (size_t i = 0; i < e->nprofiles; i++)
    {
        rules_profile *p = e->profiles[i];
        for (size_t k = 0; k < p->ntargets; k++)
        {
            const rules_target *pt = &p->targets[k];
            int match = strcmp(pt->arn, arn) == 0;
            if (!match && recursive && t.kind == TG_GROUP && pt->kind == TG_GROUP)
                match = group_is_descendant(e, pt->name, t.name);
            if (!match)
                continue;
            if (n >= off && n < off + lim)
            {
                char parn[400];
                rules_make_arn(e, parn, sizeof parn, "securityprofile", p->name);
                cJSON *m = cJSON_CreateObject();
                cJSON *id = cJSON_AddObjectToObject(m, "securityProfileIdentifier");
                cJSON_AddStringToObject(id, "name", p->name);
                cJSON_AddStringToObject(id, "arn", parn);
                cJSON *tg = cJSON_AddObjectToObject(m, "target");
                cJSON_AddStringToObject(tg, "arn", pt->arn);
                cJSON_AddItemToArray(arr, m);
            }
            n++;
        }
    }
    if (off + lim < n)
        add_next(o, off + lim);
    ok(r, o);
}

static void validate_behaviors(rules_engine *e, const char *body, size_t len, resp *r)
{
    cJSON *j = parse_body(body, len, r, 1);
    if (j == NULL)
        return;
    const cJSON *bj = cJSON_GetObjectItemCaseSensitive(j, "behaviors");
    if (bj == NULL)
    {
        cJSON_Delete(j);
        bad(r, "behaviors is required");
        return;
    }
    rules_vctx v;
    rules_vctx_init(e, &v);
    rules_errs errs = {0};
    rules_beh *bs = NULL;
    size_t nb = 0, el = 0;
    cJSON *clean = NULL;
    rules_compile_behaviors(bj, &v, &errs, &bs, &nb, &clean, &el);
    rules_behs_free(bs, nb);
    cJSON_Delete(clean);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "valid", errs.total == 0);
    cJSON *arr = cJSON_AddArrayToObject(o, "validationErrors");
    for (size_t i = 0; i < errs.n; i++)
    {
        cJSON *it = cJSON_CreateObject();
        cJSON_AddStringToObject(it, "errorMessage", errs.v[i]);
        cJSON_AddItemToArray(arr, it);
    }
    rules_errs_free(&errs);
    cJSON_Delete(j);
    ok(r, o);
}

/* ---------------------------------------------------------------------------------------------
 * Violations
 * ------------------------------------------------------------------------------------------- */

static const char *const g_vstates[] = {"FALSE_POSITIVE", "BENIGN_POSITIVE", "TRUE_POSITIVE",
                                        "UNKNOWN"};

static int vstate_ok(const char *s)
{
    for (size_t i = 0; i < 4; i++)
        if (strcmp(s, g_vstates[i]) == 0)
            return 1;
    return 0;
}

typedef struct
{
    int ctype;      /* -1 any, 0 static, 1 statistical, 2 ML (nothing) */
    int suppressed; /* -1 any, 0, 1 */
    const char *vstate;
} vfilter;

static int violation_filters(const qparams *q, vfilter *f, resp *r)
{
    const char *ct = qget(q, "behaviorCriteriaType");
    const char *ls = qget(q, "listSuppressedAlerts");
    f->vstate = qget(q, "verificationState");
    f->ctype = -1;
    f->suppressed = -1;
    if (ct != NULL)
    {
        if (strcmp(ct, "STATIC") == 0)
            f->ctype = 0;
        else if (strcmp(ct, "STATISTICAL") == 0)
            f->ctype = 1;
        else if (strcmp(ct, "MACHINE_LEARNING") == 0)
            f->ctype = 2;
        else
        {
            bad(r, "behaviorCriteriaType must be STATIC, STATISTICAL or MACHINE_LEARNING");
            return -1;
        }
    }
    if (ls != NULL)
    {
        if (strcmp(ls, "true") == 0)
            f->suppressed = 1;
        else if (strcmp(ls, "false") == 0)
            f->suppressed = 0;
        else
        {
            bad(r, "listSuppressedAlerts must be true or false");
            return -1;
        }
    }
    if (f->vstate != NULL && !vstate_ok(f->vstate))
    {
        bad(r, "verificationState must be FALSE_POSITIVE, BENIGN_POSITIVE, TRUE_POSITIVE or "
               "UNKNOWN");
        return -1;
    }
    return 0;
}

static void add_parsed(cJSON *o, const char *key, const char *json)
{
    cJSON *v = json ? cJSON_Parse(json) : NULL;
    if (v != NULL)
        cJSON_AddItemToObject(o, key, v);
}

static void list_active(rules_engine *e, const qparams *q, resp *r)
{
    vfilter f;
    if (violation_filters(q, &f, r) != 0)
        return;
    const char *thing = qget(q, "thingName");
    const char *prof = qget(q, "securityProfileName");
    if (prof != NULL && rules_profile_find(e, prof) == NULL)
    {
        fail(r, 404, "ResourceNotFoundException", "Security profile %.128s does not exist", prof);
        return;
    }
    size_t off, lim;
    if (page_args(q, r, &off, &lim, MAX_RESULTS) != 0)
        return;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(
            e->db,
            "SELECT s.thing, s.profile, s.behavior, s.vid, s.start_ms, s.last_viol_ms, "
            "s.last_value,"
            " v.state, v.descr FROM rules_state s LEFT JOIN rules_verification v ON v.vid = s.vid"
            " WHERE s.status = 1 AND (?1 IS NULL OR s.thing = ?1) AND (?2 IS NULL OR s.profile = "
            "?2)"
            " ORDER BY s.start_ms DESC, s.vid",
            -1, &st, NULL) != SQLITE_OK)
    {
        fail(r, 500, "InternalFailureException", "storage error");
        return;
    }
    if (thing)
        sqlite3_bind_text(st, 1, thing, -1, SQLITE_STATIC);
    if (prof)
        sqlite3_bind_text(st, 2, prof, -1, SQLITE_STATIC);
    cJSON *o = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(o, "activeViolations");
    size_t n = 0;
    int more = 0;
    while (f.ctype != 2 && sqlite3_step(st) == SQLITE_ROW)
    {
        rules_profile *p = rules_profile_find(e, (const char *) sqlite3_column_text(st, 1));
        rules_beh *b = p ? rules_beh_find(p, (const char *) sqlite3_column_text(st, 2)) : NULL;
        if (b == NULL)
            continue;
        if (f.ctype >= 0 && (b->stat_q >= 0) != f.ctype)
            continue;
        if (f.suppressed >= 0 && b->suppress != f.suppressed)
            continue;
        const char *vs = (const char *) sqlite3_column_text(st, 7);
        if (f.vstate && strcmp(vs ? vs : "UNKNOWN", f.vstate) != 0)
            continue;
        if (n < off)
        {
            n++;
            continue;
        }
        if (n >= off + lim)
        {
            more = 1;
            break;
        }
        n++;
        cJSON *it = cJSON_CreateObject();
        cJSON_AddStringToObject(it, "violationId", (const char *) sqlite3_column_text(st, 3));
        cJSON_AddStringToObject(it, "thingName", (const char *) sqlite3_column_text(st, 0));
        cJSON_AddStringToObject(it, "securityProfileName", p->name);
        cJSON_AddItemToObject(it, "behavior", cJSON_Duplicate(b->json, 1));
        add_parsed(it, "lastViolationValue", (const char *) sqlite3_column_text(st, 6));
        cJSON_AddNumberToObject(it, "lastViolationTime", epoch_s(sqlite3_column_int64(st, 5)));
        cJSON_AddNumberToObject(it, "violationStartTime", epoch_s(sqlite3_column_int64(st, 4)));
        if (vs)
        {
            cJSON_AddStringToObject(it, "verificationState", vs);
            const char *d = (const char *) sqlite3_column_text(st, 8);
            if (d && d[0])
                cJSON_AddStringToObject(it, "verificationStateDescription", d);
        }
        cJSON_AddItemToArray(arr, it);
    }
    sqlite3_finalize(st);
    if (more)
        add_next(o, off + lim);
    ok(r, o);
}

static void list_events(rules_engine *e, const qparams *q, resp *r)
{
    vfilter f;
    if (violation_filters(q, &f, r) != 0)
        return;
    int64_t t0, t1;
    const char *st0 = qget(q, "startTime"), *st1 = qget(q, "endTime");
    if (st0 == NULL || st1 == NULL)
    {
        bad(r, "startTime and endTime are required");
        return;
    }
    if (parse_time(st0, &t0) != 0 || parse_time(st1, &t1) != 0)
    {
        bad(r, "startTime and endTime must be ISO 8601 or epoch seconds");
        return;
    }
    if (t0 > t1)
    {
        bad(r, "startTime is after endTime");
        return;
    }
    size_t off, lim;
    if (page_args(q, r, &off, &lim, MAX_RESULTS) != 0)
        return;
    const char *thing = qget(q, "thingName");
    const char *prof = qget(q, "securityProfileName");
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(
            e->db,
            "SELECT e.time_ms, e.thing, e.profile, e.behavior_json, e.metric_value, e.type, e.vid,"
            " v.state, v.descr FROM rules_events e LEFT JOIN rules_verification v ON v.vid = e.vid"
            " WHERE e.time_ms >= ?1 AND e.time_ms <= ?2 AND (?3 IS NULL OR e.thing = ?3)"
            " AND (?4 IS NULL OR e.profile = ?4) AND (?5 IS NULL OR e.suppressed = ?5)"
            " AND (?6 IS NULL OR e.statistical = ?6)"
            " AND (?7 IS NULL OR COALESCE(v.state, 'UNKNOWN') = ?7)"
            " ORDER BY e.time_ms DESC, e.id DESC LIMIT ?8 OFFSET ?9",
            -1, &st, NULL) != SQLITE_OK)
    {
        fail(r, 500, "InternalFailureException", "storage error");
        return;
    }
    sqlite3_bind_int64(st, 1, t0);
    sqlite3_bind_int64(st, 2, t1);
    if (thing)
        sqlite3_bind_text(st, 3, thing, -1, SQLITE_STATIC);
    if (prof)
        sqlite3_bind_text(st, 4, prof, -1, SQLITE_STATIC);
    if (f.suppressed >= 0)
        sqlite3_bind_int(st, 5, f.suppressed);
    if (f.ctype >= 0)
        sqlite3_bind_int(st, 6, f.ctype);
    if (f.vstate)
        sqlite3_bind_text(st, 7, f.vstate, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 8, (int64_t) lim + 1);
    sqlite3_bind_int64(st, 9, (int64_t) off);
    cJSON *o = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(o, "violationEvents");
    size_t n = 0;
    int more = 0;
    while (sqlite3_step(st) == SQLITE_ROW)
    {
        if (n == lim)
        {
            more = 1;
            break;
        }
        n++;
        cJSON *it = cJSON_CreateObject();
        cJSON_AddStringToObject(it, "violationId", (const char *) sqlite3_column_text(st, 6));
        cJSON_AddStringToObject(it, "thingName", (const char *) sqlite3_column_text(st, 1));
        cJSON_AddStringToObject(it, "securityProfileName",
                                (const char *) sqlite3_column_text(st, 2));
        add_parsed(it, "behavior", (const char *) sqlite3_column_text(st, 3));
        add_parsed(it, "metricValue", (const char *) sqlite3_column_text(st, 4));
        cJSON_AddStringToObject(it, "violationEventType",
                                (const char *) sqlite3_column_text(st, 5));
        cJSON_AddNumberToObject(it, "violationEventTime", epoch_s(sqlite3_column_int64(st, 0)));
        const char *vs = (const char *) sqlite3_column_text(st, 7);
        if (vs)
        {
            cJSON_AddStringToObject(it, "verificationState", vs);
            const char *d = (const char *) sqlite3_column_text(st, 8);
            if (d && d[0])
                cJSON_AddStringToObject(it, "verificationStateDescription", d);
        }
        cJSON_AddItemToArray(arr, it);
    }
    sqlite3_finalize(st);
    if (f.ctype == 2)
        cJSON_DeleteItemFromObjectCaseSensitive(o, "violationEvents"),
            cJSON_AddArrayToObject(o, "violationEvents");
    else if (more)
        add_next(o, off + lim);
    ok(r, o);
}

static void put_verification(rules_engine *e, const char *vid, const char *body, size_t len,
                             resp *r)
{
    cJSON *j = parse_body(body, len, r, 1);
    if (j == NULL)
        return;
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(j, "verificationState");
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(j, "verificationStateDescription");
    if (!cJSON_IsString(s) || !vstate_ok(s->valuestring))
    {
        cJSON_Delete(j);
        bad(r, "verificationState is required: FALSE_POSITIVE, BENIGN_POSITIVE, TRUE_POSITIVE or "
               "UNKNOWN");
        return;
    }
    if (d != NULL)
    {
        int okd = cJSON_IsString(d) && strlen(d->valuestring) <= 4000;
        size_t chars = 0;
        for (const unsigned char *p = okd ? (const unsigned char *) d->valuestring : NULL; p && *p;
             p++)
        {
            if (*p < 0x20 || *p == 0x7f)
                okd = 0;
            if ((*p & 0xC0) != 0x80)
                chars++;
        }
        if (!okd || chars > 1000)
        {
            cJSON_Delete(j);
            bad(r, "verificationStateDescription must be at most 1000 characters without control "
                   "characters");
            return;
        }
    }
    sqlite3_stmt *st = NULL;
    int found = 0;
    if (sqlite3_prepare_v2(e->db,
                           "SELECT 1 FROM rules_events WHERE vid=?1 UNION SELECT 1 FROM rules_state"
                           " WHERE vid=?1 LIMIT 1",
                           -1, &st, NULL) == SQLITE_OK)
    {
        sqlite3_bind_text(st, 1, vid, -1, SQLITE_STATIC);
        found = sqlite3_step(st) == SQLITE_ROW;
        sqlite3_finalize(st);
    }
    if (!found)
    {
        cJSON_Delete(j);
        fail(r, 400, "InvalidRequestException", "Violation %.128s does not exist", vid);
        return;
    }
    if (rules_tx_begin(e) != 0 ||
        sqlite3_prepare_v2(
            e->db, "INSERT OR REPLACE INTO rules_verification(vid, state, descr) VALUES(?,?,?)", -1,
            &st, NULL) != SQLITE_OK)
    {
        cJSON_Delete(j);
        fail(r, 500, "InternalFailureException", "storage error");
        return;
    }
    sqlite3_bind_text(st, 1, vid, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, s->valuestring, -1, SQLITE_STATIC);
    if (cJSON_IsString(d))
        sqlite3_bind_text(st, 3, d->valuestring, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    cJSON_Delete(j);
    if (rc != SQLITE_DONE)
        fail(r, 500, "InternalFailureException", "storage error");
    else
        ok(r, NULL);
}

/* ---------------------------------------------------------------------------------------------
 * Dimensions (6.2)
 * ------------------------------------------------------------------------------------------- */

static rules_dim *dim_find(rules_engine *e, const char *name)
{
    for (size_t i = 0; i < e->ndims; i++)
        if (strcmp(e->dims[i].name, name) == 0)
            return &e->dims[i];
    return NULL;
}

static int string_values_ok(const cJSON *sv)
{
    if (!cJSON_IsArray(sv))
        return 0;
    int n = cJSON_GetArraySize(sv);
    if (n < 1 || n > 100)
        return 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, sv)
    {
        if (!cJSON_IsString(it) || strlen(it->valuestring) < 1 || strlen(it->valuestring) > 256)
            return 0;
    }
    return 1;
}

static int dim_store(rules_engine *e, const rules_dim *d)
{
    cJSON *doc = cJSON_CreateObject();
    if (doc == NULL)
        return -1;
    cJSON_AddItemToObject(doc, "stringValues", cJSON_Duplicate(d->values, 1));
    if (d->tags)
        cJSON_AddItemToObject(doc, "tags", cJSON_Duplicate(d->tags, 1));
    if (d->token[0])
        cJSON_AddStringToObject(doc, "clientRequestToken", d->token);
    char *txt = cJSON_PrintUnformatted(doc);
    cJSON_Delete(doc);
    if (txt == NULL)
        return -1;
    sqlite3_stmt *st = NULL;
    int rc = SQLITE_ERROR;
    if (rules_tx_begin(e) == 0 &&
        sqlite3_prepare_v2(
            e->db,
            "INSERT OR REPLACE INTO rules_dimensions(name, doc, created_ms, modified_ms)"
            " VALUES(?,?,?,?)",
            -1, &st, NULL) == SQLITE_OK)
    {
        sqlite3_bind_text(st, 1, d->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, txt, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, d->created_ms);
        sqlite3_bind_int64(st, 4, d->modified_ms);
        rc = sqlite3_step(st);
    }
    sqlite3_finalize(st);
    cJSON_free(txt);
    return rc == SQLITE_DONE ? 0 : -1;
}

static cJSON *describe_dim(rules_engine *e, const rules_dim *d)
{
    char arn[400];
    rules_make_arn(e, arn, sizeof arn, "dimension", d->name);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", d->name);
    cJSON_AddStringToObject(o, "arn", arn);
    cJSON_AddStringToObject(o, "type", "TOPIC_FILTER");
    cJSON_AddItemToObject(o, "stringValues", cJSON_Duplicate(d->values, 1));
    cJSON_AddNumberToObject(o, "creationDate", epoch_s(d->created_ms));
    cJSON_AddNumberToObject(o, "lastModifiedDate", epoch_s(d->modified_ms));
    return o;
}

static void dims_op(rules_engine *e, const char *method, const char *name, const qparams *q,
                    const char *body, size_t len, resp *r)
{
    if (name == NULL)
    {
        size_t off, lim;
        if (page_args(q, r, &off, &lim, MAX_RESULTS) != 0)
            return;
        const char **names = calloc(e->ndims + 1, sizeof *names);
        if (names == NULL)
        {
            fail(r, 500, "InternalFailureException", "out of memory");
            return;
        }
        for (size_t i = 0; i < e->ndims; i++)
            names[i] = e->dims[i].name;
        qsort(names, e->ndims, sizeof *names, cmp_str);
        cJSON *o = cJSON_CreateObject();
        cJSON *arr = cJSON_AddArrayToObject(o, "dimensionNames");
        for (size_t i = off; i < e->ndims && i < off + lim; i++)
            cJSON_AddItemToArray(arr, cJSON_CreateString(names[i]));
        if (off + lim < e->ndims)
            add_next(o, off + lim);
        free(names);
        ok(r, o);
        return;
    }
    if (!rules_name_ok(name, 1, RULES_NAME_MAX))
    {
        bad(r, "name must be 1..128 characters of [a-zA-Z0-9:_-]");
        return;
    }
    rules_dim *d = dim_find(e, name);
    if (strcmp(method, "GET") == 0)
    {
        if (d == NULL)
            fail(r, 404, "ResourceNotFoundException", "Dimension %s does not exist", name);
        else
            ok(r, describe_dim(e, d));
        return;
    }
    if (strcmp(method, "DELETE") == 0)
    {
        if (d == NULL)
        {
            ok(r, NULL);
            return;
        }
        for (size_t i = 0; i < e->nprofiles; i++)
            if (profile_uses(e->profiles[i], name, NULL))
            {
                fail(r, 400, "InvalidRequestException",
                     "Dimension %s is used by security profile %s", name, e->profiles[i]->name);
                return;
            }
        sqlite3_stmt *st = NULL;
        if (rules_tx_begin(e) == 0 &&
            sqlite3_prepare_v2(e->db, "DELETE FROM rules_dimensions WHERE name=?", -1, &st, NULL) ==
                SQLITE_OK)
        {
            sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
            sqlite3_step(st);
            sqlite3_finalize(st);
        }
        cJSON_Delete(d->values);
        cJSON_Delete(d->tags);
        *d = e->dims[--e->ndims];
        ok(r, NULL);
        return;
    }
    cJSON *j = parse_body(body, len, r, 1);
    if (j == NULL)
        return;
    const cJSON *sv = cJSON_GetObjectItemCaseSensitive(j, "stringValues");
    if (strcmp(method, "PATCH") == 0)
    {
        if (d == NULL)
            fail(r, 404, "ResourceNotFoundException", "Dimension %s does not exist", name);
        else if (!string_values_ok(sv))
            bad(r, "stringValues must be a list of 1..100 topic filters of 1..256 characters");
        else
        {
            cJSON_Delete(d->values);
            d->values = cJSON_Duplicate(sv, 1);
            d->modified_ms = rules_now(e);
            if (dim_store(e, d) != 0)
                fail(r, 500, "InternalFailureException", "storage error");
            else
                ok(r, describe_dim(e, d));
        }
        cJSON_Delete(j);
        return;
    }
    /* POST: create */
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(j, "type");
    const cJSON *tok = cJSON_GetObjectItemCaseSensitive(j, "clientRequestToken");
    const cJSON *tags = cJSON_GetObjectItemCaseSensitive(j, "tags");
    char arn[400];
    rules_make_arn(e, arn, sizeof arn, "dimension", name);
    if (!cJSON_IsString(type) || strcmp(type->valuestring, "TOPIC_FILTER") != 0)
        bad(r, "type must be TOPIC_FILTER");
    else if (!string_values_ok(sv))
        bad(r, "stringValues must be a list of 1..100 topic filters of 1..256 characters");
    else if (tok != NULL && (!cJSON_IsString(tok) || !rules_name_ok(tok->valuestring, 1, 64) ||
                             strchr(tok->valuestring, ':') != NULL))
        bad(r, "clientRequestToken must be 1..64 characters of [a-zA-Z0-9-_]");
    else if (tags != NULL && !cJSON_IsArray(tags))
        bad(r, "tags must be a list");
    else if (d != NULL && !(cJSON_IsString(tok) && strcmp(d->token, tok->valuestring) == 0))
    {
        fail(r, 409, "ResourceAlreadyExistsException", "Dimension %s already exists", name);
        cJSON_AddStringToObject(r->body, "resourceId", name);
        cJSON_AddStringToObject(r->body, "resourceArn", arn);
    }
    else
    {
        int stored = 0, limited = d == NULL && e->ndims >= RULES_MAX_DIMENSIONS;
        if (limited)
            fail(r, 410, "LimitExceededException", "at most %d dimensions", RULES_MAX_DIMENSIONS);
        else if (d == NULL)
        {
            rules_dim *nd = realloc(e->dims, (e->ndims + 1) * sizeof *nd);
            if (nd != NULL)
            {
                e->dims = nd;
                d = &e->dims[e->ndims];
                memset(d, 0, sizeof *d);
                snprintf(d->name, sizeof d->name, "%s", name);
                d->values = cJSON_Duplicate(sv, 1);
                d->tags = tags ? cJSON_Duplicate(tags, 1) : NULL;
                if (cJSON_IsString(tok))
                    snprintf(d->token, sizeof d->token, "%s", tok->valuestring);
                d->created_ms = d->modified_ms = rules_now(e);
                if (dim_store(e, d) == 0)
                {
                    e->ndims++;
                    stored = 1;
                }
                else
                {
                    cJSON_Delete(d->values);
                    cJSON_Delete(d->tags);
                }
            }
        }
        else
            stored = 1;
        if (limited)
            (void) 0;
        else if (!stored)
            fail(r, 500, "InternalFailureException", "storage error");
        else
        {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "name", name);
            cJSON_AddStringToObject(o, "arn", arn);
            ok(r, o);
        }
    }
    cJSON_Delete(j);
}

/* ---------------------------------------------------------------------------------------------
 * Registry and thing groups
 * ------------------------------------------------------------------------------------------- */

static int simple_sql(rules_engine *e, const char *sql, const char *a, const char *b)
{
    sqlite3_stmt *st = NULL;
    if (rules_tx_begin(e) != 0 || sqlite3_prepare_v2(e->db, sql, -1, &st, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
    if (b)
        sqlite3_bind_text(st, 2, b, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

static void things_op(rules_engine *e, const char *method, const char *name, resp *r)
{
    if (!rules_name_ok(name, 1, RULES_NAME_MAX))
    {
        bad(r, "thingName must be 1..128 characters of [a-zA-Z0-9:_-]");
        return;
    }
    char arn[400];
    rules_make_arn(e, arn, sizeof arn, "thing", name);
    rules_thing *th = rules_thing_get(e, name, strlen(name), strcmp(method, "POST") == 0);
    if (strcmp(method, "POST") == 0)
    {
        if (th == NULL ||
            simple_sql(e, "INSERT OR IGNORE INTO rules_things(name) VALUES(?)", name, NULL) != 0)
        {
            fail(r, 500, "InternalFailureException", "storage error");
            return;
        }
        th->registered = 1;
        rules_recheck_coverage(e, name);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "thingName", name);
        cJSON_AddStringToObject(o, "thingArn", arn);
        cJSON_AddStringToObject(o, "thingId", name);
        ok(r, o);
        return;
    }
    if (th == NULL || !th->registered)
    {
        if (strcmp(method, "DELETE") == 0)
            ok(r, NULL);
        else
            fail(r, 404, "ResourceNotFoundException", "Thing %s does not exist", name);
        return;
    }
    if (strcmp(method, "DELETE") == 0)
    {
        th->registered = 0;
        simple_sql(e, "DELETE FROM rules_things WHERE name=?", name, NULL);
        rules_recheck_coverage(e, name);
        ok(r, NULL);
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "thingName", name);
    cJSON_AddStringToObject(o, "thingArn", arn);
    cJSON_AddStringToObject(o, "thingId", name);
    cJSON_AddNumberToObject(o, "version", 1);
    ok(r, o);
}

static const char *name_or_arn(const cJSON *j, const char *nk, const char *ak)
{
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(j, nk);
    if (cJSON_IsString(n))
        return n->valuestring;
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(j, ak);
    if (cJSON_IsString(a))
    {
        const char *s = strrchr(a->valuestring, '/');
        return s ? s + 1 : NULL;
    }
    return NULL;
}

static void membership_op(rules_engine *e, int add, const char *body, size_t len, resp *r)
{
    cJSON *j = parse_body(body, len, r, 1);
    if (j == NULL)
        return;
    const char *g = name_or_arn(j, "thingGroupName", "thingGroupArn");
    const char *t = name_or_arn(j, "thingName", "thingArn");
    if (g == NULL || t == NULL || !rules_name_ok(g, 1, RULES_NAME_MAX) ||
        !rules_name_ok(t, 1, RULES_NAME_MAX))
        bad(r, "thingGroupName (or thingGroupArn) and thingName (or thingArn) are required");
    else if (rules_group_find(e, g) == NULL)
        fail(r, 404, "ResourceNotFoundException", "Thing group %s does not exist", g);
    else if (add)
    {
        if (rules_group_add_member(e, g, t) != 0 ||
            simple_sql(e, "INSERT OR IGNORE INTO rules_members(grp, thing) VALUES(?,?)", g, t) != 0)
            fail(r, 500, "InternalFailureException", "storage error");
        else
            ok(r, NULL);
    }
    else
    {
        rules_group_remove_member(e, g, t);
        simple_sql(e, "DELETE FROM rules_members WHERE grp=? AND thing=?", g, t);
        rules_recheck_coverage(e, t);
        ok(r, NULL);
    }
    cJSON_Delete(j);
}

static void groups_op(rules_engine *e, const char *method, const char *name, const char *body,
                      size_t len, resp *r)
{
    if (!rules_name_ok(name, 1, RULES_NAME_MAX))
    {
        bad(r, "thingGroupName must be 1..128 characters of [a-zA-Z0-9:_-]");
        return;
    }
    char arn[400];
    rules_make_arn(e, arn, sizeof arn, "thinggroup", name);
    rules_group *g = rules_group_find(e, name);
    if (strcmp(method, "POST") == 0)
    {
        cJSON *j = parse_body(body, len, r, 0);
        if (j == NULL)
            return;
        const cJSON *par = cJSON_GetObjectItemCaseSensitive(j, "parentGroupName");
        const char *parent = cJSON_IsString(par) ? par->valuestring : NULL;
        if (par != NULL && !cJSON_IsString(par))
            bad(r, "parentGroupName must be a string");
        else if (parent != NULL && rules_group_find(e, parent) == NULL)
            fail(r, 404, "ResourceNotFoundException", "Thing group %.128s does not exist", parent);
        else if (parent != NULL && group_is_descendant(e, parent, name))
            bad(r, "a thing group cannot be its own ancestor");
        else if (g == NULL && (rules_group_add(e, name, parent, 0) != 0 ||
                               simple_sql(e,
                                          "INSERT OR REPLACE INTO rules_groups(name, parent) "
                                          "VALUES(?,?)",
                                          name, parent) != 0))
            fail(r, 500, "InternalFailureException", "storage error");
        else
        {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "thingGroupName", name);
            cJSON_AddStringToObject(o, "thingGroupArn", arn);
            cJSON_AddStringToObject(o, "thingGroupId", name);
            ok(r, o);
        }
        cJSON_Delete(j);
        return;
    }
    if (g == NULL)
    {
        if (strcmp(method, "DELETE") == 0)
            ok(r, NULL);
        else
            fail(r, 404, "ResourceNotFoundException", "Thing group %s does not exist", name);
        return;
    }
    if (strcmp(method, "DELETE") == 0)
    {
        for (size_t i = 0; i < e->ntbl; i++)
            for (rules_thing *t = e->tbl[i]; t != NULL; t = t->next)
                rules_group_remove_member(e, name, t->name);
        simple_sql(e, "DELETE FROM rules_groups WHERE name=?", name, NULL);
        simple_sql(e, "DELETE FROM rules_members WHERE grp=?", name, NULL);
        /* Its child groups become top-level groups: by name they would otherwise become the
         * children of a group created later with the same name. */
        for (size_t i = 0; i < e->ngroups; i++)
            if (strcmp(e->groups[i].parent, name) == 0)
                e->groups[i].parent[0] = '\0';
        simple_sql(e, "UPDATE rules_groups SET parent=NULL WHERE parent=?", name, NULL);
        *g = e->groups[--e->ngroups];
        rules_recheck_coverage(e, NULL);
        ok(r, NULL);
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "thingGroupName", name);
    cJSON_AddStringToObject(o, "thingGroupArn", arn);
    cJSON_AddStringToObject(o, "thingGroupId", name);
    cJSON_AddNumberToObject(o, "version", 1);
    if (g->parent[0])
    {
        cJSON *m = cJSON_AddObjectToObject(o, "thingGroupMetadata");
        cJSON_AddStringToObject(m, "parentGroupName", g->parent);
    }
    ok(r, o);
}

static void counters_op(rules_engine *e, resp *r)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "Violations", (double) e->n_violations);
    cJSON_AddNumberToObject(o, "ViolationsCleared", (double) e->n_cleared);
    cJSON_AddNumberToObject(o, "ViolationsInvalidated", (double) e->n_invalidated);
    pthread_mutex_lock(&e->amu);
    cJSON_AddNumberToObject(o, "AlertsSent", (double) e->n_alerts_sent);
    cJSON_AddNumberToObject(o, "AlertFailures", (double) e->n_alert_failures);
    pthread_mutex_unlock(&e->amu);
    cJSON_AddNumberToObject(o, "SecurityProfiles", (double) e->nprofiles);
    cJSON_AddNumberToObject(o, "Things", (double) e->nthings);
    ok(r, o);
}

/* ---------------------------------------------------------------------------------------------
 * Dispatch
 * ------------------------------------------------------------------------------------------- */

static int prefix(const char *path, const char *p, const char **rest)
{
    size_t n = strlen(p);
    if (strncmp(path, p, n) != 0)
        return 0;
    *rest = path + n;
    return 1;
}

static int route(rules_engine *e, const char *m, const char *path, const qparams *q,
                 const char *body, size_t len, resp *r)
{
    const char *rest;
    int get = strcmp(m, "GET") == 0;
    if (strcmp(path, "/security-profiles") == 0 && get)
        list_profiles(e, q, r);
    else if (strcmp(path, "/security-profiles-for-target") == 0 && get)
        profiles_for_target(e, q, r);
    else if (strcmp(path, "/security-profile-behaviors/validate") == 0 && strcmp(m, "POST") == 0)
        validate_behaviors(e, body, len, r);
    else if (prefix(path, "/security-profiles/", &rest))
    {
        char name[RULES_NAME_MAX + 16];
        const char *slash = strchr(rest, '/');
        size_t nl = slash ? (size_t) (slash - rest) : strlen(rest);
        if (nl >= sizeof name)
            nl = sizeof name - 1;
        memcpy(name, rest, nl);
        name[nl] = '\0';
        if (slash != NULL && strcmp(slash, "/targets") != 0)
            return 0;
        if (!rules_name_ok(name, 1, RULES_NAME_MAX))
        {
            bad(r, "securityProfileName must be 1..128 characters of [a-zA-Z0-9:_-]");
            return 1;
        }
        rules_profile *p = rules_profile_find(e, name);
        if (slash == NULL && strcmp(m, "POST") == 0)
        {
            create_profile(e, name, body, len, r);
            return 1;
        }
        if (p == NULL)
        {
            if (strcmp(m, "DELETE") == 0 && slash == NULL)
                ok(r, NULL); /* AWS: deleting a missing profile succeeds */
            else
                fail(r, 404, "ResourceNotFoundException", "Security profile %s does not exist",
                     name);
            return 1;
        }
        if (slash != NULL)
        {
            if (get || strcmp(m, "PUT") == 0 || strcmp(m, "DELETE") == 0)
                targets_op(e, p, m, q, r);
            else
                fail(r, 405, "InvalidRequestException", "method not allowed");
        }
        else if (get)
            ok(r, describe_profile(e, p));
        else if (strcmp(m, "PATCH") == 0)
            update_profile(e, p, q, body, len, r);
        else if (strcmp(m, "DELETE") == 0)
        {
            if (check_version(q, p, r) == 0)
            {
                if (rules_tx_begin(e) != 0)
                    fail(r, 500, "InternalFailureException", "storage error");
                else
                {
                    rules_profile_delete(e, p);
                    ok(r, NULL);
                }
            }
        }
        else
            fail(r, 405, "InvalidRequestException", "method not allowed");
    }
    else if (strcmp(path, "/active-violations") == 0 && get)
        list_active(e, q, r);
    else if (strcmp(path, "/violation-events") == 0 && get)
        list_events(e, q, r);
    else if (prefix(path, "/violations/verification-state/", &rest) && strcmp(m, "POST") == 0)
    {
        if (!rules_name_ok(rest, 1, 128) || strchr(rest, ':') || strchr(rest, '_'))
            bad(r, "violationId must be 1..128 characters of [a-zA-Z0-9-]");
        else
            put_verification(e, rest, body, len, r);
    }
    else if (strcmp(path, "/dimensions") == 0 && get)
        dims_op(e, m, NULL, q, body, len, r);
    else if (prefix(path, "/dimensions/", &rest))
        dims_op(e, m, rest, q, body, len, r);
    else if (strcmp(path, "/thing-groups/addThingToThingGroup") == 0 && strcmp(m, "PUT") == 0)
        membership_op(e, 1, body, len, r);
    else if (strcmp(path, "/thing-groups/removeThingFromThingGroup") == 0 && strcmp(m, "PUT") == 0)
        membership_op(e, 0, body, len, r);
    else if (prefix(path, "/thing-groups/", &rest) &&
             (strcmp(m, "POST") == 0 || get || strcmp(m, "DELETE") == 0))
        groups_op(e, m, rest, body, len, r);
    else if (prefix(path, "/things/", &rest) &&
             (strcmp(m, "POST") == 0 || get || strcmp(m, "DELETE") == 0))
        things_op(e, m, rest, r);
    else if (strcmp(path, "/rules/counters") == 0 && get)
        counters_op(e, r);
    else
        return 0;
    return 1;
}

int rules_http_handle(rules_engine *e, const char *method, const char *path, const char *query,
                      const char *body, size_t body_len, int *status, char **response_json,
                      const char **error_type)
{
    *status = 500;
    *response_json = NULL;
    *error_type = NULL;
    if (e == NULL || method == NULL || path == NULL)
        return 0;
    qparams q;
    resp r = {500, "InternalFailureException", NULL};
    int handled;
    if (parse_query(query, &q) != 0)
    {
        free_query(&q);
        bad(&r, "malformed or too many query parameters");
        handled = 1;
    }
    else
    {
        rules_lock(e);
        /* what the report path wrote is committed first: a failed operation rolls back
         * only its own writes */
        rules_flush_dirty(e);
        rules_tx_commit(e);
        handled = route(e, method, path, &q, body, body_len, &r);
        if (handled && r.status != 200 && e->in_tx)
        {
            /* a failed operation keeps nothing it wrote */
            rules_exec(e, "ROLLBACK");
            e->in_tx = 0;
        }
        rules_end(e);
        free_query(&q);
    }
    if (!handled)
    {
        cJSON_Delete(r.body);
        return 0;
    }
    *status = r.status;
    *error_type = r.status == 200 ? NULL : r.type;
    *response_json = r.body ? cJSON_PrintUnformatted(r.body) : NULL;
    cJSON_Delete(r.body);
    if (*response_json == NULL)
    {
        *response_json = strdup("{\"message\":\"out of memory\"}");
        *status = 500;
        *error_type = "InternalFailureException";
    }
    return 1;
}
