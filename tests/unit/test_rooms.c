/*
 * Copyright (c) 2026 The chat authors.
 *
 * test_rooms: unit tests for server/rooms.c, over its memory store and
 * over a scripted store that answers when told to: a join or leave
 * applies only once the store has it, limits count what is in flight,
 * a refused one changes nothing, what another node changed and a full
 * reload (sync) are applied and told, and users are released.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rooms.h"
#include "tap.h"
#include "users.h"

/* What the events told. */
struct seen {
	int	 changes, joins, leaves, dones;
	void	*last_tag;
	char	 last_room[80], last_user[80];
	enum rooms_status last_st;
};

static struct seen	seen;

static void
ev_changed(void *arg, struct room *r, struct user *u, int joined, void *tag)
{
	seen.changes++;
	if (joined)
		seen.joins++;
	else
		seen.leaves++;
	seen.last_tag = tag;
	snprintf(seen.last_room, sizeof(seen.last_room), "%s", room_name(r));
	snprintf(seen.last_user, sizeof(seen.last_user), "%s", u->id);
	/* The room is there for the call, the user still in it or not. */
	CHECK(room_has(r, u) == joined);
}

static void
ev_done(void *arg, void *tag, enum rooms_status st, const char *room,
    struct user *u)
{
	seen.dones++;
	seen.last_tag = tag;
	seen.last_st = st;
}

static const struct rooms_events events = {
	NULL, ev_changed, ev_done
};

/* ---- a scripted store ---- */

struct fput {
	void	*tag;
	int	 join;
	char	 room[80], user[80];
};

struct fake {
	struct rooms_store_base		 base;
	struct rooms_store_events	 ev;
	struct fput			 puts[16];
	size_t				 n;
	int				 ready_at_start;
	int				 closed;
};

static struct fake	*fk;

static int
f_start(struct rooms_store *st, const struct rooms_store_events *ev,
    char *err, size_t errlen)
{
	struct fake	*f = (struct fake *)(void *)st;

	f->ev = *ev;
	if (f->ready_at_start)
		f->ev.ready(f->ev.arg, 1);
	return 0;
}

static enum rooms_status
f_put(struct rooms_store *st, const char *room, const char *user, int join,
    void *tag)
{
	struct fake	*f = (struct fake *)(void *)st;

	if (f->n == 16)
		return ROOMS_NOMEM;
	f->puts[f->n].tag = tag;
	f->puts[f->n].join = join;
	snprintf(f->puts[f->n].room, 80, "%s", room);
	snprintf(f->puts[f->n].user, 80, "%s", user);
	f->n++;
	return ROOMS_PENDING;
}

/* Answer put i, or the oldest. */
static void
f_answer_at(size_t i, enum rooms_status s)
{
	void	*tag = fk->puts[i].tag;

	fk->n--;
	memmove(fk->puts + i, fk->puts + i + 1, (fk->n - i) *
	    sizeof(fk->puts[0]));
	fk->ev.done(fk->ev.arg, tag, s);
}

static void
f_answer(enum rooms_status s)
{
	f_answer_at(0, s);
}

static void
f_close(struct rooms_store *st)
{
	struct fake	*f = (struct fake *)(void *)st;

	while (f->n > 0)
		f_answer(ROOMS_UNAVAILABLE);
	f->closed = 1;
	free(f);
	fk = NULL;
}

static const struct rooms_store_ops fake_ops = {
	"fake", f_start, f_put, NULL, NULL, f_close
};

static struct rooms *
open_fake(struct users *us, size_t members, size_t rooms, int ready)
{
	struct rooms_config	 cfg = { members, rooms };
	char			 err[128];

	fk = calloc(1, sizeof(*fk));
	fk->base.ops = &fake_ops;
	fk->ready_at_start = ready;
	return rooms_open(&cfg, us, (struct rooms_store *)(void *)fk,
	    &events, err, sizeof(err));
}

/* ---- tests ---- */

