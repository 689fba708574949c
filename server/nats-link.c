/*
 * Copyright (c) 2026 The chat authors.
 *
 * nats-link: the NATS connection and the hand-off to the loop (see
 * nats-link.h).  NATS' own threads read the socket and run the
 * callbacks below, which only queue what they got and wake the loop
 * through a pipe; everything else runs on the loop thread.  Publishing
 * from the loop copies into the library's buffer (a flush to a slow
 * NATS server is the only wait).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "nats-link.h"
#include "table.h"
#include "util.h"

#define MAX_INFLIGHT	65536	/* requests in flight */
#define DRAIN_MS	2000	/* at exit, for what NATS still holds */
#define PENDING_MSGS	(1 << 20) /* per subscription, not yet handed over */
#define PENDING_BYTES	(256 << 20)
#define MAX_LISTENERS	4

/* What NATS' threads hand to the loop. */
enum ev_kind {
	EV_MSG,			/* a message for a subscription */
	EV_ANSWER,		/* a reply to one of our requests */
	EV_CONNECTED,
	EV_DISCONNECTED,
	EV_CLOSED,
	EV_ERROR		/* asynchronous error (slow consumer...) */
};

struct lsub;

struct ev {
	struct ev	*next;
	enum ev_kind	 kind;
	natsMsg		*msg;
	struct lsub	*sub;		/* EV_MSG */
	natsStatus	 status;	/* EV_ERROR */
};

/* A subscription's callback, alive as long as the link. */
struct lsub {
	struct lsub		*next;
	struct nats_link	*link;
	nats_msg_cb		 cb;
	void			*arg;
};

struct req {
	struct table_node	 node;
	uint64_t		 token;		/* the table's key */
	struct req		*prev, *next;	/* by deadline */
	uint64_t		 deadline;
	nats_answer_cb		 cb;
	void			*arg, *tag;
};

struct nats_link {
	natsOptions	*opts;
	natsConnection	*nc;
	natsSubscription *inbox_sub;
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
	int		 up, ever_up;
	uint64_t	 now;
	struct table	 reqs;
	struct req	*rqhead, *rqtail;
	uint64_t	 next_token;
	struct lsub	*subs;
	struct {
		nats_state_cb	 cb;
		void		*arg;
	}		 listen[MAX_LISTENERS];
	int		 nlisten;
	struct lsub	 inbox_lsub;
};

/* ---- NATS' threads: queue and wake ---- */

static void
handoff(struct nats_link *l, enum ev_kind kind, natsMsg *msg,
    struct lsub *sub, natsStatus status)
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
	e->sub = sub;
	e->status = status;
	pthread_mutex_lock(&l->lock);
	if (l->closing) {
		pthread_mutex_unlock(&l->lock);
		natsMsg_Destroy(msg);
		free(e);
		return;
	}
	was_empty = l->evhead == NULL;
	if (l->evtail != NULL)
		l->evtail->next = e;
	else
		l->evhead = e;
	l->evtail = e;
	/* One byte per batch: the loop takes the whole queue. */
	if (was_empty)
		(void)write(l->wake[1], &b, 1);
	pthread_mutex_unlock(&l->lock);
}

/* The loop takes everything queued at once. */
static struct ev *
take_events(struct nats_link *l)
{
	struct ev	*e;

	pthread_mutex_lock(&l->lock);
	e = l->evhead;
	l->evhead = l->evtail = NULL;
	pthread_mutex_unlock(&l->lock);
	return e;
}

static void
on_inbox(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *arg)
{
	struct lsub	*ls = arg;

	handoff(ls->link, EV_ANSWER, msg, NULL, NATS_OK);
}

static void
on_sub(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *arg)
{
	struct lsub	*ls = arg;

	handoff(ls->link, EV_MSG, msg, ls, NATS_OK);
}

static void
on_connected(natsConnection *nc, void *arg)
{
	handoff(arg, EV_CONNECTED, NULL, NULL, NATS_OK);
}

static void
on_disconnected(natsConnection *nc, void *arg)
{
	handoff(arg, EV_DISCONNECTED, NULL, NULL, NATS_OK);
}

static void
on_closed(natsConnection *nc, void *arg)
{
	struct nats_link	*l = arg;

	pthread_mutex_lock(&l->lock);
	l->nats_closed = 1;
	pthread_cond_signal(&l->closed_cv);
	pthread_mutex_unlock(&l->lock);
	handoff(l, EV_CLOSED, NULL, NULL, NATS_OK);
}

