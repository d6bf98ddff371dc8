/* Unit tests for src/proofs/: the canonical payload (exact bytes), the key file
 * (PKCS#8 PEM, 0600, refuses to overwrite), Ed25519 sign/verify, the QR text's
 * parser, offline verification (tampered field, wrong key, expired), name
 * masking, the PDF (starts with %PDF, the QR text found again), and the whole
 * village → town → district flow on a database with separation of duties,
 * verification that names the altered field, and revocation.
 *
 * Run from the repository root (notification templates come from data/). */
#include "test.h"

#include <ftw.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth/roles.h"
#include "base/jsonx.h"
#include "base/timeutil.h"
#include "db/db.h"
#include "files/files.h"
#include "notify/notify.h"
#include "proofs/proofs.h"

#define NOW "2026-06-15T02:00:00Z" /* 10:00 in Zhoushan */

static void sample_fields(proofs_fields *f) {
    memset(f, 0, sizeof(*f));
    snprintf(f->proof_no, sizeof(f->proof_no), "ZM7K3M9Q2XWA5B");
    snprintf(f->kind, sizeof(f->kind), "residence");
    snprintf(f->holder, sizeof(f->holder), "张*婆 3309**********0021");
    snprintf(f->issuer, sizeof(f->issuer), "舟山市定海区人民政府");
    snprintf(f->issued_at, sizeof(f->issued_at), "2026-06-15T02:00:00Z");
    snprintf(f->valid_until, sizeof(f->valid_until), "2026-09-13");
    snprintf(f->content_sha256, sizeof(f->content_sha256),
             "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08");
    snprintf(f->key_id, sizeof(f->key_id), "0123456789abcdef");
}

/* A fresh temporary directory for keys and files; caller frees nothing (static). */
static const char *tmpdir(void) {
    static char dir[64];
    snprintf(dir, sizeof(dir), "/tmp/isle-proofs-XXXXXX");
    return mkdtemp(dir);
}

TEST(proofs_payload_is_canonical) {
    proofs_fields f;
    sample_fields(&f);
    char *p = NULL;
    err e = {0};
    CHECK_INT(proofs_payload(&f, &p, &e), 0);
    CHECK_STR(p,
              "ISLEPROOF1|ZM7K3M9Q2XWA5B|residence|张*婆 3309**********0021|舟山市定海区人民政府|"
              "2026-06-15T02:00:00Z|2026-09-13|"
              "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08|0123456789abcdef");
    free(p);
    /* A field holding the separator, a control character or nothing is refused by name. */
    snprintf(f.issuer, sizeof(f.issuer), "某|局");
    CHECK_INT(proofs_payload(&f, &p, &e), -1);
    CHECK_STR(e.field, "issuer");
    sample_fields(&f);
    snprintf(f.holder, sizeof(f.holder), "张\n婆");
    CHECK_INT(proofs_payload(&f, &p, &e), -1);
    CHECK_STR(e.field, "holder");
    sample_fields(&f);
    f.valid_until[0] = '\0';
    CHECK_INT(proofs_payload(&f, &p, &e), -1);
    CHECK_STR(e.field, "valid_until");
}

