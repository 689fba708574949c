/*
 * Copyright (c) 2026 The chat authors.
 *
 * server-client: one connection, from accept() to free: reading and
 * answering the HTTP upgrade, then the chat or echo endpoint over the
 * shared frame layer, its timers, and cutting it off when it misbehaves.
 * A client is never freed here during a pass: client_free() is called
 * by main.c when reaping the dead after the pass.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <netinet/in.h>

#include <openssl/crypto.h>

#include "handshake.h"
#include "jwt.h"
#include "log.h"
#include "metrics.h"
#include "pmce.h"
#include "msg.h"
#include "poller.h"
#include "nats-link.h"
#include "server.h"
#include "transport.h"
#include "users.h"
#include "vec.h"
#include "util.h"
#include "web.h"
#include "ws.h"

/* How long a close handshake may take before we drop the socket. */
#define CLOSE_TIMEOUT_MS	3000
/* Clock difference allowed on a token's exp and nbf, in seconds. */
#define JWT_SKEW_S		30
/*
 * Refusals (decayed, see client_refused()) after which a flooder is
 * disconnected: twice --burst, at least this.
 */
#define RATE_STRIKES_MIN	20
#define REFUSE_DECAY_MS		10000.0f
/* who, watch and resume: this many at once, then this many a second. */
#define QUERY_BURST		10.0f
#define QUERY_PER_S		2.0f
/* How long an HTTP error answer waits for the peer to finish sending. */
#define LINGER_MS		1000

/*
 * The handshake phase: allocated at accept, freed at the upgrade, so an
 * established connection carries none of it.
 */
struct client_hs {
	struct tp		*tp;	/* the socket, until the upgrade or
					   the end of lingering */
	uint8_t			*buf;	/* request bytes kept between reads,
					   then bytes after the head */
	size_t			 len;
	char			*reply;	/* HTTP answer being written */
	size_t			 reply_len, reply_off;
	enum client_state	 after;	/* once the answer is out */
	char			 user[CODEC_MAX_USER + 1];
	uint64_t		 since;	/* ?since=, if resume */
	int			 resume;
	char			 epoch[CODEC_MAX_EPOCH + 1];	/* ?epoch= */
	int			 has_epoch;	/* ?epoch= was given */
	struct pmce_params	 pmce;	/* permessage-deflate, if agreed */
	uint32_t		 token_exp;	/* the token's, 0: none */
	char			 path[80];	/* escaped, for logs */
	int			 head_only;	/* HEAD: no body */
};

/*
 * What only some connections need (struct client's rare), made on first
 * use and freed with the connection, so that the others do not carry
 * it (server.h).
 */
struct client_rare {
	struct pconn	 pc;		/* presence's part: its watches */
	char		*token_rooms;	/* the token's rooms claim (names,
					   each NUL-ended), NULL: any room */
	size_t		 token_roomslen;
	float		 refused;	/* refusals, decayed */
	uint32_t	 refused_at;	/* its last update, mono ms */
	char		 gone_id[CODEC_MAX_USER + 1];	/* the user id after
					   leaving the router, for logs */
};

/*
 * The server every connection belongs to: there is one a process (the
 * fuzzer makes them one after another), so connections keep no pointer
 * to it.  Set by client_new().
 */
static struct server	*client_srv;

/*
 * Requests are read here (the server is single-threaded); most arrive
 * in one read and never need a buffer of their own.
 */
static uint8_t	hs_rbuf[HS_MAX_HEAD];

/*
 * Freed handshake states, kept for the next accepts.  Left to malloc, a
 * burst of connections leaves each freed state to be carved into the
 * next connections' long-lived parts, and the heap grows by the
 * handshake's size per connection anyway (bench/README.md, "Memory per
 * idle connection"); kept here, the states in flight are the only ones
 * that exist.
 */
#define HS_CACHE	64
static struct client_hs	*hs_cache[HS_CACHE];
static size_t		 hs_ncache;

static struct client_hs *
hs_alloc(void)
{
	struct client_hs	*h;

	if (hs_ncache == 0)
		return calloc(1, sizeof(*h));
	h = hs_cache[--hs_ncache];
	memset(h, 0, sizeof(*h));
	return h;
}

static void
hs_release(struct client_hs *h)
{
	if (hs_ncache < HS_CACHE)
		hs_cache[hs_ncache++] = h;
	else
		free(h);
}

void
client_cache_free(void)
{
	while (hs_ncache > 0)
		free(hs_cache[--hs_ncache]);
}

static void client_on_message(void *, enum ws_opcode, const uint8_t *, size_t);
static void client_chat_done(struct client *, const char *, enum route_result,
    uint64_t, uint64_t);

/*
 * Can the router and presence still send to c?  Not once it is dead,
 * cut off or closing: such a client leaves after the pass.
 */
static int
client_routable(const struct client *c)
{
	return !c->dead && !c->cut && !c->detaching;
}
static void client_on_close(void *, uint16_t, const uint8_t *, size_t);
static void client_http_send(struct client *, char *, size_t);

static const struct ws_callbacks client_ws_cb = {
	client_on_message, client_on_close
};

void
client_count(struct server *s, enum client_counter cc)
{
	if ((unsigned)cc < CC_N) {
		s->count[cc]++;
		s->count_at[cc] = util_mono_ms();
	}
}

/* The counter of an HTTP refusal's status. */
static enum client_counter
client_http_counter(int status)
{
	static const int	codes[] = {
		400, 401, 403, 404, 405, 426, 431, 500, 503
	};
	size_t			i;

	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		if (codes[i] == status)
			return (enum client_counter)(CC_HTTP_400 + i);
	return CC_HTTP_OTHER;
}

/* Mark for reaping after this pass; the loop learns through touch. */
static void
client_die(struct client *c)
{
	c->dead = 1;
	client_touch(client_srv, c);
}

/* c's rare part, made if need be; NULL if out of memory. */
static struct client_rare *
client_rare(struct client *c)
{
	if (c->rare == NULL && (c->rare = calloc(1, sizeof(*c->rare))) !=
	    NULL)
		c->rare->pc.conn = &c->rc;
	return c->rare;
}

/* The user id for logs: attached, or the one c had; NULL if none. */
static const char *
client_user(const struct client *c)
{
	if (c->rc.user != NULL)
		return router_user_id(&c->rc);
	if (c->rare != NULL && c->rare->gone_id[0] != '\0')
		return c->rare->gone_id;
	return NULL;
}

/*
 * c's ws_conn, in the same allocation right after struct client (its
 * ws_mem) from the upgrade on; NULL before.
 */
static struct ws_conn *
client_ws(const struct client *c)
{
	return c->upgraded ? (struct ws_conn *)(uintptr_t)c->ws_mem : NULL;
}

/*
 * Until the upgrade, ws_mem holds the pointer to the handshake state
 * instead (the two overlap only inside client_upgrade(), which keeps
 * its own pointer): a connection spends no field on a state it has
 * only while connecting.
 */
static struct client_hs *
client_hs(const struct client *c)
{
	struct client_hs	*h;

	if (c->upgraded)
		return NULL;
	memcpy(&h, c->ws_mem, sizeof(h));
	return h;
}

static void
client_set_hs(struct client *c, struct client_hs *h)
{
	if (!c->upgraded)
		memcpy(c->ws_mem, &h, sizeof(h));
}

