/* Rules Detect engine: profiles in memory, evaluation of accepted reports (section 4),
 * alarm state machine (4.5), fleet statistics (4.6), invalidation (4.7, 4.8), persistence. */
#include "rules_engine.h"

#include "strbuf.h"

#include <arpa/inet.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

static const char *const g_schema =
    "CREATE TABLE IF NOT EXISTS rules_profiles(name TEXT PRIMARY KEY, doc TEXT NOT NULL,"
    " version INTEGER NOT NULL, created_ms INTEGER NOT NULL, modified_ms INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS rules_targets(profile TEXT NOT NULL, arn TEXT NOT NULL,"
    " PRIMARY KEY(profile, arn));"
    "CREATE TABLE IF NOT EXISTS rules_things(name TEXT PRIMARY KEY);"
    "CREATE TABLE IF NOT EXISTS rules_groups(name TEXT PRIMARY KEY, parent TEXT);"
    "CREATE TABLE IF NOT EXISTS rules_members(grp TEXT NOT NULL, thing TEXT NOT NULL,"
    " PRIMARY KEY(grp, thing));"
    "CREATE TABLE IF NOT EXISTS rules_dimensions(name TEXT PRIMARY KEY, doc TEXT NOT NULL,"
    " created_ms INTEGER NOT NULL, modified_ms INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS rules_state(thing TEXT NOT NULL, profile TEXT NOT NULL,"
    " behavior TEXT NOT NULL, status INTEGER NOT NULL, nv INTEGER NOT NULL, nc INTEGER NOT NULL,"
    " last_dp_ms INTEGER NOT NULL, vid TEXT, start_ms INTEGER, last_viol_ms INTEGER,"
    " last_value TEXT, PRIMARY KEY(thing, profile, behavior));"
    "CREATE INDEX IF NOT EXISTS rules_state_dp ON rules_state(last_dp_ms);"
    "CREATE TABLE IF NOT EXISTS rules_events(id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " time_ms INTEGER NOT NULL, thing TEXT NOT NULL, profile TEXT NOT NULL, behavior TEXT NOT NULL,"
    " behavior_json TEXT NOT NULL, metric_value TEXT, type TEXT NOT NULL, vid TEXT NOT NULL,"
    " suppressed INTEGER NOT NULL, statistical INTEGER NOT NULL, notify INTEGER NOT NULL,"
    " topic_arn TEXT, alert TEXT);"
    "CREATE INDEX IF NOT EXISTS rules_events_time ON rules_events(time_ms);"
    "CREATE INDEX IF NOT EXISTS rules_events_notify ON rules_events(notify);"
    "CREATE TABLE IF NOT EXISTS rules_verification(vid TEXT PRIMARY KEY, state TEXT NOT NULL,"
    " descr TEXT);";

void rules_config_defaults(rules_config *c)
{
    memset(c, 0, sizeof *c);
    c->partition = "aws";
    c->region = "us-east-1";
    c->account_id = "123456789012";
    c->alert_topic = "defender/detect/alerts";
    c->max_behaviors = 100;
    c->max_value_elements = 1000;
    c->max_profiles_per_target = 5;
    c->event_retention_days = 30;
    c->tick_ms = 1000;
}

