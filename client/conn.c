/*
 * Copyright (c) 2026 The chat authors.
 *
 * conn: one self-healing connection and the outbox of unacknowledged
 * messages (see conn.h).  Delivery is at least once: a message whose ack
 * was lost with the connection is sent again, with the same id, after
 * the reconnect.  Framing is common/ws.c's, the handshake common/dial.c's;
 * this file only decides when to dial, what to send and what an answer
 * means.  The bearer token, if any, is asked for before every attempt
 * (so a renewed token file is picked up), sent, wiped and never logged.
 * The seq to resume after is asked for the same way, and goes into the
 * request's query as ?since=N.
 * It never draws, prints or exits, and only logs with log.h.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "codec.h"
#include "conn.h"
#include "dial.h"
#include "log.h"
#include "util.h"
#include "ws.h"

#define CONN_MAX_MESSAGE	(1024 * 1024)
#define CONN_MAX_OUTPUT		(4 * 1024 * 1024)
#define CONN_IDLEN		32

struct conn_item {
	char		 id[CONN_IDLEN];	/* as JSON, with quotes */
	char		 target[CODEC_MAX_ROOM + 2];	/* user, or #room */
	char		*text;
	size_t		 len;
	uint64_t	 tag;
	int		 sent;		/* on the current connection */
};

struct conn {
	struct dial_url		 url;
	struct tp_tls		*tls;		/* borrowed; NULL for ws:// */
	char			 url_text[512];
	char			 target[HS_MAX_TARGET + 1];
	char			 user[CODEC_MAX_USER + 1];
	struct conn_callbacks	 cb;
	void			*arg;

	enum conn_state		 state;
	struct dial		*dial;
	struct ws_conn		*ws;
	uint64_t		 deadline;	/* of a dial or our close */
	uint64_t		 retry_at;
	uint64_t		 opened_at;
	unsigned		 attempts;	/* failures since stable */
	int			 ever_open;
	int			 http_status;
	char			 error[DIAL_ERRLEN];

	/* The peer's close frame, for the message after the loss. */
	int			 peer_closed;
	uint16_t		 peer_code;
	char			 peer_reason[124];

	char			 (*watch)[CODEC_MAX_USER + 1];
	char			 room[CODEC_MAX_ROOM + 1];	/* "" */
	size_t			 nwatch;
	int			 watch_set;	/* conn_watch() was called */

	struct conn_item	*outbox;	/* ring of CONN_MAX_OUTBOX */
	size_t			 ofirst, ocount;

	char			 idprefix[8];
	unsigned long long	 idnext;
	int			 dial_flags;	/* enum dial_flags */
};

static void	conn_pump(struct conn *);

static void
conn_set_state(struct conn *c, enum conn_state st)
{
	if (c->state == st)
		return;
	c->state = st;
	if (c->cb.on_state != NULL)
		c->cb.on_state(c->arg, st);
}

static struct conn_item *
conn_item_at(struct conn *c, size_t i)
{
	return &c->outbox[(c->ofirst + i) % CONN_MAX_OUTBOX];
}

/* Remove outbox entry i, keeping the order of the rest. */
static void
conn_item_remove(struct conn *c, size_t i)
{
	free(conn_item_at(c, i)->text);
	for (; i + 1 < c->ocount; i++)
		*conn_item_at(c, i) = *conn_item_at(c, i + 1);
	c->ocount--;
}

