/*
 * Copyright (c) 2026 The chat authors.
 *
 * Unit tests for server/presence.c over a real router (memory store):
 * what other nodes say on chat.presence ("on", "off", "reset", "hb",
 * "sync"), the messages we publish (captured from the send function
 * and parsed with jansson), time driven by the now argument: sync
 * requests at most every 2 s per node, our heartbeat at most once a
 * second, silent nodes dropped after 3 s.  Input that is not what a
 * node would send is ignored.  Watchers with a WebSocket over a
 * socketpair see users go online and offline across the cluster.
 */
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "codec.h"
#include "log.h"
#include "presence.h"
#include "server.h"
#include "store.h"
#include "tap.h"
#include "transport.h"
#include "ws.h"

#define OURS	"0123456789abcdef0123456789abcdef"	/* 32, as cluster.c */
#define T0	1000000ULL	/* a monotonic clock well past 0 */
#define MAXSENT	4096

static const struct server_config base = {
	.max_per_user = 4,
	.store = {
		.queue_limit = 100,
		.history_limit = 100000,
		.history_bytes = 1 << 20,
	},
	.max_output = 1 << 20,
	.max_message = 4096,
};

static struct server	srv;

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

/*
 * Users online elsewhere, sorted, space-separated; "DUP" if one is
 * listed twice, "NOTREMOTE" if one is listed but presence_remote()
 * says no.
 */
static const char *
remote(const struct presence *pr)
{
	static const char *v[16384];
	static char	 out[1 << 18];
	size_t		 n, i, o = 0, l;

	out[0] = '\0';
	n = presence_remote_users(pr, v, sizeof(v) / sizeof(v[0]));
	qsort(v, n, sizeof(v[0]), cmpstr);
	for (i = 0; i < n; i++) {
		if (i > 0 && strcmp(v[i - 1], v[i]) == 0)
			return "DUP";
		if (!presence_remote(pr, v[i]))
			return "NOTREMOTE";
		l = strlen(v[i]);
		if (o + l + 2 > sizeof(out))
			return "TOOLONG";
		if (i > 0)
			out[o++] = ' ';
		memcpy(out + o, v[i], l + 1);
		o += l;
	}
	return out;
}

/* A router over a memory store. */
static int
setup(void)
{
	char	err[512];

	memset(&srv, 0, sizeof(srv));
	srv.cfg = base;
	if ((srv.store = store_open(&srv.cfg.store, err, sizeof(err))) ==
	    NULL) {
		fprintf(stderr, "store_open: %s\n", err);
		return -1;
	}
	if ((srv.router = router_new(&srv.cfg, srv.store)) == NULL) {
		store_close(srv.store);
		return -1;
	}
	sent_clear();
	return 0;
}

#include "fakeconn.h"

static void
teardown(void)
{
	srv_free();
	sent_clear();
}

static struct presence *
newp(void)
{
	struct presence	*pr;

	if ((pr = presence_new(srv.router, OURS, cap_send, &sent)) == NULL)
		abort();
	return pr;
}

/* setup() and newp(): NULL (a failed check) if the router cannot be had. */
static struct presence *
start(void)
{
	if (setup() == -1) {
		CHECK(0);
		return NULL;
	}
	return newp();
}

/*
 * Flush c's output and read it at the peer: its presence events as
 * "presence:USER:0|1", space-separated ("" if none, "other" for any
 * other text frame).
 */
static const char *
events(struct client *c, int peer)
{
	static char	 out[65536];
	static uint8_t	 buf[1 << 16];
	struct codec_ev	 ev;
	char		 detail[CODEC_MAX_DETAIL + 1], one[128], *s;
	size_t		 n, o = 0, plen, hl;

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
		} else if (plen >= 126) {
			strncat(out, " BIG", sizeof(out) - strlen(out) - 1);
			break;
		}
		if (o + hl + plen > n) {
			strncat(out, " PARTIAL", sizeof(out) - strlen(out) - 1);
			break;
		}
		snprintf(one, sizeof(one), "other");
		if ((s = malloc(plen + 1)) == NULL)
			abort();
		memcpy(s, buf + o + hl, plen);
		s[plen] = '\0';
		if ((buf[o] & 0x0f) == 1 &&
		    codec_parse_ev(s, plen, &ev, detail) == 0) {
			if (ev.type == CODEC_EV_PRESENCE)
				snprintf(one, sizeof(one), "presence:%s:%d",
				    ev.user, ev.online);
			codec_ev_release(&ev);
		}
		free(s);
		if (out[0] != '\0')
			strncat(out, " ", sizeof(out) - strlen(out) - 1);
		strncat(out, one, sizeof(out) - strlen(out) - 1);
		o += hl + plen;
	}
	return out;
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
	CHECK_INT(presence_remote(pr, "u1"), 0);
	CHECK_STR(remote(pr), "");
	CHECK_INT(sent.n, 0);
	/* Never dropped as silent either: it is not held. */
	presence_tick(pr, T0 + 10000, 0);
	CHECK_INT(presence_nodes(pr), 0);
	CHECK_INT(sent.n, 0);
	presence_free(pr);
	presence_free(NULL);
	teardown();
}

