#ifndef DETECT_MQTT_H
#define DETECT_MQTT_H

#include "service.h"

typedef struct detect_mqtt detect_mqtt;

detect_mqtt *mqtt_start(detect_service *svc, char *err, size_t errsz);
/* Stops new deliveries (unsubscribes). */
void mqtt_quiesce(detect_mqtt *m);
/* Waits (up to timeout_ms) until every reply published has been acknowledged. */
void mqtt_flush(detect_mqtt *m, int timeout_ms);
/* Stops the network thread, sends DISCONNECT and frees m: 1. Returns 0, leaving m and the
 * thread to the exiting process, when the thread is inside a connection attempt that does not
 * end within 3 s (libmosquitto must then not be cleaned up either). */
int mqtt_stop(detect_mqtt *m);
int mqtt_connected(detect_mqtt *m);

#endif
