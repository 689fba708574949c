/*
 * Copyright (c) 2026 The chat authors.
 *
 * stats: the measuring instruments of chat-bench.  A latency histogram
 * with log-linear buckets (exact below 128 us, then 128 buckets per
 * power of two, so a reported value is within 0.4% of the samples it
 * stands for), and samples of another process's CPU time and resident
 * memory read from /proc.  No sockets, no output.
 */
#include <sys/resource.h>
#include <sys/time.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#define HIST_SUBBITS	7
#define HIST_SUB	(1u << HIST_SUBBITS)
/* Exact buckets for 0..127, then 128 per power of two up to 2^63. */
#define HIST_NBUCKETS	(HIST_SUB + (64 - HIST_SUBBITS) * HIST_SUB)

struct hist {
	uint64_t	count;
	uint64_t	max;
	uint64_t	b[HIST_NBUCKETS];
};

static unsigned int
hist_index(uint64_t v)
{
	unsigned int	msb;

	if (v < HIST_SUB)
		return (unsigned int)v;
	msb = 63 - (unsigned int)__builtin_clzll(v);
	return HIST_SUB + (msb - HIST_SUBBITS) * HIST_SUB +
	    (unsigned int)((v >> (msb - HIST_SUBBITS)) & (HIST_SUB - 1));
}

/* The middle of bucket i: its error is at most half a bucket width. */
static uint64_t
hist_value(unsigned int i)
{
	unsigned int	msb, sub;
	uint64_t	lo, width;

	if (i < HIST_SUB)
		return i;
	msb = (i - HIST_SUB) / HIST_SUB + HIST_SUBBITS;
	sub = (i - HIST_SUB) % HIST_SUB;
	width = (uint64_t)1 << (msb - HIST_SUBBITS);
	lo = ((uint64_t)1 << msb) + (uint64_t)sub * width;
	return lo + width / 2;
}

struct hist *
hist_new(void)
{
	return calloc(1, sizeof(struct hist));
}

void
hist_reset(struct hist *h)
{
	memset(h, 0, sizeof(*h));
}

void
hist_add(struct hist *h, uint64_t us)
{
	h->b[hist_index(us)]++;
	h->count++;
	if (us > h->max)
		h->max = us;
}

uint64_t
hist_count(const struct hist *h)
{
	return h->count;
}

uint64_t
hist_max(const struct hist *h)
{
	return h->max;
}

uint64_t
hist_quantile(const struct hist *h, double q)
{
	uint64_t	want, acc = 0, v;
	unsigned int	i;

	if (h->count == 0)
		return 0;
	want = (uint64_t)(q * (double)h->count);
	if (want < 1)
		want = 1;
	if (want > h->count)
		want = h->count;
	for (i = 0; i < HIST_NBUCKETS; i++) {
		acc += h->b[i];
		if (acc >= want) {
			v = hist_value(i);
			/* A bucket's middle may lie above the largest sample. */
			return v > h->max ? h->max : v;
		}
	}
	return h->max;
}

void
hist_free(struct hist *h)
{
	free(h);
}

uint64_t
bench_now_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int64_t
proc_cpu_us(pid_t pid)
{
	char			 path[64], buf[1024], *p, *end;
	unsigned long long	 v, ticks = 0;
	long			 hz;
	size_t			 n;
	FILE			*f;
	int			 field;

	if (pid <= 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* The command name may hold spaces and parentheses: skip past it. */
	if ((p = strrchr(buf, ')')) == NULL)
		return -1;
	p++;
	/* Fields 3 (state) onwards; utime and stime are 14 and 15. */
	for (field = 3; field <= 15; field++) {
		while (*p == ' ')
			p++;
		if (field < 14) {
			p += strcspn(p, " ");
			continue;
		}
		errno = 0;
		v = strtoull(p, &end, 10);
		if (end == p || errno != 0)
			return -1;
		ticks += v;
		p = end;
	}
	if ((hz = sysconf(_SC_CLK_TCK)) <= 0)
		return -1;
	return (int64_t)(ticks * 1000000u / (unsigned long long)hz);
}

long
proc_rss_kb(pid_t pid)
{
	char	 path[64], line[256];
	long	 kb = -1;
	FILE	*f;

	if (pid <= 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "VmRSS:", 6) == 0) {
			kb = strtol(line + 6, NULL, 10);
			break;
		}
	}
	fclose(f);
	return kb;
}

double
self_cpu_s(void)
{
	struct rusage	ru;

	if (getrusage(RUSAGE_SELF, &ru) == -1)
		return 0;
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
	    ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) / 1e6;
}
