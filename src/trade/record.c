/* record: the opening record (开标记录) of a tender as a PDF.
 *
 * libharu with the CJK TrueType font of proofs_font_path() (the same font the
 * proofs use; see src/proofs/pdf.c for why it must be TrueType). The record is
 * built once, at begin_confirm, from what the database holds then: the tender,
 * the hall's times, the companies signed in, the 唱标 table (every opened,
 * invalid and not-decrypted bid), the benchmark factor, the objections with
 * their replies. Its SHA-256 is what each bidder signs to confirm it and what the
 * server signs with its Ed25519 key at close (opening.c); the file itself carries
 * no signature, so the bytes never change after the digest is fixed. */
#include "trade/opening.h"

#include <hpdf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/pdfdoc.h"
#include "base/timeutil.h"
#include "proofs/proofs.h"

#define PAGE_W 595.276f
#define PAGE_H 841.89f
#define LEFT   50.0f
#define RIGHT  (PAGE_W - 50.0f)
#define BOTTOM 60.0f

typedef struct writer {
    HPDF_Doc pdf;
    HPDF_Page page;
    HPDF_Font font;
    float y;
    float size;
    int pages;
    const char *footer;
} writer;

static void footer(writer *w) {
    char buf[300];
    HPDF_Page_SetFontAndSize(w->page, w->font, 8);
    HPDF_Page_SetRGBFill(w->page, 0.4f, 0.4f, 0.4f);
    snprintf(buf, sizeof(buf), "%s　第 %d 页", w->footer, w->pages);
    HPDF_Page_BeginText(w->page);
    HPDF_Page_TextOut(w->page, LEFT, 36, buf);
    HPDF_Page_EndText(w->page);
    HPDF_Page_SetRGBFill(w->page, 0, 0, 0);
    HPDF_Page_SetFontAndSize(w->page, w->font, w->size);
}

static void new_page(writer *w) {
    w->page = HPDF_AddPage(w->pdf);
    HPDF_Page_SetSize(w->page, HPDF_PAGE_SIZE_A4, HPDF_PAGE_PORTRAIT);
    w->pages++;
    footer(w);
    w->y = PAGE_H - 60;
}

static void need(writer *w, float h) {
    if (w->y - h < BOTTOM) new_page(w);
}

static size_t u8len(const char *s) {
    unsigned char c = (unsigned char)*s;
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
    for (size_t i = 1; i < n; i++)
        if (!s[i]) return i;
    return n;
}

/* Text at (x, y), cut (with "…") to fit width. */
static void cell(writer *w, float x, float width, const char *s) {
    char line[512];
    size_t o = 0;
    const char *p = s ? s : "";
    while (*p) {
        size_t n = u8len(p);
        if (o + n + 4 >= sizeof(line)) break;
        memcpy(line + o, p, n);
        line[o + n] = '\0';
        if (HPDF_Page_TextWidth(w->page, line) > width) {
            memcpy(line + o, "…", strlen("…") + 1);
            if (HPDF_Page_TextWidth(w->page, line) > width && o > 0) {
                /* drop one more character to make room */
                size_t back = o;
                while (back > 0 && ((unsigned char)line[back - 1] & 0xC0) == 0x80)
                    back--;
                if (back > 0) back--;
                memcpy(line + back, "…", strlen("…") + 1);
            }
            break;
        }
        o += n;
        p += n;
    }
    HPDF_Page_BeginText(w->page);
    HPDF_Page_TextOut(w->page, x, w->y, line);
    HPDF_Page_EndText(w->page);
}

/* Text at (x, y) wrapped by character within width, one line every line_h points down,
 * at most max_lines (the last one cut with "…"); drawn only when draw. Returns the
 * number of lines. The 唱标 table uses it so that the signed record carries every
 * field in full (a deposit reference or a long company name is never cut short). */
static int cell_wrap(writer *w, float x, float width, const char *s, float line_h, int max_lines,
                     int draw) {
    const char *p = s ? s : "";
    float y0 = w->y;
    int lines = 0;
    do {
        char line[512];
        size_t o = 0;
        const char *q = p;
        while (*q) {
            size_t n = u8len(q);
            if (o + n + 4 >= sizeof(line)) break;
            memcpy(line + o, q, n);
            line[o + n] = '\0';
            if (o > 0 && HPDF_Page_TextWidth(w->page, line) > width) break;
            o += n;
            q += n;
        }
        line[o] = '\0';
        lines++;
        if (lines == max_lines && *q) {
            if (draw) cell(w, x, width, p); /* the rest, cut to fit */
            break;
        }
        if (draw) {
            HPDF_Page_BeginText(w->page);
            HPDF_Page_TextOut(w->page, x, w->y, line);
            HPDF_Page_EndText(w->page);
        }
        p = q;
        w->y -= line_h;
    } while (*p);
    w->y = y0;
    return lines;
}

