/*
 * Copyright (c) 2026 The chat authors.
 *
 * Unit tests for server/router.c over a real local inbox (memory, and
 * SQLite in a file) and a real presence, with fake connections: a
 * struct deliver_ops that records, in words, what each connection was
 * sent (chat messages with their seq, checked against the codec's text
 * for them; protocol events; answers; closes), with its output cap,
 * what it has queued and whether it can be sent to under the test's
 * control.  No sockets: a connection "writes" when the test says so
 * (router_written(), router_drained()), as server-client.c does when
 * its socket takes the bytes.
 *
 * Covered: attach (--max-per-user, -1 and -2), detach (idempotent, the
 * last one: offline, the inbox let go); the seed's semantics (a new
 * connection without since starts at the written cursor), resume with
 * since and epoch (reset on another numbering or a since beyond the
 * newest), ?epoch= without since (resumed with cursor:true); submit,
 * answered after router_commit() (delivered, queued, full now), to
 * every caught-up connection of the target, live ones beyond
 * --queue-limit; a connection behind reads as its room allows and its
 * output drains, in seq order, new messages behind the old; "expired"
 * before a message after a gap (retention by count while a device was
 * away, and a behind connection whose missed messages all went);
 * router_written() moves the cursor; the "sent" copy to the sender's
 * other connections; a sender gone before its answer (no call on it
 * after router_detach()); numbering kept while online, a forgotten
 * memory inbox renamed (new epoch); SQLite: the cursor and epoch across
 * a restart, and writes that fail (RLIMIT_FSIZE), then work again.
 * Issue 14.1 in its new form: a watcher cut while being told that a
 * user left (ASan runs these tests in CI).
 */
#include <sys/resource.h>
#include <sys/stat.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codec.h"
#include "deliver.h"
#include "inbox.h"
#include "log.h"
#include "msg.h"
#include "presence.h"
#include "router.h"
#include "tap.h"
#include "testdir.h"
#include "users.h"
#include "util.h"

#define MAXOUT		65536
#define FAKECONN_CAP	MAXOUT
#include "fakeconn.h"
#define MAXMSG		4096

static struct users	*us;
static struct presence	*pres;
static struct router	*rt;
static char		 top[1024];

/* ---- the world ---- */

static struct inbox_config
icfg(size_t qlimit, size_t hlimit, size_t hbytes)
{
	struct inbox_config	c;

	memset(&c, 0, sizeof(c));
	c.queue_limit = qlimit;
	c.history_limit = hlimit;
	c.history_bytes = hbytes;
	c.target_bytes = c.sender_limit = c.sender_bytes = (size_t)1 << 40;
	c.max_message = MAXMSG;
	return c;
}

static const char *
path_of(const char *name)
{
	static char	buf[1200];

	snprintf(buf, sizeof(buf), "%s/%s.db", top, name);
	return buf;
}

/* Users, presence and a router over an inbox in memory or a file. */
static int
setup_cfg(int sql, const char *name, struct inbox_config c)
{
	struct router_config	rc;
	char			err[512];

	memset(&rc, 0, sizeof(rc));
	rc.max_per_user = 2;
	rc.max_message = MAXMSG;
	rc.max_output = MAXOUT;
	c.path = sql ? path_of(name) : NULL;
	if ((us = users_new()) == NULL ||
	    (pres = presence_new(us, &fake_ops, MAXOUT)) == NULL)
		return -1;
	if ((rt = router_new(&rc, us, pres, &fake_ops, &c, NULL, err,
	    sizeof(err))) == NULL) {
		fprintf(stderr, "router_new: %s\n", err);
		return -1;
	}
	return 0;
}

static int
setup(int sql, const char *name, size_t qlimit)
{
	return setup_cfg(sql, name, icfg(qlimit, 100000, 1 << 20));
}

/* Everything goes; every user must have been let go. */
static void
teardown(void)
{
	router_free(rt);
	presence_free(pres);
	users_reap(us);
	CHECK_INT(users_count(us), 0);
	users_free(us);
	rt = NULL;
	pres = NULL;
	us = NULL;
}

static int
attach(struct fconn *c, const char *id, int resume, uint64_t since,
    const char *epoch)
{
	c->gone = 0;
	c->live = 1;
	c->top = 0;
	return router_attach(rt, &c->rc, id, resume, since, epoch);
}

/* c leaves, as client_detach() does it (after the pass). */
static void
detach(struct fconn *c)
{
	router_detach(rt, &c->rc);
	presence_unwatch(pres, &c->pc);
	c->gone = 1;
	c->queued = 0;
}

static void
freec(struct fconn *c)
{
	if (c != NULL && !c->gone)
		detach(c);
	free(c);
}

/* The loop's end of a pass: commit, answers, users reaped. */
static void
pass(void)
{
	router_commit(rt);
	router_flush(rt);
	users_reap(us);
}

