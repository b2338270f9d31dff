/* Mutual TLS from defender-detect to the broker, through the real path: a CA and
 * certificates made with openssl at test time, mosquitto with a plain listener (the test
 * peer) and a TLS listener with `require_certificate true` (the service).
 * - --ca/--cert/--key of the right CA: the service connects, a report published on the
 *   plain listener is ACCEPTED.
 * - a CA that did not sign the broker's certificate, or no client certificate: the
 *   service runs but never connects (health mqttConnected false) and says so in its log.
 * - --cert without --key, --key without --cert, --cert/--key without --ca (command line
 *   and config file): the service exits 2 with a message naming the missing option. */
#include "itest.h"

#include <fcntl.h>
#include <mosquitto.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *g_exe;
static char g_certs[64];

static const char *cfile(const char *name)
{
    static char paths[8][160];
    static size_t next;
    char *p = paths[next++ % 8];
    snprintf(p, 160, "%s/%s", g_certs, name);
    return p;
}

static int make_certificates(void)
{
    /* EC P-256 keys: quick to generate */
    static const char *const steps[] = {
        "printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > server.ext",
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
        "-keyout ca.key -out ca.pem -days 2 -subj /CN=detect-test-ca",
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
        "-keyout other-ca.key -out other-ca.pem -days 2 -subj /CN=detect-other-ca",
        "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
        "-keyout server.key -out server.csr -subj /CN=localhost",
        "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
        "-out server.pem -days 2 -extfile server.ext",
        "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
        "-keyout client.key -out client.csr -subj /CN=defender-detect",
        "openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
        "-out client.pem -days 2",
        "chmod 644 *.key *.pem",
    };
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
    {
        char line[1024];
        snprintf(line, sizeof line, "cd '%s' && (%s) >/dev/null 2>&1", g_certs, steps[i]);
        if (system(line) != 0)
        {
            fprintf(stderr, "certificate step failed: %s\n", steps[i]);
            return -1;
        }
    }
    return 0;
}

/* A service whose TLS setup the broker's listener must refuse: it keeps running, reports
 * mqttConnected false for several seconds (reconnect attempts included) and logs `why` and
 * `reason` (what OpenSSL said, passed on from libmosquitto). */
static void expect_no_connection(const char *label, const char *broker, const char *db,
                                 const char *const *extra, const char *why, const char *reason)
{
    it_service s;
    if (it_service_launch(&s, g_exe, broker, db, extra) != 0)
    {
        CHECK(0, "[%s] service did not start its HTTP API", label);
        return;
    }
    int connected = 0, polls = 0;
    /* At least 3.5 s (the reconnect delay starts at 1 s), and until the refusal is logged
     * (a loaded machine may take longer for the first attempt), at most 15 s. */
    int64_t start = it_now_ms();
    while (it_now_ms() < start + 15000 &&
           (it_now_ms() < start + 3500 || !it_log_contains(s.log, why) ||
            !it_log_contains(s.log, reason)))
    {
        char *body = NULL;
        int st = it_http(s.http_port, "GET", "/service/health", NULL, &body);
        if (st == 200 && body != NULL)
        {
            polls++;
            if (strstr(body, "\"mqttConnected\":true") != NULL)
                connected = 1;
            CHECK(strstr(body, "\"mqttConnected\":") != NULL, "[%s] health: %s", label, body);
        }
        free(body);
        it_sleep_ms(100);
    }
    CHECK(polls > 0, "[%s] health never answered", label);
    CHECK(!connected, "[%s] the service connected to the broker", label);
    CHECK(!it_log_contains(s.log, "connected to broker;"), "[%s] log says connected", label);
    CHECK(it_log_contains(s.log, why), "[%s] log lacks \"%s\" (see %s)", label, why, s.log);
    CHECK(it_log_contains(s.log, reason), "[%s] log lacks \"%s\" (see %s)", label, reason, s.log);
    int rc = it_service_stop(&s, SIGTERM, 10000);
    CHECK(rc == 0, "[%s] SIGTERM exit status %d", label, rc);
}

/* Runs the service with argv (after "serve"), expects exit status 2 and `needle` in its
 * output. */
static void expect_refused(const char *label, const char *args, const char *needle)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "'%s' serve %s 2>&1", g_exe, args);
    FILE *p = popen(cmd, "r");
    if (p == NULL)
    {
        CHECK(0, "[%s] popen", label);
        return;
    }
    char out[4096];
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = 0;
    int st = pclose(p);
    CHECK(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 2, "[%s] exit status %d, output: %s",
          label, st == -1 || !WIFEXITED(st) ? -1 : WEXITSTATUS(st), out);
    CHECK(strstr(out, needle) != NULL, "[%s] output lacks \"%s\": %s", label, needle, out);
}

static void refusals(const char *dir)
{
    char args[1024];
    /* the database and HTTP options are valid: only the TLS set is wrong */
    snprintf(args, sizeof args, "--db '%s/refused.db' --http 127.0.0.1:%d --cert '%s'", dir,
             it_free_port(), cfile("client.pem"));
    expect_refused("--cert without --key", args, "--cert needs --key");
    snprintf(args, sizeof args, "--db '%s/refused.db' --http 127.0.0.1:%d --ca '%s' --key '%s'",
             dir, it_free_port(), cfile("ca.pem"), cfile("client.key"));
    expect_refused("--key without --cert", args, "--key needs --cert");
    snprintf(args, sizeof args, "--db '%s/refused.db' --http 127.0.0.1:%d --cert '%s' --key '%s'",
             dir, it_free_port(), cfile("client.pem"), cfile("client.key"));
    expect_refused("--cert/--key without --ca", args, "need --ca");
    /* the same rule for options read from a config file */
    char conf[300];
    snprintf(conf, sizeof conf, "%s/tls.conf", dir);
    FILE *f = fopen(conf, "w");
    if (f == NULL)
    {
        CHECK(0, "cannot write %s", conf);
        return;
    }
    fprintf(f, "ca = %s\ncert = %s\n", cfile("ca.pem"), cfile("client.pem"));
    fclose(f);
    snprintf(args, sizeof args, "--db '%s/refused.db' --http 127.0.0.1:%d --config '%s'", dir,
             it_free_port(), conf);
    expect_refused("config file: cert without key", args, "--cert needs --key");
}

