/**
 * @file defender_config.h
 * @brief Agent core configuration for Linux hosts (gateways, servers, boards).
 *
 * Overrides defender_config_defaults.h; see there for the meaning of each option.
 */
#ifndef DEFENDER_CONFIG_H
#define DEFENDER_CONFIG_H

/* PD-9: 50 list entries per list on Linux. */
#define DEFENDER_CONFIG_MAX_LIST_ENTRIES   50U
#define DEFENDER_CONFIG_MAX_INTERFACES     64U
#define DEFENDER_CONFIG_MAX_CUSTOM_METRICS 32U

#endif /* DEFENDER_CONFIG_H */
