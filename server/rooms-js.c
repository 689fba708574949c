/*
 * Copyright (c) 2026 The chat authors.
 *
 * rooms-js: memberships in JetStream, shared by the nodes of a cluster
 * (see rooms.h), over the NATS link.
 *
 * Stream CHAT_ROOMS keeps one message per membership ever made, on
 * subject chat.member.<hex of the room>.<hex of the user> (names may
 * hold '.' or any UTF-8): "1" while the user is in the room, "0" once
 * it left.  Every node holds the whole list in memory: it reads the
 * stream from the start when the link comes up (direct gets, one after
 * the other, next_by_subj), and from then on learns changes from the
 * node that made them, which says so on chat.rooms.changed once
 * JetStream has stored the change.  A node that hears of a change
 * looks the membership up in the stream, one lookup at a time, rather
 * than trusting the order in which the news came: two nodes changing
 * the same membership at once still end up agreeing with the stream.
 * While the list is being read, and while NATS is away, joins and
 * leaves are refused (cluster_unavailable); a failed read or lookup
 * reads everything again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "codec.h"
#include "log.h"
#include "nats-link.h"
#include "rooms.h"
#include "table.h"
#include "util.h"

#define SETUP_RETRY_MS	1000
#define HEXROOM		(2 * CODEC_MAX_ROOM + 1)
#define HEXUSER		(2 * CODEC_MAX_USER + 1)
#define KEY_MAX		(HEXROOM + HEXUSER)
#define SUBJ_MAX	(KEY_MAX + 64)
#define CHANGED		"chat.rooms.changed"

enum { S_DOWN, S_SETUP, S_LOADING, S_READY };

/* A join or leave being stored. */
struct jput {
	struct jput	*prev, *next;
	void		*tag;
	char		 key[KEY_MAX];	/* <hex room>.<hex user> */
};

/* A membership to look up, once. */
struct look {
	struct table_node	 node;
	struct look		*next;
	char			 key[KEY_MAX];
};

struct js_store {
	struct rooms_store_base		 base;
	struct rooms_store_events	 ev;
	struct nats_link		*link;
	natsSubscription		*sub;
	int				 replicas;
	int				 state;
	int				 update;	/* setup: UPDATE */
	uint64_t			 retry_at;	/* setup again */
	struct jput			*puts;
	struct table			 looks;		/* keys waiting */
	struct look			*lhead, *ltail;
	int				 looking;	/* one in flight */
	uintptr_t			 round;		/* of setup: older
							   answers are stale */
};

static void	setup(struct js_store *);
static void	look_next(struct js_store *);

/* "<hex room>.<hex user>" into key[KEY_MAX]. */
static void
make_key(char *key, const char *room, const char *user)
{
	size_t	n;

	util_hex(key, room);
	n = strlen(key);
	key[n++] = '.';
	util_hex(key + n, user);
}

/* The room and user of key (or of a subject ending in one).  0 or -1. */
static int
split_key(const char *key, char *room, char *user)
{
	const char	*dot = strchr(key, '.');

	if (dot == NULL ||
	    util_unhex(room, CODEC_MAX_ROOM + 1, key, (size_t)(dot - key)) ==
	    -1 || util_unhex(user, CODEC_MAX_USER + 1, dot + 1,
	    strlen(dot + 1)) == -1)
		return -1;
	return 0;
}

/*
 * A membership as a message stored on subj holds it: "1" in, "0" out.
 * One not signed with the cluster secret (--cluster-secret-file) is
 * out: a publisher without the secret cannot add a member to a room.
 */
static int
msg_joined(struct js_store *s, const char *subj, natsMsg *m)
{
	return natsMsg_GetDataLength(m) == 1 && natsMsg_GetData(m)[0] ==
	    '1' && nats_link_verify(s->link, subj, m);
}

/* Something failed: read everything again, later. */
static void
again_later(struct js_store *s, const char *why)
{
	if (s->state == S_DOWN)
		return;
	log_warn("cluster: rooms: %s; reading them again", why);
	s->state = S_SETUP;
	s->retry_at = util_mono_ms() + SETUP_RETRY_MS;
	s->ev.ready(s->ev.arg, 0);
}

