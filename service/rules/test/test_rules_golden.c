/* Golden cases of detect-rules.md section 7.1-7.4 through the engine: reports derived by the
 * service's validator, profiles and events through the API handlers, alerts captured. */
#include "rules_test_util.h"

#include "rules_engine.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#define ARN_PREFIX "arn%3Aaws%3Aiot%3Aus-east-1%3A123456789012%3A"

static const char *const PROFILE_A =
    "{\"securityProfileName\":\"net-baseline\",\"securityProfileDescription\":\"Traffic and "
    "connection limits for sensors\",\"behaviors\":[{\"name\":\"bytes-out-5min\",\"metric\":\"aws:"
    "all-bytes-out\",\"criteria\":{\"comparisonOperator\":\"less-than-equals\",\"value\":{"
    "\"count\":"
    "10000},\"durationSeconds\":300,\"consecutiveDatapointsToAlarm\":2,"
    "\"consecutiveDatapointsToClear\":2}},{\"name\":\"packets-in-15min\",\"metric\":\"aws:all-"
    "packets-in\",\"criteria\":{\"comparisonOperator\":\"less-than\",\"value\":{\"count\":1000},"
    "\"durationSeconds\":900}},{\"name\":\"max-established\",\"metric\":\"aws:num-established-tcp-"
    "connections\",\"criteria\":{\"comparisonOperator\":\"less-than-equals\",\"value\":{\"count\":"
    "3}}},{\"name\":\"min-listeners\",\"metric\":\"aws:num-listening-tcp-ports\",\"criteria\":{"
    "\"comparisonOperator\":\"greater-than\",\"value\":{\"count\":0},\"durationSeconds\":300,"
    "\"consecutiveDatapointsToAlarm\":1,\"consecutiveDatapointsToClear\":1},\"suppressAlerts\":"
    "true}],\"alertTargets\":{\"SNS\":{\"alertTargetArn\":\"arn:aws:sns:us-east-1:123456789012:dd-"
    "alerts\",\"roleArn\":\"arn:aws:iam::123456789012:role/dd-alerts\"}},"
    "\"additionalMetricsToRetainV2\":[{\"metric\":\"aws:all-bytes-in\"}]}";

static void report_a(rt_env *v, int64_t t, int bo, int pi, int ec, int tp)
{
    char ports[200] = "";
    static const int pl[2] = {22, 8883};
    for (int i = 0; i < tp && i < 2; i++)
        snprintf(ports + strlen(ports), sizeof ports - strlen(ports),
                 "%s{\"interface\":\"eth0\",\"port\":%d}", i ? "," : "", pl[i]);
    if (bo < 0)
        rt_report(v, "sensor-1", t,
                  "\"metrics\":{\"listening_tcp_ports\":{\"ports\":[%s],\"total\":%d},"
                  "\"tcp_connections\":{\"established_connections\":{\"total\":%d}}}",
                  ports, tp, ec);
    else
        rt_report(v, "sensor-1", t,
                  "\"metrics\":{\"listening_tcp_ports\":{\"ports\":[%s],\"total\":%d},"
                  "\"network_stats\":{\"bytes_in\":800,\"bytes_out\":%d,\"packets_in\":%d,"
                  "\"packets_out\":90},\"tcp_connections\":{\"established_connections\":{\"total\":"
                  "%d}}}",
                  ports, tp, bo, pi, ec);
}

static void setup_profile_a(rt_env *v)
{
    rt_ok(v, "POST", "/security-profiles/net-baseline", NULL, PROFILE_A);
    rt_ok(v, "PUT", "/security-profiles/net-baseline/targets",
          "securityProfileTargetArn=" ARN_PREFIX "all%2Fthings", NULL);
}

static cJSON *at(rt_env *v, int64_t t)
{
    return rt_events(v, t, t, NULL);
}

static void expect_none(rt_env *v, int64_t t)
{
    cJSON *e = at(v, t);
    if (cJSON_GetArraySize(e) != 0)
    {
        char *s = cJSON_PrintUnformatted(e);
        fail_msg("t=%lld: expected no event, got %s", (long long) t, s);
    }
    cJSON_Delete(e);
}

static int wait_alerts(rt_env *v, size_t n)
{
    for (int i = 0; i < 300; i++)
    {
        if (rt_alert_count(v) >= n)
            return 1;
        usleep(10000);
    }
    return 0;
}

