/**
 * @file agent_options.c
 * @brief defender-agent options: command line, configuration file and checks.
 *
 * Every setting has one name, used as the long option (`--period 60`) and as the
 * configuration-file key (`period = 60`); the command line wins over the file.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "defender_protocol.h"

/** @brief Kinds of setting values. */
typedef enum
{
    KIND_TEXT = 0, /**< A string copied into the configuration. */
    KIND_SPECIAL   /**< Parsed by applySpecial(). */
} SettingKind_t;

/** @brief One setting: name, where a text goes, and where it may appear. */
typedef struct
{
    const char *pName;  /**< Option / key name. */
    size_t offset;      /**< KIND_TEXT: offset of the buffer in AgentConfig_t. */
    size_t size;        /**< KIND_TEXT: its size. */
    SettingKind_t kind; /**< Kind. */
    bool inFile;        /**< Allowed in the configuration file. */
} Setting_t;

/** @brief Declares a text setting stored in the field of the same role. */
#define TEXT_SETTING(name, field)                                                                  \
    {                                                                                              \
        (name), offsetof(AgentConfig_t, field), sizeof(((AgentConfig_t *) 0)->field), KIND_TEXT,   \
            true                                                                                   \
    }

/** @brief Declares a setting parsed by applySpecial(). */
#define SPECIAL_SETTING(name, inFile)                                                              \
    {                                                                                              \
        (name), 0U, 0U, KIND_SPECIAL, (inFile)                                                     \
    }

/** @brief Every setting. */
static const Setting_t settings[] = {
    SPECIAL_SETTING("endpoint", true),    SPECIAL_SETTING("thing", true),
    TEXT_SETTING("client-id", clientId),  SPECIAL_SETTING("period", true),
    SPECIAL_SETTING("format", true),      SPECIAL_SETTING("keys", true),
    TEXT_SETTING("ca", caFile),           TEXT_SETTING("cert", certFile),
    TEXT_SETTING("key", keyFile),         TEXT_SETTING("alpn", alpn),
    SPECIAL_SETTING("metrics", true),     SPECIAL_SETTING("custom", true),
    SPECIAL_SETTING("ack-timeout", true), SPECIAL_SETTING("command-timeout", true),
    SPECIAL_SETTING("max-list", true),    SPECIAL_SETTING("include-loopback", true),
    SPECIAL_SETTING("proc-only", true),   TEXT_SETTING("state-dir", stateDir),
    SPECIAL_SETTING("log-level", true),   SPECIAL_SETTING("once", false),
    SPECIAL_SETTING("dry-run", false),    SPECIAL_SETTING("count", false),
};

/** @brief Number of settings. */
#define SETTING_COUNT (sizeof(settings) / sizeof(settings[0]))

/** @brief Names of the metric groups accepted by --metrics, with their bits. */
static const struct
{
    const char *pName;
    uint32_t bits;
} metricNames[] = {
    {"all", DEFENDER_METRIC_ALL},
    {"none", 0U},
    {"tcp-connections", DEFENDER_METRIC_TCP_CONNECTIONS},
    {"tcp_connections", DEFENDER_METRIC_TCP_CONNECTIONS},
    {"listening-tcp-ports", DEFENDER_METRIC_LISTENING_TCP_PORTS},
    {"listening_tcp_ports", DEFENDER_METRIC_LISTENING_TCP_PORTS},
    {"listening-udp-ports", DEFENDER_METRIC_LISTENING_UDP_PORTS},
    {"listening_udp_ports", DEFENDER_METRIC_LISTENING_UDP_PORTS},
    {"network-stats", DEFENDER_METRIC_NETWORK_STATS},
    {"network_stats", DEFENDER_METRIC_NETWORK_STATS},
};

/** @brief Custom metric type names (AWS `metricType`, plus the short `ip-list`). */
static const struct
{
    const char *pName;
    DefenderCustomMetricType_t type;
} typeNames[] = {
    {"number", DEFENDER_CUSTOM_NUMBER},           {"number-list", DEFENDER_CUSTOM_NUMBER_LIST},
    {"string-list", DEFENDER_CUSTOM_STRING_LIST}, {"ip-list", DEFENDER_CUSTOM_IP_LIST},
    {"ip-address-list", DEFENDER_CUSTOM_IP_LIST},
};

/**
 * @brief Writes a formatted message into an error buffer.
 * @param[out] pError Buffer (may be NULL).
 * @param[in] size Its size.
 * @param[in] pFormat printf format.
 */
