/*
 * Copyright (c) 2026 The chat authors.
 *
 * dial: the client's way to a WebSocket.  It parses the URL, resolves
 * the host, connects a non-blocking socket to each address in turn,
 * then wraps it in a transport (TLS for wss://, whose handshake runs
 * inside the first writes and reads), writes the upgrade request from
 * handshake.c and reads the response head into a fixed buffer of
 * HS_MAX_HEAD bytes.  It owns the socket, then the transport, until
 * dial_finish() hands it to a ws_conn.  It never prints, never exits
 * and never waits, except inside getaddrinfo(); timeouts are the
 * caller's business.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dial.h"
#include "handshake.h"
#include "pmce.h"
#include "transport.h"
#include "util.h"
#include "ws.h"

enum dial_phase {
	DIAL_CONNECTING,	/* waiting for connect() to finish */
	DIAL_SENDING,		/* TLS handshake, writing the request */
	DIAL_READING,		/* reading the response head */
	DIAL_BODY,		/* reading the body of a refusal */
	DIAL_READY		/* 101 received */
};

struct dial {
	enum dial_phase	 phase;
	struct addrinfo	*ai0;		/* the whole getaddrinfo() list */
	struct addrinfo	*ai;		/* the address being tried */
	int		 fd;		/* while connecting, then -1 */
	int		 last_errno;	/* of the last failed address */
	struct tp	*tp;		/* once connected: owns the socket */
	struct tp_tls	*tls;		/* NULL for ws:// */
	char		 host[HS_MAX_HOST + 1];	/* SNI and name check */

	char		 key[HS_KEY_LEN + 1];
	char		 req[HS_MAX_HEAD];
	size_t		 reqlen, reqoff;

	uint8_t		 buf[HS_MAX_HEAD];
	size_t		 len;
	struct hs_response resp;
	char		 body[DIAL_BODYLEN];	/* a refusal's first line */
	int		 offer;		/* permessage-deflate was offered */
	struct pmce_params pmce;	/* what the server agreed to */
};