/* 7.1, optionally restarting the engine while alarms are active. */
static void run_profile_a(int restart)
{
    rt_env *v = rt_setup(1);
    setup_profile_a(v);
    report_a(v, 0, 4000, 300, 2, 2);
    expect_none(v, 0);
    report_a(v, 300, 12000, 300, 2, 2);
    expect_none(v, 300);
    report_a(v, 600, 15000, 500, 5, 2);
    cJSON *e = at(v, 600);
    assert_int_equal(cJSON_GetArraySize(e), 3);
    char v1[40], v2[40], v3[40];
    snprintf(v1, sizeof v1, "%s",
             rt_expect(e, "in-alarm", "bytes-out-5min", 600, NULL, "{\"count\":15000}"));
    snprintf(v2, sizeof v2, "%s",
             rt_expect(e, "in-alarm", "packets-in-15min", 600, NULL, "{\"count\":1100}"));
    snprintf(v3, sizeof v3, "%s",
             rt_expect(e, "in-alarm", "max-established", 600, NULL, "{\"count\":5}"));
    assert_string_not_equal(v1, v2);
    assert_string_not_equal(v2, v3);
    assert_int_equal(strlen(v1), 32);
    cJSON_Delete(e);
    if (restart)
    {
        /* restart in the middle of three alarms: state comes back from the database */
        assert_true(rules_alerts_flush(v->e, 3000));
        rules_close(v->e);
        v->e = rt_open_engine(v, NULL, 1);
    }
    report_a(v, 900, 9000, 100, 3, 0);
    e = at(v, 900);
    assert_int_equal(cJSON_GetArraySize(e), 3);
    assert_string_equal(
        rt_expect(e, "alarm-cleared", "packets-in-15min", 900, NULL, "{\"count\":900}"), v2);
    assert_string_equal(
        rt_expect(e, "alarm-cleared", "max-established", 900, NULL, "{\"count\":3}"), v3);
    char v4[40];
    snprintf(v4, sizeof v4, "%s",
             rt_expect(e, "in-alarm", "min-listeners", 900, NULL, "{\"count\":0}"));
    cJSON_Delete(e);
    report_a(v, 1200, 11000, 100, 1, 1);
    e = at(v, 1200);
    assert_int_equal(cJSON_GetArraySize(e), 1);
    assert_string_equal(rt_expect(e, "alarm-cleared", "min-listeners", 1200, NULL, "{\"count\":1}"),
                        v4);
    cJSON_Delete(e);
    /* ListActiveViolations right after t=1200: exactly V1 */
    cJSON *o = NULL;
    assert_int_equal(rt_api(v, "GET", "/active-violations", "thingName=sensor-1", NULL, &o, NULL),
                     200);
    char want[1024];
    snprintf(want, sizeof want,
             "{\"activeViolations\":[{\"violationId\":\"%s\",\"thingName\":\"sensor-1\","
             "\"securityProfileName\":\"net-baseline\",\"behavior\":{\"name\":\"bytes-out-5min\","
             "\"metric\":\"aws:all-bytes-out\",\"criteria\":{\"comparisonOperator\":\"less-than-"
             "equals\",\"value\":{\"count\":10000},\"durationSeconds\":300,"
             "\"consecutiveDatapointsToAlarm\":2,\"consecutiveDatapointsToClear\":2}},"
             "\"lastViolationValue\":{\"count\":11000},\"lastViolationTime\":1767226800.0,"
             "\"violationStartTime\":1767226200.0}]}",
             v1);
    if (!rt_json_eq(o, want))
        fail_msg("active violations: %s", cJSON_PrintUnformatted(o));
    cJSON_Delete(o);
    report_a(v, 1500, 2000, 100, 1, 1);
    expect_none(v, 1500);
    report_a(v, 1800, 3000, 100, 2, 1);
    e = at(v, 1800);
    assert_int_equal(cJSON_GetArraySize(e), 1);
    assert_string_equal(
        rt_expect(e, "alarm-cleared", "bytes-out-5min", 1800, NULL, "{\"count\":3000}"), v1);
    cJSON_Delete(e);
    report_a(v, 2100, -1, 0, 4, 1);
    e = at(v, 2100);
    assert_int_equal(cJSON_GetArraySize(e), 1);
    char v5[40];
    snprintf(v5, sizeof v5, "%s",
             rt_expect(e, "in-alarm", "max-established", 2100, NULL, "{\"count\":4}"));
    cJSON_Delete(e);
    /* the whole history */
    e = rt_events(v, 0, 2100, "thingName=sensor-1");
    assert_int_equal(cJSON_GetArraySize(e), 9);
    double prev = 1e18;
    const cJSON *ev;
    cJSON_ArrayForEach(ev, e)
    {
        double tm = cJSON_GetObjectItemCaseSensitive(ev, "violationEventTime")->valuedouble;
        assert_true(tm <= prev);
        prev = tm;
    }
    cJSON_Delete(e);
    e = rt_events(v, 0, 2100, "thingName=sensor-1&listSuppressedAlerts=true");
    assert_int_equal(cJSON_GetArraySize(e), 2);
    cJSON_Delete(e);
    /* silence: invalidation 172800 s after the last datapoint */
    v->now_ms = (T0 + 2100 + 172800) * 1000 - 1000;
    rules_tick(v->e, v->now_ms);
    expect_none(v, 2100 + 172800);
    v->now_ms = (T0 + 2100 + 172800) * 1000 + 1;
    rules_tick(v->e, v->now_ms);
    e = at(v, 2100 + 172800);
    assert_int_equal(cJSON_GetArraySize(e), 1);
    assert_string_equal(rt_expect(e, "alarm-invalidated", "max-established", 174900, NULL, NULL),
                        v5);
    cJSON_Delete(e);
    assert_int_equal(rt_api(v, "GET", "/active-violations", NULL, NULL, &o, NULL), 200);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(o, "activeViolations")), 0);
    cJSON_Delete(o);
    /* alerts: 3 + 2 + 1 + 1 + 1 notified (min-listeners suppressed) */
    assert_true(rules_alerts_flush(v->e, 5000));
    assert_true(wait_alerts(v, 8));
    usleep(100000);
    assert_int_equal(rt_alert_count(v), 8);
    char alert[1024];
    snprintf(alert, sizeof alert,
             "{\"violationEventTime\":1767226200000,\"thingName\":\"sensor-1\",\"behavior\":{"
             "\"name\":\"bytes-out-5min\",\"metric\":\"aws:all-bytes-out\",\"criteria\":{"
             "\"comparisonOperator\":\"less-than-equals\",\"value\":{\"count\":10000},"
             "\"durationSeconds\":300,\"consecutiveDatapointsToAlarm\":2,"
             "\"consecutiveDatapointsToClear\":2}},\"violationEventType\":\"in-alarm\","
             "\"metricValue\":{\"count\":15000},\"violationId\":\"%s\",\"securityProfileName\":"
             "\"net-baseline\"}",
             v1);
    int found = 0;
    for (size_t i = 0; i < v->nalerts; i++)
        if (strcmp(v->alerts[i], alert) == 0)
            found = 1;
    if (!found)
        fail_msg("alert not found byte for byte; first: %s", v->alerts[0]);
    for (size_t i = 0; i < v->nalerts; i++)
        assert_null(strstr(v->alerts[i], "min-listeners"));
    rt_teardown(v);
}