static void setError(char *pError, size_t size, const char *pFormat, ...)
    __attribute__((format(printf, 3, 4)));

static void setError(char *pError, size_t size, const char *pFormat, ...)
{
    va_list arguments;

    if ((pError != NULL) && (size > 0U))
    {
        va_start(arguments, pFormat);
        (void) vsnprintf(pError, size, pFormat, arguments);
        va_end(arguments);
    }
}

const char *AgentOptions_TypeName(DefenderCustomMetricType_t type)
{
    const char *pName = "?";
    size_t i;

    for (i = 0U; i < 4U; i++)
    {
        if (typeNames[i].type == type)
        {
            pName = typeNames[i].pName;
            break;
        }
    }

    return pName;
}

void AgentOptions_Defaults(AgentConfig_t *pConfig)
{
    (void) memset(pConfig, 0, sizeof(*pConfig));
    pConfig->mode = AGENT_MODE_SERVICE;
    pConfig->periodSeconds = DEFENDER_CONFIG_DEFAULT_PERIOD_SECONDS;
    pConfig->ackTimeoutMs = DEFENDER_CONFIG_DEFAULT_ACK_TIMEOUT_MS;
    pConfig->format =
        (DEFENDER_CONFIG_FORMAT_JSON == 1) ? DEFENDER_FORMAT_JSON : DEFENDER_FORMAT_CBOR;
    pConfig->keys = DEFENDER_KEYS_SHORT;
    pConfig->metrics = DEFENDER_METRIC_ALL;
    pConfig->maxListEntries = (uint16_t) DEFENDER_CONFIG_MAX_LIST_ENTRIES;
    pConfig->commandTimeoutMs = AGENT_COMMAND_DEFAULT_TIMEOUT_MS;
    pConfig->count = 1U;
    pConfig->logLevel = DEFENDER_LOG_INFO;
}

/**
 * @brief Parses a whole decimal number in [minimum, maximum].
 * @param[in] pText Text.
 * @param[in] minimum, maximum Range.
 * @param[out] pValue Value.
 * @return true when valid.
 */
static bool parseNumber(const char *pText, unsigned long minimum, unsigned long maximum,
                        uint32_t *pValue)
{
    char *pEnd = NULL;
    unsigned long value;
    bool ok = false;

    if ((pText != NULL) && (pText[0] >= '0') && (pText[0] <= '9'))
    {
        errno = 0;
        value = strtoul(pText, &pEnd, 10);
        ok = (errno == 0) && (*pEnd == '\0') && (value >= minimum) && (value <= maximum);
        if (ok)
        {
            *pValue = (uint32_t) value;
        }
    }

    return ok;
}

/**
 * @brief Parses a boolean: true/yes/on/1 or false/no/off/0; NULL (a bare flag) is true.
 * @param[in] pText Text or NULL.
 * @param[out] pValue Value.
 * @return true when valid.
 */
static bool parseBool(const char *pText, bool *pValue)
{
    bool ok = true;

    if ((pText == NULL) || (strcmp(pText, "true") == 0) || (strcmp(pText, "yes") == 0) ||
        (strcmp(pText, "on") == 0) || (strcmp(pText, "1") == 0))
    {
        *pValue = true;
    }
    else if ((strcmp(pText, "false") == 0) || (strcmp(pText, "no") == 0) ||
             (strcmp(pText, "off") == 0) || (strcmp(pText, "0") == 0))
    {
        *pValue = false;
    }
    else
    {
        ok = false;
    }

    return ok;
}

/**
 * @brief Parses a comma-separated list of metric group names.
 * @param[in] pText List.
 * @param[out] pMask Mask.
 * @param[out] pError Message.
 * @param[in] errorSize Its size.
 * @return true when every name is known.
 */
