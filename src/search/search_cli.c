/* search/search_cli.c: `isle search`, for scripts, tests and benchmarks.
 *
 *   isle search [--limit N] [--json] [--items FILE] QUERY
 *   isle search --batch [--limit N] [--items FILE] [--stats] [--repeat N]
 *
 * The index is built from the catalog in the database (with the staff's
 * synonyms); when the database holds no items, or with --items, from an
 * items.jsonl file (default data/catalog/items.jsonl). --batch reads one query
 * per line and prints "query<TAB>code,code,…" per line. --stats prints to
 * stderr the index build time, the resident memory and the query latency
 * (mean, p50, p99, queries per second on one thread); --repeat runs the batch
 * that many times for the latency figures (output is printed once; the first
 * pass then only warms the caches and is not timed). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/timeutil.h"
#include "base/xmalloc.h"
#include "catalog/catalog.h"
#include "db/migrate.h"
#include "search/internal.h"

#define BATCH_MAX_QUERIES 100000
#define ITEMS_LINE_MAX    (256u * 1024u)

static int usage(void) {
    fprintf(stderr,
            "usage: isle search [--limit N] [--json] [--items FILE] QUERY\n"
            "       isle search --batch [--limit N] [--items FILE] [--stats] [--repeat N]\n");
    return 2;
}

static uint64_t put_ns; /* time spent in search_engine_put (for --stats) */

/* Wait for the loader; the count indexed, or -1 with e when an item was refused. */
static long finish_loader(search_loader *l, err *e) {
    long failed = 0;
    uint64_t ns = 0;
    long n = search_loader_finish(l, &failed, &ns, e);
    put_ns += ns;
    return failed ? -1 : n;
}

/* Index every line of an items.jsonl file. Returns the item count or -1. */
static long index_file(search_engine *s, const char *path, err *e) {
    FILE *f = fopen(path, "r");
    if (!f) {
        err_internal(e, "无法打开 %s：%s", path, strerror(errno));
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    long count = 0, lineno = 0;
    search_loader *l = search_loader_start(s, NULL, NULL);
    while ((n = getline(&line, &cap, f)) >= 0) {
        lineno++;
        if ((size_t)n > ITEMS_LINE_MAX) {
            err_invalid(e, "", "%s 第 %ld 行过长", path, lineno);
            count = -1;
            break;
        }
        if (n <= 1) continue;
        json_error_t je;
        json_t *item = json_loadb(line, (size_t)n, 0, &je);
        if (!item) {
            err_invalid(e, "", "%s 第 %ld 行不是 JSON：%s", path, lineno, je.text);
            count = -1;
            break;
        }
        search_loader_put(l, item);
        json_decref(item);
    }
    free(line);
    fclose(f);
    err le = {0};
    long indexed = finish_loader(l, &le);
    if (count < 0) return -1;
    if (indexed < 0) *e = le;
    return indexed;
}

static long rss_kib(void) {
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return -1;
    char line[256];
    long kb = -1;
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, "VmRSS:", 6) == 0) kb = strtol(line + 6, NULL, 10);
    fclose(f);
    return kb;
}

/* CPU time of the process (clock) or of the calling thread, in ns: on a shared
 * machine the wall clock measures the other load as much as isle. */
static uint64_t cpu_ns(clockid_t clock) {
    struct timespec ts;
    if (clock_gettime(clock, &ts) != 0) return 0;
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int parse_int(const char *s, long min, long max, long *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || end == s || v < min || v > max) return -1;
    *out = v;
    return 0;
}

