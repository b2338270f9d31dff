/* End to end through the real path: reports published on a real Mosquitto broker, the
 * defender-detect process (ingestion, then Rules Detect), profiles created and events read
 * back through its HTTP API, alerts received on the MQTT alert topic. Every golden case of
 * detect-rules.md section 7 (7.1-7.5), a restart in the middle of alarms, the invalidation
 * sweep. Usage: rules_e2e DEFENDER_DETECT MOSQUITTO */
#include "itest.h"

#include <cjson/cJSON.h>
#include <mosquitto.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T0          1767225600LL
#define ARNQ        "securityProfileTargetArn=arn%3Aaws%3Aiot%3Aus-east-1%3A123456789012%3A"
#define ALERT_TOPIC "rules/e2e/alerts"

static int failures, checks;
static const char *g_exe;
static it_broker g_broker;
static it_service g_svc;
static it_peer *g_pub, *g_replies, *g_alerts;
static char g_db[512], g_groups[512];

#undef CHECK /* itest.h has one without the count of checks */
#define CHECK(cond, ...)                                                                           \
    do                                                                                             \
    {                                                                                              \
        checks++;                                                                                  \
        if (!(cond))                                                                               \
        {                                                                                          \
            failures++;                                                                            \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                                   \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fprintf(stderr, "\n");                                                                 \
        }                                                                                          \
    } while (0)

static int start_service(void)
{
    const char *args[] = {"--test-hooks", "--alert-topic", ALERT_TOPIC, "--thing-groups",
                          g_groups,       "--log-level",   "warn",      NULL};
    return it_service_start(&g_svc, g_exe, &g_broker, g_db, args);
}

static int api(const char *method, const char *pq, const char *body, cJSON **out)
{
    char *resp = NULL;
    int st = it_http(g_svc.http_port, method, pq, body, &resp);
    if (out)
        *out = resp ? cJSON_Parse(resp) : NULL;
    if (st != 200 && out == NULL)
        fprintf(stderr, "%s %s -> %d %s\n", method, pq, st, resp ? resp : "");
    free(resp);
    return st;
}

static void set_clock(long long ms)
{
    char path[96];
    snprintf(path, sizeof path, "/_test/clock?nowMs=%lld", ms);
    CHECK(api("POST", path, NULL, NULL) == 200, "clock");
}

/* Publishes a report for `thing` received at T0 + t and waits for its ACCEPTED reply. */
static void report(const char *thing, long long t, const char *body)
{
    set_clock((T0 + t) * 1000);
    char json[8192], topic[256];
    snprintf(json, sizeof json, "{\"header\":{\"report_id\":%lld,\"version\":\"1.0\"},%s}",
             (T0 + t) * 1000, body);
    snprintf(topic, sizeof topic, "$aws/things/%s/defender/metrics/json", thing);
    CHECK(it_peer_publish(g_pub, topic, json, strlen(json), 1) == 0, "publish");
    it_msg m;
    if (it_peer_next(g_replies, &m, 5000))
    {
        CHECK(strstr(m.topic, thing) != NULL && strstr(m.topic, "/accepted") != NULL,
              "%s t=%lld not accepted: %s %.*s", thing, t, m.topic, (int) m.len,
              (const char *) m.payload);
        free(m.payload);
    }
    else
        CHECK(0, "%s t=%lld: no reply", thing, t);
}

/* Events of a profile at exactly T0 + t, waiting (evaluation follows the reply) until n. */
static cJSON *events_at(const char *profile, long long t, int n)
{
    char pq[300];
    snprintf(pq, sizeof pq,
             "/violation-events?startTime=%lld&endTime=%lld&securityProfileName=%s&maxResults=250",
             T0 + t, T0 + t, profile);
    cJSON *ev = NULL;
    for (int i = 0; i < 100; i++)
    {
        cJSON *o = NULL;
        int st = api("GET", pq, NULL, &o);
        cJSON_Delete(ev);
        ev = o ? cJSON_DetachItemFromObjectCaseSensitive(o, "violationEvents") : NULL;
        cJSON_Delete(o);
        if (st == 200 && ev != NULL && cJSON_GetArraySize(ev) >= n && (n > 0 || i >= 5))
            break;
        it_sleep_ms(30);
    }
    int got = ev ? cJSON_GetArraySize(ev) : -1;
    if (got != n)
    {
        char *s = ev ? cJSON_PrintUnformatted(ev) : NULL;
        CHECK(0, "%s t=%lld: %d events, want %d: %s", profile, t, got, n, s ? s : "");
        free(s);
    }
    else
        CHECK(1, "events");
    return ev;
}

/* Violation-id labels (V1, V2 ...) per golden table. */
typedef struct
{
    char label[8];
    char vid[40];
} vlabel;
static vlabel g_labels[64];
static size_t g_nlabels;

