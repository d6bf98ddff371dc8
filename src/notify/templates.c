/* templates: the message texts of data/notify/templates.tsv and their rendering.
 *
 * The file is read once per process, at the first message, and kept for the
 * life of the process (notify_set_data_dir() forgets it, for tests and the CLI).
 * A malformed line — wrong column count, bad name or sms flag, an unbalanced
 * or badly named placeholder — makes the whole file unusable, with an error
 * naming the line: a half-loaded set of templates would fail later, at the
 * worst moment (inside someone's transition). */
#include "notify/notify.h"
#include "base/log.h"
#include "base/strbuf.h"
#include "base/xmalloc.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TEMPLATES_MAX     200
#define TEMPLATE_FILE_MAX (256 * 1024)

typedef struct template_def {
    char *name;
    int sms;       /* 0 in-app only, 1 SMS too */
    int essential; /* the SMS goes even to those who turned non-essential SMS off */
    char *title;
    char *body;
} template_def;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char *data_dir_set;
static template_def *defs;
static size_t ndefs;
static int loaded;

static void forget(void) {
    for (size_t i = 0; i < ndefs; i++) {
        free(defs[i].name);
        free(defs[i].title);
        free(defs[i].body);
    }
    free(defs);
    defs = NULL;
    ndefs = 0;
    loaded = 0;
}

void notify_set_data_dir(const char *data_dir) {
    pthread_mutex_lock(&lock);
    free(data_dir_set);
    data_dir_set = data_dir ? xstrdup(data_dir) : NULL;
    forget();
    pthread_mutex_unlock(&lock);
}

static int exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* The file to read, into buf. */
static void template_path(char *buf, size_t n) {
    const char *env = getenv("ISLE_NOTIFY_TEMPLATES");
    if (env && *env) {
        snprintf(buf, n, "%s", env);
        return;
    }
    if (data_dir_set) {
        snprintf(buf, n, "%s/notify/templates.tsv", data_dir_set);
        return;
    }
    const char *dd = getenv("ISLE_DATA_DIR");
    if (dd && *dd) {
        snprintf(buf, n, "%s/notify/templates.tsv", dd);
        return;
    }
    snprintf(buf, n, "data/notify/templates.tsv");
    if (exists(buf)) return;
    char exe[800];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (len > 0) {
        exe[len] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) *slash = '\0';
        static const char *ups[] = {"/..", "/../..", "/../share/isle"};
        for (size_t i = 0; i < sizeof(ups) / sizeof(ups[0]); i++) {
            snprintf(buf, n, "%s%s/data/notify/templates.tsv", exe, ups[i]);
            if (exists(buf)) return;
        }
    }
    snprintf(buf, n, "data/notify/templates.tsv");
}

static int name_valid(const char *s) {
    size_t n = strlen(s);
    if (n < 1 || n > NOTIFY_NAME_MAX) return 0;
    return strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_") == n;
}

/* Check the placeholders of a template text: balanced braces, names [a-z0-9_]. */
static int text_valid(const char *t, const char **why) {
    for (const char *p = t; *p; p++) {
        if (p[0] == '{' && p[1] == '{') {
            p++;
            continue;
        }
        if (p[0] == '}' && p[1] == '}') {
            p++;
            continue;
        }
        if (*p == '}') {
            *why = "unmatched }";
            return 0;
        }
        if (*p != '{') continue;
        const char *end = strchr(p + 1, '}');
        if (!end) {
            *why = "unclosed {";
            return 0;
        }
        size_t n = (size_t)(end - p - 1);
        if (n == 0 || n > 64 || strspn(p + 1, "abcdefghijklmnopqrstuvwxyz0123456789_") != n) {
            *why = "placeholder names are 1–64 of a-z 0-9 _";
            return 0;
        }
        p = end;
    }
    return 1;
}

/* Parse the file's text into a new table. 0, or -1 with e naming the line. */
static int parse(const char *path, char *text, err *e) {
    template_def *tab = xcalloc(TEMPLATES_MAX, sizeof(*tab));
    size_t n = 0;
    int lineno = 0, rc = 0;
    char *p = text;
    while (p && *p && rc == 0) {
        char *nl = strchr(p, '\n');
        if (nl) *nl = '\0';
        lineno++;
        char *line = p;
        p = nl ? nl + 1 : NULL;
        size_t len = strlen(line);
        if (len && line[len - 1] == '\r') line[--len] = '\0';
        if (!len || line[0] == '#') continue;
        char *col[6] = {0};
        int ncol = 0;
        col[ncol++] = line;
        for (char *c = line; *c; c++)
            if (*c == '\t') {
                *c = '\0';
                if (ncol == 6) break;
                col[ncol++] = c + 1;
            }
        const char *why = NULL;
        if (ncol != 5)
            why = "expected 5 TAB-separated columns: name, sms, audience, title, body";
        else if (!name_valid(col[0]))
            why = "name must be 1–64 of a-z 0-9 _";
        else if (strcmp(col[1], "0") != 0 && strcmp(col[1], "1") != 0 &&
                 strcmp(col[1], "essential") != 0)
            why = "sms must be 0, 1 or essential";
        else if (!*col[3] || !*col[4])
            why = "title and body must not be empty";
        else if (!text_valid(col[3], &why) || !text_valid(col[4], &why))
            ; /* why set */
        else if (n == TEMPLATES_MAX)
            why = "too many templates";
        for (size_t i = 0; !why && i < n; i++)
            if (strcmp(tab[i].name, col[0]) == 0) why = "duplicate template name";
        if (why) {
            rc = err_internal(e, "%s:%d: %s", path, lineno, why);
            break;
        }
        tab[n].name = xstrdup(col[0]);
        tab[n].sms = col[1][0] != '0';
        tab[n].essential = col[1][0] == 'e';
        tab[n].title = xstrdup(col[3]);
        tab[n].body = xstrdup(col[4]);
        n++;
    }
    if (rc == 0 && n == 0) rc = err_internal(e, "%s: no templates", path);
    if (rc != 0) {
        for (size_t i = 0; i < n; i++) {
            free(tab[i].name);
            free(tab[i].title);
            free(tab[i].body);
        }
        free(tab);
        return -1;
    }
    defs = tab;
    ndefs = n;
    loaded = 1;
    return 0;
}

