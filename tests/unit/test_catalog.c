/* Unit tests for src/catalog/catalog.c: validation of every kind of field (with
 * the field's path in the error), the canonical form, importing the shipped
 * catalog into an in-memory SQLite database, all-or-nothing rollback of a bad
 * line, idempotent re-import, versions of changed items, export → import →
 * export byte identity, staff edits and the query functions.
 *
 * Run from the repository root (the data is read from data/catalog). */
#include "test.h"

#include <stdlib.h>
#include <unistd.h>

#include "base/xmalloc.h"
#include "catalog/catalog.h"
#include "db/db.h"
#include "db/migrate.h"

#define ITEMS    "data/catalog/items.jsonl"
#define BUNDLES  "data/catalog/bundles.json"
#define LICENCES "data/catalog/licences.json"
#define BIRTH    "330900-GA-100001" /* 出生登记: line 1, in bundle YJS-002 */

static const audit_actor test_actor = {0, "system", NULL};
static const audit_actor staff_actor = {7, "staff", "req-1"};

static int64_t catalog_rows(db *d) {
    return test_db_count(d, "SELECT COUNT(*) FROM catalog_items") +
           test_db_count(d, "SELECT COUNT(*) FROM catalog_item_versions") +
           test_db_count(d, "SELECT COUNT(*) FROM catalog_bundles") +
           test_db_count(d, "SELECT COUNT(*) FROM catalog_bundle_items") +
           test_db_count(d, "SELECT COUNT(*) FROM catalog_licences");
}

/* A database with the shipped catalog imported, or NULL. */
static db *imported_db(void) {
    db *d = test_db_open();
    if (!d) return NULL;
    err e = {0};
    catalog_counts c;
    if (catalog_import_file(d, ITEMS, BUNDLES, LICENCES, &test_actor, &c, &e) != 0) {
        fprintf(stderr, "    import: %s\n", e.message);
        db_close(d);
        return NULL;
    }
    return d;
}

/* ---- files ---- */

static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = xmalloc(cap);
    size_t got;
    while ((got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (cap - n - 1 == 0) buf = xrealloc(buf, cap *= 2);
    }
    fclose(f);
    buf[n] = '\0';
    if (len) *len = n;
    return buf;
}

static void spill(const char *path, const char *text, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return;
    fwrite(text, 1, n, f);
    fclose(f);
}

/* Line `line` (1-based, without newline) of the shipped items file. Caller frees. */
static char *item_line(int line) {
    char *text = slurp(ITEMS, NULL);
    if (!text) return NULL;
    char *p = text;
    for (int i = 1; i < line && p; i++) {
        p = strchr(p, '\n');
        if (p) p++;
    }
    char *out = NULL;
    if (p) {
        char *nl = strchr(p, '\n');
        out = xstrndup(p, nl ? (size_t)(nl - p) : strlen(p));
    }
    free(text);
    return out;
}

/* A temp copy of the items file, named items.jsonl in a new temp directory, with line
 * `line` replaced by `with` (NULL: unchanged). Remove it with remove_copy(). */
static char *items_copy(int line, const char *with) {
    char dir[] = "/tmp/isle-catalog-XXXXXX";
    if (!mkdtemp(dir)) return NULL;
    char *path = xmalloc(sizeof(dir) + 16);
    snprintf(path, sizeof(dir) + 16, "%s/items.jsonl", dir);
    size_t n;
    char *text = slurp(ITEMS, &n);
    if (!text) return path;
    size_t cap = n + (with ? strlen(with) : 0) + 2, o = 0;
    char *out = xmalloc(cap);
    int cur = 1;
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        const char *src = cur == line && with ? with : p;
        size_t sn = cur == line && with ? strlen(with) : len;
        memcpy(out + o, src, sn);
        o += sn;
        if (nl) out[o++] = '\n';
        p += len + (nl ? 1 : 0);
        cur++;
    }
    spill(path, out, o);
    free(out);
    free(text);
    return path;
}

/* Remove a copy made by items_copy() and free its name. */
static void remove_copy(char *path) {
    if (!path) return;
    unlink(path);
    char *slash = strrchr(path, '/');
    if (slash) {
        *slash = '\0';
        rmdir(path);
    }
    free(path);
}

/* The item on line `line` of the shipped file, parsed. Caller decrefs. */
static json_t *item_json(int line) {
    char *text = item_line(line);
    json_t *v = text ? json_loads(text, 0, NULL) : NULL;
    free(text);
    return v;
}

/* Compact dump of v (caller frees). */
static char *dump(json_t *v) {
    return json_dumps(v, JSON_PRESERVE_ORDER);
}

/* ---- validation ---- */

/* Validate item and expect a 400 naming field, with a message that is valid UTF-8 and
 * mentions the field. Consumes item. */
