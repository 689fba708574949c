/*
 * Copyright (c) 2026 The chat authors.
 *
 * web: the browser client served at / from files compiled into the
 * server (web/ in the source tree, turned into web_files[] by
 * scripts/embed at build time): routes, content types, caching and
 * security headers, and whether a browser's Origin is the page's own.
 * It builds HTTP answers; the connection code sends them.
 */
#ifndef WEB_H
#define WEB_H

#include <stddef.h>

struct hs_request;

/* One embedded file; web_files[] ends with a NULL name. */
struct web_file {
	const char		*name;		/* "index.html" */
	const unsigned char	*data;
	size_t			 len;
};

extern const struct web_file web_files[];

/*
 * If path names a file of the web client ("/" is index.html), build
 * the whole answer into a new buffer: 200 with the file, or 304 when
 * the request's If-None-Match holds its ETag.  Returns 1 with *reply
 * (the caller frees it) and *len, 0 if path is not the web client's,
 * or -1 when out of memory.
 */
int	web_answer(const char *path, const struct hs_request *req,
	    char **reply, size_t *len);

/*
 * Nonzero if the request's Origin is the page's own: "http://" (or
 * "https://" over TLS) and its Host, compared without regard to case.
 */
int	web_same_origin(const struct hs_request *req, int tls);

#endif /* WEB_H */
