/* Placeholder: implementation in progress. */
#include "defender_types.h"
typedef int defender_topic_placeholder_t;
