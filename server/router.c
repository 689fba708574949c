/*
 * Copyright (c) 2026 The chat authors.
 *
 * router: chat messages between users (see router.h).
 *
 * A message is built once as the chat event without seq, with room for
 * it, and appended to its target's inbox; the inbox answers after the
 * pass's group commit (memory, SQLite) or when JetStream acknowledged
 * it.  Then it goes to every connection of the target that is caught up
 * (its seq is the message's prev), and the sender is answered:
 * delivered if a connection here took it or the target is online on
 * another node, queued otherwise.  A connection that is behind (it
 * resumed, its output was full, another node appended first) reads what
 * it misses from the inbox as its output drains, so replay and live
 * delivery are one path, and a gap between its seq and a message's prev
 * is told to it as an "expired" event before the message (at once when
 * retention left nothing after its seq).
 *
 * A message to a room is built once and appended, as its own copy (each
 * inbox numbers it), to the inbox of every member, the sender's too;
 * each copy is delivered as a direct message would be, and the sender
 * is answered once every append is: delivered if another member has a
 * connection (here, or anywhere in a cluster), queued otherwise, with
 * the count of members whose inbox refused it ("missed"), or refused
 * as a whole if no inbox took it.  An acked message is kept for every
 * member but those counted missed; nothing is taken back, since other
 * members may have read it already.  The sending connection is not
 * sent its own copy: it skips that seq (deliver_ops.skip_msg), and the
 * ack says which seq it skipped when every seq before it had been sent
 * (so the client may count it as seen).
 *
 * Nothing here is freed under a caller: connections leave only from the
 * loop (router_detach()), users only after the pass (users_reap()), and
 * what waits for an answer from the inbox or the rooms (an append, a
 * sync, a read, a join) is a record that outlives its connection.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "log.h"
#include "msg.h"
#include "presence.h"
#include "rooms.h"
#include "router.h"
#include "users.h"
#include "util.h"

#define READ_BATCH	64	/* messages read from the inbox at once */
/*
 * Own room messages a connection may have to skip while it reads what
 * it missed; past that, it is sent the rest (its client then sees its
 * own message come back, as another device of its user would).
 */
#define MAX_SKIP	256

/* rconn states. */
enum { RC_DETACHED, RC_SYNC, RC_LIVE };

/* A sync (info) or read in flight for a connection. */
enum { W_INFO, W_READ };

struct rwait {
	struct rwait	*prev, *next;	/* all of them */
	struct rconn	*rc;		/* NULL once it is gone */
	int		 kind;
	int		 resume;	/* info: resume after since */
	int		 hello;		/* info: say the epoch anyway */
	int		 refresh;	/* info: only learn the last seq */
	uint64_t	 since;
	char		 epoch[17];	/* the client's, or "" */
};

/* What an append's tag is: a struct pend or a struct rpart. */
enum { PEND_DIRECT, PEND_ROOM };

/* An append waiting for its answer. */
struct pend {
	int		 kind;		/* PEND_DIRECT */
	struct pend	*prev, *next;	/* all of them */
	struct router	*r;
	struct rconn	*from;		/* NULL once it is gone */
	struct user	*to;		/* referenced */
	char		*sent;		/* for the sender's other devices */
	size_t		 sentlen;
	char		 id[CODEC_MAX_IDJSON + 1];	/* or "" */
};

/* A room message: one append per member, answered once all are. */
struct rsend;

struct rpart {
	int		 kind;		/* PEND_ROOM */
	struct rsend	*g;
	struct user	*to;		/* referenced */
};

struct rsend {
	struct rsend	*prev, *next;	/* all of them */
	struct rconn	*from;		/* NULL once it is gone */
	struct user	*sender;	/* referenced */
	size_t		 left;		/* appends not answered */
	uint64_t	 ok, missed;
	uint64_t	 own_seq;	/* skipped by from, all before sent */
	enum inbox_status refusal;	/* the first, if none took it */
	int		 delivered;	/* another member has it, online */
	size_t		 nparts;
	char		 id[CODEC_MAX_IDJSON + 1];
	struct rpart	 parts[];
};

/* A join or leave waiting for the store. */
struct rjoin {
	struct rjoin	*prev, *next;	/* all of them */
	struct rconn	*rc;		/* NULL once it is gone */
	int		 join;
	char		 id[CODEC_MAX_IDJSON + 1];
};

struct router {
	struct router_config	 cfg;
	struct users		*users;
	struct presence		*pres;
	const struct deliver_ops *ops;
	struct inbox		*ib;
	size_t			 hdr;		/* the inbox's msg header */
	size_t			 nonline;
	struct pend		*pends;
	struct rsend		*rsends;
	struct rjoin		*rjoins;
	struct rooms		*rooms;
	struct rwait		*waits;
	int			 ready;		/* the inbox can be read */
};

static void	conn_catch_up(struct router *, struct rconn *);
static void	conn_sync(struct router *, struct rconn *, int resume,
		    uint64_t since, const char *epoch, int hello, int refresh);

/* ---- waits ---- */

static struct rwait *
wait_new(struct router *r, struct rconn *rc, int kind)
{
	struct rwait	*w;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return NULL;
	w->rc = rc;
	w->kind = kind;
	if ((w->next = r->waits) != NULL)
		r->waits->prev = w;
	r->waits = w;
	return w;
}

static void
wait_free(struct router *r, struct rwait *w)
{
	if (w->prev != NULL)
		w->prev->next = w->next;
	else
		r->waits = w->next;
	if (w->next != NULL)
		w->next->prev = w->prev;
	if (w->rc != NULL && w->rc->wait == w)
		w->rc->wait = NULL;
	free(w);
}

