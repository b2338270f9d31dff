/* Alert delivery (5.7, RD-33): pending events in rules_events (notify = 1) are sent in id
 * order to the MQTT topic and/or POSTed in an SNS envelope; notify becomes 2 once every
 * configured sink took the message (at least once, in order). */
#include "rules_engine.h"

#include "strbuf.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static int send_all(int fd, const char *p, size_t n)
{
    while (n > 0)
    {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0)
        {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t) w;
    }
    return 0;
}

static void uuid4(char out[37])
{
    uint8_t b[16];
    if (getrandom(b, sizeof b, 0) != (ssize_t) sizeof b)
        memset(b, 0x5a, sizeof b);
    b[6] = (uint8_t) ((b[6] & 0x0f) | 0x40);
    b[8] = (uint8_t) ((b[8] & 0x3f) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
}

/* Minimal HTTP/1.1 POST (http:// only). Returns 0 on a 2xx answer. */
int rules_http_post(const char *url, const char *body, size_t len, const char *topic_arn, char *err,
                    size_t errsz)
{
    if (strncmp(url, "http://", 7) != 0)
    {
        snprintf(err, errsz, "only http:// URLs are supported");
        return -1;
    }
    const char *h = url + 7;
    const char *slash = strchr(h, '/');
    size_t hl = slash ? (size_t) (slash - h) : strlen(h);
    /* authority: the Host header, as the URL has it; hostport: split into host and port */
    char authority[256], hostport[256], host[256], port[16] = "80";
    if (hl == 0 || hl >= sizeof hostport)
    {
        snprintf(err, errsz, "bad URL");
        return -1;
    }
    memcpy(hostport, h, hl);
    hostport[hl] = '\0';
    memcpy(authority, hostport, hl + 1);
    const char *path = slash ? slash : "/";
    if (hostport[0] == '[')
    {
        char *rb = strchr(hostport, ']');
        if (rb == NULL)
        {
            snprintf(err, errsz, "bad URL");
            return -1;
        }
        *rb = '\0';
        snprintf(host, sizeof host, "%s", hostport + 1);
        if (rb[1] == ':')
            snprintf(port, sizeof port, "%s", rb + 2);
    }
    else
    {
        char *colon = strrchr(hostport, ':');
        if (colon)
        {
            *colon = '\0';
            snprintf(port, sizeof port, "%s", colon + 1);
        }
        snprintf(host, sizeof host, "%s", hostport);
    }
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, port, &hints, &res) != 0 || res == NULL)
    {
        snprintf(err, errsz, "cannot resolve %s", host);
        return -1;
    }
    int fd = -1;
    for (struct addrinfo *a = res; a != NULL; a = a->ai_next)
    {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0)
            continue;
        struct timeval tv = {5, 0};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        if (connect(fd, a->ai_addr, a->ai_addrlen) == 0)
            break;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0)
    {
        snprintf(err, errsz, "cannot connect to %s:%s", host, port);
        return -1;
    }
    char hdr[1024];
    int n = snprintf(hdr, sizeof hdr,
                     "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: text/plain; charset=UTF-8\r\n"
                     "x-amz-sns-message-type: Notification\r\nx-amz-sns-topic-arn: %.300s\r\n"
                     "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                     path, authority, topic_arn, len);
    if (n < 0 || (size_t) n >= sizeof hdr || send_all(fd, hdr, (size_t) n) != 0 ||
        send_all(fd, body, len) != 0)
    {
        close(fd);
        snprintf(err, errsz, "send failed");
        return -1;
    }
    char resp[64];
    size_t got = 0;
    while (got < 12)
    {
        ssize_t r = recv(fd, resp + got, sizeof resp - 1 - got, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t) r;
    }
    close(fd);
    resp[got] = '\0';
    if (got < 12 || strncmp(resp, "HTTP/1.", 7) != 0 || resp[9] != '2')
    {
        snprintf(err, errsz, "HTTP answer \"%.12s\"", resp);
        return -1;
    }
    return 0;
}

