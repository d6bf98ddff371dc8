/* main: the `isle` command line — one binary for every task.
 *
 *   isle [--db DB] [--data-dir DIR] [--web-root DIR] COMMAND [ARGS]
 *
 * The database comes from --db, else $ISLE_DB, else ./isle.db: a path or
 * sqlite:PATH for SQLite, postgres://USER@HOST:PORT/NAME for PostgreSQL. Commands
 * print a clear message and exit non-zero on any error. Passwords are read
 * from standard input (one line), never from the command line. */
#include "api/api.h"
#include "assistant/assistant.h"
#include "audit/audit.h"
#include "auth/auth.h"
#include "base/crypto.h"
#include "base/log.h"
#include "cases/cases.h"
#include "cases/demo.h"
#include "cases/forms.h"
#include "cases/rules.h"
#include "catalog/catalog.h"
#include "db/db.h"
#include "db/migrate.h"
#include "files/files.h"
#include "http/server.h"
#include "island/agents.h"
#include "base/timeutil.h"
#include "island/assist.h"
#include "island/dispatch.h"
#include "island/places.h"
#include "island/travel.h"
#include "jobs/jobs.h"
#include "licences/licences.h"
#include "notify/notify.h"
#include "ops/ops.h"
#include "proofs/proofs.h"
#include "screen/screen.h"
#include "screen/similarity.h"
#include "search/search.h"
#include "stats/stats.h"
#include "trade/ca.h"
#include "trade/demo.h"
#include "trade/auction.h"
#include "dash/dash.h"
#include "screen/platform.h"
#include "trade/ocds.h"
#include "trade/trade_cli.h"
#include "workcal/workcal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

/* build/gen/version.c, written by the Makefile from `git describe`. */
extern const char isle_version[];
#define ISLE_VERSION isle_version

#define DEMO_PASSWORD "Zhoushan@2026"

static const char *db_path = "isle.db";
static const char *data_dir = NULL; /* resolved in main() */
static const char *web_root = NULL;
static const char *files_dir_opt = NULL;