static void
on_error(natsConnection *nc, natsSubscription *sub, natsStatus s, void *arg)
{
	/* Slow consumer and the like: the loop logs it. */
	handoff(arg, EV_ERROR, NULL, NULL, s);
}

/* ---- helpers ---- */

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

int
nats_msg_status(natsMsg *m)
{
	const char	*v = NULL;

	if (natsMsg_IsNoResponders(m))
		return 503;
	if (natsMsg_GetDataLength(m) == 0 &&
	    natsMsgHeader_Get(m, "Status", &v) == NATS_OK && v != NULL)
		return atoi(v);
	return 0;
}

int
nats_msg_u64(natsMsg *m, const char *key, uint64_t *v)
{
	const char	*s = NULL;
	int		 ok;

	if (natsMsgHeader_Get(m, key, &s) != NATS_OK || s == NULL)
		return 0;
	*v = parse_u64(s, strlen(s), &ok);
	return ok;
}

/* ---- requests in flight ---- */

static void
req_unlink(struct nats_link *l, struct req *q)
{
	table_remove(&l->reqs, &q->node);
	if (q->prev != NULL)
		q->prev->next = q->next;
	else
		l->rqhead = q->next;
	if (q->next != NULL)
		q->next->prev = q->prev;
	else
		l->rqtail = q->prev;
}

/* Answer q (m NULL: no answer) and free it. */
static void
req_answer(struct nats_link *l, struct req *q, natsMsg *m)
{
	req_unlink(l, q);
	q->cb(q->arg, q->tag, m);
	free(q);
}

/* Build a message for subj (reply subject and headers optional). */
static natsStatus
make_msg(natsMsg **out, const char *subj, const char *reply,
    const void *data, size_t len, const struct nats_hdr *h, size_t nh)
{
	natsStatus	s;
	size_t		i;

	*out = NULL;
	if (len > INT32_MAX)
		return NATS_INVALID_ARG;
	s = natsMsg_Create(out, subj, reply, data, (int)len);
	for (i = 0; s == NATS_OK && i < nh; i++)
		s = natsMsgHeader_Set(*out, h[i].key, h[i].value);
	return s;
}

int
nats_link_publish(struct nats_link *l, const char *subj, const void *data,
    size_t len, const struct nats_hdr *h, size_t nh)
{
	natsMsg		*m;
	natsStatus	 s;

	if (!l->up)
		return -1;
	if (nh == 0 && len <= INT32_MAX)
		s = natsConnection_Publish(l->nc, subj, data, (int)len);
	else if ((s = make_msg(&m, subj, NULL, data, len, h, nh)) == NATS_OK) {
		s = natsConnection_PublishMsg(l->nc, m);
		natsMsg_Destroy(m);
	} else
		natsMsg_Destroy(m);
	return s == NATS_OK ? 0 : -1;
}

int
nats_link_request(struct nats_link *l, const char *subj, const void *data,
    size_t len, const struct nats_hdr *h, size_t nh, nats_answer_cb cb,
    void *arg, void *tag)
{
	struct req	*q;
	natsMsg		*m;
	natsStatus	 s;
	char		 reply[80];

	if (!l->up || table_count(&l->reqs) >= MAX_INFLIGHT ||
	    (q = calloc(1, sizeof(*q))) == NULL)
		return -1;
	q->token = ++l->next_token;
	q->deadline = l->now + NATS_REQ_TIMEOUT_MS;
	q->cb = cb;
	q->arg = arg;
	q->tag = tag;
	snprintf(reply, sizeof(reply), "%s%llu", l->inbox,
	    (unsigned long long)q->token);
	if ((s = make_msg(&m, subj, reply, data, len, h, nh)) == NATS_OK)
		s = natsConnection_PublishMsg(l->nc, m);
	natsMsg_Destroy(m);
	if (s != NATS_OK || table_insert(&l->reqs, &q->node) == -1) {
		if (s != NATS_OK)
			log_warn("cluster: publish to %s: %s", subj,
			    natsStatus_GetText(s));
		free(q);
		return -1;
	}
	q->prev = l->rqtail;
	if (l->rqtail != NULL)
		l->rqtail->next = q;
	else
		l->rqhead = q;
	l->rqtail = q;
	return 0;
}

