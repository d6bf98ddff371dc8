/* model: gradient-boosted trees over the screens, Platt-calibrated, explained.
 *
 * Training (Friedman's gradient boosting with Newton leaf values, logistic loss):
 * each feature is cut into at most MODEL_BINS quantile bins once; a node tries
 * every bin edge of every feature, sending missing values (NaN = screen not
 * applicable) left or right, whichever gains more. Rows are subsampled per tree
 * with a fixed seed, so the same data give the same model byte for byte.
 * Tuning (opts.tune): depth, leaf size, trees and rate come from a small grid, each
 * point scored by the AUC of its out-of-fold margins on the training rows only.
 * Calibration: the raw margins of out-of-fold models (calib_folds) are mapped to
 * probabilities by Platt scaling, and the threshold maximises balanced accuracy on
 * those out-of-fold probabilities (the data are 3/4 collusive, so 0.5 is wrong).
 * Explanation: path contributions (Saabas): each split credits its feature with
 * the change of the node value along the path of the tender, in log-odds.
 * Model file: JSON {"format":"isle-screen-model","version":1,...}; features are
 * listed by name so that a newer binary with more features still reads it. */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/xmalloc.h"
#include "screen/screen.h"

#define MODEL_BINS      32
#define MODEL_LAMBDA    1.0
#define MODEL_MAX_NODES 255

typedef struct node {
    int feat; /* feature index in the full vector; -1 leaf */
    double thr;
    int miss_left;
    int left, right;
    double value; /* log-odds contribution of this node (Newton step x rate) */
} node;

typedef struct tree {
    int nnodes;
    node *nodes;
} tree;

struct screen_model {
    int nfeat;
    int feat[SCREEN_NFEAT];
    double base;
    int ntrees;
    tree *trees;
    double platt_a, platt_b;
    double threshold;
    screen_train_opts opts;
    int trained_rows, positives;
    double cv_auc, cv_bacc;
    int cv_folds;
    char source[256];
};

static const int price_default[] = {SF_N,    SF_LOG_N, SF_CV,     SF_SPD,   SF_DIFFP,
                                    SF_SKEW, SF_KURT,  SF_RD,     SF_RDNOR, SF_RDALT,
                                    SF_KS,   SF_ZLOW,  SF_GAPMIN, SF_NEAR2, SF_ROUND};

static double sigmoid(double z) {
    return 1.0 / (1.0 + exp(-z));
}

/* ---- prediction ---- */

static double tree_predict(const tree *t, const double *f) {
    int i = 0;
    while (t->nodes[i].feat >= 0) {
        const node *nd = &t->nodes[i];
        double x = f[nd->feat];
        int left = isnan(x) ? nd->miss_left : x <= nd->thr;
        i = left ? nd->left : nd->right;
    }
    return t->nodes[i].value;
}

static double margin(const screen_model *m, const double *f) {
    double z = m->base;
    for (int t = 0; t < m->ntrees; t++)
        z += tree_predict(&m->trees[t], f);
    return z;
}

double screen_model_score(const screen_model *m, const double *f) {
    return sigmoid(m->platt_a * margin(m, f) + m->platt_b);
}

double screen_model_threshold(const screen_model *m) {
    return m->threshold;
}

int screen_model_min_bids(const screen_model *m) {
    return m->opts.min_bids > 0 ? m->opts.min_bids : 3;
}

void screen_model_set_cv(screen_model *m, double auc, double bacc, int folds) {
    m->cv_auc = auc;
    m->cv_bacc = bacc;
    m->cv_folds = folds;
}

int screen_model_explain(const screen_model *m, const double *f, int k, int *idx, double *contrib) {
    int n;
    screen_model_score_explain(m, f, k, idx, contrib, &n);
    return n;
}

double screen_model_score_explain(const screen_model *m, const double *f, int k, int *idx,
                                  double *contrib, int *nout) {
    double c[SCREEN_NFEAT] = {0}, z = m->base;
    for (int t = 0; t < m->ntrees; t++) {
        const tree *tr = &m->trees[t];
        int i = 0;
        while (tr->nodes[i].feat >= 0) {
            const node *nd = &tr->nodes[i];
            double x = f[nd->feat];
            int left = isnan(x) ? nd->miss_left : x <= nd->thr;
            int next = left ? nd->left : nd->right;
            c[nd->feat] += tr->nodes[next].value - nd->value;
            i = next;
        }
        z += tr->nodes[i].value;
    }
    int n = 0;
    for (int j = 0; j < k; j++) {
        int best = -1;
        for (int q = 0; q < SCREEN_NFEAT; q++) {
            int used = 0;
            for (int u = 0; u < n; u++)
                used |= idx[u] == q;
            if (!used && c[q] > 1e-9 && (best < 0 || c[q] > c[best])) best = q;
        }
        if (best < 0) break;
        idx[n] = best;
        contrib[n++] = c[best];
    }
    *nout = n;
    return sigmoid(m->platt_a * z + m->platt_b);
}

