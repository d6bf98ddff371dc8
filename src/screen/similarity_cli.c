/* screen/similarity_cli: document similarity for one tender of the platform
 * (similarity_tender, read from the opened bids' stored plaintexts) and the
 * `isle similarity` command over files. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "screen/similarity.h"
#include "trade/trade.h"

#define TENDER_DOCS_PER_BID 32
#define TENDER_TEXT_BUDGET  (256u * 1024 * 1024) /* text kept for one tender's comparison */

/* Decode standard base64 (newlines tolerated); NULL when malformed. */
static unsigned char *b64_decode(const char *s, size_t slen, size_t *out_len) {
    size_t cap = slen / 4 * 3 + 4;
    unsigned char *out = malloc(cap);
    if (!out) return NULL;
    const char *end = NULL;
    if (sodium_base642bin(out, cap, s, slen, "\r\n", out_len, &end,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        end != s + slen) {
        free(out);
        return NULL;
    }
    return out;
}

static void add_text_col(sim_corpus *c, const char *t) {
    if (t && *t) sim_corpus_add_tender(c, t, strlen(t), NULL);
}

/* The tender's own text: title, qualification, description and notices. */
static int tender_text(db *d, int64_t tender_id, sim_corpus *c, err *e) {
    db_stmt *s =
        db_prepare(d, "SELECT title, qualification, description FROM tenders WHERE id = $1", e);
    if (!s) return -1;
    db_bind_int64(s, 1, tender_id);
    int rc = db_step(s);
    if (rc == DB_ROW)
        for (int i = 0; i < 3; i++)
            add_text_col(c, db_column_text(s, i));
    db_reset(s);
    if (rc == DB_ERROR) return err_internal(e, "读取招标项目失败");
    if (rc != DB_ROW) return err_notfound(e, "招标项目不存在");
    s = db_prepare(d, "SELECT body FROM tender_notices WHERE tender_id = $1 ORDER BY id", e);
    if (!s) return -1;
    db_bind_int64(s, 1, tender_id);
    while ((rc = db_step(s)) == DB_ROW)
        add_text_col(c, db_column_text(s, 0));
    db_reset(s);
    return rc == DB_ERROR ? err_internal(e, "读取招标公告失败") : 0;
}

/* Read a bid's stored plaintext (NULL when purged or unreadable: skipped). */
static json_t *load_plain(const char *dir, const char *sha) {
    if (!sha || strlen(sha) != 64 || strspn(sha, "0123456789abcdef") != 64) return NULL;
    char path[700];
    snprintf(path, sizeof(path), "%s/%s.plain", dir, sha);
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > (off_t)(48u << 20))
        return NULL;
    return json_load_file(path, 0, NULL);
}

