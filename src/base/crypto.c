/* crypto: libsodium wrappers (see crypto.h). */
#include "base/crypto.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

int crypto_init(void) {
    return sodium_init() < 0 ? -1 : 0;
}

size_t crypto_token_len(size_t bytes) {
    return sodium_base64_ENCODED_LEN(bytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

void crypto_random_token(char *out, size_t outlen, size_t bytes) {
    unsigned char buf[64];
    if (bytes > sizeof(buf)) bytes = sizeof(buf);
    randombytes_buf(buf, bytes);
    sodium_bin2base64(out, outlen, buf, bytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(buf, sizeof(buf));
}

void crypto_sha256(const void *data, size_t len, unsigned char out[32]) {
    crypto_hash_sha256(out, data, len);
}

void crypto_hex(const unsigned char *bin, size_t len, char *out) {
    sodium_bin2hex(out, len * 2 + 1, bin, len);
}

void crypto_sha256_hex(const void *data, size_t len, char hex65[65]) {
    unsigned char h[32];
    crypto_hash_sha256(h, data, len);
    sodium_bin2hex(hex65, 65, h, 32);
}

int crypto_streq(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    if (la != lb) return 0;
    return sodium_memcmp(a, b, la) == 0;
}

static int fast_mode(void) {
    const char *v = getenv("ISLE_ARGON2_FAST");
    return v && strcmp(v, "1") == 0;
}

int crypto_password_hash(const char *password, char out[128]) {
    unsigned long long ops = crypto_pwhash_OPSLIMIT_INTERACTIVE;
    size_t mem = crypto_pwhash_MEMLIMIT_INTERACTIVE;
    if (fast_mode()) {
        ops = crypto_pwhash_OPSLIMIT_MIN;
        mem = 8192 * 1024;
    }
    return crypto_pwhash_str_alg(out, password, strlen(password), ops, mem,
                                 crypto_pwhash_ALG_ARGON2ID13) == 0
               ? 0
               : -1;
}

int crypto_password_verify(const char *stored, const char *password) {
    return crypto_pwhash_str_verify(stored, password, strlen(password)) == 0;
}
