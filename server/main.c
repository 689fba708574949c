/*
 * Copyright (c) 2026 The chat authors.
 *
 * chat-server: options, signals, the listening socket and the poll()
 * loop.  Each pass: run timers, flush every client with pending output
 * once, reap the dead, rebuild the pollfd array from what each client
 * wants, poll, then dispatch.  Nothing here knows a frame or a user.
 */
#define _GNU_SOURCE	/* accept4 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include "codec.h"
#include "handshake.h"
#include "jwt.h"
#include "cluster.h"
#include "nats-link.h"
#include "log.h"
#include "server.h"
#include "users.h"
#include "transport.h"
#include "util.h"

#define SWEEP_MS		200	/* timer granularity */
#define SHUTDOWN_MS		3000	/* bound on a graceful exit */
#define ACCEPT_PAUSE_MS		1000	/* after EMFILE/ENFILE */
#define ACCEPTS_PER_PASS	256

static volatile sig_atomic_t	quit_signal, reload_signal;

static void
on_signal(int sig)
{
	if (sig == SIGHUP)
		reload_signal = 1;
	else
		quit_signal = sig;
}

static void __attribute__((noreturn))
usage(int status)
{
	FILE	*fp = status == 0 ? stdout : stderr;

	fprintf(fp,
"usage: chat-server [-hqVv] [-C cert] [-c max-clients] [-I idle-timeout]\n"
"                   [-i ping-interval] [-K key] [-l address]\n"
"                   [-m max-message] [-o max-output] [-p port]\n"
"                   [-Q queue-limit] [-t handshake-timeout]\n"
"                   [-u max-per-user] [--poller epoll | poll]\n"
"                   [--history-bytes size] [--history-days days]\n"
"                   [--history-limit n] [--sender-bytes size]\n"
"                   [--sender-limit n] [--store file]\n"
"                   [--store-sync normal | full] [--target-bytes size]\n"
"                   [--tls-port port]\n"
"                   [--cluster nats://host:port[,...]]\n"
"                   [--allow-origin origin] [--burst n]\n"
"                   [--jwt-secret-file file] [--max-per-ip n]\n"
"                   [--rate msgs-per-s] [--stats-token token]\n"
"       chat-server token --jwt-secret-file file -u user [-t ttl]\n");
	if (status == 0)
		fprintf(fp,
"\n"
"  -C, --cert FILE             TLS certificate chain (PEM): serve wss://\n"
"  -c, --max-clients N         connections at once (default 10000)\n"
"      --cluster URLS          join the nodes on these NATS servers\n"
"                              (nats://host:port, comma-separated)\n"
"  -h, --help                  show this help and exit\n"
"  -I, --idle-timeout DUR      close clients silent this long (default 75s)\n"
"  -i, --ping-interval DUR     ping clients silent this long (default 30s)\n"
"  -K, --key FILE              private key for --cert (PEM)\n"
"  -l, --listen ADDR           address to bind (default 127.0.0.1)\n"
"  -m, --max-message SIZE      largest message accepted (default 64k)\n"
"  -o, --max-output SIZE       bytes buffered per client (default 1m)\n"
"  -p, --port N                port, 0 for any free one (default 8000)\n"
"      --poller epoll|poll     how to wait for sockets (default epoll)\n"
"  -Q, --queue-limit N         undelivered messages per user (default 1000)\n"
"      --history-bytes SIZE    bytes kept, all users (default 64m, 1g with\n"
"                              --store; --queue-bytes is the old name)\n"
"      --history-days DAYS     keep delivered messages DAYS (default 30)\n"
"      --history-limit N       messages kept per user (default 1000)\n"
"      --sender-bytes SIZE     undelivered bytes per sender (default an\n"
"                              eighth of --history-bytes)\n"
"      --sender-limit N        undelivered messages per sender (default\n"
"                              10000)\n"
"      --store FILE            keep inboxes in SQLite FILE (default memory)\n"
"      --store-sync MODE       normal: survive a crash; full: also power\n"
"                              loss (default normal)\n"
"      --target-bytes SIZE     undelivered bytes per user (default an\n"
"                              eighth of --history-bytes)\n"
"  -q, --quiet                 log warnings and errors only\n"
"  -t, --handshake-timeout DUR time for TLS and the upgrade (default 10s)\n"
"      --tls-port N            serve wss:// here, ws:// on --port\n"
"  -u, --max-per-user N        connections per user id (default 8)\n"
"  -V, --version               print the version and exit\n"
"  -v, --verbose               log more (repeat for debug)\n"
"      --allow-origin ORIGIN   refuse browsers from other origins (repeat)\n"
"      --burst N               messages at once under --rate (default 20)\n"
"      --jwt-secret-file FILE  require HS256 tokens signed with FILE\n"
"      --max-per-ip N          connections per address (default no limit)\n"
"      --rate N                messages/s per connection (default no limit)\n"
"      --stats-token TOKEN     require it for /stats\n"
"\nDUR: N[ms|s|m|h]; SIZE: N[k|m].  See chat-server(1).\n");
	exit(status);
}

