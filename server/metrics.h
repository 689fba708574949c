/*
 * Copyright (c) 2026 The chat authors.
 *
 * metrics: the /metrics answer in the Prometheus text format.  It reads
 * the counters of struct server (st_*, count[]) and every other figure
 * through the functions its owner exports (router_nonline(),
 * router_inbox_stats(), ...); it never looks inside another module's
 * struct.
 */
#ifndef METRICS_H
#define METRICS_H

#include <stddef.h>
#include <stdint.h>

struct server;

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
