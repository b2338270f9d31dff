/* The service survives its broker going away: it reports the MQTT connection down, reconnects
 * with back-off when the broker is back, subscribes again (clean session) and answers reports;
 * SIGTERM still ends it cleanly. */
#include "itest.h"

#include <mosquitto.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOPIC "$aws/things/rc/defender/metrics/json"

/* waits until /service/health says the MQTT connection is `up`; 1 when it did */
static int wait_health(int port, int up, int timeout_ms)
{
    int64_t end = it_now_ms() + timeout_ms;
    const char *want = up ? "\"mqttConnected\":true" : "\"mqttConnected\":false";
    while (it_now_ms() < end)
    {
        char *body = NULL;
        int ok = it_http(port, "GET", "/service/health", NULL, &body) == 200 && body &&
                 strstr(body, want) != NULL;
        free(body);
        if (ok)
            return 1;
        it_sleep_ms(50);
    }
    return 0;
}

/* publishes report `id` and expects its ACCEPTED reply */
static void report_accepted(int broker_port, unsigned long long id)
{
    it_peer *sub, *pub;
    if (it_peer_pair(broker_port, TOPIC "/+", &sub, &pub) != 0)
        return;
    char rep[128];
    snprintf(rep, sizeof rep,
             "{\"header\":{\"report_id\":%llu,\"version\":\"1.0\"},\"metrics\":{}}", id);
    it_peer_publish(pub, TOPIC, rep, strlen(rep), 1);
    it_msg m;
    if (it_peer_next(sub, &m, 5000))
    {
        char want[64];
        snprintf(want, sizeof want, "\"reportId\":%llu", id);
        CHECK(strstr(m.topic, "/accepted") != NULL && strstr((char *) m.payload, want) != NULL,
              "report %llu accepted: %s %s", id, m.topic, (char *) m.payload);
        free(m.payload);
    }
    else
    {
        CHECK(0, "no reply to report %llu", id);
    }
    it_peer_close(sub);
    it_peer_close(pub);
}

int main(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    const char *args[] = {"--throttle-seconds", "0", NULL};
    it_broker b;
    it_service s;
    if (it_start(&b, &s, argv[1], argv[2], "rc.db", args) != 0)
        return 1;

    report_accepted(b.port, 1735689600000ull);

    /* the broker goes away: the service notices and keeps serving HTTP */
    it_broker_stop(&b);
    CHECK(wait_health(s.http_port, 0, 5000), "connection reported down");
    it_sleep_ms(1500); /* at least one failed reconnect attempt */

    /* and comes back on the same port: the service reconnects and subscribes again */
    CHECK(it_broker_restart(&b, argv[2]) == 0, "broker restarts");
    CHECK(wait_health(s.http_port, 1, 40000), "reconnected");
    it_sleep_ms(300); /* SUBACK */
    report_accepted(b.port, 1735689600001ull);

    CHECK(it_service_stop(&s, SIGTERM, 10000) == 0, "clean exit after a reconnect");
    it_broker_stop(&b);
    mosquitto_lib_cleanup();
    if (it_failures == 0)
        printf("service reconnect: ok\n");
    return it_failures ? 1 : 0;
}