static void test_profile_a(void **state)
{
    (void) state;
    run_profile_a(0);
}

static void test_profile_a_restart(void **state)
{
    (void) state;
    run_profile_a(1);
}

/* 7.2 */
static void report_b(rt_env *v, int64_t t, const char *tcp, const char *udp, const char *conns)
{
    char body[4096];
    snprintf(body, sizeof body, "\"metrics\":{%s%s%s%s%s}", tcp, udp[0] ? "," : "", udp,
             conns[0] ? "," : "", conns);
    rt_report(v, "gw-7", t, "%s", body);
}

static void test_profile_b(void **state)
{
    (void) state;
    rt_env *v = rt_setup(1);
    rt_ok(v, "POST", "/thing-groups/gateways", NULL, "{}");
    rt_ok(v, "PUT", "/thing-groups/addThingToThingGroup", NULL,
          "{\"thingGroupName\":\"gateways\",\"thingName\":\"gw-7\"}");
    rt_ok(v, "POST", "/security-profiles/gateway-network-policy", NULL,
          "{\"behaviors\":[{\"name\":\"allowed-tcp-listeners\",\"metric\":\"aws:listening-tcp-"
          "ports\",\"criteria\":{\"comparisonOperator\":\"in-port-set\",\"value\":{\"ports\":[22,"
          "443,8883]}}},{\"name\":\"no-telnet-tftp-udp\",\"metric\":\"aws:listening-udp-ports\","
          "\"criteria\":{\"comparisonOperator\":\"not-in-port-set\",\"value\":{\"ports\":[23,69,"
          "2323]}},\"suppressAlerts\":true},{\"name\":\"allowed-destinations\",\"metric\":\"aws:"
          "destination-ip-addresses\",\"criteria\":{\"comparisonOperator\":\"in-cidr-set\","
          "\"value\":{\"cidrs\":[\"10.0.0.0/8\",\"203.0.113.0/24\",\"2001:db8:1::/48\"]}}},{"
          "\"name\":\"blocked-destinations\",\"metric\":\"aws:destination-ip-addresses\","
          "\"criteria\":{\"comparisonOperator\":\"not-in-cidr-set\",\"value\":{\"cidrs\":[\"198.51."
          "100.0/24\"]},\"consecutiveDatapointsToClear\":2}}],\"alertTargets\":{\"SNS\":{"
          "\"alertTargetArn\":\"arn:aws:sns:us-east-1:123456789012:dd-alerts\",\"roleArn\":\"arn:"
          "aws:iam::123456789012:role/dd-alerts\"}}}");
    rt_ok(v, "PUT", "/security-profiles/gateway-network-policy/targets",
          "securityProfileTargetArn=" ARN_PREFIX "thinggroup%2Fgateways", NULL);
#define TCP(list)   "\"listening_tcp_ports\":{\"ports\":[" list "]}"
#define UDP(list)   "\"listening_udp_ports\":{\"ports\":[" list "]}"
#define P(n)        "{\"port\":" #n "}"
#define CONNS(list) "\"tcp_connections\":{\"established_connections\":{\"connections\":[" list "]}}"
#define C(a)        "{\"remote_addr\":\"" a "\",\"local_port\":40000}"
    report_b(v, 0, TCP(P(22) "," P(8883)), UDP(P(5353)),
             CONNS(C("10.1.2.3:8883") "," C("203.0.113.10:443")));
    expect_none(v, 0);
    report_b(v, 300, TCP(P(22) "," P(8883) "," P(2222)), UDP(P(5353) "," P(69)),
             CONNS(C("10.1.2.3:8883") "," C("198.51.100.20:4444")));
    cJSON *e = at(v, 300);
    assert_int_equal(cJSON_GetArraySize(e), 4);
    char v1[40], v2[40], v3[40], v4[40];
    snprintf(
        v1, 40, "%s",
        rt_expect(e, "in-alarm", "allowed-tcp-listeners", 300, NULL, "{\"ports\":[22,8883,2222]}"));
    snprintf(v2, 40, "%s",
             rt_expect(e, "in-alarm", "no-telnet-tftp-udp", 300, NULL, "{\"ports\":[5353,69]}"));
    snprintf(v3, 40, "%s",
             rt_expect(e, "in-alarm", "allowed-destinations", 300, NULL,
                       "{\"cidrs\":[\"10.1.2.3\",\"198.51.100.20\"]}"));
    snprintf(v4, 40, "%s",
             rt_expect(e, "in-alarm", "blocked-destinations", 300, NULL,
                       "{\"cidrs\":[\"10.1.2.3\",\"198.51.100.20\"]}"));
    cJSON_Delete(e);
    report_b(v, 600, "\"listening_tcp_ports\":{\"ports\":[],\"total\":0}", "",
             CONNS(C("[2001:db8:1::5]:443")));
    e = at(v, 600);
    assert_int_equal(cJSON_GetArraySize(e), 2);
    assert_string_equal(
        rt_expect(e, "alarm-cleared", "allowed-tcp-listeners", 600, NULL, "{\"ports\":[]}"), v1);
    assert_string_equal(rt_expect(e, "alarm-cleared", "allowed-destinations", 600, NULL,
                                  "{\"cidrs\":[\"2001:db8:1::5\"]}"),
                        v3);
    cJSON_Delete(e);
    report_b(v, 900, TCP(P(443)), UDP(""), CONNS(C("10.9.9.9:1883")));
    e = at(v, 900);
    assert_int_equal(cJSON_GetArraySize(e), 2);
    assert_string_equal(
        rt_expect(e, "alarm-cleared", "no-telnet-tftp-udp", 900, NULL, "{\"ports\":[]}"), v2);
    assert_string_equal(rt_expect(e, "alarm-cleared", "blocked-destinations", 900, NULL,
                                  "{\"cidrs\":[\"10.9.9.9\"]}"),
                        v4);
    cJSON_Delete(e);
    report_b(v, 1200, TCP(P(443)), UDP(""), CONNS(C("198.51.100.7:53") "," C("10.9.9.9:1883")));
    e = at(v, 1200);
    assert_int_equal(cJSON_GetArraySize(e), 2);
    char v5[40], v6[40];
    snprintf(v5, 40, "%s",
             rt_expect(e, "in-alarm", "allowed-destinations", 1200, NULL,
                       "{\"cidrs\":[\"198.51.100.7\",\"10.9.9.9\"]}"));
    snprintf(v6, 40, "%s",
             rt_expect(e, "in-alarm", "blocked-destinations", 1200, NULL,
                       "{\"cidrs\":[\"198.51.100.7\",\"10.9.9.9\"]}"));
    assert_string_not_equal(v5, v3);
    assert_string_not_equal(v6, v4);
    cJSON_Delete(e);
    report_b(v, 1500, TCP(P(443)), UDP(""),
             "\"tcp_connections\":{\"established_connections\":{\"connections\":[],\"total\":0}}");
    e = at(v, 1500);
    assert_int_equal(cJSON_GetArraySize(e), 1);
    assert_string_equal(
        rt_expect(e, "alarm-cleared", "allowed-destinations", 1500, NULL, "{\"cidrs\":[]}"), v5);
    cJSON_Delete(e);
    cJSON *o = NULL;
    assert_int_equal(rt_api(v, "GET", "/active-violations", "thingName=gw-7", NULL, &o, NULL), 200);
    cJSON *av = cJSON_GetObjectItem(o, "activeViolations");
    assert_int_equal(cJSON_GetArraySize(av), 1);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(av, 0), "violationId")->valuestring,
                        v6);
    cJSON_Delete(o);
    /* notified: 3 at 300 (udp suppressed), 2 at 600, 1 at 900 (udp suppressed), 2 + 1 */
    assert_true(rules_alerts_flush(v->e, 5000));
    assert_int_equal(rt_alert_count(v), 9);
    rt_teardown(v);
}

