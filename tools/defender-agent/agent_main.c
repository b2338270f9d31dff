/**
 * @file agent_main.c
 * @brief defender-agent: the Linux device agent. Puts the host under AWS IoT Device
 * Defender (or a compatible service) using the library's context API, task runner,
 * and the POSIX, mosquitto and Linux metrics ports.
 *
 * Modes: service (report every period until SIGTERM/SIGINT), --once (one report,
 * exit status from its outcome) and --dry-run (print reports, connect nowhere).
 *
 * Threads: the main thread only waits for signals; the runner's task builds and
 * publishes reports (and runs custom-metric commands); the mosquitto port's thread
 * does the network. Between reports every thread sleeps.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "agent.h"
#include "defender_metrics_linux.h"
#include "defender_mosquitto.h"
#include "defender_posix.h"
#include "defender_protocol.h"
#include "defender_runner.h"

#ifndef DEFENDER_AGENT_VERSION
#define DEFENDER_AGENT_VERSION "1.0.0"
#endif

/** @brief Report buffer: the largest payload AWS IoT Core accepts (PD-10). */
#define REPORT_BUFFER_SIZE 131072U

/** @brief Default folder of the last-report-id file when running as root. */
#define SYSTEM_STATE_DIR "/var/lib/defender-agent"

static AgentConfig_t config;                     /**< The configuration. */
static DefenderLinuxSource_t metricsSource;      /**< Linux metrics (~170 KiB). */
static uint8_t reportBuffer[REPORT_BUFFER_SIZE]; /**< Report buffer. */
static DefenderContext_t agent;                  /**< The agent core. */
static DefenderRunner_t runner;                  /**< Its task. */
static DefenderPosixOs_t posixOs;                /**< OS services of the runner. */
static DefenderMosquitto_t connection;           /**< MQTT connection. */
static DefenderPosixFileStore_t fileStore;       /**< Last report id. */
static AgentCommandMetric_t commandMetrics[DEFENDER_CONFIG_MAX_CUSTOM_METRICS]; /**< Custom. */
static pthread_t mainThread;          /**< Woken with SIGUSR1 by --once. */
static atomic_int onceOutcome = -1;   /**< --once: exit status, -1 while waiting. */
static DefenderReportInfo_t onceInfo; /**< --once: the report (set before outcome). */
static atomic_bool anyPublished;      /**< A report was published. */
static uint32_t dryRunPrinted;        /**< --dry-run: reports printed. */

/**
 * @brief Text of a not-sent reason.
 * @param[in] reason Reason.
 * @return Text.
 */
static const char *notSentText(DefenderNotSentReason_t reason)
{
    const char *pText = "unknown reason";

    switch (reason)
    {
        case DEFENDER_NOT_SENT_NOT_CONNECTED:
            pText = "not connected to the broker";
            break;
        case DEFENDER_NOT_SENT_NOT_SUBSCRIBED:
            pText = "the response topics are not subscribed (check the policy)";
            break;
        case DEFENDER_NOT_SENT_ENCODE_FAILED:
            pText = "the report does not fit the report buffer";
            break;
        case DEFENDER_NOT_SENT_PUBLISH_FAILED:
            pText = "the publish call failed";
            break;
        default:
            break;
    }

    return pText;
}

/**
 * @brief Formats the one-line outcome of a report.
 * @param[in] event Event.
 * @param[in] pInfo Report.
 * @param[out] pText Buffer.
 * @param[in] size Its size.
 */
