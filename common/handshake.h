/*
 * Copyright (c) 2026 The chat authors.
 *
 * handshake: the RFC 6455 opening handshake, both sides, as pure
 * functions over byte buffers: parse an HTTP/1.1 Upgrade request or a
 * 101 response, compute Sec-WebSocket-Accept, build requests and
 * responses.  No I/O; buffers are not NUL-terminated; every field has a
 * fixed bound.
 */
#ifndef HANDSHAKE_H
#define HANDSHAKE_H

#include <stddef.h>
#include <stdint.h>

/* The largest request or response head we accept, in bytes. */
#define HS_MAX_HEAD	8192
#define HS_MAX_TARGET	2048
#define HS_MAX_HOST	256
#define HS_MAX_ORIGIN	256
#define HS_MAX_AUTH	1024
#define HS_MAX_EXTENSIONS 512	/* Sec-WebSocket-Extensions, all lines */
#define HS_MAX_ETAG	64	/* If-None-Match */
#define HS_KEY_LEN	24	/* base64 of 16 bytes */
#define HS_ACCEPT_LEN	28	/* base64 of a SHA-1 digest */

enum hs_status {
	HS_OK = 0,
	HS_INCOMPLETE = -1,	/* no end of head yet: read more */
	HS_TOO_LARGE = -2,	/* head or a field exceeds its bound */
	HS_MALFORMED = -3,	/* not HTTP/1.1 syntax */
	HS_BAD_METHOD = -4,	/* request method is not GET */
	HS_NOT_UPGRADE = -5,	/* no Upgrade: websocket / Connection: upgrade */
	HS_BAD_VERSION = -6,	/* Sec-WebSocket-Version is not 13 */
	HS_BAD_KEY = -7,	/* Sec-WebSocket-Key missing or not 16 bytes */
	HS_BAD_STATUS = -8,	/* response status is not 101 */
	HS_BAD_ACCEPT = -9,	/* Sec-WebSocket-Accept does not match */
	HS_SYSTEM = -10,	/* a library call failed */
	HS_UNASKED = -11	/* response picks an extension or subprotocol */
};

struct hs_request {
	size_t	head_len;		/* bytes up to and including CRLFCRLF */
	char	target[HS_MAX_TARGET + 1];	/* path and query, as sent */
	char	host[HS_MAX_HOST + 1];		/* "" if absent */
	char	origin[HS_MAX_ORIGIN + 1];	/* "" if absent */
	char	authorization[HS_MAX_AUTH + 1];	/* "" if absent */
	char	key[HS_KEY_LEN + 1];
	int	version;		/* Sec-WebSocket-Version, -1 if absent */
	/*
	 * Sec-WebSocket-Extensions, repeated lines joined with ", "; ""
	 * if absent or longer than HS_MAX_EXTENSIONS (then no extension
	 * is used, rather than refusing the request).
	 */
	char	extensions[HS_MAX_EXTENSIONS + 1];
	/* If-None-Match, "" if absent or too long for one of our tags. */
	char	if_none_match[HS_MAX_ETAG + 1];
};

struct hs_response {
	size_t	head_len;		/* bytes up to and including CRLFCRLF */
	int	status;			/* HTTP status code */
	char	reason[128];		/* reason phrase, truncated */
	/*
	 * Sec-WebSocket-Extensions as answered, lines joined with ", "
	 * ("" if absent): the caller checks it against its offer.
	 */
	char	extensions[HS_MAX_EXTENSIONS + 1];
};

/*
 * Parse the request head at buf[0..len).  Header names are matched
 * case-insensitively; Connection and Upgrade are comma-separated token
 * lists.  Returns HS_OK with *req filled, HS_INCOMPLETE when the head
 * has not ended within len (< HS_MAX_HEAD) bytes, or another
 * hs_status naming the first problem found.  On errors other than
 * HS_INCOMPLETE and HS_TOO_LARGE, req->head_len and whatever fields were
 * parsed before the problem are still set, so that the caller can log
 * them.  Bytes after the head (a pipelined frame) are not examined.
 */
int	hs_parse_request(const uint8_t *buf, size_t len,
	    struct hs_request *req);

/*
 * Parse a response head and check it accepts the key we sent
 * (key: HS_KEY_LEN chars).  Returns HS_OK, HS_INCOMPLETE, HS_TOO_LARGE,
 * HS_MALFORMED, HS_BAD_STATUS (resp->status and reason say which),
 * HS_NOT_UPGRADE, HS_BAD_ACCEPT, or HS_UNASKED if it names a
 * subprotocol (our clients ask for none; RFC 6455 4.1) or extensions
 * that do not fit resp->extensions.  Extensions are the caller's to
 * check against what it offered.
 */
int	hs_parse_response(const uint8_t *buf, size_t len, const char *key,
	    struct hs_response *resp);

/*
 * Compute Sec-WebSocket-Accept for key (any length) into
 * out[HS_ACCEPT_LEN + 1].  Returns HS_OK or HS_SYSTEM.
 */
int	hs_accept_key(const char *key, char *out);

/* Fill out[HS_KEY_LEN + 1] with a fresh random key.  HS_OK or HS_SYSTEM. */
int	hs_make_key(char *out);

/*
 * Build the 101 response accepting key into buf, with extra header
 * lines (each ending in CRLF; NULL for none).  Returns its length, or
 * -1 if it does not fit in len or the digest failed.
 */
int	hs_build_accept(char *buf, size_t len, const char *key,
	    const char *extra);

/*
 * Build a complete non-101 response: status line, Content-Type
 * text/plain, Content-Length, Connection: close, any extra header
 * lines (each ending in CRLF; NULL for none), then body followed by a
 * newline.  Returns its length or -1 if it does not fit.
 */
int	hs_build_error(char *buf, size_t len, int status,
	    const char *extra_headers, const char *body);

/* The same with another Content-Type (e.g. "application/json"). */
int	hs_build_reply(char *buf, size_t len, int status, const char *ctype,
	    const char *extra_headers, const char *body);

/*
 * Build a GET upgrade request for target (path and query) on host
 * ("name:port" as it belongs in the Host header) with key.  extra is
 * NULL or more header lines, each ending in CRLF.  Returns its length or
 * -1 if it does not fit.
 */
int	hs_build_request(char *buf, size_t len, const char *host,
	    const char *target, const char *key, const char *extra);

/*
 * Copy the value of query parameter name from target (the part after
 * '?', '&'-separated, %XX and '+' decoded) into out[outlen].  Returns
 * the value's length, -1 if absent, -2 if it does not fit or is not
 * validly encoded.
 */
int	hs_query_param(const char *target, const char *name, char *out,
	    size_t outlen);

/* The reason phrase for an HTTP status code ("Bad Request"). */
const char *hs_status_text(int status);

/* A sentence for an hs_status ("request head too large"). */
const char *hs_strerror(int code);

#endif /* HANDSHAKE_H */
