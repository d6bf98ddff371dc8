/* bench/outbox/gateway.c: a fake SMS gateway for bench/outbox.sh.
 *
 * Answers POST /sms like the gateway isle's http transport talks to: a JSON body
 * with "id" (the outbox id); 200 {"message_id": "gw-ID"} when it takes the
 * message, 500 for a failure. Every 5th call fails (20%, --fail-every 5). It
 * records, per outbox id, the requests received and whether one arrived after
 * the gateway had already answered 200 for that id (isle must never do that),
 * and delivers each id once (like a gateway that deduplicates by id). GET /stats
 * answers {"calls", "failed", "delivered", "resent_after_200", "max_requests"}.
 * One thread, libevent's evhttp: the point is to cost isle's sender as little
 * CPU as possible on a machine they share. Listens on 127.0.0.1 only.
 *
 *   gateway --port N --max-id N [--fail-every K] */
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static long max_id;
static unsigned char *requests; /* per id, saturating */
static unsigned char *answered; /* per id: 200 sent */
static long calls, failed, delivered, resent_after_200, bad;
static long fail_every = 5;

static long body_id(struct evbuffer *in) {
    char buf[512];
    size_t n = evbuffer_get_length(in);
    if (n >= sizeof(buf)) n = sizeof(buf) - 1;
    evbuffer_copyout(in, buf, n);
    buf[n] = '\0';
    const char *p = strstr(buf, "\"id\":");
    return p ? strtol(p + 5, NULL, 10) : -1;
}

static void on_sms(struct evhttp_request *req, void *arg) {
    (void)arg;
    struct evbuffer *out = evbuffer_new();
    long id = body_id(evhttp_request_get_input_buffer(req));
    calls++;
    if (id <= 0 || id > max_id) {
        bad++;
        evhttp_send_reply(req, 400, "Bad Request", NULL);
        evbuffer_free(out);
        return;
    }
    if (requests[id] < 255) requests[id]++;
    if (answered[id]) resent_after_200++;
    if (fail_every > 0 && calls % fail_every == 0) {
        failed++;
        evhttp_send_reply(req, 500, "Internal Server Error", NULL);
        evbuffer_free(out);
        return;
    }
    if (!answered[id]) delivered++;
    answered[id] = 1;
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
    evbuffer_add_printf(out, "{\"message_id\":\"gw-%ld\"}", id);
    evhttp_send_reply(req, 200, "OK", out);
    evbuffer_free(out);
}

static void on_stats(struct evhttp_request *req, void *arg) {
    (void)arg;
    int maxr = 0;
    for (long i = 1; i <= max_id; i++)
        if (requests[i] > maxr) maxr = requests[i];
    struct evbuffer *out = evbuffer_new();
    evbuffer_add_printf(out,
                        "{\"calls\":%ld,\"failed\":%ld,\"delivered\":%ld,\"resent_after_200\":%ld,"
                        "\"bad\":%ld,\"max_requests\":%d}\n",
                        calls, failed, delivered, resent_after_200, bad, maxr);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
    evhttp_send_reply(req, 200, "OK", out);
    evbuffer_free(out);
}

static void on_request(struct evhttp_request *req, void *arg) {
    const char *uri = evhttp_request_get_uri(req);
    if (evhttp_request_get_command(req) == EVHTTP_REQ_POST && strncmp(uri, "/sms", 4) == 0)
        on_sms(req, arg);
    else if (strncmp(uri, "/stats", 6) == 0)
        on_stats(req, arg);
    else
        evhttp_send_reply(req, 404, "Not Found", NULL);
}

static void on_term(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    event_base_loopbreak(arg);
}

int main(int argc, char **argv) {
    int port = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--port")) port = (int)strtol(argv[i + 1], NULL, 10);
        if (!strcmp(argv[i], "--max-id")) max_id = strtol(argv[i + 1], NULL, 10);
        if (!strcmp(argv[i], "--fail-every")) fail_every = strtol(argv[i + 1], NULL, 10);
    }
    if (port <= 0 || max_id <= 0) {
        fprintf(stderr, "usage: gateway --port N --max-id N [--fail-every K]\n");
        return 2;
    }
    requests = calloc((size_t)max_id + 1, 1);
    answered = calloc((size_t)max_id + 1, 1);
    struct event_base *base = event_base_new();
    struct evhttp *http = evhttp_new(base);
    if (!requests || !answered || !base || !http ||
        evhttp_bind_socket(http, "127.0.0.1", (unsigned short)port) != 0) {
        fprintf(stderr, "gateway: cannot listen on 127.0.0.1:%d\n", port);
        return 1;
    }
    evhttp_set_gencb(http, on_request, NULL);
    struct event *term = evsignal_new(base, SIGTERM, on_term, base);
    event_add(term, NULL);
    event_base_dispatch(base);
    event_free(term);
    evhttp_free(http);
    event_base_free(base);
    free(requests);
    free(answered);
    return 0;
}
