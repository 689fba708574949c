/*
 * Copyright (c) 2026 The chat authors.
 *
 * ckpt: the store's checkpoints in a thread (see ckpt.h).  The thread
 * sleeps on a condition variable; the writer's WAL hook, run after each
 * commit, wakes it when the log has grown by CKPT_FRAMES pages since the
 * last wake-up.  The thread then runs passive checkpoints with its own
 * connection, which copy what no reader still needs and never hold the
 * writer back.  SQLite starts the log over only at a write transaction
 * that begins with all of it copied, and the writer keeps committing
 * meanwhile, so the thread copies again what came during the last copy
 * until a round finds nothing new, CKPT_ROUNDS at most.  Under a steady
 * stream of commits that seldom happens (a round's fdatasync outlasts
 * several commits: at 10,000 msgs/s every wake-up ran its 8 rounds), so
 * the log passes CKPT_BOUND every few wake-ups, and a RESTART checkpoint
 * holds the writer back (its busy handler waits, 2-4 ms there) while it
 * copies the rest, and the log starts over.  A checkpoint that fails is
 * tried again at the next wake-up; meanwhile the log only grows.  The
 * thread blocks every signal: they are the loop's.
 *
 * With synchronous=NORMAL the thread also starts the write-back of the
 * log as it grows (sync_file_range, SYNC_FILE_RANGE_WRITE), every
 * CKPT_KICK bytes, up to the last whole memory page: see CKPT_KICK.
 * A wake-up serves both that and a checkpoint, whichever were asked
 * for, so that neither can keep the other waiting.
 */
#define _GNU_SOURCE	/* sync_file_range */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "ckpt.h"
#include "log.h"

/*
 * WAL pages between checkpoints (SQLite's own default is 1000).  A
 * checkpoint copies each page once however many commits wrote it, and
 * every commit rewrites most of the (user, hi) index's leaves, the
 * users rows and the table's ends: 4000 instead of 1000 took the
 * checkpoint's writes in chat50 --store from 0.76 to 0.51 KB a message
 * and the server from 3.70 to 3.46 us a message (bench/RESULTS.md,
 * 2026-12-05, follow-up), for a log of 16 MB (4 KB pages) between
 * checkpoints.
 */
#define CKPT_FRAMES	4000
/* Checkpoints in a row at most, to catch up with the writer. */
#define CKPT_ROUNDS	8
/*
 * A log this long was not started over: the thread makes it so with a
 * RESTART checkpoint, which holds the writer back while it copies the
 * rest (some milliseconds, once in a while), so the log stays bounded.
 */
#define CKPT_BOUND	(4 * CKPT_FRAMES)
/* The writer waits that long for it at most, in 100 us steps. */
#define CKPT_WAITS	20000
/*
 * Log bytes between two starts of write-back.  Left to the checkpoint's
 * fdatasync, the 16 MB written since the last one went to the disk in
 * one burst, and the writer, appending into the memory page that burst
 * was writing, waited for it (a frame is a page plus 24 bytes, so a
 * commit ends inside a memory page and the next one begins there).  At
 * a fixed 10,000 msgs/s --store, p99 was 912-1,940 us (median 1,294)
 * with write-back left to fdatasync and 380-894 (median 659) with it
 * started every 1 MB, the memory store's 219-358 (240); in another run
 * every 256 KB, 1 MB and 4 MB gave medians of 478, 414 and 664 us
 * (bench/RESULTS.md, 2026-12-05, "Write-back as the log grows").  The
 * range stops at the last whole memory page: the one being appended
 * into is left alone.  Nothing more reaches the disk than before: the
 * checkpoint's fdatasync wrote every page of the log too.
 */
#define CKPT_KICK	(1024 * 1024)

