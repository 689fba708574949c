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
 * until a round finds nothing new; the writer's transactions are short
 * (one per pass, at its end), so that usually happens within a few
 * rounds.  When it does not and the log passes CKPT_BOUND, a RESTART
 * checkpoint holds the writer back (its busy handler waits) while it
 * copies the rest, and the log starts over.  A checkpoint that fails is
 * tried again at the next wake-up; meanwhile the log only grows.  The
 * thread blocks every signal: they are the loop's.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <sqlite3.h>

#include "ckpt.h"

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

struct ckpt {
	sqlite3		*h;		/* the thread's connection */
	sqlite3		*w;		/* the writer's */
	pthread_t	 th;
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	int		 want;		/* a checkpoint is asked for */
	int		 stop;
	int		 seen;		/* log size at the last wake-up (writer) */
};

static void *
ckpt_main(void *arg)
{
	struct ckpt	*c = arg;
	int		 nlog, ndone, prev, i;

	pthread_mutex_lock(&c->mu);
	for (;;) {
		while (!c->want && !c->stop)
			pthread_cond_wait(&c->cv, &c->mu);
		if (c->stop)
			break;
		c->want = 0;
		pthread_mutex_unlock(&c->mu);
		/*
		 * The writer starts the log over only at a transaction
		 * that begins with all of it copied, and it keeps writing
		 * meanwhile: copy again what came during the last copy,
		 * until a round finds nothing new (each round is shorter
		 * than the one before, and the writer's transactions are
		 * short: one per pass, at its end).
		 */
		for (i = 0, prev = -1; i < CKPT_ROUNDS; i++) {
			if (sqlite3_wal_checkpoint_v2(c->h, NULL,
			    SQLITE_CHECKPOINT_PASSIVE, &nlog, &ndone) !=
			    SQLITE_OK || (nlog == prev && ndone == nlog))
				break;
			prev = nlog;
		}
		if (nlog >= CKPT_BOUND)
			(void)sqlite3_wal_checkpoint_v2(c->h, NULL,
			    SQLITE_CHECKPOINT_RESTART, &nlog, &ndone);
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

	if (n < c->seen)
		c->seen = 0;		/* the log started over */
	if (n - c->seen >= CKPT_FRAMES) {
		c->seen = n;
		pthread_mutex_lock(&c->mu);
		c->want = 1;
		pthread_cond_signal(&c->cv);
		pthread_mutex_unlock(&c->mu);
	}
	return SQLITE_OK;
}

struct ckpt *
ckpt_start(const char *path, const char *vfs, sqlite3 *w, char *err,
    size_t errlen)
{
	struct ckpt	*c;
	sigset_t	 all, old;
	int		 rc;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->w = w;
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
	free(c);
}
