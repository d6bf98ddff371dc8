/* sign: the deployment's Ed25519 key, the canonical payload and the QR text of a
 * proof (formats in docs/PROOFS.md; nothing here touches a proof row).
 *
 * The private key file is PKCS#8 PEM (RFC 8410: "-----BEGIN PRIVATE KEY-----"
 * around 302e020100300506032b657004220420 || 32-byte seed), so that openssl can
 * read it too (`openssl pkey -in FILE -pubout`). It is written 0600 through a
 * temporary file and link(2), so two processes generating at once end with one
 * key: the loser reads the winner's. The key is never logged and never leaves
 * this process except as its public half. */
#include "proofs/proofs.h"
#include "base/timeutil.h"
#include "files/files.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const unsigned char pkcs8_prefix[16] = {0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06,
                                               0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20};
static const unsigned char spki_prefix[12] = {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03,
                                              0x2b, 0x65, 0x70, 0x03, 0x21, 0x00};

static pthread_mutex_t key_lock = PTHREAD_MUTEX_INITIALIZER;
static char key_path_set[512];
static proofs_key cached;
static int cached_ok;

void proofs_set_key_path(const char *path) {
    pthread_mutex_lock(&key_lock);
    snprintf(key_path_set, sizeof(key_path_set), "%s", path ? path : "");
    sodium_memzero(&cached, sizeof(cached));
    cached_ok = 0;
    pthread_mutex_unlock(&key_lock);
}

char *proofs_key_path(char *buf, size_t n) {
    const char *env = getenv("ISLE_PROOF_KEY");
    if (key_path_set[0])
        snprintf(buf, n, "%s", key_path_set);
    else if (env && *env)
        snprintf(buf, n, "%s", env);
    else
        snprintf(buf, n, "%s/keys/proof-ed25519.pem", files_dir());
    return buf;
}

void proofs_key_wipe(proofs_key *k) {
    sodium_memzero(k, sizeof(*k));
}

void proofs_key_id(const unsigned char pk[32], char out[17]) {
    unsigned char h[32];
    crypto_hash_sha256(h, pk, 32);
    sodium_bin2hex(out, 17, h, 8);
}

static void key_from_seed(const unsigned char seed[32], proofs_key *k) {
    crypto_sign_seed_keypair(k->pk, k->sk, seed);
    proofs_key_id(k->pk, k->key_id);
}

/* The DER inside a PEM block labelled label, into der (at most n bytes). */
static int pem_decode(const char *text, const char *label, unsigned char *der, size_t n,
                      size_t *len) {
    char begin[64], end[64];
    snprintf(begin, sizeof(begin), "-----BEGIN %s-----", label);
    snprintf(end, sizeof(end), "-----END %s-----", label);
    const char *b = strstr(text, begin);
    if (!b) return -1;
    b += strlen(begin);
    const char *x = strstr(b, end);
    if (!x) return -1;
    return sodium_base642bin(der, n, b, (size_t)(x - b), " \t\r\n", len, NULL,
                             sodium_base64_VARIANT_ORIGINAL);
}

static void pem_encode(const unsigned char *der, size_t len, const char *label, char *out,
                       size_t n) {
    char b64[128];
    sodium_bin2base64(b64, sizeof(b64), der, len, sodium_base64_VARIANT_ORIGINAL);
    snprintf(out, n, "-----BEGIN %s-----\n%s\n-----END %s-----\n", label, b64, label);
}

int proofs_key_load(const char *path, proofs_key *k, err *e) {
    memset(k, 0, sizeof(*k));
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) return err_notfound(e, "no proof signing key at %s", path);
        return err_internal(e, "cannot read the proof signing key %s: %s", path, strerror(errno));
    }
    char text[1024];
    ssize_t got = read(fd, text, sizeof(text) - 1);
    close(fd);
    if (got <= 0) return err_internal(e, "the proof signing key %s is empty", path);
    text[got] = '\0';
    unsigned char der[64];
    size_t len = 0;
    int rc = pem_decode(text, "PRIVATE KEY", der, sizeof(der), &len);
    sodium_memzero(text, sizeof(text));
    if (rc != 0 || len != 48 || memcmp(der, pkcs8_prefix, sizeof(pkcs8_prefix)) != 0) {
        sodium_memzero(der, sizeof(der));
        return err_internal(e, "%s is not a PKCS#8 Ed25519 private key", path);
    }
    key_from_seed(der + 16, k);
    sodium_memzero(der, sizeof(der));
    return 0;
}

