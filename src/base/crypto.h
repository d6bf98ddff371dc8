/* crypto: thin wrappers over libsodium for the few primitives isle uses
 * everywhere (random tokens, SHA-256, hex, base64url, constant-time compare).
 * No primitive is implemented here; libsodium does the work. */
#ifndef ISLE_CRYPTO_H
#define ISLE_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

/** Initialise libsodium; call once at start-up. Returns 0 or -1. */
int crypto_init(void);
/** Fill out with a fresh random token: `bytes` random bytes as unpadded base64url.
 *  out must hold at least crypto_token_len(bytes) bytes. */
void crypto_random_token(char *out, size_t outlen, size_t bytes);
/** Buffer size needed for a token of `bytes` random bytes. */
size_t crypto_token_len(size_t bytes);
/** SHA-256 of data as 64 lowercase hex characters plus NUL into hex65. */
void crypto_sha256_hex(const void *data, size_t len, char hex65[65]);
/** Raw SHA-256. */
void crypto_sha256(const void *data, size_t len, unsigned char out[32]);
/** Lowercase hex of len bytes into out (2*len+1 bytes). */
void crypto_hex(const unsigned char *bin, size_t len, char *out);
/** Compare two strings in time independent of where they differ. 1 if equal. */
int crypto_streq(const char *a, const char *b);
/** Hash a password with argon2id (libsodium's interactive limits unless
 *  ISLE_ARGON2_FAST=1, used by tests). out must hold 128 bytes. 0 or -1. */
int crypto_password_hash(const char *password, char out[128]);
/** 1 if password matches the stored argon2id hash, else 0. */
int crypto_password_verify(const char *stored, const char *password);

#endif
