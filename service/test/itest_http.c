/* Malformed HTTP requests, bodies and query strings get a clear API error (status and
 * x-amzn-ErrorType), never a crash; the service stays up. */
#include "itest.h"

#include <arpa/inet.h>
#include <mosquitto.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int g_port;

static void expect(const char *method, const char *pq, const char *body, int status,
                   const char *err_type)
{
    char *resp = NULL;
    int st = it_http(g_port, method, pq, body, &resp);
    CHECK(st == status, "%s %.80s: status %d, expected %d (%s)", method, pq, st, status,
          resp ? resp : "");
    if (err_type != NULL)
    {
        char want[128];
        snprintf(want, sizeof want, "#ErrorType=%s", err_type);
        CHECK(resp != NULL && strstr(resp, want) != NULL && strstr(resp, "\"message\":") != NULL,
              "%s %.80s: expected %s, got %s", method, pq, err_type, resp ? resp : "");
    }
    free(resp);
}

static void raw(const char *bytes, size_t n)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t) g_port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *) &a, sizeof a) == 0)
    {
        if (write(fd, bytes, n) < 0)
            CHECK(0, "write");
        shutdown(fd, SHUT_WR);
        char buf[4096];
        while (read(fd, buf, sizeof buf) > 0)
        {
        }
    }
    close(fd);
}

