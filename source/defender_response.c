/* Placeholder: implementation in progress. */
#include "defender_types.h"
typedef int defender_response_placeholder_t;
