/* Response encoding (protocol section 5, PD-15). */
#ifndef DETECT_REPLY_H
#define DETECT_REPLY_H

#include "report.h"

#include <stddef.h>
#include <stdint.h>

#define REPLY_MAX 512u

typedef enum
{
    REPLY_ACCEPTED = 0,
    REPLY_INVALID,  /* InvalidPayload / Malformed metrics report */
    REPLY_THROTTLED /* Throttled / Metrics report rate exceeded */
} reply_kind;

/* Encodes a response into out (REPLY_MAX bytes). Returns length, 0 on error. */
size_t reply_encode(uint8_t *out, size_t cap, report_fmt fmt, const char *thing, size_t thing_len,
                    int has_id, uint64_t report_id, reply_kind kind, uint64_t ts_ms);

/* Reply topic: $aws/things/<thing>/defender/metrics/<fmt>/<accepted|rejected>. */
int reply_topic(char *out, size_t cap, const char *thing, size_t thing_len, report_fmt fmt,
                int accepted);

#endif
