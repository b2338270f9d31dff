#include "store.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* WAL checkpoints. COMMIT never checkpoints (wal_autocheckpoint=0). A checkpoint thread with
 * its own connection copies the WAL into the database with PASSIVE checkpoints while the
 * worker goes on committing, so the commit that gates the ACCEPTED replies never waits
 * behind one. A passive checkpoint that races with commits never backfills the whole WAL,
 * and SQLite only rewinds the WAL from its start when a write transaction begins with the
 * WAL fully backfilled; so once the WAL holds CKPT_REWIND_FRAMES the worker, between two
 * batches and right after a background checkpoint finished, copies the few frames written
 * while that one ran (a short checkpoint, without waiting for the background thread), and
 * the next batch starts the WAL over. */
#define CKPT_BG_FRAMES     1000u
#define CKPT_REWIND_FRAMES 16000u

typedef struct
{
    store base;
    sqlite3 *db;
    sqlite3_stmt *ins_report;
    sqlite3_stmt *seen;
    sqlite3_stmt *get_thing;
    sqlite3_stmt *ins_thing;
    int in_tx;
    int clamp_pending;      /* retention deleted rows; tombstones not yet lowered */
    int clamp_in_tx;        /* lowered in the open transaction (done once it commits) */
    atomic_uint wal_frames; /* frames in the WAL after the last commit (wal hook) */
    /* background checkpoints (writer handle only) */
    sqlite3 *ckpt_db;
    pthread_t ckpt_thread;
    int ckpt_started;
    pthread_mutex_t ckpt_lock;
    pthread_cond_t ckpt_cond;
    int ckpt_request; /* worker asked for a checkpoint */
    int ckpt_busy;    /* the checkpoint thread is running one */
    int ckpt_stop;
    unsigned ckpt_done; /* WAL frames backfilled by the last checkpoint */
} sq_store;

static int wal_hook(void *ctx, sqlite3 *db, const char *name, int frames)
{
    (void) db;
    (void) name;
    atomic_store(&((sq_store *) ctx)->wal_frames, (unsigned) frames);
    return SQLITE_OK;
}

static void *ckpt_main(void *arg)
{
    sq_store *s = arg;
    pthread_mutex_lock(&s->ckpt_lock);
    for (;;)
    {
        while (!s->ckpt_request && !s->ckpt_stop)
            pthread_cond_wait(&s->ckpt_cond, &s->ckpt_lock);
        if (s->ckpt_stop)
            break;
        s->ckpt_request = 0;
        s->ckpt_busy = 1;
        pthread_mutex_unlock(&s->ckpt_lock);
        int nlog = 0, nckpt = 0;
        int rc =
            sqlite3_wal_checkpoint_v2(s->ckpt_db, NULL, SQLITE_CHECKPOINT_PASSIVE, &nlog, &nckpt);
        pthread_mutex_lock(&s->ckpt_lock);
        s->ckpt_busy = 0;
        s->ckpt_done = rc == SQLITE_OK && nckpt > 0 ? (unsigned) nckpt : 0;
        pthread_cond_broadcast(&s->ckpt_cond);
    }
    pthread_mutex_unlock(&s->ckpt_lock);
    return NULL;
}

/* Between batches, after the replies were handed off (worker thread). */
static void sq_maintenance(store *st)
{
    sq_store *s = (sq_store *) st;
    unsigned frames = atomic_load(&s->wal_frames);
    if (!s->ckpt_started)
    {
        /* no checkpoint thread: checkpoint here */
        if (frames >= 4000)
        {
            sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
            atomic_store(&s->wal_frames, 0);
        }
        return;
    }
    pthread_mutex_lock(&s->ckpt_lock);
    if (frames < s->ckpt_done)
        s->ckpt_done = 0; /* the WAL was started over */
    if (frames >= CKPT_REWIND_FRAMES)
    {
        /* catch up right after a background checkpoint, so that only the frames written
         * while it ran are left to copy here; meanwhile keep committing */
        if (!s->ckpt_busy && !s->ckpt_request)
        {
            pthread_mutex_unlock(&s->ckpt_lock);
            int nlog = 0, nckpt = 0;
            if (sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &nlog, &nckpt) ==
                    SQLITE_OK &&
                nlog == nckpt)
                atomic_store(&s->wal_frames, 0); /* the next transaction starts the WAL over */
            return;
        }
        pthread_mutex_unlock(&s->ckpt_lock);
        return;
    }
    if (!s->ckpt_busy && !s->ckpt_request && frames >= s->ckpt_done + CKPT_BG_FRAMES)
    {
        s->ckpt_request = 1;
        pthread_cond_signal(&s->ckpt_cond);
    }
    pthread_mutex_unlock(&s->ckpt_lock);
}

