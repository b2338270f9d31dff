/* bench_rules: what Rules Detect adds to the ingestion of a report.
 *
 * Ingestion (what the service's worker does per report): report_validate (decode, validate,
 * derive datapoints), datapoints_to_json, INSERT into a reports table in batched SQLite
 * transactions (WAL, synchronous=FULL, like the service's store).
 * Evaluation: rules_on_report for the same reports, with
 *   A) 10 profiles x 10 behaviors targeting all things (the evaluation-cost target), all
 *      conforming;
 *   B) the same with 1 % of the things violating (events, state writes, alerts queued);
 *   C) one profile of 100 behaviors with 1,000 set elements in total.
 * Things rotate over --things names; receipt times advance 300 s per round like real agents.
 *
 * Usage: bench_rules [--reports N] [--things N] [--dir DIR] [--only 0|1|2] */
#include "report.h"
#include "rules.h"
#include "strbuf.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* A typical agent report: 4 listening TCP ports, 2 UDP, 8 connections, traffic counters. */
static size_t make_report(char *out, size_t cap, unsigned long long id, int bad)
{
    return (size_t) snprintf(
        out, cap,
        "{\"header\":{\"report_id\":%llu,\"version\":\"1.0\"},\"metrics\":{"
        "\"listening_tcp_ports\":{\"ports\":[{\"interface\":\"eth0\",\"port\":22},{\"interface\":"
        "\"eth0\",\"port\":443},{\"interface\":\"eth0\",\"port\":8883},{\"interface\":\"eth0\","
        "\"port\":%d}],\"total\":4},\"listening_udp_ports\":{\"ports\":[{\"interface\":\"eth0\","
        "\"port\":53},{\"interface\":\"eth0\",\"port\":5353}],\"total\":2},\"network_stats\":{"
        "\"bytes_in\":%d,\"bytes_out\":%d,\"packets_in\":120,\"packets_out\":130},"
        "\"tcp_connections\":{\"established_connections\":{\"connections\":["
        "{\"local_interface\":\"eth0\",\"local_port\":40001,\"remote_addr\":\"10.0.0.1:443\"},"
        "{\"local_interface\":\"eth0\",\"local_port\":40002,\"remote_addr\":\"10.0.0.2:443\"},"
        "{\"local_interface\":\"eth0\",\"local_port\":40003,\"remote_addr\":\"10.0.1.3:8883\"},"
        "{\"local_interface\":\"eth0\",\"local_port\":40004,\"remote_addr\":\"192.0.2.4:443\"},"
        "{\"local_interface\":\"eth0\",\"local_port\":40005,\"remote_addr\":\"192.0.2.5:443\"},"
        "{\"local_interface\":\"eth0\",\"local_port\":40006,\"remote_addr\":\"[2001:db8::6]:443\"},"
        "{\"local_interface\":\"eth0\",\"local_port\":40007,\"remote_addr\":\"10.0.2.7:22\"},"
        "{\"local_interface\":\"eth0\",\"local_port\":40008,\"remote_addr\":\"%s:443\"}],"
        "\"total\":8}}}}",
        id, bad ? 4444 : 1883, 4000 + (int) (id % 1000), bad ? 900000 : 9000 + (int) (id % 500),
        bad ? "203.0.113.9" : "10.0.3.8");
}

typedef struct
{
    char *json; /* conforming report */
    size_t len;
    char *bad_json; /* for 1 % of the things, the violating report of variant B */
    size_t bad_len;
    char thing[32];
} rep;

