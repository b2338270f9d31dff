/* Placeholder: implementation in progress. */
#include "defender_types.h"
typedef int defender_address_placeholder_t;