static void __attribute__((noreturn))
bad_value(const char *opt, const char *val, const char *range)
{
	fprintf(stderr, "chat-server: invalid value '%s' for %s: %s\n", val,
	    opt, range);
	exit(2);
}

/*
 * The HS256 secret: the file's bytes, without a final newline.  At least
 * 16 bytes (RFC 7518 3.2 asks for 32: shorter is refused outright below
 * 16 and only works otherwise).
 */
static void
read_secret(const char *path, uint8_t **keyp, size_t *lenp)
{
	FILE	*fp;
	uint8_t	*key;
	size_t	 n;

	if ((key = malloc(4096)) == NULL) {
		fprintf(stderr, "chat-server: out of memory\n");
		exit(1);
	}
	if ((fp = fopen(path, "r")) == NULL) {
		fprintf(stderr, "chat-server: cannot read secret file '%s': "
		    "%s\n", path, strerror(errno));
		exit(2);
	}
	n = fread(key, 1, 4096, fp);
	if (ferror(fp) || !feof(fp)) {
		fprintf(stderr, "chat-server: cannot read secret file '%s': "
		    "%s\n", path, ferror(fp) ? strerror(errno) :
		    "larger than 4096 bytes");
		exit(2);
	}
	fclose(fp);
	while (n > 0 && (key[n - 1] == '\n' || key[n - 1] == '\r'))
		n--;
	if (n < 16) {
		fprintf(stderr, "chat-server: secret in '%s' is too short: "
		    "%zu bytes, at least 16 (32 recommended)\n", path, n);
		exit(2);
	}
	free(*keyp);
	*keyp = key;
	*lenp = n;
}

/* chat-server token: mint a token for operators and tests. */
static int
token_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "jwt-secret-file", required_argument, NULL, 's' },
		{ "ttl", required_argument, NULL, 't' },
		{ "user", required_argument, NULL, 'u' },
		{ NULL, 0, NULL, 0 }
	};
	const char	*user = NULL;
	uint8_t		*key = NULL;
	size_t		 keylen = 0;
	long long	 ttl = 86400000;
	int64_t		 now;
	char		*tok;
	int		 ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "hs:t:u:", longopts, NULL)) !=
	    -1) {
		switch (ch) {
		case 's':
			read_secret(optarg, &key, &keylen);
			break;
		case 't':
			if (util_parse_duration_ms(optarg, 1000,
			    3650LL * 86400000, &ttl) != 0)
				bad_value("--ttl", optarg,
				    "expected 1s to 3650 days, e.g. 24h");
			break;
		case 'u':
			if (!codec_valid_user(optarg, strlen(optarg)))
				bad_value("--user", optarg, "expected 1-64 "
				    "characters from A-Z a-z 0-9 . _ -");
			user = optarg;
			break;
		case 'h':
			printf("usage: chat-server token --jwt-secret-file "
			    "file -u user [-t ttl]\n");
			return 0;
		default:
			goto usage;
		}
	}
	if (user == NULL || key == NULL || optind != argc)
		goto usage;
	now = (int64_t)(util_wall_ms() / 1000);
	if ((tok = jwt_mint(user, now, now + ttl / 1000, key, keylen)) ==
	    NULL) {
		fprintf(stderr, "chat-server: cannot mint a token\n");
		return 1;
	}
	printf("%s\n", tok);
	free(tok);
	free(key);
	return 0;
usage:
	fprintf(stderr, "usage: chat-server token --jwt-secret-file file "
	    "-u user [-t ttl]\n");
	return 2;
}

/* --cluster: 1 to 16 comma-separated nats://HOST[:PORT] URLs. */
static int
cluster_urls_ok(const char *v)
{
	const char	*p = v, *end;
	size_t		 n = 0;

	for (;;) {
		end = strchr(p, ',');
		if (end == NULL)
			end = p + strlen(p);
		if ((size_t)(end - p) <= 7 || strncmp(p, "nats://", 7) != 0 ||
		    ++n > 16)
			return 0;
		if (*end == '\0')
			return strlen(v) < 512;
		p = end + 1;
	}
}

