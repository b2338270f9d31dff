/**
 * @file agent.h
 * @brief defender-agent: declarations shared by its source files (options and
 * configuration file, log, custom-metric command runner).
 *
 * The agent is a Linux program built on the library's public API: the core context,
 * the task runner, the POSIX, mosquitto and Linux metrics ports.
 */
#ifndef DEFENDER_AGENT_H
#define DEFENDER_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "defender_core.h"

/** @brief Longest file path kept (with terminator). */
#define AGENT_PATH_SIZE 1024U

/** @brief Longest host name, client id or ALPN protocol kept (with terminator). */
#define AGENT_TEXT_SIZE 256U

/** @brief Longest custom-metric command (with terminator). */
#define AGENT_COMMAND_SIZE 1024U

/** @brief Most bytes read from a custom-metric command; more is an error. */
#define AGENT_COMMAND_OUTPUT_MAX 4096U

/** @brief Most entries of a list-type custom metric (a 4096-byte output holds no more). */
#define AGENT_COMMAND_MAX_ENTRIES (AGENT_COMMAND_OUTPUT_MAX / 2U)

/** @brief Default custom-metric command timeout in ms. */
#define AGENT_COMMAND_DEFAULT_TIMEOUT_MS 5000U

/** @brief Longest custom-metric name (AWS: 128). */
#define AGENT_CUSTOM_NAME_MAX 128U

/** @brief Exit codes of the program. */
typedef enum
{
    AGENT_EXIT_OK = 0,       /**< Stopped cleanly; --once: report accepted. */
    AGENT_EXIT_USAGE = 1,    /**< Usage or configuration error. */
    AGENT_EXIT_REJECTED = 2, /**< --once: report rejected. */
    AGENT_EXIT_NO_ACK = 3,   /**< --once: no acknowledgement. */
    AGENT_EXIT_NOT_SENT = 4  /**< --once: report not sent. */
} AgentExit_t;

/** @brief Run modes. */
typedef enum
{
    AGENT_MODE_SERVICE = 0, /**< Report every period until stopped. */
    AGENT_MODE_ONCE,        /**< One report, then exit with its outcome. */
    AGENT_MODE_DRY_RUN      /**< Print reports; connect nowhere. */
} AgentMode_t;

/** @brief One `--custom NAME:TYPE:COMMAND`. */
typedef struct AgentCustomOption
{
    char name[AGENT_CUSTOM_NAME_MAX + 1U]; /**< Metric name. */
    DefenderCustomMetricType_t type;       /**< Metric type. */
    char command[AGENT_COMMAND_SIZE];      /**< Shell command printing the value. */
} AgentCustomOption_t;

/** @brief The agent's whole configuration (file, then command line). */
typedef struct AgentConfig
{
    AgentMode_t mode;                                       /**< Run mode. */
    char host[AGENT_TEXT_SIZE];                             /**< Broker host (no brackets). */
    uint16_t port;                                          /**< Broker port, 0: default. */
    bool haveEndpoint;                                      /**< --endpoint given. */
    char thing[DEFENDER_CONFIG_MAX_THING_NAME_LENGTH + 1U]; /**< Thing name. */
    size_t thingLength;                                     /**< Its length. */
    char clientId[AGENT_TEXT_SIZE];                         /**< MQTT client id, "" = thing. */
    uint32_t periodSeconds;                                 /**< Report period. */
    uint32_t ackTimeoutMs;                                  /**< Response timeout. */
    DefenderFormat_t format;                                /**< json or cbor. */
    DefenderKeyStyle_t keys;                                /**< long or short. */
    uint32_t metrics;                                       /**< DEFENDER_METRIC_* mask. */
    uint16_t maxListEntries;                                /**< Entries listed per list. */
    bool includeLoopback;                                   /**< Count loopback traffic. */
    bool procOnly;                                          /**< Read /proc, not netlink. */
    char caFile[AGENT_PATH_SIZE];                           /**< CA certificate(s). */
    char certFile[AGENT_PATH_SIZE];                         /**< Client certificate. */
    char keyFile[AGENT_PATH_SIZE];                          /**< Client key. */
    char alpn[AGENT_TEXT_SIZE];                             /**< ALPN protocol. */
    char stateDir[AGENT_PATH_SIZE];                         /**< Folder of the id file. */
    uint32_t commandTimeoutMs;                              /**< Custom command timeout. */
    uint32_t count;                                         /**< --dry-run: reports. */
    bool haveCount;                                         /**< --count was given. */
    DefenderLogLevel_t logLevel;                            /**< Least important level shown. */
    AgentCustomOption_t custom[DEFENDER_CONFIG_MAX_CUSTOM_METRICS]; /**< Custom metrics. */
    size_t customCount;                                             /**< Entries in custom. */
} AgentConfig_t;

