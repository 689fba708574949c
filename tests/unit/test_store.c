/*
 * Copyright (c) 2026 The chat authors.
 *
 * Unit tests for server/store.c and store-db.c, each run against both
 * backings (memory, and SQLite in a file): numbering per user, reads
 * and their bounds, committed-only visibility, the undelivered bound,
 * retention by count, by total bytes and by age (delivered messages
 * only), the delivery cursor moving back and forth, holds.  SQLite
 * only: persistence across a close, the errors of store_open (locked,
 * not a database, a directory, not writable, someone else's database,
 * another version) and failing writes (RLIMIT_FSIZE).  Files live in a
 * fresh directory under $TEST_TMP (or $TMPDIR, or /tmp), removed at the
 * end.
 */
#include <sys/resource.h>
#include <sys/stat.h>

#include <ftw.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "server.h"
#include "store.h"
#include "tap.h"

#define ALL	((uint64_t)-1)
#define NOLIM	((size_t)1 << 30)

static char	top[1024];

static int
rm_one(const char *path, const struct stat *sb, int flag, struct FTW *f)
{
	return remove(path);
}

/* The file of a test's SQLite store, or NULL for memory. */
static const char *
path_of(int sql, const char *name)
{
	static char	buf[1200];

	if (!sql)
		return NULL;
	snprintf(buf, sizeof(buf), "%s/%s.db", top, name);
	return buf;
}

static struct store *
open_st(int sql, const char *name, size_t hlimit, size_t hbytes,
    size_t qlimit, double days)
{
	struct store_config	 sc;
	struct store		*st;
	char			 err[512];

	memset(&sc, 0, sizeof(sc));
	sc.path = path_of(sql, name);
	sc.history_limit = hlimit;
	sc.history_bytes = hbytes;
	sc.queue_limit = qlimit;
	sc.history_days = days;
	if ((st = store_open(&sc, err, sizeof(err))) == NULL)
		fprintf(stderr, "store_open %s: %s\n", name, err);
	return st;
}

/* store_open's error for path, "" if it opened. */
static const char *
open_err(const char *path)
{
	static char		 err[512];
	struct store_config	 sc;
	struct store		*st;

	memset(&sc, 0, sizeof(sc));
	sc.path = path;
	sc.history_limit = sc.history_bytes = sc.queue_limit = 10;
	err[0] = '\0';
	if ((st = store_open(&sc, err, sizeof(err))) != NULL) {
		store_close(st);
		return "";
	}
	return err;
}

/* The text of user's message seq: "user:seq" padded with dots to len. */
static void
mktext(char *buf, size_t len, const char *user, uint64_t seq)
{
	size_t	n;

	n = (size_t)snprintf(buf, len + 1, "%s:%llu", user,
	    (unsigned long long)seq);
	if (n < len)
		memset(buf + n, '.', len - n);
	buf[len] = '\0';
}

/*
 * Number and append a message of len (>= 16) bytes for user at ts.
 * The status; *seqp (if not NULL) gets the seq on success.
 */
static enum store_status
put(struct store *st, const char *user, size_t len, uint64_t ts,
    uint64_t *seqp)
{
	struct msg		*m;
	uint64_t		 seq = 0;
	enum store_status	 s;

	if ((s = store_next(st, user, len, 0, &seq)) != STORE_OK)
		return s;
	if ((m = msg_alloc(len)) == NULL)
		return STORE_NOMEM;
	mktext(m->data, len, user, seq);
	m->seq = seq;
	s = store_append(st, user, m, ts);
	msg_unref(m);
	if (s == STORE_OK && seqp != NULL)
		*seqp = seq;
	return s;
}

/* The seq store_next() would give user now (0 if it refuses). */
static uint64_t
next_seq(struct store *st, const char *user)
{
	uint64_t	seq = 0;

	if (store_next(st, user, 16, 0, &seq) != STORE_OK)
		return 0;
	return seq;
}

/*
 * store_read() as "seq seq ...", "ERR" if it failed.  Checks that
 * seqs increase and that each message is the one put for that seq.
 */
static const char *
rd(struct store *st, const char *user, uint64_t after, uint64_t upto,
    size_t max, size_t bytes)
{
	static char	  buf[65536];
	struct msg	**v;
	char		 *want;
	size_t		  o = 0;
	uint64_t	  prev = after;
	int		  n, i;

	buf[0] = '\0';
	if ((v = calloc(max + 1, sizeof(*v))) == NULL)
		return "NOMEM";
	if ((n = store_read(st, user, after, upto, max, bytes, v)) < 0) {
		free(v);
		return "ERR";
	}
	CHECK((size_t)n <= max);
	for (i = 0; i < n; i++) {
		CHECK(v[i]->seq > prev && v[i]->seq <= upto);
		prev = v[i]->seq;
		if ((want = malloc(v[i]->len + 1)) != NULL) {
			mktext(want, v[i]->len, user, v[i]->seq);
			CHECK(memcmp(v[i]->data, want, v[i]->len) == 0);
			free(want);
		}
		if (o < sizeof(buf))
			o += (size_t)snprintf(buf + o, sizeof(buf) - o,
			    "%s%llu", i > 0 ? " " : "",
			    (unsigned long long)v[i]->seq);
		msg_unref(v[i]);
	}
	free(v);
	return buf;
}