static void label_check(const char *label, const char *vid)
{
    for (size_t i = 0; i < g_nlabels; i++)
    {
        if (strcmp(g_labels[i].label, label) == 0)
        {
            CHECK(strcmp(g_labels[i].vid, vid) == 0, "%s: id %s, earlier %s", label, vid,
                  g_labels[i].vid);
            return;
        }
        CHECK(strcmp(g_labels[i].vid, vid) != 0, "%s has the id of %s", label, g_labels[i].label);
    }
    if (g_nlabels < 64)
    {
        snprintf(g_labels[g_nlabels].label, sizeof g_labels[0].label, "%s", label);
        snprintf(g_labels[g_nlabels].vid, sizeof g_labels[0].vid, "%s", vid);
        g_nlabels++;
    }
}

static int json_eq(const cJSON *got, const char *want)
{
    cJSON *w = want ? cJSON_Parse(want) : NULL;
    int eq = want == NULL ? got == NULL : (w != NULL && got != NULL && cJSON_Compare(got, w, 1));
    cJSON_Delete(w);
    return eq;
}

/* Expects one event (type, behavior, thing, value or NULL) with a label. */
static void expect(const cJSON *evs, const char *type, const char *beh, const char *thing,
                   const char *value, const char *label)
{
    const cJSON *ev;
    cJSON_ArrayForEach(ev, evs)
    {
        const cJSON *b = cJSON_GetObjectItem(ev, "behavior");
        if (strcmp(cJSON_GetObjectItem(ev, "violationEventType")->valuestring, type) == 0 &&
            strcmp(cJSON_GetObjectItem(b, "name")->valuestring, beh) == 0 &&
            strcmp(cJSON_GetObjectItem(ev, "thingName")->valuestring, thing) == 0)
        {
            const cJSON *mv = cJSON_GetObjectItem(ev, "metricValue");
            char *g = mv ? cJSON_PrintUnformatted(mv) : NULL;
            CHECK(json_eq(mv, value), "%s %s %s: metricValue %s, want %s", type, beh, thing,
                  g ? g : "(none)", value ? value : "(none)");
            free(g);
            label_check(label, cJSON_GetObjectItem(ev, "violationId")->valuestring);
            return;
        }
    }
    char *all = cJSON_PrintUnformatted(evs);
    CHECK(0, "missing %s %s %s in %s", type, beh, thing, all ? all : "");
    free(all);
}

static void attach(const char *profile, const char *target_q)
{
    char pq[300];
    snprintf(pq, sizeof pq, "/security-profiles/%s/targets?%s%s", profile, ARNQ, target_q);
    CHECK(api("PUT", pq, NULL, NULL) == 200, "attach %s", profile);
}

/* ---------------------------------------------------------------------------------------------
 * 7.1 with a restart in the middle of three alarms
 * ------------------------------------------------------------------------------------------- */

static const char *const PROFILE_A =
    "{\"securityProfileDescription\":\"Traffic and connection limits for sensors\",\"behaviors\":["
    "{\"name\":\"bytes-out-5min\",\"metric\":\"aws:all-bytes-out\",\"criteria\":{"
    "\"comparisonOperator\":\"less-than-equals\",\"value\":{\"count\":10000},\"durationSeconds\":"
    "300,\"consecutiveDatapointsToAlarm\":2,\"consecutiveDatapointsToClear\":2}},{\"name\":"
    "\"packets-in-15min\",\"metric\":\"aws:all-packets-in\",\"criteria\":{\"comparisonOperator\":"
    "\"less-than\",\"value\":{\"count\":1000},\"durationSeconds\":900}},{\"name\":\"max-"
    "established\",\"metric\":\"aws:num-established-tcp-connections\",\"criteria\":{"
    "\"comparisonOperator\":\"less-than-equals\",\"value\":{\"count\":3}}},{\"name\":\"min-"
    "listeners\",\"metric\":\"aws:num-listening-tcp-ports\",\"criteria\":{\"comparisonOperator\":"
    "\"greater-than\",\"value\":{\"count\":0},\"durationSeconds\":300,"
    "\"consecutiveDatapointsToAlarm\":1,\"consecutiveDatapointsToClear\":1},\"suppressAlerts\":"
    "true}],\"alertTargets\":{\"SNS\":{\"alertTargetArn\":\"arn:aws:sns:us-east-1:123456789012:"
    "dd-alerts\",\"roleArn\":\"arn:aws:iam::123456789012:role/dd-alerts\"}},"
    "\"additionalMetricsToRetainV2\":[{\"metric\":\"aws:all-bytes-in\"}]}";

static void report_a(long long t, int bo, int pi, int ec, int tp)
{
    char ports[200] = "", body[1024];
    static const int pl[2] = {22, 8883};
    for (int i = 0; i < tp && i < 2; i++)
        snprintf(ports + strlen(ports), sizeof ports - strlen(ports),
                 "%s{\"interface\":\"eth0\",\"port\":%d}", i ? "," : "", pl[i]);
    if (bo < 0)
        snprintf(body, sizeof body,
                 "\"metrics\":{\"listening_tcp_ports\":{\"ports\":[%s],\"total\":%d},"
                 "\"tcp_connections\":{\"established_connections\":{\"total\":%d}}}",
                 ports, tp, ec);
    else
        snprintf(body, sizeof body,
                 "\"metrics\":{\"listening_tcp_ports\":{\"ports\":[%s],\"total\":%d},"
                 "\"network_stats\":{\"bytes_in\":800,\"bytes_out\":%d,\"packets_in\":%d,"
                 "\"packets_out\":90},\"tcp_connections\":{\"established_connections\":{\"total\":"
                 "%d}}}",
                 ports, tp, bo, pi, ec);
    report("sensor-1", t, body);
}

