/* csv: a bid file streamed into compact storage, grouped by tender.
 *
 * The file is read line by line through libcsv (never whole), so memory is about
 * 64 bytes per bid plus the distinct strings, whatever the file size; a hard cap
 * (max_bids) turns a gigantic file into a clear error instead of swapping. Input
 * order is free: rows are grouped by tender with a hash map and a counting sort.
 * Every rejected row names its line number (header = line 1). A row is malformed
 * when it has the wrong number of fields, an empty tender_id, a bid_value that is
 * not a positive finite number, a bad budget/winner/label, a field longer than
 * SCREEN_MAX_FIELD bytes, or repeats a bidder already seen in the same tender. */
#include <csv.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/xmalloc.h"
#include "screen/screen.h"

#define SCREEN_MAX_FIELD        1024
#define SCREEN_MAX_FIELDS       256
#define SCREEN_MAX_LINE         (1 << 20)
#define SCREEN_MAX_RECORD_LINES 64
#define SCREEN_DEFAULT_MAX      5000000L
#define SCREEN_MAX_WARNINGS     50
#define POOL_CHUNK              (1 << 20)

/* ---- string interning (id 0 = empty) ---- */

typedef struct pool {
    char **chunks;
    size_t nchunks, used; /* bytes used in the last chunk */
    char **str;           /* id -> string */
    uint32_t nstr, capstr;
    uint32_t *table; /* open addressing: 0 empty, else id */
    uint32_t tabcap;
} pool;

