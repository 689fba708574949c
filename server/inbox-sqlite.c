/*
 * Copyright (c) 2026 The chat authors.
 *
 * inbox-sqlite: the SQLite row store of the local inboxes (see
 * inbox-local.h; the rules are inbox-local.c's).  One database file in
 * WAL mode, held with an exclusive flock(2) for as long as it is open so
 * that two servers can never number the same inboxes.  Tables:
 *
 *	users(user, last, sent, first, n, bytes)	one row per inbox
 *	inbox(id, user, seq, ts, data, sender)		one row per message
 *	members(room, user)				one row per membership
 *
 * (members is rooms-sqlite.c's, on this connection: the flock below
 * keeps every other server out.)
 * sent is the cursor (the newest seq written to a socket), data the chat
 * event exactly as sent, seq included, sender its author (for quotas,
 * rebuilt at open from the undelivered rows).  The format has a version
 * (PRAGMA user_version): version 1 (no sender) and 2 (no members) are
 * upgraded in place at open; a newer one is refused, never misread.
 * Rows are kept in arrival order (id), so a commit writes the table's
 * last page or two and one (user, seq) index entry per message, and the
 * oldest rows of all users, which retention drops first, are found
 * without an index on time.  A commit's rows go INSERT_ROWS to a
 * statement.  Statements are prepared once; every call
 * is bounded (LIMIT) so the loop never waits on a scan of the whole
 * file.  The file is
 * opened through walbuf (walbuf.h), which writes each commit's WAL
 * frames in one system call, and checkpointed by a thread with a
 * connection of its own (ckpt.h), so the loop never waits on fsync; so
 * SQLite's locking is its normal, shared mode (the flock keeps other
 * servers out).
 */
#include <errno.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ckpt.h"
#include "inbox-local.h"
#include "log.h"
#include "msg.h"
#include "users.h"
#include "util.h"
#include "walbuf.h"

#define DB_APP_ID	0x43484154	/* "CHAT" */
#define DB_VERSION	3
/*
 * Rows per INSERT statement.  A statement's own work (opening and
 * closing its cursors, its halt, its reset) is paid once for all of
 * them: in chat50 with a store (callgrind, 300,000 messages) the insert
 * went from 10.3k instructions a row to 8.0k with 16 (the whole server
 * from 28.0k a message to 25.8k); 64 saved 3% more of the insert.
 */
#define INSERT_ROWS	16

enum {
	S_LOAD, S_SAVE, S_INSERT, S_TRIM, S_COST, S_DROP, S_FIRST, S_READ,
	S_OLDEST, S_YOUNG, S_QUEUED, S_BEGIN, S_COMMIT, S_ROLLBACK, S_NSTMT
};

static const char *const sql[S_NSTMT] = {
	[S_LOAD] = "SELECT last, sent, first, n, bytes FROM users "
	    "WHERE user = ?1",
	[S_SAVE] = "INSERT INTO users(user, last, sent, first, n, bytes) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(user) DO UPDATE SET "
	    "last = ?2, sent = ?3, first = ?4, n = ?5, bytes = ?6",
	[S_INSERT] = "INSERT INTO inbox(user, seq, ts, data, sender) "
	    "VALUES (?1, ?2, ?3, ?4, ?5)",
	/*
	 * The oldest rows up to seq ?2 that come before the user's first
	 * row stamped ?3 or later: a prefix, even if the clock stepped
	 * back between two messages.
	 */
	[S_TRIM] = "DELETE FROM inbox WHERE user = ?1 AND seq <= ?2 AND "
	    "seq < coalesce((SELECT min(seq) FROM inbox WHERE user = ?1 AND "
	    "ts >= ?3), ?2 + 1) RETURNING length(CAST(data AS BLOB))",
	/*
	 * Without an age, the same in two plain statements: RETURNING
	 * makes SQLite open a statement journal, which cost as much as
	 * the delete itself.
	 */
	[S_COST] = "SELECT count(*), coalesce(sum(length(CAST(data AS BLOB))), "
	    "0) FROM inbox WHERE user = ?1 AND seq <= ?2",
	[S_DROP] = "DELETE FROM inbox WHERE user = ?1 AND seq <= ?2",
	[S_FIRST] = "SELECT min(seq) FROM inbox WHERE user = ?1",
	[S_READ] = "SELECT seq, data, ts FROM inbox WHERE user = ?1 AND "
	    "seq > ?2 AND seq <= ?3 ORDER BY seq LIMIT ?4",
	[S_OLDEST] = "SELECT i.user, i.seq FROM inbox i JOIN users u "
	    "ON u.user = i.user WHERE i.id < ?1 AND i.ts < ?2 AND "
	    "i.seq <= u.sent ORDER BY i.id LIMIT ?3",
	/* The first row young enough: older ones come before it. */
	[S_YOUNG] = "SELECT id FROM inbox WHERE ts >= ?1 ORDER BY id LIMIT 1",
	[S_QUEUED] = "SELECT i.user, i.seq, i.sender, "
	    "length(CAST(i.data AS BLOB)) FROM inbox i JOIN users u "
	    "ON u.user = i.user WHERE i.seq > u.sent ORDER BY i.id",
	[S_BEGIN] = "BEGIN",
	[S_COMMIT] = "COMMIT",
	[S_ROLLBACK] = "ROLLBACK"
};

