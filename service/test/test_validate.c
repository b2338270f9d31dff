/* Unit tests: decoders, validator, derivation, responses (protocol sections 2-9, 11). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "golden_cases.h"
#include "itest.h"
#include "config.h"
#include "credentials.h"
#include "reply.h"
#include "report.h"
#include "strbuf.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static size_t unhex(const char *h, uint8_t *out, size_t cap)
{
    size_t n = 0;
    for (; h[0] && h[1] && n < cap; h += 2)
    {
        unsigned v;
        sscanf(h, "%2x", &v);
        out[n++] = (uint8_t) v;
    }
    return n;
}

static int run(const uint8_t *p, size_t n, report_fmt fmt, int strict, report_result *r)
{
    arena a;
    arena_init(&a, 0);
    validate_opts o = {strict, NULL, NULL};
    int ok = report_validate(&a, p, n, fmt, &o, r);
    arena_free(&a);
    return ok;
}

static void check_expect(const golden_case *g, const char *variant, int strict,
                         const report_result *r)
{
    int exp = strict ? g->strict : g->def;
    int got = r->ok ? G_OK : r->has_report_id ? G_REJ : G_REJ_NOID;
    if (exp != got)
    {
        fail_msg("case '%s' (%s, %s): expected %d got %d (reason: %s)", g->name, variant,
                 strict ? "strict" : "default", exp, got, r->reason);
    }
}

static void test_golden_all_variants(void **state)
{
    (void) state;
    for (size_t i = 0; i < GOLDEN_COUNT; i++)
    {
        const golden_case *g = &golden_cases[i];
        for (int shortk = 0; shortk < 2; shortk++)
        {
            if (shortk && (g->flags & G_LONG_ONLY))
                continue;
            char *js = shortk ? it_shorten_keys(g->json) : strdup(g->json);
            assert_non_null(js);
            for (int strict = 0; strict < 2; strict++)
            {
                report_result r;
                run((const uint8_t *) js, strlen(js), FMT_JSON, strict, &r);
                check_expect(g, shortk ? "json/short" : "json/long", strict, &r);
                if (g->flags & G_JSON_ONLY)
                    continue;
                uint8_t *cb;
                size_t cl;
                if (it_json_to_cbor(js, strlen(js), &cb, &cl) != 0)
                {
                    /* not decodable JSON (depth): build CBOR only when possible */
                    continue;
                }
                run(cb, cl, FMT_CBOR, strict, &r);
                check_expect(g, shortk ? "cbor/short" : "cbor/long", strict, &r);
                free(cb);
            }
            free(js);
        }
    }
}

static void test_trailing_nul(void **state)
{
    (void) state;
    const char js[] = "{\"header\":{\"report_id\":12,\"version\":\"1.0\"},\"metrics\":{}}";
    report_result r;
    assert_true(run((const uint8_t *) js, sizeof js, FMT_JSON, 0, &r)); /* includes NUL */
    assert_false(run((const uint8_t *) js, sizeof js, FMT_JSON, 1, &r));
    assert_false(r.has_report_id);
    /* two NULs: never */
    char two[sizeof js + 1];
    memcpy(two, js, sizeof js);
    two[sizeof js] = 0;
    assert_false(run((const uint8_t *) two, sizeof two, FMT_JSON, 0, &r));
}

static void test_cbor_vectors(void **state)
{
    (void) state;
    uint8_t b[1024];
    report_result r;
    const char *v1 = "a263686564a2637269641b000001941f297c00617663312e30636d6574a1627463a1626563a"
                     "262637381a163726164713139382e35312e3130302e373a38383833617401";
    size_t n = unhex(v1, b, sizeof b);
    assert_int_equal(n, 68);
    assert_true(run(b, n, FMT_CBOR, 1, &r));
    assert_int_equal(r.report_id, 1735689600000ull);
    const char *v2 = "a266686561646572a2697265706f72745f69641b000001941f297c006776657273696f6e63312"
                     "e30676d657472696373a0";
    n = unhex(v2, b, sizeof b);
    assert_int_equal(n, 49);
    assert_true(run(b, n, FMT_CBOR, 1, &r));
    const char *v3 = "bf66686561646572bf697265706f72745f69641b000001941f297c006776657273696f6e7f61"
                     "31622e30ffff676d657472696373bfffff";
    n = unhex(v3, b, sizeof b);
    assert_int_equal(n, 55);
    assert_true(run(b, n, FMT_CBOR, 1, &r));
    assert_int_equal(r.report_id, 1735689600000ull);
    const char *v4 = "a363686564a2637269641b000001941f297c00617663312e30636d6574a46274"
                     "70a26370747382a2626966646574683062707416a26269666465746830627074"
                     "1922b3617402627570a26370747381a262696664657468306270741914e96174"
                     "01626e73a46262691b000000012a05f20062626f1a00013d52627069190d4a62"
                     "706f1904ba627463a1626563a262637382a3626c696465746830626c7019c29e"
                     "63726164713139382e35312e3130302e373a38383833a3626c6965776c616e30"
                     "626c701663726164745b323030313a6462383a3a31375d3a3530313232617403"
                     "64636d6574a468727373695f64626d81a1666e756d6265723842686370755f6c"
                     "6f616481a16b6e756d6265725f6c697374830cfb401e000000000000036a7461"
                     "736b5f6e616d657381a16b737472696e675f6c69737482636e6574686170702f"
                     "6d61696e6b646e735f7365727665727381a16769705f6c697374826a3139322e"
                     "302e322e35336c323030313a6462383a3a3533";
    n = unhex(v4, b, sizeof b);
    assert_int_equal(n, 371);
    assert_true(run(b, n, FMT_CBOR, 1, &r));
    /* V2 variants: truncated, trailing byte, self-describe tag, other tag */
    n = unhex(v2, b, sizeof b);
    assert_false(run(b, n - 1, FMT_CBOR, 0, &r));
    assert_false(r.has_report_id);
    b[n] = 0x00;
    assert_false(run(b, n + 1, FMT_CBOR, 0, &r));
    uint8_t t[64] = {0xd9, 0xd9, 0xf7};
    memcpy(t + 3, b, n);
    assert_true(run(t, n + 3, FMT_CBOR, 0, &r));
    t[0] = 0xc1; /* tag 1 */
    memmove(t + 1, t + 3, n);
    assert_false(run(t, n + 1, FMT_CBOR, 0, &r));
    /* tag 55799 with an argument longer than necessary (section 4 accepts both) */
    static const uint8_t tag4[] = {0xda, 0x00, 0x00, 0xd9, 0xf7};
    static const uint8_t tag8[] = {0xdb, 0, 0, 0, 0, 0, 0, 0xd9, 0xf7};
    memcpy(t, tag4, sizeof tag4);
    memcpy(t + sizeof tag4, b, n);
    assert_true(run(t, n + sizeof tag4, FMT_CBOR, 1, &r));
    assert_int_equal(r.report_id, 1735689600000ull);
    memcpy(t, tag8, sizeof tag8);
    memcpy(t + sizeof tag8, b, n);
    assert_true(run(t, n + sizeof tag8, FMT_CBOR, 1, &r));
    /* ... but still only one tag, only 55799, only around a map */
    t[8] = 0xf8; /* tag 55800 */
    assert_false(run(t, n + sizeof tag8, FMT_CBOR, 0, &r));
    assert_false(r.has_report_id);
    memcpy(t, tag4, sizeof tag4);
    memcpy(t + sizeof tag4, tag4, sizeof tag4);
    memcpy(t + 2 * sizeof tag4, b, n);
    assert_false(run(t, n + 2 * sizeof tag4, FMT_CBOR, 0, &r));
    memcpy(t, tag4, sizeof tag4);
    t[sizeof tag4] = 0x80; /* empty array */
    assert_false(run(t, sizeof tag4 + 1, FMT_CBOR, 0, &r));
    assert_false(run(t, 3, FMT_CBOR, 0, &r)); /* truncated tag argument */
    t[0] = 0xdf;                              /* indefinite tag: not well-formed */
    memcpy(t + 1, b, n);
    assert_false(run(t, n + 1, FMT_CBOR, 0, &r));
}