static bool parseMetrics(const char *pText, uint32_t *pMask, char *pError, size_t errorSize)
{
    char copy[512];
    char *pSave = NULL;
    char *pToken;
    uint32_t mask = 0U;
    bool ok = (strlen(pText) < sizeof(copy));
    size_t i;
    bool found;

    if (ok)
    {
        (void) strcpy(copy, pText);
        for (pToken = strtok_r(copy, ", \t", &pSave); ok && (pToken != NULL);
             pToken = strtok_r(NULL, ", \t", &pSave))
        {
            found = false;
            for (i = 0U; i < (sizeof(metricNames) / sizeof(metricNames[0])); i++)
            {
                if (strcmp(pToken, metricNames[i].pName) == 0)
                {
                    mask |= metricNames[i].bits;
                    found = true;
                }
            }
            if (!found)
            {
                setError(pError, errorSize,
                         "unknown metric group '%s' (known: all, none, tcp-connections, "
                         "listening-tcp-ports, listening-udp-ports, network-stats)",
                         pToken);
                ok = false;
            }
        }
    }
    else
    {
        setError(pError, errorSize, "metric list too long");
    }
    if (ok)
    {
        *pMask = mask;
    }

    return ok;
}

bool AgentOptions_ParseEndpoint(const char *pText, char *pHost, size_t hostSize, uint16_t *pPort)
{
    const char *pStart = pText;
    const char *pEnd = NULL;
    const char *pPortText = NULL;
    const char *pColon;
    uint32_t port = 0U;
    size_t length;
    bool ok = false;

    if ((pText != NULL) && (pText[0] != '\0'))
    {
        if (strncmp(pText, "mqtts://", 8) == 0)
        {
            pStart = pText + 8;
        }
        if (pStart[0] == '[')
        {
            pStart++;
            pEnd = strchr(pStart, ']');
            if ((pEnd != NULL) && (pEnd[1] == ':'))
            {
                pPortText = pEnd + 2;
            }
            else if ((pEnd != NULL) && (pEnd[1] != '\0'))
            {
                pEnd = NULL;
            }
            else
            {
                /* "[v6]" without a port. */
            }
        }
        else
        {
            pColon = strchr(pStart, ':');
            if ((pColon != NULL) && (strchr(pColon + 1, ':') == NULL))
            {
                pEnd = pColon;
                pPortText = pColon + 1;
            }
            else
            {
                /* No port, or a bare IPv6 address taken whole. */
                pEnd = pStart + strlen(pStart);
            }
        }
        if ((pEnd != NULL) && (pEnd > pStart) && ((size_t) (pEnd - pStart) < hostSize))
        {
            length = (size_t) (pEnd - pStart);
            (void) memcpy(pHost, pStart, length);
            pHost[length] = '\0';
            ok = (strpbrk(pHost, " \t/") == NULL);
        }
        if (ok && (pPortText != NULL))
        {
            ok = parseNumber(pPortText, 1UL, 65535UL, &port);
        }
        if (ok)
        {
            *pPort = (uint16_t) port;
        }
    }

    return ok;
}

bool AgentOptions_ParseCustom(const char *pText, AgentCustomOption_t *pCustom, char *pError,
                              size_t errorSize)
{
    const char *pBest = NULL;
    const char *pFound;
    size_t bestType = 0U;
    size_t nameLength = 0U;
    size_t i;
    char pattern[32];
    bool ok = false;

    (void) memset(pCustom, 0, sizeof(*pCustom));
    for (i = 0U; (pText != NULL) && (i < (sizeof(typeNames) / sizeof(typeNames[0]))); i++)
    {
        (void) snprintf(pattern, sizeof(pattern), ":%s:", typeNames[i].pName);
        pFound = strstr(pText, pattern);
        if ((pFound != NULL) && ((pBest == NULL) || (pFound < pBest)))
        {
            pBest = pFound;
            bestType = i;
        }
    }

    if (pBest == NULL)
    {
        setError(pError, errorSize,
                 "custom metric '%s': expected NAME:TYPE:COMMAND with TYPE number, "
                 "number-list, string-list or ip-list",
                 (pText != NULL) ? pText : "");
    }
    else
    {
        const char *pCommand = pBest + strlen(typeNames[bestType].pName) + 2U;

        nameLength = (size_t) (pBest - pText);
        if ((nameLength == 0U) || (nameLength > AGENT_CUSTOM_NAME_MAX) ||
            !Defender_CustomMetricNameValid(pText, nameLength))
        {
            setError(pError, errorSize,
                     "custom metric name '%.*s' is not valid: 1..128 characters of "
                     "[a-zA-Z0-9:_-], not starting with 'aws:'",
                     (int) ((nameLength > 200U) ? 200U : nameLength), pText);
        }
        else if (pCommand[0] == '\0')
        {
            setError(pError, errorSize, "custom metric '%.*s': no command", (int) nameLength,
                     pText);
        }
        else if (strlen(pCommand) >= sizeof(pCustom->command))
        {
            setError(pError, errorSize, "custom metric '%.*s': command longer than %u bytes",
                     (int) nameLength, pText, (unsigned) (sizeof(pCustom->command) - 1U));
        }
        else
        {
            (void) memcpy(pCustom->name, pText, nameLength);
            pCustom->name[nameLength] = '\0';
            pCustom->type = typeNames[bestType].type;
            (void) strcpy(pCustom->command, pCommand);
            ok = true;
        }
    }

    return ok;
}

