/*
 * Copyright (c) 2026 The chat authors.
 *
 * inbox-js: the JetStream backing of the inboxes (see inbox.h), shared
 * by the nodes of a cluster over NATS (nats-link.h).
 *
 * Stream CHAT holds every user's inbox (subject chat.inbox.<hex of the
 * id>, since ids may contain '.').  Stream CHAT_CURSOR keeps each user's
 * cursor (chat.cursor.<hex>, one message per subject) and a floor of the
 * newest seq stored in the inbox with the nodes that may have stored past
 * it (chat.newest.<hex>), which outlives the messages: a node reads it and
 * adds itself before it stores in an inbox, so that the chain goes on
 * after retention emptied the inbox, or readers are told it may have gone
 * further (see newest_parse()).  The epoch is a
 * hash of CHAT's creation time and of the storage format: a stream made
 * again, or read with another numbering, is a new epoch.
 *
 * Storage format 2 (header Chat-Format: 2): one stored message holds the
 * n chat events (1 to SEQ_K) that waited for the same target while its
 * previous store was in flight, one per line, each without its seq.
 * Event i of the message at stream sequence T has seq
 * T * SEQ_K + SEQ_K - n + i: seqs grow within an inbox (sparse), and the
 * last event of every stored message ends in SEQ_K - 1, so the seq
 * before a stored message is known from the stream sequence alone.
 * Format 1 (no Chat-Format header, what earlier versions wrote): one
 * event per message, read as n = 1; its Chat-Prev and cursors are
 * stream sequences, converted the same way.  Headers: Chat-Prev (the
 * seq before the first event), Chat-Count (n), Chat-After (the stream
 * sequence expected before it, also given to JetStream as
 * Nats-Expected-Last-Subject-Sequence), Chat-Prev-Unknown (1: the chain
 * before it is not known; prev is the seq just before it).
 *
 * An inbox is a chain: each stored message is published expecting the
 * inbox's last stream sequence; JetStream refuses it if another node
 * appended meanwhile and says what the last one is, and it is sent
 * again after it.  So every stored message knows the one before it and
 * a reader sees what retention took.  One store per target in flight;
 * what is appended meanwhile waits and goes in the next, and the pass's
 * commit sends what waits, so a busy inbox stores many events at once
 * and an idle one stores each event as it comes.
 *
 * Once stored, the events go to the other nodes that presence says have
 * a connection of the target, in one message per node per pass on
 * chat.node.<node id> (records "<hex user> <seq> <prev> <len>\n<event>\n";
 * a record of length 0 only says the inbox's last seq).  A node that
 * starts holding a user (presence) is told the last seq of every inbox
 * this node stored in lately, so a store that raced with its arrival is
 * read, not missed.  The append is answered when JetStream acknowledged
 * the store.
 *
 * Cursors go out at most every CURSOR_MS per user, and at once when the
 * user's last connection here goes: a cursor is what a connection
 * without since starts at, and what a purge may take up to; one
 * that lags only means messages sent again, never one lost.
 *
 * The guarantee holds here too: CHAT discards new messages per subject
 * (--history-limit stored messages each), so JetStream refuses rather
 * than drops.  Before that, an inbox this node stored in has its
 * delivered messages (those up to its cursor) purged in the background,
 * in steps spread over time (see purge_step()).  A refused store still
 * purges them and is tried once more, else answered queue_full.  Only
 * age (--history-days) takes undelivered messages, and readers are
 * told (inbox.h: prev).  With a cluster secret, stored
 * messages and cursors are signed, and those read back without a valid
 * signature are skipped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "codec.h"
#include "hist.h"
#include "inbox.h"
#include "log.h"
#include "msg.h"
#include "nats-link.h"
#include "presence.h"
#include "users.h"
#include "util.h"
#include "vec.h"

#define SETUP_RETRY_MS	500	/* stream setup failed: again after, */
#define SETUP_RETRY_MAX	10000	/* doubling up to this */
#define HEXUSER		(2 * CODEC_MAX_USER + 1)
#define SUBJ_MAX	(64 + HEXUSER)
#define SEQ_K		1000	/* seqs per stream sequence */
#define FORMAT		"2"	/* Chat-Format of what we store */
#define CURSOR_MS	100	/* a user's cursor, at most this often */
#define NEWEST_IDS	16	/* node ids chat.newest holds, then "*" */
#define NEWEST_TRIES	10	/* its compare-and-set lost in a row */
#define NEWEST_MAX	(24 + (NEWEST_IDS + 2) * 33)	/* its text */
#define TAIL_MS		10000	/* an inbox stored in is remembered */
#define MAX_NODES	64	/* nodes one message is handed to */
#define PAYLOAD_DEFAULT	(1 << 20) /* NATS' max_payload when not known */
#define HDR_ROOM	1024	/* for the headers of a stored message */
#define RETRY_MS	20	/* a read answered too early: again after */
#define RETRY_MAX	250	/* times (5 s) */
#define READ_PATIENCE_MS 30000	/* a read failing while NATS is up */
#define PURGE_MIN_LIMIT	16	/* --history-limit below: purge when full */
#define PURGE_INFLIGHT	1	/* early purges in flight per node */
#define PURGE_GAP_MS	10	/* between the starts of two */
#define PURGE_STEPS	8	/* a purge step: --history-limit / 8 */
#define PURGE_KEEP	3	/* steps of our newest stores kept */

/* Lookup bits. */
#define L_LAST		0x1
#define L_FIRST		0x2
#define L_CURSOR	0x4

struct pub;
struct batch;

/* A user's inbox as this node deals with it (user->box). */
struct box {
	struct user	*u;
	uint32_t	 holds;		/* connections here */
	uint32_t	 ops;		/* lookups, reads, purges in flight */
	struct batch	*inflight;	/* the chain's store */
	struct pub	*head, *tail;	/* waiting behind it */
	uint64_t	 last;		/* the inbox's newest seq */
	int		 known;		/* last is believed right */
	uint64_t	 chain;		/* the newest seq ever seen */
	uint64_t	 cursor;	/* newest written here */
	uint64_t	 said, said_at;	/* ...as published, and when */
	uint64_t	 stored_at;	/* our last store, for TAIL_MS */
	uint64_t	 nseq;		/* chat.newest's stream seq, */
	uint64_t	 nval;		/* ...its seq, */
	char		*nothers;	/* ...other ids (NULL: none) */
	uint8_t		 nstate;	/* NS_*: chat.newest in flight */
	uint8_t		 ntries;	/* its writes lost in a row */
	uint8_t		 opened;	/* our id is in chat.newest */
	uint8_t		 unsure;	/* the chain may be past chain */
	uint8_t		 queued;	/* on ib->sendq */
	uint8_t		 dirty;		/* on ib->dirty */
	uint8_t		 gc;		/* on ib->gc */
	uint8_t		 linger;	/* on ib->linger */
	uint8_t		 pstate;	/* PS_*: its early purge */
	uint32_t	 since;		/* stored here since our last purge */
	uint32_t	 mark;		/* ...at which it is purged early */
	uint64_t	 pbelow;	/* what that purge took: below this */
	uint64_t	 nstored;	/* our stores in it */
	uint64_t	 pring[PURGE_STEPS]; /* stream seq of every step-th */
	char		 hex[HEXUSER];
};

/* Where a box is with its early purge (purge_early()). */
enum { PS_NONE, PS_QUEUED, PS_BUSY };

/* What a box is doing with chat.newest. */
enum { NS_IDLE, NS_READ_OPEN, NS_OPEN, NS_READ_CLOSE, NS_CLOSE, NS_CHECK };

/* An append waiting or in a store. */
struct pub {
	struct pub	*qnext;
	void		*tag;
	struct msg	*m;		/* the event without seq */
};

/* A store in flight: the events that waited, in one message. */
struct batch {
	struct box	*b;
	struct pub	*pubs;		/* oldest first, by qnext */
	size_t		 n;
	uint64_t	 expect;	/* the stream seq JetStream must have */
	uint64_t	 prev;		/* the seq before the first, for readers */
	int		 unsure;	/* prev: the seq before its own */
	uint64_t	 sent_us;	/* when it was published */
	uint64_t	 born;
	int		 purged;	/* a purge was tried for it */
};

/* A lookup for info(). */
struct look {
	struct box	*b;
	void		*tag;
	int		 waiting, failed, down;
	uint64_t	 born, due;	/* due: on ib->lretry */
	struct inbox_info info;
};

/* A read for read(). */
struct fetch {
	struct box	*b;
	void		*tag;
	uint64_t	 after;
	size_t		 max, bytes;
	int		 hops;		/* stored messages passed over */
	int		 tries;		/* answered "nothing" too early */
	uint64_t	 due;		/* on ib->retry: when to ask again */
	uint64_t	 born;
};

/* What goes to one other node this pass. */
struct outq {
	char	 node[33];
	char	*buf;
	size_t	 len, cap;
};

enum { SETUP_CHAT, SETUP_CHAT_UPDATE, SETUP_CURSOR, SETUP_CURSOR_UPDATE };

struct inbox {
	struct inbox_base	 base;
	struct inbox_config	 cfg;
	struct nats_link	*link;
	natsSubscription	*sub;		/* chat.node.<us> */
	int			 up, ready;
	int			 setup_ok;	/* bits: CHAT, CHAT_CURSOR */
	uint64_t		 setup_retry;
	unsigned		 setup_fails;	/* rounds in a row */
	int			 setup_failed;	/* this round */
	char			 epoch[17];
	size_t			 max_batch;	/* bytes in one store */
	struct box		**sendq;	/* with appends waiting */
	size_t			  nsendq, capsendq;
	struct box		**dirty;	/* cursors to publish */
	size_t			  ndirty, capdirty;
	struct box		**gc;		/* may be idle: see reap() */
	size_t			  ngc, capgc;
	struct box		**linger;	/* idle, kept for TAIL_MS */
	size_t			  nlinger, caplinger;
	uint64_t		 next_linger;	/* when reap() looks at them */
	struct outq		*outs;
	size_t			  nouts, capouts;
	struct fetch		**retry;	/* reads to ask again */
	size_t			  nretry, capretry;
	struct look		**lretry;	/* lookups to ask again */
	size_t			  nlretry, caplretry;
	struct box		**purgeq;	/* early purges due, oldest */
	size_t			  npurgeq, cappurgeq; /* first */
	unsigned		 purging;	/* early purges in flight */
	uint64_t		 next_purge;	/* the next may start then */
	uint64_t		 purges_early, purges_full, purged;
	uint64_t		 refused_full, appended, stores;
	uint64_t		 skipped;	/* stored messages not ours */
	struct hist		 latency;	/* publish to JetStream's ack */
};

