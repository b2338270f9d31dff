/**
 * @file defender_platform_linux.c
 * @brief Linux binding of the seed API: mosquitto connection, Linux metrics, POSIX
 * task, clock and file store, configured in code or from the environment.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "defender_linux.h"
#include "defender_metrics_linux.h"
#include "defender_mosquitto.h"
#include "defender_platform.h"
#include "defender_posix.h"

/** @brief Longest configuration string kept. */
#define TEXT_SIZE 4096U

/** @brief Report buffer: the largest payload the service accepts (PD-10). */
#define REPORT_BUFFER_SIZE 131072U

/** @brief A copied configuration. */
typedef struct
{
    bool set;
    char endpoint[TEXT_SIZE];
    char thingName[DEFENDER_CONFIG_MAX_THING_NAME_LENGTH + 2U];
    char clientId[TEXT_SIZE];
    char caFile[TEXT_SIZE];
    char certFile[TEXT_SIZE];
    char keyFile[TEXT_SIZE];
    char alpn[256];
    char stateDir[TEXT_SIZE];
    DefenderLinuxConfig_t config;
} StoredConfig_t;

static StoredConfig_t storedConfig;
static DefenderLinuxSource_t metricsSource;
static DefenderMosquitto_t connection;
static DefenderPosixOs_t posixOs;
static DefenderPosixFileStore_t fileStore;
static uint8_t reportBuffer[REPORT_BUFFER_SIZE];
static DefenderLogLevel_t logLevel = DEFENDER_LOG_WARN;
static char thingName[DEFENDER_CONFIG_MAX_THING_NAME_LENGTH + 2U];
static bool opened;

/** @brief Copies an optional string; false when too long. */
static bool copyOptional(char *pDest, size_t size, const char *pSource, const char **ppOut)
{
    bool ok = true;

    *ppOut = NULL;
    pDest[0] = '\0';
    if (pSource != NULL)
    {
        ok = (strlen(pSource) < size);
        if (ok)
        {
            (void) memcpy(pDest, pSource, strlen(pSource) + 1U);
            *ppOut = pDest;
        }
    }

    return ok;
}

DefenderErr_t DEFENDER_LinuxConfigSet(const DefenderLinuxConfig_t *pxConfig)
{
    DefenderErr_t err = eDefenderErrSuccess;
    StoredConfig_t *pStored = &storedConfig;
    bool ok;

    if (opened)
    {
        err = eDefenderErrAlreadyStarted;
    }
    else if (pxConfig == NULL)
    {
        (void) memset(pStored, 0, sizeof(*pStored));
    }
    else
    {
        pStored->config = *pxConfig;
        ok = copyOptional(pStored->endpoint, sizeof(pStored->endpoint), pxConfig->pEndpoint,
                          &pStored->config.pEndpoint);
        ok = copyOptional(pStored->thingName, sizeof(pStored->thingName), pxConfig->pThingName,
                          &pStored->config.pThingName) &&
             ok;
        ok = copyOptional(pStored->clientId, sizeof(pStored->clientId), pxConfig->pClientId,
                          &pStored->config.pClientId) &&
             ok;
        ok = copyOptional(pStored->caFile, sizeof(pStored->caFile), pxConfig->pCaFile,
                          &pStored->config.pCaFile) &&
             ok;
        ok = copyOptional(pStored->certFile, sizeof(pStored->certFile), pxConfig->pCertFile,
                          &pStored->config.pCertFile) &&
             ok;
        ok = copyOptional(pStored->keyFile, sizeof(pStored->keyFile), pxConfig->pKeyFile,
                          &pStored->config.pKeyFile) &&
             ok;
        ok = copyOptional(pStored->alpn, sizeof(pStored->alpn), pxConfig->pAlpn,
                          &pStored->config.pAlpn) &&
             ok;
        ok = copyOptional(pStored->stateDir, sizeof(pStored->stateDir), pxConfig->pStateDir,
                          &pStored->config.pStateDir) &&
             ok;
        pStored->set = ok;
        if (!ok)
        {
            (void) memset(pStored, 0, sizeof(*pStored));
            err = eDefenderErrOther;
        }
    }

    return err;
}

