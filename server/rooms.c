/*
 * Copyright (c) 2026 The chat authors.
 *
 * rooms: memberships (see rooms.h), and the memory store.
 *
 * A room is found by name in a table; it holds its members in an array
 * (a message goes to each of them), and each user its rooms in a list
 * (--user-rooms of them at most, so asking whether a user is in a room
 * walks a short list).  A join or leave is checked, handed to the store
 * and applied when the store says it is kept: until then it counts
 * against the limits (a join reserves its place) but changes nothing,
 * so no message goes to a member the store does not know.  A room made
 * for a join in flight has no member yet and is not listed; it goes
 * when its last member leaves and nothing is in flight for it.
 *
 * Every membership holds a reference on its user; nothing here is
 * freed under a caller: the events are called with the room still
 * there, and it is freed after them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "log.h"
#include "rooms.h"
#include "table.h"
#include "users.h"
#include "vec.h"

struct membership {
	struct membership	*unext;		/* the user's other rooms */
	struct room		*room;
	struct user		*u;		/* referenced */
	size_t			 idx;		/* in room->m */
	uint64_t		 gen;		/* the sync that saw it */
};

struct room {
	struct table_node	  node;
	struct membership	**m;
	size_t			  n, cap;
	size_t			  joining;	/* joins in flight */
	char			  name[];
};

/* A join or leave handed to the store. */
struct op {
	struct op	*prev, *next;
	struct user	*u;		/* referenced */
	void		*tag;
	int		 join;
	char		 room[CODEC_MAX_ROOM + 1];
};

struct rooms {
	struct rooms_config	 cfg;
	struct users		*users;
	struct rooms_store	*st;
	struct rooms_events	 ev;
	struct table		 byname;
	struct op		*ops;
	size_t			 nmember;
	uint64_t		 gen;		/* of the last sync */
	int			 ready;
};

#define STORE_OPS(st)	(((struct rooms_store_base *)(void *)(st))->ops)

/* ---- rooms and memberships ---- */

struct room *
rooms_find(const struct rooms *rs, const char *name)
{
	struct table_node	*n;

	if ((n = table_find(&rs->byname, name)) == NULL)
		return NULL;
	return TABLE_ENTRY(n, struct room, node);
}

static struct room *
room_get(struct rooms *rs, const char *name)
{
	struct room	*r;
	size_t		 len = strlen(name);

	if ((r = rooms_find(rs, name)) != NULL)
		return r;
	if (len > CODEC_MAX_ROOM || (r = calloc(1, sizeof(*r) + len + 1)) ==
	    NULL)
		return NULL;
	memcpy(r->name, name, len + 1);
	if (table_insert(&rs->byname, &r->node) == -1) {
		free(r);
		return NULL;
	}
	return r;
}

static void
room_maybe_free(struct rooms *rs, struct room *r)
{
	if (r == NULL || r->n > 0 || r->joining > 0)
		return;
	table_remove(&rs->byname, &r->node);
	free(r->m);
	free(r);
}

static struct membership *
member_of(const struct room *r, const struct user *u)
{
	struct membership	*ms;

	for (ms = u->rooms; ms != NULL; ms = ms->unext)
		if (ms->room == r)
			return ms;
	return NULL;
}

int
room_has(const struct room *r, const struct user *u)
{
	return member_of(r, u) != NULL;
}

const char *
room_name(const struct room *r)
{
	return r->name;
}

size_t
room_size(const struct room *r)
{
	return r->n;
}

struct user *
room_member(const struct room *r, size_t i)
{
	return i < r->n ? r->m[i]->u : NULL;
}

size_t
rooms_of(const struct rooms *rs, const struct user *u, struct room **out,
    size_t max)
{
	struct membership	*ms;
	size_t			 n = 0;

	for (ms = u->rooms; ms != NULL; ms = ms->unext) {
		if (n < max)
			out[n] = ms->room;
		n++;
	}
	return n;
}

size_t
rooms_count(const struct rooms *rs)
{
	struct table_iter	 it;
	struct table_node	*n;
	size_t			 c = 0;

	table_iter_init(&it);
	while ((n = table_iter_next(&rs->byname, &it)) != NULL)
		if (TABLE_ENTRY(n, struct room, node)->n > 0)
			c++;
	return c;
}

