#define _GNU_SOURCE
/**
 * @file test_linux_ports.c
 * @brief Unit tests of the Linux ports' pure helpers: reconnect back-off with jitter,
 * endpoint parsing, and the last-report-id file store.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "defender_linux.h"
#include "defender_mosquitto.h"
#include "defender_posix.h"

/** @brief Delays double from the base, are capped, and jitter within [d/2, d]. */
static void test_DefenderMosquitto_BackoffMs_ExponentialCappedJittered(void **state)
{
    uint64_t random;
    (void) state;

    assert_int_equal(DefenderMosquitto_BackoffMs(1, 1000, 60000, 0), 500);
    assert_int_equal(DefenderMosquitto_BackoffMs(1, 1000, 60000, 500), 1000);
    assert_int_equal(DefenderMosquitto_BackoffMs(2, 1000, 60000, 0), 1000);
    assert_int_equal(DefenderMosquitto_BackoffMs(3, 1000, 60000, 2000), 4000);
    assert_int_equal(DefenderMosquitto_BackoffMs(30, 1000, 60000, 0), 30000);
    assert_int_equal(DefenderMosquitto_BackoffMs(1000, 1000, 60000, 30000), 60000);
    for (random = 0; random < 100000; random += 7919)
    {
        uint32_t delay = DefenderMosquitto_BackoffMs(4, 1000, 60000, random * 2654435761U);
        assert_in_range(delay, 4000, 8000);
    }
    /* Jitter spreads: not all equal. */
    assert_int_not_equal(DefenderMosquitto_BackoffMs(4, 1000, 60000, 1),
                         DefenderMosquitto_BackoffMs(4, 1000, 60000, 2001));
}

/** @brief host[:port] and [v6]:port. */
static void test_DefenderLinux_ParseEndpoint_Forms(void **state)
{
    char host[64];
    uint16_t port = 1;
    (void) state;

    assert_true(DefenderLinux_ParseEndpoint("broker.example.com", host, sizeof(host), &port));
    assert_string_equal(host, "broker.example.com");
    assert_int_equal(port, 0);
    assert_true(DefenderLinux_ParseEndpoint("127.0.0.1:1883", host, sizeof(host), &port));
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(port, 1883);
    assert_true(DefenderLinux_ParseEndpoint("[::1]:8883", host, sizeof(host), &port));
    assert_string_equal(host, "::1");
    assert_int_equal(port, 8883);
    assert_true(DefenderLinux_ParseEndpoint("[2001:db8::1]", host, sizeof(host), &port));
    assert_string_equal(host, "2001:db8::1");
    assert_int_equal(port, 0);
    assert_true(DefenderLinux_ParseEndpoint("abc-ats.iot.eu-west-1.amazonaws.com:443", host,
                                            sizeof(host), &port));
    assert_int_equal(port, 443);

    assert_false(DefenderLinux_ParseEndpoint("", host, sizeof(host), &port));
    assert_false(DefenderLinux_ParseEndpoint(":1883", host, sizeof(host), &port));
    assert_false(DefenderLinux_ParseEndpoint("host:", host, sizeof(host), &port));
    assert_false(DefenderLinux_ParseEndpoint("host:0", host, sizeof(host), &port));
    assert_false(DefenderLinux_ParseEndpoint("host:65536", host, sizeof(host), &port));
    assert_false(DefenderLinux_ParseEndpoint("host:-1", host, sizeof(host), &port));
    assert_false(DefenderLinux_ParseEndpoint("host:12ab", host, sizeof(host), &port));
    assert_false(DefenderLinux_ParseEndpoint("[::1", host, sizeof(host), &port));
    assert_false(DefenderLinux_ParseEndpoint("[::1]x", host, sizeof(host), &port));
    assert_false(DefenderLinux_ParseEndpoint("a-very-long-host-name-that-does-not-fit.example",
                                             host, 8, &port));
    assert_false(DefenderLinux_ParseEndpoint(NULL, host, sizeof(host), &port));
}

/** @brief The store keeps the id across "restarts" and replaces it atomically. */
static void test_DefenderPosix_FileStore_SavesAndLoads(void **state)
{
    char folder[] = "/tmp/defender-store-XXXXXX";
    char path[128];
    char command[160];
    DefenderPosixFileStore_t store;
    DefenderStoreInterface_t interface;
    uint64_t id = 0;
    FILE *pFile;
    (void) state;

    assert_non_null(mkdtemp(folder));
    snprintf(path, sizeof(path), "%s/sub/thing.last-report-id", folder);
    assert_int_equal(DefenderPosix_FileStoreInit(&store, path, &interface), DEFENDER_SUCCESS);
    assert_false(interface.pfLoadLastReportId(interface.pContext, &id));
    assert_true(interface.pfSaveLastReportId(interface.pContext, 1735689600000ULL));
    assert_true(interface.pfSaveLastReportId(interface.pContext, 9223372036854775807ULL));
    assert_true(interface.pfLoadLastReportId(interface.pContext, &id));
    assert_int_equal(id, 9223372036854775807ULL);

    /* A damaged file is not an id. */
    pFile = fopen(path, "w");
    assert_non_null(pFile);
    fputs("12x\n", pFile);
    fclose(pFile);
    assert_false(interface.pfLoadLastReportId(interface.pContext, &id));

    assert_int_equal(DefenderPosix_FileStoreInit(&store, "", &interface), DEFENDER_BAD_PARAMETER);
    assert_int_equal(DefenderPosix_FileStoreInit(NULL, path, &interface), DEFENDER_BAD_PARAMETER);
    snprintf(command, sizeof(command), "rm -rf '%s'", folder);
    assert_int_equal(system(command), 0);
}

