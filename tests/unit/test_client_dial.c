/*
 * Copyright (c) 2026 The chat authors.
 *
 * Unit tests for common/dial.c: URL parsing, and the handshake driven
 * against a scripted peer on a 127.0.0.1 socket: a refusal with its
 * body line, a bad accept key, a refused port, and a 101 whose frame
 * arrives in the same segment (it must reach the ws_conn callbacks).
 * For wss://: no TLS configuration is refused, and a peer that is not
 * TLS (answers in clear text, or hangs up on the ClientHello) is named
 * as such.  Certificate checks need certificates: tests/integ/test_tls*.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dial.h"
#include "handshake.h"
#include "tap.h"
#include "transport.h"
#include "ws.h"

static void
test_urls(void)
{
	struct dial_url	u;
	char		err[DIAL_ERRLEN];

	CHECK(dial_parse_url("ws://127.0.0.1:8000", &u, err) == 0);
	CHECK_STR(u.host, "127.0.0.1");
	CHECK_STR(u.port, "8000");
	CHECK_STR(u.hostport, "127.0.0.1:8000");
	CHECK_STR(u.path, "");
	CHECK_INT(u.tls, 0);

	CHECK(dial_parse_url("ws://example.org/chat?x=1", &u, err) == 0);
	CHECK_STR(u.port, "80");
	CHECK_STR(u.path, "/chat?x=1");

	CHECK(dial_parse_url("wss://[::1]:9/", &u, err) == 0);
	CHECK_STR(u.host, "::1");
	CHECK_STR(u.hostport, "[::1]:9");
	CHECK_INT(u.tls, 1);

	CHECK(dial_parse_url("http://x", &u, err) == -1);
	CHECK(strstr(err, "ws://") != NULL);
	CHECK(dial_parse_url("ws://", &u, err) == -1);
	CHECK(dial_parse_url("ws://h:0", &u, err) == -1);
	CHECK(dial_parse_url("ws://h:65536", &u, err) == -1);
	CHECK(dial_parse_url("ws://h:80x", &u, err) == -1);
	CHECK(dial_parse_url("ws://[::1", &u, err) == -1);
	CHECK(dial_parse_url("ws://h/#frag", &u, err) == -1);
	CHECK(dial_parse_url("ws://u@h/", &u, err) == -1);
}

/* A listening socket on 127.0.0.1; its port goes into url. */
static int
listener(struct dial_url *u)
{
	struct sockaddr_in	sin;
	socklen_t		len = sizeof(sin);
	char			url[64], err[DIAL_ERRLEN];
	int			fd;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd == -1 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(fd, 4) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) == -1) {
		perror("listener");
		exit(1);
	}
	snprintf(url, sizeof(url), "ws://127.0.0.1:%d",
	    ntohs(sin.sin_port));
	if (dial_parse_url(url, u, err) == -1)
		exit(1);
	return fd;
}

/* Step d until it is no longer DIAL_AGAIN, at most tries x 10 ms. */
static int
drive_n(struct dial *d, char *err, int *status, int tries)
{
	struct pollfd	pfd;
	int		r = DIAL_AGAIN, i;

	for (i = 0; i < tries && r == DIAL_AGAIN; i++) {
		pfd.fd = dial_fd(d);
		pfd.events = dial_events(d);
		if (poll(&pfd, 1, 10) > 0)
			r = dial_step(d, err, status);
	}
	return r;
}

#define drive(d, err, status)	drive_n(d, err, status, 500)
#define start(d, err, status)	drive_n(d, err, status, 10)

/* Accept, read the request head, return the key it carried. */
static int
serve_request(int lfd, char *key)
{
	char	buf[HS_MAX_HEAD], *k;
	size_t	len = 0;
	ssize_t	n;
	int	fd;

	if ((fd = accept(lfd, NULL, NULL)) == -1)
		return -1;
	while (len < sizeof(buf) - 1 && (n = read(fd, buf + len,
	    sizeof(buf) - 1 - len)) > 0) {
		len += (size_t)n;
		buf[len] = '\0';
		if (strstr(buf, "\r\n\r\n") != NULL)
			break;
	}
	buf[len] = '\0';
	key[0] = '\0';
	if ((k = strstr(buf, "Sec-WebSocket-Key: ")) != NULL) {
		memcpy(key, k + 19, HS_KEY_LEN);
		key[HS_KEY_LEN] = '\0';
	}
	CHECK(strncmp(buf, "GET /demo/ws/8888 HTTP/1.1\r\n", 28) == 0);
	return fd;
}

static int	got_message;

static void
on_message(void *arg, enum ws_opcode op, const uint8_t *data, size_t len)
{
	got_message = op == WS_OP_TEXT && len == 2 &&
	    memcmp(data, "hi", 2) == 0;
}

