#include "mqtt.h"

#include "log.h"

#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

struct detect_mqtt
{
    struct mosquitto *mosq;
    detect_service *svc;
    char topics[2][320];
    atomic_int connected;
    /* a CONNACK accepted the connection since the last reconnect attempt: the back-off
     * starts again from 1 s (a broker that takes the TCP connection and then refuses the
     * session, or drops it, does not reset it) */
    atomic_int session_accepted;
    /* on_disconnect ran since the last connection attempt (libmosquitto does not call it
     * when a TLS handshake fails in the network loop: that failure is logged here) */
    atomic_int disconnect_reported;
    /* the first connection's settings: the network thread makes it (connect() to a host that
     * drops the SYNs blocks for minutes, and the main thread must stay free for signals) */
    int port;
    mosquitto_property *connect_props;
    atomic_int quiescing;
    atomic_uint_fast64_t sent;
    atomic_uint_fast64_t acked;
    /* libmosquitto walks its outgoing list on every PUBACK: keep that list short */
    pthread_mutex_t flow_lock;
    pthread_cond_t flow_cond;
    atomic_int flow_waiting;
    /* network thread of our own (not mosquitto_loop_start): see net_main */
    pthread_t net;
    int net_started;
    atomic_int net_stop;
    int wake_fd; /* eventfd: a reply is waiting for the socket to take it */
    /* wake_fd was signalled and the network thread has not written since */
    atomic_int wake_pending;
    unsigned long events; /* packets delivered to callbacks (network thread only) */
};

#define MAX_OUTSTANDING 1024u
#define READS_PER_POLL  64

/* libmosquitto's own errors and warnings: the reasons behind a failed connection that its
 * return codes do not carry (OpenSSL's "certificate verify failed", for one). Set only while
 * not connected: with a log callback, libmosquitto formats a message (malloc, vsnprintf)
 * for every packet sent or received, about 3 us per report at full rate. */
static void on_log(struct mosquitto *mosq, void *obj, int level, const char *str)
{
    (void) mosq;
    (void) obj;
    if ((level & (MOSQ_LOG_ERR | MOSQ_LOG_WARNING)) != 0 && str != NULL)
        log_msg(LOG_WARN, "libmosquitto: %s", str);
}

static void on_connect(struct mosquitto *mosq, void *obj, int rc, int flags,
                       const mosquitto_property *props)
{
    (void) flags;
    (void) props;
    detect_mqtt *m = obj;
    if (rc != 0)
    {
        log_msg(LOG_WARN, "broker refused connection: %s", mosquitto_reason_string(rc));
        return;
    }
    atomic_store(&m->connected, 1);
    atomic_store(&m->session_accepted, 1);
    mosquitto_log_callback_set(mosq, NULL);
    for (int i = 0; i < 2; i++)
    {
        int src = mosquitto_subscribe_v5(mosq, NULL, m->topics[i], 1, 0, NULL);
        if (src != MOSQ_ERR_SUCCESS)
            log_msg(LOG_ERROR, "subscribe %s failed: %s", m->topics[i], mosquitto_strerror(src));
    }
    log_msg(LOG_INFO, "connected to broker; subscribed to %s and %s", m->topics[0], m->topics[1]);
}

static void on_subscribe(struct mosquitto *mosq, void *obj, int mid, int qos_count,
                         const int *granted, const mosquitto_property *props)
{
    (void) mosq;
    (void) obj;
    (void) mid;
    (void) props;
    for (int i = 0; i < qos_count; i++)
        if (granted[i] > 2)
            log_msg(LOG_ERROR, "broker refused a subscription (reason %d)", granted[i]);
}

static void on_disconnect(struct mosquitto *mosq, void *obj, int rc, const mosquitto_property *p)
{
    (void) p;
    detect_mqtt *m = obj;
    atomic_store(&m->connected, 0);
    atomic_store(&m->disconnect_reported, 1);
    mosquitto_log_callback_set(mosq, on_log);
    if (rc != 0)
        log_msg(LOG_WARN, "disconnected from broker (%s); reconnecting", mosquitto_strerror(rc));
}

