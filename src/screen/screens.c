/* screens: price screens of one tender, subgroup screens and price patterns.
 *
 * Conventions (documented in docs/SCREENING.md):
 *   - bids sorted ascending b1 <= b2 <= ... <= bn; b1 is the presumptive winner;
 *   - sd is the SAMPLE standard deviation (divisor n - 1);
 *   - skewness is the adjusted Fisher-Pearson G1 = sqrt(n(n-1))/(n-2) * m3/m2^1.5 and
 *     excess kurtosis the adjusted G2 = (n-1)/((n-2)(n-3)) * ((n+1) g2 + 6), with m2,
 *     m3, m4 the central moments (divisor n) and g2 = m4/m2^2 - 3 (what Excel, SAS
 *     and pandas report);
 *   - a screen that needs more bids than the tender has, or divides by a zero
 *     spread of distinct prices, is NaN ("not applicable"). Ratios whose
 *     denominator is zero while the numerator is not (identical losing bids under a
 *     lower winner: the textbook cover-bid picture) are capped at SCREEN_RD_CAP.
 * Must never allocate per tender beyond small bounded buffers, nor fail. */
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xmalloc.h"
#include "screen/screen.h"

#define SCREEN_RD_CAP 100.0
#define CENT          0.005

static const char *const single_names[SF_SUB_BASE] = {
    "n",     "log_n", "cv", "spd",  "diffp",  "skew",  "kurt",  "rd",
    "rdnor", "rdalt", "ks", "zlow", "gapmin", "near2", "round", "log_mean"};
static const char *const sub_screen_names[SCREEN_SUB_SCREENS] = {"cv", "spd",  "diffp",
                                                                 "rd", "skew", "kurt"};
static const char *const sub_stat_names[SCREEN_SUB_STATS] = {"mean", "median", "min", "max"};
static const char *const ext_names[SF_EXT_END - SF_GAP1_MED] = {
    "gap1_med",      "gap_gini",  "gap_max_med", "gap_max_pos", "gap_entropy",
    "gap_max_range", "cv_losers", "z_losers",    "near1",       "near5",
    "tight1",        "tight3",    "med5",        "med10",       "clusters",
    "round1000",     "zeros",     "sd_log",      "top_med",     "med_low"};

static char feature_names[SCREEN_NFEAT][24];
static pthread_once_t feature_names_once = PTHREAD_ONCE_INIT;

static void feature_names_init(void) {
    for (int k = 0; k < SCREEN_NFEAT; k++) {
        if (k < SF_SUB_BASE) {
            snprintf(feature_names[k], sizeof feature_names[k], "%s", single_names[k]);
        } else if (k < SF_BBR_LOW) {
            int j = k - SF_SUB_BASE;
            int size = j / (SCREEN_SUB_SCREENS * SCREEN_SUB_STATS) ? 4 : 3;
            int scr = (j / SCREEN_SUB_STATS) % SCREEN_SUB_SCREENS;
            snprintf(feature_names[k], sizeof feature_names[k], "s%d_%s_%s", size,
                     sub_screen_names[scr], sub_stat_names[j % SCREEN_SUB_STATS]);
        } else if (k <= SF_BBR_MEAN) {
            snprintf(feature_names[k], sizeof feature_names[k], "%s",
                     k == SF_BBR_LOW ? "bbr_low" : "bbr_mean");
        } else {
            snprintf(feature_names[k], sizeof feature_names[k], "%s", ext_names[k - SF_GAP1_MED]);
        }
    }
}

/* Thread-safe: the platform screens from worker threads. */
const char *screen_feature_name(int i) {
    if (i < 0 || i >= SCREEN_NFEAT) return NULL;
    pthread_once(&feature_names_once, feature_names_init);
    return feature_names[i];
}