static void profile_body(char *out, size_t cap, int variant)
{
    /* ten behaviors over every device-side metric kind */
    snprintf(
        out, cap,
        "{\"behaviors\":["
        "{\"name\":\"bi\",\"metric\":\"aws:all-bytes-in\",\"criteria\":{\"comparisonOperator\":"
        "\"less-than\",\"value\":{\"count\":%d},\"durationSeconds\":300}},"
        "{\"name\":\"bo\",\"metric\":\"aws:all-bytes-out\",\"criteria\":{\"comparisonOperator\":"
        "\"less-than-equals\",\"value\":{\"count\":100000},\"durationSeconds\":900,"
        "\"consecutiveDatapointsToAlarm\":2}},"
        "{\"name\":\"pi\",\"metric\":\"aws:all-packets-in\",\"criteria\":{\"comparisonOperator\":"
        "\"less-than\",\"value\":{\"count\":100000}}},"
        "{\"name\":\"po\",\"metric\":\"aws:all-packets-out\",\"criteria\":{\"comparisonOperator\":"
        "\"less-than\",\"value\":{\"count\":100000},\"durationSeconds\":3600}},"
        "{\"name\":\"nt\",\"metric\":\"aws:num-listening-tcp-ports\",\"criteria\":{"
        "\"comparisonOperator\":\"less-than\",\"value\":{\"count\":20}}},"
        "{\"name\":\"nu\",\"metric\":\"aws:num-listening-udp-ports\",\"criteria\":{"
        "\"comparisonOperator\":\"less-than\",\"value\":{\"count\":20}}},"
        "{\"name\":\"ne\",\"metric\":\"aws:num-established-tcp-connections\",\"criteria\":{"
        "\"comparisonOperator\":\"less-than\",\"value\":{\"count\":50}}},"
        "{\"name\":\"tp\",\"metric\":\"aws:listening-tcp-ports\",\"criteria\":{"
        "\"comparisonOperator\":\"in-port-set\",\"value\":{\"ports\":[22,443,8883,1883,%d]}}},"
        "{\"name\":\"up\",\"metric\":\"aws:listening-udp-ports\",\"criteria\":{"
        "\"comparisonOperator\":\"not-in-port-set\",\"value\":{\"ports\":[23,69,2323]}}},"
        "{\"name\":\"ip\",\"metric\":\"aws:destination-ip-addresses\",\"criteria\":{"
        "\"comparisonOperator\":\"in-cidr-set\",\"value\":{\"cidrs\":[\"10.0.0.0/8\","
        "\"192.0.2.0/24\",\"2001:db8::/32\"]}}}],"
        "\"alertTargets\":{\"SNS\":{\"alertTargetArn\":\"arn:aws:sns:us-east-1:123456789012:a\","
        "\"roleArn\":\"arn:aws:iam::123456789012:role/alerts\"}}}",
        100000 + variant, 10000 + variant % 50000);
}

/* One profile: 100 behaviors, 1,000 elements (50 port sets of 10, 50 CIDR sets of 10). */
static char *big_profile(void)
{
    size_t cap = 1u << 18;
    char *b = malloc(cap);
    if (b == NULL)
        return NULL;
    size_t w = (size_t) snprintf(b, cap, "{\"behaviors\":[");
    for (int i = 0; i < 100; i++)
    {
        if (i % 2 == 0)
        {
            w += (size_t) snprintf(b + w, cap - w,
                                   "%s{\"name\":\"p%d\",\"metric\":\"aws:listening-tcp-ports\","
                                   "\"criteria\":{\"comparisonOperator\":\"in-port-set\",\"value\":"
                                   "{\"ports\":[22,443,8883,1883",
                                   i ? "," : "", i);
            for (int k = 0; k < 6; k++)
                w += (size_t) snprintf(b + w, cap - w, ",%d", 20000 + i * 10 + k);
        }
        else
        {
            w +=
                (size_t) snprintf(b + w, cap - w,
                                  "%s{\"name\":\"c%d\",\"metric\":\"aws:destination-ip-addresses\","
                                  "\"criteria\":{\"comparisonOperator\":\"not-in-cidr-set\","
                                  "\"value\":{\"cidrs\":[",
                                  i ? "," : "", i);
            for (int k = 0; k < 10; k++)
                w += (size_t) snprintf(b + w, cap - w, "%s\"198.51.%d.%d/32\"", k ? "," : "", i, k);
        }
        w += (size_t) snprintf(b + w, cap - w, "]}}}");
    }
    snprintf(b + w, cap - w, "]}");
    return b;
}

static int api(rules_engine *e, const char *m, const char *path, const char *q, const char *body)
{
    int st;
    char *resp = NULL;
    const char *et;
    rules_http_handle(e, m, path, q, body, body ? strlen(body) : 0, &st, &resp, &et);
    if (st != 200)
        fprintf(stderr, "%s %s: %d %s\n", m, path, st, resp ? resp : "");
    rules_free(resp);
    return st == 200 ? 0 : -1;
}

static int64_t g_now;
static int64_t clock_cb(void *ctx)
{
    (void) ctx;
    return g_now;
}

static int publish_cb(void *ctx, const char *t, const void *p, size_t n)
{
    (void) ctx;
    (void) t;
    (void) p;
    (void) n;
    return 0;
}

