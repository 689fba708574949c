/*
 * Copyright (c) 2026 The chat authors.
 *
 * poller: picking a backend and dispatching to it (see poller.h).
 */
#include <errno.h>
#include <string.h>

#include "poller.h"

/* Every backend's struct poller starts with this. */
struct poller {
	const struct poller_ops	*ops;
};

struct poller *
poller_new(const char *name)
{
	const struct poller_ops	*ops;
	struct poller		*p;

	if (strcmp(name, "epoll") == 0)
		ops = &poller_epoll_ops;
	else if (strcmp(name, "poll") == 0)
		ops = &poller_poll_ops;
	else {
		errno = EINVAL;
		return NULL;
	}
	if ((p = ops->create()) != NULL)
		p->ops = ops;
	return p;
}

void
poller_free(struct poller *p)
{
	if (p != NULL)
		p->ops->destroy(p);
}

const char *
poller_name(const struct poller *p)
{
	return p->ops->name;
}

int
poller_add(struct poller *p, int fd, short events, void *ptr)
{
	return p->ops->add(p, fd, events, ptr);
}

int
poller_modify(struct poller *p, int fd, short events, void *ptr)
{
	return p->ops->modify(p, fd, events, ptr);
}

void
poller_remove(struct poller *p, int fd)
{
	p->ops->remove(p, fd);
}

int
poller_wait(struct poller *p, long long timeout_us,
    struct poller_event **evs)
{
	return p->ops->wait(p, timeout_us, evs);
}
