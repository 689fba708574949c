/*
 * Copyright (c) 2026 The chat authors.
 *
 * nats-link: the NATS connection, run by the server's loop (see
 * nats-link.h).  nats.c is given our loop as its "external event loop"
 * (natsOptions_SetEventLoop): it tells us when to watch its socket for
 * reading and writing, and the loop calls it back to read or write.
 * Subscriptions are synchronous: a read queues what came in on each,
 * and the loop takes it from there, on its own thread.  The earlier
 * design let nats.c's reader, flusher and delivery threads run the
 * callbacks and hand everything to the loop through a pipe; switching
 * threads for every message was a third of a node's CPU under load.
 *
 * nats.c still calls us from its own threads: its timer (pings) and its
 * reconnection thread attach the socket or ask for writing, and its
 * connection callbacks (connected, disconnected, closed, errors) run on
 * a thread of their own.  So the socket is watched through an epoll
 * descriptor of ours (nats_link_wakefd(), which the loop polls),
 * changed under a lock from any thread: epoll_ctl(2) is safe to call
 * while the loop waits, and makes the loop's wait return.  Connection
 * events are queued under the same lock with a byte on a pipe that the
 * epoll descriptor also watches.  The lock is always taken inside
 * nats.c's (its callbacks hold the connection's lock), so the loop never
 * calls nats.c while holding it.
 *
 * Publishing from the loop only appends to nats.c's buffer (SendAsap:
 * no flusher thread); nats_link_flush() writes it once a pass.
 */
#include <sys/epoll.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>

#include "log.h"
#include "nats-link.h"
#include "table.h"
#include "util.h"
#include "vec.h"

#define MAX_INFLIGHT	65536	/* requests in flight */
#define DRAIN_MS	2000	/* at exit, for what is still buffered */
#define PENDING_MSGS	(1 << 20) /* per subscription, not yet taken */
#define PENDING_BYTES	(256 << 20)
#define IOBUF		(256 << 10) /* nats.c's read buffer */
#define MAX_LISTENERS	4
#define LOG_EVERY_MS	10000	/* timeouts, forgeries: one line a while */
#define MAC_HEX		32	/* Chat-Mac: 128 bits of HMAC-SHA256 */
#define GC_MS		100	/* received messages freed this often, */
#define GC_MAX		4096	/* or at this many */
#define MAX_SIGNED	16	/* Chat-* headers covered by the MAC */

/* The epoll descriptor's two members. */
#define TAG_WAKE	1
#define TAG_SOCK	2

/* What nats.c's threads hand to the loop. */
enum ev_kind {
	EV_CONNECTED,
	EV_DISCONNECTED,
	EV_CLOSED,
	EV_ERROR		/* asynchronous error (slow consumer...) */
};

struct ev {
	struct ev	*next;
	enum ev_kind	 kind;
	natsStatus	 status;	/* EV_ERROR */
};

/* A subscription: drained after each read while it is valid. */
struct lsub {
	struct lsub		*next;
	natsSubscription	*sub;
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
	char		 inbox[48];		/* "_INBOX.<random>." */
	char		 urls[512];		/* for logs: no secrets */
	pthread_t	 loop;			/* the loop's thread */

	/* Shared with nats.c's threads, under lock. */
	pthread_mutex_t	 lock;
	int		 epfd;			/* the socket and wake[0] */
	int		 sock;			/* nats.c's, while attached */
	int		 want_write;		/* nats.c has output */
	int		 out_armed;		/* EPOLLOUT registered */
	struct ev	*evhead, *evtail;
	int		 wake[2];
	int		 closing;
	int		 closed;		/* nats.c's closed callback ran */
	pthread_cond_t	 closed_cv;
	int		 tls;			/* nats.c set OpenSSL up */

	natsConnection	*evnc;			/* as attached */

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

