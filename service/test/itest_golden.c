/* Golden reports through the real path: mosquitto on a loopback port, defender-detect,
 * an MQTT peer. Every validation rule in JSON and CBOR, long and short keys, default and
 * strict modes; exact reply topic and payload (service clock pinned by the test hook). */
#include "golden_cases.h"
#include "itest.h"

#include <mosquitto.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOW_MS 1735689600412ull

static const char *g_exe;
static it_broker g_broker;
static it_peer *g_peer;
static unsigned long long g_now = NOW_MS;

/* Rejection reasons, the steps of protocol section 8 that reply InvalidPayload; the
 * service counts each as rejected_<reason>. */
enum
{
    S_DECODE,  /* 3: not JSON / well-formed CBOR, nesting > 16, and a top-level value that is
                  not an object (2.5) / map (section 4 lists it among the decoder's errors) */
    S_ROOT,    /* 4: a map, anywhere, holding a key twice (PD-6; header and hed count as one) */
    S_HEADER,  /* 5: header missing, not a map, bad report_id or version */
    S_BODY,    /* 6: neither metrics nor custom_metrics, or one that is not a map */
    S_METRICS, /* 7: standard metrics */
    S_CUSTOM,  /* 8: custom metrics shape (PD-11) */
    S_COUNT
};
static const char *const step_counter[S_COUNT] = {"rejected_decode",  "rejected_root",
                                                  "rejected_header",  "rejected_body",
                                                  "rejected_metrics", "rejected_custom"};

typedef struct
{
    const char *name;
    int step;
} case_step;

/* The step at which each golden case rejected in default mode fails, from section 8 and
 * PD-3..PD-11 (not from the service): same for long and short keys, JSON and CBOR. */
static const case_step golden_steps[] = {
    {"custom number without array", S_CUSTOM},
    {"no header", S_HEADER},
    {"report_id as string", S_HEADER},
    {"not json", S_DECODE},
    {"no body", S_BODY},
    {"listening port 0", S_METRICS},
    {"remote_addr without port", S_METRICS},
    {"connection without remote_addr", S_METRICS},
    {"header and hed", S_ROOT},
    {"negative bytes_in", S_METRICS},
    {"aws: custom name", S_CUSTOM},
    {"two maps in custom array", S_CUSTOM},
    {"report_id 0", S_HEADER},
    {"report_id 2^63", S_HEADER},
    {"report_id 2^64+", S_HEADER},
    {"report_id fraction", S_HEADER},
    {"version 1", S_HEADER},
    {"version number", S_HEADER},
    {"no version", S_HEADER},
    {"header not a map", S_HEADER},
    {"duplicate report_id key", S_ROOT},
    {"report_id and rid", S_ROOT},
    {"port and pt behind a bad version", S_ROOT},
    {"root is an array", S_DECODE},
    {"metrics not a map", S_BODY},
    {"custom_metrics not a map", S_BODY},
    {"duplicate metrics key", S_ROOT},
    {"port 65536", S_METRICS},
    {"report_id 12.0000000000000001", S_HEADER},
    {"port 22.0000000000000001", S_METRICS},
    {"bytes_in 1e-400", S_METRICS},
    {"bytes_in 0.5e-999999999999", S_METRICS},
    {"bytes_in 2^53+1 with a fraction", S_METRICS},
    {"bytes_in 1e19", S_METRICS},
    {"port as string", S_METRICS},
    {"ports list element not a map", S_METRICS},
    {"interface not a string", S_METRICS},
    {"bytes_out huge exponent", S_METRICS},
    {"bytes_in above 2^63-1", S_METRICS},
    {"bytes_in boolean", S_METRICS},
    {"network_stats null", S_METRICS},
    {"IPv4 with leading zero", S_METRICS},
    {"port 65536 in remote_addr", S_METRICS},
    {"IPv6 zone id", S_METRICS},
    {"local_port 65536", S_METRICS},
    {"custom number_list with string", S_CUSTOM},
    {"custom two value keys", S_CUSTOM},
    {"custom no value key", S_CUSTOM},
    {"custom name 129 chars", S_CUSTOM},
    {"custom name with space", S_CUSTOM},
    {"custom string_list not array", S_CUSTOM},
    {"invalid UTF-8", S_DECODE},
    {"lone surrogate", S_DECODE},
    {"trailing comma", S_DECODE},
    {"trailing garbage", S_DECODE},
    {"nesting 17 deep", S_DECODE},
};

/* Same for the hand-written CBOR cases rejected in default mode: a payload that is not
 * well-formed CBOR of the accepted kind fails decoding; a wrong type fails where the field
 * belongs. */
static const case_step cbor_steps[] = {
    {"tag 1 around V2", S_DECODE},
    {"tag 55799 around an array", S_DECODE},
    {"tag 1 on report_id", S_DECODE},
    {"tag 2 on bytes_in", S_DECODE},
    {"V2 truncated by one byte", S_DECODE},
    {"V2 truncated inside report_id", S_DECODE},
    {"V3 without its final break", S_DECODE},
    {"text longer than the input", S_DECODE},
    {"V2 and a trailing byte", S_DECODE},
    {"V2 and a second map", S_DECODE},
    {"top-level array", S_DECODE},
    {"float64 2^53+2 as bytes_out", S_METRICS},
    {"float16 22.5 as port", S_METRICS},
    {"float32 0.5 as total", S_METRICS},
    {"float16 NaN as packets_in", S_METRICS},
    {"float16 -1.0 as packets_out", S_METRICS},
    {"byte string version", S_HEADER},
    {"byte string interface", S_METRICS},
    {"byte string remote_addr", S_METRICS},
    {"byte string in string_list", S_CUSTOM},
    {"integer key in metrics", S_DECODE},
    {"byte string key header", S_DECODE},
    {"byte string key in ports entry", S_DECODE},
    {"invalid UTF-8 interface", S_DECODE},
    {"overlong UTF-8 in a key", S_DECODE},
    {"UTF-8 surrogate in version", S_DECODE},
    {"invalid UTF-8 in a text chunk", S_DECODE},
    {"break as a value", S_DECODE},
    {"break in a definite map", S_DECODE},
    {"break in a definite array", S_DECODE},
    {"break as the top-level item", S_DECODE},
    {"break after V2", S_DECODE},
    {"true as bytes_in", S_METRICS},
    {"null as port", S_METRICS},
    {"undefined as total", S_METRICS},
    {"simple(16) as interface", S_METRICS},
    {"simple(255) as version", S_HEADER},
    {"null as metrics", S_BODY},
    {"undefined as report_id", S_HEADER},
    {"false as custom number", S_CUSTOM},
    {"nesting 17 deep", S_DECODE},
    {"nesting 17 deep, indefinite", S_DECODE},
};

