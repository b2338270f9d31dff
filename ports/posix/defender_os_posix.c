/**
 * @file defender_os_posix.c
 * @brief POSIX OS services, clock and file store of the agent.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "defender_posix.h"

/** @brief pthread entry: runs the runner's task function. */
static void *threadMain(void *pArgument)
{
    DefenderPosixOs_t *pOs = pArgument;
    pOs->pfEntry(pOs->pArgument);
    return NULL;
}

/** @brief DefenderOsInterface_t::pfTaskCreate. */
static bool taskCreate(void *pContext, DefenderTaskEntry_t pfEntry, void *pArgument)
{
    DefenderPosixOs_t *pOs = pContext;
    bool created = false;

    if (!pOs->threadCreated)
    {
        pOs->pfEntry = pfEntry;
        pOs->pArgument = pArgument;
        created = (pthread_create(&pOs->thread, NULL, threadMain, pOs) == 0);
        pOs->threadCreated = created;
    }

    return created;
}

/** @brief DefenderOsInterface_t::pfTaskJoin. */
static void taskJoin(void *pContext)
{
    DefenderPosixOs_t *pOs = pContext;

    if (pOs->threadCreated)
    {
        (void) pthread_join(pOs->thread, NULL);
        pOs->threadCreated = false;
    }
}

/** @brief DefenderOsInterface_t::pfLock. */
static void lock(void *pContext)
{
    DefenderPosixOs_t *pOs = pContext;
    (void) pthread_mutex_lock(&pOs->mutex);
}

/** @brief DefenderOsInterface_t::pfUnlock. */
static void unlock(void *pContext)
{
    DefenderPosixOs_t *pOs = pContext;
    (void) pthread_mutex_unlock(&pOs->mutex);
}

/** @brief DefenderOsInterface_t::pfWait. */
static void waitSignal(void *pContext, uint32_t timeoutMs)
{
    DefenderPosixOs_t *pOs = pContext;
    struct timespec deadline;
    int rc = 0;

    (void) clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += (time_t) (timeoutMs / 1000U);
    deadline.tv_nsec += (long) (timeoutMs % 1000U) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L)
    {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }

    while (!pOs->signalled && (rc != ETIMEDOUT))
    {
        if (timeoutMs == UINT32_MAX)
        {
            rc = pthread_cond_wait(&pOs->condition, &pOs->mutex);
        }
        else
        {
            rc = pthread_cond_timedwait(&pOs->condition, &pOs->mutex, &deadline);
        }
    }
    pOs->signalled = false;
}

/** @brief DefenderOsInterface_t::pfSignal. */
static void signalTask(void *pContext)
{
    DefenderPosixOs_t *pOs = pContext;
    pOs->signalled = true;
    (void) pthread_cond_signal(&pOs->condition);
}

DefenderStatus_t DefenderPosix_OsInit(DefenderPosixOs_t *pOs, DefenderOsInterface_t *pInterface)
{
    DefenderStatus_t status = DEFENDER_BAD_PARAMETER;
    pthread_condattr_t attributes;

    if ((pOs != NULL) && (pInterface != NULL))
    {
        status = DEFENDER_ERROR;
        (void) memset(pOs, 0, sizeof(*pOs));
        if (pthread_condattr_init(&attributes) == 0)
        {
            if ((pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC) == 0) &&
                (pthread_cond_init(&pOs->condition, &attributes) == 0))
            {
                if (pthread_mutex_init(&pOs->mutex, NULL) == 0)
                {
                    status = DEFENDER_SUCCESS;
                }
                else
                {
                    (void) pthread_cond_destroy(&pOs->condition);
                }
            }
            (void) pthread_condattr_destroy(&attributes);
        }
    }

    if (status == DEFENDER_SUCCESS)
    {
        pInterface->pContext = pOs;
        pInterface->pfTaskCreate = taskCreate;
        pInterface->pfTaskJoin = taskJoin;
        pInterface->pfLock = lock;
        pInterface->pfUnlock = unlock;
        pInterface->pfWait = waitSignal;
        pInterface->pfSignal = signalTask;
    }

    return status;
}

void DefenderPosix_OsDeinit(DefenderPosixOs_t *pOs)
{
    if (pOs != NULL)
    {
        taskJoin(pOs);
        (void) pthread_cond_destroy(&pOs->condition);
        (void) pthread_mutex_destroy(&pOs->mutex);
    }
}