	/*
	 * Received messages and those built to publish with headers,
	 * freed in bunches: nats.c hands each one it frees to its garbage
	 * collector thread and wakes it if it sleeps, a thread switch per
	 * message at a low rate (perf at 2,000 msgs/s: a fifth of a node's
	 * CPU for the received ones, a quarter for the published ones).
	 */
	natsMsg		**dead;
	size_t		  ndead, capdead;
	uint64_t	 next_gc;

	/* The cluster secret. */
	EVP_MAC_CTX	*mac;
	uint64_t	 forged, forged_said;
	char		 forged_subj[64];
	uint64_t	 timeouts, timeouts_said;
	uint64_t	 next_log[2];		/* of log_counts(): each kind */
};

/* ---- nats.c's threads: connection events ---- */

static void
handoff(struct nats_link *l, enum ev_kind kind, natsStatus status)
{
	struct ev	*e;
	char		 b = 1;
	int		 was_empty;

	if ((e = malloc(sizeof(*e))) == NULL)
		return;
	e->next = NULL;
	e->kind = kind;
	e->status = status;
	pthread_mutex_lock(&l->lock);
	if (l->closing) {
		pthread_mutex_unlock(&l->lock);
		free(e);
		return;
	}
	was_empty = l->evhead == NULL;
	if (l->evtail != NULL)
		l->evtail->next = e;
	else
		l->evhead = e;
	l->evtail = e;
	if (was_empty)
		(void)write(l->wake[1], &b, 1);
	pthread_mutex_unlock(&l->lock);
}

static void
on_connected(natsConnection *nc, void *arg)
{
	handoff(arg, EV_CONNECTED, NATS_OK);
}

static void
on_disconnected(natsConnection *nc, void *arg)
{
	handoff(arg, EV_DISCONNECTED, NATS_OK);
}

static void
on_closed(natsConnection *nc, void *arg)
{
	struct nats_link	*l = arg;

	handoff(l, EV_CLOSED, NATS_OK);
	/* Last: nats_link_free() may free l once it sees this. */
	pthread_mutex_lock(&l->lock);
	l->closed = 1;
	pthread_cond_signal(&l->closed_cv);
	pthread_mutex_unlock(&l->lock);
}

static void
on_error(natsConnection *nc, natsSubscription *sub, natsStatus s, void *arg)
{
	handoff(arg, EV_ERROR, s);
}

/* ---- the event loop adapter (any thread, under nats.c's lock) ---- */

/* Register the socket for what is wanted.  Under l->lock. */
static void
arm(struct nats_link *l, int out)
{
	struct epoll_event	ev;

	if (l->sock == -1 || out == l->out_armed)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | (out ? EPOLLOUT : 0);
	ev.data.u32 = TAG_SOCK;
	if (epoll_ctl(l->epfd, EPOLL_CTL_MOD, l->sock, &ev) == 0)
		l->out_armed = out;
}

static natsStatus
ev_attach(void **user, void *loop, natsConnection *nc, natsSock fd)
{
	struct nats_link	*l = loop;
	struct epoll_event	 ev;
	natsStatus		 s = NATS_OK;

	pthread_mutex_lock(&l->lock);
	if (l->sock != -1)
		(void)epoll_ctl(l->epfd, EPOLL_CTL_DEL, l->sock, NULL);
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.u32 = TAG_SOCK;
	l->sock = (int)fd;
	l->out_armed = 0;
	l->want_write = 0;
	l->evnc = nc;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->sock, &ev) == -1) {
		l->sock = -1;
		s = NATS_SYS_ERROR;
	}
	pthread_mutex_unlock(&l->lock);
	*user = l;
	return s;
}

/* Reading is asked for at attach; stopping it means the socket goes. */
static natsStatus
ev_read(void *user, bool add)
{
	struct nats_link	*l = user;

	pthread_mutex_lock(&l->lock);
	if (!add && l->sock != -1) {
		(void)epoll_ctl(l->epfd, EPOLL_CTL_DEL, l->sock, NULL);
		l->sock = -1;
		l->out_armed = l->want_write = 0;
	}
	pthread_mutex_unlock(&l->lock);
	return NATS_OK;
}

