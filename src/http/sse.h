/* sse: the Server-Sent Events hub — topics, subscribe, publish, heartbeats.
 *
 * Subscribers are connections held by the worker that accepted them. A publish
 * (from any thread) formats the event once, then queues a reference-counted
 * copy to every worker, which writes it to its own subscribers of the topic.
 * The last 256 events are kept so a client reconnecting with Last-Event-ID
 * gets what it missed. A subscriber whose unsent output passes 1 MiB (a client
 * that stopped reading) is dropped rather than allowed to grow memory.
 *
 * With PostgreSQL the hub spans nodes: publishes go through the database
 * (NOTIFY) and every node's listener feeds them to its own subscribers, with
 * ids that grow across the cluster (see sse.c). */
#ifndef ISLE_SSE_H
#define ISLE_SSE_H

#include <stdint.h>

/** 1 if topic is 1–64 characters of [a-z0-9._-]. */
int sse_topic_valid(const char *topic);
/** Publish an event to every subscriber of topic (on every node when the database is
 *  PostgreSQL). event must not contain a newline; data_json must be one line of JSON.
 *  *id_out (may be NULL) gets the event id. Returns the current subscriber count of the
 *  topic on this node's workers, or -1 if the event could not be published (the hub is
 *  not running, or the database is unreachable). Thread-safe. */
long sse_publish(const char *topic, const char *event, const char *data_json, int64_t *id_out);
/** Current subscribers on all topics (for metrics). */
long sse_subscribers_total(void);
/** Events published since start (for metrics). */
uint64_t sse_events_total(void);

#endif
