/* libFuzzer target: report decoders (JSON and CBOR), validator, datapoint serialisation and
 * response encoding. The first input byte selects format and mode. */
#include "reply.h"
#include "report.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static cm_type defs(void *ctx, const char *name, size_t len)
{
    (void) ctx;
    return len > 0 && name[0] == 'n' ? CM_NUMBER : CM_NONE;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > REPORT_MAX_PAYLOAD + 1)
        return 0;
    uint8_t sel = data[0];
    report_fmt fmt = (sel & 1) ? FMT_CBOR : FMT_JSON;
    validate_opts o = {(sel >> 1) & 1, (sel & 4) ? defs : NULL, NULL};
    arena a;
    arena_init(&a, 64u * 1024u * 1024u);
    report_result r;
    int ok = report_validate(&a, data + 1, size - 1, fmt, &o, &r);
    if (ok)
    {
        strbuf sb;
        sb_init(&sb, 0);
        if (!datapoints_to_json(r.dps, r.ndps, &sb))
            __builtin_trap();
        sb_free(&sb);
    }
    uint8_t out[REPLY_MAX];
    size_t n = reply_encode(out, sizeof out, fmt, "fuzz-thing", 10, r.has_report_id, r.report_id,
                            ok ? REPLY_ACCEPTED : REPLY_INVALID, 1735689600412ull);
    if (n == 0 || n > REPLY_MAX)
        __builtin_trap();
    arena_free(&a);
    return 0;
}
