/* internal: what the files of src/notify/ share and nobody else may call. */
#ifndef ISLE_NOTIFY_INTERNAL_H
#define ISLE_NOTIFY_INTERNAL_H

#include <stdint.h>

#include "base/err.h"
#include "db/db.h"

/** 1 when non-essential SMS must not go to this recipient: the account (user_id > 0)
 *  turned them off, or the phone (normalised) replied TD. 0 when they may, -1 with e
 *  on a database error. Runs in the caller's transaction, if any. */
int notify_opted_out(db *d, int64_t user_id, const char *phone, err *e);

#endif
