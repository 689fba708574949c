/*
 * Copyright (c) 2026 The chat authors.
 *
 * inboxcost.h: what the local inbox (server/inbox-local.c) charges for
 * a message and an inbox, for its tests (test_inbox, test_inbox_random),
 * which check --history-bytes and the quotas to the byte.
 */
#ifndef INBOXCOST_H
#define INBOXCOST_H

#include <stdint.h>
#include <stdlib.h>

#include "inbox-local.h"
#include "msg.h"
#include "users.h"

/* inbox-local.c's estimate of what a message costs beyond its own. */
#define APPEND_SLACK	64

/*
 * msg_cost() of a message of len bytes as the router makes it for the
 * memory store (sql 0: with its links in front) or for SQLite.
 */
static inline uint64_t
mcost(int sql, size_t len)
{
	struct msg	*m;
	uint64_t	 c;

	if ((m = msg_alloc(sql ? 0 : inbox_mem_hdr(), len + MSG_SEQ_ROOM)) ==
	    NULL)
		abort();
	c = msg_cost(m);
	msg_unref(m);
	return c;
}

/*
 * What an append of len bytes must find room for: SQLite counts the
 * text (what the file holds), memory the message with its header and
 * some slack for its quota entry.
 */
static inline uint64_t
need(int sql, size_t len)
{
	return sql ? len + MSG_SEQ_ROOM : mcost(sql, len) + APPEND_SLACK;
}

/* What the memory store charges for the inbox of user id itself. */
static inline uint64_t
box_cost(const char *id)
{
	return rows_mem_ops.box_cost + users_cost(id);
}

#endif /* INBOXCOST_H */