int64_t rules_now(rules_engine *e)
{
    if (e->cfg.now_ms != NULL)
    {
        int64_t v = e->cfg.now_ms(e->cfg.now_ctx);
        if (v > 0)
            return v;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void rules_lock(rules_engine *e)
{
    pthread_mutex_lock(&e->mu);
}

void rules_unlock(rules_engine *e)
{
    pthread_mutex_unlock(&e->mu);
}

int rules_exec(rules_engine *e, const char *sql)
{
    char *msg = NULL;
    int rc = sqlite3_exec(e->db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK)
    {
        fprintf(stderr, "defender-detect rules: sqlite: %s\n", msg ? msg : "?");
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

int rules_tx_begin(rules_engine *e)
{
    if (e->in_tx)
        return 0;
    if (rules_exec(e, "BEGIN IMMEDIATE") != 0)
        return -1;
    e->in_tx = 1;
    return 0;
}

void rules_end(rules_engine *e)
{
    rules_tx_commit(e);
    int kick = e->notify_pending;
    e->notify_pending = 0;
    rules_unlock(e);
    if (kick && e->started)
        rules_alert_kick(e);
}

int rules_tx_commit(rules_engine *e)
{
    if (!e->in_tx)
        return 0;
    e->in_tx = 0;
    if (rules_exec(e, "COMMIT") != 0)
    {
        rules_exec(e, "ROLLBACK");
        return -1;
    }
    return 0;
}

void rules_make_arn(rules_engine *e, char *out, size_t cap, const char *kind, const char *name)
{
    snprintf(out, cap, "arn:%s:iot:%s:%s:%s/%s", e->cfg.partition, e->cfg.region, e->cfg.account_id,
             kind, name);
}

/* ---------------------------------------------------------------------------------------------
 * Things
 * ------------------------------------------------------------------------------------------- */

static int tbl_grow(rules_engine *e)
{
    size_t nb = e->ntbl ? e->ntbl * 2 : 1024;
    rules_thing **b = calloc(nb, sizeof *b);
    if (b == NULL)
        return -1;
    for (size_t i = 0; i < e->ntbl; i++)
        for (rules_thing *t = e->tbl[i], *n; t != NULL; t = n)
        {
            n = t->next;
            t->next = b[t->hash & (nb - 1)];
            b[t->hash & (nb - 1)] = t;
        }
    free(e->tbl);
    e->tbl = b;
    e->ntbl = nb;
    return 0;
}

rules_thing *rules_thing_get(rules_engine *e, const char *name, size_t len, int create)
{
    uint32_t h = str_hash_seeded(name, len);
    if (e->ntbl > 0)
        for (rules_thing *t = e->tbl[h & (e->ntbl - 1)]; t != NULL; t = t->next)
            if (t->hash == h && strncmp(t->name, name, len) == 0 && t->name[len] == '\0')
                return t;
    if (!create || len == 0 || len > RULES_NAME_MAX)
        return NULL;
    if (e->nthings >= e->ntbl && tbl_grow(e) != 0)
        return NULL;
    rules_thing *t = calloc(1, sizeof *t + len + 1);
    if (t == NULL)
        return NULL;
    memcpy(t->name, name, len);
    t->hash = h;
    t->next = e->tbl[h & (e->ntbl - 1)];
    e->tbl[h & (e->ntbl - 1)] = t;
    e->nthings++;
    return t;
}

static void thing_free(rules_thing *t)
{
    for (size_t i = 0; i < t->ngroups; i++)
        free(t->groups[i]);
    free(t->groups);
    free(t->tr);
    for (size_t i = 0; i < t->nks; i++)
        free(t->ks[i].last_value);
    free(t->ks);
    free(t->slots);
    free(t);
}

rules_group *rules_group_find(rules_engine *e, const char *name)
{
    for (size_t i = 0; i < e->ngroups; i++)
        if (strcmp(e->groups[i].name, name) == 0)
            return &e->groups[i];
    return NULL;
}

static int thing_in_group(rules_engine *e, const rules_thing *th, const char *g)
{
    for (size_t i = 0; i < th->ngroups; i++)
    {
        const char *cur = th->groups[i];
        for (int depth = 0; depth < 16 && cur != NULL && cur[0]; depth++)
        {
            if (strcmp(cur, g) == 0)
                return 1;
            if (e->cfg.direct_members_only)
                break;
            rules_group *gr = rules_group_find(e, cur);
            cur = gr ? gr->parent : NULL;
        }
    }
    return 0;
}

int rules_thing_covered(rules_engine *e, const rules_thing *th, const rules_profile *p)
{
    for (size_t i = 0; i < p->ntargets; i++)
    {
        const rules_target *t = &p->targets[i];
        switch (t->kind)
        {
            case TG_ALL:
                return 1;
            case TG_REGISTERED:
                if (th->registered)
                    return 1;
                break;
            case TG_UNREGISTERED:
                if (!th->registered)
                    return 1;
                break;
            case TG_GROUP:
                if (thing_in_group(e, th, t->name))
                    return 1;
                break;
            case TG_THING:
                if (strcmp(th->name, t->name) == 0)
                    return 1;
                break;
        }
    }
    return 0;
}

int rules_parse_target(rules_engine *e, const char *arn, rules_target *t)
{
    char prefix[300];
    snprintf(prefix, sizeof prefix, "arn:%s:iot:%s:%s:", e->cfg.partition, e->cfg.region,
             e->cfg.account_id);
    size_t pl = strlen(prefix);
    memset(t, 0, sizeof *t);
    if (strncmp(arn, prefix, pl) != 0)
        return -1;
    const char *r = arn + pl;
    if (strcmp(r, "all/things") == 0)
        t->kind = TG_ALL;
    else if (strcmp(r, "all/registered-things") == 0)
        t->kind = TG_REGISTERED;
    else if (strcmp(r, "all/unregistered-things") == 0)
        t->kind = TG_UNREGISTERED;
    else if (strncmp(r, "thinggroup/", 11) == 0 && rules_name_ok(r + 11, 1, RULES_NAME_MAX))
    {
        t->kind = TG_GROUP;
        snprintf(t->name, sizeof t->name, "%s", r + 11);
    }
    else if (strncmp(r, "thing/", 6) == 0 && rules_name_ok(r + 6, 1, RULES_NAME_MAX))
    {
        if (e->cfg.strict)
            return -2;
        t->kind = TG_THING;
        snprintf(t->name, sizeof t->name, "%s", r + 6);
    }
    else
        return -1;
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Profiles
 * ------------------------------------------------------------------------------------------- */

rules_profile *rules_profile_find(rules_engine *e, const char *name)
{
    for (size_t i = 0; i < e->nprofiles; i++)
        if (strcmp(e->profiles[i]->name, name) == 0)
            return e->profiles[i];
    return NULL;
}

rules_beh *rules_beh_find(rules_profile *p, const char *name)
{
    for (size_t i = 0; i < p->nbehs; i++)
        if (strcmp(p->behs[i].name, name) == 0)
            return &p->behs[i];
    return NULL;
}

static void profile_free(rules_profile *p)
{
    if (p == NULL)
        return;
    cJSON_Delete(p->doc);
    rules_behs_free(p->behs, p->nbehs);
    for (size_t i = 0; i < p->ntargets; i++)
        free(p->targets[i].arn);
    free(p->targets);
    free(p);
}

int rules_profile_store(rules_engine *e, rules_profile *p, int is_new)
{
    (void) is_new;
    char *doc = cJSON_PrintUnformatted(p->doc);
    if (doc == NULL)
        return -1;
    sqlite3_stmt *st = NULL;
    int rc =
        sqlite3_prepare_v2(e->db,
                           "INSERT OR REPLACE INTO rules_profiles(name, doc, version, created_ms,"
                           " modified_ms) VALUES(?,?,?,?,?)",
                           -1, &st, NULL);
    if (rc == SQLITE_OK)
    {
        sqlite3_bind_text(st, 1, p->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, doc, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, p->version);
        sqlite3_bind_int64(st, 4, p->created_ms);
        sqlite3_bind_int64(st, 5, p->modified_ms);
        rc = sqlite3_step(st);
    }
    sqlite3_finalize(st);
    cJSON_free(doc);
    return rc == SQLITE_DONE ? 0 : -1;
}

static void alert_arn_from_doc(rules_profile *p)
{
    p->alert_arn[0] = '\0';
    const cJSON *at = cJSON_GetObjectItemCaseSensitive(p->doc, "alertTargets");
    const cJSON *sns = at ? cJSON_GetObjectItemCaseSensitive(at, "SNS") : NULL;
    const cJSON *a = sns ? cJSON_GetObjectItemCaseSensitive(sns, "alertTargetArn") : NULL;
    if (cJSON_IsString(a))
        snprintf(p->alert_arn, sizeof p->alert_arn, "%s", a->valuestring);
}

static void beh_runtime_init(rules_engine *e, rules_beh *b)
{
    b->bid = ++e->next_bid;
    if (b->stat_q >= 0 && b->stat == NULL)
    {
        b->stat = calloc(1, sizeof *b->stat);
        if (b->stat)
            b->stat->bucket = INT64_MIN;
    }
}

/* ---------------------------------------------------------------------------------------------
 * Events and state persistence
 * ------------------------------------------------------------------------------------------- */

static void random_hex(char *out, size_t nbytes)
{
    uint8_t buf[32];
    if (nbytes > sizeof buf)
        nbytes = sizeof buf;
    size_t got = 0;
    while (got < nbytes)
    {
        ssize_t r = getrandom(buf + got, nbytes - got, 0);
        if (r < 0)
        {
            if (errno == EINTR)
                continue;
            /* fallback: time-based, still unique enough for ids */
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            for (size_t i = got; i < nbytes; i++)
                buf[i] = (uint8_t) ((uint64_t) ts.tv_nsec >> (i % 8) ^ (uint64_t) rand());
            break;
        }
        got += (size_t) r;
    }
    static const char hx[] = "0123456789abcdef";
    for (size_t i = 0; i < nbytes; i++)
    {
        out[2 * i] = hx[buf[i] >> 4];
        out[2 * i + 1] = hx[buf[i] & 15];
    }
    out[2 * nbytes] = '\0';
}

/* Prepared statements of the hot path, kept for the engine's life. */
static sqlite3_stmt *cached(rules_engine *e, int which, const char *sql)
{
    if (e->stmts[which] == NULL && sqlite3_prepare_v3(e->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
                                                      &e->stmts[which], NULL) != SQLITE_OK)
        return NULL;
    sqlite3_reset(e->stmts[which]);
    sqlite3_clear_bindings(e->stmts[which]);
    return e->stmts[which];
}

static void state_save(rules_engine *e, const rules_thing *th, const rules_profile *p,
                       const rules_beh *b, rules_kstate *k)
{
    if (rules_tx_begin(e) != 0)
        return;
    sqlite3_stmt *st = NULL;
    /* a key whose row is known is updated in place (no key index work) */
    if (k->rowid > 0 &&
        (st = cached(e, 3,
                     "UPDATE rules_state SET status=?1, nv=?2, nc=?3, last_dp_ms=?4, vid=?5,"
                     " start_ms=?6, last_viol_ms=?7, last_value=?8 WHERE rowid=?9")) != NULL)
    {
        sqlite3_bind_int(st, 1, k->status);
        sqlite3_bind_int(st, 2, k->nv);
        sqlite3_bind_int(st, 3, k->nc);
        sqlite3_bind_int64(st, 4, k->last_dp_ms);
        if (k->status)
        {
            sqlite3_bind_text(st, 5, k->vid, -1, SQLITE_STATIC);
            sqlite3_bind_int64(st, 6, k->start_ms);
            sqlite3_bind_int64(st, 7, k->last_viol_ms);
            sqlite3_bind_text(st, 8, k->last_value, -1, SQLITE_STATIC);
        }
        sqlite3_bind_int64(st, 9, k->rowid);
        int rc = sqlite3_step(st);
        int changed = rc == SQLITE_DONE && sqlite3_changes(e->db) == 1;
        sqlite3_reset(st);
        if (changed)
        {
            k->dirty = 0;
            return;
        }
        k->rowid = 0;
    }
    if ((st = cached(e, 0,
                     "INSERT OR REPLACE INTO rules_state(thing, profile, behavior, status, nv,"
                     " nc, last_dp_ms, vid, start_ms, last_viol_ms, last_value)"
                     " VALUES(?,?,?,?,?,?,?,?,?,?,?)")) != NULL)
    {
        sqlite3_bind_text(st, 1, th->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, p->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, b->name, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 4, k->status);
        sqlite3_bind_int(st, 5, k->nv);
        sqlite3_bind_int(st, 6, k->nc);
        sqlite3_bind_int64(st, 7, k->last_dp_ms);
        if (k->status)
        {
            sqlite3_bind_text(st, 8, k->vid, -1, SQLITE_STATIC);
            sqlite3_bind_int64(st, 9, k->start_ms);
            sqlite3_bind_int64(st, 10, k->last_viol_ms);
            sqlite3_bind_text(st, 11, k->last_value, -1, SQLITE_STATIC);
        }
        if (sqlite3_step(st) != SQLITE_DONE)
            fprintf(stderr, "defender-detect rules: cannot save state: %s\n",
                    sqlite3_errmsg(e->db));
        else
        {
            k->rowid = sqlite3_last_insert_rowid(e->db);
            k->dirty = 0;
        }
    }
    if (st != NULL)
        sqlite3_reset(st);
}

static void state_delete(rules_engine *e, const char *thing, const char *profile,
                         const char *behavior)
{
    if (rules_tx_begin(e) != 0)
        return;
    sqlite3_stmt *st = NULL;
    if ((st = cached(e, 1, "DELETE FROM rules_state WHERE thing=? AND profile=? AND behavior=?")) !=
        NULL)
    {
        sqlite3_bind_text(st, 1, thing, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, profile, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, behavior, -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE)
            fprintf(stderr, "defender-detect rules: cannot delete state: %s\n",
                    sqlite3_errmsg(e->db));
    }
    if (st != NULL)
        sqlite3_reset(st);
}

/* Section 5.7 message. */
static void alert_text(strbuf *b, int64_t time_ms, const char *thing, const char *beh_json,
                       const char *type, const char *value, const char *vid, const char *profile)
{
    sb_printf(b, "{\"violationEventTime\":%lld,\"thingName\":", (long long) time_ms);
    sb_json_str(b, thing, strlen(thing));
    sb_puts(b, ",\"behavior\":");
    sb_puts(b, beh_json);
    sb_puts(b, ",\"violationEventType\":");
    sb_json_str(b, type, strlen(type));
    if (value != NULL)
    {
        sb_puts(b, ",\"metricValue\":");
        sb_puts(b, value);
    }
    sb_puts(b, ",\"violationId\":");
    sb_json_str(b, vid, strlen(vid));
    sb_puts(b, ",\"securityProfileName\":");
    sb_json_str(b, profile, strlen(profile));
    sb_putc(b, '}');
}

static void emit(rules_engine *e, const char *thing, const rules_profile *p, const rules_beh *b,
                 const char *type, int64_t time_ms, const char *value, const char *vid)
{
    if (rules_tx_begin(e) != 0)
        return;
    char *bj = cJSON_PrintUnformatted(b->json);
    if (bj == NULL)
        return;
    int notify = p->alert_arn[0] != '\0' && !b->suppress;
    strbuf al;
    sb_init(&al, 1u << 20);
    if (notify)
        alert_text(&al, time_ms, thing, bj, type, value, vid, p->name);
    sqlite3_stmt *st = NULL;
    if ((st = cached(e, 2,
                     "INSERT INTO rules_events(time_ms, thing, profile, behavior, behavior_json,"
                     " metric_value, type, vid, suppressed, statistical, notify, topic_arn,"
                     " alert) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?)")) != NULL)
    {
        sqlite3_bind_int64(st, 1, time_ms);
        sqlite3_bind_text(st, 2, thing, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, p->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, b->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, bj, -1, SQLITE_STATIC);
        if (value)
            sqlite3_bind_text(st, 6, value, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 7, type, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 8, vid, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 9, b->suppress);
        sqlite3_bind_int(st, 10, b->stat_q >= 0);
        sqlite3_bind_int(st, 11, notify && !al.oom ? 1 : 0);
        sqlite3_bind_text(st, 12, p->alert_arn, -1, SQLITE_STATIC);
        if (notify && !al.oom)
            sqlite3_bind_text(st, 13, sb_cstr(&al), -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE)
            fprintf(stderr, "defender-detect rules: cannot store event: %s\n",
                    sqlite3_errmsg(e->db));
    }
    if (st != NULL)
        sqlite3_reset(st);
    sb_free(&al);
    cJSON_free(bj);
    if (strcmp(type, "in-alarm") == 0)
        e->n_violations++;
    else if (strcmp(type, "alarm-cleared") == 0)
        e->n_cleared++;
    else
        e->n_invalidated++;
    if (notify)
        e->notify_pending = 1;
}

static rules_kstate *ks_find(rules_thing *th, uint32_t bid)
{
    for (size_t i = 0; i < th->nks; i++)
        if (th->ks[i].bid == bid)
            return &th->ks[i];
    return NULL;
}

static void ks_remove(rules_thing *th, uint32_t bid)
{
    for (size_t i = 0; i < th->nks; i++)
        if (th->ks[i].bid == bid)
        {
            free(th->ks[i].last_value);
            th->ks[i] = th->ks[th->nks - 1];
            th->nks--;
            return;
        }
}

static rules_kstate *ks_add(rules_thing *th, uint32_t bid)
{
    rules_kstate *n = realloc(th->ks, (th->nks + 1) * sizeof *n);
    if (n == NULL)
        return NULL;
    th->ks = n;
    rules_kstate *k = &th->ks[th->nks++];
    memset(k, 0, sizeof *k);
    k->bid = bid;
    return k;
}

/* Invalidates (4.8) keys of profile p (behavior b or all; thing or all) at time t. */
static void invalidate_keys(rules_engine *e, rules_profile *p, rules_beh *b, const char *thing,
                            int64_t t)
{
    sqlite3_stmt *st = NULL;
    const char *sql = "SELECT thing, behavior, status, vid FROM rules_state WHERE profile=?1"
                      " AND (?2 IS NULL OR behavior=?2) AND (?3 IS NULL OR thing=?3)";
    if (sqlite3_prepare_v2(e->db, sql, -1, &st, NULL) != SQLITE_OK)
        return;
    sqlite3_bind_text(st, 1, p->name, -1, SQLITE_STATIC);
    if (b)
        sqlite3_bind_text(st, 2, b->name, -1, SQLITE_STATIC);
    if (thing)
        sqlite3_bind_text(st, 3, thing, -1, SQLITE_STATIC);
    typedef struct
    {
        char thing[RULES_NAME_MAX + 1];
        char beh[RULES_NAME_MAX + 1];
        int status;
        char vid[33];
    } row;
    row *rows = NULL;
    size_t n = 0;
    while (sqlite3_step(st) == SQLITE_ROW)
    {
        row *nr = realloc(rows, (n + 1) * sizeof *nr);
        if (nr == NULL)
            break;
        rows = nr;
        const unsigned char *tn = sqlite3_column_text(st, 0);
        const unsigned char *bn = sqlite3_column_text(st, 1);
        const unsigned char *vd = sqlite3_column_text(st, 3);
        snprintf(rows[n].thing, sizeof rows[n].thing, "%s", tn ? (const char *) tn : "");
        snprintf(rows[n].beh, sizeof rows[n].beh, "%s", bn ? (const char *) bn : "");
        snprintf(rows[n].vid, sizeof rows[n].vid, "%s", vd ? (const char *) vd : "");
        rows[n].status = sqlite3_column_int(st, 2);
        n++;
    }
    sqlite3_finalize(st);
    for (size_t i = 0; i < n; i++)
    {
        rules_beh *bb = rules_beh_find(p, rows[i].beh);
        if (bb != NULL && rows[i].status == 1)
            emit(e, rows[i].thing, p, bb, "alarm-invalidated", t, NULL, rows[i].vid);
        state_delete(e, rows[i].thing, p->name, rows[i].beh);
        rules_thing *th = rules_thing_get(e, rows[i].thing, strlen(rows[i].thing), 0);
        if (th != NULL && bb != NULL)
            ks_remove(th, bb->bid);
    }
    free(rows);
}

static int beh_same_definition(const rules_beh *a, const rules_beh *b)
{
    static const char *const keys[] = {"metric", "metricDimension", "criteria"};
    for (size_t i = 0; i < 3; i++)
    {
        const cJSON *x = cJSON_GetObjectItemCaseSensitive(a->json, keys[i]);
        const cJSON *y = cJSON_GetObjectItemCaseSensitive(b->json, keys[i]);
        if ((x == NULL) != (y == NULL))
            return 0;
        if (x != NULL && !cJSON_Compare(x, y, 1))
            return 0;
    }
    return 1;
}

static int bid_live(rules_engine *e, uint32_t bid)
{
    for (size_t i = 0; i < e->nprofiles; i++)
        for (size_t k = 0; k < e->profiles[i]->nbehs; k++)
            if (e->profiles[i]->behs[k].bid == bid)
                return 1;
    return 0;
}

/* Drops per-thing statistic slots and states of behaviors that no longer exist. */
static void prune_dead(rules_engine *e)
{
    for (size_t i = 0; i < e->ntbl; i++)
        for (rules_thing *t = e->tbl[i]; t != NULL; t = t->next)
        {
            size_t w = 0;
            for (size_t k = 0; k < t->nslots; k++)
                if (bid_live(e, t->slots[k].bid))
                    t->slots[w++] = t->slots[k];
            t->nslots = w;
            for (size_t k = 0; k < t->nks;)
                if (!bid_live(e, t->ks[k].bid))
                    ks_remove(t, t->ks[k].bid);
                else
                    k++;
        }
}

void rules_profile_replace_behaviors(rules_engine *e, rules_profile *p, rules_beh *nb, size_t nn)
{
    int64_t now = rules_now(e);
    for (size_t i = 0; i < p->nbehs; i++)
    {
        rules_beh *ob = &p->behs[i];
        rules_beh *match = NULL;
        for (size_t k = 0; k < nn; k++)
            if (strcmp(nb[k].name, ob->name) == 0)
                match = &nb[k];
        if (match != NULL && beh_same_definition(ob, match))
        {
            match->bid = ob->bid;
            if (match->stat == NULL)
            {
                match->stat = ob->stat;
                ob->stat = NULL;
            }
        }
        else
        {
            invalidate_keys(e, p, ob, NULL, now);
        }
    }
    for (size_t k = 0; k < nn; k++)
        if (nb[k].bid == 0)
            beh_runtime_init(e, &nb[k]);
        else if (nb[k].stat_q >= 0 && nb[k].stat == NULL)
        {
            nb[k].stat = calloc(1, sizeof *nb[k].stat);
            if (nb[k].stat)
                nb[k].stat->bucket = INT64_MIN;
        }
    rules_behs_free(p->behs, p->nbehs);
    p->behs = nb;
    p->nbehs = nn;
    prune_dead(e);
    rules_windows_update(e);
}

void rules_profile_delete(rules_engine *e, rules_profile *p)
{
    invalidate_keys(e, p, NULL, NULL, rules_now(e));
    sqlite3_stmt *st = NULL;
    static const char *const sqls[] = {"DELETE FROM rules_profiles WHERE name=?",
                                       "DELETE FROM rules_targets WHERE profile=?"};
    for (size_t i = 0; i < 2; i++)
        if (sqlite3_prepare_v2(e->db, sqls[i], -1, &st, NULL) == SQLITE_OK)
        {
            sqlite3_bind_text(st, 1, p->name, -1, SQLITE_STATIC);
            sqlite3_step(st);
            sqlite3_finalize(st);
        }
    for (size_t i = 0; i < e->nprofiles; i++)
        if (e->profiles[i] == p)
        {
            memmove(&e->profiles[i], &e->profiles[i + 1],
                    (e->nprofiles - i - 1) * sizeof *e->profiles);
            e->nprofiles--;
            break;
        }
    profile_free(p);
    prune_dead(e);
    rules_windows_update(e);
}

void rules_recheck_coverage(rules_engine *e, const char *thing)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(e->db,
                           "SELECT DISTINCT thing, profile FROM rules_state WHERE ?1 IS NULL OR "
                           "thing=?1",
                           -1, &st, NULL) != SQLITE_OK)
        return;
    if (thing)
        sqlite3_bind_text(st, 1, thing, -1, SQLITE_STATIC);
    typedef struct
    {
        char thing[RULES_NAME_MAX + 1];
        char profile[RULES_NAME_MAX + 1];
    } row;
    row *rows = NULL;
    size_t n = 0;
    while (sqlite3_step(st) == SQLITE_ROW)
    {
        row *nr = realloc(rows, (n + 1) * sizeof *nr);
        if (nr == NULL)
            break;
        rows = nr;
        snprintf(rows[n].thing, sizeof rows[n].thing, "%s",
                 (const char *) sqlite3_column_text(st, 0));
        snprintf(rows[n].profile, sizeof rows[n].profile, "%s",
                 (const char *) sqlite3_column_text(st, 1));
        n++;
    }
    sqlite3_finalize(st);
    int64_t now = rules_now(e);
    for (size_t i = 0; i < n; i++)
    {
        rules_profile *p = rules_profile_find(e, rows[i].profile);
        rules_thing *th = rules_thing_get(e, rows[i].thing, strlen(rows[i].thing), 1);
        if (p != NULL && th != NULL && !rules_thing_covered(e, th, p))
            invalidate_keys(e, p, NULL, rows[i].thing, now);
    }
    free(rows);
}

/* ---------------------------------------------------------------------------------------------
 * Evaluation
 * ------------------------------------------------------------------------------------------- */

static const char *const g_slot_names[RULES_AWS_SLOTS] = {"aws:all-bytes-in",
                                                          "aws:all-bytes-out",
                                                          "aws:all-packets-in",
                                                          "aws:all-packets-out",
                                                          "aws:num-listening-tcp-ports",
                                                          "aws:num-listening-udp-ports",
                                                          "aws:num-established-tcp-connections",
                                                          "aws:listening-tcp-ports",
                                                          "aws:listening-udp-ports",
                                                          "aws:destination-ip-addresses"};

static int slot_of(const char *m, size_t len)
{
    static const uint8_t lens[RULES_AWS_SLOTS] = {16, 17, 18, 19, 27, 27, 35, 23, 23, 28};
    if (len < 16 || m[0] != 'a' || m[3] != ':')
        return -1;
    for (int i = 0; i < RULES_AWS_SLOTS; i++)
        if (lens[i] == len && memcmp(g_slot_names[i] + 4, m + 4, len - 4) == 0)
            return i;
    return -1;
}

#define RULES_ADDR_INLINE 16

typedef struct
{
    const detect_datapoint *dp;
    /* parsed addresses for DP_CIDRS, lazily */
    int parsed;
    int *fam;
    uint64_t (*addr)[2];
    int fam_inline[RULES_ADDR_INLINE];
    uint64_t addr_inline[RULES_ADDR_INLINE][2];
} dpx;

typedef struct
{
    dpx *x;
    size_t n;
    const dpx *slots[RULES_AWS_SLOTS];
    uint64_t sums[4][5]; /* window sums per traffic slot and duration, computed once */
    uint8_t have_sum[4][5];
} report_ix;

static const dpx *find_dp(report_ix *ix, const rules_beh *b)
{
    if (b->slot >= 0)
        return ix->slots[b->slot];
    size_t ml = strlen(b->metric);
    dp_kind want = b->kind == MK_NUMBER    ? DP_NUMBER
                   : b->kind == MK_NUMBERS ? DP_NUMBERS
                   : b->kind == MK_STRINGS ? DP_STRINGS
                                           : DP_CIDRS;
    for (size_t i = 0; i < ix->n; i++)
    {
        const detect_datapoint *d = ix->x[i].dp;
        if (d->metric_len == ml && memcmp(d->metric, b->metric, ml) == 0)
            return d->kind == want ? &ix->x[i] : NULL;
    }
    return NULL;
}

static void parse_addrs(dpx *x)
{
    if (x->parsed)
        return;
    x->parsed = 1;
    uint32_t n = x->dp->n;
    if (n <= RULES_ADDR_INLINE)
    {
        x->fam = x->fam_inline;
        x->addr = x->addr_inline;
    }
    else
    {
        x->fam = calloc((size_t) n + 1, sizeof *x->fam);
        x->addr = calloc((size_t) n + 1, sizeof *x->addr);
    }
    if (x->fam == NULL || x->addr == NULL)
        return;
    for (uint32_t i = 0; i < n; i++)
    {
        uint8_t a[16];
        if (!rules_parse_addr(x->dp->strings[i].s, x->dp->strings[i].len, &x->fam[i], a))
            x->fam[i] = 0;
        else
            rules_addr_words(a, x->addr[i]);
    }
}

static int cmp_d(const void *k, const void *e)
{
    double a = *(const double *) k, b = *(const double *) e;
    return a < b ? -1 : a > b ? 1 : 0;
}

static int cmp_s(const void *k, const void *e)
{
    const rules_str *x = k, *y = e;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->s, y->s, n);
    if (c != 0)
        return c;
    return x->len < y->len ? -1 : x->len > y->len ? 1 : 0;
}

/* 1 violates, 0 conforms, for set operators. */
static int judge_set(const rules_beh *b, dpx *x)
{
    const detect_datapoint *d = x->dp;
    int in_op = b->op == OP_IN_PORT || b->op == OP_IN_CIDR || b->op == OP_IN_SET;
    for (uint32_t i = 0; i < d->n; i++)
    {
        int member = 0;
        switch (b->kind)
        {
            case MK_PORTS:
                member = b->portmap != NULL && d->ports[i] < 65536 &&
                         (b->portmap[d->ports[i] >> 3] & (1u << (d->ports[i] & 7))) != 0;
                break;
            case MK_IPS:
                parse_addrs(x);
                if (x->fam != NULL && x->fam[i] != 0)
                    member = rules_cidr_set_match(b, x->fam[i], x->addr[i]);
                break;
            case MK_NUMBERS:
                member = b->nnums > 0 &&
                         bsearch(&d->numbers[i], b->nums, b->nnums, sizeof *b->nums, cmp_d) != NULL;
                break;
            case MK_STRINGS:
            {
                rules_str key = {d->strings[i].s, d->strings[i].len};
                member = b->nstrs > 0 &&
                         bsearch(&key, b->strs, b->nstrs, sizeof *b->strs, cmp_s) != NULL;
                break;
            }
            default:
                break;
        }
        if (in_op && !member)
            return 1;
        if (!in_op && member)
            return 1;
    }
    return 0;
}

static int judge_num(rules_op op, double v, double x)
{
    switch (op)
    {
        case OP_LT:
            return !(v < x);
        case OP_LE:
            return !(v <= x);
        case OP_GT:
            return !(v > x);
        default:
            return !(v >= x);
    }
}

static int judge_u64(rules_op op, uint64_t v, uint64_t x)
{
    switch (op)
    {
        case OP_LT:
            return !(v < x);
        case OP_LE:
            return !(v <= x);
        case OP_GT:
            return !(v > x);
        default:
            return !(v >= x);
    }
}

static uint64_t window_sum(const rules_thing *th, int slot, int64_t t, int d)
{
    int64_t from = t - (int64_t) d * 1000;
    uint64_t s = 0;
    for (uint32_t i = 0; i < th->ntr; i++)
    {
        const rules_tr *r = &th->tr[i];
        if (r->t > from && r->t <= t && (r->mask & (1u << slot)))
        {
            uint64_t nv = s + r->v[slot];
            s = nv < s || nv > INT64_MAX ? (uint64_t) INT64_MAX : nv;
        }
    }
    return s;
}

static void traffic_add(rules_thing *th, int64_t t, report_ix *ix)
{
    uint8_t mask = 0;
    uint64_t v[4] = {0, 0, 0, 0};
    for (int i = 0; i < 4; i++)
        if (ix->slots[i] != NULL && ix->slots[i]->dp->kind == DP_COUNT)
        {
            mask |= (uint8_t) (1u << i);
            v[i] = ix->slots[i]->dp->count;
        }
    if (mask == 0)
        return;
    /* prune entries outside the longest window */
    uint32_t w = 0;
    for (uint32_t i = 0; i < th->ntr; i++)
        if (th->tr[i].t > t - RULES_WINDOW_MAX_MS)
            th->tr[w++] = th->tr[i];
    th->ntr = w;
    if (th->ntr == th->captr && th->captr < RULES_TR_MAX)
    {
        uint32_t nc = th->captr ? th->captr * 2 : 4;
        rules_tr *nt = realloc(th->tr, nc * sizeof *nt);
        if (nt == NULL)
            return;
        th->tr = nt;
        th->captr = nc;
    }
    if (th->ntr == RULES_TR_MAX)
    {
        memmove(th->tr, th->tr + 1, (RULES_TR_MAX - 1) * sizeof *th->tr);
        th->ntr--;
    }
    rules_tr *r = &th->tr[th->ntr++];
    r->t = t;
    r->mask = mask;
    memcpy(r->v, v, sizeof v);
}

static void stat_roll(rules_beh *b, int64_t k)
{
    rules_stat *s = b->stat;
    if (k <= s->bucket)
        return;
    if (s->nvals > 0 && !s->negative && s->bucket != INT64_MIN)
    {
        s->thr = rules_percentile(s->vals, s->nvals, b->stat_q);
        s->has_thr = 1;
    }
    s->nvals = 0;
    s->negative = 0;
    s->bucket = k;
}

static void stat_add(rules_thing *th, rules_beh *b, int64_t k, double v, int sum)
{
    rules_stat *s = b->stat;
    if (k != s->bucket)
        return;
    rules_slot *slot = NULL;
    for (size_t i = 0; i < th->nslots; i++)
        if (th->slots[i].bid == b->bid)
            slot = &th->slots[i];
    if (slot == NULL)
    {
        rules_slot *ns = realloc(th->slots, (th->nslots + 1) * sizeof *ns);
        if (ns == NULL)
            return;
        th->slots = ns;
        slot = &th->slots[th->nslots++];
        slot->bid = b->bid;
        slot->bucket = INT64_MIN;
    }
    if (slot->bucket == k && slot->idx < s->nvals)
    {
        s->vals[slot->idx] = sum ? s->vals[slot->idx] + v : v;
    }
    else
    {
        if (s->nvals == s->cap)
        {
            size_t nc = s->cap ? s->cap * 2 : 64;
            double *nv = realloc(s->vals, nc * sizeof *nv);
            if (nv == NULL)
                return;
            s->vals = nv;
            s->cap = nc;
        }
        slot->bucket = k;
        slot->idx = (uint32_t) s->nvals;
        s->vals[s->nvals++] = v;
    }
    if (v < 0)
        s->negative = 1;
}

static char *value_json(const rules_beh *b, const detect_datapoint *d, uint64_t count)
{
    strbuf s;
    sb_init(&s, 4u << 20);
    char num[40];
    switch (b->kind)
    {
        case MK_TRAFFIC:
        case MK_GAUGE:
            sb_printf(&s, "{\"count\":%llu}", (unsigned long long) count);
            break;
        case MK_NUMBER:
            rules_fmt_double(num, sizeof num, d->number);
            sb_printf(&s, "{\"number\":%s}", num);
            break;
        case MK_PORTS:
            sb_puts(&s, "{\"ports\":[");
            for (uint32_t i = 0; i < d->n; i++)
                sb_printf(&s, "%s%u", i ? "," : "", d->ports[i]);
            sb_puts(&s, "]}");
            break;
        case MK_NUMBERS:
            sb_puts(&s, "{\"numbers\":[");
            for (uint32_t i = 0, w = 0; i < d->n; i++)
            {
                int dup = 0;
                for (uint32_t k = 0; k < i && k < 4096 && !dup; k++)
                    dup = d->numbers[k] == d->numbers[i];
                if (dup)
                    continue;
                rules_fmt_double(num, sizeof num, d->numbers[i]);
                sb_printf(&s, "%s%s", w++ ? "," : "", num);
            }
            sb_puts(&s, "]}");
            break;
        case MK_IPS:
        {
            /* RD-18: addresses in canonical text (IPv4-mapped as IPv4), duplicates removed;
             * a custom ip-address-list arrives as sent, destination addresses already so */
            char(*seen)[INET6_ADDRSTRLEN] = d->n ? calloc(d->n, sizeof *seen) : NULL;
            uint32_t w = 0;
            sb_puts(&s, "{\"cidrs\":[");
            for (uint32_t i = 0; i < d->n; i++)
            {
                char canon[INET6_ADDRSTRLEN];
                int fam = 0;
                uint8_t a[16];
                if (!rules_parse_addr(d->strings[i].s, d->strings[i].len, &fam, a) ||
                    inet_ntop(fam == 4 ? AF_INET : AF_INET6, a, canon, sizeof canon) == NULL)
                    snprintf(canon, sizeof canon, "%.*s",
                             (int) (d->strings[i].len < 45 ? d->strings[i].len : 45),
                             d->strings[i].s);
                int dup = 0;
                for (uint32_t k = 0; seen != NULL && k < w && k < 4096 && !dup; k++)
                    dup = strcmp(seen[k], canon) == 0;
                if (dup)
                    continue;
                if (seen != NULL)
                    memcpy(seen[w], canon, sizeof canon);
                if (w++)
                    sb_putc(&s, ',');
                sb_json_str(&s, canon, strlen(canon));
            }
            sb_puts(&s, "]}");
            if (d->n && seen == NULL)
                s.oom = 1;
            free(seen);
            break;
        }
        default:
            sb_puts(&s, "{\"strings\":[");
            for (uint32_t i = 0, w = 0; i < d->n; i++)
            {
                int dup = 0;
                for (uint32_t k = 0; k < i && k < 4096 && !dup; k++)
                    dup = d->strings[k].len == d->strings[i].len &&
                          memcmp(d->strings[k].s, d->strings[i].s, d->strings[i].len) == 0;
                if (dup)
                    continue;
                if (w++)
                    sb_putc(&s, ',');
                sb_json_str(&s, d->strings[i].s, d->strings[i].len);
            }
            sb_puts(&s, "]}");
            break;
    }
    if (s.oom)
    {
        sb_free(&s);
        return NULL;
    }
    sb_cstr(&s);
    return s.data;
}

/* Alarm state machine (4.5) for one evaluated datapoint. */
static void run_state(rules_engine *e, rules_thing *th, rules_profile *p, rules_beh *b,
                      int violates, int64_t t, const detect_datapoint *d, uint64_t count)
{
    rules_kstate *k = ks_find(th, b->bid);
    if (k == NULL)
    {
        if (!violates)
            return; /* NORMAL, nViolate stays 0: nothing to store */
        k = ks_add(th, b->bid);
        if (k == NULL)
            return;
    }
    k->last_dp_ms = t;
    if (k->status == 0)
    {
        if (violates)
        {
            k->nv++;
            if (k->nv >= b->alarm_n)
            {
                char *v = value_json(b, d, count);
                k->status = 1;
                k->nv = 0;
                k->nc = 0;
                random_hex(k->vid, 16);
                k->start_ms = k->last_viol_ms = t;
                free(k->last_value);
                k->last_value = v;
                emit(e, th->name, p, b, "in-alarm", t, v, k->vid);
            }
            state_save(e, th, p, b, k);
        }
        else
        {
            state_delete(e, th->name, p->name, b->name);
            ks_remove(th, b->bid);
        }
        return;
    }
    if (violates)
    {
        /* still in alarm: only the last violation moves; written by flush_dirty within a
         * second (and before any read of the table), not one row write per report */
        k->nc = 0;
        k->last_viol_ms = t;
        free(k->last_value);
        k->last_value = value_json(b, d, count);
        if (k->rowid > 0)
        {
            k->dirty = 1;
            e->dirty = 1;
        }
        else
            state_save(e, th, p, b, k);
        return;
    }
    k->nc++;
    if (k->nc >= b->clear_n)
    {
        char *v = value_json(b, d, count);
        emit(e, th->name, p, b, "alarm-cleared", t, v, k->vid);
        free(v);
        state_delete(e, th->name, p->name, b->name);
        ks_remove(th, b->bid);
        return;
    }
    state_save(e, th, p, b, k);
}

static void eval_behavior(rules_engine *e, rules_thing *th, rules_profile *p, rules_beh *b,
                          report_ix *ix, int64_t t, int replay)
{
    if (!b->evaluable)
        return;
    const dpx *cx = find_dp(ix, b);
    if (cx == NULL)
        return; /* RD-15: no source, no datapoint */
    dpx *x = (dpx *) (uintptr_t) cx;
    const detect_datapoint *d = x->dp;
    int violates;
    uint64_t count = 0;
    if (b->kind == MK_TRAFFIC || b->kind == MK_GAUGE || b->kind == MK_NUMBER)
    {
        if ((b->kind == MK_NUMBER) != (d->kind == DP_NUMBER) ||
            (b->kind != MK_NUMBER && d->kind != DP_COUNT))
            return;
        double dv;
        if (b->kind == MK_TRAFFIC && b->duration)
        {
            int di = b->duration == 300    ? 0
                     : b->duration == 600  ? 1
                     : b->duration == 900  ? 2
                     : b->duration == 1800 ? 3
                                           : 4;
            if (!ix->have_sum[b->slot][di])
            {
                ix->sums[b->slot][di] = window_sum(th, b->slot, t, b->duration);
                ix->have_sum[b->slot][di] = 1;
            }
            count = ix->sums[b->slot][di];
        }
        else
            count = d->count;
        dv = b->kind == MK_NUMBER ? d->number : (double) count;
        if (b->stat != NULL)
        {
            int64_t k = t / ((int64_t) b->duration * 1000);
            stat_roll(b, k);
            int have = b->stat->has_thr;
            double thr = b->stat->thr;
            stat_add(th, b, k, b->kind == MK_TRAFFIC ? (double) d->count : dv,
                     b->kind == MK_TRAFFIC);
            if (replay || !have)
                return; /* 4.1: not evaluated without a threshold */
            violates = judge_num(b->op, dv, thr);
        }
        else if (replay)
            return;
        else if (b->kind == MK_NUMBER)
            violates = judge_num(b->op, dv, b->number);
        else
            violates = judge_u64(b->op, count, b->count);
    }
    else
    {
        if (replay)
            return;
        violates = judge_set(b, x);
    }
    run_state(e, th, p, b, violates, t, d, count);
}

static void process(rules_engine *e, rules_thing *th, int64_t t, const detect_datapoint *dps,
                    size_t ndps, int replay)
{
    report_ix ix;
    memset(&ix, 0, sizeof ix);
    dpx stackx[16];
    ix.x = ndps <= 16 ? stackx : calloc(ndps, sizeof *ix.x);
    if (ix.x == NULL)
        return;
    ix.n = ndps;
    for (size_t i = 0; i < ndps; i++)
    {
        ix.x[i].dp = &dps[i];
        ix.x[i].parsed = 0;
        ix.x[i].fam = NULL;
        ix.x[i].addr = NULL;
        int s = slot_of(dps[i].metric, dps[i].metric_len);
        if (s >= 0 && ix.slots[s] == NULL)
            ix.slots[s] = &ix.x[i];
    }
    /* Traffic history is kept for every reporting thing while some profile has a windowed
     * traffic behavior, covered or not: the window (4.3) holds the thing's accepted reports,
     * so a thing that becomes covered (attach, group, registry) sums what it sent before. */
    if (e->windows)
        traffic_add(th, t, &ix);
    /* the profiles covering the thing now (2.3) */
    rules_profile *stackp[64];
    rules_profile **cov = e->nprofiles <= 64 ? stackp : calloc(e->nprofiles, sizeof *cov);
    size_t ncov = 0;
    for (size_t i = 0; cov != NULL && i < e->nprofiles; i++)
    {
        rules_profile *p = e->profiles[i];
        if (p->nbehs == 0 || !rules_thing_covered(e, th, p))
            continue;
        cov[ncov++] = p;
    }
    for (size_t i = 0; i < ncov; i++)
        for (size_t k = 0; k < cov[i]->nbehs; k++)
            eval_behavior(e, th, cov[i], &cov[i]->behs[k], &ix, t, replay);
    if (cov != stackp)
        free(cov);
    for (size_t i = 0; i < ndps; i++)
        if (ix.x[i].fam != ix.x[i].fam_inline)
        {
            free(ix.x[i].fam);
            free(ix.x[i].addr);
        }
    if (ix.x != stackx)
        free(ix.x);
}

void rules_on_report(rules_engine *e, const char *thing, size_t thing_len, int64_t received_ms,
                     const detect_datapoint *dps, size_t ndps)
{
    if (e == NULL)
        return;
    rules_lock(e);
    if (e->nprofiles > 0)
    {
        rules_thing *th = rules_thing_get(e, thing, thing_len, 1);
        if (th != NULL)
            process(e, th, received_ms, dps, ndps, 0);
    }
    rules_end(e); /* commits now: never holds the write lock into the service's next batch */
}

void rules_accept_hook(void *ctx, const char *thing, size_t thing_len, uint64_t report_id,
                       int64_t received_ms, const detect_datapoint *dps, size_t ndps)
{
    (void) report_id;
    rules_on_report(ctx, thing, thing_len, received_ms, dps, ndps);
}

/* ---------------------------------------------------------------------------------------------
 * Sweep (4.7) and retention (4.10)
 * ------------------------------------------------------------------------------------------- */

void rules_flush_dirty(rules_engine *e)
{
    if (!e->dirty)
        return;
    e->dirty = 0;
    sqlite3_stmt *st = NULL;
    if (rules_tx_begin(e) != 0 ||
        (st = cached(e, 4,
                     "UPDATE rules_state SET nc=?1, last_dp_ms=?2, last_viol_ms=?3, last_value=?4"
                     " WHERE rowid=?5")) == NULL)
    {
        e->dirty = 1;
        return;
    }
    for (size_t i = 0; i < e->ntbl; i++)
        for (rules_thing *t = e->tbl[i]; t != NULL; t = t->next)
            for (size_t k = 0; k < t->nks; k++)
            {
                rules_kstate *ks = &t->ks[k];
                if (!ks->dirty)
                    continue;
                sqlite3_bind_int(st, 1, ks->nc);
                sqlite3_bind_int64(st, 2, ks->last_dp_ms);
                sqlite3_bind_int64(st, 3, ks->last_viol_ms);
                sqlite3_bind_text(st, 4, ks->last_value, -1, SQLITE_STATIC);
                sqlite3_bind_int64(st, 5, ks->rowid);
                if (sqlite3_step(st) != SQLITE_DONE)
                    fprintf(stderr, "defender-detect rules: cannot save state: %s\n",
                            sqlite3_errmsg(e->db));
                sqlite3_reset(st);
                ks->dirty = 0;
            }
}

void rules_tick(rules_engine *e, int64_t now)
{
    rules_lock(e);
    rules_flush_dirty(e); /* the sweep reads last_dp_ms from the table */
    sqlite3_stmt *st = NULL;
    typedef struct
    {
        char thing[RULES_NAME_MAX + 1];
        char profile[RULES_NAME_MAX + 1];
        char beh[RULES_NAME_MAX + 1];
        int status;
        char vid[33];
        int64_t last;
    } row;
    row *rows = NULL;
    size_t n = 0;
    if (sqlite3_prepare_v2(
            e->db,
            "SELECT thing, profile, behavior, status, vid, last_dp_ms FROM rules_state"
            " WHERE last_dp_ms < ? ORDER BY last_dp_ms LIMIT 1000",
            -1, &st, NULL) == SQLITE_OK)
    {
        sqlite3_bind_int64(st, 1, now - RULES_SILENCE_MS);
        while (sqlite3_step(st) == SQLITE_ROW)
        {
            row *nr = realloc(rows, (n + 1) * sizeof *nr);
            if (nr == NULL)
                break;
            rows = nr;
            const unsigned char *c[3] = {sqlite3_column_text(st, 0), sqlite3_column_text(st, 1),
                                         sqlite3_column_text(st, 2)};
            const unsigned char *vd = sqlite3_column_text(st, 4);
            snprintf(rows[n].thing, sizeof rows[n].thing, "%s", c[0] ? (const char *) c[0] : "");
            snprintf(rows[n].profile, sizeof rows[n].profile, "%s",
                     c[1] ? (const char *) c[1] : "");
            snprintf(rows[n].beh, sizeof rows[n].beh, "%s", c[2] ? (const char *) c[2] : "");
            snprintf(rows[n].vid, sizeof rows[n].vid, "%s", vd ? (const char *) vd : "");
            rows[n].status = sqlite3_column_int(st, 3);
            rows[n].last = sqlite3_column_int64(st, 5);
            n++;
        }
        sqlite3_finalize(st);
    }
    for (size_t i = 0; i < n; i++)
    {
        rules_profile *p = rules_profile_find(e, rows[i].profile);
        rules_beh *b = p ? rules_beh_find(p, rows[i].beh) : NULL;
        if (b != NULL && rows[i].status == 1)
            emit(e, rows[i].thing, p, b, "alarm-invalidated", rows[i].last + RULES_SILENCE_MS, NULL,
                 rows[i].vid);
        state_delete(e, rows[i].thing, rows[i].profile, rows[i].beh);
        rules_thing *th = rules_thing_get(e, rows[i].thing, strlen(rows[i].thing), 0);
        if (th != NULL && b != NULL)
            ks_remove(th, b->bid);
    }
    free(rows);
    if (now >= e->next_retention_ms)
    {
        e->next_retention_ms = now + 3600 * 1000;
        if (rules_tx_begin(e) == 0 &&
            sqlite3_prepare_v2(e->db, "DELETE FROM rules_events WHERE time_ms < ? AND notify != 1",
                               -1, &st, NULL) == SQLITE_OK)
        {
            sqlite3_bind_int64(st, 1, now - (int64_t) e->cfg.event_retention_days * 86400 * 1000);
            sqlite3_step(st);
            sqlite3_finalize(st);
        }
    }
    rules_tx_commit(e);
    rules_end(e);
}

/* ---------------------------------------------------------------------------------------------
 * Loading
 * ------------------------------------------------------------------------------------------- */

typedef struct
{
    rules_engine *e;
} load_ctx;

static cm_type db_custom_type(void *ctx, const char *name, size_t len)
{
    rules_engine *e = ctx;
    if (e->cfg.custom_type != NULL)
    {
        cm_type t = e->cfg.custom_type(e->cfg.custom_ctx, name, len);
        if (t != CM_NONE)
            return t;
    }
    sqlite3_stmt *st = NULL;
    cm_type t = CM_NONE;
    if (sqlite3_prepare_v2(e->db, "SELECT type FROM custom_metrics WHERE name=?", -1, &st, NULL) ==
        SQLITE_OK)
    {
        sqlite3_bind_text(st, 1, name, (int) len, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW)
        {
            const char *ty = (const char *) sqlite3_column_text(st, 0);
            if (ty == NULL)
                t = CM_NONE;
            else if (strcmp(ty, "number") == 0)
                t = CM_NUMBER;
            else if (strcmp(ty, "number-list") == 0)
                t = CM_NUMBER_LIST;
            else if (strcmp(ty, "string-list") == 0)
                t = CM_STRING_LIST;
            else if (strcmp(ty, "ip-address-list") == 0)
                t = CM_IP_LIST;
        }
    }
    sqlite3_finalize(st);
    return t;
}

static int dim_exists_cb(void *ctx, const char *name)
{
    rules_engine *e = ctx;
    for (size_t i = 0; i < e->ndims; i++)
        if (strcmp(e->dims[i].name, name) == 0)
            return 1;
    return 0;
}

void rules_vctx_init(rules_engine *e, rules_vctx *v);
void rules_vctx_init(rules_engine *e, rules_vctx *v)
{
    v->custom_type = db_custom_type;
    v->custom_ctx = e;
    v->dim_exists = dim_exists_cb;
    v->dim_ctx = e;
    v->max_behaviors = e->cfg.max_behaviors;
    v->max_value_elements = e->cfg.max_value_elements;
}

static int thing_add_group(rules_thing *th, const char *g)
{
    for (size_t i = 0; i < th->ngroups; i++)
        if (strcmp(th->groups[i], g) == 0)
            return 0;
    char **ng = realloc(th->groups, (th->ngroups + 1) * sizeof *ng);
    if (ng == NULL)
        return -1;
    th->groups = ng;
    th->groups[th->ngroups] = strdup(g);
    if (th->groups[th->ngroups] == NULL)
        return -1;
    th->ngroups++;
    return 0;
}

int rules_group_add_member(rules_engine *e, const char *g, const char *thing);
int rules_group_add_member(rules_engine *e, const char *g, const char *thing)
{
    rules_thing *th = rules_thing_get(e, thing, strlen(thing), 1);
    return th == NULL ? -1 : thing_add_group(th, g);
}

void rules_group_remove_member(rules_engine *e, const char *g, const char *thing);
void rules_group_remove_member(rules_engine *e, const char *g, const char *thing)
{
    rules_thing *th = rules_thing_get(e, thing, strlen(thing), 0);
    if (th == NULL)
        return;
    for (size_t i = 0; i < th->ngroups; i++)
        if (strcmp(th->groups[i], g) == 0)
        {
            free(th->groups[i]);
            th->groups[i] = th->groups[--th->ngroups];
            return;
        }
}

int rules_group_add(rules_engine *e, const char *name, const char *parent, int from_file);
int rules_group_add(rules_engine *e, const char *name, const char *parent, int from_file)
{
    if (rules_group_find(e, name) != NULL)
        return 1;
    rules_group *ng = realloc(e->groups, (e->ngroups + 1) * sizeof *ng);
    if (ng == NULL)
        return -1;
    e->groups = ng;
    rules_group *g = &e->groups[e->ngroups++];
    memset(g, 0, sizeof *g);
    snprintf(g->name, sizeof g->name, "%s", name);
    snprintf(g->parent, sizeof g->parent, "%s", parent ? parent : "");
    g->from_file = from_file;
    return 0;
}

static int load_groups_file(rules_engine *e, const char *path, char *err, size_t errsz)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
    {
        snprintf(err, errsz, "cannot open thing-groups file %s", path);
        return -1;
    }
    char *buf = malloc(16u << 20);
    size_t n = buf ? fread(buf, 1, (16u << 20) - 1, f) : 0;
    fclose(f);
    if (buf == NULL)
    {
        snprintf(err, errsz, "out of memory");
        return -1;
    }
    cJSON *j = cJSON_ParseWithLength(buf, n);
    free(buf);
    if (!cJSON_IsObject(j))
    {
        cJSON_Delete(j);
        snprintf(err, errsz, "%s: not a JSON object", path);
        return -1;
    }
    const cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(j, "registeredThings"))
    {
        if (cJSON_IsString(it))
        {
            rules_thing *th = rules_thing_get(e, it->valuestring, strlen(it->valuestring), 1);
            if (th)
                th->registered = 1;
        }
    }
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(j, "thingGroups"))
    {
        const cJSON *gn = cJSON_GetObjectItemCaseSensitive(it, "thingGroupName");
        const cJSON *pn = cJSON_GetObjectItemCaseSensitive(it, "parentGroupName");
        if (!cJSON_IsString(gn) || !rules_name_ok(gn->valuestring, 1, RULES_NAME_MAX))
            continue;
        rules_group_add(e, gn->valuestring, cJSON_IsString(pn) ? pn->valuestring : NULL, 1);
        const cJSON *t;
        cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(it, "things"))
        {
            if (cJSON_IsString(t) && rules_name_ok(t->valuestring, 1, RULES_NAME_MAX))
                rules_group_add_member(e, gn->valuestring, t->valuestring);
        }
    }
    cJSON_Delete(j);
    return 0;
}

