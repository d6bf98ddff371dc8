/* search/lexicon.c: the language resources of the search engine and the
 * analysis built on them — normalisation, word segmentation, pinyin.
 *
 * Resources (data/search/, see its README for sources and licences):
 *   dict.txt       jieba's dictionary (MIT): "word frequency tag" per line.
 *                  Segmentation is jieba's: a DAG of every dictionary word
 *                  starting at each character, then the path of maximum
 *                  probability (sum of log(freq/total)), computed right to left.
 *                  Unknown characters stand alone (the bigrams cover them).
 *   pinyin.txt     all Mandarin readings per character, from Unihan, made by
 *                  scripts/gen_pinyin.py.
 *   stopwords.txt  query filler words ("怎么", "在哪里") and intent words
 *                  ("材料", "多少钱") that must not decide what matches.
 * Traditional → simplified conversion is OpenCC's t2s configuration. At load
 * time every CJK character is passed through OpenCC once to learn which ones
 * it changes, so that queries in simplified characters (nearly all) never pay
 * for a conversion.
 *
 * Everything here is read-only after search_lexicon_load(), so any number of
 * threads may analyse text at once (OpenCC calls are serialised by a mutex). */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <opencc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xmalloc.h"
#include "search/internal.h"

#define LINE_MAX_BYTES 1024
#define FILE_MAX_BYTES (64u * 1024u * 1024u)