size_t
rooms_memberships(const struct rooms *rs)
{
	return rs->nmember;
}

/* Add u to r (not a member yet).  0 or -1 (no memory). */
static int
member_add(struct rooms *rs, struct room *r, struct user *u)
{
	struct membership	*ms;

	if (vec_grow(&r->m, &r->cap, r->n + 1, sizeof(*r->m)) == -1 ||
	    (ms = calloc(1, sizeof(*ms))) == NULL)
		return -1;
	ms->room = r;
	ms->u = u;
	ms->idx = r->n;
	ms->gen = rs->gen;
	r->m[r->n++] = ms;
	ms->unext = u->rooms;
	u->rooms = ms;
	u->nrooms++;
	user_ref(u);
	rs->nmember++;
	return 0;
}

/* Take ms out of its room and user, then tell, then free it. */
static void
member_del(struct rooms *rs, struct membership *ms, void *tag)
{
	struct room		*r = ms->room;
	struct user		*u = ms->u;
	struct membership	**pp;

	r->m[ms->idx] = r->m[--r->n];
	r->m[ms->idx]->idx = ms->idx;
	for (pp = &u->rooms; *pp != ms; pp = &(*pp)->unext)
		;
	*pp = ms->unext;
	u->nrooms--;
	rs->nmember--;
	free(ms);
	rs->ev.changed(rs->ev.arg, r, u, 0, tag);
	user_unref(rs->users, u);
}

/*
 * The store keeps (join) or dropped u's membership of name: apply it
 * and tell.  The room stays (a caller may still use it): the caller
 * frees it if it is left empty.
 */
static struct room *
apply(struct rooms *rs, const char *name, struct user *u, int join,
    void *tag)
{
	struct membership	*ms;
	struct room		*r;

	if (!join) {
		if ((r = rooms_find(rs, name)) != NULL &&
		    (ms = member_of(r, u)) != NULL)
			member_del(rs, ms, tag);
		return r;
	}
	if ((r = room_get(rs, name)) == NULL) {
		log_warn("rooms: out of memory: %s not shown in %s", u->id,
		    name);
		return NULL;
	}
	if ((ms = member_of(r, u)) != NULL) {
		ms->gen = rs->gen;
		return r;
	}
	/* A store kept under a larger --user-rooms, or another node's. */
	if (u->nrooms >= USER_MAX_ROOMS) {
		log_warn("rooms: %s is in %u rooms already: not shown in %s",
		    u->id, (unsigned)u->nrooms, name);
		return r;
	}
	if (member_add(rs, r, u) == -1) {
		log_warn("rooms: out of memory: %s not shown in %s", u->id,
		    name);
		return r;
	}
	rs->ev.changed(rs->ev.arg, r, u, 1, tag);
	return r;
}

/* ---- asking ---- */

static struct op *
op_new(struct rooms *rs, struct user *u, const char *room, int join,
    void *tag)
{
	struct op	*op;

	if ((op = calloc(1, sizeof(*op))) == NULL)
		return NULL;
	op->u = u;
	op->tag = tag;
	op->join = join;
	snprintf(op->room, sizeof(op->room), "%s", room);
	user_ref(u);
	if ((op->next = rs->ops) != NULL)
		rs->ops->prev = op;
	rs->ops = op;
	return op;
}

static void
op_free(struct rooms *rs, struct op *op)
{
	if (op->prev != NULL)
		op->prev->next = op->next;
	else
		rs->ops = op->next;
	if (op->next != NULL)
		op->next->prev = op->prev;
	user_unref(rs->users, op->u);
	free(op);
}

enum rooms_status
rooms_join(struct rooms *rs, struct user *u, const char *name, void *tag)
{
	struct room		*r = rooms_find(rs, name);
	struct op		*op;
	enum rooms_status	 st;

	if (r != NULL && room_has(r, u))
		return ROOMS_OK;
	if (!rs->ready)
		return ROOMS_CLUSTER;
	if ((size_t)u->nrooms + u->njoining >= rs->cfg.max_rooms)
		return ROOMS_TOO_MANY;
	if (r != NULL && r->n + r->joining >= rs->cfg.max_members)
		return ROOMS_FULL;
	if ((r = room_get(rs, name)) == NULL ||
	    (op = op_new(rs, u, name, 1, tag)) == NULL) {
		room_maybe_free(rs, r);
		return ROOMS_NOMEM;
	}
	st = STORE_OPS(rs->st)->put(rs->st, name, u->id, 1, op);
	if (st != ROOMS_PENDING) {
		op_free(rs, op);
		room_maybe_free(rs, r);
		return st;
	}
	r->joining++;
	u->njoining++;
	return ROOMS_PENDING;
}