static int load_all(rules_engine *e, char *err, size_t errsz)
{
    sqlite3_stmt *st = NULL;
    /* dimensions */
    if (sqlite3_prepare_v2(e->db, "SELECT name, doc, created_ms, modified_ms FROM rules_dimensions",
                           -1, &st, NULL) != SQLITE_OK)
        return -1;
    while (sqlite3_step(st) == SQLITE_ROW)
    {
        rules_dim *nd = realloc(e->dims, (e->ndims + 1) * sizeof *nd);
        if (nd == NULL)
            break;
        e->dims = nd;
        rules_dim *d = &e->dims[e->ndims];
        memset(d, 0, sizeof *d);
        snprintf(d->name, sizeof d->name, "%s", (const char *) sqlite3_column_text(st, 0));
        cJSON *doc = cJSON_Parse((const char *) sqlite3_column_text(st, 1));
        if (doc == NULL)
            continue;
        d->values = cJSON_DetachItemFromObjectCaseSensitive(doc, "stringValues");
        d->tags = cJSON_DetachItemFromObjectCaseSensitive(doc, "tags");
        const cJSON *tok = cJSON_GetObjectItemCaseSensitive(doc, "clientRequestToken");
        if (cJSON_IsString(tok))
            snprintf(d->token, sizeof d->token, "%s", tok->valuestring);
        cJSON_Delete(doc);
        d->created_ms = sqlite3_column_int64(st, 2);
        d->modified_ms = sqlite3_column_int64(st, 3);
        e->ndims++;
    }
    sqlite3_finalize(st);
    /* registry and groups */
    if (sqlite3_prepare_v2(e->db, "SELECT name FROM rules_things", -1, &st, NULL) == SQLITE_OK)
    {
        while (sqlite3_step(st) == SQLITE_ROW)
        {
            const char *n = (const char *) sqlite3_column_text(st, 0);
            rules_thing *th = n ? rules_thing_get(e, n, strlen(n), 1) : NULL;
            if (th)
                th->registered = 1;
        }
        sqlite3_finalize(st);
    }
    if (sqlite3_prepare_v2(e->db, "SELECT name, parent FROM rules_groups", -1, &st, NULL) ==
        SQLITE_OK)
    {
        while (sqlite3_step(st) == SQLITE_ROW)
            rules_group_add(e, (const char *) sqlite3_column_text(st, 0),
                            (const char *) sqlite3_column_text(st, 1), 0);
        sqlite3_finalize(st);
    }
    if (sqlite3_prepare_v2(e->db, "SELECT grp, thing FROM rules_members", -1, &st, NULL) ==
        SQLITE_OK)
    {
        while (sqlite3_step(st) == SQLITE_ROW)
            rules_group_add_member(e, (const char *) sqlite3_column_text(st, 0),
                                   (const char *) sqlite3_column_text(st, 1));
        sqlite3_finalize(st);
    }
    if (e->cfg.thing_groups_file && e->cfg.thing_groups_file[0] &&
        load_groups_file(e, e->cfg.thing_groups_file, err, errsz) != 0)
        return -1;
    /* profiles */
    rules_vctx v;
    rules_vctx_init(e, &v);
    v.max_behaviors = 1 << 20;
    v.max_value_elements = 1 << 30;
    if (sqlite3_prepare_v2(e->db,
                           "SELECT name, doc, version, created_ms, modified_ms FROM rules_profiles"
                           " ORDER BY name",
                           -1, &st, NULL) != SQLITE_OK)
        return -1;
    while (sqlite3_step(st) == SQLITE_ROW)
    {
        rules_profile *p = calloc(1, sizeof *p);
        if (p == NULL)
            break;
        snprintf(p->name, sizeof p->name, "%s", (const char *) sqlite3_column_text(st, 0));
        p->doc = cJSON_Parse((const char *) sqlite3_column_text(st, 1));
        p->version = sqlite3_column_int64(st, 2);
        p->created_ms = sqlite3_column_int64(st, 3);
        p->modified_ms = sqlite3_column_int64(st, 4);
        if (p->doc == NULL)
        {
            free(p);
            continue;
        }
        const cJSON *bs = cJSON_GetObjectItemCaseSensitive(p->doc, "behaviors");
        if (bs != NULL)
        {
            rules_errs errs = {0};
            cJSON *clean = NULL;
            size_t elements;
            if (!rules_compile_behaviors(bs, &v, &errs, &p->behs, &p->nbehs, &clean, &elements))
                fprintf(stderr, "defender-detect rules: profile %s: stored behaviors invalid: %s\n",
                        p->name, errs.n ? errs.v[0] : "?");
            cJSON_Delete(clean);
            rules_errs_free(&errs);
        }
        for (size_t i = 0; i < p->nbehs; i++)
            beh_runtime_init(e, &p->behs[i]);
        alert_arn_from_doc(p);
        rules_profile **np = realloc(e->profiles, (e->nprofiles + 1) * sizeof *np);
        if (np == NULL)
        {
            profile_free(p);
            break;
        }
        e->profiles = np;
        e->profiles[e->nprofiles++] = p;
    }
    sqlite3_finalize(st);
    if (sqlite3_prepare_v2(e->db, "SELECT profile, arn FROM rules_targets ORDER BY rowid", -1, &st,
                           NULL) == SQLITE_OK)
    {
        while (sqlite3_step(st) == SQLITE_ROW)
        {
            rules_profile *p = rules_profile_find(e, (const char *) sqlite3_column_text(st, 0));
            rules_target t;
            const char *arn = (const char *) sqlite3_column_text(st, 1);
            if (p == NULL || arn == NULL || rules_parse_target(e, arn, &t) != 0)
                continue;
            rules_target *nt = realloc(p->targets, (p->ntargets + 1) * sizeof *nt);
            if (nt == NULL)
                break;
            p->targets = nt;
            t.arn = strdup(arn);
            if (t.arn == NULL)
                break;
            p->targets[p->ntargets++] = t;
        }
        sqlite3_finalize(st);
    }
    /* alarm state */
    if (sqlite3_prepare_v2(e->db,
                           "SELECT thing, profile, behavior, status, nv, nc, last_dp_ms, vid,"
                           " start_ms, last_viol_ms, last_value, rowid FROM rules_state",
                           -1, &st, NULL) == SQLITE_OK)
    {
        while (sqlite3_step(st) == SQLITE_ROW)
        {
            const char *tn = (const char *) sqlite3_column_text(st, 0);
            rules_profile *p = rules_profile_find(e, (const char *) sqlite3_column_text(st, 1));
            rules_beh *b = p ? rules_beh_find(p, (const char *) sqlite3_column_text(st, 2)) : NULL;
            rules_thing *th = tn ? rules_thing_get(e, tn, strlen(tn), 1) : NULL;
            if (b == NULL || th == NULL)
                continue;
            rules_kstate *k = ks_add(th, b->bid);
            if (k == NULL)
                break;
            k->status = (uint8_t) sqlite3_column_int(st, 3);
            k->nv = (uint8_t) sqlite3_column_int(st, 4);
            k->nc = (uint8_t) sqlite3_column_int(st, 5);
            k->last_dp_ms = sqlite3_column_int64(st, 6);
            const char *vid = (const char *) sqlite3_column_text(st, 7);
            snprintf(k->vid, sizeof k->vid, "%s", vid ? vid : "");
            k->start_ms = sqlite3_column_int64(st, 8);
            k->last_viol_ms = sqlite3_column_int64(st, 9);
            const char *lv = (const char *) sqlite3_column_text(st, 10);
            k->last_value = lv ? strdup(lv) : NULL;
            k->rowid = sqlite3_column_int64(st, 11);
        }
        sqlite3_finalize(st);
    }
    return 0;
}

