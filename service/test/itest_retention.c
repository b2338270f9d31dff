/* Retention is enforced: datapoints older than --retention-days are deleted (the report id
 * is kept among the thing's newest 1024, so a late duplicate is still recognised). */
#include "itest.h"

#include <mosquitto.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define T0_MS 1767225600000ull

static void set_clock(int port, unsigned long long ms)
{
    char path[96], *body = NULL;
    snprintf(path, sizeof path, "/_test/clock?nowMs=%llu", ms);
    CHECK(it_http(port, "POST", path, NULL, &body) == 200, "clock");
    free(body);
}

static int datapoints_present(const char *db)
{
    sqlite3 *h;
    int n = -1;
    if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK)
    {
        sqlite3_stmt *q;
        if (sqlite3_prepare_v2(h, "SELECT count(datapoints), count(*) FROM reports", -1, &q,
                               NULL) == SQLITE_OK &&
            sqlite3_step(q) == SQLITE_ROW)
            n = sqlite3_column_int(q, 0) * 1000 + sqlite3_column_int(q, 1);
        sqlite3_finalize(q);
    }
    sqlite3_close(h);
    return n;
}

/* Publishes a JSON report of `thing` with the custom metric `metric` (a number) and waits
 * for its ACCEPTED reply. */
static void publish_custom(it_peer *pub, it_peer *sub, const char *thing, unsigned report_id,
                           const char *metric, int value)
{
    char topic[160], rep[300];
    snprintf(topic, sizeof topic, "$aws/things/%s/defender/metrics/json", thing);
    snprintf(rep, sizeof rep,
             "{\"header\":{\"report_id\":%u,\"version\":\"1.0\"},\"metrics\":{},"
             "\"custom_metrics\":{\"%s\":[{\"number\":%d}]}}",
             report_id, metric, value);
    it_peer_publish(pub, topic, rep, strlen(rep), 1);
    it_msg m;
    int got = it_peer_next(sub, &m, 10000);
    CHECK(got && strstr(m.topic, "/accepted") != NULL, "%s report %u accepted", thing, report_id);
    if (got)
        free(m.payload);
}

/* The values ListMetricValues returns for thing and metric, as "101,102" (at most 15). */
static void listed(int port, const char *thing, const char *metric, char *out, size_t size)
{
    char path[256], *body = NULL;
    snprintf(path, sizeof path,
             "/metric-values?thingName=%s&metricName=%s&startTime=0&endTime=4000000000", thing,
             metric);
    out[0] = 0;
    CHECK(it_http(port, "GET", path, NULL, &body) == 200 && body != NULL, "list %s %s", thing,
          metric);
    for (const char *p = body; p != NULL && (p = strstr(p, "\"number\":")) != NULL;)
    {
        p += strlen("\"number\":");
        size_t n = strlen(out);
        snprintf(out + n, size - n, "%s%ld", n ? "," : "", strtol(p, NULL, 10));
    }
    free(body);
}

static void expect_http(int port, const char *method, const char *path, const char *body,
                        int status)
{
    char *resp = NULL;
    int st = it_http(port, method, path, body, &resp);
    CHECK(st == status, "%s %s: %d %s", method, path, st, resp ? resp : "");
    free(resp);
}

/* Deleting a custom metric hides the datapoints stored before the deletion, whatever the
 * clock says: a report received after it in the same millisecond, or after the wall clock
 * stepped back, is listed. */
static void check_delete_vs_clock(int port, it_peer *pub, it_peer *sub)
{
    char got[128];
    expect_http(port, "POST", "/custom-metric/stepped",
                "{\"metricType\":\"number\",\"clientRequestToken\":\"s\"}", 200);
    set_clock(port, T0_MS + 5000);
    publish_custom(pub, sub, "stepped", 1, "stepped", 101);
    expect_http(port, "DELETE", "/custom-metric/stepped", NULL, 200);
    publish_custom(pub, sub, "stepped", 2, "stepped", 102); /* same millisecond */
    set_clock(port, T0_MS - 10000);                         /* stepped back 15 s */
    publish_custom(pub, sub, "stepped", 3, "stepped", 103);
    listed(port, "stepped", "stepped", got, sizeof got);
    CHECK(strcmp(got, "103,102") == 0,
          "after the deletion: reports 3 and 2 listed (time order), not 1: got [%s]", got);
}