/* ---- reading the stream ---- */

static void	load_answer(void *, void *, natsMsg *);

static void
load_from(struct js_store *s, uint64_t seq)
{
	char	body[96];
	int	n;

	n = snprintf(body, sizeof(body), "{\"seq\":%llu,\"next_by_subj\":"
	    "\"chat.member.>\"}", (unsigned long long)seq);
	if (nats_link_request(s->link, "$JS.API.DIRECT.GET.CHAT_ROOMS", body,
	    (size_t)n, NULL, 0, load_answer, s, (void *)s->round) != 0)
		again_later(s, "cannot ask for them");
}

static void
load_answer(void *arg, void *tag, natsMsg *m)
{
	struct js_store	*s = arg;
	const char	*subj = NULL;
	char		 room[CODEC_MAX_ROOM + 1], user[CODEC_MAX_USER + 1];
	uint64_t	 seq = 0;
	int		 st = m != NULL ? nats_msg_status(m) : -1;

	if (s->state != S_LOADING || (uintptr_t)tag != s->round)
		return;
	if (st == 404) {
		/* The end: who was not named is gone. */
		s->ev.sync(s->ev.arg, 0);
		s->state = S_READY;
		s->ev.ready(s->ev.arg, 1);
		log_info("cluster: rooms ready (%s)", "stream CHAT_ROOMS");
		look_next(s);
		return;
	}
	if (m == NULL || st != 0 || !nats_msg_u64(m, "Nats-Sequence", &seq) ||
	    natsMsgHeader_Get(m, "Nats-Subject", &subj) != NATS_OK ||
	    subj == NULL) {
		again_later(s, m == NULL ? "no answer" : "a bad answer");
		return;
	}
	if (strncmp(subj, "chat.member.", 12) == 0 &&
	    split_key(subj + 12, room, user) == 0)
		s->ev.set(s->ev.arg, room, user, msg_joined(s, subj, m));
	load_from(s, seq + 1);
}

/* ---- the stream ---- */

static void
setup_answer(void *arg, void *tag, natsMsg *m)
{
	struct js_store	*s = arg;
	json_t		*root = NULL, *err = NULL;
	json_error_t	 jerr;
	const char	*desc = "no answer";
	int		 code = 0;

	if (s->state != S_SETUP || (uintptr_t)tag != s->round)
		return;
	if (m != NULL && nats_msg_status(m) == 503)
		desc = "JetStream is not enabled on the NATS server";
	else if (m != NULL) {
		root = json_loadb(natsMsg_GetData(m),
		    (size_t)natsMsg_GetDataLength(m), 0, &jerr);
		if (root != NULL && (err = json_object_get(root, "error")) ==
		    NULL) {
			json_decref(root);
			s->state = S_LOADING;
			s->ev.sync(s->ev.arg, 1);
			load_from(s, 1);
			return;
		}
		code = (int)json_integer_value(json_object_get(err,
		    "err_code"));
		if (json_is_string(json_object_get(err, "description")))
			desc = json_string_value(json_object_get(err,
			    "description"));
		if (code == 10058 && !s->update) {
			/* Exists with another configuration: take ours. */
			json_decref(root);
			s->update = 1;
			setup(s);
			return;
		}
	}
	log_warn("cluster: cannot set up stream CHAT_ROOMS: %s (again in "
	    "%.1f s)", desc, SETUP_RETRY_MS / 1000.0);
	json_decref(root);
	s->retry_at = util_mono_ms() + SETUP_RETRY_MS;
}

