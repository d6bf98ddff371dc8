/* multipart: streaming multipart/form-data parser (see multipart.h).
 *
 * Design. The body is a sequence of delimiters D = CRLF "--" boundary. The parser
 * pretends the body is preceded by CRLF, so a first boundary at offset 0 matches like
 * any other. States:
 *   PREAMBLE   scan for D, discarding bytes
 *   LINE_*     after D: "--" ends the body, or optional spaces/tabs then CRLF
 *   HEADERS    copy bytes into hbuf (bounded) until the empty line, then parse them
 *   BODY       scan for D, handing bytes to on_part_data
 *   DONE       epilogue, ignored
 *   FAILED     sticky error
 *
 * Scanning for D across chunk borders needs no buffer: bytes held back because they
 * might start a delimiter are always a prefix of D itself (D[0..match)), so when they
 * turn out to be data they are emitted from D. Boundary characters exclude CR and LF,
 * so CR occurs in D only at D[0]; after a mismatch the only possible restart is at a
 * CR, which the scan loop finds with memchr. Work per byte is O(1); callbacks are
 * made per run of data, never per byte.
 *
 * Must never: allocate per byte or per chunk, read outside the chunk given, or call
 * a callback after an error. Error messages never quote the body (personal data). */
#include "http/multipart.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "base/xmalloc.h"

#define DELIM_MAX          (4 + MULTIPART_BOUNDARY_MAX) /* CRLF "--" boundary */
#define LINE_PADDING_MAX   256                          /* spaces/tabs after a boundary */
#define FILE_CHUNK         (64 * 1024)
#define HEADER_BYTES_LIMIT ((size_t)16 * 1024 * 1024) /* sanity cap on the configured limit */

enum mp_state {
    MP_PREAMBLE,
    MP_LINE_START, /* just after a delimiter */
    MP_LINE_DASH,  /* saw one '-' after it */
    MP_LINE_PAD,   /* transport padding */
    MP_LINE_CR,    /* saw CR, need LF */
    MP_HEADERS,
    MP_BODY,
    MP_DONE,
    MP_FAILED,
};

struct multipart_parser {
    char delim[DELIM_MAX + 1];
    size_t delim_len;
    size_t match; /* bytes of delim matched and held back; always delim[0..match) */
    enum mp_state state;
    size_t padding;

    size_t parts;
    size_t max_parts;

    char *hbuf; /* the current part's raw header block */
    size_t hlen;
    size_t hmax;
    char *vbuf; /* decoded header values handed out in multipart_part_info */
    size_t vlen;
    size_t vmax;

    multipart_callbacks cb;
    void *ctx;
    err error; /* valid in MP_FAILED */
};

/* ---- errors ---- */