static const struct inbox_ops js_ops;

/* ---- numbering ---- */

/* The seq of event i of n in the message at stream sequence t. */
static uint64_t
seq_of(uint64_t t, size_t n, size_t i)
{
	return t * SEQ_K + SEQ_K - n + i;
}

/* The stream sequence of seq. */
static uint64_t
stream_of(uint64_t seq)
{
	return seq / SEQ_K;
}

/* A format 1 stream sequence (Chat-Prev, a cursor) as a seq. */
static uint64_t
seq_v1(uint64_t t)
{
	return t == 0 ? 0 : seq_of(t, 1, 0);
}

/*
 * The prev a just-stored event is handed to connections with.  With one
 * replica, JetStream checks Nats-Expected-Last-Subject-Sequence against
 * what it stored, one message at a time, so prev is exact and a
 * connection that has it takes the event at once.  With several
 * replicas (nats-server 2.9), two nodes storing in one inbox at once
 * were seen to both pass the check with the same expected sequence:
 * two stored messages with the same prev, the later one handed first
 * and the earlier one then skipped (test_cluster_trust).  There, prev
 * is the event's own seq: a connection that lacks it reads the inbox
 * in stream order (which never skips) instead.
 */
static uint64_t
live_prev(const struct inbox *ib, uint64_t prev, uint64_t seq)
{
	return ib->cfg.replicas > 1 ? seq : prev;
}

/* Is nm in format 2?  Else 1 (or not ours). */
static int
format2(natsMsg *nm)
{
	const char	*v = NULL;

	return natsMsgHeader_Get(nm, "Chat-Format", &v) == NATS_OK &&
	    v != NULL && strcmp(v, FORMAT) == 0;
}

/* ---- boxes ---- */

static struct box *
box_get(struct inbox *ib, struct user *u)
{
	struct box	*b;

	if (u->box != NULL)
		return u->box;
	if ((b = calloc(1, sizeof(*b))) == NULL)
		return NULL;
	b->u = u;
	util_hex(b->hex, u->id);
	u->box = b;
	user_ref(u);
	return b;
}

static int
box_idle(const struct box *b)
{
	return b->holds == 0 && b->inflight == NULL && b->head == NULL &&
	    !b->dirty && b->ops == 0 && !b->queued;
}

/*
 * b may have nothing left to do: look at it in reap(), after the pass.
 * A box is never freed inside a call that may still use it.
 */
static void
box_maybe_free(struct inbox *ib, struct box *b)
{
	if (b->gc || !box_idle(b))
		return;
	if (vec_grow(&ib->gc, &ib->capgc, ib->ngc + 1, sizeof(*ib->gc)) ==
	    -1)
		return;		/* kept: freed at close */
	b->gc = 1;
	ib->gc[ib->ngc++] = b;
}

static void
box_free(struct inbox *ib, struct box *b)
{
	struct user	*u = b->u;

	u->box = NULL;
	free(b->nothers);
	free(b);
	user_unref(ib->base.users, u);
}

static void	newest_close(struct inbox *, struct box *, int);

/*
 * Free idle b, once our id is out of its chat.newest (then it is idle
 * again, and back here): waited for, but not at exit, nor without NATS
 * (then the id stays: unsure, never lost).
 */
static void
box_let_go(struct inbox *ib, struct box *b, int force)
{
	if (b->opened && ib->ready && !force) {
		newest_close(ib, b, 1);
		return;
	}
	if (b->opened && nats_link_up(ib->link))
		newest_close(ib, b, 0);
	box_free(ib, b);
}

/*
 * Free the idle boxes of the pass, but keep for TAIL_MS those stored in
 * lately (js_joined() needs their last seq); all of them with force.
 */
static void
reap(struct inbox *ib, uint64_t now, int force)
{
	struct box	*b;
	size_t		 i, k;

	for (i = 0; i < ib->ngc; i++) {
		b = ib->gc[i];
		b->gc = 0;
		if (!box_idle(b) || b->linger)
			continue;
		if (!force && b->stored_at != 0 &&
		    now - b->stored_at < TAIL_MS &&
		    vec_grow(&ib->linger, &ib->caplinger, ib->nlinger + 1,
		    sizeof(*ib->linger)) == 0) {
			b->linger = 1;
			ib->linger[ib->nlinger++] = b;
		} else
			box_let_go(ib, b, force);
	}
	ib->ngc = 0;
	/* The lingering ones, once a second. */
	if (!force && now < ib->next_linger)
		return;
	ib->next_linger = now + 1000;
	for (i = k = 0; i < ib->nlinger; i++) {
		b = ib->linger[i];
		if (!box_idle(b))
			b->linger = 0;	/* in use again: back to gc later */
		else if (force || now - b->stored_at >= TAIL_MS) {
			b->linger = 0;
			box_let_go(ib, b, force);
		} else
			ib->linger[k++] = b;
	}
	ib->nlinger = k;
}

/* ---- streams ---- */

/* Try again later, less and less often; log the 1st, 2nd, 4th... */
static void
setup_failed(struct inbox *ib, const char *stream, const char *why)
{
	uint64_t	delay = SETUP_RETRY_MS;
	unsigned	n;

	if (ib->setup_failed)
		return;		/* the other stream: one retry a round */
	ib->setup_failed = 1;
	n = ib->setup_fails++;
	while (n-- > 0 && delay < SETUP_RETRY_MAX)
		delay *= 2;
	if (delay > SETUP_RETRY_MAX)
		delay = SETUP_RETRY_MAX;
	if ((ib->setup_fails & (ib->setup_fails - 1)) == 0)
		log_warn("cluster: cannot set up stream %s: %s (again in "
		    "%.1f s)", stream, why, (double)delay / 1000);
	ib->setup_retry = util_mono_ms() + delay;
}

static void	setup_answer(void *, void *, natsMsg *);

static void
setup_send(struct inbox *ib, int step)
{
	const struct inbox_config *c = &ib->cfg;
	json_t		*cfg;
	char		*body, subj[80];
	const char	*name;
	int		 chat = step == SETUP_CHAT || step == SETUP_CHAT_UPDATE;

	name = chat ? "CHAT" : "CHAT_CURSOR";
	/*
	 * CHAT refuses a message over its user's limit (discard new per
	 * subject) instead of dropping the oldest, which may be one nobody
	 * was sent yet.
	 */
	if (chat)
		cfg = json_pack("{s:s, s:[s], s:s, s:s, s:s, s:b, s:I, s:I, "
		    "s:I, s:b, s:i}", "name", name, "subjects", "chat.inbox.*",
		    "storage", "file", "retention", "limits", "discard", "new",
		    "discard_new_per_subject", 1,
		    "max_msgs_per_subject", (json_int_t)c->history_limit,
		    "max_age", (json_int_t)(c->history_days * 86400e9),
		    "max_bytes", c->history_bytes >= (size_t)INT64_MAX ?
		    (json_int_t)-1 : (json_int_t)c->history_bytes,
		    "allow_direct", 1, "num_replicas",
		    c->replicas > 0 ? c->replicas : 1);
	else
		cfg = json_pack("{s:s, s:[s,s], s:s, s:s, s:s, s:I, s:b, s:i}",
		    "name", name, "subjects", "chat.cursor.*", "chat.newest.*",
		    "storage",
		    "file", "retention", "limits", "discard", "old",
		    "max_msgs_per_subject", (json_int_t)1, "allow_direct", 1,
		    "num_replicas", c->replicas > 0 ? c->replicas : 1);
	if (cfg == NULL || (body = json_dumps(cfg, JSON_COMPACT)) == NULL) {
		json_decref(cfg);
		setup_failed(ib, name, "out of memory");
		return;
	}
	json_decref(cfg);
	snprintf(subj, sizeof(subj), "$JS.API.STREAM.%s.%s",
	    step == SETUP_CHAT || step == SETUP_CURSOR ? "CREATE" : "UPDATE",
	    name);
	if (nats_link_request(ib->link, subj, body, strlen(body), NULL, 0,
	    setup_answer, ib, (void *)(intptr_t)step) != 0)
		setup_failed(ib, name, "cannot publish the request");
	free(body);
}

static void
setup_start(struct inbox *ib)
{
	ib->setup_ok = 0;
	ib->setup_retry = 0;
	ib->setup_failed = 0;
	setup_send(ib, SETUP_CHAT);
	setup_send(ib, SETUP_CURSOR);
}

/*
 * A chat event is at most 7 times --max-message (JSON escapes); NATS
 * refuses a message over its max_payload (1 MiB by default).  A store
 * holds what fits in it.
 */
static void
check_payload(struct inbox *ib)
{
	int64_t	max = nats_link_max_payload(ib->link);
	size_t	need = 7 * ib->cfg.max_message + HDR_ROOM;

	ib->max_batch = max > 2 * HDR_ROOM ? (size_t)max - HDR_ROOM :
	    PAYLOAD_DEFAULT - HDR_ROOM;
	if (max > 0 && (uint64_t)max < need)
		log_warn("cluster: NATS takes messages of at most %lld bytes: "
		    "chat messages over about %lld bytes of --max-message %zu "
		    "will be refused (raise max_payload in nats-server)",
		    (long long)max, (long long)(max - HDR_ROOM) / 7,
		    ib->cfg.max_message);
}

