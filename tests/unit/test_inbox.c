/*
 * Copyright (c) 2026 The chat authors.
 *
 * Unit tests for the local inbox: server/inbox-local.c over its two row
 * stores, memory (inbox-mem.c) and SQLite in a file (inbox-sqlite.c),
 * opened through inbox_open() without a NATS link; most tests run on
 * both.  Numbering per user and prev; appends answered only at
 * inbox_commit(), in order, through the appended event (a refusal is
 * answered at once instead); reads and their bounds; info; the cursor,
 * which moves only forward and never past what is committed; retention
 * by count, by bytes (the memory store counting what it really holds:
 * each message with its header, each inbox with its user, each queued
 * entry) and by age, dropping only delivered messages, oldest first,
 * and refusing (INBOX_FULL) rather than dropping an undelivered one;
 * live appends, which other users' backlog never refuses; the quotas
 * on queued messages (--sender-limit, --sender-bytes, --target-bytes),
 * held until the target's cursor passes them and rebuilt from the rows
 * when a file is opened again; epochs (memory: a new one each time an
 * emptied inbox is forgotten and made again; SQLite: one per file, kept
 * across a reopen).  SQLite only: what a close and a reopen keep,
 * writes that fail (RLIMIT_FSIZE) roll the batch back and refuse it
 * with INBOX_UNAVAILABLE, then work again; a version-1 file upgraded
 * and read, a version-3 file refused; the errors of opening (locked,
 * not a database, someone else's database, a directory, a missing
 * directory, not writable).  Files live in a fresh directory under
 * $TEST_TMP (or $TMPDIR, or /tmp), removed at the end.
 */
#include <sys/resource.h>
#include <sys/stat.h>

#include <signal.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "inbox.h"
#include "inbox-local.h"
#include "inboxcost.h"
#include "log.h"
#include "msg.h"
#include "tap.h"
#include "testdir.h"
#include "users.h"
#include "util.h"

#define NOLIM		((size_t)1 << 40)
#define ALL		SIZE_MAX
#define DAY		86400000ULL
#define MLEN		48	/* bytes of a test message before its seq */

/* A message the test appended, by tag. */
struct rec {
	char		 to[65];
	size_t		 len;		/* its text, before the seq */
	uint64_t	 ts;
	uint64_t	 seq;		/* from its answer, 0 until then */
};

static char		 top[1024];
static struct users	*us;
static struct rec	*recs;
static size_t		 nrecs = 1, caprecs;	/* tag 0 is never used */
static char		 answered[1 << 16];
/* ev_appended() appends this many more to "cc" on again_ib (again). */
static struct inbox	*again_ib;
static size_t		 again_n;
static size_t		 unexpected;	/* events a local inbox never sends */
/* What a queued entry costs the memory store (measured first). */
static uint64_t		 qcost;

static const char *
path_of(const char *name)
{
	static char	buf[1200];

	snprintf(buf, sizeof(buf), "%s/%s.db", top, name);
	return buf;
}

static struct inbox_config
cfg_of(size_t hlimit, size_t hbytes, size_t qlimit, double days)
{
	struct inbox_config	c;

	memset(&c, 0, sizeof(c));
	c.history_limit = hlimit;
	c.history_bytes = hbytes;
	c.queue_limit = qlimit;
	c.history_days = days;
	c.target_bytes = c.sender_limit = c.sender_bytes = NOLIM;
	c.drop_every = 1;	/* the file's bytes exact at every commit */
	return c;
}

/* ---- what the inbox tells ---- */

static void
text_of(size_t tag, char *buf)
{
	const struct rec	*r = &recs[tag];
	int			 n;

	n = snprintf(buf, r->len + 1, "{\"m\":\"%zu %s ", tag, r->to);
	if (n < 0 || (size_t)n + 2 > r->len)
		abort();	/* a test asked for too short a message */
	memset(buf + n, '.', r->len - 2 - (size_t)n);
	memcpy(buf + r->len - 2, "\"}", 3);
}

/* m is message tag as appended, numbered seq: text, length, ts, prev. */
static void
check_msg(const struct msg *m, size_t tag, uint64_t seq)
{
	char	*want;
	size_t	 len = recs[tag].len;

	if ((want = malloc(len + MSG_SEQ_ROOM + 1)) == NULL)
		abort();
	text_of(tag, want);
	snprintf(want + len - 1, MSG_SEQ_ROOM + 2, ",\"seq\":%llu}",
	    (unsigned long long)seq);
	CHECK_STR(m->data, want);
	CHECK_INT(m->len, strlen(want));
	CHECK_INT(m->seq, seq);
	CHECK_INT(m->prev, seq - 1);
	CHECK_INT(m->ts, recs[tag].ts);
	free(want);
}

static enum inbox_status put(struct inbox *, const char *, const char *,
    size_t, int, uint64_t);

static void
ev_appended(void *arg, void *tag, enum inbox_status st, struct msg *m)
{
	size_t	t = (size_t)(uintptr_t)tag, o = strlen(answered);

	for (; again_n > 0; again_n--)
		CHECK_INT(put(again_ib, "cc", "s", MLEN, 0, 2000),
		    INBOX_PENDING);

	if (t == 0 || t >= nrecs) {
		CHECK(t > 0 && t < nrecs);
		return;
	}
	if (st == INBOX_OK) {
		CHECK(m != NULL);
		if (m == NULL)
			return;
		recs[t].seq = m->seq;
		check_msg(m, t, m->seq);
		snprintf(answered + o, sizeof(answered) - o, "%s%s:%llu",
		    o > 0 ? " " : "", recs[t].to, (unsigned long long)m->seq);
	} else {
		CHECK(m == NULL);
		snprintf(answered + o, sizeof(answered) - o, "%s%s:%s",
		    o > 0 ? " " : "", recs[t].to, inbox_status_str(st));
	}
}

static void
ev_read(void *arg, void *tag, enum inbox_status st, struct msg **v,
    size_t n)
{
	unexpected++;
}

static void
ev_info(void *arg, void *tag, enum inbox_status st,
    const struct inbox_info *in)
{
	unexpected++;
}

static void
ev_arrived(void *arg, struct user *u, struct msg *m)
{
	unexpected++;
}

static void
ev_ready(void *arg, int ready)
{
	unexpected++;
}

static const struct inbox_events events = {
	NULL, ev_appended, ev_read, ev_info, ev_arrived, ev_ready
};

/* The answers since the last call: "user:seq" or "user:why", in order. */
static const char *
answers(void)
{
	static char	out[sizeof(answered)];

	memcpy(out, answered, sizeof(out));
	answered[0] = '\0';
	return out;
}

/* "user:seq" for seq from..to, as answers() has them. */
static const char *
seqs(const char *user, uint64_t from, uint64_t to)
{
	static char	out[16384];
	size_t		o = 0;

	out[0] = '\0';
	for (; from <= to && o < sizeof(out); from++)
		o += (size_t)snprintf(out + o, sizeof(out) - o, "%s%s:%llu",
		    o > 0 ? " " : "", user, (unsigned long long)from);
	return out;
}

/* Is every answer in a (there may be none) tok? */
static int
only(const char *a, const char *tok)
{
	size_t	n = strlen(tok);

	while (*a != '\0') {
		if (strncmp(a, tok, n) != 0 || (a[n] != ' ' && a[n] != '\0'))
			return 0;
		a += n;
		if (*a == ' ')
			a++;
	}
	return 1;
}

/* ---- doing things ---- */

static struct inbox *
open_ib(int sql, const char *name, struct inbox_config c)
{
	struct inbox	*ib;
	char		 err[512];

	c.path = sql ? path_of(name) : NULL;
	answered[0] = '\0';	/* each test checks its own */
	if ((ib = inbox_open(&c, us, NULL, &events, err, sizeof(err))) ==
	    NULL)
		fprintf(stderr, "inbox_open %s: %s\n", name, err);
	return ib;
}

/* Close ib as the server does at exit, and reap what it held. */
static void
close_ib(struct inbox *ib)
{
	inbox_close(ib);
	users_reap(us);
}

/* inbox_open()'s error for path, "" if it opened. */
static const char *
open_err(const char *path)
{
	static char		 err[512];
	struct inbox_config	 c = cfg_of(10, 1000, 10, 0);
	struct inbox		*ib;

	c.path = path;
	err[0] = '\0';
	if ((ib = inbox_open(&c, us, NULL, &events, err, sizeof(err))) !=
	    NULL) {
		close_ib(ib);
		return "";
	}
	return err;
}

static size_t
rec_new(const char *to, size_t len, uint64_t ts)
{
	struct rec	*r;

	if (nrecs >= caprecs) {
		caprecs = caprecs ? caprecs * 2 : 1024;
		if ((recs = reallocarray(recs, caprecs, sizeof(*recs))) ==
		    NULL)
			abort();
	}
	r = &recs[nrecs];
	memset(r, 0, sizeof(*r));
	snprintf(r->to, sizeof(r->to), "%s", to);
	r->len = len;
	r->ts = ts;
	return nrecs++;
}

/* A message as the router makes it: room for the seq and our header. */
static struct msg *
make_msg(const struct inbox *ib, size_t tag)
{
	struct msg	*m;

	if ((m = msg_alloc(inbox_msg_hdr(ib), recs[tag].len +
	    MSG_SEQ_ROOM)) == NULL)
		abort();
	text_of(tag, m->data);
	m->len = recs[tag].len;
	m->ts = recs[tag].ts;
	return m;
}

/* Append a message of len bytes from from (NULL: none) to to at ts. */
static enum inbox_status
put(struct inbox *ib, const char *to, const char *from, size_t len,
    int live, uint64_t ts)
{
	struct msg		*m;
	enum inbox_status	 st;
	size_t			 tag = rec_new(to, len, ts);

	m = make_msg(ib, tag);
	st = inbox_append(ib, users_get(us, to), from != NULL ?
	    users_get(us, from) : NULL, m, live, (void *)(uintptr_t)tag);
	msg_unref(m);
	return st;
}

/* The loop's end of a pass: the group commit, then users are reaped. */
static void
pass(struct inbox *ib)
{
	inbox_commit(ib);
	users_reap(us);
}

static void
cur(struct inbox *ib, const char *user, uint64_t seq)
{
	inbox_cursor(ib, users_get(us, user), seq);
}

static void
hold(struct inbox *ib, const char *user, int on)
{
	inbox_hold(ib, users_get(us, user), on);
}

static void
tick(struct inbox *ib)
{
	inbox_tick(ib, util_mono_ms());
	users_reap(us);
}

static struct inbox_info
info(struct inbox *ib, const char *user)
{
	struct inbox_info	in;

	memset(&in, 0, sizeof(in));
	CHECK_INT(inbox_info(ib, users_get(us, user), &in, NULL), INBOX_OK);
	CHECK_INT(strlen(in.epoch), 16);
	CHECK_INT(strspn(in.epoch, "0123456789abcdef"), 16);
	CHECK_INT(in.sparse, 0);
	return in;
}

static uint64_t
last(struct inbox *ib, const char *user)
{
	return info(ib, user).last;
}

static uint64_t
first(struct inbox *ib, const char *user)
{
	return info(ib, user).first;
}

static uint64_t
cursor(struct inbox *ib, const char *user)
{
	return info(ib, user).cursor;
}

static const char *
epoch(struct inbox *ib, const char *user)
{
	static char	buf[4][17];
	static int	i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s", info(ib, user).epoch);
	return buf[i];
}

static struct inbox_stats
stats(struct inbox *ib)
{
	struct inbox_stats	st;

	inbox_stats(ib, &st);
	return st;
}

/*
 * inbox_read() as "seq seq ...", "ERR" if it failed.  Checks that seqs
 * increase and that each message is the one appended with that seq.
 */
static const char *
rd(struct inbox *ib, const char *user, uint64_t after, size_t max,
    size_t bytes)
{
	static char		  out[65536];
	struct msg		**v;
	enum inbox_status	  st;
	unsigned long		  tag;
	uint64_t		  prev = after;
	size_t			  n = 99, i, o = 0;

	out[0] = '\0';
	if ((v = calloc(max + 1, sizeof(*v))) == NULL)
		abort();
	st = inbox_read(ib, users_get(us, user), after, max, bytes, v, &n,
	    NULL);
	if (st != INBOX_OK) {
		free(v);
		return "ERR";
	}
	CHECK(n <= max);
	for (i = 0; i < n && i <= max; i++) {
		CHECK(v[i]->seq > prev);
		prev = v[i]->seq;
		if (sscanf(v[i]->data, "{\"m\":\"%lu ", &tag) == 1 &&
		    tag > 0 && tag < nrecs &&
		    strcmp(recs[tag].to, user) == 0 &&
		    recs[tag].seq == v[i]->seq)
			check_msg(v[i], tag, v[i]->seq);
		else {
			fprintf(stderr, "%s seq %llu: not a message appended "
			    "to it: %.60s\n", user,
			    (unsigned long long)v[i]->seq, v[i]->data);
			CHECK(0);
		}
		if (o < sizeof(out))
			o += (size_t)snprintf(out + o, sizeof(out) - o,
			    "%s%llu", i > 0 ? " " : "",
			    (unsigned long long)v[i]->seq);
		msg_unref(v[i]);
	}
	free(v);
	return out;
}

static const char *
rdall(struct inbox *ib, const char *user)
{
	return rd(ib, user, 0, 4096, ALL);
}

/* ---- what things cost ---- */

/*
 * What a message of len bytes is charged once kept, numbered seq: in
 * memory what it takes, in a file the bytes of its text.
 */