/* All committed messages of user, as rd(). */
static const char *
rdall(struct store *st, const char *user)
{
	return rd(st, user, 0, ALL, 4096, ALL);
}

static void
test_seq(int sql)
{
	struct store	*st = open_st(sql, "seq", 1000, NOLIM, 1000, 0);
	uint64_t	 s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0;

	CHECK(st != NULL);
	if (st == NULL)
		return;
	CHECK_STR(store_kind(st), sql ? "sqlite" : "memory");
	CHECK_INT(store_count(st), 0);
	/* A user never seen: nothing. */
	CHECK_INT(store_last(st, "nobody"), 0);
	CHECK_INT(store_first(st, "nobody"), 0);
	CHECK_INT(store_sent(st, "nobody"), 0);
	CHECK_STR(rdall(st, "nobody"), "");

	/* Interleaved: each user counts from 1 on its own. */
	CHECK_INT(put(st, "aa", 20, 1000, &s1), STORE_OK);
	CHECK_INT(put(st, "bb", 20, 1001, &s2), STORE_OK);
	CHECK_INT(put(st, "aa", 20, 1002, &s3), STORE_OK);
	CHECK_INT(put(st, "bb", 20, 1003, &s4), STORE_OK);
	CHECK_INT(put(st, "aa", 20, 1004, &s5), STORE_OK);
	CHECK_INT(s1, 1);
	CHECK_INT(s2, 1);
	CHECK_INT(s3, 2);
	CHECK_INT(s4, 2);
	CHECK_INT(s5, 3);

	/* Not committed: not readable, not the last. */
	CHECK_INT(store_last(st, "aa"), 0);
	CHECK_STR(rdall(st, "aa"), "");
	CHECK_INT(next_seq(st, "aa"), 4);

	CHECK_INT(store_commit(st), 0);
	CHECK_INT(store_failing(st), 0);
	CHECK_INT(store_last(st, "aa"), 3);
	CHECK_INT(store_last(st, "bb"), 2);
	CHECK_INT(store_first(st, "aa"), 1);
	CHECK_INT(store_sent(st, "aa"), 0);
	CHECK_STR(rdall(st, "aa"), "1 2 3");
	CHECK_STR(rdall(st, "bb"), "1 2");
	CHECK_INT(store_count(st), 5);
	CHECK_INT(store_bytes(st), 100);

	/* One more, visible at its commit only. */
	CHECK_INT(put(st, "aa", 20, 1005, &s1), STORE_OK);
	CHECK_INT(s1, 4);
	CHECK_INT(store_last(st, "aa"), 3);
	CHECK_STR(rdall(st, "aa"), "1 2 3");
	CHECK_STR(rd(st, "aa", 3, 4, 10, ALL), "");
	CHECK_INT(store_commit(st), 0);
	CHECK_INT(store_last(st, "aa"), 4);
	CHECK_STR(rdall(st, "aa"), "1 2 3 4");
	/* A commit with nothing open is fine. */
	CHECK_INT(store_commit(st), 0);
	store_close(st);
}

static void
test_read(int sql)
{
	struct store	*st = open_st(sql, "read", 1000, NOLIM, 1000, 0);
	int		 i;

	CHECK(st != NULL);
	if (st == NULL)
		return;
	for (i = 0; i < 10; i++)
		CHECK_INT(put(st, "rr", 20, 1000 + i, NULL), STORE_OK);
	CHECK_INT(store_commit(st), 0);
	CHECK_STR(rdall(st, "rr"), "1 2 3 4 5 6 7 8 9 10");
	/* after < seq <= upto */
	CHECK_STR(rd(st, "rr", 3, 7, 64, ALL), "4 5 6 7");
	CHECK_STR(rd(st, "rr", 0, 1, 64, ALL), "1");
	CHECK_STR(rd(st, "rr", 9, ALL, 64, ALL), "10");
	CHECK_STR(rd(st, "rr", 10, ALL, 64, ALL), "");
	CHECK_STR(rd(st, "rr", 5, 5, 64, ALL), "");
	CHECK_STR(rd(st, "rr", 7, 3, 64, ALL), "");
	CHECK_STR(rd(st, "rr", 0, 100, 64, ALL), "1 2 3 4 5 6 7 8 9 10");
	/* max */
	CHECK_STR(rd(st, "rr", 3, ALL, 2, ALL), "4 5");
	CHECK_STR(rd(st, "rr", 3, ALL, 1, ALL), "4");
	CHECK_STR(rd(st, "rr", 3, ALL, 0, ALL), "");
	/* bytes: 20 each; beyond the first, at most that many in all */
	CHECK_STR(rd(st, "rr", 3, ALL, 64, 45), "4 5");
	CHECK_STR(rd(st, "rr", 3, ALL, 64, 60), "4 5 6");
	CHECK_STR(rd(st, "rr", 3, ALL, 64, 59), "4 5");
	CHECK_STR(rd(st, "rr", 3, ALL, 64, 1), "4");
	CHECK_STR(rd(st, "rr", 3, ALL, 64, 0), "4");
	CHECK_STR(rd(st, "rr", 3, 8, 3, 1000), "4 5 6");
	/* Another user's inbox is not this one. */
	CHECK_STR(rdall(st, "r"), "");
	CHECK_STR(rdall(st, "rrr"), "");
	store_close(st);
}