/** @brief Reads a clock in ms. */
static uint64_t clockMs(clockid_t clock)
{
    struct timespec now;
    uint64_t ms = 0U;

    if (clock_gettime(clock, &now) == 0)
    {
        ms = ((uint64_t) now.tv_sec * 1000U) + ((uint64_t) now.tv_nsec / 1000000U);
    }

    return ms;
}

/** @brief DefenderClockInterface_t::pfMonotonicMs. */
static uint64_t monotonicMs(void *pContext)
{
    (void) pContext;
    return clockMs(CLOCK_MONOTONIC);
}

/** @brief DefenderClockInterface_t::pfWallClockMs. */
static uint64_t wallClockMs(void *pContext)
{
    (void) pContext;
    return clockMs(CLOCK_REALTIME);
}

/** @brief DefenderClockInterface_t::pfRandom. */
static uint64_t randomValue(void *pContext)
{
    uint64_t value = 0U;

    (void) pContext;
    if (getrandom(&value, sizeof(value), 0) != (ssize_t) sizeof(value))
    {
        value = clockMs(CLOCK_REALTIME) ^ ((uint64_t) getpid() << 32);
    }

    return value;
}

void DefenderPosix_ClockGet(DefenderClockInterface_t *pInterface)
{
    if (pInterface != NULL)
    {
        pInterface->pContext = NULL;
        pInterface->pfMonotonicMs = monotonicMs;
        pInterface->pfWallClockMs = wallClockMs;
        pInterface->pfRandom = randomValue;
    }
}

/** @brief DefenderStoreInterface_t::pfLoadLastReportId. */
static bool loadLastId(void *pContext, uint64_t *pLastReportId)
{
    const DefenderPosixFileStore_t *pStore = pContext;
    bool loaded = false;
    char text[32];
    FILE *pFile = fopen(pStore->path, "r");

    if (pFile != NULL)
    {
        if (fgets(text, sizeof(text), pFile) != NULL)
        {
            char *pEnd = NULL;
            unsigned long long value;
            errno = 0;
            value = strtoull(text, &pEnd, 10);
            if ((errno == 0) && (pEnd != text) && ((*pEnd == '\n') || (*pEnd == '\0')))
            {
                *pLastReportId = (uint64_t) value;
                loaded = true;
            }
        }
        (void) fclose(pFile);
    }

    return loaded;
}

/** @brief Creates the folder of a path (one level), mode 0700. */
static void makeParent(const char *pPath)
{
    char folder[sizeof(((DefenderPosixFileStore_t *) NULL)->path)];
    char *pSlash;

    (void) snprintf(folder, sizeof(folder), "%s", pPath);
    pSlash = strrchr(folder, '/');
    if ((pSlash != NULL) && (pSlash != folder))
    {
        *pSlash = '\0';
        (void) mkdir(folder, 0700);
    }
}

/** @brief DefenderStoreInterface_t::pfSaveLastReportId. */
static bool saveLastId(void *pContext, uint64_t lastReportId)
{
    const DefenderPosixFileStore_t *pStore = pContext;
    char temporary[sizeof(pStore->path) + 8U];
    char text[32];
    int length;
    int fd;
    bool saved = false;

    makeParent(pStore->path);
    length = snprintf(text, sizeof(text), "%" PRIu64 "\n", lastReportId);
    if ((snprintf(temporary, sizeof(temporary), "%s.tmp", pStore->path) <
         (int) sizeof(temporary)) &&
        (length > 0))
    {
        fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd >= 0)
        {
            saved = (write(fd, text, (size_t) length) == (ssize_t) length) && (fsync(fd) == 0);
            saved = (close(fd) == 0) && saved;
            saved = saved && (rename(temporary, pStore->path) == 0);
        }
    }

    return saved;
}

DefenderStatus_t DefenderPosix_FileStoreInit(DefenderPosixFileStore_t *pStore, const char *pPath,
                                             DefenderStoreInterface_t *pInterface)
{
    DefenderStatus_t status = DEFENDER_BAD_PARAMETER;

    if ((pStore != NULL) && (pPath != NULL) && (pInterface != NULL) &&
        (strlen(pPath) < sizeof(pStore->path)) && (pPath[0] != '\0'))
    {
        (void) snprintf(pStore->path, sizeof(pStore->path), "%s", pPath);
        pInterface->pContext = pStore;
        pInterface->pfLoadLastReportId = loadLastId;
        pInterface->pfSaveLastReportId = saveLastId;
        status = DEFENDER_SUCCESS;
    }

    return status;
}
