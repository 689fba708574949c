/*
 * Copyright (c) 2026 The chat authors.
 *
 * walbuf: an SQLite VFS over the default one that hands SQLite's writes
 * to a write-ahead log (the -wal file) to the kernel one transaction at
 * a time.  SQLite writes each WAL frame as two pwrite calls, a 24-byte
 * header and the page; a commit of 150 pages cost 300 system calls,
 * about a third of the store's CPU.  Here the frames are gathered in
 * memory and written in one call once the commit frame is complete, in
 * the same xWrite that completes it: a failure is SQLite's failure to
 * commit, never a commit SQLite believes in and the file does not hold.
 * Any read, size, truncate, sync or close of the file writes what is
 * gathered first, so SQLite never sees a file older than its writes.
 * Durability is SQLite's own: with synchronous=NORMAL a commit is in
 * the kernel when COMMIT returns, as without this layer.
 */
#ifndef WALBUF_H
#define WALBUF_H

#include <stdint.h>

/*
 * Register the VFS (once) and return its name for sqlite3_open_v2(), or
 * NULL if SQLite could not register it (then open with the default).
 */
const char	*walbuf_vfs(void);

/* Writes to -wal files passed down, and calls SQLite made (tests). */
struct walbuf_stats {
	uint64_t	 writes;	/* real writes to -wal files */
	uint64_t	 calls;		/* xWrite calls on -wal files */
};
void	walbuf_stats(struct walbuf_stats *);

#endif /* WALBUF_H */
