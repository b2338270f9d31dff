/**
 * @file defender_core.h
 * @brief The Device Defender agent core: a context-based, event-driven state machine.
 *
 * The core does no I/O, uses no heap and calls no OS function. Time, incoming
 * messages and connection events go in; publishes and subscriptions go out
 * through the interfaces given to Defender_Init(). A bare-metal main loop drives it
 * by calling Defender_Process() whenever an event arrived or the time it returned
 * has passed; an RTOS or POSIX port runs the same loop in a task (see
 * defender_runner.h). The seed's singleton API (defender.h) is a thin layer over
 * one such context.
 *
 * Concurrency: one context must not be entered from two threads at once; the
 * runner serialises all calls with its lock. The event functions
 * (Defender_OnConnectionChanged, Defender_OnSubscribeResult, Defender_OnMessage)
 * only record state (reading the clock at most) and never call the MQTT interface,
 * the metrics source or the store, so a port may call them from inside its own
 * interface functions.
 */
#ifndef DEFENDER_CORE_H
#define DEFENDER_CORE_H

#include "defender_types.h"
#include "defender_protocol.h"
#include "defender_report.h"
#include "defender_mqtt_interface.h"
#include "defender_clock_interface.h"
#include "defender_store_interface.h"
#include "defender_metrics_source.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Log levels of the core's messages. */
typedef enum
{
    DEFENDER_LOG_ERROR = 0,
    DEFENDER_LOG_WARN,
    DEFENDER_LOG_INFO,
    DEFENDER_LOG_DEBUG
} DefenderLogLevel_t;

/** @brief What happened to a report (passed to the report callback). */
typedef enum
{
    DEFENDER_EVENT_PUBLISHED = 0, /**< Published; waiting for the response. */
    DEFENDER_EVENT_ACCEPTED,      /**< Matching ACCEPTED response. */
    DEFENDER_EVENT_REJECTED,      /**< Matching REJECTED response (see error code/message). */
    DEFENDER_EVENT_NO_ACK,        /**< No response within the acknowledgement timeout. */
    DEFENDER_EVENT_NOT_SENT       /**< Could not be published (see notSentReason). */
} DefenderReportEvent_t;

/** @brief Why a report was not sent. */
typedef enum
{
    DEFENDER_NOT_SENT_NONE = 0,
    DEFENDER_NOT_SENT_NOT_CONNECTED,  /**< No MQTT connection. */
    DEFENDER_NOT_SENT_NOT_SUBSCRIBED, /**< Response topics not (yet) subscribed. */
    DEFENDER_NOT_SENT_ENCODE_FAILED,  /**< Report does not fit the buffer even without lists. */
    DEFENDER_NOT_SENT_PUBLISH_FAILED  /**< The publish call failed. */
} DefenderNotSentReason_t;

/** @brief Information about the latest report. */
typedef struct DefenderReportInfo
{
    uint64_t reportId;                     /**< Id of the report (0 before the first). */
    size_t size;                           /**< Encoded size in bytes. */
    DefenderReportStatus_t status;         /**< Status as DEFENDER_ReportStatusGet reports it. */
    DefenderNotSentReason_t notSentReason; /**< For eDefenderRepNotSent. */
    char errorCode[DEFENDER_CONFIG_MAX_ERROR_CODE_LENGTH + 1U];       /**< Rejected: ErrorCode. */
    char errorMessage[DEFENDER_CONFIG_MAX_ERROR_MESSAGE_LENGTH + 1U]; /**< Rejected: message. */
} DefenderReportInfo_t;