static void outcomeText(DefenderReportEvent_t event, const DefenderReportInfo_t *pInfo, char *pText,
                        size_t size)
{
    unsigned long long id = (unsigned long long) pInfo->reportId;

    switch (event)
    {
        case DEFENDER_EVENT_PUBLISHED:
            (void) snprintf(pText, size, "report %llu (%zu bytes): published, awaiting response",
                            id, pInfo->size);
            break;
        case DEFENDER_EVENT_ACCEPTED:
            (void) snprintf(pText, size, "report %llu (%zu bytes): accepted", id, pInfo->size);
            break;
        case DEFENDER_EVENT_REJECTED:
            (void) snprintf(pText, size,
                            "report %llu (%zu bytes): rejected: ErrorCode=%s ErrorMessage=\"%s\"%s",
                            id, pInfo->size, pInfo->errorCode, pInfo->errorMessage,
                            ((config.mode != AGENT_MODE_ONCE) &&
                             (strcmp(pInfo->errorCode, DEFENDER_ERROR_CODE_THROTTLED) == 0))
                                ? " (next report one period from now)"
                                : "");
            break;
        case DEFENDER_EVENT_NO_ACK:
            (void) snprintf(pText, size, "report %llu (%zu bytes): no acknowledgement within %u ms",
                            id, pInfo->size, (unsigned) config.ackTimeoutMs);
            break;
        default:
            /* A report that was not sent has no id: pInfo->reportId is the previous one's. */
            (void) snprintf(pText, size, "report not sent: %s", notSentText(pInfo->notSentReason));
            break;
    }
}

/**
 * @brief DefenderReportCallback_t: logs every report event and, with --once, records
 * the first final outcome and wakes the main thread.
 * @param[in] pContext Unused.
 * @param[in] event Event.
 * @param[in] pInfo Report.
 */
static void onReport(void *pContext, DefenderReportEvent_t event, const DefenderReportInfo_t *pInfo)
{
    char text[400];
    int code = -1;

    (void) pContext;
    if (config.mode == AGENT_MODE_DRY_RUN)
    {
        if (event == DEFENDER_EVENT_PUBLISHED)
        {
            Agent_Log(DEFENDER_LOG_INFO, "report %llu (%zu bytes): printed (dry run, not sent)",
                      (unsigned long long) pInfo->reportId, pInfo->size);
        }
        else if (event == DEFENDER_EVENT_NOT_SENT)
        {
            outcomeText(event, pInfo, text, sizeof(text));
            Agent_Log(DEFENDER_LOG_ERROR, "%s", text);
        }
        else
        {
            /* The dry run's own acknowledgements. */
        }
    }
    else
    {
        outcomeText(event, pInfo, text, sizeof(text));
        Agent_Log((event == DEFENDER_EVENT_ACCEPTED)    ? DEFENDER_LOG_INFO
                  : (event == DEFENDER_EVENT_PUBLISHED) ? DEFENDER_LOG_DEBUG
                                                        : DEFENDER_LOG_WARN,
                  "%s", text);
        code = (event == DEFENDER_EVENT_ACCEPTED)   ? AGENT_EXIT_OK
               : (event == DEFENDER_EVENT_REJECTED) ? AGENT_EXIT_REJECTED
               : (event == DEFENDER_EVENT_NO_ACK)   ? AGENT_EXIT_NO_ACK
               : (event == DEFENDER_EVENT_NOT_SENT) ? AGENT_EXIT_NOT_SENT
                                                    : -1;
        if (event == DEFENDER_EVENT_PUBLISHED)
        {
            atomic_store(&anyPublished, true);
        }
        if ((config.mode == AGENT_MODE_ONCE) && (code >= 0) && (atomic_load(&onceOutcome) < 0))
        {
            onceInfo = *pInfo;
            atomic_store(&onceOutcome, code);
            (void) pthread_kill(mainThread, SIGUSR1);
        }
    }
}

/**
 * @brief Checks a PEM file with OpenSSL so that a bad certificate or key is reported
 * at start, not as a failing TLS handshake later.
 * @param[in] pPath File.
 * @param[in] pWhat "CA certificate", "certificate" or "key".
 * @param[in] isKey Read a private key instead of a certificate.
 * @param[out] ppCertificate Optional: the certificate read (caller frees).
 * @param[out] ppKey Optional: the key read (caller frees).
 * @return true when the file holds what is expected.
 */
