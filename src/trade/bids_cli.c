/* bids_cli: the operator's commands for sealed bids and the backup key.
 *
 *   isle trade backup-key init --custodians LOGIN,LOGIN,LOGIN --threshold 2 --out DIR
 *       makes the centre's backup key, writes DIR/backup.crt and one share file per
 *       custodian (DIR/share-<n>-<login>.txt, mode 0600) and prints the paths. The
 *       shares exist nowhere else: hand each file to its custodian and delete it.
 *   isle trade bids TENDER_NO [--json]
 *       the tender's bids as receipts and statuses, never content. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "db/db.h"
#include "trade/backup.h"
#include "trade/bids.h"
#include "trade/trade_cli.h"

/* Write text to path with mode 0600, refusing to overwrite. 0 or -1. */
static int write_private(const char *path, const char *text) {
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        fprintf(stderr, "isle: cannot create %s: %s\n", path, strerror(errno));
        return -1;
    }
    size_t n = strlen(text);
    int ok = write(fd, text, n) == (ssize_t)n && write(fd, "\n", 1) == 1 && fsync(fd) == 0;
    if (close(fd) != 0) ok = 0;
    if (!ok) fprintf(stderr, "isle: cannot write %s\n", path);
    return ok ? 0 : -1;
}

static int safe_login(const char *s) {
    if (!*s) return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == '-' || *s == '.'))
            return 0;
    return 1;
}

static int backup_key_init(const cli_env *env, int argc, char **argv) {
    const char *list = cli_opt(argc, argv, "--custodians");
    const char *th = cli_opt(argc, argv, "--threshold");
    const char *out = cli_opt(argc, argv, "--out");
    if (argc < 2 || strcmp(argv[1], "init") != 0 || !list || !th || !out) {
        fprintf(stderr, "usage: isle trade backup-key init --custodians LOGIN,LOGIN,LOGIN "
                        "--threshold 2 --out DIR\n");
        return 2;
    }
    char *end;
    long t = strtol(th, &end, 10);
    if (*end || t < 2 || t > BACKUP_SHARES_MAX) {
        fprintf(stderr, "isle: --threshold must be 2..%d\n", BACKUP_SHARES_MAX);
        return 2;
    }
    char logins_buf[2048];
    snprintf(logins_buf, sizeof(logins_buf), "%s", list);
    char *logins[BACKUP_SHARES_MAX + 1];
    int n = 0;
    for (char *save = NULL, *tok = strtok_r(logins_buf, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        if (n == BACKUP_SHARES_MAX + 1) break;
        logins[n++] = tok;
    }
    if (n < 2 || n > BACKUP_SHARES_MAX) {
        fprintf(stderr, "isle: 2..%d custodians are needed\n", BACKUP_SHARES_MAX);
        return 2;
    }
    if (mkdir(out, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "isle: cannot create %s: %s\n", out, strerror(errno));
        return 1;
    }
    db *d;
    if (cli_open_db(env, &d) != 0) return 1;
    err e = {0};
    int64_t ids[BACKUP_SHARES_MAX];
    for (int i = 0; i < n; i++) {
        int q =
            db_query_int(d, &e, &ids[i], "SELECT id FROM users WHERE login = $1", "s", logins[i]);
        if (q != 0) {
            db_close(d);
            if (q < 0) return cli_error("backup-key", &e);
            fprintf(stderr, "isle: no user with login \"%s\"\n", logins[i]);
            return 1;
        }
    }
    trade_actor a;
    trade_cli_actor(&a);
    char **shares = NULL, *pem = NULL;
    int rc = backup_key_create(d, &a, ids, n, (int)t, &shares, &pem, &e);
    db_close(d);
    if (rc != 0) return cli_error("backup-key", &e);
    char path[1200];
    snprintf(path, sizeof(path), "%s/backup.crt", out);
    unlink(path);
    int bad = write_private(path, pem) != 0;
    if (!bad) chmod(path, 0644);
    printf("backup certificate: %s\n", path);
    for (int i = 0; i < n && !bad; i++) {
        char sp[1200];
        snprintf(sp, sizeof(sp), "%s/share-%d-%s.txt", out, i + 1,
                 safe_login(logins[i]) ? logins[i] : "custodian");
        bad = write_private(sp, shares[i]) != 0;
        if (!bad) printf("share %d of %d (threshold %ld) for %s: %s\n", i + 1, n, t, logins[i], sp);
    }
    if (!bad)
        printf("Give each share file to its custodian and delete it here: the server keeps only "
               "the shares' SHA-256.\n");
    backup_free_shares(shares, n);
    free(pem);
    return bad ? 1 : 0;
}

static int bids_show(const cli_env *env, int argc, char **argv) {
    if (argc < 2 || argv[1][0] == '-') {
        fprintf(stderr, "usage: isle trade bids TENDER_NO [--json]\n");
        return 2;
    }
    db *d;
    if (cli_open_db(env, &d) != 0) return 1;
    err e = {0};
    trade_tender t;
    if (trade_tender_load_no(d, argv[1], &t, &e) != 0) {
        db_close(d);
        return cli_error("bids", &e);
    }
    json_t *items = bids_operator_list(d, t.id, &e);
    db_close(d);
    if (!items) return cli_error("bids", &e);
    if (cli_flag(argc, argv, "--json")) {
        char *s = json_dumps(items, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        puts(s ? s : "[]");
        free(s);
    } else {
        printf("%s %s (%s), %zu bid rows\n", t.tender_no, t.title, trade_status_label(t.status),
               json_array_size(items));
        printf("%-6s %-4s %-10s %-18s %-10s %-16s %s\n", "id", "seq", "status", "uscc", "bytes",
               "envelope", "received_at");
        size_t i;
        json_t *b;
        json_array_foreach(items, i, b) {
            json_t *r = json_object_get(b, "receipt");
            printf("%-6lld %-4lld %-10s %-18s %-10lld %.16s %s\n",
                   (long long)json_integer_value(json_object_get(b, "id")),
                   (long long)json_integer_value(json_object_get(b, "seq")),
                   json_string_value(json_object_get(b, "status")),
                   json_string_value(json_object_get(r, "uscc")) ?: "",
                   (long long)json_integer_value(json_object_get(b, "envelope_size")),
                   json_string_value(json_object_get(b, "envelope_sha256")),
                   json_string_value(json_object_get(r, "received_at")) ?: "");
        }
    }
    json_decref(items);
    return 0;
}

int bids_cli(const cli_env *env, int argc, char **argv) {
    if (argc >= 1 && !strcmp(argv[0], "backup-key")) return backup_key_init(env, argc, argv);
    if (argc >= 1 && !strcmp(argv[0], "bids")) return bids_show(env, argc, argv);
    fprintf(stderr, "usage: isle trade backup-key init … | isle trade bids TENDER_NO [--json]\n");
    return 2;
}