static void
test_queue_limit(int sql)
{
	struct store	*st = open_st(sql, "queue", 100, NOLIM, 3, 0);
	uint64_t	 seq = 0;

	CHECK(st != NULL);
	if (st == NULL)
		return;
	CHECK_INT(put(st, "qq", 20, 1, NULL), STORE_OK);
	CHECK_INT(put(st, "qq", 20, 2, NULL), STORE_OK);
	CHECK_INT(put(st, "qq", 20, 3, NULL), STORE_OK);
	/* Three undelivered (committed or not): the fourth is refused. */
	CHECK_INT(store_next(st, "qq", 20, 0, &seq), STORE_FULL);
	CHECK_INT(store_commit(st), 0);
	CHECK_INT(store_next(st, "qq", 20, 0, &seq), STORE_FULL);
	CHECK_INT(put(st, "qq", 20, 4, NULL), STORE_FULL);
	/* Unless it goes to a connection at once (live). */
	CHECK_INT(store_next(st, "qq", 20, 1, &seq), STORE_OK);
	CHECK_INT(seq, 4);
	/* Another user is not affected. */
	CHECK_INT(put(st, "pp", 20, 5, &seq), STORE_OK);
	CHECK_INT(seq, 1);
	/* One delivered: room for one. */
	store_sent_set(st, "qq", 1);
	CHECK_INT(store_sent(st, "qq"), 1);
	CHECK_INT(put(st, "qq", 20, 6, &seq), STORE_OK);
	CHECK_INT(seq, 4);
	CHECK_INT(put(st, "qq", 20, 7, NULL), STORE_FULL);
	CHECK_INT(store_commit(st), 0);
	CHECK_STR(rdall(st, "qq"), "1 2 3 4");
	/* The cursor never passes the newest seq. */
	store_sent_set(st, "qq", 100);
	CHECK_INT(store_sent(st, "qq"), 4);
	CHECK_INT(put(st, "qq", 20, 8, NULL), STORE_OK);
	CHECK_INT(put(st, "qq", 20, 9, NULL), STORE_OK);
	CHECK_INT(put(st, "qq", 20, 10, NULL), STORE_OK);
	CHECK_INT(put(st, "qq", 20, 11, NULL), STORE_FULL);
	CHECK_INT(store_commit(st), 0);
	CHECK_INT(store_last(st, "qq"), 7);
	CHECK_INT(store_count(st), 8);
	store_close(st);
}

static void
test_history_limit(int sql)
{
	struct store	*st = open_st(sql, "hlimit", 3, NOLIM, 100, 0);
	uint64_t	 seq = 0;

	CHECK(st != NULL);
	if (st == NULL)
		return;
	CHECK_INT(put(st, "hh", 20, 1, NULL), STORE_OK);
	CHECK_INT(put(st, "hh", 20, 2, NULL), STORE_OK);
	CHECK_INT(put(st, "hh", 20, 3, NULL), STORE_OK);
	/* Three kept, none delivered: nothing may go, so refused. */
	CHECK_INT(store_next(st, "hh", 20, 0, &seq), STORE_FULL);
	CHECK_INT(store_commit(st), 0);
	CHECK_INT(store_next(st, "hh", 20, 0, &seq), STORE_FULL);
	/* Live or not. */
	CHECK_INT(store_next(st, "hh", 20, 1, &seq), STORE_FULL);
	CHECK_STR(rdall(st, "hh"), "1 2 3");

	/* 1 delivered: it makes room for 4. */
	store_sent_set(st, "hh", 1);
	CHECK_INT(put(st, "hh", 20, 4, &seq), STORE_OK);
	CHECK_INT(seq, 4);
	CHECK_INT(store_commit(st), 0);
	CHECK_STR(rdall(st, "hh"), "2 3 4");
	CHECK_INT(store_first(st, "hh"), 2);
	CHECK_INT(store_count(st), 3);
	CHECK_INT(store_bytes(st), 60);
	CHECK_INT(store_next(st, "hh", 20, 0, &seq), STORE_FULL);

	/* Up to 3 delivered: 5 drops 2, 6 drops 3, then 4 is in the way. */
	store_sent_set(st, "hh", 3);
	CHECK_INT(put(st, "hh", 20, 5, NULL), STORE_OK);
	CHECK_INT(put(st, "hh", 20, 6, NULL), STORE_OK);
	CHECK_INT(put(st, "hh", 20, 7, NULL), STORE_FULL);
	CHECK_INT(store_commit(st), 0);
	CHECK_STR(rdall(st, "hh"), "4 5 6");
	CHECK_INT(store_first(st, "hh"), 4);
	CHECK_INT(store_last(st, "hh"), 6);
	CHECK_INT(store_count(st), 3);
	store_close(st);
}

