#include "itest.h"

#include "dom.h"
#include "sigv4.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

void it_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long) (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
    {
    }
}

int64_t it_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int it_failures;

int it_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t l = sizeof a;
    if (bind(fd, (struct sockaddr *) &a, sizeof a) != 0 ||
        getsockname(fd, (struct sockaddr *) &a, &l) != 0)
    {
        close(fd);
        return -1;
    }
    close(fd);
    return ntohs(a.sin_port);
}

static int wait_port(int port, int timeout_ms)
{
    int64_t end = it_now_ms() + timeout_ms;
    while (it_now_ms() < end)
    {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a;
        memset(&a, 0, sizeof a);
        a.sin_family = AF_INET;
        a.sin_port = htons((uint16_t) port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        int ok = connect(fd, (struct sockaddr *) &a, sizeof a) == 0;
        close(fd);
        if (ok)
            return 0;
        it_sleep_ms(20);
    }
    return -1;
}

static pid_t spawn(const char *const *argv, const char *logpath)
{
    pid_t pid = fork();
    if (pid == 0)
    {
        if (logpath != NULL)
        {
            int fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND, 0644);
            if (fd >= 0)
            {
                dup2(fd, 1);
                dup2(fd, 2);
                close(fd);
            }
        }
        char *av[64];
        size_t i = 0;
        for (; argv[i] != NULL && i < 63; i++)
            av[i] = strdup(argv[i]);
        av[i] = NULL;
        execv(av[0], av);
        _exit(127);
    }
    return pid;
}

int it_broker_start(it_broker *b, const char *exe, const char *extra_conf)
{
    snprintf(b->dir, sizeof b->dir, "/tmp/detect-itest-XXXXXX");
    if (mkdtemp(b->dir) == NULL)
        return -1;
    for (int attempt = 0; attempt < 5; attempt++)
    {
        b->port = it_free_port();
        char conf[300], logp[300];
        snprintf(conf, sizeof conf, "%s/mosquitto.conf", b->dir);
        snprintf(logp, sizeof logp, "%s/mosquitto.log", b->dir);
        FILE *f = fopen(conf, "w");
        if (f == NULL)
            return -1;
        fprintf(f,
                "listener %d 127.0.0.1\nallow_anonymous true\nmax_queued_messages 0\n"
                "max_inflight_messages 0\nmax_queued_bytes 0\nset_tcp_nodelay true\n%s\n",
                b->port, extra_conf ? extra_conf : "");
        fclose(f);
        const char *argv[] = {exe, "-c", conf, NULL};
        b->pid = spawn(argv, logp);
        if (b->pid > 0 && wait_port(b->port, 3000) == 0)
            return 0;
        if (b->pid > 0)
        {
            kill(b->pid, SIGKILL);
            waitpid(b->pid, NULL, 0);
        }
    }
    return -1;
}

int it_broker_restart(it_broker *b, const char *exe)
{
    char conf[300], logp[300];
    snprintf(conf, sizeof conf, "%s/mosquitto.conf", b->dir);
    snprintf(logp, sizeof logp, "%s/mosquitto-restart.log", b->dir);
    const char *argv[] = {exe, "-c", conf, NULL};
    b->pid = spawn(argv, logp);
    return (b->pid > 0 && wait_port(b->port, 5000) == 0) ? 0 : -1;
}

void it_broker_stop(it_broker *b)
{
    if (b->pid > 0)
    {
        kill(b->pid, SIGTERM);
        waitpid(b->pid, NULL, 0);
        b->pid = 0;
    }
}

