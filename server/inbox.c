/*
 * Copyright (c) 2026 The chat authors.
 *
 * inbox: picking a backing and dispatching to it (see inbox.h).
 */
#include <stddef.h>

#include "inbox.h"

struct inbox {
	struct inbox_base	base;
};

struct inbox *
inbox_open(const struct inbox_config *cfg, struct users *us,
    struct nats_link *link, const struct inbox_events *ev, char *err,
    size_t errlen)
{
	if (link != NULL)
		return inbox_js_open(cfg, us, link, ev, err, errlen);
	return inbox_local_open(cfg, us, ev, err, errlen);
}

void
inbox_close(struct inbox *ib)
{
	if (ib != NULL)
		ib->base.ops->close(ib);
}

enum inbox_status
inbox_append(struct inbox *ib, struct user *to, struct user *from,
    struct msg *m, int live, void *tag)
{
	return ib->base.ops->append(ib, to, from, m, live, tag);
}

void
inbox_commit(struct inbox *ib)
{
	ib->base.ops->commit(ib);
}

uint64_t
inbox_due(const struct inbox *ib)
{
	return ib->base.ops->due != NULL ? ib->base.ops->due(ib) : 0;
}

void
inbox_flush(struct inbox *ib)
{
	ib->base.ops->flush(ib);
}

enum inbox_status
inbox_read(struct inbox *ib, struct user *u, uint64_t after, size_t max,
    size_t bytes, struct msg **out, size_t *n, void *tag)
{
	return ib->base.ops->read(ib, u, after, max, bytes, out, n, tag);
}

enum inbox_status
inbox_info(struct inbox *ib, struct user *u, struct inbox_info *out,
    void *tag)
{
	return ib->base.ops->info(ib, u, out, tag);
}

void
inbox_cursor(struct inbox *ib, struct user *u, uint64_t seq)
{
	ib->base.ops->cursor(ib, u, seq);
}

void
inbox_hold(struct inbox *ib, struct user *u, int on)
{
	ib->base.ops->hold(ib, u, on);
}

size_t
inbox_msg_hdr(const struct inbox *ib)
{
	return ib->base.ops->msg_hdr(ib);
}

void
inbox_tick(struct inbox *ib, uint64_t now_ms)
{
	ib->base.ops->tick(ib, now_ms);
}

void
inbox_stats(const struct inbox *ib, struct inbox_stats *st)
{
	ib->base.ops->stats(ib, st);
}

const char *
inbox_status_str(enum inbox_status s)
{
	switch (s) {
	case INBOX_OK:
		return "ok";
	case INBOX_PENDING:
		return "pending";
	case INBOX_FULL:
		return "full";
	case INBOX_UNAVAILABLE:
		return "unavailable";
	case INBOX_CLUSTER:
		return "cluster unavailable";
	case INBOX_NOMEM:
		return "out of memory";
	}
	return "?";
}