static const char *const schema =
    "CREATE TABLE IF NOT EXISTS things(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);"
    "CREATE TABLE IF NOT EXISTS reports(id INTEGER PRIMARY KEY, thing_id INTEGER NOT NULL,"
    " report_id INTEGER NOT NULL, received_ms INTEGER NOT NULL, fmt INTEGER NOT NULL,"
    " flags TEXT, datapoints TEXT);"
    "CREATE INDEX IF NOT EXISTS reports_thing_time ON reports(thing_id, received_ms);"
    "CREATE TABLE IF NOT EXISTS custom_metrics(name TEXT PRIMARY KEY, type TEXT NOT NULL,"
    " display_name TEXT, token TEXT, tags TEXT, created_ms INTEGER, modified_ms INTEGER);"
    "CREATE TABLE IF NOT EXISTS custom_metric_deletions(name TEXT PRIMARY KEY,"
    " deleted_ms INTEGER NOT NULL, deleted_row INTEGER);";

/* A deleted custom metric hides the report rows stored up to its deletion: rows with an id at
 * most deleted_row (report rows are numbered in commit order). Not by time: a report received
 * in the deletion's millisecond, or after the wall clock stepped back, would be hidden.
 * SQLite numbers a new row one above the largest id in the table, so once retention deleted
 * the rows above a tombstone's deleted_row, a new row could get an id at or below it: the
 * tombstone is lowered to the largest id left (every row it hid is at or below that). */
static const char *const clamp_deletions =
    "UPDATE custom_metric_deletions SET deleted_row = (SELECT coalesce(max(id), 0) FROM reports)"
    " WHERE deleted_row > (SELECT coalesce(max(id), 0) FROM reports)";

static int sq_exec(sq_store *s, const char *sql)
{
    char *msg = NULL;
    int rc = sqlite3_exec(s->db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK)
    {
        fprintf(stderr, "defender-detect: sqlite: %s: %s\n", sql, msg ? msg : "?");
        sqlite3_free(msg);
        return STORE_ERR;
    }
    return STORE_OK;
}

/* Brings a database written by an earlier version up to the current schema, in one
 * transaction (the writer and the API handle may both open it at start-up). Also lowers
 * tombstones above the largest report id, in case the process stopped between a retention
 * pass and its clamp. */
static int sq_migrate(sq_store *s)
{
    sqlite3_stmt *q = NULL;
    int has_row = 0;
    if (sq_exec(s, "BEGIN IMMEDIATE") != STORE_OK)
        return STORE_ERR;
    int ok = sqlite3_prepare_v2(s->db,
                                "SELECT 1 FROM pragma_table_info('custom_metric_deletions')"
                                " WHERE name = 'deleted_row'",
                                -1, &q, NULL) == SQLITE_OK;
    if (ok)
    {
        int rc = sqlite3_step(q);
        has_row = rc == SQLITE_ROW;
        ok = rc == SQLITE_ROW || rc == SQLITE_DONE;
    }
    sqlite3_finalize(q);
    if (ok && !has_row)
    {
        /* one-time: one look-up per tombstone, over the rows received since its deletion */
        fprintf(stderr, "defender-detect: upgrading the database: custom-metric deletions by "
                        "report row\n");
        ok = sq_exec(s, "ALTER TABLE custom_metric_deletions ADD COLUMN deleted_row INTEGER") ==
             STORE_OK;
    }
    /* Tombstones of earlier versions (also written by one after this column existed, e.g.
     * after a downgrade) hid the rows received up to deleted_ms. */
    if (ok)
        ok = sq_exec(s, "UPDATE custom_metric_deletions SET deleted_row = (SELECT"
                        " coalesce(max(id), 0) FROM reports WHERE received_ms <= deleted_ms)"
                        " WHERE deleted_row IS NULL") == STORE_OK;
    if (ok)
        ok = sq_exec(s, clamp_deletions) == STORE_OK;
    if (ok && sq_exec(s, "COMMIT") == STORE_OK)
        return STORE_OK;
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return STORE_ERR;
}

