/*
 * Copyright (c) 2026 The chat authors.
 *
 * poller-poll: the poll(2) backend of the poller.  A pollfd array kept
 * between waits, one slot per descriptor, and a map from descriptor to
 * slot; removing one moves the last slot into its place, so the array
 * stays dense.  A wait of less than whole milliseconds uses ppoll(2).
 */
#define _GNU_SOURCE	/* ppoll */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <time.h>

#include "poller.h"
#include "vec.h"

struct poller {
	const struct poller_ops	*ops;
	struct pollfd		*pfd;
	void			**ptr;
	size_t			  n, cap, capptr;
	int			 *slot;		/* by descriptor, -1: none */
	size_t			  capslot;
	struct poller_event	 *ready;
	size_t			  capready;
};

static struct poller *
pl_create(void)
{
	return calloc(1, sizeof(struct poller));
}

static void
pl_destroy(struct poller *p)
{
	free(p->pfd);
	free(p->ptr);
	free(p->slot);
	free(p->ready);
	free(p);
}

static int
pl_add(struct poller *p, int fd, short events, void *ptr)
{
	size_t	old = p->capslot, i;

	if (fd < 0) {
		errno = EBADF;
		return -1;
	}
	if (vec_grow(&p->slot, &p->capslot, (size_t)fd + 1,
	    sizeof(*p->slot)) == -1 ||
	    vec_grow(&p->pfd, &p->cap, p->n + 1, sizeof(*p->pfd)) == -1 ||
	    vec_grow(&p->ptr, &p->capptr, p->n + 1, sizeof(*p->ptr)) == -1) {
		errno = ENOMEM;
		return -1;
	}
	for (i = old; i < p->capslot; i++)
		p->slot[i] = -1;
	p->slot[fd] = (int)p->n;
	p->pfd[p->n].fd = fd;
	p->pfd[p->n].events = events;
	p->pfd[p->n].revents = 0;
	p->ptr[p->n] = ptr;
	p->n++;
	return 0;
}

static int
pl_modify(struct poller *p, int fd, short events, void *ptr)
{
	int	i;

	if (fd < 0 || (size_t)fd >= p->capslot || (i = p->slot[fd]) == -1) {
		errno = ENOENT;
		return -1;
	}
	p->pfd[i].events = events;
	p->ptr[i] = ptr;
	return 0;
}

static void
pl_remove(struct poller *p, int fd)
{
	size_t	last;
	int	i;

	if (fd < 0 || (size_t)fd >= p->capslot || (i = p->slot[fd]) == -1)
		return;
	last = p->n - 1;
	if ((size_t)i != last) {
		p->pfd[i] = p->pfd[last];
		p->ptr[i] = p->ptr[last];
		p->slot[p->pfd[i].fd] = i;
	}
	p->slot[fd] = -1;
	p->n--;
}

static int
pl_poll(struct poller *p, long long us)
{
	struct timespec	ts;

	if (us >= 0 && us % 1000 != 0) {
		ts.tv_sec = us / 1000000;
		ts.tv_nsec = (long)(us % 1000000) * 1000;
		return ppoll(p->pfd, p->n, &ts, NULL);
	}
	if (us > 0)
		us /= 1000;
	return poll(p->pfd, p->n, us > INT_MAX ? INT_MAX : (int)us);
}

static int
pl_wait(struct poller *p, long long timeout_us, struct poller_event **evs)
{
	size_t	i, k = 0;
	int	r;

	if ((r = pl_poll(p, timeout_us)) <= 0)
		return r;
	if (vec_grow(&p->ready, &p->capready, (size_t)r,
	    sizeof(*p->ready)) == -1) {
		errno = ENOMEM;
		return -1;
	}
	for (i = 0; i < p->n && k < (size_t)r; i++) {
		if (p->pfd[i].revents == 0)
			continue;
		p->ready[k].ptr = p->ptr[i];
		p->ready[k].revents = p->pfd[i].revents;
		p->pfd[i].revents = 0;
		k++;
	}
	*evs = p->ready;
	return (int)k;
}

const struct poller_ops poller_poll_ops = {
	"poll", pl_create, pl_destroy, pl_add, pl_modify, pl_remove, pl_wait
};
