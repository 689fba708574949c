/*
 * Copyright (c) 2026 The chat authors.
 *
 * presence: who is online on the other nodes of a cluster, from what
 * they say on chat.presence (see presence.h).  Loop thread only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "codec.h"
#include "log.h"
#include "presence.h"
#include "server.h"
#include "util.h"

#define HB_MS		1000	/* heartbeat period */
#define NODE_DEAD_MS	3000	/* a node silent this long is gone */
#define SYNC_EVERY_MS	2000	/* snapshot requests to one node */
#define MAX_REMOTE	(1 << 20) /* entries, all nodes */
#define SNAP_CHUNK	256	/* users per message */
#define PRES_BUCKETS	4096	/* power of two */

/* Another node, from its heartbeats. */
struct rnode {
	struct rnode	*next;
	uint64_t	 heard, sync_asked;	/* sync_asked 0: never */
	size_t		 n;			/* its entries here */
	uint32_t	 said;			/* its last heartbeat count */
	uint32_t	 gen;			/* its snapshot's number */
	char		 id[33];
};

/* A user online on a node (one entry per pair). */
struct rpres {
	struct rpres	*hnext;
	struct rnode	*node;
	uint32_t	 gen;			/* the snapshot it was in */
	char		 user[];
};

struct presence {
	struct router	*router;
	void		(*send)(void *, const char *, size_t);
	void		*arg;
	char		 node[33];		/* ours */
	uint64_t	 now, next_hb;
	struct rnode	*nodes;
	struct rpres	*tab[PRES_BUCKETS];
	size_t		 npres;
};

/* A user id as it may come from another node. */
static int
valid_user(const char *u)
{
	size_t	n = strlen(u);

	return n > 0 && n <= CODEC_MAX_USER;
}

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

static int
pres_any(const struct presence *pr, const char *user)
{
	const struct rpres	*p;

	for (p = pr->tab[util_hash_str(user) & (PRES_BUCKETS - 1)];
	    p != NULL; p = p->hnext)
		if (strcmp(p->user, user) == 0)
			return 1;
	return 0;
}

static void
pres_add(struct presence *pr, struct rnode *n, const char *user)
{
	struct rpres	*p, **head;
	int		 was;

	if (!valid_user(user))
		return;
	head = &pr->tab[util_hash_str(user) & (PRES_BUCKETS - 1)];
	was = 0;
	for (p = *head; p != NULL; p = p->hnext) {
		if (strcmp(p->user, user) == 0) {
			if (p->node == n) {
				p->gen = n->gen;	/* still there */
				return;
			}
			was = 1;
		}
	}
	if (pr->npres >= MAX_REMOTE ||
	    (p = malloc(sizeof(*p) + strlen(user) + 1)) == NULL)
		return;
	memcpy(p->user, user, strlen(user) + 1);
	p->node = n;
	p->gen = n->gen;
	p->hnext = *head;
	*head = p;
	pr->npres++;
	n->n++;
	if (!was)
		router_cl_presence(pr->router, user, 1);
}

/* Unlink entry p (at *pp); its user may now be offline everywhere. */
static void
pres_unlink(struct presence *pr, struct rpres **pp, struct rpres *p)
{
	char	id[CODEC_MAX_USER + 1];

	*pp = p->hnext;
	pr->npres--;
	p->node->n--;
	memcpy(id, p->user, strlen(p->user) + 1);
	free(p);
	if (!pres_any(pr, id))
		router_cl_presence(pr->router, id, 0);
}

static void
pres_del(struct presence *pr, struct rnode *n, const char *user)
{
	struct rpres	**pp, *p;

	for (pp = &pr->tab[util_hash_str(user) & (PRES_BUCKETS - 1)];
	    (p = *pp) != NULL; pp = &p->hnext) {
		if (p->node == n && strcmp(p->user, user) == 0) {
			pres_unlink(pr, pp, p);
			return;
		}
	}
}

/*
 * Forget the users of node n that were not in its latest snapshot
 * (stale), or all of them (the node is gone).
 */
static void
pres_sweep(struct presence *pr, struct rnode *n, int stale)
{
	struct rpres	*p, **pp;
	size_t		  i;

	for (i = 0; i < PRES_BUCKETS && n->n > 0; i++) {
		for (pp = &pr->tab[i]; (p = *pp) != NULL; ) {
			if (p->node == n && (!stale || p->gen != n->gen))
				pres_unlink(pr, pp, p);
			else
				pp = &p->hnext;
		}
	}
}

