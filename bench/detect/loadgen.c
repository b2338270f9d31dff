/* Load generator for defender-detect: N simulated things publish reports through a
 * broker; replies are matched by reportId (a global sequence number) to measure latency
 * from publish to ACCEPTED.
 *
 * It is test equipment, so it speaks the little MQTT v5 it needs over plain sockets
 * (CONNECT, PUBLISH at QoS 1, SUBSCRIBE at QoS 0) instead of libmosquitto: the messages due
 * at one wake-up go out in one write() per connection, PUBACKs are drained in bulk, and the
 * subscriber reads replies with large reads. With libmosquitto the generator cost about one
 * CPU at 10,000 reports/s (select loops and one to four syscalls per packet), which on a
 * small machine competed with the broker and the service it measures.
 *
 * Latency of a report: from the clock reading just before the write() that carries it, to
 * the clock reading just after the read() that returned its reply. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONN 16
#define OUTBUF   (256 * 1024)

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t *g_sent_us;     /* by sequence number */
static uint32_t *g_lat_us;     /* latency per accepted reply */
static uint32_t *g_lat_by_seq; /* the same, by sequence number (--trace) */
static atomic_size_t g_nlat;
static atomic_size_t g_accepted, g_rejected;
static atomic_int g_stop;
static size_t g_max;
static uint64_t g_base_id = 1000000;

/* ---- minimal MQTT v5 ---------------------------------------------------------------------- */

static size_t put_varint(uint8_t *p, size_t v)
{
    size_t n = 0;
    do
    {
        uint8_t b = (uint8_t) (v & 0x7f);
        v >>= 7;
        p[n++] = (uint8_t) (b | (v ? 0x80 : 0));
    } while (v);
    return n;
}

static size_t put_str(uint8_t *p, const char *s, size_t len)
{
    p[0] = (uint8_t) (len >> 8);
    p[1] = (uint8_t) len;
    memcpy(p + 2, s, len);
    return len + 2;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0)
    {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t) w;
    }
    return 0;
}

/* Reads one whole packet (blocking); returns its first byte or -1. */
static int read_packet(int fd, uint8_t *buf, size_t cap, size_t *len)
{
    uint8_t h;
    if (read(fd, &h, 1) != 1)
        return -1;
    size_t rl = 0, shift = 0;
    for (int i = 0; i < 4; i++)
    {
        uint8_t b;
        if (read(fd, &b, 1) != 1)
            return -1;
        rl |= (size_t) (b & 0x7f) << shift;
        shift += 7;
        if (!(b & 0x80))
            break;
    }
    if (rl > cap)
        return -1;
    size_t got = 0;
    while (got < rl)
    {
        ssize_t r = read(fd, buf + got, rl - got);
        if (r <= 0)
            return -1;
        got += (size_t) r;
    }
    *len = rl;
    return h;
}

static int mqtt_connect(const char *host, int port, const char *cid)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t) port);
    if (inet_pton(AF_INET, host, &a.sin_addr) != 1 ||
        connect(fd, (struct sockaddr *) &a, sizeof a) != 0)
    {
        close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    uint8_t vh[256];
    size_t n = 0;
    n += put_str(vh + n, "MQTT", 4);
    vh[n++] = 5;    /* protocol level */
    vh[n++] = 0x02; /* clean start */
    vh[n++] = 0;    /* keep-alive 0: none */
    vh[n++] = 0;
    vh[n++] = 0; /* no properties */
    n += put_str(vh + n, cid, strlen(cid));
    uint8_t pkt[300];
    size_t o = 0;
    pkt[o++] = 0x10;
    o += put_varint(pkt + o, n);
    memcpy(pkt + o, vh, n);
    o += n;
    uint8_t buf[512];
    size_t len;
    if (write_all(fd, pkt, o) != 0 || read_packet(fd, buf, sizeof buf, &len) != 0x20 || len < 2 ||
        buf[1] != 0)
    {
        close(fd);
        return -1;
    }
    return fd;
}