static bool checkPemFile(const char *pPath, const char *pWhat, bool isKey, X509 **ppCertificate,
                         EVP_PKEY **ppKey)
{
    FILE *pFile = fopen(pPath, "r");
    X509 *pCertificate = NULL;
    EVP_PKEY *pKey = NULL;
    bool ok = false;

    if (pFile == NULL)
    {
        Agent_Log(DEFENDER_LOG_ERROR, "cannot read the %s file %s: %s", pWhat, pPath,
                  strerror(errno));
    }
    else
    {
        if (isKey)
        {
            pKey = PEM_read_PrivateKey(pFile, NULL, NULL, NULL);
            ok = (pKey != NULL);
        }
        else
        {
            pCertificate = PEM_read_X509(pFile, NULL, NULL, NULL);
            ok = (pCertificate != NULL);
        }
        (void) fclose(pFile);
        if (!ok)
        {
            Agent_Log(DEFENDER_LOG_ERROR, "the %s file %s does not hold a PEM %s", pWhat, pPath,
                      isKey ? "private key (unencrypted)" : "certificate");
        }
        ERR_clear_error();
    }
    if ((ppCertificate != NULL) && ok)
    {
        *ppCertificate = pCertificate;
    }
    else
    {
        X509_free(pCertificate);
    }
    if ((ppKey != NULL) && ok)
    {
        *ppKey = pKey;
    }
    else
    {
        EVP_PKEY_free(pKey);
    }

    return ok;
}

/**
 * @brief Checks the TLS files: readable, PEM, the key matching the certificate, and
 * warns about a certificate outside its validity period.
 * @return true when usable.
 */
static bool checkTlsFiles(void)
{
    X509 *pCertificate = NULL;
    EVP_PKEY *pKey = NULL;
    bool ok = true;

    if (config.caFile[0] != '\0')
    {
        ok = checkPemFile(config.caFile, "CA certificate", false, NULL, NULL);
    }
    if (ok && (config.certFile[0] != '\0'))
    {
        ok = checkPemFile(config.certFile, "certificate", false, &pCertificate, NULL) &&
             checkPemFile(config.keyFile, "key", true, NULL, &pKey);
        if (ok && (X509_check_private_key(pCertificate, pKey) != 1))
        {
            Agent_Log(DEFENDER_LOG_ERROR, "the key %s does not belong to the certificate %s",
                      config.keyFile, config.certFile);
            ok = false;
        }
        if (ok && (X509_cmp_current_time(X509_get0_notAfter(pCertificate)) < 0))
        {
            Agent_Log(DEFENDER_LOG_WARN, "the certificate %s has expired", config.certFile);
        }
        ERR_clear_error();
    }
    X509_free(pCertificate);
    EVP_PKEY_free(pKey);

    return ok;
}

/**
 * @brief Sets up the file that keeps the last report id: --state-dir, else
 * $STATE_DIRECTORY (systemd), else /var/lib/defender-agent for root, else $XDG_STATE_HOME or
 * ~/.local/state.
 * @param[out] pInterfaces Receives the store.
 */
static void setUpStore(DefenderInterfaces_t *pInterfaces)
{
    char folder[AGENT_PATH_SIZE + 64U];
    char path[AGENT_PATH_SIZE + 256U];
    const char *pXdg = getenv("XDG_STATE_HOME");
    const char *pHome = getenv("HOME");
    const char *pSystemd = getenv("STATE_DIRECTORY");
    bool ok = true;

    if (config.stateDir[0] != '\0')
    {
        (void) snprintf(folder, sizeof(folder), "%s", config.stateDir);
    }
    else if ((pSystemd != NULL) && (pSystemd[0] == '/') && (strchr(pSystemd, ':') == NULL))
    {
        /* StateDirectory= of the systemd unit. */
        (void) snprintf(folder, sizeof(folder), "%s", pSystemd);
    }
    else if (geteuid() == 0)
    {
        (void) snprintf(folder, sizeof(folder), "%s", SYSTEM_STATE_DIR);
    }
    else if ((pXdg != NULL) && (pXdg[0] != '\0'))
    {
        (void) snprintf(folder, sizeof(folder), "%s/defender-agent", pXdg);
    }
    else if ((pHome != NULL) && (pHome[0] != '\0'))
    {
        (void) snprintf(folder, sizeof(folder), "%s/.local/state", pHome);
        (void) mkdir(folder, 0700);
        (void) snprintf(folder, sizeof(folder), "%s/.local/state/defender-agent", pHome);
    }
    else
    {
        ok = false;
    }
    ok = ok && (snprintf(path, sizeof(path), "%s/%s.last-report-id", folder, config.thing) <
                (int) sizeof(path));
    if (ok &&
        (DefenderPosix_FileStoreInit(&fileStore, path, &pInterfaces->store) == DEFENDER_SUCCESS))
    {
        Agent_Log(DEFENDER_LOG_DEBUG, "last report id kept in %s", path);
    }
    else
    {
        Agent_Log(DEFENDER_LOG_WARN,
                  "no state folder (--state-dir): report ids rely on the wall clock alone");
    }
}

