/* The AWS CLI (Debian's awscli) against defender-detect with --endpoint-url: a security
 * profile loaded with `create-security-profile --cli-input-json file://...`, targets,
 * validation, violations of reports published on a real broker, verification, errors.
 * Usage: rules_e2e_awscli DEFENDER_DETECT MOSQUITTO AWS (exit 77 = skipped: no CLI) */
#include "itest.h"

#include <cjson/cJSON.h>
#include <mosquitto.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#define T0 1767225600LL

static int failures, checks;
static char g_env[1024];
static const char *g_aws;
static int g_port;

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

static int aws(const char *args, char **out)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd,
             "%s '%s' iot %s --endpoint-url http://127.0.0.1:%d --output json 2>&1", g_env, g_aws,
             args, g_port);
    FILE *p = popen(cmd, "r");
    if (p == NULL)
        return -1;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    if (buf == NULL)
    {
        pclose(p);
        return -1;
    }
    size_t r;
    while ((r = fread(buf + n, 1, cap - n - 1, p)) > 0)
    {
        n += r;
        if (n + 1 >= cap)
        {
            char *nb = realloc(buf, cap * 2);
            if (nb == NULL)
                break;
            buf = nb;
            cap *= 2;
        }
    }
    buf[n] = '\0';
    int st = pclose(p);
    *out = buf;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static cJSON *aws_json(const char *args)
{
    char *out = NULL;
    int rc = aws(args, &out);
    cJSON *j = rc == 0 ? cJSON_Parse(out) : NULL;
    if (j == NULL && rc == 0 && out != NULL && out[0] == '\0')
        j = cJSON_CreateObject(); /* commands with an empty answer */
    CHECK(j != NULL, "aws iot %.200s -> %d: %s", args, rc, out ? out : "");
    free(out);
    return j;
}

static void expect_error(const char *args, const char *name, const char *text)
{
    char *out = NULL;
    int rc = aws(args, &out);
    CHECK(rc != 0 && out != NULL && strstr(out, name) != NULL &&
              (text == NULL || strstr(out, text) != NULL),
          "aws iot %.200s: want %s (%s), got %d: %s", args, name, text ? text : "", rc,
          out ? out : "");
    free(out);
}

static int array_size(const cJSON *o, const char *key)
{
    return cJSON_GetArraySize(cJSON_GetObjectItem(o, key));
}