static int step_of(const case_step *t, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(t[i].name, name) == 0)
            return t[i].step;
    CHECK(0, "no rejection step listed for case \"%s\"", name);
    return S_DECODE;
}

/* What the default-mode run must have counted, tallied from the expectations. */
static struct
{
    unsigned long long accepted, throttled, duplicates, forced, rejected[S_COUNT];
} g_exp;

static void set_clock(const it_service *s, unsigned long long ms)
{
    char path[96], *body = NULL;
    snprintf(path, sizeof path, "/_test/clock?nowMs=%llu", ms);
    g_now = ms;
    int st = it_http(s->http_port, "POST", path, NULL, &body);
    CHECK(st == 200, "clock hook: %d", st);
    free(body);
}

static void hook(const it_service *s, const char *path)
{
    char *body = NULL;
    int st = it_http(s->http_port, "POST", path, NULL, &body);
    CHECK(st == 200, "hook %s: %d", path, st);
    free(body);
}

/* Expected reply, JSON text per PD-15; kind: 0 accepted, 1 invalid, 2 throttled. */
static void expected_json(char *out, size_t cap, const char *thing, int has_id,
                          unsigned long long id, int kind)
{
    char idpart[64] = "";
    if (has_id)
        snprintf(idpart, sizeof idpart, ",\"reportId\":%llu", id);
    if (kind == 0)
        snprintf(out, cap, "{\"thingName\":\"%s\"%s,\"status\":\"ACCEPTED\",\"timestamp\":%llu}",
                 thing, idpart, g_now);
    else
        snprintf(out, cap,
                 "{\"thingName\":\"%s\"%s,\"status\":\"REJECTED\",\"statusDetails\":{\"ErrorCode\":"
                 "\"%s\",\"ErrorMessage\":\"%s\"},\"timestamp\":%llu}",
                 thing, idpart, kind == 2 ? "Throttled" : "InvalidPayload",
                 kind == 2 ? "Metrics report rate exceeded" : "Malformed metrics report", g_now);
}

static void publish(const char *thing, int cbor, const void *p, size_t n)
{
    char topic[400];
    snprintf(topic, sizeof topic, "$aws/things/%s/defender/metrics/%s", thing,
             cbor ? "cbor" : "json");
    int rc = it_peer_publish(g_peer, topic, p, n, 1);
    CHECK(rc == 0, "publish failed %d", rc);
}

/* Waits for the next reply and compares topic and payload exactly. */
static void expect_reply(const char *label, const char *thing, int cbor, int has_id,
                         unsigned long long id, int kind)
{
    it_msg m;
    if (!it_peer_next(g_peer, &m, 5000))
    {
        CHECK(0, "[%s] no reply", label);
        return;
    }
    char topic[400];
    snprintf(topic, sizeof topic, "$aws/things/%s/defender/metrics/%s/%s", thing,
             cbor ? "cbor" : "json", kind == 0 ? "accepted" : "rejected");
    CHECK(strcmp(m.topic, topic) == 0, "[%s] topic %s, expected %s", label, m.topic, topic);
    char js[600];
    expected_json(js, sizeof js, thing, has_id, id, kind);
    if (!cbor)
    {
        CHECK(m.len == strlen(js) && memcmp(m.payload, js, m.len) == 0,
              "[%s] payload\n  got      %.*s\n  expected %s", label, (int) m.len,
              (const char *) m.payload, js);
    }
    else
    {
        uint8_t *cb = NULL;
        size_t cl = 0;
        CHECK(it_json_to_cbor(js, strlen(js), &cb, &cl) == 0, "encode expected");
        CHECK(cb != NULL && m.len == cl && memcmp(m.payload, cb, cl) == 0,
              "[%s] CBOR payload differs (expected %s)", label, js);
        free(cb);
    }
    free(m.payload);
}

/* Publishes a malformed report on `thing` and expects its reply to be the next message:
 * proves that everything published before got no reply. */
static void expect_silence(const char *label, const char *thing)
{
    g_exp.rejected[S_DECODE]++; /* "x" is not JSON */
    publish(thing, 0, "x", 1);
    expect_reply(label, thing, 0, 0, 0, 1);
}

static int run_cases(const it_service *s, int strict, const char *prefix)
{
    (void) s;
    int n = 0;
    for (size_t i = 0; i < GOLDEN_COUNT; i++)
    {
        const golden_case *g = &golden_cases[i];
        int exp = strict ? g->strict : g->def;
        for (int v = 0; v < 4; v++)
        {
            int shortk = v & 1, cbor = v >> 1;
            if ((shortk && (g->flags & G_LONG_ONLY)) || (cbor && (g->flags & G_JSON_ONLY)))
                continue;
            char *js = shortk ? it_shorten_keys(g->json) : strdup(g->json);
            if (js == NULL)
                return -1;
            uint8_t *payload = (uint8_t *) js;
            size_t plen = strlen(js);
            uint8_t *cb = NULL;
            if (cbor)
            {
                if (it_json_to_cbor(js, plen, &cb, &plen) != 0)
                {
                    /* deeper than the decoder allows: hand-written CBOR covers
                     * nesting (cbor_cases) */
                    free(js);
                    continue;
                }
                payload = cb;
            }
            char thing[64], label[200];
            snprintf(thing, sizeof thing, "%s%zu-%d", prefix, i, v);
            snprintf(label, sizeof label, "%s %s/%s %s", g->name, cbor ? "cbor" : "json",
                     shortk ? "short" : "long", strict ? "strict" : "default");
            publish(thing, cbor, payload, plen);
            unsigned long long id = 12;
            if (strcmp(g->name, "report_id 2^63-1") == 0)
                id = 9223372036854775807ull;
            expect_reply(label, thing, cbor, exp != G_REJ_NOID, id, exp == G_OK ? 0 : 1);
            if (!strict && exp == G_OK)
                g_exp.accepted++;
            else if (!strict)
                g_exp.rejected[step_of(golden_steps, sizeof golden_steps / sizeof golden_steps[0],
                                       g->name)]++;
            free(js);
            free(cb);
            n++;
        }
    }
    return n;
}

/* CBOR written by hand (hex), sent on the cbor topic: the rules of protocol section 4 that
 * the JSON-derived cases cannot express. Expectations come from sections 4, 8 and PD-14:
 * a payload that is not well-formed CBOR of the accepted kind (truncated, trailing bytes,
 * misplaced break, a tag other than a top-level 55799, a non-text key, invalid UTF-8,
 * nesting deeper than 16) fails decoding (step 3), so no reportId; a byte string or simple
 * value where text, a number or a map is expected fails a later step, so reportId is
 * echoed when the header is valid; floats in integer fields follow PD-4. */
