/*
 * Copyright (c) 2026 The chat authors.
 *
 * inbox-mem: the memory row store of the local inboxes (see
 * inbox-local.h; the rules are inbox-local.c's).  It keeps the messages
 * themselves: each one is a struct msg made with room for a struct ment
 * in front of it (inbox_msg_hdr()), so keeping one costs no allocation
 * of its own.  Per user, a list by seq with the first undelivered one
 * marked; for all users, the delivered messages in the order they were
 * delivered, which is roughly their age: retention takes the oldest
 * from its head.  Nothing survives a restart, and each inbox's
 * numbering is its own (inbox-local.c names it with an epoch).
 */
#include <stdlib.h>
#include <string.h>

#include "inbox-local.h"
#include "msg.h"
#include "users.h"

/* What a kept message carries in front of it. */
struct ment {
	struct ment	*inext;		/* same user, by seq */
	struct ment	*sprev, *snext;	/* delivered, oldest first */
	struct box	*box;
};

/* A user's messages (box->rows), made with the first one. */
struct mlist {
	struct ment	*head, *tail;
	struct ment	*unsent;	/* first with seq > the cursor */
};

struct rows {
	struct ment	*shead, *stail;	/* delivered, all users */
	char		 err[64];
};

static struct msg *
ment_msg(struct ment *e)
{
	return msg_from_hdr(e, sizeof(*e));
}

static struct rows *
mem_open(const struct inbox_config *cfg, char *err, size_t errlen)
{
	return calloc(1, sizeof(struct rows));
}

static void
mem_close(struct rows *r)
{
	free(r);
}

static const char *
mem_epoch(struct rows *r)
{
	return NULL;
}

static const char *
mem_error(struct rows *r)
{
	return "out of memory";
}

static int
mem_totals(struct rows *r, uint64_t *n, uint64_t *bytes)
{
	*n = *bytes = 0;
	return 0;
}

static int
mem_queued(struct rows *r, rows_queued_cb cb, void *arg)
{
	return 0;
}

static int
mem_nop(struct rows *r)
{
	return 0;
}

static void
mem_rollback(struct rows *r)
{
}

static int
mem_load(struct rows *r, struct box *b, struct rows_meta *m)
{
	memset(m, 0, sizeof(*m));
	return 1;
}

static int
mem_save(struct rows *r, struct box *b)
{
	return 0;
}

static void
sent_unlink(struct rows *r, struct ment *e)
{
	if (e->sprev != NULL)
		e->sprev->snext = e->snext;
	else
		r->shead = e->snext;
	if (e->snext != NULL)
		e->snext->sprev = e->sprev;
	else
		r->stail = e->sprev;
	e->sprev = e->snext = NULL;
}

static void
sent_push(struct rows *r, struct ment *e)
{
	e->snext = NULL;
	e->sprev = r->stail;
	if (r->stail != NULL)
		r->stail->snext = e;
	else
		r->shead = e;
	r->stail = e;
}

static int
mem_insert(struct rows *r, struct box *b, struct msg *m, const char *sender,
    uint64_t *cost)
{
	struct mlist	*l = b->rows;
	struct ment	*e;

	/* The router makes messages with our header (inbox_msg_hdr()). */
	if (m->hdr < sizeof(*e))
		return -1;
	if (l == NULL && (l = b->rows = calloc(1, sizeof(*l))) == NULL)
		return -1;
	e = msg_hdr(m);
	e->inext = e->sprev = e->snext = NULL;
	e->box = b;
	msg_ref(m);
	if (l->tail != NULL)
		l->tail->inext = e;
	else
		l->head = e;
	l->tail = e;
	if (l->unsent == NULL)
		l->unsent = e;
	*cost = msg_cost(m);
	return 0;
}

/* Drop the oldest message of l (delivered, or at close any). */
static void
drop_head(struct rows *r, struct mlist *l)
{
	struct ment	*e = l->head;

	if ((l->head = e->inext) == NULL)
		l->tail = NULL;
	if (l->unsent == e)
		l->unsent = e->inext;
	else
		sent_unlink(r, e);
	msg_unref(ment_msg(e));
}

static int
mem_trim(struct rows *r, struct box *b, uint64_t upto, uint64_t before,
    uint64_t *n, uint64_t *cost, uint64_t *first)
{
	struct mlist	*l = b->rows;
	struct msg	*m;

	while (l != NULL && l->head != NULL &&
	    (m = ment_msg(l->head))->seq <= upto && m->ts < before) {
		(*n)++;
		*cost += msg_cost(m);
		drop_head(r, l);
	}
	*first = l != NULL && l->head != NULL ? ment_msg(l->head)->seq : 0;
	return 0;
}

static int
mem_read(struct rows *r, struct box *b, uint64_t after, uint64_t upto,
    size_t max, size_t bytes, struct msg **out)
{
	struct mlist	*l = b->rows;
	struct ment	*e;
	struct msg	*m;
	size_t		 got = 0, sum = 0;

	for (e = l != NULL ? l->head : NULL; e != NULL && got < max;
	    e = e->inext) {
		m = ment_msg(e);
		if (m->seq <= after)
			continue;
		if (m->seq > upto || (got > 0 && sum + m->len > bytes))
			break;
		out[got++] = msg_ref(m);
		sum += m->len;
	}
	return (int)got;
}

static int
mem_oldest(struct rows *r, uint64_t before, size_t max,
    struct rows_victim *out)
{
	struct ment	*e;
	struct msg	*m;
	size_t		 got = 0;

	/* Delivery order is roughly age order: stop at a young one. */
	for (e = r->shead; e != NULL && got < max; e = e->snext) {
		m = ment_msg(e);
		if (m->ts >= before)
			break;
		out[got].box = e->box;
		out[got].user[0] = '\0';
		out[got++].seq = m->seq;
	}
	return (int)got;
}

static void
mem_sent(struct rows *r, struct box *b, uint64_t cursor)
{
	struct mlist	*l = b->rows;
	struct ment	*e;

	if (l == NULL)
		return;
	for (e = l->unsent; e != NULL && ment_msg(e)->seq <= cursor;
	    e = e->inext)
		sent_push(r, e);
	l->unsent = e;
}

static void
mem_forget(struct rows *r, struct box *b)
{
	struct mlist	*l = b->rows;

	if (l == NULL)
		return;
	while (l->head != NULL)
		drop_head(r, l);
	free(l);
	b->rows = NULL;
}

const struct rows_ops rows_mem_ops = {
	.kind = "memory",
	.persistent = 0,
	/* The box, its message list, malloc's headers. */
	.box_cost = sizeof(struct box) + sizeof(struct mlist) + 32,
	.open = mem_open,
	.close = mem_close,
	.epoch = mem_epoch,
	.error = mem_error,
	.totals = mem_totals,
	.queued = mem_queued,
	.begin = mem_nop,
	.commit = mem_nop,
	.rollback = mem_rollback,
	.load = mem_load,
	.save = mem_save,
	.insert = mem_insert,
	.trim = mem_trim,
	.read = mem_read,
	.oldest = mem_oldest,
	.sent = mem_sent,
	.forget = mem_forget,
};

size_t
inbox_mem_hdr(void)
{
	return sizeof(struct ment);
}