int similarity_tender(db *d, int64_t tender_id, json_t **pairs, err *e) {
    *pairs = NULL;
    sim_corpus *c = sim_corpus_new();
    if (!c) return err_internal(e, "内存不足");
    if (tender_text(d, tender_id, c, e) != 0) {
        sim_corpus_free(c);
        return -1;
    }
    db_stmt *s = db_prepare(d,
                            "SELECT id, commitment_sha256 FROM bids WHERE tender_id = $1 "
                            "AND status = 'opened' ORDER BY id",
                            e);
    if (!s) {
        sim_corpus_free(c);
        return -1;
    }
    db_bind_int64(s, 1, tender_id);
    int64_t *ids = NULL;
    char(*shas)[65] = NULL;
    int n = 0, cap = 0, rc;
    while ((rc = db_step(s)) == DB_ROW && n < 2000) {
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            int64_t *ni = realloc(ids, sizeof(int64_t) * (size_t)cap);
            if (ni) ids = ni;
            char(*ns)[65] = realloc(shas, 65 * (size_t)cap);
            if (ns) shas = ns;
            if (!ni || !ns) break;
        }
        ids[n] = db_column_int64(s, 0);
        const char *h = db_column_text(s, 1);
        snprintf(shas[n], 65, "%s", h ? h : "");
        n++;
    }
    db_reset(s);
    if (rc == DB_ERROR) {
        free(ids);
        free(shas);
        sim_corpus_free(c);
        return err_internal(e, "读取投标失败");
    }
    char dir[512];
    if (n > 0 && trade_dir("bids", dir, sizeof(dir), e) != 0) {
        free(ids);
        free(shas);
        sim_corpus_free(c);
        return -1;
    }
    size_t total = 0;
    for (int i = 0; i < n; i++) {
        json_t *plain = load_plain(dir, shas[i]);
        json_t *docs = json_object_get(plain, "documents"), *doc;
        size_t k;
        int used = 0;
        if (json_is_array(docs)) json_array_foreach(docs, k, doc) {
                if (used >= TENDER_DOCS_PER_BID) break;
                const char *name = json_string_value(json_object_get(doc, "name"));
                const char *c64 = json_string_value(json_object_get(doc, "content_base64"));
                if (!name || !c64) continue;
                size_t bn = 0;
                unsigned char *bin = b64_decode(c64, strlen(c64), &bn);
                char *text = NULL;
                size_t tn = 0;
                err ee = {0};
                if (bin && total < TENDER_TEXT_BUDGET &&
                    sim_extract(bin, bn, &text, &tn, &ee) == 0 &&
                    (total += tn) <= TENDER_TEXT_BUDGET)
                    if (sim_corpus_add_text(c, name, ids[i], text, tn, &ee) >= 0) used++;
                free(bin);
                free(text);
            }
        json_decref(plain);
    }
    free(ids);
    free(shas);
    json_t *res = NULL;
    sim_opts o = {.threshold = 0.05, .max_pairs = 20, .max_passages = 5};
    if (sim_corpus_compare(c, &o, &res, e) != 0) {
        sim_corpus_free(c);
        return -1;
    }
    sim_corpus_free(c);
    json_t *out = json_array(), *p;
    size_t i;
    json_array_foreach(json_object_get(res, "pairs"), i, p) {
        json_t *q = json_pack(
            "{s:O,s:O,s:O,s:O,s:O,s:O,s:O,s:O}", "a_bid_id", json_object_get(p, "a_group"),
            "b_bid_id", json_object_get(p, "b_group"), "a_doc", json_object_get(p, "a_doc"),
            "b_doc", json_object_get(p, "b_doc"), "similarity", json_object_get(p, "similarity"),
            "jaccard", json_object_get(p, "jaccard"), "jaccard_est",
            json_object_get(p, "jaccard_est"), "passages", json_object_get(p, "passages"));
        if (q) json_array_append_new(out, q);
    }
    json_decref(res);
    *pairs = out;
    return 0;
}

/* ---- isle similarity ---- */

static int usage(void) {
    fprintf(stderr,
            "usage: isle similarity FILE... [--list FILE] [--tender-doc FILE]... [--json]\n"
            "                       [--threshold T] [--min-weight W] [--max-pairs N] [--lsh]\n");
    return 2;
}

/* One line of passage text: line breaks and tabs shown as spaces. */
static void put_line(const char *t) {
    for (; t && *t; t++)
        putchar(*t == '\n' || *t == '\r' || *t == '\t' ? ' ' : *t);
    putchar('\n');
}

/* Passages side by side: two columns when both fit the width, else one above the other. */
static void print_text(json_t *res) {
    json_t *pairs = json_object_get(res, "pairs"), *p;
    size_t i;
    printf("documents %lld, candidate pairs %lld (%s), verified %lld, reported %zu\n",
           (long long)json_integer_value(json_object_get(res, "documents")),
           (long long)json_integer_value(json_object_get(res, "candidates")),
           json_string_value(json_object_get(res, "mode")),
           (long long)json_integer_value(json_object_get(res, "verified")), json_array_size(pairs));
    json_array_foreach(pairs, i, p) {
        printf("\n[%zu] %s <-> %s  similarity %.4f  jaccard %.4f  estimate %.4f\n", i + 1,
               json_string_value(json_object_get(p, "a_doc")),
               json_string_value(json_object_get(p, "b_doc")),
               json_real_value(json_object_get(p, "similarity")),
               json_real_value(json_object_get(p, "jaccard")),
               json_real_value(json_object_get(p, "jaccard_est")));
        json_t *x;
        size_t k;
        json_array_foreach(json_object_get(p, "passages"), k, x) {
            printf("  passage %zu (%s, %lld characters, weight %.2f)\n", k + 1,
                   json_string_value(json_object_get(x, "kind")),
                   (long long)json_integer_value(json_object_get(x, "length")),
                   json_real_value(json_object_get(x, "weight")));
            printf("    A@%-8lld | ",
                   (long long)json_integer_value(json_object_get(x, "a_offset")));
            put_line(json_string_value(json_object_get(x, "a_text")));
            printf("    B@%-8lld | ",
                   (long long)json_integer_value(json_object_get(x, "b_offset")));
            put_line(json_string_value(json_object_get(x, "b_text")));
        }
    }
}