typedef struct
{
    const char *name;
    const char *hex;
    int def;    /* expectation in default mode */
    int strict; /* expectation in strict mode */
    unsigned long long id;
} cbor_case;

static const cbor_case cbor_cases[] = {
    /* spec 11.5 vectors that are reports */
    {"V1 short-key report",
     "a263686564a2637269641b000001941f297c00617663312e30636d6574a1627463a1626563a26263"
     "7381a163726164713139382e35312e3130302e373a38383833617401",
     G_OK, G_OK, 1735689600000ull},
    {"V2 long-key minimal report",
     "a266686561646572a2697265706f72745f69641b000001941f297c006776657273696f6e63312e30"
     "676d657472696373a0",
     G_OK, G_OK, 1735689600000ull},
    {"V3 indefinite lengths and chunked text",
     "bf66686561646572bf697265706f72745f69641b000001941f297c006776657273696f6e7f613162"
     "2e30ffff676d657472696373bfffff",
     G_OK, G_OK, 1735689600000ull},
    {"V4 full short-key report",
     "a363686564a2637269641b000001941f297c00617663312e30636d6574a4627470a26370747382a2"
     "626966646574683062707416a262696664657468306270741922b3617402627570a26370747381a2"
     "62696664657468306270741914e9617401626e73a46262691b000000012a05f20062626f1a00013d"
     "52627069190d4a62706f1904ba627463a1626563a262637382a3626c696465746830626c7019c29e"
     "63726164713139382e35312e3130302e373a38383833a3626c6965776c616e30626c701663726164"
     "745b323030313a6462383a3a31375d3a353031323261740364636d6574a468727373695f64626d81"
     "a1666e756d6265723842686370755f6c6f616481a16b6e756d6265725f6c697374830cfb401e0000"
     "00000000036a7461736b5f6e616d657381a16b737472696e675f6c69737482636e6574686170702f"
     "6d61696e6b646e735f7365727665727381a16769705f6c697374826a3139322e302e322e35336c32"
     "3030313a6462383a3a3533",
     G_OK, G_OK, 1735689600000ull},
    /* self-describe tag vs other tags */
    {"tag 55799 around V2",
     "d9d9f7a266686561646572a2697265706f72745f69641b000001941f297c006776657273696f6e63"
     "312e30676d657472696373a0",
     G_OK, G_OK, 1735689600000ull},
    {"tag 55799 around V3",
     "d9d9f7bf66686561646572bf697265706f72745f69641b000001941f297c006776657273696f6e7f"
     "6131622e30ffff676d657472696373bfffff",
     G_OK, G_OK, 1735689600000ull},
    {"tag 55799 with a 4-byte argument around V2",
     "da0000d9f7a266686561646572a2697265706f72745f69641b000001941f297c0067766572736"
     "96f6e63312e30676d657472696373a0",
     G_OK, G_OK, 1735689600000ull},
    {"tag 55799 with an 8-byte argument around V3",
     "db000000000000d9f7bf66686561646572bf697265706f72745f69641b000001941f297c006776"
     "657273696f6e7f6131622e30ffff676d657472696373bfffff",
     G_OK, G_OK, 1735689600000ull},
    {"tag 1 around V2",
     "c1a266686561646572a2697265706f72745f69641b000001941f297c006776657273696f6e63312e"
     "30676d657472696373a0",
     G_REJ_NOID, G_REJ_NOID, 12},
    {"tag 55799 around an array",
     "d9d9f781a266686561646572a2697265706f72745f69641b000001941f297c006776657273696f6e"
     "63312e30676d657472696373a0",
     G_REJ_NOID, G_REJ_NOID, 12},
    {"tag 1 on report_id",
     "a266686561646572a2697265706f72745f6964c10c6776657273696f6e63312e30676d6574726963"
     "73a0",
     G_REJ_NOID, G_REJ_NOID, 12},
    {"tag 2 on bytes_in",
     "a266686561646572a2697265706f72745f69640c6776657273696f6e63312e30676d657472696373"
     "a16d6e6574776f726b5f7374617473a16862797465735f696ec24105",
     G_REJ_NOID, G_REJ_NOID, 12},
    /* truncation, trailing bytes */
    {"V2 truncated by one byte",
     "a266686561646572a2697265706f72745f69641b000001941f297c006776657273696f6e63312e30"
     "676d657472696373",
     G_REJ_NOID, G_REJ_NOID, 12},
    {"V2 truncated inside report_id", "a266686561646572a2697265706f72745f69641b0000", G_REJ_NOID,
     G_REJ_NOID, 12},
    {"V3 without its final break",
     "bf66686561646572bf697265706f72745f69641b000001941f297c006776657273696f6e7f613162"
     "2e30ffff676d657472696373bfff",
     G_REJ_NOID, G_REJ_NOID, 12},
    {"text longer than the input",
     "a266686561646572a2697265706f72745f69640c6776657273696f6e63312e30676d657472696373"
     "a1736c697374656e696e675f7463705f706f727473a165706f72747381a169696e74657266616365"
     "782865746830",
     G_REJ_NOID, G_REJ_NOID, 12},
    {"V2 and a trailing byte",
     "a266686561646572a2697265706f72745f69641b000001941f297c006776657273696f6e63312e30"
     "676d657472696373a000",
     G_REJ_NOID, G_REJ_NOID, 12},
    {"V2 and a second map",
     "a266686561646572a2697265706f72745f69641b000001941f297c006776657273696f6e63312e30"
     "676d657472696373a0a0",
     G_REJ_NOID, G_REJ_NOID, 12},
    {"top-level array",
     "81a266686561646572a2697265706f72745f69641b000001941f297c006776657273696f6e63312e"
     "30676d657472696373a0",
     G_REJ_NOID, G_REJ_NOID, 12},
    /* definite and indefinite lengths, long arguments */
    {"indefinite ports array",
     "a266686561646572a2697265706f72745f69640c6776657273696f6e63312e30676d657472696373"
     "a1736c697374656e696e675f7463705f706f727473a265706f7274739fa164706f727416a164706f"
     "72741922b3ff65746f74616c02",
     G_OK, G_OK, 12},
    {"indefinite empty metrics map",
     "a266686561646572a2697265706f72745f69640c6776657273696f6e63312e30676d657472696373"
     "bfff",
     G_OK, G_OK, 12},
    {"chunked key and interface",
     "a266686561646572a2697265706f72745f69640c6776657273696f6e63312e30676d657472696373"
     "a1736c697374656e696e675f7463705f706f727473a165706f72747381a269696e74657266616365"
     "7f62657460626830ff7f62706f627274ff16",
     G_OK, G_OK, 12},
    {"report_id and port with long arguments",
     "a266686561646572a2697265706f72745f69641b000000000000000c6776657273696f6e63312e30"
     "676d657472696373a1736c697374656e696e675f7463705f706f727473a265706f72747381a16470"
     "6f727419001665746f74616c1a00000001",
     G_OK, G_OK, 12},
    /* floats in integer fields (PD-4) */
    {"float16 22.0 as port",
     "a266686561646572a2697265706f72745f69640c6776657273696f6e63312e30676d657472696373"
     "a1736c697374656e696e675f7463705f706f727473a265706f72747381a269696e74657266616365"
     "646574683064706f7274f94d8065746f74616c01",
     G_OK, G_REJ, 12},
    {"float32 8883.0 as port",
     "a266686561646572a2697265706f72745f69640c6776657273696f6e63312e30676d657472696373"
     "a1736c697374656e696e675f7463705f706f727473a265706f72747381a269696e74657266616365"
     "646574683064706f7274fa460acc0065746f74616c01",
     G_OK, G_REJ, 12},
    {"float64 5e9 as bytes_in",
     "a266686561646572a2697265706f72745f69640c6776657273696f6e63312e30676d657472696373"
     "a16d6e6574776f726b5f7374617473a16862797465735f696efb41f2a05f20000000",
     G_OK, G_REJ, 12},
    {"float64 2^53 as bytes_out",
     "a266686561646572a2697265706f72745f69640c6776657273696f6e63312e30676d657472696373"
     "a16d6e6574776f726b5f7374617473a16962797465735f6f7574fb4340000000000000",
     G_OK, G_REJ, 12},
    {"float64 2^53+2 as bytes_out",
     "a266686561646572a2697265706f72745f69640c6776657273696f6e63312e30676d657472696373"
     "a16d6e6574776f726b5f7374617473a16962797465735f6f7574fb4340000000000001",
     G_REJ, G_REJ, 12},
    {"float16 22.5 as port",
     "a266686561646572a2697265706f72745f69640c6776657273696f6e63312e30676d657472696373"
     "a1736c697374656e696e675f7463705f706f727473a265706f72747381a269696e74657266616365"
     "646574683064706f7274f94da065746f74616c01",
     G_REJ, G_REJ, 12},
    {"float32 0.5 as total",
     "a266686561646572a2697265706f72745f69640c6776657273696f6e63312e30676d657472696373"
     "a1736c697374656e696e675f7564705f706f727473a165746f74616cfa3f000000",
     G_REJ, G_REJ, 12},
    {"float16 NaN as packets_in",
     "a266686561646572a2697265706f72745f69640c6776657273696f6e63312e30676d657472696373"
     "a16d6e6574776f726b5f7374617473a16a7061636b6574735f696ef97e00",
     G_REJ, G_REJ, 12},
    {"float16 -1.0 as packets_out",
     "a266686561646572a2697265706f72745f69640c6776657273696f6e63312e30676d657472696373"
     "a16d6e6574776f726b5f7374617473a16b7061636b6574735f6f7574f9bc00",
     G_REJ, G_REJ, 12},
    {"float64 report_id",
     "a266686561646572a2697265706f72745f6964fb427941f297c000006776657273696f6e63312e30"
     "676d657472696373a0",
     G_OK, G_REJ_NOID, 1735689600000ull},
    {"float16 report_id 12.0",
     "a266686561646572a2697265706f72745f6964f94a006776657273696f6e63312e30676d65747269"
     "6373a0",
     G_OK, G_REJ_NOID, 12},
    /* byte strings where text is expected */
    {"byte string version",
     "a266686561646572a2697265706f72745f69640c6776657273696f6e43312e30676d657472696373"
     "a0",
     G_REJ, G_REJ, 12},
    {"byte string interface",
     "a266686561646572a2697265706f72745f69640c6776657273696f6e63312e30676d657472696373"
     "a1736c697374656e696e675f7463705f706f727473a265706f72747381a269696e74657266616365"
     "446574683064706f72741665746f74616c01",
     G_REJ, G_REJ, 12},
    {"byte string remote_addr",
     "a266686561646572a2697265706f72745f69640c6776657273696f6e63312e30676d657472696373"
     "a16f7463705f636f6e6e656374696f6e73a17765737461626c69736865645f636f6e6e656374696f"
     "6e73a16b636f6e6e656374696f6e7381a16b72656d6f74655f61646472513139382e35312e313030"
     "2e373a38383833",
     G_REJ, G_REJ, 12},
    {"byte string in string_list",
     "a266686561646572a2697265706f72745f69640c6776657273696f6e63312e306e637573746f6d5f"
     "6d657472696373a1656e616d657381a16b737472696e675f6c69737481436e6574",
     G_REJ, G_REJ, 12},
    {"byte string under an unknown key",
     "a266686561646572a2697265706f72745f69640c6776657273696f6e63312e30676d657472696373"
     "a16178420102",
     G_OK, G_REJ, 12},
    /* non-text keys */
    {"integer key in metrics",
     "a266686561646572a2697265706f72745f69640c6776657273696f6e63312e30676d657472696373"
     "a10100",
     G_REJ_NOID, G_REJ_NOID, 12},
    {"byte string key header",
     "a246686561646572a2697265706f72745f69640c6776657273696f6e63312e30676d657472696373"
     "a0",
     G_REJ_NOID, G_REJ_NOID, 12},
    {"byte string key in ports entry",
     "a266686561646572a2697265706f72745f69640c6776657273696f6e63312e30676d657472696373"
     "a1736c697374656e696e675f7463705f706f727473a265706f72747381a269696e74657266616365"
     "646574683044706f72741665746f74616c01",
     G_REJ_NOID, G_REJ_NOID, 12},
    /* invalid UTF-8 */
    {"invalid UTF-8 interface",
     "a266686561646572a2697265706f72745f69640c6776657273696f6e63312e30676d657472696373"
     "a1736c697374656e696e675f7463705f706f727473a265706f72747381a269696e74657266616365"
     "64657468ff64706f72741665746f74616c01",
     G_REJ_NOID, G_REJ_NOID, 12},
    {"overlong UTF-8 in a key",
     "a266686561646572a2697265706f72745f69640c6776657273696f6e63312e30676d657472696373"
     "a1c0af00",
     G_REJ_NOID, G_REJ_NOID, 12},
    {"UTF-8 surrogate in version",
     "a266686561646572a2697265706f72745f69640c6776657273696f6e63eda080676d657472696373"
     "a0",
     G_REJ_NOID, G_REJ_NOID, 12},
    {"invalid UTF-8 in a text chunk",
     "a266686561646572a2697265706f72745f69640c6776657273696f6e63312e30676d657472696373"
     "a1736c697374656e696e675f7463705f706f727473a165706f72747381a169696e74657266616365"
     "7f6365746861c3ff",
     G_REJ_NOID, G_REJ_NOID, 12},
    {"valid UTF-8 interface",
     "a266686561646572a2697265706f72745f69640c6776657273696f6e63312e30676d657472696373"
     "a1736c697374656e696e675f7463705f706f727473a265706f72747381a269696e74657266616365"
     "68657468c3a9e4b8ad64706f72741665746f74616c01",
     G_OK, G_OK, 12},
    /* misplaced break */
    {"break as a value",
     "a266686561646572a2697265706f72745f69640c6776657273696f6e63312e30676d657472696373"
     "a16178ff",
     G_REJ_NOID, G_REJ_NOID, 12},
    {"break in a definite map",
     "a266686561646572a2697265706f72745f69640c6776657273696f6e63312e30676d657472696373"
     "a1ff",
     G_REJ_NOID, G_REJ_NOID, 12},
    {"break in a definite array",
     "a266686561646572a2697265706f72745f69640c6776657273696f6e63312e30676d657472696373"
     "a1736c697374656e696e675f7463705f706f727473a165706f72747381ff",
     G_REJ_NOID, G_REJ_NOID, 12},
    {"break as the top-level item", "ff", G_REJ_NOID, G_REJ_NOID, 12},
    {"break after V2",
     "a266686561646572a2697265706f72745f69641b000001941f297c006776657273696f6e63312e30"
     "676d657472696373a0ff",
     G_REJ_NOID, G_REJ_NOID, 12},
    /* simple values */
    {"true as bytes_in",
     "a266686561646572a2697265706f72745f69640c6776657273696f6e63312e30676d657472696373"
     "a16d6e6574776f726b5f7374617473a16862797465735f696ef5",
     G_REJ, G_REJ, 12},
    {"null as port",
     "a266686561646572a2697265706f72745f69640c6776657273696f6e63312e30676d657472696373"
     "a1736c697374656e696e675f7463705f706f727473a265706f72747381a269696e74657266616365"
     "646574683064706f7274f665746f74616c01",
     G_REJ, G_REJ, 12},
    {"undefined as total",
     "a266686561646572a2697265706f72745f69640c6776657273696f6e63312e30676d657472696373"
     "a1736c697374656e696e675f7463705f706f727473a165746f74616cf7",
     G_REJ, G_REJ, 12},
    {"simple(16) as interface",
     "a266686561646572a2697265706f72745f69640c6776657273696f6e63312e30676d657472696373"
     "a1736c697374656e696e675f7463705f706f727473a265706f72747381a269696e74657266616365"
     "f064706f72741665746f74616c01",
     G_REJ, G_REJ, 12},
    {"simple(255) as version",
     "a266686561646572a2697265706f72745f69640c6776657273696f6ef8ff676d657472696373a0", G_REJ, G_REJ,
     12},
    {"null as metrics",
     "a266686561646572a2697265706f72745f69640c6776657273696f6e63312e30676d657472696373"
     "f6",
     G_REJ, G_REJ, 12},
    {"undefined as report_id",
     "a266686561646572a2697265706f72745f6964f76776657273696f6e63312e30676d657472696373"
     "a0",
     G_REJ_NOID, G_REJ_NOID, 12},
    {"false as custom number",
     "a266686561646572a2697265706f72745f69640c6776657273696f6e63312e306e637573746f6d5f"
     "6d657472696373a1616d81a1666e756d626572f4",
     G_REJ, G_REJ, 12},
    {"undefined under an unknown key",
     "a266686561646572a2697265706f72745f69640c6776657273696f6e63312e30676d657472696373"
     "a16178f7",
     G_OK, G_REJ, 12},
    /* nesting (root map = level 1) */
    {"nesting 16 deep",
     "a266686561646572a2697265706f72745f69640c6776657273696f6e63312e30676d657472696373"
     "a16178818181818181818181818181818101",
     G_OK, G_REJ, 12},
    {"nesting 17 deep",
     "a266686561646572a2697265706f72745f69640c6776657273696f6e63312e30676d657472696373"
     "a1617881818181818181818181818181818101",
     G_REJ_NOID, G_REJ_NOID, 12},
    {"nesting 16 deep, indefinite",
     "a266686561646572a2697265706f72745f69640c6776657273696f6e63312e30676d657472696373"
     "a161789f9f9f9f9f9f9f9f9f9f9f9f9f9f01ffffffffffffffffffffffffffff",
     G_OK, G_REJ, 12},
    {"nesting 17 deep, indefinite",
     "a266686561646572a2697265706f72745f69640c6776657273696f6e63312e30676d657472696373"
     "a161789f9f9f9f9f9f9f9f9f9f9f9f9f9f9f01ffffffffffffffffffffffffffffff",
     G_REJ_NOID, G_REJ_NOID, 12},
};

