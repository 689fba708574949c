/*
 * Copyright (c) 2026 The chat authors.
 *
 * chat-server: signals, the listening socket and the poll()
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
#include "notify.h"
#include "options.h"
#include "server.h"
#include "users.h"
#include "transport.h"
#include "util.h"

#define SWEEP_MS		200	/* timer granularity */
#define SHUTDOWN_MS		3000	/* bound on a graceful exit */
#define ACCEPT_PAUSE_MS		1000	/* after EMFILE/ENFILE */
#define ACCEPTS_PER_PASS	256
#define TOKEN_MAX_ROOMS		64	/* chat-server token -r */

static volatile sig_atomic_t	quit_signal, reload_signal, status_signal;

static void
on_signal(int sig)
{
	if (sig == SIGHUP)
		reload_signal = 1;
	else if (sig == SIGUSR1)
		status_signal = 1;
	else
		quit_signal = sig;
}

/* chat-server token: mint a token for operators and tests. */
static int
token_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "jwt-secret-file", required_argument, NULL, 's' },
		{ "room", required_argument, NULL, 'r' },
		{ "ttl", required_argument, NULL, 't' },
		{ "user", required_argument, NULL, 'u' },
		{ NULL, 0, NULL, 0 }
	};
	const char	*user = NULL, *rooms[TOKEN_MAX_ROOMS];
	uint8_t		*key = NULL;
	size_t		 keylen = 0, nrooms = 0;
	char		 err[PATH_MAX + 128];
	long long	 ttl = 86400000;
	int64_t		 now;
	char		*tok;
	int		 ch;

	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "hr:s:t:u:", longopts, NULL)) !=
	    -1) {
		switch (ch) {
		case 'r':
			if ((strcmp(optarg, "*") != 0 &&
			    !codec_valid_room(optarg, strlen(optarg))) ||
			    nrooms == TOKEN_MAX_ROOMS) {
				fprintf(stderr, "chat-server: invalid value "
				    "'%s' for --room: expected a room name or "
				    "'*', at most %d of them\n", optarg,
				    TOKEN_MAX_ROOMS);
				goto usage;
			}
			rooms[nrooms++] = optarg;
			break;
		case 's':
			if (key != NULL)
				explicit_bzero(key, keylen);
			free(key);
			key = NULL;
			if (options_read_secret(optarg, 16, 4096, &key,
			    &keylen, err, sizeof(err)) == -1) {
				fprintf(stderr, "chat-server: %s\n", err);
				return 2;
			}
			break;
		case 't':
			if (util_parse_duration_ms(optarg, 1000,
			    3650LL * 86400000, &ttl) != 0) {
				fprintf(stderr, "chat-server: invalid value "
				    "'%s' for --ttl: expected 1s to 3650 days, "
				    "e.g. 24h\n", optarg);
				return 2;
			}
			break;
		case 'u':
			if (!codec_valid_user(optarg, strlen(optarg))) {
				fprintf(stderr, "chat-server: invalid value "
				    "'%s' for --user: expected 1-64 characters "
				    "from A-Z a-z 0-9 . _ -\n", optarg);
				return 2;
			}
			user = optarg;
			break;
		case 'h':
			printf("usage: chat-server token --jwt-secret-file "
			    "file -u user [-t ttl] [-r room ...]\n");
			return 0;
		default:
			goto usage;
		}
	}
	if (user == NULL || key == NULL || optind != argc)
		goto usage;
	now = (int64_t)(util_wall_ms() / 1000);
	tok = jwt_mint_rooms(user, now, now + ttl / 1000, nrooms > 0 ? rooms :
	    NULL, nrooms, key, keylen);
	explicit_bzero(key, keylen);
	free(key);
	if (tok == NULL) {
		fprintf(stderr, "chat-server: cannot mint a token\n");
		return 1;
	}
	printf("%s\n", tok);
	free(tok);
	return 0;
usage:
	if (key != NULL)
		explicit_bzero(key, keylen);
	free(key);
	fprintf(stderr, "usage: chat-server token --jwt-secret-file file "
	    "-u user [-t ttl] [-r room ...]\n");
	return 2;
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

static void format_addr(const struct sockaddr_storage *, socklen_t, char *,
    size_t);