static void dial_err(char *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static void
dial_err(char *err, const char *fmt, ...)
{
	va_list	ap;

	if (err == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(err, DIAL_ERRLEN, fmt, ap);
	va_end(ap);
}

int
dial_parse_url(const char *url, struct dial_url *u, char *err)
{
	const char	*p, *host, *hend, *port, *path;
	size_t		 hlen, plen;
	long long	 n;
	char		 num[8];

	memset(u, 0, sizeof(*u));
	if (strncmp(url, "ws://", 5) == 0) {
		p = url + 5;
		strcpy(u->port, "80");
	} else if (strncmp(url, "wss://", 6) == 0) {
		p = url + 6;
		u->tls = 1;
		strcpy(u->port, "443");
	} else {
		dial_err(err, "URL must start with ws:// or wss://");
		return -1;
	}

	/* Authority: host, [v6 address] or either with :port. */
	if (*p == '[') {
		host = p + 1;
		if ((hend = strchr(host, ']')) == NULL) {
			dial_err(err, "missing ']' after IPv6 address");
			return -1;
		}
		p = hend + 1;
	} else {
		host = p;
		hend = p + strcspn(p, ":/?#");
		p = hend;
	}
	hlen = (size_t)(hend - host);
	if (hlen == 0) {
		dial_err(err, "missing host name");
		return -1;
	}
	if (hlen > HS_MAX_HOST) {
		dial_err(err, "host name too long");
		return -1;
	}
	if (memchr(host, '@', hlen) != NULL) {
		dial_err(err, "user names in URLs are not supported");
		return -1;
	}
	memcpy(u->host, host, hlen);
	u->host[hlen] = '\0';

	if (*p == ':') {
		port = ++p;
		p += strcspn(p, "/?#");
		plen = (size_t)(p - port);
		if (plen == 0 || plen >= sizeof(num)) {
			dial_err(err, "invalid port");
			return -1;
		}
		memcpy(num, port, plen);
		num[plen] = '\0';
		if (util_parse_ll(num, 1, 65535, &n) == -1) {
			dial_err(err, "invalid port '%s'", num);
			return -1;
		}
		snprintf(u->port, sizeof(u->port), "%lld", n);
	} else if (*p != '\0' && *p != '/' && *p != '?' && *p != '#') {
		dial_err(err, "unexpected '%c' after host", *p);
		return -1;
	}

	/* RFC 6455 section 3: fragments are not allowed in ws URIs. */
	if (strchr(p, '#') != NULL) {
		dial_err(err, "fragments are not allowed in WebSocket URLs");
		return -1;
	}
	path = p;
	if (strlen(path) > HS_MAX_TARGET) {
		dial_err(err, "path too long");
		return -1;
	}
	strcpy(u->path, path);

	if (strchr(u->host, ':') != NULL)
		snprintf(u->hostport, sizeof(u->hostport), "[%s]:%s",
		    u->host, u->port);
	else
		snprintf(u->hostport, sizeof(u->hostport), "%s:%s",
		    u->host, u->port);
	return 0;
}

/*
 * Start a connect() to d->ai and the addresses after it.  Returns 0
 * when one is under way (or done), -1 when every address failed.
 */
static int
dial_try(struct dial *d)
{
	int	fd, one = 1;

	for (; d->ai != NULL; d->ai = d->ai->ai_next) {
		fd = socket(d->ai->ai_family, d->ai->ai_socktype,
		    d->ai->ai_protocol);
		if (fd == -1) {
			d->last_errno = errno;
			continue;
		}
		if (util_set_nonblock(fd) == -1) {
			d->last_errno = errno;
			close(fd);
			continue;
		}
		/* Chat messages are small and interactive. */
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
		if (connect(fd, d->ai->ai_addr, d->ai->ai_addrlen) == 0 ||
		    errno == EINPROGRESS || errno == EINTR) {
			d->fd = fd;
			d->phase = DIAL_CONNECTING;
			return 0;
		}
		d->last_errno = errno;
		close(fd);
	}
	return -1;
}

struct dial *
dial_start(const struct dial_url *u, struct tp_tls *tls, const char *target,
    const char *extra_headers, int flags, char *err)
{
	struct dial	*d;
	struct addrinfo	 hints;
	char		 extra[HS_MAX_HEAD];
	int		 r, n;

	if (u->tls && tls == NULL) {
		dial_err(err, "wss:// needs a TLS configuration");
		return NULL;
	}
	if ((d = calloc(1, sizeof(*d))) == NULL) {
		dial_err(err, "%s", strerror(errno));
		return NULL;
	}
	d->fd = -1;
	d->tls = u->tls ? tls : NULL;
	snprintf(d->host, sizeof(d->host), "%s", u->host);
	if (hs_make_key(d->key) != HS_OK) {
		dial_err(err, "cannot make a handshake key");
		goto fail;
	}
	d->offer = (flags & DIAL_COMPRESS) != 0;
	n = snprintf(extra, sizeof(extra), "%s%s",
	    extra_headers != NULL ? extra_headers : "",
	    d->offer ? pmce_offer() : "");
	if (n >= 0 && (size_t)n < sizeof(extra))
		n = hs_build_request(d->req, sizeof(d->req), u->hostport,
		    target, d->key, extra);
	else
		n = -1;
	explicit_bzero(extra, sizeof(extra));
	if (n < 0) {
		dial_err(err, "request too long");
		goto fail;
	}
	d->reqlen = (size_t)n;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if ((r = getaddrinfo(u->host, u->port, &hints, &d->ai0)) != 0) {
		dial_err(err, "%s", r == EAI_SYSTEM ? strerror(errno) :
		    gai_strerror(r));
		goto fail;
	}
	d->ai = d->ai0;
	if (dial_try(d) == -1) {
		dial_err(err, "%s", strerror(d->last_errno));
		goto fail;
	}
	return d;
fail:
	dial_free(d);
	return NULL;
}

int
dial_fd(const struct dial *d)
{
	return d->tp != NULL ? tp_fd(d->tp) : d->fd;
}

short
dial_events(const struct dial *d)
{
	short	ev;

	/*
	 * A TLS call blocked on the other direction (the request write
	 * waiting for the ServerHello) must not poll for its own: a
	 * writable socket would wake us for nothing, again and again.
	 */
	if (d->tp != NULL && (ev = tp_events(d->tp)) != 0)
		return ev;
	switch (d->phase) {
	case DIAL_CONNECTING:
	case DIAL_SENDING:
		return POLLOUT;
	case DIAL_READING:
	case DIAL_BODY:
		return POLLIN;
	case DIAL_READY:
		break;
	}
	return 0;
}

/* The first line of a refusal's body, if one arrived, for the user. */
static void
dial_refusal(struct dial *d, char *err)
{
	char		*line = d->body;
	const uint8_t	*b = d->buf + d->resp.head_len;
	size_t		 n = d->len - d->resp.head_len, i, j = 0;

	for (i = 0; i < n && b[i] != '\n' && j < DIAL_BODYLEN - 1; i++) {
		if (b[i] == '\r')
			continue;
		/* Only printable ASCII reaches the user's terminal. */
		line[j++] = b[i] >= 0x20 && b[i] < 0x7f ? (char)b[i] : '?';
	}
	line[j] = '\0';
	if (j > 0)
		dial_err(err, "server answered %d %s: %s", d->resp.status,
		    d->resp.reason, line);
	else
		dial_err(err, "server answered %d %s", d->resp.status,
		    d->resp.reason);
}

static int
dial_read_head(struct dial *d, char *err, int *http_status)
{
	char	esc[80];
	ssize_t	n;
	int	r;

	for (;;) {
		if (d->len == sizeof(d->buf)) {
			if (d->phase == DIAL_BODY)
				goto refused;
			dial_err(err, "response head too large");
			return DIAL_FAILED;
		}
		n = tp_read(d->tp, d->buf + d->len, sizeof(d->buf) - d->len);
		if (n == TP_WANT_READ || n == TP_WANT_WRITE)
			return DIAL_AGAIN;
		if (n == TP_ERROR) {
			if (d->phase == DIAL_BODY)
				goto refused;
			dial_err(err, "%s", tp_strerror(d->tp));
			return DIAL_FAILED;
		}
		if (n == TP_EOF) {
			if (d->phase == DIAL_BODY)
				goto refused;
			dial_err(err, "server closed the connection during "
			    "the handshake");
			return DIAL_FAILED;
		}
		d->len += (size_t)n;
		if (d->phase == DIAL_BODY) {
			if (memchr(d->buf + d->resp.head_len, '\n',
			    d->len - d->resp.head_len) != NULL)
				goto refused;
			continue;
		}
		r = hs_parse_response(d->buf, d->len, d->key, &d->resp);
		if (r == HS_INCOMPLETE)
			continue;
		if (http_status != NULL && r != HS_MALFORMED &&
		    r != HS_TOO_LARGE)
			*http_status = d->resp.status;
		if (r == HS_OK && d->resp.extensions[0] != '\0' &&
		    (!d->offer || pmce_check_answer(d->resp.extensions,
		    strlen(d->resp.extensions), &d->pmce) != PMCE_OK)) {
			/* RFC 6455 4.1, RFC 7692 5: fail the connection. */
			dial_err(err, "bad handshake response: %s extension "
			    "'%s'", d->offer ? "invalid" : "unasked-for",
			    util_escape(esc, sizeof(esc), d->resp.extensions,
			    strlen(d->resp.extensions)));
			return DIAL_FAILED;
		}
		if (r == HS_OK) {
			d->phase = DIAL_READY;
			return DIAL_DONE;
		}
		if (r == HS_BAD_STATUS) {
			/* Wait a little for the body: it says why. */
			d->phase = DIAL_BODY;
			if (memchr(d->buf + d->resp.head_len, '\n',
			    d->len - d->resp.head_len) != NULL)
				goto refused;
			continue;
		}
		dial_err(err, "bad handshake response: %s", hs_strerror(r));
		return DIAL_FAILED;
	}
refused:
	dial_refusal(d, err);
	return DIAL_FAILED;
}

int
dial_step(struct dial *d, char *err, int *http_status)
{
	socklen_t	slen;
	ssize_t		n;
	int		soerr;

	if (http_status != NULL)
		*http_status = 0;
	switch (d->phase) {
	case DIAL_CONNECTING:
		soerr = 0;
		slen = sizeof(soerr);
		if (getsockopt(d->fd, SOL_SOCKET, SO_ERROR, &soerr,
		    &slen) == -1)
			soerr = errno;
		if (soerr == EINPROGRESS || soerr == EALREADY)
			return DIAL_AGAIN;
		if (soerr != 0) {
			/* This address failed: go on with the next. */
			d->last_errno = soerr;
			close(d->fd);
			d->fd = -1;
			d->ai = d->ai->ai_next;
			if (dial_try(d) == -1) {
				dial_err(err, "%s", strerror(d->last_errno));
				return DIAL_FAILED;
			}
			return DIAL_AGAIN;
		}
		/* The transport owns the socket from here, also on failure. */
		d->tp = d->tls != NULL ? tp_tls_new(d->fd, d->tls, d->host) :
		    tp_plain_new(d->fd);
		d->fd = -1;
		if (d->tp == NULL) {
			dial_err(err, "cannot set up %s", d->tls != NULL ?
			    "TLS" : "the connection");
			return DIAL_FAILED;
		}
		d->phase = DIAL_SENDING;
		/* FALLTHROUGH */
	case DIAL_SENDING:
		while (d->reqoff < d->reqlen) {
			n = tp_write(d->tp, d->req + d->reqoff,
			    d->reqlen - d->reqoff);
			if (n == TP_WANT_READ || n == TP_WANT_WRITE)
				return DIAL_AGAIN;
			if (n == TP_EOF) {
				dial_err(err, "server closed the connection "
				    "during the %s handshake", d->tls != NULL ?
				    "TLS" : "WebSocket");
				return DIAL_FAILED;
			}
			if (n < 0) {
				dial_err(err, "%s", tp_strerror(d->tp));
				return DIAL_FAILED;
			}
			d->reqoff += (size_t)n;
		}
		d->phase = DIAL_READING;
		/* FALLTHROUGH */
	case DIAL_READING:
	case DIAL_BODY:
		return dial_read_head(d, err, http_status);
	case DIAL_READY:
		return DIAL_DONE;
	}
	return DIAL_FAILED;
}

struct ws_conn *
dial_finish(struct dial *d, const struct ws_config *cfg,
    const struct ws_callbacks *cb, void *arg, struct ws_conn **slot,
    char *err)
{
	struct ws_conn	*c;
	int		 r;

	if (d->phase != DIAL_READY) {
		dial_err(err, "handshake not finished");
		dial_free(d);
		return NULL;
	}
	/* The ws_conn owns the transport from here, also on failure. */
	c = ws_conn_new(cfg, d->tp, cb, arg);
	d->tp = NULL;
	if (c == NULL) {
		dial_err(err, "out of memory");
		dial_free(d);
		return NULL;
	}
	ws_conn_set_deflate(c, &d->pmce);
	if (slot != NULL)
		*slot = c;
	if (d->len > d->resp.head_len &&
	    (r = ws_conn_feed(c, d->buf + d->resp.head_len,
	    d->len - d->resp.head_len)) != 0) {
		dial_err(err, "%s", ws_strerror(r));
		ws_conn_free(c);
		if (slot != NULL)
			*slot = NULL;
		dial_free(d);
		return NULL;
	}
	dial_free(d);
	return c;
}

int
dial_compressed(const struct dial *d)
{
	return d->pmce.on;
}

const char *
dial_body(const struct dial *d)
{
	return d->body;
}

void
dial_free(struct dial *d)
{
	if (d == NULL)
		return;
	if (d->fd != -1)
		close(d->fd);
	tp_free(d->tp);
	if (d->ai0 != NULL)
		freeaddrinfo(d->ai0);
	/* The request may carry a bearer token. */
	explicit_bzero(d->req, sizeof(d->req));
	free(d);
}