/**
 * @brief Checks and stores the thing name, explaining what is wrong with it.
 * @param[in,out] pConfig Configuration.
 * @param[in] pValue Name.
 * @param[out] pError Message.
 * @param[in] errorSize Its size.
 * @return true when valid.
 */
static bool setThing(AgentConfig_t *pConfig, const char *pValue, char *pError, size_t errorSize)
{
    size_t length = strlen(pValue);
    size_t i;
    bool ok = false;

    if (length == 0U)
    {
        setError(pError, errorSize, "the thing name is empty");
    }
    else if (length > DEFENDER_CONFIG_MAX_THING_NAME_LENGTH)
    {
        setError(pError, errorSize, "the thing name is %zu bytes long; at most %u are allowed",
                 length, (unsigned) DEFENDER_CONFIG_MAX_THING_NAME_LENGTH);
    }
    else
    {
        for (i = 0U; i < length; i++)
        {
            unsigned char c = (unsigned char) pValue[i];
            if ((c < 0x20U) || (c == 0x7FU) || (c == '/') || (c == '+') || (c == '#'))
            {
                break;
            }
        }
        if (i < length)
        {
            unsigned char c = (unsigned char) pValue[i];
            if ((c < 0x20U) || (c == 0x7FU))
            {
                setError(pError, errorSize,
                         "the thing name has a control character (0x%02x) at byte %zu; "
                         "'/', '+', '#' and control characters are not allowed",
                         (unsigned) c, i + 1U);
            }
            else
            {
                setError(pError, errorSize,
                         "the thing name has '%c' at byte %zu; '/', '+', '#' and control "
                         "characters are not allowed",
                         (char) c, i + 1U);
            }
        }
        else if (!Defender_ThingNameValid(pValue, length))
        {
            setError(pError, errorSize, "the thing name is not valid UTF-8");
        }
        else
        {
            (void) memcpy(pConfig->thing, pValue, length + 1U);
            pConfig->thingLength = length;
            ok = true;
        }
    }

    return ok;
}

/**
 * @brief Parses a log level name.
 * @param[in] pText Name.
 * @param[out] pLevel Level.
 * @return true when known.
 */
static bool parseLogLevel(const char *pText, DefenderLogLevel_t *pLevel)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    bool ok = false;
    size_t i;

    for (i = 0U; i < 4U; i++)
    {
        if (strcmp(pText, names[i]) == 0)
        {
            *pLevel = (DefenderLogLevel_t) i;
            ok = true;
        }
    }
    if (!ok && (strcmp(pText, "warning") == 0))
    {
        *pLevel = DEFENDER_LOG_WARN;
        ok = true;
    }

    return ok;
}

/**
 * @brief Applies a setting that is not a plain text.
 * @param[in,out] pConfig Configuration.
 * @param[in] pName Setting.
 * @param[in] pValue Value (NULL for a bare flag).
 * @param[out] pError Message.
 * @param[in] errorSize Its size.
 * @return true when applied.
 */