static int usage(FILE *f) {
    fprintf(
        f,
        "isle %s — 舟山 government services and public resource trading\n\n"
        "usage: isle [--db DB] [--data-dir DIR] [--web-root DIR] COMMAND [ARGS]\n\n"
        "commands:\n"
        "  init                         create or migrate the database\n"
        "  migrate status               list migrations, applied (when) or pending\n"
        "  migrate-data --from sqlite:PATH --to postgres://USER@HOST:PORT/NAME\n"
        "                               copy everything into a new, empty database and "
        "verify it\n"
        "  demo [--cases N] [--seed N]  demo users, Zhoushan places, catalog and a year of\n"
        "                               applications (default 3000; idempotent)\n"
        "  stats services [--json] [--from D] [--to D] [--department X] [--town C] [--by DIM]\n"
        "                               一网通办 KPIs; stats indicators: their definitions\n"
        "  serve [--listen HOST:PORT] [--threads N] [--files-dir DIR]\n"
        "                               run the web UI and API (default 127.0.0.1:8080)\n"
        "  user add --role ROLE --login NAME [--name DISPLAY] [--id-number N] [--phone P]\n"
        "                               create a user; the password is read from stdin\n"
        "  user list [--role ROLE]      list users\n"
        "  user passwd --login NAME     set a password read from stdin\n"
        "  import catalog FILE.jsonl [--bundles FILE] [--licences FILE]\n"
        "                               validate and upsert service items (all or nothing)\n"
        "  export catalog [--out FILE] [--bundles-out FILE] [--licences-out FILE]\n"
        "                               write the catalog back in the same formats\n"
        "  export ocds [--out FILE] [--since DATE] [--prefix PREFIX]\n"
        "                               OCDS 1.1.5 release package of every tender (with bids)\n"
        "  search [--limit N] [--json] QUERY | search --batch [--limit N]\n"
        "                               search the catalog (batch: one query per line)\n"
        "  ask [--json] [--item CODE] QUESTION | ask --batch\n"
        "                               ask the 智慧客服 about a service item\n"
        "  cases list [--status S] [--due overdue|due_soon] [--json] | cases show ID\n"
        "                               applications (一网通办) for operators\n"
        "  assist list [--status S] [--town C] [--due overdue] [--json] | assist show ID\n"
        "                               assisted requests (帮办代办) for operators\n"
        "  workcal add DATE N | between DATE DATE | is-workday DATE\n"
        "  workcal deadline \"YYYY-MM-DD HH:MM\" N [--hours] [--json]\n"
        "                               working days: 法定节假日 and 调休, Asia/Shanghai\n"
        "  travel FROM TO [--at \"YYYY-MM-DD HH:MM\"] [--json] | travel --bench [N]\n"
        "  coverage [--service CODE] [--town CODE] [--at TIME] [--json]\n"
        "                               ferry-aware travel time; the 10-minute service circle\n"
        "  dispatch simulate --day DATE --requests N [--json] | explain ID | batch | bench\n"
        "                               智能派单: a synthetic day vs the nearest-agent baseline;\n"
        "                               an explained ranking; the backlog as one assignment\n"
        "  jobs enqueue|claim|complete|fail|list …\n"
        "                               the job queue by hand (isle jobs for details)\n"
        "  notify send-pending | list [--status S] | render NAME [--params JSON]\n"
        "                               the SMS outbox: send what is due, list, preview\n"
        "  proof keygen [--rotate] | pubkey [--pem] | verify FILE.pdf|QRTEXT  signed proofs "
        "(证明)\n"
        "  rules check [--catalog] | rules show CODE\n"
        "                               validate the 秒办 rule files (data/cases/rules/)\n"
        "  trade backup-key init --custodians LOGIN,LOGIN,LOGIN --threshold 2 --out DIR\n"
        "                               the centre's Shamir-split backup key (shares once)\n"
        "  trade bids TENDER_NO [--json]  sealed bids' receipts and statuses (no content)\n"
        "  ca add ROOT.pem [--name N] [--home] | list [--json] | crl FILE.pem\n"
        "  ca disable|enable ID | check CERT.pem [--json]\n"
        "                               the CA trust store (统一CA互认) and certificate checks\n"
        "  screen --bids FILE.csv [--model M] [--out FILE.csv] [--skip-bad] [--groups FILE.csv]\n"
        "                               防围串标: score each tender for bid rigging\n"
        "  screen train --labelled FILE.csv --out MODEL | screen cv --labelled FILE.csv\n"
        "                               train / cross-validate the screening model\n"
        "  similarity FILE... [--tender-doc FILE]... [--json] [--threshold T] [--list FILE]\n"
        "                               similar passages between bid documents (PDF/docx/text)\n"
        "  report --year YYYY [--json] [--pdf FILE]\n"
        "                               the year's 数说 report: the city's figures, live\n"
        "  dash overview|services|alerts|monitor\n"
        "                               the city overview, a drill level, 无感监测 alerts,\n"
        "                               one monitor pass\n"
        "  backup --out FILE            consistent online copy of the database\n"
        "  audit verify                 check the audit trail's hash chain\n"
        "  version                      print the version\n"
        "  help                         this text\n\n"
        "The database is --db, else $ISLE_DB, else ./isle.db: a path or sqlite:PATH\n"
        "(SQLite), or postgres://USER@HOST:PORT/NAME (PostgreSQL).\n"
        "roles: citizen company agent staff approver trading_staff bidder expert supervisor "
        "admin\n",
        ISLE_VERSION);
    return f == stderr ? 2 : 0;
}

static int fail(const char *what, const err *e) {
    if (e->field[0])
        fprintf(stderr, "isle: %s: %s (field: %s)\n", what, e->message, e->field);
    else
        fprintf(stderr, "isle: %s: %s\n", what, e->message);
    return 1;
}

/* Value of "--name VALUE" among args, or NULL. */
static const char *opt(int argc, char **argv, const char *name) {
    for (int i = 0; i < argc - 1; i++)
        if (strcmp(argv[i], name) == 0) return argv[i + 1];
    return NULL;
}

/* Reject unknown "--options" so a typo is not silently ignored. */
static int check_opts(int argc, char **argv, const char *const *known) {
    for (int i = 0; i < argc; i++) {
        if (strncmp(argv[i], "--", 2) != 0) continue;
        int ok = 0;
        for (const char *const *k = known; *k; k++)
            if (strcmp(argv[i], *k) == 0) ok = 1;
        if (!ok) {
            fprintf(stderr, "isle: unknown option %s\n", argv[i]);
            return -1;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "isle: option %s needs a value\n", argv[i]);
            return -1;
        }
        i++;
    }
    return 0;
}