static void
test_history_bytes(int sql)
{
	struct store	*st = open_st(sql, "hbytes", 100, 100, 100, 0);
	uint64_t	 seq = 0;

	CHECK(st != NULL);
	if (st == NULL)
		return;
	/* 100 bytes in all, the bound. */
	CHECK_INT(put(st, "aa", 20, 1000, NULL), STORE_OK);
	CHECK_INT(put(st, "aa", 20, 1001, NULL), STORE_OK);
	CHECK_INT(put(st, "aa", 20, 1002, NULL), STORE_OK);
	CHECK_INT(put(st, "bb", 20, 1003, NULL), STORE_OK);
	CHECK_INT(put(st, "bb", 20, 1004, NULL), STORE_OK);
	CHECK_INT(store_commit(st), 0);
	CHECK_INT(store_bytes(st), 100);
	/* All undelivered: nothing may go. */
	CHECK_INT(store_next(st, "cc", 20, 0, &seq), STORE_FULL);
	CHECK_INT(store_count(st), 5);
	CHECK_INT(store_bytes(st), 100);

	/* Delivered, oldest first: aa 1, then bb 1 and 2. */
	store_sent_set(st, "aa", 1);
	store_sent_set(st, "bb", 2);
	CHECK_INT(store_commit(st), 0);
	CHECK_INT(put(st, "cc", 20, 2000, &seq), STORE_OK);
	CHECK_INT(seq, 1);
	CHECK_INT(store_commit(st), 0);
	CHECK_STR(rdall(st, "aa"), "2 3");
	CHECK_STR(rdall(st, "bb"), "1 2");
	CHECK_INT(store_first(st, "aa"), 2);
	CHECK_INT(store_bytes(st), 100);
	CHECK_INT(store_count(st), 5);

	CHECK_INT(put(st, "cc", 20, 2001, NULL), STORE_OK);
	CHECK_INT(store_commit(st), 0);
	CHECK_STR(rdall(st, "aa"), "2 3");
	CHECK_STR(rdall(st, "bb"), "2");

	CHECK_INT(put(st, "cc", 20, 2002, NULL), STORE_OK);
	CHECK_INT(store_commit(st), 0);
	CHECK_STR(rdall(st, "bb"), "");
	CHECK_INT(store_first(st, "bb"), 0);
	/*
	 * bb has nothing kept and nothing undelivered: the memory store
	 * forgets it, numbering and all; the file keeps its row.
	 */
	CHECK_INT(store_last(st, "bb"), sql ? 2 : 0);
	CHECK_STR(rdall(st, "cc"), "1 2 3");
	CHECK_STR(rdall(st, "aa"), "2 3");

	/* Only undelivered ones left: refused, nothing dropped. */
	CHECK_INT(store_next(st, "cc", 20, 0, &seq), STORE_FULL);
	CHECK_INT(store_next(st, "dd", 1, 0, &seq), STORE_FULL);
	CHECK_INT(store_next(st, "dd", 1, 1, &seq), STORE_FULL);
	CHECK_INT(store_count(st), 5);
	CHECK_INT(store_bytes(st), 100);
	/* Larger than the bound: refused even with room made. */
	store_sent_set(st, "cc", 3);
	CHECK_INT(store_next(st, "dd", 101, 0, &seq), STORE_FULL);
	CHECK_STR(rdall(st, "aa"), "2 3");
	CHECK_INT(store_commit(st), 0);
	store_close(st);
}

/*
 * Room for one large message takes many small delivered ones: all of
 * them may go (queue_full only when what is left is undelivered).
 */
static void
test_evict_many(int sql)
{
	struct store	*st = open_st(sql, "evict", 1000, 300 * 16, 1000, 0);
	enum store_status s;
	int		 i;

	CHECK(st != NULL);
	if (st == NULL)
		return;
	for (i = 0; i < 300; i++)
		CHECK_INT(put(st, "sm", 16, 1000 + i, NULL), STORE_OK);
	CHECK_INT(store_commit(st), 0);
	store_sent_set(st, "sm", 300);
	CHECK_INT(store_commit(st), 0);
	/* 4700 bytes: 294 of the 300 delivered ones have to go. */
	s = put(st, "bg", 4700, 2000, NULL);
	CHECK_INT(s, STORE_OK);
	CHECK_INT(store_commit(st), 0);
	if (s == STORE_OK) {
		CHECK_INT(store_bytes(st), 4700 + 6 * 16);
		CHECK_INT(store_first(st, "sm"), 295);
		CHECK_STR(rdall(st, "bg"), "1");
	}
	store_close(st);
}

/*
 * The cursor moves back (a last connection went away with messages
 * unwritten) and forth again: retention must still drop only what is
 * delivered.  The memory backing keeps a delivered list that has to
 * follow.
 */
