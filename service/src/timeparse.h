/* Time stamps and counts in API query strings (rules spec RD-1): ISO 8601 with a zone
 * (`2026-01-01T00:00:00Z`, `...+02:00`, optional fraction) or decimal epoch seconds.
 * One parser for every operation, so ListMetricValues and ListViolationEvents agree. */
#ifndef DETECT_TIMEPARSE_H
#define DETECT_TIMEPARSE_H

#include <stdint.h>

/* Parses `s` into Unix milliseconds. Returns 0, or -1 for anything else. */
int parse_time_ms(const char *s, int64_t *out_ms);

/* Counts in API query strings (maxResults): plain decimal digits only ("+5", " 5", "0x5"
 * are refused, as strtol alone would take them), 1..max. Returns 0, or -1. */
int parse_query_count(const char *s, long max, long *out);

#endif
