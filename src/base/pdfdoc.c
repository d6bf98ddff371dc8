/* pdfdoc: flowing A4 documents with Chinese text (see pdfdoc.h). */
#include "base/pdfdoc.h"

#include <hpdf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xmalloc.h"
#include "proofs/proofs.h"

#define PAGE_W 595.0f
#define PAGE_H 842.0f
#define MARGIN 56.0f

struct pdfdoc {
    HPDF_Doc pdf;
    HPDF_Page page;
    HPDF_Font font;
    float y;
    pdfdoc_hpdf_err pe;
};

static void on_error(HPDF_STATUS code, HPDF_STATUS detail, void *arg) {
    pdfdoc_hpdf_err *pe = arg;
    if (!pe->code) {
        pe->code = code;
        pe->detail = detail;
    }
}

HPDF_Doc pdfdoc_new_hpdf(pdfdoc_hpdf_err *pe) {
    HPDF_Doc pdf = HPDF_New(on_error, pe);
    if (!pdf) return NULL;
    HPDF_SetCompressionMode(pdf, HPDF_COMP_ALL);
    HPDF_UseUTFEncodings(pdf);
    HPDF_SetInfoAttr(pdf, HPDF_INFO_CREATOR, "isle");
    return pdf;
}

HPDF_Font pdfdoc_font_hpdf(HPDF_Doc pdf, const char *font_path) {
    const char *name = strstr(font_path, ".ttc") || strstr(font_path, ".TTC")
                           ? HPDF_LoadTTFontFromFile2(pdf, font_path, 0, HPDF_TRUE)
                           : HPDF_LoadTTFontFromFile(pdf, font_path, HPDF_TRUE);
    return name ? HPDF_GetFont(pdf, name, "UTF-8") : NULL;
}

int pdfdoc_save_hpdf(HPDF_Doc pdf, size_t max, unsigned char **out, size_t *len, err *e) {
    *out = NULL;
    *len = 0;
    if (HPDF_SaveToStream(pdf) != HPDF_OK)
        return err_internal(e, "PDF 保存失败（libharu 0x%04X）", (unsigned)HPDF_GetError(pdf));
    HPDF_UINT32 size = HPDF_GetStreamSize(pdf);
    if (size == 0 || size > max)
        return err_internal(e, "生成的 PDF 大小异常（%u 字节）", (unsigned)size);
    unsigned char *buf = xmalloc(size);
    HPDF_UINT32 got = 0;
    while (got < size) {
        HPDF_UINT32 n = size - got;
        HPDF_STATUS st = HPDF_ReadFromStream(pdf, buf + got, &n);
        got += n;
        if (n == 0 || (st != HPDF_OK && st != HPDF_STREAM_EOF)) break;
    }
    if (got != size) {
        free(buf);
        return err_internal(e, "无法读出生成的 PDF");
    }
    *out = buf;
    *len = size;
    return 0;
}

static void new_page(pdfdoc *p) {
    p->page = HPDF_AddPage(p->pdf);
    HPDF_Page_SetSize(p->page, HPDF_PAGE_SIZE_A4, HPDF_PAGE_PORTRAIT);
    p->y = PAGE_H - MARGIN;
}

static void need(pdfdoc *p, float h) {
    if (p->y - h < MARGIN) new_page(p);
}

static void text_at(pdfdoc *p, float x, float y, float size, const char *s) {
    HPDF_Page_BeginText(p->page);
    HPDF_Page_SetFontAndSize(p->page, p->font, size);
    HPDF_Page_TextOut(p->page, x, y, s);
    HPDF_Page_EndText(p->page);
}