static int
listen_on(const struct server_config *cfg, int portnum)
{
	struct addrinfo		 hints, *res, *ai;
	char			 port[16];
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
 * Listen on --port (and --tls-port), or on the sockets the service
 * manager passed (socket activation: the first for --port, the second
 * for --tls-port), and log where.
 */
static void
open_listeners(struct server *s)
{
	struct sockaddr_storage	 ss;
	socklen_t		 sl;
	char			 shown[INET6_ADDRSTRLEN + 16], err[256];
	int			 fds[SERVER_MAX_LISTENERS], n, i, on = 1;

	if ((n = notify_listen_fds(fds, SERVER_MAX_LISTENERS, err,
	    sizeof(err))) == -1 || (n == 2 && s->cfg.tls_port == -1)) {
		fprintf(stderr, "chat-server: %s\n", n == -1 ? err :
		    "socket activation: two sockets passed, but no --tls-port");
		exit(2);
	}
	for (i = 0; i < (s->cfg.tls_port == -1 ? 1 : 2); i++) {
		s->lst[i].fd = i < n ? fds[i] : listen_on(&s->cfg,
		    i == 0 ? s->cfg.port : s->cfg.tls_port);
		s->lst[i].tls = s->tls != NULL &&
		    (i == 1 || s->cfg.tls_port == -1);
		s->nlst = i + 1;
		/*
		 * Chat frames are small and latency matters: without
		 * TCP_NODELAY, Nagle's algorithm holds a frame until the
		 * previous one is acknowledged (up to the 40 ms delayed ACK).
		 * Set on the listener, accepted sockets inherit it (Linux's
		 * tcp_create_openreq_child() copies the listener's socket):
		 * one setsockopt less per connection.  Not TCP (a unix
		 * socket from the service manager): nothing to do.
		 */
		(void)setsockopt(s->lst[i].fd, IPPROTO_TCP, TCP_NODELAY, &on,
		    sizeof(on));
		sl = sizeof(ss);
		if (getsockname(s->lst[i].fd, (struct sockaddr *)&ss, &sl) ==
		    -1)
			sl = 0;
		format_addr(&ss, sl, shown, sizeof(shown));
		if (i == 0)
			log_info("chat-server %s listening on %s://%s (max %zu "
			    "clients, %zu-byte messages, %s%s)", CHAT_VERSION,
			    s->lst[i].tls ? "wss" : "ws", shown,
			    s->cfg.max_clients, s->cfg.max_message,
			    s->cfg.use_poll ? "poll" : "epoll", i < n ?
			    ", socket from the service manager" : "");
		else
			log_info("listening on wss://%s%s", shown, i < n ?
			    " (socket from the service manager)" : "");
	}
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
	int			 fd, i;

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
		if (s->nclients >= s->cfg.max_clients) {
			client_count(s, CC_MAX_CLIENTS);
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
		/*
		 * The request is read when the poller says it is there, as
		 * uWebSockets does.  Reading at once found nothing for 3 of
		 * 4 connections from wsload (accept4 returns at the
		 * client's ACK, before its request): a recvfrom for EAGAIN.
		 */
		log_debug("%s #%llu accepted", client_addr(c),
		    (unsigned long long)c->id);
	}
	return 0;
}

/*
 * Load the certificate and key again for new connections; established
 * ones keep the context they started with.
 */
static void
reload_tls(struct server *s)
{
	struct tp_tls	*t;
	char		 err[TP_ERRLEN];

	if (s->tls == NULL) {
		if (s->cfg.cert != NULL)
			log_warn("reload: serving wss:// needs a restart");
		return;
	}
	if (s->cfg.cert == NULL) {
		log_warn("reload: no --cert: keeping the old certificate "
		    "until a restart");
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
 * SIGHUP: read the configuration file and the command line again
 * (options_reload() logs what changed and what needs a restart), then
 * the certificate.
 */
static void
reload(struct server *s)
{
	char	err[PATH_MAX + 256];
	int	changed;

	log_info("SIGHUP: reloading%s%s", s->cfg.config != NULL ? " " : "",
	    s->cfg.config != NULL ? s->cfg.config : "");
	notify_reloading();
	if ((changed = options_reload(&s->cfg, err, sizeof(err))) == -1)
		log_warn("reload: %s; nothing changed", err);
	else {
		if (changed & OPTIONS_CHANGED_LOG) {
			log_init("chat-server", s->cfg.log_level, stderr);
			log_set_json(s->cfg.log_json);
		}
		if (changed & OPTIONS_CHANGED_LIMITS)
			adjust_fd_limit(&s->cfg);
	}
	reload_tls(s);
	notify_ready("accepting connections (reloaded)");
}

/* SIGUSR1: one line saying how the server is doing. */
static void
log_status(struct server *s)
{
	log_info("SIGUSR1: up %llu s, %zu connection(s), %zu user(s) online, "
	    "%llu message(s) delivered, %llu queued, %llu refused",
	    (unsigned long long)((s->now - s->started) / 1000), s->nclients,
	    router_nonline(s->router), (unsigned long long)s->st_delivered,
	    (unsigned long long)s->st_queued,
	    (unsigned long long)s->st_refused);
}

/*
 * Users, presence, the NATS link (--cluster) and the router with its
 * inbox, as the options ask.  0, or -1 after saying why on stderr.
 */
static int
open_core(struct server *s)
{
	struct router_config	 rc;
	struct nats_link_config	 lc;
	struct inbox_stats	 st;
	char			 err[512];

	if ((s->users = users_new()) == NULL ||
	    (s->presence = presence_new(s->users, &client_deliver_ops,
	    s->cfg.max_output)) == NULL) {
		fprintf(stderr, "chat-server: out of memory\n");
		return -1;
	}
	if (s->cfg.cluster != NULL) {
		memset(&lc, 0, sizeof(lc));
		lc.urls = s->cfg.cluster;
		lc.creds = s->cfg.cluster_creds;
		lc.ca = s->cfg.cluster_ca;
		lc.cert = s->cfg.cluster_cert;
		lc.key = s->cfg.cluster_key;
		lc.secret = s->cfg.cluster_secret;
		lc.secretlen = s->cfg.cluster_secretlen;
		if ((s->link = nats_link_new(&lc, err, sizeof(err))) == NULL ||
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
	rc.max_members = s->cfg.room_members;
	rc.max_rooms = s->cfg.user_rooms;
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
	uint64_t		 watchdog_ms = notify_watchdog_ms(), next_watchdog = 0;
	uint64_t		 timeout, due, now_us;
	int			 n, i;

	/*
	 * The clock is read after the wait, for the events, and again
	 * before the timers: modules stamp what they hear during a pass
	 * with the clock itself (cluster presence, NATS requests), and a
	 * timer comparing those stamps must not run on an older reading
	 * (a node heard during the pass looked silent for 2^64 ms).
	 */
	for (;;) {
		s->now = util_mono_ms();
		if (quit_signal != 0 && !s->shutting_down) {
			log_info("signal %d: closing %zu connection(s)",
			    (int)quit_signal, s->nclients);
			s->shutting_down = 1;
			notify_stopping();
			shutdown_at = s->now + SHUTDOWN_MS;
			server_close_listeners(s);
			clients_each(s, client_shutdown);
		}
		if (reload_signal) {
			reload_signal = 0;
			reload(s);
		}
		if (status_signal) {
			status_signal = 0;
			log_status(s);
		}
		if (watchdog_ms > 0 && s->now >= next_watchdog) {
			notify_watchdog();
			next_watchdog = s->now + watchdog_ms;
		}
		if (s->now >= next_sweep) {
			clients_each(s, client_timers);
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

		/* What this pass published to NATS goes out in one write. */
		if (s->link != NULL)
			nats_link_flush(s->link);
		log_flush();
		/* In us: a commit put off waits for less than 1 ms. */
		timeout = next_sweep > s->now ? next_sweep - s->now : 0;
		if (paused_until > s->now && paused_until - s->now < timeout)
			timeout = paused_until - s->now;
		timeout *= 1000;
		if ((due = router_commit_due(s->router)) != 0) {
			now_us = util_mono_us();
			if (due < now_us + timeout)
				timeout = due > now_us ? due - now_us : 0;
		}
		n = server_wait(s, (long long)timeout);
		s->now = util_mono_ms();
		if (n == -1) {
			if (errno == EINTR)
				continue;
			log_error("poll: %s", strerror(errno));
			return 1;
		}
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
	struct server_config	cfg;
	struct server		s;
	struct sigaction	sa;
	char			accept[HS_ACCEPT_LEN + 1], err[TP_ERRLEN];
	int			rc;

	if (argc > 1 && strcmp(argv[1], "token") == 0)
		return token_main(argc - 1, argv + 1);
	log_init("chat-server", LOG_INFO, stderr);
	log_batch();
	options_parse(argc, argv, &cfg);
	log_init("chat-server", cfg.log_level, stderr);
	log_set_json(cfg.log_json);

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
	sigaction(SIGUSR1, &sa, NULL);

	/*
	 * Check the digest the handshake depends on with RFC 6455's own
	 * example before accepting anyone.  (It also brings the library
	 * code in now rather than at the first connection.)
	 */
	if (hs_accept_key("dGhlIHNhbXBsZSBub25jZQ==", accept) != HS_OK ||
	    strcmp(accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") != 0) {
		fprintf(stderr, "chat-server: SHA-1 self-test failed: "
		    "Sec-WebSocket-Accept would be wrong\n");
		options_release(&cfg);
		return 1;
	}
	adjust_fd_limit(&cfg);
	memset(&s, 0, sizeof(s));
	s.cfg = cfg;
	/* Bad certificate files are a configuration error: before listening. */
	if (s.cfg.cert != NULL &&
	    (s.tls = tp_tls_server(s.cfg.cert, s.cfg.key, err)) == NULL) {
		fprintf(stderr, "chat-server: %s\n", err);
		options_release(&s.cfg);
		return 2;
	}
	s.started = util_mono_ms();
	s.wakefd = -1;
	if ((s.cfg.max_per_ip > 0 && (s.ipc = ipcount_new()) == NULL)) {
		fprintf(stderr, "chat-server: out of memory\n");
		options_release(&s.cfg);
		return 1;
	}
	if (open_core(&s) == -1) {
		close_core(&s);
		ipcount_free(s.ipc);
		tp_tls_free(s.tls);
		options_release(&s.cfg);
		return 2;
	}
	open_listeners(&s);
	if (server_loop_init(&s, s.cfg.use_poll ? "poll" : "epoll") == -1) {
		log_error("cannot set up the poller: %s", strerror(errno));
		return 1;
	}
	notify_ready("accepting connections");
	rc = run(&s);
	clients_free_all(&s);
	client_cache_free();
	server_close_listeners(&s);
	server_loop_release(&s);
	/* Cursors go out before NATS does. */
	close_core(&s);
	ipcount_free(s.ipc);
	tp_tls_free(s.tls);
	log_info("exiting");
	log_flush();
	options_release(&s.cfg);
	return rc;
}