/* ---- users ---- */

/*
 * u's connections here, counted up to max: the list is short (at most
 * --max-per-user), and a count kept beside it would cost every online
 * user 4 bytes, which its allocation has no room for.
 */
static size_t
conns_of(const struct user *u, size_t max)
{
	const struct rconn	*rc;
	size_t			 n = 0;

	for (rc = u->conns; rc != NULL && n < max; rc = rc->unext)
		n++;
	return n;
}

/* ---- sending to a connection ---- */

static int
conn_live(const struct router *r, const struct rconn *rc)
{
	return rc->user != NULL && r->ops->live(rc);
}

/* Forget the skips up to seq; 1 if seq was one. */
static int
skip_take(struct rconn *rc, uint64_t seq)
{
	size_t	i, n = 0;
	int	found = 0;

	for (i = 0; i < rc->nskip; i++) {
		if (rc->skip[i] == seq)
			found = 1;
		if (rc->skip[i] > seq)
			rc->skip[n++] = rc->skip[i];
	}
	if ((rc->nskip = (uint16_t)n) == 0) {
		free(rc->skip);
		rc->skip = NULL;
	}
	return found;
}

/*
 * Room for one more skip; nskip < MAX_SKIP, so the count fits 16 bits.
 * The capacity is not kept (a connection's struct rconn has no room to
 * spare): the array is made at the first skip with 4 places, doubles
 * each time the count reaches a power of two from 4 on, and is freed
 * when the count drops to 0, so it always holds more than the count.
 */
static int
skip_grow(struct rconn *rc)
{
	size_t		 n = rc->nskip;
	uint64_t	*p;

	if (n != 0 && (n < 4 || (n & (n - 1)) != 0))
		return 0;
	if ((p = realloc(rc->skip, (n == 0 ? 4 : 2 * n) * sizeof(*p))) ==
	    NULL)
		return -1;
	rc->skip = p;
	return 0;
}

/*
 * Send m to rc and move rc's place.  A message it has is skipped; one
 * after a gap (retention took what lay between) is preceded by an
 * "expired" event naming the gap.  0, or -1 if rc could not take it.
 */
static int
conn_send(struct router *r, struct rconn *rc, struct msg *m)
{
	char	*p;
	size_t	 len;

	if (m->seq <= rc->seq)
		return 0;
	if (m->len == 0) {
		rc->seq = m->seq;	/* nothing to deliver at that seq */
		return 0;
	}
	if (m->prev > rc->seq) {
		if ((p = codec_expired(rc->seq, m->seq, &len)) == NULL ||
		    r->ops->send_text(rc, p, len) != 0) {
			free(p);
			return -1;
		}
		free(p);
	}
	if (rc->nskip > 0 && skip_take(rc, m->seq)) {
		if (r->ops->skip_msg(rc, m) != 0)
			return -1;
	} else if (r->ops->send_msg(rc, m) != 0)
		return -1;
	rc->seq = m->seq;
	return 0;
}

/*
 * A read found nothing after rc's seq up to the newest, last:
 * retention took all of it while rc was behind.  Say so, as
 * conn_send() does before a message after a gap ("before" is last + 1:
 * everything up to last is gone), and move rc on.
 */
static void
conn_skip(struct router *r, struct rconn *rc, uint64_t last)
{
	char	*p;
	size_t	 len;

	if (rc->seq >= last)
		return;
	if ((p = codec_expired(rc->seq, last + 1, &len)) == NULL ||
	    r->ops->send_text(rc, p, len) != 0) {
		free(p);
		return;		/* cut off: it leaves after the pass */
	}
	free(p);
	rc->seq = last;
}

/* Send what a read brought; 1 if rc took all of it. */
static int
conn_send_all(struct router *r, struct rconn *rc, struct msg **v, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (!conn_live(r, rc) || conn_send(r, rc, v[i]) != 0)
			return 0;
	return 1;
}

static void
conn_unavailable(struct router *r, struct rconn *rc, const char *what)
{
	log_warn("%s user %s: cannot %s its inbox: closing (1011)",
	    r->ops->name(rc), rc->user->id, what);
	r->ops->close(rc, 1011, "history unavailable, resume later");
}

/*
 * Read from the inbox for a connection that is behind, while it has
 * room for the largest message.  Called again when its output drains,
 * so a connection is either caught up, waiting for a read, or has
 * output in flight.
 */
static void
conn_catch_up(struct router *r, struct rconn *rc)
{
	struct msg		*v[READ_BATCH];
	struct rwait		*w;
	enum inbox_status	 st;
	size_t			 room, n, i, need = r->cfg.max_message + 256;
	int			 all;

	while (rc->state == RC_LIVE && rc->wait == NULL && conn_live(r, rc) &&
	    rc->seq < rc->user->last) {
		if (!r->ready)
			return;		/* again when the inbox is back */
		room = r->ops->room(rc);
		if (room < need && (room < r->cfg.max_output ||
		    r->ops->pending(rc) > 0))
			return;		/* again when output drains */
		if ((w = wait_new(r, rc, W_READ)) == NULL)
			return;
		st = inbox_read(r->ib, rc->user, rc->seq, READ_BATCH, room / 2,
		    v, &n, w);
		if (st == INBOX_PENDING) {
			rc->wait = w;
			return;
		}
		wait_free(r, w);
		if (st != INBOX_OK) {
			conn_unavailable(r, rc, "read");
			return;
		}
		if (n == 0) {
			/* Dropped meanwhile. */
			conn_skip(r, rc, rc->user->last);
			return;
		}
		all = conn_send_all(r, rc, v, n);
		for (i = 0; i < n; i++)
			msg_unref(v[i]);
		if (!all)
			return;
	}
}