static void expect_invalid_at(json_t *item, const char *field, int line) {
    err e = {0};
    int rc = catalog_item_validate(item, &e);
    if (rc != -1 || strcmp(e.field, field) != 0) {
        fprintf(stderr, "    test_catalog.c:%d: expected field %s, got rc %d field \"%s\" (%s)\n",
                line, field, rc, e.field, e.message);
        test_failures_in_current++;
    }
    CHECK_INT(e.status, 400);
    CHECK_STR(e.code, "invalid_argument");
    json_t *m = json_string(e.message); /* NULL when not valid UTF-8 */
    CHECK(m != NULL);
    json_decref(m);
    CHECK(strstr(e.message, field) != NULL);
    json_decref(item);
}
#define EXPECT_INVALID(item, field) expect_invalid_at((item), (field), __LINE__)

/* The first shipped item with key set to v (stolen). */
static json_t *with(const char *key, json_t *v) {
    json_t *it = item_json(1);
    json_object_set_new(it, key, v);
    return it;
}

/* The first shipped item with materials[i].key set to v (stolen). */
static json_t *with_material(size_t i, const char *key, json_t *v) {
    json_t *it = item_json(1);
    json_object_set_new(json_array_get(json_object_get(it, "materials"), i), key, v);
    return it;
}

TEST(catalog_validate_shipped_items) {
    char *text = slurp(ITEMS, NULL);
    CHECK(text != NULL);
    if (!text) return;
    int n = 0, bad = 0;
    for (char *p = text; *p;) {
        char *nl = strchr(p, '\n');
        if (nl) *nl = '\0';
        json_t *it = json_loads(p, 0, NULL);
        err e = {0};
        char *canon = it ? catalog_item_canonical(it, &e) : NULL;
        /* The shipped lines are already canonical. */
        if (!canon || strcmp(canon, p) != 0) {
            if (!bad++)
                fprintf(stderr, "    line %d: %s\n", n + 1, canon ? "not canonical" : e.message);
        }
        free(canon);
        json_decref(it);
        n++;
        if (!nl) break;
        p = nl + 1;
    }
    CHECK_INT(n, 370);
    CHECK_INT(bad, 0);
    free(text);
}

TEST(catalog_validate_codes) {
    CHECK(catalog_code_valid("330900-GA-100001"));
    CHECK(catalog_code_valid("330922-STHJ-000001"));
    CHECK(!catalog_code_valid("330901-GA-100001")); /* not one of the five areas */
    CHECK(!catalog_code_valid("330900-G-100001"));
    CHECK(!catalog_code_valid("330900-ga-100001"));
    CHECK(!catalog_code_valid("330900-GA-10001"));
    CHECK(!catalog_code_valid("330900-GA-1000011"));
    CHECK(!catalog_code_valid("330900GA100001"));
    CHECK(!catalog_code_valid(""));
    CHECK(!catalog_code_valid(NULL));
    EXPECT_INVALID(with("code", json_string("330901-GA-100001")), "code");
    EXPECT_INVALID(with("code", json_integer(330900)), "code");
}

TEST(catalog_validate_scalar_fields) {
    EXPECT_INVALID(with("name", json_string("")), "name");
    EXPECT_INVALID(with("name", json_string("出生\n登记")), "name");
    char long_name[400];
    memset(long_name, 'x', sizeof(long_name) - 1);
    long_name[sizeof(long_name) - 1] = '\0';
    EXPECT_INVALID(with("name", json_string(long_name)), "name");
    EXPECT_INVALID(with("type", json_string("行政审批")), "type");
    EXPECT_INVALID(with("department", json_integer(1)), "department");
    EXPECT_INVALID(with("level", json_string("省级")), "level");
    EXPECT_INVALID(with("legal_days", json_string("20")), "legal_days");
    EXPECT_INVALID(with("legal_days", json_integer(-1)), "legal_days");
    EXPECT_INVALID(with("legal_days", json_integer(400)), "legal_days");
    EXPECT_INVALID(with("legal_days", json_real(2.3)), "legal_days");
    json_t *it = with("legal_days", json_integer(5));
    json_object_set_new(it, "promise_days", json_integer(6));
    EXPECT_INVALID(it, "promise_days");
    EXPECT_INVALID(with("fee", json_string("")), "fee");
    EXPECT_INVALID(with("online_depth", json_integer(5)), "online_depth");
    EXPECT_INVALID(with("online_depth", json_integer(0)), "online_depth");
    EXPECT_INVALID(with("online_depth", json_real(4.0)), "online_depth");
    EXPECT_INVALID(with("visits", json_integer(3)), "visits");
    EXPECT_INVALID(with("commitment", json_string("yes")), "commitment");
    EXPECT_INVALID(with("instant", json_integer(1)), "instant");
    EXPECT_INVALID(with("conditions", json_array()), "conditions");
    EXPECT_INVALID(with("phone", json_string("0580\n1")), "phone");
    EXPECT_INVALID(with("colour", json_string("blue")), "colour");
    it = item_json(1);
    json_object_del(it, "fee");
    EXPECT_INVALID(it, "fee");
    EXPECT_INVALID(with("hours", json_null()), "hours");
    err e = {0};
    json_t *arr = json_array();
    CHECK_INT(catalog_item_validate(arr, &e), -1);
    json_decref(arr);
}