static int mqtt_subscribe(int fd)
{
    static const char *const filters[] = {"$aws/things/+/defender/metrics/+/accepted",
                                          "$aws/things/+/defender/metrics/+/rejected"};
    uint8_t vh[256];
    size_t n = 0;
    vh[n++] = 0;
    vh[n++] = 1; /* packet id */
    vh[n++] = 0; /* no properties */
    for (int i = 0; i < 2; i++)
    {
        n += put_str(vh + n, filters[i], strlen(filters[i]));
        vh[n++] = 0; /* QoS 0 */
    }
    uint8_t pkt[300];
    size_t o = 0;
    pkt[o++] = 0x82;
    o += put_varint(pkt + o, n);
    memcpy(pkt + o, vh, n);
    o += n;
    uint8_t buf[512];
    size_t len;
    if (write_all(fd, pkt, o) != 0 || read_packet(fd, buf, sizeof buf, &len) != 0x90 || len < 5)
        return -1;
    /* packet id (2), properties length (1, 0 expected), two reason codes */
    size_t rc_at = 3 + buf[2];
    return rc_at + 2 <= len && buf[rc_at] <= 2 && buf[rc_at + 1] <= 2 ? 0 : -1;
}

/* ---- replies ------------------------------------------------------------------------------ */

static void on_reply(int64_t t, const uint8_t *topic, size_t tl, const uint8_t *pl, size_t plen)
{
    int accepted = tl >= 9 && memcmp(topic + tl - 9, "/accepted", 9) == 0;
    uint64_t id = 0;
    if (plen > 0 && pl[0] == '{')
    {
        static const char key[] = "\"reportId\":";
        for (size_t i = 0; i + sizeof key - 1 < plen; i++)
            if (memcmp(pl + i, key, sizeof key - 1) == 0)
            {
                for (size_t k = i + sizeof key - 1; k < plen && pl[k] >= '0' && pl[k] <= '9'; k++)
                    id = id * 10 + (uint64_t) (pl[k] - '0');
                break;
            }
    }
    else if (plen > 40)
    {
        /* CBOR: "reportId" key then 0x1b + 8 bytes (ids are > 2^32) */
        for (size_t i = 0; i + 18 < plen; i++)
            if (memcmp(pl + i, "\x68reportId", 9) == 0)
            {
                uint8_t ib = pl[i + 9];
                int n = ib == 0x1b ? 8 : ib == 0x1a ? 4 : ib == 0x19 ? 2 : ib == 0x18 ? 1 : 0;
                if (n == 0)
                    id = ib & 0x1f;
                for (int k = 0; k < n; k++)
                    id = (id << 8) | pl[i + 10 + (size_t) k];
                break;
            }
    }
    if (accepted)
        atomic_fetch_add(&g_accepted, 1);
    else
        atomic_fetch_add(&g_rejected, 1);
    if (accepted && id >= g_base_id && id - g_base_id < g_max)
    {
        int64_t s = g_sent_us[id - g_base_id];
        size_t k = atomic_fetch_add(&g_nlat, 1);
        if (k < g_max && s > 0)
            g_lat_us[k] = (uint32_t) (t - s);
        if (g_lat_by_seq != NULL && s > 0)
            g_lat_by_seq[id - g_base_id] = (uint32_t) (t - s);
    }
}