/** @brief Counters of what the agent did and what it ignored. */
typedef struct DefenderCounters
{
    uint32_t reportsPublished;   /**< Successful publish calls. */
    uint32_t reportsAccepted;    /**< Matching ACCEPTED responses. */
    uint32_t reportsRejected;    /**< Matching REJECTED responses. */
    uint32_t reportsThrottled;   /**< ... of which Throttled. */
    uint32_t reportsNoAck;       /**< Acknowledgement timeouts. */
    uint32_t reportsNotSent;     /**< Reports not published. */
    uint32_t responsesMalformed; /**< Responses that did not decode or contradict their topic. */
    uint32_t responsesForeign;   /**< Valid responses for another report id or thing. */
    uint32_t responsesLate;      /**< Responses for the latest report after its timeout. */
    uint32_t messagesIgnored;    /**< Messages on topics that are not ours. */
    uint32_t listEntriesDropped; /**< Entries left out of reports to fit the buffer. */
    uint32_t interfacesDropped;  /**< Interfaces beyond DEFENDER_CONFIG_MAX_INTERFACES. */
    uint32_t sourceErrors;       /**< Metric groups the source failed to collect. */
    uint32_t customMetricErrors; /**< Custom values left out as invalid. */
    uint32_t storeErrors;        /**< Failed saves of the last report id. */
} DefenderCounters_t;

/**
 * @brief Called for each report event. Runs inside Defender_Process() or
 * Defender_OnMessage(); must not call back into the same context.
 */
typedef void (*DefenderReportCallback_t)(void *pUserContext, DefenderReportEvent_t event,
                                         const DefenderReportInfo_t *pInfo);

/** @brief Log sink; `pMessage` is a constant string. What became of a report (no
 * acknowledgement, rejected, throttled, not sent) is logged only when no report callback
 * is set: an application that takes the events logs them itself, with their details. */
typedef void (*DefenderLogCallback_t)(void *pUserContext, DefenderLogLevel_t level,
                                      const char *pMessage);

/** @brief Everything the core talks to. */
typedef struct DefenderInterfaces
{
    DefenderMqttInterface_t mqtt;          /**< Required. */
    DefenderClockInterface_t clock;        /**< Required (pfMonotonicMs). */
    DefenderMetricsSource_t metricsSource; /**< Required when a standard group is enabled. */
    DefenderStoreInterface_t store;        /**< Optional: both functions NULL for none. */
    DefenderLogCallback_t pfLog;           /**< Optional. */
    DefenderReportCallback_t pfReport;     /**< Optional. */
    void *pCallbackContext;                /**< Passed to pfLog and pfReport. */
} DefenderInterfaces_t;

/** @brief Settings of one agent, fixed while it runs. */
typedef struct DefenderSettings
{
    const char *pThingName;  /**< Thing name (PD-2); copied. */
    size_t thingNameLength;  /**< Its length. */
    DefenderFormat_t format; /**< JSON (default) or CBOR. */
    DefenderKeyStyle_t keys; /**< Long or short (default short). */
    uint32_t metrics;        /**< DEFENDER_METRIC_* mask; default all. */
    uint32_t periodSeconds;  /**< Report period; default DEFENDER_CONFIG_DEFAULT_PERIOD_SECONDS. */
    uint32_t ackTimeoutMs; /**< Response timeout; default DEFENDER_CONFIG_DEFAULT_ACK_TIMEOUT_MS. */
    uint16_t maxListEntries; /**< Entries listed per list, 1..DEFENDER_CONFIG_MAX_LIST_ENTRIES. */
    bool includeLoopback;    /**< Count loopback traffic in network_stats (default false). */
    uint8_t *pReportBuffer;  /**< Report buffer, owned by the caller. */
    size_t reportBufferSize; /**< Its size. */
} DefenderSettings_t;

/** @brief Sink state; filled by the core before each collection. */
struct DefenderMetricsSink
{
    DefenderMetricGroup_t group; /**< Group being collected. */
    uint8_t *pHead;              /**< First entries (interface counters for network stats). */
    uint8_t *pWindow;            /**< Window entries (NULL for network stats). */
    size_t entrySize;            /**< Size of one entry of the group's type. */
    size_t capacity;             /**< Entries kept per array. */
    uint32_t windowStart;        /**< First index of the rotation window (computed in 32 bits). */
    uint64_t seen;               /**< Entries delivered so far (the true total). */
    size_t headCount;            /**< Entries in the head array. */
    size_t windowCount;          /**< Entries in the window array. */
    size_t interfaceCount;       /**< Interfaces collected (network stats). */
    uint32_t interfacesDropped;  /**< Interfaces beyond capacity. */
};

