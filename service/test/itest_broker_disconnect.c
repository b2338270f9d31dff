/* A broker that ends the service's session with an MQTT v5 DISCONNECT (reason 0x8E, session
 * taken over), right after handing it a report, as brokers do on a client-id takeover or an
 * administrative kick (Mosquitto 2.0.11 closes the socket without a DISCONNECT, so the
 * reconnect test with a real broker does not cover this path). The service must notice,
 * reconnect with its back-off, subscribe again, answer the next report, and stop cleanly.
 *
 * The broker here is a scripted one on a free loopback port, speaking the few MQTT v5 packets
 * involved over a plain socket. */
#include "itest.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define TOPIC "$aws/things/dt/defender/metrics/json"

typedef struct
{
    int listen_fd;
    atomic_int sessions;     /* connections accepted and handshaken */
    atomic_int subscribes;   /* SUBSCRIBE packets answered, all sessions */
    atomic_int reply_seen;   /* ACCEPTED for report 2 arrived in session 2 */
    atomic_int puback_seen;  /* the service acknowledged report 2 */
    atomic_int unsubscribed; /* UNSUBSCRIBE at shutdown */
    atomic_int disconnected; /* DISCONNECT from the service at shutdown */
    atomic_int stop;
} fake_broker;

static int send_all(int fd, const uint8_t *p, size_t n)
{
    return write(fd, p, n) == (ssize_t) n ? 0 : -1;
}

/* CONNECT -> CONNACK, then the two SUBSCRIBEs -> SUBACK (QoS 1 granted). */
static int handshake(fake_broker *fb, int fd, uint8_t *buf, size_t cap)
{
    size_t len;
    if (it_mqtt_read_packet(fd, buf, cap, &len, 5000) != 0x10)
        return -1;
    static const uint8_t connack[] = {0x20, 0x03, 0x00, 0x00, 0x00};
    if (send_all(fd, connack, sizeof connack) != 0)
        return -1;
    for (int i = 0; i < 2; i++)
    {
        if (it_mqtt_read_packet(fd, buf, cap, &len, 5000) != 0x82 || len < 2)
            return -1;
        uint8_t suback[] = {0x90, 0x04, buf[0], buf[1], 0x00, 0x01};
        if (send_all(fd, suback, sizeof suback) != 0)
            return -1;
        atomic_fetch_add(&fb->subscribes, 1);
    }
    return 0;
}

/* PUBLISH at QoS 1 (packet id 1) of a minimal report with this id. */
static int publish_report(int fd, unsigned long long id)
{
    char payload[128];
    int pl = snprintf(payload, sizeof payload,
                      "{\"header\":{\"report_id\":%llu,\"version\":\"1.0\"},\"metrics\":{}}", id);
    size_t tl = strlen(TOPIC);
    size_t rem = 2 + tl + 2 + 1 + (size_t) pl;
    uint8_t pkt[256];
    size_t n = 0;
    pkt[n++] = 0x32;
    pkt[n++] = (uint8_t) rem; /* < 128 */
    pkt[n++] = 0;
    pkt[n++] = (uint8_t) tl;
    memcpy(pkt + n, TOPIC, tl);
    n += tl;
    pkt[n++] = 0;
    pkt[n++] = 1;
    pkt[n++] = 0; /* no properties */
    memcpy(pkt + n, payload, (size_t) pl);
    n += (size_t) pl;
    return send_all(fd, pkt, n);
}

static int accept_one(int listen_fd)
{
    struct pollfd pf = {listen_fd, POLLIN, 0};
    if (poll(&pf, 1, 20000) <= 0)
        return -1;
    return accept(listen_fd, NULL, NULL);
}