/* ---- training ---- */

typedef struct trainer {
    const double *x;
    int m, nf;
    const int *feat;             /* nf feature indexes */
    double (*edges)[MODEL_BINS]; /* per used feature: bin upper edges */
    int *nedges;
    uint8_t *bin; /* m x nf; 255 = missing */
    double *g, *h;
    int min_leaf;
    double rate;
} trainer;

static int cmp_dbl(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void make_bins(trainer *T, const int *rows, int nrows) {
    double *v = xmalloc(sizeof(double) * (size_t)(nrows ? nrows : 1));
    for (int j = 0; j < T->nf; j++) {
        int c = 0;
        for (int r = 0; r < nrows; r++) {
            double x = T->x[(size_t)rows[r] * SCREEN_NFEAT + T->feat[j]];
            if (!isnan(x)) v[c++] = x;
        }
        qsort(v, (size_t)c, sizeof(double), cmp_dbl);
        int ne = 0;
        for (int b = 1; b < MODEL_BINS && c > 0; b++) {
            double e = v[(size_t)((long)c * b / MODEL_BINS)];
            /* edge between two distinct values; skip repeats */
            if (ne == 0 || e > T->edges[j][ne - 1]) T->edges[j][ne++] = e;
        }
        if (ne > 0 && T->edges[j][ne - 1] >= v[c - 1]) ne--; /* last edge would split nothing */
        T->nedges[j] = ne;
        for (int r = 0; r < nrows; r++) {
            double x = T->x[(size_t)rows[r] * SCREEN_NFEAT + T->feat[j]];
            uint8_t b = 255;
            if (!isnan(x)) {
                int lo = 0, hi = ne; /* first edge >= x */
                while (lo < hi) {
                    int mid = (lo + hi) / 2;
                    if (T->edges[j][mid] >= x)
                        hi = mid;
                    else
                        lo = mid + 1;
                }
                b = (uint8_t)lo;
            }
            T->bin[(size_t)r * T->nf + j] = b;
        }
    }
    free(v);
}

typedef struct split {
    double gain;
    int j, edge, miss_left;
} split;

/* rows[] are positions into the trainer's row list (bin/g/h are indexed by them). */
static split best_split(const trainer *T, const int *rows, int n) {
    split best = {.gain = 0, .j = -1};
    double G = 0, H = 0;
    for (int i = 0; i < n; i++)
        G += T->g[rows[i]], H += T->h[rows[i]];
    double parent = G * G / (H + MODEL_LAMBDA);
    for (int j = 0; j < T->nf; j++) {
        int ne = T->nedges[j];
        if (ne == 0) continue;
        double hg[MODEL_BINS + 1] = {0}, hh[MODEL_BINS + 1] = {0}, mg = 0, mh = 0;
        int hc[MODEL_BINS + 1] = {0}, mc = 0;
        for (int i = 0; i < n; i++) {
            int r = rows[i];
            uint8_t b = T->bin[(size_t)r * T->nf + j];
            if (b == 255) {
                mg += T->g[r], mh += T->h[r], mc++;
            } else {
                hg[b] += T->g[r], hh[b] += T->h[r], hc[b]++;
            }
        }
        double gl = 0, hl = 0;
        int cl = 0;
        for (int e = 0; e < ne; e++) {
            gl += hg[e], hl += hh[e], cl += hc[e];
            for (int ml = 0; ml < 2; ml++) {
                double GL = gl + (ml ? mg : 0), HL = hl + (ml ? mh : 0);
                int CL = cl + (ml ? mc : 0);
                double GR = G - GL, HR = H - HL;
                int CR = n - CL;
                if (CL < T->min_leaf || CR < T->min_leaf) continue;
                double gain =
                    GL * GL / (HL + MODEL_LAMBDA) + GR * GR / (HR + MODEL_LAMBDA) - parent;
                if (gain > best.gain + 1e-12) best = (split){gain, j, e, ml};
            }
        }
    }
    return best;
}

static int grow(const trainer *T, tree *t, int *rows, int n, int depth) {
    int id = t->nnodes++;
    double G = 0, H = 0;
    for (int i = 0; i < n; i++)
        G += T->g[rows[i]], H += T->h[rows[i]];
    node nd = {.feat = -1, .value = -G / (H + MODEL_LAMBDA) * T->rate};
    split s = depth > 0 && n >= 2 * T->min_leaf ? best_split(T, rows, n) : (split){.j = -1};
    if (s.j >= 0) {
        /* partition rows in place: left first */
        int l = 0;
        for (int i = 0; i < n; i++) {
            uint8_t b = T->bin[(size_t)rows[i] * T->nf + s.j];
            int left = b == 255 ? s.miss_left : b <= s.edge;
            if (left) {
                int tmp = rows[l];
                rows[l++] = rows[i];
                rows[i] = tmp;
            }
        }
        nd.feat = T->feat[s.j];
        nd.thr = T->edges[s.j][s.edge];
        nd.miss_left = s.miss_left;
        t->nodes[id] = nd;
        int left = grow(T, t, rows, l, depth - 1);
        int right = grow(T, t, rows + l, n - l, depth - 1);
        t->nodes[id].left = left;
        t->nodes[id].right = right;
        return id;
    }
    t->nodes[id] = nd;
    return id;
}

static uint64_t mrng(uint64_t *st) {
    uint64_t z = (*st += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static void defaults(screen_train_opts *o) {
    /* shallow, slow and heavily regularised: on the Swiss data deeper trees only
     * memorise noise (depth 3 or more trees: no better in cross-validation) */
    if (o->trees <= 0) o->trees = 200;
    if (o->depth <= 0) o->depth = 2;
    if (o->depth > 6) o->depth = 6;
    if (o->rate <= 0) o->rate = 0.03;
    if (o->min_leaf <= 0) o->min_leaf = 40;
    if (o->subsample <= 0 || o->subsample > 1) o->subsample = 0.8;
    if (o->calib_folds <= 1) o->calib_folds = 5;
    if (o->min_bids <= 0) o->min_bids = 3;
    if (!o->seed) o->seed = 7;
    if (o->bags <= 0) o->bags = 1;
    if (o->bags > 20) o->bags = 20;
}

/* Boosted trees on rows[0..nrows) only (no calibration). */
static screen_model *fit_trees(const double *x, const int *y, const int *rows, int nrows,
                               const int *feat, int nf, const screen_train_opts *o) {
    screen_model *m = xcalloc(1, sizeof *m);
    m->nfeat = nf;
    memcpy(m->feat, feat, sizeof(int) * (size_t)nf);
    m->opts = *o;
    m->platt_a = 1;
    int pos = 0;
    for (int i = 0; i < nrows; i++)
        pos += y[rows[i]];
    double p0 = (pos + 1.0) / (nrows + 2.0);
    m->base = log(p0 / (1 - p0));
    m->trained_rows = nrows;
    m->positives = pos;
    /* min_leaf is for data the size of the Swiss set; small sets (and the folds of
     * small sets) would otherwise grow no split at all */
    int min_leaf = o->min_leaf, cap = (int)(nrows * o->subsample) / 20;
    if (min_leaf > cap) min_leaf = cap > 3 ? cap : 3;
    trainer T = {.m = nrows, .nf = nf, .feat = feat, .min_leaf = min_leaf, .rate = o->rate};
    /* the trainer indexes rows by position: gather x rows densely */
    double *xs = xmalloc(sizeof(double) * SCREEN_NFEAT * (size_t)(nrows ? nrows : 1));
    int *ident = xmalloc(sizeof(int) * (size_t)(nrows ? nrows : 1));
    for (int i = 0; i < nrows; i++) {
        memcpy(xs + (size_t)i * SCREEN_NFEAT, x + (size_t)rows[i] * SCREEN_NFEAT,
               sizeof(double) * SCREEN_NFEAT);
        ident[i] = i;
    }
    T.x = xs;
    T.edges = xmalloc(sizeof(double) * MODEL_BINS * (size_t)nf);
    T.nedges = xcalloc((size_t)nf, sizeof(int));
    T.bin = xmalloc((size_t)nrows * (size_t)nf + 1);
    T.g = xmalloc(sizeof(double) * (size_t)(nrows + 1));
    T.h = xmalloc(sizeof(double) * (size_t)(nrows + 1));
    make_bins(&T, ident, nrows);
    double *F = xmalloc(sizeof(double) * (size_t)(nrows + 1));
    for (int i = 0; i < nrows; i++)
        F[i] = m->base;
    int *sample = xmalloc(sizeof(int) * (size_t)(nrows + 1));
    uint64_t st = o->seed;
    m->trees = xcalloc((size_t)o->trees, sizeof(tree));
    int maxnodes = (1 << (o->depth + 1)) - 1;
    for (int t = 0; t < o->trees; t++) {
        int ns = 0;
        for (int i = 0; i < nrows; i++) {
            double p = sigmoid(F[i]);
            T.g[i] = p - y[rows[i]];
            T.h[i] = p * (1 - p) > 1e-6 ? p * (1 - p) : 1e-6;
            if ((double)(mrng(&st) >> 11) / 9007199254740992.0 < o->subsample) sample[ns++] = i;
        }
        tree *tr = &m->trees[m->ntrees++];
        tr->nodes = xcalloc((size_t)maxnodes, sizeof(node));
        grow(&T, tr, sample, ns, o->depth);
        for (int i = 0; i < nrows; i++)
            F[i] += tree_predict(tr, xs + (size_t)i * SCREEN_NFEAT);
    }
    free(F);
    free(sample);
    free(xs);
    free(ident);
    free(T.edges);
    free(T.nedges);
    free(T.bin);
    free(T.g);
    free(T.h);
    return m;
}

/* A bag of `bags` boosted chains with different seeds, merged into one model whose
 * trees carry 1/bags of their values (the average of the chains' margins). */
static screen_model *fit_bagged(const double *x, const int *y, const int *rows, int nrows,
                                const int *feat, int nf, const screen_train_opts *o, int bags) {
    screen_model *m = NULL;
    for (int b = 0; b < bags; b++) {
        screen_train_opts ob = *o;
        ob.seed = o->seed + 1000u * (unsigned)b;
        screen_model *one = fit_trees(x, y, rows, nrows, feat, nf, &ob);
        for (int t = 0; t < one->ntrees; t++)
            for (int i = 0; i < one->trees[t].nnodes; i++)
                one->trees[t].nodes[i].value /= bags;
        if (!m) {
            m = one;
            m->opts = *o;
            continue;
        }
        m->trees = xrealloc(m->trees, sizeof(tree) * (size_t)(m->ntrees + one->ntrees));
        memcpy(m->trees + m->ntrees, one->trees, sizeof(tree) * (size_t)one->ntrees);
        m->ntrees += one->ntrees;
        one->ntrees = 0;
        screen_model_free(one);
    }
    return m;
}

/* Platt scaling with Platt's smoothed targets (N+ + 1)/(N+ + 2) and 1/(N- + 2),
 * which keep a and b finite even when the margins separate the classes; Newton
 * steps halved until the loss decreases. */
static double platt_loss(const double *z, const double *t, int n, double A, double B) {
    double l = 0;
    for (int i = 0; i < n; i++) {
        double u = A * z[i] + B; /* log(1 + e^u) - t u, computed stably */
        l += (u > 0 ? u + log1p(exp(-u)) : log1p(exp(u))) - t[i] * u;
    }
    return l;
}

static void platt_fit(const double *z, const int *y, int n, double *a, double *b) {
    int P = 0;
    for (int i = 0; i < n; i++)
        P += y[i];
    double tp = (P + 1.0) / (P + 2.0), tn = 1.0 / (n - P + 2.0);
    double *t = xmalloc(sizeof(double) * (size_t)(n ? n : 1));
    for (int i = 0; i < n; i++)
        t[i] = y[i] ? tp : tn;
    double A = 1, B = 0, loss = platt_loss(z, t, n, A, B);
    for (int it = 0; it < 100; it++) {
        double ga = 0, gb = 0, haa = 1e-9, hab = 0, hbb = 1e-9;
        for (int i = 0; i < n; i++) {
            double p = sigmoid(A * z[i] + B), d = p - t[i], w = p * (1 - p);
            ga += d * z[i], gb += d;
            haa += w * z[i] * z[i], hab += w * z[i], hbb += w;
        }
        double det = haa * hbb - hab * hab;
        if (fabs(det) < 1e-15) break;
        double da = (hbb * ga - hab * gb) / det, db = (haa * gb - hab * ga) / det;
        double step = 1, nl = loss;
        for (int h = 0; h < 30; h++, step /= 2) {
            nl = platt_loss(z, t, n, A - step * da, B - step * db);
            if (nl < loss) break;
        }
        if (!(nl < loss)) break;
        A -= step * da, B -= step * db;
        if (loss - nl < 1e-12) break;
        loss = nl;
    }
    if (A < 0) { /* margins ranked backwards out of fold: noise, not signal */
        double mt = 0;
        for (int i = 0; i < n; i++)
            mt += t[i];
        mt /= n ? n : 1;
        A = 0, B = log(mt / (1 - mt));
    }
    free(t);
    *a = A, *b = B;
}

/* The threshold on p maximising balanced accuracy; flagged means p > threshold.
 * Candidates are midpoints between consecutive distinct scores. */
typedef struct scored {
    double p;
    int y;
} scored;

static int cmp_scored(const void *a, const void *b) {
    const scored *x = a, *y = b;
    return (x->p > y->p) - (x->p < y->p);
}

static double best_threshold(const double *p, const int *y, int n) {
    if (n == 0) return 0.5;
    scored *s = xmalloc(sizeof(scored) * (size_t)n);
    int P = 0;
    for (int i = 0; i < n; i++)
        s[i] = (scored){p[i], y[i]}, P += y[i];
    qsort(s, (size_t)n, sizeof(scored), cmp_scored);
    int N = n - P, posbelow = 0, negbelow = 0;
    double best = s[0].p - 1e-9, bestba = -1;
    for (int k = 0; k <= n; k++) {
        if (k > 0) s[k - 1].y ? posbelow++ : negbelow++;
        if (k > 0 && k < n && s[k].p == s[k - 1].p) continue;
        double tpr = P ? (double)(P - posbelow) / P : 0, tnr = N ? (double)negbelow / N : 0;
        double ba = (tpr + tnr) / 2;
        if (ba > bestba) {
            bestba = ba;
            best = k == 0 ? s[0].p - 1e-9 : k == n ? s[n - 1].p : (s[k - 1].p + s[k].p) / 2;
        }
    }
    free(s);
    return best;
}

static int parse_features(const char *list, int *feat, err *e) {
    if (!list) {
        int n = (int)(sizeof price_default / sizeof price_default[0]);
        memcpy(feat, price_default, sizeof price_default);
        for (int i = SF_SUB_BASE; i < SF_BBR_LOW; i++) /* no kurtosis in 3-bid subsets */
            if (strncmp(screen_feature_name(i), "s3_kurt", 7)) feat[n++] = i;
        return n;
    }
    int n = 0;
    const char *p = list;
    while (*p) {
        const char *c = strchr(p, ',');
        size_t len = c ? (size_t)(c - p) : strlen(p);
        char name[32];
        if (len == 0 || len >= sizeof name)
            return err_invalid(e, "features", "bad feature list"), -1;
        memcpy(name, p, len);
        name[len] = '\0';
        int k = screen_feature_index(name);
        if (k < 0) return err_invalid(e, "features", "unknown feature \"%s\"", name), -1;
        int dup = 0;
        for (int i = 0; i < n; i++)
            dup |= feat[i] == k;
        if (!dup) feat[n++] = k;
        p = c ? c + 1 : p + len;
    }
    if (n == 0) return err_invalid(e, "features", "empty feature list"), -1;
    return n;
}

/* Out-of-fold margins z[i] of rows[i] (fold[i] in 0..calib_folds); tr is scratch. */
static void oof_margins(const double *x, const int *y, const int *rows, int n, const int *fold,
                        const int *feat, int nf, const screen_train_opts *o, int *tr, double *z) {
    for (int k = 0; k < o->calib_folds; k++) {
        int nt = 0;
        for (int i = 0; i < n; i++)
            if (fold[i] != k) tr[nt++] = rows[i];
        screen_model *fm = fit_bagged(x, y, tr, nt, feat, nf, o, o->bags);
        for (int i = 0; i < n; i++)
            if (fold[i] == k) z[i] = margin(fm, x + (size_t)rows[i] * SCREEN_NFEAT);
        screen_model_free(fm);
    }
}

/* The grid `tune` searches (small on purpose: each point costs calib_folds fits). */
static const struct {
    int depth, min_leaf, trees;
    double rate;
} tune_grid[] = {
    {1, 40, 400, 0.03}, {2, 20, 200, 0.03}, {2, 40, 200, 0.03}, {2, 80, 200, 0.03},
    {2, 40, 500, 0.02}, {3, 40, 300, 0.02}, {3, 80, 300, 0.02}, {4, 80, 300, 0.02},
};

screen_model *screen_model_train(const double *x, const int *y, int m, const screen_train_opts *in,
                                 err *e) {
    screen_train_opts o = in ? *in : (screen_train_opts){0};
    defaults(&o);
    int feat[SCREEN_NFEAT];
    int nf = parse_features(o.features, feat, e);
    if (nf < 0) return NULL;
    int *rows = xmalloc(sizeof(int) * (size_t)(m ? m : 1));
    int n = 0, pos = 0;
    for (int i = 0; i < m; i++)
        if (x[(size_t)i * SCREEN_NFEAT + SF_N] >= o.min_bids && (y[i] == 0 || y[i] == 1))
            rows[n++] = i, pos += y[i];
    if (n < 4 * o.calib_folds || pos == 0 || pos == n) {
        free(rows);
        err_set(e, 422, "unprocessable", "labelled",
                "need both labels and at least %d tenders with >= %d bids (have %d)",
                4 * o.calib_folds, o.min_bids, n);
        return NULL;
    }
    /* out-of-fold margins for calibration */
    int *fold = xmalloc(sizeof(int) * (size_t)n);
    uint64_t st = (uint64_t)o.seed * 7919u + 1;
    for (int i = 0; i < n; i++)
        fold[i] = i % o.calib_folds;
    for (int i = n - 1; i > 0; i--) { /* Fisher-Yates */
        int j = (int)(mrng(&st) % (uint64_t)(i + 1)), t = fold[i];
        fold[i] = fold[j];
        fold[j] = t;
    }
    double *z = xmalloc(sizeof(double) * (size_t)n);
    int *yy = xmalloc(sizeof(int) * (size_t)n);
    int *tr = xmalloc(sizeof(int) * (size_t)n);
    for (int i = 0; i < n; i++)
        yy[i] = y[rows[i]];
    if (o.tune) {
        /* Nested choice: every grid point is scored by the AUC of its out-of-fold
         * margins on THESE training rows only; the winner's margins then calibrate. */
        double best = -1, *zt = xmalloc(sizeof(double) * (size_t)n);
        screen_train_opts chosen = o;
        for (size_t g = 0; g < sizeof tune_grid / sizeof tune_grid[0]; g++) {
            screen_train_opts og = o;
            og.depth = tune_grid[g].depth, og.min_leaf = tune_grid[g].min_leaf;
            og.trees = tune_grid[g].trees, og.rate = tune_grid[g].rate;
            oof_margins(x, y, rows, n, fold, feat, nf, &og, tr, zt);
            double a = screen_auc(zt, yy, n);
            if (a > best + 1e-9) {
                best = a, chosen = og;
                memcpy(z, zt, sizeof(double) * (size_t)n);
            }
        }
        free(zt);
        o = chosen;
    } else {
        oof_margins(x, y, rows, n, fold, feat, nf, &o, tr, z);
    }
    screen_model *mdl = fit_bagged(x, y, rows, n, feat, nf, &o, o.bags);
    platt_fit(z, yy, n, &mdl->platt_a, &mdl->platt_b);
    for (int i = 0; i < n; i++)
        z[i] = sigmoid(mdl->platt_a * z[i] + mdl->platt_b);
    mdl->threshold = best_threshold(z, yy, n);
    snprintf(mdl->source, sizeof mdl->source, "%s", o.source ? o.source : "");
    free(fold);
    free(z);
    free(yy);
    free(tr);
    free(rows);
    return mdl;
}

void screen_model_free(screen_model *m) {
    if (!m) return;
    for (int t = 0; t < m->ntrees; t++)
        free(m->trees[t].nodes);
    free(m->trees);
    free(m);
}

/* ---- file format ---- */

int screen_model_save(const screen_model *m, const char *path, err *e) {
    json_t *feats = json_array();
    for (int i = 0; i < m->nfeat; i++)
        json_array_append_new(feats, json_string(screen_feature_name(m->feat[i])));
    json_t *trees = json_array();
    for (int t = 0; t < m->ntrees; t++) {
        const tree *tr = &m->trees[t];
        json_t *f = json_array(), *th = json_array(), *ml = json_array(), *l = json_array(),
               *r = json_array(), *v = json_array();
        for (int i = 0; i < tr->nnodes; i++) {
            const node *nd = &tr->nodes[i];
            json_array_append_new(f,
                                  json_string(nd->feat >= 0 ? screen_feature_name(nd->feat) : ""));
            json_array_append_new(th, json_real(nd->feat >= 0 ? nd->thr : 0));
            json_array_append_new(ml, json_integer(nd->miss_left));
            json_array_append_new(l, json_integer(nd->feat >= 0 ? nd->left : -1));
            json_array_append_new(r, json_integer(nd->feat >= 0 ? nd->right : -1));
            json_array_append_new(v, json_real(nd->value));
        }
        json_array_append_new(trees,
                              json_pack("{s:o,s:o,s:o,s:o,s:o,s:o}", "feature", f, "threshold", th,
                                        "missing_left", ml, "left", l, "right", r, "value", v));
    }
    json_t *doc = json_pack(
        "{s:s,s:i,s:s,s:o,s:f,s:{s:s,s:f,s:f},s:f,s:{s:i,s:i,s:f,s:i,s:f,s:i,s:i,s:i,s:i,s:i,s:s},"
        "s:{s:i,s:f,s:f},s:o}",
        "format", "isle-screen-model", "version", 1, "kind", "gbt-logistic", "features", feats,
        "base", m->base, "calibration", "method", "platt", "a", m->platt_a, "b", m->platt_b,
        "threshold", m->threshold, "training", "trees", m->opts.trees, "depth", m->opts.depth,
        "rate", m->opts.rate, "min_leaf", m->opts.min_leaf, "subsample", m->opts.subsample, "seed",
        (int)m->opts.seed, "min_bids", m->opts.min_bids, "tuned", m->opts.tune ? 1 : 0, "tenders",
        m->trained_rows, "collusive", m->positives, "source", m->source, "cross_validation",
        "folds", m->cv_folds, "auc", isnan(m->cv_auc) ? 0 : m->cv_auc, "balanced_accuracy",
        isnan(m->cv_bacc) ? 0 : m->cv_bacc, "trees", trees);
    if (!doc) return err_internal(e, "model: cannot build JSON");
    int rc = json_dump_file(doc, path, JSON_INDENT(0) | JSON_COMPACT | JSON_REAL_PRECISION(10));
    json_decref(doc);
    if (rc != 0) return err_set(e, 500, "internal", "out", "%s: cannot write the model", path);
    return 0;
}

static int bad_model(err *e, const char *path, const char *what) {
    return err_set(e, 422, "unprocessable", "model", "%s: not a usable screening model (%s)", path,
                   what);
}

screen_model *screen_model_load(const char *path, err *e) {
    json_error_t je;
    json_t *doc = json_load_file(path, 0, &je);
    if (!doc) {
        err_set(e, 422, "unprocessable", "model", "%s: cannot read model (%s, line %d)", path,
                je.text, je.line);
        return NULL;
    }
    screen_model *m = xcalloc(1, sizeof *m);
    const char *fmt = json_string_value(json_object_get(doc, "format"));
    json_t *feats = json_object_get(doc, "features"), *trees = json_object_get(doc, "trees");
    json_t *cal = json_object_get(doc, "calibration");
    const char *what = NULL;
    if (!fmt || strcmp(fmt, "isle-screen-model"))
        what = "format is not isle-screen-model";
    else if (json_integer_value(json_object_get(doc, "version")) != 1)
        what = "unsupported version";
    else if (!json_is_array(feats) || !json_is_array(trees) || !json_is_object(cal))
        what = "features, trees or calibration missing";
    else if (json_array_size(trees) > 100000)
        what = "too many trees";
    if (!what) {
        size_t i;
        json_t *v;
        json_array_foreach(feats, i, v) {
            int k = json_is_string(v) ? screen_feature_index(json_string_value(v)) : -1;
            if (k < 0 || m->nfeat >= SCREEN_NFEAT) {
                what = "unknown feature";
                break;
            }
            m->feat[m->nfeat++] = k;
        }
    }
    if (!what) {
        m->base = json_number_value(json_object_get(doc, "base"));
        m->platt_a = json_number_value(json_object_get(cal, "a"));
        m->platt_b = json_number_value(json_object_get(cal, "b"));
        m->threshold = json_number_value(json_object_get(doc, "threshold"));
        m->opts.min_bids =
            (int)json_integer_value(json_object_get(json_object_get(doc, "training"), "min_bids"));
        m->trees = xcalloc(json_array_size(trees) + 1, sizeof(tree));
        size_t t;
        json_t *jt;
        json_array_foreach(trees, t, jt) {
            json_t *f = json_object_get(jt, "feature"), *th = json_object_get(jt, "threshold"),
                   *ml = json_object_get(jt, "missing_left"), *l = json_object_get(jt, "left"),
                   *r = json_object_get(jt, "right"), *v = json_object_get(jt, "value");
            size_t nn = json_array_size(f);
            if (nn == 0 || nn > MODEL_MAX_NODES || json_array_size(th) != nn ||
                json_array_size(ml) != nn || json_array_size(l) != nn || json_array_size(r) != nn ||
                json_array_size(v) != nn) {
                what = "malformed tree";
                break;
            }
            tree *tr = &m->trees[m->ntrees++];
            tr->nnodes = (int)nn;
            tr->nodes = xcalloc(nn, sizeof(node));
            for (size_t k = 0; k < nn && !what; k++) {
                node *nd = &tr->nodes[k];
                const char *name = json_string_value(json_array_get(f, k));
                nd->feat = name && *name ? screen_feature_index(name) : -1;
                nd->thr = json_number_value(json_array_get(th, k));
                nd->miss_left = (int)json_integer_value(json_array_get(ml, k));
                nd->left = (int)json_integer_value(json_array_get(l, k));
                nd->right = (int)json_integer_value(json_array_get(r, k));
                nd->value = json_number_value(json_array_get(v, k));
                if (name && *name && nd->feat < 0) what = "unknown feature in a tree";
                /* children must come later: guarantees termination */
                if (nd->feat >= 0 && (nd->left <= (int)k || nd->right <= (int)k ||
                                      nd->left >= (int)nn || nd->right >= (int)nn))
                    what = "bad child index";
            }
            if (what) break;
        }
    }
    json_decref(doc);
    if (what) {
        screen_model_free(m);
        bad_model(e, path, what);
        return NULL;
    }
    return m;
}

/* ---- evaluation helpers ---- */

double screen_auc(const double *s, const int *y, int m) {
    long P = 0, N = 0;
    for (int i = 0; i < m; i++)
        y[i] ? P++ : N++;
    if (!P || !N) return NAN;
    double acc = 0;
    /* O(m^2) is fine for evaluation sizes; exact tie handling */
    for (int i = 0; i < m; i++) {
        if (!y[i]) continue;
        for (int j = 0; j < m; j++) {
            if (y[j]) continue;
            acc += s[i] > s[j] ? 1 : s[i] == s[j] ? 0.5 : 0;
        }
    }
    return acc / ((double)P * N);
}

#define LR_NF 7
static const int lr_feat[LR_NF] = {SF_CV, SF_SPD, SF_DIFFP, SF_SKEW, SF_KURT, SF_RD, SF_LOG_N};

/* Solve A w = b (k x k) by Gaussian elimination with partial pivoting. */
static void solve(double *A, double *b, int k) {
    for (int c = 0; c < k; c++) {
        int p = c;
        for (int r = c + 1; r < k; r++)
            if (fabs(A[r * k + c]) > fabs(A[p * k + c])) p = r;
        for (int q = 0; q < k; q++) {
            double t = A[c * k + q];
            A[c * k + q] = A[p * k + q];
            A[p * k + q] = t;
        }
        double t = b[c];
        b[c] = b[p];
        b[p] = t;
        if (fabs(A[c * k + c]) < 1e-15) continue;
        for (int r = 0; r < k; r++) {
            if (r == c) continue;
            double f = A[r * k + c] / A[c * k + c];
            for (int q = c; q < k; q++)
                A[r * k + q] -= f * A[c * k + q];
            b[r] -= f * b[c];
        }
    }
    for (int c = 0; c < k; c++)
        b[c] = fabs(A[c * k + c]) < 1e-15 ? 0 : b[c] / A[c * k + c];
}

void screen_baseline_lr(const double *x, const int *y, const int *train, int ntrain,
                        const int *test, int ntest, double *pred) {
    enum { K = LR_NF + 1 };
    double mu[LR_NF] = {0}, sd[LR_NF] = {0};
    for (int j = 0; j < LR_NF; j++) {
        int c = 0;
        for (int i = 0; i < ntrain; i++) {
            double v = x[(size_t)train[i] * SCREEN_NFEAT + lr_feat[j]];
            if (!isnan(v)) mu[j] += v, c++;
        }
        mu[j] = c ? mu[j] / c : 0;
        for (int i = 0; i < ntrain; i++) {
            double v = x[(size_t)train[i] * SCREEN_NFEAT + lr_feat[j]];
            if (!isnan(v)) sd[j] += (v - mu[j]) * (v - mu[j]);
        }
        sd[j] = c > 1 ? sqrt(sd[j] / (c - 1)) : 1;
        if (sd[j] <= 0) sd[j] = 1;
    }
#define ROWV(r, j)                                                                                 \
    (isnan(x[(size_t)(r)*SCREEN_NFEAT + lr_feat[j]])                                               \
         ? 0                                                                                       \
         : (x[(size_t)(r)*SCREEN_NFEAT + lr_feat[j]] - mu[j]) / sd[j])
    double w[K] = {0};
    for (int it = 0; it < 30; it++) { /* IRLS with a small ridge */
        double A[K * K] = {0}, g[K] = {0};
        for (int i = 0; i < ntrain; i++) {
            double v[K];
            v[0] = 1;
            for (int j = 0; j < LR_NF; j++)
                v[j + 1] = ROWV(train[i], j);
            double z = 0;
            for (int q = 0; q < K; q++)
                z += w[q] * v[q];
            double p = sigmoid(z), wt = p * (1 - p);
            for (int a = 0; a < K; a++) {
                g[a] += (p - y[train[i]]) * v[a];
                for (int b = 0; b < K; b++)
                    A[a * K + b] += wt * v[a] * v[b];
            }
        }
        for (int a = 1; a < K; a++)
            A[a * K + a] += 1e-3, g[a] += 1e-3 * w[a];
        A[0] += 1e-9;
        solve(A, g, K);
        double step = 0;
        for (int q = 0; q < K; q++)
            w[q] -= g[q], step += fabs(g[q]);
        if (step < 1e-9) break;
    }
    for (int i = 0; i < ntest; i++) {
        double z = w[0];
        for (int j = 0; j < LR_NF; j++)
            z += w[j + 1] * ROWV(test[i], j);
        pred[i] = sigmoid(z);
    }
#undef ROWV
}

/* Exported for the CLI's cross-validation (threshold for the baseline). */
double screen_best_threshold(const double *p, const int *y, int n);
double screen_best_threshold(const double *p, const int *y, int n) {
    return best_threshold(p, y, n);
}
