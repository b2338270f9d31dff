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

/* --db pointing where no database can be: refused with a message, nothing clobbered. */
static void test_open_errors(void **state)
{
    const store_env *e = *state;
    char err[256] = "", path[160];
    snprintf(path, sizeof path, "%s/no-such-dir/detect.db", e->dir);
    assert_null(store_sqlite_open(path, 1, 0, err, sizeof err));
    assert_non_null(strstr(err, "cannot open"));
    /* a directory */
    err[0] = '\0';
    assert_null(store_sqlite_open(e->dir, 1, 0, err, sizeof err));
    assert_true(err[0] != '\0');
    /* a file that is not a database (e.g. the configuration given as --db) is left alone */
    static const char text[] = "# defender-detect configuration\nretention-days = 30\n"
                               "padding padding padding padding padding padding padding\n";
    FILE *f = fopen(e->db, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    err[0] = '\0';
    assert_null(store_sqlite_open(e->db, 1, 0, err, sizeof err));
    assert_non_null(strstr(err, "cannot initialise"));
    assert_null(store_sqlite_open(e->db, 0, 0, err, sizeof err));
    char back[sizeof text + 16] = "";
    f = fopen(e->db, "r");
    assert_non_null(f);
    size_t n = fread(back, 1, sizeof back, f);
    fclose(f);
    assert_int_equal(n, sizeof text - 1);
    assert_memory_equal(back, text, n);
}

static void collect_names(void *ctx, const char *name, const char *type)
{
    char *out = ctx;
    size_t l = strlen(out);
    snprintf(out + l, 256 - l, "%s%s=%s", l ? "," : "", name, type);
}

/* Custom-metric definitions: idempotent create by token, another token refused, update and
 * delete of a name that does not exist answered as such, names listed in order from `after`. */
static void test_custom_metrics(void **state)
{
    const store_env *e = *state;
    store *s = open_store(e, 0);
    store_custom_metric m = {.name = "b",
                             .type = "number",
                             .token = "t1",
                             .created_ms = 5,
                             .modified_ms = 5},
                        got;
    assert_int_equal(s->ops->custom_create(s, &m, "[{\"Key\":\"k\"}]", &got), STORE_OK);
    memset(&got, 0, sizeof got);
    assert_int_equal(s->ops->custom_create(s, &m, NULL, &got), STORE_EXISTS_SAME);
    assert_string_equal(got.type, "number");
    store_custom_metric other = m;
    snprintf(other.token, sizeof other.token, "t2");
    snprintf(other.type, sizeof other.type, "string-list");
    assert_int_equal(s->ops->custom_create(s, &other, NULL, &got), STORE_EXISTS);
    assert_string_equal(got.token, "t1");
    assert_int_equal(s->ops->custom_get(s, "b", &got), STORE_OK);
    assert_string_equal(got.type, "number"); /* not replaced */
    assert_string_equal(got.display_name, "");
    assert_int_equal(s->ops->custom_update(s, "b", "Battery", 9), STORE_OK);
    assert_int_equal(s->ops->custom_get(s, "b", &got), STORE_OK);
    assert_string_equal(got.display_name, "Battery");
    assert_true(got.created_ms == 5 && got.modified_ms == 9);
    assert_int_equal(s->ops->custom_update(s, "nope", "x", 9), STORE_NOT_FOUND);
    assert_int_equal(s->ops->custom_get(s, "nope", &got), STORE_NOT_FOUND);
    static const char *const more[][2] = {{"c", "ip-address-list"}, {"a", "number-list"}};
    for (int i = 0; i < 2; i++)
    {
        store_custom_metric x = {.created_ms = 1};
        snprintf(x.name, sizeof x.name, "%s", more[i][0]);
        snprintf(x.type, sizeof x.type, "%s", more[i][1]);
        snprintf(x.token, sizeof x.token, "t");
        assert_int_equal(s->ops->custom_create(s, &x, NULL, &got), STORE_OK);
    }
    char names[256] = "";
    assert_int_equal(s->ops->custom_list(s, "", 2, collect_names, names), 2);
    assert_string_equal(names, "a=number-list,b=number");
    names[0] = '\0';
    assert_int_equal(s->ops->custom_list(s, "b", 2, collect_names, names), 1);
    assert_string_equal(names, "c=ip-address-list");
    names[0] = '\0';
    assert_int_equal(s->ops->custom_list(s, "c", 2, collect_names, names), 0);
    assert_int_equal(s->ops->custom_delete(s, "nope", 10), STORE_NOT_FOUND);
    assert_int_equal(s->ops->custom_delete(s, "b", 10), STORE_OK);
    assert_int_equal(s->ops->custom_get(s, "b", &got), STORE_NOT_FOUND);
    assert_int_equal(s->ops->custom_delete(s, "b", 11), STORE_NOT_FOUND);
    names[0] = '\0';
    assert_int_equal(s->ops->custom_list(s, "", 10, collect_names, names), 2);
    assert_string_equal(names, "a=number-list,c=ip-address-list");
    /* created again after the deletion: a new definition */
    assert_int_equal(s->ops->custom_create(s, &other, NULL, &got), STORE_OK);
    assert_int_equal(s->ops->custom_get(s, "b", &got), STORE_OK);
    assert_string_equal(got.type, "string-list");
    s->ops->close(s);
}

/* A storage failure in the middle of a write is undone: a deletion that cannot write its
 * tombstone keeps the metric (and its data), a report that cannot be stored is not taken as
 * seen (its resend is stored), and the handle works on afterwards. */
static void test_failed_writes(void **state)
{
    const store_env *e = *state;
    store *w = open_store(e, 1);
    store *api = open_store(e, 0);
    store_custom_metric m = {.name = "temp", .type = "number", .token = "t"}, got;
    assert_int_equal(api->ops->custom_create(api, &m, NULL, &got), STORE_OK);
    assert_int_equal(w->ops->begin(w), STORE_OK);
    put(w, "dev", 1, T0_MS, "{\"temp\":{\"number\":1}}");
    assert_int_equal(w->ops->commit(w), STORE_OK);
    sql(e, "CREATE TRIGGER no_tombstone BEFORE INSERT ON custom_metric_deletions"
           " BEGIN SELECT RAISE(ABORT, 'simulated I/O error'); END;"
           "CREATE TRIGGER no_report BEFORE INSERT ON reports WHEN new.report_id = 2"
           " BEGIN SELECT RAISE(ABORT, 'simulated I/O error'); END");
    assert_int_equal(api->ops->custom_delete(api, "temp", T0_MS + 1), STORE_ERR);
    assert_int_equal(api->ops->custom_get(api, "temp", &got), STORE_OK);
    assert_int_equal(listed(api, "dev", "temp"), 1);
    /* one report of a batch fails; the others in the same transaction are kept */
    int64_t id = 0;
    assert_int_equal(w->ops->begin(w), STORE_OK);
    assert_int_equal(w->ops->thing_id(w, "dev", 3, &id), STORE_OK);
    store_report bad = {id, 2, T0_MS + 2, 0, NULL, "{\"temp\":{\"number\":2}}", 22};
    assert_int_equal(w->ops->insert_report(w, &bad), STORE_ERR);
    put(w, "dev", 3, T0_MS + 3, "{\"temp\":{\"number\":3}}");
    assert_int_equal(w->ops->commit(w), STORE_OK);
    assert_int_equal(w->ops->id_seen(w, id, 2), 0);
    assert_int_equal(w->ops->id_seen(w, id, 3), 1);
    assert_int_equal(listed(api, "dev", "temp"), 2);
    /* a transaction rolled back leaves nothing */
    assert_int_equal(w->ops->begin(w), STORE_OK);
    put(w, "dev", 4, T0_MS + 4, "{\"temp\":{\"number\":4}}");
    put(w, "newdev", 1, T0_MS + 4, "{\"temp\":{\"number\":4}}");
    w->ops->rollback(w);
    assert_int_equal(w->ops->id_seen(w, id, 4), 0);
    assert_int_equal(listed(api, "newdev", "temp"), 0);
    sql(e, "DROP TRIGGER no_tombstone; DROP TRIGGER no_report");
    assert_int_equal(w->ops->begin(w), STORE_OK);
    assert_int_equal(w->ops->insert_report(w, &bad), STORE_OK);
    assert_int_equal(w->ops->commit(w), STORE_OK);
    assert_int_equal(listed(api, "dev", "temp"), 3);
    assert_int_equal(api->ops->custom_delete(api, "temp", T0_MS + 10), STORE_OK);
    assert_int_equal(listed(api, "dev", "temp"), 0);
    api->ops->close(api);
    w->ops->close(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_tombstone_after_failed_retention, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tombstone_without_row, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_custom_metrics, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_writes, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