static void
parse_options(int argc, char **argv, struct server_config *cfg, int *level,
    int *use_poll)
{
	enum { OPT_QUEUE_BYTES = 256, OPT_POLLER, OPT_TLS_PORT,
		OPT_ALLOW_ORIGIN, OPT_BURST, OPT_JWT_SECRET, OPT_MAX_PER_IP,
		OPT_RATE, OPT_STATS_TOKEN, OPT_HISTORY_DAYS, OPT_HISTORY_LIMIT,
		OPT_STORE, OPT_STORE_SYNC, OPT_CLUSTER, OPT_SENDER_BYTES,
		OPT_SENDER_LIMIT, OPT_TARGET_BYTES };
	static const struct option longopts[] = {
		{ "cert", required_argument, NULL, 'C' },
		{ "max-clients", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ "idle-timeout", required_argument, NULL, 'I' },
		{ "ping-interval", required_argument, NULL, 'i' },
		{ "key", required_argument, NULL, 'K' },
		{ "listen", required_argument, NULL, 'l' },
		{ "max-message", required_argument, NULL, 'm' },
		{ "max-output", required_argument, NULL, 'o' },
		{ "port", required_argument, NULL, 'p' },
		{ "queue-limit", required_argument, NULL, 'Q' },
		{ "queue-bytes", required_argument, NULL, OPT_QUEUE_BYTES },
		{ "history-bytes", required_argument, NULL, OPT_QUEUE_BYTES },
		{ "history-days", required_argument, NULL, OPT_HISTORY_DAYS },
		{ "history-limit", required_argument, NULL, OPT_HISTORY_LIMIT },
		{ "sender-bytes", required_argument, NULL, OPT_SENDER_BYTES },
		{ "sender-limit", required_argument, NULL, OPT_SENDER_LIMIT },
		{ "target-bytes", required_argument, NULL, OPT_TARGET_BYTES },
		{ "store", required_argument, NULL, OPT_STORE },
		{ "store-sync", required_argument, NULL, OPT_STORE_SYNC },
		{ "cluster", required_argument, NULL, OPT_CLUSTER },
		{ "poller", required_argument, NULL, OPT_POLLER },
		{ "tls-port", required_argument, NULL, OPT_TLS_PORT },
		{ "allow-origin", required_argument, NULL, OPT_ALLOW_ORIGIN },
		{ "burst", required_argument, NULL, OPT_BURST },
		{ "jwt-secret-file", required_argument, NULL, OPT_JWT_SECRET },
		{ "max-per-ip", required_argument, NULL, OPT_MAX_PER_IP },
		{ "rate", required_argument, NULL, OPT_RATE },
		{ "stats-token", required_argument, NULL, OPT_STATS_TOKEN },
		{ "quiet", no_argument, NULL, 'q' },
		{ "handshake-timeout", required_argument, NULL, 't' },
		{ "max-per-user", required_argument, NULL, 'u' },
		{ "version", no_argument, NULL, 'V' },
		{ "verbose", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 }
	};
	long long	v;
	int		ch;

	while ((ch = getopt_long(argc, argv, "C:c:hI:i:K:l:m:o:p:Q:qt:u:Vv",
	    longopts, NULL)) != -1) {
		switch (ch) {
		case 'C':
			cfg->cert = optarg;
			break;
		case 'K':
			cfg->key = optarg;
			break;
		case OPT_ALLOW_ORIGIN: {
			const char	**o;

			o = realloc(cfg->origins, (cfg->norigins + 1) *
			    sizeof(*o));
			if (o == NULL) {
				fprintf(stderr, "chat-server: out of memory\n");
				exit(1);
			}
			o[cfg->norigins++] = optarg;
			cfg->origins = o;
			break;
		}
		case OPT_BURST:
			if (util_parse_ll(optarg, 1, 1000000, &v) != 0)
				bad_value("--burst", optarg,
				    "expected 1 to 1000000");
			cfg->burst = (uint32_t)v;
			break;
		case OPT_JWT_SECRET:
			read_secret(optarg, &cfg->jwt_key, &cfg->jwt_keylen);
			break;
		case OPT_MAX_PER_IP:
			if (util_parse_ll(optarg, 1, 1000000, &v) != 0)
				bad_value("--max-per-ip", optarg,
				    "expected 1 to 1000000");
			cfg->max_per_ip = (size_t)v;
			break;
		case OPT_RATE: {
			char	*end;
			double	 d;

			errno = 0;
			d = strtod(optarg, &end);
			if (errno != 0 || end == optarg || *end != '\0' ||
			    !(d >= 0.01 && d <= 1e6))
				bad_value("--rate", optarg,
				    "expected 0.01 to 1000000 messages a second");
			cfg->rate = d;
			break;
		}
		case OPT_STATS_TOKEN:
			if (*optarg == '\0')
				bad_value("--stats-token", optarg,
				    "expected a non-empty token");
			cfg->stats_token = optarg;
			break;
		case OPT_TLS_PORT:
			if (util_parse_ll(optarg, 0, 65535, &v) != 0)
				bad_value("--tls-port", optarg,
				    "expected 0 to 65535");
			cfg->tls_port = (int)v;
			break;
		case 'c':
			if (util_parse_ll(optarg, 1, 1000000, &v) != 0)
				bad_value("--max-clients", optarg,
				    "expected 1 to 1000000");
			cfg->max_clients = (size_t)v;
			break;
		case 'h':
			usage(0);
		case 'I':
			if (util_parse_duration_ms(optarg, 0, 86400000LL,
			    &v) != 0)
				bad_value("--idle-timeout", optarg,
				    "expected 0 (off) to 24h, e.g. 75s");
			cfg->idle_timeout = (uint64_t)v;
			break;
		case 'i':
			if (util_parse_duration_ms(optarg, 0, 86400000LL,
			    &v) != 0)
				bad_value("--ping-interval", optarg,
				    "expected 0 (off) to 24h, e.g. 30s");
			cfg->ping_interval = (uint64_t)v;
			break;
		case 'l':
			cfg->listen = optarg;
			break;
		case 'm':
			if (util_parse_size(optarg, 16, 16 << 20, &v) != 0)
				bad_value("--max-message", optarg,
				    "expected 16 to 16m bytes");
			cfg->max_message = (size_t)v;
			break;
		case 'o':
			if (util_parse_size(optarg, 4096, 1LL << 30, &v) != 0)
				bad_value("--max-output", optarg,
				    "expected 4k to 1024m bytes");
			cfg->max_output = (size_t)v;
			break;
		case 'p':
			if (util_parse_ll(optarg, 0, 65535, &v) != 0)
				bad_value("--port", optarg,
				    "expected 0 to 65535");
			cfg->port = (int)v;
			break;
		case 'Q':
			if (util_parse_ll(optarg, 0, 10000000, &v) != 0)
				bad_value("--queue-limit", optarg,
				    "expected 0 to 10000000 messages");
			cfg->store.queue_limit = (size_t)v;
			break;
		case OPT_QUEUE_BYTES:
			if (util_parse_size(optarg, 1024, 1LL << 40, &v) != 0)
				bad_value("--history-bytes", optarg,
				    "expected 1k to 1048576m bytes");
			cfg->store.history_bytes = (size_t)v;
			break;
		case OPT_HISTORY_DAYS: {
			char	*end;
			double	 d;

			errno = 0;
			d = strtod(optarg, &end);
			if (errno != 0 || end == optarg || *end != '\0' ||
			    !(d >= 0 && d <= 36500))
				bad_value("--history-days", optarg,
				    "expected 0 (no limit) to 36500 days");
			cfg->store.history_days = d;
			break;
		}
		case OPT_HISTORY_LIMIT:
			if (util_parse_ll(optarg, 1, 10000000, &v) != 0)
				bad_value("--history-limit", optarg,
				    "expected 1 to 10000000 messages");
			cfg->store.history_limit = (size_t)v;
			break;
		case OPT_SENDER_BYTES:
			if (util_parse_size(optarg, 1024, 1LL << 40, &v) != 0)
				bad_value("--sender-bytes", optarg,
				    "expected 1k to 1048576m bytes");
			cfg->store.sender_bytes = (size_t)v;
			break;
		case OPT_SENDER_LIMIT:
			if (util_parse_ll(optarg, 1, 100000000, &v) != 0)
				bad_value("--sender-limit", optarg,
				    "expected 1 to 100000000 messages");
			cfg->store.sender_limit = (size_t)v;
			break;
		case OPT_TARGET_BYTES:
			if (util_parse_size(optarg, 1024, 1LL << 40, &v) != 0)
				bad_value("--target-bytes", optarg,
				    "expected 1k to 1048576m bytes");
			cfg->store.target_bytes = (size_t)v;
			break;
		case OPT_STORE:
			if (optarg[0] == '\0')
				bad_value("--store", optarg, "expected a file");
			cfg->store.path = optarg;
			break;
		case OPT_CLUSTER:
			if (!cluster_urls_ok(optarg))
				bad_value("--cluster", optarg, "expected "
				    "nats://HOST:PORT[,nats://HOST:PORT...] (at "
				    "most 16)");
			cfg->cluster = optarg;
			break;
		case OPT_STORE_SYNC:
			if (strcmp(optarg, "full") == 0)
				cfg->store.sync_full = 1;
			else if (strcmp(optarg, "normal") == 0)
				cfg->store.sync_full = 0;
			else
				bad_value("--store-sync", optarg,
				    "expected normal or full");
			break;
		case OPT_POLLER:
			if (strcmp(optarg, "poll") == 0)
				*use_poll = 1;
			else if (strcmp(optarg, "epoll") == 0)
				*use_poll = 0;
			else
				bad_value("--poller", optarg,
				    "expected epoll or poll");
			break;
		case 'q':
			*level = LOG_WARN;
			break;
		case 't':
			if (util_parse_duration_ms(optarg, 100, 3600000LL,
			    &v) != 0)
				bad_value("--handshake-timeout", optarg,
				    "expected 100ms to 1h");
			cfg->handshake_timeout = (uint64_t)v;
			break;
		case 'u':
			if (util_parse_ll(optarg, 1, 100000, &v) != 0)
				bad_value("--max-per-user", optarg,
				    "expected 1 to 100000");
			cfg->max_per_user = (size_t)v;
			break;
		case 'V':
			printf("chat-server %s\n", CHAT_VERSION);
			exit(0);
		case 'v':
			if (*level < LOG_DEBUG2)
				(*level)++;
			break;
		default:
			usage(2);
		}
	}
	if (optind != argc) {
		fprintf(stderr, "chat-server: unexpected argument '%s'\n",
		    argv[optind]);
		usage(2);
	}
	/*
	 * A chat event escapes each byte into at most 6 (\u0000), and a
	 * watch of 256 users answers with up to 32k of presence events:
	 * one legal request must never get its reader cut off.
	 */
	if (cfg->max_output < cfg->max_message * 7 + 32768) {
		fprintf(stderr, "chat-server: --max-output (%zu) must be at "
		    "least 7 times --max-message (%zu) plus 32k\n",
		    cfg->max_output, cfg->max_message);
		exit(2);
	}
	if (cfg->cluster != NULL && cfg->store.path != NULL) {
		fprintf(stderr, "chat-server: --cluster and --store exclude "
		    "each other: a cluster keeps history in JetStream\n");
		exit(2);
	}
	if ((cfg->cert == NULL) != (cfg->key == NULL)) {
		fprintf(stderr, "chat-server: --cert and --key go together\n");
		exit(2);
	}
	if (cfg->tls_port != -1 && cfg->cert == NULL) {
		fprintf(stderr, "chat-server: --tls-port needs --cert and "
		    "--key\n");
		exit(2);
	}
	if (cfg->ping_interval > 0 && cfg->idle_timeout > 0 &&
	    cfg->idle_timeout <= cfg->ping_interval) {
		fprintf(stderr, "chat-server: --idle-timeout must be longer "
		    "than --ping-interval\n");
		exit(2);
	}
}

