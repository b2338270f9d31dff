/* defender-detect: self-hosted AWS IoT Device Defender Detect service (ingestion). */
#include "config.h"
#include "http_api.h"
#include "log.h"
#include "mqtt.h"
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
    mq = mqtt_start(&svc, err, sizeof err);
    if (mq == NULL)
    {
        fprintf(stderr, "defender-detect: %s\n", err);
        http_stop(http);
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
    mqtt_flush(mq, 5000);
    mqtt_stop(mq);
    http_stop(http);
    log_msg(LOG_INFO, "stopped: accepted=%llu",
            (unsigned long long) atomic_load(&svc.counters.accepted));
    service_destroy(&svc);
    custom_registry_clear();
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
        printf("defender-detect 1.0.0\n");
        return 0;
    }
    fprintf(stderr, "usage: defender-detect serve [options]   (defender-detect --help)\n");
    return 2;
}