static uint64_t
cost(int sql, size_t len, uint64_t seq)
{
	char	digits[32];

	if (sql)
		return len + strlen(",\"seq\":") + (size_t)snprintf(digits,
		    sizeof(digits), "%llu", (unsigned long long)seq);
	return mcost(0, len);
}


/* What the memory store charges for user's inbox itself. */
static uint64_t
boxcost(int sql, const char *user)
{
	return sql ? 0 : box_cost(user);
}

/* ---- the tests ---- */

/*
 * The memory store counts what it holds: each message (msg_cost()),
 * each inbox with its user, each queued entry.  The last is private to
 * inbox-local.c: measured here, then checked to be the same every time
 * (the other tests and test_inbox_random rely on it).  A sender's user
 * is held while a message of its is queued, and reaped after.
 */
static void
test_mem_costs(void)
{
	struct inbox	*ib = open_ib(0, "costs", cfg_of(100, NOLIM, 100, 0));
	uint64_t	 u = 0, b;

	CHECK(ib != NULL);
	if (ib == NULL)
		return;
	u = cost(0, MLEN, 1);
	b = boxcost(0, "x");
	CHECK(u > MLEN + MSG_SEQ_ROOM + sizeof(struct msg));
	CHECK_INT(put(ib, "x", "y", MLEN, 0, 1000), INBOX_PENDING);
	pass(ib);
	CHECK_STR(answers(), "x:1");
	qcost = stats(ib).bytes - u - b;
	CHECK(qcost > 0 && qcost <= 256);
	/* The sender is held by its queued message. */
	CHECK(users_find(us, "y") != NULL);
	CHECK_INT(users_count(us), 2);
	/* Delivered: the entry goes, and so does the sender. */
	cur(ib, "x", 1);
	pass(ib);
	CHECK_INT(stats(ib).bytes, u + b);
	CHECK(users_find(us, "y") == NULL);
	/* Live: never queued. */
	CHECK_INT(put(ib, "x", "y", MLEN, 1, 1001), INBOX_PENDING);
	pass(ib);
	CHECK_INT(stats(ib).bytes, 2 * u + b);
	CHECK(users_find(us, "y") == NULL);
	/* Another inbox, two queued: the same costs again. */
	CHECK_INT(put(ib, "z", "y", MLEN, 0, 1002), INBOX_PENDING);
	CHECK_INT(put(ib, "z", "w", MLEN, 0, 1003), INBOX_PENDING);
	pass(ib);
	CHECK_STR(answers(), "x:2 z:1 z:2");
	CHECK_INT(stats(ib).bytes, 4 * u + b + boxcost(0, "z") + 2 * qcost);
	CHECK_INT(stats(ib).messages, 4);
	CHECK_INT(users_count(us), 4);
	cur(ib, "z", 1);
	pass(ib);
	CHECK_INT(stats(ib).bytes, 4 * u + b + boxcost(0, "z") + qcost);
	CHECK(users_find(us, "y") == NULL);
	CHECK(users_find(us, "w") != NULL);
	close_ib(ib);
	/* Closed: nothing of it is left. */
	CHECK_INT(users_count(us), 0);
}

static void
test_seq(int sql)
{
	struct inbox	*ib = open_ib(sql, "seq", cfg_of(1000, NOLIM, 1000, 0));
	uint64_t	 u;

	CHECK(ib != NULL);
	if (ib == NULL)
		return;
	CHECK_STR(stats(ib).kind, sql ? "sqlite" : "memory");
	CHECK_INT(stats(ib).ok, 1);
	CHECK_INT(stats(ib).messages, 0);
	CHECK_INT(stats(ib).bytes, 0);
	/* A user never seen: nothing. */
	CHECK_INT(last(ib, "nobody"), 0);
	CHECK_INT(first(ib, "nobody"), 0);
	CHECK_INT(cursor(ib, "nobody"), 0);
	CHECK_STR(rdall(ib, "nobody"), "");

	/* Interleaved: each user counts from 1 on its own. */
	CHECK_INT(put(ib, "aa", "s", MLEN, 0, 1000), INBOX_PENDING);
	CHECK_INT(put(ib, "bb", "s", MLEN, 0, 1001), INBOX_PENDING);
	CHECK_INT(put(ib, "aa", "s", MLEN, 0, 1002), INBOX_PENDING);
	CHECK_INT(put(ib, "bb", "t", MLEN, 0, 1003), INBOX_PENDING);
	CHECK_INT(put(ib, "aa", NULL, MLEN, 0, 1004), INBOX_PENDING);
	/* Not committed: not answered, not readable, not the last. */
	CHECK_STR(answers(), "");
	CHECK_INT(last(ib, "aa"), 0);
	CHECK_STR(rdall(ib, "aa"), "");
	CHECK_INT(stats(ib).commits, 0);

	pass(ib);
	/* Answered in the order appended, each with its seq and prev. */
	CHECK_STR(answers(), "aa:1 bb:1 aa:2 bb:2 aa:3");
	CHECK_INT(stats(ib).commits, 1);
	CHECK_INT(stats(ib).ok, 1);
	CHECK_INT(last(ib, "aa"), 3);
	CHECK_INT(last(ib, "bb"), 2);
	CHECK_INT(first(ib, "aa"), 1);
	CHECK_INT(cursor(ib, "aa"), 0);
	CHECK_STR(rdall(ib, "aa"), "1 2 3");
	CHECK_STR(rdall(ib, "bb"), "1 2");
	CHECK_INT(stats(ib).messages, 5);
	u = cost(sql, MLEN, 1);
	CHECK_INT(stats(ib).bytes, sql ? 5 * u :
	    5 * u + boxcost(0, "aa") + boxcost(0, "bb") + 5 * qcost);

	/* One more, visible at its commit only. */
	CHECK_INT(put(ib, "aa", "s", MLEN, 0, 1005), INBOX_PENDING);
	CHECK_INT(last(ib, "aa"), 3);
	CHECK_STR(rdall(ib, "aa"), "1 2 3");
	CHECK_STR(rd(ib, "aa", 3, 10, ALL), "");
	CHECK_STR(answers(), "");
	pass(ib);
	CHECK_STR(answers(), "aa:4");
	CHECK_INT(last(ib, "aa"), 4);
	CHECK_STR(rdall(ib, "aa"), "1 2 3 4");
	/* A commit with nothing open answers nothing. */
	pass(ib);
	CHECK_STR(answers(), "");
	CHECK_INT(stats(ib).commits, 2);
	close_ib(ib);
	CHECK_INT(users_count(us), 0);
}

static void
test_read(int sql)
{
	struct inbox	*ib = open_ib(sql, "read", cfg_of(100, NOLIM, 100, 0));
	uint64_t	 b;
	int		 i;

	CHECK(ib != NULL);
	if (ib == NULL)
		return;
	for (i = 0; i < 10; i++)
		CHECK_INT(put(ib, "rr", "s", MLEN, 0, 1000 + i), INBOX_PENDING);
	pass(ib);
	CHECK_STR(rdall(ib, "rr"), "1 2 3 4 5 6 7 8 9 10");
	/* after */
	CHECK_STR(rd(ib, "rr", 3, 64, ALL), "4 5 6 7 8 9 10");
	CHECK_STR(rd(ib, "rr", 9, 64, ALL), "10");
	CHECK_STR(rd(ib, "rr", 10, 64, ALL), "");
	CHECK_STR(rd(ib, "rr", 11, 64, ALL), "");
	CHECK_STR(rd(ib, "rr", UINT64_MAX, 64, ALL), "");
	/* max */
	CHECK_STR(rd(ib, "rr", 0, 1, ALL), "1");
	CHECK_STR(rd(ib, "rr", 3, 2, ALL), "4 5");
	CHECK_STR(rd(ib, "rr", 3, 1, ALL), "4");
	CHECK_STR(rd(ib, "rr", 3, 0, ALL), "");
	/* bytes: beyond the first, at most that many in all */
	b = MLEN + strlen(",\"seq\":1");
	CHECK_STR(rd(ib, "rr", 3, 64, 2 * b), "4 5");
	CHECK_STR(rd(ib, "rr", 3, 64, 3 * b), "4 5 6");
	CHECK_STR(rd(ib, "rr", 3, 64, 3 * b - 1), "4 5");
	CHECK_STR(rd(ib, "rr", 3, 64, 1), "4");
	CHECK_STR(rd(ib, "rr", 3, 64, 0), "4");
	CHECK_STR(rd(ib, "rr", 3, 3, 100 * b), "4 5 6");
	/* Another user's inbox is not this one. */
	CHECK_STR(rdall(ib, "r"), "");
	CHECK_STR(rdall(ib, "rrr"), "");
	close_ib(ib);
}

/* The cursor moves only forward, and never past what is committed. */
static void
test_cursor(int sql)
{
	struct inbox	*ib = open_ib(sql, "cursor", cfg_of(10, NOLIM, 10, 0));

	CHECK(ib != NULL);
	if (ib == NULL)
		return;
	CHECK_INT(put(ib, "cc", "s", MLEN, 0, 1), INBOX_PENDING);
	CHECK_INT(put(ib, "cc", "s", MLEN, 0, 2), INBOX_PENDING);
	CHECK_INT(put(ib, "cc", "s", MLEN, 0, 3), INBOX_PENDING);
	/* Nothing committed yet: nothing can have been written. */
	cur(ib, "cc", 1);
	CHECK_INT(cursor(ib, "cc"), 0);
	pass(ib);
	CHECK_STR(answers(), "cc:1 cc:2 cc:3");
	CHECK_INT(cursor(ib, "cc"), 0);
	cur(ib, "cc", 2);
	CHECK_INT(cursor(ib, "cc"), 2);
	/* Back: ignored. */
	cur(ib, "cc", 1);
	CHECK_INT(cursor(ib, "cc"), 2);
	cur(ib, "cc", 0);
	CHECK_INT(cursor(ib, "cc"), 2);
	/* Beyond the newest: to the newest. */
	cur(ib, "cc", 99);
	CHECK_INT(cursor(ib, "cc"), 3);
	/* Appended but not committed: not yet. */
	CHECK_INT(put(ib, "cc", "s", MLEN, 0, 4), INBOX_PENDING);
	cur(ib, "cc", 4);
	CHECK_INT(cursor(ib, "cc"), 3);
	pass(ib);
	CHECK_STR(answers(), "cc:4");
	CHECK_INT(cursor(ib, "cc"), 3);
	cur(ib, "cc", 4);
	CHECK_INT(cursor(ib, "cc"), 4);
	/* A user without an inbox. */
	cur(ib, "zz", 5);
	CHECK_INT(cursor(ib, "zz"), 0);
	CHECK_INT(last(ib, "zz"), 0);
	pass(ib);
	close_ib(ib);
	if (!sql)
		return;
	/* Saved with the batch. */
	ib = open_ib(sql, "cursor", cfg_of(100, NOLIM, 100, 0));
	CHECK(ib != NULL);
	if (ib == NULL)
		return;
	CHECK_INT(cursor(ib, "cc"), 4);
	CHECK_INT(last(ib, "cc"), 4);
	CHECK_INT(cursor(ib, "zz"), 0);
	close_ib(ib);
}

static void
test_queue_limit(int sql)
{
	struct inbox	*ib = open_ib(sql, "queue", cfg_of(100, NOLIM, 3, 0));

	CHECK(ib != NULL);
	if (ib == NULL)
		return;
	CHECK_INT(put(ib, "qq", "s", MLEN, 0, 1), INBOX_PENDING);
	CHECK_INT(put(ib, "qq", "s", MLEN, 0, 2), INBOX_PENDING);
	CHECK_INT(put(ib, "qq", "s", MLEN, 0, 3), INBOX_PENDING);
	/* Three undelivered (committed or not): the fourth is refused now. */
	CHECK_INT(put(ib, "qq", "s", MLEN, 0, 4), INBOX_FULL);
	pass(ib);
	CHECK_STR(answers(), "qq:1 qq:2 qq:3");
	CHECK_INT(put(ib, "qq", "t", MLEN, 0, 5), INBOX_FULL);
	CHECK_INT(stats(ib).refused_full, 2);
	/* Unless it goes to a connection at once (live). */
	CHECK_INT(put(ib, "qq", "s", MLEN, 1, 6), INBOX_PENDING);
	/* Another user is not affected. */
	CHECK_INT(put(ib, "pp", "s", MLEN, 0, 7), INBOX_PENDING);
	pass(ib);
	CHECK_STR(answers(), "qq:4 pp:1");
	/* Four undelivered: two written make room for one. */
	cur(ib, "qq", 1);
	CHECK_INT(put(ib, "qq", "s", MLEN, 0, 8), INBOX_FULL);
	cur(ib, "qq", 2);
	CHECK_INT(put(ib, "qq", "s", MLEN, 0, 9), INBOX_PENDING);
	CHECK_INT(put(ib, "qq", "s", MLEN, 0, 10), INBOX_FULL);
	pass(ib);
	CHECK_STR(answers(), "qq:5");
	CHECK_STR(rdall(ib, "qq"), "1 2 3 4 5");
	cur(ib, "qq", 5);
	CHECK_INT(put(ib, "qq", "s", MLEN, 0, 11), INBOX_PENDING);
	CHECK_INT(put(ib, "qq", "s", MLEN, 0, 12), INBOX_PENDING);
	CHECK_INT(put(ib, "qq", "s", MLEN, 0, 13), INBOX_PENDING);
	CHECK_INT(put(ib, "qq", "s", MLEN, 0, 14), INBOX_FULL);
	pass(ib);
	CHECK_STR(answers(), "qq:6 qq:7 qq:8");
	CHECK_INT(last(ib, "qq"), 8);
	CHECK_INT(stats(ib).messages, 9);
	CHECK_INT(stats(ib).refused_full, 5);
	close_ib(ib);
}