static bool applySpecial(AgentConfig_t *pConfig, const char *pName, const char *pValue,
                         char *pError, size_t errorSize)
{
    bool ok = false;
    uint32_t number = 0U;
    bool flag = false;
    const char *pText = (pValue != NULL) ? pValue : "";

    if (strcmp(pName, "endpoint") == 0)
    {
        ok =
            AgentOptions_ParseEndpoint(pText, pConfig->host, sizeof(pConfig->host), &pConfig->port);
        pConfig->haveEndpoint = ok;
        if (!ok)
        {
            setError(pError, errorSize,
                     "invalid endpoint '%s': expected HOST, HOST:PORT or [IPv6]:PORT", pText);
        }
    }
    else if (strcmp(pName, "thing") == 0)
    {
        ok = setThing(pConfig, pText, pError, errorSize);
    }
    else if (strcmp(pName, "period") == 0)
    {
        ok = parseNumber(pText, DEFENDER_CONFIG_MIN_PERIOD_SECONDS, 604800UL,
                         &pConfig->periodSeconds);
        if (!ok)
        {
            setError(pError, errorSize, "invalid period '%s': %u..604800 seconds", pText,
                     (unsigned) DEFENDER_CONFIG_MIN_PERIOD_SECONDS);
        }
    }
    else if (strcmp(pName, "format") == 0)
    {
        ok = ((strcmp(pText, "json") == 0) && DEFENDER_FORMAT_SUPPORTED(DEFENDER_FORMAT_JSON)) ||
             ((strcmp(pText, "cbor") == 0) && DEFENDER_FORMAT_SUPPORTED(DEFENDER_FORMAT_CBOR));
        pConfig->format = (strcmp(pText, "cbor") == 0) ? DEFENDER_FORMAT_CBOR : pConfig->format;
        pConfig->format = (strcmp(pText, "json") == 0) ? DEFENDER_FORMAT_JSON : pConfig->format;
        if (!ok)
        {
            setError(pError, errorSize, "invalid format '%s': %s", pText,
                     (DEFENDER_CONFIG_FORMAT_JSON == 0)   ? "cbor (this build has CBOR only)"
                     : (DEFENDER_CONFIG_FORMAT_CBOR == 0) ? "json (this build has JSON only)"
                                                          : "json or cbor");
        }
    }
    else if (strcmp(pName, "keys") == 0)
    {
        ok = (strcmp(pText, "long") == 0) || (strcmp(pText, "short") == 0);
        pConfig->keys = (strcmp(pText, "long") == 0) ? DEFENDER_KEYS_LONG : pConfig->keys;
        pConfig->keys = (strcmp(pText, "short") == 0) ? DEFENDER_KEYS_SHORT : pConfig->keys;
        if (!ok)
        {
            setError(pError, errorSize, "invalid key style '%s': long or short", pText);
        }
    }
    else if (strcmp(pName, "metrics") == 0)
    {
        ok = parseMetrics(pText, &pConfig->metrics, pError, errorSize);
    }
    else if (strcmp(pName, "custom") == 0)
    {
        if (pConfig->customCount >= DEFENDER_CONFIG_MAX_CUSTOM_METRICS)
        {
            setError(pError, errorSize, "at most %u custom metrics",
                     (unsigned) DEFENDER_CONFIG_MAX_CUSTOM_METRICS);
        }
        else if (AgentOptions_ParseCustom(pText, &pConfig->custom[pConfig->customCount], pError,
                                          errorSize))
        {
            size_t i;
            ok = true;
            for (i = 0U; i < pConfig->customCount; i++)
            {
                if (strcmp(pConfig->custom[i].name, pConfig->custom[pConfig->customCount].name) ==
                    0)
                {
                    setError(pError, errorSize, "custom metric '%s' is defined twice",
                             pConfig->custom[i].name);
                    ok = false;
                }
            }
            pConfig->customCount += ok ? 1U : 0U;
        }
        else
        {
            /* Message set by AgentOptions_ParseCustom(). */
        }
    }
    else if (strcmp(pName, "ack-timeout") == 0)
    {
        ok = parseNumber(pText, 1UL, 3600000UL, &pConfig->ackTimeoutMs);
        if (!ok)
        {
            setError(pError, errorSize, "invalid ack-timeout '%s': 1..3600000 ms", pText);
        }
    }
    else if (strcmp(pName, "command-timeout") == 0)
    {
        ok = parseNumber(pText, 1UL, 600000UL, &pConfig->commandTimeoutMs);
        if (!ok)
        {
            setError(pError, errorSize, "invalid command-timeout '%s': 1..600000 ms", pText);
        }
    }
    else if (strcmp(pName, "max-list") == 0)
    {
        ok = parseNumber(pText, 1UL, DEFENDER_CONFIG_MAX_LIST_ENTRIES, &number);
        pConfig->maxListEntries = ok ? (uint16_t) number : pConfig->maxListEntries;
        if (!ok)
        {
            setError(pError, errorSize, "invalid max-list '%s': 1..%u", pText,
                     (unsigned) DEFENDER_CONFIG_MAX_LIST_ENTRIES);
        }
    }
    else if (strcmp(pName, "count") == 0)
    {
        ok = parseNumber(pText, 1UL, 1000000UL, &pConfig->count);
        pConfig->haveCount = pConfig->haveCount || ok;
        if (!ok)
        {
            setError(pError, errorSize, "invalid count '%s': 1..1000000", pText);
        }
    }
    else if ((strcmp(pName, "include-loopback") == 0) || (strcmp(pName, "proc-only") == 0))
    {
        ok = parseBool(pValue, &flag);
        if (ok && (pName[0] == 'i'))
        {
            pConfig->includeLoopback = flag;
        }
        else if (ok)
        {
            pConfig->procOnly = flag;
        }
        else
        {
            setError(pError, errorSize, "invalid %s '%s': true or false", pName, pText);
        }
    }
    else if (strcmp(pName, "log-level") == 0)
    {
        ok = parseLogLevel(pText, &pConfig->logLevel);
        if (!ok)
        {
            setError(pError, errorSize, "invalid log level '%s': error, warn, info or debug",
                     pText);
        }
    }
    else if ((strcmp(pName, "once") == 0) || (strcmp(pName, "dry-run") == 0))
    {
        AgentMode_t mode = (pName[0] == 'o') ? AGENT_MODE_ONCE : AGENT_MODE_DRY_RUN;
        ok = (pConfig->mode == AGENT_MODE_SERVICE) || (pConfig->mode == mode);
        if (ok)
        {
            pConfig->mode = mode;
        }
        else
        {
            setError(pError, errorSize, "--once and --dry-run exclude each other");
        }
    }
    else
    {
        setError(pError, errorSize, "unknown setting '%s'", pName);
    }

    return ok;
}

