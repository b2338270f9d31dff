#ifndef DETECT_HTTP_API_H
#define DETECT_HTTP_API_H

#include "service.h"

typedef struct detect_http detect_http;

detect_http *http_start(detect_service *svc, int (*mqtt_connected)(void *), void *mqtt_ctx,
                        char *err, size_t errsz);
/* Sets (or, with NULL, clears) the MQTT connection's state callback; once it returns no
 * request is still inside the previous one, so the old context may be freed. */
void http_set_mqtt(detect_http *h, int (*mqtt_connected)(void *), void *mqtt_ctx);
/* From now on the whole API is served (call it once the extension is attached); before,
 * everything but /service/health gets 503 ServiceUnavailableException (retried by the AWS
 * SDKs and CLI). */
void http_set_ready(detect_http *h);

/* Extension point for the Rules Detect engine (or any other module): routes this API does
 * not handle are offered to `handle` (same contract as rules_http_handle: returns 1 when the
 * route is its own and sets status, a malloc'ed JSON body freed with `free_fn`, and the
 * error name or NULL; 0 otherwise). `metric_in_use` (may be NULL) refuses deleting a custom
 * metric that a profile uses (RD-34). query is the raw query string without '?', or NULL. */
typedef int (*detect_http_ext_fn)(void *ctx, const char *method, const char *path,
                                  const char *query, const char *body, size_t body_len, int *status,
                                  char **response_json, const char **error_type);
void http_set_extension(detect_http *h, detect_http_ext_fn handle, void (*free_fn)(void *),
                        int (*metric_in_use)(void *ctx, const char *metric), void *ctx);
void http_stop(detect_http *h);

/* Time parsing for query strings (RD-1): ISO 8601 or epoch seconds. Returns 0 ok. */

#endif
