/* Unit tests for src/base: arena, strbuf, idcard, log scrubbing, jsonx, ratelimit, crypto. */
#include "test.h"

#include <stdlib.h>

#include "base/arena.h"
#include "base/crypto.h"
#include "base/idcard.h"
#include "base/jsonx.h"
#include "base/log.h"
#include "base/ratelimit.h"
#include "base/strbuf.h"
#include "base/timeutil.h"

TEST(arena_allocates_aligned_and_resets) {
    arena *a = arena_new();
    char *p = arena_alloc(a, 3);
    double *d = arena_alloc(a, sizeof(double));
    CHECK(((uintptr_t)d % _Alignof(double)) == 0);
    memcpy(p, "ab", 3);
    char *big = arena_alloc(a, 100000); /* bigger than a chunk */
    memset(big, 1, 100000);
    CHECK_STR(p, "ab");
    CHECK(arena_used(a) >= 100000 + 3 + sizeof(double));
    CHECK_STR(arena_printf(a, "%d-%s", 42, "x"), "42-x");
    CHECK_STR(arena_strndup(a, "hello", 3), "hel");
    arena_reset(a);
    CHECK_INT(arena_used(a), 0);
    char *q = arena_calloc(a, 16);
    CHECK_INT(q[15], 0);
    arena_free(a);
}

TEST(strbuf_enforces_its_maximum) {
    strbuf b;
    strbuf_init(&b, 10);
    CHECK_INT(strbuf_puts(&b, "12345"), 0);
    CHECK_INT(strbuf_printf(&b, "%d", 6789), 0);
    CHECK_STR(strbuf_str(&b), "123456789");
    CHECK_INT(strbuf_puts(&b, "ab"), -1); /* would be 11 bytes */
    CHECK_STR(strbuf_str(&b), "123456789");
    CHECK_INT(strbuf_puts(&b, "a"), 0);
    CHECK_INT(b.len, 10);
    size_t n;
    char *s = strbuf_detach(&b, &n);
    CHECK_INT(n, 10);
    CHECK_INT(b.len, 0);
    free(s);
    strbuf_free(&b);
}

TEST(idcard_validates_check_digit_and_date) {
    CHECK(idcard_valid("330902195203140021"));
    CHECK(!idcard_valid("330902195203140022")); /* wrong check digit */
    CHECK(!idcard_valid("33090219520314002"));  /* too short */
    CHECK(!idcard_valid("330902195202300020")); /* Feb 30 */
    CHECK(!idcard_valid("33090219520314002A"));
    CHECK(!idcard_valid("990902195203140021")); /* no such province */
    CHECK(idcard_check_char("11010519491231002") == 'X');
    CHECK(idcard_valid("11010519491231002X"));
    CHECK(idcard_valid("11010519491231002x"));
    char buf[32];
    CHECK_STR(idcard_mask("330902195203140021", buf, sizeof(buf)), "3309**********0021");
    CHECK_STR(idcard_normalize("11010519491231002x", buf, sizeof(buf)), "11010519491231002X");
    /* A birth date in the future is refused. */
    time_set_fake(1700000000); /* 2023-11-14 */
    CHECK(!idcard_valid("330902202501010010") || idcard_check_char("33090220250101001") != '0');
    char future[19];
    memcpy(future, "33090220250101001", 17);
    future[17] = idcard_check_char(future);
    future[18] = '\0';
    CHECK(!idcard_valid(future));
    time_set_fake(0);
    CHECK(idcard_valid(future));
}

TEST(log_sanitize_masks_numbers) {
    char out[128];
    CHECK_STR(log_sanitize(out, sizeof(out), "/api/v1/persons/330902195203140021/x"),
              "/api/v1/persons/##################/x");
    CHECK_STR(log_sanitize(out, sizeof(out), "/call/13905801234"), "/call/###########");
    CHECK_STR(log_sanitize(out, sizeof(out), "/api/v1/users/123456"), "/api/v1/users/123456");
    CHECK_STR(log_sanitize(out, sizeof(out), "a\nb\x01"), "a?b?");
    CHECK_STR(log_sanitize(out, 5, "abcdefgh"), "abcd");
}