static void golden_a(void)
{
    g_nlabels = 0;
    CHECK(api("POST", "/security-profiles/net-baseline", PROFILE_A, NULL) == 200, "create A");
    attach("net-baseline", "all%2Fthings");
    report_a(0, 4000, 300, 2, 2);
    cJSON_Delete(events_at("net-baseline", 0, 0));
    report_a(300, 12000, 300, 2, 2);
    cJSON_Delete(events_at("net-baseline", 300, 0));
    report_a(600, 15000, 500, 5, 2);
    cJSON *e = events_at("net-baseline", 600, 3);
    expect(e, "in-alarm", "bytes-out-5min", "sensor-1", "{\"count\":15000}", "V1");
    expect(e, "in-alarm", "packets-in-15min", "sensor-1", "{\"count\":1100}", "V2");
    expect(e, "in-alarm", "max-established", "sensor-1", "{\"count\":5}", "V3");
    cJSON_Delete(e);
    /* restart in the middle of three alarms */
    CHECK(it_service_stop(&g_svc, SIGTERM, 10000) == 0, "clean stop");
    CHECK(start_service() == 0, "restart");
    report_a(900, 9000, 100, 3, 0);
    e = events_at("net-baseline", 900, 3);
    expect(e, "alarm-cleared", "packets-in-15min", "sensor-1", "{\"count\":900}", "V2");
    expect(e, "alarm-cleared", "max-established", "sensor-1", "{\"count\":3}", "V3");
    expect(e, "in-alarm", "min-listeners", "sensor-1", "{\"count\":0}", "V4");
    cJSON_Delete(e);
    report_a(1200, 11000, 100, 1, 1);
    e = events_at("net-baseline", 1200, 1);
    expect(e, "alarm-cleared", "min-listeners", "sensor-1", "{\"count\":1}", "V4");
    cJSON_Delete(e);
    cJSON *o = NULL;
    CHECK(api("GET", "/active-violations?thingName=sensor-1", NULL, &o) == 200, "active");
    char want[1024];
    snprintf(want, sizeof want,
             "{\"activeViolations\":[{\"violationId\":\"%s\",\"thingName\":\"sensor-1\","
             "\"securityProfileName\":\"net-baseline\",\"behavior\":{\"name\":\"bytes-out-5min\","
             "\"metric\":\"aws:all-bytes-out\",\"criteria\":{\"comparisonOperator\":\"less-than-"
             "equals\",\"value\":{\"count\":10000},\"durationSeconds\":300,"
             "\"consecutiveDatapointsToAlarm\":2,\"consecutiveDatapointsToClear\":2}},"
             "\"lastViolationValue\":{\"count\":11000},\"lastViolationTime\":1767226800.0,"
             "\"violationStartTime\":1767226200.0}]}",
             g_labels[0].vid);
    char *got = o ? cJSON_PrintUnformatted(o) : NULL;
    CHECK(json_eq(o, want), "active violations after t=1200: %s", got ? got : "");
    free(got);
    cJSON_Delete(o);
    report_a(1500, 2000, 100, 1, 1);
    cJSON_Delete(events_at("net-baseline", 1500, 0));
    report_a(1800, 3000, 100, 2, 1);
    e = events_at("net-baseline", 1800, 1);
    expect(e, "alarm-cleared", "bytes-out-5min", "sensor-1", "{\"count\":3000}", "V1");
    cJSON_Delete(e);
    report_a(2100, -1, 0, 4, 1);
    e = events_at("net-baseline", 2100, 1);
    expect(e, "in-alarm", "max-established", "sensor-1", "{\"count\":4}", "V5");
    cJSON_Delete(e);
    CHECK(api("GET",
              "/violation-events?startTime=2026-01-01T00:00:00Z&endTime=1767227700&thingName="
              "sensor-1",
              NULL, &o) == 200,
          "history");
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(o, "violationEvents")) == 9, "9 events");
    cJSON_Delete(o);
    CHECK(api("GET",
              "/violation-events?startTime=1767225600&endTime=1767227700&thingName=sensor-1&"
              "listSuppressedAlerts=true",
              NULL, &o) == 200,
          "suppressed");
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(o, "violationEvents")) == 2, "2 suppressed");
    cJSON_Delete(o);
}

/* ---------------------------------------------------------------------------------------------
 * 7.2
 * ------------------------------------------------------------------------------------------- */

