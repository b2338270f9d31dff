/**
 * @file defender_config_defaults.h
 * @brief Compile-time configuration of the Device Defender agent core, with defaults.
 *
 * Every option has a default here. To change one, write a header named
 * `defender_config.h` on the include path and define the option there; it is
 * included before this file. A project that has no such header defines
 * `DEFENDER_DO_NOT_USE_CUSTOM_CONFIG` (the CMake build of this repository does so
 * unless `DEFENDER_CONFIG_DIR` is given).
 */
#ifndef DEFENDER_CONFIG_DEFAULTS_H
#define DEFENDER_CONFIG_DEFAULTS_H

#ifndef DEFENDER_DO_NOT_USE_CUSTOM_CONFIG
#include "defender_config.h"
#endif

/**
 * @brief Longest thing name in bytes (AWS: 1..128).
 *
 * Possible values: 1..128. Default: 128.
 */
#ifndef DEFENDER_CONFIG_MAX_THING_NAME_LENGTH
#define DEFENDER_CONFIG_MAX_THING_NAME_LENGTH 128U
#endif

/**
 * @brief Most entries listed per list in one report (PD-9): listening TCP ports,
 * listening UDP ports and established connections each.
 *
 * The true count is always reported in `total`. The agent keeps two arrays of
 * this many entries per list in its context (for list rotation, PD-26).
 * Possible values: 1..65535. Default: 10 (MCU reference); the Linux build uses 50.
 */
#ifndef DEFENDER_CONFIG_MAX_LIST_ENTRIES
#define DEFENDER_CONFIG_MAX_LIST_ENTRIES 10U
#endif

/**
 * @brief Most network interfaces whose counters the agent keeps a baseline for
 * (network statistics deltas, PD-25). Further interfaces are ignored (and counted).
 *
 * Possible values: 1..255. Default: 4.
 */
#ifndef DEFENDER_CONFIG_MAX_INTERFACES
#define DEFENDER_CONFIG_MAX_INTERFACES 4U
#endif

/**
 * @brief Most custom metrics that can be registered on one agent.
 *
 * With 0 the custom-metric code is left out of the build (measured on Cortex-M4 at `-Os`:
 * about 0.8 KB less, see docs/porting.md): Defender_AddCustomMetric refuses every metric,
 * Defender_EncodeReport refuses content holding custom metrics, and
 * Defender_CustomMetricValueValid returns false.
 * Possible values: 0..64. Default: 4.
 */
#ifndef DEFENDER_CONFIG_MAX_CUSTOM_METRICS
#define DEFENDER_CONFIG_MAX_CUSTOM_METRICS 4U
#endif

/**
 * @brief Longest interface name kept, in bytes, without the terminator.
 *
 * Possible values: 1..63. Default: 15 (Linux IFNAMSIZ - 1).
 */
#ifndef DEFENDER_CONFIG_MAX_INTERFACE_NAME_LENGTH
#define DEFENDER_CONFIG_MAX_INTERFACE_NAME_LENGTH 15U
#endif

/**
 * @brief Shortest report period accepted by the API, in seconds.
 *
 * 1 allows short periods for testing (a warning is logged below 300 s, the rate
 * the service guarantees to accept). Production firmware sets 300 (PD-23), and
 * then shorter periods get eDefenderErrPeriodTooShort.
 * Possible values: 1..300. Default: 1.
 */
#ifndef DEFENDER_CONFIG_MIN_PERIOD_SECONDS
#define DEFENDER_CONFIG_MIN_PERIOD_SECONDS 1U
#endif

/**
 * @brief Report period used until one is set, in seconds. Default: 300.
 */
#ifndef DEFENDER_CONFIG_DEFAULT_PERIOD_SECONDS
#define DEFENDER_CONFIG_DEFAULT_PERIOD_SECONDS 300U
#endif

/**
 * @brief Time to wait for the accepted/rejected response of a report, in ms.
 *
 * Also the time the first report waits for the subscriptions to be confirmed.
 * The effective timeout is never longer than the report period.
 * Default: 10000.
 */
#ifndef DEFENDER_CONFIG_DEFAULT_ACK_TIMEOUT_MS
#define DEFENDER_CONFIG_DEFAULT_ACK_TIMEOUT_MS 10000U
#endif