TEST(proofs_key_file_pem_0600_and_no_overwrite) {
    const char *dir = tmpdir();
    CHECK(dir != NULL);
    if (!dir) return;
    char path[128];
    snprintf(path, sizeof(path), "%s/keys/proof.pem", dir);
    proofs_key k, again;
    err e = {0};
    CHECK_INT(proofs_key_load(path, &k, &e), -1);
    CHECK_INT(e.status, 404);
    CHECK_INT(proofs_key_generate(path, 0, &k, &e), 0);
    struct stat st;
    CHECK_INT(stat(path, &st), 0);
    CHECK_INT(st.st_mode & 0777, 0600);
    FILE *f = fopen(path, "r");
    char text[256] = "";
    if (f) {
        size_t n = fread(text, 1, sizeof(text) - 1, f);
        text[n] = '\0';
        fclose(f);
    }
    CHECK(strncmp(text, "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEI", 49) == 0);
    CHECK_INT(proofs_key_load(path, &again, &e), 0);
    CHECK(memcmp(k.pk, again.pk, 32) == 0);
    CHECK_STR(k.key_id, again.key_id);
    CHECK_INT(strlen(k.key_id), 16);
    CHECK_INT(proofs_key_generate(path, 0, &again, &e), -1);
    CHECK_INT(e.status, 409);
    CHECK_INT(proofs_key_generate(path, 1, &again, &e), 0);
    CHECK(memcmp(k.pk, again.pk, 32) != 0);

    char pem[160], b64[64];
    proofs_pubkey_pem(k.pk, pem, sizeof(pem));
    CHECK(strncmp(pem, "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA", 42) == 0);
    unsigned char pk[32];
    CHECK_INT(proofs_pubkey_from_pem(pem, pk), 0);
    CHECK(memcmp(pk, k.pk, 32) == 0);
    proofs_pubkey_b64(k.pk, b64, sizeof(b64));
    CHECK_INT(strlen(b64), 43);
    CHECK_INT(proofs_pubkey_parse(b64, pk), 0);
    CHECK(memcmp(pk, k.pk, 32) == 0);
    CHECK_INT(proofs_pubkey_parse("short", pk), -1);
    unlink(path);
    snprintf(path, sizeof(path), "%s/keys", dir);
    rmdir(path);
    rmdir(dir);
}

/* Sign the sample fields with k; *qr gets the QR text (caller frees). */
static void signed_qr(const proofs_key *k, const char *valid_until, char **qr) {
    proofs_fields f;
    sample_fields(&f);
    snprintf(f.key_id, sizeof(f.key_id), "%s", k->key_id);
    snprintf(f.valid_until, sizeof(f.valid_until), "%s", valid_until);
    char *payload = NULL, sig[100];
    err e = {0};
    proofs_payload(&f, &payload, &e);
    proofs_sign(k, payload, sig, sizeof(sig));
    *qr = proofs_qr_text(payload, sig, f.proof_no);
    free(payload);
}

TEST(proofs_sign_verify_tamper_wrong_key_expired) {
    const char *dir = tmpdir();
    if (!dir) return;
    char path[128], path2[128];
    snprintf(path, sizeof(path), "%s/a.pem", dir);
    snprintf(path2, sizeof(path2), "%s/b.pem", dir);
    proofs_key k, other;
    err e = {0};
    CHECK_INT(proofs_key_generate(path, 0, &k, &e), 0);
    CHECK_INT(proofs_key_generate(path2, 0, &other, &e), 0);
    time_set_fake(1781488800); /* 2026-06-15T02:00:00Z */

    char *qr = NULL;
    signed_qr(&k, "2026-09-13", &qr);
    CHECK(strstr(qr, "\n/verify/ZM7K3M9Q2XWA5B") != NULL);
    proofs_parsed p;
    CHECK_INT(proofs_qr_parse(qr, &p, &e), 0);
    CHECK_STR(p.f.holder, "张*婆 3309**********0021");
    CHECK_INT(strlen(p.sig), 86);
    CHECK(proofs_signature_ok(k.pk, p.payload, p.sig));
    CHECK(!proofs_signature_ok(other.pk, p.payload, p.sig));

    proofs_verdict v;
    proofs_verify_offline(k.pk, qr, &v);
    CHECK_STR(v.status, "valid");
    CHECK_INT(v.valid, 1);

    /* One character of one field changed: the signature fails. */
    char *t = strdup(qr);
    char *at = strstr(t, "2026-09-13");
    at[3] = '7';
    proofs_verify_offline(k.pk, t, &v);
    CHECK_STR(v.status, "bad_signature");
    CHECK_INT(v.valid, 0);
    free(t);
    /* Verified with another key: the key id does not match. */
    proofs_verify_offline(other.pk, qr, &v);
    CHECK_STR(v.status, "unknown_key");
    /* Malformed texts name what is wrong. */
    proofs_verify_offline(k.pk, "ISLEPROOF1|x", &v);
    CHECK_STR(v.status, "malformed");
    CHECK_INT(proofs_qr_parse("hello", &p, &e), -1);
    CHECK_STR(e.field, "qr");
    t = strdup(qr);
    t[strlen(t) - strlen("\n/verify/ZM7K3M9Q2XWA5B") - 1] = '\0'; /* signature one short */
    CHECK_INT(proofs_qr_parse(t, &p, &e), -1);
    CHECK_STR(e.field, "signature");
    free(t);
    free(qr);
    /* Past its date. */
    signed_qr(&k, "2026-06-14", &qr);
    proofs_verify_offline(k.pk, qr, &v);
    CHECK_STR(v.status, "expired");
    free(qr);
    signed_qr(&k, "2026-06-15", &qr); /* valid_until is inclusive */
    proofs_verify_offline(k.pk, qr, &v);
    CHECK_STR(v.status, "valid");
    free(qr);
    time_set_fake(0);
    unlink(path);
    unlink(path2);
    rmdir(dir);
}