/* Raise the descriptor limit and keep max_clients within it. */
static void
adjust_fd_limit(struct server_config *cfg)
{
	struct rlimit	rl;
	size_t		avail;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	avail = rl.rlim_cur > 64 ? (size_t)rl.rlim_cur - 32 : 32;
	if (cfg->max_clients > avail) {
		log_warn("descriptor limit %llu: max clients lowered from %zu "
		    "to %zu", (unsigned long long)rl.rlim_cur,
		    cfg->max_clients, avail);
		cfg->max_clients = avail;
	}
}

static int
listen_on(const struct server_config *cfg, int portnum, char *shown,
    size_t shownlen)
{
	struct addrinfo		 hints, *res, *ai;
	struct sockaddr_storage	 ss;
	socklen_t		 sl = sizeof(ss);
	char			 port[16], host[INET6_ADDRSTRLEN], serv[8];
	int			 fd = -1, on = 1, r, saved = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(port, sizeof(port), "%d", portnum);
	if ((r = getaddrinfo(cfg->listen, port, &hints, &res)) != 0) {
		fprintf(stderr, "chat-server: cannot resolve '%s': %s\n",
		    cfg->listen, gai_strerror(r));
		exit(2);
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, ai->ai_protocol);
		if (fd == -1) {
			saved = errno;
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
		    listen(fd, SOMAXCONN) == 0)
			break;
		saved = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd == -1) {
		fprintf(stderr, "chat-server: cannot listen on '%s' port %d: "
		    "%s\n", cfg->listen, portnum, strerror(saved));
		exit(1);
	}
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0 ||
	    getnameinfo((struct sockaddr *)&ss, sl, host, sizeof(host), serv,
	    sizeof(serv), NI_NUMERICHOST | NI_NUMERICSERV) != 0)
		snprintf(shown, shownlen, "%s:%d", cfg->listen, portnum);
	else if (ss.ss_family == AF_INET6)
		snprintf(shown, shownlen, "[%s]:%s", host, serv);
	else
		snprintf(shown, shownlen, "%s:%s", host, serv);
	return fd;
}