int it_service_launch(it_service *s, const char *exe, const char *broker, const char *db,
                      const char *const *extra)
{
    const char *argv[64];
    char http[64];
    s->http_port = it_free_port();
    snprintf(http, sizeof http, "127.0.0.1:%d", s->http_port);
    snprintf(s->db, sizeof s->db, "%s", db);
    snprintf(s->log, sizeof s->log, "%s.log", db);
    size_t n = 0;
    argv[n++] = exe;
    argv[n++] = "serve";
    argv[n++] = "--broker";
    argv[n++] = broker;
    argv[n++] = "--db";
    argv[n++] = db;
    argv[n++] = "--http";
    argv[n++] = http;
    for (size_t i = 0; extra != NULL && extra[i] != NULL && n < 62; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    s->pid = spawn(argv, s->log);
    if (s->pid <= 0)
        return -1;
    if (wait_port(s->http_port, 5000) != 0)
    {
        it_service_stop(s, SIGKILL, 1000);
        return -1;
    }
    int64_t end = it_now_ms() + 5000;
    while (it_now_ms() < end)
    {
        char *body = NULL;
        int st = it_http(s->http_port, "GET", "/service/health", NULL, &body);
        free(body);
        if (st == 200)
            return 0;
        it_sleep_ms(20);
    }
    it_service_stop(s, SIGKILL, 1000);
    return -1;
}

int it_service_start(it_service *s, const char *exe, const it_broker *b, const char *db,
                     const char *const *extra)
{
    char broker[64];
    snprintf(broker, sizeof broker, "127.0.0.1:%d", b->port);
    if (it_service_launch(s, exe, broker, db, extra) != 0)
        return -1;
    /* wait until subscribed to the broker */
    int64_t end = it_now_ms() + 5000;
    while (it_now_ms() < end)
    {
        char *body = NULL;
        int st = it_http(s->http_port, "GET", "/service/health", NULL, &body);
        int ok = st == 200 && body && strstr(body, "\"mqttConnected\":true") != NULL;
        free(body);
        if (ok)
        {
            it_sleep_ms(100); /* SUBACK */
            return 0;
        }
        it_sleep_ms(20);
    }
    it_service_stop(s, SIGKILL, 1000);
    return -1;
}

int it_start(it_broker *b, it_service *s, const char *detect_exe, const char *mosquitto_exe,
             const char *db_name, const char *const *argv_extra)
{
    mosquitto_lib_init();
    if (it_broker_start(b, mosquitto_exe, NULL) != 0)
        return -1;
    char db[400];
    snprintf(db, sizeof db, "%s/%s", b->dir, db_name);
    if (it_service_start(s, detect_exe, b, db, argv_extra) != 0)
    {
        it_broker_stop(b);
        return -1;
    }
    return 0;
}

int it_service_stop(it_service *s, int sig, int timeout_ms)
{
    if (s->pid <= 0)
        return -1;
    kill(s->pid, sig);
    int64_t end = it_now_ms() + timeout_ms;
    int status;
    while (it_now_ms() < end)
    {
        pid_t r = waitpid(s->pid, &status, WNOHANG);
        if (r == s->pid)
        {
            s->pid = 0;
            if (WIFEXITED(status))
                return WEXITSTATUS(status);
            return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
        }
        it_sleep_ms(10);
    }
    kill(s->pid, SIGKILL);
    waitpid(s->pid, NULL, 0);
    s->pid = 0;
    return -1;
}

/* ------------------------------------------------------------------------------------------ */

typedef struct node
{
    struct node *next;
    it_msg m;
} node;

struct it_peer
{
    struct mosquitto *mosq;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    node *head, *tail;
    size_t n;
    int subscribed;
    char sub[256];
};

static void p_on_connect(struct mosquitto *mosq, void *obj, int rc, int flags,
                         const mosquitto_property *props)
{
    (void) flags;
    (void) props;
    it_peer *p = obj;
    if (rc == 0 && p->sub[0])
        mosquitto_subscribe_v5(mosq, NULL, p->sub, 1, 0, NULL);
    else if (rc == 0)
    {
        pthread_mutex_lock(&p->lock);
        p->subscribed = 1;
        pthread_cond_broadcast(&p->cond);
        pthread_mutex_unlock(&p->lock);
    }
}

static void p_on_subscribe(struct mosquitto *mosq, void *obj, int mid, int n, const int *g,
                           const mosquitto_property *props)
{
    (void) mosq;
    (void) mid;
    (void) n;
    (void) g;
    (void) props;
    it_peer *p = obj;
    pthread_mutex_lock(&p->lock);
    p->subscribed = 1;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
}

static void p_on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *msg,
                         const mosquitto_property *props)
{
    (void) mosq;
    (void) props;
    it_peer *p = obj;
    node *nd = calloc(1, sizeof *nd);
    if (nd == NULL)
        return;
    snprintf(nd->m.topic, sizeof nd->m.topic, "%s", msg->topic);
    nd->m.len = (size_t) msg->payloadlen;
    nd->m.payload = malloc(nd->m.len + 1);
    if (nd->m.payload == NULL)
    {
        free(nd);
        return;
    }
    memcpy(nd->m.payload, msg->payload, nd->m.len);
    nd->m.payload[nd->m.len] = 0;
    pthread_mutex_lock(&p->lock);
    if (p->tail)
        p->tail->next = nd;
    else
        p->head = nd;
    p->tail = nd;
    p->n++;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
}