static void
setup_answer(void *arg, void *tag, natsMsg *m)
{
	struct inbox	*ib = arg;
	json_t		*root = NULL, *err, *created;
	json_error_t	 jerr;
	int		 step = (int)(intptr_t)tag, code = 0, bit;
	const char	*desc = "no answer";
	char		 name[96];

	bit = step == SETUP_CHAT || step == SETUP_CHAT_UPDATE ? 1 : 2;
	if (m != NULL && nats_msg_status(m) == 503)
		desc = "JetStream is not enabled on the NATS server "
		    "(nats-server -js)";
	else if (m != NULL) {
		root = json_loadb(natsMsg_GetData(m),
		    (size_t)natsMsg_GetDataLength(m), 0, &jerr);
		err = json_object_get(root, "error");
		if (root != NULL && err == NULL) {
			if (bit == 1 && (created = json_object_get(root,
			    "created")) != NULL && json_is_string(created)) {
				/*
				 * The same on every node and run (not the
				 * keyed table hash): clients keep it.  The
				 * format is in it: format 1 numbered by
				 * stream sequence alone.
				 */
				snprintf(name, sizeof(name), "%s/" FORMAT,
				    json_string_value(created));
				snprintf(ib->epoch, sizeof(ib->epoch),
				    "%016zx", util_hash_str(name));
			}
			ib->setup_ok |= bit;
			json_decref(root);
			if (ib->setup_ok == 3 && ib->up && !ib->ready) {
				ib->ready = 1;
				ib->setup_fails = 0;
				log_info("cluster: ready (stream CHAT, epoch "
				    "%s)", ib->epoch);
				ib->base.ev.ready(ib->base.ev.arg, 1);
			}
			return;
		}
		code = (int)json_integer_value(json_object_get(err,
		    "err_code"));
		if (json_is_string(json_object_get(err, "description")))
			desc = json_string_value(json_object_get(err,
			    "description"));
		/* Exists with another configuration: take ours. */
		if (code == 10058 && (step == SETUP_CHAT ||
		    step == SETUP_CURSOR)) {
			log_info("cluster: stream %s exists with other limits: "
			    "updating it", bit == 1 ? "CHAT" : "CHAT_CURSOR");
			setup_send(ib, step + 1);
			json_decref(root);
			return;
		}
	}
	if (ib->up)
		setup_failed(ib, bit == 1 ? "CHAT" : "CHAT_CURSOR", desc);
	json_decref(root);
}

/* The link came up or went down. */
static void
link_state(void *arg, int up)
{
	struct inbox	*ib = arg;

	ib->up = up;
	if (up) {
		check_payload(ib);
		setup_start(ib);
		return;
	}
	if (ib->ready) {
		ib->ready = 0;
		ib->base.ev.ready(ib->base.ev.arg, 0);
	}
}

/* ---- handing stored events to other nodes ---- */

static struct outq *
out_find(struct inbox *ib, const char *node)
{
	size_t	i;

	for (i = 0; i < ib->nouts; i++)
		if (strcmp(ib->outs[i].node, node) == 0)
			return &ib->outs[i];
	if (strlen(node) >= sizeof(ib->outs[0].node) ||
	    vec_grow(&ib->outs, &ib->capouts, ib->nouts + 1,
	    sizeof(*ib->outs)) == -1)
		return NULL;
	memset(&ib->outs[ib->nouts], 0, sizeof(ib->outs[0]));
	memcpy(ib->outs[ib->nouts].node, node, strlen(node) + 1);
	return &ib->outs[ib->nouts++];
}

static void
out_send(struct inbox *ib, struct outq *o)
{
	char	subj[64];

	if (o->len == 0)
		return;
	snprintf(subj, sizeof(subj), "chat.node.%s", o->node);
	(void)nats_link_publish(ib->link, subj, o->buf, o->len, NULL, 0);
	o->len = 0;
}

/* A record for node: an event (len > 0) or the inbox's last seq. */
static void
out_add(struct inbox *ib, const char *node, const struct box *b,
    uint64_t seq, uint64_t prev, const char *data, size_t len)
{
	struct outq	*o;
	size_t		 need = len + strlen(b->hex) + 64;
	int		 n;

	if ((o = out_find(ib, node)) == NULL)
		return;
	/* One NATS message must stay under max_payload. */
	if (o->len > 0 && o->len + need > ib->max_batch)
		out_send(ib, o);
	if (vec_grow(&o->buf, &o->cap, o->len + need, 1) == -1)
		return;
	n = snprintf(o->buf + o->len, o->cap - o->len, "%s %llu %llu %zu\n",
	    b->hex, (unsigned long long)seq, (unsigned long long)prev, len);
	if (n < 0 || (size_t)n >= o->cap - o->len)
		return;
	o->len += (size_t)n;
	memcpy(o->buf + o->len, data, len);
	o->len += len;
	o->buf[o->len++] = '\n';
}

/* ---- the chain ---- */

static void	purge_start(struct inbox *, struct batch *);
static void	purge_due(struct inbox *, struct box *);
static void	purge_early(struct inbox *, uint64_t, int);
static uint64_t	purge_step(const struct inbox *);

/* Answer q's append and free q. */
static void
pub_done(struct inbox *ib, struct pub *q, enum inbox_status st)
{
	void		*tag = q->tag;
	struct msg	*m = q->m;

	free(q);
	ib->base.ev.appended(ib->base.ev.arg, tag, st,
	    st == INBOX_OK ? m : NULL);
	msg_unref(m);
}

/* b has appends waiting: its store goes at the pass's commit. */
static void
queue_box(struct inbox *ib, struct box *b)
{
	if (b->queued || b->head == NULL)
		return;
	if (vec_grow(&ib->sendq, &ib->capsendq, ib->nsendq + 1,
	    sizeof(*ib->sendq)) == -1)
		return;		/* the next append queues it */
	b->queued = 1;
	ib->sendq[ib->nsendq++] = b;
}

/* b has a cursor to publish (flush_cursors()). */
static void
box_dirty(struct inbox *ib, struct box *b)
{
	if (!b->dirty && vec_grow(&ib->dirty, &ib->capdirty, ib->ndirty + 1,
	    sizeof(*ib->dirty)) == 0) {
		b->dirty = 1;
		ib->dirty[ib->ndirty++] = b;
	}
}

static void	batch_start(struct inbox *, struct box *);

/*
 * chat.newest.<hex>: "<seq>[ <node id>...]", written only by
 * compare-and-set (Nats-Expected-Last-Subject-Sequence), so that no
 * writer undoes another.  seq is a floor of the inbox's chain; each id
 * is a node that opened the inbox and may have stored past seq without
 * saying so ("*": more than NEWEST_IDS did, for good).  A node adds its
 * id before its first store (acknowledged before that store goes out)
 * and takes it out, raising seq to its chain, when it lets the box go.
 * A node killed meanwhile leaves its id: whoever next stores in the
 * inbox after age emptied it cannot know where the chain stood, and
 * stores with Chat-Prev-Unknown (readers take the seq just before the
 * stored message as prev: a gap told, maybe wider than what went, never
 * one missed).  Only the ids of nodes still running could be taken out
 * safely, and nothing says which are: a dead node's id stays.
 */

static void	newest_send(struct inbox *, struct box *);
static void	newest_read(struct inbox *, struct box *, int);
static int	batch_send(struct inbox *, struct batch *);
static void	batch_fail(struct inbox *, struct batch *, enum inbox_status);
static uint64_t	ack_seq(natsMsg *);
static int	wrong_last(const char *, uint64_t *);

/* Parse chat.newest's text into b (nval, nothers); -1 if not ours. */
static int
newest_parse(struct inbox *ib, struct box *b, const char *d, size_t len)
{
	const char	*p = d, *end = d + len, *sp, *me;
	char		 buf[NEWEST_MAX];
	size_t		 n = 0, k = 0, w;
	uint64_t	 v = 0;

	me = nats_link_node(ib->link);
	if (len == 0 || len >= NEWEST_MAX)
		return -1;
	for (; p < end && *p >= '0' && *p <= '9' && k < 19; p++, k++)
		v = v * 10 + (uint64_t)(*p - '0');
	if (k == 0)
		return -1;
	while (p < end) {
		if (*p++ != ' ' || p >= end)
			return -1;
		if ((sp = memchr(p, ' ', (size_t)(end - p))) == NULL)
			sp = end;
		w = (size_t)(sp - p);
		if (w != 1 && w != 32)
			return -1;
		for (k = 0; k < w; k++)
			if (w == 1 ? p[k] != '*' : (p[k] < '0' || p[k] > '9') &&
			    (p[k] < 'a' || p[k] > 'f'))
				return -1;
		/* Our own id: from a write of ours that seemed to fail. */
		if (w == 1 || strncmp(p, me, 32) != 0) {
			if (n > 0)
				buf[n++] = ' ';
			memcpy(buf + n, p, w);
			n += w;
		}
		p = sp;
	}
	free(b->nothers);
	b->nothers = NULL;
	if (n > 0) {
		buf[n] = '\0';
		if ((b->nothers = strdup(buf)) == NULL)
			return -1;
	}
	b->nval = v;
	return 0;
}

/*
 * Done with chat.newest for now: opened (then the store waits no more),
 * closed, or given up.
 */
static void
newest_done(struct inbox *ib, struct box *b, int ok)
{
	struct pub	*q;
	int		 open = b->nstate <= NS_OPEN;

	b->nstate = NS_IDLE;
	b->ntries = 0;
	b->ops--;
	if (open && ok) {
		b->opened = 1;
		if (b->nval > b->chain)
			b->chain = b->nval;
	} else if (open) {
		/* Never stored without our id there: the appends fail. */
		while ((q = b->head) != NULL) {
			if ((b->head = q->qnext) == NULL)
				b->tail = NULL;
			pub_done(ib, q, INBOX_CLUSTER);
		}
	} else
		b->opened = 0;	/* left there on failure: unsure, not lost */
	batch_start(ib, b);
	box_maybe_free(ib, b);
}

/*
 * Our store found the inbox emptied (by age) since our last one: did
 * another node store after that one?  Only if its id is there still
 * (else it raised the seq when it left).  The store goes on either way.
 */
static void
newest_checked(struct inbox *ib, struct box *b, natsMsg *m,
    const char *subj)
{
	struct batch	*bt = b->inflight;
	uint64_t	 t = 0;

	b->nstate = NS_IDLE;
	b->ops--;
	if (m == NULL || nats_msg_status(m) != 0 ||
	    !nats_msg_u64(m, "Nats-Sequence", &t) || t == 0 ||
	    !nats_link_verify(ib->link, subj, m) ||
	    newest_parse(ib, b, natsMsg_GetData(m),
	    (size_t)natsMsg_GetDataLength(m)) == -1 || b->nothers != NULL)
		b->unsure = 1;
	else {
		b->nseq = t;
		if (b->nval > b->chain)
			b->chain = b->nval;
	}
	bt->prev = b->last > b->chain ? b->last : b->chain;
	bt->unsure = b->unsure;
	if (!ib->ready || batch_send(ib, bt) != 0)
		batch_fail(ib, bt, INBOX_CLUSTER);
}