static void on_publish(struct mosquitto *mosq, void *obj, int mid, int reason,
                       const mosquitto_property *props)
{
    (void) mosq;
    (void) mid;
    (void) reason;
    (void) props;
    detect_mqtt *m = obj;
    m->events++;
    atomic_fetch_add(&m->acked, 1);
    if (atomic_load(&m->flow_waiting))
    {
        pthread_mutex_lock(&m->flow_lock);
        pthread_cond_signal(&m->flow_cond);
        pthread_mutex_unlock(&m->flow_lock);
    }
}

static void on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *msg,
                       const mosquitto_property *props)
{
    (void) mosq;
    (void) props;
    detect_mqtt *m = obj;
    m->events++;
    if (msg->topic == NULL || msg->payloadlen < 0)
        return;
    if (atomic_load(&m->quiescing))
        return; /* shutting down with a persistent session: not answered (device sees NoAck) */
    service_enqueue(m->svc, msg->topic, msg->payload, (size_t) msg->payloadlen);
}

static void wake(detect_mqtt *m)
{
    uint64_t one = 1;
    if (write(m->wake_fd, &one, sizeof one) < 0)
    {
        /* the counter is saturated: the network thread is awake anyway */
    }
}

/* Writes everything libmosquitto has queued. libmosquitto writes each packet with a write()
 * of its own, and with TCP_NODELAY each would leave as a segment of its own (on loopback the
 * receiver's processing then also runs once per packet); corked, the packets of one call
 * leave together when the cork is removed. */
static int write_queued(detect_mqtt *m, int sock)
{
    int on = 1, off = 0;
    atomic_store(&m->wake_pending, 0);
    if (!mosquitto_want_write(m->mosq))
        return MOSQ_ERR_SUCCESS;
    int corked = setsockopt(sock, IPPROTO_TCP, TCP_CORK, &on, sizeof on) == 0;
    int rc = mosquitto_loop_write(m->mosq, 1);
    if (corked && mosquitto_socket(m->mosq) == sock)
        (void) setsockopt(sock, IPPROTO_TCP, TCP_CORK, &off, sizeof off);
    return rc;
}

static int do_publish(void *ctx, const char *topic, const void *payload, size_t len)
{
    detect_mqtt *m = ctx;
    if (atomic_load(&m->sent) - atomic_load(&m->acked) >= MAX_OUTSTANDING &&
        atomic_load(&m->connected))
    {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        pthread_mutex_lock(&m->flow_lock);
        atomic_store(&m->flow_waiting, 1);
        /* resume at half the window so that one wake-up covers many acknowledgements */
        while (atomic_load(&m->sent) - atomic_load(&m->acked) >= MAX_OUTSTANDING / 2 &&
               atomic_load(&m->connected))
            if (pthread_cond_timedwait(&m->flow_cond, &m->flow_lock, &ts) != 0)
                break;
        atomic_store(&m->flow_waiting, 0);
        pthread_mutex_unlock(&m->flow_lock);
    }
    atomic_fetch_add(&m->sent, 1);
    int rc = mosquitto_publish_v5(m->mosq, NULL, topic, (int) len, payload, 1, false, NULL);
    if (rc != MOSQ_ERR_SUCCESS)
    {
        atomic_fetch_add(&m->acked, 1);
        log_msg(LOG_WARN, "publish to %s failed: %s", topic, mosquitto_strerror(rc));
        return -1;
    }
    /* queued: wake the network thread, which writes it (see net_main); one wake-up serves
     * every reply queued before the network thread's next write */
    if (atomic_exchange(&m->wake_pending, 1) == 0)
        wake(m);
    return 0;
}

