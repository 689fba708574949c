/*
 * Copyright (c) 2026 The chat authors.
 *
 * rooms-sqlite: memberships in table members(room, user) of the --store
 * file (see rooms.h).  The file and its format belong to the inbox
 * (inbox-sqlite.c makes the table and upgrades older files); this store
 * uses the inbox's connection, since the file is locked for it alone.
 * Everything is read at start.  Joins and leaves are written in one
 * transaction per pass, right after the inbox's commit, when the inbox
 * has none open, and answered once it is durable; a failed write rolls
 * them all back and refuses them (store_unavailable).  Should the inbox
 * have a transaction open anyway, the writes wait for the next pass
 * rather than join it (the inbox may roll its own back).
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "log.h"
#include "rooms.h"
#include "vec.h"

enum { Q_JOIN, Q_LEAVE, Q_BEGIN, Q_COMMIT, Q_ROLLBACK, Q_N };

static const char *const sql[Q_N] = {
	[Q_JOIN] = "INSERT OR IGNORE INTO members(room, user) VALUES (?1, ?2)",
	[Q_LEAVE] = "DELETE FROM members WHERE room = ?1 AND user = ?2",
	[Q_BEGIN] = "BEGIN IMMEDIATE",
	[Q_COMMIT] = "COMMIT",
	[Q_ROLLBACK] = "ROLLBACK"
};

struct put {
	void	*tag;
	int	 join;
	char	 room[CODEC_MAX_ROOM + 1];
	char	 user[CODEC_MAX_USER + 1];
};

struct sq_store {
	struct rooms_store_base		 base;
	struct rooms_store_events	 ev;
	sqlite3				*h;
	sqlite3_stmt			*st[Q_N];
	struct put			*puts;
	size_t				 n, cap;
	int				 waited;	/* said so once */
};

static int
step(struct sq_store *s, int q)
{
	int	r = sqlite3_step(s->st[q]);

	sqlite3_reset(s->st[q]);
	sqlite3_clear_bindings(s->st[q]);
	return r == SQLITE_DONE ? 0 : -1;
}

static int
sq_start(struct rooms_store *st, const struct rooms_store_events *ev,
    char *err, size_t errlen)
{
	struct sq_store	*s = (struct sq_store *)(void *)st;
	sqlite3_stmt	*q;
	int		 r;

	s->ev = *ev;
	if (sqlite3_prepare_v2(s->h, "SELECT room, user FROM members", -1, &q,
	    NULL) != SQLITE_OK) {
		snprintf(err, errlen, "store: cannot read the rooms: %s",
		    sqlite3_errmsg(s->h));
		return -1;
	}
	while ((r = sqlite3_step(q)) == SQLITE_ROW)
		s->ev.set(s->ev.arg, (const char *)sqlite3_column_text(q, 0),
		    (const char *)sqlite3_column_text(q, 1), 1);
	sqlite3_finalize(q);
	if (r != SQLITE_DONE) {
		snprintf(err, errlen, "store: cannot read the rooms: %s",
		    sqlite3_errmsg(s->h));
		return -1;
	}
	s->ev.ready(s->ev.arg, 1);
	return 0;
}

static enum rooms_status
sq_put(struct rooms_store *st, const char *room, const char *user, int join,
    void *tag)
{
	struct sq_store	*s = (struct sq_store *)(void *)st;
	struct put	*p;

	if (vec_grow(&s->puts, &s->cap, s->n + 1, sizeof(*s->puts)) == -1)
		return ROOMS_NOMEM;
	p = &s->puts[s->n++];
	p->tag = tag;
	p->join = join;
	snprintf(p->room, sizeof(p->room), "%s", room);
	snprintf(p->user, sizeof(p->user), "%s", user);
	return ROOMS_PENDING;
}

static void
answer(struct sq_store *s, enum rooms_status st)
{
	struct put	*puts = s->puts;
	size_t		 i, n = s->n;

	/* Answers may put more: take the list first. */
	s->puts = NULL;
	s->n = s->cap = 0;
	for (i = 0; i < n; i++)
		s->ev.done(s->ev.arg, puts[i].tag, st);
	free(puts);
}

static void
sq_commit(struct rooms_store *st)
{
	struct sq_store	*s = (struct sq_store *)(void *)st;
	struct put	*p;
	size_t		 i;
	int		 q;

	if (s->n == 0)
		return;
	if (!sqlite3_get_autocommit(s->h)) {
		if (!s->waited)
			log_debug("store: rooms wait for the inbox's "
			    "transaction");
		s->waited = 1;
		return;
	}
	s->waited = 0;
	if (step(s, Q_BEGIN) == -1)
		goto fail;
	for (i = 0; i < s->n; i++) {
		p = &s->puts[i];
		q = p->join ? Q_JOIN : Q_LEAVE;
		if (sqlite3_bind_text(s->st[q], 1, p->room, -1,
		    SQLITE_STATIC) != SQLITE_OK ||
		    sqlite3_bind_text(s->st[q], 2, p->user, -1,
		    SQLITE_STATIC) != SQLITE_OK || step(s, q) == -1)
			goto fail;
	}
	if (step(s, Q_COMMIT) == -1)
		goto fail;
	answer(s, ROOMS_OK);
	return;
fail:
	log_warn("store: rooms: %s; %zu join(s) or leave(s) refused",
	    sqlite3_errmsg(s->h), s->n);
	if (!sqlite3_get_autocommit(s->h))
		(void)step(s, Q_ROLLBACK);
	answer(s, ROOMS_UNAVAILABLE);
}

static void
sq_close(struct rooms_store *st)
{
	struct sq_store	*s = (struct sq_store *)(void *)st;
	int		 i;

	/* What the last pass asked is written if it can be. */
	if (s->n > 0 && s->ev.done != NULL)
		sq_commit(st);
	if (s->n > 0 && s->ev.done != NULL)
		answer(s, ROOMS_UNAVAILABLE);
	for (i = 0; i < Q_N; i++)
		sqlite3_finalize(s->st[i]);
	free(s->puts);
	free(s);
}

static const struct rooms_store_ops sq_ops = {
	"sqlite", sq_start, sq_put, sq_commit, NULL, sq_close
};

struct rooms_store *
rooms_store_sqlite(sqlite3 *h, char *err, size_t errlen)
{
	struct sq_store	*s;
	int		 i;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		snprintf(err, errlen, "store: out of memory");
		return NULL;
	}
	s->base.ops = &sq_ops;
	s->h = h;
	for (i = 0; i < Q_N; i++) {
		if (sqlite3_prepare_v3(h, sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &s->st[i], NULL) != SQLITE_OK) {
			snprintf(err, errlen, "store: rooms: %s",
			    sqlite3_errmsg(h));
			sq_close((struct rooms_store *)(void *)s);
			return NULL;
		}
	}
	return (struct rooms_store *)(void *)s;
}