static void
format_addr(const struct sockaddr_storage *ss, socklen_t sl, char *out,
    size_t len)
{
	char	host[INET6_ADDRSTRLEN], serv[8];

	if (getnameinfo((const struct sockaddr *)ss, sl, host, sizeof(host),
	    serv, sizeof(serv), NI_NUMERICHOST | NI_NUMERICSERV) != 0)
		snprintf(out, len, "?");
	else if (ss->ss_family == AF_INET6)
		snprintf(out, len, "[%s]:%s", host, serv);
	else
		snprintf(out, len, "%s:%s", host, serv);
}

/*
 * Accept what is waiting.  Returns nonzero if the listener should
 * pause: out of descriptors (EMFILE/ENFILE), where retrying at once
 * would spin, as tmux's server_accept notes.
 */
static int
accept_clients(struct server *s, int lidx)
{
	int			 lfd = s->lst[lidx].fd, tls = s->lst[lidx].tls;
	static const char	 busy[] = "HTTP/1.1 503 Service Unavailable\r\n"
	    "Content-Type: text/plain\r\nContent-Length: 22\r\n"
	    "Connection: close\r\n\r\ntoo many connections\r\n";
	struct sockaddr_storage	 ss;
	struct client		*c;
	socklen_t		 sl;
	char			 addr[64];
	int			 fd, i, on = 1;

	for (i = 0; i < ACCEPTS_PER_PASS; i++) {
		sl = sizeof(ss);
		fd = accept4(lfd, (struct sockaddr *)&ss, &sl,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM) {
				log_warn("accept: %s; pausing for %d ms",
				    strerror(errno), ACCEPT_PAUSE_MS);
				return 1;
			}
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				log_warn("accept: %s", strerror(errno));
			return 0;
		}
		/*
		 * Chat frames are small and latency matters: without this,
		 * Nagle's algorithm holds a frame until the previous one is
		 * acknowledged (up to the 40 ms delayed ACK).
		 */
		if (ss.ss_family == AF_INET || ss.ss_family == AF_INET6)
			(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on,
			    sizeof(on));
		if (s->nclients >= s->cfg.max_clients) {
			format_addr(&ss, sl, addr, sizeof(addr));
			log_warn("%s refused: %zu connections (--max-clients)",
			    addr, s->nclients);
			/* Plain text means nothing inside TLS: just close. */
			if (!tls)
				(void)send(fd, busy, sizeof(busy) - 1,
				    MSG_NOSIGNAL);
			close(fd);
			continue;
		}
		if ((c = client_new(s, fd, (struct sockaddr *)&ss, tls)) ==
		    NULL) {
			format_addr(&ss, sl, addr, sizeof(addr));
			log_warn("%s refused: out of memory", addr);
			continue;
		}
		if (client_link(s, c) == -1) {
			log_warn("%s refused: out of memory", client_addr(c));
			client_free(c);
			continue;
		}
		log_debug("%s #%llu accepted", client_addr(c),
		    (unsigned long long)c->id);
		/* Most clients send the request with the connect. */
		client_on_readable(c);
		client_touch(s, c);
	}
	return 0;
}