/* Feeds the service's stored reports received after since_ms to the engine, oldest first:
 * full replay (traffic windows and statistic buckets, no evaluation) or traffic only. */
static void replay_since(rules_engine *e, int64_t since_ms, int traffic_only)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(e->db,
                           "SELECT t.name, r.received_ms, r.datapoints FROM reports r JOIN things t"
                           " ON t.id = r.thing_id WHERE r.received_ms > ? ORDER BY r.received_ms,"
                           " r.id",
                           -1, &st, NULL) != SQLITE_OK)
    {
        sqlite3_finalize(st); /* no reports table (an engine without the service) */
        return;
    }
    sqlite3_bind_int64(st, 1, since_ms);
    while (sqlite3_step(st) == SQLITE_ROW)
    {
        const char *tn = (const char *) sqlite3_column_text(st, 0);
        int64_t t = sqlite3_column_int64(st, 1);
        const char *dj = (const char *) sqlite3_column_text(st, 2);
        if (tn == NULL || dj == NULL)
            continue;
        cJSON *j = cJSON_Parse(dj);
        if (!cJSON_IsObject(j))
        {
            cJSON_Delete(j);
            continue;
        }
        detect_datapoint dps[64];
        size_t n = 0;
        const cJSON *m;
        cJSON_ArrayForEach(m, j)
        {
            if (n == 64 || m->string == NULL)
                break;
            const cJSON *c = cJSON_GetObjectItemCaseSensitive(m, "count");
            const cJSON *num = cJSON_GetObjectItemCaseSensitive(m, "number");
            memset(&dps[n], 0, sizeof dps[n]);
            dps[n].metric = m->string;
            dps[n].metric_len = (uint32_t) strlen(m->string);
            if (cJSON_IsNumber(c) && c->valuedouble >= 0)
            {
                dps[n].kind = DP_COUNT;
                dps[n].count = (uint64_t) c->valuedouble;
                n++;
            }
            else if (cJSON_IsNumber(num))
            {
                dps[n].kind = DP_NUMBER;
                dps[n].number = num->valuedouble;
                n++;
            }
        }
        rules_thing *th = rules_thing_get(e, tn, strlen(tn), 1);
        if (th != NULL)
        {
            if (traffic_only)
            {
                report_ix ix;
                memset(&ix, 0, sizeof ix);
                dpx xs[64];
                ix.x = xs;
                ix.n = n;
                for (size_t i = 0; i < n; i++)
                {
                    memset(&xs[i], 0, sizeof xs[i]);
                    xs[i].dp = &dps[i];
                    int s = slot_of(dps[i].metric, dps[i].metric_len);
                    if (s >= 0 && ix.slots[s] == NULL)
                        ix.slots[s] = &xs[i];
                }
                traffic_add(th, t, &ix);
            }
            else
                process(e, th, t, dps, n, 1);
        }
        cJSON_Delete(j);
    }
    sqlite3_finalize(st);
}

