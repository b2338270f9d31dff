/**
 * @file defender_names.c
 * @brief Names of the core's status values, for logs and diagnostics.
 *
 * Kept apart from the state machine: an application that never prints a status
 * does not link these texts.
 */
#include <string.h>

#include "defender_core.h"

/**
 * @brief Picks the n-th of a list of NUL-separated names.
 * @param[in] pNames The names, each terminated, the last followed by the fallback.
 * @param[in] count Names before the fallback.
 * @param[in] n Index wanted.
 * @return The name, or the fallback when n >= count.
 */
static const char *nthName(const char *pNames, size_t count, size_t n)
{
    size_t i;

    for (i = 0U; (i < n) && (i < count); i++)
    {
        pNames += strlen(pNames) + 1U;
    }

    return pNames;
}

const char *Defender_StatusString(DefenderStatus_t status)
{
    return nthName("DEFENDER_SUCCESS\0DEFENDER_BAD_PARAMETER\0DEFENDER_BUFFER_TOO_SMALL\0"
                   "DEFENDER_TOO_MANY\0DEFENDER_PERIOD_TOO_SHORT\0DEFENDER_ALREADY_STARTED\0"
                   "DEFENDER_NOT_STARTED\0DEFENDER_MALFORMED\0DEFENDER_NOT_FOUND\0"
                   "DEFENDER_DUPLICATE\0DEFENDER_ERROR\0DEFENDER_UNKNOWN",
                   (size_t) DEFENDER_ERROR + 1U, (size_t) status);
}

const char *Defender_ReportStatusString(DefenderReportStatus_t status)
{
    return nthName("eDefenderRepSuccess\0eDefenderRepInit\0eDefenderRepRejected\0"
                   "eDefenderRepNoAck\0eDefenderRepNotSent\0eDefenderRepUnknown",
                   (size_t) eDefenderRepNotSent + 1U, (size_t) status);
}