/*
 * SIGHUP: load the certificate and key again for new connections;
 * established ones keep the context they started with.
 */
static void
reload_tls(struct server *s)
{
	struct tp_tls	*t;
	char		 err[TP_ERRLEN];

	if (s->tls == NULL) {
		log_info("SIGHUP: no certificate to reload");
		return;
	}
	if ((t = tp_tls_server(s->cfg.cert, s->cfg.key, err)) == NULL) {
		log_warn("certificate reload failed, keeping the old one: %s",
		    err);
		return;
	}
	tp_tls_free(s->tls);
	s->tls = t;
	log_info("reloaded certificate '%s' and key '%s'", s->cfg.cert,
	    s->cfg.key);
}

/*
 * Users, presence, the NATS link (--cluster) and the router with its
 * inbox, as the options ask.  0, or -1 after saying why on stderr.
 */
static int
open_core(struct server *s)
{
	struct router_config	 rc;
	struct inbox_stats	 st;
	char			 err[512];

	if ((s->users = users_new()) == NULL ||
	    (s->presence = presence_new(s->users, &client_deliver_ops,
	    s->cfg.max_output)) == NULL) {
		fprintf(stderr, "chat-server: out of memory\n");
		return -1;
	}
	if (s->cfg.cluster != NULL) {
		if ((s->link = nats_link_new(s->cfg.cluster, err,
		    sizeof(err))) == NULL ||
		    (s->cluster = cluster_new(s->link, s->presence)) == NULL) {
			fprintf(stderr, "chat-server: %s\n", s->link == NULL ?
			    err : "cannot join presence");
			return -1;
		}
		s->wakefd = nats_link_wakefd(s->link);
	}
	memset(&rc, 0, sizeof(rc));
	rc.max_per_user = s->cfg.max_per_user;
	rc.max_message = s->cfg.max_message;
	rc.max_output = s->cfg.max_output;
	s->cfg.store.max_message = s->cfg.max_message;
	if ((s->router = router_new(&rc, s->users, s->presence,
	    &client_deliver_ops, &s->cfg.store, s->link, err,
	    sizeof(err))) == NULL) {
		fprintf(stderr, "chat-server: %s\n", err);
		return -1;
	}
	router_inbox_stats(s->router, &st);
	if (s->cfg.store.path != NULL)
		log_info("store '%s': %llu message(s), %llu bytes kept",
		    s->cfg.store.path, (unsigned long long)st.messages,
		    (unsigned long long)st.bytes);
	else if (s->cfg.cluster == NULL)
		log_info("store: memory (each inbox's numbering is lost when "
		    "the server stops)");
	return 0;
}