struct client *
client_new(struct server *s, int fd, const struct sockaddr *sa, int tls)
{
	struct client	*c;
	struct client_hs *h = NULL;

	/*
	 * Room for the ws_conn too, and for an IPv6 peer its address
	 * after that (client_ip()): one allocation per connection.
	 */
	if ((c = calloc(1, sizeof(*c) + ws_conn_size() +
	    (sa->sa_family == AF_INET6 ? 16 : 0))) == NULL ||
	    (h = hs_alloc()) == NULL) {
		free(c);
		close(fd);
		return NULL;
	}
	client_set_hs(c, h);
	h->tp = tls ? tp_tls_new(fd, s->tls, NULL) : tp_plain_new(fd);
	if (h->tp == NULL) {
		hs_release(h);
		free(c);
		return NULL;
	}
	client_srv = s;
	c->id = (uint32_t)++s->next_id;
	client_count(s, CC_ACCEPTED);
	/* Counted at accept, refused at the handshake with a 503. */
	if (s->cfg.max_per_ip > 0 && s->ipc != NULL && sa->sa_family != 0) {
		uint8_t	key[16] = { 0 };

		if (sa->sa_family == AF_INET6)
			memcpy(key, &((const struct sockaddr_in6 *)
			    (const void *)sa)->sin6_addr, 16);
		else
			memcpy(key, &((const struct sockaddr_in *)
			    (const void *)sa)->sin_addr, 4);
		c->ip_counted = 1;
		if (ipcount_add(s->ipc, (uint8_t)sa->sa_family, key) >
		    s->cfg.max_per_ip)
			c->ip_over = 1;
	}
	c->state = CLIENT_HANDSHAKE;
	c->deadline = (uint32_t)(s->now + s->cfg.handshake_timeout);
	c->last_rx = c->last_tx_progress = (uint32_t)s->now;
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;

		c->addr = CLIENT_ADDR_V6;
		memcpy((uint8_t *)c->ws_mem + ws_conn_size(), &in6->sin6_addr,
		    16);
		c->port = ntohs(in6->sin6_port);
	} else if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;

		c->addr = CLIENT_ADDR_V4;
		memcpy(c->ip, &in->sin_addr, 4);
		c->port = ntohs(in->sin_port);
	}
	return c;
}

static int
client_af(const struct client *c)
{
	return c->addr == CLIENT_ADDR_V6 ? AF_INET6 : c->addr ==
	    CLIENT_ADDR_V4 ? AF_INET : 0;
}

/*
 * The peer's address, 4 or 16 bytes as c->addr says: an IPv6 one ends
 * the chunk, after the ws_conn (client_new()).
 */
static const uint8_t *
client_ip(const struct client *c)
{
	return c->addr == CLIENT_ADDR_V6 ? (const uint8_t *)c->ws_mem +
	    ws_conn_size() : c->ip;
}

const char *
client_addr(const struct client *c)
{
	static char	buf[INET6_ADDRSTRLEN + 16];
	char		ip[INET6_ADDRSTRLEN];

	if (c->addr == CLIENT_ADDR_NONE || inet_ntop(client_af(c),
	    client_ip(c), ip, sizeof(ip)) == NULL)
		return "?";
	snprintf(buf, sizeof(buf), c->addr == CLIENT_ADDR_V6 ? "[%s]:%u" :
	    "%s:%u",
	    ip, (unsigned)c->port);
	return buf;
}

static void
hs_free(struct client_hs *h)
{
	if (h == NULL)
		return;
	tp_free(h->tp);
	free(h->buf);
	free(h->reply);
	hs_release(h);
}

static void
client_hs_free(struct client *c)
{
	hs_free(client_hs(c));
	client_set_hs(c, NULL);
}

int
client_fd(const struct client *c)
{
	if (client_ws(c) != NULL)
		return ws_conn_fd(client_ws(c));
	return client_hs(c) != NULL && client_hs(c)->tp != NULL ?
	    tp_fd(client_hs(c)->tp) : -1;
}

short
client_events(const struct client *c)
{
	short	ev;

	if (c->dead)
		return 0;
	switch (c->state) {
	case CLIENT_HANDSHAKE:
	case CLIENT_LINGER:
		return POLLIN | tp_events(client_hs(c)->tp);
	case CLIENT_REPLY:
		return POLLOUT | tp_events(client_hs(c)->tp);
	default:
		if (client_ws(c) == NULL)
			return 0;
		ev = ws_conn_events(client_ws(c));
		/*
		 * --max-pending of its chat messages unanswered (a slow
		 * cluster): read nothing more until answers come (dl_done()
		 * touches it), so that one connection cannot take the
		 * node's requests to NATS from the others.
		 */
		if (c->rc.npend >= client_srv->cfg.max_pending)
			ev &= ~POLLIN;
		return ev;
	}
}

/* Log the end of a WebSocket connection once. */
static void
client_log_end(struct client *c, const char *why)
{
	const char	*who = client_user(c);
	uint16_t	 sent = ws_conn_code_sent(client_ws(c));
	uint16_t	 recv = ws_conn_code_received(client_ws(c));

	log_info("%s #%llu%s%s disconnected: %s (close sent %u, received %u)",
	    client_addr(c), (unsigned long long)c->id, who ? " user " : "",
	    who ? who : "", why, sent, recv);
}

/*
 * The queue is a ring held by its tail: tail->next is the head, so that
 * it costs a connection one pointer.  Walk it from mq_head() while next
 * is not the head again; mq_ent_next() does that.
 */
static struct mq_ent *
mq_head(const struct mq *q)
{
	return q->tail != NULL ? q->tail->next : NULL;
}

static struct mq_ent *
mq_ent_next(const struct mq *q, const struct mq_ent *e)
{
	return e == q->tail ? NULL : e->next;
}

static void
mq_push(struct mq *q, struct mq_ent *e)
{
	if (q->tail != NULL) {
		e->next = q->tail->next;
		q->tail->next = e;
	} else
		e->next = e;
	q->tail = e;
}

static struct mq_ent *
mq_pop(struct mq *q)
{
	struct mq_ent	*e;

	if ((e = mq_head(q)) == NULL)
		return NULL;
	if (e == q->tail)
		q->tail = NULL;
	else
		q->tail->next = e->next;
	return e;
}

static void
mq_clear(struct mq *q)
{
	struct mq_ent	*e;

	while ((e = mq_pop(q)) != NULL) {
		msg_unref(e->m);
		free(e);
	}
}

/*
 * Forget the chat messages c has written out whole, and tell the router
 * the newest of them: that is what moves its user's cursor, so a
 * message only queued here is never taken for delivered.  Never from
 * inside a router call (a cut): what is written stays queued until the
 * next time, so that nothing is kept to tell later.
 */
static void
client_pop_written(struct client *c)
{
	struct mq_ent	*e;
	uint64_t	 w, told = 0;

	if (client_ws(c) == NULL)
		return;
	w = ws_conn_written(client_ws(c));
	while ((e = mq_head(&c->inflight)) != NULL && e->end <= w) {
		mq_pop(&c->inflight);
		if (e->m->seq > told)
			told = e->m->seq;
		msg_unref(e->m);
		free(e);
	}
	if (told != 0 && c->rc.user != NULL)
		router_written(client_srv->router, &c->rc, told);
}

/*
 * Take c out of the routing and presence.  Only from the loop (after
 * the pass, or at free), never from inside a router call: the router
 * may be walking the very lists this changes.  What it queued but never
 * wrote stays in its user's inbox, behind the cursor.
 */
static void
client_detach(struct client *c)
{
	client_pop_written(c);
	c->detaching = 0;
	/* Keep the id for the disconnect log line, which comes later. */
	if (c->rc.user != NULL && client_rare(c) != NULL)
		snprintf(c->rare->gone_id, sizeof(c->rare->gone_id), "%s",
		    router_user_id(&c->rc));
	router_detach(client_srv->router, &c->rc);
	if (c->rare != NULL)
		presence_unwatch(client_srv->presence, &c->rare->pc);
	mq_clear(&c->inflight);
}

/*
 * c leaves the router after this pass (clients_process_touched() calls
 * client_detach_pending()); until then the router skips it
 * (client_routable()).  Whatever ends a connection goes through here
 * or client_die(), so no send, cut or close re-enters the router.
 */
static void
client_detach_later(struct client *c)
{
	c->detaching = 1;
	client_touch(client_srv, c);
}

void
client_detach_pending(struct client *c)
{
	if (c->detaching || c->dead)
		client_detach(c);
}

static void
client_kill(struct client *c, const char *why)
{
	if (c->dead)
		return;
	if (client_ws(c) != NULL)
		client_log_end(c, why);
	client_die(c);
}

void
client_drop(struct client *c, const char *why)
{
	if (client_ws(c) != NULL) {
		client_kill(c, why);
		return;
	}
	/* Before the upgrade: as "gone during handshake" is. */
	if (!c->dead)
		log_debug("%s #%llu %s during handshake", client_addr(c),
		    (unsigned long long)c->id, why);
	client_die(c);
}

