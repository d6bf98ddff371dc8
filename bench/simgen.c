/* simgen: a synthetic corpus of bid documents for bench/similarity.sh.
 *
 *   simgen text DIR NDOCS PAGES         plain-text documents (UTF-8)
 *   simgen pdf  DIR NDOCS PAGES FONT    PDFs (libharu, FONT a CJK TrueType/TTC file)
 *   simgen docx DIR NDOCS PAGES         docx (libzip; word/document.xml only)
 *
 * Each document is PAGES pages of 5 paragraphs of about 160 characters: 15
 * paragraphs quoted from the tender (DIR/tender.txt, 50 paragraphs), 25 from a pool
 * of 300 boilerplate paragraphs shared by all bidders, the rest the bidder's own
 * text, all drawn from a Zipf vocabulary so that common phrases recur as they do in
 * real language. Planted (DIR/planted.txt, "a b kind"):
 *   copy     cartel groups (docs 100g, 100g+1 and, when g % 3 == 0, 100g+2): copies
 *            of the leader's document with a quarter of the own paragraphs
 *            rewritten and the same three typos in quoted tender paragraphs;
 *   partial  docs 100g+50 and 100g+51 share 10 paragraphs (2 pages) of own text —
 *            a Jaccard of about 0.04, which banding for 0.5 is not meant to find.
 * Deterministic. DIR/list.txt lists the documents. */
#include <hpdf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zip.h>

#define PARA_CHARS 160
#define VOCAB      6000
#define TENDER_P   50
#define BOILER_P   300

static uint64_t st;
static uint32_t rnd(void) {
    st ^= st << 13;
    st ^= st >> 7;
    st ^= st << 17;
    return (uint32_t)(st >> 16);
}
static void seed(uint64_t s) {
    st = s * 0x9E3779B97F4A7C15ull + 0x1234567;
    for (int i = 0; i < 4; i++)
        rnd();
}

static uint32_t words[VOCAB][4];
static int wlen[VOCAB];

static void vocab(void) {
    seed(42);
    for (int i = 0; i < VOCAB; i++) {
        uint32_t r = rnd() % 10;
        wlen[i] = r < 1 ? 1 : r < 7 ? 2 : r < 9 ? 3 : 4;
        for (int k = 0; k < wlen[i]; k++)
            words[i][k] = 0x4E00 + rnd() % 3500;
    }
}

static size_t put(char *o, uint32_t c) {
    o[0] = (char)(0xE0 | (c >> 12));
    o[1] = (char)(0x80 | ((c >> 6) & 0x3F));
    o[2] = (char)(0x80 | (c & 0x3F));
    return 3;
}

/* One paragraph from the current seed into o (NUL-terminated); returns bytes. */
static size_t para(char *o) {
    size_t n = 0;
    int chars = 0, inword = 0;
    while (chars < PARA_CHARS) {
        double u = (rnd() % 1000000) / 1e6;
        int w = (int)(VOCAB * u * u * u); /* Zipf-like: small indexes are frequent */
        for (int k = 0; k < wlen[w]; k++)
            n += put(o + n, words[w][k]);
        chars += wlen[w];
        if (++inword > 6 && rnd() % 5 == 0) {
            n += put(o + n, rnd() % 3 ? 0xFF0C : 0x3001); /* ， 、 */
            inword = 0;
        }
    }
    n += put(o + n, 0x3002); /* 。 */
    o[n] = 0;
    return n;
}

typedef struct doc {
    char **p;
    int n;
} doc;

static char *para_of(uint64_t s) {
    char buf[PARA_CHARS * 3 * 2 + 64];
    seed(s);
    para(buf);
    return strdup(buf);
}

/* Paragraph sources, by seed family. */
#define S_TENDER(i)    (1000000ull + (uint64_t)(i))
#define S_BOILER(i)    (2000000ull + (uint64_t)(i))
#define S_OWN(d, i)    (10000000ull + (uint64_t)(d)*1000 + (uint64_t)(i))
#define S_SHARED(g, i) (900000000ull + (uint64_t)(g)*1000 + (uint64_t)(i))