/* A row waiting for its multi-row INSERT (the caller keeps the text). */
struct prow {
	const char	*user, *data, *sender;
	uint64_t	 seq, ts;
	int		 len;
};

struct rows {
	sqlite3		*h;
	struct ckpt	*ck;		/* the checkpointer, or NULL */
	int		 lockfd;	/* flock()ed while open, or -1 */
	sqlite3_stmt	*st[S_NSTMT];
	sqlite3_stmt	*insn;		/* INSERT_ROWS rows */
	struct prow	 prow[INSERT_ROWS];
	size_t		 nprow;
	int		 in_txn;
	char		 epoch[17];	/* names this file's numbering */
	char		 err[256];
};

static const char schema[] =
	"CREATE TABLE IF NOT EXISTS users ("
	" user TEXT PRIMARY KEY, last INTEGER NOT NULL,"
	" sent INTEGER NOT NULL, first INTEGER NOT NULL,"
	" n INTEGER NOT NULL, bytes INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS inbox ("
	" id INTEGER PRIMARY KEY, user TEXT NOT NULL, seq INTEGER NOT NULL,"
	" ts INTEGER NOT NULL, data TEXT NOT NULL,"
	" sender TEXT NOT NULL DEFAULT '');"
	"CREATE UNIQUE INDEX IF NOT EXISTS inbox_user ON inbox(user, seq);"
	"CREATE TABLE IF NOT EXISTS meta ("
	" key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS members ("
	" room TEXT NOT NULL, user TEXT NOT NULL,"
	" PRIMARY KEY (room, user)) WITHOUT ROWID;";

/*
 * The file's epoch, made once: a client's seq from another file (or a
 * memory store) means nothing here, and the epoch tells them apart.
 */
