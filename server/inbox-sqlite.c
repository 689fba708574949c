/*
 * Copyright (c) 2026 The chat authors.
 *
 * inbox-sqlite: the SQLite row store of the local inboxes (see
 * inbox-local.h; the rules are inbox-local.c's).  One database file in
 * WAL mode, held with an exclusive flock(2) for as long as it is open so
 * that two servers can never number the same inboxes.  Tables:
 *
 *	users(user, last, sent, first, n, bytes)	one row per inbox
 *	inbox(id, user, lo, hi, ts, bytes, data)	one row per inbox per commit
 *	members(room, user)				one row per membership
 *
 * (members is rooms-sqlite.c's, on this connection: the flock below
 * keeps every other server out.)
 * sent is the cursor (the newest seq written to a socket).  An inbox
 * row holds messages lo..hi of one user, all from one commit (a user's
 * seqs have no gaps, and a commit gives each inbox consecutive ones):
 * ts is the oldest of their times, bytes the sum of their lengths (their
 * cost), and data the messages packed one after the other, each as
 *
 *	ts (8 bytes), length (4), sender's length (1), sender, text
 *
 * (integers little-endian), the text the chat event exactly as sent,
 * seq included, the sender its author (for quotas, rebuilt at open from
 * the undelivered messages).  A row is checked as it is unpacked (its
 * count of messages, every length against what is left): a row that
 * does not add up is an error, never read past or half believed.
 *
 * Rows per message is what the store costs (each row a b-tree entry
 * in the table and one in the (user, hi) index, written and later
 * deleted): one row per inbox per commit, not per message, took
 * chat50 --store from 25.7k instructions a message to 16.1k (memory
 * store 9.6k; bench/RESULTS.md, 2026-12-05).  A trim that ends inside a
 * row rewrites the row (same id, so its place in the order stays), so
 * that a dropped message is gone from the file (Debian builds SQLite
 * with SECURE_DELETE for that) rather than hidden by users.first.
 *
 * The format has a version (PRAGMA user_version): version 1 (no
 * sender), 2 (no members) and 3 (one row per message) are upgraded in
 * place at open, each old row becoming a row of one message; a newer
 * one is refused, never misread.  Rows are kept in commit order (id),
 * so a commit writes the table's last page or two, and the oldest rows
 * of all users, which retention drops first, are found without an index
 * on time: retention's "oldest first" is at the grain of a row (a
 * commit's messages to one user go together, before the next user's of
 * that commit).  A commit's rows go INSERT_ROWS to a statement.
 * Statements are prepared once; every call is bounded (LIMIT, or one
 * user's rows) so the loop never waits on a scan of the whole file.
 * The file is opened through walbuf (walbuf.h), which writes each
 * commit's WAL frames in one system call, and checkpointed by a thread
 * with a connection of its own (ckpt.h), so the loop never waits on
 * fsync; so SQLite's locking is its normal, shared mode (the flock
 * keeps other servers out).
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
#include "vec.h"
#include "walbuf.h"

#define DB_APP_ID	0x43484154	/* "CHAT" */
#define DB_VERSION	4
/*
 * Rows per INSERT statement.  A statement's own work (opening and
 * closing its cursors, its halt, its reset) is paid once for all of
 * them: in chat50 with a store (callgrind, 300,000 messages) the insert
 * went from 10.3k instructions a row to 8.0k with 16 (the whole server
 * from 28.0k a message to 25.8k); 64 saved 3% more of the insert.
 */
#define INSERT_ROWS	16
/*
 * A row's messages: their bytes packed, at most (a commit's messages to
 * one user beyond that go in more rows).  A bound on what one
 * allocation and one blob hold, far above a pass's usual few KiB.
 */
#define ROW_MAX		(1024 * 1024)
/* A packed message's header: ts, length, sender's length. */
#define PK_HDR		13

