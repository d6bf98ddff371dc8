/* Unit tests for src/screen/similarity.c and extract.c: normalisation, MinHash
 * estimates against the exact Jaccard, passages with their offsets, the tender's
 * boilerplate subtracted, a shared typo outweighing a shared common sentence, LSH
 * finding planted near-duplicates among many documents, docx/PDF extraction, a
 * corrupt PDF and a zip bomb refused with bounded memory, empty documents, and
 * similarity_tender over opened bids' stored plaintexts. */
#include "test.h"

#include <hpdf.h>
#include <math.h>
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>
#include <zip.h>

#include "db/db.h"
#include "files/files.h"
#include "screen/similarity.h"
#include "trade/trade.h"

/* Deterministic pseudo-Chinese text: n characters from 3000 CJK ideographs with a
 * comma or full stop now and then. */
static uint64_t rng_state;
static uint32_t rnd(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 11);
}

static char *cjk(uint64_t seed, int n) {
    rng_state = seed * 0x9E3779B97F4A7C15ull + 1;
    char *s = malloc((size_t)n * 7 + 1), *o = s; /* 3 bytes + "。\n" at most */
    for (int i = 0; i < n; i++) {
        uint32_t c = 0x4E00 + rnd() % 3000;
        *o++ = (char)(0xE0 | (c >> 12));
        *o++ = (char)(0x80 | ((c >> 6) & 0x3F));
        *o++ = (char)(0x80 | (c & 0x3F));
        uint32_t r = rnd() % 20;
        if (r == 0)
            memcpy(o, "，", 3), o += 3;
        else if (r == 1)
            memcpy(o, "。\n", 4), o += 4;
    }
    *o = 0;
    return s;
}

static char *cat3(const char *a, const char *b, const char *c) {
    size_t n = strlen(a) + strlen(b) + strlen(c);
    char *s = malloc(n + 1);
    snprintf(s, n + 1, "%s%s%s", a, b, c);
    return s;
}