static int sq_begin(store *st)
{
    sq_store *s = (sq_store *) st;
    if (sq_exec(s, "BEGIN IMMEDIATE") != STORE_OK)
        return STORE_ERR;
    s->in_tx = 1;
    /* A retention pass that deleted rows and then failed left the tombstones unlowered:
     * lower them before this batch's rows take ids again. */
    if (s->clamp_pending)
    {
        if (sq_exec(s, clamp_deletions) != STORE_OK)
        {
            sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
            s->in_tx = 0;
            return STORE_ERR;
        }
        s->clamp_in_tx = 1;
    }
    return STORE_OK;
}

static int sq_commit(store *st)
{
    sq_store *s = (sq_store *) st;
    int rc = sq_exec(s, "COMMIT");
    if (rc != STORE_OK)
    {
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    }
    else if (s->clamp_in_tx)
    {
        s->clamp_pending = 0;
    }
    s->in_tx = 0;
    s->clamp_in_tx = 0;
    return rc;
}

static void sq_rollback(store *st)
{
    sq_store *s = (sq_store *) st;
    if (s->in_tx)
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    s->in_tx = 0;
    s->clamp_in_tx = 0;
}

static int sq_thing_id(store *st, const char *name, size_t len, int64_t *id)
{
    sq_store *s = (sq_store *) st;
    sqlite3_stmt *q = s->get_thing;
    sqlite3_reset(q);
    sqlite3_bind_text(q, 1, name, (int) len, SQLITE_TRANSIENT);
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW)
    {
        *id = sqlite3_column_int64(q, 0);
        sqlite3_reset(q);
        return STORE_OK;
    }
    sqlite3_reset(q);
    if (rc != SQLITE_DONE)
        return STORE_ERR;
    q = s->ins_thing;
    sqlite3_reset(q);
    sqlite3_bind_text(q, 1, name, (int) len, SQLITE_TRANSIENT);
    rc = sqlite3_step(q);
    sqlite3_reset(q);
    if (rc != SQLITE_DONE)
        return STORE_ERR;
    *id = sqlite3_last_insert_rowid(s->db);
    return STORE_OK;
}

static int sq_id_seen(store *st, int64_t thing_id, uint64_t report_id)
{
    sq_store *s = (sq_store *) st;
    sqlite3_stmt *q = s->seen;
    sqlite3_reset(q);
    sqlite3_bind_int64(q, 1, thing_id);
    sqlite3_bind_int64(q, 2, (sqlite3_int64) report_id);
    int rc = sqlite3_step(q);
    sqlite3_reset(q);
    if (rc == SQLITE_ROW)
        return 1;
    return rc == SQLITE_DONE ? 0 : STORE_ERR;
}

static int sq_insert_report(store *st, const store_report *r)
{
    sq_store *s = (sq_store *) st;
    sqlite3_stmt *q = s->ins_report;
    sqlite3_reset(q);
    sqlite3_bind_int64(q, 1, r->thing_id);
    sqlite3_bind_int64(q, 2, (sqlite3_int64) r->report_id);
    sqlite3_bind_int64(q, 3, r->received_ms);
    sqlite3_bind_int(q, 4, r->fmt);
    if (r->flags != NULL && r->flags[0] != '\0')
        sqlite3_bind_text(q, 5, r->flags, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(q, 5);
    sqlite3_bind_text(q, 6, r->datapoints, (int) r->datapoints_len, SQLITE_STATIC);
    int rc = sqlite3_step(q);
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    if (rc != SQLITE_DONE)
    {
        fprintf(stderr, "defender-detect: sqlite insert: %s\n", sqlite3_errmsg(s->db));
        return STORE_ERR;
    }
    return STORE_OK;
}

static int sq_load_things(store *st, store_thing_cb cb, void *ctx)
{
    sq_store *s = (sq_store *) st;
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT t.id, t.name,"
                           " (SELECT MAX(received_ms) FROM reports WHERE thing_id = t.id),"
                           " (SELECT MAX(report_id) FROM reports WHERE thing_id = t.id)"
                           " FROM things t",
                           -1, &q, NULL) != SQLITE_OK)
        return STORE_ERR;
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW)
    {
        const char *name = (const char *) sqlite3_column_text(q, 1);
        int nl = sqlite3_column_bytes(q, 1);
        int64_t last = sqlite3_column_type(q, 2) == SQLITE_NULL ? 0 : sqlite3_column_int64(q, 2);
        int64_t maxid = sqlite3_column_type(q, 3) == SQLITE_NULL ? 0 : sqlite3_column_int64(q, 3);
        if (name != NULL && nl > 0)
            cb(ctx, sqlite3_column_int64(q, 0), name, (size_t) nl, last, (uint64_t) maxid);
    }
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? STORE_OK : STORE_ERR;
}

