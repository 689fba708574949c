/*
 * Copyright (c) 2026 The chat authors.
 *
 * poller: waiting for descriptors, behind one interface with two
 * backends in their own files, as redis's ae hides epoll and select:
 * epoll(7) (poller-epoll.c, the default on Linux: a wakeup costs
 * O(ready)) and poll(2) (poller-poll.c, portable, O(descriptors) per
 * wakeup).  A descriptor is registered with the events it wants and an
 * opaque pointer given back when it is ready.  Nothing here knows a
 * connection.
 */
#ifndef POLLER_H
#define POLLER_H

struct poller;

/* One ready descriptor: its pointer and what happened (POLL* bits). */
struct poller_event {
	void	*ptr;
	short	 revents;
};

/* The backend's operations; a poller starts with a pointer to them. */
struct poller_ops {
	const char	*name;
	struct poller	*(*create)(void);
	void		 (*destroy)(struct poller *);
	int		 (*add)(struct poller *, int fd, short events,
			    void *ptr);
	int		 (*modify)(struct poller *, int fd, short events,
			    void *ptr);
	void		 (*remove)(struct poller *, int fd);
	int		 (*wait)(struct poller *, long long timeout_us,
			    struct poller_event **evs);
};

extern const struct poller_ops poller_epoll_ops;
extern const struct poller_ops poller_poll_ops;

/* A poller on the backend named "epoll" or "poll".  NULL: errno. */
struct poller	*poller_new(const char *name);
void	poller_free(struct poller *);
const char *poller_name(const struct poller *);
/* Register fd for events (POLLIN, POLLOUT) with ptr.  0 or -1/errno. */
int	poller_add(struct poller *, int fd, short events, void *ptr);
/* Change what fd waits for.  0 or -1/errno. */
int	poller_modify(struct poller *, int fd, short events, void *ptr);
/* Forget fd (before closing it). */
void	poller_remove(struct poller *, int fd);
/*
 * Wait up to timeout_us microseconds (-1: no limit).  Returns how many
 * are ready, with *evs pointing at them (valid until the next wait), 0
 * on timeout, -1 with errno.
 */
int	poller_wait(struct poller *, long long timeout_us,
	    struct poller_event **evs);

#endif /* POLLER_H */
