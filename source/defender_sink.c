/* Placeholder: implementation in progress. */
#include "defender_types.h"
typedef int defender_sink_placeholder_t;
