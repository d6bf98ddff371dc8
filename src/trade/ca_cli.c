/* ca_cli: `isle ca …` — the CA trust store by hand (统一CA互认).
 *
 *   isle ca add ROOT.pem [--name NAME] [--home]   trust a root CA certificate
 *   isle ca list [--json]                         the trust store
 *   isle ca crl FILE.pem                          import a CRL (signature checked)
 *   isle ca disable ID | isle ca enable ID        stop / resume trusting a root
 *   isle ca check CERT.pem [--json]               verify a certificate (chain, time, CRL)
 *
 * The operator acts as the system operator, audited as "cli:root". Exit 0 ok, 1 failure
 * (including a certificate that does not verify), 2 usage. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/timeutil.h"
#include "cli.h"
#include "db/db.h"
#include "trade/ca.h"
#include "trade/trade_cli.h"

static int usage(void) {
    fprintf(stderr, "usage: isle ca add ROOT.pem [--name NAME] [--home]\n"
                    "       isle ca list [--json]\n"
                    "       isle ca crl FILE.pem\n"
                    "       isle ca disable ID | isle ca enable ID\n"
                    "       isle ca check CERT.pem [--json]\n");
    return 2;
}

/* The first argument after the sub-command that is not an option or its value. */
static const char *positional(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--name")) {
            i++;
            continue;
        }
        if (argv[i][0] == '-' && argv[i][1]) continue;
        return argv[i];
    }
    return NULL;
}

