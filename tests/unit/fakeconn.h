/*
 * Copyright (c) 2026 The chat authors.
 *
 * fakeconn.h: connections for the unit tests of the router and
 * presence, behind a struct deliver_ops (deliver.h) as server-client.c
 * provides it, without sockets.  Each records in words what it was
 * sent ("chat:SEQ:TEXT", "resumed:...", "expired:A:B", "sent:T:TEXT",
 * "presence:U:0|1", "skip:SEQ", "done:ID:RESULT[:SEQ:MISSED]", "close:CODE", "CUT"), checking
 * each chat message against the codec's text for it; its output cap,
 * what it has queued and whether it can be sent to are the test's to
 * set.  A call on one that left (gone) is counted in violations.
 */
#ifndef FAKECONN_H
#define FAKECONN_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "deliver.h"
#include "msg.h"
#include "presence.h"
#include "router.h"
#include "tap.h"

#ifndef FAKECONN_CAP
#define FAKECONN_CAP	65536	/* a connection's output cap */
#endif

/* A connection as the router and presence see it: rc first, their conn. */
struct fconn {
	struct rconn	 rc;
	struct pconn	 pc;
	char		 name[32];
	char		 log[1 << 16];	/* what happened to it, in words */
	size_t		 cap;		/* its output cap */
	size_t		 queued;	/* bytes not yet written */
	uint64_t	 top;		/* newest chat seq queued */
	int		 live;		/* can be sent to */
	int		 fail;		/* the next send cuts it */
	int		 gone;		/* detached: no call may come */
	char		 epoch[17];	/* from its last "resumed" */
};

static size_t	violations;	/* calls on a connection that left */

