/*
 * Copyright (c) 2026 The chat authors.
 *
 * chat-bench: a load generator for the chat server's /demo endpoints.
 * main.c reads the options and prints the one JSON line; load.c owns the
 * connections and the epoll loop and checks every message; stats.c holds
 * the latency histogram and reads a server's CPU time and RSS from /proc.
 * Only loopback targets are accepted: this is a benchmark, not a tool
 * for loading other people's machines.  Several URLs (the nodes of a
 * cluster) share the connections out; several server pids are sampled
 * and summed.
 */
#ifndef BENCH_H
#define BENCH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "dial.h"

#define BENCH_MAX_URLS	16		/* -u, repeated */
#define BENCH_MAX_PIDS	16		/* --pid, repeated or a list */

enum bench_mode {
	BENCH_CHAT,		/* pairs of users sending to each other */
	BENCH_ECHO,		/* /demo/echo */
	BENCH_IDLE,		/* connections that only sit there */
	BENCH_ROOM		/* one room: some members send, all receive */
};

/* One -u: a server, or one node of a cluster. */
struct bench_target {
	const char	*url;		/* as given, for the JSON line */
	struct dial_url	 u;
	char		 base[HS_MAX_TARGET + 1];	/* path to dial */
};

struct bench_opts {
	enum bench_mode	 mode;
	const char	*mode_name;
	const char	*url;		/* the first -u, for the JSON line */
	struct bench_target targets[BENCH_MAX_URLS];
	int		 ntargets;
	int		 cross;		/* chat: partners on different nodes */
	int		 hot;		/* chat: -p senders to one receiver */
	int		 compress;	/* offer permessage-deflate */
	char		 prefix[33];	/* user id prefix */
	int		 conns;		/* total connections */
	int		 pairs;		/* chat */
	int		 senders;	/* room: members that send */
	int		 window;	/* in flight per sender */
	int		 size;		/* bytes of the message string */
	long long	 rate;		/* total msgs/s, 0: closed loop */
	uint64_t	 max_msgs;	/* stop sending after this many */
	int		 conc;		/* handshakes in flight */
	long long	 duration_ms;
	long long	 warmup_ms;
	long long	 drain_ms;
	long long	 hold_ms;	/* idle */
	long long	 settle_ms;	/* idle: quiet period before RSS */
	long long	 connect_timeout_ms;
	pid_t		 pids[BENCH_MAX_PIDS];	/* servers to sample */
	int		 npids;		/* 0: none */
	int		 full_parse;	/* codec_parse_ev() for every event */
};

struct bench_result {
	uint64_t	conns_ok, conns_failed, conns_dropped;
	double		connect_s;
	int64_t		connect_cpu_us;		/* -1: not sampled */
	double		measured_s;
	uint64_t	sent, delivered;	/* in the measured window;
						   room: each member's copy
						   is one delivery */
	uint64_t	total_sent, total_delivered;
	uint64_t	total_expected;		/* deliveries due: total_sent,
						   or in a room total_sent
						   times the other members */
	uint64_t	dup, misrouted, out_of_order, malformed;
	uint64_t	server_errors;		/* {"type":"error"} events */
	uint64_t	lat_p50_us, lat_p99_us, lat_max_us;
	int64_t		server_cpu_us;		/* -1: not sampled */
	int64_t		server_cpu_us_by_pid[BENCH_MAX_PIDS];	/* or -1 */
	long		rss_before_kb, rss_after_kb;	/* -1: not sampled */
	double		client_cpu_s;
	char		first_error[DIAL_ERRLEN];	/* first dial failure */
	int		first_error_target;	/* its -u, an index */
};

/* load.c: run one scenario.  Returns 0, or -1 on a setup failure. */
int	bench_run(const struct bench_opts *, struct bench_result *);

/* stats.c: a log-linear latency histogram, < 0.4% relative error. */
struct hist;
struct hist	*hist_new(void);
void		 hist_reset(struct hist *);
void		 hist_add(struct hist *, uint64_t us);
uint64_t	 hist_count(const struct hist *);
uint64_t	 hist_max(const struct hist *);
/* The value below which a fraction q (0..1] of the samples lie. */
uint64_t	 hist_quantile(const struct hist *, double q);
void		 hist_free(struct hist *);

/* stats.c: clocks and /proc samples. */
uint64_t	 bench_now_ns(void);
/* utime + stime of pid in microseconds, or -1. */
int64_t		 proc_cpu_us(pid_t pid);
/* VmRSS of pid in KiB, or -1. */
long		 proc_rss_kb(pid_t pid);
/* CPU seconds used by this process. */
double		 self_cpu_s(void);

#endif /* BENCH_H */