/*
 * Output is waiting (add) or all written.  From the loop (a publish)
 * only the flag is set: nats_link_flush() writes at the end of the
 * pass, without a system call to ask for it.  From another thread (a
 * ping), the socket is watched for writing, which wakes the loop.
 */
static natsStatus
ev_write(void *user, bool add)
{
	struct nats_link	*l = user;

	pthread_mutex_lock(&l->lock);
	l->want_write = add;
	if (!add)
		arm(l, 0);
	else if (!pthread_equal(pthread_self(), l->loop))
		arm(l, 1);
	pthread_mutex_unlock(&l->lock);
	return NATS_OK;
}

static natsStatus
ev_detach(void *user)
{
	return ev_read(user, false);
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

/* ---- the cluster secret ---- */

/* A header the MAC covers: Chat-*, but the MAC itself. */
static int
signed_key(const char *k)
{
	return strncmp(k, "Chat-", 5) == 0 && strcmp(k, "Chat-Mac") != 0;
}

static int
cmp_hdr(const void *a, const void *b)
{
	return strcmp(((const struct nats_hdr *)a)->key,
	    ((const struct nats_hdr *)b)->key);
}

/*
 * The MAC of a message: HMAC-SHA256, keyed with the secret, over the
 * subject, the signed headers sorted by name ("key:value", each ended
 * by a NUL), a NUL, and the payload; its first 16 bytes in hex.  The
 * subject is in it so that a message cannot be replayed elsewhere (a
 * stored message into another user's inbox); the headers, so that none
 * that matters (a seq, a chain link) can be changed.  -1 if it fails.
 */
static int
mac_of(struct nats_link *l, const char *subj, struct nats_hdr *h, size_t nh,
    const void *data, size_t len, char out[MAC_HEX + 1])
{
	static const char	 digits[] = "0123456789abcdef";
	unsigned char		 md[EVP_MAX_MD_SIZE];
	size_t			 mdlen = 0, i;
	int			 ok;

	qsort(h, nh, sizeof(*h), cmp_hdr);
	ok = EVP_MAC_init(l->mac, NULL, 0, NULL) == 1 &&
	    EVP_MAC_update(l->mac, (const unsigned char *)subj,
	    strlen(subj) + 1) == 1;
	for (i = 0; ok && i < nh; i++)
		ok = EVP_MAC_update(l->mac, (const unsigned char *)h[i].key,
		    strlen(h[i].key)) == 1 &&
		    EVP_MAC_update(l->mac, (const unsigned char *)":", 1) ==
		    1 && EVP_MAC_update(l->mac, (const unsigned char *)
		    h[i].value, strlen(h[i].value) + 1) == 1;
	ok = ok && EVP_MAC_update(l->mac, (const unsigned char *)"", 1) ==
	    1 && (len == 0 || EVP_MAC_update(l->mac, data, len) == 1) &&
	    EVP_MAC_final(l->mac, md, &mdlen, sizeof(md)) == 1 &&
	    mdlen >= MAC_HEX / 2;
	if (!ok)
		return -1;
	for (i = 0; i < MAC_HEX / 2; i++) {
		out[2 * i] = digits[md[i] >> 4];
		out[2 * i + 1] = digits[md[i] & 15];
	}
	out[MAC_HEX] = '\0';
	return 0;
}

int
nats_link_verify(struct nats_link *l, const char *subj, natsMsg *m)
{
	struct nats_hdr	 h[MAX_SIGNED];
	const char	**keys = NULL, *got = NULL, *v;
	char		 want[MAC_HEX + 1];
	size_t		 nh = 0, i;
	int		 n = 0, ok = 0, diff = 0;

	if (l->mac == NULL)
		return 1;
	if (natsMsgHeader_Get(m, "Chat-Mac", &got) != NATS_OK || got == NULL ||
	    strlen(got) != MAC_HEX)
		goto out;
	/* NATS_NOT_FOUND: no headers at all, which cannot be (Chat-Mac). */
	if (natsMsgHeader_Keys(m, &keys, &n) != NATS_OK)
		goto out;
	for (i = 0; i < (size_t)n; i++) {
		if (!signed_key(keys[i]))
			continue;
		if (nh == MAX_SIGNED || natsMsgHeader_Get(m, keys[i], &v) !=
		    NATS_OK || v == NULL)
			goto out;
		h[nh].key = keys[i];
		h[nh++].value = v;
	}
	if (mac_of(l, subj, h, nh, natsMsg_GetData(m),
	    (size_t)natsMsg_GetDataLength(m), want) == -1)
		goto out;
	/* In constant time: a forger learns nothing from how long it took. */
	for (i = 0; i < MAC_HEX; i++)
		diff |= want[i] ^ got[i];
	ok = diff == 0;
out:
	free((void *)keys);
	if (!ok) {
		l->forged++;
		snprintf(l->forged_subj, sizeof(l->forged_subj), "%s", subj);
	}
	return ok;
}

uint64_t
nats_link_forged(const struct nats_link *l)
{
	return l->forged;
}

/* ---- messages done with ---- */

static void
gc_run(struct nats_link *l)
{
	size_t	i;

	for (i = 0; i < l->ndead; i++)
		natsMsg_Destroy(l->dead[i]);
	l->ndead = 0;
	l->next_gc = l->now + GC_MS;
}

/* m was handed out and is done with: freed with the next bunch. */
static void
gc_add(struct nats_link *l, natsMsg *m)
{
	if (l->ndead >= GC_MAX || vec_grow(&l->dead, &l->capdead,
	    l->ndead + 1, sizeof(*l->dead)) == -1) {
		natsMsg_Destroy(m);
		return;
	}
	l->dead[l->ndead++] = m;
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

/*
 * Build and publish a message for subj, with headers and the MAC when
 * there is a secret (else the plain, cheaper, publish when it has no
 * headers).
 */
static natsStatus
send_msg(struct nats_link *l, const char *subj, const char *reply,
    const void *data, size_t len, const struct nats_hdr *h, size_t nh)
{
	struct nats_hdr	 sh[MAX_SIGNED];
	natsMsg		*m = NULL;
	natsStatus	 s;
	char		 mac[MAC_HEX + 1];
	size_t		 i, ns = 0;

	if (len > INT32_MAX)
		return NATS_INVALID_ARG;
	if (nh == 0 && l->mac == NULL)
		return reply == NULL ?
		    natsConnection_Publish(l->nc, subj, data, (int)len) :
		    natsConnection_PublishRequest(l->nc, subj, reply, data,
		    (int)len);
	s = natsMsg_Create(&m, subj, reply, data, (int)len);
	for (i = 0; s == NATS_OK && i < nh; i++) {
		s = natsMsgHeader_Set(m, h[i].key, h[i].value);
		if (signed_key(h[i].key) && ns < MAX_SIGNED)
			sh[ns++] = h[i];
	}
	if (s == NATS_OK && l->mac != NULL) {
		if (mac_of(l, subj, sh, ns, data, len, mac) == -1)
			s = NATS_ERR;
		else
			s = natsMsgHeader_Set(m, "Chat-Mac", mac);
	}
	if (s == NATS_OK)
		s = natsConnection_PublishMsg(l->nc, m);
	gc_add(l, m);
	return s;
}

int
nats_link_publish(struct nats_link *l, const char *subj, const void *data,
    size_t len, const struct nats_hdr *h, size_t nh)
{
	if (!l->up)
		return -1;
	return send_msg(l, subj, NULL, data, len, h, nh) == NATS_OK ? 0 : -1;
}

int
nats_link_request(struct nats_link *l, const char *subj, const void *data,
    size_t len, const struct nats_hdr *h, size_t nh, nats_answer_cb cb,
    void *arg, void *tag)
{
	struct req	*q;
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
	s = send_msg(l, subj, reply, data, len, h, nh);
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
	ls->cb = cb;
	ls->arg = arg;
	if ((s = natsConnection_SubscribeSync(&ls->sub, l->nc, subj)) !=
	    NATS_OK) {
		log_warn("cluster: cannot subscribe to %s: %s", subj,
		    natsStatus_GetText(s));
		free(ls);
		return -1;
	}
	natsSubscription_SetPendingLimits(ls->sub, PENDING_MSGS,
	    PENDING_BYTES);
	ls->next = l->subs;
	l->subs = ls;
	*sub = ls->sub;
	return 0;
}

/*
 * The record stays on the list until the next drain sees the
 * subscription is no longer valid: there is no link pointer here (the
 * callers' signature predates the loop-driven link).
 */
void
nats_link_unsubscribe(natsSubscription *sub)
{
	if (sub != NULL)
		natsSubscription_Unsubscribe(sub);
}

/*
 * Hand out what a subscription holds, at most what it held when we
 * started (a callback may publish, never read, so nothing comes in
 * meanwhile; the bound is for safety).
 */
static void
drain(struct nats_link *l, natsSubscription *sub, struct lsub *ls)
{
	natsMsg	*m;
	int	 n = 0;

	if (natsSubscription_GetPending(sub, &n, NULL) != NATS_OK)
		return;
	while (n-- > 0 && natsSubscription_NextMsg(&m, sub, 0) == NATS_OK) {
		if (ls == NULL)
			answer(l, m);
		else if (nats_link_verify(l, natsMsg_GetSubject(m), m))
			ls->cb(ls->arg, m);
		gc_add(l, m);
	}
}

static void
drain_all(struct nats_link *l)
{
	struct lsub	**pp, *ls;

	if (l->inbox_sub != NULL)
		drain(l, l->inbox_sub, NULL);
	for (pp = &l->subs; (ls = *pp) != NULL; ) {
		if (!natsSubscription_IsValid(ls->sub)) {
			*pp = ls->next;
			natsSubscription_Destroy(ls->sub);
			free(ls);
			continue;
		}
		drain(l, ls->sub, ls);
		pp = &ls->next;
	}
}

/* ---- the loop ---- */

static void
tell_state(struct nats_link *l, int up)
{
	int	i;

	for (i = 0; i < l->nlisten; i++)
		l->listen[i].cb(l->listen[i].arg, up);
}

static void
connection_events(struct nats_link *l)
{
	struct ev	*e, *next;
	char		 buf[64];

	while (read(l->wake[0], buf, sizeof(buf)) > 0)
		;
	pthread_mutex_lock(&l->lock);
	e = l->evhead;
	l->evhead = l->evtail = NULL;
	pthread_mutex_unlock(&l->lock);
	for (; e != NULL; e = next) {
		next = e->next;
		switch (e->kind) {
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
			/*
			 * Down first, then the answers: an owner told "no
			 * answer" while it thinks NATS is up takes it for a
			 * failure of its own (a read: the connection closed).
			 */
			tell_state(l, 0);
			fail_all(l);
			break;
		case EV_ERROR:
			log_warn("cluster: NATS: %s",
			    natsStatus_GetText(e->status));
			break;
		}
		free(e);
	}
}

void
nats_link_process(struct nats_link *l)
{
	struct epoll_event	ev[4];
	natsConnection		*nc;
	int			n, i, rd = 0, wr = 0;

	l->now = util_mono_ms();
	if ((n = epoll_wait(l->epfd, ev, 4, 0)) <= 0)
		return;
	for (i = 0; i < n; i++) {
		if (ev[i].data.u32 == TAG_WAKE)
			connection_events(l);
		else {
			rd |= (ev[i].events & (EPOLLIN | EPOLLERR |
			    EPOLLHUP)) != 0;
			wr |= (ev[i].events & EPOLLOUT) != 0;
		}
	}
	pthread_mutex_lock(&l->lock);
	nc = l->evnc;
	pthread_mutex_unlock(&l->lock);
	if (nc == NULL)
		return;
	if (wr)
		natsConnection_ProcessWriteEvent(nc);
	if (rd) {
		natsConnection_ProcessReadEvent(nc);
		drain_all(l);
	}
}

void
nats_link_flush(struct nats_link *l)
{
	natsConnection	*nc;
	int		 want, sock;

	pthread_mutex_lock(&l->lock);
	want = l->want_write;
	sock = l->sock;
	nc = l->evnc;
	pthread_mutex_unlock(&l->lock);
	if (!want || sock == -1 || nc == NULL)
		return;
	natsConnection_ProcessWriteEvent(nc);
	/* What the socket could not take: when it can. */
	pthread_mutex_lock(&l->lock);
	if (l->want_write)
		arm(l, 1);
	pthread_mutex_unlock(&l->lock);
}

/*
 * What may come in floods (timeouts, forgeries) is logged with a count:
 * the first at once, then at most one line every LOG_EVERY_MS.
 */
static void
log_counts(struct nats_link *l)
{
	uint64_t	t = l->timeouts - l->timeouts_said;
	uint64_t	f = l->forged - l->forged_said;

	if (t > 0 && l->now >= l->next_log[0]) {
		log_warn("cluster: %llu request%s to NATS timed out after %d s",
		    (unsigned long long)t, t == 1 ? "" : "s",
		    NATS_REQ_TIMEOUT_MS / 1000);
		l->timeouts_said = l->timeouts;
		l->next_log[0] = l->now + LOG_EVERY_MS;
	}
	if (f > 0 && l->now >= l->next_log[1]) {
		log_warn("cluster: dropped %llu message%s not signed with the "
		    "cluster secret (the last on %s)", (unsigned long long)f,
		    f == 1 ? "" : "s", l->forged_subj);
		l->forged_said = l->forged;
		l->next_log[1] = l->now + LOG_EVERY_MS;
	}
}

void
nats_link_tick(struct nats_link *l, uint64_t now)
{
	struct req	*q;

	l->now = now;
	while ((q = l->rqhead) != NULL && q->deadline <= now) {
		req_answer(l, q, NULL);
		l->timeouts++;
	}
	if (l->ndead > 0 && (now >= l->next_gc || l->ndead >= GC_MAX))
		gc_run(l);
	log_counts(l);
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
	return l->epfd;
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

/* nats.c's last error, without the source location it starts with. */
static const char *
nats_why(natsStatus s)
{
	const char	*why = nats_GetLastError(NULL);

	if (why != NULL && why[0] == '(' && strstr(why, "): ") != NULL)
		why = strstr(why, "): ") + 3;
	return why != NULL && *why != '\0' ? why : natsStatus_GetText(s);
}

/* The secret's HMAC context, keyed once (reused for every message). */
static int
mac_new(struct nats_link *l, const uint8_t *key, size_t keylen)
{
	EVP_MAC		*mac;
	OSSL_PARAM	 params[2];
	char		 digest[] = "SHA256";

	if ((mac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL)
		return -1;
	l->mac = EVP_MAC_CTX_new(mac);
	EVP_MAC_free(mac);
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    digest, 0);
	params[1] = OSSL_PARAM_construct_end();
	if (l->mac == NULL || EVP_MAC_init(l->mac, key, keylen, params) != 1)
		return -1;
	return 0;
}

/* Options: servers, the loop, TLS and credentials. */
static natsStatus
set_options(struct nats_link *l, const struct nats_link_config *cfg,
    const char **v, int n)
{
	natsOptions	*o;
	natsStatus	 s;

	if ((s = natsOptions_Create(&l->opts)) != NATS_OK)
		return s;
	o = l->opts;
	if ((s = natsOptions_SetServers(o, v, n)) != NATS_OK ||
	    (s = natsOptions_SetName(o, "chat-server")) != NATS_OK ||
	    (s = natsOptions_SetMaxReconnect(o, -1)) != NATS_OK ||
	    (s = natsOptions_SetReconnectWait(o, 500)) != NATS_OK ||
	    (s = natsOptions_SetTimeout(o, 2000)) != NATS_OK ||
	    (s = natsOptions_SetPingInterval(o, 2000)) != NATS_OK ||
	    /*
	     * A stalled server is dropped after 6 to 8 s: after a request's
	     * deadline (5 s), so that requests time out (counted) first.
	     */
	    (s = natsOptions_SetMaxPingsOut(o, 3)) != NATS_OK ||
	    (s = natsOptions_SetIOBufSize(o, IOBUF)) != NATS_OK ||
	    (s = natsOptions_SetSendAsap(o, true)) != NATS_OK ||
	    (s = natsOptions_SetEventLoop(o, l, ev_attach, ev_read, ev_write,
	    ev_detach)) != NATS_OK ||
	    (s = natsOptions_SetDisconnectedCB(o, on_disconnected, l)) !=
	    NATS_OK ||
	    (s = natsOptions_SetReconnectedCB(o, on_connected, l)) !=
	    NATS_OK ||
	    (s = natsOptions_SetClosedCB(o, on_closed, l)) != NATS_OK ||
	    (s = natsOptions_SetErrorHandler(o, on_error, l)) != NATS_OK)
		return s;
	if (cfg->creds != NULL && (s =
	    natsOptions_SetUserCredentialsFromFiles(o, cfg->creds, NULL)) !=
	    NATS_OK)
		return s;
	if (cfg->ca != NULL || cfg->cert != NULL) {
		if ((s = natsOptions_SetSecure(o, true)) != NATS_OK)
			return s;
		if (cfg->ca != NULL && (s =
		    natsOptions_LoadCATrustedCertificates(o, cfg->ca)) !=
		    NATS_OK)
			return s;
		if (cfg->cert != NULL && (s =
		    natsOptions_LoadCertificatesChain(o, cfg->cert,
		    cfg->key)) != NATS_OK)
			return s;
	}
	return NATS_OK;
}

struct nats_link *
nats_link_new(const struct nats_link_config *cfg, char *err, size_t errlen)
{
	struct nats_link	*l;
	struct epoll_event	 ev;
	const char		*v[16];
	char			*list, *p, *save = NULL, isubj[64], rnd[17];
	int			 n = 0;
	natsStatus		 s;

	if (strlen(cfg->urls) >= sizeof(l->urls)) {
		snprintf(err, errlen, "--cluster: the URL list is too long");
		return NULL;
	}
	if ((l = calloc(1, sizeof(*l))) == NULL ||
	    (list = strdup(cfg->urls)) == NULL) {
		free(l);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	redact(l->urls, sizeof(l->urls), cfg->urls);
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
	l->wake[0] = l->wake[1] = l->epfd = l->sock = -1;
	l->loop = pthread_self();
	pthread_mutex_init(&l->lock, NULL);
	pthread_cond_init(&l->closed_cv, NULL);
	l->tls = cfg->ca != NULL || cfg->cert != NULL;
	table_init(&l->reqs, (ptrdiff_t)offsetof(struct req, token) -
	    (ptrdiff_t)offsetof(struct req, node), sizeof(uint64_t));
	util_random_hex(l->node, 16);
	/*
	 * Replies come to a random prefix that presence never shows: a
	 * publisher who cannot subscribe cannot guess where to forge an
	 * answer.
	 */
	util_random_hex(rnd, 8);
	snprintf(l->inbox, sizeof(l->inbox), "_INBOX.%s.", rnd);
	l->now = util_mono_ms();
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.u32 = TAG_WAKE;
	if (pipe(l->wake) == -1 || util_set_nonblock(l->wake[0]) == -1 ||
	    util_set_nonblock(l->wake[1]) == -1 ||
	    (l->epfd = epoll_create1(EPOLL_CLOEXEC)) == -1 ||
	    epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->wake[0], &ev) == -1) {
		snprintf(err, errlen, "cannot set up: %s", strerror(errno));
		goto fail;
	}
	if (cfg->secret != NULL && mac_new(l, cfg->secret, cfg->secretlen) ==
	    -1) {
		snprintf(err, errlen, "cannot set up HMAC-SHA256 for the "
		    "cluster secret");
		goto fail;
	}
	if ((s = set_options(l, cfg, v, n)) != NATS_OK) {
		snprintf(err, errlen, "NATS options: %s", nats_why(s));
		goto fail;
	}
	log_info("cluster: node %s joining %s%s%s%s", l->node, l->urls,
	    cfg->ca != NULL || cfg->cert != NULL ? " (TLS)" : "",
	    cfg->creds != NULL ? " with credentials" : "",
	    l->mac != NULL ? ", messages signed" : "");
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
		handoff(l, EV_CONNECTED, NATS_OK);
	if (s != NATS_OK && s != NATS_NOT_YET_CONNECTED) {
		snprintf(err, errlen, "cannot join the cluster at %s: %s",
		    l->urls, nats_why(s));
		goto fail;
	}
	snprintf(isubj, sizeof(isubj), "%s>", l->inbox);
	if ((s = natsConnection_SubscribeSync(&l->inbox_sub, l->nc, isubj)) !=
	    NATS_OK) {
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

/* At exit: write what is buffered (cursors), up to DRAIN_MS. */
static void
flush_out(struct nats_link *l)
{
	struct pollfd	pfd;
	uint64_t	end = util_mono_ms() + DRAIN_MS;
	int		want, sock;

	for (;;) {
		nats_link_flush(l);
		pthread_mutex_lock(&l->lock);
		want = l->want_write;
		sock = l->sock;
		pthread_mutex_unlock(&l->lock);
		if (!want || sock == -1 || util_mono_ms() >= end)
			return;
		pfd.fd = sock;
		pfd.events = POLLOUT;
		(void)poll(&pfd, 1, 100);
	}
}

void
nats_link_free(struct nats_link *l)
{
	struct ev	*e;
	struct lsub	*ls;
	struct req	*q;

	if (l == NULL)
		return;
	gc_run(l);
	free(l->dead);
	if (l->nc != NULL && l->up)
		flush_out(l);
	pthread_mutex_lock(&l->lock);
	l->closing = 1;
	pthread_mutex_unlock(&l->lock);
	if (l->nc != NULL)
		natsConnection_Close(l->nc);
	natsSubscription_Destroy(l->inbox_sub);
	while ((ls = l->subs) != NULL) {
		l->subs = ls->next;
		natsSubscription_Destroy(ls->sub);
		free(ls);
	}
	natsConnection_Destroy(l->nc);
	natsOptions_Destroy(l->opts);
	/*
	 * Wait for NATS' threads, so none runs a callback on freed l.  But
	 * nats.c 3.4 frees OpenSSL's compression methods when it closes
	 * after TLS, and OpenSSL 3 frees them again at exit (a crash): with
	 * TLS, wait only for the closed callback, the last one there is,
	 * and leave the library to the exit.
	 */
	if (!l->tls)
		nats_CloseAndWait(0);
	else if (l->nc != NULL) {
		struct timespec	 ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += DRAIN_MS / 1000 + 1;
		pthread_mutex_lock(&l->lock);
		while (!l->closed && pthread_cond_timedwait(&l->closed_cv,
		    &l->lock, &ts) == 0)
			;
		pthread_mutex_unlock(&l->lock);
	}
	while ((e = l->evhead) != NULL) {
		l->evhead = e->next;
		free(e);
	}
	while ((q = l->rqhead) != NULL) {
		req_unlink(l, q);
		free(q);
	}
	table_release(&l->reqs);
	EVP_MAC_CTX_free(l->mac);
	if (l->wake[0] != -1)
		close(l->wake[0]);
	if (l->wake[1] != -1)
		close(l->wake[1]);
	if (l->epfd != -1)
		close(l->epfd);
	pthread_cond_destroy(&l->closed_cv);
	pthread_mutex_destroy(&l->lock);
	free(l);
}