static int profiles_need_windows(const rules_engine *e)
{
    for (size_t i = 0; i < e->nprofiles; i++)
        for (size_t k = 0; k < e->profiles[i]->nbehs; k++)
            if (e->profiles[i]->behs[k].kind == MK_TRAFFIC && e->profiles[i]->behs[k].duration > 0)
                return 1;
    return 0;
}

void rules_windows_update(rules_engine *e)
{
    int need = profiles_need_windows(e);
    if (need && !e->windows)
    {
        /* history was not kept while no profile needed it: reload the longest window */
        for (size_t i = 0; i < e->ntbl; i++)
            for (rules_thing *t = e->tbl[i]; t != NULL; t = t->next)
                t->ntr = 0;
        e->windows = 1;
        replay_since(e, rules_now(e) - RULES_WINDOW_MAX_MS, 1);
    }
    e->windows = need;
}

/* Rebuilds traffic windows and statistic buckets from the service's stored reports. */
static void replay_reports(rules_engine *e)
{
    sqlite3_stmt *st = NULL;
    e->windows = profiles_need_windows(e);
    if (e->nprofiles == 0 || sqlite3_prepare_v2(e->db, "SELECT MAX(received_ms) FROM reports", -1,
                                                &st, NULL) != SQLITE_OK)
    {
        sqlite3_finalize(st);
        return;
    }
    int64_t maxt = 0;
    if (sqlite3_step(st) == SQLITE_ROW)
        maxt = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    if (maxt == 0)
        return;
    replay_since(e, maxt - 2 * RULES_WINDOW_MAX_MS, 0);
}