/* Number of UTF-8 characters of s. */
static long chars(const char *s) {
    long n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

TEST(similarity_normalize_folds_width_case_punctuation) {
    char *n = sim_normalize("ＡＢＣ１２３，。　Hello, 世界！\n（甲）",
                            strlen("ＡＢＣ１２３，。　Hello, 世界！\n（甲）"));
    CHECK_STR(n, "abc123hello世界甲");
    free(n);
}

TEST(similarity_minhash_close_to_exact_jaccard) {
    /* A = X + Y, B = Y + Z: Jaccard about |Y| / (|X| + |Y| + |Z|). */
    int sizes[][3] = {{2000, 2000, 2000}, {500, 4000, 500}, {3000, 1000, 3000}, {100, 6000, 100}};
    for (int k = 0; k < 4; k++) {
        char *x = cjk(10 + k, sizes[k][0]), *y = cjk(20 + k, sizes[k][1]),
             *z = cjk(30 + k, sizes[k][2]);
        char *a = cat3(x, y, ""), *b = cat3(y, z, "");
        uint32_t sa[SIM_HASHES], sb[SIM_HASHES];
        sim_signature(a, strlen(a), sa);
        sim_signature(b, strlen(b), sb);
        double est = sim_estimate(sa, sb), ex = sim_jaccard_exact(a, strlen(a), b, strlen(b));
        double want = (double)sizes[k][1] / (sizes[k][0] + sizes[k][1] + sizes[k][2]);
        CHECK(fabs(ex - want) < 0.05);
        CHECK(fabs(est - ex) < 0.13); /* 3 standard deviations at 128 values */
        if (fabs(est - ex) >= 0.13) fprintf(stderr, "    est %.3f exact %.3f\n", est, ex);
        free(x), free(y), free(z), free(a), free(b);
    }
    /* Identical texts estimate 1; unrelated ones about 0; deterministic. */
    char *p = cjk(1, 3000), *q = cjk(2, 3000);
    uint32_t s1[SIM_HASHES], s2[SIM_HASHES], s3[SIM_HASHES];
    sim_signature(p, strlen(p), s1);
    sim_signature(p, strlen(p), s2);
    sim_signature(q, strlen(q), s3);
    CHECK(sim_estimate(s1, s2) == 1.0);
    CHECK(sim_estimate(s1, s3) < 0.05);
    free(p), free(q);
}

TEST(similarity_passage_offsets_and_side_by_side_text) {
    const char *pas = "施工期间采用夜间低噪声作业方案，在东港路口设置临时导流栏杆七十二组";
    char *own_a = cjk(101, 400), *own_b = cjk(102, 250), *tail = cjk(103, 300);
    char *a = cat3(own_a, pas, tail), *b = cat3(own_b, pas, "");
    sim_corpus *c = sim_corpus_new();
    err e = {0};
    CHECK_INT(sim_corpus_add_text(c, "a", 0, a, strlen(a), &e), 0);
    CHECK_INT(sim_corpus_add_text(c, "b", 0, b, strlen(b), &e), 1);
    json_t *r = NULL;
    sim_opts o = {.threshold = 0.01};
    CHECK_INT(sim_corpus_compare(c, &o, &r, &e), 0);
    json_t *pairs = json_object_get(r, "pairs");
    CHECK_INT(json_array_size(pairs), 1);
    json_t *p0 = json_array_get(pairs, 0);
    json_t *x = json_array_get(json_object_get(p0, "passages"), 0);
    CHECK_STR(json_string_value(json_object_get(x, "a_text")), pas);
    CHECK_STR(json_string_value(json_object_get(x, "b_text")), pas);
    CHECK_INT(json_integer_value(json_object_get(x, "a_offset")), chars(own_a));
    CHECK_INT(json_integer_value(json_object_get(x, "b_offset")), chars(own_b));
    CHECK_INT(json_integer_value(json_object_get(x, "length")), 32); /* the comma is dropped */
    CHECK_STR(json_string_value(json_object_get(x, "kind")), "rare");
    CHECK(json_real_value(json_object_get(p0, "similarity")) > 0);
    json_decref(r);
    sim_corpus_free(c);
    free(own_a), free(own_b), free(tail), free(a), free(b);
}

TEST(similarity_tender_boilerplate_discounted) {
    char *tender = cjk(200, 1500), *oa = cjk(201, 800), *ob = cjk(202, 800);
    char *a = cat3(tender, oa, ""), *b = cat3(oa + 0, "", "");
    free(b);
    b = cat3(tender, ob, "");
    err e = {0};
    json_t *r = NULL;
    /* Without the tender's text the shared boilerplate makes the pair similar. */
    sim_corpus *c = sim_corpus_new();
    sim_corpus_add_text(c, "a", 0, a, strlen(a), &e);
    sim_corpus_add_text(c, "b", 0, b, strlen(b), &e);
    CHECK_INT(sim_corpus_compare(c, NULL, &r, &e), 0);
    CHECK_INT(json_array_size(json_object_get(r, "pairs")), 1);
    json_decref(r);
    sim_corpus_free(c);
    /* With it subtracted, nothing is left to report. */
    c = sim_corpus_new();
    CHECK_INT(sim_corpus_add_tender(c, tender, strlen(tender), &e), 0);
    sim_corpus_add_text(c, "a", 0, a, strlen(a), &e);
    sim_corpus_add_text(c, "b", 0, b, strlen(b), &e);
    CHECK_INT(sim_corpus_add_tender(c, "迟到", 6, &e), -1); /* tender text comes first */
    CHECK_INT(e.status, 409);
    sim_opts o = {.threshold = 1e-9};
    CHECK_INT(sim_corpus_compare(c, &o, &r, &e), 0);
    CHECK_INT(json_array_size(json_object_get(r, "pairs")), 0);
    json_decref(r);
    sim_corpus_free(c);
    free(tender), free(oa), free(ob), free(a), free(b);
}

TEST(similarity_shared_typo_outweighs_common_sentence) {
    const char *tender = "投标人应当按照招标文件的要求编制施工组织设计并在开标前递交。";
    const char *typo = "投标人应当按照招标文件的要求编制施工组织涉计并在开标前递交。";
    const char *common = "我公司郑重承诺遵守国家法律法规和行业规范诚信投标接受社会各界监督。";
    sim_corpus *c = sim_corpus_new();
    err e = {0};
    sim_corpus_add_tender(c, tender, strlen(tender), &e);
    /* Ten bids quote the common sentence; bids 0 and 1 also copy the tender's
     * sentence with the same typo, bids 2 and 3 copy it correctly. */
    for (int i = 0; i < 10; i++) {
        char *own1 = cjk(300 + i, 600), *own2 = cjk(400 + i, 600);
        const char *t = i < 2 ? typo : i < 4 ? tender : "";
        char *mid = cat3(common, own2, t);
        char *doc = cat3(own1, mid, "");
        char label[16];
        snprintf(label, sizeof(label), "d%d", i);
        sim_corpus_add_text(c, label, 0, doc, strlen(doc), &e);
        free(own1), free(own2), free(mid), free(doc);
    }
    json_t *r = NULL;
    sim_opts o = {.threshold = 1e-9, .max_pairs = 100, .max_passages = 5};
    CHECK_INT(sim_corpus_compare(c, &o, &r, &e), 0);
    json_t *pairs = json_object_get(r, "pairs"), *p;
    size_t i;
    double w_typo = -1, w_common = -1, s01 = -1, s23 = -1;
    json_array_foreach(pairs, i, p) {
        int a = (int)json_integer_value(json_object_get(p, "a"));
        int b = (int)json_integer_value(json_object_get(p, "b"));
        double s = json_real_value(json_object_get(p, "similarity"));
        if (a == 0 && b == 1) s01 = s;
        if (a == 2 && b == 3) s23 = s;
        json_t *x;
        size_t k;
        json_array_foreach(json_object_get(p, "passages"), k, x) {
            const char *kind = json_string_value(json_object_get(x, "kind"));
            double w = json_real_value(json_object_get(x, "weight"));
            if (a == 0 && b == 1 && !strcmp(kind, "typo")) {
                w_typo = w;
                CHECK(strstr(json_string_value(json_object_get(x, "a_text")), "涉计") != NULL);
            }
            if (a == 0 && b == 1 && !strcmp(kind, "common")) w_common = w;
        }
    }
    CHECK(w_typo > 0);
    CHECK(w_common > 0);
    CHECK(w_typo > w_common);
    CHECK(s01 > s23); /* the typo pair ranks above a pair sharing the correct sentence */
    if (!(w_typo > w_common)) fprintf(stderr, "    typo %.2f common %.2f\n", w_typo, w_common);
    json_decref(r);
    sim_corpus_free(c);
}

TEST(similarity_lsh_finds_planted_pairs_among_many) {
    sim_corpus *c = sim_corpus_new();
    err e = {0};
    char *base[3];
    for (int k = 0; k < 3; k++)
        base[k] = cjk(900 + k, 3000);
    for (int i = 0; i < 300; i++) {
        char *doc;
        if (i == 17 || i == 140 || i == 250) {
            doc = cat3(base[i == 17 ? 0 : i == 140 ? 1 : 2], "", "");
        } else if (i == 18 || i == 141 || i == 251) {
            char *edit = cjk(5000 + i, 600); /* the copy with a fifth rewritten */
            const char *b = base[i == 18 ? 0 : i == 141 ? 1 : 2];
            doc = cat3(b + strlen(b) / 5, edit, "");
            free(edit);
        } else {
            doc = cjk(1000 + i, 3000);
        }
        char label[16];
        snprintf(label, sizeof(label), "doc%d", i);
        sim_corpus_add_text(c, label, 0, doc, strlen(doc), &e);
        free(doc);
    }
    json_t *r = NULL;
    sim_opts o = {.threshold = 0.3, .all_pairs_max = -1};
    CHECK_INT(sim_corpus_compare(c, &o, &r, &e), 0);
    CHECK_STR(json_string_value(json_object_get(r, "mode")), "lsh");
    CHECK(json_integer_value(json_object_get(r, "candidates")) < 100); /* not 44,850 */
    json_t *pairs = json_object_get(r, "pairs"), *p;
    CHECK_INT(json_array_size(pairs), 3);
    size_t i;
    json_array_foreach(pairs, i, p) {
        int a = (int)json_integer_value(json_object_get(p, "a"));
        int b = (int)json_integer_value(json_object_get(p, "b"));
        CHECK(b == a + 1 && (a == 17 || a == 140 || a == 250));
        CHECK(json_real_value(json_object_get(p, "jaccard")) > 0.5);
    }
    json_decref(r);
    sim_corpus_free(c);
    for (int k = 0; k < 3; k++)
        free(base[k]);
}

TEST(similarity_same_group_never_paired) {
    /* two files of one bid are alike by nature; the same text in another bid is not */
    char *t = cjk(77, 800);
    sim_corpus *c = sim_corpus_new();
    err e = {0};
    sim_corpus_add_text(c, "bid1-a", 1, t, strlen(t), &e);
    sim_corpus_add_text(c, "bid1-b", 1, t, strlen(t), &e);
    sim_corpus_add_text(c, "bid2", 2, t, strlen(t), &e);
    json_t *r = NULL;
    CHECK_INT(sim_corpus_compare(c, NULL, &r, &e), 0);
    json_t *pairs = json_object_get(r, "pairs"), *p;
    size_t i;
    CHECK_INT(json_array_size(pairs), 2);
    json_array_foreach(pairs, i, p) {
        CHECK_INT(json_integer_value(json_object_get(p, "b_group")), 2);
        CHECK(json_real_value(json_object_get(p, "jaccard")) > 0.99);
        CHECK(json_real_value(json_object_get(p, "similarity")) > 0.5); /* in all 3 docs: df 3 */
    }
    json_decref(r);
    sim_corpus_free(c);
    free(t);
}

TEST(similarity_empty_documents) {
    sim_corpus *c = sim_corpus_new();
    err e = {0};
    char *t = cjk(7, 500);
    CHECK_INT(sim_corpus_add_text(c, "empty", 0, "", 0, &e), 0);
    CHECK_INT(sim_corpus_add_text(c, "punct", 0, "，。 \n\t！", strlen("，。 \n\t！"), &e), 1);
    CHECK_INT(sim_corpus_add_text(c, "short", 0, "甲乙", 6, &e), 2);
    CHECK_INT(sim_corpus_add_text(c, "text", 0, t, strlen(t), &e), 3);
    json_t *r = NULL;
    CHECK_INT(sim_corpus_compare(c, NULL, &r, &e), 0);
    CHECK_INT(json_array_size(json_object_get(r, "pairs")), 0);
    json_decref(r);
    sim_corpus_free(c);
    /* empty input extracts to empty text */
    char *x = NULL;
    size_t n = 1;
    CHECK_INT(sim_extract((const unsigned char *)"", 0, &x, &n, &e), 0);
    CHECK(x && n == 0);
    free(x);
    free(t);
}

/* ---- extraction ---- */

static char tmpdir_[64];
static const char *tmpdir(void) {
    if (!tmpdir_[0]) {
        snprintf(tmpdir_, sizeof(tmpdir_), "/tmp/isle-sim-XXXXXX");
        if (!mkdtemp(tmpdir_)) tmpdir_[0] = 0;
    }
    return tmpdir_;
}

static int write_docx(const char *path, const char *xml, size_t len) {
    int zerr = 0;
    zip_t *z = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &zerr);
    if (!z) return -1;
    zip_source_t *s = zip_source_buffer(z, xml, len, 0);
    if (!s || zip_file_add(z, "word/document.xml", s, ZIP_FL_OVERWRITE) < 0) {
        zip_source_free(s);
        zip_discard(z);
        return -1;
    }
    const char *ct = "<?xml version=\"1.0\"?><Types/>";
    zip_source_t *s2 = zip_source_buffer(z, ct, strlen(ct), 0);
    zip_file_add(z, "[Content_Types].xml", s2, ZIP_FL_OVERWRITE);
    return zip_close(z);
}