static void
setup(struct js_store *s)
{
	json_t	*cfg;
	char	*body, subj[64];

	s->state = S_SETUP;
	s->retry_at = 0;
	s->round++;
	/* One message per membership: the newest says in or out. */
	cfg = json_pack("{s:s, s:[s], s:s, s:s, s:s, s:I, s:b, s:i}",
	    "name", "CHAT_ROOMS", "subjects", "chat.member.*.*", "storage",
	    "file", "retention", "limits", "discard", "old",
	    "max_msgs_per_subject", (json_int_t)1, "allow_direct", 1,
	    "num_replicas", s->replicas > 0 ? s->replicas : 1);
	if (cfg == NULL || (body = json_dumps(cfg, JSON_COMPACT)) == NULL) {
		json_decref(cfg);
		s->retry_at = util_mono_ms() + SETUP_RETRY_MS;
		return;
	}
	json_decref(cfg);
	snprintf(subj, sizeof(subj), "$JS.API.STREAM.%s.CHAT_ROOMS",
	    s->update ? "UPDATE" : "CREATE");
	if (nats_link_request(s->link, subj, body, strlen(body), NULL, 0,
	    setup_answer, s, (void *)s->round) != 0)
		s->retry_at = util_mono_ms() + SETUP_RETRY_MS;
	free(body);
}

static void
link_state(void *arg, int up)
{
	struct js_store	*s = arg;

	if (up) {
		s->update = 0;
		setup(s);
		return;
	}
	if (s->state == S_READY)
		s->ev.ready(s->ev.arg, 0);
	s->state = S_DOWN;
}

/* ---- news of other nodes' changes ---- */

static void
look_answer(void *arg, void *tag, natsMsg *m)
{
	struct js_store	*s = arg;
	struct look	*k = tag;
	char		 room[CODEC_MAX_ROOM + 1], user[CODEC_MAX_USER + 1];
	char		 subj[SUBJ_MAX];
	int		 st = m != NULL ? nats_msg_status(m) : -1;

	s->looking = 0;
	snprintf(subj, sizeof(subj), "chat.member.%s", k->key);
	if ((m == NULL || (st != 0 && st != 404)) && s->state == S_READY)
		again_later(s, "a lookup failed");
	else if (m != NULL && split_key(k->key, room, user) == 0)
		s->ev.set(s->ev.arg, room, user, st == 0 &&
		    msg_joined(s, subj, m));
	free(k);
	look_next(s);
}

/* The next lookup, if none is in flight and the list is read. */
static void
look_next(struct js_store *s)
{
	struct look	*k;
	char		 subj[SUBJ_MAX];

	while (!s->looking && s->state == S_READY && (k = s->lhead) != NULL) {
		if ((s->lhead = k->next) == NULL)
			s->ltail = NULL;
		table_remove(&s->looks, &k->node);
		snprintf(subj, sizeof(subj), "$JS.API.DIRECT.GET.CHAT_ROOMS."
		    "chat.member.%s", k->key);
		if (nats_link_request(s->link, subj, NULL, 0, NULL, 0,
		    look_answer, s, k) != 0) {
			free(k);
			again_later(s, "cannot look one up");
			return;
		}
		s->looking = 1;
	}
}

static void
heard(void *arg, natsMsg *m)
{
	struct js_store	*s = arg;
	struct look	*k;
	const char	*node = NULL;
	int		 len = natsMsg_GetDataLength(m);

	if (natsMsgHeader_Get(m, "Chat-Node", &node) == NATS_OK &&
	    node != NULL && strcmp(node, nats_link_node(s->link)) == 0)
		return;		/* ours: applied already */
	if (len <= 0 || len >= KEY_MAX)
		return;
	if ((k = calloc(1, sizeof(*k))) == NULL)
		return;
	memcpy(k->key, natsMsg_GetData(m), (size_t)len);
	if (table_find(&s->looks, k->key) != NULL ||
	    table_insert(&s->looks, &k->node) == -1) {
		free(k);
		return;		/* asked already */
	}
	if (s->ltail != NULL)
		s->ltail->next = k;
	else
		s->lhead = k;
	s->ltail = k;
	look_next(s);
}

/* ---- joins and leaves ---- */

static void
put_unlink(struct js_store *s, struct jput *p)
{
	if (p->prev != NULL)
		p->prev->next = p->next;
	else
		s->puts = p->next;
	if (p->next != NULL)
		p->next->prev = p->prev;
}