#define TCP(list)   "\"listening_tcp_ports\":{\"ports\":[" list "]}"
#define UDP(list)   "\"listening_udp_ports\":{\"ports\":[" list "]}"
#define P(n)        "{\"port\":" #n "}"
#define CONNS(list) "\"tcp_connections\":{\"established_connections\":{\"connections\":[" list "]}}"
#define C(a)        "{\"remote_addr\":\"" a "\",\"local_port\":40000}"

static void golden_b(void)
{
    g_nlabels = 0;
    CHECK(api("POST", "/thing-groups/gateways", "{}", NULL) == 200, "group");
    CHECK(api("PUT", "/thing-groups/addThingToThingGroup",
              "{\"thingGroupName\":\"gateways\",\"thingName\":\"gw-7\"}", NULL) == 200,
          "member");
    CHECK(
        api("POST", "/security-profiles/gateway-network-policy",
            "{\"behaviors\":[{\"name\":\"allowed-tcp-listeners\",\"metric\":\"aws:listening-tcp-"
            "ports\",\"criteria\":{\"comparisonOperator\":\"in-port-set\",\"value\":{\"ports\":["
            "22,443,8883]}}},{\"name\":\"no-telnet-tftp-udp\",\"metric\":\"aws:listening-udp-"
            "ports\",\"criteria\":{\"comparisonOperator\":\"not-in-port-set\",\"value\":{"
            "\"ports\":[23,69,2323]}},\"suppressAlerts\":true},{\"name\":\"allowed-destinations\","
            "\"metric\":\"aws:destination-ip-addresses\",\"criteria\":{\"comparisonOperator\":"
            "\"in-cidr-set\",\"value\":{\"cidrs\":[\"10.0.0.0/8\",\"203.0.113.0/24\",\"2001:db8:"
            "1::/48\"]}}},{\"name\":\"blocked-destinations\",\"metric\":\"aws:destination-ip-"
            "addresses\",\"criteria\":{\"comparisonOperator\":\"not-in-cidr-set\",\"value\":{"
            "\"cidrs\":[\"198.51.100.0/24\"]},\"consecutiveDatapointsToClear\":2}}],"
            "\"alertTargets\":{\"SNS\":{\"alertTargetArn\":\"arn:aws:sns:us-east-1:123456789012:"
            "dd-alerts\",\"roleArn\":\"arn:aws:iam::123456789012:role/dd-alerts\"}}}",
            NULL) == 200,
        "create B");
    attach("gateway-network-policy", "thinggroup%2Fgateways");
    const char *pn = "gateway-network-policy";
    report("gw-7", 0,
           "\"metrics\":{" TCP(P(22) "," P(8883)) "," UDP(P(5353)) "," CONNS(
               C("10.1.2.3:8883") "," C("203.0.113.10:443")) "}");
    cJSON_Delete(events_at(pn, 0, 0));
    report("gw-7", 300,
           "\"metrics\":{" TCP(P(22) "," P(8883) "," P(2222)) "," UDP(P(5353) "," P(69)) "," CONNS(
               C("10.1.2.3:8883") "," C("198.51.100.20:4444")) "}");
    cJSON *e = events_at(pn, 300, 4);
    expect(e, "in-alarm", "allowed-tcp-listeners", "gw-7", "{\"ports\":[22,8883,2222]}", "V1");
    expect(e, "in-alarm", "no-telnet-tftp-udp", "gw-7", "{\"ports\":[5353,69]}", "V2");
    expect(e, "in-alarm", "allowed-destinations", "gw-7",
           "{\"cidrs\":[\"10.1.2.3\",\"198.51.100.20\"]}", "V3");
    expect(e, "in-alarm", "blocked-destinations", "gw-7",
           "{\"cidrs\":[\"10.1.2.3\",\"198.51.100.20\"]}", "V4");
    cJSON_Delete(e);
    report("gw-7", 600,
           "\"metrics\":{\"listening_tcp_ports\":{\"ports\":[],\"total\":0}," CONNS(
               C("[2001:db8:1::5]:443")) "}");
    e = events_at(pn, 600, 2);
    expect(e, "alarm-cleared", "allowed-tcp-listeners", "gw-7", "{\"ports\":[]}", "V1");
    expect(e, "alarm-cleared", "allowed-destinations", "gw-7", "{\"cidrs\":[\"2001:db8:1::5\"]}",
           "V3");
    cJSON_Delete(e);
    report("gw-7", 900, "\"metrics\":{" TCP(P(443)) "," UDP("") "," CONNS(C("10.9.9.9:1883")) "}");
    e = events_at(pn, 900, 2);
    expect(e, "alarm-cleared", "no-telnet-tftp-udp", "gw-7", "{\"ports\":[]}", "V2");
    expect(e, "alarm-cleared", "blocked-destinations", "gw-7", "{\"cidrs\":[\"10.9.9.9\"]}", "V4");
    cJSON_Delete(e);
    report("gw-7", 1200,
           "\"metrics\":{" TCP(P(443)) "," UDP("") "," CONNS(
               C("198.51.100.7:53") "," C("10.9.9.9:1883")) "}");
    e = events_at(pn, 1200, 2);
    expect(e, "in-alarm", "allowed-destinations", "gw-7",
           "{\"cidrs\":[\"198.51.100.7\",\"10.9.9.9\"]}", "V5");
    expect(e, "in-alarm", "blocked-destinations", "gw-7",
           "{\"cidrs\":[\"198.51.100.7\",\"10.9.9.9\"]}", "V6");
    cJSON_Delete(e);
    report(
        "gw-7", 1500,
        "\"metrics\":{" TCP(P(443)) "," UDP("") ",\"tcp_connections\":{\"established_"
                                                "connections\":{\"connections\":[],\"total\":0}}}");
    e = events_at(pn, 1500, 1);
    expect(e, "alarm-cleared", "allowed-destinations", "gw-7", "{\"cidrs\":[]}", "V5");
    cJSON_Delete(e);
    cJSON *o = NULL;
    CHECK(api("GET", "/active-violations?thingName=gw-7", NULL, &o) == 200, "active");
    cJSON *av = cJSON_GetObjectItem(o, "activeViolations");
    CHECK(cJSON_GetArraySize(av) == 1 &&
              strcmp(cJSON_GetObjectItem(cJSON_GetArrayItem(av, 0), "violationId")->valuestring,
                     g_labels[5].vid) == 0,
          "V6 stays active (RD-19)");
    cJSON_Delete(o);
}

