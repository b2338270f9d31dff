/* Internal model shared by the engine's files. */
#ifndef DETECT_RULES_INTERNAL_H
#define DETECT_RULES_INTERNAL_H

#include "rules.h"

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#define RULES_NAME_MAX       128
#define RULES_MAX_ERRORS     256
#define RULES_ERRMSG_MAX     2048
#define RULES_WINDOW_MAX_MS  (3600LL * 1000)
#define RULES_SILENCE_MS     (172800LL * 1000) /* RD-24 */
#define RULES_MAX_PROFILES   1000              /* bounded memory for what API clients create */
#define RULES_MAX_DIMENSIONS 100

typedef enum
{
    MK_TRAFFIC = 1, /* per-report delta, summed over durationSeconds */
    MK_GAUGE,       /* count at report time */
    MK_PORTS,       /* port set */
    MK_IPS,         /* IP set (device or custom ip-address-list) */
    MK_NUMBER,      /* custom number */
    MK_NUMBERS,     /* custom number-list */
    MK_STRINGS,     /* custom string-list */
    MK_CLOUD_NUM,   /* cloud-side numeric: stored, not evaluated (RD-12) */
    MK_CLOUD_IPS    /* cloud-side IP set */
} metric_kind;

typedef enum
{
    OP_LT = 1,
    OP_LE,
    OP_GT,
    OP_GE,
    OP_IN_CIDR,
    OP_NOT_IN_CIDR,
    OP_IN_PORT,
    OP_NOT_IN_PORT,
    OP_IN_SET,
    OP_NOT_IN_SET
} rules_op;

typedef struct
{
    const char *name;
    metric_kind kind;
    int dim_ok;  /* TOPIC_FILTER dimension allowed */
    int dur_ok;  /* durationSeconds allowed */
    int stat_ok; /* statistical threshold allowed */
    int slot;    /* index of a device-side aws metric (0..9), -1 otherwise */
} metric_info;

#define RULES_AWS_SLOTS 10

typedef struct
{
    int family; /* 4 or 6 */
    uint8_t addr[16];
    int prefix;
    uint64_t pfx[2], mask[2]; /* address words (big-endian order) for fast matching */
} rules_cidr;

typedef struct
{
    const char *s;
    size_t len;
} rules_str;

/* CIDRs of one family and prefix length, sorted: a set is matched with one binary search
 * per distinct prefix length instead of a scan of every element. */
typedef struct
{
    int family;
    uint64_t mask[2];
    uint64_t (*pfx)[2];
    size_t n;
} rules_cidr_group;

/* Fleet statistics of one statistical behavior (4.6, RD-23). */
typedef struct
{
    int64_t bucket; /* current bucket index */
    int has_thr;
    double thr;
    double *vals;
    size_t nvals, cap;
    int negative;
} rules_stat;

typedef struct rules_beh
{
    char name[RULES_NAME_MAX + 1];
    char metric[RULES_NAME_MAX + 1];
    metric_kind kind;
    int slot;
    int evaluable; /* device-side or custom: evaluated on reports */
    rules_op op;
    int has_value;
    int value_is_count; /* threshold given as count */
    uint64_t count;
    double number;
    uint8_t *portmap; /* 8192 bytes */
    rules_cidr *cidrs;
    size_t ncidrs;
    rules_cidr_group *cgroups;
    size_t ncgroups;
    double *nums; /* sorted */
    size_t nnums;
    rules_str *strs; /* sorted */
    size_t nstrs;
    char *strpool;
    int stat_q; /* hundredths of a percent, -1 = static */
    int duration;
    int alarm_n, clear_n;
    int suppress;
    cJSON *json; /* the behavior as stored */
    uint32_t bid;
    rules_stat *stat;
} rules_beh;

typedef struct
{
    char **v;
    size_t n;
    size_t total;
} rules_errs;

typedef struct
{
    cm_type (*custom_type)(void *ctx, const char *name, size_t len);
    void *custom_ctx;
    int (*dim_exists)(void *ctx, const char *name);
    void *dim_ctx;
    int max_behaviors;
    int max_value_elements;
} rules_vctx;

const metric_info *rules_metric_lookup(const char *name,
                                       cm_type (*ct)(void *, const char *, size_t), void *ctx,
                                       metric_info *custom_out);
int rules_name_ok(const char *s, size_t minlen, size_t maxlen);
int rules_parse_cidr(const char *s, rules_cidr *out);
int rules_parse_addr(const char *s, size_t len, int *family, uint8_t addr[16]);
int rules_cidr_match(const rules_cidr *c, int family, const uint8_t addr[16]);
void rules_addr_words(const uint8_t addr[16], uint64_t w[2]);

static inline int rules_cidr_match_w(const rules_cidr *c, int family, const uint64_t w[2])
{
    return c->family == family && (w[0] & c->mask[0]) == c->pfx[0] &&
           (w[1] & c->mask[1]) == c->pfx[1];
}
const char *rules_op_name(rules_op op);

void rules_errs_add(rules_errs *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void rules_errs_free(rules_errs *e);

/* Validates and compiles a behaviors array. Appends errors; on success (no new error)
 * fills out/nout (caller frees with rules_behs_free) and clean (the stored JSON array).
 * *elements receives the number of value elements (V-15). */
int rules_compile_behaviors(const cJSON *arr, const rules_vctx *v, rules_errs *errs,
                            rules_beh **out, size_t *nout, cJSON **clean, size_t *elements);
void rules_behs_free(rules_beh *b, size_t n);

/* Validates the non-behavior fields of a profile body (create or update). kind: 0 create,
 * 1 update. Appends errors. */
void rules_validate_profile_fields(const cJSON *body, int update, const rules_vctx *v,
                                   rules_errs *errs);

/* Builds b->cgroups from b->cidrs. Returns 0, or -1 when out of memory. */
int rules_cidr_groups_build(rules_beh *b);
/* 1 when the address (words of rules_addr_words) lies in one of the behavior's CIDRs. */
int rules_cidr_set_match(const rules_beh *b, int family, const uint64_t w[2]);

/* Percentile of RD-23 (nearest rank). vals is sorted in place. */
double rules_percentile(double *vals, size_t n, int q);

/* Appends a MetricValue JSON for a number: integers without a fraction. */
void rules_fmt_double(char *out, size_t cap, double d);

#endif
