/*
 * Copyright (c) 2026 The chat authors.
 *
 * transport: byte I/O over a connected non-blocking socket, plain TCP or
 * TLS with OpenSSL.  recv/send map EAGAIN to TP_WANT_*, and send uses
 * MSG_NOSIGNAL so a vanished peer never raises SIGPIPE (OpenSSL writes
 * through the same socket, so the programs also ignore SIGPIPE).  For
 * TLS, SSL_ERROR_WANT_READ/WRITE become the same codes and the blocked
 * direction is remembered for tp_events(); the handshake runs inside the
 * first reads and writes, so a slow TLS peer never blocks anyone.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "transport.h"

struct tp_tls {
	SSL_CTX	*ctx;
	int	 server;
	int	 insecure;
};

/* The reason for the last failure (the programs are single-threaded). */
static char	tp_errbuf[TP_ERRLEN];

#define tp_seterr(...)	snprintf(tp_errbuf, sizeof(tp_errbuf), __VA_ARGS__)

/* OpenSSL's reason for the last error on this thread, or "unknown". */
static const char *
tp_ssl_reason(void)
{
	static char	buf[160];
	unsigned long	e = ERR_peek_last_error();

	if (e == 0)
		return errno != 0 ? strerror(errno) : "unknown error";
	ERR_error_string_n(e, buf, sizeof(buf));
	/* "error:0A000086:SSL routines::certificate verify failed" */
	return strrchr(buf, ':') != NULL && strrchr(buf, ':')[1] != '\0' ?
	    strrchr(buf, ':') + 1 : buf;
}

struct tp *
tp_plain_new(int fd)
{
	struct tp	*tp;

	if ((tp = calloc(1, sizeof(*tp))) == NULL) {
		close(fd);
		return NULL;
	}
	tp->fd = fd;
	return tp;
}

/* Can fname be read?  OpenSSL's own message for this is "system lib". */
static int
tp_readable(const char *what, const char *fname)
{
	FILE	*fp;

	if ((fp = fopen(fname, "r")) == NULL) {
		snprintf(tp_errbuf, sizeof(tp_errbuf), "cannot read %s '%s': %s",
		    what, fname, strerror(errno));
		return 0;
	}
	fclose(fp);
	return 1;
}

static SSL_CTX *
tp_ctx_new(const SSL_METHOD *m)
{
	SSL_CTX	*ctx;

	if ((ctx = SSL_CTX_new(m)) == NULL)
		return NULL;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	/*
	 * WebSocket has its own close handshake, so a TCP close without
	 * close_notify is an ordinary end of stream here.
	 */
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_IGNORE_UNEXPECTED_EOF);
	/* ws.c may compact its output buffer between retries. */
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
	return ctx;
}

struct tp_tls *
tp_tls_server(const char *cert, const char *key, char *err)
{
	struct tp_tls	*t = NULL;
	SSL_CTX		*ctx = NULL;

	ERR_clear_error();
	errno = 0;
	if (!tp_readable("certificate", cert) || !tp_readable("key", key))
		goto fail;
	if ((ctx = tp_ctx_new(TLS_server_method())) == NULL) {
		tp_seterr("cannot set up TLS: %s", tp_ssl_reason());
		goto fail;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		tp_seterr("cannot load certificate '%s': %s", cert,
		    tp_ssl_reason());
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		tp_seterr("cannot load key '%s': %s", key, tp_ssl_reason());
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		tp_seterr("key '%s' does not match certificate '%s'", key,
		    cert);
		goto fail;
	}
	if ((t = calloc(1, sizeof(*t))) == NULL) {
		tp_seterr("cannot set up TLS: %s", strerror(ENOMEM));
		goto fail;
	}
	t->ctx = ctx;
	t->server = 1;
	return t;
fail:
	SSL_CTX_free(ctx);
	ERR_clear_error();
	if (err != NULL)
		snprintf(err, TP_ERRLEN, "%s", tp_errbuf);
	return NULL;
}