TEST(jsonx_parse_limits) {
    err e = {0};
    json_t *v = jsonx_parse("{\"a\":[1,2,{\"b\":\"x\"}]}", 21, 32, &e);
    CHECK(v != NULL);
    json_decref(v);
    CHECK(jsonx_parse("{", 1, 32, &e) == NULL);
    CHECK_INT(e.status, 400);
    CHECK(jsonx_parse("", 0, 32, &e) == NULL);
    char deep[200];
    for (int i = 0; i < 100; i++)
        deep[i] = '[';
    for (int i = 0; i < 100; i++)
        deep[100 + i] = ']';
    CHECK(jsonx_parse(deep, 200, 32, &e) == NULL);
    CHECK(strstr(e.message, "嵌套") != NULL);
    /* brackets inside strings do not count toward depth */
    const char *s = "{\"a\":\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"}";
    v = jsonx_parse(s, strlen(s), 3, &e);
    CHECK(v != NULL);
    json_decref(v);
    CHECK(jsonx_parse("{\"a\":\"\xff\"}", 9, 32, &e) == NULL);   /* invalid UTF-8 */
    CHECK(jsonx_parse("{\"a\":1,\"a\":2}", 13, 32, &e) == NULL); /* duplicate key */
    CHECK(jsonx_parse("{} x", 4, 32, &e) == NULL);               /* trailing garbage */
}

TEST(jsonx_check_names_the_field) {
    static const jsonx_field spec[] = {
        {"login", JX_STRING, 1, 8}, {"age", JX_INT, 0, 0}, {"ok", JX_BOOL, 0, 0}, {NULL}};
    err e = {0};
    json_t *o = json_pack("{s:s, s:i}", "login", "abc", "age", 3);
    CHECK_INT(jsonx_check(o, spec, &e), 0);
    json_object_set_new(o, "age", json_string("3"));
    CHECK_INT(jsonx_check(o, spec, &e), -1);
    CHECK_STR(e.field, "age");
    json_object_set_new(o, "age", json_integer(3));
    json_object_set_new(o, "extra", json_true());
    CHECK_INT(jsonx_check(o, spec, &e), -1);
    CHECK_STR(e.field, "extra");
    json_object_del(o, "extra");
    json_object_set_new(o, "login", json_string("toolongvalue"));
    CHECK_INT(jsonx_check(o, spec, &e), -1);
    CHECK_STR(e.field, "login");
    json_object_del(o, "login");
    CHECK_INT(jsonx_check(o, spec, &e), -1);
    CHECK_STR(e.field, "login");
    CHECK(strstr(e.message, "必填") != NULL);
    json_decref(o);
}

TEST(ratelimit_blocks_after_limit_and_window_resets) {
    ratelimit *rl = ratelimit_new(3, 60);
    CHECK_INT(ratelimit_blocked(rl, "k", 1000), 0);
    for (int i = 0; i < 3; i++)
        ratelimit_hit(rl, "k", 1000);
    CHECK_INT(ratelimit_blocked(rl, "k", 1010), 50);
    CHECK_INT(ratelimit_blocked(rl, "other", 1010), 0);
    CHECK_INT(ratelimit_blocked(rl, "k", 1060), 0); /* window over */
    for (int i = 0; i < 3; i++)
        ratelimit_hit(rl, "k", 1070);
    CHECK(ratelimit_blocked(rl, "k", 1071) > 0);
    ratelimit_clear(rl, "k");
    CHECK_INT(ratelimit_blocked(rl, "k", 1071), 0);
    /* Memory stays bounded with many keys: the table never fails to take a key. */
    char key[32];
    for (int i = 0; i < 20000; i++) {
        snprintf(key, sizeof(key), "ip%d", i);
        ratelimit_hit(rl, key, 2000 + i / 100);
    }
    ratelimit_free(rl);
}

TEST(password_hash_is_argon2id_and_verifies) {
    char h[128];
    CHECK_INT(crypto_password_hash("correct horse", h), 0);
    CHECK(strncmp(h, "$argon2id$", 10) == 0);
    CHECK(crypto_password_verify(h, "correct horse"));
    CHECK(!crypto_password_verify(h, "correct horsE"));
    char t1[64], t2[64];
    crypto_random_token(t1, sizeof(t1), 32);
    crypto_random_token(t2, sizeof(t2), 32);
    CHECK_INT(strlen(t1), 43);
    CHECK(strcmp(t1, t2) != 0);
    char hex[65];
    crypto_sha256_hex("abc", 3, hex);
    CHECK_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(time_iso_roundtrip) {
    char buf[32];
    CHECK_STR(time_iso(buf, sizeof(buf), 1795829280), "2026-11-28T01:28:00Z");
    int64_t t;
    CHECK_INT(time_parse_iso("2026-11-28T01:28:00Z", &t), 0);
    CHECK_INT(t, 1795829280);
    CHECK_INT(time_parse_iso("2026-13-28T01:28:00Z", &t), -1);
    CHECK_INT(time_parse_iso("yesterday", &t), -1);
}
