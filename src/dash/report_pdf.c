/* report_pdf: the year's 数说 report (dash_report()) as a PDF — A4 pages with the
 * sentences, the indicators against their targets, and two bar charts drawn with
 * libharu's path operators (monthly applications; trading amount by kind). */
#include "dash/dash.h"

#include <hpdf.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/pdfdoc.h"
#include "proofs/proofs.h"

#define PAGE_W     595.0f
#define PAGE_H     842.0f
#define MARGIN     56.0f
#define REPORT_MAX (16u << 20)

typedef struct pdf_state {
    HPDF_Doc pdf;
    HPDF_Page page;
    HPDF_Font font;
    float y;
    pdfdoc_hpdf_err pe;
} pdf_state;

static void new_page(pdf_state *st) {
    st->page = HPDF_AddPage(st->pdf);
    HPDF_Page_SetSize(st->page, HPDF_PAGE_SIZE_A4, HPDF_PAGE_PORTRAIT);
    st->y = PAGE_H - MARGIN;
}

static void need(pdf_state *st, float h) {
    if (st->y - h < MARGIN) new_page(st);
}

static void text(pdf_state *st, float x, float y, float size, const char *s) {
    HPDF_Page_BeginText(st->page);
    HPDF_Page_SetFontAndSize(st->page, st->font, size);
    HPDF_Page_TextOut(st->page, x, y, s);
    HPDF_Page_EndText(st->page);
}

/* Lines of at most `per_line` code points (CJK text has no spaces to break at). */
static void paragraph(pdf_state *st, const char *s, float size, int per_line) {
    char line[512];
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        size_t o = 0;
        int cps = 0;
        while (*p && cps < per_line && o < sizeof(line) - 5) {
            int len = *p < 0x80 ? 1 : (*p >> 5) == 6 ? 2 : (*p >> 4) == 14 ? 3 : 4;
            for (int k = 0; k < len && p[k]; k++)
                line[o++] = (char)p[k];
            p += len;
            cps++;
        }
        line[o] = '\0';
        need(st, size * 1.6f);
        text(st, MARGIN, st->y - size, size, line);
        st->y -= size * 1.6f;
    }
}

static void heading(pdf_state *st, const char *s) {
    need(st, 40);
    st->y -= 10;
    text(st, MARGIN, st->y - 15, 15, s);
    st->y -= 26;
}

/* A bar chart of labelled values: bars scaled to the largest, the value above each. */
static void bars(pdf_state *st, const char *title, const char *const *labels, const double *vals,
                 int n, const char *unit) {
    const float h = 170, w = PAGE_W - 2 * MARGIN;
    need(st, h + 60);
    heading(st, title);
    float base = st->y - h;
    double max = 0;
    for (int i = 0; i < n; i++)
        max = fmax(max, vals[i]);
    if (max <= 0) max = 1;
    float slot = w / (float)(n ? n : 1), bw = slot * 0.6f;
    HPDF_Page_SetRGBStroke(st->page, 0.5f, 0.55f, 0.6f);
    HPDF_Page_MoveTo(st->page, MARGIN, base);
    HPDF_Page_LineTo(st->page, MARGIN + w, base);
    HPDF_Page_Stroke(st->page);
    for (int i = 0; i < n; i++) {
        float bh = (float)(vals[i] / max) * (h - 30);
        float x = MARGIN + slot * (float)i + (slot - bw) / 2;
        HPDF_Page_SetRGBFill(st->page, 0.04f, 0.33f, 0.58f);
        HPDF_Page_Rectangle(st->page, x, base, bw, bh);
        HPDF_Page_Fill(st->page);
        HPDF_Page_SetRGBFill(st->page, 0.1f, 0.15f, 0.2f);
        char v[32];
        snprintf(v, sizeof(v), vals[i] >= 100 ? "%.0f" : "%.2f", vals[i]);
        text(st, x, base + bh + 3, 7, v);
        text(st, x, base - 11, 7, labels[i]);
    }
    text(st, MARGIN + w - 40, st->y + 4, 8, unit);
    st->y = base - 24;
}