static void test_cbor_edge(void **state)
{
    (void) state;
    report_result r;
    uint8_t b[256];
    /* {"hed":{"rid":12,"v":"1.0"},"met":{"tp":{"pts":[{"pt":f16 22.0}]}}} */
    size_t n = unhex("a263686564a263726964"
                     "0c"
                     "617663312e30"
                     "636d6574a1627470a163707473"
                     "81a16270"
                     "74"
                     "f94d80",
                     b, sizeof b);
    assert_true(run(b, n, FMT_CBOR, 0, &r));
    assert_false(run(b, n, FMT_CBOR, 1, &r));
    assert_true(r.has_report_id);
    /* non-shortest argument for rid (0x18 0x0c) */
    n = unhex("a263686564a263726964180c617663312e30636d6574a0", b, sizeof b);
    assert_true(run(b, n, FMT_CBOR, 1, &r));
    /* byte string as version: schema error with id */
    n = unhex("a263686564a263726964"
              "0c"
              "6176"
              "43312e30"
              "636d6574a0",
              b, sizeof b);
    assert_false(run(b, n, FMT_CBOR, 0, &r));
    assert_true(r.has_report_id);
    /* non-text key */
    n = unhex("a2"
              "01"
              "00"
              "636d6574a0",
              b, sizeof b);
    assert_false(run(b, n, FMT_CBOR, 0, &r));
    /* invalid UTF-8 text */
    n = unhex("a263686564a263726964"
              "0c"
              "6176"
              "63ff2e30"
              "636d6574a0",
              b, sizeof b);
    assert_false(run(b, n, FMT_CBOR, 0, &r));
    assert_false(r.has_report_id);
    /* misplaced break, top-level array, huge definite length */
    n = unhex("a2ff", b, sizeof b);
    assert_false(run(b, n, FMT_CBOR, 0, &r));
    n = unhex("80", b, sizeof b);
    assert_false(run(b, n, FMT_CBOR, 0, &r));
    n = unhex("bb7fffffffffffffff", b, sizeof b);
    assert_false(run(b, n, FMT_CBOR, 0, &r));
    n = unhex("a17bffffffffffffffff", b, sizeof b);
    assert_false(run(b, n, FMT_CBOR, 0, &r));
    /* empty input */
    assert_false(run(b, 0, FMT_CBOR, 0, &r));
    assert_false(run(b, 0, FMT_JSON, 0, &r));
    /* deep nesting: 10000 nested arrays must fail without recursion trouble */
    size_t deep = 10000;
    uint8_t *d = malloc(deep + 16);
    assert_non_null(d);
    d[0] = 0xa1;
    d[1] = 0x61;
    d[2] = 'x';
    memset(d + 3, 0x81, deep);
    d[3 + deep] = 0x00;
    assert_false(run(d, deep + 4, FMT_CBOR, 0, &r));
    free(d);
    char *j = malloc(2 * deep + 64);
    assert_non_null(j);
    strcpy(j, "{\"a\":");
    memset(j + 5, '[', deep);
    j[5 + deep] = 0;
    assert_false(run((const uint8_t *) j, strlen(j), FMT_JSON, 0, &r));
    free(j);
}

static void test_cbor_memory_bound(void **state)
{
    (void) state;
    /* {"a": [ "" x 60000 as indefinite strings ]}: memory must stay proportional */
    size_t n = 60000;
    uint8_t *b = malloc(2 * n + 16);
    assert_non_null(b);
    size_t o = 0;
    b[o++] = 0xa1;
    b[o++] = 0x61;
    b[o++] = 'a';
    b[o++] = 0x9f;
    for (size_t i = 0; i < n; i++)
    {
        b[o++] = 0x7f;
        b[o++] = 0xff;
    }
    b[o++] = 0xff;
    arena a;
    arena_init(&a, 0);
    dom_error err;
    dnode *root = cbor_decode(&a, b, o, &err);
    assert_non_null(root);
    assert_true(a.total < 16u * 1024u * 1024u);
    arena_free(&a);
    free(b);
}

static void test_big_lists(void **state)
{
    (void) state;
    /* 10,000 listening ports, all valid: accepted; derived count = total */
    size_t cap = 10000 * 40 + 256;
    char *js = malloc(cap);
    assert_non_null(js);
    size_t o = (size_t) sprintf(js, "{\"header\":{\"report_id\":1,\"version\":\"1.0\"},\"metrics\":"
                                    "{\"listening_tcp_ports\":{\"ports\":[");
    for (int i = 0; i < 10000; i++)
        o += (size_t) sprintf(js + o, "%s{\"port\":%d}", i ? "," : "", (i % 65535) + 1);
    o += (size_t) sprintf(js + o, "],\"total\":10000}}}");
    arena a;
    arena_init(&a, 0);
    validate_opts vo = {1, NULL, NULL};
    report_result r;
    assert_true(report_validate(&a, (const uint8_t *) js, o, FMT_JSON, &vo, &r));
    assert_int_equal(r.ndps, 2);
    assert_int_equal(r.dps[0].count, 10000);
    assert_int_equal(r.dps[1].n, 10000);
    arena_free(&a);
    /* 10,000 custom metrics with exact-duplicate detection (sorted path) */
    o = (size_t) sprintf(js,
                         "{\"header\":{\"report_id\":1,\"version\":\"1.0\"},\"custom_metrics\":{");
    for (int i = 0; i < 10000; i++)
        o += (size_t) sprintf(js + o, "%s\"m%d\":[{\"number\":%d}]", i ? "," : "", i % 9999, i);
    o += (size_t) sprintf(js + o, "}}");
    arena_init(&a, 0);
    assert_false(report_validate(&a, (const uint8_t *) js, o, FMT_JSON, &vo, &r));
    assert_true(r.has_report_id);
    assert_non_null(strstr(r.reason, "duplicate"));
    arena_free(&a);
    free(js);
}

static void test_derivation(void **state)
{
    (void) state;
    const golden_case *g = NULL;
    for (size_t i = 0; i < GOLDEN_COUNT; i++)
        if (strcmp(golden_cases[i].name, "full report 11.1") == 0)
            g = &golden_cases[i];
    assert_non_null(g);
    arena a;
    arena_init(&a, 0);
    validate_opts vo = {0, NULL, NULL};
    report_result r;
    assert_true(report_validate(&a, (const uint8_t *) g->json, strlen(g->json), FMT_JSON, &vo, &r));
    strbuf sb;
    sb_init(&sb, 0);
    assert_true(datapoints_to_json(r.dps, r.ndps, &sb));
    assert_string_equal(
        sb.data,
        "{\"aws:num-listening-tcp-ports\":{\"count\":2},\"aws:listening-tcp-ports\":{\"ports\":[22,"
        "8883]},\"aws:num-listening-udp-ports\":{\"count\":1},\"aws:listening-udp-ports\":{"
        "\"ports\":[5353]},\"aws:all-bytes-in\":{\"count\":5000000000},\"aws:all-bytes-out\":{"
        "\"count\":81234},\"aws:all-packets-in\":{\"count\":3402},\"aws:all-packets-out\":{"
        "\"count\":1210},\"aws:num-established-tcp-connections\":{\"count\":3},\"aws:destination-"
        "ip-addresses\":{\"cidrs\":[\"198.51.100.7\",\"2001:db8::17\"]},\"rssi_dbm\":{\"number\":-"
        "67},\"cpu_load\":{\"numbers\":[12,7.5,3]},\"task_names\":{\"strings\":[\"net\",\"app/"
        "main\"]},\"dns_servers\":{\"cidrs\":[\"192.0.2.53\",\"2001:db8::53\"]}}");
    sb_free(&sb);
    arena_free(&a);
    /* nonconforming value: dropped and flagged, report accepted */
    const char *nc =
        "{\"hed\":{\"rid\":5,\"v\":\"1.0\"},\"cmet\":{\"m\":[{\"string_list\":[\"a b\"]}],"
        "\"k\":[{\"number\":1}]}}";
    arena_init(&a, 0);
    assert_true(report_validate(&a, (const uint8_t *) nc, strlen(nc), FMT_JSON, &vo, &r));
    assert_int_equal(r.nflags, 1);
    assert_int_equal(r.ndps, 1);
    assert_non_null(strstr(r.flags, "m:nonconforming"));
    arena_free(&a);
}