bool AgentOptions_Set(AgentConfig_t *pConfig, const char *pName, const char *pValue, char *pError,
                      size_t errorSize)
{
    bool ok = false;
    size_t i;

    for (i = 0U; i < SETTING_COUNT; i++)
    {
        if (strcmp(settings[i].pName, pName) == 0)
        {
            break;
        }
    }

    if (i == SETTING_COUNT)
    {
        setError(pError, errorSize, "unknown setting '%s'", pName);
    }
    else if (settings[i].kind == KIND_TEXT)
    {
        char *pField = (char *) pConfig + settings[i].offset;
        if ((pValue == NULL) || (pValue[0] == '\0'))
        {
            setError(pError, errorSize, "%s needs a value", pName);
        }
        else if (strlen(pValue) >= settings[i].size)
        {
            setError(pError, errorSize, "%s is too long (at most %zu bytes)", pName,
                     settings[i].size - 1U);
        }
        else
        {
            (void) strcpy(pField, pValue);
            ok = true;
        }
    }
    else
    {
        ok = applySpecial(pConfig, pName, pValue, pError, errorSize);
    }

    return ok;
}

/**
 * @brief Strips white space at both ends of a text, in place.
 * @param[in] pText Text.
 * @return The trimmed text.
 */
static char *trim(char *pText)
{
    char *pEnd;

    while ((*pText == ' ') || (*pText == '\t'))
    {
        pText++;
    }
    pEnd = pText + strlen(pText);
    while ((pEnd > pText) &&
           ((pEnd[-1] == ' ') || (pEnd[-1] == '\t') || (pEnd[-1] == '\n') || (pEnd[-1] == '\r')))
    {
        pEnd--;
    }
    *pEnd = '\0';

    return pText;
}

bool AgentOptions_LoadFile(AgentConfig_t *pConfig, const char *pPath, char *pError,
                           size_t errorSize)
{
    char line[2048];
    char message[512];
    unsigned lineNumber = 0U;
    FILE *pFile = fopen(pPath, "r");
    bool ok = (pFile != NULL);
    size_t i;

    if (!ok)
    {
        setError(pError, errorSize, "cannot read the configuration file %s: %s", pPath,
                 strerror(errno));
    }
    while (ok && (fgets(line, sizeof(line), pFile) != NULL))
    {
        char *pText = trim(line);
        char *pEquals = strchr(pText, '=');
        lineNumber++;
        if ((pText[0] == '#') || (pText[0] == '\0'))
        {
            continue;
        }
        if (pEquals == NULL)
        {
            setError(pError, errorSize, "%s:%u: expected 'name = value'", pPath, lineNumber);
            ok = false;
        }
        else
        {
            char *pName;
            char *pValue;
            *pEquals = '\0';
            pName = trim(pText);
            pValue = trim(pEquals + 1);
            for (i = 0U; (i < SETTING_COUNT) && (strcmp(settings[i].pName, pName) != 0); i++)
            {
            }
            if (((i < SETTING_COUNT) && !settings[i].inFile) || (strcmp(pName, "config") == 0) ||
                (strcmp(pName, "help") == 0) || (strcmp(pName, "version") == 0))
            {
                /* --config, --help and --version are options but not settings. */
                setError(pError, errorSize, "%s:%u: '%s' is a command-line option only", pPath,
                         lineNumber, pName);
                ok = false;
            }
            else if (!AgentOptions_Set(pConfig, pName, pValue, message, sizeof(message)))
            {
                setError(pError, errorSize, "%s:%u: %s", pPath, lineNumber, message);
                ok = false;
            }
            else
            {
                /* Applied. */
            }
        }
    }
    if (pFile != NULL)
    {
        (void) fclose(pFile);
    }

    return ok;
}

