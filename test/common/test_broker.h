/**
 * @file test_broker.h
 * @brief Starts a real Mosquitto broker on a free loopback port for integration tests.
 */
#ifndef TEST_BROKER_H
#define TEST_BROKER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/** @brief Optional TLS settings of the broker. */
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

/** @brief Returns a loopback TCP port that is free right now. */
uint16_t TestBroker_FreePort(void);

#endif /* TEST_BROKER_H */
