/*
 * Copyright (c) 2026 The chat authors.
 *
 * transport: moves bytes over a connected, non-blocking socket, plain or
 * TLS.  It owns the file descriptor and the SSL object and knows nothing
 * about HTTP or WebSocket frames.  Framing code reaches the network only
 * through tp_read() and tp_write().  The only user of <openssl/ssl.h>.
 *
 * TLS runs inside the caller's poll loop: the handshake happens within
 * the first tp_read()/tp_write() calls, an operation blocked on the other
 * direction reports it through tp_events(), and bytes OpenSSL has
 * decrypted but not handed out are reported by tp_pending() (poll cannot
 * see them).
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
	void	*tls;		/* SSL *, NULL for a plain socket */
	int	 fd;
	short	 want;		/* POLLIN/POLLOUT an SSL call is blocked on */
};

/* Inside every struct ws_conn, so inside every connection's budget. */
#define TP_SIZE	16
_Static_assert(sizeof(struct tp) <= TP_SIZE,
    "struct tp grew: see \"Memory per idle connection\" in "
    "bench/README.md before raising TP_SIZE");

/* A TLS configuration (an SSL_CTX), shared by many transports. */
struct tp_tls;

#define TP_ERRLEN	256

/*
 * Wrap a connected non-blocking socket.  The transport owns fd from now
 * on, also when NULL is returned (out of memory, fd closed).
 */
struct tp	*tp_plain_new(int fd);

/*
 * Server side: load a certificate chain (PEM, leaf first) and its key.
 * TLS 1.2 at least, OpenSSL's default ciphers, no compression, no
 * client-initiated renegotiation.  Returns NULL with err[TP_ERRLEN]
 * naming the file and OpenSSL's reason.
 */
struct tp_tls	*tp_tls_server(const char *cert, const char *key, char *err);

/*
 * Client side: verify the server's certificate against the system trust
 * store, or ca_file if not NULL; insecure turns verification off.
 * Returns NULL with err filled.
 */
struct tp_tls	*tp_tls_client(const char *ca_file, int insecure, char *err);

/* Drop a reference; transports made from it keep theirs.  NULL is ok. */
void	 tp_tls_free(struct tp_tls *);

/*
 * Wrap a connected non-blocking socket in TLS, as the server (host NULL)
 * or as the client for host (sent as SNI and checked against the
 * certificate, as a name or an IP address).  Owns fd from now on, also
 * on failure (NULL).
 */
struct tp	*tp_tls_new(int fd, struct tp_tls *, const char *host);

/* Nonzero for a TLS transport. */
int	 tp_is_tls(const struct tp *);

/*
 * Why the last call failed, for a log line or the user: OpenSSL's
 * reason, or for a refused certificate a sentence a person understands
 * ("certificate has expired", "certificate is for another host",
 * "certificate issuer is unknown").  One buffer for all transports
 * (the programs are single-threaded): read it right after the failure.
 */
const char *tp_strerror(const struct tp *);

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
 * Poll events the transport itself needs beyond what the caller wants:
 * the direction an SSL call is blocked on (a read that must write during
 * a handshake, say), 0 for plain sockets.  When that event fires, retry
 * both tp_read() and tp_write().
 */
short	 tp_events(const struct tp *);

/*
 * Nonzero if decrypted bytes wait inside the transport: read again
 * without waiting for poll.
 */
int	 tp_pending(const struct tp *);

int	 tp_fd(const struct tp *);

/* Close the socket and free.  NULL is allowed. */
void	 tp_free(struct tp *);

#endif /* TRANSPORT_H */
