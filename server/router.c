/*
 * Copyright (c) 2026 The chat authors.
 *
 * router: user ids and what hangs off them.  A user exists while it has
 * a connection or a watcher, and is freed when it has none.  It takes
 * chat messages in (numbered and appended to the target's inbox in the
 * store), holds them until the pass's group commit, then delivers them
 * and answers the senders; it moves each connection through its user's
 * inbox by seq (replaying from the store when the connection is
 * behind), keeps the store's delivery cursor, and tells watchers when a
 * user comes online or goes offline.
 * It never touches sockets: it calls client_*() in server-client.c.
 *
 * In a cluster (router_set_cluster()) the inboxes live in JetStream: a
 * message is published (cluster.c) and acknowledged when stored; the
 * nodes of its target are told its seq, and each connection behind
 * fetches what it has not been sent, one message at a time, so that
 * replay and live delivery are one path.  Seqs are then increasing but
 * not contiguous.  While NATS is away, messages between users with
 * connections on this node still go (live, without seq).
 */
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "log.h"
#include "server.h"
#include "store.h"
#include "util.h"

#define READ_BATCH	64	/* messages read from the store at once */

#define ROUTER_BUCKETS	4096	/* grows by doubling at load 1 */

struct user {
	struct user	*hnext;
	struct user	*dnext;		/* on the doomed list */
	struct client	*conns;		/* linked by client->unext */
	uint64_t	 last;		/* newest committed seq (if online) */
	uint64_t	 sent;		/* the store's cursor (if online) */
	int		 held;		/* its inbox, by store_hold() */
	int		 cdirty;	/* cluster: cursor not yet published */
	struct client	**watchers;
	uint32_t	 nconns;
	uint32_t	 nwatchers, capwatchers;
	uint8_t		 doomed;	/* unused: freed by router_reap() */
	char		 id[];		/* sized to the id */
};

/* A chat message waiting for the pass's commit. */
struct pend {
	struct client	*from;		/* NULL once it is gone */
	struct msg	*m;
	char		 target[CODEC_MAX_USER + 1];
	char		 id[CODEC_MAX_IDJSON + 1];	/* or "" */
};

/* Kept between passes up to this many; a bigger one is freed. */
#define PEND_KEEP	1024

/* A connection's sync with JetStream (cluster only). */
enum { CL_UNSYNCED, CL_LOOKUP, CL_SYNCED };

struct clconn {
	int		 state;
	int		 resume, synced_once, fetching, waiting, failed;
	uint64_t	 since, first, last, cursor;
	char		 epoch[17];	/* the client's, or "" */
};

struct router {
	const struct server_config *cfg;
	struct store	*st;
	struct cluster	*cl;		/* NULL: alone */
	struct user	**dirty;	/* cursors to publish this pass */
	size_t		 ndirty, capdirty;
	struct user	**tab;
	size_t		 nbuckets, nusers, nonline;
	struct user	*doomed;	/* may be unused: see router_reap() */
	/*
	 * The "who" answer, shared by every asker until the online set
	 * changes (who_gen): a client asking in a loop costs a send, not a
	 * walk of every user.
	 */
	char		*who;
	size_t		 wholen;
	uint64_t	 who_gen, who_built_gen;
	struct pend	*pend;		/* this pass's, in order */
	size_t		 npend, cappend;
};

struct msg *
msg_alloc(size_t len)
{
	struct msg	*m;

	if (len > SIZE_MAX - sizeof(*m) - 1 ||
	    (m = malloc(sizeof(*m) + len + 1)) == NULL)
		return NULL;
	m->refs = 1;
	m->seq = 0;
	m->inext = m->sprev = m->snext = NULL;
	m->inbox = NULL;
	m->ts = 0;
	m->len = len;
	m->data[len] = '\0';
	return m;
}

struct msg *
msg_new(const char *data, size_t len)
{
	struct msg	*m;

	if ((m = msg_alloc(len)) != NULL)
		memcpy(m->data, data, len);
	return m;
}

struct msg *
msg_ref(struct msg *m)
{
	m->refs++;
	return m;
}

void
msg_unref(struct msg *m)
{
	if (m != NULL && --m->refs == 0)
		free(m);
}

void
mq_push(struct mq *q, struct mq_ent *e)
{
	e->next = NULL;
	if (q->tail != NULL)
		q->tail->next = e;
	else
		q->head = e;
	q->tail = e;
	q->n++;
	q->bytes += e->m->len;
}

