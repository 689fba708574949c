/*
 * Copyright (c) 2026 The chat authors.
 *
 * chat-client: options, signals and the poll loop.  One pass: run the
 * timers, let the front end draw (one doupdate), poll the signal pipe,
 * stdin and the connection, then dispatch.  Signals only write their
 * number into a self-pipe.  The front end is the curses session when
 * stdin and stdout are terminals and --batch is not given, else line
 * mode.  Every exit path restores the terminal before printing why.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client.h"
#include "codec.h"
#include "config.h"
#include "conn.h"
#include "dial.h"
#include "log.h"
#include "token.h"
#include "transport.h"
#include "util.h"

_Static_assert(TOKEN_MAX == CONN_MAX_TOKEN, "token sizes differ");
_Static_assert(TOKEN_ERRLEN <= DIAL_ERRLEN, "token errors do not fit");

/* Long options without a short form. */
enum {
	OPT_COLOR = 256,
	OPT_COMPRESS,
	OPT_COUNT,
	OPT_LISTEN,
	OPT_NO_COMPRESS,
	OPT_NO_RESUME,
	OPT_ROOM,
	OPT_TIMEOUT
};

static int		 sigpipe[2] = { -1, -1 };
static FILE		*logfp;

static void
usage(int status)
{
	FILE	*fp = status == 0 ? stdout : stderr;

	fprintf(fp, "usage: chat-client [-bhjkrVv] [-C ca-file] "
	    "[--color[=when]] [--count n]\n"
	    "                   [-l file] [--listen] [--no-compress] "
	    "[--no-resume]\n"
	    "                   [--room room] [-s url] [-T file] [-t id]\n"
	    "                   [--timeout duration] [-w seconds] [-u id]\n");
	if (status == 0)
		fprintf(fp,
		    "  -u, --user ID       your user id (1-64 of A-Z a-z 0-9 . _ -)\n"
		    "                      (else $CHAT_USER or the config file)\n"
		    "  -t, --to ID         talk to ID (change with /to)\n"
		    "      --room ROOM     talk in ROOM, joined at connect\n"
		    "                      (instead of --to; /join, /part)\n"
		    "  -s, --server URL    ws:// or wss:// server URL\n"
		    "                      (default %s)\n"
		    "  -C, --ca-file FILE  wss://: trust the CAs in FILE\n"
		    "                      (PEM), not the system's\n"
		    "  -k, --insecure      wss://: do not check the server's\n"
		    "                      certificate (testing only)\n"
		    "  -T, --token-file FILE\n"
		    "                      send the bearer token in FILE, read\n"
		    "                      at each connect (else $CHAT_TOKEN)\n"
		    "      --color[=WHEN]  colours: auto (unless $NO_COLOR),\n"
		    "                      always or never\n"
		    "  -b, --batch         line mode even on a terminal\n"
		    "  -j, --json          line mode: print server messages as JSON\n"
		    "      --listen        line mode: only receive, read no input\n"
		    "      --count N       line mode: leave after N messages\n"
		    "      --timeout DURATION\n"
		    "                      line mode: leave after DURATION (30,\n"
		    "                      500ms, 2m, 1h), failing if --count\n"
		    "                      or acks are still awaited\n"
		    "  -r, --retry         line mode: keep retrying if the server\n"
		    "                      cannot be reached at start or refuses\n"
		    "                      the token\n"
		    "  -w, --wait SECONDS  line mode: wait this long for acks at\n"
		    "                      end of input (default %d)\n"
		    "  -l, --log FILE      log to FILE (with -v)\n"
		    "      --no-compress   do not offer permessage-deflate\n"
		    "                      (--compress, the default, does)\n"
		    "      --no-resume     do not resume after the last message\n"
		    "                      shown, keep no history or state\n"
		    "  -v, --verbose       log more (repeatable)\n"
		    "  -h, --help          this help\n"
		    "  -V, --version       print the version\n",
		    CLIENT_DEFAULT_URL, CLIENT_DEFAULT_WAIT_MS / 1000);
	exit(status);
}

