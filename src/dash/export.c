/* export: a drill table (dash_drill()) as CSV or as an Excel workbook. */
#include "dash/dash.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xlsxwriter.h>

#include "base/strbuf.h"

/* The text of a header cell: the label with its unit ("一网通办率（%）"). */
static void header_text(json_t *col, char *buf, size_t n) {
    const char *label = json_string_value(json_object_get(col, "label"));
    const char *unit = json_string_value(json_object_get(col, "unit"));
    if (unit && *unit)
        snprintf(buf, n, "%s（%s）", label ? label : "", unit);
    else
        snprintf(buf, n, "%s", label ? label : "");
}

/* The value of a column in a row: "label" is the row's own label. */
static json_t *cell_of(json_t *row, json_t *col) {
    const char *key = json_string_value(json_object_get(col, "key"));
    if (key && !strcmp(key, "label")) return json_object_get(row, "label");
    return json_object_get(json_object_get(row, "cells"), key ? key : "");
}

static int csv_field(strbuf *b, const char *s) {
    int quote = strpbrk(s, ",\"\r\n") != NULL;
    /* A leading = + - @ would be a formula in Excel: keep it text (CSV injection). */
    int formula = (s[0] == '=' || s[0] == '+' || s[0] == '@' ||
                   (s[0] == '-' && !(s[1] >= '0' && s[1] <= '9')));
    int rc = 0;
    if (quote || formula) rc |= strbuf_puts(b, "\"");
    if (formula) rc |= strbuf_puts(b, "'");
    for (const char *p = s; *p; p++) {
        if (*p == '"') rc |= strbuf_puts(b, "\"");
        rc |= strbuf_append(b, p, 1);
    }
    if (quote || formula) rc |= strbuf_puts(b, "\"");
    return rc;
}

int dash_table_csv(json_t *table, char **out, size_t *len, err *e) {
    json_t *cols = json_object_get(table, "columns"), *rows = json_object_get(table, "rows");
    if (!json_is_array(cols) || !json_is_array(rows)) return err_internal(e, "表格不完整");
    strbuf b;
    strbuf_init(&b, 64u << 20);
    int rc = strbuf_append(&b, "\xEF\xBB\xBF", 3); /* BOM: Excel then reads UTF-8 */
    size_t i;
    json_t *c;
    json_array_foreach(cols, i, c) {
        char h[160];
        header_text(c, h, sizeof(h));
        if (i) rc |= strbuf_puts(&b, ",");
        rc |= csv_field(&b, h);
    }
    rc |= strbuf_puts(&b, "\r\n");
    size_t r;
    json_t *row;
    json_array_foreach(rows, r, row) {
        json_array_foreach(cols, i, c) {
            if (i) rc |= strbuf_puts(&b, ",");
            json_t *v = cell_of(row, c);
            if (json_is_string(v))
                rc |= csv_field(&b, json_string_value(v));
            else if (json_is_integer(v))
                rc |= strbuf_printf(&b, "%lld", (long long)json_integer_value(v));
            else if (json_is_real(v))
                rc |= strbuf_printf(&b, "%.2f", json_real_value(v));
        }
        rc |= strbuf_puts(&b, "\r\n");
    }
    if (rc) {
        strbuf_free(&b);
        return err_internal(e, "表格过大");
    }
    *out = strbuf_detach(&b, len);
    return 0;
}

int dash_table_xlsx(json_t *table, unsigned char **out, size_t *len, err *e) {
    json_t *cols = json_object_get(table, "columns"), *rows = json_object_get(table, "rows");
    if (!json_is_array(cols) || !json_is_array(rows)) return err_internal(e, "表格不完整");
    char path[] = "/tmp/isle-xlsx-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) return err_internal(e, "无法创建临时文件");
    close(fd);
    lxw_workbook_options opt = {.constant_memory = LXW_FALSE, .tmpdir = NULL};
    lxw_workbook *wb = workbook_new_opt(path, &opt);
    if (!wb) {
        unlink(path);
        return err_internal(e, "无法创建工作簿");
    }
    const char *level = json_string_value(json_object_get(table, "level"));
    lxw_worksheet *ws = workbook_add_worksheet(wb, level && !strcmp(level, "item")     ? "办件"
                                                   : level && !strcmp(level, "town")   ? "事项"
                                                   : level && !strcmp(level, "county") ? "乡镇"
                                                                                       : "县区");
    lxw_format *bold = workbook_add_format(wb);
    format_set_bold(bold);
    format_set_bg_color(bold, 0xE6F0FA);
    format_set_border(bold, LXW_BORDER_THIN);
    lxw_format *title = workbook_add_format(wb);
    format_set_bold(title);
    format_set_font_size(title, 14);
    lxw_format *num2 = workbook_add_format(wb);
    format_set_num_format(num2, "0.00");

    json_t *win = json_object_get(table, "window");
    char head[512];
    snprintf(head, sizeof(head), "%s（%s 至 %s）",
             json_string_value(json_object_get(table, "title")) ?: "",
             json_string_value(json_object_get(win, "from")) ?: "",
             json_string_value(json_object_get(win, "to")) ?: "");
    worksheet_write_string(ws, 0, 0, head, title);
    size_t i;
    json_t *c;
    json_array_foreach(cols, i, c) {
        char h[160];
        header_text(c, h, sizeof(h));
        worksheet_write_string(ws, 2, (lxw_col_t)i, h, bold);
        worksheet_set_column(ws, (lxw_col_t)i, (lxw_col_t)i, i == 0 ? 28 : 16, NULL);
    }
    size_t r;
    json_t *row;
    json_array_foreach(rows, r, row) {
        lxw_row_t y = (lxw_row_t)(3 + r);
        json_array_foreach(cols, i, c) {
            json_t *v = cell_of(row, c);
            if (json_is_string(v))
                worksheet_write_string(ws, y, (lxw_col_t)i, json_string_value(v), NULL);
            else if (json_is_integer(v))
                worksheet_write_number(ws, y, (lxw_col_t)i, (double)json_integer_value(v), NULL);
            else if (json_is_real(v))
                worksheet_write_number(ws, y, (lxw_col_t)i, json_real_value(v), num2);
        }
    }
    worksheet_freeze_panes(ws, 3, 1);
    lxw_error rc = workbook_close(wb);
    if (rc != LXW_NO_ERROR) {
        unlink(path);
        return err_internal(e, "写工作簿失败：%s", lxw_strerror(rc));
    }
    FILE *f = fopen(path, "rb");
    unlink(path);
    if (!f) return err_internal(e, "读工作簿失败");
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = n > 0 ? malloc((size_t)n) : NULL;
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        fclose(f);
        return err_internal(e, "读工作簿失败");
    }
    fclose(f);
    *out = buf;
    *len = (size_t)n;
    return 0;
}