void
client_close(struct client *c, uint16_t code, const char *reason)
{
	if (c->dead || client_ws(c) == NULL)
		return;
	client_detach_later(c);
	ws_conn_close(client_ws(c), code, reason);
	c->state = CLIENT_CLOSING;
	c->deadline = (uint32_t)client_srv->now + CLOSE_TIMEOUT_MS;
	client_touch(client_srv, c);
}

/*
 * A peer whose output would pass the cap is cut off: its unwritten
 * chat messages are requeued, and if the stream ends on a frame boundary
 * a 1008 close follows; mid-frame there is no valid place for one, so
 * the socket is just closed.  Runs synchronously: callers only touch
 * other clients through the router, which skips cut ones.
 */
static void
client_cut(struct client *c)
{
	const char	*who = client_user(c);
	struct mq_ent	*e;
	uint64_t	 w;
	int		 boundary;

	if (c->cut || c->dead)
		return;
	c->cut = 1;
	client_count(client_srv, CC_SLOW_READER);
	log_warn("%s #%llu user %s: output over %zu bytes, cut off (1008)",
	    client_addr(c), (unsigned long long)c->id,
	    who != NULL ? who : "-",
	    client_srv->cfg.max_output);
	w = ws_conn_written(client_ws(c));
	client_detach_later(c);
	/* Is w between two frames?  The first message not written whole. */
	for (e = mq_head(&c->inflight); e != NULL && e->end <= w;
	    e = mq_ent_next(&c->inflight, e))
		;
	boundary = w == ws_conn_queued(client_ws(c)) ||
	    (e != NULL && e->start == w);
	if (boundary) {
		ws_conn_truncate(client_ws(c), w);
		client_close(c, 1008, "too slow: output buffer full");
	} else
		client_kill(c, "cut off mid-frame (1008)");
}

static size_t
client_pending(const struct client *c)
{
	return client_ws(c) != NULL ? ws_conn_pending(client_ws(c)) : 0;
}

size_t
client_room(const struct client *c)
{
	size_t	p;

	if (client_ws(c) == NULL || c->dead || c->cut)
		return 0;
	p = ws_conn_pending(client_ws(c));
	return p >= client_srv->cfg.max_output ? 0 : client_srv->cfg.max_output - p;
}

int
client_send_text(struct client *c, const char *p, size_t len)
{
	int	r;

	if (c->dead || c->cut || client_ws(c) == NULL ||
	    c->state != CLIENT_CHAT)
		return -1;
	r = ws_conn_send(client_ws(c), WS_OP_TEXT, p, len, NULL);
	if (r == WS_ERR_FULL) {
		client_cut(c);
		return -1;
	}
	client_touch(client_srv, c);
	return r == 0 ? 0 : -1;
}

static int
client_send_msg(struct client *c, struct msg *m)
{
	struct mq_ent	*e;
	uint64_t	 start;
	int		 r;

	if (c->dead || c->cut || client_ws(c) == NULL ||
	    c->state != CLIENT_CHAT)
		return -1;
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return -1;
	start = ws_conn_queued(client_ws(c));
	r = ws_conn_send(client_ws(c), WS_OP_TEXT, m->data, m->len, &e->end);
	if (r != 0) {
		free(e);
		if (r == WS_ERR_FULL)
			client_cut(c);
		return -1;
	}
	e->start = start;
	e->m = msg_ref(m);
	mq_push(&c->inflight, e);
	client_touch(client_srv, c);
	return 0;
}

/* Send a protocol error event, with the client's id if it had one. */
static void
client_error(struct client *c, const char *code, const char *detail,
    const char *id)
{
	char	*p;
	size_t	 len;

	if ((p = codec_error(code, detail, id, &len)) != NULL) {
		client_send_text(c, p, len);
		free(p);
	}
}

static void
client_chat(struct client *c, struct codec_req *req)
{
	enum route_result r;

	if (req->room[0] != '\0')
		r = router_submit_room(client_srv->router, &c->rc, req->room,
		    req->message, req->message_len, req->id);
	else
		r = router_submit(client_srv->router, &c->rc, req->target,
		    req->message, req->message_len, req->id);
	if (r == ROUTE_FULL)
		log_info("%s #%llu user %s: queue for %s%s full, refused",
		    client_addr(c), (unsigned long long)c->id,
		    router_user_id(&c->rc), req->room[0] != '\0' ? "room " :
		    "", req->room[0] != '\0' ? req->room : req->target);
	if (r != ROUTE_PENDING)
		client_chat_done(c, req->id, r, 0, 0);
}

static void
client_join(struct client *c, const struct codec_req *req)
{
	char	detail[CODEC_MAX_DETAIL + 1];

	/* The token's rooms claim, if it has one. */
	if (req->type == CODEC_REQ_JOIN && c->rare != NULL &&
	    c->rare->token_rooms != NULL && !jwt_rooms_has(
	    c->rare->token_rooms, c->rare->token_roomslen, req->room)) {
		log_info("%s #%llu user %s: room '%s' not in the token's "
		    "rooms, refused", client_addr(c),
		    (unsigned long long)c->id, router_user_id(&c->rc),
		    req->room);
		snprintf(detail, sizeof(detail), "your token does not allow "
		    "room '%s'", req->room);
		client_error(c, CODEC_E_FORBIDDEN, detail, req->id);
		return;
	}
	router_join(client_srv->router, &c->rc, req->room,
	    req->type == CODEC_REQ_JOIN, req->id);
}

static void
client_chat_done(struct client *c, const char *id, enum route_result r,
    uint64_t seq, uint64_t missed)
{
	const char	*status = NULL;
	char		*p;
	size_t		 len;

	if (c == NULL)
		return;
	switch (r) {
	case ROUTE_PENDING:
		return;
	case ROUTE_DELIVERED:
		status = "delivered";
		client_srv->st_delivered++;
		break;
	case ROUTE_QUEUED:
		status = "queued";
		client_srv->st_queued++;
		break;
	case ROUTE_FULL:
		client_srv->st_refused++;
		client_count(client_srv, CC_QUEUE_FULL);
		client_error(c, CODEC_E_QUEUE_FULL, "the target has too many "
		    "undelivered messages", id);
		break;
	case ROUTE_UNAVAILABLE:
		client_srv->st_refused++;
		client_count(client_srv, CC_STORE_UNAVAILABLE);
		client_error(c, CODEC_E_STORE, "the message could not be "
		    "stored; it was not accepted (try again later)", id);
		break;
	case ROUTE_CLUSTER:
		client_srv->st_refused++;
		client_count(client_srv, CC_CLUSTER_UNAVAILABLE);
		client_error(c, CODEC_E_CLUSTER, "the cluster (NATS) is "
		    "unreachable; the message was not accepted (try again "
		    "later)", id);
		break;
	case ROUTE_NOMEM:
		client_error(c, "internal", "out of memory", id);
		break;
	case ROUTE_NOT_MEMBER:
		client_srv->st_refused++;
		client_error(c, CODEC_E_NOT_MEMBER, "you have not joined that "
		    "room: join it first", id);
		break;
	}
	if (status != NULL && id[0] != '\0' &&
	    (p = codec_ack_room(id, status, seq, missed, &len)) != NULL) {
		client_send_text(c, p, len);
		free(p);
	}
}

static void
client_who(struct client *c)
{
	const char	*p;
	size_t		 len;

	if ((p = presence_who(client_srv->presence, &len)) == NULL)
		client_error(c, "internal", "out of memory", NULL);
	else
		client_send_text(c, p, len);
}

/*
 * Bytes arrived: the token buckets grow by the time since the last ones
 * (their refill is additive up to the cap, so refilling at every read
 * is refilling at every use), and that time is now.  --rate messages a
 * second, up to --burst at once; QUERY_PER_S who, watch and resume,
 * up to QUERY_BURST.
 */
static void
client_heard(struct client *c)
{
	const struct server_config *cfg = &client_srv->cfg;
	uint32_t	now = (uint32_t)client_srv->now;
	uint32_t	dt = now - c->last_rx;
	float		t;

	c->last_rx = now;
	if (dt == 0)
		return;
	if (cfg->rate > 0) {
		t = c->rl_tokens + (float)((double)dt * cfg->rate / 1000.0);
		c->rl_tokens = t > (float)cfg->burst ? (float)cfg->burst : t;
	}
	t = c->q_tokens + (float)dt * QUERY_PER_S / 1000.0f;
	c->q_tokens = t > QUERY_BURST ? QUERY_BURST : t;
}