/* A read answered later (JetStream). */
static void
ev_read(void *arg, void *tag, enum inbox_status st, struct msg **v,
    size_t n)
{
	struct router	*r = arg;
	struct rwait	*w = tag;
	struct rconn	*rc = w->rc;

	wait_free(r, w);
	if (rc == NULL || rc->user == NULL)
		return;
	if (st == INBOX_CLUSTER)
		return;			/* again when NATS is back */
	if (st != INBOX_OK) {
		conn_unavailable(r, rc, "read");
		return;
	}
	if (n == 0) {
		conn_skip(r, rc, rc->user->last);
		return;
	}
	if (v[n - 1]->seq > rc->user->last)
		rc->user->last = v[n - 1]->seq;
	if (conn_send_all(r, rc, v, n))
		conn_catch_up(r, rc);
}

/* ---- attaching and resuming ---- */

/* Where rc's inbox stands is known: start it. */
static void
conn_synced(struct router *r, struct rconn *rc, const struct rwait *w,
    const struct inbox_info *in)
{
	struct user	*u = rc->user;
	uint64_t	 since;
	char		*p;
	size_t		 len;
	int		 reset = 0;

	if (in->last > u->last)
		u->last = in->last;
	if (in->cursor > u->cursor)
		u->cursor = in->cursor;
	rc->state = RC_LIVE;
	if (w->refresh) {
		/* Back after NATS was away: on from where it is. */
		conn_catch_up(r, rc);
		return;
	}
	if (w->resume) {
		/*
		 * A seq from another numbering (another file, an earlier run
		 * of a memory store, a forgotten inbox), or beyond ours:
		 * everything kept is new to this client.
		 */
		since = w->since;
		if ((w->epoch[0] != '\0' && strcmp(w->epoch, in->epoch) != 0) ||
		    since > u->last) {
			since = 0;
			reset = 1;
		}
		p = codec_resumed(since, in->first, u->last, in->epoch, reset,
		    in->sparse, 0, &len);
		rc->seq = since;
	} else {
		/* The seed's way: what no connection has written yet. */
		rc->seq = u->cursor;
		p = !w->hello ? NULL : codec_resumed(u->cursor, in->first,
		    u->last, in->epoch, 0, in->sparse, 1, &len);
		if (w->hello && p == NULL)
			return;
	}
	if (p != NULL && r->ops->send_text(rc, p, len) != 0) {
		free(p);
		return;
	}
	free(p);
	conn_catch_up(r, rc);
}

static void
ev_info(void *arg, void *tag, enum inbox_status st,
    const struct inbox_info *in)
{
	struct router	*r = arg;
	struct rwait	*w = tag;
	struct rconn	*rc = w->rc;

	if (rc == NULL || rc->user == NULL) {
		wait_free(r, w);
		return;
	}
	if (st == INBOX_CLUSTER)
		return;		/* NATS went: again when it is back */
	rc->wait = NULL;
	if (st == INBOX_OK)
		conn_synced(r, rc, w, in);
	else
		conn_unavailable(r, rc, "look at");
	wait_free(r, w);
}

/*
 * Look at rc's inbox, then start rc: resume after since, or from the
 * cursor.  The answer may come later (JetStream).
 */
static void
conn_sync(struct router *r, struct rconn *rc, int resume, uint64_t since,
    const char *epoch, int hello, int refresh)
{
	struct inbox_info	 in;
	struct rwait		*w;
	enum inbox_status	 st;

	if (rc->wait != NULL) {
		rc->wait->rc = NULL;	/* its answer is stale now */
		rc->wait = NULL;
	}
	rc->state = RC_SYNC;
	if ((w = wait_new(r, rc, W_INFO)) == NULL) {
		r->ops->close(rc, 1011, "out of memory");
		return;
	}
	w->resume = resume;
	w->hello = hello;
	w->refresh = refresh;
	w->since = since;
	if (epoch != NULL)
		snprintf(w->epoch, sizeof(w->epoch), "%s", epoch);
	if (!r->ready) {
		/* Kept for when the inbox is back (router_ready()). */
		rc->wait = w;
		return;
	}
	st = inbox_info(r->ib, rc->user, &in, w);
	if (st == INBOX_PENDING) {
		rc->wait = w;
		return;
	}
	if (st == INBOX_OK)
		conn_synced(r, rc, w, &in);
	else if (st == INBOX_CLUSTER)
		rc->wait = w;		/* again when NATS is back */
	else
		conn_unavailable(r, rc, "look at");
	if (rc->wait != w)
		wait_free(r, w);
}

int
router_attach(struct router *r, struct rconn *rc, const char *id,
    int resume, uint64_t since, const char *epoch)
{
	struct user	*u;
	int		 first;

	if ((u = users_get(r->users, id)) == NULL)
		return -2;
	if (conns_of(u, r->cfg.max_per_user) >= r->cfg.max_per_user)
		return -1;
	first = u->conns == NULL;
	rc->user = u;
	rc->seq = 0;
	rc->unext = u->conns;
	u->conns = rc;
	if (first) {
		/* Held while it has connections here. */
		user_ref(u);
		u->last = u->cursor = 0;
		r->nonline++;
		inbox_hold(r->ib, u, 1);
		presence_local(r->pres, u, 1);
	}
	conn_sync(r, rc, resume, since, epoch, epoch != NULL, 0);
	return 0;
}

void
router_resume(struct router *r, struct rconn *rc, uint64_t since,
    const char *epoch)
{
	if (rc->user == NULL)
		return;
	conn_sync(r, rc, 1, since, epoch, 0, 0);
}