bool DefenderLinux_ParseEndpoint(const char *pEndpoint, char *pHost, size_t hostSize,
                                 uint16_t *pPort)
{
    bool ok = false;
    const char *pHostStart = pEndpoint;
    const char *pHostEnd = NULL;
    const char *pPortText = NULL;
    size_t length;

    if ((pEndpoint != NULL) && (pHost != NULL) && (pPort != NULL) && (pEndpoint[0] != '\0'))
    {
        *pPort = 0U;
        if (pEndpoint[0] == '[')
        {
            pHostStart = pEndpoint + 1;
            pHostEnd = strchr(pHostStart, ']');
            if ((pHostEnd != NULL) && (pHostEnd[1] == ':'))
            {
                pPortText = pHostEnd + 2;
            }
            else if ((pHostEnd != NULL) && (pHostEnd[1] != '\0'))
            {
                pHostEnd = NULL;
            }
            else
            {
                /* No port. */
            }
        }
        else
        {
            const char *pColon = strchr(pEndpoint, ':');
            if ((pColon != NULL) && (strchr(pColon + 1, ':') == NULL))
            {
                pHostEnd = pColon;
                pPortText = pColon + 1;
            }
            else
            {
                /* No port (or a bare IPv6 address, taken whole). */
                pHostEnd = pEndpoint + strlen(pEndpoint);
            }
        }

        if ((pHostEnd != NULL) && (pHostEnd > pHostStart))
        {
            length = (size_t) (pHostEnd - pHostStart);
            ok = (length < hostSize);
            if (ok)
            {
                (void) memcpy(pHost, pHostStart, length);
                pHost[length] = '\0';
            }
        }
        if (ok && (pPortText != NULL))
        {
            char *pEnd = NULL;
            unsigned long value;
            errno = 0;
            value = strtoul(pPortText, &pEnd, 10);
            ok = (errno == 0) && (pEnd != pPortText) && (*pEnd == '\0') && (value >= 1UL) &&
                 (value <= 65535UL) && (pPortText[0] >= '0') && (pPortText[0] <= '9');
            *pPort = (uint16_t) value;
        }
    }

    return ok;
}

/** @brief Log callback: prints at or above the configured level to stderr. */
static void logToStderr(void *pUserContext, DefenderLogLevel_t level, const char *pMessage)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};

    (void) pUserContext;
    if (level <= logLevel)
    {
        (void) fprintf(stderr, "defender: [%s] %s\n", names[level], pMessage);
    }
}

/** @brief Reads an environment variable, NULL when unset or empty. */
static const char *environment(const char *pName)
{
    const char *pValue = getenv(pName);
    return ((pValue != NULL) && (pValue[0] != '\0')) ? pValue : NULL;
}

/** @brief Parses a log level name; returns the default for unknown names. */
static DefenderLogLevel_t parseLogLevel(const char *pName, DefenderLogLevel_t fallback)
{
    DefenderLogLevel_t level = fallback;

    if (pName != NULL)
    {
        if (strcmp(pName, "error") == 0)
        {
            level = DEFENDER_LOG_ERROR;
        }
        else if (strcmp(pName, "warn") == 0)
        {
            level = DEFENDER_LOG_WARN;
        }
        else if (strcmp(pName, "info") == 0)
        {
            level = DEFENDER_LOG_INFO;
        }
        else if (strcmp(pName, "debug") == 0)
        {
            level = DEFENDER_LOG_DEBUG;
        }
        else
        {
            (void) fprintf(stderr, "defender: unknown log level '%s' ignored\n", pName);
        }
    }

    return level;
}

