#include "config.h"
#include "credentials.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void config_defaults(detect_config *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->broker_host, sizeof c->broker_host, "localhost");
    c->broker_port = 0; /* 1883, or 8883 with TLS */
    snprintf(c->db_path, sizeof c->db_path, "/var/lib/defender-detect/detect.db");
    snprintf(c->http_addr, sizeof c->http_addr, "127.0.0.1");
    c->http_port = 8080;
    c->throttle_seconds = 300;
    c->throttle_tolerance = 10;
    c->max_payload = 131072;
    c->retention_days = 30;
    snprintf(c->region, sizeof c->region, "us-east-1");
    snprintf(c->account_id, sizeof c->account_id, "123456789012");
    snprintf(c->partition, sizeof c->partition, "aws");
    c->log_level = 2;
    c->batch_max = 1024;
    c->batch_linger_us = 500;
    c->queue_max_mb = 64;
    snprintf(c->alert_topic, sizeof c->alert_topic, "defender/detect/alerts");
    c->max_profiles_per_target = 5;
}

void config_usage(const char *prog)
{
    printf(
        "Usage: %s serve [options]\n"
        "       %s --version\n"
        "Self-hosted AWS IoT Device Defender Detect service: device reports, the AWS API,\n"
        "security profiles and violations.\n\n"
        "MQTT:\n"
        "  --broker HOST[:PORT]        broker address (default localhost:1883, 8883 with TLS)\n"
        "  --ca FILE                   TLS to the broker, verified with this CA file\n"
        "  --cert FILE --key FILE      client certificate and key (mutual TLS; need --ca)\n"
        "  --username NAME --password PW     broker credentials\n"
        "  --client-id ID              MQTT client id (default defender-detect-<pid>)\n"
        "  --session-expiry S          keep the broker session S seconds across restarts\n"
        "                              (default 0: clean session; needs --client-id)\n"
        "  --share-group NAME          subscribe via $share/NAME/... (MQTT v5)\n"
        "Storage:\n"
        "  --db PATH                   SQLite file (default /var/lib/defender-detect/detect.db)\n"
        "  --retention-days N          datapoint retention (default 30)\n"
        "  --sync full|normal          full (default): a reply waits for the fsync; normal:\n"
        "                              survives a crash of the process, not a power loss\n"
        "HTTP API:\n"
        "  --http ADDR:PORT            API listen address (default 127.0.0.1:8080)\n"
        "  --credentials FILE          verify SigV4 against 'ACCESS_KEY_ID SECRET' lines\n"
        "  --region R --account-id N --partition P   ARN components\n"
        "Validation:\n"
        "  --strict                    strict mode (protocol appendix)\n"
        "  --throttle-seconds N        throttle window W (default 300, 0 disables)\n"
        "  --throttle-tolerance PCT    tolerance T, 0..50 (default 10)\n"
        "  --duplicate-reply           answer duplicate ids with REJECTED InvalidPayload\n"
        "  --max-payload BYTES         (default 131072)\n"
        "Test hooks:\n"
        "  --test-hooks                enable POST /_test/... endpoints (clock, reject, ...)\n"
        "  --reject-all invalid|throttled   reject every otherwise valid report\n"
        "  --response-delay-ms N       delay every response\n"
        "  --drop-responses N          drop the next N responses\n"
        "Other:\n"
        "  --config FILE               read 'key = value' lines with the option names\n"
        "  --log-level error|warn|info|debug\n"
        "  --batch-max N               reports per storage transaction (default 1024)\n"
        "  --batch-linger-us N         let a batch fill for up to N us after its first report\n"
        "                              before committing it (default 500)\n"
        "  --queue-max-mb N            ingest queue bound (default 64)\n"
        "Rules Detect:\n"
        "  --alert-topic TOPIC         MQTT topic of alerts (default defender/detect/alerts)\n"
        "  --alert-url URL             also POST alerts in an SNS envelope to this http:// URL\n"
        "  --thing-groups FILE         registry and static thing groups (JSON)\n"
        "  --max-profiles-per-target N security profiles per target (default 5)\n"
        "  --direct-members-only       a profile on a thing group covers its direct members\n"
        "                              only, not those of its child groups\n"
        "  -h, --help\n"
        "Exit status: 0 stopped by SIGTERM/SIGINT, 1 failed to start or run, 2 invalid\n"
        "options or configuration.\n",
        prog, prog);
}

