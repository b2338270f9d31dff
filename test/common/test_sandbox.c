/**
 * @file test_sandbox.c
 * @brief Network namespace and throw-away certificates for the integration tests.
 */
#define _GNU_SOURCE
#include "test_sandbox.h"
#include "test_broker.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

/** @brief Writes a text to a /proc file; true on success. */
static bool writeProcFile(const char *pPath, const char *pText)
{
    FILE *pFile = fopen(pPath, "w");
    bool ok = (pFile != NULL) && (fputs(pText, pFile) >= 0);

    if (pFile != NULL)
    {
        ok = (fclose(pFile) == 0) && ok;
    }
    return ok;
}

bool TestSandbox_IsolateNetwork(void)
{
    struct ifreq request;
    char map[64];
    int fd;
    bool ok = (unshare(CLONE_NEWNET) == 0);

    if (!ok && (unshare(CLONE_NEWUSER | CLONE_NEWNET) == 0))
    {
        /* Unprivileged: map ourselves to root of the new user namespace. */
        (void) writeProcFile("/proc/self/setgroups", "deny");
        (void) snprintf(map, sizeof(map), "0 %d 1", (int) getuid());
        ok = writeProcFile("/proc/self/uid_map", map);
        (void) snprintf(map, sizeof(map), "0 %d 1", (int) getgid());
        ok = ok && writeProcFile("/proc/self/gid_map", map);
    }
    if (ok)
    {
        fd = socket(AF_INET, SOCK_DGRAM, 0);
        (void) memset(&request, 0, sizeof(request));
        (void) strcpy(request.ifr_name, "lo");
        ok = (fd >= 0) && (ioctl(fd, SIOCGIFFLAGS, &request) == 0);
        request.ifr_flags |= IFF_UP;
        ok = ok && (ioctl(fd, SIOCSIFFLAGS, &request) == 0);
        if (fd >= 0)
        {
            (void) close(fd);
        }
    }
    return ok;
}

/** @brief Writes a text to a new temporary file; true on success (`pPath` is its template). */
static bool writeTemporaryFile(char *pPath, const char *pText)
{
    size_t length = strlen(pText);
    int file = mkstemp(pPath);
    bool ok = (file >= 0) && (write(file, pText, length) == (ssize_t) length);

    if (file >= 0)
    {
        ok = (close(file) == 0) && ok;
    }
    return ok;
}

int TestSandbox_HangNameLookups(void)
{
    char resolvConf[] = "/tmp/defender-resolv-XXXXXX";
    char hosts[] = "/tmp/defender-hosts-XXXXXX";
    struct sockaddr_in address;
    const char *pFailed = NULL;
    int server = -1;

    if (!writeTemporaryFile(resolvConf, "nameserver 127.0.0.1\noptions timeout:2 attempts:1\n") ||
        !writeTemporaryFile(hosts, "127.0.0.1 localhost\n127.0.0.1 broker.test\n"))
    {
        pFailed = "writing resolv.conf and hosts files";
    }
    else if (unshare(CLONE_NEWNS) != 0)
    {
        pFailed = "unshare(CLONE_NEWNS)";
    }
    else if ((mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) ||
             (mount(resolvConf, "/etc/resolv.conf", NULL, MS_BIND, NULL) != 0) ||
             (mount(hosts, "/etc/hosts", NULL, MS_BIND, NULL) != 0))
    {
        pFailed = "bind-mounting them on /etc/resolv.conf and /etc/hosts";
    }
    else
    {
        (void) memset(&address, 0, sizeof(address));
        address.sin_family = AF_INET;
        address.sin_port = htons(53);
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        server = socket(AF_INET, SOCK_DGRAM, 0);
        if ((server < 0) ||
            (bind(server, (const struct sockaddr *) &address, sizeof(address)) != 0))
        {
            pFailed = "binding a UDP socket to 127.0.0.1:53";
        }
    }
    if (pFailed != NULL)
    {
        perror(pFailed);
        if (server >= 0)
        {
            (void) close(server);
            server = -1;
        }
    }
    (void) unlink(resolvConf);
    (void) unlink(hosts);
    return server;
}