static void
test_history_limit(int sql)
{
	struct inbox	*ib = open_ib(sql, "hlimit", cfg_of(3, NOLIM, 100, 0));

	CHECK(ib != NULL);
	if (ib == NULL)
		return;
	CHECK_INT(put(ib, "hh", "s", MLEN, 0, 1), INBOX_PENDING);
	CHECK_INT(put(ib, "hh", "s", MLEN, 0, 2), INBOX_PENDING);
	CHECK_INT(put(ib, "hh", "s", MLEN, 0, 3), INBOX_PENDING);
	/* Three kept, none delivered: nothing may go, so refused... */
	CHECK_INT(put(ib, "hh", "s", MLEN, 0, 4), INBOX_FULL);
	pass(ib);
	CHECK_INT(put(ib, "hh", "s", MLEN, 0, 5), INBOX_FULL);
	/* ...live or not: this is the target's own backlog. */
	CHECK_INT(put(ib, "hh", "s", MLEN, 1, 6), INBOX_FULL);
	CHECK_STR(rdall(ib, "hh"), "1 2 3");
	CHECK_STR(answers(), "hh:1 hh:2 hh:3");

	/* 1 delivered: it makes room for 4. */
	cur(ib, "hh", 1);
	CHECK_INT(put(ib, "hh", "s", MLEN, 0, 7), INBOX_PENDING);
	pass(ib);
	CHECK_STR(answers(), "hh:4");
	CHECK_STR(rdall(ib, "hh"), "2 3 4");
	CHECK_INT(first(ib, "hh"), 2);
	CHECK_INT(stats(ib).messages, 3);
	CHECK_INT(put(ib, "hh", "s", MLEN, 0, 8), INBOX_FULL);

	/* Up to 3 delivered: 5 drops 2, 6 drops 3, then 4 is in the way. */
	cur(ib, "hh", 3);
	CHECK_INT(put(ib, "hh", "s", MLEN, 0, 9), INBOX_PENDING);
	CHECK_INT(put(ib, "hh", "s", MLEN, 1, 10), INBOX_PENDING);
	CHECK_INT(put(ib, "hh", "s", MLEN, 1, 11), INBOX_FULL);
	pass(ib);
	CHECK_STR(answers(), "hh:5 hh:6");
	CHECK_STR(rdall(ib, "hh"), "4 5 6");
	CHECK_INT(first(ib, "hh"), 4);
	CHECK_INT(last(ib, "hh"), 6);
	CHECK_INT(stats(ib).messages, 3);
	CHECK_INT(stats(ib).bytes, sql ? 3 * cost(1, MLEN, 4) :
	    3 * cost(0, MLEN, 4) + boxcost(0, "hh") + 2 * qcost);
	close_ib(ib);
}

/*
 * --history-bytes for all users: the oldest delivered messages go to
 * make room, never an undelivered one.  Messages are large next to what
 * an inbox itself costs the memory store, and the bound has half a
 * message to spare, so that both stores drop the same ones.
 */
static void
test_history_bytes(int sql)
{
	struct inbox	*ib;
	uint64_t	 u, nd, b, h;
	const size_t	 len = 2000;

	u = cost(sql, len, 1);
	nd = need(sql, len);
	b = boxcost(sql, "aa");
	h = 4 * u + 2 * b + 4 * (sql ? 0 : qcost) + nd + u / 2;
	ib = open_ib(sql, "hbytes", cfg_of(100, h, 100, 0));
	CHECK(ib != NULL);
	if (ib == NULL)
		return;
	CHECK_INT(put(ib, "aa", "s", len, 0, 1000), INBOX_PENDING);
	CHECK_INT(put(ib, "aa", "s", len, 0, 1001), INBOX_PENDING);
	CHECK_INT(put(ib, "aa", "s", len, 0, 1002), INBOX_PENDING);
	CHECK_INT(put(ib, "bb", "s", len, 0, 1003), INBOX_PENDING);
	CHECK_INT(put(ib, "bb", "s", len, 0, 1004), INBOX_PENDING);
	pass(ib);
	CHECK_STR(answers(), "aa:1 aa:2 aa:3 bb:1 bb:2");
	CHECK_INT(stats(ib).bytes, 5 * u + 2 * b + 5 * (sql ? 0 : qcost));
	/* All undelivered: nothing may go. */
	CHECK_INT(put(ib, "cc", "s", len, 0, 1005), INBOX_FULL);
	CHECK_INT(put(ib, "aa", "s", len, 0, 1005), INBOX_FULL);
	pass(ib);
	CHECK_STR(answers(), "");
	CHECK_INT(stats(ib).messages, 5);

	/* Delivered, oldest first: aa 1, then bb 1 and 2. */
	cur(ib, "aa", 1);
	cur(ib, "bb", 2);
	pass(ib);
	CHECK_INT(put(ib, "cc", "s", len, 0, 2000), INBOX_PENDING);
	pass(ib);
	CHECK_STR(answers(), "cc:1");
	CHECK_STR(rdall(ib, "aa"), "2 3");
	CHECK_STR(rdall(ib, "bb"), "1 2");
	CHECK_INT(first(ib, "aa"), 2);
	CHECK_INT(stats(ib).messages, 5);
	CHECK(stats(ib).bytes <= h);

	CHECK_INT(put(ib, "cc", "s", len, 0, 2001), INBOX_PENDING);
	pass(ib);
	CHECK_STR(rdall(ib, "aa"), "2 3");
	CHECK_STR(rdall(ib, "bb"), "2");
	CHECK(stats(ib).bytes <= h);

	CHECK_INT(put(ib, "cc", "s", len, 0, 2002), INBOX_PENDING);
	pass(ib);
	CHECK_STR(answers(), "cc:2 cc:3");
	CHECK_STR(rdall(ib, "bb"), "");
	CHECK_INT(first(ib, "bb"), 0);
	/*
	 * bb has nothing kept and nothing undelivered: the memory store
	 * forgets it, numbering and all; the file keeps its row.
	 */
	CHECK_INT(last(ib, "bb"), sql ? 2 : 0);
	CHECK_STR(rdall(ib, "cc"), "1 2 3");
	CHECK_STR(rdall(ib, "aa"), "2 3");
	CHECK(stats(ib).bytes <= h);

	/* Only undelivered ones left: refused, nothing dropped. */
	CHECK_INT(put(ib, "cc", "s", len, 0, 2003), INBOX_FULL);
	CHECK_INT(put(ib, "dd", "s", len, 0, 2003), INBOX_FULL);
	CHECK_INT(stats(ib).messages, 5);
	/* Larger than the bound: refused even with room made. */
	cur(ib, "cc", 3);
	CHECK_INT(put(ib, "dd", "s", (size_t)h, 0, 2004), INBOX_FULL);
	CHECK_STR(rdall(ib, "cc"), "1 2 3");
	pass(ib);
	CHECK_STR(answers(), "");
	close_ib(ib);
}

/*
 * Which delivered message goes first: in memory the one delivered
 * first (the store keeps them in delivery order), in a file the one
 * that arrived first (rows in arrival order).  Here aa 1 and 2 arrived
 * before bb 1, which was delivered before them.
 */
static void
test_evict_order(int sql)
{
	struct inbox	*ib;
	uint64_t	 h;
	const size_t	 len = 2000;

	if ((ib = open_ib(sql, "order", cfg_of(100, NOLIM, 100, 0))) ==
	    NULL) {
		CHECK(0);
		return;
	}
	CHECK_INT(put(ib, "aa", "s", len, 0, 1), INBOX_PENDING);
	CHECK_INT(put(ib, "aa", "s", len, 0, 2), INBOX_PENDING);
	CHECK_INT(put(ib, "bb", "s", len, 0, 3), INBOX_PENDING);
	pass(ib);
	cur(ib, "bb", 1);
	cur(ib, "aa", 2);
	pass(ib);
	/* Room for one more to aa after one message goes. */
	h = stats(ib).bytes + need(sql, len) - cost(sql, len, 1) / 2;
	close_ib(ib);
	if (!sql) {
		/* Memory: the same again under the bound. */
		if ((ib = open_ib(0, "order", cfg_of(100, h, 100, 0))) ==
		    NULL) {
			CHECK(0);
			return;
		}
		CHECK_INT(put(ib, "aa", "s", len, 0, 1), INBOX_PENDING);
		CHECK_INT(put(ib, "aa", "s", len, 0, 2), INBOX_PENDING);
		CHECK_INT(put(ib, "bb", "s", len, 0, 3), INBOX_PENDING);
		pass(ib);
		cur(ib, "bb", 1);
		cur(ib, "aa", 2);
		pass(ib);
	} else if ((ib = open_ib(1, "order", cfg_of(100, h, 100, 0))) ==
	    NULL) {
		CHECK(0);
		return;
	}
	CHECK_STR(answers(), sql ? "" : "aa:1 aa:2 bb:1");
	CHECK_INT(put(ib, "aa", "s", len, 0, 4), INBOX_PENDING);
	pass(ib);
	CHECK_STR(answers(), "aa:3");
	CHECK_STR(rdall(ib, "aa"), sql ? "2 3" : "1 2 3");
	CHECK_STR(rdall(ib, "bb"), sql ? "1" : "");
	CHECK(stats(ib).bytes <= h);
	close_ib(ib);
}

/*
 * Room for one large message takes many small delivered ones, more
 * than one round of eviction finds: all of them may go (queue_full
 * only when what is left is undelivered).
 */
static void
test_evict_many(int sql)
{
	struct inbox	*ib;
	uint64_t	 h, big, f, ev;
	int		 i;

	/* 300 small ones fit, delivered as they come. */
	h = boxcost(sql, "sm") + need(sql, MLEN);
	for (i = 1; i <= 300; i++)
		h += cost(sql, MLEN, (uint64_t)i);
	if ((ib = open_ib(sql, "evict", cfg_of(1000, h, 1000, 0))) == NULL) {
		CHECK(0);
		return;
	}
	for (i = 1; i <= 300; i++) {
		CHECK_INT(put(ib, "sm", "s", MLEN, 0, 1000 + i), INBOX_PENDING);
		pass(ib);
		cur(ib, "sm", (uint64_t)i);
	}
	pass(ib);
	CHECK_STR(answers(), seqs("sm", 1, 300));
	CHECK_INT(stats(ib).messages, 300);
	CHECK_INT(first(ib, "sm"), 1);
	/* One of nine tenths of the bound. */
	big = h * 9 / 10;
	CHECK_INT(put(ib, "bg", "s", (size_t)big, 0, 2000), INBOX_PENDING);
	pass(ib);
	CHECK_STR(answers(), "bg:1");
	CHECK_STR(rdall(ib, "bg"), "1");
	f = first(ib, "sm");
	CHECK(f > 250 && f <= 300);
	CHECK_INT(stats(ib).messages, 300 - (f - 1) + 1);
	CHECK(stats(ib).bytes <= h);
	/* What was left once room was made; one message more was too much. */
	ev = stats(ib).bytes - cost(sql, (size_t)big, 1) - (sql ? 0 : qcost);
	CHECK(ev + need(sql, (size_t)big) <= h);
	CHECK(ev + cost(sql, MLEN, f - 1) + need(sql, (size_t)big) > h);
	close_ib(ib);
}

/*
 * --history-days: delivered messages older than that go at a tick,
 * oldest first; undelivered and young ones stay.  Message times are
 * set here, against the wall clock the inbox reads: two days old, or
 * an hour.  An inbox looks at most once a minute (a tenth of the age,
 * capped), so each case has an inbox of its own.
 */