static int set_str(char *dst, size_t cap, const char *v, char *err, size_t errsz, const char *k)
{
    if (strlen(v) >= cap)
    {
        snprintf(err, errsz, "value of %s too long", k);
        return -1;
    }
    snprintf(dst, cap, "%s", v);
    return 0;
}

static int set_int(int *dst, const char *v, long lo, long hi, char *err, size_t errsz,
                   const char *k)
{
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno != 0 || end == v || *end != '\0' || n < lo || n > hi)
    {
        snprintf(err, errsz, "invalid value for %s: '%s' (%ld..%ld)", k, v, lo, hi);
        return -1;
    }
    *dst = (int) n;
    return 0;
}

static int split_hostport(const char *v, char *host, size_t hcap, int *port, char *err,
                          size_t errsz, const char *k)
{
    const char *colon = strrchr(v, ':');
    const char *h = v;
    size_t hl = colon ? (size_t) (colon - v) : strlen(v);
    if (colon != NULL && strchr(v, ']') != NULL && colon < strchr(v, ']'))
    {
        colon = NULL;
        hl = strlen(v);
    }
    /* a bare IPv6 address ("::1", "fd00::5") has no port: "[::1]:8883" gives one */
    if (colon != NULL && strchr(v, '[') == NULL && strchr(v, ':') != colon)
    {
        colon = NULL;
        hl = strlen(v);
    }
    if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']')
    {
        h++;
        hl -= 2;
    }
    if (hl == 0 || hl >= hcap)
    {
        snprintf(err, errsz, "invalid address for %s: '%s'", k, v);
        return -1;
    }
    memcpy(host, h, hl);
    host[hl] = '\0';
    if (colon != NULL)
        return set_int(port, colon + 1, 1, 65535, err, errsz, k);
    return 0;
}

