/**
 * @file defender_os_interface.h
 * @brief What the agent's task runner needs from an operating system.
 *
 * One task, one lock and one wake-up signal: a POSIX port implements it with a
 * thread, a mutex and a condition variable; a FreeRTOS port with a task, a mutex
 * and a task notification. Bare-metal applications don't need it: they call
 * Defender_Process() from their main loop.
 */
#ifndef DEFENDER_OS_INTERFACE_H
#define DEFENDER_OS_INTERFACE_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Entry function of the agent task. */
typedef void (*DefenderTaskEntry_t)(void *pArgument);

/** @brief Operating-system services for one runner. */
typedef struct DefenderOsInterface
{
    /** Opaque context of the port (one per runner), passed to every function. */
    void *pContext;

    /**
     * @brief Creates and starts the agent task.
     * @return true when the task runs.
     */
    bool (*pfTaskCreate)(void *pContext, DefenderTaskEntry_t pfEntry, void *pArgument);

    /** @brief Waits until the task created last has returned, and releases it. */
    void (*pfTaskJoin)(void *pContext);

    /** @brief Takes the runner's lock (not recursive). */
    void (*pfLock)(void *pContext);

    /** @brief Releases the runner's lock. */
    void (*pfUnlock)(void *pContext);

    /**
     * @brief Called with the lock held: releases it, sleeps until pfSignal() is
     * called or `timeoutMs` passed (UINT32_MAX: no timeout), and takes it again.
     * A signal given while nobody waits must not be lost: the next wait returns at once.
     */
    void (*pfWait)(void *pContext, uint32_t timeoutMs);

    /** @brief Wakes the waiting task (called with the lock held). */
    void (*pfSignal)(void *pContext);
} DefenderOsInterface_t;

#ifdef __cplusplus
}
#endif

#endif /* DEFENDER_OS_INTERFACE_H */