/* 7.3 */
static void test_profile_c(void **state)
{
    (void) state;
    rt_env *v = rt_setup(1);
    rt_ok(v, "POST", "/things/plug-3", NULL, "{}");
    rt_ok(v, "POST", "/security-profiles/plug-health", NULL,
          "{\"behaviors\":[{\"name\":\"battery-floor\",\"metric\":\"battery_pct\",\"criteria\":{"
          "\"comparisonOperator\":\"greater-than-equals\",\"value\":{\"number\":20},"
          "\"consecutiveDatapointsToAlarm\":3,\"consecutiveDatapointsToClear\":1}},{\"name\":"
          "\"wifi-channels\",\"metric\":\"wifi_channels\",\"criteria\":{\"comparisonOperator\":"
          "\"in-set\",\"value\":{\"numbers\":[1,6,11]}}},{\"name\":\"no-vulnerable-firmware\","
          "\"metric\":\"fw_components\",\"criteria\":{\"comparisonOperator\":\"not-in-set\","
          "\"value\":{\"strings\":[\"bootloader-1.0.0\",\"netstack-2.3.1\"]}}},{\"name\":\"dns-"
          "allowlist\",\"metric\":\"dns_servers\",\"criteria\":{\"comparisonOperator\":\"in-cidr-"
          "set\",\"value\":{\"cidrs\":[\"10.0.0.0/8\",\"192.0.2.53/32\"]}}}]}");
    rt_ok(v, "PUT", "/security-profiles/plug-health/targets",
          "securityProfileTargetArn=" ARN_PREFIX "all%2Fregistered-things", NULL);
#define CM(b, w, f, d) "\"custom_metrics\":{" b w f d "}"
    rt_report(v, "plug-3", 0,
              "\"custom_metrics\":{\"battery_pct\":[{\"number\":55}],\"wifi_channels\":[{\"number_"
              "list\":[6]}],\"fw_components\":[{\"string_list\":[\"bootloader-1.1.0\",\"netstack-2."
              "4.0\"]}],\"dns_servers\":[{\"ip_list\":[\"10.0.0.2\"]}]}");
    expect_none(v, 0);
    /* an unregistered device is not covered */
    rt_report(v, "plug-x", 0,
              "\"custom_metrics\":{\"battery_pct\":[{\"number\":1}],\"wifi_"
              "channels\":[{\"number_list\":[99]}]}");
    expect_none(v, 0);
    rt_report(v, "plug-3", 300,
              "\"custom_metrics\":{\"battery_pct\":[{\"number\":19.5}],\"wifi_channels\":[{"
              "\"number_list\":[6,13]}],\"fw_components\":[{\"string_list\":[\"bootloader-1.1.0\","
              "\"netstack-2.4.0\"]}],\"dns_servers\":[{\"ip_list\":[\"10.0.0.2\",\"8.8.8.8\"]}]}");
    cJSON *e = at(v, 300);
    assert_int_equal(cJSON_GetArraySize(e), 2);
    char v1[40], v2[40], v3[40], v4[40];
    snprintf(v1, 40, "%s",
             rt_expect(e, "in-alarm", "wifi-channels", 300, NULL, "{\"numbers\":[6,13]}"));
    snprintf(v2, 40, "%s",
             rt_expect(e, "in-alarm", "dns-allowlist", 300, NULL,
                       "{\"cidrs\":[\"10.0.0.2\",\"8.8.8.8\"]}"));
    cJSON_Delete(e);
    rt_report(v, "plug-3", 600,
              "\"custom_metrics\":{\"battery_pct\":[{\"number\":25}],\"wifi_channels\":[{\"number_"
              "list\":[]}],\"fw_components\":[{\"string_list\":[\"bootloader-1.0.0\",\"netstack-2."
              "4.0\"]}],\"dns_servers\":[{\"ip_list\":[\"192.0.2.53\"]}]}");
    e = at(v, 600);
    assert_int_equal(cJSON_GetArraySize(e), 3);
    assert_string_equal(
        rt_expect(e, "alarm-cleared", "wifi-channels", 600, NULL, "{\"numbers\":[]}"), v1);
    snprintf(v3, 40, "%s",
             rt_expect(e, "in-alarm", "no-vulnerable-firmware", 600, NULL,
                       "{\"strings\":[\"bootloader-1.0.0\",\"netstack-2.4.0\"]}"));
    assert_string_equal(
        rt_expect(e, "alarm-cleared", "dns-allowlist", 600, NULL, "{\"cidrs\":[\"192.0.2.53\"]}"),
        v2);
    cJSON_Delete(e);
    rt_report(v, "plug-3", 900, "\"custom_metrics\":{\"battery_pct\":[{\"number\":18}]}");
    expect_none(v, 900);
    rt_report(v, "plug-3", 1200, "\"custom_metrics\":{\"battery_pct\":[{\"number\":17}]}");
    expect_none(v, 1200);
    rt_report(v, "plug-3", 1500, "\"custom_metrics\":{\"battery_pct\":[{\"number\":16}]}");
    e = at(v, 1500);
    assert_int_equal(cJSON_GetArraySize(e), 1);
    snprintf(v4, 40, "%s",
             rt_expect(e, "in-alarm", "battery-floor", 1500, NULL, "{\"number\":16}"));
    cJSON_Delete(e);
    rt_report(v, "plug-3", 1800,
              "\"custom_metrics\":{\"battery_pct\":[{\"number\":21}],\"wifi_channels\":[{\"number_"
              "list\":[1,11]}],\"fw_components\":[{\"string_list\":[]}],\"dns_servers\":[{\"ip_"
              "list\":[\"10.20.30.40\"]}]}");
    e = at(v, 1800);
    assert_int_equal(cJSON_GetArraySize(e), 2);
    assert_string_equal(
        rt_expect(e, "alarm-cleared", "battery-floor", 1800, NULL, "{\"number\":21}"), v4);
    assert_string_equal(
        rt_expect(e, "alarm-cleared", "no-vulnerable-firmware", 1800, NULL, "{\"strings\":[]}"),
        v3);
    cJSON_Delete(e);
    /* no alert target: nothing notified */
    assert_true(rules_alerts_flush(v->e, 3000));
    assert_int_equal(rt_alert_count(v), 0);
    rt_teardown(v);
}

