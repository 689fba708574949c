/*
 * Copyright (c) 2026 The chat authors.
 *
 * load: chat-bench's connections and its one-thread epoll loop.  It
 * dials with common/dial.c (at most --conc handshakes at once), talks
 * through common/ws.c as a client, and checks every message it gets:
 * the right receiver, the right sender, a sequence number that was sent
 * and not seen before, in order per stream.  Messages carry their send
 * time (CLOCK_MONOTONIC, or the scheduled time in fixed-rate mode, so
 * that a stalled server cannot hide its backlog: no coordinated
 * omission).  With several -u the connections are shared out over
 * them: a pair of chat users on one node, or with --cross on two
 * neighbouring nodes, so that every message crosses from one to the
 * other.  In room mode every connection is a member of one room
 * (joined before any traffic), the first --senders of them send to it,
 * and each message is checked at every other member; a sender's window
 * counts the messages not yet received by all of them.  It prints
 * nothing but warnings; main.c reports.
 */
#define _GNU_SOURCE		/* epoll_pwait2() */

#include <sys/epoll.h>
#include <sys/types.h>

#include <err.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "codec.h"
#include "dial.h"
#include "ws.h"

#define MAX_EVENTS	1024
#define IDLE_WAIT_NS	10000000	/* longest sleep of a pass: 10 ms */
#define MSG_MAX		66000		/* -s is at most 60000 */
#define REGISTER_WAIT_MS 200		/* after connecting, before sending */

enum conn_state {
	CONN_NEW,		/* not dialed yet */
	CONN_DIALING,
	CONN_OPEN,
	CONN_DEAD
};

struct conn {
	int		 idx;
	enum conn_state	 state;
	int		 fd;		/* registered with epoll, or -1 */
	uint32_t	 epev;		/* what epoll watches for */
	int		 dirty;		/* on the flush list */
	struct dial	*dial;
	struct ws_conn	*ws;

	/* As a sender. */
	uint64_t	 sent;		/* next sequence number */

	/*
	 * Chat and echo: its own messages as received (by the partner, the
	 * hot user, itself).
	 */
	struct stream {
		uint64_t	 uniq;		/* distinct valid messages */
		uint64_t	 top;		/* highest sequence seen + 1 */
		uint8_t		*seen;		/* bitmap of sequence numbers */
		size_t		 seenlen;	/* bytes */
	} in;
	/* Room: one stream from each sender, and whether we joined. */
	struct stream	*from;
	int		 joined;
	/* Room, as a sender: receipts of each message in the window. */
	uint64_t	 done;		/* received by every other member */
	uint32_t	*ring;		/* receipts of seq, at seq % window */
};

static struct {
	const struct bench_opts	*o;
	struct bench_result	*r;
	struct conn		*c;
	int			 n;
	int			 epfd;
	int			*dirtyq;
	int			 ndirty;
	int			 dialing;
	int			 sending;
	int			 measuring;
	int			 closing;
	struct hist		*hist;

	/* Fixed rate. */
	uint64_t		 t0_ns;
	uint64_t		 scheduled;	/* messages due so far */
	uint64_t		 rr;		/* round-robin position */
	int			*senders;
	int			 nsenders;
	int			 blocked;	/* every window full */
	int			 njoined;	/* room */
	char			 room[64];	/* room: prefix "room" */

	char			 msg[MSG_MAX];
} B;

static const struct ws_config ws_cfg = {
	WS_ROLE_CLIENT,
	1024 * 1024,			/* max_message */
	64 * 1024 * 1024		/* max_output */
};

static void	on_message(void *, enum ws_opcode, const uint8_t *, size_t);

static const struct ws_callbacks ws_cb = { on_message, NULL };

/*
 * Who receives what s sends: the partner in chat, user 0 with --hot, s
 * itself in echo.
 */
static int
receiver_of(int s)
{
	if (B.o->mode != BENCH_CHAT)
		return s;
	return B.o->hot ? 0 : s ^ 1;
}

/* Does s send?  Not the hot receiver; in a room, the first --senders. */
static int
is_sender(int s)
{
	if (B.o->mode == BENCH_ROOM)
		return s < B.o->senders;
	return !(B.o->hot && s == 0);
}

