/* defender-detect: self-hosted AWS IoT Device Defender Detect service (ingestion). */
#include "config.h"
#include "http_api.h"
#include "log.h"
#include "mqtt.h"
#include "rules.h"
#include "service.h"

#include <errno.h>
#include <mosquitto.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static int mqtt_connected_cb(void *ctx)
{
    return mqtt_connected(ctx);
}

/* Rules Detect (service/rules): on the service's database, fed by the accept hook. */
static int64_t rules_clock(void *ctx)
{
    detect_service *s = ctx;
    /* with test hooks, the invalidation sweep waits for the test clock */
    if (s->cfg.test_hooks && atomic_load(&s->fake_now_ms) == 0)
        return 0;
    return service_now_ms(s);
}

static int rules_publish(void *ctx, const char *topic, const void *payload, size_t len)
{
    detect_service *s = ctx;
    return s->publish != NULL ? s->publish(s->publish_ctx, topic, payload, len) : -1;
}

static int rules_http(void *ctx, const char *method, const char *path, const char *query,
                      const char *body, size_t len, int *status, char **resp, const char **etype)
{
    return rules_http_handle(ctx, method, path, query, body, len, status, resp, etype);
}

static int rules_in_use(void *ctx, const char *metric)
{
    return rules_metric_in_use(ctx, metric);
}

static rules_engine *rules_attach(detect_service *s, detect_http *http, char *err, size_t errsz)
{
    const detect_config *c = &s->cfg;
    rules_config rc;
    rules_config_defaults(&rc);
    rc.db_path = c->db_path;
    rc.partition = c->partition;
    rc.region = c->region;
    rc.account_id = c->account_id;
    rc.now_ms = rules_clock;
    rc.now_ctx = s;
    rc.custom_type = custom_registry_lookup;
    rc.publish = rules_publish;
    rc.publish_ctx = s;
    rc.alert_topic = c->alert_topic;
    rc.alert_url = c->alert_url[0] ? c->alert_url : NULL;
    rc.thing_groups_file = c->thing_groups[0] ? c->thing_groups : NULL;
    rc.strict = c->strict;
    rc.max_profiles_per_target = c->max_profiles_per_target;
    rc.direct_members_only = c->direct_members_only;
    rc.event_retention_days = c->retention_days;
    rules_engine *e = rules_open(&rc, err, errsz);
    if (e != NULL && rules_start(e) != 0)
    {
        snprintf(err, errsz, "cannot start the Rules Detect threads");
        rules_close(e);
        return NULL;
    }
    if (e != NULL)
    {
        http_set_extension(http, rules_http, rules_free, rules_in_use, e);
        s->hook_ctx = e;
        s->hook = rules_accept_hook;
    }
    return e;
}

static int serve(int argc, char **argv)
{
    detect_config cfg;
    config_defaults(&cfg);
    char err[512];
    int r = config_parse_args(&cfg, argc, argv, err, sizeof err);
    if (r == 1)
    {
        config_usage("defender-detect");
        return 0;
    }
    if (r == 2)
    {
        printf("defender-detect %s\n", DETECT_VERSION);
        return 0;
    }
    if (r < 0)
    {
        fprintf(stderr, "defender-detect: %s (see --help)\n", err);
        return 2;
    }
    log_set_level(cfg.log_level);

    /* signals are handled synchronously by the main thread */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    mosquitto_lib_init();
    static detect_service svc;
    if (service_init(&svc, &cfg, err, sizeof err) != 0)
    {
        fprintf(stderr, "defender-detect: %s\n", err);
        service_destroy(&svc);
        mosquitto_lib_cleanup();
        return 1;
    }
    if (service_start(&svc) != 0)
    {
        fprintf(stderr, "defender-detect: cannot start worker\n");
        service_destroy(&svc);
        mosquitto_lib_cleanup();
        return 1;
    }
    detect_mqtt *mq = NULL;
    detect_http *http = http_start(&svc, NULL, NULL, err, sizeof err);
    if (http == NULL)
    {
        fprintf(stderr, "defender-detect: %s\n", err);
        service_destroy(&svc);
        mosquitto_lib_cleanup();
        return 1;
    }
    rules_engine *rules = rules_attach(&svc, http, err, sizeof err);
    if (rules == NULL)
    {
        fprintf(stderr, "defender-detect: %s\n", err);
        http_stop(http);
        service_destroy(&svc);
        mosquitto_lib_cleanup();
        return 1;
    }
    /* The API is complete with Rules Detect attached; the MQTT state follows (it may take a
     * while to connect, and reads false until then). */
    http_set_ready(http);
    mq = mqtt_start(&svc, err, sizeof err);
    if (mq == NULL)
    {
        fprintf(stderr, "defender-detect: %s\n", err);
        http_stop(http);
        rules_close(rules);
        service_destroy(&svc);
        mosquitto_lib_cleanup();
        return 1;
    }
    http_set_mqtt(http, mqtt_connected_cb, mq);
    log_msg(LOG_INFO, "defender-detect running (%s mode, throttle %ds, db %s)",
            cfg.strict ? "strict" : "default", cfg.throttle_seconds, cfg.db_path);

    int sig = 0;
    for (;;)
    {
        sig = sigwaitinfo(&set, NULL);
        if (sig < 0 && errno == EINTR)
            continue;
        if (sig == SIGHUP)
        {
            log_msg(LOG_INFO, "SIGHUP ignored (restart to reload the configuration)");
            continue;
        }
        break;
    }
    log_msg(LOG_INFO, "signal %d: finishing in-flight reports", sig);
    /* stop deliveries, give in-flight messages a moment to arrive, drain, flush replies */
    mqtt_quiesce(mq);
    struct timespec ts = {0, 200 * 1000000L};
    nanosleep(&ts, NULL);
    service_stop(&svc);
    rules_alerts_flush(rules, 3000);
    rules_stop(rules);
    mqtt_flush(mq, 5000);
    http_set_mqtt(http, NULL, NULL); /* no request may use mq once it is freed */
    int mqtt_stopped = mqtt_stop(mq);
    http_stop(http);
    rules_close(rules);
    log_msg(LOG_INFO, "stopped: accepted=%llu",
            (unsigned long long) atomic_load(&svc.counters.accepted));
    service_destroy(&svc);
    custom_registry_clear();
    if (mqtt_stopped)
        mosquitto_lib_cleanup();
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "serve") == 0)
        return serve(argc - 2, argv + 2);
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
                      strcmp(argv[1], "help") == 0))
    {
        config_usage("defender-detect");
        return 0;
    }
    if (argc >= 2 && strcmp(argv[1], "--version") == 0)
    {
        printf("defender-detect %s\n", DETECT_VERSION);
        return 0;
    }
    fprintf(stderr, "usage: defender-detect serve [options]   (defender-detect --help)\n");
    return 2;
}