struct conn *
conn_new(const struct dial_url *url, struct tp_tls *tls, const char *url_text,
    const char *user, const struct conn_callbacks *cb, void *arg)
{
	struct conn	*c;
	unsigned char	 r[3];
	size_t		 n;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	if ((c->outbox = calloc(CONN_MAX_OUTBOX, sizeof(*c->outbox))) ==
	    NULL) {
		free(c);
		return NULL;
	}
	c->url = *url;
	c->tls = tls;
	snprintf(c->url_text, sizeof(c->url_text), "%s", url_text);
	snprintf(c->user, sizeof(c->user), "%s", user);
	/* The endpoint lives under the URL's path: /demo/ws/{user}. */
	n = strlen(url->path);
	while (n > 0 && url->path[n - 1] == '/')
		n--;
	snprintf(c->target, sizeof(c->target), "%.*s/demo/ws/%s", (int)n,
	    url->path, user);
	c->cb = *cb;
	c->arg = arg;
	c->dial_flags = DIAL_COMPRESS;

	/*
	 * Ids are "c" + 24 random bits + "-" + a counter, so that acks
	 * for a previous run's messages never match ours.
	 */
	if (getrandom(r, sizeof(r), GRND_NONBLOCK) != sizeof(r)) {
		unsigned long	v = (unsigned long)getpid() ^
		    (unsigned long)time(NULL);

		r[0] = v & 0xff;
		r[1] = (v >> 8) & 0xff;
		r[2] = (v >> 16) & 0xff;
	}
	snprintf(c->idprefix, sizeof(c->idprefix), "c%02x%02x%02x", r[0],
	    r[1], r[2]);
	c->idnext = 1;
	/* The random jitter needs a seed too. */
	srandom((unsigned)r[0] << 16 | (unsigned)r[1] << 8 | r[2] |
	    (unsigned)getpid() << 24);

	/* The first conn_tick() dials. */
	c->state = CONN_WAITING;
	c->retry_at = 0;
	return c;
}

void
conn_set_compress(struct conn *c, int on)
{
	c->dial_flags = on ? DIAL_COMPRESS : 0;
}

void
conn_free(struct conn *c)
{
	if (c == NULL)
		return;
	dial_free(c->dial);
	ws_conn_free(c->ws);
	while (c->ocount > 0)
		conn_item_remove(c, c->ocount - 1);
	free(c->outbox);
	free(c->watch);
	free(c);
}

/* The attempt failed or the connection ended: wait, then dial again. */
static void
conn_lost(struct conn *c)
{
	uint64_t	now = util_mono_ms(), base, delay;
	size_t		i;
	unsigned	shift;

	if (c->ws != NULL) {
		ws_conn_free(c->ws);
		c->ws = NULL;
		if (now - c->opened_at >= CONN_STABLE_MS)
			c->attempts = 0;
	}
	dial_free(c->dial);
	c->dial = NULL;
	/* What was sent but not acknowledged goes out again. */
	for (i = 0; i < c->ocount; i++)
		conn_item_at(c, i)->sent = 0;
	if (c->state == CONN_CLOSING || c->state == CONN_CLOSED) {
		conn_set_state(c, CONN_CLOSED);
		return;
	}
	/* Full jitter on the upper half: [base/2, base). */
	shift = c->attempts < 6 ? c->attempts : 6;
	base = (uint64_t)CONN_BACKOFF_MIN_MS << shift;
	if (base > CONN_BACKOFF_MAX_MS)
		base = CONN_BACKOFF_MAX_MS;
	delay = base / 2 + (uint64_t)random() % (base / 2);
	c->attempts++;
	c->retry_at = now + delay;
	log_info("retrying in %llu ms (attempt %u)",
	    (unsigned long long)delay, c->attempts);
	conn_set_state(c, CONN_WAITING);
}

static void
conn_dial(struct conn *c)
{
	char		extra[64 + CONN_MAX_TOKEN + 32];
	char		tok[CONN_MAX_TOKEN + 1];
	char		target[sizeof(c->target) + 48 + CODEC_MAX_EPOCH];
	char		epoch[CODEC_MAX_EPOCH + 1];
	uint64_t	since;
	int		n;

	c->http_status = 0;
	c->peer_closed = 0;
	n = snprintf(extra, sizeof(extra), "User-Agent: chat-client/%s\r\n",
	    CHAT_VERSION);
	/* Resume after the last message shown (man/chat-protocol.7). */
	epoch[0] = '\0';
	switch (c->cb.since != NULL ? c->cb.since(c->arg, &since, epoch) : 0) {
	case 1:
		snprintf(target, sizeof(target), "%s%csince=%llu%s%s",
		    c->target, strchr(c->target, '?') != NULL ? '&' : '?',
		    (unsigned long long)since, epoch[0] != '\0' ?
		    "&epoch=" : "", epoch);
		break;
	case 2:
		/* No seq to resume after: ask for the epoch at once. */
		snprintf(target, sizeof(target), "%s%cepoch=", c->target,
		    strchr(c->target, '?') != NULL ? '&' : '?');
		break;
	default:
		snprintf(target, sizeof(target), "%s", c->target);
		break;
	}
	log_info("connecting to %s%s", c->url_text, target);
	c->state = CONN_DIALING;
	/* Asked at every attempt, so that a fresh token is picked up. */
	tok[0] = '\0';
	if (c->cb.token != NULL && c->cb.token(c->arg, tok, c->error) == -1) {
		explicit_bzero(tok, sizeof(tok));
		log_info("cannot connect to '%s': %s", c->url_text, c->error);
		conn_lost(c);
		return;
	}
	if (tok[0] != '\0') {
		snprintf(extra + n, sizeof(extra) - (size_t)n,
		    "Authorization: Bearer %s\r\n", tok);
		log_debug("sending a bearer token of %zu bytes", strlen(tok));
	}
	c->dial = dial_start(&c->url, c->tls, target, extra, c->dial_flags,
	    c->error);
	explicit_bzero(tok, sizeof(tok));
	explicit_bzero(extra, sizeof(extra));
	if (c->dial == NULL) {
		log_info("cannot connect to '%s': %s", c->url_text, c->error);
		conn_lost(c);
		return;
	}
	c->deadline = util_mono_ms() + CONN_DIAL_TIMEOUT_MS;
	if (c->cb.on_state != NULL)
		c->cb.on_state(c->arg, CONN_DIALING);
}