/* Returns 1 if this chat message may pass --rate. */
static int
client_rate_ok(struct client *c)
{
	if (client_srv->cfg.rate <= 0)
		return 1;
	if (c->rl_tokens >= 1.0f) {
		c->rl_tokens -= 1.0f;
		return 1;
	}
	return 0;
}

/*
 * who, watch and resume cost the server far more than they cost to
 * ask: QUERY_BURST at once, then QUERY_PER_S a second, per connection,
 * with or without --rate.  Returns 1 if this one may pass.
 */
static int
client_query_ok(struct client *c)
{
	if (c->q_tokens >= 1.0f) {
		c->q_tokens -= 1.0f;
		return 1;
	}
	return 0;
}

/*
 * A request was refused for going too fast.  Refusals are counted with
 * a decay (time constant REFUSE_DECAY_MS), so that persistent abuse
 * adds up whatever its rhythm: one accepted message in twenty used to
 * reset a count of refusals in a row and keep a flooder connected.  A
 * client over the threshold is closed with 1008; one that bursts now
 * and then stays well below it.  Returns 1 if c is being closed.
 */
static int
client_refused(struct client *c, const char *what)
{
	const struct server_config *cfg = &client_srv->cfg;
	uint32_t	 now = (uint32_t)client_srv->now;
	struct client_rare *r;
	float		 limit;

	client_srv->st_refused++;
	/* Without memory for the count, the refusal alone must do. */
	if ((r = client_rare(c)) == NULL)
		return 0;
	r->refused = r->refused *
	    expf(-(float)(now - r->refused_at) / REFUSE_DECAY_MS) + 1.0f;
	r->refused_at = now;
	limit = cfg->burst > RATE_STRIKES_MIN / 2 ? 2.0f * (float)cfg->burst :
	    (float)RATE_STRIKES_MIN;
	if (r->refused > limit) {
		client_count(client_srv, CC_RATE_CLOSED);
		log_info("%s #%llu user %s: over the %s limit, closing",
		    client_addr(c), (unsigned long long)c->id,
		    router_user_id(&c->rc), what);
		client_close(c, 1008, "rate limit exceeded");
		return 1;
	}
	return 0;
}

static void
client_on_message(void *arg, enum ws_opcode op, const uint8_t *data,
    size_t len)
{
	struct client	*c = arg;
	struct codec_req req;
	const char	*err;
	char		 detail[CODEC_MAX_DETAIL + 1];

	if (c->dead || c->cut)
		return;
	if (c->state == CLIENT_ECHO) {
		if (ws_conn_send(client_ws(c), op, data, len, NULL) ==
		    WS_ERR_FULL) {
			log_warn("%s #%llu echo: output full, closing",
			    client_addr(c), (unsigned long long)c->id);
			c->cut = 1;
			client_close(c, 1008, "too slow: output buffer full");
		}
		return;
	}
	if (c->state != CLIENT_CHAT)
		return;
	if (op == WS_OP_BINARY) {
		client_error(c, CODEC_E_BINARY,
		    "binary frames are not used on the chat endpoint", NULL);
		return;
	}
	if (codec_parse_req((const char *)data, len, &req, &err,
	    detail) != 0) {
		client_error(c, err, detail, req.id);
		return;
	}
	if (req.type == CODEC_REQ_CHAT ? !client_rate_ok(c) :
	    !client_query_ok(c)) {
		client_count(client_srv, req.type == CODEC_REQ_CHAT ? CC_RATE_LIMITED :
		    CC_QUERY_LIMITED);
		if (!client_refused(c, req.type == CODEC_REQ_CHAT ? "rate" :
		    "query"))
			client_error(c, CODEC_E_RATE_LIMITED,
			    req.type == CODEC_REQ_CHAT ? "too many messages: "
			    "slow down" : "too many who, watch, resume or "
			    "room requests: slow down", req.id);
		codec_req_release(&req);
		return;
	}
	switch (req.type) {
	case CODEC_REQ_CHAT:
		client_chat(c, &req);
		break;
	case CODEC_REQ_JOIN:
	case CODEC_REQ_LEAVE:
		client_join(c, &req);
		break;
	case CODEC_REQ_MEMBERS:
		router_members(client_srv->router, &c->rc, req.room, req.id);
		break;
	case CODEC_REQ_ROOMS:
		router_rooms(client_srv->router, &c->rc);
		break;
	case CODEC_REQ_WHO:
		client_who(c);
		break;
	case CODEC_REQ_WATCH:
		if (client_rare(c) == NULL || presence_watch(client_srv->presence,
		    &c->rare->pc, req.users, req.nusers) != 0)
			client_error(c, "internal", "out of memory", req.id);
		break;
	case CODEC_REQ_RESUME:
		router_resume(client_srv->router, &c->rc, req.since, req.epoch);
		break;
	}
	codec_req_release(&req);
}

static void
client_on_close(void *arg, uint16_t code, const uint8_t *reason, size_t len)
{
	struct client	*c = arg;
	char		 esc[160];

	log_debug("%s #%llu close %u received: %s", client_addr(c),
	    (unsigned long long)c->id, code,
	    util_escape(esc, sizeof(esc), reason, len));
	if (c->state == CLIENT_CHAT || c->state == CLIENT_ECHO) {
		client_detach_later(c);
		c->state = CLIENT_CLOSING;
		c->deadline = (uint32_t)client_srv->now + CLOSE_TIMEOUT_MS;
	}
}

/* Queue an HTTP answer; the connection ends once it is out. */
static void
client_http_reply(struct client *c, int status, const char *ctype,
    const char *extra, const char *body)
{
	struct client_hs	*h = client_hs(c);
	char			 buf[1024];
	int			 n;

	if (status >= 400) {
		client_count(client_srv, client_http_counter(status));
		log_info_limited("%s #%llu refused: %d %s (path %s)",
		    client_addr(c), (unsigned long long)c->id, status, body,
		    h->path[0] != '\0' ? h->path : "-");
	}
	n = hs_build_reply(buf, sizeof(buf), status, ctype, extra, body);
	if (n < 0 || (h->reply = malloc((size_t)n)) == NULL) {
		client_die(c);
		return;
	}
	memcpy(h->reply, buf, (size_t)n);
	client_http_send(c, h->reply, (size_t)n);
}

/*
 * Send reply (which c now owns), then end the connection.  The answer
 * to a HEAD request is the same without its body (RFC 9110 9.3.2).
 */
static void
client_http_send(struct client *c, char *reply, size_t len)
{
	struct client_hs	*h = client_hs(c);
	size_t			 i;

	for (i = 0; h->head_only && i + 4 <= len; i++)
		if (memcmp(reply + i, "\r\n\r\n", 4) == 0) {
			len = i + 4;
			break;
		}
	h->reply = reply;
	h->reply_len = len;
	h->reply_off = 0;
	c->state = CLIENT_REPLY;
	h->after = CLIENT_LINGER;
}

static void
client_http_error(struct client *c, int status, const char *extra,
    const char *body)
{
	client_http_reply(c, status, "text/plain; charset=utf-8", extra, body);
}

/*
 * The token of a request: "Authorization: Bearer TOKEN", or ?token= for
 * browsers, which cannot set headers on a WebSocket.  Returns its length
 * (0: none, -1: unusable).  The token is never logged.
 */
static int
client_token(const struct hs_request *req, char *out, size_t outlen)
{
	const char	*a = req->authorization;
	size_t		 n;

	if (strncasecmp(a, "Bearer ", 7) == 0) {
		for (a += 7; *a == ' '; a++)
			;
		n = strcspn(a, " ");
		if (n == 0 || n >= outlen)
			return -1;
		memcpy(out, a, n);
		out[n] = '\0';
		return (int)n;
	}
	if (*a != '\0')
		return -1;
	n = (size_t)hs_query_param(req->target, "token", out, outlen);
	return (int)n == -1 ? 0 : (int)n < 0 ? -1 : (int)n;
}

