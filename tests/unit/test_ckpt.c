/*
 * Copyright (c) 2026 The chat authors.
 *
 * Unit tests for server/ckpt.c's write-back of the log: where a log of n
 * frames ends, back to a memory page (exact values); with
 * synchronous=NORMAL the thread starts write-back every CKPT_KICK (1 MB)
 * of log, at page boundaries inside the file, catching up with what the
 * writer asked, and again from the top once the log has started over;
 * with synchronous=FULL (the writer syncs every commit itself) it is
 * off and nothing is asked.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "ckpt.h"
#include "tap.h"
#include "testdir.h"
#include "walbuf.h"

static char	top[4096], db[4200], wal[4210];

/* The store's settings (inbox-sqlite.c): WAL, shared locking. */
static sqlite3 *
db_open(const char *sync)
{
	char	 q[128];
	sqlite3	*h;

	unlink(db);
	unlink(wal);
	if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
	    walbuf_vfs()) != SQLITE_OK)
		return NULL;
	snprintf(q, sizeof(q), "PRAGMA page_size=4096; "
	    "PRAGMA journal_mode=WAL; "
	    "PRAGMA synchronous=%s; "
	    "CREATE TABLE t(k INTEGER PRIMARY KEY, v BLOB)", sync);
	if (sqlite3_exec(h, q, NULL, NULL, NULL) != SQLITE_OK) {
		sqlite3_close(h);
		return NULL;
	}
	return h;
}

/* n transactions of 50 rows of 1,000 bytes: about 13 pages each. */
static int
write_rows(sqlite3 *h, int n)
{
	static int	 k;
	sqlite3_stmt	*s;
	int		 i, j, rc = SQLITE_OK;

	if (sqlite3_prepare_v2(h, "INSERT INTO t(k, v) VALUES (?1, "
	    "randomblob(1000))", -1, &s, NULL) != SQLITE_OK)
		return -1;
	for (i = 0; i < n && rc == SQLITE_OK; i++) {
		rc = sqlite3_exec(h, "BEGIN", NULL, NULL, NULL);
		for (j = 0; j < 50 && rc == SQLITE_OK; j++) {
			sqlite3_bind_int(s, 1, ++k);
			rc = sqlite3_step(s) == SQLITE_DONE ? SQLITE_OK :
			    SQLITE_ERROR;
			sqlite3_reset(s);
		}
		if (rc == SQLITE_OK)
			rc = sqlite3_exec(h, "COMMIT", NULL, NULL, NULL);
	}
	sqlite3_finalize(s);
	return rc == SQLITE_OK ? 0 : -1;
}

/*
 * Wait up to 10 s for the thread to have started every write-back the
 * writer asked for (the writer is idle meanwhile).
 */
static void
wait_caught_up(struct ckpt *c, struct ckpt_stats *st)
{
	struct timespec	ts = { 0, 10 * 1000 * 1000 };
	int		i;

	for (i = 0; i < 1000; i++) {
		ckpt_stats(c, st);
		if (st->upto == st->asked || st->errors > 0)
			return;
		nanosleep(&ts, NULL);
	}
}

static long long
wal_size(void)
{
	struct stat	sb;

	return stat(wal, &sb) == 0 ? (long long)sb.st_size : -1;
}

/* A fresh store with its checkpoint thread; NULL (checked) if not. */
static struct ckpt *
start(const char *sync, sqlite3 **h)
{
	struct ckpt	*c;
	char		 err[256];

	if ((*h = db_open(sync)) == NULL) {
		CHECK(0);
		return NULL;
	}
	/* inbox-sqlite.c's rule: the page size with NORMAL, 0 with FULL. */
	if ((c = ckpt_start(db, walbuf_vfs(), *h, strcmp(sync, "NORMAL") ==
	    0 ? 4096 : 0, err, sizeof(err))) == NULL) {
		fprintf(stderr, "ckpt_start: %s\n", err);
		CHECK(0);
		sqlite3_close(*h);
	}
	return c;
}

/* 32-byte header, frames of fsz, back to a page of mpg. */
static void
test_log_end(void)
{
	CHECK(ckpt_log_end(0, 4120, 4096) == 0);
	CHECK(ckpt_log_end(1, 4120, 4096) == 4096);
	CHECK(ckpt_log_end(257, 4120, 4096) == 1056768);
	CHECK(ckpt_log_end(1, 1048, 4096) == 0);
	CHECK(ckpt_log_end(4, 1048, 4096) == 4096);
	CHECK(ckpt_log_end(3, 65560, 4096) == 196608);
	CHECK(ckpt_log_end(100000, 4120, 16384) == 411992064);
}

static void
test_normal(void)
{
	struct ckpt_stats	 st, st2;
	struct ckpt		*c;
	sqlite3			*h;
	long			 pg = sysconf(_SC_PAGESIZE);

	if ((c = start("NORMAL", &h)) == NULL)
		return;
	/* Under a checkpoint's 4,000 frames: only write-back happens. */
	ckpt_stats(c, &st);
	CHECK(st.writeback == 1);
	CHECK(st.writebacks == 0 && st.asked == 0 && st.upto == 0);
	CHECK(write_rows(h, 200) == 0);
	wait_caught_up(c, &st);
	CHECK_INT((int)st.errors, 0);
	CHECK(st.writebacks >= 1);
	CHECK(st.upto == st.asked);
	CHECK(pg > 0 && st.upto % pg == 0);
	/* Within a write-back's step (and a frame) of the log's end. */
	CHECK(st.upto <= wal_size());
	CHECK(st.upto > wal_size() - 1024 * 1024 - 4120 - pg);

	/* The log starts over: write-back starts from its top again. */
	CHECK(sqlite3_exec(h, "PRAGMA wal_checkpoint(RESTART)", NULL, NULL,
	    NULL) == SQLITE_OK);
	CHECK(write_rows(h, 100) == 0);
	wait_caught_up(c, &st2);
	CHECK_INT((int)st2.errors, 0);
	CHECK(st2.writebacks > st.writebacks);
	CHECK(st2.upto == st2.asked);
	CHECK(st2.upto >= 1024 * 1024 && st2.upto < st.upto);
	CHECK(pg > 0 && st2.upto % pg == 0);
	ckpt_stop(c);
	sqlite3_close(h);
}

static void
test_full(void)
{
	struct ckpt_stats	 st;
	struct ckpt		*c;
	sqlite3			*h;

	if ((c = start("FULL", &h)) == NULL)
		return;
	CHECK(write_rows(h, 200) == 0);
	CHECK(wal_size() > 2 * 1024 * 1024);
	/* The writer's hook asks (or not) as it commits. */
	ckpt_stats(c, &st);
	ckpt_stop(c);
	CHECK(st.writeback == 0);
	CHECK(st.asked == 0 && st.writebacks == 0 && st.upto == 0);
	sqlite3_close(h);
}

int
main(void)
{
	if (testdir_make(top, sizeof(top), "test_ckpt") == -1)
		return 1;
	snprintf(db, sizeof(db), "%s/ckpt.db", top);
	snprintf(wal, sizeof(wal), "%s/ckpt.db-wal", top);
	test_log_end();
	test_normal();
	test_full();
	testdir_remove(top);
	return test_done();
}
