/*
 * Copyright (c) 2026 The chat authors.
 *
 * inbox-local: the rules of the inboxes kept by this server alone, over
 * a row store (memory or SQLite, see inbox-local.h).  It owns each
 * user's counters (struct box), the open batch and its rollback,
 * retention, and the quotas on undelivered messages.
 *
 * - Numbering: a message gets its inbox's last seq + 1 at append and is
 *   answered at the pass's commit, once durable (SQLite may put a commit
 *   off to a later pass: put_off()).  A failed SQLite write rolls the
 *   whole batch back (seqs are reused: nobody saw them) and refuses all
 *   of it.
 * - Retention drops only delivered messages (seq <= the cursor, which
 *   moves when a connection has written a message to its socket),
 *   oldest first (as the row store orders them: rows_ops.oldest):
 *   beyond --history-limit per user, beyond --history-bytes in all,
 *   older than --history-days.  When a message would need an
 *   undelivered one dropped, it is refused (INBOX_FULL) instead, unless
 *   it goes to a connection at once (live): online delivery is never
 *   refused for other users' backlog.
 * - Quotas: a message appended while its target is not caught up is
 *   queued, and counts against its target (-Q, --target-bytes) and its
 *   sender (--sender-limit, --sender-bytes) until the target's cursor
 *   passes it, so that one client's flood cannot fill the store for
 *   everyone.
 * - Memory: the memory store counts what it really holds (each message
 *   with its header, each inbox with its user), so --history-bytes
 *   bounds the process's size; SQLite counts bytes in the file.
 * - Epochs: a file's epoch names its numbering; in memory each inbox's
 *   numbering gets its own (a new one when an emptied inbox is
 *   forgotten and made again), so a seq is never reused under one epoch.
 * - Holds: a held user (online here) keeps its inbox's numbering.  An
 *   inbox that has given out no seq yet is forgotten all the same, its
 *   numbering kept in the user (ib_gen) for when it is made again: an
 *   idle online user costs no struct box (bench/README.md, "Memory per
 *   idle connection").  A file's box is kept while held, as a cache.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hist.h"
#include "inbox-local.h"
#include "log.h"
#include "msg.h"
#include "users.h"
#include "util.h"
#include "vec.h"

#define EXPIRE_BATCH	256	/* messages looked at per expiry round */
#define EVICT_BATCH	32
#define APPEND_SLACK	64	/* estimate of a row's cost beyond its text */
#define PEND_KEEP	4096	/* most entries a kept list may have room for */
#define CLOSE_COMMITS	4	/* commits at close, for appends in answers */

/* A message queued when appended, until its target's cursor passes it. */
struct qent {
	struct qent	*next;
	struct user	*from;		/* referenced; NULL: not known */
	uint64_t	 seq, cost;
};

/*
 * With SQLite, a message over --history-limit leaves the user's
 * counters at once (first, n: its seqs have no gaps, so first..upto is
 * what goes) and the file later, in a drop round: every DROP_EVERY
 * commits, or at the first pass DROP_MS after the last round, one
 * commit deletes the rows of every user with some to go (ib->todrop),
 * one DELETE each.  Deleting at each commit touched a page for nearly
 * every row it deleted: a user's rows are one per commit, each among
 * the other users' rows of its commit, and users drop them at
 * different commits.  A round deletes the rows of many commits
 * together, so their pages empty at once: chat50 --store went from
 * 180 to 76 WAL pages a commit (a round's own commit more), 3.4 to
 * 2.9 us a message and 290k to 357k msgs/s (bench/RESULTS.md,
 * 2026-12-05, "Drop rounds").  box->pfirst says which rows the file
 * still holds below first.  Until deleted they count in the bytes (the
 * users row's and --history-bytes', as in the file: what a row frees
 * is known only when it goes) and are never read; eviction runs a
 * round before it looks for victims (while --history-bytes binds, that
 * is a round at every commit, as before rounds), and age retention
 * deletes a user's first, so neither ever drops a kept message for
 * them.  A user in a round is kept in memory until the round's commit.
 * After a crash the users row says first and the file may hold older
 * rows: a loaded box does not know (pfirst 0) and deletes them at its
 * first commit.
 */
#define DROP_EVERY	16
#define DROP_MS		1000

/* A box in the open batch: its counters at the batch's start. */
struct bent {
	struct box	*b;
	struct rows_meta snap;
	uint64_t	 pfirst;
};

/*
 * An append waiting for the commit.  A persistent store writes its row
 * only then (b, from): the write transaction lasts from the commit's
 * BEGIN to its COMMIT, never across a pass, so that between passes the
 * checkpointer can catch up and SQLite can start its log over (it does
 * so only at a transaction that begins with nothing left to copy).
 */
struct pend {
	void		*tag;
	struct msg	*m;
	struct box	*b;		/* persistent: the row's user */
	struct user	*from;		/* ...and its sender (referenced) */
};