struct mq_ent *
mq_pop(struct mq *q)
{
	struct mq_ent	*e;

	if ((e = q->head) == NULL)
		return NULL;
	if ((q->head = e->next) == NULL)
		q->tail = NULL;
	q->n--;
	q->bytes -= e->m->len;
	return e;
}

void
mq_clear(struct mq *q)
{
	struct mq_ent	*e;

	while ((e = mq_pop(q)) != NULL) {
		msg_unref(e->m);
		free(e);
	}
}

struct router *
router_new(const struct server_config *cfg, struct store *st)
{
	struct router	*r;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	r->cfg = cfg;
	r->st = st;
	r->nbuckets = ROUTER_BUCKETS;
	if ((r->tab = calloc(r->nbuckets, sizeof(*r->tab))) == NULL) {
		free(r);
		return NULL;
	}
	return r;
}

static void
cursor_flush(struct router *r, struct user *u)
{
	if (u->cdirty)
		cluster_cursor(r->cl, u->id, u->sent);
	u->cdirty = 0;
}

static void
user_free(struct router *r, struct user *u)
{
	size_t	i;

	cursor_flush(r, u);
	for (i = 0; i < r->ndirty; i++)
		if (r->dirty[i] == u)
			r->dirty[i] = NULL;
	free(u->watchers);
	free(u);
}

void
router_free(struct router *r)
{
	struct user	*u, *next;
	size_t		 i;

	if (r == NULL)
		return;
	router_commit(r);
	r->doomed = NULL;	/* all of them go below */
	for (i = 0; i < r->nbuckets; i++) {
		for (u = r->tab[i]; u != NULL; u = next) {
			next = u->hnext;
			user_free(r, u);
		}
	}
	free(r->tab);
	free(r->pend);
	free(r->dirty);
	free(r->who);
	free(r);
}

static struct user *
user_find(struct router *r, const char *id)
{
	struct user	*u;

	for (u = r->tab[util_hash_str(id) & (r->nbuckets - 1)]; u != NULL;
	    u = u->hnext)
		if (strcmp(u->id, id) == 0)
			return u;
	return NULL;
}

static void
router_grow(struct router *r)
{
	struct user	**tab, *u, *next;
	size_t		  i, n = r->nbuckets * 2;

	if ((tab = calloc(n, sizeof(*tab))) == NULL)
		return;		/* longer chains, still correct */
	for (i = 0; i < r->nbuckets; i++) {
		for (u = r->tab[i]; u != NULL; u = next) {
			next = u->hnext;
			u->hnext = tab[util_hash_str(u->id) & (n - 1)];
			tab[util_hash_str(u->id) & (n - 1)] = u;
		}
	}
	free(r->tab);
	r->tab = tab;
	r->nbuckets = n;
}

static struct user *
user_get(struct router *r, const char *id)
{
	struct user	*u;
	size_t		 b, len = strlen(id);

	if ((u = user_find(r, id)) != NULL)
		return u;
	if (len > CODEC_MAX_USER ||
	    (u = calloc(1, sizeof(*u) + len + 1)) == NULL)
		return NULL;
	memcpy(u->id, id, len + 1);
	if (r->nusers >= r->nbuckets)
		router_grow(r);
	b = util_hash_str(id) & (r->nbuckets - 1);
	u->hnext = r->tab[b];
	r->tab[b] = u;
	r->nusers++;
	return u;
}

/*
 * Nothing hangs off u any more: free it after the pass.  Never at once:
 * callers up the stack (a detach telling watchers, a delivery loop) may
 * still hold u, and a send can cut a connection, which drops its
 * watches and so ends other users' last reference.  Issue 14.1 was
 * that: a user freed by its last watcher's cut inside router_detach().
 */
static void
user_maybe_free(struct router *r, struct user *u)
{
	if (u->nconns > 0 || u->nwatchers > 0 || u->doomed)
		return;
	u->doomed = 1;
	u->dnext = r->doomed;
	r->doomed = u;
}

void
router_reap(struct router *r)
{
	struct user	*u, **pp;

	while ((u = r->doomed) != NULL) {
		r->doomed = u->dnext;
		u->doomed = 0;
		if (u->nconns > 0 || u->nwatchers > 0)
			continue;	/* taken again meanwhile */
		for (pp = &r->tab[util_hash_str(u->id) & (r->nbuckets - 1)];
		    *pp != u; pp = &(*pp)->hnext)
			;
		*pp = u->hnext;
		r->nusers--;
		user_free(r, u);
	}
}