/* mkdir -p for the key's directory, 0700 for what it creates. */
static int make_parent(const char *path, err *e) {
    char dir[512];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir) return 0;
    *slash = '\0';
    for (char *p = dir + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(dir, 0700) != 0 && errno != EEXIST)
            return err_internal(e, "cannot create %s: %s", dir, strerror(errno));
        *p = '/';
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return err_internal(e, "cannot create %s: %s", dir, strerror(errno));
    return 0;
}

int proofs_key_generate(const char *path, int replace, proofs_key *k, err *e) {
    if (strlen(path) > 480) return err_invalid(e, "key", "key path too long");
    if (make_parent(path, e) != 0) return -1;
    unsigned char der[48], seed[32];
    randombytes_buf(seed, sizeof(seed));
    memcpy(der, pkcs8_prefix, sizeof(pkcs8_prefix));
    memcpy(der + 16, seed, 32);
    char pem[256];
    pem_encode(der, sizeof(der), "PRIVATE KEY", pem, sizeof(pem));
    sodium_memzero(der, sizeof(der));
    char tmp[512];
    snprintf(tmp, sizeof(tmp), "%s.tmp-XXXXXX", path);
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        sodium_memzero(seed, sizeof(seed));
        sodium_memzero(pem, sizeof(pem));
        return err_internal(e, "cannot write the key file: %s", strerror(errno));
    }
    size_t plen = strlen(pem);
    int ok = fchmod(fd, 0600) == 0 && write(fd, pem, plen) == (ssize_t)plen && fsync(fd) == 0;
    sodium_memzero(pem, sizeof(pem));
    if (close(fd) != 0) ok = 0;
    if (ok) ok = replace ? rename(tmp, path) == 0 : link(tmp, path) == 0;
    int saved = errno;
    unlink(tmp);
    if (!ok) {
        sodium_memzero(seed, sizeof(seed));
        if (!replace && saved == EEXIST)
            return err_conflict(e, "key", "a proof signing key already exists at %s", path);
        return err_internal(e, "cannot write the key file %s: %s", path, strerror(saved));
    }
    key_from_seed(seed, k);
    sodium_memzero(seed, sizeof(seed));
    return 0;
}

int proofs_key_current(proofs_key *out, err *e) {
    pthread_mutex_lock(&key_lock);
    int rc = 0;
    if (!cached_ok) {
        char path[512];
        proofs_key_path(path, sizeof(path));
        rc = proofs_key_load(path, &cached, e);
        if (rc != 0 && e && e->status == 404) {
            /* First use: make the key. Another process may win the race; then read its. */
            rc = proofs_key_generate(path, 0, &cached, e);
            if (rc != 0 && e && e->status == 409) rc = proofs_key_load(path, &cached, e);
            if (rc == 0) err_clear(e);
        }
        cached_ok = rc == 0;
    }
    if (rc == 0) *out = cached;
    pthread_mutex_unlock(&key_lock);
    return rc;
}

char *proofs_pubkey_pem(const unsigned char pk[32], char *out, size_t n) {
    unsigned char der[44];
    memcpy(der, spki_prefix, sizeof(spki_prefix));
    memcpy(der + 12, pk, 32);
    pem_encode(der, sizeof(der), "PUBLIC KEY", out, n);
    return out;
}

