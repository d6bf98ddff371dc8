/* evaluate_report: the evaluation report (评标报告) as an A4 PDF with libharu, set in
 * the CJK TrueType font of proofs_font_path() (see src/proofs/pdf.c for why a .ttc
 * of AR PL UMing or WenQuanYi). The content is evaluate_report_json(): the tender,
 * the method and reference price, the panel (unsealed now), the ranking with price,
 * technical and total scores, invalid bids with reasons, flagged outlier scores and
 * each expert's scores. Pages break when the text reaches the bottom margin. */
#include <hpdf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/pdfdoc.h"
#include "base/timeutil.h"
#include "base/xmalloc.h"
#include "proofs/proofs.h"
#include "trade/evaluate.h"

#define PAGE_W 595.276f
#define PAGE_H 841.89f
#define MARGIN 56.0f

typedef struct pen {
    HPDF_Doc pdf;
    HPDF_Font font;
    HPDF_Page page;
    float y;
    int pages;
} pen;

static void new_page(pen *p) {
    p->page = HPDF_AddPage(p->pdf);
    HPDF_Page_SetSize(p->page, HPDF_PAGE_SIZE_A4, HPDF_PAGE_PORTRAIT);
    p->pages++;
    p->y = PAGE_H - MARGIN;
    HPDF_Page_SetFontAndSize(p->page, p->font, 8);
    HPDF_Page_SetRGBFill(p->page, 0.4f, 0.4f, 0.4f);
    char foot[64];
    snprintf(foot, sizeof(foot), "第 %d 页", p->pages);
    HPDF_Page_BeginText(p->page);
    HPDF_Page_TextOut(p->page, PAGE_W / 2 - 12, 30, foot);
    HPDF_Page_EndText(p->page);
    HPDF_Page_SetRGBFill(p->page, 0, 0, 0);
}

static void need(pen *p, float h) {
    if (p->y - h < MARGIN) new_page(p);
}

static void text(pen *p, float x, float size, const char *s) {
    HPDF_Page_SetFontAndSize(p->page, p->font, size);
    HPDF_Page_BeginText(p->page);
    HPDF_Page_TextOut(p->page, x, p->y, s);
    HPDF_Page_EndText(p->page);
}

/* One line of text (cut at ~ the page width by bytes of whole characters). */
static void line(pen *p, float size, const char *s) {
    need(p, size + 6);
    char buf[600];
    size_t n = strlen(s);
    if (n >= sizeof(buf)) n = sizeof(buf) - 1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    HPDF_Page_SetFontAndSize(p->page, p->font, size);
    /* Wrap: shorten until it fits, continue on the next line. */
    const char *rest = buf;
    while (*rest) {
        size_t len = strlen(rest), cut = len;
        char part[600];
        for (;;) {
            memcpy(part, rest, cut);
            part[cut] = '\0';
            if (HPDF_Page_TextWidth(p->page, part) <= PAGE_W - 2 * MARGIN || cut < 4) break;
            cut--;
            while (cut > 0 && ((unsigned char)rest[cut] & 0xC0) == 0x80)
                cut--;
        }
        need(p, size + 6);
        text(p, MARGIN, size, part);
        p->y -= size + 6;
        rest += cut;
    }
}

static void heading(pen *p, const char *s) {
    p->y -= 6;
    need(p, 40);
    line(p, 13, s);
    HPDF_Page_SetLineWidth(p->page, 0.5f);
    HPDF_Page_MoveTo(p->page, MARGIN, p->y + 10);
    HPDF_Page_LineTo(p->page, PAGE_W - MARGIN, p->y + 10);
    HPDF_Page_Stroke(p->page);
    p->y -= 4;
}

/* A table row of cells at fixed x positions. */
static void row(pen *p, float size, const float *xs, int n, const char *const *cells) {
    need(p, size + 6);
    for (int i = 0; i < n; i++)
        text(p, MARGIN + xs[i], size, cells[i] ? cells[i] : "");
    p->y -= size + 6;
}

