/*
 * Copyright (c) 2026 The chat authors.
 *
 * ws-echo-client: the client side of our frame layer (common/dial.c and
 * common/ws.c) on its own, so that external conformance suites, such as
 * the fuzzing server of the Autobahn test suite, can test it.  It
 * connects to URL and sends every text and binary message back
 * unchanged until the connection ends.  When the server closes and the
 * close handshake completes it prints "closed CODE" on stderr and exits
 * 0.  When we have to close (the server broke RFC 6455, or sent a
 * message over 16 MiB) or the connection fails, it says why and exits
 * 1; usage errors exit 2.  -v reports every message on stderr.  wss://
 * URLs are checked against the system's CAs, or those in -C FILE; -k
 * skips the check.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dial.h"
#include "transport.h"
#include "util.h"
#include "ws.h"

#define DIAL_TIMEOUT_MS		10000
#define CLOSE_TIMEOUT_MS	5000
#define MAX_MESSAGE		(16 << 20)
#define MAX_OUTPUT		(64 << 20)

static struct ws_conn	*ws;
static int		 verbose;
static int		 peer_first;	/* the server started the close */
static int		 echo_failed;
static struct tp_tls	*tls;
static const char	*ca_file;
static int		 insecure;

static void __attribute__((noreturn))
die(const char *what, const char *why)
{
	if (why != NULL)
		fprintf(stderr, "ws-echo-client: %s: %s\n", what, why);
	else
		fprintf(stderr, "ws-echo-client: %s\n", what);
	exit(1);
}

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: ws-echo-client [-kv] [-C ca-file] URL\n");
	exit(2);
}

static void
echo(enum ws_opcode op, const uint8_t *data, size_t len)
{
	int	r;

	r = ws_conn_send(ws, op, data, len, NULL);
	if (r == 0 || r == WS_ERR_CLOSED)
		return;
	fprintf(stderr, "ws-echo-client: cannot echo %zu bytes: %s\n", len,
	    ws_strerror(r));
	if (!echo_failed)
		(void)ws_conn_close(ws, 1011, "cannot echo");
	echo_failed = 1;
}

static void
on_message(void *arg, enum ws_opcode op, const uint8_t *data, size_t len)
{
	if (verbose)
		fprintf(stderr, "%s %zu bytes\n", op == WS_OP_TEXT ? "text" :
		    "binary", len);
	echo(op, data, len);
}

static void
on_close(void *arg, uint16_t code, const uint8_t *reason, size_t len)
{
	char	buf[128];

	if (ws == NULL || !ws_conn_close_sent(ws))
		peer_first = 1;
	if (verbose)
		fprintf(stderr, "close %u '%s' received\n", code,
		    util_escape(buf, sizeof(buf), reason, len));
}

static const struct ws_callbacks callbacks = { on_message, on_close };

static struct ws_conn *
connect_url(const char *url)
{
	struct dial_url	 u;
	struct dial	*d;
	struct pollfd	 pfd;
	struct ws_config cfg;
	struct ws_conn	*c;
	char		 err[DIAL_ERRLEN];
	uint64_t	 deadline = util_mono_ms() + DIAL_TIMEOUT_MS;
	int		 r;

	if (dial_parse_url(url, &u, err) != 0)
		die(url, err);
	if (u.tls && (tls = tp_tls_client(ca_file, insecure, err)) == NULL)
		die(url, err);
	if ((d = dial_start(&u, tls, u.path[0] != '\0' ? u.path : "/", NULL,
	    0, err)) == NULL)
		die(url, err);
	while ((r = dial_step(d, err, NULL)) == DIAL_AGAIN) {
		if (util_mono_ms() >= deadline) {
			dial_free(d);
			die(url, "timed out connecting");
		}
		pfd.fd = dial_fd(d);
		pfd.events = dial_events(d);
		if (poll(&pfd, 1, 100) == -1 && errno != EINTR)
			die("poll", strerror(errno));
	}
	if (r == DIAL_FAILED) {
		dial_free(d);
		die(url, err);
	}
	cfg.role = WS_ROLE_CLIENT;
	cfg.max_message = MAX_MESSAGE;
	cfg.max_output = MAX_OUTPUT;
	if ((c = dial_finish(d, &cfg, &callbacks, NULL, &ws, err)) == NULL)
		die(url, err);
	return c;
}

/* Run until the connection is done.  Returns 0 or a ws_error. */
static int
loop(void)
{
	struct pollfd	 pfd;
	uint64_t	 deadline = 0;
	int		 r;

	for (;;) {
		if ((r = ws_conn_flush(ws)) != 0)
			return r;
		if (ws_conn_done(ws))
			return 0;
		if (ws_conn_close_sent(ws) && deadline == 0)
			deadline = util_mono_ms() + CLOSE_TIMEOUT_MS;
		if (deadline != 0 && util_mono_ms() >= deadline)
			die("timed out waiting for the server's close", NULL);
		pfd.fd = ws_conn_fd(ws);
		pfd.events = ws_conn_events(ws);
		if (poll(&pfd, 1, 100) == -1) {
			if (errno == EINTR)
				continue;
			die("poll", strerror(errno));
		}
		/*
		 * Over TLS a read may be what unblocks a write and back, so
		 * any event tries both (the flush at the top of the loop).
		 */
		if (pfd.revents != 0 && (r = ws_conn_on_readable(ws)) != 0)
			return r;
	}
}

static const char *
code_text(unsigned code)
{
	switch (code) {
	case 1002:
		return "the server broke the protocol";
	case 1007:
		return "the server sent invalid UTF-8";
	case 1009:
		return "the server sent a message over 16 MiB";
	case 1011:
		return "the echo failed";
	}
	return "closed";
}

int
main(int argc, char **argv)
{
	unsigned	 sent;
	int		 ch, r;

	while ((ch = getopt(argc, argv, "C:kv")) != -1) {
		switch (ch) {
		case 'C':
			ca_file = optarg;
			break;
		case 'k':
			insecure = 1;
			break;
		case 'v':
			verbose = 1;
			break;
		default:
			usage();
		}
	}
	if (optind + 1 != argc)
		usage();
	ws = connect_url(argv[optind]);
	r = loop();
	sent = ws_conn_code_sent(ws);
	if (peer_first && ws_conn_close_sent(ws)) {
		fprintf(stderr, "closed %u\n", ws_conn_code_received(ws));
		ws_conn_free(ws);
		tp_tls_free(tls);
		return 0;
	}
	if (ws_conn_close_sent(ws))
		fprintf(stderr, "ws-echo-client: sent close %u: %s\n", sent,
		    code_text(sent));
	else if (r != 0)
		fprintf(stderr, "ws-echo-client: connection lost: %s\n",
		    ws_strerror(r));
	else
		fprintf(stderr, "ws-echo-client: connection lost without a "
		    "close\n");
	ws_conn_free(ws);
	tp_tls_free(tls);
	return 1;
}
