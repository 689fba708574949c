/*
 * Copyright (c) 2026 The chat authors.
 *
 * chat-bench: options, the loopback-only check, the file limit, and the
 * one JSON line that reports a run.  The scenarios themselves are in
 * load.c.  Several -u spread the connections over the nodes of a
 * cluster; several --pid are sampled and summed.  Exit status: 0 when
 * every message arrived exactly once and in order and every connection
 * opened, 1 otherwise (the JSON line is printed anyway), 2 on a usage
 * error.
 */
#include <sys/resource.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <err.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "codec.h"
#include "dial.h"
#include "util.h"

#define MAX_CONNS	200000
#define MAX_MS		(3600LL * 1000)

static void __attribute__((noreturn))
usage(int status)
{
	FILE	*f = status == 0 ? stdout : stderr;

	fprintf(f,
"usage: chat-bench chat -u url [-u url ...] [--cross | --hot] [-n max-msgs]\n"
"                  [-p pairs] [-r rate] [-s size] [-w window] [-d duration]\n"
"                  [common options]\n"
"       chat-bench echo -u url [-c conns] [-n max-msgs] [-s size] [-w window]\n"
"                  [-d duration] [common options]\n"
"       chat-bench idle -u url [-c conns] [--hold duration]\n"
"                  [--settle duration] [common options]\n"
"       chat-bench room -u url [-u url ...] [-c members] [--senders n]\n"
"                  [-n max-msgs] [-r rate] [-s size] [-w window]\n"
"                  [-d duration] [common options]\n"
"common: [--compress] [--conc n] [--connect-timeout duration]\n"
"        [--drain duration] [--full-parse] [--pid server-pid[,pid...]]\n"
"        [--prefix user-prefix] [--warmup duration]\n"
"\n"
"  -c, --conns N          connections (echo 100, idle 10000); room:\n"
"                         members of the one room (100)\n"
"  -d, --duration DUR     measured time (default 5s)\n"
"  -h, --help             show this help and exit\n"
"  -n, --max-msgs N       stop sending after N messages (default 1e8)\n"
"  -p, --pairs N          chat: user pairs, 2N connections (default 50)\n"
"  -r, --rate N           fixed rate, N msgs/s in total (default 0: closed\n"
"                         loop, the window alone paces)\n"
"  -s, --size N           bytes of each message string (default 64)\n"
"  -u, --url URL          ws://127.0.0.1:PORT[/path]; the path defaults to\n"
"                         /demo/ws/ (chat, idle: user id appended) or\n"
"                         /demo/echo.  Repeat for the nodes of a cluster\n"
"                         (up to 16): chat pairs go to them in turn, both\n"
"                         users of a pair on one node; echo and idle\n"
"                         connections round-robin\n"
"  -w, --window N         messages in flight per sender (default 8); room:\n"
"                         not yet received by every other member\n"
"      --compress         offer permessage-deflate on every connection\n"
"      --conc N           handshakes in flight (default 64)\n"
"      --connect-timeout DUR  for all connections together (default 60s)\n"
"      --cross            chat, two or more -u: the users of pair k on\n"
"                         nodes k and k+1 (mod N), every message crosses\n"
"      --drain DUR        wait for stragglers after sending (default 3s)\n"
"      --hot              chat: -p senders (users 1..p, on the nodes in\n"
"                         turn) to one receiver (user 0, on the first)\n"
"      --full-parse       chat: parse every event with jansson (slower\n"
"                         client; default: only what is not in the exact\n"
"                         shape the server writes)\n"
"      --hold DUR         idle: hold the connections (default 3s)\n"
"      --pid PID[,PID...] sample this server's CPU and RSS from /proc;\n"
"                         several (repeat, or a list, up to 16) are summed\n"
"      --prefix P         user id prefix (default b<pid>-, fresh per run)\n"
"      --senders N        room: the first N members send (default 10);\n"
"                         each message is checked at every other member\n"
"                         and counts as a delivery at each\n"
"      --settle DUR       idle: quiet time before the RSS baseline (1s)\n"
"      --warmup DUR       traffic before measuring (default 1s)\n"
"\n"
"Prints one JSON line.  Only loopback (127.0.0.0/8, ::1) targets.\n"
"Exit 0: all delivered exactly once, in order; 1: not so; 2: usage.\n");
	exit(status);
}

