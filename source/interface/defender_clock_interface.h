/**
 * @file defender_clock_interface.h
 * @brief Time (and randomness) for the agent core.
 */
#ifndef DEFENDER_CLOCK_INTERFACE_H
#define DEFENDER_CLOCK_INTERFACE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Clock of the platform. */
typedef struct DefenderClockInterface
{
    /** Opaque context of the integrator, passed to every function. */
    void *pContext;

    /**
     * @brief Required: milliseconds of a monotonic clock (any origin, never goes back).
     * Schedules reports and response timeouts.
     */
    uint64_t (*pfMonotonicMs)(void *pContext);

    /**
     * @brief Optional (may be NULL): Unix time in milliseconds, or 0 when the wall
     * clock is not set. Report ids are `max(last_id + 1, wall clock)` (spec 10.2);
     * readings before 2020-01-01 count as "not set".
     */
    uint64_t (*pfWallClockMs)(void *pContext);

    /**
     * @brief Optional (may be NULL): a random 64-bit value. Seeds report ids on a
     * port with neither wall clock nor persistent store (spec 10.2), and jitters
     * nothing else in the core.
     */
    uint64_t (*pfRandom)(void *pContext);
} DefenderClockInterface_t;

#ifdef __cplusplus
}
#endif

#endif /* DEFENDER_CLOCK_INTERFACE_H */