static void	say(struct fconn *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

static void
say(struct fconn *c, const char *fmt, ...)
{
	va_list	ap;
	size_t	o = strlen(c->log);

	if (o + 2 >= sizeof(c->log))
		return;
	if (o > 0)
		c->log[o++] = ' ';
	va_start(ap, fmt);
	vsnprintf(c->log + o, sizeof(c->log) - o, fmt, ap);
	va_end(ap);
}

static void
check_gone(struct fconn *c, const char *what)
{
	if (c->gone) {
		fprintf(stderr, "%s called on %s after it left\n", what,
		    c->name);
		violations++;
	}
}

/* A chat message: exactly the codec's event for its parts and seq. */
static int
fk_send_msg(void *conn, struct msg *m)
{
	struct fconn	*c = conn;
	struct codec_ev	 ev;
	char		 detail[CODEC_MAX_DETAIL + 1], *want;
	size_t		 len;

	check_gone(c, "send_msg");
	if (!c->live)
		return -1;
	if (c->fail || c->queued + m->len > c->cap) {
		c->live = 0;		/* cut off, leaves after the pass */
		say(c, "CUT");
		return -1;
	}
	if (codec_parse_ev(m->data, m->len, &ev, detail) == -1 ||
	    ev.type != CODEC_EV_CHAT) {
		say(c, "BADCHAT");
		return 0;
	}
	want = codec_chat(ev.from, ev.message, ev.message_len, ev.ts, m->seq,
	    &len);
	CHECK(want != NULL && len == m->len && strcmp(want, m->data) == 0);
	CHECK_INT(ev.seq, m->seq);
	free(want);
	if (ev.message_len <= 24)
		say(c, "chat:%llu:%.*s", (unsigned long long)m->seq,
		    (int)ev.message_len, ev.message);
	else
		say(c, "chat:%llu:%zuB", (unsigned long long)m->seq,
		    ev.message_len);
	codec_ev_release(&ev);
	c->queued += m->len;
	c->top = m->seq;
	return 0;
}

/* Its own room message: not sent, but its seq is passed. */
static int
fk_skip_msg(void *conn, struct msg *m)
{
	struct fconn	*c = conn;

	check_gone(c, "skip_msg");
	if (!c->live)
		return -1;
	say(c, "skip:%llu", (unsigned long long)m->seq);
	c->top = m->seq;
	return 0;
}

static int
fk_send_text(void *conn, const char *p, size_t len)
{
	struct fconn	*c = conn;
	struct codec_ev	 ev;
	char		 detail[CODEC_MAX_DETAIL + 1];

	check_gone(c, "send_text");
	if (!c->live)
		return -1;
	if (c->fail || c->queued + len > c->cap) {
		c->live = 0;
		say(c, "CUT");
		return -1;
	}
	c->queued += len;
	if (codec_parse_ev(p, len, &ev, detail) == -1) {
		say(c, "BAD");
		return 0;
	}
	switch (ev.type) {
	case CODEC_EV_RESUMED:
		say(c, "resumed:%llu:%llu:%llu%s%s",
		    (unsigned long long)ev.since, (unsigned long long)ev.first,
		    (unsigned long long)ev.last, ev.reset ? ":reset" : "",
		    ev.cursor ? ":cursor" : "");
		CHECK_INT(strlen(ev.epoch), 16);
		snprintf(c->epoch, sizeof(c->epoch), "%s", ev.epoch);
		break;
	case CODEC_EV_EXPIRED:
		say(c, "expired:%llu:%llu", (unsigned long long)ev.after,
		    (unsigned long long)ev.before);
		break;
	case CODEC_EV_SENT:
		say(c, "sent:%s:%.*s", ev.target, (int)ev.message_len,
		    ev.message);
		break;
	case CODEC_EV_PRESENCE:
		say(c, "presence:%s:%d", ev.user, ev.online);
		break;
	default:
		say(c, "other");
		break;
	}
	codec_ev_release(&ev);
	return 0;
}

static const char *
result_name(enum route_result r)
{
	switch (r) {
	case ROUTE_PENDING:
		return "pending";
	case ROUTE_DELIVERED:
		return "delivered";
	case ROUTE_QUEUED:
		return "queued";
	case ROUTE_FULL:
		return "full";
	case ROUTE_UNAVAILABLE:
		return "unavailable";
	case ROUTE_CLUSTER:
		return "cluster";
	case ROUTE_NOMEM:
		return "nomem";
	case ROUTE_NOT_MEMBER:
		return "not_member";
	}
	return "?";
}

static void
fk_done(void *conn, const char *id, enum route_result r, uint64_t seq,
    uint64_t missed)
{
	struct fconn	*c = conn;

	check_gone(c, "done");
	if (seq != 0 || missed != 0)
		say(c, "done:%s:%s:%llu:%llu", id, result_name(r),
		    (unsigned long long)seq, (unsigned long long)missed);
	else
		say(c, "done:%s:%s", id, result_name(r));
}

static void
fk_close(void *conn, uint16_t code, const char *reason)
{
	struct fconn	*c = conn;

	check_gone(c, "close");
	c->live = 0;
	say(c, "close:%u", code);
}

static size_t
fk_room(const void *conn)
{
	const struct fconn	*c = conn;

	return c->live && c->queued < c->cap ? c->cap - c->queued : 0;
}

static size_t
fk_pending(const void *conn)
{
	const struct fconn	*c = conn;

	return c->queued;
}

static int
fk_live(const void *conn)
{
	const struct fconn	*c = conn;

	return c->live;
}

static const char *
fk_name(const void *conn)
{
	const struct fconn	*c = conn;

	return c->name;
}

static const struct deliver_ops fake_ops = {
	fk_send_msg, fk_skip_msg, fk_send_text, fk_done, fk_close, fk_room, fk_pending,
	fk_live, fk_name
};

static struct fconn *
newc(const char *name)
{
	struct fconn	*c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		abort();
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->pc.conn = c;
	c->cap = FAKECONN_CAP;
	c->live = 1;
	return c;
}

/* What c was sent since the last call, in words. */
static const char *
events(struct fconn *c)
{
	static char	out[sizeof(c->log)];

	memcpy(out, c->log, sizeof(out));
	c->log[0] = '\0';
	return out;
}

#endif /* FAKECONN_H */
