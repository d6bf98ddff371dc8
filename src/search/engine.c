/* search/engine.c: creating an engine and its synonyms (俗称).
 *
 * Synonyms are applied to queries, not to the index: a query containing a
 * synonym's term (or typing its pinyin or initials, "sbk" for 社保卡) also
 * searches the canonical wording. So adding or deleting a synonym takes effect
 * at once and never re-indexes an item. The shipped list is
 * data/search/synonyms.tsv ("term<TAB>canonical"); staff add more in the
 * database (global.c) and search_engine_set_synonyms() merges both. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xmalloc.h"
#include "search/internal.h"

#define SYN_FILE_MAX_BYTES (4u * 1024u * 1024u)

static int load_synonym_file(search_engine *s, const char *path, err *e) {
    FILE *f = fopen(path, "r");
    if (!f) return err_internal(e, "无法读取同义词文件 %s：%s", path, strerror(errno));
    char line[512];
    int lineno = 0;
    size_t cap = 0, bytes = 0;
    while (fgets(line, sizeof(line), f)) {
        lineno++;
        bytes += strlen(line);
        if (bytes > SYN_FILE_MAX_BYTES || s->nfile_syn >= SEARCH_MAX_SYNONYMS) {
            fclose(f);
            return err_internal(e, "同义词文件过大：%s", path);
        }
        line[strcspn(line, "\r\n")] = '\0';
        if (!line[0] || line[0] == '#') continue;
        char *tab = strchr(line, '\t');
        if (!tab || !tab[1] || tab == line || strlen(line) > 2 * SEARCH_SYNONYM_MAX) {
            fclose(f);
            return err_internal(e, "%s 第 %d 行应为“俗称<TAB>规范名称”", path, lineno);
        }
        *tab = '\0';
        char term[SEARCH_SYNONYM_MAX * 2], canon[SEARCH_SYNONYM_MAX * 2];
        lex_normalize(s->lex, line, strlen(line), term, sizeof(term));
        lex_normalize(s->lex, tab + 1, strlen(tab + 1), canon, sizeof(canon));
        if (!term[0] || !canon[0] || !strcmp(term, canon)) continue;
        if (s->nfile_syn == cap) {
            cap = cap ? cap * 2 : 256;
            s->file_syn = xrealloc(s->file_syn, cap * sizeof(*s->file_syn));
        }
        s->file_syn[s->nfile_syn].term = xstrdup(term);
        s->file_syn[s->nfile_syn].canonical = xstrdup(canon);
        s->file_syn[s->nfile_syn].id = 0;
        s->nfile_syn++;
    }
    fclose(f);
    return 0;
}

/* Every reading combination (≤ SEARCH_MAX_COMBOS) of term's full pinyin and
 * initials, registered in syn_pinyin as "f…" and "i…". */
static void index_synonym_pinyin(search_engine *s, const char *term, uint32_t idx) {
    uint32_t cps[SEARCH_SYNONYM_MAX];
    size_t n = 0, i = 0, len = strlen(term);
    while (i < len && n < SEARCH_SYNONYM_MAX) {
        uint32_t cp = su_next(term, len, &i);
        if (cp != ' ') cps[n++] = cp;
    }
    if (n < 2) return;
    int nopt[SEARCH_SYNONYM_MAX], pick[SEARCH_SYNONYM_MAX];
    const uint16_t *ids[SEARCH_SYNONYM_MAX];
    for (size_t k = 0; k < n; k++) {
        pick[k] = 0;
        if (cps[k] < 0x80) {
            nopt[k] = 1;
            ids[k] = NULL;
            continue;
        }
        size_t r = lex_readings(s->lex, cps[k], &ids[k]);
        if (r == 0) return;
        nopt[k] = (int)(r < 2 ? r : 2);
    }
    for (int combo = 0; combo < SEARCH_MAX_COMBOS; combo++) {
        char full[1 + 6 * SEARCH_SYNONYM_MAX + 1], ini[1 + SEARCH_SYNONYM_MAX + 1];
        size_t fn = 1, in = 1;
        full[0] = 'f';
        ini[0] = 'i';
        for (size_t k = 0; k < n; k++) {
            if (!ids[k]) {
                full[fn++] = (char)cps[k];
                ini[in++] = (char)cps[k];
                continue;
            }
            const char *syl = s->lex->syllable[ids[k][pick[k]]];
            size_t sl = strlen(syl);
            memcpy(full + fn, syl, sl);
            fn += sl;
            ini[in++] = syl[0];
        }
        smulti_add(&s->syn_pinyin, full, fn, idx);
        smulti_add(&s->syn_pinyin, ini, in, idx);
        size_t k = n;
        while (k-- > 0) {
            if (++pick[k] < nopt[k]) break;
            pick[k] = 0;
        }
        if (k == (size_t)-1) break;
    }
}