bool AgentOptions_Check(AgentConfig_t *pConfig, char *pError, size_t errorSize)
{
    bool ok = false;
    bool tls = (pConfig->caFile[0] != '\0');

    if ((pConfig->mode != AGENT_MODE_DRY_RUN) && !pConfig->haveEndpoint)
    {
        setError(pError, errorSize, "no endpoint: give --endpoint HOST[:PORT]");
    }
    else if ((pConfig->mode != AGENT_MODE_DRY_RUN) && (pConfig->thingLength == 0U))
    {
        setError(pError, errorSize, "no thing name: give --thing NAME");
    }
    else if ((pConfig->certFile[0] != '\0') != (pConfig->keyFile[0] != '\0'))
    {
        setError(pError, errorSize, "--cert and --key go together: give both or neither");
    }
    else if (!tls && ((pConfig->certFile[0] != '\0') || (pConfig->alpn[0] != '\0')))
    {
        setError(pError, errorSize,
                 "TLS needs --ca FILE, the CA certificate that signed the broker's certificate "
                 "(for AWS IoT Core: AmazonRootCA1.pem)");
    }
    else if ((pConfig->mode != AGENT_MODE_DRY_RUN) && pConfig->haveCount)
    {
        /* Even --count 1: it would do nothing, and was meant for something else. */
        setError(pError, errorSize, "--count applies to --dry-run only: %s",
                 (pConfig->mode == AGENT_MODE_ONCE)
                     ? "--once sends one report"
                     : "without it the agent sends a report every period until it is stopped");
    }
    else
    {
        ok = true;
        if (pConfig->thingLength == 0U)
        {
            /* --dry-run without a thing name: any valid name does. */
            (void) strcpy(pConfig->thing, "defender-agent");
            pConfig->thingLength = strlen(pConfig->thing);
        }
        if (pConfig->port == 0U)
        {
            pConfig->port = !tls ? 1883U : ((pConfig->alpn[0] != '\0') ? 443U : 8883U);
        }
    }

    return ok;
}

void AgentOptions_PrintHelp(void)
{
    (void) fputs(
        "Usage: defender-agent [OPTIONS]\n"
        "Reports this Linux device's network metrics to AWS IoT Device Defender (or a\n"
        "compatible service) over MQTT.\n"
        "\n"
        "Connection:\n"
        "  --endpoint HOST[:PORT]   broker (port: 8883 with TLS, 443 with --alpn, else 1883)\n"
        "  --thing NAME             thing name (1..128 bytes, no '/', '+', '#', controls)\n"
        "  --client-id ID           MQTT client id (default: the thing name)\n"
        "  --ca FILE                CA certificate(s) of the broker: enables TLS\n"
        "  --cert FILE --key FILE   client certificate and key (mutual TLS)\n"
        "  --alpn PROTOCOL          ALPN protocol (x-amzn-mqtt-ca for AWS IoT on port 443)\n"
        "\n"
        "Reports:\n"
        "  --period SECONDS         report period (default 300)\n"
        "  --format json|cbor       encoding (default json)\n"
        "  --keys long|short        key names (default short)\n"
        "  --metrics LIST           comma-separated groups: tcp-connections,\n"
        "                           listening-tcp-ports, listening-udp-ports, network-stats,\n"
        "                           all (default), none\n"
        "  --custom NAME:TYPE:CMD   custom metric read from the output of the shell command\n"
        "                           CMD; TYPE number, number-list, string-list or ip-list\n"
        "                           (repeatable)\n"
        "  --command-timeout MS     time a custom-metric command may take (default 5000)\n"
        "  --max-list N             entries listed per list (default and maximum 50)\n"
        "  --include-loopback       count loopback traffic in network statistics\n"
        "  --proc-only              read /proc instead of netlink\n"
        "  --ack-timeout MS         time to wait for the response (default 10000)\n"
        "  --state-dir DIR          folder of the last-report-id file\n"
        "\n"
        "Modes:\n"
        "  --once                   send one report, print its outcome and exit:\n"
        "                           0 accepted, 2 rejected, 3 no acknowledgement, 4 not sent\n"
        "  --dry-run                print the report that would be sent; connect nowhere\n"
        "  --count N                with --dry-run: print N reports, one per period\n"
        "\n"
        "Other:\n"
        "  --config FILE            read settings (name = value) from FILE first\n"
        "  --log-level LEVEL        error, warn, info (default) or debug\n"
        "  --help, --version\n"
        "\n"
        "Exit status 1: usage or configuration error. SIGTERM or SIGINT stop the agent.\n"
        "See defender-agent(1).\n",
        stdout);
}