/**
 * @brief Initialises the agent core with the configuration, interfaces and custom
 * metrics.
 * @param[in,out] pInterfaces Interfaces (MQTT and clock filled by the caller).
 * @return true on success.
 */
static bool setUpAgent(DefenderInterfaces_t *pInterfaces)
{
    DefenderSettings_t settings;
    DefenderLinuxSourceOptions_t sourceOptions = {!config.procOnly, NULL};
    DefenderStatus_t status;
    bool ok = true;
    size_t i;

    (void) DefenderLinux_SourceInit(&metricsSource, &sourceOptions);
    DefenderLinux_SourceGet(&metricsSource, &pInterfaces->metricsSource);
    pInterfaces->pfLog = Agent_LogCallback;
    pInterfaces->pfReport = onReport;
    pInterfaces->pCallbackContext = NULL;

    Defender_DefaultSettings(&settings);
    settings.pThingName = config.thing;
    settings.thingNameLength = config.thingLength;
    settings.format = config.format;
    settings.keys = config.keys;
    settings.metrics = config.metrics;
    settings.periodSeconds = config.periodSeconds;
    settings.ackTimeoutMs = config.ackTimeoutMs;
    settings.maxListEntries = config.maxListEntries;
    settings.includeLoopback = config.includeLoopback;
    settings.pReportBuffer = reportBuffer;
    settings.reportBufferSize = sizeof(reportBuffer);

    status = Defender_Init(&agent, &settings, pInterfaces);
    if (status != DEFENDER_SUCCESS)
    {
        Agent_Log(DEFENDER_LOG_ERROR, "cannot initialise the agent: %s",
                  Defender_StatusString(status));
        ok = false;
    }
    for (i = 0U; ok && (i < config.customCount); i++)
    {
        DefenderCustomMetric_t metric;

        commandMetrics[i].pName = config.custom[i].name;
        commandMetrics[i].type = config.custom[i].type;
        commandMetrics[i].pCommand = config.custom[i].command;
        commandMetrics[i].timeoutMs = config.commandTimeoutMs;
        metric.pName = config.custom[i].name;
        metric.type = config.custom[i].type;
        metric.pfRead = AgentCommand_Read;
        metric.pUserContext = &commandMetrics[i];
        status = Defender_AddCustomMetric(&agent, &metric);
        if (status != DEFENDER_SUCCESS)
        {
            Agent_Log(DEFENDER_LOG_ERROR, "custom metric '%s' refused: %s", metric.pName,
                      Defender_StatusString(status));
            ok = false;
        }
    }

    return ok;
}

/** @brief --dry-run MQTT interface: every subscription is granted at once. */
static DefenderMqttStatus_t drySubscribe(void *pContext, const char *pTopic, size_t topicLength)
{
    (void) pContext;
    (void) pTopic;
    (void) topicLength;
    return DEFENDER_MQTT_SUCCESS;
}

