/* pdf: the issued proof as an A4 PDF (libharu) with a QR code (libqrencode).
 *
 * Font: libharu 2.3 embeds TrueType outlines only; Debian's Noto CJK ships
 * CFF-based OpenType collections, which it cannot load. So the Chinese text is
 * set in AR PL UMing (fonts-arphic-uming, a 明体 close to the 宋体 of official
 * papers) or WenQuanYi (fonts-wqy-microhei / -zenhei), from a .ttc, embedded with
 * only the glyphs used (libharu writes the other glyphs empty), Identity-H with
 * a ToUnicode map. $ISLE_PROOF_FONT picks another TrueType file.
 *
 * The QR code is drawn as filled rectangles (one per run of dark modules in a
 * row) with the 4-module quiet zone left white. The same QR text is put in the
 * document information's Keywords as "ISLEPROOF-QR:" + base64url(text): the
 * information dictionary is never compressed, so proofs_pdf_extract_qr() finds it
 * again in the raw bytes without a PDF parser or a QR decoder. Nothing in the
 * PDF is trusted by verification beyond that text, which carries its own
 * signature. */
#include "proofs/proofs.h"
#include "base/pdfdoc.h"
#include "base/timeutil.h"
#include "workcal/workcal.h"

#include <hpdf.h>
#include <qrencode.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PAGE_W    595.276f
#define PAGE_H    841.89f
#define MARGIN    72.0f
#define TEXT_W    (PAGE_W - 2 * MARGIN)
#define BODY_SIZE 15.0f
#define LINE_H    28.0f

static const char *const font_candidates[] = {
    "/usr/share/fonts/truetype/arphic/uming.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    NULL,
};

const char *proofs_font_path(void) {
    const char *env = getenv("ISLE_PROOF_FONT");
    if (env && *env) return access(env, R_OK) == 0 ? env : NULL;
    for (int i = 0; font_candidates[i]; i++)
        if (access(font_candidates[i], R_OK) == 0) return font_candidates[i];
    return NULL;
}

/* "2026年5月1日" for a date. */
static void date_zh(workcal_date d, char *out, size_t n) {
    snprintf(out, n, "%d年%d月%d日", d.year, d.month, d.day);
}

/* Length in bytes of the UTF-8 character at s (1 for a stray byte). */
static size_t u8len(const char *s) {
    unsigned char c = (unsigned char)*s;
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
    for (size_t i = 1; i < n; i++)
        if (!s[i]) return i;
    return n;
}

/* 1 if the character at s must not begin a line (closing punctuation). */
static int no_line_start(const char *s) {
    static const char *const marks[] = {"，", "。", "、", "；", "：", "）", "」", "』",
                                        "！", "？", ",",  ".",  ";",  ":",  ")",  NULL};
    for (int i = 0; marks[i]; i++)
        if (strncmp(s, marks[i], strlen(marks[i])) == 0) return 1;
    return 0;
}

static float char_width(HPDF_Page page, const char *s, size_t n) {
    char c[8];
    memcpy(c, s, n);
    c[n] = '\0';
    return HPDF_Page_TextWidth(page, c);
}

/* Set one paragraph from (x0 + indent, *y) wrapped at width; *y moves down. */
static void paragraph(HPDF_Page page, const char *text, size_t len, float x0, float width,
                      float indent, float line_h, float *y) {
    const char *p = text, *end = text + len;
    float first = indent;
    char line[1024];
    while (p < end) {
        float w = 0, avail = width - first;
        size_t o = 0;
        while (p < end) {
            size_t n = u8len(p);
            if (p + n > end) n = (size_t)(end - p);
            float cw = char_width(page, p, n);
            /* Closing punctuation hangs at the end of a full line rather than starting one. */
            if (w + cw > avail && o > 0 && !no_line_start(p)) break;
            if (o + n >= sizeof(line)) break;
            memcpy(line + o, p, n);
            o += n;
            w += cw;
            p += n;
        }
        line[o] = '\0';
        HPDF_Page_BeginText(page);
        HPDF_Page_TextOut(page, x0 + first, *y, line);
        HPDF_Page_EndText(page);
        *y -= line_h;
        first = 0;
    }
    if (len == 0) *y -= line_h;
}

static void text_at(HPDF_Page page, float x, float y, const char *s) {
    HPDF_Page_BeginText(page);
    HPDF_Page_TextOut(page, x, y, s);
    HPDF_Page_EndText(page);
}

static void text_right(HPDF_Page page, float right, float y, const char *s) {
    text_at(page, right - HPDF_Page_TextWidth(page, s), y, s);
}

static void text_center(HPDF_Page page, float cx, float y, const char *s) {
    text_at(page, cx - HPDF_Page_TextWidth(page, s) / 2, y, s);
}