struct inbox {
	struct inbox_base	 base;
	struct inbox_config	 cfg;
	const struct rows_ops	*ro;
	struct rows		*rows;
	struct bent		 *bat;		/* joined the open batch */
	size_t			  nbat, capbat;
	struct pend		*pend;
	size_t			  npend, cappend;
	uint64_t		  snap_n, snap_bytes;
	uint64_t		  n, bytes;	/* kept, all users */
	uint64_t		  gen;		/* memory: numberings made */
	uint64_t		  seed;		/* memory: this run's */
	int			  failing;	/* the last commit failed */
	int			  batch_failed;	/* the open batch was undone */
	int			  closing;	/* the last commit: delete all */
	int			  closed;	/* past it: appends refused */
	uint64_t		  next_expire;
	uint64_t		  refused_full, commits, commit_us;
	struct hist		  latency;	/* commits with work */
	struct box		 *boxes;	/* all of them, for close */
	/* SQLite: users with rows to drop, and the rounds (DROP_EVERY). */
	struct box		**todrop;
	size_t			  ntodrop, captodrop;
	unsigned		  drop_every, drop_commits;
	int			  dropping;	/* the batch is a round */
	uint64_t		  drop_ms, now_ms;	/* last round, last tick */
	/* SQLite: the pacing of commits (commit_delay_us). */
	int			  begun;	/* a transaction is open */
	uint64_t		  commit_at;	/* the last one's start, us */
	uint64_t		  due_at;	/* one put off: when; 0: none */
};

static const struct inbox_ops local_ops;

static void	box_maybe_free(struct inbox *, struct box *);

/* ---- quotas ---- */

static void
qent_drop(struct inbox *ib, struct box *b, struct qent *q)
{
	if (q->from != NULL) {
		q->from->q_msgs--;
		q->from->q_bytes -= q->cost;
		user_unref(ib->base.users, q->from);
	}
	b->qbytes -= q->cost;
	if (!ib->ro->persistent)
		ib->bytes -= sizeof(*q) + 16;
	free(q);
}

static int
qent_add(struct inbox *ib, struct box *b, struct user *from, uint64_t seq,
    uint64_t cost)
{
	struct qent	*q;

	if ((q = calloc(1, sizeof(*q))) == NULL)
		return -1;
	q->seq = seq;
	q->cost = cost;
	if ((q->from = from) != NULL) {
		user_ref(from);
		from->q_msgs++;
		from->q_bytes += cost;
	}
	b->qbytes += cost;
	if (!ib->ro->persistent)
		ib->bytes += sizeof(*q) + 16;
	if (b->qtail != NULL)
		b->qtail->next = q;
	else
		b->qhead = q;
	b->qtail = q;
	return 0;
}

/* The target's cursor passed them (or they were undone): release. */
static void
qent_release(struct inbox *ib, struct box *b, uint64_t upto)
{
	struct qent	*q;

	while ((q = b->qhead) != NULL && q->seq <= upto) {
		if ((b->qhead = q->next) == NULL)
			b->qtail = NULL;
		qent_drop(ib, b, q);
	}
}

/* Undo the entries past seq last (a batch rolled back). */
static void
qent_undo(struct inbox *ib, struct box *b, uint64_t last)
{
	struct qent	**pp, *q;

	for (pp = &b->qhead; *pp != NULL && (*pp)->seq <= last;
	    pp = &(*pp)->next)
		;
	b->qtail = NULL;
	for (q = b->qhead; q != NULL && q->seq <= last; q = q->next)
		b->qtail = q;
	while ((q = *pp) != NULL) {
		*pp = q->next;
		qent_drop(ib, b, q);
	}
}

/* ---- boxes ---- */

static uint64_t
box_ram(const struct inbox *ib, const struct box *b)
{
	return ib->ro->persistent ? 0 :
	    ib->ro->box_cost + users_cost(b->u->id);
}

/* u's box, loaded or made; NULL if that failed (logged). */
static struct box *
box_get(struct inbox *ib, struct user *u)
{
	struct box	*b;
	int		 r;

	if (u->box != NULL)
		return u->box;
	if ((b = calloc(1, sizeof(*b))) == NULL)
		return NULL;
	b->u = u;
	if ((r = ib->ro->load(ib->rows, b, &b->m)) == -1) {
		log_warn("store: %s", ib->ro->error(ib->rows));
		free(b);
		return NULL;
	}
	b->committed = b->m.last;
	/* Rows below first may be in the file (DROP_EVERY): not known. */
	b->pfirst = b->m.last == 0 ? 1 : 0;
	/* In memory a new box is a new numbering (see the top). */
	if (!ib->ro->persistent) {
		b->gen = u->ib_gen != 0 ? u->ib_gen : ++ib->gen;
		u->ib_gen = 0;
	}
	u->box = b;
	user_ref(u);
	ib->bytes += box_ram(ib, b);
	if ((b->bnext = ib->boxes) != NULL)
		ib->boxes->bprev = b;
	ib->boxes = b;
	return b;
}

static int
box_needed(const struct inbox *ib, const struct box *b)
{
	if (b->holds > 0 || b->bidx != 0 || b->qhead != NULL || b->todrop)
		return 1;
	if (ib->ro->persistent)
		return b->u->ib_holds > 0;
	/*
	 * In memory the counters go with the last message, and a held
	 * user's numbering stays once it has given out a seq; before, its
	 * number waits in the user (box_unlink()).
	 */
	return b->m.n > 0 || b->m.cursor != b->m.last ||
	    (b->u->ib_holds > 0 && b->m.last != 0);
}

