/**
 * @file test_sandbox.h
 * @brief What the integration tests make for themselves: a private network namespace (so
 * the host's sockets are known exactly, and fixed ports such as 1883 are free), and a
 * throw-away certificate authority with server and client certificates for TLS tests.
 */
#ifndef TEST_SANDBOX_H
#define TEST_SANDBOX_H

#include <stdbool.h>
#include <stdint.h>

#include "test_broker.h"
#include "test_peer.h"

/**
 * @brief Moves the calling process into a new network namespace with loopback up (a
 * user namespace too when not privileged). Call before any thread exists.
 * @return true when the process is isolated.
 */
bool TestSandbox_IsolateNetwork(void);

/**
 * @brief Makes every DNS lookup of this process hang until the resolver's timeout (about
 * 2 s): in a private mount namespace, `/etc/resolv.conf` names a server on 127.0.0.1 port
 * 53, where a UDP socket is bound that never answers, and `/etc/hosts` holds only
 * `localhost` and `broker.test`, both 127.0.0.1 (names found there resolve at once). Call
 * after TestSandbox_IsolateNetwork() (which gives the rights this needs) and before any
 * thread exists.
 * @return The silent server's socket (keep it open), or -1 when the sandbox cannot be
 *         made here (the failing step is printed).
 */
int TestSandbox_HangNameLookups(void);

/**
 * @brief Makes, in `pDir` (world-readable), with openssl and EC P-256 keys valid two days:
 * `ca.pem`/`ca.key`; `server.pem`/`server.key` (for 127.0.0.1 and localhost) and
 * `client.pem`/`client.key` (common name `pClientName`) signed by it; and
 * `other-ca.pem` with `intruder.pem`/`intruder.key` (same common name, signed by the other
 * CA) for tests that must be refused.
 * @return true when every file was made (a failing step is printed).
 */
bool TestSandbox_MakeCertificates(const char *pDir, const char *pClientName);

/**
 * @brief The path of a file in a folder, in one of eight rotating static buffers (so a
 * call may take several).
 */
const char *TestSandbox_Path(const char *pDir, const char *pName);

/** @brief A TLS broker on throw-away certificates, with a test peer on its plain listener. */
typedef struct TestTlsSandbox
{
    char dir[64];        /**< The certificates' folder (see TestSandbox_MakeCertificates). */
    TestBroker_t broker; /**< TLS listener `broker.port`, plain listener `broker.plainPort`. */
    TestPeer_t peer;     /**< Answers ACCEPTED, on the plain listener. */
} TestTlsSandbox_t;

/**
 * @brief Makes a folder `/tmp/<pClientName>-XXXXXX` with the certificates, starts a broker
 * on them (server certificate, client certificates required and checked against `ca.pem`,
 * a plain listener too) and a test peer that accepts every report. Prints what failed.
 * @param[out] pSandbox The sandbox.
 * @param[in] pClientName The client certificate's common name.
 * @param[in] port The TLS listener's port, or 0 for a free one.
 * @param[in] plainPort The plain listener's port, or 0 for a free one.
 * @param[in] logToFile The broker logs everything to TestBroker_LogPath() (see
 *            TestBrokerOptions_t).
 * @return true when all of it runs.
 */
bool TestSandbox_StartTls(TestTlsSandbox_t *pSandbox, const char *pClientName, uint16_t port,
                          uint16_t plainPort, bool logToFile);

/**
 * @brief Stops the peer and the broker and removes the folder.
 * @return true when the folder was removed.
 */
bool TestSandbox_StopTls(TestTlsSandbox_t *pSandbox);

#endif /* TEST_SANDBOX_H */
