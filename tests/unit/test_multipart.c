/* Unit tests for src/http/multipart.c: the streaming multipart/form-data parser.
 *
 * The sample body is fed split at every position (and every pair of positions,
 * and byte by byte) and must always give the same parts; malformed bodies and
 * the limits must fail with the documented errors. */
#include "test.h"

#include <stdlib.h>
#include <unistd.h>

#include "http/multipart.h"

#define MAX_TEST_PARTS 20
#define MAX_TEST_DATA  200000

/* Records every callback, and checks that they come in a legal order. */
typedef struct collector {
    int nparts;
    int ends;
    int in_part;
    int order_errors;
    char name[MAX_TEST_PARTS][128];
    char filename[MAX_TEST_PARTS][128];
    int has_filename[MAX_TEST_PARTS];
    char content_type[MAX_TEST_PARTS][128];
    int has_content_type[MAX_TEST_PARTS];
    char *data[MAX_TEST_PARTS];
    size_t len[MAX_TEST_PARTS];
    int fail_begin_at; /* 1-based part number whose callback fails; 0 = never */
    int fail_data_at;
    int fail_end_at;
} collector;

static void collector_init(collector *c) {
    memset(c, 0, sizeof(*c));
}

static void collector_free(collector *c) {
    for (int i = 0; i < MAX_TEST_PARTS; i++)
        free(c->data[i]);
}

static void copy_str(char *dst, const char *src) {
    snprintf(dst, 128, "%s", src);
}

static int on_begin(void *ctx, const multipart_part_info *info) {
    collector *c = ctx;
    if (c->in_part || c->nparts == MAX_TEST_PARTS) c->order_errors++;
    if (c->nparts == MAX_TEST_PARTS) return -1;
    int i = c->nparts++;
    c->in_part = 1;
    if (!info->name)
        c->order_errors++;
    else
        copy_str(c->name[i], info->name);
    c->has_filename[i] = info->filename != NULL;
    if (info->filename) copy_str(c->filename[i], info->filename);
    c->has_content_type[i] = info->content_type != NULL;
    if (info->content_type) copy_str(c->content_type[i], info->content_type);
    if (!c->data[i]) c->data[i] = malloc(MAX_TEST_DATA);
    c->len[i] = 0;
    return c->fail_begin_at == c->nparts ? -1 : 0;
}

static int on_data(void *ctx, const char *data, size_t len) {
    collector *c = ctx;
    if (!c->in_part || len == 0) c->order_errors++;
    if (!c->in_part) return -1;
    int i = c->nparts - 1;
    if (c->len[i] + len > MAX_TEST_DATA) return -1;
    memcpy(c->data[i] + c->len[i], data, len);
    c->len[i] += len;
    return c->fail_data_at == c->nparts ? -1 : 0;
}

static int on_end(void *ctx) {
    collector *c = ctx;
    if (!c->in_part) c->order_errors++;
    c->in_part = 0;
    c->ends++;
    return c->fail_end_at == c->nparts ? -1 : 0;
}

static const multipart_callbacks callbacks = {on_begin, on_data, on_end};

#define SAMPLE_BOUNDARY "----isle7MA4YWxkTrZu0gW"

/* Preamble, a text field, a file whose content is full of near-boundaries (and a NUL),
 * an empty field, the closing boundary, and an epilogue that looks like another part. */
static const char sample[] =
    "This is the preamble.\r\n--notit\r\n-" SAMPLE_BOUNDARY "\r\n"
    "\r\n--" SAMPLE_BOUNDARY "\r\n"
    "Content-Disposition: form-data; name=\"title\"\r\n"
    "\r\n"
    "hello world\r\n"
    "--" SAMPLE_BOUNDARY "  \t\r\n"
    "content-disposition: form-data; name=\"doc\"; filename=\"a \\\"q\\\".txt\"\r\n"
    "Content-Type:  application/octet-stream \r\n"
    "X-Ignored: yes\r\n"
    "\r\n"
    "\r\n------isle7MA4YWxkTrZu0gX-not\r\n\r\n-\r\r\r\n--\r\n------isle7MA4YWxkTrZu0g\r\n"
    "\0bin\r"
    "\r\n--" SAMPLE_BOUNDARY "\r\n"
    "Content-Disposition: form-data; name=empty\r\n"
    "\r\n"
    "\r\n--" SAMPLE_BOUNDARY "--\r\n"
    "epilogue\r\n--" SAMPLE_BOUNDARY "\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\nx";

