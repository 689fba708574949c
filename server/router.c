/*
 * Copyright (c) 2026 The chat authors.
 *
 * router: user ids and what hangs off them.  A user exists while it has
 * a connection, a queued message or a watcher, and is freed when it has
 * none.  It owns the offline queues (bounded per user in messages and
 * in total in bytes), delivers in order (while a user's queue is not
 * empty, new messages join its tail so they cannot overtake it), and
 * tells watchers when a user comes online or goes offline.
 * It never touches sockets: it calls client_send_*() in server-client.c.
 */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "server.h"

#define ROUTER_BUCKETS	4096	/* grows by doubling at load 1 */

struct user {
	struct user	*hnext;
	struct client	*conns;		/* linked by client->unext */
	struct mq	 queue;
	struct client	**watchers;
	uint32_t	 nconns;
	uint32_t	 nwatchers, capwatchers;
	char		 id[];		/* sized to the id */
};

struct router {
	const struct server_config *cfg;
	struct user	**tab;
	size_t		 nbuckets, nusers, nonline;
	size_t		 queued_bytes;
};

struct msg *
msg_alloc(size_t len)
{
	struct msg	*m;

	if (len > SIZE_MAX - sizeof(*m) - 1 ||
	    (m = malloc(sizeof(*m) + len + 1)) == NULL)
		return NULL;
	m->refs = 1;
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

void
mq_push_front(struct mq *q, struct mq_ent *e)
{
	e->next = q->head;
	q->head = e;
	if (q->tail == NULL)
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

/* FNV-1a: ids are short and chosen by peers; the table resizes. */
static size_t
hash_id(const char *s)
{
	size_t	h = 2166136261u;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

struct router *
router_new(const struct server_config *cfg)
{
	struct router	*r;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	r->cfg = cfg;
	r->nbuckets = ROUTER_BUCKETS;
	if ((r->tab = calloc(r->nbuckets, sizeof(*r->tab))) == NULL) {
		free(r);
		return NULL;
	}
	return r;
}

static void
user_free(struct router *r, struct user *u)
{
	r->queued_bytes -= u->queue.bytes;
	mq_clear(&u->queue);
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
	for (i = 0; i < r->nbuckets; i++) {
		for (u = r->tab[i]; u != NULL; u = next) {
			next = u->hnext;
			user_free(r, u);
		}
	}
	free(r->tab);
	free(r);
}

static struct user *
user_find(struct router *r, const char *id)
{
	struct user	*u;

	for (u = r->tab[hash_id(id) & (r->nbuckets - 1)]; u != NULL;
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
			u->hnext = tab[hash_id(u->id) & (n - 1)];
			tab[hash_id(u->id) & (n - 1)] = u;
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
	b = hash_id(id) & (r->nbuckets - 1);
	u->hnext = r->tab[b];
	r->tab[b] = u;
	r->nusers++;
	return u;
}

/* Free u if nothing hangs off it any more. */
static void
user_maybe_free(struct router *r, struct user *u)
{
	struct user	**pp;

	if (u->nconns > 0 || u->queue.n > 0 || u->nwatchers > 0)
		return;
	for (pp = &r->tab[hash_id(u->id) & (r->nbuckets - 1)]; *pp != u;
	    pp = &(*pp)->hnext)
		;
	*pp = u->hnext;
	r->nusers--;
	user_free(r, u);
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

int
router_attach(struct router *r, struct client *c, const char *id)
{
	struct user	*u;

	if ((u = user_get(r, id)) == NULL)
		return -2;
	if (u->nconns >= r->cfg->max_per_user) {
		user_maybe_free(r, u);
		return -1;
	}
	c->user = u;
	c->unext = u->conns;
	u->conns = c;
	if (u->nconns++ == 0) {
		r->nonline++;
		notify_presence(r, u, 1);
	}
	router_drain(r, u);
	return 0;
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
	struct mq_ent	 *e, *last = NULL;

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
	u->nconns--;
	if (u->nconns == 0 && unsent->n > 0) {
		/*
		 * Accepted but never written: back to the head of the queue,
		 * in order, even past the queue bound (the output cap bounds
		 * how much this can be).  With another connection left, that
		 * one received them already.
		 */
		log_info("user %s: %zu undelivered message(s) requeued",
		    u->id, unsent->n);
		for (e = unsent->head; e != NULL; e = e->next)
			last = e;
		last->next = u->queue.head;
		u->queue.head = unsent->head;
		if (u->queue.tail == NULL)
			u->queue.tail = last;
		u->queue.n += unsent->n;
		u->queue.bytes += unsent->bytes;
		r->queued_bytes += unsent->bytes;
		memset(unsent, 0, sizeof(*unsent));
	} else
		mq_clear(unsent);
	if (u->nconns == 0) {
		r->nonline--;
		notify_presence(r, u, 0);
	}
	user_maybe_free(r, u);
}

/* Deliver m to every live connection of u; returns how many took it. */
static size_t
deliver(struct user *u, struct msg *m)
{
	struct client	*c, *next;
	size_t		 n = 0;

	for (c = u->conns; c != NULL; c = next) {
		next = c->unext;
		if (!c->cut && client_send_msg(c, m) == 0)
			n++;
	}
	return n;
}

static int
live_conns(const struct user *u)
{
	const struct client	*c;

	for (c = u->conns; c != NULL; c = c->unext)
		if (!c->cut)
			return 1;
	return 0;
}

enum route_result
router_send(struct router *r, const char *target, struct msg *m)
{
	struct user	*u;
	struct mq_ent	*e;

	u = user_find(r, target);
	if (u != NULL && u->queue.n == 0 && live_conns(u) &&
	    deliver(u, m) > 0)
		return ROUTE_DELIVERED;
	if ((u != NULL ? u->queue.n : 0) >= r->cfg->queue_limit ||
	    r->queued_bytes + m->len > r->cfg->queue_bytes)
		return ROUTE_FULL;
	if ((u == NULL && (u = user_get(r, target)) == NULL) ||
	    (e = calloc(1, sizeof(*e))) == NULL) {
		if (u != NULL)
			user_maybe_free(r, u);
		return ROUTE_NOMEM;
	}
	e->m = msg_ref(m);
	mq_push(&u->queue, e);
	r->queued_bytes += m->len;
	router_drain(r, u);
	return ROUTE_QUEUED;
}

void
router_drain(struct router *r, struct user *u)
{
	struct client	*c;
	struct mq_ent	*e;

	while ((e = u->queue.head) != NULL && live_conns(u)) {
		/* Every live connection must have room, or all wait. */
		for (c = u->conns; c != NULL; c = c->unext)
			if (!c->cut && client_room(c) < e->m->len + 64)
				return;
		mq_pop(&u->queue);
		r->queued_bytes -= e->m->len;
		if (deliver(u, e->m) == 0) {
			/* Every connection was cut meanwhile: keep it. */
			mq_push_front(&u->queue, e);
			r->queued_bytes += e->m->len;
			return;
		}
		msg_unref(e->m);
		free(e);
	}
}

int
router_has_queue(const struct user *u)
{
	return u->queue.n > 0;
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

const char **
router_online(struct router *r, size_t *np)
{
	const char	**v;
	struct user	 *u;
	size_t		  i, n = 0;

	if ((v = malloc((r->nonline + 1) * sizeof(*v))) == NULL)
		return NULL;
	for (i = 0; i < r->nbuckets; i++)
		for (u = r->tab[i]; u != NULL; u = u->hnext)
			if (u->nconns > 0 && n < r->nonline)
				v[n++] = u->id;
	*np = n;
	return v;
}

int
router_watch(struct router *r, struct client *c,
    char (*users)[CODEC_MAX_USER + 1], size_t n)
{
	struct user	*u;
	size_t		 i, len;
	char		*p;

	unwatch_all(r, c);
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
	for (i = 0; i < n && !c->cut && !c->dead; i++) {
		u = user_find(r, users[i]);
		p = codec_presence(users[i], u != NULL && u->nconns > 0, &len);
		if (p != NULL) {
			client_send_text(c, p, len);
			free(p);
		}
	}
	return 0;
}