enum rooms_status
rooms_leave(struct rooms *rs, struct user *u, const char *name, void *tag)
{
	struct room		*r = rooms_find(rs, name);
	struct op		*op;
	enum rooms_status	 st;

	if (r == NULL || !room_has(r, u))
		return ROOMS_NOT_MEMBER;
	if (!rs->ready)
		return ROOMS_CLUSTER;
	if ((op = op_new(rs, u, name, 0, tag)) == NULL)
		return ROOMS_NOMEM;
	st = STORE_OPS(rs->st)->put(rs->st, name, u->id, 0, op);
	if (st != ROOMS_PENDING) {
		op_free(rs, op);
		return st;
	}
	return ROOMS_PENDING;
}

void
rooms_commit(struct rooms *rs)
{
	if (STORE_OPS(rs->st)->commit != NULL)
		STORE_OPS(rs->st)->commit(rs->st);
}

void
rooms_tick(struct rooms *rs, uint64_t now)
{
	if (STORE_OPS(rs->st)->tick != NULL)
		STORE_OPS(rs->st)->tick(rs->st, now);
}

int
rooms_ready(const struct rooms *rs)
{
	return rs->ready;
}

const char *
rooms_status_str(enum rooms_status st)
{
	switch (st) {
	case ROOMS_OK:
		return "ok";
	case ROOMS_PENDING:
		return "pending";
	case ROOMS_NOT_MEMBER:
		return "not a member";
	case ROOMS_FULL:
		return "room full";
	case ROOMS_TOO_MANY:
		return "too many rooms";
	case ROOMS_UNAVAILABLE:
		return "store unavailable";
	case ROOMS_CLUSTER:
		return "cluster unavailable";
	case ROOMS_NOMEM:
		return "out of memory";
	}
	return "?";
}

/* ---- what the store says ---- */

static void
st_done(void *arg, void *tag, enum rooms_status st)
{
	struct rooms	*rs = arg;
	struct op	*op = tag;
	struct room	*r = NULL, *joined = NULL;

	if (op->join && (joined = rooms_find(rs, op->room)) != NULL) {
		joined->joining--;
		op->u->njoining--;
	}
	if (st == ROOMS_OK)
		r = apply(rs, op->room, op->u, op->join, op->tag);
	rs->ev.done(rs->ev.arg, op->tag, st, op->room, op->u);
	room_maybe_free(rs, joined);
	if (r != joined)
		room_maybe_free(rs, r);
	op_free(rs, op);
}

static void
st_set(void *arg, const char *room, const char *user, int joined)
{
	struct rooms	*rs = arg;
	struct user	*u;

	if (!codec_valid_room(room, strlen(room)) ||
	    !codec_valid_user(user, strlen(user))) {
		log_warn("rooms: the store holds a membership that is not "
		    "valid: ignored");
		return;
	}
	if ((u = users_get(rs->users, user)) == NULL) {
		log_warn("rooms: out of memory: %s not shown in %s", user,
		    room);
		return;
	}
	room_maybe_free(rs, apply(rs, room, u, joined, NULL));
}

/* A full list follows (begin) or ended: who it did not name left. */
static void
st_sync(void *arg, int begin)
{
	struct rooms		*rs = arg;
	struct table_iter	 it;
	struct table_node	*n;
	struct room		*r;
	size_t			 i;

	if (begin) {
		rs->gen++;
		return;
	}
	table_iter_init(&it);
	while ((n = table_iter_next(&rs->byname, &it)) != NULL) {
		r = TABLE_ENTRY(n, struct room, node);
		for (i = r->n; i-- > 0;)
			if (i < r->n && r->m[i]->gen != rs->gen)
				member_del(rs, r->m[i], NULL);
		room_maybe_free(rs, r);
	}
}

static void
st_ready(void *arg, int ready)
{
	struct rooms	*rs = arg;

	rs->ready = ready;
}

/* ---- life cycle ---- */