TEST(similarity_extract_docx) {
    const char *xml =
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>"
        "<w:document xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\">"
        "<w:body><w:p><w:r><w:t>第一段：施工</w:t></w:r><w:r><w:t xml:space=\"preserve\">组织 "
        "设计</w:t></w:r></w:p>"
        "<w:p><w:r><w:t>第二段</w:t><w:tab/><w:t>&amp;说明</w:t></w:r></w:p>"
        "<w:p><w:del><w:r><w:delText>删除的字</w:delText></w:r></w:del></w:p></w:body></"
        "w:document>";
    char path[128];
    snprintf(path, sizeof(path), "%s/a.docx", tmpdir());
    CHECK_INT(write_docx(path, xml, strlen(xml)), 0);
    char *t = NULL;
    size_t n = 0;
    err e = {0};
    CHECK_INT(sim_extract_file(path, &t, &n, &e), 0);
    CHECK_STR(t, "第一段：施工组织 设计\n第二段\t&说明\n\n");
    free(t);
    /* a zip that is not a docx */
    snprintf(path, sizeof(path), "%s/b.zip", tmpdir());
    int zerr = 0;
    zip_t *z = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &zerr);
    zip_file_add(z, "readme.txt", zip_source_buffer(z, "hi", 2, 0), 0);
    zip_close(z);
    CHECK_INT(sim_extract_file(path, &t, &n, &e), -1);
    CHECK_STR(e.code, "unsupported_document");
    /* a truncated zip */
    CHECK_INT(sim_extract((const unsigned char *)"PK\x03\x04garbage", 11, &t, &n, &e), -1);
    CHECK_STR(e.code, "corrupt_document");
}