char *proofs_pubkey_b64(const unsigned char pk[32], char *out, size_t n) {
    char b[64];
    sodium_bin2base64(b, sizeof(b), pk, 32, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    snprintf(out, n, "%s", b);
    return out;
}

int proofs_pubkey_parse(const char *b64, unsigned char pk[32]) {
    size_t len = 0;
    const char *end = NULL;
    if (!b64 || strlen(b64) != 43) return -1;
    if (sodium_base642bin(pk, 32, b64, 43, NULL, &len, &end,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
        len != 32 || *end)
        return -1;
    return 0;
}

int proofs_pubkey_from_pem(const char *pem, unsigned char pk[32]) {
    unsigned char der[64];
    size_t len = 0;
    if (pem_decode(pem, "PUBLIC KEY", der, sizeof(der), &len) != 0 || len != 44 ||
        memcmp(der, spki_prefix, sizeof(spki_prefix)) != 0)
        return -1;
    memcpy(pk, der + 12, 32);
    return 0;
}

int proofs_key_register(db *d, const proofs_key *k, err *e) {
    char b64[64], now[32];
    proofs_pubkey_b64(k->pk, b64, sizeof(b64));
    time_iso(now, sizeof(now), time_now());
    return db_execf(d, e,
                    "INSERT INTO proof_keys (key_id, public_key, created_at) VALUES ($1,$2,$3) "
                    "ON CONFLICT (key_id) DO NOTHING",
                    "sss", k->key_id, b64, now);
}

/* ---- payload ---- */

/* 1 if s is a non-empty field: no '|' and no control characters. */
static int field_ok(const char *s) {
    if (!s || !*s) return 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f || *p == '|') return 0;
    return 1;
}

int proofs_payload(const proofs_fields *f, char **out, err *e) {
    const struct {
        const char *name, *v;
    } fields[] = {{"proof_no", f->proof_no},
                  {"kind", f->kind},
                  {"holder", f->holder},
                  {"issuer", f->issuer},
                  {"issued_at", f->issued_at},
                  {"valid_until", f->valid_until},
                  {"content_sha256", f->content_sha256},
                  {"key_id", f->key_id}};
    size_t n = strlen(PROOFS_MAGIC) + 1;
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        if (!field_ok(fields[i].v))
            return err_invalid(e, fields[i].name,
                               "field %s is empty or holds '|' or a control "
                               "character",
                               fields[i].name);
        n += strlen(fields[i].v) + 1;
    }
    char *p = malloc(n);
    if (!p) abort();
    size_t o = (size_t)snprintf(p, n, "%s", PROOFS_MAGIC);
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        o += (size_t)snprintf(p + o, n - o, "|%s", fields[i].v);
    *out = p;
    return 0;
}

