/* files: storage of uploaded files, content-addressed by SHA-256.
 *
 * An upload is written to a temporary file in the files directory while its
 * hash is computed (files_tmp_*), then files_commit() moves it to its final
 * name <dir>/<2 hex>/<64 hex> and records the row in the same transaction as
 * the audit entry. A file already stored under that hash is reused. Never
 * trusts the client's filename for anything but display. */
#ifndef ISLE_FILES_H
#define ISLE_FILES_H

#include <jansson.h>
#include <sodium.h>
#include <stdint.h>

#include "audit/audit.h"
#include "base/err.h"
#include "db/db.h"

/** Set the directory holding stored files (created when missing). 0 or -1. */
int files_set_dir(const char *dir, err *e);
const char *files_dir(void);

/** A file being received. */
typedef struct files_tmp {
    int fd;
    char path[512];
    uint64_t size;
    uint64_t max;
    crypto_hash_sha256_state sha;
    char sha256[65]; /* set by files_tmp_finish */
} files_tmp;

/** Open a temporary file in the files directory; writes beyond max bytes fail (413). */
int files_tmp_open(files_tmp *t, uint64_t max, err *e);
int files_tmp_write(files_tmp *t, const void *data, size_t len, err *e);
/** Close the file and compute the hash. */
int files_tmp_finish(files_tmp *t, err *e);
/** Remove the temporary file (safe to call twice or after files_commit). */
void files_tmp_discard(files_tmp *t);

typedef struct files_meta {
    const char *field;
    const char *filename;
    const char *content_type;
    int64_t owner_id;
} files_meta;

/** Move t into storage and insert its row. Must run inside a transaction (the caller
 *  commits, with whatever else belongs to the same change). *id_out gets the row id. */
int files_commit(db *d, const audit_actor *actor, files_tmp *t, const files_meta *m,
                 int64_t *id_out, err *e);

/** The file row as JSON {id, field, filename, content_type, size, sha256, created_at}. */
json_t *files_get(db *d, int64_t id, err *e);

#endif
