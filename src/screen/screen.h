/* screen: bid-rigging screening (防围串标) — the module contract.
 *
 * Three layers, usable without a database:
 *   1. screen_tender(): price screens of one tender (Imhof; Huber & Imhof 2019;
 *      Wallimann, Imhof & Huber 2022), the same screens over subgroups of 3 and 4
 *      bids, price patterns (identical prices, arithmetic / geometric progressions,
 *      bid-to-budget ratio) and electronic traces between bidders (招标投标法实施条例
 *      art. 40). A screen that needs more bids than the tender has is NaN ("not
 *      applicable"), never 0.
 *   2. screen_model_*: a gradient-boosted tree model over the price features,
 *      calibrated to a probability (Platt scaling on out-of-fold predictions), with a
 *      threshold and a per-tender explanation (path contributions).
 *   3. screen_set_*: a whole bid file (CSV, streamed into compact storage) screened
 *      tender by tender, plus cross-tender patterns and bidder networks.
 *
 * Everything is deterministic (fixed seeds, stable sorts). Model features are
 * computed from the bid prices alone; traces and patterns raise the score on top
 * of the model (see screen_finalize). */
#ifndef ISLE_SCREEN_H
#define ISLE_SCREEN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/err.h"
#include "cli.h"

/* ---- electronic traces ---- */

typedef enum {
    SCREEN_TRACE_IP,              /* same upload IP address */
    SCREEN_TRACE_MACHINE,         /* same machine fingerprint (MAC/CPU/disk) */
    SCREEN_TRACE_CA,              /* same CA certificate serial / key */
    SCREEN_TRACE_FILE_HASH,       /* identical bid file */
    SCREEN_TRACE_AUTHOR,          /* same document author/creator metadata */
    SCREEN_TRACE_DEPOSIT,         /* 保证金 from the same account */
    SCREEN_TRACE_PROJECT_MANAGER, /* same project manager */
    SCREEN_TRACE_KINDS
} screen_trace_kind;

/** CSV column name of a trace kind ("ip", "machine_id", ...). */
const char *screen_trace_column(screen_trace_kind k);

/** One bid as the engine sees it. Strings may be NULL or "" (unknown); they are
 *  borrowed for the duration of the call only. */
typedef struct screen_bid {
    double value;                          /* > 0 */
    double budget;                         /* tender budget / 最高限价; <= 0 unknown */
    const char *bidder_id;                 /* NULL: bidders are anonymous */
    const char *trace[SCREEN_TRACE_KINDS]; /* indexed by screen_trace_kind */
    int winner;                            /* 1 won, 0 lost, -1 unknown */
    long line;                             /* source line (CSV) or 0 */
} screen_bid;

/* ---- features ---- */

/* The feature vector: single-tender screens, subgroup summaries, budget ratios.
 * Names (screen_feature_name) are what model files list. */
enum {
    SF_N,        /* number of bids */
    SF_LOG_N,    /* ln n */
    SF_CV,       /* sample sd / mean (n >= 2) */
    SF_SPD,      /* (max - min) / min (n >= 2) */
    SF_DIFFP,    /* (b2 - b1) / b1 (n >= 2) */
    SF_SKEW,     /* adjusted Fisher-Pearson skewness G1 (n >= 3) */
    SF_KURT,     /* adjusted excess kurtosis G2 (n >= 4) */
    SF_RD,       /* (b2 - b1) / sd(b2..bn) (n >= 3) */
    SF_RDNOR,    /* (b2 - b1) / mean gap of all consecutive bids (n >= 3) */
    SF_RDALT,    /* (b2 - b1) / mean gap among losing bids (n >= 3) */
    SF_KS,       /* Kolmogorov-Smirnov distance to uniform on [b1, bn] (n >= 3) */
    SF_ZLOW,     /* (mean - b1) / sd (n >= 3) */
    SF_GAPMIN,   /* smallest consecutive gap / mean gap (n >= 3) */
    SF_NEAR2,    /* share of the other bids within 2% above the lowest (n >= 2) */
    SF_ROUND,    /* share of bids that are whole multiples of 100 */
    SF_LOG_MEAN, /* ln mean bid (price level; not used by the shipped model) */
    SF_SUB_BASE  /* subgroup features follow: size 3 then 4, screen, statistic */
};
#define SCREEN_SUB_SCREENS 6 /* cv spd diffp rd skew kurt */
#define SCREEN_SUB_STATS   4 /* mean median min max */
#define SF_BBR_LOW         (SF_SUB_BASE + 2 * SCREEN_SUB_SCREENS * SCREEN_SUB_STATS)
#define SF_BBR_MEAN        (SF_BBR_LOW + 1)
/* Shape of the whole sorted price vector, scale-free (n >= 3 unless noted). */
enum {
    SF_GAP1_MED = SF_BBR_MEAN + 1, /* first gap (b2 - b1) / median consecutive gap */
    SF_GAP_GINI,                   /* Gini coefficient of the consecutive gaps */
    SF_GAP_MAX_MED,                /* largest gap / median gap */
    SF_GAP_MAX_POS,                /* rank of the largest gap, 0 (after b1) .. 1 (before bn) */
    SF_GAP_ENTROPY,                /* entropy of the gaps / ln(n - 1): 1 = evenly spread */
    SF_GAP_MAX_RANGE,              /* largest gap / (bn - b1) */
    SF_CV_LOSERS,                  /* sd / mean of the losing bids b2..bn */
    SF_Z_LOSERS,                   /* (mean of losers - b1) / sd of losers */
    SF_NEAR1,                      /* share of the other bids within 1% above b1 (n >= 2) */
    SF_NEAR5,                      /* ... within 5% (n >= 2) */
    SF_TIGHT1,                     /* share of all bid pairs within 1% of each other (n >= 2) */
    SF_TIGHT3,                     /* ... within 3% (n >= 2) */
    SF_MED5,                       /* share of bids within 5% of the median */
    SF_MED10,                      /* ... within 10% */
    SF_CLUSTERS,                   /* groups of bids separated by gaps > 2% of b1, / n */
    SF_ROUND1000,                  /* share of bids that are multiples of 1,000 (n >= 1) */
    SF_ZEROS,                      /* mean trailing zeros of the price in cents / 8 (n >= 1) */
    SF_SD_LOG,                     /* sd of ln bids */
    SF_TOP_MED,                    /* bn / median */
    SF_MED_LOW,                    /* median / b1 */
    SF_EXT_END
};
#define SCREEN_NFEAT SF_EXT_END

