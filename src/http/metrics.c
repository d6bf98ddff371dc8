/* metrics: request counters by route and status, a latency histogram per
 * route, open connections, DB time, SSE figures — all lock-free atomics,
 * rendered on demand by /metrics. Route index -1 is "static", -2 "unmatched". */
#include "http/metrics.h"
#include "base/xmalloc.h"
#include "db/db.h"
#include "http/internal.h"
#include "http/sse.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

static const double buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                 0.1,    0.25,  0.5,    1.0,   2.5,  5.0};
#define NBUCKETS (sizeof(buckets) / sizeof(buckets[0]))
#define NSTATUS  600

typedef struct route_metrics {
    _Atomic uint64_t by_status[NSTATUS];
    _Atomic uint64_t hist[NBUCKETS + 1];
    _Atomic uint64_t sum_ns;
    _Atomic uint64_t count;
} route_metrics;

static route_metrics *rm; /* nroutes + 2 entries: [0]=static, [1]=unmatched, [2+i]=route i */
static size_t nslots;
static _Atomic long open_conns;

void metrics_init(size_t nroutes) {
    nslots = nroutes + 2;
    rm = xcalloc(nslots, sizeof(*rm));
}

void metrics_conn_delta(int d) {
    atomic_fetch_add(&open_conns, d);
}

long metrics_open_connections(void) {
    return atomic_load(&open_conns);
}

void metrics_observe(int route_index, int status, uint64_t ns) {
    if (!rm) return;
    size_t slot = route_index == -1 ? 0 : route_index < 0 ? 1 : (size_t)route_index + 2;
    if (slot >= nslots) return;
    route_metrics *m = &rm[slot];
    if (status < 0 || status >= NSTATUS) status = 0;
    atomic_fetch_add_explicit(&m->by_status[status], 1, memory_order_relaxed);
    double s = (double)ns / 1e9;
    size_t b = 0;
    while (b < NBUCKETS && s > buckets[b])
        b++;
    atomic_fetch_add_explicit(&m->hist[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->sum_ns, ns, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->count, 1, memory_order_relaxed);
}

static void slot_labels(size_t slot, const char **route, const char **method) {
    static const char *names[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"};
    if (slot == 0) {
        *route = "static";
        *method = "GET";
        return;
    }
    if (slot == 1) {
        *route = "unmatched";
        *method = "ANY";
        return;
    }
    const http_route *r = router_route((int)slot - 2);
    *route = r->name ? r->name : r->pattern;
    *method = "ANY";
    for (int i = 0; i < 7; i++)
        if (r->method == (1 << i)) *method = names[i];
}

void metrics_render(strbuf *out) {
    strbuf_puts(out, "# HELP isle_http_requests_total HTTP requests by route, method and status.\n"
                     "# TYPE isle_http_requests_total counter\n");
    for (size_t s = 0; s < nslots; s++) {
        const char *route, *method;
        slot_labels(s, &route, &method);
        for (int st = 0; st < NSTATUS; st++) {
            uint64_t v = atomic_load_explicit(&rm[s].by_status[st], memory_order_relaxed);
            if (v)
                strbuf_printf(out,
                              "isle_http_requests_total{route=\"%s\",method=\"%s\",status=\"%d\"} "
                              "%llu\n",
                              route, method, st, (unsigned long long)v);
        }
    }
    strbuf_puts(out, "# HELP isle_http_request_duration_seconds Time from the first byte of a "
                     "request to its response, by route.\n"
                     "# TYPE isle_http_request_duration_seconds histogram\n");
    for (size_t s = 0; s < nslots; s++) {
        uint64_t count = atomic_load(&rm[s].count);
        if (!count) continue;
        const char *route, *method;
        slot_labels(s, &route, &method);
        uint64_t cum = 0;
        for (size_t b = 0; b <= NBUCKETS; b++) {
            cum += atomic_load(&rm[s].hist[b]);
            if (b < NBUCKETS)
                strbuf_printf(out,
                              "isle_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} "
                              "%llu\n",
                              route, buckets[b], (unsigned long long)cum);
            else
                strbuf_printf(out,
                              "isle_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} "
                              "%llu\n",
                              route, (unsigned long long)cum);
        }
        strbuf_printf(out, "isle_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n", route,
                      (double)atomic_load(&rm[s].sum_ns) / 1e9);
        strbuf_printf(out, "isle_http_request_duration_seconds_count{route=\"%s\"} %llu\n", route,
                      (unsigned long long)count);
    }
    strbuf_printf(
        out,
        "# HELP isle_http_open_connections Open client connections.\n"
        "# TYPE isle_http_open_connections gauge\n"
        "isle_http_open_connections %ld\n"
        "# HELP isle_db_time_seconds_total Time spent in database calls.\n"
        "# TYPE isle_db_time_seconds_total counter\n"
        "isle_db_time_seconds_total %.6f\n"
        "# HELP isle_sse_subscribers Live Server-Sent Events subscribers.\n"
        "# TYPE isle_sse_subscribers gauge\n"
        "isle_sse_subscribers %ld\n"
        "# HELP isle_sse_events_total Events published to the SSE hub.\n"
        "# TYPE isle_sse_events_total counter\n"
        "isle_sse_events_total %llu\n"
        "# HELP isle_db_unavailable_total Database calls that failed because the "
        "server could not be reached (PostgreSQL).\n"
        "# TYPE isle_db_unavailable_total counter\n"
        "isle_db_unavailable_total %llu\n"
        "# HELP isle_db_backend Which database backend this node uses.\n"
        "# TYPE isle_db_backend gauge\n"
        "isle_db_backend{backend=\"%s\"} 1\n",
        metrics_open_connections(), (double)db_time_total_ns() / 1e9, sse_subscribers_total(),
        (unsigned long long)sse_events_total(), (unsigned long long)db_unavailable_total(),
        db_dsn_is_postgres(http_config()->db_path ? http_config()->db_path : "") ? "postgres"
                                                                                 : "sqlite");
}