/* /metrics: the Prometheus text format (metrics.c). */
static void
client_metrics(struct client *c)
{
	char	*text, *reply;
	size_t	 len;
	int	 n;

	if ((text = metrics_render(client_srv, &len)) == NULL ||
	    (reply = malloc(len + 512)) == NULL) {
		free(text);
		client_http_error(c, 500, NULL, "out of memory");
		return;
	}
	/* hs_build_reply() ends the body with its own newline. */
	if (len > 0 && text[len - 1] == '\n')
		text[len - 1] = '\0';
	n = hs_build_reply(reply, len + 512, 200, METRICS_CONTENT_TYPE, NULL,
	    text);
	free(text);
	if (n < 0) {
		free(reply);
		client_http_error(c, 500, NULL, "out of memory");
		return;
	}
	client_http_send(c, reply, (size_t)n);
}

/*
 * Answers for operators, cheap, from the loop: /healthz (alive),
 * /readyz (able to take messages), and behind --stats-token /stats and
 * /metrics.  1 if path was one of them (an answer is queued).
 */
static int
client_operator(struct client *c, const char *path,
    const struct hs_request *req)
{
	struct server		*s = client_srv;
	struct inbox_stats	 is;
	const char		*why;
	char			 body[512], tok[JWT_MAX_TOKEN + 1];
	size_t			 nrooms, nmembers;
	int			 n;

	if (strcmp(path, "/healthz") == 0) {
		if (s->shutting_down)
			client_http_error(c, 503, NULL, "shutting down");
		else
			client_http_reply(c, 200, "text/plain; charset=utf-8",
			    NULL, "ok");
		return 1;
	}
	if (strcmp(path, "/readyz") == 0) {
		if ((why = metrics_unready(s)) != NULL)
			client_http_error(c, 503, NULL, why);
		else
			client_http_reply(c, 200, "text/plain; charset=utf-8",
			    NULL, "ready");
		return 1;
	}
	if (strcmp(path, "/stats") != 0 && strcmp(path, "/metrics") != 0)
		return 0;
	if (s->cfg.stats_token != NULL) {
		n = client_token(req, tok, sizeof(tok));
		if (n <= 0 || (size_t)n != strlen(s->cfg.stats_token) ||
		    CRYPTO_memcmp(tok, s->cfg.stats_token, (size_t)n) != 0) {
			snprintf(body, sizeof(body), "%.16s needs the "
			    "--stats-token", path);
			client_http_error(c, 401, "WWW-Authenticate: Bearer\r\n",
			    body);
			explicit_bzero(tok, sizeof(tok));
			return 1;
		}
		explicit_bzero(tok, sizeof(tok));
	}
	if (strcmp(path, "/metrics") == 0) {
		client_metrics(c);
		return 1;
	}
	router_inbox_stats(s->router, &is);
	router_rooms_stats(s->router, &nrooms, &nmembers);
	snprintf(body, sizeof(body), "{\"connections\":%zu,\"users_online\":"
	    "%zu,\"messages_routed\":%llu,\"messages_queued\":%llu,"
	    "\"messages_refused\":%llu,\"bytes_in\":%llu,\"bytes_out\":%llu,"
	    "\"uptime_s\":%llu,\"store\":\"%s\",\"store_ok\":%s,"
	    "\"stored_messages\":%llu,\"stored_bytes\":%llu,"
	    "\"cluster\":\"%s\",\"cluster_nodes\":%zu,"
	    "\"cluster_requests\":%zu,\"cluster_forged\":%llu,\"rooms\":%zu,"
	    "\"room_members\":%zu}",
	    s->nclients, router_nonline(s->router),
	    (unsigned long long)s->st_delivered,
	    (unsigned long long)s->st_queued,
	    (unsigned long long)s->st_refused,
	    (unsigned long long)s->st_bytes_in,
	    (unsigned long long)s->st_bytes_out,
	    (unsigned long long)((s->now - s->started) / 1000),
	    is.kind, is.ok ? "true" : "false",
	    (unsigned long long)is.messages, (unsigned long long)is.bytes,
	    nats_link_state(s->link), presence_nodes(s->presence),
	    s->link != NULL ? nats_link_inflight(s->link) : 0,
	    s->link != NULL ? (unsigned long long)nats_link_forged(s->link) :
	    0ULL, nrooms, nmembers);
	client_http_reply(c, 200, "application/json", NULL, body);
	return 1;
}

/* Checks before an upgrade: address limit, origin, token.  0 or -1. */
static int
client_admit(struct client *c, const struct hs_request *req,
    const char *user)
{
	const struct server_config *cfg = &client_srv->cfg;
	struct jwt_claims	 cl;
	char			 tok[JWT_MAX_TOKEN + 1];
	size_t			 i;
	int			 n, r;

	if (c->ip_over) {
		client_http_error(c, 503, NULL,
		    "too many connections from your address");
		return -1;
	}
	/*
	 * Browsers send Origin; other clients need not.  The page the
	 * server itself serves is always welcome.
	 */
	if (cfg->norigins > 0 && req->origin[0] != '\0' &&
	    !web_same_origin(req, client_is_tls(c))) {
		for (i = 0; i < cfg->norigins; i++)
			if (strcmp(req->origin, cfg->origins[i]) == 0)
				break;
		if (i == cfg->norigins) {
			client_http_error(c, 403, NULL, "origin not allowed");
			return -1;
		}
	}
	if (cfg->jwt_key == NULL || user == NULL)
		return 0;
	if ((n = client_token(req, tok, sizeof(tok))) == 0) {
		client_http_error(c, 401, "WWW-Authenticate: Bearer\r\n",
		    "missing token: send Authorization: Bearer TOKEN or "
		    "?token=TOKEN");
		return -1;
	}
	r = n < 0 ? JWT_MALFORMED : jwt_verify(tok, (size_t)n, cfg->jwt_key,
	    cfg->jwt_keylen, (int64_t)(util_wall_ms() / 1000),
	    JWT_SKEW_S, &cl);
	explicit_bzero(tok, sizeof(tok));
	if (r != JWT_OK) {
		client_http_error(c, 401, "WWW-Authenticate: Bearer "
		    "error=\"invalid_token\"\r\n", jwt_strerror(r));
		return -1;
	}
	if (strcmp(cl.sub, user) != 0) {
		client_http_error(c, 403, NULL, "token is for another user");
		return -1;
	}
	client_hs(c)->token_exp = cl.exp > UINT32_MAX ? UINT32_MAX :
	    (uint32_t)cl.exp;
	/* Only a token that limits rooms costs the connection memory. */
	if (cl.rooms == JWT_ROOMS_LIST) {
		if (client_rare(c) == NULL || (c->rare->token_rooms =
		    malloc(cl.roomslen + 1)) == NULL) {
			client_http_error(c, 500, NULL, "out of memory");
			return -1;
		}
		memcpy(c->rare->token_rooms, cl.roomv, cl.roomslen);
		c->rare->token_rooms[cl.roomslen] = '\0';
		c->rare->token_roomslen = cl.roomslen;
	}
	return 0;
}

/* ?since=N: resume after seq N.  0, or -1 with a 400 queued. */
static int
client_since(struct client *c, const struct hs_request *req)
{
	struct client_hs	*h = client_hs(c);
	char			 v[24];
	uint64_t		 n = 0;
	int			 len, i;

	/*
	 * ?epoch= alone (even empty) asks for the numbering's name at
	 * once: a client learns it from its first connection.  A
	 * stranger's epoch is just another numbering: no error.
	 */
	h->has_epoch = 1;
	switch (hs_query_param(req->target, "epoch", h->epoch,
	    sizeof(h->epoch))) {
	case -1:
		h->epoch[0] = '\0';	/* none */
		h->has_epoch = 0;
		break;
	case -2:
		snprintf(h->epoch, sizeof(h->epoch), "-");
		break;
	}
	len = hs_query_param(req->target, "since", v, sizeof(v));
	if (len == -1)
		return 0;
	if (len <= 0 || len > 19) {
		client_http_error(c, 400, NULL, "invalid since: use a seq, "
		    "a non-negative integer");
		return -1;
	}
	for (i = 0; i < len; i++) {
		if (v[i] < '0' || v[i] > '9') {
			client_http_error(c, 400, NULL, "invalid since: use "
			    "a seq, a non-negative integer");
			return -1;
		}
		n = n * 10 + (uint64_t)(v[i] - '0');
	}
	h->since = n;
	h->resume = 1;
	return 0;
}

