/**
 * @file test_agent_options.c
 * @brief Unit tests of defender-agent's options, configuration file, custom-metric
 * output parsing and command runner.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"

static AgentConfig_t config;
static AgentCommandMetric_t metric;
static char error[1024];

static void test_AgentOptions_ParseEndpoint_Forms(void **state)
{
    char host[256];
    uint16_t port = 1;
    (void) state;
    assert_true(AgentOptions_ParseEndpoint("broker.example", host, sizeof(host), &port));
    assert_string_equal(host, "broker.example");
    assert_int_equal(port, 0);
    assert_true(AgentOptions_ParseEndpoint("a-ats.iot.eu-west-1.amazonaws.com:443", host,
                                           sizeof(host), &port));
    assert_string_equal(host, "a-ats.iot.eu-west-1.amazonaws.com");
    assert_int_equal(port, 443);
    assert_true(AgentOptions_ParseEndpoint("[2001:db8::1]:8883", host, sizeof(host), &port));
    assert_string_equal(host, "2001:db8::1");
    assert_int_equal(port, 8883);
    assert_true(AgentOptions_ParseEndpoint("2001:db8::1", host, sizeof(host), &port));
    assert_string_equal(host, "2001:db8::1");
    assert_true(AgentOptions_ParseEndpoint("mqtts://h:1", host, sizeof(host), &port));
    assert_string_equal(host, "h");
    assert_false(AgentOptions_ParseEndpoint("h:0", host, sizeof(host), &port));
    assert_false(AgentOptions_ParseEndpoint("h:65536", host, sizeof(host), &port));
    assert_false(AgentOptions_ParseEndpoint("h:x", host, sizeof(host), &port));
    assert_false(AgentOptions_ParseEndpoint(":80", host, sizeof(host), &port));
    assert_false(AgentOptions_ParseEndpoint("", host, sizeof(host), &port));
    assert_false(AgentOptions_ParseEndpoint("[::1]x", host, sizeof(host), &port));
}

static void test_AgentOptions_ParseCustom_Types(void **state)
{
    AgentCustomOption_t custom;
    (void) state;
    assert_true(AgentOptions_ParseCustom("temp:number:cat /x", &custom, error, sizeof(error)));
    assert_string_equal(custom.name, "temp");
    assert_int_equal(custom.type, DEFENDER_CUSTOM_NUMBER);
    assert_string_equal(custom.command, "cat /x");
    assert_true(AgentOptions_ParseCustom("my:metric:number-list:echo a:number:b", &custom, error,
                                         sizeof(error)));
    assert_string_equal(custom.name, "my:metric");
    assert_int_equal(custom.type, DEFENDER_CUSTOM_NUMBER_LIST);
    assert_string_equal(custom.command, "echo a:number:b");
    assert_true(AgentOptions_ParseCustom("d:ip-address-list:x", &custom, error, sizeof(error)));
    assert_int_equal(custom.type, DEFENDER_CUSTOM_IP_LIST);
    assert_true(AgentOptions_ParseCustom("s:string-list:x", &custom, error, sizeof(error)));
    assert_int_equal(custom.type, DEFENDER_CUSTOM_STRING_LIST);
    assert_false(AgentOptions_ParseCustom("s:float:x", &custom, error, sizeof(error)));
    assert_false(AgentOptions_ParseCustom(":number:x", &custom, error, sizeof(error)));
    assert_false(AgentOptions_ParseCustom("a b:number:x", &custom, error, sizeof(error)));
    assert_false(AgentOptions_ParseCustom("aws:x:number:x", &custom, error, sizeof(error)));
    assert_false(AgentOptions_ParseCustom("x:number:", &custom, error, sizeof(error)));
    assert_non_null(strstr(error, "no command"));
}

static void test_AgentOptions_Set_ThingAndValues(void **state)
{
    char name[200];
    (void) state;
    AgentOptions_Defaults(&config);
    assert_int_equal(config.periodSeconds, 300);
    assert_int_equal(config.format, DEFENDER_FORMAT_JSON);
    assert_int_equal(config.keys, DEFENDER_KEYS_SHORT);
    assert_int_equal(config.metrics, DEFENDER_METRIC_ALL);
    memset(name, 'n', 128);
    name[128] = '\0';
    assert_true(AgentOptions_Set(&config, "thing", name, error, sizeof(error)));
    name[128] = 'n';
    name[129] = '\0';
    assert_false(AgentOptions_Set(&config, "thing", name, error, sizeof(error)));
    assert_non_null(strstr(error, "129 bytes"));
    assert_false(AgentOptions_Set(&config, "thing", "a#b", error, sizeof(error)));
    assert_false(AgentOptions_Set(&config, "thing", "\xff\xfe", error, sizeof(error)));
    assert_non_null(strstr(error, "UTF-8"));
    assert_true(AgentOptions_Set(&config, "metrics", "tcp-connections,network_stats", error,
                                 sizeof(error)));
    assert_int_equal(config.metrics,
                     DEFENDER_METRIC_TCP_CONNECTIONS | DEFENDER_METRIC_NETWORK_STATS);
    assert_false(AgentOptions_Set(&config, "metrics", "cpu", error, sizeof(error)));
    assert_true(AgentOptions_Set(&config, "format", "cbor", error, sizeof(error)));
    assert_int_equal(config.format, DEFENDER_FORMAT_CBOR);
    assert_false(AgentOptions_Set(&config, "format", "xml", error, sizeof(error)));
    assert_true(AgentOptions_Set(&config, "keys", "long", error, sizeof(error)));
    assert_false(AgentOptions_Set(&config, "period", "-1", error, sizeof(error)));
    assert_false(AgentOptions_Set(&config, "period", "10x", error, sizeof(error)));
    assert_true(AgentOptions_Set(&config, "include-loopback", "yes", error, sizeof(error)));
    assert_true(config.includeLoopback);
    assert_false(AgentOptions_Set(&config, "max-list", "51", error, sizeof(error)));
    assert_false(AgentOptions_Set(&config, "log-level", "loud", error, sizeof(error)));
    assert_false(AgentOptions_Set(&config, "nonsense", "1", error, sizeof(error)));
    assert_true(AgentOptions_Set(&config, "custom", "a:number:echo 1", error, sizeof(error)));
    assert_false(AgentOptions_Set(&config, "custom", "a:number:echo 2", error, sizeof(error)));
    assert_non_null(strstr(error, "defined twice"));
}

static void test_AgentOptions_Check_DefaultsAndPairs(void **state)
{
    (void) state;
    AgentOptions_Defaults(&config);
    assert_false(AgentOptions_Check(&config, error, sizeof(error)));
    assert_non_null(strstr(error, "no endpoint"));
    assert_true(AgentOptions_Set(&config, "endpoint", "h", error, sizeof(error)));
    assert_false(AgentOptions_Check(&config, error, sizeof(error)));
    assert_true(AgentOptions_Set(&config, "thing", "t", error, sizeof(error)));
    assert_true(AgentOptions_Check(&config, error, sizeof(error)));
    assert_int_equal(config.port, 1883);
    config.port = 0;
    assert_true(AgentOptions_Set(&config, "ca", "ca.pem", error, sizeof(error)));
    assert_true(AgentOptions_Check(&config, error, sizeof(error)));
    assert_int_equal(config.port, 8883);
    config.port = 0;
    assert_true(AgentOptions_Set(&config, "alpn", "x-amzn-mqtt-ca", error, sizeof(error)));
    assert_true(AgentOptions_Check(&config, error, sizeof(error)));
    assert_int_equal(config.port, 443);
    assert_true(AgentOptions_Set(&config, "cert", "c.pem", error, sizeof(error)));
    assert_false(AgentOptions_Check(&config, error, sizeof(error)));
    assert_non_null(strstr(error, "--cert and --key"));
}

/** @brief --count has an effect with --dry-run only: refused elsewhere, even as 1. */
static void test_AgentOptions_Check_CountOnlyWithDryRun(void **state)
{
    (void) state;
    AgentOptions_Defaults(&config);
    assert_true(AgentOptions_Set(&config, "endpoint", "h", error, sizeof(error)));
    assert_true(AgentOptions_Set(&config, "thing", "t", error, sizeof(error)));
    assert_true(AgentOptions_Set(&config, "once", NULL, error, sizeof(error)));
    assert_true(AgentOptions_Set(&config, "count", "3", error, sizeof(error)));
    assert_false(AgentOptions_Check(&config, error, sizeof(error)));
    assert_string_equal(error, "--count applies to --dry-run only: --once sends one report");

    AgentOptions_Defaults(&config);
    assert_true(AgentOptions_Set(&config, "endpoint", "h", error, sizeof(error)));
    assert_true(AgentOptions_Set(&config, "thing", "t", error, sizeof(error)));
    assert_true(AgentOptions_Set(&config, "count", "1", error, sizeof(error)));
    assert_false(AgentOptions_Check(&config, error, sizeof(error)));
    assert_string_equal(error, "--count applies to --dry-run only: without it the agent "
                               "sends a report every period until it is stopped");

    AgentOptions_Defaults(&config);
    assert_true(AgentOptions_Set(&config, "dry-run", NULL, error, sizeof(error)));
    assert_true(AgentOptions_Set(&config, "count", "3", error, sizeof(error)));
    assert_true(AgentOptions_Check(&config, error, sizeof(error)));
    assert_int_equal(config.count, 3);
}

