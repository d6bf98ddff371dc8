/* screen/extract: text out of bid documents for the similarity screen.
 *
 * PDF through poppler-glib (at most SIM_PDF_PAGES pages), docx through libzip and
 * libxml2's streaming reader (word/document.xml, decompressed straight into the
 * parser and cut off past SIM_UNZIP_MAX bytes, so a zip bomb costs bounded memory
 * and time), plain text as UTF-8 or GB18030. The type comes from the content, not
 * the file name. Every limit breach or damaged file is a clear error, never a
 * crash. */
#include <errno.h>
#include <iconv.h>
#include <poppler.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <libxml/xmlreader.h>
#include <zip.h>

#include "screen/similarity.h"

/* A growing text buffer capped at SIM_TEXT_MAX. */
typedef struct tbuf {
    char *p;
    size_t n, cap;
    int over;
} tbuf;

static void tb_add(tbuf *b, const char *s, size_t n) {
    if (b->over) return;
    if (b->n + n + 1 > SIM_TEXT_MAX) {
        b->over = 1;
        return;
    }
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->n + n + 1)
            cap *= 2;
        char *q = realloc(b->p, cap);
        if (!q) {
            b->over = 1;
            return;
        }
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

static int tb_finish(tbuf *b, char **text, size_t *tlen, err *e) {
    if (b->over) {
        free(b->p);
        return err_set(e, 413, "document_too_large", "document", "文档文字超过 %u MiB 上限",
                       SIM_TEXT_MAX >> 20);
    }
    if (!b->p) {
        b->p = malloc(1);
        if (!b->p) return err_internal(e, "内存不足");
        b->p[0] = 0;
    }
    *text = b->p;
    *tlen = b->n;
    return 0;
}

static int utf8_valid(const unsigned char *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        if (c == 0) return 0;
        if (c < 0x80) {
            i++;
            continue;
        }
        if ((c & 0xF0) == 0xE0 && i + 2 < n && (s[i + 1] & 0xC0) == 0x80 &&
            (s[i + 2] & 0xC0) == 0x80 && (c != 0xE0 || s[i + 1] >= 0xA0) &&
            (c != 0xED || s[i + 1] < 0xA0)) { /* 3 bytes, no overlong or surrogate */
            i += 3;
            continue;
        }
        size_t k = (c & 0xE0) == 0xC0 ? 1 : (c & 0xF0) == 0xE0 ? 2 : (c & 0xF8) == 0xF0 ? 3 : 0;
        if (!k || c < 0xC2 || c > 0xF4 || i + k >= n) return 0;
        for (size_t j = 1; j <= k; j++)
            if ((s[i + j] & 0xC0) != 0x80) return 0;
        i += k + 1;
    }
    return 1;
}

/* Number of bytes that do not start a valid UTF-8 sequence. */
static size_t utf8_bad(const unsigned char *s, size_t n) {
    size_t bad = 0, i = 0;
    while (i < n) {
        unsigned c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t k = (c & 0xE0) == 0xC0 ? 1 : (c & 0xF0) == 0xE0 ? 2 : (c & 0xF8) == 0xF0 ? 3 : 0;
        int ok = k && c >= 0xC2 && c <= 0xF4 && i + k < n;
        for (size_t j = 1; ok && j <= k; j++)
            ok = (s[i + j] & 0xC0) == 0x80;
        if (ok) {
            i += k + 1;
        } else {
            bad++;
            i++;
        }
    }
    return bad;
}

const char *sim_detect(const unsigned char *data, size_t len) {
    if (!data) return NULL;
    if (len >= 4 && !memcmp(data, "PK\x03\x04", 4)) return "docx";
    size_t scan = len < 1024 ? len : 1024;
    for (size_t i = 0; i + 5 <= scan; i++)
        if (!memcmp(data + i, "%PDF-", 5)) return "pdf";
    if (len >= 4 && !memcmp(data, "\xD0\xCF\x11\xE0", 4)) return NULL; /* OLE: .doc, .xls */
    if (memchr(data, 0, len)) return NULL;
    return "text";
}

/* ---- PDF ---- */

static int extract_pdf(const unsigned char *data, size_t len, char **text, size_t *tlen, err *e) {
    GError *ge = NULL;
    GBytes *bytes = g_bytes_new_static(data, len);
    PopplerDocument *doc = poppler_document_new_from_bytes(bytes, NULL, &ge);
    if (!doc) {
        int locked = ge && ge->domain == POPPLER_ERROR && ge->code == POPPLER_ERROR_ENCRYPTED;
        if (ge) g_error_free(ge);
        g_bytes_unref(bytes);
        if (locked)
            return err_set(e, 422, "corrupt_document", "document", "PDF 已加密，无法读取文字");
        return err_set(e, 422, "corrupt_document", "document", "PDF 文件损坏，无法读取");
    }
    int pages = poppler_document_get_n_pages(doc);
    if (pages > SIM_PDF_PAGES) {
        g_object_unref(doc);
        g_bytes_unref(bytes);
        return err_set(e, 413, "document_too_large", "document", "PDF 超过 %d 页上限（%d 页）",
                       SIM_PDF_PAGES, pages);
    }
    tbuf b = {0};
    for (int i = 0; i < pages && !b.over; i++) {
        PopplerPage *pg = poppler_document_get_page(doc, i);
        if (!pg) continue;
        char *t = poppler_page_get_text(pg);
        if (t) {
            tb_add(&b, t, strlen(t));
            tb_add(&b, "\n", 1);
            g_free(t);
        }
        g_object_unref(pg);
    }
    g_object_unref(doc);
    g_bytes_unref(bytes);
    return tb_finish(&b, text, tlen, e);
}