static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = strlen(hex) / 2;
    if (n > cap)
        return 0;
    for (size_t i = 0; i < n; i++)
    {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1)
            return 0;
        out[i] = (uint8_t) v;
    }
    return n;
}

static int run_cbor_cases(int strict, const char *prefix)
{
    int n = 0;
    for (size_t i = 0; i < sizeof cbor_cases / sizeof cbor_cases[0]; i++)
    {
        const cbor_case *c = &cbor_cases[i];
        uint8_t buf[1024];
        size_t len = unhex(c->hex, buf, sizeof buf);
        CHECK(len > 0 && len * 2 == strlen(c->hex), "[%s] bad hex", c->name);
        int exp = strict ? c->strict : c->def;
        char thing[64], label[200];
        snprintf(thing, sizeof thing, "%s%zu", prefix, i);
        snprintf(label, sizeof label, "hand-written cbor: %s %s", c->name,
                 strict ? "strict" : "default");
        publish(thing, 1, buf, len);
        expect_reply(label, thing, 1, exp != G_REJ_NOID, c->id, exp == G_OK ? 0 : 1);
        if (!strict && exp == G_OK)
            g_exp.accepted++;
        else if (!strict)
            g_exp
                .rejected[step_of(cbor_steps, sizeof cbor_steps / sizeof cbor_steps[0], c->name)]++;
        n++;
    }
    return n;
}