/** @brief What AgentOptions_Parse() found. */
typedef enum
{
    AGENT_OPTIONS_RUN = 0, /**< Run with the configuration. */
    AGENT_OPTIONS_HELP,    /**< --help was given. */
    AGENT_OPTIONS_VERSION, /**< --version was given. */
    AGENT_OPTIONS_ERROR    /**< Usage or configuration error (message written). */
} AgentOptionsResult_t;

/**
 * @brief Fills a configuration with the defaults (period 300 s, JSON, short keys,
 * every standard group, 10 s response timeout, 5 s command timeout, log level info).
 * @param[out] pConfig Configuration.
 */
void AgentOptions_Defaults(AgentConfig_t *pConfig);

/**
 * @brief Applies one setting by name (the long option name without dashes, as in
 * the configuration file).
 * @param[in,out] pConfig Configuration.
 * @param[in] pName Setting name.
 * @param[in] pValue Its value (NULL for flags given without a value).
 * @param[out] pError Message on failure.
 * @param[in] errorSize Size of pError.
 * @return true when applied.
 */
bool AgentOptions_Set(AgentConfig_t *pConfig, const char *pName, const char *pValue, char *pError,
                      size_t errorSize);

/**
 * @brief Reads a configuration file: `name = value` lines, `#` comments, blank lines.
 * @param[in,out] pConfig Configuration.
 * @param[in] pPath File.
 * @param[out] pError Message on failure (with the line number).
 * @param[in] errorSize Size of pError.
 * @return true when every line applied.
 */
bool AgentOptions_LoadFile(AgentConfig_t *pConfig, const char *pPath, char *pError,
                           size_t errorSize);

/**
 * @brief Parses the command line: defaults, then `--config FILE`, then the other
 * options, then checks the result (AgentOptions_Check()). Errors go to stderr.
 * @param[out] pConfig Configuration.
 * @param[in] argc, argv Command line.
 * @return What to do.
 */
AgentOptionsResult_t AgentOptions_Parse(AgentConfig_t *pConfig, int argc, char **argv);

/**
 * @brief Checks a complete configuration: required settings, the thing name, TLS
 * file pairs and ALPN without TLS.
 * @param[in,out] pConfig Configuration (the default port is filled in).
 * @param[out] pError Message on failure.
 * @param[in] errorSize Size of pError.
 * @return true when valid.
 */
bool AgentOptions_Check(AgentConfig_t *pConfig, char *pError, size_t errorSize);

/**
 * @brief Splits `host[:port]`, `[v6]:port` or a bare IPv6 address.
 * @param[in] pText Endpoint.
 * @param[out] pHost Host buffer.
 * @param[in] hostSize Its size.
 * @param[out] pPort Port, 0 when none was given.
 * @return true when valid.
 */
bool AgentOptions_ParseEndpoint(const char *pText, char *pHost, size_t hostSize, uint16_t *pPort);

/**
 * @brief Parses `NAME:TYPE:COMMAND`; TYPE is number, number-list, string-list or
 * ip-list (ip-address-list also accepted). The first `:TYPE:` splits the text.
 * @param[in] pText Option value.
 * @param[out] pCustom Result.
 * @param[out] pError Message on failure.
 * @param[in] errorSize Size of pError.
 * @return true when valid.
 */
bool AgentOptions_ParseCustom(const char *pText, AgentCustomOption_t *pCustom, char *pError,
                              size_t errorSize);

/** @brief Prints the usage text to stdout. */
void AgentOptions_PrintHelp(void);

/** @brief Name of a custom metric type as AWS spells it ("number-list" ...). */
const char *AgentOptions_TypeName(DefenderCustomMetricType_t type);

