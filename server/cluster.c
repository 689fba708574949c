/*
 * Copyright (c) 2026 The chat authors.
 *
 * cluster: the NATS link (see cluster.h).  NATS' own threads read the
 * socket and run the callbacks below, which only queue what they got
 * and wake the loop through a pipe; everything else runs on the loop
 * thread in cluster_process() and cluster_tick().  Publishing from the
 * loop copies into the library's buffer (a flush to a slow NATS server
 * is the only wait).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <nats/nats.h>

#include "cluster.h"
#include "log.h"
#include "metrics.h"
#include "presence.h"
#include "server.h"
#include "util.h"

#define REQ_TIMEOUT_MS	5000	/* an unanswered request fails */
#define SETUP_RETRY_MS	500	/* stream setup failed: again after, */
#define SETUP_RETRY_MAX	10000	/* doubling up to this */
#define MAX_INFLIGHT	65536	/* requests in flight */
#define DRAIN_MS	2000	/* at exit, for what NATS still holds */
#define PENDING_MSGS	(1 << 20) /* per subscription, not yet handed over */
#define PENDING_BYTES	(256 << 20)
#define REQ_BUCKETS	4096	/* power of two */
#define CUSER_KEEP	16384	/* idle users remembered */

#define HEXUSER		(2 * CODEC_MAX_USER + 1)
#define SUBJ_MAX	(64 + HEXUSER)

/* What NATS' threads hand to the loop. */
enum ev_kind {
	EV_MSG_INBOX,		/* a reply to one of our requests */
	EV_MSG_USER,		/* chat.user.<hex>: a hint */
	EV_MSG_PRESENCE,	/* chat.presence */
	EV_CONNECTED,
	EV_DISCONNECTED,
	EV_CLOSED,
	EV_ERROR		/* asynchronous error (slow consumer...) */
};

struct ev {
	struct ev	*next;
	enum ev_kind	 kind;
	natsMsg		*msg;
	natsStatus	 status;		/* EV_ERROR */
};

enum req_kind {
	RQ_SETUP,		/* stream create or update */
	RQ_PUB,			/* a chat message into CHAT */
	RQ_HINT,		/* the stored message's seq to its user's nodes */
	RQ_FETCH,		/* next message of an inbox, for a connection */
	RQ_LOOKUP		/* first, last or cursor, for a connection */
};

struct cuser;

struct req {
	struct req	*hnext;			/* by token */
	struct req	*prev, *next;		/* by deadline */
	uint64_t	 token, deadline;
	enum req_kind	 kind;
	int		 what;			/* CL_* or setup step */
	struct client	*c;			/* NULL once it is gone */
	uint64_t	 seq, prev_seq;		/* PUB, HINT */
	struct cuser	*tgt;			/* PUB: its target's chain */
	struct req	*qnext;			/* PUB: waiting behind it */
	char		*data;			/* PUB, HINT: stored JSON */
	size_t		 len;
	uint64_t	 born;			/* PUB: when it was submitted */
	uint64_t	 sent_us;		/* PUB: when it was published */
	char		 user[CODEC_MAX_USER + 1];
	char		 id[CODEC_MAX_IDJSON + 1];
};

/* Setup steps (req->what for RQ_SETUP). */
enum { SETUP_CHAT, SETUP_CHAT_UPDATE, SETUP_CURSOR, SETUP_CURSOR_UPDATE };

/*
 * A user this node deals with: one it follows (a connection here: its
 * subscription) and/or one it sends to.  An inbox is a chain: each
 * message is published expecting the inbox's last seq (JetStream
 * refuses it if another node appended meanwhile, and says what the last
 * one is), so every stored message knows the one before it (prev) and a
 * receiving node sees gaps.  One publish per target in flight; the rest
 * wait behind it.
 */
struct cuser {
	struct cuser		*hnext;
	natsSubscription	*sub;		/* followed, or NULL */
	struct req		*inflight;
	struct req		*head, *tail;	/* waiting */
	uint64_t		 last;		/* seq of the inbox's newest */
	int			 known;		/* last is believed right */
	char			 user[];
};

struct cluster {
	struct server	*srv;
	struct metrics_hist store_us;		/* publish to JetStream's ack */
	natsOptions	*opts;
	natsConnection	*nc;
	natsSubscription *inbox_sub, *pres_sub;
	char		 node[33];		/* our id, 32 hex digits */
	char		 inbox[48];		/* "_INBOX.<node>." */
	char		 urls[512];		/* for logs: no secrets */

	/* The hand-off (shared with NATS' threads, under lock). */
	pthread_mutex_t	 lock;
	struct ev	*evhead, *evtail;
	int		 wake[2];
	int		 closing;
	int		 nats_closed;		/* the closed callback ran */
	pthread_cond_t	 closed_cv;

	/* Loop thread only, from here on. */
	int		 connected, ready, ever_ready;
	int		 setup_ok;		/* bits: CHAT, CHAT_CURSOR */
	uint64_t	 setup_retry;
	unsigned	 setup_fails;		/* rounds in a row */
	int		 setup_failed;		/* this round */
	char		 epoch[17];
	uint64_t	 now;

	struct req	*reqtab[REQ_BUCKETS];
	struct req	*rqhead, *rqtail;
	size_t		 nreq;
	uint64_t	 next_token;

	struct cuser	**users;
	size_t		 nubuckets, nusers;

	struct presence	*pres;
};

/* ---- NATS' threads: queue and wake ---- */

/* Queue msg (or an event) for the loop and wake it. */
static void
handoff_ev(struct cluster *cl, enum ev_kind kind, natsMsg *msg,
    natsStatus status)
{
	struct ev	*e;
	char		 b = 1;
	int		 was_empty;

	if ((e = malloc(sizeof(*e))) == NULL) {
		natsMsg_Destroy(msg);	/* its request times out */
		return;
	}
	e->next = NULL;
	e->kind = kind;
	e->msg = msg;
	e->status = status;
	pthread_mutex_lock(&cl->lock);
	if (cl->closing) {
		pthread_mutex_unlock(&cl->lock);
		natsMsg_Destroy(msg);
		free(e);
		return;
	}
	was_empty = cl->evhead == NULL;
	if (cl->evtail != NULL)
		cl->evtail->next = e;
	else
		cl->evhead = e;
	cl->evtail = e;
	/* One byte per batch: the loop takes the whole queue. */
	if (was_empty)
		(void)write(cl->wake[1], &b, 1);
	pthread_mutex_unlock(&cl->lock);
}