/* Chinese wording for supervisors (the platform's pages show it next to the code). */
static const char *const single_texts[SF_SUB_BASE] = {"投标人数",
                                                      "投标人数的对数",
                                                      "报价变异系数（离散程度）",
                                                      "报价极差率（最高价相对最低价）",
                                                      "最低两家报价差率",
                                                      "报价偏度",
                                                      "报价超额峰度",
                                                      "相对距离（最低两家差距/其余报价标准差）",
                                                      "标准化距离（最低两家差距/平均间距）",
                                                      "替代距离（最低两家差距/其余报价平均间距）",
                                                      "与均匀分布的KS距离",
                                                      "最低价低于均值的标准差倍数",
                                                      "最小相邻报价间距/平均间距",
                                                      "最低价2%以内的其他报价占比",
                                                      "整百报价占比",
                                                      "报价水平（均值对数）"};
static const char *const sub_screen_texts[SCREEN_SUB_SCREENS] = {
    "变异系数", "极差率", "最低两家差率", "相对距离", "偏度", "超额峰度"};
static const char *const sub_stat_texts[SCREEN_SUB_STATS] = {"均值", "中位数", "最小值", "最大值"};
static const char *const ext_texts[SF_EXT_END - SF_GAP1_MED] = {
    "最低两家差距/相邻报价间距中位数",
    "相邻报价间距的基尼系数（间距不均程度）",
    "最大相邻间距/间距中位数",
    "最大相邻间距的位置（0=紧邻最低价，1=紧邻最高价）",
    "相邻间距的熵（1=均匀分布）",
    "最大相邻间距/极差",
    "未中标报价的变异系数",
    "最低价低于其余报价均值的标准差倍数",
    "最低价1%以内的其他报价占比",
    "最低价5%以内的其他报价占比",
    "相差1%以内的报价对占比",
    "相差3%以内的报价对占比",
    "中位数5%以内的报价占比",
    "中位数10%以内的报价占比",
    "报价簇数（间距超过最低价2%处分簇）/投标人数",
    "整千报价占比",
    "报价末尾零的平均位数",
    "报价对数的标准差",
    "最高价/中位数",
    "中位数/最低价"};
static char feature_texts[SCREEN_NFEAT][128];
static pthread_once_t feature_texts_once = PTHREAD_ONCE_INIT;

static void feature_texts_init(void) {
    for (int k = 0; k < SCREEN_NFEAT; k++) {
        if (k < SF_SUB_BASE) {
            snprintf(feature_texts[k], sizeof feature_texts[k], "%s", single_texts[k]);
        } else if (k < SF_BBR_LOW) {
            int j = k - SF_SUB_BASE;
            int size = j / (SCREEN_SUB_SCREENS * SCREEN_SUB_STATS) ? 4 : 3;
            snprintf(feature_texts[k], sizeof feature_texts[k], "任意%d家报价子组的%s（%s）", size,
                     sub_screen_texts[(j / SCREEN_SUB_STATS) % SCREEN_SUB_SCREENS],
                     sub_stat_texts[j % SCREEN_SUB_STATS]);
        } else if (k <= SF_BBR_MEAN) {
            snprintf(feature_texts[k], sizeof feature_texts[k], "%s",
                     k == SF_BBR_LOW ? "最低价/最高限价" : "平均报价/最高限价");
        } else {
            snprintf(feature_texts[k], sizeof feature_texts[k], "%s", ext_texts[k - SF_GAP1_MED]);
        }
    }
}

const char *screen_feature_text(int i) {
    if (i < 0 || i >= SCREEN_NFEAT) return NULL;
    pthread_once(&feature_texts_once, feature_texts_init);
    return feature_texts[i];
}

int screen_feature_index(const char *name) {
    for (int i = 0; i < SCREEN_NFEAT; i++)
        if (!strcmp(screen_feature_name(i), name)) return i;
    return -1;
}

/* ---- statistics ---- */

static double mean_of(const double *x, int n) {
    double s = 0;
    for (int i = 0; i < n; i++)
        s += x[i];
    return s / n;
}

static double sample_sd(const double *x, int n) {
    if (n < 2) return NAN;
    double m = mean_of(x, n), s = 0;
    for (int i = 0; i < n; i++)
        s += (x[i] - m) * (x[i] - m);
    return sqrt(s / (n - 1));
}

