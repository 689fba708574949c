/*
 * Copyright (c) 2026 The chat authors.
 *
 * hist: a latency histogram with fixed buckets, filled where something
 * is timed (a store's commit, JetStream's answer) and rendered by the
 * server's /metrics.  Pure: no I/O, no clock.
 */
#ifndef HIST_H
#define HIST_H

#include <stdint.h>

/* Upper bounds of the buckets, in microseconds; +Inf is implicit. */
#define HIST_BUCKETS	14

extern const uint64_t	 hist_bounds_us[HIST_BUCKETS];
/* The same bounds in seconds, as Prometheus "le" labels. */
extern const char *const hist_bounds_le[HIST_BUCKETS];

/* A latency histogram; zeroed storage is an empty one. */
struct hist {
	uint64_t	bucket[HIST_BUCKETS + 1];	/* not cumulative */
	uint64_t	count;
	uint64_t	sum_us;
};

/* Count one observation of us microseconds. */
void	hist_observe(struct hist *, uint64_t us);

#endif /* HIST_H */