static void
handoff(struct cluster *cl, enum ev_kind kind, natsMsg *msg)
{
	handoff_ev(cl, kind, msg, NATS_OK);
}

static void
handoff_error(struct cluster *cl, natsStatus s)
{
	handoff_ev(cl, EV_ERROR, NULL, s);
}

/* The loop takes everything queued at once. */
static struct ev *
take_events(struct cluster *cl)
{
	struct ev	*e;

	pthread_mutex_lock(&cl->lock);
	e = cl->evhead;
	cl->evhead = cl->evtail = NULL;
	pthread_mutex_unlock(&cl->lock);
	return e;
}

static void
on_inbox(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *arg)
{
	handoff(arg, EV_MSG_INBOX, msg);
}

static void
on_user(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *arg)
{
	handoff(arg, EV_MSG_USER, msg);
}

static void
on_presence(natsConnection *nc, natsSubscription *sub, natsMsg *msg,
    void *arg)
{
	handoff(arg, EV_MSG_PRESENCE, msg);
}

static void
on_connected(natsConnection *nc, void *arg)
{
	handoff(arg, EV_CONNECTED, NULL);
}

static void
on_disconnected(natsConnection *nc, void *arg)
{
	handoff(arg, EV_DISCONNECTED, NULL);
}

static void
on_closed(natsConnection *nc, void *arg)
{
	struct cluster	*cl = arg;

	pthread_mutex_lock(&cl->lock);
	cl->nats_closed = 1;
	pthread_cond_signal(&cl->closed_cv);
	pthread_mutex_unlock(&cl->lock);
	handoff(arg, EV_CLOSED, NULL);
}

static void
on_error(natsConnection *nc, natsSubscription *sub, natsStatus s, void *arg)
{
	/* Slow consumer and the like: the loop logs it, rate-limited. */
	handoff_error(arg, s);
}

/* ---- helpers ---- */

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

static uint64_t
parse_u64(const char *p, size_t len, int *ok)
{
	uint64_t	v = 0;
	size_t		i;

	*ok = len > 0 && len <= 19;
	for (i = 0; i < len && *ok; i++) {
		if (p[i] < '0' || p[i] > '9')
			*ok = 0;
		else
			v = v * 10 + (uint64_t)(p[i] - '0');
	}
	return *ok ? v : 0;
}

/* A status reply (no responders, not found...): its code, else 0. */
static int
msg_status(natsMsg *m)
{
	const char	*v = NULL;

	if (natsMsg_IsNoResponders(m))
		return 503;
	if (natsMsg_GetDataLength(m) == 0 &&
	    natsMsgHeader_Get(m, "Status", &v) == NATS_OK && v != NULL)
		return atoi(v);
	return 0;
}

/* ---- requests in flight ---- */

/* Give q a fresh token and deadline, and put it in the tables. */
static void
req_link(struct cluster *cl, struct req *q)
{
	size_t	b;

	q->token = ++cl->next_token;
	q->deadline = cl->now + REQ_TIMEOUT_MS;
	b = q->token & (REQ_BUCKETS - 1);
	q->hnext = cl->reqtab[b];
	cl->reqtab[b] = q;
	q->next = NULL;
	q->prev = cl->rqtail;
	if (cl->rqtail != NULL)
		cl->rqtail->next = q;
	else
		cl->rqhead = q;
	cl->rqtail = q;
	cl->nreq++;
	if (q->c != NULL)
		q->c->clreqs++;
}

static struct req *
req_new(struct cluster *cl, enum req_kind kind, struct client *c)
{
	struct req	*q;

	if (cl->nreq >= MAX_INFLIGHT || (q = calloc(1, sizeof(*q))) == NULL)
		return NULL;
	q->kind = kind;
	q->c = c;
	q->born = cl->now;
	req_link(cl, q);
	return q;
}

static void
req_unlink(struct cluster *cl, struct req *q)
{
	struct req	**pp;

	for (pp = &cl->reqtab[q->token & (REQ_BUCKETS - 1)]; *pp != q;
	    pp = &(*pp)->hnext)
		;
	*pp = q->hnext;
	if (q->prev != NULL)
		q->prev->next = q->next;
	else
		cl->rqhead = q->next;
	if (q->next != NULL)
		q->next->prev = q->prev;
	else
		cl->rqtail = q->prev;
	cl->nreq--;
	if (q->c != NULL)
		q->c->clreqs--;
}

static void
req_free(struct cluster *cl, struct req *q)
{
	req_unlink(cl, q);
	free(q->data);
	free(q);
}

/* A new token and deadline for q (the next step of its work). */
static void
req_renew(struct cluster *cl, struct req *q)
{
	req_unlink(cl, q);
	req_link(cl, q);
}

static struct req *
req_find(struct cluster *cl, uint64_t token)
{
	struct req	*q;

	for (q = cl->reqtab[token & (REQ_BUCKETS - 1)]; q != NULL;
	    q = q->hnext)
		if (q->token == token)
			return q;
	return NULL;
}

/* Publish q's request: 0 or -1 (q is then still linked). */
static int
req_send(struct cluster *cl, struct req *q, const char *subj,
    const void *data, size_t len)
{
	char		reply[80];
	natsStatus	s;

	snprintf(reply, sizeof(reply), "%s%llu", cl->inbox,
	    (unsigned long long)q->token);
	s = natsConnection_PublishRequest(cl->nc, subj, reply, data,
	    (int)len);
	if (s != NATS_OK) {
		log_warn("cluster: publish to %s: %s", subj,
		    natsStatus_GetText(s));
		return -1;
	}
	return 0;
}

void
cluster_forget(struct cluster *cl, struct client *c)
{
	struct req	*q;

	if (cl == NULL || c->clreqs == 0)
		return;
	for (q = cl->rqhead; q != NULL && c->clreqs > 0; q = q->next) {
		if (q->c == c) {
			q->c = NULL;
			c->clreqs--;
		}
	}
}

/* ---- streams ---- */