/** @brief Builds the path of the last-report-id file. */
static bool statePath(const char *pStateDir, const char *pThing, char *pPath, size_t size)
{
    const char *pXdg = environment("XDG_STATE_HOME");
    const char *pHome = environment("HOME");
    char folder[TEXT_SIZE];
    int written = -1;

    if (pStateDir != NULL)
    {
        written = snprintf(folder, sizeof(folder), "%s", pStateDir);
    }
    else if (pXdg != NULL)
    {
        written = snprintf(folder, sizeof(folder), "%s/defender", pXdg);
    }
    else if (pHome != NULL)
    {
        (void) snprintf(folder, sizeof(folder), "%s/.local", pHome);
        (void) mkdir(folder, 0700);
        (void) snprintf(folder, sizeof(folder), "%s/.local/state", pHome);
        (void) mkdir(folder, 0700);
        written = snprintf(folder, sizeof(folder), "%s/.local/state/defender", pHome);
    }
    else
    {
        written = snprintf(folder, sizeof(folder), "/var/lib/defender");
    }

    return (written > 0) && ((size_t) written < sizeof(folder)) &&
           (snprintf(pPath, size, "%s/%s.last-report-id", folder, pThing) < (int) size);
}

/** @brief DefenderPlatform_t::pfOpen for Linux. */
static DefenderStatus_t linuxOpen(DefenderSettings_t *pSettings, DefenderInterfaces_t *pInterfaces,
                                  DefenderOsInterface_t *pOs)
{
    DefenderStatus_t status = DEFENDER_BAD_PARAMETER;
    DefenderLinuxConfig_t config;
    DefenderMosquittoSettings_t mqtt;
    DefenderLinuxSourceOptions_t sourceOptions;
    char host[256];
    char path[TEXT_SIZE + 256U];
    char error[TEXT_SIZE + 128U];
    uint16_t port = 0U;
    size_t thingLength = 0U;

    (void) memset(&config, 0, sizeof(config));
    (void) memset(&mqtt, 0, sizeof(mqtt));
    if (storedConfig.set)
    {
        config = storedConfig.config;
    }
    else
    {
        config.pEndpoint = environment("DEFENDER_ENDPOINT");
        config.pThingName = environment("DEFENDER_THING_NAME");
        config.pClientId = environment("DEFENDER_CLIENT_ID");
        config.pCaFile = environment("DEFENDER_CA_FILE");
        config.pCertFile = environment("DEFENDER_CERT_FILE");
        config.pKeyFile = environment("DEFENDER_KEY_FILE");
        config.pAlpn = environment("DEFENDER_ALPN");
        config.pStateDir = environment("DEFENDER_STATE_DIR");
        config.logLevel = parseLogLevel(environment("DEFENDER_LOG_LEVEL"), DEFENDER_LOG_WARN);
    }
    logLevel = config.logLevel;

    if (config.pThingName != NULL)
    {
        thingLength = strlen(config.pThingName);
    }
    if (config.pEndpoint == NULL)
    {
        (void) fprintf(stderr, "defender: no endpoint: set DEFENDER_ENDPOINT=host[:port] or "
                               "call DEFENDER_LinuxConfigSet()\n");
    }
    else if (!DefenderLinux_ParseEndpoint(config.pEndpoint, host, sizeof(host), &port))
    {
        (void) fprintf(stderr, "defender: invalid endpoint '%s': expected host[:port]\n",
                       config.pEndpoint);
    }
    else if (config.pThingName == NULL)
    {
        (void) fprintf(stderr, "defender: no thing name: set DEFENDER_THING_NAME or call "
                               "DEFENDER_LinuxConfigSet()\n");
    }
    else if ((thingLength > DEFENDER_CONFIG_MAX_THING_NAME_LENGTH) ||
             !Defender_ThingNameValid(config.pThingName, thingLength))
    {
        (void) fprintf(stderr,
                       "defender: invalid thing name (%zu bytes): 1..128 bytes of UTF-8 "
                       "without '/', '+', '#' or control characters\n",
                       thingLength);
    }
    else if ((config.maxListEntries > DEFENDER_CONFIG_MAX_LIST_ENTRIES))
    {
        (void) fprintf(stderr, "defender: at most %u list entries per list\n",
                       (unsigned) DEFENDER_CONFIG_MAX_LIST_ENTRIES);
    }
    else
    {
        status = DEFENDER_SUCCESS;
    }

    if (status == DEFENDER_SUCCESS)
    {
        (void) memcpy(thingName, config.pThingName, thingLength + 1U);
        mqtt.pHost = host;
        mqtt.port = port;
        mqtt.pClientId = (config.pClientId != NULL) ? config.pClientId : thingName;
        mqtt.pCaFile = config.pCaFile;
        mqtt.pCertFile = config.pCertFile;
        mqtt.pKeyFile = config.pKeyFile;
        mqtt.pAlpn = config.pAlpn;
        mqtt.backoffBaseMs = config.backoffBaseMs;
        mqtt.backoffMaxMs = config.backoffMaxMs;
        mqtt.pfLog = logToStderr;
        status = DefenderMosquitto_Init(&connection, &mqtt, error, sizeof(error));
        if (status != DEFENDER_SUCCESS)
        {
            (void) fprintf(stderr, "defender: %s\n", error);
        }
    }

    if (status == DEFENDER_SUCCESS)
    {
        sourceOptions.useNetlink = !config.procOnly;
        sourceOptions.pProcRoot = NULL;
        status = DefenderLinux_SourceInit(&metricsSource, &sourceOptions);
        if (status == DEFENDER_SUCCESS)
        {
            status = DefenderPosix_OsInit(&posixOs, pOs);
            if (status != DEFENDER_SUCCESS)
            {
                DefenderLinux_SourceDeinit(&metricsSource);
            }
        }
        if (status != DEFENDER_SUCCESS)
        {
            DefenderMosquitto_Deinit(&connection);
            (void) fprintf(stderr, "defender: cannot set up the metrics source or the task\n");
        }
    }

    if (status == DEFENDER_SUCCESS)
    {
        opened = true;
        pSettings->pThingName = thingName;
        pSettings->thingNameLength = thingLength;
        pSettings->pReportBuffer = reportBuffer;
        pSettings->reportBufferSize = sizeof(reportBuffer);
        pSettings->includeLoopback = config.includeLoopback;
        if (config.maxListEntries != 0U)
        {
            pSettings->maxListEntries = config.maxListEntries;
        }
        DefenderMosquitto_GetInterface(&connection, &pInterfaces->mqtt);
        DefenderPosix_ClockGet(&pInterfaces->clock);
        DefenderLinux_SourceGet(&metricsSource, &pInterfaces->metricsSource);
        if (statePath(config.pStateDir, thingName, path, sizeof(path)) &&
            (DefenderPosix_FileStoreInit(&fileStore, path, &pInterfaces->store) ==
             DEFENDER_SUCCESS))
        {
            /* Report ids survive restarts. */
        }
        else
        {
            (void) fprintf(stderr, "defender: [warn] no state folder: report ids rely on the "
                                   "wall clock alone\n");
        }
        pInterfaces->pfLog = logToStderr;
    }

    return status;
}

/** @brief DefenderPlatform_t::pfConnect for Linux. */
static DefenderStatus_t linuxConnect(DefenderRunner_t *pRunner)
{
    return DefenderMosquitto_Start(&connection, pRunner);
}

/** @brief DefenderPlatform_t::pfClose for Linux. */
static void linuxClose(void)
{
    if (opened)
    {
        DefenderMosquitto_Deinit(&connection);
        DefenderPosix_OsDeinit(&posixOs);
        DefenderLinux_SourceDeinit(&metricsSource);
        opened = false;
    }
}

const DefenderPlatform_t *DefenderPlatform_Get(void)
{
    static const DefenderPlatform_t platform = {linuxOpen, linuxConnect, linuxClose};
    return &platform;
}