/* Retention: datapoints older than the cutoff are deleted; the report row (its id, for
 * duplicate detection, PD-18) is kept while it is among the thing's newest 1024. */
static int sq_retention(store *st, int64_t cutoff_ms, int64_t *cursor, int max_things)
{
    sq_store *s = (sq_store *) st;
    sqlite3_stmt *things = NULL, *del = NULL, *clr = NULL;
    int total = 0;
    int rc = sqlite3_prepare_v2(s->db, "SELECT id FROM things WHERE id > ?1 ORDER BY id LIMIT ?2",
                                -1, &things, NULL);
    rc |= sqlite3_prepare_v2(
        s->db,
        "DELETE FROM reports WHERE thing_id = ?1 AND received_ms < ?2 AND received_ms <"
        " coalesce((SELECT received_ms FROM reports WHERE thing_id = ?1"
        " ORDER BY received_ms DESC LIMIT 1 OFFSET 1023), -1)",
        -1, &del, NULL);
    rc |= sqlite3_prepare_v2(s->db,
                             "UPDATE reports SET datapoints = NULL WHERE thing_id = ?1 AND"
                             " received_ms < ?2 AND datapoints IS NOT NULL",
                             -1, &clr, NULL);
    if (rc != SQLITE_OK)
    {
        total = STORE_ERR;
        goto out;
    }
    sqlite3_bind_int64(things, 1, *cursor);
    sqlite3_bind_int(things, 2, max_things);
    int seen = 0;
    while (sqlite3_step(things) == SQLITE_ROW)
    {
        int64_t id = sqlite3_column_int64(things, 0);
        seen++;
        *cursor = id;
        sqlite3_reset(del);
        sqlite3_bind_int64(del, 1, id);
        sqlite3_bind_int64(del, 2, cutoff_ms);
        if (sqlite3_step(del) != SQLITE_DONE)
        {
            total = STORE_ERR;
            goto out;
        }
        if (sqlite3_changes(s->db) > 0)
            s->clamp_pending = 1;
        total += sqlite3_changes(s->db);
        sqlite3_reset(clr);
        sqlite3_bind_int64(clr, 1, id);
        sqlite3_bind_int64(clr, 2, cutoff_ms);
        if (sqlite3_step(clr) != SQLITE_DONE)
        {
            total = STORE_ERR;
            goto out;
        }
    }
    if (seen < max_things)
        *cursor = 0;
out:
    sqlite3_finalize(things);
    sqlite3_finalize(del);
    sqlite3_finalize(clr);
    /* also after a failed step: rows deleted before it are gone for good (else the next
     * batch lowers them first, sq_begin) */
    if (s->clamp_pending && sq_exec(s, clamp_deletions) == STORE_OK)
        s->clamp_pending = 0;
    return total;
}