static void fail_status(multipart_parser *p, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void fail_status(multipart_parser *p, int status, const char *code, const char *fmt, ...) {
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    err_set(&p->error, status, code, "body", "malformed multipart body: %s", msg);
    p->state = MP_FAILED;
}

#define fail(p, ...) fail_status((p), 400, "invalid_argument", __VA_ARGS__)

static int report(const multipart_parser *p, err *e) {
    if (e) *e = p->error;
    return -1;
}

/* ---- callbacks ---- */

static void callback_failed(multipart_parser *p) {
    err_set(&p->error, 400, "invalid_argument", "body", "multipart part rejected");
    p->state = MP_FAILED;
}

static int emit_data(multipart_parser *p, const char *data, size_t len) {
    if (len == 0 || !p->cb.on_part_data) return 0;
    if (p->cb.on_part_data(p->ctx, data, len) != 0) {
        callback_failed(p);
        return -1;
    }
    return 0;
}

static int emit_end(multipart_parser *p) {
    if (!p->cb.on_part_end) return 0;
    if (p->cb.on_part_end(p->ctx) != 0) {
        callback_failed(p);
        return -1;
    }
    return 0;
}

/* ---- creation ---- */

/* RFC 2046 bcharsnospace, plus space (allowed except last). No CR, no LF. */
static int is_bchar(unsigned char c) {
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return 1;
    return c != '\0' && strchr("'()+_,-./:=? ", c) != NULL;
}

int multipart_new(const char *boundary, const multipart_limits *limits,
                  const multipart_callbacks *cb, void *ctx, multipart_parser **out, err *e) {
    *out = NULL;
    if (!boundary) return err_invalid(e, "body", "multipart boundary missing");
    size_t blen = strnlen(boundary, MULTIPART_BOUNDARY_MAX + 1);
    if (blen == 0 || blen > MULTIPART_BOUNDARY_MAX)
        return err_invalid(e, "body", "multipart boundary must be 1 to %d characters",
                           MULTIPART_BOUNDARY_MAX);
    for (size_t i = 0; i < blen; i++)
        if (!is_bchar((unsigned char)boundary[i]))
            return err_invalid(e, "body", "multipart boundary has an invalid character");
    if (boundary[blen - 1] == ' ')
        return err_invalid(e, "body", "multipart boundary ends with a space");

    size_t max_parts =
        limits && limits->max_parts ? limits->max_parts : MULTIPART_DEFAULT_MAX_PARTS;
    size_t hmax = limits && limits->max_header_bytes ? limits->max_header_bytes
                                                     : MULTIPART_DEFAULT_MAX_HEADER_BYTES;
    if (hmax > HEADER_BYTES_LIMIT)
        return err_internal(e, "multipart header limit %zu is unreasonable", hmax);

    multipart_parser *p = xcalloc(1, sizeof(*p));
    memcpy(p->delim, "\r\n--", 4);
    memcpy(p->delim + 4, boundary, blen);
    p->delim_len = 4 + blen;
    p->delim[p->delim_len] = '\0';
    p->match = 2; /* the virtual CRLF before the body */
    p->state = MP_PREAMBLE;
    p->max_parts = max_parts;
    p->hmax = hmax;
    p->hbuf = xmalloc(hmax);
    /* Decoded values are never longer than the raw header block; +3 for their NULs. */
    p->vmax = hmax + 3;
    p->vbuf = xmalloc(p->vmax);
    if (cb) p->cb = *cb;
    p->ctx = ctx;
    *out = p;
    return 0;
}

void multipart_free(multipart_parser *p) {
    if (!p) return;
    free(p->hbuf);
    free(p->vbuf);
    free(p);
}

/* ---- delimiter scanning (PREAMBLE and BODY) ---- */

/* Consume d[0..n) looking for the delimiter; returns the bytes consumed. Stops right
 * after a delimiter (state becomes MP_LINE_START) or on a callback failure. */
static size_t scan_delimiter(multipart_parser *p, const char *d, size_t n) {
    int is_body = p->state == MP_BODY;
    size_t carried = p->match; /* held-back bytes from earlier chunks */
    size_t cand = 0;           /* start in d of a candidate begun in this chunk */
    size_t i = 0;
    while (i < n) {
        if (p->match == 0) {
            const char *cr = memchr(d + i, '\r', n - i);
            if (!cr) {
                i = n;
                break;
            }
            cand = (size_t)(cr - d);
            p->match = 1;
            i = cand + 1;
            continue;
        }
        if (d[i] == p->delim[p->match]) {
            p->match++;
            i++;
            if (p->match < p->delim_len) continue;
            /* Delimiter complete. Data before it: d[0..cand) if it started here; if it
             * started in an earlier chunk, everything before it was emitted already. */
            p->match = 0;
            if (is_body) {
                if (!carried && emit_data(p, d, cand) != 0) return i;
                if (emit_end(p) != 0) return i;
            }
            p->state = MP_LINE_START;
            return i;
        }
        /* Mismatch: the held-back bytes were data. Those from earlier chunks are
         * delim[0..carried); those from this chunk stay in d and join the run. The
         * current byte is looked at again: it may be a CR that starts a candidate. */
        if (carried) {
            if (is_body && emit_data(p, p->delim, carried) != 0) return i;
            carried = 0;
        }
        p->match = 0;
    }
    /* End of chunk: emit all but a candidate still being matched. */
    if (is_body) {
        size_t end = p->match == 0 ? n : carried ? 0 : cand;
        emit_data(p, d, end);
    }
    return n;
}

/* ---- header block ---- */

/* Copy s[0..n) into vbuf as a C string, undoing quoted-pair escapes when quoted. */
static const char *value_copy(multipart_parser *p, const char *s, size_t n, int quoted) {
    if (n + 1 > p->vmax - p->vlen) return NULL; /* cannot happen: see vmax */
    char *out = p->vbuf + p->vlen;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        /* Like Go's mime package: a backslash escapes only '"' and '\', so that an old
         * browser's unescaped "C:\dir\file.txt" keeps its backslashes. */
        if (quoted && s[i] == '\\' && i + 1 < n && (s[i + 1] == '"' || s[i + 1] == '\\')) i++;
        out[o++] = s[i];
    }
    out[o] = '\0';
    p->vlen += o + 1;
    return out;
}