static void
sig_handler(int sig)
{
	int		saved = errno;
	unsigned char	b = (unsigned char)sig;

	(void)write(sigpipe[1], &b, 1);
	errno = saved;
}

static void
sig_setup(void)
{
	struct sigaction	sa;

	if (pipe(sigpipe) == -1 || util_set_nonblock(sigpipe[0]) == -1 ||
	    util_set_nonblock(sigpipe[1]) == -1) {
		fprintf(stderr, "chat-client: cannot create a pipe: %s\n",
		    strerror(errno));
		exit(CLIENT_EXIT_FAIL);
	}
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sa.sa_handler = sig_handler;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	/* Ours, installed before initscr(), so curses leaves it alone. */
	sigaction(SIGWINCH, &sa, NULL);
}

/* Open the log for -v: --log, else a file under $XDG_STATE_HOME. */
static void
log_setup(struct client *c)
{
	char		 path[PATH_MAX];
	const char	*state, *home;

	if (c->o.verbose == 0) {
		log_init("chat-client", LOG_WARN, NULL);
		return;
	}
	if (c->o.logpath == NULL && c->o.batch) {
		log_init("chat-client", LOG_WARN + c->o.verbose, stderr);
		return;
	}
	if (c->o.logpath != NULL)
		snprintf(path, sizeof(path), "%s", c->o.logpath);
	else if ((state = getenv("XDG_STATE_HOME")) != NULL && *state == '/')
		snprintf(path, sizeof(path), "%s/chat-client.log", state);
	else if ((home = getenv("HOME")) != NULL && *home == '/') {
		snprintf(path, sizeof(path), "%s/.local", home);
		(void)mkdir(path, 0700);
		snprintf(path, sizeof(path), "%s/.local/state", home);
		(void)mkdir(path, 0700);
		snprintf(path, sizeof(path),
		    "%s/.local/state/chat-client.log", home);
	} else
		snprintf(path, sizeof(path), "chat-client.log");
	if ((logfp = fopen(path, "a")) == NULL) {
		fprintf(stderr, "chat-client: cannot open log file '%s': %s\n",
		    path, strerror(errno));
		exit(CLIENT_EXIT_USAGE);
	}
	log_init("chat-client", LOG_WARN + c->o.verbose, logfp);
}

static void
bad_user(const char *id, const char *what)
{
	fprintf(stderr, "chat-client: invalid user id '%s' for %s: use 1-64 "
	    "characters of A-Z a-z 0-9 . _ -\n", id, what);
	exit(CLIENT_EXIT_USAGE);
}

static int
parse_color(const char *s, enum client_color *out)
{
	if (s == NULL || strcmp(s, "always") == 0)
		*out = CLIENT_COLOR_ALWAYS;
	else if (strcmp(s, "auto") == 0)
		*out = CLIENT_COLOR_AUTO;
	else if (strcmp(s, "never") == 0)
		*out = CLIENT_COLOR_NEVER;
	else
		return -1;
	return 0;
}

/*
 * What the command line left unset comes from the environment, then
 * from the configuration file (config.h).  cf and path live as long as
 * the program: o points into them.
 */
