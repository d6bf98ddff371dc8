/* test.h: a tiny unit-test harness.
 *
 * TEST(name) { ... } registers a test through a constructor; CHECK* macros record
 * failures without stopping the test. tests/unit/main.c runs every test (or those
 * whose name contains argv[1]) and ends with the line "N passed, N failed".
 * Tests may #include a module's .c to reach its statics (h2o's habit). */
#ifndef ISLE_TEST_H
#define ISLE_TEST_H

#include <stdio.h>
#include <string.h>

typedef void (*test_fn)(void);
void test_register(const char *name, test_fn fn);
extern int test_failures_in_current;

#define TEST(name)                                                                                 \
    static void test_##name(void);                                                                 \
    __attribute__((constructor)) static void register_##name(void) {                               \
        test_register(#name, test_##name);                                                         \
    }                                                                                              \
    static void test_##name(void)

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "    %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond);           \
            test_failures_in_current++;                                                            \
        }                                                                                          \
    } while (0)

#define CHECK_INT(a, b)                                                                            \
    do {                                                                                           \
        long long va_ = (long long)(a), vb_ = (long long)(b);                                      \
        if (va_ != vb_) {                                                                          \
            fprintf(stderr, "    %s:%d: %s == %lld, expected %s == %lld\n", __FILE__, __LINE__,    \
                    #a, va_, #b, vb_);                                                             \
            test_failures_in_current++;                                                            \
        }                                                                                          \
    } while (0)

#define CHECK_STR(a, b)                                                                            \
    do {                                                                                           \
        const char *sa_ = (a), *sb_ = (b);                                                         \
        if (!sa_ || !sb_ || strcmp(sa_, sb_) != 0) {                                               \
            fprintf(stderr, "    %s:%d: %s == \"%s\", expected \"%s\"\n", __FILE__, __LINE__, #a,  \
                    sa_ ? sa_ : "(null)", sb_ ? sb_ : "(null)");                                   \
            test_failures_in_current++;                                                            \
        }                                                                                          \
    } while (0)

/* Shared helpers for tests that need a database (tests/unit/main.c). */
struct db;
/** A migrated in-memory SQLite database, or NULL (with the reason on stderr). The
 *  caller closes it with db_close(). */
struct db *test_db_open(void);
/** The integer result of a parameterless query such as "SELECT COUNT(*) FROM t", or -1. */
long long test_db_count(struct db *d, const char *sql);

#endif
