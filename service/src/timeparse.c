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
    int Y, M, D, h, mi, sec;
    int consumed = 0;
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &Y, &M, &D, &h, &mi, &sec, &consumed) != 6 ||
        consumed != 19)
        return -1;
    if (Y < 1970 || M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || mi > 59 || sec > 60 || h < 0 ||
        mi < 0 || sec < 0)
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
    else if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':')
    {
        int oh, om;
        if (sscanf(p + 1, "%2d:%2d", &oh, &om) != 2 || oh > 23 || om > 59)
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
