/* The --credentials file: the access keys whose SigV4 signatures the API accepts. */
#ifndef DETECT_CREDENTIALS_H
#define DETECT_CREDENTIALS_H

#include <stddef.h>

/* Longest access key id and secret (AWS's ids are 16 to 128 characters, secrets 40). */
#define CREDENTIAL_ID_MAX     199
#define CREDENTIAL_SECRET_MAX 299

typedef struct
{
    char akid[CREDENTIAL_ID_MAX + 1];
    char secret[CREDENTIAL_SECRET_MAX + 1];
} credential;

/* Reads `path`: one 'ACCESS_KEY_ID SECRET' pair per line, maybe followed by a '#' comment;
 * blank lines and lines starting with '#' are skipped, and so is a UTF-8 byte order mark at
 * the start. Any other line that is not two fields of printable ASCII within the lengths
 * above, or a file without a pair, is refused with the line's number in `err`. On success
 * *out (free with credentials_free) holds *n >= 1 entries; returns 0, else -1. */
int credentials_load(const char *path, credential **out, size_t *n, char *err, size_t errsz);

/* Wipes the secrets and frees the array. */
void credentials_free(credential *creds, size_t n);

#endif
