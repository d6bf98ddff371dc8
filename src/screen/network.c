/* network: bidder groups from a bid file — co-bidding, winner rotation, cover bids.
 *
 * A pair of bidders is tied when they bid together in at least NET_MIN_COBIDS
 * tenders AND in at least half of the tenders of the less active of the two (two
 * big firms that meet everywhere are competitors, not necessarily a ring; the
 * share condition keeps a dense market from merging into one blob). Groups are the
 * connected components of ties. For each group, a "group tender" has at least two
 * members bidding; the winner is the bid with winner=1, else the lowest bid.
 *   - rotation: the group wins most of its tenders and the wins are spread over
 *     several members (轮流坐庄);
 *   - cover bidding: members that bid in the group's tenders and never win, losing
 *     to a member by a consistent margin (陪标: small coefficient of variation of
 *     their bid / winning bid).
 * Tenders with more than NET_MAX_PAIR_BIDS bids contribute no pairs (quadratic
 * cost, and mass tenders say little about rings). Deterministic: groups are
 * numbered by their smallest bidder id in the file's first-seen order. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/xmalloc.h"
#include "screen/screen.h"

#define NET_MIN_COBIDS     3
#define NET_MAX_PAIR_BIDS  50
#define NET_MAX_GROUP_SIZE 50

/* csv.c accessors */
uint32_t screen_set_bid_bidder(const screen_set *s, int tender, int k, double *value, int *winner);
int screen_set_tender_size(const screen_set *s, int tender);
const char *screen_set_string(const screen_set *s, uint32_t id);
uint32_t screen_set_nstrings(const screen_set *s);

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static uint32_t uf_find(uint32_t *p, uint32_t x) {
    while (p[x] != x)
        x = p[x] = p[p[x]];
    return x;
}

typedef struct member_stats {
    int bids, wins;
    double ratio_sum, ratio_sq; /* bid / winning bid when another member won */
    int ratio_n;
} member_stats;

/* Index of the winning bid of tender t: winner=1 if marked, else the lowest. */
static int winner_of(const screen_set *s, int t, int n) {
    int best = -1, marked = -1;
    double bv = 0;
    for (int k = 0; k < n; k++) {
        double v;
        int w;
        screen_set_bid_bidder(s, t, k, &v, &w);
        if (w == 1 && marked < 0) marked = k;
        if (best < 0 || v < bv) best = k, bv = v;
    }
    return marked >= 0 ? marked : best;
}