/* on/off from one and two nodes; each user listed once. */
static void
test_on_off(void)
{
	struct presence	*pr;
	const char	*v[4];

	if ((pr = start()) == NULL)
		return;
	in(pr, T0, 1, "{\"node\":\"A\",\"on\":[\"u1\",\"u2\"]}");
	CHECK_INT(presence_remote(pr, "u1"), 1);
	CHECK_INT(presence_remote(pr, "u2"), 1);
	CHECK_INT(presence_remote(pr, "u3"), 0);
	CHECK_STR(remote(pr), "u1 u2");
	CHECK_INT(presence_nremote(pr), 2);
	CHECK_INT(presence_nodes(pr), 1);
	/* Said again: nothing changes. */
	in(pr, T0, 1, "{\"node\":\"A\",\"on\":[\"u1\",\"u1\"]}");
	CHECK_INT(presence_nremote(pr), 2);
	CHECK_STR(remote(pr), "u1 u2");

	/* The same user on another node: two entries, listed once. */
	in(pr, T0, 1, "{\"node\":\"B\",\"on\":[\"u2\",\"u3\"]}");
	CHECK_INT(presence_nremote(pr), 4);
	CHECK_INT(presence_nodes(pr), 2);
	CHECK_STR(remote(pr), "u1 u2 u3");
	/* max: no more than asked. */
	CHECK_INT(presence_remote_users(pr, v, 2), 2);
	CHECK_INT(presence_remote_users(pr, v, 0), 0);

	/* Off on one of two nodes: still online. */
	in(pr, T0, 1, "{\"node\":\"A\",\"off\":[\"u2\"]}");
	CHECK_INT(presence_remote(pr, "u2"), 1);
	CHECK_INT(presence_nremote(pr), 3);
	CHECK_STR(remote(pr), "u1 u2 u3");
	/* Off for a user only another node has: nothing. */
	in(pr, T0, 1, "{\"node\":\"A\",\"off\":[\"u3\",\"nobody\"]}");
	CHECK_INT(presence_remote(pr, "u3"), 1);
	CHECK_INT(presence_nremote(pr), 3);
	/* Off on the last node: offline. */
	in(pr, T0, 1, "{\"node\":\"B\",\"off\":[\"u2\"]}");
	CHECK_INT(presence_remote(pr, "u2"), 0);
	CHECK_INT(presence_nremote(pr), 2);
	CHECK_STR(remote(pr), "u1 u3");
	/* Off twice is harmless. */
	in(pr, T0, 1, "{\"node\":\"B\",\"off\":[\"u2\"]}");
	CHECK_INT(presence_nremote(pr), 2);
	in(pr, T0, 1, "{\"node\":\"A\",\"off\":[\"u1\"]}");
	in(pr, T0, 1, "{\"node\":\"B\",\"off\":[\"u3\"]}");
	CHECK_INT(presence_nremote(pr), 0);
	CHECK_STR(remote(pr), "");
	/* Nodes stay while they are heard from. */
	CHECK_INT(presence_nodes(pr), 2);
	/* Nothing of this makes us publish. */
	CHECK_INT(sent.n, 0);
	/* Entries left at the end are freed (ASan: no leak). */
	in(pr, T0, 1, "{\"node\":\"A\",\"on\":[\"left1\",\"left2\"]}");
	presence_free(pr);
	teardown();
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
	s = (char *)remote(pr);
	CHECK(strcmp(s, "DUP") != 0 && strcmp(s, "NOTREMOTE") != 0 &&
	    strcmp(s, "TOOLONG") != 0);
	CHECK_INT(strlen(s), 10000 * 9 + 9999);
	for (i = 0; i < 10000 && !bad; i++) {
		snprintf(id, sizeof(id), "user%05d", i);
		if (!presence_remote(pr, id))
			bad = 1;
	}
	CHECK_INT(bad, 0);
	/* A goes silent; B keeps everyone online. */
	in(pr, T0 + 2000, 1, "{\"node\":\"B\",\"hb\":10000}");
	presence_tick(pr, T0 + 3000, 0);
	CHECK_INT(presence_nodes(pr), 1);
	CHECK_INT(presence_nremote(pr), 10000);
	CHECK(strlen(remote(pr)) == 10000 * 9 + 9999);
	CHECK_INT(sent.n, 0);
	presence_free(pr);
	teardown();
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
	CHECK_STR(remote(pr), "b1 u1 u2");
	in(pr, T0, 1, "{\"node\":\"A\",\"reset\":true,\"on\":[\"u2\",\"u3\"]}");
	/* Until its end, the old ones stay: u1 of A too. */
	CHECK_STR(remote(pr), "b1 u1 u2 u3");
	CHECK_INT(presence_nremote(pr), 5);
	in(pr, T0, 1, "{\"node\":\"A\",\"on\":[],\"end\":true}");
	CHECK_STR(remote(pr), "b1 u1 u2 u3");
	CHECK_INT(presence_nremote(pr), 4);	/* A: u2 u3; B: u1 b1 */
	/* Order of keys in the text does not matter. */
	in(pr, T0, 1, "{\"on\":[\"u4\"],\"end\":true,\"reset\":true,"
	    "\"node\":\"A\"}");
	CHECK_STR(remote(pr), "b1 u1 u4");
	CHECK_INT(presence_nremote(pr), 3);
	/* A user named again never looks offline in between. */
	in(pr, T0, 1, "{\"node\":\"A\",\"reset\":true,\"on\":[]}");
	CHECK_INT(presence_remote(pr, "u4"), 1);
	in(pr, T0, 1, "{\"node\":\"A\",\"on\":[\"u4\"],\"end\":true}");
	CHECK_STR(remote(pr), "b1 u1 u4");
	/* An empty snapshot: nothing left of A; B untouched; A known. */
	in(pr, T0, 1, "{\"node\":\"A\",\"reset\":true,\"end\":true}");
	CHECK_STR(remote(pr), "b1 u1");
	CHECK_INT(presence_nremote(pr), 2);
	CHECK_INT(presence_nodes(pr), 2);
	/* Only true resets. */
	in(pr, T0, 1, "{\"node\":\"B\",\"reset\":false,\"on\":[\"b2\"]}");
	CHECK_STR(remote(pr), "b1 b2 u1");
	in(pr, T0, 1, "{\"node\":\"B\",\"reset\":\"yes\"}");
	CHECK_STR(remote(pr), "b1 b2 u1");
	/* A snapshot from a node never heard of. */
	in(pr, T0, 1, "{\"node\":\"C\",\"reset\":true,\"end\":true}");
	CHECK_INT(presence_nremote(pr), 3);
	CHECK_INT(sent.n, 0);
	presence_free(pr);
	teardown();
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
	CHECK_STR(remote(pr), "u1 u5");
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
	presence_free(pr);
	teardown();
}