pdfdoc *pdfdoc_new(const char *title, err *e) {
    const char *font_path = proofs_font_path();
    if (!font_path) {
        err_internal(e, "没有可嵌入的中文字体（fonts-arphic-uming）");
        return NULL;
    }
    pdfdoc *p = calloc(1, sizeof(*p));
    if (!p) {
        err_internal(e, "内存不足");
        return NULL;
    }
    p->pdf = pdfdoc_new_hpdf(&p->pe);
    if (!p->pdf) {
        free(p);
        err_internal(e, "无法创建 PDF");
        return NULL;
    }
    if (title) HPDF_SetInfoAttr(p->pdf, HPDF_INFO_TITLE, title);
    p->font = pdfdoc_font_hpdf(p->pdf, font_path);
    if (!p->font) {
        pdfdoc_free(p);
        err_internal(e, "无法加载字体 %s", font_path);
        return NULL;
    }
    new_page(p);
    return p;
}

int pdfdoc_end_hpdf(HPDF_Doc pdf, const pdfdoc_hpdf_err *pe, int rc, size_t max,
                    unsigned char **out, size_t *len, err *e) {
    *out = NULL;
    *len = 0;
    if (rc == 0 && pe->code)
        rc = err_internal(e, "PDF 生成失败（libharu 0x%04X，detail %u）", (unsigned)pe->code,
                          (unsigned)pe->detail);
    if (rc == 0) rc = pdfdoc_save_hpdf(pdf, max, out, len, e);
    HPDF_Free(pdf);
    return rc;
}

void pdfdoc_title(pdfdoc *p, const char *text, const char *subtitle) {
    need(p, 60);
    text_at(p, MARGIN, p->y - 22, 22, text);
    p->y -= 36;
    if (subtitle) {
        text_at(p, MARGIN, p->y - 10, 10, subtitle);
        p->y -= 22;
    }
}

void pdfdoc_heading(pdfdoc *p, const char *text) {
    need(p, 40);
    p->y -= 8;
    text_at(p, MARGIN, p->y - 14, 14, text);
    p->y -= 24;
}

/* Lines of at most per_line code points starting at x. */
static void wrap(pdfdoc *p, float x, const char *s, float size, int per_line) {
    char line[600];
    const unsigned char *c = (const unsigned char *)(s ? s : "");
    if (!*c) {
        need(p, size * 1.6f);
        p->y -= size * 1.6f;
        return;
    }
    while (*c) {
        size_t o = 0;
        int cps = 0;
        while (*c && *c != '\n' && cps < per_line && o < sizeof(line) - 5) {
            int len = *c < 0x80 ? 1 : (*c >> 5) == 6 ? 2 : (*c >> 4) == 14 ? 3 : 4;
            for (int k = 0; k < len && c[k]; k++)
                line[o++] = (char)c[k];
            c += len;
            cps++;
        }
        if (*c == '\n') c++;
        line[o] = '\0';
        need(p, size * 1.6f);
        text_at(p, x, p->y - size, size, line);
        p->y -= size * 1.6f;
    }
}

void pdfdoc_paragraph(pdfdoc *p, const char *text, float size) {
    /* ~ one CJK character per em over the text width */
    int per_line = (int)((PAGE_W - 2 * MARGIN) / size);
    wrap(p, MARGIN, text, size, per_line);
    p->y -= 3;
}

void pdfdoc_field(pdfdoc *p, const char *label, const char *value) {
    const float size = 10, col = 110;
    need(p, size * 1.6f);
    text_at(p, MARGIN, p->y - size, size, label ? label : "");
    int per_line = (int)((PAGE_W - 2 * MARGIN - col) / size);
    wrap(p, MARGIN + col, value && *value ? value : "—", size, per_line);
}

void pdfdoc_space(pdfdoc *p, float points) {
    p->y -= points;
    if (p->y < MARGIN) new_page(p);
}

void pdfdoc_free(pdfdoc *p) {
    if (!p) return;
    if (p->pdf) HPDF_Free(p->pdf);
    free(p);
}

int pdfdoc_finish(pdfdoc *p, unsigned char **out, size_t *len, err *e) {
    int rc = pdfdoc_end_hpdf(p->pdf, &p->pe, 0, PDFDOC_MAX, out, len, e);
    free(p);
    return rc;
}