static long long
number(const char *opt, const char *s, long long min, long long max)
{
	long long	v;

	if (util_parse_ll(s, min, max, &v) == -1) {
		warnx("invalid %s '%s': expected %lld to %lld", opt, s, min,
		    max);
		usage(2);
	}
	return v;
}

static long long
duration(const char *opt, const char *s, long long min)
{
	long long	v;

	if (util_parse_duration_ms(s, min, MAX_MS, &v) == -1) {
		warnx("invalid %s '%s': expected a duration up to 1h "
		    "(e.g. 500ms, 5s)", opt, s);
		usage(2);
	}
	return v;
}

/* --pid PID[,PID...]: append to o->pids. */
static void
add_pids(struct bench_opts *o, const char *list)
{
	char		 one[32];
	const char	*p = list;
	size_t		 n;

	for (;;) {
		n = strcspn(p, ",");
		if (n >= sizeof(one)) {
			warnx("invalid --pid '%s'", list);
			usage(2);
		}
		memcpy(one, p, n);
		one[n] = '\0';
		if (o->npids == BENCH_MAX_PIDS) {
			warnx("too many --pid: at most %d", BENCH_MAX_PIDS);
			usage(2);
		}
		o->pids[o->npids++] = (pid_t)number("--pid", one, 1, 1 << 22);
		if (p[n] == '\0')
			break;
		p += n + 1;
	}
}

/* Nonzero if host is a numeric loopback address. */
static int
is_loopback(const char *host)
{
	struct in_addr	a4;
	struct in6_addr	a6;

	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, host, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6);
	return 0;
}

/* Raise the soft file limit to the hard one if conns need more. */
static void
raise_nofile(int conns)
{
	struct rlimit	rl;
	rlim_t		need = (rlim_t)conns + 64;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur >= need)
		return;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
		warn("setrlimit");
	if (rl.rlim_cur < need)
		warnx("file limit %llu is too low for %d connections",
		    (unsigned long long)rl.rlim_cur, conns);
}

static void
json_i64(const char *key, int64_t v, int last)
{
	if (v < 0)
		printf("\"%s\":null%s", key, last ? "" : ",");
	else
		printf("\"%s\":%lld%s", key, (long long)v, last ? "" : ",");
}

static void
json_u64(const char *key, uint64_t v)
{
	printf("\"%s\":%llu,", key, (unsigned long long)v);
}

/* A string that needs no escaping beyond quotes and backslashes. */
static void
json_quote(const char *s)
{
	putchar('"');
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			putchar('\\');
		putchar((unsigned char)*s < 0x20 ? '?' : *s);
	}
	putchar('"');
}

static void
json_str(const char *key, const char *s)
{
	printf("\"%s\":", key);
	json_quote(s);
	putchar(',');
}

