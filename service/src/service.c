#include "service.h"

#include "log.h"
#include "reply.h"

#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---------------------------------------------------------------------------------------------
 * Thing table: open hashing; one small allocation per thing (PD-17 window state, PD-19 order)
 * ------------------------------------------------------------------------------------------- */

struct thing_state
{
    thing_state *next;
    int64_t db_id; /* 0 = not yet known to the store */
    int64_t last_accept_ms;
    uint64_t max_id;
    uint32_t hash;
    uint8_t name_len;
    char name[]; /* name_len bytes, not NUL-terminated */
};

static int things_grow(detect_service *s)
{
    size_t nb = s->nbuckets ? s->nbuckets * 2 : 1024;
    thing_state **b = calloc(nb, sizeof *b);
    if (b == NULL)
        return -1;
    for (size_t i = 0; i < s->nbuckets; i++)
    {
        thing_state *t = s->buckets[i];
        while (t != NULL)
        {
            thing_state *n = t->next;
            size_t k = t->hash & (nb - 1);
            t->next = b[k];
            b[k] = t;
            t = n;
        }
    }
    atomic_fetch_add(&s->counters.thing_state_bytes, (nb - s->nbuckets) * sizeof *b);
    free(s->buckets);
    s->buckets = b;
    s->nbuckets = nb;
    return 0;
}

static thing_state *thing_find(detect_service *s, const char *name, size_t len, int create)
{
    uint32_t h = str_hash_seeded(name, len);
    if (s->nbuckets > 0)
    {
        for (thing_state *t = s->buckets[h & (s->nbuckets - 1)]; t != NULL; t = t->next)
            if (t->hash == h && t->name_len == len && memcmp(t->name, name, len) == 0)
                return t;
    }
    if (!create)
        return NULL;
    if (s->nthings >= s->nbuckets && things_grow(s) < 0)
        return NULL;
    thing_state *t = calloc(1, sizeof *t + len);
    if (t == NULL)
        return NULL;
    t->hash = h;
    t->name_len = (uint8_t) len;
    memcpy(t->name, name, len);
    size_t k = h & (s->nbuckets - 1);
    t->next = s->buckets[k];
    s->buckets[k] = t;
    s->nthings++;
    atomic_fetch_add(&s->counters.things, 1);
    /* usable size plus the allocator's per-chunk header */
    atomic_fetch_add(&s->counters.thing_state_bytes, malloc_usable_size(t) + sizeof(size_t));
    return t;
}

size_t service_thing_memory(detect_service *s)
{
    size_t total = s->nbuckets * sizeof(thing_state *);
    for (size_t i = 0; i < s->nbuckets; i++)
        for (thing_state *t = s->buckets[i]; t != NULL; t = t->next)
            total += malloc_usable_size(t) + 2 * sizeof(size_t);
    return total;
}

static void load_thing_cb(void *ctx, int64_t id, const char *name, size_t len, int64_t last,
                          uint64_t max_id)
{
    detect_service *s = ctx;
    if (len == 0 || len > THING_NAME_MAX)
        return;
    thing_state *t = thing_find(s, name, len, 1);
    if (t == NULL)
        return;
    t->db_id = id;
    t->last_accept_ms = last;
    t->max_id = max_id;
}

/* ---------------------------------------------------------------------------------------------
 * Custom-metric registry (shared by the HTTP thread and the worker)
 * ------------------------------------------------------------------------------------------- */

typedef struct
{
    char name[129];
    cm_type type;
} creg_entry;

static pthread_mutex_t g_creg_lock = PTHREAD_MUTEX_INITIALIZER;
static creg_entry *g_creg;
static size_t g_creg_n, g_creg_cap;

cm_type custom_type_from_string(const char *s)
{
    if (strcmp(s, "number") == 0)
        return CM_NUMBER;
    if (strcmp(s, "number-list") == 0)
        return CM_NUMBER_LIST;
    if (strcmp(s, "string-list") == 0)
        return CM_STRING_LIST;
    if (strcmp(s, "ip-address-list") == 0)
        return CM_IP_LIST;
    return CM_NONE;
}

