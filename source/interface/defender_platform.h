/**
 * @file defender_platform.h
 * @brief What the seed's singleton API (defender.h) needs from a platform port.
 *
 * DEFENDER_Start() takes no arguments, so the platform supplies everything else:
 * the thing name, the MQTT connection, the metrics source, the clock, the store
 * and the OS services. A port provides DefenderPlatform_Get() at link time; the
 * Linux port (ports/linux_platform) builds them from DEFENDER_LinuxConfigSet() or the
 * environment.
 */
#ifndef DEFENDER_PLATFORM_H
#define DEFENDER_PLATFORM_H

#include "defender_runner.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @brief A platform binding for the singleton API. */
typedef struct DefenderPlatform
{
    /**
     * @brief Prepares everything the agent needs; connects nothing yet.
     * Fills the thing name and report buffer of `pSettings` (other settings are the
     * application's), every interface in `pInterfaces` (pfLog too if the platform
     * logs; pfReport is the singleton's), and `pOs`.
     * @return DEFENDER_SUCCESS, or an error (missing or invalid configuration).
     */
    DefenderStatus_t (*pfOpen)(DefenderSettings_t *pSettings, DefenderInterfaces_t *pInterfaces,
                               DefenderOsInterface_t *pOs);

    /**
     * @brief Starts the MQTT connection, delivering its events to `pRunner` (already
     * running). Reconnects by itself until pfClose().
     * @return DEFENDER_SUCCESS or DEFENDER_ERROR.
     */
    DefenderStatus_t (*pfConnect)(DefenderRunner_t *pRunner);

    /** @brief Disconnects and releases what pfOpen/pfConnect took. Returns promptly. */
    void (*pfClose)(void);
} DefenderPlatform_t;

/**
 * @brief The platform the singleton API runs on. Provided by the port linked in.
 */
const DefenderPlatform_t *DefenderPlatform_Get(void);

#ifdef __cplusplus
}
#endif

#endif /* DEFENDER_PLATFORM_H */
