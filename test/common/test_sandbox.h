/**
 * @file test_sandbox.h
 * @brief What the integration tests make for themselves: a private network namespace (so
 * the host's sockets are known exactly, and fixed ports such as 1883 are free), and a
 * throw-away certificate authority with server and client certificates for TLS tests.
 */
#ifndef TEST_SANDBOX_H
#define TEST_SANDBOX_H

#include <stdbool.h>

/**
 * @brief Moves the calling process into a new network namespace with loopback up (a
 * user namespace too when not privileged). Call before any thread exists.
 * @return true when the process is isolated.
 */
bool TestSandbox_IsolateNetwork(void);

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

struct TestBrokerOptions;

/**
 * @brief Broker options for the certificates made in `pDir`: the server's certificate and
 * key, client certificates required (checked against `ca.pem`), and a plain listener too.
 */
void TestSandbox_TlsBrokerOptions(const char *pDir, struct TestBrokerOptions *pOptions);

#endif /* TEST_SANDBOX_H */