static void
notify_presence(struct router *r, struct user *u, int online)
{
	struct client	**w;
	char		 *p;
	size_t		  len, i, n;

	if (u->nwatchers == 0)
		return;
	if ((p = codec_presence(u->id, online, &len)) == NULL)
		return;
	/*
	 * A watcher that cannot take it is cut off, which never touches
	 * this list synchronously (cuts are processed after the event),
	 * but copy it anyway so the loop does not depend on that.
	 */
	n = u->nwatchers;
	if ((w = malloc(n * sizeof(*w))) != NULL) {
		memcpy(w, u->watchers, n * sizeof(*w));
		for (i = 0; i < n; i++)
			client_send_text(w[i], p, len);
		free(w);
	}
	free(p);
}

/* u->sent moved: tell the store, or publish it at the pass's end. */
static void
cursor_set(struct router *r, struct user *u)
{
	struct user	**d;

	if (r->cl == NULL) {
		store_sent_set(r->st, u->id, u->sent);
		return;
	}
	if (u->cdirty)
		return;
	if (r->ndirty == r->capdirty) {
		size_t	ncap = r->capdirty ? r->capdirty * 2 : 64;

		if ((d = reallocarray(r->dirty, ncap, sizeof(*d))) == NULL) {
			cluster_cursor(r->cl, u->id, u->sent);
			return;
		}
		r->dirty = d;
		r->capdirty = ncap;
	}
	u->cdirty = 1;
	r->dirty[r->ndirty++] = u;
}

static void	cl_catch_up(struct router *, struct client *);
static void	cl_sync(struct router *, struct client *);

/*
 * Send m to c and move c's place in the inbox; the first send of a
 * seq moves the user's delivery cursor.  0, or -1 if c could not take
 * it (c may be cut off).
 */
static int
conn_send(struct router *r, struct client *c, struct msg *m)
{
	struct user	*u = c->user;

	if (client_send_msg(c, m) != 0)
		return -1;
	c->seq = m->seq;
	if (m->seq > u->sent) {
		u->sent = m->seq;
		c->inflight.tail->fresh = 1;
		cursor_set(r, u);
	}
	return 0;
}

/*
 * Replay from the store to a connection that is behind its user's
 * inbox, while it has room for the largest message.  Called again when
 * its output drains, so a connection is either caught up or has
 * output in flight.
 */
static void
conn_catch_up(struct router *r, struct client *c)
{
	struct user	*u = c->user;
	struct msg	*v[READ_BATCH];
	size_t		 room, need = r->cfg->max_message + 256;
	int		 n, i, all;

	if (r->cl != NULL) {
		cl_catch_up(r, c);
		return;
	}
	while (c->user != NULL && client_routable(c) && c->seq < u->last) {
		room = client_room(c);
		if (room < need && (room < r->cfg->max_output ||
		    client_pending(c) > 0))
			return;		/* again when output drains */
		n = store_read(r->st, u->id, c->seq, u->last, READ_BATCH,
		    room / 2, v);
		if (n < 0) {
			/*
			 * It cannot catch up now: close it, so that its
			 * client comes back with since and tries again.
			 */
			log_warn("user %s: cannot read the inbox after seq "
			    "%llu: closing #%llu (1011)", u->id,
			    (unsigned long long)c->seq,
			    (unsigned long long)c->id);
			client_close(c, 1011, "history unavailable, resume "
			    "later");
			return;
		}
		if (n == 0) {
			c->seq = u->last;	/* dropped meanwhile */
			return;
		}
		for (i = 0; i < n; i++)
			if (c->user == NULL || conn_send(r, c, v[i]) != 0)
				break;
		all = i == n;
		while (n > 0)
			msg_unref(v[--n]);
		if (!all)
			return;
	}
}

int
router_attach(struct router *r, struct client *c, const char *id,
    int resume, uint64_t since, const char *epoch)
{
	struct user	*u;

	if ((u = user_get(r, id)) == NULL)
		return -2;
	if (u->nconns >= r->cfg->max_per_user) {
		user_maybe_free(r, u);
		return -1;
	}
	if (r->cl != NULL &&
	    (c->clc = calloc(1, sizeof(*c->clc))) == NULL) {
		user_maybe_free(r, u);
		return -2;
	}
	c->user = u;
	c->unext = u->conns;
	u->conns = c;
	if (r->cl != NULL) {
		if (u->nconns++ == 0) {
			cluster_user_local(r->cl, id, 1);
			r->nonline++;
			r->who_gen++;
			if (!cluster_user_remote(r->cl, id))
				notify_presence(r, u, 1);
		}
		c->clc->resume = resume;
		c->clc->since = since;
		if (epoch != NULL)
			snprintf(c->clc->epoch, sizeof(c->clc->epoch), "%s",
			    epoch);
		cl_sync(r, c);
		return 0;
	}
	if (u->nconns++ == 0) {
		u->held = store_hold(r->st, id);
		u->last = store_last(r->st, id);
		u->sent = store_sent(r->st, id);
		r->nonline++;
		r->who_gen++;
		notify_presence(r, u, 1);
	}
	if (resume)
		router_resume(r, c, since, epoch);
	else {
		/* The seed's way: what no connection was sent yet. */
		c->seq = u->sent;
		conn_catch_up(r, c);
	}
	return 0;
}

