/* Load generator for defender-detect: N simulated things publish reports through a
 * broker; replies are matched by reportId (a global sequence number) to measure latency
 * from publish to ACCEPTED. */
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_CONN 16

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t *g_sent_us; /* by sequence number */
static uint32_t *g_lat_us; /* latency per accepted reply */
static atomic_size_t g_nlat;
static atomic_size_t g_accepted, g_rejected;
static size_t g_max;
static uint64_t g_base_id = 1000000;

static void on_message(struct mosquitto *m, void *obj, const struct mosquitto_message *msg,
                       const mosquitto_property *p)
{
    (void) m;
    (void) obj;
    (void) p;
    int64_t t = now_us();
    const char *pl = msg->payload;
    int accepted = strstr(msg->topic, "/accepted") != NULL;
    uint64_t id = 0;
    if (msg->payloadlen > 0 && pl[0] == '{')
    {
        const char *r = strstr(pl, "\"reportId\":");
        if (r)
            id = strtoull(r + 11, NULL, 10);
    }
    else if (msg->payloadlen > 40)
    {
        /* CBOR: "reportId" key then 0x1b + 8 bytes (ids are > 2^32) */
        const uint8_t *b = msg->payload;
        for (int i = 0; i + 18 < msg->payloadlen; i++)
            if (memcmp(b + i, "\x68reportId", 9) == 0)
            {
                uint8_t ib = b[i + 9];
                int n = ib == 0x1b ? 8 : ib == 0x1a ? 4 : ib == 0x19 ? 2 : ib == 0x18 ? 1 : 0;
                if (n == 0)
                    id = ib & 0x1f;
                for (int k = 0; k < n; k++)
                    id = (id << 8) | b[i + 10 + k];
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
    }
}

static atomic_int g_subscribed;
static void on_subscribe(struct mosquitto *m, void *o, int mid, int n, const int *g,
                         const mosquitto_property *p)
{
    (void) m;
    (void) o;
    (void) mid;
    (void) n;
    (void) g;
    (void) p;
    atomic_fetch_add(&g_subscribed, 1);
}

/* Subscriber: libmosquitto thread. Publishers: driven by the main thread (direct writes,
 * acknowledgements read in bulk), so the generator leaves CPU to the broker. */
static struct mosquitto *client(const char *host, int port, int sub)
{
    struct mosquitto *m = mosquitto_new(NULL, true, NULL);
    if (m == NULL)
        return NULL;
    mosquitto_int_option(m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
    mosquitto_int_option(m, MOSQ_OPT_TCP_NODELAY, 1);
    mosquitto_max_inflight_messages_set(m, 0);
    if (sub)
    {
        mosquitto_message_v5_callback_set(m, on_message);
        mosquitto_subscribe_v5_callback_set(m, on_subscribe);
    }
    if (mosquitto_connect_bind_v5(m, host, port, 60, NULL, NULL) != MOSQ_ERR_SUCCESS ||
        (sub && mosquitto_loop_start(m) != MOSQ_ERR_SUCCESS))
    {
        mosquitto_destroy(m);
        return NULL;
    }
    return m;
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
        else if (!strcmp(argv[i], "--base-id"))
            g_base_id = strtoull(argv[i + 1], NULL, 10);
        else
        {
            fprintf(stderr, "unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (conns < 1 || conns > MAX_CONN || things < 1)
        return 2;
    g_max = (size_t) ((rate > 0 ? rate : 200000) * duration) + 1000;
    g_sent_us = calloc(g_max, sizeof *g_sent_us);
    g_lat_us = calloc(g_max, sizeof *g_lat_us);
    if (!g_sent_us || !g_lat_us)
        return 1;
    mosquitto_lib_init();
    struct mosquitto *sub = client(host, port, 1);
    struct mosquitto *pub[MAX_CONN];
    for (int i = 0; i < conns; i++)
    {
        pub[i] = client(host, port, 0);
        if (pub[i] == NULL)
            return 1;
        mosquitto_loop(pub[i], 100, 1); /* CONNACK */
    }
    if (sub == NULL)
        return 1;
    mosquitto_subscribe_v5(sub, NULL, "$aws/things/+/defender/metrics/+/accepted", 0, 0, NULL);
    mosquitto_subscribe_v5(sub, NULL, "$aws/things/+/defender/metrics/+/rejected", 0, 0, NULL);
    for (int w = 0; w < 500 && atomic_load(&g_subscribed) < 2; w++)
    {
        struct timespec ts = {0, 10000000};
        nanosleep(&ts, NULL);
    }
    char topic[128];
    char payload[1024];
    int64_t start = now_us();
    int64_t end = start + (int64_t) (duration * 1e6);
    size_t seq = 0;
    while (now_us() < end && seq < g_max)
    {
        if (rate > 0)
        {
            int64_t due = start + (int64_t) ((double) seq * 1e6 / rate);
            int64_t t = now_us();
            if (due > t)
            {
                struct timespec ts = {0, (long) (due - t) * 1000};
                for (int i = 0; i < conns; i++)
                    mosquitto_loop(pub[i], 0, 1);
                if (due - t > 200)
                    nanosleep(&ts, NULL);
                continue;
            }
        }
        else if (seq - (atomic_load(&g_accepted) + atomic_load(&g_rejected)) > window)
        {
            for (int i = 0; i < conns; i++)
                mosquitto_loop(pub[i], 0, 1);
            struct timespec ts = {0, 100000};
            nanosleep(&ts, NULL);
            continue;
        }
        int th = (int) (seq % (size_t) things);
        uint64_t id = g_base_id + seq;
        size_t len;
        if (!cbor)
        {
            snprintf(topic, sizeof topic, "$aws/things/thing-%05d/defender/metrics/json", th);
            len = (size_t) snprintf(
                payload, sizeof payload,
                "{\"hed\":{\"rid\":%llu,\"v\":\"1.0\"},\"met\":{\"tp\":{\"pts\":[{\"if\":\"eth0\","
                "\"pt\":22},{\"if\":\"eth0\",\"pt\":8883}],\"t\":2},\"up\":{\"pts\":[{\"if\":"
                "\"eth0\",\"pt\":5353}],\"t\":1},\"ns\":{\"bi\":%llu,\"bo\":81234,\"pi\":3402,"
                "\"po\":1210},\"tc\":{\"ec\":{\"cs\":[{\"li\":\"eth0\",\"lp\":49822,\"rad\":"
                "\"198.51.100.7:8883\"},{\"li\":\"wlan0\",\"lp\":22,\"rad\":\"[2001:db8::17]:"
                "50122\"}],\"t\":3}}},\"cmet\":{\"rssi_dbm\":[{\"number\":-67}],\"cpu_load\":[{"
                "\"number_list\":[12,7.5,3]}]}}",
                (unsigned long long) id, (unsigned long long) (5000 + seq));
        }
        else
        {
            snprintf(topic, sizeof topic, "$aws/things/thing-%05d/defender/metrics/cbor", th);
            uint8_t *b = (uint8_t *) payload;
            size_t o = 0;
            static const uint8_t pre[] = {0xa2, 0x63, 'h', 'e', 'd', 0xa2,
                                          0x63, 'r',  'i', 'd', 0x1b};
            memcpy(b, pre, sizeof pre);
            o = sizeof pre;
            for (int k = 7; k >= 0; k--)
                b[o++] = (uint8_t) (id >> (8 * k));
            static const uint8_t post[] = {0x61, 'v',  0x63, '1',  '.',  '0',  0x63,
                                           'm',  'e',  't',  0xa1, 0x62, 'n',  's',
                                           0xa1, 0x62, 'b',  'i',  0x19, 0x10, 0x00};
            memcpy(b + o, post, sizeof post);
            o += sizeof post;
            len = o;
        }
        g_sent_us[seq] = now_us();
        struct mosquitto *pc = pub[seq % (size_t) conns];
        mosquitto_publish_v5(pc, NULL, topic, (int) len, payload, 1, false, NULL);
        seq++;
        if (seq % 64 == 0)
            for (int i = 0; i < conns; i++)
                mosquitto_loop(pub[i], 0, 1);
    }
    int64_t pub_end = now_us();
    /* wait for the tail of replies */
    for (int w = 0; w < 1000; w++)
    {
        if (atomic_load(&g_accepted) + atomic_load(&g_rejected) >= seq)
            break;
        for (int i = 0; i < conns; i++)
            mosquitto_loop(pub[i], 0, 1);
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
    for (int i = 0; i < conns; i++)
        if (pub[i])
        {
            mosquitto_disconnect(pub[i]);
            mosquitto_loop(pub[i], 0, 1);
            mosquitto_destroy(pub[i]);
        }
    mosquitto_disconnect(sub);
    mosquitto_loop_stop(sub, false);
    mosquitto_destroy(sub);
    mosquitto_lib_cleanup();
    free(g_sent_us);
    free(g_lat_us);
    return acc + rej >= seq ? 0 : 1;
}
