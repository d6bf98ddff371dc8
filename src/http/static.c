/* static: the web UI's files from the web root, with ETag and gzip.
 *
 * Files are read once into a shared cache (and gzip-compressed once when that
 * helps), then revalidated by a stat() per request so an edited file is served
 * fresh without a restart. Paths containing a "." segment start (.., dotfiles)
 * or a backslash are refused; an extension-less path that is not a file gets
 * index.html, so the single-page UI can own its URLs. Never serves outside the
 * web root. */
#include "base/crypto.h"
#include "base/log.h"
#include "base/xmalloc.h"
#include "http/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define STATIC_MAX_FILE    (32u * 1024 * 1024)
#define STATIC_CACHE_SLOTS 1024

typedef struct static_file {
    char *path; /* relative to the web root */
    char *data;
    size_t len;
    char *gz; /* NULL when not worth compressing */
    size_t gzlen;
    char etag[24];
    char gz_etag[28]; /* a distinct tag for the gzip representation (RFC 9110 8.8.3) */
    const char *mime;
    struct timespec mtime;
    off_t size;
} static_file;

static char web_root[1024];
static pthread_rwlock_t cache_lock = PTHREAD_RWLOCK_INITIALIZER;
static static_file *cache[STATIC_CACHE_SLOTS];

void static_init(const char *root) {
    snprintf(web_root, sizeof(web_root), "%s", root ? root : "web");
}

static const struct {
    const char *ext, *mime;
    int compress;
} mimes[] = {
    {".html", "text/html; charset=utf-8", 1},
    {".css", "text/css; charset=utf-8", 1},
    {".js", "text/javascript; charset=utf-8", 1},
    {".mjs", "text/javascript; charset=utf-8", 1},
    {".json", "application/json; charset=utf-8", 1},
    {".map", "application/json; charset=utf-8", 1},
    {".svg", "image/svg+xml", 1},
    {".txt", "text/plain; charset=utf-8", 1},
    {".xml", "application/xml", 1},
    {".png", "image/png", 0},
    {".jpg", "image/jpeg", 0},
    {".jpeg", "image/jpeg", 0},
    {".gif", "image/gif", 0},
    {".webp", "image/webp", 0},
    {".ico", "image/x-icon", 0},
    {".woff2", "font/woff2", 0},
    {".woff", "font/woff", 0},
    {".ttf", "font/ttf", 0},
    {".pdf", "application/pdf", 0},
    {".wasm", "application/wasm", 0},
    {".webmanifest", "application/manifest+json", 1},
};

static const char *mime_of(const char *path, int *compress) {
    const char *dot = strrchr(path, '.');
    const char *slash = strrchr(path, '/');
    *compress = 0;
    if (dot && (!slash || dot > slash)) {
        for (size_t i = 0; i < sizeof(mimes) / sizeof(mimes[0]); i++)
            if (strcmp(dot, mimes[i].ext) == 0) {
                *compress = mimes[i].compress;
                return mimes[i].mime;
            }
    }
    return "application/octet-stream";
}

static int safe_path(const char *p) {
    if (p[0] != '/') return 0;
    if (strchr(p, '\\') || strlen(p) > 512) return 0;
    for (const char *s = p; (s = strchr(s, '/')); s++)
        if (s[1] == '.') return 0;
    return 1;
}