/* Answering a sync request: reset, then our users in chunks. */
static void
test_sync_answer(void)
{
	struct presence	*pr;
	struct client	*c[300];
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
		c[i] = newc();
		snprintf(id, sizeof(id), "L%03zu", i);
		CHECK_INT(router_attach(srv.router, c[i], id, 0, 0, NULL), 0);
	}
	CHECK_INT(router_nonline(srv.router), 300);
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
	for (i = 256; i < 300; i++)
		client_free(c[i]);
	CHECK_INT(router_nonline(srv.router), 256);
	presence_snapshot(pr);
	CHECK_INT(sent.n, 1);
	CHECK(is_chunk(0, 1, 1));
	CHECK_INT(list_of(0, "on", NULL, 0), 256);
	sent_clear();
	/* Remote users are not ours to announce. */
	for (i = 1; i < 256; i++)
		client_free(c[i]);
	in(pr, T0 + 30, 1, "{\"node\":\"A\",\"on\":[\"r1\",\"r2\"]}");
	presence_snapshot(pr);
	CHECK_INT(sent.n, 1);
	CHECK(is_chunk(0, 1, 1));
	all[0] = '\0';
	CHECK_INT(list_of(0, "on", all, sizeof(all)), 1);
	CHECK_STR(all, "L000");
	client_free(c[0]);
	CHECK_INT(sent.badlen + sent.badarg + sent.dropped, 0);
	presence_free(pr);
	teardown();
}

