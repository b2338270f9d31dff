/**
 * @file test_broker.c
 * @brief Real Mosquitto broker for integration tests.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <mosquitto.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test_broker.h"

uint16_t TestBroker_FreePort(void)
{
    struct sockaddr_in address;
    socklen_t length = sizeof(address);
    uint16_t port = 0;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    memset(&address, 0, sizeof(address));
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if ((fd >= 0) && (bind(fd, (struct sockaddr *) &address, sizeof(address)) == 0) &&
        (getsockname(fd, (struct sockaddr *) &address, &length) == 0))
    {
        port = ntohs(address.sin_port);
    }
    if (fd >= 0)
    {
        close(fd);
    }
    return port;
}

/** @brief true when a TCP connection to 127.0.0.1:port succeeds. */
static bool accepting(uint16_t port)
{
    struct sockaddr_in address;
    bool ok = false;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    memset(&address, 0, sizeof(address));
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0)
    {
        ok = (connect(fd, (struct sockaddr *) &address, sizeof(address)) == 0);
        close(fd);
    }
    return ok;
}

/** @brief Finds the mosquitto binary. */
static const char *brokerPath(void)
{
    static const char *const candidates[] = {"/usr/sbin/mosquitto", "/usr/bin/mosquitto",
                                             "/usr/local/sbin/mosquitto"};
    const char *pPath = "mosquitto";
    size_t i;

    for (i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++)
    {
        if (access(candidates[i], X_OK) == 0)
        {
            pPath = candidates[i];
            break;
        }
    }
    return pPath;
}

const char *TestBroker_DynamicSecurityPlugin(void)
{
    static const char *const candidates[] = {
        "/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so",
        "/usr/lib/aarch64-linux-gnu/mosquitto_dynamic_security.so",
        "/usr/lib/mosquitto_dynamic_security.so", "/usr/lib64/mosquitto_dynamic_security.so",
        "/usr/local/lib/mosquitto_dynamic_security.so"};
    size_t i;

    for (i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++)
    {
        if (access(candidates[i], R_OK) == 0)
        {
            return candidates[i];
        }
    }
    return NULL;
}

/**
 * @brief Writes the dynamic-security plugin's file: everything allowed by default; the
 * anonymous clients' group has the test's role and one that lets them send the plugin's
 * commands (Mosquitto refuses $CONTROL topics unless a role allows them).
 */
static bool writeDynamicSecurity(const char *pPath, const char *pAnonymousAcls,
                                 bool subscribeDenied)
{
    FILE *pFile = fopen(pPath, "w");
    bool ok = (pFile != NULL);

    if (ok)
    {
        fprintf(pFile,
                "{\"defaultACLAccess\": {\"publishClientSend\": true, "
                "\"publishClientReceive\": true, \"subscribe\": %s, \"unsubscribe\": true},\n"
                " \"clients\": [],\n"
                " \"groups\": [{\"groupname\": \"anonymous\", \"roles\": [{\"rolename\": "
                "\"anonymous\"}, {\"rolename\": \"control\"}]}],\n"
                " \"roles\": [{\"rolename\": \"anonymous\", \"acls\": %s},\n"
                "  {\"rolename\": \"control\", \"acls\": [\n"
                "   {\"acltype\": \"publishClientSend\", \"topic\": "
                "\"$CONTROL/dynamic-security/#\", \"allow\": true},\n"
                "   {\"acltype\": \"publishClientReceive\", \"topic\": "
                "\"$CONTROL/dynamic-security/#\", \"allow\": true},\n"
                "   {\"acltype\": \"subscribePattern\", \"topic\": "
                "\"$CONTROL/dynamic-security/#\", \"allow\": true}]}],\n"
                " \"anonymousGroup\": \"anonymous\"}\n",
                subscribeDenied ? "false" : "true", pAnonymousAcls);
        ok = (fclose(pFile) == 0);
    }
    return ok;
}

/**
 * @brief Started as root, Mosquitto runs as the user `mosquitto`: that user then owns
 * the broker's folder and files, so that it can write its log and the plugin's file.
 */
static void giveToBrokerUser(const char *pDirectory)
{
    const struct passwd *pUser = (geteuid() == 0) ? getpwnam("mosquitto") : NULL;
    char command[400];

    if (pUser != NULL)
    {
        snprintf(command, sizeof(command), "chown -R %u:%u '%s'", (unsigned) pUser->pw_uid,
                 (unsigned) pUser->pw_gid, pDirectory);
        if (system(command) != 0)
        {
            fprintf(stderr, "test broker: could not give %s to the broker's user\n", pDirectory);
        }
    }
}

