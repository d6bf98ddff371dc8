/* screen_cli: `isle screen` — screen a bid file, train a model, cross-validate.
 *
 *   isle screen --bids FILE.csv [--model MODEL] [--out FILE.csv] [--skip-bad] [--groups FILE.csv]
 *   isle screen train --labelled FILE.csv --out MODEL [--label-col C] [training options]
 *   isle screen cv --labelled FILE.csv [--folds K] [--repeats R] [--eval-min-bids N] [options]
 *
 * Training options: --features LIST --trees N --depth N --rate R --min-leaf N --subsample S
 * --min-bids N --bags N --seed N, or --tune (depth/leaf/trees chosen by inner CV on the
 * training rows only). Cross-validation folds are by tender, and tenders that share an
 * identical bid value (the same tender recorded twice) always fall in the same fold.
 *   isle screen features --bids FILE.csv [--out FILE.csv]
 *
 * Exit status: 0 ok, 1 bad input or failure (message on stderr), 2 usage error.
 * The output has one row per tender in the order tenders first appear in the input.
 * Model features use the bid prices only; other columns feed traces, patterns and
 * networks. Never prints bid data to stderr beyond line numbers and ids. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/xmalloc.h"
#include "cli.h"
#include "screen/screen.h"

double screen_best_threshold(const double *p, const int *y, int n); /* model.c */

typedef struct opts {
    const char *bids, *model, *out, *groups, *labelled, *label_col;
    int skip_bad, folds, eval_min_bids, json, repeats;
    screen_train_opts train;
} opts;

static int usage_error(const char *msg) {
    fprintf(stderr,
            "isle screen: %s\n"
            "usage: isle screen --bids FILE.csv [--model MODEL] [--out FILE.csv] [--skip-bad] "
            "[--groups FILE.csv]\n"
            "       isle screen train --labelled FILE.csv --out MODEL [--label-col C] "
            "[--features LIST] [--tune] [--trees N] [--depth N] [--rate R] [--min-leaf N] "
            "[--min-bids N] [--repeats R]\n"
            "       isle screen cv --labelled FILE.csv [--folds K] [--repeats R] "
            "[--eval-min-bids N] [--json] [training options]\n"
            "       isle screen features --bids FILE.csv [--out FILE.csv]\n",
            msg);
    return 2;
}

static int parse_int(const char *s, int lo, int hi, int *out) {
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end || v < lo || v > hi) return -1;
    *out = (int)v;
    return 0;
}

static int parse_opts(int argc, char **argv, int first, opts *o) {
    for (int i = first; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int takes = 1;
        if (!strcmp(a, "--skip-bad"))
            o->skip_bad = 1, takes = 0;
        else if (!strcmp(a, "--json"))
            o->json = 1, takes = 0;
        else if (!strcmp(a, "--tune"))
            o->train.tune = 1, takes = 0;
        else if (!v)
            return usage_error("missing value after an option");
        else if (!strcmp(a, "--bids"))
            o->bids = v;
        else if (!strcmp(a, "--model"))
            o->model = v;
        else if (!strcmp(a, "--out"))
            o->out = v;
        else if (!strcmp(a, "--groups"))
            o->groups = v;
        else if (!strcmp(a, "--labelled"))
            o->labelled = v;
        else if (!strcmp(a, "--label-col"))
            o->label_col = v;
        else if (!strcmp(a, "--features"))
            o->train.features = v;
        else if (!strcmp(a, "--trees")) {
            if (parse_int(v, 1, 5000, &o->train.trees)) return usage_error("--trees: 1..5000");
        } else if (!strcmp(a, "--depth")) {
            if (parse_int(v, 1, 6, &o->train.depth)) return usage_error("--depth: 1..6");
        } else if (!strcmp(a, "--min-leaf")) {
            if (parse_int(v, 1, 10000, &o->train.min_leaf))
                return usage_error("--min-leaf: 1..10000");
        } else if (!strcmp(a, "--min-bids")) {
            if (parse_int(v, 2, 1000, &o->train.min_bids)) return usage_error("--min-bids: 2..");
        } else if (!strcmp(a, "--eval-min-bids")) {
            if (parse_int(v, 1, 1000, &o->eval_min_bids))
                return usage_error("--eval-min-bids: 1..");
        } else if (!strcmp(a, "--bags")) {
            if (parse_int(v, 1, 20, &o->train.bags)) return usage_error("--bags: 1..20");
        } else if (!strcmp(a, "--repeats")) {
            if (parse_int(v, 1, 20, &o->repeats)) return usage_error("--repeats: 1..20");
        } else if (!strcmp(a, "--folds")) {
            if (parse_int(v, 2, 20, &o->folds)) return usage_error("--folds: 2..20");
        } else if (!strcmp(a, "--seed")) {
            int s;
            if (parse_int(v, 1, 1 << 30, &s)) return usage_error("--seed: positive");
            o->train.seed = (unsigned)s;
        } else if (!strcmp(a, "--rate") || !strcmp(a, "--subsample")) {
            char *end;
            double d = strtod(v, &end);
            if (*end || !(d > 0 && d <= 1)) return usage_error("--rate/--subsample: (0,1]");
            if (a[2] == 'r')
                o->train.rate = d;
            else
                o->train.subsample = d;
        } else {
            char msg[128];
            snprintf(msg, sizeof msg, "unknown option %.60s", a);
            return usage_error(msg);
        }
        i += takes;
    }
    return 0;
}

