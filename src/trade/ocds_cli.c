/* ocds_cli: `isle export ocds [--out FILE] [--since DATE] [--prefix PREFIX]` — the
 * OCDS 1.1.5 release package of every tender (see ocds.h), streamed to FILE (written
 * beside it and renamed into place when complete) or to standard output. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "db/migrate.h"
#include "trade/ocds.h"

static int usage(void) {
    fprintf(stderr, "usage: isle export ocds [--out FILE] [--since DATE] [--prefix PREFIX]\n");
    return 2;
}

static int to_file(void *arg, const char *buf, size_t len, err *e) {
    if (fwrite(buf, 1, len, (FILE *)arg) != len) return err_internal(e, "写入失败");
    return 0;
}

int ocds_cli(const cli_env *env, int argc, char **argv) {
    if (argc < 2 || strcmp(argv[0], "export") != 0 || strcmp(argv[1], "ocds") != 0) return usage();
    const char *out = NULL, *since = NULL, *prefix = NULL;
    for (int i = 2; i < argc; i++) {
        const char **slot = !strcmp(argv[i], "--out")      ? &out
                            : !strcmp(argv[i], "--since")  ? &since
                            : !strcmp(argv[i], "--prefix") ? &prefix
                                                           : NULL;
        if (!slot) {
            fprintf(stderr, "isle: export ocds: unknown argument %s\n", argv[i]);
            return usage();
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "isle: export ocds: %s needs a value\n", argv[i]);
            return usage();
        }
        *slot = argv[++i];
    }
    if (prefix && !ocds_prefix_valid(prefix)) {
        fprintf(stderr, "isle: export ocds: --prefix must be 1-64 letters, digits or '-'\n");
        return 2;
    }
    err e = {0};
    char since_iso[40];
    if (since && ocds_since(since, since_iso, sizeof(since_iso), &e) != 0) {
        fprintf(stderr, "isle: export ocds: --since must be YYYY-MM-DD or an ISO-8601 time\n");
        return 2;
    }
    db *d;
    if (db_open(env->db_path, &d, &e) != 0 || db_migrate(d, NULL, &e) != 0) {
        fprintf(stderr, "isle: database: %s\n", e.message);
        return 1;
    }
    char tmp[4200];
    FILE *f = stdout;
    if (out) {
        snprintf(tmp, sizeof(tmp), "%s.tmp.%d", out, (int)getpid());
        f = fopen(tmp, "w");
        if (!f) {
            fprintf(stderr, "isle: export ocds: cannot write %s\n", out);
            db_close(d);
            return 1;
        }
    }
    ocds_opts o = {.prefix = prefix, .since = since};
    int64_t n = 0;
    int rc = ocds_write_package(d, &o, to_file, f, &n, NULL, &e);
    db_close(d);
    int werr = out ? fclose(f) != 0 : fflush(stdout) != 0;
    if (rc != 0 || werr) {
        if (out) unlink(tmp);
        fprintf(stderr, "isle: export ocds: %s\n", rc != 0 ? e.message : "write failed");
        return 1;
    }
    if (out && rename(tmp, out) != 0) {
        unlink(tmp);
        fprintf(stderr, "isle: export ocds: cannot write %s\n", out);
        return 1;
    }
    fprintf(stderr, "ocds: %lld release%s%s%s (ocid prefix %s)\n", (long long)n, n == 1 ? "" : "s",
            out ? " written to " : "", out ? out : "", ocds_prefix(prefix));
    if (n == 0)
        fprintf(stderr, "ocds: warning: no tender matched; an OCDS package needs at least one "
                        "release to validate\n");
    return 0;
}
