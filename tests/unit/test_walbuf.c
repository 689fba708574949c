/*
 * Copyright (c) 2026 The chat authors.
 *
 * Unit tests for server/walbuf.c, the VFS that writes a WAL transaction
 * in one call: a transaction's frames reach the file in one write (or
 * 124 KiB pieces), what was committed is all there when the file is
 * opened again without the layer, after a close and after an _exit()
 * that skips it, and a write that fails (RLIMIT_FSIZE) fails the COMMIT
 * itself: nothing SQLite reported as committed is missing, nothing it
 * refused is there.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include "tap.h"
#include "walbuf.h"

#define DB	"walbuf.db"

static void
rm_db(void)
{
	unlink(DB);
	unlink(DB "-wal");
	unlink(DB "-shm");
}

/* The store's settings: WAL, exclusive, synchronous=NORMAL. */
static sqlite3 *
db_open(const char *vfs)
{
	sqlite3	*h;

	if (sqlite3_open_v2(DB, &h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
	    vfs) != SQLITE_OK)
		return NULL;
	if (sqlite3_exec(h, "PRAGMA locking_mode=EXCLUSIVE;"
	    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
	    "PRAGMA wal_autocheckpoint=0;"
	    "CREATE TABLE IF NOT EXISTS t(k INTEGER PRIMARY KEY, v BLOB)",
	    NULL, NULL, NULL) != SQLITE_OK) {
		sqlite3_close(h);
		return NULL;
	}
	return h;
}

