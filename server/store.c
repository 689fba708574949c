/*
 * Copyright (c) 2026 The chat authors.
 *
 * store: inboxes and their retention (see store.h).  This file owns the
 * rules and the in-memory state: one struct inbox per user in use
 * (seq counters, delivery cursor, counts), the open batch, and, without
 * a file, the messages themselves.  With --store, rows live in SQLite
 * (store-db.c) and an inbox here is a cache of its users row, dropped
 * when no one holds it.
 *
 * Retention drops only delivered messages (seq <= the cursor), oldest
 * first: per user beyond --history-limit, all users beyond
 * --history-bytes, and by age.  When nothing can be dropped the new
 * message is refused (STORE_FULL) instead.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "metrics.h"
#include "server.h"
#include "store.h"
#include "store-db.h"
#include "util.h"

#define STORE_BUCKETS	1024	/* grows by doubling at load 1 */
#define EXPIRE_BATCH	256	/* rows looked at per expiry round */
#define EVICT_BATCH	32

/*
 * The memory backing keeps messages themselves: struct msg has the links
 * (inext, sprev/snext, inbox, ts), so keeping one costs no allocation.
 */

struct inbox {
	struct inbox	*hnext;
	struct msg	*head, *tail;	/* memory backing, by seq */
	struct msg	*unsent;	/* first with seq > sent */
	uint64_t	 last;		/* newest seq assigned */
	uint64_t	 committed;	/* newest seq readable */
	uint64_t	 sent;		/* delivery cursor */
	uint64_t	 first, n, bytes; /* kept */
	uint32_t	 holds;
	uint8_t		 in_batch;
	char		 id[];
};

/* An inbox in the open batch, as it was when it joined (rollback). */
struct bent {
	struct inbox	*ib;
	struct db_meta	 snap;
};

struct store {
	struct store_config cfg;
	struct db	*db;		/* NULL: memory backing */
	struct inbox	**tab;
	size_t		 nbuckets, ninbox;
	struct bent	*bat;		/* touched since the last commit */
	size_t		 nbat, capbat;
	uint64_t	 snap_n, snap_bytes;
	struct msg	*shead, *stail;	/* memory: delivered, oldest first */
	uint64_t	 n, bytes;	/* kept, all users */
	char		 epoch[17];	/* memory: made at open */
	int		 failing;	/* the last commit failed */
	int		 batch_failed;	/* the open batch was rolled back */
	uint64_t	 next_expire;	/* wall ms */
	struct metrics_hist commit_us;	/* store_commit() with work */
};

struct store *
store_open(const struct store_config *cfg, char *err, size_t errlen)
{
	struct store	*st;

	if ((st = calloc(1, sizeof(*st))) == NULL ||
	    (st->tab = calloc(STORE_BUCKETS, sizeof(*st->tab))) == NULL) {
		free(st);
		snprintf(err, errlen, "store: out of memory");
		return NULL;
	}
	st->cfg = *cfg;
	st->cfg.path = NULL;	/* the caller's; used only here */
	st->nbuckets = STORE_BUCKETS;
	if (cfg->path == NULL)
		util_random_hex(st->epoch, 8);	/* this run's numbering */
	else {
		if ((st->db = db_open(cfg->path, cfg->sync_full, err,
		    errlen)) == NULL) {
			store_close(st);
			return NULL;
		}
		if (db_totals(st->db, &st->n, &st->bytes) == -1) {
			snprintf(err, errlen, "store '%s': %s", cfg->path,
			    db_error(st->db));
			store_close(st);
			return NULL;
		}
	}
	return st;
}

static struct inbox *
inbox_find(struct store *st, const char *id)
{
	struct inbox	*ib;

	for (ib = st->tab[util_hash_str(id) & (st->nbuckets - 1)]; ib != NULL;
	    ib = ib->hnext)
		if (strcmp(ib->id, id) == 0)
			return ib;
	return NULL;
}