/* Take b off the list and free it (its rows already forgotten). */
static void
box_unlink(struct inbox *ib, struct box *b)
{
	struct user	*u = b->u;

	if (b->bprev != NULL)
		b->bprev->bnext = b->bnext;
	else
		ib->boxes = b->bnext;
	if (b->bnext != NULL)
		b->bnext->bprev = b->bprev;
	ib->bytes -= box_ram(ib, b);
	/*
	 * Held, and no seq was given under it: made again, it keeps its
	 * name, which the user's connections may have been told.
	 */
	if (!ib->ro->persistent)
		u->ib_gen = b->m.last == 0 && u->ib_holds > 0 ? b->gen : 0;
	u->box = NULL;
	free(b);
	user_unref(ib->base.users, u);
}

static void
box_maybe_free(struct inbox *ib, struct box *b)
{
	if (box_needed(ib, b))
		return;
	ib->ro->forget(ib->rows, b);
	box_unlink(ib, b);
}

static void
box_epoch(const struct inbox *ib, const struct box *b, char *out)
{
	const char	*e = ib->ro->epoch(ib->rows);
	uint64_t	 x;

	if (e != NULL) {
		snprintf(out, 17, "%s", e);
		return;
	}
	/* splitmix64 of this run's seed and the numbering's number. */
	x = ib->seed + b->gen * 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	x ^= x >> 31;
	snprintf(out, 17, "%016llx", (unsigned long long)x);
}

/* ---- the batch ---- */

/*
 * b joins the open batch, to be written at its commit (even a batch
 * being rolled back: a cursor moved meanwhile is written at the next
 * one).  Joining writes nothing, so it begins no transaction: every
 * write (the commit, a trim, eviction, expiry) calls begin() itself,
 * also after a failed commit that left the boxes in the batch and the
 * transaction gone, so that no row is ever written outside one and
 * durable out of reach of the next rollback.  0, or -1 (no memory).
 */
static int
batch_join(struct inbox *ib, struct box *b)
{
	struct bent	*e;

	if (b->bidx != 0)
		return 0;
	if (vec_grow(&ib->bat, &ib->capbat, ib->nbat + 1, sizeof(*ib->bat)) ==
	    -1)
		return -1;
	if (ib->nbat == 0) {
		ib->snap_n = ib->n;
		ib->snap_bytes = ib->bytes;
	}
	e = &ib->bat[ib->nbat++];
	e->b = b;
	e->snap = b->m;
	e->pfirst = b->pfirst;
	b->bidx = (uint32_t)ib->nbat;
	return 0;
}

/*
 * Delete the rows b's counters dropped (see DROP_EVERY): with force or
 * in a round, else only if b waits for none (it could not be listed,
 * or was loaded not knowing).  What they free is known only now.  b
 * must be in the batch, a transaction open.  0 or -1.
 */
static int
drop_rows(struct inbox *ib, struct box *b, int force)
{
	uint64_t	 upto, n = 0, cost = 0, first = 0;

	if (!ib->ro->persistent)
		return 0;
	upto = b->m.n > 0 ? b->m.first - 1 : b->m.last;
	if (b->pfirst != 0 && (upto < b->pfirst ||
	    (!force && !ib->dropping && b->todrop)))
		return 0;
	if (ib->ro->trim(ib->rows, b, upto, UINT64_MAX, &n, &cost,
	    &first) == -1)
		return -1;
	b->pfirst = upto + 1;
	b->m.bytes -= cost < b->m.bytes ? cost : b->m.bytes;
	ib->bytes -= cost < ib->bytes ? cost : ib->bytes;
	return 0;
}


/*
 * A write failed: undo the whole batch.  The cursors stay as they are
 * (they say what sockets took) and are written again at the next
 * commit; everything else goes back to the batch's start.
 */
static void
batch_fail(struct inbox *ib)
{
	struct box	*b;
	size_t		 i;

	log_warn("store: %s; the batch is rolled back",
	    ib->ro->error(ib->rows));
	ib->ro->rollback(ib->rows);
	for (i = 0; i < ib->nbat; i++) {
		b = ib->bat[i].b;
		qent_undo(ib, b, ib->bat[i].snap.last);
		ib->bat[i].snap.cursor = b->m.cursor;
		b->m = ib->bat[i].snap;
		b->pfirst = ib->bat[i].pfirst;
	}
	ib->n = ib->snap_n;
	ib->bytes = ib->snap_bytes;
	ib->batch_failed = 1;
}

/*
 * Drop b's delivered messages with seq <= upto and ts < before.  With
 * defer (and no age bound), a persistent store drops them from the
 * counters now and from the rows later (DROP_EVERY).
 */
/*
 * Open the write transaction before the commit (a read that needs the
 * batch's cursors, a delete): the commit then comes at this pass's end,
 * never put off, so that no transaction lasts across passes.
 */
static int
batch_begin(struct inbox *ib)
{
	ib->begun = 1;
	return ib->ro->begin(ib->rows);
}