enum {
	S_LOAD, S_SAVE, S_UPDATE, S_INSERT, S_ROWS, S_DROP, S_REWRITE, S_READ,
	S_OLDEST, S_YOUNG, S_QUEUED, S_BEGIN, S_COMMIT, S_ROLLBACK, S_NSTMT
};

static const char *const sql[S_NSTMT] = {
	[S_LOAD] = "SELECT last, sent, first, n, bytes FROM users "
	    "WHERE user = ?1",
	[S_SAVE] = "INSERT INTO users(user, last, sent, first, n, bytes) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(user) DO UPDATE SET "
	    "last = ?2, sent = ?3, first = ?4, n = ?5, bytes = ?6",
	/* S_SAVE's common case, the row there already: one seek, not two. */
	[S_UPDATE] = "UPDATE users SET last = ?2, sent = ?3, first = ?4, "
	    "n = ?5, bytes = ?6 WHERE user = ?1",
	[S_INSERT] = "INSERT INTO inbox(user, lo, hi, ts, bytes, data) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	/* A user's rows, oldest first, for a trim. */
	[S_ROWS] = "SELECT id, lo, hi, data, bytes FROM inbox WHERE "
	    "user = ?1 ORDER BY hi",
	[S_DROP] = "DELETE FROM inbox WHERE user = ?1 AND hi < ?2",
	/* What a trim leaves of a row: hi, and so the index, stays. */
	[S_REWRITE] = "UPDATE inbox SET lo = ?2, ts = ?3, bytes = ?4, "
	    "data = ?5 WHERE id = ?1",
	/* Rows may start before ?2: unpacked, and counted in messages. */
	[S_READ] = "SELECT id, lo, hi, data FROM inbox WHERE user = ?1 AND "
	    "hi > ?2 AND lo <= ?3 ORDER BY hi LIMIT ?4",
	[S_OLDEST] = "SELECT i.id, i.user, i.lo, i.hi, i.data, u.sent "
	    "FROM inbox i JOIN users u ON u.user = i.user WHERE i.id > ?4 "
	    "AND i.id < ?1 AND i.ts < ?2 AND i.lo <= u.sent ORDER BY i.id "
	    "LIMIT ?3",
	/* The first row young enough: older ones come before it. */
	[S_YOUNG] = "SELECT id FROM inbox WHERE ts >= ?1 ORDER BY id LIMIT 1",
	[S_QUEUED] = "SELECT i.id, i.user, i.lo, i.hi, i.data, u.sent "
	    "FROM inbox i JOIN users u ON u.user = i.user WHERE i.hi > u.sent "
	    "ORDER BY i.id",
	[S_BEGIN] = "BEGIN",
	[S_COMMIT] = "COMMIT",
	[S_ROLLBACK] = "ROLLBACK"
};

/* A message waiting for its row (the caller keeps the text). */
struct pmsg {
	const char	*data, *sender;
	uint64_t	 ts;
	uint32_t	 len;
	uint8_t		 slen;
	size_t		 next;		/* of its row, SIZE_MAX: last */
};

/* A row waiting for its INSERT: one user's messages of this commit. */
struct prow {
	struct box	*b;
	uint64_t	 lo, hi, ts, bytes;
	size_t		 size;		/* packed */
	size_t		 head, tail;	/* its messages in pmsg[] */
	const uint8_t	*data;		/* packed, at the flush */
};

/* One message of a row, unpacked: pointers into the row's blob. */
struct umsg {
	uint64_t	 seq, ts;
	const char	*data, *sender;
	size_t		 len, slen;
	size_t		 at;		/* its offset in the blob */
};

/* Walks a row's messages, checking each against the blob. */
struct rowit {
	const uint8_t	*p;
	size_t		 len, off;
	uint64_t	 seq, hi;
};