static void test_AgentOptions_LoadFile_LinesAndErrors(void **state)
{
    char path[] = "/tmp/agent-unit-conf-XXXXXX";
    int fd = mkstemp(path);
    FILE *pFile = fdopen(fd, "w");
    (void) state;
    fputs("# comment\n\n  endpoint = broker:1884  \nthing=t1\ncustom = c:number:echo 'a=b'\n"
          "period = 60\nonce = true\n",
          pFile);
    fclose(pFile);
    AgentOptions_Defaults(&config);
    assert_false(AgentOptions_LoadFile(&config, path, error, sizeof(error)));
    assert_non_null(strstr(error, ":7: 'once' is a command-line option only"));
    assert_string_equal(config.host, "broker");
    assert_int_equal(config.port, 1884);
    assert_string_equal(config.thing, "t1");
    assert_string_equal(config.custom[0].command, "echo 'a=b'");
    assert_int_equal(config.periodSeconds, 60);
    pFile = fopen(path, "w");
    fputs("endpoint\n", pFile);
    fclose(pFile);
    assert_false(AgentOptions_LoadFile(&config, path, error, sizeof(error)));
    assert_non_null(strstr(error, ":1: expected 'name = value'"));
    /* --config, --help and --version are options too, only not settings. */
    pFile = fopen(path, "w");
    fputs("thing = t2\nconfig = other.conf\n", pFile);
    fclose(pFile);
    assert_false(AgentOptions_LoadFile(&config, path, error, sizeof(error)));
    assert_non_null(strstr(error, ":2: 'config' is a command-line option only"));
    pFile = fopen(path, "w");
    fputs("help = true\n", pFile);
    fclose(pFile);
    assert_false(AgentOptions_LoadFile(&config, path, error, sizeof(error)));
    assert_non_null(strstr(error, ":1: 'help' is a command-line option only"));
    unlink(path);
}

