/*
 * Copyright (c) 2026 The chat authors.
 *
 * Unit tests for server/router.c over a real store (memory and
 * SQLite): the user table, --max-per-user, the online list, watch
 * bookkeeping; numbering a chat message into the target's inbox and
 * the pass's group commit (answers, refusals, exact event text); a
 * sender that goes away before the commit; the delivery cursor moving
 * back when a last connection leaves with messages unwritten.
 *
 * Most clients here have no connection: nothing can be written to
 * them, so every message stays in the store.  Some have a WebSocket
 * over a socketpair, read back frame by frame: delivery to every
 * connection of a user, acks, replay when behind (in steps, as output
 * drains), "resumed", numbering kept while online, presence, and a
 * store whose writes fail.
 */
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codec.h"
#include "log.h"
#include "server.h"
#include "store.h"
#include "tap.h"
#include "transport.h"
#include "util.h"
#include "ws.h"

static const struct server_config base = {
	.max_per_user = 2,
	.store = {
		.queue_limit = 3,
		.history_limit = 100000,
		.history_bytes = 1 << 20,
	},
	.max_output = 65536,
	.max_message = 4096,
};

static struct server	srv;
static char		top[1024];

static int
rm_one(const char *path, const struct stat *sb, int flag, struct FTW *f)
{
	return remove(path);
}

/* A server with a router and a store (a file named name, or memory). */
static int
setup(int sql, const char *name, size_t qlimit, double days)
{
	char	path[1200], err[512];

	memset(&srv, 0, sizeof(srv));
	srv.cfg = base;
	srv.cfg.store.queue_limit = qlimit;
	srv.cfg.store.history_days = days;
	if (sql) {
		snprintf(path, sizeof(path), "%s/%s.db", top, name);
		srv.cfg.store.path = path;
	}
	if ((srv.store = store_open(&srv.cfg.store, err, sizeof(err))) ==
	    NULL) {
		fprintf(stderr, "store_open: %s\n", err);
		return -1;
	}
	srv.cfg.store.path = NULL;	/* path is on this stack */
	if ((srv.router = router_new(&srv.cfg, srv.store)) == NULL) {
		store_close(srv.store);
		return -1;
	}
	return 0;
}


#include "fakeconn.h"

static void
teardown(void)
{
	srv_free();
}

/* One server event in words: "chat:SEQ:TEXT", "ack:ID:STATUS"... */
static void
summarize(char *out, size_t outlen, const uint8_t *p, size_t len)
{
	struct codec_ev	 ev;
	char		 detail[CODEC_MAX_DETAIL + 1], *s;
	size_t		 o = strlen(out);

	if (o >= outlen)
		return;
	if ((s = malloc(len + 1)) == NULL)
		abort();
	memcpy(s, p, len);
	s[len] = '\0';
	if (codec_parse_ev(s, len, &ev, detail) == -1) {
		snprintf(out + o, outlen - o, "%sbad", o ? " " : "");
		free(s);
		return;
	}
	switch (ev.type) {
	case CODEC_EV_CHAT:
		if (ev.message_len <= 24)
			snprintf(out + o, outlen - o, "%schat:%llu:%.*s",
			    o ? " " : "", (unsigned long long)ev.seq,
			    (int)ev.message_len, ev.message);
		else
			snprintf(out + o, outlen - o, "%schat:%llu:%zuB",
			    o ? " " : "", (unsigned long long)ev.seq,
			    ev.message_len);
		break;
	case CODEC_EV_ACK:
		snprintf(out + o, outlen - o, "%sack:%s:%s", o ? " " : "",
		    ev.id, ev.status);
		break;
	case CODEC_EV_ERROR:
		snprintf(out + o, outlen - o, "%serror:%s:%s", o ? " " : "",
		    ev.error, ev.id);
		break;
	case CODEC_EV_RESUMED:
		snprintf(out + o, outlen - o, "%sresumed:%llu:%llu:%llu",
		    o ? " " : "", (unsigned long long)ev.since,
		    (unsigned long long)ev.first, (unsigned long long)ev.last);
		break;
	case CODEC_EV_PRESENCE:
		snprintf(out + o, outlen - o, "%spresence:%s:%d", o ? " " : "",
		    ev.user, ev.online);
		break;
	default:
		snprintf(out + o, outlen - o, "%sother", o ? " " : "");
		break;
	}
	codec_ev_release(&ev);
	free(s);
}

/*
 * Flush c's output and read it at the peer: every event, in words,
 * separated by spaces ("" if none).
 */