static void report_json(char *out, size_t cap, unsigned long long id)
{
    snprintf(out, cap, "{\"header\":{\"report_id\":%llu,\"version\":\"1.0\"},\"metrics\":{}}", id);
}

/* Checks one counter of GET /service/counters ({"name":N,...}) against its expected value. */
static void expect_counter(const char *body, const char *name, unsigned long long want)
{
    char key[64];
    snprintf(key, sizeof key, "\"%s\":", name);
    const char *p = strstr(body, key);
    unsigned long long got = p ? strtoull(p + strlen(key), NULL, 10) : 0;
    CHECK(p != NULL && got == want, "counter %s: %llu, expected %llu", name, got, want);
}

static void sequences_default(const it_service *s)
{
    char r[200];
    /* duplicates are discarded silently (PD-18) */
    report_json(r, sizeof r, 100);
    publish("seq-dup", 0, r, strlen(r));
    expect_reply("dup first", "seq-dup", 0, 1, 100, 0);
    publish("seq-dup", 0, r, strlen(r));
    static const char cb100[] = "\xa2\x66header\xa2\x69report_id\x18\x64\x67version\x63"
                                "1.0\x67metrics\xa0";
    publish("seq-dup", 1, cb100, sizeof cb100 - 1);
    expect_silence("dup discarded (json and cbor)", "seq-dup");
    g_exp.accepted += 1;   /* 100 */
    g_exp.duplicates += 2; /* 100 as JSON and as CBOR */
    /* throttle window shared by json and cbor (PD-17): W=300 s, T=10 % -> 270 s */
    report_json(r, sizeof r, 200);
    publish("seq-thr", 0, r, strlen(r));
    expect_reply("thr first", "seq-thr", 0, 1, 200, 0);
    report_json(r, sizeof r, 201);
    publish("seq-thr", 0, r, strlen(r));
    expect_reply("thr second", "seq-thr", 0, 1, 201, 2);
    uint8_t cb[64];
    const char cb202[] = "\xa2\x63hed\xa2\x63rid\x18\xca\x61v\x63"
                         "1.0\x63met\xa0";
    memcpy(cb, cb202, sizeof cb202 - 1);
    publish("seq-thr", 1, cb, sizeof cb202 - 1);
    expect_reply("thr cbor shares window", "seq-thr", 1, 1, 202, 2);
    set_clock(s, NOW_MS + 269999);
    report_json(r, sizeof r, 203);
    publish("seq-thr", 0, r, strlen(r));
    it_msg m;
    if (it_peer_next(g_peer, &m, 5000))
    {
        CHECK(strstr(m.topic, "/rejected") && strstr((char *) m.payload, "Throttled"),
              "269.999 s later still throttled: %s", (char *) m.payload);
        free(m.payload);
    }
    set_clock(s, NOW_MS + 270000);
    report_json(r, sizeof r, 204);
    publish("seq-thr", 0, r, strlen(r));
    if (it_peer_next(g_peer, &m, 5000))
    {
        CHECK(strstr(m.topic, "/accepted") != NULL, "270 s later accepted: %s", m.topic);
        free(m.payload);
    }
    g_exp.accepted += 2;  /* 200, 204 */
    g_exp.throttled += 3; /* 201, 202 (CBOR), 203 */
    set_clock(s, NOW_MS);
    /* a lower unused id is accepted in default mode (PD-19), once the window allows */
    report_json(r, sizeof r, 50);
    publish("seq-dup", 0, r, strlen(r));
    expect_reply("id 50 inside the window", "seq-dup", 0, 1, 50, 2);
    set_clock(s, NOW_MS + 600000);
    publish("seq-dup", 0, r, strlen(r));
    expect_reply("lower id accepted after the window", "seq-dup", 0, 1, 50, 0);
    publish("seq-dup", 0, r, strlen(r)); /* now a duplicate: silent */
    expect_silence("id 50 duplicate", "seq-dup");
    g_exp.throttled += 1;  /* 50 inside the window */
    g_exp.accepted += 1;   /* 50 after it */
    g_exp.duplicates += 1; /* 50 again */
    set_clock(s, NOW_MS);
    /* one trailing NUL after the JSON text (PD-8): default mode accepts the report */
    static const char nul1[] = "{\"header\":{\"report_id\":5,\"version\":\"1.0\"},\"metrics\":{}}";
    publish("seq-nul", 0, nul1, sizeof nul1); /* sizeof: with the terminator */
    expect_reply("default trailing NUL accepted", "seq-nul", 0, 1, 5, 0);
    g_exp.accepted += 1;
    /* two NULs are not "one trailing NUL": not JSON, so no reportId */
    static const char nul2[] =
        "{\"header\":{\"report_id\":6,\"version\":\"1.0\"},\"metrics\":{}}\0";
    publish("seq-nul", 0, nul2, sizeof nul2);
    expect_reply("default two trailing NULs", "seq-nul", 0, 0, 0, 1);
    g_exp.rejected[S_DECODE] += 1;
    /* size limit (PD-10): 131072 accepted, 131073 dropped without reply */
    size_t big = 131072;
    char *p = malloc(big + 2);
    if (p != NULL)
    {
        report_json(r, sizeof r, 7);
        size_t l = strlen(r);
        memset(p, ' ', big + 1);
        memcpy(p, r, l);
        publish("seq-size", 0, p, big);
        expect_reply("131072 bytes", "seq-size", 0, 1, 7, 0);
        g_exp.accepted += 1;
        publish("seq-size2", 0, p, big + 1);
        expect_silence("131073 bytes dropped", "seq-size2");
        free(p);
    }
    /* thing names (PD-2): 128 bytes answered, 129 ignored */
    char n128[140], n129[140];
    memset(n128, 'n', 128);
    n128[128] = 0;
    memset(n129, 'n', 129);
    n129[129] = 0;
    report_json(r, sizeof r, 9);
    publish(n128, 0, r, strlen(r));
    expect_reply("128-byte name", n128, 0, 1, 9, 0);
    g_exp.accepted += 1;
    publish(n129, 0, r, strlen(r));
    expect_silence("129-byte name ignored", "seq-name");
    /* test hooks: forced rejection, dropped responses */
    hook(s, "/_test/reject?mode=invalid");
    report_json(r, sizeof r, 300);
    publish("seq-hook", 0, r, strlen(r));
    expect_reply("forced invalid", "seq-hook", 0, 1, 300, 1);
    hook(s, "/_test/reject?mode=throttled");
    publish("seq-hook", 1, cb, sizeof cb202 - 1);
    expect_reply("forced throttled", "seq-hook", 1, 1, 202, 2);
    hook(s, "/_test/reject?mode=none");
    hook(s, "/_test/drop-responses?count=1");
    publish("seq-hook", 0, r, strlen(r));
    expect_silence("dropped response", "seq-hook");
    report_json(r, sizeof r, 300);
    publish("seq-hook", 0, r, strlen(r));
    expect_silence("dropped response was accepted: now a duplicate", "seq-hook");
    g_exp.forced += 2;     /* forced invalid, forced throttled (not counted as throttled) */
    g_exp.accepted += 1;   /* 300, response dropped */
    g_exp.duplicates += 1; /* 300 again */
    /* counters over HTTP */
    char *body = NULL;
    int st = it_http(s->http_port, "GET", "/service/counters", NULL, &body);
    CHECK(st == 200 && body != NULL, "counters %d", st);
    if (body != NULL)
    {
        CHECK(strstr(body, "\"dropped_oversize\":1,") != NULL, "oversize counter: %s", body);
        CHECK(strstr(body, "\"ignored_topic\":1,") != NULL, "ignored counter: %s", body);
        CHECK(strstr(body, "\"duplicates_discarded\":4,") != NULL, "duplicates counter: %s", body);
        CHECK(strstr(body, "\"responses_dropped\":1,") != NULL, "dropped counter: %s", body);
        expect_counter(body, "accepted", g_exp.accepted);
        expect_counter(body, "throttled", g_exp.throttled);
        expect_counter(body, "duplicates_discarded", g_exp.duplicates);
        expect_counter(body, "rejected_forced", g_exp.forced);
        expect_counter(body, "rejected_duplicate", 0);
        expect_counter(body, "rejected_id_order", 0);
        for (int i = 0; i < S_COUNT; i++)
            expect_counter(body, step_counter[i], g_exp.rejected[i]);
        free(body);
    }
}