static void
report(const struct bench_opts *o, const struct bench_result *r)
{
	uint64_t	lost = r->total_expected > r->total_delivered ?
			    r->total_expected - r->total_delivered : 0;
	int		idle = o->mode == BENCH_IDLE, i;

	printf("{");
	json_str("mode", o->mode_name);
	json_str("url", o->url);
	printf("\"urls\":[");
	for (i = 0; i < o->ntargets; i++) {
		if (i > 0)
			putchar(',');
		json_quote(o->targets[i].url);
	}
	printf("],\"nodes\":%d,\"cross\":%s,\"hot\":%s,\"compress\":%s,",
	    o->ntargets, o->cross ? "true" : "false", o->hot ? "true" : "false",
	    o->compress ? "true" : "false");
	printf("\"conns\":%d,\"pairs\":%d,\"senders\":%d,\"window\":%d,"
	    "\"size\":%d,\"rate_target\":%lld,", o->conns, o->pairs,
	    o->senders, o->window, o->size, o->rate);
	json_u64("conns_ok", r->conns_ok);
	json_u64("conns_failed", r->conns_failed);
	json_u64("conns_dropped", r->conns_dropped);
	printf("\"connect_s\":%.3f,", r->connect_s);
	json_i64("connect_cpu_us", r->connect_cpu_us, 0);
	if (r->connect_cpu_us >= 0 && r->conns_ok > 0)
		printf("\"connect_cpu_us_per_conn\":%.1f,",
		    (double)r->connect_cpu_us / (double)r->conns_ok);
	else
		printf("\"connect_cpu_us_per_conn\":null,");
	if (!idle) {
		printf("\"measured_s\":%.3f,", r->measured_s);
		json_u64("sent", r->sent);
		json_u64("delivered", r->delivered);
		printf("\"msgs_per_s\":%.0f,", r->measured_s > 0 ?
		    (double)r->delivered / r->measured_s : 0.0);
		printf("\"sends_per_s\":%.0f,", r->measured_s > 0 ?
		    (double)r->sent / r->measured_s : 0.0);
		json_u64("lat_p50_us", r->lat_p50_us);
		json_u64("lat_p99_us", r->lat_p99_us);
		json_u64("lat_max_us", r->lat_max_us);
		json_u64("total_sent", r->total_sent);
		json_u64("total_delivered", r->total_delivered);
		json_u64("lost", lost);
		json_u64("dup", r->dup);
		json_u64("misrouted", r->misrouted);
		json_u64("out_of_order", r->out_of_order);
		json_u64("malformed", r->malformed);
		json_u64("server_errors", r->server_errors);
		json_i64("server_cpu_us", r->server_cpu_us, 0);
		printf("\"server_cpu_us_by_pid\":[");
		for (i = 0; i < o->npids; i++) {
			if (r->server_cpu_us_by_pid[i] < 0)
				printf("%snull", i > 0 ? "," : "");
			else
				printf("%s%lld", i > 0 ? "," : "",
				    (long long)r->server_cpu_us_by_pid[i]);
		}
		printf("],");
		if (r->server_cpu_us >= 0 && r->measured_s > 0)
			printf("\"server_cpu_util\":%.3f,",
			    (double)r->server_cpu_us / 1e6 / r->measured_s);
		else
			printf("\"server_cpu_util\":null,");
		if (r->server_cpu_us >= 0 && r->delivered > 0)
			printf("\"server_cpu_us_per_msg\":%.2f,",
			    (double)r->server_cpu_us / (double)r->delivered);
		else
			printf("\"server_cpu_us_per_msg\":null,");
		printf("\"client_cpu_util\":%.3f,", r->measured_s > 0 ?
		    r->client_cpu_s / r->measured_s : 0.0);
	}
	printf("\"server_pid\":%ld,\"server_pids\":[",
	    (long)(o->npids > 0 ? o->pids[0] : 0));
	for (i = 0; i < o->npids; i++)
		printf("%s%ld", i > 0 ? "," : "", (long)o->pids[i]);
	printf("],");
	json_i64("server_rss_before_kb", r->rss_before_kb, 0);
	json_i64("server_rss_after_kb", r->rss_after_kb, 0);
	if (idle && r->rss_before_kb >= 0 && r->rss_after_kb >= 0 &&
	    r->conns_ok > 0)
		printf("\"rss_per_conn_bytes\":%.0f",
		    (double)(r->rss_after_kb - r->rss_before_kb) * 1024.0 /
		    (double)r->conns_ok);
	else
		printf("\"rss_per_conn_bytes\":null");
	printf("}\n");
	fflush(stdout);
}