void
router_resume(struct router *r, struct client *c, uint64_t since,
    const char *epoch)
{
	struct user	*u = c->user;
	const char	*ours = store_epoch(r->st);
	char		*p;
	size_t		 len;
	int		 reset = 0;

	if (u == NULL)
		return;
	if (r->cl != NULL) {
		/* Again from since, after a fresh look at the inbox. */
		c->clc->resume = 1;
		c->clc->since = since;
		snprintf(c->clc->epoch, sizeof(c->clc->epoch), "%s",
		    epoch != NULL ? epoch : "");
		if (c->clc->state != CL_LOOKUP)
			cl_sync(r, c);
		return;
	}
	/*
	 * A seq from another numbering (another store file, an earlier
	 * run of a memory store), or beyond ours: replay all of it.
	 */
	if ((epoch != NULL && epoch[0] != '\0' && strcmp(epoch, ours) != 0) ||
	    since > u->last) {
		since = 0;
		reset = 1;
	}
	p = codec_resumed(since, store_first(r->st, u->id), u->last, ours,
	    reset, 0, &len);
	if (p == NULL || client_send_text(c, p, len) != 0) {
		free(p);
		return;
	}
	free(p);
	c->seq = since;
	conn_catch_up(r, c);
}

void
router_catch_up(struct router *r, struct client *c)
{
	if (c->user != NULL && c->seq < c->user->last)
		conn_catch_up(r, c);
}

static void
unwatch_all(struct router *r, struct client *c)
{
	struct user	*u;
	size_t		 i, j;

	for (i = 0; i < c->nwatch; i++) {
		if ((u = user_find(r, c->watch[i])) == NULL)
			continue;
		for (j = 0; j < u->nwatchers; j++) {
			if (u->watchers[j] == c) {
				u->watchers[j] = u->watchers[--u->nwatchers];
				break;
			}
		}
		user_maybe_free(r, u);
	}
	free(c->watch);
	c->watch = NULL;
	c->nwatch = 0;
}

void
router_detach(struct router *r, struct client *c, struct mq *unsent)
{
	struct user	 *u = c->user;
	struct client	**pp;
	struct mq_ent	 *e;

	unwatch_all(r, c);
	if (u == NULL) {
		mq_clear(unsent);
		return;
	}
	for (pp = &u->conns; *pp != c; pp = &(*pp)->unext)
		;
	*pp = c->unext;
	c->unext = NULL;
	c->user = NULL;
	free(c->clc);
	c->clc = NULL;
	u->nconns--;
	if (u->nconns == 0 && r->cl != NULL) {
		for (e = unsent->head; e != NULL && !e->fresh; e = e->next)
			;
		if (e != NULL && e->m->seq - 1 < u->sent) {
			u->sent = e->m->seq - 1;
			cursor_set(r, u);
		}
		cursor_flush(r, u);
		cluster_user_local(r->cl, u->id, 0);
		r->nonline--;
		r->who_gen++;
		if (!cluster_user_remote(r->cl, u->id))
			notify_presence(r, u, 0);
	} else if (u->nconns == 0) {
		/*
		 * The last connection went with messages it was the first to
		 * be sent but never wrote: move the cursor back before them,
		 * so the next connection gets them (with or without since).
		 */
		for (e = unsent->head; e != NULL && !e->fresh; e = e->next)
			;
		if (e != NULL && e->m->seq - 1 < u->sent) {
			log_info("user %s: %llu undelivered message(s) kept "
			    "for the next connection", u->id,
			    (unsigned long long)(u->sent - e->m->seq + 1));
			u->sent = e->m->seq - 1;
			store_sent_set(r->st, u->id, u->sent);
		}
		if (u->held)
			store_release(r->st, u->id);
		u->held = 0;
		r->nonline--;
		r->who_gen++;
		notify_presence(r, u, 0);
	}
	mq_clear(unsent);
	user_maybe_free(r, u);
}

/* Will target's next message go straight to a connection? */
static int
caught_up(struct router *r, const char *target)
{
	struct user	*u;
	struct client	*c;

	if ((u = user_find(r, target)) == NULL)
		return 0;
	for (c = u->conns; c != NULL; c = c->unext)
		if (client_routable(c) && c->seq == u->last)
			return 1;
	return 0;
}