struct ckpt {
	sqlite3		*h;		/* the thread's connection */
	sqlite3		*w;		/* the writer's */
	pthread_t	 th;
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	int		 want;		/* a checkpoint is asked for */
	int		 stop;
	int		 seen;		/* log size at the last wake-up (writer) */
	/* Write-back of the log (synchronous=NORMAL); wfd -1: none. */
	int		 wfd;		/* the log, for sync_file_range */
	long		 fsz;		/* bytes a frame (page + 24) */
	long		 mpg;		/* bytes a memory page */
	int		 lastn;		/* the log after a commit (writer) */
	long long	 kend;		/* the last write-back's end (writer) */
	long long	 kfrom, kto;	/* one asked for (mu); kto 0: none */
	struct ckpt_stats st;		/* mu */
};

long long
ckpt_log_end(int n, long fsz, long mpg)
{
	long long	end = 32 + (long long)n * fsz;

	return end - end % mpg;
}

/*
 * Start writing back the log's bytes from..to.  Best effort: the
 * checkpoint's fdatasync writes whatever this did not, and reports the
 * write errors (the kernel keeps them for it).  If the log started over
 * while this ran, the range may cover the page being appended into
 * again: that costs the writer a wait, nothing else.
 */
static void
ckpt_writeback(struct ckpt *c, long long from, long long to)
{
	int	rc;

	rc = sync_file_range(c->wfd, from, to - from, SYNC_FILE_RANGE_WRITE);
	pthread_mutex_lock(&c->mu);
	if (rc == 0) {
		c->st.writebacks++;
		c->st.upto = to;
	} else
		c->st.errors++;
	pthread_mutex_unlock(&c->mu);
}

/* Copy the log into the database: passive rounds, RESTART past a bound. */
static void
ckpt_copy(struct ckpt *c)
{
	int	nlog = 0, ndone, prev, i;

	/*
	 * The writer starts the log over only at a transaction that
	 * begins with all of it copied, and it keeps writing meanwhile:
	 * copy again what came during the last copy, until a round finds
	 * nothing new (under a steady stream of commits, seldom: see the
	 * top of the file).
	 */
	for (i = 0, prev = -1; i < CKPT_ROUNDS; i++) {
		if (sqlite3_wal_checkpoint_v2(c->h, NULL,
		    SQLITE_CHECKPOINT_PASSIVE, &nlog, &ndone) != SQLITE_OK ||
		    (nlog == prev && ndone == nlog))
			break;
		prev = nlog;
	}
	if (nlog >= CKPT_BOUND)
		(void)sqlite3_wal_checkpoint_v2(c->h, NULL,
		    SQLITE_CHECKPOINT_RESTART, &nlog, &ndone);
}