/* 7.4, groups from a file */
static void test_profile_d(void **state)
{
    (void) state;
    rt_env *v = rt_setup(0);
    char path[400];
    snprintf(path, sizeof path, "%s/groups.json", v->dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "{\"thingGroups\":[{\"thingGroupName\":\"meters\",\"things\":[\"m01\",\"m02\","
               "\"m03\",\"m04\",\"m05\",\"m06\",\"m07\",\"m08\",\"m09\",\"m10\"]}]}");
    fclose(f);
    rules_close(v->e);
    v->groups_file = path;
    v->e = rt_open_engine(v, NULL, 0);
    rt_ok(v, "POST", "/security-profiles/meter-outliers", NULL,
          "{\"behaviors\":[{\"name\":\"bytes-out-p90\",\"metric\":\"aws:all-bytes-out\","
          "\"criteria\":{\"comparisonOperator\":\"less-than-equals\",\"statisticalThreshold\":{"
          "\"statistic\":\"p90\"},\"durationSeconds\":300,\"consecutiveDatapointsToAlarm\":1,"
          "\"consecutiveDatapointsToClear\":1}}]}");
    rt_ok(v, "PUT", "/security-profiles/meter-outliers/targets",
          "securityProfileTargetArn=" ARN_PREFIX "thinggroup%2Fmeters", NULL);
    static const int vals[3][10] = {{100, 200, 300, 400, 500, 600, 700, 800, 900, 1000},
                                    {120, 180, 260, 390, 450, 610, 700, 820, 900, 5000},
                                    {950, 210, 280, 380, 470, 590, 720, 790, 880, 800}};
    for (int b = 0; b < 3; b++)
    {
        for (int i = 0; i < 10; i++)
        {
            char thing[8];
            snprintf(thing, sizeof thing, "m%02d", i + 1);
            rt_report(v, thing, 10 + 300 * b, "\"metrics\":{\"network_stats\":{\"bytes_out\":%d}}",
                      vals[b][i]);
        }
        /* outsider: no event, no influence on thresholds */
        rt_report(v, "x99", 10 + 300 * b, "\"metrics\":{\"network_stats\":{\"bytes_out\":100000}}");
    }
    expect_none(v, 10);
    cJSON *e = at(v, 310);
    assert_int_equal(cJSON_GetArraySize(e), 1);
    char v1[40];
    snprintf(v1, 40, "%s",
             rt_expect(e, "in-alarm", "bytes-out-p90", 310, "m10", "{\"count\":5000}"));
    cJSON_Delete(e);
    e = at(v, 610);
    assert_int_equal(cJSON_GetArraySize(e), 2);
    const char *v2 = rt_expect(e, "in-alarm", "bytes-out-p90", 610, "m01", "{\"count\":950}");
    assert_string_not_equal(v2, v1);
    assert_string_equal(
        rt_expect(e, "alarm-cleared", "bytes-out-p90", 610, "m10", "{\"count\":800}"), v1);
    cJSON_Delete(e);
    cJSON *o = NULL;
    assert_int_equal(
        rt_api(v, "GET", "/active-violations", "behaviorCriteriaType=STATISTICAL", NULL, &o, NULL),
        200);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(o, "activeViolations")), 1);
    cJSON_Delete(o);
    assert_int_equal(
        rt_api(v, "GET", "/active-violations", "behaviorCriteriaType=STATIC", NULL, &o, NULL), 200);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(o, "activeViolations")), 0);
    cJSON_Delete(o);
    rt_teardown(v);
}

