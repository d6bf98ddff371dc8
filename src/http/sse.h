/* sse: the Server-Sent Events hub — topics, subscribe, publish, heartbeats.
 *
 * Subscribers are connections held by the worker that accepted them. A publish
 * (from any thread) formats the event once, then queues a reference-counted
 * copy to every worker, which writes it to its own subscribers of the topic.
 * The last 256 events are kept so a client reconnecting with Last-Event-ID
 * gets what it missed. A subscriber whose unsent output passes 1 MiB (a client
 * that stopped reading) is dropped rather than allowed to grow memory. */
#ifndef ISLE_SSE_H
#define ISLE_SSE_H

#include <stdint.h>

/** 1 if topic is 1–64 characters of [a-z0-9._-]. */
int sse_topic_valid(const char *topic);
/** Publish an event to every subscriber of topic. data_json must be one line of JSON.
 *  *id_out (may be NULL) gets the event id. Returns the current subscriber count of the
 *  topic (on all workers), or -1 if the hub is not running. Thread-safe. */
long sse_publish(const char *topic, const char *event, const char *data_json, int64_t *id_out);
/** Current subscribers on all topics (for metrics). */
long sse_subscribers_total(void);
/** Events published since start (for metrics). */
uint64_t sse_events_total(void);

#endif
