#include "credentials.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Wipes memory in a way the compiler keeps (glibc's explicit_bzero). */
static void wipe(void *p, size_t n)
{
    explicit_bzero(p, n);
}

/* The next field of a line (space or tab separated): its start and length; 0 at the end. */
static size_t next_field(char **pos, char **start)
{
    char *p = *pos + strspn(*pos, " \t\r\n");
    size_t len = strcspn(p, " \t\r\n");
    *start = p;
    *pos = p + len;
    return len;
}

/* true when the field is printable ASCII only, as access key ids and secrets are. */
static int printable_ascii(const char *p, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((unsigned char) p[i] < 0x21 || (unsigned char) p[i] > 0x7e)
            return 0;
    return 1;
}

void credentials_free(credential *creds, size_t n)
{
    if (creds != NULL)
        wipe(creds, n * sizeof *creds);
    free(creds);
}

int credentials_load(const char *path, credential **out, size_t *n, char *err, size_t errsz)
{
    *out = NULL;
    *n = 0;
    FILE *f = fopen(path, "r");
    if (f == NULL)
    {
        snprintf(err, errsz, "cannot read credentials file %s: %s", path, strerror(errno));
        return -1;
    }
    /* stdio's buffer is ours, so that the copy of the secrets it holds is wiped too */
    char iobuf[4096];
    (void) setvbuf(f, iobuf, _IOFBF, sizeof iobuf);
    credential *creds = NULL;
    size_t count = 0;
    char line[1024];
    int rc = 0;
    for (unsigned lineno = 1; rc == 0 && fgets(line, sizeof line, f) != NULL; lineno++)
    {
        char *pos = line, *id, *secret, *extra;
        size_t len = strlen(line);
        if (len == sizeof line - 1 && line[len - 1] != '\n' && !feof(f))
        {
            snprintf(err, errsz, "credentials file %s line %u: longer than %zu bytes", path, lineno,
                     sizeof line - 2);
            rc = -1;
            break;
        }
        /* A UTF-8 byte order mark, as some editors write, is not part of the first key. */
        if (lineno == 1 && strncmp(pos, "\xef\xbb\xbf", 3) == 0)
            pos += 3;
        size_t idlen = next_field(&pos, &id);
        if (idlen == 0 || id[0] == '#')
            continue;
        size_t secretlen = next_field(&pos, &secret);
        size_t extralen = next_field(&pos, &extra);
        /* after the pair, only a comment */
        if (secretlen == 0 || (extralen != 0 && extra[0] != '#'))
        {
            snprintf(err, errsz, "credentials file %s line %u: expected 'ACCESS_KEY_ID SECRET'",
                     path, lineno);
            rc = -1;
        }
        else if (idlen > CREDENTIAL_ID_MAX || secretlen > CREDENTIAL_SECRET_MAX)
        {
            snprintf(err, errsz,
                     "credentials file %s line %u: access key id over %d or secret over %d "
                     "characters",
                     path, lineno, CREDENTIAL_ID_MAX, CREDENTIAL_SECRET_MAX);
            rc = -1;
        }
        else if (!printable_ascii(id, idlen) || !printable_ascii(secret, secretlen))
        {
            snprintf(err, errsz,
                     "credentials file %s line %u: characters other than printable ASCII", path,
                     lineno);
            rc = -1;
        }
        else
        {
            credential *grown = malloc((count + 1) * sizeof *grown);
            if (grown == NULL)
            {
                snprintf(err, errsz, "out of memory");
                rc = -1;
            }
            else
            {
                if (count > 0)
                    memcpy(grown, creds, count * sizeof *grown);
                credentials_free(creds, count);
                creds = grown;
                memset(&creds[count], 0, sizeof creds[count]);
                memcpy(creds[count].akid, id, idlen);
                memcpy(creds[count].secret, secret, secretlen);
                count++;
            }
        }
    }
    wipe(line, sizeof line);
    if (rc == 0 && ferror(f))
    {
        snprintf(err, errsz, "cannot read credentials file %s", path);
        rc = -1;
    }
    fclose(f);
    wipe(iobuf, sizeof iobuf);
    if (rc == 0 && count == 0)
    {
        snprintf(err, errsz, "no credentials in %s (lines 'ACCESS_KEY_ID SECRET')", path);
        rc = -1;
    }
    if (rc != 0)
    {
        credentials_free(creds, count);
        return -1;
    }
    *out = creds;
    *n = count;
    return 0;
}