/* ---------------------------------------------------------------------------------------------
 * 7.3
 * ------------------------------------------------------------------------------------------- */

static void golden_c(void)
{
    g_nlabels = 0;
    static const char *const cms[][2] = {{"battery_pct", "number"},
                                         {"wifi_channels", "number-list"},
                                         {"fw_components", "string-list"},
                                         {"dns_servers", "ip-address-list"}};
    for (size_t i = 0; i < 4; i++)
    {
        char path[128], body[200];
        snprintf(path, sizeof path, "/custom-metric/%s", cms[i][0]);
        snprintf(body, sizeof body, "{\"metricType\":\"%s\",\"clientRequestToken\":\"t%zu\"}",
                 cms[i][1], i);
        CHECK(api("POST", path, body, NULL) == 200, "custom metric %s", cms[i][0]);
    }
    CHECK(api("POST", "/things/plug-3", "{}", NULL) == 200, "register");
    CHECK(api("POST", "/security-profiles/plug-health",
              "{\"behaviors\":[{\"name\":\"battery-floor\",\"metric\":\"battery_pct\",\"criteria\":"
              "{\"comparisonOperator\":\"greater-than-equals\",\"value\":{\"number\":20},"
              "\"consecutiveDatapointsToAlarm\":3,\"consecutiveDatapointsToClear\":1}},{\"name\":"
              "\"wifi-channels\",\"metric\":\"wifi_channels\",\"criteria\":{\"comparisonOperator\":"
              "\"in-set\",\"value\":{\"numbers\":[1,6,11]}}},{\"name\":\"no-vulnerable-firmware\","
              "\"metric\":\"fw_components\",\"criteria\":{\"comparisonOperator\":\"not-in-set\","
              "\"value\":{\"strings\":[\"bootloader-1.0.0\",\"netstack-2.3.1\"]}}},{\"name\":\"dns-"
              "allowlist\",\"metric\":\"dns_servers\",\"criteria\":{\"comparisonOperator\":\"in-"
              "cidr-set\",\"value\":{\"cidrs\":[\"10.0.0.0/8\",\"192.0.2.53/32\"]}}}]}",
              NULL) == 200,
          "create C");
    attach("plug-health", "all%2Fregistered-things");
    const char *pn = "plug-health";
    report("plug-3", 0,
           "\"custom_metrics\":{\"battery_pct\":[{\"number\":55}],\"wifi_channels\":[{\"number_"
           "list\":[6]}],\"fw_components\":[{\"string_list\":[\"bootloader-1.1.0\",\"netstack-2."
           "4.0\"]}],\"dns_servers\":[{\"ip_list\":[\"10.0.0.2\"]}]}");
    cJSON_Delete(events_at(pn, 0, 0));
    report("plug-3", 300,
           "\"custom_metrics\":{\"battery_pct\":[{\"number\":19.5}],\"wifi_channels\":[{\"number_"
           "list\":[6,13]}],\"fw_components\":[{\"string_list\":[\"bootloader-1.1.0\",\"netstack-"
           "2.4.0\"]}],\"dns_servers\":[{\"ip_list\":[\"10.0.0.2\",\"8.8.8.8\"]}]}");
    cJSON *e = events_at(pn, 300, 2);
    expect(e, "in-alarm", "wifi-channels", "plug-3", "{\"numbers\":[6,13]}", "V1");
    expect(e, "in-alarm", "dns-allowlist", "plug-3", "{\"cidrs\":[\"10.0.0.2\",\"8.8.8.8\"]}",
           "V2");
    cJSON_Delete(e);
    report("plug-3", 600,
           "\"custom_metrics\":{\"battery_pct\":[{\"number\":25}],\"wifi_channels\":[{\"number_"
           "list\":[]}],\"fw_components\":[{\"string_list\":[\"bootloader-1.0.0\",\"netstack-2.4."
           "0\"]}],\"dns_servers\":[{\"ip_list\":[\"192.0.2.53\"]}]}");
    e = events_at(pn, 600, 3);
    expect(e, "alarm-cleared", "wifi-channels", "plug-3", "{\"numbers\":[]}", "V1");
    expect(e, "in-alarm", "no-vulnerable-firmware", "plug-3",
           "{\"strings\":[\"bootloader-1.0.0\",\"netstack-2.4.0\"]}", "V3");
    expect(e, "alarm-cleared", "dns-allowlist", "plug-3", "{\"cidrs\":[\"192.0.2.53\"]}", "V2");
    cJSON_Delete(e);
    report("plug-3", 900, "\"custom_metrics\":{\"battery_pct\":[{\"number\":18}]}");
    cJSON_Delete(events_at(pn, 900, 0));
    report("plug-3", 1200, "\"custom_metrics\":{\"battery_pct\":[{\"number\":17}]}");
    cJSON_Delete(events_at(pn, 1200, 0));
    report("plug-3", 1500, "\"custom_metrics\":{\"battery_pct\":[{\"number\":16}]}");
    e = events_at(pn, 1500, 1);
    expect(e, "in-alarm", "battery-floor", "plug-3", "{\"number\":16}", "V4");
    cJSON_Delete(e);
    report("plug-3", 1800,
           "\"custom_metrics\":{\"battery_pct\":[{\"number\":21}],\"wifi_channels\":[{\"number_"
           "list\":[1,11]}],\"fw_components\":[{\"string_list\":[]}],\"dns_servers\":[{\"ip_"
           "list\":[\"10.20.30.40\"]}]}");
    e = events_at(pn, 1800, 2);
    expect(e, "alarm-cleared", "battery-floor", "plug-3", "{\"number\":21}", "V4");
    expect(e, "alarm-cleared", "no-vulnerable-firmware", "plug-3", "{\"strings\":[]}", "V3");
    cJSON_Delete(e);
}

