/* --share-group on the wire. Debian's Mosquitto 2.0.11 never delivers $aws/... topics to a
 * $share/... subscription, so service_share_group skips there; this test plays, over a plain
 * socket on a free loopback port, an MQTT v5 broker that does support shared subscriptions,
 * and checks the service's side of the feature:
 *  - two instances started with --share-group detect connect with MQTT v5 and subscribe
 *    (QoS 1, No Local off, as MQTT 5.0 section 4.8.2 requires of a shared subscription) to
 *    exactly $share/detect/$aws/things/+/defender/metrics/json and .../cbor;
 *  - reports delivered as a shared-subscription broker does (each to one session only, on
 *    its original topic, QoS 1) are acknowledged and answered exactly once, ACCEPTED, on the
 *    /accepted topic of their format, by the session that got them, with their reportId;
 *  - each instance counts as accepted the reports of its own session;
 *  - at SIGTERM each unsubscribes from the same $share filters and sends DISCONNECT;
 *  - share names that MQTT forbids (empty, or with '/', '+' or '#') are refused at start. */
#include "itest.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define GROUP      "detect"
#define FILTER_FMT "$share/" GROUP "/$aws/things/+/defender/metrics/%s"
#define NREPORTS   11 /* odd: the two sessions get different numbers of reports */
#define MAXSESS    4  /* more than 2 would be a reconnect: counted and reported */
#define BASE_ID    1735689600000ull

static const char *const filters[2] = {"$share/" GROUP "/$aws/things/+/defender/metrics/json",
                                       "$share/" GROUP "/$aws/things/+/defender/metrics/cbor"};

typedef struct
{
    int fd;
    pthread_t th;
    pthread_mutex_t wlock; /* the session thread and the main thread both write */
    char client_id[128];
    int proto_level;
    int clean_start;
    char subs[8][256]; /* topic filters of the SUBSCRIBEs, in order */
    int nsubs;
    atomic_int subscribe_packets;
    char unsubs[8][256]; /* topic filters of the UNSUBSCRIBEs */
    int nunsubs;
    atomic_int disconnected; /* DISCONNECT received */
    atomic_int closed;       /* the session thread is done */
    uint16_t next_pkid;
} session;

typedef struct
{
    char thing[32];
    int cbor;
    unsigned long long id;
    int sess;      /* the session it was delivered to */
    uint16_t pkid; /* its packet id in that session */
    int pubacks;   /* PUBACKs for it (from its session) */
    int replies;   /* replies on any topic of its thing */
    int reply_ok;  /* the reply was right (topic, session, status, reportId) */
    char reply_topic[256];
} report;

static struct
{
    int listen_fd;
    atomic_int stop;
    pthread_t acceptor;
    session sess[MAXSESS];
    atomic_int nsess;
    pthread_mutex_t mu; /* reports, session filter lists, problems */
    report rep[NREPORTS];
    int problems;
} W;