static const char sample_doc[] =
    "\r\n------isle7MA4YWxkTrZu0gX-not\r\n\r\n-\r\r\r\n--\r\n------isle7MA4YWxkTrZu0g\r\n"
    "\0bin\r";

/* 0 when c holds exactly the sample's parts. */
static int sample_mismatches(const collector *c) {
    int bad = 0;
    bad += c->nparts != 3 || c->ends != 3 || c->in_part || c->order_errors;
    if (c->nparts != 3) return bad + 1;
    bad += strcmp(c->name[0], "title") != 0 || c->has_filename[0] || c->has_content_type[0];
    bad += c->len[0] != 11 || memcmp(c->data[0], "hello world", 11) != 0;
    bad += strcmp(c->name[1], "doc") != 0 || !c->has_filename[1] ||
           strcmp(c->filename[1], "a \"q\".txt") != 0;
    bad += !c->has_content_type[1] || strcmp(c->content_type[1], "application/octet-stream") != 0;
    bad += c->len[1] != sizeof(sample_doc) - 1 ||
           memcmp(c->data[1], sample_doc, sizeof(sample_doc) - 1) != 0;
    bad += strcmp(c->name[2], "empty") != 0 || c->len[2] != 0;
    return bad;
}

/* Feed body in pieces cut at the given ascending offsets, then finish. */
static int parse_split(const char *boundary, const char *body, size_t len, const size_t *cuts,
                       size_t ncuts, const multipart_limits *limits, collector *c, err *e) {
    multipart_parser *p = NULL;
    if (multipart_new(boundary, limits, &callbacks, c, &p, e) != 0) return -2;
    size_t from = 0;
    int rc = 0;
    for (size_t k = 0; k <= ncuts && rc == 0; k++) {
        size_t to = k < ncuts ? cuts[k] : len;
        rc = multipart_feed(p, body + from, to - from, e);
        from = to;
    }
    if (rc == 0) rc = multipart_finish(p, e);
    multipart_free(p);
    return rc;
}

static int parse_all(const char *boundary, const char *body, const multipart_limits *limits,
                     collector *c, err *e) {
    return parse_split(boundary, body, strlen(body), NULL, 0, limits, c, e);
}

TEST(multipart_sample_whole) {
    collector c;
    collector_init(&c);
    err e = {0};
    CHECK_INT(parse_split(SAMPLE_BOUNDARY, sample, sizeof(sample) - 1, NULL, 0, NULL, &c, &e), 0);
    CHECK_INT(sample_mismatches(&c), 0);
    CHECK_INT(c.nparts, 3);
    CHECK_STR(c.filename[1], "a \"q\".txt");
    CHECK_STR(c.content_type[1], "application/octet-stream");
    CHECK_INT(c.len[1], sizeof(sample_doc) - 1);
    collector_free(&c);
}

TEST(multipart_sample_every_split) {
    size_t len = sizeof(sample) - 1;
    int failures = 0;
    for (size_t s = 0; s <= len; s++) {
        collector c;
        collector_init(&c);
        err e = {0};
        int rc = parse_split(SAMPLE_BOUNDARY, sample, len, &s, 1, NULL, &c, &e);
        if (rc != 0 || sample_mismatches(&c) != 0) {
            if (!failures) fprintf(stderr, "    split at %zu: rc %d %s\n", s, rc, e.message);
            failures++;
        }
        collector_free(&c);
    }
    CHECK_INT(failures, 0);
}