TEST(catalog_validate_lists) {
    EXPECT_INVALID(with("handle_at", json_array()), "handle_at");
    EXPECT_INVALID(with("handle_at", json_pack("[s]", "火星")), "handle_at[0]");
    EXPECT_INVALID(with("handle_at", json_pack("[ss]", "浙里办", "浙里办")), "handle_at[1]");
    EXPECT_INVALID(with("handle_at", json_string("浙里办")), "handle_at");
    EXPECT_INVALID(with("scope", json_pack("[ss]", "全省通办", "全国通办")), "scope[1]");
    EXPECT_INVALID(with("process", json_pack("[ss]", "申请", "")), "process[1]");
    EXPECT_INVALID(with("keywords", json_pack("[si]", "出生", 3)), "keywords[1]");
    EXPECT_INVALID(with("keywords", json_pack("[ss]", "出生", "出生")), "keywords[1]");
    EXPECT_INVALID(with("faq", json_pack("[{ss}]", "q", "问？")), "faq[0].a");
    EXPECT_INVALID(with("faq", json_pack("[{ssss}]", "q", "问？", "a", "")), "faq[0].a");
    EXPECT_INVALID(with("faq", json_pack("[{ssssss}]", "q", "问", "a", "答", "x", "y")),
                   "faq[0].x");
    EXPECT_INVALID(with("materials", json_pack("[s]", "身份证")), "materials[0]");
}

TEST(catalog_validate_materials) {
    EXPECT_INVALID(with_material(2, "form", json_string("扫描件")), "materials[2].form");
    EXPECT_INVALID(with_material(0, "source", json_string("网上下载")), "materials[0].source");
    EXPECT_INVALID(with_material(1, "copies", json_integer(100)), "materials[1].copies");
    EXPECT_INVALID(with_material(1, "copies", json_integer(-1)), "materials[1].copies");
    EXPECT_INVALID(with_material(3, "required", json_string("true")), "materials[3].required");
    EXPECT_INVALID(with_material(0, "name", json_string("")), "materials[0].name");
    EXPECT_INVALID(with_material(0, "licence", json_integer(1)), "materials[0].licence");
    EXPECT_INVALID(with_material(0, "licence", json_string("")), "materials[0].licence");
    EXPECT_INVALID(with_material(4, "scan", json_true()), "materials[4].scan");
    json_t *it = item_json(1);
    json_object_del(json_array_get(json_object_get(it, "materials"), 2), "form");
    EXPECT_INVALID(it, "materials[2].form");
    /* An unknown key's name is cut on a character boundary in the error. */
    err e = {0};
    it = with("很长很长很长很长很长很长很长很长很长很长的字段", json_true());
    CHECK_INT(catalog_item_validate(it, &e), -1);
    json_t *f = json_string(e.field);
    CHECK(f != NULL);
    json_decref(f);
    json_decref(it);
}

TEST(catalog_canonical_form) {
    err e = {0};
    char *original = item_line(1);
    /* Keys in another order, whole days as reals and a material without "licence"
     * give the same canonical text once licence is null. */
    json_t *it = item_json(1);
    json_t *shuffled = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(it, k, v) {
        if (strcmp(k, "code") != 0) json_object_set(shuffled, k, v);
    }
    json_object_set(shuffled, "code", json_object_get(it, "code"));
    json_object_set_new(shuffled, "legal_days", json_real(0.0));
    json_t *last = json_array_get(json_object_get(shuffled, "materials"), 4);
    CHECK(json_is_null(json_object_get(last, "licence")));
    json_object_del(last, "licence");
    char *canon = catalog_item_canonical(shuffled, &e);
    CHECK(canon != NULL);
    if (canon && original) CHECK_STR(canon, original);
    free(canon);
    /* Half days stay reals. */
    json_object_set_new(shuffled, "promise_days", json_real(0.5));
    json_object_set_new(shuffled, "legal_days", json_integer(1));
    canon = catalog_item_canonical(shuffled, &e);
    CHECK(canon && strstr(canon, "\"legal_days\": 1, \"promise_days\": 0.5,") != NULL);
    free(canon);
    json_decref(shuffled);
    json_decref(it);
    free(original);
}

