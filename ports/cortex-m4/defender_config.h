/**
 * @file defender_config.h
 * @brief MCU reference configuration of the agent core (PD-9: 10 list entries).
 */
#ifndef DEFENDER_CONFIG_H
#define DEFENDER_CONFIG_H

#define DEFENDER_CONFIG_MAX_LIST_ENTRIES 10U
#define DEFENDER_CONFIG_MAX_INTERFACES   2U
/* check-size.sh also measures 0 (no custom-metric code) by defining it on the command line. */
#ifndef DEFENDER_CONFIG_MAX_CUSTOM_METRICS
#define DEFENDER_CONFIG_MAX_CUSTOM_METRICS 2U
#endif
#define DEFENDER_CONFIG_ENABLE_LOGGING 0
/* Compact custom-number rounding (may differ from %.15g in the last digit, rarely). */
#define DEFENDER_CONFIG_EXACT_NUMBER_TEXT 0

#endif /* DEFENDER_CONFIG_H */