static void
store_grow(struct store *st)
{
	struct inbox	**tab, *ib, *next;
	size_t		  i, n = st->nbuckets * 2, b;

	if ((tab = calloc(n, sizeof(*tab))) == NULL)
		return;		/* longer chains, still correct */
	for (i = 0; i < st->nbuckets; i++) {
		for (ib = st->tab[i]; ib != NULL; ib = next) {
			next = ib->hnext;
			b = util_hash_str(ib->id) & (n - 1);
			ib->hnext = tab[b];
			tab[b] = ib;
		}
	}
	free(st->tab);
	st->tab = tab;
	st->nbuckets = n;
}

/* The inbox of id, loaded or created; NULL if that failed. */
static struct inbox *
inbox_get(struct store *st, const char *id)
{
	struct inbox	*ib;
	struct db_meta	 m;
	size_t		 len = strlen(id), b;

	if ((ib = inbox_find(st, id)) != NULL)
		return ib;
	memset(&m, 0, sizeof(m));
	if (st->db != NULL && db_load(st->db, id, &m) == -1) {
		log_warn("store: %s", db_error(st->db));
		return NULL;
	}
	if ((ib = calloc(1, sizeof(*ib) + len + 1)) == NULL)
		return NULL;
	memcpy(ib->id, id, len + 1);
	ib->last = ib->committed = m.last;
	ib->sent = m.sent;
	ib->first = m.first;
	ib->n = m.n;
	ib->bytes = m.bytes;
	if (st->ninbox >= st->nbuckets)
		store_grow(st);
	b = util_hash_str(id) & (st->nbuckets - 1);
	ib->hnext = st->tab[b];
	st->tab[b] = ib;
	st->ninbox++;
	return ib;
}

/* Take e off the delivered list. */
static void
sent_unlink(struct store *st, struct msg *e)
{
	if (e->sprev != NULL)
		e->sprev->snext = e->snext;
	else
		st->shead = e->snext;
	if (e->snext != NULL)
		e->snext->sprev = e->sprev;
	else
		st->stail = e->sprev;
	e->sprev = e->snext = NULL;
}

static void
sent_push(struct store *st, struct msg *e)
{
	e->snext = NULL;
	e->sprev = st->stail;
	if (st->stail != NULL)
		st->stail->snext = e;
	else
		st->shead = e;
	st->stail = e;
}

/* Drop the oldest message of a memory inbox (a delivered one). */
static void
ent_drop_head(struct store *st, struct inbox *ib)
{
	struct msg	*e = ib->head;

	if ((ib->head = e->inext) == NULL)
		ib->tail = NULL;
	if (ib->unsent == e)
		ib->unsent = e->inext;
	else
		sent_unlink(st, e);
	ib->n--;
	ib->bytes -= e->len;
	st->n--;
	st->bytes -= e->len;
	ib->first = ib->head != NULL ? ib->head->seq : 0;
	e->inext = NULL;
	e->inbox = NULL;
	msg_unref(e);
}

/* Free ib if nothing needs it in memory any more. */
static void
inbox_maybe_free(struct store *st, struct inbox *ib)
{
	struct inbox	**pp;

	if (ib->holds > 0 || ib->in_batch)
		return;
	/*
	 * Without a file an empty inbox goes with its counter: numbering
	 * restarts, which clients see in "resumed" (last < since).
	 */
	if (st->db == NULL && (ib->n > 0 || ib->sent != ib->last))
		return;
	for (pp = &st->tab[util_hash_str(ib->id) & (st->nbuckets - 1)]; *pp != ib;
	    pp = &(*pp)->hnext)
		;
	*pp = ib->hnext;
	st->ninbox--;
	free(ib);
}

static void
snap_take(struct bent *b)
{
	b->snap.last = b->ib->last;
	b->snap.sent = b->ib->sent;
	b->snap.first = b->ib->first;
	b->snap.n = b->ib->n;
	b->snap.bytes = b->ib->bytes;
}