static void
mark_dirty(struct conn *c)
{
	if (!c->dirty) {
		c->dirty = 1;
		B.dirtyq[B.ndirty++] = c->idx;
	}
}

static void
conn_kill(struct conn *c)
{
	if (c->state == CONN_DIALING) {
		dial_free(c->dial);
		c->dial = NULL;
		B.dialing--;
		B.r->conns_failed++;
	} else if (c->state == CONN_OPEN) {
		ws_conn_free(c->ws);
		c->ws = NULL;
		if (!B.closing)
			B.r->conns_dropped++;
	}
	/* Closing the fd took it out of the epoll set. */
	c->fd = -1;
	c->epev = 0;
	c->state = CONN_DEAD;
}

/* Make epoll watch c's socket for pollev (POLLIN/POLLOUT). */
static void
conn_watch(struct conn *c, int fd, short pollev)
{
	struct epoll_event	ev;
	uint32_t		want = 0;

	if (pollev & POLLIN)
		want |= EPOLLIN;
	if (pollev & POLLOUT)
		want |= EPOLLOUT;
	memset(&ev, 0, sizeof(ev));
	ev.events = want;
	ev.data.u32 = (uint32_t)c->idx;
	if (fd != c->fd) {
		/* New socket (dial moved to the next address). */
		if (epoll_ctl(B.epfd, EPOLL_CTL_ADD, fd, &ev) == -1)
			err(1, "epoll_ctl");
		c->fd = fd;
		c->epev = want;
	} else if (want != c->epev) {
		if (epoll_ctl(B.epfd, EPOLL_CTL_MOD, fd, &ev) == -1)
			err(1, "epoll_ctl");
		c->epev = want;
	}
}

/*
 * Which -u connection i goes to.  Chat: pair k (users 2k and 2k+1) on
 * node k mod N, or with --cross user 2k there and 2k+1 on the next node,
 * so that each node holds as many senders as receivers.  Echo, idle:
 * round-robin.
 */
static int
node_of(int i)
{
	int	n = B.o->ntargets;

	if (B.o->mode != BENCH_CHAT || B.o->hot)
		return i % n;		/* round-robin, room members too */
	if (B.o->cross && (i & 1))
		return (i / 2 + 1) % n;
	return (i / 2) % n;
}

static void
target_of(int i, char *buf, size_t len)
{
	const struct bench_target	*t = &B.o->targets[node_of(i)];

	if (B.o->mode == BENCH_ECHO)
		snprintf(buf, len, "%s", t->base);
	else
		snprintf(buf, len, "%s%s%d", t->base, B.o->prefix, i);
}

static void
first_error(struct conn *c, const char *why)
{
	if (B.r->first_error[0] == '\0') {
		snprintf(B.r->first_error, sizeof(B.r->first_error), "%s",
		    why);
		B.r->first_error_target = node_of(c->idx);
	}
}

static void
dial_failed(struct conn *c, const char *why)
{
	first_error(c, why);
	conn_kill(c);
}

static void
conn_dial(struct conn *c)
{
	char	target[HS_MAX_TARGET + 64], why[DIAL_ERRLEN];

	target_of(c->idx, target, sizeof(target));
	c->state = CONN_DIALING;
	B.dialing++;
	if ((c->dial = dial_start(&B.o->targets[node_of(c->idx)].u, NULL,
	    target, NULL, B.o->compress ? DIAL_COMPRESS : 0, why)) == NULL) {
		dial_failed(c, why);
		return;
	}
	conn_watch(c, dial_fd(c->dial), dial_events(c->dial));
}

static void
conn_dial_step(struct conn *c)
{
	char		 why[DIAL_ERRLEN];
	struct ws_conn	*ws;
	struct dial	*d = c->dial;

	switch (dial_step(d, why, NULL)) {
	case DIAL_AGAIN:
		conn_watch(c, dial_fd(d), dial_events(d));
		return;
	case DIAL_FAILED:
		dial_failed(c, why);
		return;
	}
	c->dial = NULL;
	B.dialing--;
	c->state = CONN_OPEN;
	if ((ws = dial_finish(d, &ws_cfg, &ws_cb, c, &c->ws, why)) == NULL) {
		/* The socket is closed and gone from the epoll set. */
		c->state = CONN_DEAD;
		c->fd = -1;
		B.r->conns_failed++;
		first_error(c, why);
		return;
	}
	c->ws = ws;
	B.r->conns_ok++;
	mark_dirty(c);
}