static uint32_t path_hash(const char *s) {
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

static void file_free(static_file *f) {
    if (!f) return;
    free(f->path);
    free(f->data);
    free(f->gz);
    free(f);
}

static static_file *load(const char *rel, const char *full, const struct stat *st) {
    if (st->st_size > STATIC_MAX_FILE) return NULL;
    int fd = open(full, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return NULL;
    static_file *f = xcalloc(1, sizeof(*f));
    f->len = (size_t)st->st_size;
    f->data = xmalloc(f->len ? f->len : 1);
    size_t got = 0;
    while (got < f->len) {
        ssize_t n = read(fd, f->data + got, f->len - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        got += (size_t)n;
    }
    close(fd);
    if (got != f->len) {
        file_free(f);
        return NULL;
    }
    f->path = xstrdup(rel);
    f->mtime = st->st_mtim;
    f->size = st->st_size;
    int compress;
    f->mime = mime_of(rel, &compress);
    char hex[65];
    crypto_sha256_hex(f->data, f->len, hex);
    snprintf(f->etag, sizeof(f->etag), "\"%.20s\"", hex);
    snprintf(f->gz_etag, sizeof(f->gz_etag), "\"%.20s-gz\"", hex);
    if (compress && f->len >= 512) {
        uLongf bound = compressBound((uLong)f->len) + 32;
        unsigned char *gz = xmalloc(bound);
        z_stream z = {0};
        if (deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK) {
            z.next_in = (unsigned char *)f->data;
            z.avail_in = (uInt)f->len;
            z.next_out = gz;
            z.avail_out = (uInt)bound;
            if (deflate(&z, Z_FINISH) == Z_STREAM_END && z.total_out < f->len * 9 / 10) {
                f->gz = (char *)gz;
                f->gzlen = z.total_out;
                gz = NULL;
            }
            deflateEnd(&z);
        }
        free(gz);
    }
    return f;
}

static int accepts_gzip(http_req *r) {
    const char *ae = http_header(r, "Accept-Encoding");
    return ae && strstr(ae, "gzip") != NULL;
}

static int etag_matches(const char *inm, const char *etag) {
    if (!inm) return 0;
    if (strcmp(inm, "*") == 0) return 1;
    /* The list may hold several tags, possibly weak (W/"…"); compare the quoted part. */
    return strstr(inm, etag) != NULL;
}

static void serve_file(http_req *r, const char *rel) {
    char full[1600];
    snprintf(full, sizeof(full), "%s%s", web_root, rel);
    struct stat st;
    if (stat(full, &st) != 0 || !S_ISREG(st.st_mode)) {
        http_reply_error(r, 404, "not_found", "", "文件不存在");
        return;
    }
    uint32_t slot = path_hash(rel) % STATIC_CACHE_SLOTS;
    pthread_rwlock_rdlock(&cache_lock);
    static_file *f = cache[slot];
    int fresh = f && strcmp(f->path, rel) == 0 && f->size == st.st_size &&
                f->mtime.tv_sec == st.st_mtim.tv_sec && f->mtime.tv_nsec == st.st_mtim.tv_nsec;
    pthread_rwlock_unlock(&cache_lock);
    if (!fresh) {
        static_file *nf = load(rel, full, &st);
        if (!nf) {
            http_reply_error(r, 500, "internal", "", "cannot read file");
            return;
        }
        pthread_rwlock_wrlock(&cache_lock);
        /* Readers copy the body into their output buffer while holding the read
         * lock, so the entry being replaced can be freed under the write lock. */
        file_free(cache[slot]);
        cache[slot] = nf;
        pthread_rwlock_unlock(&cache_lock);
    }
    pthread_rwlock_rdlock(&cache_lock);
    f = cache[slot];
    const char *inm = http_header(r, "If-None-Match");
    int gzip = f->gz && accepts_gzip(r);
    const char *etag = gzip ? f->gz_etag : f->etag;
    http_set_header(r, "ETag", etag);
    http_set_header(r, "Cache-Control", "no-cache");
    if (f->gz) http_set_header(r, "Vary", "Accept-Encoding");
    if (etag_matches(inm, etag)) {
        pthread_rwlock_unlock(&cache_lock);
        http_reply_status(r, 304);
        return;
    }
    if (gzip) {
        http_set_header(r, "Content-Encoding", "gzip");
        http_send(r, 200, f->mime, f->gz, f->gzlen, 0);
    } else {
        http_send(r, 200, f->mime, f->data, f->len, 0);
    }
    pthread_rwlock_unlock(&cache_lock);
}

void static_serve(http_req *r) {
    ((req_state *)r->internal)->route_index = -1;
    const char *p = r->path;
    if (!safe_path(p)) {
        http_reply_error(r, 404, "not_found", "", "文件不存在");
        return;
    }
    if (strcmp(p, "/") == 0) {
        serve_file(r, "/index.html");
        return;
    }
    const char *slash = strrchr(p, '/');
    int has_ext = strchr(slash, '.') != NULL;
    if (!has_ext) {
        /* A UI route (/login, /admin/users): the single page decides what to show. */
        char full[1600];
        struct stat st;
        snprintf(full, sizeof(full), "%s%s", web_root, p);
        if (stat(full, &st) != 0 || !S_ISREG(st.st_mode)) {
            serve_file(r, "/index.html");
            return;
        }
    }
    serve_file(r, p);
}
