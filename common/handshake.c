/*
 * Copyright (c) 2026 The chat authors.
 *
 * handshake: the RFC 6455 opening handshake for both sides.  This module
 * owns the HTTP/1.1 syntax of the upgrade request and the 101 response,
 * the Sec-WebSocket-Key and Sec-WebSocket-Accept computations and the
 * text of the responses the server sends.  It performs no I/O, keeps no
 * state but OpenSSL's SHA-1 (fetched once: a fetch per handshake cost
 * more than the hash) and never prints: it reads byte buffers that are not
 * NUL-terminated, always within the length it is given, and writes only
 * into fixed-size fields and caller-supplied buffers.
 */

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "handshake.h"

/* RFC 6455 section 1.3: appended to the key before hashing. */
#define HS_GUID		"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define HS_KEY_RAW	16	/* bytes behind a Sec-WebSocket-Key */
#define HS_SHA1_LEN	20

/* A slice of the input buffer; never NUL-terminated. */
struct hs_span {
	const uint8_t	*p;
	size_t		 len;
};

static int	hs_find_end(const uint8_t *, size_t, size_t *);
static int	hs_next_line(const uint8_t *, size_t, size_t *,
		    struct hs_span *);
static int	hs_parse_field(const struct hs_span *, struct hs_span *,
		    struct hs_span *);
static int	hs_parse_reqline(const struct hs_span *, struct hs_request *,
		    int *);
static int	hs_parse_statusline(const struct hs_span *,
		    struct hs_response *);
static int	hs_span_eq(const struct hs_span *, const char *, size_t);
#define hs_span_is(sp, lit)	hs_span_eq((sp), (lit), sizeof(lit) - 1)
static int	hs_list_has(const struct hs_span *, const char *);
static int	hs_copy(char *, size_t, const struct hs_span *);
static int	hs_join(char *, size_t, const struct hs_span *);
static int	hs_version(const struct hs_span *);
static int	hs_key_valid(const char *);
static int	hs_safe_text(const char *);
static int	hs_hexval(int);
static int	hs_qdecode(const char **, const char *);
static int	hs_qmatch(const char *, const char *, const char *);

/*
 * RFC 9110 section 5.6.2: the characters of a token, as a table (a
 * header name is read a byte at a time, on every connect).
 */