void
router_detach(struct router *r, struct rconn *rc)
{
	struct user	*u = rc->user;
	struct rconn	**pp;
	struct pend	*p;
	struct rsend	*g;
	struct rjoin	*j;

	if (rc->wait != NULL) {
		rc->wait->rc = NULL;
		rc->wait = NULL;
	}
	for (p = r->pends; p != NULL && rc->npend > 0; p = p->next) {
		if (p->from == rc) {
			p->from = NULL;
			rc->npend--;
		}
	}
	for (g = r->rsends; g != NULL && rc->npend > 0; g = g->next) {
		if (g->from == rc) {
			g->from = NULL;
			rc->npend--;
		}
	}
	for (j = r->rjoins; j != NULL && rc->npend > 0; j = j->next) {
		if (j->rc == rc) {
			j->rc = NULL;
			rc->npend--;
		}
	}
	free(rc->skip);
	rc->skip = NULL;
	rc->nskip = 0;
	if (u == NULL)
		return;
	for (pp = &u->conns; *pp != NULL && *pp != rc; pp = &(*pp)->unext)
		;
	if (*pp == rc)
		*pp = rc->unext;
	rc->unext = NULL;
	rc->user = NULL;
	rc->state = RC_DETACHED;
	if (u->conns == NULL) {
		if (u->last > u->cursor)
			log_info("user %s: undelivered message(s) after seq "
			    "%llu kept for the next connection", u->id,
			    (unsigned long long)u->cursor);
		u->last = u->cursor = 0;
		r->nonline--;
		inbox_hold(r->ib, u, 0);
		presence_local(r->pres, u, 0);
		user_unref(r->users, u);
	}
}

/* ---- chat messages ---- */

/* Will to's next message go straight to a connection? */
static int
caught_up(struct router *r, struct user *to)
{
	struct rconn	*rc;

	for (rc = to->conns; rc != NULL; rc = rc->unext)
		if (rc->state == RC_LIVE && rc->wait == NULL &&
		    rc->seq == to->last && conn_live(r, rc))
			return 1;
	return 0;
}

/* Deliver a just-stored m to to's connections here: how many took it. */
static size_t
deliver(struct router *r, struct user *to, struct msg *m)
{
	struct rconn	*rc, *next;
	size_t		 n = 0;

	if (to->conns == NULL)
		return 0;
	if (m->seq > to->last)
		to->last = m->seq;
	for (rc = to->conns; rc != NULL; rc = next) {
		next = rc->unext;
		if (rc->state != RC_LIVE || !conn_live(r, rc))
			continue;
		if (rc->wait == NULL && rc->seq == m->prev) {
			if (conn_send(r, rc, m) == 0)
				n++;
		} else if (rc->seq < m->seq)
			conn_catch_up(r, rc);	/* behind: it reads this */
	}
	return n;
}

/* A message the inbox could not take goes live where it can (NATS down). */
static size_t
deliver_live(struct router *r, struct user *to, struct msg *m)
{
	struct rconn	*rc;
	size_t		 n = 0;

	for (rc = to->conns; rc != NULL; rc = rc->unext)
		if (rc->state == RC_LIVE && conn_live(r, rc) &&
		    r->ops->send_msg(rc, m) == 0)
			n++;
	return n;
}

/* The sender's other connections see what it sent (as "sent"). */
static void
tell_other_devices(struct router *r, struct pend *p)
{
	struct rconn	*rc;

	if (p->sent == NULL || p->from == NULL || p->from->user == NULL)
		return;
	for (rc = p->from->user->conns; rc != NULL; rc = rc->unext)
		if (rc != p->from && conn_live(r, rc))
			(void)r->ops->send_text(rc, p->sent, p->sentlen);
}

static void
pend_free(struct router *r, struct pend *p)
{
	if (p->prev != NULL)
		p->prev->next = p->next;
	else
		r->pends = p->next;
	if (p->next != NULL)
		p->next->prev = p->prev;
	if (p->from != NULL)
		p->from->npend--;
	user_unref(r->users, p->to);
	free(p->sent);
	free(p);
}

static enum route_result
route_of(enum inbox_status st)
{
	switch (st) {
	case INBOX_OK:
		return ROUTE_QUEUED;
	case INBOX_PENDING:
		return ROUTE_PENDING;
	case INBOX_FULL:
		return ROUTE_FULL;
	case INBOX_UNAVAILABLE:
		return ROUTE_UNAVAILABLE;
	case INBOX_CLUSTER:
		return ROUTE_CLUSTER;
	case INBOX_NOMEM:
		break;
	}
	return ROUTE_NOMEM;
}

static void	part_appended(struct router *, struct rpart *,
		    enum inbox_status, struct msg *);

static void
ev_appended(void *arg, void *tag, enum inbox_status st, struct msg *m)
{
	struct router		*r = arg;
	struct pend		*p = tag;
	enum route_result	 res = route_of(st);

	/* Both kinds of tag start with their kind. */
	if (*(const int *)tag == PEND_ROOM) {
		part_appended(r, tag, st, m);
		return;
	}
	if (st == INBOX_OK) {
		res = deliver(r, p->to, m) > 0 ||
		    presence_remote(r->pres, p->to) ? ROUTE_DELIVERED :
		    ROUTE_QUEUED;
		tell_other_devices(r, p);
	}
	if (p->from != NULL)
		r->ops->done(p->from, p->id, res, 0, 0);
	pend_free(r, p);
}