void custom_registry_set(const char *name, cm_type t)
{
    pthread_mutex_lock(&g_creg_lock);
    for (size_t i = 0; i < g_creg_n; i++)
        if (strcmp(g_creg[i].name, name) == 0)
        {
            g_creg[i].type = t;
            pthread_mutex_unlock(&g_creg_lock);
            return;
        }
    if (g_creg_n == g_creg_cap)
    {
        size_t nc = g_creg_cap ? g_creg_cap * 2 : 16;
        creg_entry *ne = realloc(g_creg, nc * sizeof *ne);
        if (ne == NULL)
        {
            pthread_mutex_unlock(&g_creg_lock);
            log_msg(LOG_ERROR, "out of memory in custom metric registry");
            return;
        }
        g_creg = ne;
        g_creg_cap = nc;
    }
    snprintf(g_creg[g_creg_n].name, sizeof g_creg[g_creg_n].name, "%s", name);
    g_creg[g_creg_n].type = t;
    g_creg_n++;
    pthread_mutex_unlock(&g_creg_lock);
}

void custom_registry_remove(const char *name)
{
    pthread_mutex_lock(&g_creg_lock);
    for (size_t i = 0; i < g_creg_n; i++)
        if (strcmp(g_creg[i].name, name) == 0)
        {
            g_creg[i] = g_creg[g_creg_n - 1];
            g_creg_n--;
            break;
        }
    pthread_mutex_unlock(&g_creg_lock);
}

void custom_registry_clear(void)
{
    pthread_mutex_lock(&g_creg_lock);
    free(g_creg);
    g_creg = NULL;
    g_creg_n = g_creg_cap = 0;
    pthread_mutex_unlock(&g_creg_lock);
}

cm_type custom_registry_lookup(void *ctx, const char *name, size_t len)
{
    (void) ctx;
    cm_type t = CM_NONE;
    pthread_mutex_lock(&g_creg_lock);
    for (size_t i = 0; i < g_creg_n; i++)
        if (strlen(g_creg[i].name) == len && memcmp(g_creg[i].name, name, len) == 0)
        {
            t = g_creg[i].type;
            break;
        }
    pthread_mutex_unlock(&g_creg_lock);
    return t;
}

/* ---------------------------------------------------------------------------------------------
 * Clock
 * ------------------------------------------------------------------------------------------- */