int main(int argc, char **argv)
{
    if (argc < 4 || argv[3][0] == '\0' || strstr(argv[3], "NOTFOUND") != NULL)
    {
        printf("SKIP: the AWS CLI (Debian package awscli) is not installed\n");
        return 77;
    }
    g_aws = argv[3];
    mosquitto_lib_init();
    it_broker b;
    if (it_broker_start(&b, argv[2], NULL) != 0)
        return 1;
    char db[400], profile[400];
    snprintf(db, sizeof db, "%s/cli.db", b.dir);
    snprintf(profile, sizeof profile, "%s/net-baseline.json", b.dir);
    /* the profile exactly as a user keeps it for `aws iot create-security-profile` */
    FILE *f = fopen(profile, "w");
    if (f == NULL)
        return 1;
    fprintf(f,
            "{\n  \"securityProfileName\": \"net-baseline\",\n"
            "  \"securityProfileDescription\": \"Traffic and connection limits for sensors\",\n"
            "  \"behaviors\": [\n"
            "    {\"name\": \"bytes-out-5min\", \"metric\": \"aws:all-bytes-out\",\n"
            "     \"criteria\": {\"comparisonOperator\": \"less-than-equals\", \"value\": "
            "{\"count\": 10000},\n"
            "       \"durationSeconds\": 300, \"consecutiveDatapointsToAlarm\": 2, "
            "\"consecutiveDatapointsToClear\": 2}},\n"
            "    {\"name\": \"packets-in-15min\", \"metric\": \"aws:all-packets-in\",\n"
            "     \"criteria\": {\"comparisonOperator\": \"less-than\", \"value\": {\"count\": "
            "1000}, \"durationSeconds\": 900}},\n"
            "    {\"name\": \"max-established\", \"metric\": "
            "\"aws:num-established-tcp-connections\",\n"
            "     \"criteria\": {\"comparisonOperator\": \"less-than-equals\", \"value\": "
            "{\"count\": 3}}},\n"
            "    {\"name\": \"min-listeners\", \"metric\": \"aws:num-listening-tcp-ports\",\n"
            "     \"criteria\": {\"comparisonOperator\": \"greater-than\", \"value\": {\"count\": "
            "0}, \"durationSeconds\": 300},\n"
            "     \"suppressAlerts\": true}\n  ],\n"
            "  \"alertTargets\": {\"SNS\": {\"alertTargetArn\": "
            "\"arn:aws:sns:us-east-1:123456789012:dd-alerts\",\n"
            "    \"roleArn\": \"arn:aws:iam::123456789012:role/dd-alerts\"}},\n"
            "  \"additionalMetricsToRetainV2\": [{\"metric\": \"aws:all-bytes-in\"}]\n}\n");
    fclose(f);
    snprintf(g_env, sizeof g_env,
             "HOME='%s' AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null "
             "AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_PAGER= "
             "AWS_EC2_METADATA_DISABLED=true AWS_DEFAULT_REGION=us-east-1",
             b.dir);
    it_service s;
    const char *args[] = {"--test-hooks", "--log-level", "warn", NULL};
    if (it_service_start(&s, argv[1], &b, db, args) != 0)
    {
        it_broker_stop(&b);
        return 1;
    }
    g_port = s.http_port;

    char a[4096];
    snprintf(a, sizeof a, "create-security-profile --cli-input-json file://%s", profile);
    cJSON *j = aws_json(a);
    CHECK(j && strcmp(cJSON_GetObjectItem(j, "securityProfileArn")->valuestring,
                      "arn:aws:iot:us-east-1:123456789012:securityprofile/net-baseline") == 0,
          "create-security-profile answer");
    cJSON_Delete(j);
    expect_error(a, "ResourceAlreadyExistsException", NULL);
    cJSON_Delete(aws_json("attach-security-profile --security-profile-name net-baseline "
                          "--security-profile-target-arn "
                          "arn:aws:iot:us-east-1:123456789012:all/things"));
    j = aws_json("describe-security-profile --security-profile-name net-baseline");
    CHECK(j && cJSON_GetObjectItem(j, "version")->valueint == 1 &&
              array_size(j, "behaviors") == 4 && cJSON_GetObjectItem(j, "alertTargets") != NULL,
          "describe-security-profile");
    cJSON_Delete(j);
    j = aws_json("list-targets-for-security-profile --security-profile-name net-baseline");
    CHECK(j && array_size(j, "securityProfileTargets") == 1, "list-targets");
    cJSON_Delete(j);
    j = aws_json("list-security-profiles-for-target --security-profile-target-arn "
                 "arn:aws:iot:us-east-1:123456789012:all/things");
    CHECK(j && array_size(j, "securityProfileTargetMappings") == 1, "profiles-for-target");
    cJSON_Delete(j);
    j = aws_json("validate-security-profile-behaviors --behaviors '[{\"name\":\"b\",\"metric\":"
                 "\"aws:num-established-tcp-connections\",\"criteria\":{\"comparisonOperator\":"
                 "\"less-than\",\"value\":{\"count\":3},\"consecutiveDatapointsToAlarm\":100000}},"
                 "{\"name\":\"c\",\"metric\":\"aws:listening-tcp-ports\",\"criteria\":{"
                 "\"comparisonOperator\":\"in-port-set\",\"value\":{\"ports\":[70000]}}}]'");
    if (j != NULL)
    {
        cJSON *ve = cJSON_GetObjectItem(j, "validationErrors");
        CHECK(
            cJSON_IsFalse(cJSON_GetObjectItem(j, "valid")) && cJSON_GetArraySize(ve) == 2 &&
                strcmp(cJSON_GetObjectItem(cJSON_GetArrayItem(ve, 0), "errorMessage")->valuestring,
                       "Behavior b is malformed. consecutiveDatapointsToAlarm 100000 should be "
                       "in range[1,10]") == 0,
            "validate-security-profile-behaviors");
    }
    cJSON_Delete(j);
    expect_error("create-security-profile --security-profile-name bad --behaviors "
                 "'[{\"name\":\"b\",\"metric\":\"aws:all-bytes-out\",\"criteria\":{"
                 "\"comparisonOperator\":\"less-than\",\"value\":{\"count\":4096},"
                 "\"durationSeconds\":120}}]'",
                 "InvalidRequestException",
                 "Behavior b is malformed. durationSeconds 120 not one of 300, 600, 900, 1800, "
                 "3600");

    /* reports on the broker */
    it_peer *sub = it_peer_connect(b.port, "$aws/things/sensor-1/defender/metrics/json/+");
    it_peer *pub = it_peer_connect(b.port, NULL);
    if (sub == NULL || pub == NULL)
        return 1;
    static const int rows[3][3] = {{4000, 300, 2}, {12000, 300, 2}, {15000, 500, 5}};
    for (int i = 0; i < 3; i++)
    {
        char path[96], *body = NULL;
        long long t = T0 + 300 * i;
        snprintf(path, sizeof path, "/_test/clock?nowMs=%lld", t * 1000);
        CHECK(it_http(s.http_port, "POST", path, NULL, &body) == 200, "clock");
        free(body);
        char rep[600];
        snprintf(rep, sizeof rep,
                 "{\"header\":{\"report_id\":%lld,\"version\":\"1.0\"},\"metrics\":{"
                 "\"listening_tcp_ports\":{\"ports\":[{\"port\":22},{\"port\":8883}],\"total\":2},"
                 "\"network_stats\":{\"bytes_in\":800,\"bytes_out\":%d,\"packets_in\":%d,"
                 "\"packets_out\":90},\"tcp_connections\":{\"established_connections\":{\"total\":"
                 "%d}}}}",
                 t * 1000, rows[i][0], rows[i][1], rows[i][2]);
        it_peer_publish(pub, "$aws/things/sensor-1/defender/metrics/json", rep, strlen(rep), 1);
        it_msg m;
        int got = it_peer_next(sub, &m, 5000);
        CHECK(got && strstr(m.topic, "/accepted") != NULL, "report %d accepted", i);
        if (got)
            free(m.payload);
    }
    it_sleep_ms(300); /* evaluation follows the ACCEPTED reply */
    j = aws_json("list-active-violations --thing-name sensor-1");
    CHECK(j && array_size(j, "activeViolations") == 3, "3 active violations");
    char vid[64] = "";
    if (j && array_size(j, "activeViolations") > 0)
        snprintf(
            vid, sizeof vid, "%s",
            cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "activeViolations"), 0),
                                "violationId")
                ->valuestring);
    cJSON_Delete(j);
    j = aws_json("list-violation-events --start-time 2026-01-01T00:00:00Z --end-time "
                 "2026-01-01T01:00:00Z --thing-name sensor-1");
    CHECK(j && array_size(j, "violationEvents") == 3, "3 events");
    cJSON_Delete(j);
    j = aws_json("list-violation-events --start-time 2026-01-01T00:00:00Z --end-time "
                 "2026-01-01T01:00:00Z --page-size 1");
    CHECK(j && array_size(j, "violationEvents") == 3, "3 events through pages of 1");
    cJSON_Delete(j);
    snprintf(a, sizeof a,
             "put-verification-state-on-violation --violation-id %s --verification-state "
             "BENIGN_POSITIVE --verification-state-description 'lab device'",
             vid);
    cJSON_Delete(aws_json(a));
    j = aws_json("list-active-violations --verification-state BENIGN_POSITIVE");
    CHECK(j && array_size(j, "activeViolations") == 1, "verification filter");
    cJSON_Delete(j);
    expect_error("put-verification-state-on-violation --violation-id 0123 --verification-state "
                 "UNKNOWN",
                 "InvalidRequestException", NULL);
    expect_error("update-security-profile --security-profile-name net-baseline "
                 "--expected-version 9 --security-profile-description x",
                 "VersionConflictException", NULL);
    j = aws_json("update-security-profile --security-profile-name net-baseline "
                 "--expected-version 1 --security-profile-description changed");
    CHECK(j && cJSON_GetObjectItem(j, "version")->valueint == 2, "update -> version 2");
    cJSON_Delete(j);
    cJSON_Delete(aws_json("create-dimension --name TopicFilterForAuthMessages --type TOPIC_FILTER "
                          "--string-values 'device/+/auth'"));
    j = aws_json("list-dimensions");
    CHECK(j && array_size(j, "dimensionNames") == 1, "list-dimensions");
    cJSON_Delete(j);
    expect_error("attach-security-profile --security-profile-name net-baseline "
                 "--security-profile-target-arn arn:aws:iot:us-east-1:123456789012:thinggroup/nope",
                 "ResourceNotFoundException", NULL);
    cJSON_Delete(aws_json("create-thing-group --thing-group-name sensors"));
    cJSON_Delete(aws_json("add-thing-to-thing-group --thing-group-name sensors --thing-name "
                          "sensor-1"));
    cJSON_Delete(aws_json("attach-security-profile --security-profile-name net-baseline "
                          "--security-profile-target-arn "
                          "arn:aws:iot:us-east-1:123456789012:thinggroup/sensors"));
    /* delete: live alarms are invalidated (4.8) */
    cJSON_Delete(aws_json("delete-security-profile --security-profile-name net-baseline"));
    j = aws_json("list-active-violations");
    CHECK(j && array_size(j, "activeViolations") == 0, "no active violation after delete");
    cJSON_Delete(j);
    j = aws_json("list-violation-events --start-time 2026-01-01T00:00:00Z --end-time "
                 "2026-01-01T01:00:00Z");
    int inval = 0;
    const cJSON *ev;
    cJSON_ArrayForEach(ev, cJSON_GetObjectItem(j, "violationEvents"))
    {
        if (strcmp(cJSON_GetObjectItem(ev, "violationEventType")->valuestring,
                   "alarm-invalidated") == 0)
            inval++;
    }
    CHECK(inval == 3, "3 invalidations, got %d", inval);
    cJSON_Delete(j);
    j = aws_json("list-security-profiles");
    CHECK(j && array_size(j, "securityProfileIdentifiers") == 0, "no profile left");
    cJSON_Delete(j);

    it_peer_close(sub);
    it_peer_close(pub);
    CHECK(it_service_stop(&s, SIGTERM, 10000) == 0, "service exit");
    it_broker_stop(&b);
    mosquitto_lib_cleanup();
    printf("rules_e2e_awscli: %d passed, %d failed\n", checks - failures, failures);
    return failures ? 1 : 0;
}
