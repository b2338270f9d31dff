/**
 * @file test_broker.h
 * @brief Starts a real Mosquitto broker on a free loopback port for integration tests.
 */
#ifndef TEST_BROKER_H
#define TEST_BROKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/** @brief Optional settings of the broker: TLS, access control, logging. */
typedef struct TestBrokerOptions
{
    const char *pCaFile;     /**< CA that signed the clients (and the server). */
    const char *pCertFile;   /**< Server certificate. */
    const char *pKeyFile;    /**< Server key. */
    bool requireCertificate; /**< Mutual TLS: refuse clients without a valid certificate. */
    bool withPlainListener;  /**< Also open a plain TCP listener (port plainPort). */
    uint16_t port;           /**< First listener's port; 0: a free one. Only for fixed ports
                                  that cannot be in use (a private network namespace). */
    uint16_t plainPort;      /**< The plain listener's port; 0: a free one. Same caveat. */
    /** Mosquitto's dynamic-security plugin for every listener, when not NULL: the ACL
     * entries (a JSON array, e.g. `[{"acltype": "subscribeLiteral", "topic": "a/b",
     * "allow": false}]`) of the anonymous clients' role; what no entry decides is allowed,
     * but see subscribeDeniedByDefault. Anonymous clients may also send the plugin's
     * commands (TestBroker_DynamicSecurity()). Needs TestBroker_DynamicSecurityPlugin(). */
    const char *pAnonymousAcls;
    /** With pAnonymousAcls: subscriptions no entry allows are refused (SUBACK 0x80, or
     * 0x87 under MQTT 5) until a `setDefaultACLAccess` command allows them. Unlike a
     * change of the role's entries, which disconnects the role's clients, that command
     * leaves every connection up. */
    bool subscribeDeniedByDefault;
    /** Log everything (connections, packets, disconnections) to the file
     * TestBroker_LogPath() instead of errors and warnings to stderr. */
    bool logToFile;
} TestBrokerOptions_t;

/** @brief A running broker. */
typedef struct TestBroker
{
    pid_t pid;           /**< Broker process. */
    uint16_t port;       /**< Its (first) listener. */
    uint16_t plainPort;  /**< Plain TCP listener when TLS and withPlainListener. */
    char directory[256]; /**< Temporary folder with its configuration. */
} TestBroker_t;

/**
 * @brief Starts `mosquitto` (found on PATH or in /usr/sbin) on free loopback port(s)
 * and waits until it accepts connections.
 * @param[out] pBroker The broker.
 * @param[in] pOptions NULL for plain TCP.
 * @return true when it runs.
 */
bool TestBroker_Start(TestBroker_t *pBroker, const TestBrokerOptions_t *pOptions);

/** @brief Stops the broker (SIGTERM, then SIGKILL) and removes its folder. */
void TestBroker_Stop(TestBroker_t *pBroker);

/** @brief Kills the broker process but keeps its configuration (same port). */
void TestBroker_Kill(TestBroker_t *pBroker);

/** @brief Starts the broker again after TestBroker_Kill(), on the same port(s). */
bool TestBroker_Restart(TestBroker_t *pBroker);

/** @brief The dynamic-security plugin Mosquitto can load, or NULL when none is installed. */
const char *TestBroker_DynamicSecurityPlugin(void);

/**
 * @brief Sends commands to the broker's dynamic-security plugin (on `port`, a plain
 * listener) and waits for its answer.
 * @param[in] pCommands The commands, a JSON array (e.g. `[{"command": "removeRoleACL",
 * ...}]`).
 * @return true when the plugin answered every command without an error.
 */
bool TestBroker_DynamicSecurity(uint16_t port, const char *pCommands, uint32_t timeoutMs);

/** @brief The broker's log file (with logToFile). */
const char *TestBroker_LogPath(const TestBroker_t *pBroker);

/**
 * @brief Waits until the broker's log (logToFile) has a line containing `pText`.
 * @return true when it came within timeoutMs.
 */
bool TestBroker_WaitLog(const TestBroker_t *pBroker, const char *pText, uint32_t timeoutMs);

/**
 * @brief Copies the log lines (logToFile) that contain `pText`, each ending with a
 * newline, NUL-terminated (truncated to `size`).
 * @return The number of such lines.
 */
size_t TestBroker_LogLines(const TestBroker_t *pBroker, const char *pText, char *pBuffer,
                           size_t size);

/** @brief Returns a loopback TCP port that is free right now. */
uint16_t TestBroker_FreePort(void);

#endif /* TEST_BROKER_H */