static uint64_t hash_str(const char *s) {
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static void pool_init(pool *p) {
    memset(p, 0, sizeof *p);
    p->capstr = 1024;
    p->str = xmalloc(sizeof(char *) * p->capstr);
    p->str[0] = "";
    p->nstr = 1;
    p->tabcap = 2048;
    p->table = xcalloc(p->tabcap, sizeof(uint32_t));
}

static void pool_free(pool *p) {
    for (size_t i = 0; i < p->nchunks; i++)
        free(p->chunks[i]);
    free(p->chunks);
    free(p->str);
    free(p->table);
}

static char *pool_copy(pool *p, const char *s, size_t len) {
    if (!p->nchunks || p->used + len + 1 > POOL_CHUNK) {
        p->chunks = xrealloc(p->chunks, sizeof(char *) * (p->nchunks + 1));
        p->chunks[p->nchunks++] = xmalloc(POOL_CHUNK);
        p->used = 0;
    }
    char *d = p->chunks[p->nchunks - 1] + p->used;
    memcpy(d, s, len);
    d[len] = '\0';
    p->used += len + 1;
    return d;
}

static void pool_grow(pool *p) {
    uint32_t cap = p->tabcap * 2;
    uint32_t *t = xcalloc(cap, sizeof(uint32_t));
    for (uint32_t i = 0; i < p->tabcap; i++) {
        uint32_t id = p->table[i];
        if (!id) continue;
        uint64_t h = hash_str(p->str[id]) & (cap - 1);
        while (t[h])
            h = (h + 1) & (cap - 1);
        t[h] = id;
    }
    free(p->table);
    p->table = t;
    p->tabcap = cap;
}

/* The id of s (interned on first sight); 0 for the empty string. */
static uint32_t pool_intern(pool *p, const char *s, int *is_new) {
    if (is_new) *is_new = 0;
    if (!*s) return 0;
    uint64_t h = hash_str(s) & (p->tabcap - 1);
    while (p->table[h]) {
        if (!strcmp(p->str[p->table[h]], s)) return p->table[h];
        h = (h + 1) & (p->tabcap - 1);
    }
    if (p->nstr == p->capstr) {
        p->capstr *= 2;
        p->str = xrealloc(p->str, sizeof(char *) * p->capstr);
    }
    uint32_t id = p->nstr++;
    p->str[id] = pool_copy(p, s, strlen(s));
    p->table[h] = id;
    if (is_new) *is_new = 1;
    if ((uint64_t)p->nstr * 2 > p->tabcap) pool_grow(p);
    return id;
}

/* ---- the set ---- */

typedef struct bidrec {
    double value, budget;
    uint32_t tender; /* dense tender index */
    uint32_t bidder; /* pool id, 0 = none */
    uint32_t trace[SCREEN_TRACE_KINDS];
    uint32_t line;
    int8_t winner;
} bidrec;

struct screen_set {
    pool strings;
    bidrec *bids;
    size_t nbids, capbids;
    uint32_t *tender_str; /* tender index -> pool id */
    int8_t *label;        /* tender index -> 0/1, -1 unknown */
    uint32_t ntenders, captenders;
    uint32_t *tender_of_id; /* pool id -> tender index + 1 (0 none), grown with pool */
    uint32_t tender_of_cap;
    uint32_t *order, *start; /* grouping: bids of tender i = order[start[i]..start[i+1]) */
    screen_bid *buf;
    size_t bufcap;
    long skipped;
    int has_bidders;
};

enum { COL_TENDER, COL_VALUE, COL_BIDDER, COL_BUDGET, COL_WINNER, COL_LABEL, COL_TRACE0 };
#define NCOLS (COL_TRACE0 + SCREEN_TRACE_KINDS)

typedef struct reader {
    screen_set *s;
    const screen_read_opts *o;
    FILE *warn;
    err *e;
    int failed;
    long line, rec_line;
    int header_done, nheader;
    int col[NCOLS]; /* column position of each known field, -1 absent */
    int nfields;
    char *field[SCREEN_MAX_FIELDS];
    size_t off[SCREEN_MAX_FIELDS]; /* fields live in one per-record buffer */
    char *rec;
    size_t reclen, reccap;
    int too_long, too_many;
    long warnings;
    long max_bids;
    long records; /* records completed (header included) */
} reader;

static void free_fields(reader *r) {
    r->nfields = 0;
    r->reclen = 0;
    r->too_long = r->too_many = 0;
}

static void on_field(void *data, size_t len, void *ctx) {
    reader *r = ctx;
    if (r->nfields == 0) r->rec_line = r->line;
    if (r->nfields >= SCREEN_MAX_FIELDS) {
        r->too_many = 1;
        return;
    }
    if (len > SCREEN_MAX_FIELD) r->too_long = 1;
    size_t keep = len > SCREEN_MAX_FIELD ? SCREEN_MAX_FIELD : len;
    if (r->reclen + keep + 1 > r->reccap) {
        r->reccap = (r->reclen + keep + 1) * 2;
        r->rec = xrealloc(r->rec, r->reccap);
    }
    if (keep) memcpy(r->rec + r->reclen, data, keep);
    r->rec[r->reclen + keep] = '\0';
    r->off[r->nfields++] = r->reclen;
    r->reclen += keep + 1;
}

/* Field pointers are taken once the record is complete (the buffer may move). */
static void fix_fields(reader *r) {
    for (int i = 0; i < r->nfields; i++)
        r->field[i] = r->rec + r->off[i];
}

/* Report a bad row; returns 0 when it is skipped, -1 when reading must stop. */
static int bad_row(reader *r, long line, const char *fmt, const char *what) {
    char msg[200];
    snprintf(msg, sizeof msg, fmt, what);
    if (!r->o->skip_bad) {
        err_set(r->e, 422, "unprocessable", "", "line %ld: %s (use --skip-bad to skip bad rows)",
                line, msg);
        r->failed = 1;
        return -1;
    }
    r->s->skipped++;
    if (r->warn && r->warnings++ < SCREEN_MAX_WARNINGS)
        fprintf(r->warn, "isle screen: line %ld: %s (skipped)\n", line, msg);
    return 0;
}

static char *trim(char *s) {
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

/* A positive finite number, the whole field. */
static int parse_positive(const char *s, double *out) {
    /* plain decimal only: strtod would also take hex, "inf" and locale forms */
    if (!*s || s[strspn(s, "0123456789.eE+-")]) return -1;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || !isfinite(v) || v <= 0) return -1;
    *out = v;
    return 0;
}

static void header(reader *r) {
    static const char *const names[COL_TRACE0] = {"tender_id", "bid_value", "bidder_id",
                                                  "budget",    "winner",    ""};
    for (int c = 0; c < NCOLS; c++)
        r->col[c] = -1;
    for (int i = 0; i < r->nfields; i++) {
        char *h = trim(r->field[i]);
        if (i == 0 && !strncmp(h, "\xEF\xBB\xBF", 3)) h += 3; /* UTF-8 BOM */
        for (int c = 0; c < NCOLS; c++) {
            const char *want = c == COL_LABEL    ? (r->o->label_col ? r->o->label_col : "")
                               : c >= COL_TRACE0 ? screen_trace_column(c - COL_TRACE0)
                                                 : names[c];
            if (*want && !strcmp(h, want) && r->col[c] < 0) r->col[c] = i;
        }
    }
    r->nheader = r->nfields;
    r->header_done = 1;
    if (r->col[COL_TENDER] < 0 || r->col[COL_VALUE] < 0) {
        err_set(r->e, 422, "unprocessable", r->col[COL_TENDER] < 0 ? "tender_id" : "bid_value",
                "line 1: the header must name the columns tender_id and bid_value");
        r->failed = 1;
    } else if (r->o->label_col && r->col[COL_LABEL] < 0) {
        err_set(r->e, 422, "unprocessable", r->o->label_col,
                "line 1: the header has no label column \"%s\"", r->o->label_col);
        r->failed = 1;
    }
    r->s->has_bidders = r->col[COL_BIDDER] >= 0;
}

static uint32_t tender_index(screen_set *s, uint32_t id) {
    if (id >= s->tender_of_cap) {
        uint32_t cap = s->tender_of_cap ? s->tender_of_cap : 1024;
        while (cap <= id)
            cap *= 2;
        s->tender_of_id = xrealloc(s->tender_of_id, sizeof(uint32_t) * cap);
        memset(s->tender_of_id + s->tender_of_cap, 0, sizeof(uint32_t) * (cap - s->tender_of_cap));
        s->tender_of_cap = cap;
    }
    if (s->tender_of_id[id]) return s->tender_of_id[id] - 1;
    if (s->ntenders == s->captenders) {
        s->captenders = s->captenders ? s->captenders * 2 : 1024;
        s->tender_str = xrealloc(s->tender_str, sizeof(uint32_t) * s->captenders);
        s->label = xrealloc(s->label, s->captenders);
    }
    uint32_t t = s->ntenders++;
    s->tender_str[t] = id;
    s->label[t] = -1;
    s->tender_of_id[id] = t + 1;
    return t;
}

static void row(reader *r) {
    long line = r->rec_line;
    if (r->too_many || r->too_long) {
        bad_row(r, line, "%s",
                r->too_many ? "too many fields" : "a field is longer than 1024 bytes");
        return;
    }
    if (r->nfields == 1 && !*trim(r->field[0])) return; /* blank line */
    if (r->nfields != r->nheader) {
        char what[64];
        snprintf(what, sizeof what, "%d fields where the header has %d", r->nfields, r->nheader);
        bad_row(r, line, "%s", what);
        return;
    }
    screen_set *s = r->s;
    bidrec b = {.winner = -1, .line = (uint32_t)line};
    char *tid = trim(r->field[r->col[COL_TENDER]]);
    if (!*tid) {
        bad_row(r, line, "%s", "empty tender_id");
        return;
    }
    /* The tender exists from its first row, valid or not: a tender whose rows were all
     * skipped still gets its output row ("no valid bids") instead of vanishing. */
    b.tender = tender_index(s, pool_intern(&s->strings, tid, NULL));
    if (parse_positive(trim(r->field[r->col[COL_VALUE]]), &b.value) != 0) {
        bad_row(r, line, "bid_value \"%s\" is not a positive number", r->field[r->col[COL_VALUE]]);
        return;
    }
    if (r->col[COL_BUDGET] >= 0) {
        char *v = trim(r->field[r->col[COL_BUDGET]]);
        if (*v && parse_positive(v, &b.budget) != 0) {
            bad_row(r, line, "budget \"%s\" is not a positive number", v);
            return;
        }
    }
    if (r->col[COL_WINNER] >= 0) {
        char *v = trim(r->field[r->col[COL_WINNER]]);
        if (*v) {
            if (strcmp(v, "0") && strcmp(v, "1")) {
                bad_row(r, line, "winner \"%s\" is not 0 or 1", v);
                return;
            }
            b.winner = (int8_t)(*v == '1');
        }
    }
    int label = -1;
    if (r->col[COL_LABEL] >= 0) {
        char *v = trim(r->field[r->col[COL_LABEL]]);
        if (strcmp(v, "0") && strcmp(v, "1")) {
            bad_row(r, line, "label \"%s\" is not 0 or 1", v);
            return;
        }
        label = *v == '1';
    }
    if ((long)s->nbids >= r->max_bids) {
        err_set(r->e, 413, "payload_too_large", "",
                "line %ld: more than %ld bids; split the file by tender", line, r->max_bids);
        r->failed = 1;
        return;
    }
    if (label >= 0 && label > s->label[b.tender]) s->label[b.tender] = (int8_t)label;
    if (r->col[COL_BIDDER] >= 0)
        b.bidder = pool_intern(&s->strings, trim(r->field[r->col[COL_BIDDER]]), NULL);
    for (int k = 0; k < SCREEN_TRACE_KINDS; k++)
        if (r->col[COL_TRACE0 + k] >= 0)
            b.trace[k] = pool_intern(&s->strings, trim(r->field[r->col[COL_TRACE0 + k]]), NULL);
    if (s->nbids == s->capbids) {
        s->capbids = s->capbids ? s->capbids * 2 : 4096;
        s->bids = xrealloc(s->bids, sizeof(bidrec) * s->capbids);
    }
    s->bids[s->nbids++] = b;
}

static void on_record(int term, void *ctx) {
    (void)term;
    reader *r = ctx;
    r->records++;
    if (r->failed) {
        free_fields(r);
        return;
    }
    fix_fields(r);
    if (!r->header_done)
        header(r);
    else
        row(r);
    free_fields(r);
}

/* Group bids by tender (counting sort, stable: file order within a tender) and
 * reject a bidder that bids twice in one tender. */
static int group(screen_set *s, reader *r) {
    s->start = xcalloc((size_t)s->ntenders + 1, sizeof(uint32_t));
    for (size_t i = 0; i < s->nbids; i++)
        s->start[s->bids[i].tender + 1]++;
    for (uint32_t t = 0; t < s->ntenders; t++)
        s->start[t + 1] += s->start[t];
    s->order = xmalloc(sizeof(uint32_t) * (s->nbids ? s->nbids : 1));
    uint32_t *fill = xmalloc(sizeof(uint32_t) * ((size_t)s->ntenders + 1));
    memcpy(fill, s->start, sizeof(uint32_t) * ((size_t)s->ntenders + 1));
    for (size_t i = 0; i < s->nbids; i++)
        s->order[fill[s->bids[i].tender]++] = (uint32_t)i;
    free(fill);
    if (!s->has_bidders) return 0;
    /* duplicates: a per-bidder "last tender seen" stamp finds repeats in O(n) */
    uint32_t *seen = xcalloc(s->strings.nstr, sizeof(uint32_t));
    uint32_t *where = xcalloc(s->strings.nstr, sizeof(uint32_t));
    size_t out = 0;
    int rc = 0;
    for (uint32_t t = 0; t < s->ntenders && !rc; t++) {
        uint32_t begin = (uint32_t)out;
        for (uint32_t k = s->start[t]; k < s->start[t + 1]; k++) {
            bidrec *b = &s->bids[s->order[k]];
            if (b->bidder && seen[b->bidder] == t + 1) {
                char what[160];
                snprintf(what, sizeof what,
                         "bidder \"%.60s\" already bid in tender \"%.40s\" on line %u",
                         s->strings.str[b->bidder], s->strings.str[s->tender_str[t]],
                         where[b->bidder]);
                if (bad_row(r, b->line, "%s (duplicate row)", what) != 0) rc = -1;
                continue;
            }
            if (b->bidder) {
                seen[b->bidder] = t + 1;
                where[b->bidder] = b->line;
            }
            s->order[out++] = s->order[k];
        }
        s->start[t] = begin;
    }
    s->start[s->ntenders] = (uint32_t)out;
    free(seen);
    free(where);
    return rc;
}

screen_set *screen_set_read(const char *path, const screen_read_opts *o, FILE *warn, err *e) {
    screen_read_opts dflt = {0};
    if (!o) o = &dflt;
    FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
    if (!f) {
        err_set(e, 404, "not_found", "", "%s: cannot open (%s)", path, strerror(errno));
        return NULL;
    }
    screen_set *s = xcalloc(1, sizeof *s);
    pool_init(&s->strings);
    reader r = {.s = s,
                .o = o,
                .warn = warn,
                .e = e,
                .line = 0,
                .max_bids = o->max_bids > 0 ? o->max_bids : SCREEN_DEFAULT_MAX};
    struct csv_parser cp;
    csv_init(&cp, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL);
    /* Lines are read into a fixed buffer (fgets), so one gigantic line cannot
     * exhaust memory: its first MiB is read and the rest discarded. A record may
     * span lines (quoted newlines) but not more than SCREEN_MAX_RECORD_LINES, which
     * bounds what libcsv buffers for an unbalanced quote. */
    char *line = xmalloc(SCREEN_MAX_LINE + 2);
    long record_lines = 0, record_start = 1;
    while (!r.failed && fgets(line, SCREEN_MAX_LINE + 2, f)) {
        size_t len = strlen(line); /* a NUL byte cuts the line short: a bad row below */
        r.line++;
        if (len > SCREEN_MAX_LINE || (len == SCREEN_MAX_LINE + 1 && line[len - 1] != '\n')) {
            int c;
            while ((c = getc(f)) != EOF && c != '\n') {
            }
            free_fields(&r);
            csv_free(&cp);
            csv_init(&cp, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL);
            record_lines = 0;
            if (bad_row(&r, r.line, "%s", "line longer than 1 MiB") != 0) break;
            continue;
        }
        long before = r.records;
        if (record_lines == 0) record_start = r.line;
        if (csv_parse(&cp, line, len, on_field, on_record, &r) != len && !r.failed) {
            /* quote error: report, then restart the parser on the next line */
            free_fields(&r);
            record_lines = 0;
            if (bad_row(&r, r.line, "malformed CSV (%s)", csv_strerror(csv_error(&cp))) != 0) break;
            csv_free(&cp);
            csv_init(&cp, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL);
            continue;
        }
        record_lines = r.records != before ? 0 : record_lines + 1;
        if (record_lines > SCREEN_MAX_RECORD_LINES && !r.failed) {
            free_fields(&r);
            record_lines = 0;
            if (bad_row(&r, record_start, "%s", "quoted field runs over more than 64 lines") != 0)
                break;
            csv_free(&cp);
            csv_init(&cp, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL);
        }
    }
    if (!r.failed && ferror(f))
        err_set(e, 500, "internal", "", "%s: read error", path), r.failed = 1;
    if (!r.failed && csv_fini(&cp, on_field, on_record, &r) != 0 && !r.failed)
        bad_row(&r, record_start, "%s", "unterminated quoted field at end of file");
    free(line);
    free_fields(&r);
    free(r.rec);
    csv_free(&cp);
    if (f != stdin) fclose(f);
    if (!r.failed && !r.header_done) {
        err_set(e, 422, "unprocessable", "", "%s: empty file (no header line)", path);
        r.failed = 1;
    }
    if (!r.failed && group(s, &r) != 0) r.failed = 1;
    if (r.failed) {
        screen_set_free(s);
        return NULL;
    }
    if (warn && r.warnings > SCREEN_MAX_WARNINGS)
        fprintf(warn, "isle screen: %ld more bad rows not shown\n",
                r.warnings - SCREEN_MAX_WARNINGS);
    return s;
}

void screen_set_free(screen_set *s) {
    if (!s) return;
    pool_free(&s->strings);
    free(s->bids);
    free(s->tender_str);
    free(s->label);
    free(s->tender_of_id);
    free(s->order);
    free(s->start);
    free(s->buf);
    free(s);
}

int screen_set_tenders(const screen_set *s) {
    return (int)s->ntenders;
}
const char *screen_set_tender_id(const screen_set *s, int i) {
    return s->strings.str[s->tender_str[i]];
}
int screen_set_label(const screen_set *s, int i) {
    return s->label[i];
}
long screen_set_skipped(const screen_set *s) {
    return s->skipped;
}
int screen_set_has_bidders(const screen_set *s) {
    return s->has_bidders;
}

int screen_set_bids(screen_set *s, int i, const screen_bid **bids) {
    uint32_t a = s->start[i], b = s->start[i + 1];
    size_t n = b - a;
    if (n > s->bufcap) {
        s->bufcap = n * 2;
        s->buf = xrealloc(s->buf, sizeof(screen_bid) * s->bufcap);
    }
    for (size_t k = 0; k < n; k++) {
        const bidrec *r = &s->bids[s->order[a + k]];
        screen_bid *o = &s->buf[k];
        o->value = r->value;
        o->budget = r->budget;
        o->bidder_id = r->bidder ? s->strings.str[r->bidder] : NULL;
        for (int t = 0; t < SCREEN_TRACE_KINDS; t++)
            o->trace[t] = r->trace[t] ? s->strings.str[r->trace[t]] : NULL;
        o->winner = r->winner;
        o->line = r->line;
    }
    *bids = s->buf;
    return (int)n;
}

/* Internal accessors for network.c (same module). */
uint32_t screen_set_bid_bidder(const screen_set *s, int tender, int k, double *value, int *winner);
uint32_t screen_set_bid_bidder(const screen_set *s, int tender, int k, double *value, int *winner) {
    const bidrec *r = &s->bids[s->order[s->start[tender] + (uint32_t)k]];
    if (value) *value = r->value;
    if (winner) *winner = r->winner;
    return r->bidder;
}
int screen_set_tender_size(const screen_set *s, int tender);
int screen_set_tender_size(const screen_set *s, int tender) {
    return (int)(s->start[tender + 1] - s->start[tender]);
}
const char *screen_set_string(const screen_set *s, uint32_t id);
const char *screen_set_string(const screen_set *s, uint32_t id) {
    return s->strings.str[id];
}
uint32_t screen_set_nstrings(const screen_set *s);
uint32_t screen_set_nstrings(const screen_set *s) {
    return s->strings.nstr;
}