TEST(multipart_sample_every_two_splits) {
    size_t len = sizeof(sample) - 1;
    int failures = 0, runs = 0;
    collector c;
    collector_init(&c);
    for (size_t s = 0; s <= len; s++) {
        for (size_t t = s; t <= len; t++) {
            size_t cuts[2] = {s, t};
            /* Reset the collector but keep its data buffers: this loop is long. */
            char *keep[MAX_TEST_PARTS];
            memcpy(keep, c.data, sizeof(keep));
            collector_init(&c);
            memcpy(c.data, keep, sizeof(keep));
            err e = {0};
            int rc = parse_split(SAMPLE_BOUNDARY, sample, len, cuts, 2, NULL, &c, &e);
            runs++;
            if (rc != 0 || sample_mismatches(&c) != 0) {
                if (!failures) fprintf(stderr, "    splits at %zu,%zu: rc %d\n", s, t, rc);
                failures++;
            }
        }
    }
    collector_free(&c);
    CHECK_INT(failures, 0);
    CHECK_INT(runs, (len + 1) * (len + 2) / 2);
}

TEST(multipart_sample_byte_by_byte) {
    size_t len = sizeof(sample) - 1;
    collector c;
    collector_init(&c);
    multipart_parser *p = NULL;
    err e = {0};
    CHECK_INT(multipart_new(SAMPLE_BOUNDARY, NULL, &callbacks, &c, &p, &e), 0);
    int rc = 0;
    for (size_t i = 0; i < len && rc == 0; i++)
        rc = multipart_feed(p, sample + i, 1, &e);
    CHECK_INT(rc, 0);
    CHECK_INT(multipart_feed(p, NULL, 0, &e), 0);
    CHECK_INT(multipart_finish(p, &e), 0);
    CHECK_INT(multipart_finish(p, &e), 0);
    multipart_free(p);
    CHECK_INT(sample_mismatches(&c), 0);
    collector_free(&c);
}

TEST(multipart_minimal_and_empty) {
    collector c;
    collector_init(&c);
    err e = {0};
    /* Zero parts is a valid body. */
    CHECK_INT(parse_all("b", "--b--", NULL, &c, &e), 0);
    CHECK_INT(c.nparts, 0);
    /* No preamble, no epilogue, no trailing CRLF. */
    CHECK_INT(parse_all("b", "--b\r\nContent-Disposition: form-data; name=a\r\n\r\nv\r\n--b--",
                        NULL, &c, &e),
              0);
    CHECK_INT(c.nparts, 1);
    CHECK_STR(c.name[0], "a");
    CHECK_INT(c.len[0], 1);
    CHECK(c.has_filename[0] == 0);
    CHECK(c.has_content_type[0] == 0);
    collector_free(&c);

    /* An empty file input: filename="" is kept as "". Boundary of odd characters. */
    collector_init(&c);
    const char *odd = "'()+_,-./:=? x";
    char body[512];
    snprintf(body, sizeof(body),
             "--%s\r\nContent-Disposition: form-data; name=\"f\"; filename=\"\"\r\n"
             "Content-Type: application/octet-stream\r\n\r\n\r\n--%s--",
             odd, odd);
    CHECK_INT(parse_all(odd, body, NULL, &c, &e), 0);
    CHECK_INT(c.nparts, 1);
    CHECK(c.has_filename[0]);
    CHECK_STR(c.filename[0], "");
    CHECK_INT(c.len[0], 0);
    collector_free(&c);
}

TEST(multipart_disposition_variants) {
    collector c;
    collector_init(&c);
    err e = {0};
    /* Case-insensitive names, spaces around '=', filename* ignored, unknown params ignored,
     * a backslash that escapes nothing is kept (old IE full paths), UTF-8 passes through. */
    const char *body = "--b\r\n"
                       "CONTENT-DISPOSITION: Form-Data ; Name = \"\xe7\x94\xb3\xe8\xaf\xb7\" ; "
                       "filename*=UTF-8''x.txt; size=3; FILENAME=\"C:\\dir\\f\\\\.txt\";\r\n"
                       "\r\n"
                       "abc\r\n--b--";
    CHECK_INT(parse_all("b", body, NULL, &c, &e), 0);
    CHECK_INT(c.nparts, 1);
    CHECK_STR(c.name[0], "\xe7\x94\xb3\xe8\xaf\xb7");
    CHECK_STR(c.filename[0], "C:\\dir\\f\\.txt");
    collector_free(&c);
}