/**
 * @brief The example configuration as installed (dist/defender-agent.conf) works as its
 * comments say: TLS on port 8883, and port 443 once its `alpn` line is uncommented.
 */
static void test_AgentOptions_LoadFile_InstalledExample(void **state)
{
    char path[] = "/tmp/agent-unit-example-XXXXXX";
    char line[1024];
    FILE *pExample = fopen(DEFENDER_AGENT_EXAMPLE_CONF, "r");
    FILE *pFile;
    int fd = mkstemp(path);
    bool uncommented = false;
    (void) state;
    assert_non_null(pExample);
    AgentOptions_Defaults(&config);
    assert_true(AgentOptions_LoadFile(&config, DEFENDER_AGENT_EXAMPLE_CONF, error, sizeof(error)));
    assert_true(AgentOptions_Check(&config, error, sizeof(error)));
    assert_int_equal(config.port, 8883);
    assert_int_equal(config.alpn[0], '\0');
    assert_non_null(strstr(config.caFile, "/defender-agent/AmazonRootCA1.pem"));
    assert_null(strchr(config.caFile, '@'));

    pFile = fdopen(fd, "w");
    while (fgets(line, sizeof(line), pExample) != NULL)
    {
        if (strncmp(line, "# alpn = ", 9U) == 0)
        {
            fputs(&line[2], pFile);
            uncommented = true;
        }
        else
        {
            fputs(line, pFile);
        }
    }
    fclose(pExample);
    fclose(pFile);
    assert_true(uncommented);
    AgentOptions_Defaults(&config);
    assert_true(AgentOptions_LoadFile(&config, path, error, sizeof(error)));
    assert_true(AgentOptions_Check(&config, error, sizeof(error)));
    assert_string_equal(config.alpn, "x-amzn-mqtt-ca");
    assert_int_equal(config.port, 443);
    unlink(path);
}

/** @brief Parses `text` as a value of `type`. */
static bool parse(DefenderCustomMetricType_t type, const char *pText, DefenderCustomValue_t *pValue)
{
    metric.type = type;
    snprintf(metric.output, sizeof(metric.output), "%s", pText);
    return AgentCommand_Parse(&metric, pValue, error, sizeof(error));
}