/** @brief Clear errors for bad connection settings, before any network traffic. */
static void test_DefenderMosquitto_Init_RefusesBadSettings(void **state)
{
    DefenderMosquitto_t connection;
    DefenderMosquittoSettings_t settings;
    char error[256];
    (void) state;

    memset(&settings, 0, sizeof(settings));
    settings.pClientId = "thing";
    assert_int_equal(DefenderMosquitto_Init(&connection, &settings, error, sizeof(error)),
                     DEFENDER_BAD_PARAMETER);
    assert_non_null(strstr(error, "host"));

    settings.pHost = "127.0.0.1";
    settings.pCaFile = "/nonexistent/ca.pem";
    assert_int_equal(DefenderMosquitto_Init(&connection, &settings, error, sizeof(error)),
                     DEFENDER_BAD_PARAMETER);
    assert_non_null(strstr(error, "cannot read the CA file"));
    assert_non_null(strstr(error, "/nonexistent/ca.pem"));

    settings.pCaFile = NULL;
    settings.pCertFile = "/etc/hostname";
    assert_int_equal(DefenderMosquitto_Init(&connection, &settings, error, sizeof(error)),
                     DEFENDER_BAD_PARAMETER);
    assert_non_null(strstr(error, "key"));

    settings.pCertFile = NULL;
    assert_int_equal(DefenderMosquitto_Init(&connection, &settings, error, sizeof(error)),
                     DEFENDER_SUCCESS);
    DefenderMosquitto_Deinit(&connection);
}

/** @brief The default port of an endpoint given without one (the seed API passes the
 * port DefenderLinux_ParseEndpoint() returns, 0, to the connection): 443 with ALPN, else
 * 8883 with TLS (a CA file), 1883 without; a port that was given is kept. The real connections to
 * 8883 and 1883 are made by integration_seed_tls in a private network namespace. */
static void test_DefenderMosquitto_Init_DefaultPortFollowsTls(void **state)
{
    DefenderMosquitto_t connection;
    DefenderMosquittoSettings_t settings;
    char host[64];
    char error[256];
    char caPath[] = "/tmp/defender-ca-XXXXXX";
    uint16_t port = 1;
    int fd = mkstemp(caPath);
    (void) state;

    assert_true(fd >= 0);
    assert_true(write(fd, "not parsed before connecting\n", 29) == 29);
    close(fd);
    assert_true(DefenderLinux_ParseEndpoint("broker.example.com", host, sizeof(host), &port));
    assert_int_equal(port, 0);

    memset(&settings, 0, sizeof(settings));
    settings.pClientId = "thing";
    settings.pHost = host;
    settings.port = port;
    assert_int_equal(DefenderMosquitto_Init(&connection, &settings, error, sizeof(error)),
                     DEFENDER_SUCCESS);
    assert_int_equal(connection.port, 1883);
    DefenderMosquitto_Deinit(&connection);

    settings.pCaFile = caPath;
    assert_int_equal(DefenderMosquitto_Init(&connection, &settings, error, sizeof(error)),
                     DEFENDER_SUCCESS);
    assert_int_equal(connection.port, 8883);
    DefenderMosquitto_Deinit(&connection);

    /* ALPN x-amzn-mqtt-ca is what AWS IoT Core accepts MQTT with on 443. */
    settings.pAlpn = "x-amzn-mqtt-ca";
    assert_int_equal(DefenderMosquitto_Init(&connection, &settings, error, sizeof(error)),
                     DEFENDER_SUCCESS);
    assert_int_equal(connection.port, 443);
    DefenderMosquitto_Deinit(&connection);

    settings.port = 8883;
    assert_int_equal(DefenderMosquitto_Init(&connection, &settings, error, sizeof(error)),
                     DEFENDER_SUCCESS);
    assert_int_equal(connection.port, 8883);
    DefenderMosquitto_Deinit(&connection);
    settings.pAlpn = NULL;

    settings.port = 443;
    assert_int_equal(DefenderMosquitto_Init(&connection, &settings, error, sizeof(error)),
                     DEFENDER_SUCCESS);
    assert_int_equal(connection.port, 443);
    DefenderMosquitto_Deinit(&connection);

    settings.pCaFile = NULL;
    settings.port = 8883;
    assert_int_equal(DefenderMosquitto_Init(&connection, &settings, error, sizeof(error)),
                     DEFENDER_SUCCESS);
    assert_int_equal(connection.port, 8883);
    DefenderMosquitto_Deinit(&connection);
    unlink(caPath);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_DefenderMosquitto_BackoffMs_ExponentialCappedJittered),
        cmocka_unit_test(test_DefenderLinux_ParseEndpoint_Forms),
        cmocka_unit_test(test_DefenderPosix_FileStore_SavesAndLoads),
        cmocka_unit_test(test_DefenderMosquitto_Init_RefusesBadSettings),
        cmocka_unit_test(test_DefenderMosquitto_Init_DefaultPortFollowsTls),
    };
    return cmocka_run_group_tests_name("unit_linux_ports", tests, NULL, NULL);
}
