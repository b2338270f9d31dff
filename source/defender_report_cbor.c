/* Placeholder: implementation in progress. */
#include "defender_types.h"
typedef int defender_report_cbor_placeholder_t;