/* Applies one option; returns 1 if it consumed the value, 0 if it is a flag, -1 error. */
static int apply(detect_config *c, const char *k, const char *v, char *err, size_t errsz)
{
#define NEEDV()                                                                                    \
    do                                                                                             \
    {                                                                                              \
        if (v == NULL)                                                                             \
        {                                                                                          \
            snprintf(err, errsz, "option %s needs a value", k);                                    \
            return -1;                                                                             \
        }                                                                                          \
    } while (0)
#define STR(name, field)                                                                           \
    if (strcmp(k, name) == 0)                                                                      \
    {                                                                                              \
        NEEDV();                                                                                   \
        return set_str(c->field, sizeof c->field, v, err, errsz, k) < 0 ? -1 : 1;                  \
    }
#define INT(name, field, lo, hi)                                                                   \
    if (strcmp(k, name) == 0)                                                                      \
    {                                                                                              \
        NEEDV();                                                                                   \
        return set_int(&c->field, v, lo, hi, err, errsz, k) < 0 ? -1 : 1;                          \
    }
    if (strcmp(k, "broker") == 0)
    {
        NEEDV();
        return split_hostport(v, c->broker_host, sizeof c->broker_host, &c->broker_port, err, errsz,
                              k) < 0
                   ? -1
                   : 1;
    }
    if (strcmp(k, "http") == 0)
    {
        NEEDV();
        return split_hostport(v, c->http_addr, sizeof c->http_addr, &c->http_port, err, errsz, k) <
                       0
                   ? -1
                   : 1;
    }
    STR("ca", ca)
    STR("cert", cert)
    STR("key", key)
    STR("username", username)
    STR("password", password)
    STR("client-id", client_id)
    if (strcmp(k, "share-group") == 0)
    {
        NEEDV();
        /* the name is a level of $share/NAME/filter (MQTT 5.0 section 4.8.2) */
        if (v[0] == '\0' || strpbrk(v, "/+#") != NULL)
        {
            snprintf(err, errsz,
                     "invalid --share-group '%.128s': a share name must not be empty or contain "
                     "'/', '+' or '#' (MQTT 5.0 section 4.8.2)",
                     v);
            return -1;
        }
        return set_str(c->share_group, sizeof c->share_group, v, err, errsz, k) < 0 ? -1 : 1;
    }
    STR("db", db_path)
    STR("credentials", credentials)
    STR("region", region)
    STR("account-id", account_id)
    STR("partition", partition)
    INT("session-expiry", session_expiry, 0, 2147483647)
    INT("throttle-seconds", throttle_seconds, 0, 86400 * 365)
    INT("throttle-tolerance", throttle_tolerance, 0, 50)
    INT("max-payload", max_payload, 1, 131072)
    INT("retention-days", retention_days, 1, 36500)
    INT("response-delay-ms", response_delay_ms, 0, 600000)
    INT("drop-responses", drop_responses, 0, 1000000000)
    INT("batch-max", batch_max, 1, 65536)
    INT("batch-linger-us", batch_linger_us, 0, 100000)
    INT("queue-max-mb", queue_max_mb, 1, 65536)
    STR("alert-topic", alert_topic)
    STR("alert-url", alert_url)
    STR("thing-groups", thing_groups)
    INT("max-profiles-per-target", max_profiles_per_target, 1, 1000)
    if (strcmp(k, "reject-all") == 0)
    {
        NEEDV();
        if (strcmp(v, "invalid") != 0 && strcmp(v, "throttled") != 0 && strcmp(v, "none") != 0)
        {
            snprintf(err, errsz, "--reject-all takes invalid, throttled or none");
            return -1;
        }
        snprintf(c->reject_all, sizeof c->reject_all, "%s", strcmp(v, "none") ? v : "");
        return 1;
    }
    if (strcmp(k, "sync") == 0)
    {
        NEEDV();
        if (strcmp(v, "full") != 0 && strcmp(v, "normal") != 0)
        {
            snprintf(err, errsz, "--sync takes full or normal");
            return -1;
        }
        c->sync_normal = strcmp(v, "normal") == 0;
        return 1;
    }
    if (strcmp(k, "log-level") == 0)
    {
        NEEDV();
        static const char *const lv[] = {"error", "warn", "info", "debug"};
        for (int i = 0; i < 4; i++)
            if (strcmp(v, lv[i]) == 0)
            {
                c->log_level = i;
                return 1;
            }
        snprintf(err, errsz, "invalid log level '%s'", v);
        return -1;
    }
    /* boolean flags; in a config file they take true/false */
    int *flag = NULL;
    if (strcmp(k, "strict") == 0)
        flag = &c->strict;
    else if (strcmp(k, "duplicate-reply") == 0)
        flag = &c->duplicate_reply;
    else if (strcmp(k, "test-hooks") == 0)
        flag = &c->test_hooks;
    else if (strcmp(k, "direct-members-only") == 0)
        flag = &c->direct_members_only;
    if (flag != NULL)
    {
        if (v == NULL)
        {
            *flag = 1;
            return 0;
        }
        /* "strict =" in a file: set, as "strict" alone */
        if (v[0] == '\0' || strcmp(v, "true") == 0 || strcmp(v, "1") == 0 || strcmp(v, "yes") == 0)
            *flag = 1;
        else if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0 || strcmp(v, "no") == 0)
            *flag = 0;
        else
        {
            snprintf(err, errsz, "invalid boolean for %s: '%s'", k, v);
            return -1;
        }
        return 1;
    }
    snprintf(err, errsz, "unknown option '%s'", k);
    return -1;
#undef NEEDV
#undef STR
#undef INT
}

static int is_flag(const char *k)
{
    return strcmp(k, "strict") == 0 || strcmp(k, "duplicate-reply") == 0 ||
           strcmp(k, "test-hooks") == 0 || strcmp(k, "direct-members-only") == 0;
}