/**
 * @brief Sets the least important level written by Agent_Log().
 * @param[in] level Level.
 */
void Agent_LogSetLevel(DefenderLogLevel_t level);

/**
 * @brief Writes one log line to stderr: with a syslog priority prefix (`<6>`) when
 * stderr goes to the systemd journal, else with a UTC time stamp.
 * @param[in] level Level.
 * @param[in] pFormat printf format.
 */
void Agent_Log(DefenderLogLevel_t level, const char *pFormat, ...)
    __attribute__((format(printf, 2, 3)));

/**
 * @brief Log callback with the DefenderLogCallback_t signature (context unused).
 * @param[in] pContext Unused.
 * @param[in] level Level.
 * @param[in] pMessage Message.
 */
void Agent_LogCallback(void *pContext, DefenderLogLevel_t level, const char *pMessage);

/** @brief State and storage of one command-backed custom metric. */
typedef struct AgentCommandMetric
{
    const char *pName;                          /**< Metric name (for messages). */
    DefenderCustomMetricType_t type;            /**< Type. */
    const char *pCommand;                       /**< Shell command. */
    uint32_t timeoutMs;                         /**< Time the command may take. */
    char output[AGENT_COMMAND_OUTPUT_MAX + 1U]; /**< Output; list strings point into it. */
    union
    {
        double numbers[AGENT_COMMAND_MAX_ENTRIES];      /**< number-list values. */
        const char *strings[AGENT_COMMAND_MAX_ENTRIES]; /**< string-list / ip-list entries. */
    } values;                                           /**< Value storage. */
} AgentCommandMetric_t;

/** @brief Result of running a command. */
typedef enum
{
    AGENT_COMMAND_OK = 0,      /**< Exited with status 0; output read. */
    AGENT_COMMAND_FAILED,      /**< Exited with another status or was killed by a signal. */
    AGENT_COMMAND_TIMEOUT,     /**< Took longer than the timeout; killed. */
    AGENT_COMMAND_TOO_LONG,    /**< Printed more than the output buffer holds; killed. */
    AGENT_COMMAND_SPAWN_FAILED /**< Could not be started. */
} AgentCommandStatus_t;

/**
 * @brief Runs `/bin/sh -c COMMAND` in its own process group with stdin from
 * /dev/null, collects stdout (stderr is inherited), and kills the group (SIGKILL)
 * when it exceeds the timeout or the output size.
 * @param[in] pCommand Command.
 * @param[in] timeoutMs Time limit.
 * @param[out] pOutput Buffer; NUL-terminated.
 * @param[in] outputSize Its size (the command may print outputSize - 1 bytes).
 * @param[out] pDetail Explanation on failure ("exit status 3").
 * @param[in] detailSize Size of pDetail.
 * @return The result.
 */
AgentCommandStatus_t AgentCommand_Run(const char *pCommand, uint32_t timeoutMs, char *pOutput,
                                      size_t outputSize, char *pDetail, size_t detailSize);

/**
 * @brief Parses a command's output as a value of `type`: number: one number;
 * number-list: numbers separated by white space or commas; string-list and ip-list:
 * entries separated by white space (one per line). Checks the values as the core
 * would (finite numbers, strings of [A-Za-z0-9:_./-], valid IP addresses).
 * @param[in,out] pMetric Metric; its `output` holds the text and is split in place.
 * @param[out] pValue Value pointing into pMetric.
 * @param[out] pError Message on failure.
 * @param[in] errorSize Size of pError.
 * @return true when the output is a valid value.
 */
bool AgentCommand_Parse(AgentCommandMetric_t *pMetric, DefenderCustomValue_t *pValue, char *pError,
                        size_t errorSize);

/**
 * @brief DefenderCustomMetricRead_t of a command metric: runs the command and parses
 * its output; on failure logs why and returns false (the metric is left out).
 * @param[in] pUserContext The AgentCommandMetric_t.
 * @param[out] pValue Value.
 * @return true when a value was produced.
 */
bool AgentCommand_Read(void *pUserContext, DefenderCustomValue_t *pValue);

#endif /* DEFENDER_AGENT_H */
