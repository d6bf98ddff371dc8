/* traces: electronic traces shared between different bidders of one tender.
 *
 * Each trace kind maps to the item of 招标投标法实施条例 art. 40 it supports
 * ("视为投标人相互串通投标"), so that a supervisor reads the legal ground next to the
 * evidence. Values are compared exactly (the CSV carries normalised identifiers);
 * a hit needs two bids from DIFFERENT bidders (the same bidder sharing its own IP
 * is no evidence). Sorting, not pairwise comparison, keeps big tenders O(n log n). */
#include <stdlib.h>
#include <string.h>

#include "base/xmalloc.h"
#include "screen/screen.h"

/* ---- traces (招标投标法实施条例 art. 40) ---- */

static const char *const trace_columns[SCREEN_TRACE_KINDS] = {
    "ip", "machine_id", "ca_serial", "file_hash", "author", "deposit_account", "project_manager"};
/* Trading-centre practice: the same upload IP or CA key means one agent handled
 * both bids (40(2)); the same machine, author or file means one drafter (40(1));
 * identical files are also "异常一致" (40(4), cited in the text). */
static const char *const trace_articles[SCREEN_TRACE_KINDS] = {"40(2)", "40(1)", "40(2)", "40(4)",
                                                               "40(1)", "40(6)", "40(3)"};
static const char *const trace_texts[SCREEN_TRACE_KINDS] = {
    "委托同一单位或者个人办理投标事宜",  "投标文件由同一单位或者个人编制",
    "委托同一单位或者个人办理投标事宜",  "投标文件异常一致或者投标报价呈规律性差异",
    "投标文件由同一单位或者个人编制",    "投标保证金从同一单位或者个人的账户转出",
    "投标文件载明的项目管理成员为同一人"};

const char *screen_trace_column(screen_trace_kind k) {
    return k < SCREEN_TRACE_KINDS ? trace_columns[k] : "";
}
const char *screen_trace_article(screen_trace_kind k) {
    return k < SCREEN_TRACE_KINDS ? trace_articles[k] : "";
}
const char *screen_trace_article_text(screen_trace_kind k) {
    return k < SCREEN_TRACE_KINDS ? trace_texts[k] : "";
}

static int nonempty(const char *s) {
    return s && *s;
}

/* Two bids belong to different bidders unless both name the same bidder. */
static int different_bidders(const screen_bid *a, const screen_bid *b) {
    if (!nonempty(a->bidder_id) || !nonempty(b->bidder_id)) return 1;
    return strcmp(a->bidder_id, b->bidder_id) != 0;
}

static _Thread_local const screen_bid *sort_bids;
static _Thread_local int sort_kind;
static int cmp_trace(const void *a, const void *b) {
    int i = *(const int *)a, j = *(const int *)b;
    int c = strcmp(sort_bids[i].trace[sort_kind], sort_bids[j].trace[sort_kind]);
    return c ? c : (i > j) - (i < j);
}

void screen_find_traces(const screen_bid *bids, int n, screen_result *r) {
    int *ix = xmalloc(sizeof(int) * (size_t)(n ? n : 1));
    for (int k = 0; k < SCREEN_TRACE_KINDS; k++) {
        int m = 0;
        for (int i = 0; i < n; i++)
            if (nonempty(bids[i].trace[k])) ix[m++] = i;
        if (m < 2) continue;
        sort_bids = bids;
        sort_kind = k;
        if (m > 16) {
            qsort(ix, (size_t)m, sizeof(int), cmp_trace);
        } else { /* small tenders: insertion sort, no allocation inside qsort */
            for (int i = 1; i < m; i++) {
                int v = ix[i], j = i - 1;
                while (j >= 0 && cmp_trace(&ix[j], &v) > 0)
                    ix[j + 1] = ix[j], j--;
                ix[j + 1] = v;
            }
        }
        for (int a = 0; a < m;) {
            int b = a + 1;
            while (b < m && !strcmp(bids[ix[a]].trace[k], bids[ix[b]].trace[k]))
                b++;
            /* one hit per other bidder sharing the value with the run's first bid */
            for (int c = a + 1; c < b; c++) {
                if (!different_bidders(&bids[ix[a]], &bids[ix[c]])) continue;
                if (r->nhits < SCREEN_MAX_HITS)
                    r->hits[r->nhits++] =
                        (screen_trace_hit){.kind = k, .bid_a = ix[a], .bid_b = ix[c]};
                r->hits_total++;
                r->kind_total[k]++;
            }
            a = b;
        }
    }
    free(ix);
    /* 40(5) 相互混装: a bid document whose author is another bidder of the tender. */
    if (n <= 500)
        for (int i = 0; i < n; i++) {
            const char *au = bids[i].trace[SCREEN_TRACE_AUTHOR];
            if (!nonempty(au)) continue;
            for (int j = 0; j < n; j++)
                if (j != i && nonempty(bids[j].bidder_id) &&
                    different_bidders(&bids[i], &bids[j]) && !strcmp(au, bids[j].bidder_id))
                    r->mixed_docs++;
        }
}
