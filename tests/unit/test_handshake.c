/*
 * Copyright (c) 2026 The chat authors.
 *
 * test_handshake: unit tests for common/handshake.c.  Requests and
 * responses are fed whole, one byte at a time and in random splits,
 * since a server sees them in whatever pieces read(2) returns; the
 * rest checks each refusal, each bound and the builders.
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handshake.h"
#include "tap.h"

#define RFC_KEY		"dGhlIHNhbXBsZSBub25jZQ=="
/* RFC 6455 sections 1.2 and 1.3 (checked against Python's hashlib). */
#define RFC_ACCEPT	"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

/* The client handshake of RFC 6455 section 1.3. */
static const char rfc_request[] =
    "GET /chat HTTP/1.1\r\n"
    "Host: server.example.com\r\n"
    "Upgrade: websocket\r\n"
    "Connection: Upgrade\r\n"
    "Sec-WebSocket-Key: " RFC_KEY "\r\n"
    "Origin: http://example.com\r\n"
    "Sec-WebSocket-Protocol: chat, superchat\r\n"
    "Sec-WebSocket-Version: 13\r\n"
    "\r\n";

static char	big[4 * HS_MAX_HEAD];

static int
parse(const char *s, struct hs_request *req)
{
	return (hs_parse_request((const uint8_t *)s, strlen(s), req));
}

/* A request line followed by the given header lines. */
static const char *
request(const char *line, const char *headers)
{
	snprintf(big, sizeof(big), "%s\r\n%s\r\n", line, headers);
	return (big);
}

#define GOOD_HEADERS							\
	"Host: h\r\n"							\
	"Upgrade: websocket\r\n"					\
	"Connection: Upgrade\r\n"					\
	"Sec-WebSocket-Key: " RFC_KEY "\r\n"				\
	"Sec-WebSocket-Version: 13\r\n"

static int
parse_headers(const char *headers)
{
	struct hs_request	req;

	return (parse(request("GET / HTTP/1.1", headers), &req));
}

/* Deterministic pseudo-random numbers, so a failure can be replayed. */
static unsigned long	rng_state = 6455;

static size_t
rng(size_t n)
{
	rng_state = rng_state * 6364136223846793005UL + 1442695040888963407UL;
	return ((size_t)(rng_state >> 33) % n);
}

static void
test_accept_key(void)
{
	char	out[HS_ACCEPT_LEN + 1];

	CHECK_INT(hs_accept_key(RFC_KEY, out), HS_OK);
	CHECK_STR(out, RFC_ACCEPT);
	CHECK_INT(hs_accept_key("", out), HS_OK);
	CHECK_INT(strlen(out), HS_ACCEPT_LEN);
	CHECK_INT(hs_accept_key(NULL, out), HS_SYSTEM);
}

static void
test_make_key(void)
{
	char			a[HS_KEY_LEN + 1], b[HS_KEY_LEN + 1];
	char			buf[1024];
	struct hs_request	req;

	CHECK_INT(hs_make_key(a), HS_OK);
	CHECK_INT(hs_make_key(b), HS_OK);
	CHECK_INT(strlen(a), HS_KEY_LEN);
	CHECK(strcmp(a, b) != 0);
	CHECK(hs_build_request(buf, sizeof(buf), "h", "/", a, NULL) > 0);
	CHECK_INT(parse(buf, &req), HS_OK);
	CHECK_STR(req.key, a);
}

static void
test_rfc_request(void)
{
	struct hs_request	req;

	CHECK_INT(parse(rfc_request, &req), HS_OK);
	CHECK_INT(req.head_len, strlen(rfc_request));
	CHECK_STR(req.target, "/chat");
	CHECK_STR(req.host, "server.example.com");
	CHECK_STR(req.origin, "http://example.com");
	CHECK_STR(req.authorization, "");
	CHECK_STR(req.key, RFC_KEY);
	CHECK_INT(req.version, 13);
}