struct rooms *
rooms_open(const struct rooms_config *cfg, struct users *us,
    struct rooms_store *st, const struct rooms_events *ev, char *err,
    size_t errlen)
{
	struct rooms_store_events	 sev;
	struct rooms			*rs;

	if (st == NULL) {
		snprintf(err, errlen, "rooms: no store");
		return NULL;
	}
	if ((rs = calloc(1, sizeof(*rs))) == NULL) {
		STORE_OPS(st)->close(st);
		snprintf(err, errlen, "rooms: out of memory");
		return NULL;
	}
	rs->cfg = *cfg;
	rs->users = us;
	rs->st = st;
	rs->ev = *ev;
	table_init(&rs->byname, (ptrdiff_t)offsetof(struct room, name) -
	    (ptrdiff_t)offsetof(struct room, node), 0);
	memset(&sev, 0, sizeof(sev));
	sev.arg = rs;
	sev.done = st_done;
	sev.set = st_set;
	sev.sync = st_sync;
	sev.ready = st_ready;
	if (STORE_OPS(st)->start(st, &sev, err, errlen) == -1) {
		rooms_close(rs);
		return NULL;
	}
	return rs;
}

void
rooms_close(struct rooms *rs)
{
	struct table_iter	 it;
	struct table_node	*n;
	struct room		*r;
	size_t			 i;

	if (rs == NULL)
		return;
	/* Its answers come back through st_done(), while all is there. */
	STORE_OPS(rs->st)->close(rs->st);
	while (rs->ops != NULL)
		op_free(rs, rs->ops);
	table_iter_init(&it);
	while ((n = table_iter_next(&rs->byname, &it)) != NULL) {
		r = TABLE_ENTRY(n, struct room, node);
		for (i = 0; i < r->n; i++) {
			r->m[i]->u->rooms = NULL;
			r->m[i]->u->nrooms = 0;
			user_unref(rs->users, r->m[i]->u);
			free(r->m[i]);
		}
		table_remove(&rs->byname, n);
		free(r->m);
		free(r);
	}
	table_release(&rs->byname);
	free(rs);
}

/* ---- the memory store ---- */

struct mem_store {
	struct rooms_store_base		 base;
	struct rooms_store_events	 ev;
	void				**tags;	/* put, to answer */
	size_t				  n, cap;
};

static int
mem_start(struct rooms_store *st, const struct rooms_store_events *ev,
    char *err, size_t errlen)
{
	struct mem_store	*ms = (struct mem_store *)(void *)st;

	ms->ev = *ev;
	ms->ev.ready(ms->ev.arg, 1);
	return 0;
}

static enum rooms_status
mem_put(struct rooms_store *st, const char *room, const char *user,
    int join, void *tag)
{
	struct mem_store	*ms = (struct mem_store *)(void *)st;

	if (vec_grow(&ms->tags, &ms->cap, ms->n + 1, sizeof(*ms->tags)) == -1)
		return ROOMS_NOMEM;
	ms->tags[ms->n++] = tag;
	return ROOMS_PENDING;
}

/* Answered at the commit, as a file would be: never inside a call. */
static void
mem_answer(struct mem_store *ms, enum rooms_status st)
{
	void	**tags = ms->tags;
	size_t	  i, n = ms->n;

	ms->tags = NULL;
	ms->n = ms->cap = 0;
	for (i = 0; i < n; i++)
		ms->ev.done(ms->ev.arg, tags[i], st);
	free(tags);
}

static void
mem_commit(struct rooms_store *st)
{
	struct mem_store	*ms = (struct mem_store *)(void *)st;

	if (ms->n > 0)
		mem_answer(ms, ROOMS_OK);
}

static void
mem_close(struct rooms_store *st)
{
	struct mem_store	*ms = (struct mem_store *)(void *)st;

	if (ms->n > 0 && ms->ev.done != NULL)
		mem_answer(ms, ROOMS_UNAVAILABLE);
	free(ms->tags);
	free(ms);
}

static const struct rooms_store_ops mem_ops = {
	"memory", mem_start, mem_put, mem_commit, NULL, mem_close
};

struct rooms_store *
rooms_store_memory(void)
{
	struct mem_store	*ms;

	if ((ms = calloc(1, sizeof(*ms))) == NULL)
		return NULL;
	ms->base.ops = &mem_ops;
	return (struct rooms_store *)(void *)ms;
}
