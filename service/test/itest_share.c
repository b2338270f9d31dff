/* --share-group: two instances on one broker split the reports of a fleet through an
 * MQTT v5 shared subscription; every report is answered exactly once. */
#include "itest.h"

#include <mosquitto.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N 400

static unsigned long long accepted_of(const it_service *s)
{
    char *body = NULL;
    unsigned long long v = 0;
    if (it_http(s->http_port, "GET", "/service/counters", NULL, &body) == 200 && body != NULL)
    {
        const char *p = strstr(body, "\"accepted\":");
        if (p != NULL)
            v = strtoull(p + 11, NULL, 10);
    }
    free(body);
    return v;
}

int main(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    mosquitto_lib_init();
    it_broker b;
    if (it_broker_start(&b, argv[2], NULL) != 0)
        return 1;
    /* Probe: some brokers (Mosquitto 2.0.11 as shipped in Debian 12) never deliver topics
     * that start with '$' to a $share subscription. The service cannot work around that. */
    it_peer *probe = it_peer_connect(b.port, "$share/probe/$aws/things/+/defender/metrics/json");
    it_peer *probe_pub = it_peer_connect(b.port, NULL);
    if (probe == NULL || probe_pub == NULL)
        return 1;
    it_peer_publish(probe_pub, "$aws/things/p/defender/metrics/json", "x", 1, 1);
    it_msg pm;
    int delivered = it_peer_next(probe, &pm, 1000);
    if (delivered)
        free(pm.payload);
    it_peer_close(probe);
    it_peer_close(probe_pub);
    if (!delivered)
    {
        printf("SKIP: this broker does not deliver $aws/... topics to $share subscriptions "
               "(Mosquitto 2.0.11 behaviour); use a broker that does (e.g. a newer Mosquitto, "
               "EMQX, HiveMQ)\n");
        it_broker_stop(&b);
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", b.dir);
        if (system(cmd) != 0)
            fprintf(stderr, "cleanup failed\n");
        return 77;
    }
    char db1[400], db2[400];
    snprintf(db1, sizeof db1, "%s/a.db", b.dir);
    snprintf(db2, sizeof db2, "%s/b.db", b.dir);
    const char *args[] = {"--share-group", "detect", NULL};
    it_service s1, s2;
    s1.pid = s2.pid = 0;
    if (it_service_start(&s1, argv[1], &b, db1, args) != 0 ||
        it_service_start(&s2, argv[1], &b, db2, args) != 0)
    {
        fprintf(stderr, "cannot start services\n");
        it_service_stop(&s1, SIGKILL, 1000);
        it_broker_stop(&b);
        return 1;
    }
    it_peer *sub = it_peer_connect(b.port, "$aws/things/+/defender/metrics/json/+");
    it_peer *pub = it_peer_connect(b.port, NULL);
    if (sub == NULL || pub == NULL)
    {
        it_service_stop(&s1, SIGKILL, 1000);
        it_service_stop(&s2, SIGKILL, 1000);
        it_broker_stop(&b);
        return 1;
    }
    char topic[128], payload[128];
    for (int i = 0; i < N; i++)
    {
        snprintf(topic, sizeof topic, "$aws/things/share-%d/defender/metrics/json", i);
        snprintf(payload, sizeof payload,
                 "{\"header\":{\"report_id\":%d,\"version\":\"1.0\"},\"metrics\":{}}", i + 1);
        it_peer_publish(pub, topic, payload, strlen(payload), 1);
    }
    static int seen[N];
    int replies = 0;
    it_msg m;
    while (it_peer_next(sub, &m, 3000))
    {
        int t = -1;
        if (sscanf(m.topic, "$aws/things/share-%d/", &t) == 1 && t >= 0 && t < N)
        {
            seen[t]++;
            CHECK(strstr(m.topic, "/accepted") != NULL, "rejected: %s", (char *) m.payload);
        }
        replies++;
        free(m.payload);
        if (replies == N)
            break;
    }
    it_sleep_ms(300);
    CHECK(it_peer_pending(sub) == 0, "extra replies");
    for (int i = 0; i < N; i++)
        CHECK(seen[i] == 1, "report of share-%d answered %d times", i, seen[i]);
    unsigned long long a1 = accepted_of(&s1), a2 = accepted_of(&s2);
    printf("instance 1 accepted %llu, instance 2 accepted %llu\n", a1, a2);
    CHECK(a1 + a2 == N && a1 > 0 && a2 > 0, "load split %llu + %llu", a1, a2);
    CHECK(it_service_stop(&s1, SIGTERM, 10000) == 0, "exit 1");
    CHECK(it_service_stop(&s2, SIGTERM, 10000) == 0, "exit 2");
    it_peer_close(sub);
    it_peer_close(pub);
    it_broker_stop(&b);
    mosquitto_lib_cleanup();
    if (it_failures == 0)
    {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", b.dir);
        if (system(cmd) != 0)
            fprintf(stderr, "cleanup failed\n");
    }
    printf("share: %d failure(s)\n", it_failures);
    return it_failures ? 1 : 0;
}