/* Replace the 20th character of a paragraph with another (a typo), in place. */
static void typo(char *p, int which) {
    size_t off = 3 * (size_t)(19 + which * 7);
    if (strlen(p) < off + 3) return;
    put(p + off, 0x4E00 + 3600 + (uint32_t)which);
}

static doc build(int d, int n, int pages) {
    doc x;
    x.n = pages * 5;
    x.p = calloc((size_t)x.n, sizeof(char *));
    int g = d / 100, r = d % 100;
    int member = (r == 1 || (r == 2 && g % 3 == 0)) && d - r + 0 < n;
    int leader = member ? d - r : d;
    /* layout of the leader (or of d): tender quote, boilerplate, own text */
    seed(S_OWN(leader, 999));
    int tstart = (int)(rnd() % (TENDER_P - 15));
    int k = 0;
    for (int i = 0; i < 15 && k < x.n; i++)
        x.p[k++] = para_of(S_TENDER(tstart + i));
    for (int i = 0; i < 25 && k < x.n; i++) {
        seed(S_OWN(leader, 998) + (uint64_t)i);
        x.p[k++] = para_of(S_BOILER(rnd() % BOILER_P));
    }
    int own0 = k;
    for (int i = 0; k < x.n; i++) {
        int src = leader;
        if (member) {
            seed(S_OWN(d, 997) + (uint64_t)i);
            if (rnd() % 4 == 0) src = d; /* a quarter rewritten */
        }
        x.p[k++] = para_of(S_OWN(src, i));
    }
    if (r == 0 || member) {
        int cartel = (d - r + 1 < n); /* the leader of a group that has members */
        if (member || cartel)
            for (int t = 0; t < 3; t++)
                typo(x.p[2 + t * 4], t);
    }
    if (r == 50 || r == 51) { /* partial copying: 10 shared paragraphs in the middle */
        for (int i = 0; i < 10 && own0 + 40 + i < x.n; i++) {
            free(x.p[own0 + 40 + i]);
            x.p[own0 + 40 + i] = para_of(S_SHARED(g, i));
        }
    }
    return x;
}

static void doc_free(doc *x) {
    for (int i = 0; i < x->n; i++)
        free(x->p[i]);
    free(x->p);
}

static int write_text(const char *path, const doc *x) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    for (int i = 0; i < x->n; i++) {
        fputs(x->p[i], f);
        fputc('\n', f);
    }
    return fclose(f);
}

static int write_docx(const char *path, const doc *x) {
    size_t cap = 1 << 16, n = 0;
    char *xml = malloc(cap);
    const char *head = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?><w:document "
                       "xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\">"
                       "<w:body>";
    n = (size_t)snprintf(xml, cap, "%s", head);
    for (int i = 0; i < x->n; i++) {
        size_t need = strlen(x->p[i]) + 64;
        while (n + need + 64 > cap)
            xml = realloc(xml, cap *= 2);
        n += (size_t)snprintf(xml + n, cap - n, "<w:p><w:r><w:t>%s</w:t></w:r></w:p>", x->p[i]);
    }
    n += (size_t)snprintf(xml + n, cap - n, "</w:body></w:document>");
    int zerr = 0;
    zip_t *z = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &zerr);
    if (!z) return -1;
    zip_file_add(z, "word/document.xml", zip_source_buffer(z, xml, n, 1), ZIP_FL_OVERWRITE);
    return zip_close(z);
}