enum route_result
router_submit(struct router *r, struct rconn *from, const char *target,
    const char *text, size_t textlen, const char *id)
{
	struct user		*to;
	struct pend		*p;
	struct msg		*m;
	enum inbox_status	 st;
	enum route_result	 res;
	size_t			 len;
	uint64_t		 ts;

	if (from->user == NULL)
		return ROUTE_NOMEM;
	if ((to = users_get(r->users, target)) == NULL ||
	    (p = calloc(1, sizeof(*p))) == NULL)
		return ROUTE_NOMEM;
	/* One clock read: the text is sized and written with the same ts. */
	ts = util_wall_ms();
	len = codec_chat_into(NULL, 0, from->user->id, text, textlen, ts, 0);
	if ((m = msg_alloc(r->hdr, len + MSG_SEQ_ROOM)) == NULL) {
		free(p);
		return ROUTE_NOMEM;
	}
	m->ts = ts;
	m->len = codec_chat_into(m->data, m->cap + 1, from->user->id, text,
	    textlen, m->ts, 0);
	p->r = r;
	p->from = from;
	p->to = to;
	user_ref(to);
	/* Both bounded by the codec (CODEC_MAX_IDJSON). */
	memcpy(p->id, id, strlen(id) + 1);
	if (from->user->conns != NULL && from->user->conns->unext != NULL)
		p->sent = codec_sent(target, text, textlen, m->ts, &p->sentlen);
	if ((p->next = r->pends) != NULL)
		r->pends->prev = p;
	r->pends = p;
	from->npend++;
	st = inbox_append(r->ib, to, from->user, m, caught_up(r, to), p);
	if (st == INBOX_PENDING) {
		msg_unref(m);
		return ROUTE_PENDING;
	}
	res = route_of(st);
	/* No NATS: a target with a connection here still gets it, live. */
	if (st == INBOX_CLUSTER && deliver_live(r, to, m) > 0)
		res = ROUTE_DELIVERED;
	msg_unref(m);
	pend_free(r, p);
	return res;
}

/* ---- rooms ---- */

static void
rsend_free(struct router *r, struct rsend *g)
{
	size_t	i;

	for (i = 0; i < g->nparts; i++)
		if (g->parts[i].to != NULL)
			user_unref(r->users, g->parts[i].to);
	if (g->prev != NULL)
		g->prev->next = g->next;
	else
		r->rsends = g->next;
	if (g->next != NULL)
		g->next->prev = g->prev;
	if (g->from != NULL)
		g->from->npend--;
	user_unref(r->users, g->sender);
	free(g);
}

/* Every append of g is answered: answer its sender. */
static void
rsend_answer(struct router *r, struct rsend *g)
{
	enum route_result	res;

	if (g->ok == 0)
		res = g->refusal == INBOX_OK ? ROUTE_NOMEM :
		    route_of(g->refusal);
	else
		res = g->delivered ? ROUTE_DELIVERED : ROUTE_QUEUED;
	if (g->from != NULL)
		r->ops->done(g->from, g->id, res,
		    g->ok > 0 ? g->own_seq : 0, g->ok > 0 ? g->missed : 0);
	rsend_free(r, g);
}

/* One member's append of a room message was answered. */
static void
part_appended(struct router *r, struct rpart *pt, enum inbox_status st,
    struct msg *m)
{
	struct rsend	*g = pt->g;
	struct rconn	*from = g->from;
	size_t		 n;
	int		 live;

	if (st == INBOX_OK) {
		g->ok++;
		/*
		 * The sender's own copy: the sending connection skips it.
		 * If it had every seq before, the client may count this
		 * one as seen (the ack says its seq).
		 */
		live = 0;
		if (pt->to == g->sender && from != NULL && from->user ==
		    pt->to && m->seq > from->seq && from->nskip < MAX_SKIP &&
		    skip_grow(from) == 0) {
			from->skip[from->nskip++] = m->seq;
			live = from->state == RC_LIVE && from->wait == NULL &&
			    from->seq == m->prev;
		}
		n = deliver(r, pt->to, m);
		if (live && from->seq == m->seq)
			g->own_seq = m->seq;
		if (pt->to != g->sender && (n > 0 ||
		    presence_remote(r->pres, pt->to)))
			g->delivered = 1;
	} else {
		g->missed++;
		if (g->refusal == INBOX_OK)
			g->refusal = st;
	}
	user_unref(r->users, pt->to);
	pt->to = NULL;
	if (--g->left == 0)
		rsend_answer(r, g);
}

