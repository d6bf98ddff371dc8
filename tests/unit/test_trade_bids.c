/* Unit tests for src/trade/bids.c and backup.c: the commitment string's exact bytes,
 * envelope checks on envelopes sealed by scripts/seal-bid.sh with the openssl CLI
 * (RSA, ECDSA and SM2 bidders; garbage; wrong recipients), and the backup key: made
 * and split 2 of 3, then a bid opened with 2 shares, refused with 1, with a forged
 * share, before the deadline and outside the opening; the reveal's commitment check;
 * the list's secrecy before the opening.
 *
 * Run from the repository root (the script is scripts/seal-bid.sh). */
#include "test.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth/roles.h"
#include "base/jsonx.h"
#include "base/timeutil.h"
#include "db/db.h"
#include "files/files.h"
#include "trade/backup.h"
#include "trade/bids.h"

#define DEADLINE   "2026-06-15T02:00:00Z"
#define DEADLINE_T 1781488800
#define TENDER_NO  "ZS-GC-2026-0901"
#define USCC       "91330900MA2A0B1C2D"
#define BID_PLAIN                                                                                  \
    "{\"tender_no\":\"" TENDER_NO "\",\"uscc\":\"" USCC "\",\"form\":{\"price\":\"1234567.89\","   \
    "\"duration_days\":180,\"quality\":\"合格\",\"project_manager\":\"张三\",\"deposit_ref\":" \
    "\"BZJ-1\"},\"documents\":[{\"name\":\"技术标.txt\",\"content_base64\":\"aGVsbG8=\"}]}"

static char dir[64];

static int sh(const char *fmt, ...) {
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    int rc = system(cmd); /* lint: allow (the openssl CLI is what the tests exercise) */
    if (rc != 0) fprintf(stderr, "    command failed (%d): %s\n", rc, cmd);
    return rc;
}

static char *slurp(const char *name, size_t *len) {
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    size_t got = fread(b, 1, (size_t)n, f);
    fclose(f);
    b[got] = '\0';
    if (len) *len = got;
    return b;
}

static void spit(const char *name, const char *text) {
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) return;
    fputs(text, f);
    fclose(f);
}

/* Test certificates (self-signed; these checks do not look at trust). Once. */
static int setup(void) {
    if (dir[0]) return 0;
    snprintf(dir, sizeof(dir), "/tmp/isle-bids-XXXXXX");
    if (!mkdtemp(dir)) return -1;
    spit("bid.json", BID_PLAIN);
    int rc = sh("cd %s && openssl req -x509 -newkey rsa:2048 -nodes -keyout rsa.key -out rsa.crt "
                "-subj /CN=rsa -days 30 2>/dev/null && "
                "openssl req -x509 -newkey rsa:2048 -nodes -keyout other.key -out other.crt "
                "-subj /CN=other -days 30 2>/dev/null && "
                "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "
                "ec.key -out ec.crt -subj /CN=ec -days 30 2>/dev/null && "
                "openssl ecparam -genkey -name SM2 -out sm2.key && openssl req -new -x509 -key "
                "sm2.key -sm3 -sigopt distid:1234567812345678 -subj /CN=sm2 -days 30 -out sm2.crt",
                dir);
    return rc == 0 ? 0 : -1;
}

static int seal(const char *who, const char *backup, const char *out) {
    return sh("scripts/seal-bid.sh seal %s/bid.json " TENDER_NO " " USCC
              " %s/%s.key %s/%s.crt %s%s%s %s/%s >/dev/null",
              dir, dir, who, dir, who, backup ? dir : "", backup ? "/" : "", backup ? backup : "",
              dir, out);
}

TEST(bids_commitment_string_is_exact) {
    char buf[200];
    CHECK_STR(
        bids_commitment_string("ZS-GC-2026-0001", USCC,
                               "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
                               buf, sizeof(buf)),
        "isle-bid-commitment:v1:ZS-GC-2026-0001:" USCC
        ":9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08");
}