/* Our heartbeat: only when ready, at most once a second. */
static void
test_hb_tick(void)
{
	struct presence	*pr;
	struct client	*a, *b;

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
	a = newc();
	b = newc();
	CHECK_INT(router_attach(srv.router, a, "x1", 0, 0, NULL), 0);
	CHECK_INT(router_attach(srv.router, b, "x2", 0, 0, NULL), 0);
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
	client_free(a);
	presence_tick(pr, T0 + 6001, 1);
	CHECK_INT(sent.n, 5);
	CHECK(is_hb(4, 1));
	client_free(b);
	CHECK_INT(sent.badlen + sent.badarg + sent.dropped, 0);
	presence_free(pr);
	teardown();
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
	presence_tick(pr, T0 + 2999, 0);
	CHECK_INT(presence_nodes(pr), 2);
	CHECK_STR(remote(pr), "u1 u2 u3");
	/* A: 3 s. u2 stays (B). */
	presence_tick(pr, T0 + 3000, 0);
	CHECK_INT(presence_nodes(pr), 1);
	CHECK_INT(presence_nremote(pr), 2);
	CHECK_INT(presence_remote(pr, "u1"), 0);
	CHECK_INT(presence_remote(pr, "u2"), 1);
	CHECK_STR(remote(pr), "u2 u3");
	/* Any message keeps a node alive: a heartbeat... */
	in(pr, T0 + 3500, 1, "{\"node\":\"B\",\"hb\":2}");
	presence_tick(pr, T0 + 6499, 0);
	CHECK_INT(presence_nodes(pr), 1);
	CHECK_STR(remote(pr), "u2 u3");
	/* ...or an off. */
	in(pr, T0 + 6000, 1, "{\"node\":\"B\",\"off\":[\"u3\"]}");
	presence_tick(pr, T0 + 8999, 0);
	CHECK_INT(presence_nodes(pr), 1);
	CHECK_STR(remote(pr), "u2");
	presence_tick(pr, T0 + 9000, 1);
	CHECK_INT(presence_nodes(pr), 0);
	CHECK_INT(presence_nremote(pr), 0);
	CHECK_STR(remote(pr), "");
	/* Back: a node again, from scratch. */
	in(pr, T0 + 9500, 1, "{\"node\":\"A\",\"on\":[\"u9\"]}");
	CHECK_INT(presence_nodes(pr), 1);
	CHECK_STR(remote(pr), "u9");
	/* Several at once. */
	in(pr, T0 + 9500, 1, "{\"node\":\"B\",\"on\":[\"u9\"]}");
	in(pr, T0 + 9500, 1, "{\"node\":\"C\",\"on\":[\"c\"]}");
	in(pr, T0 + 11000, 1, "{\"node\":\"D\",\"on\":[\"d\"]}");
	presence_tick(pr, T0 + 12500, 1);
	CHECK_INT(presence_nodes(pr), 1);
	CHECK_STR(remote(pr), "d");
	presence_free(pr);
	teardown();
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
		"{\"node\":\"A\",\"on\":[\"\\ud800\"]}",	/* lone surrogate */
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
		CHECK_INT(presence_remote(pr, "x7"), 1);
		in(pr, T0, 1, "{\"node\":\"A\",\"reset\":true,\"end\":true}");
		free(p);
		presence_input(pr, "", 0, T0, 1);
	}
	CHECK_INT(presence_nremote(pr), 0);
	CHECK_STR(remote(pr), "");
	CHECK_INT(sent.n, 0);
	presence_tick(pr, T0 + 3000, 0);	/* A goes */
	CHECK_INT(presence_nodes(pr), 0);

	/* Users that are not strings are skipped; the rest count. */
	in(pr, T0, 1, "{\"node\":\"A\",\"on\":[1,null,true,{},[\"y0\"],"
	    "\"y1\",2.5,\"y2\"]}");
	CHECK_STR(remote(pr), "y1 y2");
	in(pr, T0, 1, "{\"node\":\"A\",\"off\":[1,null,{},[\"y1\"],\"y2\"]}");
	CHECK_STR(remote(pr), "y1");
	/* on/off that are not arrays: nothing. */
	in(pr, T0, 1, "{\"node\":\"A\",\"on\":\"z1\"}");
	in(pr, T0, 1, "{\"node\":\"A\",\"on\":{\"z2\":1}}");
	in(pr, T0, 1, "{\"node\":\"A\",\"off\":\"y1\"}");
	in(pr, T0, 1, "{\"node\":\"A\",\"on\":null,\"off\":42}");
	CHECK_STR(remote(pr), "y1");
	/* Empty user ids. */
	in(pr, T0, 1, "{\"node\":\"A\",\"on\":[\"\"]}");
	CHECK_STR(remote(pr), "y1");
	CHECK_INT(presence_nremote(pr), 1);
	CHECK_INT(presence_remote(pr, ""), 0);
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
	CHECK_INT(presence_remote(pr, u64), 1);
	CHECK_INT(presence_remote(pr, u65), 0);
	CHECK_INT(presence_nremote(pr), 2);
	snprintf(buf, sizeof(buf), "{\"node\":\"A\",\"off\":[\"%s\"]}", u65);
	in(pr, T0, 1, buf);
	CHECK_INT(presence_nremote(pr), 2);
	/* A 64-byte user goes offline cleanly (its id copied on free). */
	presence_tick(pr, T0 + 3000, 0);
	CHECK_INT(presence_nremote(pr), 0);
	CHECK_INT(presence_remote(pr, u64), 0);
	/* A 32-byte node id is fine. */
	in(pr, T0 + 3000, 1,
	    "{\"node\":\"0123456789abcdef0123456789abcdeX\",\"on\":[\"w\"]}");
	CHECK_INT(presence_nodes(pr), 1);
	CHECK_STR(remote(pr), "w");
	/* Odd heartbeats: no crash; a sync request at most. */
	in(pr, T0 + 3000, 1, "{\"node\":\"N\",\"hb\":-1}");
	in(pr, T0 + 3000, 1, "{\"node\":\"M\",\"hb\":99999999999999}");
	in(pr, T0 + 3000, 1, "{\"node\":\"L\",\"hb\":[]}");
	CHECK(sent.n <= 2);
	CHECK_INT(sent.badlen + sent.badarg + sent.dropped, 0);
	presence_free(pr);
	teardown();
}

