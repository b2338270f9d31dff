/* RD-1 time stamps: ISO 8601 with a zone, or decimal epoch seconds. */
#include "timeparse.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int days_from_civil(int y, unsigned m, unsigned d, int64_t *out)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned) (y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    *out = era * 146097 + (int64_t) doe - 719468;
    return 0;
}

/* value of n decimal digits (already checked) */
static int digits(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

static int days_in_month(int y, int m)
{
    static const int dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : dm[m - 1];
}

int parse_time_ms(const char *s, int64_t *out_ms)
{
    size_t n = strlen(s);
    if (n == 0 || n > 40)
        return -1;
    if (strchr(s, 'T') == NULL && strchr(s, '-') == NULL)
    {
        /* epoch seconds, optional fraction */
        char *end;
        errno = 0;
        double v = strtod(s, &end);
        if (errno != 0 || *end != '\0' || !(v >= 0) || v > 253402300799.0)
            return -1;
        for (const char *p = s; *p; p++)
            if (!isdigit((unsigned char) *p) && *p != '.')
                return -1;
        *out_ms = (int64_t) (v * 1000.0 + 0.5);
        return 0;
    }
    /* YYYY-MM-DDThh:mm:ss, every field exactly its digits (sscanf's %d would also take a
     * sign or a space) */
    static const char shape[] = "dddd-dd-ddTdd:dd:dd";
    if (n < 19)
        return -1;
    for (size_t i = 0; i < 19; i++)
        if (shape[i] == 'd' ? !isdigit((unsigned char) s[i]) : s[i] != shape[i])
            return -1;
    int Y = digits(s, 4), M = digits(s + 5, 2), D = digits(s + 8, 2);
    int h = digits(s + 11, 2), mi = digits(s + 14, 2), sec = digits(s + 17, 2);
    /* a real calendar date: 2026-02-31 or 2025-02-29 are refused, not rolled over */
    if (Y < 1970 || M < 1 || M > 12 || D < 1 || D > days_in_month(Y, M) || h > 23 || mi > 59 ||
        sec > 60)
        return -1;
    const char *p = s + 19;
    int64_t ms = 0;
    if (*p == '.')
    {
        p++;
        int digits = 0;
        int64_t scale = 100;
        while (isdigit((unsigned char) *p))
        {
            if (digits < 3)
                ms += (*p - '0') * scale;
            scale /= 10;
            digits++;
            p++;
        }
        if (digits == 0)
            return -1;
    }
    int64_t offset = 0;
    if (*p == 'Z' && p[1] == '\0')
    {
        offset = 0;
    }
    else if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':' &&
             isdigit((unsigned char) p[1]) && isdigit((unsigned char) p[2]) &&
             isdigit((unsigned char) p[4]) && isdigit((unsigned char) p[5]))
    {
        int oh = digits(p + 1, 2), om = digits(p + 4, 2);
        if (oh > 23 || om > 59)
            return -1;
        offset = (int64_t) (oh * 60 + om) * 60 * (*p == '+' ? 1 : -1);
    }
    else
    {
        return -1;
    }
    int64_t days;
    days_from_civil(Y, (unsigned) M, (unsigned) D, &days);
    int64_t secs = days * 86400 + h * 3600 + mi * 60 + sec - offset;
    if (secs < 0)
        return -1;
    *out_ms = secs * 1000 + ms;
    return 0;
}

int parse_query_count(const char *s, long max, long *out)
{
    size_t len = strlen(s);
    if (len == 0 || len > 9 || strspn(s, "0123456789") != len)
        return -1;
    long n = strtol(s, NULL, 10);
    if (n < 1 || n > max)
        return -1;
    *out = n;
    return 0;
}