/* ---- import ---- */

TEST(catalog_import_shipped) {
    db *d = test_db_open();
    CHECK(d != NULL);
    if (!d) return;
    err e = {0};
    catalog_counts c = {0};
    int rc = catalog_import_file(d, ITEMS, BUNDLES, LICENCES, &test_actor, &c, &e);
    if (rc != 0) fprintf(stderr, "    import: %s\n", e.message);
    CHECK_INT(rc, 0);
    CHECK_INT(c.items, 370);
    CHECK_INT(c.inserted, 370);
    CHECK_INT(c.updated, 0);
    CHECK_INT(c.unchanged, 0);
    CHECK_INT(c.bundles, 15);
    CHECK_INT(c.licences, 50);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM catalog_items"), 370);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM catalog_items WHERE version = 1"), 370);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM catalog_item_versions"), 370);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM catalog_bundles"), 15);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM catalog_licences"), 50);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM catalog_items WHERE area_code = '330900'"),
              198);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM catalog_items WHERE promise_days = 0.5"), 8);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM catalog_items WHERE scope_cross_province = 1"),
              76);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM catalog_items WHERE scope_province = 1"), 177);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM catalog_items WHERE scope_yongzhou = 1"), 53);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM catalog_items WHERE commitment = 1"), 52);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM catalog_items WHERE instant = 1"), 57);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM audit_log WHERE action = 'catalog.import'"),
              1);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM audit_log"), 1);
    db_close(d);
}

/* Import path into a fresh database and expect a 422 (or status) naming field, with a
 * message starting with prefix, and nothing written. */
static void expect_bad_import(const char *items, const char *bundles, const char *licences,
                              int status, const char *field, const char *prefix, int line) {
    db *d = test_db_open();
    CHECK(d != NULL);
    if (!d) return;
    err e = {0};
    catalog_counts c = {0};
    CHECK_INT(catalog_import_file(d, items, bundles, licences, &test_actor, &c, &e), -1);
    if (e.status != status || strcmp(e.field, field) != 0 ||
        strncmp(e.message, prefix, strlen(prefix)) != 0) {
        fprintf(stderr,
                "    test_catalog.c:%d: got %d field \"%s\" message \"%s\"; expected %d \"%s\" "
                "\"%s…\"\n",
                line, e.status, e.field, e.message, status, field, prefix);
        test_failures_in_current++;
    }
    CHECK_INT(catalog_rows(d), 0);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM audit_log"), 0);
    db_close(d);
}

TEST(catalog_import_bad_line_names_line_and_field) {
    json_t *it = item_json(300);
    json_object_set_new(json_array_get(json_object_get(it, "materials"), 2), "form",
                        json_string("扫描件"));
    char *bad_line = dump(it);
    json_decref(it);
    char *path = items_copy(300, bad_line);
    CHECK(path != NULL);
    if (path) {
        /* Nothing of lines 1–299 (valid) may be left behind. */
        expect_bad_import(path, BUNDLES, LICENCES, 422, "materials[2].form",
                          "items.jsonl line 300: field materials[2].form: ", __LINE__);
    }
    free(bad_line);
    remove_copy(path);

    struct {
        int line;
        const char *with;
        const char *field;
        const char *prefix;
    } cases[] = {
        {5, "{\"code\": \"330900-GA-100005\",", "", "items.jsonl line 5: JSON"},
        {9, "[1, 2]", "", "items.jsonl line 9: "},
        {200, "{}", "code", "items.jsonl line 200: field code: "},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        path = items_copy(cases[i].line, cases[i].with);
        if (!path) continue;
        expect_bad_import(path, NULL, NULL, 422, cases[i].field, cases[i].prefix, __LINE__);
        remove_copy(path);
    }
}