static void rebuild_synonym_maps(search_engine *s) {
    smulti_free(&s->syn_text);
    smulti_free(&s->syn_pinyin);
    smulti_init(&s->syn_text);
    smulti_init(&s->syn_pinyin);
    s->syn_max_chars = 0;
    for (size_t i = 0; i < s->nsyn; i++) {
        const char *t = s->syn[i].term;
        size_t len = strlen(t), chars = 0, k = 0;
        while (k < len) {
            su_next(t, len, &k);
            chars++;
        }
        if (chars > s->syn_max_chars) s->syn_max_chars = chars;
        smulti_add(&s->syn_text, t, len, (uint32_t)i);
        index_synonym_pinyin(s, t, (uint32_t)i);
    }
}

void search_engine_set_synonyms(search_engine *s, const search_synonym_in *extra, size_t n) {
    pthread_rwlock_wrlock(&s->lock);
    for (size_t i = 0; i < s->nsyn; i++) {
        free(s->syn[i].term);
        free(s->syn[i].canonical);
    }
    free(s->syn);
    if (n > SEARCH_MAX_SYNONYMS) n = SEARCH_MAX_SYNONYMS;
    s->syn = xcalloc(s->nfile_syn + n + 1, sizeof(*s->syn));
    s->nsyn = 0;
    for (size_t i = 0; i < s->nfile_syn; i++) {
        s->syn[s->nsyn].term = xstrdup(s->file_syn[i].term);
        s->syn[s->nsyn].canonical = xstrdup(s->file_syn[i].canonical);
        s->nsyn++;
    }
    for (size_t i = 0; i < n; i++) {
        char term[SEARCH_SYNONYM_MAX * 2], canon[SEARCH_SYNONYM_MAX * 2];
        if (!extra[i].term || !extra[i].canonical) continue;
        lex_normalize(s->lex, extra[i].term, strnlen(extra[i].term, SEARCH_SYNONYM_MAX), term,
                      sizeof(term));
        lex_normalize(s->lex, extra[i].canonical, strnlen(extra[i].canonical, SEARCH_SYNONYM_MAX),
                      canon, sizeof(canon));
        if (!term[0] || !canon[0] || !strcmp(term, canon)) continue;
        s->syn[s->nsyn].term = xstrdup(term);
        s->syn[s->nsyn].canonical = xstrdup(canon);
        s->syn[s->nsyn].id = extra[i].id;
        s->nsyn++;
    }
    rebuild_synonym_maps(s);
    s->generation++;
    pthread_rwlock_unlock(&s->lock);
}

int search_engine_open(const char *data_dir, search_engine **out, err *e) {
    search_engine *s = xcalloc(1, sizeof(*s));
    pthread_rwlock_init(&s->lock, NULL);
    smulti_init(&s->syn_text);
    smulti_init(&s->syn_pinyin);
    shash_init(&s->terms, 1 << 16);
    shash_init(&s->codes, 1024);
    shash_init(&s->interned, 256);
    if (search_lexicon_load(data_dir, &s->lex, e) != 0) {
        search_engine_free(s);
        return -1;
    }
    char path[1200];
    snprintf(path, sizeof(path), "%s/search/synonyms.tsv", data_dir);
    if (load_synonym_file(s, path, e) != 0) {
        search_engine_free(s);
        return -1;
    }
    search_engine_set_synonyms(s, NULL, 0);
    *out = s;
    return 0;
}

void search_normalize(search_engine *s, const char *q, char *out, size_t cap) {
    lex_normalize(s->lex, q, strnlen(q, SEARCH_QUERY_MAX_BYTES * 4), out, cap);
}
