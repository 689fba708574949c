/*
 * Copyright (c) 2026 The chat authors.
 *
 * A seeded randomized test of server/store.c and store-db.c.  For each
 * fixed seed and both backings (memory, and SQLite in a file), random
 * operations on six users' inboxes: numbered appends (live or not, 1 to
 * 200 bytes), commits, the delivery cursor moved forward and back,
 * bounded reads, nested holds, age expiry on a fake clock, close and
 * reopen, and (SQLite) a crash: a child process changes the file
 * without committing and exits.  Small limits make every retention rule
 * fire.  A model of the store says what each call must return and
 * which messages each inbox keeps; after every operation the store is
 * compared with it, and after every commit everything kept is read
 * back.  Some seeds hold every user for the whole run, so that memory
 * inboxes are never forgotten; in the others the model forgets them
 * where the store must (numbering restarts at 1).
 *
 * A failure prints the seed, the backing and the operation, then a
 * shortened sequence of operations that still fails.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <ftw.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "server.h"
#include "store.h"
#include "tap.h"

#define NSEED		20
#define NOPS		3000
#define NUSER		6
#define NREAD		256	/* more than any inbox keeps */
#define ALL		UINT64_MAX
#define CRASH_OPS	60	/* operations of a crashing child */
#define SHRINK_MAX	4000	/* replays when shortening a failure */

/* Users; one has the longest id the store takes (64 bytes). */
static const char *const names[NUSER] = {
	"a", "bob", "carol@example.org", "\xc3\xa9mile", "u5",
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
};

enum opkind {
	OP_PUT, OP_COMMIT, OP_SENT, OP_READ, OP_HOLD, OP_RELEASE,
	OP_EXPIRE, OP_REOPEN, OP_CRASH
};

struct op {
	uint8_t		 k, u, live;
	uint32_t	 len, max;
	uint64_t	 a, b, bytes, now;
};

/* The model: what the store must hold. */
struct mmsg {
	uint64_t	 ts, arr;	/* arr: arrival order, all users */
	uint32_t	 len;
};

struct muser {
	struct mmsg	*msg;		/* by seq, this numbering's */
	size_t		 cap;
	uint64_t	 last;		/* assigned, open batch too */
	uint64_t	 committed, sent;
	uint64_t	 first, n, bytes; /* kept: first..last */
	uint64_t	 maxsent;	/* the cursor's highest yet */
	int		 holds;		/* the store's count */
	int		 in_batch;	/* appended since the commit */
};

struct dent {
	int		 u;
	uint64_t	 seq;
};

struct model {
	struct muser	 u[NUSER];
	struct dent	*dl;		/* memory: delivered, in order */
	size_t		 ndl, capdl;
	uint64_t	 n, bytes, arr, next_expire;
};

struct stats {
	unsigned long	 ops, puts, full_queue, full_hist, full_bytes;
	unsigned long	 evicted, expired, trimmed, restarts, reads;
	unsigned long	 reopens, crashes;
};

struct run {
	unsigned	 seed;
	int		 sql, pin, quiet, failed, opno;
	const char	*where;		/* "" or " (crash child)" */
	struct store_config cfg;
	char		 path[1200];
	char		 epoch[17];
	struct store	*st;
	struct model	 m;
	int		 mine[NUSER];	/* holds taken by OP_HOLD */
	int		 pinned[NUSER];	/* the whole-run hold (pin) */
	uint64_t	 now;		/* the fake clock, generating */
	struct stats	*stats;
};

static char		top[1024];
static struct stats	stats[2];

static int
rm_one(const char *path, const struct stat *sb, int flag, struct FTW *f)
{
	return remove(path);
}

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

/* The bytes of the message that arrived arr-th: ASCII, some UTF-8. */
static void
fill(char *p, size_t len, uint64_t arr)
{
	uint64_t	s = arr * 0x100000001b3ULL + 7, r;
	size_t		i;

	for (i = 0; i < len; i++) {
		r = rnd(&s);
		if (r % 16 == 0 && i + 1 < len) {
			p[i++] = (char)0xc3;
			p[i] = (char)0xa9;
		} else
			p[i] = (char)(' ' + r % 95);
	}
}

static const char *
kind_name(int sql)
{
	return sql ? "sqlite" : "memory";
}