static void
test_expire(int sql)
{
	struct inbox	*ib;
	uint64_t	 now = util_wall_ms(), old = now - 2 * DAY,
			 young = now - DAY / 24;
	int		 i;

	ib = open_ib(sql, "expire", cfg_of(1000, NOLIM, 1000, 1));
	CHECK(ib != NULL);
	if (ib == NULL)
		return;
	CHECK_INT(put(ib, "ee", "s", MLEN, 0, old), INBOX_PENDING);
	CHECK_INT(put(ib, "ff", "s", MLEN, 0, old + 1), INBOX_PENDING);
	CHECK_INT(put(ib, "ee", "s", MLEN, 0, old + 2), INBOX_PENDING);
	CHECK_INT(put(ib, "ee", "s", MLEN, 0, old + 3), INBOX_PENDING);
	CHECK_INT(put(ib, "ee", "s", MLEN, 0, young), INBOX_PENDING);
	pass(ib);
	cur(ib, "ee", 2);
	pass(ib);
	/* Old and delivered: 1 and 2 of ee; ff 1 and ee 3 wait. */
	tick(ib);
	pass(ib);
	CHECK_STR(rdall(ib, "ee"), "3 4");
	CHECK_STR(rdall(ib, "ff"), "1");
	CHECK_INT(first(ib, "ee"), 3);
	CHECK_INT(last(ib, "ee"), 4);
	CHECK_INT(stats(ib).messages, 3);
	close_ib(ib);

	/* A young delivered one stays, an old one goes. */
	ib = open_ib(sql, "expire2", cfg_of(1000, NOLIM, 1000, 1));
	CHECK(ib != NULL);
	if (ib == NULL)
		return;
	CHECK_INT(put(ib, "ee", "s", MLEN, 0, old), INBOX_PENDING);
	CHECK_INT(put(ib, "ee", "s", MLEN, 0, young), INBOX_PENDING);
	CHECK_INT(put(ib, "gg", "s", MLEN, 0, young), INBOX_PENDING);
	CHECK_INT(put(ib, "hh", "s", MLEN, 0, old), INBOX_PENDING);
	pass(ib);
	cur(ib, "ee", 2);
	cur(ib, "gg", 1);
	pass(ib);
	tick(ib);
	pass(ib);
	CHECK_STR(rdall(ib, "ee"), "2");
	CHECK_STR(rdall(ib, "gg"), "1");
	CHECK_STR(rdall(ib, "hh"), "1");
	CHECK_INT(stats(ib).messages, 3);
	close_ib(ib);

	/* history_days 0: no age limit. */
	ib = open_ib(sql, "expire0", cfg_of(1000, NOLIM, 1000, 0));
	CHECK(ib != NULL);
	if (ib == NULL)
		return;
	CHECK_INT(put(ib, "ee", "s", MLEN, 0, 1), INBOX_PENDING);
	pass(ib);
	cur(ib, "ee", 1);
	tick(ib);
	pass(ib);
	CHECK_STR(rdall(ib, "ee"), "1");
	close_ib(ib);

	/*
	 * A long run of old delivered messages: a tick looks at a bounded
	 * number, the next one at once at the rest.
	 */
	ib = open_ib(sql, "expire-many", cfg_of(1000, NOLIM, 1000, 1));
	CHECK(ib != NULL);
	if (ib == NULL)
		return;
	hold(ib, "ex", 1);
	for (i = 0; i < 700; i++)
		CHECK_INT(put(ib, "ex", "s", MLEN, 0, old + i), INBOX_PENDING);
	CHECK_INT(put(ib, "ex", "s", MLEN, 0, young), INBOX_PENDING);
	pass(ib);
	cur(ib, "ex", 701);
	pass(ib);
	tick(ib);
	pass(ib);
	CHECK(first(ib, "ex") > 1);
	for (i = 0; i < 5 && first(ib, "ex") < 701; i++) {
		tick(ib);
		pass(ib);
	}
	CHECK_INT(first(ib, "ex"), 701);
	CHECK_STR(rdall(ib, "ex"), "701");
	hold(ib, "ex", 0);
	close_ib(ib);
}

/*
 * The wall clock may step back between two messages: age retention
 * still drops only the oldest run, so what is kept stays contiguous.
 */
static void
test_clock_back(int sql)
{
	struct inbox	*ib = open_ib(sql, "clockback",
			    cfg_of(100, NOLIM, 100, 1));
	uint64_t	 now = util_wall_ms();

	CHECK(ib != NULL);
	if (ib == NULL)
		return;
	CHECK_INT(put(ib, "cb", "s", MLEN, 0, now - 2 * DAY), INBOX_PENDING);
	CHECK_INT(put(ib, "cb", "s", MLEN, 0, now - 1000), INBOX_PENDING);
	/* Stepped back. */
	CHECK_INT(put(ib, "cb", "s", MLEN, 0, now - 3 * DAY), INBOX_PENDING);
	pass(ib);
	cur(ib, "cb", 3);
	pass(ib);
	tick(ib);
	pass(ib);
	CHECK_STR(rdall(ib, "cb"), "2 3");
	CHECK_INT(first(ib, "cb"), 2);
	CHECK_INT(stats(ib).messages, 2);
	close_ib(ib);
}

/*
 * Holds and epochs.  A memory inbox with nothing kept and nothing
 * undelivered is forgotten, with its numbering, when no one holds it
 * (the router holds a user with connections): made again, it counts
 * from 1 under a new epoch, so that (epoch, seq) never names two
 * messages.  Held, it is kept.  A file keeps every numbering, under
 * one epoch that survives a reopen.
 */
static void
test_holds(int sql)
{
	struct inbox	*ib = open_ib(sql, "holds", cfg_of(100, NOLIM, 100, 1));
	uint64_t	 old = util_wall_ms() - 2 * DAY;
	char		 eho[17], eno[17], e[17];

	CHECK(ib != NULL);
	if (ib == NULL)
		return;
	/* Holding a user without an inbox, and letting go too often. */
	hold(ib, "ho", 1);
	hold(ib, "ho", 1);
	hold(ib, "never", 0);
	CHECK_INT(put(ib, "ho", "s", MLEN, 0, old), INBOX_PENDING);
	CHECK_INT(put(ib, "no", "s", MLEN, 0, old), INBOX_PENDING);
	pass(ib);
	CHECK_STR(answers(), "ho:1 no:1");
	snprintf(eho, sizeof(eho), "%s", epoch(ib, "ho"));
	snprintf(eno, sizeof(eno), "%s", epoch(ib, "no"));
	/* Memory: one numbering per inbox; a file: one for all. */
	CHECK_INT(strcmp(eho, eno) == 0, sql);
	CHECK_STR(epoch(ib, "ho"), eho);
	cur(ib, "ho", 1);
	cur(ib, "no", 1);
	pass(ib);
	tick(ib);
	pass(ib);
	CHECK_INT(stats(ib).messages, 0);
	/* Held: kept, numbering and all. */
	CHECK_INT(last(ib, "ho"), 1);
	CHECK_INT(cursor(ib, "ho"), 1);
	CHECK_INT(first(ib, "ho"), 0);
	CHECK_STR(epoch(ib, "ho"), eho);
	/* Not held: the memory store forgets it; made again, renamed. */
	CHECK_INT(last(ib, "no"), sql ? 1 : 0);
	CHECK_INT(put(ib, "no", "s", MLEN, 0, 1), INBOX_PENDING);
	pass(ib);
	CHECK_STR(answers(), sql ? "no:2" : "no:1");
	snprintf(e, sizeof(e), "%s", epoch(ib, "no"));
	CHECK_INT(strcmp(e, eno) == 0, sql);
	CHECK(strcmp(e, eho) != 0 || sql);
	/* Holds nest. */
	hold(ib, "ho", 0);
	CHECK_INT(last(ib, "ho"), 1);
	CHECK_STR(epoch(ib, "ho"), eho);
	hold(ib, "ho", 0);
	users_reap(us);
	CHECK_INT(last(ib, "ho"), sql ? 1 : 0);
	CHECK_INT(cursor(ib, "ho"), sql ? 1 : 0);
	CHECK_INT(strcmp(epoch(ib, "ho"), eho) == 0, sql);
	/* One too many is harmless. */
	hold(ib, "ho", 0);
	CHECK_INT(put(ib, "ho", "s", MLEN, 0, 1), INBOX_PENDING);
	pass(ib);
	CHECK_STR(answers(), sql ? "ho:2" : "ho:1");

	/* Undelivered ones keep an unheld memory inbox. */
	CHECK_INT(put(ib, "un", "s", MLEN, 0, 1), INBOX_PENDING);
	pass(ib);
	CHECK_STR(answers(), "un:1");
	snprintf(e, sizeof(e), "%s", epoch(ib, "un"));
	users_reap(us);
	CHECK_INT(last(ib, "un"), 1);
	CHECK_STR(epoch(ib, "un"), e);
	CHECK_INT(put(ib, "un", "s", MLEN, 0, 1), INBOX_PENDING);
	pass(ib);
	CHECK_STR(answers(), "un:2");
	/* So do delivered ones still kept. */
	cur(ib, "un", 2);
	pass(ib);
	CHECK_INT(last(ib, "un"), 2);
	CHECK_STR(epoch(ib, "un"), e);
	close_ib(ib);
	if (!sql)
		return;
	ib = open_ib(sql, "holds", cfg_of(100, NOLIM, 100, 1));
	CHECK(ib != NULL);
	if (ib == NULL)
		return;
	CHECK_STR(epoch(ib, "ho"), eho);
	CHECK_STR(epoch(ib, "nobody"), eho);
	CHECK_INT(last(ib, "no"), 2);
	CHECK_INT(cursor(ib, "un"), 2);
	close_ib(ib);
}

/*
 * A held memory inbox that has numbered nothing is not kept (an idle
 * online user costs no struct box), but its numbering is: the epoch its
 * connections may have been told stays until the hold goes, and the
 * first message is numbered 1 under it.  Unheld, a new one is made.
 */
static void
test_hold_empty(void)
{
	struct inbox	*ib = open_ib(0, "holdempty", cfg_of(100, NOLIM, 100,
			    1));
	char		 e[17], e2[17];

	CHECK(ib != NULL);
	if (ib == NULL)
		return;
	hold(ib, "he", 1);
	CHECK_INT(stats(ib).bytes, 0);
	snprintf(e, sizeof(e), "%s", epoch(ib, "he"));
	CHECK_INT(stats(ib).bytes, 0);
	users_reap(us);
	CHECK_STR(epoch(ib, "he"), e);
	CHECK_INT(put(ib, "he", "s", MLEN, 0, 1), INBOX_PENDING);
	pass(ib);
	CHECK_STR(answers(), "he:1");
	CHECK_STR(epoch(ib, "he"), e);
	CHECK(stats(ib).bytes > 0);
	/* Delivered: held, it keeps its numbering, now in a box. */
	cur(ib, "he", 1);
	pass(ib);
	CHECK_INT(last(ib, "he"), 1);
	CHECK_STR(epoch(ib, "he"), e);
	/* A second user, held and let go without a message: renamed. */
	hold(ib, "hf", 1);
	snprintf(e2, sizeof(e2), "%s", epoch(ib, "hf"));
	CHECK(strcmp(e, e2) != 0);
	hold(ib, "hf", 0);
	users_reap(us);
	CHECK(strcmp(epoch(ib, "hf"), e2) != 0);
	hold(ib, "he", 0);
	close_ib(ib);
}

/*
 * Two memory inboxes (two runs of a server without --store) number the
 * same user under two epochs.  One at a time: a user's inbox state
 * hangs off its struct user, so a users table serves one inbox.
 */
static void
test_mem_epochs(void)
{
	struct inbox	*ib;
	char		 e[17];
	int		 i;

	e[0] = '\0';
	for (i = 0; i < 2; i++) {
		if ((ib = open_ib(0, "epochs", cfg_of(100, NOLIM, 100, 0))) ==
		    NULL) {
			CHECK(0);
			return;
		}
		hold(ib, "u", 1);
		if (i == 0)
			snprintf(e, sizeof(e), "%s", epoch(ib, "u"));
		else
			CHECK(strcmp(e, epoch(ib, "u")) != 0);
		CHECK_STR(epoch(ib, "u"), i == 0 ? e : epoch(ib, "u"));
		hold(ib, "u", 0);
		close_ib(ib);
	}
}

/*
 * The quotas on queued messages: a message appended while its target
 * is not caught up counts against its sender (--sender-limit,
 * --sender-bytes) and its target (--target-bytes) until the target's
 * cursor passes it; live ones never count.
 */