/* ---------------------------------------------------------------------------------------------
 * 7.4 (group from the --thing-groups file)
 * ------------------------------------------------------------------------------------------- */

static void golden_d(void)
{
    g_nlabels = 0;
    CHECK(api("POST", "/security-profiles/meter-outliers",
              "{\"behaviors\":[{\"name\":\"bytes-out-p90\",\"metric\":\"aws:all-bytes-out\","
              "\"criteria\":{\"comparisonOperator\":\"less-than-equals\",\"statisticalThreshold\":"
              "{\"statistic\":\"p90\"},\"durationSeconds\":300,\"consecutiveDatapointsToAlarm\":1,"
              "\"consecutiveDatapointsToClear\":1}}]}",
              NULL) == 200,
          "create D");
    attach("meter-outliers", "thinggroup%2Fmeters");
    static const int vals[3][10] = {{100, 200, 300, 400, 500, 600, 700, 800, 900, 1000},
                                    {120, 180, 260, 390, 450, 610, 700, 820, 900, 5000},
                                    {950, 210, 280, 380, 470, 590, 720, 790, 880, 800}};
    const char *pn = "meter-outliers";
    for (int b = 0; b < 3; b++)
    {
        for (int i = 0; i < 10; i++)
        {
            char thing[8], body[200];
            snprintf(thing, sizeof thing, "m%02d", i + 1);
            snprintf(body, sizeof body, "\"metrics\":{\"network_stats\":{\"bytes_out\":%d}}",
                     vals[b][i]);
            report(thing, 10 + 300 * b, body);
        }
        report("x99", 10 + 300 * b, "\"metrics\":{\"network_stats\":{\"bytes_out\":100000}}");
    }
    cJSON_Delete(events_at(pn, 10, 0));
    cJSON *e = events_at(pn, 310, 1);
    expect(e, "in-alarm", "bytes-out-p90", "m10", "{\"count\":5000}", "V1");
    cJSON_Delete(e);
    e = events_at(pn, 610, 2);
    expect(e, "in-alarm", "bytes-out-p90", "m01", "{\"count\":950}", "V2");
    expect(e, "alarm-cleared", "bytes-out-p90", "m10", "{\"count\":800}", "V1");
    cJSON_Delete(e);
}