/**
 * @brief Longest `ErrorCode` kept from a rejected response, in bytes (PD-15: 32).
 */
#ifndef DEFENDER_CONFIG_MAX_ERROR_CODE_LENGTH
#define DEFENDER_CONFIG_MAX_ERROR_CODE_LENGTH 32U
#endif

/**
 * @brief Longest `ErrorMessage` kept from a rejected response, in bytes; longer
 * messages are truncated (PD-15 allows 128). Default: 128.
 */
#ifndef DEFENDER_CONFIG_MAX_ERROR_MESSAGE_LENGTH
#define DEFENDER_CONFIG_MAX_ERROR_MESSAGE_LENGTH 128U
#endif

/**
 * @brief Set to 0 to compile out every log message of the core (saves code size).
 * Default: 1.
 */
#ifndef DEFENDER_CONFIG_ENABLE_LOGGING
#define DEFENDER_CONFIG_ENABLE_LOGGING 1
#endif

/**
 * @brief How custom numbers are rounded to 15 significant digits (section 3, PD-12).
 *
 * 1: exactly as glibc's `%.15g` (round half to even on the exact binary value, decided
 * with big-number arithmetic); the CBOR float64 is the double strtod() returns for the
 * text. About 1.5 KB more code.
 * 0: compact: the digits come from a scaling loop in double arithmetic. The last digit
 * differs from glibc's for about 3% of random doubles (mostly far from 1). The text
 * has at most 15 significant digits and so re-prints as itself
 * (`strtod(snprintf("%.15g", t)) == t` for the value t it parses to); it is within one
 * unit in the 15th digit of the value for decimal exponents -8..36, two elsewhere
 * (subnormals: a few). The CBOR float64 is t for exponents -8..36 (one exact scaling
 * step); outside, it may be one unit in the last place away from t.
 * Possible values: 0 or 1. Default: 1 (the MCU reference configuration uses 0).
 */
#ifndef DEFENDER_CONFIG_EXACT_NUMBER_TEXT
#define DEFENDER_CONFIG_EXACT_NUMBER_TEXT 1
#endif

/**
 * @brief Report formats compiled in: JSON (`DEFENDER_CONFIG_FORMAT_JSON`) and CBOR
 * (`DEFENDER_CONFIG_FORMAT_CBOR`).
 *
 * A device uses one format, chosen in DefenderSettings_t. Setting the other option to 0
 * leaves its encoder and response reader out of the build (measured on Cortex-M4 at
 * `-Os`: about 0.6 KB less with JSON only, 1.4 KB less with CBOR only; see
 * docs/porting.md); Defender_Init, Defender_EncodeReport and Defender_ParseResponse then
 * refuse that format with DEFENDER_BAD_PARAMETER, and Defender_DefaultSettings picks the
 * one compiled in. Both long and short keys stay available.
 * Possible values: 0 or 1 each, at least one 1. Default: 1 and 1.
 */
#ifndef DEFENDER_CONFIG_FORMAT_JSON
#define DEFENDER_CONFIG_FORMAT_JSON 1
#endif
#ifndef DEFENDER_CONFIG_FORMAT_CBOR
#define DEFENDER_CONFIG_FORMAT_CBOR 1
#endif

/**
 * @brief Internal assertion. Defaults to nothing; tests define it to catch
 * violated invariants.
 */
#ifndef DEFENDER_ASSERT
#define DEFENDER_ASSERT(x)
#endif

/* ---- Impossible combinations ------------------------------------------------------- */
#if (DEFENDER_CONFIG_MAX_THING_NAME_LENGTH < 1U) || (DEFENDER_CONFIG_MAX_THING_NAME_LENGTH > 128U)
#error "DEFENDER_CONFIG_MAX_THING_NAME_LENGTH must be 1..128"
#endif
#if (DEFENDER_CONFIG_MAX_LIST_ENTRIES < 1U) || (DEFENDER_CONFIG_MAX_LIST_ENTRIES > 65535U)
#error "DEFENDER_CONFIG_MAX_LIST_ENTRIES must be 1..65535"
#endif
#if (DEFENDER_CONFIG_MAX_INTERFACES < 1U) || (DEFENDER_CONFIG_MAX_INTERFACES > 255U)
#error "DEFENDER_CONFIG_MAX_INTERFACES must be 1..255"
#endif
#if DEFENDER_CONFIG_MAX_CUSTOM_METRICS > 64U
#error "DEFENDER_CONFIG_MAX_CUSTOM_METRICS must be 0..64"
#endif
#if (DEFENDER_CONFIG_MAX_INTERFACE_NAME_LENGTH < 1U) ||                                            \
    (DEFENDER_CONFIG_MAX_INTERFACE_NAME_LENGTH > 63U)