/* chat.newest as read (404: none yet): parsed, then written. */
static void
newest_read_answer(void *arg, void *tag, natsMsg *m)
{
	struct inbox	*ib = arg;
	struct box	*b = tag;
	char		 subj[SUBJ_MAX];
	uint64_t	 t = 0;
	int		 st = m != NULL ? nats_msg_status(m) : -1;

	snprintf(subj, sizeof(subj), "chat.newest.%s", b->hex);
	if (b->nstate == NS_CHECK) {
		newest_checked(ib, b, m, subj);
		return;
	}
	if (st == 404) {
		b->nseq = b->nval = 0;
		free(b->nothers);
		b->nothers = NULL;
	} else if (st != 0 || !nats_msg_u64(m, "Nats-Sequence", &t) ||
	    t == 0) {
		newest_done(ib, b, 0);
		return;
	} else {
		b->nseq = t;
		/*
		 * Not ours, or not signed: nothing is known of the chain
		 * (it is written over, below).
		 */
		if (!nats_link_verify(ib->link, subj, m) ||
		    newest_parse(ib, b, natsMsg_GetData(m),
		    (size_t)natsMsg_GetDataLength(m)) == -1) {
			b->nval = 0;
			free(b->nothers);
			b->nothers = NULL;
			b->unsure = 1;
		}
	}
	if (b->nstate == NS_READ_OPEN && b->nothers != NULL)
		b->unsure = 1;
	b->nstate++;			/* NS_OPEN or NS_CLOSE */
	newest_send(ib, b);
}

/* Our write of chat.newest answered. */
static void
newest_answer(void *arg, void *tag, natsMsg *m)
{
	struct inbox	*ib = arg;
	struct box	*b = tag;
	uint64_t	 t, last;
	const char	*d;
	char		 desc[160];
	int		 len;

	if (m != NULL && nats_msg_status(m) == 0 && (t = ack_seq(m)) != 0) {
		b->nseq = t;
		newest_done(ib, b, 1);
		return;
	}
	desc[0] = '\0';
	if (m != NULL && nats_msg_status(m) == 0) {
		d = natsMsg_GetData(m);
		len = natsMsg_GetDataLength(m);
		snprintf(desc, sizeof(desc), "%.*s", len < 0 ? 0 :
		    len > 159 ? 159 : len, d);
	}
	/* Another node wrote it since we read it: read it again. */
	if (wrong_last(desc, &last) && ++b->ntries < NEWEST_TRIES) {
		b->nstate--;		/* NS_READ_OPEN or NS_READ_CLOSE */
		b->ops--;
		newest_read(ib, b, b->nstate);
		return;
	}
	if (m != NULL)
		log_warn("cluster: cannot write chat.newest of %s%s%s",
		    b->u->id, desc[0] != '\0' ? ": " : "", desc);
	newest_done(ib, b, 0);
}

/*
 * Write chat.newest as read, raised to our chain, with our id (opening)
 * or without (closing), if no one wrote it since.
 */
static int
newest_text(struct inbox *ib, const struct box *b, int open, char *buf,
    size_t size)
{
	uint64_t	v = b->nval > b->chain ? b->nval : b->chain;
	const char	*o = b->nothers != NULL ? b->nothers : "";
	size_t		ids = 0;
	int		n;

	if (*o != '\0')
		ids = 1 + strlen(o) / 33;
	if (open && ids >= NEWEST_IDS)
		o = "*";	/* for good: readers stay unsure */
	n = snprintf(buf, size, "%llu%s%s%s%s", (unsigned long long)v,
	    *o != '\0' ? " " : "", o, open ? " " : "",
	    open ? nats_link_node(ib->link) : "");
	return n > 0 && (size_t)n < size ? n : -1;
}

/* Publish it (as a request, answered in newest_answer(), with wait). */
static int
newest_write(struct inbox *ib, struct box *b, int open, int wait)
{
	struct nats_hdr	 h[2];
	char		 subj[SUBJ_MAX], text[NEWEST_MAX + 40], vexp[24];
	int		 n;

	snprintf(subj, sizeof(subj), "chat.newest.%s", b->hex);
	snprintf(vexp, sizeof(vexp), "%llu", (unsigned long long)b->nseq);
	h[0].key = "Nats-Expected-Last-Subject-Sequence";
	h[0].value = vexp;
	h[1].key = "Chat-Format";
	h[1].value = FORMAT;
	if ((n = newest_text(ib, b, open, text, sizeof(text))) == -1)
		return -1;
	if (!wait)
		return nats_link_publish(ib->link, subj, text, (size_t)n, h, 2);
	return nats_link_request(ib->link, subj, text, (size_t)n, h, 2,
	    newest_answer, ib, b);
}

static void
newest_send(struct inbox *ib, struct box *b)
{
	if (!ib->ready || newest_write(ib, b, b->nstate == NS_OPEN, 1) != 0)
		newest_done(ib, b, 0);
}

/*
 * Read chat.newest of b, to add our id (NS_READ_OPEN), take it out
 * (NS_READ_CLOSE) or see who else is there (NS_CHECK).
 */
static void
newest_read(struct inbox *ib, struct box *b, int state)
{
	char	subj[SUBJ_MAX + 40];

	b->nstate = state;
	b->ops++;
	snprintf(subj, sizeof(subj), "$JS.API.DIRECT.GET.CHAT_CURSOR."
	    "chat.newest.%s", b->hex);
	if (ib->ready && nats_link_request(ib->link, subj, NULL, 0, NULL, 0,
	    newest_read_answer, ib, b) == 0)
		return;
	if (state == NS_CHECK)
		newest_checked(ib, b, NULL, subj);
	else
		newest_done(ib, b, 0);
}

/*
 * Let b go: take our id out of chat.newest.  Tried as we wrote it last
 * (no one else wrote since, most often), else read again.  Without
 * wait, at exit: if it fails, our id stays (unsure, never lost).
 */
static void
newest_close(struct inbox *ib, struct box *b, int wait)
{
	if (wait) {
		b->nstate = NS_CLOSE;
		b->ops++;
		newest_send(ib, b);
		return;
	}
	(void)newest_write(ib, b, 0, 0);
	b->opened = 0;
}

/* Answer every append of bt with st, free bt, and move on. */
static void
batch_fail(struct inbox *ib, struct batch *bt, enum inbox_status st)
{
	struct box	*b = bt->b;
	struct pub	*q, *next;

	if (b->inflight == bt)
		b->inflight = NULL;
	for (q = bt->pubs; q != NULL; q = next) {
		next = q->qnext;
		pub_done(ib, q, st);
	}
	free(bt);
	queue_box(ib, b);
	box_maybe_free(ib, b);
}

static void	batch_answer(void *, void *, natsMsg *);

/* Publish bt, expecting bt->expect; -1 if it could not even be sent. */
static int
batch_send(struct inbox *ib, struct batch *bt)
{
	struct nats_hdr	 h[6];
	struct pub	*q;
	char		 subj[SUBJ_MAX], vexp[24], vprev[24], vn[24], *buf;
	size_t		 len = 0;
	int		 r;

	for (q = bt->pubs; q != NULL; q = q->qnext)
		len += q->m->len + 1;
	if ((buf = malloc(len)) == NULL)
		return -1;
	len = 0;
	for (q = bt->pubs; q != NULL; q = q->qnext) {
		memcpy(buf + len, q->m->data, q->m->len);
		len += q->m->len;
		buf[len++] = '\n';
	}
	snprintf(vexp, sizeof(vexp), "%llu", (unsigned long long)bt->expect);
	snprintf(vprev, sizeof(vprev), "%llu", (unsigned long long)bt->prev);
	snprintf(vn, sizeof(vn), "%zu", bt->n);
	h[0].key = "Nats-Expected-Last-Subject-Sequence";
	h[0].value = vexp;
	/* The same, signed: a stored message cannot be replayed later. */
	h[1].key = "Chat-After";
	h[1].value = vexp;
	h[2].key = "Chat-Prev";
	h[2].value = vprev;
	h[3].key = "Chat-Count";
	h[3].value = vn;
	h[4].key = "Chat-Format";
	h[4].value = FORMAT;
	/* Expecting an empty inbox whose chain is not known: see newest. */
	h[5].key = "Chat-Prev-Unknown";
	h[5].value = "1";
	snprintf(subj, sizeof(subj), "chat.inbox.%s", bt->b->hex);
	bt->sent_us = util_mono_us();
	r = nats_link_request(ib->link, subj, buf, len - 1, h,
	    bt->unsure ? 6 : 5, batch_answer, ib, bt);
	free(buf);
	return r;
}

/*
 * Store what waits in b, as much as fits in one message: the chain's
 * next link.
 */
static void
batch_start(struct inbox *ib, struct box *b)
{
	struct batch	*bt;
	struct pub	*q, **tailp;
	size_t		 bytes = 0;

	if (b->inflight != NULL || b->head == NULL || b->nstate != NS_IDLE)
		return;
	/*
	 * Our id goes in chat.newest before we store: if we die before we
	 * take it out, the next to store knows it cannot know the chain.
	 * Reading it tells us where the chain stood even if retention
	 * emptied the inbox (then JetStream expects 0, and prev would say
	 * nothing went).
	 */
	if (ib->ready && !b->opened) {
		newest_read(ib, b, NS_READ_OPEN);
		return;
	}
	if (!ib->ready || (bt = calloc(1, sizeof(*bt))) == NULL) {
		while ((q = b->head) != NULL) {
			if ((b->head = q->qnext) == NULL)
				b->tail = NULL;
			pub_done(ib, q, ib->ready ? INBOX_NOMEM :
			    INBOX_CLUSTER);
		}
		box_maybe_free(ib, b);
		return;
	}
	bt->b = b;
	bt->born = util_mono_ms();
	tailp = &bt->pubs;
	while ((q = b->head) != NULL && bt->n < SEQ_K &&
	    (bt->n == 0 || bytes + q->m->len + 1 <= ib->max_batch)) {
		if ((b->head = q->qnext) == NULL)
			b->tail = NULL;
		q->qnext = NULL;
		*tailp = q;
		tailp = &q->qnext;
		bytes += q->m->len + 1;
		bt->n++;
	}
	/*
	 * prev is what readers see: the newest seq this inbox ever had,
	 * even if retention emptied it since (JetStream then expects 0),
	 * so a reader still learns what it missed.
	 */
	bt->expect = b->known ? stream_of(b->last) : 0;
	bt->prev = b->known && b->last > b->chain ? b->last : b->chain;
	bt->unsure = bt->expect == 0 && b->unsure;
	b->inflight = bt;
	if (batch_send(ib, bt) != 0)
		batch_fail(ib, bt, INBOX_CLUSTER);
}

