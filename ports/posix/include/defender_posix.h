/**
 * @file defender_posix.h
 * @brief POSIX port of the agent: task runner OS services (threads), clock and a
 * file store for the last report id.
 */
#ifndef DEFENDER_POSIX_H
#define DEFENDER_POSIX_H

#include <pthread.h>
#include <stdbool.h>

#include "defender_core.h"
#include "defender_os_interface.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @brief OS services for one runner: a thread, a mutex and a condition variable. */
typedef struct DefenderPosixOs
{
    pthread_mutex_t mutex;       /**< The runner's lock. */
    pthread_cond_t condition;    /**< Wakes the task (CLOCK_MONOTONIC). */
    pthread_t thread;            /**< The task. */
    bool threadCreated;          /**< thread is valid. */
    bool signalled;              /**< A signal is pending. */
    DefenderTaskEntry_t pfEntry; /**< Task entry. */
    void *pArgument;             /**< Its argument. */
} DefenderPosixOs_t;

/**
 * @brief Initialises the OS services and fills the interface.
 * @return DEFENDER_SUCCESS, DEFENDER_BAD_PARAMETER or DEFENDER_ERROR (pthread failure).
 */
DefenderStatus_t DefenderPosix_OsInit(DefenderPosixOs_t *pOs, DefenderOsInterface_t *pInterface);

/** @brief Releases the mutex and condition variable (the task must have been joined). */
void DefenderPosix_OsDeinit(DefenderPosixOs_t *pOs);

/**
 * @brief Fills a clock interface: CLOCK_MONOTONIC, CLOCK_REALTIME (Unix ms) and
 * getrandom() for random values.
 */
void DefenderPosix_ClockGet(DefenderClockInterface_t *pInterface);

/** @brief A file that keeps the last report id. */
typedef struct DefenderPosixFileStore
{
    char path[4096]; /**< File path. */
} DefenderPosixFileStore_t;

/**
 * @brief Initialises a file store and fills the interface. The file holds the id
 * in decimal; it is replaced atomically (write, fsync, rename) on each save. The
 * folder is created (mode 0700) if missing.
 * @return DEFENDER_SUCCESS, DEFENDER_BAD_PARAMETER (NULL or path too long).
 */
DefenderStatus_t DefenderPosix_FileStoreInit(DefenderPosixFileStore_t *pStore, const char *pPath,
                                             DefenderStoreInterface_t *pInterface);

#ifdef __cplusplus
}
#endif

#endif /* DEFENDER_POSIX_H */
