/*
 * Copyright (c) 2026 The chat authors.
 *
 * web: serving the browser client.  The files are in the binary, so
 * a chat-server needs nothing installed beside it.  Every answer says
 * what it is (Content-Type, X-Content-Type-Options: nosniff), may be
 * cached only after revalidation (Cache-Control: no-cache with an
 * ETag, so a new server version is picked up at once and an unchanged
 * one costs a 304), and carries a Content-Security-Policy that lets the
 * page load only its own script and style and connect only to its own
 * origin: a message's text can never become code, even if some day
 * the page were to put it into HTML.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "handshake.h"
#include "web.h"

/* Common to every answer of the web client. */
#define WEB_HEADERS \
	"Cache-Control: no-cache\r\n" \
	"X-Content-Type-Options: nosniff\r\n" \
	"Content-Security-Policy: default-src 'none'; script-src 'self'; " \
	"style-src 'self'; connect-src 'self'; img-src 'self'; " \
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'\r\n" \
	"Referrer-Policy: no-referrer\r\n" \
	"Connection: close\r\n"

static const char *
web_type(const char *name)
{
	const char	*dot = strrchr(name, '.');

	if (dot == NULL)
		return "application/octet-stream";
	if (strcmp(dot, ".html") == 0)
		return "text/html; charset=utf-8";
	if (strcmp(dot, ".js") == 0)
		return "text/javascript; charset=utf-8";
	if (strcmp(dot, ".css") == 0)
		return "text/css; charset=utf-8";
	if (strcmp(dot, ".svg") == 0)
		return "image/svg+xml";
	return "application/octet-stream";
}

/*
 * The ETag: FNV-1a over the file and the version, as a quoted string.
 * A validator, not a secret: it only has to change with the file.
 */
static void
web_etag(const struct web_file *f, char *out, size_t outlen)
{
	uint64_t	 h = 0xcbf29ce484222325ULL;
	const char	*v = CHAT_VERSION;
	size_t		 i;

	for (i = 0; i < f->len; i++)
		h = (h ^ f->data[i]) * 0x100000001b3ULL;
	for (; *v != '\0'; v++)
		h = (h ^ (unsigned char)*v) * 0x100000001b3ULL;
	snprintf(out, outlen, "\"%016llx\"", (unsigned long long)h);
}

/*
 * Nonzero if the If-None-Match list holds tag or "*" (RFC 9110
 * section 13.1.2; weak tags compare equal too).
 */
static int
web_match(const char *list, const char *tag)
{
	const char	*p = list;
	size_t		 n, tl = strlen(tag);

	while (*p != '\0') {
		p += strspn(p, " \t,");
		if (strncmp(p, "W/", 2) == 0)
			p += 2;
		n = strcspn(p, " \t,");
		if ((n == 1 && *p == '*') || (n == tl && strncmp(p, tag,
		    n) == 0))
			return 1;
		p += n;
	}
	return 0;
}

int
web_answer(const char *path, const struct hs_request *req, char **reply,
    size_t *len)
{
	const struct web_file	*f;
	const char		*name;
	char			 tag[24], head[1024];
	int			 n, fresh;

	if (strcmp(path, "/") == 0)
		name = "index.html";
	else if (path[0] == '/' && strchr(path + 1, '/') == NULL)
		name = path + 1;
	else
		return 0;
	for (f = web_files; f->name != NULL; f++)
		if (strcmp(f->name, name) == 0)
			break;
	if (f->name == NULL)
		return 0;
	web_etag(f, tag, sizeof(tag));
	fresh = req->if_none_match[0] != '\0' &&
	    web_match(req->if_none_match, tag);
	/* A 304 has no body and says nothing of its length. */
	if (fresh)
		n = snprintf(head, sizeof(head), "HTTP/1.1 304 Not Modified\r\n"
		    "ETag: %s\r\n" WEB_HEADERS "\r\n", tag);
	else
		n = snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\n"
		    "Content-Type: %s\r\n"
		    "Content-Length: %zu\r\n"
		    "ETag: %s\r\n" WEB_HEADERS "\r\n", web_type(f->name),
		    f->len, tag);
	if (n < 0 || (size_t)n >= sizeof(head))
		return -1;
	*len = (size_t)n + (fresh ? 0 : f->len);
	if ((*reply = malloc(*len)) == NULL)
		return -1;
	memcpy(*reply, head, (size_t)n);
	if (!fresh)
		memcpy(*reply + n, f->data, f->len);
	return 1;
}

int
web_same_origin(const struct hs_request *req, int tls)
{
	const char	*scheme = tls ? "https://" : "http://";
	size_t		 sl = strlen(scheme);

	return req->origin[0] != '\0' && req->host[0] != '\0' &&
	    strncasecmp(req->origin, scheme, sl) == 0 &&
	    strcasecmp(req->origin + sl, req->host) == 0;
}