/* One table row of 8 columns starting at LEFT + cx[i], each cell wrapped (at most
 * max_lines lines of 11 points); a new page first when the row does not fit. */
static void row_wrap(writer *w, const float cx[8], const char *const vals[8], int max_lines) {
    float width[8];
    int lines = 1;
    for (int i = 0; i < 8; i++) {
        width[i] = (i < 7 ? cx[i + 1] - cx[i] : RIGHT - LEFT - cx[i]) - 3;
        int k = cell_wrap(w, LEFT + cx[i], width[i], vals[i] ? vals[i] : "", 11, max_lines, 0);
        if (k > lines) lines = k;
    }
    need(w, 11.0f * (float)lines + 3);
    for (int i = 0; i < 8; i++)
        cell_wrap(w, LEFT + cx[i], width[i], vals[i] ? vals[i] : "", 11, max_lines, 1);
    w->y -= 11.0f * (float)lines + 3;
}

/* A paragraph wrapped at the page width, starting at x. */
static void para(writer *w, float x, const char *s, float line_h) {
    const char *p = s ? s : "";
    char line[1024];
    do {
        size_t o = 0;
        while (*p && *p != '\n') {
            size_t n = u8len(p);
            if (o + n >= sizeof(line)) break;
            memcpy(line + o, p, n);
            line[o + n] = '\0';
            if (HPDF_Page_TextWidth(w->page, line) > RIGHT - x && o > 0) break;
            o += n;
            p += n;
        }
        line[o] = '\0';
        need(w, line_h);
        HPDF_Page_BeginText(w->page);
        HPDF_Page_TextOut(w->page, x, w->y, line);
        HPDF_Page_EndText(w->page);
        w->y -= line_h;
        if (*p == '\n') p++;
    } while (*p);
}

static void set_size(writer *w, float size) {
    w->size = size;
    HPDF_Page_SetFontAndSize(w->page, w->font, size);
}

static void heading(writer *w, const char *s) {
    need(w, 40);
    w->y -= 8;
    set_size(w, 13);
    cell(w, LEFT, RIGHT - LEFT, s);
    w->y -= 6;
    HPDF_Page_SetLineWidth(w->page, 0.6f);
    HPDF_Page_MoveTo(w->page, LEFT, w->y);
    HPDF_Page_LineTo(w->page, RIGHT, w->y);
    HPDF_Page_Stroke(w->page);
    w->y -= 16;
    set_size(w, 10);
}

/* "2026-11-28T01:28:00Z" → "2026-11-28 09:28:00（北京时间）". */
static void local_time(const char *iso, char *out, size_t n) {
    int64_t t = 0;
    if (!iso || !*iso || time_parse_iso(iso, &t) != 0) {
        snprintf(out, n, "—");
        return;
    }
    t += 8 * 3600;
    struct tm tm;
    time_t tt = (time_t)t;
    gmtime_r(&tt, &tm);
    strftime(out, n, "%Y-%m-%d %H:%M:%S", &tm);
}

static const char *status_zh(const char *s) {
    if (!s) return "";
    if (!strcmp(s, "opened")) return "已唱标";
    if (!strcmp(s, "invalid")) return "无效";
    if (!strcmp(s, "not_decrypted")) return "未解密";
    return s;
}