void proofs_sign(const proofs_key *k, const char *payload, char *sig, size_t n) {
    unsigned char s[crypto_sign_BYTES];
    crypto_sign_detached(s, NULL, (const unsigned char *)payload, strlen(payload), k->sk);
    char b[100];
    sodium_bin2base64(b, sizeof(b), s, sizeof(s), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    snprintf(sig, n, "%s", b);
}

int proofs_signature_ok(const unsigned char pk[32], const char *payload, const char *sig) {
    unsigned char s[crypto_sign_BYTES];
    size_t len = 0;
    const char *end = NULL;
    if (!sig || strlen(sig) != 86) return 0;
    if (sodium_base642bin(s, sizeof(s), sig, 86, NULL, &len, &end,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
        len != sizeof(s) || *end)
        return 0;
    return crypto_sign_verify_detached(s, (const unsigned char *)payload, strlen(payload), pk) == 0;
}

char *proofs_qr_text(const char *payload, const char *sig, const char *proof_no) {
    const char *base = getenv("ISLE_PUBLIC_URL");
    if (!base) base = "";
    size_t bl = strlen(base);
    while (bl && base[bl - 1] == '/')
        bl--;
    size_t n = strlen(payload) + strlen(sig) + bl + strlen(proof_no) + 16;
    char *q = malloc(n);
    if (!q) abort();
    snprintf(q, n, "%s|%s\n%.*s/verify/%s", payload, sig, (int)bl, base, proof_no);
    return q;
}

/* ---- parsing ---- */

static int all_of(const char *s, const char *set, size_t len) {
    if (strlen(s) != len) return 0;
    return strspn(s, set) == len;
}

int proofs_qr_parse(const char *qr, proofs_parsed *out, err *e) {
    memset(out, 0, sizeof(*out));
    if (!qr || !*qr) return err_invalid(e, "qr", "二维码内容为空");
    size_t line = strcspn(qr, "\r\n");
    if (line >= sizeof(out->payload) + sizeof(out->sig))
        return err_invalid(e, "qr", "二维码内容过长");
    char buf[sizeof(out->payload) + sizeof(out->sig)];
    memcpy(buf, qr, line);
    buf[line] = '\0';
    char *last = strrchr(buf, '|');
    if (!last || strncmp(buf, PROOFS_MAGIC "|", strlen(PROOFS_MAGIC) + 1) != 0)
        return err_invalid(e, "qr", "不是本平台签发的证明二维码（缺少 %s 标记）", PROOFS_MAGIC);
    *last = '\0';
    if ((size_t)(last - buf) >= sizeof(out->payload)) return err_invalid(e, "qr", "二维码内容过长");
    snprintf(out->sig, sizeof(out->sig), "%s", last + 1);
    memcpy(out->payload, buf, (size_t)(last - buf) + 1);
    /* Split the payload's fields. */
    char *fields[10];
    int nf = 0;
    char *p = buf;
    for (;;) {
        if (nf == 10) return err_invalid(e, "qr", "二维码字段过多");
        fields[nf++] = p;
        char *bar = strchr(p, '|');
        if (!bar) break;
        *bar = '\0';
        p = bar + 1;
    }
    if (nf != 9) return err_invalid(e, "qr", "二维码应有 9 个签名字段，实有 %d 个", nf);
    struct {
        const char *name;
        char *dst;
        size_t n;
    } map[] = {{"proof_no", out->f.proof_no, sizeof(out->f.proof_no)},
               {"kind", out->f.kind, sizeof(out->f.kind)},
               {"holder", out->f.holder, sizeof(out->f.holder)},
               {"issuer", out->f.issuer, sizeof(out->f.issuer)},
               {"issued_at", out->f.issued_at, sizeof(out->f.issued_at)},
               {"valid_until", out->f.valid_until, sizeof(out->f.valid_until)},
               {"content_sha256", out->f.content_sha256, sizeof(out->f.content_sha256)},
               {"key_id", out->f.key_id, sizeof(out->f.key_id)}};
    for (int i = 0; i < 8; i++) {
        const char *v = fields[i + 1];
        if (!field_ok(v) || strlen(v) >= map[i].n)
            return err_invalid(e, map[i].name, "二维码字段 %s 为空或过长", map[i].name);
        snprintf(map[i].dst, map[i].n, "%s", v);
    }
    static const char b32[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    if (strncmp(out->f.proof_no, "ZM", 2) != 0 || !all_of(out->f.proof_no + 2, b32, 12))
        return err_invalid(e, "proof_no", "证明编号格式不对");
    if (!all_of(out->f.kind, "abcdefghijklmnopqrstuvwxyz_", strlen(out->f.kind)))
        return err_invalid(e, "kind", "证明类型格式不对");
    int64_t t;
    if (strlen(out->f.issued_at) != 20 || time_parse_iso(out->f.issued_at, &t) != 0)
        return err_invalid(e, "issued_at", "签发时间格式不对");
    if (!all_of(out->f.valid_until, "0123456789-", 10) || out->f.valid_until[4] != '-' ||
        out->f.valid_until[7] != '-')
        return err_invalid(e, "valid_until", "有效期格式不对");
    if (!all_of(out->f.content_sha256, "0123456789abcdef", 64))
        return err_invalid(e, "content_sha256", "内容摘要格式不对");
    if (!all_of(out->f.key_id, "0123456789abcdef", 16))
        return err_invalid(e, "key_id", "密钥编号格式不对");
    if (!all_of(out->sig, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", 86))
        return err_invalid(e, "signature", "签名格式不对（应为 86 个 base64url 字符）");
    return 0;
}

/* ---- small text helpers ---- */

char *proofs_mask_name(const char *name, char *out, size_t n) {
    /* Split into UTF-8 characters. */
    const unsigned char *s = (const unsigned char *)(name ? name : "");
    size_t starts[64], nc = 0, len = strlen((const char *)s);
    for (size_t i = 0; i < len && nc < 64; i++)
        if ((s[i] & 0xC0) != 0x80) starts[nc++] = i;
    if (nc == 0) {
        snprintf(out, n, "*");
        return out;
    }
    size_t first_end = nc > 1 ? starts[1] : len;
    size_t o = (size_t)snprintf(out, n, "%.*s", (int)first_end, (const char *)s);
    if (nc == 1) return out;
    size_t stars = nc >= 3 ? nc - 2 : 1;
    for (size_t i = 0; i < stars && o + 1 < n; i++)
        out[o++] = '*';
    out[o < n ? o : n - 1] = '\0';
    if (nc >= 3 && o < n) snprintf(out + o, n - o, "%s", (const char *)s + starts[nc - 1]);
    return out;
}

void proofs_new_no(char *out, size_t n) {
    static const char b32[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    unsigned char r[12];
    randombytes_buf(r, sizeof(r));
    char s[PROOFS_NO_LEN + 1] = "ZM";
    for (int i = 0; i < 12; i++)
        s[2 + i] = b32[r[i] & 31];
    s[PROOFS_NO_LEN] = '\0';
    snprintf(out, n, "%s", s);
}