#define CHUNK 512

typedef struct
{
    report_result r;
    arena a;
} derived;

static rules_engine *open_engine(const char *db)
{
    rules_config c;
    rules_config_defaults(&c);
    c.db_path = db;
    c.now_ms = clock_cb;
    c.publish = publish_cb;
    c.max_profiles_per_target = 10; /* the figure attaches 10 profiles to all/things */
    char err[256];
    rules_engine *e = rules_open(&c, err, sizeof err);
    if (e == NULL)
        fprintf(stderr, "rules_open: %s\n", err);
    else if (rules_start(e) != 0)
    {
        fprintf(stderr, "rules_start failed\n");
        rules_close(e);
        return NULL;
    }
    return e;
}

int main(int argc, char **argv)
{
    size_t nrep = 100000, nthings = 20000;
    const char *dir = "/tmp";
    int only = -1;
    for (int i = 1; i + 1 < argc; i += 2)
    {
        if (strcmp(argv[i], "--reports") == 0)
            nrep = (size_t) strtoul(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--things") == 0)
            nthings = (size_t) strtoul(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--dir") == 0)
            dir = argv[i + 1];
        else if (strcmp(argv[i], "--only") == 0)
            only = atoi(argv[i + 1]);
    }
    if (nrep == 0 || nthings == 0)
        return 2;
    rep *reps = calloc(nrep, sizeof *reps);
    derived *d = calloc(CHUNK, sizeof *d);
    if (reps == NULL || d == NULL)
        return 1;
    for (size_t i = 0; i < CHUNK; i++)
        arena_init(&d[i].a, 0);
    for (size_t i = 0; i < nrep; i++)
    {
        char buf[4096];
        int bad = (i % nthings) % 100 == 7; /* 1 % of the things misbehave (variant B) */
        reps[i].len = make_report(buf, sizeof buf, (unsigned long long) i + 1, 0);
        reps[i].json = strdup(buf);
        reps[i].bad_len = make_report(buf, sizeof buf, (unsigned long long) i + 1, bad);
        reps[i].bad_json = strdup(buf);
        snprintf(reps[i].thing, sizeof reps[i].thing, "thing-%zu", i % nthings);
    }
    char db[512];
    snprintf(db, sizeof db, "%s/bench-rules-%d.db", dir, (int) getpid());

    /* ---- ingestion baseline ---- */
    sqlite3 *sq = NULL;
    if (sqlite3_open(db, &sq) != SQLITE_OK ||
        sqlite3_exec(sq,
                     "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                     "CREATE TABLE reports(id INTEGER PRIMARY KEY, thing_id INTEGER, report_id "
                     "INTEGER, received_ms INTEGER, fmt INTEGER, flags TEXT, datapoints TEXT);"
                     "CREATE INDEX reports_thing_time ON reports(thing_id, received_ms);",
                     NULL, NULL, NULL) != SQLITE_OK)
    {
        fprintf(stderr, "sqlite setup failed\n");
        return 1;
    }
    sqlite3_stmt *ins = NULL;
    sqlite3_prepare_v2(sq,
                       "INSERT INTO reports(thing_id, report_id, received_ms, fmt, datapoints) "
                       "VALUES(?,?,?,0,?)",
                       -1, &ins, NULL);
    strbuf dj;
    sb_init(&dj, 1u << 20);
    validate_opts vo = {0, NULL, NULL};
    arena ing_arena;
    arena_init(&ing_arena, 0);
    double t_ing = now_s();
    for (size_t i = 0; i < nrep; i++)
    {
        if (i % 256 == 0)
            sqlite3_exec(sq, "BEGIN", NULL, NULL, NULL);
        arena_reset(&ing_arena);
        report_result rr;
        report_validate(&ing_arena, (const uint8_t *) reps[i].json, reps[i].len, FMT_JSON, &vo,
                        &rr);
        sb_reset(&dj);
        datapoints_to_json(rr.dps, rr.ndps, &dj);
        sqlite3_bind_int64(ins, 1, (sqlite3_int64) (i % nthings) + 1);
        sqlite3_bind_int64(ins, 2, (sqlite3_int64) i + 1);
        sqlite3_bind_int64(ins, 3, (sqlite3_int64) i);
        sqlite3_bind_text(ins, 4, sb_cstr(&dj), (int) dj.len, SQLITE_STATIC);
        sqlite3_step(ins);
        sqlite3_reset(ins);
        if (i % 256 == 255 || i + 1 == nrep)
            sqlite3_exec(sq, "COMMIT", NULL, NULL, NULL);
    }
    t_ing = now_s() - t_ing;
    arena_free(&ing_arena);
    sqlite3_finalize(ins);
    sqlite3_close(sq);
    sb_free(&dj);
    unlink(db);
    char wal[600];
    snprintf(wal, sizeof wal, "%s-wal", db);
    unlink(wal);
    snprintf(wal, sizeof wal, "%s-shm", db);
    unlink(wal);
    printf("reports: %zu over %zu things (%zu-byte JSON report)\n", nrep, nthings, reps[0].len);
    printf("ingestion (validate+derive+store): %.2f us/report, %.0f reports/s\n",
           t_ing * 1e6 / (double) nrep, (double) nrep / t_ing);

    /* ---- evaluation variants ---- */
    const char *names[3] = {"A 10 profiles x 10 behaviors, all things, conforming",
                            "B same, 1% of things violating",
                            "C 1 profile, 100 behaviors, 1000 set elements"};
    int worst_fail = 0;
    for (int variant = 0; variant < 3; variant++)
    {
        if (only >= 0 && variant != only)
            continue;
        rules_engine *e = open_engine(db);
        if (e == NULL)
            return 1;
        if (variant < 2)
        {
            for (int p = 0; p < 10; p++)
            {
                char path[64], body[8192];
                snprintf(path, sizeof path, "/security-profiles/p%d", p);
                profile_body(body, sizeof body, p);
                if (api(e, "POST", path, NULL, body) != 0)
                    return 1;
                snprintf(path, sizeof path, "/security-profiles/p%d/targets", p);
                if (api(e, "PUT", path,
                        "securityProfileTargetArn=arn:aws:iot:us-east-1:123456789012:all/things",
                        NULL) != 0)
                    return 1;
            }
        }
        else
        {
            char *b = big_profile();
            if (b == NULL || api(e, "POST", "/security-profiles/big", NULL, b) != 0)
                return 1;
            free(b);
            if (api(e, "PUT", "/security-profiles/big/targets",
                    "securityProfileTargetArn=arn:aws:iot:us-east-1:123456789012:all/things",
                    NULL) != 0)
                return 1;
        }
        /* receipt times: 300 s per round over the things, like agents every 5 minutes */
        double t = 0;
        int64_t base = 1767225600000LL;
        size_t done = 0;
        while (done < nrep)
        {
            /* derive a chunk (not timed), then time its evaluation */
            size_t n = nrep - done < CHUNK ? nrep - done : CHUNK;
            for (size_t i = 0; i < n; i++)
            {
                arena_reset(&d[i].a);
                const rep *rp = &reps[done + i];
                report_validate(&d[i].a, (const uint8_t *) (variant == 1 ? rp->bad_json : rp->json),
                                variant == 1 ? rp->bad_len : rp->len, FMT_JSON, &vo, &d[i].r);
            }
            double s = now_s();
            for (size_t i = 0; i < n; i++)
            {
                size_t k = done + i;
                g_now = base + (int64_t) (k / nthings) * 300000 + (int64_t) (k % nthings);
                rules_on_report(e, reps[k].thing, strlen(reps[k].thing), g_now, d[i].r.dps,
                                d[i].r.ndps);
            }
            t += now_s() - s;
            done += n;
        }
        double per = t * 1e6 / (double) nrep;
        double ratio = t / t_ing * 100.0;
        printf("evaluation %s: %.2f us/report, %.0f reports/s, +%.1f%% of ingestion\n",
               names[variant], per, (double) nrep / t, ratio);
        if (variant == 0 && ratio > 20.0)
            worst_fail = 1;
        rules_close(e);
        unlink(db);
        snprintf(wal, sizeof wal, "%s-wal", db);
        unlink(wal);
        snprintf(wal, sizeof wal, "%s-shm", db);
        unlink(wal);
    }
    for (size_t i = 0; i < CHUNK; i++)
        arena_free(&d[i].a);
    for (size_t i = 0; i < nrep; i++)
    {
        free(reps[i].json);
        free(reps[i].bad_json);
    }
    free(d);
    free(reps);
    printf("figure (A <= 20%% of ingestion): %s\n", worst_fail ? "NOT MET" : "met");
    return 0;
}