static void
test_memory(void)
{
	struct rooms_config	 cfg = { 10, 10 };
	struct users		*us = users_new();
	struct rooms		*rs;
	struct user		*a, *b;
	struct room		*r, *v[4];
	char			 err[128];
	int			 tag1, tag2, tag3;

	memset(&seen, 0, sizeof(seen));
	rs = rooms_open(&cfg, us, rooms_store_memory(), &events, err,
	    sizeof(err));
	CHECK(rs != NULL);
	CHECK(rooms_ready(rs));
	a = users_get(us, "alice");
	b = users_get(us, "bob");
	/* Asked, not applied until the commit. */
	CHECK_INT(rooms_join(rs, a, "ops", &tag1), ROOMS_PENDING);
	CHECK(rooms_find(rs, "ops") == NULL || room_size(rooms_find(rs,
	    "ops")) == 0);
	CHECK_INT(rooms_count(rs), 0);
	CHECK_INT(seen.changes, 0);
	rooms_commit(rs);
	CHECK_INT(seen.joins, 1);
	CHECK_INT(seen.dones, 1);
	CHECK(seen.last_tag == &tag1);
	CHECK_INT(seen.last_st, ROOMS_OK);
	CHECK((r = rooms_find(rs, "ops")) != NULL);
	CHECK_INT(room_size(r), 1);
	CHECK(room_has(r, a));
	CHECK(!room_has(r, b));
	CHECK(room_member(r, 0) == a);
	CHECK(room_member(r, 1) == NULL);
	CHECK_STR(room_name(r), "ops");
	/* A member joins again: answered at once, nothing stored. */
	CHECK_INT(rooms_join(rs, a, "ops", &tag2), ROOMS_OK);
	rooms_commit(rs);
	CHECK_INT(seen.dones, 1);
	CHECK_INT(rooms_join(rs, b, "ops", &tag2), ROOMS_PENDING);
	CHECK_INT(rooms_join(rs, b, "caf\xc3\xa9", &tag3), ROOMS_PENDING);
	rooms_commit(rs);
	CHECK_INT(room_size(r), 2);
	CHECK_INT(rooms_count(rs), 2);
	CHECK_INT(rooms_memberships(rs), 3);
	CHECK_INT(rooms_of(rs, b, v, 4), 2);
	CHECK_INT(rooms_of(rs, b, v, 1), 2);
	CHECK_INT(rooms_of(rs, a, NULL, 0), 1);
	/* Leave: only a member; applied at the commit. */
	CHECK_INT(rooms_leave(rs, a, "caf\xc3\xa9", &tag1), ROOMS_NOT_MEMBER);
	CHECK_INT(rooms_leave(rs, a, "nowhere", &tag1), ROOMS_NOT_MEMBER);
	CHECK_INT(rooms_leave(rs, b, "caf\xc3\xa9", &tag1), ROOMS_PENDING);
	CHECK(rooms_find(rs, "caf\xc3\xa9") != NULL);
	rooms_commit(rs);
	CHECK_INT(seen.leaves, 1);
	CHECK_STR(seen.last_room, "caf\xc3\xa9");
	CHECK_STR(seen.last_user, "bob");
	/* The room went with its last member. */
	CHECK(rooms_find(rs, "caf\xc3\xa9") == NULL);
	CHECK_INT(rooms_memberships(rs), 2);
	/* Pending at close: answered, not applied. */
	CHECK_INT(rooms_leave(rs, a, "ops", &tag3), ROOMS_PENDING);
	rooms_close(rs);
	CHECK(seen.last_tag == &tag3);
	CHECK_INT(seen.last_st, ROOMS_UNAVAILABLE);
	/* Every reference given back: the users go. */
	users_reap(us);
	CHECK_INT(users_count(us), 0);
	users_free(us);
}

static void
test_limits(void)
{
	struct users	*us = users_new();
	struct rooms	*rs = open_fake(us, 2, 2, 1);
	struct user	*a = users_get(us, "a"), *b = users_get(us, "b");
	struct user	*c = users_get(us, "c");
	int		 t[8];

	memset(&seen, 0, sizeof(seen));
	/* Joins in flight count against both limits. */
	CHECK_INT(rooms_join(rs, a, "r1", &t[0]), ROOMS_PENDING);
	CHECK_INT(rooms_join(rs, a, "r2", &t[1]), ROOMS_PENDING);
	CHECK_INT(rooms_join(rs, a, "r3", &t[2]), ROOMS_TOO_MANY);
	CHECK_INT(rooms_join(rs, b, "r1", &t[3]), ROOMS_PENDING);
	CHECK_INT(rooms_join(rs, c, "r1", &t[4]), ROOMS_FULL);
	CHECK_INT(fk->n, 3);
	/* The store refuses a's r2: nothing changes, the place is free. */
	f_answer(ROOMS_OK);				/* a r1 */
	CHECK_INT(seen.joins, 1);
	f_answer_at(0, ROOMS_UNAVAILABLE);		/* a r2 */
	CHECK_INT(seen.last_st, ROOMS_UNAVAILABLE);
	CHECK(seen.last_tag == &t[1]);
	CHECK(rooms_find(rs, "r2") == NULL);
	CHECK_INT(rooms_join(rs, a, "r2", &t[5]), ROOMS_PENDING);
	f_answer(ROOMS_OK);				/* b r1 */
	f_answer(ROOMS_OK);				/* a r2 */
	CHECK_INT(room_size(rooms_find(rs, "r1")), 2);
	CHECK_INT(rooms_join(rs, c, "r1", &t[6]), ROOMS_FULL);
	CHECK_INT(rooms_join(rs, a, "r4", &t[6]), ROOMS_TOO_MANY);
	/* A leave frees a place once stored. */
	CHECK_INT(rooms_leave(rs, b, "r1", &t[7]), ROOMS_PENDING);
	CHECK_INT(rooms_join(rs, c, "r1", &t[6]), ROOMS_FULL);
	f_answer(ROOMS_OK);
	CHECK_INT(rooms_join(rs, c, "r1", &t[6]), ROOMS_PENDING);
	f_answer(ROOMS_CLUSTER);
	CHECK(!room_has(rooms_find(rs, "r1"), c));
	rooms_close(rs);
	users_reap(us);
	CHECK_INT(users_count(us), 0);
	users_free(us);
}