static void *
ckpt_main(void *arg)
{
	struct ckpt	*c = arg;
	long long	 from, to;
	int		 copy;

	pthread_mutex_lock(&c->mu);
	for (;;) {
		while (!c->want && c->kto == 0 && !c->stop)
			pthread_cond_wait(&c->cv, &c->mu);
		if (c->stop)
			break;
		/* Both at each wake-up: neither can keep the other waiting. */
		from = c->kfrom;
		to = c->kto;
		copy = c->want;
		c->kto = 0;
		c->want = 0;
		pthread_mutex_unlock(&c->mu);
		if (to != 0)
			ckpt_writeback(c, from, to);
		if (copy)
			ckpt_copy(c);
		pthread_mutex_lock(&c->mu);
	}
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

/* The writer waits for a RESTART checkpoint: 100 us at a time. */
static int
ckpt_busy(void *arg, int n)
{
	struct timespec	ts = { 0, 100000 };

	if (n >= CKPT_WAITS)
		return 0;
	nanosleep(&ts, NULL);
	return 1;
}

/* The writer committed: its log now holds n pages. */
static int
ckpt_hook(void *arg, sqlite3 *db, const char *name, int n)
{
	struct ckpt	*c = arg;
	long long	 end = 0;
	int		 copy = 0;

	/*
	 * A commit only adds frames: a shorter log has started over (a
	 * first commit longer than the whole old log would go unseen, and
	 * cost only a write-back left to the checkpoint).
	 */
	if (n < c->lastn) {
		c->seen = 0;
		c->kend = 0;
	}
	c->lastn = n;
	if (n - c->seen >= CKPT_FRAMES) {
		c->seen = n;
		copy = 1;
	}
	if (c->wfd != -1 && (end = ckpt_log_end(n, c->fsz, c->mpg)) - c->kend <
	    CKPT_KICK)
		end = 0;
	if (!copy && end == 0)
		return SQLITE_OK;
	pthread_mutex_lock(&c->mu);
	if (copy)
		c->want = 1;
	if (end != 0) {
		/* One not yet taken grows, unless the log started over. */
		if (c->kto == 0 || c->kto != c->kend)
			c->kfrom = c->kend;
		c->kto = end;
		c->st.asked = end;
		c->kend = end;
	}
	pthread_mutex_unlock(&c->mu);
	/* After the unlock: the thread wakes to a free mutex. */
	pthread_cond_signal(&c->cv);
	return SQLITE_OK;
}

/*
 * Write-back as the log grows, for pages of pgsz bytes (0: none).  The
 * log exists: the writer has read the file in WAL mode.  Without it the
 * log still reaches the disk, at checkpoints only.
 */
static void
ckpt_writeback_open(struct ckpt *c, sqlite3 *w, long pgsz)
{
	const char	*wal;
	long		 mpg;

	c->wfd = -1;
	if (pgsz < 512 || (mpg = sysconf(_SC_PAGESIZE)) <= 0 ||
	    (wal = sqlite3_filename_wal(sqlite3_db_filename(w, "main"))) ==
	    NULL || *wal == '\0')
		return;
	if ((c->wfd = open(wal, O_RDONLY | O_CLOEXEC)) == -1) {
		log_warn("store: %s: %s; its write-back is left to the "
		    "checkpoints", wal, strerror(errno));
		return;
	}
	c->fsz = pgsz + 24;
	c->mpg = mpg;
	c->st.writeback = 1;
}

struct ckpt *
ckpt_start(const char *path, const char *vfs, sqlite3 *w, long pgsz,
    char *err, size_t errlen)
{
	struct ckpt	*c;
	sigset_t	 all, old;
	int		 rc;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->w = w;
	ckpt_writeback_open(c, w, pgsz);
	/*
	 * A connection learns that the file is in WAL mode at its first
	 * read; until then a checkpoint does nothing (and says so only
	 * with a log size of -1).
	 */
	rc = sqlite3_open_v2(path, &c->h, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_NOMUTEX, vfs);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(c->h, "PRAGMA schema_version", NULL, NULL,
		    NULL);
	/* RESTART waits for the writer's transaction to end. */
	if (rc == SQLITE_OK)
		rc = sqlite3_busy_timeout(c->h, 10000);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "%s", c->h != NULL ?
		    sqlite3_errmsg(c->h) : sqlite3_errstr(rc));
		sqlite3_close(c->h);
		if (c->wfd != -1)
			close(c->wfd);
		free(c);
		return NULL;
	}
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(&c->th, NULL, ckpt_main, c);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		snprintf(err, errlen, "cannot start a thread");
		pthread_cond_destroy(&c->cv);
		pthread_mutex_destroy(&c->mu);
		sqlite3_close(c->h);
		if (c->wfd != -1)
			close(c->wfd);
		free(c);
		return NULL;
	}
	sqlite3_wal_autocheckpoint(w, 0);
	sqlite3_wal_hook(w, ckpt_hook, c);
	sqlite3_busy_handler(w, ckpt_busy, NULL);
	return c;
}

void
ckpt_stop(struct ckpt *c)
{
	if (c == NULL)
		return;
	sqlite3_wal_hook(c->w, NULL, NULL);
	sqlite3_busy_handler(c->w, NULL, NULL);
	pthread_mutex_lock(&c->mu);
	c->stop = 1;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
	pthread_join(c->th, NULL);
	pthread_cond_destroy(&c->cv);
	pthread_mutex_destroy(&c->mu);
	sqlite3_close(c->h);
	if (c->wfd != -1)
		close(c->wfd);
	free(c);
}

void
ckpt_stats(struct ckpt *c, struct ckpt_stats *st)
{
	pthread_mutex_lock(&c->mu);
	*st = c->st;
	pthread_mutex_unlock(&c->mu);
}