int search_cli(const cli_env *env, int argc, char **argv) {
    long limit = SEARCH_DEFAULT_LIMIT, repeat = 1;
    int json = 0, batch = 0, stats = 0;
    const char *items = NULL, *query = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--json")) {
            json = 1;
        } else if (!strcmp(a, "--batch")) {
            batch = 1;
        } else if (!strcmp(a, "--stats")) {
            stats = 1;
        } else if (!strcmp(a, "--limit") && i + 1 < argc) {
            if (parse_int(argv[++i], 1, SEARCH_MAX_LIMIT, &limit) != 0) {
                fprintf(stderr, "isle: --limit must be 1..%d\n", SEARCH_MAX_LIMIT);
                return 2;
            }
        } else if (!strcmp(a, "--repeat") && i + 1 < argc) {
            if (parse_int(argv[++i], 1, 100000, &repeat) != 0) {
                fprintf(stderr, "isle: --repeat must be 1..100000\n");
                return 2;
            }
        } else if (!strcmp(a, "--items") && i + 1 < argc) {
            items = argv[++i];
        } else if (a[0] == '-' && a[1] == '-') {
            fprintf(stderr, "isle: unknown option %s\n", a);
            return usage();
        } else if (!query) {
            query = a;
        } else {
            return usage();
        }
    }
    if (batch == (query != NULL)) return usage();

    err e = {0};
    uint64_t t0 = time_mono_ns();
    search_engine *s;
    if (search_engine_open(env->data_dir, &s, &e) != 0) {
        fprintf(stderr, "isle: search: %s\n", e.message);
        return 1;
    }
    uint64_t t_lex = time_mono_ns();
    uint64_t cpu_lex = cpu_ns(CLOCK_PROCESS_CPUTIME_ID), cpu_main = cpu_ns(CLOCK_THREAD_CPUTIME_ID);
    long count = 0;
    if (!items) {
        db *d;
        if (db_open(env->db_path, &d, &e) != 0 || db_migrate(d, NULL, &e) != 0) {
            fprintf(stderr, "isle: search: %s\n", e.message);
            search_engine_free(s);
            return 1;
        }
        search_loader *l = search_loader_start(s, NULL, NULL);
        int walk = search_load_catalog(d, l, &e);
        err le = {0};
        if (finish_loader(l, &le) < 0 && walk == 0) {
            e = le;
            walk = -1;
        }
        if (walk != 0 || search_synonyms_reload(d, s, &e) != 0) {
            fprintf(stderr, "isle: search: %s\n", e.message);
            db_close(d);
            search_engine_free(s);
            return 1;
        }
        db_close(d);
        count = (long)search_engine_count(s);
    }
    static char fallback[1100];
    if (!items && count == 0) {
        snprintf(fallback, sizeof(fallback), "%s/catalog/items.jsonl", env->data_dir);
        items = fallback;
        if (!batch && !json)
            fprintf(stderr, "isle: search: the database has no items; using %s\n", items);
    }
    if (items) {
        count = index_file(s, items, &e);
        if (count < 0) {
            fprintf(stderr, "isle: search: %s\n", e.message);
            search_engine_free(s);
            return 1;
        }
    }
    uint64_t t_trim = time_mono_ns();
    search_engine_trim(s);
    uint64_t t_built = time_mono_ns();
    put_ns += t_built - t_trim;
    if (stats)
        fprintf(stderr,
                "index: %ld items; resources %.0f ms; index build %.0f ms (%.1f us/item), "
                "with reading and JSON decoding %.0f ms; RSS %ld MiB\n",
                count, (double)(t_lex - t0) / 1e6, (double)put_ns / 1e6,
                count ? (double)put_ns / 1e3 / (double)count : 0.0, (double)(t_built - t_lex) / 1e6,
                rss_kib() / 1024);
    if (stats)
        fprintf(stderr,
                "cpu: reading and index build %.0f ms of CPU (all threads; %.0f ms of it on the "
                "reading thread, which also trims)\n",
                (double)(cpu_ns(CLOCK_PROCESS_CPUTIME_ID) - cpu_lex) / 1e6,
                (double)(cpu_ns(CLOCK_THREAD_CPUTIME_ID) - cpu_main) / 1e6);

    search_result *res = search_result_new();
    int rc = 0;
    if (!batch) {
        search_request rq = {.q = query, .limit = (int)limit, .facets = json, .highlight = json};
        uint64_t q0 = time_mono_ns();
        if (search_run(s, &rq, res, &e) != 0) {
            fprintf(stderr, "isle: search: %s\n", e.message);
            rc = 1;
        } else if (json) {
            json_t *j = search_result_json(res, query, (double)(time_mono_ns() - q0) / 1e6);
            char *txt = json_dumps(j, JSON_COMPACT);
            printf("%s\n", txt);
            free(txt);
            json_decref(j);
        } else {
            for (int i = 0; i < res->nhits; i++)
                printf("%s\t%s\t%.3f\n", res->hits[i].code, res->hits[i].name, res->hits[i].score);
            if (res->nhits == 0) fprintf(stderr, "no items match\n");
        }
    } else {
        char **qs = NULL;
        size_t nq = 0, qcap = 0;
        char *line = NULL;
        size_t lcap = 0;
        ssize_t n;
        while ((n = getline(&line, &lcap, stdin)) >= 0 && nq < BATCH_MAX_QUERIES) {
            line[strcspn(line, "\r\n")] = '\0';
            if (nq == qcap) {
                qcap = qcap ? qcap * 2 : 256;
                qs = xrealloc(qs, qcap * sizeof(*qs));
            }
            qs[nq++] = xstrdup(line);
        }
        free(line);
        uint64_t *lat = xmalloc((nq * (size_t)repeat + 1) * sizeof(*lat));
        size_t nlat = 0;
        uint64_t qcpu = 0;
        /* With --repeat, the first pass warms the caches and is not timed. */
        for (long r = 0; r < repeat; r++)
            for (size_t i = 0; i < nq; i++) {
                search_request rq = {.q = qs[i], .limit = (int)limit};
                uint64_t q0 = time_mono_ns(), c0 = cpu_ns(CLOCK_THREAD_CPUTIME_ID);
                int ok = search_run(s, &rq, res, &e) == 0;
                if (r > 0 || repeat == 1) {
                    lat[nlat++] = time_mono_ns() - q0;
                    qcpu += cpu_ns(CLOCK_THREAD_CPUTIME_ID) - c0;
                }
                if (r) continue;
                fputs(qs[i], stdout);
                fputc('\t', stdout);
                for (int k = 0; ok && k < res->nhits; k++)
                    printf("%s%s", k ? "," : "", res->hits[k].code);
                fputc('\n', stdout);
            }
        if (stats && nlat) {
            uint64_t sum = 0;
            for (size_t i = 0; i < nlat; i++)
                sum += lat[i];
            qsort(lat, nlat, sizeof(*lat), cmp_u64);
            double mean = (double)sum / (double)nlat / 1e3;
            fprintf(stderr,
                    "queries: %zu runs; mean %.1f us, p50 %.1f us, p99 %.1f us, max %.1f us; "
                    "%.0f queries/s on one thread\n",
                    nlat, mean, (double)lat[nlat / 2] / 1e3, (double)lat[nlat * 99 / 100] / 1e3,
                    (double)lat[nlat - 1] / 1e3, 1e6 / mean);
            if (qcpu)
                fprintf(stderr, "cpu: queries %.1f us of CPU each; %.0f queries per CPU second\n",
                        (double)qcpu / (double)nlat / 1e3, (double)nlat * 1e9 / (double)qcpu);
        }
        free(lat);
        for (size_t i = 0; i < nq; i++)
            free(qs[i]);
        free(qs);
    }
    free(res);
    search_thread_cleanup();
    search_engine_free(s);
    return rc;
}
