/* SIGKILL under load: every report answered ACCEPTED must be in the database.
 * Also SIGTERM under load: clean exit (status 0), same guarantee. */
#include "itest.h"

#include <mosquitto.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define THINGS 200

typedef struct
{
    char thing[64];
    unsigned long long id;
} acc;

static int parse_accept(const it_msg *m, acc *a)
{
    /* topic $aws/things/<t>/defender/metrics/json/accepted, payload JSON with reportId */
    const char *t = m->topic + strlen("$aws/things/");
    const char *e = strchr(t, '/');
    if (e == NULL || (size_t) (e - t) >= sizeof a->thing)
        return -1;
    memcpy(a->thing, t, (size_t) (e - t));
    a->thing[e - t] = 0;
    const char *r = strstr((const char *) m->payload, "\"reportId\":");
    if (r == NULL)
        return -1;
    a->id = strtoull(r + 11, NULL, 10);
    return 0;
}

/* Publishes until `stop_after_ms`, then delivers `sig` to the service; returns accepted list. */
static size_t round_trip(const char *exe, const it_broker *b, const char *db, int sig,
                         int stop_after_ms, unsigned long long *next_id, acc **out)
{
    it_service s;
    const char *args[] = {"--throttle-seconds", "0", NULL};
    if (it_service_start(&s, exe, b, db, args) != 0)
    {
        CHECK(0, "service start");
        return 0;
    }
    it_peer *sub = it_peer_connect(b->port, "$aws/things/+/defender/metrics/json/accepted");
    it_peer *pub = it_peer_connect(b->port, NULL);
    if (sub == NULL || pub == NULL)
    {
        CHECK(0, "peers");
        it_service_stop(&s, SIGKILL, 1000);
        it_peer_close(sub);
        it_peer_close(pub);
        return 0;
    }
    int64_t start = it_now_ms();
    size_t sent = 0;
    char payload[256], topic[128];
    while (it_now_ms() - start < stop_after_ms)
    {
        for (int k = 0; k < 50; k++)
        {
            int t = (int) (sent % THINGS);
            snprintf(topic, sizeof topic, "$aws/things/dur-%d/defender/metrics/json", t);
            snprintf(payload, sizeof payload,
                     "{\"hed\":{\"rid\":%llu,\"v\":\"1.0\"},\"met\":{\"ns\":{\"bi\":%zu,\"bo\":1,"
                     "\"pi\":2,\"po\":3}}}",
                     (*next_id)++, sent);
            it_peer_publish(pub, topic, payload, strlen(payload), 1);
            sent++;
        }
        it_sleep_ms(2);
    }
    int rc = it_service_stop(&s, sig, 15000);
    if (sig == SIGTERM)
        CHECK(rc == 0, "SIGTERM exit status %d", rc);
    else
        CHECK(rc == 128 + SIGKILL, "SIGKILL status %d", rc);
    it_sleep_ms(300); /* replies already handed to the broker still arrive */
    size_t cap = 1024, n = 0;
    acc *list = malloc(cap * sizeof *list);
    it_msg m;
    while (list != NULL && it_peer_next(sub, &m, 200))
    {
        if (n == cap)
        {
            acc *nl = realloc(list, 2 * cap * sizeof *nl);
            if (nl == NULL)
            {
                free(m.payload);
                break;
            }
            list = nl;
            cap *= 2;
        }
        if (parse_accept(&m, &list[n]) == 0)
            n++;
        free(m.payload);
    }
    printf("signal %d after %d ms: %zu published, %zu ACCEPTED received\n", sig, stop_after_ms,
           sent, n);
    it_peer_close(pub);
    it_peer_close(sub);
    *out = list;
    return n;
}

static void verify(const char *db, const acc *list, size_t n)
{
    sqlite3 *h;
    if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
    {
        CHECK(0, "open %s", db);
        return;
    }
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(h,
                           "SELECT count(*) FROM reports r JOIN things t ON t.id = r.thing_id"
                           " WHERE t.name = ?1 AND r.report_id = ?2 AND r.datapoints LIKE"
                           " '%aws:all-bytes-in%'",
                           -1, &q, NULL) != SQLITE_OK)
    {
        CHECK(0, "prepare: %s", sqlite3_errmsg(h));
        sqlite3_close(h);
        return;
    }
    size_t missing = 0;
    for (size_t i = 0; i < n; i++)
    {
        sqlite3_reset(q);
        sqlite3_bind_text(q, 1, list[i].thing, -1, SQLITE_STATIC);
        sqlite3_bind_int64(q, 2, (sqlite3_int64) list[i].id);
        if (sqlite3_step(q) != SQLITE_ROW || sqlite3_column_int(q, 0) != 1)
        {
            if (missing++ < 5)
                fprintf(stderr, "missing %s %llu\n", list[i].thing, list[i].id);
        }
    }
    sqlite3_finalize(q);
    CHECK(missing == 0, "%zu ACCEPTED reports missing from the database", missing);
    sqlite3_stmt *ic;
    if (sqlite3_prepare_v2(h, "PRAGMA integrity_check", -1, &ic, NULL) == SQLITE_OK &&
        sqlite3_step(ic) == SQLITE_ROW)
        CHECK(strcmp((const char *) sqlite3_column_text(ic, 0), "ok") == 0, "integrity_check");
    sqlite3_finalize(ic);
    sqlite3_close(h);
}

int main(int argc, char **argv)
{
    if (argc < 3)
    {
        fprintf(stderr, "usage: %s DEFENDER_DETECT MOSQUITTO\n", argv[0]);
        return 2;
    }
    mosquitto_lib_init();
    it_broker b;
    if (it_broker_start(&b, argv[2], NULL) != 0)
    {
        fprintf(stderr, "cannot start mosquitto\n");
        return 1;
    }
    char db[400];
    snprintf(db, sizeof db, "%s/durable.db", b.dir);
    unsigned long long next_id = 1;
    static const int kill_at[] = {150, 400, 900};
    size_t total = 0;
    for (size_t i = 0; i < sizeof kill_at / sizeof kill_at[0]; i++)
    {
        acc *list = NULL;
        size_t n = round_trip(argv[1], &b, db, SIGKILL, kill_at[i], &next_id, &list);
        CHECK(n > 0, "no report accepted before the kill");
        verify(db, list, n);
        total += n;
        free(list);
    }
    acc *list = NULL;
    size_t n = round_trip(argv[1], &b, db, SIGTERM, 500, &next_id, &list);
    verify(db, list, n);
    free(list);
    total += n;
    printf("%zu ACCEPTED reports verified in the database\n", total);
    return it_finish(&b, "durability");
}