/**
 * @brief Longest report period in seconds: the core keeps times modulo 2^32 ms and
 * needs periods under 2^31 ms (about 24 days).
 */
#define DEFENDER_MAX_PERIOD_SECONDS 2000000U

/** @brief Internal state of the agent's lifecycle. */
typedef enum
{
    DEFENDER_STATE_STOPPED = 0, /**< Not started. */
    DEFENDER_STATE_WAITING,     /**< Started; waiting for the next report time. */
    DEFENDER_STATE_IN_FLIGHT    /**< A report was published; waiting for its response. */
} DefenderState_t;

/** @brief Subscription state of one response topic. */
typedef enum
{
    DEFENDER_SUB_NONE = 0, /**< Not subscribed (or lost with the session). */
    DEFENDER_SUB_PENDING,  /**< Requested, SUBACK awaited. */
    DEFENDER_SUB_GRANTED,  /**< Granted. */
    DEFENDER_SUB_FAILED    /**< Refused by the broker; retried on the next report. */
} DefenderSubscriptionState_t;

/** @brief Interface counters read at one collection. */
typedef struct DefenderInterfaceSnapshot
{
    size_t count;  /**< Entries in use. */
    bool complete; /**< The read dropped no interface (PD-25). */
    DefenderInterfaceCounters_t entries[DEFENDER_CONFIG_MAX_INTERFACES]; /**< The counters. */
} DefenderInterfaceSnapshot_t;

/**
 * @brief One agent. Allocate it (statically, on a stack, or however the
 * application likes) and initialise it with Defender_Init(); treat the fields
 * as private.
 */
typedef struct DefenderContext
{
    /* The fields used most come first: a Thumb-2 load or store reaches the first 32 bytes
     * (bytes) and 128 bytes (words) with a 16-bit instruction. */
    DefenderState_t state;
    bool connected;
    bool throttled;          /**< throttledUntilMs is set. */
    bool notSentRecorded;    /**< NotSent was recorded for the report that is due. */
    bool firstReportDone;    /**< The first report has been attempted. */
    bool lastReportIdLoaded; /**< The store was read. */
    bool latestAwaitingLate; /**< Latest report timed out; a late response may still come. */
    bool haveBaseline;       /**< baseline holds the counters of a published report. */
    DefenderSubscriptionState_t subscriptions[2]; /**< accepted, rejected. */
    uint32_t nextReportMs;       /**< Monotonic time (mod 2^32) the next report is due. */
    uint32_t lastAttemptMs;      /**< Monotonic time of the last report attempt. */
    uint32_t throttledUntilMs;   /**< No report before this time (after Throttled). */
    uint32_t throttledSpanMs;    /**< The period it was set with (Start bound). */
    uint32_t notSentUntilMs;     /**< A blocked due report records NotSent again then. */
    uint32_t inFlightDeadlineMs; /**< End of the acknowledgement wait. */
    size_t customMetricCount;    /**< Entries of customMetrics in use. */
    uint64_t lastReportId;       /**< Last id used (0: none yet). */
    uint32_t reportNumber;       /**< Reports built since start (rotation index k), modulo 2^32:
                                      Defender_SinkInit uses its low 32 bits only. */
    DefenderCounters_t counters;
    DefenderInterfaces_t interfaces;
    DefenderSettings_t settings;
    DefenderReportInfo_t last; /**< Latest report. */

    uint64_t listTotals[3]; /**< Entries seen at the previous collection (PD-26 estimate):
                                 connections, TCP ports, UDP ports. */
    char thingName[DEFENDER_CONFIG_MAX_THING_NAME_LENGTH + 1U];
    DefenderCustomMetric_t customMetrics[DEFENDER_CONFIG_MAX_CUSTOM_METRICS + 1U];
    DefenderConnection_t connections[2][DEFENDER_CONFIG_MAX_LIST_ENTRIES]; /**< Head, window. */
    DefenderListeningPort_t ports[2][2][DEFENDER_CONFIG_MAX_LIST_ENTRIES]; /**< [TCP, UDP][head,
                                                                                window]. */
    DefenderInterfaceSnapshot_t interfacesNow;                             /**< Last read. */
    DefenderInterfaceSnapshot_t baseline; /**< Those of the last published report. */
} DefenderContext_t;