TEST(bids_envelope_check_recipients) {
    if (setup() != 0) {
        CHECK(0);
        return;
    }
    char *rsa = slurp("rsa.crt", NULL), *ec = slurp("ec.crt", NULL), *sm2 = slurp("sm2.crt", NULL),
         *other = slurp("other.crt", NULL);
    CHECK(seal("rsa", "other.crt", "e-rsa") == 0);
    CHECK(seal("ec", NULL, "e-ec") == 0);
    CHECK(seal("sm2", "other.crt", "e-sm2") == 0);
    size_t n = 0;
    err e = {0};
    int to_backup = -1;
    char *env = slurp("e-rsa/envelope", &n);
    /* Addressed to the bidder and the "backup" (other): fine, to_backup reported. */
    CHECK_INT(bids_envelope_check((unsigned char *)env, n, "cms", rsa, other, &to_backup, &e), 0);
    CHECK_INT(to_backup, 1);
    /* Another bidder's certificate: 422 naming the envelope. */
    CHECK_INT(bids_envelope_check((unsigned char *)env, n, "cms", ec, NULL, NULL, &e), -1);
    CHECK_INT(e.status, 422);
    CHECK_STR(e.code, "recipient_missing");
    CHECK_STR(e.field, "envelope");
    /* Truncated and garbage DER: 400 field envelope. */
    CHECK_INT(bids_envelope_check((unsigned char *)env, n / 2, "cms", rsa, NULL, NULL, &e), -1);
    CHECK_INT(e.status, 400);
    CHECK_STR(e.field, "envelope");
    CHECK_INT(bids_envelope_check((const unsigned char *)"hello", 5, "cms", rsa, NULL, NULL, &e),
              -1);
    CHECK_STR(e.field, "envelope");
    CHECK_INT(bids_envelope_check((unsigned char *)env, n, "zip", rsa, NULL, NULL, &e), -1);
    CHECK_STR(e.field, "envelope_kind");
    free(env);

    /* ECDSA recipient (key agreement), no backup: fine; but a tender that wants the backup
     * key refuses it. */
    env = slurp("e-ec/envelope", &n);
    CHECK_INT(bids_envelope_check((unsigned char *)env, n, "cms", ec, NULL, &to_backup, &e), 0);
    CHECK_INT(to_backup, 0);
    CHECK_INT(bids_envelope_check((unsigned char *)env, n, "cms", ec, other, NULL, &e), -1);
    CHECK_STR(e.code, "recipient_missing");
    free(env);

    /* The SM2 container. */
    env = slurp("e-sm2/envelope", &n);
    CHECK_INT(bids_envelope_check((unsigned char *)env, n, "sm2", sm2, other, &to_backup, &e), 0);
    CHECK_INT(to_backup, 1);
    CHECK_INT(bids_envelope_check((unsigned char *)env, n, "sm2", rsa, NULL, NULL, &e), -1);
    CHECK_STR(e.code, "recipient_missing");
    CHECK_INT(bids_envelope_check((unsigned char *)env, n, "cms", sm2, NULL, NULL, &e), -1);
    CHECK_INT(e.status, 400);
    /* A bad iv and a ciphertext that is not whole SM4 blocks: 400. */
    char *iv = strstr(env, "\"iv\":\"");
    if (iv) iv[6] = 'z';
    CHECK_INT(bids_envelope_check((unsigned char *)env, n, "sm2", sm2, NULL, NULL, &e), -1);
    CHECK_STR(e.field, "envelope");
    free(env);
    const char *short_ct =
        "{\"v\":1,\"alg\":\"SM4-CBC\",\"iv\":\"00112233445566778899aabbccddeeff\","
        "\"recipients\":[{\"cert_sha256\":\"00\",\"key\":\"AAAA\"}],"
        "\"ciphertext\":\"AAAA\"}";
    CHECK_INT(bids_envelope_check((const unsigned char *)short_ct, strlen(short_ct), "sm2", sm2,
                                  NULL, NULL, &e),
              -1);
    CHECK_INT(e.status, 400);
    free(rsa);
    free(ec);
    free(sm2);
    free(other);
}

static int64_t add_user(db *d, const char *login, const char *role) {
    int64_t id = 0;
    err e = {0};
    db_query_int(d, &e, &id,
                 "INSERT INTO users (login, display_name, role, password_hash, created_at, "
                 "updated_at, password_changed_at) VALUES ($1, $1, $2, 'x', $3, $3, $3) "
                 "RETURNING id",
                 "sss", login, role, "2026-01-01T00:00:00Z");
    return id;
}

static trade_actor actor_of(db *d, int64_t uid, int role, const char *login) {
    trade_actor a;
    memset(&a, 0, sizeof(a));
    a.user_id = uid;
    a.role = role;
    a.audit.user_id = uid;
    a.audit.login = login;
    err e = {0};
    trade_actor_load(d, &a, &e);
    return a;
}