struct rows {
	sqlite3		*h;
	struct ckpt	*ck;		/* the checkpointer, or NULL */
	int		 lockfd;	/* flock()ed while open, or -1 */
	sqlite3_stmt	*st[S_NSTMT];
	sqlite3_stmt	*insn;		/* INSERT_ROWS rows */
	struct pmsg	*pmsg;
	size_t		 npmsg, cappmsg;
	struct prow	*prow;
	size_t		 nprow, capprow;
	uint8_t		*buf;		/* packed rows, a rewritten row */
	size_t		 capbuf;
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
	" id INTEGER PRIMARY KEY, user TEXT NOT NULL, lo INTEGER NOT NULL,"
	" hi INTEGER NOT NULL, ts INTEGER NOT NULL, bytes INTEGER NOT NULL,"
	" data BLOB NOT NULL);"
	"CREATE UNIQUE INDEX IF NOT EXISTS inbox_range ON inbox(user, hi);"
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

static void
put_le(uint8_t *p, uint64_t v, int n)
{
	int	i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t
get_le(const uint8_t *p, int n)
{
	uint64_t	v = 0;
	int		i;

	for (i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* Pack one message at p (PK_HDR + slen + len bytes); the end. */
static uint8_t *
pack(uint8_t *p, uint64_t ts, const char *sender, size_t slen,
    const char *data, size_t len)
{
	put_le(p, ts, 8);
	put_le(p + 8, len, 4);
	p[12] = (uint8_t)slen;
	memcpy(p + PK_HDR, sender, slen);
	memcpy(p + PK_HDR + slen, data, len);
	return p + PK_HDR + slen + len;
}

/*
 * Start walking the row lo..hi packed in p[0..len).  -1 if the range
 * cannot be right (every message takes PK_HDR bytes at least).
 */
static int
row_init(struct rowit *it, const void *p, size_t len, uint64_t lo,
    uint64_t hi)
{
	it->p = p;
	it->len = len;
	it->off = 0;
	it->seq = lo;
	it->hi = hi;
	if (p == NULL || lo == 0 || hi < lo || hi - lo >= len / PK_HDR)
		return -1;
	return 0;
}

/*
 * The row's next message in *u: 1, 0 at its end (every byte used), -1
 * if the row does not add up.
 */
static int
row_next(struct rowit *it, struct umsg *u)
{
	const uint8_t	*p;
	size_t		 left;

	if (it->seq > it->hi)
		return it->off == it->len ? 0 : -1;
	left = it->len - it->off;
	if (left < PK_HDR)
		return -1;
	p = it->p + it->off;
	u->ts = get_le(p, 8);
	u->len = (size_t)get_le(p + 8, 4);
	u->slen = p[12];
	if (u->slen > left - PK_HDR || u->len > left - PK_HDR - u->slen)
		return -1;
	u->sender = (const char *)p + PK_HDR;
	u->data = u->sender + u->slen;
	u->at = it->off;
	u->seq = it->seq++;
	it->off += PK_HDR + u->slen + u->len;
	return 1;
}

/* A row that does not add up: say which, for sq_error().  -1. */
static int
corrupt(struct rows *d, const char *what, sqlite3_int64 id,
    const char *user, uint64_t lo, uint64_t hi)
{
	char	esc[80];

	util_escape(esc, sizeof(esc), user, strlen(user));
	snprintf(d->err, sizeof(d->err), "%s: row %lld of '%s' (seqs "
	    "%llu-%llu) is corrupt: its messages do not add up", what,
	    (long long)id, esc, (unsigned long long)lo,
	    (unsigned long long)hi);
	return -1;
}

/* A row's blob: column i of s, with its length. */
static const void *
col_blob(sqlite3_stmt *s, int i, size_t *len)
{
	const void	*p = sqlite3_column_blob(s, i);

	*len = (size_t)sqlite3_column_bytes(s, i);
	return p;
}

/* row_init() on the row s is at: lo in column i, then hi, then data. */
static int
row_col(struct rowit *it, sqlite3_stmt *s, int i)
{
	const void	*p;
	size_t		 len;

	p = col_blob(s, i + 2, &len);
	return row_init(it, p, len, col_u64(s, i), col_u64(s, i + 1));
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
	static const char	 row[] = ", (?, ?, ?, ?, ?, ?)";
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

/* d->buf holding at least n bytes: 0 or -1. */
static int
buf_grow(struct rows *d, size_t n)
{
	return vec_grow(&d->buf, &d->capbuf, n, 1);
}

/*
 * Version 3 kept a row per message (inbox(id, user, seq, ts, data,
 * sender)): each becomes a row of one message, in the same order.
 * Counts the messages in *count.  SQLITE_OK or an error.
 */
static int
upgrade_rows(struct rows *d, uint64_t *count)
{
	sqlite3_stmt	*sel = NULL, *ins = NULL;
	const char	*data, *sender;
	size_t		 len, slen;
	int		 rc;

	if ((rc = sqlite3_exec(d->h, "ALTER TABLE inbox RENAME TO inbox_v3",
	    NULL, NULL, NULL)) != SQLITE_OK ||
	    (rc = sqlite3_exec(d->h, schema, NULL, NULL, NULL)) != SQLITE_OK ||
	    (rc = sqlite3_prepare_v2(d->h, "SELECT user, seq, ts, data, "
	    "sender FROM inbox_v3 ORDER BY id", -1, &sel, NULL)) !=
	    SQLITE_OK ||
	    (rc = sqlite3_prepare_v2(d->h, sql[S_INSERT], -1, &ins, NULL)) !=
	    SQLITE_OK)
		goto out;
	while ((rc = sqlite3_step(sel)) == SQLITE_ROW) {
		data = col_blob(sel, 3, &len);
		sender = (const char *)sqlite3_column_text(sel, 4);
		/* An author too long to pack: counted against the target. */
		if (sender == NULL || (slen = strlen(sender)) > UINT8_MAX)
			slen = 0;
		if (len > UINT32_MAX || buf_grow(d, PK_HDR + slen + len) ==
		    -1) {
			rc = SQLITE_NOMEM;
			break;
		}
		pack(d->buf, col_u64(sel, 2), sender, slen, data != NULL ?
		    data : "", len);
		sqlite3_bind_value(ins, 1, sqlite3_column_value(sel, 0));
		sqlite3_bind_value(ins, 2, sqlite3_column_value(sel, 1));
		sqlite3_bind_value(ins, 3, sqlite3_column_value(sel, 1));
		sqlite3_bind_value(ins, 4, sqlite3_column_value(sel, 2));
		sqlite3_bind_int64(ins, 5, (sqlite3_int64)len);
		sqlite3_bind_blob(ins, 6, d->buf, (int)(PK_HDR + slen + len),
		    SQLITE_STATIC);
		rc = sqlite3_step(ins);
		sqlite3_reset(ins);
		if (rc != SQLITE_DONE)
			break;
		(*count)++;
	}
	if (rc == SQLITE_DONE)
		rc = sqlite3_exec(d->h, "DROP TABLE inbox_v3", NULL, NULL,
		    NULL);
out:
	sqlite3_finalize(sel);
	sqlite3_finalize(ins);
	return rc;
}

/*
 * Bring a file of an earlier format up to DB_VERSION, inside the open
 * transaction.  Version 1 had no sender column: its rows get "" (quotas
 * then count them against their target only).  Version 2 had no members
 * table, which the schema then adds (empty).  Version 3 had a row per
 * message.  SQLITE_OK or an error.
 */
static int
migrate(struct rows *d, const char *path, long long ver)
{
	uint64_t	 count = 0;
	char		 q[64];
	int		 rc;

	if (ver == 1) {
		if ((rc = sqlite3_exec(d->h, "ALTER TABLE inbox ADD COLUMN "
		    "sender TEXT NOT NULL DEFAULT ''", NULL, NULL, NULL)) !=
		    SQLITE_OK)
			return rc;
	}
	if ((rc = upgrade_rows(d, &count)) != SQLITE_OK)
		return rc;
	snprintf(q, sizeof(q), "PRAGMA user_version=%d", DB_VERSION);
	if ((rc = sqlite3_exec(d->h, q, NULL, NULL, NULL)) != SQLITE_OK)
		return rc;
	log_info("store '%s': upgraded from format version %lld to %d: "
	    "%llu messages, a row each", path, ver, DB_VERSION,
	    (unsigned long long)count);
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
	/*
	 * temp_store: a statement that changes several rows (a trim's
	 * DELETE) keeps a statement journal; on disk that was a file made
	 * in /var/tmp and unlinked some 20 times a second under load.  No
	 * statement here sorts (each ORDER BY follows an index), so what
	 * memory it takes is the pages one statement changes.
	 */
	if ((rc = sqlite3_exec(d->h, "PRAGMA cache_size=-65536", NULL, NULL,
	    NULL)) != SQLITE_OK ||
	    (rc = sqlite3_exec(d->h, "PRAGMA temp_store=MEMORY", NULL, NULL,
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
	if ((d->ck = ckpt_start(path, walbuf_vfs(), d->h, cfg->sync_full ? 0 :
	    (long)pragma_int(d->h, "PRAGMA page_size"), q, sizeof(q))) == NULL)
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
	free(d->pmsg);
	free(d->prow);
	free(d->buf);
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
	d->nprow = d->npmsg = 0;
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
	sqlite3_stmt	*s;
	int		 i;

	for (i = S_UPDATE; ; i = S_SAVE) {
		s = d->st[i];
		sqlite3_bind_text(s, 1, b->u->id, -1, SQLITE_STATIC);
		bind_u64(s, 2, b->m.last);
		bind_u64(s, 3, b->m.cursor);
		bind_u64(s, 4, b->m.first);
		bind_u64(s, 5, b->m.n);
		bind_u64(s, 6, b->m.bytes);
		if (run(d, i, "save") == -1)
			return -1;
		if (i == S_SAVE || sqlite3_changes(d->h) > 0)
			return 0;
	}
}

static void
bind_row(sqlite3_stmt *s, int i, const struct prow *r)
{
	sqlite3_bind_text(s, i + 1, r->b->u->id, -1, SQLITE_STATIC);
	bind_u64(s, i + 2, r->lo);
	bind_u64(s, i + 3, r->hi);
	bind_u64(s, i + 4, r->ts);
	bind_u64(s, i + 5, r->bytes);
	sqlite3_bind_blob(s, i + 6, r->data, (int)r->size, SQLITE_STATIC);
}

/* Pack the rows kept back into d->buf.  0 or -1. */
static int
pack_rows(struct rows *d)
{
	const struct pmsg	*m;
	struct prow		*r;
	uint8_t			*p;
	size_t			 i, k, total = 0;

	for (i = 0; i < d->nprow; i++)
		total += d->prow[i].size;	/* each <= ROW_MAX or alone */
	if (buf_grow(d, total) == -1) {
		snprintf(d->err, sizeof(d->err), "insert: out of memory");
		return -1;
	}
	p = d->buf;
	for (i = 0; i < d->nprow; i++) {
		r = &d->prow[i];
		r->data = p;
		for (k = r->head; k != SIZE_MAX; k = m->next) {
			m = &d->pmsg[k];
			p = pack(p, m->ts, m->sender, m->slen, m->data, m->len);
		}
	}
	return 0;
}

/* Write the rows kept back: INSERT_ROWS to a statement, then the rest. */
static int
sq_flush(struct rows *d)
{
	size_t	i, k, n = d->nprow;
	int	r = SQLITE_DONE;

	if (n == 0)
		return 0;
	if (pack_rows(d) == -1) {
		d->nprow = d->npmsg = 0;
		return -1;
	}
	d->nprow = d->npmsg = 0;
	for (i = 0; i + INSERT_ROWS <= n && r == SQLITE_DONE;
	    i += INSERT_ROWS) {
		for (k = 0; k < INSERT_ROWS; k++)
			bind_row(d->insn, (int)k * 6, &d->prow[i + k]);
		r = sqlite3_step(d->insn);
		sqlite3_reset(d->insn);
		sqlite3_clear_bindings(d->insn);
	}
	for (; i < n && r == SQLITE_DONE; i++) {
		bind_row(d->st[S_INSERT], 0, &d->prow[i]);
		r = sqlite3_step(d->st[S_INSERT]);
		sqlite3_reset(d->st[S_INSERT]);
		sqlite3_clear_bindings(d->st[S_INSERT]);
	}
	return r == SQLITE_DONE ? 0 : fail(d, "insert");
}

/*
 * Keep the message back for its user's row of this commit (b->rows
 * says which, checked: a stale one from an earlier commit names a row
 * of another box or none).  The strings are the caller's, who keeps
 * them until the commit.
 */
static int
sq_insert(struct rows *d, struct box *b, struct msg *m, const char *sender,
    uint64_t *cost)
{
	struct prow	*r = NULL;
	struct pmsg	*p;
	size_t		 slen = strlen(sender), need, i;

	if (m->len > INT_MAX - PK_HDR - UINT8_MAX || slen > UINT8_MAX) {
		snprintf(d->err, sizeof(d->err), "insert: message too long");
		return -1;
	}
	need = PK_HDR + slen + m->len;
	i = (size_t)(uintptr_t)b->rows;
	if (i > 0 && i <= d->nprow && d->prow[i - 1].b == b)
		r = &d->prow[i - 1];
	/* Only consecutive seqs share a row, and ROW_MAX bytes at most. */
	if (r != NULL && (r->hi + 1 != m->seq || r->size + need > ROW_MAX))
		r = NULL;
	if (vec_grow(&d->pmsg, &d->cappmsg, d->npmsg + 1,
	    sizeof(*d->pmsg)) == -1 || (r == NULL && vec_grow(&d->prow,
	    &d->capprow, d->nprow + 1, sizeof(*d->prow)) == -1)) {
		snprintf(d->err, sizeof(d->err), "insert: out of memory");
		return -1;
	}
	p = &d->pmsg[d->npmsg];
	p->data = m->data;
	p->sender = sender;
	p->ts = m->ts;
	p->len = (uint32_t)m->len;
	p->slen = (uint8_t)slen;
	p->next = SIZE_MAX;
	if (r == NULL) {
		r = &d->prow[d->nprow++];
		memset(r, 0, sizeof(*r));
		r->b = b;
		r->lo = m->seq;
		r->ts = m->ts;
		r->head = d->npmsg;
		b->rows = (void *)(uintptr_t)d->nprow;
	} else
		d->pmsg[r->tail].next = d->npmsg;
	r->tail = d->npmsg++;
	r->hi = m->seq;
	if (m->ts < r->ts)
		r->ts = m->ts;
	r->bytes += m->len;
	r->size += need;
	*cost = m->len;
	return 0;
}

/*
 * Drop b's oldest messages with seq <= upto and ts < before: a prefix,
 * even if the clock stepped back between two.  Rows wholly before the
 * first message kept go; a row it is in the middle of is rewritten
 * with what is left.  The rows below upto are unpacked only with an
 * age: their counts are in their columns.
 */
static int
sq_trim(struct rows *d, struct box *b, uint64_t upto, uint64_t before,
    uint64_t *n, uint64_t *cost, uint64_t *first)
{
	sqlite3_stmt	*s = d->st[S_ROWS];
	struct rowit	 it;
	struct umsg	 u;
	sqlite3_int64	 id = 0;
	uint64_t	 lo, hi, cut = UINT64_MAX, ts = UINT64_MAX, kept = 0;
	size_t		 tail = 0, whole = 0;
	int		 r, k = 0;

	sqlite3_bind_text(s, 1, b->u->id, -1, SQLITE_STATIC);
	while ((r = sqlite3_step(s)) == SQLITE_ROW) {
		lo = col_u64(s, 1);
		hi = col_u64(s, 2);
		if (lo > upto) {
			cut = lo;
			break;
		}
		if (before == UINT64_MAX && hi <= upto) {
			*n += hi - lo + 1;
			*cost += col_u64(s, 4);
			whole++;
			continue;
		}
		if (row_col(&it, s, 1) == -1) {
			k = -1;
			break;
		}
		while ((k = row_next(&it, &u)) == 1 && u.seq <= upto &&
		    u.ts < before) {
			(*n)++;
			*cost += u.len;
		}
		if (k == 0) {
			whole++;
			continue;
		}
		if (k == -1)
			break;
		/* u is the first kept: the rest of the row stays. */
		cut = u.seq;
		if (u.seq == lo)
			break;
		id = sqlite3_column_int64(s, 0);
		tail = it.len - u.at;
		do {
			kept += u.len;
			if (u.ts < ts)
				ts = u.ts;
		} while ((k = row_next(&it, &u)) == 1);
		if (k == 0 && buf_grow(d, tail) == -1)
			r = SQLITE_NOMEM;
		else if (k == 0)
			memcpy(d->buf, it.p + (it.len - tail), tail);
		break;
	}
	if (k == -1) {
		id = sqlite3_column_int64(s, 0);
		corrupt(d, "trim", id, b->u->id, col_u64(s, 1), col_u64(s, 2));
		sqlite3_reset(s);
		sqlite3_clear_bindings(s);
		return -1;
	}
	if (r == SQLITE_ROW)
		r = SQLITE_DONE;
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (r == SQLITE_NOMEM) {
		snprintf(d->err, sizeof(d->err), "trim: out of memory");
		return -1;
	}
	if (r != SQLITE_DONE)
		return fail(d, "trim");
	*first = cut != UINT64_MAX ? cut : 0;
	if (whole > 0) {
		s = d->st[S_DROP];
		sqlite3_bind_text(s, 1, b->u->id, -1, SQLITE_STATIC);
		bind_u64(s, 2, cut);
		if (run(d, S_DROP, "trim") == -1)
			return -1;
	}
	if (id == 0)
		return 0;
	s = d->st[S_REWRITE];
	sqlite3_bind_int64(s, 1, id);
	bind_u64(s, 2, cut);
	bind_u64(s, 3, ts);
	bind_u64(s, 4, kept);
	sqlite3_bind_blob(s, 5, d->buf, (int)tail, SQLITE_STATIC);
	return run(d, S_REWRITE, "trim");
}

static int
sq_read(struct rows *d, struct box *b, uint64_t after, uint64_t upto,
    size_t max, size_t bytes, struct msg **out)
{
	sqlite3_stmt	*s = d->st[S_READ];
	struct rowit	 it;
	struct umsg	 u;
	struct msg	*m;
	size_t		 got = 0, sum = 0;
	int		 r = SQLITE_DONE, k = 0, full = 0;

	sqlite3_bind_text(s, 1, b->u->id, -1, SQLITE_STATIC);
	bind_u64(s, 2, after);
	bind_u64(s, 3, upto);
	/* Each row holds one message at least. */
	sqlite3_bind_int64(s, 4, max > INT_MAX ? INT_MAX : (int)max);
	while (!full && (r = sqlite3_step(s)) == SQLITE_ROW) {
		if (row_col(&it, s, 1) == -1) {
			k = -1;
			break;
		}
		while ((k = row_next(&it, &u)) == 1) {
			if (u.seq <= after)
				continue;
			if (u.seq > upto || got == max ||
			    (got > 0 && sum + u.len > bytes)) {
				full = 1;
				break;
			}
			if ((m = msg_new(u.data, u.len)) == NULL) {
				r = SQLITE_NOMEM;
				full = 1;
				break;
			}
			m->seq = u.seq;
			m->prev = m->seq - 1;	/* numbered without gaps */
			m->ts = u.ts;
			out[got++] = m;
			sum += u.len;
		}
		if (k == -1)
			break;
	}
	if (k == -1)
		corrupt(d, "read", sqlite3_column_int64(s, 0), b->u->id,
		    col_u64(s, 1), col_u64(s, 2));
	else if (r == SQLITE_ROW)
		r = SQLITE_DONE;
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (k == -1 || r != SQLITE_DONE) {
		while (got > 0)
			msg_unref(out[--got]);
		return k == -1 ? -1 : fail(d, "read");
	}
	return (int)got;
}

/*
 * Victims in row order (commit order, then the order the commit's
 * users came in), each row's delivered messages in seq order; with an
 * age, only those older, from rows before the first row all young.
 */
static int
sq_oldest(struct rows *d, uint64_t before, size_t max,
    struct rows_victim *out)
{
	sqlite3_stmt	*s = d->st[S_YOUNG];
	struct rowit	 it;
	struct umsg	 u;
	const char	*user;
	uint64_t	 bound = INT64_MAX, lo, hi, top;
	sqlite3_int64	 last = 0;
	size_t		 got = 0, rows;
	int		 r = SQLITE_DONE, k = 0;

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
	do {
		bind_u64(s, 1, bound);
		bind_u64(s, 2, before);
		sqlite3_bind_int64(s, 3, max > INT_MAX ? INT_MAX : (int)max);
		sqlite3_bind_int64(s, 4, last);
		rows = 0;
		while (got < max && (r = sqlite3_step(s)) == SQLITE_ROW) {
			rows++;
			last = sqlite3_column_int64(s, 0);
			user = (const char *)sqlite3_column_text(s, 1);
			lo = col_u64(s, 2);
			hi = col_u64(s, 3);
			top = col_u64(s, 5);
			if (top > hi)
				top = hi;
			if (row_col(&it, s, 2) == -1) {
				k = -1;
				break;
			}
			while (got < max && (k = row_next(&it, &u)) == 1 &&
			    u.seq <= top) {
				if (u.ts >= before)
					continue;
				out[got].box = NULL;
				snprintf(out[got].user, sizeof(out[got].user),
				    "%s", user);
				out[got++].seq = u.seq;
			}
			if (k == -1)
				break;
		}
		if (k == -1)
			corrupt(d, "oldest", last, user, lo, hi);
		else if (got == max || r == SQLITE_ROW)
			r = SQLITE_DONE;
		sqlite3_reset(s);
		sqlite3_clear_bindings(s);
		if (k == -1)
			return -1;
		if (r != SQLITE_DONE)
			return fail(d, "oldest");
		/* Rows with no victim (young, or not yet delivered): on. */
	} while (got < max && rows == max);
	return (int)got;
}

/* Each undelivered message, for the quotas, in row order. */
static int
sq_queued(struct rows *d, rows_queued_cb cb, void *arg)
{
	sqlite3_stmt	*s = d->st[S_QUEUED];
	struct rowit	 it;
	struct umsg	 u;
	const char	*user;
	char		 sender[UINT8_MAX + 1];
	uint64_t	 sent;
	int		 r, k = 0;

	while ((r = sqlite3_step(s)) == SQLITE_ROW) {
		user = (const char *)sqlite3_column_text(s, 1);
		sent = col_u64(s, 5);
		if (row_col(&it, s, 2) == -1) {
			k = -1;
			break;
		}
		while ((k = row_next(&it, &u)) == 1) {
			if (u.seq <= sent)
				continue;
			memcpy(sender, u.sender, u.slen);
			sender[u.slen] = '\0';
			cb(arg, user, u.seq, sender, u.len);
		}
		if (k == -1)
			break;
	}
	if (k == -1)
		corrupt(d, "queued", sqlite3_column_int64(s, 0),
		    (const char *)sqlite3_column_text(s, 1), col_u64(s, 2),
		    col_u64(s, 3));
	sqlite3_reset(s);
	if (k == -1)
		return -1;
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