/* Read a whole file of at most max bytes. Caller frees. */
static char *read_file(const char *path, size_t max, size_t *len) {
    FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
    if (!f) {
        fprintf(stderr, "isle ca: cannot open %s: %s\n", path, strerror(errno));
        return NULL;
    }
    char *buf = malloc(max + 2);
    size_t n = buf ? fread(buf, 1, max + 1, f) : 0;
    if (f != stdin) fclose(f);
    if (!buf) return NULL;
    if (n > max) {
        fprintf(stderr, "isle ca: %s is larger than %zu bytes\n", path, max);
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

static int cmd_add(db *d, int argc, char **argv) {
    const char *path = positional(argc, argv);
    if (!path) return usage();
    size_t len = 0;
    char *pem = read_file(path, CA_PEM_MAX, &len);
    if (!pem) return 1;
    trade_actor a;
    trade_cli_actor(&a);
    err e = {0};
    json_t *out = NULL;
    int rc = ca_root_add(d, &a, pem, len, cli_opt(argc, argv, "--name"),
                         cli_flag(argc, argv, "--home"), &out, &e);
    free(pem);
    if (rc != 0) return cli_error("ca add", &e);
    printf("added root %lld: %s (%s%s) %s\n",
           (long long)json_integer_value(json_object_get(out, "id")),
           json_string_value(json_object_get(out, "name")),
           json_string_value(json_object_get(out, "key_type")),
           json_integer_value(json_object_get(out, "home")) ? ", home" : "",
           json_string_value(json_object_get(out, "fingerprint")));
    json_decref(out);
    return 0;
}

static int cmd_list(db *d, int argc, char **argv) {
    err e = {0};
    json_t *list = ca_roots_list(d, 1, &e);
    if (!list) return cli_error("ca list", &e);
    if (cli_flag(argc, argv, "--json")) {
        char *s = json_dumps(list, JSON_INDENT(2));
        printf("%s\n", s ? s : "[]");
        free(s);
    } else {
        size_t i;
        json_t *r;
        printf("%-4s %-4s %-5s %-8s %-20s %s\n", "ID", "TYPE", "HOME", "STATUS", "NOT AFTER",
               "NAME / SUBJECT");
        json_array_foreach(list, i, r) {
            printf("%-4lld %-4s %-5s %-8s %-20s %s\n",
                   (long long)json_integer_value(json_object_get(r, "id")),
                   json_string_value(json_object_get(r, "key_type")),
                   json_integer_value(json_object_get(r, "home")) ? "yes" : "",
                   json_integer_value(json_object_get(r, "disabled")) ? "disabled" : "enabled",
                   json_string_value(json_object_get(r, "not_after")),
                   json_string_value(json_object_get(r, "name")));
            printf("%-45s %s\n", "", json_string_value(json_object_get(r, "subject")));
        }
    }
    json_decref(list);
    return 0;
}

static int cmd_crl(db *d, int argc, char **argv) {
    const char *path = positional(argc, argv);
    if (!path) return usage();
    size_t len = 0;
    char *data = read_file(path, CA_CRL_MAX, &len);
    if (!data) return 1;
    trade_actor a;
    trade_cli_actor(&a);
    err e = {0};
    json_t *out = NULL;
    int rc = ca_crl_add(d, &a, data, len, &out, &e);
    free(data);
    if (rc != 0) return cli_error("ca crl", &e);
    printf("imported CRL %lld (this update %s): %lld revoked, %lld registered certificate(s) "
           "marked revoked\n",
           (long long)json_integer_value(json_object_get(out, "id")),
           json_string_value(json_object_get(out, "this_update")),
           (long long)json_integer_value(json_object_get(out, "revoked")),
           (long long)json_integer_value(json_object_get(out, "certs_revoked")));
    json_decref(out);
    return 0;
}

static int cmd_disable(db *d, int argc, char **argv, int disabled) {
    const char *s = positional(argc, argv);
    char *end = NULL;
    long long id = s ? strtoll(s, &end, 10) : 0;
    if (!s || !*s || *end || id <= 0) return usage();
    trade_actor a;
    trade_cli_actor(&a);
    err e = {0};
    if (ca_root_disable(d, &a, id, disabled, &e) != 0)
        return cli_error(disabled ? "ca disable" : "ca enable", &e);
    printf("root %lld %s\n", id, disabled ? "disabled" : "enabled");
    return 0;
}

static int cmd_check(db *d, int argc, char **argv) {
    const char *path = positional(argc, argv);
    if (!path) return usage();
    size_t len = 0;
    char *pem = read_file(path, CA_PEM_MAX, &len);
    if (!pem) return 1;
    err e = {0};
    ca_cert_info ci;
    int rc = ca_cert_check(d, pem, len, time_now(), &ci, &e);
    free(pem);
    if (cli_flag(argc, argv, "--json")) {
        json_t *o =
            rc == 0
                ? json_pack("{s:b, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:b}", "ok", 1,
                            "fingerprint", ci.fingerprint, "serial", ci.serial, "subject",
                            ci.subject, "issuer", ci.issuer, "key_type", ci.key_type, "not_before",
                            ci.not_before, "not_after", ci.not_after, "ca_root_id",
                            (json_int_t)ci.ca_root_id, "foreign_ca", ci.foreign_ca)
                : json_pack("{s:b, s:s, s:s}", "ok", 0, "code", e.code, "message", e.message);
        char *s = json_dumps(o, JSON_INDENT(2));
        printf("%s\n", s ? s : "{}");
        free(s);
        json_decref(o);
        return rc == 0 ? 0 : 1;
    }
    if (rc != 0) return cli_error("ca check", &e);
    printf("OK %s %s\n  subject  %s\n  issuer   %s\n  valid    %s .. %s\n  root     %lld%s\n",
           ci.key_type, ci.fingerprint, ci.subject, ci.issuer, ci.not_before, ci.not_after,
           (long long)ci.ca_root_id, ci.foreign_ca ? " (other CA: 互认)" : " (home CA)");
    return 0;
}

int ca_cli(const cli_env *env, int argc, char **argv) {
    /* argv[0] is "ca". */
    if (argc < 2) return usage();
    const char *sub = argv[1];
    if (strcmp(sub, "add") && strcmp(sub, "list") && strcmp(sub, "crl") && strcmp(sub, "disable") &&
        strcmp(sub, "enable") && strcmp(sub, "check"))
        return usage();
    db *d = NULL;
    if (cli_open_db(env, &d) != 0) return 1;
    int rc;
    if (!strcmp(sub, "add"))
        rc = cmd_add(d, argc - 1, argv + 1);
    else if (!strcmp(sub, "list"))
        rc = cmd_list(d, argc - 1, argv + 1);
    else if (!strcmp(sub, "crl"))
        rc = cmd_crl(d, argc - 1, argv + 1);
    else if (!strcmp(sub, "disable") || !strcmp(sub, "enable"))
        rc = cmd_disable(d, argc - 1, argv + 1, !strcmp(sub, "disable"));
    else
        rc = cmd_check(d, argc - 1, argv + 1);
    db_close(d);
    return rc;
}
