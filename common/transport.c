/*
 * Copyright (c) 2026 The chat authors.
 *
 * transport: byte I/O over a connected non-blocking socket.  Plain TCP
 * for now; TLS plugs in here later without the framing code noticing.
 * recv/send map EAGAIN to TP_WANT_*, and send uses MSG_NOSIGNAL so a
 * vanished peer never raises SIGPIPE.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "transport.h"

struct tp *
tp_plain_new(int fd)
{
	struct tp	*tp;

	if ((tp = malloc(sizeof(*tp))) == NULL) {
		close(fd);
		return NULL;
	}
	tp->fd = fd;
	tp->tls = NULL;
	return tp;
}

void
tp_move(struct tp *dst, struct tp *src)
{
	*dst = *src;
	free(src);
}

void
tp_release(struct tp *tp)
{
	if (tp->fd != -1)
		close(tp->fd);
	tp->fd = -1;
}

ssize_t
tp_read(struct tp *tp, void *buf, size_t len)
{
	ssize_t	n;

	for (;;) {
		n = recv(tp->fd, buf, len, 0);
		if (n > 0)
			return n;
		if (n == 0)
			return TP_EOF;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return TP_WANT_READ;
		return TP_ERROR;
	}
}

ssize_t
tp_write(struct tp *tp, const void *buf, size_t len)
{
	ssize_t	n;

	for (;;) {
		n = send(tp->fd, buf, len, MSG_NOSIGNAL);
		if (n >= 0)
			return n;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return TP_WANT_WRITE;
		return TP_ERROR;
	}
}

short
tp_events(const struct tp *tp)
{
	return 0;
}

int
tp_pending(const struct tp *tp)
{
	return 0;
}

int
tp_fd(const struct tp *tp)
{
	return tp->fd;
}

void
tp_free(struct tp *tp)
{
	if (tp == NULL)
		return;
	tp_release(tp);
	free(tp);
}