/*
 * Route a parsed request: the path picks the endpoint.  Returns the
 * state to enter after the 101, or CLIENT_REPLY if an error was queued.
 */
static enum client_state
client_route(struct client *c, const struct hs_request *req, int hs,
    char *user)
{
	char		 path[HS_MAX_TARGET + 1], esc[128], *reply;
	const char	*id = NULL;
	size_t		 plen, rlen;

	plen = strcspn(req->target, "?");
	memcpy(path, req->target, plen);
	path[plen] = '\0';
	if (client_operator(c, path, req))
		return CLIENT_REPLY;
	/* The browser client's files (server/web.c). */
	switch (web_answer(path, req, &reply, &rlen)) {
	case 1:
		client_http_send(c, reply, rlen);
		return CLIENT_REPLY;
	case -1:
		client_http_error(c, 500, NULL, "out of memory");
		return CLIENT_REPLY;
	}
	if (req->method_head) {
		client_http_error(c, 405, "Allow: GET\r\n",
		    "only GET is allowed here");
		return CLIENT_REPLY;
	}
	if (strncmp(path, "/demo/ws/", 9) == 0)
		id = path + 9;
	else if (strncmp(path, "/ws/", 4) == 0)
		id = path + 4;
	else if (strcmp(path, "/demo/echo") != 0) {
		client_http_error(c, 404, NULL, "unknown path (use "
		    "/demo/ws/USER_ID or /demo/echo)");
		return CLIENT_REPLY;
	}
	if (hs == HS_NOT_UPGRADE) {
		client_http_error(c, 400, NULL,
		    "not a WebSocket upgrade request");
		return CLIENT_REPLY;
	}
	if (hs == HS_BAD_VERSION) {
		client_http_error(c, 426, "Sec-WebSocket-Version: 13\r\n",
		    "unsupported Sec-WebSocket-Version (only 13)");
		return CLIENT_REPLY;
	}
	if (hs != HS_OK) {
		client_http_error(c, 400, NULL, hs_strerror(hs));
		return CLIENT_REPLY;
	}
	if (id == NULL)
		return client_admit(c, req, NULL) == 0 ? CLIENT_ECHO :
		    CLIENT_REPLY;
	if (!codec_valid_user(id, strlen(id))) {
		log_debug("%s #%llu bad user id '%s'", client_addr(c),
		    (unsigned long long)c->id,
		    util_escape(esc, sizeof(esc), id, strlen(id)));
		client_http_error(c, 400, NULL, "invalid user id: use 1-64 "
		    "characters from A-Z a-z 0-9 . _ -");
		return CLIENT_REPLY;
	}
	if (client_admit(c, req, id) != 0)
		return CLIENT_REPLY;
	if (client_since(c, req) != 0)
		return CLIENT_REPLY;
	snprintf(user, CODEC_MAX_USER + 1, "%s", id);
	return CLIENT_CHAT;
}

static void
client_handshake(struct client *c)
{
	struct client_hs	*h = client_hs(c);
	struct hs_request	 req;
	enum client_state	 next;
	char			 user[CODEC_MAX_USER + 1];
	char			 buf[512], ext[PMCE_LINE_MAX];
	size_t			 total, rest;
	ssize_t			 n;
	int			 hs, len;
	uint8_t			*p;

	/* Bytes kept from earlier reads go first, then what is new. */
	if (h->len > 0)
		memcpy(hs_rbuf, h->buf, h->len);
	n = tp_read(h->tp, hs_rbuf + h->len, HS_MAX_HEAD - h->len);
	if (n == TP_WANT_READ || n == TP_WANT_WRITE)
		return;
	if (n == TP_ERROR && tp_is_tls(h->tp)) {
		/* Plain HTTP or garbage on the TLS port ends up here. */
		client_count(client_srv, CC_TLS_FAILED);
		log_info_limited("%s #%llu TLS handshake failed: %s",
		    client_addr(c), (unsigned long long)c->id,
		    tp_strerror(h->tp));
		client_die(c);
		return;
	}
	if (n < 0) {
		log_debug("%s #%llu gone during handshake", client_addr(c),
		    (unsigned long long)c->id);
		client_die(c);
		return;
	}
	total = h->len + (size_t)n;
	c->last_rx = (uint32_t)client_srv->now;
	client_srv->st_bytes_in += (uint64_t)n;
	/* 0x16 starts a TLS record: a wss:// client on a ws:// port. */
	if (h->len == 0 && hs_rbuf[0] == 0x16 && !tp_is_tls(h->tp)) {
		log_info_limited("%s #%llu TLS handshake on a plain ws:// "
		    "port, closing", client_addr(c), (unsigned long long)c->id);
		client_die(c);
		return;
	}
	hs = hs_parse_request(hs_rbuf, total, &req);
	/* The path for logs: never the query, which may hold a token. */
	if (req.target[0] != '\0')
		util_escape(h->path, sizeof(h->path), req.target,
		    strcspn(req.target, "?"));
	if (hs == HS_INCOMPLETE) {
		if (total == HS_MAX_HEAD)
			hs = HS_TOO_LARGE;
		else {
			/* A slow client holds only what it sent. */
			if ((p = realloc(h->buf, total)) == NULL) {
				client_die(c);
				return;
			}
			memcpy(p, hs_rbuf, total);
			h->buf = p;
			h->len = total;
			return;
		}
	}
	switch (hs) {
	case HS_TOO_LARGE:
		client_http_error(c, 431, NULL, "request head too large");
		return;
	case HS_MALFORMED:
		client_http_error(c, 400, NULL, "malformed HTTP request");
		return;
	case HS_BAD_METHOD:
		if (!req.method_head) {
			client_http_error(c, 405, "Allow: GET, HEAD\r\n",
			    "only GET and HEAD are allowed");
			return;
		}
		/* Answered as GET, without the body: never upgraded. */
		h->head_only = 1;
		hs = HS_NOT_UPGRADE;
		break;
	}
	if (client_srv->shutting_down) {
		client_http_error(c, 503, NULL, "server shutting down");
		return;
	}
	if ((next = client_route(c, &req, hs, user)) == CLIENT_REPLY)
		return;
	/* An offer we cannot use is answered without the extension. */
	(void)pmce_accept(req.extensions, strlen(req.extensions), &h->pmce,
	    ext);
	len = hs_build_accept(buf, sizeof(buf), req.key, ext);
	if (len < 0 || (h->reply = malloc((size_t)len)) == NULL) {
		client_die(c);
		return;
	}
	memcpy(h->reply, buf, (size_t)len);
	h->reply_len = (size_t)len;
	c->state = CLIENT_REPLY;
	h->after = next;
	/* Keep what followed the head (a pipelined frame). */
	rest = total - req.head_len;
	free(h->buf);
	h->buf = NULL;
	h->len = 0;
	if (rest > 0) {
		if ((h->buf = malloc(rest)) == NULL) {
			client_die(c);
			return;
		}
		memcpy(h->buf, hs_rbuf + req.head_len, rest);
		h->len = rest;
	}
	if (next == CLIENT_CHAT)
		memcpy(h->user, user, sizeof(user));
	client_flush(c);
}

/*
 * An error answer is out: stop sending and read whatever the peer still
 * sends until it closes, so that closing with unread input does not
 * reset the connection before the peer has read the answer.
 */
static void
client_linger(struct client *c)
{
	struct client_hs	*h = client_hs(c);

	/* Only the socket is needed from now on. */
	free(h->buf);
	h->buf = NULL;
	h->len = 0;
	free(h->reply);
	h->reply = NULL;
	if (shutdown(tp_fd(h->tp), SHUT_WR) == -1) {
		client_die(c);
		return;
	}
	c->state = CLIENT_LINGER;
	c->deadline = (uint32_t)client_srv->now + LINGER_MS;
	client_touch(client_srv, c);
}

