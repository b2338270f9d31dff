/**
 * @file test_seed_wait.h
 * @brief Waiting for the seed API's report status in integration tests (real time,
 * bounded: the agent runs in its own task against a real broker), and counting the
 * process's threads (a stopped agent leaves none).
 */
#ifndef TEST_SEED_WAIT_H
#define TEST_SEED_WAIT_H

#include <dirent.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include "defender.h"

/** @brief Milliseconds of the monotonic clock. */
static inline uint64_t TestMonotonicMs(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t) now.tv_sec * 1000U + (uint64_t) now.tv_nsec / 1000000U;
}

/**
 * @brief Waits until DEFENDER_ReportStatusGet() returns `want`, polling every 20 ms.
 * @return true if it did within `timeoutMs`.
 */
static inline bool TestWaitStatus(DefenderReportStatus_t want, uint32_t timeoutMs)
{
    uint64_t end = TestMonotonicMs() + timeoutMs;
    while ((TestMonotonicMs() < end) && (DEFENDER_ReportStatusGet() != want))
    {
        usleep(20000);
    }
    return DEFENDER_ReportStatusGet() == want;
}

/** @brief Number of threads of this process (entries of /proc/self/task), -1 if unreadable. */
static inline int TestThreadCount(void)
{
    int count = 0;
    struct dirent *pEntry;
    DIR *pDir = opendir("/proc/self/task");

    if (pDir == NULL)
    {
        return -1;
    }
    while ((pEntry = readdir(pDir)) != NULL)
    {
        if (pEntry->d_name[0] != '.')
        {
            count++;
        }
    }
    (void) closedir(pDir);
    return count;
}

#endif /* TEST_SEED_WAIT_H */
