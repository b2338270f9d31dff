/* Test helpers: an engine on a temporary database with a pinned clock, reports derived by
 * the service's own validator (report_validate), API calls through rules_http_handle. */
#ifndef RULES_TEST_UTIL_H
#define RULES_TEST_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "rules.h"
#include "strbuf.h"

#include <sqlite3.h>

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define T0 1767225600LL

typedef struct
{
    rules_engine *e;
    char dir[256];
    char db[300];
    _Atomic int64_t now_ms; /* read by the engine's tick thread */
    pthread_mutex_t mu;
    char *alerts[256];
    size_t nalerts;
    int publish_fail;
    const char *groups_file;
    int direct_members_only; /* RD-7 option, for engines opened after it is set */
} rt_env;

static cm_type rt_custom(void *ctx, const char *name, size_t len)
{
    (void) ctx;
    static const struct
    {
        const char *n;
        cm_type t;
    } defs[] = {{"battery_pct", CM_NUMBER},
                {"wifi_channels", CM_NUMBER_LIST},
                {"fw_components", CM_STRING_LIST},
                {"dns_servers", CM_IP_LIST}};
    for (size_t i = 0; i < sizeof defs / sizeof defs[0]; i++)
        if (strlen(defs[i].n) == len && memcmp(defs[i].n, name, len) == 0)
            return defs[i].t;
    return CM_NONE;
}

static int64_t rt_now(void *ctx)
{
    rt_env *v = ctx;
    return v->now_ms;
}

static int rt_publish(void *ctx, const char *topic, const void *payload, size_t len)
{
    rt_env *v = ctx;
    (void) topic;
    pthread_mutex_lock(&v->mu);
    if (v->publish_fail)
    {
        pthread_mutex_unlock(&v->mu);
        return -1;
    }
    if (v->nalerts < 256)
    {
        char *c = malloc(len + 1);
        if (c)
        {
            memcpy(c, payload, len);
            c[len] = '\0';
            v->alerts[v->nalerts++] = c;
        }
    }
    pthread_mutex_unlock(&v->mu);
    return 0;
}

static rules_engine *rt_open_engine(rt_env *v, const char *url, int start)
{
    rules_config c;
    rules_config_defaults(&c);
    c.db_path = v->db;
    c.now_ms = rt_now;
    c.now_ctx = v;
    c.custom_type = rt_custom;
    c.publish = rt_publish;
    c.publish_ctx = v;
    c.alert_url = url;
    c.thing_groups_file = v->groups_file;
    c.direct_members_only = v->direct_members_only;
    c.tick_ms = 50;
    char err[256] = "";
    rules_engine *e = rules_open(&c, err, sizeof err);
    if (e == NULL)
        fail_msg("rules_open: %s", err);
    if (start && rules_start(e) != 0)
        fail_msg("rules_start failed");
    return e;
}

static rt_env *rt_setup(int start)
{
    rt_env *v = calloc(1, sizeof *v);
    assert_non_null(v);
    snprintf(v->dir, sizeof v->dir, "/tmp/rules-test-XXXXXX");
    assert_non_null(mkdtemp(v->dir));
    snprintf(v->db, sizeof v->db, "%s/detect.db", v->dir);
    pthread_mutex_init(&v->mu, NULL);
    v->now_ms = T0 * 1000;
    v->e = rt_open_engine(v, NULL, start);
    return v;
}

static void rt_teardown(rt_env *v)
{
    rules_close(v->e);
    for (size_t i = 0; i < v->nalerts; i++)
        free(v->alerts[i]);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", v->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cleanup of %s failed\n", v->dir);
    pthread_mutex_destroy(&v->mu);
    free(v);
}