/* The QR code with its lower-left corner at (x, y), side pts (quiet zone included). */
static int draw_qr(HPDF_Page page, const char *text, float x, float y, float side) {
    QRcode *q = QRcode_encodeData((int)strlen(text), (const unsigned char *)text, 0, QR_ECLEVEL_M);
    if (!q) return -1;
    int w = q->width;
    float m = side / (float)(w + 8);
    HPDF_Page_SetRGBFill(page, 0, 0, 0);
    for (int row = 0; row < w; row++) {
        int col = 0;
        while (col < w) {
            if (!(q->data[row * w + col] & 1)) {
                col++;
                continue;
            }
            int start = col;
            while (col < w && (q->data[row * w + col] & 1))
                col++;
            HPDF_Page_Rectangle(page, x + (float)(start + 4) * m, y + side - (float)(row + 5) * m,
                                (float)(col - start) * m, m);
        }
    }
    HPDF_Page_Fill(page);
    QRcode_free(q);
    return 0;
}

/* A red double ring with 电子签发 in it, behind the issuer's name: the look of a seal,
 * stating what it is (the real seal is the signature in the QR code). */
static void draw_seal(HPDF_Page page, HPDF_Font font, float cx, float cy) {
    HPDF_Page_SetRGBStroke(page, 0.80f, 0.10f, 0.10f);
    HPDF_Page_SetLineWidth(page, 2.2f);
    HPDF_Page_Circle(page, cx, cy, 46);
    HPDF_Page_Stroke(page);
    HPDF_Page_SetLineWidth(page, 0.8f);
    HPDF_Page_Circle(page, cx, cy, 41);
    HPDF_Page_Stroke(page);
    HPDF_Page_SetRGBFill(page, 0.80f, 0.10f, 0.10f);
    HPDF_Page_SetFontAndSize(page, font, 12);
    text_center(page, cx, cy - 4, "电子签发");
    HPDF_Page_SetRGBFill(page, 0, 0, 0);
}

static int render(HPDF_Doc pdf, const proofs_doc *doc, const char *font_path, err *e) {
    HPDF_Font font = pdfdoc_font_hpdf(pdf, font_path);
    if (!font) return err_internal(e, "cannot load the proof font %s", font_path);
    HPDF_Page page = HPDF_AddPage(pdf);
    HPDF_Page_SetSize(page, HPDF_PAGE_SIZE_A4, HPDF_PAGE_PORTRAIT);

    /* A thin frame. */
    HPDF_Page_SetRGBStroke(page, 0.55f, 0.55f, 0.55f);
    HPDF_Page_SetLineWidth(page, 0.6f);
    HPDF_Page_Rectangle(page, 36, 36, PAGE_W - 72, PAGE_H - 72);
    HPDF_Page_Stroke(page);

    HPDF_Page_SetFontAndSize(page, font, 10);
    HPDF_Page_SetRGBFill(page, 0.35f, 0.35f, 0.35f);
    text_center(page, PAGE_W / 2, PAGE_H - 62, "舟山市证明事项协同平台");
    HPDF_Page_SetRGBFill(page, 0, 0, 0);

    HPDF_Page_SetFontAndSize(page, font, 26);
    text_center(page, PAGE_W / 2, PAGE_H - 120, doc->title);

    char buf[512];
    HPDF_Page_SetFontAndSize(page, font, 11);
    snprintf(buf, sizeof(buf), "编号：%s", doc->proof_no);
    text_right(page, PAGE_W - MARGIN, PAGE_H - 152, buf);

    /* The statement, one paragraph per line of text. */
    HPDF_Page_SetFontAndSize(page, font, BODY_SIZE);
    float y = PAGE_H - 200;
    const char *p = doc->statement;
    while (*p && y > 330) {
        size_t n = strcspn(p, "\n");
        paragraph(page, p, n, MARGIN, TEXT_W, 2 * BODY_SIZE, LINE_H, &y);
        y -= 6;
        p += n;
        if (*p == '\n') p++;
    }

    /* Issuer and date, right-aligned, with the seal ring behind. */
    int64_t t = 0;
    time_parse_iso(doc->issued_at, &t);
    char date[48], until[48], line[128];
    date_zh(workcal_local_date(t), date, sizeof(date));
    workcal_date vu;
    if (workcal_date_parse(doc->valid_until, &vu) == 0)
        date_zh(vu, until, sizeof(until));
    else
        snprintf(until, sizeof(until), "%s", doc->valid_until);
    float sy = y - 40 < 300 ? y - 40 : 300;
    if (sy < 250) sy = 250;
    HPDF_Page_SetFontAndSize(page, font, BODY_SIZE);
    float iw = HPDF_Page_TextWidth(page, doc->issuer);
    draw_seal(page, font, PAGE_W - MARGIN - iw / 2, sy - 10);
    HPDF_Page_SetFontAndSize(page, font, BODY_SIZE);
    text_right(page, PAGE_W - MARGIN, sy, doc->issuer);
    text_right(page, PAGE_W - MARGIN, sy - LINE_H, date);
    HPDF_Page_SetFontAndSize(page, font, 11);
    snprintf(line, sizeof(line), "有效期至 %s", until);
    text_right(page, PAGE_W - MARGIN, sy - LINE_H - 48, line);

    /* QR code and how to verify. */
    float qs = 150, qx = MARGIN - 12, qy = 64;
    if (draw_qr(page, doc->qr_text, qx, qy, qs) != 0)
        return err_internal(e, "cannot encode the QR code");
    HPDF_Page_SetFontAndSize(page, font, 9.5f);
    HPDF_Page_SetRGBFill(page, 0.2f, 0.2f, 0.2f);
    float tx = qx + qs + 8, ty = qy + qs - 30;
    text_at(page, tx, ty, "扫描二维码核验本证明的真伪与状态：");
    snprintf(buf, sizeof(buf), "在线核验 %s", doc->verify_path);
    text_at(page, tx, ty - 16, buf);
    snprintf(buf, sizeof(buf), "签名算法 Ed25519　密钥编号 %s", doc->key_id);
    text_at(page, tx, ty - 32, buf);
    text_at(page, tx, ty - 48, "公钥：/api/v1/proofs/keys；吊销名单：/api/v1/proofs/revoked");
    text_at(page, tx, ty - 64, "二维码内容改动任何一个字，签名即不成立。");
    HPDF_Page_SetRGBFill(page, 0, 0, 0);
    return 0;
}

