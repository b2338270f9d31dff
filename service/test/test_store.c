/* The SQLite store through its interface (store.h): custom-metric tombstones by report row
 * when retention fails part-way, and tombstones written without a row (an earlier version,
 * e.g. after a downgrade). The end-to-end cases are in itest_retention.c. */
#include "store.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>

#define T0_MS  1767225600000LL
#define DAY_MS 86400000LL

typedef struct
{
    char dir[64];
    char db[96];
} store_env;

static int setup(void **state)
{
    store_env *e = calloc(1, sizeof *e);
    if (e == NULL)
        return -1;
    snprintf(e->dir, sizeof e->dir, "/tmp/detect-store-XXXXXX");
    if (mkdtemp(e->dir) == NULL)
    {
        free(e);
        return -1;
    }
    snprintf(e->db, sizeof e->db, "%s/detect.db", e->dir);
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    store_env *e = *state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", e->dir);
    int rc = system(cmd);
    free(e);
    return rc == 0 ? 0 : -1;
}

static store *open_store(const store_env *e, int writer)
{
    char err[256] = "";
    store *s = store_sqlite_open(e->db, writer, 0, err, sizeof err);
    if (s == NULL)
        fail_msg("store_sqlite_open: %s", err);
    return s;
}

static void put(store *s, const char *thing, uint64_t report_id, int64_t ms, const char *dps)
{
    int64_t id = 0;
    assert_int_equal(s->ops->thing_id(s, thing, strlen(thing), &id), STORE_OK);
    store_report r = {id, report_id, ms, 0, NULL, dps, strlen(dps)};
    assert_int_equal(s->ops->insert_report(s, &r), STORE_OK);
}

static int count_value(void *ctx, int64_t row, int64_t ms, const char *value)
{
    (void) row;
    (void) ms;
    (void) value;
    ++*(int *) ctx;
    return 0;
}

static int listed(store *s, const char *thing, const char *metric)
{
    int n = 0;
    int rc =
        s->ops->list_metric_values(s, thing, metric, 0, INT64_MAX / 2, -1, 0, 100, count_value, &n);
    assert_true(rc >= 0);
    return n;
}

static void sql(const store_env *e, const char *q)
{
    sqlite3 *h = NULL;
    char *msg = NULL;
    assert_int_equal(sqlite3_open(e->db, &h), SQLITE_OK);
    sqlite3_busy_timeout(h, 5000);
    int rc = sqlite3_exec(h, q, NULL, NULL, &msg);
    if (rc != SQLITE_OK)
        fail_msg("%s: %s", q, msg ? msg : "?");
    sqlite3_free(msg);
    sqlite3_close(h);
}

/* Retention deletes the table's newest row, then fails on a later thing (disk full, I/O
 * error, a lock held too long; here a trigger). The tombstone of a metric deleted after that
 * row must still be lowered, or the next report, which takes the freed id again, is hidden
 * for good. */
static void test_tombstone_after_failed_retention(void **state)
{
    const store_env *e = *state;
    store *w = open_store(e, 1);
    store *api = open_store(e, 0);
    assert_int_equal(w->ops->begin(w), STORE_OK);
    for (uint64_t i = 1; i <= 1024; i++)
        put(w, "many", i, T0_MS + 10 * DAY_MS, "{}");
    put(w, "other", 1, T0_MS, "{\"x\":{\"number\":1}}"); /* thing 2 */
    /* the newest row, received with the clock stepped back: not among many's newest 1024 */
    put(w, "many", 2000, T0_MS + 3 * DAY_MS, "{\"gone\":{\"number\":1}}");
    assert_int_equal(w->ops->commit(w), STORE_OK);
    store_custom_metric m = {.name = "gone", .type = "number", .token = "t"}, existing;
    assert_int_equal(api->ops->custom_create(api, &m, NULL, &existing), STORE_OK);
    assert_int_equal(api->ops->custom_delete(api, "gone", T0_MS + 3 * DAY_MS), STORE_OK);
    sql(e, "CREATE TRIGGER fail_clear BEFORE UPDATE OF datapoints ON reports WHEN"
           " old.thing_id = 2 BEGIN SELECT RAISE(ABORT, 'simulated I/O error'); END");
    int64_t cursor = 0;
    assert_int_equal(w->ops->retention(w, T0_MS + 5 * DAY_MS, &cursor, 200), STORE_ERR);
    sql(e, "DROP TRIGGER fail_clear");
    assert_int_equal(w->ops->begin(w), STORE_OK);
    put(w, "fresh", 1, T0_MS + 10 * DAY_MS + 1, "{\"gone\":{\"number\":2}}");
    assert_int_equal(w->ops->commit(w), STORE_OK);
    cursor = 0;
    assert_true(w->ops->retention(w, T0_MS + 5 * DAY_MS, &cursor, 200) >= 0);
    assert_int_equal(listed(api, "fresh", "gone"), 1);
    assert_int_equal(listed(api, "many", "gone"), 0);
    api->ops->close(api);
    w->ops->close(w);
    w = open_store(e, 1);
    assert_int_equal(listed(w, "fresh", "gone"), 1);
    w->ops->close(w);
}

/* A tombstone without deleted_row (written by an earlier version into a database that
 * already has the column, e.g. after a downgrade) is converted when the store opens: it
 * hides the rows received up to its time. */
static void test_tombstone_without_row(void **state)
{
    const store_env *e = *state;
    store *w = open_store(e, 1);
    assert_int_equal(w->ops->begin(w), STORE_OK);
    put(w, "t", 1, T0_MS, "{\"gone\":{\"number\":1}}");
    put(w, "t", 2, T0_MS + 1000, "{\"gone\":{\"number\":2}}");
    put(w, "t", 3, T0_MS + 9000, "{\"gone\":{\"number\":3}}");
    assert_int_equal(w->ops->commit(w), STORE_OK);
    w->ops->close(w);
    /* the earlier version's statement, verbatim */
    sql(e, "INSERT OR REPLACE INTO custom_metric_deletions(name, deleted_ms)"
           " VALUES('gone', 1767225605000)");
    w = open_store(e, 1);
    assert_int_equal(listed(w, "t", "gone"), 1); /* the value after the deletion */
    w->ops->close(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_tombstone_after_failed_retention, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tombstone_without_row, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