AgentOptionsResult_t AgentOptions_Parse(AgentConfig_t *pConfig, int argc, char **argv)
{
    struct option longOptions[SETTING_COUNT + 4U];
    AgentOptionsResult_t result = AGENT_OPTIONS_RUN;
    char error[1024];
    size_t i;
    int index;
    int c;

    AgentOptions_Defaults(pConfig);
    (void) memset(longOptions, 0, sizeof(longOptions));
    for (i = 0U; i < SETTING_COUNT; i++)
    {
        bool flag = (strcmp(settings[i].pName, "once") == 0) ||
                    (strcmp(settings[i].pName, "dry-run") == 0) ||
                    (strcmp(settings[i].pName, "include-loopback") == 0) ||
                    (strcmp(settings[i].pName, "proc-only") == 0);
        longOptions[i].name = settings[i].pName;
        longOptions[i].has_arg = flag ? no_argument : required_argument;
        longOptions[i].val = 0;
    }
    longOptions[SETTING_COUNT] = (struct option){"config", required_argument, NULL, 'c'};
    longOptions[SETTING_COUNT + 1U] = (struct option){"help", no_argument, NULL, 'h'};
    longOptions[SETTING_COUNT + 2U] = (struct option){"version", no_argument, NULL, 'V'};

    /* Pass 1: --help, --version and --config. */
    opterr = 0;
    optind = 1;
    while ((result == AGENT_OPTIONS_RUN) &&
           ((c = getopt_long(argc, argv, "c:hV", longOptions, &index)) != -1))
    {
        if (c == 'h')
        {
            result = AGENT_OPTIONS_HELP;
        }
        else if (c == 'V')
        {
            result = AGENT_OPTIONS_VERSION;
        }
        else if ((c == 'c') && !AgentOptions_LoadFile(pConfig, optarg, error, sizeof(error)))
        {
            (void) fprintf(stderr, "defender-agent: %s\n", error);
            result = AGENT_OPTIONS_ERROR;
        }
        else
        {
            /* Other options: pass 2. */
        }
    }

    /* Pass 2: everything else, in order, over the file's settings. */
    opterr = 1;
    optind = 1;
    while ((result == AGENT_OPTIONS_RUN) &&
           ((c = getopt_long(argc, argv, "c:hV", longOptions, &index)) != -1))
    {
        if (c == 0)
        {
            if (!AgentOptions_Set(pConfig, longOptions[index].name, optarg, error, sizeof(error)))
            {
                (void) fprintf(stderr, "defender-agent: %s\n", error);
                result = AGENT_OPTIONS_ERROR;
            }
        }
        else if (c == '?')
        {
            (void) fprintf(stderr, "Try 'defender-agent --help'.\n");
            result = AGENT_OPTIONS_ERROR;
        }
        else
        {
            /* c, h, V: done in pass 1. */
        }
    }
    if ((result == AGENT_OPTIONS_RUN) && (optind < argc))
    {
        (void) fprintf(stderr, "defender-agent: unexpected argument '%s'\n", argv[optind]);
        result = AGENT_OPTIONS_ERROR;
    }
    if ((result == AGENT_OPTIONS_RUN) && !AgentOptions_Check(pConfig, error, sizeof(error)))
    {
        (void) fprintf(stderr, "defender-agent: %s\n", error);
        result = AGENT_OPTIONS_ERROR;
    }

    return result;
}