static int
load_epoch(struct rows *d)
{
	sqlite3_stmt	*s;
	char		 q[96];
	int		 rc;

	if (sqlite3_prepare_v2(d->h, "SELECT value FROM meta WHERE key = "
	    "'epoch'", -1, &s, NULL) != SQLITE_OK)
		return SQLITE_ERROR;
	if ((rc = sqlite3_step(s)) == SQLITE_ROW)
		snprintf(d->epoch, sizeof(d->epoch), "%s",
		    (const char *)sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
	if (rc == SQLITE_ROW)
		return SQLITE_OK;
	if (rc != SQLITE_DONE)
		return rc;
	util_random_hex(d->epoch, 8);
	snprintf(q, sizeof(q), "INSERT INTO meta(key, value) VALUES "
	    "('epoch', '%s')", d->epoch);
	return sqlite3_exec(d->h, q, NULL, NULL, NULL);
}

static const char *
sq_epoch(struct rows *d)
{
	return d->epoch;
}

/* Remember why the last call failed, for sq_error(). */
static int
fail(struct rows *d, const char *what)
{
	int	e = sqlite3_system_errno(d->h);

	if (e != 0)
		snprintf(d->err, sizeof(d->err), "%s: %s (%s)", what,
		    sqlite3_errmsg(d->h), strerror(e));
	else
		snprintf(d->err, sizeof(d->err), "%s: %s", what,
		    sqlite3_errmsg(d->h));
	return -1;
}

static const char *
sq_error(struct rows *d)
{
	return d->err;
}

struct sqlite3 *
rows_sqlite_db(struct rows *d)
{
	return d->h;
}

/* int64 columns hold what we wrote: never negative. */
static uint64_t
col_u64(sqlite3_stmt *s, int i)
{
	sqlite3_int64	v = sqlite3_column_int64(s, i);

	return v < 0 ? 0 : (uint64_t)v;
}

static int
bind_u64(sqlite3_stmt *s, int i, uint64_t v)
{
	return sqlite3_bind_int64(s, i, v > INT64_MAX ? INT64_MAX :
	    (sqlite3_int64)v);
}

/* Run a statement that returns no rows; reset it.  0 or -1. */
static int
run(struct rows *d, int i, const char *what)
{
	int	r;

	r = sqlite3_step(d->st[i]);
	sqlite3_reset(d->st[i]);
	sqlite3_clear_bindings(d->st[i]);
	if (r != SQLITE_DONE)
		return fail(d, what);
	return 0;
}

/* An integer PRAGMA's value, or -1. */
static long long
pragma_int(sqlite3 *h, const char *q)
{
	sqlite3_stmt	*s;
	long long	 v = -1;

	if (sqlite3_prepare_v2(h, q, -1, &s, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}

/* Say what went wrong at open, in words a person can act on. */
static void
open_error(char *err, size_t errlen, const char *path, sqlite3 *h, int rc)
{
	const char	*why = h != NULL ? sqlite3_errmsg(h) : sqlite3_errstr(rc);
	int		 e;

	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		snprintf(err, errlen, "store '%s' is locked: another "
		    "chat-server (or another program) is using it", path);
		break;
	case SQLITE_NOTADB:
	case SQLITE_CORRUPT:
		snprintf(err, errlen, "store '%s' is not a valid database "
		    "(%s); move it away or restore a backup", path, why);
		break;
	case SQLITE_CANTOPEN:
	case SQLITE_READONLY:
	case SQLITE_PERM:
	case SQLITE_IOERR:
		e = h != NULL ? sqlite3_system_errno(h) : 0;
		if (e != 0)
			snprintf(err, errlen, "cannot open store '%s' for "
			    "writing: %s (%s)", path, why, strerror(e));
		else
			snprintf(err, errlen, "cannot open store '%s' for "
			    "writing: %s", path, why);
		break;
	default:
		snprintf(err, errlen, "store '%s': %s", path, why);
		break;
	}
}

/*
 * SQLite's own errors for permissions are vague ("unable to open
 * database file"): check what it will need first.  The file must be
 * writable if it exists, and its directory always, for the -wal and
 * -shm files next to it.  0, or -1 with err set.
 */
static int
check_access(const char *path, char *err, size_t errlen)
{
	char		 dir[4096];
	const char	*slash;
	struct stat	 sb;
	size_t		 n;

	if (access(path, F_OK) == 0 && access(path, R_OK | W_OK) == -1) {
		snprintf(err, errlen, "cannot open store '%s' for writing: %s",
		    path, strerror(errno));
		return -1;
	}
	if ((slash = strrchr(path, '/')) == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if ((n = (size_t)(slash - path)) == 0)
		snprintf(dir, sizeof(dir), "/");
	else if (n < sizeof(dir)) {
		memcpy(dir, path, n);
		dir[n] = '\0';
	} else
		return 0;	/* let SQLite say */
	if (stat(dir, &sb) == -1) {
		snprintf(err, errlen, "cannot create store '%s': directory "
		    "'%s' does not exist", path, dir);
		return -1;
	}
	if (!S_ISDIR(sb.st_mode)) {
		snprintf(err, errlen, "cannot create store '%s': '%s' is not "
		    "a directory", path, dir);
		return -1;
	}
	if (access(dir, W_OK | X_OK) == -1) {
		snprintf(err, errlen, "cannot use store '%s': its directory "
		    "'%s' is not writable (%s); the store needs to create "
		    "files next to it", path, dir, strerror(errno));
		return -1;
	}
	return 0;
}

static void	sq_close(struct rows *);
static int	sq_flush(struct rows *);

/* The INSERT of INSERT_ROWS rows, made from S_INSERT's. */
static int
prepare_insn(struct rows *d)
{
	static const char	 row[] = ", (?, ?, ?, ?, ?)";
	char			 q[512];
	size_t			 i, len;

	len = (size_t)snprintf(q, sizeof(q), "%s", sql[S_INSERT]);
	for (i = 1; i < INSERT_ROWS && len + sizeof(row) <= sizeof(q); i++)
		len += (size_t)snprintf(q + len, sizeof(q) - len, "%s", row);
	if (i < INSERT_ROWS)
		return SQLITE_TOOBIG;
	return sqlite3_prepare_v3(d->h, q, -1, SQLITE_PREPARE_PERSISTENT,
	    &d->insn, NULL);
}

/*
 * Bring a file of an earlier format up to DB_VERSION, inside the open
 * transaction.  Version 1 had no sender column: its rows get "" (quotas
 * then count them against their target only).  Version 2 had no members
 * table, which the schema then adds (empty).  SQLITE_OK or an error.
 */
static int
migrate(struct rows *d, const char *path, long long ver)
{
	char	q[64];
	int	rc;

	if (ver == 1) {
		if ((rc = sqlite3_exec(d->h, "ALTER TABLE inbox ADD COLUMN "
		    "sender TEXT NOT NULL DEFAULT ''", NULL, NULL, NULL)) !=
		    SQLITE_OK)
			return rc;
	}
	snprintf(q, sizeof(q), "PRAGMA user_version=%d", DB_VERSION);
	if ((rc = sqlite3_exec(d->h, q, NULL, NULL, NULL)) != SQLITE_OK)
		return rc;
	log_info("store '%s': upgraded from format version %lld to %d", path,
	    ver, DB_VERSION);
	return SQLITE_OK;
}

static struct rows *
sq_open(const struct inbox_config *cfg, char *err, size_t errlen)
{
	const char	*path = cfg->path;
	struct rows	*d;
	struct stat	 sb;
	long long	 app, ver;
	char		 q[64];
	int		 rc, i;

	if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
		snprintf(err, errlen, "store '%s' is a directory, not a "
		    "file", path);
		return NULL;
	}
	if (check_access(path, err, errlen) == -1)
		return NULL;
	/*
	 * Nothing reads SQLite's memory statistics, and keeping them takes
	 * a mutex around every allocation (5% of the store's CPU in a
	 * replay of its statements).  Only possible before SQLite starts:
	 * a second store in one process (tests) keeps whatever was set.
	 */
	(void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	if ((d = calloc(1, sizeof(*d))) == NULL) {
		snprintf(err, errlen, "store '%s': out of memory", path);
		return NULL;
	}
	/*
	 * One server per file, for as long as it runs: a second one fails
	 * here.  A flock, not SQLite's exclusive locking mode, which would
	 * keep the checkpointer's connection out too.  SQLite's locks are
	 * fcntl locks, which a flock does not touch; this descriptor stays
	 * open until SQLite has closed the file.
	 */
	if ((d->lockfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) ==
	    -1) {
		snprintf(err, errlen, "cannot open store '%s' for writing: %s",
		    path, strerror(errno));
		free(d);
		return NULL;
	}
	if (flock(d->lockfd, LOCK_EX | LOCK_NB) == -1) {
		rc = errno == EWOULDBLOCK ? SQLITE_BUSY : SQLITE_CANTOPEN;
		goto bad;
	}
	rc = sqlite3_open_v2(path, &d->h, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, walbuf_vfs());
	if (rc != SQLITE_OK)
		goto bad;
	sqlite3_extended_result_codes(d->h, 0);
	snprintf(q, sizeof(q), "PRAGMA synchronous=%s",
	    cfg->sync_full ? "FULL" : "NORMAL");
	if ((rc = sqlite3_exec(d->h, "PRAGMA cache_size=-65536", NULL, NULL,
	    NULL)) != SQLITE_OK ||
	    (rc = sqlite3_exec(d->h, "PRAGMA journal_mode=WAL", NULL, NULL,
	    NULL)) != SQLITE_OK ||
	    (rc = sqlite3_exec(d->h, q, NULL, NULL, NULL)) != SQLITE_OK)
		goto bad;
	if ((rc = sqlite3_exec(d->h, "BEGIN IMMEDIATE", NULL, NULL,
	    NULL)) != SQLITE_OK)
		goto bad;
	app = pragma_int(d->h, "PRAGMA application_id");
	ver = pragma_int(d->h, "PRAGMA user_version");
	if (app == 0 && ver == 0 && pragma_int(d->h,
	    "SELECT count(*) FROM sqlite_schema") == 0) {
		/* A new file: ours from now on. */
		snprintf(q, sizeof(q), "PRAGMA application_id=%d", DB_APP_ID);
		if ((rc = sqlite3_exec(d->h, q, NULL, NULL, NULL)) != SQLITE_OK)
			goto bad;
		snprintf(q, sizeof(q), "PRAGMA user_version=%d", DB_VERSION);
		if ((rc = sqlite3_exec(d->h, q, NULL, NULL, NULL)) != SQLITE_OK)
			goto bad;
	} else if (app != DB_APP_ID) {
		snprintf(err, errlen, "store '%s' is an SQLite database but "
		    "not a chat-server store", path);
		goto out;
	} else if (ver > DB_VERSION || ver < 1) {
		snprintf(err, errlen, "store '%s' has format version %lld, "
		    "written by %s chat-server; this one reads versions 1 to "
		    "%d (use a chat-server as new as the file, or move the "
		    "file away)", path, ver, ver > DB_VERSION ? "a newer" :
		    "an unknown", DB_VERSION);
		goto out;
	} else if (ver < DB_VERSION && (rc = migrate(d, path, ver)) !=
	    SQLITE_OK)
		goto bad;
	if ((rc = sqlite3_exec(d->h, schema, NULL, NULL, NULL)) != SQLITE_OK ||
	    (rc = load_epoch(d)) != SQLITE_OK ||
	    (rc = sqlite3_exec(d->h, "COMMIT", NULL, NULL, NULL)) != SQLITE_OK)
		goto bad;
	for (i = 0; i < S_NSTMT; i++) {
		rc = sqlite3_prepare_v3(d->h, sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &d->st[i], NULL);
		if (rc != SQLITE_OK)
			goto bad;
	}
	if ((rc = prepare_insn(d)) != SQLITE_OK)
		goto bad;
	if ((d->ck = ckpt_start(path, walbuf_vfs(), d->h, q, sizeof(q))) ==
	    NULL)
		log_warn("store '%s': checkpoints stay in the loop: %s", path,
		    q);
	return d;

bad:
	open_error(err, errlen, path, d->h, rc);
out:
	sq_close(d);
	return NULL;
}

static void
sq_close(struct rows *d)
{
	int	i;

	if (d == NULL)
		return;
	ckpt_stop(d->ck);
	for (i = 0; i < S_NSTMT; i++)
		sqlite3_finalize(d->st[i]);
	sqlite3_finalize(d->insn);
	sqlite3_close(d->h);
	if (d->lockfd != -1)
		close(d->lockfd);
	free(d);
}

static int
sq_totals(struct rows *d, uint64_t *n, uint64_t *bytes)
{
	sqlite3_stmt	*s;
	int		 r;

	if (sqlite3_prepare_v2(d->h, "SELECT coalesce(sum(n), 0), "
	    "coalesce(sum(bytes), 0) FROM users", -1, &s, NULL) != SQLITE_OK)
		return fail(d, "totals");
	if ((r = sqlite3_step(s)) == SQLITE_ROW) {
		*n = col_u64(s, 0);
		*bytes = col_u64(s, 1);
	}
	sqlite3_finalize(s);
	return r == SQLITE_ROW ? 0 : fail(d, "totals");
}

static int
sq_begin(struct rows *d)
{
	if (d->in_txn)
		return 0;
	if (run(d, S_BEGIN, "begin") == -1)
		return -1;
	d->in_txn = 1;
	return 0;
}

static void
sq_rollback(struct rows *d)
{
	d->nprow = 0;
	if (!d->in_txn)
		return;
	/* After some errors SQLite has rolled back already: fine. */
	sqlite3_step(d->st[S_ROLLBACK]);
	sqlite3_reset(d->st[S_ROLLBACK]);
	d->in_txn = 0;
}

static int
sq_commit(struct rows *d)
{
	if (!d->in_txn)
		return 0;
	if ((d->nprow > 0 && sq_flush(d) == -1) ||
	    run(d, S_COMMIT, "commit") == -1) {
		sq_rollback(d);
		return -1;
	}
	d->in_txn = 0;
	return 0;
}

static int
sq_load(struct rows *d, struct box *b, struct rows_meta *m)
{
	sqlite3_stmt	*s = d->st[S_LOAD];
	int		 r;

	memset(m, 0, sizeof(*m));
	sqlite3_bind_text(s, 1, b->u->id, -1, SQLITE_STATIC);
	if ((r = sqlite3_step(s)) == SQLITE_ROW) {
		m->last = col_u64(s, 0);
		m->cursor = col_u64(s, 1);
		m->first = col_u64(s, 2);
		m->n = col_u64(s, 3);
		m->bytes = col_u64(s, 4);
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (r == SQLITE_ROW)
		return 0;
	return r == SQLITE_DONE ? 1 : fail(d, "load");
}

static int
sq_save(struct rows *d, struct box *b)
{
	sqlite3_stmt	*s = d->st[S_SAVE];

	sqlite3_bind_text(s, 1, b->u->id, -1, SQLITE_STATIC);
	bind_u64(s, 2, b->m.last);
	bind_u64(s, 3, b->m.cursor);
	bind_u64(s, 4, b->m.first);
	bind_u64(s, 5, b->m.n);
	bind_u64(s, 6, b->m.bytes);
	return run(d, S_SAVE, "save");
}

static void
bind_row(sqlite3_stmt *s, int i, const struct prow *r)
{
	sqlite3_bind_text(s, i + 1, r->user, -1, SQLITE_STATIC);
	bind_u64(s, i + 2, r->seq);
	bind_u64(s, i + 3, r->ts);
	sqlite3_bind_text(s, i + 4, r->data, r->len, SQLITE_STATIC);
	sqlite3_bind_text(s, i + 5, r->sender, -1, SQLITE_STATIC);
}

/* Write the rows kept back: one statement if there are INSERT_ROWS. */
static int
sq_flush(struct rows *d)
{
	size_t	i, n = d->nprow;
	int	r;

	d->nprow = 0;
	if (n == INSERT_ROWS) {
		for (i = 0; i < n; i++)
			bind_row(d->insn, (int)i * 5, &d->prow[i]);
		r = sqlite3_step(d->insn);
		sqlite3_reset(d->insn);
		sqlite3_clear_bindings(d->insn);
		return r == SQLITE_DONE ? 0 : fail(d, "insert");
	}
	for (i = 0; i < n; i++) {
		bind_row(d->st[S_INSERT], 0, &d->prow[i]);
		if (run(d, S_INSERT, "insert") == -1)
			return -1;
	}
	return 0;
}

/*
 * Keep the row back until there are INSERT_ROWS (or sq_flush()): the
 * strings are the caller's, who keeps them until the commit.
 */
static int
sq_insert(struct rows *d, struct box *b, struct msg *m, const char *sender,
    uint64_t *cost)
{
	struct prow	*r;

	if (m->len > INT_MAX) {
		snprintf(d->err, sizeof(d->err), "insert: message too long");
		return -1;
	}
	r = &d->prow[d->nprow++];
	r->user = b->u->id;
	r->seq = m->seq;
	r->ts = m->ts;
	r->data = m->data;
	r->len = (int)m->len;
	r->sender = sender;
	*cost = m->len;
	return d->nprow == INSERT_ROWS ? sq_flush(d) : 0;
}

static int
sq_trim(struct rows *d, struct box *b, uint64_t upto, uint64_t before,
    uint64_t *n, uint64_t *cost, uint64_t *first)
{
	sqlite3_stmt	*s = d->st[before == UINT64_MAX ? S_COST : S_TRIM];
	int		 r;

	sqlite3_bind_text(s, 1, b->u->id, -1, SQLITE_STATIC);
	bind_u64(s, 2, upto);
	if (before != UINT64_MAX) {
		bind_u64(s, 3, before);
		while ((r = sqlite3_step(s)) == SQLITE_ROW) {
			(*n)++;
			*cost += col_u64(s, 0);
		}
	} else if ((r = sqlite3_step(s)) == SQLITE_ROW) {
		*n += col_u64(s, 0);
		*cost += col_u64(s, 1);
		r = SQLITE_DONE;
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (r != SQLITE_DONE)
		return fail(d, "trim");
	if (before == UINT64_MAX) {
		s = d->st[S_DROP];
		sqlite3_bind_text(s, 1, b->u->id, -1, SQLITE_STATIC);
		bind_u64(s, 2, upto);
		if (run(d, S_DROP, "trim") == -1)
			return -1;
		/* A user's seqs have no gaps: what is left starts at upto + 1. */
		*first = upto < b->m.last ? upto + 1 : 0;
		return 0;
	}
	s = d->st[S_FIRST];
	sqlite3_bind_text(s, 1, b->u->id, -1, SQLITE_STATIC);
	r = sqlite3_step(s);
	*first = r == SQLITE_ROW ? col_u64(s, 0) : 0;
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return r == SQLITE_ROW ? 0 : fail(d, "trim");
}

static int
sq_read(struct rows *d, struct box *b, uint64_t after, uint64_t upto,
    size_t max, size_t bytes, struct msg **out)
{
	sqlite3_stmt	*s = d->st[S_READ];
	struct msg	*m;
	size_t		 got = 0, sum = 0, len;
	int		 r = SQLITE_DONE;

	sqlite3_bind_text(s, 1, b->u->id, -1, SQLITE_STATIC);
	bind_u64(s, 2, after);
	bind_u64(s, 3, upto);
	sqlite3_bind_int64(s, 4, max > INT_MAX ? INT_MAX : (int)max);
	while (got < max && (r = sqlite3_step(s)) == SQLITE_ROW) {
		len = (size_t)sqlite3_column_bytes(s, 1);
		if (got > 0 && sum + len > bytes)
			break;
		if ((m = msg_new((const char *)sqlite3_column_text(s, 1),
		    len)) == NULL) {
			r = SQLITE_NOMEM;
			break;
		}
		m->seq = col_u64(s, 0);
		m->prev = m->seq - 1;	/* numbered without gaps */
		m->ts = col_u64(s, 2);
		out[got++] = m;
		sum += len;
	}
	if (got == max || (got > 0 && r == SQLITE_ROW))
		r = SQLITE_DONE;
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (r != SQLITE_DONE) {
		while (got > 0)
			msg_unref(out[--got]);
		return fail(d, "read");
	}
	return (int)got;
}

static int
sq_oldest(struct rows *d, uint64_t before, size_t max,
    struct rows_victim *out)
{
	sqlite3_stmt	*s = d->st[S_YOUNG];
	uint64_t	 bound = INT64_MAX;
	size_t		 got = 0;
	int		 r = SQLITE_DONE;

	if (before != UINT64_MAX) {
		bind_u64(s, 1, before);
		if ((r = sqlite3_step(s)) == SQLITE_ROW)
			bound = col_u64(s, 0);
		sqlite3_reset(s);
		sqlite3_clear_bindings(s);
		if (r != SQLITE_ROW && r != SQLITE_DONE)
			return fail(d, "oldest");
	}
	s = d->st[S_OLDEST];
	bind_u64(s, 1, bound);
	bind_u64(s, 2, before);
	sqlite3_bind_int64(s, 3, max > INT_MAX ? INT_MAX : (int)max);
	while (got < max && (r = sqlite3_step(s)) == SQLITE_ROW) {
		out[got].box = NULL;
		snprintf(out[got].user, sizeof(out[got].user), "%s",
		    (const char *)sqlite3_column_text(s, 0));
		out[got++].seq = col_u64(s, 1);
	}
	if (got == max)
		r = SQLITE_DONE;
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return r == SQLITE_DONE ? (int)got : fail(d, "oldest");
}

static int
sq_queued(struct rows *d, rows_queued_cb cb, void *arg)
{
	sqlite3_stmt	*s = d->st[S_QUEUED];
	int		 r;

	while ((r = sqlite3_step(s)) == SQLITE_ROW)
		cb(arg, (const char *)sqlite3_column_text(s, 0),
		    col_u64(s, 1), (const char *)sqlite3_column_text(s, 2),
		    col_u64(s, 3));
	sqlite3_reset(s);
	return r == SQLITE_DONE ? 0 : fail(d, "queued");
}

static void
sq_sent(struct rows *d, struct box *b, uint64_t cursor)
{
	/* The cursor is a users row column: inbox-local.c saves it. */
}

static void
sq_forget(struct rows *d, struct box *b)
{
	/* Nothing of a user is kept here between calls. */
}

const struct rows_ops rows_sqlite_ops = {
	.kind = "sqlite",
	.persistent = 1,
	.box_cost = 0,
	.open = sq_open,
	.close = sq_close,
	.epoch = sq_epoch,
	.error = sq_error,
	.totals = sq_totals,
	.queued = sq_queued,
	.begin = sq_begin,
	.commit = sq_commit,
	.rollback = sq_rollback,
	.load = sq_load,
	.save = sq_save,
	.insert = sq_insert,
	.flush = sq_flush,
	.trim = sq_trim,
	.read = sq_read,
	.oldest = sq_oldest,
	.sent = sq_sent,
	.forget = sq_forget,
};