/* A sealed bid row whose envelope (from seal-bid.sh in out/) is stored like bids_submit
 * stores it. */
static int64_t add_bid(db *d, int64_t tender, int64_t company, int64_t user, int64_t cert,
                       const char *out, const char *kind, int64_t seq) {
    char name[128], sha[65], commit[65];
    size_t n = 0;
    snprintf(name, sizeof(name), "%s/envelope", out);
    char *env = slurp(name, &n);
    if (!env) return 0;
    unsigned char h[32];
    crypto_hash_sha256(h, (unsigned char *)env, n);
    sodium_bin2hex(sha, sizeof(sha), h, sizeof(h));
    crypto_hash_sha256(h, (const unsigned char *)BID_PLAIN, strlen(BID_PLAIN));
    sodium_bin2hex(commit, sizeof(commit), h, sizeof(h));
    char bdir[512], path[640];
    err e = {0};
    trade_dir("bids", bdir, sizeof(bdir), &e);
    snprintf(path, sizeof(path), "%s/%s", bdir, sha);
    FILE *f = fopen(path, "wb");
    fwrite(env, 1, n, f);
    fclose(f);
    free(env);
    int64_t id = 0;
    db_begin(d, &e);
    db_query_int(d, &e, &id,
                 "INSERT INTO bids (tender_id, company_id, user_id, cert_id, seq, status, "
                 "envelope_kind, envelope_sha256, envelope_size, to_backup, commitment_sha256, "
                 "commitment_sig, receipt, receipt_sig, submitted_at, created_at, updated_at) "
                 "VALUES ($1, $2, $3, $4, $10, 'sealed', $5, $6, $7, 1, $8, 'sig', '{}', 's', $9, "
                 "$9, $9) RETURNING id",
                 "iiiississi", tender, company, user, cert, kind, sha, (int64_t)n, commit,
                 "2026-06-14T00:00:00Z", seq);
    db_commit(d, &e);
    return id;
}