static const char *str(json_t *o, const char *k) {
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static void render(pen *p, json_t *r) {
    json_t *t = json_object_get(r, "tender");
    char b[512], m[48];
    new_page(p);
    HPDF_Page_SetFontAndSize(p->page, p->font, 18);
    const char *title = "评标报告";
    float w = HPDF_Page_TextWidth(p->page, title);
    text(p, (PAGE_W - w) / 2, 18, title);
    p->y -= 34;
    snprintf(b, sizeof(b), "项目名称：%s", str(t, "title"));
    line(p, 11, b);
    snprintf(b, sizeof(b), "项目编号：%s　　类型：%s", str(t, "tender_no"), str(t, "kind_label"));
    line(p, 11, b);
    snprintf(b, sizeof(b), "招标人（采购人）：%s", str(t, "buyer"));
    line(p, 11, b);
    json_t *bud = json_object_get(t, "budget_fen");
    if (json_is_integer(bud)) {
        snprintf(b, sizeof(b), "预算（最高限价）：%s",
                 trade_money_display(json_integer_value(bud), m, sizeof(m)));
        line(p, 11, b);
    }
    const char *method = str(t, "method");
    snprintf(b, sizeof(b), "评标办法：%s", str(t, "method_label"));
    if (!strcmp(method, "composite"))
        snprintf(b + strlen(b), sizeof(b) - strlen(b),
                 "（价格分权重 %g，技术分权重 %g；价格分 = 评标基准价 / 投标报价 × "
                 "价格权重，评标基准价为最低有效报价）",
                 json_number_value(json_object_get(t, "price_weight")),
                 json_number_value(json_object_get(t, "tech_weight")));
    else if (!strcmp(method, "reasonable_low"))
        snprintf(b + strlen(b), sizeof(b) - strlen(b),
                 "（基准价 = 有效报价去掉最高、最低后的平均值 × 下浮系数 %.4f）",
                 json_number_value(json_object_get(t, "benchmark_factor")));
    line(p, 11, b);
    snprintf(
        b, sizeof(b), "%s：%s", !strcmp(method, "reasonable_low") ? "评标基准价" : "最低有效报价",
        trade_money_display(json_integer_value(json_object_get(r, "reference_fen")), m, sizeof(m)));
    line(p, 11, b);

    heading(p, "一、评标委员会");
    json_t *panel = json_object_get(json_object_get(r, "panel"), "items");
    size_t i;
    json_t *v;
    json_array_foreach(panel, i, v) {
        snprintf(b, sizeof(b), "%zu. %s%s　%s", i + 1, str(v, "name"),
                 json_is_true(json_object_get(v, "chair")) ? "（组长）" : "", str(v, "employer"));
        line(p, 10.5f, b);
    }
    line(p, 9,
         "专家由系统从专家库中按专业随机抽取（libsodium "
         "密码学随机数），已回避与投标人、招标人有利害关系的专家；名单在本报告形成前保密。");

    heading(p, "二、评审结果与排序");
    static const float xs[] = {0, 30, 220, 310, 365, 420};
    static const char *const hdr[] = {"名次",   "投标人", "投标报价（元）",
                                      "价格分", "技术分", "总分"};
    static const char *const hdr_q[] = {"名次", "投标人", "投标报价（元）", "", "", ""};
    int composite = !strcmp(method, "composite");
    row(p, 10, xs, 6, composite ? hdr : hdr_q);
    json_t *res = json_object_get(r, "results");
    json_array_foreach(res, i, v) {
        if (!json_is_true(json_object_get(v, "valid"))) continue;
        char rank[16], name[80], price[40], ps[24] = "", ts[24] = "", tot[24] = "";
        snprintf(rank, sizeof(rank), "%lld",
                 (long long)json_integer_value(json_object_get(v, "rank")));
        snprintf(name, sizeof(name), "%s（%s）", str(v, "company_name"), str(v, "ref"));
        snprintf(price, sizeof(price), "%s", str(v, "price"));
        if (composite) {
            snprintf(ps, sizeof(ps), "%.2f", json_number_value(json_object_get(v, "price_score")));
            snprintf(ts, sizeof(ts), "%.2f", json_number_value(json_object_get(v, "tech_score")));
            snprintf(tot, sizeof(tot), "%.2f",
                     json_number_value(json_object_get(v, "total_score")));
        }
        const char *cells[] = {rank, name, price, ps, ts, tot};
        row(p, 9.5f, xs, 6, cells);
    }
    int invalid = 0;
    json_array_foreach(res, i, v) {
        if (json_is_true(json_object_get(v, "valid"))) continue;
        if (!invalid++) heading(p, "三、无效投标");
        snprintf(b, sizeof(b), "%s（%s）：%s，报价 %s", str(v, "company_name"), str(v, "ref"),
                 str(v, "reason"), str(v, "price"));
        line(p, 10, b);
    }

    heading(p, invalid ? "四、评分偏离提示" : "三、评分偏离提示");
    int flagged = 0;
    json_array_foreach(res, i, v) {
        size_t k;
        json_t *o;
        json_array_foreach(json_object_get(v, "outliers"), k, o) {
            snprintf(b, sizeof(b),
                     "投标人%s：专家 %s 评分 %.2f，其他专家平均 %.2f，偏离超过阈值（保留原分）",
                     str(v, "ref"), str(o, "expert"),
                     json_number_value(json_object_get(o, "score")),
                     json_number_value(json_object_get(o, "others_mean")));
            line(p, 10, b);
            flagged++;
        }
    }
    if (!flagged) line(p, 10, "无。");

    heading(p, invalid ? "五、专家评分明细" : "四、专家评分明细");
    json_array_foreach(json_object_get(r, "scores"), i, v) {
        if (composite)
            snprintf(b, sizeof(b), "%s　投标人%s　技术分 %.2f　%s", str(v, "expert"), str(v, "ref"),
                     json_number_value(json_object_get(v, "score")), str(v, "comment"));
        else
            snprintf(b, sizeof(b), "%s　投标人%s　资格审查 %s　%s", str(v, "expert"), str(v, "ref"),
                     json_number_value(json_object_get(v, "score")) >= 0.5 ? "合格" : "不合格",
                     str(v, "comment"));
        line(p, 9.5f, b);
    }
    p->y -= 10;
    char now[32];
    time_iso(now, sizeof(now), time_now());
    snprintf(b, sizeof(b),
             "本报告由舟山市公共资源交易平台根据评标委员会在线评审结果生成（%s UTC）。", now);
    line(p, 9, b);
}

int evaluate_report_pdf(db *d, const trade_actor *a, int64_t tender_id, unsigned char **out,
                        size_t *len, err *e) {
    *out = NULL;
    *len = 0;
    json_t *r = evaluate_report_json(d, a, tender_id, e);
    if (!r) return -1;
    const char *font_path = proofs_font_path();
    if (!font_path) {
        json_decref(r);
        return err_internal(
            e, "没有可用的中文字体（请安装 fonts-arphic-uming 或 fonts-wqy-microhei）");
    }
    pdfdoc_hpdf_err pe = {0};
    HPDF_Doc pdf = pdfdoc_new_hpdf(&pe);
    if (!pdf) {
        json_decref(r);
        return err_internal(e, "PDF 初始化失败");
    }
    HPDF_Font font = pdfdoc_font_hpdf(pdf, font_path);
    int rc = 0;
    if (!font) {
        rc = err_internal(e, "无法加载字体");
    } else {
        pen p = {.pdf = pdf, .font = font};
        HPDF_SetInfoAttr(pdf, HPDF_INFO_TITLE, "评标报告");
        render(&p, r);
    }
    rc = pdfdoc_end_hpdf(pdf, &pe, rc, PDFDOC_MAX, out, len, e);
    json_decref(r);
    return rc;
}
