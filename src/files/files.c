/* files: content-addressed file storage (see files.h). */
#include "files/files.h"
#include "base/jsonx.h"
#include "base/timeutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[400] = "files";

int files_set_dir(const char *d, err *e) {
    if (strlen(d) >= sizeof(dir) - 80)
        return err_invalid(e, "files-dir", "files directory path too long");
    snprintf(dir, sizeof(dir), "%s", d);
    if (mkdir(dir, 0750) != 0 && errno != EEXIST)
        return err_internal(e, "cannot create %s: %s", dir, strerror(errno));
    return 0;
}

const char *files_dir(void) {
    return dir;
}

int files_tmp_open(files_tmp *t, uint64_t max, err *e) {
    memset(t, 0, sizeof(*t));
    snprintf(t->path, sizeof(t->path), "%s/.tmp-XXXXXX", dir);
    t->fd = mkostemp(t->path, O_CLOEXEC);
    if (t->fd < 0) {
        t->path[0] = '\0';
        return err_internal(e, "cannot create a file in %s: %s", dir, strerror(errno));
    }
    t->max = max;
    crypto_hash_sha256_init(&t->sha);
    return 0;
}

int files_tmp_write(files_tmp *t, const void *data, size_t len, err *e) {
    if (t->size + len > t->max)
        return err_set(e, 413, "payload_too_large", "file", "文件超过 %llu 字节上限",
                       (unsigned long long)t->max);
    crypto_hash_sha256_update(&t->sha, data, len);
    const char *p = data;
    while (len > 0) {
        ssize_t w = write(t->fd, p, len);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return err_internal(e, "cannot write the file: %s", strerror(errno));
        p += w;
        len -= (size_t)w;
        t->size += (uint64_t)w;
    }
    return 0;
}

int files_tmp_finish(files_tmp *t, err *e) {
    unsigned char h[32];
    crypto_hash_sha256_final(&t->sha, h);
    sodium_bin2hex(t->sha256, sizeof(t->sha256), h, sizeof(h));
    if (fsync(t->fd) != 0 || close(t->fd) != 0) {
        t->fd = -1;
        return err_internal(e, "cannot store the file: %s", strerror(errno));
    }
    t->fd = -1;
    return 0;
}

void files_tmp_discard(files_tmp *t) {
    if (t->fd >= 0) close(t->fd);
    t->fd = -1;
    if (t->path[0]) unlink(t->path);
    t->path[0] = '\0';
}

int files_commit(db *d, const audit_actor *actor, files_tmp *t, const files_meta *m,
                 int64_t *id_out, err *e) {
    char sub[480], final[560];
    snprintf(sub, sizeof(sub), "%s/%.2s", dir, t->sha256);
    if (mkdir(sub, 0750) != 0 && errno != EEXIST)
        return err_internal(e, "cannot create %s: %s", sub, strerror(errno));
    snprintf(final, sizeof(final), "%s/%s", sub, t->sha256);
    struct stat st;
    if (stat(final, &st) == 0 && (uint64_t)st.st_size == t->size) {
        unlink(t->path); /* same content already stored */
    } else if (rename(t->path, final) != 0) {
        return err_internal(e, "cannot store the file: %s", strerror(errno));
    }
    t->path[0] = '\0';
    char now[32];
    time_iso(now, sizeof(now), time_now());
    int64_t id = 0;
    int rc = db_query_int(d, e, &id,
                          "INSERT INTO files (sha256, size, filename, content_type, field, "
                          "owner_id, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7) RETURNING id",
                          "sisssis", t->sha256, (int64_t)t->size, m->filename, m->content_type,
                          m->field, m->owner_id, now);
    if (rc != 0) return -1;
    json_t *after = files_get(d, id, e);
    char oid[24];
    snprintf(oid, sizeof(oid), "%lld", (long long)id);
    rc = after ? audit_record(d, actor, "file.upload", "file", oid, NULL, after, e) : -1;
    json_decref(after);
    if (rc == 0 && id_out) *id_out = id;
    return rc;
}

json_t *files_get(db *d, int64_t id, err *e) {
    db_stmt *s = db_query(d, e,
                          "SELECT id, field, filename, content_type, size, sha256, created_at "
                          "FROM files WHERE id = $1",
                          "i", id);
    if (!s) return NULL;
    json_t *o = NULL;
    int rc = db_step(s);
    if (rc == DB_ROW)
        o = db_row_json(s);
    else if (rc == DB_DONE)
        err_notfound(e, "no file %lld", (long long)id);
    else
        err_internal(e, "%s", db_errmsg(d));
    db_reset(s);
    return o;
}