/* --duplicate-reply without --strict (PD-18, PD-19): an id the thing already had accepted
 * gets REJECTED InvalidPayload with its reportId, on JSON and CBOR; a lower unused id is
 * still accepted (only strict mode orders ids); ids of rejected reports are not recorded. */
static void sequences_duplicate_reply(const it_service *s)
{
    char r[200];
    report_json(r, sizeof r, 100);
    publish("dr-dup", 0, r, strlen(r));
    expect_reply("dup-reply first", "dr-dup", 0, 1, 100, 0);
    publish("dr-dup", 0, r, strlen(r));
    expect_reply("dup-reply json duplicate", "dr-dup", 0, 1, 100, 1);
    static const char cb100[] = "\xa2\x66header\xa2\x69report_id\x18\x64\x67version\x63"
                                "1.0\x67metrics\xa0";
    publish("dr-dup", 1, cb100, sizeof cb100 - 1);
    expect_reply("dup-reply cbor duplicate", "dr-dup", 1, 1, 100, 1);
    /* 101 inside the window: throttled, so not recorded */
    report_json(r, sizeof r, 101);
    publish("dr-dup", 0, r, strlen(r));
    expect_reply("dup-reply 101 throttled", "dr-dup", 0, 1, 101, 2);
    set_clock(s, NOW_MS + 600000);
    report_json(r, sizeof r, 50);
    publish("dr-dup", 0, r, strlen(r));
    expect_reply("dup-reply lower unused id accepted", "dr-dup", 0, 1, 50, 0);
    publish("dr-dup", 0, r, strlen(r));
    expect_reply("dup-reply lower id now a duplicate", "dr-dup", 0, 1, 50, 1);
    set_clock(s, NOW_MS + 1200000);
    report_json(r, sizeof r, 101);
    publish("dr-dup", 0, r, strlen(r));
    expect_reply("dup-reply throttled id accepted later", "dr-dup", 0, 1, 101, 0);
    /* the default-mode leniencies are unchanged by the option */
    static const char nul1[] = "{\"header\":{\"report_id\":5,\"version\":\"1.0\"},\"metrics\":{}}";
    publish("dr-nul", 0, nul1, sizeof nul1);
    expect_reply("dup-reply trailing NUL accepted", "dr-nul", 0, 1, 5, 0);
    char *body = NULL;
    int st = it_http(s->http_port, "GET", "/service/counters", NULL, &body);
    CHECK(st == 200 && body != NULL, "counters %d", st);
    if (body != NULL)
    {
        expect_counter(body, "accepted", 4);
        expect_counter(body, "rejected_duplicate", 3);
        expect_counter(body, "duplicates_discarded", 0);
        expect_counter(body, "rejected_id_order", 0);
        expect_counter(body, "throttled", 1);
        free(body);
    }
}

