/*
 * Copyright (c) 2026 The chat authors.
 *
 * dial: the client side of getting a WebSocket: parse a ws:// URL,
 * connect a non-blocking TCP socket, send the upgrade request, read and
 * check the 101 response, then hand over a ws_conn (with any bytes that
 * arrived after the response head).  A state machine driven by the
 * caller's poll loop: it never blocks except in getaddrinfo().
 * Errors are written as a sentence into a caller-supplied buffer.
 */
#ifndef DIAL_H
#define DIAL_H

#include <stddef.h>

#include "handshake.h"

struct ws_conn;
struct ws_callbacks;
struct ws_config;

#define DIAL_ERRLEN	256

struct dial_url {
	int	tls;			/* wss:// */
	char	host[HS_MAX_HOST + 1];	/* name or address, no brackets */
	char	port[8];
	char	hostport[HS_MAX_HOST + 16];	/* for the Host header */
	char	path[HS_MAX_TARGET + 1];	/* path of the URL, "" if none */
};

enum dial_state {
	DIAL_AGAIN = 0,		/* poll for dial_events() and call again */
	DIAL_DONE = 1,		/* dial_finish() may be called */
	DIAL_FAILED = -1	/* err says why */
};

struct dial;

/*
 * Parse "ws://host[:port][/path]" (IPv6 as [addr]).  Returns 0, or -1
 * with err[DIAL_ERRLEN] saying why.
 */
int	dial_parse_url(const char *url, struct dial_url *u, char *err);

/*
 * Resolve u->host and start connecting; the request will ask for
 * target (path and query).  extra_headers: NULL or lines ending in CRLF.
 * Returns NULL with err filled on failure.
 */
struct dial	*dial_start(const struct dial_url *u, const char *target,
		    const char *extra_headers, char *err);

/* The fd to poll and the events it needs now. */
int	dial_fd(const struct dial *);
short	dial_events(const struct dial *);

/*
 * Make progress after poll.  Returns a dial_state; on DIAL_FAILED err
 * says why, e.g. "Connection refused" or "server answered 404 Not
 * Found: unknown path".  *http_status receives the response status
 * when one was read (0 otherwise); it may be NULL.
 */
int	dial_step(struct dial *, char *err, int *http_status);

/*
 * After DIAL_DONE: create the ws_conn (which takes the socket), feeding
 * it bytes that followed the 101 head.  The dial is freed either way.
 * Returns NULL with err filled on failure.
 */
struct ws_conn	*dial_finish(struct dial *, const struct ws_config *cfg,
		    const struct ws_callbacks *cb, void *arg, char *err);

/* Abandon a dial (closes its socket).  NULL is allowed. */
void	dial_free(struct dial *);

#endif /* DIAL_H */