bool TestBroker_Start(TestBroker_t *pBroker, const TestBrokerOptions_t *pOptions)
{
    char configPath[320];
    char pluginPath[320];
    FILE *pFile;
    bool ok = false;

    memset(pBroker, 0, sizeof(*pBroker));
    snprintf(pBroker->directory, sizeof(pBroker->directory), "/tmp/defender-broker-XXXXXX");
    if (mkdtemp(pBroker->directory) == NULL)
    {
        return false;
    }
    pBroker->port =
        ((pOptions != NULL) && (pOptions->port != 0U)) ? pOptions->port : TestBroker_FreePort();
    snprintf(configPath, sizeof(configPath), "%s/mosquitto.conf", pBroker->directory);
    pFile = fopen(configPath, "w");
    if (pFile == NULL)
    {
        return false;
    }
    fprintf(pFile, "per_listener_settings false\nallow_anonymous true\npersistence false\n");
    fprintf(pFile, "set_tcp_nodelay true\n");
    if ((pOptions != NULL) && pOptions->logToFile)
    {
        fprintf(pFile, "log_dest file %s\nlog_type all\n", TestBroker_LogPath(pBroker));
    }
    else
    {
        fprintf(pFile, "log_dest stderr\nlog_type error\nlog_type warning\n");
    }
    if ((pOptions != NULL) && (pOptions->pAnonymousAcls != NULL))
    {
        snprintf(pluginPath, sizeof(pluginPath), "%s/dynamic-security.json", pBroker->directory);
        if ((TestBroker_DynamicSecurityPlugin() == NULL) ||
            !writeDynamicSecurity(pluginPath, pOptions->pAnonymousAcls,
                                  pOptions->subscribeDeniedByDefault))
        {
            fprintf(stderr, "test broker: no dynamic-security plugin, or its file failed\n");
            fclose(pFile);
            TestBroker_Stop(pBroker);
            return false;
        }
        fprintf(pFile, "plugin %s\nplugin_opt_config_file %s\n", TestBroker_DynamicSecurityPlugin(),
                pluginPath);
    }
    fprintf(pFile, "listener %u 127.0.0.1\n", (unsigned) pBroker->port);
    if ((pOptions != NULL) && (pOptions->pCertFile != NULL))
    {
        fprintf(pFile, "cafile %s\ncertfile %s\nkeyfile %s\nrequire_certificate %s\n",
                pOptions->pCaFile, pOptions->pCertFile, pOptions->pKeyFile,
                pOptions->requireCertificate ? "true" : "false");
        if (pOptions->withPlainListener)
        {
            pBroker->plainPort =
                (pOptions->plainPort != 0U) ? pOptions->plainPort : TestBroker_FreePort();
            fprintf(pFile, "listener %u 127.0.0.1\n", (unsigned) pBroker->plainPort);
        }
    }
    fclose(pFile);
    if ((pOptions != NULL) && (pOptions->logToFile || (pOptions->pAnonymousAcls != NULL)))
    {
        giveToBrokerUser(pBroker->directory);
    }
    ok = TestBroker_Restart(pBroker);
    if (!ok)
    {
        TestBroker_Stop(pBroker);
    }
    return ok;
}

bool TestBroker_Restart(TestBroker_t *pBroker)
{
    char configPath[320];
    bool ok = false;
    int i;

    snprintf(configPath, sizeof(configPath), "%s/mosquitto.conf", pBroker->directory);
    pBroker->pid = fork();
    if (pBroker->pid == 0)
    {
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0)
        {
            dup2(null, STDOUT_FILENO);
        }
        execl(brokerPath(), "mosquitto", "-c", configPath, (char *) NULL);
        _exit(127);
    }
    for (i = 0; (i < 200) && (pBroker->pid > 0); i++)
    {
        int status;
        if (waitpid(pBroker->pid, &status, WNOHANG) == pBroker->pid)
        {
            pBroker->pid = 0;
            break;
        }
        /* Every listener: mosquitto opens them one after the other, so the first one
         * accepting does not mean the plain one does yet. */
        if (accepting(pBroker->port) &&
            ((pBroker->plainPort == 0U) || accepting(pBroker->plainPort)))
        {
            ok = true;
            break;
        }
        usleep(20000);
    }
    if (!ok)
    {
        fprintf(stderr, "test broker: mosquitto did not start (is it installed?)\n");
    }
    return ok;
}

void TestBroker_Kill(TestBroker_t *pBroker)
{
    int status;
    int i;

    if (pBroker->pid > 0)
    {
        kill(pBroker->pid, SIGTERM);
        for (i = 0; i < 100; i++)
        {
            if (waitpid(pBroker->pid, &status, WNOHANG) == pBroker->pid)
            {
                pBroker->pid = 0;
                break;
            }
            usleep(10000);
        }
        if (pBroker->pid > 0)
        {
            kill(pBroker->pid, SIGKILL);
            waitpid(pBroker->pid, &status, 0);
            pBroker->pid = 0;
        }
    }
}

