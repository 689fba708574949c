/*
 * Copyright (c) 2026 The chat authors.
 *
 * presence: online state, watchers, who, and what other nodes say (see
 * presence.h).  Per user: whether it is online here (user->here, a byte
 * in struct user), and only for a user watched or online on another
 * node, a struct puser (user->pres) with the nodes it is online on and
 * the connections watching it.  An idle user online here alone costs
 * presence nothing more than that byte; "who" and the snapshots walk
 * the users table instead of a list of the online.  Loop thread only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "deliver.h"
#include "log.h"
#include "presence.h"
#include "users.h"
#include "vec.h"

#define HB_MS		1000	/* heartbeat period */
#define NODE_DEAD_MS	3000	/* a node silent this long is gone */
#define SYNC_EVERY_MS	2000	/* snapshot requests to one node */
#define MAX_REMOTE	(1 << 20) /* entries, all nodes */
#define SNAP_CHUNK	256	/* users per message */

struct rnode;

/* A user online on another node (one entry per pair). */
struct rpres {
	struct rpres	*unext;		/* same user */
	struct rpres	*nnext, *nprev;	/* same node */
	struct rnode	*node;
	struct user	*u;
	uint32_t	 gen;		/* the snapshot it was in */
};

/* Another node, from its heartbeats. */
struct rnode {
	struct rnode	*next;
	struct rpres	*entries;
	uint64_t	 heard, sync_asked;	/* sync_asked 0: never */
	size_t		 n;			/* its entries */
	uint32_t	 said;			/* its last heartbeat count */
	uint32_t	 gen;			/* its snapshot's number */
	char		 id[33];
};

/*
 * Presence's part of a user (user->pres): 40 bytes, made only while the
 * user is watched or online on another node (bench/README.md, "Memory
 * per idle connection").
 */
struct puser {
	struct user	 *u;
	struct pconn	**watchers;
	struct rpres	 *remote;	/* the nodes it is online on */
	uint32_t	  nwatchers, capwatchers;
};

#define PUSER_SIZE	40
_Static_assert(sizeof(struct puser) <= PUSER_SIZE,
    "struct puser grew: see \"Memory per idle connection\" in "
    "bench/README.md before raising PUSER_SIZE");

struct presence {
	struct users		*users;
	const struct deliver_ops *ops;
	size_t			 max_output;
	size_t			 nlocal, nonline;
	/* The "who" answer, until the online set changes. */
	char			*who;
	size_t			 wholen;
	uint64_t		 gen, who_gen;
	/* In a cluster. */
	void			(*send)(void *, const char *, size_t);
	void			*arg;
	char			 node[33];	/* ours */
	uint64_t		 now, next_hb;
	struct rnode		*nodes;
	size_t			 npres;
	int			 ready;		/* at the last tick */
	uint64_t		 self_heard;	/* our own heartbeat, back */
	void			(*joined)(void *, struct user *,
				    const char *);
	void			*joined_arg;
};

/* ---- users ---- */

static struct puser *
puser_get(struct user *u)
{
	if (u->pres == NULL) {
		if ((u->pres = calloc(1, sizeof(*u->pres))) == NULL)
			return NULL;
		u->pres->u = u;
		user_ref(u);
	}
	return u->pres;
}

static void
puser_maybe_free(struct presence *pr, struct user *u)
{
	struct puser	*p = u->pres;

	if (p == NULL || p->remote != NULL || p->nwatchers > 0)
		return;
	free(p->watchers);
	free(p);
	u->pres = NULL;
	user_unref(pr->users, u);
}

/* Room for one more watcher of p: 0 or -1. */
static int
watchers_grow(struct puser *p)
{
	size_t	cap = p->capwatchers;

	if (p->nwatchers == UINT32_MAX || vec_grow(&p->watchers, &cap,
	    (size_t)p->nwatchers + 1, sizeof(*p->watchers)) == -1)
		return -1;
	p->capwatchers = cap > UINT32_MAX ? UINT32_MAX : (uint32_t)cap;
	return 0;
}

/* Online here or on another node. */
static int
online(const struct user *u)
{
	return u->here || (u->pres != NULL && u->pres->remote != NULL);
}