enum route_result
router_submit_room(struct router *r, struct rconn *from, const char *name,
    const char *text, size_t textlen, const char *id)
{
	struct room		*rm;
	struct rsend		*g;
	struct rpart		*pt;
	struct msg		*m;
	enum inbox_status	 st;
	enum route_result	 res;
	size_t			 i, n, len;
	uint64_t		 ts;
	char			*tmpl;

	if (from->user == NULL)
		return ROUTE_NOMEM;
	if ((rm = rooms_find(r->rooms, name)) == NULL ||
	    !room_has(rm, from->user))
		return ROUTE_NOT_MEMBER;
	n = room_size(rm);
	ts = util_wall_ms();
	/*
	 * The text is built once; each inbox numbers its own copy (the
	 * memory inbox writes the seq into it at once).
	 */
	len = codec_room_chat_into(NULL, 0, from->user->id, name, text,
	    textlen, ts, 0);
	if ((tmpl = malloc(len + 1)) == NULL)
		return ROUTE_NOMEM;
	codec_room_chat_into(tmpl, len + 1, from->user->id, name, text,
	    textlen, ts, 0);
	if ((g = calloc(1, sizeof(*g) + n * sizeof(g->parts[0]))) == NULL) {
		free(tmpl);
		return ROUTE_NOMEM;
	}
	g->nparts = n;
	g->from = from;
	g->sender = from->user;
	user_ref(g->sender);
	/* Both bounded by the codec (CODEC_MAX_IDJSON). */
	memcpy(g->id, id, strlen(id) + 1);
	if ((g->next = r->rsends) != NULL)
		r->rsends->prev = g;
	r->rsends = g;
	from->npend++;
	/*
	 * Held while appending: an append may be answered inside
	 * inbox_append() (JetStream, when NATS just went).
	 */
	g->left = 1;
	for (i = 0; i < n; i++) {
		pt = &g->parts[i];
		pt->kind = PEND_ROOM;
		pt->g = g;
		pt->to = room_member(rm, i);
		user_ref(pt->to);
		g->left++;
		if ((m = msg_alloc(r->hdr, len + MSG_SEQ_ROOM)) != NULL) {
			m->ts = ts;
			memcpy(m->data, tmpl, len + 1);
			m->len = len;
		}
		st = m == NULL ? INBOX_NOMEM : inbox_append(r->ib, pt->to,
		    from->user, m, caught_up(r, pt->to), pt);
		/* Refused now (inbox_append() never says INBOX_OK). */
		if (st != INBOX_PENDING)
			part_appended(r, pt, st == INBOX_OK ? INBOX_NOMEM :
			    st, NULL);
		msg_unref(m);
	}
	free(tmpl);
	if (--g->left > 0)
		return ROUTE_PENDING;
	/* Every append answered already: say it now, not through done. */
	if (g->ok == 0)
		res = g->refusal == INBOX_OK ? ROUTE_NOMEM :
		    route_of(g->refusal);
	else
		res = ROUTE_PENDING;
	if (res == ROUTE_PENDING) {
		rsend_answer(r, g);
		return ROUTE_PENDING;
	}
	rsend_free(r, g);
	return res;
}

static void
rjoin_free(struct router *r, struct rjoin *j)
{
	if (j->prev != NULL)
		j->prev->next = j->next;
	else
		r->rjoins = j->next;
	if (j->next != NULL)
		j->next->prev = j->prev;
	if (j->rc != NULL)
		j->rc->npend--;
	free(j);
}

static void
send_text(struct router *r, struct rconn *rc, char *p, size_t len)
{
	if (p != NULL && rc != NULL && conn_live(r, rc))
		(void)r->ops->send_text(rc, p, len);
	free(p);
}

static void
room_error(struct router *r, struct rconn *rc, enum rooms_status st,
    const char *room, const char *id)
{
	const char	*code = "internal";
	char		 detail[CODEC_MAX_DETAIL + 1];
	char		*p;
	size_t		 len;

	switch (st) {
	case ROOMS_NOT_MEMBER:
		code = CODEC_E_NOT_MEMBER;
		snprintf(detail, sizeof(detail), "you are not in room '%s'",
		    room);
		break;
	case ROOMS_FULL:
		code = CODEC_E_ROOM_FULL;
		snprintf(detail, sizeof(detail), "room '%s' has %zu members, "
		    "the most it may have", room, r->cfg.max_members);
		break;
	case ROOMS_TOO_MANY:
		code = CODEC_E_TOO_MANY_ROOMS;
		snprintf(detail, sizeof(detail), "you are in %zu rooms, the "
		    "most a user may be in: leave one first",
		    r->cfg.max_rooms);
		break;
	case ROOMS_UNAVAILABLE:
		code = CODEC_E_STORE;
		snprintf(detail, sizeof(detail), "the store failed: nothing "
		    "changed (try again later)");
		break;
	case ROOMS_CLUSTER:
		code = CODEC_E_CLUSTER;
		snprintf(detail, sizeof(detail), "the cluster (NATS) is "
		    "unreachable: nothing changed (try again later)");
		break;
	default:
		snprintf(detail, sizeof(detail), "out of memory");
		break;
	}
	p = codec_error(code, detail, id, &len);
	send_text(r, rc, p, len);
}

/*
 * The members of rm, cut to fit half of max_output as "who" is: into
 * *v (the caller frees it); their count, *truncated if cut.
 */
static size_t
member_ids(const struct router *r, const struct room *rm, const char ***v,
    int *truncated)
{
	size_t	i, n = room_size(rm), room = r->cfg.max_output / 2, used = 64;

	*truncated = 0;
	if ((*v = calloc(n + 1, sizeof(**v))) == NULL)
		return 0;
	for (i = 0; i < n; i++) {
		(*v)[i] = room_member(rm, i)->id;
		used += strlen((*v)[i]) + 3;
		if (used > room) {
			*truncated = 1;
			break;
		}
	}
	return i;
}

static void
send_members(struct router *r, struct rconn *rc, const struct room *rm,
    int joined)
{
	const char	**v;
	char		 *p;
	size_t		  n, len = 0;
	int		  cut;

	n = member_ids(r, rm, &v, &cut);
	p = v == NULL ? NULL : joined ? codec_joined(room_name(rm), v, n, cut,
	    &len) : codec_members(room_name(rm), v, n, cut, &len);
	free(v);
	send_text(r, rc, p, len);
}

/*
 * A membership changed as the store keeps it: tell the connections of
 * the members (and of the one who left), but the one that asked.
 */
