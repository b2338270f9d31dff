/**
 * @file defender_store_interface.h
 * @brief Optional persistent store for the last report id (spec 10.2).
 */
#ifndef DEFENDER_STORE_INTERFACE_H
#define DEFENDER_STORE_INTERFACE_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Keeps the last used report id across restarts of the program. */
typedef struct DefenderStoreInterface
{
    /** Opaque context of the integrator, passed to every function. */
    void *pContext;

    /**
     * @brief Reads the last id saved. Called once, by Defender_Start().
     * @param[out] pLastReportId The id.
     * @return true when an id was read; false when none is stored (or on error).
     */
    bool (*pfLoadLastReportId)(void *pContext, uint64_t *pLastReportId);

    /**
     * @brief Saves the id of the report about to be published. Called before each
     * publish; must be durable when it returns true.
     * @return true when saved.
     */
    bool (*pfSaveLastReportId)(void *pContext, uint64_t lastReportId);
} DefenderStoreInterface_t;

#ifdef __cplusplus
}
#endif

#endif /* DEFENDER_STORE_INTERFACE_H */
