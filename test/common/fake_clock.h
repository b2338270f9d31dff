/**
 * @file fake_clock.h
 * @brief Deterministic test doubles for the agent core's clock interface and id store.
 *
 * - FakeClock_t: a monotonic clock and a wall clock that move only when the test
 *   says so (FakeClock_Advance), plus a scripted random source.
 * - FakeStore_t: the optional persistent store of the last report id, in memory,
 *   with a switchable failure and a record of when it was last written.
 * - FakeSequence_Next(): one global, increasing event number shared by every fake
 *   (fake_mqtt.h too), so a test can check the order of calls across interfaces
 *   ("the id was saved before the publish").
 *
 * No fake sleeps, reads the real time or allocates.
 */
#ifndef FAKE_CLOCK_H
#define FAKE_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

#include "defender_clock_interface.h"
#include "defender_store_interface.h"

/** @brief Returns the next global event number (1, 2, 3 ...). */
uint32_t FakeSequence_Next(void);

/** @brief Resets the global event numbering (call in each test's setup). */
void FakeSequence_Reset(void);

/** @brief A clock the test drives by hand. */
typedef struct FakeClock
{
    uint64_t monotonicMs;    /**< Value returned by pfMonotonicMs. */
    uint64_t wallMs;         /**< Value returned by pfWallClockMs (0: "not set"). */
    bool wallFollows;        /**< FakeClock_Advance() also advances wallMs (when non-zero). */
    uint64_t randomValue;    /**< Value returned by pfRandom. */
    uint32_t monotonicCalls; /**< Calls of pfMonotonicMs. */
    uint32_t wallCalls;      /**< Calls of pfWallClockMs. */
    uint32_t randomCalls;    /**< Calls of pfRandom. */
} FakeClock_t;

/**
 * @brief Initialises a fake clock.
 * @param[out] pClock Clock.
 * @param[in] monotonicMs Start of the monotonic clock.
 * @param[in] wallMs Start of the wall clock (0: not set); it follows Advance().
 */
void FakeClock_Init(FakeClock_t *pClock, uint64_t monotonicMs, uint64_t wallMs);

/** @brief Moves both clocks forward by `ms` (the wall clock only when set and following). */
void FakeClock_Advance(FakeClock_t *pClock, uint64_t ms);

/**
 * @brief Builds the clock interface over a fake clock.
 * @param[in] pClock Clock.
 * @param[in] withWallClock Provide pfWallClockMs (else NULL).
 * @param[in] withRandom Provide pfRandom (else NULL).
 * @return The interface.
 */
DefenderClockInterface_t FakeClock_Interface(FakeClock_t *pClock, bool withWallClock,
                                             bool withRandom);

/** @brief An in-memory store of the last report id. */
typedef struct FakeStore
{
    bool hasValue;          /**< A value is stored (pfLoad returns true). */
    uint64_t value;         /**< The stored id. */
    bool failLoad;          /**< pfLoad fails (returns false). */
    bool failSave;          /**< pfSave fails (returns false, value unchanged). */
    uint32_t loadCalls;     /**< Calls of pfLoad. */
    uint32_t saveCalls;     /**< Calls of pfSave. */
    uint32_t lastSaveEvent; /**< FakeSequence_Next() number of the last pfSave call. */
} FakeStore_t;

/** @brief Empties a store. */
void FakeStore_Init(FakeStore_t *pStore);

/** @brief Builds the store interface over a fake store. */
DefenderStoreInterface_t FakeStore_Interface(FakeStore_t *pStore);

#endif /* FAKE_CLOCK_H */