static int write_pdf(const char *path, const doc *x, const char *font_path) {
    HPDF_Doc pdf = HPDF_New(NULL, NULL);
    if (!pdf) return -1;
    HPDF_UseUTFEncodings(pdf);
    HPDF_SetCurrentEncoder(pdf, "UTF-8");
    size_t fl = strlen(font_path);
    const char *name = fl > 4 && !strcmp(font_path + fl - 4, ".ttc")
                           ? HPDF_LoadTTFontFromFile2(pdf, font_path, 0, HPDF_TRUE)
                           : HPDF_LoadTTFontFromFile(pdf, font_path, HPDF_TRUE);
    HPDF_Font font = name ? HPDF_GetFont(pdf, name, "UTF-8") : NULL;
    if (!font) {
        HPDF_Free(pdf);
        return -1;
    }
    HPDF_Page page = NULL;
    double y = 0;
    for (int i = 0; i < x->n; i++) {
        if (i % 5 == 0) {
            if (page) HPDF_Page_EndText(page);
            page = HPDF_AddPage(pdf);
            HPDF_Page_BeginText(page);
            HPDF_Page_SetFontAndSize(page, font, 10);
            y = 800;
        }
        /* 40 characters a line */
        const char *p = x->p[i];
        size_t len = strlen(p);
        for (size_t o = 0; o < len; o += 120) {
            char line[128];
            size_t m = len - o < 120 ? len - o : 120;
            memcpy(line, p + o, m);
            line[m] = 0;
            HPDF_Page_TextOut(page, 40, y, line);
            y -= 14;
        }
        y -= 6;
    }
    if (page) HPDF_Page_EndText(page);
    HPDF_STATUS s = HPDF_SaveToFile(pdf, path);
    HPDF_Free(pdf);
    return s == HPDF_OK ? 0 : -1;
}

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: simgen text|pdf|docx DIR NDOCS PAGES [FONT]\n");
        return 2;
    }
    const char *kind = argv[1], *dir = argv[2];
    int n = (int)strtol(argv[3], NULL, 10), pages = (int)strtol(argv[4], NULL, 10);
    const char *font = argc > 5 ? argv[5] : NULL;
    if (n < 2 || pages < 10 || (!strcmp(kind, "pdf") && !font)) {
        fprintf(stderr, "simgen: NDOCS >= 2, PAGES >= 10, pdf needs FONT\n");
        return 2;
    }
    mkdir(dir, 0755);
    vocab();
    char path[4096];
    /* the tender's own document */
    snprintf(path, sizeof(path), "%s/tender.txt", dir);
    FILE *f = fopen(path, "wb");
    if (!f) return 1;
    for (int i = 0; i < TENDER_P; i++) {
        char *p = para_of(S_TENDER(i));
        fprintf(f, "%s\n", p);
        free(p);
    }
    fclose(f);
    const char *ext = !strcmp(kind, "pdf") ? "pdf" : !strcmp(kind, "docx") ? "docx" : "txt";
    snprintf(path, sizeof(path), "%s/list.txt", dir);
    FILE *list = fopen(path, "w");
    snprintf(path, sizeof(path), "%s/planted.txt", dir);
    FILE *planted = fopen(path, "w");
    if (!list || !planted) return 1;
    for (int d = 0; d < n; d++) {
        doc x = build(d, n, pages);
        snprintf(path, sizeof(path), "%s/bid%05d.%s", dir, d, ext);
        int rc = !strcmp(ext, "pdf")    ? write_pdf(path, &x, font)
                 : !strcmp(ext, "docx") ? write_docx(path, &x)
                                        : write_text(path, &x);
        doc_free(&x);
        if (rc != 0) {
            fprintf(stderr, "simgen: cannot write %s\n", path);
            return 1;
        }
        fprintf(list, "%s\n", path);
        int r = d % 100, g = d / 100;
        if ((r == 1 || (r == 2 && g % 3 == 0)))
            for (int a = d - r; a < d; a++)
                fprintf(planted, "bid%05d.%s bid%05d.%s copy\n", a, ext, d, ext);
        if (r == 51) fprintf(planted, "bid%05d.%s bid%05d.%s partial\n", d - 1, ext, d, ext);
    }
    fclose(list);
    fclose(planted);
    return 0;
}