static void
conn_on_message(void *arg, enum ws_opcode op, const uint8_t *data,
    size_t len)
{
	struct conn		*c = arg;
	struct codec_ev		 ev;
	struct conn_item	 it;
	struct conn_sent	 sent, *sp = NULL;
	char			 detail[CODEC_MAX_DETAIL + 1], esc[200];
	size_t			 i;

	if (op != WS_OP_TEXT) {
		log_warn("ignoring a binary message of %zu bytes", len);
		return;
	}
	if (codec_parse_ev((const char *)data, len, &ev, detail) == -1) {
		log_warn("ignoring a bad message (%s): %s", detail,
		    util_escape(esc, sizeof(esc), data, len));
		return;
	}
	if ((ev.type == CODEC_EV_ACK || ev.type == CODEC_EV_ERROR) &&
	    ev.id[0] != '\0') {
		for (i = 0; i < c->ocount; i++) {
			if (strcmp(conn_item_at(c, i)->id, ev.id) == 0) {
				/* Out of the outbox; its text until after. */
				it = *conn_item_at(c, i);
				conn_item_at(c, i)->text = NULL;
				conn_item_remove(c, i);
				sent.tag = it.tag;
				sent.target = it.target;
				sent.text = it.text;
				sent.len = it.len;
				sp = &sent;
				break;
			}
		}
	}
	if (log_enabled(LOG_DEBUG))
		log_debug("received %s", util_escape(esc, sizeof(esc), data,
		    len));
	if (c->cb.on_event != NULL)
		c->cb.on_event(c->arg, &ev, (const char *)data, len, sp);
	if (sp != NULL)
		free(it.text);
	codec_ev_release(&ev);
}

static void
conn_on_close(void *arg, uint16_t code, const uint8_t *reason, size_t len)
{
	struct conn	*c = arg;

	c->peer_closed = 1;
	c->peer_code = code;
	if (len >= sizeof(c->peer_reason))
		len = sizeof(c->peer_reason) - 1;
	util_escape(c->peer_reason, sizeof(c->peer_reason), reason, len);
}

/* Send the watch list, if one was set. */
static void
conn_send_watch(struct conn *c)
{
	const char	*users[CODEC_MAX_WATCH];
	char		*msg;
	size_t		 i, len;

	if (c->state != CONN_OPEN || !c->watch_set)
		return;
	for (i = 0; i < c->nwatch; i++)
		users[i] = c->watch[i];
	if ((msg = codec_req_watch(users, c->nwatch, &len)) == NULL)
		return;
	(void)ws_conn_send(c->ws, WS_OP_TEXT, msg, len, NULL);
	free(msg);
}