static void
test_case_and_tokens(void)
{
	struct hs_request	req;

	CHECK_INT(parse(request("GET /a?b=c HTTP/1.1",
	    "hOsT:   h:8000  \r\n"
	    "UPGRADE: WebSocket\r\n"
	    "connection: keep-alive, Upgrade\r\n"
	    "sec-websocket-key:" RFC_KEY "\r\n"
	    "SEC-WEBSOCKET-VERSION:\t13\t\r\n"
	    "authorization: Bearer x y\r\n"
	    "ORIGIN: null\r\n"), &req), HS_OK);
	CHECK_STR(req.target, "/a?b=c");
	CHECK_STR(req.host, "h:8000");
	CHECK_STR(req.key, RFC_KEY);
	CHECK_STR(req.authorization, "Bearer x y");
	CHECK_STR(req.origin, "null");
	CHECK_INT(req.version, 13);

	CHECK_INT(parse_headers("Host: h\r\n"
	    "Upgrade: h2c, websocket\r\n"
	    "Connection: ,keep-alive ,\t upgrade\t,\r\n"
	    "Sec-WebSocket-Key: " RFC_KEY "\r\n"
	    "Sec-WebSocket-Version: 13\r\n"), HS_OK);
	/* Repeated list fields combine (RFC 9110 section 5.3). */
	CHECK_INT(parse_headers("Host: h\r\n"
	    "Upgrade: websocket\r\n"
	    "Connection: keep-alive\r\n"
	    "Connection: Upgrade\r\n"
	    "Sec-WebSocket-Key: " RFC_KEY "\r\n"
	    "Sec-WebSocket-Version: 13\r\n"), HS_OK);
	/* Tokens match whole, not as prefixes or substrings. */
	CHECK_INT(parse_headers("Host: h\r\n"
	    "Upgrade: websocket\r\n"
	    "Connection: keep-alive\r\n"
	    "Sec-WebSocket-Key: " RFC_KEY "\r\n"
	    "Sec-WebSocket-Version: 13\r\n"), HS_NOT_UPGRADE);
	CHECK_INT(parse_headers("Host: h\r\n"
	    "Upgrade: websocket\r\n"
	    "Connection: upgrade-insecure-requests\r\n"
	    "Sec-WebSocket-Key: " RFC_KEY "\r\n"
	    "Sec-WebSocket-Version: 13\r\n"), HS_NOT_UPGRADE);
	CHECK_INT(parse_headers("Host: h\r\n"
	    "Upgrade: websockets\r\n"
	    "Connection: upgrade\r\n"
	    "Sec-WebSocket-Key: " RFC_KEY "\r\n"
	    "Sec-WebSocket-Version: 13\r\n"), HS_NOT_UPGRADE);
	CHECK_INT(parse_headers("Host: h\r\n"
	    "Connection: upgrade\r\n"
	    "Sec-WebSocket-Key: " RFC_KEY "\r\n"
	    "Sec-WebSocket-Version: 13\r\n"), HS_NOT_UPGRADE);
	CHECK_INT(parse_headers("Host: h\r\n"
	    "Upgrade: websocket\r\n"
	    "Upgrade-Connection: upgrade\r\n"
	    "Sec-WebSocket-Key: " RFC_KEY "\r\n"
	    "Sec-WebSocket-Version: 13\r\n"), HS_NOT_UPGRADE);
}

/* Feed rfc_request plus trailing bytes in pieces; check each answer. */
static void
feed(const char *what, size_t step_max)
{
	char			 buf[sizeof(rfc_request) + 16];
	struct hs_request	 req;
	size_t			 head = strlen(rfc_request), total, have, step;
	int			 rc, bad = 0;

	memcpy(buf, rfc_request, head);
	memcpy(buf + head, "\x81\x85\x37\xfa\x21\x3d", 6);
	total = head + 6;
	for (have = 0; have < total; have += step) {
		step = step_max == 1 ? 1 : 1 + rng(step_max);
		if (step > total - have)
			step = total - have;
		rc = hs_parse_request((const uint8_t *)buf, have + step, &req);
		if (have + step < head && rc != HS_INCOMPLETE) {
			fprintf(stderr, "%s: %zu bytes: %s\n", what,
			    have + step, hs_strerror(rc));
			bad++;
		}
		if (have + step >= head &&
		    (rc != HS_OK || req.head_len != head)) {
			fprintf(stderr, "%s: %zu bytes: %s\n", what,
			    have + step, hs_strerror(rc));
			bad++;
		}
	}
	CHECK_INT(bad, 0);
}

static void
test_splits(void)
{
	struct hs_request	req;
	int			i;

	feed("whole", sizeof(big));
	feed("bytewise", 1);
	for (i = 0; i < 200; i++)
		feed("random", 1 + rng(64));
	CHECK_INT(hs_parse_request(NULL, 0, &req), HS_INCOMPLETE);
	CHECK_INT(req.version, -1);
}

static void
test_pipelined(void)
{
	struct hs_request	req;
	size_t			head = strlen(rfc_request);

	snprintf(big, sizeof(big), "%s%s", rfc_request,
	    "GET /x HTTP/1.1\r\n\r\n");
	CHECK_INT(hs_parse_request((const uint8_t *)big, strlen(big), &req),
	    HS_OK);
	CHECK_INT(req.head_len, head);
	/* Trailing garbage, even NULs and bare LFs, is not looked at. */
	memcpy(big, rfc_request, head);
	memcpy(big + head, "\0\n\r\xff", 4);
	CHECK_INT(hs_parse_request((const uint8_t *)big, head + 4, &req),
	    HS_OK);
	CHECK_INT(req.head_len, head);
}