int proofs_pdf_render(const proofs_doc *doc, unsigned char **out, size_t *len, err *e) {
    *out = NULL;
    *len = 0;
    const char *font_path = proofs_font_path();
    if (!font_path)
        return err_internal(e, "no TrueType CJK font for proofs: install fonts-arphic-uming "
                               "or fonts-wqy-microhei, or set ISLE_PROOF_FONT");
    pdfdoc_hpdf_err pe = {0};
    HPDF_Doc pdf = pdfdoc_new_hpdf(&pe);
    if (!pdf) return err_internal(e, "cannot start a PDF");

    /* The QR text, findable again in the raw file (see the file comment). */
    size_t ql = strlen(doc->qr_text);
    size_t kn = strlen(PROOFS_PDF_MARKER) +
                sodium_base64_encoded_len(ql, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    char *kw = malloc(kn);
    if (!kw) abort();
    size_t ml = strlen(PROOFS_PDF_MARKER);
    memcpy(kw, PROOFS_PDF_MARKER, ml);
    sodium_bin2base64(kw + ml, kn - ml, (const unsigned char *)doc->qr_text, ql,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    HPDF_SetInfoAttr(pdf, HPDF_INFO_KEYWORDS, kw);
    free(kw);
    char title[64];
    snprintf(title, sizeof(title), "isle proof %s", doc->proof_no);
    HPDF_SetInfoAttr(pdf, HPDF_INFO_TITLE, title);

    int rc = render(pdf, doc, font_path, e);
    return pdfdoc_end_hpdf(pdf, &pe, rc, PROOFS_PDF_MAX, out, len, e);
}

int proofs_pdf_extract_qr(const unsigned char *pdf, size_t len, char **qr, err *e) {
    *qr = NULL;
    size_t ml = strlen(PROOFS_PDF_MARKER);
    if (len < 5 || memcmp(pdf, "%PDF-", 5) != 0) return err_invalid(e, "file", "不是 PDF 文件");
    const unsigned char *hit = memmem(pdf, len, PROOFS_PDF_MARKER, ml);
    if (!hit) return err_invalid(e, "file", "这个 PDF 里没有本平台的证明二维码数据");
    const unsigned char *s = hit + ml, *end = pdf + len, *p = s;
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    while (p < end && *p && strchr(alphabet, *p))
        p++;
    size_t n = (size_t)(p - s);
    if (n == 0 || n > PROOFS_QR_MAX * 2) return err_invalid(e, "file", "证明二维码数据损坏");
    char *text = malloc(n + 1);
    if (!text) abort();
    size_t out_len = 0;
    if (sodium_base642bin((unsigned char *)text, n, (const char *)s, n, NULL, &out_len, NULL,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
        memchr(text, '\0', out_len)) {
        free(text);
        return err_invalid(e, "file", "证明二维码数据损坏");
    }
    text[out_len] = '\0';
    *qr = text;
    return 0;
}