static void
apply_defaults(struct client_opts *o, int color_set)
{
	static struct config	 cf;
	static char		 path[PATH_MAX];
	char			 err[CONFIG_ERRLEN];
	const char		*env;

	config_init(&cf);
	if (config_path(path, sizeof(path), getenv("XDG_CONFIG_HOME"),
	    getenv("HOME")) == 0 && config_read(&cf, path, err) == -1) {
		fprintf(stderr, "chat-client: %s\n", err);
		exit(CLIENT_EXIT_USAGE);
	}
	if (o->user == NULL) {
		if ((env = getenv("CHAT_USER")) != NULL && *env != '\0') {
			if (!codec_valid_user(env, strlen(env)))
				bad_user(env, "CHAT_USER");
			o->user = env;
		} else if (cf.user[0] != '\0')
			o->user = cf.user;
	}
	if (o->target[0] == '\0') {
		if ((env = getenv("CHAT_TO")) != NULL && *env != '\0') {
			if (!codec_valid_user(env, strlen(env)))
				bad_user(env, "CHAT_TO");
			snprintf(o->target, sizeof(o->target), "%s", env);
		} else if (cf.to[0] != '\0')
			snprintf(o->target, sizeof(o->target), "%s", cf.to);
	}
	if (o->url_text == NULL) {
		if ((env = getenv("CHAT_SERVER")) != NULL && *env != '\0')
			o->url_text = env;
		else if (cf.server[0] != '\0')
			o->url_text = cf.server;
		else
			o->url_text = CLIENT_DEFAULT_URL;
	}
	if (o->ca_file == NULL && cf.ca_file[0] != '\0')
		o->ca_file = cf.ca_file;
	if (o->token_file == NULL && cf.token_file[0] != '\0')
		o->token_file = cf.token_file;
	if (!color_set && cf.color[0] != '\0')
		(void)parse_color(cf.color, &o->color);
	if (cf.bell != -1)
		o->bell = cf.bell;
}

