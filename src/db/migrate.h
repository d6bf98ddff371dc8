/* migrate: numbered schema migrations compiled into the binary.
 *
 * src/db/schema/NNN_name.sql files are embedded by scripts/embed_schema.sh into
 * the `migrations` table below (sorted by number; scripts/embed_schema.sh refuses
 * two files with one number). db_migrate() applies the ones
 * not yet recorded in schema_migrations, each in its own transaction, and is
 * run by `isle init` and at `isle serve` start. A migration is never edited
 * once released: add a new one. */
#ifndef ISLE_MIGRATE_H
#define ISLE_MIGRATE_H

#include <stddef.h>

#include "base/err.h"

struct migration {
    int version;
    const char *name;
    const char *sql; /* may use the @id_pk@ token (see db.h) */
};

extern const struct migration migrations[];
extern const int migration_count;

struct db;
/** Apply pending migrations. *applied (may be NULL) gets how many ran. 0 or -1. */
int db_migrate(struct db *d, int *applied, err *e);
/** Highest applied version (0 for an empty database), or -1 on error. */
int db_schema_version(struct db *d, err *e);

/** One line of `isle migrate status`. */
typedef struct migration_state {
    int version;
    char name[64];
    int known;           /* embedded in this binary */
    int applied;         /* recorded in schema_migrations */
    char applied_at[32]; /* when applied ("" when pending) */
} migration_state;
/** Every migration this binary knows and every one the database records, by version.
 *  *out (caller frees) gets *n entries. 0 or -1. */
int db_migration_status(struct db *d, migration_state **out, size_t *n, err *e);
/** sql with the per-backend sections of other backends removed (see migrate.c);
 *  backend is db_backend()'s name. Caller frees. */
char *db_migration_sql(const char *sql, const char *backend);

#endif