static void
conn_opened(struct conn *c)
{
	static const struct ws_callbacks wcb = {
		conn_on_message, conn_on_close
	};
	struct ws_config	cfg;
	int			fd, one = 1, v, compressed;

	cfg.role = WS_ROLE_CLIENT;
	cfg.max_message = CONN_MAX_MESSAGE;
	cfg.max_output = CONN_MAX_OUTPUT;
	/*
	 * Report the state first: the bytes after the 101 may hold
	 * messages (a queue flushed on connect), and "connected" should
	 * come before them.
	 */
	conn_set_state(c, CONN_OPEN);
	compressed = dial_compressed(c->dial);
	c->ws = dial_finish(c->dial, &cfg, &wcb, c, &c->ws, c->error);
	c->dial = NULL;
	if (c->ws == NULL) {
		log_info("cannot connect to '%s': %s", c->url_text, c->error);
		conn_lost(c);
		return;
	}
	/* Notice a vanished server within about a minute. */
	fd = ws_conn_fd(c->ws);
	(void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	v = 30;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &v, sizeof(v));
	v = 10;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &v, sizeof(v));
	v = 3;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &v, sizeof(v));

	c->opened_at = util_mono_ms();
	c->ever_open = 1;
	c->error[0] = '\0';
	log_info("connected to %s%s%s", c->url_text, c->target,
	    compressed ? " (permessage-deflate)" : "");
	conn_send_watch(c);
	if (c->room[0] != '\0')
		(void)conn_room(c, "join", c->room);
	conn_pump(c);
}

/* The request for a chat message to target: a user, or "#room". */
static char *
conn_req_chat(const char *target, const char *text, size_t len,
    const char *id, size_t *lenp)
{
	if (target[0] == '#')
		return codec_req_room_chat(target + 1, text, len, id, lenp);
	return codec_req_chat(target, text, len, id, lenp);
}

/* Send what the outbox holds that this connection has not sent. */
static void
conn_pump(struct conn *c)
{
	struct conn_item	*it;
	char			*msg;
	size_t			 i, len;
	int			 r;

	if (c->state != CONN_OPEN)
		return;
	for (i = 0; i < c->ocount; i++) {
		it = conn_item_at(c, i);
		if (it->sent)
			continue;
		msg = conn_req_chat(it->target, it->text, it->len, it->id,
		    &len);
		if (msg == NULL)
			return;
		r = ws_conn_send(c->ws, WS_OP_TEXT, msg, len, NULL);
		free(msg);
		if (r == WS_ERR_FULL)
			return;		/* the rest after a flush */
		if (r != 0) {
			log_warn("cannot queue a message: %s",
			    ws_strerror(r));
			return;
		}
		it->sent = 1;
	}
}

size_t
conn_send_size(const char *target, const char *text, size_t len)
{
	char	*msg;
	size_t	 n;

	/* With the longest id we make: "c" + 6 hex + "-" + 20 digits. */
	if ((msg = conn_req_chat(target, text, len,
	    "\"cffffff-18446744073709551615\"", &n)) == NULL)
		return 0;
	free(msg);
	return n;
}

int
conn_send(struct conn *c, const char *target, const char *text, size_t len,
    uint64_t tag, char *id)
{
	struct conn_item	*it;
	size_t			 size;

	if ((size = conn_send_size(target, text, len)) == 0)
		return CONN_SEND_FULL;
	if (size > CONN_MAX_SEND)
		return CONN_SEND_TOO_BIG;
	if (c->ocount == CONN_MAX_OUTBOX)
		return CONN_SEND_FULL;
	it = conn_item_at(c, c->ocount);
	memset(it, 0, sizeof(*it));
	if ((it->text = malloc(len + 1)) == NULL)
		return CONN_SEND_FULL;
	memcpy(it->text, text, len);
	it->text[len] = '\0';
	it->len = len;
	it->tag = tag;
	snprintf(it->target, sizeof(it->target), "%s", target);
	snprintf(it->id, sizeof(it->id), "\"%s-%llu\"", c->idprefix,
	    c->idnext++);
	if (id != NULL)
		snprintf(id, CONN_IDLEN, "%.*s", (int)strlen(it->id) - 2,
		    it->id + 1);
	c->ocount++;
	conn_pump(c);
	return 0;
}

/* Send a request built for the purpose (msg, freed here).  0 or -1. */
static int
conn_request(struct conn *c, char *msg, size_t len)
{
	int	r = -1;

	if (c->state == CONN_OPEN && c->ws != NULL && msg != NULL)
		r = ws_conn_send(c->ws, WS_OP_TEXT, msg, len, NULL) == 0 ? 0 :
		    -1;
	free(msg);
	return r;
}