static long vm_hwm_kb(void) {
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return -1;
    char line[256];
    long v = -1;
    while (fgets(line, sizeof(line), f))
        if (!strncmp(line, "VmHWM:", 6)) v = strtol(line + 6, NULL, 10);
    fclose(f);
    return v;
}

TEST(similarity_zip_bomb_refused_with_bounded_memory) {
    /* 96 MiB of empty elements deflate to about 100 KB. */
    size_t len = 96u << 20;
    const char *head =
        "<w:document "
        "xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\"><w:body>";
    char *xml = malloc(len);
    if (!xml) return;
    size_t h = strlen(head);
    memcpy(xml, head, h);
    memset(xml + h, ' ', len - h);
    for (size_t i = h; i + 4 <= len; i += 4)
        memcpy(xml + i, "<x/>", 4);
    char path[128];
    snprintf(path, sizeof(path), "%s/bomb.docx", tmpdir());
    CHECK_INT(write_docx(path, xml, len - len % 4), 0);
    free(xml);
    FILE *f = fopen("/proc/self/clear_refs", "w"); /* reset the peak RSS */
    int reset = f && fputs("5", f) >= 0;
    if (f) fclose(f);
    long before = vm_hwm_kb();
    char *t = NULL;
    size_t n = 0;
    err e = {0};
    CHECK_INT(sim_extract_file(path, &t, &n, &e), -1);
    CHECK_INT(e.status, 413);
    CHECK_STR(e.code, "document_too_large");
    CHECK(strstr(e.message, "压缩炸弹") != NULL);
    long after = vm_hwm_kb();
#ifdef __SANITIZE_ADDRESS__
    reset = 0; /* ASan's redzones and quarantine keep freed memory resident: no RSS bound */
#endif
    if (reset && before > 0 && after > 0) {
        CHECK(after - before < 16 * 1024); /* streamed: far below the 96 MiB inflated */
        if (after - before >= 16 * 1024) fprintf(stderr, "    peak grew %ld KiB\n", after - before);
    }
    CHECK(t == NULL);
}