static void put_csv(FILE *f, const char *s) {
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

int screen_set_groups(screen_set *s, FILE *out, int *tender_group, err *e) {
    if (!screen_set_has_bidders(s))
        return err_set(e, 422, "unprocessable", "bidder_id",
                       "--groups needs a bidder_id column in the bid file");
    int nt = screen_set_tenders(s);
    uint32_t ns = screen_set_nstrings(s);
    int *tenders_of = xcalloc(ns, sizeof(int));
    size_t npairs = 0, cap = 1024;
    uint64_t *pairs = xmalloc(sizeof(uint64_t) * cap);
    uint32_t ids[NET_MAX_PAIR_BIDS];
    for (int t = 0; t < nt; t++) {
        int n = screen_set_tender_size(s, t);
        for (int k = 0; k < n; k++) {
            uint32_t b = screen_set_bid_bidder(s, t, k, NULL, NULL);
            if (b) tenders_of[b]++;
        }
        if (n > NET_MAX_PAIR_BIDS) continue;
        int m = 0;
        for (int k = 0; k < n; k++) {
            uint32_t b = screen_set_bid_bidder(s, t, k, NULL, NULL);
            if (b) ids[m++] = b;
        }
        for (int a = 0; a < m; a++)
            for (int c = a + 1; c < m; c++) {
                if (npairs == cap) pairs = xrealloc(pairs, sizeof(uint64_t) * (cap *= 2));
                uint32_t x = ids[a] < ids[c] ? ids[a] : ids[c], y = ids[a] ^ ids[c] ^ x;
                pairs[npairs++] = (uint64_t)x << 32 | y;
            }
    }
    qsort(pairs, npairs, sizeof(uint64_t), cmp_u64);
    uint32_t *parent = xmalloc(sizeof(uint32_t) * ns);
    int *size = xmalloc(sizeof(int) * ns);
    for (uint32_t i = 0; i < ns; i++)
        parent[i] = i, size[i] = 1;
    for (size_t i = 0; i < npairs;) {
        size_t j = i + 1;
        while (j < npairs && pairs[j] == pairs[i])
            j++;
        int w = (int)(j - i);
        uint32_t a = (uint32_t)(pairs[i] >> 32), b = (uint32_t)pairs[i];
        int less = tenders_of[a] < tenders_of[b] ? tenders_of[a] : tenders_of[b];
        if (w >= NET_MIN_COBIDS && 2 * w >= less) {
            uint32_t ra = uf_find(parent, a), rb = uf_find(parent, b);
            if (ra != rb && size[ra] + size[rb] <= NET_MAX_GROUP_SIZE) {
                if (ra > rb) {
                    uint32_t tmp = ra;
                    ra = rb;
                    rb = tmp;
                }
                parent[rb] = ra;
                size[ra] += size[rb];
            }
        }
        i = j;
    }
    free(pairs);
    /* group ids: roots of components with >= 2 members, numbered by root id */
    int *gid = xcalloc(ns, sizeof(int));
    int ngroups = 0;
    for (uint32_t i = 1; i < ns; i++) {
        uint32_t r = uf_find(parent, i);
        if (size[r] >= 2 && tenders_of[i] > 0 && !gid[r]) gid[r] = ++ngroups;
    }
    member_stats *ms = xcalloc(ns, sizeof(member_stats));
    int *gtenders = xcalloc((size_t)ngroups + 1, sizeof(int));
    int *gwins = xcalloc((size_t)ngroups + 1, sizeof(int));
    int *tg = xcalloc((size_t)(nt ? nt : 1), sizeof(int)); /* group of each tender, -1 mixed */
    for (int t = 0; t < nt; t++) {
        int n = screen_set_tender_size(s, t);
        /* the group with the most members in this tender (>= 2) */
        int best = 0, bestc = 1;
        for (int k = 0; k < n && n <= NET_MAX_PAIR_BIDS; k++) {
            uint32_t b = screen_set_bid_bidder(s, t, k, NULL, NULL);
            int g = b ? gid[uf_find(parent, b)] : 0;
            if (!g) continue;
            int c = 0;
            for (int q = 0; q < n; q++) {
                uint32_t b2 = screen_set_bid_bidder(s, t, q, NULL, NULL);
                c += b2 && gid[uf_find(parent, b2)] == g;
            }
            if (c > bestc || (c == bestc && c >= 2 && g < best)) best = g, bestc = c;
        }
        if (!best) continue;
        tg[t] = best;
        gtenders[best]++;
        int wk = winner_of(s, t, n);
        double wv;
        uint32_t wb = screen_set_bid_bidder(s, t, wk, &wv, NULL);
        int member_won = wb && gid[uf_find(parent, wb)] == best;
        if (member_won) gwins[best]++;
        for (int k = 0; k < n; k++) {
            double v;
            uint32_t b = screen_set_bid_bidder(s, t, k, &v, NULL);
            if (!b || gid[uf_find(parent, b)] != best) continue;
            ms[b].bids++;
            if (k == wk)
                ms[b].wins++;
            else if (member_won) {
                double r = v / wv;
                ms[b].ratio_sum += r, ms[b].ratio_sq += r * r, ms[b].ratio_n++;
            }
        }
    }
    fputs("group_id,members,tenders,wins,distinct_winners,rotation,cover_bidders,score,reasons\n",
          out);
    double *gscore = xcalloc((size_t)ngroups + 1, sizeof(double));
    for (int g = 1; g <= ngroups; g++) {
        char members[2048] = "", covers[1024] = "", reasons[512] = "";
        int nm = 0, winners = 0, ncover = 0, maxwins = 0;
        double margin_sum = 0, margin_cv_max = 0;
        for (uint32_t i = 1; i < ns; i++) {
            if (gid[uf_find(parent, i)] != g || !tenders_of[i]) continue;
            size_t u = strlen(members);
            snprintf(members + u, sizeof members - u, "%s%s", nm ? ";" : "",
                     screen_set_string(s, i));
            nm++;
            if (ms[i].wins) winners++;
            if (ms[i].wins > maxwins) maxwins = ms[i].wins;
            if (ms[i].bids >= NET_MIN_COBIDS && !ms[i].wins && ms[i].ratio_n >= 2) {
                double mean = ms[i].ratio_sum / ms[i].ratio_n;
                double var = ms[i].ratio_sq / ms[i].ratio_n - mean * mean;
                double cv = (var > 0 ? sqrt(var) : 0) / mean;
                if (cv < 0.05) { /* consistent margin: a cover bidder */
                    u = strlen(covers);
                    snprintf(covers + u, sizeof covers - u, "%s%s", ncover ? ";" : "",
                             screen_set_string(s, i));
                    ncover++;
                    margin_sum += mean - 1;
                    if (cv > margin_cv_max) margin_cv_max = cv;
                }
            }
        }
        int gt = gtenders[g];
        double win_share = gt ? (double)gwins[g] / gt : 0;
        double rotation = nm ? (double)winners / nm : 0;
        /* evenness: the most frequent winner's share of the group's wins */
        double top_share = gwins[g] ? (double)maxwins / gwins[g] : 1;
        double score = 0;
        if (gt >= NET_MIN_COBIDS && win_share >= 0.6) {
            if (winners >= 2 && top_share <= 0.75) {
                score = 0.5 + 0.4 * rotation * win_share;
                snprintf(reasons, sizeof reasons,
                         "winner rotation: %d of %d members won %d of %d group tenders", winners,
                         nm, gwins[g], gt);
            }
            if (ncover) {
                size_t u = strlen(reasons);
                snprintf(reasons + u, sizeof reasons - u,
                         "%scover bidding: %d member(s) never win and lose by %.1f%% (cv %.3f)",
                         u ? ";" : "", ncover, 100 * margin_sum / ncover, margin_cv_max);
                if (score < 0.6) score = 0.6;
                score += 0.1;
            }
        }
        if (!*reasons)
            snprintf(reasons, sizeof reasons, "co-bidding group: %d tenders together", gt);
        if (score > 1) score = 1;
        gscore[g] = score;
        fprintf(out, "G%d,", g);
        put_csv(out, members);
        fprintf(out, ",%d,%d,%d,%.3f,", gt, gwins[g], winners, rotation);
        put_csv(out, covers);
        fprintf(out, ",%.3f,", score);
        put_csv(out, reasons);
        fputc('\n', out);
    }
    if (tender_group)
        for (int t = 0; t < nt; t++)
            tender_group[t] = tg[t] && gscore[tg[t]] >= 0.5 ? tg[t] : 0;
    free(gscore);
    free(tg);
    free(gtenders);
    free(gwins);
    free(ms);
    free(gid);
    free(parent);
    free(size);
    free(tenders_of);
    return 0;
}

/* Cross-tender 规律性差异: the same ratio between the prices of two bidders in two or
 * more tenders (to 1e-6 relative). Pairs are recorded as (pair, ratio) and sorted. */
typedef struct ratio_rec {
    uint64_t pair;
    double ratio;
    int tender;
} ratio_rec;

static int cmp_ratio(const void *a, const void *b) {
    const ratio_rec *x = a, *y = b;
    if (x->pair != y->pair) return x->pair < y->pair ? -1 : 1;
    if (x->ratio != y->ratio) return x->ratio < y->ratio ? -1 : 1;
    return (x->tender > y->tender) - (x->tender < y->tender);
}

/* Stable LSD radix sort of r[0..n) by pair (16-bit digits), then insertion sort of
 * each pair's (short) run by ratio: much faster than qsort on millions of records. */
static void sort_ratios(ratio_rec *r, size_t n) {
    ratio_rec *tmp = xmalloc(sizeof(ratio_rec) * (n ? n : 1));
    size_t *count = xmalloc(sizeof(size_t) * 65537);
    for (int shift = 0; shift < 64; shift += 16) {
        memset(count, 0, sizeof(size_t) * 65537);
        for (size_t i = 0; i < n; i++)
            count[((r[i].pair >> shift) & 0xFFFF) + 1]++;
        if (count[((r[0].pair >> shift) & 0xFFFF) + 1] == n) continue; /* digit constant */
        for (int d = 0; d < 65536; d++)
            count[d + 1] += count[d];
        for (size_t i = 0; i < n; i++)
            tmp[count[(r[i].pair >> shift) & 0xFFFF]++] = r[i];
        memcpy(r, tmp, sizeof(ratio_rec) * n);
    }
    free(tmp);
    free(count);
    for (size_t a = 0; a < n;) {
        size_t b = a + 1;
        while (b < n && r[b].pair == r[a].pair)
            b++;
        for (size_t i = a + 1; i < b; i++) {
            ratio_rec v = r[i];
            size_t j = i;
            while (j > a && cmp_ratio(&r[j - 1], &v) > 0)
                r[j] = r[j - 1], j--;
            r[j] = v;
        }
        a = b;
    }
}

void screen_set_cross_patterns(screen_set *s, int *marks) {
    int nt = screen_set_tenders(s);
    size_t n = 0, cap = 1024;
    ratio_rec *r = xmalloc(sizeof(ratio_rec) * cap);
    for (int t = 0; t < nt; t++) {
        int m = screen_set_tender_size(s, t);
        if (m > NET_MAX_PAIR_BIDS) continue;
        for (int a = 0; a < m; a++)
            for (int c = a + 1; c < m; c++) {
                double va, vc;
                uint32_t ba = screen_set_bid_bidder(s, t, a, &va, NULL);
                uint32_t bc = screen_set_bid_bidder(s, t, c, &vc, NULL);
                if (!ba || !bc || ba == bc) continue;
                if (ba > bc) {
                    uint32_t tb = ba;
                    double tv = va;
                    ba = bc, va = vc, bc = tb, vc = tv;
                }
                if (fabs(va - vc) < 0.005) continue; /* identical prices: reported per tender */
                if (n == cap) r = xrealloc(r, sizeof(ratio_rec) * (cap *= 2));
                r[n++] = (ratio_rec){(uint64_t)ba << 32 | bc, vc / va, t};
            }
    }
    if (n) sort_ratios(r, n);
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && r[j].pair == r[i].pair &&
               fabs(r[j].ratio - r[i].ratio) <= 1e-6 * r[i].ratio)
            j++;
        int distinct = 0;
        for (size_t k = i; k < j; k++)
            distinct += k == i || r[k].tender != r[k - 1].tender;
        if (distinct >= 2)
            for (size_t k = i; k < j; k++)
                marks[r[k].tender]++;
        i = j;
    }
    free(r);
}
