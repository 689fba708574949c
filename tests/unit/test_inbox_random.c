/*
 * Copyright (c) 2026 The chat authors.
 *
 * A seeded randomized test of the local inbox (server/inbox-local.c
 * over inbox-mem.c and inbox-sqlite.c, through inbox.h).  For each
 * fixed seed and both row stores (memory, and SQLite in a file), random
 * operations on six users' inboxes: appends (live or not, 2 to 200
 * bytes) from three senders or none, to any user (one sender is also
 * a target), group commits, the cursor moved (forward, or back, which
 * is ignored), bounded reads, nested holds, age retention, close and
 * reopen, and (SQLite) a crash: a child process changes the file
 * without committing and exits.  Small limits make every retention
 * rule and quota fire.  A model of the inbox says what each call must
 * return, which messages each inbox keeps, what the sender's quotas
 * hold and, for memory, what every byte counted is (messages, inboxes,
 * queued entries) and when an inbox is forgotten (its numbering then
 * starts again under a new epoch); after every operation the inbox is
 * compared with it, and after every commit everything kept is read
 * back.  Some seeds hold every user for the whole run, so that memory
 * inboxes are forgotten only before their first message (with their
 * numbering kept).
 *
 * SQLite runs also make commits fail (a commit hook refuses them: the
 * batch is rolled back, every append since the last commit refused
 * with store_unavailable and its seq given again, the cursors kept),
 * and some pace their commits (commit_delay_us, PACE_US): a commit is
 * then "the end of a pass" (put off while the last one is younger than
 * the delay: nothing answered, cursors and appends carried to a later
 * pass), "due" (made once inbox_due() has passed: all that was carried
 * answered in order) or due and failing.  What the model cannot know
 * (the clock, a drop round a tick may start) it reads: the commits
 * counted, inbox_due(), and before an append the bytes, which say
 * whether eviction opens the transaction (no commit put off then).
 *
 * Message times are set against the wall clock the inbox reads for
 * age retention: three days old or half a day, with --history-days 1,
 * so whether a message is old never depends on when a tick runs.  An
 * inbox looks at ages at its first tick and then at most once a minute,
 * unless a tick found a full batch: the model knows which ticks look.
 *
 * A failure prints the seed, the store and the operation, then a
 * shortened sequence of operations that still fails.
 * "test_inbox_random SEED" runs one seed.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "inbox.h"
#include "inbox-local.h"
#include "inboxcost.h"
#include "log.h"
#include "msg.h"
#include "tap.h"
#include "testdir.h"
#include "users.h"
#include "util.h"

#define NSEED		20
#define NOPS		2500	/* per seed in memory, */
#define NOPS_SQL	1500	/* in a file (slower, and it crashes) */
#define NUSER		6
#define NSEND		3	/* named senders; NSEND itself: none */
#define NREAD		256	/* more than any inbox keeps */
#define MAXLEN		200
#define ALL		UINT64_MAX
#define DAY		86400000ULL
#define CRASH_OPS	60	/* operations of a crashing child */
#define SHRINK_MAX	3000	/* replays when shortening a failure */
/* inbox-local.c's: victims per age tick. */
#define EXPIRE_BATCH	256
/* Ticks after this long cannot be told apart from the minute's next. */
#define TICK_SURE_MS	40000
/* Paced runs: their commits' delay, us (a due commit may wait it). */
#define PACE_US		500

/* Users; one has the longest id there is (64 bytes). */
static const char *const names[NUSER] = {
	"a", "bob", "carol@example.org", "\xc3\xa9mile", "u5",
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
};
/* Senders: "a" is a target too. */
static const char *const senders[NSEND] = { "s0", "s1", "a" };

enum opkind {
	OP_PUT, OP_COMMIT, OP_CURSOR, OP_READ, OP_HOLD, OP_RELEASE,
	OP_TICK, OP_REOPEN, OP_CRASH
};

/* OP_COMMIT's a: how. */
enum { C_PASS, C_DUE, C_FAIL };

struct op {
	uint8_t		 k, u, from, live, old;
	uint32_t	 len, max;
	uint64_t	 a, bytes;
};

/* A message of the model, by seq in its user's numbering. */
struct mmsg {
	uint64_t	 arr;		/* arrival, all users */
	uint64_t	 row;		/* SQLite: its row's place (see row_of) */
	uint64_t	 cost;		/* counted while kept */
	uint32_t	 len;		/* of the text appended */
	uint32_t	 flen;		/* of the text kept, seq included */
	uint8_t		 old;		/* older than --history-days */
	uint8_t		 from;		/* sender, NSEND: none */
};

/* A queued message: counts against its target and sender. */
struct mq {
	uint64_t	 seq, cost;
	uint8_t		 from;
};

struct muser {
	struct mmsg	*msg;
	size_t		 cap;
	uint64_t	 last;		/* given, open batch too */
	uint64_t	 committed, cursor;
	uint64_t	 first, n;	/* kept: first..last */
	uint64_t	 row;		/* SQLite: the open batch's row, 0: none */
	int		 box;		/* memory: the inbox holds its state */
	int		 kept;		/* memory: no box, numbering kept */
	int		 holds;		/* the inbox's count */
	int		 in_batch;
	uint64_t	 sfirst, sn;	/* at the last commit that worked */
	char		 epoch[17];	/* memory: its numbering's, "" unseen */
	struct mq	*q;
	size_t		 nq, capq;
	uint64_t	 qbytes;
};

struct msend {
	uint64_t	 msgs, bytes;
};

struct dent {
	int		 u;
	uint64_t	 seq;
};

/* An append waiting for its answer. */
struct mpend {
	uint64_t	 tag, seq, arr;
	int		 u;
};

struct model {
	struct muser	 u[NUSER];
	struct msend	 s[NSEND];
	struct dent	*dl;		/* memory: delivered, in that order */
	size_t		 ndl, capdl;
	struct mpend	*pend;
	size_t		 npend, cappend, pend0;
	uint64_t	 n, bytes, arr, refused;
	int		 armed;		/* the next tick looks at ages */
	/* SQLite, rounds not at every commit: rows may wait for one. */
	int		 lag;
	/* SQLite: commits. */
	uint64_t	 sn, sbytes;	/* at the last that worked */
	int		 failing;	/* the last one failed */
	int		 want_fail;	/* answers: store_unavailable */
	int		 force;		/* a transaction is open: no delay */
	int		 maybe;		/* a drop round may be: may not wait */
};

struct stats {
	unsigned long	 ops, puts, full_queue, full_quota, full_hist;
	unsigned long	 full_bytes, evicted, expired, trimmed, restarts;
	unsigned long	 reads, reopens, crashes, ticks;
	unsigned long	 commits, put_off, carried, failed;
};

struct run {
	unsigned	 seed;
	int		 sql, pin, quiet, failed, opno;
	int		 paced;		/* SQLite: commit_delay_us set */
	int		 armed, fired;	/* the commit hook: fail, failed */
	int		 clean;		/* the commit left no open batch */
	uint64_t	 rbytes;	/* the inbox's bytes before an append */
	uint64_t	 due_lo, due_hi;	/* the next commit's earliest */
	const char	*where;		/* "" or " (crash child)" */
	struct inbox_config cfg;
	char		 path[1200];
	char		 fepoch[17];	/* SQLite: the file's */
	char		**seen;		/* memory: every epoch given out */
	size_t		 nseen, capseen;
	struct inbox	*ib;
	struct users	*us;
	struct model	 m;
	int		 mine[NUSER];	/* holds taken by OP_HOLD */
	uint64_t	 tag, wall0, opened;
	struct stats	*stats;
};

static char		top[1024];
static struct stats	stats[2];
static uint64_t		qcost;		/* a queued entry, memory */