/** @brief --dry-run MQTT interface: prints the report (JSON text, or CBOR as hex). */
static DefenderMqttStatus_t dryPublish(void *pContext, const char *pTopic, size_t topicLength,
                                       const uint8_t *pPayload, size_t payloadLength)
{
    size_t i;

    (void) pContext;
    (void) topicLength;
    Agent_Log(DEFENDER_LOG_DEBUG, "would publish on %s", pTopic);
    if (config.format == DEFENDER_FORMAT_JSON)
    {
        (void) fwrite(pPayload, 1U, payloadLength, stdout);
    }
    else
    {
        for (i = 0U; i < payloadLength; i++)
        {
            (void) printf("%02x", (unsigned) pPayload[i]);
        }
    }
    (void) putchar('\n');
    (void) fflush(stdout);
    dryRunPrinted++;

    return DEFENDER_MQTT_SUCCESS;
}

/**
 * @brief --dry-run: answers the report just "published" with ACCEPTED, so that the
 * next report follows the normal path (network statistics baseline, rotation).
 */
static void dryAcknowledge(void)
{
    char topic[DEFENDER_TOPIC_BUFFER_SIZE];
    uint8_t payload[128];
    size_t topicLength = 0U;
    size_t length = 0U;
    uint64_t id = agent.last.reportId;
    size_t i;

    (void) Defender_GetTopic(topic, sizeof(topic), config.thing, config.thingLength, config.format,
                             DEFENDER_TOPIC_ACCEPTED, &topicLength);
    if (config.format == DEFENDER_FORMAT_JSON)
    {
        length = (size_t) snprintf((char *) payload, sizeof(payload),
                                   "{\"reportId\":%llu,\"status\":\"ACCEPTED\"}",
                                   (unsigned long long) id);
    }
    else
    {
        static const uint8_t head[] = {0xA2U, 0x68U, 'r', 'e', 'p', 'o', 'r', 't', 'I', 'd', 0x1BU};
        static const uint8_t tail[] = {0x66U, 's', 't', 'a', 't', 'u', 's', 0x68U,
                                       'A',   'C', 'C', 'E', 'P', 'T', 'E', 'D'};
        (void) memcpy(payload, head, sizeof(head));
        length = sizeof(head);
        for (i = 0U; i < 8U; i++)
        {
            payload[length++] = (uint8_t) (id >> (56U - (8U * i)));
        }
        (void) memcpy(&payload[length], tail, sizeof(tail));
        length += sizeof(tail);
    }
    (void) Defender_OnMessage(&agent, topic, topicLength, payload, length);
}

/**
 * @brief Waits up to `ms` for SIGTERM/SIGINT.
 * @param[in] pSignals The blocked stop signals.
 * @param[in] ms Time.
 * @return true when a stop signal arrived.
 */
static bool waitForStop(const sigset_t *pSignals, uint32_t ms)
{
    struct timespec timeout;
    int signal;

    timeout.tv_sec = (time_t) (ms / 1000U);
    timeout.tv_nsec = (long) (ms % 1000U) * 1000000L;
    signal = sigtimedwait(pSignals, NULL, &timeout);

    return (signal == SIGTERM) || (signal == SIGINT);
}

/**
 * @brief --dry-run: collects and encodes reports like the service mode, printing them
 * instead of publishing; the clock is real, so --count N prints one per period.
 * @param[in] pSignals The blocked stop signals.
 * @return Exit status.
 */