static void
put_answer(void *arg, void *tag, natsMsg *m)
{
	struct js_store		*s = arg;
	struct jput		*p = tag;
	struct nats_hdr		 h;
	json_t			*root = NULL;
	json_error_t		 jerr;
	enum rooms_status	 st = ROOMS_CLUSTER;

	if (m != NULL && nats_msg_status(m) == 0 &&
	    (root = json_loadb(natsMsg_GetData(m),
	    (size_t)natsMsg_GetDataLength(m), 0, &jerr)) != NULL &&
	    json_object_get(root, "error") == NULL &&
	    json_is_integer(json_object_get(root, "seq")))
		st = ROOMS_OK;
	else if (m != NULL)
		log_warn("cluster: a membership was not stored: %.*s",
		    natsMsg_GetDataLength(m) > 200 ? 200 :
		    natsMsg_GetDataLength(m), natsMsg_GetData(m));
	json_decref(root);
	if (st == ROOMS_OK) {
		/* The other nodes look it up. */
		h.key = "Chat-Node";
		h.value = nats_link_node(s->link);
		(void)nats_link_publish(s->link, CHANGED, p->key,
		    strlen(p->key), &h, 1);
	}
	put_unlink(s, p);
	s->ev.done(s->ev.arg, p->tag, st);
	free(p);
}

static enum rooms_status
js_put(struct rooms_store *st, const char *room, const char *user, int join,
    void *tag)
{
	struct js_store	*s = (struct js_store *)(void *)st;
	struct jput	*p;
	char		 subj[SUBJ_MAX];

	if (s->state != S_READY)
		return ROOMS_CLUSTER;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return ROOMS_NOMEM;
	p->tag = tag;
	make_key(p->key, room, user);
	snprintf(subj, sizeof(subj), "chat.member.%s", p->key);
	if (nats_link_request(s->link, subj, join ? "1" : "0", 1, NULL, 0,
	    put_answer, s, p) != 0) {
		free(p);
		return ROOMS_CLUSTER;
	}
	if ((p->next = s->puts) != NULL)
		s->puts->prev = p;
	s->puts = p;
	return ROOMS_PENDING;
}

/* ---- the interface ---- */

static int
js_start(struct rooms_store *st, const struct rooms_store_events *ev,
    char *err, size_t errlen)
{
	struct js_store	*s = (struct js_store *)(void *)st;

	s->ev = *ev;
	if (nats_link_subscribe(s->link, CHANGED, heard, s, &s->sub) != 0) {
		snprintf(err, errlen, "cluster: cannot subscribe to %s",
		    CHANGED);
		return -1;
	}
	/* Told at once if the link is up. */
	nats_link_on_state(s->link, link_state, s);
	return 0;
}

static void
js_tick(struct rooms_store *st, uint64_t now)
{
	struct js_store	*s = (struct js_store *)(void *)st;

	if (s->state == S_SETUP && s->retry_at != 0 && now >= s->retry_at)
		setup(s);
}

static void
js_close(struct rooms_store *st)
{
	struct js_store	*s = (struct js_store *)(void *)st;
	struct look	*k;

	/*
	 * What is in flight is answered now, as NATS being away (the
	 * inbox's requests too: it closes next), while we still exist.
	 */
	s->state = S_DOWN;
	if (s->ev.done != NULL)
		nats_link_cancel_all(s->link);
	nats_link_unsubscribe(s->sub);
	while ((k = s->lhead) != NULL) {
		s->lhead = k->next;
		free(k);
	}
	table_release(&s->looks);
	free(s);
}

static const struct rooms_store_ops js_ops = {
	"jetstream", js_start, js_put, NULL, js_tick, js_close
};

struct rooms_store *
rooms_store_js(struct nats_link *link, int replicas, char *err,
    size_t errlen)
{
	struct js_store	*s;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->base.ops = &js_ops;
	s->link = link;
	s->replicas = replicas;
	s->state = S_DOWN;
	table_init(&s->looks, (ptrdiff_t)offsetof(struct look, key) -
	    (ptrdiff_t)offsetof(struct look, node), 0);
	return (struct rooms_store *)(void *)s;
}
