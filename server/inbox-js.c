/*
 * Copyright (c) 2026 The chat authors.
 *
 * inbox-js: the JetStream backing of the inboxes (see inbox.h), shared
 * by the nodes of a cluster over NATS (nats-link.h).
 *
 * Stream CHAT holds every user's inbox (subject chat.inbox.<hex of the
 * id>, since ids may contain '.'); a message's seq is its stream
 * sequence, so an inbox's seqs grow but skip numbers (sparse).  Stream
 * CHAT_CURSOR keeps each user's cursor (chat.cursor.<hex>, one message
 * per subject).  The epoch is a hash of CHAT's creation time: a stream
 * made again is a new numbering.
 *
 * An inbox is a chain: each message is published expecting the inbox's
 * last seq (Nats-Expected-Last-Subject-Sequence; JetStream refuses it
 * if another node appended meanwhile and says what the last one is), so
 * every stored message knows the one before it (header Chat-Prev) and a
 * reader sees what retention took.  One publish per target in flight;
 * the rest wait behind it.  Once stored, the message goes to the nodes
 * that have connections of its user (chat.user.<hex>, with Chat-Seq,
 * Chat-Prev and Chat-Node) and the append is answered.
 *
 * The guarantee holds here too: CHAT discards new messages per subject
 * (--history-limit each), so JetStream refuses rather than drops; a
 * refused append purges the inbox's delivered messages (those up to its
 * cursor) and is tried once more, else answered queue_full.  Only age
 * (--history-days) takes undelivered messages, and readers are told
 * (inbox.h: prev).
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
#include "users.h"
#include "util.h"
#include "vec.h"

#define SETUP_RETRY_MS	500	/* stream setup failed: again after, */
#define SETUP_RETRY_MAX	10000	/* doubling up to this */
#define HEXUSER		(2 * CODEC_MAX_USER + 1)
#define SUBJ_MAX	(64 + HEXUSER)

/* Lookup bits. */
#define L_LAST		0x1
#define L_FIRST		0x2
#define L_CURSOR	0x4

struct pub;

/* A user's inbox as this node deals with it (user->box). */
struct box {
	struct user		*u;
	natsSubscription	*sub;		/* chat.user.<hex> while held */
	uint32_t		 holds;
	struct pub		*inflight;	/* the chain's publish */
	struct pub		*head, *tail;	/* waiting behind it */
	uint64_t		 last;		/* the inbox's newest seq */
	int			 known;		/* last is believed right */
	uint64_t		 chain;		/* the newest seq ever seen */
	uint64_t		 cursor;	/* newest written here */
	uint64_t		 said;		/* ...as published */
	int			 dirty;		/* on the dirty list */
	uint32_t		 ops;		/* lookups, reads, purges */
	char			 hex[HEXUSER];
};

/* An append in flight or waiting. */
struct pub {
	struct pub	*qnext;
	struct box	*b;
	void		*tag;
	struct msg	*m;		/* the event without seq */
	uint64_t	 expect;	/* the last seq JetStream must have */
	uint64_t	 sent_us;	/* when it was published */
	uint64_t	 prev;		/* the one before it, for readers */
	uint64_t	 born;
	int		 purged;	/* a purge was tried for it */
};

/* A lookup for info(). */
struct look {
	struct box	*b;
	void		*tag;
	int		 waiting, failed, down;
	struct inbox_info info;
};

/* A read for read(). */
struct fetch {
	struct box	*b;
	void		*tag;
};

enum { SETUP_CHAT, SETUP_CHAT_UPDATE, SETUP_CURSOR, SETUP_CURSOR_UPDATE };

struct inbox {
	struct inbox_base	 base;
	struct inbox_config	 cfg;
	struct nats_link	*link;
	int			 up, ready;
	int			 setup_ok;	/* bits: CHAT, CHAT_CURSOR */
	uint64_t		 setup_retry;
	unsigned		 setup_fails;	/* rounds in a row */
	int			 setup_failed;	/* this round */
	char			 epoch[17];
	struct box		**dirty;	/* cursors to publish */
	size_t			  ndirty, capdirty;
	uint64_t		 refused_full, appended;
	struct hist		 latency;	/* publish to JetStream's ack */
};