/* Subscriber thread: large reads, every complete packet parsed in place. */
static void *sub_main(void *arg)
{
    int fd = *(int *) arg;
    size_t cap = 1u << 20, have = 0;
    uint8_t *buf = malloc(cap);
    if (buf == NULL)
        return NULL;
    while (!atomic_load(&g_stop))
    {
        ssize_t r = read(fd, buf + have, cap - have);
        if (r <= 0)
            break;
        int64_t t = now_us();
        have += (size_t) r;
        size_t off = 0;
        for (;;)
        {
            if (have - off < 2)
                break;
            size_t rl = 0, shift = 0, hl = 1;
            int complete = 0;
            while (hl < 5 && off + hl < have)
            {
                uint8_t b = buf[off + hl++];
                rl |= (size_t) (b & 0x7f) << shift;
                shift += 7;
                if (!(b & 0x80))
                {
                    complete = 1;
                    break;
                }
            }
            if (!complete || have - off < hl + rl)
                break;
            const uint8_t *p = buf + off + hl;
            if ((buf[off] & 0xf0) == 0x30 && rl >= 2)
            {
                size_t tl = (size_t) p[0] << 8 | p[1];
                size_t q = 2 + tl + ((buf[off] & 0x06) ? 2 : 0);
                size_t pl = 0, pshift = 0;
                while (q < rl)
                {
                    uint8_t b = p[q++];
                    pl |= (size_t) (b & 0x7f) << pshift;
                    pshift += 7;
                    if (!(b & 0x80))
                        break;
                }
                q += pl;
                if (q <= rl)
                    on_reply(t, p + 2, tl, p + q, rl - q);
            }
            off += hl + rl;
        }
        memmove(buf, buf + off, have - off);
        have -= off;
        if (have == cap)
            break; /* a packet larger than 1 MB: not ours */
    }
    free(buf);
    return NULL;
}

/* ---- publishers --------------------------------------------------------------------------- */

typedef struct
{
    int fd;
    uint16_t mid;
    size_t len;
    uint8_t buf[OUTBUF];
} pubconn;

/* PUBACKs are not needed: drain whatever the broker sent, without blocking. */
static void drain(pubconn *c)
{
    uint8_t sink[65536];
    while (recv(c->fd, sink, sizeof sink, MSG_DONTWAIT) > 0)
    {
    }
}

static int flush_conn(pubconn *c)
{
    if (c->len == 0)
        return 0;
    drain(c);
    int rc = write_all(c->fd, c->buf, c->len);
    c->len = 0;
    return rc;
}

static size_t encode_report(uint8_t *payload, size_t cap, int cbor, uint64_t id, size_t seq)
{
    if (!cbor)
        return (size_t) snprintf(
            (char *) payload, cap,
            "{\"hed\":{\"rid\":%llu,\"v\":\"1.0\"},\"met\":{\"tp\":{\"pts\":[{\"if\":\"eth0\","
            "\"pt\":22},{\"if\":\"eth0\",\"pt\":8883}],\"t\":2},\"up\":{\"pts\":[{\"if\":"
            "\"eth0\",\"pt\":5353}],\"t\":1},\"ns\":{\"bi\":%llu,\"bo\":81234,\"pi\":3402,"
            "\"po\":1210},\"tc\":{\"ec\":{\"cs\":[{\"li\":\"eth0\",\"lp\":49822,\"rad\":"
            "\"198.51.100.7:8883\"},{\"li\":\"wlan0\",\"lp\":22,\"rad\":\"[2001:db8::17]:"
            "50122\"}],\"t\":3}}},\"cmet\":{\"rssi_dbm\":[{\"number\":-67}],\"cpu_load\":[{"
            "\"number_list\":[12,7.5,3]}]}}",
            (unsigned long long) id, (unsigned long long) (5000 + seq));
    size_t o = 0;
    static const uint8_t pre[] = {0xa2, 0x63, 'h', 'e', 'd', 0xa2, 0x63, 'r', 'i', 'd', 0x1b};
    memcpy(payload, pre, sizeof pre);
    o = sizeof pre;
    for (int k = 7; k >= 0; k--)
        payload[o++] = (uint8_t) (id >> (8 * k));
    static const uint8_t post[] = {0x61, 'v', 0x63, '1',  '.',  '0', 0x63, 'm',  'e',  't', 0xa1,
                                   0x62, 'n', 's',  0xa1, 0x62, 'b', 'i',  0x19, 0x10, 0x00};
    memcpy(payload + o, post, sizeof post);
    return o + sizeof post;
}

