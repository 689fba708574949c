/*
 * Copyright (c) 2026 The chat authors.
 *
 * dial: the client side of getting a WebSocket: parse a ws:// or wss://
 * URL, connect a non-blocking TCP socket, run the TLS handshake for
 * wss://, send the upgrade request, read and check the 101 response,
 * then hand over a ws_conn (with any bytes that arrived after the
 * response head).  A state machine driven by the caller's poll loop: it
 * never blocks except in getaddrinfo().  Errors are written as a
 * sentence into a caller-supplied buffer.
 */
#ifndef DIAL_H
#define DIAL_H

#include <stddef.h>

#include "handshake.h"

struct tp_tls;
struct ws_conn;
struct ws_callbacks;
struct ws_config;

#define DIAL_ERRLEN	256
#define DIAL_BODYLEN	120	/* kept of a refusal's first body line */

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
 * Parse "ws://host[:port][/path]" or the same with wss:// (IPv6 as
 * [addr]); the port defaults to 80 for ws://, 443 for wss://.  Returns
 * 0, or -1 with err[DIAL_ERRLEN] saying why.
 */
int	dial_parse_url(const char *url, struct dial_url *u, char *err);

enum dial_flags {
	DIAL_COMPRESS = 1 << 0	/* offer permessage-deflate (RFC 7692) */
};

/*
 * Resolve u->host and start connecting; the request will ask for
 * target (path and query).  extra_headers: NULL or lines ending in CRLF.
 * flags: enum dial_flags; with DIAL_COMPRESS the connection made by
 * dial_finish() compresses if the server agreed (dial_compressed()),
 * and a server answer that breaks RFC 7692 fails the dial.
 * tls (from tp_tls_client()) is required for a wss:// URL and ignored
 * for ws://; it is borrowed and must outlive the dial and the ws_conn
 * made from it.  For wss://, u->host is sent as SNI (names only) and
 * checked against the certificate unless tls is insecure.  Returns NULL
 * with err filled on failure.
 */
struct dial	*dial_start(const struct dial_url *u, struct tp_tls *tls,
		    const char *target, const char *extra_headers, int flags,
		    char *err);

/*
 * The fd to poll and the events it needs now.  During a TLS handshake
 * these may be the opposite of what the phase suggests (a request
 * write waiting for the server's reply): poll for exactly these.
 */
int	dial_fd(const struct dial *);
short	dial_events(const struct dial *);

/*
 * Make progress after poll.  Returns a dial_state; on DIAL_FAILED err
 * says why, e.g. "Connection refused", "server answered 404 Not Found:
 * unknown path" or, for wss://, tp_strerror()'s words such as
 * "certificate has expired".  *http_status receives the response
 * status when one was read (0 otherwise); it may be NULL.
 */
int	dial_step(struct dial *, char *err, int *http_status);

/*
 * After DIAL_DONE: create the ws_conn (which takes the transport, plain
 * or TLS) and feed it the bytes that followed the 101 head.  Those may
 * hold messages, so the connection is stored in *slot (if not NULL)
 * before any callback runs: a callback can answer through it.  The dial
 * is freed either way.  Returns the connection, or NULL (and *slot
 * NULL) with err filled on failure.
 */
struct ws_conn	*dial_finish(struct dial *, const struct ws_config *cfg,
		    const struct ws_callbacks *cb, void *arg,
		    struct ws_conn **slot, char *err);

/* After DIAL_DONE: nonzero if the server agreed to compress. */
int	dial_compressed(const struct dial *);

/*
 * After DIAL_FAILED with an HTTP status: the first line of the
 * response body as printable ASCII (at most DIAL_BODYLEN - 1 bytes),
 * such as the server's "token has expired"; "" if there was none.
 * Valid until dial_free().
 */
const char	*dial_body(const struct dial *);

/*
 * Abandon a dial (closes its socket and wipes the request, which may
 * hold credentials).  NULL is allowed.
 */
void	dial_free(struct dial *);

#endif /* DIAL_H */