rules_engine *rules_open(const rules_config *c, char *err, size_t errsz)
{
    rules_engine *e = calloc(1, sizeof *e);
    if (e == NULL)
    {
        snprintf(err, errsz, "out of memory");
        return NULL;
    }
    e->cfg = *c;
#define DUP(field, store)                                                                          \
    do                                                                                             \
    {                                                                                              \
        e->store = c->field ? strdup(c->field) : NULL;                                             \
        e->cfg.field = e->store;                                                                   \
    } while (0)
    DUP(db_path, s_db);
    DUP(partition, s_partition);
    DUP(region, s_region);
    DUP(account_id, s_account);
    DUP(alert_topic, s_topic);
    DUP(alert_url, s_url);
    DUP(thing_groups_file, s_groups);
#undef DUP
    if (e->cfg.partition == NULL)
        e->cfg.partition = "aws";
    if (e->cfg.region == NULL)
        e->cfg.region = "us-east-1";
    if (e->cfg.account_id == NULL)
        e->cfg.account_id = "123456789012";
    if (e->cfg.max_behaviors <= 0)
        e->cfg.max_behaviors = 100;
    if (e->cfg.max_value_elements <= 0)
        e->cfg.max_value_elements = 1000;
    if (e->cfg.max_profiles_per_target <= 0)
        e->cfg.max_profiles_per_target = 5;
    if (e->cfg.event_retention_days <= 0)
        e->cfg.event_retention_days = 30;
    if (e->cfg.tick_ms <= 0)
        e->cfg.tick_ms = 1000;
    pthread_mutex_init(&e->mu, NULL);
    pthread_mutex_init(&e->amu, NULL);
    pthread_cond_init(&e->acond, NULL);
    e->alerts_idle = 1;
    e->alert_kick = 1;
    if (e->cfg.db_path == NULL ||
        sqlite3_open_v2(e->cfg.db_path, &e->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                        NULL) != SQLITE_OK)
    {
        snprintf(err, errsz, "rules: cannot open database %s", c->db_path ? c->db_path : "(none)");
        rules_close(e);
        return NULL;
    }
    sqlite3_busy_timeout(e->db, 10000);
    if (rules_exec(e, "PRAGMA journal_mode=WAL") != 0 ||
        rules_exec(e, "PRAGMA synchronous=NORMAL") != 0 || rules_exec(e, g_schema) != 0)
    {
        snprintf(err, errsz, "rules: cannot create tables in %s", c->db_path);
        rules_close(e);
        return NULL;
    }
    if (load_all(e, err, errsz) != 0)
    {
        if (err[0] == '\0')
            snprintf(err, errsz, "rules: cannot load state from %s", c->db_path);
        rules_close(e);
        return NULL;
    }
    replay_reports(e);
    return e;
}