static void
ev_room_changed(void *arg, struct room *rm, struct user *u, int joined,
    void *tag)
{
	struct router	*r = arg;
	struct rjoin	*j = tag;
	struct rconn	*rc, *asker = j != NULL ? j->rc : NULL;
	struct user	*to;
	char		*p;
	size_t		 len, i, n = room_size(rm);

	if ((p = codec_member(room_name(rm), u->id, joined, &len)) == NULL)
		return;
	for (i = 0; i <= n; i++) {
		to = i < n ? room_member(rm, i) : joined ? NULL : u;
		if (to == NULL)
			continue;
		for (rc = to->conns; rc != NULL; rc = rc->unext)
			if (rc != asker && rc->state != RC_DETACHED &&
			    conn_live(r, rc))
				(void)r->ops->send_text(rc, p, len);
	}
	free(p);
}

/* A join or leave answered by the store. */
static void
ev_room_done(void *arg, void *tag, enum rooms_status st, const char *room,
    struct user *u)
{
	struct router	*r = arg;
	struct rjoin	*j = tag;
	struct room	*rm;
	char		*p, esc[CODEC_MAX_ROOM * 4 + 8];
	size_t		 len;

	if (st == ROOMS_OK)
		log_info("user %s %s room '%s'", u->id, j->join ? "joined" :
		    "left", util_escape(esc, sizeof(esc), room, strlen(room)));
	else
		log_info("user %s: %s room '%s' refused: %s", u->id,
		    j->join ? "joining" : "leaving", util_escape(esc,
		    sizeof(esc), room, strlen(room)), rooms_status_str(st));
	if (j->rc != NULL && st != ROOMS_OK)
		room_error(r, j->rc, st, room, j->id);
	else if (j->rc != NULL && j->join &&
	    (rm = rooms_find(r->rooms, room)) != NULL)
		send_members(r, j->rc, rm, 1);
	else if (j->rc != NULL) {
		p = codec_left(room, &len);
		send_text(r, j->rc, p, len);
	}
	rjoin_free(r, j);
}

void
router_join(struct router *r, struct rconn *rc, const char *room, int join,
    const char *id)
{
	struct rjoin		*j;
	struct room		*rm;
	enum rooms_status	 st;
	char			 esc[CODEC_MAX_ROOM * 4 + 8];

	if (rc->user == NULL)
		return;
	if ((j = calloc(1, sizeof(*j))) == NULL) {
		room_error(r, rc, ROOMS_NOMEM, room, id);
		return;
	}
	j->rc = rc;
	j->join = join;
	memcpy(j->id, id, strlen(id) + 1);
	if ((j->next = r->rjoins) != NULL)
		r->rjoins->prev = j;
	r->rjoins = j;
	rc->npend++;
	st = join ? rooms_join(r->rooms, rc->user, room, j) :
	    rooms_leave(r->rooms, rc->user, room, j);
	if (st == ROOMS_PENDING)
		return;
	if (st == ROOMS_OK && (rm = rooms_find(r->rooms, room)) != NULL)
		send_members(r, rc, rm, 1);	/* a member already */
	else {
		log_info("user %s: %s room '%s' refused: %s", rc->user->id,
		    join ? "joining" : "leaving", util_escape(esc, sizeof(esc),
		    room, strlen(room)), rooms_status_str(st));
		room_error(r, rc, st == ROOMS_OK ? ROOMS_NOMEM : st, room,
		    id);
	}
	rjoin_free(r, j);
}

void
router_members(struct router *r, struct rconn *rc, const char *room,
    const char *id)
{
	struct room	*rm;

	if (rc->user == NULL)
		return;
	if ((rm = rooms_find(r->rooms, room)) == NULL ||
	    !room_has(rm, rc->user))
		room_error(r, rc, ROOMS_NOT_MEMBER, room, id);
	else
		send_members(r, rc, rm, 0);
}

void
router_rooms(struct router *r, struct rconn *rc)
{
	struct room	**v = NULL;
	const char	**names = NULL;
	size_t		 *counts = NULL, n, i;
	char		 *p = NULL;
	size_t		  len;

	if (rc->user == NULL)
		return;
	n = rooms_of(r->rooms, rc->user, NULL, 0);
	if (n == 0 || ((v = calloc(n, sizeof(*v))) != NULL &&
	    (names = calloc(n, sizeof(*names))) != NULL &&
	    (counts = calloc(n, sizeof(*counts))) != NULL)) {
		n = rooms_of(r->rooms, rc->user, v, n);
		for (i = 0; i < n; i++) {
			names[i] = room_name(v[i]);
			counts[i] = room_size(v[i]);
		}
		p = codec_rooms(names, counts, n, &len);
	}
	free(v);
	free(names);
	free(counts);
	if (p == NULL)
		room_error(r, rc, ROOMS_NOMEM, "", NULL);
	else
		send_text(r, rc, p, len);
}

void
router_rooms_stats(const struct router *r, size_t *rooms,
    size_t *memberships)
{
	*rooms = rooms_count(r->rooms);
	*memberships = rooms_memberships(r->rooms);
}

void
router_commit(struct router *r)
{
	inbox_commit(r->ib);
	/* Right after the inbox's: its file has no transaction open. */
	rooms_commit(r->rooms);
}

uint64_t
router_commit_due(const struct router *r)
{
	return inbox_due(r->ib);
}

void
router_flush(struct router *r)
{
	inbox_flush(r->ib);
}

void
router_written(struct router *r, struct rconn *rc, uint64_t seq)
{
	if (rc->user == NULL || rc->user->conns == NULL ||
	    seq <= rc->user->cursor)
		return;
	rc->user->cursor = seq;
	inbox_cursor(r->ib, rc->user, seq);
}

void
router_drained(struct router *r, struct rconn *rc)
{
	if (rc->user != NULL && rc->seq < rc->user->last)
		conn_catch_up(r, rc);
}

/* ---- events from the inbox ---- */

/* Another node appended m to u's inbox (JetStream). */
static void
ev_arrived(void *arg, struct user *u, struct msg *m)
{
	deliver(arg, u, m);
}