size_t
nats_link_inflight(const struct nats_link *l)
{
	return table_count(&l->reqs);
}

/* A reply on our inbox: its request's answer. */
static void
answer(struct nats_link *l, natsMsg *m)
{
	const char		*subj = natsMsg_GetSubject(m);
	size_t			 n = strlen(l->inbox);
	struct table_node	*tn;
	uint64_t		 token;
	int			 ok;

	if (strncmp(subj, l->inbox, n) != 0)
		return;
	token = parse_u64(subj + n, strlen(subj + n), &ok);
	if (ok && (tn = table_find(&l->reqs, &token)) != NULL)
		req_answer(l, TABLE_ENTRY(tn, struct req, node), m);
}

/* NATS went: every request in flight fails now, not at its deadline. */
static void
fail_all(struct nats_link *l)
{
	while (l->rqhead != NULL)
		req_answer(l, l->rqhead, NULL);
}

void
nats_link_cancel_all(struct nats_link *l)
{
	fail_all(l);
}

/* ---- subscriptions ---- */

int
nats_link_subscribe(struct nats_link *l, const char *subj, nats_msg_cb cb,
    void *arg, natsSubscription **sub)
{
	struct lsub	*ls;
	natsStatus	 s;

	*sub = NULL;
	if ((ls = calloc(1, sizeof(*ls))) == NULL)
		return -1;
	ls->link = l;
	ls->cb = cb;
	ls->arg = arg;
	if ((s = natsConnection_Subscribe(sub, l->nc, subj, on_sub, ls)) !=
	    NATS_OK) {
		log_warn("cluster: cannot subscribe to %s: %s", subj,
		    natsStatus_GetText(s));
		free(ls);
		*sub = NULL;
		return -1;
	}
	natsSubscription_SetPendingLimits(*sub, PENDING_MSGS, PENDING_BYTES);
	/*
	 * Kept until the link goes: a message may still be queued for it
	 * after an unsubscribe.
	 */
	ls->next = l->subs;
	l->subs = ls;
	return 0;
}

void
nats_link_unsubscribe(natsSubscription *sub)
{
	if (sub == NULL)
		return;
	natsSubscription_Unsubscribe(sub);
	natsSubscription_Destroy(sub);
}

/* ---- the loop ---- */

static void
tell_state(struct nats_link *l, int up)
{
	int	i;

	for (i = 0; i < l->nlisten; i++)
		l->listen[i].cb(l->listen[i].arg, up);
}

void
nats_link_process(struct nats_link *l)
{
	struct ev	*e, *next;
	char		 buf[64];

	l->now = util_mono_ms();
	while (read(l->wake[0], buf, sizeof(buf)) > 0)
		;
	for (e = take_events(l); e != NULL; e = next) {
		next = e->next;
		switch (e->kind) {
		case EV_MSG:
			e->sub->cb(e->sub->arg, e->msg);
			break;
		case EV_ANSWER:
			answer(l, e->msg);
			break;
		case EV_CONNECTED:
			if (l->up)
				break;
			l->up = 1;
			log_info("cluster: %s to NATS", l->ever_up ?
			    "reconnected" : "connected");
			l->ever_up = 1;
			tell_state(l, 1);
			break;
		case EV_CLOSED:
			/* Only at exit, or when NATS refused us for good. */
			log_error("cluster: NATS closed the connection for "
			    "good (credentials refused?): this node stays "
			    "alone until restarted");
			/* FALLTHROUGH */
		case EV_DISCONNECTED:
			if (!l->up)
				break;
			l->up = 0;
			log_warn("cluster: disconnected from NATS: remote "
			    "messages refused until it is back");
			fail_all(l);
			tell_state(l, 0);
			break;
		case EV_ERROR:
			log_warn("cluster: NATS: %s",
			    natsStatus_GetText(e->status));
			break;
		}
		natsMsg_Destroy(e->msg);
		free(e);
	}
}

void
nats_link_tick(struct nats_link *l, uint64_t now)
{
	struct req	*q;
	size_t		 n = 0;

	l->now = now;
	while ((q = l->rqhead) != NULL && q->deadline <= now) {
		req_answer(l, q, NULL);
		n++;
	}
	/* One line a sweep, with a count: a flood of timeouts is one. */
	if (n > 0)
		log_warn("cluster: %zu request%s to NATS timed out after %d s",
		    n, n == 1 ? "" : "s", NATS_REQ_TIMEOUT_MS / 1000);
}