/* Tell u's watchers whether it is online. */
static void
notify(struct presence *pr, struct puser *p, int online)
{
	struct pconn	**w;
	char		 *s;
	size_t		  len, i, n;

	if (p == NULL || p->nwatchers == 0)
		return;
	if ((s = codec_presence(p->u->id, online, &len)) == NULL)
		return;
	/*
	 * A watcher that cannot take it is marked and leaves after the
	 * pass, never from inside this loop; copy the list anyway, so the
	 * loop does not depend on that.
	 */
	n = p->nwatchers;
	if ((w = malloc(n * sizeof(*w))) != NULL) {
		memcpy(w, p->watchers, n * sizeof(*w));
		for (i = 0; i < n; i++)
			if (pr->ops->live(w[i]->conn))
				(void)pr->ops->send_text(w[i]->conn, s, len);
		free(w);
	}
	free(s);
}

/*
 * u was online (was) before a change: count it, tell watchers if that
 * changed.
 */
static void
changed(struct presence *pr, struct user *u, int was)
{
	int	on = online(u);

	if (on == was)
		return;
	pr->gen++;
	if (on)
		pr->nonline++;
	else
		pr->nonline--;
	notify(pr, u->pres, on);
}

/* ---- what we say to other nodes ---- */

static void
say(struct presence *pr, json_t *obj)
{
	char	*p;

	if (obj == NULL)
		return;
	if (pr->send != NULL && (p = json_dumps(obj, JSON_COMPACT)) != NULL) {
		pr->send(pr->arg, p, strlen(p));
		free(p);
	}
	json_decref(obj);
}

void
presence_local(struct presence *pr, struct user *u, int on)
{
	int	was;

	on = on != 0;
	if (u->here == on)
		return;
	was = online(u);
	u->here = (uint8_t)on;
	if (on)
		pr->nlocal++;
	else
		pr->nlocal--;
	changed(pr, u, was);
	/* Alone (no cluster), nobody hears it: nothing to build. */
	if (pr->send != NULL)
		say(pr, json_pack("{s:s, s:[s]}", "node", pr->node,
		    on ? "on" : "off", u->id));
}

/* presence_snapshot()'s walk: the chunk being filled. */
struct snap {
	struct presence	*pr;
	json_t		*arr;
	size_t		 left;		/* local users to go */
	int		 first;
};

/* Say the chunk in sn (the last one if end) and start another. */
static void
snap_say(struct snap *sn, int end)
{
	json_t	*o;

	o = json_pack("{s:s, s:o}", "node", sn->pr->node, "on", sn->arr);
	if (o != NULL && sn->first)
		json_object_set_new(o, "reset", json_true());
	if (o != NULL && end)
		json_object_set_new(o, "end", json_true());
	sn->first = 0;
	say(sn->pr, o);
	sn->arr = end ? NULL : json_array();
}

static void
snap_user(struct user *u, void *arg)
{
	struct snap	*sn = arg;

	if (!u->here || sn->arr == NULL || sn->left == 0)
		return;
	json_array_append_new(sn->arr, json_string(u->id));
	/* The last one met ends the last chunk: no empty chunk after it. */
	if (--sn->left == 0)
		snap_say(sn, 1);
	else if (json_array_size(sn->arr) >= SNAP_CHUNK)
		snap_say(sn, 0);
}

void
presence_snapshot(struct presence *pr)
{
	struct snap	sn = { pr, NULL, pr->nlocal, 1 };

	/* {"reset":true,"on":[...]}, {"on":[...]}..., the last with "end". */
	if ((sn.arr = json_array()) != NULL)
		users_each(pr->users, snap_user, &sn);
	if (sn.arr != NULL)
		snap_say(&sn, 1);
	pr->next_hb = 0;
}

/* ---- what other nodes say ---- */

static struct rnode *
node_find(struct presence *pr, const char *id, int create)
{
	struct rnode	*n;

	for (n = pr->nodes; n != NULL; n = n->next)
		if (strcmp(n->id, id) == 0)
			return n;
	if (!create || strlen(id) >= sizeof(n->id) ||
	    (n = calloc(1, sizeof(*n))) == NULL)
		return NULL;
	memcpy(n->id, id, strlen(id) + 1);
	n->next = pr->nodes;
	pr->nodes = n;
	log_info("cluster: node %s joined", n->id);
	return n;
}