/* Stored at stream sequence t: answer, hand to the nodes, move on. */
static void
batch_stored(struct inbox *ib, struct batch *bt, uint64_t t)
{
	struct box	*b = bt->b;
	struct pub	*q, *next;
	const char	*nodes[MAX_NODES];
	size_t		 nn, i, k;
	uint64_t	 seq, step = purge_step(ib);

	b->inflight = NULL;
	b->last = b->chain = seq_of(t, 1, 0);
	b->known = 1;
	b->unsure = 0;
	if (bt->unsure)
		bt->prev = seq_of(t, bt->n, 0) - 1;
	b->stored_at = util_mono_ms();
	ib->stores++;
	if (b->since < UINT32_MAX)
		b->since++;
	b->nstored++;
	if (step != 0 && b->nstored % step == 0)
		b->pring[b->nstored / step % PURGE_STEPS] = t;
	purge_due(ib, b);
	nn = presence_nodes_of(b->u, nodes, MAX_NODES);
	for (q = bt->pubs, i = 0; q != NULL; q = next, i++) {
		next = q->qnext;
		seq = seq_of(t, bt->n, i);
		if (msg_set_seq(q->m, seq) == -1) {
			pub_done(ib, q, INBOX_NOMEM);
			continue;
		}
		q->m->prev = i == 0 ? bt->prev : seq - 1;
		for (k = 0; k < nn; k++)
			out_add(ib, nodes[k], b, seq, q->m->prev, q->m->data,
			    q->m->len);
		q->m->prev = live_prev(ib, q->m->prev, seq);
		ib->appended++;
		pub_done(ib, q, INBOX_OK);
	}
	free(bt);
	queue_box(ib, b);
	box_maybe_free(ib, b);
}

/*
 * JetStream's "wrong last sequence: N" (another node appended first, or
 * retention emptied the inbox: N is 0): 1 with *last = N, else 0.
 */
static int
wrong_last(const char *desc, uint64_t *last)
{
	const char	*p = strstr(desc, "wrong last sequence: ");
	uint64_t	 v = 0;

	if (p == NULL)
		return 0;
	for (p += strlen("wrong last sequence: "); *p >= '0' && *p <= '9';
	    p++)
		v = v * 10 + (uint64_t)(*p - '0');
	*last = v;
	return 1;
}

/*
 * The stream sequence of JetStream's usual answer to a store,
 * {"stream":"CHAT","seq":N} (maybe with "domain"), without jansson: at
 * a low rate, one per message.  0 for anything else (an error), which
 * goes the slow way.
 */
static uint64_t
ack_seq(natsMsg *m)
{
	const char	*d = natsMsg_GetData(m), *p, *end;
	uint64_t	 v = 0;
	int		 len = natsMsg_GetDataLength(m), k = 0;

	if (len < 16 || len > 256 || d[0] != '{' || d[len - 1] != '}' ||
	    memchr(d, '\\', (size_t)len) != NULL)
		return 0;
	end = d + len;
	for (p = d; p + 6 < end; p++)
		if (memcmp(p, "\"error\"", 7) == 0)
			return 0;
	for (p = d; p + 6 < end; p++)
		if (memcmp(p, "\"seq\":", 6) == 0)
			break;
	if (p + 6 >= end)
		return 0;
	for (p += 6; p < end && *p >= '0' && *p <= '9' && k < 19; p++, k++)
		v = v * 10 + (uint64_t)(*p - '0');
	return k > 0 && p < end && (*p == ',' || *p == '}') ? v : 0;
}

/* JetStream answered a store (m NULL: it did not in time). */
static void
batch_answer(void *arg, void *tag, natsMsg *m)
{
	struct inbox	*ib = arg;
	struct batch	*bt = tag;
	struct box	*b = bt->b;
	json_t		*root = NULL, *err;
	json_error_t	 jerr;
	uint64_t	 seq = 0, last;
	const char	*desc = "";
	int		 st = m != NULL ? nats_msg_status(m) : -1;

	if (m != NULL)
		hist_observe(&ib->latency, util_mono_us() - bt->sent_us);
	if (st == 0 && (seq = ack_seq(m)) != 0) {
		batch_stored(ib, bt, seq);
		return;
	}
	if (st == 0) {
		root = json_loadb(natsMsg_GetData(m),
		    (size_t)natsMsg_GetDataLength(m), 0, &jerr);
		err = json_object_get(root, "error");
		if (err == NULL && json_is_integer(json_object_get(root,
		    "seq")))
			seq = (uint64_t)json_integer_value(json_object_get(root,
			    "seq"));
		else if (json_is_string(json_object_get(err, "description")))
			desc = json_string_value(json_object_get(err,
			    "description"));
	}
	if (seq != 0) {
		json_decref(root);
		batch_stored(ib, bt, seq);
		return;
	}
	if (m != NULL && wrong_last(desc, &last) &&
	    util_mono_ms() - bt->born < NATS_REQ_TIMEOUT_MS) {
		/* Another node appended first: again after its last. */
		json_decref(root);
		if (last != 0 && seq_v1(last) != b->last && b->since <
		    UINT32_MAX)
			b->since++;	/* at least one more in it */
		b->last = seq_v1(last);
		b->known = 1;
		if (b->last > b->chain)
			b->chain = b->last;
		bt->expect = last;
		bt->prev = b->last > b->chain ? b->last : b->chain;
		bt->unsure = last == 0 && b->unsure;
		/*
		 * Emptied by age since our last store (not by our purge,
		 * which took only what came before our last): another node
		 * may have stored after it.  chat.newest says.
		 */
		if (last == 0 && !bt->purged && !bt->unsure && b->opened &&
		    b->nstate == NS_IDLE) {
			newest_read(ib, b, NS_CHECK);
			return;
		}
		if (batch_send(ib, bt) != 0)
			batch_fail(ib, bt, INBOX_CLUSTER);
		return;
	}
	if (m != NULL && (strstr(desc, "maximum messages per subject") !=
	    NULL || strstr(desc, "maximum bytes") != NULL) && !bt->purged) {
		/*
		 * The inbox full, or the whole stream (--history-bytes):
		 * drop what was delivered from this inbox, then try once
		 * more.  bt stays in flight meanwhile: the chain waits for
		 * it, so that no later message of this inbox is published
		 * before it (out of order, into the room the purge makes)
		 * or beside it (two in flight, one of them no longer known
		 * to the box).
		 */
		json_decref(root);
		purge_start(ib, bt);
		return;
	}
	b->known = 0;
	b->unsure = 1;		/* what went on meanwhile is not known */
	if (m != NULL && strstr(desc, "maximum") != NULL) {
		log_info("cluster: inbox of %s full (%s): refused",
		    b->u->id, desc);
		json_decref(root);
		ib->refused_full += bt->n;
		batch_fail(ib, bt, INBOX_FULL);
		return;
	}
	if (st > 0)
		log_warn("cluster: message for %s not stored (status %d%s)",
		    b->u->id, st, st == 503 ? ": no stream" : "");
	else if (m != NULL)
		log_warn("cluster: message for %s refused by JetStream: %s",
		    b->u->id, desc);
	json_decref(root);
	batch_fail(ib, bt, INBOX_CLUSTER);
}

/* A message whose text is a seq (a cursor): its value, 0 if not one. */
static uint64_t
data_u64(natsMsg *m)
{
	const char	*d = natsMsg_GetData(m);
	int		 len = natsMsg_GetDataLength(m), i;
	uint64_t	 v = 0;

	if (len <= 0 || len > 19)
		return 0;
	for (i = 0; i < len; i++) {
		if (d[i] < '0' || d[i] > '9')
			return 0;
		v = v * 10 + (uint64_t)(d[i] - '0');
	}
	return v;
}

/*
 * A cursor as read from CHAT_CURSOR, as a seq: 0 if there is none, or
 * if it is not signed with the cluster secret (then what this node
 * knows stands: a cursor is never moved by a forger).
 */
static uint64_t
cursor_of(struct inbox *ib, const struct box *b, natsMsg *m)
{
	char		subj[SUBJ_MAX];
	uint64_t	v;

	if (m == NULL || nats_msg_status(m) != 0 || (v = data_u64(m)) == 0)
		return 0;
	snprintf(subj, sizeof(subj), "chat.cursor.%s", b->hex);
	if (!nats_link_verify(ib->link, subj, m))
		return 0;
	return format2(m) ? v : seq_v1(v);
}

/* ---- purging delivered messages ---- */

/*
 * A filtered purge makes nats-server 2.9 scan the stream from the
 * inbox's first message to the purge point, interleaved as it is with
 * every other inbox's, and it acknowledges no store meanwhile: the
 * longer the purge, the longer the stall.  Purged only when full,
 * inboxes that fill at one rate purged all they held in the same
 * second: stalls of a second or more.  So an inbox is purged early and
 * in steps of an eighth of --history-limit (step): once we stored mark
 * messages in it since its last purge (drawn between 1 and 2 steps, so
 * that boxes filling together come due at different times), what was
 * delivered goes, except our newest PURGE_KEEP steps of stores (the
 * stream seq of every step-th store is kept in pring).  An inbox that
 * keeps up holds 3/8 to 3/4 of the limit: history stays, and a quarter
 * of the limit is left for the purge to be done before a refusal.  At
 * most PURGE_INFLIGHT per node, PURGE_GAP_MS apart, so that stores go
 * on between them.  Our stores are not all of the inbox's (other
 * nodes', those before the box, undelivered ones): when they fall
 * short, the refusal still purges (purge_start()).
 */

/* Stores in a step, 0 if the limit is too small to purge early. */
static uint64_t
purge_step(const struct inbox *ib)
{
	return ib->cfg.history_limit < PURGE_MIN_LIMIT ? 0 :
	    ib->cfg.history_limit / PURGE_STEPS;
}

/* The stream sequence below which b's stored messages were delivered. */
static uint64_t
purge_point(struct inbox *ib, const struct box *b, natsMsg *m)
{
	uint64_t	cursor = b->said > b->cursor ? b->said : b->cursor, v;

	if ((v = cursor_of(ib, b, m)) > cursor)
		cursor = v;
	/*
	 * The subject's stored messages whose every event is at or below
	 * the cursor: stream sequences below (cursor + 1) / SEQ_K.
	 */
	return (cursor + 1) / SEQ_K;
}