/*
 * In a cluster: publish to the target's inbox in JetStream.  Without
 * NATS, only a target with connections here can be reached: live.
 */
static enum route_result
cl_submit(struct router *r, struct client *from, const char *target,
    const char *msg, size_t msglen, const char *id, uint64_t ts)
{
	struct user	*u;
	struct client	*c, *next;
	struct msg	*m;
	size_t		 len, n = 0;
	int		 rc;

	len = codec_chat_into(NULL, 0, from->user->id, msg, msglen, ts, 0);
	if ((m = msg_alloc(len)) == NULL)
		return ROUTE_NOMEM;
	codec_chat_into(m->data, len + 1, from->user->id, msg, msglen, ts, 0);
	if (cluster_ready(r->cl)) {
		rc = cluster_publish(r->cl, from, target, m->data, len, id);
		msg_unref(m);
		return rc == 0 ? ROUTE_PENDING : ROUTE_CLUSTER;
	}
	if ((u = user_find(r, target)) != NULL) {
		for (c = u->conns; c != NULL; c = next) {
			next = c->unext;
			if (client_routable(c) && client_send_msg(c, m) == 0)
				n++;
		}
	}
	msg_unref(m);
	return n > 0 ? ROUTE_DELIVERED : ROUTE_CLUSTER;
}

enum route_result
router_submit(struct router *r, struct client *from, const char *target,
    const char *msg, size_t msglen, const char *id)
{
	struct pend	*p;
	struct msg	*m;
	uint64_t	 seq, ts = util_wall_ms();
	size_t		 len;
	enum store_status s;

	if (r->cl != NULL)
		return cl_submit(r, from, target, msg, msglen, id, ts);
	/* Sized for the largest seq, then written in place. */
	len = codec_chat_into(NULL, 0, from->user->id, msg, msglen, ts,
	    UINT64_MAX);
	if ((s = store_next(r->st, target, len, caught_up(r, target),
	    &seq)) != STORE_OK)
		goto refused;
	if (r->npend == r->cappend) {
		size_t	ncap = r->cappend ? r->cappend * 2 : 64;

		if ((p = reallocarray(r->pend, ncap, sizeof(*p))) == NULL)
			return ROUTE_NOMEM;
		r->pend = p;
		r->cappend = ncap;
	}
	if ((m = msg_alloc(len)) == NULL)
		return ROUTE_NOMEM;
	m->len = codec_chat_into(m->data, len + 1, from->user->id, msg,
	    msglen, ts, seq);
	m->data[m->len] = '\0';
	m->seq = seq;
	if ((s = store_append(r->st, target, m, ts)) != STORE_OK) {
		msg_unref(m);
		goto refused;
	}
	p = &r->pend[r->npend++];
	p->from = from;
	p->m = m;
	/* Both bounded by the codec (CODEC_MAX_USER, CODEC_MAX_IDJSON). */
	memcpy(p->target, target, strlen(target) + 1);
	memcpy(p->id, id, strlen(id) + 1);
	return ROUTE_PENDING;

refused:
	switch (s) {
	case STORE_FULL:
		return ROUTE_FULL;
	case STORE_UNAVAILABLE:
		return ROUTE_UNAVAILABLE;
	default:
		return ROUTE_NOMEM;
	}
}

/* Deliver a just-committed m to u's connections that are caught up. */
static size_t
deliver(struct router *r, struct user *u, struct msg *m)
{
	struct client	*c, *next;
	size_t		 n = 0;

	if (m->seq > u->last)
		u->last = m->seq;
	if (!u->held)
		u->held = store_hold(r->st, u->id);	/* its first */
	for (c = u->conns; c != NULL; c = next) {
		next = c->unext;
		if (!client_routable(c))
			continue;
		if (c->seq + 1 == m->seq) {
			if (conn_send(r, c, m) == 0)
				n++;
		} else if (c->seq < m->seq)
			conn_catch_up(r, c);	/* behind: replays it */
	}
	return n;
}

/*
 * The sender's other connections get a copy of what it sent, as
 * {"type":"sent"} (man/chat-protocol.7), so that each of the user's
 * devices shows the whole conversation.  Live only: never stored or
 * replayed.  The text is taken back out of the stored event, parsed
 * only when the user has another connection.
 */