/* Port and address lists are sets in the datapoints (section 9): duplicates removed, first
 * occurrence order kept, counts from the lists as sent (PD-20); also at 10,000 entries. */
static void test_derivation_sets(void **state)
{
    (void) state;
    const char *js =
        "{\"header\":{\"report_id\":1,\"version\":\"1.0\"},\"metrics\":{"
        "\"listening_tcp_ports\":{\"ports\":[{\"port\":443},{\"port\":80},{\"port\":443},"
        "{\"port\":22},{\"port\":80}]},"
        "\"listening_udp_ports\":{\"ports\":[{\"port\":53},{\"port\":53}],\"total\":2},"
        "\"tcp_connections\":{\"established_connections\":{\"connections\":["
        "{\"remote_addr\":\"198.51.100.7:443\"},{\"remote_addr\":\"198.51.100.7:80\"},"
        "{\"remote_addr\":\"[2001:db8::17]:443\"},{\"remote_addr\":\"[2001:db8:0::17]:8443\"},"
        "{\"remote_addr\":\"10.0.0.1:22\"}]}}}}";
    arena a;
    arena_init(&a, 0);
    validate_opts vo = {0, NULL, NULL};
    report_result r;
    assert_true(report_validate(&a, (const uint8_t *) js, strlen(js), FMT_JSON, &vo, &r));
    strbuf sb;
    sb_init(&sb, 0);
    assert_true(datapoints_to_json(r.dps, r.ndps, &sb));
    assert_string_equal(
        sb.data, "{\"aws:num-listening-tcp-ports\":{\"count\":5},\"aws:listening-tcp-ports\":{"
                 "\"ports\":[443,80,22]},\"aws:num-listening-udp-ports\":{\"count\":2},\"aws:"
                 "listening-udp-ports\":{\"ports\":[53]},\"aws:num-established-tcp-connections\":{"
                 "\"count\":5},\"aws:destination-ip-addresses\":{\"cidrs\":[\"198.51.100.7\","
                 "\"2001:db8::17\",\"10.0.0.1\"]}}");
    sb_free(&sb);
    arena_free(&a);

    /* 10,000 ports and 4,000 addresses, each list sent twice over */
    strbuf big;
    sb_init(&big, 0);
    assert_true(sb_puts(&big, "{\"header\":{\"report_id\":2,\"version\":\"1.0\"},\"metrics\":{"
                              "\"listening_tcp_ports\":{\"ports\":["));
    for (int i = 0; i < 20000; i++)
        assert_true(sb_printf(&big, "%s{\"port\":%d}", i ? "," : "", 1 + (i * 7) % 10000));
    assert_true(sb_puts(&big, "]},\"tcp_connections\":{\"established_connections\":{"
                              "\"connections\":["));
    for (int i = 0; i < 8000; i++)
        assert_true(sb_printf(&big, "%s{\"remote_addr\":\"10.%d.%d.1:%d\"}", i ? "," : "",
                              (i % 4000) / 250, (i % 4000) % 250, 1000 + i));
    assert_true(sb_puts(&big, "]}}}}"));
    arena_init(&a, 0);
    assert_true(report_validate(&a, (const uint8_t *) big.data, big.len, FMT_JSON, &vo, &r));
    const detect_datapoint *ports = NULL, *addrs = NULL;
    for (size_t i = 0; i < r.ndps; i++)
    {
        const detect_datapoint *d = &r.dps[i];
        if (d->metric_len == 23 && memcmp(d->metric, "aws:listening-tcp-ports", 23) == 0)
            ports = d;
        if (d->metric_len == 28 && memcmp(d->metric, "aws:destination-ip-addresses", 28) == 0)
            addrs = d;
    }
    assert_non_null(ports);
    assert_non_null(addrs);
    assert_int_equal(ports->n, 10000);
    for (uint32_t i = 0; i < ports->n; i++)
        assert_int_equal(ports->ports[i], 1 + (i * 7) % 10000);
    assert_int_equal(addrs->n, 4000);
    for (uint32_t i = 0; i < addrs->n; i++)
    {
        char want[32];
        snprintf(want, sizeof want, "10.%u.%u.1", i / 250, i % 250);
        assert_int_equal(addrs->strings[i].len, strlen(want));
        assert_memory_equal(addrs->strings[i].s, want, strlen(want));
    }
    arena_free(&a);
    sb_free(&big);
}

/* Section 8: the first failing step decides (the service counts rejections per step).
 * Step 4 covers duplicate keys anywhere, both spellings counting as one key (PD-6), and in
 * strict mode one key style across the whole document: such a report fails there, before
 * a header or metrics error later in the document is looked at. */
