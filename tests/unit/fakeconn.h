/*
 * Copyright (c) 2026 The chat authors.
 *
 * fakeconn.h: chat connections for the router's unit tests, without a
 * listener: one with no socket, or one with a WebSocket over a
 * socketpair whose other end the test reads.  Included by a test after
 * it defines its "static struct server srv".
 */
#ifndef FAKECONN_H
#define FAKECONN_H

/* Free srv's router and store (and its touch list), zero it. */
static void
srv_free(void)
{
	router_free(srv.router);
	store_close(srv.store);
	free(srv.touch);
	memset(&srv, 0, sizeof(srv));
}

/* A chat connection without a socket. */
static struct client *
newc(void)
{
	struct client	*c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		abort();
	c->srv = &srv;
	c->state = CLIENT_CHAT;
	return c;
}

static void
on_message(void *arg, enum ws_opcode op, const uint8_t *p, size_t len)
{
}

/* A chat connection with a WebSocket; *peer is the other end. */
static struct client *
newc_ws(int *peer)
{
	static const struct ws_callbacks cb = { on_message, NULL };
	struct ws_config wc;
	struct client	*c = newc();
	int		 sv[2];

	*peer = -1;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1) {
		perror("socketpair");
		return c;
	}
	(void)fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
	memset(&wc, 0, sizeof(wc));
	wc.role = WS_ROLE_SERVER;
	wc.max_message = srv.cfg.max_message;
	wc.max_output = srv.cfg.max_output;
	c->ws = ws_conn_new(&wc, tp_plain_new(sv[0]), &cb, c);
	*peer = sv[1];
	return c;
}

static void
free_ws(struct client *c, int peer)
{
	client_free(c);
	if (peer != -1)
		close(peer);
}

/* Everything the server wrote to c so far, read at peer: bytes in buf. */
static size_t
read_peer(struct client *c, int peer, uint8_t *buf, size_t cap)
{
	size_t	n = 0;
	ssize_t	k;
	int	spins;

	for (spins = 0; spins < 100000 && n < cap; spins++) {
		if (c->ws != NULL)
			(void)ws_conn_flush(c->ws);
		k = recv(peer, buf + n, cap - n, MSG_DONTWAIT);
		if (k > 0) {
			n += (size_t)k;
			continue;
		}
		if (k == -1 && errno != EAGAIN && errno != EWOULDBLOCK)
			break;
		if (c->ws == NULL || ws_conn_pending(c->ws) == 0)
			break;
	}
	return n;
}

#endif /* FAKECONN_H */