#error "DEFENDER_CONFIG_MAX_INTERFACE_NAME_LENGTH must be 1..63"
#endif
#if (DEFENDER_CONFIG_MIN_PERIOD_SECONDS < 1U) || (DEFENDER_CONFIG_MIN_PERIOD_SECONDS > 300U)
#error "DEFENDER_CONFIG_MIN_PERIOD_SECONDS must be 1..300"
#endif
#if DEFENDER_CONFIG_DEFAULT_PERIOD_SECONDS < DEFENDER_CONFIG_MIN_PERIOD_SECONDS
#error "DEFENDER_CONFIG_DEFAULT_PERIOD_SECONDS is below DEFENDER_CONFIG_MIN_PERIOD_SECONDS"
#endif
#if (DEFENDER_CONFIG_MAX_ERROR_CODE_LENGTH < 1U) || (DEFENDER_CONFIG_MAX_ERROR_CODE_LENGTH > 255U)
#error "DEFENDER_CONFIG_MAX_ERROR_CODE_LENGTH must be 1..255"
#endif
#if (DEFENDER_CONFIG_MAX_ERROR_MESSAGE_LENGTH < 1U) ||                                             \
    (DEFENDER_CONFIG_MAX_ERROR_MESSAGE_LENGTH > 1024U)
#error "DEFENDER_CONFIG_MAX_ERROR_MESSAGE_LENGTH must be 1..1024"
#endif

#if (DEFENDER_CONFIG_EXACT_NUMBER_TEXT != 0) && (DEFENDER_CONFIG_EXACT_NUMBER_TEXT != 1)
#error "DEFENDER_CONFIG_EXACT_NUMBER_TEXT must be 0 or 1"
#endif

#if ((DEFENDER_CONFIG_FORMAT_JSON != 0) && (DEFENDER_CONFIG_FORMAT_JSON != 1)) ||                  \
    ((DEFENDER_CONFIG_FORMAT_CBOR != 0) && (DEFENDER_CONFIG_FORMAT_CBOR != 1))
#error "DEFENDER_CONFIG_FORMAT_JSON and DEFENDER_CONFIG_FORMAT_CBOR must be 0 or 1"
#endif
#if (DEFENDER_CONFIG_FORMAT_JSON == 0) && (DEFENDER_CONFIG_FORMAT_CBOR == 0)
#error "at least one of DEFENDER_CONFIG_FORMAT_JSON and DEFENDER_CONFIG_FORMAT_CBOR must be 1"
#endif

/* ---- Derived (internal) -------------------------------------------------------------- */

/** @brief Whether a DefenderFormat_t value is a format compiled in. */
#define DEFENDER_FORMAT_SUPPORTED(format)                                                          \
    ((((format) == DEFENDER_FORMAT_JSON) && (DEFENDER_CONFIG_FORMAT_JSON == 1)) ||                 \
     (((format) == DEFENDER_FORMAT_CBOR) && (DEFENDER_CONFIG_FORMAT_CBOR == 1)))

/** @brief An encoder's or reader's "is CBOR" flag, constant when one format is compiled in
 * (so that the other format's code is left out). */
#if (DEFENDER_CONFIG_FORMAT_JSON == 1) && (DEFENDER_CONFIG_FORMAT_CBOR == 1)
#define DEFENDER_IS_CBOR(flag) (flag)
#else
#define DEFENDER_IS_CBOR(flag) (DEFENDER_CONFIG_FORMAT_CBOR == 1)
#endif

#endif /* DEFENDER_CONFIG_DEFAULTS_H */