static void *broker_main(void *arg)
{
    fake_broker *fb = arg;
    uint8_t buf[4096];
    size_t len;

    /* Session 1: a report, then DISCONNECT 0x8E (session taken over), then close. */
    int fd = accept_one(fb->listen_fd);
    if (fd < 0)
        return NULL;
    if (handshake(fb, fd, buf, sizeof buf) == 0)
    {
        atomic_fetch_add(&fb->sessions, 1);
        static const uint8_t disconnect[] = {0xE0, 0x02, 0x8E, 0x00};
        it_sleep_ms(200);
        (void) publish_report(fd, 1735689600000ull);
        (void) send_all(fd, disconnect, sizeof disconnect);
    }
    close(fd);

    /* Session 2: the service is back; report 2 must be answered. */
    fd = accept_one(fb->listen_fd);
    if (fd < 0)
        return NULL;
    if (handshake(fb, fd, buf, sizeof buf) != 0)
    {
        close(fd);
        return NULL;
    }
    atomic_fetch_add(&fb->sessions, 1);
    (void) publish_report(fd, 1735689600001ull);
    while (!atomic_load(&fb->stop))
    {
        int t = it_mqtt_read_packet(fd, buf, sizeof buf, &len, 500);
        if (t < 0)
        {
            struct pollfd pf = {fd, POLLIN, 0};
            if (poll(&pf, 1, 0) > 0)
                break; /* EOF */
            continue;  /* timeout: keep listening */
        }
        if ((t & 0xF0) == 0x30 && len >= 2)
        {
            /* a reply: topic, packet id (QoS 1), properties, payload */
            size_t tl = ((size_t) buf[0] << 8) | buf[1];
            int qos = (t >> 1) & 3;
            if (2 + tl <= len)
            {
                char topic[256];
                snprintf(topic, sizeof topic, "%.*s", (int) tl, (const char *) buf + 2);
                size_t off = 2 + tl + (qos ? 2 : 0);
                size_t props = off < len ? buf[off] : 0; /* < 128 here */
                off += 1 + props;
                char body[1024] = "";
                if (off <= len)
                    snprintf(body, sizeof body, "%.*s", (int) (len - off),
                             (const char *) buf + off);
                if (strstr(topic, "/json/accepted") && strstr(body, "\"reportId\":1735689600001"))
                    atomic_store(&fb->reply_seen, 1);
                if (qos == 1)
                {
                    uint8_t puback[] = {0x40, 0x02, buf[2 + tl], buf[3 + tl]};
                    (void) send_all(fd, puback, sizeof puback);
                }
            }
        }
        else if (t == 0x40)
            atomic_store(&fb->puback_seen, 1);
        else if (t == 0xA2 && len >= 2)
        {
            uint8_t unsuback[] = {0xB0, 0x04, buf[0], buf[1], 0x00, 0x00};
            (void) send_all(fd, unsuback, sizeof unsuback);
            atomic_store(&fb->unsubscribed, 1);
        }
        else if (t == 0xC0)
        {
            static const uint8_t pingresp[] = {0xD0, 0x00};
            (void) send_all(fd, pingresp, sizeof pingresp);
        }
        else if (t == 0xE0)
        {
            atomic_store(&fb->disconnected, 1);
            break;
        }
    }
    close(fd);
    return NULL;
}

static int wait_flag(atomic_int *flag, int timeout_ms)
{
    int64_t end = it_now_ms() + timeout_ms;
    while (!atomic_load(flag) && it_now_ms() < end)
        it_sleep_ms(20);
    return atomic_load(flag);
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    static fake_broker fb;
    it_broker b;
    memset(&b, 0, sizeof b);
    fb.listen_fd = it_listen_loopback(&b.port);
    if (fb.listen_fd < 0)
        return 1;
    pthread_t broker;
    if (pthread_create(&broker, NULL, broker_main, &fb) != 0)
        return 1;

    char dir[] = "/tmp/detect-disc-XXXXXX";
    if (mkdtemp(dir) == NULL)
        return 1;
    char db[128];
    snprintf(db, sizeof db, "%s/disc.db", dir);
    const char *args[] = {"--throttle-seconds", "0", NULL};
    it_service s;
    if (it_service_start(&s, argv[1], &b, db, args) != 0)
    {
        fprintf(stderr, "service did not start and connect\n");
        atomic_store(&fb.stop, 1);
        pthread_join(broker, NULL);
        return 1;
    }

    CHECK(wait_flag(&fb.reply_seen, 20000), "report 2 answered ACCEPTED after the reconnect");
    CHECK(atomic_load(&fb.sessions) == 2, "two sessions (got %d)", atomic_load(&fb.sessions));
    CHECK(atomic_load(&fb.subscribes) == 4, "subscribed again after the DISCONNECT (%d)",
          atomic_load(&fb.subscribes));
    CHECK(wait_flag(&fb.puback_seen, 5000), "report 2 acknowledged");
    char *body = NULL;
    CHECK(it_http(s.http_port, "GET", "/service/health", NULL, &body) == 200 && body != NULL &&
              strstr(body, "\"mqttConnected\":true") != NULL,
          "health: connected again: %s", body ? body : "(none)");
    free(body);

    CHECK(it_service_stop(&s, SIGTERM, 10000) == 0, "clean exit after the broker's DISCONNECT");
    CHECK(atomic_load(&fb.unsubscribed), "unsubscribed at shutdown");
    CHECK(wait_flag(&fb.disconnected, 2000), "DISCONNECT at shutdown");
    atomic_store(&fb.stop, 1);
    pthread_join(broker, NULL);
    close(fb.listen_fd);

    /* the log says why the connection went */
    FILE *f = fopen(s.log, "r");
    char line[512];
    int logged = 0;
    while (f != NULL && fgets(line, sizeof line, f) != NULL)
        logged |= strstr(line, "disconnected from broker") != NULL;
    if (f != NULL)
        fclose(f);
    CHECK(logged, "the disconnect is logged (%s)", s.log);

    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (it_failures == 0 && system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    if (it_failures == 0)
        printf("service broker DISCONNECT: ok\n");
    return it_failures ? 1 : 0;
}