static void
test_head_limit(void)
{
	struct hs_request	 req;
	const char		*line = "GET / HTTP/1.1\r\n" GOOD_HEADERS;
	size_t			 n = strlen(line), pad;

	/* No end of head: incomplete below the limit, too large at it. */
	memset(big, 'a', sizeof(big));
	memcpy(big, line, n);
	memcpy(big + n, "X-Pad: ", 7);
	CHECK_INT(hs_parse_request((const uint8_t *)big, HS_MAX_HEAD - 1,
	    &req), HS_INCOMPLETE);
	CHECK_INT(hs_parse_request((const uint8_t *)big, HS_MAX_HEAD, &req),
	    HS_TOO_LARGE);
	CHECK_INT(hs_parse_request((const uint8_t *)big, sizeof(big), &req),
	    HS_TOO_LARGE);

	/* A head of exactly HS_MAX_HEAD bytes passes; one more does not. */
	pad = HS_MAX_HEAD - n - 7 - 4;
	memcpy(big + n + 7 + pad, "\r\n\r\n", 4);
	CHECK_INT(hs_parse_request((const uint8_t *)big, HS_MAX_HEAD, &req),
	    HS_OK);
	CHECK_INT(req.head_len, HS_MAX_HEAD);
	memset(big, 'a', sizeof(big));
	memcpy(big, line, n);
	memcpy(big + n, "X-Pad: ", 7);
	memcpy(big + n + 7 + pad + 1, "\r\n\r\n", 4);
	CHECK_INT(hs_parse_request((const uint8_t *)big, HS_MAX_HEAD + 1,
	    &req), HS_TOO_LARGE);
	CHECK_INT(hs_parse_request((const uint8_t *)big, HS_MAX_HEAD - 1,
	    &req), HS_INCOMPLETE);
}

/*
 * A request whose target (name NULL) or whose field name holds n
 * characters, the rest being GOOD_HEADERS.
 */
static int
parse_long(const char *name, size_t n)
{
	static char		 field[HS_MAX_HEAD / 2];
	char			 line[HS_MAX_HEAD], hdr[HS_MAX_HEAD];
	struct hs_request	 req;

	memset(field, 'x', n);
	field[n] = '\0';
	if (name == NULL) {
		snprintf(line, sizeof(line), "GET /%s HTTP/1.1", field + 1);
		snprintf(hdr, sizeof(hdr), "%s", GOOD_HEADERS);
	} else {
		snprintf(line, sizeof(line), "GET / HTTP/1.1");
		/* Skip GOOD_HEADERS' own "Host: h\r\n" when replacing it. */
		snprintf(hdr, sizeof(hdr), "%s%s: %s\r\n",
		    strcmp(name, "Host") == 0 ? GOOD_HEADERS + 9 :
		    GOOD_HEADERS, name, field);
	}
	return (parse(request(line, hdr), &req));
}

static void
test_field_limits(void)
{
	CHECK_INT(parse_long(NULL, HS_MAX_TARGET), HS_OK);
	CHECK_INT(parse_long(NULL, HS_MAX_TARGET + 1), HS_TOO_LARGE);
	CHECK_INT(parse_long("Host", HS_MAX_HOST), HS_OK);
	CHECK_INT(parse_long("Host", HS_MAX_HOST + 1),
	    HS_TOO_LARGE);
	CHECK_INT(parse_long("Origin", HS_MAX_ORIGIN),
	    HS_OK);
	CHECK_INT(parse_long("Origin", HS_MAX_ORIGIN + 1),
	    HS_TOO_LARGE);
	CHECK_INT(parse_long("Authorization", HS_MAX_AUTH),
	    HS_OK);
	CHECK_INT(parse_long("Authorization",
	    HS_MAX_AUTH + 1), HS_TOO_LARGE);
	/* Unknown fields are bounded only by the head. */
	CHECK_INT(parse_long("X-Long", 4000), HS_OK);
}