static int is_tchar(unsigned char c) {
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return 1;
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int is_ows(char c) {
    return c == ' ' || c == '\t';
}

/* Match s[0..n) against a lower-case ASCII literal, ignoring case. */
static int token_is(const char *s, size_t n, const char *lit) {
    return strlen(lit) == n && strncasecmp(s, lit, n) == 0;
}

/* Parse `form-data; name="x"; filename="y"` from v[0..n) (no CR/LF/NUL in it). */
static int parse_disposition(multipart_parser *p, const char *v, size_t n,
                             multipart_part_info *info) {
    size_t i = 0;
    size_t start = i;
    while (i < n && is_tchar((unsigned char)v[i]))
        i++;
    if (!token_is(v + start, i - start, "form-data")) {
        fail(p, "part %zu: Content-Disposition is not form-data", p->parts);
        return -1;
    }
    for (;;) {
        while (i < n && is_ows(v[i]))
            i++;
        if (i == n) break;
        if (v[i] != ';') goto malformed;
        i++;
        while (i < n && is_ows(v[i]))
            i++;
        if (i == n) break; /* trailing ';' tolerated */
        size_t name = i;
        while (i < n && is_tchar((unsigned char)v[i]))
            i++;
        size_t name_len = i - name;
        while (i < n && is_ows(v[i]))
            i++;
        if (name_len == 0 || i == n || v[i] != '=') goto malformed;
        i++;
        while (i < n && is_ows(v[i]))
            i++;
        size_t val, val_len;
        int quoted = i < n && v[i] == '"';
        if (quoted) {
            val = ++i;
            while (i < n && v[i] != '"') {
                if (v[i] == '\\' && i + 1 < n) i++;
                i++;
            }
            if (i >= n) goto malformed; /* unterminated */
            val_len = i - val;
            i++;
        } else {
            val = i;
            while (i < n && (unsigned char)v[i] > 0x20 && v[i] != ';' && v[i] != '"' &&
                   v[i] != 0x7f)
                i++;
            val_len = i - val;
            if (val_len == 0) goto malformed;
        }
        const char **slot = NULL;
        if (token_is(v + name, name_len, "name"))
            slot = &info->name;
        else if (token_is(v + name, name_len, "filename"))
            slot = &info->filename;
        if (!slot) continue; /* filename* and anything else: ignored */
        if (*slot) {
            fail(p, "part %zu: Content-Disposition parameter repeated", p->parts);
            return -1;
        }
        *slot = value_copy(p, v + val, val_len, quoted);
        if (!*slot) goto malformed;
    }
    if (!info->name || !info->name[0]) {
        fail(p, "part %zu: Content-Disposition has no name", p->parts);
        return -1;
    }
    return 0;
malformed:
    fail(p, "part %zu: malformed Content-Disposition", p->parts);
    return -1;
}

/* Parse hbuf[0..hlen), which ends with the empty line, and fill info. */
static int parse_headers(multipart_parser *p, multipart_part_info *info) {
    memset(info, 0, sizeof(*info));
    p->vlen = 0;
    int have_disposition = 0;
    const char *h = p->hbuf;
    size_t pos = 0;
    for (;;) {
        /* Lines end with CRLF; the block ends with an empty line. */
        const char *crlf = NULL;
        for (size_t k = pos; k + 1 < p->hlen; k++) {
            if (h[k] == '\r' && h[k + 1] == '\n') {
                crlf = h + k;
                break;
            }
        }
        if (!crlf) {
            fail(p, "part %zu: malformed headers", p->parts); /* not reached: see caller */
            return -1;
        }
        size_t len = (size_t)(crlf - (h + pos));
        const char *line = h + pos;
        pos += len + 2;
        if (len == 0) break;
        for (size_t k = 0; k < len; k++) {
            unsigned char c = (unsigned char)line[k];
            if ((c < 0x20 && c != '\t') || c == 0x7f) {
                fail(p, "part %zu: control character in headers", p->parts);
                return -1;
            }
        }
        size_t name_len = 0;
        while (name_len < len && is_tchar((unsigned char)line[name_len]))
            name_len++;
        if (name_len == 0 || name_len == len || line[name_len] != ':') {
            fail(p, "part %zu: malformed header line", p->parts);
            return -1;
        }
        const char *v = line + name_len + 1;
        size_t vn = len - name_len - 1;
        while (vn > 0 && is_ows(v[0])) {
            v++;
            vn--;
        }
        while (vn > 0 && is_ows(v[vn - 1]))
            vn--;
        if (token_is(line, name_len, "content-disposition")) {
            if (have_disposition) {
                fail(p, "part %zu: Content-Disposition repeated", p->parts);
                return -1;
            }
            have_disposition = 1;
            if (parse_disposition(p, v, vn, info) != 0) return -1;
        } else if (token_is(line, name_len, "content-type")) {
            if (info->content_type) {
                fail(p, "part %zu: Content-Type repeated", p->parts);
                return -1;
            }
            info->content_type = value_copy(p, v, vn, 0);
            if (!info->content_type) return -1;
        }
        /* Other headers (Content-Transfer-Encoding is deprecated by RFC 7578): ignored. */
    }
    if (!have_disposition) {
        fail(p, "part %zu: no Content-Disposition", p->parts);
        return -1;
    }
    return 0;
}

/* Header block complete: parse it and start the part. */
static void begin_part(multipart_parser *p) {
    multipart_part_info info;
    if (parse_headers(p, &info) != 0) return;
    if (p->cb.on_part_begin && p->cb.on_part_begin(p->ctx, &info) != 0) {
        callback_failed(p);
        return;
    }
    p->state = MP_BODY;
    p->match = 0;
}

static int header_block_complete(const multipart_parser *p) {
    if (p->hlen == 2) return memcmp(p->hbuf, "\r\n", 2) == 0;
    return p->hlen >= 4 && memcmp(p->hbuf + p->hlen - 4, "\r\n\r\n", 4) == 0;
}

/* Consume header bytes from d[0..n); returns the bytes consumed. */
static size_t consume_headers(multipart_parser *p, const char *d, size_t n) {
    size_t i = 0;
    while (i < n) {
        const char *lf = memchr(d + i, '\n', n - i);
        size_t take = lf ? (size_t)(lf - (d + i)) + 1 : n - i;
        if (take > p->hmax - p->hlen) {
            fail(p, "part %zu: headers exceed %zu bytes", p->parts, p->hmax);
            return i;
        }
        memcpy(p->hbuf + p->hlen, d + i, take);
        p->hlen += take;
        i += take;
        if (lf && header_block_complete(p)) {
            begin_part(p);
            return i;
        }
    }
    return i;
}

/* ---- the line after a delimiter ---- */

static void start_headers(multipart_parser *p) {
    if (p->parts == p->max_parts) {
        fail_status(p, 413, "payload_too_large", "more than %zu parts", p->max_parts);
        return;
    }
    p->parts++;
    p->hlen = 0;
    p->state = MP_HEADERS;
}

static void boundary_line_byte(multipart_parser *p, char c) {
    switch (p->state) {
    case MP_LINE_START:
        if (c == '-')
            p->state = MP_LINE_DASH;
        else if (c == '\r')
            p->state = MP_LINE_CR;
        else if (is_ows(c)) {
            p->state = MP_LINE_PAD;
            p->padding = 1;
        } else
            fail(p, "boundary followed by unexpected bytes");
        return;
    case MP_LINE_DASH:
        if (c == '-')
            p->state = MP_DONE;
        else
            fail(p, "boundary followed by unexpected bytes");
        return;
    case MP_LINE_PAD:
        if (c == '\r')
            p->state = MP_LINE_CR;
        else if (!is_ows(c))
            fail(p, "boundary followed by unexpected bytes");
        else if (++p->padding > LINE_PADDING_MAX)
            fail(p, "too much padding after boundary");
        return;
    case MP_LINE_CR:
        if (c == '\n')
            start_headers(p);
        else
            fail(p, "boundary line not ended by CRLF");
        return;
    default:
        return;
    }
}

/* ---- feeding ---- */

int multipart_feed(multipart_parser *p, const char *data, size_t len, err *e) {
    if (p->state == MP_FAILED) return report(p, e);
    size_t i = 0;
    while (i < len) {
        switch (p->state) {
        case MP_PREAMBLE:
        case MP_BODY:
            i += scan_delimiter(p, data + i, len - i);
            break;
        case MP_LINE_START:
        case MP_LINE_DASH:
        case MP_LINE_PAD:
        case MP_LINE_CR:
            boundary_line_byte(p, data[i++]);
            break;
        case MP_HEADERS:
            i += consume_headers(p, data + i, len - i);
            break;
        case MP_DONE:
            i = len; /* epilogue */
            break;
        case MP_FAILED:
            return report(p, e);
        }
    }
    if (p->state == MP_FAILED) return report(p, e);
    return 0;
}

int multipart_finish(multipart_parser *p, err *e) {
    if (p->state == MP_FAILED) return report(p, e);
    if (p->state != MP_DONE) {
        fail(p, "body ends before the closing boundary");
        return report(p, e);
    }
    return 0;
}

int multipart_parse_file(const char *path, const char *boundary, const multipart_limits *limits,
                         const multipart_callbacks *cb, void *ctx, err *e) {
    multipart_parser *p;
    if (multipart_new(boundary, limits, cb, ctx, &p, e) != 0) return -1;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int saved = errno;
        multipart_free(p);
        return err_internal(e, "cannot open the uploaded body: %s", strerror(saved));
    }
    char *buf = xmalloc(FILE_CHUNK);
    int rc;
    for (;;) {
        ssize_t got = read(fd, buf, FILE_CHUNK);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) {
            rc = err_internal(e, "cannot read the uploaded body: %s", strerror(errno));
            break;
        }
        if (got == 0) {
            rc = multipart_finish(p, e);
            break;
        }
        if (multipart_feed(p, buf, (size_t)got, e) != 0) {
            rc = -1;
            break;
        }
    }
    free(buf);
    close(fd);
    multipart_free(p);
    return rc;
}