/* A user id as it may come from another node. */
static int
valid_user(const char *u)
{
	return codec_valid_user(u, strlen(u));
}

static void
rpres_add(struct presence *pr, struct rnode *n, const char *id)
{
	struct user	*u;
	struct puser	*p;
	struct rpres	*e;
	int		 was;

	if (!valid_user(id) || (u = users_get(pr->users, id)) == NULL ||
	    (p = puser_get(u)) == NULL)
		return;
	was = online(u);
	for (e = p->remote; e != NULL; e = e->unext) {
		if (e->node == n) {
			e->gen = n->gen;	/* still there */
			return;
		}
	}
	if (pr->npres >= MAX_REMOTE || (e = calloc(1, sizeof(*e))) == NULL) {
		puser_maybe_free(pr, u);
		return;
	}
	e->node = n;
	e->u = u;
	e->gen = n->gen;
	e->unext = p->remote;
	p->remote = e;
	if ((e->nnext = n->entries) != NULL)
		n->entries->nprev = e;
	n->entries = e;
	n->n++;
	pr->npres++;
	changed(pr, u, was);
	if (pr->joined != NULL)
		pr->joined(pr->joined_arg, u, n->id);
}

/* Drop e; its user may now be offline everywhere. */
static void
rpres_drop(struct presence *pr, struct rpres *e)
{
	struct user	*u = e->u;		/* freed only by users_reap() */
	struct puser	*p = u->pres;
	struct rpres	**pp;
	struct rnode	*n = e->node;

	for (pp = &p->remote; *pp != e; pp = &(*pp)->unext)
		;
	*pp = e->unext;
	if (e->nprev != NULL)
		e->nprev->nnext = e->nnext;
	else
		n->entries = e->nnext;
	if (e->nnext != NULL)
		e->nnext->nprev = e->nprev;
	n->n--;
	pr->npres--;
	free(e);
	changed(pr, u, 1);
	puser_maybe_free(pr, u);
}

static void
rpres_del(struct presence *pr, struct rnode *n, const char *id)
{
	struct user	*u;
	struct rpres	*e;

	if ((u = users_find(pr->users, id)) == NULL || u->pres == NULL)
		return;
	for (e = u->pres->remote; e != NULL; e = e->unext) {
		if (e->node == n) {
			rpres_drop(pr, e);
			return;
		}
	}
}

/*
 * Forget the users of node n that were not in its latest snapshot
 * (stale), or all of them (the node is gone).
 */
static void
node_sweep(struct presence *pr, struct rnode *n, int stale)
{
	struct rpres	*e, *next;

	for (e = n->entries; e != NULL; e = next) {
		next = e->nnext;
		if (!stale || e->gen != n->gen)
			rpres_drop(pr, e);
	}
}

void
presence_input(struct presence *pr, const char *data, size_t len,
    uint64_t now, int ready)
{
	json_t		*root, *v, *arr;
	json_error_t	 jerr;
	struct rnode	*n;
	const char	*id;
	size_t		 i;
	int		 on;

	pr->now = now;
	root = json_loadb(data, len, 0, &jerr);
	if (root == NULL || !json_is_string(json_object_get(root, "node")))
		goto out;
	id = json_string_value(json_object_get(root, "node"));
	if (strcmp(id, pr->node) == 0) {
		/*
		 * Our own heartbeat, back through NATS: NATS delivers.  If it
		 * had stopped for a while (a stalled server, not a lost
		 * connection), nobody could be heard meanwhile: each node
		 * gets its full time again.
		 */
		if (json_object_get(root, "hb") != NULL) {
			if (pr->self_heard != 0 &&
			    now - pr->self_heard > 2 * HB_MS)
				for (n = pr->nodes; n != NULL; n = n->next)
					n->heard = now;
			pr->self_heard = now;
		}
		goto out;
	}
	if ((v = json_object_get(root, "sync")) != NULL) {
		if (json_is_string(v) && strcmp(json_string_value(v),
		    pr->node) == 0 && ready)
			presence_snapshot(pr);
		goto out;
	}
	if ((n = node_find(pr, id, 1)) == NULL)
		goto out;
	n->heard = pr->now;
	/*
	 * A snapshot: what it does not name again goes at its end, so a
	 * user in it never looks offline in between.
	 */
	if (json_is_true(json_object_get(root, "reset")))
		n->gen++;
	for (on = 1; on >= 0; on--) {
		arr = json_object_get(root, on ? "on" : "off");
		for (i = 0; i < json_array_size(arr); i++) {
			v = json_array_get(arr, i);
			if (!json_is_string(v))
				continue;
			if (on)
				rpres_add(pr, n, json_string_value(v));
			else
				rpres_del(pr, n, json_string_value(v));
		}
	}
	if (json_is_true(json_object_get(root, "end")))
		node_sweep(pr, n, 1);
	if ((v = json_object_get(root, "hb")) != NULL && json_is_integer(v)) {
		n->said = (uint32_t)json_integer_value(v);
		/* We missed something (joined late, lost NATS): ask. */
		if (n->said != n->n && (n->sync_asked == 0 ||
		    pr->now - n->sync_asked >= SYNC_EVERY_MS)) {
			n->sync_asked = pr->now;
			say(pr, json_pack("{s:s, s:s}", "node", pr->node,
			    "sync", n->id));
		}
	}
out:
	json_decref(root);
}

