/* Baseline for the defender-detect latency benchmark: a responder that answers every JSON
 * report with ACCEPTED at once — no validation, no storage, no worker thread — through
 * libmosquitto on one thread (mosquitto_loop_forever, replies published from the message
 * callback). run_bench.sh runs the same load against it, so the latency that the broker, the
 * load generator and the machine add on their own can be read next to the service's.
 *
 *   detect_echo_responder --port PORT
 *
 * The report id is taken from the report's `"rid":` or `"report_id":` member (the load
 * generator's reports); a report without one is answered without reportId. */
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    (void) sig;
    g_stop = 1;
}

/* The digits after `key` in a JSON text, or -1 when the key is absent. */
static long long find_id(const char *text, size_t len, const char *key)
{
    size_t klen = strlen(key);
    for (size_t i = 0; i + klen < len; i++)
        if (memcmp(text + i, key, klen) == 0)
        {
            long long v = 0;
            for (i += klen; i < len && text[i] >= '0' && text[i] <= '9'; i++)
                v = v * 10 + (text[i] - '0');
            return v;
        }
    return -1;
}

static void on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *msg,
                       const mosquitto_property *props)
{
    (void) obj;
    (void) props;
    /* $aws/things/NAME/defender/metrics/json */
    if (strncmp(msg->topic, "$aws/things/", 12) != 0 || msg->payloadlen <= 0)
        return;
    const char *name = msg->topic + 12;
    const char *end = strstr(name, "/defender/");
    if (end == NULL)
        return;
    long long id = find_id(msg->payload, (size_t) msg->payloadlen, "\"rid\":");
    if (id < 0)
        id = find_id(msg->payload, (size_t) msg->payloadlen, "\"report_id\":");
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    long long ms = (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    char topic[512], reply[512];
    snprintf(topic, sizeof topic, "%s/accepted", msg->topic);
    int n = id >= 0
                ? snprintf(reply, sizeof reply,
                           "{\"thingName\":\"%.*s\",\"reportId\":%lld,\"status\":\"ACCEPTED\","
                           "\"timestamp\":%lld}",
                           (int) (end - name), name, id, ms)
                : snprintf(reply, sizeof reply,
                           "{\"thingName\":\"%.*s\",\"status\":\"ACCEPTED\",\"timestamp\":%lld}",
                           (int) (end - name), name, ms);
    int rc = mosquitto_publish_v5(mosq, NULL, topic, n, reply, 1, false, NULL);
    if (rc != MOSQ_ERR_SUCCESS)
        fprintf(stderr, "publish failed: %s\n", mosquitto_strerror(rc));
}

int main(int argc, char **argv)
{
    int port = 1883;
    for (int i = 1; i < argc; i++)
    {
        if (strcmp(argv[i], "--port") == 0 && i + 1 < argc)
            port = atoi(argv[++i]);
        else
        {
            fprintf(stderr, "usage: %s --port PORT\n", argv[0]);
            return 2;
        }
    }
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    mosquitto_lib_init();
    struct mosquitto *mosq = mosquitto_new(NULL, true, NULL);
    if (mosq == NULL)
        return 1;
    mosquitto_int_option(mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
    mosquitto_int_option(mosq, MOSQ_OPT_TCP_NODELAY, 1);
    mosquitto_max_inflight_messages_set(mosq, 0);
    mosquitto_message_v5_callback_set(mosq, on_message);
    if (mosquitto_connect(mosq, "127.0.0.1", port, 30) != MOSQ_ERR_SUCCESS ||
        mosquitto_subscribe(mosq, NULL, "$aws/things/+/defender/metrics/json", 1) !=
            MOSQ_ERR_SUCCESS)
    {
        fprintf(stderr, "cannot connect and subscribe to 127.0.0.1:%d\n", port);
        return 1;
    }
    while (!g_stop)
    {
        int rc = mosquitto_loop(mosq, 100, 1);
        if (rc != MOSQ_ERR_SUCCESS && !g_stop)
        {
            fprintf(stderr, "connection lost: %s\n", mosquitto_strerror(rc));
            break;
        }
    }
    mosquitto_disconnect(mosq);
    mosquitto_destroy(mosq);
    mosquitto_lib_cleanup();
    return 0;
}