int
main(int argc, char **argv)
{
	enum {
		OPT_COMPRESS = 256, OPT_CONC, OPT_CROSS, OPT_CTIMEOUT, OPT_DRAIN, OPT_FULL, OPT_HOT,
		OPT_HOLD, OPT_PID,
		OPT_PREFIX, OPT_SENDERS, OPT_SETTLE, OPT_WARMUP
	};
	static const struct option longopts[] = {
		{ "compress",		no_argument,	   NULL, OPT_COMPRESS },
		{ "conc",		required_argument, NULL, OPT_CONC },
		{ "conns",		required_argument, NULL, 'c' },
		{ "connect-timeout",	required_argument, NULL, OPT_CTIMEOUT },
		{ "cross",		no_argument,	   NULL, OPT_CROSS },
		{ "drain",		required_argument, NULL, OPT_DRAIN },
		{ "duration",		required_argument, NULL, 'd' },
		{ "full-parse",		no_argument,	   NULL, OPT_FULL },
		{ "help",		no_argument,	   NULL, 'h' },
		{ "hold",		required_argument, NULL, OPT_HOLD },
		{ "hot",		no_argument,	   NULL, OPT_HOT },
		{ "max-msgs",		required_argument, NULL, 'n' },
		{ "pairs",		required_argument, NULL, 'p' },
		{ "pid",		required_argument, NULL, OPT_PID },
		{ "prefix",		required_argument, NULL, OPT_PREFIX },
		{ "rate",		required_argument, NULL, 'r' },
		{ "senders",		required_argument, NULL, OPT_SENDERS },
		{ "settle",		required_argument, NULL, OPT_SETTLE },
		{ "size",		required_argument, NULL, 's' },
		{ "url",		required_argument, NULL, 'u' },
		{ "warmup",		required_argument, NULL, OPT_WARMUP },
		{ "window",		required_argument, NULL, 'w' },
		{ NULL,			0,		   NULL, 0 }
	};
	struct bench_opts	 o;
	struct bench_result	 r;
	struct bench_target	*t;
	char			 why[DIAL_ERRLEN], id[CODEC_MAX_USER + 16];
	const char		*prefix = NULL;
	int			 ch, conns = -1, i;

	if (argc >= 2 && (strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "--help") == 0))
		usage(0);
	if (argc < 2)
		usage(2);
	memset(&o, 0, sizeof(o));
	o.mode_name = argv[1];
	if (strcmp(argv[1], "chat") == 0)
		o.mode = BENCH_CHAT;
	else if (strcmp(argv[1], "echo") == 0)
		o.mode = BENCH_ECHO;
	else if (strcmp(argv[1], "idle") == 0)
		o.mode = BENCH_IDLE;
	else if (strcmp(argv[1], "room") == 0)
		o.mode = BENCH_ROOM;
	else {
		warnx("unknown mode '%s': expected chat, echo, idle or room",
		    argv[1]);
		usage(2);
	}
	o.pairs = 50;
	o.senders = 10;
	o.window = 8;
	o.size = 64;
	o.max_msgs = 100000000;
	o.conc = 64;
	o.duration_ms = 5000;
	o.warmup_ms = 1000;
	o.drain_ms = 3000;
	o.hold_ms = 3000;
	o.settle_ms = 1000;
	o.connect_timeout_ms = 60000;

	optind = 2;
	while ((ch = getopt_long(argc, argv, "c:d:hn:p:r:s:u:w:", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'c':
			conns = (int)number("--conns", optarg, 1, MAX_CONNS);
			break;
		case 'd':
			o.duration_ms = duration("--duration", optarg, 1);
			break;
		case 'h':
			usage(0);
		case 'n':
			o.max_msgs = (uint64_t)number("--max-msgs", optarg, 1,
			    1000000000000LL);
			break;
		case 'p':
			o.pairs = (int)number("--pairs", optarg, 1,
			    MAX_CONNS / 2);
			break;
		case 'r':
			o.rate = number("--rate", optarg, 0, 10000000);
			break;
		case 's':
			o.size = (int)number("--size", optarg, 1, 60000);
			break;
		case 'u':
			if (o.ntargets == BENCH_MAX_URLS) {
				warnx("too many -u: at most %d",
				    BENCH_MAX_URLS);
				usage(2);
			}
			o.targets[o.ntargets++].url = optarg;
			break;
		case 'w':
			o.window = (int)number("--window", optarg, 1, 100000);
			break;
		case OPT_CONC:
			o.conc = (int)number("--conc", optarg, 1, 10000);
			break;
		case OPT_COMPRESS:
			o.compress = 1;
			break;
		case OPT_CROSS:
			o.cross = 1;
			break;
		case OPT_CTIMEOUT:
			o.connect_timeout_ms = duration("--connect-timeout",
			    optarg, 1);
			break;
		case OPT_DRAIN:
			o.drain_ms = duration("--drain", optarg, 0);
			break;
		case OPT_FULL:
			o.full_parse = 1;
			break;
		case OPT_HOLD:
			o.hold_ms = duration("--hold", optarg, 0);
			break;
		case OPT_HOT:
			o.hot = 1;
			break;
		case OPT_PID:
			add_pids(&o, optarg);
			break;
		case OPT_PREFIX:
			prefix = optarg;
			break;
		case OPT_SENDERS:
			o.senders = (int)number("--senders", optarg, 1,
			    MAX_CONNS);
			break;
		case OPT_SETTLE:
			o.settle_ms = duration("--settle", optarg, 0);
			break;
		case OPT_WARMUP:
			o.warmup_ms = duration("--warmup", optarg, 0);
			break;
		default:
			usage(2);
		}
	}
	if (optind != argc) {
		warnx("unexpected argument '%s'", argv[optind]);
		usage(2);
	}
	if (o.ntargets == 0) {
		warnx("-u URL is required");
		usage(2);
	}
	o.url = o.targets[0].url;
	for (i = 0; i < o.ntargets; i++) {
		t = &o.targets[i];
		if (dial_parse_url(t->url, &t->u, why) == -1) {
			warnx("invalid URL '%s': %s", t->url, why);
			usage(2);
		}
		if (t->u.tls) {
			warnx("invalid URL '%s': wss:// is not supported",
			    t->url);
			usage(2);
		}
		if (!is_loopback(t->u.host)) {
			warnx("refusing '%s': only 127.0.0.0/8 and ::1 "
			    "targets are allowed", t->url);
			usage(2);
		}
		if (t->u.path[0] != '\0' && strcmp(t->u.path, "/") != 0)
			snprintf(t->base, sizeof(t->base), "%s", t->u.path);
		else
			snprintf(t->base, sizeof(t->base), "%s",
			    o.mode == BENCH_ECHO ? "/demo/echo" : "/demo/ws/");
	}
	if (o.cross && (o.mode != BENCH_CHAT || o.ntargets < 2)) {
		warnx("--cross needs chat and two or more -u");
		usage(2);
	}
	if (o.hot && (o.mode != BENCH_CHAT || o.cross)) {
		warnx("--hot needs chat, without --cross");
		usage(2);
	}

	switch (o.mode) {
	case BENCH_CHAT:
		if (conns != -1) {
			warnx("chat takes -p pairs, not -c");
			usage(2);
		}
		o.conns = o.hot ? o.pairs + 1 : 2 * o.pairs;
		break;
	case BENCH_ECHO:
		o.conns = conns == -1 ? 100 : conns;
		o.pairs = 0;
		break;
	case BENCH_IDLE:
		o.conns = conns == -1 ? 10000 : conns;
		o.pairs = 0;
		o.window = 0;
		break;
	case BENCH_ROOM:
		o.conns = conns == -1 ? 100 : conns;
		o.pairs = 0;
		if (o.conns < 2 || o.senders > o.conns) {
			warnx("room needs two members or more, and --senders "
			    "at most -c");
			usage(2);
		}
		break;
	}
	if (o.mode != BENCH_ROOM)
		o.senders = 0;
	if (prefix != NULL && strlen(prefix) >= sizeof(o.prefix)) {
		warnx("invalid --prefix '%s': longer than %zu bytes", prefix,
		    sizeof(o.prefix) - 1);
		usage(2);
	}
	if (prefix != NULL)
		snprintf(o.prefix, sizeof(o.prefix), "%s", prefix);
	else
		/* Fresh per run: a server may still hold the last run's ids. */
		snprintf(o.prefix, sizeof(o.prefix), "b%ld-", (long)getpid());
	snprintf(id, sizeof(id), "%s%d", o.prefix, o.conns);
	if (!codec_valid_user(id, strlen(id))) {
		warnx("invalid --prefix '%s': user ids are 1-64 of "
		    "A-Z a-z 0-9 . _ -", o.prefix);
		usage(2);
	}

	raise_nofile(o.conns);
	memset(&r, 0, sizeof(r));
	if (bench_run(&o, &r) == -1)
		return 1;
	report(&o, &r);
	if (r.first_error[0] != '\0')
		warnx("cannot connect to '%s': %s (%llu of %d connections "
		    "failed)", o.targets[r.first_error_target].url,
		    r.first_error,
		    (unsigned long long)r.conns_failed, o.conns);
	if (r.conns_failed > 0 || r.conns_dropped > 0 ||
	    r.total_expected != r.total_delivered || r.dup > 0 ||
	    r.misrouted > 0 || r.out_of_order > 0 || r.malformed > 0)
		return 1;
	return 0;
}
