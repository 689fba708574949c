/*
 * Copyright (c) 2026 The chat authors.
 *
 * store: every user's inbox, numbered.  A message for a user gets the
 * next seq of that user's inbox; the inbox keeps it until retention
 * drops it (count, age, total bytes; never one no connection of that
 * user has been sent yet).  Two backings behind this one interface:
 * memory (store.c, lost on restart) and SQLite (store-db.c, a file in
 * WAL mode).  Writes join the open batch and become durable together
 * at store_commit(), called once per loop pass (group commit); reads
 * see committed messages only.  Nothing outside store*.c knows which
 * backing is in use.
 */
#ifndef STORE_H
#define STORE_H

#include <stddef.h>
#include <stdint.h>

struct msg;
struct store;

struct store_config {
	const char	*path;		/* SQLite file; NULL: memory */
	int		 sync_full;	/* synchronous=FULL, else NORMAL */
	size_t		 history_limit;	/* messages kept per user */
	double		 history_days;	/* age of delivered ones; 0: any */
	size_t		 history_bytes;	/* bytes kept, all users */
	size_t		 queue_limit;	/* undelivered per user */
};

enum store_status {
	STORE_OK = 0,
	STORE_FULL,		/* the target's undelivered bound: queue_full */
	STORE_UNAVAILABLE,	/* the backing failed: store_unavailable */
	STORE_NOMEM
};

/* Open the store.  NULL with err[errlen] saying why (file named). */
struct store	*store_open(const struct store_config *, char *err,
		    size_t errlen);
/* Commit what is open, then close.  NULL is fine. */
void	store_close(struct store *);

/*
 * The seq the next message for user will get, checking that one more
 * of len bytes fits: STORE_OK with *seq set, or why not.  live: it will
 * be sent to a connection at once, so it does not count against the
 * undelivered bound.  Nothing is reserved: call store_append() with
 * that seq before anything else touches the store.
 */
enum store_status store_next(struct store *, const char *user, size_t len,
	    int live, uint64_t *seq);
/*
 * Append m (its seq set from store_next) with wall time ts (ms) to
 * user's inbox, in the open batch.  Takes a reference on success.
 */
enum store_status store_append(struct store *, const char *user,
	    struct msg *m, uint64_t ts);
/*
 * Make the open batch durable.  0, or -1 if it failed: every append
 * since the last commit is undone (seqs are reused) and store_failing()
 * says so until a later commit succeeds.  Later appends are tried
 * again (the disk may have room by then); a failing write refuses the
 * rest of its batch with STORE_UNAVAILABLE.
 */
int	store_commit(struct store *);
/* Nonzero while the backing is failing (the last write failed). */
int	store_failing(const struct store *);

/*
 * Committed messages of user with after < seq <= upto, oldest first, at
 * most max of them and (beyond the first) bytes bytes: each one
 * referenced into out.  Returns how many, or -1 (backing failed).
 */
int	store_read(struct store *, const char *user, uint64_t after,
	    uint64_t upto, size_t max, size_t bytes, struct msg **out);
/* Newest committed seq of user (0: none), and the oldest still kept. */
uint64_t store_last(struct store *, const char *user);
uint64_t store_first(struct store *, const char *user);

/*
 * The delivery cursor: messages up to seq have been sent to some
 * connection of user.  store_sent_set() moves it either way (back when
 * a last connection went away with messages unwritten).
 */
uint64_t store_sent(struct store *, const char *user);
void	store_sent_set(struct store *, const char *user, uint64_t seq);

/*
 * Keep user's inbox in memory while held (the router holds a user's
 * while it has connections), so that its numbering cannot restart under
 * them.  Returns 1 if held (release it later), 0 if user has no inbox
 * yet: nothing to keep.  Holds nest.
 */
int	store_hold(struct store *, const char *user);
void	store_release(struct store *, const char *user);

/* Age retention; call now and then (it bounds its own work). */
void	store_expire(struct store *, uint64_t now_wall_ms);

/*
 * The numbering's name (16 hex digits): a new one for each run of a
 * memory store, one per SQLite file.  A seq means something only with
 * its epoch.
 */
const char *store_epoch(const struct store *);

/* For /stats and logs: "memory" or "sqlite"; messages and bytes kept. */
const char *store_kind(const struct store *);
uint64_t store_count(const struct store *);
uint64_t store_bytes(const struct store *);
/* For /metrics: how long store_commit() took when it had work. */
struct metrics_hist;
const struct metrics_hist *store_commit_latency(const struct store *);

#endif /* STORE_H */