static int sq_list_metric_values(store *st, const char *thing, const char *metric, int64_t start_ms,
                                 int64_t end_ms, int64_t after_ms, int64_t after_row, int limit,
                                 store_metric_cb cb, void *ctx)
{
    sq_store *s = (sq_store *) st;
    sqlite3_stmt *q;
    const char *sql =
        "SELECT r.id, r.received_ms, json_extract(r.datapoints, '$.\"' || ?2 || '\"') AS v"
        " FROM reports r WHERE r.thing_id = (SELECT id FROM things WHERE name = ?1)"
        " AND r.received_ms >= ?3 AND r.received_ms <= ?4"
        " AND (r.received_ms > ?5 OR (r.received_ms = ?5 AND r.id > ?6))"
        " AND r.id > coalesce((SELECT deleted_row FROM custom_metric_deletions"
        "   WHERE name = ?2), 0)"
        /* a defined custom metric lists only values of its type: a name deleted and created
         * again with another type does not mix the old type's values in (PD-13 keeps them) */
        " AND (NOT EXISTS (SELECT 1 FROM custom_metrics WHERE name = ?2) OR"
        "   json_type(v, '$.' || (SELECT CASE type WHEN 'number' THEN 'number'"
        "     WHEN 'number-list' THEN 'numbers' WHEN 'string-list' THEN 'strings'"
        "     ELSE 'cidrs' END FROM custom_metrics WHERE name = ?2)) IS NOT NULL)"
        " AND v IS NOT NULL ORDER BY r.received_ms, r.id LIMIT ?7";
    if (sqlite3_prepare_v2(s->db, sql, -1, &q, NULL) != SQLITE_OK)
    {
        fprintf(stderr, "defender-detect: sqlite: %s\n", sqlite3_errmsg(s->db));
        return STORE_ERR;
    }
    sqlite3_bind_text(q, 1, thing, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, metric, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, start_ms);
    sqlite3_bind_int64(q, 4, end_ms);
    sqlite3_bind_int64(q, 5, after_ms);
    sqlite3_bind_int64(q, 6, after_row);
    sqlite3_bind_int(q, 7, limit);
    int rc;
    int n = 0;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW)
    {
        const char *v = (const char *) sqlite3_column_text(q, 2);
        if (v == NULL)
            continue;
        n++;
        if (cb(ctx, sqlite3_column_int64(q, 0), sqlite3_column_int64(q, 1), v) != 0)
            break;
    }
    sqlite3_finalize(q);
    return (rc == SQLITE_DONE || rc == SQLITE_ROW) ? n : STORE_ERR;
}

static void copy_col(char *dst, size_t cap, sqlite3_stmt *q, int col)
{
    const char *t = (const char *) sqlite3_column_text(q, col);
    snprintf(dst, cap, "%s", t ? t : "");
}

static int sq_custom_get(store *st, const char *name, store_custom_metric *out)
{
    sq_store *s = (sq_store *) st;
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT name, type, display_name, token, created_ms, modified_ms"
                           " FROM custom_metrics WHERE name = ?1",
                           -1, &q, NULL) != SQLITE_OK)
        return STORE_ERR;
    sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
    int rc = sqlite3_step(q);
    int ret;
    if (rc == SQLITE_ROW)
    {
        memset(out, 0, sizeof *out);
        copy_col(out->name, sizeof out->name, q, 0);
        copy_col(out->type, sizeof out->type, q, 1);
        copy_col(out->display_name, sizeof out->display_name, q, 2);
        copy_col(out->token, sizeof out->token, q, 3);
        out->created_ms = sqlite3_column_int64(q, 4);
        out->modified_ms = sqlite3_column_int64(q, 5);
        ret = STORE_OK;
    }
    else
    {
        ret = rc == SQLITE_DONE ? STORE_NOT_FOUND : STORE_ERR;
    }
    sqlite3_finalize(q);
    return ret;
}

static int sq_custom_create(store *st, const store_custom_metric *m, const char *tags_json,
                            store_custom_metric *existing)
{
    sq_store *s = (sq_store *) st;
    int rc = sq_custom_get(st, m->name, existing);
    if (rc == STORE_OK)
        return strcmp(existing->token, m->token) == 0 ? STORE_EXISTS_SAME : STORE_EXISTS;
    if (rc != STORE_NOT_FOUND)
        return STORE_ERR;
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(s->db,
                           "INSERT INTO custom_metrics(name, type, display_name, token, tags,"
                           " created_ms, modified_ms) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?6)",
                           -1, &q, NULL) != SQLITE_OK)
        return STORE_ERR;
    sqlite3_bind_text(q, 1, m->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, m->type, -1, SQLITE_STATIC);
    if (m->display_name[0])
        sqlite3_bind_text(q, 3, m->display_name, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 4, m->token, -1, SQLITE_STATIC);
    if (tags_json != NULL)
        sqlite3_bind_text(q, 5, tags_json, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 6, m->created_ms);
    rc = sqlite3_step(q);
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? STORE_OK : STORE_ERR;
}