static int open_db(db **d, int migrate) {
    err e = {0};
    if (db_open(db_path, d, &e) != 0) return fail("database", &e);
    if (migrate && db_migrate(*d, NULL, &e) != 0) {
        db_close(*d);
        return fail("migrate", &e);
    }
    return 0;
}

static int read_password(const char *prompt, char *buf, size_t n) {
    int tty = isatty(STDIN_FILENO);
    struct termios old, quiet;
    if (tty) {
        fprintf(stderr, "%s", prompt);
        tcgetattr(STDIN_FILENO, &old);
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
    }
    char *got = fgets(buf, (int)n, stdin);
    if (tty) {
        tcsetattr(STDIN_FILENO, TCSANOW, &old);
        fputc('\n', stderr);
    }
    if (!got) return -1;
    buf[strcspn(buf, "\r\n")] = '\0';
    return 0;
}

static const audit_actor cli_actor = {.user_id = 0, .login = "cli", .request_id = NULL};

static int cmd_init(void) {
    db *d;
    if (open_db(&d, 0) != 0) return 1;
    err e = {0};
    int applied = 0;
    if (db_migrate(d, &applied, &e) != 0) {
        db_close(d);
        return fail("migrate", &e);
    }
    int v = db_schema_version(d, &e);
    db_close(d);
    char shown[512];
    printf("database %s ready: schema version %d (%d migration%s applied)\n",
           db_dsn_redact(db_path, shown, sizeof(shown)), v, applied, applied == 1 ? "" : "s");
    return 0;
}

static const struct {
    const char *login, *role, *name, *id_number, *phone, *town;
} demo_users[] = {
    {"citizen", "citizen", "张阿婆", "330902195203140021", "13905801234", "330902100"},
    {"company", "company", "舟渔水产有限公司", NULL, "0580-2021234", "330902006"},
    {"agent", "agent", "李代办", NULL, "13905805678", "330903100"},
    {"staff", "staff", "王窗口", NULL, NULL, "330902006"},
    {"approver", "approver", "陈审批", NULL, NULL, NULL},
    {"trading_staff", "trading_staff", "周交易", NULL, NULL, NULL},
    {"bidder", "bidder", "东港建设集团", NULL, NULL, NULL},
    {"expert", "expert", "吴专家", NULL, NULL, NULL},
    {"supervisor", "supervisor", "郑监管", NULL, NULL, NULL},
    {"admin", "admin", "系统管理员", NULL, NULL, NULL},
};

static int ensure_files_dir(void);

