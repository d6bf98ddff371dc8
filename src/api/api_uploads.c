/* api_uploads: multipart/form-data uploads. The server has already spooled
 * the body to a temp file (ROUTE_UPLOAD, capped); here it is parsed as a
 * stream, each file part is hashed and stored, and all rows are committed in
 * one transaction — or none. */
#include "api/api.h"
#include "files/files.h"
#include "http/multipart.h"
#include "http/parse.h"

#include <stdio.h>
#include <string.h>

#define UPLOAD_MAX       (20u * 1024 * 1024)
#define UPLOAD_MAX_PARTS 16

typedef struct upload_ctx {
    http_req *r;
    files_tmp parts[UPLOAD_MAX_PARTS];
    files_meta meta[UPLOAD_MAX_PARTS];
    int nparts;
    int current; /* index of the open file part, -1 for a plain field */
    err e;       /* a precise error from a callback */
} upload_ctx;

static int part_begin(void *arg, const multipart_part_info *info) {
    upload_ctx *u = arg;
    u->current = -1;
    if (!info->filename) return 0; /* a plain form field: ignored */
    if (u->nparts == UPLOAD_MAX_PARTS) {
        err_set(&u->e, 413, "payload_too_large", "file", "一次最多上传 %d 个文件",
                UPLOAD_MAX_PARTS);
        return -1;
    }
    if (strlen(info->filename) > 255 || strlen(info->name) > 64) {
        err_invalid(&u->e, "filename", "文件名或字段名过长");
        return -1;
    }
    int i = u->nparts;
    if (files_tmp_open(&u->parts[i], UPLOAD_MAX, &u->e) != 0) return -1;
    u->nparts++;
    /* Keep only the last path component of the client's name. */
    const char *base = info->filename;
    for (const char *p = info->filename; *p; p++)
        if (*p == '/' || *p == '\\') base = p + 1;
    u->meta[i].field = arena_strdup(u->r->arena, info->name);
    u->meta[i].filename = arena_strdup(u->r->arena, *base ? base : "unnamed");
    u->meta[i].content_type = arena_strdup(
        u->r->arena, info->content_type ? info->content_type : "application/octet-stream");
    u->meta[i].owner_id = u->r->user.id;
    u->current = i;
    return 0;
}

static int part_data(void *arg, const char *data, size_t len) {
    upload_ctx *u = arg;
    if (u->current < 0) return 0;
    return files_tmp_write(&u->parts[u->current], data, len, &u->e);
}

static int part_end(void *arg) {
    upload_ctx *u = arg;
    if (u->current < 0) return 0;
    int rc = files_tmp_finish(&u->parts[u->current], &u->e);
    u->current = -1;
    return rc;
}

static void upload(http_req *r) {
    const char *ct = http_header(r, "Content-Type");
    char *media = NULL, *boundary = NULL;
    if (!ct || http_parse_content_type(r->arena, ct, "boundary", &media, &boundary) != 0 ||
        strcmp(media, "multipart/form-data") != 0 || !boundary) {
        http_reply_error(r, 415, "unsupported_media_type", "Content-Type",
                         "请使用带 boundary 的 multipart/form-data 上传");
        return;
    }
    if (!r->upload_path) {
        http_reply_error(r, 400, "invalid_argument", "body", "上传内容为空");
        return;
    }
    upload_ctx *u = arena_calloc(r->arena, sizeof(*u));
    u->r = r;
    u->current = -1;
    for (int i = 0; i < UPLOAD_MAX_PARTS; i++)
        u->parts[i].fd = -1;
    multipart_callbacks cb = {part_begin, part_data, part_end};
    multipart_limits lim = {.max_parts = UPLOAD_MAX_PARTS * 2};
    err e = {0};
    int rc = multipart_parse_file(r->upload_path, boundary, &lim, &cb, u, &e);
    if (rc == 0 && u->nparts == 0) rc = err_invalid(&e, "file", "上传内容中没有文件");
    json_t *files = json_array();
    if (rc == 0) {
        audit_actor a = api_actor(r);
        rc = db_begin(r->db, &e);
        for (int i = 0; rc == 0 && i < u->nparts; i++) {
            int64_t id = 0;
            rc = files_commit(r->db, &a, &u->parts[i], &u->meta[i], &id, &e);
            if (rc == 0) {
                json_t *f = files_get(r->db, id, &e);
                if (f)
                    json_array_append_new(files, f);
                else
                    rc = -1;
            }
        }
        if (rc == 0) rc = db_commit(r->db, &e);
        if (rc != 0) db_rollback(r->db);
    }
    for (int i = 0; i < u->nparts; i++)
        files_tmp_discard(&u->parts[i]);
    if (rc != 0) {
        json_decref(files);
        http_reply_err(r, u->e.status ? &u->e : &e);
        return;
    }
    http_reply_json(r, 201, json_pack("{s:o}", "files", files));
}

const http_route api_uploads_routes[] = {
    {M_POST, "/api/v1/uploads", upload, ROLE_ANY, ROUTE_UPLOAD, UPLOAD_MAX + 64 * 1024},
};
const size_t api_uploads_route_count = sizeof(api_uploads_routes) / sizeof(api_uploads_routes[0]);
