/* Custom metrics through the HTTP API and MQTT: ListCustomMetrics pages with nextToken (also
 * from the token of a name deleted meanwhile), a metric a security profile uses is not deleted
 * (RD-34), definitions survive a restart and still decide the type of reported values
 * (PD-13), and a report the store fails to write gets no reply, leaves the rest of the
 * traffic alone, and is stored when the device sends it again. */
#include "itest.h"

#include <cjson/cJSON.h>
#include <mosquitto.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int g_port;

static int api(const char *method, const char *pq, const char *body, char **resp)
{
    char *r = NULL;
    int st = it_http(g_port, method, pq, body, &r);
    if (resp != NULL)
        *resp = r;
    else
        free(r);
    return st;
}

static void create_metric(const char *name, const char *type, const char *display)
{
    char pq[200], body[300];
    snprintf(pq, sizeof pq, "/custom-metric/%s", name);
    snprintf(body, sizeof body, "{\"metricType\":\"%s\",\"clientRequestToken\":\"tok-%s\"%s%s%s}",
             type, name, display ? ",\"displayName\":\"" : "", display ? display : "",
             display ? "\"" : "");
    char *r = NULL;
    int st = api("POST", pq, body, &r);
    CHECK(st == 200 && r != NULL && strstr(r, "\"metricArn\":\"arn:aws:iot:") != NULL,
          "create %s: %d %s", name, st, r ? r : "");
    free(r);
}

/* One ListCustomMetrics page: the names joined by ',' into out; the nextToken into tok ("" if
 * none). Returns the status. */
static int list_page(const char *q, char *out, size_t cap, char *tok, size_t tcap)
{
    char pq[512], *r = NULL;
    snprintf(pq, sizeof pq, "/custom-metrics?%s", q);
    int st = api("GET", pq, NULL, &r);
    out[0] = tok[0] = '\0';
    cJSON *j = st == 200 ? cJSON_Parse(r) : NULL;
    const cJSON *n;
    cJSON_ArrayForEach(n, cJSON_GetObjectItemCaseSensitive(j, "metricNames"))
    {
        if (cJSON_IsString(n))
            snprintf(out + strlen(out), cap - strlen(out), "%s%s", out[0] ? "," : "",
                     n->valuestring);
    }
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "nextToken");
    if (cJSON_IsString(t))
        snprintf(tok, tcap, "%s", t->valuestring);
    cJSON_Delete(j);
    free(r);
    return st;
}

static void check_list_paging(void)
{
    create_metric("pg-c", "number", NULL);
    create_metric("pg-a", "number", NULL);
    create_metric("pg-e", "number", NULL);
    create_metric("pg-b", "number", NULL);
    create_metric("pg-d", "number", NULL);
    char names[512], tok[300], all[512] = "", q[400];
    int pages = 0;
    snprintf(q, sizeof q, "maxResults=2");
    for (;;)
    {
        int st = list_page(q, names, sizeof names, tok, sizeof tok);
        CHECK(st == 200, "page %d: %d", pages + 1, st);
        pages++;
        size_t used = strlen(all);
        if (used + 1 + strlen(names) < sizeof all)
            snprintf(all + used, sizeof all - used, "%s%.400s", used ? "," : "", names);
        if (st != 200 || tok[0] == '\0' || pages > 5)
            break;
        snprintf(q, sizeof q, "maxResults=2&nextToken=%s", tok);
    }
    CHECK(strcmp(all, "pg-a,pg-b,pg-c,pg-d,pg-e") == 0 && pages == 3,
          "paged list: '%s' in %d pages", all, pages);
    /* exactly a full last page: no token that would lead to an empty page */
    list_page("maxResults=5", names, sizeof names, tok, sizeof tok);
    CHECK(strcmp(names, "pg-a,pg-b,pg-c,pg-d,pg-e") == 0 && tok[0] == '\0',
          "five of five: '%s' token '%s'", names, tok);
    /* the token of a name deleted since it was issued still continues after that name */
    list_page("maxResults=2", names, sizeof names, tok, sizeof tok);
    CHECK(strcmp(names, "pg-a,pg-b") == 0 && tok[0] != '\0', "first page '%s'", names);
    CHECK(api("DELETE", "/custom-metric/pg-b", NULL, NULL) == 200, "delete pg-b");
    snprintf(q, sizeof q, "maxResults=2&nextToken=%s", tok);
    list_page(q, names, sizeof names, tok, sizeof tok);
    CHECK(strcmp(names, "pg-c,pg-d") == 0, "after the deleted pg-b: '%s'", names);
    /* the default page size (25) lists them all, without a token */
    list_page("", names, sizeof names, tok, sizeof tok);
    CHECK(strcmp(names, "pg-a,pg-c,pg-d,pg-e") == 0 && tok[0] == '\0', "default page: '%s' '%s'",
          names, tok);
    for (char c = 'a'; c <= 'e'; c++)
    {
        char pq[64];
        snprintf(pq, sizeof pq, "/custom-metric/pg-%c", c);
        CHECK(api("DELETE", pq, NULL, NULL) == 200, "delete %s", pq);
    }
}

