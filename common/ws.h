/*
 * Copyright (c) 2026 The chat authors.
 *
 * ws: one WebSocket connection after the opening handshake, for either
 * role.  The only user of <wslay/wslay.h>: it wires wslay's callbacks to
 * a transport, buffers outgoing frames per connection so that a loop
 * pass costs one write per connection, bounds what a peer can make us
 * hold, and reports messages through plain callbacks.  It never polls,
 * prints or exits; the caller owns the loop and asks ws_conn_events().
 */
#ifndef WS_H
#define WS_H

#include <stddef.h>
#include <stdint.h>

struct pmce_params;
struct tp;
struct ws_conn;

enum ws_role {
	WS_ROLE_SERVER = 0,	/* expects masked frames, sends unmasked */
	WS_ROLE_CLIENT = 1	/* masks with arc4random_buf */
};

enum ws_opcode {
	WS_OP_TEXT = 1,
	WS_OP_BINARY = 2
};

enum ws_error {
	WS_OK = 0,
	WS_ERR_SYSTEM = -1,	/* see errno */
	WS_ERR_NOMEM = -2,
	WS_ERR_CLOSED = -3,	/* a close was queued: no more messages */
	WS_ERR_FULL = -4,	/* the output cap would be exceeded */
	WS_ERR_INVALID = -5,	/* bad argument: text not UTF-8, >123-byte
				   close reason, control payload > 125 */
	WS_ERR_PROTOCOL = -6,	/* the peer broke RFC 6455 */
	WS_ERR_TRANSPORT = -7	/* the transport failed */
};

struct ws_config {
	enum ws_role	role;
	size_t		max_message;	/* largest message received */
	size_t		max_output;	/* most bytes buffered for sending */
};

struct ws_callbacks {
	/* A complete text or binary message; data is freed on return. */
	void	(*on_message)(void *arg, enum ws_opcode op,
		    const uint8_t *data, size_t len);
	/*
	 * The peer's close frame (code 1005 if it had none); the echo is
	 * already queued.  Optional.
	 */
	void	(*on_close)(void *arg, uint16_t code, const uint8_t *reason,
		    size_t len);
};

/*
 * Create a connection over tp, which it owns from now on (also on
 * failure).  cb is kept, not copied: it must outlive the connection (a
 * static const table); arg is passed to every callback.  Returns NULL
 * when out of memory.  Free it with ws_conn_free().
 */
struct ws_conn	*ws_conn_new(const struct ws_config *cfg, struct tp *tp,
		    const struct ws_callbacks *cb, void *arg);

/*
 * Embedding, for a server holding many connections made alike: what
 * they share (the callbacks, role and limits) is kept once by the
 * caller, and each connection lives in caller-owned storage, inside the
 * caller's own per-connection allocation.  The callbacks' arg is that
 * allocation, found arg_off bytes before the connection: a connection
 * keeps no pointer to what it is inside.
 */
struct ws_shared {
	const struct ws_callbacks *cb;
	enum ws_role	 role;
	uint32_t	 max_message;	/* both at most 2^31 */
	uint32_t	 max_output;
	uint32_t	 arg_off;	/* arg = (char *)conn - arg_off */
};

/*
 * Fill sh from cfg and cb (kept, as in ws_conn_new()); the callbacks
 * get as arg the caller's struct holding the connection at offset
 * arg_off (at most UINT32_MAX).
 */
void	ws_shared_init(struct ws_shared *sh, const struct ws_config *cfg,
	    const struct ws_callbacks *cb, size_t arg_off);
/* The bytes ws_conn_init() needs (aligned as for a pointer or uint64_t). */
size_t	ws_conn_size(void);
/*
 * Make a connection over tp (owned from now on, also on failure) in mem,
 * ws_conn_size() bytes, sh->arg_off bytes into the caller's struct that
 * its callbacks get as arg.  sh is kept, not copied: it must outlive the
 * connection.  Returns mem as a connection, or NULL if tp is NULL.
 * Release it with ws_conn_release(), never ws_conn_free().
 */
struct ws_conn	*ws_conn_init(void *mem, const struct ws_shared *sh,
		    struct tp *tp);

/*
 * Use permessage-deflate (RFC 7692) as the handshake agreed, before any
 * byte is fed or sent.  From then on messages of 256 bytes or more
 * whose compressed form is smaller go out compressed, and compressed
 * messages are inflated as
 * they arrive, at most max_message bytes (1009 beyond), text checked
 * as UTF-8 once whole (1007).  No zlib state is held between messages
 * unless the peer may take over its window (params->peer_takeover).
 */
void	ws_conn_set_deflate(struct ws_conn *, const struct pmce_params *);