/* presence_local: {"node":OURS,"on"|"off":[user]}. */
static void
test_local(void)
{
	struct presence	*pr;
	char		 all[256];

	if ((pr = start()) == NULL)
		return;
	presence_local(pr, "u1", 1);
	CHECK_INT(sent.n, 1);
	all[0] = '\0';
	CHECK_INT(list_of(0, "on", all, sizeof(all)), 1);
	CHECK_STR(all, "u1");
	presence_local(pr, "u1", 0);
	CHECK_INT(sent.n, 2);
	all[0] = '\0';
	CHECK_INT(list_of(1, "off", all, sizeof(all)), 1);
	CHECK_STR(all, "u1");
	/* Quotes and non-ASCII survive. */
	presence_local(pr, "a\"b\\c\xc3\xa9", 1);
	CHECK_INT(sent.n, 3);
	all[0] = '\0';
	CHECK_INT(list_of(2, "on", all, sizeof(all)), 1);
	CHECK_STR(all, "a\"b\\c\xc3\xa9");
	/* Ours is not remote. */
	CHECK_INT(presence_remote(pr, "u1"), 0);
	CHECK_INT(presence_nremote(pr), 0);
	/* Heard back from NATS: still nothing. */
	presence_input(pr, sent.v[0], strlen(sent.v[0]), T0, 1);
	CHECK_INT(presence_nremote(pr), 0);
	/* What another node does with it: on, then off. */
	{
		struct presence	*other;
		char		*m0, *m1;

		if ((other = presence_new(srv.router, "other", cap_send,
		    &sent)) == NULL)
			abort();
		m0 = strdup(sent.v[0]);
		m1 = strdup(sent.v[1]);
		if (m0 == NULL || m1 == NULL)
			abort();
		presence_input(other, m0, strlen(m0), T0, 1);
		CHECK_INT(presence_remote(other, "u1"), 1);
		presence_input(other, m1, strlen(m1), T0, 1);
		CHECK_INT(presence_remote(other, "u1"), 0);
		CHECK_INT(presence_nodes(other), 1);
		free(m0);
		free(m1);
		presence_free(other);
	}
	CHECK_INT(sent.n, 3);
	CHECK_INT(sent.badlen + sent.badarg + sent.dropped, 0);
	presence_free(pr);
	teardown();
}