static void
tell_other_devices(struct pend *p)
{
	struct codec_ev	 ev;
	struct client	*c, *next;
	char		 detail[CODEC_MAX_DETAIL + 1], *s;
	size_t		 len;

	if (p->from == NULL || p->from->user == NULL ||
	    p->from->user->nconns < 2)
		return;
	if (codec_parse_ev(p->m->data, p->m->len, &ev, detail) == -1)
		return;
	s = codec_sent(p->target, ev.message, ev.message_len, ev.ts, &len);
	codec_ev_release(&ev);
	if (s == NULL)
		return;
	for (c = p->from->user->conns; c != NULL; c = next) {
		next = c->unext;
		if (c != p->from && !c->cut && !c->dead)
			(void)client_send_text(c, s, len);
	}
	free(s);
}

void
router_commit(struct router *r)
{
	struct pend	*p;
	struct user	*u;
	size_t		 i;
	int		 ok;

	ok = store_commit(r->st) == 0;	/* also cursors, retention */
	/* Nothing below submits: the array stays put. */
	for (i = 0; i < r->npend; i++) {
		p = &r->pend[i];
		if (!ok)
			client_chat_done(p->from, p->id, ROUTE_UNAVAILABLE);
		else {
			u = user_find(r, p->target);
			client_chat_done(p->from, p->id, u != NULL &&
			    u->nconns > 0 && deliver(r, u, p->m) > 0 ?
			    ROUTE_DELIVERED : ROUTE_QUEUED);
			tell_other_devices(p);
		}
		msg_unref(p->m);
	}
	r->npend = 0;
	for (i = 0; i < r->ndirty; i++)
		if (r->dirty[i] != NULL)
			cursor_flush(r, r->dirty[i]);
	r->ndirty = 0;
	if (r->cappend > PEND_KEEP) {
		free(r->pend);
		r->pend = NULL;
		r->cappend = 0;
	}
}

void
router_forget(struct router *r, struct client *c)
{
	size_t	i;

	cluster_forget(r->cl, c);
	for (i = 0; i < r->npend; i++)
		if (r->pend[i].from == c)
			r->pend[i].from = NULL;
}

const char *
router_user_id(const struct user *u)
{
	return u->id;
}

size_t
router_user_conns(const struct user *u)
{
	return u->nconns;
}

size_t
router_nonline(const struct router *r)
{
	return r->nonline;
}

static const char **
online_users(struct router *r, size_t *np, int remote)
{
	const char	**v;
	struct user	 *u;
	size_t		  i, j, k, n = 0, nr = remote ? cluster_nremote(r->cl) : 0;

	if ((v = malloc((r->nonline + nr + 1) * sizeof(*v))) == NULL)
		return NULL;
	for (i = 0; i < r->nbuckets; i++)
		for (u = r->tab[i]; u != NULL; u = u->hnext)
			if (u->nconns > 0 && n < r->nonline)
				v[n++] = u->id;
	if (nr > 0) {
		/* Those online elsewhere too, each once. */
		k = cluster_remote_users(r->cl, v + n, nr);
		for (i = j = n; i < n + k; i++)
			if ((u = user_find(r, v[i])) == NULL || u->nconns == 0)
				v[j++] = v[i];
		n = j;
	}
	*np = n;
	return v;
}

const char **
router_online(struct router *r, size_t *np)
{
	return online_users(r, np, 1);
}

const char *
router_who(struct router *r, size_t *lenp)
{
	const char	**v;
	char		 *p;
	size_t		  n, len, i, bytes = 64;

	if (r->who != NULL && r->who_built_gen == r->who_gen) {
		*lenp = r->wholen;
		return r->who;
	}
	if ((v = router_online(r, &n)) == NULL)
		return NULL;
	/*
	 * The answer must fit half the output cap, or asking would get a
	 * reader cut off: cut the list instead and say so.
	 */
	for (i = 0; i < n; i++) {
		bytes += strlen(v[i]) + 3;
		if (bytes > r->cfg->max_output / 2)
			break;
	}
	p = codec_who(v, i, i < n, &len);
	free(v);
	if (p == NULL)
		return NULL;
	free(r->who);
	r->who = p;
	r->wholen = len;
	r->who_built_gen = r->who_gen;
	*lenp = len;
	return p;
}

const char **
router_local_users(struct router *r, size_t *np)
{
	return online_users(r, np, 0);
}

/*
 * Drop repeated ids from users[0..n), keeping the first of each in
 * order; returns how many are left.  Quadratic, on at most
 * CODEC_MAX_WATCH ids, and a connection's watches are budgeted.
 */