/* Transaction i: rows i*per .. i*per+per-1 of size bytes.  rc of COMMIT. */
static int
txn(sqlite3 *h, int i, int per, int size)
{
	sqlite3_stmt	*s;
	char		*v;
	int		 k, rc;

	if ((v = malloc((size_t)size)) == NULL)
		return SQLITE_NOMEM;
	if (sqlite3_exec(h, "BEGIN", NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(h, "INSERT INTO t(k, v) VALUES (?1, ?2)", -1,
	    &s, NULL) != SQLITE_OK) {
		free(v);
		return SQLITE_ERROR;
	}
	for (k = i * per; k < i * per + per; k++) {
		memset(v, 'a' + k % 26, (size_t)size);
		sqlite3_bind_int(s, 1, k);
		sqlite3_bind_blob(s, 2, v, size, SQLITE_STATIC);
		rc = sqlite3_step(s);
		sqlite3_reset(s);
		if (rc != SQLITE_DONE) {
			sqlite3_finalize(s);
			free(v);
			sqlite3_exec(h, "ROLLBACK", NULL, NULL, NULL);
			return rc;
		}
	}
	sqlite3_finalize(s);
	free(v);
	rc = sqlite3_exec(h, "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		sqlite3_exec(h, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

/*
 * Open without the layer and check the rows of transactions 0..n-1 are
 * there, each with its contents, and nothing else.  1 if so.
 */
static int
db_holds(int n, int per, int size)
{
	sqlite3		*h;
	sqlite3_stmt	*s;
	const uint8_t	*v;
	int		 k, rows = 0, ok = 1;

	if ((h = db_open(NULL)) == NULL)
		return 0;
	if (sqlite3_prepare_v2(h, "SELECT k, v FROM t ORDER BY k", -1, &s,
	    NULL) != SQLITE_OK) {
		sqlite3_close(h);
		return 0;
	}
	while (sqlite3_step(s) == SQLITE_ROW) {
		k = sqlite3_column_int(s, 0);
		v = sqlite3_column_blob(s, 1);
		if (k != rows || sqlite3_column_bytes(s, 1) != size ||
		    v == NULL || v[0] != 'a' + k % 26 ||
		    v[size - 1] != 'a' + k % 26)
			ok = 0;
		rows++;
	}
	sqlite3_finalize(s);
	sqlite3_close(h);
	if (rows != n * per)
		fprintf(stderr, "db_holds: %d rows, expected %d\n", rows,
		    n * per);
	return ok && rows == n * per;
}

static void
test_one_write_per_commit(void)
{
	struct walbuf_stats	 a, b;
	sqlite3			*h;
	const char		*vfs = walbuf_vfs();
	int			 i, ok = 1;

	rm_db();
	CHECK(vfs != NULL);
	CHECK(walbuf_vfs() == vfs);		/* registered once */
	CHECK((h = db_open(vfs)) != NULL);
	if (h == NULL)
		return;
	CHECK_INT(txn(h, 0, 20, 600), SQLITE_OK);	/* and the WAL header */
	walbuf_stats(&a);
	/* 20 rows of 600 bytes: three or four pages and their parents. */
	for (i = 1; i <= 100; i++)
		ok &= txn(h, i, 20, 600) == SQLITE_OK;
	walbuf_stats(&b);
	CHECK(ok);
	/* SQLite wrote each frame in two calls... */
	CHECK(b.calls - a.calls >= 100 * 2 * 4);
	/* ...and the file saw one write per commit. */
	CHECK_INT(b.writes - a.writes, 100);
	sqlite3_close(h);
	CHECK(db_holds(101, 20, 600));
}

static void
test_big_transaction(void)
{
	struct walbuf_stats	 a, b;
	sqlite3			*h;

	rm_db();
	CHECK((h = db_open(walbuf_vfs())) != NULL);
	if (h == NULL)
		return;
	walbuf_stats(&a);
	/* 3 MB in one transaction: written in 124 KiB pieces. */
	CHECK_INT(txn(h, 0, 30, 100000), SQLITE_OK);
	CHECK_INT(txn(h, 1, 30, 100000), SQLITE_OK);
	walbuf_stats(&b);
	CHECK(b.writes - a.writes < 2 * (3000000 / (124 * 1024) + 4));
	sqlite3_close(h);
	CHECK(db_holds(2, 30, 100000));
}

/* Commits, then _exit() without closing: the WAL holds them all. */
static void
test_exit_without_close(void)
{
	sqlite3	*h;
	pid_t	 pid;
	int	 st, i;

	rm_db();
	if ((pid = fork()) == 0) {
		if ((h = db_open(walbuf_vfs())) == NULL)
			_exit(1);
		for (i = 0; i < 50; i++)
			if (txn(h, i, 10, 300) != SQLITE_OK)
				_exit(1);
		/* An open transaction is lost, as it should be. */
		sqlite3_exec(h, "BEGIN; INSERT INTO t(k, v) VALUES (100000, "
		    "'x')", NULL, NULL, NULL);
		_exit(0);
	}
	CHECK(pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
	    WEXITSTATUS(st) == 0);
	CHECK(db_holds(50, 10, 300));
}

/*
 * The file may not grow past a limit: the COMMIT that would pass it
 * fails, the ones before it are kept, and once there is room again
 * commits work.  The child reports how many transactions committed.
 */
static void
test_write_fails(void)
{
	struct rlimit	 rl;
	struct stat	 sb;
	sqlite3		*h;
	pid_t		 pid;
	int		 st, i, rc = SQLITE_OK, fd[2];
	char		 n = 0;

	rm_db();
	if (pipe(fd) == -1) {
		CHECK(0);
		return;
	}
	if ((pid = fork()) == 0) {
		close(fd[0]);
		signal(SIGXFSZ, SIG_IGN);
		if ((h = db_open(walbuf_vfs())) == NULL ||
		    txn(h, 0, 10, 500) != SQLITE_OK ||
		    stat(DB "-wal", &sb) == -1 ||
		    getrlimit(RLIMIT_FSIZE, &rl) == -1)
			_exit(1);
		rl.rlim_cur = (rlim_t)sb.st_size + 60000;
		if (setrlimit(RLIMIT_FSIZE, &rl) == -1)
			_exit(1);
		for (i = 1; i < 100 && (rc = txn(h, i, 10, 500)) == SQLITE_OK;
		    i++)
			;
		/* Transactions 0 .. i-1 are in; i was refused. */
		n = (char)i;
		if (write(fd[1], &n, 1) != 1)
			_exit(1);
		if (rc != SQLITE_FULL && (rc & 0xff) != SQLITE_IOERR)
			_exit(2);
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_FSIZE, &rl) == -1 ||
		    txn(h, i, 10, 500) != SQLITE_OK)
			_exit(3);
		_exit(0);
	}
	close(fd[1]);
	CHECK(read(fd[0], &n, 1) == 1);
	close(fd[0]);
	CHECK(pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st));
	CHECK_INT(WEXITSTATUS(st), 0);
	CHECK(n > 1 && n < 100);
	/* The refused one came again once there was room. */
	CHECK(db_holds(n + 1, 10, 500));
}

int
main(void)
{
	test_one_write_per_commit();
	test_big_transaction();
	test_exit_without_close();
	test_write_fails();
	rm_db();
	return test_done();
}