static void
parse_options(struct client *c, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "batch",	no_argument,		NULL, 'b' },
		{ "ca-file",	required_argument,	NULL, 'C' },
		{ "color",	optional_argument,	NULL, OPT_COLOR },
		{ "compress",	no_argument,		NULL, OPT_COMPRESS },
		{ "count",	required_argument,	NULL, OPT_COUNT },
		{ "help",	no_argument,		NULL, 'h' },
		{ "insecure",	no_argument,		NULL, 'k' },
		{ "json",	no_argument,		NULL, 'j' },
		{ "listen",	no_argument,		NULL, OPT_LISTEN },
		{ "log",	required_argument,	NULL, 'l' },
		{ "no-compress", no_argument,		NULL, OPT_NO_COMPRESS },
		{ "no-resume",	no_argument,		NULL, OPT_NO_RESUME },
		{ "retry",	no_argument,		NULL, 'r' },
		{ "room",	required_argument,	NULL, OPT_ROOM },
		{ "server",	required_argument,	NULL, 's' },
		{ "timeout",	required_argument,	NULL, OPT_TIMEOUT },
		{ "to",		required_argument,	NULL, 't' },
		{ "token-file",	required_argument,	NULL, 'T' },
		{ "user",	required_argument,	NULL, 'u' },
		{ "version",	no_argument,		NULL, 'V' },
		{ "verbose",	no_argument,		NULL, 'v' },
		{ "wait",	required_argument,	NULL, 'w' },
		{ NULL,		0,			NULL, 0 }
	};
	struct client_opts	*o = &c->o;
	char			 err[DIAL_ERRLEN], tperr[TP_ERRLEN];
	char			 tok[TOKEN_MAX + 1];
	const char		*env, *room;
	long long		 n;
	int			 ch, color_set = 0, line_only = 0;

	o->wait_ms = CLIENT_DEFAULT_WAIT_MS;
	o->bell = 1;
	/* Our own messages: getopt's name the typed path of the program. */
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":bC:hjkl:rs:T:t:u:Vvw:",
	    longopts, NULL)) != -1) {
		switch (ch) {
		case 'b':
			o->batch = 1;
			break;
		case 'C':
			o->ca_file = optarg;
			break;
		case OPT_COLOR:
			if (parse_color(optarg, &o->color) == -1) {
				fprintf(stderr, "chat-client: invalid value "
				    "'%s' for --color: expected auto, always "
				    "or never\n", optarg);
				exit(CLIENT_EXIT_USAGE);
			}
			color_set = 1;
			break;
		case OPT_COUNT:
			if (util_parse_ll(optarg, 1, 1000000000LL, &n) == -1) {
				fprintf(stderr, "chat-client: invalid value "
				    "'%s' for --count: expected 1 to "
				    "1000000000\n", optarg);
				exit(CLIENT_EXIT_USAGE);
			}
			o->count = (unsigned long)n;
			line_only = 1;
			break;
		case OPT_COMPRESS:
			o->no_compress = 0;
			break;
		case 'h':
			usage(CLIENT_EXIT_OK);
			break;
		case 'j':
			o->json = 1;
			line_only = 1;
			break;
		case 'k':
			o->insecure = 1;
			break;
		case 'l':
			o->logpath = optarg;
			break;
		case OPT_LISTEN:
			o->listen = 1;
			line_only = 1;
			break;
		case OPT_NO_COMPRESS:
			o->no_compress = 1;
			break;
		case OPT_NO_RESUME:
			o->no_resume = 1;
			break;
		case 'r':
			o->retry = 1;
			break;
		case OPT_ROOM:
			/* One '#' in front, as /join takes it, is not part. */
			room = optarg[0] == '#' ? optarg + 1 : optarg;
			if (!codec_valid_room(room, strlen(room))) {
				fprintf(stderr, "chat-client: invalid room "
				    "'%s' for --room: use 1-64 bytes of UTF-8 "
				    "without spaces or control characters\n",
				    optarg);
				exit(CLIENT_EXIT_USAGE);
			}
			model_room_view_name(o->target, room);
			break;
		case 's':
			o->url_text = optarg;
			break;
		case 'T':
			o->token_file = optarg;
			break;
		case 't':
			if (!codec_valid_user(optarg, strlen(optarg)))
				bad_user(optarg, "--to");
			snprintf(o->target, sizeof(o->target), "%s", optarg);
			break;
		case OPT_TIMEOUT:
			if (util_parse_duration_ms(optarg, 1, 7 * 86400000LL,
			    &n) == -1) {
				fprintf(stderr, "chat-client: invalid value "
				    "'%s' for --timeout: expected a duration "
				    "such as 30 (seconds), 500ms, 2m or 1h, up "
				    "to 7 days\n", optarg);
				exit(CLIENT_EXIT_USAGE);
			}
			o->timeout_ms = n;
			line_only = 1;
			break;
		case 'u':
			if (!codec_valid_user(optarg, strlen(optarg)))
				bad_user(optarg, "--user");
			o->user = optarg;
			break;
		case 'V':
			printf("chat-client %s\n", CHAT_VERSION);
			exit(CLIENT_EXIT_OK);
			break;
		case 'v':
			if (o->verbose < 3)
				o->verbose++;
			break;
		case 'w':
			if (util_parse_ll(optarg, 0, 3600, &n) == -1) {
				fprintf(stderr, "chat-client: invalid value "
				    "'%s' for --wait: expected seconds from 0 "
				    "to 3600\n", optarg);
				exit(CLIENT_EXIT_USAGE);
			}
			o->wait_ms = n * 1000;
			o->wait_set = 1;
			break;
		case ':':
			fprintf(stderr, "chat-client: option '%s' needs a "
			    "value\n", argv[optind - 1]);
			usage(CLIENT_EXIT_USAGE);
			break;
		default:
			if (optopt != 0)
				fprintf(stderr, "chat-client: unknown option "
				    "'-%c'\n", optopt);
			else
				fprintf(stderr, "chat-client: unknown or "
				    "ambiguous option '%s'\n", argv[optind - 1]);
			usage(CLIENT_EXIT_USAGE);
		}
	}
	if (optind < argc) {
		fprintf(stderr, "chat-client: unexpected argument '%s'\n",
		    argv[optind]);
		usage(CLIENT_EXIT_USAGE);
	}
	apply_defaults(o, color_set);
	if (o->user == NULL) {
		fprintf(stderr, "chat-client: missing --user (or CHAT_USER, "
		    "or user in the config file)\n");
		usage(CLIENT_EXIT_USAGE);
	}
	if (dial_parse_url(o->url_text, &o->url, err) == -1) {
		fprintf(stderr, "chat-client: invalid server URL '%s': %s\n",
		    o->url_text, err);
		exit(CLIENT_EXIT_USAGE);
	}
	/* A CA file is read even for ws://, so that a typo shows now. */
	if (o->url.tls || o->ca_file != NULL) {
		if ((c->tls = tp_tls_client(o->ca_file, o->insecure,
		    tperr)) == NULL) {
			fprintf(stderr, "chat-client: %s\n", tperr);
			exit(CLIENT_EXIT_USAGE);
		}
	}
	/*
	 * A token that cannot be read is a configuration error now; later
	 * it only fails the attempt, as the file is read again each time.
	 */
	if (o->token_file != NULL) {
		if (token_read_file(o->token_file, tok, err) == -1) {
			fprintf(stderr, "chat-client: %s\n", err);
			exit(CLIENT_EXIT_USAGE);
		}
	} else if ((env = getenv("CHAT_TOKEN")) != NULL && *env != '\0') {
		if (token_from_text(env, "CHAT_TOKEN", tok, err) == -1) {
			fprintf(stderr, "chat-client: %s\n", err);
			exit(CLIENT_EXIT_USAGE);
		}
		o->token_env = env;
	}
	token_wipe(tok);
	/* Only wss:// has a certificate to skip. */
	if (!o->url.tls)
		o->insecure = 0;
	/* Options that only line mode has choose it: none is ignored. */
	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO) || line_only)
		o->batch = 1;
}