/**
 * @brief Fills settings with the defaults: JSON, short keys, every standard group,
 * the default period and timeout, DEFENDER_CONFIG_MAX_LIST_ENTRIES entries per list.
 * The thing name and report buffer stay to be set.
 */
void Defender_DefaultSettings(DefenderSettings_t *pSettings);

/**
 * @brief Initialises a context.
 * @return DEFENDER_SUCCESS; DEFENDER_BAD_PARAMETER for NULL pointers, a missing
 *         required interface function, an invalid thing name (PD-2), an unknown
 *         format/key style/metric bit, maxListEntries out of range, or no report buffer;
 *         DEFENDER_PERIOD_TOO_SHORT for a period under the minimum.
 */
DefenderStatus_t Defender_Init(DefenderContext_t *pContext, const DefenderSettings_t *pSettings,
                               const DefenderInterfaces_t *pInterfaces);

/**
 * @brief Selects the standard metric groups (DEFENDER_METRIC_* mask). Only while stopped.
 * @return DEFENDER_SUCCESS, DEFENDER_BAD_PARAMETER, DEFENDER_ALREADY_STARTED.
 */
DefenderStatus_t Defender_SetMetrics(DefenderContext_t *pContext, uint32_t metrics);

/**
 * @brief Sets the report period. Allowed while running: takes effect from the next
 * report. Periods under 300 s log a warning.
 * @return DEFENDER_SUCCESS, DEFENDER_BAD_PARAMETER (NULL), DEFENDER_PERIOD_TOO_SHORT.
 */
DefenderStatus_t Defender_SetPeriod(DefenderContext_t *pContext, uint32_t periodSeconds);

/**
 * @brief Sets the response timeout in ms (1 or more). Allowed while running.
 */
DefenderStatus_t Defender_SetAckTimeout(DefenderContext_t *pContext, uint32_t timeoutMs);

/**
 * @brief Registers a custom metric. Only while stopped.
 * @return DEFENDER_SUCCESS; DEFENDER_BAD_PARAMETER for an invalid name (1..128 of
 *         [a-zA-Z0-9:_-], not `aws:`), type or NULL callback; DEFENDER_DUPLICATE
 *         for a name registered already; DEFENDER_TOO_MANY when the table is full;
 *         DEFENDER_ALREADY_STARTED.
 */
DefenderStatus_t Defender_AddCustomMetric(DefenderContext_t *pContext,
                                          const DefenderCustomMetric_t *pMetric);

/**
 * @brief Starts reporting: status becomes eDefenderRepInit, the response topics
 * are subscribed at the next Defender_Process(), and the first report goes out as
 * soon as both are granted, or, when the last report before a Defender_Stop() was
 * Throttled, once that postponement is over (one period after the rejection).
 * @return DEFENDER_SUCCESS, DEFENDER_BAD_PARAMETER, DEFENDER_ALREADY_STARTED.
 */
DefenderStatus_t Defender_Start(DefenderContext_t *pContext);

/**
 * @brief Stops reporting at once (a report in flight is abandoned; its status stays
 * NoAck). Unsubscribes when the interface offers it. Returns immediately.
 * @return DEFENDER_SUCCESS, DEFENDER_BAD_PARAMETER, DEFENDER_NOT_STARTED.
 */
DefenderStatus_t Defender_Stop(DefenderContext_t *pContext);