TEST(similarity_extract_pdf_and_refusals) {
    char path[128];
    snprintf(path, sizeof(path), "%s/a.pdf", tmpdir());
    HPDF_Doc pdf = HPDF_New(NULL, NULL);
    CHECK(pdf != NULL);
    if (pdf) {
        HPDF_Page page = HPDF_AddPage(pdf);
        HPDF_Font font = HPDF_GetFont(pdf, "Helvetica", NULL);
        HPDF_Page_BeginText(page);
        HPDF_Page_SetFontAndSize(page, font, 12);
        HPDF_Page_TextOut(page, 50, 700, "Construction plan for Dinghai road works");
        HPDF_Page_EndText(page);
        HPDF_SaveToFile(pdf, path);
        HPDF_Free(pdf);
    }
    char *t = NULL;
    size_t n = 0;
    err e = {0};
    CHECK_INT(sim_extract_file(path, &t, &n, &e), 0);
    CHECK(t && strstr(t, "Construction plan for Dinghai road works") != NULL);
    free(t);
    /* more pages than SIM_PDF_PAGES: refused before any text is read */
    snprintf(path, sizeof(path), "%s/long.pdf", tmpdir());
    pdf = HPDF_New(NULL, NULL);
    if (pdf) {
        for (int i = 0; i <= SIM_PDF_PAGES; i++)
            HPDF_AddPage(pdf);
        HPDF_SaveToFile(pdf, path);
        HPDF_Free(pdf);
    }
    CHECK_INT(sim_extract_file(path, &t, &n, &e), -1);
    CHECK_INT(e.status, 413);
    CHECK(strstr(e.message, "页上限") != NULL);
    /* corrupt PDF: header, then garbage */
    const char *bad = "%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 9 0 R >> garbage\n%%EOF";
    CHECK_INT(sim_extract((const unsigned char *)bad, strlen(bad), &t, &n, &e), -1);
    CHECK_INT(e.status, 422);
    CHECK_STR(e.code, "corrupt_document");
    /* old .doc and binary junk */
    CHECK_INT(sim_extract((const unsigned char *)"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", 8, &t, &n, &e),
              -1);
    CHECK_STR(e.code, "unsupported_document");
    CHECK_INT(sim_extract((const unsigned char *)"ab\0cd", 5, &t, &n, &e), -1);
    CHECK_STR(e.code, "unsupported_document");
    /* GB18030 text is converted */
    CHECK_INT(sim_extract((const unsigned char *)"\xD6\xDB\xC9\xBD", 4, &t, &n, &e), 0); /* 舟山 */
    CHECK_STR(t, "舟山");
    free(t);
    /* UTF-8 with one damaged byte in many is kept (the byte is skipped later) */
    {
        char buf[400];
        const char *w = "舟山市定海区道路改造工程投标文件第二章施工组织设计说明书";
        snprintf(buf, sizeof(buf), "%s%s\xff%s", w, w, w); /* 1 bad byte in 253 */
        CHECK_INT(sim_extract((const unsigned char *)buf, strlen(buf), &t, &n, &e), 0);
        free(t);
    }
    /* a missing file */
    CHECK_INT(sim_extract_file("/nonexistent/x.pdf", &t, &n, &e), -1);
    CHECK_INT(e.status, 404);
}

