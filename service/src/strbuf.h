/* Growable byte buffer with a hard cap. */
#ifndef DETECT_STRBUF_H
#define DETECT_STRBUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct
{
    char *data;
    size_t len;
    size_t cap;
    size_t max; /* 0 = no cap */
    int oom;    /* set when an append failed; the content is then truncated */
} strbuf;

void sb_init(strbuf *b, size_t max);
void sb_free(strbuf *b);
void sb_reset(strbuf *b);
int sb_append(strbuf *b, const void *p, size_t n);
int sb_puts(strbuf *b, const char *s);
int sb_putc(strbuf *b, char c);
int sb_printf(strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* JSON string literal with quotes; input assumed UTF-8. */
int sb_json_str(strbuf *b, const char *s, size_t n);
/* The value of a hexadecimal digit (either case), or -1. */
int hex_digit_value(char c);
/* FNV-1a of n bytes, seeded once per process: for hash tables whose keys a device or a
 * client chooses (thing names, addresses), so that nobody can pick keys that collide. */
uint32_t str_hash_seeded(const void *p, size_t n);
/* Makes data NUL-terminated (not counted in len). */
const char *sb_cstr(strbuf *b);

#endif