static void
test_store_news(void)
{
	struct users	*us = users_new();
	struct rooms	*rs = open_fake(us, 10, 10, 0);
	struct user	*a = users_get(us, "a");
	struct room	*r;
	int		 t;

	memset(&seen, 0, sizeof(seen));
	/* Not read yet (a cluster starting): refused, not queued. */
	CHECK(!rooms_ready(rs));
	CHECK_INT(rooms_join(rs, a, "r", &t), ROOMS_CLUSTER);
	CHECK_INT(fk->n, 0);
	/* The list, as read: told as joins with no tag. */
	fk->ev.sync(fk->ev.arg, 1);
	fk->ev.set(fk->ev.arg, "r", "a", 1);
	fk->ev.set(fk->ev.arg, "r", "b", 1);
	fk->ev.set(fk->ev.arg, "s", "b", 1);
	fk->ev.set(fk->ev.arg, "bad room", "b", 1);	/* not a name */
	fk->ev.set(fk->ev.arg, "r", "bad user", 1);
	fk->ev.sync(fk->ev.arg, 0);
	fk->ev.ready(fk->ev.arg, 1);
	CHECK(rooms_ready(rs));
	CHECK_INT(seen.joins, 3);
	CHECK(seen.last_tag == NULL);
	CHECK_INT(rooms_count(rs), 2);
	CHECK(rooms_find(rs, "bad room") == NULL);
	/* Said twice: no second change. */
	fk->ev.set(fk->ev.arg, "r", "a", 1);
	CHECK_INT(seen.joins, 3);
	/* Another node: b left s, c joined r. */
	fk->ev.set(fk->ev.arg, "s", "b", 0);
	fk->ev.set(fk->ev.arg, "r", "c", 1);
	CHECK(rooms_find(rs, "s") == NULL);
	CHECK_INT(seen.leaves, 1);
	CHECK_INT(room_size(rooms_find(rs, "r")), 3);
	/* A leave of someone not in: nothing. */
	fk->ev.set(fk->ev.arg, "t", "c", 0);
	CHECK_INT(seen.leaves, 1);
	/* A reload that no longer names b and c: they left. */
	fk->ev.sync(fk->ev.arg, 1);
	fk->ev.set(fk->ev.arg, "r", "a", 1);
	fk->ev.set(fk->ev.arg, "u", "c", 1);
	fk->ev.sync(fk->ev.arg, 0);
	CHECK(r = rooms_find(rs, "r"));
	CHECK_INT(room_size(r), 1);
	CHECK(room_has(r, a));
	CHECK_INT(room_size(rooms_find(rs, "u")), 1);
	CHECK_INT(seen.leaves, 3);
	CHECK_INT(rooms_memberships(rs), 2);
	/* Going away: refused again. */
	fk->ev.ready(fk->ev.arg, 0);
	CHECK_INT(rooms_leave(rs, a, "r", &t), ROOMS_CLUSTER);
	rooms_close(rs);
	users_reap(us);
	CHECK_INT(users_count(us), 0);
	users_free(us);
}

/* Many members: the room's array and the users' lists stay right. */
static void
test_many(void)
{
	struct rooms_config	 cfg = { 1000, 100 };
	struct users		*us = users_new();
	struct rooms		*rs;
	struct user		*u[300];
	struct room		*r;
	char			 err[128], id[16];
	size_t			 i, n;
	int			 t, ok = 1;

	rs = rooms_open(&cfg, us, rooms_store_memory(), &events, err,
	    sizeof(err));
	for (i = 0; i < 300; i++) {
		snprintf(id, sizeof(id), "u%zu", i);
		u[i] = users_get(us, id);
		if (rooms_join(rs, u[i], "big", &t) != ROOMS_PENDING ||
		    rooms_join(rs, u[i], i % 2 ? "odd" : "even", &t) !=
		    ROOMS_PENDING)
			ok = 0;
	}
	rooms_commit(rs);
	CHECK(ok);
	r = rooms_find(rs, "big");
	CHECK_INT(room_size(r), 300);
	/* Every third leaves big, in an order that moves the array. */
	for (i = 0; i < 300; i += 3)
		if (rooms_leave(rs, u[i], "big", &t) != ROOMS_PENDING)
			ok = 0;
	rooms_commit(rs);
	CHECK(ok);
	CHECK_INT(room_size(r), 200);
	for (i = 0, n = 0; i < 300; i++)
		if (room_has(r, u[i]) != (i % 3 != 0))
			ok = 0;
	for (i = 0; i < room_size(r); i++)
		if (!room_has(r, room_member(r, i)))
			ok = 0;
		else
			n++;
	CHECK(ok);
	CHECK_INT(n, 200);
	CHECK_INT(room_size(rooms_find(rs, "odd")), 150);
	CHECK_INT(rooms_memberships(rs), 500);
	rooms_close(rs);
	users_reap(us);
	CHECK_INT(users_count(us), 0);
	users_free(us);
}

int
main(void)
{
	test_memory();
	test_limits();
	test_store_news();
	test_many();
	return test_done();
}
