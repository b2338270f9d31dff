/* Engine internals shared by rules_engine.c, rules_http.c and rules_alert.c. */
#ifndef DETECT_RULES_ENGINE_H
#define DETECT_RULES_ENGINE_H

#include "rules_internal.h"

#include <pthread.h>
#include <sqlite3.h>

typedef enum
{
    TG_ALL = 1,
    TG_REGISTERED,
    TG_UNREGISTERED,
    TG_GROUP,
    TG_THING
} target_kind;

typedef struct
{
    char *arn;
    target_kind kind;
    char name[RULES_NAME_MAX + 1];
} rules_target;

typedef struct
{
    char name[RULES_NAME_MAX + 1];
    cJSON *doc; /* stored fields except name/version/dates; behaviors = clean list */
    rules_beh *behs;
    size_t nbehs;
    char alert_arn[2049]; /* "" = no SNS target */
    int64_t version;
    int64_t created_ms, modified_ms;
    rules_target *targets;
    size_t ntargets;
} rules_profile;

typedef struct
{
    uint32_t bid;
    uint8_t status; /* 0 NORMAL, 1 ALARM */
    uint8_t nv, nc;
    int64_t last_dp_ms;
    char vid[33];
    int64_t start_ms, last_viol_ms;
    char *last_value;
    int64_t rowid; /* of its rules_state row, 0 = unknown */
    uint8_t dirty; /* last violation not yet written (rules_flush_dirty) */
} rules_kstate;

typedef struct
{
    int64_t t;
    uint64_t v[4];
    uint8_t mask;
} rules_tr;

typedef struct
{
    uint32_t bid;
    int64_t bucket;
    uint32_t idx;
} rules_slot;

#define RULES_TR_MAX 64

typedef struct rules_thing
{
    struct rules_thing *next;
    uint32_t hash;
    int registered;
    char **groups;
    size_t ngroups;
    rules_tr *tr;
    uint32_t ntr, captr;
    rules_kstate *ks;
    size_t nks;
    rules_slot *slots;
    size_t nslots;
    char name[]; /* NUL-terminated */
} rules_thing;

typedef struct
{
    char name[RULES_NAME_MAX + 1];
    char parent[RULES_NAME_MAX + 1];
    int from_file;
} rules_group;

typedef struct
{
    char name[RULES_NAME_MAX + 1];
    cJSON *values;
    cJSON *tags;
    char token[65];
    int64_t created_ms, modified_ms;
} rules_dim;

struct rules_engine
{
    rules_config cfg;
    char *s_db, *s_partition, *s_region, *s_account, *s_topic, *s_url, *s_groups;
    pthread_mutex_t mu;
    sqlite3 *db;
    int in_tx;
    sqlite3_stmt *stmts[5];
    int dirty; /* some key is dirty */
    int notify_pending;
    int windows; /* some profile has a traffic behavior with durationSeconds (4.3) */
    rules_profile **profiles;
    size_t nprofiles;
    rules_group *groups;
    size_t ngroups;
    rules_dim *dims;
    size_t ndims;
    rules_thing **tbl;
    size_t ntbl, nthings;
    uint32_t next_bid;
    /* background threads */
    pthread_t tick_thr, alert_thr;
    int started;
    int stopping;
    pthread_mutex_t amu;
    pthread_cond_t acond;
    int alert_kick;
    int alerts_idle;
    sqlite3 *adb;
    int64_t next_retention_ms;
    /* counters (4.9) */
    uint64_t n_violations, n_cleared, n_invalidated, n_alerts_sent, n_alert_failures;
};

int64_t rules_now(rules_engine *e);
void rules_lock(rules_engine *e);
void rules_unlock(rules_engine *e);
/* Commits, unlocks and wakes the alert thread when events are to be notified. */
void rules_end(rules_engine *e);
/* Writes the in-alarm keys whose last violation moved (under the lock). */
void rules_flush_dirty(rules_engine *e);
int rules_exec(rules_engine *e, const char *sql);
int rules_tx_begin(rules_engine *e);
int rules_tx_commit(rules_engine *e);
void rules_make_arn(rules_engine *e, char *out, size_t cap, const char *kind, const char *name);

rules_profile *rules_profile_find(rules_engine *e, const char *name);
rules_beh *rules_beh_find(rules_profile *p, const char *name);
rules_thing *rules_thing_get(rules_engine *e, const char *name, size_t len, int create);
int rules_thing_covered(rules_engine *e, const rules_thing *th, const rules_profile *p);
rules_group *rules_group_find(rules_engine *e, const char *name);

/* Profile lifecycle (engine side of the API); all under the lock. */
int rules_profile_store(rules_engine *e, rules_profile *p, int is_new);
/* Installs the new behaviors of p (takes them), keeping state for unchanged definitions
 * and invalidating the rest (4.8). */
void rules_profile_replace_behaviors(rules_engine *e, rules_profile *p, rules_beh *nb, size_t nn);
void rules_profile_delete(rules_engine *e, rules_profile *p);
/* Recomputes e->windows after profiles or behaviors changed. When windowed traffic
 * behaviors appear where there were none, every thing's traffic history of the longest
 * window is reloaded from the service's stored reports (4.3: the window holds the thing's
 * accepted reports, including those received before the behavior or its coverage existed). */
void rules_windows_update(rules_engine *e);
/* Invalidates keys of things no longer covered (after target/group/registry changes).
 * thing == NULL: all things. */
void rules_recheck_coverage(rules_engine *e, const char *thing);
int rules_parse_target(rules_engine *e, const char *arn, rules_target *t);

/* Alerts */
void rules_alert_kick(rules_engine *e);
void *rules_alert_main(void *arg);
int rules_http_post(const char *url, const char *body, size_t len, const char *topic_arn, char *err,
                    size_t errsz);

#endif
