/*
 * Copyright (c) 2026 The chat authors.
 *
 * Unit tests for server/presence.c, on its own: users, presence and
 * fake connections (a deliver_ops that records the events a watcher is
 * sent; any chat message or answer to one would be a failure), no
 * router and no sockets.
 *
 * Among nodes: what other nodes say on chat.presence ("on", "off",
 * "reset" and "end" snapshots, "hb", "sync"), the messages we publish
 * (captured from the send function given to presence_cluster() and
 * parsed with jansson), time driven by the now argument: sync requests
 * at most every 2 s per node, our heartbeat at most once a second,
 * silent nodes dropped after 3 s, snapshots without flicker, 10,000
 * users on each of two nodes.  Input that is not what a node would
 * send is ignored.
 *
 * Here: presence_local() (what we say, the online count), watch and
 * unwatch (a list replaced, an id listed twice watched once, the state
 * of each sent at once), events to watchers when a user comes or goes
 * here or elsewhere, "who" (everyone online once, built again only
 * after a change, cut to half of max_output), and a watcher whose send
 * fails while it is told (issue 14.1's shape: it is cut, never called
 * again, and users are freed only by users_reap(), never under a
 * call).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "codec.h"
#include "deliver.h"
#include "fakeconn.h"
#include "log.h"
#include "presence.h"
#include "tap.h"
#include "users.h"

#define OURS	"0123456789abcdef0123456789abcdef"	/* 32, as nats-link.c */
#define T0	1000000ULL	/* a monotonic clock well past 0 */
#define MAXSENT	4096
#define MAXOUT	(1 << 20)

static struct users	*us;

/* What presence.c published, each a NUL-terminated copy. */
static struct {
	char	*v[MAXSENT];
	size_t	 n, dropped, badlen, badarg;
} sent;

static void
cap_send(void *arg, const char *json, size_t len)
{
	char	*p;

	if (arg != &sent)
		sent.badarg++;
	if (json == NULL || strlen(json) != len)
		sent.badlen++;
	if (sent.n == MAXSENT || json == NULL) {
		sent.dropped++;
		return;
	}
	if ((p = malloc(len + 1)) == NULL)
		abort();
	memcpy(p, json, len);
	p[len] = '\0';
	sent.v[sent.n++] = p;
}

static void
sent_clear(void)
{
	size_t	i;

	for (i = 0; i < sent.n; i++)
		free(sent.v[i]);
	memset(&sent, 0, sizeof(sent));
}

