/**
 * @file defender_runner.h
 * @brief Runs one agent core in its own task, through an OS port.
 *
 * The runner owns the task that calls Defender_Process() and sleeps until the next
 * deadline or event. MQTT ports deliver their events through the DefenderRunner_On*
 * functions, from any thread; they take the runner's lock and wake the task.
 * Portable: it uses only the OS interface.
 */
#ifndef DEFENDER_RUNNER_H
#define DEFENDER_RUNNER_H

#include "defender_core.h"
#include "defender_os_interface.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @brief A runner. Fields are private. */
typedef struct DefenderRunner
{
    DefenderContext_t *pAgent; /**< The agent it runs. */
    DefenderOsInterface_t os;  /**< OS services. */
    bool taskRunning;          /**< The task exists. */
    bool stopRequested;        /**< The task is asked to return. */
} DefenderRunner_t;

/**
 * @brief Binds a runner to an initialised agent and an OS port.
 * @return DEFENDER_SUCCESS, or DEFENDER_BAD_PARAMETER for NULL pointers and
 *         missing OS functions.
 */
DefenderStatus_t DefenderRunner_Init(DefenderRunner_t *pRunner, DefenderContext_t *pAgent,
                                     const DefenderOsInterface_t *pOs);

/**
 * @brief Starts the agent (Defender_Start) and its task.
 * @return DEFENDER_SUCCESS; DEFENDER_ALREADY_STARTED; DEFENDER_ERROR when the task
 *         could not be created (the agent is stopped again).
 */
DefenderStatus_t DefenderRunner_Start(DefenderRunner_t *pRunner);

/**
 * @brief Stops the task and the agent; returns once the task has returned (at the
 * latest when the Defender_Process() call under way, if any, has finished).
 * @return DEFENDER_SUCCESS or DEFENDER_NOT_STARTED.
 */
DefenderStatus_t DefenderRunner_Stop(DefenderRunner_t *pRunner);

/** @brief Thread-safe Defender_OnConnectionChanged(), waking the task. */
void DefenderRunner_OnConnectionChanged(DefenderRunner_t *pRunner, bool connected,
                                        bool sessionPresent);

/** @brief Thread-safe Defender_OnSubscribeResult(), waking the task. */
void DefenderRunner_OnSubscribeResult(DefenderRunner_t *pRunner, const char *pTopic,
                                      size_t topicLength, bool granted);

/** @brief Thread-safe Defender_OnMessage(), waking the task. */
DefenderStatus_t DefenderRunner_OnMessage(DefenderRunner_t *pRunner, const char *pTopic,
                                          size_t topicLength, const uint8_t *pPayload,
                                          size_t payloadLength);

/** @brief Takes the runner's lock, to call other Defender_* functions on its agent. */
void DefenderRunner_Lock(DefenderRunner_t *pRunner);

/** @brief Releases the lock and wakes the task (settings may have changed). */
void DefenderRunner_Unlock(DefenderRunner_t *pRunner);

#ifdef __cplusplus
}
#endif

#endif /* DEFENDER_RUNNER_H */
