/* Unit tests for src/http/parse.c: percent-decoding, query strings, cookies and
 * Content-Type, including malformed input and the limits. */
#include "test.h"

#include "http/parse.h"

/* ---- http_url_decode ---- */

TEST(parse_url_decode_basic) {
    arena *a = arena_new();
    size_t n = 99;
    CHECK_STR(http_url_decode(a, "a%20b%2Fc", 9, 0, &n), "a b/c");
    CHECK_INT(n, 5);
    CHECK_STR(http_url_decode(a, "a+b", 3, 1, NULL), "a b");
    CHECK_STR(http_url_decode(a, "a+b", 3, 0, NULL), "a+b");
    CHECK_STR(http_url_decode(a, "%e4%B8%AD", 9, 0, &n), "\xe4\xb8\xad");
    CHECK_INT(n, 3);
    CHECK_STR(http_url_decode(a, "%2B", 3, 1, NULL), "+");
    /* Only the first n bytes are read. */
    CHECK_STR(http_url_decode(a, "abc%zz", 3, 0, NULL), "abc");
    CHECK_STR(http_url_decode(a, "", 0, 1, &n), "");
    CHECK_INT(n, 0);
    CHECK_STR(http_url_decode(a, NULL, 0, 1, NULL), "");
    arena_free(a);
}

TEST(parse_url_decode_malformed) {
    arena *a = arena_new();
    size_t n = 7;
    CHECK(http_url_decode(a, "%zz", 3, 0, &n) == NULL);
    CHECK_INT(n, 0);
    CHECK(http_url_decode(a, "%", 1, 0, NULL) == NULL);
    CHECK(http_url_decode(a, "ab%4", 4, 0, NULL) == NULL);
    CHECK(http_url_decode(a, "%4g", 3, 0, NULL) == NULL);
    CHECK(http_url_decode(a, "%g4", 3, 0, NULL) == NULL);
    CHECK(http_url_decode(a, "a%00b", 5, 0, NULL) == NULL);
    CHECK(http_url_decode(a, "a\0b", 3, 0, NULL) == NULL);
    /* A '%' escape truncated by n, even though the string goes on. */
    CHECK(http_url_decode(a, "a%41", 3, 0, NULL) == NULL);
    CHECK(http_url_decode(a, NULL, 3, 0, NULL) == NULL);
    arena_free(a);
}

/* ---- http_parse_query ---- */

TEST(parse_query_basic) {
    arena *a = arena_new();
    struct http_header_kv *kv = NULL;
    size_t n = 0;
    CHECK_INT(http_parse_query(a, "a=1&b=x%20y&c=p+q&flag&e=", 10, &kv, &n), 0);
    CHECK_INT(n, 5);
    if (n == 5) {
        CHECK_STR(kv[0].name, "a");
        CHECK_STR(kv[0].value, "1");
        CHECK_STR(kv[1].name, "b");
        CHECK_STR(kv[1].value, "x y");
        CHECK_STR(kv[2].value, "p q");
        CHECK_STR(kv[3].name, "flag");
        CHECK_STR(kv[3].value, "");
        CHECK_STR(kv[4].name, "e");
        CHECK_STR(kv[4].value, "");
    }
    /* '=' inside a value stays; encoded names are decoded. */
    CHECK_INT(http_parse_query(a, "q=a=b&na%6De=v", 10, &kv, &n), 0);
    CHECK_INT(n, 2);
    if (n == 2) {
        CHECK_STR(kv[0].value, "a=b");
        CHECK_STR(kv[1].name, "name");
    }
    arena_free(a);
}

TEST(parse_query_empty_names_skipped) {
    arena *a = arena_new();
    struct http_header_kv *kv = NULL;
    size_t n = 9;
    CHECK_INT(http_parse_query(a, "", 4, &kv, &n), 0);
    CHECK_INT(n, 0);
    CHECK(kv == NULL);
    CHECK_INT(http_parse_query(a, NULL, 4, &kv, &n), 0);
    CHECK_INT(n, 0);
    CHECK_INT(http_parse_query(a, "&&=x&&a=1&", 1, &kv, &n), 0);
    CHECK_INT(n, 1);
    if (n == 1) CHECK_STR(kv[0].name, "a");
    arena_free(a);
}

TEST(parse_query_limits_and_errors) {
    arena *a = arena_new();
    struct http_header_kv *kv = NULL;
    size_t n = 0;
    CHECK_INT(http_parse_query(a, "a=1&b=2&c=3", 3, &kv, &n), 0);
    CHECK_INT(n, 3);
    CHECK_INT(http_parse_query(a, "a=1&b=2&c=3&d=4", 3, &kv, &n), -1);
    CHECK_INT(n, 0);
    CHECK(kv == NULL);
    CHECK_INT(http_parse_query(a, "a=1", 0, &kv, &n), -1);
    CHECK_INT(http_parse_query(a, "a=%zz", 5, &kv, &n), -1);
    CHECK_INT(n, 0);
    CHECK_INT(http_parse_query(a, "a%=1", 5, &kv, &n), -1);
    CHECK_INT(http_parse_query(a, "a=%00", 5, &kv, &n), -1);
    CHECK_INT(http_parse_query(a, "ok=1&bad=%4", 5, &kv, &n), -1);
    CHECK_INT(n, 0);
    arena_free(a);
}

/* ---- http_parse_cookies ---- */