TEST(catalog_import_duplicates_and_references) {
    /* Line 40 repeats the code of line 1. */
    json_t *it = item_json(40);
    json_object_set_new(it, "code", json_string(BIRTH));
    char *line = dump(it);
    json_decref(it);
    char *path = items_copy(40, line);
    free(line);
    if (path) {
        expect_bad_import(path, NULL, NULL, 422, "code",
                          "items.jsonl line 40: field code: ", __LINE__);
        remove_copy(path);
    }
    /* A licence name that licences.json does not have. */
    it = item_json(1);
    json_object_set_new(json_array_get(json_object_get(it, "materials"), 1), "licence",
                        json_string("宇宙通行证"));
    line = dump(it);
    json_decref(it);
    path = items_copy(1, line);
    free(line);
    if (path) {
        expect_bad_import(path, BUNDLES, LICENCES, 422, "materials[1].licence",
                          "items.jsonl line 1: field materials[1].licence: ", __LINE__);
        /* Without licences.json the name is not checked. */
        db *d = test_db_open();
        err e = {0};
        CHECK_INT(catalog_import_file(d, path, NULL, NULL, &test_actor, NULL, &e), 0);
        db_close(d);
        remove_copy(path);
    }
    /* A bundle naming an item that is neither in the file nor in the database. */
    size_t n;
    char *bundles = slurp(BUNDLES, &n);
    char *p = bundles ? strstr(bundles, "\"330900-GA-100001\"") : NULL;
    CHECK(p != NULL);
    if (p) {
        memcpy(p + 1, "330900-GA-999999", 16);
        char dir[] = "/tmp/isle-bundles-XXXXXX";
        if (mkdtemp(dir)) {
            char bpath[64];
            snprintf(bpath, sizeof(bpath), "%s/bundles.json", dir);
            spill(bpath, bundles, n);
            expect_bad_import(ITEMS, bpath, LICENCES, 422, "items[1]",
                              "bundles.json: entry 2: field items[1]: ", __LINE__);
            unlink(bpath);
            rmdir(dir);
        }
    }
    free(bundles);
}

TEST(catalog_import_limits_and_formats) {
    /* A line over 256 KiB is refused with 413 and its line number. */
    size_t big = CATALOG_MAX_LINE_BYTES + 10;
    char *huge = xmalloc(big + 1);
    memset(huge, ' ', big);
    huge[0] = '{';
    huge[big - 1] = '}';
    huge[big] = '\0';
    char *path = items_copy(3, huge);
    free(huge);
    if (path) {
        expect_bad_import(path, NULL, NULL, 413, "", "items.jsonl line 3: longer than", __LINE__);
        remove_copy(path);
    }
    /* BOM, CRLF line ends and blank lines are accepted. */
    char *l1 = item_line(1), *l2 = item_line(2);
    char *text = xmalloc(strlen(l1) + strlen(l2) + 32);
    int len = snprintf(text, strlen(l1) + strlen(l2) + 32, "\xEF\xBB\xBF%s\r\n\r\n  \n%s", l1, l2);
    char tpath[] = "/tmp/isle-crlf-XXXXXX";
    int fd = mkstemp(tpath);
    if (fd >= 0) {
        close(fd);
        spill(tpath, text, (size_t)len);
        db *d = test_db_open();
        err e = {0};
        catalog_counts c = {0};
        int rc = catalog_import_file(d, tpath, NULL, NULL, &test_actor, &c, &e);
        if (rc) fprintf(stderr, "    %s\n", e.message);
        CHECK_INT(rc, 0);
        CHECK_INT(c.inserted, 2);
        db_close(d);
        unlink(tpath);
    }
    free(text);
    free(l1);
    free(l2);
    /* A missing file. */
    db *d = test_db_open();
    err e = {0};
    CHECK_INT(catalog_import_file(d, "/nonexistent/items.jsonl", NULL, NULL, &test_actor, NULL, &e),
              -1);
    CHECK_INT(e.status, 422);
    db_close(d);
}

TEST(catalog_reimport_is_idempotent) {
    db *d = imported_db();
    CHECK(d != NULL);
    if (!d) return;
    err e = {0};
    catalog_counts c = {0};
    CHECK_INT(catalog_import_file(d, ITEMS, BUNDLES, LICENCES, &test_actor, &c, &e), 0);
    CHECK_INT(c.items, 370);
    CHECK_INT(c.inserted, 0);
    CHECK_INT(c.updated, 0);
    CHECK_INT(c.unchanged, 370);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM catalog_items WHERE version <> 1"), 0);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM catalog_item_versions"), 370);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM catalog_bundle_items"), 66);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM audit_log WHERE action = 'catalog.import'"),
              2);
    db_close(d);
}

TEST(catalog_changed_item_gets_a_version) {
    db *d = imported_db();
    CHECK(d != NULL);
    if (!d) return;
    json_t *it = item_json(1);
    json_object_set_new(it, "promise_days", json_real(0.5));
    char *line = dump(it);
    json_decref(it);
    char *path = items_copy(1, line);
    free(line);
    err e = {0};
    catalog_counts c = {0};
    CHECK_INT(catalog_import_file(d, path, NULL, NULL, &test_actor, &c, &e), 0);
    CHECK_INT(c.updated, 1);
    CHECK_INT(c.unchanged, 369);
    CHECK_INT(c.inserted, 0);
    CHECK_INT(test_db_count(d, "SELECT version FROM catalog_items WHERE code = '" BIRTH "'"), 2);
    CHECK_INT(
        test_db_count(d, "SELECT COUNT(*) FROM catalog_item_versions WHERE code = '" BIRTH "'"), 2);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM catalog_items WHERE version = 2"), 1);
    json_t *v = catalog_item_versions(d, BIRTH, &e);
    CHECK(v != NULL);
    json_t *items = json_object_get(v, "items");
    CHECK_INT(json_array_size(items), 2);
    CHECK_INT(json_integer_value(json_object_get(json_array_get(items, 0), "version")), 2);
    json_t *newest = json_object_get(json_array_get(items, 0), "item");
    CHECK(json_real_value(json_object_get(newest, "promise_days")) == 0.5);
    CHECK_INT(json_integer_value(json_object_get(json_object_get(json_array_get(items, 1), "item"),
                                                 "promise_days")),
              0);
    json_decref(v);
    /* Importing the original file again is a change back: version 3. */
    CHECK_INT(catalog_import_file(d, ITEMS, NULL, NULL, &test_actor, &c, &e), 0);
    CHECK_INT(c.updated, 1);
    CHECK_INT(test_db_count(d, "SELECT version FROM catalog_items WHERE code = '" BIRTH "'"), 3);
    remove_copy(path);
    db_close(d);
}

