/* The program's command line and start-up as an operator meets them: --help, --version and
 * usage errors with their exit statuses (0, 2), start-up failures (exit status 1 with a message:
 * a database that cannot be opened or is not one, a busy HTTP port), credentials files it
 * cannot use (2), and a running service that ignores SIGHUP and answers the API while the broker
 * is unreachable. No broker is needed. */
#include "itest.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *g_exe;
static char g_dir[128];

/* Runs the program with args (NULL-terminated), stdout and stderr into out (cap bytes, NUL-
 * terminated). Returns the exit status, or -1 when it did not exit within 10 s. */
static int run(const char *const *args, char *out, size_t cap)
{
    char path[256];
    snprintf(path, sizeof path, "%s/out.txt", g_dir);
    pid_t pid = fork();
    if (pid == 0)
    {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0)
        {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        char *av[32];
        size_t n = 0;
        av[n++] = strdup(g_exe);
        for (size_t i = 0; args[i] != NULL && n < 31; i++)
            av[n++] = strdup(args[i]);
        av[n] = NULL;
        execv(av[0], av);
        _exit(127);
    }
    int status = -1, rc = -1;
    int64_t end = it_now_ms() + 10000;
    while (it_now_ms() < end)
    {
        if (waitpid(pid, &status, WNOHANG) == pid)
        {
            rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            break;
        }
        it_sleep_ms(10);
    }
    if (rc == -1)
    {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    out[0] = '\0';
    FILE *f = fopen(path, "r");
    if (f != NULL)
    {
        size_t n = fread(out, 1, cap - 1, f);
        out[n] = '\0';
        fclose(f);
    }
    return rc;
}

static void expect_run(const char *const *args, int status, const char *part)
{
    char out[8192];
    int rc = run(args, out, sizeof out);
    char cmd[512] = "";
    for (size_t i = 0; args[i] != NULL; i++)
        snprintf(cmd + strlen(cmd), sizeof cmd - strlen(cmd), " %s", args[i]);
    CHECK(rc == status, "defender-detect%s: exit status %d, expected %d: %s", cmd, rc, status, out);
    CHECK(part == NULL || strstr(out, part) != NULL, "defender-detect%s: output lacks '%s': %s",
          cmd, part, out);
}

static void check_command_line(void)
{
    const char *none[] = {NULL};
    expect_run(none, 2, "usage: defender-detect serve [options]");
    const char *other[] = {"run", NULL};
    expect_run(other, 2, "usage: defender-detect serve");
    static const char *const help[][3] = {
        {"--help", NULL}, {"-h", NULL}, {"help", NULL}, {"serve", "--help"}, {"serve", "-h"}};
    for (size_t i = 0; i < sizeof help / sizeof help[0]; i++)
    {
        const char *a[] = {help[i][0], help[i][1], NULL};
        expect_run(a, 0, "Usage: defender-detect serve [options]");
        expect_run(a, 0, "Exit status: 0 stopped by SIGTERM/SIGINT");
    }
    const char *v1[] = {"--version", NULL};
    expect_run(v1, 0, "defender-detect ");
    /* asked for even after an option that would be refused */
    const char *v2[] = {"serve", "--retention-days", "0", "--version", NULL};
    expect_run(v2, 0, "defender-detect ");
    const char *bad[] = {"serve", "--bogus", NULL};
    expect_run(bad, 2, "defender-detect: unknown option 'bogus' (see --help)");
    const char *range[] = {"serve", "--throttle-tolerance", "51", NULL};
    expect_run(range, 2, "invalid value for throttle-tolerance");
    char conf[256], arg[300];
    snprintf(conf, sizeof conf, "%s/bad.conf", g_dir);
    FILE *f = fopen(conf, "w");
    if (f != NULL)
    {
        fprintf(f, "retention-days = 3\nsync = sometimes\n");
        fclose(f);
    }
    snprintf(arg, sizeof arg, "%s:2: --sync takes full or normal", conf);
    const char *cf[] = {"serve", "--config", conf, NULL};
    expect_run(cf, 2, arg);
}

static void check_start_failures(void)
{
    char db[256], http[64], out[8192];
    snprintf(http, sizeof http, "127.0.0.1:%d", it_free_port());
    /* the database's directory does not exist */
    snprintf(db, sizeof db, "%s/missing/detect.db", g_dir);
    const char *a1[] = {"serve", "--broker", "127.0.0.1:1", "--db", db, "--http", http, NULL};
    expect_run(a1, 1, "defender-detect: cannot open");
    /* --db names a file that is not a database: refused, and the file is not touched */
    snprintf(db, sizeof db, "%s/notes.txt", g_dir);
    static const char text[] = "these are notes, not a database; the service must not "
                               "overwrite them\n";
    FILE *f = fopen(db, "w");
    if (f != NULL)
    {
        fputs(text, f);
        fclose(f);
    }
    expect_run(a1, 1, "file is not a database");
    f = fopen(db, "r");
    size_t n = f != NULL ? fread(out, 1, sizeof out, f) : 0;
    if (f != NULL)
        fclose(f);
    CHECK(n == sizeof text - 1 && memcmp(out, text, n) == 0, "the file given as --db changed");
    /* the HTTP port is taken */
    int port = 0;
    int fd = it_listen_loopback(&port);
    CHECK(fd >= 0, "listen");
    snprintf(db, sizeof db, "%s/busy.db", g_dir);
    char busy[64], want[300];
    snprintf(busy, sizeof busy, "127.0.0.1:%d", port);
    snprintf(want, sizeof want, "defender-detect: cannot listen on 127.0.0.1:%d", port);
    const char *a2[] = {"serve", "--broker", "127.0.0.1:1", "--db", db, "--http", busy, NULL};
    expect_run(a2, 1, want);
    if (fd >= 0)
        close(fd);
}

/* Writes `text` as the credentials file and expects serve to refuse it as a configuration
 * error (status 2, before any database is made) with `message` after the file's name. */
static void expect_credentials_refused(const char *text, const char *message)
{
    char creds[256], db[256], want[400];
    snprintf(creds, sizeof creds, "%s/credentials", g_dir);
    snprintf(db, sizeof db, "%s/creds.db", g_dir);
    FILE *f = fopen(creds, "w");
    CHECK(f != NULL, "credentials file");
    if (f == NULL)
        return;
    fputs(text, f);
    fclose(f);
    const char *a[] = {"serve", "--broker",      "127.0.0.1:1", "--db",
                       db,      "--credentials", creds,         NULL};
    snprintf(want, sizeof want, "%s%s", creds, message);
    expect_run(a, 2, want);
    CHECK(access(db, F_OK) != 0, "a database was made before the credentials were refused");
}

/* The credentials file is read with the configuration: one it cannot use is refused with
 * the line at fault, and systemd does not restart the service for it (status 2). */
static void check_credentials_file(void)
{
    expect_credentials_refused("# ACCESS_KEY_ID SECRET\n\n", " (lines 'ACCESS_KEY_ID SECRET')");
    expect_credentials_refused("# keys\n\nONLY_ONE_FIELD\n",
                               " line 3: expected 'ACCESS_KEY_ID SECRET'");
    expect_credentials_refused("AKID SECRET\nAKID2 SECRET2 SURPLUS\n",
                               " line 2: expected 'ACCESS_KEY_ID SECRET'");
    char text[400];
    memset(text, 'S', sizeof text);
    memcpy(text, "AKID ", 5);
    memcpy(&text[5 + 300], "\n", 2);
    expect_credentials_refused(text, " line 1: access key id over 199 or secret over 299");
    snprintf(text, sizeof text, "%s/nothing-here", g_dir);
    const char *a[] = {"serve", "--broker", "127.0.0.1:1", "--credentials", text, NULL};
    expect_run(a, 2, "cannot read credentials file");
}

/* Started with an unreachable broker: the API answers (mqttConnected false), SIGHUP is logged
 * and ignored, SIGTERM stops it with status 0. */
static void check_running_without_broker(void)
{
    it_broker nob;
    memset(&nob, 0, sizeof nob);
    nob.port = it_free_port(); /* nothing listens there */
    char db[256];
    snprintf(db, sizeof db, "%s/run.db", g_dir);
    it_service s;
    memset(&s, 0, sizeof s);
    /* it_service_start waits for the MQTT connection: start by hand */
    s.http_port = it_free_port();
    snprintf(s.db, sizeof s.db, "%s", db);
    snprintf(s.log, sizeof s.log, "%s.log", db);
    char broker[64], http[64];
    snprintf(broker, sizeof broker, "127.0.0.1:%d", nob.port);
    snprintf(http, sizeof http, "127.0.0.1:%d", s.http_port);
    s.pid = fork();
    if (s.pid == 0)
    {
        int fd = open(s.log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0)
        {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        execl(g_exe, g_exe, "serve", "--broker", broker, "--db", db, "--http", http, (char *) NULL);
        _exit(127);
    }
    char *body = NULL;
    int st = -1;
    for (int i = 0; i < 250 && st != 200; i++)
    {
        free(body);
        body = NULL;
        it_sleep_ms(20);
        st = it_http(s.http_port, "GET", "/service/health", NULL, &body);
    }
    CHECK(st == 200 && body != NULL && strstr(body, "\"mqttConnected\":false") != NULL,
          "health without a broker: %d %s", st, body ? body : "");
    free(body);
    body = NULL;
    /* health answers from the first moment; the rest of the API once Rules Detect is
     * attached (503 ServiceUnavailableException until then, which clients retry) */
    st = 503;
    for (int i = 0; i < 250 && st == 503; i++)
    {
        free(body);
        body = NULL;
        st = it_http(s.http_port, "GET", "/custom-metrics", NULL, &body);
        if (st == 503)
            it_sleep_ms(20);
    }
    CHECK(st == 200 && body != NULL && strstr(body, "\"metricNames\":[]") != NULL,
          "the API answers without a broker: %d %s", st, body ? body : "");
    free(body);
    kill(s.pid, SIGHUP);
    it_sleep_ms(200);
    CHECK(waitpid(s.pid, NULL, WNOHANG) == 0, "SIGHUP stopped the service");
    CHECK(it_log_contains(s.log, "SIGHUP ignored"), "SIGHUP not logged");
    body = NULL;
    st = it_http(s.http_port, "GET", "/service/health", NULL, &body);
    CHECK(st == 200, "health after SIGHUP: %d", st);
    free(body);
    int rc = it_service_stop(&s, SIGTERM, 10000);
    CHECK(rc == 0, "exit status %d after SIGTERM", rc);
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    g_exe = argv[1];
    snprintf(g_dir, sizeof g_dir, "/tmp/detect-startup-XXXXXX");
    if (mkdtemp(g_dir) == NULL)
        return 1;
    int64_t t0 = it_now_ms();
    check_command_line();
    check_start_failures();
    check_credentials_file();
    check_running_without_broker();
    printf("startup: %lld ms\n", (long long) (it_now_ms() - t0));
    if (it_failures == 0)
    {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
        if (system(cmd) != 0)
            fprintf(stderr, "cleanup failed\n");
    }
    else
        fprintf(stderr, "files kept in %s\n", g_dir);
    printf("startup: %d failure(s)\n", it_failures);
    return it_failures ? 1 : 0;
}
