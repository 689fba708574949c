/*
 * Copyright (c) 2026 The chat authors.
 *
 * conn: the client's one connection to the server, kept alive.  It
 * dials (common/dial), reconnects with exponential backoff and jitter
 * after any loss, and keeps an outbox of chat messages that the server
 * has not acknowledged yet: each carries a client-chosen id, is sent in
 * order, and is sent again after a reconnect until an ack or an error
 * with its id arrives.  It never draws or prints; it reports through
 * the callbacks.  The caller owns poll() and asks conn_events().
 */
#ifndef CONN_H
#define CONN_H

#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "dial.h"

#define CONN_MAX_OUTBOX		1000	/* unacknowledged messages */
#define CONN_DIAL_TIMEOUT_MS	10000	/* connect plus handshake */
#define CONN_BACKOFF_MIN_MS	500
#define CONN_BACKOFF_MAX_MS	30000
#define CONN_STABLE_MS		10000	/* open this long: backoff resets */
#define CONN_CLOSE_TIMEOUT_MS	2000	/* for our closing handshake */
#define CONN_MAX_TOKEN		4096	/* bytes of a bearer token */
#define CONN_MAX_SEND		65536	/* bytes of a request: the server's
					   default --max-message */
/* conn_error() after a 401 or 403: this, the status, the server's words. */
#define CONN_REFUSED		"server refused the connection: "

enum conn_state {
	CONN_DIALING = 0,	/* connect and handshake under way */
	CONN_OPEN,		/* messages flow */
	CONN_WAITING,		/* lost: retrying at conn_retry_at() */
	CONN_CLOSING,		/* conn_close() called */
	CONN_CLOSED		/* finished: conn_done() */
};

/* Why the server would not have us, when that was the reason. */
enum conn_auth {
	CONN_AUTH_OK = 0,
	CONN_AUTH_REFUSED,	/* the handshake was answered 401 or 403 */
	CONN_AUTH_EXPIRED	/* closed with 1008 "token expired" */
};

/* A message of the outbox, given back with its ack or error. */
struct conn_sent {
	uint64_t	 tag;		/* as given to conn_send() */
	const char	*target;
	const char	*text;		/* UTF-8, len bytes */
	size_t		 len;
};

struct conn_callbacks {
	/* The state changed; conn_error() says why when it was lost. */
	void	(*on_state)(void *arg, enum conn_state st);
	/*
	 * Every message from the server, parsed, with its raw text.  For
	 * an ack, or an error carrying the id of a message in the outbox,
	 * sent is that message, valid during the call only, and the
	 * message has left the outbox.  Otherwise sent is NULL.
	 */
	void	(*on_event)(void *arg, const struct codec_ev *ev,
		    const char *raw, size_t rawlen,
		    const struct conn_sent *sent);
	/*
	 * Before each attempt, may be NULL: write the bearer token to
	 * send into tok[CONN_MAX_TOKEN + 1] ("" for none: no
	 * Authorization header) and return 0, or return -1 with
	 * err[DIAL_ERRLEN] saying why; the attempt then fails with that
	 * reason.  conn wipes tok after use and never logs it.
	 */
	int	(*token)(void *arg, char *tok, char *err);
	/*
	 * Before each attempt, may be NULL: return 1 with *since set to
	 * resume after that seq (the request then asks for ?since=N, and
	 * &epoch=E when epoch[CODEC_MAX_EPOCH + 1] was set to the
	 * numbering it belongs to), 2 to ask only for the epoch (?epoch=:
	 * nothing to resume after yet), or 0 to connect without either.
	 */
	int	(*since)(void *arg, uint64_t *since, char *epoch);
};

struct conn;

/*
 * Create a connection for user to url; the first conn_tick() starts
 * dialing, so no callback runs before conn_new() returns.  tls (from
 * tp_tls_client()) is needed for a wss:// url and is borrowed: it must
 * outlive the conn.  url_text is the URL as the user wrote it (for
 * messages); cb is copied.  Returns NULL when out of memory.
 */
struct conn	*conn_new(const struct dial_url *url, struct tp_tls *tls,
		    const char *url_text, const char *user,
		    const struct conn_callbacks *cb, void *arg);
void		 conn_free(struct conn *);

/*
 * Offer permessage-deflate (RFC 7692) from the next connect on; on by
 * default.  A server that declines gets plain frames.
 */
void		 conn_set_compress(struct conn *, int on);

/*
 * Put a chat message into the outbox; it goes out now if connected,
 * else after the next connect.  target is a user id, or "#" and a room
 * name for a room.  tag (nonzero) comes back in on_event's sent, with
 * the target and text.
 * id, if not NULL, receives the id as sent (at most 32 bytes with NUL).
 * Returns 0; CONN_SEND_FULL when the outbox is full or memory is
 * short; CONN_SEND_TOO_BIG when the request would pass CONN_MAX_SEND
 * bytes, which the server would refuse by closing the connection.
 */
#define CONN_SEND_FULL		(-1)
#define CONN_SEND_TOO_BIG	(-2)
int	conn_send(struct conn *, const char *target, const char *text,
	    size_t len, uint64_t tag, char *id);

/*
 * The size of the request conn_send() would send for a text of len
 * bytes to target (JSON, with escapes), or 0 when out of memory.
 */
size_t	conn_send_size(const char *target, const char *text, size_t len);

/* Ask for the user list.  Returns 0, or -1 when not connected. */
int	conn_who(struct conn *);
/*
 * A room request: type "join", "leave" or "members" with room, or
 * "rooms" with room NULL.  Returns 0, or -1 when not connected.
 */
int	conn_room(struct conn *, const char *type, const char *room);

/*
 * Watch the presence of users[0..n) (at most CODEC_MAX_WATCH; n 0:
 * nobody), replacing the list; sent now if connected and again after
 * every reconnect.
 */
void	conn_watch(struct conn *, const char *const *users, size_t n);

/*
 * Join room (NULL: none) at every connect, before the outbox is sent:
 * a client that talks in one room stays in it.  Sent now if connected.
 */
void	conn_set_room(struct conn *, const char *room);

/* Start the closing handshake; the outbox is kept but not sent. */
void	conn_close(struct conn *);

/* Poll set: fd (-1 when none) and events. */
int	conn_fd(const struct conn *);
short	conn_events(const struct conn *);

/* After poll: handle revents on conn_fd(); then run the timers. */
void	conn_io(struct conn *, short revents);
void	conn_tick(struct conn *, uint64_t now_ms);

/* Milliseconds until conn_tick() has work, or -1. */
int	conn_timeout(const struct conn *, uint64_t now_ms);

enum conn_state	 conn_state(const struct conn *);
int		 conn_done(const struct conn *);
/* Why the last attempt or connection failed ("" if it did not). */
const char	*conn_error(const struct conn *);
/* When the next attempt starts (monotonic ms), in CONN_WAITING. */
uint64_t	 conn_retry_at(const struct conn *);
/* Nonzero once a handshake has succeeded. */
int		 conn_ever_open(const struct conn *);
/* HTTP status of the last refused handshake, 0 if none. */
int		 conn_http_status(const struct conn *);
/*
 * Whether the last attempt or connection ended for want of a valid
 * token; conn_error() then reads "server refused the connection: 401
 * token has expired" (the status and the server's words) or "token
 * expired".
 */
enum conn_auth	 conn_auth(const struct conn *);
size_t		 conn_outbox(const struct conn *);

#endif /* CONN_H */