static int runDry(const sigset_t *pSignals)
{
    DefenderInterfaces_t interfaces;
    uint32_t msUntilNext = 0U;
    uint32_t printed = 0U;
    bool stop = false;
    int exitCode = AGENT_EXIT_USAGE;

    (void) memset(&interfaces, 0, sizeof(interfaces));
    interfaces.mqtt.pfSubscribe = drySubscribe;
    interfaces.mqtt.pfPublish = dryPublish;
    DefenderPosix_ClockGet(&interfaces.clock);
    if (setUpAgent(&interfaces) && (Defender_Start(&agent) == DEFENDER_SUCCESS))
    {
        exitCode = AGENT_EXIT_OK;
        Defender_OnConnectionChanged(&agent, true, false);
        while (!stop && (dryRunPrinted < config.count))
        {
            (void) Defender_Process(&agent, &msUntilNext);
            if (dryRunPrinted != printed)
            {
                printed = dryRunPrinted;
                dryAcknowledge();
            }
            else if (Defender_GetReportStatus(&agent) == eDefenderRepNotSent)
            {
                exitCode = AGENT_EXIT_NOT_SENT;
                stop = true;
            }
            else
            {
                /* Nothing due yet. */
            }
            if (!stop && (dryRunPrinted < config.count))
            {
                stop = waitForStop(pSignals, msUntilNext);
            }
        }
        (void) Defender_Stop(&agent);
    }
    DefenderLinux_SourceDeinit(&metricsSource);

    return exitCode;
}

/**
 * @brief Service and --once modes: connects, reports, and waits for a stop signal
 * (or, with --once, for the first report's outcome).
 * @param[in] pSignals The blocked signals (SIGTERM, SIGINT, SIGUSR1).
 * @return Exit status.
 */
static int runConnected(const sigset_t *pSignals)
{
    DefenderInterfaces_t interfaces;
    DefenderMosquittoSettings_t mqtt;
    DefenderOsInterface_t os;
    char error[AGENT_PATH_SIZE + 256U];
    int exitCode = AGENT_EXIT_USAGE;
    bool connectionReady = false;
    bool osReady = false;
    bool running = false;
    int signal = 0;

    (void) memset(&interfaces, 0, sizeof(interfaces));
    (void) memset(&mqtt, 0, sizeof(mqtt));
    mqtt.pHost = config.host;
    mqtt.port = config.port;
    mqtt.pClientId = (config.clientId[0] != '\0') ? config.clientId : config.thing;
    mqtt.pCaFile = (config.caFile[0] != '\0') ? config.caFile : NULL;
    mqtt.pCertFile = (config.certFile[0] != '\0') ? config.certFile : NULL;
    mqtt.pKeyFile = (config.keyFile[0] != '\0') ? config.keyFile : NULL;
    mqtt.pAlpn = (config.alpn[0] != '\0') ? config.alpn : NULL;
    mqtt.pfLog = Agent_LogCallback;
    if (config.mode == AGENT_MODE_ONCE)
    {
        /* Retry quickly: the whole attempt lasts one acknowledgement wait. */
        mqtt.backoffBaseMs = 250U;
        mqtt.backoffMaxMs = 2000U;
    }

    if (!checkTlsFiles())
    {
        /* Logged. */
    }
    else if (DefenderMosquitto_Init(&connection, &mqtt, error, sizeof(error)) != DEFENDER_SUCCESS)
    {
        Agent_Log(DEFENDER_LOG_ERROR, "%s", error);
    }
    else if (DefenderPosix_OsInit(&posixOs, &os) != DEFENDER_SUCCESS)
    {
        connectionReady = true;
        Agent_Log(DEFENDER_LOG_ERROR, "cannot create the agent's thread primitives");
    }
    else
    {
        connectionReady = true;
        osReady = true;
        if (mqtt.pCaFile == NULL)
        {
            Agent_Log(DEFENDER_LOG_WARN, "no --ca given: connecting without TLS");
        }
        DefenderMosquitto_GetInterface(&connection, &interfaces.mqtt);
        DefenderPosix_ClockGet(&interfaces.clock);
        setUpStore(&interfaces);
        if (setUpAgent(&interfaces) &&
            (DefenderRunner_Init(&runner, &agent, &os) == DEFENDER_SUCCESS) &&
            (DefenderRunner_Start(&runner) == DEFENDER_SUCCESS))
        {
            running = true;
            if (DefenderMosquitto_Start(&connection, &runner) != DEFENDER_SUCCESS)
            {
                Agent_Log(DEFENDER_LOG_ERROR, "cannot start the network thread");
                running = false;
                (void) DefenderRunner_Stop(&runner);
            }
        }
    }

    if (running)
    {
        Agent_Log(DEFENDER_LOG_INFO,
                  "reporting as thing '%s' to %s:%u every %u s (%s, %s keys%s)%s", config.thing,
                  config.host, (unsigned) config.port, (unsigned) config.periodSeconds,
                  (config.format == DEFENDER_FORMAT_JSON) ? "json" : "cbor",
                  (config.keys == DEFENDER_KEYS_LONG) ? "long" : "short",
                  (mqtt.pCaFile != NULL) ? ", TLS" : "",
                  (config.mode == AGENT_MODE_ONCE) ? ", once" : "");
        while ((signal != SIGTERM) && (signal != SIGINT) && (atomic_load(&onceOutcome) < 0))
        {
            signal = sigwaitinfo(pSignals, NULL);
        }
        if ((signal == SIGTERM) || (signal == SIGINT))
        {
            Agent_Log(DEFENDER_LOG_INFO, "%s received: stopping",
                      (signal == SIGTERM) ? "SIGTERM" : "SIGINT");
        }
        (void) DefenderRunner_Stop(&runner);
        exitCode = AGENT_EXIT_OK;
    }
    if (connectionReady)
    {
        DefenderMosquitto_Deinit(&connection);
    }
    if (osReady)
    {
        DefenderPosix_OsDeinit(&posixOs);
    }
    DefenderLinux_SourceDeinit(&metricsSource);

    if (running && (config.mode == AGENT_MODE_ONCE))
    {
        char text[400];
        int outcome = atomic_load(&onceOutcome);

        if (outcome >= 0)
        {
            DefenderReportEvent_t event =
                (outcome == AGENT_EXIT_OK)         ? DEFENDER_EVENT_ACCEPTED
                : (outcome == AGENT_EXIT_REJECTED) ? DEFENDER_EVENT_REJECTED
                : (outcome == AGENT_EXIT_NO_ACK)   ? DEFENDER_EVENT_NO_ACK
                                                   : DEFENDER_EVENT_NOT_SENT;
            outcomeText(event, &onceInfo, text, sizeof(text));
            exitCode = outcome;
        }
        else
        {
            /* Interrupted before the outcome. */
            exitCode = atomic_load(&anyPublished) ? AGENT_EXIT_NO_ACK : AGENT_EXIT_NOT_SENT;
            (void) snprintf(text, sizeof(text), "interrupted before the report's outcome");
        }
        (void) printf("%s\n", text);
        (void) fflush(stdout);
    }

    return exitCode;
}