/* The network thread. Instead of libmosquitto's own loop thread (mosquitto_loop_start),
 * which selects once per packet and is woken through a socket pair, this thread polls the
 * socket and an eventfd that do_publish signals, reads every packet that is there, and
 * writes everything queued (replies, and the PUBACKs queued while reading) in one go. The
 * client is in libmosquitto's threaded mode (mosquitto_threaded_set), as its documentation
 * requires when the application runs its own threads around it: only this thread touches
 * the socket. */
static void *net_main(void *arg)
{
    detect_mqtt *m = arg;
    int backoff = 1;
    const char *host = m->svc->cfg.broker_host;
    int rc0 = mosquitto_connect_bind_v5(m->mosq, host, m->port, 30, NULL, m->connect_props);
    mosquitto_property_free_all(&m->connect_props);
    if (rc0 != MOSQ_ERR_SUCCESS)
        log_msg(LOG_WARN, "cannot connect to %s:%d (%s); will keep retrying", host, m->port,
                mosquitto_strerror(rc0));
    while (!atomic_load(&m->net_stop))
    {
        int sock = mosquitto_socket(m->mosq);
        if (sock < 0)
        {
            /* disconnected: reconnect with exponential back-off (1 s .. 30 s), from 1 s
             * again once a connection was accepted by the broker */
            if (atomic_exchange(&m->session_accepted, 0))
                backoff = 1;
            for (int i = 0; i < backoff * 10 && !atomic_load(&m->net_stop); i++)
            {
                struct timespec ts = {0, 100 * 1000000L};
                nanosleep(&ts, NULL);
            }
            if (atomic_load(&m->net_stop))
                break;
            atomic_store(&m->disconnect_reported, 0);
            int rc = mosquitto_reconnect(m->mosq);
            if (rc != MOSQ_ERR_SUCCESS)
                log_msg(LOG_WARN, "reconnect failed: %s", mosquitto_strerror(rc));
            backoff = backoff * 2 > 30 ? 30 : backoff * 2;
            continue;
        }
        struct pollfd p[2] = {{sock, POLLIN, 0}, {m->wake_fd, POLLIN, 0}};
        if (mosquitto_want_write(m->mosq))
            p[0].events |= POLLOUT;
        int n = poll(p, 2, 500);
        if (n < 0 && errno != EINTR)
        {
            log_msg(LOG_ERROR, "poll: %s", strerror(errno));
            break;
        }
        if (n > 0 && (p[1].revents & POLLIN))
        {
            uint64_t v;
            if (read(m->wake_fd, &v, sizeof v) < 0)
            {
                /* nothing to drain */
            }
        }
        int rc = MOSQ_ERR_SUCCESS;
        if (n > 0 && (p[0].revents & (POLLIN | POLLERR | POLLHUP)))
        {
            /* mosquitto_loop_read returns after one packet here (it stops at the first
             * EAGAIN it sees in errno, and its own wake-up socket pair, which nothing reads
             * in this design, keeps failing with EAGAIN): go on while packets arrive whole,
             * so that a burst costs one poll() rather than one per packet. Stop when the
             * socket is gone (a DISCONNECT from the broker closes it with rc SUCCESS). */
            for (int i = 0; i < READS_PER_POLL && rc == MOSQ_ERR_SUCCESS; i++)
            {
                unsigned long before = m->events;
                rc = mosquitto_loop_read(m->mosq, 1);
                if (m->events == before || mosquitto_socket(m->mosq) != sock)
                    break; /* nothing more whole to read, or disconnected */
            }
        }
        /* never cork a closed socket's number: another thread may have reused it */
        if (rc == MOSQ_ERR_SUCCESS && mosquitto_socket(m->mosq) == sock)
            rc = write_queued(m, sock);
        if (rc == MOSQ_ERR_SUCCESS)
            (void) mosquitto_loop_misc(m->mosq);
        /* on an error libmosquitto has closed the socket and, except for a TLS handshake
         * that failed, called on_disconnect, which logs the reason */
        else if (!atomic_exchange(&m->disconnect_reported, 1))
        {
            atomic_store(&m->connected, 0);
            mosquitto_log_callback_set(m->mosq, on_log); /* as on_disconnect does */
            log_msg(LOG_WARN, "connection to broker failed (%s); reconnecting",
                    mosquitto_strerror(rc));
        }
    }
    return NULL;
}