static void *tick_main(void *arg)
{
    rules_engine *e = arg;
    for (;;)
    {
        pthread_mutex_lock(&e->amu);
        if (e->stopping)
        {
            pthread_mutex_unlock(&e->amu);
            break;
        }
        pthread_mutex_unlock(&e->amu);
        /* a clock callback answering 0 has no time yet (a test clock not set): no sweep */
        int64_t now = e->cfg.now_ms != NULL ? e->cfg.now_ms(e->cfg.now_ctx) : rules_now(e);
        if (now > 0)
            rules_tick(e, now);
        struct timespec ts = {e->cfg.tick_ms / 1000, (long) (e->cfg.tick_ms % 1000) * 1000000L};
        /* sleep in small steps so that close is prompt */
        for (int i = 0; i < 10; i++)
        {
            struct timespec part = {ts.tv_sec / 10,
                                    (ts.tv_nsec + (ts.tv_sec % 10) * 1000000000L) / 10};
            nanosleep(&part, NULL);
            pthread_mutex_lock(&e->amu);
            int stop = e->stopping;
            pthread_mutex_unlock(&e->amu);
            if (stop)
                break;
        }
    }
    return NULL;
}

int rules_start(rules_engine *e)
{
    if (e->started)
        return 0;
    if (sqlite3_open_v2(e->cfg.db_path, &e->adb, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX,
                        NULL) != SQLITE_OK)
        return -1;
    sqlite3_busy_timeout(e->adb, 10000);
    if (pthread_create(&e->alert_thr, NULL, rules_alert_main, e) != 0)
        return -1;
    if (pthread_create(&e->tick_thr, NULL, tick_main, e) != 0)
    {
        pthread_mutex_lock(&e->amu);
        e->stopping = 1;
        pthread_cond_broadcast(&e->acond);
        pthread_mutex_unlock(&e->amu);
        pthread_join(e->alert_thr, NULL);
        return -1;
    }
    e->started = 1;
    return 0;
}