static const struct inbox_ops js_ops;

static void	kick(struct inbox *, struct box *);

/* ---- boxes ---- */

static void
hex_user(char *out, const char *user)
{
	static const char	 digits[] = "0123456789abcdef";
	const unsigned char	*p = (const unsigned char *)user;

	for (; *p != '\0'; p++) {
		*out++ = digits[*p >> 4];
		*out++ = digits[*p & 15];
	}
	*out = '\0';
}

static int
unhex_user(char *out, const char *hex)
{
	size_t	i, n = strlen(hex);
	int	hi, lo;

	if (n == 0 || n % 2 != 0 || n / 2 > CODEC_MAX_USER)
		return -1;
	for (i = 0; i < n / 2; i++) {
		hi = hex[2 * i] <= '9' ? hex[2 * i] - '0' : hex[2 * i] - 'a' + 10;
		lo = hex[2 * i + 1] <= '9' ? hex[2 * i + 1] - '0' :
		    hex[2 * i + 1] - 'a' + 10;
		if (hi < 0 || hi > 15 || lo < 0 || lo > 15)
			return -1;
		out[i] = (char)(hi << 4 | lo);
		if (out[i] == '\0')
			return -1;
	}
	out[n / 2] = '\0';
	return 0;
}

static struct box *
box_get(struct inbox *ib, struct user *u)
{
	struct box	*b;

	if (u->box != NULL)
		return u->box;
	if ((b = calloc(1, sizeof(*b))) == NULL)
		return NULL;
	b->u = u;
	hex_user(b->hex, u->id);
	u->box = b;
	user_ref(u);
	return b;
}