static uint64_t
rnd(uint64_t *s)
{
	uint64_t	z;

	z = (*s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* 0 to n - 1. */
static uint64_t
rndn(uint64_t *s, uint64_t n)
{
	return n == 0 ? 0 : rnd(s) % n;
}

/*
 * The text of the message that arrived arr-th, len bytes: "{", ASCII
 * and some UTF-8, "}" (msg_set_seq() puts the seq before the "}").
 */
static void
fill(char *p, size_t len, uint64_t arr)
{
	uint64_t	s = arr * 0x100000001b3ULL + 7, r;
	size_t		i;

	p[0] = '{';
	for (i = 1; i + 1 < len; i++) {
		r = rnd(&s);
		if (r % 16 == 0 && i + 2 < len) {
			p[i++] = (char)0xc3;
			p[i] = (char)0xa9;
		} else
			p[i] = (char)(' ' + r % 95);
	}
	p[len - 1] = '}';
	p[len] = '\0';
}

static const char *
kind_name(int sql)
{
	return sql ? "sqlite" : "memory";
}

static uint64_t
digits(uint64_t v)
{
	uint64_t	n = 1;

	while (v >= 10) {
		v /= 10;
		n++;
	}
	return n;
}


static uint64_t
boxcost(int u)
{
	return box_cost(names[u]);
}

static void
op_print(FILE *fp, int i, const struct op *o)
{
	fprintf(fp, "  #%d ", i);
	switch (o->k) {
	case OP_PUT:
		fprintf(fp, "put %s from %s len %u%s%s\n", names[o->u],
		    o->from < NSEND ? senders[o->from] : "-", o->len,
		    o->live ? " live" : "", o->old ? " old" : "");
		break;
	case OP_COMMIT:
		fprintf(fp, "%s\n", o->a == C_FAIL ? "commit when due, failing" :
		    o->a == C_DUE ? "commit when due" : "commit (end of pass)");
		break;
	case OP_CURSOR:
		fprintf(fp, "cursor %s %llu\n", names[o->u],
		    (unsigned long long)o->a);
		break;
	case OP_READ:
		fprintf(fp, "read %s after %llu max %u bytes %lld\n",
		    names[o->u], (unsigned long long)o->a, o->max,
		    o->bytes == ALL ? -1LL : (long long)o->bytes);
		break;
	case OP_HOLD:
		fprintf(fp, "hold %s\n", names[o->u]);
		break;
	case OP_RELEASE:
		fprintf(fp, "release %s\n", names[o->u]);
		break;
	case OP_TICK:
		fprintf(fp, "tick\n");
		break;
	case OP_REOPEN:
		fprintf(fp, "close, reopen\n");
		break;
	case OP_CRASH:
		fprintf(fp, "close; a child opens, changes without "
		    "committing, dies (seed %llu); reopen\n",
		    (unsigned long long)o->a);
		break;
	}
}

static void	bad(struct run *, int, const char *, const char *, ...)
		    __attribute__((format(printf, 4, 5)));

static void
bad(struct run *r, int line, const char *expr, const char *fmt, ...)
{
	va_list	ap;

	if (!r->quiet) {
		if (r->failed < 5) {
			fprintf(stderr, "seed %u %s op %d%s: line %d: %s: ",
			    r->seed, kind_name(r->sql), r->opno, r->where,
			    line, expr);
			va_start(ap, fmt);
			vfprintf(stderr, fmt, ap);
			va_end(ap);
			fputc('\n', stderr);
		}
		tap_failed++;
	}
	r->failed++;
}

#define VERIFY(r, cond, ...) do {					\
	if (!(r)->quiet)						\
		tap_checks++;						\
	if (!(cond))							\
		bad((r), __LINE__, #cond, __VA_ARGS__);			\
} while (0)

/* The model itself went wrong: a bug in this test. */
static void
model_bug(const char *what)
{
	fprintf(stderr, "test_inbox_random: model: %s\n", what);
	abort();
}

static void *
grow(void *p, size_t *cap, size_t want, size_t size)
{
	size_t	n = *cap ? *cap : 16;

	if (want <= *cap)
		return p;
	while (n < want)
		n *= 2;
	if ((p = reallocarray(p, n, size)) == NULL)
		model_bug("out of memory");
	*cap = n;
	return p;
}

static struct mmsg *
mmsg(struct muser *mu, uint64_t seq)
{
	if (seq >= mu->cap)
		model_bug("no such message");
	return &mu->msg[seq];
}

static struct user *
user_of(struct run *r, const char *id)
{
	struct user	*u;

	if ((u = users_get(r->us, id)) == NULL)
		model_bug("users_get");
	return u;
}

/* ---- the model ---- */

static void
dl_push(struct model *m, int u, uint64_t seq)
{
	m->dl = grow(m->dl, &m->capdl, m->ndl + 1, sizeof(*m->dl));
	m->dl[m->ndl].u = u;
	m->dl[m->ndl++].seq = seq;
}

static void
dl_remove(struct model *m, int u, uint64_t seq)
{
	size_t	i;

	for (i = 0; i < m->ndl; i++)
		if (m->dl[i].u == u && m->dl[i].seq == seq)
			break;
	if (i == m->ndl)
		model_bug("not on the delivered list");
	memmove(&m->dl[i], &m->dl[i + 1], (m->ndl - i - 1) * sizeof(*m->dl));
	m->ndl--;
}

/* Memory: the inbox makes u's state (a new numbering). */
static void
box_get(struct run *r, int u)
{
	struct muser	*mu = &r->m.u[u];

	if (r->sql || mu->box)
		return;
	mu->box = 1;
	if (!mu->kept)
		mu->epoch[0] = '\0';
	mu->kept = 0;
	r->m.bytes += boxcost(u);
}

/*
 * Memory: u's state goes when nothing needs it, numbering and all; a
 * held one stays once it has given out a seq, and before it goes with
 * its numbering kept.
 */
static void
box_maybe_free(struct run *r, int u)
{
	struct muser	*mu = &r->m.u[u];

	if (r->sql || !mu->box || (mu->holds > 0 && mu->last > 0) ||
	    mu->in_batch || mu->nq > 0 || mu->n > 0 || mu->cursor != mu->last)
		return;
	mu->box = 0;
	mu->kept = mu->holds > 0;
	r->m.bytes -= boxcost(u);
	if (mu->last > 0)
		r->stats->restarts++;
	mu->last = mu->committed = mu->cursor = mu->first = 0;
}

/* Drop u's oldest kept message, which must be delivered. */
static void
drop_front(struct run *r, int u)
{
	struct model	*m = &r->m;
	struct muser	*mu = &m->u[u];
	struct mmsg	*e;

	if (mu->n == 0)
		model_bug("drop from an empty inbox");
	if (mu->first > mu->cursor)
		model_bug("drop of an undelivered message");
	e = mmsg(mu, mu->first);
	if (!r->sql)
		dl_remove(m, u, mu->first);
	mu->n--;
	m->n--;
	m->bytes -= e->cost;
	mu->first = mu->n > 0 ? mu->first + 1 : 0;
}

/*
 * The next delivered message room is made by: memory, the oldest
 * delivered (delivery order); SQLite, the oldest in row order among
 * the delivered.  SQLite keeps one row per inbox per commit, in the
 * order each inbox's first message of the commit came: a message's
 * place is its row's (the arrival of that first one), then its seq.
 * -1: none.
 */
static int
victim(struct run *r)
{
	struct model	*m = &r->m;
	uint64_t	 best = ALL;
	int		 u, v = -1;

	if (!r->sql) {
		if (m->ndl == 0)
			return -1;
		if (m->dl[0].seq != m->u[m->dl[0].u].first)
			model_bug("delivered list head not an inbox head");
		return m->dl[0].u;
	}
	for (u = 0; u < NUSER; u++) {
		if (m->u[u].n == 0 || m->u[u].first > m->u[u].cursor)
			continue;
		if (mmsg(&m->u[u], m->u[u].first)->row < best) {
			best = mmsg(&m->u[u], m->u[u].first)->row;
			v = u;
		}
	}
	return v;
}

/* Make room for nd bytes: 0, or -1 (what could go went). */
static int
model_evict(struct run *r, uint64_t nd)
{
	struct model	*m = &r->m;
	int		 v;

	if (nd > r->cfg.history_bytes)
		return -1;
	while (m->bytes + nd > r->cfg.history_bytes) {
		if ((v = victim(r)) == -1)
			return -1;
		drop_front(r, v);
		box_maybe_free(r, v);
		r->stats->evicted++;
	}
	return 0;
}

static void
mq_release(struct run *r, int u, uint64_t upto)
{
	struct muser	*mu = &r->m.u[u];
	struct mq	*q;
	size_t		 k = 0;

	while (k < mu->nq && (q = &mu->q[k])->seq <= upto) {
		mu->qbytes -= q->cost;
		if (q->from < NSEND) {
			r->m.s[q->from].msgs--;
			r->m.s[q->from].bytes -= q->cost;
		}
		if (!r->sql)
			r->m.bytes -= qcost;
		k++;
	}
	if (k == 0)
		return;
	memmove(mu->q, mu->q + k, (mu->nq - k) * sizeof(*mu->q));
	mu->nq -= k;
}

static void
mq_add(struct run *r, int u, uint64_t seq, uint64_t cost, uint8_t from)
{
	struct muser	*mu = &r->m.u[u];

	mu->q = grow(mu->q, &mu->capq, mu->nq + 1, sizeof(*mu->q));
	mu->q[mu->nq].seq = seq;
	mu->q[mu->nq].cost = cost;
	mu->q[mu->nq++].from = from;
	mu->qbytes += cost;
	if (from < NSEND) {
		r->m.s[from].msgs++;
		r->m.s[from].bytes += cost;
	}
	if (!r->sql)
		r->m.bytes += qcost;
}

/* What inbox_append() must say, and what it does meanwhile. */
static enum inbox_status
model_append(struct run *r, const struct op *o, uint64_t *seqp)
{
	const struct inbox_config *c = &r->cfg;
	struct model	*m = &r->m;
	struct muser	*mu = &m->u[o->u];
	struct msend	*s = o->from < NSEND ? &m->s[o->from] : NULL;
	struct mmsg	*e;
	uint64_t	 nd = need(r->sql, o->len), seq, upto;
	enum inbox_status st = INBOX_PENDING;

	box_get(r, o->u);
	mu->holds++;		/* eviction must not free it */
	if (!o->live && (mu->last - mu->cursor >= c->queue_limit ||
	    mu->qbytes + nd > c->target_bytes || (s != NULL &&
	    (s->msgs >= c->sender_limit || s->bytes + nd >
	    c->sender_bytes)))) {
		st = INBOX_FULL;
		if (mu->last - mu->cursor >= c->queue_limit)
			r->stats->full_queue++;
		else
			r->stats->full_quota++;
	} else if (mu->n >= c->history_limit && mu->first > mu->cursor) {
		st = INBOX_FULL;
		r->stats->full_hist++;
	} else {
		/* SQLite: eviction opens the transaction (no delay then). */
		if (r->sql && nd <= c->history_bytes &&
		    r->rbytes + nd > c->history_bytes)
			m->force = 1;
		if (model_evict(r, nd) == -1 && !o->live) {
			st = INBOX_FULL;
			r->stats->full_bytes++;
		}
	}
	mu->holds--;
	if (st == INBOX_FULL) {
		m->refused++;
		box_maybe_free(r, o->u);
		return st;
	}
	seq = *seqp = mu->last + 1;
	mu->msg = grow(mu->msg, &mu->cap, seq + 1, sizeof(*mu->msg));
	e = &mu->msg[seq];
	e->arr = ++m->arr;
	if (mu->row == 0)
		mu->row = e->arr;	/* the first of this commit's row */
	e->row = mu->row;
	e->len = o->len;
	e->flen = o->len + 7 + (uint32_t)digits(seq);
	e->cost = r->sql ? e->flen : mcost(0, o->len);
	e->old = o->old;
	e->from = o->from;
	mu->in_batch = 1;
	mu->last = seq;
	if (mu->n++ == 0)
		mu->first = seq;
	m->n++;
	m->bytes += e->cost;
	if (!o->live)
		mq_add(r, o->u, seq, e->cost, o->from);
	if (mu->n > c->history_limit) {
		upto = mu->last - c->history_limit;
		if (upto > mu->cursor)
			upto = mu->cursor;
		while (mu->n > 0 && mu->first <= upto) {
			drop_front(r, o->u);
			r->stats->trimmed++;
			m->lag |= r->sql && r->cfg.drop_every > 1;
		}
	}
	m->pend = grow(m->pend, &m->cappend, m->npend + 1, sizeof(*m->pend));
	m->pend[m->npend].tag = r->tag;
	m->pend[m->npend].seq = seq;
	m->pend[m->npend].arr = e->arr;
	m->pend[m->npend++].u = o->u;
	return st;
}

static void
model_commit(struct run *r)
{
	struct muser	*mu;
	int		 u;

	for (u = 0; u < NUSER; u++) {
		mu = &r->m.u[u];
		mu->committed = mu->last;
		mu->in_batch = 0;
		mu->row = 0;
	}
	for (u = 0; u < NUSER; u++) {
		box_maybe_free(r, u);
		mu = &r->m.u[u];
		mu->sfirst = mu->first;
		mu->sn = mu->n;
	}
	r->m.sn = r->m.n;
	r->m.sbytes = r->m.bytes;
	r->m.failing = r->m.force = r->m.maybe = 0;
}

/*
 * SQLite: a commit failed.  Everything since the last that worked is
 * undone (messages appended, their queued entries, what retention
 * dropped), but the cursors: they stay, and the inboxes stay in the
 * batch, to be written at the next.  A round that failed is one again
 * at the next commit, and its rows may count until then.
 */
static void
model_fail(struct run *r)
{
	struct model	*m = &r->m;
	struct muser	*mu;
	struct mq	*q;
	int		 u;

	for (u = 0; u < NUSER; u++) {
		mu = &m->u[u];
		while (mu->nq > 0 && (q = &mu->q[mu->nq - 1])->seq >
		    mu->committed) {
			mu->qbytes -= q->cost;
			if (q->from < NSEND) {
				m->s[q->from].msgs--;
				m->s[q->from].bytes -= q->cost;
			}
			mu->nq--;
		}
		mu->last = mu->committed;
		mu->first = mu->sfirst;
		mu->n = mu->sn;
		mu->row = 0;
	}
	m->n = m->sn;
	m->bytes = m->sbytes;
	m->failing = m->maybe = m->lag = 1;
	m->force = 0;
}

static void
model_cursor(struct run *r, int u, uint64_t seq)
{
	struct muser	*mu = &r->m.u[u];
	uint64_t	 s;

	box_get(r, u);
	if (seq > mu->committed)
		seq = mu->committed;
	if (seq <= mu->cursor) {
		box_maybe_free(r, u);
		return;
	}
	if (!r->sql && mu->n > 0)
		for (s = mu->cursor + 1 > mu->first ? mu->cursor + 1 :
		    mu->first; s <= seq; s++)
			dl_push(&r->m, u, s);
	mu->cursor = seq;
	mq_release(r, u, seq);
	if (r->sql)
		mu->in_batch = 1;
	box_maybe_free(r, u);
}

static void
model_hold(struct run *r, int u, int on)
{
	struct muser	*mu = &r->m.u[u];

	if (on) {
		mu->holds++;
		return;
	}
	if (mu->holds == 0)
		return;
	if (--mu->holds == 0)
		mu->kept = 0;
	box_maybe_free(r, u);
}

/* Row order: the row's place, then the seq (one row, one user). */
static int
row_cmp(const void *a, const void *b)
{
	const uint64_t	*x = a, *y = b;

	if (x[0] != y[0])
		return x[0] < y[0] ? -1 : 1;
	return x[2] < y[2] ? -1 : x[2] > y[2];
}

/* An age tick, if this one looks: what it must drop. */
static void
model_tick(struct run *r)
{
	struct model	*m = &r->m;
	struct muser	*mu;
	uint64_t	 rows[NUSER * NREAD][3], s, vs[EXPIRE_BATCH];
	int		 v[EXPIRE_BATCH], u, young;
	size_t		 nrows = 0, i, k, nv = 0, bound;

	/* SQLite: a tick may start a drop round (not waited for). */
	m->maybe |= r->sql;
	if (r->cfg.history_days <= 0 || !m->armed)
		return;
	/* It opens the transaction: this pass's commit is not put off. */
	m->force |= r->sql;
	r->stats->ticks++;
	if (!r->sql) {
		/* Delivery order; a young one stops the walk. */
		for (i = 0; i < m->ndl && nv < EXPIRE_BATCH; i++) {
			if (!mmsg(&m->u[m->dl[i].u], m->dl[i].seq)->old)
				break;
			v[nv++] = m->dl[i].u;
		}
		for (i = 0; i < nv; i++) {
			drop_front(r, v[i]);
			box_maybe_free(r, v[i]);
			r->stats->expired++;
		}
	} else {
		/*
		 * Messages in row order, those of the rows before the first
		 * row all young; of them the delivered old ones are victims.
		 */
		for (u = 0; u < NUSER; u++) {
			mu = &m->u[u];
			for (s = mu->first; mu->n > 0 && s <= mu->last; s++) {
				if (nrows == NUSER * NREAD)
					model_bug("too many rows");
				rows[nrows][0] = mmsg(mu, s)->row;
				rows[nrows][1] = (uint64_t)u;
				rows[nrows++][2] = s;
			}
		}
		qsort(rows, nrows, sizeof(rows[0]), row_cmp);
		/* bound: where the first row all young starts. */
		for (bound = 0, i = 0; i < nrows; i = k) {
			for (k = i, young = 1; k < nrows &&
			    rows[k][0] == rows[i][0]; k++)
				if (mmsg(&m->u[rows[k][1]], rows[k][2])->old)
					young = 0;
			if (young)
				break;
			bound = k;
		}
		for (i = 0; i < bound && nv < EXPIRE_BATCH; i++) {
			mu = &m->u[rows[i][1]];
			if (rows[i][2] <= mu->cursor &&
			    mmsg(mu, rows[i][2])->old) {
				v[nv] = (int)rows[i][1];
				vs[nv++] = rows[i][2];
			}
		}
		/*
		 * Each drops its inbox's oldest up to it, as long as they
		 * are old (a prefix: a young one stops it).
		 */
		for (i = 0; i < nv; i++) {
			mu = &m->u[v[i]];
			while (mu->n > 0 && mu->first <= vs[i] &&
			    mmsg(mu, mu->first)->old) {
				drop_front(r, v[i]);
				r->stats->expired++;
			}
			box_maybe_free(r, v[i]);
		}
	}
	m->armed = nv == EXPIRE_BATCH;
}

/* After a close: what a new inbox object starts from. */
static void
model_reopened(struct run *r)
{
	struct model	*m = &r->m;
	struct muser	*mu;
	uint64_t	 s;
	int		 u;

	m->armed = 1;
	m->refused = 0;
	m->lag = 0;	/* a clean close leaves no row waiting */
	m->failing = m->force = m->maybe = 0;
	r->due_lo = r->due_hi = 0;	/* the first commit never waits */
	memset(m->s, 0, sizeof(m->s));
	for (u = 0; u < NUSER; u++) {
		mu = &m->u[u];
		mu->holds = mu->in_batch = mu->kept = 0;
		mu->nq = 0;
		mu->qbytes = 0;
		r->mine[u] = 0;
		if (!r->sql) {
			mu->last = mu->committed = mu->cursor = 0;
			mu->first = mu->n = 0;
			mu->box = 0;
		}
	}
	if (!r->sql) {
		m->n = m->bytes = 0;
		m->ndl = 0;
		return;
	}
	/* SQLite: every undelivered row is queued again, live or not. */
	for (u = 0; u < NUSER; u++) {
		mu = &m->u[u];
		for (s = mu->cursor + 1; mu->n > 0 && s <= mu->last; s++)
			mq_add(r, u, s, mmsg(mu, s)->cost, mmsg(mu, s)->from);
	}
}

/* ---- the events ---- */

static void
ev_appended(void *arg, void *tag, enum inbox_status st, struct msg *m)
{
	struct run	*r = arg;
	struct model	*mo = &r->m;
	struct mpend	*p;
	char		 want[MAXLEN + MSG_SEQ_ROOM + 2];

	VERIFY(r, mo->pend0 < mo->npend, "an answer for tag %llu, none due",
	    (unsigned long long)(uintptr_t)tag);
	if (mo->pend0 >= mo->npend)
		return;
	p = &mo->pend[mo->pend0++];
	VERIFY(r, (uintptr_t)tag == p->tag, "answer for tag %llu, expected "
	    "%llu", (unsigned long long)(uintptr_t)tag,
	    (unsigned long long)p->tag);
	if (mo->want_fail) {
		VERIFY(r, st == INBOX_UNAVAILABLE && m == NULL, "%s seq %llu "
		    "answered %s at a failed commit", names[p->u],
		    (unsigned long long)p->seq, inbox_status_str(st));
		return;
	}
	VERIFY(r, st == INBOX_OK && m != NULL, "%s seq %llu answered %s",
	    names[p->u], (unsigned long long)p->seq, inbox_status_str(st));
	if (st != INBOX_OK || m == NULL)
		return;
	VERIFY(r, m->seq == p->seq && m->prev == p->seq - 1, "%s: answered "
	    "seq %llu prev %llu, model %llu", names[p->u],
	    (unsigned long long)m->seq, (unsigned long long)m->prev,
	    (unsigned long long)p->seq);
	fill(want, mmsg(&mo->u[p->u], p->seq)->len, p->arr);
	snprintf(want + strlen(want) - 1, MSG_SEQ_ROOM + 2, ",\"seq\":%llu}",
	    (unsigned long long)p->seq);
	VERIFY(r, m->len == strlen(want) && strcmp(m->data, want) == 0,
	    "%s seq %llu: not the text appended", names[p->u],
	    (unsigned long long)p->seq);
}

static void
ev_unexpected(struct run *r, const char *what)
{
	VERIFY(r, 0, "a local inbox sent %s", what);
}

static void
ev_read(void *arg, void *tag, enum inbox_status st, struct msg **v,
    size_t n)
{
	ev_unexpected(arg, "read");
}

static void
ev_info(void *arg, void *tag, enum inbox_status st,
    const struct inbox_info *in)
{
	ev_unexpected(arg, "info");
}

static void
ev_arrived(void *arg, struct user *u, struct msg *m)
{
	ev_unexpected(arg, "arrived");
}

static void
ev_ready(void *arg, int ready)
{
	ev_unexpected(arg, "ready");
}

/* SQLite: the commit hook; armed, it makes the COMMIT fail. */
static int
commit_hook(void *arg)
{
	struct run	*r = arg;

	if (!r->armed)
		return 0;
	r->fired++;
	return 1;
}

static struct inbox *
open_inbox(struct run *r)
{
	struct inbox_events	 ev = {
		r, ev_appended, ev_read, ev_info, ev_arrived, ev_ready
	};
	struct inbox		*ib;
	char			 err[512];
	int			 u;

	if ((ib = inbox_open(&r->cfg, r->us, NULL, &ev, err,
	    sizeof(err))) == NULL) {
		fprintf(stderr, "seed %u %s: inbox_open: %s\n", r->seed,
		    kind_name(r->sql), err);
		return NULL;
	}
	r->opened = util_mono_ms();
	r->due_lo = r->due_hi = 0;
	if (r->sql)
		sqlite3_commit_hook(inbox_sqlite(ib), commit_hook, r);
	if (r->pin) {
		for (u = 0; u < NUSER; u++) {
			inbox_hold(ib, user_of(r, names[u]), 1);
			model_hold(r, u, 1);
		}
	}
	return ib;
}

/* ---- checks ---- */

/* Memory: an epoch never given before (a new numbering). */
static int
epoch_new(struct run *r, const char *e)
{
	size_t	i;

	for (i = 0; i < r->nseen; i++)
		if (strcmp(r->seen[i], e) == 0)
			return 0;
	r->seen = grow(r->seen, &r->capseen, r->nseen + 1, sizeof(*r->seen));
	if ((r->seen[r->nseen] = strdup(e)) == NULL)
		model_bug("out of memory");
	r->nseen++;
	return 1;
}

/* Compare every number the inbox tells with the model. */
static void
check_numbers(struct run *r)
{
	struct model		*m = &r->m;
	struct muser		*mu;
	struct inbox_info	 in;
	struct inbox_stats	 st;
	struct user		*su;
	enum inbox_status	 s;
	int			 u, had, open;

	for (u = 0; u < NUSER; u++) {
		mu = &m->u[u];
		had = mu->box;
		memset(&in, 0, sizeof(in));
		s = inbox_info(r->ib, user_of(r, names[u]), &in, NULL);
		VERIFY(r, s == INBOX_OK, "inbox_info(%s): %s", names[u],
		    inbox_status_str(s));
		VERIFY(r, in.last == mu->committed, "%s: last %llu, model "
		    "%llu", names[u], (unsigned long long)in.last,
		    (unsigned long long)mu->committed);
		VERIFY(r, in.cursor == mu->cursor, "%s: cursor %llu, model "
		    "%llu", names[u], (unsigned long long)in.cursor,
		    (unsigned long long)mu->cursor);
		VERIFY(r, in.first == (mu->n > 0 ? mu->first : 0), "%s: first "
		    "%llu, model %llu", names[u], (unsigned long long)in.first,
		    (unsigned long long)(mu->n > 0 ? mu->first : 0));
		VERIFY(r, strlen(in.epoch) == 16 &&
		    strspn(in.epoch, "0123456789abcdef") == 16, "%s: epoch "
		    "'%s'", names[u], in.epoch);
		if (r->sql)
			VERIFY(r, strcmp(in.epoch, r->fepoch) == 0, "%s: epoch "
			    "%s, the file's %s", names[u], in.epoch,
			    r->fepoch);
		else if ((had || mu->kept) && mu->epoch[0] != '\0')
			VERIFY(r, strcmp(in.epoch, mu->epoch) == 0, "%s: epoch "
			    "%s, was %s with the same numbering", names[u],
			    in.epoch, mu->epoch);
		else {
			/* A new numbering, or one asked about once. */
			VERIFY(r, epoch_new(r, in.epoch), "%s: epoch %s "
			    "given before", names[u], in.epoch);
			/* Held, it is kept even without a box. */
			if (!had && mu->holds > 0)
				mu->kept = 1;
			if (had || mu->kept)
				snprintf(mu->epoch, sizeof(mu->epoch), "%s",
				    in.epoch);
		}
		/* Never an undelivered one dropped; never beyond the limit. */
		VERIFY(r, mu->n == 0 ? mu->cursor == mu->last :
		    mu->first <= mu->cursor + 1 &&
		    mu->n == mu->last - mu->first + 1 &&
		    mu->n <= r->cfg.history_limit, "model of %s: first %llu "
		    "n %llu cursor %llu last %llu", names[u],
		    (unsigned long long)mu->first, (unsigned long long)mu->n,
		    (unsigned long long)mu->cursor,
		    (unsigned long long)mu->last);
	}
	inbox_stats(r->ib, &st);
	VERIFY(r, strcmp(st.kind, kind_name(r->sql)) == 0 &&
	    st.ok == !m->failing, "kind %s ok %d, model %d", st.kind, st.ok,
	    !m->failing);
	VERIFY(r, st.messages == m->n, "messages %llu, model %llu",
	    (unsigned long long)st.messages, (unsigned long long)m->n);
	/*
	 * SQLite: a message over --history-limit leaves the counters at
	 * once and its row at the commit (or the drop round, if rounds are
	 * not at every commit), where its size is known: until then the
	 * bytes may still count it.
	 */
	for (u = 0, open = 0; u < NUSER; u++)
		open |= m->u[u].in_batch;
	VERIFY(r, r->sql && (open || m->lag) ?
	    st.bytes >= m->bytes :
	    st.bytes == m->bytes, "bytes %llu, model %llu",
	    (unsigned long long)st.bytes, (unsigned long long)m->bytes);
	VERIFY(r, st.refused_full == m->refused, "refused %llu, model %llu",
	    (unsigned long long)st.refused_full,
	    (unsigned long long)m->refused);
	/* The quotas, as the senders' users hold them. */
	for (u = 0; u < NSEND; u++) {
		su = users_find(r->us, senders[u]);
		VERIFY(r, m->s[u].msgs == 0 || su != NULL, "sender %s with "
		    "%llu queued is gone", senders[u],
		    (unsigned long long)m->s[u].msgs);
		if (su != NULL)
			VERIFY(r, su->q_msgs == m->s[u].msgs &&
			    su->q_bytes == m->s[u].bytes, "sender %s: %u "
			    "queued, %llu bytes; model %llu, %llu",
			    senders[u], su->q_msgs,
			    (unsigned long long)su->q_bytes,
			    (unsigned long long)m->s[u].msgs,
			    (unsigned long long)m->s[u].bytes);
	}
}

/*
 * inbox_read(), checked against the model: the seqs it must return in
 * order, each byte-equal to what was appended.  The count read (-1 on
 * a failure); *sum gets their bytes.
 */
static int
check_read(struct run *r, int u, uint64_t after, size_t max, size_t bytes,
    uint64_t *sum)
{
	struct muser		*mu = &r->m.u[u];
	struct msg		*v[NREAD];
	struct mmsg		*e;
	enum inbox_status	 st;
	char			 want[MAXLEN + MSG_SEQ_ROOM + 2];
	uint64_t		 s, tot = 0;
	size_t			 nwant = 0, n = 0, i;

	if (max > NREAD)
		model_bug("max too big");
	st = inbox_read(r->ib, user_of(r, names[u]), after, max, bytes, v,
	    &n, NULL);
	VERIFY(r, st == INBOX_OK, "inbox_read(%s): %s", names[u],
	    inbox_status_str(st));
	if (st != INBOX_OK)
		return -1;
	/* What it must be: kept, committed, after after. */
	s = after + 1 > mu->first ? after + 1 : mu->first;
	for (; mu->n > 0 && s <= mu->committed && nwant < max; s++) {
		e = mmsg(mu, s);
		if (nwant > 0 && tot + e->flen > bytes)
			break;
		tot += e->flen;
		nwant++;
	}
	VERIFY(r, n == nwant, "inbox_read(%s, after %llu, max %zu, bytes "
	    "%zu): %zu, model %zu", names[u], (unsigned long long)after,
	    max, bytes, n, nwant);
	s = after + 1 > mu->first ? after + 1 : mu->first;
	tot = 0;
	for (i = 0; i < n; i++, s++) {
		if (n == nwant) {
			e = mmsg(mu, s);
			VERIFY(r, v[i]->seq == s && v[i]->prev == s - 1,
			    "%s: read seq %llu prev %llu, model %llu",
			    names[u], (unsigned long long)v[i]->seq,
			    (unsigned long long)v[i]->prev,
			    (unsigned long long)s);
			fill(want, e->len, e->arr);
			snprintf(want + e->len - 1, MSG_SEQ_ROOM + 2,
			    ",\"seq\":%llu}", (unsigned long long)s);
			VERIFY(r, v[i]->len == e->flen &&
			    strcmp(v[i]->data, want) == 0, "%s seq %llu: "
			    "not the text appended", names[u],
			    (unsigned long long)s);
		}
		tot += v[i]->len;
		msg_unref(v[i]);
	}
	*sum = tot;
	return (int)n;
}

/* Everything kept, read back (the open batch is empty), and totals. */
static void
check_all(struct run *r)
{
	struct model	*m = &r->m;
	uint64_t	 sum, tn = 0, tb = 0;
	int		 u, n;

	for (u = 0; u < NUSER; u++) {
		if ((n = check_read(r, u, 0, NREAD, SIZE_MAX, &sum)) < 0)
			continue;
		tn += (uint64_t)n;
		tb += sum;
	}
	VERIFY(r, tn == m->n, "%llu readable, model %llu",
	    (unsigned long long)tn, (unsigned long long)m->n);
	if (r->sql)
		VERIFY(r, tb == m->bytes, "%llu bytes readable, model %llu",
		    (unsigned long long)tb, (unsigned long long)m->bytes);
}

/* ---- operations ---- */

static void
do_put(struct run *r, const struct op *o)
{
	struct inbox_stats	 st;
	struct msg		*msg;
	enum inbox_status	 want, got;
	uint64_t		 seq = 0;

	r->stats->puts++;
	r->tag++;
	if ((msg = msg_alloc(inbox_msg_hdr(r->ib), o->len + MSG_SEQ_ROOM)) ==
	    NULL)
		model_bug("out of memory");
	fill(msg->data, o->len, r->m.arr + 1);
	if (r->sql) {
		inbox_stats(r->ib, &st);
		r->rbytes = st.bytes;
	}
	msg->len = o->len;
	msg->ts = r->wall0 + r->m.arr + (o->old ? 0 : 2 * DAY + DAY / 2) -
	    3 * DAY;
	want = model_append(r, o, &seq);
	got = inbox_append(r->ib, user_of(r, names[o->u]), o->from < NSEND ?
	    user_of(r, senders[o->from]) : NULL, msg, o->live,
	    (void *)(uintptr_t)r->tag);
	VERIFY(r, got == want, "append to %s from %s, %u bytes, live %d: %s, "
	    "model %s", names[o->u], o->from < NSEND ? senders[o->from] : "-",
	    o->len, o->live, inbox_status_str(got), inbox_status_str(want));
	if (got == INBOX_PENDING && want == INBOX_PENDING)
		VERIFY(r, msg->seq == seq, "append to %s: seq %llu, model "
		    "%llu", names[o->u], (unsigned long long)msg->seq,
		    (unsigned long long)seq);
	msg_unref(msg);
}

static void
wait_until(uint64_t t)
{
	struct timespec	ts;
	uint64_t	now;

	while ((now = util_mono_us()) < t) {
		ts.tv_sec = 0;
		ts.tv_nsec = (long)(t - now) * 1000;
		nanosleep(&ts, NULL);
	}
}

/*
 * The end of a pass (C_PASS), or one once the delay is over (C_DUE),
 * whose commit may fail (C_FAIL).  Whether a commit was made is told
 * by the inbox's count of them; when the model knows, it must agree.
 */
static void
do_commit(struct run *r, const struct op *o)
{
	struct model		*m = &r->m;
	struct inbox_stats	 st;
	uint64_t		 c0, n0, n1, due, delay = r->cfg.commit_delay_us;
	int			 u, open = m->npend > 0, real, must, wait;

	for (u = 0; u < NUSER; u++)
		open |= m->u[u].in_batch;
	if (o->a != C_PASS)
		wait_until(r->due_hi);
	inbox_stats(r->ib, &st);
	c0 = st.commits;
	r->armed = r->sql && o->a == C_FAIL;
	r->fired = 0;
	m->want_fail = r->armed;
	n0 = util_mono_us();
	inbox_commit(r->ib);
	n1 = util_mono_us();
	r->armed = m->want_fail = 0;
	inbox_stats(r->ib, &st);
	real = st.commits > c0;
	due = inbox_due(r->ib);
	/* Must commit: a transaction is open, or the delay is over. */
	must = open && (m->force || n0 >= r->due_hi);
	/* Must wait: the delay is not over, and nothing forbids it. */
	wait = open && !m->force && !m->maybe && n1 < r->due_lo;
	VERIFY(r, real || !must, "a commit put off (force %d, %llu us "
	    "after it was due)", m->force,
	    (unsigned long long)(n0 - r->due_hi));
	VERIFY(r, !real || !wait, "a commit %llu us before it was due",
	    (unsigned long long)(r->due_lo - n1));
	r->clean = real || !open;
	if (!real) {
		/* Put off, or nothing to write: no transaction is open. */
		m->force = m->maybe = 0;
		VERIFY(r, m->pend0 == 0, "%zu appends answered, the commit "
		    "put off", m->pend0);
		VERIFY(r, due != 0 || !open, "%s", "a batch neither committed "
		    "nor put off");
		if (due != 0) {
			VERIFY(r, due >= r->due_lo && due <= r->due_hi,
			    "due at %llu, model %llu to %llu",
			    (unsigned long long)due,
			    (unsigned long long)r->due_lo,
			    (unsigned long long)r->due_hi);
			r->due_lo = r->due_hi = due;
			r->stats->put_off++;
		}
		return;
	}
	r->stats->commits++;
	VERIFY(r, due == 0, "due at %llu after a commit",
	    (unsigned long long)due);
	VERIFY(r, m->pend0 == m->npend, "%zu of %zu appends answered",
	    m->pend0, m->npend);
	VERIFY(r, r->fired == (o->a == C_FAIL && r->sql), "commit hook "
	    "fired %d times", r->fired);
	if (m->npend > 0 && r->due_lo == r->due_hi && r->due_lo != 0)
		r->stats->carried++;
	m->npend = m->pend0 = 0;
	r->due_lo = n0 + delay;
	r->due_hi = n1 + delay;
	if (r->fired) {
		r->stats->failed++;
		model_fail(r);
	} else
		model_commit(r);
}

static void	exec_op(struct run *, const struct op *);
static void	gen_op(struct run *, uint64_t *, struct op *);

static void
do_reopen(struct run *r, const struct op *o)
{
	struct run	 c;
	struct op	 co;
	uint64_t	 rs;
	pid_t		 pid;
	int		 status, i;

	/* inbox_close() commits what is open, and answers. */
	inbox_close(r->ib);
	r->ib = NULL;
	VERIFY(r, r->m.pend0 == r->m.npend, "%zu of %zu appends answered "
	    "at close", r->m.pend0, r->m.npend);
	r->m.npend = r->m.pend0 = 0;
	model_commit(r);
	users_reap(r->us);
	model_reopened(r);
	if (o->k == OP_CRASH && r->sql) {
		r->stats->crashes++;
		fflush(NULL);
		if ((pid = fork()) == -1)
			model_bug("fork");
		if (pid == 0) {
			c = *r;
			c.where = " (crash child)";
			if ((c.ib = open_inbox(&c)) == NULL)
				_exit(2);
			rs = o->a;
			for (i = 0; i < CRASH_OPS && !c.failed; i++) {
				do
					gen_op(&c, &rs, &co);
				while (co.k == OP_COMMIT || co.k == OP_REOPEN ||
				    co.k == OP_CRASH);
				c.opno = i;
				exec_op(&c, &co);
			}
			/* No inbox_close(): that would commit. */
			_exit(c.failed ? 1 : 0);
		}
		if (waitpid(pid, &status, 0) == -1)
			model_bug("waitpid");
		VERIFY(r, WIFEXITED(status) && WEXITSTATUS(status) == 0,
		    "the crashing child failed (status %d)", status);
	} else
		r->stats->reopens++;
	if ((r->ib = open_inbox(r)) == NULL) {
		VERIFY(r, r->ib != NULL, "%s", "reopen");
		return;
	}
	check_all(r);
}

static void
exec_op(struct run *r, const struct op *o)
{
	uint64_t	sum;
	int		u = o->u;

	r->stats->ops++;
	switch (o->k) {
	case OP_PUT:
		do_put(r, o);
		break;
	case OP_COMMIT:
		do_commit(r, o);
		break;
	case OP_CURSOR:
		inbox_cursor(r->ib, user_of(r, names[u]), o->a);
		model_cursor(r, u, o->a);
		break;
	case OP_READ:
		r->stats->reads++;
		check_read(r, u, o->a, o->max, o->bytes, &sum);
		break;
	case OP_HOLD:
		inbox_hold(r->ib, user_of(r, names[u]), 1);
		model_hold(r, u, 1);
		r->mine[u]++;
		break;
	case OP_RELEASE:
		/* Only the test's own holds, and sometimes one too many. */
		if (r->mine[u] > 0 || r->m.u[u].holds == 0) {
			inbox_hold(r->ib, user_of(r, names[u]), 0);
			model_hold(r, u, 0);
			if (r->mine[u] > 0)
				r->mine[u]--;
		}
		break;
	case OP_TICK:
		/* A minute on, the model could not tell: skip it. */
		if (r->quiet || util_mono_ms() - r->opened < TICK_SURE_MS) {
			inbox_tick(r->ib, util_mono_ms());
			model_tick(r);
		}
		break;
	case OP_REOPEN:
	case OP_CRASH:
		do_reopen(r, o);
		break;
	}
	/* The loop's end of a pass. */
	users_reap(r->us);
	if (r->ib == NULL)
		return;
	check_numbers(r);
	if (o->k == OP_COMMIT && r->clean)
		check_all(r);
}

static void
gen_op(struct run *r, uint64_t *rs, struct op *o)
{
	struct muser	*mu;
	uint64_t	 x, hi;

	memset(o, 0, sizeof(*o));
	o->u = (uint8_t)rndn(rs, NUSER);
	mu = &r->m.u[o->u];
	x = rndn(rs, 1000);
	/* Some seeds deliver eagerly, some let queues fill. */
	if (r->seed % 3 == 1 && x >= 340 && x < 500)
		x = 500 + x % 80;
	if (x < 340) {
		o->k = OP_PUT;
		o->len = 2 + (uint32_t)rndn(rs, MAXLEN - 1);
		o->live = rndn(rs, 4) == 0;
		o->from = (uint8_t)rndn(rs, NSEND + 1);
		o->old = rndn(rs, 3) != 0;
	} else if (x < 460)
		o->k = OP_COMMIT;
	else if (x < 580) {
		o->k = OP_CURSOR;
		hi = rndn(rs, 4) == 0 ? mu->last : mu->committed;
		if (rndn(rs, 30) == 0)
			o->a = mu->last + 1 + rndn(rs, 3);
		else if (hi <= mu->cursor)
			o->a = mu->cursor;
		else if (rndn(rs, 3) == 0)
			o->a = hi;
		else
			o->a = mu->cursor + 1 + rndn(rs, hi - mu->cursor);
	} else if (x < 600) {
		/* Back: ignored. */
		o->k = OP_CURSOR;
		o->a = rndn(rs, mu->cursor + 1);
	} else if (x < 720) {
		o->k = OP_READ;
		o->a = rndn(rs, mu->last + 3);
		o->max = rndn(rs, 8) == 0 ? (uint32_t)rndn(rs, 3) :
		    1 + (uint32_t)rndn(rs, 30);
		o->bytes = rndn(rs, 4) == 0 ? SIZE_MAX : rndn(rs, 1500);
	} else if (x < 760)
		o->k = r->mine[o->u] < 3 ? OP_HOLD : OP_RELEASE;
	else if (x < 800)
		o->k = OP_RELEASE;
	else if (x < 815)
		/* Rare: an inbox looks once, after a backlog built up. */
		o->k = OP_TICK;
	else if (x < 995)
		o->k = OP_COMMIT;
	else if (x < 998 || !r->sql)
		o->k = OP_REOPEN;
	else {
		o->k = OP_CRASH;
		o->a = rnd(rs);
	}
	/* SQLite: commits that fail; paced, the ends of passes. */
	if (o->k == OP_COMMIT && r->sql) {
		x = rndn(rs, 20);
		o->a = x == 0 ? C_FAIL : !r->paced ? C_PASS :
		    x < 14 ? C_PASS : x < 19 ? C_DUE : C_FAIL;
	}
}

static void
run_init(struct run *r, unsigned seed, int sql, struct users *us)
{
	uint64_t	box = boxcost(5);

	memset(r, 0, sizeof(*r));
	r->seed = seed;
	r->sql = sql;
	r->us = us;
	r->where = "";
	r->pin = seed % 4 < 2;
	r->stats = &stats[sql];
	r->wall0 = util_wall_ms();
	r->m.armed = 1;
	r->cfg.history_limit = 20;
	r->cfg.queue_limit = 15;
	r->cfg.history_days = seed & 1 ? 1 : 0;
	r->cfg.sender_limit = r->cfg.target_bytes = r->cfg.sender_bytes =
	    SIZE_MAX;
	/* Memory counts more per message, and each inbox. */
	r->cfg.history_bytes = sql ? 4000 : 10000 + 6 * box;
	switch (seed % 5) {
	case 2:
		r->cfg.history_bytes = 1 << 20;	/* counts bind */
		r->cfg.queue_limit = 30;
		break;
	case 3:
		r->cfg.history_bytes = sql ? 600 : 1500 + 3 * box;
		break;
	case 4:
		r->cfg.history_limit = 5;	/* some too big to keep */
		r->cfg.queue_limit = 3;
		r->cfg.history_bytes = sql ? 300 : 400 + box;
		break;
	}
	switch (seed % 7) {
	case 1:
	case 4:
		r->cfg.sender_limit = 4;
		r->cfg.target_bytes = sql ? 1500 : 3000;
		break;
	case 5:
		r->cfg.sender_bytes = sql ? 800 : 1600;
		break;
	}
	/* Rows dropped in rounds: the bytes count them until then. */
	r->cfg.drop_every = sql && seed / 5 % 2 == 1 ? 3 : 1;
	if (sql) {
		snprintf(r->path, sizeof(r->path), "%s/r%u.db", top, seed);
		r->cfg.path = r->path;
		r->paced = (seed + seed / 4) % 2 == 1;
		r->cfg.commit_delay_us = r->paced ? PACE_US : 0;
	}
}

static void
run_files_rm(struct run *r)
{
	char	p[1300];

	if (!r->sql)
		return;
	unlink(r->path);
	snprintf(p, sizeof(p), "%s-wal", r->path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", r->path);
	unlink(p);
}

static void
run_free(struct run *r)
{
	size_t	i;
	int	u;

	if (r->ib != NULL)
		inbox_close(r->ib);
	r->ib = NULL;
	users_reap(r->us);
	for (u = 0; u < NUSER; u++) {
		free(r->m.u[u].msg);
		free(r->m.u[u].q);
	}
	free(r->m.dl);
	free(r->m.pend);
	for (i = 0; i < r->nseen; i++)
		free(r->seen[i]);
	free(r->seen);
	memset(&r->m, 0, sizeof(r->m));
	run_files_rm(r);
}

static int
run_start(struct run *r)
{
	struct inbox_info	in;

	run_files_rm(r);
	if ((r->ib = open_inbox(r)) == NULL) {
		VERIFY(r, r->ib != NULL, "%s", "inbox_open");
		return -1;
	}
	if (r->sql) {
		if (inbox_info(r->ib, user_of(r, names[0]), &in, NULL) ==
		    INBOX_OK)
			snprintf(r->fepoch, sizeof(r->fepoch), "%s", in.epoch);
		users_reap(r->us);
	}
	return 0;
}

/* The end: let go of every hold, commit, check, reopen. */
static void
run_end(struct run *r)
{
	struct op	o;
	int		u;

	for (u = 0; u < NUSER && r->ib != NULL; u++)
		while (r->m.u[u].holds > 0) {
			inbox_hold(r->ib, user_of(r, names[u]), 0);
			model_hold(r, u, 0);
		}
	memset(&o, 0, sizeof(o));
	o.k = OP_COMMIT;
	o.a = C_DUE;
	if (!r->failed && r->ib != NULL)
		exec_op(r, &o);
	o.k = OP_REOPEN;
	if (!r->failed && r->ib != NULL)
		exec_op(r, &o);
}

/*
 * Run ops[idx[0..n-1]] quietly on a fresh inbox: the index (into idx)
 * of the first that fails, or -1.
 */
static int
replay(unsigned seed, int sql, struct users *us, const struct op *ops,
    const int *idx, int n)
{
	struct run	r;
	struct stats	junk;
	int		i, bad_at = -1;

	run_init(&r, seed, sql, us);
	r.quiet = 1;
	r.stats = &junk;
	if (run_start(&r) == -1)
		return 0;
	for (i = 0; i < n && !r.failed; i++) {
		r.opno = i;
		exec_op(&r, &ops[idx[i]]);
		if (r.failed)
			bad_at = i;
	}
	run_free(&r);
	return bad_at;
}

/* Shorten a failing sequence (ops[0..nops-1]) and print it. */
static void
shrink(unsigned seed, int sql, struct users *us, const struct op *ops,
    int nops)
{
	struct run	 r;
	int		*idx, *t, n = nops, chunk, start, at, i, j;
	int		 tries = 0;

	if ((idx = calloc((size_t)nops, sizeof(*idx))) == NULL ||
	    (t = calloc((size_t)nops, sizeof(*t))) == NULL)
		model_bug("out of memory");
	for (i = 0; i < n; i++)
		idx[i] = i;
	if ((at = replay(seed, sql, us, ops, idx, n)) == -1) {
		fprintf(stderr, "seed %u %s: the failure does not replay\n",
		    seed, kind_name(sql));
		goto out;
	}
	n = at + 1;
	for (chunk = n / 2; chunk >= 1; chunk /= 2) {
		for (start = 0; start < n && tries < SHRINK_MAX; tries++) {
			for (i = j = 0; i < n; i++)
				if (i < start || i >= start + chunk)
					t[j++] = idx[i];
			if (j > 0 &&
			    (at = replay(seed, sql, us, ops, t, j)) != -1) {
				n = at + 1;
				memcpy(idx, t, (size_t)n * sizeof(*idx));
			} else
				start += chunk;
		}
	}
	run_init(&r, seed, sql, us);
	fprintf(stderr, "seed %u %s: fails after these %d operations on a "
	    "fresh inbox (history_limit %zu, queue_limit %zu, history_bytes "
	    "%zu, history_days %g, sender_limit %zu, sender_bytes %zu, "
	    "target_bytes %zu, drop_every %u%s):\n", seed, kind_name(sql),
	    n, r.cfg.history_limit, r.cfg.queue_limit, r.cfg.history_bytes,
	    r.cfg.history_days, r.cfg.sender_limit, r.cfg.sender_bytes,
	    r.cfg.target_bytes, r.cfg.drop_every,
	    r.pin ? ", every user held" : "");
	for (i = 0; i < n; i++)
		op_print(stderr, i, &ops[idx[i]]);
	/* Once more, saying what fails. */
	if (run_start(&r) == 0)
		for (i = 0; i < n && !r.failed; i++) {
			r.opno = i;
			exec_op(&r, &ops[idx[i]]);
		}
	run_free(&r);
out:
	free(idx);
	free(t);
}

static void
run_seed(unsigned seed, int sql, struct users *us)
{
	struct run	 r;
	struct op	*ops;
	uint64_t	 rs = 0x5eed0000ULL + seed * 7919ULL + (uint64_t)sql;
	int		 i, failed_at = -1, nops = sql ? NOPS_SQL : NOPS;

	if ((ops = calloc((size_t)nops, sizeof(*ops))) == NULL)
		model_bug("out of memory");
	run_init(&r, seed, sql, us);
	if (run_start(&r) == -1) {
		free(ops);
		return;
	}
	for (i = 0; i < nops && r.ib != NULL; i++) {
		gen_op(&r, &rs, &ops[i]);
		r.opno = i;
		exec_op(&r, &ops[i]);
		if (r.failed) {
			failed_at = i;
			break;
		}
	}
	if (failed_at == -1) {
		r.opno = nops;
		run_end(&r);
	}
	run_free(&r);
	VERIFY(&r, users_count(us) == 0, "%zu users left after the run",
	    users_count(us));
	if (failed_at != -1) {
		fprintf(stderr, "seed %u %s: failed at op %d; last ops:\n",
		    seed, kind_name(sql), failed_at);
		for (i = failed_at >= 20 ? failed_at - 20 : 0; i <= failed_at;
		    i++)
			op_print(stderr, i, &ops[i]);
		shrink(seed, sql, us, ops, failed_at + 1);
	}
	free(ops);
}

static void
ev_ignore(void *arg, void *tag, enum inbox_status st, struct msg *m)
{
}

/*
 * What a queued entry costs the memory store: private to inbox-local.c,
 * so measured (one queued message, less the message and its inbox).
 */
static int
measure_qcost(struct users *us)
{
	struct inbox_config	 c;
	struct inbox_events	 ev;
	struct inbox_stats	 st;
	struct inbox		*ib;
	struct msg		*m;
	char			 err[256];

	memset(&c, 0, sizeof(c));
	memset(&ev, 0, sizeof(ev));
	ev.appended = ev_ignore;
	c.history_limit = c.queue_limit = c.history_bytes = 1 << 20;
	c.sender_limit = c.sender_bytes = c.target_bytes = 1 << 20;
	if ((ib = inbox_open(&c, us, NULL, &ev, err, sizeof(err))) == NULL)
		return -1;
	if ((m = msg_alloc(inbox_msg_hdr(ib), 2 + MSG_SEQ_ROOM)) == NULL)
		abort();
	memcpy(m->data, "{}", 3);
	m->len = 2;
	if (inbox_append(ib, users_get(us, names[0]), NULL, m, 0, NULL) !=
	    INBOX_PENDING)
		return -1;
	inbox_stats(ib, &st);
	qcost = st.bytes - mcost(0, 2) - boxcost(0);
	msg_unref(m);
	inbox_close(ib);
	users_reap(us);
	return qcost > 0 && qcost < 256 ? 0 : -1;
}

int
main(int argc, char *argv[])
{
	struct users	*us;
	struct stats	*s;
	struct timespec	 t0, t1;
	unsigned	 seed, from = 0, to = NSEED;
	int		 sql;

	if (argc > 1) {
		from = (unsigned)strtoul(argv[1], NULL, 10);
		to = from + 1;
	}
	if (testdir_make(top, sizeof(top), "inbox-random") == -1)
		return 1;
	log_init("test_inbox_random", LOG_ERROR, stderr);
	if ((us = users_new()) == NULL || measure_qcost(us) == -1) {
		fprintf(stderr, "cannot measure a queued entry\n");
		return 1;
	}
	for (sql = 0; sql <= 1; sql++) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (seed = from; seed < to; seed++)
			run_seed(seed, sql, us);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		s = &stats[sql];
		printf("%s: %lu ops (%lu appends, %lu reads) in %.2f s; full: "
		    "queue %lu, quota %lu, history %lu, bytes %lu; dropped: "
		    "limit %lu, bytes %lu, age %lu (%lu ticks); restarts %lu, "
		    "reopens %lu, crashes %lu\n", kind_name(sql), s->ops,
		    s->puts, s->reads, (double)(t1.tv_sec - t0.tv_sec) +
		    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9, s->full_queue,
		    s->full_quota, s->full_hist, s->full_bytes, s->trimmed,
		    s->evicted, s->expired, s->ticks, s->restarts, s->reopens,
		    s->crashes);
		if (sql)
			printf("sqlite: %lu commits (%lu carried batches put "
			    "off), %lu failed; %lu put off\n", s->commits,
			    s->carried, s->failed, s->put_off);
	}
	users_free(us);
	testdir_remove(top);
	return test_done();
}