/**
 * @brief The program.
 * @param[in] argc, argv Command line.
 * @return Exit status (AgentExit_t).
 */
int main(int argc, char **argv)
{
    sigset_t signals;
    int exitCode = AGENT_EXIT_USAGE;

    switch (AgentOptions_Parse(&config, argc, argv))
    {
        case AGENT_OPTIONS_HELP:
            AgentOptions_PrintHelp();
            exitCode = AGENT_EXIT_OK;
            break;
        case AGENT_OPTIONS_VERSION:
            (void) printf("defender-agent %s\n", DEFENDER_AGENT_VERSION);
            exitCode = AGENT_EXIT_OK;
            break;
        case AGENT_OPTIONS_RUN:
            Agent_LogSetLevel(config.logLevel);
            /* Every thread inherits this mask: only the main thread takes the signals. */
            (void) sigemptyset(&signals);
            (void) sigaddset(&signals, SIGTERM);
            (void) sigaddset(&signals, SIGINT);
            (void) sigaddset(&signals, SIGUSR1);
            (void) pthread_sigmask(SIG_BLOCK, &signals, NULL);
            (void) signal(SIGPIPE, SIG_IGN);
            mainThread = pthread_self();
            exitCode =
                (config.mode == AGENT_MODE_DRY_RUN) ? runDry(&signals) : runConnected(&signals);
            break;
        default:
            break;
    }

    return exitCode;
}