static void
test_rollback(int sql)
{
	struct store	*st = open_st(sql, "rollback", 3, NOLIM, 100, 0);
	uint64_t	 seq = 0;

	CHECK(st != NULL);
	if (st == NULL)
		return;
	CHECK_INT(put(st, "ro", 20, 1, NULL), STORE_OK);
	CHECK_INT(put(st, "ro", 20, 2, NULL), STORE_OK);
	CHECK_INT(put(st, "ro", 20, 3, NULL), STORE_OK);
	CHECK_INT(store_commit(st), 0);
	store_sent_set(st, "ro", 3);
	store_sent_set(st, "ro", 1);
	CHECK_INT(store_sent(st, "ro"), 1);
	store_sent_set(st, "ro", 2);
	CHECK_INT(store_sent(st, "ro"), 2);
	/* 4 drops 1, 5 drops 2, then 3 (undelivered) is in the way. */
	CHECK_INT(put(st, "ro", 20, 4, NULL), STORE_OK);
	CHECK_INT(store_commit(st), 0);
	CHECK_STR(rdall(st, "ro"), "2 3 4");
	CHECK_INT(put(st, "ro", 20, 5, NULL), STORE_OK);
	CHECK_INT(store_commit(st), 0);
	CHECK_STR(rdall(st, "ro"), "3 4 5");
	CHECK_INT(store_next(st, "ro", 20, 0, &seq), STORE_FULL);
	/* Back before everything kept, then forth. */
	store_sent_set(st, "ro", 0);
	CHECK_INT(store_sent(st, "ro"), 0);
	store_sent_set(st, "ro", 4);
	store_sent_set(st, "ro", 2);
	store_sent_set(st, "ro", 3);
	CHECK_INT(put(st, "ro", 20, 6, NULL), STORE_OK);
	CHECK_INT(store_next(st, "ro", 20, 0, &seq), STORE_FULL);
	CHECK_INT(store_commit(st), 0);
	CHECK_STR(rdall(st, "ro"), "4 5 6");
	CHECK_INT(store_count(st), 3);
	store_close(st);

	/* The same through --history-bytes: 60 bytes, three messages. */
	st = open_st(sql, "rollback-bytes", 100, 60, 100, 0);
	CHECK(st != NULL);
	if (st == NULL)
		return;
	CHECK_INT(put(st, "xx", 20, 1, NULL), STORE_OK);
	CHECK_INT(put(st, "xx", 20, 2, NULL), STORE_OK);
	CHECK_INT(put(st, "xx", 20, 3, NULL), STORE_OK);
	CHECK_INT(store_commit(st), 0);
	store_sent_set(st, "xx", 3);
	store_sent_set(st, "xx", 0);
	store_sent_set(st, "xx", 2);
	store_sent_set(st, "xx", 1);
	CHECK_INT(store_commit(st), 0);
	/* Only 1 is delivered: it goes, and only it. */
	CHECK_INT(put(st, "yy", 20, 10, NULL), STORE_OK);
	CHECK_INT(store_commit(st), 0);
	CHECK_STR(rdall(st, "xx"), "2 3");
	CHECK_INT(store_next(st, "yy", 20, 0, &seq), STORE_FULL);
	CHECK_INT(store_count(st), 3);
	/* All of xx back to undelivered: nothing can go. */
	store_sent_set(st, "xx", 0);
	CHECK_INT(store_next(st, "yy", 20, 0, &seq), STORE_FULL);
	CHECK_STR(rdall(st, "xx"), "2 3");
	store_sent_set(st, "xx", 3);
	CHECK_INT(put(st, "yy", 20, 11, NULL), STORE_OK);
	CHECK_INT(put(st, "yy", 20, 12, NULL), STORE_OK);
	CHECK_INT(store_commit(st), 0);
	CHECK_STR(rdall(st, "xx"), "");
	CHECK_STR(rdall(st, "yy"), "1 2 3");
	CHECK_INT(store_next(st, "yy", 20, 0, &seq), STORE_FULL);
	CHECK_INT(store_bytes(st), 60);
	store_close(st);
}

static void
test_expire(int sql)
{
	/* 0.001 day: 86.4 s; expiry runs at most every 8.64 s. */
	struct store	*st = open_st(sql, "expire", 100, NOLIM, 100, 0.001);
	const uint64_t	 now = 1700000000000ULL;

	CHECK(st != NULL);
	if (st == NULL)
		return;
	CHECK_INT(put(st, "ee", 20, 1000, NULL), STORE_OK);
	CHECK_INT(put(st, "ff", 20, 1500, NULL), STORE_OK);
	CHECK_INT(put(st, "ee", 20, 2000, NULL), STORE_OK);
	CHECK_INT(put(st, "ee", 20, 3000, NULL), STORE_OK);
	CHECK_INT(store_commit(st), 0);
	store_sent_set(st, "ee", 2);
	CHECK_INT(store_commit(st), 0);
	/* Old and delivered: 1 and 2 of ee; ff 1 and ee 3 wait. */
	store_expire(st, now);
	CHECK_INT(store_commit(st), 0);
	CHECK_STR(rdall(st, "ee"), "3");
	CHECK_STR(rdall(st, "ff"), "1");
	CHECK_INT(store_first(st, "ee"), 3);
	CHECK_INT(store_last(st, "ee"), 3);
	CHECK_INT(store_count(st), 2);
	CHECK_INT(store_bytes(st), 40);

	/* A young delivered one stays, an old one goes. */
	CHECK_INT(put(st, "ee", 20, now + 9000, NULL), STORE_OK);
	CHECK_INT(store_commit(st), 0);
	store_sent_set(st, "ee", 4);
	store_expire(st, now + 10000);
	CHECK_INT(store_commit(st), 0);
	CHECK_STR(rdall(st, "ee"), "4");
	CHECK_STR(rdall(st, "ff"), "1");
	CHECK_INT(store_count(st), 2);
	store_close(st);

	/* history_days 0: no age limit. */
	st = open_st(sql, "expire0", 100, NOLIM, 100, 0);
	CHECK(st != NULL);
	if (st == NULL)
		return;
	CHECK_INT(put(st, "ee", 20, 1, NULL), STORE_OK);
	CHECK_INT(store_commit(st), 0);
	store_sent_set(st, "ee", 1);
	store_expire(st, now);
	CHECK_INT(store_commit(st), 0);
	CHECK_STR(rdall(st, "ee"), "1");
	store_close(st);
}

