/*
 * Copyright (c) 2026 The chat authors.
 *
 * server-loop: the bookkeeping of the loop that main.c runs: the poller
 * (poller.h, epoll or poll) with the listeners, the wake-up descriptor
 * and every client registered, and the touch list: clients to flush,
 * re-arm or reap before the next wait.  Nothing here knows a frame or a
 * user.
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

void
server_touch(struct server *s, struct client *c)
{
	if (c->touched)
		return;
	if (vec_grow(&s->touch, &s->captouch, s->ntouch + 1,
	    sizeof(*s->touch)) == -1) {
		/* Without a place on the list it cannot be re-armed. */
		log_error("%s #%llu: out of memory", client_addr(c),
		    (unsigned long long)c->id);
		c->dead = 1;
		return;
	}
	c->touched = 1;
	s->touch[s->ntouch++] = c;
}

int
server_link(struct server *s, struct client *c)
{
	c->armed = POLLIN;
	if (poller_add(s->poller, client_fd(c), POLLIN, c) == -1)
		return -1;
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
	poller_remove(s->poller, client_fd(c));
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		s->clients = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	s->nclients--;
}

/* Register the events c wants now, with a syscall only on change. */
static void
server_arm(struct server *s, struct client *c)
{
	short	ev = client_events(c);

	if (ev == c->armed)
		return;
	c->armed = ev;
	if (poller_modify(s->poller, client_fd(c), ev, c) == -1) {
		log_warn("%s #%llu: cannot poll: %s", client_addr(c),
		    (unsigned long long)c->id, strerror(errno));
		client_drop(c, "cannot poll");
	}
}

/*
 * Before sleeping: flush each touched client once (redis's
 * handleClientsWithPendingWrites), re-arm its events, and reap it if it
 * died.  Flushing may touch more clients (a drained queue), so the list
 * is walked by index until it stops growing.
 */
void
server_process_touched(struct server *s)
{
	struct client	*c;
	size_t		 i;

	/*
	 * Leaving the router can tell watchers (and cut them off, which
	 * touches them): that happens here, between passes, and the walk
	 * by index takes the newly touched ones too.
	 */
	for (i = 0; i < s->ntouch; i++) {
		client_detach_pending(s->touch[i]);
		client_flush(s->touch[i]);
	}
	for (i = 0; i < s->ntouch; i++) {
		c = s->touch[i];
		c->touched = 0;
		if (!c->dead)
			server_arm(s, c);
		if (c->dead) {
			server_unlink(s, c);
			client_free(c);
		}
	}
	s->ntouch = 0;
	router_reap(s->router);
}

int
server_wait(struct server *s, int timeout)
{
	struct poller_event	*evs;
	int			 n, i;

	if ((n = poller_wait(s->poller, timeout, &evs)) <= 0)
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