/* Ask for b's cursor, then cb: 0, or -1 if it could not be asked. */
static int
purge_ask_cursor(struct inbox *ib, struct box *b, nats_answer_cb cb,
    void *tag)
{
	char	subj[SUBJ_MAX + 40];

	snprintf(subj, sizeof(subj), "$JS.API.DIRECT.GET.CHAT_CURSOR."
	    "chat.cursor.%s", b->hex);
	return nats_link_request(ib->link, subj, NULL, 0, NULL, 0, cb, ib,
	    tag);
}

/* Purge b's messages below stream sequence below, then cb: as above. */
static int
purge_send(struct inbox *ib, struct box *b, uint64_t below,
    nats_answer_cb cb, void *tag)
{
	char	body[80 + HEXUSER];
	int	n;

	n = snprintf(body, sizeof(body), "{\"filter\":\"chat.inbox.%s\","
	    "\"seq\":%llu}", b->hex, (unsigned long long)below);
	b->since = 0;
	b->mark = 0;
	return nats_link_request(ib->link, "$JS.API.STREAM.PURGE.CHAT", body,
	    (size_t)n, NULL, 0, cb, ib, tag);
}

/* Count what JetStream says a purge took. */
static void
purge_count(struct inbox *ib, natsMsg *m)
{
	json_t		*root;
	json_error_t	 jerr;
	json_t		*v;

	if (m == NULL || nats_msg_status(m) != 0 ||
	    (root = json_loadb(natsMsg_GetData(m),
	    (size_t)natsMsg_GetDataLength(m), 0, &jerr)) == NULL)
		return;
	if (json_is_integer(v = json_object_get(root, "purged")))
		ib->purged += (uint64_t)json_integer_value(v);
	json_decref(root);
}

/* A full inbox's purge is done: its store is tried again, once. */
static void
purge_answer(void *arg, void *tag, natsMsg *m)
{
	struct inbox	*ib = arg;
	struct batch	*bt = tag;

	bt->b->ops--;
	purge_count(ib, m);
	if (batch_send(ib, bt) != 0)
		batch_fail(ib, bt, INBOX_CLUSTER);
}

static void
purge_cursor(void *arg, void *tag, natsMsg *m)
{
	struct inbox	*ib = arg;
	struct batch	*bt = tag;
	struct box	*b = bt->b;
	uint64_t	 below = purge_point(ib, b, m);

	if (below == 0 || purge_send(ib, b, below, purge_answer, bt) != 0)
		purge_answer(ib, bt, NULL);	/* nothing to purge */
	else {
		b->pbelow = below;
		ib->purges_full++;
	}
}

/* A store was refused, the inbox full: purge it, bt waiting. */
static void
purge_start(struct inbox *ib, struct batch *bt)
{
	struct box	*b = bt->b;

	bt->purged = 1;
	b->ops++;
	if (purge_ask_cursor(ib, b, purge_cursor, bt) != 0)
		purge_answer(ib, bt, NULL);
}

/* Is b due for an early purge?  Then it waits its turn on ib->purgeq. */
static void
purge_due(struct inbox *ib, struct box *b)
{
	uint64_t	step = purge_step(ib);	/* at most 1,250,000 */
	uint32_t	r;

	if (b->pstate != PS_NONE || step == 0)
		return;
	if (b->mark == 0) {
		util_random_bytes(&r, sizeof(r));
		b->mark = (uint32_t)(step + r % (step + 1));
	}
	/* Not before the keep point is known (purge_early_cursor()). */
	if (b->since < b->mark || b->nstored / step <= PURGE_KEEP ||
	    vec_grow(&ib->purgeq, &ib->cappurgeq,
	    ib->npurgeq + 1, sizeof(*ib->purgeq)) == -1)
		return;
	b->pstate = PS_QUEUED;
	b->ops++;
	ib->purgeq[ib->npurgeq++] = b;
	purge_early(ib, util_mono_ms(), 0);	/* now, if its turn */
}

static void
purge_early_done(struct inbox *ib, struct box *b)
{
	if (b->pstate == PS_BUSY)
		ib->purging--;
	b->pstate = PS_NONE;
	b->ops--;
	box_maybe_free(ib, b);
}

static void
purge_early_answer(void *arg, void *tag, natsMsg *m)
{
	struct inbox	*ib = arg;

	purge_count(ib, m);
	purge_early_done(ib, tag);
	purge_early(ib, util_mono_ms(), 0);	/* the next, if due */
}

static void
purge_early_cursor(void *arg, void *tag, natsMsg *m)
{
	struct inbox	*ib = arg;
	struct box	*b = tag;
	uint64_t	 below = purge_point(ib, b, m), k, keep = 0;

	/*
	 * Not our newest PURGE_KEEP steps of stores (not yet known: none),
	 * and never the newest stored message: the chain's next store
	 * expects it, and an inbox emptied would look emptied by age.
	 */
	if ((k = b->nstored / purge_step(ib)) > PURGE_KEEP)
		keep = b->pring[(k - PURGE_KEEP) % PURGE_STEPS];
	if (!b->known || !ib->ready) {
		purge_early_done(ib, b);
		return;
	}
	if (below > keep)
		below = keep;
	if (below > stream_of(b->last))
		below = stream_of(b->last);
	if (below <= b->pbelow) {
		b->since = 0;		/* nothing delivered since: later */
		b->mark = 0;
		purge_early_done(ib, b);
		return;
	}
	if (purge_send(ib, b, below, purge_early_answer, b) != 0) {
		purge_early_done(ib, b);
		return;
	}
	b->pbelow = below;
	ib->purges_early++;
}

/* Start the early purges due, as many and as often as allowed. */
static void
purge_early(struct inbox *ib, uint64_t now, int force)
{
	struct box	*b;

	while (ib->npurgeq > 0 && (force || (ib->purging < PURGE_INFLIGHT &&
	    now >= ib->next_purge))) {
		b = ib->purgeq[0];
		ib->npurgeq--;
		memmove(ib->purgeq, ib->purgeq + 1, ib->npurgeq *
		    sizeof(*ib->purgeq));
		if (force || !ib->ready || !b->known) {
			purge_early_done(ib, b);	/* when due again */
			continue;
		}
		b->pstate = PS_BUSY;
		ib->purging++;
		ib->next_purge = now + PURGE_GAP_MS;
		if (purge_ask_cursor(ib, b, purge_early_cursor, b) != 0)
			purge_early_done(ib, b);
	}
}

/* ---- the interface ---- */

static enum inbox_status
js_append(struct inbox *ib, struct user *to, struct user *from,
    struct msg *m, int live, void *tag)
{
	struct box	*b;
	struct pub	*q;

	if (!ib->ready)
		return INBOX_CLUSTER;
	if ((b = box_get(ib, to)) == NULL ||
	    (q = calloc(1, sizeof(*q))) == NULL) {
		if (b != NULL)
			box_maybe_free(ib, b);
		return INBOX_NOMEM;
	}
	q->tag = tag;
	q->m = msg_ref(m);
	if (b->tail != NULL)
		b->tail->qnext = q;
	else
		b->head = q;
	b->tail = q;
	queue_box(ib, b);
	return INBOX_PENDING;
}

/*
 * The pass's appends are in: each inbox with some waiting and none in
 * flight stores them now, in one message.  (By index: an answer given
 * here may append again.)
 */
static void
js_commit(struct inbox *ib)
{
	struct box	*b;
	size_t		 i;

	for (i = 0; i < ib->nsendq; i++) {
		b = ib->sendq[i];
		b->queued = 0;
		batch_start(ib, b);
		box_maybe_free(ib, b);
	}
	ib->nsendq = 0;
}

/* Publish seq as subj's text, signed; 0 or -1. */
static int
say_seq(struct inbox *ib, const char *subj, uint64_t seq)
{
	struct nats_hdr	 h[1];
	char		 v[24];
	int		 n;

	h[0].key = "Chat-Format";
	h[0].value = FORMAT;
	n = snprintf(v, sizeof(v), "%llu", (unsigned long long)seq);
	return nats_link_publish(ib->link, subj, v, (size_t)n, h, 1);
}

/* Cursors that are due: at most every CURSOR_MS, at once when leaving. */
static void
flush_cursors(struct inbox *ib, uint64_t now, int force)
{
	struct box	*b;
	char		 subj[SUBJ_MAX];
	size_t		 i, k;
	int		 later;

	for (i = k = 0; i < ib->ndirty; i++) {
		b = ib->dirty[i];
		later = 0;
		/* The subject only when it goes: b waits here, every pass. */
		if (ib->ready && b->cursor > b->said) {
			if (!force && b->holds > 0 &&
			    now - b->said_at < CURSOR_MS)
				later = 1;
			else {
				snprintf(subj, sizeof(subj), "chat.cursor.%s",
				    b->hex);
				if (say_seq(ib, subj, b->cursor) == 0) {
					b->said = b->cursor;
					b->said_at = now;
				}
			}
		}
		if (later) {
			ib->dirty[k++] = b;
			continue;
		}
		b->dirty = 0;
		box_maybe_free(ib, b);
	}
	ib->ndirty = k;
}

/*
 * The pass wrote to sockets: cursors that are due go out (another node
 * starting a connection without since must see what was written), the
 * events stored this pass go to the other nodes, one message each, and
 * the idle boxes go.
 */
static void
js_flush(struct inbox *ib)
{
	uint64_t	now = util_mono_ms();
	size_t		i;

	flush_cursors(ib, now, 0);
	for (i = 0; i < ib->nouts; i++)
		out_send(ib, &ib->outs[i]);
	reap(ib, now, 0);
}

/*
 * A stored message as events (format 1 or 2) with seq > after, at most
 * max of them and (beyond the first) bytes bytes, into v; how many.
 * A message that is not ours, or not signed with the cluster secret,
 * gives one empty event at its last seq, which readers move past.  -1:
 * no memory.
 */