it_peer *it_peer_connect(int port, const char *sub)
{
    it_peer *p = calloc(1, sizeof *p);
    if (p == NULL)
        return NULL;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->cond, NULL);
    snprintf(p->sub, sizeof p->sub, "%s", sub ? sub : "");
    p->mosq = mosquitto_new(NULL, true, p);
    if (p->mosq == NULL)
    {
        free(p);
        return NULL;
    }
    mosquitto_int_option(p->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
    mosquitto_max_inflight_messages_set(p->mosq, 0);
    mosquitto_int_option(p->mosq, MOSQ_OPT_TCP_NODELAY, 1);
    mosquitto_connect_v5_callback_set(p->mosq, p_on_connect);
    mosquitto_subscribe_v5_callback_set(p->mosq, p_on_subscribe);
    mosquitto_message_v5_callback_set(p->mosq, p_on_message);
    if (mosquitto_connect_bind_v5(p->mosq, "127.0.0.1", port, 30, NULL, NULL) != 0 ||
        mosquitto_loop_start(p->mosq) != 0)
    {
        mosquitto_destroy(p->mosq);
        free(p);
        return NULL;
    }
    pthread_mutex_lock(&p->lock);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 5;
    while (!p->subscribed)
        if (pthread_cond_timedwait(&p->cond, &p->lock, &ts) != 0)
            break;
    int ok = p->subscribed;
    pthread_mutex_unlock(&p->lock);
    if (!ok)
    {
        it_peer_close(p);
        return NULL;
    }
    return p;
}

int it_peer_publish(it_peer *p, const char *topic, const void *payload, size_t len, int qos)
{
    return mosquitto_publish_v5(p->mosq, NULL, topic, (int) len, payload, qos, false, NULL);
}

int it_peer_next(it_peer *p, it_msg *m, int timeout_ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (long) (timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L)
    {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&p->lock);
    while (p->head == NULL)
        if (pthread_cond_timedwait(&p->cond, &p->lock, &ts) != 0)
            break;
    node *nd = p->head;
    if (nd != NULL)
    {
        p->head = nd->next;
        if (p->head == NULL)
            p->tail = NULL;
        p->n--;
    }
    pthread_mutex_unlock(&p->lock);
    if (nd == NULL)
        return 0;
    *m = nd->m;
    free(nd);
    return 1;
}

size_t it_peer_pending(it_peer *p)
{
    pthread_mutex_lock(&p->lock);
    size_t n = p->n;
    pthread_mutex_unlock(&p->lock);
    return n;
}

void it_peer_close(it_peer *p)
{
    if (p == NULL)
        return;
    mosquitto_disconnect_v5(p->mosq, 0, NULL);
    mosquitto_loop_stop(p->mosq, false);
    mosquitto_destroy(p->mosq);
    node *nd = p->head;
    while (nd)
    {
        node *nx = nd->next;
        free(nd->m.payload);
        free(nd);
        nd = nx;
    }
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->cond);
    free(p);
}

/* ------------------------------------------------------------------------------------------ */

int it_http(int port, const char *method, const char *pq, const char *req_body, char **body)
{
    return it_http_h(port, method, pq, NULL, req_body, body);
}

