/*
 * Copyright (c) 2026 The chat authors.
 *
 * server-loop: the bookkeeping of the poll loop that main.c runs: the
 * pollfd array kept between passes (one slot per client, slot 0 the
 * listener, moved only when a client is reaped), and the touch list of
 * clients to flush, re-arm or reap before the next poll.  Nothing here
 * knows a frame or a user.
 */
#include <stdlib.h>

#include "log.h"
#include "server.h"

/* Grow an array of pointers-sized things to hold n + 1; -1 if no memory. */
static int
grow(void **arr, size_t *cap, size_t n, size_t elem)
{
	size_t	 ncap;
	void	*p;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap + *cap / 2 : 64;
	if ((p = realloc(*arr, ncap * elem)) == NULL)
		return -1;
	*arr = p;
	*cap = ncap;
	return 0;
}

void
server_touch(struct server *s, struct client *c)
{
	if (c->touched)
		return;
	if (grow((void **)&s->touch, &s->captouch, s->ntouch,
	    sizeof(*s->touch)) == -1) {
		/* Without a slot it cannot be re-armed: drop it. */
		log_error("%s #%llu: out of memory", c->addr,
		    (unsigned long long)c->id);
		c->dead = 1;
		return;
	}
	c->touched = 1;
	s->touch[s->ntouch++] = c;
}

/* Room for one more poll slot, in both parallel arrays. */
int
server_grow_slots(struct server *s)
{
	size_t	cap = s->cappfd, mcap = s->cappfd;

	if (grow((void **)&s->pfd, &cap, s->npfd, sizeof(*s->pfd)) ||
	    grow((void **)&s->pmap, &mcap, s->npfd, sizeof(*s->pmap)))
		return -1;
	s->cappfd = cap < mcap ? cap : mcap;
	return 0;
}

int
server_link(struct server *s, struct client *c)
{
	if (server_grow_slots(s) == -1)
		return -1;
	c->pidx = s->npfd++;
	s->pfd[c->pidx].fd = client_fd(c);
	s->pfd[c->pidx].events = POLLIN;
	s->pfd[c->pidx].revents = 0;
	s->pmap[c->pidx] = c;
	c->next = s->clients;
	if (s->clients != NULL)
		s->clients->prev = c;
	s->clients = c;
	s->nclients++;
	return 0;
}

static void
server_unlink(struct server *s, struct client *c)
{
	size_t	last = s->npfd - 1;

	/* Move the last slot into the freed one. */
	if (c->pidx != last) {
		s->pfd[c->pidx] = s->pfd[last];
		s->pmap[c->pidx] = s->pmap[last];
		s->pmap[c->pidx]->pidx = c->pidx;
	}
	s->npfd--;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		s->clients = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	s->nclients--;
}

/*
 * Before sleeping: flush each touched client once (redis's
 * handleClientsWithPendingWrites), re-arm its poll events, and reap it
 * if it died.  Flushing may touch more clients (a drained queue), so
 * the list is walked by index until it stops growing.
 */
void
server_process_touched(struct server *s)
{
	struct client	*c;
	size_t		 i;

	for (i = 0; i < s->ntouch; i++) {
		c = s->touch[i];
		client_flush(c);
	}
	for (i = 0; i < s->ntouch; i++) {
		c = s->touch[i];
		c->touched = 0;
		if (c->dead) {
			server_unlink(s, c);
			client_free(c);
		} else
			s->pfd[c->pidx].events = client_events(c);
	}
	s->ntouch = 0;
}