static int
trim(struct inbox *ib, struct box *b, uint64_t upto, uint64_t before,
    int defer)
{
	uint64_t	 n = 0, cost = 0, first = 0;

	if (upto > b->m.cursor)
		upto = b->m.cursor;	/* never an undelivered one */
	defer = defer && before == UINT64_MAX;
	if (ib->ro->persistent && ((b->m.n > 0 && b->m.first <= upto) ||
	    !defer)) {
		if (batch_join(ib, b) == -1 || (!defer &&
		    (batch_begin(ib) == -1 ||
		    drop_rows(ib, b, 1) == -1))) {
			batch_fail(ib);
			return -1;
		}
	}
	if (b->m.n == 0 || b->m.first > upto)
		return 0;
	if (ib->ro->persistent && defer) {
		n = upto - b->m.first + 1;
		if (n > b->m.n)
			n = b->m.n;
		b->m.n -= n;
		b->m.first = b->m.n > 0 ? upto + 1 : 0;
		ib->n -= n < ib->n ? n : ib->n;
		/*
		 * Its rows wait for the next round; if it cannot be listed
		 * (no memory), they go at this commit (drop_rows()).
		 */
		if (!b->todrop && vec_grow(&ib->todrop, &ib->captodrop,
		    ib->ntodrop + 1, sizeof(*ib->todrop)) == 0) {
			ib->todrop[ib->ntodrop++] = b;
			b->todrop = 1;
		}
		return 0;
	}
	if (ib->ro->trim(ib->rows, b, upto, before, &n, &cost, &first) == -1) {
		batch_fail(ib);
		return -1;
	}
	/*
	 * The file holds no row below first now (drop_rows() above), nor
	 * the rows of this pass (written at its commit), so what went is
	 * first and the n after it: the file's own min(seq) would miss
	 * the pass's rows.
	 */
	if (ib->ro->persistent)
		first = n < b->m.n ? b->m.first + n : 0;
	b->m.n -= n < b->m.n ? n : b->m.n;
	b->m.bytes -= cost < b->m.bytes ? cost : b->m.bytes;
	b->m.first = first;
	ib->n -= n < ib->n ? n : ib->n;
	ib->bytes -= cost < ib->bytes ? cost : ib->bytes;
	if (ib->ro->persistent)
		b->pfirst = b->m.n > 0 ? b->m.first : b->m.last + 1;
	return 0;
}

/*
 * Make the open batch a drop round: every listed user joins it, and
 * its rows go at the commit (batch_save()).  0 or -1 (no memory).
 */
static int
drop_round(struct inbox *ib)
{
	size_t	i;

	for (i = 0; i < ib->ntodrop; i++)
		if (batch_join(ib, ib->todrop[i]) == -1)
			return -1;
	ib->dropping = ib->ntodrop > 0;
	return 0;
}

/* The round's commit went through: nobody waits any more. */
static void
drop_done(struct inbox *ib)
{
	size_t	i;

	for (i = 0; i < ib->ntodrop; i++)
		ib->todrop[i]->todrop = 0;
	ib->ntodrop = 0;
	ib->dropping = 0;
	ib->drop_commits = 0;
	ib->drop_ms = ib->now_ms;
}

/*
 * Delete the batch's dropped rows and write every box of the batch to
 * its users row (SQLite).
 */
static int
batch_save(struct inbox *ib)
{
	size_t	i;

	for (i = 0; i < ib->nbat; i++)
		if (drop_rows(ib, ib->bat[i].b, ib->closing) == -1 ||
		    ib->ro->save(ib->rows, ib->bat[i].b) == -1)
			return -1;
	return 0;
}

/* Write the batch's messages (persistent stores).  0 or -1. */
static int
batch_insert(struct inbox *ib)
{
	const struct pend	*p;
	uint64_t		 cost;
	size_t			 i;

	for (i = 0; i < ib->npend; i++) {
		p = &ib->pend[i];
		if (p->b != NULL && ib->ro->insert(ib->rows, p->b, p->m,
		    p->from != NULL ? p->from->id : "", &cost) == -1)
			return -1;
	}
	return ib->ro->flush != NULL ? ib->ro->flush(ib->rows) : 0;
}

/*
 * Make room for need more bytes by dropping the oldest delivered
 * messages of all users.  0 if there is room now.
 */
static int
evict(struct inbox *ib, uint64_t need)
{
	struct rows_victim	 v[EVICT_BATCH];
	struct user		*u;
	struct box		*b;
	uint64_t		 before;
	int			 n, i;
	/*
	 * In memory, finding a victim reads its old message (a cache miss
	 * each), and an append mostly needs one or two: ask for two, then
	 * twice as many each time that was not enough.  A file is asked
	 * for a whole batch (one query).
	 */
	size_t			 want = ib->ro->persistent ? EVICT_BATCH : 2;

	if (need > ib->cfg.history_bytes)
		return -1;	/* could never fit: drop nothing */
	while (ib->bytes + need > ib->cfg.history_bytes) {
		/*
		 * The rows must see the cursors moved in this batch, and
		 * what it dropped counts only once deleted.
		 */
		if (ib->ro->persistent && (ib->batch_failed ||
		    drop_round(ib) == -1 || batch_begin(ib) == -1 ||
		    batch_save(ib) == -1))
			return -1;
		if (ib->bytes + need <= ib->cfg.history_bytes)
			break;
		if ((n = ib->ro->oldest(ib->rows, UINT64_MAX, want, v)) <= 0)
			return -1;
		if (want < EVICT_BATCH)
			want *= 2;
		before = ib->bytes;
		for (i = 0; i < n && ib->bytes + need >
		    ib->cfg.history_bytes; i++) {
			if ((b = v[i].box) == NULL &&
			    ((u = users_get(ib->base.users, v[i].user)) ==
			    NULL || (b = box_get(ib, u)) == NULL))
				return -1;
			if (trim(ib, b, v[i].seq, UINT64_MAX, 0) == -1)
				return -1;
			box_maybe_free(ib, b);
		}
		if (ib->bytes >= before)
			return -1;	/* nothing could go */
	}
	return 0;
}