int it_http_h(int port, const char *method, const char *pq, const char *headers,
              const char *req_body, char **body)
{
    *body = NULL;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t) port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *) &a, sizeof a) != 0)
    {
        close(fd);
        return -1;
    }
    size_t bl = req_body ? strlen(req_body) : 0;
    const char *hd = headers ? headers : "";
    size_t cap = strlen(pq) + strlen(hd) + bl + 256;
    char *req = malloc(cap);
    if (req == NULL)
    {
        close(fd);
        return -1;
    }
    int n = snprintf(req, cap,
                     "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n"
                     "Content-Type: application/json\r\n%sContent-Length: %zu\r\n\r\n%s",
                     method, pq, port, hd, bl, req_body ? req_body : "");
    ssize_t w = write(fd, req, (size_t) n);
    free(req);
    if (w != n)
    {
        close(fd);
        return -1;
    }
    size_t rcap = 65536, rl = 0;
    char *resp = malloc(rcap);
    if (resp == NULL)
    {
        close(fd);
        return -1;
    }
    for (;;)
    {
        if (rl + 1 >= rcap)
        {
            char *nr = realloc(resp, rcap * 2);
            if (nr == NULL)
                break;
            resp = nr;
            rcap *= 2;
        }
        ssize_t r = read(fd, resp + rl, rcap - rl - 1);
        if (r <= 0)
            break;
        rl += (size_t) r;
    }
    close(fd);
    resp[rl] = 0;
    int status = -1;
    if (sscanf(resp, "HTTP/1.%*d %d", &status) != 1)
        status = -1;
    char *b = strstr(resp, "\r\n\r\n");
    if (b != NULL)
    {
        *body = strdup(b + 4);
    }
    /* also keep headers accessible: append them after a NUL-free marker for callers */
    char *et = strstr(resp, "x-amzn-ErrorType: ");
    if (et == NULL)
        et = strstr(resp, "X-Amzn-ErrorType: ");
    if (et != NULL && *body != NULL)
    {
        char type[128];
        if (sscanf(et + 18, "%127[^\r\n]", type) == 1)
        {
            size_t nl = strlen(*body) + strlen(type) + 16;
            char *nb = malloc(nl);
            if (nb != NULL)
            {
                snprintf(nb, nl, "%s\n#ErrorType=%s", *body, type);
                free(*body);
                *body = nb;
            }
        }
    }
    free(resp);
    return status;
}

typedef struct
{
    char host[64];
    const char *amz_date;
} sign_hdrs;

static const char *sign_header(void *ctx, const char *name, size_t index)
{
    sign_hdrs *h = ctx;
    if (index > 0)
        return NULL;
    if (strcmp(name, "host") == 0)
        return h->host;
    if (strcmp(name, "x-amz-date") == 0)
        return h->amz_date;
    return NULL;
}

int it_sigv4_headers(int port, const char *method, const char *pq, const char *req_body,
                     const char *akid, const char *secret, time_t when, char *out, size_t cap)
{
    sign_hdrs h;
    snprintf(h.host, sizeof h.host, "127.0.0.1:%d", port);
    char date[20];
    struct tm tm;
    if (gmtime_r(&when, &tm) == NULL || strftime(date, sizeof date, "%Y%m%dT%H%M%SZ", &tm) == 0)
        return -1;
    h.amz_date = date;
    /* path and query exactly as sent: the service signs the raw form */
    char path[1024], qbuf[1024];
    const char *qm = strchr(pq, '?');
    size_t pl = qm ? (size_t) (qm - pq) : strlen(pq);
    if (pl >= sizeof path || (qm && strlen(qm + 1) >= sizeof qbuf))
        return -1;
    memcpy(path, pq, pl);
    path[pl] = 0;
    sigv4_kv kv[32];
    size_t nq = 0;
    if (qm != NULL && qm[1] != 0)
    {
        strcpy(qbuf, qm + 1);
        for (char *save = NULL, *tok = strtok_r(qbuf, "&", &save); tok != NULL;
             tok = strtok_r(NULL, "&", &save))
        {
            if (nq == sizeof kv / sizeof kv[0])
                return -1;
            char *eq = strchr(tok, '=');
            if (eq != NULL)
                *eq = 0;
            kv[nq].key = tok;
            kv[nq].value = eq ? eq + 1 : "";
            nq++;
        }
    }
    char scope[64], sig[65];
    snprintf(scope, sizeof scope, "%.8s/us-east-1/iot/aws4_request", date);
    const char *body = req_body ? req_body : "";
    if (sigv4_sign(method, path, kv, nq, "host;x-amz-date", sign_header, &h, (const uint8_t *) body,
                   strlen(body), date, scope, secret, sig) != 0)
        return -1;
    int n = snprintf(out, cap,
                     "X-Amz-Date: %s\r\nAuthorization: AWS4-HMAC-SHA256 Credential=%s/%s, "
                     "SignedHeaders=host;x-amz-date, Signature=%s\r\n",
                     date, akid, scope, sig);
    return n > 0 && (size_t) n < cap ? 0 : -1;
}

/* ------------------------------------------------------------------------------------------ */

typedef struct
{
    uint8_t *p;
    size_t len, cap;
} obuf;

