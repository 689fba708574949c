/*
 * Copyright (c) 2026 The chat authors.
 *
 * store-db: the SQLite backing of the store, private to store.c.  It
 * owns the database handle, the schema and the prepared statements; it
 * knows rows, not retention rules or batches' meaning.
 */
#ifndef STORE_DB_H
#define STORE_DB_H

#include <stddef.h>
#include <stdint.h>

struct db;
struct msg;

/* One user's row in the users table. */
struct db_meta {
	uint64_t	last;		/* newest seq assigned */
	uint64_t	sent;		/* delivery cursor */
	uint64_t	first;		/* oldest seq kept, 0: none */
	uint64_t	n;		/* messages kept */
	uint64_t	bytes;		/* their bytes */
};

/* Open or create; exclusive (a second server fails).  NULL + err. */
struct db	*db_open(const char *path, int sync_full, char *err,
		    size_t errlen);
void	db_close(struct db *);
/* The file's epoch: 16 hex digits, made when the file was. */
const char *db_epoch(const struct db *);
/* The last failure, for logs. */
const char *db_error(struct db *);

int	db_totals(struct db *, uint64_t *n, uint64_t *bytes);

/* Open a transaction if none is (idempotent).  0 or -1. */
int	db_begin(struct db *);
/* Commit the open transaction, if any.  0 or -1 (rolled back). */
int	db_commit(struct db *);
void	db_rollback(struct db *);
int	db_in_txn(const struct db *);

/* 0 found, 1 no such user (*m zeroed), -1 failure. */
int	db_load(struct db *, const char *user, struct db_meta *m);
int	db_save(struct db *, const char *user, const struct db_meta *m);
int	db_insert(struct db *, const char *user, uint64_t seq, uint64_t ts,
	    const char *data, size_t len);
/*
 * Delete user's oldest rows, up to seq upto and up to the first one
 * with ts >= before (a prefix); add how many and their bytes to *n and
 * *bytes, and set *first to the oldest seq left (0: none).  0 or -1.
 */
int	db_trim(struct db *, const char *user, uint64_t upto, uint64_t before,
	    uint64_t *n, uint64_t *bytes, uint64_t *first);
/* As store_read(). */
int	db_read(struct db *, const char *user, uint64_t after, uint64_t upto,
	    size_t max, size_t bytes, struct msg **out);
/*
 * Up to max delivered rows (seq <= the row's user's saved cursor) with
 * ts < before, oldest first: users[i] and seqs[i].  Count or -1.
 */
int	db_oldest(struct db *, uint64_t before, size_t max,
	    char (*users)[65], uint64_t *seqs);

#endif /* STORE_DB_H */
