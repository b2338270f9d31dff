/* Placeholder: implementation in progress. */
#include "defender_types.h"
typedef int defender_core_placeholder_t;