/* Export d into three new heap strings. */
static int export_all(db *d, char **items, char **bundles, char **licences) {
    size_t n1, n2, n3;
    FILE *f1 = open_memstream(items, &n1), *f2 = open_memstream(bundles, &n2),
         *f3 = open_memstream(licences, &n3);
    err e = {0};
    int rc = catalog_export(d, f1, f2, f3, &e);
    if (rc) fprintf(stderr, "    export: %s\n", e.message);
    fclose(f1);
    fclose(f2);
    fclose(f3);
    return rc;
}

TEST(catalog_export_round_trip) {
    db *d = imported_db();
    CHECK(d != NULL);
    if (!d) return;
    char *items = NULL, *bundles = NULL, *licences = NULL;
    CHECK_INT(export_all(d, &items, &bundles, &licences), 0);
    db_close(d);
    if (!items) return;
    /* The shipped bundles and licences come back byte for byte (but for a final newline). */
    char *sb = slurp(BUNDLES, NULL), *sl = slurp(LICENCES, NULL);
    CHECK(sb && strncmp(sb, bundles, strlen(sb)) == 0);
    CHECK(sl && strncmp(sl, licences, strlen(sl)) == 0);
    free(sb);
    free(sl);
    /* Items come in code order, each line exactly as shipped. */
    int lines = 0, sorted = 1;
    char prev[64] = "";
    for (char *p = items; *p; lines++) {
        char *nl = strchr(p, '\n');
        CHECK(nl != NULL);
        if (!nl) break;
        if (strncmp(p, "{\"code\": \"", 10) == 0) {
            char code[64];
            size_t len = strcspn(p + 10, "\"");
            snprintf(code, sizeof(code), "%.*s", (int)len, p + 10);
            if (strcmp(prev, code) >= 0) sorted = 0;
            snprintf(prev, sizeof(prev), "%s", code);
        } else {
            sorted = 0;
        }
        p = nl + 1;
    }
    CHECK_INT(lines, 370);
    CHECK(sorted);
    char *first = item_line(1);
    CHECK(first && strstr(items, first) != NULL);
    free(first);

    /* export → import into a new database → export: identical bytes. */
    char ip[] = "/tmp/isle-exp-items-XXXXXX", bp[] = "/tmp/isle-exp-bundles-XXXXXX",
         lp[] = "/tmp/isle-exp-licences-XXXXXX";
    int fds[3] = {mkstemp(ip), mkstemp(bp), mkstemp(lp)};
    for (int i = 0; i < 3; i++)
        if (fds[i] >= 0) close(fds[i]);
    spill(ip, items, strlen(items));
    spill(bp, bundles, strlen(bundles));
    spill(lp, licences, strlen(licences));
    db *d2 = test_db_open();
    err e = {0};
    catalog_counts c = {0};
    CHECK_INT(catalog_import_file(d2, ip, bp, lp, &test_actor, &c, &e), 0);
    CHECK_INT(c.inserted, 370);
    char *items2 = NULL, *bundles2 = NULL, *licences2 = NULL;
    CHECK_INT(export_all(d2, &items2, &bundles2, &licences2), 0);
    CHECK(items2 && strcmp(items, items2) == 0);
    CHECK(bundles2 && strcmp(bundles, bundles2) == 0);
    CHECK(licences2 && strcmp(licences, licences2) == 0);
    db_close(d2);
    unlink(ip);
    unlink(bp);
    unlink(lp);
    free(items);
    free(bundles);
    free(licences);
    free(items2);
    free(bundles2);
    free(licences2);
}

/* ---- staff edits ---- */