static void
on_state(void *arg, enum conn_state st)
{
	struct client	*c = arg;

	/* What was shown so far is saved at every loss. */
	if (st == CONN_WAITING || st == CONN_CLOSED)
		client_state_tick(c, util_mono_ms(), 1);
	if (c->o.batch)
		batch_on_state(c, st);
	else
		tui_on_state(c, st);
}

static void
on_event(void *arg, const struct codec_ev *ev, const char *raw,
    size_t rawlen, const struct conn_sent *sent)
{
	struct client	*c = arg;

	/* A replay may repeat what was shown: drop it, even from --json. */
	if (ev->type == CODEC_EV_CHAT && !client_chat_is_new(c, ev))
		return;
	if (c->o.batch)
		batch_on_event(c, ev, raw, rawlen, sent);
	else
		tui_on_event(c, ev, raw, rawlen, sent);
}

/* conn asks before each attempt: resume after the last message shown. */
static int
on_since(void *arg, uint64_t *since, char *epoch)
{
	return client_since(arg, since, epoch);
}

/* conn asks before each attempt: the file is read afresh each time. */
static int
on_token(void *arg, char *tok, char *err)
{
	struct client	*c = arg;

	tok[0] = '\0';
	if (c->o.token_file != NULL)
		return token_read_file(c->o.token_file, tok, err);
	if (c->o.token_env != NULL)
		return token_from_text(c->o.token_env, "CHAT_TOKEN", tok, err);
	return 0;
}

/* Read the signal pipe; returns nonzero if a resize arrived. */
static int
handle_signals(struct client *c)
{
	unsigned char	buf[32];
	ssize_t		n, i;
	int		resized = 0;

	while ((n = read(sigpipe[0], buf, sizeof(buf))) > 0) {
		for (i = 0; i < n; i++) {
			if (buf[i] == SIGWINCH)
				resized = 1;
			else if (buf[i] == SIGINT && !c->o.batch)
				client_exit(c, CLIENT_EXIT_OK, NULL);
			else
				client_exit(c, CLIENT_EXIT_FAIL,
				    "terminated by signal %s",
				    buf[i] == SIGINT ? "SIGINT" :
				    buf[i] == SIGTERM ? "SIGTERM" : "SIGHUP");
		}
	}
	return resized;
}

