/* Report decoding, validation (protocol section 8, steps 3-8) and datapoint
 * derivation (section 9). Pure: no I/O, no global state. */
#ifndef DETECT_REPORT_H
#define DETECT_REPORT_H

#include "dom.h"
#include "strbuf.h"

#include <stddef.h>
#include <stdint.h>

#define REPORT_MAX_PAYLOAD 131072u
#define THING_NAME_MAX     128u

typedef enum
{
    FMT_JSON = 0,
    FMT_CBOR = 1
} report_fmt;

typedef enum
{
    CM_NONE = 0,
    CM_NUMBER = 1,
    CM_NUMBER_LIST,
    CM_STRING_LIST,
    CM_IP_LIST
} cm_type;

typedef enum
{
    DP_COUNT = 1, /* MetricValue.count */
    DP_PORTS,     /* MetricValue.ports */
    DP_CIDRS,     /* MetricValue.cidrs */
    DP_NUMBER,    /* MetricValue.number */
    DP_NUMBERS,   /* MetricValue.numbers */
    DP_STRINGS    /* MetricValue.strings */
} dp_kind;

typedef struct
{
    const char *s;
    uint32_t len;
} dstr;

/* One datapoint of an accepted report (PD-20). Memory belongs to the arena. */
typedef struct
{
    const char *metric;
    uint32_t metric_len;
    dp_kind kind;
    uint64_t count;
    double number;
    uint32_t n;
    const uint32_t *ports;
    const double *numbers;
    const dstr *strings;
} detect_datapoint;

typedef struct
{
    int strict;
    /* PD-13: returns the defined type of a custom metric or CM_NONE. May be NULL. */
    cm_type (*custom_type)(void *ctx, const char *name, size_t len);
    void *custom_ctx;
} validate_opts;

/* Section 8 step numbers used as failure reasons. */
enum
{
    VSTEP_OK = 0,
    VSTEP_DECODE = 3,
    VSTEP_ROOT = 4,
    VSTEP_HEADER = 5,
    VSTEP_BODY = 6,
    VSTEP_METRICS = 7,
    VSTEP_CUSTOM = 8
};

typedef struct
{
    int ok;   /* passed steps 3-8 */
    int step; /* first failing step */
    char reason[200];
    int has_report_id; /* PD-14 */
    uint64_t report_id;
    detect_datapoint *dps;
    size_t ndps;
    char flags[256]; /* PD-12/PD-13 dropped values, "name:why;..." */
    size_t nflags;
} report_result;

/* Validates one payload. Datapoints are allocated in `a`. Returns r->ok. */
int report_validate(arena *a, const uint8_t *buf, size_t len, report_fmt fmt,
                    const validate_opts *o, report_result *r);

/* PD-2 thing name check. */
int thing_name_valid(const char *name, size_t len, int strict);

/* Section 1.1 / PD-1: parses a topic; returns 1 and sets name/len/fmt for a report topic. */
int parse_report_topic(const char *topic, const char **name, size_t *name_len, report_fmt *fmt);

/* Custom metric name rule (section 3): 1..128 of [a-zA-Z0-9:_-], not "aws:". */
int custom_metric_name_valid(const char *s, size_t len);

/* Serialises datapoints as {"metric":{MetricValue},...}. */
int datapoints_to_json(const detect_datapoint *dps, size_t n, strbuf *out);

/* PD-12 number conformance. */
int custom_number_conforms(double v);

#endif