void
presence_tick(struct presence *pr, uint64_t now, int ready)
{
	struct rnode	**pp, *n;
	int		  deaf;

	pr->now = now;
	/*
	 * NATS away: we hear nobody, which says nothing about them (issue
	 * 20: users who never left went offline after every outage).  Back:
	 * each node gets its full time again to say something.
	 */
	if (ready && !pr->ready)
		for (n = pr->nodes; n != NULL; n = n->next)
			n->heard = now;
	pr->ready = ready;
	/*
	 * A node is gone when it was silent while NATS carried our own
	 * heartbeats: not while we cannot hear ourselves either.
	 */
	deaf = pr->send != NULL && pr->self_heard != 0 &&
	    now > pr->self_heard && now - pr->self_heard > 2 * HB_MS;
	for (pp = &pr->nodes; ready && !deaf && (n = *pp) != NULL; ) {
		/* Heard after now was read (a stamp of the pass): alive. */
		if (n->heard >= pr->now || pr->now - n->heard < NODE_DEAD_MS) {
			pp = &n->next;
			continue;
		}
		log_info("cluster: node %s silent for %d s: its %zu user(s) "
		    "are offline", n->id, NODE_DEAD_MS / 1000, n->n);
		node_sweep(pr, n, 0);
		*pp = n->next;
		free(n);
	}
	if (ready && pr->send != NULL && pr->now >= pr->next_hb) {
		say(pr, json_pack("{s:s, s:I}", "node", pr->node, "hb",
		    (json_int_t)pr->nlocal));
		pr->next_hb = pr->now + HB_MS;
	}
}

void
presence_on_join(struct presence *pr,
    void (*cb)(void *, struct user *, const char *), void *arg)
{
	pr->joined = cb;
	pr->joined_arg = arg;
}

size_t
presence_nodes_of(const struct user *u, const char **ids, size_t max)
{
	const struct rpres	*e;
	size_t			 n = 0;

	for (e = u->pres != NULL ? u->pres->remote : NULL; e != NULL &&
	    n < max; e = e->unext)
		ids[n++] = e->node->id;
	return n;
}

int
presence_remote(const struct presence *pr, const struct user *u)
{
	return u->pres != NULL && u->pres->remote != NULL;
}

size_t
presence_nlocal(const struct presence *pr)
{
	return pr->nlocal;
}

size_t
presence_nonline(const struct presence *pr)
{
	return pr->nonline;
}

size_t
presence_nremote(const struct presence *pr)
{
	return pr->npres;
}

size_t
presence_nodes(const struct presence *pr)
{
	const struct rnode	*n;
	size_t			 k = 0;

	for (n = pr->nodes; n != NULL; n = n->next)
		k++;
	return k;
}

/* ---- watchers ---- */

static void
unwatch_one(struct presence *pr, struct pconn *pc, struct user *u)
{
	struct puser	*p = u->pres;
	uint32_t	 j;

	for (j = 0; p != NULL && j < p->nwatchers; j++) {
		if (p->watchers[j] == pc) {
			p->watchers[j] = p->watchers[--p->nwatchers];
			break;
		}
	}
	puser_maybe_free(pr, u);
	user_unref(pr->users, u);
}