static int cmd_demo(int argc, char **argv) {
    if (cases_demo_args_ok(argc, argv) != 0) return 2;
    db *d;
    if (open_db(&d, 1) != 0) return 1;
    err e = {0};
    /* Places first: users refer to their town. */
    char dir[1100];
    snprintf(dir, sizeof(dir), "%s/zhoushan", data_dir);
    places_counts pc;
    if (places_import_dir(d, dir, &cli_actor, &pc, &e) != 0) {
        db_close(d);
        return fail("demo places", &e);
    }
    int created = 0;
    for (size_t i = 0; i < sizeof(demo_users) / sizeof(demo_users[0]); i++) {
        int64_t id = 0;
        if (auth_user_find(d, demo_users[i].login, &id, &e) != 0) {
            db_close(d);
            return fail("demo", &e);
        }
        if (id) continue;
        auth_user_input in = {.login = demo_users[i].login,
                              .password = DEMO_PASSWORD,
                              .role = demo_users[i].role,
                              .display_name = demo_users[i].name,
                              .id_number = demo_users[i].id_number,
                              .phone = demo_users[i].phone,
                              .town_code = demo_users[i].town};
        if (auth_user_create(d, &cli_actor, &in, &id, &e) != 0) {
            db_close(d);
            return fail("demo user", &e);
        }
        created++;
    }
    char items[1100], bundles[1100], licences[1100];
    snprintf(items, sizeof(items), "%s/catalog/items.jsonl", data_dir);
    snprintf(bundles, sizeof(bundles), "%s/catalog/bundles.json", data_dir);
    snprintf(licences, sizeof(licences), "%s/catalog/licences.json", data_dir);
    catalog_counts cc;
    if (catalog_import_file(d, items, bundles, licences, &cli_actor, &cc, &e) != 0) {
        db_close(d);
        return fail("demo catalog", &e);
    }
    if (licences_demo(d, NULL, &e) != 0) {
        db_close(d);
        return fail("demo licences", &e);
    }
    agents_demo_counts ac;
    if (agents_demo(d, &cli_actor, &ac, &e) != 0) {
        db_close(d);
        return fail("demo agents", &e);
    }
    /* A year of assisted requests (帮办代办); ISLE_DEMO_ASSIST sets how many (0: none). */
    const char *na = getenv("ISLE_DEMO_ASSIST");
    int assist_made = 0;
    if (assist_demo_run(d, time_now(), 7, na ? (int)strtol(na, NULL, 10) : 1500, &assist_made,
                        &e) != 0) {
        db_close(d);
        return fail("demo assisted requests", &e);
    }
    if (assist_made) printf("assisted requests: %d over the last year\n", assist_made);
    int year_rc = cases_demo_cmd(d, data_dir, argc, argv); /* the demo year of applications */
    /* The trading year ($ISLE_DEMO_TENDERS). Its envelopes and receipt key go to the files
     * directory: serve's default for SQLite (<db>-files) or $ISLE_FILES_DIR; PostgreSQL
     * has no safe default (serve takes --files-dir), so then none are written. */
    int trade_files = !db_dsn_is_postgres(db_path) || getenv("ISLE_FILES_DIR");
    if (year_rc == 0)
        year_rc =
            trade_files && ensure_files_dir() != 0 ? 1 : trade_demo_cmd(d, data_dir, trade_files);
    /* The indicators' facts and rollups brought up to date here, so that a server's first
     * dashboard tick does not spend its first seconds rebuilding them under the write lock. */
    if (year_rc == 0 && stats_refresh(d, NULL, NULL, &e) != 0) {
        db_close(d);
        return fail("demo indicators", &e);
    }
    db_close(d);
    if (year_rc != 0) return year_rc;
    printf("places: %lld towns, %lld islands, %lld ferry and bridge links, %lld villages, "
           "%lld stations\n",
           (long long)pc.towns, (long long)pc.islands, (long long)pc.ferry_links,
           (long long)pc.villages, (long long)pc.stations);
    printf("catalog: %lld items (%lld inserted, %lld updated, %lld unchanged), %lld bundles, "
           "%lld licence types\n",
           (long long)cc.items, (long long)cc.inserted, (long long)cc.updated,
           (long long)cc.unchanged, (long long)cc.bundles, (long long)cc.licences);
    printf("agents: %lld (%lld full-time, %lld part-time, %lld on duty)%s\n", (long long)ac.agents,
           (long long)ac.full_time, (long long)ac.part_time, (long long)ac.on_duty,
           ac.present ? " already present" : "");
    if (created) {
        printf("demo users created (password for all: %s):\n", DEMO_PASSWORD);
        for (size_t i = 0; i < sizeof(demo_users) / sizeof(demo_users[0]); i++)
            printf("  %-14s %s\n", demo_users[i].login, demo_users[i].name);
    } else {
        printf("demo users already present\n");
    }
    return 0;
}

/* Find a shipped directory (data/ or web/) when not given: the current directory,
 * then next to the binary (build/isle, build/san/isle), then the installed place. */
static const char *resolve_dir(const char *given, const char *name, const char *probe) {
    static char found[2][1024];
    char path[1200];
    struct stat st;
    if (given) return given;
    snprintf(path, sizeof(path), "%s/%s", name, probe);
    if (stat(path, &st) == 0) return name;
    char exe[800];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    char *slot = found[strcmp(name, "web") == 0];
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) *slash = '\0';
        static const char *ups[] = {"/..", "/../..", "/../share/isle"};
        for (size_t i = 0; i < sizeof(ups) / sizeof(ups[0]); i++) {
            snprintf(path, sizeof(path), "%s%s/%s/%s", exe, ups[i], name, probe);
            if (stat(path, &st) == 0) {
                snprintf(slot, sizeof(found[0]), "%s%s/%s", exe, ups[i], name);
                return slot;
            }
        }
    }
    return name; /* not found: errors will name it */
}