static void
op_print(FILE *fp, int i, const struct op *o)
{
	fprintf(fp, "  #%d t=%llu ", i, (unsigned long long)o->now);
	switch (o->k) {
	case OP_PUT:
		fprintf(fp, "put %s len %u%s\n", names[o->u], o->len,
		    o->live ? " live" : "");
		break;
	case OP_COMMIT:
		fprintf(fp, "commit\n");
		break;
	case OP_SENT:
		fprintf(fp, "sent_set %s %llu\n", names[o->u],
		    (unsigned long long)o->a);
		break;
	case OP_READ:
		fprintf(fp, "read %s after %llu upto %lld max %u bytes %lld\n",
		    names[o->u], (unsigned long long)o->a,
		    o->b == ALL ? -1LL : (long long)o->b, o->max,
		    o->bytes == ALL ? -1LL : (long long)o->bytes);
		break;
	case OP_HOLD:
		fprintf(fp, "hold %s\n", names[o->u]);
		break;
	case OP_RELEASE:
		fprintf(fp, "release %s\n", names[o->u]);
		break;
	case OP_EXPIRE:
		fprintf(fp, "expire\n");
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
	fprintf(stderr, "test_store_random: model: %s\n", what);
	abort();
}

static struct mmsg *
mmsg(struct model *m, int u, uint64_t seq)
{
	if (seq >= m->u[u].cap)
		model_bug("no such message");
	return &m->u[u].msg[seq];
}

static void
dl_push(struct model *m, int u, uint64_t seq)
{
	if (m->ndl == m->capdl) {
		m->capdl = m->capdl ? m->capdl * 2 : 64;
		if ((m->dl = reallocarray(m->dl, m->capdl,
		    sizeof(*m->dl))) == NULL)
			model_bug("out of memory");
	}
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

/* Drop u's oldest kept message. */
static void
drop_front(struct run *r, int u)
{
	struct model	*m = &r->m;
	struct muser	*mu = &m->u[u];
	struct mmsg	*e;

	if (mu->n == 0)
		model_bug("drop from an empty inbox");
	if (mu->first > mu->sent)
		model_bug("drop of an undelivered message");
	e = mmsg(m, u, mu->first);
	if (!r->sql)
		dl_remove(m, u, mu->first);
	mu->n--;
	mu->bytes -= e->len;
	m->n--;
	m->bytes -= e->len;
	mu->first = mu->n > 0 ? mu->first + 1 : 0;
}

/*
 * The next delivered message retention by bytes drops: memory, the
 * oldest delivered (delivery order); SQLite, the oldest row (arrival
 * order) among the delivered.  -1: none.
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
		if (m->u[u].n == 0 || m->u[u].first > m->u[u].sent)
			continue;
		if (mmsg(m, u, m->u[u].first)->arr < best) {
			best = mmsg(m, u, m->u[u].first)->arr;
			v = u;
		}
	}
	return v;
}

/* What store_next() must say; drops what it must drop. */
static enum store_status
model_next(struct run *r, int u, size_t len, int live, uint64_t *seq)
{
	struct model	*m = &r->m;
	struct muser	*mu = &m->u[u];
	int		 v;

	*seq = mu->last + 1;
	if (!live && mu->last - mu->sent >= r->cfg.queue_limit) {
		r->stats->full_queue++;
		return STORE_FULL;
	}
	if (mu->n >= r->cfg.history_limit &&
	    (mu->n == 0 || mu->first > mu->sent)) {
		r->stats->full_hist++;
		return STORE_FULL;
	}
	if (len > r->cfg.history_bytes) {
		r->stats->full_bytes++;
		return STORE_FULL;
	}
	while (m->bytes + len > r->cfg.history_bytes) {
		if ((v = victim(r)) == -1) {
			r->stats->full_bytes++;
			return STORE_FULL;
		}
		drop_front(r, v);
		r->stats->evicted++;
	}
	return STORE_OK;
}

static void
model_append(struct run *r, int u, size_t len, uint64_t ts)
{
	struct model	*m = &r->m;
	struct muser	*mu = &m->u[u];
	struct mmsg	*e;
	uint64_t	 seq = mu->last + 1, upto;
	size_t		 ncap;

	if (seq >= mu->cap) {
		ncap = mu->cap ? mu->cap * 2 : 64;
		while (ncap <= seq)
			ncap *= 2;
		if ((mu->msg = reallocarray(mu->msg, ncap,
		    sizeof(*mu->msg))) == NULL)
			model_bug("out of memory");
		mu->cap = ncap;
	}
	e = &mu->msg[seq];
	e->ts = ts;
	e->arr = ++m->arr;
	e->len = (uint32_t)len;
	mu->last = seq;
	if (mu->n++ == 0)
		mu->first = seq;
	mu->bytes += len;
	m->n++;
	m->bytes += len;
	mu->in_batch = 1;
	if (mu->n > r->cfg.history_limit) {
		upto = mu->last - r->cfg.history_limit;
		if (upto > mu->sent)
			upto = mu->sent;
		while (mu->n > 0 && mu->first <= upto) {
			drop_front(r, u);
			r->stats->trimmed++;
		}
	}
}

static void
model_sent(struct run *r, int u, uint64_t v)
{
	struct model	*m = &r->m;
	struct muser	*mu = &m->u[u];
	uint64_t	 s;

	if (v > mu->last)
		v = mu->last;
	if (v == mu->sent)
		return;
	if (!r->sql && mu->n > 0) {
		if (v > mu->sent) {
			s = mu->sent + 1 > mu->first ? mu->sent + 1 : mu->first;
			for (; s <= v; s++)
				dl_push(m, u, s);
		} else {
			for (s = v + 1; s <= mu->sent; s++)
				if (s >= mu->first)
					dl_remove(m, u, s);
		}
	}
	mu->sent = v;
	if (v > mu->maxsent)
		mu->maxsent = v;
}

static void
model_commit(struct run *r)
{
	int	u;

	for (u = 0; u < NUSER; u++) {
		r->m.u[u].committed = r->m.u[u].last;
		r->m.u[u].in_batch = 0;
	}
}

static int
arr_cmp(const void *a, const void *b)
{
	const uint64_t	*x = a, *y = b;

	return x[0] < y[0] ? -1 : x[0] > y[0];
}

static void
model_expire(struct run *r, uint64_t now)
{
	struct model	*m = &r->m;
	struct muser	*mu;
	uint64_t	 age, cutoff, period, rows[NUSER * NREAD][3], s;
	size_t		 nrows = 0, i, bound, cnt = 0;
	int		 u, mark[NUSER];

	if (r->cfg.history_days <= 0 || now < m->next_expire)
		return;
	age = (uint64_t)(r->cfg.history_days * 86400000.0);
	cutoff = now > age ? now - age : 0;
	period = age / 10;
	period = period < 1000 ? 1000 : period > 60000 ? 60000 : period;
	m->next_expire = now + period;
	if (!r->sql) {
		/* Oldest delivered first; stop at a young one. */
		for (i = 0; m->ndl > 0 && mmsg(m, m->dl[0].u,
		    m->dl[0].seq)->ts < cutoff && i < 256 * 16; i++) {
			drop_front(r, m->dl[0].u);
			r->stats->expired++;
		}
		return;
	}
	/* Rows in arrival order, up to the first young one. */
	for (u = 0; u < NUSER; u++) {
		mu = &m->u[u];
		mark[u] = 0;
		for (s = mu->first; mu->n > 0 && s <= mu->last; s++) {
			if (nrows == NUSER * NREAD)
				model_bug("too many rows");
			rows[nrows][0] = mmsg(m, u, s)->arr;
			rows[nrows][1] = (uint64_t)u;
			rows[nrows++][2] = s;
		}
	}
	qsort(rows, nrows, sizeof(rows[0]), arr_cmp);
	for (bound = 0; bound < nrows; bound++)
		if (mmsg(m, (int)rows[bound][1], rows[bound][2])->ts >= cutoff)
			break;
	for (i = 0; i < bound && cnt < 256; i++) {
		u = (int)rows[i][1];
		if (rows[i][2] <= m->u[u].sent) {
			mark[u] = 1;
			cnt++;
		}
	}
	for (u = 0; u < NUSER; u++) {
		mu = &m->u[u];
		while (mark[u] && mu->n > 0 && mu->first <= mu->sent &&
		    mmsg(m, u, mu->first)->ts < cutoff) {
			drop_front(r, u);
			r->stats->expired++;
		}
	}
	if (cnt == 256)
		m->next_expire = now;
}

/*
 * The memory backing forgets an inbox that nothing needs: no hold, not
 * in the open batch, nothing kept, nothing undelivered.  Its numbering
 * restarts at 1.
 */
static void
model_forget(struct run *r)
{
	struct muser	*mu;
	int		 u;

	if (r->sql)
		return;
	for (u = 0; u < NUSER; u++) {
		mu = &r->m.u[u];
		if (mu->last == 0 || mu->holds > 0 || mu->in_batch ||
		    mu->n > 0 || mu->sent != mu->last)
			continue;
		mu->last = mu->committed = mu->sent = mu->first = 0;
		mu->bytes = mu->maxsent = 0;
		r->stats->restarts++;
	}
}

static struct store *
open_store(struct run *r)
{
	struct store	*st;
	char		 err[512];

	if ((st = store_open(&r->cfg, err, sizeof(err))) == NULL)
		fprintf(stderr, "seed %u %s: store_open: %s\n", r->seed,
		    kind_name(r->sql), err);
	return st;
}

/* Compare every number the store tells with the model. */
static void
check_numbers(struct run *r)
{
	struct model	*m = &r->m;
	struct muser	*mu;
	uint64_t	 last, sent, first;
	int		 u;

	for (u = 0; u < NUSER; u++) {
		mu = &m->u[u];
		last = store_last(r->st, names[u]);
		sent = store_sent(r->st, names[u]);
		first = store_first(r->st, names[u]);
		VERIFY(r, last == mu->committed, "store_last(%s) %llu, "
		    "model %llu", names[u], (unsigned long long)last,
		    (unsigned long long)mu->committed);
		VERIFY(r, sent == mu->sent, "store_sent(%s) %llu, model %llu",
		    names[u], (unsigned long long)sent,
		    (unsigned long long)mu->sent);
		VERIFY(r, first == (mu->n > 0 ? mu->first : 0),
		    "store_first(%s) %llu, model %llu", names[u],
		    (unsigned long long)first,
		    (unsigned long long)(mu->n > 0 ? mu->first : 0));
		/*
		 * Never one the cursor has not passed dropped (it may have
		 * been dropped before the cursor moved back).
		 */
		VERIFY(r, first == 0 ? mu->last <= mu->maxsent :
		    first <= mu->maxsent + 1, "%s: first %llu, cursor at "
		    "most %llu, last %llu: an undelivered message is gone",
		    names[u], (unsigned long long)first,
		    (unsigned long long)mu->maxsent,
		    (unsigned long long)mu->last);
		VERIFY(r, first == 0 || mu->last - first + 1 <=
		    r->cfg.history_limit, "%s: keeps %llu..%llu, limit %zu",
		    names[u], (unsigned long long)first,
		    (unsigned long long)mu->last, r->cfg.history_limit);
	}
	VERIFY(r, store_count(r->st) == m->n, "store_count %llu, model %llu",
	    (unsigned long long)store_count(r->st),
	    (unsigned long long)m->n);
	VERIFY(r, store_bytes(r->st) == m->bytes, "store_bytes %llu, model "
	    "%llu", (unsigned long long)store_bytes(r->st),
	    (unsigned long long)m->bytes);
	VERIFY(r, store_bytes(r->st) <= r->cfg.history_bytes,
	    "store_bytes %llu over the bound %zu",
	    (unsigned long long)store_bytes(r->st), r->cfg.history_bytes);
}

/*
 * store_read(), checked against the model: the seqs it must return in
 * order, each byte-equal to what was appended.  The count read (-1 on
 * a mismatch); *sum gets their bytes.
 */
static int
check_read(struct run *r, int u, uint64_t after, uint64_t upto,
    size_t max, size_t bytes, uint64_t *sum)
{
	struct muser	*mu = &r->m.u[u];
	struct msg	*v[NREAD];
	struct mmsg	*e;
	char		 want[256];
	uint64_t	 s, hi, tot = 0, prev = after;
	size_t		 nwant = 0;
	int		 n, i, ok = 1;

	if (max > NREAD)
		model_bug("max too big");
	n = store_read(r->st, names[u], after, upto, max, bytes, v);
	VERIFY(r, n >= 0, "store_read(%s) failed", names[u]);
	if (n < 0)
		return -1;
	/* What it must be: kept, committed, in (after, upto]. */
	hi = upto < mu->committed ? upto : mu->committed;
	s = after + 1 > mu->first ? after + 1 : mu->first;
	for (; mu->n > 0 && s <= hi && nwant < max; s++) {
		e = mmsg(&r->m, u, s);
		if (nwant > 0 && tot + e->len > bytes)
			break;
		tot += e->len;
		nwant++;
	}
	VERIFY(r, (size_t)n == nwant, "store_read(%s, after %llu, upto "
	    "%llu, max %zu, bytes %zu): %d, model %zu", names[u],
	    (unsigned long long)after, (unsigned long long)upto, max, bytes,
	    n, nwant);
	ok = (size_t)n == nwant;
	s = after + 1 > mu->first ? after + 1 : mu->first;
	tot = 0;
	for (i = 0; i < n; i++, s++) {
		VERIFY(r, v[i]->seq > prev && v[i]->seq <= upto &&
		    v[i]->seq <= mu->committed, "%s: seq %llu after %llu, "
		    "upto %llu, committed %llu", names[u],
		    (unsigned long long)v[i]->seq, (unsigned long long)prev,
		    (unsigned long long)upto,
		    (unsigned long long)mu->committed);
		prev = v[i]->seq;
		if (ok && mu->n > 0 && s <= mu->last) {
			e = mmsg(&r->m, u, s);
			VERIFY(r, v[i]->seq == s, "%s: read seq %llu, model "
			    "%llu", names[u], (unsigned long long)v[i]->seq,
			    (unsigned long long)s);
			VERIFY(r, v[i]->len == e->len, "%s seq %llu: %zu "
			    "bytes, appended %u", names[u],
			    (unsigned long long)s, v[i]->len, e->len);
			if (v[i]->len == e->len) {
				fill(want, e->len, e->arr);
				VERIFY(r, memcmp(v[i]->data, want,
				    e->len) == 0, "%s seq %llu: not the bytes "
				    "appended", names[u],
				    (unsigned long long)s);
			}
		}
		VERIFY(r, i == 0 || tot + v[i]->len <= bytes,
		    "%s: read past the bytes bound %zu", names[u], bytes);
		tot += v[i]->len;
		msg_unref(v[i]);
	}
	*sum = tot;
	return n;
}

/*
 * Everything kept, read back (the open batch is empty): first..last
 * contiguous, the undelivered ones all there, totals.
 */
static void
check_all(struct run *r)
{
	struct muser	*mu;
	struct msg	*v[NREAD];
	uint64_t	 first, sum, tn = 0, tb = 0;
	int		 u, n, i;

	for (u = 0; u < NUSER; u++) {
		mu = &r->m.u[u];
		if ((n = check_read(r, u, 0, ALL, NREAD, SIZE_MAX, &sum)) < 0)
			continue;
		tn += (uint64_t)n;
		tb += sum;
		first = store_first(r->st, names[u]);
		VERIFY(r, (n == 0 && first == 0) || (n > 0 &&
		    first + (uint64_t)n - 1 == store_last(r->st, names[u])),
		    "%s: %d readable, first %llu last %llu", names[u], n,
		    (unsigned long long)first,
		    (unsigned long long)store_last(r->st, names[u]));
		/*
		 * Never delivered: all readable.  (Those between the
		 * cursor and its highest may be gone if it moved back.)
		 */
		n = store_read(r->st, names[u], mu->maxsent, ALL, NREAD,
		    SIZE_MAX, v);
		VERIFY(r, n >= 0 && (uint64_t)n == (mu->committed >
		    mu->maxsent ? mu->committed - mu->maxsent : 0),
		    "%s: %d undelivered readable, cursor at most %llu, last "
		    "%llu", names[u], n, (unsigned long long)mu->maxsent,
		    (unsigned long long)mu->committed);
		for (i = 0; i < n; i++) {
			VERIFY(r, v[i]->seq == mu->maxsent + 1 + (uint64_t)i,
			    "%s: undelivered #%d is seq %llu", names[u], i,
			    (unsigned long long)v[i]->seq);
			msg_unref(v[i]);
		}
	}
	VERIFY(r, store_count(r->st) == tn, "store_count %llu, readable "
	    "%llu", (unsigned long long)store_count(r->st),
	    (unsigned long long)tn);
	VERIFY(r, store_bytes(r->st) == tb, "store_bytes %llu, readable "
	    "%llu", (unsigned long long)store_bytes(r->st),
	    (unsigned long long)tb);
}

static void
do_put(struct run *r, const struct op *o)
{
	struct msg		*m;
	enum store_status	 want, got;
	uint64_t		 seq = 0, wseq;
	int			 u = o->u;

	r->stats->puts++;
	want = model_next(r, u, o->len, o->live, &wseq);
	got = store_next(r->st, names[u], o->len, o->live, &seq);
	VERIFY(r, got == want, "store_next(%s, %u, live %d): %d, model %d "
	    "(0 ok, 1 full)", names[u], o->len, o->live, got, want);
	VERIFY(r, seq == wseq, "store_next(%s): seq %llu, model %llu",
	    names[u], (unsigned long long)seq, (unsigned long long)wseq);
	if (got != STORE_OK || want != STORE_OK || seq != wseq)
		return;
	if ((m = msg_alloc(o->len)) == NULL)
		model_bug("out of memory");
	fill(m->data, o->len, r->m.arr + 1);
	m->seq = seq;
	got = store_append(r->st, names[u], m, o->now);
	msg_unref(m);
	VERIFY(r, got == STORE_OK, "store_append(%s, seq %llu): %d",
	    names[u], (unsigned long long)seq, got);
	model_append(r, u, o->len, o->now);
	if (r->pin && !r->pinned[u]) {
		VERIFY(r, store_hold(r->st, names[u]) == 1,
		    "store_hold(%s) after an append", names[u]);
		r->pinned[u] = 1;
		r->m.u[u].holds++;
	}
}

/* A new store object: holds, the cache and the expiry clock are gone. */
static void
model_reopened(struct run *r)
{
	int	u;

	for (u = 0; u < NUSER; u++) {
		r->m.u[u].holds = 0;
		r->mine[u] = r->pinned[u] = 0;
	}
	r->m.next_expire = 0;
	if (r->sql)
		return;
	/* Memory: everything is gone. */
	for (u = 0; u < NUSER; u++) {
		r->m.u[u].last = r->m.u[u].committed = r->m.u[u].sent = 0;
		r->m.u[u].first = r->m.u[u].n = r->m.u[u].bytes = 0;
		r->m.u[u].maxsent = 0;
	}
	r->m.n = r->m.bytes = 0;
	r->m.ndl = 0;
}

static void
check_epoch(struct run *r)
{
	const char	*e = store_epoch(r->st);

	VERIFY(r, strlen(e) == 16 && strspn(e, "0123456789abcdef") == 16,
	    "epoch '%s'", e);
	if (r->sql && r->epoch[0] != '\0')
		VERIFY(r, strcmp(e, r->epoch) == 0, "epoch '%s' after a "
		    "reopen, was '%s'", e, r->epoch);
	snprintf(r->epoch, sizeof(r->epoch), "%s", e);
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

	/* store_close() commits what is open. */
	model_commit(r);
	store_close(r->st);
	r->st = NULL;
	model_reopened(r);
	model_forget(r);
	if (o->k == OP_CRASH && r->sql) {
		r->stats->crashes++;
		fflush(NULL);
		if ((pid = fork()) == -1)
			model_bug("fork");
		if (pid == 0) {
			c = *r;
			c.where = " (crash child)";
			if ((c.st = open_store(&c)) == NULL)
				_exit(2);
			rs = o->a;
			c.now = o->now;
			for (i = 0; i < CRASH_OPS && !c.failed; i++) {
				do
					gen_op(&c, &rs, &co);
				while (co.k == OP_COMMIT || co.k == OP_REOPEN ||
				    co.k == OP_CRASH);
				c.opno = i;
				exec_op(&c, &co);
			}
			/* No store_close(): that would commit. */
			_exit(c.failed ? 1 : 0);
		}
		if (waitpid(pid, &status, 0) == -1)
			model_bug("waitpid");
		VERIFY(r, WIFEXITED(status) && WEXITSTATUS(status) == 0,
		    "the crashing child failed (status %d)", status);
	} else
		r->stats->reopens++;
	if ((r->st = open_store(r)) == NULL) {
		VERIFY(r, r->st != NULL, "%s", "reopen");
		return;
	}
	check_epoch(r);
	check_all(r);
}

/*
 * What an operation dropped (first went up, or to 0) must have been
 * delivered: seq <= the cursor as it was.
 */
static void
check_drops(struct run *r, const uint64_t (*before)[3])
{
	uint64_t	first, hi;
	int		u;

	for (u = 0; u < NUSER; u++) {
		if (before[u][0] == 0)
			continue;
		first = store_first(r->st, names[u]);
		if (first != 0 && first <= before[u][0])
			continue;
		hi = first == 0 ? before[u][2] : first - 1;
		VERIFY(r, hi <= before[u][1], "%s: dropped %llu..%llu, the "
		    "cursor was at %llu", names[u],
		    (unsigned long long)before[u][0], (unsigned long long)hi,
		    (unsigned long long)before[u][1]);
	}
}

static void
exec_op(struct run *r, const struct op *o)
{
	struct muser	*mu = &r->m.u[o->u];
	uint64_t	 sum, before[NUSER][3];
	int		 h, want, u;

	r->stats->ops++;
	for (u = 0; u < NUSER; u++) {
		before[u][0] = r->m.u[u].n > 0 ? r->m.u[u].first : 0;
		before[u][1] = r->m.u[u].sent;
		before[u][2] = r->m.u[u].last;
	}
	switch (o->k) {
	case OP_PUT:
		do_put(r, o);
		break;
	case OP_COMMIT:
		VERIFY(r, store_commit(r->st) == 0, "%s", "store_commit");
		VERIFY(r, store_failing(r->st) == 0, "%s", "store_failing");
		model_commit(r);
		break;
	case OP_SENT:
		store_sent_set(r->st, names[o->u], o->a);
		model_sent(r, o->u, o->a);
		break;
	case OP_READ:
		r->stats->reads++;
		check_read(r, o->u, o->a, o->b, o->max, o->bytes, &sum);
		break;
	case OP_HOLD:
		want = mu->last > 0;
		h = store_hold(r->st, names[o->u]);
		VERIFY(r, h == want, "store_hold(%s): %d, model %d (last "
		    "%llu)", names[o->u], h, want,
		    (unsigned long long)mu->last);
		if (h) {
			mu->holds++;
			r->mine[o->u]++;
		}
		break;
	case OP_RELEASE:
		if (r->mine[o->u] > 0) {
			store_release(r->st, names[o->u]);
			mu->holds--;
			r->mine[o->u]--;
		}
		break;
	case OP_EXPIRE:
		store_expire(r->st, o->now);
		model_expire(r, o->now);
		break;
	case OP_REOPEN:
	case OP_CRASH:
		do_reopen(r, o);
		break;
	}
	model_forget(r);
	if (r->st == NULL)
		return;
	/* A memory store forgets everything at a close. */
	if (r->sql || (o->k != OP_REOPEN && o->k != OP_CRASH))
		check_drops(r, (const uint64_t (*)[3])before);
	check_numbers(r);
	if (o->k == OP_COMMIT)
		check_all(r);
}

static void
gen_op(struct run *r, uint64_t *rs, struct op *o)
{
	struct muser	*mu;
	uint64_t	 x, hi;

	memset(o, 0, sizeof(*o));
	/*
	 * Some seeds tick in 43 ms steps, half the 86 ms age: messages
	 * exactly as old as the cutoff.
	 */
	if (r->seed / 2 % 2 == 0) {
		r->now += rndn(rs, 3) == 0 ? 43 : 0;
		if (rndn(rs, 50) == 0)
			r->now += 43 * rndn(rs, 70);
	} else {
		r->now += rndn(rs, 20);
		if (rndn(rs, 50) == 0)
			r->now += rndn(rs, 3000);
	}
	o->now = r->now;
	o->u = (uint8_t)rndn(rs, NUSER);
	mu = &r->m.u[o->u];
	x = rndn(rs, 1000);
	/* Some seeds deliver eagerly, some let queues fill. */
	if (r->seed % 3 == 1 && x >= 340 && x < 500)
		x = 500 + x % 80;
	if (x < 340) {
		o->k = OP_PUT;
		o->len = 1 + (uint32_t)rndn(rs, 200);
		o->live = rndn(rs, 4) == 0;
	} else if (x < 460)
		o->k = OP_COMMIT;
	else if (x < 580) {
		o->k = OP_SENT;
		hi = rndn(rs, 4) == 0 ? mu->last : mu->committed;
		if (rndn(rs, 30) == 0)
			o->a = mu->last + 1 + rndn(rs, 3);
		else if (hi <= mu->sent)
			o->a = mu->sent;
		else if (rndn(rs, 3) == 0)
			o->a = hi;
		else
			o->a = mu->sent + 1 + rndn(rs, hi - mu->sent);
	} else if (x < 620) {
		o->k = OP_SENT;
		o->a = rndn(rs, mu->sent + 1);
	} else if (x < 740) {
		o->k = OP_READ;
		o->a = rndn(rs, mu->last + 3);
		switch (rndn(rs, 4)) {
		case 0:
			o->b = ALL;
			break;
		case 1:
			o->b = mu->last + rndn(rs, 3);
			break;
		default:
			o->b = o->a + rndn(rs, 25);
			if (rndn(rs, 5) == 0)
				o->b -= o->b < 3 ? o->b : 3;
			break;
		}
		o->max = rndn(rs, 8) == 0 ? (uint32_t)rndn(rs, 3) :
		    1 + (uint32_t)rndn(rs, 30);
		o->bytes = rndn(rs, 4) == 0 ? SIZE_MAX : rndn(rs, 1500);
	} else if (x < 780)
		o->k = r->mine[o->u] < 3 ? OP_HOLD : OP_RELEASE;
	else if (x < 820)
		o->k = OP_RELEASE;
	else if (x < 900)
		o->k = OP_EXPIRE;
	else if (x < 996)
		o->k = OP_COMMIT;
	else if (x < 999 || !r->sql)
		o->k = OP_REOPEN;
	else {
		o->k = OP_CRASH;
		o->a = rnd(rs);
	}
}

static void
run_init(struct run *r, unsigned seed, int sql)
{
	memset(r, 0, sizeof(*r));
	r->seed = seed;
	r->sql = sql;
	r->where = "";
	r->pin = seed % 4 < 2;
	r->stats = &stats[sql];
	r->now = 1700000000000ULL + seed;
	r->cfg.history_limit = 20;
	r->cfg.queue_limit = 15;
	r->cfg.history_bytes = 4000;
	r->cfg.history_days = seed & 1 ? 1e-6 : 0;
	switch (seed % 5) {
	case 2:
		r->cfg.history_bytes = 1 << 20;	/* counts bind */
		r->cfg.queue_limit = 30;
		break;
	case 3:
		r->cfg.history_bytes = 600;	/* bytes drop most */
		break;
	case 4:
		r->cfg.history_limit = 5;	/* some too big to keep */
		r->cfg.queue_limit = 3;
		r->cfg.history_bytes = 150;
		break;
	}
	if (sql) {
		snprintf(r->path, sizeof(r->path), "%s/r%u.db", top, seed);
		r->cfg.path = r->path;
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
	int	u;

	if (r->st != NULL)
		store_close(r->st);
	r->st = NULL;
	for (u = 0; u < NUSER; u++)
		free(r->m.u[u].msg);
	free(r->m.dl);
	memset(&r->m, 0, sizeof(r->m));
	run_files_rm(r);
}

/* Open, then the end: release every hold, commit, check, reopen. */
static int
run_start(struct run *r)
{
	run_files_rm(r);
	if ((r->st = open_store(r)) == NULL) {
		VERIFY(r, r->st != NULL, "%s", "store_open");
		return -1;
	}
	VERIFY(r, strcmp(store_kind(r->st), kind_name(r->sql)) == 0,
	    "store_kind %s", store_kind(r->st));
	check_epoch(r);
	return 0;
}

static void
run_end(struct run *r)
{
	struct op	o;
	int		u;

	for (u = 0; u < NUSER && r->st != NULL; u++) {
		while (r->mine[u] > 0 || r->pinned[u]) {
			store_release(r->st, names[u]);
			r->m.u[u].holds--;
			if (r->mine[u] > 0)
				r->mine[u]--;
			else
				r->pinned[u] = 0;
		}
	}
	memset(&o, 0, sizeof(o));
	o.k = OP_COMMIT;
	if (!r->failed && r->st != NULL)
		exec_op(r, &o);
	o.k = OP_REOPEN;
	if (!r->failed && r->st != NULL && r->sql)
		exec_op(r, &o);
}

/*
 * Run ops[idx[0..n-1]] quietly on a fresh store: the index (into idx)
 * of the first that fails, or -1.
 */
static int
replay(unsigned seed, int sql, const struct op *ops, const int *idx, int n)
{
	struct run	r;
	struct stats	junk;
	int		i, bad_at = -1;

	run_init(&r, seed, sql);
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
shrink(unsigned seed, int sql, const struct op *ops, int nops)
{
	struct run	 r;
	int		*idx, *t, n = nops, chunk, start, at, i, j;
	int		 tries = 0;

	if ((idx = calloc((size_t)nops, sizeof(*idx))) == NULL ||
	    (t = calloc((size_t)nops, sizeof(*t))) == NULL)
		model_bug("out of memory");
	for (i = 0; i < n; i++)
		idx[i] = i;
	if ((at = replay(seed, sql, ops, idx, n)) == -1) {
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
			    (at = replay(seed, sql, ops, t, j)) != -1) {
				n = at + 1;
				memcpy(idx, t, (size_t)n * sizeof(*idx));
			} else
				start += chunk;
		}
	}
	run_init(&r, seed, sql);
	fprintf(stderr, "seed %u %s: fails after these %d operations on a "
	    "fresh store (history_limit %zu, queue_limit %zu, history_bytes "
	    "%zu, history_days %g%s):\n", seed, kind_name(sql), n,
	    r.cfg.history_limit, r.cfg.queue_limit, r.cfg.history_bytes,
	    r.cfg.history_days, r.pin ? ", each user held from its first "
	    "message" : "");
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
run_seed(unsigned seed, int sql)
{
	struct run	 r;
	struct op	*ops;
	uint64_t	 rs = 0x5eed0000ULL + seed * 7919ULL + (uint64_t)sql;
	int		 i, failed_at = -1;

	if ((ops = calloc(NOPS, sizeof(*ops))) == NULL)
		model_bug("out of memory");
	run_init(&r, seed, sql);
	if (run_start(&r) == -1) {
		free(ops);
		return;
	}
	for (i = 0; i < NOPS && r.st != NULL; i++) {
		gen_op(&r, &rs, &ops[i]);
		r.opno = i;
		exec_op(&r, &ops[i]);
		if (r.failed) {
			failed_at = i;
			break;
		}
	}
	if (failed_at == -1) {
		r.opno = NOPS;
		run_end(&r);
	}
	run_free(&r);
	if (failed_at != -1) {
		fprintf(stderr, "seed %u %s: failed at op %d; last ops:\n",
		    seed, kind_name(sql), failed_at);
		for (i = failed_at >= 20 ? failed_at - 20 : 0; i <= failed_at;
		    i++)
			op_print(stderr, i, &ops[i]);
		shrink(seed, sql, ops, failed_at + 1);
	}
	free(ops);
}

int
main(int argc, char *argv[])
{
	const char	*tmp = getenv("TEST_TMP");
	struct stats	*s;
	struct timespec	 t0, t1;
	unsigned	 seed, from = 0, to = NSEED;
	int		 sql;

	/* test_store_random [SEED]: one seed only. */
	if (argc > 1) {
		from = (unsigned)strtoul(argv[1], NULL, 10);
		to = from + 1;
	}
	if (tmp == NULL || *tmp == '\0')
		tmp = getenv("TMPDIR");
	snprintf(top, sizeof(top), "%s/store-random.XXXXXX",
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	if (mkdtemp(top) == NULL) {
		perror(top);
		return 1;
	}
	log_init("test_store_random", LOG_ERROR, stderr);
	for (sql = 0; sql <= 1; sql++) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (seed = from; seed < to; seed++)
			run_seed(seed, sql);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		s = &stats[sql];
		printf("%s: %lu ops (%lu puts, %lu reads) in %.2f s; full: "
		    "queue %lu, history %lu, bytes %lu; dropped: limit %lu, "
		    "bytes %lu, age %lu; restarts %lu, reopens %lu, crashes "
		    "%lu\n", kind_name(sql), s->ops, s->puts, s->reads,
		    (double)(t1.tv_sec - t0.tv_sec) +
		    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9, s->full_queue,
		    s->full_hist, s->full_bytes, s->trimmed, s->evicted,
		    s->expired, s->restarts, s->reopens, s->crashes);
	}
	nftw(top, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return test_done();
}