/* ---- the interface ---- */

static enum inbox_status
local_append(struct inbox *ib, struct user *to, struct user *from,
    struct msg *m, int live, void *tag)
{
	const struct inbox_config *cfg = &ib->cfg;
	struct box	*b;
	uint64_t	 seq, cost = 0, need;
	enum inbox_status r = INBOX_OK;

	if (ib->batch_failed || ib->closed)
		return INBOX_UNAVAILABLE;
	/* What it will cost, as the row store counts (SQLite: its text). */
	need = ib->ro->persistent ? m->len + MSG_SEQ_ROOM :
	    msg_cost(m) + APPEND_SLACK;
	if (vec_grow(&ib->pend, &ib->cappend, ib->npend + 1,
	    sizeof(*ib->pend)) == -1)
		return INBOX_NOMEM;
	if ((b = box_get(ib, to)) == NULL)
		return ib->ro->persistent ? INBOX_UNAVAILABLE : INBOX_NOMEM;
	b->holds++;		/* evict() must not free it */
	if (!live && (b->m.last - b->m.cursor >= cfg->queue_limit ||
	    b->qbytes + need > cfg->target_bytes ||
	    (from != NULL && (from->q_msgs >= cfg->sender_limit ||
	    from->q_bytes + need > cfg->sender_bytes))))
		r = INBOX_FULL;
	else if (b->m.n >= cfg->history_limit && b->m.first > b->m.cursor)
		r = INBOX_FULL;		/* all kept ones undelivered */
	else if (evict(ib, need) == -1 && !live)
		r = ib->batch_failed ? INBOX_UNAVAILABLE : INBOX_FULL;
	else if (ib->batch_failed)
		r = INBOX_UNAVAILABLE;
	b->holds--;
	if (r != INBOX_OK) {
		if (r == INBOX_FULL)
			ib->refused_full++;
		box_maybe_free(ib, b);
		return r;
	}
	seq = b->m.last + 1;
	if (msg_set_seq(m, seq) == -1) {
		box_maybe_free(ib, b);
		return INBOX_NOMEM;
	}
	m->prev = b->m.last;
	if (batch_join(ib, b) == -1) {
		box_maybe_free(ib, b);
		return INBOX_NOMEM;
	}
	/* A persistent store counts the row's text, written at the commit. */
	if (ib->ro->persistent)
		cost = m->len;
	else if (ib->ro->insert(ib->rows, b, m, from != NULL ? from->id : "",
	    &cost) == -1)
		return INBOX_NOMEM;
	b->m.last = seq;
	if (b->m.n++ == 0)
		b->m.first = seq;
	b->m.bytes += cost;
	ib->n++;
	ib->bytes += cost;
	if (!live && qent_add(ib, b, from, seq, cost) == -1)
		log_warn("store: out of memory counting a message for %s",
		    to->id);
	if (b->m.n > cfg->history_limit &&
	    trim(ib, b, b->m.last - cfg->history_limit, UINT64_MAX, 1) == -1)
		return INBOX_UNAVAILABLE;
	ib->pend[ib->npend].tag = tag;
	ib->pend[ib->npend].m = msg_ref(m);
	ib->pend[ib->npend].b = ib->ro->persistent ? b : NULL;
	if ((ib->pend[ib->npend].from = ib->ro->persistent ? from : NULL) !=
	    NULL)
		user_ref(from);
	ib->npend++;
	return INBOX_PENDING;
}

static void
pend_release(struct inbox *ib, struct pend *p)
{
	msg_unref(p->m);
	if (p->from != NULL)
		user_unref(ib->base.users, p->from);
}

/*
 * The commit's list of appends, answered: it is the next pass's, unless
 * the answers began another (then that one stays) or it grew past
 * PEND_KEEP.  Growing a list from nothing at every pass took a realloc
 * a time it grew, and one of a large size made malloc consolidate its
 * free small chunks: 1.2% of chat500's CPU.
 */
static void
pend_keep(struct inbox *ib, struct pend *pend, size_t cap)
{
	if (ib->pend != NULL || cap > PEND_KEEP) {
		free(pend);
		return;
	}
	ib->pend = pend;
	ib->cappend = cap;
}