static void
loop(struct client *c)
{
	struct pollfd	pfd[3];
	uint64_t	now;
	int		timeout, t, nfd, in_idx, conn_idx, closing = 0;

	for (;;) {
		now = util_mono_ms();
		conn_tick(c->conn, now);
		client_state_tick(c, now, 0);
		if (c->o.batch)
			batch_tick(c, now);
		else
			tui_tick(c, now);
		if (c->quit && !closing) {
			conn_close(c->conn);
			closing = 1;
		}
		if (closing && conn_done(c->conn))
			break;
		if (!c->o.batch)
			tui_draw(c);

		nfd = 0;
		pfd[nfd].fd = sigpipe[0];
		pfd[nfd++].events = POLLIN;
		in_idx = conn_idx = -1;
		if (!closing && (!c->o.batch || batch_wants_input(c))) {
			in_idx = nfd;
			pfd[nfd].fd = STDIN_FILENO;
			pfd[nfd++].events = POLLIN;
		}
		if (conn_fd(c->conn) != -1 && conn_events(c->conn) != 0) {
			conn_idx = nfd;
			pfd[nfd].fd = conn_fd(c->conn);
			pfd[nfd++].events = conn_events(c->conn);
		}
		timeout = conn_timeout(c->conn, now);
		t = c->o.batch ? batch_timeout(c, now) : tui_timeout(c, now);
		if (t >= 0 && (timeout < 0 || t < timeout))
			timeout = t;
		t = client_state_timeout(c, now);
		if (t >= 0 && (timeout < 0 || t < timeout))
			timeout = t;

		if (poll(pfd, (nfds_t)nfd, timeout) == -1) {
			if (errno == EINTR)
				continue;
			client_exit(c, CLIENT_EXIT_FAIL, "poll: %s",
			    strerror(errno));
			break;
		}
		if (pfd[0].revents != 0 && handle_signals(c) && !c->o.batch)
			tui_on_resize(c);
		if (in_idx != -1 && pfd[in_idx].revents != 0) {
			if (c->o.batch)
				batch_on_input(c);
			else
				tui_on_input(c);
		}
		if (conn_idx != -1 && pfd[conn_idx].revents != 0)
			conn_io(c->conn, pfd[conn_idx].revents);
	}
}

int
main(int argc, char **argv)
{
	static const struct conn_callbacks	cb = {
		on_state, on_event, on_token, on_since
	};
	static struct client			c;
	char					why[256];

	setlocale(LC_ALL, "");
	parse_options(&c, argc, argv);
	log_setup(&c);
	sig_setup();
	atexit(ui_end);
	client_state_open(&c);

	c.conn = conn_new(&c.o.url, c.tls, c.o.url_text, c.o.user, &cb, &c);
	if (c.conn == NULL) {
		fprintf(stderr, "chat-client: out of memory\n");
		return CLIENT_EXIT_FAIL;
	}
	conn_set_compress(c.conn, !c.o.no_compress);
	if (!c.o.batch && tui_start(&c, why, sizeof(why)) == -1) {
		/* Still usable, as a line-by-line chat on the terminal. */
		fprintf(stderr, "chat-client: %s: no full-screen interface, "
		    "using line mode (as with -b)\n", why);
		c.o.batch = 1;
	}
	if (c.o.batch)
		batch_start(&c);
	loop(&c);
	client_state_tick(&c, util_mono_ms(), 1);
	if (!c.o.batch)
		tui_stop(&c);
	/* The terminal is restored: now say why we stopped. */
	if (c.reason[0] != '\0')
		fprintf(stderr, "chat-client: %s\n", c.reason);
	log_info("exiting with status %d", c.status);
	conn_free(c.conn);
	tp_tls_free(c.tls);
	free(c.lbuf);
	if (fflush(stdout) == EOF && c.status == 0)
		c.status = CLIENT_EXIT_FAIL;
	if (logfp != NULL)
		fclose(logfp);
	return c.status;
}