int
conn_who(struct conn *c)
{
	size_t	len = 0;

	char	*msg;

	if (c->state != CONN_OPEN)
		return -1;
	msg = codec_req_who(&len);
	return conn_request(c, msg, len);
}

int
conn_room(struct conn *c, const char *type, const char *room)
{
	size_t	len = 0;

	char	*msg;

	if (c->state != CONN_OPEN)
		return -1;
	msg = codec_req_room(type, room, &len);
	return conn_request(c, msg, len);
}

void
conn_watch(struct conn *c, const char *const *users, size_t n)
{
	size_t	i;

	if (n > CODEC_MAX_WATCH)
		n = CODEC_MAX_WATCH;
	if (c->watch == NULL && n > 0 && (c->watch = calloc(CODEC_MAX_WATCH,
	    sizeof(*c->watch))) == NULL)
		return;
	for (i = 0; i < n; i++)
		snprintf(c->watch[i], sizeof(c->watch[i]), "%s", users[i]);
	c->nwatch = n;
	c->watch_set = 1;
	conn_send_watch(c);
}

void
conn_set_room(struct conn *c, const char *room)
{
	snprintf(c->room, sizeof(c->room), "%s", room != NULL ? room : "");
	if (c->room[0] != '\0' && c->ws != NULL)
		(void)conn_room(c, "join", c->room);
}

void
conn_close(struct conn *c)
{
	if (c->state == CONN_CLOSING || c->state == CONN_CLOSED)
		return;
	if (c->state == CONN_OPEN &&
	    ws_conn_close(c->ws, 1000, NULL) == 0) {
		c->deadline = util_mono_ms() + CONN_CLOSE_TIMEOUT_MS;
		conn_set_state(c, CONN_CLOSING);
		return;
	}
	dial_free(c->dial);
	c->dial = NULL;
	ws_conn_free(c->ws);
	c->ws = NULL;
	conn_set_state(c, CONN_CLOSED);
}

int
conn_fd(const struct conn *c)
{
	if (c->dial != NULL)
		return dial_fd(c->dial);
	if (c->ws != NULL)
		return ws_conn_fd(c->ws);
	return -1;
}

short
conn_events(const struct conn *c)
{
	if (c->dial != NULL)
		return dial_events(c->dial);
	if (c->ws != NULL)
		return ws_conn_events(c->ws);
	return 0;
}

/* Words for the close codes we send when the server breaks the rules. */
static const char *
conn_code_text(uint16_t code)
{
	switch (code) {
	case 1002:
		return "protocol error";
	case 1007:
		return "invalid UTF-8";
	case 1009:
		return "message too big";
	case 1011:
		return "out of memory";
	}
	return "error";
}

/* Describe why an open connection ended, into c->error. */
static void
conn_describe_loss(struct conn *c, int r)
{
	uint16_t	code;

	if (conn_auth(c) == CONN_AUTH_EXPIRED)
		snprintf(c->error, sizeof(c->error), "token expired");
	else if (!c->peer_closed && ws_conn_close_sent(c->ws) &&
	    (code = ws_conn_code_sent(c->ws)) != 1000 && code != 1001)
		snprintf(c->error, sizeof(c->error), "connection lost: the "
		    "server sent bad data, closed with %u (%s)", code,
		    conn_code_text(code));
	else if (c->peer_closed && c->peer_reason[0] != '\0')
		snprintf(c->error, sizeof(c->error),
		    "server closed the connection (%u: %s)", c->peer_code,
		    c->peer_reason);
	else if (c->peer_closed)
		snprintf(c->error, sizeof(c->error),
		    "server closed the connection (%u)", c->peer_code);
	else if (r == WS_ERR_TRANSPORT)
		snprintf(c->error, sizeof(c->error), "connection lost: %s",
		    ws_conn_transport_error(c->ws));
	else if (r != 0)
		snprintf(c->error, sizeof(c->error), "connection lost: %s",
		    ws_strerror(r));
	else
		snprintf(c->error, sizeof(c->error), "connection lost");
}