static void test_step_order(void **state)
{
    (void) state;
    static const struct
    {
        const char *json;
        int strict;
        int step;
        int has_id;
    } cases[] = {
        /* report_id and rid in one header: a duplicate key, not a header error */
        {"{\"header\":{\"report_id\":12,\"rid\":12,\"version\":\"1.0\"},\"metrics\":{}}", 0,
         VSTEP_ROOT, 0},
        /* port and pt in one entry, behind an invalid version */
        {"{\"header\":{\"report_id\":12,\"version\":\"x\"},\"metrics\":{\"tp\":{\"ports\":[{"
         "\"port\":1,\"pt\":1}]}}}",
         0, VSTEP_ROOT, 1},
        /* remote_addr and rad in one connection, behind a bad port */
        {"{\"header\":{\"report_id\":12,\"version\":\"1.0\"},\"metrics\":{\"tp\":{\"ports\":[{"
         "\"port\":0}]},\"tc\":{\"ec\":{\"cs\":[{\"remote_addr\":\"192.0.2.1:1\",\"rad\":"
         "\"192.0.2.1:1\"}]}}}}",
         0, VSTEP_ROOT, 1},
        /* the same documents are accepted / fail later without the duplicate */
        {"{\"header\":{\"report_id\":12,\"version\":\"x\"},\"metrics\":{\"tp\":{\"ports\":[{"
         "\"pt\":1}]}}}",
         0, VSTEP_HEADER, 1},
        /* strict: a short key in the header of a long-key document */
        {"{\"header\":{\"rid\":12,\"version\":\"1.0\"},\"metrics\":{}}", 1, VSTEP_ROOT, 1},
        /* strict: a short key deep in metrics, behind an invalid version */
        {"{\"header\":{\"report_id\":12,\"version\":\"1.1\"},\"metrics\":{\"tcp_connections\":"
         "{\"established_connections\":{\"t\":0}}}}",
         1, VSTEP_ROOT, 1},
        /* strict: a long key in a short-key port entry, behind a bad port */
        {"{\"hed\":{\"rid\":12,\"v\":\"1.0\"},\"met\":{\"up\":{\"pts\":[{\"pt\":0},{\"pt\":1,"
         "\"interface\":\"e\"}]}}}",
         1, VSTEP_ROOT, 1},
        /* default mode: mixing is fine, so the later errors decide */
        {"{\"header\":{\"report_id\":12,\"version\":\"x\"},\"metrics\":{\"tcp_connections\":"
         "{\"established_connections\":{\"t\":0}}}}",
         0, VSTEP_HEADER, 1},
        {"{\"hed\":{\"rid\":12,\"v\":\"1.0\"},\"met\":{\"up\":{\"pts\":[{\"pt\":0},{\"pt\":1,"
         "\"interface\":\"e\"}]}}}",
         0, VSTEP_METRICS, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
        report_result r;
        assert_false(run((const uint8_t *) cases[i].json, strlen(cases[i].json), FMT_JSON,
                         cases[i].strict, &r));
        if (r.step != cases[i].step || r.has_report_id != cases[i].has_id)
            fail_msg("case %zu: step %d (want %d), has_id %d (want %d): %s", i, r.step,
                     cases[i].step, r.has_report_id, cases[i].has_id, r.reason);
    }
}

/* PD-20 counts and sets for blocks without lists, and PD-9's port-less entries (default
 * mode): count from total, else list length, else 0; a set only from a present list or
 * from total 0; port-less entries count but add nothing to the set. */
static void test_derivation_partial_blocks(void **state)
{
    (void) state;
    static const struct
    {
        const char *metrics;
        const char *dps;
    } cases[] = {
        {"{\"listening_tcp_ports\":{\"total\":0}}",
         "{\"aws:num-listening-tcp-ports\":{\"count\":0},\"aws:listening-tcp-ports\":{\"ports\":"
         "[]}}"},
        {"{\"listening_tcp_ports\":{\"total\":3}}",
         "{\"aws:num-listening-tcp-ports\":{\"count\":3}}"},
        {"{\"listening_udp_ports\":{}}", "{\"aws:num-listening-udp-ports\":{\"count\":0}}"},
        {"{\"listening_udp_ports\":{\"ports\":[]}}",
         "{\"aws:num-listening-udp-ports\":{\"count\":0},\"aws:listening-udp-ports\":{\"ports\":"
         "[]}}"},
        {"{\"listening_tcp_ports\":{\"ports\":[{\"interface\":\"eth0\"},{\"port\":22}]}}",
         "{\"aws:num-listening-tcp-ports\":{\"count\":2},\"aws:listening-tcp-ports\":{\"ports\":"
         "[22]}}"},
        {"{\"tcp_connections\":{}}", "{}"},
        {"{\"tcp_connections\":{\"established_connections\":{}}}",
         "{\"aws:num-established-tcp-connections\":{\"count\":0}}"},
        {"{\"tcp_connections\":{\"established_connections\":{\"total\":0}}}",
         "{\"aws:num-established-tcp-connections\":{\"count\":0},\"aws:destination-ip-"
         "addresses\":{\"cidrs\":[]}}"},
        {"{\"tcp_connections\":{\"established_connections\":{\"total\":7}}}",
         "{\"aws:num-established-tcp-connections\":{\"count\":7}}"},
        {"{\"network_stats\":{\"bytes_out\":0}}", "{\"aws:all-bytes-out\":{\"count\":0}}"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
        char js[512];
        snprintf(js, sizeof js, "{\"header\":{\"report_id\":1,\"version\":\"1.0\"},\"metrics\":%s}",
                 cases[i].metrics);
        arena a;
        arena_init(&a, 0);
        validate_opts vo = {0, NULL, NULL};
        report_result r;
        assert_true(report_validate(&a, (const uint8_t *) js, strlen(js), FMT_JSON, &vo, &r));
        strbuf sb;
        sb_init(&sb, 0);
        assert_true(datapoints_to_json(r.dps, r.ndps, &sb));
        if (strcmp(sb.data, cases[i].dps) != 0)
            fail_msg("%s: got %s, want %s", cases[i].metrics, sb.data, cases[i].dps);
        sb_free(&sb);
        arena_free(&a);
    }
}

static cm_type fake_defs(void *ctx, const char *name, size_t len)
{
    (void) ctx;
    if (len == 1 && name[0] == 'k')
        return CM_STRING_LIST;
    return CM_NONE;
}

static void test_type_mismatch(void **state)
{
    (void) state;
    const char *js = "{\"hed\":{\"rid\":5,\"v\":\"1.0\"},\"cmet\":{\"k\":[{\"number\":1}],"
                     "\"u\":[{\"number\":2}]}}";
    arena a;
    arena_init(&a, 0);
    validate_opts vo = {0, fake_defs, NULL};
    report_result r;
    assert_true(report_validate(&a, (const uint8_t *) js, strlen(js), FMT_JSON, &vo, &r));
    assert_int_equal(r.nflags, 1);
    assert_non_null(strstr(r.flags, "k:type-mismatch"));
    assert_int_equal(r.ndps, 1);
    assert_int_equal(r.dps[0].metric[0], 'u');
    arena_free(&a);
}

static void test_responses(void **state)
{
    (void) state;
    uint8_t out[REPLY_MAX];
    size_t n = reply_encode(out, sizeof out, FMT_JSON, "sensor-42", 9, 1, 1735689600000ull,
                            REPLY_ACCEPTED, 1735689600412ull);
    const char *r1 = "{\"thingName\":\"sensor-42\",\"reportId\":1735689600000,\"status\":"
                     "\"ACCEPTED\",\"timestamp\":1735689600412}";
    assert_int_equal(n, 96);
    assert_memory_equal(out, r1, n);
    n = reply_encode(out, sizeof out, FMT_JSON, "sensor-42", 9, 1, 1735689600000ull, REPLY_INVALID,
                     1735689600415ull);
    const char *r2 = "{\"thingName\":\"sensor-42\",\"reportId\":1735689600000,\"status\":"
                     "\"REJECTED\",\"statusDetails\":{\"ErrorCode\":\"InvalidPayload\","
                     "\"ErrorMessage\":\"Malformed metrics report\"},\"timestamp\":1735689600415}";
    assert_int_equal(n, 185);
    assert_memory_equal(out, r2, n);
    n = reply_encode(out, sizeof out, FMT_JSON, "sensor-42", 9, 0, 0, REPLY_INVALID,
                     1735689600415ull);
    const char *r3 = "{\"thingName\":\"sensor-42\",\"status\":\"REJECTED\",\"statusDetails\":{"
                     "\"ErrorCode\":\"InvalidPayload\",\"ErrorMessage\":\"Malformed metrics "
                     "report\"},\"timestamp\":1735689600415}";
    assert_int_equal(n, 160);
    assert_memory_equal(out, r3, n);
    n = reply_encode(out, sizeof out, FMT_JSON, "sensor-42", 9, 1, 1735689600000ull,
                     REPLY_THROTTLED, 1735689600415ull);
    const char *r4 = "{\"thingName\":\"sensor-42\",\"reportId\":1735689600000,\"status\":"
                     "\"REJECTED\",\"statusDetails\":{\"ErrorCode\":\"Throttled\",\"ErrorMessage\":"
                     "\"Metrics report rate exceeded\"},\"timestamp\":1735689600415}";
    assert_int_equal(n, 184);
    assert_memory_equal(out, r4, n);
    uint8_t exp[256];
    size_t el;
    el = unhex("a4697468696e674e616d656973656e736f722d3432687265706f727449641b000001941f297c0066737"
               "4617475736841434345505445446974696d657374616d701b000001941f297d9c",
               exp, sizeof exp);
    n = reply_encode(out, sizeof out, FMT_CBOR, "sensor-42", 9, 1, 1735689600000ull, REPLY_ACCEPTED,
                     1735689600412ull);
    assert_int_equal(n, 74);
    assert_memory_equal(out, exp, el);
    el = unhex("a5697468696e674e616d656973656e736f722d3432687265706f727449641b000001941f297c0066737"
               "4617475736852454a45435445446d73746174757344657461696c73a2694572726f72436f6465695468"
               "726f74746c65646c4572726f724d657373616765781c4d657472696373207265706f72742072617465"
               "2065786365656465646974696d657374616d701b000001941f297d9f",
               exp, sizeof exp);
    n = reply_encode(out, sizeof out, FMT_CBOR, "sensor-42", 9, 1, 1735689600000ull,
                     REPLY_THROTTLED, 1735689600415ull);
    assert_int_equal(n, 152);
    assert_memory_equal(out, exp, el);
    el = unhex("a4697468696e674e616d656973656e736f722d3432667374617475736852454a45435445446d737461"
               "74757344657461696c73a2694572726f72436f64656e496e76616c69645061796c6f61646c4572726f"
               "724d65737361676578184d616c666f726d6564206d657472696373207265706f72746974696d657374"
               "616d701b000001941f297d9f",
               exp, sizeof exp);
    n = reply_encode(out, sizeof out, FMT_CBOR, "sensor-42", 9, 0, 0, REPLY_INVALID,
                     1735689600415ull);
    assert_int_equal(n, 135);
    assert_memory_equal(out, exp, el);
    /* a thing name PD-2 allows may hold '"' and '\\': escaped, so the response stays JSON */
    n = reply_encode(out, sizeof out, FMT_JSON, "a\"b\\c\xc3\xa9", 7, 0, 0, REPLY_ACCEPTED, 5);
    const char *esc = "{\"thingName\":\"a\\\"b\\\\c\xc3\xa9\",\"status\":\"ACCEPTED\","
                      "\"timestamp\":5}";
    assert_int_equal(n, strlen(esc));
    assert_memory_equal(out, esc, n);
    /* the longest response (PD-15: at most 512 bytes): 128 bytes of name that each need
     * escaping, the largest report id, Throttled */
    char quotes[128];
    memset(quotes, '"', sizeof quotes);
    n = reply_encode(out, sizeof out, FMT_JSON, quotes, sizeof quotes, 1, 9223372036854775807ull,
                     REPLY_THROTTLED, 1735689600415ull);
    assert_true(n > 0 && n <= 512);
    /* longest thing name fits the 512-byte bound */
    char name[129];
    memset(name, 'x', 128);
    n = reply_encode(out, sizeof out, FMT_JSON, name, 128, 1, 9223372036854775807ull,
                     REPLY_THROTTLED, 1735689600415ull);
    assert_true(n > 0 && n <= 512);
    char topic[256];
    assert_true(reply_topic(topic, sizeof topic, name, 128, FMT_CBOR, 0));
    assert_int_equal(strlen(topic), 171);
}

static void test_topics_and_names(void **state)
{
    (void) state;
    const char *nm;
    size_t nl;
    report_fmt f;
    assert_true(parse_report_topic("$aws/things/sensor-42/defender/metrics/json", &nm, &nl, &f));
    assert_int_equal(nl, 9);
    assert_int_equal(f, FMT_JSON);
    assert_true(parse_report_topic("$aws/things/a/defender/metrics/cbor", &nm, &nl, &f));
    assert_int_equal(f, FMT_CBOR);
    assert_false(parse_report_topic("$aws/things/a/defender/metrics/JSON", &nm, &nl, &f));
    assert_false(parse_report_topic("$aws/things/a/defender/metrics/json/accepted", &nm, &nl, &f));
    assert_false(parse_report_topic("$aws/things//defender/metrics/json", &nm, &nl, &f) &&
                 thing_name_valid(nm, nl, 0));
    char n128[129], n129[130];
    memset(n128, 'a', 128);
    memset(n129, 'a', 129);
    assert_true(thing_name_valid(n128, 128, 1));
    assert_false(thing_name_valid(n129, 129, 0));
    assert_true(thing_name_valid("caf\xc3\xa9", 5, 0));
    assert_false(thing_name_valid("caf\xc3\xa9", 5, 1));
    assert_false(thing_name_valid("a\x01", 2, 0));
    assert_false(thing_name_valid("a\x7f", 2, 0));
    assert_false(thing_name_valid("a+b", 3, 0));
    assert_false(thing_name_valid("\xff", 1, 0));
    assert_true(thing_name_valid("a.b c", 5, 0));
    assert_false(thing_name_valid("a.b", 3, 1));
}

static void test_number_conformance(void **state)
{
    (void) state;
    assert_true(custom_number_conforms(-67));
    assert_true(custom_number_conforms(7.5));
    assert_true(custom_number_conforms(123456789012345.0));
    assert_false(custom_number_conforms(1234567890123456.7));
    assert_false(custom_number_conforms(0.1 + 0.2));
    assert_true(custom_number_conforms(0.3));
}

static void test_config(void **state)
{
    (void) state;
    char path[] = "/tmp/detect-config-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    assert_non_null(f);
    fprintf(f, "# comment\nbroker = mqtt.example:8883\nstrict = true\nthrottle-seconds 60\n"
               "http = [::1]:9000\nretention-days=7\n");
    fclose(f);
    detect_config c;
    config_defaults(&c);
    char err[256];
    char a0[] = "--config", a2[] = "--throttle-seconds", a3[] = "0", a4[] = "--duplicate-reply";
    char *argv[] = {a0, path, a2, a3, a4};
    assert_int_equal(config_parse_args(&c, 5, argv, err, sizeof err), 0);
    assert_string_equal(c.broker_host, "mqtt.example");
    assert_int_equal(c.broker_port, 8883);
    assert_int_equal(c.strict, 1);
    assert_int_equal(c.throttle_seconds, 0); /* command line overrides the file */
    assert_int_equal(c.duplicate_reply, 1);
    assert_string_equal(c.http_addr, "::1");
    assert_int_equal(c.http_port, 9000);
    assert_int_equal(c.retention_days, 7);
    f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "no-such-option = 1\n");
    fclose(f);
    config_defaults(&c);
    assert_int_equal(config_parse_args(&c, 2, argv, err, sizeof err), -1);
    assert_non_null(strstr(err, "no-such-option"));
    char b0[] = "--throttle-tolerance", b1[] = "51";
    char *bad[] = {b0, b1};
    config_defaults(&c);
    assert_int_equal(config_parse_args(&c, 2, bad, err, sizeof err), -1);
    char h0[] = "--help";
    char *help[] = {h0};
    assert_int_equal(config_parse_args(&c, 1, help, err, sizeof err), 1);
    /* --help and --version answer even after an option the parser would refuse */
    char v0[] = "--version";
    char *version[] = {b0, b1, v0};
    config_defaults(&c);
    assert_int_equal(config_parse_args(&c, 3, version, err, sizeof err), 2);
    /* "key =" in a file is the empty value (alert-topic: no MQTT alerts); "key" alone a flag;
     * a value may contain '=' */
    f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "alert-topic =\ndirect-members-only\npassword = a=b\nclient-id=\nstrict =\n");
    fclose(f);
    config_defaults(&c);
    assert_int_equal(config_parse_args(&c, 2, argv, err, sizeof err), 0);
    assert_string_equal(c.alert_topic, "");
    assert_int_equal(c.direct_members_only, 1);
    assert_string_equal(c.password, "a=b");
    assert_string_equal(c.client_id, "");
    assert_int_equal(c.strict, 1); /* "strict =": set, as "strict" alone */
    /* a value that looks like an option is the option's value */
    char p0[] = "--password", p1[] = "--version";
    char *pw[] = {p0, p1};
    /* a bare IPv6 address is a host without a port; brackets give a port */
    char o0[] = "--broker", o1[] = "::1", o2[] = "--http", o3[] = "fd00::5";
    char *v6[] = {o0, o1, o2, o3};
    config_defaults(&c);
    assert_int_equal(config_parse_args(&c, 4, v6, err, sizeof err), 0);
    assert_string_equal(c.broker_host, "::1");
    assert_int_equal(c.broker_port, 0);
    assert_string_equal(c.http_addr, "fd00::5");
    assert_int_equal(c.http_port, 8080);
    char b6[] = "[::1]:8883";
    v6[1] = b6;
    config_defaults(&c);
    assert_int_equal(config_parse_args(&c, 2, v6, err, sizeof err), 0);
    assert_string_equal(c.broker_host, "::1");
    assert_int_equal(c.broker_port, 8883);
    config_defaults(&c);
    assert_int_equal(config_parse_args(&c, 2, pw, err, sizeof err), 0);
    assert_string_equal(c.password, "--version");
    f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "retention-days =\n");
    fclose(f);
    config_defaults(&c);
    assert_int_equal(config_parse_args(&c, 2, argv, err, sizeof err), -1);
    assert_non_null(strstr(err, "retention-days"));
    remove(path);
}