int64_t service_now_ms(detect_service *s)
{
    int64_t f = (int64_t) atomic_load(&s->fake_now_ms);
    if (f != 0)
        return f;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---------------------------------------------------------------------------------------------
 * Queue
 * ------------------------------------------------------------------------------------------- */

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* A lingering batch is taken as soon as it holds this many reports. */
static size_t linger_count(const detect_service *s)
{
    return s->cfg.batch_max < 256 ? (size_t) s->cfg.batch_max : 256;
}

void service_enqueue(detect_service *s, const char *topic, const void *payload, size_t len)
{
    size_t tl = strlen(topic);
    int oversize = len > (size_t) s->cfg.max_payload;
    size_t keep = oversize ? 0 : len;
    queued_msg *m = malloc(sizeof *m + tl + 1 + keep + 1);
    if (m == NULL)
    {
        log_msg(LOG_ERROR, "out of memory: message on %s lost before processing", topic);
        atomic_fetch_add(&s->counters.store_errors, 1);
        return;
    }
    m->next = NULL;
    m->recv_ms = service_now_ms(s);
    m->enq_us = mono_us();
    m->payload_len = len;
    m->oversize = oversize;
    m->topic = (char *) (m + 1);
    memcpy(m->topic, topic, tl + 1);
    m->payload = (uint8_t *) m->topic + tl + 1;
    if (keep)
        memcpy(m->payload, payload, keep);
    m->payload[keep] = 0;
    size_t cost = sizeof *m + tl + keep;
    size_t maxbytes = (size_t) s->cfg.queue_max_mb * 1024u * 1024u;
    pthread_mutex_lock(&s->qlock);
    /* back-pressure: wait for room rather than dropping (bounded memory) */
    while (s->qbytes + cost > maxbytes && s->qcount > 0 && !s->stopping)
        pthread_cond_wait(&s->qspace, &s->qlock);
    atomic_store(&s->idle, 0);
    if (s->qtail)
        s->qtail->next = m;
    else
        s->qhead = m;
    s->qtail = m;
    s->qbytes += cost;
    s->qcount++;
    if (s->worker_waiting && (!s->worker_lingering || s->qcount >= linger_count(s)))
        pthread_cond_signal(&s->qcond);
    pthread_mutex_unlock(&s->qlock);
}

/* ---------------------------------------------------------------------------------------------
 * Batch processing
 * ------------------------------------------------------------------------------------------- */

typedef enum
{
    ACT_NONE = 0, /* no reply */
    ACT_REPLY,    /* rejected: reply only */
    ACT_ACCEPT    /* stored; ACCEPTED after commit */
} action;

typedef struct
{
    queued_msg *m;
    action act;
    reply_kind kind;
    int has_id;
    uint64_t id;
    report_fmt fmt;
    const char *thing;
    size_t thing_len;
    /* undo information for accepted reports */
    thing_state *t;
    int64_t prev_last;
    uint64_t prev_max;
    int new_db_id;
    detect_datapoint *dps;
    size_t ndps;
    /* a reply decided from the per-thing state (steps 9-10: duplicate, id order, throttle),
     * which other reports of the batch may have changed: withdrawn, with its counter, when
     * the batch's commit fails */
    atomic_uint_fast64_t *state_counter;
} batch_item;

static void count_reject_step(detect_service *s, int step)
{
    switch (step)
    {
        case VSTEP_DECODE:
            atomic_fetch_add(&s->counters.rejected_decode, 1);
            break;
        case VSTEP_ROOT:
            atomic_fetch_add(&s->counters.rejected_root, 1);
            break;
        case VSTEP_HEADER:
            atomic_fetch_add(&s->counters.rejected_header, 1);
            break;
        case VSTEP_BODY:
            atomic_fetch_add(&s->counters.rejected_body, 1);
            break;
        case VSTEP_METRICS:
            atomic_fetch_add(&s->counters.rejected_metrics, 1);
            break;
        default:
            atomic_fetch_add(&s->counters.rejected_custom, 1);
            break;
    }
}

static void log_reject(const batch_item *it, const char *code, const char *why)
{
    if (it->has_id)
        log_msg(LOG_INFO, "rejected thing=%.*s reportId=%llu format=%s code=%s reason=\"%s\"",
                (int) it->thing_len, it->thing, (unsigned long long) it->id,
                it->fmt == FMT_JSON ? "json" : "cbor", code, why);
    else
        log_msg(LOG_INFO, "rejected thing=%.*s reportId=- format=%s code=%s reason=\"%s\"",
                (int) it->thing_len, it->thing, it->fmt == FMT_JSON ? "json" : "cbor", code, why);
}

/* Steps 1-11 for one message, inside the open transaction. */
static void process_one(detect_service *s, arena *a, batch_item *it, strbuf *dpjson)
{
    queued_msg *m = it->m;
    atomic_fetch_add(&s->counters.received, 1);
    /* step 1: topic and thing name */
    if (!parse_report_topic(m->topic, &it->thing, &it->thing_len, &it->fmt))
    {
        atomic_fetch_add(&s->counters.ignored_topic, 1);
        log_msg(LOG_INFO, "ignored message on non-report topic \"%.200s\"", m->topic);
        return;
    }
    if (!thing_name_valid(it->thing, it->thing_len, s->cfg.strict))
    {
        atomic_fetch_add(&s->counters.ignored_topic, 1);
        log_msg(LOG_INFO, "ignored report: invalid thing name (%zu bytes) in topic \"%.200s\"",
                it->thing_len, m->topic);
        return;
    }
    /* step 2: size */
    if (m->oversize)
    {
        atomic_fetch_add(&s->counters.dropped_oversize, 1);
        log_msg(LOG_INFO, "dropped report thing=%.*s: payload of %zu bytes exceeds %d",
                (int) it->thing_len, it->thing, m->payload_len, s->cfg.max_payload);
        return;
    }
    /* steps 3-8 */
    validate_opts vo = {s->cfg.strict, custom_registry_lookup, NULL};
    report_result r;
    report_validate(a, m->payload, m->payload_len, it->fmt, &vo, &r);
    it->has_id = r.has_report_id;
    it->id = r.report_id;
    if (!r.ok)
    {
        count_reject_step(s, r.step);
        it->act = ACT_REPLY;
        it->kind = REPLY_INVALID;
        log_reject(it, "InvalidPayload", r.reason);
        return;
    }
    if (r.nflags > 0)
    {
        atomic_fetch_add(&s->counters.values_flagged, r.nflags);
        log_msg(LOG_INFO, "flagged thing=%.*s reportId=%llu dropped values: %s",
                (int) it->thing_len, it->thing, (unsigned long long) r.report_id, r.flags);
    }
    int forced = atomic_load(&s->reject_mode);
    if (forced != 0)
    {
        atomic_fetch_add(&s->counters.rejected_forced, 1);
        it->act = ACT_REPLY;
        it->kind = forced == 2 ? REPLY_THROTTLED : REPLY_INVALID;
        log_reject(it, forced == 2 ? "Throttled" : "InvalidPayload", "forced by test hook");
        return;
    }
    /* step 9: report-id history */
    if (!s->tx_ok)
    {
        atomic_fetch_add(&s->counters.store_errors, 1);
        return; /* no storage: no ACCEPTED, no reply */
    }
    thing_state *t = thing_find(s, it->thing, it->thing_len, 1);
    if (t == NULL)
    {
        atomic_fetch_add(&s->counters.store_errors, 1);
        log_msg(LOG_ERROR, "out of memory for thing state");
        return;
    }
    if (t->db_id == 0)
    {
        if (s->db->ops->thing_id(s->db, it->thing, it->thing_len, &t->db_id) != STORE_OK)
        {
            atomic_fetch_add(&s->counters.store_errors, 1);
            log_msg(LOG_ERROR, "store error registering thing %.*s", (int) it->thing_len,
                    it->thing);
            t->db_id = 0;
            return;
        }
        it->new_db_id = 1;
    }
    if (t->max_id != 0 && r.report_id <= t->max_id)
    {
        int seen = r.report_id == t->max_id ? 1 : s->db->ops->id_seen(s->db, t->db_id, r.report_id);
        if (seen < 0)
        {
            atomic_fetch_add(&s->counters.store_errors, 1);
            log_msg(LOG_ERROR, "store error checking report id");
            return;
        }
        if (seen)
        {
            if (s->cfg.duplicate_reply)
            {
                atomic_fetch_add(&s->counters.rejected_duplicate, 1);
                it->state_counter = &s->counters.rejected_duplicate;
                it->act = ACT_REPLY;
                it->kind = REPLY_INVALID;
                log_reject(it, "InvalidPayload", "duplicate report id");
            }
            else
            {
                atomic_fetch_add(&s->counters.duplicates_discarded, 1);
                log_msg(LOG_INFO, "discarded duplicate thing=%.*s reportId=%llu",
                        (int) it->thing_len, it->thing, (unsigned long long) r.report_id);
            }
            return;
        }
        if (s->cfg.strict)
        {
            atomic_fetch_add(&s->counters.rejected_id_order, 1);
            it->state_counter = &s->counters.rejected_id_order;
            it->act = ACT_REPLY;
            it->kind = REPLY_INVALID;
            log_reject(it, "InvalidPayload", "report id below the highest accepted id");
            return;
        }
    }
    /* step 10: rate (PD-17) */
    int64_t now = m->recv_ms;
    if (s->cfg.throttle_seconds > 0 && t->last_accept_ms != 0)
    {
        int64_t limit =
            (int64_t) s->cfg.throttle_seconds * 1000 * (100 - s->cfg.throttle_tolerance) / 100;
        if (now - t->last_accept_ms < limit)
        {
            atomic_fetch_add(&s->counters.throttled, 1);
            it->state_counter = &s->counters.throttled;
            it->act = ACT_REPLY;
            it->kind = REPLY_THROTTLED;
            log_reject(it, "Throttled", "report inside the throttle window");
            return;
        }
    }
    /* step 11: store */
    sb_reset(dpjson);
    if (!datapoints_to_json(r.dps, r.ndps, dpjson))
    {
        atomic_fetch_add(&s->counters.store_errors, 1);
        log_msg(LOG_ERROR, "cannot serialise datapoints of thing=%.*s", (int) it->thing_len,
                it->thing);
        return;
    }
    store_report sr = {t->db_id,     r.report_id, now, (int) it->fmt, r.nflags ? r.flags : NULL,
                       dpjson->data, dpjson->len};
    if (s->db->ops->insert_report(s->db, &sr) != STORE_OK)
    {
        atomic_fetch_add(&s->counters.store_errors, 1);
        log_msg(LOG_ERROR, "store error for thing=%.*s reportId=%llu: no reply",
                (int) it->thing_len, it->thing, (unsigned long long) r.report_id);
        return;
    }
    it->t = t;
    it->prev_last = t->last_accept_ms;
    it->prev_max = t->max_id;
    t->last_accept_ms = now;
    if (r.report_id > t->max_id)
        t->max_id = r.report_id;
    it->act = ACT_ACCEPT;
    it->kind = REPLY_ACCEPTED;
    it->dps = r.dps;
    it->ndps = r.ndps;
}

static reply_msg *build_reply(detect_service *s, const batch_item *it)
{
    char topic[256];
    uint8_t payload[REPLY_MAX];
    if (!reply_topic(topic, sizeof topic, it->thing, it->thing_len, it->fmt,
                     it->kind == REPLY_ACCEPTED))
        return NULL;
    size_t n = reply_encode(payload, sizeof payload, it->fmt, it->thing, it->thing_len, it->has_id,
                            it->id, it->kind, (uint64_t) service_now_ms(s));
    if (n == 0)
        return NULL;
    size_t tl = strlen(topic);
    reply_msg *r = malloc(sizeof *r + tl + 1 + n);
    if (r == NULL)
        return NULL;
    r->next = NULL;
    r->topic_len = tl;
    r->len = n;
    memcpy(r->data, topic, tl + 1);
    memcpy(r->data + tl + 1, payload, n);
    return r;
}

static void *publisher_main(void *arg)
{
    detect_service *s = arg;
    for (;;)
    {
        pthread_mutex_lock(&s->rlock);
        while (s->rhead == NULL && !s->rstopping)
            pthread_cond_wait(&s->rcond, &s->rlock);
        reply_msg *list = s->rhead;
        s->rhead = s->rtail = NULL;
        int stop = s->rstopping;
        pthread_mutex_unlock(&s->rlock);
        if (list == NULL && stop)
            break;
        int delay = atomic_load(&s->response_delay_ms);
        if (delay > 0)
        {
            struct timespec ts = {delay / 1000, (long) (delay % 1000) * 1000000L};
            nanosleep(&ts, NULL);
        }
        while (list != NULL)
        {
            reply_msg *r = list;
            list = r->next;
            int drop = atomic_load(&s->drop_responses);
            int dropped = 0;
            while (drop > 0 && !dropped)
                dropped = atomic_compare_exchange_weak(&s->drop_responses, &drop, drop - 1);
            if (dropped)
                atomic_fetch_add(&s->counters.responses_dropped, 1);
            else if (s->publish == NULL ||
                     s->publish(s->publish_ctx, r->data, r->data + r->topic_len + 1, r->len) != 0)
                atomic_fetch_add(&s->counters.publish_errors, 1);
            else
                atomic_fetch_add(&s->counters.responses_published, 1);
            free(r);
        }
    }
    return NULL;
}

static void process_batch(detect_service *s, queued_msg *list, arena *a, strbuf *dpjson,
                          batch_item **items, size_t *items_cap)
{
    size_t n = 0;
    for (queued_msg *m = list; m != NULL; m = m->next)
        n++;
    if (n > *items_cap)
    {
        batch_item *ni = realloc(*items, n * sizeof *ni);
        if (ni == NULL)
        {
            log_msg(LOG_ERROR, "out of memory for a batch of %zu reports", n);
            return;
        }
        *items = ni;
        *items_cap = n;
    }
    batch_item *it = *items;
    memset(it, 0, n * sizeof *it);
    size_t i = 0;
    for (queued_msg *m = list; m != NULL; m = m->next)
        it[i++].m = m;

    arena_reset(a);
    int tx = s->db->ops->begin(s->db) == STORE_OK;
    s->tx_ok = tx;
    if (!tx)
    {
        atomic_fetch_add(&s->counters.store_errors, 1);
        log_msg(LOG_ERROR, "cannot begin a storage transaction; batch of %zu gets no ACCEPTED", n);
    }
    size_t naccepted = 0;
    for (i = 0; i < n; i++)
    {
        process_one(s, a, &it[i], dpjson);
        if (it[i].act == ACT_ACCEPT)
            naccepted++;
    }
    /* test hook: a storage failure at COMMIT, as a full disk gives */
    int fail = atomic_load(&s->fail_commits);
    while (fail > 0 && !atomic_compare_exchange_weak(&s->fail_commits, &fail, fail - 1))
    {
    }
    if (tx && fail > 0)
        s->db->ops->rollback(s->db);
    int committed = tx && fail <= 0 && s->db->ops->commit(s->db) == STORE_OK;
    if (!committed)
    {
        if (tx)
        {
            atomic_fetch_add(&s->counters.store_errors, 1);
            log_msg(LOG_ERROR, "commit failed: %zu reports not accepted (no reply)", naccepted);
        }
        /* undo in reverse order; replies that rested on the batch's own state go too (the
         * reports they refer to were never stored: PD-17, PD-18 count accepted reports) */
        for (size_t k = n; k > 0; k--)
        {
            batch_item *b = &it[k - 1];
            if (b->act == ACT_REPLY && b->state_counter != NULL)
            {
                atomic_fetch_sub(b->state_counter, 1);
                b->act = ACT_NONE;
            }
            if (b->act == ACT_ACCEPT)
            {
                b->t->last_accept_ms = b->prev_last;
                b->t->max_id = b->prev_max;
                b->act = ACT_NONE;
            }
            if (b->new_db_id)
            {
                thing_state *t = thing_find(s, b->thing, b->thing_len, 0);
                if (t != NULL)
                    t->db_id = 0;
            }
        }
    }
    else
    {
        atomic_fetch_add(&s->counters.accepted, naccepted);
    }
    atomic_fetch_add(&s->counters.batches, 1);
    reply_msg *rh = NULL, **rt = &rh;
    for (i = 0; i < n; i++)
        if (it[i].act != ACT_NONE)
        {
            reply_msg *r = build_reply(s, &it[i]);
            if (r == NULL)
            {
                atomic_fetch_add(&s->counters.publish_errors, 1);
                continue;
            }
            *rt = r;
            rt = &r->next;
        }
    if (rh != NULL)
    {
        pthread_mutex_lock(&s->rlock);
        if (s->rtail)
            s->rtail->next = rh;
        else
            s->rhead = rh;
        reply_msg *last = rh;
        while (last->next != NULL)
            last = last->next;
        s->rtail = last;
        pthread_cond_signal(&s->rcond);
        pthread_mutex_unlock(&s->rlock);
    }
    s->db->ops->maintenance(s->db);
    if (s->hook != NULL)
        for (i = 0; i < n; i++)
            if (it[i].act == ACT_ACCEPT)
                s->hook(s->hook_ctx, it[i].thing, it[i].thing_len, it[i].id, it[i].m->recv_ms,
                        it[i].dps, it[i].ndps);
}

static void run_retention(detect_service *s)
{
    int64_t now = service_now_ms(s);
    if (now + 2 * 3600 * 1000 < s->next_retention_ms)
        s->next_retention_ms = now; /* the clock went back (test clock): reschedule */
    if (now < s->next_retention_ms)
        return;
    int64_t cutoff = now - (int64_t) s->cfg.retention_days * 86400 * 1000;
    int rc = s->db->ops->retention(s->db, cutoff, &s->retention_cursor, 200);
    if (rc < 0)
    {
        log_msg(LOG_WARN, "retention pass failed");
        s->next_retention_ms = now + 60000;
        return;
    }
    atomic_fetch_add(&s->counters.retention_deleted, (uint64_t) rc);
    /* continue quickly while a pass is in progress, else hourly */
    s->next_retention_ms = now + (s->retention_cursor != 0 ? 1000 : 3600 * 1000);
}

static void *worker_main(void *arg)
{
    detect_service *s = arg;
    arena a;
    arena_init(&a, 512u * 1024u * 1024u); /* safety net; batches are cut far below */
    strbuf dpjson;
    sb_init(&dpjson, 4u * 1024u * 1024u);
    batch_item *items = NULL;
    size_t items_cap = 0;
    const size_t arena_batch_limit = 32u * 1024u * 1024u;
    for (;;)
    {
        pthread_mutex_lock(&s->qlock);
        while (s->qhead == NULL && !s->stopping)
        {
            atomic_store(&s->idle, 1);
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            ts.tv_sec += 1;
            s->worker_waiting = 1;
            pthread_cond_timedwait(&s->qcond, &s->qlock, &ts);
            s->worker_waiting = 0;
            if (s->qhead == NULL)
                break;
        }
        /* Group commit: a batch is what arrived while the previous one was committed. When
         * commits are quick (a fast disk) that is a handful of reports, and the fixed cost of
         * a transaction dominates; --batch-linger-us lets the batch fill for a bounded time
         * after its first report, woken early once it is full. */
        if (s->cfg.batch_linger_us > 0 && s->qhead != NULL && !s->stopping)
        {
            int64_t deadline = s->qhead->enq_us + s->cfg.batch_linger_us;
            s->worker_waiting = 1;
            s->worker_lingering = 1;
            while (!s->stopping && s->qcount < linger_count(s) && mono_us() < deadline)
            {
                struct timespec ts = {(time_t) (deadline / 1000000),
                                      (long) (deadline % 1000000) * 1000};
                pthread_cond_timedwait(&s->qcond, &s->qlock, &ts);
            }
            s->worker_lingering = 0;
            s->worker_waiting = 0;
        }
        if (s->qhead == NULL && s->stopping)
        {
            pthread_mutex_unlock(&s->qlock);
            break;
        }
        /* take a batch: bounded by count and by payload bytes (arena growth) */
        queued_msg *head = s->qhead, *last = NULL, *m = s->qhead;
        size_t cnt = 0, bytes = 0;
        while (m != NULL && cnt < (size_t) s->cfg.batch_max &&
               (cnt == 0 || bytes + m->payload_len * 48 < arena_batch_limit))
        {
            bytes += m->payload_len * 48; /* generous bound on decoded size */
            size_t cost = sizeof *m + strlen(m->topic) + (m->oversize ? 0 : m->payload_len);
            s->qbytes -= cost;
            s->qcount--;
            last = m;
            m = m->next;
            cnt++;
        }
        if (last != NULL)
        {
            s->qhead = m;
            if (m == NULL)
                s->qtail = NULL;
            last->next = NULL;
        }
        else
        {
            head = NULL;
        }
        pthread_cond_broadcast(&s->qspace);
        pthread_mutex_unlock(&s->qlock);
        if (head != NULL)
        {
            process_batch(s, head, &a, &dpjson, &items, &items_cap);
            while (head != NULL)
            {
                queued_msg *nx = head->next;
                free(head);
                head = nx;
            }
        }
        run_retention(s);
        pthread_mutex_lock(&s->qlock);
        if (s->qhead == NULL)
            atomic_store(&s->idle, 1);
        pthread_mutex_unlock(&s->qlock);
    }
    free(items);
    sb_free(&dpjson);
    arena_free(&a);
    return NULL;
}

/* ---------------------------------------------------------------------------------------------
 * Lifecycle
 * ------------------------------------------------------------------------------------------- */

int service_init(detect_service *s, const detect_config *cfg, char *err, size_t errsz)
{
    memset(s, 0, sizeof *s);
    s->cfg = *cfg;
    pthread_mutex_init(&s->qlock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->qcond, &ca);
    pthread_condattr_destroy(&ca);
    pthread_cond_init(&s->qspace, NULL);
    pthread_mutex_init(&s->rlock, NULL);
    pthread_cond_init(&s->rcond, NULL);
    atomic_store(&s->idle, 1);
    atomic_store(&s->drop_responses, cfg->drop_responses);
    atomic_store(&s->response_delay_ms, cfg->response_delay_ms);
    atomic_store(&s->reject_mode, strcmp(cfg->reject_all, "invalid") == 0     ? 1
                                  : strcmp(cfg->reject_all, "throttled") == 0 ? 2
                                                                              : 0);
    s->db = store_sqlite_open(cfg->db_path, 1, cfg->sync_normal, err, errsz);
    if (s->db == NULL)
        return -1;
    if (s->db->ops->load_things(s->db, load_thing_cb, s) != STORE_OK)
    {
        snprintf(err, errsz, "cannot load thing state from %s", cfg->db_path);
        return -1;
    }
    log_msg(LOG_INFO, "loaded state of %zu things from %s", s->nthings, cfg->db_path);
    return 0;
}

int service_start(detect_service *s)
{
    if (pthread_create(&s->publisher, NULL, publisher_main, s) != 0)
        return -1;
    s->publisher_started = 1;
    if (pthread_create(&s->worker, NULL, worker_main, s) != 0)
        return -1;
    s->worker_started = 1;
    return 0;
}

void service_stop(detect_service *s)
{
    pthread_mutex_lock(&s->qlock);
    s->stopping = 1;
    pthread_cond_broadcast(&s->qcond);
    pthread_cond_broadcast(&s->qspace);
    pthread_mutex_unlock(&s->qlock);
    if (s->worker_started)
    {
        pthread_join(s->worker, NULL);
        s->worker_started = 0;
    }
    pthread_mutex_lock(&s->rlock);
    s->rstopping = 1;
    pthread_cond_broadcast(&s->rcond);
    pthread_mutex_unlock(&s->rlock);
    if (s->publisher_started)
    {
        pthread_join(s->publisher, NULL);
        s->publisher_started = 0;
    }
}

void service_destroy(detect_service *s)
{
    service_stop(s);
    queued_msg *m = s->qhead;
    while (m != NULL)
    {
        queued_msg *n = m->next;
        free(m);
        m = n;
    }
    s->qhead = s->qtail = NULL;
    for (size_t i = 0; i < s->nbuckets; i++)
    {
        thing_state *t = s->buckets[i];
        while (t != NULL)
        {
            thing_state *n = t->next;
            free(t);
            t = n;
        }
    }
    free(s->buckets);
    s->buckets = NULL;
    if (s->db != NULL)
        s->db->ops->close(s->db);
    s->db = NULL;
    reply_msg *r = s->rhead;
    while (r != NULL)
    {
        reply_msg *n = r->next;
        free(r);
        r = n;
    }
    s->rhead = s->rtail = NULL;
    pthread_mutex_destroy(&s->qlock);
    pthread_cond_destroy(&s->qcond);
    pthread_cond_destroy(&s->qspace);
    pthread_mutex_destroy(&s->rlock);
    pthread_cond_destroy(&s->rcond);
}