static int ensure_files_dir(void) {
    static char buf[1024];
    const char *dir = files_dir_opt;
    if (!dir) dir = getenv("ISLE_FILES_DIR");
    if (!dir && db_dsn_is_postgres(db_path)) {
        /* Several nodes share one database: they must share this directory too (NFS);
         * see docs/OPERATIONS.md. */
        dir = "isle-files";
        log_warn("no --files-dir given: uploads go to ./isle-files (with several nodes it must "
                 "be one shared directory)");
    }
    if (!dir) {
        snprintf(buf, sizeof(buf), "%s-files", db_dsn_path(db_path));
        dir = buf;
    }
    err e = {0};
    if (files_set_dir(dir, &e) != 0) return fail("files", &e);
    return 0;
}

static int cmd_serve(int argc, char **argv) {
    static const char *const known[] = {"--listen", "--threads", "--files-dir", NULL};
    if (check_opts(argc, argv, known) != 0) return 2;
    const char *listen = opt(argc, argv, "--listen");
    if (!listen) listen = getenv("ISLE_LISTEN");
    if (!listen) listen = "127.0.0.1:8080";
    const char *threads_s = opt(argc, argv, "--threads");
    if (!threads_s) threads_s = getenv("ISLE_THREADS");
    int threads = 0;
    if (threads_s) {
        char *end;
        long t = strtol(threads_s, &end, 10);
        if (*end || t < 1 || t > 64) {
            fprintf(stderr, "isle: --threads must be 1..64\n");
            return 2;
        }
        threads = (int)t;
    }
    files_dir_opt = opt(argc, argv, "--files-dir");
    db *d;
    if (open_db(&d, 1) != 0) return 1;
    err e = {0};
    int64_t purged = auth_sessions_purge(d, &e);
    if (purged > 0) log_info("removed %lld expired sessions", (long long)purged);
    if (search_serve_start(d, data_dir, &e) != 0) {
        db_close(d);
        return fail("search index", &e);
    }
    if (assistant_serve_start(d, data_dir, &e) != 0) {
        db_close(d);
        return fail("assistant", &e);
    }
    if (search_listen_start(db_path, &e) != 0) {
        db_close(d);
        return fail("search listener", &e);
    }
    db_close(d);
    if (ensure_files_dir() != 0) return 1;
    size_t nroutes;
    const http_route *routes = api_all_routes(&nroutes);
    http_server_config cfg = {.listen = listen,
                              .threads = threads,
                              .db_path = db_path,
                              .web_root = web_root,
                              .upload_dir = files_dir(),
                              .secure_cookies = getenv("ISLE_SECURE_COOKIES") != NULL,
                              .auth = api_authenticate,
                              .thread_exit = search_thread_cleanup,
                              .routes = routes,
                              .nroutes = nroutes};
    const char *hb = getenv("ISLE_SSE_HEARTBEAT");
    if (hb) cfg.sse_heartbeat = (int)strtol(hb, NULL, 10);
    const char *rt = getenv("ISLE_REQUEST_TIMEOUT"); /* seconds to receive a request (30) */
    if (rt) cfg.request_timeout = (int)strtol(rt, NULL, 10);
    const char *batch = getenv("ISLE_SSE_BATCH_MS");
    cfg.sse_batch_ms = batch ? (int)strtol(batch, NULL, 10) : 0;
    if (notify_worker_start(db_path, &e) != 0) return fail("notification sender", &e);
    if (cases_watch_start(db_path, &e) != 0) {
        notify_worker_stop();
        return fail("cases watcher", &e);
    }
    if (assist_watch_start(db_path, &e) != 0) {
        cases_watch_stop();
        notify_worker_stop();
        return fail("assist watcher", &e);
    }
    if (auction_watch_start(db_path, &e) != 0) {
        assist_watch_stop();
        cases_watch_stop();
        notify_worker_stop();
        return fail("auction watcher", &e);
    }
    if (screen_watch_start(db_path, &e) != 0) {
        auction_watch_stop();
        assist_watch_stop();
        cases_watch_stop();
        notify_worker_stop();
        return fail("screening watcher", &e);
    }
    if (dash_watch_start(db_path, &e) != 0) {
        screen_watch_stop();
        auction_watch_stop();
        assist_watch_stop();
        cases_watch_stop();
        notify_worker_stop();
        return fail("dashboard watcher", &e);
    }
    int served = http_serve(&cfg, &e);
    dash_watch_stop();
    screen_watch_stop();
    auction_watch_stop();
    assist_watch_stop();
    cases_watch_stop();
    notify_worker_stop();
    search_listen_stop();
    if (served != 0) return fail("serve", &e);
    return 0;
}