static int
stored_events(struct inbox *ib, const struct box *b, natsMsg *nm,
    uint64_t t, uint64_t after, size_t max, size_t bytes, struct msg **v,
    size_t *np)
{
	const char	*d = natsMsg_GetData(nm), *p, *end, *nl;
	size_t		 len = (size_t)natsMsg_GetDataLength(nm), n = 1, i;
	size_t		 got = 0, used = 0;
	uint64_t	 prev = 0, seq, cnt;
	char		 subj[SUBJ_MAX];
	int		 v2 = format2(nm), ok;

	*np = 0;
	snprintf(subj, sizeof(subj), "chat.inbox.%s", b->hex);
	ok = len >= 2 && d[0] == '{' && d[len - 1] == '}' &&
	    len <= ib->max_batch + HDR_ROOM && nats_link_verify(ib->link,
	    subj, nm);
	if (ok && v2) {
		ok = nats_msg_u64(nm, "Chat-Count", &cnt) && cnt >= 1 &&
		    cnt <= SEQ_K;
		n = ok ? (size_t)cnt : 1;
	}
	(void)nats_msg_u64(nm, "Chat-Prev", &prev);
	if (!v2)
		prev = seq_v1(prev);
	if (prev >= seq_of(t, n, 0))
		prev = 0;
	/* Stored when its chain was not known: a gap up to it. */
	if (v2 && nats_msg_u64(nm, "Chat-Prev-Unknown", &cnt) && cnt == 1)
		prev = seq_of(t, n, 0) - 1;
	p = d;
	end = d + len;
	for (i = 0; ok && i < n; i++) {
		nl = i + 1 < n ? memchr(p, '\n', (size_t)(end - p)) : end;
		if (nl == NULL || nl - p < 2 || p[0] != '{' || nl[-1] != '}') {
			ok = 0;
			break;
		}
		seq = seq_of(t, n, i);
		if (seq > after && got < max && (got == 0 ||
		    used + (size_t)(nl - p) <= bytes)) {
			if ((v[got] = msg_new(p, (size_t)(nl - p))) == NULL ||
			    msg_set_seq(v[got], seq) == -1) {
				msg_unref(v[got]);
				while (got > 0)
					msg_unref(v[--got]);
				return -1;
			}
			v[got]->prev = i == 0 ? prev : seq - 1;
			used += (size_t)(nl - p);
			got++;
		}
		p = nl + 1;
	}
	if (!ok) {
		while (got > 0)
			msg_unref(v[--got]);
		ib->skipped++;
		log_warn("cluster: stored message %llu of %s is not a chat "
		    "message of ours: skipped", (unsigned long long)t,
		    b->u->id);
		if ((seq = seq_of(t, 1, 0)) <= after)
			return 0;
		if ((v[0] = msg_new("", 0)) == NULL)
			return -1;
		v[0]->seq = v[0]->prev = seq;
		got = 1;
	}
	*np = got;
	return 0;
}

static int	fetch_send(struct inbox *, struct fetch *, uint64_t);

static void
fetch_answer(void *arg, void *tag, natsMsg *nm)
{
	struct inbox	*ib = arg;
	struct fetch	*f = tag;
	struct box	*b = f->b;
	struct msg	**v = NULL;
	uint64_t	 t = 0;
	size_t		 n = 0, i;
	int		 st = nm != NULL ? nats_msg_status(nm) : -1;
	enum inbox_status r = INBOX_OK;

	if (nm == NULL)
		r = ib->ready ? INBOX_UNAVAILABLE : INBOX_CLUSTER;
	else if (st == 404)
		r = INBOX_OK;		/* nothing more */
	else if (st != 0 || !nats_msg_u64(nm, "Nats-Sequence", &t) || t == 0)
		r = INBOX_UNAVAILABLE;
	/*
	 * No answer, or an error, while NATS is there: JetStream between
	 * leaders (a NATS server of the cluster lost), for seconds.  Ask
	 * again for up to READ_PATIENCE_MS before the reader is closed.
	 */
	if (r == INBOX_UNAVAILABLE && ib->ready &&
	    util_mono_ms() - f->born < READ_PATIENCE_MS &&
	    vec_grow(&ib->retry, &ib->capretry, ib->nretry + 1,
	    sizeof(*ib->retry)) == 0) {
		f->hops = 0;
		f->due = util_mono_ms() + 10 * RETRY_MS;
		ib->retry[ib->nretry++] = f;
		return;
	}
	if (r == INBOX_OK && t != 0) {
		if ((v = calloc(f->max, sizeof(*v))) == NULL ||
		    stored_events(ib, b, nm, t, f->after, f->max, f->bytes, v,
		    &n) == -1)
			r = INBOX_NOMEM;
		else if (n == 0 && f->hops++ < 2 &&
		    fetch_send(ib, f, t + 1) == 0) {
			/* All read already (a partial read): the next one. */
			free(v);
			return;
		}
	}
	/*
	 * Nothing, though this inbox has more: with replicas, a direct get
	 * may be answered by a replica that has not caught up yet.  Ask
	 * again shortly (for up to RETRY_MAX * RETRY_MS), rather than let
	 * the reader skip what it has not seen.  With one replica the
	 * answer is the stream's own: nothing means retention took it, and
	 * the reader is told the gap at once.
	 */
	if (r == INBOX_OK && n == 0 && f->after < b->last &&
	    ib->cfg.replicas > 1 &&
	    f->tries < RETRY_MAX && vec_grow(&ib->retry, &ib->capretry,
	    ib->nretry + 1, sizeof(*ib->retry)) == 0) {
		free(v);
		f->tries++;
		f->hops = 0;
		f->due = util_mono_ms() + RETRY_MS;
		ib->retry[ib->nretry++] = f;
		return;
	}
	b->ops--;
	if (n > 0 && v[n - 1]->seq > b->last)
		b->last = v[n - 1]->seq;
	if (n > 0 && v[n - 1]->seq > b->chain)
		b->chain = v[n - 1]->seq;
	ib->base.ev.read(ib->base.ev.arg, f->tag, r, v, n);
	for (i = 0; i < n; i++)
		msg_unref(v[i]);
	free(v);
	free(f);
	box_maybe_free(ib, b);
}

/* Ask for the first stored message at or after stream sequence t. */
static int
fetch_send(struct inbox *ib, struct fetch *f, uint64_t t)
{
	char	body[80 + HEXUSER];
	int	n;

	n = snprintf(body, sizeof(body), "{\"seq\":%llu,\"next_by_subj\":"
	    "\"chat.inbox.%s\"}", (unsigned long long)(t > 0 ? t : 1),
	    f->b->hex);
	return nats_link_request(ib->link, "$JS.API.DIRECT.GET.CHAT", body,
	    (size_t)n, NULL, 0, fetch_answer, ib, f);
}

static enum inbox_status
js_read(struct inbox *ib, struct user *u, uint64_t after, size_t max,
    size_t bytes, struct msg **out, size_t *np, void *tag)
{
	struct box	*b;
	struct fetch	*f;
	uint64_t	 t;

	*np = 0;
	if (!ib->ready)
		return INBOX_CLUSTER;
	if (max == 0)
		return INBOX_OK;
	if ((b = box_get(ib, u)) == NULL ||
	    (f = calloc(1, sizeof(*f))) == NULL) {
		if (b != NULL)
			box_maybe_free(ib, b);
		return INBOX_NOMEM;
	}
	f->b = b;
	f->tag = tag;
	f->born = util_mono_ms();
	f->after = after;
	f->max = max;
	f->bytes = bytes;
	/* after ends a stored message: start at the next one. */
	t = stream_of(after) + (after % SEQ_K == SEQ_K - 1);
	b->ops++;
	if (fetch_send(ib, f, t) != 0) {
		b->ops--;
		free(f);
		box_maybe_free(ib, b);
		return INBOX_CLUSTER;
	}
	return INBOX_PENDING;
}

static void
look_answer(void *arg, void *tag, natsMsg *nm)
{
	struct inbox	*ib = arg;
	struct look	*k = (struct look *)((uintptr_t)tag & ~(uintptr_t)7);
	struct box	*b = k->b;
	uint64_t	 t = 0, cnt = 1, seq = 0;
	int		 st = nm != NULL ? nats_msg_status(nm) : -1;
	int		 bit = (int)((uintptr_t)tag & 7);

	k->waiting &= ~bit;
	if (nm == NULL) {
		k->failed = 1;
		k->down = !ib->ready;
	} else if (st == 404)
		seq = 0;
	else if (st != 0)
		k->failed = 1;
	else if (bit == L_CURSOR)
		seq = cursor_of(ib, b, nm);
	else if (!nats_msg_u64(nm, "Nats-Sequence", &t) || t == 0)
		k->failed = 1;
	else {
		if (bit == L_FIRST && format2(nm) &&
		    (!nats_msg_u64(nm, "Chat-Count", &cnt) || cnt == 0 ||
		    cnt > SEQ_K))
			cnt = SEQ_K;	/* not ours: its seqs start there */
		seq = bit == L_LAST ? seq_of(t, 1, 0) :
		    seq_of(t, (size_t)cnt, 0);
	}
	if (bit == L_LAST)
		k->info.last = seq;
	else if (bit == L_FIRST)
		k->info.first = seq;
	else
		k->info.cursor = seq;
	if (k->waiting != 0)
		return;
	/* As for reads: JetStream between leaders, while NATS is there. */
	if (k->failed && ib->ready && util_mono_ms() - k->born <
	    READ_PATIENCE_MS && vec_grow(&ib->lretry, &ib->caplretry,
	    ib->nlretry + 1, sizeof(*ib->lretry)) == 0) {
		k->due = util_mono_ms() + 10 * RETRY_MS;
		ib->lretry[ib->nlretry++] = k;
		return;
	}
	b->ops--;
	if (!k->failed) {
		if (k->info.last > b->last)
			b->last = k->info.last;
		if (k->info.last > b->chain)
			b->chain = k->info.last;
		if (k->info.cursor > b->said)
			b->said = k->info.cursor;
		k->info.cursor = b->said > b->cursor ? b->said : b->cursor;
		/*
		 * An inbox retention emptied has no last message, but its
		 * numbering went on: the newest seq seen here or written
		 * anywhere (the cursor) is a floor, where 0 would make a
		 * resume after an earlier seq look like one from beyond it
		 * (reset) rather than after a gap.
		 */
		if (k->info.last < b->chain)
			k->info.last = b->chain;
		if (k->info.last < k->info.cursor)
			k->info.last = k->info.cursor;
	}
	ib->base.ev.info(ib->base.ev.arg, k->tag, k->failed ? (k->down ?
	    INBOX_CLUSTER : INBOX_UNAVAILABLE) : INBOX_OK, &k->info);
	free(k);
	box_maybe_free(ib, b);
}

/*
 * Three lookups, each answered on its own: the tag is the record with
 * the lookup's bit in its low bits (a record is aligned to 8).  -1 if
 * none went out (k is the caller's still); else the answers follow.
 */
