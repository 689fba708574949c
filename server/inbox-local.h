/*
 * Copyright (c) 2026 The chat authors.
 *
 * inbox-local.h: what the local backings share, private to inbox-local.c
 * (the rules: counters per user, the open batch, retention, quotas) and
 * the two row stores under it: memory (inbox-mem.c) and SQLite
 * (inbox-sqlite.c).  A row store keeps messages and, for SQLite, each
 * user's counters; it knows rows, not rules.
 */
#ifndef INBOX_LOCAL_H
#define INBOX_LOCAL_H

#include <stddef.h>
#include <stdint.h>

#include "inbox.h"

struct msg;
struct rows;
struct qent;

/* A user's counters, as a row store keeps them. */
struct rows_meta {
	uint64_t	 last;		/* newest seq given */
	uint64_t	 cursor;	/* newest written to a socket */
	uint64_t	 first;		/* oldest kept, 0: none */
	uint64_t	 n;		/* messages kept */
	uint64_t	 bytes;		/* their cost */
};

/* One user's inbox in memory (user->box), owned by inbox-local.c. */
struct box {
	struct user	*u;
	struct box	*bnext, *bprev;	/* all boxes of the store */
	struct rows_meta m;
	uint64_t	 committed;	/* newest seq readable */
	uint64_t	 pfirst;	/* SQLite: oldest row in the file, 0: ? */
	uint64_t	 gen;		/* memory: this numbering's number */
	struct qent	*qhead, *qtail;	/* queued: undelivered when appended */
	uint64_t	 qbytes;	/* their cost */
	uint32_t	 holds;
	/* Place in the open batch + 1, 0: none; SQLite: in the next round. */
	uint32_t	 bidx : 31, todrop : 1;
	void		*rows;		/* the row store's own, per user */
};

/* A message retention may drop: the oldest delivered ones first. */
struct rows_victim {
	struct box	*box;		/* if the store knows it, else NULL */
	char		 user[65];
	uint64_t	 seq;
};

/* Called for each undelivered row at open (quotas are rebuilt). */
typedef void (*rows_queued_cb)(void *arg, const char *user, uint64_t seq,
    const char *sender, uint64_t cost);

struct rows_ops {
	const char	*kind;
	int		 persistent;	/* survives a restart */
	/* Bytes a box costs in memory, counted in the total (memory). */
	size_t		 box_cost;
	struct rows	*(*open)(const struct inbox_config *, char *err,
			    size_t errlen);
	void		 (*close)(struct rows *);
	/* The file's epoch, or NULL: one per numbering (memory). */
	const char	*(*epoch)(struct rows *);
	const char	*(*error)(struct rows *);
	int		 (*totals)(struct rows *, uint64_t *n, uint64_t *bytes);
	int		 (*queued)(struct rows *, rows_queued_cb, void *arg);
	/* Transactions (no-ops in memory).  0 or -1. */
	int		 (*begin)(struct rows *);
	int		 (*commit)(struct rows *);
	void		 (*rollback)(struct rows *);
	/* A user's counters: 0 found, 1 none (zeroed), -1 failure. */
	int		 (*load)(struct rows *, struct box *, struct rows_meta *);
	int		 (*save)(struct rows *, struct box *);
	/*
	 * Keep m (seq set) for b; its cost goes in *cost.  SQLite may
	 * keep the row back until flush() (m, b and sender stay until
	 * then).  0 or -1.
	 */
	int		 (*insert)(struct rows *, struct box *, struct msg *m,
			    const char *sender, uint64_t *cost);
	/*
	 * Write what insert() kept back (SQLite writes rows several at a
	 * time): before anything else of the commit.  0 or -1.
	 */
	int		 (*flush)(struct rows *);
	/*
	 * Drop b's oldest messages with seq <= upto and ts < before (a
	 * prefix): add their count and cost to *n and *cost, set *first
	 * to the oldest left (0: none).  0 or -1.
	 */
	int		 (*trim)(struct rows *, struct box *, uint64_t upto,
			    uint64_t before, uint64_t *n, uint64_t *cost,
			    uint64_t *first);
	/* As inbox_read(), up to seq upto. */
	int		 (*read)(struct rows *, struct box *, uint64_t after,
			    uint64_t upto, size_t max, size_t bytes,
			    struct msg **out);
	/*
	 * Up to max delivered messages (seq <= their user's cursor as last
	 * saved or set) with ts < before, oldest first: memory in delivery
	 * order, SQLite in the order of its rows (a commit's messages to
	 * one user together), each user's in seq order.  Count or -1.
	 */
	int		 (*oldest)(struct rows *, uint64_t before, size_t max,
			    struct rows_victim *out);
	/* b's cursor moved (memory: its messages become evictable). */
	void		 (*sent)(struct rows *, struct box *, uint64_t cursor);
	/* b goes (its rows, if kept in memory, are already dropped). */
	void		 (*forget)(struct rows *, struct box *);
};

extern const struct rows_ops rows_mem_ops;
extern const struct rows_ops rows_sqlite_ops;
/* The header the memory rows keep in front of each message. */
size_t	inbox_mem_hdr(void);
/* The SQLite rows' handle (for inbox_sqlite()). */
struct sqlite3;
struct sqlite3	*rows_sqlite_db(struct rows *);

#endif /* INBOX_LOCAL_H */