static int ob_put(obuf *o, const void *d, size_t n)
{
    if (o->len + n > o->cap)
    {
        size_t nc = (o->cap ? o->cap : 256);
        while (nc < o->len + n)
            nc *= 2;
        uint8_t *np = realloc(o->p, nc);
        if (np == NULL)
            return -1;
        o->p = np;
        o->cap = nc;
    }
    memcpy(o->p + o->len, d, n);
    o->len += n;
    return 0;
}

static int ob_head(obuf *o, uint8_t major, uint64_t v)
{
    uint8_t b[9];
    size_t n;
    if (v < 24)
    {
        b[0] = (uint8_t) ((unsigned) (major << 5) | (unsigned) v);
        n = 1;
    }
    else if (v <= 0xff)
    {
        b[0] = (uint8_t) (major << 5 | 24);
        b[1] = (uint8_t) v;
        n = 2;
    }
    else if (v <= 0xffff)
    {
        b[0] = (uint8_t) (major << 5 | 25);
        b[1] = (uint8_t) (v >> 8);
        b[2] = (uint8_t) v;
        n = 3;
    }
    else if (v <= 0xffffffffu)
    {
        b[0] = (uint8_t) (major << 5 | 26);
        for (int i = 0; i < 4; i++)
            b[1 + i] = (uint8_t) (v >> (24 - 8 * i));
        n = 5;
    }
    else
    {
        b[0] = (uint8_t) (major << 5 | 27);
        for (int i = 0; i < 8; i++)
            b[1 + i] = (uint8_t) (v >> (56 - 8 * i));
        n = 9;
    }
    return ob_put(o, b, n);
}

static int enc(obuf *o, const dnode *n)
{
    int rc = 0;
    switch (n->type)
    {
        case DN_MAP:
        case DN_ARRAY:
            rc = ob_head(o, n->type == DN_MAP ? 5 : 4, n->count);
            for (const dnode *c = n->child; c != NULL && rc == 0; c = c->next)
            {
                if (n->type == DN_MAP)
                    rc = ob_head(o, 3, c->key_len) || ob_put(o, c->key, c->key_len);
                rc = rc || enc(o, c);
            }
            return rc;
        case DN_STRING:
            return ob_head(o, 3, n->len) || ob_put(o, n->str, n->len);
        case DN_INT:
            if (n->big)
                goto flt;
            if (n->neg)
                return ob_head(o, 1, n->mag - 1);
            return ob_head(o, 0, n->mag);
        case DN_FLOAT:
        flt:
        {
            uint64_t bits;
            memcpy(&bits, &n->d, 8);
            uint8_t b[9];
            b[0] = 0xfb;
            for (int i = 0; i < 8; i++)
                b[1 + i] = (uint8_t) (bits >> (56 - 8 * i));
            return ob_put(o, b, 9);
        }
        case DN_BOOL:
        {
            uint8_t b = n->mag ? 0xf5 : 0xf4;
            return ob_put(o, &b, 1);
        }
        default:
        {
            uint8_t b = 0xf6;
            return ob_put(o, &b, 1);
        }
    }
}

int it_json_to_cbor(const char *json, size_t len, uint8_t **out, size_t *out_len)
{
    arena a;
    arena_init(&a, 0);
    dom_error err;
    dnode *root = json_decode(&a, (const uint8_t *) json, len, 0, &err);
    if (root == NULL)
    {
        arena_free(&a);
        return -1;
    }
    obuf o = {NULL, 0, 0};
    int rc = enc(&o, root);
    arena_free(&a);
    if (rc != 0)
    {
        free(o.p);
        return -1;
    }
    *out = o.p;
    *out_len = o.len;
    return 0;
}

char *it_shorten_keys(const char *json)
{
    static const char *const map[][2] = {
        {"header", "hed"},
        {"report_id", "rid"},
        {"version", "v"},
        {"metrics", "met"},
        {"custom_metrics", "cmet"},
        {"listening_tcp_ports", "tp"},
        {"listening_udp_ports", "up"},
        {"ports", "pts"},
        {"port", "pt"},
        {"interface", "if"},
        {"total", "t"},
        {"network_stats", "ns"},
        {"bytes_in", "bi"},
        {"bytes_out", "bo"},
        {"packets_in", "pi"},
        {"packets_out", "po"},
        {"tcp_connections", "tc"},
        {"established_connections", "ec"},
        {"connections", "cs"},
        {"remote_addr", "rad"},
        {"local_port", "lp"},
        {"local_interface", "li"},
    };
    size_t n = strlen(json);
    char *out = malloc(n + 1);
    if (out == NULL)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n;)
    {
        int done = 0;
        if (json[i] == '"')
        {
            for (size_t k = 0; k < sizeof map / sizeof map[0]; k++)
            {
                size_t kl = strlen(map[k][0]);
                if (i + kl + 2 < n && strncmp(json + i + 1, map[k][0], kl) == 0 &&
                    json[i + 1 + kl] == '"' && json[i + 2 + kl] == ':')
                {
                    o += (size_t) sprintf(out + o, "\"%s\"", map[k][1]);
                    i += kl + 2;
                    done = 1;
                    break;
                }
            }
        }
        if (!done)
            out[o++] = json[i++];
    }
    out[o] = 0;
    return out;
}