detect_mqtt *mqtt_start(detect_service *svc, char *err, size_t errsz)
{
    const detect_config *c = &svc->cfg;
    detect_mqtt *m = calloc(1, sizeof *m);
    if (m == NULL)
    {
        snprintf(err, errsz, "out of memory");
        return NULL;
    }
    m->svc = svc;
    m->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (m->wake_fd < 0)
    {
        snprintf(err, errsz, "eventfd: %s", strerror(errno));
        free(m);
        return NULL;
    }
    pthread_mutex_init(&m->flow_lock, NULL);
    pthread_cond_init(&m->flow_cond, NULL);
    for (int i = 0; i < 2; i++)
    {
        const char *fmt = i == 0 ? "json" : "cbor";
        if (c->share_group[0])
            snprintf(m->topics[i], sizeof m->topics[i],
                     "$share/%s/$aws/things/+/defender/metrics/%s", c->share_group, fmt);
        else
            snprintf(m->topics[i], sizeof m->topics[i], "$aws/things/+/defender/metrics/%s", fmt);
    }
    char cid[160];
    if (c->client_id[0])
        snprintf(cid, sizeof cid, "%s", c->client_id);
    else
        snprintf(cid, sizeof cid, "defender-detect-%ld", (long) getpid());
    if (c->session_expiry > 0 && !c->client_id[0])
    {
        snprintf(err, errsz, "--session-expiry needs a fixed --client-id");
        close(m->wake_fd);
        free(m);
        return NULL;
    }
    m->mosq = mosquitto_new(cid, c->session_expiry == 0, m);
    if (m->mosq == NULL)
    {
        snprintf(err, errsz, "mosquitto_new failed");
        close(m->wake_fd);
        free(m);
        return NULL;
    }
    /* other threads publish while net_main reads and writes */
    mosquitto_threaded_set(m->mosq, true);
    mosquitto_int_option(m->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
    mosquitto_int_option(m->mosq, MOSQ_OPT_TCP_NODELAY, 1);
    mosquitto_max_inflight_messages_set(m->mosq, 0);
    mosquitto_log_callback_set(m->mosq, on_log);
    mosquitto_connect_v5_callback_set(m->mosq, on_connect);
    mosquitto_subscribe_v5_callback_set(m->mosq, on_subscribe);
    mosquitto_disconnect_v5_callback_set(m->mosq, on_disconnect);
    mosquitto_publish_v5_callback_set(m->mosq, on_publish);
    mosquitto_message_v5_callback_set(m->mosq, on_message);
    mosquitto_reconnect_delay_set(m->mosq, 1, 30, true);
    int tls = c->ca[0] || c->cert[0];
    if (tls)
    {
        int rc = mosquitto_tls_set(m->mosq, c->ca[0] ? c->ca : NULL, NULL,
                                   c->cert[0] ? c->cert : NULL, c->key[0] ? c->key : NULL, NULL);
        if (rc != MOSQ_ERR_SUCCESS)
        {
            snprintf(err, errsz, "TLS setup failed: %s", mosquitto_strerror(rc));
            mosquitto_destroy(m->mosq);
            close(m->wake_fd);
            free(m);
            return NULL;
        }
    }
    if (c->username[0])
        mosquitto_username_pw_set(m->mosq, c->username, c->password[0] ? c->password : NULL);
    svc->publish = do_publish;
    svc->publish_ctx = m;
    int port = c->broker_port ? c->broker_port : (tls ? 8883 : 1883);
    mosquitto_property *props = NULL;
    if (c->session_expiry > 0 &&
        mosquitto_property_add_int32(&props, MQTT_PROP_SESSION_EXPIRY_INTERVAL,
                                     (uint32_t) c->session_expiry) != MOSQ_ERR_SUCCESS)
    {
        snprintf(err, errsz, "cannot set the session expiry");
        mosquitto_destroy(m->mosq);
        close(m->wake_fd);
        free(m);
        return NULL;
    }
    m->port = port;
    m->connect_props = props;
    if (pthread_create(&m->net, NULL, net_main, m) != 0)
    {
        snprintf(err, errsz, "cannot start the network thread");
        mosquitto_property_free_all(&m->connect_props);
        mosquitto_destroy(m->mosq);
        close(m->wake_fd);
        free(m);
        return NULL;
    }
    m->net_started = 1;
    return m;
}

void mqtt_quiesce(detect_mqtt *m)
{
    /* clean session: unsubscribe, and process what is still in flight; persistent session:
     * keep the subscriptions so that the broker queues reports while the service is down */
    if (m->svc->cfg.session_expiry == 0)
    {
        for (int i = 0; i < 2; i++)
            mosquitto_unsubscribe_v5(m->mosq, NULL, m->topics[i], NULL);
        wake(m);
    }
    else
    {
        atomic_store(&m->quiescing, 1);
    }
}

void mqtt_flush(detect_mqtt *m, int timeout_ms)
{
    for (int waited = 0; waited < timeout_ms; waited += 10)
    {
        if (atomic_load(&m->acked) >= atomic_load(&m->sent) || !atomic_load(&m->connected))
            return;
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    log_msg(LOG_WARN, "%llu replies still unacknowledged at shutdown",
            (unsigned long long) (atomic_load(&m->sent) - atomic_load(&m->acked)));
}

int mqtt_connected(detect_mqtt *m)
{
    return atomic_load(&m->connected);
}

int mqtt_stop(detect_mqtt *m)
{
    if (m == NULL)
        return 1;
    atomic_store(&m->net_stop, 1);
    if (m->net_started)
    {
        /* The thread looks at net_stop at least every 0.5 s, except inside a connection
         * attempt: connect() to a broker host that drops the SYNs retries for about two
         * minutes (DNS lookups can take long too). Nothing of such an attempt needs
         * finishing; the process exits without it rather than keep SIGTERM waiting. */
        struct timespec deadline;
#if defined(__GLIBC__) && ((__GLIBC__ > 2) || (__GLIBC_MINOR__ >= 31))
        /* on the monotonic clock: a wall-clock step during shutdown changes nothing */
        clock_gettime(CLOCK_MONOTONIC, &deadline);
        deadline.tv_sec += 3;
        if (pthread_clockjoin_np(m->net, NULL, CLOCK_MONOTONIC, &deadline) != 0)
#else
        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_sec += 3;
        if (pthread_timedjoin_np(m->net, NULL, &deadline) != 0)
#endif
        {
            log_msg(LOG_WARN, "a connection attempt to the broker is still in progress; "
                              "exiting without waiting for it");
            return 0;
        }
    }
    /* the network thread is gone: write the DISCONNECT from here */
    if (mosquitto_disconnect_v5(m->mosq, 0, NULL) == MOSQ_ERR_SUCCESS)
    {
        for (int i = 0; i < 100 && mosquitto_want_write(m->mosq); i++)
        {
            if (mosquitto_loop_write(m->mosq, 1) != MOSQ_ERR_SUCCESS)
                break;
        }
    }
    mosquitto_destroy(m->mosq);
    close(m->wake_fd);
    m->svc->publish = NULL;
    pthread_mutex_destroy(&m->flow_lock);
    pthread_cond_destroy(&m->flow_cond);
    free(m);
    return 1;
}