/* RD-34: DeleteCustomMetric of a metric a security profile uses is refused. */
static void check_delete_in_use(void)
{
    create_metric("battery", "number", NULL);
    int st = api("POST", "/security-profiles/low-battery",
                 "{\"behaviors\":[{\"name\":\"floor\",\"metric\":\"battery\",\"criteria\":{"
                 "\"comparisonOperator\":\"less-than\",\"value\":{\"number\":10}}}]}",
                 NULL);
    CHECK(st == 200, "create the profile: %d", st);
    char *r = NULL;
    st = api("DELETE", "/custom-metric/battery", NULL, &r);
    CHECK(st == 400 && r != NULL && strstr(r, "used by a security profile") != NULL &&
              strstr(r, "#ErrorType=InvalidRequestException") != NULL,
          "delete a metric in use: %d %s", st, r ? r : "");
    free(r);
    CHECK(api("GET", "/custom-metric/battery", NULL, NULL) == 200, "the metric was kept");
    CHECK(api("DELETE", "/security-profiles/low-battery", NULL, NULL) == 200, "delete profile");
    CHECK(api("DELETE", "/custom-metric/battery", NULL, NULL) == 200, "delete after the profile");
    CHECK(api("GET", "/custom-metric/battery", NULL, NULL) == 404, "deleted");
}

/* Publishes a JSON report for thing `dev`; returns the reply topic's last level ("accepted",
 * "rejected") or "" when no reply came within wait_ms. */
static const char *report(it_peer *pub, it_peer *sub, int id, const char *custom, int wait_ms)
{
    char js[512];
    snprintf(js, sizeof js,
             "{\"header\":{\"report_id\":%d,\"version\":\"1.0\"},\"metrics\":{},"
             "\"custom_metrics\":{%s}}",
             id, custom);
    it_peer_publish(pub, "$aws/things/dev/defender/metrics/json", js, strlen(js), 1);
    it_msg m;
    if (!it_peer_next(sub, &m, wait_ms))
        return "";
    const char *r = strstr(m.topic, "/accepted")   ? "accepted"
                    : strstr(m.topic, "/rejected") ? "rejected"
                                                   : "other";
    free(m.payload);
    return r;
}

static int count_values(const char *metric)
{
    char pq[256], *r = NULL;
    snprintf(pq, sizeof pq,
             "/metric-values?thingName=dev&metricName=%s&startTime=0&endTime=4000000000", metric);
    int st = api("GET", pq, NULL, &r);
    cJSON *j = st == 200 ? cJSON_Parse(r) : NULL;
    int n = j ? cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "metricDatumList")) : -1;
    cJSON_Delete(j);
    free(r);
    return n;
}

static long long counter(const char *name)
{
    char *r = NULL;
    int st = api("GET", "/service/counters", NULL, &r);
    cJSON *j = st == 200 ? cJSON_Parse(r) : NULL;
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(j, name);
    long long v = cJSON_IsNumber(c) ? (long long) c->valuedouble : -1;
    cJSON_Delete(j);
    free(r);
    return v;
}

static void db_exec(const char *db, const char *q)
{
    sqlite3 *h = NULL;
    char *msg = NULL;
    if (sqlite3_open(db, &h) == SQLITE_OK)
    {
        sqlite3_busy_timeout(h, 5000);
        if (sqlite3_exec(h, q, NULL, NULL, &msg) != SQLITE_OK)
            CHECK(0, "%s: %s", q, msg ? msg : "?");
    }
    else
        CHECK(0, "open %s", db);
    sqlite3_free(msg);
    sqlite3_close(h);
}