static int fail(const err *e) {
    fprintf(stderr, "isle screen: %s\n", e->message);
    return 1;
}

static FILE *open_out(const char *path, err *e) {
    if (!path || !strcmp(path, "-")) return stdout;
    FILE *f = fopen(path, "w");
    if (!f) err_set(e, 500, "internal", "out", "%s: cannot write", path);
    return f;
}

static int close_out(FILE *f, const char *path, err *e) {
    int bad = ferror(f);
    if (f != stdout)
        bad |= fclose(f) != 0;
    else
        bad |= fflush(f) != 0;
    if (bad) return err_set(e, 500, "internal", "out", "%s: write error", path ? path : "stdout");
    return 0;
}

/* CSV field: quoted when it holds a comma, quote or newline. */
static void put_field(FILE *f, const char *s) {
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

/* Features of every tender of a labelled file: x (m x SCREEN_NFEAT), y. */
typedef struct valtender {
    double v;
    int t;
} valtender;

static int cmp_valtender(const void *a, const void *b) {
    const valtender *x = a, *y = b;
    return x->v != y->v ? (x->v > y->v) - (x->v < y->v) : (x->t > y->t) - (x->t < y->t);
}

static int uf_root(int *p, int i) {
    while (p[i] != i)
        i = p[i] = p[p[i]];
    return i;
}

/* grp[i]: the smallest tender index of i's group, where two tenders are grouped
 * when they share an identical bid value (transitively). */
static int *value_groups(screen_set *s, int n) {
    long nb = 0;
    for (int i = 0; i < n; i++) {
        const screen_bid *b;
        nb += screen_set_bids(s, i, &b);
    }
    valtender *vt = xmalloc(sizeof(valtender) * (size_t)(nb ? nb : 1));
    long k = 0;
    for (int i = 0; i < n; i++) {
        const screen_bid *b;
        int c = screen_set_bids(s, i, &b);
        for (int j = 0; j < c; j++)
            vt[k++] = (valtender){b[j].value, i};
    }
    qsort(vt, (size_t)nb, sizeof vt[0], cmp_valtender);
    int *p = xmalloc(sizeof(int) * (size_t)(n ? n : 1));
    for (int i = 0; i < n; i++)
        p[i] = i;
    for (long j = 1; j < nb; j++)
        if (vt[j].v == vt[j - 1].v) {
            int a = uf_root(p, vt[j].t), b = uf_root(p, vt[j - 1].t);
            if (a != b) p[a > b ? a : b] = a < b ? a : b;
        }
    for (int i = 0; i < n; i++)
        p[i] = uf_root(p, i);
    free(vt);
    return p;
}

static int load_labelled(const opts *o, double **x, int **y, int **nbids, int *m, err *e,
                         screen_result **res, int **grp) {
    screen_read_opts ro = {.skip_bad = o->skip_bad,
                           .label_col = o->label_col ? o->label_col : "tender_collusive"};
    screen_set *s = screen_set_read(o->labelled, &ro, stderr, e);
    if (!s) return -1;
    int n = screen_set_tenders(s);
    *x = xmalloc(sizeof(double) * SCREEN_NFEAT * (size_t)(n ? n : 1));
    *y = xmalloc(sizeof(int) * (size_t)(n ? n : 1));
    *nbids = xmalloc(sizeof(int) * (size_t)(n ? n : 1));
    if (res) *res = xmalloc(sizeof(screen_result) * (size_t)(n ? n : 1));
    screen_result r;
    for (int i = 0; i < n; i++) {
        const screen_bid *b;
        int k = screen_set_bids(s, i, &b);
        screen_tender(b, k, &r);
        if (res) (*res)[i] = r;
        memcpy(*x + (size_t)i * SCREEN_NFEAT, r.f, sizeof r.f);
        (*y)[i] = screen_set_label(s, i);
        (*nbids)[i] = k;
    }
    *m = n;
    if (grp) *grp = value_groups(s, n);
    screen_set_free(s);
    return 0;
}

typedef struct metrics {
    double auc, bacc, prec, rec;
    int n, pos;
} metrics;

static metrics evaluate(const double *p, const int *flag, const int *y, int n) {
    metrics r = {.n = n};
    int tp = 0, fp = 0, fn = 0, tn = 0;
    for (int i = 0; i < n; i++) {
        r.pos += y[i];
        if (flag[i])
            y[i] ? tp++ : fp++;
        else
            y[i] ? fn++ : tn++;
    }
    r.auc = screen_auc(p, y, n);
    double tpr = tp + fn ? (double)tp / (tp + fn) : NAN;
    double tnr = tn + fp ? (double)tn / (tn + fp) : NAN;
    r.bacc = (tpr + tnr) / 2;
    r.prec = tp + fp ? (double)tp / (tp + fp) : NAN;
    r.rec = tpr;
    return r;
}

static void print_metrics(const char *name, metrics r, double auc_sd, int json, int last) {
    if (json)
        printf("  \"%s\": {\"tenders\": %d, \"collusive\": %d, \"auc\": %.4f, "
               "\"balanced_accuracy\": %.4f, \"precision\": %.4f, \"recall\": %.4f, "
               "\"auc_sd\": %.4f}%s\n",
               name, r.n, r.pos, r.auc, r.bacc, r.prec, r.rec, auc_sd, last ? "" : ",");
    else
        printf("%-18s tenders=%d collusive=%d AUC=%.4f (sd %.4f) balanced_acc=%.4f "
               "precision=%.4f recall=%.4f\n",
               name, r.n, r.pos, r.auc, auc_sd, r.bacc, r.prec, r.rec);
}

typedef struct labelled {
    double *x;
    int *y, *nb, m;
    int *grp; /* group of tenders sharing a bid value: its first tender's index */
    screen_result *res;
} labelled;

static void labelled_free(labelled *d) {
    free(d->x), free(d->y), free(d->nb), free(d->res), free(d->grp);
}

/* K-fold cross-validation BY TENDER: each fold's model (with its own inner
 * calibration) and the logistic-regression baseline train on the same other
 * folds. out[0..1]: model and baseline over tenders with >= evmin bids;
 * out[2..3]: the same over tenders with >= 3 bids. */
static int cross_validate(const labelled *d, const screen_train_opts *t, int K, int evmin,
                          uint64_t seed, metrics out[4], err *e) {
    int m = d->m, sz = m ? m : 1;
    int trmin = t->min_bids ? t->min_bids : 3;
    int *fold = xmalloc(sizeof(int) * (size_t)sz);
    uint64_t st = seed;
    for (int i = 0; i < m; i++)
        fold[i] = i % K;
    for (int i = m - 1; i > 0; i--) { /* deterministic shuffle (LCG) */
        st = st * 6364136223846793005ULL + 1442695040888963407ULL;
        int j = (int)((st >> 33) % (uint64_t)(i + 1)), tmp = fold[i];
        fold[i] = fold[j];
        fold[j] = tmp;
    }
    /* tenders that share a bid value (the same tender recorded twice, or lots
     * priced together) go to their group's fold: no copy on both sides */
    for (int i = 0; i < m; i++)
        fold[i] = fold[d->grp[i]];
    double *pm = xmalloc(sizeof(double) * (size_t)sz), *pb = xmalloc(sizeof(double) * (size_t)sz);
    double *tp = xmalloc(sizeof(double) * (size_t)sz), *ins = xmalloc(sizeof(double) * (size_t)sz);
    double *xt = xmalloc(sizeof(double) * SCREEN_NFEAT * (size_t)sz);
    int *fm = xcalloc((size_t)sz, sizeof(int)), *fb = xcalloc((size_t)sz, sizeof(int));
    int *train = xmalloc(sizeof(int) * (size_t)sz), *test = xmalloc(sizeof(int) * (size_t)sz);
    int *yt = xmalloc(sizeof(int) * (size_t)sz), *ty = xmalloc(sizeof(int) * (size_t)sz);
    int rc = 0;
    for (int k = 0; k < K && !rc; k++) {
        int nt = 0, ntest = 0, nbt = 0;
        for (int i = 0; i < m; i++) {
            if (fold[i] == k) {
                test[ntest++] = i;
                continue;
            }
            memcpy(xt + (size_t)nt * SCREEN_NFEAT, d->x + (size_t)i * SCREEN_NFEAT,
                   sizeof(double) * SCREEN_NFEAT);
            yt[nt++] = d->y[i];
            if (d->nb[i] >= trmin) train[nbt++] = i;
        }
        screen_model *mdl = screen_model_train(xt, yt, nt, t, e);
        if (!mdl) {
            rc = -1;
            break;
        }
        for (int j = 0; j < ntest; j++) { /* the verdict `isle screen` would give */
            screen_verdict v;
            screen_finalize(mdl, &d->res[test[j]], NULL, &v);
            pm[test[j]] = v.score;
            fm[test[j]] = v.flag;
        }
        screen_model_free(mdl);
        /* baseline threshold: the best balanced accuracy on its own training rows */
        screen_baseline_lr(d->x, d->y, train, nbt, test, ntest, tp);
        screen_baseline_lr(d->x, d->y, train, nbt, train, nbt, ins);
        for (int j = 0; j < nbt; j++)
            ty[j] = d->y[train[j]];
        double bthr = screen_best_threshold(ins, ty, nbt);
        for (int j = 0; j < ntest; j++)
            pb[test[j]] = tp[j], fb[test[j]] = tp[j] > bthr;
    }
    for (int pass = 0; pass < 2 && !rc; pass++) {
        int lim = pass ? 3 : evmin, n = 0;
        for (int i = 0; i < m; i++) /* reuse buffers: xt as scores, train/test as flags */
            if (d->nb[i] >= lim && d->y[i] >= 0) {
                xt[n] = pm[i], tp[n] = pb[i], train[n] = fm[i], test[n] = fb[i];
                yt[n++] = d->y[i];
            }
        out[2 * pass] = evaluate(xt, train, yt, n);
        out[2 * pass + 1] = evaluate(tp, test, yt, n);
    }
    free(fold), free(pm), free(pb), free(tp), free(ins), free(xt), free(fm), free(fb);
    free(train), free(test), free(yt), free(ty);
    return rc;
}

static int load_data(const opts *o, labelled *d, err *e) {
    memset(d, 0, sizeof *d);
    return load_labelled(o, &d->x, &d->y, &d->nb, &d->m, e, &d->res, &d->grp);
}

/* Cross-validation repeated with R different fold splits (seeds 12345, 12346, ...):
 * out[] holds the means, sd[] the standard deviations of the AUCs of out[]. One split
 * moves the AUC by about +-0.01 on the Swiss data, so one figure is not enough. */
static int cv_repeated(const labelled *d, const screen_train_opts *t, int K, int evmin, int R,
                       metrics out[4], double sd[4], err *e) {
    metrics one[4];
    double s1[4] = {0}, s2[4] = {0};
    memset(out, 0, sizeof(metrics) * 4);
    for (int r = 0; r < R; r++) {
        if (cross_validate(d, t, K, evmin, 12345u + (uint64_t)r, one, e) != 0) return -1;
        for (int i = 0; i < 4; i++) {
            out[i].n = one[i].n, out[i].pos = one[i].pos;
            out[i].auc += one[i].auc / R, out[i].bacc += one[i].bacc / R;
            out[i].prec += one[i].prec / R, out[i].rec += one[i].rec / R;
            s1[i] += one[i].auc, s2[i] += one[i].auc * one[i].auc;
        }
    }
    for (int i = 0; i < 4; i++) {
        double v = R > 1 ? (s2[i] - s1[i] * s1[i] / R) / (R - 1) : 0;
        sd[i] = v > 0 ? sqrt(v) : 0;
    }
    return 0;
}

static int cmd_train(const opts *o) {
    if (!o->labelled || !o->out) return usage_error("train needs --labelled FILE and --out MODEL");
    err e = {0};
    labelled d;
    if (load_data(o, &d, &e) != 0) return fail(&e);
    screen_train_opts t = o->train;
    t.source = o->labelled;
    int K = o->folds ? o->folds : 5, evmin = o->eval_min_bids ? o->eval_min_bids : 4;
    metrics mt[4];
    double sd[4];
    screen_model *mdl = NULL;
    int rc = 0;
    if (cv_repeated(&d, &t, K, evmin, o->repeats ? o->repeats : 1, mt, sd, &e) != 0 ||
        !(mdl = screen_model_train(d.x, d.y, d.m, &t, &e))) {
        rc = fail(&e);
    } else {
        screen_model_set_cv(mdl, mt[0].auc, mt[0].bacc, K);
        if (screen_model_save(mdl, o->out, &e) != 0) {
            rc = fail(&e);
        } else {
            fprintf(stderr,
                    "isle screen: model written to %s (threshold %.4f; %d-fold CV over tenders "
                    "with >= %d bids: AUC %.4f, balanced accuracy %.4f)\n",
                    o->out, screen_model_threshold(mdl), K, evmin, mt[0].auc, mt[0].bacc);
        }
    }
    screen_model_free(mdl);
    labelled_free(&d);
    return rc;
}

static int cmd_cv(const opts *o) {
    if (!o->labelled) return usage_error("cv needs --labelled FILE");
    err e = {0};
    labelled d;
    if (load_data(o, &d, &e) != 0) return fail(&e);
    int K = o->folds ? o->folds : 5, evmin = o->eval_min_bids ? o->eval_min_bids : 4;
    metrics mt[4];
    double sd[4];
    int rc = 0, R = o->repeats ? o->repeats : 1;
    if (cv_repeated(&d, &o->train, K, evmin, R, mt, sd, &e) != 0) {
        rc = fail(&e);
    } else {
        char names[4][40];
        snprintf(names[0], sizeof names[0], "model_n%d", evmin);
        snprintf(names[1], sizeof names[1], "baseline_lr_n%d", evmin);
        snprintf(names[2], sizeof names[2], "model_n3");
        snprintf(names[3], sizeof names[3], "baseline_lr_n3");
        if (o->json) printf("{\n  \"folds\": %d,\n  \"repeats\": %d,\n", K, R);
        for (int i = 0; i < 4; i++)
            print_metrics(names[i], mt[i], sd[i], o->json, i == 3);
        if (o->json) printf("}\n");
    }
    labelled_free(&d);
    return rc;
}

static int cmd_features(const opts *o) {
    if (!o->bids) return usage_error("features needs --bids FILE");
    err e = {0};
    screen_read_opts ro = {.skip_bad = o->skip_bad, .label_col = o->label_col};
    screen_set *s = screen_set_read(o->bids, &ro, stderr, &e);
    if (!s) return fail(&e);
    FILE *f = open_out(o->out, &e);
    if (!f) {
        screen_set_free(s);
        return fail(&e);
    }
    fputs("tender_id", f);
    if (o->label_col) fputs(",label", f);
    for (int i = 0; i < SCREEN_NFEAT; i++)
        fprintf(f, ",%s", screen_feature_name(i));
    fputs(",identical_pairs,progression_len,ratio_len,trace_hits\n", f);
    screen_result r;
    for (int t = 0; t < screen_set_tenders(s); t++) {
        const screen_bid *b;
        int n = screen_set_bids(s, t, &b);
        screen_tender(b, n, &r);
        put_field(f, screen_set_tender_id(s, t));
        if (o->label_col) fprintf(f, ",%d", screen_set_label(s, t));
        for (int i = 0; i < SCREEN_NFEAT; i++)
            isnan(r.f[i]) ? fputs(",NA", f) : fprintf(f, ",%.6g", r.f[i]);
        fprintf(f, ",%d,%d,%d,%d\n", r.identical_pairs, r.progression_len, r.ratio_len,
                r.hits_total);
    }
    screen_set_free(s);
    return close_out(f, o->out, &e) ? fail(&e) : 0;
}

static int cmd_screen(const cli_env *env, const opts *o) {
    if (!o->bids) return usage_error("--bids FILE.csv is required");
    err e = {0};
    char dflt[1024];
    const char *mpath = o->model;
    if (!mpath) {
        snprintf(dflt, sizeof dflt, "%s/screen/model.json",
                 env && env->data_dir ? env->data_dir : "data");
        mpath = dflt;
    }
    screen_model *mdl = screen_model_load(mpath, &e);
    if (!mdl) return fail(&e);
    screen_read_opts ro = {.skip_bad = o->skip_bad};
    screen_set *s = screen_set_read(o->bids, &ro, stderr, &e);
    if (!s) {
        screen_model_free(mdl);
        return fail(&e);
    }
    int nt = screen_set_tenders(s);
    int *cross = xcalloc((size_t)(nt ? nt : 1), sizeof(int));
    int *grp = xcalloc((size_t)(nt ? nt : 1), sizeof(int));
    int rc = 0;
    if (screen_set_has_bidders(s)) screen_set_cross_patterns(s, cross);
    if (o->groups) {
        FILE *g = open_out(o->groups, &e);
        if (!g || screen_set_groups(s, g, grp, &e) != 0 || close_out(g, o->groups, &e) != 0)
            rc = fail(&e);
    }
    FILE *f = rc ? NULL : open_out(o->out, &e);
    if (!rc && !f) rc = fail(&e);
    if (!rc) {
        fputs("tender_id,score,flag,reasons\n", f);
        screen_result r;
        screen_verdict v;
        for (int t = 0; t < nt; t++) {
            const screen_bid *b;
            int n = screen_set_bids(s, t, &b);
            screen_tender(b, n, &r);
            screen_finalize(mdl, &r, b, &v);
            char extra[160] = "";
            if (cross[t])
                snprintf(extra, sizeof extra,
                         "price ratio between %d bidder pair(s) repeats "
                         "across tenders art.40(4)",
                         cross[t]);
            if (grp[t]) {
                size_t u = strlen(extra);
                snprintf(extra + u, sizeof extra - u, "%sbidder group G%d (rotation/cover bidding)",
                         u ? ";" : "", grp[t]);
            }
            if (cross[t]) {
                if (v.score < 0.95) v.score = 0.95;
                v.flag = 1;
            }
            put_field(f, screen_set_tender_id(s, t));
            fprintf(f, ",%.4f,%d,", v.score, v.flag);
            char reasons[700];
            snprintf(reasons, sizeof reasons, "%s%s%s", extra, *extra && *v.reasons ? ";" : "",
                     v.reasons);
            put_field(f, reasons);
            fputc('\n', f);
        }
        if (close_out(f, o->out, &e) != 0) rc = fail(&e);
    }
    if (screen_set_skipped(s))
        fprintf(stderr, "isle screen: %ld bad row(s) skipped\n", screen_set_skipped(s));
    free(cross);
    free(grp);
    screen_set_free(s);
    screen_model_free(mdl);
    return rc;
}

int screen_cli(const cli_env *env, int argc, char **argv) {
    opts o = {0};
    const char *sub = argc > 1 ? argv[1] : "";
    int first = 1;
    if (!strcmp(sub, "train") || !strcmp(sub, "cv") || !strcmp(sub, "features")) first = 2;
    if (parse_opts(argc, argv, first, &o) != 0) return 2;
    if (!strcmp(sub, "train")) return cmd_train(&o);
    if (!strcmp(sub, "cv")) return cmd_cv(&o);
    if (!strcmp(sub, "features")) return cmd_features(&o);
    if (argc > 1 && sub[0] != '-') return usage_error("unknown sub-command");
    return cmd_screen(env, &o);
}