static int cmd_user(int argc, char **argv) {
    if (argc < 1) return usage(stderr);
    const char *sub = argv[0];
    argc--;
    argv++;
    db *d;
    err e = {0};
    if (strcmp(sub, "add") == 0) {
        static const char *const known[] = {"--role",  "--login", "--name", "--id-number",
                                            "--phone", "--town",  NULL};
        if (check_opts(argc, argv, known) != 0) return 2;
        const char *role = opt(argc, argv, "--role"), *login = opt(argc, argv, "--login");
        if (!role || !login) {
            fprintf(stderr, "isle: user add needs --role ROLE and --login NAME\n");
            return 2;
        }
        char pw[300];
        if (read_password("Password: ", pw, sizeof(pw)) != 0) {
            fprintf(stderr, "isle: no password on standard input\n");
            return 2;
        }
        const char *name = opt(argc, argv, "--name");
        auth_user_input in = {.login = login,
                              .password = pw,
                              .role = role,
                              .display_name = name ? name : login,
                              .id_number = opt(argc, argv, "--id-number"),
                              .phone = opt(argc, argv, "--phone"),
                              .town_code = opt(argc, argv, "--town")};
        if (open_db(&d, 1) != 0) return 1;
        int64_t id = 0;
        int rc = auth_user_create(d, &cli_actor, &in, &id, &e);
        db_close(d);
        if (rc != 0) return fail("user add", &e);
        printf("created user %s (id %lld, role %s)\n", login, (long long)id, role);
        return 0;
    }
    if (strcmp(sub, "list") == 0) {
        static const char *const known[] = {"--role", NULL};
        if (check_opts(argc, argv, known) != 0) return 2;
        const char *role = opt(argc, argv, "--role");
        if (role && !role_from_name(role)) {
            fprintf(stderr, "isle: unknown role %s\n", role);
            return 2;
        }
        if (open_db(&d, 1) != 0) return 1;
        printf("%-6s %-20s %-14s %-8s %s\n", "id", "login", "role", "status", "name");
        int offset = 0, total = 0;
        for (;;) {
            json_t *page = auth_user_list(d, role, NULL, 200, offset, &e);
            if (!page) {
                db_close(d);
                return fail("user list", &e);
            }
            json_t *items = json_object_get(page, "items");
            size_t i;
            json_t *u;
            json_array_foreach(items, i, u) {
                printf("%-6lld %-20s %-14s %-8s %s\n",
                       (long long)json_integer_value(json_object_get(u, "id")),
                       json_string_value(json_object_get(u, "login")),
                       json_string_value(json_object_get(u, "role")),
                       json_is_true(json_object_get(u, "disabled")) ? "disabled" : "active",
                       json_string_value(json_object_get(u, "display_name")));
                total++;
            }
            size_t n = json_array_size(items);
            json_decref(page);
            if (n < 200) break;
            offset += 200;
        }
        db_close(d);
        printf("%d user%s\n", total, total == 1 ? "" : "s");
        return 0;
    }
    if (strcmp(sub, "passwd") == 0) {
        static const char *const known[] = {"--login", NULL};
        if (check_opts(argc, argv, known) != 0) return 2;
        const char *login = opt(argc, argv, "--login");
        if (!login) {
            fprintf(stderr, "isle: user passwd needs --login NAME\n");
            return 2;
        }
        char pw[300];
        if (read_password("New password: ", pw, sizeof(pw)) != 0) {
            fprintf(stderr, "isle: no password on standard input\n");
            return 2;
        }
        if (open_db(&d, 1) != 0) return 1;
        int64_t id = 0;
        if (auth_user_find(d, login, &id, &e) != 0 || !id) {
            db_close(d);
            fprintf(stderr, "isle: no user %s\n", login);
            return 1;
        }
        int rc = auth_user_set_password(d, &cli_actor, id, pw, 0, &e);
        db_close(d);
        if (rc != 0) return fail("user passwd", &e);
        printf("password changed for %s; their sessions were ended\n", login);
        return 0;
    }
    fprintf(stderr, "isle: unknown user command \"%s\" (add, list, passwd)\n", sub);
    return 2;
}