void
nats_link_on_state(struct nats_link *l, nats_state_cb cb, void *arg)
{
	if (l->nlisten == MAX_LISTENERS)
		return;
	l->listen[l->nlisten].cb = cb;
	l->listen[l->nlisten].arg = arg;
	l->nlisten++;
	if (l->up)
		cb(arg, 1);
}

int
nats_link_wakefd(const struct nats_link *l)
{
	return l->wake[0];
}

int
nats_link_up(const struct nats_link *l)
{
	return l != NULL && l->up;
}

const char *
nats_link_state(const struct nats_link *l)
{
	return l == NULL ? "off" : l->up ? "ready" : "down";
}

const char *
nats_link_node(const struct nats_link *l)
{
	return l->node;
}

const char *
nats_link_urls(const struct nats_link *l)
{
	return l->urls;
}

int64_t
nats_link_max_payload(const struct nats_link *l)
{
	return l->up ? natsConnection_GetMaxPayload(l->nc) : 0;
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

struct nats_link *
nats_link_new(const char *urls, char *err, size_t errlen)
{
	struct nats_link	*l;
	const char		*v[16];
	char			*list, *p, *save = NULL, isubj[64];
	int			 n = 0;
	natsStatus		 s;

	if (strlen(urls) >= sizeof(l->urls)) {
		snprintf(err, errlen, "--cluster: the URL list is too long");
		return NULL;
	}
	if ((l = calloc(1, sizeof(*l))) == NULL ||
	    (list = strdup(urls)) == NULL) {
		free(l);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	redact(l->urls, sizeof(l->urls), urls);
	for (p = strtok_r(list, ",", &save); p != NULL;
	    p = strtok_r(NULL, ",", &save)) {
		if (strncmp(p, "nats://", 7) != 0 || p[7] == '\0' || n == 16) {
			snprintf(err, errlen, "--cluster: \"%s\" is not a "
			    "nats://HOST:PORT URL (at most 16, comma-"
			    "separated)", p);
			free(list);
			free(l);
			return NULL;
		}
		v[n++] = p;
	}
	if (n == 0) {
		snprintf(err, errlen, "--cluster: no nats:// URL given");
		free(list);
		free(l);
		return NULL;
	}
	l->wake[0] = l->wake[1] = -1;
	pthread_mutex_init(&l->lock, NULL);
	pthread_cond_init(&l->closed_cv, NULL);
	table_init(&l->reqs, (ptrdiff_t)offsetof(struct req, token) -
	    (ptrdiff_t)offsetof(struct req, node), sizeof(uint64_t));
	util_random_hex(l->node, 16);
	snprintf(l->inbox, sizeof(l->inbox), "_INBOX.%s.", l->node);
	l->now = util_mono_ms();
	l->inbox_lsub.link = l;
	if (pipe(l->wake) == -1 || util_set_nonblock(l->wake[0]) == -1 ||
	    util_set_nonblock(l->wake[1]) == -1) {
		snprintf(err, errlen, "cannot set up: %s", strerror(errno));
		goto fail;
	}
	if ((s = natsOptions_Create(&l->opts)) != NATS_OK ||
	    (s = natsOptions_SetServers(l->opts, v, n)) != NATS_OK ||
	    (s = natsOptions_SetName(l->opts, "chat-server")) != NATS_OK ||
	    (s = natsOptions_SetMaxReconnect(l->opts, -1)) != NATS_OK ||
	    (s = natsOptions_SetReconnectWait(l->opts, 500)) != NATS_OK ||
	    (s = natsOptions_SetTimeout(l->opts, 2000)) != NATS_OK ||
	    (s = natsOptions_SetPingInterval(l->opts, 2000)) != NATS_OK ||
	    (s = natsOptions_SetMaxPingsOut(l->opts, 2)) != NATS_OK ||
	    (s = natsOptions_UseGlobalMessageDelivery(l->opts, true)) !=
	    NATS_OK ||
	    (s = natsOptions_SetDisconnectedCB(l->opts, on_disconnected,
	    l)) != NATS_OK ||
	    (s = natsOptions_SetReconnectedCB(l->opts, on_connected, l)) !=
	    NATS_OK ||
	    (s = natsOptions_SetClosedCB(l->opts, on_closed, l)) != NATS_OK ||
	    (s = natsOptions_SetErrorHandler(l->opts, on_error, l)) !=
	    NATS_OK) {
		snprintf(err, errlen, "NATS options: %s",
		    natsStatus_GetText(s));
		goto fail;
	}
	log_info("cluster: node %s joining %s", l->node, l->urls);
	/*
	 * Once at start, before the loop runs: a server that answers and
	 * refuses us (credentials) is a configuration error; none that
	 * answers, and the node runs alone and keeps trying.
	 */
	s = natsConnection_Connect(&l->nc, l->opts);
	if (s == NATS_NO_SERVER) {
		if ((s = natsOptions_SetRetryOnFailedConnect(l->opts, true,
		    on_connected, l)) == NATS_OK)
			s = natsConnection_Connect(&l->nc, l->opts);
		if (s == NATS_NOT_YET_CONNECTED)
			log_warn("cluster: NATS not reachable at %s yet: "
			    "running alone, retrying", l->urls);
	} else if (s == NATS_OK)
		handoff(l, EV_CONNECTED, NULL, NULL, NATS_OK);
	if (s != NATS_OK && s != NATS_NOT_YET_CONNECTED) {
		const char	*why = nats_GetLastError(NULL);

		/* The library's text starts with its source location. */
		if (why != NULL && why[0] == '(' && strstr(why, "): ") != NULL)
			why = strstr(why, "): ") + 3;
		snprintf(err, errlen, "cannot join the cluster at %s: %s",
		    l->urls, why != NULL && *why != '\0' ? why :
		    natsStatus_GetText(s));
		goto fail;
	}
	snprintf(isubj, sizeof(isubj), "%s>", l->inbox);
	if ((s = natsConnection_Subscribe(&l->inbox_sub, l->nc, isubj,
	    on_inbox, &l->inbox_lsub)) != NATS_OK) {
		snprintf(err, errlen, "cannot subscribe: %s",
		    natsStatus_GetText(s));
		goto fail;
	}
	natsSubscription_SetPendingLimits(l->inbox_sub, PENDING_MSGS,
	    PENDING_BYTES);
	free(list);
	return l;
fail:
	free(list);
	nats_link_free(l);
	return NULL;
}

void
nats_link_free(struct nats_link *l)
{
	struct ev	*e, *next;
	struct lsub	*ls;
	struct req	*q;

	if (l == NULL)
		return;
	pthread_mutex_lock(&l->lock);
	l->closing = 1;
	pthread_mutex_unlock(&l->lock);
	/*
	 * Drain: what the subscriptions still hold is delivered (to
	 * handoff(), which drops it now) before the connection closes;
	 * closing at once would leave it to the library, which leaks it.
	 */
	if (l->nc != NULL &&
	    natsConnection_DrainTimeout(l->nc, DRAIN_MS) == NATS_OK) {
		struct timespec	 ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += DRAIN_MS / 1000 + 1;
		pthread_mutex_lock(&l->lock);
		while (!l->nats_closed &&
		    pthread_cond_timedwait(&l->closed_cv, &l->lock,
		    &ts) == 0)
			;
		pthread_mutex_unlock(&l->lock);
	}
	if (l->nc != NULL) {
		natsConnection_Close(l->nc);
		natsSubscription_Destroy(l->inbox_sub);
		natsConnection_Destroy(l->nc);
	}
	natsOptions_Destroy(l->opts);
	/* Messages belong to the library: destroyed while it is open. */
	for (e = take_events(l); e != NULL; e = next) {
		next = e->next;
		natsMsg_Destroy(e->msg);
		free(e);
	}
	/* Wait for NATS' threads, so none runs a callback on freed l. */
	nats_CloseAndWait(0);
	while ((q = l->rqhead) != NULL) {
		req_unlink(l, q);
		free(q);
	}
	table_release(&l->reqs);
	while ((ls = l->subs) != NULL) {
		l->subs = ls->next;
		free(ls);
	}
	if (l->wake[0] != -1)
		close(l->wake[0]);
	if (l->wake[1] != -1)
		close(l->wake[1]);
	pthread_cond_destroy(&l->closed_cv);
	pthread_mutex_destroy(&l->lock);
	free(l);
}
