/*
 * Copyright (c) 2026 The chat authors.
 *
 * server-loop: the waiting part of the loop that main.c runs: the
 * poller (poller.h, epoll or poll) with the listeners and the wake-up
 * descriptor, and what one wait found.  Connections register themselves
 * (server-client.c); nothing here knows a connection, a frame or a user.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "poller.h"
#include "server.h"
#include "vec.h"

/*
 * Listeners are told apart from clients by their poller pointer: the
 * listener's index plus one, never a valid client pointer.  The wake-up
 * descriptor (s->wakefd) is tagged as listener nlst.
 */
#define LISTENER_TAG(i)	((void *)(uintptr_t)((i) + 1))
#define IS_LISTENER(p)	((uintptr_t)(p) <= SERVER_MAX_LISTENERS + 1)

int
server_loop_init(struct server *s, const char *poller)
{
	int	i;

	s->lev = POLLIN;
	if ((s->poller = poller_new(poller)) == NULL)
		return -1;
	for (i = 0; i < s->nlst; i++)
		if (poller_add(s->poller, s->lst[i].fd, POLLIN,
		    LISTENER_TAG(i)) == -1)
			return -1;
	if (s->wakefd != -1 && poller_add(s->poller, s->wakefd, POLLIN,
	    LISTENER_TAG(s->nlst)) == -1)
		return -1;
	return 0;
}

void
server_loop_release(struct server *s)
{
	poller_free(s->poller);
	s->poller = NULL;
	free(s->touch);
	free(s->ready);
}

void
server_listen_events(struct server *s, short events)
{
	int	i;

	if (events == s->lev)
		return;
	s->lev = events;
	for (i = 0; i < s->nlst; i++)
		if (s->lst[i].fd != -1)
			(void)poller_modify(s->poller, s->lst[i].fd, events,
			    LISTENER_TAG(i));
}

void
server_close_listeners(struct server *s)
{
	int	i;

	for (i = 0; i < s->nlst; i++) {
		if (s->lst[i].fd != -1) {
			poller_remove(s->poller, s->lst[i].fd);
			close(s->lst[i].fd);
		}
		s->lst[i].fd = -1;
	}
}

int
server_wait(struct server *s, long long timeout_us)
{
	struct poller_event	*evs;
	int			 n, i;

	if ((n = poller_wait(s->poller, timeout_us, &evs)) <= 0)
		return n;
	if (vec_grow(&s->ready, &s->capready, (size_t)n,
	    sizeof(*s->ready)) == -1) {
		errno = ENOMEM;
		return -1;
	}
	for (i = 0; i < n; i++) {
		void	*p = evs[i].ptr;

		s->ready[i].c = IS_LISTENER(p) ? NULL : p;
		s->ready[i].lidx = IS_LISTENER(p) ? (int)(uintptr_t)p - 1 : -1;
		s->ready[i].revents = evs[i].revents;
	}
	return n;
}