static void central_moments(const double *x, int n, double *m2, double *m3, double *m4) {
    double m = mean_of(x, n), a = 0, b = 0, c = 0;
    for (int i = 0; i < n; i++) {
        double d = x[i] - m, d2 = d * d;
        a += d2;
        b += d2 * d;
        c += d2 * d2;
    }
    *m2 = a / n;
    *m3 = b / n;
    *m4 = c / n;
}

/* Moments are compared to the mean's size so that rounding noise on identical
 * prices does not read as a tiny but nonzero spread. */
static int spread_is_zero(double m2, double mean) {
    return m2 <= 1e-24 * mean * mean;
}

double screen_skewness(const double *x, int n) {
    if (n < 3) return NAN;
    double m2, m3, m4;
    central_moments(x, n, &m2, &m3, &m4);
    if (spread_is_zero(m2, mean_of(x, n))) return NAN;
    double g1 = m3 / pow(m2, 1.5);
    return sqrt((double)n * (n - 1)) / (n - 2) * g1;
}

double screen_kurtosis(const double *x, int n) {
    if (n < 4) return NAN;
    double m2, m3, m4;
    central_moments(x, n, &m2, &m3, &m4);
    if (spread_is_zero(m2, mean_of(x, n))) return NAN;
    double g2 = m4 / (m2 * m2) - 3.0;
    return (double)(n - 1) / ((double)(n - 2) * (n - 3)) * ((n + 1) * g2 + 6.0);
}

double screen_ks_uniform(const double *s, int n) {
    if (n < 3) return NAN;
    double range = s[n - 1] - s[0];
    if (range <= 0) return NAN;
    double d = 0;
    for (int i = 0; i < n; i++) {
        double u = (s[i] - s[0]) / range;
        double a = (double)(i + 1) / n - u, b = u - (double)i / n;
        if (a > d) d = a;
        if (b > d) d = b;
    }
    return d;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Tenders are small: insertion sort beats glibc's qsort (a merge sort that
 * allocates) below a few dozen values. */
static void sort_doubles(double *x, int n) {
    if (n > 32) {
        qsort(x, (size_t)n, sizeof(double), cmp_double);
        return;
    }
    for (int i = 1; i < n; i++) {
        double v = x[i];
        int j = i - 1;
        while (j >= 0 && x[j] > v)
            x[j + 1] = x[j], j--;
        x[j + 1] = v;
    }
}

/* gap / denom, NaN when both are zero, capped when only the denominator is. */
static double capped_ratio(double gap, double denom) {
    if (isnan(denom)) return NAN;
    if (denom <= 0) return gap > 0 ? SCREEN_RD_CAP : NAN;
    double r = gap / denom;
    return r > SCREEN_RD_CAP ? SCREEN_RD_CAP : r;
}

/* The screens computed for every subgroup; s[] sorted ascending, n >= 3. */
static void subset_screens(const double *s, int n, double out[SCREEN_SUB_SCREENS]) {
    double sd = sample_sd(s, n), m = mean_of(s, n);
    out[0] = sd / m;
    out[1] = (s[n - 1] - s[0]) / s[0];
    out[2] = (s[1] - s[0]) / s[0];
    out[3] = capped_ratio(s[1] - s[0], sample_sd(s + 1, n - 1));
    out[4] = screen_skewness(s, n);
    out[5] = screen_kurtosis(s, n);
}

/* ---- subgroups ---- */