static int cmd_backup(int argc, char **argv) {
    static const char *const known[] = {"--out", NULL};
    if (check_opts(argc, argv, known) != 0) return 2;
    const char *out = opt(argc, argv, "--out");
    if (!out) {
        fprintf(stderr, "isle: backup needs --out FILE\n");
        return 2;
    }
    struct stat st;
    if (stat(out, &st) == 0) {
        fprintf(stderr, "isle: %s already exists; not overwriting\n", out);
        return 1;
    }
    db *d;
    if (open_db(&d, 0) != 0) return 1;
    err e = {0};
    int rc = db_backup(d, out, &e);
    db_close(d);
    if (rc != 0) {
        unlink(out);
        return fail("backup", &e);
    }
    printf("backup written to %s\n", out);
    return 0;
}

static int cmd_audit(int argc, char **argv) {
    if (argc < 1 || strcmp(argv[0], "verify") != 0) {
        fprintf(stderr, "isle: usage: isle audit verify\n");
        return 2;
    }
    db *d;
    if (open_db(&d, 0) != 0) return 1;
    audit_verify_result v;
    err e = {0};
    int rc = audit_verify(d, &v, &e);
    db_close(d);
    if (rc != 0) return fail("audit verify", &e);
    if (v.ok) {
        printf("audit trail intact: %lld rows, hash chain verified\n", (long long)v.rows);
        return 0;
    }
    printf("audit trail BROKEN at row %lld: %s (%lld rows checked)\n", (long long)v.first_broken,
           v.reason, (long long)v.rows);
    return 1;
}