/* 7.5 through the service's HTTP API (custom metrics of 7.3 defined by then). */
#define VB(metric, crit) "{\"name\":\"b\",\"metric\":\"" metric "\",\"criteria\":{" crit "}}"
static void golden_validation(void)
{
    static const char *const cases[][2] = {
        {VB("aws:all-bytes-out", "\"comparisonOperator\":\"less-than\",\"value\":{\"count\":"
                                 "4096},\"durationSeconds\":300"),
         NULL},
        {VB("aws:all-bytes-out", "\"comparisonOperator\":\"less-than\",\"value\":{\"count\":"
                                 "\"4096\"},\"durationSeconds\":300"),
         NULL},
        {VB("aws:all-bytes-out", "\"comparisonOperator\":\"less-than\",\"value\":{\"count\":"
                                 "4096},\"durationSeconds\":120"),
         "durationSeconds 120 not one of 300, 600, 900, 1800, 3600"},
        {VB("aws:all-bytes-out", "\"comparisonOperator\":\"in-port-set\",\"value\":{\"ports\":["
                                 "22]}"),
         "operator in-port-set not valid for metric aws:all-bytes-out"},
        {VB("aws:listening-tcp-ports", "\"comparisonOperator\":\"in-port-set\",\"value\":{"
                                       "\"ports\":[22]},\"durationSeconds\":300"),
         "durationSeconds not allowed for list-based metric"},
        {VB("aws:listening-tcp-ports", "\"comparisonOperator\":\"in-port-set\",\"value\":{"
                                       "\"ports\":[70000]}"),
         "port 70000 out of range [0,65535]"},
        {VB("aws:destination-ip-addresses", "\"comparisonOperator\":\"in-cidr-set\",\"value\":{"
                                            "\"cidrs\":[\"10.0.0.0/33\"]}"),
         "invalid CIDR 10.0.0.0/33"},
        {VB("aws:num-established-tcp-connections",
            "\"comparisonOperator\":\"less-than\",\"value\":{\"count\":3},"
            "\"consecutiveDatapointsToAlarm\":100000"),
         "consecutiveDatapointsToAlarm 100000 should be in range[1,10]"},
        {VB("aws:num-established-tcp-connections",
            "\"comparisonOperator\":\"less-than\",\"value\":{\"count\":-1}"),
         "count must be >= 0"},
        {VB("aws:all-bytes-in", "\"comparisonOperator\":\"less-than-equals\","
                                "\"statisticalThreshold\":{\"statistic\":\"p95\"},"
                                "\"durationSeconds\":300"),
         "statistic p95 not supported"},
        {VB("aws:all-bytes-in", "\"comparisonOperator\":\"less-than-equals\","
                                "\"statisticalThreshold\":{\"statistic\":\"p90\"}"),
         "durationSeconds required with statisticalThreshold"},
        {VB("aws:listening-udp-ports", "\"comparisonOperator\":\"in-port-set\","
                                       "\"statisticalThreshold\":{\"statistic\":\"p50\"}"),
         "statisticalThreshold not valid for metric aws:listening-udp-ports"},
        {VB("aws:all-bytes-in", "\"comparisonOperator\":\"less-than\",\"value\":{\"count\":1},"
                                "\"statisticalThreshold\":{\"statistic\":\"p50\"},"
                                "\"durationSeconds\":300"),
         "exactly one of value, statisticalThreshold required"},
        {"{\"name\":\"b\",\"metric\":\"aws:all-bytes-in\",\"metricDimension\":{"
         "\"dimensionName\":\"d\"},\"criteria\":{\"comparisonOperator\":\"less-than\","
         "\"value\":{\"count\":1}}}",
         "metricDimension not supported for metric aws:all-bytes-in"},
        {VB("battery_pct", "\"comparisonOperator\":\"in-set\",\"value\":{\"numbers\":[1]}"),
         "operator in-set not valid for metric type number"},
        {VB("undefined_metric", "\"comparisonOperator\":\"less-than\",\"value\":{\"number\":1}"),
         "unknown metric undefined_metric"},
        {VB("aws:all-bytes-in", "\"mlDetectionConfig\":{\"confidenceLevel\":\"HIGH\"}"),
         "mlDetectionConfig (ML Detect) is not supported"},
    };
    for (size_t i = 0; i <= sizeof cases / sizeof cases[0]; i++)
    {
        char body[2048], want[300];
        const char *err;
        if (i < sizeof cases / sizeof cases[0])
        {
            snprintf(body, sizeof body, "{\"behaviors\":[%s]}", cases[i][0]);
            err = cases[i][1];
        }
        else /* two behaviors both named b */
        {
            snprintf(body, sizeof body, "{\"behaviors\":[%s,%s]}", cases[0][0], cases[0][0]);
            err = "duplicate behavior name b";
        }
        cJSON *o = NULL;
        CHECK(api("POST", "/security-profile-behaviors/validate", body, &o) == 200, "validate %zu",
              i);
        cJSON *ve = cJSON_GetObjectItem(o, "validationErrors");
        int valid = cJSON_IsTrue(cJSON_GetObjectItem(o, "valid"));
        if (err == NULL)
            CHECK(valid && cJSON_GetArraySize(ve) == 0, "case %zu valid", i);
        else
        {
            snprintf(want, sizeof want, "Behavior b is malformed. %s", err);
            const cJSON *m = cJSON_GetObjectItem(cJSON_GetArrayItem(ve, 0), "errorMessage");
            CHECK(!valid && cJSON_GetArraySize(ve) == 1 && cJSON_IsString(m) &&
                      strcmp(m->valuestring, want) == 0,
                  "case %zu: want [%s], got %s", i, want,
                  cJSON_IsString(m) ? m->valuestring : "(none)");
        }
        cJSON_Delete(o);
    }
}