/* json_decode of one document; the root, or NULL with *err filled. */
static dnode *jdec(arena *a, const char *js, dom_error *err)
{
    return json_decode(a, (const uint8_t *) js, strlen(js), 0, err);
}

/* The strict JSON decoder (device reports): escapes decode to the right UTF-8, numbers keep
 * their exact integer value, and each malformation is refused with its own message. */
static void test_json_decoder(void **state)
{
    (void) state;
    arena a;
    arena_init(&a, 0);
    dom_error e;
    dnode *n = jdec(&a,
                    "{\"s\":\"a\\\"\\\\\\/\\b\\f\\n\\r\\t\\u0041\\u00e9\\u00C9\\u20ac"
                    "\\ud83d\\ude00z\",\"k\\u0065y\":1}",
                    &e);
    assert_non_null(n);
    assert_int_equal(n->count, 2);
    static const char want[] = "a\"\\/\b\f\n\r\tA\xc3\xa9\xc3\x89\xe2\x82\xac\xf0\x9f\x98\x80z";
    const dnode *s = n->child;
    assert_int_equal(s->type, DN_STRING);
    assert_int_equal(s->len, sizeof want - 1);
    assert_memory_equal(s->str, want, sizeof want - 1);
    assert_true(dn_key_is(s->next, "key")); /* escaped keys are decoded too */
    /* numbers */
    n = jdec(&a,
             "{\"a\":-0,\"b\":18446744073709551615,\"c\":18446744073709551616,\"d\":1.5e3,"
             "\"e\":-1E-2,\"f\":0.25,\"g\":-9223372036854775808}",
             &e);
    assert_non_null(n);
    const dnode *v = n->child;
    assert_int_equal(v->type, DN_INT);
    assert_int_equal(v->neg, 0); /* -0 is 0 */
    v = v->next;
    assert_int_equal(v->type, DN_INT);
    assert_int_equal(v->big, 0);
    assert_true(v->mag == UINT64_MAX);
    v = v->next;
    assert_int_equal(v->type, DN_INT);
    assert_int_equal(v->big, 1);
    v = v->next;
    assert_int_equal(v->type, DN_FLOAT);
    assert_true(v->d == 1500.0);
    v = v->next;
    assert_int_equal(v->type, DN_FLOAT);
    assert_true(v->d == -0.01);
    v = v->next;
    assert_true(v->type == DN_FLOAT && v->d == 0.25);
    v = v->next;
    assert_true(v->type == DN_INT && v->neg && v->mag == 9223372036854775808ull);
    /* a fraction or exponent: whether the exact value of the text is whole, and its
     * magnitude (PD-4), however far the nearest double is */
    n = jdec(&a,
             "{\"a\":100000000000000000000e-2,\"b\":22.0000000000000001,\"c\":1e-400,"
             "\"d\":-25e-1,\"e\":-0.0,\"f\":1e20,\"g\":12.5e1}",
             &e);
    assert_non_null(n);
    v = n->child;
    assert_true(v->type == DN_FLOAT && v->whole && !v->big && v->mag == 1000000000000000000ull);
    v = v->next;
    assert_true(v->type == DN_FLOAT && v->d == 22.0 && !v->whole);
    v = v->next;
    assert_true(v->type == DN_FLOAT && v->d == 0.0 && !v->whole);
    v = v->next;
    assert_true(v->type == DN_FLOAT && !v->whole);
    v = v->next;
    assert_true(v->type == DN_FLOAT && v->whole && v->mag == 0);
    v = v->next;
    assert_true(v->type == DN_FLOAT && v->whole && v->big);
    v = v->next;
    assert_true(v->type == DN_FLOAT && v->whole && !v->neg && v->mag == 125);
    /* literals, empty containers, whitespace */
    n = jdec(&a, " \r\n\t{ \"t\" : true , \"f\":false,\"n\":null,\"o\":{ },\"l\":[ ] } \n", &e);
    assert_non_null(n);
    assert_int_equal(n->count, 5);
    assert_true(n->child->type == DN_BOOL && n->child->mag == 1);
    assert_true(n->child->next->type == DN_BOOL && n->child->next->mag == 0);
    assert_int_equal(n->child->next->next->type, DN_NULL);
    /* 16 levels (the root is level 1) are fine, 17 are not */
    char deep[128] = "";
    for (int i = 0; i < 16; i++)
        strcat(deep, "{\"a\":");
    strcat(deep, "1");
    for (int i = 0; i < 16; i++)
        strcat(deep, "}");
    assert_non_null(jdec(&a, deep, &e));
    char deeper[160];
    snprintf(deeper, sizeof deeper, "{\"b\":%s}", deep);
    assert_null(jdec(&a, deeper, &e));
    assert_string_equal(e.msg, "nesting deeper than 16");

    static const char *const bad[][2] = {
        {"{\"s\":\"a\tb\"}", "control character in string"},
        {"{\"s\":\"abc", "unterminated string"},
        {"{\"s\":\"abc\\", "unterminated string"},
        {"{\"s\":\"\\u12G4\"}", "bad \\u escape"},
        {"{\"s\":\"\\u12\"}", "bad \\u escape"},
        {"{\"s\":\"\\udc00\"}", "lone low surrogate"},
        {"{\"s\":\"\\ud83d\"}", "lone high surrogate"},
        {"{\"s\":\"\\ud83dxxxxxx\"}", "lone high surrogate"},
        {"{\"s\":\"\\ud83d\\u0041\"}", "lone high surrogate"},
        {"{\"s\":\"\\ud83d\\ud83d\"}", "lone high surrogate"},
        {"{\"s\":\"\\x41\"}", "bad escape"},
        {"{\"s\":\"\\'\"}", "bad escape"},
        {"{\"s\":\"\xff\"}", "invalid UTF-8 in string"},
        {"{\"s\":\"\xed\xa0\x80\"}", "invalid UTF-8 in string"}, /* a raw surrogate */
        {"{\"s\":\"\xc0\xaf\"}", "invalid UTF-8 in string"},     /* overlong */
        {"{\"n\":-}", "bad number"},
        {"{\"n\":-a}", "bad number"},
        {"{\"n\":01}", "leading zero in number"},
        {"{\"n\":-00}", "leading zero in number"},
        {"{\"n\":1.}", "bad fraction"},
        {"{\"n\":1.e5}", "bad fraction"},
        {"{\"n\":1e}", "bad exponent"},
        {"{\"n\":1e+}", "bad exponent"},
        {"{\"n\":+1}", "unexpected character"},
        {"{\"n\":.5}", "unexpected character"},
        {"{\"b\":tru}", "bad literal"},
        {"{\"b\":nul}", "bad literal"},
        {"{\"b\":True}", "unexpected character"},
        {"{\"b\":falsey}", "expected ',' or end of container"},
        {"{\"a\" 1}", "expected ':'"},
        {"{\"a\"", "expected ':'"},
        {"{1:2}", "expected key"},
        {"{\"a\":1,}", "expected key"},
        {"{\"a\":[1,]}", "unexpected character"},
        {"{\"a\":1", "unterminated container"},
        {"{\"a\":[1,2", "unterminated container"},
        {"{\"a\":1 \"b\":2}", "expected ',' or end of container"},
        {"{\"a\":[1;2]}", "expected ',' or end of container"},
        {"{\"a\":", "unexpected end of input"},
        {"{\"a\":@}", "unexpected character"},
        {"{} x", "trailing bytes after JSON text"},
        {"{}{}", "trailing bytes after JSON text"},
        {"[1]", "top-level value is not an object"},
        {"", "top-level value is not an object"},
        {"  ", "top-level value is not an object"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    {
        arena_reset(&a);
        if (jdec(&a, bad[i][0], &e) != NULL || strcmp(e.msg, bad[i][1]) != 0)
            fail_msg("'%s': got '%s', expected '%s'", bad[i][0], e.msg, bad[i][1]);
    }
    /* the offset points at the problem */
    assert_null(jdec(&a, "{\"a\":1,\"b\":01}", &e));
    assert_int_equal(e.offset, 12);
    /* one trailing NUL only where allowed, and only one */
    static const char nul1[] = "{\"a\":1}";
    assert_non_null(json_decode(&a, (const uint8_t *) nul1, sizeof nul1, 1, &e));
    assert_null(json_decode(&a, (const uint8_t *) nul1, sizeof nul1, 0, &e));
    assert_string_equal(e.msg, "trailing bytes after JSON text");
    arena_free(&a);
}

/* Parses argv (copied: config_parse_args takes char **); returns its result. */
static int parse_argv(detect_config *c, const char *const *args, char *err, size_t errsz)
{
    char buf[8][1200];
    char *argv[8];
    int n = 0;
    for (; args[n] != NULL && n < 8; n++)
    {
        snprintf(buf[n], sizeof buf[n], "%s", args[n]);
        argv[n] = buf[n];
    }
    config_defaults(c);
    err[0] = '\0';
    return config_parse_args(c, n, argv, err, errsz);
}

/* Each way an option or a config file can be wrong is refused (exit status 2) with a message
 * naming the problem; the accepted spellings of the enumerated options take effect. */
static void test_config_errors(void **state)
{
    (void) state;
    static const char *const bad[][4] = {
        {"--reject-all", "sometimes", NULL, "--reject-all takes"},
        {"--sync", "maybe", NULL, "--sync takes full or normal"},
        {"--log-level", "verbose", NULL, "invalid log level 'verbose'"},
        {"--strict=perhaps", NULL, NULL, "invalid boolean for strict"},
        {"--broker", ":1883", NULL, "invalid address for broker"},
        {"--broker", "[]:1883", NULL, "invalid address for broker"},
        {"--broker", "host:0", NULL, "invalid value for broker"},
        {"--broker", "host:65536", NULL, "invalid value for broker"},
        {"--broker", "host:", NULL, "invalid value for broker"},
        {"--max-payload=", NULL, NULL, "invalid value for max-payload"},
        {"--max-payload", "131073", NULL, "invalid value for max-payload"},
        {"--retention-days", "7days", NULL, "invalid value for retention-days"},
        {"--throttle-seconds", NULL, NULL, "option throttle-seconds needs a value"},
        {"extra", NULL, NULL, "unexpected argument 'extra'"},
        {"--retention-days", "7", "extra", "unexpected argument 'extra'"},
        {"--no-such-option", "1", NULL, "unknown option 'no-such-option'"},
        {"--config", NULL, NULL, "--config needs a value"},
        {"--config", "/nonexistent/detect.conf", NULL, "cannot open config"},
        {"--share-group", "a/b", NULL, "invalid --share-group"},
        {"--share-group", "", NULL, "invalid --share-group"},
    };
    detect_config c;
    char err[512];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    {
        const char *args[4] = {bad[i][0], bad[i][1], bad[i][1] ? bad[i][2] : NULL, NULL};
        int r = parse_argv(&c, args, err, sizeof err);
        if (r != -1 || strstr(err, bad[i][3]) == NULL)
            fail_msg("%s %s: %d '%s', expected -1 and '%s'", bad[i][0], bad[i][1] ? bad[i][1] : "",
                     r, err, bad[i][3]);
    }
    /* an option name longer than any option, and values longer than their fields */
    char longopt[100] = "--";
    memset(longopt + 2, 'x', 80);
    longopt[82] = '\0';
    const char *lo[] = {longopt, NULL};
    assert_int_equal(parse_argv(&c, lo, err, sizeof err), -1);
    assert_non_null(strstr(err, "unknown option"));
    char longval[300];
    memset(longval, 'c', 200);
    longval[200] = '\0';
    const char *lv[] = {"--client-id", longval, NULL};
    assert_int_equal(parse_argv(&c, lv, err, sizeof err), -1);
    assert_non_null(strstr(err, "value of client-id too long"));
    const char *lh[] = {"--broker", longval, NULL};
    memset(longval, 'h', 299);
    longval[299] = '\0';
    assert_int_equal(parse_argv(&c, lh, err, sizeof err), -1);
    assert_non_null(strstr(err, "invalid address for broker"));
    /* the accepted values */
    const char *ok1[] = {"--reject-all", "throttled", "--sync", "normal",
                         "--log-level",  "debug",     NULL};
    assert_int_equal(parse_argv(&c, ok1, err, sizeof err), 0);
    assert_string_equal(c.reject_all, "throttled");
    assert_int_equal(c.sync_normal, 1);
    assert_int_equal(c.log_level, 3);
    const char *ok2[] = {"--reject-all", "none", "--strict=no", "--broker=[::1]", NULL};
    assert_int_equal(parse_argv(&c, ok2, err, sizeof err), 0);
    assert_string_equal(c.reject_all, "");
    assert_int_equal(c.strict, 0);
    assert_string_equal(c.broker_host, "::1");
    assert_int_equal(c.broker_port, 0); /* no port: the default for plain or TLS */
    const char *ok3[] = {"--broker", "mqtt.example", "--max-payload", "1", NULL};
    assert_int_equal(parse_argv(&c, ok3, err, sizeof err), 0);
    assert_string_equal(c.broker_host, "mqtt.example");
    assert_int_equal(c.max_payload, 1);

    /* config files: the failing line is named; CRLF line ends and tabs are fine */
    char path[] = "/tmp/detect-config-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    assert_non_null(f);
    fprintf(f, "# options\r\n\r\n  retention-days\t= 9\r\n\tsync normal\r\nstrict = maybe\r\n");
    fclose(f);
    const char *cf[] = {"--config", path, NULL};
    assert_int_equal(parse_argv(&c, cf, err, sizeof err), -1);
    char want[128];
    snprintf(want, sizeof want, "%s:5: invalid boolean for strict: 'maybe'", path);
    assert_string_equal(err, want);
    f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "# options\r\n\r\n  retention-days\t= 9\r\n\tsync normal\r\nstrict = no\r\n");
    fclose(f);
    assert_int_equal(parse_argv(&c, cf, err, sizeof err), 0);
    assert_int_equal(c.retention_days, 9);
    assert_int_equal(c.sync_normal, 1);
    assert_int_equal(c.strict, 0);
    /* a line longer than the reader's buffer is refused, not split into two options */
    f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "retention-days = 3\npassword = ");
    for (int i = 0; i < 1100; i++)
        fputc('p', f);
    fprintf(f, "\nretention-days = 4\n");
    fclose(f);
    assert_int_equal(parse_argv(&c, cf, err, sizeof err), -1);
    snprintf(want, sizeof want, "%s:2: line too long", path);
    assert_string_equal(err, want);
    /* an unknown key in the file, after good lines */
    f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "retention-days = 3\nretention_days = 4\n");
    fclose(f);
    assert_int_equal(parse_argv(&c, cf, err, sizeof err), -1);
    snprintf(want, sizeof want, "%s:2: unknown option 'retention_days'", path);
    assert_string_equal(err, want);
    remove(path);
}