TEST(catalog_item_update_versions_and_audit) {
    db *d = imported_db();
    CHECK(d != NULL);
    if (!d) return;
    err e = {0};
    json_t *it = item_json(1);
    json_object_set_new(it, "fee", json_string("不收费（测试修改）"));
    CHECK_INT(catalog_item_update(d, &staff_actor, BIRTH, it, 1, &e), 0);
    CHECK_INT(test_db_count(d, "SELECT version FROM catalog_items WHERE code = '" BIRTH "'"), 2);
    CHECK_INT(
        test_db_count(d, "SELECT COUNT(*) FROM catalog_item_versions WHERE code = '" BIRTH "'"), 2);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM catalog_item_versions WHERE code = '" BIRTH
                               "' AND version = 2 AND changed_by = 'staff'"),
              1);
    CHECK_INT(test_db_count(d,
                            "SELECT COUNT(*) FROM audit_log WHERE action = 'catalog.item.update' "
                            "AND object_id = '" BIRTH "' AND actor_login = 'staff' "
                            "AND before_json LIKE '%\"不收费\"%' AND after_json LIKE '%测试修改%'"),
              1);
    json_t *got = catalog_item_get(d, BIRTH, &e);
    CHECK(got != NULL);
    CHECK_STR(json_string_value(json_object_get(got, "fee")), "不收费（测试修改）");
    CHECK_INT(json_integer_value(json_object_get(got, "version")), 2);
    json_decref(got);
    /* The same content again: no new version, no audit row. */
    CHECK_INT(catalog_item_update(d, &staff_actor, BIRTH, it, 0, &e), 0);
    CHECK_INT(test_db_count(d, "SELECT version FROM catalog_items WHERE code = '" BIRTH "'"), 2);
    CHECK_INT(
        test_db_count(d, "SELECT COUNT(*) FROM audit_log WHERE action = 'catalog.item.update'"), 1);
    /* A stale version is a conflict. */
    json_object_set_new(it, "fee", json_string("另一次修改"));
    CHECK_INT(catalog_item_update(d, &staff_actor, BIRTH, it, 1, &e), -1);
    CHECK_INT(e.status, 409);
    /* Code in the body must match; unknown codes are 404; bad fields 400. */
    CHECK_INT(catalog_item_update(d, &staff_actor, "330900-GA-100002", it, 0, &e), -1);
    CHECK_INT(e.status, 400);
    CHECK_STR(e.field, "code");
    json_object_set_new(it, "code", json_string("330900-GA-999999"));
    CHECK_INT(catalog_item_update(d, &staff_actor, "330900-GA-999999", it, 0, &e), -1);
    CHECK_INT(e.status, 404);
    json_object_set_new(it, "code", json_string(BIRTH));
    json_object_set_new(json_array_get(json_object_get(it, "materials"), 0), "licence",
                        json_string("宇宙通行证"));
    CHECK_INT(catalog_item_update(d, &staff_actor, BIRTH, it, 0, &e), -1);
    CHECK_INT(e.status, 400);
    CHECK_STR(e.field, "materials[0].licence");
    CHECK_INT(test_db_count(d, "SELECT version FROM catalog_items WHERE code = '" BIRTH "'"), 2);
    json_decref(it);
    db_close(d);
}

TEST(catalog_strip_readonly_accepts_fetched_item) {
    db *d = imported_db();
    CHECK(d != NULL);
    if (!d) return;
    err e = {0};
    json_t *got = catalog_item_get(d, BIRTH, &e);
    CHECK(got != NULL);
    if (!got) {
        db_close(d);
        return;
    }
    CHECK_INT(catalog_item_validate(got, &e), -1); /* GET's extra keys are not item keys */
    int64_t version = 0;
    catalog_item_strip_readonly(got, &version);
    CHECK_INT(version, 1);
    CHECK_INT(catalog_item_validate(got, &e), 0);
    char *canon = catalog_item_canonical(got, &e);
    char *line = item_line(1);
    CHECK(canon && line && strcmp(canon, line) == 0);
    free(canon);
    free(line);
    json_decref(got);
    db_close(d);
}

/* ---- queries ---- */

TEST(catalog_item_get_enriched) {
    db *d = imported_db();
    CHECK(d != NULL);
    if (!d) return;
    err e = {0};
    json_t *it = catalog_item_get(d, BIRTH, &e);
    CHECK(it != NULL);
    if (it) {
        CHECK_STR(json_string_value(json_object_get(it, "name")), "出生登记");
        CHECK_INT(json_integer_value(json_object_get(it, "version")), 1);
        CHECK(json_is_string(json_object_get(it, "updated_at")));
        json_t *b = json_object_get(it, "bundles");
        CHECK_INT(json_array_size(b), 1);
        CHECK_STR(json_string_value(json_object_get(json_array_get(b, 0), "code")), "YJS-002");
        json_t *m0 = json_array_get(json_object_get(it, "materials"), 0);
        CHECK_STR(json_string_value(json_object_get(m0, "licence_trust_level")), "A");
        CHECK(json_is_string(json_object_get(m0, "licence_issuer")));
        json_t *m4 = json_array_get(json_object_get(it, "materials"), 4);
        CHECK(json_object_get(m4, "licence_issuer") == NULL);
        json_decref(it);
    }
    CHECK(catalog_item_get(d, "330900-GA-999999", &e) == NULL);
    CHECK_INT(e.status, 404);
    CHECK(catalog_item_get(d, "'; DROP TABLE catalog_items; --", &e) == NULL);
    CHECK_INT(e.status, 404);
    db_close(d);
}