static size_t
dedup_ids(char (*users)[CODEC_MAX_USER + 1], size_t n)
{
	size_t	i, j, k = 0;

	for (i = 0; i < n; i++) {
		for (j = 0; j < k; j++)
			if (strcmp(users[j], users[i]) == 0)
				break;
		if (j == k && k++ != i)
			memcpy(users[k - 1], users[i], sizeof(users[i]));
	}
	return k;
}

int
router_watch(struct router *r, struct client *c,
    char (*users)[CODEC_MAX_USER + 1], size_t n)
{
	struct user	*u;
	size_t		 i, len;
	char		*p;

	unwatch_all(r, c);
	n = dedup_ids(users, n);
	if (n == 0)
		return 0;
	if ((c->watch = calloc(n, sizeof(*c->watch))) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		if ((u = user_get(r, users[i])) == NULL)
			return -1;
		if (u->nwatchers == u->capwatchers) {
			uint32_t	  ncap = u->capwatchers ?
			    u->capwatchers * 2 : 4;
			struct client	**w;

			w = realloc(u->watchers, ncap * sizeof(*w));
			if (w == NULL) {
				user_maybe_free(r, u);
				return -1;
			}
			u->watchers = w;
			u->capwatchers = ncap;
		}
		u->watchers[u->nwatchers++] = c;
		memcpy(c->watch[c->nwatch++], users[i], CODEC_MAX_USER + 1);
	}
	/*
	 * Then the current state of each.  A send can cut c off, which
	 * drops its watches and may free users: look each one up again
	 * and stop once c is gone.
	 */
	for (i = 0; i < n && client_routable(c); i++) {
		u = user_find(r, users[i]);
		p = codec_presence(users[i], (u != NULL && u->nconns > 0) ||
		    cluster_user_remote(r->cl, users[i]), &len);
		if (p != NULL) {
			client_send_text(c, p, len);
			free(p);
		}
	}
	return 0;
}

/* ---- in a cluster ---- */

void
router_set_cluster(struct router *r, struct cluster *cl)
{
	r->cl = cl;
}

/* Look at c's user's inbox in JetStream, then resume or start c. */
static void
cl_sync(struct router *r, struct client *c)
{
	struct clconn	*k = c->clc;
	int		 what;

	if (!cluster_ready(r->cl)) {
		k->state = CL_UNSYNCED;		/* when NATS is back */
		return;
	}
	/* Resuming, or continuing after NATS was away: where it is. */
	what = CL_LAST | (k->resume ? CL_FIRST :
	    k->synced_once ? 0 : CL_CURSOR);
	k->state = CL_LOOKUP;
	k->waiting = what;
	k->failed = 0;
	k->first = k->last = k->cursor = 0;
	if (cluster_lookup(r->cl, c, c->user->id, what) != 0) {
		k->waiting = 0;
		k->state = CL_UNSYNCED;
		client_close(c, 1011, "history unavailable, resume later");
	}
}

void
router_cl_looked_up(struct router *r, struct client *c, int what,
    uint64_t value, int err)
{
	struct clconn	*k = c->clc;
	struct user	*u = c->user;
	const char	*ours = cluster_epoch(r->cl);
	uint64_t	 since;
	char		*p;
	size_t		 len;
	int		 reset = 0;

	if (k == NULL || u == NULL || !(k->waiting & what))
		return;
	k->waiting &= ~what;
	if (err)
		k->failed = 1;
	if (what == CL_LAST)
		k->last = value;
	else if (what == CL_FIRST)
		k->first = value;
	else
		k->cursor = value;
	if (k->waiting != 0)
		return;
	if (k->failed) {
		k->state = CL_UNSYNCED;
		if (!cluster_ready(r->cl))
			return;		/* again when NATS is back */
		log_warn("user %s: cannot read its inbox in JetStream: closing "
		    "#%llu (1011)", u->id, (unsigned long long)c->id);
		client_close(c, 1011, "history unavailable, resume later");
		return;
	}
	if (k->last > u->last)
		u->last = k->last;
	k->state = CL_SYNCED;
	if (k->resume) {
		since = k->since;
		if ((k->epoch[0] != '\0' && strcmp(k->epoch, ours) != 0) ||
		    since > u->last) {
			since = 0;
			reset = 1;
		}
		k->resume = 0;
		p = codec_resumed(since, k->first, u->last, ours, reset, 1,
		    &len);
		if (p == NULL || client_send_text(c, p, len) != 0) {
			free(p);
			return;
		}
		free(p);
		c->seq = since;
	} else if (!k->synced_once) {
		/* The seed's way: what no connection was sent yet. */
		if (k->cursor > u->sent)
			u->sent = k->cursor;
		c->seq = u->sent;
	}
	k->synced_once = 1;
	cl_catch_up(r, c);
}