/* Try again later, less and less often; log the 1st, 2nd, 4th... */
static void
setup_failed(struct cluster *cl, const char *stream, const char *why)
{
	uint64_t	delay = SETUP_RETRY_MS;
	unsigned	n;

	if (cl->setup_failed)
		return;		/* the other stream: one retry a round */
	cl->setup_failed = 1;
	n = cl->setup_fails++;

	while (n-- > 0 && delay < SETUP_RETRY_MAX)
		delay *= 2;
	if (delay > SETUP_RETRY_MAX)
		delay = SETUP_RETRY_MAX;
	if ((cl->setup_fails & (cl->setup_fails - 1)) == 0)
		log_warn("cluster: cannot set up stream %s: %s (again in "
		    "%.1f s)", stream, why, (double)delay / 1000);
	cl->setup_retry = cl->now + delay;
}

static void
setup_send(struct cluster *cl, int step)
{
	const struct store_config *sc = &cl->srv->cfg.store;
	struct req	*q;
	json_t		*cfg;
	char		*body, subj[80];
	const char	*name;
	int		 chat = step == SETUP_CHAT || step == SETUP_CHAT_UPDATE;

	name = chat ? "CHAT" : "CHAT_CURSOR";
	if (chat)
		cfg = json_pack("{s:s, s:[s], s:s, s:s, s:s, s:I, s:I, s:I, "
		    "s:b, s:i}", "name", name, "subjects", "chat.inbox.*",
		    "storage", "file", "retention", "limits", "discard", "old",
		    "max_msgs_per_subject", (json_int_t)sc->history_limit,
		    "max_age", (json_int_t)(sc->history_days * 86400e9),
		    "max_bytes", sc->history_bytes >= (size_t)INT64_MAX ?
		    (json_int_t)-1 : (json_int_t)sc->history_bytes,
		    "allow_direct", 1, "num_replicas", 1);
	else
		cfg = json_pack("{s:s, s:[s], s:s, s:s, s:s, s:I, s:b, s:i}",
		    "name", name, "subjects", "chat.cursor.*", "storage",
		    "file", "retention", "limits", "discard", "old",
		    "max_msgs_per_subject", (json_int_t)1, "allow_direct", 1,
		    "num_replicas", 1);
	if (cfg == NULL || (body = json_dumps(cfg, JSON_COMPACT)) == NULL) {
		json_decref(cfg);
		setup_failed(cl, name, "out of memory");
		return;
	}
	json_decref(cfg);
	snprintf(subj, sizeof(subj), "$JS.API.STREAM.%s.%s",
	    step == SETUP_CHAT || step == SETUP_CURSOR ? "CREATE" : "UPDATE",
	    name);
	if ((q = req_new(cl, RQ_SETUP, NULL)) == NULL ||
	    (q->what = step, req_send(cl, q, subj, body, strlen(body))) != 0) {
		if (q != NULL)
			req_free(cl, q);
		setup_failed(cl, name, "cannot publish the request");
	}
	free(body);
}

static void
setup_start(struct cluster *cl)
{
	cl->setup_ok = 0;
	cl->setup_retry = 0;
	cl->setup_failed = 0;
	setup_send(cl, SETUP_CHAT);
	setup_send(cl, SETUP_CURSOR);
}