static void
test_refused(void)
{
	struct dial_url	 u;
	struct dial	*d;
	char		 err[DIAL_ERRLEN], key[HS_KEY_LEN + 1];
	const char	*resp = "HTTP/1.1 404 Not Found\r\nContent-Length: 14\r\n"
	    "Connection: close\r\n\r\nno such path\r\n";
	int		 lfd, fd, status;

	lfd = listener(&u);
	d = dial_start(&u, NULL, "/demo/ws/8888", NULL, 0, err);
	CHECK(d != NULL);
	if (d == NULL)
		return;
	/* Connect completes against the backlog; then answer. */
	CHECK_INT(start(d, err, &status), DIAL_AGAIN);
	fd = serve_request(lfd, key);
	CHECK(fd != -1);
	CHECK(write(fd, resp, strlen(resp)) == (ssize_t)strlen(resp));
	CHECK_INT(drive(d, err, &status), DIAL_FAILED);
	CHECK_INT(status, 404);
	CHECK_STR(err, "server answered 404 Not Found: no such path");
	dial_free(d);
	close(fd);

	/* A 101 with the wrong accept key is refused. */
	d = dial_start(&u, NULL, "/demo/ws/8888", NULL, 0, err);
	start(d, err, &status);
	fd = serve_request(lfd, key);
	resp = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
	    "Connection: Upgrade\r\nSec-WebSocket-Accept: "
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n\r\n";
	CHECK(write(fd, resp, strlen(resp)) == (ssize_t)strlen(resp));
	CHECK_INT(drive(d, err, &status), DIAL_FAILED);
	CHECK(strncmp(err, "bad handshake response", 22) == 0);
	dial_free(d);
	close(fd);
	close(lfd);

	/* Nobody listens any more: the connect is refused. */
	d = dial_start(&u, NULL, "/demo/ws/8888", NULL, 0, err);
	if (d != NULL) {
		CHECK_INT(drive(d, err, &status), DIAL_FAILED);
		dial_free(d);
	}
	CHECK_STR(err, "Connection refused");
}

static void
test_accepted(void)
{
	static const struct ws_callbacks cb = { on_message, NULL };
	struct ws_config cfg = { WS_ROLE_CLIENT, 1 << 20, 1 << 22 };
	struct dial_url	 u;
	struct dial	*d;
	struct ws_conn	*c;
	char		 err[DIAL_ERRLEN], key[HS_KEY_LEN + 1];
	char		 accept[HS_ACCEPT_LEN + 1], resp[512];
	int		 lfd, fd, status, n;

	lfd = listener(&u);
	d = dial_start(&u, NULL, "/demo/ws/8888", "User-Agent: t\r\n", 0,
	    err);
	CHECK(d != NULL);
	if (d == NULL)
		return;
	start(d, err, &status);
	fd = serve_request(lfd, key);
	CHECK(hs_accept_key(key, accept) == HS_OK);
	n = snprintf(resp, sizeof(resp), "HTTP/1.1 101 Switching Protocols"
	    "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Accept: %s\r\n\r\n\x81\x02hi", accept);
	CHECK(write(fd, resp, (size_t)n) == n);
	CHECK_INT(drive(d, err, &status), DIAL_DONE);
	CHECK_INT(status, 101);
	c = dial_finish(d, &cfg, &cb, NULL, NULL, err);
	CHECK(c != NULL);
	CHECK_INT(got_message, 1);
	ws_conn_free(c);
	close(fd);
	close(lfd);
}

/* A wss:// URL for a listener made by listener(). */
static void
to_wss(struct dial_url *u)
{
	char	url[64], err[DIAL_ERRLEN];

	snprintf(url, sizeof(url), "wss://127.0.0.1:%s", u->port);
	if (dial_parse_url(url, u, err) == -1)
		exit(1);
}

/* Accept, read what the client sends first, answer with resp (or hang up). */
static int
serve_hello(int lfd, const char *resp)
{
	uint8_t	buf[4096];
	int	fd;

	if ((fd = accept(lfd, NULL, NULL)) == -1)
		return -1;
	CHECK(read(fd, buf, sizeof(buf)) > 0);
	/* A TLS handshake record: content type 22. */
	CHECK_INT(buf[0], 0x16);
	if (resp != NULL)
		CHECK(write(fd, resp, strlen(resp)) == (ssize_t)strlen(resp));
	else {
		close(fd);
		fd = -1;
	}
	return fd;
}

static void
test_tls(void)
{
	struct dial_url	 u;
	struct dial	*d;
	struct tp_tls	*tls;
	char		 err[DIAL_ERRLEN], tperr[TP_ERRLEN];
	int		 lfd, fd, status;

	lfd = listener(&u);
	to_wss(&u);
	CHECK(dial_start(&u, NULL, "/demo/ws/8888", NULL, 0, err) == NULL);
	CHECK_STR(err, "wss:// needs a TLS configuration");

	tls = tp_tls_client(NULL, 1, tperr);
	CHECK(tls != NULL);
	if (tls == NULL)
		return;

	/* A plain HTTP server answers the ClientHello with a 400. */
	d = dial_start(&u, tls, "/demo/ws/8888", NULL, 0, err);
	CHECK(d != NULL);
	if (d == NULL)
		return;
	CHECK_INT(start(d, err, &status), DIAL_AGAIN);
	/* The request waits for the ServerHello: only POLLIN helps. */
	CHECK_INT(dial_events(d), POLLIN);
	fd = serve_hello(lfd, "HTTP/1.1 400 Bad Request\r\n"
	    "Content-Length: 0\r\n\r\n");
	CHECK_INT(drive(d, err, &status), DIAL_FAILED);
	CHECK_STR(err, "not TLS (or an unsupported version)");
	CHECK_INT(status, 0);
	dial_free(d);
	close(fd);

	/* A peer that hangs up on the ClientHello. */
	d = dial_start(&u, tls, "/demo/ws/8888", NULL, 0, err);
	start(d, err, &status);
	serve_hello(lfd, NULL);
	CHECK_INT(drive(d, err, &status), DIAL_FAILED);
	CHECK_STR(err, "server closed the connection during the TLS "
	    "handshake");
	dial_free(d);

	close(lfd);
	tp_tls_free(tls);
}

int
main(void)
{
	test_urls();
	test_refused();
	test_accepted();
	test_tls();
	return test_done();
}