static void
test_key(void)
{
	struct hs_request	req;

	CHECK_INT(parse(request("GET / HTTP/1.1", "Host: h\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Version: 13\r\n"), &req), HS_BAD_KEY);
	CHECK_STR(req.key, "");
	CHECK_INT(parse_headers(GOOD_HEADERS
	    "Sec-WebSocket-Key: " RFC_KEY "\r\n"), HS_BAD_KEY);
	CHECK_INT(parse_headers("Host: h\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Version: 13\r\n"
	    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=\r\n"), HS_BAD_KEY);
	CHECK_INT(parse_headers("Host: h\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Version: 13\r\n"
	    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ===\r\n"), HS_BAD_KEY);
	CHECK_INT(parse_headers("Host: h\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Version: 13\r\n"
	    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ-=\r\n"), HS_BAD_KEY);
	CHECK_INT(parse_headers("Host: h\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Version: 13\r\n"
	    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub2!jZQ==\r\n"), HS_BAD_KEY);
	/* 24 characters, but base64 of 17 bytes. */
	CHECK_INT(parse_headers("Host: h\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Version: 13\r\n"
	    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQA=\r\n"), HS_BAD_KEY);
	/* Base64 of a 20-byte digest: the right alphabet, too long. */
	CHECK_INT(parse_headers("Host: h\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Version: 13\r\n"
	    "Sec-WebSocket-Key: " RFC_ACCEPT "\r\n"), HS_BAD_KEY);
	CHECK_INT(parse_headers("Host: h\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Version: 13\r\n"
	    "Sec-WebSocket-Key:\r\n"), HS_BAD_KEY);
}

static void
test_version(void)
{
	struct hs_request	req;

	CHECK_INT(parse(request("GET /v HTTP/1.1", "Host: h\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Key: " RFC_KEY "\r\n"), &req), HS_BAD_VERSION);
	CHECK_INT(req.version, -1);
	/* Fields parsed before the problem are kept for the log. */
	CHECK_STR(req.target, "/v");
	CHECK_STR(req.host, "h");
	CHECK(req.head_len > 0);

	CHECK_INT(parse(request("GET / HTTP/1.1", "Host: h\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Key: " RFC_KEY "\r\n"
	    "Sec-WebSocket-Version: 8\r\n"), &req), HS_BAD_VERSION);
	CHECK_INT(req.version, 8);
	CHECK_INT(parse(request("GET / HTTP/1.1", "Host: h\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Key: " RFC_KEY "\r\n"
	    "Sec-WebSocket-Version: 13x\r\n"), &req), HS_BAD_VERSION);
	CHECK_INT(parse_headers("Host: h\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Key: " RFC_KEY "\r\n"
	    "Sec-WebSocket-Version: 013\r\n"), HS_BAD_VERSION);
	CHECK_INT(parse_headers("Host: h\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Key: " RFC_KEY "\r\n"
	    "Sec-WebSocket-Version: 99999999999999999999\r\n"),
	    HS_BAD_VERSION);
	CHECK_INT(parse_headers("Host: h\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Key: " RFC_KEY "\r\n"
	    "Sec-WebSocket-Version: 13\r\n"
	    "Sec-WebSocket-Version: 8\r\n"), HS_BAD_VERSION);
}

static void
test_malformed(void)
{
	struct hs_request	req;

	CHECK_INT(parse(request("POST / HTTP/1.1", GOOD_HEADERS), &req),
	    HS_BAD_METHOD);
	CHECK_INT(parse(request("get / HTTP/1.1", GOOD_HEADERS), &req),
	    HS_BAD_METHOD);
	CHECK_INT(parse(request("GET / HTTP/1.0", GOOD_HEADERS), &req),
	    HS_MALFORMED);
	CHECK_INT(parse(request("GET / http/1.1", GOOD_HEADERS), &req),
	    HS_MALFORMED);
	CHECK_INT(parse(request("GET /", GOOD_HEADERS), &req),
	    HS_MALFORMED);
	CHECK_INT(parse(request("GET  / HTTP/1.1", GOOD_HEADERS), &req),
	    HS_MALFORMED);
	CHECK_INT(parse(request("GET / HTTP/1.1 ", GOOD_HEADERS), &req),
	    HS_MALFORMED);
	CHECK_INT(parse(request("GET chat HTTP/1.1", GOOD_HEADERS), &req),
	    HS_MALFORMED);
	CHECK_INT(parse(request("GET /a\x7f HTTP/1.1", GOOD_HEADERS), &req),
	    HS_MALFORMED);
	CHECK_INT(parse(request("\x16\x03\x01", GOOD_HEADERS), &req),
	    HS_MALFORMED);
	CHECK_INT(parse("\r\n\r\n", &req), HS_MALFORMED);
	CHECK_INT(parse("hello\r\n\r\n", &req), HS_MALFORMED);

	/* Line endings: CRLF only. */
	CHECK_INT(parse("GET / HTTP/1.1\nHost: h\r\n\r\n", &req),
	    HS_MALFORMED);
	CHECK_INT(parse("GET / HTTP/1.1\r\nHost: h\r\r\n\r\n", &req),
	    HS_MALFORMED);
	/*
	 * Issue 14.9: a head in bare LFs is refused at once (it used to
	 * wait for a CRLFCRLF until the handshake timeout), also when only
	 * its start has come; a CR at the end may still be followed by LF.
	 */
	CHECK_INT(parse("GET / HTTP/1.1\nHost: h\n\n", &req),
	    HS_MALFORMED);
	CHECK_INT(parse("GET / HTTP/1.1\n", &req), HS_MALFORMED);
	CHECK_INT(parse("\n", &req), HS_MALFORMED);
	CHECK_INT(parse("GET / HTTP/1.1\r", &req), HS_INCOMPLETE);
	CHECK_INT(parse("GET / HTTP/1.1\rX", &req), HS_MALFORMED);
	CHECK_INT(parse("GET / HTTP/1.1\r\nHost: h\r\n", &req),
	    HS_INCOMPLETE);

	/* NUL and other controls; obs-text passes. */
	CHECK_INT(hs_parse_request((const uint8_t *)
	    "GET / HTTP/1.1\r\nHost: h\0x\r\n\r\n", 29, &req), HS_MALFORMED);
	CHECK_INT(parse_headers(GOOD_HEADERS "X-A: a\x01" "b\r\n"),
	    HS_MALFORMED);
	CHECK_INT(parse_headers(GOOD_HEADERS "X-A: a\x1b[2J\r\n"),
	    HS_MALFORMED);
	CHECK_INT(parse_headers(GOOD_HEADERS "X-A: \x7f\r\n"), HS_MALFORMED);
	CHECK_INT(parse_headers(GOOD_HEADERS "X-A: caf\xc3\xa9\r\n"), HS_OK);

	/* Field syntax. */
	CHECK_INT(parse_headers(GOOD_HEADERS "X-A : b\r\n"), HS_MALFORMED);
	CHECK_INT(parse_headers(GOOD_HEADERS "X-A b\r\n"), HS_MALFORMED);
	CHECK_INT(parse_headers(GOOD_HEADERS ": b\r\n"), HS_MALFORMED);
	CHECK_INT(parse_headers(GOOD_HEADERS "X-A: b\r\n c\r\n"),
	    HS_MALFORMED);
	CHECK_INT(parse_headers(GOOD_HEADERS "X(A): b\r\n"), HS_MALFORMED);
	CHECK_INT(parse_headers(GOOD_HEADERS "X-A:\r\n"), HS_OK);

	/* Host: required, once. */
	CHECK_INT(parse_headers("Upgrade: websocket\r\n"
	    "Connection: Upgrade\r\n"
	    "Sec-WebSocket-Key: " RFC_KEY "\r\n"
	    "Sec-WebSocket-Version: 13\r\n"), HS_MALFORMED);
	CHECK_INT(parse_headers(GOOD_HEADERS "Host: evil\r\n"),
	    HS_MALFORMED);
	CHECK_INT(parse_headers(GOOD_HEADERS "Authorization: a\r\n"
	    "Authorization: b\r\n"), HS_MALFORMED);
}

static void
test_order(void)
{
	struct hs_request	req;

	/* Syntax before method, method before upgrade, and so on. */
	CHECK_INT(parse(request("POST / HTTP/1.0", ""), &req), HS_MALFORMED);
	CHECK_INT(parse(request("POST / HTTP/1.1", "Host: h\r\n"), &req),
	    HS_BAD_METHOD);
	CHECK_STR(req.target, "/");
	CHECK_INT(parse_headers("Host: h\r\nSec-WebSocket-Version: 8\r\n"),
	    HS_NOT_UPGRADE);
	CHECK_INT(parse_headers("Host: h\r\nUpgrade: websocket\r\n"
	    "Connection: upgrade\r\n"), HS_BAD_VERSION);
	CHECK_INT(parse_headers("Host: h\r\nUpgrade: websocket\r\n"
	    "Connection: upgrade\r\nSec-WebSocket-Version: 13\r\n"),
	    HS_BAD_KEY);
}

/* Throw mutated requests at the parser; it must answer sanely. */
static void
test_mutations(void)
{
	struct hs_request	req;
	char			buf[sizeof(rfc_request)];
	size_t			n = strlen(rfc_request), i, j;
	int			rc, bad = 0;

	for (i = 0; i < 20000; i++) {
		memcpy(buf, rfc_request, n);
		for (j = 1 + rng(4); j > 0; j--)
			buf[rng(n)] = (char)rng(256);
		rc = hs_parse_request((const uint8_t *)buf, rng(n + 1), &req);
		if (rc > 0 || rc < HS_SYSTEM || (rc != HS_INCOMPLETE &&
		    rc != HS_TOO_LARGE && req.head_len > n))
			bad++;
	}
	CHECK_INT(bad, 0);
}

static void
test_response(void)
{
	struct hs_response	 resp;
	char			 buf[1024];
	const char		*r;
	int			 n, i, bad = 0;

	n = hs_build_accept(buf, sizeof(buf), RFC_KEY, NULL);
	CHECK(n > 0);
	CHECK(strstr(buf, "Sec-WebSocket-Accept: " RFC_ACCEPT "\r\n") !=
	    NULL);
	CHECK_INT(hs_parse_response((const uint8_t *)buf, (size_t)n, RFC_KEY,
	    &resp), HS_OK);
	CHECK_INT(resp.status, 101);
	CHECK_STR(resp.reason, "Switching Protocols");
	CHECK_INT(resp.head_len, n);
	for (i = 0; i < n; i++) {
		if (hs_parse_response((const uint8_t *)buf, (size_t)i,
		    RFC_KEY, &resp) != HS_INCOMPLETE)
			bad++;
	}
	CHECK_INT(bad, 0);
	CHECK_INT(hs_parse_response((const uint8_t *)buf, (size_t)n,
	    "AAAAAAAAAAAAAAAAAAAAAA==", &resp), HS_BAD_ACCEPT);
	CHECK_INT(hs_parse_response((const uint8_t *)buf, (size_t)n, NULL,
	    &resp), HS_BAD_ACCEPT);
	CHECK_INT(hs_build_accept(buf, (size_t)n, RFC_KEY, NULL), -1);
	CHECK_INT(hs_build_accept(buf, (size_t)n + 1, RFC_KEY, NULL), n);

	r = "HTTP/1.1 101 Switching Protocols\r\n"
	    "upgrade: WebSocket\r\n"
	    "connection: keep-alive, upgrade\r\n"
	    "sec-websocket-accept: " RFC_ACCEPT "\r\n\r\n";
	CHECK_INT(hs_parse_response((const uint8_t *)r, strlen(r), RFC_KEY,
	    &resp), HS_OK);
	r = "HTTP/1.1 101 Switching Protocols\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n\r\n";
	CHECK_INT(hs_parse_response((const uint8_t *)r, strlen(r), RFC_KEY,
	    &resp), HS_BAD_ACCEPT);
	r = "HTTP/1.1 101 Switching Protocols\r\n"
	    "Connection: Upgrade\r\n"
	    "Sec-WebSocket-Accept: " RFC_ACCEPT "\r\n\r\n";
	CHECK_INT(hs_parse_response((const uint8_t *)r, strlen(r), RFC_KEY,
	    &resp), HS_NOT_UPGRADE);
	r = "HTTP/1.1 101\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Accept: " RFC_ACCEPT "\r\n\r\n";
	CHECK_INT(hs_parse_response((const uint8_t *)r, strlen(r), RFC_KEY,
	    &resp), HS_OK);
	CHECK_STR(resp.reason, "");

	r = "HTTP/1.1 400 Bad Request\r\nContent-Length: 4\r\n\r\nno!\n";
	CHECK_INT(hs_parse_response((const uint8_t *)r, strlen(r), RFC_KEY,
	    &resp), HS_BAD_STATUS);
	CHECK_INT(resp.status, 400);
	CHECK_STR(resp.reason, "Bad Request");
	CHECK_INT(resp.head_len, strlen(r) - 4);
	r = "HTTP/1.0 503 Service Unavailable\r\n\r\n";
	CHECK_INT(hs_parse_response((const uint8_t *)r, strlen(r), RFC_KEY,
	    &resp), HS_BAD_STATUS);
	CHECK_INT(resp.status, 503);

	r = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n";
	CHECK_INT(hs_parse_response((const uint8_t *)r, strlen(r), RFC_KEY,
	    &resp), HS_INCOMPLETE);
	CHECK_INT(hs_parse_response(NULL, 0, RFC_KEY, &resp), HS_INCOMPLETE);
	r = "HTTP/2 101 x\r\n\r\n";
	CHECK_INT(hs_parse_response((const uint8_t *)r, strlen(r), RFC_KEY,
	    &resp), HS_MALFORMED);
	r = "HTTP/1.1 1O1 x\r\n\r\n";
	CHECK_INT(hs_parse_response((const uint8_t *)r, strlen(r), RFC_KEY,
	    &resp), HS_MALFORMED);
	r = "HTTP/1.1 101 x\nUpgrade: websocket\r\n\r\n";
	CHECK_INT(hs_parse_response((const uint8_t *)r, strlen(r), RFC_KEY,
	    &resp), HS_MALFORMED);
	r = "SSH-2.0-OpenSSH_9.2\r\n\r\n";
	CHECK_INT(hs_parse_response((const uint8_t *)r, strlen(r), RFC_KEY,
	    &resp), HS_MALFORMED);

	/* A long reason is truncated, not refused. */
	memset(big, 'r', sizeof(big));
	memcpy(big, "HTTP/1.1 403 ", 13);
	memcpy(big + 13 + 500, "\r\n\r\n", 4);
	CHECK_INT(hs_parse_response((const uint8_t *)big, 13 + 500 + 4,
	    RFC_KEY, &resp), HS_BAD_STATUS);
	CHECK_INT(strlen(resp.reason), sizeof(resp.reason) - 1);
	CHECK_INT(hs_parse_response((const uint8_t *)big, HS_MAX_HEAD - 1,
	    RFC_KEY, &resp), HS_BAD_STATUS);
	memset(big, 'r', sizeof(big));
	CHECK_INT(hs_parse_response((const uint8_t *)big, HS_MAX_HEAD - 1,
	    RFC_KEY, &resp), HS_INCOMPLETE);
	CHECK_INT(hs_parse_response((const uint8_t *)big, HS_MAX_HEAD,
	    RFC_KEY, &resp), HS_TOO_LARGE);
}

/*
 * Sec-WebSocket-Extensions lines are joined as one list, an overlong
 * list is dropped rather than refused, If-None-Match is kept, and the
 * 101 carries the extra lines it is given.
 */
static void
test_extensions(void)
{
	struct hs_request	 req;
	struct hs_response	 resp;
	char			 buf[HS_MAX_HEAD], long_ext[HS_MAX_EXTENSIONS + 2];
	int			 n;

	n = snprintf(buf, sizeof(buf), "GET /demo/echo HTTP/1.1\r\n"
	    "Host: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Key: " RFC_KEY "\r\n"
	    "Sec-WebSocket-Version: 13\r\n"
	    "Sec-WebSocket-Extensions: permessage-deflate; "
	    "client_max_window_bits\r\n"
	    "sec-websocket-extensions:  x-webkit-deflate-frame \r\n"
	    "Sec-WebSocket-Extensions:\r\n"
	    "If-None-Match: \"abc\"\r\n\r\n");
	CHECK_INT(hs_parse_request((const uint8_t *)buf, (size_t)n, &req),
	    HS_OK);
	CHECK_STR(req.extensions, "permessage-deflate; client_max_window_bits, "
	    "x-webkit-deflate-frame");
	CHECK_STR(req.if_none_match, "\"abc\"");

	memset(long_ext, 'x', sizeof(long_ext) - 1);
	long_ext[sizeof(long_ext) - 1] = '\0';
	n = snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: h\r\n"
	    "Sec-WebSocket-Extensions: permessage-deflate\r\n"
	    "Sec-WebSocket-Extensions: %s\r\n"
	    "If-None-Match: %s\r\n\r\n", long_ext, long_ext);
	CHECK_INT(hs_parse_request((const uint8_t *)buf, (size_t)n, &req),
	    HS_NOT_UPGRADE);
	CHECK_STR(req.extensions, "");
	CHECK_STR(req.if_none_match, "");

	n = hs_build_accept(buf, sizeof(buf), RFC_KEY,
	    "Sec-WebSocket-Extensions: permessage-deflate\r\n");
	CHECK(n > 0);
	CHECK_INT(hs_parse_response((const uint8_t *)buf, (size_t)n, RFC_KEY,
	    &resp), HS_OK);
	CHECK_STR(resp.extensions, "permessage-deflate");
	n = snprintf(buf, sizeof(buf), "HTTP/1.1 101 Switching Protocols\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Accept: " RFC_ACCEPT "\r\n"
	    "Sec-WebSocket-Extensions: %s\r\n\r\n", long_ext);
	CHECK_INT(hs_parse_response((const uint8_t *)buf, (size_t)n, RFC_KEY,
	    &resp), HS_UNASKED);
}

static void
test_build_error(void)
{
	struct hs_response	 resp;
	char			 buf[512];
	const char		*body;
	int			 n;

	n = hs_build_error(buf, sizeof(buf), 426,
	    "Sec-WebSocket-Version: 13\r\n", "unsupported version");
	CHECK(n > 0);
	CHECK_STR(buf, "HTTP/1.1 426 Upgrade Required\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Length: 20\r\n"
	    "Connection: close\r\n"
	    "Sec-WebSocket-Version: 13\r\n"
	    "\r\n"
	    "unsupported version\n");
	CHECK_INT(n, strlen(buf));
	CHECK_INT(hs_parse_response((const uint8_t *)buf, (size_t)n, RFC_KEY,
	    &resp), HS_BAD_STATUS);
	CHECK_INT(resp.status, 426);
	CHECK_STR(resp.reason, "Upgrade Required");
	body = buf + resp.head_len;
	CHECK_STR(body, "unsupported version\n");

	n = hs_build_error(buf, sizeof(buf), 404, NULL, NULL);
	CHECK(n > 0);
	CHECK(strstr(buf, "\r\n\r\nNot Found\n") != NULL);
	CHECK(strstr(buf, "Content-Length: 10\r\n") != NULL);
	CHECK_INT(hs_build_error(buf, (size_t)n, 404, NULL, NULL), -1);
	CHECK_INT(hs_build_error(buf, (size_t)n + 1, 404, NULL, NULL), n);
	CHECK_INT(hs_build_error(buf, sizeof(buf), 42, NULL, "x"), -1);
}

static void
test_build_request(void)
{
	struct hs_request	req;
	char			buf[1024], key[HS_KEY_LEN + 1];
	int			n;

	CHECK_INT(hs_make_key(key), HS_OK);
	n = hs_build_request(buf, sizeof(buf), "127.0.0.1:8000",
	    "/chat?user=alice&token=s3cr%2Bt", key,
	    "Origin: http://localhost\r\nAuthorization: Bearer abc\r\n");
	CHECK(n > 0);
	CHECK_INT(n, strlen(buf));
	CHECK_INT(hs_parse_request((const uint8_t *)buf, (size_t)n, &req),
	    HS_OK);
	CHECK_INT(req.head_len, n);
	CHECK_STR(req.host, "127.0.0.1:8000");
	CHECK_STR(req.target, "/chat?user=alice&token=s3cr%2Bt");
	CHECK_STR(req.origin, "http://localhost");
	CHECK_STR(req.authorization, "Bearer abc");
	CHECK_STR(req.key, key);
	CHECK_INT(req.version, 13);

	/* Answer it and check the answer as the client would. */
	{
		struct hs_response	resp;
		char			ans[256];
		int			m;

		m = hs_build_accept(ans, sizeof(ans), req.key, NULL);
		CHECK(m > 0);
		CHECK_INT(hs_parse_response((const uint8_t *)ans, (size_t)m,
		    key, &resp), HS_OK);
	}

	CHECK_INT(hs_build_request(buf, (size_t)n, "127.0.0.1:8000",
	    "/chat?user=alice&token=s3cr%2Bt", key,
	    "Origin: http://localhost\r\nAuthorization: Bearer abc\r\n"), -1);
	CHECK_INT(hs_build_request(buf, sizeof(buf), "h\r\nX: y", "/", key,
	    NULL), -1);
	CHECK_INT(hs_build_request(buf, sizeof(buf), "h", "/a b", key,
	    NULL), -1);
	CHECK_INT(hs_build_request(buf, sizeof(buf), "h", "", key, NULL), -1);
	CHECK_INT(hs_build_request(buf, sizeof(buf), "h", "/", NULL, NULL),
	    -1);
}

static void
test_query(void)
{
	char	out[16];

	CHECK_INT(hs_query_param("/chat?user=alice&token=a%20b+c", "user",
	    out, sizeof(out)), 5);
	CHECK_STR(out, "alice");
	CHECK_INT(hs_query_param("/chat?user=alice&token=a%20b+c", "token",
	    out, sizeof(out)), 5);
	CHECK_STR(out, "a b c");
	CHECK_INT(hs_query_param("/chat?user=alice", "use", out,
	    sizeof(out)), -1);
	CHECK_INT(hs_query_param("/chat?user=alice", "users", out,
	    sizeof(out)), -1);
	CHECK_INT(hs_query_param("/chat", "user", out, sizeof(out)), -1);
	CHECK_INT(hs_query_param("/chat?", "user", out, sizeof(out)), -1);
	CHECK_INT(hs_query_param("/chat?xuser=1&user=2", "user", out,
	    sizeof(out)), 1);
	CHECK_STR(out, "2");
	CHECK_INT(hs_query_param("/?a=1&a=2", "a", out, sizeof(out)), 1);
	CHECK_STR(out, "1");
	CHECK_INT(hs_query_param("/?flag&x=1", "flag", out, sizeof(out)), 0);
	CHECK_STR(out, "");
	CHECK_INT(hs_query_param("/?x=&y=1", "x", out, sizeof(out)), 0);
	CHECK_INT(hs_query_param("/?%75ser=bob", "user", out, sizeof(out)),
	    3);
	CHECK_STR(out, "bob");
	CHECK_INT(hs_query_param("/?u=%e4%BD%A0", "u", out, sizeof(out)), 3);
	CHECK_STR(out, "\xe4\xbd\xa0");
	CHECK_INT(hs_query_param("/?u=a%3D%26b", "u", out, sizeof(out)), 4);
	CHECK_STR(out, "a=&b");
	CHECK_INT(hs_query_param("/?u=a=b", "u", out, sizeof(out)), 3);
	CHECK_STR(out, "a=b");
	CHECK_INT(hs_query_param("/?u=x#frag", "u", out, sizeof(out)), 1);
	CHECK_STR(out, "x");

	/* Bad escapes and values that do not fit. */
	CHECK_INT(hs_query_param("/?u=%zz", "u", out, sizeof(out)), -2);
	CHECK_INT(hs_query_param("/?u=%4", "u", out, sizeof(out)), -2);
	CHECK_INT(hs_query_param("/?u=%", "u", out, sizeof(out)), -2);
	CHECK_INT(hs_query_param("/?u=a%00b", "u", out, sizeof(out)), -2);
	CHECK_INT(hs_query_param("/?u=%zz&v=1", "v", out, sizeof(out)), 1);
	CHECK_INT(hs_query_param("/?u=0123456789abcde", "u", out,
	    sizeof(out)), 15);
	CHECK_INT(hs_query_param("/?u=0123456789abcdef", "u", out,
	    sizeof(out)), -2);
	CHECK_INT(hs_query_param("/?u=%41%41", "u", out, 3), 2);
	CHECK_INT(hs_query_param("/?u=%41%41", "u", out, 2), -2);
	CHECK_INT(hs_query_param("/?u=", "u", out, 0), -2);
}

static void
test_strings(void)
{
	static const int	codes[] = { 101, 200, 400, 401, 403, 404, 405,
				    426, 429, 500, 503 };
	size_t			i;
	int			c;

	CHECK_STR(hs_status_text(400), "Bad Request");
	CHECK_STR(hs_status_text(426), "Upgrade Required");
	CHECK_STR(hs_status_text(101), "Switching Protocols");
	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		CHECK(strcmp(hs_status_text(codes[i]), "Unknown") != 0);
	CHECK_STR(hs_status_text(799), "Unknown");

	CHECK_STR(hs_strerror(HS_TOO_LARGE), "request head too large");
	for (c = HS_OK; c >= HS_SYSTEM; c--) {
		CHECK(strcmp(hs_strerror(c), "unknown handshake error") != 0);
		CHECK(strcmp(hs_strerror(c), hs_strerror(c - 1)) != 0);
	}
	CHECK_STR(hs_strerror(1), "unknown handshake error");
}

int
main(void)
{
	test_accept_key();
	test_make_key();
	test_rfc_request();
	test_case_and_tokens();
	test_splits();
	test_pipelined();
	test_head_limit();
	test_field_limits();
	test_key();
	test_version();
	test_malformed();
	test_order();
	test_mutations();
	test_response();
	test_build_error();
	test_build_request();
	test_query();
	test_strings();
	test_extensions();
	/*
	 * A subprotocol nobody asked for fails the handshake; extensions
	 * are handed to the caller, who knows what it offered.
	 */
	{
		struct hs_response	 r;
		const char		*h1 = "HTTP/1.1 101 Switching Protocols\r\n"
		    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
		    "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
		    "Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n";
		const char		*h2 = "HTTP/1.1 101 Switching Protocols\r\n"
		    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
		    "Sec-WebSocket-Protocol: chat\r\n"
		    "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";

		CHECK_INT(hs_parse_response((const uint8_t *)h1, strlen(h1),
		    "dGhlIHNhbXBsZSBub25jZQ==", &r), HS_OK);
		CHECK_STR(r.extensions, "permessage-deflate");
		CHECK_INT(hs_parse_response((const uint8_t *)h2, strlen(h2),
		    "dGhlIHNhbXBsZSBub25jZQ==", &r), HS_UNASKED);
	}
	return test_done();
}