/* Fetch the next message for c if it is behind and has room. */
static void
cl_catch_up(struct router *r, struct client *c)
{
	struct clconn	*k = c->clc;
	struct user	*u = c->user;
	size_t		 room, need = r->cfg->max_message + 256;

	if (k == NULL || u == NULL || k->state != CL_SYNCED || k->fetching ||
	    !client_routable(c) || c->seq >= u->last)
		return;
	room = client_room(c);
	if (room < need && (room < r->cfg->max_output ||
	    client_pending(c) > 0))
		return;		/* again when output drains */
	if (cluster_fetch(r->cl, c, u->id, c->seq + 1) != 0) {
		k->state = CL_UNSYNCED;		/* again when NATS is back */
		return;
	}
	k->fetching = 1;
}

void
router_cl_fetched(struct router *r, struct client *c, struct msg *m,
    uint64_t seq, uint64_t prev, int err)
{
	struct clconn	*k = c->clc;
	struct user	*u = c->user;

	if (k == NULL || u == NULL || !k->fetching)
		return;
	k->fetching = 0;
	if (err) {
		if (!cluster_ready(r->cl)) {
			k->state = CL_UNSYNCED;
			return;
		}
		log_warn("user %s: cannot read its inbox after seq %llu: "
		    "closing #%llu (1011)", u->id, (unsigned long long)c->seq,
		    (unsigned long long)c->id);
		client_close(c, 1011, "history unavailable, resume later");
		return;
	}
	if (seq == 0) {
		c->seq = u->last;	/* nothing more (dropped meanwhile) */
		return;
	}
	if (seq <= c->seq)
		return;			/* cannot be: a stale answer */
	if (seq > u->last)
		u->last = seq;
	/*
	 * Its inbox had messages after c's place that are gone: JetStream's
	 * limits dropped them before this connection was sent them.
	 */
	if (m != NULL && prev > c->seq && c->seq > 0)
		log_warn("user %s: messages after seq %llu up to %llu were "
		    "dropped by the history limits before #%llu was sent "
		    "them", u->id, (unsigned long long)c->seq,
		    (unsigned long long)prev, (unsigned long long)c->id);
	if (m == NULL)
		c->seq = seq;		/* not a chat message: skipped */
	else if (conn_send(r, c, m) != 0)
		return;
	cl_catch_up(r, c);
}

int
router_cl_hint(struct router *r, const char *user, uint64_t seq,
    uint64_t prev, struct msg *m)
{
	struct user	*u;
	struct client	*c, *next;

	if ((u = user_find(r, user)) == NULL || u->nconns == 0)
		return 0;
	if (seq > u->last)
		u->last = seq;
	for (c = u->conns; c != NULL; c = next) {
		next = c->unext;
		/*
		 * Right after what it has: send it.  Behind: fetch what it
		 * misses (this one comes with it).  Past it: a repeat.
		 */
		if (m != NULL && c->clc != NULL &&
		    c->clc->state == CL_SYNCED && !c->clc->fetching &&
		    client_routable(c) && c->seq == prev &&
		    client_room(c) >= m->len)
			(void)conn_send(r, c, m);
		else
			cl_catch_up(r, c);
	}
	return 1;
}

void
router_cl_ready(struct router *r)
{
	struct user	 *u;
	struct client	 *c, **v;
	size_t		  i, n = 0, cap = 0;

	/*
	 * Every connection looks again: while this node was away from NATS
	 * other nodes may have appended (and told nobody here).  Collected
	 * first: a sync that fails closes (detaches) c.
	 */
	for (i = 0; i < r->nbuckets; i++)
		for (u = r->tab[i]; u != NULL; u = u->hnext)
			cap += u->nconns;
	if (cap == 0 || (v = malloc(cap * sizeof(*v))) == NULL)
		return;
	for (i = 0; i < r->nbuckets; i++)
		for (u = r->tab[i]; u != NULL; u = u->hnext)
			for (c = u->conns; c != NULL && n < cap; c = c->unext)
				if (c->clc != NULL &&
				    c->clc->state != CL_LOOKUP)
					v[n++] = c;
	for (i = 0; i < n; i++)
		if (v[i]->clc != NULL && v[i]->clc->state != CL_LOOKUP &&
		    !v[i]->clc->fetching)
			cl_sync(r, v[i]);
	free(v);
}

void
router_cl_presence(struct router *r, const char *user, int online)
{
	struct user	*u;

	r->who_gen++;
	if ((u = user_find(r, user)) != NULL && u->nconns == 0)
		notify_presence(r, u, online);
}