/*
 * Put the batch's commit off (1) while the last one started less than
 * commit_delay_us ago, unless it must go now: the last one (close), a
 * drop round, or a transaction this pass opened (no transaction lasts
 * across passes: see struct pend).  A commit costs SQLite about as much
 * for one message as for ten (a transaction with its WAL frames, locks
 * and one page per b-tree it touches): at a fixed 10,000 msgs/s, one
 * or two messages a pass, it was 3.6 WAL pages and 34 us a commit, and
 * 54-64 us of server CPU a message against the memory store's 15-19.
 * Spacing commits 250 us apart took 15-20% off that (500 us: 30%) for
 * a median answer 120 us later (bench/RESULTS.md, 2026-12-06, "Paced
 * commits").  But a sender that waits for each answer before its next
 * message waits for the delay too: one such pair went from 16-18k to 6k
 * msgs/s, eight from 52-57k to 39k.  The server cannot tell the two
 * apart, so the delay is off by default (--store-delay).  Under a heavy
 * load a pass's commit outlasts the delay, and at a low rate the last
 * commit is older: neither waits.
 */
static int
put_off(struct inbox *ib, uint64_t now)
{
	uint64_t	delay = ib->cfg.commit_delay_us;

	if (delay == 0 || ib->closing || ib->dropping || ib->begun ||
	    now - ib->commit_at >= delay)
		return 0;
	ib->due_at = ib->commit_at + delay;
	return 1;
}

static uint64_t
local_due(const struct inbox *ib)
{
	return ib->due_at;
}

static void
local_commit(struct inbox *ib)
{
	struct pend	*pend;
	struct box	*b;
	size_t		 i, n, npend, cap;
	uint64_t	 t0;
	int		 ok = !ib->batch_failed;

	if (ib->nbat == 0 && !ib->batch_failed) {
		/*
		 * A read that needed the cursors (expiry, eviction) may have
		 * begun a transaction that wrote nothing: end it, so that
		 * the file's other tables (rooms-sqlite.c) can be written
		 * after this commit.  A no-op without one.
		 */
		ib->begun = 0;
		if (ib->ro->persistent && ib->ro->commit(ib->rows) == -1)
			log_warn("store: %s", ib->ro->error(ib->rows));
		return;
	}
	/*
	 * The memory store writes nothing: its commits are counted as
	 * 0 us, sparing two clock reads a pass.
	 */
	t0 = 0;
	if (ib->ro->persistent) {
		t0 = util_mono_us();
		if (ok && put_off(ib, t0))
			return;
		/*
		 * Not a round (no memory, or a failed batch, which writes
		 * nothing): the rows wait for the next commit.
		 */
		if (ok && ib->ntodrop > 0 && !ib->dropping &&
		    ++ib->drop_commits >= ib->drop_every)
			(void)drop_round(ib);
		ib->commit_at = t0;
		ib->due_at = 0;
		if (ok && (ib->ro->begin(ib->rows) == -1 ||
		    batch_insert(ib) == -1 || batch_save(ib) == -1 ||
		    ib->ro->commit(ib->rows) == -1)) {
			batch_fail(ib);
			ok = 0;
		}
		ib->begun = 0;
		t0 = util_mono_us() - t0;
	}
	ib->commits++;
	ib->commit_us += t0;
	hist_observe(&ib->latency, t0);
	/* Answers below may lead to more calls: take the list first. */
	pend = ib->pend;
	npend = ib->npend;
	cap = ib->cappend;
	ib->pend = NULL;
	ib->npend = ib->cappend = 0;
	if (!ok) {
		/*
		 * Keep the boxes in the batch with fresh snapshots: their
		 * cursors are written at the next try.
		 */
		if (!ib->failing)
			log_warn("store: writes fail; refusing new messages "
			    "(store_unavailable) until they work again");
		ib->failing = 1;
		ib->batch_failed = 0;
		ib->snap_n = ib->n;
		ib->snap_bytes = ib->bytes;
		for (i = 0; i < ib->nbat; i++)
			ib->bat[i].snap = ib->bat[i].b->m;
		for (i = 0; i < npend; i++) {
			ib->base.ev.appended(ib->base.ev.arg, pend[i].tag,
			    INBOX_UNAVAILABLE, NULL);
			pend_release(ib, &pend[i]);
		}
		pend_keep(ib, pend, cap);
		return;
	}
	if (ib->failing)
		log_warn("store: writes work again");
	ib->failing = 0;
	if (ib->dropping)
		drop_done(ib);
	n = ib->nbat;
	ib->nbat = 0;
	for (i = 0; i < n; i++) {
		b = ib->bat[i].b;
		b->bidx = 0;
		b->committed = b->m.last;
	}
	for (i = 0; i < n; i++)
		box_maybe_free(ib, ib->bat[i].b);
	for (i = 0; i < npend; i++) {
		ib->base.ev.appended(ib->base.ev.arg, pend[i].tag, INBOX_OK,
		    pend[i].m);
		pend_release(ib, &pend[i]);
	}
	pend_keep(ib, pend, cap);
}

