/* Unit test runner: runs every registered TEST (filtered by argv[1] if given)
 * and prints "N passed, N failed". Exit status 1 when anything failed. */
#include "test.h"

#include <stdlib.h>

#include "base/crypto.h"
#include "base/log.h"
#include "db/db.h"
#include "db/migrate.h"

#define MAX_TESTS 1024

static struct {
    const char *name;
    test_fn fn;
} tests[MAX_TESTS];
static int ntests;
int test_failures_in_current;

void test_register(const char *name, test_fn fn) {
    if (ntests == MAX_TESTS) {
        fprintf(stderr, "too many tests\n");
        exit(2);
    }
    tests[ntests].name = name;
    tests[ntests].fn = fn;
    ntests++;
}

int main(int argc, char **argv) {
    if (crypto_init() != 0) return 2;
    setenv("ISLE_ARGON2_FAST", "1", 1);
    log_set_level(LOG_WARN);
    int passed = 0, failed = 0;
    for (int i = 0; i < ntests; i++) {
        if (argc > 1 && !strstr(tests[i].name, argv[1])) continue;
        test_failures_in_current = 0;
        tests[i].fn();
        if (test_failures_in_current) {
            printf("FAIL %s\n", tests[i].name);
            failed++;
        } else {
            printf("ok   %s\n", tests[i].name);
            passed++;
        }
    }
    printf("unit: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}

struct db *test_db_open(void) {
    db *d = NULL;
    err e = {0};
    if (db_open(":memory:", &d, &e) != 0) {
        fprintf(stderr, "    db_open: %s\n", e.message);
        return NULL;
    }
    if (db_migrate(d, NULL, &e) != 0) {
        fprintf(stderr, "    db_migrate: %s\n", e.message);
        db_close(d);
        return NULL;
    }
    return d;
}

long long test_db_count(struct db *d, const char *sql) {
    int64_t n = -1;
    err e = {0};
    if (db_query_int(d, &e, &n, sql, "") != 0) return -1;
    return n;
}
