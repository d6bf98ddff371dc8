/* ops: operator commands that span modules (the database, the audit trail).
 *
 *   isle migrate status      every migration, applied (with its time) or pending
 *   isle migrate-data --from DB --to DB
 *                            copy a whole database into a new, empty one (SQLite →
 *                            PostgreSQL), then verify it (see ops_migrate_data) */
#ifndef ISLE_OPS_H
#define ISLE_OPS_H

#include <stdio.h>

#include "base/err.h"
#include "cli.h"
#include "db/db.h"

/** `isle migrate …` and `isle migrate-data …`; argv[0] is the command. */
int ops_cli(const cli_env *env, int argc, char **argv);

/** Per-table result of a copy. */
typedef struct ops_table_count {
    char table[64];
    long long source, target;
} ops_table_count;

/** Copy every table of src into dst, which must be empty (its migrations applied by
 *  this call; tables holding only the rows the migrations seed count as empty). src must
 *  be at this binary's schema version. Tables go in migration order in one transaction
 *  on dst, read from one snapshot of src; identity sequences restart after the largest
 *  id; then, still inside the transaction, row counts are compared per table and the
 *  audit hash chain of dst is verified. Any mismatch rolls everything back.
 *  *counts (caller frees) gets *ncounts entries; a summary goes to out (may be NULL).
 *  0 when copied and verified, -1 otherwise (e filled). */
int ops_migrate_data(db *src, db *dst, ops_table_count **counts, size_t *ncounts, FILE *out,
                     err *e);

#endif