static enum inbox_status
local_read(struct inbox *ib, struct user *u, uint64_t after, size_t max,
    size_t bytes, struct msg **out, size_t *np, void *tag)
{
	struct box	*b;
	int		 r;

	*np = 0;
	if ((b = box_get(ib, u)) == NULL)
		return ib->ro->persistent ? INBOX_UNAVAILABLE : INBOX_NOMEM;
	if (after >= b->committed || b->m.n == 0 || max == 0) {
		box_maybe_free(ib, b);
		return INBOX_OK;
	}
	/* Rows dropped but not yet deleted (DROP_EVERY) are not read. */
	if (after + 1 < b->m.first)
		after = b->m.first - 1;
	r = ib->ro->read(ib->rows, b, after, b->committed, max, bytes, out);
	if (r == -1)
		log_warn("store: %s", ib->ro->error(ib->rows));
	box_maybe_free(ib, b);
	if (r == -1)
		return INBOX_UNAVAILABLE;
	*np = (size_t)r;
	return INBOX_OK;
}

static enum inbox_status
local_info(struct inbox *ib, struct user *u, struct inbox_info *out,
    void *tag)
{
	struct box	*b;

	memset(out, 0, sizeof(*out));
	if ((b = box_get(ib, u)) == NULL)
		return ib->ro->persistent ? INBOX_UNAVAILABLE : INBOX_NOMEM;
	out->first = b->m.n > 0 ? b->m.first : 0;
	out->last = b->committed;
	out->cursor = b->m.cursor < b->committed ? b->m.cursor : b->committed;
	box_epoch(ib, b, out->epoch);
	box_maybe_free(ib, b);
	return INBOX_OK;
}

static void
local_cursor(struct inbox *ib, struct user *u, uint64_t seq)
{
	struct box	*b;

	if ((b = box_get(ib, u)) == NULL)
		return;
	if (seq > b->committed)
		seq = b->committed;
	if (seq <= b->m.cursor) {
		box_maybe_free(ib, b);
		return;
	}
	b->m.cursor = seq;
	qent_release(ib, b, seq);
	ib->ro->sent(ib->rows, b, seq);
	if (ib->ro->persistent && batch_join(ib, b) == -1)
		log_warn("store: %s: the cursor may not be saved", u->id);
	box_maybe_free(ib, b);
}

static void
local_hold(struct inbox *ib, struct user *u, int on)
{
	struct box	*b;

	/* The router holds a user once; the count only guards misuse. */
	if (on) {
		if (u->ib_holds == UINT8_MAX)
			return;
		if (u->ib_holds++ == 0)
			user_ref(u);
		/* A file's box is loaded now, and kept while held. */
		if (ib->ro->persistent)
			(void)box_get(ib, u);
		return;
	}
	if (u->ib_holds == 0)
		return;
	if (--u->ib_holds == 0)
		u->ib_gen = 0;		/* an unheld numbering is not kept */
	if ((b = u->box) != NULL)
		box_maybe_free(ib, b);
	if (u->ib_holds == 0)
		user_unref(ib->base.users, u);
}

/* At close: u is held no more, and its numbering is this inbox's. */
static void
hold_drop(struct user *u, void *arg)
{
	struct inbox	*ib = arg;

	u->ib_gen = 0;
	if (u->ib_holds > 0) {
		u->ib_holds = 0;
		user_unref(ib->base.users, u);
	}
}

static void
local_tick(struct inbox *ib, uint64_t now_mono)
{
	struct rows_victim	 v[EXPIRE_BATCH];
	struct user		*u;
	struct box		*b;
	uint64_t		 now, age, cutoff, period;
	int			 n, i;

	/* A round DROP_MS after the last, at this pass's commit. */
	ib->now_ms = now_mono;
	if (ib->ntodrop > 0 && !ib->dropping && !ib->batch_failed &&
	    now_mono >= ib->drop_ms + DROP_MS)
		(void)drop_round(ib);
	/* Every pass: no clock read without an age limit (the default). */
	if (ib->cfg.history_days <= 0 || (now = util_wall_ms()) <
	    ib->next_expire)
		return;
	age = (uint64_t)(ib->cfg.history_days * 86400000.0);
	cutoff = now > age ? now - age : 0;
	/* A tenth of the period, between 1 s and a minute. */
	period = age / 10;
	period = period < 1000 ? 1000 : period > 60000 ? 60000 : period;
	ib->next_expire = now + period;
	if (ib->ro->persistent && (ib->batch_failed ||
	    batch_begin(ib) == -1 || batch_save(ib) == -1))
		return;
	if ((n = ib->ro->oldest(ib->rows, cutoff, EXPIRE_BATCH, v)) < 0) {
		log_warn("store: %s", ib->ro->error(ib->rows));
		return;
	}
	for (i = 0; i < n; i++) {
		if ((b = v[i].box) == NULL &&
		    ((u = users_get(ib->base.users, v[i].user)) == NULL ||
		    (b = box_get(ib, u)) == NULL))
			return;
		if (trim(ib, b, v[i].seq, cutoff, 0) == -1)
			return;
		box_maybe_free(ib, b);
	}
	if (n == EXPIRE_BATCH)
		ib->next_expire = now;	/* more next pass */
}

