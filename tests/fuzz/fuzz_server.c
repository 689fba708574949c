/*
 * Copyright (c) 2026 The chat authors.
 *
 * libFuzzer target: the server's input path.  Bytes from a fake peer
 * go through a socketpair into a real server-side client: the HTTP
 * upgrade (a valid one is prepended when the first byte is odd, so
 * the corpus reaches the frame layer; one offering permessage-deflate
 * when its bit 1 is set too, so compressed frames reach the inflater),
 * wslay's parser, the codec and
 * the router with a small memory store (the pass's commit runs after
 * each read).  Everything is freed after each input, so LeakSanitizer
 * checks every path.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <netinet/in.h>

#include "log.h"
#include "server.h"
#include "users.h"
#include "util.h"

#define FUZZ_MAX	(32 * 1024)

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const char upgrade[] =
    "GET /demo/ws/8888 HTTP/1.1\r\nHost: fuzz\r\nUpgrade: websocket\r\n"
    "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Version: 13\r\n\r\n";
static const char upgrade_deflate[] =
    "GET /demo/ws/8888 HTTP/1.1\r\nHost: fuzz\r\nUpgrade: websocket\r\n"
    "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Version: 13\r\n"
    "Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n";

static void
drain(int fd)
{
	char	buf[65536];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

/* The server's core as main.c makes it, memory store, no cluster. */
static int
core_open(struct server *s, char *err, size_t errlen)
{
	struct router_config	rc;

	memset(&rc, 0, sizeof(rc));
	rc.max_per_user = s->cfg.max_per_user;
	rc.max_message = s->cfg.max_message;
	rc.max_output = s->cfg.max_output;
	rc.max_members = 4;
	rc.max_rooms = 2;
	s->cfg.store.sender_limit = 8;
	s->cfg.store.sender_bytes = s->cfg.store.target_bytes = 2048;
	if ((s->users = users_new()) == NULL ||
	    (s->presence = presence_new(s->users, &client_deliver_ops,
	    s->cfg.max_output)) == NULL)
		return -1;
	s->router = router_new(&rc, s->users, s->presence,
	    &client_deliver_ops, &s->cfg.store, NULL, err, errlen);
	return s->router != NULL ? 0 : -1;
}

static void
core_close(struct server *s)
{
	router_free(s->router);
	presence_free(s->presence);
	if (s->users != NULL) {
		users_reap(s->users);
		users_free(s->users);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct server	 s;
	struct client	*c;
	char		 err[256];
	struct sockaddr_in sin;
	int		 sv[2], i;

	if (size == 0 || size > FUZZ_MAX)
		return 0;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(4242);
	log_init("fuzz", LOG_ERROR, NULL);
	memset(&s, 0, sizeof(s));
	s.cfg.max_clients = 4;
	s.cfg.max_message = 1024;
	s.cfg.max_output = 8 * 1024;
	s.cfg.max_per_user = 2;
	s.cfg.store.queue_limit = 8;
	s.cfg.store.history_limit = 16;
	s.cfg.store.history_bytes = 4096;
	s.cfg.handshake_timeout = 1000;
	s.now = util_mono_ms();
	if (core_open(&s, err, sizeof(err)) != 0) {
		core_close(&s);
		return 0;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) {
		core_close(&s);
		return 0;
	}
	util_set_nonblock(sv[0]);
	util_set_nonblock(sv[1]);
	if ((c = client_new(&s, sv[0], (const struct sockaddr *)&sin, 0)) ==
	    NULL) {
		close(sv[1]);
		core_close(&s);
		return 0;
	}
	if ((data[0] & 3) == 3)
		(void)write(sv[1], upgrade_deflate, sizeof(upgrade_deflate) - 1);
	else if (data[0] & 1)
		(void)write(sv[1], upgrade, sizeof(upgrade) - 1);
	(void)write(sv[1], data + 1, size - 1);
	for (i = 0; i < 16 && !c->dead; i++) {
		client_on_readable(c);
		router_commit(s.router);
		client_detach_pending(c);
		client_flush(c);
		drain(sv[1]);
		client_timers(c);
	}
	client_shutdown(c);
	client_flush(c);
	client_free(c);
	close(sv[1]);
	server_loop_release(&s);
	core_close(&s);
	return 0;
}