static uint64_t rng_next(uint64_t *st) { /* splitmix64: deterministic, seedable */
    uint64_t z = (*st += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static int cmp_int(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* Summaries (mean, median, min, max) of each screen over subsets of size k. */
static void subgroup_features(const double *s, int n, int k, double *f) {
    static _Thread_local double vals[SCREEN_SUB_SCREENS][SCREEN_SUB_SAMPLE];
    int cnt[SCREEN_SUB_SCREENS] = {0};
    int idx[4];
    double sub[4], scr[SCREEN_SUB_SCREENS];
    int total = 0;
    if (n <= SCREEN_SUB_FULL_MAX_N) {
        for (int i = 0; i < k; i++)
            idx[i] = i;
        for (;;) {
            for (int i = 0; i < k; i++)
                sub[i] = s[idx[i]];
            subset_screens(sub, k, scr);
            for (int j = 0; j < SCREEN_SUB_SCREENS; j++)
                if (!isnan(scr[j]) && cnt[j] < SCREEN_SUB_SAMPLE) vals[j][cnt[j]++] = scr[j];
            total++;
            int p = k - 1;
            while (p >= 0 && idx[p] == n - k + p)
                p--;
            if (p < 0) break;
            idx[p]++;
            for (int i = p + 1; i < k; i++)
                idx[i] = idx[i - 1] + 1;
        }
    } else {
        /* Deterministic sample: seeded by n and k only, so a tender screens the
         * same way on every run and machine. */
        uint64_t st = 0x5EEDULL * (uint64_t)n + (uint64_t)k;
        for (int t = 0; t < SCREEN_SUB_SAMPLE; t++) {
            int m = 0;
            while (m < k) {
                int c = (int)(rng_next(&st) % (uint64_t)n), dup = 0;
                for (int i = 0; i < m; i++)
                    dup |= idx[i] == c;
                if (!dup) idx[m++] = c;
            }
            qsort(idx, (size_t)k, sizeof idx[0], cmp_int);
            for (int i = 0; i < k; i++)
                sub[i] = s[idx[i]];
            subset_screens(sub, k, scr);
            for (int j = 0; j < SCREEN_SUB_SCREENS; j++)
                if (!isnan(scr[j])) vals[j][cnt[j]++] = scr[j];
            total++;
        }
    }
    (void)total;
    for (int j = 0; j < SCREEN_SUB_SCREENS; j++) {
        double *o = f + j * SCREEN_SUB_STATS;
        int c = cnt[j];
        if (c == 0) {
            for (int q = 0; q < SCREEN_SUB_STATS; q++)
                o[q] = NAN;
            continue;
        }
        sort_doubles(vals[j], c);
        o[0] = mean_of(vals[j], c);
        o[1] = c % 2 ? vals[j][c / 2] : (vals[j][c / 2 - 1] + vals[j][c / 2]) / 2;
        o[2] = vals[j][0];
        o[3] = vals[j][c - 1];
    }
}

/* ---- shape of the whole price vector ---- */

/* Median of x[0..n) (sorted in place). */
static double median_in_place(double *x, int n) {
    sort_doubles(x, n);
    return n % 2 ? x[n / 2] : (x[n / 2 - 1] + x[n / 2]) / 2;
}

/* Pairs i < j of sorted s with s[j] <= s[i] * (1 + rel): two pointers, O(n). */
static double share_pairs_within(const double *s, int n, double rel) {
    long cnt = 0;
    int j = 0;
    for (int i = 0; i < n; i++) {
        if (j < i + 1) j = i + 1;
        while (j < n && s[j] <= s[i] * (1 + rel))
            j++;
        cnt += j - i - 1;
    }
    return (double)cnt / ((double)n * (n - 1) / 2);
}

/* Trailing decimal zeros of a price in cents (0..8). */
static int trailing_zeros(double v) {
    double c = floor(v * 100 + 0.5);
    int z = 0;
    while (z < 8 && c >= 10 && fmod(c, 10) == 0)
        c /= 10, z++;
    return z;
}

/* The shape features (SF_GAP1_MED..): s sorted ascending, all > 0, n >= 1. */
static void shape_features(const double *s, int n, double *f) {
    int r1000 = 0, zeros = 0;
    for (int i = 0; i < n; i++) {
        r1000 += fabs(s[i] / 1000.0 - floor(s[i] / 1000.0 + 0.5)) < 1e-8;
        zeros += trailing_zeros(s[i]);
    }
    f[SF_ROUND1000] = (double)r1000 / n;
    f[SF_ZEROS] = (double)zeros / n / 8.0;
    if (n < 2) return;
    int near1 = 0, near5 = 0;
    for (int i = 1; i < n; i++)
        near1 += s[i] <= s[0] * 1.01, near5 += s[i] <= s[0] * 1.05;
    f[SF_NEAR1] = (double)near1 / (n - 1);
    f[SF_NEAR5] = (double)near5 / (n - 1);
    f[SF_TIGHT1] = share_pairs_within(s, n, 0.01);
    f[SF_TIGHT3] = share_pairs_within(s, n, 0.03);
    if (n < 3) return;
    double range = s[n - 1] - s[0];
    double gbuf[64]; /* tenders are small: no allocation below 64 bids */
    double *g = n <= 64 ? gbuf : xmalloc(sizeof(double) * (size_t)n);
    double gsum = 0, gmax = 0;
    int gmax_at = 0, clusters = 1;
    for (int i = 0; i + 1 < n; i++) {
        g[i] = s[i + 1] - s[i];
        gsum += g[i];
        if (g[i] > gmax) gmax = g[i], gmax_at = i;
        clusters += g[i] > 0.02 * s[0];
    }
    f[SF_CLUSTERS] = (double)clusters / n;
    double med = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    int m5 = 0, m10 = 0;
    double lm = 0, lv = 0;
    for (int i = 0; i < n; i++) {
        double d = fabs(s[i] / med - 1);
        m5 += d <= 0.05, m10 += d <= 0.10;
    }
    /* Welford on ln(b / b1): one log per bid, no cancellation */
    for (int i = 0; i < n; i++) {
        double x = i ? log(s[i] / s[0]) : 0, dl = x - lm;
        lm += dl / (i + 1);
        lv += dl * (x - lm);
    }
    f[SF_MED5] = (double)m5 / n;
    f[SF_MED10] = (double)m10 / n;
    f[SF_SD_LOG] = sqrt(lv / (n - 1));
    f[SF_TOP_MED] = s[n - 1] / med;
    f[SF_MED_LOW] = med / s[0];
    double lmean = mean_of(s + 1, n - 1), lsd = sample_sd(s + 1, n - 1);
    f[SF_CV_LOSERS] = lsd / lmean;
    f[SF_Z_LOSERS] = capped_ratio(lmean - s[0], lsd);
    if (range > 0) {
        int k = n - 1;
        double first = g[0];
        double gmed = median_in_place(g, k); /* g is sorted from here on */
        f[SF_GAP1_MED] = capped_ratio(first, gmed);
        f[SF_GAP_MAX_MED] = capped_ratio(gmax, gmed);
        f[SF_GAP_MAX_POS] = (double)gmax_at / (k - 1);
        f[SF_GAP_MAX_RANGE] = gmax / range;
        double gini = 0, ent = 0;
        for (int i = 0; i < k; i++) {
            gini += (2.0 * (i + 1) - k - 1) * g[i];
            if (g[i] > 0) ent -= g[i] / gsum * log(g[i] / gsum);
        }
        f[SF_GAP_GINI] = gini / (k * gsum);
        f[SF_GAP_ENTROPY] = k > 1 ? ent / log((double)k) : NAN;
    }
    if (g != gbuf) free(g);
}

/* ---- patterns ---- */

static void price_patterns(const double *s, int n, screen_result *r) {
    for (int i = 0; i < n;) { /* runs of equal prices */
        int j = i + 1;
        while (j < n && s[j] - s[i] < CENT)
            j++;
        int len = j - i;
        r->identical_pairs += len * (len - 1) / 2;
        i = j;
    }
    /* Equal gaps / ratios between consecutive distinct prices (规律性差异). A run
     * of L bids has L-1 equal gaps. */
    int run = 0;
    for (int i = 0; i + 2 < n; i++) {
        double g1 = s[i + 1] - s[i], g2 = s[i + 2] - s[i + 1];
        if (g1 >= CENT && fabs(g1 - g2) < 2 * CENT) {
            run = run ? run + 1 : 3;
            if (run > r->progression_len) r->progression_len = run;
        } else {
            run = 0;
        }
    }
    run = 0;
    for (int i = 0; i + 2 < n; i++) {
        double g1 = s[i + 1] - s[i], g2 = s[i + 2] - s[i + 1];
        double expect = s[i + 1] * s[i + 1] / s[i];
        /* geometric but not also arithmetic (that is reported above) */
        if (g1 >= CENT && fabs(s[i + 2] - expect) < 2.2 * CENT && fabs(g1 - g2) >= 2 * CENT) {
            run = run ? run + 1 : 3;
            if (run > r->ratio_len) r->ratio_len = run;
        } else {
            run = 0;
        }
    }
}

/* ---- the tender ---- */

static int nonempty_id(const char *s) {
    return s && *s;
}

void screen_tender(const screen_bid *bids, int n, screen_result *r) {
    memset(r, 0, sizeof *r);
    for (int i = 0; i < SCREEN_NFEAT; i++)
        r->f[i] = NAN;
    r->n = n;
    double *f = r->f;
    f[SF_N] = n;
    if (n <= 0) return;
    f[SF_LOG_N] = log((double)n);
    double *s = xmalloc(sizeof(double) * (size_t)n);
    for (int i = 0; i < n; i++)
        s[i] = bids[i].value;
    sort_doubles(s, n);
    double mean = mean_of(s, n);
    f[SF_LOG_MEAN] = mean > 0 ? log(mean) : NAN;
    int round = 0;
    for (int i = 0; i < n; i++)
        round += fabs(s[i] / 100.0 - floor(s[i] / 100.0 + 0.5)) < 1e-7;
    f[SF_ROUND] = (double)round / n;
    double budget = 0;
    for (int i = 0; i < n && budget <= 0; i++)
        if (bids[i].budget > 0) budget = bids[i].budget;
    if (budget > 0) {
        f[SF_BBR_LOW] = s[0] / budget;
        f[SF_BBR_MEAN] = mean / budget;
    }
    if (n >= 2 && s[0] > 0) {
        double sd = sample_sd(s, n);
        f[SF_CV] = sd / mean;
        f[SF_SPD] = (s[n - 1] - s[0]) / s[0];
        f[SF_DIFFP] = (s[1] - s[0]) / s[0];
        int near = 0;
        for (int i = 1; i < n; i++)
            near += s[i] <= s[0] * 1.02;
        f[SF_NEAR2] = (double)near / (n - 1);
        if (n >= 3) {
            double gap = s[1] - s[0];
            f[SF_SKEW] = screen_skewness(s, n);
            f[SF_RD] = capped_ratio(gap, sample_sd(s + 1, n - 1));
            f[SF_RDNOR] = capped_ratio(gap, (s[n - 1] - s[0]) / (n - 1));
            f[SF_RDALT] = capped_ratio(gap, (s[n - 1] - s[1]) / (n - 2));
            f[SF_KS] = screen_ks_uniform(s, n);
            f[SF_ZLOW] = sd > 0 ? (mean - s[0]) / sd : NAN;
            double gmin = INFINITY, range = s[n - 1] - s[0];
            for (int i = 0; i + 1 < n; i++)
                if (s[i + 1] - s[i] < gmin) gmin = s[i + 1] - s[i];
            f[SF_GAPMIN] = range > 0 ? gmin / (range / (n - 1)) : NAN;
            subgroup_features(s, n, 3, f + SF_SUB_BASE);
        }
        if (n >= 4) {
            f[SF_KURT] = screen_kurtosis(s, n);
            subgroup_features(s, n, 4, f + SF_SUB_BASE + SCREEN_SUB_SCREENS * SCREEN_SUB_STATS);
        }
    }
    if (s[0] > 0) shape_features(s, n, f);
    price_patterns(s, n, r);
    free(s);
    r->named = 1;
    for (int i = 0; i < n; i++)
        r->named &= nonempty_id(bids[i].bidder_id);
    screen_find_traces(bids, n, r);
}

/* ---- the verdict ---- */

/* Appends "; item" to the reasons while it fits; reasons never hold commas. */
static void add_reason(screen_verdict *v, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void add_reason(screen_verdict *v, const char *fmt, ...) {
    char item[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(item, sizeof item, fmt, ap);
    va_end(ap);
    for (char *c = item; *c; c++)
        if (*c == ',' || *c == '"' || *c == ';' || *c == '\n' || *c == '\r') *c = ' ';
    size_t used = strlen(v->reasons), need = strlen(item) + (used ? 1 : 0);
    if (used + need + 1 > sizeof v->reasons) return;
    if (used) v->reasons[used++] = ';';
    memcpy(v->reasons + used, item, strlen(item) + 1);
}

/* Hard evidence (traces, regular price patterns) lifts the score to at least
 * this: the law deems such tenders collusive (视为串通) whatever the prices say. */
#define EVIDENCE_SCORE 0.95

void screen_finalize(const screen_model *mdl, const screen_result *r, const screen_bid *bids,
                     screen_verdict *v) {
    memset(v, 0, sizeof *v);
    v->price_score = NAN;
    double thr = mdl ? screen_model_threshold(mdl) : 0.5;
    int evidence = 0;
    if (r->n == 0) {
        add_reason(v, "no valid bids");
        return;
    }
    int idx[3], nexp = 0;
    double contrib[3];
    if (mdl && r->n >= screen_model_min_bids(mdl)) {
        v->price_score = screen_model_score_explain(mdl, r->f, 3, idx, contrib, &nexp);
        v->score = v->price_score;
    } else {
        add_reason(v, "price screens not applicable (n=%d)", r->n);
    }
    if (r->hits_total > 0) {
        const int *seen = r->kind_total;
        for (int k = 0; k < SCREEN_TRACE_KINDS; k++) {
            if (!seen[k]) continue;
            /* name the first pair of bidders (ids only: the shared value itself may be
             * personal data, e.g. a project manager's name) */
            char who[80] = "";
            for (int i = 0; i < r->nhits && bids; i++) {
                const screen_bid *a = &bids[r->hits[i].bid_a], *b = &bids[r->hits[i].bid_b];
                if (r->hits[i].kind != (screen_trace_kind)k) continue;
                if (a->bidder_id && *a->bidder_id && b->bidder_id && *b->bidder_id)
                    snprintf(who, sizeof who, " %.36s+%.36s", a->bidder_id, b->bidder_id);
                else
                    snprintf(who, sizeof who, " lines %ld+%ld", a->line, b->line);
                break;
            }
            add_reason(v, "same %s across bidders (%d%s) art.40%s", screen_trace_column(k), seen[k],
                       who, screen_trace_article(k) + 2);
        }
        evidence = 1;
    }
    if (r->mixed_docs) {
        add_reason(v, "bid document authored by another bidder art.40(5)");
        evidence = 1;
    }
    /* Price patterns are evidence only between NAMED bidders: in an anonymous file
     * two equal prices may be one bid recorded twice (the Swiss data hold such
     * repeats, and their tenders are less often collusive than the rest). */
    const char *unnamed = r->named ? "" : " (anonymous bids: not scored)";
    if (r->identical_pairs)
        add_reason(v, "identical prices (%d pairs) art.40(4)%s", r->identical_pairs, unnamed);
    if (r->progression_len)
        add_reason(v, "arithmetic progression of %d bids art.40(4)%s", r->progression_len, unnamed);
    if (r->ratio_len)
        add_reason(v, "fixed ratio between %d bids art.40(4)%s", r->ratio_len, unnamed);
    if (r->named && (r->identical_pairs || r->progression_len || r->ratio_len)) evidence = 1;
    if (!isnan(r->f[SF_BBR_LOW]) && r->f[SF_BBR_LOW] >= 0.98)
        add_reason(v, "lowest bid at %.1f%% of budget", 100 * r->f[SF_BBR_LOW]);
    for (int i = 0; i < nexp; i++)
        add_reason(v, "%s=%.4g(+%.2f)", screen_feature_name(idx[i]), r->f[idx[i]], contrib[i]);
    if (evidence && v->score < EVIDENCE_SCORE) v->score = EVIDENCE_SCORE;
    if (v->score < 0) v->score = 0;
    if (v->score > 1) v->score = 1;
    v->flag = v->score > thr || evidence;
}
