/* libFuzzer target: CreateSecurityProfile bodies through the profile and behavior parser and
 * validator (detect-rules.md 3.5). Every input must be answered without a crash, a leak or
 * undefined behaviour. */
#include "rules_internal.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static cm_type fuzz_custom(void *ctx, const char *name, size_t len)
{
    (void) ctx;
    if (len == 1 && name[0] == 'n')
        return CM_NUMBER;
    if (len == 1 && name[0] == 'l')
        return CM_NUMBER_LIST;
    if (len == 1 && name[0] == 's')
        return CM_STRING_LIST;
    if (len == 1 && name[0] == 'i')
        return CM_IP_LIST;
    return CM_NONE;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 256 * 1024)
        return 0;
    (void) rules_validate_profile_text((const char *) data, size, fuzz_custom, NULL);
    /* CIDR and address parsers on the raw input as a string */
    char buf[64];
    size_t n = size < sizeof buf - 1 ? size : sizeof buf - 1;
    memcpy(buf, data, n);
    buf[n] = '\0';
    rules_cidr c;
    if (rules_parse_cidr(buf, &c))
    {
        uint8_t a[16];
        int fam;
        if (rules_parse_addr(buf, strlen(buf) < 40 ? strlen(buf) : 40, &fam, a))
            (void) rules_cidr_match(&c, fam, a);
    }
    return 0;
}