static void
box_maybe_free(struct inbox *ib, struct box *b)
{
	struct user	*u = b->u;

	if (b->holds > 0 || b->inflight != NULL || b->head != NULL ||
	    b->dirty || b->ops > 0)
		return;
	nats_link_unsubscribe(b->sub);
	u->box = NULL;
	free(b);
	user_unref(ib->base.users, u);
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
		cfg = json_pack("{s:s, s:[s], s:s, s:s, s:s, s:I, s:b, s:i}",
		    "name", name, "subjects", "chat.cursor.*", "storage",
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
 * refuses a message over its max_payload (1 MiB by default).
 */
static void
check_payload(struct inbox *ib)
{
	int64_t	max = nats_link_max_payload(ib->link);
	size_t	need = 7 * ib->cfg.max_message + 1024;

	if (max > 0 && (uint64_t)max < need)
		log_warn("cluster: NATS takes messages of at most %lld bytes: "
		    "chat messages over about %lld bytes of --max-message %zu "
		    "will be refused (raise max_payload in nats-server)",
		    (long long)max, (long long)(max - 1024) / 7,
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
			    "created")) != NULL && json_is_string(created))
				/*
				 * The same on every node and run (not the
				 * keyed table hash): clients keep it.
				 */
				snprintf(ib->epoch, sizeof(ib->epoch),
				    "%016zx", util_hash_str(
				    json_string_value(created)));
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

/* ---- the chain ---- */

static int
pub_send(struct inbox *ib, struct pub *q);

/* Answer q's append and free q. */
static void
pub_done(struct inbox *ib, struct pub *q, enum inbox_status st)
{
	struct box	*b = q->b;
	void		*tag = q->tag;
	struct msg	*m = q->m;

	free(q);
	ib->base.ev.appended(ib->base.ev.arg, tag, st,
	    st == INBOX_OK ? m : NULL);
	msg_unref(m);
	box_maybe_free(ib, b);
}

/* Publish the next waiting message of b, if none is in flight. */
static void
kick(struct inbox *ib, struct box *b)
{
	struct pub	*q;

	while (b->inflight == NULL && (q = b->head) != NULL) {
		if ((b->head = q->qnext) == NULL)
			b->tail = NULL;
		q->qnext = NULL;
		if (!ib->ready) {
			pub_done(ib, q, INBOX_CLUSTER);
			continue;
		}
		/*
		 * prev is what readers see: the newest seq this inbox ever
		 * had, even if retention emptied it since (JetStream then
		 * expects 0), so a reader still learns what it missed.
		 */
		q->expect = b->known ? b->last : 0;
		q->prev = q->expect > b->chain ? q->expect : b->chain;
		b->inflight = q;
		if (pub_send(ib, q) != 0) {
			b->inflight = NULL;
			pub_done(ib, q, INBOX_CLUSTER);
		}
	}
}

/*
 * Put q, the chain's publish in flight, back at the head of its chain
 * (to try again) and kick.
 */
static void
pub_again(struct inbox *ib, struct pub *q)
{
	struct box	*b = q->b;

	b->inflight = NULL;
	q->qnext = b->head;
	b->head = q;
	if (b->tail == NULL)
		b->tail = q;
	kick(ib, b);
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

static void	purge_start(struct inbox *, struct pub *);

/* Stored as seq: tell its user's nodes, then answer the append. */
static void
pub_stored(struct inbox *ib, struct pub *q, uint64_t seq)
{
	struct box	*b = q->b;
	struct nats_hdr	 h[3];
	char		 subj[SUBJ_MAX], vseq[24], vprev[24];

	b->inflight = NULL;
	b->last = b->chain = seq;
	b->known = 1;
	kick(ib, b);
	snprintf(vseq, sizeof(vseq), "%llu", (unsigned long long)seq);
	snprintf(vprev, sizeof(vprev), "%llu", (unsigned long long)q->prev);
	h[0].key = "Chat-Seq";
	h[0].value = vseq;
	h[1].key = "Chat-Prev";
	h[1].value = vprev;
	h[2].key = "Chat-Node";
	h[2].value = nats_link_node(ib->link);
	snprintf(subj, sizeof(subj), "chat.user.%s", b->hex);
	(void)nats_link_publish(ib->link, subj, q->m->data, q->m->len, h, 3);
	if (msg_set_seq(q->m, seq) == -1) {
		pub_done(ib, q, INBOX_NOMEM);
		return;
	}
	q->m->prev = q->prev;
	ib->appended++;
	pub_done(ib, q, INBOX_OK);
}

/* JetStream answered a publish (m NULL: it did not in time). */
static void
pub_answer(void *arg, void *tag, natsMsg *m)
{
	struct inbox	*ib = arg;
	struct pub	*q = tag;
	struct box	*b = q->b;
	json_t		*root = NULL, *err;
	json_error_t	 jerr;
	uint64_t	 seq = 0, last;
	const char	*desc = "";
	int		 st = m != NULL ? nats_msg_status(m) : -1;

	if (m != NULL)
		hist_observe(&ib->latency, util_mono_us() - q->sent_us);
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
		pub_stored(ib, q, seq);
		return;
	}
	if (m != NULL && wrong_last(desc, &last) &&
	    util_mono_ms() - q->born < NATS_REQ_TIMEOUT_MS) {
		/* Another node appended first: again after its last. */
		json_decref(root);
		b->last = last;
		b->known = 1;
		if (last > b->chain)
			b->chain = last;
		pub_again(ib, q);
		return;
	}
	if (m != NULL && strstr(desc, "maximum messages per subject") !=
	    NULL && !q->purged) {
		/*
		 * Full: drop what was delivered, then try once more.  q stays
		 * in flight meanwhile: the chain waits for it, so that no
		 * later message of this inbox is published before it (out of
		 * order, into the room the purge makes) or beside it (two in
		 * flight, one of them no longer known to the box).
		 */
		json_decref(root);
		purge_start(ib, q);
		return;
	}
	b->known = 0;
	b->inflight = NULL;
	if (m != NULL && strstr(desc, "maximum") != NULL) {
		log_info("cluster: inbox of %s full (%s): refused",
		    b->u->id, desc);
		json_decref(root);
		ib->refused_full++;
		kick(ib, b);
		pub_done(ib, q, INBOX_FULL);
		return;
	}
	if (st > 0)
		log_warn("cluster: message for %s not stored (status %d%s)",
		    b->u->id, st, st == 503 ? ": no stream" : "");
	else if (m != NULL)
		log_warn("cluster: message for %s refused by JetStream: %s",
		    b->u->id, desc);
	json_decref(root);
	kick(ib, b);
	pub_done(ib, q, INBOX_CLUSTER);
}

static int
pub_send(struct inbox *ib, struct pub *q)
{
	struct nats_hdr	 h[2];
	char		 subj[SUBJ_MAX], v[24], p[24];

	snprintf(v, sizeof(v), "%llu", (unsigned long long)q->expect);
	snprintf(p, sizeof(p), "%llu", (unsigned long long)q->prev);
	h[0].key = "Nats-Expected-Last-Subject-Sequence";
	h[0].value = v;
	h[1].key = "Chat-Prev";
	h[1].value = p;
	snprintf(subj, sizeof(subj), "chat.inbox.%s", q->b->hex);
	q->sent_us = util_mono_us();
	return nats_link_request(ib->link, subj, q->m->data, q->m->len, h, 2,
	    pub_answer, ib, q);
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

/* ---- purging delivered messages of a full inbox ---- */

static void
purge_answer(void *arg, void *tag, natsMsg *m)
{
	struct inbox	*ib = arg;
	struct pub	*q = tag;

	q->b->ops--;
	/* Whatever it did, the append is tried again, once. */
	pub_again(ib, q);
}

static void
purge_cursor(void *arg, void *tag, natsMsg *m)
{
	struct inbox	*ib = arg;
	struct pub	*q = tag;
	struct box	*b = q->b;
	uint64_t	 cursor = b->said > b->cursor ? b->said : b->cursor, v;
	char		 body[80 + HEXUSER];
	int		 n;

	if (m != NULL && nats_msg_status(m) == 0 && (v = data_u64(m)) >
	    cursor)
		cursor = v;
	if (cursor == 0) {
		b->ops--;
		pub_again(ib, q);	/* nothing delivered: refused again */
		return;
	}
	/* Purge the subject's messages with seq < cursor + 1. */
	n = snprintf(body, sizeof(body), "{\"filter\":\"chat.inbox.%s\","
	    "\"seq\":%llu}", b->hex, (unsigned long long)cursor + 1);
	if (nats_link_request(ib->link, "$JS.API.STREAM.PURGE.CHAT", body,
	    (size_t)n, NULL, 0, purge_answer, ib, q) != 0) {
		b->ops--;
		pub_again(ib, q);
	}
}

static void
purge_start(struct inbox *ib, struct pub *q)
{
	struct box	*b = q->b;
	char		 subj[SUBJ_MAX + 40];

	q->purged = 1;
	b->ops++;
	snprintf(subj, sizeof(subj), "$JS.API.DIRECT.GET.CHAT_CURSOR."
	    "chat.cursor.%s", b->hex);
	if (nats_link_request(ib->link, subj, NULL, 0, NULL, 0, purge_cursor,
	    ib, q) != 0) {
		b->ops--;
		pub_again(ib, q);
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
	q->b = b;
	q->tag = tag;
	q->m = msg_ref(m);
	q->born = util_mono_ms();
	if (b->tail != NULL)
		b->tail->qnext = q;
	else
		b->head = q;
	b->tail = q;
	kick(ib, b);
	return INBOX_PENDING;
}

/* Appends go out as they come; nothing waits for the commit. */
static void
js_commit(struct inbox *ib)
{
}

/*
 * Cursors go out once a pass, the newest of each user, after the pass
 * wrote to sockets: another node starting a connection without since
 * must see that these were written.
 */
static void
js_flush(struct inbox *ib)
{
	struct box	*b;
	char		 subj[SUBJ_MAX], v[24];
	size_t		 i;
	int		 n;

	for (i = 0; i < ib->ndirty; i++) {
		b = ib->dirty[i];
		b->dirty = 0;
		if (ib->ready && b->cursor > b->said) {
			snprintf(subj, sizeof(subj), "chat.cursor.%s", b->hex);
			n = snprintf(v, sizeof(v), "%llu",
			    (unsigned long long)b->cursor);
			if (nats_link_publish(ib->link, subj, v, (size_t)n,
			    NULL, 0) == 0)
				b->said = b->cursor;
		}
		box_maybe_free(ib, b);
	}
	ib->ndirty = 0;
}

/* A stored message as sent to receivers: its data with seq spliced in. */
static struct msg *
stored_msg(struct inbox *ib, natsMsg *nm, uint64_t seq)
{
	const char	*d = natsMsg_GetData(nm);
	size_t		 len = (size_t)natsMsg_GetDataLength(nm);
	struct msg	*m;
	uint64_t	 prev = 0;

	/* Ours end with '}'; anything else in the stream is skipped. */
	if (len < 2 || d[0] != '{' || d[len - 1] != '}' ||
	    len > 8 * ib->cfg.max_message + 1024)
		return NULL;
	if ((m = msg_new(d, len)) == NULL)
		return NULL;
	if (msg_set_seq(m, seq) == -1) {
		msg_unref(m);
		return NULL;
	}
	(void)nats_msg_u64(nm, "Chat-Prev", &prev);
	m->prev = prev < seq ? prev : 0;
	return m;
}

static void
fetch_answer(void *arg, void *tag, natsMsg *nm)
{
	struct inbox	*ib = arg;
	struct fetch	*f = tag;
	struct box	*b = f->b;
	struct msg	*m = NULL;
	uint64_t	 seq = 0;
	int		 st = nm != NULL ? nats_msg_status(nm) : -1;
	enum inbox_status r = INBOX_OK;

	b->ops--;
	if (nm == NULL)
		r = ib->ready ? INBOX_UNAVAILABLE : INBOX_CLUSTER;
	else if (st == 404)
		r = INBOX_OK;		/* nothing more */
	else if (st != 0 || !nats_msg_u64(nm, "Nats-Sequence", &seq) ||
	    seq == 0)
		r = INBOX_UNAVAILABLE;
	else if ((m = stored_msg(ib, nm, seq)) == NULL) {
		/*
		 * Not ours (or no memory): skip it, as an empty message
		 * at that seq would be, so the reader moves past it.
		 */
		log_warn("cluster: seq %llu of %s is not a chat message: "
		    "skipped", (unsigned long long)seq, b->u->id);
		if ((m = msg_new("", 0)) != NULL)
			m->seq = m->prev = seq;
	}
	if (m != NULL && m->seq > b->last)
		b->last = m->seq;
	if (m != NULL && m->seq > b->chain)
		b->chain = m->seq;
	ib->base.ev.read(ib->base.ev.arg, f->tag, r, m != NULL ? &m : NULL,
	    m != NULL ? 1 : 0);
	msg_unref(m);
	free(f);
	box_maybe_free(ib, b);
}

static enum inbox_status
js_read(struct inbox *ib, struct user *u, uint64_t after, size_t max,
    size_t bytes, struct msg **out, size_t *np, void *tag)
{
	struct box	*b;
	struct fetch	*f;
	char		 body[80 + HEXUSER];
	int		 n;

	*np = 0;
	if (!ib->ready)
		return INBOX_CLUSTER;
	if ((b = box_get(ib, u)) == NULL ||
	    (f = calloc(1, sizeof(*f))) == NULL) {
		if (b != NULL)
			box_maybe_free(ib, b);
		return INBOX_NOMEM;
	}
	f->b = b;
	f->tag = tag;
	n = snprintf(body, sizeof(body), "{\"seq\":%llu,\"next_by_subj\":"
	    "\"chat.inbox.%s\"}", (unsigned long long)after + 1, b->hex);
	b->ops++;
	if (nats_link_request(ib->link, "$JS.API.DIRECT.GET.CHAT", body,
	    (size_t)n, NULL, 0, fetch_answer, ib, f) != 0) {
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
	uint64_t	 seq = 0;
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
		seq = data_u64(nm);
	else if (!nats_msg_u64(nm, "Nats-Sequence", &seq))
		k->failed = 1;
	if (bit == L_LAST)
		k->info.last = seq;
	else if (bit == L_FIRST)
		k->info.first = seq;
	else
		k->info.cursor = seq;
	if (k->waiting != 0)
		return;
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
 * the lookup's bit in its low bits (a record is aligned to 8).
 */
static enum inbox_status
js_info(struct inbox *ib, struct user *u, struct inbox_info *out,
    void *tag)
{
	struct box	*b;
	struct look	*k;
	char		 subj[SUBJ_MAX + 40], body[80 + HEXUSER];
	int		 bit, n;

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
	k->info.sparse = 1;
	snprintf(k->info.epoch, sizeof(k->info.epoch), "%s", ib->epoch);
	b->ops++;
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
			if (k->waiting == 0) {
				/* None went out: answer now, as down. */
				b->ops--;
				free(k);
				box_maybe_free(ib, b);
				return INBOX_CLUSTER;
			}
			break;	/* the others answer; then it fails */
		}
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
	if (!b->dirty && vec_grow(&ib->dirty, &ib->capdirty, ib->ndirty + 1,
	    sizeof(*ib->dirty)) == 0) {
		b->dirty = 1;
		ib->dirty[ib->ndirty++] = b;
	}
}

/* chat.user.<hex>: a message of that user's inbox, just stored. */
static void
hint(void *arg, natsMsg *nm)
{
	struct inbox	*ib = arg;
	const char	*subj = natsMsg_GetSubject(nm), *node = NULL;
	char		 id[CODEC_MAX_USER + 1];
	struct user	*u;
	struct msg	*m;
	uint64_t	 seq, prev;

	if (strncmp(subj, "chat.user.", 10) != 0 ||
	    unhex_user(id, subj + 10) != 0)
		return;
	/* Ours: delivered here already, when JetStream answered. */
	if (natsMsgHeader_Get(nm, "Chat-Node", &node) == NATS_OK &&
	    node != NULL && strcmp(node, nats_link_node(ib->link)) == 0)
		return;
	if (!nats_msg_u64(nm, "Chat-Seq", &seq) ||
	    !nats_msg_u64(nm, "Chat-Prev", &prev) || seq == 0 || prev >= seq)
		return;
	if ((u = users_find(ib->base.users, id)) == NULL || u->box == NULL ||
	    (m = stored_msg(ib, nm, seq)) == NULL)
		return;
	if (seq > u->box->last)
		u->box->last = seq;
	if (seq > u->box->chain)
		u->box->chain = seq;
	ib->base.ev.arrived(ib->base.ev.arg, u, m);
	msg_unref(m);
}

static void
js_hold(struct inbox *ib, struct user *u, int on)
{
	struct box	*b;
	char		 subj[SUBJ_MAX];

	if (on) {
		if ((b = box_get(ib, u)) == NULL)
			return;
		if (b->holds++ == 0 && b->sub == NULL) {
			snprintf(subj, sizeof(subj), "chat.user.%s", b->hex);
			if (nats_link_subscribe(ib->link, subj, hint, ib,
			    &b->sub) != 0)
				log_warn("cluster: cannot follow %s", u->id);
		}
		return;
	}
	if ((b = u->box) == NULL || b->holds == 0)
		return;
	if (--b->holds == 0) {
		nats_link_unsubscribe(b->sub);
		b->sub = NULL;
	}
	box_maybe_free(ib, b);
}

static void
js_tick(struct inbox *ib, uint64_t now)
{
	if (ib->up && !ib->ready && ib->setup_retry != 0 &&
	    now >= ib->setup_retry)
		setup_start(ib);
}

static void
js_stats(const struct inbox *ib, struct inbox_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->kind = "jetstream";
	st->ok = ib->ready;
	st->refused_full = ib->refused_full;
	st->latency = &ib->latency;
}

static void
js_close(struct inbox *ib)
{
	if (ib == NULL)
		return;
	js_flush(ib);		/* the last cursors */
	/*
	 * What is still in flight is answered now, as NATS being away, so
	 * that every record and box is freed while we still exist.
	 */
	ib->ready = 0;
	nats_link_cancel_all(ib->link);
	free(ib->dirty);
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
	nats_link_on_state(link, link_state, ib);
	return ib;
}

static const struct inbox_ops js_ops = {
	"jetstream", js_close, js_append, js_commit, js_read, js_info,
	js_cursor, js_hold, js_tick, js_stats, js_msg_hdr, js_flush
};