struct tp_tls *
tp_tls_client(const char *ca_file, int insecure, char *err)
{
	struct tp_tls	*t = NULL;
	SSL_CTX		*ctx = NULL;

	ERR_clear_error();
	errno = 0;
	if (ca_file != NULL && !tp_readable("CA file", ca_file))
		goto fail;
	if ((ctx = tp_ctx_new(TLS_client_method())) == NULL) {
		tp_seterr("cannot set up TLS: %s", tp_ssl_reason());
		goto fail;
	}
	if (ca_file != NULL) {
		if (SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1) {
			tp_seterr("cannot load CA file '%s': %s", ca_file,
			    tp_ssl_reason());
			goto fail;
		}
	} else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
		tp_seterr("cannot load the system trust store: %s",
		    tp_ssl_reason());
		goto fail;
	}
	SSL_CTX_set_verify(ctx, insecure ? SSL_VERIFY_NONE : SSL_VERIFY_PEER,
	    NULL);
	if ((t = calloc(1, sizeof(*t))) == NULL) {
		tp_seterr("cannot set up TLS: %s", strerror(ENOMEM));
		goto fail;
	}
	t->ctx = ctx;
	t->insecure = insecure;
	return t;
fail:
	SSL_CTX_free(ctx);
	ERR_clear_error();
	if (err != NULL)
		snprintf(err, TP_ERRLEN, "%s", tp_errbuf);
	return NULL;
}

void
tp_tls_free(struct tp_tls *t)
{
	if (t == NULL)
		return;
	SSL_CTX_free(t->ctx);
	free(t);
}

struct tp *
tp_tls_new(int fd, struct tp_tls *t, const char *host)
{
	struct tp		*tp;
	SSL			*ssl;
	struct in6_addr		 a6;

	if ((tp = tp_plain_new(fd)) == NULL)
		return NULL;
	if ((ssl = SSL_new(t->ctx)) == NULL || SSL_set_fd(ssl, fd) != 1)
		goto fail;
	if (t->server)
		SSL_set_accept_state(ssl);
	else {
		SSL_set_connect_state(ssl);
		if (host != NULL) {
			int ip = inet_pton(AF_INET, host, &a6) == 1 ||
			    inet_pton(AF_INET6, host, &a6) == 1;

			/* SNI carries names only (RFC 6066 section 3). */
			if (!ip && SSL_set_tlsext_host_name(ssl, host) != 1)
				goto fail;
			X509_VERIFY_PARAM_set_hostflags(SSL_get0_param(ssl),
			    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
			if (!t->insecure && (ip ?
			    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl),
			    host) != 1 : SSL_set1_host(ssl, host) != 1))
				goto fail;
		}
	}
	tp->tls = ssl;
	return tp;
fail:
	SSL_free(ssl);
	tp_free(tp);
	return NULL;
}

int
tp_is_tls(const struct tp *tp)
{
	return tp->tls != NULL;
}

/* Words for a refused certificate, as a person would put them. */
static const char *
tp_verify_text(long v)
{
	switch (v) {
	case X509_V_ERR_CERT_HAS_EXPIRED:
		return "certificate has expired";
	case X509_V_ERR_CERT_NOT_YET_VALID:
		return "certificate is not valid yet";
	case X509_V_ERR_HOSTNAME_MISMATCH:
	case X509_V_ERR_IP_ADDRESS_MISMATCH:
		return "certificate is for another host";
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
		return "certificate issuer is unknown";
	}
	return X509_verify_cert_error_string(v);
}