static void
pres_send(struct presence *pr, json_t *obj)
{
	char	*p;

	if (obj == NULL)
		return;
	if ((p = json_dumps(obj, JSON_COMPACT)) != NULL) {
		pr->send(pr->arg, p, strlen(p));
		free(p);
	}
	json_decref(obj);
}

void
presence_snapshot(struct presence *pr)
{
	const char	**v;
	json_t		 *arr, *o;
	size_t		  n, i = 0;

	if ((v = router_local_users(pr->router, &n)) == NULL)
		return;
	/* {"reset":true,"on":[...]}, {"on":[...]}..., the last with "end". */
	do {
		if ((arr = json_array()) == NULL)
			break;
		for (; i < n && json_array_size(arr) < SNAP_CHUNK; i++)
			json_array_append_new(arr, json_string(v[i]));
		o = json_pack("{s:s, s:o}", "node", pr->node, "on", arr);
		if (o != NULL && i <= SNAP_CHUNK)
			json_object_set_new(o, "reset", json_true());
		if (o != NULL && i == n)
			json_object_set_new(o, "end", json_true());
		pres_send(pr, o);
	} while (i < n);
	free(v);
	pr->next_hb = 0;
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
	if (strcmp(id, pr->node) == 0)
		goto out;		/* our own */
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
				pres_add(pr, n, json_string_value(v));
			else
				pres_del(pr, n, json_string_value(v));
		}
	}
	if (json_is_true(json_object_get(root, "end")))
		pres_sweep(pr, n, 1);
	if ((v = json_object_get(root, "hb")) != NULL && json_is_integer(v)) {
		n->said = (uint32_t)json_integer_value(v);
		/* We missed something (joined late, lost NATS): ask. */
		if (n->said != n->n && (n->sync_asked == 0 ||
		    pr->now - n->sync_asked >= SYNC_EVERY_MS)) {
			n->sync_asked = pr->now;
			pres_send(pr, json_pack("{s:s, s:s}", "node",
			    pr->node, "sync", n->id));
		}
	}
out:
	json_decref(root);
}

void
presence_tick(struct presence *pr, uint64_t now, int ready)
{
	struct rnode	**pp, *n;

	pr->now = now;
	for (pp = &pr->nodes; (n = *pp) != NULL; ) {
		if (pr->now - n->heard < NODE_DEAD_MS) {
			pp = &n->next;
			continue;
		}
		log_info("cluster: node %s silent for %d s: its %zu user(s) "
		    "are offline", n->id, NODE_DEAD_MS / 1000, n->n);
		pres_sweep(pr, n, 0);
		*pp = n->next;
		free(n);
	}
	if (ready && pr->now >= pr->next_hb) {
		pres_send(pr, json_pack("{s:s, s:I}", "node", pr->node,
		    "hb", (json_int_t)router_nonline(pr->router)));
		pr->next_hb = pr->now + HB_MS;
	}
}

int
presence_remote(const struct presence *pr, const char *user)
{
	return pres_any(pr, user);
}

size_t
presence_remote_users(const struct presence *pr, const char **v,
    size_t max)
{
	const struct rpres	*p, *q;
	size_t			 i, n = 0;

	for (i = 0; i < PRES_BUCKETS && n < max; i++) {
		for (p = pr->tab[i]; p != NULL && n < max; p = p->hnext) {
			/* Each user once: its first entry in the chain. */
			for (q = pr->tab[i]; q != p; q = q->hnext)
				if (strcmp(q->user, p->user) == 0)
					break;
			if (q == p)
				v[n++] = p->user;
		}
	}
	return n;
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

struct presence *
presence_new(struct router *r, const char *node,
    void (*send)(void *, const char *, size_t), void *arg)
{
	struct presence	*pr;

	if ((pr = calloc(1, sizeof(*pr))) == NULL)
		return NULL;
	pr->router = r;
	pr->send = send;
	pr->arg = arg;
	snprintf(pr->node, sizeof(pr->node), "%s", node);
	return pr;
}

void
presence_free(struct presence *pr)
{
	struct rnode	*n;
	struct rpres	*p, *next;
	size_t		 i;

	if (pr == NULL)
		return;
	while ((n = pr->nodes) != NULL) {
		pr->nodes = n->next;
		free(n);
	}
	for (i = 0; i < PRES_BUCKETS; i++) {
		for (p = pr->tab[i]; p != NULL; p = next) {
			next = p->hnext;
			free(p);
		}
	}
	free(pr);
}

void
presence_local(struct presence *pr, const char *user, int online)
{
	pres_send(pr, json_pack("{s:s, s:[s]}", "node", pr->node,
	    online ? "on" : "off", user));
}
