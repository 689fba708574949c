/*
 * Copyright (c) 2026 The chat authors.
 *
 * Unit tests for server/router.c: the user table, offline queues (order,
 * per-user and total bounds), requeueing of a dropped connection's
 * unsent messages at the head, multiple connections per user, who and
 * watch bookkeeping.  Clients here have no socket, so nothing can be
 * written to them and everything stays queued.
 */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "server.h"
#include "tap.h"

static struct server_config cfg = {
	.max_per_user = 2,
	.queue_limit = 3,
	.queue_bytes = 1000,
	.max_output = 65536,
};

static struct msg *
mk(const char *text)
{
	return msg_new(text, strlen(text));
}

static enum route_result
send_text(struct router *r, const char *to, const char *text)
{
	struct msg		*m = mk(text);
	enum route_result	 res = router_send(r, to, m);

	msg_unref(m);
	return res;
}

static void
test_queue_bounds(void)
{
	struct router	*r = router_new(&cfg);
	char		 big[600];

	CHECK(r != NULL);
	CHECK_INT(send_text(r, "6666", "a"), ROUTE_QUEUED);
	CHECK_INT(send_text(r, "6666", "b"), ROUTE_QUEUED);
	CHECK_INT(send_text(r, "6666", "c"), ROUTE_QUEUED);
	/* Per-user bound: 3 messages. */
	CHECK_INT(send_text(r, "6666", "d"), ROUTE_FULL);
	CHECK_INT(send_text(r, "7777", "x"), ROUTE_QUEUED);
	/* Total bound: 1000 bytes over all users. */
	memset(big, 'z', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CHECK_INT(send_text(r, "5555", big), ROUTE_QUEUED);
	CHECK_INT(send_text(r, "4444", big), ROUTE_FULL);
	router_free(r);
}

static void
test_attach_detach(void)
{
	struct router	*r = router_new(&cfg);
	struct client	*a = calloc(1, sizeof(*a));
	struct client	*b = calloc(1, sizeof(*b));
	struct client	*c = calloc(1, sizeof(*c));
	struct mq	 unsent = { NULL, NULL, 0, 0 };
	struct mq_ent	*e;
	const char	**v;
	size_t		 n;

	CHECK_INT(router_attach(r, a, "8888"), 0);
	CHECK_INT(router_attach(r, b, "8888"), 0);
	/* --max-per-user 2 */
	CHECK_INT(router_attach(r, c, "8888"), -1);
	CHECK(c->user == NULL);
	CHECK_INT(router_user_conns(a->user), 2);
	CHECK_STR(router_user_id(a->user), "8888");
	v = router_online(r, &n);
	CHECK_INT(n, 1);
	CHECK(n == 1 && strcmp(v[0], "8888") == 0);
	free(v);

	/* No socket: delivery fails, so the message is queued. */
	CHECK_INT(send_text(r, "8888", "m1"), ROUTE_QUEUED);
	CHECK(router_has_queue(a->user));

	/* a leaves with two unsent messages: b remains, so dropped. */
	e = calloc(1, sizeof(*e));
	e->m = mk("u1");
	mq_push(&unsent, e);
	router_detach(r, a, &unsent);
	CHECK_INT(unsent.n, 0);
	CHECK(a->user == NULL);
	CHECK_INT(router_user_conns(b->user), 1);

	/* b leaves last with u1, u2: they go before m1, in order. */
	e = calloc(1, sizeof(*e));
	e->m = mk("u1");
	mq_push(&unsent, e);
	e = calloc(1, sizeof(*e));
	e->m = mk("u2");
	mq_push(&unsent, e);
	router_detach(r, b, &unsent);
	CHECK_INT(unsent.n, 0);
	v = router_online(r, &n);
	CHECK_INT(n, 0);
	free(v);

	/* Reattach: the queue is kept, in order u1 u2 m1 (3 = bound). */
	CHECK_INT(router_attach(r, c, "8888"), 0);
	CHECK(router_has_queue(c->user));
	/* Queue is at its bound: the requeue may pass it, new ones not. */
	CHECK_INT(send_text(r, "8888", "m2"), ROUTE_FULL);
	router_detach(r, c, &unsent);
	router_free(r);
	free(a);
	free(b);
	free(c);
}

static void
test_mq(void)
{
	struct mq	 q = { NULL, NULL, 0, 0 };
	struct mq_ent	*e;
	const char	*want[] = { "z", "a", "b" };
	int		 i;

	e = calloc(1, sizeof(*e));
	e->m = mk("a");
	mq_push(&q, e);
	e = calloc(1, sizeof(*e));
	e->m = mk("b");
	mq_push(&q, e);
	e = calloc(1, sizeof(*e));
	e->m = mk("z");
	mq_push_front(&q, e);
	CHECK_INT(q.n, 3);
	CHECK_INT(q.bytes, 3);
	for (i = 0; i < 3; i++) {
		e = mq_pop(&q);
		CHECK(e != NULL && strcmp(e->m->data, want[i]) == 0);
		if (e != NULL) {
			msg_unref(e->m);
			free(e);
		}
	}
	CHECK(mq_pop(&q) == NULL);
	CHECK(q.head == NULL && q.tail == NULL && q.n == 0 && q.bytes == 0);
	e = calloc(1, sizeof(*e));
	e->m = mk("x");
	mq_push(&q, e);
	mq_clear(&q);
	CHECK(q.n == 0 && q.head == NULL);
}

static void
test_watch(void)
{
	struct router	*r = router_new(&cfg);
	struct client	*w = calloc(1, sizeof(*w));
	struct client	*a = calloc(1, sizeof(*a));
	struct mq	 none = { NULL, NULL, 0, 0 };
	char		 users[2][CODEC_MAX_USER + 1] = { "6666", "7777" };

	CHECK_INT(router_watch(r, w, users, 2), 0);
	CHECK_INT(w->nwatch, 2);
	CHECK_INT(router_attach(r, a, "6666"), 0);
	router_detach(r, a, &none);
	/* Replacing the list drops the old watches. */
	CHECK_INT(router_watch(r, w, users, 1), 0);
	CHECK_INT(w->nwatch, 1);
	router_detach(r, w, &none);
	CHECK_INT(w->nwatch, 0);
	CHECK(w->watch == NULL);
	router_free(r);
	free(w);
	free(a);
}

int
main(void)
{
	log_init("test_router", LOG_ERROR, NULL);
	test_mq();
	test_queue_bounds();
	test_attach_detach();
	test_watch();
	return test_done();
}