int main(int argc, char **argv)
{
    if (argc < 3)
    {
        fprintf(stderr, "usage: %s DEFENDER_DETECT MOSQUITTO\n", argv[0]);
        return 2;
    }
    g_exe = argv[1];
    snprintf(g_certs, sizeof g_certs, "/tmp/detect-tls-XXXXXX");
    /* the broker may drop root privileges: let it read the folder */
    if (mkdtemp(g_certs) == NULL || chmod(g_certs, 0755) != 0 || make_certificates() != 0)
    {
        fprintf(stderr, "cannot make the certificates in %s\n", g_certs);
        return 1;
    }
    mosquitto_lib_init();
    int tls_port = it_free_port();
    char conf[1200];
    snprintf(conf, sizeof conf,
             "listener %d 127.0.0.1\ncafile %s\ncertfile %s\nkeyfile %s\n"
             "require_certificate true\n",
             tls_port, cfile("ca.pem"), cfile("server.pem"), cfile("server.key"));
    it_broker b;
    if (it_broker_start(&b, argv[2], conf) != 0)
    {
        fprintf(stderr, "cannot start mosquitto\n");
        return 1;
    }
    it_peer *peer = it_peer_connect(b.port, "$aws/things/+/defender/metrics/+/+");
    if (peer == NULL)
    {
        fprintf(stderr, "peer cannot connect\n");
        it_broker_stop(&b);
        return 1;
    }
    char tls_broker[64], db[400];
    snprintf(tls_broker, sizeof tls_broker, "127.0.0.1:%d", tls_port);

    /* 1. mutual TLS with the right CA: connected, a report is answered */
    snprintf(db, sizeof db, "%s/tls.db", b.dir);
    const char *good[] = {"--broker", tls_broker,          "--ca",  cfile("ca.pem"),
                          "--cert",   cfile("client.pem"), "--key", cfile("client.key"),
                          NULL};
    it_service s;
    if (it_service_start(&s, g_exe, &b, db, good) != 0)
    {
        CHECK(0, "service with --ca/--cert/--key did not connect over TLS (log %s.log)", db);
    }
    else
    {
        CHECK(it_log_contains(s.log, "connected to broker;"), "log says connected");
        static const char rep[] =
            "{\"header\":{\"report_id\":77,\"version\":\"1.0\"},\"metrics\":{}}";
        CHECK(it_peer_publish(peer, "$aws/things/tls-thing/defender/metrics/json", rep,
                              sizeof rep - 1, 1) == 0,
              "publish");
        it_msg m;
        if (it_peer_next(peer, &m, 5000))
        {
            CHECK(strcmp(m.topic, "$aws/things/tls-thing/defender/metrics/json/accepted") == 0,
                  "reply topic %s", m.topic);
            CHECK(strstr((char *) m.payload, "\"thingName\":\"tls-thing\",\"reportId\":77,"
                                             "\"status\":\"ACCEPTED\"") != NULL,
                  "reply %s", (char *) m.payload);
            free(m.payload);
        }
        else
        {
            CHECK(0, "no reply to the report sent to the TLS-connected service");
        }
        int rc = it_service_stop(&s, SIGTERM, 10000);
        CHECK(rc == 0, "SIGTERM exit status %d", rc);
    }

    /* 2. a CA that did not sign the broker's certificate: never connected */
    snprintf(db, sizeof db, "%s/wrong-ca.db", b.dir);
    const char *wrong_ca[] = {"--ca",  cfile("other-ca.pem"), "--cert", cfile("client.pem"),
                              "--key", cfile("client.key"),   NULL};
    /* the handshake fails in the service: a TLS error, and OpenSSL's reason, on every attempt
     * (a handshake that fails in the network loop used to go unlogged) */
    expect_no_connection("wrong CA", tls_broker, db, wrong_ca, "A TLS error occurred",
                         "certificate verify failed");

    /* 3. no client certificate: the listener requires one */
    snprintf(db, sizeof db, "%s/no-cert.db", b.dir);
    const char *no_cert[] = {"--ca", cfile("ca.pem"), NULL};
    /* the broker ends the connection after the handshake */
    expect_no_connection("no client certificate", tls_broker, db, no_cert,
                         "disconnected from broker", "alert certificate required");

    /* 4. incomplete TLS options are refused at option parsing */
    refusals(b.dir);

    CHECK(it_peer_pending(peer) == 0, "%zu unexpected extra replies", it_peer_pending(peer));
    it_peer_close(peer);
    it_broker_stop(&b);
    mosquitto_lib_cleanup();
    char cmd[400];
    if (it_failures == 0)
    {
        snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s'", b.dir, g_certs);
        if (system(cmd) != 0)
            fprintf(stderr, "cleanup failed\n");
    }
    else
    {
        fprintf(stderr, "logs kept in %s, certificates in %s\n", b.dir, g_certs);
    }
    printf("%s: %d failure(s)\n", argv[0], it_failures);
    return it_failures ? 1 : 0;
}