/* Calls the API; returns the status and the parsed body in *out (caller deletes). */
static int rt_api(rt_env *v, const char *method, const char *path, const char *query,
                  const char *body, cJSON **out, const char **etype)
{
    int st = 0;
    char *resp = NULL;
    const char *et = NULL;
    int handled = rules_http_handle(v->e, method, path, query, body, body ? strlen(body) : 0, &st,
                                    &resp, &et);
    if (!handled)
        return -1;
    if (etype)
        *etype = et;
    if (out)
        *out = resp ? cJSON_Parse(resp) : NULL;
    rules_free(resp);
    return st;
}

__attribute__((unused)) static void rt_ok(rt_env *v, const char *method, const char *path,
                                          const char *query, const char *body)
{
    cJSON *o = NULL;
    int st = rt_api(v, method, path, query, body, &o, NULL);
    if (st != 200)
    {
        char *t = o ? cJSON_PrintUnformatted(o) : NULL;
        fail_msg("%s %s?%s -> %d %s", method, path, query ? query : "", st, t ? t : "");
    }
    cJSON_Delete(o);
}

/* Feeds one JSON device report received at T0 + t seconds (fractional ms allowed). */
static void rt_report_ms(rt_env *v, const char *thing, int64_t ms, const char *json)
{
    arena a;
    arena_init(&a, 0);
    validate_opts o = {0, rt_custom, NULL};
    report_result r;
    report_validate(&a, (const uint8_t *) json, strlen(json), FMT_JSON, &o, &r);
    if (!r.ok)
    {
        arena_free(&a);
        fail_msg("report rejected: %s (%s)", r.reason, json);
    }
    v->now_ms = ms;
    /* store it as the service does (its reports table feeds the engine's replay) */
    strbuf dj;
    sb_init(&dj, 1u << 20);
    assert_true(datapoints_to_json(r.dps, r.ndps, &dj));
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(v->db, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    assert_int_equal(
        sqlite3_exec(db,
                     "CREATE TABLE IF NOT EXISTS things(id INTEGER PRIMARY KEY, name TEXT NOT NULL "
                     "UNIQUE);CREATE TABLE IF NOT EXISTS reports(id INTEGER PRIMARY KEY, thing_id "
                     "INTEGER NOT NULL, report_id INTEGER NOT NULL, received_ms INTEGER NOT NULL, "
                     "fmt INTEGER NOT NULL, flags TEXT, datapoints TEXT);",
                     NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_stmt *st = NULL;
    assert_int_equal(
        sqlite3_prepare_v2(db, "INSERT OR IGNORE INTO things(name) VALUES(?)", -1, &st, NULL),
        SQLITE_OK);
    sqlite3_bind_text(st, 1, thing, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
    assert_int_equal(
        sqlite3_prepare_v2(db,
                           "INSERT INTO reports(thing_id, report_id, received_ms, fmt, datapoints) "
                           "SELECT id, ?, ?, 0, ? FROM things WHERE name=?",
                           -1, &st, NULL),
        SQLITE_OK);
    sqlite3_bind_int64(st, 1, (sqlite3_int64) r.report_id);
    sqlite3_bind_int64(st, 2, ms);
    sqlite3_bind_text(st, 3, sb_cstr(&dj), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, thing, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
    sqlite3_close(db);
    sb_free(&dj);
    rules_on_report(v->e, thing, strlen(thing), ms, r.dps, r.ndps);
    arena_free(&a);
}

__attribute__((unused, format(printf, 4, 5))) static void
rt_report(rt_env *v, const char *thing, int64_t t, const char *body_fmt, ...)
{
    char body[8192], json[9000];
    va_list ap;
    va_start(ap, body_fmt);
    vsnprintf(body, sizeof body, body_fmt, ap);
    va_end(ap);
    static unsigned long long rid = 1;
    snprintf(json, sizeof json, "{\"header\":{\"report_id\":%llu,\"version\":\"1.0\"},%s}", rid++,
             body);
    rt_report_ms(v, thing, (T0 + t) * 1000, json);
}

/* Events in [T0+t0, T0+t1] (newest first), optional extra query. */
__attribute__((unused)) static cJSON *rt_events(rt_env *v, int64_t t0, int64_t t1,
                                                const char *extra)
{
    char q[512];
    snprintf(q, sizeof q, "startTime=%lld&endTime=%lld%s%s", (long long) (T0 + t0),
             (long long) (T0 + t1), extra ? "&" : "", extra ? extra : "");
    cJSON *o = NULL;
    int st = rt_api(v, "GET", "/violation-events", q, NULL, &o, NULL);
    assert_int_equal(st, 200);
    cJSON *ev = cJSON_DetachItemFromObjectCaseSensitive(o, "violationEvents");
    cJSON_Delete(o);
    assert_non_null(ev);
    return ev;
}

/* Compares JSON text with a cJSON value semantically. */
static int rt_json_eq(const cJSON *got, const char *want)
{
    cJSON *w = cJSON_Parse(want);
    int eq = w != NULL && got != NULL && cJSON_Compare(got, w, 1);
    cJSON_Delete(w);
    return eq;
}

/* Finds the event of type/behavior at time T0+t in a list; NULL when absent. */
static const cJSON *rt_find_event(const cJSON *evs, const char *type, const char *beh, int64_t t,
                                  const char *thing)
{
    const cJSON *ev;
    cJSON_ArrayForEach(ev, evs)
    {
        const cJSON *b = cJSON_GetObjectItemCaseSensitive(ev, "behavior");
        const cJSON *bn = cJSON_GetObjectItemCaseSensitive(b, "name");
        const cJSON *ty = cJSON_GetObjectItemCaseSensitive(ev, "violationEventType");
        const cJSON *tm = cJSON_GetObjectItemCaseSensitive(ev, "violationEventTime");
        const cJSON *th = cJSON_GetObjectItemCaseSensitive(ev, "thingName");
        if (strcmp(ty->valuestring, type) == 0 && strcmp(bn->valuestring, beh) == 0 &&
            (int64_t) (tm->valuedouble + 0.5) == T0 + t &&
            (thing == NULL || strcmp(th->valuestring, thing) == 0))
            return ev;
    }
    return NULL;
}

static const char *rt_vid(const cJSON *ev)
{
    return cJSON_GetObjectItemCaseSensitive(ev, "violationId")->valuestring;
}

/* Asserts an event exists with that metric value; returns its violation id. */
__attribute__((unused)) static const char *rt_expect(const cJSON *evs, const char *type,
                                                     const char *beh, int64_t t, const char *thing,
                                                     const char *value)
{
    const cJSON *ev = rt_find_event(evs, type, beh, t, thing);
    if (ev == NULL)
    {
        char *all = cJSON_PrintUnformatted(evs);
        fail_msg("missing %s %s at t=%lld for %s; events: %s", type, beh, (long long) t,
                 thing ? thing : "-", all ? all : "");
    }
    const cJSON *mv = cJSON_GetObjectItemCaseSensitive(ev, "metricValue");
    if (value == NULL)
    {
        if (mv != NULL)
            fail_msg("%s %s at t=%lld: metricValue present", type, beh, (long long) t);
    }
    else if (!rt_json_eq(mv, value))
    {
        char *g = cJSON_PrintUnformatted(mv);
        fail_msg("%s %s at t=%lld: metricValue %s, want %s", type, beh, (long long) t,
                 g ? g : "(none)", value);
    }
    return rt_vid(ev);
}

__attribute__((unused)) static int rt_count_at(const cJSON *evs, int64_t t)
{
    int n = 0;
    const cJSON *ev;
    cJSON_ArrayForEach(ev, evs)
    {
        const cJSON *tm = cJSON_GetObjectItemCaseSensitive(ev, "violationEventTime");
        if ((int64_t) (tm->valuedouble + 0.5) == T0 + t)
            n++;
    }
    return n;
}

__attribute__((unused)) static size_t rt_alert_count(rt_env *v)
{
    pthread_mutex_lock(&v->mu);
    size_t n = v->nalerts;
    pthread_mutex_unlock(&v->mu);
    return n;
}

#endif
