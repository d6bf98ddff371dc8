/* assistant/assistant_cli.c: `isle ask`, the 智慧客服 on the command line.
 *
 *   isle ask [--json] [--item CODE] QUESTION
 *   isle ask --batch
 *
 * The search index is built from the catalog in the database (with the staff's
 * synonyms) or, when the database holds no items, from
 * data_dir/catalog/items.jsonl, exactly as `isle search` does; the items are
 * kept in memory for the answers. --json prints the API's object; plain output
 * is the answer, the link and the alternatives. --batch reads one question per
 * line and prints "question<TAB>intent<TAB>item<TAB>alternative,…<TAB>score"
 * per line, score being the best search hit's (for measuring intent and item
 * accuracy on a question set). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assistant/assistant.h"
#include "catalog/catalog.h"
#include "db/migrate.h"

#define BATCH_MAX_QUESTIONS 100000
#define ITEMS_LINE_MAX      (256u * 1024u)

static int usage(void) {
    fprintf(stderr, "usage: isle ask [--json] [--item CODE] QUESTION\n"
                    "       isle ask --batch    (one question per line on stdin)\n");
    return 2;
}

/* What the answers read items from: code → item (owned references). */
typedef struct loaded {
    search_engine *engine;
    assistant *assistant;
    json_t *items;
} loaded;

static int keep_item(void *ctx, json_t *item) {
    loaded *l = ctx;
    const char *code = json_string_value(json_object_get(item, "code"));
    err e = {0};
    if (!code || search_engine_put(l->engine, item, &e) != 0) return 0; /* not answerable */
    assistant_note_item(l->assistant, item);
    json_object_set(l->items, code, item);
    return 0;
}

static json_t *get_item(void *ctx, const char *code) {
    json_t *item = json_object_get(ctx, code);
    return item ? json_incref(item) : NULL;
}

static int load_file(loaded *l, const char *path, err *e) {
    FILE *f = fopen(path, "r");
    if (!f) return err_internal(e, "无法打开 %s：%s", path, strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    long lineno = 0;
    int rc = 0;
    while ((n = getline(&line, &cap, f)) >= 0) {
        lineno++;
        if ((size_t)n > ITEMS_LINE_MAX) {
            rc = err_invalid(e, "", "%s 第 %ld 行过长", path, lineno);
            break;
        }
        if (n <= 1) continue;
        json_error_t je;
        json_t *item = json_loadb(line, (size_t)n, 0, &je);
        if (!item) {
            rc = err_invalid(e, "", "%s 第 %ld 行不是 JSON：%s", path, lineno, je.text);
            break;
        }
        keep_item(l, item);
        json_decref(item);
    }
    free(line);
    fclose(f);
    return rc;
}

static int load(const cli_env *env, loaded *l, err *e) {
    if (search_engine_open(env->data_dir, &l->engine, e) != 0) return -1;
    if (assistant_open(env->data_dir, &l->assistant, e) != 0) return -1;
    l->items = json_object();
    db *d;
    if (db_open(env->db_path, &d, e) != 0) return -1;
    int rc = db_migrate(d, NULL, e);
    if (rc == 0) rc = catalog_for_each(d, keep_item, l, e);
    if (rc == 0) rc = search_synonyms_reload(d, l->engine, e);
    db_close(d);
    if (rc != 0) return -1;
    if (json_object_size(l->items) == 0) {
        char path[1100];
        snprintf(path, sizeof(path), "%s/catalog/items.jsonl", env->data_dir);
        if (load_file(l, path, e) != 0) return -1;
    }
    search_engine_trim(l->engine);
    return 0;
}

static void print_plain(json_t *a) {
    printf("%s\n", json_string_value(json_object_get(a, "answer")));
    const char *link = json_string_value(json_object_get(a, "link"));
    if (link) printf("办事指南：%s\n", link);
    json_t *alts = json_object_get(a, "alternatives");
    if (json_array_size(alts)) {
        printf("您可能还想找：\n");
        size_t i;
        json_t *v;
        json_array_foreach(alts, i, v)
            printf("  %s  %s\n", json_string_value(json_object_get(v, "code")),
                   json_string_value(json_object_get(v, "name")));
    }
    printf("（意图：%s）\n", json_string_value(json_object_get(a, "intent")));
}

static int batch(loaded *l) {
    char *line = NULL;
    size_t cap = 0;
    long count = 0;
    int rc = 0;
    while (count < BATCH_MAX_QUESTIONS && getline(&line, &cap, stdin) >= 0) {
        count++;
        line[strcspn(line, "\r\n")] = '\0';
        err e = {0};
        json_t *a = assistant_answer(l->assistant, l->engine, line, NULL, get_item, l->items, &e);
        if (!a) {
            fprintf(stderr, "isle: ask: line %ld: %s\n", count, e.message);
            printf("%s\t\t\t\n", line);
            rc = 1;
            continue;
        }
        const char *item = json_string_value(json_object_get(a, "item"));
        printf("%s\t%s\t%s\t", line, json_string_value(json_object_get(a, "intent")),
               item ? item : "");
        size_t i;
        json_t *v;
        json_array_foreach(json_object_get(a, "alternatives"), i, v)
            printf("%s%s", i ? "," : "", json_string_value(json_object_get(v, "code")));
        printf("\t%.3f\n", json_real_value(json_object_get(a, "score")));
        json_decref(a);
    }
    free(line);
    return rc;
}

int assistant_cli(const cli_env *env, int argc, char **argv) {
    int json = 0, is_batch = 0;
    const char *question = NULL, *item = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--json")) {
            json = 1;
        } else if (!strcmp(a, "--batch")) {
            is_batch = 1;
        } else if (!strcmp(a, "--item") && i + 1 < argc) {
            item = argv[++i];
        } else if (a[0] == '-' && a[1] == '-') {
            fprintf(stderr, "isle: unknown option %s\n", a);
            return usage();
        } else if (!question) {
            question = a;
        } else {
            return usage();
        }
    }
    if (is_batch == (question != NULL) || (is_batch && (json || item))) return usage();

    loaded l = {0};
    err e = {0};
    int rc = 0;
    if (load(env, &l, &e) != 0) {
        fprintf(stderr, "isle: ask: %s\n", e.message);
        rc = 1;
    } else if (is_batch) {
        rc = batch(&l);
    } else {
        json_t *a = assistant_answer(l.assistant, l.engine, question, item, get_item, l.items, &e);
        if (!a) {
            fprintf(stderr, "isle: ask: %s\n", e.message);
            rc = e.status == 400 ? 2 : 1;
        } else {
            if (json) {
                /* The API's formatting (src/http/response.c), so both print the same. */
                char *txt =
                    json_dumps(a, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12));
                printf("%s\n", txt);
                free(txt);
            } else {
                print_plain(a);
            }
            json_decref(a);
        }
    }
    json_decref(l.items);
    assistant_free(l.assistant);
    search_thread_cleanup();
    search_engine_free(l.engine);
    return rc;
}
