/*
 * Copyright (c) 2026 The chat authors.
 *
 * ckpt: checkpoints of the store's write-ahead log in a thread of their
 * own.  A checkpoint copies the WAL's pages into the database file
 * between two fdatasync calls (synchronous=NORMAL); run by the loop's
 * own connection it stopped the loop for 3-4 ms several times a second
 * at 10,000 messages/s, and that was the store's p99.  Here a second
 * connection, owned by one thread that does nothing else, runs passive
 * checkpoints, which never wait for or block the writer, whenever the
 * WAL has grown by 4,000 pages (16 MB) since the last one; only a log
 * that grew past 16,000 pages (64 MB) without starting over holds the
 * writer back, for the few milliseconds a RESTART checkpoint takes.
 * With synchronous=NORMAL the thread also starts the log's write-back
 * every 1 MB it grows, so that the checkpoint's fdatasync is not a 16 MB
 * burst the writer waits behind.  The loop's connection only counts its
 * commits' frames (a WAL hook) and signals.  No other state is shared
 * (the log's write-back is the thread's): the two connections meet in
 * SQLite's locks on the file, as two processes would.
 */
#ifndef CKPT_H
#define CKPT_H

#include <stddef.h>

struct sqlite3;
struct ckpt;

/*
 * Checkpoint the database at path (opened with vfs, NULL for the
 * default) on behalf of the writer w, whose WAL hook, busy handler and
 * automatic checkpoints this takes over.  With pgsz, the file's page
 * size, the thread also starts the log's write-back as it grows (for
 * synchronous=NORMAL: FULL syncs every commit itself); 0: it does not.
 * NULL with err[errlen] set if the thread or its connection could not
 * be made: then w keeps checkpointing itself.
 */
struct ckpt	*ckpt_start(const char *path, const char *vfs, struct sqlite3 *w,
		    long pgsz, char *err, size_t errlen);
/* Stop and join the thread, close its connection.  NULL is fine. */
void	ckpt_stop(struct ckpt *);

/* What the thread did (tests). */
struct ckpt_stats {
	int		 writeback;	/* the log's write-back is on */
	unsigned long	 writebacks;	/* write-backs started */
	unsigned long	 errors;	/* ...and refused (sync_file_range) */
	long long	 asked;		/* the last one asked for ends there */
	long long	 upto;		/* the last one started ends there */
};
void	ckpt_stats(struct ckpt *, struct ckpt_stats *);
/*
 * Where a log n frames long (of fsz bytes each, after the 32-byte
 * header) ends, back to a memory page of mpg bytes: how far its
 * write-back may go without touching the page the next commit appends
 * into.
 */
long long ckpt_log_end(int n, long fsz, long mpg);

#endif /* CKPT_H */