/* Map an SSL call's result to a tp_status, remembering why. */
static ssize_t
tp_ssl_result(struct tp *tp, int n)
{
	SSL	*ssl = tp->tls;
	long	 v;
	int	 e = SSL_get_error(ssl, n);

	switch (e) {
	case SSL_ERROR_WANT_READ:
		tp->want = POLLIN;
		return TP_WANT_READ;
	case SSL_ERROR_WANT_WRITE:
		tp->want = POLLOUT;
		return TP_WANT_WRITE;
	case SSL_ERROR_ZERO_RETURN:
		return TP_EOF;
	case SSL_ERROR_SYSCALL:
		if (ERR_peek_error() == 0) {
			if (errno == 0 || errno == ECONNRESET ||
			    errno == EPIPE)
				return TP_EOF;
			snprintf(tp_errbuf, sizeof(tp_errbuf), "%s",
			    strerror(errno));
			return TP_ERROR;
		}
		break;
	}
	/* With verification off, a recorded verify error is not the cause. */
	if (!SSL_is_server(ssl) && SSL_get_verify_mode(ssl) != SSL_VERIFY_NONE &&
	    (v = SSL_get_verify_result(ssl)) != X509_V_OK)
		snprintf(tp_errbuf, sizeof(tp_errbuf), "%s",
		    tp_verify_text(v));
	else if (ERR_GET_REASON(ERR_peek_last_error()) == SSL_R_HTTP_REQUEST)
		snprintf(tp_errbuf, sizeof(tp_errbuf),
		    "plain HTTP sent to the TLS port");
	else if (ERR_GET_REASON(ERR_peek_last_error()) ==
	    SSL_R_WRONG_VERSION_NUMBER)
		snprintf(tp_errbuf, sizeof(tp_errbuf),
		    "not TLS (or an unsupported version)");
	else
		snprintf(tp_errbuf, sizeof(tp_errbuf), "TLS: %s",
		    tp_ssl_reason());
	ERR_clear_error();
	errno = EPROTO;
	return TP_ERROR;
}

ssize_t
tp_read(struct tp *tp, void *buf, size_t len)
{
	ssize_t	n;
	int	r;

	if (tp->tls != NULL) {
		ERR_clear_error();
		errno = 0;
		if (len > INT32_MAX)
			len = INT32_MAX;
		if ((r = SSL_read(tp->tls, buf, (int)len)) > 0) {
			tp->want = 0;
			return r;
		}
		return tp_ssl_result(tp, r);
	}
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
		snprintf(tp_errbuf, sizeof(tp_errbuf), "%s", strerror(errno));
		return TP_ERROR;
	}
}

ssize_t
tp_write(struct tp *tp, const void *buf, size_t len)
{
	ssize_t	n;
	int	r;

	if (tp->tls != NULL) {
		ERR_clear_error();
		errno = 0;
		if (len > INT32_MAX)
			len = INT32_MAX;
		if ((r = SSL_write(tp->tls, buf, (int)len)) > 0) {
			tp->want = 0;
			return r;
		}
		return tp_ssl_result(tp, r);
	}
	for (;;) {
		n = send(tp->fd, buf, len, MSG_NOSIGNAL);
		if (n >= 0)
			return n;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return TP_WANT_WRITE;
		snprintf(tp_errbuf, sizeof(tp_errbuf), "%s", strerror(errno));
		return TP_ERROR;
	}
}

const char *
tp_strerror(const struct tp *tp)
{
	return tp_errbuf[0] != '\0' ? tp_errbuf : "unknown error";
}

short
tp_events(const struct tp *tp)
{
	return tp->tls != NULL ? tp->want : 0;
}

int
tp_pending(const struct tp *tp)
{
	return tp->tls != NULL && SSL_pending(tp->tls) > 0;
}

int
tp_fd(const struct tp *tp)
{
	return tp->fd;
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
	if (tp->tls != NULL) {
		/* One attempt at close_notify; the socket is closed anyway. */
		if (SSL_is_init_finished(tp->tls))
			(void)SSL_shutdown(tp->tls);
		SSL_free(tp->tls);
		tp->tls = NULL;
	}
	if (tp->fd != -1)
		close(tp->fd);
	tp->fd = -1;
}

void
tp_free(struct tp *tp)
{
	if (tp == NULL)
		return;
	tp_release(tp);
	free(tp);
}