/*
 * List ib with the batch, to be written at its commit (even a batch
 * being rolled back: a cursor moved meanwhile is written at the next
 * one).  0, or -1 without memory.
 */
static int
batch_join(struct store *st, struct inbox *ib)
{
	if (ib->in_batch)
		return 0;
	if (st->nbat == st->capbat) {
		size_t		 ncap = st->capbat ? st->capbat * 2 : 64;
		struct bent	*v;

		if ((v = reallocarray(st->bat, ncap, sizeof(*v))) == NULL)
			return -1;
		st->bat = v;
		st->capbat = ncap;
	}
	if (st->nbat == 0) {
		st->snap_n = st->n;
		st->snap_bytes = st->bytes;
	}
	st->bat[st->nbat].ib = ib;
	snap_take(&st->bat[st->nbat++]);
	ib->in_batch = 1;
	return 0;
}

/* Open the batch for a write to ib.  0, or -1 if it failed. */
static int
batch_touch(struct store *st, struct inbox *ib)
{
	if (st->batch_failed)
		return -1;
	if (st->db != NULL && db_begin(st->db) == -1) {
		log_warn("store: %s", db_error(st->db));
		return -1;
	}
	return batch_join(st, ib);
}

/*
 * A write failed: undo the whole batch.  The delivery cursors stay as
 * they are (they describe what sockets took) and are written again at
 * the next commit; everything else goes back to the batch's start.
 */
static void
batch_fail(struct store *st)
{
	struct bent	*b;
	size_t		 i;

	log_warn("store: %s; the batch is rolled back", db_error(st->db));
	db_rollback(st->db);
	for (i = 0; i < st->nbat; i++) {
		b = &st->bat[i];
		b->ib->last = b->snap.last;
		b->ib->first = b->snap.first;
		b->ib->n = b->snap.n;
		b->ib->bytes = b->snap.bytes;
	}
	st->n = st->snap_n;
	st->bytes = st->snap_bytes;
	st->batch_failed = 1;
}

/* Drop ib's messages with seq <= upto and ts < before. */
static int
trim(struct store *st, struct inbox *ib, uint64_t upto, uint64_t before)
{
	uint64_t	n = 0, bytes = 0, first;

	if (upto > ib->sent)
		upto = ib->sent;	/* never an undelivered one */
	if (ib->n == 0 || ib->first > upto)
		return 0;
	if (st->db == NULL) {
		while (ib->head != NULL && ib->head->seq <= upto &&
		    ib->head->ts < before)
			ent_drop_head(st, ib);
		return 0;
	}
	if (batch_touch(st, ib) == -1)
		return -1;
	if (db_trim(st->db, ib->id, upto, before, &n, &bytes, &first) == -1) {
		batch_fail(st);
		return -1;
	}
	ib->n -= n < ib->n ? n : ib->n;
	ib->bytes -= bytes < ib->bytes ? bytes : ib->bytes;
	ib->first = first;
	st->n -= n < st->n ? n : st->n;
	st->bytes -= bytes < st->bytes ? bytes : st->bytes;
	return 0;
}

/* Write every inbox of the batch to its users row. */
static int
batch_save(struct store *st)
{
	struct inbox	*ib;
	struct db_meta	 m;
	size_t		 i;

	for (i = 0; i < st->nbat; i++) {
		ib = st->bat[i].ib;
		m.last = ib->last;
		m.sent = ib->sent;
		m.first = ib->first;
		m.n = ib->n;
		m.bytes = ib->bytes;
		if (db_save(st->db, ib->id, &m) == -1)
			return -1;
	}
	return 0;
}

/*
 * Make room for len more bytes by dropping the oldest delivered
 * messages of all users.  0 if there is room now.
 */