/* Profile changes (4.8): behavior removal and detach invalidate live alarms. */
static void test_changes_invalidate(void **state)
{
    (void) state;
    rt_env *v = rt_setup(0);
    setup_profile_a(v);
    report_a(v, 0, 4000, 300, 5, 2);
    cJSON *e = at(v, 0);
    char v1[40];
    snprintf(v1, 40, "%s", rt_expect(e, "in-alarm", "max-established", 0, NULL, "{\"count\":5}"));
    cJSON_Delete(e);
    /* suppressAlerts-only change keeps the alarm */
    v->now_ms = (T0 + 100) * 1000;
    rt_ok(v, "PATCH", "/security-profiles/net-baseline", "expectedVersion=1",
          "{\"behaviors\":[{\"name\":\"max-established\",\"metric\":\"aws:num-established-tcp-"
          "connections\",\"criteria\":{\"comparisonOperator\":\"less-than-equals\",\"value\":{"
          "\"count\":3}},\"suppressAlerts\":true}]}");
    expect_none(v, 100);
    /* criteria change: invalidated at change time */
    v->now_ms = (T0 + 200) * 1000;
    rt_ok(v, "PATCH", "/security-profiles/net-baseline", "expectedVersion=2",
          "{\"behaviors\":[{\"name\":\"max-established\",\"metric\":\"aws:num-established-tcp-"
          "connections\",\"criteria\":{\"comparisonOperator\":\"less-than-equals\",\"value\":{"
          "\"count\":4}}}]}");
    e = at(v, 200);
    assert_string_equal(rt_expect(e, "alarm-invalidated", "max-established", 200, NULL, NULL), v1);
    cJSON_Delete(e);
    /* new episode, then detach invalidates */
    report_a(v, 300, 4000, 300, 9, 2);
    e = at(v, 300);
    char v2[40];
    snprintf(v2, 40, "%s", rt_expect(e, "in-alarm", "max-established", 300, NULL, "{\"count\":9}"));
    cJSON_Delete(e);
    v->now_ms = (T0 + 400) * 1000;
    rt_ok(v, "DELETE", "/security-profiles/net-baseline/targets",
          "securityProfileTargetArn=" ARN_PREFIX "all%2Fthings", NULL);
    e = at(v, 400);
    assert_string_equal(rt_expect(e, "alarm-invalidated", "max-established", 400, NULL, NULL), v2);
    cJSON_Delete(e);
    /* not covered: no more events */
    report_a(v, 600, 4000, 300, 9, 2);
    expect_none(v, 600);
    rt_teardown(v);
}

