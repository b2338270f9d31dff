/* Service options: command line and config file ("key = value", same names). */
#ifndef DETECT_CONFIG_H
#define DETECT_CONFIG_H

#include <stddef.h>

#define CFG_PATH 512

typedef struct
{
    char broker_host[256];
    int broker_port;
    char ca[CFG_PATH];
    char cert[CFG_PATH];
    char key[CFG_PATH];
    char username[128];
    char password[256];
    char client_id[128];
    char share_group[128];
    int session_expiry; /* > 0: persistent MQTT session (needs client_id) */
    char db_path[CFG_PATH];
    char http_addr[64];
    int http_port;
    char credentials[CFG_PATH];
    int strict;
    int throttle_seconds;
    int throttle_tolerance;
    int duplicate_reply;
    int max_payload;
    int retention_days;
    int sync_normal; /* SQLite synchronous=NORMAL: survives a process kill, not power loss */
    char region[32];
    char account_id[16];
    char partition[16];
    int test_hooks;
    char reject_all[16]; /* "", "invalid", "throttled" */
    int response_delay_ms;
    int drop_responses;
    int log_level;
    int batch_max;
    int batch_linger_us; /* wait up to this long for a batch to fill (0: never) */
    int queue_max_mb;
    char alert_topic[256];       /* Rules Detect alerts: MQTT topic ("" = none) */
    char alert_url[CFG_PATH];    /* Rules Detect alerts: SNS-envelope HTTP POST */
    char thing_groups[CFG_PATH]; /* Rules Detect: registry and static thing groups file */
    int max_profiles_per_target; /* Rules Detect: default 5 */
    int direct_members_only;     /* Rules Detect: groups cover direct members only (RD-7) */
} detect_config;

void config_defaults(detect_config *c);
/* Parses argv (after the "serve" word): the --config file first, then the options, then the
 * checks start-up would otherwise fail on. Returns 0 ok, 1 --help asked, 2 --version asked,
 * -1 error (message in err). */
int config_parse_args(detect_config *c, int argc, char **argv, char *err, size_t errsz);
int config_load_file(detect_config *c, const char *path, char *err, size_t errsz);
void config_usage(const char *prog);

#endif