/*
 * Process bytes that arrived with the handshake (read before the
 * connection existed) as if they had just been read.  Returns 0 or a
 * ws_error.
 */
int	ws_conn_feed(struct ws_conn *, const uint8_t *p, size_t len);

/*
 * Read what the transport has and run it through the parser, calling
 * the callbacks.  Returns 0 (also when nothing was there) or a
 * ws_error; on WS_ERR_TRANSPORT or end of stream the connection is done.
 * Protocol violations queue a close with the RFC code (1002, 1007,
 * 1009) and return 0: see ws_conn_close_sent().
 */
int	ws_conn_on_readable(struct ws_conn *);

/*
 * Write buffered output.  Returns 0 (also if some remains: ask
 * ws_conn_events) or WS_ERR_TRANSPORT.
 */
int	ws_conn_flush(struct ws_conn *);

/*
 * Queue one message.  Text must be valid UTF-8.  Returns 0, or
 * WS_ERR_CLOSED, WS_ERR_FULL (nothing queued: the caller decides what a
 * slow peer deserves), WS_ERR_INVALID, WS_ERR_NOMEM.  The payload is
 * copied.  *endp, if not NULL, receives the output stream offset just
 * past this message's frame: it has reached the transport once
 * ws_conn_written() >= *endp.
 */
int	ws_conn_send(struct ws_conn *, enum ws_opcode op, const void *p,
	    size_t len, uint64_t *endp);

/* Queue a ping with payload p (<= 125 bytes).  0 or a ws_error. */
int	ws_conn_ping(struct ws_conn *, const void *p, size_t len);

/*
 * Start the closing handshake with code and a reason of at most 123
 * bytes of UTF-8 (NULL for none).  Later messages are refused.  Returns
 * 0, or WS_ERR_CLOSED if a close was already queued.
 */
int	ws_conn_close(struct ws_conn *, uint16_t code, const char *reason);

/*
 * Drop buffered output beyond stream offset off (which must be a frame
 * boundary at or past ws_conn_written()), so that a close can follow
 * at once.  Used to cut off a peer that does not read.
 */
void	ws_conn_truncate(struct ws_conn *, uint64_t off);

/*
 * Release the output buffer if it is empty, and the parser and
 * serialiser state (about 13 KB) if the connection is at a frame
 * boundary with nothing in progress; they come back on the next byte
 * in or message out.  Cheap: call it on idle connections from a
 * periodic sweep (a busy one keeps its buffer from pass to pass).
 */
void	ws_conn_trim(struct ws_conn *);

/* Nonzero if the connection holds no parser state (for tests, stats). */
int	ws_conn_at_rest(const struct ws_conn *);

/* POLLIN/POLLOUT the connection wants now (0 when done). */
short	ws_conn_events(const struct ws_conn *);

/*
 * Nonzero when nothing more will happen: the close handshake ended and
 * output is flushed, the peer vanished, or the transport failed.
 */
int	ws_conn_done(const struct ws_conn *);

/* Bytes queued but not yet written to the transport. */
size_t	ws_conn_pending(const struct ws_conn *);

/* Output stream offset written to the transport so far. */
uint64_t ws_conn_written(const struct ws_conn *);

/* Bytes read from the transports of every connection of the process. */
uint64_t ws_bytes_read(void);

/* Output stream offset of everything queued so far. */
uint64_t ws_conn_queued(const struct ws_conn *);

/* Nonzero once we queued a close / the peer's close arrived. */
int	ws_conn_close_sent(const struct ws_conn *);
int	ws_conn_close_received(const struct ws_conn *);

/*
 * The close code we sent / received; 1006 (abnormal) while none was,
 * 1005 if the peer's close had no code.
 */
uint16_t ws_conn_code_sent(const struct ws_conn *);
uint16_t ws_conn_code_received(const struct ws_conn *);

int	ws_conn_fd(const struct ws_conn *);

/*
 * Nonzero if the transport is TLS: an event in either direction may
 * unblock either call, so call both ws_conn_on_readable() and
 * ws_conn_flush() on any event.
 */
int	ws_conn_is_tls(const struct ws_conn *);

/* Why the transport failed (after WS_ERR_TRANSPORT). */
const char *ws_conn_transport_error(const struct ws_conn *);

/* A sentence for a ws_error. */
const char *ws_strerror(int code);

/* Close the transport and free everything.  NULL is allowed. */
void	ws_conn_free(struct ws_conn *);
/*
 * The same for a connection from ws_conn_init(): everything but its own
 * storage.
 */
void	ws_conn_release(struct ws_conn *);

#endif /* WS_H */