/*
 * Holds.  A memory inbox with nothing kept and nothing undelivered is
 * freed with its counter when no one holds it: the user's numbering
 * restarts at 1 (clients see it in "resumed": last < since).  While
 * held (the router holds a user with connections) it is kept.  With a
 * file the counter is in the users row: numbering always continues.
 * A user without an inbox yet cannot be held (store_hold() says 0).
 */
static void
test_hold(int sql)
{
	struct store	*st = open_st(sql, "hold", 100, NOLIM, 100, 0.001);
	uint64_t	 now = 1700000000000ULL;

	CHECK(st != NULL);
	if (st == NULL)
		return;
	/* No inbox yet: nothing to hold. */
	CHECK_INT(store_hold(st, "ho"), 0);
	store_release(st, "ho");
	CHECK_INT(put(st, "ho", 20, 1, NULL), STORE_OK);
	CHECK_INT(put(st, "no", 20, 1, NULL), STORE_OK);
	CHECK_INT(store_commit(st), 0);
	CHECK_INT(store_hold(st, "ho"), 1);
	CHECK_INT(store_hold(st, "ho"), 1);
	store_sent_set(st, "ho", 1);
	store_sent_set(st, "no", 1);
	CHECK_INT(store_commit(st), 0);
	store_expire(st, now);
	CHECK_INT(store_commit(st), 0);
	CHECK_INT(store_count(st), 0);
	/* Held: kept. */
	CHECK_INT(store_last(st, "ho"), 1);
	CHECK_INT(store_sent(st, "ho"), 1);
	CHECK_INT(next_seq(st, "ho"), 2);
	/* Not held: forgotten by the memory store. */
	CHECK_INT(store_last(st, "no"), sql ? 1 : 0);
	CHECK_INT(next_seq(st, "no"), sql ? 2 : 1);
	/* Holds nest. */
	store_release(st, "ho");
	CHECK_INT(store_last(st, "ho"), 1);
	store_release(st, "ho");
	CHECK_INT(store_last(st, "ho"), sql ? 1 : 0);
	CHECK_INT(store_sent(st, "ho"), sql ? 1 : 0);
	CHECK_INT(next_seq(st, "ho"), sql ? 2 : 1);
	/* One release too many is harmless. */
	store_release(st, "ho");
	store_release(st, "never");

	/* Undelivered ones keep an unheld memory inbox. */
	CHECK_INT(put(st, "un", 20, 1, NULL), STORE_OK);
	CHECK_INT(store_commit(st), 0);
	CHECK_INT(store_last(st, "un"), 1);
	CHECK_INT(next_seq(st, "un"), 2);
	store_close(st);
}

/* SQLite: what a close and a reopen keep. */
static void
test_persist(void)
{
	struct store	*st = open_st(1, "persist", 100, NOLIM, 100, 0);
	struct store	*other;
	uint64_t	 seq = 0;
	char		 epoch[17];
	int		 i;

	CHECK(st != NULL);
	if (st == NULL)
		return;
	for (i = 0; i < 5; i++)
		CHECK_INT(put(st, "pa", 20, 1000 + i, NULL), STORE_OK);
	CHECK_INT(put(st, "pb", 30, 2000, NULL), STORE_OK);
	CHECK_INT(put(st, "pb", 30, 2001, NULL), STORE_OK);
	store_sent_set(st, "pa", 3);
	CHECK_INT(store_commit(st), 0);
	/* Left open: store_close() commits it. */
	CHECK_INT(put(st, "pb", 30, 2002, NULL), STORE_OK);
	store_sent_set(st, "pb", 1);
	snprintf(epoch, sizeof(epoch), "%s", store_epoch(st));
	CHECK_INT(strlen(epoch), 16);
	CHECK_INT(strspn(epoch, "0123456789abcdef"), 16);
	store_close(st);

	st = open_st(1, "persist", 100, NOLIM, 100, 0);
	CHECK(st != NULL);
	if (st == NULL)
		return;
	/* The file's numbering keeps its name; another store's differs. */
	CHECK_STR(store_epoch(st), epoch);
	other = open_st(0, "persist-mem", 100, NOLIM, 100, 0);
	CHECK(other != NULL && strcmp(store_epoch(other), epoch) != 0);
	store_close(other);
	CHECK_INT(store_count(st), 8);
	CHECK_INT(store_bytes(st), 5 * 20 + 3 * 30);
	CHECK_INT(store_last(st, "pa"), 5);
	CHECK_INT(store_sent(st, "pa"), 3);
	CHECK_INT(store_first(st, "pa"), 1);
	CHECK_INT(store_last(st, "pb"), 3);
	CHECK_INT(store_sent(st, "pb"), 1);
	CHECK_STR(rdall(st, "pa"), "1 2 3 4 5");
	CHECK_STR(rdall(st, "pb"), "1 2 3");
	CHECK_INT(put(st, "pa", 20, 3000, &seq), STORE_OK);
	CHECK_INT(seq, 6);
	CHECK_INT(store_commit(st), 0);
	store_close(st);

	/* Retention's work survives too. */
	st = open_st(1, "persist", 3, NOLIM, 100, 0);
	CHECK(st != NULL);
	if (st == NULL)
		return;
	CHECK_INT(store_last(st, "pa"), 6);
	CHECK_INT(put(st, "pa", 20, 3001, &seq), STORE_OK);
	CHECK_INT(seq, 7);
	store_close(st);
	st = open_st(1, "persist", 3, NOLIM, 100, 0);
	CHECK(st != NULL);
	if (st == NULL)
		return;
	/* 1..3 delivered went; 4 on are undelivered and stay. */
	CHECK_STR(rdall(st, "pa"), "4 5 6 7");
	CHECK_INT(store_first(st, "pa"), 4);
	CHECK_INT(store_count(st), 4 + 3);
	CHECK_INT(store_bytes(st), 4 * 20 + 3 * 30);
	store_close(st);
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
	int	 rc;

	rc = sqlite3_open(path, &h);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(h, q, NULL, NULL, NULL);
	sqlite3_close(h);
	return rc == SQLITE_OK ? 0 : -1;
}