/** Name of feature i ("cv", "s4_cv_min", ...), or NULL when out of range. */
const char *screen_feature_name(int i);
/** What feature i means, in Chinese for supervisors ("任意4家报价子组的变异系数（最小值）"). */
const char *screen_feature_text(int i);
/** Index of a feature by name, or -1. */
int screen_feature_index(const char *name);

/* Subgroup enumeration: all C(n,k) subsets up to this many bids; above, a
 * deterministic sample of SCREEN_SUB_SAMPLE subsets per size. */
#define SCREEN_SUB_FULL_MAX_N 12
#define SCREEN_SUB_SAMPLE     500

/* ---- results ---- */

#define SCREEN_MAX_HITS 16

typedef struct screen_trace_hit {
    screen_trace_kind kind;
    int bid_a, bid_b; /* indexes into the tender's bids */
} screen_trace_hit;

typedef struct screen_result {
    int n;                  /* bids screened */
    double f[SCREEN_NFEAT]; /* NaN = not applicable */
    int identical_pairs;    /* pairs of bids with the same price (to the cent) */
    int progression_len;    /* longest run of sorted bids with equal gaps (>= 3), else 0 */
    int ratio_len;          /* longest run of sorted bids with equal ratios (>= 3), else 0 */
    int nhits;              /* trace hits kept (<= SCREEN_MAX_HITS) */
    int hits_total;         /* trace hits found */
    int kind_total[SCREEN_TRACE_KINDS]; /* trace hits found per kind */
    screen_trace_hit hits[SCREEN_MAX_HITS];
    int mixed_docs; /* art. 40(5): a bid's author names another bidder */
    int named;      /* every bid names its bidder (patterns are then evidence) */
} screen_result;

/** Screen one tender: bids[0..n) (any order, n >= 0; n <= 100000). Never fails;
 *  features that need more bids are NaN. */
void screen_tender(const screen_bid *bids, int n, screen_result *out);

/** Trace hits between different bidders into r->hits / hits_total / mixed_docs
 *  (called by screen_tender). */
void screen_find_traces(const screen_bid *bids, int n, screen_result *r);

/** The article item a trace kind supports, e.g. "40(1)", and its wording. */
const char *screen_trace_article(screen_trace_kind k);
const char *screen_trace_article_text(screen_trace_kind k);

/* ---- statistics helpers (exported for tests) ---- */

/** Sample skewness G1 of x[0..n) (n >= 3, sd > 0), else NaN. */
double screen_skewness(const double *x, int n);
/** Sample excess kurtosis G2 of x[0..n) (n >= 4, sd > 0), else NaN. */
double screen_kurtosis(const double *x, int n);
/** KS distance of sorted x[0..n) to the uniform on [x0, x(n-1)] (n >= 3), else NaN. */
double screen_ks_uniform(const double *sorted, int n);

/* ---- model ---- */

typedef struct screen_model screen_model;