static const uint8_t hs_tchar[256] = {
	['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1,
	['*'] = 1, ['+'] = 1, ['-'] = 1, ['.'] = 1, ['^'] = 1, ['_'] = 1,
	['`'] = 1, ['|'] = 1, ['~'] = 1,
	['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1,
	['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1,
	['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1,
	['G'] = 1, ['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1,
	['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1,
	['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1,
	['Y'] = 1, ['Z'] = 1,
	['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1,
	['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1,
	['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1,
	['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1,
	['y'] = 1, ['z'] = 1
};

static int
hs_is_tchar(uint8_t c)
{
	return (hs_tchar[c]);
}

/*
 * Field values may hold visible ASCII, space, tab and (obs-text) bytes
 * above 0x7f.  Every other control character, NUL and DEL included, is
 * refused: they have no business in a head and confuse logs and proxies.
 */
static int
hs_is_valchar(uint8_t c)
{
	return (c == '\t' || (c >= 0x20 && c != 0x7f));
}

static int
hs_is_ows(uint8_t c)
{
	return (c == ' ' || c == '\t');
}

/* ASCII only: tolower(3) would depend on the locale. */
static uint8_t
hs_lower(uint8_t c)
{
	return ((c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c);
}

/*
 * Find the CRLFCRLF that ends the head within the first HS_MAX_HEAD
 * bytes.  A head that has not ended by then never will be accepted, so
 * it is refused as soon as that many bytes are present.  So is one with
 * a bare LF or CR (hs_next_line() would refuse it at the end): a client
 * ending its lines in LF alone would otherwise wait for a CRLFCRLF
 * that never comes, holding its slot until the handshake timeout.
 */
static int
hs_find_end(const uint8_t *buf, size_t len, size_t *end)
{
	const uint8_t	*lf, *cr;
	size_t		 max, i, j;

	max = buf == NULL ? 0 : len < HS_MAX_HEAD ? len : HS_MAX_HEAD;
	/* A line at a time, with memchr(3): this runs on every connect. */
	for (i = 0; i < max; i = j + 1) {
		lf = memchr(buf + i, '\n', max - i);
		j = lf != NULL ? (size_t)(lf - buf) : max;
		/* One CR at most, right before the LF (or last so far). */
		cr = memchr(buf + i, '\r', j - i);
		if (cr != NULL && (size_t)(cr - buf) != j - 1)
			return (HS_MALFORMED);
		if (lf == NULL)
			break;
		if (cr == NULL)
			return (HS_MALFORMED);
		/* An empty line after another line's CRLF ends the head. */
		if (j == i + 1 && i >= 2) {
			*end = j + 1;
			return (HS_OK);
		}
	}
	return (len >= HS_MAX_HEAD ? HS_TOO_LARGE : HS_INCOMPLETE);
}

/*
 * Take the line starting at *pos out of head[0..end).  Lines end in
 * CRLF and nothing else: a bare LF is refused here, a bare CR by
 * hs_find_end() and by every reader of a line's bytes (none takes a
 * control character), since two parsers splitting lines differently is
 * how requests get smuggled past proxies.
 */
static int
hs_next_line(const uint8_t *head, size_t end, size_t *pos,
    struct hs_span *line)
{
	const uint8_t	*lf;
	size_t		 i;

	if (*pos >= end ||
	    (lf = memchr(head + *pos, '\n', end - *pos)) == NULL)
		return (HS_MALFORMED);
	i = (size_t)(lf - head);
	if (i == *pos || head[i - 1] != '\r')
		return (HS_MALFORMED);
	line->p = head + *pos;
	line->len = i - 1 - *pos;
	*pos = i + 1;
	return (HS_OK);
}

/*
 * Split "name: value" (RFC 9110 section 5).  No space is allowed before
 * the colon, and a line starting with whitespace (obsolete line folding)
 * is refused, as RFC 9112 section 5.2 permits.  The value loses its
 * surrounding whitespace.
 */
static int
hs_parse_field(const struct hs_span *line, struct hs_span *name,
    struct hs_span *val)
{
	const uint8_t	*p = line->p;
	size_t		 n = line->len, i, s, e;

	for (i = 0; i < n && hs_is_tchar(p[i]); i++)
		;
	if (i == 0 || i >= n || p[i] != ':')
		return (HS_MALFORMED);
	name->p = p;
	name->len = i;
	for (s = i + 1; s < n; s++) {
		if (!hs_is_valchar(p[s]))
			return (HS_MALFORMED);
	}
	for (s = i + 1; s < n && hs_is_ows(p[s]); s++)
		;
	for (e = n; e > s && hs_is_ows(p[e - 1]); e--)
		;
	val->p = p + s;
	val->len = e - s;
	return (HS_OK);
}

/*
 * Case-insensitive comparison of a span with a literal of n bytes (the
 * length first: most names a request sends are not the one asked for).
 */
static int
hs_span_eq(const struct hs_span *sp, const char *lit, size_t n)
{
	size_t	i;

	if (sp->len != n)
		return (0);
	for (i = 0; i < n; i++) {
		if (hs_lower(sp->p[i]) != hs_lower((uint8_t)lit[i]))
			return (0);
	}
	return (1);
}

/*
 * Nonzero if the comma-separated list in sp holds tok.  Elements may be
 * empty and carry optional whitespace (RFC 9110 section 5.6.1), so
 * "keep-alive, Upgrade" and ", upgrade ," both name "upgrade".
 */
static int
hs_list_has(const struct hs_span *sp, const char *tok)
{
	struct hs_span	el;
	size_t		i = 0, s, e;

	for (;;) {
		for (s = i; i < sp->len && sp->p[i] != ','; i++)
			;
		for (e = i; s < e && hs_is_ows(sp->p[s]); s++)
			;
		for (; e > s && hs_is_ows(sp->p[e - 1]); e--)
			;
		el.p = sp->p + s;
		el.len = e - s;
		if (hs_span_eq(&el, tok, strlen(tok)))
			return (1);
		if (i >= sp->len)
			return (0);
		i++;
	}
}

/* Copy a field into dst[max + 1], refusing values that do not fit. */
static int
hs_copy(char *dst, size_t max, const struct hs_span *sp)
{
	if (sp->len > max)
		return (HS_TOO_LARGE);
	memcpy(dst, sp->p, sp->len);
	dst[sp->len] = '\0';
	return (HS_OK);
}

/*
 * Append a list-valued field to dst[max + 1], joining repeated lines
 * with ", " (RFC 9110 section 5.3).  Returns -1, leaving dst as it was,
 * if the result would not fit.
 */
static int
hs_join(char *dst, size_t max, const struct hs_span *sp)
{
	size_t	have = strlen(dst), sep = have > 0 ? 2 : 0;

	if (sp->len == 0)
		return (0);
	if (sp->len > max - have || sep > max - have - sp->len)
		return (-1);
	memcpy(dst + have, ", ", sep);
	memcpy(dst + have + sep, sp->p, sp->len);
	dst[have + sep + sp->len] = '\0';
	return (0);
}

/*
 * RFC 6455 section 4.1 allows 0-255 without leading zeros.  Anything
 * else is reported as 0, which is never a valid version.
 */
static int
hs_version(const struct hs_span *sp)
{
	size_t	i;
	int	v = 0;

	if (sp->len == 0 || sp->len > 3 || (sp->len > 1 && sp->p[0] == '0'))
		return (0);
	for (i = 0; i < sp->len; i++) {
		if (sp->p[i] < '0' || sp->p[i] > '9')
			return (0);
		v = v * 10 + (sp->p[i] - '0');
	}
	return (v > 255 ? 0 : v);
}

/*
 * The key is the base64 of 16 bytes (RFC 6455 section 4.1): 22 digits
 * of the RFC 4648 alphabet and "==".  Non-zero pad bits still decode to
 * 16 bytes, so they are accepted (RFC 4648 section 3.5 leaves it open).
 */
static int
hs_key_valid(const char *key)
{
	size_t	i;
	char	c;

	for (i = 0; i < HS_KEY_LEN - 2; i++) {
		c = key[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '+' || c == '/'))
			return (0);
	}
	return (key[i] == '=' && key[i + 1] == '=' && key[i + 2] == '\0');
}

/* "GET /path?query HTTP/1.1": single spaces, origin-form target. */
static int
hs_parse_reqline(const struct hs_span *line, struct hs_request *req,
    int *is_get)
{
	static const char	 http11[] = "HTTP/1.1";
	const uint8_t		*p = line->p;
	struct hs_span		 target;
	size_t			 n = line->len, i, m;

	for (i = 0; i < n && hs_is_tchar(p[i]); i++)
		;
	if (i == 0 || i >= n || p[i] != ' ')
		return (HS_MALFORMED);
	m = i;
	*is_get = (m == 3 && memcmp(p, "GET", 3) == 0);
	req->method_head = (m == 4 && memcmp(p, "HEAD", 4) == 0);

	target.p = p + i + 1;
	for (i++; i < n && p[i] > 0x20 && p[i] < 0x7f; i++)
		;
	if (i >= n || p[i] != ' ')
		return (HS_MALFORMED);
	target.len = (size_t)(p + i - target.p);
	if (target.len == 0 || target.p[0] != '/')
		return (HS_MALFORMED);

	/* The version is case-sensitive (RFC 9112 section 2.3). */
	i++;
	if (n - i != sizeof(http11) - 1 || memcmp(p + i, http11, n - i) != 0)
		return (HS_MALFORMED);
	return (hs_copy(req->target, HS_MAX_TARGET, &target));
}

int
hs_parse_request(const uint8_t *buf, size_t len, struct hs_request *req)
{
	struct hs_span	line, name, val;
	size_t		pos = 0, end;
	int		rc, is_get = 0, host = 0, origin = 0, auth = 0;
	int		upgrade = 0, connection = 0, nversion = 0, nkey = 0;
	int		ext_over = 0;

	memset(req, 0, sizeof(*req));
	req->version = -1;
	if ((rc = hs_find_end(buf, len, &end)) != HS_OK)
		return (rc);
	req->head_len = end;

	if ((rc = hs_next_line(buf, end, &pos, &line)) != HS_OK)
		return (rc);
	if ((rc = hs_parse_reqline(&line, req, &is_get)) != HS_OK)
		return (rc);

	for (;;) {
		if ((rc = hs_next_line(buf, end, &pos, &line)) != HS_OK)
			return (rc);
		if (line.len == 0)
			break;
		if ((rc = hs_parse_field(&line, &name, &val)) != HS_OK)
			return (rc);

		/*
		 * A repeated Host is a 400 (RFC 9112 section 3.2); a
		 * repeated Origin or Authorization is just as ambiguous.
		 */
		if (hs_span_is(&name, "Host")) {
			if (host++)
				return (HS_MALFORMED);
			rc = hs_copy(req->host, HS_MAX_HOST, &val);
		} else if (hs_span_is(&name, "Origin")) {
			if (origin++)
				return (HS_MALFORMED);
			rc = hs_copy(req->origin, HS_MAX_ORIGIN, &val);
		} else if (hs_span_is(&name, "Authorization")) {
			if (auth++)
				return (HS_MALFORMED);
			rc = hs_copy(req->authorization, HS_MAX_AUTH, &val);
		} else if (hs_span_is(&name, "Upgrade"))
			upgrade |= hs_list_has(&val, "websocket");
		else if (hs_span_is(&name, "Connection"))
			connection |= hs_list_has(&val, "upgrade");
		else if (hs_span_is(&name, "Sec-WebSocket-Version")) {
			nversion++;
			req->version = hs_version(&val);
		} else if (hs_span_is(&name, "Sec-WebSocket-Key")) {
			/* A wrong length is a bad key, not a large field. */
			nkey++;
			if (val.len <= HS_KEY_LEN)
				(void)hs_copy(req->key, HS_KEY_LEN, &val);
			else
				req->key[0] = '\0';
		} else if (hs_span_is(&name, "Sec-WebSocket-Extensions")) {
			if (hs_join(req->extensions, HS_MAX_EXTENSIONS,
			    &val) != 0)
				ext_over = 1;
		} else if (hs_span_is(&name, "If-None-Match")) {
			/* Not one of ours if it does not fit: no match. */
			if (hs_copy(req->if_none_match, HS_MAX_ETAG,
			    &val) != HS_OK)
				req->if_none_match[0] = '\0';
		}
		if (rc != HS_OK)
			return (rc);
	}
	/* Too many offers to read: answer as if there were none. */
	if (ext_over)
		req->extensions[0] = '\0';

	/* RFC 9112 section 3.2: an HTTP/1.1 request without Host is a 400. */
	if (!host)
		return (HS_MALFORMED);
	if (!is_get)
		return (HS_BAD_METHOD);
	if (!upgrade || !connection)
		return (HS_NOT_UPGRADE);
	if (nversion != 1 || req->version != 13)
		return (HS_BAD_VERSION);
	if (nkey != 1 || !hs_key_valid(req->key))
		return (HS_BAD_KEY);
	return (HS_OK);
}

/*
 * "HTTP/1.1 101 Switching Protocols".  Any HTTP/1.x is read so that a
 * refusal from an old proxy still reports its status; the reason phrase
 * may be empty, with or without its space.
 */
static int
hs_parse_statusline(const struct hs_span *line, struct hs_response *resp)
{
	const uint8_t	*p = line->p;
	size_t		 n = line->len, i, m;

	if (n < 12 || memcmp(p, "HTTP/1.", 7) != 0 ||
	    (p[7] != '0' && p[7] != '1') || p[8] != ' ')
		return (HS_MALFORMED);
	for (i = 9; i < 12; i++) {
		if (p[i] < '0' || p[i] > '9')
			return (HS_MALFORMED);
	}
	resp->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
	if (resp->status < 100)
		return (HS_MALFORMED);
	if (n == 12)
		return (HS_OK);
	if (p[12] != ' ')
		return (HS_MALFORMED);
	for (i = 13; i < n; i++) {
		if (!hs_is_valchar(p[i]))
			return (HS_MALFORMED);
	}
	m = n - 13;
	if (m > sizeof(resp->reason) - 1)
		m = sizeof(resp->reason) - 1;
	memcpy(resp->reason, p + 13, m);
	resp->reason[m] = '\0';
	return (HS_OK);
}

int
hs_parse_response(const uint8_t *buf, size_t len, const char *key,
    struct hs_response *resp)
{
	struct hs_span	line, name, val;
	char		want[HS_ACCEPT_LEN + 1];
	size_t		pos = 0, end;
	int		rc, upgrade = 0, connection = 0, naccept = 0;
	int		accept_ok = 0, unasked = 0;

	memset(resp, 0, sizeof(*resp));
	if ((rc = hs_find_end(buf, len, &end)) != HS_OK)
		return (rc);
	resp->head_len = end;

	if ((rc = hs_next_line(buf, end, &pos, &line)) != HS_OK)
		return (rc);
	if ((rc = hs_parse_statusline(&line, resp)) != HS_OK)
		return (rc);

	want[0] = '\0';
	if (key != NULL && resp->status == 101 &&
	    hs_accept_key(key, want) != HS_OK)
		return (HS_SYSTEM);

	for (;;) {
		if ((rc = hs_next_line(buf, end, &pos, &line)) != HS_OK)
			return (rc);
		if (line.len == 0)
			break;
		if ((rc = hs_parse_field(&line, &name, &val)) != HS_OK)
			return (rc);
		if (hs_span_is(&name, "Upgrade"))
			upgrade |= hs_list_has(&val, "websocket");
		else if (hs_span_is(&name, "Connection"))
			connection |= hs_list_has(&val, "upgrade");
		else if (hs_span_is(&name, "Sec-WebSocket-Accept")) {
			naccept++;
			accept_ok = (want[0] != '\0' &&
			    val.len == HS_ACCEPT_LEN &&
			    memcmp(val.p, want, HS_ACCEPT_LEN) == 0);
		}
		/*
		 * RFC 6455 section 4.1: a subprotocol the client did not
		 * ask for fails the connection; our clients ask for none.
		 * Extensions are checked by the caller, who knows what it
		 * offered.
		 */
		else if (hs_span_is(&name, "Sec-WebSocket-Extensions")) {
			if (hs_join(resp->extensions, HS_MAX_EXTENSIONS,
			    &val) != 0)
				unasked = 1;
		} else if (hs_span_is(&name, "Sec-WebSocket-Protocol"))
			unasked = 1;
	}

	if (resp->status != 101)
		return (HS_BAD_STATUS);
	if (!upgrade || !connection)
		return (HS_NOT_UPGRADE);
	if (unasked)
		return (HS_UNASKED);
	if (naccept != 1 || !accept_ok)
		return (HS_BAD_ACCEPT);
	return (HS_OK);
}

/*
 * SHA-1, fetched from OpenSSL's provider once: EVP_sha1() is fetched
 * again by every EVP_DigestInit_ex(), which cost twice the hash.  The
 * context is kept too (both programs are single-threaded).  Both live
 * until exit.
 */
static EVP_MD_CTX *
hs_sha1_ctx(void)
{
	static EVP_MD	*md;
	static EVP_MD_CTX *ctx;

	if (md == NULL && (md = EVP_MD_fetch(NULL, "SHA1", NULL)) == NULL)
		return (NULL);
	if (ctx == NULL && (ctx = EVP_MD_CTX_new()) == NULL)
		return (NULL);
	if (EVP_DigestInit_ex2(ctx, md, NULL) != 1)
		return (NULL);
	return (ctx);
}

int
hs_accept_key(const char *key, char *out)
{
	EVP_MD_CTX	*ctx;
	uint8_t		 md[EVP_MAX_MD_SIZE];
	unsigned int	 mdlen = 0;

	if (key == NULL || out == NULL)
		return (HS_SYSTEM);
	/* Two updates: the key has no length limit, so no concatenation. */
	if ((ctx = hs_sha1_ctx()) == NULL ||
	    EVP_DigestUpdate(ctx, key, strlen(key)) != 1 ||
	    EVP_DigestUpdate(ctx, HS_GUID, sizeof(HS_GUID) - 1) != 1 ||
	    EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 ||
	    mdlen != HS_SHA1_LEN)
		return (HS_SYSTEM);
	/* EVP_EncodeBlock writes 28 characters and a NUL. */
	if (EVP_EncodeBlock((unsigned char *)out, md, HS_SHA1_LEN) !=
	    HS_ACCEPT_LEN)
		return (HS_SYSTEM);
	return (HS_OK);
}

int
hs_make_key(char *out)
{
	uint8_t	raw[HS_KEY_RAW];

	if (out == NULL || RAND_bytes(raw, sizeof(raw)) != 1)
		return (HS_SYSTEM);
	if (EVP_EncodeBlock((unsigned char *)out, raw, sizeof(raw)) !=
	    HS_KEY_LEN)
		return (HS_SYSTEM);
	return (HS_OK);
}

/* snprintf's result as a length, or -1 if it was cut short. */
static int
hs_fit(int n, size_t len)
{
	if (n < 0 || (size_t)n >= len)
		return (-1);
	return (n);
}

int
hs_build_accept(char *buf, size_t len, const char *key, const char *extra)
{
	char	accept[HS_ACCEPT_LEN + 1];

	if (buf == NULL || len == 0 || hs_accept_key(key, accept) != HS_OK)
		return (-1);
	if (extra == NULL)
		extra = "";
	return (hs_fit(snprintf(buf, len,
	    "HTTP/1.1 101 Switching Protocols\r\n"
	    "Upgrade: websocket\r\n"
	    "Connection: Upgrade\r\n"
	    "Sec-WebSocket-Accept: %s\r\n"
	    "%s"
	    "\r\n", accept, extra), len));
}

int
hs_build_error(char *buf, size_t len, int status, const char *extra_headers,
    const char *body)
{
	return (hs_build_reply(buf, len, status, "text/plain; charset=utf-8",
	    extra_headers, body));
}

int
hs_build_reply(char *buf, size_t len, int status, const char *ctype,
    const char *extra_headers, const char *body)
{
	if (buf == NULL || len == 0 || status < 100 || status > 999)
		return (-1);
	if (extra_headers == NULL)
		extra_headers = "";
	if (body == NULL)
		body = hs_status_text(status);
	/* Content-Length counts the newline added after the body. */
	return (hs_fit(snprintf(buf, len,
	    "HTTP/1.1 %d %s\r\n"
	    "Content-Type: %s\r\n"
	    "Content-Length: %zu\r\n"
	    "Connection: close\r\n"
	    "%s"
	    "\r\n"
	    "%s\n", status, hs_status_text(status), ctype, strlen(body) + 1,
	    extra_headers, body), len));
}

/*
 * Nonzero if s is a non-empty run of visible ASCII, so that a host,
 * target or key can never end a line or the head early.
 */
static int
hs_safe_text(const char *s)
{
	if (s == NULL || *s == '\0')
		return (0);
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return (0);
	}
	return (1);
}

int
hs_build_request(char *buf, size_t len, const char *host, const char *target,
    const char *key, const char *extra)
{
	if (buf == NULL || len == 0 || !hs_safe_text(host) ||
	    !hs_safe_text(target) || !hs_safe_text(key))
		return (-1);
	if (extra == NULL)
		extra = "";
	return (hs_fit(snprintf(buf, len,
	    "GET %s HTTP/1.1\r\n"
	    "Host: %s\r\n"
	    "Upgrade: websocket\r\n"
	    "Connection: Upgrade\r\n"
	    "Sec-WebSocket-Key: %s\r\n"
	    "Sec-WebSocket-Version: 13\r\n"
	    "%s"
	    "\r\n", target, host, key, extra), len));
}

static int
hs_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	if (c >= 'A' && c <= 'F')
		return (c - 'A' + 10);
	return (-1);
}

/*
 * Decode one character of a query component at *p (before end): %XX,
 * '+' for space, or the character itself.  Returns it, or -1 for a
 * broken escape or %00, which would cut the C string short.
 */
static int
hs_qdecode(const char **p, const char *end)
{
	const char	*s = *p;
	int		 hi, lo;

	if (*s == '+') {
		*p = s + 1;
		return (' ');
	}
	if (*s != '%') {
		*p = s + 1;
		return ((unsigned char)*s);
	}
	if (end - s < 3 || (hi = hs_hexval(s[1])) < 0 ||
	    (lo = hs_hexval(s[2])) < 0 || (hi == 0 && lo == 0))
		return (-1);
	*p = s + 3;
	return (hi << 4 | lo);
}

/* Nonzero if the encoded name in [s, end) decodes to name. */
static int
hs_qmatch(const char *s, const char *end, const char *name)
{
	int	c;

	while (s < end) {
		if ((c = hs_qdecode(&s, end)) < 0 || *name == '\0' ||
		    c != (unsigned char)*name)
			return (0);
		name++;
	}
	return (*name == '\0');
}

int
hs_query_param(const char *target, const char *name, char *out,
    size_t outlen)
{
	const char	*q, *end, *amp, *eq, *v;
	size_t		 n;
	int		 c;

	if (target == NULL || name == NULL ||
	    (q = strchr(target, '?')) == NULL)
		return (-1);
	q++;
	end = q + strcspn(q, "#");
	for (;;) {
		if ((amp = memchr(q, '&', (size_t)(end - q))) == NULL)
			amp = end;
		if ((eq = memchr(q, '=', (size_t)(amp - q))) == NULL)
			eq = amp;
		if (hs_qmatch(q, eq, name))
			break;
		if (amp == end)
			return (-1);
		q = amp + 1;
	}

	/* The first pair wins; a pair without '=' has an empty value. */
	v = eq < amp ? eq + 1 : amp;
	if (out == NULL || outlen == 0)
		return (-2);
	for (n = 0; v < amp; n++) {
		if ((c = hs_qdecode(&v, amp)) < 0 || n + 1 >= outlen ||
		    n >= INT_MAX)
			return (-2);
		out[n] = (char)c;
	}
	out[n] = '\0';
	return ((int)n);
}

const char *
hs_status_text(int status)
{
	switch (status) {
	case 101:
		return ("Switching Protocols");
	case 200:
		return ("OK");
	case 400:
		return ("Bad Request");
	case 401:
		return ("Unauthorized");
	case 403:
		return ("Forbidden");
	case 404:
		return ("Not Found");
	case 405:
		return ("Method Not Allowed");
	case 408:
		return ("Request Timeout");
	case 409:
		return ("Conflict");
	case 413:
		return ("Content Too Large");
	case 426:
		return ("Upgrade Required");
	case 429:
		return ("Too Many Requests");
	case 431:
		return ("Request Header Fields Too Large");
	case 500:
		return ("Internal Server Error");
	case 501:
		return ("Not Implemented");
	case 502:
		return ("Bad Gateway");
	case 503:
		return ("Service Unavailable");
	case 504:
		return ("Gateway Timeout");
	default:
		return ("Unknown");
	}
}

const char *
hs_strerror(int code)
{
	switch (code) {
	case HS_OK:
		return ("success");
	case HS_INCOMPLETE:
		return ("incomplete head");
	case HS_TOO_LARGE:
		return ("request head too large");
	case HS_MALFORMED:
		return ("malformed HTTP head");
	case HS_BAD_METHOD:
		return ("method is not GET");
	case HS_NOT_UPGRADE:
		return ("not a websocket upgrade");
	case HS_BAD_VERSION:
		return ("unsupported websocket version");
	case HS_BAD_KEY:
		return ("missing or invalid websocket key");
	case HS_BAD_STATUS:
		return ("unexpected response status");
	case HS_BAD_ACCEPT:
		return ("websocket accept key mismatch");
	case HS_UNASKED:
		return ("server chose an extension or subprotocol not asked for");
	case HS_SYSTEM:
		return ("library call failed");
	default:
		return ("unknown handshake error");
	}
}