/*
 * The inbox came back (or went): every connection looks again, since
 * other nodes may have appended meanwhile; one that was starting starts
 * over as it asked.  Collected first, since a sync can close a
 * connection (after the pass) and more waits are made meanwhile.
 */
/* ev_ready()'s walk over the users: the connections of those online. */
struct ready_grab {
	struct rconn	**v;
	size_t		  n, cap;
};

static void
ready_count(struct user *u, void *arg)
{
	*(size_t *)arg += conns_of(u, SIZE_MAX);
}

static void
ready_grab(struct user *u, void *arg)
{
	struct ready_grab	*g = arg;
	struct rconn		*rc;

	for (rc = u->conns; rc != NULL && g->n < g->cap; rc = rc->unext)
		g->v[g->n++] = rc;
}

static void
ev_ready(void *arg, int ready)
{
	struct router	*r = arg;
	struct ready_grab grab;
	struct rconn	*rc, **v = NULL;
	struct rwait	*w;
	size_t		 n = 0, cap = 0, i;
	int		 was = r->ready;

	r->ready = ready;
	if (!ready || was)
		return;
	users_each(r->users, ready_count, &cap);
	if (cap == 0 || (v = calloc(cap, sizeof(*v))) == NULL)
		return;
	grab.v = v;
	grab.n = 0;
	grab.cap = cap;
	users_each(r->users, ready_grab, &grab);
	n = grab.n;
	for (i = 0; i < n; i++) {
		rc = v[i];
		if (rc->user == NULL || !conn_live(r, rc))
			continue;
		if ((w = rc->wait) != NULL && w->kind == W_INFO)
			conn_sync(r, rc, w->resume, w->since, w->epoch,
			    w->hello, w->refresh);
		else if (rc->wait == NULL && rc->state == RC_LIVE)
			conn_sync(r, rc, 0, 0, NULL, 0, 1);
	}
	free(v);
}

/* ---- life cycle ---- */

/* The rooms, kept where the inbox keeps messages.  0 or -1. */
static int
open_rooms(struct router *r, struct nats_link *link,
    const struct inbox_config *icfg, char *err, size_t errlen)
{
	struct rooms_config	 cfg;
	struct rooms_events	 ev;
	struct rooms_store	*st;
	struct sqlite3		*db;

	memset(&cfg, 0, sizeof(cfg));
	cfg.max_members = r->cfg.max_members;
	cfg.max_rooms = r->cfg.max_rooms;
	memset(&ev, 0, sizeof(ev));
	ev.arg = r;
	ev.changed = ev_room_changed;
	ev.done = ev_room_done;
	if (link != NULL)
		st = rooms_store_js(link, icfg->replicas, err, errlen);
	else if ((db = inbox_sqlite(r->ib)) != NULL)
		st = rooms_store_sqlite(db, err, errlen);
	else if ((st = rooms_store_memory()) == NULL)
		snprintf(err, errlen, "out of memory");
	if (st == NULL)
		return -1;
	if ((r->rooms = rooms_open(&cfg, r->users, st, &ev, err, errlen)) ==
	    NULL)
		return -1;
	return 0;
}

struct router *
router_new(const struct router_config *cfg, struct users *us,
    struct presence *pres, const struct deliver_ops *ops,
    const struct inbox_config *icfg, struct nats_link *link, char *err,
    size_t errlen)
{
	struct router		*r;
	struct inbox_events	 ev;
	struct inbox_config	 ic;

	if ((r = calloc(1, sizeof(*r))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	r->cfg = *cfg;
	r->users = us;
	r->pres = pres;
	r->ops = ops;
	memset(&ev, 0, sizeof(ev));
	ev.arg = r;
	ev.appended = ev_appended;
	ev.read = ev_read;
	ev.info = ev_info;
	ev.arrived = ev_arrived;
	ev.ready = ev_ready;
	/* A local inbox is ready at once; JetStream says so when it is. */
	r->ready = link == NULL;
	/* JetStream hands messages to the nodes presence says. */
	ic = *icfg;
	ic.presence = pres;
	if ((r->ib = inbox_open(&ic, us, link, &ev, err, errlen)) == NULL) {
		free(r);
		return NULL;
	}
	r->hdr = inbox_msg_hdr(r->ib);
	if (open_rooms(r, link, icfg, err, errlen) == -1) {
		inbox_close(r->ib);
		free(r);
		return NULL;
	}
	return r;
}

void
router_free(struct router *r)
{
	if (r == NULL)
		return;
	/* Before the inbox: the SQLite store uses the inbox's file. */
	rooms_close(r->rooms);
	inbox_close(r->ib);	/* answers what it still holds */
	while (r->pends != NULL)
		pend_free(r, r->pends);
	while (r->rsends != NULL)
		rsend_free(r, r->rsends);
	while (r->rjoins != NULL)
		rjoin_free(r, r->rjoins);
	while (r->waits != NULL)
		wait_free(r, r->waits);
	free(r);
}

void
router_tick(struct router *r, uint64_t now)
{
	inbox_tick(r->ib, now);
	rooms_tick(r->rooms, now);
}

const char *
router_user_id(const struct rconn *rc)
{
	return rc->user != NULL ? rc->user->id : NULL;
}

size_t
router_user_conns(const struct rconn *rc)
{
	return rc->user != NULL ? conns_of(rc->user, SIZE_MAX) : 0;
}

size_t
router_nonline(const struct router *r)
{
	return r->nonline;
}

void
router_inbox_stats(const struct router *r, struct inbox_stats *st)
{
	inbox_stats(r->ib, st);
}
