/* AWS Signature Version 4 verification (header form). */
#ifndef DETECT_SIGV4_H
#define DETECT_SIGV4_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* A query parameter as sent, %XX escapes not decoded (libmicrohttpd has already turned '+'
 * into a space, which is also what the API reads, so both sides agree; clients that sign
 * with the AWS SDKs send %2B and %20). */
typedef struct
{
    const char *key;
    const char *value; /* may be NULL (a name without '=') */
} sigv4_kv;

/* The value of the `index`-th occurrence (0 the first) of a request header, the name compared
 * without regard to case; NULL when the request has fewer. A header sent several times is
 * canonicalised as its values in the order sent, each trimmed, joined with commas. */
typedef const char *(*sigv4_header_fn)(void *ctx, const char *lower_name, size_t index);
typedef const char *(*sigv4_secret_fn)(void *ctx, const char *access_key_id);

enum
{
    SIGV4_OK = 0,
    SIGV4_MISSING = -1,
    SIGV4_UNKNOWN_KEY = -2,
    SIGV4_BAD_SIGNATURE = -3,
    SIGV4_MALFORMED = -4
};

/* The service name a credential scope must carry (<date>/<region>/iot/aws4_request): the AWS
 * CLI and SDKs sign the IoT API with "iot"; releases whose IoT model predates that (the AWS CLI
 * 2.9 of Debian 12, for one) sign it with "execute-api", also accepted. The name is part of the
 * string to sign and of the key derivation, so either is a signature of the same secret. */
#define SIGV4_SERVICE     "iot"
#define SIGV4_SERVICE_OLD "execute-api"

/* Largest difference between X-Amz-Date and the service clock, as AWS: 15 minutes. */
#define SIGV4_SKEW_SECONDS 900

/* Verifies the Authorization header of a request. raw_path: the path as sent (%XX not decoded);
 * it is signed normalised (empty, "." and ".." segments removed) and URI-encoded once more, as
 * for AWS services other than S3: a caller that acts on the path as sent must refuse a path
 * sigv4_path_is_normal does not accept, or //a and /b/../a would verify with the signature of
 * /a.
 *
 * Result codes: SIGV4_MISSING (no Authorization header), SIGV4_MALFORMED (header or
 * X-Amz-Date not of the SigV4 form, or either given twice), SIGV4_UNKNOWN_KEY, SIGV4_BAD_SIGNATURE
 * (wrong signature, scope or a date outside SIGV4_SKEW_SECONDS). `why` gets an AWS-style message.
 */
int sigv4_verify(const char *method, const char *raw_path, const sigv4_kv *query, size_t nq,
                 sigv4_header_fn get_header, void *hctx, const uint8_t *body, size_t body_len,
                 sigv4_secret_fn secret_for, void *sctx, time_t now, char *why, size_t whysz);

/* 1 when raw_path is its own normal form, the path SigV4 signs for services other than S3 (no
 * "//", no "." or ".." segment; see sigv4_verify); 0 otherwise. */
int sigv4_path_is_normal(const char *raw_path);

/* Computes the signature for given inputs (used by tests). sig_hex: 65 bytes. 0, or -1 when
 * the request cannot be signed (a query name given twice, too long, out of memory). */
int sigv4_sign(const char *method, const char *raw_path, const sigv4_kv *query, size_t nq,
               const char *signed_headers, sigv4_header_fn get_header, void *hctx,
               const uint8_t *body, size_t body_len, const char *amz_date, const char *scope,
               const char *secret, char *sig_hex);

#endif
