/* proofs_cli: `isle proof …` — the signing key and verification by hand.
 *
 *   isle proof keygen [--rotate] [--files-dir DIR]
 *   isle proof pubkey [--pem] [--key-id ID] [--all] [--files-dir DIR]
 *   isle proof verify FILE.pdf|FILE|QRTEXT|- [--json] [--pubkey PUB.pem]
 *
 * The key file is found as the server finds it: $ISLE_PROOF_KEY, else
 * <files dir>/keys/proof-ed25519.pem with the files directory of `isle serve`
 * (--files-dir, $ISLE_FILES_DIR, ./isle-files on PostgreSQL, <db>-files). */
#include "audit/audit.h"
#include "base/timeutil.h"
#include "db/db.h"
#include "files/files.h"
#include "proofs/proofs.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FILE_MAX (16 * 1024 * 1024)

static const audit_actor cli_actor = {.user_id = 0, .login = "cli:root", .request_id = NULL};

static int usage(void) {
    fprintf(stderr,
            "usage: isle proof keygen [--rotate] [--files-dir DIR]\n"
            "       isle proof pubkey [--pem] [--key-id ID] [--all] [--files-dir DIR]\n"
            "       isle proof verify FILE.pdf|FILE|QRTEXT|- [--json] [--pubkey PUB.pem]\n");
    return 2;
}

/* Point proofs_key_path() where `isle serve` would look. */
static void use_server_key_path(const cli_env *env, int argc, char **argv) {
    const char *k = getenv("ISLE_PROOF_KEY");
    if (k && *k) return;
    const char *dir = cli_opt(argc, argv, "--files-dir");
    if (!dir) dir = getenv("ISLE_FILES_DIR");
    char buf[1024];
    if (!dir && db_dsn_is_postgres(env->db_path)) dir = "isle-files";
    if (!dir) {
        snprintf(buf, sizeof(buf), "%s-files", db_dsn_path(env->db_path));
        dir = buf;
    }
    char path[1200];
    snprintf(path, sizeof(path), "%s/keys/proof-ed25519.pem", dir);
    proofs_set_key_path(path);
}

/* Register k (and retire old_id when not ""), audited, in one transaction. */
static int record_key(db *d, const proofs_key *k, const char *old_id, err *e) {
    if (db_begin(d, e) != 0) return -1;
    int rc = proofs_key_register(d, k, e);
    char now[32];
    time_iso(now, sizeof(now), time_now());
    if (rc == 0 && old_id[0] && strcmp(old_id, k->key_id) != 0)
        rc = db_execf(d, e,
                      "UPDATE proof_keys SET retired_at = $1 WHERE key_id = $2 AND "
                      "retired_at IS NULL",
                      "ss", now, old_id);
    if (rc == 0) {
        json_t *after =
            json_pack("{s:s, s:s}", "key_id", k->key_id, "retired", old_id[0] ? old_id : "");
        rc = audit_record(d, &cli_actor, old_id[0] ? "proof.key_rotate" : "proof.keygen",
                          "proof_key", k->key_id, NULL, after, e);
        json_decref(after);
    }
    if (rc == 0) rc = db_commit(d, e);
    if (rc != 0) db_rollback(d);
    return rc;
}

static int cmd_keygen(const cli_env *env, int argc, char **argv) {
    use_server_key_path(env, argc, argv);
    int rotate = cli_flag(argc, argv, "--rotate");
    char path[1200];
    proofs_key_path(path, sizeof(path));
    db *d;
    if (cli_open_db(env, &d) != 0) return 1;
    err e = {0};
    proofs_key old, k;
    char old_id[17] = "";
    int have = proofs_key_load(path, &old, &e) == 0;
    if (!have && e.status != 404) {
        db_close(d);
        return cli_error("proof keygen", &e);
    }
    if (have) snprintf(old_id, sizeof(old_id), "%s", old.key_id);
    proofs_key_wipe(&old);
    if (have && !rotate) {
        /* Idempotent: make sure the key is published and say where it is. */
        int rc = proofs_key_load(path, &k, &e) == 0 ? record_key(d, &k, "", &e) : -1;
        db_close(d);
        if (rc != 0) return cli_error("proof keygen", &e);
        printf("proof signing key %s already at %s (isle proof keygen --rotate replaces it)\n",
               k.key_id, path);
        proofs_key_wipe(&k);
        return 0;
    }
    int rc = proofs_key_generate(path, rotate, &k, &e);
    if (rc == 0) rc = record_key(d, &k, have ? old_id : "", &e);
    db_close(d);
    if (rc != 0) return cli_error("proof keygen", &e);
    char b64[64];
    printf("proof signing key %s written to %s (mode 0600)%s%s\npublic key (base64url): %s\n",
           k.key_id, path, have ? "; retired " : "", have ? old_id : "",
           proofs_pubkey_b64(k.pk, b64, sizeof(b64)));
    if (have) printf("restart `isle serve` to sign with the new key\n");
    proofs_key_wipe(&k);
    return 0;
}