TEST(multipart_data_is_exact) {
    /* Data ending in CR, LF, "--" and partial boundaries must reach the callback intact. */
    const char *tails[] = {"\r", "\n", "\r\n", "\r\n-", "\r\n--", "\r\n--b", "--b", "x\r\r"};
    for (size_t k = 0; k < sizeof(tails) / sizeof(tails[0]); k++) {
        collector c;
        collector_init(&c);
        err e = {0};
        char body[256];
        snprintf(body, sizeof(body),
                 "--bb\r\nContent-Disposition: form-data; name=a\r\n\r\n%s\r\n--bb--", tails[k]);
        CHECK_INT(parse_all("bb", body, NULL, &c, &e), 0);
        CHECK_INT(c.nparts, 1);
        CHECK_INT(c.len[0], strlen(tails[k]));
        if (c.len[0] == strlen(tails[k])) CHECK(memcmp(c.data[0], tails[k], c.len[0]) == 0);
        collector_free(&c);
    }
}

static void expect_error(const char *boundary, const char *body, const multipart_limits *limits,
                         int status, const char *code) {
    collector c;
    collector_init(&c);
    err e = {0};
    int rc = parse_all(boundary, body, limits, &c, &e);
    if (rc != -1) fprintf(stderr, "    accepted: \"%s\"\n", body);
    CHECK_INT(rc, -1);
    CHECK_INT(e.status, status);
    CHECK_STR(e.code, code);
    CHECK_STR(e.field, "body");
    CHECK(e.message[0] != '\0');
    CHECK_INT(c.order_errors, 0);
    collector_free(&c);
}

#define CD "Content-Disposition: form-data; name=a\r\n"