static int
evict(struct store *st, size_t len)
{
	char		 users[EVICT_BATCH][65];
	uint64_t	 seqs[EVICT_BATCH];
	struct inbox	*ib;
	int		 n, i;

	if (len > st->cfg.history_bytes)
		return -1;	/* could never fit: drop nothing */
	while (st->bytes + len > st->cfg.history_bytes) {
		if (st->db == NULL) {
			if (st->shead == NULL)
				return -1;
			ib = st->shead->inbox;
			ent_drop_head(st, ib);
			inbox_maybe_free(st, ib);
			continue;
		}
		/* The rows must see the cursors moved in this batch. */
		if (st->batch_failed || db_begin(st->db) == -1 ||
		    batch_save(st) == -1)
			return -1;
		if ((n = db_oldest(st->db, UINT64_MAX, EVICT_BATCH, users,
		    seqs)) <= 0)
			return -1;
		for (i = 0; i < n && st->bytes + len >
		    st->cfg.history_bytes; i++) {
			if ((ib = inbox_get(st, users[i])) == NULL ||
			    trim(st, ib, seqs[i], UINT64_MAX) == -1)
				return -1;
			inbox_maybe_free(st, ib);
		}
	}
	return 0;
}

enum store_status
store_next(struct store *st, const char *user, size_t len, int live,
    uint64_t *seq)
{
	struct inbox	*ib;
	enum store_status r = STORE_OK;

	if (st->batch_failed)
		return STORE_UNAVAILABLE;
	if ((ib = inbox_get(st, user)) == NULL)
		return st->db != NULL ? STORE_UNAVAILABLE : STORE_NOMEM;
	ib->holds++;		/* evict() must not free it */
	if (!live && ib->last - ib->sent >= st->cfg.queue_limit)
		r = STORE_FULL;
	else if (ib->n >= st->cfg.history_limit &&
	    (ib->n == 0 || ib->first > ib->sent))
		r = STORE_FULL;		/* all kept ones undelivered */
	else if (evict(st, len) == -1)
		r = st->batch_failed ? STORE_UNAVAILABLE : STORE_FULL;
	ib->holds--;
	*seq = ib->last + 1;
	if (r != STORE_OK)
		inbox_maybe_free(st, ib);
	return r;
}

enum store_status
store_append(struct store *st, const char *user, struct msg *m, uint64_t ts)
{
	struct inbox	*ib;

	if (st->batch_failed)
		return STORE_UNAVAILABLE;
	if ((ib = inbox_get(st, user)) == NULL)
		return st->db != NULL ? STORE_UNAVAILABLE : STORE_NOMEM;
	if (m->seq != ib->last + 1) {
		log_warn("store: %s: seq %llu after %llu", user,
		    (unsigned long long)m->seq, (unsigned long long)ib->last);
		inbox_maybe_free(st, ib);
		return STORE_UNAVAILABLE;
	}
	if (st->db == NULL && m->inbox != NULL) {
		log_warn("store: %s: message already kept", user);
		return STORE_UNAVAILABLE;	/* one inbox per message */
	}
	if (batch_touch(st, ib) == -1) {
		if (!st->batch_failed)
			batch_fail(st);
		return STORE_UNAVAILABLE;
	}
	if (st->db != NULL && db_insert(st->db, user, m->seq, ts, m->data,
	    m->len) == -1) {
		batch_fail(st);
		return STORE_UNAVAILABLE;
	}
	if (st->db == NULL) {
		m->inbox = ib;
		m->ts = ts;
		m->inext = m->sprev = m->snext = NULL;
		msg_ref(m);
		if (ib->tail != NULL)
			ib->tail->inext = m;
		else
			ib->head = m;
		ib->tail = m;
		if (ib->unsent == NULL)
			ib->unsent = m;
	}
	ib->last = m->seq;
	if (ib->n++ == 0)
		ib->first = m->seq;
	ib->bytes += m->len;
	st->n++;
	st->bytes += m->len;
	if (ib->n > st->cfg.history_limit &&
	    trim(st, ib, ib->last - st->cfg.history_limit, UINT64_MAX) == -1)
		return STORE_UNAVAILABLE;
	return STORE_OK;
}