/* Load the table if needed. Called with lock held. */
static int ensure_loaded(err *e) {
    if (loaded) return 0;
    char path[1200];
    template_path(path, sizeof(path));
    FILE *f = fopen(path, "rb");
    if (!f) {
        log_error("notify: cannot read templates %s", path);
        return err_internal(e, "通知模板文件不可用，详见服务器日志");
    }
    char *text = xmalloc(TEMPLATE_FILE_MAX + 1);
    size_t got = fread(text, 1, TEMPLATE_FILE_MAX + 1, f);
    fclose(f);
    if (got > TEMPLATE_FILE_MAX) {
        free(text);
        log_error("notify: %s is larger than %d bytes", path, TEMPLATE_FILE_MAX);
        return err_internal(e, "通知模板文件过大");
    }
    text[got] = '\0';
    err pe = {0};
    int rc = parse(path, text, &pe);
    free(text);
    if (rc != 0) {
        log_error("notify: %s", pe.message);
        return err_internal(e, "通知模板文件有误，详见服务器日志");
    }
    return 0;
}

static const template_def *find(const char *name) {
    for (size_t i = 0; i < ndefs; i++)
        if (strcmp(defs[i].name, name) == 0) return &defs[i];
    return NULL;
}

int notify_template_exists(const char *name) {
    err e = {0};
    pthread_mutex_lock(&lock);
    int ok = name && ensure_loaded(&e) == 0 && find(name) != NULL;
    pthread_mutex_unlock(&lock);
    return ok;
}

json_t *notify_templates_json(err *e) {
    pthread_mutex_lock(&lock);
    json_t *out = NULL;
    if (ensure_loaded(e) == 0) {
        out = json_array();
        for (size_t i = 0; i < ndefs; i++)
            json_array_append_new(out, json_pack("{s:s, s:s, s:s}", "name", defs[i].name, "title",
                                                 defs[i].title, "sms",
                                                 !defs[i].sms        ? "none"
                                                 : defs[i].essential ? "essential"
                                                                     : "optional"));
    }
    pthread_mutex_unlock(&lock);
    return out;
}

int notify_render_text(const char *text, json_t *params, char **out, err *e) {
    *out = NULL;
    strbuf b;
    strbuf_init(&b, NOTIFY_TEXT_MAX);
    int rc = 0;
    for (const char *p = text; *p && rc == 0; p++) {
        if ((p[0] == '{' && p[1] == '{') || (p[0] == '}' && p[1] == '}')) {
            rc = strbuf_append(&b, p, 1);
            p++;
            continue;
        }
        if (*p != '{') {
            rc = strbuf_append(&b, p, 1);
            continue;
        }
        const char *end = strchr(p + 1, '}');
        size_t n = end ? (size_t)(end - p - 1) : 0;
        char name[80];
        if (!end || n == 0 || n >= sizeof(name)) {
            strbuf_free(&b);
            return err_invalid(e, "template", "模板占位符格式不正确");
        }
        memcpy(name, p + 1, n);
        name[n] = '\0';
        json_t *v = params ? json_object_get(params, name) : NULL;
        char num[64];
        const char *s = NULL;
        if (json_is_string(v))
            s = json_string_value(v);
        else if (json_is_integer(v)) {
            snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
            s = num;
        } else if (json_is_real(v)) {
            snprintf(num, sizeof(num), "%g", json_real_value(v));
            s = num;
        }
        if (!s) {
            char field[96];
            snprintf(field, sizeof(field), "params.%s", name);
            strbuf_free(&b);
            return err_invalid(e, field, "缺少模板参数 {%s}", name);
        }
        rc = strbuf_puts(&b, s);
        p = end;
    }
    if (rc != 0) {
        strbuf_free(&b);
        return err_invalid(e, "params", "通知内容超过 %d 字节", NOTIFY_TEXT_MAX);
    }
    *out = strbuf_detach(&b, NULL);
    return 0;
}

int notify_render(const char *name, json_t *params, notify_rendered *out, err *e) {
    memset(out, 0, sizeof(*out));
    if (!name || !name_valid(name)) return err_invalid(e, "template", "通知模板名称不正确");
    pthread_mutex_lock(&lock);
    int rc = ensure_loaded(e);
    const template_def *t = rc == 0 ? find(name) : NULL;
    char *title = NULL, *body = NULL;
    int sms = 0, essential = 0;
    if (rc == 0 && !t) rc = err_set(e, 404, "not_found", "template", "没有通知模板 %s", name);
    /* Copies so rendering runs without the lock (the table lives until a reset). */
    if (rc == 0) {
        title = xstrdup(t->title);
        body = xstrdup(t->body);
        sms = t->sms;
        essential = t->essential;
    }
    pthread_mutex_unlock(&lock);
    if (rc == 0) rc = notify_render_text(title, params, &out->title, e);
    if (rc == 0) rc = notify_render_text(body, params, &out->body, e);
    free(title);
    free(body);
    if (rc != 0) {
        notify_rendered_free(out);
        return -1;
    }
    out->sms = sms;
    out->essential = sms && essential;
    return 0;
}

void notify_rendered_free(notify_rendered *r) {
    free(r->title);
    free(r->body);
    r->title = r->body = NULL;
}
