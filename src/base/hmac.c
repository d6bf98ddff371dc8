/* hmac: signing and checking webhooks (see hmac.h). */
#include "base/hmac.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *hmac_webhook_sign(const char *secret, const char *timestamp, const void *body, size_t len,
                        char *out, size_t n) {
    crypto_auth_hmacsha256_state st;
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)timestamp, strlen(timestamp));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)".", 1);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, len);
    crypto_auth_hmacsha256_final(&st, mac);
    char hex[2 * sizeof(mac) + 1];
    sodium_bin2hex(hex, sizeof(hex), mac, sizeof(mac));
    snprintf(out, n, "sha256=%s", hex);
    sodium_memzero(mac, sizeof(mac));
    return out;
}

int hmac_webhook_check(const char *secret, const char *timestamp, const char *signature,
                       const void *body, size_t len, int64_t now, int max_skew, err *e) {
    if (!secret || !*secret)
        return err_set(e, 503, "unavailable", "", "回调接口未配置签名密钥，暂不可用");
    if (!timestamp || !*timestamp)
        return err_set(e, 401, "unauthenticated", HMAC_HEADER_TIME, "缺少 %s 请求头",
                       HMAC_HEADER_TIME);
    size_t tl = strlen(timestamp);
    if (tl > 12 || strspn(timestamp, "0123456789") != tl)
        return err_set(e, 401, "unauthenticated", HMAC_HEADER_TIME, "%s 须为 Unix 秒数",
                       HMAC_HEADER_TIME);
    long long ts = strtoll(timestamp, NULL, 10);
    if (ts < now - max_skew || ts > now + max_skew)
        return err_set(e, 401, "unauthenticated", HMAC_HEADER_TIME, "%s 与服务器时间相差超过 %d 秒",
                       HMAC_HEADER_TIME, max_skew);
    if (!signature || !*signature)
        return err_set(e, 401, "unauthenticated", HMAC_HEADER_SIGNATURE, "缺少 %s 请求头",
                       HMAC_HEADER_SIGNATURE);
    if (strlen(signature) != HMAC_SIGNATURE_LEN || strncmp(signature, "sha256=", 7) != 0)
        return err_set(e, 401, "unauthenticated", HMAC_HEADER_SIGNATURE,
                       "%s 须为 sha256= 加 64 位十六进制", HMAC_HEADER_SIGNATURE);
    char want[HMAC_SIGNATURE_LEN + 1], got[HMAC_SIGNATURE_LEN + 1];
    hmac_webhook_sign(secret, timestamp, body, len, want, sizeof(want));
    /* Hex digits in either case are the same signature. */
    for (size_t i = 0; i <= HMAC_SIGNATURE_LEN; i++) {
        char c = signature[i];
        got[i] = (c >= 'A' && c <= 'F') ? (char)(c - 'A' + 'a') : c;
    }
    if (sodium_memcmp(want, got, HMAC_SIGNATURE_LEN) != 0)
        return err_set(e, 401, "unauthenticated", HMAC_HEADER_SIGNATURE, "签名不正确");
    return 0;
}