/* The 101 is out: become a WebSocket connection. */
static void
client_upgrade(struct client *c)
{
	struct client_hs	*h = client_hs(c);
	struct ws_config	 cfg;
	int			 r;

	if (client_srv->ws_shared.cb == NULL) {
		cfg.role = WS_ROLE_SERVER;
		cfg.max_message = client_srv->cfg.max_message;
		cfg.max_output = client_srv->cfg.max_output;
		ws_shared_init(&client_srv->ws_shared, &cfg, &client_ws_cb,
		    offsetof(struct client, ws_mem));
	}
	if (ws_conn_init(c->ws_mem, &client_srv->ws_shared, h->tp) == NULL) {
		h->tp = NULL;
		client_die(c);
		return;
	}
	h->tp = NULL;
	c->upgraded = 1;
	ws_conn_set_deflate(client_ws(c), &h->pmce);
	c->state = h->after;
	c->last_rx = c->last_tx_progress = (uint32_t)client_srv->now;
	c->rl_tokens = (float)client_srv->cfg.burst;
	c->q_tokens = QUERY_BURST;
	c->token_exp = h->token_exp;		/* no deadline from now on */
	if (c->state == CLIENT_CHAT) {
		r = router_attach(client_srv->router, &c->rc, h->user, h->resume,
		    h->since, h->resume || h->has_epoch ? h->epoch : NULL);
		if (r == -1) {
			client_count(client_srv, CC_MAX_PER_USER);
			log_info("%s #%llu user %s refused: more than %zu "
			    "connections", client_addr(c),
			    (unsigned long long)c->id, h->user,
			    client_srv->cfg.max_per_user);
			hs_free(h);
			client_close(c, 1008,
			    "too many connections for this user");
			return;
		}
		if (r != 0) {
			hs_free(h);
			client_close(c, 1011, "out of memory");
			return;
		}
		if (client_routable(c))	/* not closed while replaying */
			log_info("%s #%llu user %s connected (%zu "
			    "connection%s)", client_addr(c),
			    (unsigned long long)c->id, h->user,
			    router_user_conns(&c->rc),
			    router_user_conns(&c->rc) == 1 ? "" : "s");
	} else
		log_info("%s #%llu echo connected", client_addr(c),
		    (unsigned long long)c->id);
	/* Frames that came with the request. */
	r = h->len > 0 ? ws_conn_feed(client_ws(c), h->buf, h->len) : 0;
	hs_free(h);
	if (r != 0)
		client_kill(c, "bad data after handshake");
}

int
client_is_tls(const struct client *c)
{
	return client_ws(c) != NULL ? ws_conn_is_tls(client_ws(c)) :
	    client_hs(c) != NULL && client_hs(c)->tp != NULL &&
	    tp_is_tls(client_hs(c)->tp);
}

void
client_on_event(struct client *c, short rev)
{
	/*
	 * With TLS either direction can unblock either call (a read that
	 * must write during the handshake), so try both.
	 */
	int	tls = client_is_tls(c);

	if ((rev & (POLLIN | POLLHUP | POLLERR)) || (tls && (rev & POLLOUT)))
		client_on_readable(c);
	if (!c->dead && ((rev & (POLLOUT | POLLERR)) ||
	    (tls && (rev & POLLIN))))
		client_flush(c);
	if (!c->dead && ((rev & (POLLERR | POLLNVAL)) ||
	    ((rev & POLLHUP) && !(c->armed & POLLIN))))
		client_drop(c, "socket error");
}

void
client_on_readable(struct client *c)
{
	uint64_t	before;
	int		r;

	if (c->dead)
		return;
	if (c->state == CLIENT_HANDSHAKE) {
		client_handshake(c);
		return;
	}
	if (c->state == CLIENT_LINGER) {
		/* Discard; done at end of stream or on error. */
		ssize_t	n = tp_read(client_hs(c)->tp, hs_rbuf, sizeof(hs_rbuf));

		if (n == TP_EOF || n == TP_ERROR)
			client_die(c);
		return;
	}
	if (client_ws(c) == NULL)
		return;
	client_heard(c);
	c->pinged = 0;
	before = ws_bytes_read();
	r = ws_conn_on_readable(client_ws(c));
	client_srv->st_bytes_in += ws_bytes_read() - before;
	if (r != 0)
		client_kill(c, ws_strerror(r));
	else if (ws_conn_close_sent(client_ws(c)) &&
	    !ws_conn_close_received(client_ws(c)) &&
	    c->state != CLIENT_CLOSING) {
		/* wslay refused a frame: 1002, 1007 or 1009 is queued. */
		log_info("%s #%llu protocol violation, closing with %u",
		    client_addr(c), (unsigned long long)c->id,
		    ws_conn_code_sent(client_ws(c)));
		client_detach_later(c);
		c->state = CLIENT_CLOSING;
		c->deadline = (uint32_t)client_srv->now + CLOSE_TIMEOUT_MS;
	}
	if (!c->dead && ws_conn_done(client_ws(c)))
		client_kill(c, ws_conn_close_received(client_ws(c)) ?
		    "closed" : "connection lost");
}

void
client_flush(struct client *c)
{
	uint64_t	 before;
	ssize_t		 n;

	if (c->dead)
		return;
	if (c->state == CLIENT_REPLY) {
		struct client_hs	*h = client_hs(c);

		n = tp_write(h->tp, h->reply + h->reply_off,
		    h->reply_len - h->reply_off);
		if (n == TP_WANT_WRITE || n == TP_WANT_READ)
			return;
		if (n < 0) {
			client_die(c);
			return;
		}
		h->reply_off += (size_t)n;
		client_srv->st_bytes_out += (uint64_t)n;
		if (h->reply_off < h->reply_len)
			return;
		free(h->reply);
		h->reply = NULL;
		if (h->after == CLIENT_LINGER)
			client_linger(c);
		else
			client_upgrade(c);
		return;
	}
	if (client_ws(c) == NULL || ws_conn_pending(client_ws(c)) == 0)
		goto check;
	before = ws_conn_written(client_ws(c));
	if (ws_conn_flush(client_ws(c)) != 0) {
		client_kill(c, "write failed");
		return;
	}
	if (ws_conn_written(client_ws(c)) != before) {
		c->last_tx_progress = (uint32_t)client_srv->now;
		client_srv->st_bytes_out += ws_conn_written(client_ws(c)) - before;
	}
	client_pop_written(c);
	if (c->rc.user != NULL && client_routable(c))
		router_drained(client_srv->router, &c->rc);
check:
	if (client_ws(c) != NULL && !c->dead && ws_conn_done(client_ws(c)))
		client_kill(c, "closed");
}

void
client_timers(struct client *c)
{
	const struct server_config *cfg = &client_srv->cfg;
	uint32_t	now = (uint32_t)client_srv->now;
	/* Times are 32-bit (server.h): compared by wrapping difference. */
	int		expired = (int32_t)(now - c->deadline) >= 0;
	uint32_t	quiet = now - c->last_rx;
	uint32_t	stalled = now - c->last_tx_progress;

	if (c->dead)
		return;
	switch (c->state) {
	case CLIENT_LINGER:
		if (expired)
			client_die(c);
		return;
	case CLIENT_HANDSHAKE:
	case CLIENT_REPLY:
		if (expired) {
			client_count(client_srv, CC_HANDSHAKE_TIMEOUT);
			log_info_limited("%s #%llu handshake timeout",
			    client_addr(c), (unsigned long long)c->id);
			client_die(c);
		}
		return;
	case CLIENT_CLOSING:
		if (expired)
			client_kill(c, "close handshake timed out");
		return;
	default:
		break;
	}
	if (c->token_exp != 0 &&
	    util_wall_ms() / 1000 >= (uint64_t)c->token_exp + JWT_SKEW_S) {
		log_info("%s #%llu user %s: token expired, closing",
		    client_addr(c), (unsigned long long)c->id,
		    c->rc.user != NULL ? router_user_id(&c->rc) : "-");
		client_close(c, 1008, "token expired");
		return;
	}
	if (cfg->idle_timeout > 0 && quiet >= cfg->idle_timeout) {
		log_info("%s #%llu idle for %lu ms, closing", client_addr(c),
		    (unsigned long long)c->id, (unsigned long)quiet);
		client_close(c, 1001, "idle timeout");
		return;
	}
	if (ws_conn_pending(client_ws(c)) > 0 && cfg->idle_timeout > 0 &&
	    stalled >= cfg->idle_timeout) {
		log_info("%s #%llu not reading for %lu ms, cut off",
		    client_addr(c), (unsigned long long)c->id,
		    (unsigned long)stalled);
		client_cut(c);
		return;
	}
	/* A connection quiet for a second gives its parser state back. */
	if (quiet >= 1000 && ws_conn_pending(client_ws(c)) == 0)
		ws_conn_trim(client_ws(c));
	if (cfg->ping_interval > 0 && !c->pinged &&
	    quiet >= cfg->ping_interval) {
		c->pinged = 1;
		ws_conn_ping(client_ws(c), "chat", 4);
		client_touch(client_srv, c);
	}
}