/* Append the decimal digits of v at p; returns the end. */
static char *
put_u64(char *p, uint64_t v)
{
	char	tmp[24];
	size_t	n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0);
	while (n > 0)
		*p++ = tmp[--n];
	return p;
}

static char *
put_str(char *p, const char *s, size_t len)
{
	memcpy(p, s, len);
	return p + len;
}

/*
 * Queue one message from s stamped with ts (ns): the string "SRC SEQ
 * SEND_NS xxx..." padded to -s bytes, wrapped in a chat request or sent
 * bare to the echo endpoint.  Built by hand: snprintf() showed up in
 * the client's profile.  Returns 0, or -1 if the connection took
 * nothing.
 */
static int
send_one(int s, uint64_t ts)
{
	static const char	 head[] = "{\"message\": \"";
	static const char	 mid[] = "\", \"target_user\": \"";
	static const char	 rmid[] = "\", \"target_room\": \"";
	struct conn		*c = &B.c[s];
	char			*p = B.msg, *body;
	size_t			 blen;

	if (B.o->mode == BENCH_CHAT || B.o->mode == BENCH_ROOM)
		p = put_str(p, head, sizeof(head) - 1);
	body = p;
	p = put_u64(p, (uint64_t)s);
	*p++ = ' ';
	p = put_u64(p, c->sent);
	*p++ = ' ';
	p = put_u64(p, ts);
	*p++ = ' ';
	blen = (size_t)(p - body);
	if (blen < (size_t)B.o->size) {
		memset(p, 'x', (size_t)B.o->size - blen);
		p += (size_t)B.o->size - blen;
	}
	if (B.o->mode == BENCH_CHAT) {
		p = put_str(p, mid, sizeof(mid) - 1);
		p = put_str(p, B.o->prefix, strlen(B.o->prefix));
		p = put_u64(p, (uint64_t)receiver_of(s));
		p = put_str(p, "\"}", 2);
	} else if (B.o->mode == BENCH_ROOM) {
		p = put_str(p, rmid, sizeof(rmid) - 1);
		p = put_str(p, B.room, strlen(B.room));
		p = put_str(p, "\"}", 2);
	}
	if (ws_conn_send(c->ws, WS_OP_TEXT, B.msg, (size_t)(p - B.msg),
	    NULL) != 0)
		return -1;
	c->sent++;
	B.r->total_sent++;
	if (B.measuring)
		B.r->sent++;
	mark_dirty(c);
	return 0;
}

static int
has_room(int s)
{
	const struct conn	*c = &B.c[s];
	uint64_t		 got;

	got = B.o->mode == BENCH_ROOM ? c->done : c->in.uniq;
	return c->state == CONN_OPEN && c->ws != NULL &&
	    c->sent - got < (uint64_t)B.o->window &&
	    B.r->total_sent < B.o->max_msgs;
}

/* Closed loop: top the window of s up. */
static void
refill(int s)
{
	uint64_t	now;

	if (!B.sending || B.o->rate > 0 || !has_room(s))
		return;
	now = bench_now_ns();
	while (has_room(s) && send_one(s, now) == 0)
		;
}

/* Fixed rate: send what is due, round-robin over senders with room. */
static void
pace(void)
{
	uint64_t	due;
	int		k, s = -1;

	due = (uint64_t)((double)(bench_now_ns() - B.t0_ns) *
	    (double)B.o->rate / 1e9);
	B.blocked = 0;
	while (B.scheduled < due && B.r->total_sent < B.o->max_msgs) {
		for (k = 0; k < B.nsenders; k++) {
			s = B.senders[(B.rr + (uint64_t)k) %
			    (uint64_t)B.nsenders];
			if (has_room(s))
				break;
		}
		if (k == B.nsenders) {
			/* Stays due: its latency will show the wait. */
			B.blocked = 1;
			return;
		}
		B.rr += (uint64_t)k + 1;
		if (send_one(s, B.t0_ns + (uint64_t)((double)B.scheduled *
		    1e9 / (double)B.o->rate)) == -1) {
			B.blocked = 1;
			return;
		}
		B.scheduled++;
	}
}