int
store_commit(struct store *st)
{
	struct inbox	*ib;
	size_t		 i, n;
	int		 ok = !st->batch_failed;
	uint64_t	 t0;

	if (st->nbat == 0 && !st->batch_failed &&
	    (st->db == NULL || !db_in_txn(st->db)))
		return 0;
	t0 = util_mono_us();
	if (ok && st->db != NULL && (db_begin(st->db) == -1 ||
	    batch_save(st) == -1 || db_commit(st->db) == -1)) {
		batch_fail(st);
		ok = 0;
	}
	metrics_observe(&st->commit_us, util_mono_us() - t0);
	if (!ok) {
		/*
		 * Keep the inboxes in the batch with fresh snapshots: their
		 * cursors are written at the next try.
		 */
		if (!st->failing)
			log_warn("store: writes fail; refusing new messages "
			    "(store_unavailable) until they work again");
		st->failing = 1;
		st->batch_failed = 0;
		st->snap_n = st->n;
		st->snap_bytes = st->bytes;
		for (i = 0; i < st->nbat; i++)
			snap_take(&st->bat[i]);
		return -1;
	}
	if (st->failing)
		log_warn("store: writes work again");
	st->failing = 0;
	n = st->nbat;
	st->nbat = 0;
	for (i = 0; i < n; i++) {
		ib = st->bat[i].ib;
		ib->in_batch = 0;
		ib->committed = ib->last;
		inbox_maybe_free(st, ib);
	}
	return 0;
}

int
store_failing(const struct store *st)
{
	return st->failing || st->batch_failed;
}

int
store_read(struct store *st, const char *user, uint64_t after,
    uint64_t upto, size_t max, size_t bytes, struct msg **out)
{
	struct inbox	*ib;
	struct msg	*e;
	size_t		 got = 0, sum = 0;
	int		 r;

	if ((ib = inbox_get(st, user)) == NULL)
		return -1;
	if (upto > ib->committed)
		upto = ib->committed;
	if (after >= upto || ib->n == 0) {
		inbox_maybe_free(st, ib);
		return 0;
	}
	if (st->db != NULL) {
		r = db_read(st->db, user, after, upto, max, bytes, out);
		if (r == -1)
			log_warn("store: %s", db_error(st->db));
		inbox_maybe_free(st, ib);
		return r;
	}
	for (e = ib->head; e != NULL && got < max; e = e->inext) {
		if (e->seq <= after)
			continue;
		if (e->seq > upto || (got > 0 && sum + e->len > bytes))
			break;
		out[got++] = msg_ref(e);
		sum += e->len;
	}
	return (int)got;
}

enum peek { PEEK_LAST, PEEK_FIRST, PEEK_SENT };

/* One number of user's inbox (0 if it has none). */
static uint64_t
peek(struct store *st, const char *user, enum peek what)
{
	struct inbox	*ib;
	uint64_t	 v;

	if ((ib = inbox_get(st, user)) == NULL)
		return 0;
	switch (what) {
	case PEEK_LAST:
		v = ib->committed;
		break;
	case PEEK_FIRST:
		v = ib->n > 0 ? ib->first : 0;
		break;
	default:
		v = ib->sent;
		break;
	}
	inbox_maybe_free(st, ib);
	return v;
}

uint64_t
store_last(struct store *st, const char *user)
{
	return peek(st, user, PEEK_LAST);
}

uint64_t
store_first(struct store *st, const char *user)
{
	return peek(st, user, PEEK_FIRST);
}

uint64_t
store_sent(struct store *st, const char *user)
{
	return peek(st, user, PEEK_SENT);
}

