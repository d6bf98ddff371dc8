/* Fuzz the whole request path: bytes arrive on a real connection (a socketpair)
 * to the server's own accept/read callbacks, through http-parser, limits, the
 * router, session lookup and the real handlers on an in-memory database.
 * Includes server.c to reach its statics (h2o's white-box habit). */
#include "../../src/http/server.c"

#include "api/api.h"
#include "auth/auth.h"
#include "base/crypto.h"
#include "db/migrate.h"
#include "files/files.h"

#include <stdint.h>
#include <sys/socket.h>

static worker fw;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    setenv("ISLE_ARGON2_FAST", "1", 1);
    log_set_level(LOG_OFF);
    crypto_init();
    size_t nroutes;
    const http_route *routes = api_all_routes(&nroutes);
    http_server_config cfg = {.listen = "fuzz",
                              .threads = 1,
                              .db_path = ":memory:",
                              .web_root = "web",
                              .upload_dir = "/tmp",
                              .auth = api_authenticate,
                              .routes = routes,
                              .nroutes = nroutes};
    config_apply_defaults(&cfg);
    parser_settings_init();
    router_init(config.routes, config.nroutes);
    metrics_init(config.nroutes);
    static_init(config.web_root);
    sse_init();
    err e = {0};
    files_set_dir("/tmp/isle-fuzz-files", &e);
    fw.base = event_base_new();
    pthread_mutex_init(&fw.mu, NULL);
    if (db_open(":memory:", &fw.db, &e) != 0 || db_migrate(fw.db, NULL, &e) != 0) abort();
    /* One user so that logins and sessions have something to find. */
    audit_actor a = {0, "fuzz", NULL};
    auth_user_input in = {
        .login = "admin", .password = "Zhoushan@2026", .role = "admin", .display_name = "fuzz"};
    auth_user_create(fw.db, &a, &in, NULL, &e);
    fw.notify_ev = event_new(fw.base, -1, 0, notify_cb, &fw);
    sse_worker_init(&fw, 15, 0);
    workers = &fw;
    nworkers = 1;
    current_worker = &fw;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) != 0) return 0;
    struct sockaddr_in sa = {.sin_family = AF_INET};
    accept_cb(NULL, sv[0], (struct sockaddr *)&sa, sizeof(sa), &fw);
    size_t off = 0;
    char sink[65536];
    /* Feed the input and run the loop until the server has answered and let go,
     * reading its output so that it never blocks; bounded in iterations. */
    for (int i = 0; i < 2000 && (fw.conns || off < size); i++) {
        if (off < size) {
            ssize_t w = write(sv[1], data + off, size - off);
            if (w > 0) off += (size_t)w;
            if (off == size) shutdown(sv[1], SHUT_WR);
        } else if (size == 0 && i == 0) {
            shutdown(sv[1], SHUT_WR);
        }
        event_base_loop(fw.base, EVLOOP_NONBLOCK);
        while (read(sv[1], sink, sizeof(sink)) > 0) {
        }
        if (off == size && i > 200) break; /* e.g. an SSE stream that stays open */
    }
    close(sv[1]);
    while (fw.conns)
        conn_free(fw.conns);
    return 0;
}