/* ---- docx ---- */

typedef struct zread {
    zip_file_t *zf;
    size_t total;
    int over, failed;
} zread;

static int zread_cb(void *ctx, char *buf, int n) {
    zread *z = ctx;
    if (z->total >= SIM_UNZIP_MAX) {
        z->over = 1;
        return -1;
    }
    size_t want = (size_t)n;
    if (want > SIM_UNZIP_MAX - z->total) want = SIM_UNZIP_MAX - z->total + 1;
    zip_int64_t got = zip_fread(z->zf, buf, want);
    if (got < 0) {
        z->failed = 1;
        return -1;
    }
    z->total += (size_t)got;
    if (z->total > SIM_UNZIP_MAX) {
        z->over = 1;
        return -1;
    }
    return (int)got;
}

static int zclose_cb(void *ctx) {
    (void)ctx;
    return 0;
}

static void xml_quiet(void *ctx, const char *msg, ...) {
    (void)ctx;
    (void)msg;
}

static int extract_docx(const unsigned char *data, size_t len, char **text, size_t *tlen, err *e) {
    zip_error_t zerr;
    zip_error_init(&zerr);
    zip_source_t *src = zip_source_buffer_create(data, len, 0, &zerr);
    if (!src) {
        zip_error_fini(&zerr);
        return err_internal(e, "内存不足");
    }
    zip_t *za = zip_open_from_source(src, ZIP_RDONLY, &zerr);
    zip_error_fini(&zerr);
    if (!za) {
        zip_source_free(src);
        return err_set(e, 422, "corrupt_document", "document", "docx 文件损坏（不是有效的 zip）");
    }
    int rc = -1;
    zip_int64_t n = zip_get_num_entries(za, 0);
    zip_int64_t idx = zip_name_locate(za, "word/document.xml", 0);
    zip_file_t *zf = NULL;
    if (n > SIM_ZIP_ENTRIES) {
        err_set(e, 413, "document_too_large", "document", "docx 压缩包条目过多（超过 %d 个）",
                SIM_ZIP_ENTRIES);
    } else if (idx < 0) {
        err_set(e, 400, "unsupported_document", "document",
                "压缩文件中没有 word/document.xml（只支持 docx）");
    } else if (!(zf = zip_fopen_index(za, (zip_uint64_t)idx, 0))) {
        err_set(e, 422, "corrupt_document", "document", "docx 正文无法解压（损坏或已加密）");
    } else {
        zread z = {.zf = zf};
        xmlSetGenericErrorFunc(NULL, xml_quiet);
        xmlTextReaderPtr r =
            xmlReaderForIO(zread_cb, zclose_cb, &z, "document.xml", NULL,
                           XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
        tbuf b = {0};
        int st = r ? 1 : -1, in_t = 0;
        while (r && (st = xmlTextReaderRead(r)) == 1 && !b.over) {
            int type = xmlTextReaderNodeType(r);
            const char *ln = (const char *)xmlTextReaderConstLocalName(r);
            if (type == XML_READER_TYPE_ELEMENT && ln) {
                if (!strcmp(ln, "t") && !xmlTextReaderIsEmptyElement(r))
                    in_t = 1;
                else if (!strcmp(ln, "tab"))
                    tb_add(&b, "\t", 1);
                else if (!strcmp(ln, "br") || !strcmp(ln, "cr"))
                    tb_add(&b, "\n", 1);
            } else if (type == XML_READER_TYPE_END_ELEMENT && ln) {
                if (!strcmp(ln, "t"))
                    in_t = 0;
                else if (!strcmp(ln, "p"))
                    tb_add(&b, "\n", 1);
            } else if (in_t && (type == XML_READER_TYPE_TEXT ||
                                type == XML_READER_TYPE_SIGNIFICANT_WHITESPACE ||
                                type == XML_READER_TYPE_CDATA)) {
                const char *v = (const char *)xmlTextReaderConstValue(r);
                if (v) tb_add(&b, v, strlen(v));
            }
        }
        if (r) xmlFreeTextReader(r);
        zip_fclose(zf);
        if (z.over) {
            free(b.p);
            err_set(e, 413, "document_too_large", "document",
                    "docx 正文解压后超过 %u MiB 上限（疑似压缩炸弹）", SIM_UNZIP_MAX >> 20);
        } else if (st < 0 || z.failed) {
            free(b.p);
            err_set(e, 422, "corrupt_document", "document", "docx 正文 XML 损坏");
        } else {
            rc = tb_finish(&b, text, tlen, e);
        }
    }
    zip_close(za); /* read-only: frees the source too */
    return rc;
}

/* ---- plain text ---- */

static int extract_text(const unsigned char *data, size_t len, char **text, size_t *tlen, err *e) {
    if (len >= 3 && !memcmp(data, "\xEF\xBB\xBF", 3)) data += 3, len -= 3;
    if (len > SIM_TEXT_MAX) {
        return err_set(e, 413, "document_too_large", "document", "文档文字超过 %u MiB 上限",
                       SIM_TEXT_MAX >> 20);
    }
    if (utf8_valid(data, len)) {
        char *p = malloc(len + 1);
        if (!p) return err_internal(e, "内存不足");
        memcpy(p, data, len);
        p[len] = 0;
        *text = p;
        *tlen = len;
        return 0;
    }
    /* Not UTF-8: GB18030 (a superset of GBK and GB2312) is what Chinese Windows writes. */
    iconv_t cd = iconv_open("UTF-8", "GB18030");
    if (cd == (iconv_t)-1)
        return err_set(e, 400, "unsupported_document", "document", "文本编码无法识别");
    size_t cap = len * 2 + 4;
    char *out = malloc(cap), *op = out;
    size_t left = cap - 1, inleft = len;
    char *ip = (char *)data;
    size_t r = out ? iconv(cd, &ip, &inleft, &op, &left) : (size_t)-1;
    iconv_close(cd);
    if (r == (size_t)-1 || inleft) {
        free(out);
        /* UTF-8 with a few damaged bytes (a cut download, a bad copy): kept, the
         * damaged bytes are skipped when the text is read */
        if (utf8_bad(data, len) * 100 <= len) {
            char *p = malloc(len + 1);
            if (!p) return err_internal(e, "内存不足");
            memcpy(p, data, len);
            p[len] = 0;
            *text = p;
            *tlen = len;
            return 0;
        }
        return err_set(e, 400, "unsupported_document", "document",
                       "不支持的文档类型或编码（只支持 PDF、docx 与 UTF-8/GB18030 文本）");
    }
    *op = 0;
    *text = out;
    *tlen = (size_t)(op - out);
    return 0;
}

int sim_extract(const unsigned char *data, size_t len, char **text, size_t *tlen, err *e) {
    *text = NULL;
    *tlen = 0;
    if (len > SIM_FILE_MAX) {
        return err_set(e, 413, "document_too_large", "document", "文档超过 %u MiB 上限",
                       SIM_FILE_MAX >> 20);
    }
    if (len >= 4 && !memcmp(data, "\xD0\xCF\x11\xE0", 4)) {
        return err_set(e, 400, "unsupported_document", "document",
                       "旧版 Office 文档（.doc）不支持，请另存为 docx 或 PDF");
    }
    const char *kind = sim_detect(data, len);
    if (!kind) {
        return err_set(e, 400, "unsupported_document", "document",
                       "不支持的文档类型（只支持 PDF、docx 与纯文本）");
    }
    if (!strcmp(kind, "pdf")) return extract_pdf(data, len, text, tlen, e);
    if (!strcmp(kind, "docx")) return extract_docx(data, len, text, tlen, e);
    return extract_text(data, len, text, tlen, e);
}

int sim_extract_file(const char *path, char **text, size_t *tlen, err *e) {
    *text = NULL;
    *tlen = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return err_set(e, 404, "not_found", "document", "无法打开文档：%s", strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return err_invalid(e, "document", "不是普通文件");
    }
    if ((unsigned long long)st.st_size > SIM_FILE_MAX) {
        fclose(f);
        return err_set(e, 413, "document_too_large", "document", "文档超过 %u MiB 上限",
                       SIM_FILE_MAX >> 20);
    }
    size_t n = (size_t)st.st_size;
    unsigned char *buf = malloc(n + 1);
    size_t got = buf ? fread(buf, 1, n, f) : 0;
    fclose(f);
    if (!buf || got != n) {
        free(buf);
        return err_internal(e, "读取文档失败");
    }
    /* UTF-8 text (the common case in bulk) is handed over without a copy; the
     * encoding is judged on the first 64 KiB (decoding later is lenient) */
    const char *kind = sim_detect(buf, n);
    size_t probe = n < 65536 ? n : 65536;
    while (probe < n && probe > 0 && (buf[probe] & 0xC0) == 0x80)
        probe--;
    if (kind && !strcmp(kind, "text") && n <= SIM_TEXT_MAX &&
        !(n >= 3 && !memcmp(buf, "\xEF\xBB\xBF", 3)) && utf8_valid(buf, probe)) {
        buf[n] = 0;
        *text = (char *)buf;
        *tlen = n;
        return 0;
    }
    int rc = sim_extract(buf, n, text, tlen, e);
    free(buf);
    return rc;
}