static int sq_custom_update(store *st, const char *name, const char *display_name, int64_t now_ms)
{
    sq_store *s = (sq_store *) st;
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(s->db,
                           "UPDATE custom_metrics SET display_name = ?2, modified_ms = ?3"
                           " WHERE name = ?1",
                           -1, &q, NULL) != SQLITE_OK)
        return STORE_ERR;
    sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, display_name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, now_ms);
    int rc = sqlite3_step(q);
    sqlite3_finalize(q);
    if (rc != SQLITE_DONE)
        return STORE_ERR;
    return sqlite3_changes(s->db) > 0 ? STORE_OK : STORE_NOT_FOUND;
}

/* Deleting a metric deletes its data: a tombstone hides every earlier datapoint. */
static int sq_custom_delete(store *st, const char *name, int64_t now_ms)
{
    sq_store *s = (sq_store *) st;
    sqlite3_stmt *q1 = NULL, *q2 = NULL;
    int ret = STORE_ERR;
    if (sq_exec(s, "BEGIN IMMEDIATE") != STORE_OK)
        return STORE_ERR;
    if (sqlite3_prepare_v2(s->db, "DELETE FROM custom_metrics WHERE name = ?1", -1, &q1, NULL) !=
            SQLITE_OK ||
        sqlite3_prepare_v2(s->db,
                           "INSERT OR REPLACE INTO custom_metric_deletions(name, deleted_ms,"
                           " deleted_row) VALUES(?1, ?2, (SELECT coalesce(max(id), 0) FROM"
                           " reports))",
                           -1, &q2, NULL) != SQLITE_OK)
        goto out;
    sqlite3_bind_text(q1, 1, name, -1, SQLITE_STATIC);
    if (sqlite3_step(q1) != SQLITE_DONE)
        goto out;
    int existed = sqlite3_changes(s->db) > 0;
    if (existed)
    {
        sqlite3_bind_text(q2, 1, name, -1, SQLITE_STATIC);
        sqlite3_bind_int64(q2, 2, now_ms);
        if (sqlite3_step(q2) != SQLITE_DONE)
            goto out;
    }
    ret = existed ? STORE_OK : STORE_NOT_FOUND;
out:
    sqlite3_finalize(q1);
    sqlite3_finalize(q2);
    if (ret == STORE_ERR)
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    else if (sq_exec(s, "COMMIT") != STORE_OK)
    {
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        ret = STORE_ERR;
    }
    return ret;
}

static int sq_custom_list(store *st, const char *after, int limit, store_custom_cb cb, void *ctx)
{
    sq_store *s = (sq_store *) st;
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT name, type FROM custom_metrics WHERE name > ?1"
                           " ORDER BY name LIMIT ?2",
                           -1, &q, NULL) != SQLITE_OK)
        return STORE_ERR;
    sqlite3_bind_text(q, 1, after ? after : "", -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 2, limit);
    int rc;
    int n = 0;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW)
    {
        const char *nm = (const char *) sqlite3_column_text(q, 0);
        const char *ty = (const char *) sqlite3_column_text(q, 1);
        cb(ctx, nm ? nm : "", ty ? ty : "");
        n++;
    }
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? n : STORE_ERR;
}

static void sq_close(store *st)
{
    sq_store *s = (sq_store *) st;
    if (s == NULL)
        return;
    sq_rollback(st);
    if (s->ckpt_started)
    {
        pthread_mutex_lock(&s->ckpt_lock);
        s->ckpt_stop = 1;
        pthread_cond_broadcast(&s->ckpt_cond);
        pthread_mutex_unlock(&s->ckpt_lock);
        pthread_join(s->ckpt_thread, NULL);
        s->ckpt_started = 0;
    }
    if (s->ckpt_db != NULL)
        sqlite3_close(s->ckpt_db);
    pthread_mutex_destroy(&s->ckpt_lock);
    pthread_cond_destroy(&s->ckpt_cond);
    sqlite3_finalize(s->ins_report);
    sqlite3_finalize(s->seen);
    sqlite3_finalize(s->get_thing);
    sqlite3_finalize(s->ins_thing);
    sqlite3_close(s->db);
    free(s);
}