static int cmd_pubkey(const cli_env *env, int argc, char **argv) {
    use_server_key_path(env, argc, argv);
    int pem = cli_flag(argc, argv, "--pem");
    const char *want = cli_opt(argc, argv, "--key-id");
    err e = {0};
    if (cli_flag(argc, argv, "--all") || want) {
        db *d;
        if (cli_open_db(env, &d) != 0) return 1;
        json_t *keys = proofs_keys_json(d, &e);
        db_close(d);
        if (!keys) return cli_error("proof pubkey", &e);
        size_t i;
        json_t *k;
        int shown = 0;
        json_array_foreach(json_object_get(keys, "items"), i, k) {
            const char *id = json_string_value(json_object_get(k, "key_id"));
            if (want && strcmp(want, id) != 0) continue;
            shown++;
            if (pem) {
                fputs(json_string_value(json_object_get(k, "pem")), stdout);
            } else {
                const char *retired = json_string_value(json_object_get(k, "retired_at"));
                printf("%s %s created %s%s%s\n", id,
                       json_string_value(json_object_get(k, "public_key")),
                       json_string_value(json_object_get(k, "created_at")),
                       retired ? " retired " : "", retired ? retired : "");
            }
        }
        json_decref(keys);
        if (want && !shown) {
            fprintf(stderr, "isle: proof pubkey: no published key %s\n", want);
            return 1;
        }
        return 0;
    }
    char path[1200];
    proofs_key_path(path, sizeof(path));
    proofs_key k;
    if (proofs_key_load(path, &k, &e) != 0) {
        if (e.status == 404)
            fprintf(stderr, "isle: proof pubkey: no signing key at %s yet (isle proof keygen)\n",
                    path);
        else
            cli_error("proof pubkey", &e);
        return 1;
    }
    char out[160];
    if (pem)
        fputs(proofs_pubkey_pem(k.pk, out, sizeof(out)), stdout);
    else
        printf("%s %s\n", k.key_id, proofs_pubkey_b64(k.pk, out, sizeof(out)));
    proofs_key_wipe(&k);
    return 0;
}

/* Read a whole file (at most FILE_MAX bytes) or stdin ("-"). NULL when it cannot. */
static unsigned char *read_all(const char *path, size_t *len) {
    int fd = strcmp(path, "-") ? open(path, O_RDONLY | O_CLOEXEC) : STDIN_FILENO;
    if (fd < 0) return NULL;
    size_t cap = 65536, n = 0;
    unsigned char *buf = malloc(cap + 1);
    if (!buf) abort();
    for (;;) {
        if (n == cap) {
            if (cap >= FILE_MAX) break;
            cap *= 2;
            buf = realloc(buf, cap + 1);
            if (!buf) abort();
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r <= 0) break;
        n += (size_t)r;
    }
    if (fd != STDIN_FILENO) close(fd);
    buf[n] = '\0';
    *len = n;
    return buf;
}

static int cmd_verify(const cli_env *env, int argc, char **argv) {
    const char *arg = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--pubkey")) {
            i++;
            continue;
        }
        if (!strcmp(argv[i], "--json")) continue;
        if (arg) return usage();
        arg = argv[i];
    }
    if (!arg) return usage();
    int json_out = cli_flag(argc, argv, "--json");
    err e = {0};
    char *qr = NULL;
    size_t len = 0;
    unsigned char *data = NULL;
    if (!strcmp(arg, "-") || access(arg, F_OK) == 0) {
        data = read_all(arg, &len);
        if (!data) {
            fprintf(stderr, "isle: proof verify: cannot read %s\n", arg);
            return 1;
        }
        if (len >= 5 && !memcmp(data, "%PDF-", 5)) {
            if (proofs_pdf_extract_qr(data, len, &qr, &e) != 0) {
                free(data);
                printf("INVALID (malformed): %s\n", e.message);
                return 1;
            }
        } else {
            qr = strdup((const char *)data);
            if (!qr) abort();
        }
        free(data);
    } else {
        qr = strdup(arg);
        if (!qr) abort();
    }
    proofs_verdict v;
    const char *pub = cli_opt(argc, argv, "--pubkey");
    if (pub) {
        unsigned char *pem = read_all(pub, &len);
        unsigned char pk[32];
        if (!pem || proofs_pubkey_from_pem((const char *)pem, pk) != 0) {
            free(pem);
            free(qr);
            fprintf(stderr, "isle: proof verify: %s is not an Ed25519 public key PEM\n", pub);
            return 2;
        }
        free(pem);
        proofs_verify_offline(pk, qr, &v);
    } else {
        db *d;
        if (cli_open_db(env, &d) != 0) {
            free(qr);
            return 1;
        }
        int rc = proofs_verify_qr(d, qr, &v, &e);
        db_close(d);
        if (rc != 0) {
            free(qr);
            return cli_error("proof verify", &e);
        }
    }
    free(qr);
    if (json_out) {
        json_t *j = proofs_verdict_json(&v);
        char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        printf("%s\n", s);
        free(s);
        json_decref(j);
    } else if (v.valid) {
        printf("VALID: %s %s, holder %s, issuer %s, issued %s, valid until %s (key %s)\n%s\n",
               v.title, v.proof_no, v.holder, v.issuer, v.issued_at, v.valid_until, v.key_id,
               v.message);
    } else {
        printf("INVALID (%s%s%s): %s\n", v.status, v.field[0] ? ": " : "", v.field, v.message);
    }
    return v.valid ? 0 : 1;
}

int proofs_cli(const cli_env *env, int argc, char **argv) {
    if (argc < 2) return usage();
    const char *sub = argv[1];
    if (!strcmp(sub, "keygen")) return cmd_keygen(env, argc - 1, argv + 1);
    if (!strcmp(sub, "pubkey")) return cmd_pubkey(env, argc - 1, argv + 1);
    if (!strcmp(sub, "verify")) return cmd_verify(env, argc - 1, argv + 1);
    return usage();
}