/* What start-up would refuse only after creating the database is refused while parsing (exit
 * status 2, no restart loop under systemd). */
static void test_config_refused_early(void **state)
{
    (void) state;
    static const char *const cases[][4] = {
        {"--http", "localhost:8080", "numeric address", NULL},
        {"--session-expiry", "60", "--client-id", NULL},
        {"--credentials", "/nonexistent/detect-credentials", "cannot read", NULL},
        {"--db", "", "--db needs", NULL},
        {"--cert", "c.pem", "--key", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
        detect_config c;
        config_defaults(&c);
        char err[256] = "";
        char k[32], v[64];
        snprintf(k, sizeof k, "%s", cases[i][0]);
        snprintf(v, sizeof v, "%s", cases[i][1]);
        char *argv[] = {k, v};
        assert_int_equal(config_parse_args(&c, 2, argv, err, sizeof err), -1);
        if (strstr(err, cases[i][2]) == NULL)
            fail_msg("%s %s: '%s' lacks '%s'", cases[i][0], cases[i][1], err, cases[i][2]);
    }
    detect_config c;
    config_defaults(&c);
    char err[256] = "";
    char a0[] = "--session-expiry", a1[] = "60", a2[] = "--client-id", a3[] = "detect-1",
         a4[] = "--http", a5[] = "[::1]:8081";
    char *ok[] = {a0, a1, a2, a3, a4, a5};
    assert_int_equal(config_parse_args(&c, 6, ok, err, sizeof err), 0);
}

/* Loads `text` as a credentials file: the return code, and the error in `err`. */
static int load_credentials_text(const char *text, size_t size, credential **creds, size_t *n,
                                 char *err, size_t errsz)
{
    char path[] = "/tmp/detect-credentials-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, size), (ssize_t) size);
    close(fd);
    int rc = credentials_load(path, creds, n, err, errsz);
    remove(path);
    return rc;
}

/* A UTF-8 byte order mark (as some editors write) is not part of the first access key id, and
 * a key or secret with bytes other than printable ASCII is refused, naming its line: such a
 * key could never match a signed request, so it was a credential that silently never worked. */
static void test_credentials_ascii_fields(void **state)
{
    (void) state;
    credential *creds = NULL;
    size_t n = 0;
    char err[256] = "";
    static const char bom[] = "\xef\xbb\xbf"
                              "AKID1 SECRET1\r\n";
    assert_int_equal(load_credentials_text(bom, strlen(bom), &creds, &n, err, sizeof err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(creds[0].akid, "AKID1");
    assert_string_equal(creds[0].secret, "SECRET1");
    credentials_free(creds, n);

    /* a comment after the pair, as the old loader allowed it */
    static const char commented[] = "AKID1 SECRET1 # the CI's key\n\tAKID2\tSECRET2\t#\n";
    creds = NULL;
    n = 0;
    assert_int_equal(
        load_credentials_text(commented, strlen(commented), &creds, &n, err, sizeof err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(creds[0].secret, "SECRET1");
    assert_string_equal(creds[1].akid, "AKID2");
    assert_string_equal(creds[1].secret, "SECRET2");
    credentials_free(creds, n);

    static const char *const refused[] = {
        "AKID1 SECRET1\n\xef\xbb\xbf"
        "AKID2 SECRET2\n",
        "AKID1 SECRET1\nAKID2 S\xc3\xa9"
        "CRET2\n",
        "AKID1 SECRET1\nAKID2 SECRET2\v\n",
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
    {
        creds = NULL;
        n = 0;
        assert_int_equal(
            load_credentials_text(refused[i], strlen(refused[i]), &creds, &n, err, sizeof err), -1);
        assert_null(creds);
        if (strstr(err, " line 2: characters other than printable ASCII") == NULL)
            fail_msg("case %zu: '%s'", i, err);
    }
}

/* getrandom as the C library's, slowed down in the processes of test_hash_seed_once, so that
 * threads asking for the hash seed at once are all inside it together. */
static volatile int slow_getrandom;

ssize_t getrandom(void *buf, size_t len, unsigned int flags)
{
    if (slow_getrandom)
        usleep(20000);
    return syscall(SYS_getrandom, buf, len, flags);
}

#define SEED_THREADS 4

typedef struct
{
    pthread_barrier_t *start;
    uint32_t hash;
} seed_race;

static void *hash_after_barrier(void *arg)
{
    seed_race *r = arg;
    pthread_barrier_wait(r->start);
    r->hash = str_hash_seeded("sensor-42", 9);
    return NULL;
}

/* The first calls to str_hash_seeded, made at once by several threads, in a fresh process:
 * 0 when every thread got the hash that the process keeps giving afterwards. */
static int first_hashes_agree(void)
{
    pthread_barrier_t start;
    pthread_t t[SEED_THREADS];
    seed_race r[SEED_THREADS];
    slow_getrandom = 1;
    if (pthread_barrier_init(&start, NULL, SEED_THREADS) != 0)
        return 2;
    for (int i = 0; i < SEED_THREADS; i++)
    {
        r[i].start = &start;
        if (pthread_create(&t[i], NULL, hash_after_barrier, &r[i]) != 0)
            return 2;
    }
    for (int i = 0; i < SEED_THREADS; i++)
        pthread_join(t[i], NULL);
    pthread_barrier_destroy(&start);
    uint32_t later = str_hash_seeded("sensor-42", 9);
    for (int i = 0; i < SEED_THREADS; i++)
        if (r[i].hash != later)
            return 1;
    return 0;
}

/* The seed is chosen once per process, also when threads ask for it at the same time: the
 * thing tables keep each entry's hash, so a seed that changed after a first use would lose
 * the things stored with it (a thing found again would get a second state). Each try runs
 * in a new process (this program run with --hash-seed-race), where no seed is chosen yet. */
static void test_hash_seed_once(void **state)
{
    (void) state;
    int changed = 0;
    for (int i = 0; i < 5; i++)
    {
        fflush(NULL);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0)
        {
            execl("/proc/self/exe", "service_test_validate", "--hash-seed-race", (char *) NULL);
            _exit(2);
        }
        int st = 0;
        assert_int_equal(waitpid(pid, &st, 0), pid);
        assert_true(WIFEXITED(st));
        assert_int_not_equal(WEXITSTATUS(st), 2);
        changed += WEXITSTATUS(st);
    }
    assert_int_equal(changed, 0);
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--hash-seed-race") == 0)
        return first_hashes_agree();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_all_variants),
        cmocka_unit_test(test_trailing_nul),
        cmocka_unit_test(test_cbor_vectors),
        cmocka_unit_test(test_cbor_edge),
        cmocka_unit_test(test_big_lists),
        cmocka_unit_test(test_derivation),
        cmocka_unit_test(test_derivation_sets),
        cmocka_unit_test(test_derivation_partial_blocks),
        cmocka_unit_test(test_step_order),
        cmocka_unit_test(test_type_mismatch),
        cmocka_unit_test(test_responses),
        cmocka_unit_test(test_topics_and_names),
        cmocka_unit_test(test_number_conformance),
        cmocka_unit_test(test_config),
        cmocka_unit_test(test_config_refused_early),
        cmocka_unit_test(test_credentials_ascii_fields),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_json_decoder),
        cmocka_unit_test(test_cbor_memory_bound),
        cmocka_unit_test(test_hash_seed_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