int config_load_file(detect_config *c, const char *path, char *err, size_t errsz)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
    {
        snprintf(err, errsz, "cannot open config %s", path);
        return -1;
    }
    char line[1024];
    int lineno = 0;
    while (fgets(line, sizeof line, f) != NULL)
    {
        lineno++;
        size_t l = strlen(line);
        if (l == sizeof line - 1 && line[l - 1] != '\n')
        {
            snprintf(err, errsz, "%s:%d: line too long", path, lineno);
            fclose(f);
            return -1;
        }
        char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        char *e = p + strlen(p);
        while (e > p && (e[-1] == '\n' || e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
            *--e = '\0';
        if (*p == '\0' || *p == '#')
            continue;
        char *k = p;
        char *sep = strpbrk(p, "= \t");
        char *v = NULL;
        if (sep != NULL)
        {
            /* "key = value", "key value"; "key =" gives the empty value (alert-topic, to
             * disable it); "key" alone none (a flag) */
            char *q = sep;
            while (*q == ' ' || *q == '\t')
                q++;
            int equals = *q == '=';
            if (equals)
                q++;
            while (*q == ' ' || *q == '\t')
                q++;
            *sep = '\0';
            v = (*q != '\0' || equals) ? q : NULL;
        }
        char sub[256];
        if (apply(c, k, v, sub, sizeof sub) < 0)
        {
            snprintf(err, errsz, "%s:%d: %s", path, lineno, sub);
            fclose(f);
            return -1;
        }
    }
    fclose(f);
    return 0;
}

/* TLS options come as a set: libmosquitto takes a certificate only with its key, and a
 * client certificate only together with the CA that verifies the broker. */
static int check_tls(const detect_config *c, char *err, size_t errsz)
{
    if (c->cert[0] && !c->key[0])
    {
        snprintf(err, errsz, "--cert needs --key (the private key of the certificate)");
        return -1;
    }
    if (c->key[0] && !c->cert[0])
    {
        snprintf(err, errsz, "--key needs --cert (the certificate of the key)");
        return -1;
    }
    if (c->cert[0] && !c->ca[0])
    {
        snprintf(err, errsz, "--cert and --key need --ca (the CA file that verifies the broker)");
        return -1;
    }
    return 0;
}

/* What start-up would refuse later (after creating the database): refused here, with the
 * exit status of a configuration error. */
static int check_config(const detect_config *c, char *err, size_t errsz)
{
    struct in6_addr a;
    if (inet_pton(AF_INET, c->http_addr, &a) != 1 && inet_pton(AF_INET6, c->http_addr, &a) != 1)
    {
        snprintf(err, errsz,
                 "--http needs a numeric address, e.g. 127.0.0.1:8080 or [::1]:8080 "
                 "(got '%s')",
                 c->http_addr);
        return -1;
    }
    if (c->session_expiry > 0 && !c->client_id[0])
    {
        snprintf(err, errsz,
                 "--session-expiry needs a fixed --client-id (the broker keeps the "
                 "session under that id)");
        return -1;
    }
    if (!c->db_path[0])
    {
        snprintf(err, errsz, "--db needs a file path");
        return -1;
    }
    if (c->credentials[0])
    {
        /* Read here, so that a file the API would refuse is a configuration error. */
        credential *creds;
        size_t n;
        if (credentials_load(c->credentials, &creds, &n, err, errsz) != 0)
            return -1;
        credentials_free(creds, n);
    }
    return check_tls(c, err, errsz);
}

int config_parse_args(detect_config *c, int argc, char **argv, char *err, size_t errsz)
{
    for (int i = 0; i < argc; i++)
    {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            return 1;
        if (strcmp(argv[i], "--version") == 0)
            return 2;
        /* an option's value may be anything, "--version" included (a password) */
        if (strncmp(argv[i], "--", 2) == 0 && strchr(argv[i], '=') == NULL && !is_flag(argv[i] + 2))
            i++;
    }
    /* config file first, so that command-line options override it */
    for (int i = 0; i < argc; i++)
    {
        if (strcmp(argv[i], "--config") == 0)
        {
            if (i + 1 >= argc)
            {
                snprintf(err, errsz, "--config needs a value");
                return -1;
            }
            if (config_load_file(c, argv[i + 1], err, errsz) < 0)
                return -1;
        }
    }
    for (int i = 0; i < argc; i++)
    {
        const char *a = argv[i];
        if (strcmp(a, "--config") == 0)
        {
            i++;
            continue;
        }
        if (strncmp(a, "--", 2) != 0)
        {
            snprintf(err, errsz, "unexpected argument '%s'", a);
            return -1;
        }
        char key[64];
        const char *eq = strchr(a + 2, '=');
        const char *v;
        size_t kl = eq ? (size_t) (eq - a - 2) : strlen(a + 2);
        if (kl >= sizeof key)
        {
            snprintf(err, errsz, "unknown option '%s'", a);
            return -1;
        }
        memcpy(key, a + 2, kl);
        key[kl] = '\0';
        if (eq != NULL)
            v = eq + 1;
        else if (is_flag(key))
            v = NULL;
        else
            v = i + 1 < argc ? argv[i + 1] : NULL;
        int r = apply(c, key, v, err, errsz);
        if (r < 0)
            return -1;
        if (r == 1 && eq == NULL)
            i++;
    }
    return check_config(c, err, errsz);
}
