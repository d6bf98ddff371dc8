/* migrate: numbered schema migrations compiled into the binary.
 *
 * src/db/schema/NNN_name.sql files are embedded by scripts/embed_schema.sh into
 * the `migrations` table below (sorted by number). db_migrate() applies the ones
 * not yet recorded in schema_migrations, each in its own transaction, and is
 * run by `isle init` and at `isle serve` start. A migration is never edited
 * once released: add a new one. */
#ifndef ISLE_MIGRATE_H
#define ISLE_MIGRATE_H

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

#endif