TEST(bids_backup_key_two_of_three) {
    if (setup() != 0) {
        CHECK(0);
        return;
    }
    db *d = test_db_open();
    if (!d) return;
    err e = {0};
    char fdir[128];
    snprintf(fdir, sizeof(fdir), "%s/files", dir);
    files_set_dir(fdir, &e);
    int64_t s1 = add_user(d, "s1", "supervisor"), s2 = add_user(d, "s2", "supervisor"),
            s3 = add_user(d, "s3", "supervisor"), bu = add_user(d, "b1", "bidder"),
            st = add_user(d, "ts", "trading_staff"), cz = add_user(d, "cz", "citizen");
    trade_actor sys;
    memset(&sys, 0, sizeof(sys));
    sys.role = ROLE_ADMIN;
    sys.audit.login = "cli:root";
    trade_actor sup = actor_of(d, s1, ROLE_SUPERVISOR, "s1");
    trade_actor staff = actor_of(d, st, ROLE_TRADING_STAFF, "ts");

    /* Custodians must be supervisors, distinct, and 2 ≤ t ≤ n. */
    char **shares = NULL, *pem = NULL;
    int64_t bad_ids[3] = {s1, s2, cz};
    CHECK_INT(backup_key_create(d, &sys, bad_ids, 3, 2, &shares, &pem, &e), -1);
    CHECK_STR(e.field, "custodians");
    int64_t ids[3] = {s1, s2, s3};
    CHECK_INT(backup_key_create(d, &sys, ids, 3, 4, &shares, &pem, &e), -1);
    CHECK_STR(e.field, "threshold");
    CHECK_INT(backup_key_create(d, &sup, ids, 3, 2, &shares, &pem, &e), -1);
    CHECK_INT(e.status, 403);
    CHECK_INT(backup_key_create(d, &sys, ids, 3, 2, &shares, &pem, &e), 0);
    if (!shares || !pem) {
        db_close(d);
        return;
    }
    CHECK(strncmp(shares[0], "isle-backup-share:v1:", 21) == 0);
    CHECK(strcmp(shares[0], shares[1]) != 0);
    /* The database keeps the certificate and share hashes, never a share. */
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM trade_backup_custodians"), 3);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM trade_backup_keys WHERE status = 'active'"),
              1);
    {
        int64_t leaked = -1;
        db_query_int(d, &e, &leaked,
                     "SELECT COUNT(*) FROM trade_backup_custodians WHERE share_sha256 = $1", "s",
                     shares[0]);
        CHECK_INT(leaked, 0);
    }
    spit("backup.crt", pem);
    CHECK(seal("rsa", "backup.crt", "b-rsa") == 0);
    CHECK(seal("sm2", "backup.crt", "b-sm2") == 0);
    CHECK(seal("ec", NULL, "b-ec") == 0);

    /* A company, a certificate row and a tender in the opening, deadline passed. */
    db_execf(d, &e,
             "INSERT INTO trade_companies (uscc, name, created_at, updated_at) VALUES ($1, "
             "'舟山测试建设有限公司', $2, $2)",
             "ss", USCC, "2026-01-01T00:00:00Z");
    int64_t company = 0, tender = 0, cert = 0;
    db_query_int(d, &e, &company, "SELECT id FROM trade_companies WHERE uscc = $1", "s", USCC);
    db_execf(d, &e,
             "INSERT INTO trade_company_users (user_id, company_id, created_at) VALUES ($1, $2, "
             "'2026-01-01T00:00:00Z')",
             "ii", bu, company);
    db_query_int(d, &e, &cert,
                 "INSERT INTO ca_roots (name, subject, fingerprint, key_type, pem, not_after, "
                 "added_at) VALUES ('t', 't', 'f', 'rsa', 'p', '2030-01-01T00:00:00Z', "
                 "'2026-01-01T00:00:00Z') RETURNING id",
                 "");
    int64_t root = cert;
    db_query_int(d, &e, &cert,
                 "INSERT INTO trade_certs (user_id, company_id, fingerprint, serial, subject, "
                 "issuer, key_type, pubkey_sha256, ca_root_id, pem, not_before, not_after, "
                 "registered_at) VALUES ($1, $2, 'fp', '01', 's', 'i', 'rsa', 'pk', $3, 'p', "
                 "'2026-01-01T00:00:00Z', '2030-01-01T00:00:00Z', '2026-01-01T00:00:00Z') "
                 "RETURNING id",
                 "iii", bu, company, root);
    db_query_int(d, &e, &tender,
                 "INSERT INTO tenders (tender_no, kind, title, buyer, method, status, "
                 "deadline_at, created_at, updated_at) VALUES ($1, 'works', '测试工程', "
                 "'测试招标人', 'lowest_price', 'opening', $2, $2, $2) RETURNING id",
                 "ss", TENDER_NO, DEADLINE);
    int64_t b_rsa = add_bid(d, tender, company, bu, cert, "b-rsa", "cms", 1);
    CHECK(b_rsa > 0);

    trade_actor bidder = actor_of(d, bu, ROLE_BIDDER, "b1");
    unsigned char *plain = NULL;
    size_t plen = 0;
    const char *two[2] = {shares[0], shares[2]};
    const char *one[1] = {shares[1]};

    /* Before the deadline: refused, whatever the shares. */
    time_set_fake(DEADLINE_T - 60);
    CHECK_INT(backup_decrypt_bid(d, &sup, b_rsa, two, 2, &plain, &plen, &e), -1);
    CHECK_STR(e.code, "before_deadline");
    time_set_fake(DEADLINE_T + 60);
    /* A bidder is no custodian. */
    CHECK_INT(backup_decrypt_bid(d, &bidder, b_rsa, two, 2, &plain, &plen, &e), -1);
    CHECK_INT(e.status, 403);
    /* One share is below the threshold. */
    CHECK_INT(backup_decrypt_bid(d, &sup, b_rsa, one, 1, &plain, &plen, &e), -1);
    CHECK_STR(e.code, "not_enough_shares");
    /* The same share twice counts once. */
    const char *same[2] = {shares[1], shares[1]};
    CHECK_INT(backup_decrypt_bid(d, &sup, b_rsa, same, 2, &plain, &plen, &e), -1);
    CHECK_STR(e.code, "not_enough_shares");
    /* A forged share (one byte changed in its body) is not one of the key's. */
    char *forged = strdup(shares[1]);
    size_t fl = strlen(forged);
    forged[fl - 6] = forged[fl - 6] == 'A' ? 'B' : 'A';
    const char *withforged[2] = {shares[0], forged};
    CHECK_INT(backup_decrypt_bid(d, &sup, b_rsa, withforged, 2, &plain, &plen, &e), -1);
    CHECK_STR(e.code, "bad_share");
    free(forged);
    /* Outside the opening: refused. */
    db_execf(d, &e, "UPDATE tenders SET status = 'announced' WHERE id = $1", "i", tender);
    CHECK_INT(backup_decrypt_bid(d, &sup, b_rsa, two, 2, &plain, &plen, &e), -1);
    CHECK_STR(e.code, "not_opening");
    db_execf(d, &e, "UPDATE tenders SET status = 'opening' WHERE id = $1", "i", tender);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM trade_backup_uses"), 0);

    /* Two of three: the plaintext, and a recorded use. */
    CHECK_INT(backup_decrypt_bid(d, &staff, b_rsa, two, 2, &plain, &plen, &e), 0);
    CHECK_INT(plen, strlen(BID_PLAIN));
    CHECK(plain && memcmp(plain, BID_PLAIN, plen) == 0);
    free(plain);
    plain = NULL;
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM trade_backup_uses"), 1);

    /* The SM2 container through the backup key (RSA-OAEP wrapped SM4 key). */
    db_execf(d, &e, "UPDATE bids SET status = 'replaced' WHERE id = $1", "i", b_rsa);
    int64_t b_sm2 = add_bid(d, tender, company, bu, cert, "b-sm2", "sm2", 2);
    const char *all3[3] = {shares[2], shares[1], shares[0]};
    CHECK_INT(backup_decrypt_bid(d, &sup, b_sm2, all3, 3, &plain, &plen, &e), 0);
    CHECK(plain && plen == strlen(BID_PLAIN) && memcmp(plain, BID_PLAIN, plen) == 0);
    free(plain);
    plain = NULL;

    /* Secrecy of the list before the opening: staff see nothing, the company its own. */
    db_execf(d, &e, "UPDATE tenders SET status = 'announced' WHERE id = $1", "i", tender);
    json_t *l = bids_list(d, &staff, tender, &e);
    CHECK(l && json_array_size(json_object_get(l, "items")) == 0);
    CHECK(l && json_object_get(l, "count") == NULL);
    json_decref(l);
    l = bids_list(d, &bidder, tender, &e);
    CHECK(l && json_array_size(json_object_get(l, "items")) == 2);
    json_decref(l);
    db_execf(d, &e, "UPDATE tenders SET status = 'opening' WHERE id = $1", "i", tender);

    /* Reveal: a plaintext that is not the committed one is refused and changes nothing;
     * the committed one fills the columns. */
    CHECK_INT(db_begin(d, &e), 0);
    const char *fake = "{\"form\":{\"price\":\"1.00\"}}";
    json_t *ann = NULL;
    CHECK_INT(bids_reveal_tx(d, &sup, b_sm2, fake, strlen(fake), "bidder", &ann, &e), -1);
    CHECK_STR(e.code, "commitment_mismatch");
    CHECK_INT(bids_reveal_tx(d, &sup, b_sm2, BID_PLAIN, strlen(BID_PLAIN), "backup", &ann, &e), 0);
    CHECK_INT(db_commit(d, &e), 0);
    CHECK(ann && json_integer_value(json_object_get(ann, "price_fen")) == 123456789);
    CHECK_STR(jsonx_str(ann, "status"), "opened");
    CHECK_STR(jsonx_str(ann, "project_manager"), "张三");
    json_decref(ann);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM bids WHERE status = 'opened' AND "
                               "duration_days = 180 AND decrypted_via = 'backup'"),
              1);
    /* After the opening the list shows the revealed price to staff. */
    l = bids_list(d, &staff, tender, &e);
    json_t *first = l ? json_array_get(json_object_get(l, "items"), 0) : NULL;
    CHECK(first && json_integer_value(json_object_get(first, "price_fen")) == 123456789);
    json_decref(l);
    int64_t cnt = -1;
    CHECK_INT(bids_count_current(d, tender, &cnt, &e), 0);
    CHECK_INT(cnt, 0);

    /* An ECDSA bid not sealed to the backup key cannot use it. */
    int64_t b_ec = add_bid(d, tender, company, bu, cert, "b-ec", "cms", 3);
    db_execf(d, &e, "UPDATE bids SET to_backup = 0 WHERE id = $1", "i", b_ec);
    CHECK_INT(backup_decrypt_bid(d, &sup, b_ec, two, 2, &plain, &plen, &e), -1);
    CHECK_STR(e.code, "not_sealed_to_backup");

    time_set_fake(0);
    backup_free_shares(shares, 3);
    free(pem);
    db_close(d);
}