static void
test_quotas(int sql)
{
	struct inbox_config	 c = cfg_of(1000, NOLIM, 1000, 0);
	struct inbox		*ib;
	uint64_t		 u = cost(sql, MLEN, 1), nd = need(sql, MLEN);

	/* --sender-limit 3 */
	c.sender_limit = 3;
	if ((ib = open_ib(sql, "qsender", c)) == NULL) {
		CHECK(0);
		return;
	}
	CHECK_INT(put(ib, "t1", "s1", MLEN, 0, 1), INBOX_PENDING);
	CHECK_INT(put(ib, "t1", "s1", MLEN, 0, 2), INBOX_PENDING);
	CHECK_INT(put(ib, "t2", "s1", MLEN, 0, 3), INBOX_PENDING);
	/* Across targets, committed or not. */
	CHECK_INT(put(ib, "t3", "s1", MLEN, 0, 4), INBOX_FULL);
	pass(ib);
	CHECK_STR(answers(), "t1:1 t1:2 t2:1");
	CHECK_INT(put(ib, "t1", "s1", MLEN, 0, 5), INBOX_FULL);
	/* Another sender to the same target, or no sender: fine. */
	CHECK_INT(put(ib, "t1", "s2", MLEN, 0, 6), INBOX_PENDING);
	CHECK_INT(put(ib, "t1", NULL, MLEN, 0, 7), INBOX_PENDING);
	/* Live: not counted, not refused. */
	CHECK_INT(put(ib, "t3", "s1", MLEN, 1, 8), INBOX_PENDING);
	pass(ib);
	CHECK_STR(answers(), "t1:3 t1:4 t3:1");
	CHECK_INT(put(ib, "t3", "s1", MLEN, 0, 9), INBOX_FULL);
	/* The target's cursor passes one: room for one. */
	cur(ib, "t1", 1);
	CHECK_INT(put(ib, "t3", "s1", MLEN, 0, 10), INBOX_PENDING);
	CHECK_INT(put(ib, "t3", "s1", MLEN, 0, 11), INBOX_FULL);
	pass(ib);
	CHECK_STR(answers(), "t3:2");
	close_ib(ib);
	/* Nothing queued after a close. */
	CHECK_INT(users_count(us), 0);
	if (sql) {
		/*
		 * Rebuilt from the rows, which cannot tell a live message
		 * from a queued one: every undelivered row counts.  s1 has
		 * t1 2, t2 1, t3 1 (live) and t3 2.
		 */
		if ((ib = open_ib(1, "qsender", c)) == NULL) {
			CHECK(0);
			return;
		}
		CHECK_INT(put(ib, "t4", "s1", MLEN, 0, 12), INBOX_FULL);
		CHECK_INT(put(ib, "t4", "s2", MLEN, 0, 13), INBOX_PENDING);
		cur(ib, "t2", 1);
		CHECK_INT(put(ib, "t4", "s1", MLEN, 0, 14), INBOX_FULL);
		cur(ib, "t3", 1);
		CHECK_INT(put(ib, "t4", "s1", MLEN, 0, 14), INBOX_PENDING);
		CHECK_INT(put(ib, "t4", "s1", MLEN, 0, 15), INBOX_FULL);
		pass(ib);
		CHECK_STR(answers(), "t4:1 t4:2");
		close_ib(ib);
	}

	/* --sender-bytes: room for two. */
	c = cfg_of(1000, NOLIM, 1000, 0);
	c.sender_bytes = u + nd;
	if ((ib = open_ib(sql, "qsbytes", c)) == NULL) {
		CHECK(0);
		return;
	}
	CHECK_INT(put(ib, "t1", "s1", MLEN, 0, 1), INBOX_PENDING);
	CHECK_INT(put(ib, "t2", "s1", MLEN, 0, 2), INBOX_PENDING);
	CHECK_INT(put(ib, "t3", "s1", MLEN, 0, 3), INBOX_FULL);
	CHECK_INT(put(ib, "t3", "s2", MLEN, 0, 4), INBOX_PENDING);
	pass(ib);
	CHECK_STR(answers(), "t1:1 t2:1 t3:1");
	cur(ib, "t2", 1);
	CHECK_INT(put(ib, "t3", "s1", MLEN, 0, 5), INBOX_PENDING);
	CHECK_INT(put(ib, "t3", "s1", MLEN, 0, 6), INBOX_FULL);
	pass(ib);
	CHECK_STR(answers(), "t3:2");
	close_ib(ib);
	/* One byte less: room for one. */
	c.sender_bytes = u + nd - 1;
	if ((ib = open_ib(sql, "qsbytes2", c)) == NULL) {
		CHECK(0);
		return;
	}
	CHECK_INT(put(ib, "t1", "s1", MLEN, 0, 1), INBOX_PENDING);
	CHECK_INT(put(ib, "t2", "s1", MLEN, 0, 2), INBOX_FULL);
	pass(ib);
	CHECK_STR(answers(), "t1:1");
	close_ib(ib);

	/* --target-bytes: room for two to one target, from anyone. */
	c = cfg_of(1000, NOLIM, 1000, 0);
	c.target_bytes = u + nd;
	if ((ib = open_ib(sql, "qtbytes", c)) == NULL) {
		CHECK(0);
		return;
	}
	CHECK_INT(put(ib, "t1", "s1", MLEN, 0, 1), INBOX_PENDING);
	CHECK_INT(put(ib, "t1", "s2", MLEN, 0, 2), INBOX_PENDING);
	CHECK_INT(put(ib, "t1", "s3", MLEN, 0, 3), INBOX_FULL);
	CHECK_INT(put(ib, "t1", NULL, MLEN, 0, 3), INBOX_FULL);
	CHECK_INT(put(ib, "t2", "s3", MLEN, 0, 4), INBOX_PENDING);
	CHECK_INT(put(ib, "t1", "s3", MLEN, 1, 5), INBOX_PENDING);
	pass(ib);
	CHECK_STR(answers(), "t1:1 t1:2 t2:1 t1:3");
	CHECK_INT(put(ib, "t1", "s3", MLEN, 0, 6), INBOX_FULL);
	/* Written up to the live one: the queued two leave the count. */
	cur(ib, "t1", 3);
	CHECK_INT(put(ib, "t1", "s3", MLEN, 0, 7), INBOX_PENDING);
	CHECK_INT(put(ib, "t1", "s3", MLEN, 0, 8), INBOX_PENDING);
	CHECK_INT(put(ib, "t1", "s3", MLEN, 0, 9), INBOX_FULL);
	pass(ib);
	CHECK_STR(answers(), "t1:4 t1:5");
	close_ib(ib);
	if (sql) {
		/* Rebuilt: t1 has 4 and 5 queued. */
		if ((ib = open_ib(1, "qtbytes", c)) == NULL) {
			CHECK(0);
			return;
		}
		CHECK_INT(put(ib, "t1", "s9", MLEN, 0, 10), INBOX_FULL);
		CHECK_INT(put(ib, "t2", "s9", MLEN, 0, 10), INBOX_PENDING);
		cur(ib, "t1", 4);
		CHECK_INT(put(ib, "t1", "s9", MLEN, 0, 11), INBOX_PENDING);
		pass(ib);
		CHECK_STR(answers(), "t2:2 t1:6");
		close_ib(ib);
	}
}

/*
 * A message that goes to a connection at once (live) is never refused
 * for other users' backlog: the bytes bound full of undelivered
 * messages for one user refuses queued ones to everyone, not live ones.
 */
/*
 * Appends made while a commit answers go to the next commit, in a list
 * of their own; the commit's list is kept for the next pass only when
 * there is none, and only up to its bound (PEND_KEEP in inbox-local.c).
 */
static void
test_append_in_answer(int sql)
{
	struct inbox	*ib = open_ib(sql, "again", cfg_of(10000, NOLIM,
			    10000, 0));
	const char	*a;
	size_t		 i, n;

	CHECK(ib != NULL);
	if (ib == NULL)
		return;
	CHECK_INT(put(ib, "aa", "s", MLEN, 0, 1000), INBOX_PENDING);
	CHECK_INT(put(ib, "aa", "s", MLEN, 0, 1001), INBOX_PENDING);
	again_ib = ib;
	again_n = 2;
	pass(ib);
	CHECK_STR(answers(), "aa:1 aa:2");
	CHECK_INT(again_n, 0);
	pass(ib);
	CHECK_STR(answers(), "cc:1 cc:2");
	/* A list over the bound, then one on a fresh list. */
	for (i = 0; i < 5000; i++)
		CHECK_INT(put(ib, "dd", "s", MLEN, 0, 3000), INBOX_PENDING);
	pass(ib);
	a = answers();
	for (i = 0, n = 0; a[i] != '\0'; i++)
		n += a[i] == ' ';
	CHECK_INT(n, 4999);
	CHECK(strncmp(a, "dd:1 dd:2 ", 10) == 0);
	CHECK(strcmp(strrchr(a, ' '), " dd:5000") == 0);
	CHECK_INT(put(ib, "aa", "s", MLEN, 0, 4000), INBOX_PENDING);
	again_n = 1;
	pass(ib);
	CHECK_STR(answers(), "aa:3");
	/*
	 * Left pending at close: answered by the last commit, and one its
	 * answer appends by one more.
	 */
	again_n = 1;
	close_ib(ib);
	CHECK_STR(answers(), "cc:3 cc:4");
	CHECK_INT(again_n, 0);
	again_ib = NULL;
	CHECK_INT(users_count(us), 0);
}

/*
 * Paced commits (commit_delay_us): a commit less than the delay after
 * the last is put off until inbox_due(), unless a transaction is open
 * (a tick's expiry); a put-off one goes at close.  Memory never waits.
 */
static void
test_paced(void)
{
	struct inbox_config	 c = cfg_of(10000, NOLIM, 10000, 0);
	struct inbox		*ib;
	struct timespec		 ts;
	uint64_t		 due, now;

	c.commit_delay_us = 300000;
	ib = open_ib(0, "paced-mem", c);
	CHECK_INT(put(ib, "aa", "s", MLEN, 0, 1000), INBOX_PENDING);
	pass(ib);
	CHECK_INT(put(ib, "aa", "s", MLEN, 0, 1001), INBOX_PENDING);
	pass(ib);
	CHECK_STR(answers(), "aa:1 aa:2");
	CHECK_INT(inbox_due(ib), 0);
	close_ib(ib);

	ib = open_ib(1, "paced", c);
	CHECK(ib != NULL);
	if (ib == NULL)
		return;
	/* The first commit has none before it: at once. */
	CHECK_INT(put(ib, "aa", "s", MLEN, 0, 1000), INBOX_PENDING);
	pass(ib);
	CHECK_STR(answers(), "aa:1");
	CHECK_INT(inbox_due(ib), 0);
	/* The next waits, and more join it, until it is due. */
	now = util_mono_us();
	CHECK_INT(put(ib, "aa", "s", MLEN, 0, 1001), INBOX_PENDING);
	pass(ib);
	CHECK_INT(put(ib, "bb", "s", MLEN, 0, 1002), INBOX_PENDING);
	cur(ib, "aa", 1);
	pass(ib);
	CHECK_STR(answers(), "");
	due = inbox_due(ib);
	CHECK(due > now && due <= now + 300000);
	while ((now = util_mono_us()) < due) {
		ts.tv_sec = 0;
		ts.tv_nsec = (long)(due - now) * 1000;
		nanosleep(&ts, NULL);
	}
	pass(ib);
	CHECK_STR(answers(), "aa:2 bb:1");
	CHECK_INT(inbox_due(ib), 0);
	/* A pass that opened a transaction commits at its end. */
	close_ib(ib);
	c.history_days = 1;
	ib = open_ib(1, "paced", c);
	CHECK(ib != NULL);
	if (ib == NULL)
		return;
	CHECK_INT(put(ib, "aa", "s", MLEN, 0, util_wall_ms()), INBOX_PENDING);
	pass(ib);
	CHECK_STR(answers(), "aa:3");
	CHECK_INT(put(ib, "aa", "s", MLEN, 0, util_wall_ms()), INBOX_PENDING);
	tick(ib);
	pass(ib);
	CHECK_STR(answers(), "aa:4");
	/* One put off goes at close, cursors with it. */
	CHECK_INT(put(ib, "bb", "s", MLEN, 0, util_wall_ms()), INBOX_PENDING);
	cur(ib, "aa", 4);
	pass(ib);
	CHECK_STR(answers(), "");
	CHECK(inbox_due(ib) != 0);
	close_ib(ib);
	CHECK_STR(answers(), "bb:2");
	c.commit_delay_us = 0;
	ib = open_ib(1, "paced", c);
	CHECK(ib != NULL);
	if (ib == NULL)
		return;
	CHECK_INT(last(ib, "bb"), 2);
	CHECK_INT(cursor(ib, "aa"), 4);
	close_ib(ib);
	CHECK_INT(users_count(us), 0);
}

static void
test_live(int sql)
{
	struct inbox_config	 c = cfg_of(1000, NOLIM, 3, 0);
	struct inbox		*ib;
	const size_t		 len = 1000;
	uint64_t		 h = cost(sql, len, 1) + need(sql, len) +
				     boxcost(sql, "aa") + (sql ? 0 : qcost);
	c.history_bytes = h;
	c.sender_limit = 1;
	if ((ib = open_ib(sql, "live", c)) == NULL) {
		CHECK(0);
		return;
	}
	CHECK_INT(put(ib, "aa", "s", len, 0, 1), INBOX_PENDING);
	CHECK_INT(put(ib, "aa", "t", len, 0, 2), INBOX_PENDING);
	pass(ib);
	CHECK_STR(answers(), "aa:1 aa:2");
	CHECK_INT(put(ib, "bb", "u", len, 0, 3), INBOX_FULL);
	/* Live: over the bound, over s's quota, while aa is full. */
	CHECK_INT(put(ib, "bb", "s", len, 1, 4), INBOX_PENDING);
	CHECK_INT(put(ib, "bb", "s", len, 1, 5), INBOX_PENDING);
	pass(ib);
	CHECK_STR(answers(), "bb:1 bb:2");
	CHECK(stats(ib).bytes > h);
	CHECK_STR(rdall(ib, "bb"), "1 2");
	/* Delivered, they make room like any other. */
	cur(ib, "bb", 2);
	cur(ib, "aa", 1);
	CHECK_INT(put(ib, "aa", "u", len, 0, 6), INBOX_PENDING);
	pass(ib);
	CHECK_STR(answers(), "aa:3");
	CHECK_STR(rdall(ib, "bb"), "");
	CHECK_STR(rdall(ib, "aa"), "2 3");
	CHECK(stats(ib).bytes <= h);
	close_ib(ib);
}

