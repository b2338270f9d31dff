/* Storage interface. The embedded implementation is SQLite (store_sqlite.c); a server
 * database can implement the same table of operations. One handle is used by one
 * thread: the ingest worker owns a writer handle, the HTTP API its own handle. */
#ifndef DETECT_STORE_H
#define DETECT_STORE_H

#include <stddef.h>
#include <stdint.h>

typedef struct store store;

typedef struct
{
    int64_t thing_id;
    uint64_t report_id;
    int64_t received_ms;
    int fmt;
    const char *flags;      /* may be NULL */
    const char *datapoints; /* JSON {"metric":{MetricValue}} */
    size_t datapoints_len;
} store_report;

/* displayName: up to 128 characters (AWS), each up to 4 bytes of UTF-8, and the NUL */
#define STORE_DISPLAY_NAME_CAP (128 * 4 + 1)

typedef struct
{
    char name[129];
    char type[24];
    char display_name[STORE_DISPLAY_NAME_CAP];
    char token[65];
    int64_t created_ms;
    int64_t modified_ms;
} store_custom_metric;

enum
{
    STORE_OK = 0,
    STORE_ERR = -1,
    STORE_NOT_FOUND = -2,
    STORE_EXISTS = -3,      /* exists with another token */
    STORE_EXISTS_SAME = -4, /* idempotent repeat */
};

typedef void (*store_thing_cb)(void *ctx, int64_t id, const char *name, size_t len,
                               int64_t last_accept_ms, uint64_t max_report_id);
typedef int (*store_metric_cb)(void *ctx, int64_t row, int64_t received_ms, const char *value_json);
typedef void (*store_custom_cb)(void *ctx, const char *name, const char *type);

typedef struct
{
    /* ingestion (writer handle) */
    int (*begin)(store *s);
    int (*commit)(store *s);
    void (*rollback)(store *s);
    int (*thing_id)(store *s, const char *name, size_t len, int64_t *id);
    int (*id_seen)(store *s, int64_t thing_id, uint64_t report_id); /* 1, 0, or STORE_ERR */
    int (*insert_report)(store *s, const store_report *r);
    int (*load_things)(store *s, store_thing_cb cb, void *ctx);
    /* retention: processes up to max_things things starting after *cursor; returns rows
     * deleted or STORE_ERR; *cursor wraps to 0 at the end */
    int (*retention)(store *s, int64_t cutoff_ms, int64_t *cursor, int max_things);
    /* API (reader handle) */
    int (*list_metric_values)(store *s, const char *thing, const char *metric, int64_t start_ms,
                              int64_t end_ms, int64_t after_ms, int64_t after_row, int limit,
                              store_metric_cb cb, void *ctx);
    int (*custom_create)(store *s, const store_custom_metric *m, const char *tags_json,
                         store_custom_metric *existing);
    int (*custom_get)(store *s, const char *name, store_custom_metric *out);
    int (*custom_update)(store *s, const char *name, const char *display_name, int64_t now_ms);
    int (*custom_delete)(store *s, const char *name, int64_t now_ms);
    int (*custom_list)(store *s, const char *after, int limit, store_custom_cb cb, void *ctx);
    void (*close)(store *s);
    /* housekeeping between batches (writer handle), e.g. WAL checkpoints */
    void (*maintenance)(store *s);
} store_ops;

struct store
{
    const store_ops *ops;
};

/* Opens (creating if needed) an SQLite store. writer=1 for the ingest handle. */
store *store_sqlite_open(const char *path, int writer, int sync_normal, char *err, size_t errsz);

#endif
