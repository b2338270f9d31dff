/**
 * @file test_seed_wait.h
 * @brief Waiting for the seed API's report status in integration tests (real time,
 * bounded: the agent runs in its own task against a real broker).
 */
#ifndef TEST_SEED_WAIT_H
#define TEST_SEED_WAIT_H

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

#endif /* TEST_SEED_WAIT_H */