TEST(catalog_item_list_filters) {
    db *d = imported_db();
    CHECK(d != NULL);
    if (!d) return;
    err e = {0};
    json_t *all = catalog_item_list(d, NULL, &e);
    CHECK_INT(json_integer_value(json_object_get(all, "total")), 370);
    CHECK_INT(json_array_size(json_object_get(all, "items")), CATALOG_DEFAULT_LIMIT);
    json_decref(all);
    catalog_filter f = {.department = "舟山市公安局", .limit = 200};
    json_t *police = catalog_item_list(d, &f, &e);
    CHECK_INT(json_integer_value(json_object_get(police, "total")), 47);
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(police, "items"), i, x)
        CHECK_STR(json_string_value(json_object_get(x, "department")), "舟山市公安局");
    json_decref(police);
    catalog_filter g = {.type = "行政许可", .area = "330903", .limit = 1000, .offset = 0};
    json_t *page = catalog_item_list(d, &g, &e);
    CHECK_INT(json_integer_value(json_object_get(page, "limit")), CATALOG_MAX_LIMIT);
    int64_t want =
        test_db_count(d, "SELECT COUNT(*) FROM catalog_items WHERE type = '行政许可' AND "
                         "area_code = '330903'");
    CHECK(want > 0);
    CHECK_INT(json_integer_value(json_object_get(page, "total")), want);
    json_array_foreach(json_object_get(page, "items"), i, x) {
        CHECK_STR(json_string_value(json_object_get(x, "type")), "行政许可");
        CHECK_STR(json_string_value(json_object_get(x, "area_code")), "330903");
        CHECK(json_is_array(json_object_get(x, "scope")));
        CHECK(json_is_integer(json_object_get(x, "legal_days")));
    }
    json_decref(page);
    json_t *deps = catalog_departments(d, &e);
    json_t *top = json_array_get(json_object_get(deps, "items"), 0);
    CHECK_STR(json_string_value(json_object_get(top, "department")), "舟山市公安局");
    CHECK_INT(json_integer_value(json_object_get(top, "count")), 47);
    json_decref(deps);
    json_t *bundles = catalog_bundles(d, &e);
    CHECK_INT(json_array_size(json_object_get(bundles, "items")), 15);
    json_decref(bundles);
    json_t *b = catalog_bundle_get(d, "YJS-002", &e);
    CHECK(b != NULL);
    CHECK_INT(json_array_size(json_object_get(b, "items")), 5);
    CHECK_STR(
        json_string_value(json_object_get(json_array_get(json_object_get(b, "items"), 1), "name")),
        "出生登记");
    json_decref(b);
    CHECK(catalog_bundle_get(d, "YJS-999", &e) == NULL);
    CHECK_INT(e.status, 404);
    json_t *lic = catalog_licences(d, &e);
    CHECK_INT(json_array_size(json_object_get(lic, "items")), 50);
    json_decref(lic);
    db_close(d);
}

struct walk {
    int n;
    int stop_at;
    char last[64];
    int ordered;
};

static int walk_fn(void *ctx, json_t *item) {
    struct walk *w = ctx;
    const char *code = json_string_value(json_object_get(item, "code"));
    if (!code || strcmp(w->last, code) >= 0) w->ordered = 0;
    snprintf(w->last, sizeof(w->last), "%s", code ? code : "");
    if (!json_is_integer(json_object_get(item, "popularity"))) w->ordered = 0;
    w->n++;
    return w->n == w->stop_at ? 7 : 0;
}

TEST(catalog_for_each_walks_all_items) {
    db *d = imported_db();
    CHECK(d != NULL);
    if (!d) return;
    err e = {0};
    struct walk w = {.ordered = 1};
    CHECK_INT(catalog_for_each(d, walk_fn, &w, &e), 0);
    CHECK_INT(w.n, 370);
    CHECK(w.ordered);
    struct walk s = {.stop_at = 300, .ordered = 1};
    CHECK_INT(catalog_for_each(d, walk_fn, &s, &e), 7);
    CHECK_INT(s.n, 300);
    db_close(d);
}