static int thing_rows(const char *db, const char *thing)
{
    sqlite3 *h;
    int n = -1;
    if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK)
    {
        sqlite3_stmt *q;
        if (sqlite3_prepare_v2(h,
                               "SELECT count(*) FROM reports WHERE thing_id = (SELECT id FROM"
                               " things WHERE name = ?1)",
                               -1, &q, NULL) == SQLITE_OK)
        {
            sqlite3_bind_text(q, 1, thing, -1, SQLITE_STATIC);
            if (sqlite3_step(q) == SQLITE_ROW)
                n = sqlite3_column_int(q, 0);
        }
        sqlite3_finalize(q);
    }
    sqlite3_close(h);
    return n;
}

/* Retention deletes the newest report row of the table: the next row gets its id again (SQLite
 * numbers rows one above the largest id). A deleted metric's tombstone must not hide that new
 * row. Thing "many" gets 1024 reports at T1; then, with the clock stepped back, thing "many"
 * sends the newest row (metric "gone"), the metric is deleted, and retention removes that row
 * (old, and not among "many"'s newest 1024). */
static void check_tombstone_after_retention(int port, const char *db, it_peer *pub, it_peer *sub)
{
    const unsigned long long t1 = T0_MS + 10ull * 86400 * 1000;
    char got[128];
    set_clock(port, t1);
    for (unsigned i = 1; i <= 1024; i++)
    {
        char rep[160];
        snprintf(rep, sizeof rep,
                 "{\"header\":{\"report_id\":%u,\"version\":\"1.0\"},\"metrics\":{}}", i);
        it_peer_publish(pub, "$aws/things/many/defender/metrics/json", rep, strlen(rep), 1);
        if (i % 64 == 0) /* in batches: the broker's queue for the subscriber is bounded */
            for (int k = 0; k < 64; k++)
            {
                it_msg m;
                if (!it_peer_next(sub, &m, 10000))
                {
                    CHECK(0, "reply to report %u", i);
                    return;
                }
                free(m.payload);
            }
    }
    CHECK(thing_rows(db, "many") == 1024, "1024 rows of many");
    expect_http(port, "POST", "/custom-metric/gone",
                "{\"metricType\":\"number\",\"clientRequestToken\":\"g\"}", 200);
    set_clock(port, T0_MS + 3ull * 86400 * 1000);
    publish_custom(pub, sub, "many", 2000, "gone", 1);
    expect_http(port, "DELETE", "/custom-metric/gone", NULL, 200);
    set_clock(port, t1 + 2ull * 86400 * 1000);
    int n = -1;
    for (int i = 0; i < 50 && n != 1024; i++)
    {
        it_sleep_ms(100);
        n = thing_rows(db, "many");
    }
    CHECK(n == 1024, "retention removed the newest row (many has %d rows)", n);
    publish_custom(pub, sub, "fresh", 1, "gone", 2);
    listed(port, "fresh", "gone", got, sizeof got);
    CHECK(strcmp(got, "2") == 0, "value sent after the deletion and retention listed: [%s]", got);
}