/* A watcher hears users go online and offline across the cluster. */
static void
test_watchers(void)
{
	struct presence	*pr;
	struct client	*w, *l;
	char		 users[3][CODEC_MAX_USER + 1] = { "u1", "u2", "u3" };
	int		 wp;

	if ((pr = start()) == NULL)
		return;
	w = newc_ws(&wp);
	CHECK_INT(router_watch(srv.router, w, users, 3), 0);
	CHECK_STR(events(w, wp), "presence:u1:0 presence:u2:0 presence:u3:0");
	in(pr, T0, 1, "{\"node\":\"A\",\"on\":[\"u1\",\"u2\",\"other\"]}");
	CHECK_STR(events(w, wp), "presence:u1:1 presence:u2:1");
	/* Already online elsewhere: nothing new. */
	in(pr, T0, 1, "{\"node\":\"B\",\"on\":[\"u1\"]}");
	CHECK_STR(events(w, wp), "");
	/* Off on one of two nodes: nothing; on the last: offline. */
	in(pr, T0, 1, "{\"node\":\"A\",\"off\":[\"u1\"]}");
	CHECK_STR(events(w, wp), "");
	in(pr, T0 + 1000, 1, "{\"node\":\"B\",\"off\":[\"u1\"]}");
	CHECK_STR(events(w, wp), "presence:u1:0");
	/* A goes silent: its users go offline. */
	presence_tick(pr, T0 + 3000, 0);
	CHECK_INT(presence_nodes(pr), 1);
	CHECK_STR(events(w, wp), "presence:u2:0");
	/* A user connected here: remote changes say nothing. */
	l = newc();
	CHECK_INT(router_attach(srv.router, l, "u3", 0, 0, NULL), 0);
	CHECK_STR(events(w, wp), "presence:u3:1");
	in(pr, T0 + 3000, 1, "{\"node\":\"B\",\"on\":[\"u3\"]}");
	in(pr, T0 + 3000, 1, "{\"node\":\"B\",\"off\":[\"u3\"]}");
	CHECK_STR(events(w, wp), "");
	/* It leaves here: offline (B said off). */
	client_free(l);
	CHECK_STR(events(w, wp), "presence:u3:0");
	in(pr, T0 + 3000, 1, "{\"node\":\"B\",\"on\":[\"u3\"]}");
	CHECK_STR(events(w, wp), "presence:u3:1");
	/* A snapshot naming the same user: no flicker, not a word. */
	in(pr, T0 + 3000, 1, "{\"node\":\"B\",\"reset\":true,\"on\":[]}");
	in(pr, T0 + 3000, 1, "{\"node\":\"B\",\"on\":[\"u3\"],\"end\":true}");
	CHECK_STR(events(w, wp), "");
	CHECK_INT(presence_remote(pr, "u3"), 1);
	/* One that does not name it: offline at its end. */
	in(pr, T0 + 3000, 1, "{\"node\":\"B\",\"reset\":true,\"on\":[]}");
	CHECK_STR(events(w, wp), "");
	in(pr, T0 + 3000, 1, "{\"node\":\"B\",\"on\":[],\"end\":true}");
	CHECK_STR(events(w, wp), "presence:u3:0");
	in(pr, T0 + 3000, 1, "{\"node\":\"B\",\"on\":[\"u3\"]}");
	CHECK_STR(events(w, wp), "presence:u3:1");
	/* B goes: u3 goes offline. */
	presence_tick(pr, T0 + 6000, 0);
	CHECK_INT(presence_nodes(pr), 0);
	CHECK_STR(events(w, wp), "presence:u3:0");
	free_ws(w, wp);
	CHECK_INT(sent.n, 0);
	presence_free(pr);
	teardown();
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
	presence_free(pr);
	teardown();
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	log_init("test_presence", LOG_ERROR, stderr);
	test_own();
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
	return test_done();
}
