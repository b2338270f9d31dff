#ifndef DETECT_HTTP_API_H
#define DETECT_HTTP_API_H

#include "service.h"

typedef struct detect_http detect_http;

detect_http *http_start(detect_service *svc, int (*mqtt_connected)(void *), void *mqtt_ctx,
                        char *err, size_t errsz);
void http_set_mqtt(detect_http *h, int (*mqtt_connected)(void *), void *mqtt_ctx);
void http_stop(detect_http *h);

/* Time parsing for query strings (RD-1): ISO 8601 or epoch seconds. Returns 0 ok. */
int parse_time_ms(const char *s, int64_t *out_ms);

#endif