/* A batch whose COMMIT fails (test hook; a full disk gives the same): its reports are not
 * stored and get no ACCEPTED, and the replies that rested on them go too: a duplicate of a
 * report of the batch, and a report throttled by it (PD-17 and PD-18 count accepted reports
 * only). The batch's three reports arrive within one linger. Afterwards the window is unused:
 * the next report is accepted. */
static void sequences_failed_commit(const it_service *s)
{
    char r200[200], r201[200];
    report_json(r200, sizeof r200, 200);
    report_json(r201, sizeof r201, 201);
    hook(s, "/_test/fail-commits?count=1");
    publish("fc-thing", 0, r200, strlen(r200));
    publish("fc-thing", 0, r200, strlen(r200)); /* would be a duplicate of the first */
    publish("fc-thing", 0, r201, strlen(r201)); /* would be throttled by the first */
    expect_silence("failed commit: no reply at all", "fc-thing");
    publish("fc-thing", 0, r201, strlen(r201));
    expect_reply("after the failed commit: accepted (window unused)", "fc-thing", 0, 1, 201, 0);
    char *body = NULL;
    int st = it_http(s->http_port, "GET", "/service/counters", NULL, &body);
    CHECK(st == 200 && body != NULL, "counters %d", st);
    if (body != NULL)
    {
        expect_counter(body, "accepted", 1);
        expect_counter(body, "rejected_duplicate", 0);
        expect_counter(body, "throttled", 0);
        expect_counter(body, "store_errors", 1);
        free(body);
    }
}