/* Message i as an object from us with exactly nkeys keys, or NULL. */
static json_t *
sent_obj(size_t i, size_t nkeys)
{
	json_t		*o;
	json_error_t	 err;

	if (i >= sent.n)
		return NULL;
	if ((o = json_loads(sent.v[i], 0, &err)) == NULL)
		return NULL;
	if (!json_is_object(o) || json_object_size(o) != nkeys ||
	    !json_is_string(json_object_get(o, "node")) ||
	    strcmp(json_string_value(json_object_get(o, "node")), OURS) != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* Message i is {"node":OURS,"sync":target}. */
static int
is_sync(size_t i, const char *target)
{
	json_t	*o = sent_obj(i, 2), *v;
	int	 ok;

	if (o == NULL)
		return 0;
	v = json_object_get(o, "sync");
	ok = json_is_string(v) && strcmp(json_string_value(v), target) == 0;
	json_decref(o);
	return ok;
}

/* Message i is {"node":OURS,"hb":count}. */
static int
is_hb(size_t i, long long count)
{
	json_t	*o = sent_obj(i, 2), *v;
	int	 ok;

	if (o == NULL)
		return 0;
	v = json_object_get(o, "hb");
	ok = json_is_integer(v) && json_integer_value(v) == count;
	json_decref(o);
	return ok;
}

/*
 * Message i is a snapshot chunk {"node":OURS,"on":[...]} with
 * "reset":true if reset (the first) and "end":true if end (the last),
 * and nothing else.
 */
static int
is_chunk(size_t i, int reset, int end)
{
	json_t	*o = sent_obj(i, 2 + (reset != 0) + (end != 0));
	int	 ok;

	if (o == NULL)
		return 0;
	ok = json_is_array(json_object_get(o, "on")) &&
	    (!reset || json_is_true(json_object_get(o, "reset"))) &&
	    (!end || json_is_true(json_object_get(o, "end")));
	json_decref(o);
	return ok;
}

/*
 * Message i is {"node":OURS,key:[strings]}: how many (appended to
 * *all, space-separated, if all is not NULL), or -1.
 */
static long
list_of(size_t i, const char *key, char *all, size_t alllen)
{
	json_t	*o, *a, *v;
	size_t	 keys = 2;
	size_t	 k;
	long	 n = -1;

	/* Snapshot chunks may also carry "reset" and "end". */
	if (i < sent.n && strstr(sent.v[i], "\"reset\"") != NULL)
		keys++;
	if (i < sent.n && strstr(sent.v[i], "\"end\"") != NULL)
		keys++;
	if ((o = sent_obj(i, keys)) == NULL)
		return -1;
	a = json_object_get(o, key);
	if (!json_is_array(a))
		goto out;
	for (k = 0; k < json_array_size(a); k++) {
		v = json_array_get(a, k);
		if (!json_is_string(v))
			goto out;
		if (all != NULL) {
			if (*all != '\0')
				strncat(all, " ", alllen - strlen(all) - 1);
			strncat(all, json_string_value(v),
			    alllen - strlen(all) - 1);
		}
	}
	n = (long)json_array_size(a);
out:
	json_decref(o);
	return n;
}

static void
in(struct presence *pr, uint64_t now, int ready, const char *json)
{
	presence_input(pr, json, strlen(json), now, ready);
}

static int
cmpstr(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}


/* ---- watchers ---- */

/* c leaves (after the pass, as client_detach() does), then is freed. */
static void
freec(struct presence *pr, struct fconn *c)
{
	presence_unwatch(pr, &c->pc);
	c->gone = 1;
	free(c);
}

/* ---- users ---- */

/* Is id online on another node, as pr holds it in users table u? */
static int
rem_in(struct users *u, const struct presence *pr, const char *id)
{
	struct user	*x = users_find(u, id);

	return x != NULL && presence_remote(pr, x);
}

static int
rem(const struct presence *pr, const char *id)
{
	return rem_in(us, pr, id);
}

/* id got its first connection here (on) or lost its last. */
static void
here(struct presence *pr, const char *id, int on)
{
	struct user	*u;

	if ((u = users_get(us, id)) == NULL)
		abort();
	presence_local(pr, u, on);
}

/*
 * Everyone online, from "who": sorted, space-separated.  "DUP" if one
 * is listed twice; "NOTREMOTE" if, with nobody online here, one is
 * listed that presence_remote() says is not online elsewhere.
 */
static const char *
online(struct presence *pr)
{
	static const char *v[32768];
	static char	 out[1 << 19];
	struct codec_ev	 ev;
	char		 detail[CODEC_MAX_DETAIL + 1];
	const char	*p;
	size_t		 n, i, o = 0, l, len;

	out[0] = '\0';
	if ((p = presence_who(pr, &len)) == NULL)
		return "NOMEM";
	if (codec_parse_ev(p, len, &ev, detail) == -1 ||
	    ev.type != CODEC_EV_WHO)
		return "BAD";
	if ((n = ev.nusers) > sizeof(v) / sizeof(v[0]))
		n = sizeof(v) / sizeof(v[0]);
	CHECK_INT(n, presence_nonline(pr));
	for (i = 0; i < n; i++)
		v[i] = ev.users[i];
	qsort(v, n, sizeof(v[0]), cmpstr);
	for (i = 0; i < n; i++) {
		if (i > 0 && strcmp(v[i - 1], v[i]) == 0) {
			o = snprintf(out, sizeof(out), "DUP");
			break;
		}
		if (presence_nlocal(pr) == 0 && !rem(pr, v[i])) {
			o = snprintf(out, sizeof(out), "NOTREMOTE");
			break;
		}
		l = strlen(v[i]);
		if (o + l + 2 > sizeof(out))
			break;
		if (i > 0)
			out[o++] = ' ';
		memcpy(out + o, v[i], l + 1);
		o += l;
	}
	codec_ev_release(&ev);
	return out;
}

/* Users and presence in a cluster as OURS, publishing into sent. */
static struct presence *
start_out(size_t max_output)
{
	struct presence	*pr;

	sent_clear();
	if ((us = users_new()) == NULL ||
	    (pr = presence_new(us, &fake_ops, max_output)) == NULL) {
		CHECK(0);
		return NULL;
	}
	presence_cluster(pr, OURS, cap_send, &sent);
	return pr;
}

/*
 * A presence in a cluster whose NATS is up (a first sweep at time 0,
 * long before T0): silent nodes may go from the first sweep on.
 */
static struct presence *
start(void)
{
	struct presence	*pr;

	if ((pr = start_out(MAXOUT)) != NULL) {
		presence_tick(pr, 0, 1);
		sent_clear();
	}
	return pr;
}

/*
 * A sweep with NATS up, for what it does to silent nodes: the heartbeat
 * it may send is not kept in sent.
 */
static void
sweep(struct presence *pr, uint64_t now)
{
	size_t	n = sent.n;

	presence_tick(pr, now, 1);
	while (sent.n > n)
		free(sent.v[--sent.n]);
}

/* Everything goes; nothing may hold a user any more. */
static void
finish(struct presence *pr)
{
	presence_free(pr);
	users_reap(us);
	CHECK_INT(users_count(us), 0);
	users_free(us);
	us = NULL;
	sent_clear();
}

/* Our own messages (a NATS subscriber gets them too) change nothing. */
static void
test_own(void)
{
	struct presence	*pr;

	if ((pr = start()) == NULL)
		return;
	in(pr, T0, 1, "{\"node\":\"" OURS "\",\"on\":[\"u1\",\"u2\"]}");
	in(pr, T0, 1, "{\"node\":\"" OURS "\",\"hb\":7}");
	in(pr, T0, 1, "{\"node\":\"" OURS "\",\"reset\":true}");
	in(pr, T0, 1, "{\"node\":\"" OURS "\",\"sync\":\"" OURS "\"}");
	in(pr, T0, 1, "{\"node\":\"" OURS "\",\"off\":[\"u1\"]}");
	CHECK_INT(presence_nremote(pr), 0);
	CHECK_INT(presence_nodes(pr), 0);
	CHECK_INT(rem(pr, "u1"), 0);
	CHECK_STR(online(pr), "");
	CHECK_INT(sent.n, 0);
	/* Never dropped as silent either: it is not held. */
	sweep(pr, T0 + 10000);
	CHECK_INT(presence_nodes(pr), 0);
	CHECK_INT(sent.n, 0);
	presence_free(NULL);
	finish(pr);
}

/*
 * A node heard during a pass is stamped with the clock then; a sweep
 * run on a reading taken before it must not find it silent (the
 * unsigned difference would be huge), and a later one does, in time.
 */
static void
test_heard_after_now(void)
{
	struct presence	*pr;

	if ((pr = start()) == NULL)
		return;
	in(pr, T0 + 50, 1, "{\"node\":\"A\",\"on\":[\"u1\"]}");
	sweep(pr, T0);
	CHECK_INT(presence_nodes(pr), 1);
	CHECK_INT(rem(pr, "u1"), 1);
	sweep(pr, T0 + 50 + 2999);
	CHECK_INT(presence_nodes(pr), 1);
	sweep(pr, T0 + 50 + 3000);
	CHECK_INT(presence_nodes(pr), 0);
	CHECK_INT(rem(pr, "u1"), 0);
	finish(pr);
}

/* on/off from one and two nodes; each user listed once. */
static void
test_on_off(void)
{
	struct presence	*pr;

	if ((pr = start()) == NULL)
		return;
	in(pr, T0, 1, "{\"node\":\"A\",\"on\":[\"u1\",\"u2\"]}");
	CHECK_INT(rem(pr, "u1"), 1);
	CHECK_INT(rem(pr, "u2"), 1);
	CHECK_INT(rem(pr, "u3"), 0);
	CHECK_STR(online(pr), "u1 u2");
	CHECK_INT(presence_nremote(pr), 2);
	CHECK_INT(presence_nodes(pr), 1);
	/* Said again: nothing changes. */
	in(pr, T0, 1, "{\"node\":\"A\",\"on\":[\"u1\",\"u1\"]}");
	CHECK_INT(presence_nremote(pr), 2);
	CHECK_STR(online(pr), "u1 u2");

	/* The same user on another node: two entries, listed once. */
	in(pr, T0, 1, "{\"node\":\"B\",\"on\":[\"u2\",\"u3\"]}");
	CHECK_INT(presence_nremote(pr), 4);
	CHECK_INT(presence_nodes(pr), 2);
	CHECK_STR(online(pr), "u1 u2 u3");
	/* Online anywhere: each user once. */
	CHECK_INT(presence_nonline(pr), 3);

	/* Off on one of two nodes: still online. */
	in(pr, T0, 1, "{\"node\":\"A\",\"off\":[\"u2\"]}");
	CHECK_INT(rem(pr, "u2"), 1);
	CHECK_INT(presence_nremote(pr), 3);
	CHECK_STR(online(pr), "u1 u2 u3");
	/* Off for a user only another node has: nothing. */
	in(pr, T0, 1, "{\"node\":\"A\",\"off\":[\"u3\",\"nobody\"]}");
	CHECK_INT(rem(pr, "u3"), 1);
	CHECK_INT(presence_nremote(pr), 3);
	/* Off on the last node: offline. */
	in(pr, T0, 1, "{\"node\":\"B\",\"off\":[\"u2\"]}");
	CHECK_INT(rem(pr, "u2"), 0);
	CHECK_INT(presence_nremote(pr), 2);
	CHECK_STR(online(pr), "u1 u3");
	/* Off twice is harmless. */
	in(pr, T0, 1, "{\"node\":\"B\",\"off\":[\"u2\"]}");
	CHECK_INT(presence_nremote(pr), 2);
	in(pr, T0, 1, "{\"node\":\"A\",\"off\":[\"u1\"]}");
	in(pr, T0, 1, "{\"node\":\"B\",\"off\":[\"u3\"]}");
	CHECK_INT(presence_nremote(pr), 0);
	CHECK_STR(online(pr), "");
	/* Nodes stay while they are heard from. */
	CHECK_INT(presence_nodes(pr), 2);
	/* Nothing of this makes us publish. */
	CHECK_INT(sent.n, 0);
	/* Entries left at the end are freed (ASan: no leak). */
	in(pr, T0, 1, "{\"node\":\"A\",\"on\":[\"left1\",\"left2\"]}");
	finish(pr);
}

/* Many users on two nodes: chains in the hash table, each listed once. */
static void
test_many(void)
{
	struct presence	*pr;
	json_t		*o, *a;
	char		 id[32], *s;
	int		 i, node, bad = 0;

	if ((pr = start()) == NULL)
		return;
	for (node = 0; node < 2; node++) {
		a = json_array();
		for (i = 0; i < 10000; i++) {
			snprintf(id, sizeof(id), "user%05d", i);
			json_array_append_new(a, json_string(id));
		}
		o = json_pack("{s:s, s:o}", "node", node ? "B" : "A", "on", a);
		s = json_dumps(o, JSON_COMPACT);
		CHECK(s != NULL);
		if (s != NULL)
			presence_input(pr, s, strlen(s), T0, 1);
		free(s);
		json_decref(o);
	}
	CHECK_INT(presence_nremote(pr), 20000);
	CHECK_INT(presence_nodes(pr), 2);
	s = (char *)online(pr);
	CHECK(strcmp(s, "DUP") != 0 && strcmp(s, "NOTREMOTE") != 0 &&
	    strcmp(s, "TOOLONG") != 0);
	CHECK_INT(strlen(s), 10000 * 9 + 9999);
	for (i = 0; i < 10000 && !bad; i++) {
		snprintf(id, sizeof(id), "user%05d", i);
		if (!rem(pr, id))
			bad = 1;
	}
	CHECK_INT(bad, 0);
	/* A goes silent; B keeps everyone online. */
	in(pr, T0 + 2000, 1, "{\"node\":\"B\",\"hb\":10000}");
	sweep(pr, T0 + 3000);
	CHECK_INT(presence_nodes(pr), 1);
	CHECK_INT(presence_nremote(pr), 10000);
	CHECK(strlen(online(pr)) == 10000 * 9 + 9999);
	CHECK_INT(sent.n, 0);
	finish(pr);
}

/*
 * A snapshot: reset, then "on" chunks, the last with "end": who it does
 * not name goes at the end, who it names never goes in between.
 */
static void
test_reset(void)
{
	struct presence	*pr;

	if ((pr = start()) == NULL)
		return;
	in(pr, T0, 1, "{\"node\":\"A\",\"on\":[\"u1\",\"u2\"]}");
	in(pr, T0, 1, "{\"node\":\"B\",\"on\":[\"u1\",\"b1\"]}");
	CHECK_STR(online(pr), "b1 u1 u2");
	in(pr, T0, 1, "{\"node\":\"A\",\"reset\":true,\"on\":[\"u2\",\"u3\"]}");
	/* Until its end, the old ones stay: u1 of A too. */
	CHECK_STR(online(pr), "b1 u1 u2 u3");
	CHECK_INT(presence_nremote(pr), 5);
	in(pr, T0, 1, "{\"node\":\"A\",\"on\":[],\"end\":true}");
	CHECK_STR(online(pr), "b1 u1 u2 u3");
	CHECK_INT(presence_nremote(pr), 4);	/* A: u2 u3; B: u1 b1 */
	/* Order of keys in the text does not matter. */
	in(pr, T0, 1, "{\"on\":[\"u4\"],\"end\":true,\"reset\":true,"
	    "\"node\":\"A\"}");
	CHECK_STR(online(pr), "b1 u1 u4");
	CHECK_INT(presence_nremote(pr), 3);
	/* A user named again never looks offline in between. */
	in(pr, T0, 1, "{\"node\":\"A\",\"reset\":true,\"on\":[]}");
	CHECK_INT(rem(pr, "u4"), 1);
	in(pr, T0, 1, "{\"node\":\"A\",\"on\":[\"u4\"],\"end\":true}");
	CHECK_STR(online(pr), "b1 u1 u4");
	/* An empty snapshot: nothing left of A; B untouched; A known. */
	in(pr, T0, 1, "{\"node\":\"A\",\"reset\":true,\"end\":true}");
	CHECK_STR(online(pr), "b1 u1");
	CHECK_INT(presence_nremote(pr), 2);
	CHECK_INT(presence_nodes(pr), 2);
	/* Only true resets. */
	in(pr, T0, 1, "{\"node\":\"B\",\"reset\":false,\"on\":[\"b2\"]}");
	CHECK_STR(online(pr), "b1 b2 u1");
	in(pr, T0, 1, "{\"node\":\"B\",\"reset\":\"yes\"}");
	CHECK_STR(online(pr), "b1 b2 u1");
	/* A snapshot from a node never heard of. */
	in(pr, T0, 1, "{\"node\":\"C\",\"reset\":true,\"end\":true}");
	CHECK_INT(presence_nremote(pr), 3);
	CHECK_INT(sent.n, 0);
	finish(pr);
}

/* A heartbeat we disagree with: one sync request per node per 2 s. */
static void
test_hb_sync(void)
{
	struct presence	*pr;

	if ((pr = start()) == NULL)
		return;
	in(pr, T0, 1, "{\"node\":\"A\",\"on\":[\"u1\"]}");
	/* Agreed: nothing. */
	in(pr, T0, 1, "{\"node\":\"A\",\"hb\":1}");
	CHECK_INT(sent.n, 0);
	/* It has 2, we hold 1: ask once. */
	in(pr, T0 + 100, 1, "{\"node\":\"A\",\"hb\":2}");
	CHECK_INT(sent.n, 1);
	CHECK(is_sync(0, "A"));
	/* Not again within 2 s. */
	in(pr, T0 + 600, 1, "{\"node\":\"A\",\"hb\":2}");
	in(pr, T0 + 2099, 1, "{\"node\":\"A\",\"hb\":2}");
	CHECK_INT(sent.n, 1);
	/* Another node has its own 2 s. */
	in(pr, T0 + 2099, 1, "{\"node\":\"B\",\"hb\":3}");
	CHECK_INT(sent.n, 2);
	CHECK(is_sync(1, "B"));
	/* 2 s after the first: again. */
	in(pr, T0 + 2100, 1, "{\"node\":\"A\",\"hb\":2}");
	CHECK_INT(sent.n, 3);
	CHECK(is_sync(2, "A"));
	in(pr, T0 + 2200, 1, "{\"node\":\"A\",\"hb\":2}");
	CHECK_INT(sent.n, 3);
	/* Fewer than we hold is a difference too. */
	in(pr, T0 + 4100, 1, "{\"node\":\"A\",\"hb\":0}");
	CHECK_INT(sent.n, 4);
	CHECK(is_sync(3, "A"));
	/* The answer (reset, then its list) makes us agree. */
	in(pr, T0 + 4200, 1, "{\"node\":\"A\",\"reset\":true}");
	in(pr, T0 + 4200, 1, "{\"node\":\"A\",\"on\":[\"u1\",\"u5\"]}");
	in(pr, T0 + 6200, 1, "{\"node\":\"A\",\"hb\":2}");
	CHECK_INT(sent.n, 4);
	CHECK_STR(online(pr), "u1 u5");
	/* on/off and hb in one message: the users first, then the count. */
	in(pr, T0 + 6300, 1, "{\"node\":\"C\",\"hb\":1,\"on\":[\"c1\"]}");
	in(pr, T0 + 6300, 1, "{\"node\":\"A\",\"hb\":1,\"off\":[\"u5\"]}");
	CHECK_INT(sent.n, 4);
	/* A count that is no integer is no heartbeat. */
	in(pr, T0 + 9000, 1, "{\"node\":\"A\",\"hb\":\"7\"}");
	in(pr, T0 + 9000, 1, "{\"node\":\"A\",\"hb\":7.0}");
	in(pr, T0 + 9000, 1, "{\"node\":\"A\",\"hb\":null}");
	CHECK_INT(sent.n, 4);
	/* A node first heard of by a heartbeat with users: ask. */
	in(pr, T0 + 9000, 1, "{\"node\":\"D\",\"hb\":4}");
	CHECK_INT(sent.n, 5);
	CHECK(is_sync(4, "D"));
	CHECK_INT(presence_nodes(pr), 4);
	/* ...and one with none: nothing to ask. */
	in(pr, T0 + 9000, 1, "{\"node\":\"E\",\"hb\":0}");
	CHECK_INT(sent.n, 5);
	CHECK_INT(sent.badlen + sent.badarg + sent.dropped, 0);
	finish(pr);
}

/* Answering a sync request: reset, then our users in chunks. */
static void
test_sync_answer(void)
{
	struct presence	*pr;
	const char	*want[300];
	char		 id[32], all[8192], *p, *q;
	size_t		 i, k;
	int		 bad = 0;

	if ((pr = start()) == NULL)
		return;
	/* No users: one empty chunk, first and last. */
	in(pr, T0, 1, "{\"node\":\"A\",\"sync\":\"" OURS "\"}");
	CHECK_INT(sent.n, 1);
	CHECK(is_chunk(0, 1, 1));
	CHECK_INT(list_of(0, "on", NULL, 0), 0);
	sent_clear();

	for (i = 0; i < 300; i++) {
		snprintf(id, sizeof(id), "L%03zu", i);
		here(pr, id, 1);
	}
	CHECK_INT(presence_nlocal(pr), 300);
	/* Each said once as it came: not a sync answer. */
	CHECK_INT(sent.n, 300);
	sent_clear();
	/* Not for us: nothing. */
	in(pr, T0, 1, "{\"node\":\"A\",\"sync\":\"B\"}");
	in(pr, T0, 1, "{\"node\":\"A\",\"sync\":1}");
	in(pr, T0, 1, "{\"node\":\"A\",\"sync\":null}");
	in(pr, T0, 1, "{\"node\":\"A\",\"sync\":\"" OURS "x\"}");
	CHECK_INT(sent.n, 0);
	/* For us but not ready: nothing. */
	in(pr, T0, 0, "{\"node\":\"A\",\"sync\":\"" OURS "\"}");
	CHECK_INT(sent.n, 0);
	/* A sync request is no presence of the asker. */
	CHECK_INT(presence_nremote(pr), 0);

	/* A heartbeat now; the answer makes the next one go at once. */
	presence_tick(pr, T0, 1);
	CHECK_INT(sent.n, 1);
	CHECK(is_hb(0, 300));
	sent_clear();
	in(pr, T0 + 10, 1, "{\"node\":\"A\",\"sync\":\"" OURS "\"}");
	CHECK_INT(sent.n, 2);
	CHECK(is_chunk(0, 1, 0));
	CHECK(is_chunk(1, 0, 1));
	all[0] = '\0';
	CHECK_INT(list_of(0, "on", all, sizeof(all)), 256);
	CHECK_INT(list_of(1, "on", all, sizeof(all)), 44);
	/* Every user once. */
	for (i = 0, p = all; *p != '\0' && i < 300; i++, p = q) {
		want[i] = p;
		if ((q = strchr(p, ' ')) != NULL)
			*q++ = '\0';
		else
			q = p + strlen(p);
	}
	CHECK_INT(i, 300);
	qsort(want, i, sizeof(want[0]), cmpstr);
	for (k = 0; k < i && !bad; k++) {
		snprintf(id, sizeof(id), "L%03zu", k);
		if (strcmp(want[k], id) != 0) {
			fprintf(stderr, "snapshot: %s, expected %s\n",
			    want[k], id);
			bad = 1;
		}
	}
	CHECK_INT(bad, 0);
	presence_tick(pr, T0 + 20, 1);
	CHECK_INT(sent.n, 3);
	CHECK(is_hb(2, 300));
	/* Our own answer, heard back, changes nothing. */
	for (k = 0; k < 2; k++)
		presence_input(pr, sent.v[k], strlen(sent.v[k]), T0 + 20, 1);
	CHECK_INT(presence_nremote(pr), 0);
	CHECK_INT(presence_nodes(pr), 0);
	CHECK_INT(sent.n, 3);
	sent_clear();

	/* presence_snapshot() directly: the same. */
	presence_snapshot(pr);
	CHECK_INT(sent.n, 2);
	CHECK(is_chunk(0, 1, 0));
	CHECK(is_chunk(1, 0, 1));
	CHECK_INT(list_of(0, "on", NULL, 0), 256);
	CHECK_INT(list_of(1, "on", NULL, 0), 44);
	sent_clear();

	/* Exactly one chunk's worth: no empty chunk after it. */
	for (i = 256; i < 300; i++) {
		snprintf(id, sizeof(id), "L%03zu", i);
		here(pr, id, 0);
	}
	CHECK_INT(presence_nlocal(pr), 256);
	sent_clear();
	presence_snapshot(pr);
	CHECK_INT(sent.n, 1);
	CHECK(is_chunk(0, 1, 1));
	CHECK_INT(list_of(0, "on", NULL, 0), 256);
	sent_clear();
	/* Remote users are not ours to announce. */
	for (i = 1; i < 256; i++) {
		snprintf(id, sizeof(id), "L%03zu", i);
		here(pr, id, 0);
	}
	sent_clear();
	in(pr, T0 + 30, 1, "{\"node\":\"A\",\"on\":[\"r1\",\"r2\"]}");
	presence_snapshot(pr);
	CHECK_INT(sent.n, 1);
	CHECK(is_chunk(0, 1, 1));
	all[0] = '\0';
	CHECK_INT(list_of(0, "on", all, sizeof(all)), 1);
	CHECK_STR(all, "L000");
	here(pr, "L000", 0);
	CHECK_INT(sent.badlen + sent.badarg + sent.dropped, 0);
	finish(pr);
}

/* Our heartbeat: only when ready, at most once a second. */
static void
test_hb_tick(void)
{
	struct presence	*pr;

	if ((pr = start()) == NULL)
		return;
	presence_tick(pr, T0, 0);
	CHECK_INT(sent.n, 0);
	presence_tick(pr, T0, 1);
	CHECK_INT(sent.n, 1);
	CHECK(is_hb(0, 0));
	presence_tick(pr, T0 + 1, 1);
	presence_tick(pr, T0 + 999, 1);
	CHECK_INT(sent.n, 1);
	presence_tick(pr, T0 + 1000, 1);
	CHECK_INT(sent.n, 2);
	CHECK(is_hb(1, 0));
	/* The count is of our users online here. */
	here(pr, "x1", 1);
	here(pr, "x2", 1);
	CHECK_INT(sent.n, 4);
	sent.n -= 2;		/* their "on" said, not counted below */
	free(sent.v[2]);
	free(sent.v[3]);
	/* Users elsewhere are not counted. */
	in(pr, T0 + 1000, 1, "{\"node\":\"A\",\"on\":[\"r1\",\"r2\",\"r3\"]}");
	presence_tick(pr, T0 + 1500, 1);
	CHECK_INT(sent.n, 2);
	presence_tick(pr, T0 + 2000, 1);
	CHECK_INT(sent.n, 3);
	CHECK(is_hb(2, 2));
	/* Not ready: none, even when due. */
	presence_tick(pr, T0 + 5000, 0);
	CHECK_INT(sent.n, 3);
	presence_tick(pr, T0 + 5001, 1);
	CHECK_INT(sent.n, 4);
	CHECK(is_hb(3, 2));
	here(pr, "x1", 0);
	CHECK_INT(sent.n, 5);
	presence_tick(pr, T0 + 6001, 1);
	CHECK_INT(sent.n, 6);
	CHECK(is_hb(5, 1));
	here(pr, "x2", 0);
	CHECK_INT(sent.badlen + sent.badarg + sent.dropped, 0);
	finish(pr);
}

/* A node silent for 3 s goes, and its users with it. */
static void
test_dead(void)
{
	struct presence	*pr;

	if ((pr = start()) == NULL)
		return;
	in(pr, T0, 1, "{\"node\":\"A\",\"on\":[\"u1\",\"u2\"]}");
	in(pr, T0 + 1000, 1, "{\"node\":\"B\",\"on\":[\"u2\",\"u3\"]}");
	CHECK_INT(presence_nodes(pr), 2);
	CHECK_INT(presence_nremote(pr), 4);
	sweep(pr, T0 + 2999);
	CHECK_INT(presence_nodes(pr), 2);
	CHECK_STR(online(pr), "u1 u2 u3");
	/* A: 3 s. u2 stays (B). */
	sweep(pr, T0 + 3000);
	CHECK_INT(presence_nodes(pr), 1);
	CHECK_INT(presence_nremote(pr), 2);
	CHECK_INT(rem(pr, "u1"), 0);
	CHECK_INT(rem(pr, "u2"), 1);
	CHECK_STR(online(pr), "u2 u3");
	/* Any message keeps a node alive: a heartbeat... */
	in(pr, T0 + 3500, 1, "{\"node\":\"B\",\"hb\":2}");
	sweep(pr, T0 + 6499);
	CHECK_INT(presence_nodes(pr), 1);
	CHECK_STR(online(pr), "u2 u3");
	/* ...or an off. */
	in(pr, T0 + 6000, 1, "{\"node\":\"B\",\"off\":[\"u3\"]}");
	sweep(pr, T0 + 8999);
	CHECK_INT(presence_nodes(pr), 1);
	CHECK_STR(online(pr), "u2");
	presence_tick(pr, T0 + 9000, 1);
	CHECK_INT(presence_nodes(pr), 0);
	CHECK_INT(presence_nremote(pr), 0);
	CHECK_STR(online(pr), "");
	/* Back: a node again, from scratch. */
	in(pr, T0 + 9500, 1, "{\"node\":\"A\",\"on\":[\"u9\"]}");
	CHECK_INT(presence_nodes(pr), 1);
	CHECK_STR(online(pr), "u9");
	/* Several at once. */
	in(pr, T0 + 9500, 1, "{\"node\":\"B\",\"on\":[\"u9\"]}");
	in(pr, T0 + 9500, 1, "{\"node\":\"C\",\"on\":[\"c\"]}");
	in(pr, T0 + 11000, 1, "{\"node\":\"D\",\"on\":[\"d\"]}");
	presence_tick(pr, T0 + 12500, 1);
	CHECK_INT(presence_nodes(pr), 1);
	CHECK_STR(online(pr), "d");
	/*
	 * NATS away: nobody is heard, and nobody goes for it (no false
	 * offline).  Back: each node has its full time again.
	 */
	presence_tick(pr, T0 + 20000, 0);
	CHECK_INT(presence_nodes(pr), 1);
	presence_tick(pr, T0 + 20001, 1);
	sweep(pr, T0 + 23000);
	CHECK_INT(presence_nodes(pr), 1);
	CHECK_STR(online(pr), "d");
	sweep(pr, T0 + 23001);
	CHECK_INT(presence_nodes(pr), 0);
	finish(pr);
}

/* What no node sends is ignored, without a crash. */
static void
test_invalid(void)
{
	static const char *bad[] = {
		"",
		"not json",
		"{",
		"[]",
		"null",
		"42",
		"\"node\"",
		"{}",
		"{\"on\":[\"x1\"]}",
		"{\"node\":1,\"on\":[\"x2\"]}",
		"{\"node\":null,\"on\":[\"x3\"]}",
		"{\"node\":[\"A\"],\"on\":[\"x4\"]}",
		"{\"node\":\"A\",\"on\":[\"x5\"]",	/* truncated */
		"{\"node\":\"A\",\"on\":[\"x\\u0000y\"]}",	/* NUL */
		/* A lone surrogate. */
		"{\"node\":\"A\",\"on\":[\"\\ud800\"]}",
		/* 33 bytes: too long a node id. */
		"{\"node\":\"0123456789abcdef0123456789abcdefX\","
		    "\"on\":[\"x6\"]}",
	};
	struct presence	*pr;
	char		 buf[512], u64[65], u65[66];
	size_t		 i;

	if ((pr = start()) == NULL)
		return;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		in(pr, T0, 1, bad[i]);
	/* A buffer with no NUL after it (ASan: no overread). */
	{
		static const char raw[] = "{\"node\":\"A\",\"on\":[\"x7\"]}";
		char	*p;

		if ((p = malloc(sizeof(raw) - 1)) == NULL)
			abort();
		memcpy(p, raw, sizeof(raw) - 1);
		presence_input(pr, p, sizeof(raw) - 2, T0, 1);	/* cut */
		CHECK_INT(presence_nodes(pr), 0);
		presence_input(pr, p, sizeof(raw) - 1, T0, 1);	/* whole */
		CHECK_INT(rem(pr, "x7"), 1);
		in(pr, T0, 1, "{\"node\":\"A\",\"reset\":true,\"end\":true}");
		free(p);
		presence_input(pr, "", 0, T0, 1);
	}
	CHECK_INT(presence_nremote(pr), 0);
	CHECK_STR(online(pr), "");
	CHECK_INT(sent.n, 0);
	sweep(pr, T0 + 3000);	/* A goes */
	CHECK_INT(presence_nodes(pr), 0);

	/* Users that are not strings are skipped; the rest count. */
	in(pr, T0, 1, "{\"node\":\"A\",\"on\":[1,null,true,{},[\"y0\"],"
	    "\"y1\",2.5,\"y2\"]}");
	CHECK_STR(online(pr), "y1 y2");
	in(pr, T0, 1, "{\"node\":\"A\",\"off\":[1,null,{},[\"y1\"],\"y2\"]}");
	CHECK_STR(online(pr), "y1");
	/* on/off that are not arrays: nothing. */
	in(pr, T0, 1, "{\"node\":\"A\",\"on\":\"z1\"}");
	in(pr, T0, 1, "{\"node\":\"A\",\"on\":{\"z2\":1}}");
	in(pr, T0, 1, "{\"node\":\"A\",\"off\":\"y1\"}");
	in(pr, T0, 1, "{\"node\":\"A\",\"on\":null,\"off\":42}");
	CHECK_STR(online(pr), "y1");
	/* Empty user ids. */
	in(pr, T0, 1, "{\"node\":\"A\",\"on\":[\"\"]}");
	CHECK_STR(online(pr), "y1");
	CHECK_INT(presence_nremote(pr), 1);
	CHECK_INT(rem(pr, ""), 0);
	in(pr, T0, 1, "{\"node\":\"A\",\"off\":[\"\"]}");
	CHECK_INT(presence_nremote(pr), 1);
	/* 64 bytes: fine; 65: not. */
	memset(u64, 'a', 64);
	u64[64] = '\0';
	memset(u65, 'b', 65);
	u65[65] = '\0';
	snprintf(buf, sizeof(buf), "{\"node\":\"A\",\"on\":[\"%s\",\"%s\"]}",
	    u64, u65);
	in(pr, T0, 1, buf);
	CHECK_INT(rem(pr, u64), 1);
	CHECK_INT(rem(pr, u65), 0);
	CHECK_INT(presence_nremote(pr), 2);
	snprintf(buf, sizeof(buf), "{\"node\":\"A\",\"off\":[\"%s\"]}", u65);
	in(pr, T0, 1, buf);
	CHECK_INT(presence_nremote(pr), 2);
	/* A 64-byte user goes offline cleanly (its id copied on free). */
	sweep(pr, T0 + 3000);
	CHECK_INT(presence_nremote(pr), 0);
	CHECK_INT(rem(pr, u64), 0);
	/* A 32-byte node id is fine. */
	in(pr, T0 + 3000, 1,
	    "{\"node\":\"0123456789abcdef0123456789abcdeX\",\"on\":[\"w\"]}");
	CHECK_INT(presence_nodes(pr), 1);
	CHECK_STR(online(pr), "w");
	/* Odd heartbeats: no crash; a sync request at most. */
	in(pr, T0 + 3000, 1, "{\"node\":\"N\",\"hb\":-1}");
	in(pr, T0 + 3000, 1, "{\"node\":\"M\",\"hb\":99999999999999}");
	in(pr, T0 + 3000, 1, "{\"node\":\"L\",\"hb\":[]}");
	CHECK(sent.n <= 2);
	CHECK_INT(sent.badlen + sent.badarg + sent.dropped, 0);
	finish(pr);
}

/*
 * presence_local(): {"node":OURS,"on"|"off":[user]}, once per change;
 * what another node makes of it.
 */
static void
test_local(void)
{
	struct presence	*pr, *other;
	struct users	*us2;
	char		 all[256], *m0, *m1;

	if ((pr = start()) == NULL)
		return;
	here(pr, "u1", 1);
	CHECK_INT(sent.n, 1);
	all[0] = '\0';
	CHECK_INT(list_of(0, "on", all, sizeof(all)), 1);
	CHECK_STR(all, "u1");
	CHECK_INT(presence_nlocal(pr), 1);
	/* Said once: no change, no word. */
	here(pr, "u1", 1);
	CHECK_INT(sent.n, 1);
	here(pr, "u1", 0);
	CHECK_INT(sent.n, 2);
	all[0] = '\0';
	CHECK_INT(list_of(1, "off", all, sizeof(all)), 1);
	CHECK_STR(all, "u1");
	CHECK_INT(presence_nlocal(pr), 0);
	/* Quotes and non-ASCII survive. */
	here(pr, "a\"b\\c\xc3\xa9", 1);
	CHECK_INT(sent.n, 3);
	all[0] = '\0';
	CHECK_INT(list_of(2, "on", all, sizeof(all)), 1);
	CHECK_STR(all, "a\"b\\c\xc3\xa9");
	/* Ours is not remote. */
	CHECK_INT(rem(pr, "u1"), 0);
	CHECK_INT(presence_nremote(pr), 0);
	CHECK_INT(presence_nonline(pr), 1);
	/* Heard back from NATS: still nothing. */
	presence_input(pr, sent.v[0], strlen(sent.v[0]), T0, 1);
	CHECK_INT(presence_nremote(pr), 0);
	/* What another node (its own users) does with it: on, then off. */
	if ((us2 = users_new()) == NULL ||
	    (other = presence_new(us2, &fake_ops, MAXOUT)) == NULL)
		abort();
	m0 = strdup(sent.v[0]);
	m1 = strdup(sent.v[1]);
	if (m0 == NULL || m1 == NULL)
		abort();
	presence_input(other, m0, strlen(m0), T0, 1);
	CHECK_INT(rem_in(us2, other, "u1"), 1);
	presence_input(other, m1, strlen(m1), T0, 1);
	CHECK_INT(rem_in(us2, other, "u1"), 0);
	CHECK_INT(presence_nodes(other), 1);
	free(m0);
	free(m1);
	presence_free(other);
	users_reap(us2);
	CHECK_INT(users_count(us2), 0);
	users_free(us2);
	CHECK_INT(sent.n, 3);
	CHECK_INT(sent.badlen + sent.badarg + sent.dropped, 0);
	here(pr, "a\"b\\c\xc3\xa9", 0);
	finish(pr);
}

/* A watcher hears users go online and offline across the cluster. */
static void
test_watchers(void)
{
	struct presence	*pr;
	struct fconn	*w;
	char		 users[3][CODEC_MAX_USER + 1] = { "u1", "u2", "u3" };

	if ((pr = start()) == NULL)
		return;
	w = newc("w");
	CHECK_INT(presence_watch(pr, &w->pc, users, 3), 0);
	CHECK_STR(events(w), "presence:u1:0 presence:u2:0 presence:u3:0");
	in(pr, T0, 1, "{\"node\":\"A\",\"on\":[\"u1\",\"u2\",\"other\"]}");
	CHECK_STR(events(w), "presence:u1:1 presence:u2:1");
	/* Already online elsewhere: nothing new. */
	in(pr, T0, 1, "{\"node\":\"B\",\"on\":[\"u1\"]}");
	CHECK_STR(events(w), "");
	/* Off on one of two nodes: nothing; on the last: offline. */
	in(pr, T0, 1, "{\"node\":\"A\",\"off\":[\"u1\"]}");
	CHECK_STR(events(w), "");
	in(pr, T0 + 1000, 1, "{\"node\":\"B\",\"off\":[\"u1\"]}");
	CHECK_STR(events(w), "presence:u1:0");
	/* A goes silent: its users go offline. */
	sweep(pr, T0 + 3000);
	CHECK_INT(presence_nodes(pr), 1);
	CHECK_STR(events(w), "presence:u2:0");
	/* A user connected here: remote changes say nothing. */
	here(pr, "u3", 1);
	CHECK_STR(events(w), "presence:u3:1");
	in(pr, T0 + 3000, 1, "{\"node\":\"B\",\"on\":[\"u3\"]}");
	in(pr, T0 + 3000, 1, "{\"node\":\"B\",\"off\":[\"u3\"]}");
	CHECK_STR(events(w), "");
	/* It leaves here: offline (B said off). */
	here(pr, "u3", 0);
	CHECK_STR(events(w), "presence:u3:0");
	in(pr, T0 + 3000, 1, "{\"node\":\"B\",\"on\":[\"u3\"]}");
	CHECK_STR(events(w), "presence:u3:1");
	/* A snapshot naming the same user: no flicker, not a word. */
	in(pr, T0 + 3000, 1, "{\"node\":\"B\",\"reset\":true,\"on\":[]}");
	in(pr, T0 + 3000, 1, "{\"node\":\"B\",\"on\":[\"u3\"],\"end\":true}");
	CHECK_STR(events(w), "");
	CHECK_INT(rem(pr, "u3"), 1);
	/* One that does not name it: offline at its end. */
	in(pr, T0 + 3000, 1, "{\"node\":\"B\",\"reset\":true,\"on\":[]}");
	CHECK_STR(events(w), "");
	in(pr, T0 + 3000, 1, "{\"node\":\"B\",\"on\":[],\"end\":true}");
	CHECK_STR(events(w), "presence:u3:0");
	in(pr, T0 + 3000, 1, "{\"node\":\"B\",\"on\":[\"u3\"]}");
	CHECK_STR(events(w), "presence:u3:1");
	/* B goes: u3 goes offline. */
	sweep(pr, T0 + 6000);
	CHECK_INT(presence_nodes(pr), 0);
	CHECK_STR(events(w), "presence:u3:0");
	freec(pr, w);
	/* Ours said on and off; nothing else. */
	CHECK_INT(sent.n, 2);
	CHECK_INT(violations, 0);
	finish(pr);
}

/* Right after the monotonic clock's zero, a first sync still goes. */
static void
test_early_sync(void)
{
	struct presence	*pr;

	if ((pr = start()) == NULL)
		return;
	in(pr, 500, 1, "{\"node\":\"A\",\"on\":[\"u1\"]}");
	in(pr, 500, 1, "{\"node\":\"A\",\"hb\":5}");
	CHECK_INT(sent.n, 1);
	CHECK(is_sync(0, "A"));
	finish(pr);
}

/*
 * Watch lists: replaced by each watch, an id listed twice watched once,
 * the state of each sent at once (if the watcher can take it); users
 * held while watched.
 */
static void
test_watch_list(void)
{
	struct presence	*pr;
	struct fconn	*w, *x;
	char		 ids[5][CODEC_MAX_USER + 1] = {
		"a", "b", "a", "c", "b"
	};

	if ((pr = start()) == NULL)
		return;
	w = newc("w");
	x = newc("x");
	here(pr, "b", 1);
	CHECK_INT(presence_watch(pr, &w->pc, ids, 5), 0);
	CHECK_INT(w->pc.nwatch, 3);
	CHECK_STR(events(w), "presence:a:0 presence:b:1 presence:c:0");
	/* Told once, though listed twice. */
	here(pr, "a", 1);
	CHECK_STR(events(w), "presence:a:1");
	here(pr, "b", 0);
	CHECK_STR(events(w), "presence:b:0");
	/* Two watchers of one user: both told. */
	CHECK_INT(presence_watch(pr, &x->pc, ids + 1, 1), 0);
	CHECK_STR(events(x), "presence:b:0");
	here(pr, "b", 1);
	CHECK_STR(events(w), "presence:b:1");
	CHECK_STR(events(x), "presence:b:1");
	/* Replaced: the old list no longer heard. */
	CHECK_INT(presence_watch(pr, &w->pc, ids + 3, 1), 0);
	CHECK_INT(w->pc.nwatch, 1);
	CHECK_STR(events(w), "presence:c:0");
	here(pr, "a", 0);
	here(pr, "b", 0);
	CHECK_STR(events(w), "");
	CHECK_STR(events(x), "presence:b:0");
	here(pr, "c", 1);
	CHECK_STR(events(w), "presence:c:1");
	/* Watched users stay (offline ones too), until unwatched. */
	users_reap(us);
	CHECK(users_find(us, "b") != NULL);
	CHECK(users_find(us, "a") == NULL);
	/* An empty list: nothing watched. */
	CHECK_INT(presence_watch(pr, &w->pc, ids, 0), 0);
	CHECK_INT(w->pc.nwatch, 0);
	CHECK(w->pc.watch == NULL);
	here(pr, "c", 0);
	CHECK_STR(events(w), "");
	/* A watcher that cannot be sent to: watches, told nothing now. */
	w->live = 0;
	CHECK_INT(presence_watch(pr, &w->pc, ids, 2), 0);
	CHECK_INT(w->pc.nwatch, 2);
	CHECK_STR(events(w), "");
	w->live = 1;
	/* Unwatching twice is harmless. */
	presence_unwatch(pr, &w->pc);
	presence_unwatch(pr, &w->pc);
	CHECK_INT(w->pc.nwatch, 0);
	freec(pr, w);
	freec(pr, x);
	CHECK_INT(violations, 0);
	finish(pr);
}

/* Watchers hear users come and go here and elsewhere, once each. */
static void
test_watch_here_there(void)
{
	struct presence	*pr;
	struct fconn	*w;
	char		 ids[2][CODEC_MAX_USER + 1] = { "u", "v" };

	if ((pr = start()) == NULL)
		return;
	w = newc("w");
	CHECK_INT(presence_watch(pr, &w->pc, ids, 2), 0);
	CHECK_STR(events(w), "presence:u:0 presence:v:0");
	/* Here, then elsewhere too: online once. */
	here(pr, "u", 1);
	in(pr, T0, 1, "{\"node\":\"A\",\"on\":[\"u\"]}");
	CHECK_STR(events(w), "presence:u:1");
	/* Gone here, still elsewhere: nothing. */
	here(pr, "u", 0);
	CHECK_STR(events(w), "");
	CHECK_STR(online(pr), "u");
	/* Gone there too. */
	in(pr, T0, 1, "{\"node\":\"A\",\"off\":[\"u\"]}");
	CHECK_STR(events(w), "presence:u:0");
	/* Elsewhere first, then here, then gone there: online through. */
	in(pr, T0, 1, "{\"node\":\"A\",\"on\":[\"v\"]}");
	here(pr, "v", 1);
	in(pr, T0, 1, "{\"node\":\"A\",\"off\":[\"v\"]}");
	CHECK_STR(events(w), "presence:v:1");
	here(pr, "v", 0);
	CHECK_STR(events(w), "presence:v:0");
	freec(pr, w);
	CHECK_INT(violations, 0);
	finish(pr);
}

/* "who": everyone online once, built again only after a change. */
static void
test_who(void)
{
	struct presence	*pr;
	const char	*p, *q;
	char		 copy[256], id[16];
	size_t		 len, len2, i;

	if ((pr = start()) == NULL)
		return;
	CHECK_STR(online(pr), "");
	here(pr, "a", 1);
	here(pr, "b", 1);
	/* Online here alone costs no struct puser (a byte in the user). */
	CHECK(users_find(us, "a") != NULL && users_find(us, "a")->pres == NULL);
	/* "who" walks every interned user: one not online is not listed. */
	CHECK(users_get(us, "zoff") != NULL);
	in(pr, T0, 1, "{\"node\":\"A\",\"on\":[\"b\",\"c\"]}");
	in(pr, T0, 1, "{\"node\":\"B\",\"on\":[\"c\"]}");
	CHECK_STR(online(pr), "a b c");
	CHECK_INT(presence_nonline(pr), 3);
	/* The same answer, not built again, while nothing changes. */
	p = presence_who(pr, &len);
	CHECK(p != NULL && len == strlen(p));
	snprintf(copy, sizeof(copy), "%s", p != NULL ? p : "");
	in(pr, T0, 1, "{\"node\":\"B\",\"on\":[\"a\"]}");
	in(pr, T0, 1, "{\"node\":\"B\",\"off\":[\"c\"]}");
	here(pr, "a", 1);
	q = presence_who(pr, &len2);
	CHECK(q == p && len2 == len);
	CHECK_STR(q, copy);
	/* A change: a new answer. */
	here(pr, "d", 1);
	CHECK_STR(online(pr), "a b c d");
	in(pr, T0, 1, "{\"node\":\"A\",\"off\":[\"c\"]}");
	CHECK_STR(online(pr), "a b d");
	here(pr, "a", 0);
	CHECK_STR(online(pr), "a b d");	/* B has a */
	here(pr, "b", 0);
	CHECK_STR(online(pr), "a b d");	/* A has b */
	in(pr, T0, 1, "{\"node\":\"A\",\"off\":[\"b\"]}");
	CHECK_STR(online(pr), "a d");
	here(pr, "d", 0);
	sweep(pr, T0 + 5000);
	CHECK_STR(online(pr), "");
	finish(pr);

	/* Cut to half of max_output, and said so. */
	if ((pr = start_out(200)) == NULL)
		return;
	for (i = 0; i < 20; i++) {
		snprintf(id, sizeof(id), "u%03zu", i);
		here(pr, id, 1);
	}
	p = presence_who(pr, &len);
	CHECK(p != NULL && len <= 100);
	CHECK(p != NULL && strstr(p, "\"truncated\":true") != NULL);
	CHECK(p != NULL && strstr(p, "\"u0") != NULL);
	for (i = 0; i < 20; i++) {
		snprintf(id, sizeof(id), "u%03zu", i);
		here(pr, id, 0);
	}
	p = presence_who(pr, &len);
	CHECK(p != NULL && strstr(p, "truncated") == NULL);
	finish(pr);
}

/*
 * A watcher whose send fails while it is told (its output full): it is
 * cut, not called again, and leaves after the pass; users are freed
 * only by users_reap(), so nothing goes under a call (ASan).  Told of a
 * user leaving here and of a node going silent.
 */
static void
test_cut_watcher(void)
{
	struct presence	*pr;
	struct fconn	*w1, *w2;
	char		 ids[2][CODEC_MAX_USER + 1] = { "u", "v" };

	if ((pr = start()) == NULL)
		return;
	w1 = newc("w1");
	w2 = newc("w2");
	here(pr, "u", 1);
	in(pr, T0, 1, "{\"node\":\"A\",\"on\":[\"v\"]}");
	CHECK_INT(presence_watch(pr, &w1->pc, ids, 2), 0);
	CHECK_INT(presence_watch(pr, &w2->pc, ids, 2), 0);
	CHECK_STR(events(w1), "presence:u:1 presence:v:1");
	CHECK_STR(events(w2), "presence:u:1 presence:v:1");
	w1->fail = 1;
	here(pr, "u", 0);
	CHECK_STR(events(w1), "CUT");
	CHECK_STR(events(w2), "presence:u:0");
	/* Cut: skipped from now on, though still on the list. */
	sweep(pr, T0 + 3000);
	CHECK_STR(events(w1), "");
	CHECK_STR(events(w2), "presence:v:0");
	/* Nobody online; u and v held by the watches only. */
	CHECK(users_find(us, "u") != NULL && users_find(us, "v") != NULL);
	/* The pass ends: w1 leaves, then w2; the users with them. */
	freec(pr, w1);
	CHECK(users_find(us, "u") != NULL);
	users_reap(us);
	CHECK(users_find(us, "u") != NULL);
	freec(pr, w2);
	CHECK(users_find(us, "u") != NULL);
	users_reap(us);
	CHECK(users_find(us, "u") == NULL && users_find(us, "v") == NULL);
	CHECK_INT(violations, 0);

	/* A user gone here stays until the reap, watched or not. */
	here(pr, "z", 1);
	here(pr, "z", 0);
	CHECK(users_find(us, "z") != NULL);
	users_reap(us);
	CHECK(users_find(us, "z") == NULL);
	finish(pr);
}

int
main(void)
{
	log_init("test_presence", LOG_ERROR, stderr);
	test_own();
	test_heard_after_now();
	test_on_off();
	test_many();
	test_reset();
	test_hb_sync();
	test_sync_answer();
	test_hb_tick();
	test_dead();
	test_invalid();
	test_local();
	test_watchers();
	test_early_sync();
	test_watch_list();
	test_watch_here_there();
	test_who();
	test_cut_watcher();
	CHECK_INT(violations, 0);
	return test_done();
}
