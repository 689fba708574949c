/*
 * Copyright (c) 2026 The chat authors.
 *
 * metrics: the /metrics answer in the Prometheus text format, and the
 * latency histogram that the store and the cluster link keep.  It reads
 * every figure through the functions its owner exports (router_nonline(),
 * store_count(), client_counter(), ...) and never looks inside another
 * module's struct.
 */
#ifndef METRICS_H
#define METRICS_H

#include <stddef.h>
#include <stdint.h>

struct server;

/* Upper bounds of the buckets, in microseconds; +Inf is implicit. */
#define METRICS_BUCKETS	14

/* A latency histogram; zeroed storage is an empty one. */
struct metrics_hist {
	uint64_t	bucket[METRICS_BUCKETS + 1];	/* not cumulative */
	uint64_t	count;
	uint64_t	sum_us;
};

/* Count one observation of us microseconds. */
void	metrics_observe(struct metrics_hist *, uint64_t us);

/*
 * The text exposition format (version 0.0.4) of everything s counts:
 * a NUL-terminated string of *len bytes that the caller frees, or NULL
 * without memory.
 */
char	*metrics_render(const struct server *s, size_t *len);

/*
 * NULL when /readyz answers 200, else why not: shutting down, the store
 * failing or having refused a message in the last 5 seconds, or (with
 * --cluster) NATS unreachable.
 */
const char *metrics_unready(const struct server *s);

/* The Content-Type of metrics_render()'s text. */
#define METRICS_CONTENT_TYPE	"text/plain; version=0.0.4; charset=utf-8"

#endif /* METRICS_H */