static int render(db *d, const trade_tender *t, writer *w, err *e) {
    char buf[600], a[40], b[40], c[40];
    /* The hall's times. */
    char started[32] = "", dec_until[32] = "", obj_until[32] = "";
    db_stmt *s = db_query(d, e,
                          "SELECT started_at, decrypt_until, objections_until FROM openings "
                          "WHERE tender_id = $1",
                          "i", t->id);
    if (!s) return -1;
    if (db_step(s) == DB_ROW) {
        const char *v;
        if ((v = db_column_text(s, 0))) snprintf(started, sizeof(started), "%s", v);
        if ((v = db_column_text(s, 1))) snprintf(dec_until, sizeof(dec_until), "%s", v);
        if ((v = db_column_text(s, 2))) snprintf(obj_until, sizeof(obj_until), "%s", v);
    }
    db_reset(s);

    set_size(w, 10);
    HPDF_Page_SetRGBFill(w->page, 0.35f, 0.35f, 0.35f);
    snprintf(buf, sizeof(buf), "舟山市公共资源交易中心 · 不见面开标");
    cell(w, LEFT, RIGHT - LEFT, buf);
    HPDF_Page_SetRGBFill(w->page, 0, 0, 0);
    w->y -= 34;
    set_size(w, 22);
    float tw = HPDF_Page_TextWidth(w->page, "开标记录");
    cell(w, (PAGE_W - tw) / 2, tw + 4, "开标记录");
    w->y -= 30;
    set_size(w, 10.5f);
    snprintf(buf, sizeof(buf), "项目编号：%s", t->tender_no);
    para(w, LEFT, buf, 16);
    snprintf(buf, sizeof(buf), "项目名称：%s", t->title);
    para(w, LEFT, buf, 16);
    snprintf(buf, sizeof(buf), "招标人：%s　　类别：%s　　评标办法：%s", t->buyer,
             trade_kind_label(t->kind), trade_method_label(t->method));
    para(w, LEFT, buf, 16);
    if (t->budget_fen > 0) {
        snprintf(buf, sizeof(buf), "最高投标限价：%s 元",
                 trade_money_str(t->budget_fen, a, sizeof(a)));
        para(w, LEFT, buf, 16);
    }
    char dl[32];
    time_iso(dl, sizeof(dl), t->deadline_at);
    local_time(dl, a, sizeof(a));
    local_time(started, b, sizeof(b));
    snprintf(buf, sizeof(buf), "投标截止（开标）时间：%s　　开标开始：%s（北京时间）", a, b);
    para(w, LEFT, buf, 16);
    local_time(dec_until, a, sizeof(a));
    local_time(obj_until, b, sizeof(b));
    snprintf(buf, sizeof(buf), "解密截止：%s　　异议截止：%s", a, b);
    para(w, LEFT, buf, 16);
    if (t->benchmark_factor > 0) {
        snprintf(buf, sizeof(buf), "合理低价法基准价下浮系数（开标现场随机抽取）：%.4f",
                 t->benchmark_factor);
        para(w, LEFT, buf, 16);
    }

    heading(w, "一、投标人签到");
    s = db_query(d, e,
                 "SELECT c.name, c.uscc, s.at FROM opening_signins s JOIN trade_companies c "
                 "ON c.id = s.company_id WHERE s.tender_id = $1 ORDER BY s.at, s.company_id",
                 "i", t->id);
    if (!s) return -1;
    int rc, n = 0;
    while ((rc = db_step(s)) == DB_ROW) {
        need(w, 15);
        snprintf(a, sizeof(a), "%d", ++n);
        cell(w, LEFT, 20, a);
        cell(w, LEFT + 24, 240, db_column_text(s, 0));
        cell(w, LEFT + 270, 120, db_column_text(s, 1));
        local_time(db_column_text(s, 2), b, sizeof(b));
        cell(w, LEFT + 395, 100, b);
        w->y -= 15;
    }
    db_reset(s);
    if (rc == DB_ERROR) return err_internal(e, "读取签到失败");
    if (!n) para(w, LEFT, "（无）", 15);

    heading(w, "二、唱标");
    set_size(w, 9);
    /* Widths for a bidder of 13 characters, ¥999,999,999.99, and a deposit reference
     * BZJ-<tender_no>-NNNN on one line; longer values wrap (cell_wrap). */
    static const float cx[] = {0, 22, 146, 210, 252, 290, 340, 455};
    static const char *const hd[] = {"序号", "投标人",   "投标报价(元)", "工期(天)",
                                     "质量", "项目经理", "保证金",       "状态"};
    row_wrap(w, cx, hd, 2);
    s = db_query(d, e,
                 "SELECT c.name, b.price_fen, b.duration_days, b.quality, b.project_manager, "
                 "b.deposit_ref, b.status, b.decrypted_via, b.invalid_reason FROM bids b "
                 "JOIN trade_companies c ON c.id = b.company_id WHERE b.tender_id = $1 AND "
                 "b.status IN ('opened', 'invalid', 'not_decrypted') "
                 "ORDER BY b.decrypted_at IS NULL, b.decrypted_at, b.id",
                 "i", t->id);
    if (!s) return -1;
    n = 0;
    while ((rc = db_step(s)) == DB_ROW) {
        const char *st = db_column_text(s, 6);
        int has_price = db_column_type(s, 1) != DB_NULL;
        snprintf(a, sizeof(a), "%d", ++n);
        snprintf(c, sizeof(c), "%lld", (long long)db_column_int64(s, 2));
        const char *vals[8] = {a,
                               db_column_text(s, 0),
                               has_price ? trade_money_str(db_column_int64(s, 1), b, sizeof(b))
                                         : "—",
                               db_column_type(s, 2) != DB_NULL ? c : "—",
                               db_column_text(s, 3),
                               db_column_text(s, 4),
                               db_column_text(s, 5),
                               status_zh(st)};
        row_wrap(w, cx, vals, 4);
        const char *via = db_column_text(s, 7);
        const char *why = db_column_text(s, 8);
        if ((via && !strcmp(via, "backup")) || (why && *why)) {
            snprintf(buf, sizeof(buf), "%s%s%s",
                     via && !strcmp(via, "backup") ? "经备用密钥解密。" : "",
                     why && *why ? "说明：" : "", why && *why ? why : "");
            para(w, LEFT + cx[1], buf, 13);
        }
    }
    db_reset(s);
    if (rc == DB_ERROR) return err_internal(e, "读取投标失败");
    if (!n) para(w, LEFT, "（无）", 14);

    heading(w, "三、异议及答复");
    s = db_query(d, e,
                 "SELECT c.name, o.text, o.at, o.reply, o.replied_at FROM trade_objections o "
                 "LEFT JOIN trade_companies c ON c.id = o.company_id WHERE o.tender_id = $1 AND "
                 "o.phase = 'opening' ORDER BY o.id",
                 "i", t->id);
    if (!s) return -1;
    n = 0;
    while ((rc = db_step(s)) == DB_ROW) {
        local_time(db_column_text(s, 2), a, sizeof(a));
        snprintf(buf, sizeof(buf), "%d. %s（%s）：", ++n,
                 db_column_text(s, 0) ? db_column_text(s, 0) : "", a);
        para(w, LEFT, buf, 15);
        para(w, LEFT + 16, db_column_text(s, 1), 15);
        local_time(db_column_text(s, 4), b, sizeof(b));
        snprintf(buf, sizeof(buf), "主持人答复（%s）：", b);
        para(w, LEFT + 16, buf, 15);
        para(w, LEFT + 32, db_column_text(s, 3) ? db_column_text(s, 3) : "（未答复）", 15);
        w->y -= 4;
    }
    db_reset(s);
    if (rc == DB_ERROR) return err_internal(e, "读取异议失败");
    if (!n) para(w, LEFT, "（无）", 15);

    heading(w, "四、说明");
    char now[32];
    time_iso(now, sizeof(now), time_now());
    local_time(now, a, sizeof(a));
    snprintf(
        buf, sizeof(buf),
        "本记录于 %s（北京时间）由开标系统生成。各投标人以数字证书对“isle-opening-confirm:v1:%s:"
        "<本文件 SHA-256>”签名确认；开标结束时，交易中心以 Ed25519 密钥对本文件的 SHA-256 签名，"
        "签名及公钥在开标大厅公开，可离线核验。依《电子招标投标办法》第三十一条，因投标人原因"
        "未能解密的投标视为撤销投标；因系统原因未能解密的，经备用密钥解密。",
        a, t->tender_no);
    para(w, LEFT, buf, 15);
    return 0;
}

