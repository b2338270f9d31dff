/**
 * @file fake_clock.c
 * @brief Fake clock, fake id store and global event numbering for tests.
 */
#include <string.h>

#include "fake_clock.h"

/** @brief Global event number (tests are single-threaded). */
static uint32_t sequence = 0U;

uint32_t FakeSequence_Next(void)
{
    sequence++;
    return sequence;
}

void FakeSequence_Reset(void)
{
    sequence = 0U;
}

/** @brief pfMonotonicMs of the fake. */
static uint64_t fakeMonotonic(void *pContext)
{
    FakeClock_t *pClock = (FakeClock_t *) pContext;

    pClock->monotonicCalls++;
    return pClock->monotonicMs;
}

/** @brief pfWallClockMs of the fake. */
static uint64_t fakeWall(void *pContext)
{
    FakeClock_t *pClock = (FakeClock_t *) pContext;

    pClock->wallCalls++;
    return pClock->wallMs;
}

/** @brief pfRandom of the fake. */
static uint64_t fakeRandom(void *pContext)
{
    FakeClock_t *pClock = (FakeClock_t *) pContext;

    pClock->randomCalls++;
    return pClock->randomValue;
}

void FakeClock_Init(FakeClock_t *pClock, uint64_t monotonicMs, uint64_t wallMs)
{
    (void) memset(pClock, 0, sizeof(*pClock));
    pClock->monotonicMs = monotonicMs;
    pClock->wallMs = wallMs;
    pClock->wallFollows = true;
}

void FakeClock_Advance(FakeClock_t *pClock, uint64_t ms)
{
    pClock->monotonicMs += ms;
    if (pClock->wallFollows && (pClock->wallMs != 0U))
    {
        pClock->wallMs += ms;
    }
}

DefenderClockInterface_t FakeClock_Interface(FakeClock_t *pClock, bool withWallClock,
                                             bool withRandom)
{
    DefenderClockInterface_t clock;

    (void) memset(&clock, 0, sizeof(clock));
    clock.pContext = pClock;
    clock.pfMonotonicMs = fakeMonotonic;
    clock.pfWallClockMs = withWallClock ? fakeWall : NULL;
    clock.pfRandom = withRandom ? fakeRandom : NULL;
    return clock;
}

/** @brief pfLoadLastReportId of the fake. */
static bool fakeLoad(void *pContext, uint64_t *pLastReportId)
{
    FakeStore_t *pStore = (FakeStore_t *) pContext;
    bool loaded = false;

    pStore->loadCalls++;
    if (!pStore->failLoad && pStore->hasValue)
    {
        *pLastReportId = pStore->value;
        loaded = true;
    }
    return loaded;
}

/** @brief pfSaveLastReportId of the fake. */
static bool fakeSave(void *pContext, uint64_t lastReportId)
{
    FakeStore_t *pStore = (FakeStore_t *) pContext;
    bool saved = false;

    pStore->saveCalls++;
    pStore->lastSaveEvent = FakeSequence_Next();
    if (!pStore->failSave)
    {
        pStore->value = lastReportId;
        pStore->hasValue = true;
        saved = true;
    }
    return saved;
}

void FakeStore_Init(FakeStore_t *pStore)
{
    (void) memset(pStore, 0, sizeof(*pStore));
}

DefenderStoreInterface_t FakeStore_Interface(FakeStore_t *pStore)
{
    DefenderStoreInterface_t store;

    store.pContext = pStore;
    store.pfLoadLastReportId = fakeLoad;
    store.pfSaveLastReportId = fakeSave;
    return store;
}