TEST(proofs_mask_and_numbers) {
    char out[64];
    CHECK_STR(proofs_mask_name("张阿婆", out, sizeof(out)), "张*婆");
    CHECK_STR(proofs_mask_name("王五", out, sizeof(out)), "王*");
    CHECK_STR(proofs_mask_name("欧阳娜娜", out, sizeof(out)), "欧**娜");
    CHECK_STR(proofs_mask_name("李", out, sizeof(out)), "李");
    char no[PROOFS_NO_LEN + 1], no2[PROOFS_NO_LEN + 1];
    proofs_new_no(no, sizeof(no));
    proofs_new_no(no2, sizeof(no2));
    CHECK_INT(strlen(no), PROOFS_NO_LEN);
    CHECK(strncmp(no, "ZM", 2) == 0);
    CHECK(strspn(no + 2, "0123456789ABCDEFGHJKMNPQRSTVWXYZ") == 12);
    CHECK(strcmp(no, no2) != 0);
    CHECK(proofs_kind_find("residence") != NULL);
    CHECK_STR(proofs_kind_by_item("330902-XZ-700048")->kind, "kinship");
    CHECK(proofs_kind_find("passport") == NULL);
}

TEST(proofs_pdf_has_qr_text) {
    if (!proofs_font_path()) {
        fprintf(stderr, "    (no CJK TrueType font installed: PDF test skipped)\n");
        return;
    }
    const char *qr = "ISLEPROOF1|ZM7K3M9Q2XWA5B|residence|张*婆|舟山市定海区人民政府|x|y|z|k|s\n"
                     "/verify/ZM7K3M9Q2XWA5B";
    proofs_doc doc = {.title = "居住情况证明",
                      .proof_no = "ZM7K3M9Q2XWA5B",
                      .statement = "兹证明张阿婆。\n特此证明。",
                      .issuer = "舟山市定海区人民政府",
                      .issued_at = "2026-06-15T02:00:00Z",
                      .valid_until = "2026-09-13",
                      .key_id = "0123456789abcdef",
                      .qr_text = qr,
                      .verify_path = "/verify/ZM7K3M9Q2XWA5B"};
    unsigned char *pdf = NULL;
    size_t len = 0;
    err e = {0};
    CHECK_INT(proofs_pdf_render(&doc, &pdf, &len, &e), 0);
    CHECK(len > 1000);
    CHECK(pdf && memcmp(pdf, "%PDF-", 5) == 0);
    char *back = NULL;
    CHECK_INT(proofs_pdf_extract_qr(pdf, len, &back, &e), 0);
    CHECK_STR(back, qr);
    free(back);
    free(pdf);
    CHECK_INT(proofs_pdf_extract_qr((const unsigned char *)"%PDF-1.3 nothing", 16, &back, &e), -1);
    CHECK_STR(e.field, "file");
}

/* ---- the flow on a database ---- */

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int64_t add_user(db *d, const char *login, const char *role, const char *name,
                        const char *id_number, const char *town) {
    int64_t id = 0;
    err e = {0};
    if (db_query_int(d, &e, &id,
                     "INSERT INTO users (login, display_name, role, password_hash, id_number, "
                     "town_code, created_at, updated_at, password_changed_at) VALUES "
                     "($1,$2,$3,'x',$4,$5,$6,$6,$6) RETURNING id",
                     "ssssss", login, name, role, id_number, town, "2026-01-01T00:00:00Z") != 0)
        fprintf(stderr, "    add_user %s: %s\n", login, e.message);
    return id;
}