int main(int argc, char **argv) {
    log_init_from_env();
    if (crypto_init() != 0) {
        fprintf(stderr, "isle: cannot initialise libsodium\n");
        return 1;
    }
    const char *env_db = getenv("ISLE_DB");
    if (env_db && *env_db) db_path = env_db;
    const char *env_data = getenv("ISLE_DATA_DIR");
    if (env_data && *env_data) data_dir = env_data;
    const char *env_web = getenv("ISLE_WEB_ROOT");
    if (env_web && *env_web) web_root = env_web;

    /* Global options may come before or after the command. */
    char **args = calloc((size_t)argc + 1, sizeof(char *));
    if (!args) return 1;
    int n = 0;
    for (int i = 1; i < argc; i++) {
        const char **target = NULL;
        if (strcmp(argv[i], "--db") == 0)
            target = &db_path;
        else if (strcmp(argv[i], "--data-dir") == 0)
            target = &data_dir;
        else if (strcmp(argv[i], "--web-root") == 0)
            target = &web_root;
        if (target) {
            if (i + 1 >= argc) {
                fprintf(stderr, "isle: option %s needs a value\n", argv[i]);
                free(args);
                return 2;
            }
            *target = argv[++i];
            continue;
        }
        args[n++] = argv[i];
    }
    data_dir = resolve_dir(data_dir, "data", "zhoushan/towns.csv");
    web_root = resolve_dir(web_root, "web", "index.html");
    workcal_default_set_data_dir(data_dir);
    rules_set_data_dir(data_dir);
    cases_set_data_dir(data_dir);
    notify_set_data_dir(data_dir);
    screen_platform_set_data_dir(data_dir);
    int rc;
    if (n == 0)
        rc = usage(stderr);
    else if (!strcmp(args[0], "help") || !strcmp(args[0], "--help") || !strcmp(args[0], "-h"))
        rc = usage(stdout);
    else if (!strcmp(args[0], "version") || !strcmp(args[0], "--version")) {
        printf("isle %s\n", ISLE_VERSION);
        rc = 0;
    } else if (!strcmp(args[0], "init"))
        rc = cmd_init();
    else if (!strcmp(args[0], "demo"))
        rc = cmd_demo(n - 1, args + 1);
    else if (!strcmp(args[0], "serve"))
        rc = cmd_serve(n - 1, args + 1);
    else if (!strcmp(args[0], "user"))
        rc = cmd_user(n - 1, args + 1);
    else if (!strcmp(args[0], "backup"))
        rc = cmd_backup(n - 1, args + 1);
    else if (!strcmp(args[0], "audit"))
        rc = cmd_audit(n - 1, args + 1);
    else if (!strcmp(args[0], "search")) {
        cli_env env = {.db_path = db_path, .data_dir = data_dir};
        rc = search_cli(&env, n, args);
    } else if (!strcmp(args[0], "ask")) {
        cli_env env = {.db_path = db_path, .data_dir = data_dir};
        rc = assistant_cli(&env, n, args);
    } else if (!strcmp(args[0], "export") && n >= 2 && !strcmp(args[1], "ocds")) {
        cli_env env = {.db_path = db_path, .data_dir = data_dir};
        rc = ocds_cli(&env, n, args);
    } else if (!strcmp(args[0], "import") || !strcmp(args[0], "export")) {
        cli_env env = {.db_path = db_path, .data_dir = data_dir};
        rc = catalog_cli(&env, n, args);
    } else if (!strcmp(args[0], "migrate") || !strcmp(args[0], "migrate-data")) {
        cli_env env = {.db_path = db_path, .data_dir = data_dir};
        rc = ops_cli(&env, n, args);
    } else if (!strcmp(args[0], "jobs")) {
        cli_env env = {.db_path = db_path, .data_dir = data_dir};
        rc = jobs_cli(&env, n, args);
    } else if (!strcmp(args[0], "cases")) {
        cli_env env = {.db_path = db_path, .data_dir = data_dir};
        rc = cases_cli(&env, n, args);
    } else if (!strcmp(args[0], "assist")) {
        cli_env env = {.db_path = db_path, .data_dir = data_dir};
        rc = assist_cli(&env, n, args);
    } else if (!strcmp(args[0], "travel") || !strcmp(args[0], "coverage")) {
        cli_env env = {.db_path = db_path, .data_dir = data_dir};
        rc = travel_cli(&env, n, args);
    } else if (!strcmp(args[0], "dispatch")) {
        cli_env env = {.db_path = db_path, .data_dir = data_dir};
        rc = dispatch_cli(&env, n, args);
    } else if (!strcmp(args[0], "workcal")) {
        cli_env env = {.db_path = db_path, .data_dir = data_dir};
        rc = workcal_cli(&env, n, args);
    } else if (!strcmp(args[0], "rules")) {
        cli_env env = {.db_path = db_path, .data_dir = data_dir};
        rc = rules_cli(&env, n, args);
    } else if (!strcmp(args[0], "stats")) {
        cli_env env = {.db_path = db_path, .data_dir = data_dir};
        rc = stats_cli(&env, n, args);
    } else if (!strcmp(args[0], "proof")) {
        cli_env env = {.db_path = db_path, .data_dir = data_dir};
        rc = proofs_cli(&env, n, args);
    } else if (!strcmp(args[0], "trade")) {
        cli_env env = {.db_path = db_path, .data_dir = data_dir};
        rc = trade_cli(&env, n, args);
    } else if (!strcmp(args[0], "screen") && n >= 2 &&
               (!strcmp(args[1], "run") || !strcmp(args[1], "alerts"))) {
        cli_env env = {.db_path = db_path, .data_dir = data_dir};
        rc = screen_platform_cli(&env, n, args); /* 防围串标 over the platform's own bids */
    } else if (!strcmp(args[0], "screen")) {
        cli_env env = {.db_path = db_path, .data_dir = data_dir};
        rc = screen_cli(&env, n, args);
    } else if (!strcmp(args[0], "similarity")) {
        cli_env env = {.db_path = db_path, .data_dir = data_dir};
        rc = similarity_cli(&env, n, args);
    } else if (!strcmp(args[0], "notify")) {
        cli_env env = {.db_path = db_path, .data_dir = data_dir};
        rc = notify_cli(&env, n, args);
    } else if (!strcmp(args[0], "ca")) {
        cli_env env = {.db_path = db_path, .data_dir = data_dir};
        rc = ca_cli(&env, n, args);
    } else if (!strcmp(args[0], "report") || !strcmp(args[0], "dash")) {
        cli_env env = {.db_path = db_path, .data_dir = data_dir};
        rc = dash_cli(&env, n, args);
    } else {
        fprintf(stderr, "isle: unknown command \"%s\"; see `isle help`\n", args[0]);
        rc = 2;
    }
    free(args);
    return rc;
}