/* SQLite: what a close and a reopen keep. */
static void
test_persist(void)
{
	struct inbox	*ib = open_ib(1, "persist", cfg_of(100, NOLIM, 100, 0));
	char		 e[17];
	uint64_t	 a, b;
	int		 i;

	CHECK(ib != NULL);
	if (ib == NULL)
		return;
	for (i = 0; i < 5; i++)
		CHECK_INT(put(ib, "pa", "s", MLEN, 0, 1000 + i), INBOX_PENDING);
	CHECK_INT(put(ib, "pb", "s", MLEN + 10, 0, 2000), INBOX_PENDING);
	CHECK_INT(put(ib, "pb", "s", MLEN + 10, 0, 2001), INBOX_PENDING);
	pass(ib);
	cur(ib, "pa", 3);
	pass(ib);
	/* Left open: inbox_close() commits it, and answers. */
	CHECK_INT(put(ib, "pb", "s", MLEN + 10, 0, 2002), INBOX_PENDING);
	cur(ib, "pb", 1);
	snprintf(e, sizeof(e), "%s", epoch(ib, "pa"));
	CHECK_STR(answers(), "pa:1 pa:2 pa:3 pa:4 pa:5 pb:1 pb:2");
	close_ib(ib);
	CHECK_STR(answers(), "pb:3");

	ib = open_ib(1, "persist", cfg_of(100, NOLIM, 100, 0));
	CHECK(ib != NULL);
	if (ib == NULL)
		return;
	/* The file's numbering keeps its name. */
	CHECK_STR(epoch(ib, "pa"), e);
	a = cost(1, MLEN, 1);
	b = cost(1, MLEN + 10, 1);
	CHECK_INT(stats(ib).messages, 8);
	CHECK_INT(stats(ib).bytes, 5 * a + 3 * b);
	CHECK_INT(last(ib, "pa"), 5);
	CHECK_INT(cursor(ib, "pa"), 3);
	CHECK_INT(first(ib, "pa"), 1);
	CHECK_INT(last(ib, "pb"), 3);
	CHECK_INT(cursor(ib, "pb"), 1);
	CHECK_STR(rdall(ib, "pa"), "1 2 3 4 5");
	CHECK_STR(rdall(ib, "pb"), "1 2 3");
	CHECK_INT(put(ib, "pa", "s", MLEN, 0, 3000), INBOX_PENDING);
	pass(ib);
	CHECK_STR(answers(), "pa:6");
	close_ib(ib);

	/* Retention's work survives too. */
	ib = open_ib(1, "persist", cfg_of(3, NOLIM, 100, 0));
	CHECK(ib != NULL);
	if (ib == NULL)
		return;
	CHECK_INT(last(ib, "pa"), 6);
	CHECK_INT(put(ib, "pa", "s", MLEN, 0, 3001), INBOX_PENDING);
	close_ib(ib);
	CHECK_STR(answers(), "pa:7");
	ib = open_ib(1, "persist", cfg_of(3, NOLIM, 100, 0));
	CHECK(ib != NULL);
	if (ib == NULL)
		return;
	/* 1..3 delivered went; 4 on are undelivered and stay. */
	CHECK_STR(rdall(ib, "pa"), "4 5 6 7");
	CHECK_INT(first(ib, "pa"), 4);
	CHECK_INT(stats(ib).messages, 4 + 3);
	CHECK_INT(stats(ib).bytes, 4 * a + 3 * b);
	close_ib(ib);
}

static int
write_file(const char *path, const char *text, size_t len)
{
	FILE	*fp;
	size_t	 n;

	if ((fp = fopen(path, "w")) == NULL)
		return -1;
	n = fwrite(text, 1, len, fp);
	return fclose(fp) == 0 && n == len ? 0 : -1;
}

static int
sql_exec(const char *path, const char *q)
{
	sqlite3	*h = NULL;
	char	*err = NULL;
	int	 rc;

	rc = sqlite3_open(path, &h);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(h, q, NULL, NULL, &err);
	if (rc != SQLITE_OK)
		fprintf(stderr, "%s: %s\n", path, err != NULL ? err :
		    sqlite3_errmsg(h));
	sqlite3_free(err);
	sqlite3_close(h);
	return rc == SQLITE_OK ? 0 : -1;
}