int main(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    it_broker b;
    it_service s;
    if (it_start(&b, &s, argv[1], argv[2], "http.db", NULL) != 0)
        return 1;
    g_port = s.http_port;
    const char *IRE = "InvalidRequestException";
    expect("GET", "/metric-values", NULL, 400, IRE);
    expect("GET", "/metric-values?thingName=a&metricName=aws:all-bytes-in", NULL, 400, IRE);
    expect("GET",
           "/metric-values?thingName=a&metricName=aws:all-bytes-in&startTime=yesterday&endTime=1",
           NULL, 400, IRE);
    expect("GET",
           "/metric-values?thingName=a&metricName=x&startTime=2026-13-01T00:00:00Z&endTime=1", NULL,
           400, IRE);
    expect("GET", "/metric-values?thingName=a&metricName=x&startTime=1e999&endTime=1", NULL, 400,
           IRE);
    expect("GET", "/metric-values?thingName=a&metricName=x&startTime=0&endTime=1&maxResults=0",
           NULL, 400, IRE);
    expect("GET", "/metric-values?thingName=a&metricName=x&startTime=0&endTime=1&maxResults=251",
           NULL, 400, IRE);
    expect("GET", "/metric-values?thingName=a&metricName=x&startTime=0&endTime=1&maxResults=9x",
           NULL, 400, IRE);
    expect("GET", "/metric-values?thingName=a&metricName=x&startTime=0&endTime=1&nextToken=zz",
           NULL, 400, IRE);
    expect("GET", "/metric-values?thingName=a&metricName=x%zz&startTime=0&endTime=1", NULL, 400,
           IRE);
    expect("GET", "/metric-values?thingName=a%00b&metricName=x&startTime=0&endTime=1", NULL, 400,
           IRE);
    expect("GET", "/metric-values?thingName=a&metricName=bad%22name&startTime=0&endTime=1", NULL,
           400, IRE);
    expect(
        "GET",
        "/metric-values?thingName=a&metricName=x&startTime=0&endTime=1&dimensionValueOperator=EQ",
        NULL, 400, IRE);
    char longname[400];
    snprintf(longname, sizeof longname,
             "/metric-values?thingName=%0200d&metricName=x&startTime=0&endTime=1", 0);
    expect("GET", longname, NULL, 400, IRE);
    expect("GET",
           "/metric-values?thingName=nobody&metricName=aws:all-bytes-in&startTime=0&endTime="
           "2000000000",
           NULL, 200, NULL);
    char many[2048] = "/custom-metrics?";
    for (int i = 0; i < 40; i++)
        snprintf(many + strlen(many), sizeof many - strlen(many), "p%d=1&", i);
    expect("GET", many, NULL, 400, IRE);
    expect("GET", "/custom-metrics?maxResults=-1", NULL, 400, IRE);
    expect("GET", "/custom-metrics?nextToken=cm1-zz", NULL, 400, IRE);
    expect("POST", "/custom-metric/m1", "not json", 400, IRE);
    expect("POST", "/custom-metric/m1", "[]", 400, IRE);
    expect("POST", "/custom-metric/m1", "{\"metricType\":\"number\"} trailing", 400, IRE);
    expect("POST", "/custom-metric/m1", "{\"metricType\":\"bogus\",\"clientRequestToken\":\"t\"}",
           400, IRE);
    expect("POST", "/custom-metric/m1", "{\"metricType\":\"number\"}", 400, IRE);
    expect("POST", "/custom-metric/m1",
           "{\"metricType\":\"number\",\"clientRequestToken\":\"t\",\"displayName\":\"\xff\"}", 400,
           IRE);
    expect("POST", "/custom-metric/m1",
           "{\"metricType\":\"number\",\"clientRequestToken\":\"t\",\"tags\":[{\"Value\":1}]}", 400,
           IRE);
    expect("POST", "/custom-metric/aws:m",
           "{\"metricType\":\"number\",\"clientRequestToken\":\"t\"}", 400, IRE);
    expect("POST", "/custom-metric/a%2Fb",
           "{\"metricType\":\"number\",\"clientRequestToken\":\"t\"}", 400, IRE);
    size_t big = 100 * 1024;
    char *huge = malloc(big + 1);
    if (huge != NULL)
    {
        memset(huge, ' ', big);
        huge[0] = '{';
        huge[big - 1] = '}';
        huge[big] = 0;
        expect("POST", "/custom-metric/m1", huge, 413, IRE);
        free(huge);
    }
    char deep[4096];
    size_t o = 0;
    for (int i = 0; i < 1500; i++)
        deep[o++] = '[';
    deep[o] = 0;
    expect("POST", "/custom-metric/m1", deep, 400, IRE);
    expect("POST", "/custom-metric/m1", "{\"metricType\":\"number\",\"clientRequestToken\":\"t1\"}",
           200, NULL);
    expect("POST", "/custom-metric/m1", "{\"metricType\":\"number\",\"clientRequestToken\":\"t1\"}",
           200, NULL); /* idempotent */
    expect("POST", "/custom-metric/m1", "{\"metricType\":\"number\",\"clientRequestToken\":\"t2\"}",
           409, "ResourceAlreadyExistsException");
    expect("PATCH", "/custom-metric/m1", NULL, 400, IRE);
    expect("PATCH", "/custom-metric/m1", "{\"displayName\":5}", 400, IRE);
    expect("PATCH", "/custom-metric/nope", "{\"displayName\":\"x\"}", 404,
           "ResourceNotFoundException");
    expect("GET", "/custom-metric/nope", NULL, 404, "ResourceNotFoundException");
    expect("PUT", "/custom-metric/m1", NULL, 405, IRE);
    expect("DELETE", "/custom-metric/nope", NULL, 200, NULL);
    expect("DELETE", "/custom-metric/m1", NULL, 200, NULL);
    expect("GET", "/no-such-operation", NULL, 404, "UnknownOperationException");
    expect("POST", "/_test/clock?nowMs=1", NULL, 404, "UnknownOperationException"); /* hooks off */
    raw("GARBAGE\r\n\r\n", strlen("GARBAGE\r\n\r\n"));
    raw("GET /metric-values?\x01\x02 HTTP/1.1\r\nHost: x\r\n\r\n",
        strlen("GET /metric-values?\x01\x02 HTTP/1.1\r\nHost: x\r\n\r\n"));
    raw("POST /custom-metric/m2 HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n{",
        strlen("POST /custom-metric/m2 HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n{"));
    raw("POST /custom-metric/m2 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        strlen("POST /custom-metric/m2 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
               "chunked\r\n\r\nzz\r\n"));
    char *longurl = malloc(20000);
    if (longurl != NULL)
    {
        strcpy(longurl, "/metric-values?thingName=");
        memset(longurl + strlen(longurl), 'a', 15000);
        longurl[25 + 15000] = 0;
        char *r = NULL;
        int st = it_http(g_port, "GET", longurl, NULL, &r);
        CHECK(st >= 400 && st < 500, "very long URL: %d", st);
        free(r);
        free(longurl);
    }
    expect("GET", "/service/health", NULL, 200, NULL);
    int rc = it_service_stop(&s, SIGTERM, 10000);
    CHECK(rc == 0, "exit status %d", rc);
    it_broker_stop(&b);
    mosquitto_lib_cleanup();
    if (it_failures == 0)
    {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", b.dir);
        if (system(cmd) != 0)
            fprintf(stderr, "cleanup failed\n");
    }
    else
        fprintf(stderr, "logs kept in %s\n", b.dir);
    printf("http: %d failure(s)\n", it_failures);
    return it_failures ? 1 : 0;
}