static const store_ops sq_ops = {
    sq_begin,         sq_commit,        sq_rollback,      sq_thing_id,           sq_id_seen,
    sq_insert_report, sq_load_things,   sq_retention,     sq_list_metric_values, sq_custom_create,
    sq_custom_get,    sq_custom_update, sq_custom_delete, sq_custom_list,        sq_close,
    sq_maintenance,
};

store *store_sqlite_open(const char *path, int writer, int sync_normal, char *err, size_t errsz)
{
    sq_store *s = calloc(1, sizeof *s);
    if (s == NULL)
    {
        snprintf(err, errsz, "out of memory");
        return NULL;
    }
    s->base.ops = &sq_ops;
    pthread_mutex_init(&s->ckpt_lock, NULL);
    pthread_cond_init(&s->ckpt_cond, NULL);
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path, &s->db, flags, NULL) != SQLITE_OK)
    {
        snprintf(err, errsz, "cannot open %s: %s", path, s->db ? sqlite3_errmsg(s->db) : "?");
        sqlite3_close(s->db);
        free(s);
        return NULL;
    }
    sqlite3_busy_timeout(s->db, 10000);
    /* WAL; synchronous=FULL: a COMMIT returns only when the WAL is on stable storage,
     * which is what "committed before ACCEPTED is published" needs. */
    if (sq_exec(s, "PRAGMA journal_mode=WAL") != STORE_OK ||
        sq_exec(s, sync_normal ? "PRAGMA synchronous=NORMAL" : "PRAGMA synchronous=FULL") !=
            STORE_OK ||
        sq_exec(s, "PRAGMA foreign_keys=OFF") != STORE_OK ||
        /* the API handle may start before the writer: both make sure the schema exists */
        sq_exec(s, schema) != STORE_OK || sq_migrate(s) != STORE_OK)
    {
        snprintf(err, errsz, "cannot initialise %s: %s", path, sqlite3_errmsg(s->db));
        sq_close(&s->base);
        return NULL;
    }
    if (sqlite3_prepare_v2(s->db,
                           "INSERT INTO reports(thing_id, report_id, received_ms, fmt, flags,"
                           " datapoints) VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
                           -1, &s->ins_report, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(s->db, "SELECT 1 FROM reports WHERE thing_id = ?1 AND report_id = ?2",
                           -1, &s->seen, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(s->db, "SELECT id FROM things WHERE name = ?1", -1, &s->get_thing,
                           NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(s->db, "INSERT INTO things(name) VALUES(?1)", -1, &s->ins_thing, NULL) !=
            SQLITE_OK)
    {
        snprintf(err, errsz, "cannot prepare statements: %s", sqlite3_errmsg(s->db));
        sq_close(&s->base);
        return NULL;
    }
    if (writer)
    {
        /* no checkpoint in COMMIT: see CKPT_BG_FRAMES */
        if (sq_exec(s, "PRAGMA wal_autocheckpoint=0") != STORE_OK)
        {
            snprintf(err, errsz, "cannot configure checkpoints");
            sq_close(&s->base);
            return NULL;
        }
        sqlite3_wal_hook(s->db, wal_hook, s);
        /* the checkpoint connection syncs like the writer (FULL or NORMAL: both sync the
         * database file in a checkpoint); without it the worker checkpoints itself */
        if (sqlite3_open_v2(path, &s->ckpt_db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) ==
                SQLITE_OK &&
            sqlite3_exec(s->ckpt_db,
                         sync_normal ? "PRAGMA synchronous=NORMAL" : "PRAGMA synchronous=FULL",
                         NULL, NULL, NULL) == SQLITE_OK &&
            sqlite3_exec(s->ckpt_db, "PRAGMA wal_autocheckpoint=0", NULL, NULL, NULL) ==
                SQLITE_OK &&
            pthread_create(&s->ckpt_thread, NULL, ckpt_main, s) == 0)
            s->ckpt_started = 1;
        else
            fprintf(stderr, "defender-detect: no checkpoint thread; the worker checkpoints\n");
    }
    return &s->base;
}