static void
local_stats(const struct inbox *ib, struct inbox_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->kind = ib->ro->kind;
	st->ok = !ib->failing && !ib->batch_failed;
	st->messages = ib->n;
	st->bytes = ib->bytes;
	st->refused_full = ib->refused_full;
	st->commits = ib->commits;
	st->commit_us = ib->commit_us;
	st->latency = &ib->latency;
}

/* Free every box, written or not (a close, a failed open). */
static void
boxes_free(struct inbox *ib)
{
	struct box	*b;
	struct qent	*q;

	while ((b = ib->boxes) != NULL) {
		while ((q = b->qhead) != NULL) {
			b->qhead = q->next;
			qent_drop(ib, b, q);
		}
		b->qtail = NULL;
		b->holds = 0;
		b->bidx = 0;
		b->m.n = 0;
		b->m.cursor = b->m.last;
		ib->ro->forget(ib->rows, b);
		box_unlink(ib, b);
	}
}

static void
local_close(struct inbox *ib)
{
	struct pend	*pend;
	struct box	*b;
	size_t		 i, npend;

	if (ib == NULL)
		return;
	/* A clean stop leaves no dropped row in the file. */
	ib->closing = 1;
	for (b = ib->boxes; b != NULL && ib->ro->persistent; b = b->bnext)
		if ((b->pfirst == 0 || (b->m.n > 0 ? b->m.first :
		    b->m.last + 1) > b->pfirst) && batch_join(ib, b) == -1)
			break;
	/*
	 * An answer may append again (the router does not at close, but
	 * the interface allows it): those are committed too, a few rounds
	 * at most, and what is left then is refused, never dropped unanswered.
	 */
	for (i = 0; i < CLOSE_COMMITS && (ib->nbat > 0 || ib->npend > 0); i++)
		local_commit(ib);
	if (ib->nbat > 0 || ib->npend > 0)
		log_warn("store: the last batch could not be written");
	/* Appends in the answers below are refused at once. */
	ib->closed = 1;
	pend = ib->pend;
	npend = ib->npend;
	ib->pend = NULL;
	ib->npend = ib->cappend = 0;
	for (i = 0; i < npend; i++) {
		ib->base.ev.appended(ib->base.ev.arg, pend[i].tag,
		    INBOX_UNAVAILABLE, NULL);
		pend_release(ib, &pend[i]);
	}
	free(pend);
	ib->nbat = 0;
	boxes_free(ib);
	users_each(ib->base.users, hold_drop, ib);
	ib->ro->close(ib->rows);
	free(ib->bat);
	free(ib->pend);
	free(ib->todrop);
	free(ib);
}

/* At open: an undelivered row becomes a queued entry again. */
static void
requeue(void *arg, const char *user, uint64_t seq, const char *sender,
    uint64_t cost)
{
	struct inbox	*ib = arg;
	struct user	*u, *from = NULL;
	struct box	*b;

	if ((u = users_get(ib->base.users, user)) == NULL ||
	    (b = box_get(ib, u)) == NULL)
		return;
	if (sender[0] != '\0')
		from = users_get(ib->base.users, sender);
	if (qent_add(ib, b, from, seq, cost) == -1)
		box_maybe_free(ib, b);
}

struct inbox *
inbox_local_open(const struct inbox_config *cfg, struct users *us,
    const struct inbox_events *ev, char *err, size_t errlen)
{
	struct inbox	*ib;

	if ((ib = calloc(1, sizeof(*ib))) == NULL) {
		snprintf(err, errlen, "store: out of memory");
		return NULL;
	}
	ib->base.ops = &local_ops;
	ib->base.users = us;
	ib->base.ev = *ev;
	ib->cfg = *cfg;
	ib->cfg.path = NULL;	/* the caller's; used only here */
	ib->ro = cfg->path != NULL ? &rows_sqlite_ops : &rows_mem_ops;
	ib->drop_every = cfg->drop_every > 0 ? cfg->drop_every : DROP_EVERY;
	util_random_bytes(&ib->seed, sizeof(ib->seed));
	if ((ib->rows = ib->ro->open(cfg, err, errlen)) == NULL) {
		free(ib);
		return NULL;
	}
	if (ib->ro->totals(ib->rows, &ib->n, &ib->bytes) == -1 ||
	    ib->ro->queued(ib->rows, requeue, ib) == -1) {
		snprintf(err, errlen, "store '%s': %s", cfg->path,
		    ib->ro->error(ib->rows));
		/* Undelivered ones counted before the failure. */
		boxes_free(ib);
		ib->ro->close(ib->rows);
		free(ib);
		return NULL;
	}
	return ib;
}

struct sqlite3 *
inbox_sqlite(struct inbox *ib)
{
	if (ib->base.ops != &local_ops || ib->ro != &rows_sqlite_ops)
		return NULL;
	return rows_sqlite_db(ib->rows);
}

static size_t
local_msg_hdr(const struct inbox *ib)
{
	return ib->ro == &rows_mem_ops ? inbox_mem_hdr() : 0;
}

/* Cursors wait for the next commit: readers here see them at once. */
static void
local_flush(struct inbox *ib)
{
}

static const struct inbox_ops local_ops = {
	"local", local_close, local_append, local_commit, local_read,
	local_info, local_cursor, local_hold, local_tick, local_stats,
	local_msg_hdr, local_flush, local_due
};