static int deliver(rules_engine *e, const char *alert, const char *topic_arn, int64_t time_ms)
{
    int ok = 1;
    if (e->cfg.publish != NULL && e->cfg.alert_topic != NULL && e->cfg.alert_topic[0])
    {
        if (e->cfg.publish(e->cfg.publish_ctx, e->cfg.alert_topic, alert, strlen(alert)) != 0)
            ok = 0;
    }
    if (ok && e->cfg.alert_url != NULL && e->cfg.alert_url[0])
    {
        strbuf b;
        sb_init(&b, 4u << 20);
        char id[37], ts[40];
        uuid4(id);
        time_t secs = (time_t) (time_ms / 1000);
        struct tm tmv;
        gmtime_r(&secs, &tmv);
        char base[32];
        strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tmv);
        snprintf(ts, sizeof ts, "%s.%03dZ", base, (int) (time_ms % 1000));
        sb_puts(&b, "{\"Type\":\"Notification\",\"MessageId\":");
        sb_json_str(&b, id, strlen(id));
        sb_puts(&b, ",\"TopicArn\":");
        sb_json_str(&b, topic_arn, strlen(topic_arn));
        sb_puts(&b, ",\"Message\":");
        sb_json_str(&b, alert, strlen(alert));
        sb_puts(&b, ",\"Timestamp\":");
        sb_json_str(&b, ts, strlen(ts));
        sb_puts(&b, ",\"SignatureVersion\":\"1\"}");
        char err[200];
        if (b.oom ||
            rules_http_post(e->cfg.alert_url, sb_cstr(&b), b.len, topic_arn, err, sizeof err) != 0)
        {
            ok = 0;
            fprintf(stderr, "defender-detect rules: alert POST to %s failed: %s\n",
                    e->cfg.alert_url, b.oom ? "too large" : err);
        }
        sb_free(&b);
    }
    return ok;
}

void *rules_alert_main(void *arg)
{
    rules_engine *e = arg;
    int backoff = 0;
    for (;;)
    {
        pthread_mutex_lock(&e->amu);
        if (!e->alert_kick && !e->stopping && !backoff)
        {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += 1;
            pthread_cond_timedwait(&e->acond, &e->amu, &ts);
        }
        int stop = e->stopping;
        e->alert_kick = 0;
        pthread_mutex_unlock(&e->amu);
        /* deliver what is pending (also on stop: best effort, one batch) */
        sqlite3_stmt *st = NULL;
        int more = 0, failed = 0, any = 0;
        if (sqlite3_prepare_v2(
                e->adb,
                "SELECT id, alert, topic_arn, time_ms FROM rules_events WHERE notify=1"
                " ORDER BY id LIMIT 64",
                -1, &st, NULL) == SQLITE_OK)
        {
            int64_t done_ids[64];
            size_t nd = 0;
            while (sqlite3_step(st) == SQLITE_ROW)
            {
                any = 1;
                const char *al = (const char *) sqlite3_column_text(st, 1);
                const char *arn = (const char *) sqlite3_column_text(st, 2);
                if (al != NULL && !deliver(e, al, arn ? arn : "", sqlite3_column_int64(st, 3)))
                {
                    failed = 1;
                    break;
                }
                done_ids[nd++] = sqlite3_column_int64(st, 0);
            }
            sqlite3_finalize(st);
            more = nd == 64;
            sqlite3_stmt *up = NULL;
            if (nd > 0 && sqlite3_prepare_v2(e->adb, "UPDATE rules_events SET notify=2 WHERE id=?",
                                             -1, &up, NULL) == SQLITE_OK)
            {
                sqlite3_exec(e->adb, "BEGIN IMMEDIATE", NULL, NULL, NULL);
                for (size_t i = 0; i < nd; i++)
                {
                    sqlite3_bind_int64(up, 1, done_ids[i]);
                    sqlite3_step(up);
                    sqlite3_reset(up);
                }
                sqlite3_exec(e->adb, "COMMIT", NULL, NULL, NULL);
                sqlite3_finalize(up);
                pthread_mutex_lock(&e->amu);
                e->n_alerts_sent += nd;
                pthread_mutex_unlock(&e->amu);
            }
        }
        else
        {
            sqlite3_finalize(st);
            failed = 1;
        }
        pthread_mutex_lock(&e->amu);
        if (failed)
            e->n_alert_failures++;
        if (more)
            e->alert_kick = 1;
        if (!failed && !more && !e->alert_kick)
            e->alerts_idle = 1;
        pthread_mutex_unlock(&e->amu);
        (void) any;
        if (stop)
            break;
        if (failed)
        {
            backoff = 1;
            struct timespec ts = {0, 500 * 1000000L};
            nanosleep(&ts, NULL);
            pthread_mutex_lock(&e->amu);
            e->alert_kick = 1;
            pthread_mutex_unlock(&e->amu);
        }
        else
            backoff = 0;
    }
    return NULL;
}

void rules_alert_kick(rules_engine *e)
{
    pthread_mutex_lock(&e->amu);
    e->alert_kick = 1;
    e->alerts_idle = 0;
    pthread_cond_signal(&e->acond);
    pthread_mutex_unlock(&e->amu);
}

int rules_alerts_flush(rules_engine *e, int timeout_ms)
{
    rules_alert_kick(e);
    for (int waited = 0; waited <= timeout_ms; waited += 10)
    {
        pthread_mutex_lock(&e->amu);
        int idle = e->alerts_idle && !e->alert_kick;
        pthread_mutex_unlock(&e->amu);
        if (idle)
            return 1;
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    return 0;
}