static int render(pdf_state *st, json_t *r, err *e) {
    const char *font_path = proofs_font_path();
    if (!font_path) return err_internal(e, "没有可嵌入的中文字体（fonts-arphic-uming）");
    st->font = pdfdoc_font_hpdf(st->pdf, font_path);
    if (!st->font) return err_internal(e, "无法加载字体 %s", font_path);
    new_page(st);

    char title[128];
    snprintf(title, sizeof(title), "舟山 · 数说%lld",
             (long long)json_integer_value(json_object_get(r, "year")));
    text(st, MARGIN, st->y - 24, 24, title);
    st->y -= 40;
    char sub[160];
    snprintf(sub, sizeof(sub), "政务服务与公共资源交易年度数据（isle 实时计算，生成于 %s）",
             json_string_value(json_object_get(r, "generated_at")));
    text(st, MARGIN, st->y - 10, 10, sub);
    st->y -= 24;

    heading(st, "一、年度概览");
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(r, "sentences"), i, s) {
        paragraph(st, json_string_value(s), 11.5f, 40);
        st->y -= 4;
    }

    heading(st, "二、指标与目标");
    const char *k;
    json_t *ind;
    json_object_foreach(json_object_get(r, "indicators"), k, ind) {
        need(st, 16);
        json_t *v = json_object_get(ind, "value"), *t = json_object_get(ind, "target");
        char val[64], tgt[64], line[320];
        const char *unit = json_string_value(json_object_get(ind, "unit"));
        if (json_is_integer(v))
            snprintf(val, sizeof(val), "%lld %s", (long long)json_integer_value(v), unit);
        else if (json_is_number(v))
            snprintf(val, sizeof(val), "%.2f %s", json_number_value(v), unit);
        else
            snprintf(val, sizeof(val), "—");
        if (json_is_integer(t))
            snprintf(tgt, sizeof(tgt), "目标 %lld", (long long)json_integer_value(t));
        else if (json_is_number(t))
            snprintf(tgt, sizeof(tgt), "目标 %g", json_number_value(t));
        else
            tgt[0] = '\0';
        snprintf(line, sizeof(line), "%s", json_string_value(json_object_get(ind, "name")));
        text(st, MARGIN, st->y - 10, 9.5f, line);
        text(st, MARGIN + 260, st->y - 10, 9.5f, val);
        text(st, MARGIN + 380, st->y - 10, 9.5f, tgt);
        st->y -= 15;
    }

    json_t *months =
        json_object_get(json_object_get(json_object_get(r, "sections"), "services"), "by_month");
    int nm = (int)json_array_size(months);
    if (nm > 0) {
        if (nm > 24) nm = 24;
        const char *labels[24];
        double vals[24];
        char lab[24][8];
        for (int m = 0; m < nm; m++) {
            json_t *row = json_array_get(months, (size_t)m);
            const char *mo = json_string_value(json_object_get(row, "month"));
            snprintf(lab[m], sizeof(lab[m]), "%s", mo && strlen(mo) >= 7 ? mo + 5 : "");
            labels[m] = lab[m];
            vals[m] = (double)json_integer_value(json_object_get(row, "submitted"));
        }
        bars(st, "三、各月受理办件", labels, vals, nm, "件");
    }
    json_t *kinds =
        json_object_get(json_object_get(json_object_get(r, "sections"), "trading"), "by_kind");
    int nk = (int)json_array_size(kinds);
    if (nk > 0) {
        if (nk > 8) nk = 8;
        const char *labels[8];
        double vals[8];
        for (int q = 0; q < nk; q++) {
            json_t *row = json_array_get(kinds, (size_t)q);
            labels[q] = json_string_value(json_object_get(row, "name"));
            if (!labels[q]) labels[q] = "";
            vals[q] = json_number_value(json_object_get(row, "amount"));
        }
        bars(st, "四、公共资源交易金额（按类型）", labels, vals, nk, "亿元");
    }
    return 0;
}

int dash_report_pdf(json_t *report, unsigned char **out, size_t *len, err *e) {
    *out = NULL;
    *len = 0;
    pdf_state st = {0};
    st.pdf = pdfdoc_new_hpdf(&st.pe);
    if (!st.pdf) return err_internal(e, "无法创建 PDF");
    int rc = render(&st, report, e);
    return pdfdoc_end_hpdf(st.pdf, &st.pe, rc, REPORT_MAX, out, len, e);
}
