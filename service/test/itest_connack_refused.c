/* A broker that takes the service's TCP connections but refuses its session (CONNACK reason
 * 0x87, not authorized, as a broker does after a credentials or ACL change): the service must
 * back off exponentially between attempts, as it does when the TCP connection itself fails.
 * It used to reset its back-off whenever the TCP connection succeeded, so it hammered such a
 * broker once a second, logging a warning each time. Once the broker accepts again, the
 * service connects, subscribes and stops cleanly.
 *
 * The broker here is a scripted one on a free loopback port, speaking the few MQTT v5 packets
 * involved over a plain socket. */
#include "itest.h"

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* how long the broker refuses every session after dropping the first one */
#define REFUSE_MS 7500

typedef struct
{
    int listen_fd;
    atomic_int refused;    /* CONNECTs answered with CONNACK 0x87 */
    atomic_int sessions;   /* sessions accepted (CONNACK 0x00) and subscribed */
    atomic_int refusing;   /* the broker refuses sessions now */
    atomic_int refuse_end; /* set once the refusal window is over */
    atomic_int drop;       /* the test saw the service connected: drop session 1 */
    atomic_int stop;
} fake_broker;

static int send_all(int fd, const uint8_t *p, size_t n)
{
    return write(fd, p, n) == (ssize_t) n ? 0 : -1;
}

/* accepts a connection within `timeout_ms`; -1 on time-out or stop */
static int accept_within(fake_broker *fb, int timeout_ms)
{
    int64_t end = it_now_ms() + timeout_ms;
    while (!atomic_load(&fb->stop) && it_now_ms() < end)
    {
        struct pollfd pf = {fb->listen_fd, POLLIN, 0};
        if (poll(&pf, 1, 100) > 0)
            return accept(fb->listen_fd, NULL, NULL);
    }
    return -1;
}

/* CONNECT -> CONNACK 0x00, then the two SUBSCRIBEs -> SUBACK (QoS 1 granted) */
static int accept_session(fake_broker *fb, int fd, uint8_t *buf, size_t cap)
{
    size_t len;
    static const uint8_t connack[] = {0x20, 0x03, 0x00, 0x00, 0x00};
    if (it_mqtt_read_packet(fd, buf, cap, &len, 5000) != 0x10 ||
        send_all(fd, connack, sizeof connack) != 0)
        return -1;
    for (int i = 0; i < 2; i++)
    {
        if (it_mqtt_read_packet(fd, buf, cap, &len, 5000) != 0x82 || len < 2)
            return -1;
        uint8_t suback[] = {0x90, 0x04, buf[0], buf[1], 0x00, 0x01};
        if (send_all(fd, suback, sizeof suback) != 0)
            return -1;
    }
    atomic_fetch_add(&fb->sessions, 1);
    return 0;
}

/* answers packets of an accepted session until EOF or stop (UNSUBSCRIBE, PINGREQ) */
static void serve_session(fake_broker *fb, int fd, uint8_t *buf, size_t cap)
{
    size_t len;
    while (!atomic_load(&fb->stop))
    {
        int t = it_mqtt_read_packet(fd, buf, cap, &len, 200);
        if (t < 0)
        {
            struct pollfd pf = {fd, POLLIN, 0};
            if (poll(&pf, 1, 0) > 0)
                return; /* EOF */
            continue;
        }
        if (t == 0xA2 && len >= 2)
        {
            uint8_t unsuback[] = {0xB0, 0x04, buf[0], buf[1], 0x00, 0x00};
            (void) send_all(fd, unsuback, sizeof unsuback);
        }
        else if (t == 0xC0)
        {
            static const uint8_t pingresp[] = {0xD0, 0x00};
            (void) send_all(fd, pingresp, sizeof pingresp);
        }
        else if (t == 0xE0)
            return;
    }
}