/* Alerts received on the MQTT topic: profile A 7 + 1 invalidation, one byte-exact; profile B
 * 9 + 1 invalidation; nothing for suppressed behaviors or profiles without alert target. */
static void check_alerts(void)
{
    int n_a = 0, n_b = 0, exact = 0, other = 0;
    it_msg m;
    while (it_peer_next(g_alerts, &m, 1500))
    {
        CHECK(strcmp(m.topic, ALERT_TOPIC) == 0, "alert topic %s", m.topic);
        char *s = malloc(m.len + 1);
        if (s != NULL)
        {
            memcpy(s, m.payload, m.len);
            s[m.len] = '\0';
            /* profile A covers all things: only sensor-1's alerts are the golden table's (x99
             * of 7.4 also violates bytes-out-5min) */
            if (strstr(s, "\"securityProfileName\":\"net-baseline\"") != NULL &&
                strstr(s, "\"thingName\":\"sensor-1\"") == NULL)
                ;
            else if (strstr(s, "\"securityProfileName\":\"net-baseline\"") != NULL)
            {
                n_a++;
                if (getenv("RULES_E2E_VERBOSE") != NULL)
                    fprintf(stderr, "alert: %s\n", s);
                if (strstr(s, "min-listeners") != NULL)
                    other++;
                if (strncmp(s,
                            "{\"violationEventTime\":1767226200000,\"thingName\":\"sensor-1\","
                            "\"behavior\":{\"name\":\"bytes-out-5min\"",
                            83) == 0)
                    exact = strstr(s, "\"violationEventType\":\"in-alarm\",\"metricValue\":{"
                                      "\"count\":15000},\"violationId\":\"") != NULL;
            }
            else if (strstr(s, "gateway-network-policy") != NULL)
                n_b++;
            else
                other++;
            free(s);
        }
        free(m.payload);
    }
    CHECK(n_a == 8, "profile A: %d alerts, want 8 (7 events + the invalidation)", n_a);
    CHECK(n_b == 10, "profile B: %d alerts, want 10 (9 events + the invalidation of V6)", n_b);
    CHECK(exact, "the t=600 bytes-out alert in the 5.7 format");
    CHECK(other == 0, "%d unexpected alerts (suppressed or without alert target)", other);
}

/* The sweep: 172800 s after the last datapoint. */
static void sweep(void)
{
    set_clock((T0 + 2100 + 172800) * 1000 + 500);
    cJSON *e = NULL;
    for (int i = 0; i < 100; i++)
    {
        cJSON_Delete(e);
        e = NULL;
        cJSON *o = NULL;
        api("GET",
            "/violation-events?startTime=1767400500&endTime=1767400500&securityProfileName=net-"
            "baseline",
            NULL, &o);
        e = o ? cJSON_DetachItemFromObjectCaseSensitive(o, "violationEvents") : NULL;
        cJSON_Delete(o);
        if (e != NULL && cJSON_GetArraySize(e) > 0)
            break;
        it_sleep_ms(50);
    }
    g_nlabels = 0;
    CHECK(e != NULL && cJSON_GetArraySize(e) == 1, "one invalidation at T0+174900");
    if (e != NULL && cJSON_GetArraySize(e) == 1)
        expect(e, "alarm-invalidated", "max-established", "sensor-1", NULL, "V5");
    cJSON_Delete(e);
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
    snprintf(g_db, sizeof g_db, "%s/rules.db", g_broker.dir);
    snprintf(g_groups, sizeof g_groups, "%s/groups.json", g_broker.dir);
    FILE *f = fopen(g_groups, "w");
    if (f == NULL)
        return 1;
    fprintf(f, "{\"thingGroups\":[{\"thingGroupName\":\"meters\",\"things\":[\"m01\",\"m02\","
               "\"m03\",\"m04\",\"m05\",\"m06\",\"m07\",\"m08\",\"m09\",\"m10\"]}]}\n");
    fclose(f);
    if (start_service() != 0)
    {
        fprintf(stderr, "cannot start %s\n", g_exe);
        it_broker_stop(&g_broker);
        return 1;
    }
    g_replies = it_peer_connect(g_broker.port, "$aws/things/+/defender/metrics/json/+");
    g_alerts = it_peer_connect(g_broker.port, ALERT_TOPIC);
    g_pub = it_peer_connect(g_broker.port, NULL);
    if (g_replies == NULL || g_alerts == NULL || g_pub == NULL)
        return 1;
    golden_a();
    golden_b();
    golden_c();
    golden_validation();
    golden_d();
    sweep();
    check_alerts();
    it_peer_close(g_pub);
    it_peer_close(g_replies);
    it_peer_close(g_alerts);
    int rc = it_service_stop(&g_svc, SIGTERM, 10000);
    CHECK(rc == 0, "service exit %d", rc);
    it_broker_stop(&g_broker);
    mosquitto_lib_cleanup();
    printf("rules_e2e: %d passed, %d failed\n", checks - failures, failures);
    return failures ? 1 : 0;
}