TEST(multipart_malformed) {
    const char *bad[] = {
        "",                                    /* nothing at all */
        "just a preamble",                     /* no boundary */
        "--b\r\n" CD "\r\nvalue",              /* truncated in the data */
        "--b\r\n" CD "\r\nvalue\r\n--b",       /* no closing "--" */
        "--b\r\n" CD "\r\nvalue\r\n--b-",      /* half a closing "--" */
        "--b\r\n" CD,                          /* truncated in the headers */
        "--bx\r\n" CD "\r\n\r\n--b--",         /* longer boundary on the first line */
        "--b\r\n" CD "\r\nv\r\n--bx\r\n--b--", /* delimiter followed by a character */
        "--b\n" CD "\r\n\r\n--b--",            /* bare LF after the boundary */
        "--b\rx" CD "\r\n\r\n--b--",           /* CR without LF */
        "--b-x",                               /* single dash */
        "--b\r\n\r\n\r\n--b--",                /* a part without headers */
        "--b\r\nX-A: 1\r\n\r\n\r\n--b--",      /* no Content-Disposition */
        "--b\r\nContent-Disposition: attachment; name=a\r\n\r\n\r\n--b--",
        "--b\r\nContent-Disposition: form-data\r\n\r\n\r\n--b--",
        "--b\r\nContent-Disposition: form-data; filename=x\r\n\r\n\r\n--b--",
        "--b\r\nContent-Disposition: form-data; name=\"\"\r\n\r\n\r\n--b--",
        "--b\r\nContent-Disposition: form-data; name=a; name=b\r\n\r\n\r\n--b--",
        "--b\r\nContent-Disposition: form-data; name=a; filename=x; filename=y\r\n\r\n\r\n--b--",
        "--b\r\n" CD CD "\r\n\r\n--b--", /* two dispositions */
        "--b\r\n" CD "Content-Type: a\r\nContent-Type: b\r\n\r\n\r\n--b--",
        "--b\r\nContent-Disposition: form-data; name=\"a\r\n\r\n\r\n--b--", /* unterminated */
        "--b\r\nContent-Disposition: form-data; name=\r\n\r\n\r\n--b--",
        "--b\r\nContent-Disposition: form-data; name\r\n\r\n\r\n--b--",
        "--b\r\nContent-Disposition: form-data name=a\r\n\r\n\r\n--b--",
        "--b\r\nContent-Disposition: form-data; name=\"a\"x\r\n\r\n\r\n--b--",
        "--b\r\nContent-Disposition: form-data; =a\r\n\r\n\r\n--b--",
        "--b\r\nNo colon here\r\n" CD "\r\n\r\n--b--",
        "--b\r\n: empty name\r\n" CD "\r\n\r\n--b--",
        "--b\r\nBad Name: x\r\n" CD "\r\n\r\n--b--",
        "--b\r\n" CD " folded: x\r\n\r\n\r\n--b--", /* obs-fold */
        "--b\r\nX-A: a\nb\r\n" CD "\r\n\r\n--b--",  /* bare LF inside headers */
        "--b\r\nX-A: a\rb\r\n" CD "\r\n\r\n--b--",  /* bare CR inside headers */
        "--b\r\nX-A: a\x01\r\n" CD "\r\n\r\n--b--", /* control character */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect_error("b", bad[i], NULL, 400, "invalid_argument");
}

TEST(multipart_bad_boundary) {
    multipart_parser *p = (multipart_parser *)&p;
    err e = {0};
    CHECK_INT(multipart_new("", NULL, NULL, NULL, &p, &e), -1);
    CHECK(p == NULL);
    CHECK_INT(e.status, 400);
    CHECK_STR(e.code, "invalid_argument");
    CHECK_STR(e.field, "body");
    CHECK_INT(multipart_new(NULL, NULL, NULL, NULL, &p, &e), -1);
    CHECK_INT(multipart_new("a\r\nb", NULL, NULL, NULL, &p, &e), -1);
    CHECK_INT(multipart_new("a;b", NULL, NULL, NULL, &p, &e), -1);
    CHECK_INT(multipart_new("a\"b", NULL, NULL, NULL, &p, &e), -1);
    CHECK_INT(multipart_new("ends with space ", NULL, NULL, NULL, &p, &e), -1);
    CHECK_INT(multipart_new("\xe4\xb8\xad", NULL, NULL, NULL, &p, &e), -1);
    char b70[71], b71[72];
    memset(b70, 'x', 70);
    b70[70] = '\0';
    memset(b71, 'x', 71);
    b71[71] = '\0';
    CHECK_INT(multipart_new(b71, NULL, NULL, NULL, &p, &e), -1);
    CHECK_INT(multipart_new(b70, NULL, NULL, NULL, &p, &e), 0);
    CHECK(p != NULL);
    /* With no callbacks the parser still checks the body. */
    char body[200];
    snprintf(body, sizeof(body), "--%s\r\n" CD "\r\nv\r\n--%s--\r\n", b70, b70);
    CHECK_INT(multipart_feed(p, body, strlen(body), &e), 0);
    CHECK_INT(multipart_finish(p, &e), 0);
    multipart_free(p);
    multipart_free(NULL);
}

TEST(multipart_part_limit) {
    multipart_limits lim = {.max_parts = 2};
    const char *two = "--b\r\n" CD "\r\n1\r\n--b\r\n" CD "\r\n2\r\n--b--";
    const char *three = "--b\r\n" CD "\r\n1\r\n--b\r\n" CD "\r\n2\r\n--b\r\n" CD "\r\n3\r\n--b--";
    collector c;
    collector_init(&c);
    err e = {0};
    CHECK_INT(parse_all("b", two, &lim, &c, &e), 0);
    CHECK_INT(c.nparts, 2);
    collector_free(&c);
    expect_error("b", three, &lim, 413, "payload_too_large");

    /* The default is 16. */
    char body[4096] = "";
    size_t off = 0;
    for (int i = 0; i < 17; i++)
        off += (size_t)snprintf(body + off, sizeof(body) - off, "--b\r\n" CD "\r\n%d\r\n", i);
    snprintf(body + off, sizeof(body) - off, "--b--");
    expect_error("b", body, NULL, 413, "payload_too_large");
    /* Cut the 17th part away: accepted. */
    char *last = strstr(body, "--b\r\n" CD "\r\n16\r\n");
    CHECK(last != NULL);
    if (last) {
        snprintf(last, 6, "--b--");
        collector_init(&c);
        CHECK_INT(parse_all("b", body, NULL, &c, &e), 0);
        CHECK_INT(c.nparts, 16);
        collector_free(&c);
    }
}

TEST(multipart_header_limit) {
    /* The header block is the disposition line with its CRLF plus the empty line. */
    multipart_limits lim = {.max_header_bytes = strlen(CD) + 2};
    collector c;
    collector_init(&c);
    err e = {0};
    CHECK_INT(parse_all("b", "--b\r\n" CD "\r\nv\r\n--b--", &lim, &c, &e), 0);
    CHECK_INT(c.nparts, 1);
    collector_free(&c);
    lim.max_header_bytes = strlen(CD) + 1;
    expect_error("b", "--b\r\n" CD "\r\nv\r\n--b--", &lim, 400, "invalid_argument");

    /* Default 8 KiB: a 9000-byte header is refused without growing any buffer. */
    size_t n = 9000 + 64;
    char *body = malloc(n);
    int off = snprintf(body, n, "--b\r\nX-Big: ");
    memset(body + off, 'a', 9000);
    snprintf(body + off + 9000, n - (size_t)off - 9000, "\r\n" CD "\r\n\r\n--b--");
    expect_error("b", body, NULL, 400, "invalid_argument");
    free(body);
}

TEST(multipart_padding_limit) {
    char body[1024];
    int off = snprintf(body, sizeof(body), "--b");
    memset(body + off, ' ', 300);
    snprintf(body + off + 300, sizeof(body) - (size_t)off - 300, "\r\n" CD "\r\nv\r\n--b--");
    expect_error("b", body, NULL, 400, "invalid_argument");
}

TEST(multipart_callback_abort) {
    const char *body = "--b\r\n" CD "\r\n1\r\n--b\r\n" CD "\r\n2\r\n--b--";
    for (int which = 0; which < 3; which++) {
        for (int at = 1; at <= 2; at++) {
            collector c;
            collector_init(&c);
            if (which == 0) c.fail_begin_at = at;
            if (which == 1) c.fail_data_at = at;
            if (which == 2) c.fail_end_at = at;
            multipart_parser *p = NULL;
            err e = {0};
            CHECK_INT(multipart_new("b", NULL, &callbacks, &c, &p, &e), 0);
            CHECK_INT(multipart_feed(p, body, strlen(body), &e), -1);
            CHECK_INT(e.status, 400);
            CHECK_STR(e.code, "invalid_argument");
            CHECK_INT(c.nparts, at); /* nothing after the failing callback */
            int parts = c.nparts, ends = c.ends;
            /* The error is sticky and no callback runs any more. */
            err e2 = {0};
            CHECK_INT(multipart_feed(p, body, strlen(body), &e2), -1);
            CHECK_STR(e2.message, e.message);
            CHECK_INT(multipart_finish(p, &e2), -1);
            CHECK_INT(c.nparts, parts);
            CHECK_INT(c.ends, ends);
            multipart_free(p);
            collector_free(&c);
        }
    }
}

TEST(multipart_sticky_error_and_epilogue) {
    collector c;
    collector_init(&c);
    multipart_parser *p = NULL;
    err e = {0};
    CHECK_INT(multipart_new("b", NULL, &callbacks, &c, &p, &e), 0);
    CHECK_INT(multipart_feed(p, "--b\r\nbroken\r\n\r\n", 15, &e), -1);
    CHECK_INT(e.status, 400);
    CHECK_INT(multipart_feed(p, "--b--", 5, NULL), -1); /* e may be NULL */
    CHECK_INT(multipart_finish(p, &e), -1);
    CHECK_INT(c.nparts, 0);
    multipart_free(p);

    /* After the closing boundary anything goes, in any number of feeds. */
    CHECK_INT(multipart_new("b", NULL, &callbacks, &c, &p, &e), 0);
    CHECK_INT(multipart_feed(p, "--b--", 5, &e), 0);
    CHECK_INT(multipart_feed(p, "\r\n--b\r\n" CD "\r\n", 9 + strlen(CD), &e), 0);
    CHECK_INT(multipart_feed(p, "\x01\x02garbage", 9, &e), 0);
    CHECK_INT(multipart_finish(p, &e), 0);
    CHECK_INT(c.nparts, 0);
    multipart_free(p);
    collector_free(&c);
}

TEST(multipart_open_part_not_ended_on_error) {
    collector c;
    collector_init(&c);
    err e = {0};
    CHECK_INT(parse_all("b", "--b\r\n" CD "\r\npartial data", NULL, &c, &e), -1);
    CHECK_INT(c.nparts, 1);
    CHECK_INT(c.ends, 0);
    CHECK_INT(c.len[0], 12);
    collector_free(&c);
}

/* Write a body with a ~150 KB binary file (crossing the 64 KiB read size, with CRs and
 * near-boundaries at the chunk borders) to a temp file and parse it from disk. */
TEST(multipart_parse_file) {
    char path[] = "/tmp/isle-test-multipart-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd < 0) return;
    size_t flen = 150000;
    char *file = malloc(flen);
    for (size_t i = 0; i < flen; i++)
        file[i] = (char)(i * 131 + (i >> 7));
    const char *head = "--fileboundary\r\n" CD "\r\nfield\r\n--fileboundary\r\n"
                       "Content-Disposition: form-data; name=\"up\"; filename=\"x.bin\"\r\n\r\n";
    const char *tail = "\r\n--fileboundary--\r\n";
    /* Near-boundaries straddling the 64 KiB reads. */
    const char *near = "\r\n--filebound";
    memcpy(file + 65536 - strlen(head) - 6, near, strlen(near));
    memcpy(file + 2 * 65536 - strlen(head) - 12, near, strlen(near));
    CHECK(write(fd, head, strlen(head)) == (ssize_t)strlen(head));
    CHECK(write(fd, file, flen) == (ssize_t)flen);
    CHECK(write(fd, tail, strlen(tail)) == (ssize_t)strlen(tail));
    close(fd);

    collector c;
    collector_init(&c);
    err e = {0};
    CHECK_INT(multipart_parse_file(path, "fileboundary", NULL, &callbacks, &c, &e), 0);
    CHECK_INT(c.nparts, 2);
    CHECK_INT(c.ends, 2);
    CHECK_STR(c.filename[1], "x.bin");
    CHECK_INT(c.len[1], flen);
    CHECK(c.len[1] == flen && memcmp(c.data[1], file, flen) == 0);
    collector_free(&c);

    /* Truncate the closing boundary away: the file parse fails with a 400. */
    CHECK_INT(truncate(path, (off_t)(strlen(head) + flen + 5)), 0);
    collector_init(&c);
    CHECK_INT(multipart_parse_file(path, "fileboundary", NULL, &callbacks, &c, &e), -1);
    CHECK_INT(e.status, 400);
    collector_free(&c);

    unlink(path);
    collector_init(&c);
    CHECK_INT(multipart_parse_file(path, "fileboundary", NULL, &callbacks, &c, &e), -1);
    CHECK_INT(e.status, 500);
    CHECK_STR(e.code, "internal");
    CHECK_INT(multipart_parse_file(path, "", NULL, &callbacks, &c, &e), -1);
    CHECK_INT(e.status, 400);
    collector_free(&c);
    free(file);
}
