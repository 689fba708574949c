/*
 * Copyright (c) 2026 The chat authors.
 *
 * wsc: a minimal WebSocket client on common/ (dial + ws), for the
 * integration tests: our own frame layer against a peer we did not
 * write.  Each stdin line is sent as one text message; each text
 * message received is printed as one line ("binary N bytes" for
 * binary).  At end of input it sends close 1000 and waits (at most 5 s)
 * for the server's close.  -e echoes every message back until closed.
 * wss:// URLs are checked against the system's CAs, or those in -C
 * FILE; -k skips the check.  Prints "closed CODE" on stderr; exits 0 on
 * a clean close, else 1.
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
#define LINE_MAX_LEN		(1 << 20)

static struct ws_conn	*ws;
static int		 echo;
static struct tp_tls	*tls;
static const char	*ca_file;
static int		 insecure;

static void __attribute__((noreturn))
die(const char *what, const char *why)
{
	if (why != NULL)
		fprintf(stderr, "wsc: %s: %s\n", what, why);
	else
		fprintf(stderr, "wsc: %s\n", what);
	exit(1);
}

static void
on_message(void *arg, enum ws_opcode op, const uint8_t *data, size_t len)
{
	if (echo) {
		if (ws_conn_send(ws, op, data, len, NULL) != 0)
			fprintf(stderr, "wsc: echo failed\n");
		return;
	}
	if (op == WS_OP_BINARY)
		printf("binary %zu bytes\n", len);
	else {
		fwrite(data, 1, len, stdout);
		putchar('\n');
	}
	fflush(stdout);
}

static const struct ws_callbacks callbacks = { on_message, NULL };

static struct ws_conn *
connect_url(const char *url)
{
	struct dial_url	 u;
	struct dial	*d;
	struct pollfd	 pfd;
	struct ws_config cfg;
	char		 err[DIAL_ERRLEN];
	uint64_t	 deadline = util_mono_ms() + DIAL_TIMEOUT_MS;
	int		 r;
	struct ws_conn	*c;

	if (dial_parse_url(url, &u, err) != 0)
		die(err, NULL);
	if (u.tls && (tls = tp_tls_client(ca_file, insecure, err)) == NULL)
		die(err, NULL);
	if ((d = dial_start(&u, tls, u.path[0] != '\0' ? u.path : "/", NULL,
	    0, err)) == NULL)
		die(err, NULL);
	while ((r = dial_step(d, err, NULL)) == DIAL_AGAIN) {
		if (util_mono_ms() >= deadline)
			die("timed out connecting", NULL);
		pfd.fd = dial_fd(d);
		pfd.events = dial_events(d);
		if (poll(&pfd, 1, 100) == -1 && errno != EINTR)
			die("poll", strerror(errno));
	}
	if (r == DIAL_FAILED) {
		dial_free(d);
		die(err, NULL);
	}
	cfg.role = WS_ROLE_CLIENT;
	cfg.max_message = 16 << 20;
	cfg.max_output = 64 << 20;
	if ((c = dial_finish(d, &cfg, &callbacks, NULL, &ws, err)) == NULL)
		die(err, NULL);
	return c;
}

/* Send each complete line in buf; keep the rest.  Returns bytes kept. */
static size_t
send_lines(char *buf, size_t len)
{
	char	*nl, *p = buf;
	size_t	 n;

	while ((nl = memchr(p, '\n', len - (size_t)(p - buf))) != NULL) {
		n = (size_t)(nl - p);
		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (ws_conn_send(ws, WS_OP_TEXT, p, n, NULL) != 0)
			die("cannot send a line (not UTF-8?)", NULL);
		p = nl + 1;
	}
	n = len - (size_t)(p - buf);
	memmove(buf, p, n);
	return n;
}

static void
loop(void)
{
	struct pollfd	 pfd[2];
	static char	 buf[LINE_MAX_LEN];
	size_t		 have = 0;
	uint64_t	 deadline = 0;
	ssize_t		 n;
	int		 input = !echo, nfds;

	for (;;) {
		if (ws_conn_flush(ws) != 0 || ws_conn_done(ws))
			break;
		if (deadline != 0 && util_mono_ms() >= deadline)
			die("timed out waiting for the close", NULL);
		if (input && ws_conn_close_sent(ws))
			input = 0;
		pfd[0].fd = ws_conn_fd(ws);
		pfd[0].events = ws_conn_events(ws);
		pfd[1].fd = STDIN_FILENO;
		pfd[1].events = POLLIN;
		nfds = input ? 2 : 1;
		if (poll(pfd, nfds, 100) == -1) {
			if (errno == EINTR)
				continue;
			die("poll", strerror(errno));
		}
		/*
		 * Any event, also POLLOUT, reads: over TLS a read may be
		 * blocked on a write and back (the flush is at the top).
		 */
		if (pfd[0].revents != 0 && ws_conn_on_readable(ws) != 0)
			break;
		if (!input || pfd[1].revents == 0)
			continue;
		n = read(STDIN_FILENO, buf + have, sizeof(buf) - have);
		if (n > 0) {
			have = send_lines(buf, have + (size_t)n);
			if (have == sizeof(buf))
				die("input line too long", NULL);
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (have > 0 && ws_conn_send(ws, WS_OP_TEXT, buf, have,
		    NULL) != 0)
			die("cannot send the last line", NULL);
		input = 0;
		ws_conn_close(ws, 1000, NULL);
		deadline = util_mono_ms() + CLOSE_TIMEOUT_MS;
	}
}

int
main(int argc, char **argv)
{
	int		 ch, clean;

	while ((ch = getopt(argc, argv, "C:ek")) != -1) {
		switch (ch) {
		case 'C':
			ca_file = optarg;
			break;
		case 'e':
			echo = 1;
			break;
		case 'k':
			insecure = 1;
			break;
		default:
			fprintf(stderr, "usage: wsc [-ek] [-C ca-file] "
			    "ws[s]://host:port/path\n");
			return 2;
		}
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "usage: wsc [-ek] [-C ca-file] "
		    "ws[s]://host:port/path\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	ws = connect_url(argv[optind]);
	loop();
	clean = ws_conn_close_sent(ws) && ws_conn_close_received(ws);
	fprintf(stderr, "closed %u\n", ws_conn_code_received(ws));
	ws_conn_free(ws);
	tp_tls_free(tls);
	if (!clean) {
		fprintf(stderr, "wsc: connection lost without a close\n");
		return 1;
	}
	return 0;
}