int opening_record_render(db *d, const trade_tender *t, unsigned char **out, size_t *len, err *e) {
    *out = NULL;
    *len = 0;
    const char *font_path = proofs_font_path();
    if (!font_path)
        return err_internal(e, "no TrueType CJK font for the opening record: install "
                               "fonts-arphic-uming or fonts-wqy-microhei, or set ISLE_PROOF_FONT");
    pdfdoc_hpdf_err pe = {0};
    HPDF_Doc pdf = pdfdoc_new_hpdf(&pe);
    if (!pdf) return err_internal(e, "cannot start a PDF");
    char title[80];
    snprintf(title, sizeof(title), "isle opening record %s", t->tender_no);
    HPDF_SetInfoAttr(pdf, HPDF_INFO_TITLE, title);
    int rc = 0;
    HPDF_Font font = pdfdoc_font_hpdf(pdf, font_path);
    if (!font) rc = err_internal(e, "cannot load the record font %s", font_path);
    char foot[200];
    snprintf(foot, sizeof(foot), "开标记录 %s", t->tender_no);
    writer w = {.pdf = pdf, .font = font, .size = 10, .footer = foot};
    if (rc == 0) {
        new_page(&w);
        rc = render(d, t, &w, e);
    }
    return pdfdoc_end_hpdf(pdf, &pe, rc, OPENING_RECORD_MAX, out, len, e);
}