/* ---- the platform: opened bids' stored plaintexts ---- */

static int64_t q_id(db *d, const char *sql, const char *types, ...) {
    (void)types;
    int64_t id = 0;
    err e = {0};
    db_query_int(d, &e, &id, sql, "");
    return id;
}

static char *plain_json(const char *doc_text, const char *doc_name) {
    size_t n = strlen(doc_text);
    size_t cap = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
    char *b64 = malloc(cap);
    sodium_bin2base64(b64, cap, (const unsigned char *)doc_text, n, sodium_base64_VARIANT_ORIGINAL);
    json_t *j = json_pack("{s:s,s:{s:s},s:[{s:s,s:s}]}", "tender_no", "ZS-GC-2026-0901", "form",
                          "price", "100.00", "documents", "name", doc_name, "content_base64", b64);
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    free(b64);
    return s;
}

static int64_t add_opened_bid(db *d, int64_t tender, int64_t company, int64_t user, int64_t cert,
                              const char *plain, int write_file) {
    unsigned char h[32];
    char sha[65];
    crypto_hash_sha256(h, (const unsigned char *)plain, strlen(plain));
    sodium_bin2hex(sha, sizeof(sha), h, sizeof(h));
    err e = {0};
    if (write_file) {
        char dir[512], path[700];
        trade_dir("bids", dir, sizeof(dir), &e);
        snprintf(path, sizeof(path), "%s/%s.plain", dir, sha);
        FILE *f = fopen(path, "wb");
        if (f) {
            fputs(plain, f);
            fclose(f);
        }
    }
    int64_t id = 0;
    db_query_int(d, &e, &id,
                 "INSERT INTO bids (tender_id, company_id, user_id, cert_id, seq, status, "
                 "envelope_kind, envelope_sha256, envelope_size, commitment_sha256, "
                 "commitment_sig, receipt, receipt_sig, submitted_at, created_at, updated_at) "
                 "VALUES ($1, $2, $3, $4, 1, 'opened', 'cms', $5, 1, $5, 's', '{}', 's', $6, $6, "
                 "$6) RETURNING id",
                 "iiiiss", tender, company, user, cert, sha, "2026-06-14T00:00:00Z");
    return id;
}