/*
 * c's socket took everything queued: the router hears of the newest
 * chat message written, then that the output drained.
 */
static void
flush(struct fconn *c)
{
	c->queued = 0;
	if (c->top > 0)
		router_written(rt, &c->rc, c->top);
	router_drained(rt, &c->rc);
}

/*
 * With --history-days 1e-9 (setup_cfg()), what is delivered goes at the
 * router's first tick if older than the wall clock's ms then: wait for
 * the clock to pass the ms of the last message (the state waited for,
 * not a sleep), then tick.
 */
static void
age_out(void)
{
	uint64_t	t = util_wall_ms();

	while (util_wall_ms() <= t)
		;
	router_tick(rt, util_mono_ms());
}

static enum route_result
submit(struct fconn *from, const char *to, const char *text, const char *id)
{
	return router_submit(rt, &from->rc, to, text, strlen(text), id);
}


/* ---- tests ---- */

static void
test_attach(int sql)
{
	struct fconn	*a, *b, *c, *d;
	char		 longid[CODEC_MAX_USER + 2];

	if (setup(sql, "attach", 3) == -1) {
		CHECK(0);
		return;
	}
	a = newc("a");
	b = newc("b");
	c = newc("c");
	d = newc("d");
	CHECK_INT(router_nonline(rt), 0);
	CHECK_INT(attach(a, "8888", 0, 0, NULL), 0);
	CHECK_INT(attach(b, "8888", 0, 0, NULL), 0);
	/* --max-per-user 2 */
	CHECK_INT(attach(c, "8888", 0, 0, NULL), -1);
	CHECK(router_user_id(&c->rc) == NULL);
	CHECK_INT(router_user_conns(&c->rc), 0);
	CHECK_STR(router_user_id(&a->rc), "8888");
	CHECK_INT(router_user_conns(&a->rc), 2);
	CHECK_INT(router_nonline(rt), 1);
	CHECK_INT(presence_nlocal(pres), 1);
	CHECK_INT(attach(d, "9999", 0, 0, NULL), 0);
	CHECK_INT(router_nonline(rt), 2);
	/* Nothing to say to a connection without since or epoch. */
	CHECK_STR(events(a), "");
	CHECK_STR(events(d), "");

	/* One of two leaves: still online; room for another. */
	detach(a);
	CHECK(router_user_id(&a->rc) == NULL);
	CHECK_INT(router_user_conns(&b->rc), 1);
	CHECK_INT(router_nonline(rt), 2);
	CHECK_INT(attach(c, "8888", 0, 0, NULL), 0);
	CHECK_INT(router_user_conns(&c->rc), 2);
	/* Detaching twice is harmless. */
	router_detach(rt, &a->rc);
	detach(b);
	detach(c);
	CHECK_INT(router_nonline(rt), 1);
	CHECK_INT(presence_nlocal(pres), 1);
	pass();
	/* Gone: only what something still holds is left. */
	CHECK(users_find(us, "8888") == NULL);
	CHECK(users_find(us, "9999") != NULL);
	detach(d);
	CHECK_INT(router_nonline(rt), 0);
	CHECK_INT(presence_nlocal(pres), 0);

	/* An id longer than CODEC_MAX_USER: no user for it (-2). */
	memset(longid, 'x', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';
	CHECK_INT(attach(a, longid, 0, 0, NULL), -2);
	CHECK(router_user_id(&a->rc) == NULL);
	a->gone = 1;
	pass();
	free(a);
	free(b);
	free(c);
	free(d);
	teardown();
}

/*
 * Submit, the group commit, the answers and delivery: to every
 * connection of the target that is caught up, with the same seq;
 * queued without one; refused at once (no answer later) when full.
 */
static void
test_submit(int sql)
{
	struct fconn	*s, *t, *t2;
	uint64_t	 i;

	if (setup(sql, "submit", 3) == -1) {
		CHECK(0);
		return;
	}
	s = newc("s");
	t = newc("t");
	t2 = newc("t2");
	CHECK_INT(attach(s, "1111", 0, 0, NULL), 0);
	/* Nobody for 2222: queued, up to --queue-limit. */
	CHECK_INT(submit(s, "2222", "one", "\"i1\""), ROUTE_PENDING);
	CHECK_INT(submit(s, "2222", "a\"b\\c", "7"), ROUTE_PENDING);
	CHECK_INT(submit(s, "2222", "three", ""), ROUTE_PENDING);
	CHECK_INT(submit(s, "2222", "four", "\"i4\""), ROUTE_FULL);
	/* Not before the commit. */
	CHECK_STR(events(s), "");
	pass();
	/* Each answered once (an empty id: the server sends no ack). */
	CHECK_STR(events(s), "done:\"i1\":queued done:7:queued done::queued");
	/* Another target, and one's own inbox. */
	CHECK_INT(submit(s, "3333", "other", "\"o\""), ROUTE_PENDING);
	CHECK_INT(submit(s, "1111", "self", "\"me\""), ROUTE_PENDING);
	pass();
	CHECK_STR(events(s), "done:\"o\":queued chat:1:self "
	    "done:\"me\":delivered");

	/* The target connects: what waits, in order. */
	CHECK_INT(attach(t, "2222", 0, 0, NULL), 0);
	CHECK_STR(events(t), "chat:1:one chat:2:a\"b\\c chat:3:three");
	flush(t);
	/* Both connections of a user get a message, with the same seq. */
	CHECK_INT(attach(t2, "2222", 0, 0, NULL), 0);
	CHECK_STR(events(t2), "");
	CHECK_INT(submit(s, "2222", "yo", "\"y\""), ROUTE_PENDING);
	CHECK_STR(events(t), "");
	pass();
	CHECK_STR(events(s), "done:\"y\":delivered");
	CHECK_STR(events(t), "chat:4:yo");
	CHECK_STR(events(t2), "chat:4:yo");
	/* Caught up: more than --queue-limit in a pass goes through. */
	for (i = 0; i < 5; i++)
		CHECK_INT(submit(s, "2222", "m", ""), ROUTE_PENDING);
	pass();
	CHECK_STR(events(s), "done::delivered done::delivered done::delivered "
	    "done::delivered done::delivered");
	CHECK_STR(events(t), "chat:5:m chat:6:m chat:7:m chat:8:m chat:9:m");
	CHECK_STR(events(t2), "chat:5:m chat:6:m chat:7:m chat:8:m chat:9:m");
	/* One connection cannot take it: the other does. */
	t2->fail = 1;
	CHECK_INT(submit(s, "2222", "x", "\"x\""), ROUTE_PENDING);
	pass();
	CHECK_STR(events(s), "done:\"x\":delivered");
	CHECK_STR(events(t), "chat:10:x");
	CHECK_STR(events(t2), "CUT");
	detach(t2);
	/* None can: queued. */
	t->fail = 1;
	CHECK_INT(submit(s, "2222", "z", "\"z\""), ROUTE_PENDING);
	pass();
	CHECK_STR(events(s), "done:\"z\":queued");
	CHECK_STR(events(t), "CUT");
	freec(t);
	freec(t2);
	freec(s);
	pass();
	teardown();
}

/*
 * The seed's semantics: a connection without since starts at the
 * cursor, the newest seq some connection of its user wrote to its
 * socket, not merely queued.
 */
static void
test_cursor(int sql)
{
	struct fconn	*s, *t, *t2, *t3;
	int		 i;

	if (setup(sql, "cursor", 100) == -1) {
		CHECK(0);
		return;
	}
	s = newc("s");
	t = newc("t");
	t2 = newc("t2");
	t3 = newc("t3");
	CHECK_INT(attach(s, "1111", 0, 0, NULL), 0);
	for (i = 0; i < 3; i++)
		CHECK_INT(submit(s, "2222", "q", ""), ROUTE_PENDING);
	pass();
	events(s);
	CHECK_INT(attach(t, "2222", 0, 0, NULL), 0);
	CHECK_STR(events(t), "chat:1:q chat:2:q chat:3:q");
	/* Queued, not written: a second device gets them too. */
	CHECK_INT(attach(t2, "2222", 0, 0, NULL), 0);
	CHECK_STR(events(t2), "chat:1:q chat:2:q chat:3:q");
	/* Written up to 2 by one of them. */
	router_written(rt, &t->rc, 2);
	detach(t2);
	CHECK_INT(attach(t3, "2222", 0, 0, NULL), 0);
	CHECK_STR(events(t3), "chat:3:q");
	/* Written seqs beyond the newest, or going back, change nothing. */
	router_written(rt, &t->rc, 99);
	router_written(rt, &t->rc, 1);
	detach(t3);
	CHECK_INT(attach(t3, "2222", 0, 0, NULL), 0);
	CHECK_STR(events(t3), "");
	detach(t);
	detach(t3);
	/* Offline: the next connection gets what came meanwhile. */
	CHECK_INT(submit(s, "2222", "r", "\"r\""), ROUTE_PENDING);
	pass();
	CHECK_STR(events(s), "done:\"r\":queued");
	CHECK_INT(attach(t, "2222", 0, 0, NULL), 0);
	CHECK_STR(events(t), "chat:4:r");
	freec(t);
	freec(t2);
	freec(t3);
	freec(s);
	pass();
	teardown();
}

/* Resume with since and epoch; ?epoch= without since. */
static void
test_resume(int sql)
{
	struct fconn	*s, *t, *u;
	char		 e[17];
	int		 i;

	if (setup(sql, "resume", 100) == -1) {
		CHECK(0);
		return;
	}
	s = newc("s");
	t = newc("t");
	u = newc("u");
	CHECK_INT(attach(s, "1111", 0, 0, NULL), 0);
	for (i = 0; i < 4; i++)
		CHECK_INT(submit(s, "2222", i % 2 ? "odd" : "even", ""),
		    ROUTE_PENDING);
	pass();
	/* ?epoch= alone: the numbering's name, where the cursor is. */
	CHECK_INT(attach(t, "2222", 0, 0, ""), 0);
	CHECK_STR(events(t), "resumed:0:1:4:cursor chat:1:even chat:2:odd "
	    "chat:3:even chat:4:odd");
	snprintf(e, sizeof(e), "%s", t->epoch);
	router_written(rt, &t->rc, 3);
	detach(t);
	CHECK_INT(attach(t, "2222", 0, 0, e), 0);
	CHECK_STR(events(t), "resumed:3:1:4:cursor chat:4:odd");
	CHECK_STR(t->epoch, e);
	/* ?since=: a "resumed", then everything kept after since. */
	CHECK_INT(attach(u, "2222", 1, 2, NULL), 0);
	CHECK_STR(events(u), "resumed:2:1:4 chat:3:even chat:4:odd");
	CHECK_STR(u->epoch, e);
	/* Beyond the newest (a restarted numbering): from 0. */
	router_resume(rt, &u->rc, 99, NULL);
	CHECK_STR(events(u), "resumed:0:1:4:reset chat:1:even chat:2:odd "
	    "chat:3:even chat:4:odd");
	/* Another numbering's seq (epoch): from 0; ours: as asked. */
	router_resume(rt, &u->rc, 4, "0123456789abcdef");
	CHECK_STR(events(u), "resumed:0:1:4:reset chat:1:even chat:2:odd "
	    "chat:3:even chat:4:odd");
	router_resume(rt, &u->rc, 3, e);
	CHECK_STR(events(u), "resumed:3:1:4 chat:4:odd");
	router_resume(rt, &u->rc, 4, "");
	CHECK_STR(events(u), "resumed:4:1:4");
	/* Then live, to both. */
	CHECK_INT(submit(s, "2222", "live", ""), ROUTE_PENDING);
	pass();
	CHECK_STR(events(t), "chat:5:live");
	CHECK_STR(events(u), "chat:5:live");
	flush(t);
	/* A resume on a connection not attached: nothing. */
	detach(u);
	router_resume(rt, &u->rc, 0, NULL);
	freec(t);
	freec(u);
	freec(s);
	pass();
	teardown();
	if (!sql)
		return;
	/* A file: the numbering, its name and the cursor survive. */
	if (setup(sql, "resume", 100) == -1) {
		CHECK(0);
		return;
	}
	t = newc("t");
	CHECK_INT(attach(t, "2222", 1, 4, e), 0);
	CHECK_STR(events(t), "resumed:4:1:5 chat:5:live");
	detach(t);
	CHECK_INT(attach(t, "2222", 0, 0, ""), 0);
	CHECK_STR(events(t), "resumed:5:1:5:cursor");
	freec(t);
	pass();
	teardown();
}

/*
 * A connection behind: it reads from the inbox as its room allows,
 * again each time its output drains, in seq order and without a gap or
 * a repeat, messages that arrive meanwhile behind the older ones; its
 * queued output never passes its cap.
 */
static void
test_catch_up(int sql)
{
	struct fconn	*s, *t;
	char		 text[901], *p, *q;
	const char	*ev;
	uint64_t	 want = 1, seq;
	int		 i, rounds = 0, bad = 0;

	if (setup(sql, "catchup", 1000) == -1) {
		CHECK(0);
		return;
	}
	s = newc("s");
	CHECK_INT(attach(s, "1111", 0, 0, NULL), 0);
	memset(text, 'y', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	for (i = 0; i < 150; i++) {
		CHECK_INT(submit(s, "2222", text, ""), ROUTE_PENDING);
		if (i % 10 == 9)
			pass();
	}
	t = newc("t");
	CHECK_INT(attach(t, "2222", 0, 0, NULL), 0);
	/* Not all at once. */
	CHECK(t->top > 1 && t->top < 150);
	CHECK(t->queued <= t->cap);
	while (want <= 160 && rounds++ < 100 && !bad) {
		/* New ones while it is behind. */
		if (rounds == 2) {
			for (i = 0; i < 10; i++)
				CHECK_INT(submit(s, "2222", text, ""),
				    ROUTE_PENDING);
			pass();
		}
		ev = events(t);
		for (p = (char *)ev; *p != '\0'; p = q) {
			if (sscanf(p, "chat:%llu:", (unsigned long long *)&seq)
			    != 1 || seq != want) {
				fprintf(stderr, "at %llu: %.40s\n",
				    (unsigned long long)want, p);
				bad = 1;
				break;
			}
			want++;
			q = strchr(p, ' ');
			q = q != NULL ? q + 1 : p + strlen(p);
		}
		CHECK(t->queued <= t->cap);
		flush(t);
	}
	CHECK_INT(bad, 0);
	CHECK_INT(want, 161);
	CHECK(rounds > 2);
	CHECK_INT(t->top, 160);
	CHECK_STR(events(t), "");
	/* Caught up: live again, and nothing more on a drain. */
	flush(t);
	CHECK_STR(events(t), "");
	events(s);
	CHECK_INT(submit(s, "2222", "last", "\"l\""), ROUTE_PENDING);
	pass();
	CHECK_STR(events(t), "chat:161:last");
	CHECK_STR(events(s), "done:\"l\":delivered");
	freec(t);
	freec(s);
	pass();
	teardown();
}

/*
 * Gaps are told: retention by count while a device was away (another
 * wrote the messages, the cursor passed them), and while a connection
 * was behind (reading a backlog as its room allowed).
 */
static void
test_expired(int sql)
{
	struct fconn	*s, *b1, *b2;
	int		 i;

	if (setup_cfg(sql, "expired", icfg(100, 3, 1 << 20)) == -1) {
		CHECK(0);
		return;
	}
	s = newc("s");
	b1 = newc("b1");
	b2 = newc("b2");
	CHECK_INT(attach(s, "1111", 0, 0, NULL), 0);
	CHECK_INT(attach(b1, "2222", 0, 0, NULL), 0);
	CHECK_INT(attach(b2, "2222", 0, 0, NULL), 0);
	CHECK_INT(submit(s, "2222", "m1", ""), ROUTE_PENDING);
	CHECK_INT(submit(s, "2222", "m2", ""), ROUTE_PENDING);
	pass();
	CHECK_STR(events(b2), "chat:1:m1 chat:2:m2");
	flush(b2);
	/* b2 goes away at 2; b1 reads on, and only 3 are kept. */
	detach(b2);
	for (i = 3; i <= 8; i++) {
		CHECK_INT(submit(s, "2222", "m", ""), ROUTE_PENDING);
		pass();
		flush(b1);
	}
	CHECK_STR(events(b1), "chat:1:m1 chat:2:m2 chat:3:m chat:4:m chat:5:m "
	    "chat:6:m chat:7:m chat:8:m");
	CHECK_INT(attach(b2, "2222", 1, 2, NULL), 0);
	CHECK_STR(events(b2), "resumed:2:6:8 expired:2:6 chat:6:m chat:7:m "
	    "chat:8:m");
	flush(b2);
	/* No gap, no word. */
	CHECK_INT(submit(s, "2222", "m9", ""), ROUTE_PENDING);
	pass();
	CHECK_STR(events(b2), "chat:9:m9");
	flush(b1);
	flush(b2);
	events(b1);

	/*
	 * b2 resumes at 8 with too little room to read: it stays behind
	 * while b1 reads on and retention takes 9 to 12.
	 */
	detach(b2);
	b2->cap = 300;
	CHECK_INT(attach(b2, "2222", 1, 8, NULL), 0);
	CHECK_STR(events(b2), "resumed:8:7:9");
	for (i = 10; i <= 15; i++) {
		CHECK_INT(submit(s, "2222", "n", ""), ROUTE_PENDING);
		pass();
		flush(b1);
	}
	CHECK_STR(events(b1), "chat:10:n chat:11:n chat:12:n chat:13:n "
	    "chat:14:n chat:15:n");
	CHECK_STR(events(b2), "");
	/* Its output drains, with room now. */
	b2->cap = MAXOUT;
	flush(b2);
	CHECK_STR(events(b2), "expired:8:13 chat:13:n chat:14:n chat:15:n");
	flush(b2);
	CHECK_INT(submit(s, "2222", "o", ""), ROUTE_PENDING);
	pass();
	CHECK_STR(events(b2), "chat:16:o");
	freec(b1);
	freec(b2);
	freec(s);
	pass();
	teardown();
}

/*
 * A connection behind whose missed messages all went (age retention
 * after another device wrote them): it is told of the gap before the
 * next message, as when some are left.
 */
static void
test_expired_all(int sql)
{
	struct inbox_config	 c = icfg(100, 100, 1 << 20);
	struct fconn		*s, *b1, *b2;
	int			 i;

	/* Anything delivered and older than now goes at the first tick. */
	c.history_days = 1e-9;
	if (setup_cfg(sql, "expired-all", c) == -1) {
		CHECK(0);
		return;
	}
	s = newc("s");
	b1 = newc("b1");
	b2 = newc("b2");
	CHECK_INT(attach(s, "1111", 0, 0, NULL), 0);
	CHECK_INT(attach(b1, "2222", 0, 0, NULL), 0);
	CHECK_INT(submit(s, "2222", "m1", ""), ROUTE_PENDING);
	pass();
	flush(b1);
	b2->cap = 300;
	CHECK_INT(attach(b2, "2222", 1, 0, NULL), 0);
	CHECK_STR(events(b2), "resumed:0:1:1");
	for (i = 2; i <= 4; i++) {
		CHECK_INT(submit(s, "2222", "m", ""), ROUTE_PENDING);
		pass();
		flush(b1);
	}
	CHECK_STR(events(b1), "chat:1:m1 chat:2:m chat:3:m chat:4:m");
	age_out();
	pass();
	b2->cap = MAXOUT;
	flush(b2);
	CHECK_STR(events(b2), "expired:0:5");
	flush(b2);
	CHECK_INT(submit(s, "2222", "m5", ""), ROUTE_PENDING);
	pass();
	CHECK_STR(events(b2), "chat:5:m5");
	CHECK_STR(events(b1), "chat:5:m5");
	freec(b1);
	freec(b2);
	freec(s);
	pass();
	teardown();
}

/* The sender's other connections get a copy of what it sent. */
static void
test_sent(int sql)
{
	struct fconn	*a1, *a2, *b;

	if (setup(sql, "sent", 100) == -1) {
		CHECK(0);
		return;
	}
	a1 = newc("a1");
	a2 = newc("a2");
	b = newc("b");
	CHECK_INT(attach(a1, "1111", 0, 0, NULL), 0);
	CHECK_INT(attach(a2, "1111", 0, 0, NULL), 0);
	CHECK_INT(attach(b, "2222", 0, 0, NULL), 0);
	CHECK_INT(submit(a1, "2222", "hi", "\"h\""), ROUTE_PENDING);
	CHECK_STR(events(a2), "");
	pass();
	CHECK_STR(events(a1), "done:\"h\":delivered");
	CHECK_STR(events(a2), "sent:2222:hi");
	CHECK_STR(events(b), "chat:1:hi");
	/* To an offline user too, once stored. */
	CHECK_INT(submit(a2, "3333", "yo", "\"y\""), ROUTE_PENDING);
	pass();
	CHECK_STR(events(a2), "done:\"y\":queued");
	CHECK_STR(events(a1), "sent:3333:yo");
	/* Refused: no copy. */
	CHECK_INT(submit(a2, "toolong-0123456789abcdef0123456789abcdef"
	    "0123456789abcdef0123456789abcdef", "no", "\"n\""), ROUTE_NOMEM);
	pass();
	CHECK_STR(events(a1), "");
	CHECK_STR(events(a2), "");
	/* One connection: nobody to copy to. */
	detach(a2);
	CHECK_INT(submit(a1, "2222", "solo", "\"s\""), ROUTE_PENDING);
	pass();
	CHECK_STR(events(a1), "done:\"s\":delivered");
	CHECK_STR(events(b), "chat:2:solo");
	freec(a1);
	freec(a2);
	freec(b);
	pass();
	teardown();
}

/*
 * A sender that leaves before its answer: nothing is called on it
 * afterwards (the fake counts any call), its messages are kept and
 * delivered, others are answered.
 */
static void
test_sender_gone(int sql)
{
	struct fconn	*s1, *s2, *s3, *t;

	if (setup(sql, "gone", 100) == -1) {
		CHECK(0);
		return;
	}
	s1 = newc("s1");
	s2 = newc("s2");
	s3 = newc("s3");
	t = newc("t");
	CHECK_INT(attach(s1, "1111", 0, 0, NULL), 0);
	CHECK_INT(attach(s2, "1112", 0, 0, NULL), 0);
	CHECK_INT(attach(s3, "1113", 0, 0, NULL), 0);
	CHECK_INT(attach(t, "2222", 0, 0, NULL), 0);
	CHECK_INT(submit(s1, "2222", "a", "\"1\""), ROUTE_PENDING);
	CHECK_INT(submit(s2, "2222", "b", "\"2\""), ROUTE_PENDING);
	CHECK_INT(submit(s1, "2222", "c", "\"3\""), ROUTE_PENDING);
	CHECK_INT(submit(s1, "4444", "d", "\"4\""), ROUTE_PENDING);
	detach(s1);
	/* Leaving with nothing pending is harmless. */
	detach(s3);
	pass();
	CHECK_STR(events(s1), "");
	CHECK_STR(events(s2), "done:\"2\":delivered");
	/* A connection no longer attached cannot send. */
	s1->gone = 0;
	CHECK_INT(submit(s1, "2222", "late", "\"l\""), ROUTE_NOMEM);
	s1->gone = 1;
	CHECK_STR(events(t), "chat:1:a chat:2:b chat:3:c");
	CHECK_INT(violations, 0);
	/* Its user stays while its message to 4444 counts against it. */
	CHECK(users_find(us, "1111") != NULL);
	/* That message waits for 4444; once written, the user goes. */
	CHECK_INT(attach(s3, "4444", 0, 0, NULL), 0);
	CHECK_STR(events(s3), "chat:1:d");
	flush(s3);
	pass();
	CHECK(users_find(us, "1111") == NULL);
	/* Gone before router_free(), which commits what is open. */
	CHECK_INT(submit(s2, "2222", "e", "\"5\""), ROUTE_PENDING);
	detach(s2);
	freec(t);
	freec(s1);
	freec(s2);
	freec(s3);
	teardown();
	CHECK_INT(violations, 0);
	if (!sql)
		return;
	/* The last pass was committed by router_free(). */
	if (setup(sql, "gone", 100) == -1) {
		CHECK(0);
		return;
	}
	t = newc("t");
	CHECK_INT(attach(t, "2222", 1, 0, NULL), 0);
	CHECK_STR(events(t), "resumed:0:1:4 chat:1:a chat:2:b chat:3:c "
	    "chat:4:e");
	freec(t);
	pass();
	teardown();
}

/*
 * Numbering: while a user is online its inbox is held, so retention
 * emptying it does not restart its numbering.  Offline, an emptied
 * memory inbox is forgotten: made again it counts from 1 under a new
 * epoch, and a client resuming with the old one starts over (reset).
 * A file keeps numbering.
 */
static void
test_numbering(int sql)
{
	struct inbox_config	 c = icfg(100, 100, 1 << 20);
	struct fconn		*s, *t, *u;
	char			 et[17], eu[17];

	c.history_days = 1e-9;		/* delivered: gone at the tick */
	if (setup_cfg(sql, "numbering", c) == -1) {
		CHECK(0);
		return;
	}
	s = newc("s");
	t = newc("t");
	u = newc("u");
	CHECK_INT(attach(s, "1111", 0, 0, NULL), 0);
	CHECK_INT(attach(t, "2222", 1, 0, ""), 0);
	CHECK_INT(attach(u, "4444", 1, 0, ""), 0);
	CHECK_STR(events(t), "resumed:0:0:0");
	CHECK_STR(events(u), "resumed:0:0:0");
	snprintf(et, sizeof(et), "%s", t->epoch);
	snprintf(eu, sizeof(eu), "%s", u->epoch);
	/* Memory: each inbox its numbering; a file: one. */
	CHECK_INT(strcmp(et, eu) == 0, sql);
	CHECK_INT(submit(s, "2222", "m1", ""), ROUTE_PENDING);
	CHECK_INT(submit(s, "4444", "x1", ""), ROUTE_PENDING);
	CHECK_INT(submit(s, "4444", "x2", ""), ROUTE_PENDING);
	pass();
	CHECK_STR(events(t), "chat:1:m1");
	CHECK_STR(events(u), "chat:1:x1 chat:2:x2");
	flush(t);
	flush(u);
	detach(u);
	/* Everything delivered goes. */
	age_out();
	pass();
	/* Online: numbering goes on. */
	CHECK_INT(submit(s, "2222", "m2", ""), ROUTE_PENDING);
	pass();
	CHECK_STR(events(t), "chat:2:m2");
	router_resume(rt, &t->rc, 1, et);
	CHECK_STR(events(t), "resumed:1:2:2 chat:2:m2");
	CHECK_STR(t->epoch, et);
	/* Offline: memory starts again, under another name. */
	CHECK_INT(submit(s, "4444", "x3", ""), ROUTE_PENDING);
	pass();
	CHECK_INT(attach(u, "4444", 1, 2, eu), 0);
	CHECK_STR(events(u), sql ? "resumed:2:3:3 chat:3:x3" :
	    "resumed:0:1:1:reset chat:1:x3");
	CHECK_INT(strcmp(u->epoch, eu) == 0, sql);
	freec(s);
	freec(t);
	freec(u);
	pass();
	teardown();
}

/*
 * Issue 14.1 in its new form: when a user's last connection goes,
 * presence tells its watchers; one whose output is full is cut right
 * there.  Before, cutting it freed the user while the detach still used
 * it.  Now a cut connection leaves after the pass and users are freed
 * only by users_reap(): no crash, no use after free (ASan), and the
 * watcher is never called again.
 */
static void
test_cut_watcher(int sql)
{
	char		 ids[1][CODEC_MAX_USER + 1] = { "bob" };
	struct fconn	*bob, *w1, *w2, *w3;

	if (setup(sql, "cutwatch", 100) == -1) {
		CHECK(0);
		return;
	}
	bob = newc("bob");
	w1 = newc("w1");
	w2 = newc("w2");
	w3 = newc("w3");
	CHECK_INT(attach(bob, "bob", 0, 0, NULL), 0);
	/* w3 is a user too, and watches; w1 and w2 only watch. */
	CHECK_INT(attach(w3, "w3", 0, 0, NULL), 0);
	CHECK_INT(presence_watch(pres, &w1->pc, ids, 1), 0);
	CHECK_INT(presence_watch(pres, &w2->pc, ids, 1), 0);
	CHECK_INT(presence_watch(pres, &w3->pc, ids, 1), 0);
	CHECK_STR(events(w1), "presence:bob:1");
	CHECK_STR(events(w2), "presence:bob:1");
	CHECK_STR(events(w3), "presence:bob:1");
	/* w1 and w3 cannot take another event. */
	w1->fail = 1;
	w3->fail = 1;
	detach(bob);
	CHECK_STR(events(w1), "CUT");
	CHECK_STR(events(w2), "presence:bob:0");
	CHECK_STR(events(w3), "CUT");
	CHECK_INT(router_nonline(rt), 1);
	/* Still held by the watches until they go, after the pass. */
	CHECK(users_find(us, "bob") != NULL);
	detach(w1);
	detach(w3);
	pass();
	CHECK(users_find(us, "bob") != NULL);
	/* bob back: only w2 hears. */
	CHECK_INT(attach(bob, "bob", 0, 0, NULL), 0);
	CHECK_STR(events(w2), "presence:bob:1");
	detach(w2);
	detach(bob);
	pass();
	CHECK(users_find(us, "bob") == NULL);
	CHECK_INT(router_nonline(rt), 0);
	CHECK_INT(violations, 0);
	free(bob);
	free(w1);
	free(w2);
	free(w3);
	teardown();
}

/* SQLite: writes fail (RLIMIT_FSIZE), then work again. */
static void
test_store_fails(void)
{
	struct fconn	*s, *t;
	struct rlimit	 old, rl;
	struct stat	 sb;
	void		(*oldsig)(int);
	char		 text[3001], want[64], wal[1300];
	const char	*ev;
	off_t		 size = 0;
	uint64_t	 last = 1, seq;
	enum route_result res;
	int		 i, j, failed = 0;

	if (setup(1, "rfail", 100000) == -1) {
		CHECK(0);
		return;
	}
	s = newc("s");
	t = newc("t");
	CHECK_INT(attach(s, "1111", 0, 0, NULL), 0);
	CHECK_INT(attach(t, "2222", 0, 0, NULL), 0);
	CHECK_INT(submit(s, "2222", "ok", "\"0\""), ROUTE_PENDING);
	pass();
	CHECK_STR(events(s), "done:\"0\":delivered");
	CHECK_STR(events(t), "chat:1:ok");
	flush(t);

	memset(text, 'z', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	if (stat(path_of("rfail"), &sb) == 0)
		size = sb.st_size;
	snprintf(wal, sizeof(wal), "%s-wal", path_of("rfail"));
	if (stat(wal, &sb) == 0 && sb.st_size > size)
		size = sb.st_size;
	CHECK(getrlimit(RLIMIT_FSIZE, &old) == 0);
	oldsig = signal(SIGXFSZ, SIG_IGN);
	fflush(stderr);
	rl = old;
	rl.rlim_cur = (rlim_t)size + 65536;
	CHECK(setrlimit(RLIMIT_FSIZE, &rl) == 0);
	for (i = 0; i < 500 && !failed; i++) {
		for (j = 0; j < 3; j++) {
			/* Refused now once an append of the pass failed. */
			res = submit(s, "2222", text, "\"x\"");
			CHECK(res == ROUTE_PENDING || res == ROUTE_UNAVAILABLE);
		}
		pass();
		ev = events(s);
		if (strstr(ev, "unavailable") != NULL) {
			failed = 1;
			/* Not committed: not delivered, not numbered. */
			CHECK(strstr(ev, "delivered") == NULL);
			CHECK_STR(events(t), "");
			break;
		}
		/* Delivered: seqs on from the last. */
		ev = events(t);
		while (ev != NULL && sscanf(ev, "chat:%llu:",
		    (unsigned long long *)&seq) == 1) {
			CHECK_INT(seq, last + 1);
			last = seq;
			ev = strchr(ev, ' ');
			ev = ev != NULL ? ev + 1 : NULL;
		}
		flush(t);
	}
	CHECK_INT(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, oldsig);
	CHECK_INT(failed, 1);
	/* Works again: the next one takes the next seq. */
	CHECK_INT(submit(s, "2222", "back", "\"y\""), ROUTE_PENDING);
	pass();
	CHECK_STR(events(s), "done:\"y\":delivered");
	snprintf(want, sizeof(want), "chat:%llu:back",
	    (unsigned long long)last + 1);
	CHECK_STR(events(t), want);
	freec(t);
	freec(s);
	pass();
	teardown();
}

int
main(void)
{
	int		 sql;

	if (testdir_make(top, sizeof(top), "router-test") == -1)
		return 1;
	log_init("test_router", getenv("TEST_VERBOSE") != NULL ? LOG_DEBUG :
	    LOG_ERROR, stderr);
	for (sql = 0; sql <= 1; sql++) {
		test_attach(sql);
		test_submit(sql);
		test_cursor(sql);
		test_resume(sql);
		test_catch_up(sql);
		test_expired(sql);
		test_expired_all(sql);
		test_sent(sql);
		test_sender_gone(sql);
		test_numbering(sql);
		test_cut_watcher(sql);
	}
	test_store_fails();
	CHECK_INT(violations, 0);
	testdir_remove(top);
	return test_done();
}