/* Parse a decimal number ending in a space; advance *pp past it. */
static int
take_number(const char **pp, const char *end, uint64_t *out)
{
	const char	*p = *pp;
	uint64_t	 v = 0;

	if (p >= end || *p < '0' || *p > '9')
		return -1;
	for (; p < end && *p >= '0' && *p <= '9'; p++) {
		if (v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (p >= end || *p != ' ')
		return -1;
	*pp = p + 1;
	*out = v;
	return 0;
}

/* Deliveries due for what was sent: one, or each other member's. */
static uint64_t
expected(void)
{
	if (B.o->mode != BENCH_ROOM)
		return B.r->total_sent;
	return B.njoined > 1 ? B.r->total_sent * (uint64_t)(B.njoined - 1) :
	    0;
}

/*
 * Room: one more member has s's message seq; once every other member
 * has it, it leaves the window (in order: the window moves past the
 * oldest only).
 */
static void
room_receipt(struct conn *s, uint64_t seq)
{
	uint32_t	all = (uint32_t)(B.njoined - 1);
	uint32_t	w = (uint32_t)B.o->window;

	if (seq < s->done)
		return;
	s->ring[seq % w]++;
	while (s->done < s->sent && s->ring[s->done % w] >= all) {
		s->ring[s->done % w] = 0;
		s->done++;
	}
}

/* Check the body "SRC SEQ SEND_NS xxx" of a message that r received. */
static void
check_body(struct conn *r, const char *p, size_t len, uint64_t now)
{
	const char	*end = p + len;
	uint64_t	 src, seq, ts;
	struct conn	*s;
	struct stream	*st;
	size_t		 need, i;
	uint8_t		*nseen;

	if (take_number(&p, end, &src) == -1 ||
	    take_number(&p, end, &seq) == -1 ||
	    take_number(&p, end, &ts) == -1) {
		B.r->malformed++;
		return;
	}
	if (B.o->mode == BENCH_ROOM) {
		/* From a sender, never from ourselves. */
		if (src >= (uint64_t)B.o->senders || src == (uint64_t)r->idx) {
			B.r->misrouted++;
			return;
		}
		st = &r->from[src];
	} else if (src >= (uint64_t)B.n || !is_sender((int)src) ||
	    receiver_of((int)src) != r->idx) {
		B.r->misrouted++;
		return;
	} else
		st = &B.c[src].in;
	s = &B.c[src];
	if (seq >= s->sent) {
		/* Never sent: the server made it up or mixed streams. */
		B.r->misrouted++;
		return;
	}
	/* seq < s->sent bounds the bitmap by what was sent. */
	need = (size_t)(seq / 8) + 1;
	if (need > st->seenlen) {
		need = need < 64 ? 64 : need * 2;
		if ((nseen = realloc(st->seen, need)) == NULL)
			err(1, NULL);
		memset(nseen + st->seenlen, 0, need - st->seenlen);
		st->seen = nseen;
		st->seenlen = need;
	}
	i = (size_t)(seq / 8);
	if (st->seen[i] & (1u << (seq % 8))) {
		B.r->dup++;
		return;
	}
	st->seen[i] |= (uint8_t)(1u << (seq % 8));
	if (seq + 1 < st->top)
		B.r->out_of_order++;
	else
		st->top = seq + 1;
	st->uniq++;
	B.r->total_delivered++;
	if (B.measuring) {
		B.r->delivered++;
		hist_add(B.hist, now > ts ? (now - ts) / 1000 : 0);
	}
	if (B.o->mode == BENCH_ROOM)
		room_receipt(s, seq);
	refill((int)src);
}

/* JSON digits as jansson writes them, at most 19: the end, or NULL. */
static const char *
fast_uint(const char *p, const char *end)
{
	const char	*q;

	if (p >= end || *p < '0' || *p > '9')
		return NULL;
	for (q = p; q < end && *q >= '0' && *q <= '9'; q++)
		;
	if (q - p > 19 || (*p == '0' && q - p > 1))
		return NULL;
	return q;
}

/*
 * The chat event exactly as our server writes it (codec_chat_into):
 * {"message":"BODY","from_user":"USER"[,"room":"ROOM"],"ts":DIGITS
 * [,"seq":DIGITS]}
 * with a BODY free of escapes and control bytes, or without "ts" as the
 * peers of bench/compare write it (JSON.stringify, jansson).  Whatever matches is
 * valid JSON with those members, so this is a full check of that shape;
 * anything else goes to codec_parse_ev().  jansson was a third of the
 * client's time, enough to make the client the bottleneck.  Returns 0
 * or -1.
 */
static int
fast_chat(const char *p, size_t len, const char **msg, size_t *msglen,
    const char **from, size_t *fromlen, int *inroom)
{
	static const char	 a[] = "{\"message\":\"";
	static const char	 b[] = "\",\"from_user\":\"";
	static const char	 c[] = "\",\"ts\":";
	static const char	 d[] = ",\"seq\":";
	static const char	 e[] = "\",\"room\":\"";
	const char		*end = p + len, *q;
	size_t			 rl = strlen(B.room);

	if (len < sizeof(a) - 1 || memcmp(p, a, sizeof(a) - 1) != 0)
		return -1;
	p += sizeof(a) - 1;
	for (q = p; q < end && *q != '"'; q++)
		if (*q == '\\' || (unsigned char)*q < 0x20)
			return -1;
	*msg = p;
	*msglen = (size_t)(q - p);
	p = q;
	if ((size_t)(end - p) < sizeof(b) - 1 ||
	    memcmp(p, b, sizeof(b) - 1) != 0)
		return -1;
	p += sizeof(b) - 1;
	for (q = p; q < end && *q != '"'; q++)
		;
	if (!codec_valid_user(p, (size_t)(q - p)))
		return -1;
	*from = p;
	*fromlen = (size_t)(q - p);
	p = q;
	/* Our room only: its name needs no escape. */
	*inroom = 0;
	if (rl > 0 && (size_t)(end - p) > sizeof(e) - 1 + rl &&
	    memcmp(p, e, sizeof(e) - 1) == 0) {
		p += sizeof(e) - 1;
		if (memcmp(p, B.room, rl) != 0)
			return -1;
		p += rl;
		*inroom = 1;
	}
	if (end - p == 2 && p[0] == '"' && p[1] == '}')
		return 0;
	if ((size_t)(end - p) < sizeof(c) - 1 ||
	    memcmp(p, c, sizeof(c) - 1) != 0)
		return -1;
	p += sizeof(c) - 1;
	if ((q = fast_uint(p, end)) == NULL)
		return -1;
	/* Then ,"seq":DIGITS when the server numbers inboxes. */
	if ((size_t)(end - q) > sizeof(d) - 1 &&
	    memcmp(q, d, sizeof(d) - 1) == 0 &&
	    (q = fast_uint(q + sizeof(d) - 1, end)) == NULL)
		return -1;
	if (q + 1 != end || *q != '}')
		return -1;
	return 0;
}

/*
 * A chat event for r from the user named from[0..fromlen), to our room
 * or not.  The body names its sender (check_body() checks it may send
 * to r), which must be from.
 */
static void
check_chat(struct conn *r, const char *from, size_t fromlen,
    const char *msg, size_t msglen, int inroom, uint64_t now)
{
	char		 want[80];
	const char	*p = msg, *end = msg + msglen;
	uint64_t	 src;
	int		 n;

	if ((B.o->mode == BENCH_ROOM) != inroom) {
		B.r->misrouted++;
		return;
	}
	if (take_number(&p, end, &src) == -1) {
		B.r->malformed++;
		return;
	}
	n = snprintf(want, sizeof(want), "%s%llu", B.o->prefix,
	    (unsigned long long)src);
	if ((size_t)n != fromlen || memcmp(want, from, fromlen) != 0)
		B.r->misrouted++;
	else
		check_body(r, msg, msglen, now);
}

static void
on_message(void *arg, enum ws_opcode op, const uint8_t *data, size_t len)
{
	struct conn	*r = arg;
	struct codec_ev	 ev;
	char		 detail[CODEC_MAX_DETAIL + 1];
	const char	*msg, *from;
	size_t		 msglen, fromlen;
	uint64_t	 now = bench_now_ns();
	int		 inroom;

	if (op != WS_OP_TEXT) {
		B.r->malformed++;
		return;
	}
	if (B.o->mode == BENCH_ECHO || B.o->mode == BENCH_IDLE) {
		check_body(r, (const char *)data, len, now);
		return;
	}
	if (!B.o->full_parse && fast_chat((const char *)data, len, &msg,
	    &msglen, &from, &fromlen, &inroom) == 0) {
		check_chat(r, from, fromlen, msg, msglen, inroom, now);
		return;
	}
	if (codec_parse_ev((const char *)data, len, &ev, detail) == -1) {
		B.r->malformed++;
		return;
	}
	switch (ev.type) {
	case CODEC_EV_CHAT:
		if (ev.room[0] != '\0' && strcmp(ev.room, B.room) != 0)
			B.r->misrouted++;
		else
			check_chat(r, ev.from, strlen(ev.from), ev.message,
			    ev.message_len, ev.room[0] != '\0', now);
		break;
	case CODEC_EV_ERROR:
		B.r->server_errors++;
		break;
	case CODEC_EV_JOINED:
		if (!r->joined && strcmp(ev.room, B.room) == 0) {
			r->joined = 1;
			B.njoined++;
		}
		break;
	default:
		/* Presence, acks: not ours to count. */
		break;
	}
	codec_ev_release(&ev);
}

static void
on_event(struct conn *c, uint32_t events)
{
	switch (c->state) {
	case CONN_DIALING:
		conn_dial_step(c);
		break;
	case CONN_OPEN:
		if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
			if (ws_conn_on_readable(c->ws) != 0) {
				conn_kill(c);
				break;
			}
		}
		/* A pong or a close echo may be queued: flush below. */
		mark_dirty(c);
		break;
	default:
		break;
	}
}

/* Write what is queued and re-arm each touched connection. */
static void
flush_dirty(void)
{
	struct conn	*c;
	int		 k;

	for (k = 0; k < B.ndirty; k++) {
		c = &B.c[B.dirtyq[k]];
		c->dirty = 0;
		if (c->state != CONN_OPEN)
			continue;
		if (ws_conn_flush(c->ws) != 0 || ws_conn_done(c->ws)) {
			conn_kill(c);
			continue;
		}
		conn_watch(c, c->fd, ws_conn_events(c->ws));
	}
	B.ndirty = 0;
}

/* One pass: wait at most wait_ns, handle events, send, flush. */
static void
loop_pass(uint64_t wait_ns)
{
	static struct epoll_event	 evs[MAX_EVENTS];
	struct timespec			 ts;
	uint64_t			 next, now;
	int				 n, k;

	if (B.sending && B.o->rate > 0 && !B.blocked) {
		next = B.t0_ns + (uint64_t)((double)(B.scheduled + 1) *
		    1e9 / (double)B.o->rate);
		now = bench_now_ns();
		if (next <= now)
			wait_ns = 0;
		else if (next - now < wait_ns)
			wait_ns = next - now;
	}
	ts.tv_sec = (time_t)(wait_ns / 1000000000u);
	ts.tv_nsec = (long)(wait_ns % 1000000000u);
	n = epoll_pwait2(B.epfd, evs, MAX_EVENTS, &ts, NULL);
	if (n == -1 && errno != EINTR)
		err(1, "epoll_pwait2");
	for (k = 0; k < n; k++)
		on_event(&B.c[evs[k].data.u32], evs[k].events);
	if (B.sending && B.o->rate > 0)
		pace();
	flush_dirty();
}

static void
run_for_ms(long long ms)
{
	uint64_t	end = bench_now_ns() + (uint64_t)ms * 1000000u;
	uint64_t	now;

	while ((now = bench_now_ns()) < end)
		loop_pass(end - now < IDLE_WAIT_NS ? end - now : IDLE_WAIT_NS);
}

/* Open every connection, --conc handshakes at a time. */
static void
connect_all(void)
{
	uint64_t	t0 = bench_now_ns(), deadline;
	int		next = 0, i;

	deadline = t0 + (uint64_t)B.o->connect_timeout_ms * 1000000u;
	while ((next < B.n || B.dialing > 0) && bench_now_ns() < deadline) {
		while (next < B.n && B.dialing < B.o->conc)
			conn_dial(&B.c[next++]);
		loop_pass(IDLE_WAIT_NS);
	}
	for (i = 0; i < B.n; i++) {
		if (B.c[i].state == CONN_DIALING || B.c[i].state == CONN_NEW) {
			if (B.c[i].state == CONN_NEW)
				B.r->conns_failed++;
			else
				conn_kill(&B.c[i]);
			B.c[i].state = CONN_DEAD;
			first_error(&B.c[i], "connect timeout");
		}
	}
	B.r->connect_s = (double)(bench_now_ns() - t0) / 1e9;
}

/* Room: every member joins, and its answer comes, before any traffic. */
static void
join_all(void)
{
	char		 req[160];
	uint64_t	 deadline;
	int		 i, n, members = 0;

	n = snprintf(req, sizeof(req), "{\"type\":\"join\",\"room\":\"%s\"}",
	    B.room);
	for (i = 0; i < B.n; i++) {
		if (B.c[i].state != CONN_OPEN)
			continue;
		members++;
		if (ws_conn_send(B.c[i].ws, WS_OP_TEXT, req, (size_t)n,
		    NULL) == 0)
			mark_dirty(&B.c[i]);
	}
	flush_dirty();
	deadline = bench_now_ns() + (uint64_t)B.o->connect_timeout_ms *
	    1000000u;
	while (B.njoined < members && bench_now_ns() < deadline)
		loop_pass(IDLE_WAIT_NS);
	if (B.njoined < members)
		warnx("only %d of %d members joined room '%s'", B.njoined,
		    members, B.room);
}

/*
 * CPU time of the --pid servers together, each in each[] if not NULL:
 * -1 if one of them could not be read.
 */
static int64_t
servers_cpu_us(int64_t *each)
{
	int64_t	v, sum = 0;
	int	i;

	if (B.o->npids == 0)
		return -1;
	for (i = 0; i < B.o->npids; i++) {
		v = proc_cpu_us(B.o->pids[i]);
		if (each != NULL)
			each[i] = v;
		if (v < 0 || sum < 0)
			sum = -1;
		else
			sum += v;
	}
	return sum;
}

/* VmRSS of the --pid servers together, or -1. */
static long
servers_rss_kb(void)
{
	long	v, sum = 0;
	int	i;

	if (B.o->npids == 0)
		return -1;
	for (i = 0; i < B.o->npids; i++) {
		if ((v = proc_rss_kb(B.o->pids[i])) < 0)
			return -1;
		sum += v;
	}
	return sum;
}

/* Send, warm up, measure, drain. */
static void
run_traffic(void)
{
	int64_t		 cpu0, cpu1, each0[BENCH_MAX_PIDS];
	int64_t		 each1[BENCH_MAX_PIDS];
	double		 ccpu0;
	uint64_t	 t, end;
	int		 i;

	run_for_ms(REGISTER_WAIT_MS);
	if (B.o->mode == BENCH_ROOM)
		join_all();
	for (i = 0; i < B.n; i++)
		if (is_sender(i) && B.c[i].state == CONN_OPEN &&
		    (B.o->mode == BENCH_ROOM ||
		    B.c[receiver_of(i)].state == CONN_OPEN))
			B.senders[B.nsenders++] = i;
	B.sending = 1;
	B.t0_ns = bench_now_ns();
	for (i = 0; i < B.nsenders; i++)
		refill(B.senders[i]);
	flush_dirty();
	run_for_ms(B.o->warmup_ms);

	hist_reset(B.hist);
	B.r->rss_before_kb = servers_rss_kb();
	cpu0 = servers_cpu_us(each0);
	ccpu0 = self_cpu_s();
	B.measuring = 1;
	t = bench_now_ns();
	end = t + (uint64_t)B.o->duration_ms * 1000000u;
	while (bench_now_ns() < end && !(B.r->total_sent >= B.o->max_msgs &&
	    B.r->total_delivered >= expected()))
		loop_pass(IDLE_WAIT_NS);
	B.measuring = 0;
	B.r->measured_s = (double)(bench_now_ns() - t) / 1e9;
	cpu1 = servers_cpu_us(each1);
	B.r->rss_after_kb = servers_rss_kb();
	B.r->client_cpu_s = self_cpu_s() - ccpu0;
	B.r->server_cpu_us = cpu0 >= 0 && cpu1 >= 0 ? cpu1 - cpu0 : -1;
	for (i = 0; i < B.o->npids; i++)
		B.r->server_cpu_us_by_pid[i] = each0[i] >= 0 &&
		    each1[i] >= 0 ? each1[i] - each0[i] : -1;

	B.sending = 0;
	end = bench_now_ns() + (uint64_t)B.o->drain_ms * 1000000u;
	while (B.r->total_delivered < expected() && bench_now_ns() < end)
		loop_pass(IDLE_WAIT_NS);
	B.r->total_expected = expected();
	B.r->lat_p50_us = hist_quantile(B.hist, 0.50);
	B.r->lat_p99_us = hist_quantile(B.hist, 0.99);
	B.r->lat_max_us = hist_max(B.hist);
}

/* Say goodbye: a close frame each, one flush, then the sockets go. */
static void
close_all(void)
{
	struct conn	*c;
	int		 i, k;

	B.closing = 1;
	for (i = 0; i < B.n; i++) {
		c = &B.c[i];
		if (c->state == CONN_OPEN) {
			(void)ws_conn_close(c->ws, 1000, NULL);
			(void)ws_conn_flush(c->ws);
		}
		conn_kill(c);
		free(c->in.seen);
		c->in.seen = NULL;
		if (c->from != NULL)
			for (k = 0; k < B.o->senders; k++)
				free(c->from[k].seen);
		free(c->from);
		c->from = NULL;
		free(c->ring);
		c->ring = NULL;
	}
}

int
bench_run(const struct bench_opts *o, struct bench_result *r)
{
	int64_t	cpu0, cpu1;
	int	i;

	memset(&B, 0, sizeof(B));
	B.o = o;
	B.r = r;
	B.n = o->conns;
	r->connect_cpu_us = r->server_cpu_us = -1;
	for (i = 0; i < BENCH_MAX_PIDS; i++)
		r->server_cpu_us_by_pid[i] = -1;
	r->rss_before_kb = r->rss_after_kb = -1;
	if ((B.c = calloc((size_t)B.n, sizeof(*B.c))) == NULL ||
	    (B.dirtyq = calloc((size_t)B.n, sizeof(*B.dirtyq))) == NULL ||
	    (B.senders = calloc((size_t)B.n, sizeof(*B.senders))) == NULL ||
	    (B.hist = hist_new()) == NULL) {
		warnx("out of memory");
		return -1;
	}
	for (i = 0; i < B.n; i++) {
		B.c[i].idx = i;
		B.c[i].fd = -1;
		if (o->mode == BENCH_ROOM &&
		    ((B.c[i].from = calloc((size_t)o->senders,
		    sizeof(*B.c[i].from))) == NULL ||
		    (is_sender(i) && (B.c[i].ring = calloc((size_t)o->window,
		    sizeof(*B.c[i].ring))) == NULL))) {
			warnx("out of memory");
			return -1;
		}
	}
	if (o->mode == BENCH_ROOM)
		snprintf(B.room, sizeof(B.room), "%sroom", o->prefix);
	if ((B.epfd = epoll_create1(EPOLL_CLOEXEC)) == -1) {
		warn("epoll_create1");
		return -1;
	}

	if (o->mode == BENCH_IDLE) {
		/* Let the server go quiet before the baseline. */
		if (o->settle_ms > 0)
			nanosleep(&(struct timespec){ o->settle_ms / 1000,
			    (o->settle_ms % 1000) * 1000000 }, NULL);
		r->rss_before_kb = servers_rss_kb();
	}
	cpu0 = servers_cpu_us(NULL);
	connect_all();
	cpu1 = servers_cpu_us(NULL);
	if (cpu0 >= 0 && cpu1 >= 0)
		r->connect_cpu_us = cpu1 - cpu0;

	if (o->mode == BENCH_IDLE) {
		run_for_ms(o->hold_ms);
		r->rss_after_kb = servers_rss_kb();
	} else if (r->conns_ok > 0)
		run_traffic();

	close_all();
	close(B.epfd);
	hist_free(B.hist);
	free(B.senders);
	free(B.dirtyq);
	free(B.c);
	return 0;
}