static void
setup_answer(struct cluster *cl, struct req *q, natsMsg *m, int timeout)
{
	json_t		*root = NULL, *err, *created;
	json_error_t	 jerr;
	int		 step = q->what, code = 0, bit;
	const char	*desc = "no answer";

	bit = step == SETUP_CHAT || step == SETUP_CHAT_UPDATE ? 1 : 2;
	if (!timeout && msg_status(m) == 503)
		desc = "JetStream is not enabled on the NATS server "
		    "(nats-server -js)";
	else if (!timeout) {
		root = json_loadb(natsMsg_GetData(m),
		    (size_t)natsMsg_GetDataLength(m), 0, &jerr);
		err = json_object_get(root, "error");
		if (root != NULL && err == NULL) {
			if (bit == 1 && (created = json_object_get(root,
			    "created")) != NULL && json_is_string(created))
				snprintf(cl->epoch, sizeof(cl->epoch),
				    "%016zx", util_hash_str(
				    json_string_value(created)));
			cl->setup_ok |= bit;
			json_decref(root);
			if (cl->setup_ok == 3 && cl->connected && !cl->ready) {
				cl->ready = 1;
				cl->setup_fails = 0;
				cl->ever_ready = 1;
				log_info("cluster: ready (stream CHAT, epoch "
				    "%s)", cl->epoch);
				presence_snapshot(cl->pres);
				router_cl_ready(cl->srv->router);
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
			setup_send(cl, step + 1);
			json_decref(root);
			return;
		}
	}
	setup_failed(cl, bit == 1 ? "CHAT" : "CHAT_CURSOR", desc);
	json_decref(root);
}

/* ---- presence (presence.c) ---- */

/* Its way out: chat.presence, while connected. */
static void
pres_send(void *arg, const char *json, size_t len)
{
	struct cluster	*cl = arg;

	if (cl->connected)
		(void)natsConnection_Publish(cl->nc, "chat.presence", json,
		    (int)len);
}

int
cluster_user_remote(const struct cluster *cl, const char *user)
{
	return cl != NULL && presence_remote(cl->pres, user);
}

size_t
cluster_remote_users(const struct cluster *cl, const char **v, size_t max)
{
	return cl != NULL ? presence_remote_users(cl->pres, v, max) : 0;
}

size_t
cluster_nremote(const struct cluster *cl)
{
	return cl != NULL ? presence_nremote(cl->pres) : 0;
}

size_t
cluster_nodes(const struct cluster *cl)
{
	return cl != NULL ? presence_nodes(cl->pres) : 0;
}

/* ---- users followed on this node ---- */

static struct cuser **
cuser_slot(struct cluster *cl, const char *user)
{
	struct cuser	**pp;

	for (pp = &cl->users[util_hash_str(user) & (cl->nubuckets - 1)];
	    *pp != NULL; pp = &(*pp)->hnext)
		if (strcmp((*pp)->user, user) == 0)
			break;
	return pp;
}

static void
cuser_grow(struct cluster *cl)
{
	struct cuser	**tab, *u, *next;
	size_t		  i, n = cl->nubuckets * 2;

	if ((tab = calloc(n, sizeof(*tab))) == NULL)
		return;
	for (i = 0; i < cl->nubuckets; i++) {
		for (u = cl->users[i]; u != NULL; u = next) {
			next = u->hnext;
			u->hnext = tab[util_hash_str(u->user) & (n - 1)];
			tab[util_hash_str(u->user) & (n - 1)] = u;
		}
	}
	free(cl->users);
	cl->users = tab;
	cl->nubuckets = n;
}

/* Forget idle users beyond CUSER_KEEP (a last seq is relearnt). */
static void
cuser_trim(struct cluster *cl)
{
	struct cuser	**pp, *u;
	size_t		  i;

	for (i = 0; i < cl->nubuckets && cl->nusers > CUSER_KEEP / 2; i++) {
		for (pp = &cl->users[i]; (u = *pp) != NULL; ) {
			if (u->sub != NULL || u->inflight != NULL ||
			    u->head != NULL) {
				pp = &u->hnext;
				continue;
			}
			*pp = u->hnext;
			free(u);
			cl->nusers--;
		}
	}
}

/* The record of user, made if need be.  NULL: no memory. */
static struct cuser *
cuser_get(struct cluster *cl, const char *user)
{
	struct cuser	**pp, *u;

	if (*(pp = cuser_slot(cl, user)) != NULL)
		return *pp;
	if (cl->nusers >= CUSER_KEEP) {
		cuser_trim(cl);
		pp = cuser_slot(cl, user);
	}
	if ((u = calloc(1, sizeof(*u) + strlen(user) + 1)) == NULL)
		return NULL;
	memcpy(u->user, user, strlen(user) + 1);
	*pp = u;
	if (++cl->nusers > cl->nubuckets)
		cuser_grow(cl);
	return u;
}

void
cluster_user_local(struct cluster *cl, const char *user, int online)
{
	struct cuser	*u;
	char		 subj[SUBJ_MAX];
	natsStatus	 st;

	if (cl == NULL)
		return;
	if ((u = cuser_get(cl, user)) == NULL) {
		log_warn("cluster: out of memory following %s", user);
		return;
	}
	if (online && u->sub == NULL) {
		memcpy(subj, "chat.user.", 10);
		hex_user(subj + 10, user);
		st = natsConnection_Subscribe(&u->sub, cl->nc, subj, on_user,
		    cl);
		if (st != NATS_OK) {
			log_warn("cluster: cannot follow %s: %s", user,
			    natsStatus_GetText(st));
			u->sub = NULL;
			return;
		}
		natsSubscription_SetPendingLimits(u->sub, PENDING_MSGS,
		    PENDING_BYTES);
	} else if (!online && u->sub != NULL) {
		natsSubscription_Unsubscribe(u->sub);
		natsSubscription_Destroy(u->sub);
		u->sub = NULL;
	} else
		return;
	if (cl->ready)
		presence_local(cl->pres, user, online);
}

/* ---- the chat path ---- */

/*
 * Publish q's stored message to subj with q's reply subject and two
 * headers, k1: v1 and k2: v2.  NATS_OK or why not.
 */
static natsStatus
req_send_data(struct cluster *cl, struct req *q, const char *subj,
    const char *k1, uint64_t v1, const char *k2, uint64_t v2)
{
	natsMsg		*nm = NULL;
	char		 reply[80], v[24];
	natsStatus	 s;

	snprintf(reply, sizeof(reply), "%s%llu", cl->inbox,
	    (unsigned long long)q->token);
	s = natsMsg_Create(&nm, subj, reply, q->data, (int)q->len);
	snprintf(v, sizeof(v), "%llu", (unsigned long long)v1);
	if (s == NATS_OK)
		s = natsMsgHeader_Set(nm, k1, v);
	snprintf(v, sizeof(v), "%llu", (unsigned long long)v2);
	if (s == NATS_OK)
		s = natsMsgHeader_Set(nm, k2, v);
	if (s == NATS_OK)
		s = natsConnection_PublishMsg(cl->nc, nm);
	natsMsg_Destroy(nm);
	return s;
}

/* Publish the next waiting message of t, if none is in flight. */
static void
tgt_kick(struct cluster *cl, struct cuser *t)
{
	struct req	*q;
	char		 subj[SUBJ_MAX];
	natsStatus	 s;

	while (t->inflight == NULL && (q = t->head) != NULL) {
		if ((t->head = q->qnext) == NULL)
			t->tail = NULL;
		q->qnext = NULL;
		if (!cl->connected) {
			q->tgt = NULL;
			client_chat_done(q->c, q->id, ROUTE_CLUSTER);
			req_free(cl, q);
			continue;
		}
		req_renew(cl, q);	/* its deadline runs from now */
		q->prev_seq = t->known ? t->last : 0;
		memcpy(subj, "chat.inbox.", 11);
		hex_user(subj + 11, t->user);
		q->sent_us = util_mono_us();
		s = req_send_data(cl, q, subj,
		    "Nats-Expected-Last-Subject-Sequence", q->prev_seq,
		    "Chat-Prev", q->prev_seq);
		if (s != NATS_OK) {
			log_warn("cluster: publish for %s: %s", t->user,
			    natsStatus_GetText(s));
			q->tgt = NULL;
			client_chat_done(q->c, q->id, ROUTE_CLUSTER);
			req_free(cl, q);
			continue;
		}
		t->inflight = q;
	}
}

/* q leaves t's chain (answered, failed or timed out). */
static void
tgt_detach(struct cluster *cl, struct req *q)
{
	struct cuser	*t = q->tgt;
	struct req	**pp;

	if (t == NULL)
		return;
	q->tgt = NULL;
	if (t->inflight == q)
		t->inflight = NULL;
	else {
		for (pp = &t->head; *pp != NULL && *pp != q;
		    pp = &(*pp)->qnext)
			;
		if (*pp == q) {
			*pp = q->qnext;
			if (t->tail == q) {
				struct req	*x;

				for (x = t->head; x != NULL && x->qnext != NULL;
				    x = x->qnext)
					;
				t->tail = x;
			}
		}
	}
	q->qnext = NULL;
}

int
cluster_publish(struct cluster *cl, struct client *from, const char *target,
    const char *data, size_t len, const char *id)
{
	struct cuser	*t;
	struct req	*q;

	if (!cl->ready || (t = cuser_get(cl, target)) == NULL)
		return -1;
	if ((q = req_new(cl, RQ_PUB, from)) == NULL)
		return -1;
	if ((q->data = malloc(len + 1)) == NULL) {
		req_free(cl, q);
		return -1;
	}
	memcpy(q->data, data, len);
	q->data[len] = '\0';
	q->len = len;
	memcpy(q->user, target, strlen(target) + 1);
	memcpy(q->id, id, strlen(id) + 1);
	q->tgt = t;
	if (t->tail != NULL)
		t->tail->qnext = q;
	else
		t->head = q;
	t->tail = q;
	tgt_kick(cl, t);
	return 0;
}

/*
 * JetStream's "wrong last sequence: N" (another node appended first, or
 * retention emptied the inbox: N is 0): 1 with *last = N, else 0.
 */
static int
wrong_last(const char *desc, uint64_t *last)
{
	const char	*p = strstr(desc, "wrong last sequence: ");
	int		 ok;

	if (p == NULL)
		return 0;
	p += strlen("wrong last sequence: ");
	*last = parse_u64(p, strspn(p, "0123456789"), &ok);
	return ok;
}

/* JetStream answered a publish (m NULL: it did not in time). */
static int
pub_answer(struct cluster *cl, struct req *q, natsMsg *m, int st)
{
	struct cuser	*t = q->tgt;
	json_t		*root = NULL, *err;
	json_error_t	 jerr;
	uint64_t	 seq = 0, last;
	const char	*desc = "";
	char		 subj[SUBJ_MAX];
	natsStatus	 s;

	if (t != NULL && t->inflight != q) {
		/* Timed out while waiting its turn. */
		tgt_detach(cl, q);
		client_chat_done(q->c, q->id, ROUTE_CLUSTER);
		return 0;
	}
	if (m != NULL && q->sent_us != 0)
		metrics_observe(&cl->store_us, util_mono_us() - q->sent_us);
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
	tgt_detach(cl, q);
	if (seq == 0 && t != NULL && wrong_last(desc, &last) &&
	    cl->now - q->born < REQ_TIMEOUT_MS) {
		/* Another node appended first: again after its last. */
		json_decref(root);
		t->last = last;
		t->known = 1;
		q->tgt = t;
		q->qnext = t->head;
		t->head = q;
		if (t->tail == NULL)
			t->tail = q;
		tgt_kick(cl, t);
		return 1;	/* still in flight */
	}
	if (seq == 0) {
		if (st > 0)
			log_warn("cluster: message for %s not stored (status "
			    "%d%s)", q->user, st, st == 503 ? ": no stream" :
			    "");
		else if (m != NULL)
			log_warn("cluster: message for %s refused by "
			    "JetStream: %s", q->user, desc);
		json_decref(root);
		if (t != NULL) {
			t->known = 0;
			tgt_kick(cl, t);
		}
		client_chat_done(q->c, q->id, ROUTE_CLUSTER);
		return 0;
	}
	json_decref(root);
	if (t != NULL) {
		t->last = seq;
		t->known = 1;
		tgt_kick(cl, t);
	}
	/* Stored: now give it, with seq and prev, to the target's nodes. */
	q->kind = RQ_HINT;
	q->seq = seq;
	req_renew(cl, q);
	memcpy(subj, "chat.user.", 10);
	hex_user(subj + 10, q->user);
	s = cl->connected ? req_send_data(cl, q, subj, "Chat-Seq", seq,
	    "Chat-Prev", q->prev_seq) : NATS_CONNECTION_CLOSED;
	if (s != NATS_OK) {
		client_chat_done(q->c, q->id, ROUTE_QUEUED);
		return 0;
	}
	free(q->data);
	q->data = NULL;
	return 1;
}

int
cluster_fetch(struct cluster *cl, struct client *c, const char *user,
    uint64_t from)
{
	struct req	*q;
	char		 hex[HEXUSER], body[80 + HEXUSER];
	int		 n;

	if (!cl->ready || (q = req_new(cl, RQ_FETCH, c)) == NULL)
		return -1;
	memcpy(q->user, user, strlen(user) + 1);
	hex_user(hex, user);
	n = snprintf(body, sizeof(body), "{\"seq\":%llu,\"next_by_subj\":"
	    "\"chat.inbox.%s\"}", (unsigned long long)(from ? from : 1), hex);
	if (req_send(cl, q, "$JS.API.DIRECT.GET.CHAT", body, (size_t)n) != 0) {
		req_free(cl, q);
		return -1;
	}
	return 0;
}

int
cluster_lookup(struct cluster *cl, struct client *c, const char *user,
    int what)
{
	struct req	*q;
	char		 hex[HEXUSER], subj[SUBJ_MAX + 40], body[80 + HEXUSER];
	int		 bit, n;

	if (!cl->ready)
		return -1;
	hex_user(hex, user);
	for (bit = CL_LAST; bit <= CL_CURSOR; bit <<= 1) {
		if (!(what & bit))
			continue;
		if ((q = req_new(cl, RQ_LOOKUP, c)) == NULL)
			return -1;
		q->what = bit;
		memcpy(q->user, user, strlen(user) + 1);
		n = 0;
		if (bit == CL_LAST)
			snprintf(subj, sizeof(subj), "$JS.API.DIRECT.GET.CHAT."
			    "chat.inbox.%s", hex);
		else if (bit == CL_CURSOR)
			snprintf(subj, sizeof(subj), "$JS.API.DIRECT.GET."
			    "CHAT_CURSOR.chat.cursor.%s", hex);
		else {
			snprintf(subj, sizeof(subj), "$JS.API.DIRECT.GET.CHAT");
			n = snprintf(body, sizeof(body), "{\"seq\":1,"
			    "\"next_by_subj\":\"chat.inbox.%s\"}", hex);
		}
		if (req_send(cl, q, subj, body, (size_t)n) != 0) {
			req_free(cl, q);
			return -1;
		}
	}
	return 0;
}

void
cluster_cursor(struct cluster *cl, const char *user, uint64_t seq)
{
	char	subj[SUBJ_MAX], v[24];
	int	n;

	if (cl == NULL || !cl->ready)
		return;
	memcpy(subj, "chat.cursor.", 12);
	hex_user(subj + 12, user);
	n = snprintf(v, sizeof(v), "%llu", (unsigned long long)seq);
	(void)natsConnection_Publish(cl->nc, subj, v, n);
}

/* A stored message as sent to receivers: data with seq spliced in. */
static struct msg *
stored_msg(struct cluster *cl, natsMsg *m, uint64_t seq)
{
	const char	*d = natsMsg_GetData(m);
	size_t		 len = (size_t)natsMsg_GetDataLength(m);
	struct msg	*out;
	char		 tail[32];
	int		 tl;

	/* Ours end with '}'; anything else in the stream is skipped. */
	if (len < 2 || d[0] != '{' || d[len - 1] != '}' ||
	    len > 8 * cl->srv->cfg.max_message + 1024)
		return NULL;
	tl = snprintf(tail, sizeof(tail), ",\"seq\":%llu}",
	    (unsigned long long)seq);
	if ((out = msg_alloc(len - 1 + (size_t)tl)) == NULL)
		return NULL;
	memcpy(out->data, d, len - 1);
	memcpy(out->data + len - 1, tail, (size_t)tl + 1);
	out->seq = seq;
	return out;
}

static uint64_t
header_u64(natsMsg *m, const char *key, int *ok)
{
	const char	*v = NULL;

	if (natsMsgHeader_Get(m, key, &v) != NATS_OK || v == NULL) {
		*ok = 0;
		return 0;
	}
	return parse_u64(v, strlen(v), ok);
}

static uint64_t
header_seq(natsMsg *m)
{
	const char	*v = NULL;
	int		 ok;
	uint64_t	 seq;

	if (natsMsgHeader_Get(m, "Nats-Sequence", &v) != NATS_OK || v == NULL)
		return 0;
	seq = parse_u64(v, strlen(v), &ok);
	return ok ? seq : 0;
}

/* The answer to req q: m, or NULL if it timed out or NATS went. */
static void
req_answer(struct cluster *cl, struct req *q, natsMsg *m)
{
	struct router	*r = cl->srv->router;
	struct msg	*cm;
	uint64_t	 seq = 0;
	int		 st = m != NULL ? msg_status(m) : -1, ok;

	switch (q->kind) {
	case RQ_SETUP:
		setup_answer(cl, q, m, m == NULL);
		break;
	case RQ_PUB:
		if (pub_answer(cl, q, m, st))
			return;		/* still in flight */
		break;
	case RQ_HINT:
		/* A node answered: a connection has it.  None: stored. */
		client_chat_done(q->c, q->id, st == 0 ? ROUTE_DELIVERED :
		    ROUTE_QUEUED);
		break;
	case RQ_FETCH:
		if (q->c == NULL)
			break;
		if (st == 404)
			router_cl_fetched(r, q->c, NULL, 0, 0, 0);
		else if (st != 0 || (seq = header_seq(m)) == 0)
			router_cl_fetched(r, q->c, NULL, 0, 0, -1);
		else if ((cm = stored_msg(cl, m, seq)) == NULL) {
			/* Not ours (or no memory): skip it. */
			log_warn("cluster: seq %llu of %s is not a chat "
			    "message: skipped", (unsigned long long)seq,
			    q->user);
			router_cl_fetched(r, q->c, NULL, seq, 0, 0);
		} else {
			router_cl_fetched(r, q->c, cm, seq,
			    header_u64(m, "Chat-Prev", &ok), 0);
			msg_unref(cm);
		}
		break;
	case RQ_LOOKUP:
		if (q->c == NULL)
			break;
		if (st == 404)
			router_cl_looked_up(r, q->c, q->what, 0, 0);
		else if (st != 0)
			router_cl_looked_up(r, q->c, q->what, 0, -1);
		else if (q->what == CL_CURSOR) {
			seq = parse_u64(natsMsg_GetData(m),
			    (size_t)natsMsg_GetDataLength(m), &ok);
			router_cl_looked_up(r, q->c, q->what, seq, 0);
		} else {
			seq = header_seq(m);
			router_cl_looked_up(r, q->c, q->what, seq,
			    seq == 0 ? -1 : 0);
		}
		break;
	}
	req_free(cl, q);
}

/* chat.user.<hex>: a message of that user's inbox, just stored. */
static void
hint_message(struct cluster *cl, natsMsg *m)
{
	const char	*subj = natsMsg_GetSubject(m), *reply;
	char		 user[CODEC_MAX_USER + 1];
	struct msg	*cm;
	uint64_t	 seq, prev;
	int		 ok1, ok2, here;

	if (strncmp(subj, "chat.user.", 10) != 0 ||
	    unhex_user(user, subj + 10) != 0)
		return;
	seq = header_u64(m, "Chat-Seq", &ok1);
	prev = header_u64(m, "Chat-Prev", &ok2);
	if (!ok1 || !ok2 || seq == 0 || prev >= seq)
		return;
	cm = stored_msg(cl, m, seq);
	here = router_cl_hint(cl->srv->router, user, seq, prev, cm);
	msg_unref(cm);
	if (here && (reply = natsMsg_GetReply(m)) != NULL && reply[0] != '\0')
		(void)natsConnection_Publish(cl->nc, reply, "1", 1);
}

static void
inbox_message(struct cluster *cl, natsMsg *m)
{
	const char	*subj = natsMsg_GetSubject(m);
	size_t		 n = strlen(cl->inbox);
	uint64_t	 token;
	struct req	*q;
	int		 ok;

	if (strncmp(subj, cl->inbox, n) != 0)
		return;
	token = parse_u64(subj + n, strlen(subj + n), &ok);
	if (ok && (q = req_find(cl, token)) != NULL)
		req_answer(cl, q, m);
}

/*
 * A chat event is at most 7 times --max-message (JSON escapes); NATS
 * refuses a message over its max_payload (1 MiB by default).
 */
static void
check_payload(struct cluster *cl)
{
	int64_t	max = natsConnection_GetMaxPayload(cl->nc);
	size_t	need = 7 * cl->srv->cfg.max_message + 1024;

	if (max > 0 && (uint64_t)max < need)
		log_warn("cluster: NATS takes messages of at most %lld bytes: "
		    "chat messages over about %lld bytes of --max-message %zu "
		    "will be refused (raise max_payload in nats-server)",
		    (long long)max, (long long)(max - 1024) / 7,
		    cl->srv->cfg.max_message);
}

/* NATS went: every request in flight fails now, not at its deadline. */
static void
fail_all(struct cluster *cl)
{
	while (cl->rqhead != NULL)
		req_answer(cl, cl->rqhead, NULL);
}

void
cluster_process(struct cluster *cl)
{
	struct ev	*e, *next;
	char		 buf[64];

	cl->now = util_mono_ms();
	while (read(cl->wake[0], buf, sizeof(buf)) > 0)
		;
	for (e = take_events(cl); e != NULL; e = next) {
		next = e->next;
		switch (e->kind) {
		case EV_MSG_INBOX:
			inbox_message(cl, e->msg);
			break;
		case EV_MSG_USER:
			hint_message(cl, e->msg);
			break;
		case EV_MSG_PRESENCE:
			presence_input(cl->pres, natsMsg_GetData(e->msg),
			    (size_t)natsMsg_GetDataLength(e->msg), cl->now,
			    cl->ready);
			break;
		case EV_CONNECTED:
			if (cl->connected)
				break;
			cl->connected = 1;
			log_info("cluster: %s to NATS", cl->ever_ready ?
			    "reconnected" : "connected");
			check_payload(cl);
			setup_start(cl);
			break;
		case EV_CLOSED:
			/* Only at exit, or when NATS refused us for good. */
			log_error("cluster: NATS closed the connection for "
			    "good (credentials refused?): this node stays "
			    "alone until restarted");
			/* FALLTHROUGH */
		case EV_DISCONNECTED:
			if (!cl->connected)
				break;
			cl->connected = 0;
			cl->ready = 0;
			log_warn("cluster: disconnected from NATS: remote "
			    "messages refused until it is back");
			fail_all(cl);
			break;
		default:
			log_warn("cluster: NATS: %s",
			    natsStatus_GetText(e->status));
			break;
		}
		natsMsg_Destroy(e->msg);
		free(e);
	}
}

void
cluster_tick(struct cluster *cl, uint64_t now)
{
	struct req	*q;

	cl->now = now;
	while ((q = cl->rqhead) != NULL && q->deadline <= now) {
		if (q->kind != RQ_HINT)
			log_warn("cluster: request to NATS timed out after "
			    "%d s", REQ_TIMEOUT_MS / 1000);
		req_answer(cl, q, NULL);
	}
	if (cl->connected && !cl->ready && cl->setup_retry != 0 &&
	    now >= cl->setup_retry)
		setup_start(cl);
	presence_tick(cl->pres, now, cl->ready);
}

/* ---- life cycle ---- */

/*
 * urls for logs: the user and password or token of each URL
 * (nats://user:pass@host) become "***".
 */
static void
redact(char *out, size_t outlen, const char *urls)
{
	const char	*p = urls, *end, *at;
	size_t		 o = 0;
	int		 n;

	out[0] = '\0';
	while (*p != '\0' && o < outlen) {
		end = p + strcspn(p, ",");
		at = memchr(p, '@', (size_t)(end - p));
		if (at != NULL && strncmp(p, "nats://", 7) == 0)
			n = snprintf(out + o, outlen - o, "nats://***%.*s",
			    (int)(end - at), at);
		else
			n = snprintf(out + o, outlen - o, "%.*s",
			    (int)(end - p), p);
		if (n < 0)
			break;
		o += (size_t)n;
		if (*end == '\0' || o + 1 >= outlen)
			break;
		out[o++] = ',';
		out[o] = '\0';
		p = end + 1;
	}
}

struct cluster *
cluster_new(struct server *srv, const char *urls, char *err, size_t errlen)
{
	struct cluster	*cl;
	const char	*v[16];
	char		*list, *p, *save = NULL, isubj[64];
	int		 n = 0;
	natsStatus	 s;

	if (strlen(urls) >= sizeof(cl->urls)) {
		snprintf(err, errlen, "--cluster: the URL list is too long");
		return NULL;
	}
	if ((cl = calloc(1, sizeof(*cl))) == NULL ||
	    (list = strdup(urls)) == NULL) {
		free(cl);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	redact(cl->urls, sizeof(cl->urls), urls);
	for (p = strtok_r(list, ",", &save); p != NULL;
	    p = strtok_r(NULL, ",", &save)) {
		if (strncmp(p, "nats://", 7) != 0 || p[7] == '\0' || n == 16) {
			snprintf(err, errlen, "--cluster: \"%s\" is not a "
			    "nats://HOST:PORT URL (at most 16, comma-"
			    "separated)", p);
			free(list);
			free(cl);
			return NULL;
		}
		v[n++] = p;
	}
	if (n == 0) {
		snprintf(err, errlen, "--cluster: no nats:// URL given");
		free(list);
		free(cl);
		return NULL;
	}
	cl->srv = srv;
	cl->wake[0] = cl->wake[1] = -1;
	pthread_mutex_init(&cl->lock, NULL);
	pthread_cond_init(&cl->closed_cv, NULL);
	util_random_hex(cl->node, 16);
	snprintf(cl->inbox, sizeof(cl->inbox), "_INBOX.%s.", cl->node);
	cl->nubuckets = 1024;
	cl->now = util_mono_ms();
	if ((cl->users = calloc(cl->nubuckets, sizeof(*cl->users))) == NULL ||
	    (cl->pres = presence_new(srv->router, cl->node, pres_send,
	    cl)) == NULL ||
	    pipe(cl->wake) == -1 || util_set_nonblock(cl->wake[0]) == -1 ||
	    util_set_nonblock(cl->wake[1]) == -1) {
		snprintf(err, errlen, "cannot set up: %s", strerror(errno));
		goto fail;
	}
	if ((s = natsOptions_Create(&cl->opts)) != NATS_OK ||
	    (s = natsOptions_SetServers(cl->opts, v, n)) != NATS_OK ||
	    (s = natsOptions_SetName(cl->opts, "chat-server")) != NATS_OK ||
	    (s = natsOptions_SetMaxReconnect(cl->opts, -1)) != NATS_OK ||
	    (s = natsOptions_SetReconnectWait(cl->opts, 500)) != NATS_OK ||
	    (s = natsOptions_SetTimeout(cl->opts, 2000)) != NATS_OK ||
	    (s = natsOptions_SetPingInterval(cl->opts, 2000)) != NATS_OK ||
	    (s = natsOptions_SetMaxPingsOut(cl->opts, 2)) != NATS_OK ||
	    (s = natsOptions_UseGlobalMessageDelivery(cl->opts, true)) !=
	    NATS_OK ||
	    (s = natsOptions_SetDisconnectedCB(cl->opts, on_disconnected,
	    cl)) != NATS_OK ||
	    (s = natsOptions_SetReconnectedCB(cl->opts, on_connected, cl)) !=
	    NATS_OK ||
	    (s = natsOptions_SetClosedCB(cl->opts, on_closed, cl)) != NATS_OK ||
	    (s = natsOptions_SetErrorHandler(cl->opts, on_error, cl)) !=
	    NATS_OK) {
		snprintf(err, errlen, "NATS options: %s",
		    natsStatus_GetText(s));
		goto fail;
	}
	log_info("cluster: node %s joining %s", cl->node, cl->urls);
	/*
	 * Once at start, before the loop runs: a server that answers and
	 * refuses us (credentials) is a configuration error; none that
	 * answers, and the node runs alone and keeps trying.
	 */
	s = natsConnection_Connect(&cl->nc, cl->opts);
	if (s == NATS_NO_SERVER) {
		if ((s = natsOptions_SetRetryOnFailedConnect(cl->opts, true,
		    on_connected, cl)) == NATS_OK)
			s = natsConnection_Connect(&cl->nc, cl->opts);
		if (s == NATS_NOT_YET_CONNECTED)
			log_warn("cluster: NATS not reachable at %s yet: "
			    "running alone, retrying", cl->urls);
	} else if (s == NATS_OK)
		handoff(cl, EV_CONNECTED, NULL);
	if (s != NATS_OK && s != NATS_NOT_YET_CONNECTED) {
		const char	*why = nats_GetLastError(NULL);

		/* The library's text starts with its source location. */
		if (why != NULL && why[0] == '(' && strstr(why, "): ") != NULL)
			why = strstr(why, "): ") + 3;

		snprintf(err, errlen, "cannot join the cluster at %s: %s",
		    cl->urls, why != NULL && *why != '\0' ? why :
		    natsStatus_GetText(s));
		goto fail;
	}
	snprintf(isubj, sizeof(isubj), "%s>", cl->inbox);
	if ((s = natsConnection_Subscribe(&cl->inbox_sub, cl->nc, isubj,
	    on_inbox, cl)) != NATS_OK ||
	    (s = natsConnection_Subscribe(&cl->pres_sub, cl->nc,
	    "chat.presence", on_presence, cl)) != NATS_OK) {
		snprintf(err, errlen, "cannot subscribe: %s",
		    natsStatus_GetText(s));
		goto fail;
	}
	natsSubscription_SetPendingLimits(cl->inbox_sub, PENDING_MSGS,
	    PENDING_BYTES);
	natsSubscription_SetPendingLimits(cl->pres_sub, PENDING_MSGS,
	    PENDING_BYTES);
	free(list);
	return cl;
fail:
	free(list);
	cluster_free(cl);
	return NULL;
}

void
cluster_free(struct cluster *cl)
{
	struct ev	*e, *next;
	struct cuser	*u, *unext;
	struct req	*q;
	size_t		 i;

	if (cl == NULL)
		return;
	pthread_mutex_lock(&cl->lock);
	cl->closing = 1;
	pthread_mutex_unlock(&cl->lock);
	/*
	 * Drain: what the subscriptions still hold is delivered (to
	 * handoff(), which drops it now) before the connection closes;
	 * closing at once would leave it to the library, which leaks it.
	 */
	if (cl->nc != NULL &&
	    natsConnection_DrainTimeout(cl->nc, DRAIN_MS) == NATS_OK) {
		struct timespec	 ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += DRAIN_MS / 1000 + 1;
		pthread_mutex_lock(&cl->lock);
		while (!cl->nats_closed &&
		    pthread_cond_timedwait(&cl->closed_cv, &cl->lock,
		    &ts) == 0)
			;
		pthread_mutex_unlock(&cl->lock);
	}
	for (i = 0; i < cl->nubuckets && cl->users != NULL; i++)
		for (u = cl->users[i]; u != NULL; u = u->hnext)
			natsSubscription_Destroy(u->sub);
	if (cl->nc != NULL) {
		natsConnection_Close(cl->nc);
		natsSubscription_Destroy(cl->inbox_sub);
		natsSubscription_Destroy(cl->pres_sub);
		natsConnection_Destroy(cl->nc);
	}
	natsOptions_Destroy(cl->opts);
	/* Messages belong to the library: destroyed while it is open. */
	for (e = take_events(cl); e != NULL; e = next) {
		next = e->next;
		natsMsg_Destroy(e->msg);
		free(e);
	}
	/* Wait for NATS' threads, so none runs a callback on freed cl. */
	nats_CloseAndWait(0);
	while ((q = cl->rqhead) != NULL)
		req_free(cl, q);
	for (i = 0; i < cl->nubuckets && cl->users != NULL; i++) {
		for (u = cl->users[i]; u != NULL; u = unext) {
			unext = u->hnext;
			free(u);
		}
	}
	free(cl->users);
	presence_free(cl->pres);
	if (cl->wake[0] != -1)
		close(cl->wake[0]);
	if (cl->wake[1] != -1)
		close(cl->wake[1]);
	pthread_cond_destroy(&cl->closed_cv);
	pthread_mutex_destroy(&cl->lock);
	free(cl);
}

int
cluster_wakefd(const struct cluster *cl)
{
	return cl->wake[0];
}

int
cluster_ready(const struct cluster *cl)
{
	return cl != NULL && cl->ready;
}

const struct metrics_hist *
cluster_store_latency(const struct cluster *cl)
{
	return cl != NULL ? &cl->store_us : NULL;
}

const char *
cluster_state(const struct cluster *cl)
{
	return cl == NULL ? "off" : cl->ready ? "ready" : "down";
}

const char *
cluster_epoch(const struct cluster *cl)
{
	return cl->epoch;
}