TEST(similarity_tender_reads_opened_bids) {
    db *d = test_db_open();
    if (!d) return;
    err e = {0};
    char fdir[128];
    snprintf(fdir, sizeof(fdir), "%s/files", tmpdir());
    files_set_dir(fdir, &e);
    const char *desc =
        "本工程为定海区道路改造工程投标人须具备市政公用工程施工总承包三级及以上资质并"
        "在人员设备资金等方面具有相应的施工能力";
    json_t *pairs = NULL;
    CHECK_INT(similarity_tender(d, 999, &pairs, &e), -1);
    CHECK_INT(e.status, 404);
    int64_t user = 0, root = 0, cert = 0, tender = 0;
    db_query_int(d, &e, &user,
                 "INSERT INTO users (login, display_name, role, password_hash, created_at, "
                 "updated_at, password_changed_at) VALUES ('sb', 'sb', 'bidder', 'x', $1, $1, $1) "
                 "RETURNING id",
                 "s", "2026-01-01T00:00:00Z");
    int64_t co[4];
    for (int i = 0; i < 4; i++) {
        char uscc[32];
        snprintf(uscc, sizeof(uscc), "91330900MA2A00000%d", i);
        db_query_int(d, &e, &co[i],
                     "INSERT INTO trade_companies (uscc, name, created_at, updated_at) VALUES ($1, "
                     "$1, $2, $2) RETURNING id",
                     "ss", uscc, "2026-01-01T00:00:00Z");
    }
    root = q_id(d,
                "INSERT INTO ca_roots (name, subject, fingerprint, key_type, pem, not_after, "
                "added_at) VALUES ('t', 't', 'f', 'rsa', 'p', '2030-01-01T00:00:00Z', "
                "'2026-01-01T00:00:00Z') RETURNING id",
                "");
    db_query_int(d, &e, &cert,
                 "INSERT INTO trade_certs (user_id, company_id, fingerprint, serial, subject, "
                 "issuer, key_type, pubkey_sha256, ca_root_id, pem, not_before, not_after, "
                 "registered_at) VALUES ($1, $2, 'fp', '01', 's', 'i', 'rsa', 'pk', $3, 'p', "
                 "'2026-01-01T00:00:00Z', '2030-01-01T00:00:00Z', '2026-01-01T00:00:00Z') "
                 "RETURNING id",
                 "iii", user, co[0], root);
    db_query_int(d, &e, &tender,
                 "INSERT INTO tenders (tender_no, kind, title, buyer, method, status, description, "
                 "deadline_at, created_at, updated_at) VALUES ('ZS-GC-2026-0901', 'works', "
                 "'道路改造', '招标人', 'lowest_price', 'evaluation', $1, $2, $2, $2) RETURNING id",
                 "ss", desc, "2026-06-14T00:00:00Z");
    CHECK(tender > 0 && cert > 0);
    /* No bids yet: an empty result. */
    CHECK_INT(similarity_tender(d, tender, &pairs, &e), 0);
    CHECK_INT(json_array_size(pairs), 0);
    json_decref(pairs);
    const char *shared = "我方在东港路口设置临时导流栏杆七十二组由王建国同志负责每日巡查记录";
    char *o1 = cjk(61, 400), *o2 = cjk(62, 400), *o3 = cjk(63, 400);
    char *d1 = cat3(desc, o1, shared), *d2 = cat3(o2, shared, desc), *d3 = cat3(desc, o3, "");
    char *p1 = plain_json(d1, "技术标.txt"), *p2 = plain_json(d2, "技术标.txt"),
         *p3 = plain_json(d3, "技术标.txt"), *p4 = plain_json(d1, "purged.txt");
    int64_t b1 = add_opened_bid(d, tender, co[0], user, cert, p1, 1);
    int64_t b2 = add_opened_bid(d, tender, co[1], user, cert, p2, 1);
    add_opened_bid(d, tender, co[2], user, cert, p3, 1);
    /* a metadata-only bid (plaintext purged, a copy of bid 1): skipped */
    CHECK(add_opened_bid(d, tender, co[3], user, cert, p4, 0) > 0);
    CHECK_INT(similarity_tender(d, tender, &pairs, &e), 0);
    CHECK_INT(json_array_size(pairs), 1);
    json_t *p = json_array_get(pairs, 0);
    CHECK_INT(json_integer_value(json_object_get(p, "a_bid_id")), b1);
    CHECK_INT(json_integer_value(json_object_get(p, "b_bid_id")), b2);
    CHECK_STR(json_string_value(json_object_get(p, "a_doc")), "技术标.txt");
    json_t *x = json_array_get(json_object_get(p, "passages"), 0);
    CHECK(x && strstr(json_string_value(json_object_get(x, "a_text")), "王建国") != NULL);
    CHECK(x && strstr(json_string_value(json_object_get(x, "a_text")), "市政公用") == NULL);
    json_decref(pairs);
    free(o1), free(o2), free(o3), free(d1), free(d2), free(d3), free(p1), free(p2), free(p3),
        free(p4);
    db_close(d);
}
