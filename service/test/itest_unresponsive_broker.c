/* SIGTERM while the broker's host does not answer at all: the service exits promptly and
 * cleanly. The broker here is a listening socket whose accept queue is full, so the kernel
 * drops the service's SYNs and its connect() retries for about two minutes, as with a broker
 * host that is down behind a firewall. The service used to make its first connection attempt
 * on the main thread, which also handles signals, and to wait for its network thread at
 * shutdown: SIGTERM then waited for the connect() to give up (systemd kills it at 90 s). */
#include "itest.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* a non-blocking connection attempt to 127.0.0.1:port */
static int connect_nonblocking(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t) port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0)
        (void) connect(fd, (struct sockaddr *) &a, sizeof a);
    return fd;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;

    /* A listener that never accepts, its queue (backlog 0: one connection) filled. */
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    socklen_t alen = sizeof a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (listener < 0 || bind(listener, (struct sockaddr *) &a, sizeof a) != 0 ||
        listen(listener, 0) != 0 || getsockname(listener, (struct sockaddr *) &a, &alen) != 0)
    {
        perror("listener");
        return 1;
    }
    int port = ntohs(a.sin_port);
    int fillers[2] = {connect_nonblocking(port), connect_nonblocking(port)};
    it_sleep_ms(200);

    char dir[] = "/tmp/detect-unresponsive-XXXXXX";
    if (mkdtemp(dir) == NULL)
        return 1;
    char db[128], broker[64];
    snprintf(db, sizeof db, "%s/unresponsive.db", dir);
    snprintf(broker, sizeof broker, "127.0.0.1:%d", port);
    it_service s;
    if (it_service_launch(&s, argv[1], broker, db, NULL) != 0)
    {
        CHECK(0, "the service did not start its HTTP API (log %s)", s.log);
        return 1;
    }

    /* The service is inside its connection attempt now. */
    it_sleep_ms(1500);
    char *body = NULL;
    CHECK(it_http(s.http_port, "GET", "/service/health", NULL, &body) == 200 && body != NULL &&
              strstr(body, "\"mqttConnected\":false") != NULL,
          "health: not connected: %s", body ? body : "(none)");
    free(body);

    int64_t start = it_now_ms();
    int rc = it_service_stop(&s, SIGTERM, 15000);
    int64_t took = it_now_ms() - start;
    CHECK(rc == 0, "SIGTERM: exit status %d after %lld ms (log %s)", rc, (long long) took, s.log);
    CHECK(took < 5000, "SIGTERM took %lld ms (under 5 s expected)", (long long) took);
    CHECK(it_log_contains(s.log, "stopped:"), "the shutdown completed (log %s)", s.log);
    /* The premise held: the attempt was still blocked in connect() at shutdown (a connect()
     * that failed at once, e.g. with tcp_abort_on_overflow set, would pass the checks above
     * on the old code too). */
    CHECK(it_log_contains(s.log, "connection attempt to the broker is still in progress"),
          "the service was inside its connection attempt at SIGTERM (log %s)", s.log);

    for (int i = 0; i < 2; i++)
        if (fillers[i] >= 0)
            close(fillers[i]);
    close(listener);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (it_failures == 0 && system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    if (it_failures == 0)
        printf("service SIGTERM with an unresponsive broker: ok (%lld ms)\n", (long long) took);
    return it_failures ? 1 : 0;
}