static void *broker_main(void *arg)
{
    fake_broker *fb = arg;
    uint8_t buf[4096];
    size_t len;

    /* Session 1, accepted (the service starts connected), then dropped. */
    int fd = accept_within(fb, 20000);
    if (fd < 0)
        return NULL;
    int ok = accept_session(fb, fd, buf, sizeof buf) == 0;
    while (ok && !atomic_load(&fb->drop) && !atomic_load(&fb->stop))
        it_sleep_ms(20);
    close(fd);
    if (!ok)
        return NULL;

    /* For REFUSE_MS, every session is refused: CONNACK 0x87, then the broker closes. */
    atomic_store(&fb->refusing, 1);
    int64_t end = it_now_ms() + REFUSE_MS;
    while (!atomic_load(&fb->stop) && it_now_ms() < end)
    {
        fd = accept_within(fb, (int) (end - it_now_ms()));
        if (fd < 0)
            break;
        if (it_mqtt_read_packet(fd, buf, sizeof buf, &len, 5000) == 0x10)
        {
            static const uint8_t refused[] = {0x20, 0x03, 0x00, 0x87, 0x00};
            (void) send_all(fd, refused, sizeof refused);
            atomic_fetch_add(&fb->refused, 1);
        }
        close(fd);
    }
    atomic_store(&fb->refusing, 0);
    atomic_store(&fb->refuse_end, 1);

    /* Then sessions are accepted again. */
    while (!atomic_load(&fb->stop))
    {
        fd = accept_within(fb, 500);
        if (fd < 0)
            continue;
        if (accept_session(fb, fd, buf, sizeof buf) == 0)
            serve_session(fb, fd, buf, sizeof buf);
        close(fd);
    }
    return NULL;
}

static int wait_flag(atomic_int *flag, int want, int timeout_ms)
{
    int64_t end = it_now_ms() + timeout_ms;
    while (atomic_load(flag) < want && it_now_ms() < end)
        it_sleep_ms(20);
    return atomic_load(flag) >= want;
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

    char dir[] = "/tmp/detect-refused-XXXXXX";
    if (mkdtemp(dir) == NULL)
        return 1;
    char db[128];
    snprintf(db, sizeof db, "%s/refused.db", dir);
    it_service s;
    if (it_service_start(&s, argv[1], &b, db, NULL) != 0)
    {
        fprintf(stderr, "service did not start and connect\n");
        atomic_store(&fb.stop, 1);
        pthread_join(broker, NULL);
        return 1;
    }

    atomic_store(&fb.drop, 1);
    /* Refused at about 1, 3 and 7 s after the drop with the back-off (1, 2, 4 s ...);
     * once a second (7 or 8 times) without it. */
    CHECK(wait_flag(&fb.refuse_end, 1, REFUSE_MS + 5000), "the refusal window ended");
    int refused = atomic_load(&fb.refused);
    CHECK(refused >= 2 && refused <= 4,
          "%d sessions refused in %d ms: the service backs off exponentially (2..4 expected)",
          refused, REFUSE_MS);

    /* The next attempt (8 s after the previous one at most) is accepted. */
    CHECK(wait_flag(&fb.sessions, 2, 20000), "connected again once the broker accepts");
    char *body = NULL;
    int64_t end = it_now_ms() + 2000;
    int connected = 0;
    while (!connected && it_now_ms() < end)
    {
        free(body);
        body = NULL;
        connected = it_http(s.http_port, "GET", "/service/health", NULL, &body) == 200 &&
                    body != NULL && strstr(body, "\"mqttConnected\":true") != NULL;
        if (!connected)
            it_sleep_ms(50);
    }
    CHECK(connected, "health: connected again: %s", body ? body : "(none)");
    free(body);

    CHECK(it_service_stop(&s, SIGTERM, 10000) == 0, "clean exit");
    atomic_store(&fb.stop, 1);
    pthread_join(broker, NULL);
    close(fb.listen_fd);

    /* the log says why: the broker refused, with the reason */
    CHECK(it_log_contains(s.log, "broker refused connection: Not authorized"),
          "the refusal and its reason are logged (%s)", s.log);

    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (it_failures == 0 && system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    if (it_failures == 0)
        printf("service back-off after refused sessions: ok (%d refused)\n", refused);
    return it_failures ? 1 : 0;
}