static proofs_actor actor(db *d, int64_t id, int role, const char *login) {
    proofs_actor a;
    memset(&a, 0, sizeof(a));
    a.user_id = id;
    a.role = role;
    a.audit = (audit_actor){id, login, NULL};
    err e = {0};
    if (proofs_actor_load(d, &a, &e) != 0) fprintf(stderr, "    actor: %s\n", e.message);
    return a;
}

static const char *status_of(db *d, const proofs_actor *a, int64_t id) {
    static char buf[48];
    err e = {0};
    json_t *p = proofs_get(d, a, id, &e);
    snprintf(buf, sizeof(buf), "%s", p ? jsonx_str(p, "status") : e.code);
    json_decref(p);
    return buf;
}

TEST(proofs_flow_verify_revoke) {
    if (!proofs_font_path()) return;
    db *d = test_db_open();
    if (!d) return;
    const char *dir = tmpdir();
    if (!dir) return;
    char kp[128];
    snprintf(kp, sizeof(kp), "%s/key.pem", dir);
    err e = {0};
    files_set_dir(dir, &e);
    proofs_set_key_path(kp);
    notify_set_data_dir("data");
    time_set_fake(1781488800); /* 2026-06-15T02:00:00Z */
    db_exec(
        d,
        "INSERT INTO towns VALUES ('330902100','金塘镇','330902','定海区','jintang',30,121,'镇');"
        "INSERT INTO islands VALUES ('jintang','金塘岛','330902100',30,121,1000,1);"
        "INSERT INTO villages VALUES ('330902100002','沥港社区','330902100','jintang',100,1);",
        &e);
    int64_t cit = add_user(d, "cit", "citizen", "张阿婆", "330902195203140021", "330902100");
    int64_t cit2 = add_user(d, "cit2", "citizen", "李四", NULL, "330902100");
    int64_t vs = add_user(d, "vs", "staff", "村务", NULL, "330902100");
    int64_t ts = add_user(d, "ts", "staff", "镇务", NULL, "330902100");
    int64_t other = add_user(d, "os", "staff", "外镇", NULL, "330902006");
    int64_t ap = add_user(d, "ap", "approver", "区审批", NULL, NULL);
    proofs_actor A = actor(d, cit, ROLE_CITIZEN, "cit"), B = actor(d, cit2, ROLE_CITIZEN, "cit2"),
                 V = actor(d, vs, ROLE_STAFF, "vs"), T = actor(d, ts, ROLE_STAFF, "ts"),
                 O = actor(d, other, ROLE_STAFF, "os"), P = actor(d, ap, ROLE_APPROVER, "ap");

    json_t *in =
        json_pack("{s:s, s:s, s:s, s:s}", "kind", "residence", "purpose", "办理银行开户", "details",
                  "本人自2015年起居住在沥港社区。", "village_code", "330902100002");
    int64_t id = 0;
    CHECK_INT(proofs_request(d, &V, in, &id, &e), -1);
    CHECK_INT(e.status, 403);
    CHECK_INT(proofs_request(d, &A, in, &id, &e), 0);
    json_object_set_new(in, "village_code", json_string("330902100999"));
    int64_t bad = 0;
    CHECK_INT(proofs_request(d, &A, in, &bad, &e), -1);
    CHECK_STR(e.field, "village_code");
    json_decref(in);

    CHECK_STR(status_of(d, &A, id), "requested");
    CHECK_STR(status_of(d, &B, id), "not_found");
    CHECK_STR(status_of(d, &O, id), "not_found");
    CHECK_INT(proofs_act(d, &T, id, "check_town", NULL, NULL, &e), -1);
    CHECK_INT(e.status, 409);
    CHECK_INT(proofs_act(d, &P, id, "check_village", NULL, NULL, &e), -1);
    CHECK_INT(e.status, 403);
    CHECK_INT(proofs_act(d, &V, id, "check_village", "属实", NULL, &e), 0);
    CHECK_INT(proofs_act(d, &V, id, "check_town", NULL, NULL, &e), -1);
    CHECK_INT(e.status, 403); /* one person, one step */
    CHECK_INT(proofs_act(d, &T, id, "check_town", NULL, NULL, &e), 0);
    int issued = proofs_act(d, &P, id, "issue", NULL, NULL, &e);
    CHECK_INT(issued, 0);
    if (issued != 0) fprintf(stderr, "    issue: %s\n", e.message);
    CHECK_STR(status_of(d, &A, id), "issued");
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM proof_steps"), 4);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM audit_log WHERE object_type = 'proof'"), 4);
    CHECK_INT(
        test_db_count(d, "SELECT COUNT(*) FROM notifications WHERE template = 'proof_status'"), 4);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM proof_keys"), 1);

    json_t *p = proofs_get(d, &A, id, &e);
    CHECK(p != NULL);
    if (!p) return;
    CHECK_STR(jsonx_str(p, "issuer"), "舟山市定海区人民政府");
    CHECK_STR(jsonx_str(p, "valid_until"), "2026-09-13"); /* 90 days */
    CHECK(strstr(jsonx_str(p, "statement"), "舟山市定海区金塘镇沥港社区") != NULL);
    char *qr = strdup(jsonx_str(p, "qr_text"));
    char no[PROOFS_NO_LEN + 1];
    snprintf(no, sizeof(no), "%s", jsonx_str(p, "proof_no"));
    json_decref(p);

    unsigned char *pdf = NULL;
    size_t len = 0;
    char name[64];
    CHECK_INT(proofs_pdf_get(d, &A, id, &pdf, &len, name, sizeof(name), &e), 0);
    CHECK(pdf && memcmp(pdf, "%PDF-", 5) == 0);
    char *back = NULL;
    if (pdf) CHECK_INT(proofs_pdf_extract_qr(pdf, len, &back, &e), 0);
    CHECK_STR(back, qr);
    free(back);
    free(pdf);
    CHECK_INT(proofs_pdf_get(d, &B, id, &pdf, &len, name, sizeof(name), &e), -1);
    CHECK_INT(e.status, 404);

    proofs_verdict v;
    CHECK_INT(proofs_verify_qr(d, qr, &v, &e), 0);
    CHECK_STR(v.status, "valid");
    CHECK_INT(proofs_verify_no(d, no, &v, &e), 0);
    CHECK_STR(v.status, "valid");
    CHECK_STR(v.holder, "张*婆 3309**********0021");
    /* Tampered holder: named. */
    char *t = strdup(qr);
    char *at = strstr(t, "张*婆");
    memcpy(at, "王", strlen("王"));
    CHECK_INT(proofs_verify_qr(d, t, &v, &e), 0);
    CHECK_STR(v.status, "altered");
    CHECK_STR(v.field, "holder");
    free(t);
    /* A key the platform never published. */
    db_exec(d, "PRAGMA foreign_keys = OFF", &e);
    db_exec(d, "DELETE FROM proof_keys", &e);
    CHECK_INT(proofs_verify_qr(d, qr, &v, &e), 0);
    CHECK_STR(v.status, "unknown_key");
    proofs_key k;
    proofs_key_current(&k, &e);
    db_begin(d, &e);
    proofs_key_register(d, &k, &e);
    db_commit(d, &e);
    db_exec(d, "PRAGMA foreign_keys = ON", &e);

    /* Expired after its date, valid again on it. */
    time_set_fake(1781488800 + 91 * 86400);
    CHECK_INT(proofs_verify_qr(d, qr, &v, &e), 0);
    CHECK_STR(v.status, "expired");
    time_set_fake(1781488800);

    CHECK_INT(proofs_revoke(d, &O, id, "x", &e), -1);
    CHECK_INT(e.status, 404);
    CHECK_INT(proofs_revoke(d, &T, id, NULL, &e), -1);
    CHECK_STR(e.field, "reason");
    CHECK_INT(proofs_revoke(d, &T, id, "持有人已迁出", &e), 0);
    CHECK_INT(proofs_verify_qr(d, qr, &v, &e), 0);
    CHECK_STR(v.status, "revoked");
    CHECK_INT(v.valid, 0);
    CHECK_INT(proofs_verify_no(d, no, &v, &e), 0);
    CHECK_STR(v.status, "revoked");
    json_t *list = proofs_revoked_list(d, 10, 0, &e);
    CHECK_INT(json_array_size(json_object_get(list, "items")), 1);
    json_decref(list);
    free(qr);

    time_set_fake(0);
    proofs_set_key_path(NULL);
    notify_set_data_dir(NULL);
    db_close(d);
    nftw(dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}