void
store_sent_set(struct store *st, const char *user, uint64_t seq)
{
	struct inbox	*ib;
	struct msg	*e, *stop;

	if ((ib = inbox_get(st, user)) == NULL)
		return;
	if (seq > ib->last)
		seq = ib->last;
	if (seq == ib->sent) {
		inbox_maybe_free(st, ib);
		return;
	}
	if (st->db == NULL) {
		if (seq > ib->sent) {
			for (e = ib->unsent; e != NULL && e->seq <= seq;
			    e = e->inext)
				sent_push(st, e);
			ib->unsent = e;
		} else {
			stop = ib->unsent;
			for (e = ib->head; e != NULL && e->seq <= seq;
			    e = e->inext)
				;
			ib->unsent = e;
			for (; e != NULL && e != stop; e = e->inext)
				sent_unlink(st, e);
		}
	} else if (batch_join(st, ib) == -1)
		log_warn("store: %s: out of memory; the delivery cursor may "
		    "not be saved", user);
	ib->sent = seq;
	inbox_maybe_free(st, ib);
}

int
store_hold(struct store *st, const char *user)
{
	struct inbox	*ib;

	if ((ib = inbox_get(st, user)) == NULL)
		return 0;
	if (ib->last == 0) {
		inbox_maybe_free(st, ib);
		return 0;	/* nothing to keep yet */
	}
	ib->holds++;
	return 1;
}

void
store_release(struct store *st, const char *user)
{
	struct inbox	*ib;

	if ((ib = inbox_find(st, user)) == NULL)
		return;
	if (ib->holds > 0)
		ib->holds--;
	inbox_maybe_free(st, ib);
}

void
store_expire(struct store *st, uint64_t now)
{
	char		 users[EXPIRE_BATCH][65];
	uint64_t	 seqs[EXPIRE_BATCH], age, cutoff, period;
	struct inbox	*ib;
	int		 n, i;

	if (st->cfg.history_days <= 0 || now < st->next_expire)
		return;
	age = (uint64_t)(st->cfg.history_days * 86400000.0);
	cutoff = now > age ? now - age : 0;
	/* A tenth of the period, between 1 s and a minute. */
	period = age / 10;
	period = period < 1000 ? 1000 : period > 60000 ? 60000 : period;
	st->next_expire = now + period;
	if (st->db == NULL) {
		/* Delivery order is roughly age order: stop at a young one. */
		for (i = 0; st->shead != NULL && st->shead->ts < cutoff &&
		    i < EXPIRE_BATCH * 16; i++) {
			ib = st->shead->inbox;
			ent_drop_head(st, ib);
			inbox_maybe_free(st, ib);
		}
		return;
	}
	if (st->batch_failed || db_begin(st->db) == -1 ||
	    batch_save(st) == -1)
		return;
	if ((n = db_oldest(st->db, cutoff, EXPIRE_BATCH, users, seqs)) < 0) {
		log_warn("store: %s", db_error(st->db));
		return;
	}
	for (i = 0; i < n; i++) {
		if ((ib = inbox_get(st, users[i])) == NULL ||
		    trim(st, ib, ib->sent, cutoff) == -1)
			return;
		inbox_maybe_free(st, ib);
	}
	if (n == EXPIRE_BATCH)
		st->next_expire = now;	/* more next pass */
}

const char *
store_epoch(const struct store *st)
{
	return st->db != NULL ? db_epoch(st->db) : st->epoch;
}

const char *
store_kind(const struct store *st)
{
	return st->db != NULL ? "sqlite" : "memory";
}

uint64_t
store_count(const struct store *st)
{
	return st->n;
}

uint64_t
store_bytes(const struct store *st)
{
	return st->bytes;
}

void
store_close(struct store *st)
{
	struct inbox	*ib, *next;
	size_t		 i;

	if (st == NULL)
		return;
	if (st->db != NULL && store_commit(st) == -1)
		log_warn("store: the last batch could not be written");
	for (i = 0; st->tab != NULL && i < st->nbuckets; i++) {
		for (ib = st->tab[i]; ib != NULL; ib = next) {
			next = ib->hnext;
			while (ib->head != NULL)
				ent_drop_head(st, ib);
			free(ib);
		}
	}
	free(st->tab);
	free(st->bat);
	db_close(st->db);
	free(st);
}

const struct metrics_hist *
store_commit_latency(const struct store *st)
{
	return &st->commit_us;
}
