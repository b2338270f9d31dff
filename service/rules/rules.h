/* Rules Detect: security profiles, evaluation of accepted reports, violations and alerts
 * (detect-rules.md sections 2-5). One engine per service; every entry point is thread-safe
 * (one engine mutex). State lives in SQLite tables of the service's database file. */
#ifndef DETECT_RULES_H
#define DETECT_RULES_H

#include "report.h"

#include <stddef.h>
#include <stdint.h>

typedef struct rules_engine rules_engine;

typedef struct
{
    const char *db_path; /* the service's database file (own handle, WAL) */
    const char *partition;
    const char *region;
    const char *account_id;
    /* clock in ms (the service's, so that its test clock applies); NULL = real time; a
     * callback answering 0 means "no time yet": the sweep waits, the rest uses real time */
    int64_t (*now_ms)(void *ctx);
    void *now_ctx;
    /* custom-metric type lookup (PD-13 registry); NULL = no custom metrics */
    cm_type (*custom_type)(void *ctx, const char *name, size_t len);
    void *custom_ctx;
    /* alerts: MQTT publish (may be NULL), topic, optional HTTP URL (http:// only) */
    int (*publish)(void *ctx, const char *topic, const void *payload, size_t len);
    void *publish_ctx;
    const char *alert_topic;
    const char *alert_url;
    const char *thing_groups_file; /* optional JSON file: registry and static groups */
    int strict;                    /* rejects the thing/<name> target extension */
    int direct_members_only;       /* RD-7 option: groups do not cover child groups' members */
    int max_behaviors;             /* V-2, default 100 */
    int max_value_elements;        /* V-15, default 1000 */
    int max_profiles_per_target;   /* 2.3, default 5 */
    int event_retention_days;      /* 4.10, default 30 */
    int tick_ms;                   /* sweep period of the background thread, default 1000 */
} rules_config;

void rules_config_defaults(rules_config *c);

/* Opens the engine: creates its tables, loads profiles, targets, groups and alarm state,
 * replays recent reports of the service's table for traffic windows and fleet statistics. */
rules_engine *rules_open(const rules_config *c, char *err, size_t errsz);
/* Starts the sweep (invalidation, retention) and alert-delivery threads. */
int rules_start(rules_engine *e);
/* Stops those threads (alerts not yet delivered stay pending in the database) and commits.
 * The API and evaluation keep working until rules_close. */
void rules_stop(rules_engine *e);
void rules_close(rules_engine *e);

/* Evaluates one accepted report (section 4.2). Datapoints are those the service derived. */
void rules_on_report(rules_engine *e, const char *thing, size_t thing_len, int64_t received_ms,
                     const detect_datapoint *dps, size_t ndps);
/* Same, with the service's detect_accept_hook signature (ctx = engine). */
void rules_accept_hook(void *ctx, const char *thing, size_t thing_len, uint64_t report_id,
                       int64_t received_ms, const detect_datapoint *dps, size_t ndps);
/* Invalidation sweep (4.7) and event retention at time now_ms. */
void rules_tick(rules_engine *e, int64_t now_ms);
/* Waits (up to timeout_ms) until every pending alert has been delivered. 1 = all done. */
int rules_alerts_flush(rules_engine *e, int timeout_ms);

/* HTTP routes of sections 1-6 that the service does not handle. Returns 1 when the route
 * is one of the engine's (status, *response_json (malloc'ed, free with rules_free) and
 * *error_type (static, NULL on success) are set), 0 when it is not. query is the raw
 * (percent-encoded) query string without '?', or NULL. */
int rules_http_handle(rules_engine *e, const char *method, const char *path, const char *query,
                      const char *body, size_t body_len, int *status, char **response_json,
                      const char **error_type);
void rules_free(void *p);

/* RD-34: 1 when a profile uses the metric (behaviors or metrics to retain). */
int rules_metric_in_use(rules_engine *e, const char *metric);

/* Parses and validates a CreateSecurityProfile body without an engine (fuzzing, tools).
 * Returns the number of validation errors, or -1 when the body is not a JSON object. */
int rules_validate_profile_text(const char *body, size_t len,
                                cm_type (*custom_type)(void *, const char *, size_t), void *ctx);

#endif