static void sequences_strict(const it_service *s)
{
    char r[200];
    report_json(r, sizeof r, 100);
    publish("sq-dup", 0, r, strlen(r));
    expect_reply("strict first", "sq-dup", 0, 1, 100, 0);
    publish("sq-dup", 0, r, strlen(r));
    expect_reply("strict duplicate-reply", "sq-dup", 0, 1, 100, 1);
    set_clock(s, NOW_MS + 400000);
    report_json(r, sizeof r, 99);
    publish("sq-dup", 0, r, strlen(r));
    expect_reply("strict lower id", "sq-dup", 0, 1, 99, 1);
    /* an older accepted id below the highest is a duplicate first (step 9, PD-18), not an
     * ordering error (PD-19): the counters tell the two apart */
    report_json(r, sizeof r, 200);
    publish("sq-dup", 0, r, strlen(r));
    expect_reply("strict higher id", "sq-dup", 0, 1, 200, 0);
    set_clock(s, NOW_MS + 800000);
    report_json(r, sizeof r, 100);
    publish("sq-dup", 0, r, strlen(r));
    expect_reply("strict older accepted id", "sq-dup", 0, 1, 100, 1);
    char *body = NULL;
    int st = it_http(s->http_port, "GET", "/service/counters", NULL, &body);
    CHECK(st == 200 && body != NULL, "counters %d", st);
    if (body != NULL)
    {
        expect_counter(body, "rejected_duplicate", 2);
        expect_counter(body, "rejected_id_order", 1);
        expect_counter(body, "duplicates_discarded", 0);
        free(body);
    }
    set_clock(s, NOW_MS);
    char pad[] = "{\"header\":{\"report_id\":5,\"version\":\"1.0\"},\"metrics\":{}}";
    publish("sq-nul", 0, pad, sizeof pad); /* trailing NUL: strict rejects */
    expect_reply("strict trailing NUL", "sq-nul", 0, 0, 0, 1);
    publish("caf\xc3\xa9", 0, pad, sizeof pad - 1); /* name outside strict charset */
    expect_silence("strict thing name", "sq-nul");
}

int main(int argc, char **argv)
{
    if (argc < 3)
    {
        fprintf(stderr, "usage: %s DEFENDER_DETECT MOSQUITTO\n", argv[0]);
        return 2;
    }
    g_exe = argv[1];
    mosquitto_lib_init();
    if (it_broker_start(&g_broker, argv[2], NULL) != 0)
    {
        fprintf(stderr, "cannot start mosquitto\n");
        return 1;
    }
    g_peer = it_peer_connect(g_broker.port, "$aws/things/+/defender/metrics/+/+");
    if (g_peer == NULL)
    {
        fprintf(stderr, "peer cannot connect\n");
        it_broker_stop(&g_broker);
        return 1;
    }
    char db[400];
    snprintf(db, sizeof db, "%s/default.db", g_broker.dir);
    const char *def_args[] = {"--test-hooks", NULL};
    it_service s;
    if (it_service_start(&s, g_exe, &g_broker, db, def_args) != 0)
    {
        fprintf(stderr, "cannot start defender-detect\n");
        it_failures++;
        goto out;
    }
    set_clock(&s, NOW_MS);
    int n = run_cases(&s, 0, "gd");
    printf("default mode: %d golden replies checked\n", n);
    n = run_cbor_cases(0, "cd");
    printf("default mode: %d hand-written CBOR replies checked\n", n);
    sequences_default(&s);
    CHECK(it_log_contains(s.log, "rejected thing=gd5-0 reportId=12 format=json code=InvalidPayload "
                                 "reason=\"port out of range or invalid in listening_tcp_ports[0]"),
          "log line with the detailed reason");
    CHECK(it_log_contains(s.log, "dropped report thing=seq-size2: payload of 131073 bytes"),
          "oversize logged");
    int rc = it_service_stop(&s, SIGTERM, 10000);
    CHECK(rc == 0, "SIGTERM exit status %d", rc);
    /* restart on the same database: duplicates and the throttle window survive */
    if (it_service_start(&s, g_exe, &g_broker, db, def_args) != 0)
    {
        it_failures++;
        goto out;
    }
    set_clock(&s, NOW_MS + 1000);
    char r[200];
    report_json(r, sizeof r, 100);
    publish("seq-dup", 0, r, strlen(r));
    expect_silence("duplicate after restart", "seq-dup");
    report_json(r, sizeof r, 205);
    publish("seq-thr", 0, r, strlen(r));
    expect_reply("window after restart", "seq-thr", 0, 1, 205, 2);
    it_service_stop(&s, SIGTERM, 10000);

    /* --duplicate-reply alone (default mode) */
    snprintf(db, sizeof db, "%s/dupreply.db", g_broker.dir);
    const char *dup_args[] = {"--test-hooks", "--duplicate-reply", NULL};
    if (it_service_start(&s, g_exe, &g_broker, db, dup_args) != 0)
    {
        fprintf(stderr, "cannot start defender-detect --duplicate-reply\n");
        it_failures++;
        goto out;
    }
    set_clock(&s, NOW_MS);
    sequences_duplicate_reply(&s);
    rc = it_service_stop(&s, SIGTERM, 10000);
    CHECK(rc == 0, "SIGTERM exit status %d", rc);

    /* a failed COMMIT; batches linger 100 ms (the most allowed) so that three reports make one */
    snprintf(db, sizeof db, "%s/failcommit.db", g_broker.dir);
    const char *fail_args[] = {"--test-hooks", "--duplicate-reply", "--batch-linger-us", "100000",
                               NULL};
    if (it_service_start(&s, g_exe, &g_broker, db, fail_args) != 0)
    {
        fprintf(stderr, "cannot start defender-detect for the failed commit\n");
        it_failures++;
        goto out;
    }
    set_clock(&s, NOW_MS);
    sequences_failed_commit(&s);
    rc = it_service_stop(&s, SIGTERM, 10000);
    CHECK(rc == 0, "SIGTERM exit status %d", rc);

    snprintf(db, sizeof db, "%s/strict.db", g_broker.dir);
    const char *strict_args[] = {"--test-hooks", "--strict", "--duplicate-reply", NULL};
    if (it_service_start(&s, g_exe, &g_broker, db, strict_args) != 0)
    {
        fprintf(stderr, "cannot start strict defender-detect\n");
        it_failures++;
        goto out;
    }
    set_clock(&s, NOW_MS);
    n = run_cases(&s, 1, "gs");
    printf("strict mode: %d golden replies checked\n", n);
    n = run_cbor_cases(1, "cs");
    printf("strict mode: %d hand-written CBOR replies checked\n", n);
    sequences_strict(&s);
    rc = it_service_stop(&s, SIGTERM, 10000);
    CHECK(rc == 0, "SIGTERM exit status %d", rc);
out:
    CHECK(it_peer_pending(g_peer) == 0, "%zu unexpected extra replies", it_peer_pending(g_peer));
    it_peer_close(g_peer);
    return it_finish(&g_broker, argv[0]);
}