/* A protocol problem seen by a broker thread (CHECK is not thread-safe). */
__attribute__((format(printf, 1, 2))) static void problem(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    pthread_mutex_lock(&W.mu);
    W.problems++;
    fprintf(stderr, "FAIL (broker side): ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    pthread_mutex_unlock(&W.mu);
    va_end(ap);
}

/* ------------------------------------------------------------------------------------------ */
/* MQTT v5 packets over a plain socket                                                         */

static int send_all(session *s, const uint8_t *p, size_t n)
{
    pthread_mutex_lock(&s->wlock);
    size_t done = 0;
    while (done < n)
    {
        ssize_t w = write(s->fd, p + done, n - done);
        if (w <= 0)
            break;
        done += (size_t) w;
    }
    pthread_mutex_unlock(&s->wlock);
    return done == n ? 0 : -1;
}

/* Variable byte integer at buf[*off] (bounded by len); -1 if malformed. */
static long get_varint(const uint8_t *buf, size_t len, size_t *off)
{
    long v = 0, mult = 1;
    for (int i = 0; i < 4; i++)
    {
        if (*off >= len)
            return -1;
        uint8_t b = buf[(*off)++];
        v += (long) (b & 0x7f) * mult;
        mult *= 128;
        if ((b & 0x80) == 0)
            return v;
    }
    return -1;
}

static size_t put_varint(uint8_t *out, size_t v)
{
    size_t n = 0;
    do
    {
        uint8_t b = (uint8_t) (v % 128);
        v /= 128;
        out[n++] = (uint8_t) (v ? b | 0x80 : b);
    } while (v);
    return n;
}

/* UTF-8 string (2-byte length) at buf[*off] into out; -1 if it does not fit. */
static int get_string(const uint8_t *buf, size_t len, size_t *off, char *out, size_t cap)
{
    if (*off + 2 > len)
        return -1;
    size_t sl = ((size_t) buf[*off] << 8) | buf[*off + 1];
    *off += 2;
    if (*off + sl > len || sl >= cap)
        return -1;
    memcpy(out, buf + *off, sl);
    out[sl] = 0;
    *off += sl;
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* The reports and the service's replies                                                       */

/* {"header":{"report_id":id,"version":"1.0"},"metrics":{}} in CBOR, written by hand. */
static size_t cbor_report(uint8_t *out, unsigned long long id)
{
    static const uint8_t head[] = {0xA2,                               /* map(2) */
                                   0x66, 'h', 'e', 'a', 'd', 'e', 'r', /* "header" */
                                   0xA2,                               /* map(2) */
                                   0x69, 'r', 'e', 'p', 'o', 'r', 't',
                                   '_',  'i', 'd', 0x1B}; /* uint, 8 bytes follow */
    static const uint8_t tail[] = {0x67, 'v', 'e', 'r', 's', 'i', 'o', 'n', /* "version" */
                                   0x63, '1', '.', '0',                     /* "1.0" */
                                   0x67, 'm', 'e', 't', 'r', 'i', 'c', 's', /* "metrics" */
                                   0xA0};                                   /* map(0) */
    size_t n = 0;
    memcpy(out, head, sizeof head);
    n += sizeof head;
    for (int i = 0; i < 8; i++)
        out[n++] = (uint8_t) (id >> (56 - 8 * i));
    memcpy(out + n, tail, sizeof tail);
    return n + sizeof tail;
}

/* Delivers report i to its session as a shared-subscription broker does: on the report's
 * original topic (not the $share filter), QoS 1, a packet id of that session. */
static int deliver(int i)
{
    report *r = &W.rep[i];
    session *s = &W.sess[r->sess];
    char topic[128];
    snprintf(topic, sizeof topic, "$aws/things/%s/defender/metrics/%s", r->thing,
             r->cbor ? "cbor" : "json");
    uint8_t payload[256];
    size_t pl;
    if (r->cbor)
        pl = cbor_report(payload, r->id);
    else
        pl = (size_t) snprintf((char *) payload, sizeof payload,
                               "{\"header\":{\"report_id\":%llu,\"version\":\"1.0\"},"
                               "\"metrics\":{}}",
                               r->id);
    pthread_mutex_lock(&W.mu);
    r->pkid = ++s->next_pkid;
    pthread_mutex_unlock(&W.mu);
    size_t tl = strlen(topic);
    size_t rem = 2 + tl + 2 + 1 + pl;
    uint8_t pkt[512];
    size_t n = 0;
    pkt[n++] = 0x32; /* PUBLISH, QoS 1, no DUP, no RETAIN */
    n += put_varint(pkt + n, rem);
    pkt[n++] = (uint8_t) (tl >> 8);
    pkt[n++] = (uint8_t) tl;
    memcpy(pkt + n, topic, tl);
    n += tl;
    pkt[n++] = (uint8_t) (r->pkid >> 8);
    pkt[n++] = (uint8_t) r->pkid;
    pkt[n++] = 0; /* no properties */
    memcpy(pkt + n, payload, pl);
    n += pl;
    return send_all(s, pkt, n);
}

/* Reads a CBOR head (major type, argument); -1 if unsupported here. */
static int cbor_head(const uint8_t *p, size_t len, size_t *off, int *major, uint64_t *arg)
{
    if (*off >= len)
        return -1;
    uint8_t b = p[(*off)++];
    *major = b >> 5;
    int ai = b & 31;
    if (ai < 24)
    {
        *arg = (uint64_t) ai;
        return 0;
    }
    if (ai > 27)
        return -1;
    size_t nb = (size_t) 1 << (ai - 24);
    if (*off + nb > len)
        return -1;
    *arg = 0;
    for (size_t i = 0; i < nb; i++)
        *arg = (*arg << 8) | p[(*off)++];
    return 0;
}

/* Status and reportId of a reply: JSON for /json, a CBOR map of texts and uints for /cbor. */
static void reply_fields(const uint8_t *p, size_t len, int cbor, char *status, size_t scap,
                         unsigned long long *id, int *has_id)
{
    status[0] = 0;
    *has_id = 0;
    if (!cbor)
    {
        char body[1024];
        snprintf(body, sizeof body, "%.*s", (int) len, (const char *) p);
        const char *s = strstr(body, "\"status\":\"");
        if (s != NULL)
            snprintf(status, scap, "%.*s", (int) strcspn(s + 10, "\""), s + 10);
        const char *r = strstr(body, "\"reportId\":");
        if (r != NULL)
        {
            *id = strtoull(r + 11, NULL, 10);
            *has_id = 1;
        }
        return;
    }
    size_t off = 0;
    int major;
    uint64_t n;
    if (cbor_head(p, len, &off, &major, &n) != 0 || major != 5)
        return;
    for (uint64_t i = 0; i < n; i++)
    {
        uint64_t kl, v;
        int km, vm;
        if (cbor_head(p, len, &off, &km, &kl) != 0 || km != 3 || off + kl > len)
            return;
        const char *key = (const char *) p + off;
        off += kl;
        if (cbor_head(p, len, &off, &vm, &v) != 0)
            return;
        if (vm == 3)
        {
            if (off + v > len)
                return;
            if (kl == 6 && memcmp(key, "status", 6) == 0)
                snprintf(status, scap, "%.*s", (int) v, (const char *) p + off);
            off += v;
        }
        else if (vm == 0)
        {
            if (kl == 8 && memcmp(key, "reportId", 8) == 0)
            {
                *id = v;
                *has_id = 1;
            }
        }
        else
            return; /* statusDetails and the like: not in an ACCEPTED reply */
    }
}

/* A PUBLISH from the service (session si): one reply, checked against its report. */
static void on_reply(int si, int first, const uint8_t *buf, size_t len)
{
    session *s = &W.sess[si];
    int qos = (first >> 1) & 3;
    size_t off = 0;
    char topic[256];
    if (get_string(buf, len, &off, topic, sizeof topic) != 0 || (qos && off + 2 > len))
    {
        problem("session %d: malformed PUBLISH", si);
        return;
    }
    uint8_t pk[2] = {0, 0};
    if (qos)
    {
        pk[0] = buf[off];
        pk[1] = buf[off + 1];
        off += 2;
    }
    long pl = get_varint(buf, len, &off);
    if (pl < 0 || off + (size_t) pl > len)
    {
        problem("session %d: malformed PUBLISH properties", si);
        return;
    }
    off += (size_t) pl;
    if (qos == 1)
    {
        uint8_t puback[] = {0x40, 0x02, pk[0], pk[1]};
        (void) send_all(s, puback, sizeof puback);
    }
    else
        problem("session %d: reply on %s at QoS %d (QoS 1 expected)", si, topic, qos);
    if (first & 1)
        problem("session %d: reply on %s retained", si, topic);

    pthread_mutex_lock(&W.mu);
    report *r = NULL;
    for (int i = 0; i < NREPORTS && r == NULL; i++)
    {
        char pre[64];
        snprintf(pre, sizeof pre, "$aws/things/%s/", W.rep[i].thing);
        if (strncmp(topic, pre, strlen(pre)) == 0)
            r = &W.rep[i];
    }
    if (r == NULL)
    {
        pthread_mutex_unlock(&W.mu);
        problem("session %d: unexpected PUBLISH on %s", si, topic);
        return;
    }
    r->replies++;
    snprintf(r->reply_topic, sizeof r->reply_topic, "%s", topic);
    char want[128];
    snprintf(want, sizeof want, "$aws/things/%s/defender/metrics/%s/accepted", r->thing,
             r->cbor ? "cbor" : "json");
    char status[32];
    unsigned long long id = 0;
    int has_id;
    reply_fields(buf + off, len - off, r->cbor, status, sizeof status, &id, &has_id);
    r->reply_ok = strcmp(topic, want) == 0 && si == r->sess && strcmp(status, "ACCEPTED") == 0 &&
                  has_id && id == r->id;
    if (!r->reply_ok)
        fprintf(stderr,
                "reply to %s (session %d, id %llu): topic %s, session %d, status '%s', "
                "reportId %s%llu\n",
                r->thing, r->sess, r->id, topic, si, status, has_id ? "" : "(none) ", id);
    pthread_mutex_unlock(&W.mu);
}

/* ------------------------------------------------------------------------------------------ */
/* The scripted broker: one thread per connection                                              */

static int parse_connect(session *s, const uint8_t *buf, size_t len)
{
    size_t off = 0;
    char name[8];
    if (get_string(buf, len, &off, name, sizeof name) != 0 || strcmp(name, "MQTT") != 0 ||
        off + 4 > len)
        return -1;
    s->proto_level = buf[off];
    s->clean_start = (buf[off + 1] >> 1) & 1;
    off += 4; /* level, flags, keep alive */
    if (s->proto_level == 5)
    {
        long pl = get_varint(buf, len, &off);
        if (pl < 0 || off + (size_t) pl > len)
            return -1;
        off += (size_t) pl;
    }
    return get_string(buf, len, &off, s->client_id, sizeof s->client_id);
}

static void on_subscribe(int si, const uint8_t *buf, size_t len)
{
    session *s = &W.sess[si];
    size_t off = 2;
    long pl = len >= 2 ? get_varint(buf, len, &off) : -1;
    if (pl < 0 || off + (size_t) pl > len)
    {
        problem("session %d: malformed SUBSCRIBE", si);
        return;
    }
    off += (size_t) pl;
    uint8_t suback[64] = {0x90, 0, buf[0], buf[1], 0x00};
    size_t n = 5;
    while (off < len && n < sizeof suback)
    {
        char f[256];
        if (get_string(buf, len, &off, f, sizeof f) != 0 || off >= len)
        {
            problem("session %d: malformed SUBSCRIBE payload", si);
            return;
        }
        uint8_t opt = buf[off++];
        if ((opt & 3) != 1)
            problem("session %d: %s requested at QoS %d (1 expected)", si, f, opt & 3);
        if (opt & 0x04)
            problem("session %d: No Local set on %s (a protocol error on a shared "
                    "subscription, MQTT 5.0 section 4.8.2)",
                    si, f);
        if (opt & 0xC0)
            problem("session %d: reserved subscription option bits set on %s", si, f);
        pthread_mutex_lock(&W.mu);
        if (s->nsubs < 8)
            snprintf(s->subs[s->nsubs++], sizeof s->subs[0], "%s", f);
        pthread_mutex_unlock(&W.mu);
        suback[n++] = 0x01; /* granted QoS 1 */
    }
    if (n == 5)
        problem("session %d: SUBSCRIBE without a topic filter", si);
    suback[1] = (uint8_t) (n - 2);
    (void) send_all(s, suback, n);
    atomic_fetch_add(&s->subscribe_packets, 1);
}

static void on_unsubscribe(int si, const uint8_t *buf, size_t len)
{
    session *s = &W.sess[si];
    size_t off = 2;
    long pl = len >= 2 ? get_varint(buf, len, &off) : -1;
    if (pl < 0 || off + (size_t) pl > len)
    {
        problem("session %d: malformed UNSUBSCRIBE", si);
        return;
    }
    off += (size_t) pl;
    uint8_t unsuback[64] = {0xB0, 0, buf[0], buf[1], 0x00};
    size_t n = 5;
    while (off < len && n < sizeof unsuback)
    {
        char f[256];
        if (get_string(buf, len, &off, f, sizeof f) != 0)
        {
            problem("session %d: malformed UNSUBSCRIBE payload", si);
            return;
        }
        pthread_mutex_lock(&W.mu);
        if (s->nunsubs < 8)
            snprintf(s->unsubs[s->nunsubs++], sizeof s->unsubs[0], "%s", f);
        pthread_mutex_unlock(&W.mu);
        unsuback[n++] = 0x00; /* success */
    }
    unsuback[1] = (uint8_t) (n - 2);
    (void) send_all(s, unsuback, n);
}

static void on_puback(int si, const uint8_t *buf, size_t len)
{
    if (len < 2)
    {
        problem("session %d: malformed PUBACK", si);
        return;
    }
    uint16_t id = (uint16_t) ((buf[0] << 8) | buf[1]);
    if (len >= 3 && buf[2] != 0x00)
        problem("session %d: PUBACK %u with reason 0x%02x", si, id, buf[2]);
    pthread_mutex_lock(&W.mu);
    int found = 0;
    for (int i = 0; i < NREPORTS; i++)
        if (W.rep[i].sess == si && W.rep[i].pkid == id && id != 0)
        {
            W.rep[i].pubacks++;
            found = 1;
        }
    pthread_mutex_unlock(&W.mu);
    if (!found)
        problem("session %d: PUBACK for unknown packet id %u", si, id);
}

static void *session_main(void *arg)
{
    int si = (int) (intptr_t) arg;
    session *s = &W.sess[si];
    static _Thread_local uint8_t buf[65536];
    size_t len;
    int t = it_mqtt_read_packet(s->fd, buf, sizeof buf, &len, 5000);
    if (t != 0x10 || parse_connect(s, buf, len) != 0)
    {
        problem("session %d: no well-formed CONNECT (first byte %d)", si, t);
        atomic_store(&s->closed, 1);
        return NULL;
    }
    static const uint8_t connack[] = {0x20, 0x03, 0x00, 0x00, 0x00};
    (void) send_all(s, connack, sizeof connack);
    while (!atomic_load(&W.stop))
    {
        t = it_mqtt_read_packet(s->fd, buf, sizeof buf, &len, 200);
        if (t == -1)
            continue; /* nothing yet */
        if (t < 0)
            break; /* EOF */
        if (t == 0x82)
            on_subscribe(si, buf, len);
        else if ((t & 0xF0) == 0x30)
            on_reply(si, t, buf, len);
        else if (t == 0x40)
            on_puback(si, buf, len);
        else if (t == 0xA2)
            on_unsubscribe(si, buf, len);
        else if (t == 0xC0)
        {
            static const uint8_t pingresp[] = {0xD0, 0x00};
            (void) send_all(s, pingresp, sizeof pingresp);
        }
        else if (t == 0xE0)
        {
            if (len >= 1 && buf[0] != 0x00)
                problem("session %d: DISCONNECT with reason 0x%02x", si, buf[0]);
            atomic_store(&s->disconnected, 1);
            break;
        }
        else
            problem("session %d: unexpected packet 0x%02x", si, t);
    }
    atomic_store(&s->closed, 1);
    return NULL;
}

static void *acceptor_main(void *arg)
{
    (void) arg;
    while (!atomic_load(&W.stop))
    {
        struct pollfd pf = {W.listen_fd, POLLIN, 0};
        if (poll(&pf, 1, 200) <= 0)
            continue;
        int fd = accept(W.listen_fd, NULL, NULL);
        if (fd < 0)
            continue;
        int si = atomic_load(&W.nsess);
        if (si >= MAXSESS)
        {
            problem("too many connections");
            close(fd);
            continue;
        }
        session *s = &W.sess[si];
        s->fd = fd;
        pthread_mutex_init(&s->wlock, NULL);
        if (pthread_create(&s->th, NULL, session_main, (void *) (intptr_t) si) != 0)
        {
            problem("cannot start a session thread");
            close(fd);
            continue;
        }
        atomic_store(&W.nsess, si + 1);
    }
    return NULL;
}

/* ------------------------------------------------------------------------------------------ */

static int wait_until(int (*cond)(void), int timeout_ms)
{
    int64_t end = it_now_ms() + timeout_ms;
    while (!cond() && it_now_ms() < end)
        it_sleep_ms(20);
    return cond();
}

static int both_subscribed(void)
{
    return atomic_load(&W.nsess) >= 2 && atomic_load(&W.sess[0].subscribe_packets) >= 2 &&
           atomic_load(&W.sess[1].subscribe_packets) >= 2;
}

static int all_answered(void)
{
    pthread_mutex_lock(&W.mu);
    int done = 1;
    for (int i = 0; i < NREPORTS; i++)
        done &= W.rep[i].replies >= 1 && W.rep[i].pubacks >= 1;
    pthread_mutex_unlock(&W.mu);
    return done;
}

static unsigned long long counter_of(const it_service *s, const char *name)
{
    char *body = NULL;
    unsigned long long v = ~0ull;
    char key[64];
    snprintf(key, sizeof key, "\"%s\":", name);
    if (it_http(s->http_port, "GET", "/service/counters", NULL, &body) == 200 && body != NULL)
    {
        const char *p = strstr(body, key);
        if (p != NULL)
            v = strtoull(p + strlen(key), NULL, 10);
    }
    free(body);
    return v;
}

/* The filters in list (n of them) are exactly the two $share filters, each once. */
static int exactly_share_filters(char list[][256], int n)
{
    if (n != 2)
        return 0;
    return (strcmp(list[0], filters[0]) == 0 && strcmp(list[1], filters[1]) == 0) ||
           (strcmp(list[0], filters[1]) == 0 && strcmp(list[1], filters[0]) == 0);
}

/* Runs exe with args; collects its output; returns its exit status, or -1 if it had to be
 * killed after timeout_ms (it started instead of refusing its options). */
static int run_capture(const char *const *argv, char *out, size_t cap, int timeout_ms)
{
    int p[2];
    if (pipe(p) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0)
    {
        dup2(p[1], 1);
        dup2(p[1], 2);
        close(p[0]);
        close(p[1]);
        char *av[32];
        size_t i = 0;
        for (; argv[i] != NULL && i < 31; i++)
            av[i] = strdup(argv[i]);
        av[i] = NULL;
        execv(av[0], av);
        _exit(127);
    }
    close(p[1]);
    size_t n = 0;
    int64_t end = it_now_ms() + timeout_ms;
    int status = 0, exited = 0, eof = 0;
    /* its output up to EOF (the process exits) or the deadline (it went on running) */
    while (!eof && n + 1 < cap && it_now_ms() < end)
    {
        struct pollfd pf = {p[0], POLLIN, 0};
        if (poll(&pf, 1, 50) <= 0)
            continue;
        ssize_t r = read(p[0], out + n, cap - 1 - n);
        if (r > 0)
            n += (size_t) r;
        else
            eof = 1;
    }
    while (!exited && it_now_ms() < end)
    {
        if (waitpid(pid, &status, WNOHANG) == pid)
            exited = 1;
        else
            it_sleep_ms(10);
    }
    out[n] = 0;
    close(p[0]);
    if (!exited)
    {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return -1;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void check_refused(const char *exe, const char *dir, const char *const *opt,
                          const char *what)
{
    char broker[64], http[64], db[300];
    snprintf(broker, sizeof broker, "127.0.0.1:%d", it_free_port());
    snprintf(http, sizeof http, "127.0.0.1:%d", it_free_port());
    snprintf(db, sizeof db, "%s/refused.db", dir);
    const char *argv[16] = {exe, "serve", "--broker", broker, "--http", http, "--db", db};
    size_t n = 8;
    for (size_t i = 0; opt[i] != NULL && n < 15; i++)
        argv[n++] = opt[i];
    argv[n] = NULL;
    char out[2048];
    int st = run_capture(argv, out, sizeof out, 3000);
    CHECK(st > 0 && st < 128, "%s: refused with a non-zero exit (status %d)", what, st);
    CHECK(strstr(out, "share-group") != NULL && strstr(out, "'/', '+' or '#'") != NULL,
          "%s: a clear message naming the option and the rule: %s", what, out);
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    signal(SIGPIPE, SIG_IGN);
    pthread_mutex_init(&W.mu, NULL);
    char dir[] = "/tmp/detect-sharewire-XXXXXX";
    if (mkdtemp(dir) == NULL)
        return 1;

    /* --- option validation: share names MQTT forbids (MQTT 5.0 section 4.8.2) --- */
    {
        static const char *const bad[][3] = {
            {"--share-group", "a/b", NULL}, {"--share-group", "a+b", NULL},
            {"--share-group", "#", NULL},   {"--share-group", "", NULL},
            {"--share-group=", NULL, NULL}, {"--share-group=x/y", NULL, NULL},
        };
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        {
            char what[64];
            if (bad[i][1] != NULL)
                snprintf(what, sizeof what, "%s '%s'", bad[i][0], bad[i][1]);
            else
                snprintf(what, sizeof what, "%s", bad[i][0]);
            check_refused(argv[1], dir, bad[i], what);
        }
        char conf[300];
        snprintf(conf, sizeof conf, "%s/share.conf", dir);
        FILE *f = fopen(conf, "w");
        if (f != NULL)
        {
            fprintf(f, "share-group = fleet+1\n");
            fclose(f);
        }
        const char *viaconf[] = {"--config", conf, NULL};
        check_refused(argv[1], dir, viaconf, "share-group = fleet+1 in --config");
    }

    /* --- the scripted broker --- */
    it_broker b;
    memset(&b, 0, sizeof b);
    W.listen_fd = it_listen_loopback(&b.port);
    if (W.listen_fd < 0)
        return 1;
    if (pthread_create(&W.acceptor, NULL, acceptor_main, NULL) != 0)
        return 1;

    /* --- two instances of one share group --- */
    char db1[300], db2[300];
    snprintf(db1, sizeof db1, "%s/a.db", dir);
    snprintf(db2, sizeof db2, "%s/b.db", dir);
    const char *args[] = {"--share-group", GROUP, "--throttle-seconds", "0", NULL};
    it_service svc[2];
    memset(svc, 0, sizeof svc);
    int started = it_service_start(&svc[0], argv[1], &b, db1, args) == 0 &&
                  it_service_start(&svc[1], argv[1], &b, db2, args) == 0;
    CHECK(started, "both instances start and connect");
    CHECK(wait_until(both_subscribed, 5000), "both sessions subscribe (%d sessions)",
          atomic_load(&W.nsess));

    /* which session is which instance: the client ids carry the pids */
    int inst_sess[2] = {-1, -1};
    for (int k = 0; k < 2 && started; k++)
    {
        char cid[64];
        snprintf(cid, sizeof cid, "defender-detect-%ld", (long) svc[k].pid);
        for (int si = 0; si < atomic_load(&W.nsess); si++)
            if (strcmp(W.sess[si].client_id, cid) == 0)
                inst_sess[k] = si;
        CHECK(inst_sess[k] >= 0 && inst_sess[k] < 2, "instance %d has session 0 or 1 (%d)", k,
              inst_sess[k]);
    }
    CHECK(inst_sess[0] != inst_sess[1], "one session per instance");

    for (int si = 0; si < 2 && atomic_load(&W.nsess) >= 2; si++)
    {
        session *s = &W.sess[si];
        CHECK(s->proto_level == 5, "session %d: CONNECT of MQTT v5 (protocol level %d)", si,
              s->proto_level);
        CHECK(s->clean_start == 1, "session %d: clean start", si);
        pthread_mutex_lock(&W.mu);
        int ok = exactly_share_filters(s->subs, s->nsubs);
        pthread_mutex_unlock(&W.mu);
        CHECK(ok,
              "session %d: subscribed to exactly " FILTER_FMT " and " FILTER_FMT " (%d: %s, %s)",
              si, "json", "cbor", s->nsubs, s->subs[0], s->nsubs > 1 ? s->subs[1] : "");
    }

    /* --- reports, each to one session, alternating; every third on /cbor --- */
    if (both_subscribed() && inst_sess[0] >= 0 && inst_sess[1] >= 0)
    {
        for (int i = 0; i < NREPORTS; i++)
        {
            report *r = &W.rep[i];
            snprintf(r->thing, sizeof r->thing, "wire-%02d", i);
            r->cbor = i % 3 == 2;
            r->id = BASE_ID + (unsigned long long) i;
            r->sess = i % 2;
        }
        for (int i = 0; i < NREPORTS; i++)
            CHECK(deliver(i) == 0, "report %d delivered", i);
        CHECK(wait_until(all_answered, 10000), "every report acknowledged and answered");
        it_sleep_ms(300); /* room for a second, wrong reply */
        int got[2] = {0, 0};
        pthread_mutex_lock(&W.mu);
        for (int i = 0; i < NREPORTS; i++)
        {
            report *r = &W.rep[i];
            got[r->sess]++;
            CHECK(r->pubacks == 1, "%s: %d PUBACKs from session %d", r->thing, r->pubacks, r->sess);
            CHECK(r->replies == 1, "%s: %d replies (exactly one expected)", r->thing, r->replies);
            CHECK(r->reply_ok,
                  "%s (%s, session %d): ACCEPTED with reportId %llu on its "
                  "/accepted topic by its session (got %s)",
                  r->thing, r->cbor ? "cbor" : "json", r->sess, r->id, r->reply_topic);
        }
        pthread_mutex_unlock(&W.mu);
        for (int k = 0; k < 2; k++)
        {
            int want = got[inst_sess[k]];
            int64_t end = it_now_ms() + 3000;
            unsigned long long acc;
            while ((acc = counter_of(&svc[k], "accepted")) != (unsigned long long) want &&
                   it_now_ms() < end)
                it_sleep_ms(20);
            CHECK(acc == (unsigned long long) want,
                  "instance %d: accepted %llu, its session got %d reports", k, acc, want);
            CHECK(counter_of(&svc[k], "received") == (unsigned long long) want,
                  "instance %d: received what its session got (%d)", k, want);
            CHECK(counter_of(&svc[k], "ignored_topic") == 0, "instance %d: no ignored topic", k);
        }
    }

    /* --- clean stop: UNSUBSCRIBE of the same $share filters, then DISCONNECT --- */
    for (int k = 0; k < 2; k++)
    {
        if (svc[k].pid <= 0)
            continue;
        CHECK(it_service_stop(&svc[k], SIGTERM, 10000) == 0, "instance %d: clean exit at SIGTERM",
              k);
        int si = inst_sess[k];
        if (si < 0)
            continue;
        session *s = &W.sess[si];
        int64_t end = it_now_ms() + 2000;
        while (!atomic_load(&s->closed) && it_now_ms() < end)
            it_sleep_ms(20);
        CHECK(atomic_load(&s->disconnected), "instance %d: DISCONNECT at shutdown", k);
        pthread_mutex_lock(&W.mu);
        int ok = exactly_share_filters(s->unsubs, s->nunsubs);
        pthread_mutex_unlock(&W.mu);
        CHECK(ok, "instance %d: unsubscribed from exactly the two $share filters (%d: %s)", k,
              s->nunsubs, s->nunsubs ? s->unsubs[0] : "");
    }

    atomic_store(&W.stop, 1);
    pthread_join(W.acceptor, NULL);
    for (int si = 0; si < atomic_load(&W.nsess); si++)
    {
        pthread_join(W.sess[si].th, NULL);
        close(W.sess[si].fd);
    }
    close(W.listen_fd);
    CHECK(atomic_load(&W.nsess) == 2, "two connections, no reconnect (%d)", atomic_load(&W.nsess));
    CHECK(W.problems == 0, "%d protocol problem(s) seen by the broker", W.problems);

    if (it_failures == 0)
    {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", dir);
        printf("service share group on the wire: ok\n");
    }
    else
        fprintf(stderr, "logs: %s\n", dir);
    return it_failures ? 1 : 0;
}
