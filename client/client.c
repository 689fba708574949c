/*
 * Copyright (c) 2026 The chat authors.
 *
 * client: the state shared by main.c and the front ends (client.h).
 * Only what both front ends call lives here, outside main.c, so that
 * unit tests can link every client object but main.o.
 */
#include <stdarg.h>
#include <stdio.h>

#include "client.h"
#include "conn.h"

void
client_exit(struct client *c, int status, const char *fmt, ...)
{
	va_list	ap;

	if (c->quit && c->reason[0] != '\0')
		return;		/* the first reason wins */
	c->quit = 1;
	c->status = status;
	c->reason[0] = '\0';
	if (fmt != NULL) {
		va_start(ap, fmt);
		vsnprintf(c->reason, sizeof(c->reason), fmt, ap);
		va_end(ap);
	}
}

const char *
client_conn_why(const struct client *c, char *buf, size_t len)
{
	const char	*hint = "";

	if (conn_auth(c->conn) == CONN_AUTH_REFUSED &&
	    conn_http_status(c->conn) == 401 && c->o.token_file == NULL &&
	    c->o.token_env == NULL)
		hint = " (give one with --token-file or CHAT_TOKEN)";
	snprintf(buf, len, "%s%s", conn_error(c->conn), hint);
	return buf;
}