/* Read a whole file (≤ FILE_MAX_BYTES) into a NUL-terminated heap buffer. */
static char *read_file(const char *path, size_t *len, err *e) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        err_internal(e, "无法读取搜索数据文件 %s：%s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = xmalloc(cap);
    for (;;) {
        if (n + 4096 + 1 > cap) {
            cap *= 2;
            buf = xrealloc(buf, cap);
        }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (n > FILE_MAX_BYTES) {
            fclose(f);
            free(buf);
            err_internal(e, "搜索数据文件过大：%s", path);
            return NULL;
        }
        if (got == 0) break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        err_internal(e, "读取搜索数据文件出错：%s", path);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* Iterate over the lines of buf: returns the next line (NUL-terminated in place,
 * without "\r\n") or NULL at the end. */
static char *next_line(char **cursor) {
    char *s = *cursor;
    if (!s || !*s) return NULL;
    char *nl = strchr(s, '\n');
    if (nl) {
        *nl = '\0';
        *cursor = nl + 1;
    } else {
        *cursor = s + strlen(s);
    }
    size_t n = strlen(s);
    if (n && s[n - 1] == '\r') s[n - 1] = '\0';
    return s;
}

static int all_han(const char *w, size_t n, size_t *chars) {
    size_t i = 0, c = 0;
    while (i < n) {
        if (!su_is_han(su_next(w, n, &i))) return 0;
        c++;
    }
    *chars = c;
    return c > 0;
}

static int load_dict(search_lexicon *lx, const char *path, err *e) {
    size_t len;
    char *buf = read_file(path, &len, e);
    if (!buf) return -1;
    shash_init(&lx->words, 600000);
    double total = 0;
    char *cur = buf, *line;
    int lineno = 0;
    while ((line = next_line(&cur))) {
        lineno++;
        char *sp = strchr(line, ' ');
        if (!sp) continue;
        size_t wlen = (size_t)(sp - line), chars;
        if (!all_han(line, wlen, &chars) || chars > SEARCH_WORD_MAX_CHARS) continue;
        char *end;
        errno = 0;
        long long f = strtoll(sp + 1, &end, 10);
        if (errno || end == sp + 1 || f < 0) {
            free(buf);
            return err_internal(e, "%s 第 %d 行：词频无效", path, lineno);
        }
        if (f == 0) continue;
        uint32_t freq = f > (long long)UINT32_MAX ? UINT32_MAX : (uint32_t)f;
        uint32_t *v = shash_put(&lx->words, line, wlen, freq, NULL);
        *v = freq;
        total += (double)freq;
        /* Prefixes with frequency 0 let the DAG scan stop at the first miss. */
        size_t i = 0;
        while (i < wlen) {
            su_next(line, wlen, &i);
            if (i < wlen) shash_put(&lx->words, line, i, 0, NULL);
        }
    }
    free(buf);
    if (total <= 0) return err_internal(e, "%s 中没有词", path);
    lx->log_total = log(total);
    lx->log_min = log(1.0) - lx->log_total;
    return 0;
}

static void add_syllable(search_lexicon *lx, const char *syl, size_t n, size_t *cap) {
    int added;
    uint32_t *v = shash_put(&lx->syllables, syl, n, (uint32_t)lx->nsyllables, &added);
    if (!added) return;
    if (lx->nsyllables == *cap) {
        *cap *= 2;
        lx->syllable = xrealloc(lx->syllable, *cap * sizeof(*lx->syllable));
        lx->syllable_vowel = xrealloc(lx->syllable_vowel, *cap);
    }
    memcpy(lx->syllable[lx->nsyllables], syl, n);
    lx->syllable[lx->nsyllables][n] = '\0';
    lx->syllable_vowel[lx->nsyllables] = strpbrk(lx->syllable[lx->nsyllables], "aeiouv") != NULL;
    *v = (uint32_t)lx->nsyllables;
    lx->nsyllables++;
}

static int load_pinyin(search_lexicon *lx, const char *path, err *e) {
    size_t len;
    char *buf = read_file(path, &len, e);
    if (!buf) return -1;
    size_t nchars = PINYIN_LAST - PINYIN_FIRST + 1, cap = 512, idcap = 65536;
    lx->readings = xcalloc(nchars, sizeof(*lx->readings));
    lx->nreadings = xcalloc(nchars, 1);
    lx->syllable = xmalloc(cap * sizeof(*lx->syllable));
    lx->syllable_vowel = xmalloc(cap);
    lx->reading_ids = xmalloc(idcap * sizeof(*lx->reading_ids));
    shash_init(&lx->syllables, 1024);
    char *cur = buf, *line;
    int lineno = 0;
    while ((line = next_line(&cur))) {
        lineno++;
        if (line[0] == '#' || !line[0]) continue;
        size_t i = 0, n = strlen(line);
        uint32_t cp = su_next(line, n, &i);
        if (cp < PINYIN_FIRST || cp > PINYIN_LAST || line[i] != '\t') {
            free(buf);
            return err_internal(e, "%s 第 %d 行格式无效", path, lineno);
        }
        char *p = line + i + 1;
        size_t first = lx->nreading_ids, count = 0;
        while (*p) {
            size_t k = strcspn(p, ",");
            if (k == 0 || k > 6) {
                free(buf);
                return err_internal(e, "%s 第 %d 行读音无效", path, lineno);
            }
            for (size_t j = 0; j < k; j++)
                if (p[j] < 'a' || p[j] > 'z') {
                    free(buf);
                    return err_internal(e, "%s 第 %d 行读音无效", path, lineno);
                }
            add_syllable(lx, p, k, &cap);
            if (count < 255) {
                if (lx->nreading_ids == idcap) {
                    idcap *= 2;
                    lx->reading_ids = xrealloc(lx->reading_ids, idcap * sizeof(*lx->reading_ids));
                }
                lx->reading_ids[lx->nreading_ids++] = (uint16_t)*shash_get(&lx->syllables, p, k);
                count++;
            }
            p += k;
            if (*p == ',') p++;
        }
        lx->readings[cp - PINYIN_FIRST] = (uint32_t)first;
        lx->nreadings[cp - PINYIN_FIRST] = (uint8_t)count;
    }
    free(buf);
    /* The ü finals are typed "lve" or "lue" on pinyin keyboards: accept both. */
    static const char *const alias[][2] = {{"lue", "lve"}, {"nue", "nve"}};
    for (size_t k = 0; k < sizeof(alias) / sizeof(alias[0]); k++) {
        uint32_t *id = shash_get(&lx->syllables, alias[k][1], 3);
        if (id) shash_put(&lx->syllables, alias[k][0], 3, *id, NULL);
    }
    if (lx->nsyllables == 0) return err_internal(e, "%s 中没有读音", path);
    return 0;
}

static int load_stopwords(search_lexicon *lx, const char *path, err *e) {
    size_t len;
    char *buf = read_file(path, &len, e);
    if (!buf) return -1;
    shash_init(&lx->stop, 256);
    char *cur = buf, *line;
    int lineno = 0;
    while ((line = next_line(&cur))) {
        lineno++;
        if (line[0] == '#' || !line[0]) continue;
        char *tab = strchr(line, '\t');
        if (!tab || (strcmp(tab + 1, "stop") != 0 && strcmp(tab + 1, "weak") != 0)) {
            free(buf);
            return err_internal(e, "%s 第 %d 行应为“词<TAB>stop|weak”", path, lineno);
        }
        shash_put(&lx->stop, line, (size_t)(tab - line), strcmp(tab + 1, "stop") == 0 ? 1 : 2,
                  NULL);
    }
    free(buf);
    return 0;
}

/* Learn which characters OpenCC's t2s changes: one conversion of every CJK
 * character (and the compatibility block), one per line. */
static int load_opencc(search_lexicon *lx, err *e) {
    opencc_t cc = opencc_open(OPENCC_DEFAULT_CONFIG_TRAD_TO_SIMP);
    if (cc == (opencc_t)-1) return err_internal(e, "无法加载 OpenCC 繁简转换配置 t2s.json");
    lx->opencc = cc;
    pthread_mutex_init(&lx->opencc_lock, NULL);
    lx->traditional = xcalloc(0x10000 / 8, 1);
    size_t cap = 0x10000 * 4, n = 0;
    char *in = xmalloc(cap);
    static const uint32_t ranges[][2] = {{0x3400, 0x4DBF}, {0x4E00, 0x9FFF}, {0xF900, 0xFAFF}};
    for (size_t r = 0; r < 3; r++)
        for (uint32_t cp = ranges[r][0]; cp <= ranges[r][1]; cp++) {
            n += su_put(in + n, cp);
            in[n++] = '\n';
        }
    in[n] = '\0';
    char *out = opencc_convert_utf8(cc, in, n);
    if (!out) {
        free(in);
        return err_internal(e, "OpenCC 转换失败");
    }
    size_t i = 0, j = 0, on = strlen(out);
    while (i < n && j < on) {
        uint32_t a = su_next(in, n, &i);
        size_t line_start = j;
        uint32_t b = su_next(out, on, &j);
        /* A line that differs in its first character or in its length. */
        while (j < on && out[j] != '\n')
            j++;
        int changed = a != b || j - line_start != (size_t)su_put((char[4]){0}, a);
        if (changed && a < 0x10000) lx->traditional[a >> 3] |= (uint8_t)(1u << (a & 7));
        i++; /* '\n' of in */
        if (j < on) j++;
    }
    opencc_convert_utf8_free(out);
    free(in);
    return 0;
}

int search_lexicon_load(const char *data_dir, search_lexicon **out, err *e) {
    search_lexicon *lx = xcalloc(1, sizeof(*lx));
    char path[1200];
    snprintf(path, sizeof(path), "%s/search/dict.txt", data_dir);
    if (load_dict(lx, path, e) != 0) goto fail;
    snprintf(path, sizeof(path), "%s/search/pinyin.txt", data_dir);
    if (load_pinyin(lx, path, e) != 0) goto fail;
    snprintf(path, sizeof(path), "%s/search/stopwords.txt", data_dir);
    if (load_stopwords(lx, path, e) != 0) goto fail;
    if (load_opencc(lx, e) != 0) goto fail;
    *out = lx;
    return 0;
fail:
    search_lexicon_free(lx);
    return -1;
}

void search_lexicon_free(search_lexicon *lx) {
    if (!lx) return;
    shash_free(&lx->words);
    shash_free(&lx->stop);
    shash_free(&lx->syllables);
    free(lx->syllable);
    free(lx->syllable_vowel);
    free(lx->readings);
    free(lx->nreadings);
    free(lx->reading_ids);
    free(lx->traditional);
    if (lx->opencc) {
        opencc_close(lx->opencc);
        pthread_mutex_destroy(&lx->opencc_lock);
    }
    free(lx);
}

size_t lex_readings(const search_lexicon *lx, uint32_t cp, const uint16_t **ids) {
    if (cp < PINYIN_FIRST || cp > PINYIN_LAST) return 0;
    size_t k = cp - PINYIN_FIRST;
    *ids = lx->reading_ids + lx->readings[k];
    return lx->nreadings[k];
}

int lex_syllable(const search_lexicon *lx, const char *text, size_t n) {
    uint32_t *v = shash_get(&lx->syllables, text, n);
    return v ? (int)*v : -1;
}

/* ---- normalisation ---- */

/* Tone-marked vowels (as typed by people who know pinyin) → plain letters. */
static int tone_letter(uint32_t cp) {
    switch (cp) {
    case 0xE0:
    case 0xE1:
    case 0x101:
    case 0x1CE:
        return 'a';
    case 0xE8:
    case 0xE9:
    case 0x113:
    case 0x11B:
    case 0xEA:
        return 'e';
    case 0xEC:
    case 0xED:
    case 0x12B:
    case 0x1D0:
        return 'i';
    case 0xF2:
    case 0xF3:
    case 0x14D:
    case 0x1D2:
        return 'o';
    case 0xF9:
    case 0xFA:
    case 0x16B:
    case 0x1D4:
        return 'u';
    case 0xFC:
    case 0x1D6:
    case 0x1D8:
    case 0x1DA:
    case 0x1DC:
        return 'v';
    default:
        return 0;
    }
}

static int is_traditional(const search_lexicon *lx, uint32_t cp) {
    return cp < 0x10000 && lx->traditional && (lx->traditional[cp >> 3] >> (cp & 7)) & 1;
}

size_t lex_normalize(search_lexicon *lx, const char *s, size_t n, char *out, size_t cap) {
    if (cap == 0) return 0;
    /* Pass 1: width, case, tone marks; note whether OpenCC is needed. */
    size_t tcap = n * 2 + 8, t = 0;
    char stackbuf[1024];
    char *tmp = tcap <= sizeof(stackbuf) ? stackbuf : xmalloc(tcap);
    int trad = 0;
    size_t i = 0;
    while (i < n) {
        uint32_t cp = su_next(s, n, &i);
        if (cp >= 0xFF01 && cp <= 0xFF5E) cp -= 0xFEE0;
        if (cp == 0x3000) cp = ' ';
        if (cp >= 'A' && cp <= 'Z') cp += 32;
        if (cp >= 0xC0 && cp < 0x250) {
            uint32_t lower = (cp >= 0xC0 && cp <= 0xDE && cp != 0xD7) ? cp + 32 : cp;
            if (cp >= 0x100 && cp < 0x180 && !(cp & 1)) lower = cp + 1;
            int base = tone_letter(lower);
            if (base) cp = (uint32_t)base;
        }
        if (is_traditional(lx, cp)) trad = 1;
        t += su_put(tmp + t, cp);
    }
    tmp[t] = '\0';
    char *conv = NULL;
    const char *src = tmp;
    size_t srclen = t;
    if (trad && lx->opencc) {
        pthread_mutex_lock(&lx->opencc_lock);
        conv = opencc_convert_utf8(lx->opencc, tmp, t);
        pthread_mutex_unlock(&lx->opencc_lock);
        if (conv) {
            src = conv;
            srclen = strlen(conv);
        }
    }
    /* Pass 2: keep Han, ASCII letters and digits; everything else separates. */
    size_t o = 0;
    int space = 0;
    i = 0;
    while (i < srclen) {
        uint32_t cp = su_next(src, srclen, &i);
        int keep = su_is_han(cp) || (cp >= 'a' && cp <= 'z') || (cp >= '0' && cp <= '9');
        if (!keep) {
            space = o > 0;
            continue;
        }
        char enc[4];
        size_t k = su_put(enc, cp);
        if (o + (space ? 1 : 0) + k + 1 > cap) break;
        if (space) out[o++] = ' ';
        space = 0;
        memcpy(out + o, enc, k);
        o += k;
    }
    out[o] = '\0';
    if (conv) opencc_convert_utf8_free(conv);
    if (tmp != stackbuf) free(tmp);
    return o;
}

/* ---- segmentation ---- */

/* Frequency of cps[a..b) (UTF-8 bytes utf[off[a]..off[b])), or -1 when not even a
 * prefix of a word. */
static long long word_freq(const search_lexicon *lx, const char *utf, const uint16_t *off, size_t a,
                           size_t b) {
    uint32_t *v = shash_get(&lx->words, utf + off[a], (size_t)(off[b] - off[a]));
    return v ? (long long)*v : -1;
}

/* The shared DP: forbid_whole excludes the word cps[0..n) itself. */
static size_t segment(const search_lexicon *lx, const uint32_t *cps, size_t n, uint16_t *ends,
                      int forbid_whole) {
    if (n == 0) return 0;
    if (n > SEARCH_TEXT_MAX_CHARS) n = SEARCH_TEXT_MAX_CHARS;
    char stack_utf[4 * 256];
    uint16_t stack_off[257];
    double stack_route[257];
    uint16_t stack_next[257];
    int big = n > 256;
    char *utf = big ? xmalloc(4 * n) : stack_utf;
    uint16_t *off = big ? xmalloc((n + 1) * sizeof(*off)) : stack_off;
    double *route = big ? xmalloc((n + 1) * sizeof(*route)) : stack_route;
    uint16_t *next = big ? xmalloc((n + 1) * sizeof(*next)) : stack_next;
    size_t u = 0;
    for (size_t k = 0; k < n; k++) {
        off[k] = (uint16_t)u;
        u += su_put(utf + u, cps[k]);
    }
    off[n] = (uint16_t)u;
    route[n] = 0;
    for (size_t k = n; k-- > 0;) {
        /* The single character is always a candidate. */
        long long f1 = word_freq(lx, utf, off, k, k + 1);
        double best = (f1 > 0 ? log((double)f1) - lx->log_total : lx->log_min) + route[k + 1];
        size_t bestj = k + 1;
        for (size_t j = k + 2; j <= n && j - k <= SEARCH_WORD_MAX_CHARS; j++) {
            long long f = word_freq(lx, utf, off, k, j);
            if (f < 0) break;
            if (f == 0 || (forbid_whole && k == 0 && j == n)) continue;
            double r = log((double)f) - lx->log_total + route[j];
            if (r > best) {
                best = r;
                bestj = j;
            }
        }
        route[k] = best;
        next[k] = (uint16_t)bestj;
    }
    size_t count = 0;
    for (size_t k = 0; k < n; k = next[k])
        ends[count++] = next[k];
    if (big) {
        free(utf);
        free(off);
        free(route);
        free(next);
    }
    return count;
}

size_t lex_segment(const search_lexicon *lx, const uint32_t *cps, size_t n, uint16_t *ends) {
    return segment(lx, cps, n, ends, 0);
}

size_t lex_split_word(const search_lexicon *lx, const uint32_t *cps, size_t n, uint16_t *ends) {
    if (n < 3) {
        ends[0] = (uint16_t)n;
        return 1;
    }
    return segment(lx, cps, n, ends, 1);
}

int lex_is_word(const search_lexicon *lx, const char *w, size_t len) {
    uint32_t *v = shash_get(&lx->words, w, len);
    return v && *v > 0;
}

int lex_stop_class(const search_lexicon *lx, const char *w, size_t len) {
    uint32_t *v = shash_get(&lx->stop, w, len);
    return v ? (int)*v : 0;
}

/* ---- pinyin syllabification ---- */

#define SYL_MAX_LETTERS 6

int lex_syllabify(const search_lexicon *lx, const char *letters, size_t n, uint16_t *ids,
                  uint8_t *ends, int *nsyl, int max_parses) {
    if (n == 0 || n > 64) return 0;
    /* min_from[i]: fewest syllables that parse letters[i..n); 255 = impossible. */
    uint8_t min_from[65];
    min_from[n] = 0;
    for (size_t i = n; i-- > 0;) {
        min_from[i] = 255;
        for (size_t k = 1; k <= SYL_MAX_LETTERS && i + k <= n; k++) {
            int id = lex_syllable(lx, letters + i, k);
            if (id < 0 || !lx->syllable_vowel[id] || min_from[i + k] == 255) continue;
            if (min_from[i + k] + 1 < min_from[i]) min_from[i] = (uint8_t)(min_from[i + k] + 1);
        }
    }
    if (min_from[0] == 255) return 0;
    /* Depth-first enumeration of the minimal parses, longest syllable first. */
    int found = 0;
    uint16_t cur_ids[64];
    uint8_t cur_ends[64];
    size_t stack_pos[65];
    size_t stack_k[65];
    int depth = 0;
    stack_pos[0] = 0;
    stack_k[0] = SYL_MAX_LETTERS + 1;
    while (depth >= 0 && found < max_parses) {
        size_t pos = stack_pos[depth];
        if (pos == n) {
            memcpy(ids + (size_t)found * 64, cur_ids, (size_t)depth * sizeof(*ids));
            memcpy(ends + (size_t)found * 64, cur_ends, (size_t)depth);
            nsyl[found++] = depth;
            depth--;
            continue;
        }
        size_t k = stack_k[depth];
        int advanced = 0;
        while (--k >= 1) {
            if (pos + k > n) continue;
            int id = lex_syllable(lx, letters + pos, k);
            if (id < 0 || !lx->syllable_vowel[id]) continue;
            if (min_from[pos + k] == 255 || min_from[pos + k] + 1 != min_from[pos]) continue;
            stack_k[depth] = k;
            cur_ids[depth] = (uint16_t)id;
            cur_ends[depth] = (uint8_t)(pos + k);
            depth++;
            stack_pos[depth] = pos + k;
            stack_k[depth] = SYL_MAX_LETTERS + 1;
            advanced = 1;
            break;
        }
        if (!advanced) depth--;
    }
    return found;
}