int main(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    it_broker b;
    it_service s;
    const char *args[] = {"--throttle-seconds", "0", NULL};
    if (it_start(&b, &s, argv[1], argv[2], "custom.db", args) != 0)
        return 1;
    g_port = s.http_port;
    check_list_paging();
    check_delete_in_use();

    /* definitions survive a restart and keep deciding the type of reported values */
    create_metric("temp", "number", "Temperature");
    create_metric("fw", "string-list", NULL);
    int rc = it_service_stop(&s, SIGTERM, 10000);
    CHECK(rc == 0, "exit status %d", rc);
    char db[sizeof s.db];
    snprintf(db, sizeof db, "%s", s.db); /* it_service_start writes s.db */
    if (it_service_start(&s, argv[1], &b, db, args) != 0)
    {
        CHECK(0, "restart");
        it_broker_stop(&b);
        return 1;
    }
    g_port = s.http_port;
    char *r = NULL;
    int st = api("GET", "/custom-metric/temp", NULL, &r);
    CHECK(st == 200 && r != NULL && strstr(r, "\"metricType\":\"number\"") != NULL &&
              strstr(r, "\"displayName\":\"Temperature\"") != NULL,
          "describe after restart: %d %s", st, r ? r : "");
    free(r);
    it_peer *sub = NULL, *pub = NULL;
    if (it_peer_pair(b.port, "$aws/things/dev/defender/metrics/json/+", &sub, &pub) == 0)
    {
        /* temp sent as a string list, fw as a number: both dropped (type-mismatch); the
         * undefined `other` is kept */
        const char *got = report(pub, sub, 1,
                                 "\"temp\":[{\"string_list\":[\"x\"]}],\"fw\":[{\"number\":1}],"
                                 "\"other\":[{\"number\":2}]",
                                 10000);
        CHECK(strcmp(got, "accepted") == 0, "report 1: '%s'", got);
        got = report(pub, sub, 2,
                     "\"temp\":[{\"number\":21.5}],\"fw\":[{\"string_list\":[\"v1\"]}]", 10000);
        CHECK(strcmp(got, "accepted") == 0, "report 2: '%s'", got);
        CHECK(count_values("temp") == 1, "temp: %d value(s), expected the number only",
              count_values("temp"));
        CHECK(count_values("fw") == 1, "fw: %d value(s), expected the string list only",
              count_values("fw"));
        CHECK(count_values("other") == 1, "other: %d", count_values("other"));
        CHECK(counter("values_flagged") == 2, "values_flagged %lld", counter("values_flagged"));

        /* a report the store cannot write: no reply, counted, the next report is stored, and
         * the same report sent again once storage works is stored (not a duplicate) */
        db_exec(s.db, "CREATE TRIGGER fail_66 BEFORE INSERT ON reports WHEN new.report_id = 66"
                      " BEGIN SELECT RAISE(ABORT, 'simulated I/O error'); END");
        long long errs = counter("store_errors");
        got = report(pub, sub, 66, "\"temp\":[{\"number\":66}]", 1500);
        CHECK(strcmp(got, "") == 0, "report 66 while storage fails: '%s'", got);
        CHECK(counter("store_errors") == errs + 1, "store_errors %lld, expected %lld",
              counter("store_errors"), errs + 1);
        got = report(pub, sub, 67, "\"temp\":[{\"number\":67}]", 10000);
        CHECK(strcmp(got, "accepted") == 0, "report 67: '%s'", got);
        db_exec(s.db, "DROP TRIGGER fail_66");
        got = report(pub, sub, 66, "\"temp\":[{\"number\":66}]", 10000);
        CHECK(strcmp(got, "accepted") == 0, "report 66 sent again: '%s'", got);
        CHECK(count_values("temp") == 3, "temp: %d value(s)", count_values("temp"));
        CHECK(counter("duplicates_discarded") == 0, "duplicates_discarded %lld",
              counter("duplicates_discarded"));
        it_peer_close(sub);
        it_peer_close(pub);
    }
    rc = it_service_stop(&s, SIGTERM, 10000);
    CHECK(rc == 0, "exit status %d", rc);
    return it_finish(&b, "custom");
}