/* Everything open_core() made, in the reverse order. */
static void
close_core(struct server *s)
{
	/* Cursors and answers go out before NATS does. */
	router_free(s->router);
	s->router = NULL;
	cluster_free(s->cluster);
	s->cluster = NULL;
	nats_link_free(s->link);
	s->link = NULL;
	presence_free(s->presence);
	s->presence = NULL;
	users_reap(s->users);
	users_free(s->users);
	s->users = NULL;
}

static int
run(struct server *s)
{
	struct server_ready	*r;
	struct client		*c;
	uint64_t		 next_sweep = 0, shutdown_at = 0, paused_until = 0;
	int			 timeout, n, i;

	for (;;) {
		s->now = util_mono_ms();
		if (quit_signal != 0 && !s->shutting_down) {
			log_info("signal %d: closing %zu connection(s)",
			    (int)quit_signal, s->nclients);
			s->shutting_down = 1;
			shutdown_at = s->now + SHUTDOWN_MS;
			server_close_listeners(s);
			for (c = s->clients; c != NULL; c = c->next)
				client_shutdown(c);
		}
		if (reload_signal) {
			reload_signal = 0;
			reload_tls(s);
		}
		if (s->now >= next_sweep) {
			for (c = s->clients; c != NULL; c = c->next)
				client_timers(c);
			next_sweep = s->now + SWEEP_MS;
		}
		if (s->cluster != NULL)
			cluster_tick(s->cluster, s->now);
		router_tick(s->router, s->now);
		/* The pass's group commit, then its answers go out. */
		router_commit(s->router);
		clients_process_touched(s);
		if (s->shutting_down &&
		    (s->nclients == 0 || s->now >= shutdown_at))
			break;
		server_listen_events(s, s->now >= paused_until ? POLLIN : 0);

		log_flush();
		timeout = (int)(next_sweep > s->now ? next_sweep - s->now : 0);
		if (paused_until > s->now && paused_until - s->now <
		    (uint64_t)timeout)
			timeout = (int)(paused_until - s->now);
		if ((n = server_wait(s, timeout)) == -1) {
			if (errno == EINTR)
				continue;
			log_error("poll: %s", strerror(errno));
			return 1;
		}
		s->now = util_mono_ms();
		/* Clients are reaped only in clients_process_touched(). */
		for (i = 0; i < n; i++) {
			r = &s->ready[i];
			if ((c = r->c) == NULL && r->lidx == s->nlst) {
				nats_link_process(s->link);
				continue;
			}
			if (c == NULL) {
				if (!s->shutting_down &&
				    accept_clients(s, r->lidx))
					paused_until = s->now + ACCEPT_PAUSE_MS;
				continue;
			}
			if (c->dead)
				continue;
			client_on_event(c, r->revents);
			client_touch(s, c);
		}
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct server_config	cfg = {
		.listen = "127.0.0.1",
		.port = 8000,
		.max_clients = 10000,
		.max_message = 64 * 1024,
		.max_output = 1024 * 1024,
		.max_per_user = 8,
		.store = {
			.queue_limit = 1000,
			.history_limit = 1000,
			.history_days = 30,
			.history_bytes = SIZE_MAX,	/* by the store's kind */
			.sender_limit = 10000,
		},
		.handshake_timeout = 10000,
		.ping_interval = 30000,
		.idle_timeout = 75000,
		.tls_port = -1,
		.burst = 20,
	};
	struct server		s;
	struct sigaction	sa;
	char			shown[INET6_ADDRSTRLEN + 16];
	char			accept[HS_ACCEPT_LEN + 1], err[TP_ERRLEN];
	int			level = LOG_INFO, rc, use_poll = 0;

	if (argc > 1 && strcmp(argv[1], "token") == 0)
		return token_main(argc - 1, argv + 1);
	log_init("chat-server", LOG_INFO, stderr);
	log_batch();
	parse_options(argc, argv, &cfg, &level, &use_poll);
	log_init("chat-server", level, stderr);
	if (cfg.store.history_bytes == SIZE_MAX)
		cfg.store.history_bytes = cfg.store.path != NULL ?
		    (size_t)1 << 30 : (size_t)64 << 20;
	/* One sender's, or one target's, backlog: an eighth of the total. */
	if (cfg.store.sender_bytes == 0)
		cfg.store.sender_bytes = cfg.store.history_bytes / 8;
	if (cfg.store.target_bytes == 0)
		cfg.store.target_bytes = cfg.store.history_bytes / 8;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	/* Past a file size limit, writes fail (the store says so). */
	sigaction(SIGXFSZ, &sa, NULL);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	/*
	 * Check the digest the handshake depends on with RFC 6455's own
	 * example before accepting anyone.  (It also brings the library
	 * code in now rather than at the first connection.)
	 */
	if (hs_accept_key("dGhlIHNhbXBsZSBub25jZQ==", accept) != HS_OK ||
	    strcmp(accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") != 0) {
		fprintf(stderr, "chat-server: SHA-1 self-test failed: "
		    "Sec-WebSocket-Accept would be wrong\n");
		return 1;
	}
	adjust_fd_limit(&cfg);
	memset(&s, 0, sizeof(s));
	s.cfg = cfg;
	/* Bad certificate files are a configuration error: before listening. */
	if (s.cfg.cert != NULL &&
	    (s.tls = tp_tls_server(s.cfg.cert, s.cfg.key, err)) == NULL) {
		fprintf(stderr, "chat-server: %s\n", err);
		return 2;
	}
	s.started = util_mono_ms();
	s.wakefd = -1;
	if ((s.cfg.max_per_ip > 0 && (s.ipc = ipcount_new()) == NULL)) {
		fprintf(stderr, "chat-server: out of memory\n");
		return 1;
	}
	if (open_core(&s) == -1) {
		close_core(&s);
		ipcount_free(s.ipc);
		tp_tls_free(s.tls);
		return 2;
	}
	s.lst[0].fd = listen_on(&s.cfg, s.cfg.port, shown, sizeof(shown));
	s.lst[0].tls = s.tls != NULL && s.cfg.tls_port == -1;
	s.nlst = 1;
	log_info("chat-server %s listening on %s://%s (max %zu clients, "
	    "%zu-byte messages, %s)", CHAT_VERSION, s.lst[0].tls ? "wss" : "ws",
	    shown, s.cfg.max_clients, s.cfg.max_message,
	    use_poll ? "poll" : "epoll");
	if (s.cfg.tls_port != -1) {
		s.lst[1].fd = listen_on(&s.cfg, s.cfg.tls_port, shown,
		    sizeof(shown));
		s.lst[1].tls = 1;
		s.nlst = 2;
		log_info("listening on wss://%s", shown);
	}
	if (server_loop_init(&s, use_poll ? "poll" : "epoll") == -1) {
		log_error("cannot set up the poller: %s", strerror(errno));
		return 1;
	}
	rc = run(&s);
	while (s.clients != NULL) {
		struct client	*c = s.clients;

		s.clients = c->next;
		client_free(c);
	}
	server_close_listeners(&s);
	server_loop_release(&s);
	/* Cursors go out before NATS does. */
	close_core(&s);
	ipcount_free(s.ipc);
	tp_tls_free(s.tls);
	free(s.cfg.origins);
	if (s.cfg.jwt_key != NULL)
		explicit_bzero(s.cfg.jwt_key, s.cfg.jwt_keylen);
	free(s.cfg.jwt_key);
	log_info("exiting");
	log_flush();
	return rc;
}