/* Verification state belongs to the episode (RD-31). */
static void test_verification(void **state)
{
    (void) state;
    rt_env *v = rt_setup(0);
    setup_profile_a(v);
    report_a(v, 0, 4000, 300, 5, 2);
    cJSON *e = at(v, 0);
    char vid[40];
    snprintf(vid, 40, "%s", rt_vid(cJSON_GetArrayItem(e, 0)));
    cJSON_Delete(e);
    char path[128];
    snprintf(path, sizeof path, "/violations/verification-state/%s", vid);
    rt_ok(v, "POST", path, NULL,
          "{\"verificationState\":\"TRUE_POSITIVE\",\"verificationStateDescription\":\"seen\"}");
    cJSON *o = NULL;
    const char *et = NULL;
    assert_int_equal(rt_api(v, "POST", "/violations/verification-state/0000", NULL,
                            "{\"verificationState\":\"UNKNOWN\"}", &o, &et),
                     400);
    assert_string_equal(et, "InvalidRequestException");
    cJSON_Delete(o);
    assert_int_equal(rt_api(v, "POST", path, NULL, "{\"verificationState\":\"MAYBE\"}", &o, &et),
                     400);
    cJSON_Delete(o);
    report_a(v, 300, 4000, 300, 1, 2);
    e = rt_events(v, 0, 300, "verificationState=TRUE_POSITIVE");
    assert_int_equal(cJSON_GetArraySize(e), 2);
    const cJSON *ev;
    cJSON_ArrayForEach(ev, e)
    {
        assert_string_equal(cJSON_GetObjectItem(ev, "verificationState")->valuestring,
                            "TRUE_POSITIVE");
        assert_string_equal(cJSON_GetObjectItem(ev, "verificationStateDescription")->valuestring,
                            "seen");
    }
    cJSON_Delete(e);
    e = rt_events(v, 0, 300, "verificationState=UNKNOWN");
    assert_int_equal(cJSON_GetArraySize(e), 0);
    cJSON_Delete(e);
    rt_teardown(v);
}

/* Alert delivery: at least once, in order, when the sink fails for a while; SNS envelope. */
typedef struct
{
    int fd;
    int port;
    char bodies[8][4096];
    int n;
} sink;

static void *sink_main(void *arg)
{
    sink *s = arg;
    while (s->n < 8)
    {
        int c = accept(s->fd, NULL, NULL);
        if (c < 0)
            break;
        char buf[8192];
        size_t got = 0;
        for (;;)
        {
            ssize_t r = recv(c, buf + got, sizeof buf - 1 - got, 0);
            if (r <= 0)
                break;
            got += (size_t) r;
            buf[got] = '\0';
            char *h = strstr(buf, "\r\n\r\n");
            char *cl = strstr(buf, "Content-Length: ");
            if (h && cl && got - (size_t) (h + 4 - buf) >= (size_t) atoi(cl + 16))
                break;
        }
        char *h = strstr(buf, "\r\n\r\n");
        if (h)
            snprintf(s->bodies[s->n++], sizeof s->bodies[0], "%s", h + 4);
        const char *ok = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
        if (send(c, ok, strlen(ok), 0) < 0)
            break;
        close(c);
    }
    return NULL;
}