int main(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    const char *args[] = {"--test-hooks", "--retention-days", "1", "--throttle-seconds", "0", NULL};
    it_broker b;
    it_service s;
    if (it_start(&b, &s, argv[1], argv[2], "ret.db", args) != 0)
        return 1;
    it_peer *sub = it_peer_connect(b.port, "$aws/things/ret/defender/metrics/json/+");
    it_peer *pub = it_peer_connect(b.port, NULL);
    if (sub == NULL || pub == NULL)
    {
        it_service_stop(&s, SIGTERM, 5000);
        it_broker_stop(&b);
        return 1;
    }
    set_clock(s.http_port, T0_MS);
    const char *rep =
        "{\"header\":{\"report_id\":1,\"version\":\"1.0\"},\"metrics\":{\"network_stats\":"
        "{\"bytes_in\":7}}}";
    it_peer_publish(pub, "$aws/things/ret/defender/metrics/json", rep, strlen(rep), 1);
    it_msg m;
    if (it_peer_next(sub, &m, 5000))
    {
        CHECK(strstr(m.topic, "/accepted") != NULL, "accepted");
        free(m.payload);
    }
    char *body = NULL;
    const char *q = "/metric-values?thingName=ret&metricName=aws:all-bytes-in&startTime=0"
                    "&endTime=2000000000";
    CHECK(it_http(s.http_port, "GET", q, NULL, &body) == 200 && strstr(body, "\"count\":7"),
          "datapoint listed: %s", body ? body : "");
    free(body);
    CHECK(datapoints_present(s.db) == 1001, "one report with datapoints");
    /* two days later the retention pass (run by the worker at least once a second when due)
     * removes the datapoints */
    set_clock(s.http_port, T0_MS + 2ull * 86400 * 1000);
    int n = -1;
    for (int i = 0; i < 50 && n != 1; i++)
    {
        it_sleep_ms(100);
        n = datapoints_present(s.db);
    }
    CHECK(n == 1, "datapoints deleted, id kept (got %d)", n);
    body = NULL;
    CHECK(it_http(s.http_port, "GET", q, NULL, &body) == 200 && strstr(body, "[]"),
          "nothing listed: %s", body ? body : "");
    free(body);
    /* the id is still known: a redelivery is discarded, not accepted again */
    it_peer_publish(pub, "$aws/things/ret/defender/metrics/json", rep, strlen(rep), 1);
    it_peer_publish(pub, "$aws/things/ret/defender/metrics/json", "x", 1, 1);
    if (it_peer_next(sub, &m, 5000))
    {
        CHECK(strstr(m.topic, "/rejected") != NULL &&
                  strstr((char *) m.payload, "reportId") == NULL,
              "duplicate after retention discarded: %s", (char *) m.payload);
        free(m.payload);
    }
    it_peer *all = it_peer_connect(b.port, "$aws/things/+/defender/metrics/json/+");
    if (all != NULL)
    {
        check_delete_vs_clock(s.http_port, pub, all);
        check_tombstone_after_retention(s.http_port, s.db, pub, all);
        /* for the upgrade below: two values of "legacy", 2 s apart, a minute ago (the
         * service restarts on the real clock, and retention must keep them) */
        const unsigned long long t = (unsigned long long) time(NULL) * 1000 - 60000;
        set_clock(s.http_port, t);
        publish_custom(pub, all, "legacy", 1, "legacy", 1);
        set_clock(s.http_port, t + 2000);
        publish_custom(pub, all, "legacy", 2, "legacy", 3);
        CHECK(it_service_stop(&s, SIGTERM, 10000) == 0, "exit");
        /* a database of the earlier schema: tombstones by time only, "legacy" deleted between
         * its two values; the service brings it up to date when it opens it */
        char db[sizeof s.db], sql[300];
        snprintf(db, sizeof db, "%s", s.db);
        snprintf(sql, sizeof sql,
                 "ALTER TABLE custom_metric_deletions DROP COLUMN deleted_row;"
                 "INSERT INTO custom_metric_deletions(name, deleted_ms) VALUES('legacy', %llu)",
                 t + 1000);
        sqlite3 *h = NULL;
        CHECK(sqlite3_open(db, &h) == SQLITE_OK &&
                  sqlite3_exec(h, sql, NULL, NULL, NULL) == SQLITE_OK,
              "old schema: %s", h ? sqlite3_errmsg(h) : "");
        sqlite3_close(h);
        if (it_service_start(&s, argv[1], &b, db, args) == 0)
        {
            char got[64];
            listed(s.http_port, "legacy", "legacy", got, sizeof got);
            CHECK(strcmp(got, "3") == 0, "after the upgrade, the value after the deletion: [%s]",
                  got);
            CHECK(it_service_stop(&s, SIGTERM, 10000) == 0, "exit");
        }
        else
            CHECK(0, "service restarted on the old database");
        it_peer_close(all);
    }
    else
    {
        CHECK(0, "subscriber for all things");
        CHECK(it_service_stop(&s, SIGTERM, 10000) == 0, "exit");
    }
    it_peer_close(sub);
    it_peer_close(pub);
    it_broker_stop(&b);
    mosquitto_lib_cleanup();
    if (it_failures == 0)
    {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", b.dir);
        if (system(cmd) != 0)
            fprintf(stderr, "cleanup failed\n");
    }
    printf("retention: %d failure(s)\n", it_failures);
    return it_failures ? 1 : 0;
}