void
client_shutdown(struct client *c)
{
	if (c->dead)
		return;
	if (client_ws(c) == NULL || c->state == CLIENT_CLOSING) {
		if (client_ws(c) == NULL)
			client_die(c);
		return;
	}
	client_close(c, 1001, "server shutting down");
}

void
client_free(struct client *c)
{
	uint8_t	key[16] = { 0 };

	if (c == NULL)
		return;
	if (c->ip_counted) {
		memcpy(key, client_ip(c), c->addr == CLIENT_ADDR_V6 ? 16 : 4);
		ipcount_del(client_srv->ipc, (uint8_t)client_af(c), key);
	}
	client_detach(c);
	ws_conn_release(client_ws(c));
	client_hs_free(c);
	if (c->rare != NULL)
		free(c->rare->token_rooms);
	free(c->rare);
	free(c);
}

/* ---- how the router and presence reach a connection (deliver.h) ---- */

/* The ops' conn is the client's rconn (deliver.h): the client is around. */
static struct client *
dl_client(const void *conn)
{
	return (struct client *)(void *)((char *)(uintptr_t)conn -
	    offsetof(struct client, rc));
}

static int
dl_send_msg(void *conn, struct msg *m)
{
	return client_send_msg(dl_client(conn), m);
}

/*
 * c's own room message, not sent to it: an entry without bytes, so
 * that the router hears it was written once what is before it is.
 */
static int
dl_skip_msg(void *conn, struct msg *m)
{
	struct client	*c = dl_client(conn);
	struct mq_ent	*e;

	if (c->dead || c->cut || client_ws(c) == NULL ||
	    c->state != CLIENT_CHAT)
		return -1;
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return -1;
	e->start = e->end = ws_conn_queued(client_ws(c));
	e->m = msg_ref(m);
	e->skip = 1;
	mq_push(&c->inflight, e);
	client_touch(client_srv, c);
	return 0;
}

static int
dl_send_text(void *conn, const char *p, size_t len)
{
	return client_send_text(dl_client(conn), p, len);
}

static void
dl_done(void *conn, const char *id, enum route_result r, uint64_t seq,
    uint64_t missed)
{
	struct client	*c = dl_client(conn);

	client_chat_done(c, id, r, seq, missed);
	/* Re-armed after the pass: it may read again (--max-pending). */
	client_touch(client_srv, c);
}

static void
dl_close(void *conn, uint16_t code, const char *reason)
{
	client_close(dl_client(conn), code, reason);
}

static size_t
dl_room(const void *conn)
{
	return client_room(dl_client(conn));
}

static size_t
dl_pending(const void *conn)
{
	return client_pending(dl_client(conn));
}

static int
dl_live(const void *conn)
{
	const struct client	*c = dl_client(conn);

	return client_routable(c) && c->state == CLIENT_CHAT;
}

static const char *
dl_name(const void *conn)
{
	const struct client	*c = dl_client(conn);
	static char		 buf[INET6_ADDRSTRLEN + 40];

	snprintf(buf, sizeof(buf), "%s #%llu", client_addr(c),
	    (unsigned long long)c->id);
	return buf;
}

const struct deliver_ops client_deliver_ops = {
	dl_send_msg, dl_skip_msg, dl_send_text, dl_done, dl_close, dl_room,
	dl_pending, dl_live, dl_name
};

/* ---- the clients of a pass: touched, flushed, re-armed, reaped ---- */

void
client_touch(struct server *s, struct client *c)
{
	if (c->touched)
		return;
	if (vec_grow(&s->touch, &s->captouch, s->ntouch + 1,
	    sizeof(*s->touch)) == -1) {
		/* Without a place on the list it cannot be re-armed. */
		log_error("%s #%llu: out of memory", client_addr(c),
		    (unsigned long long)c->id);
		c->dead = 1;
		return;
	}
	c->touched = 1;
	s->touch[s->ntouch++] = c;
}

/*
 * The clients are found by descriptor (s->byfd), not on a list through
 * them: a client spends no field on it, and the array costs a pointer
 * per descriptor up to the highest (the kernel hands out the lowest
 * free one, so the slots stay dense).  A client's descriptor is the
 * same from client_link() to client_unlink(), and is closed only by
 * client_free() after that (a dead client keeps it until reaped), so a
 * descriptor number is never reused while its slot is set.
 */
int
client_link(struct server *s, struct client *c)
{
	int	fd = client_fd(c);
	size_t	i;

	if (fd < 0 || vec_grow(&s->byfd, &s->capbyfd, (size_t)fd + 1,
	    sizeof(*s->byfd)) == -1)
		return -1;
	for (i = s->nbyfd; i <= (size_t)fd; i++)
		s->byfd[i] = NULL;
	if (s->nbyfd <= (size_t)fd)
		s->nbyfd = (size_t)fd + 1;
	c->armed = POLLIN;
	if (poller_add(s->poller, fd, POLLIN, c) == -1)
		return -1;
	s->byfd[fd] = c;
	s->nclients++;
	return 0;
}

static void
client_unlink(struct server *s, struct client *c)
{
	int	fd = client_fd(c);

	poller_remove(s->poller, fd);
	if (fd >= 0 && (size_t)fd < s->nbyfd && s->byfd[fd] == c)
		s->byfd[fd] = NULL;
	s->nclients--;
}

void
clients_each(struct server *s, void (*fn)(struct client *))
{
	size_t	i;

	for (i = 0; i < s->nbyfd; i++)
		if (s->byfd[i] != NULL)
			fn(s->byfd[i]);
}

void
clients_free_all(struct server *s)
{
	size_t	i;

	for (i = 0; i < s->nbyfd; i++) {
		client_free(s->byfd[i]);
		s->byfd[i] = NULL;
	}
	free(s->byfd);
	s->byfd = NULL;
	s->nbyfd = s->capbyfd = 0;
	s->nclients = 0;
}

/* Register the events c wants now, with a syscall only on change. */
static void
client_arm(struct server *s, struct client *c)
{
	short	ev = client_events(c);

	if (ev == c->armed)
		return;
	c->armed = ev;
	if (poller_modify(s->poller, client_fd(c), ev, c) == -1) {
		log_warn("%s #%llu: cannot poll: %s", client_addr(c),
		    (unsigned long long)c->id, strerror(errno));
		client_drop(c, "cannot poll");
	}
}

/*
 * Before sleeping: flush each touched client once (redis's
 * handleClientsWithPendingWrites), re-arm its events, and reap it if it
 * died.  Flushing may touch more clients (a drained queue), so the list
 * is walked by index until it stops growing.
 */
void
clients_process_touched(struct server *s)
{
	struct client	*c;
	size_t		 i;

	/*
	 * Leaving the router can tell watchers (and cut them off, which
	 * touches them): that happens here, between passes, and the walk
	 * by index takes the newly touched ones too.
	 */
	for (i = 0; i < s->ntouch; i++) {
		client_detach_pending(s->touch[i]);
		client_flush(s->touch[i]);
	}
	for (i = 0; i < s->ntouch; i++) {
		c = s->touch[i];
		c->touched = 0;
		if (!c->dead)
			client_arm(s, c);
		if (c->dead) {
			client_unlink(s, c);
			client_free(c);
		}
	}
	s->ntouch = 0;
	router_flush(s->router);
	users_reap(s->users);
}