TEST(parse_cookies_basic) {
    arena *a = arena_new();
    struct http_header_kv *kv = NULL;
    size_t n = 0;
    CHECK_INT(
        http_parse_cookies(a, "sid=abc123; theme=\"dark\";  lang = zh-CN ;x=a%20b", 8, &kv, &n), 0);
    CHECK_INT(n, 4);
    if (n == 4) {
        CHECK_STR(kv[0].name, "sid");
        CHECK_STR(kv[0].value, "abc123");
        CHECK_STR(kv[1].name, "theme");
        CHECK_STR(kv[1].value, "dark");
        CHECK_STR(kv[2].name, "lang");
        CHECK_STR(kv[2].value, "zh-CN");
        CHECK_STR(kv[3].value, "a%20b"); /* not decoded */
    }
    /* Values may contain '='; a lone quote is kept; an empty value is fine. */
    CHECK_INT(http_parse_cookies(a, "t=a=b;q=\";e=;z=\"\"", 8, &kv, &n), 0);
    CHECK_INT(n, 4);
    if (n == 4) {
        CHECK_STR(kv[0].value, "a=b");
        CHECK_STR(kv[1].value, "\"");
        CHECK_STR(kv[2].value, "");
        CHECK_STR(kv[3].value, "");
    }
    arena_free(a);
}

TEST(parse_cookies_skips_and_limits) {
    arena *a = arena_new();
    struct http_header_kv *kv = NULL;
    size_t n = 9;
    CHECK_INT(http_parse_cookies(a, NULL, 8, &kv, &n), 0);
    CHECK_INT(n, 0);
    CHECK_INT(http_parse_cookies(a, "", 8, &kv, &n), 0);
    CHECK_INT(n, 0);
    CHECK_INT(http_parse_cookies(a, " ; ;novalue; =x; a=1 ;", 1, &kv, &n), 0);
    CHECK_INT(n, 1);
    if (n == 1) {
        CHECK_STR(kv[0].name, "a");
        CHECK_STR(kv[0].value, "1");
    }
    CHECK_INT(http_parse_cookies(a, "a=1; b=2", 2, &kv, &n), 0);
    CHECK_INT(n, 2);
    CHECK_INT(http_parse_cookies(a, "a=1; b=2; c=3", 2, &kv, &n), -1);
    CHECK_INT(n, 0);
    CHECK(kv == NULL);
    arena_free(a);
}

/* ---- http_parse_content_type ---- */

TEST(parse_content_type_basic) {
    arena *a = arena_new();
    char *mt = NULL, *pv = NULL;
    CHECK_INT(http_parse_content_type(a, "multipart/form-data; boundary=----WebKitFormBoundaryA1b2",
                                      "boundary", &mt, &pv),
              0);
    CHECK_STR(mt, "multipart/form-data");
    CHECK_STR(pv, "----WebKitFormBoundaryA1b2");

    CHECK_INT(
        http_parse_content_type(a, "  Application/JSON ; Charset=\"UTF-8\" ", "charset", &mt, &pv),
        0);
    CHECK_STR(mt, "application/json");
    CHECK_STR(pv, "UTF-8"); /* parameter value keeps its case */

    CHECK_INT(http_parse_content_type(a, "text/plain", "charset", &mt, &pv), 0);
    CHECK_STR(mt, "text/plain");
    CHECK(pv == NULL);

    /* Other parameters are skipped; quoted-pairs unescaped; bare values may hold '='. */
    CHECK_INT(http_parse_content_type(a, "multipart/form-data;a=1;boundary=\"x\\\"y;z\";c=\"\"",
                                      "BOUNDARY", &mt, &pv),
              0);
    CHECK_STR(pv, "x\"y;z");
    CHECK_INT(
        http_parse_content_type(a, "multipart/form-data; boundary=a=b/c:d", "boundary", &mt, &pv),
        0);
    CHECK_STR(pv, "a=b/c:d");
    /* Empty and trailing ';' are tolerated. */
    CHECK_INT(http_parse_content_type(a, "text/html;; charset=utf-8;", "charset", &mt, &pv), 0);
    CHECK_STR(pv, "utf-8");
    /* NULL outputs and param. */
    CHECK_INT(http_parse_content_type(a, "text/html; charset=utf-8", NULL, &mt, NULL), 0);
    CHECK_STR(mt, "text/html");
    CHECK_INT(http_parse_content_type(a, "text/html", "x", NULL, NULL), 0);
    arena_free(a);
}

TEST(parse_content_type_malformed) {
    arena *a = arena_new();
    char *mt = (char *)"x", *pv = (char *)"y";
    const char *bad[] = {
        "",
        "   ",
        "text",
        "text/",
        "/plain",
        "te xt/plain",
        "text/plain garbage",
        "text/plain; charset",
        "text/plain; charset=",
        "text/plain; =utf-8",
        "text/plain; charset=\"utf-8",
        "text/plain; charset=\"utf-8\\",
        "text/plain; charset=\"a\"b",
        "text/plain; charset=utf 8",
        "text/plain; charset=\"a\x01\"",
        "multipart/form-data; boundary=a; boundary=b",
        "multipart/form-data; boundary=a; BOUNDARY=\"a\"",
        "text/plain, text/html",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = http_parse_content_type(a, bad[i], "boundary", &mt, &pv);
        if (rc != -1) fprintf(stderr, "    accepted: \"%s\"\n", bad[i]);
        CHECK_INT(rc, -1);
        CHECK(mt == NULL);
        CHECK(pv == NULL);
    }
    CHECK_INT(http_parse_content_type(a, NULL, "boundary", &mt, &pv), -1);
    /* A repeated parameter that was not asked for is not an error. */
    CHECK_INT(http_parse_content_type(a, "text/plain; a=1; a=2", "charset", &mt, &pv), 0);
    arena_free(a);
}