/* An integer a query on path returns, or -1. */
static long long
sql_int(const char *path, const char *q)
{
	sqlite3		*h = NULL;
	sqlite3_stmt	*s = NULL;
	long long	 v = -1;

	if (sqlite3_open(path, &h) == SQLITE_OK &&
	    sqlite3_prepare_v2(h, q, -1, &s, NULL) == SQLITE_OK &&
	    sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(h);
	return v;
}

/* The rows a file still holds below their users' first message. */
static const char below[] = "SELECT count(*) FROM inbox i JOIN users u "
    "ON u.user = i.user WHERE i.lo < u.first";

/* An integer a query on ib's own connection returns, or -1. */
static long long
db_int(struct inbox *ib, const char *q)
{
	sqlite3_stmt	*s = NULL;
	long long	 v = -1;

	if (sqlite3_prepare_v2(inbox_sqlite(ib), q, -1, &s, NULL) ==
	    SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}

/* A file inbox keeping 2 messages a user; a round every "every" commits. */
static struct inbox *
open_rounds(const char *name, size_t hbytes, size_t qlimit, unsigned every)
{
	struct inbox_config	c = cfg_of(2, hbytes, qlimit, 0);

	c.drop_every = every;
	return open_ib(1, name, c);
}

/*
 * Rows over --history-limit leave the file in drop rounds: every
 * drop_every commits, at the first pass a second after the last round,
 * before eviction, and at close.  Until then they count in the bytes
 * and are never read.
 */
static void
test_drop_rounds(void)
{
	struct inbox		*ib;
	const char		*p = path_of("rounds");
	uint64_t		 two = 2 * cost(1, MLEN, 1);
	uint64_t		 t = util_mono_ms();

	ib = open_rounds("rounds", NOLIM, 100, 3);
	CHECK(ib != NULL);
	if (ib == NULL)
		return;
	CHECK_INT(put(ib, "dr", "s", MLEN, 0, 1), INBOX_PENDING);
	CHECK_INT(put(ib, "ds", "s", MLEN, 0, 1), INBOX_PENDING);
	pass(ib);
	CHECK_INT(put(ib, "dr", "s", MLEN, 0, 2), INBOX_PENDING);
	CHECK_INT(put(ib, "ds", "s", MLEN, 0, 2), INBOX_PENDING);
	pass(ib);
	CHECK_STR(answers(), "dr:1 ds:1 dr:2 ds:2");
	cur(ib, "dr", 2);
	cur(ib, "ds", 2);
	/* dr's 1 and ds's 1 leave the counters, not the file. */
	CHECK_INT(put(ib, "dr", "s", MLEN, 0, 3), INBOX_PENDING);
	CHECK_INT(put(ib, "ds", "s", MLEN, 0, 3), INBOX_PENDING);
	pass(ib);
	CHECK_STR(answers(), "dr:3 ds:3");
	CHECK_STR(rdall(ib, "dr"), "2 3");
	CHECK_INT(first(ib, "ds"), 2);
	CHECK_INT(stats(ib).messages, 4);
	CHECK_INT(db_int(ib, below), 2);
	CHECK_INT(stats(ib).bytes, 2 * two + 2 * cost(1, MLEN, 1));
	/* Two more commits, only dr's: the third is a round, ds's too. */
	cur(ib, "dr", 3);
	CHECK_INT(put(ib, "dr", "s", MLEN, 0, 4), INBOX_PENDING);
	pass(ib);
	CHECK_INT(db_int(ib, below), 3);
	CHECK_INT(put(ib, "dr", "s", MLEN, 0, 5), INBOX_PENDING);
	pass(ib);
	CHECK_STR(answers(), "dr:4 dr:5");
	CHECK_INT(db_int(ib, below), 0);
	CHECK_STR(rdall(ib, "dr"), "4 5");
	CHECK_STR(rdall(ib, "ds"), "2 3");
	CHECK_INT(stats(ib).bytes, 2 * two);
	/*
	 * The last round's time is that of the last tick, and there was
	 * none yet: a tick now is more than a second after it.
	 */
	cur(ib, "ds", 3);
	CHECK_INT(put(ib, "ds", "s", MLEN, 0, 6), INBOX_PENDING);
	pass(ib);
	CHECK_INT(db_int(ib, below), 1);
	inbox_tick(ib, t);	/* the round is this pass's commit */
	pass(ib);
	CHECK_INT(db_int(ib, below), 0);
	CHECK_INT(stats(ib).bytes, 2 * two);
	/* Not yet a second after that one: it waits, then goes. */
	cur(ib, "dr", 5);
	CHECK_INT(put(ib, "dr", "s", MLEN, 0, 7), INBOX_PENDING);
	pass(ib);
	inbox_tick(ib, t + 999);
	pass(ib);
	CHECK_STR(answers(), "ds:4 dr:6");
	CHECK_INT(db_int(ib, below), 1);
	CHECK_INT(stats(ib).bytes, 2 * two + cost(1, MLEN, 1));
	inbox_tick(ib, t + 1000);
	pass(ib);
	CHECK_INT(db_int(ib, below), 0);
	CHECK_INT(stats(ib).bytes, 2 * two);
	/* Listed again; a clean stop leaves none. */
	cur(ib, "dr", 6);
	CHECK_INT(put(ib, "dr", "s", MLEN, 0, 8), INBOX_PENDING);
	pass(ib);
	CHECK_STR(answers(), "dr:7");
	CHECK_INT(db_int(ib, below), 1);
	close_ib(ib);
	CHECK_INT(sql_int(p, below), 0);
	CHECK_INT(sql_int(p, "SELECT sum(hi - lo + 1) FROM inbox"), 4);
	CHECK_INT(sql_int(p, "SELECT sum(bytes) FROM users"), 2 * two);
}

static int	limit_files(const char *);

/* A listed user let go before its round stays in memory until it. */
static void
test_drop_keep(void)
{
	struct inbox		*ib;
	int			 i;

	ib = open_rounds("dkeep", NOLIM, 100, 16);
	CHECK(ib != NULL);
	if (ib == NULL)
		return;
	hold(ib, "ka", 1);
	for (i = 1; i <= 3; i++) {
		CHECK_INT(put(ib, "ka", "s", MLEN, 1, i), INBOX_PENDING);
		pass(ib);
		cur(ib, "ka", (uint64_t)i);
	}
	CHECK_STR(answers(), "ka:1 ka:2 ka:3");
	CHECK_INT(db_int(ib, below), 1);
	hold(ib, "ka", 0);	/* no hold, no queue, not in the batch */
	users_reap(us);
	pass(ib);
	tick(ib);		/* a round: ka must still be there */
	pass(ib);
	CHECK_INT(db_int(ib, below), 0);
	close_ib(ib);
}

/*
 * Eviction runs a round first: the rows over the limit go, not a
 * message kept.
 */
static void
test_drop_evict(void)
{
	uint64_t		 c1 = cost(1, MLEN, 1);
	struct inbox		*ib;

	/* Room for 3 messages and a new one, not with ea's first. */
	ib = open_rounds("devict", 3 * c1 + MLEN + MSG_SEQ_ROOM, 100, 16);
	CHECK(ib != NULL);
	if (ib == NULL)
		return;
	CHECK_INT(put(ib, "eb", "s", MLEN, 0, 1), INBOX_PENDING);
	CHECK_INT(put(ib, "ea", "s", MLEN, 0, 1), INBOX_PENDING);
	pass(ib);
	cur(ib, "eb", 1);
	cur(ib, "ea", 1);
	CHECK_INT(put(ib, "ea", "s", MLEN, 0, 2), INBOX_PENDING);
	pass(ib);
	cur(ib, "ea", 2);
	CHECK_INT(put(ib, "ea", "s", MLEN, 0, 3), INBOX_PENDING);
	pass(ib);
	CHECK_STR(answers(), "eb:1 ea:1 ea:2 ea:3");
	CHECK_INT(stats(ib).bytes, 4 * c1);	/* ea's 1 not yet gone */
	CHECK_INT(put(ib, "ec", "s", MLEN, 0, 4), INBOX_PENDING);
	pass(ib);
	CHECK_STR(answers(), "ec:1");
	CHECK_STR(rdall(ib, "eb"), "1");	/* kept: ea's 1 went */
	close_ib(ib);
}

/*
 * A round whose commit fails is rolled back, and runs at the next
 * commit that works: the rows go, the bytes are exact again.
 */
static void
test_drop_fail(void)
{
	struct inbox		*ib;
	const char		*p = path_of("dfail");
	struct rlimit		 old;
	void			(*oldsig)(int);
	uint64_t		 seq = 0;
	int			 i, failed = 0;

	ib = open_rounds("dfail", NOLIM, 100000, 3);
	CHECK(ib != NULL);
	if (ib == NULL)
		return;
	CHECK(getrlimit(RLIMIT_FSIZE, &old) == 0);
	oldsig = signal(SIGXFSZ, SIG_IGN);
	for (i = 0; i < 4; i++) {
		CHECK_INT(put(ib, "wf", "s", 1000, 0, 1), INBOX_PENDING);
		pass(ib);
		cur(ib, "wf", ++seq);
	}
	(void)answers();
	CHECK_INT(limit_files(p), 0);
	for (i = 0; i < 2000 && !failed; i++) {
		if (put(ib, "wf", "s", 1000, 0, 1) != INBOX_PENDING) {
			failed = 1;
			break;
		}
		pass(ib);
		if (strstr(answers(), "unavailable") != NULL)
			failed = 1;
		else
			cur(ib, "wf", ++seq);
	}
	CHECK_INT(failed, 1);
	for (i = 0; i < 4; i++) {
		(void)put(ib, "wf", "s", 1000, 0, 1);
		pass(ib);
	}
	CHECK(only(answers(), "wf:unavailable"));
	CHECK_INT(stats(ib).ok, 0);
	CHECK_INT(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, oldsig);
	for (i = 0; i < 4; i++) {
		CHECK_INT(put(ib, "wf", "s", 1000, 0, 1), INBOX_PENDING);
		pass(ib);
		cur(ib, "wf", ++seq);
	}
	(void)answers();
	CHECK_INT(stats(ib).ok, 1);
	CHECK_INT(stats(ib).messages, 2);
	tick(ib);
	pass(ib);
	CHECK_INT(db_int(ib, below), 0);
	CHECK_INT(stats(ib).bytes, cost(1, 1000, seq - 1) + cost(1, 1000, seq));
	CHECK_INT(db_int(ib, "SELECT sum(bytes) FROM users"),
	    (long long)stats(ib).bytes);
	close_ib(ib);
	CHECK_INT(sql_int(p, below), 0);
}

static void
test_open_errors(void)
{
	struct inbox	*ib;
	char		 p[1200], junk[4096], q[64];
	const char	*e;
	int		 ver;

	/* Locked by an inbox that is open. */
	ib = open_ib(1, "locked", cfg_of(10, 1000, 10, 0));
	CHECK(ib != NULL);
	e = open_err(path_of("locked"));
	if (strstr(e, "locked") == NULL)
		fprintf(stderr, "second open: \"%s\"\n", e);
	CHECK(strstr(e, "is locked") != NULL);
	CHECK(strstr(e, "locked.db'") != NULL);
	close_ib(ib);
	/* Closed: free again. */
	CHECK_STR(open_err(path_of("locked")), "");

	/* Not a database: short and long garbage. */
	snprintf(p, sizeof(p), "%s/garbage-short", top);
	CHECK_INT(write_file(p, "hello, world\n", 13), 0);
	e = open_err(p);
	if (strstr(e, "not a valid database") == NULL)
		fprintf(stderr, "short garbage: \"%s\"\n", e);
	CHECK(strstr(e, "not a valid database") != NULL);
	memset(junk, 'j', sizeof(junk));
	snprintf(p, sizeof(p), "%s/garbage", top);
	CHECK_INT(write_file(p, junk, sizeof(junk)), 0);
	e = open_err(p);
	if (strstr(e, "not a valid database") == NULL)
		fprintf(stderr, "garbage: \"%s\"\n", e);
	CHECK(strstr(e, "not a valid database") != NULL);
	CHECK(strstr(e, "garbage'") != NULL);

	/* An empty file is a new store. */
	snprintf(p, sizeof(p), "%s/empty", top);
	CHECK_INT(write_file(p, "", 0), 0);
	CHECK_STR(open_err(p), "");

	/* A directory. */
	snprintf(p, sizeof(p), "%s/dir", top);
	CHECK_INT(mkdir(p, 0700), 0);
	e = open_err(p);
	CHECK(strstr(e, "directory") != NULL);
	CHECK(strstr(e, "/dir'") != NULL);

	/* In a directory that does not exist. */
	snprintf(p, sizeof(p), "%s/none/x.db", top);
	e = open_err(p);
	CHECK(strstr(e, "none/x.db'") != NULL);
	CHECK(strstr(e, "does not exist") != NULL);

	/* Not writable (root may write anything: only checked as others). */
	if (geteuid() != 0) {
		snprintf(p, sizeof(p), "%s", path_of("readonly"));
		CHECK_STR(open_err(p), "");
		CHECK_INT(chmod(p, 0444), 0);
		e = open_err(p);
		CHECK(strstr(e, "readonly.db'") != NULL);
		CHECK(strstr(e, "Permission denied") != NULL);
		snprintf(p, sizeof(p), "%s/rodir", top);
		CHECK_INT(mkdir(p, 0500), 0);
		snprintf(p, sizeof(p), "%s/rodir/x.db", top);
		e = open_err(p);
		CHECK(strstr(e, "rodir/x.db'") != NULL);
		CHECK(strstr(e, "not writable") != NULL);
		snprintf(p, sizeof(p), "%s/rodir", top);
		CHECK_INT(chmod(p, 0700), 0);
	}

	/* Someone else's SQLite database. */
	snprintf(p, sizeof(p), "%s/foreign.db", top);
	CHECK_INT(sql_exec(p, "CREATE TABLE t(x); INSERT INTO t VALUES (1)"),
	    0);
	e = open_err(p);
	if (strstr(e, "not a chat-server store") == NULL)
		fprintf(stderr, "foreign: \"%s\"\n", e);
	CHECK(strstr(e, "not a chat-server store") != NULL);
	CHECK(strstr(e, "foreign.db'") != NULL);

	/* Ours, but newer: refused, the version named, the file kept. */
	CHECK_STR(open_err(path_of("v3")), "");
	ver = sql_int(path_of("v3"), "PRAGMA user_version");
	CHECK(ver >= 3);		/* 3: rooms' members */
	snprintf(q, sizeof(q), "PRAGMA user_version=%d", ver + 1);
	CHECK_INT(sql_exec(path_of("v3"), q), 0);
	e = open_err(path_of("v3"));
	snprintf(q, sizeof(q), "format version %d", ver + 1);
	if (strstr(e, q) == NULL)
		fprintf(stderr, "version %d: \"%s\"\n", ver + 1, e);
	CHECK(strstr(e, q) != NULL);
	CHECK(strstr(e, "newer") != NULL);
	CHECK(strstr(e, "v3.db'") != NULL);
	CHECK_INT(sql_int(path_of("v3"), "PRAGMA user_version"), ver + 1);
	/* Ours, but no version at all. */
	CHECK_INT(sql_exec(path_of("v3"), "PRAGMA user_version=0"), 0);
	e = open_err(path_of("v3"));
	CHECK(strstr(e, "format version 0") != NULL);
}

/*
 * A file of format version 1 (no sender column) is upgraded in place:
 * its messages, counters and epoch read as before, its undelivered
 * messages count against their target (their sender is not known), and
 * new ones go on from its numbering.
 */
static void
test_v1(void)
{
	struct inbox_config	 c = cfg_of(100, NOLIM, 100, 0);
	struct inbox		*ib;
	struct msg		*v[8];
	const char		*p = path_of("v1");
	char			 q[2048];
	size_t			 n = 0, i;
	static const char *const data[3] = {
		"{\"message\":\"one\",\"from_user\":\"s\",\"ts\":1000,"
		    "\"seq\":1}",
		"{\"message\":\"two\",\"from_user\":\"s\",\"ts\":1001,"
		    "\"seq\":2}",
		"{\"message\":\"three\",\"from_user\":\"s\",\"ts\":1002,"
		    "\"seq\":3}",
	};

	snprintf(q, sizeof(q),
	    "PRAGMA application_id=%d; PRAGMA user_version=1;"
	    "CREATE TABLE users (user TEXT PRIMARY KEY,"
	    " last INTEGER NOT NULL, sent INTEGER NOT NULL,"
	    " first INTEGER NOT NULL, n INTEGER NOT NULL,"
	    " bytes INTEGER NOT NULL) WITHOUT ROWID;"
	    "CREATE TABLE inbox (id INTEGER PRIMARY KEY,"
	    " user TEXT NOT NULL, seq INTEGER NOT NULL,"
	    " ts INTEGER NOT NULL, data TEXT NOT NULL);"
	    "CREATE UNIQUE INDEX inbox_user ON inbox(user, seq);"
	    "CREATE TABLE meta (key TEXT PRIMARY KEY,"
	    " value TEXT NOT NULL) WITHOUT ROWID;"
	    "INSERT INTO meta VALUES ('epoch', '00112233445566ff');"
	    "INSERT INTO inbox(user, seq, ts, data) VALUES"
	    " ('vv', 1, 1000, '%s'), ('vv', 2, 1001, '%s'),"
	    " ('vv', 3, 1002, '%s');"
	    "INSERT INTO users VALUES ('vv', 3, 1, 1, 3, %zu);",
	    0x43484154, data[0], data[1], data[2],
	    strlen(data[0]) + strlen(data[1]) + strlen(data[2]));
	CHECK_INT(sql_exec(p, q), 0);

	/* vv's two undelivered ones fill --target-bytes. */
	c.target_bytes = strlen(data[1]) + strlen(data[2]) + need(1, MLEN) - 1;
	ib = open_ib(1, "v1", c);
	CHECK(ib != NULL);
	if (ib == NULL)
		return;
	CHECK_STR(epoch(ib, "vv"), "00112233445566ff");
	CHECK_INT(last(ib, "vv"), 3);
	CHECK_INT(first(ib, "vv"), 1);
	CHECK_INT(cursor(ib, "vv"), 1);
	CHECK_INT(stats(ib).messages, 3);
	CHECK_INT(stats(ib).bytes, strlen(data[0]) + strlen(data[1]) +
	    strlen(data[2]));
	CHECK_INT(inbox_read(ib, users_get(us, "vv"), 0, 8, ALL, v, &n,
	    NULL), INBOX_OK);
	CHECK_INT(n, 3);
	for (i = 0; i < n && i < 3; i++) {
		CHECK_STR(v[i]->data, data[i]);
		CHECK_INT(v[i]->seq, i + 1);
		CHECK_INT(v[i]->prev, i);
		CHECK_INT(v[i]->ts, 1000 + i);
		msg_unref(v[i]);
	}
	CHECK_INT(put(ib, "vv", "s", MLEN, 0, 2000), INBOX_FULL);
	/* Written: out of the count; the numbering goes on. */
	cur(ib, "vv", 3);
	CHECK_INT(put(ib, "vv", "s", MLEN, 0, 2001), INBOX_PENDING);
	pass(ib);
	CHECK_STR(answers(), "vv:4");
	close_ib(ib);
	CHECK(sql_int(p, "PRAGMA user_version") >= 4);	/* the current one */
	CHECK_INT(sql_int(p, "PRAGMA application_id"), 0x43484154);
	/* A row each, the sender (its length at byte 13) packed with it. */
	CHECK_INT(sql_int(p, "SELECT count(*) FROM inbox WHERE lo = hi AND "
	    "hex(substr(data, 13, 1)) = '00'"), 3);
	CHECK_INT(sql_int(p, "SELECT count(*) FROM inbox WHERE lo = 4 AND "
	    "hi = 4 AND hex(substr(data, 13, 2)) = '0173'"), 1);

	/* In the current version now, the same again. */
	c.target_bytes = NOLIM;
	ib = open_ib(1, "v1", c);
	CHECK(ib != NULL);
	if (ib == NULL)
		return;
	CHECK_STR(epoch(ib, "vv"), "00112233445566ff");
	CHECK_STR(rd(ib, "vv", 3, 8, ALL), "4");
	CHECK_INT(cursor(ib, "vv"), 3);
	close_ib(ib);
}

static off_t
file_size(const char *path)
{
	struct stat	sb;

	return stat(path, &sb) == 0 ? sb.st_size : 0;
}

/* Limit the size of files this process writes to just above now. */
static int
limit_files(const char *path)
{
	struct rlimit	rl;
	char		wal[1300];
	off_t		a, b;

	snprintf(wal, sizeof(wal), "%s-wal", path);
	a = file_size(path);
	b = file_size(wal);
	fflush(stdout);
	fflush(stderr);
	if (getrlimit(RLIMIT_FSIZE, &rl) == -1)
		return -1;
	rl.rlim_cur = (rlim_t)(a > b ? a : b) + 65536;
	return setrlimit(RLIMIT_FSIZE, &rl);
}


/*
 * One pass of 37 appends to three users, interleaved, each of its own
 * length: the store writes one row per user (format version 4), in the
 * order the users came first (which is what retention's "oldest"
 * reads), and reads them back from any seq.  With 20 users the rows go
 * INSERT_ROWS (16) to a statement and the rest one by one.
 */
static void
test_insert_rows(void)
{
	static const char *const to[3] = { "ra", "rb", "rc" };
	struct inbox	*ib = open_ib(1, "rows", cfg_of(100, NOLIM, 100, 0));
	char		 want[1024], u[8];
	size_t		 o = 0;
	int		 i;

	CHECK(ib != NULL);
	if (ib == NULL)
		return;
	for (i = 0; i < 37; i++) {
		CHECK_INT(put(ib, to[i % 3], "s", MLEN + i, 0, 1000 + i),
		    INBOX_PENDING);
		o += (size_t)snprintf(want + o, sizeof(want) - o, "%s%s:%d",
		    i > 0 ? " " : "", to[i % 3], i / 3 + 1);
	}
	pass(ib);
	CHECK_STR(answers(), want);
	CHECK_STR(rdall(ib, "ra"), "1 2 3 4 5 6 7 8 9 10 11 12 13");
	CHECK_STR(rdall(ib, "rb"), "1 2 3 4 5 6 7 8 9 10 11 12");
	/* From the middle of a row, and at most max of it. */
	CHECK_STR(rd(ib, "ra", 4, 3, ALL), "5 6 7");
	CHECK_STR(rd(ib, "ra", 12, 8, ALL), "13");
	for (i = 0; i < 20; i++) {
		snprintf(u, sizeof(u), "m%d", i);
		CHECK_INT(put(ib, u, "s", MLEN, 0, 2000), INBOX_PENDING);
		CHECK_INT(put(ib, u, "s", MLEN, 0, 2001), INBOX_PENDING);
	}
	pass(ib);
	answers();
	close_ib(ib);
	CHECK_INT(sql_int(path_of("rows"), "SELECT count(*) FROM (SELECT "
	    "user, lo, hi, row_number() OVER (ORDER BY id) AS k FROM inbox) "
	    "WHERE (k, user, lo, hi) IN (VALUES (1, 'ra', 1, 13), "
	    "(2, 'rb', 1, 12), (3, 'rc', 1, 12))"), 3);
	CHECK_INT(sql_int(path_of("rows"), "SELECT count(*) FROM inbox"), 23);
	CHECK_INT(sql_int(path_of("rows"), "SELECT count(*) FROM inbox WHERE "
	    "user LIKE 'm%' AND lo = 1 AND hi = 2"), 20);
	ib = open_ib(1, "rows", cfg_of(100, NOLIM, 100, 0));
	CHECK(ib != NULL);
	if (ib == NULL)
		return;
	CHECK_INT(stats(ib).messages, 77);
	CHECK_STR(rdall(ib, "rc"), "1 2 3 4 5 6 7 8 9 10 11 12");
	CHECK_STR(rdall(ib, "m19"), "1 2");
	close_ib(ib);
}

/*
 * A trim that ends inside a row rewrites it: what went is gone from
 * the file, what stays reads as before and keeps the row's place.
 */
static void
test_row_trim(void)
{
	struct inbox	*ib = open_ib(1, "rtrim", cfg_of(4, NOLIM, 100, 0));
	const char	*p = path_of("rtrim");
	int		 i;

	CHECK(ib != NULL);
	if (ib == NULL)
		return;
	for (i = 0; i < 4; i++)
		CHECK_INT(put(ib, "tt", "s", MLEN, 0, 1000 + i), INBOX_PENDING);
	CHECK_INT(put(ib, "tu", "s", MLEN, 0, 1000), INBOX_PENDING);
	pass(ib);
	CHECK_STR(answers(), "tt:1 tt:2 tt:3 tt:4 tu:1");
	cur(ib, "tt", 4);
	/* Over --history-limit 4: 1 and 2 go, 3 and 4 stay in their row. */
	CHECK_INT(put(ib, "tt", "s", MLEN, 0, 2000), INBOX_PENDING);
	CHECK_INT(put(ib, "tt", "s", MLEN, 0, 2001), INBOX_PENDING);
	pass(ib);
	CHECK_STR(answers(), "tt:5 tt:6");
	CHECK_STR(rdall(ib, "tt"), "3 4 5 6");
	CHECK_STR(rd(ib, "tt", 3, 1, ALL), "4");
	CHECK_INT(first(ib, "tt"), 3);
	CHECK_INT(stats(ib).bytes, 4 * cost(1, MLEN, 4) + cost(1, MLEN, 1));
	close_ib(ib);
	CHECK_INT(sql_int(p, "SELECT count(*) FROM (SELECT user, lo, hi, "
	    "row_number() OVER (ORDER BY id) AS k FROM inbox) WHERE "
	    "(k, user, lo, hi) IN (VALUES (1, 'tt', 3, 4), (2, 'tu', 1, 1), "
	    "(3, 'tt', 5, 6))"), 3);
	CHECK_INT(sql_int(p, "SELECT bytes FROM inbox WHERE user = 'tt' AND "
	    "lo = 3"), 2 * cost(1, MLEN, 4));
	CHECK_INT(sql_int(p, "SELECT ts FROM inbox WHERE user = 'tt' AND "
	    "lo = 3"), 1002);
	/* 13 bytes of header and 1 + 1 of sender: the texts and no more. */
	CHECK_INT(sql_int(p, "SELECT length(data) FROM inbox WHERE user = "
	    "'tt' AND lo = 3"), 2 * (13 + 1 + cost(1, MLEN, 4)));
}

/*
 * A row that does not add up is an error, said with the row and its
 * user: reading it fails (nothing of it is returned), and a file whose
 * undelivered messages cannot be counted is not opened.
 */
static void
test_row_corrupt(void)
{
	struct inbox	*ib = open_ib(1, "corrupt", cfg_of(100, NOLIM, 100, 0));
	const char	*p = path_of("corrupt"), *e;
	int		 i;

	CHECK(ib != NULL);
	if (ib == NULL)
		return;
	for (i = 0; i < 3; i++) {
		CHECK_INT(put(ib, "ca", "s", MLEN, 0, 1000), INBOX_PENDING);
		CHECK_INT(put(ib, "cb", "s", MLEN, 0, 1000), INBOX_PENDING);
	}
	pass(ib);
	answers();
	cur(ib, "ca", 3);
	pass(ib);
	close_ib(ib);
	/* ca's row (delivered) one byte short, cb's (not) claiming more. */
	CHECK_INT(sql_exec(p, "UPDATE inbox SET data = substr(data, 1, "
	    "length(data) - 1) WHERE user = 'ca'"), 0);
	CHECK_INT(sql_exec(p, "UPDATE inbox SET hi = 4 WHERE user = 'cb'"),
	    0);
	e = open_err(p);
	if (strstr(e, "is corrupt") == NULL)
		fprintf(stderr, "corrupt: \"%s\"\n", e);
	CHECK(strstr(e, "'cb' (seqs 1-4) is corrupt") != NULL);
	CHECK_INT(sql_exec(p, "UPDATE inbox SET hi = 3 WHERE user = 'cb'"),
	    0);
	ib = open_ib(1, "corrupt", cfg_of(100, NOLIM, 100, 0));
	CHECK(ib != NULL);
	if (ib == NULL)
		return;
	CHECK_STR(rdall(ib, "cb"), "1 2 3");
	CHECK_STR(rdall(ib, "ca"), "ERR");
	CHECK_STR(rd(ib, "ca", 0, 1, ALL), "1");	/* before the end */
	close_ib(ib);
}

/*
 * Writes fail (the file may not grow): the failed batch is undone,
 * refused (INBOX_UNAVAILABLE) and not readable, every committed message
 * is, the inbox says it is failing until a commit works again, and the
 * failed seqs are given again.
 */
static void
test_write_fail(void)
{
	struct inbox	*ib = open_ib(1, "wfail",
			    cfg_of(1000000, NOLIM, 1000000, 0));
	struct rlimit	 old;
	void		(*oldsig)(int);
	uint64_t	 good, b0;
	enum inbox_status s = INBOX_PENDING;
	const char	*a;
	char		 want[64];
	int		 i, j, failed = 0;

	CHECK(ib != NULL);
	if (ib == NULL)
		return;
	CHECK(getrlimit(RLIMIT_FSIZE, &old) == 0);
	oldsig = signal(SIGXFSZ, SIG_IGN);
	for (i = 0; i < 5; i++)
		CHECK_INT(put(ib, "ww", "s", 1000, 0, 1000 + i), INBOX_PENDING);
	pass(ib);
	cur(ib, "ww", 1);
	pass(ib);
	CHECK_STR(answers(), "ww:1 ww:2 ww:3 ww:4 ww:5");
	good = 5;

	/* A: commit every three messages until a batch fails. */
	CHECK_INT(limit_files(path_of("wfail")), 0);
	for (i = 0; i < 2000 && !failed; i++) {
		for (j = 0, s = INBOX_PENDING; j < 3 && s == INBOX_PENDING;
		    j++)
			s = put(ib, "ww", "s", 1000, 0, 2000 + i);
		pass(ib);
		a = answers();
		if (s == INBOX_PENDING && strstr(a, "unavailable") == NULL) {
			good += 3;
			CHECK_STR(a, seqs("ww", good - 2, good));
			continue;
		}
		failed = 1;
		/* Refused now, or answered so: never numbered. */
		CHECK(s == INBOX_PENDING || s == INBOX_UNAVAILABLE);
		CHECK(only(a, "ww:unavailable"));
		CHECK(s != INBOX_PENDING || a[0] != '\0');
	}
	CHECK_INT(failed, 1);
	CHECK_INT(stats(ib).ok, 0);
	CHECK(good > 5);
	CHECK_INT(last(ib, "ww"), good);
	CHECK_STR(rd(ib, "ww", good, 100, ALL), "");
	/* The cursor moves while failing; it is written once it works. */
	cur(ib, "ww", 4);
	CHECK_INT(cursor(ib, "ww"), 4);
	/* Still failing: the same batch again fails again. */
	for (j = 0, s = INBOX_PENDING; j < 3 && s == INBOX_PENDING; j++)
		s = put(ib, "ww", "s", 1000, 0, 5000);
	pass(ib);
	a = answers();
	CHECK(only(a, "ww:unavailable"));
	CHECK(s != INBOX_PENDING || a[0] != '\0');
	CHECK_INT(stats(ib).ok, 0);
	CHECK_INT(last(ib, "ww"), good);

	/* Room again: a commit works, the failed seqs are given again. */
	CHECK_INT(setrlimit(RLIMIT_FSIZE, &old), 0);
	CHECK_INT(put(ib, "ww", "s", 500, 0, 6000), INBOX_PENDING);
	pass(ib);
	CHECK_STR(answers(), seqs("ww", good + 1, good + 1));
	CHECK_INT(stats(ib).ok, 1);
	CHECK_INT(last(ib, "ww"), good + 1);
	CHECK_INT(stats(ib).messages, good + 1);
	b0 = stats(ib).bytes;
	snprintf(want, sizeof(want), "%llu %llu", (unsigned long long)good,
	    (unsigned long long)good + 1);
	CHECK_STR(rd(ib, "ww", good - 1, 100, ALL), want);
	/* A user with all of its messages delivered, its cursor saved. */
	CHECK_INT(put(ib, "hx", "s", 100, 0, 7000), INBOX_PENDING);
	CHECK_INT(put(ib, "hx", "s", 100, 0, 7000), INBOX_PENDING);
	pass(ib);
	CHECK_STR(answers(), "hx:1 hx:2");
	hold(ib, "hx", 1);

	/*
	 * B: one batch of 4 MB, where the file may grow by 64 KB.  The
	 * store writes a pass's rows at its commit, so no append fails:
	 * the commit does, and refuses every append of the batch.  (Were
	 * the rows written as they come, an append would fail once SQLite
	 * spilled its page cache to the file: the else below.)
	 */
	CHECK_INT(limit_files(path_of("wfail")), 0);
	s = INBOX_PENDING;
	for (i = 0; i < 1000 && s == INBOX_PENDING; i++)
		s = put(ib, "ww", "s", 4000, 0, 7000 + i);
	if (s == INBOX_PENDING) {
		pass(ib);
		a = answers();
		CHECK(a[0] != '\0' && only(a, "ww:unavailable"));
	} else {
		CHECK_INT(s, INBOX_UNAVAILABLE);
		CHECK_INT(stats(ib).ok, 0);
		/* The batch is undone: nothing more goes in this pass. */
		CHECK_INT(put(ib, "zz", "s", 100, 0, 1), INBOX_UNAVAILABLE);
		CHECK_INT(put(ib, "zz", "s", 100, 1, 1), INBOX_UNAVAILABLE);
		/* A cursor moved meanwhile is written at the next commit. */
		cur(ib, "hx", 2);
		CHECK_INT(cursor(ib, "hx"), 2);
		pass(ib);
		/* Every append of the batch refused, none numbered. */
		a = answers();
		CHECK(a[0] != '\0' && only(a, "ww:unavailable"));
	}
	CHECK_INT(stats(ib).ok, 0);
	CHECK_INT(last(ib, "ww"), good + 1);
	CHECK_INT(stats(ib).messages, good + 3);
	CHECK_INT(stats(ib).bytes, b0 + 2 * cost(1, 100, 1));
	CHECK_STR(rd(ib, "ww", good + 1, 100, ALL), "");
	CHECK_INT(setrlimit(RLIMIT_FSIZE, &old), 0);
	CHECK_INT(put(ib, "ww", "s", 40, 0, 8000), INBOX_PENDING);
	pass(ib);
	CHECK_STR(answers(), seqs("ww", good + 2, good + 2));
	CHECK_INT(stats(ib).ok, 1);
	CHECK_INT(cursor(ib, "hx"), s != INBOX_PENDING ? 2 : 0);
	hold(ib, "hx", 0);
	close_ib(ib);
	signal(SIGXFSZ, oldsig);

	/* What is in the file: the committed ones, nothing else. */
	ib = open_ib(1, "wfail", cfg_of(1000000, NOLIM, 1000000, 0));
	CHECK(ib != NULL);
	if (ib == NULL)
		return;
	CHECK_INT(last(ib, "ww"), good + 2);
	CHECK_INT(cursor(ib, "ww"), 4);
	CHECK_INT(stats(ib).messages, good + 2 + 2);
	snprintf(want, sizeof(want), "%llu %llu", (unsigned long long)good + 1,
	    (unsigned long long)good + 2);
	CHECK_STR(rd(ib, "ww", good, 100, ALL), want);
	CHECK_INT(last(ib, "hx"), 2);
	CHECK_STR(rdall(ib, "hx"), "1 2");
	CHECK_INT(cursor(ib, "hx"), s != INBOX_PENDING ? 2 : 0);
	CHECK_INT(last(ib, "zz"), 0);
	close_ib(ib);
}

int
main(void)
{
	int		 sql;

	if (testdir_make(top, sizeof(top), "inbox-test") == -1)
		return 1;
	/* TEST_VERBOSE=1: the inbox's own warnings too. */
	log_init("test_inbox", getenv("TEST_VERBOSE") != NULL ? LOG_DEBUG :
	    LOG_ERROR, stderr);
	if ((us = users_new()) == NULL)
		return 1;
	test_mem_costs();
	test_mem_epochs();
	test_hold_empty();
	for (sql = 0; sql <= 1; sql++) {
		test_seq(sql);
		test_read(sql);
		test_cursor(sql);
		test_queue_limit(sql);
		test_history_limit(sql);
		test_history_bytes(sql);
		test_evict_order(sql);
		test_evict_many(sql);
		test_expire(sql);
		test_clock_back(sql);
		test_holds(sql);
		test_quotas(sql);
		test_live(sql);
		test_append_in_answer(sql);
	}
	test_persist();
	test_paced();
	test_open_errors();
	test_v1();
	test_insert_rows();
	test_row_trim();
	test_drop_rounds();
	test_drop_keep();
	test_drop_evict();
	test_drop_fail();
	test_row_corrupt();
	test_write_fail();
	CHECK_INT(unexpected, 0);
	CHECK_STR(answers(), "");
	users_reap(us);
	CHECK_INT(users_count(us), 0);
	users_free(us);
	free(recs);
	testdir_remove(top);
	return test_done();
}