void TestBroker_Stop(TestBroker_t *pBroker)
{
    char command[300];

    TestBroker_Kill(pBroker);
    if (pBroker->directory[0] != '\0')
    {
        snprintf(command, sizeof(command), "rm -rf '%s'", pBroker->directory);
        if (system(command) != 0)
        {
            fprintf(stderr, "test broker: could not remove %s\n", pBroker->directory);
        }
        pBroker->directory[0] = '\0';
    }
}

/** @brief Milliseconds of the monotonic clock. */
static uint64_t nowMs(void)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t) now.tv_sec * 1000U + (uint64_t) now.tv_nsec / 1000000U;
}

const char *TestBroker_LogPath(const TestBroker_t *pBroker)
{
    static char path[300];

    snprintf(path, sizeof(path), "%s/broker.log", pBroker->directory);
    return path;
}

size_t TestBroker_LogLines(const TestBroker_t *pBroker, const char *pText, char *pBuffer,
                           size_t size)
{
    char line[2048];
    size_t used = 0;
    size_t count = 0;
    FILE *pFile = fopen(TestBroker_LogPath(pBroker), "r");

    if (size > 0U)
    {
        pBuffer[0] = '\0';
    }
    while ((pFile != NULL) && (fgets(line, sizeof(line), pFile) != NULL))
    {
        size_t length = strlen(line);
        if (strstr(line, pText) == NULL)
        {
            continue;
        }
        count++;
        if ((length > 0U) && (line[length - 1U] != '\n') && (length + 1U < sizeof(line)))
        {
            line[length++] = '\n';
            line[length] = '\0';
        }
        if (used + length < size)
        {
            memcpy(&pBuffer[used], line, length + 1U);
            used += length;
        }
    }
    if (pFile != NULL)
    {
        fclose(pFile);
    }
    return count;
}

bool TestBroker_WaitLog(const TestBroker_t *pBroker, const char *pText, uint32_t timeoutMs)
{
    char unused[1];
    uint64_t end = nowMs() + timeoutMs;
    bool found;

    while (!(found = (TestBroker_LogLines(pBroker, pText, unused, sizeof(unused)) > 0U)) &&
           (nowMs() < end))
    {
        usleep(10000);
    }
    return found;
}

/** @brief What the dynamic-security client waits for. */
typedef struct
{
    bool subscribed;
    bool answered;
    bool errors;
} ControlExchange_t;

static void onControlSubscribe(struct mosquitto *pClient, void *pObject, int mid, int count,
                               const int *pGranted)
{
    ControlExchange_t *pExchange = pObject;

    (void) pClient;
    (void) mid;
    pExchange->subscribed = (count == 1) && (pGranted[0] >= 0) && (pGranted[0] <= 2);
}

static void onControlMessage(struct mosquitto *pClient, void *pObject,
                             const struct mosquitto_message *pMessage)
{
    ControlExchange_t *pExchange = pObject;

    (void) pClient;
    pExchange->answered = true;
    pExchange->errors =
        (pMessage->payloadlen <= 0) || (memmem(pMessage->payload, (size_t) pMessage->payloadlen,
                                               "\"error\"", strlen("\"error\"")) != NULL);
    if (pExchange->errors)
    {
        fprintf(stderr, "test broker: dynamic-security answered %.*s\n", pMessage->payloadlen,
                (const char *) pMessage->payload);
    }
}

bool TestBroker_DynamicSecurity(uint16_t port, const char *pCommands, uint32_t timeoutMs)
{
    ControlExchange_t exchange = {false, false, false};
    struct mosquitto *pClient;
    char payload[4096];
    uint64_t end = nowMs() + timeoutMs;
    bool published = false;
    int length = snprintf(payload, sizeof(payload), "{\"commands\": %s}", pCommands);

    mosquitto_lib_init();
    pClient = mosquitto_new(NULL, true, &exchange);
    if ((pClient == NULL) || (length < 0) || ((size_t) length >= sizeof(payload)))
    {
        mosquitto_destroy(pClient);
        return false;
    }
    mosquitto_subscribe_callback_set(pClient, onControlSubscribe);
    mosquitto_message_callback_set(pClient, onControlMessage);
    if ((mosquitto_connect(pClient, "127.0.0.1", port, 10) == MOSQ_ERR_SUCCESS) &&
        (mosquitto_subscribe(pClient, NULL, "$CONTROL/dynamic-security/v1/response", 1) ==
         MOSQ_ERR_SUCCESS))
    {
        do
        {
            if (mosquitto_loop(pClient, 50, 1) != MOSQ_ERR_SUCCESS)
            {
                break;
            }
            if (exchange.subscribed && !published)
            {
                published = (mosquitto_publish(pClient, NULL, "$CONTROL/dynamic-security/v1",
                                               length, payload, 1, false) == MOSQ_ERR_SUCCESS);
            }
        } while (!exchange.answered && (nowMs() < end));
        (void) mosquitto_disconnect(pClient);
        (void) mosquitto_loop(pClient, 50, 1);
    }
    mosquitto_destroy(pClient);
    return exchange.answered && !exchange.errors;
}