static const char *
events(struct client *c, int peer)
{
	static char	 out[65536];
	static uint8_t	 buf[1 << 20];
	size_t		 n, o = 0, plen, hl, i;

	out[0] = '\0';
	if (peer == -1)
		return "NOPEER";
	n = read_peer(c, peer, buf, sizeof(buf));
	while (o + 2 <= n) {
		plen = buf[o + 1] & 0x7f;
		hl = 2;
		if (plen == 126 && o + 4 <= n) {
			plen = (size_t)buf[o + 2] << 8 | buf[o + 3];
			hl = 4;
		} else if (plen == 127 && o + 10 <= n) {
			for (plen = 0, i = 0; i < 8; i++)
				plen = plen << 8 | buf[o + 2 + i];
			hl = 10;
		}
		if (o + hl + plen > n) {
			strncat(out, " PARTIAL", sizeof(out) - strlen(out) - 1);
			break;
		}
		if ((buf[o] & 0x0f) == 1)
			summarize(out, sizeof(out), buf + o + hl, plen);
		else
			strncat(out, strlen(out) ? " frame" : "frame",
			    sizeof(out) - strlen(out) - 1);
		o += hl + plen;
	}
	return out;
}

/* Committed messages of user, in words as events() has them. */
static const char *
kept(const char *user)
{
	static char	 out[65536];
	struct msg	*v[256];
	int		 n, i;

	out[0] = '\0';
	n = store_read(srv.store, user, 0, UINT64_MAX, 256, SIZE_MAX, v);
	if (n < 0)
		return "ERR";
	for (i = 0; i < n; i++) {
		summarize(out, sizeof(out), (const uint8_t *)v[i]->data,
		    v[i]->len);
		msg_unref(v[i]);
	}
	return out;
}

static enum route_result
submit(struct client *from, const char *to, const char *text, const char *id)
{
	return router_submit(srv.router, from, to, text, strlen(text), id);
}

/* An entry of a connection's unwritten output. */
static void
unsent_add(struct mq *q, uint64_t seq, int fresh)
{
	struct mq_ent	*e;

	if ((e = calloc(1, sizeof(*e))) == NULL ||
	    (e->m = msg_new("x", 1)) == NULL)
		abort();
	e->m->seq = seq;
	e->fresh = fresh;
	mq_push(q, e);
}

static int
has(const char **v, size_t n, const char *id)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (strcmp(v[i], id) == 0)
			return 1;
	return 0;
}

static void
test_mq(void)
{
	struct mq	 q = { NULL, NULL, 0, 0 };
	struct mq_ent	*e;
	const char	*want[] = { "a", "bb", "ccc" };
	int		 i;

	for (i = 0; i < 3; i++) {
		if ((e = calloc(1, sizeof(*e))) == NULL)
			abort();
		e->m = msg_new(want[i], strlen(want[i]));
		mq_push(&q, e);
	}
	CHECK_INT(q.n, 3);
	CHECK_INT(q.bytes, 6);
	for (i = 0; i < 3; i++) {
		e = mq_pop(&q);
		CHECK(e != NULL && strcmp(e->m->data, want[i]) == 0);
		if (e != NULL) {
			msg_unref(e->m);
			free(e);
		}
	}
	CHECK(mq_pop(&q) == NULL);
	CHECK(q.head == NULL && q.tail == NULL && q.n == 0 && q.bytes == 0);
	if ((e = calloc(1, sizeof(*e))) == NULL)
		abort();
	e->m = msg_new("x", 1);
	mq_push(&q, e);
	mq_clear(&q);
	CHECK(q.n == 0 && q.head == NULL && q.bytes == 0);
}