static void test_alert_delivery(void **state)
{
    (void) state;
    sink s;
    memset(&s, 0, sizeof s);
    s.fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(s.fd, (struct sockaddr *) &a, sizeof a), 0);
    socklen_t al = sizeof a;
    getsockname(s.fd, (struct sockaddr *) &a, &al);
    s.port = ntohs(a.sin_port);
    assert_int_equal(listen(s.fd, 8), 0);
    pthread_t th;
    pthread_create(&th, NULL, sink_main, &s);
    rt_env *v = rt_setup(0);
    rules_close(v->e);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/sns", s.port);
    v->e = rt_open_engine(v, url, 1);
    setup_profile_a(v);
    v->publish_fail = 1;
    report_a(v, 0, 4000, 300, 5, 2);   /* in-alarm */
    report_a(v, 300, 4000, 300, 1, 2); /* cleared */
    usleep(300000);
    assert_int_equal(rt_alert_count(v), 0);
    pthread_mutex_lock(&v->mu);
    v->publish_fail = 0;
    pthread_mutex_unlock(&v->mu);
    assert_true(rules_alerts_flush(v->e, 5000));
    assert_int_equal(rt_alert_count(v), 2);
    assert_non_null(strstr(v->alerts[0], "\"in-alarm\""));
    assert_non_null(strstr(v->alerts[1], "\"alarm-cleared\""));
    for (int i = 0; i < 100 && s.n < 2; i++)
        usleep(10000);
    assert_int_equal(s.n, 2);
    cJSON *env = cJSON_Parse(s.bodies[0]);
    assert_non_null(env);
    assert_string_equal(cJSON_GetObjectItem(env, "Type")->valuestring, "Notification");
    assert_string_equal(cJSON_GetObjectItem(env, "TopicArn")->valuestring,
                        "arn:aws:sns:us-east-1:123456789012:dd-alerts");
    assert_string_equal(cJSON_GetObjectItem(env, "Message")->valuestring, v->alerts[0]);
    cJSON_Delete(env);
    rt_teardown(v);
    shutdown(s.fd, SHUT_RDWR);
    close(s.fd);
    pthread_join(th, NULL);
}

/* The alert POST's Host header is the URL's authority, port and IPv6 brackets included
 * (RFC 9112 3.2): a server checking it must not refuse the alert. */
typedef struct
{
    int fd;
    char request[4096];
} one_request;

static void *one_request_main(void *arg)
{
    one_request *r = arg;
    int c = accept(r->fd, NULL, NULL);
    if (c < 0)
        return NULL;
    size_t got = 0;
    while (got < sizeof r->request - 1)
    {
        ssize_t n = recv(c, r->request + got, sizeof r->request - 1 - got, 0);
        if (n <= 0)
            break;
        got += (size_t) n;
        r->request[got] = '\0';
        char *end = strstr(r->request, "\r\n\r\n");
        char *cl = strstr(r->request, "Content-Length: ");
        if (end && cl && got - (size_t) (end + 4 - r->request) >= (size_t) atoi(cl + 16))
            break;
    }
    const char *ok = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    if (send(c, ok, strlen(ok), 0) < 0)
        r->request[0] = '\0';
    close(c);
    return NULL;
}

/* POSTs to http://HOST:PORT/sns on a listener of the family and checks the Host header.
 * Returns 0 when the family has no loopback address here. */
static int post_and_check_host(int family, const char *host)
{
    one_request r;
    memset(&r, 0, sizeof r);
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    socklen_t len;
    if (family == AF_INET6)
    {
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *) &ss;
        a6->sin6_family = AF_INET6;
        a6->sin6_addr = in6addr_loopback;
        len = sizeof *a6;
    }
    else
    {
        struct sockaddr_in *a4 = (struct sockaddr_in *) &ss;
        a4->sin_family = AF_INET;
        a4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        len = sizeof *a4;
    }
    r.fd = socket(family, SOCK_STREAM, 0);
    if (r.fd < 0 || bind(r.fd, (struct sockaddr *) &ss, len) != 0)
    {
        if (r.fd >= 0)
            close(r.fd);
        return 0;
    }
    assert_int_equal(listen(r.fd, 1), 0);
    getsockname(r.fd, (struct sockaddr *) &ss, &len);
    int port = ntohs(family == AF_INET6 ? ((struct sockaddr_in6 *) &ss)->sin6_port
                                        : ((struct sockaddr_in *) &ss)->sin_port);
    pthread_t th;
    pthread_create(&th, NULL, one_request_main, &r);
    char url[128], want[128], err[256] = "";
    snprintf(url, sizeof url, "http://%s:%d/sns", host, port);
    snprintf(want, sizeof want, "\r\nHost: %s:%d\r\n", host, port);
    int rc = rules_http_post(url, "{}", 2, "arn:aws:sns:us-east-1:123456789012:dd-alerts", err,
                             sizeof err);
    pthread_join(th, NULL);
    close(r.fd);
    assert_int_equal(rc, 0);
    if (strstr(r.request, want) == NULL)
        fail_msg("%s: no '%s' in the request:\n%s", url, want + 2, r.request);
    return 1;
}

static void test_alert_host_header(void **state)
{
    (void) state;
    assert_int_equal(post_and_check_host(AF_INET, "127.0.0.1"), 1);
    if (post_and_check_host(AF_INET6, "[::1]") == 0)
        print_message("no IPv6 loopback: the [::1] case is not run\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_profile_a),         cmocka_unit_test(test_profile_a_restart),
        cmocka_unit_test(test_profile_b),         cmocka_unit_test(test_profile_c),
        cmocka_unit_test(test_profile_d),         cmocka_unit_test(test_changes_invalidate),
        cmocka_unit_test(test_verification),      cmocka_unit_test(test_alert_delivery),
        cmocka_unit_test(test_alert_host_header),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