static void test_AgentCommand_Parse_PerType(void **state)
{
    DefenderCustomValue_t value;
    (void) state;
    assert_true(parse(DEFENDER_CUSTOM_NUMBER, "  -71.5\n", &value));
    assert_true(value.number == -71.5);
    assert_false(parse(DEFENDER_CUSTOM_NUMBER, "1 2", &value));
    assert_false(parse(DEFENDER_CUSTOM_NUMBER, "", &value));
    assert_false(parse(DEFENDER_CUSTOM_NUMBER, "nan", &value));
    assert_false(parse(DEFENDER_CUSTOM_NUMBER, "1e999", &value));
    assert_false(parse(DEFENDER_CUSTOM_NUMBER, "0x10", &value));
    assert_true(parse(DEFENDER_CUSTOM_NUMBER_LIST, "12, 7.5\n3", &value));
    assert_int_equal(value.count, 3);
    assert_true(value.pNumbers[1] == 7.5);
    assert_true(parse(DEFENDER_CUSTOM_NUMBER_LIST, "", &value));
    assert_int_equal(value.count, 0);
    assert_false(parse(DEFENDER_CUSTOM_NUMBER_LIST, "1,x", &value));
    assert_true(parse(DEFENDER_CUSTOM_STRING_LIST, "net\napp/main\n", &value));
    assert_int_equal(value.count, 2);
    assert_string_equal(value.ppStrings[1], "app/main");
    assert_false(parse(DEFENDER_CUSTOM_STRING_LIST, "ok\nnot!ok\n", &value));
    assert_non_null(strstr(error, "not!ok"));
    assert_true(parse(DEFENDER_CUSTOM_IP_LIST, "192.0.2.53\n2001:db8::53\n", &value));
    assert_int_equal(value.count, 2);
    assert_false(parse(DEFENDER_CUSTOM_IP_LIST, "192.0.2.53:53", &value));
    assert_false(parse(DEFENDER_CUSTOM_STRING_LIST, "a\x01", &value));
    assert_non_null(strstr(error, "not text"));
}

static void test_AgentCommand_Run_Outcomes(void **state)
{
    char output[64];
    char detail[128];
    uint64_t start;
    (void) state;
    assert_int_equal(
        AgentCommand_Run("echo hello", 2000, output, sizeof(output), detail, sizeof(detail)),
        AGENT_COMMAND_OK);
    assert_string_equal(output, "hello\n");
    assert_int_equal(
        AgentCommand_Run("echo x; exit 7", 2000, output, sizeof(output), detail, sizeof(detail)),
        AGENT_COMMAND_FAILED);
    assert_string_equal(detail, "exited with status 7");
    start = (uint64_t) time(NULL);
    assert_int_equal(
        AgentCommand_Run("sleep 20", 300, output, sizeof(output), detail, sizeof(detail)),
        AGENT_COMMAND_TIMEOUT);
    /* A child that keeps the pipe open is killed with its whole process group. */
    assert_int_equal(AgentCommand_Run("(sleep 20) & echo 1", 300, output, sizeof(output), detail,
                                      sizeof(detail)),
                     AGENT_COMMAND_TIMEOUT);
    assert_true((uint64_t) time(NULL) - start < 5);
    assert_int_equal(AgentCommand_Run("yes", 2000, output, sizeof(output), detail, sizeof(detail)),
                     AGENT_COMMAND_TOO_LONG);
    assert_int_equal(
        AgentCommand_Run("kill -9 $$", 2000, output, sizeof(output), detail, sizeof(detail)),
        AGENT_COMMAND_FAILED);
    assert_string_equal(detail, "was killed by signal 9");
}

static void test_AgentCommand_Read_LeavesOutFailures(void **state)
{
    DefenderCustomValue_t value;
    (void) state;
    Agent_LogSetLevel(DEFENDER_LOG_ERROR);
    memset(&metric, 0, sizeof(metric));
    metric.pName = "m";
    metric.type = DEFENDER_CUSTOM_NUMBER;
    metric.timeoutMs = 1000;
    metric.pCommand = "echo 5";
    assert_true(AgentCommand_Read(&metric, &value));
    assert_true(value.number == 5.0);
    metric.pCommand = "echo five";
    assert_false(AgentCommand_Read(&metric, &value));
    metric.pCommand = "false";
    assert_false(AgentCommand_Read(&metric, &value));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_AgentOptions_ParseEndpoint_Forms),
        cmocka_unit_test(test_AgentOptions_ParseCustom_Types),
        cmocka_unit_test(test_AgentOptions_Set_ThingAndValues),
        cmocka_unit_test(test_AgentOptions_Check_DefaultsAndPairs),
        cmocka_unit_test(test_AgentOptions_Check_CountOnlyWithDryRun),
        cmocka_unit_test(test_AgentOptions_LoadFile_LinesAndErrors),
        cmocka_unit_test(test_AgentOptions_LoadFile_InstalledExample),
        cmocka_unit_test(test_AgentCommand_Parse_PerType),
        cmocka_unit_test(test_AgentCommand_Run_Outcomes),
        cmocka_unit_test(test_AgentCommand_Read_LeavesOutFailures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