int similarity_cli(const cli_env *env, int argc, char **argv) {
    (void)env;
    int json = 0, failed = 0;
    sim_opts o = {0};
    char **files = calloc((size_t)argc + 1, sizeof(char *)),
         **tenders = calloc((size_t)argc + 1, sizeof(char *));
    const char *list = NULL;
    int nf = 0, nt = 0;
    if (!files || !tenders) return 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--json"))
            json = 1;
        else if (!strcmp(a, "--lsh"))
            o.all_pairs_max = -1;
        else if (!strcmp(a, "--min-weight") && i + 1 < argc) {
            char *end;
            o.min_weight = strtod(argv[++i], &end);
            if (*end || o.min_weight < 0) {
                fprintf(stderr, "isle similarity: --min-weight must be a number >= 0\n");
                free(files);
                free(tenders);
                return 2;
            }
            if (o.min_weight == 0) o.min_weight = -1; /* 0: report on similarity alone */
        } else if (!strcmp(a, "--tender-doc") && i + 1 < argc)
            tenders[nt++] = argv[++i];
        else if (!strcmp(a, "--list") && i + 1 < argc)
            list = argv[++i];
        else if (!strcmp(a, "--threshold") && i + 1 < argc) {
            char *end;
            o.threshold = strtod(argv[++i], &end);
            if (*end || o.threshold < 0 || o.threshold > 1) {
                fprintf(stderr, "isle similarity: --threshold must be a number in [0,1]\n");
                free(files);
                free(tenders);
                return 2;
            }
            if (o.threshold == 0) o.threshold = 1e-9;
        } else if (!strcmp(a, "--max-pairs") && i + 1 < argc) {
            char *end;
            long v = strtol(argv[++i], &end, 10);
            o.max_pairs = *end || v <= 0 || v > 100000 ? 0 : (int)v;
            if (o.max_pairs <= 0) {
                fprintf(stderr, "isle similarity: --max-pairs must be 1..100000\n");
                free(files);
                free(tenders);
                return 2;
            }
        } else if (a[0] == '-' && a[1] == '-') {
            free(files);
            free(tenders);
            return usage();
        } else
            files[nf++] = argv[i];
    }
    sim_corpus *c = sim_corpus_new();
    err e = {0};
    struct timespec t0, t1;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
    for (int i = 0; i < nt; i++) {
        char *t;
        size_t n;
        if (sim_extract_file(tenders[i], &t, &n, &e) != 0 ||
            sim_corpus_add_tender(c, t, n, &e) != 0) {
            fprintf(stderr, "isle similarity: %s: %s\n", tenders[i], e.message);
            failed = 1;
            if (t) free(t);
            continue;
        }
        free(t);
    }
    for (int i = 0; i < nf; i++)
        if (sim_corpus_add_file(c, files[i], 0, files[i], &e) < 0) {
            fprintf(stderr, "isle similarity: %s: %s\n", files[i], e.message);
            failed = 1;
        }
    if (list) {
        FILE *f = !strcmp(list, "-") ? stdin : fopen(list, "r");
        if (!f) {
            fprintf(stderr, "isle similarity: cannot open %s\n", list);
            failed = 1;
        } else {
            char line[4096];
            while (fgets(line, sizeof(line), f)) {
                line[strcspn(line, "\r\n")] = 0;
                if (!*line) continue;
                if (sim_corpus_add_file(c, line, 0, line, &e) < 0) {
                    fprintf(stderr, "isle similarity: %s: %s\n", line, e.message);
                    failed = 1;
                }
            }
            if (f != stdin) fclose(f);
        }
    }
    free(files);
    free(tenders);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
    if (getenv("ISLE_SIM_TIMING"))
        fprintf(stderr, "similarity: %-12s %8.3f s cpu\n", "load+sign",
                (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
    if (sim_corpus_count(c) < 2 && !failed) {
        sim_corpus_free(c);
        fprintf(stderr, "isle similarity: at least two documents are needed\n");
        return usage();
    }
    json_t *res = NULL;
    if (sim_corpus_compare(c, &o, &res, &e) != 0) {
        fprintf(stderr, "isle similarity: %s\n", e.message);
        sim_corpus_free(c);
        return 1;
    }
    sim_corpus_free(c);
    if (json) {
        char *s = json_dumps(res, JSON_COMPACT | JSON_REAL_PRECISION(6));
        if (s) puts(s);
        free(s);
    } else {
        print_text(res);
    }
    json_decref(res);
    return failed ? 1 : 0;
}
