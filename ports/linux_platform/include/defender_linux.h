/**
 * @file defender_linux.h
 * @brief The Linux platform of the seed API: how DEFENDER_Start() connects.
 *
 * On Linux, DEFENDER_Start() opens its own MQTT connection (libmosquitto), reads the
 * host's metrics (netlink, /proc fallback) and keeps the last report id in a file.
 * It is configured in code with DEFENDER_LinuxConfigSet(), or, when the code sets
 * nothing, from the environment:
 *
 * | Variable            | Meaning                                                        |
 * |---------------------|----------------------------------------------------------------|
 * | DEFENDER_ENDPOINT   | `host[:port]` (IPv6: `[addr]:port`). Required. Default port:   |
 * |                     | 443 with DEFENDER_ALPN, else 8883 with TLS, else 1883          |
 * | DEFENDER_THING_NAME | Thing name (1..128 bytes, no `/ + #` or controls). Required.   |
 * | DEFENDER_CA_FILE    | CA certificate (PEM): TLS                                      |
 * | DEFENDER_CERT_FILE  | Client certificate (PEM), for mutual TLS                       |
 * | DEFENDER_KEY_FILE   | Client private key (PEM), for mutual TLS                       |
 * | DEFENDER_ALPN       | ALPN protocol (`x-amzn-mqtt-ca` for AWS IoT on port 443)       |
 * | DEFENDER_CLIENT_ID  | MQTT client id (default: the thing name)                       |
 * | DEFENDER_STATE_DIR  | Folder of the last-report-id file (default                     |
 * |                     | `$XDG_STATE_HOME/defender`, else `~/.local/state/defender`,    |
 * |                     | else `/var/lib/defender` when HOME is not set)                 |
 * | DEFENDER_LOG_LEVEL  | `error`, `warn` (default), `info` or `debug`                   |
 */
#ifndef DEFENDER_LINUX_H
#define DEFENDER_LINUX_H

#include "defender.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Connection and platform settings for DEFENDER_Start() on Linux. */
typedef struct DefenderLinuxConfig
{
    const char *pEndpoint;       /**< `host[:port]`. Required. */
    const char *pThingName;      /**< Thing name. Required. */
    const char *pClientId;       /**< MQTT client id; NULL: the thing name. */
    const char *pCaFile;         /**< CA file: enables TLS. */
    const char *pCertFile;       /**< Client certificate (mutual TLS). */
    const char *pKeyFile;        /**< Client key (mutual TLS). */
    const char *pAlpn;           /**< ALPN protocol. */
    const char *pStateDir;       /**< Folder for the last report id; NULL: default. */
    bool includeLoopback;        /**< Count loopback traffic in network_stats. */
    bool procOnly;               /**< Read /proc only (no netlink). */
    uint16_t maxListEntries;     /**< Entries per list, 1..50; 0: 50. */
    DefenderLogLevel_t logLevel; /**< Most detailed level printed (default WARN). */
    uint32_t backoffBaseMs;      /**< First reconnect delay; 0: 1000. */
    uint32_t backoffMaxMs;       /**< Longest reconnect delay; 0: 60000. */
} DefenderLinuxConfig_t;

/**
 * @brief Sets the configuration used by the next DEFENDER_Start() (the strings are
 * copied). Passing NULL returns to the environment.
 * @return eDefenderErrSuccess; eDefenderErrAlreadyStarted while running;
 *         eDefenderErrOther for strings that are too long.
 */
DefenderErr_t DEFENDER_LinuxConfigSet(const DefenderLinuxConfig_t *pxConfig);

/**
 * @brief Parses `host[:port]` or `[v6]:port`.
 * @param[in] pEndpoint Text.
 * @param[out] pHost Host buffer.
 * @param[in] hostSize Its size.
 * @param[out] pPort Port, 0 when none was given.
 * @return true when valid.
 */
bool DefenderLinux_ParseEndpoint(const char *pEndpoint, char *pHost, size_t hostSize,
                                 uint16_t *pPort);

#ifdef __cplusplus
}
#endif

#endif /* DEFENDER_LINUX_H */