int it_log_contains(const char *path, const char *needle)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    char line[2048];
    int found = 0;
    while (!found && fgets(line, sizeof line, f) != NULL)
        found = strstr(line, needle) != NULL;
    fclose(f);
    return found;
}

/* Reads n bytes: 0, -1 when nothing came within timeout_ms, -2 on EOF or error. */
static int read_full(int fd, uint8_t *p, size_t n, int timeout_ms)
{
    size_t got = 0;
    while (got < n)
    {
        struct pollfd pf = {fd, POLLIN, 0};
        if (poll(&pf, 1, timeout_ms) <= 0)
            return -1;
        ssize_t r = read(fd, p + got, n - got);
        if (r <= 0)
            return -2;
        got += (size_t) r;
    }
    return 0;
}

int it_mqtt_read_packet(int fd, uint8_t *buf, size_t cap, size_t *len, int timeout_ms)
{
    uint8_t h;
    int r = read_full(fd, &h, 1, timeout_ms);
    if (r != 0)
        return r;
    size_t n = 0, mult = 1;
    for (int i = 0;; i++)
    {
        uint8_t b;
        if (i == 4 || read_full(fd, &b, 1, 5000) != 0)
            return -2;
        n += (size_t) (b & 0x7f) * mult;
        mult *= 128;
        if ((b & 0x80) == 0)
            break;
    }
    if (n > cap || read_full(fd, buf, n, 5000) != 0)
        return -2;
    *len = n;
    return h;
}

int it_peer_pair(int port, const char *filter, it_peer **sub, it_peer **pub)
{
    *sub = it_peer_connect(port, filter);
    *pub = it_peer_connect(port, NULL);
    CHECK(*sub != NULL && *pub != NULL, "MQTT peers connect to port %d", port);
    if (*sub != NULL && *pub != NULL)
        return 0;
    if (*sub != NULL)
        it_peer_close(*sub);
    if (*pub != NULL)
        it_peer_close(*pub);
    *sub = *pub = NULL;
    return -1;
}

int it_big_ports_report(int i, int ports, uint8_t **out, size_t *out_len)
{
    size_t cap = (size_t) ports * 16 + 256;
    char *json = malloc(cap);
    if (json == NULL)
        return -1;
    size_t o = (size_t) snprintf(
        json, cap, "{\"hed\":{\"rid\":%d,\"v\":\"1.0\"},\"met\":{\"tp\":{\"pts\":[", i + 1);
    for (int k = 0; k < ports; k++)
        o += (size_t) snprintf(json + o, cap - o, "%s{\"pt\":%d}", k ? "," : "", 10000 + i + k);
    snprintf(json + o, cap - o, "],\"t\":%d}}}", ports);
    int rc = it_json_to_cbor(json, strlen(json), out, out_len);
    free(json);
    return rc;
}

int it_listen_loopback(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    *port = it_free_port();
    a.sin_port = htons((uint16_t) *port);
    int one = 1;
    (void) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *) &a, sizeof a) != 0 || listen(fd, 4) != 0)
    {
        fprintf(stderr, "cannot listen on 127.0.0.1:%d\n", *port);
        close(fd);
        return -1;
    }
    return fd;
}

int it_finish(it_broker *b, const char *name)
{
    it_broker_stop(b);
    mosquitto_lib_cleanup();
    if (it_failures == 0)
    {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", b->dir);
        if (system(cmd) != 0)
            fprintf(stderr, "cleanup of %s failed\n", b->dir);
    }
    else
        fprintf(stderr, "logs kept in %s\n", b->dir);
    printf("%s: %d failure(s)\n", name, it_failures);
    return it_failures ? 1 : 0;
}
