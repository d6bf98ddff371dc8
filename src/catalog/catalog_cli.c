/* catalog_cli: `isle import catalog …` and `isle export catalog …`.
 *
 *   isle import catalog FILE.jsonl [--bundles FILE] [--licences FILE]
 *   isle export catalog [--out FILE] [--bundles-out FILE] [--licences-out FILE]
 *
 * Import prints the counts; any bad line exits 1 with the line and field on
 * stderr and nothing written. Export writes items to stdout unless --out is
 * given; files are written to a temporary name beside the target and renamed
 * into place only when complete, so a failed export never leaves half a file. */
#include "catalog/catalog.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const audit_actor catalog_cli_actor = {.user_id = 0, .login = "cli", .request_id = NULL};

static int cli_fail(const char *what, const err *e) {
    if (e->field[0])
        fprintf(stderr, "isle: %s: %s (field: %s)\n", what, e->message, e->field);
    else
        fprintf(stderr, "isle: %s: %s\n", what, e->message);
    return 1;
}

static int cli_usage(void) {
    fprintf(stderr, "usage: isle import catalog FILE.jsonl [--bundles FILE] [--licences FILE]\n"
                    "       isle export catalog [--out FILE] [--bundles-out FILE] "
                    "[--licences-out FILE]\n");
    return 2;
}

static int cmd_import(const cli_env *env, int argc, char **argv) {
    static const char *const known[] = {"--bundles", "--licences", NULL};
    const char *values[2] = {NULL, NULL};
    const char *files[1];
    int nfiles;
    if (cli_parse(argc, argv, known, values, NULL, NULL, files, &nfiles, 1) != 0)
        return cli_usage();
    if (nfiles != 1) {
        fprintf(stderr, "isle: import catalog needs the items file (FILE.jsonl)\n");
        return cli_usage();
    }
    db *d;
    if (cli_open_db(env, &d) != 0) return 1;
    err e = {0};
    catalog_counts c;
    int rc = catalog_import_file(d, files[0], values[0], values[1], &catalog_cli_actor, &c, &e);
    db_close(d);
    if (rc != 0) return cli_fail("import catalog", &e);
    printf("catalog: %lld items (%lld inserted, %lld updated, %lld unchanged), %lld bundles, "
           "%lld licence types\n",
           (long long)c.items, (long long)c.inserted, (long long)c.updated, (long long)c.unchanged,
           (long long)c.bundles, (long long)c.licences);
    return 0;
}

/* An output file being written: the stream and the names to rename between. */
typedef struct out_file {
    const char *path; /* NULL = not requested */
    char tmp[4200];
    FILE *f;
} out_file;

static int out_open(out_file *o) {
    if (!o->path) return 0;
    int n = snprintf(o->tmp, sizeof(o->tmp), "%s.XXXXXX", o->path);
    if (n < 0 || (size_t)n >= sizeof(o->tmp)) {
        fprintf(stderr, "isle: path too long: %s\n", o->path);
        return -1;
    }
    int fd = mkstemp(o->tmp);
    if (fd < 0 || !(o->f = fdopen(fd, "w"))) {
        fprintf(stderr, "isle: cannot write %s: %s\n", o->path, strerror(errno));
        if (fd >= 0) {
            close(fd);
            unlink(o->tmp);
        }
        return -1;
    }
    return 0;
}

/* Close and (when ok) move into place; otherwise remove the temporary file. */
static int out_close(out_file *o, int ok) {
    if (!o->f) return 0;
    int closed = fclose(o->f) == 0;
    o->f = NULL;
    if (ok && closed && rename(o->tmp, o->path) == 0) return 0;
    if (ok) fprintf(stderr, "isle: cannot write %s: %s\n", o->path, strerror(errno));
    unlink(o->tmp);
    return -1;
}

static int cmd_export(const cli_env *env, int argc, char **argv) {
    static const char *const known[] = {"--out", "--bundles-out", "--licences-out", NULL};
    const char *values[3] = {NULL, NULL, NULL};
    const char *extra[1];
    int nextra;
    if (cli_parse(argc, argv, known, values, NULL, NULL, extra, &nextra, 0) != 0)
        return cli_usage();
    out_file out[3] = {{.path = values[0]}, {.path = values[1]}, {.path = values[2]}};
    for (int i = 0; i < 3; i++) {
        if (out_open(&out[i]) != 0) {
            for (int k = 0; k < i; k++)
                out_close(&out[k], 0);
            return 1;
        }
    }
    db *d;
    if (cli_open_db(env, &d) != 0) {
        for (int k = 0; k < 3; k++)
            out_close(&out[k], 0);
        return 1;
    }
    err e = {0};
    int rc = catalog_export(d, out[0].f ? out[0].f : stdout, out[1].f, out[2].f, &e);
    db_close(d);
    int failed = rc != 0;
    for (int k = 0; k < 3; k++)
        if (out_close(&out[k], !failed) != 0) failed = 1;
    if (rc != 0) return cli_fail("export catalog", &e);
    if (!out[0].path && fflush(stdout) != 0) {
        fprintf(stderr, "isle: export catalog: cannot write to standard output\n");
        return 1;
    }
    return failed ? 1 : 0;
}

int catalog_cli(const cli_env *env, int argc, char **argv) {
    if (argc < 2 || strcmp(argv[1], "catalog") != 0) {
        if (argc >= 2) fprintf(stderr, "isle: nothing to %s named \"%s\"\n", argv[0], argv[1]);
        return cli_usage();
    }
    if (strcmp(argv[0], "import") == 0) return cmd_import(env, argc - 2, argv + 2);
    if (strcmp(argv[0], "export") == 0) return cmd_export(env, argc - 2, argv + 2);
    return cli_usage();
}