const char *TestSandbox_Path(const char *pDir, const char *pName)
{
    static char paths[8][256];
    static size_t next;
    char *pPath = paths[next++ % 8U];

    (void) snprintf(pPath, sizeof(paths[0]), "%s/%s", pDir, pName);
    return pPath;
}

bool TestSandbox_MakeCertificates(const char *pDir, const char *pClientName)
{
    /* $CN: the client's common name. */
    static const char *const steps[] = {
        "printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > server.ext",
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
        "-keyout ca.key -out ca.pem -days 2 -subj /CN=test-ca",
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
        "-keyout other-ca.key -out other-ca.pem -days 2 -subj /CN=test-other-ca",
        "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
        "-keyout server.key -out server.csr -subj /CN=localhost",
        "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
        "-out server.pem -days 2 -extfile server.ext",
        "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
        "-keyout client.key -out client.csr -subj /CN=$CN",
        "openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
        "-out client.pem -days 2",
        "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
        "-keyout intruder.key -out intruder.csr -subj /CN=$CN",
        "openssl x509 -req -in intruder.csr -CA other-ca.pem -CAkey other-ca.key "
        "-CAcreateserial -out intruder.pem -days 2",
        "chmod 755 . && chmod 644 *.key",
    };
    char line[1024];
    size_t i;

    for (i = 0U; i < (sizeof(steps) / sizeof(steps[0])); i++)
    {
        (void) snprintf(line, sizeof(line), "cd '%s' && CN='%s' && (%s) >/dev/null 2>&1", pDir,
                        pClientName, steps[i]);
        if (system(line) != 0)
        {
            (void) fprintf(stderr, "certificate step failed: %s\n", steps[i]);
            return false;
        }
    }
    return true;
}

bool TestSandbox_StartTls(TestTlsSandbox_t *pSandbox, const char *pClientName, uint16_t port,
                          uint16_t plainPort, bool logToFile)
{
    TestBrokerOptions_t options;

    (void) memset(pSandbox, 0, sizeof(*pSandbox));
    (void) snprintf(pSandbox->dir, sizeof(pSandbox->dir), "/tmp/%s-XXXXXX", pClientName);
    /* The broker may drop root privileges: the folder is world-readable. */
    if (mkdtemp(pSandbox->dir) == NULL)
    {
        (void) fprintf(stderr, "setup: cannot make a folder %s\n", pSandbox->dir);
        pSandbox->dir[0] = '\0';
        return false;
    }
    if (!TestSandbox_MakeCertificates(pSandbox->dir, pClientName))
    {
        (void) fprintf(stderr, "setup: cannot make the test certificates in %s\n", pSandbox->dir);
        (void) TestSandbox_StopTls(pSandbox);
        return false;
    }
    (void) memset(&options, 0, sizeof(options));
    options.pCaFile = TestSandbox_Path(pSandbox->dir, "ca.pem");
    options.pCertFile = TestSandbox_Path(pSandbox->dir, "server.pem");
    options.pKeyFile = TestSandbox_Path(pSandbox->dir, "server.key");
    options.requireCertificate = true;
    options.withPlainListener = true;
    options.port = port;
    options.plainPort = plainPort;
    options.logToFile = logToFile;
    if (!TestBroker_Start(&pSandbox->broker, &options) ||
        !TestPeer_Start(&pSandbox->peer, pSandbox->broker.plainPort, TEST_PEER_ACCEPT))
    {
        (void) fprintf(stderr,
                       "setup: the TLS broker (port %u) or the test peer (plain port %u) did "
                       "not start\n",
                       (unsigned) pSandbox->broker.port, (unsigned) pSandbox->broker.plainPort);
        /* cmocka runs no group teardown after a failed setup: nothing is left running */
        (void) TestSandbox_StopTls(pSandbox);
        return false;
    }
    return true;
}

bool TestSandbox_StopTls(TestTlsSandbox_t *pSandbox)
{
    char command[128];

    TestPeer_Stop(&pSandbox->peer);
    TestBroker_Stop(&pSandbox->broker);
    (void) snprintf(command, sizeof(command), "rm -rf '%s'", pSandbox->dir);
    return (pSandbox->dir[0] != '\0') && (system(command) == 0);
}