typedef struct screen_train_opts {
    int trees;            /* 0: default 200 */
    int depth;            /* 0: default 2 */
    double rate;          /* 0: default 0.03 */
    int min_leaf;         /* 0: default 40 */
    double subsample;     /* 0: default 0.8 */
    unsigned seed;        /* fixed default 7 */
    int bags;             /* boosted chains averaged (seeds seed, seed+1000, ...); 0: 1 */
    int calib_folds;      /* 0: default 5 */
    int min_bids;         /* tenders with fewer bids are not trained on; 0: default 3 */
    int tune;             /* 1: choose depth/min_leaf/trees by inner cross-validation */
    const char *features; /* comma list of feature names; NULL: the price features */
    const char *source;   /* data description stored in the model file */
} screen_train_opts;

/** Train a model on rows x[i*SCREEN_NFEAT..] with labels y[i] (0/1), i < m.
 *  Returns a new model (free with screen_model_free) or NULL with e filled. */
screen_model *screen_model_train(const double *x, const int *y, int m, const screen_train_opts *o,
                                 err *e);
/** Load a model file (JSON, format isle-screen-model version 1). */
screen_model *screen_model_load(const char *path, err *e);
/** Write the model as JSON. */
int screen_model_save(const screen_model *mdl, const char *path, err *e);
void screen_model_free(screen_model *mdl);
/** Calibrated probability of collusion for one feature vector. */
double screen_model_score(const screen_model *mdl, const double *f);
/** The model's decision threshold on the calibrated probability. */
double screen_model_threshold(const screen_model *mdl);
/** Fewest bids a tender needs for the model to apply (tenders trained on). */
int screen_model_min_bids(const screen_model *mdl);
/** Up to k features that pushed the score up most: idx[] feature indexes and
 *  contrib[] their contributions (log-odds). Returns how many were written. */
int screen_model_explain(const screen_model *mdl, const double *f, int k, int *idx,
                         double *contrib);
/** screen_model_score and screen_model_explain in one pass (*nout features). */
double screen_model_score_explain(const screen_model *mdl, const double *f, int k, int *idx,
                                  double *contrib, int *nout);
/** Store cross-validation figures in the model's metadata (written by save). */
void screen_model_set_cv(screen_model *mdl, double auc, double bacc, int folds);

/** Logistic regression baseline on {cv, spd, diffp, skew, kurt, rd, log_n}:
 *  train on rows train[], predict rows test[]; missing values take the training
 *  mean. Writes pred[j] for each test row. */
void screen_baseline_lr(const double *x, const int *y, const int *train, int ntrain,
                        const int *test, int ntest, double *pred);

/** ROC AUC of scores s[] against labels y[] (ties count one half), NaN if one class. */
double screen_auc(const double *s, const int *y, int m);

/* ---- the final tender verdict ---- */

typedef struct screen_verdict {
    double price_score; /* model probability, NaN when no model could apply */
    double score;       /* final score in [0,1] */
    int flag;
    char reasons[512]; /* semicolon-separated, no commas or quotes */
} screen_verdict;

/** Combine the model score with patterns and traces into the verdict. mdl may be
 *  NULL (then only patterns and traces score). */
void screen_finalize(const screen_model *mdl, const screen_result *r, const screen_bid *bids,
                     screen_verdict *v);

/* ---- bid files ---- */

typedef struct screen_set screen_set;

typedef struct screen_read_opts {
    int skip_bad;          /* skip malformed rows (reported on stderr) instead of failing */
    const char *label_col; /* also read this 0/1 tender label column (training) */
    long max_bids;         /* 0: default 5,000,000 */
} screen_read_opts;

/** Stream a CSV bid file (path "-" = stdin) into a set. NULL with e filled on a
 *  malformed row (without skip_bad) or an unusable file. Warnings go to warn. */
screen_set *screen_set_read(const char *path, const screen_read_opts *o, FILE *warn, err *e);
void screen_set_free(screen_set *s);
/** Number of tenders; tender i's id, bids (valid until the next call) and label. */
int screen_set_tenders(const screen_set *s);
const char *screen_set_tender_id(const screen_set *s, int i);
int screen_set_bids(screen_set *s, int i, const screen_bid **bids);
int screen_set_label(const screen_set *s, int i);
long screen_set_skipped(const screen_set *s);
/** True when the file had a bidder_id column. */
int screen_set_has_bidders(const screen_set *s);

/** Cross-tender pattern: pairs of bidders whose price ratio repeats across tenders
 *  (规律性差异). Marks tenders where it occurs: marks[i] counts such pairs. */
void screen_set_cross_patterns(screen_set *s, int *marks);

/** Bidder networks: co-bidding groups, winner rotation, cover bidding. Writes a CSV
 *  (group_id,members,tenders,wins,distinct_winners,rotation,cover_bidders,score,reasons)
 *  and marks each tender in tender_group[i] with a suspicious group id (1-based) or 0. */
int screen_set_groups(screen_set *s, FILE *out, int *tender_group, err *e);

/** `isle screen ...` (see screen_cli.c for the sub-commands). */
int screen_cli(const cli_env *env, int argc, char **argv);

#endif