void
conn_io(struct conn *c, short revents)
{
	int	r = 0;

	if (c->dial != NULL) {
		if (revents == 0)
			return;
		r = dial_step(c->dial, c->error, &c->http_status);
		if (r == DIAL_DONE)
			conn_opened(c);
		else if (r == DIAL_FAILED) {
			/* The server's one line says what is wrong. */
			if (conn_auth(c) == CONN_AUTH_REFUSED)
				snprintf(c->error, sizeof(c->error),
				    CONN_REFUSED "%d %s", c->http_status,
				    dial_body(c->dial)[0] != '\0' ?
				    dial_body(c->dial) : c->http_status == 401 ?
				    "Unauthorized" : "Forbidden");
			log_info("cannot connect to '%s': %s", c->url_text,
			    c->error);
			conn_lost(c);
		}
		return;
	}
	if (c->ws == NULL)
		return;
	/*
	 * Over TLS either call may be blocked on either direction (a read
	 * that must write, a write waiting for a record), so any event
	 * retries both; conn_events() asks again after this pass.
	 */
	if ((revents & (POLLIN | POLLHUP | POLLERR)) ||
	    ws_conn_is_tls(c->ws))
		r = ws_conn_on_readable(c->ws);
	if (r == 0 && c->state == CONN_OPEN)
		conn_pump(c);
	if (r == 0)
		r = ws_conn_flush(c->ws);
	if (r != 0 || ws_conn_done(c->ws)) {
		if (c->state == CONN_OPEN) {
			conn_describe_loss(c, r);
			log_info("%s", c->error);
		}
		conn_lost(c);
	}
}

void
conn_tick(struct conn *c, uint64_t now)
{
	switch (c->state) {
	case CONN_DIALING:
		if (c->dial != NULL && now >= c->deadline) {
			snprintf(c->error, sizeof(c->error),
			    "timed out after %d s", CONN_DIAL_TIMEOUT_MS / 1000);
			log_info("cannot connect to '%s': %s", c->url_text,
			    c->error);
			conn_lost(c);
		}
		break;
	case CONN_WAITING:
		if (now >= c->retry_at)
			conn_dial(c);
		break;
	case CONN_CLOSING:
		if (now >= c->deadline)
			conn_lost(c);
		break;
	case CONN_OPEN:
		/*
		 * Output queued outside conn_io() still needs a write; and a
		 * close queued then (bad bytes that came with the 101) ends
		 * the connection once written, with nothing left to poll.
		 */
		if (ws_conn_pending(c->ws) > 0 && ws_conn_flush(c->ws) != 0) {
			conn_describe_loss(c, WS_ERR_TRANSPORT);
			log_info("%s", c->error);
			conn_lost(c);
		} else if (ws_conn_done(c->ws)) {
			conn_describe_loss(c, 0);
			log_info("%s", c->error);
			conn_lost(c);
		}
		break;
	case CONN_CLOSED:
		break;
	}
}

int
conn_timeout(const struct conn *c, uint64_t now)
{
	uint64_t	at;

	switch (c->state) {
	case CONN_DIALING:
	case CONN_CLOSING:
		at = c->deadline;
		break;
	case CONN_WAITING:
		at = c->retry_at;
		break;
	default:
		return -1;
	}
	return at <= now ? 0 : (int)(at - now);
}

enum conn_state
conn_state(const struct conn *c)
{
	return c->state;
}

int
conn_done(const struct conn *c)
{
	return c->state == CONN_CLOSED;
}

const char *
conn_error(const struct conn *c)
{
	return c->error;
}

uint64_t
conn_retry_at(const struct conn *c)
{
	return c->retry_at;
}

int
conn_ever_open(const struct conn *c)
{
	return c->ever_open;
}

int
conn_http_status(const struct conn *c)
{
	return c->http_status;
}

enum conn_auth
conn_auth(const struct conn *c)
{
	if (c->http_status == 401 || c->http_status == 403)
		return CONN_AUTH_REFUSED;
	/* Section 7.4.1 of RFC 6455: 1008 is "policy violation". */
	if (c->peer_closed && c->peer_code == 1008 &&
	    strcmp(c->peer_reason, "token expired") == 0)
		return CONN_AUTH_EXPIRED;
	return CONN_AUTH_OK;
}

size_t
conn_outbox(const struct conn *c)
{
	return c->ocount;
}