/* Appends one PUBLISH (QoS 1, no properties) to the connection's buffer. */
static void add_publish(pubconn *c, int thing, int cbor, uint64_t id, size_t seq)
{
    char topic[64];
    int tl = snprintf(topic, sizeof topic, "$aws/things/thing-%05d/defender/metrics/%s", thing,
                      cbor ? "cbor" : "json");
    uint8_t payload[1024];
    size_t pl = encode_report(payload, sizeof payload, cbor, id, seq);
    size_t rl = 2 + (size_t) tl + 2 + 1 + pl;
    uint8_t *p = c->buf + c->len;
    size_t o = 0;
    p[o++] = 0x32;
    o += put_varint(p + o, rl);
    o += put_str(p + o, topic, (size_t) tl);
    c->mid = (uint16_t) (c->mid == 0xffff ? 1 : c->mid + 1);
    p[o++] = (uint8_t) (c->mid >> 8);
    p[o++] = (uint8_t) c->mid;
    p[o++] = 0; /* no properties */
    memcpy(p + o, payload, pl);
    c->len += o + pl;
}

static void sleep_until_us(int64_t t_us)
{
    struct timespec ts = {(time_t) (t_us / 1000000), (long) (t_us % 1000000) * 1000};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
    {
    }
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *) a, y = *(const uint32_t *) b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1";
    int port = 1883, things = 10000, conns = 4, cbor = 0;
    double rate = 0, duration = 10;
    size_t window = 20000;
    const char *trace = NULL;
    for (int i = 1; i + 1 < argc; i += 2)
    {
        if (!strcmp(argv[i], "--port"))
            port = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--host"))
            host = argv[i + 1];
        else if (!strcmp(argv[i], "--things"))
            things = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--rate"))
            rate = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--duration"))
            duration = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--connections"))
            conns = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--window"))
            window = (size_t) atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--format"))
            cbor = !strcmp(argv[i + 1], "cbor");
        else if (!strcmp(argv[i], "--trace"))
            trace = argv[i + 1];
        else if (!strcmp(argv[i], "--base-id"))
            g_base_id = strtoull(argv[i + 1], NULL, 10);
        else
        {
            fprintf(
                stderr,
                "unknown option %s (options: --host IPV4 --port --things --rate "
                "--duration --connections --window --format json|cbor --base-id --trace FILE)\n",
                argv[i]);
            return 2;
        }
    }
    if (conns < 1 || conns > MAX_CONN || things < 1)
        return 2;
    g_max = (size_t) ((rate > 0 ? rate : 200000) * duration) + 1000;
    g_sent_us = calloc(g_max, sizeof *g_sent_us);
    g_lat_us = calloc(g_max, sizeof *g_lat_us);
    static pubconn pub[MAX_CONN];
    if (trace != NULL)
        g_lat_by_seq = calloc(g_max, sizeof *g_lat_by_seq);
    if (!g_sent_us || !g_lat_us || (trace != NULL && g_lat_by_seq == NULL))
        return 1;
    char cid[64];
    snprintf(cid, sizeof cid, "loadgen-%ld-sub", (long) getpid());
    int sfd = mqtt_connect(host, port, cid);
    if (sfd < 0 || mqtt_subscribe(sfd) != 0)
    {
        fprintf(stderr, "cannot connect and subscribe to %s:%d\n", host, port);
        return 1;
    }
    for (int i = 0; i < conns; i++)
    {
        snprintf(cid, sizeof cid, "loadgen-%ld-%d", (long) getpid(), i);
        pub[i].fd = mqtt_connect(host, port, cid);
        if (pub[i].fd < 0)
        {
            fprintf(stderr, "cannot connect to %s:%d\n", host, port);
            return 1;
        }
    }
    pthread_t sub;
    if (pthread_create(&sub, NULL, sub_main, &sfd) != 0)
        return 1;
    /* Each wake-up publishes every report due by then (paced), or fills the window (maximum
     * rate), at most 64 per connection per write. */
    const size_t per_write = 64;
    int64_t start = now_us();
    int64_t end = start + (int64_t) (duration * 1e6);
    size_t seq = 0;
    int failed = 0;
    while (!failed && seq < g_max)
    {
        int64_t t = now_us();
        if (t >= end)
            break;
        size_t due;
        if (rate > 0)
        {
            due = (size_t) ((double) (t - start) * rate / 1e6) + 1;
            if (due <= seq)
            {
                int64_t next = start + (int64_t) ((double) seq * 1e6 / rate);
                sleep_until_us(next < end ? next : end);
                continue;
            }
        }
        else
        {
            size_t done = atomic_load(&g_accepted) + atomic_load(&g_rejected);
            if (seq - done >= window)
            {
                struct timespec ts = {0, 100000};
                nanosleep(&ts, NULL);
                for (int i = 0; i < conns; i++)
                    drain(&pub[i]);
                continue;
            }
            due = done + window;
        }
        if (due > g_max)
            due = g_max;
        if (due - seq > per_write * (size_t) conns)
            due = seq + per_write * (size_t) conns;
        size_t first = seq;
        for (; seq < due; seq++)
            add_publish(&pub[seq % (size_t) conns], (int) (seq % (size_t) things), cbor,
                        g_base_id + seq, seq);
        /* stamp just before the writes: a report's clock starts when it is handed to the
         * kernel (the encoding above is not counted) */
        for (int i = 0; i < conns && !failed; i++)
        {
            if (pub[i].len == 0)
                continue;
            int64_t ts = now_us();
            size_t k0 = first + ((size_t) i + (size_t) conns - first % (size_t) conns) %
                                    (size_t) conns; /* first report on connection i */
            for (size_t k = k0; k < seq; k += (size_t) conns)
                g_sent_us[k] = ts;
            failed = flush_conn(&pub[i]) != 0;
        }
    }
    int64_t pub_end = now_us();
    /* wait for the tail of replies */
    for (int w = 0; w < 1000; w++)
    {
        if (atomic_load(&g_accepted) + atomic_load(&g_rejected) >= seq)
            break;
        for (int i = 0; i < conns; i++)
            drain(&pub[i]);
        struct timespec ts = {0, 10000000};
        nanosleep(&ts, NULL);
    }
    int64_t done = now_us();
    size_t acc = atomic_load(&g_accepted), rej = atomic_load(&g_rejected);
    size_t nl = atomic_load(&g_nlat);
    if (nl > g_max)
        nl = g_max;
    qsort(g_lat_us, nl, sizeof *g_lat_us, cmp_u32);
    double secs = (double) (done - start) / 1e6;
    printf("published=%zu accepted=%zu rejected=%zu publish_secs=%.2f total_secs=%.2f\n", seq, acc,
           rej, (double) (pub_end - start) / 1e6, secs);
    printf("throughput_reports_per_sec=%.0f\n", (double) (acc + rej) / secs);
    if (nl > 0)
        printf("latency_ms p50=%.3f p90=%.3f p99=%.3f p999=%.3f max=%.3f\n",
               g_lat_us[nl / 2] / 1000.0, g_lat_us[nl * 9 / 10] / 1000.0,
               g_lat_us[nl * 99 / 100] / 1000.0, g_lat_us[nl * 999 / 1000] / 1000.0,
               g_lat_us[nl - 1] / 1000.0);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("loadgen_cpu_s=%.2f\n", (double) (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                                       (double) (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
    if (trace != NULL)
    {
        /* one line per report: milliseconds since the start when sent, latency in ms */
        FILE *f = fopen(trace, "w");
        if (f != NULL)
            fprintf(f, "# start_monotonic_ms %.3f\n", (double) start / 1000.0);
        for (size_t k = 0; f != NULL && k < seq; k++)
            fprintf(f, "%.3f %.3f\n", (double) (g_sent_us[k] - start) / 1000.0,
                    g_lat_by_seq[k] / 1000.0);
        if (f != NULL)
            fclose(f);
    }
    static const uint8_t disconnect[] = {0xe0, 0x00};
    for (int i = 0; i < conns; i++)
    {
        write_all(pub[i].fd, disconnect, sizeof disconnect);
        close(pub[i].fd);
    }
    atomic_store(&g_stop, 1);
    write_all(sfd, disconnect, sizeof disconnect);
    shutdown(sfd, SHUT_RDWR);
    pthread_join(sub, NULL);
    close(sfd);
    free(g_sent_us);
    free(g_lat_us);
    free(g_lat_by_seq);
    return !failed && acc + rej >= seq ? 0 : 1;
}
