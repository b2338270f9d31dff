/**
 * @file test_broker.c
 * @brief Real Mosquitto broker for integration tests.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
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

bool TestBroker_Start(TestBroker_t *pBroker, const TestBrokerOptions_t *pOptions)
{
    char configPath[320];
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
    fprintf(pFile, "log_dest stderr\nlog_type error\nlog_type warning\n");
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