static void
test_open_errors(void)
{
	struct store	*st;
	char		 p[1200], junk[4096];
	const char	*e;

	/* Locked by a store that is open. */
	st = open_st(1, "locked", 10, 1000, 10, 0);
	CHECK(st != NULL);
	e = open_err(path_of(1, "locked"));
	if (strstr(e, "locked") == NULL)
		fprintf(stderr, "second open: \"%s\"\n", e);
	CHECK(strstr(e, "locked") != NULL);
	CHECK(strstr(e, "locked.db") != NULL);
	store_close(st);
	/* Closed: free again. */
	CHECK_STR(open_err(path_of(1, "locked")), "");

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
	CHECK(strstr(e, "garbage") != NULL);

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
		snprintf(p, sizeof(p), "%s/readonly.db", top);
		st = open_st(1, "readonly", 10, 1000, 10, 0);
		CHECK(st != NULL);
		store_close(st);
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

	/* Ours, but another version. */
	st = open_st(1, "version", 10, 1000, 10, 0);
	CHECK(st != NULL);
	store_close(st);
	CHECK_INT(sql_exec(path_of(1, "version"), "PRAGMA user_version=99"),
	    0);
	e = open_err(path_of(1, "version"));
	CHECK(strstr(e, "version 99") != NULL);
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

static int
unlimit_files(const struct rlimit *old)
{
	return setrlimit(RLIMIT_FSIZE, old);
}

/*
 * Writes fail (the file may not grow): the failed batch is undone and
 * not readable, every committed message is, the store says it is
 * failing until a commit works again, seqs are reused.
 */
static void
test_write_fail(void)
{
	struct store	*st = open_st(1, "wfail", 100000, NOLIM, 100000, 0);
	struct rlimit	 old;
	void		(*oldsig)(int);
	uint64_t	 seq = 0, good = 0, seq2;
	enum store_status s = STORE_OK;
	char		 want[64];
	int		 i, j, r = 0;

	CHECK(st != NULL);
	if (st == NULL)
		return;
	CHECK(getrlimit(RLIMIT_FSIZE, &old) == 0);
	oldsig = signal(SIGXFSZ, SIG_IGN);
	for (i = 0; i < 5; i++)
		CHECK_INT(put(st, "ww", 1000, 1000 + i, NULL), STORE_OK);
	store_sent_set(st, "ww", 1);
	CHECK_INT(store_commit(st), 0);
	good = 5;

	/* A: commit every three messages until a commit fails. */
	CHECK_INT(limit_files(path_of(1, "wfail")), 0);
	for (i = 0; i < 2000 && r == 0 && s == STORE_OK; i++) {
		for (j = 0; j < 3 && s == STORE_OK; j++)
			s = put(st, "ww", 1000, 2000 + i, &seq);
		if (s == STORE_OK && (r = store_commit(st)) == 0)
			good = seq;
	}
	if (s != STORE_OK) {
		/* The failed append undid its batch: the commit says so. */
		CHECK_INT(s, STORE_UNAVAILABLE);
		CHECK(store_failing(st));
		CHECK_INT(store_next(st, "ww", 1000, 0, &seq2),
		    STORE_UNAVAILABLE);
		r = store_commit(st);
	}
	CHECK_INT(r, -1);
	CHECK(store_failing(st));
	CHECK(good > 5);
	CHECK_INT(store_last(st, "ww"), good);
	CHECK_STR(rd(st, "ww", good, ALL, 100, ALL), "");
	/* The cursor moves while failing; it is written once it works. */
	store_sent_set(st, "ww", 4);
	/* Still failing: the same batch again fails again. */
	for (j = 0, s = STORE_OK; j < 3 && s == STORE_OK; j++)
		s = put(st, "ww", 1000, 5000, &seq2);
	CHECK(s != STORE_OK || store_commit(st) == -1);
	CHECK(store_failing(st));
	CHECK_INT(store_last(st, "ww"), good);

	/* Room again: a commit works, the failed seqs are reused. */
	CHECK_INT(unlimit_files(&old), 0);
	CHECK_INT(put(st, "ww", 500, 6000, &seq2), STORE_OK);
	CHECK_INT(seq2, good + 1);
	CHECK_INT(store_commit(st), 0);
	CHECK_INT(store_failing(st), 0);
	CHECK_INT(store_last(st, "ww"), good + 1);
	CHECK_INT(store_count(st), good + 1);
	CHECK_INT(store_bytes(st), good * 1000 + 500);
	snprintf(want, sizeof(want), "%llu %llu", (unsigned long long)good,
	    (unsigned long long)good + 1);
	CHECK_STR(rd(st, "ww", good - 1, ALL, 100, ALL), want);
	/* A user with all of its messages delivered, its cursor saved. */
	CHECK_INT(put(st, "hx", 100, 7000, NULL), STORE_OK);
	CHECK_INT(put(st, "hx", 100, 7000, NULL), STORE_OK);
	store_sent_set(st, "hx", 2);
	CHECK_INT(store_commit(st), 0);

	/*
	 * B: one batch, no commit, until an append fails: SQLite spills
	 * its page cache (64 MB) to the file.
	 */
	CHECK_INT(limit_files(path_of(1, "wfail")), 0);
	CHECK_INT(store_hold(st, "hx"), 1);
	s = STORE_OK;
	for (i = 0; i < 40000 && s == STORE_OK; i++)
		s = put(st, "ww", 4000, 7000 + i, &seq);
	if (s == STORE_OK) {
		fprintf(stderr, "no append failed in 40000\n");
		CHECK_INT(store_commit(st), -1);
	} else {
		CHECK_INT(s, STORE_UNAVAILABLE);
		CHECK(store_failing(st));
		CHECK_INT(store_next(st, "zz", 10, 0, &seq2),
		    STORE_UNAVAILABLE);
		CHECK_INT(put(st, "zz", 100, 1, NULL), STORE_UNAVAILABLE);
		/*
		 * A held user's cursor moves back while the batch is undone
		 * (its last connection left with 2 unwritten): "written
		 * again at the next commit".
		 */
		store_sent_set(st, "hx", 1);
		CHECK_INT(store_sent(st, "hx"), 1);
		CHECK_INT(store_commit(st), -1);
	}
	CHECK(store_failing(st));
	CHECK_INT(store_last(st, "ww"), good + 1);
	CHECK_STR(rd(st, "ww", good + 1, ALL, 100, ALL), "");
	CHECK_INT(unlimit_files(&old), 0);
	CHECK_INT(put(st, "ww", 20, 8000, &seq2), STORE_OK);
	CHECK_INT(seq2, good + 2);
	CHECK_INT(store_commit(st), 0);
	CHECK_INT(store_failing(st), 0);
	CHECK_INT(store_sent(st, "hx"), s != STORE_OK ? 1 : 2);
	store_release(st, "hx");
	store_close(st);
	signal(SIGXFSZ, oldsig);

	/* What is in the file: the committed ones, nothing else. */
	st = open_st(1, "wfail", 100000, NOLIM, 100000, 0);
	CHECK(st != NULL);
	if (st == NULL)
		return;
	CHECK_INT(store_last(st, "ww"), good + 2);
	CHECK_INT(store_sent(st, "ww"), 4);
	CHECK_INT(store_count(st), good + 2 + 2);
	CHECK_INT(store_bytes(st), good * 1000 + 500 + 20 + 200);
	snprintf(want, sizeof(want), "%llu %llu", (unsigned long long)good + 1,
	    (unsigned long long)good + 2);
	CHECK_STR(rd(st, "ww", good, ALL, 100, ALL), want);
	CHECK_INT(store_last(st, "hx"), 2);
	CHECK_STR(rdall(st, "hx"), "1 2");
	if (s != STORE_OK && store_sent(st, "hx") != 1)
		fprintf(stderr, "hx: the cursor moved during a failed batch "
		    "was not written\n");
	CHECK_INT(store_sent(st, "hx"), s != STORE_OK ? 1 : 2);
	CHECK_INT(store_last(st, "zz"), 0);
	store_close(st);
}

/*
 * The wall clock may step back between two messages: age retention
 * still drops only the oldest run, so what is kept stays contiguous.
 */
static void
test_clock_back(int sql)
{
	struct store	*st = open_st(sql, "clockback", 100, NOLIM, 100,
			    1.0 / 86400);	/* one second */

	CHECK(st != NULL);
	if (st == NULL)
		return;
	CHECK_INT(put(st, "cb", 10, 5000, NULL), STORE_OK);
	CHECK_INT(put(st, "cb", 10, 10000, NULL), STORE_OK);
	CHECK_INT(put(st, "cb", 10, 5000, NULL), STORE_OK);	/* stepped back */
	CHECK_INT(store_commit(st), 0);
	store_sent_set(st, "cb", 3);
	CHECK_INT(store_commit(st), 0);
	store_expire(st, 10500);	/* drops what is older than 9500 */
	CHECK_INT(store_commit(st), 0);
	CHECK_STR(rdall(st, "cb"), "2 3");
	CHECK_INT(store_first(st, "cb"), 2);
	CHECK_INT(store_count(st), 2);
	store_close(st);
}

int
main(void)
{
	const char	*tmp = getenv("TEST_TMP");
	int		 sql;

	if (tmp == NULL || *tmp == '\0')
		tmp = getenv("TMPDIR");
	snprintf(top, sizeof(top), "%s/store-test.XXXXXX",
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	if (mkdtemp(top) == NULL) {
		perror(top);
		return 1;
	}
	log_init("test_store", LOG_ERROR, stderr);
	for (sql = 0; sql <= 1; sql++) {
		test_seq(sql);
		test_read(sql);
		test_queue_limit(sql);
		test_history_limit(sql);
		test_history_bytes(sql);
		test_evict_many(sql);
		test_rollback(sql);
		test_expire(sql);
		test_hold(sql);
		test_clock_back(sql);
	}
	test_persist();
	test_open_errors();
	test_write_fail();
	nftw(top, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return test_done();
}