void
presence_unwatch(struct presence *pr, struct pconn *pc)
{
	uint16_t	i;

	for (i = 0; i < pc->nwatch; i++)
		unwatch_one(pr, pc, pc->watch[i]);
	free(pc->watch);
	pc->watch = NULL;
	pc->nwatch = 0;
}

int
presence_watch(struct presence *pr, struct pconn *pc,
    char (*ids)[CODEC_MAX_USER + 1], size_t n)
{
	struct user	*u;
	struct puser	*p;
	char		*s;
	size_t		 i, j, len;

	presence_unwatch(pr, pc);
	if (n == 0)
		return 0;
	if ((pc->watch = calloc(n, sizeof(*pc->watch))) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		/* An id listed again is watched once (issue 14.2). */
		for (j = 0; j < i; j++)
			if (strcmp(ids[j], ids[i]) == 0)
				break;
		if (j < i)
			continue;
		if ((u = users_get(pr->users, ids[i])) == NULL ||
		    (p = puser_get(u)) == NULL || watchers_grow(p) == -1) {
			if (u != NULL)
				puser_maybe_free(pr, u);
			presence_unwatch(pr, pc);
			return -1;
		}
		user_ref(u);
		p->watchers[p->nwatchers++] = pc;
		pc->watch[pc->nwatch++] = u;
	}
	/* Then the current state of each, in order. */
	for (i = 0; i < pc->nwatch && pr->ops->live(pc->conn); i++) {
		s = codec_presence(pc->watch[i]->id, online(pc->watch[i]),
		    &len);
		if (s != NULL)
			(void)pr->ops->send_text(pc->conn, s, len);
		free(s);
	}
	return 0;
}

/* ---- who ---- */

/* presence_who()'s walk: the ids so far. */
struct who {
	const char	**v;
	size_t		  n, max, bytes, limit;
	int		  cut;
};

static void
who_user(struct user *u, void *arg)
{
	struct who	*w = arg;

	if (w->cut || w->n >= w->max || !online(u))
		return;
	/*
	 * The answer must fit half the output cap, or asking would get a
	 * reader cut off: cut the list instead and say so.
	 */
	w->bytes += strlen(u->id) + 3;
	if (w->bytes > w->limit) {
		w->cut = 1;
		return;
	}
	w->v[w->n++] = u->id;
}

/*
 * Built only after a change, and written directly by the codec: with
 * 3,000 users online, two "who" in flight used to take the server to
 * 94% of a core (issue 14.3).  It walks every interned user, online or
 * not: the price of keeping no list of the online (16 bytes a user).
 */
const char *
presence_who(struct presence *pr, size_t *lenp)
{
	struct who	 w = { NULL, 0, 0, 64, 0, 0 };
	char		*s;

	if (pr->who != NULL && pr->who_gen == pr->gen) {
		*lenp = pr->wholen;
		return pr->who;
	}
	if ((w.v = calloc(pr->nonline + 1, sizeof(*w.v))) == NULL)
		return NULL;
	w.max = pr->nonline;
	w.limit = pr->max_output / 2;
	users_each(pr->users, who_user, &w);
	s = codec_who(w.v, w.n, w.cut, lenp);
	free(w.v);
	if (s == NULL)
		return NULL;
	free(pr->who);
	pr->who = s;
	pr->wholen = *lenp;
	pr->who_gen = pr->gen;
	return s;
}

/* ---- life cycle ---- */

struct presence *
presence_new(struct users *us, const struct deliver_ops *ops,
    size_t max_output)
{
	struct presence	*pr;

	if ((pr = calloc(1, sizeof(*pr))) == NULL)
		return NULL;
	pr->users = us;
	pr->ops = ops;
	pr->max_output = max_output;
	return pr;
}

void
presence_cluster(struct presence *pr, const char *node,
    void (*send)(void *, const char *, size_t), void *arg)
{
	snprintf(pr->node, sizeof(pr->node), "%s", node);
	pr->send = send;
	pr->arg = arg;
}

void
presence_free(struct presence *pr)
{
	struct rnode	*n;

	if (pr == NULL)
		return;
	while ((n = pr->nodes) != NULL) {
		node_sweep(pr, n, 0);
		pr->nodes = n->next;
		free(n);
	}
	free(pr->who);
	free(pr);
}