static void
test_users(void)
{
	struct client	*a, *b, *c, *d;
	struct mq	 none = { NULL, NULL, 0, 0 };
	const char	**v;
	char		 longid[CODEC_MAX_USER + 2];
	size_t		 n;

	if (setup(0, NULL, 3, 0) == -1) {
		CHECK(0);
		return;
	}
	a = newc();
	b = newc();
	c = newc();
	d = newc();
	CHECK_INT(router_nonline(srv.router), 0);
	CHECK_INT(router_attach(srv.router, a, "8888", 0, 0, NULL), 0);
	CHECK_INT(router_attach(srv.router, b, "8888", 0, 0, NULL), 0);
	/* --max-per-user 2 */
	CHECK_INT(router_attach(srv.router, c, "8888", 0, 0, NULL), -1);
	CHECK(c->user == NULL);
	CHECK(a->user != NULL && a->user == b->user);
	CHECK_INT(router_user_conns(a->user), 2);
	CHECK_STR(router_user_id(a->user), "8888");
	CHECK_INT(router_nonline(srv.router), 1);
	CHECK_INT(router_attach(srv.router, d, "9999", 0, 0, NULL), 0);
	CHECK_INT(router_nonline(srv.router), 2);
	v = router_online(srv.router, &n);
	CHECK_INT(n, 2);
	CHECK(v != NULL && has(v, n, "8888") && has(v, n, "9999"));
	free(v);

	/* One of two leaves: still online; room for another. */
	router_detach(srv.router, a, &none);
	CHECK(a->user == NULL);
	CHECK_INT(router_user_conns(b->user), 1);
	CHECK_INT(router_nonline(srv.router), 2);
	CHECK_INT(router_attach(srv.router, c, "8888", 0, 0, NULL), 0);
	CHECK_INT(router_user_conns(c->user), 2);
	router_detach(srv.router, b, &none);
	router_detach(srv.router, c, &none);
	CHECK_INT(router_nonline(srv.router), 1);
	v = router_online(srv.router, &n);
	CHECK_INT(n, 1);
	CHECK(v != NULL && n == 1 && strcmp(v[0], "9999") == 0);
	free(v);
	/* client_free() detaches. */
	client_free(d);
	CHECK_INT(router_nonline(srv.router), 0);
	v = router_online(srv.router, &n);
	CHECK_INT(n, 0);
	free(v);

	/* An id longer than CODEC_MAX_USER: no memory for it (-2). */
	memset(longid, 'x', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';
	CHECK_INT(router_attach(srv.router, a, longid, 0, 0, NULL), -2);
	CHECK(a->user == NULL);
	client_free(a);
	client_free(b);
	client_free(c);
	teardown();
}

static void
test_watch(void)
{
	struct client	*w, *a;
	struct mq	 none = { NULL, NULL, 0, 0 };
	char		 users[2][CODEC_MAX_USER + 1] = { "6666", "7777" };
	const char	**v;
	size_t		 n;

	if (setup(0, NULL, 3, 0) == -1) {
		CHECK(0);
		return;
	}
	w = newc();
	a = newc();
	CHECK_INT(router_watch(srv.router, w, users, 2), 0);
	CHECK_INT(w->nwatch, 2);
	CHECK(w->watch != NULL && strcmp(w->watch[1], "7777") == 0);
	/* Watched users are not online. */
	CHECK_INT(router_nonline(srv.router), 0);
	v = router_online(srv.router, &n);
	CHECK_INT(n, 0);
	free(v);
	CHECK_INT(router_attach(srv.router, a, "6666", 0, 0, NULL), 0);
	CHECK_INT(router_nonline(srv.router), 1);
	router_detach(srv.router, a, &none);
	CHECK_INT(router_nonline(srv.router), 0);
	/* Replacing the list drops the old watches. */
	CHECK_INT(router_watch(srv.router, w, users, 1), 0);
	CHECK_INT(w->nwatch, 1);
	CHECK_INT(router_watch(srv.router, w, users, 0), 0);
	CHECK_INT(w->nwatch, 0);
	CHECK(w->watch == NULL);
	CHECK_INT(router_watch(srv.router, w, users, 2), 0);
	/* A watcher that is also a user. */
	CHECK_INT(router_attach(srv.router, w, "5555", 0, 0, NULL), 0);
	router_detach(srv.router, w, &none);
	CHECK_INT(w->nwatch, 0);
	CHECK(w->watch == NULL);
	CHECK(w->user == NULL);
	CHECK_INT(router_watch(srv.router, w, users, 2), 0);
	client_free(w);
	client_free(a);
	teardown();
}

/*
 * Issue 14.1: when a user's last connection goes, "offline" goes to each
 * watcher; a watcher whose output fills is cut inside that loop, which
 * drops its watches.  Before the fix, cutting it freed the user (its
 * last watcher gone) while router_detach() still held it: a heap
 * use-after-free (ASan) or a crash.  Here the watcher's output is filled
 * to just under its cap, so the offline event cuts it, deterministically
 * (nothing is flushed to the socketpair in this test).
 */
static void
test_cut_watcher(void)
{
	struct client	*bob, *w;
	struct mq	 none = { NULL, NULL, 0, 0 };
	char		 users[1][CODEC_MAX_USER + 1] = { "bob" };
	char		 filler[100];
	size_t		 one;
	int		 wp;
	char		*p;

	if (setup(0, NULL, 3, 0) == -1) {
		CHECK(0);
		return;
	}
	p = codec_presence("bob", 0, &one);
	free(p);
	bob = newc();
	w = newc_ws(&wp);
	CHECK_INT(router_attach(srv.router, bob, "bob", 0, 0, NULL), 0);
	CHECK_INT(router_watch(srv.router, w, users, 1), 0);
	memset(filler, 'f', sizeof(filler));
	/* A send of len bytes fits while len + 14 <= room (ws.c). */
	while (client_room(w) >= one + 14 + sizeof(filler) + 14)
		(void)client_send_text(w, filler, sizeof(filler));
	while (client_room(w) >= one + 14)
		(void)client_send_text(w, filler, 1);
	CHECK(!w->cut);
	CHECK(client_room(w) < one + 14);
	/* bob leaves: the watcher is cut while it is told. */
	router_detach(srv.router, bob, &none);
	router_reap(srv.router);
	CHECK(w->cut);
	CHECK_INT(router_nonline(srv.router), 0);
	client_free(w);
	client_free(bob);
	router_reap(srv.router);
	if (wp != -1)
		close(wp);
	teardown();
}

/*
 * The event m must be: exactly the codec's text for from/text_json
 * and seq, with a ts between t0 and t1.
 */
static void
check_event(const struct msg *m, const char *from, const char *text_json,
    uint64_t seq, uint64_t t0, uint64_t t1)
{
	struct codec_ev	ev;
	char		detail[CODEC_MAX_DETAIL + 1], want[512];
	uint64_t	ts = 0;

	CHECK_INT(m->seq, seq);
	CHECK_INT(m->len, strlen(m->data));
	if (codec_parse_ev(m->data, m->len, &ev, detail) == 0) {
		ts = ev.ts;
		codec_ev_release(&ev);
	}
	CHECK(ts >= t0 && ts <= t1);
	snprintf(want, sizeof(want), "{\"message\":\"%s\",\"from_user\":\"%s\","
	    "\"ts\":%llu,\"seq\":%llu}", text_json, from,
	    (unsigned long long)ts, (unsigned long long)seq);
	CHECK_STR(m->data, want);
}

/* Numbering, the group commit, refusals; no sockets anywhere. */
static void
test_submit(int sql)
{
	struct client	*s;
	struct msg	*v[8];
	uint64_t	 t0, t1;
	int		 n, i;

	if (setup(sql, "submit", 3, 0) == -1) {
		CHECK(0);
		return;
	}
	s = newc();
	CHECK_INT(router_attach(srv.router, s, "1111", 0, 0, NULL), 0);
	t0 = util_wall_ms();
	CHECK_INT(submit(s, "2222", "one", "\"i1\""), ROUTE_PENDING);
	CHECK_INT(submit(s, "2222", "a\"b\\c", "7"), ROUTE_PENDING);
	CHECK_INT(submit(s, "2222", "three", ""), ROUTE_PENDING);
	/* --queue-limit 3 undelivered, counting the open batch. */
	CHECK_INT(submit(s, "2222", "four", "\"i4\""), ROUTE_FULL);
	CHECK_INT(submit(s, "3333", "other", "\"i5\""), ROUTE_PENDING);
	/* To oneself is a message like any other. */
	CHECK_INT(submit(s, "1111", "self", "\"i6\""), ROUTE_PENDING);
	/* Nothing readable, nothing answered before the commit. */
	CHECK_INT(store_last(srv.store, "2222"), 0);
	CHECK_STR(kept("2222"), "");
	CHECK_INT(srv.st_queued, 0);
	router_commit(srv.router);
	t1 = util_wall_ms();
	/* Five answers "queued": no connection could take them. */
	CHECK_INT(srv.st_queued, 5);
	CHECK_INT(srv.st_delivered, 0);
	CHECK_INT(store_last(srv.store, "2222"), 3);
	CHECK_INT(store_last(srv.store, "3333"), 1);
	CHECK_INT(store_last(srv.store, "1111"), 1);
	CHECK_STR(kept("2222"), "chat:1:one chat:2:a\"b\\c chat:3:three");
	CHECK_STR(kept("1111"), "chat:1:self");
	n = store_read(srv.store, "2222", 0, UINT64_MAX, 8, SIZE_MAX, v);
	CHECK_INT(n, 3);
	if (n == 3) {
		check_event(v[0], "1111", "one", 1, t0, t1);
		check_event(v[1], "1111", "a\\\"b\\\\c", 2, t0, t1);
		check_event(v[2], "1111", "three", 3, t0, t1);
	}
	for (i = 0; i < n; i++)
		msg_unref(v[i]);
	n = store_read(srv.store, "3333", 0, UINT64_MAX, 8, SIZE_MAX, v);
	CHECK_INT(n, 1);
	if (n == 1) {
		check_event(v[0], "1111", "other", 1, t0, t1);
		msg_unref(v[0]);
	}

	/* Still three undelivered; one delivered makes room for one. */
	CHECK_INT(submit(s, "2222", "four", "\"i4\""), ROUTE_FULL);
	store_sent_set(srv.store, "2222", 1);
	CHECK_INT(submit(s, "2222", "four", "\"i4\""), ROUTE_PENDING);
	CHECK_INT(submit(s, "2222", "five", "\"i5\""), ROUTE_FULL);
	router_commit(srv.router);
	CHECK_INT(srv.st_queued, 6);
	CHECK_INT(store_last(srv.store, "2222"), 4);
	/* A commit with nothing pending answers nothing. */
	router_commit(srv.router);
	CHECK_INT(srv.st_queued, 6);
	client_free(s);
	teardown();
}

/* A sender freed before the commit: its answers are dropped. */
static void
test_forget(int sql)
{
	struct client	*s1, *s2, *s3;

	if (setup(sql, "forget", 100, 0) == -1) {
		CHECK(0);
		return;
	}
	s1 = newc();
	s2 = newc();
	s3 = newc();
	CHECK_INT(router_attach(srv.router, s1, "1111", 0, 0, NULL), 0);
	CHECK_INT(router_attach(srv.router, s2, "1112", 0, 0, NULL), 0);
	CHECK_INT(router_attach(srv.router, s3, "1113", 0, 0, NULL), 0);
	CHECK_INT(submit(s1, "2222", "a", "\"1\""), ROUTE_PENDING);
	CHECK_INT(submit(s2, "2222", "b", "\"2\""), ROUTE_PENDING);
	CHECK_INT(submit(s1, "2222", "c", "\"3\""), ROUTE_PENDING);
	/* client_free() calls router_forget(). */
	client_free(s1);
	/* Forgetting one with nothing pending is harmless. */
	router_forget(srv.router, s3);
	router_commit(srv.router);
	/* Only s2 was answered; all three messages are kept. */
	CHECK_INT(srv.st_queued, 1);
	CHECK_STR(kept("2222"), "chat:1:a chat:2:b chat:3:c");
	/* Freed before router_free(), which commits. */
	CHECK_INT(submit(s3, "2222", "d", "\"4\""), ROUTE_PENDING);
	client_free(s3);
	client_free(s2);
	teardown();
	if (sql) {
		/* The last pass was committed by router_free(). */
		CHECK_INT(setup(sql, "forget", 100, 0), 0);
		CHECK_STR(kept("2222"), "chat:1:a chat:2:b chat:3:c chat:4:d");
		teardown();
	}
}

/*
 * The cursor moves back when the last connection leaves with messages
 * it was the first to be sent and never wrote (mq entries marked
 * fresh, made by hand here).
 */
static void
test_detach_cursor(int sql)
{
	struct client	*s, *t, *t2;
	struct mq	 unsent = { NULL, NULL, 0, 0 };

	if (setup(sql, "cursor", 100, 0) == -1) {
		CHECK(0);
		return;
	}
	s = newc();
	t = newc();
	t2 = newc();
	CHECK_INT(router_attach(srv.router, s, "1111", 0, 0, NULL), 0);
	CHECK_INT(submit(s, "2222", "a", ""), ROUTE_PENDING);
	CHECK_INT(submit(s, "2222", "b", ""), ROUTE_PENDING);
	CHECK_INT(submit(s, "2222", "c", ""), ROUTE_PENDING);
	router_commit(srv.router);
	store_sent_set(srv.store, "2222", 3);
	store_commit(srv.store);
	/* Without since a connection starts at the cursor. */
	CHECK_INT(router_attach(srv.router, t, "2222", 0, 0, NULL), 0);
	CHECK_INT(t->seq, 3);
	CHECK_INT(router_attach(srv.router, t2, "2222", 0, 0, NULL), 0);
	CHECK_INT(t2->seq, 3);
	/* Not the last one: the cursor stays. */
	unsent_add(&unsent, 2, 1);
	unsent_add(&unsent, 3, 1);
	router_detach(srv.router, t, &unsent);
	CHECK_INT(unsent.n, 0);
	CHECK(unsent.head == NULL);
	CHECK_INT(store_sent(srv.store, "2222"), 3);
	/* The last one: back before its first fresh one. */
	unsent_add(&unsent, 1, 0);
	unsent_add(&unsent, 2, 1);
	unsent_add(&unsent, 3, 0);
	router_detach(srv.router, t2, &unsent);
	CHECK_INT(unsent.n, 0);
	CHECK_INT(store_sent(srv.store, "2222"), 1);
	/* The next connection starts there. */
	CHECK_INT(router_attach(srv.router, t, "2222", 0, 0, NULL), 0);
	CHECK_INT(t->seq, 1);
	/* Nothing fresh: the cursor stays. */
	unsent_add(&unsent, 2, 0);
	router_detach(srv.router, t, &unsent);
	CHECK_INT(store_sent(srv.store, "2222"), 1);
	/* Two undelivered: room for one more under --queue-limit... */
	store_commit(srv.store);
	client_free(s);
	client_free(t);
	client_free(t2);
	teardown();
	if (sql) {
		/* ...and the moved cursor is in the file. */
		CHECK_INT(setup(sql, "cursor", 100, 0), 0);
		CHECK_INT(store_sent(srv.store, "2222"), 1);
		teardown();
	}
}

/* Delivery to connections with sockets, answers, replay, presence. */
static void
test_ws(int sql)
{
	struct client	*s, *t, *t2, *t3, *w, *x;
	int		 sp, tp, tp2, tp3, wp, xp, i;
	char		 users[2][CODEC_MAX_USER + 1] = { "2222", "4444" };

	if (setup(sql, "ws", 3, 0) == -1) {
		CHECK(0);
		return;
	}
	s = newc_ws(&sp);
	t = newc_ws(&tp);
	w = newc_ws(&wp);
	CHECK_INT(router_attach(srv.router, s, "1111", 0, 0, NULL), 0);
	CHECK_INT(router_watch(srv.router, w, users, 2), 0);
	CHECK_STR(events(w, wp), "presence:2222:0 presence:4444:0");
	CHECK_INT(router_attach(srv.router, t, "2222", 0, 0, NULL), 0);
	CHECK_STR(events(w, wp), "presence:2222:1");
	CHECK_STR(events(t, tp), "");

	CHECK_INT(submit(s, "2222", "hi", "\"a\""), ROUTE_PENDING);
	/* Nothing goes out before the commit. */
	CHECK_STR(events(t, tp), "");
	CHECK_STR(events(s, sp), "");
	router_commit(srv.router);
	CHECK_STR(events(s, sp), "ack:\"a\":delivered");
	CHECK_STR(events(t, tp), "chat:1:hi");
	CHECK_INT(srv.st_delivered, 1);
	CHECK_INT(store_sent(srv.store, "2222"), 1);

	/* Both connections of a user get it, with the same seq. */
	t2 = newc_ws(&tp2);
	CHECK_INT(router_attach(srv.router, t2, "2222", 0, 0, NULL), 0);
	CHECK_INT(t2->seq, 1);
	CHECK_INT(submit(s, "2222", "yo", ""), ROUTE_PENDING);
	router_commit(srv.router);
	CHECK_STR(events(s, sp), "");		/* no id, no ack */
	CHECK_STR(events(t, tp), "chat:2:yo");
	CHECK_STR(events(t2, tp2), "chat:2:yo");
	CHECK_INT(srv.st_delivered, 2);
	/* Written: leaving does not move the cursor. */
	free_ws(t2, tp2);
	CHECK_INT(store_sent(srv.store, "2222"), 2);
	CHECK_STR(events(w, wp), "");

	/* Caught up: more than --queue-limit in a pass goes through. */
	for (i = 0; i < 4; i++)
		CHECK_INT(submit(s, "2222", "m", ""), ROUTE_PENDING);
	router_commit(srv.router);
	CHECK_STR(events(t, tp), "chat:3:m chat:4:m chat:5:m chat:6:m");
	CHECK_INT(store_sent(srv.store, "2222"), 6);

	/* Sent but not written when the last connection goes: kept. */
	CHECK_INT(submit(s, "2222", "m7", "\"b\""), ROUTE_PENDING);
	router_commit(srv.router);
	CHECK_STR(events(s, sp), "ack:\"b\":delivered");
	CHECK_INT(store_sent(srv.store, "2222"), 7);
	free_ws(t, tp);
	CHECK_STR(events(w, wp), "presence:2222:0");
	CHECK_INT(store_sent(srv.store, "2222"), 6);
	/* Offline: queued, then the next connection gets it. */
	CHECK_INT(submit(s, "2222", "m8", "\"c\""), ROUTE_PENDING);
	router_commit(srv.router);
	CHECK_STR(events(s, sp), "ack:\"c\":queued");
	t = newc_ws(&tp);
	CHECK_INT(router_attach(srv.router, t, "2222", 0, 0, NULL), 0);
	CHECK_STR(events(t, tp), "chat:7:m7 chat:8:m8");
	CHECK_INT(store_sent(srv.store, "2222"), 8);
	CHECK_STR(events(w, wp), "presence:2222:1");

	/* Resume: "resumed", then everything kept after since. */
	t3 = newc_ws(&tp3);
	CHECK_INT(router_attach(srv.router, t3, "2222", 1, 5, NULL), 0);
	CHECK_STR(events(t3, tp3),
	    "resumed:5:1:8 chat:6:m chat:7:m7 chat:8:m8");
	/* Beyond the newest (numbering restarted): from 0. */
	router_resume(srv.router, t3, 99, NULL);
	CHECK_STR(events(t3, tp3), "resumed:0:1:8 chat:1:hi chat:2:yo "
	    "chat:3:m chat:4:m chat:5:m chat:6:m chat:7:m7 chat:8:m8");
	/* Another numbering's seq (epoch): from 0; ours: as asked. */
	router_resume(srv.router, t3, 8, "0123456789abcdef");
	CHECK_STR(events(t3, tp3), "resumed:0:1:8 chat:1:hi chat:2:yo "
	    "chat:3:m chat:4:m chat:5:m chat:6:m chat:7:m7 chat:8:m8");
	router_resume(srv.router, t3, 7, store_epoch(srv.store));
	CHECK_STR(events(t3, tp3), "resumed:7:1:8 chat:8:m8");
	/* Then live, to both. */
	CHECK_INT(submit(s, "2222", "m9", ""), ROUTE_PENDING);
	router_commit(srv.router);
	CHECK_STR(events(t3, tp3), "chat:9:m9");
	CHECK_STR(events(t, tp), "chat:9:m9");
	/* --max-per-user 2 */
	x = newc_ws(&xp);
	CHECK_INT(router_attach(srv.router, x, "2222", 1, 0, NULL), -1);
	CHECK_STR(events(x, xp), "");
	/* Another user, watched: presence both ways. */
	CHECK_INT(router_attach(srv.router, x, "4444", 0, 0, NULL), 0);
	CHECK_STR(events(w, wp), "presence:4444:1");
	free_ws(x, xp);
	CHECK_STR(events(w, wp), "presence:4444:0");

	free_ws(t3, tp3);
	free_ws(t, tp);
	free_ws(w, wp);
	free_ws(s, sp);
	teardown();
}

/*
 * Numbering while a user is online cannot restart, even when retention
 * dropped everything: the router holds its inbox from its first
 * message on.  Offline, a memory inbox with nothing left goes with its
 * numbering; a connection resuming past the newest seq is replayed
 * from 0.  A file keeps numbering.
 */
static void
test_numbering(int sql)
{
	struct client	*s, *t;
	int		 tp;
	uint64_t	 now = util_wall_ms(), day = 86400000;

	if (setup(sql, "numbering", 100, 1) == -1) {
		CHECK(0);
		return;
	}
	s = newc();
	t = newc_ws(&tp);
	CHECK_INT(router_attach(srv.router, s, "1111", 0, 0, NULL), 0);
	/* Online with no inbox yet. */
	CHECK_INT(router_attach(srv.router, t, "2222", 0, 0, NULL), 0);
	CHECK_INT(submit(s, "2222", "m1", ""), ROUTE_PENDING);
	router_commit(srv.router);
	CHECK_STR(events(t, tp), "chat:1:m1");
	store_expire(srv.store, now + 10 * day);
	router_commit(srv.router);
	CHECK_INT(store_count(srv.store), 0);
	CHECK_INT(submit(s, "2222", "m2", ""), ROUTE_PENDING);
	router_commit(srv.router);
	CHECK_STR(events(t, tp), "chat:2:m2");
	free_ws(t, tp);
	/* Offline, all delivered, then all dropped. */
	store_expire(srv.store, now + 20 * day);
	router_commit(srv.router);
	CHECK_INT(store_count(srv.store), 0);
	CHECK_INT(submit(s, "2222", "m3", ""), ROUTE_PENDING);
	router_commit(srv.router);
	t = newc_ws(&tp);
	CHECK_INT(router_attach(srv.router, t, "2222", 1, 2, NULL), 0);
	if (sql)
		CHECK_STR(events(t, tp), "resumed:2:3:3 chat:3:m3");
	else
		CHECK_STR(events(t, tp), "resumed:0:1:1 chat:1:m3");
	free_ws(t, tp);
	client_free(s);
	teardown();
}

/* Far behind: the replay goes in steps, as output drains. */
static void
test_catch_up(int sql)
{
	struct client	*s, *t;
	char		 text[901], *p, *q;
	const char	*ev;
	uint64_t	 want = 1, seq;
	int		 tp, i, rounds = 0, bad = 0;

	if (setup(sql, "catchup", 1000, 0) == -1) {
		CHECK(0);
		return;
	}
	srv.cfg.max_message = 1000;
	s = newc();
	CHECK_INT(router_attach(srv.router, s, "1111", 0, 0, NULL), 0);
	memset(text, 'y', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	for (i = 0; i < 150; i++) {
		CHECK_INT(submit(s, "2222", text, ""), ROUTE_PENDING);
		if (i % 10 == 9)
			router_commit(srv.router);
	}
	t = newc_ws(&tp);
	CHECK_INT(router_attach(srv.router, t, "2222", 0, 0, NULL), 0);
	/* Not all at once: at most --max-output bytes are queued. */
	CHECK(t->seq > 1 && t->seq < 150);
	CHECK(client_pending(t) <= srv.cfg.max_output);
	while (want <= 150 && rounds++ < 100 && !bad) {
		ev = events(t, tp);
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
		router_catch_up(srv.router, t);
	}
	CHECK_INT(bad, 0);
	CHECK_INT(want, 151);
	CHECK(rounds > 2);
	CHECK_INT(t->seq, 150);
	CHECK_INT(store_sent(srv.store, "2222"), 150);
	CHECK_STR(events(t, tp), "");
	/* Caught up: nothing more to do. */
	router_catch_up(srv.router, t);
	CHECK_STR(events(t, tp), "");
	free_ws(t, tp);
	client_free(s);
	teardown();
}

/* SQLite: writes fail (RLIMIT_FSIZE), then work again. */
static void
test_store_fails(void)
{
	struct client	*s, *t;
	struct rlimit	 old, rl;
	struct stat	 sb;
	void		(*oldsig)(int);
	char		 path[1200], text[3001], want[64], *ev;
	off_t		 size = 0;
	uint64_t	 last;
	enum route_result res;
	int		 sp, tp, i, j, failed = 0, refused = 0;

	if (setup(1, "rfail", 100000, 0) == -1) {
		CHECK(0);
		return;
	}
	s = newc_ws(&sp);
	t = newc_ws(&tp);
	CHECK_INT(router_attach(srv.router, s, "1111", 0, 0, NULL), 0);
	CHECK_INT(router_attach(srv.router, t, "2222", 0, 0, NULL), 0);
	CHECK_INT(submit(s, "2222", "ok", "\"0\""), ROUTE_PENDING);
	router_commit(srv.router);
	CHECK_STR(events(s, sp), "ack:\"0\":delivered");
	CHECK_STR(events(t, tp), "chat:1:ok");

	memset(text, 'z', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	snprintf(path, sizeof(path), "%s/rfail.db", top);
	if (stat(path, &sb) == 0)
		size = sb.st_size;
	snprintf(path, sizeof(path), "%s/rfail.db-wal", top);
	if (stat(path, &sb) == 0 && sb.st_size > size)
		size = sb.st_size;
	CHECK(getrlimit(RLIMIT_FSIZE, &old) == 0);
	oldsig = signal(SIGXFSZ, SIG_IGN);
	fflush(stderr);
	rl = old;
	rl.rlim_cur = (rlim_t)size + 65536;
	CHECK(setrlimit(RLIMIT_FSIZE, &rl) == 0);
	for (i = 0; i < 500 && !failed; i++) {
		for (j = 0; j < 3; j++) {
			res = submit(s, "2222", text, "\"x\"");
			if (res == ROUTE_UNAVAILABLE)
				refused++;
			else
				CHECK_INT(res, ROUTE_PENDING);
		}
		last = store_last(srv.store, "2222");
		router_commit(srv.router);
		ev = (char *)events(s, sp);
		if (strstr(ev, "error:store_unavailable") != NULL) {
			failed = 1;
			/* Not committed: not delivered, not numbered. */
			CHECK_INT(store_last(srv.store, "2222"), last);
			CHECK(store_failing(srv.store));
			CHECK(strstr(ev, "delivered") == NULL);
		}
		ev = (char *)events(t, tp);
		if (failed)
			CHECK_STR(ev, "");
	}
	CHECK_INT(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, oldsig);
	CHECK_INT(failed, 1);
	CHECK(srv.st_refused > 0);
	last = store_last(srv.store, "2222");
	/* Works again: the next one takes the next seq. */
	CHECK_INT(submit(s, "2222", "back", "\"y\""), ROUTE_PENDING);
	router_commit(srv.router);
	CHECK_INT(store_failing(srv.store), 0);
	CHECK_STR(events(s, sp), "ack:\"y\":delivered");
	snprintf(want, sizeof(want), "chat:%llu:back",
	    (unsigned long long)last + 1);
	CHECK_STR(events(t, tp), want);
	CHECK_INT(store_sent(srv.store, "2222"), last + 1);
	free_ws(t, tp);
	free_ws(s, sp);
	teardown();
}

int
main(void)
{
	const char	*tmp = getenv("TEST_TMP");
	int		 sql;

	if (tmp == NULL || *tmp == '\0')
		tmp = getenv("TMPDIR");
	snprintf(top, sizeof(top), "%s/router-test.XXXXXX",
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	if (mkdtemp(top) == NULL) {
		perror(top);
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	log_init("test_router", LOG_ERROR, stderr);
	test_mq();
	test_users();
	test_watch();
	test_cut_watcher();
	for (sql = 0; sql <= 1; sql++) {
		test_submit(sql);
		test_forget(sql);
		test_detach_cursor(sql);
		test_ws(sql);
		test_numbering(sql);
		test_catch_up(sql);
	}
	test_store_fails();
	nftw(top, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return test_done();
}
