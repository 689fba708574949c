/*
 * Copyright (c) 2026 The chat authors.
 *
 * hist: latency histograms (see hist.h).
 */
#include <stddef.h>

#include "hist.h"

const uint64_t hist_bounds_us[HIST_BUCKETS] = {
	50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000,
	250000, 500000, 1000000
};
const char *const hist_bounds_le[HIST_BUCKETS] = {
	"0.00005", "0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005",
	"0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1"
};

void
hist_observe(struct hist *h, uint64_t us)
{
	size_t	i;

	for (i = 0; i < HIST_BUCKETS && us > hist_bounds_us[i]; i++)
		;
	h->bucket[i]++;
	h->count++;
	h->sum_us += us;
}
