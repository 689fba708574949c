/*
 * Copyright (c) 2026 The chat authors.
 *
 * transport: moves bytes over a connected, non-blocking socket.  It owns
 * the file descriptor (and, once TLS lands, the SSL object) and knows
 * nothing about HTTP or WebSocket frames.  Framing code reaches the
 * network only through tp_read() and tp_write().
 */
#ifndef TRANSPORT_H
#define TRANSPORT_H

#include <stddef.h>
#include <sys/types.h>

/* Negative results of tp_read() and tp_write(). */
enum tp_status {
	TP_WANT_READ = -1,	/* retry when the fd is readable */
	TP_WANT_WRITE = -2,	/* retry when the fd is writable */
	TP_EOF = -3,		/* the peer closed its side */
	TP_ERROR = -4		/* failed: see errno */
};

/*
 * The layout is public only so that a connection can hold one inline
 * (an idle connection then costs one allocation less); use it through
 * the functions below.
 */
struct tp {
	int	 fd;
	void	*tls;		/* reserved for the TLS transport */
};

/*
 * Wrap a connected non-blocking socket.  The transport owns fd from now
 * on, also when NULL is returned (out of memory, fd closed).
 */
struct tp	*tp_plain_new(int fd);

/*
 * Move the transport src (from tp_plain_new) into caller-owned storage
 * dst and free src; release dst with tp_release().
 */
void	 tp_move(struct tp *dst, struct tp *src);

/* Close the socket of a transport held inline.  Safe to call twice. */
void	 tp_release(struct tp *);

/*
 * Read up to len bytes into buf.  Returns the count (> 0) or a
 * tp_status.  Never blocks.
 */
ssize_t	 tp_read(struct tp *, void *buf, size_t len);

/*
 * Write up to len bytes from buf.  Returns the count written (> 0, may
 * be short) or a tp_status.  Never blocks; never raises SIGPIPE.
 */
ssize_t	 tp_write(struct tp *, const void *buf, size_t len);

/*
 * Poll events the transport itself needs beyond what the caller wants
 * (a TLS record blocked on the other direction); 0 for plain sockets.
 */
short	 tp_events(const struct tp *);

/* Nonzero if bytes are buffered inside the transport (TLS records). */
int	 tp_pending(const struct tp *);

int	 tp_fd(const struct tp *);

/* Close the socket and free.  NULL is allowed. */
void	 tp_free(struct tp *);

#endif /* TRANSPORT_H */