/** @brief true between Defender_Start() and Defender_Stop(). */
bool Defender_IsStarted(const DefenderContext_t *pContext);

/**
 * @brief Does all work that is due: subscriptions, the report, timeouts.
 * @param[out] pMsUntilNext Optional: milliseconds until the next call is needed
 *             (UINT32_MAX when stopped); call earlier after any event.
 * @return DEFENDER_SUCCESS, DEFENDER_BAD_PARAMETER, DEFENDER_NOT_STARTED.
 */
DefenderStatus_t Defender_Process(DefenderContext_t *pContext, uint32_t *pMsUntilNext);

/**
 * @brief Tells the core the MQTT connection went up or down.
 * @param[in] connected true when connected.
 * @param[in] sessionPresent On connect: the broker kept the session (and so the
 *            subscriptions). When false, the core subscribes again.
 */
void Defender_OnConnectionChanged(DefenderContext_t *pContext, bool connected, bool sessionPresent);

/**
 * @brief Tells the core the result of a subscription it requested (PENDING).
 * @param[in] pTopic The topic filter subscribed.
 * @param[in] topicLength Its length.
 * @param[in] granted true when the broker granted QoS 0 or 1.
 */
void Defender_OnSubscribeResult(DefenderContext_t *pContext, const char *pTopic, size_t topicLength,
                                bool granted);

/**
 * @brief Hands the core an incoming message. Messages on other topics are counted
 * and ignored, so the application may pass every message it receives.
 * @return DEFENDER_SUCCESS when the message was a response for this agent and
 *         applied; DEFENDER_NOT_FOUND for other topics; DEFENDER_MALFORMED for an
 *         undecodable response; DEFENDER_BAD_PARAMETER for NULL pointers.
 */
DefenderStatus_t Defender_OnMessage(DefenderContext_t *pContext, const char *pTopic,
                                    size_t topicLength, const uint8_t *pPayload,
                                    size_t payloadLength);

/** @brief Status of the latest report (the seed's DEFENDER_ReportStatusGet). */
DefenderReportStatus_t Defender_GetReportStatus(const DefenderContext_t *pContext);

/** @brief Copies the latest report's information. */
DefenderStatus_t Defender_GetLastReport(const DefenderContext_t *pContext,
                                        DefenderReportInfo_t *pInfo);

/** @brief Copies the counters. */
DefenderStatus_t Defender_GetCounters(const DefenderContext_t *pContext,
                                      DefenderCounters_t *pCounters);

/** @brief Name of a status value ("DEFENDER_SUCCESS" ...). */
const char *Defender_StatusString(DefenderStatus_t status);

/** @brief Name of a report status ("eDefenderRepSuccess" ...). */
const char *Defender_ReportStatusString(DefenderReportStatus_t status);

/**
 * @brief Prepares a sink to collect `group` into caller-owned arrays. Used by the
 * core before each collection, and by tools that want the core's capping and
 * rotation without running an agent.
 * @param[out] pSink Sink to initialise.
 * @param[in] group One DEFENDER_METRIC_* bit.
 * @param[in] pHead, pWindow Two arrays of `capacity` entries of the group's type
 *            (DefenderConnection_t or DefenderListeningPort_t); DefenderInterfaceCounters_t
 *            array in pHead for network stats (pWindow unused).
 * @param[in] capacity Entries in each array.
 * @param[in] rotation Report number k (PD-26).
 * @param[in] expectedTotal Entries found by the previous collection (0: unknown).
 */
void Defender_SinkInit(DefenderMetricsSink_t *pSink, DefenderMetricGroup_t group, void *pHead,
                       void *pWindow, size_t capacity, uint64_t rotation, uint64_t expectedTotal);

/**
 * @brief Finishes a list collection: arranges the listed entries (PD-26) at the
 * start of the window array and returns their number. The true total is pSink->seen.
 */
size_t Defender_SinkFinish(DefenderMetricsSink_t *pSink);

#ifdef __cplusplus
}
#endif

#endif /* DEFENDER_CORE_H */