void rules_stop(rules_engine *e)
{
    if (e == NULL || !e->started)
        return;
    pthread_mutex_lock(&e->amu);
    e->stopping = 1;
    pthread_cond_broadcast(&e->acond);
    pthread_mutex_unlock(&e->amu);
    pthread_join(e->tick_thr, NULL);
    pthread_join(e->alert_thr, NULL);
    e->started = 0;
    rules_lock(e);
    rules_flush_dirty(e);
    rules_tx_commit(e);
    rules_unlock(e);
}

void rules_close(rules_engine *e)
{
    if (e == NULL)
        return;
    rules_stop(e);
    if (e->adb)
        sqlite3_close(e->adb);
    /* an engine never started (or stopped before a last report) may hold keys whose last
     * violation is only in memory: written while the things still exist */
    if (e->db)
    {
        rules_flush_dirty(e);
        rules_tx_commit(e);
    }
    for (size_t i = 0; i < e->nprofiles; i++)
        profile_free(e->profiles[i]);
    free(e->profiles);
    for (size_t i = 0; i < e->ndims; i++)
    {
        cJSON_Delete(e->dims[i].values);
        cJSON_Delete(e->dims[i].tags);
    }
    free(e->dims);
    free(e->groups);
    for (size_t i = 0; i < e->ntbl; i++)
        for (rules_thing *t = e->tbl[i], *n; t != NULL; t = n)
        {
            n = t->next;
            thing_free(t);
        }
    free(e->tbl);
    for (size_t i = 0; i < sizeof e->stmts / sizeof e->stmts[0]; i++)
        sqlite3_finalize(e->stmts[i]);
    if (e->db)
    {
        if (e->in_tx)
            rules_tx_commit(e);
        sqlite3_close(e->db);
    }
    pthread_mutex_destroy(&e->mu);
    pthread_mutex_destroy(&e->amu);
    pthread_cond_destroy(&e->acond);
    free(e->s_db);
    free(e->s_partition);
    free(e->s_region);
    free(e->s_account);
    free(e->s_topic);
    free(e->s_url);
    free(e->s_groups);
    free(e);
}

int rules_metric_in_use(rules_engine *e, const char *metric)
{
    int used = 0;
    rules_lock(e);
    for (size_t i = 0; i < e->nprofiles && !used; i++)
    {
        rules_profile *p = e->profiles[i];
        for (size_t k = 0; k < p->nbehs && !used; k++)
            used = strcmp(p->behs[k].metric, metric) == 0;
        const cJSON *it;
        cJSON_ArrayForEach(it,
                           cJSON_GetObjectItemCaseSensitive(p->doc, "additionalMetricsToRetain"))
        {
            if (cJSON_IsString(it) && strcmp(it->valuestring, metric) == 0)
                used = 1;
        }
        cJSON_ArrayForEach(it,
                           cJSON_GetObjectItemCaseSensitive(p->doc, "additionalMetricsToRetainV2"))
        {
            const cJSON *m = cJSON_GetObjectItemCaseSensitive(it, "metric");
            if (cJSON_IsString(m) && strcmp(m->valuestring, metric) == 0)
                used = 1;
        }
    }
    rules_unlock(e);
    return used;
}

void rules_free(void *p)
{
    free(p);
}

void rules_profile_set_alert(rules_profile *p);
void rules_profile_set_alert(rules_profile *p)
{
    alert_arn_from_doc(p);
}

void rules_profile_init_behaviors(rules_engine *e, rules_profile *p);
void rules_profile_init_behaviors(rules_engine *e, rules_profile *p)
{
    for (size_t i = 0; i < p->nbehs; i++)
        beh_runtime_init(e, &p->behs[i]);
}

void rules_profile_free(rules_profile *p);
void rules_profile_free(rules_profile *p)
{
    profile_free(p);
}
