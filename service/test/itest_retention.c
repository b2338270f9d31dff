/* Retention is enforced: datapoints older than --retention-days are deleted (the report id
 * is kept among the thing's newest 1024, so a late duplicate is still recognised). */
#include "itest.h"

#include <mosquitto.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int main(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    const char *args[] = {"--test-hooks", "--retention-days", "1", NULL};
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
    CHECK(it_service_stop(&s, SIGTERM, 10000) == 0, "exit");
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
