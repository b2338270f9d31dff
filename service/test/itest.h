/* Integration-test harness: spawns mosquitto and defender-detect on free loopback ports,
 * an MQTT peer that records replies, and a tiny HTTP client. */
#ifndef DETECT_ITEST_H
#define DETECT_ITEST_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

typedef struct
{
    pid_t pid;
    int port;
    char dir[256];
} it_broker;

typedef struct
{
    pid_t pid;
    int http_port;
    char db[512];
    char log[512];
} it_service;

typedef struct
{
    char topic[256];
    uint8_t *payload;
    size_t len;
} it_msg;

typedef struct it_peer it_peer;

/* failures counted by CHECK (which prints each one); a test exits nonzero when any */
extern int it_failures;
#define CHECK(cond, ...)                                                                           \
    do                                                                                             \
    {                                                                                              \
        if (!(cond))                                                                               \
        {                                                                                          \
            it_failures++;                                                                         \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                                   \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fprintf(stderr, "\n");                                                                 \
        }                                                                                          \
    } while (0)

int it_free_port(void);
int it_broker_start(it_broker *b, const char *mosquitto_exe, const char *extra_conf);
void it_broker_stop(it_broker *b);
/* starts a stopped broker again on the same port with the same configuration */
int it_broker_restart(it_broker *b, const char *mosquitto_exe);
/* starts defender-detect with --broker BROKER ("HOST:PORT") and waits for its HTTP API only
 * (not for the broker connection); extra: NULL-terminated list of extra options; 0 on
 * success */
int it_service_launch(it_service *s, const char *exe, const char *broker, const char *db,
                      const char *const *extra);
/* the same with the broker b, and waits until the service is connected to it;
 * argv_extra: NULL-terminated list of extra options. */
int it_service_start(it_service *s, const char *exe, const it_broker *b, const char *db,
                     const char *const *argv_extra);
/* The usual start of a test: mosquitto_lib_init, a broker, and the service on it with its
 * database `db_name` in the broker's directory. Returns 0, or -1 with nothing left running. */
/* Ends an integration test: stops the broker, removes its folder (logs, database) when
 * nothing failed or names it, prints "<name>: N failure(s)" and returns the exit status. */
int it_finish(it_broker *b, const char *name);
int it_start(it_broker *b, it_service *s, const char *detect_exe, const char *mosquitto_exe,
             const char *db_name, const char *const *argv_extra);
/* Sends sig and waits (up to timeout_ms) for exit. Returns exit status or -1. */
int it_service_stop(it_service *s, int sig, int timeout_ms);

it_peer *it_peer_connect(int port, const char *sub);
int it_peer_publish(it_peer *p, const char *topic, const void *payload, size_t len, int qos);
/* Waits for the next message; returns 1 with *m filled (free m->payload), 0 on timeout. */
int it_peer_next(it_peer *p, it_msg *m, int timeout_ms);
size_t it_peer_pending(it_peer *p);
void it_peer_close(it_peer *p);
/* A subscriber to `filter` and a publisher; 0, or -1 (a failed CHECK, nothing left open). */
int it_peer_pair(int port, const char *filter, it_peer **sub, it_peer **pub);

/* HTTP: returns status code (or -1), body malloc'ed into *body. */
int it_http(int port, const char *method, const char *path_query, const char *req_body,
            char **body);

/* Same with extra request headers: `headers` is "Name: value\r\n" lines (or NULL). */
int it_http_h(int port, const char *method, const char *path_query, const char *headers,
              const char *req_body, char **body);
/* Writes into `out` the X-Amz-Date and Authorization header lines (for it_http_h) of a
 * SigV4 signature (region us-east-1, service iot, signed headers host;x-amz-date) of the
 * request as it_http_h sends it to 127.0.0.1:port, dated `when`. Returns 0 or -1. */
int it_sigv4_headers(int port, const char *method, const char *path_query, const char *req_body,
                     const char *akid, const char *secret, time_t when, char *out, size_t cap);

/* JSON -> CBOR through the project's strict JSON decoder (test helper). */
int it_json_to_cbor(const char *json, size_t len, uint8_t **out, size_t *out_len);
/* CBOR of a short-key report with id i + 1 listing `ports` listening TCP ports from
 * 10000 + i (malloc'ed; 0, or -1). */
int it_big_ports_report(int i, int ports, uint8_t **out, size_t *out_len);
/* Long keys -> short keys (textual, on "key": tokens). Caller frees. */
char *it_shorten_keys(const char *json);

void it_sleep_ms(int ms);
/* 1 when a line of the file contains `needle`. */
int it_log_contains(const char *path, const char *needle);
/* Scripted brokers: reads one MQTT packet from a plain socket. Returns its first byte, with
 * the body in buf (its length in *len); -1 when nothing came within timeout_ms, -2 on EOF or
 * a broken or oversized packet. */
int it_mqtt_read_packet(int fd, uint8_t *buf, size_t cap, size_t *len, int timeout_ms);
/* Scripted brokers: a listening TCP socket on 127.0.0.1 at a free port (*port set), or -1. */
int it_listen_loopback(int *port);
int64_t it_now_ms(void);

#endif
