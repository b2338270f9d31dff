/* Ingestion core: queue, worker, validation steps 9-11, storage, replies. */
#ifndef DETECT_SERVICE_H
#define DETECT_SERVICE_H

#include "config.h"
#include "report.h"
#include "store.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

/* Counters exposed over HTTP (GET /service/counters). */
#define DETECT_COUNTERS(X)                                                                         \
    X(received)                                                                                    \
    X(accepted)                                                                                    \
    X(rejected_decode)                                                                             \
    X(rejected_root)                                                                               \
    X(rejected_header)                                                                             \
    X(rejected_body)                                                                               \
    X(rejected_metrics)                                                                            \
    X(rejected_custom)                                                                             \
    X(rejected_duplicate)                                                                          \
    X(rejected_id_order)                                                                           \
    X(rejected_forced)                                                                             \
    X(throttled)                                                                                   \
    X(duplicates_discarded)                                                                        \
    X(dropped_oversize)                                                                            \
    X(ignored_topic)                                                                               \
    X(values_flagged)                                                                              \
    X(store_errors)                                                                                \
    X(responses_published)                                                                         \
    X(responses_dropped)                                                                           \
    X(publish_errors)                                                                              \
    X(retention_deleted)                                                                           \
    X(batches)                                                                                     \
    X(things)                                                                                      \
    X(thing_state_bytes)

typedef struct
{
#define DECL_COUNTER(n) atomic_uint_fast64_t n;
    DETECT_COUNTERS(DECL_COUNTER)
#undef DECL_COUNTER
} detect_counters;

/* Called after a batch is committed, once per accepted report: the place where a rules
 * engine plugs in. Datapoints are valid only during the call. */
typedef void (*detect_accept_hook)(void *ctx, const char *thing, size_t thing_len,
                                   uint64_t report_id, int64_t received_ms,
                                   const detect_datapoint *dps, size_t ndps);

typedef int (*detect_publish_fn)(void *ctx, const char *topic, const void *payload, size_t len);

typedef struct queued_msg
{
    struct queued_msg *next;
    int64_t recv_ms;
    int64_t enq_us;     /* CLOCK_MONOTONIC, for the batch linger */
    size_t payload_len; /* original length (payload not kept when oversize) */
    int oversize;
    char *topic;
    uint8_t *payload;
} queued_msg;

typedef struct thing_state thing_state;

typedef struct reply_msg
{
    struct reply_msg *next;
    size_t topic_len;
    size_t len;
    char data[]; /* topic, NUL, payload */
} reply_msg;

typedef struct detect_service
{
    detect_config cfg;
    detect_counters counters;
    store *db; /* writer handle, used by the worker only */

    /* queue */
    pthread_mutex_t qlock;
    pthread_cond_t qcond;  /* items available / stop */
    pthread_cond_t qspace; /* space available */
    queued_msg *qhead, *qtail;
    size_t qbytes;
    size_t qcount;
    int stopping;
    int worker_waiting;
    int worker_lingering; /* waiting for the batch to fill: wake only when it is full */
    pthread_t worker;
    int worker_started;
    atomic_int idle; /* worker has nothing queued or in progress */
    int tx_ok;       /* the worker's current batch has an open transaction */

    /* replies: the worker hands committed batches to the publisher thread so that the next
     * batch is validated and committed while the broker acknowledges the previous replies */
    pthread_mutex_t rlock;
    pthread_cond_t rcond;
    reply_msg *rhead, *rtail;
    int rstopping;
    pthread_t publisher;
    int publisher_started;

    /* things */
    thing_state **buckets;
    size_t nbuckets;
    size_t nthings;

    /* clock: 0 = real time; else fixed fake time in ms */
    atomic_int_fast64_t fake_now_ms;
    /* test hooks (also set at runtime through the HTTP test endpoints) */
    atomic_int reject_mode; /* 0 none, 1 invalid, 2 throttled */
    atomic_int drop_responses;
    atomic_int response_delay_ms;
    atomic_int fail_commits; /* test hook: the next N commits are rolled back as failed */

    detect_publish_fn publish;
    void *publish_ctx;
    detect_accept_hook hook;
    void *hook_ctx;

    int64_t retention_cursor;
    int64_t next_retention_ms;
} detect_service;

int64_t service_now_ms(detect_service *s);

int service_init(detect_service *s, const detect_config *cfg, char *err, size_t errsz);
int service_start(detect_service *s);
/* Enqueues a received message (copies it). Blocks while the queue is full. */
void service_enqueue(detect_service *s, const char *topic, const void *payload, size_t len);
/* Drains the queue, stops the worker. */
void service_stop(detect_service *s);
void service_destroy(detect_service *s);
/* Approximate memory used by the thing table. */
size_t service_thing_memory(detect_service *s);

/* Custom-metric definitions shared with the validator (PD-13). */
void custom_registry_set(const char *name, cm_type t);
void custom_registry_remove(const char *name);
cm_type custom_registry_lookup(void *ctx, const char *name, size_t len);
void custom_registry_clear(void);
cm_type custom_type_from_string(const char *s);

#endif