static int
look_send(struct inbox *ib, struct look *k)
{
	struct box	*b = k->b;
	char		 subj[SUBJ_MAX + 40], body[80 + HEXUSER];
	int		 bit, n;

	k->waiting = k->failed = k->down = 0;
	memset(&k->info, 0, sizeof(k->info));
	k->info.sparse = 1;
	snprintf(k->info.epoch, sizeof(k->info.epoch), "%s", ib->epoch);
	for (bit = L_LAST; bit <= L_CURSOR; bit <<= 1) {
		n = 0;
		if (bit == L_LAST)
			snprintf(subj, sizeof(subj), "$JS.API.DIRECT.GET.CHAT."
			    "chat.inbox.%s", b->hex);
		else if (bit == L_CURSOR)
			snprintf(subj, sizeof(subj), "$JS.API.DIRECT.GET."
			    "CHAT_CURSOR.chat.cursor.%s", b->hex);
		else {
			snprintf(subj, sizeof(subj), "$JS.API.DIRECT.GET.CHAT");
			n = snprintf(body, sizeof(body), "{\"seq\":1,"
			    "\"next_by_subj\":\"chat.inbox.%s\"}", b->hex);
		}
		k->waiting |= bit;
		if (nats_link_request(ib->link, subj, body, (size_t)n, NULL, 0,
		    look_answer, ib, (void *)((uintptr_t)k | (uintptr_t)bit)) !=
		    0) {
			k->waiting &= ~bit;
			k->failed = 1;
			k->down = 1;
			if (k->waiting == 0)
				return -1;
			break;	/* the others answer; then it fails */
		}
	}
	return 0;
}

static enum inbox_status
js_info(struct inbox *ib, struct user *u, struct inbox_info *out,
    void *tag)
{
	struct box	*b;
	struct look	*k;

	if (!ib->ready)
		return INBOX_CLUSTER;
	if ((b = box_get(ib, u)) == NULL ||
	    (k = calloc(1, sizeof(*k))) == NULL) {
		if (b != NULL)
			box_maybe_free(ib, b);
		return INBOX_NOMEM;
	}
	k->b = b;
	k->tag = tag;
	k->born = util_mono_ms();
	b->ops++;
	if (look_send(ib, k) != 0) {
		/* None went out: answer now, as down. */
		b->ops--;
		free(k);
		box_maybe_free(ib, b);
		return INBOX_CLUSTER;
	}
	return INBOX_PENDING;
}

static void
js_cursor(struct inbox *ib, struct user *u, uint64_t seq)
{
	struct box	*b;

	if ((b = box_get(ib, u)) == NULL || seq <= b->cursor)
		return;
	b->cursor = seq;
	box_dirty(ib, b);
}

/* Parse "<number><sep>" at *pp (below end); advance past sep. */
static int
take_u64(const char **pp, const char *end, char sep, uint64_t *v)
{
	const char	*p = *pp;
	uint64_t	 x = 0;
	int		 k = 0;

	for (; p < end && *p >= '0' && *p <= '9' && k < 19; p++, k++)
		x = x * 10 + (uint64_t)(*p - '0');
	if (k == 0 || p >= end || *p != sep)
		return -1;
	*pp = p + 1;
	*v = x;
	return 0;
}

/*
 * chat.node.<us>: events another node stored for users with connections
 * here (and inboxes' last seqs), in the records of out_add().  What does
 * not parse ends the message; users not held here are passed over.
 */
static void
node_input(void *arg, natsMsg *nm)
{
	struct inbox	*ib = arg;
	const char	*p = natsMsg_GetData(nm), *end, *sp;
	char		 id[CODEC_MAX_USER + 1];
	struct user	*u;
	struct box	*b;
	struct msg	*m;
	uint64_t	 seq, prev, len;

	end = p + natsMsg_GetDataLength(nm);
	while (p < end) {
		if ((sp = memchr(p, ' ', (size_t)(end - p))) == NULL ||
		    sp == p || util_unhex(id, sizeof(id), p,
		    (size_t)(sp - p)) == -1)
			return;
		p = sp + 1;
		if (take_u64(&p, end, ' ', &seq) == -1 ||
		    take_u64(&p, end, ' ', &prev) == -1 ||
		    take_u64(&p, end, '\n', &len) == -1 ||
		    len >= (uint64_t)(end - p) || p[len] != '\n' ||
		    seq == 0 || prev > seq || (len > 0 && prev == seq))
			return;
		sp = p;
		p += len + 1;
		if ((u = users_find(ib->base.users, id)) == NULL ||
		    (b = u->box) == NULL || b->holds == 0)
			continue;
		if (len > 0 && (len < 2 || sp[0] != '{' || sp[len - 1] != '}'))
			return;
		if ((m = msg_new(sp, (size_t)len)) == NULL)
			return;
		/* The event has its seq: msg_set_seq() was done there. */
		m->seq = seq;
		m->prev = len > 0 ? live_prev(ib, prev, seq) : prev;
		if (seq > b->last)
			b->last = seq;
		if (seq > b->chain)
			b->chain = seq;
		ib->base.ev.arrived(ib->base.ev.arg, u, m);
		msg_unref(m);
	}
}

/*
 * Presence: node now holds u.  If we stored in u's inbox lately, that
 * node may have looked at it before our store and heard of it too late
 * to be handed it: tell it the last seq, so that it reads what it lacks.
 */
static void
js_joined(void *arg, struct user *u, const char *node)
{
	struct inbox	*ib = arg;
	struct box	*b = u->box;

	if (b == NULL || !b->known || b->last == 0 || b->stored_at == 0 ||
	    util_mono_ms() - b->stored_at >= TAIL_MS)
		return;
	out_add(ib, node, b, b->last, b->last, "", 0);
}

static void
js_hold(struct inbox *ib, struct user *u, int on)
{
	struct box	*b;

	if (on) {
		if ((b = box_get(ib, u)) != NULL)
			b->holds++;
		return;
	}
	if ((b = u->box) == NULL || b->holds == 0)
		return;
	b->holds--;
	box_maybe_free(ib, b);
}

/*
 * Reads and lookups answered too early, or failed while NATS is there:
 * again when due (or answered as NATS away).
 */
static void
retry_reads(struct inbox *ib, uint64_t now, int force)
{
	struct fetch	*f;
	struct look	*lk;
	size_t		 i, k;

	for (i = k = 0; i < ib->nretry; i++) {
		f = ib->retry[i];
		if (!force && ib->ready && now < f->due) {
			ib->retry[k++] = f;
			continue;
		}
		if (force || !ib->ready ||
		    fetch_send(ib, f, stream_of(f->after) +
		    (f->after % SEQ_K == SEQ_K - 1)) != 0) {
			f->b->ops--;
			ib->base.ev.read(ib->base.ev.arg, f->tag,
			    INBOX_CLUSTER, NULL, 0);
			box_maybe_free(ib, f->b);
			free(f);
		}
	}
	ib->nretry = k;
	for (i = k = 0; i < ib->nlretry; i++) {
		lk = ib->lretry[i];
		if (!force && ib->ready && now < lk->due) {
			ib->lretry[k++] = lk;
			continue;
		}
		if (force || !ib->ready || look_send(ib, lk) != 0) {
			lk->b->ops--;
			ib->base.ev.info(ib->base.ev.arg, lk->tag,
			    INBOX_CLUSTER, &lk->info);
			box_maybe_free(ib, lk->b);
			free(lk);
		}
	}
	ib->nlretry = k;
}

static void
js_tick(struct inbox *ib, uint64_t now)
{
	if (ib->up && !ib->ready && ib->setup_retry != 0 &&
	    now >= ib->setup_retry)
		setup_start(ib);
	if (ib->nretry > 0 || ib->nlretry > 0)
		retry_reads(ib, now, 0);
	purge_early(ib, now, 0);
	reap(ib, now, 0);
}

static void
js_stats(const struct inbox *ib, struct inbox_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->kind = "jetstream";
	st->ok = ib->ready;
	st->refused_full = ib->refused_full;
	st->commits = ib->stores;
	st->purges = ib->purges_early + ib->purges_full;
	st->purges_full = ib->purges_full;
	st->purged = ib->purged;
	st->latency = &ib->latency;
}

static void
js_close(struct inbox *ib)
{
	size_t	i;

	if (ib == NULL)
		return;
	flush_cursors(ib, util_mono_ms(), 1);	/* the last cursors */
	/*
	 * What is still in flight or waiting is answered now, as NATS
	 * being away, so that every record and box is freed while we
	 * still exist.
	 */
	ib->ready = 0;
	nats_link_cancel_all(ib->link);
	retry_reads(ib, util_mono_ms(), 1);
	js_commit(ib);
	purge_early(ib, 0, 1);
	if (ib->purges_early + ib->purges_full > 0)
		log_info("cluster: %llu purges of delivered messages (%llu of "
		    "a full inbox), %llu stored messages purged",
		    (unsigned long long)(ib->purges_early + ib->purges_full),
		    (unsigned long long)ib->purges_full,
		    (unsigned long long)ib->purged);
	nats_link_unsubscribe(ib->sub);
	reap(ib, util_mono_ms(), 1);
	for (i = 0; i < ib->nouts; i++)
		free(ib->outs[i].buf);
	free(ib->outs);
	free(ib->sendq);
	free(ib->dirty);
	free(ib->gc);
	free(ib->linger);
	free(ib->retry);
	free(ib->lretry);
	free(ib->purgeq);
	free(ib);
}

static size_t
js_msg_hdr(const struct inbox *ib)
{
	return 0;
}

struct inbox *
inbox_js_open(const struct inbox_config *cfg, struct users *us,
    struct nats_link *link, const struct inbox_events *ev, char *err,
    size_t errlen)
{
	struct inbox	*ib;
	char		 subj[64];

	if ((ib = calloc(1, sizeof(*ib))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	ib->base.ops = &js_ops;
	ib->base.users = us;
	ib->base.ev = *ev;
	ib->cfg = *cfg;
	ib->cfg.path = NULL;
	ib->link = link;
	ib->max_batch = PAYLOAD_DEFAULT - HDR_ROOM;
	snprintf(subj, sizeof(subj), "chat.node.%s", nats_link_node(link));
	if (nats_link_subscribe(link, subj, node_input, ib, &ib->sub) != 0) {
		snprintf(err, errlen, "cannot subscribe to %s", subj);
		free(ib);
		return NULL;
	}
	if (cfg->presence != NULL)
		presence_on_join(cfg->presence, js_joined, ib);
	nats_link_on_state(link, link_state, ib);
	return ib;
}

static const struct inbox_ops js_ops = {
	"jetstream", js_close, js_append, js_commit, js_read, js_info,
	js_cursor, js_hold, js_tick, js_stats, js_msg_hdr, js_flush, NULL
};
