/*
 * Copyright (c) 2026 The chat authors.
 *
 * test_pmce: negotiating permessage-deflate (RFC 7692 section 7.1):
 * the offers browsers, python3-websockets and the Autobahn suite send,
 * parameters that must make the server decline an offer, syntax that
 * makes the list unusable, and the client's check of an answer.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pmce.h"
#include "tap.h"

#define ANSWER	"Sec-WebSocket-Extensions: permessage-deflate; " \
		"server_no_context_takeover; client_no_context_takeover"

static int
accept_str(const char *v, struct pmce_params *p, char *line)
{
	return pmce_accept(v, strlen(v), p, line);
}

static void
test_offers(void)
{
	struct pmce_params	p;
	char			line[PMCE_LINE_MAX];

	/* Chromium and Firefox. */
	CHECK_INT(accept_str("permessage-deflate; client_max_window_bits",
	    &p, line), PMCE_OK);
	CHECK_STR(line, ANSWER "\r\n");
	CHECK_INT(p.on, 1);
	CHECK_INT(p.send_bits, 15);
	CHECK_INT(p.peer_takeover, 0);
	CHECK_INT(accept_str("permessage-deflate", &p, line), PMCE_OK);
	CHECK_STR(line, ANSWER "\r\n");

	/* A window limit for our side is named back (section 7.1.2.1). */
	CHECK_INT(accept_str("permessage-deflate; server_max_window_bits=10",
	    &p, line), PMCE_OK);
	CHECK_INT(p.send_bits, 10);
	CHECK_STR(line, ANSWER "; server_max_window_bits=10\r\n");
	CHECK_INT(accept_str("permessage-deflate;server_max_window_bits=\"12\"",
	    &p, line), PMCE_OK);
	CHECK_INT(p.send_bits, 12);
	CHECK_INT(accept_str("permessage-deflate; server_max_window_bits=15",
	    &p, line), PMCE_OK);
	CHECK_STR(line, ANSWER "; server_max_window_bits=15\r\n");

	/* Autobahn 13.7: several offers, the first one wins. */
	CHECK_INT(accept_str("permessage-deflate; client_no_context_takeover; "
	    "client_max_window_bits; server_max_window_bits=8, "
	    "permessage-deflate; client_no_context_takeover; "
	    "client_max_window_bits, permessage-deflate; "
	    "client_max_window_bits", &p, line), PMCE_OK);
	CHECK_INT(p.send_bits, 8);
	CHECK_INT(accept_str("permessage-deflate; server_no_context_takeover; "
	    "client_max_window_bits=9", &p, line), PMCE_OK);
	CHECK_INT(p.send_bits, 15);

	/* Other extensions are skipped; names and parameters in any case. */
	CHECK_INT(accept_str("x-webkit-deflate-frame; no_context_takeover, "
	    "Permessage-Deflate; Client_Max_Window_Bits", &p, line), PMCE_OK);
	CHECK_INT(accept_str("x-webkit-deflate-frame", &p, line), PMCE_NONE);
	CHECK_STR(line, "");
	CHECK_INT(p.on, 0);
	CHECK_INT(accept_str("", &p, line), PMCE_NONE);
	CHECK_INT(accept_str(" , ,", &p, line), PMCE_NONE);
	CHECK_INT(accept_str(", permessage-deflate ,", &p, line), PMCE_OK);
	CHECK_INT(pmce_accept(NULL, 0, &p, line), PMCE_NONE);
}

/* Offers a server must decline: the next one may still be taken. */
static void
test_declined(void)
{
	static const char	*bad[] = {
		"permessage-deflate; server_max_window_bits",
		"permessage-deflate; server_max_window_bits=16",
		"permessage-deflate; server_max_window_bits=7",
		"permessage-deflate; server_max_window_bits=08",
		"permessage-deflate; server_max_window_bits=0x0f",
		"permessage-deflate; server_max_window_bits=1000000000015",
		"permessage-deflate; client_max_window_bits=20",
		"permessage-deflate; client_max_window_bits=\"\"",
		"permessage-deflate; server_no_context_takeover=1",
		"permessage-deflate; client_no_context_takeover=\"\"",
		"permessage-deflate; server_no_context_takeover; "
		    "server_no_context_takeover",
		"permessage-deflate; client_max_window_bits; "
		    "client_max_window_bits=10",
		"permessage-deflate; server_max_window_bits=9; "
		    "server_max_window_bits=9",
		"permessage-deflate; mux",
	};
	struct pmce_params	p;
	char			line[PMCE_LINE_MAX], v[256];
	size_t			i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_INT(accept_str(bad[i], &p, line), PMCE_NONE);
		snprintf(v, sizeof(v), "%s, permessage-deflate; "
		    "server_max_window_bits=11", bad[i]);
		CHECK_INT(accept_str(v, &p, line), PMCE_OK);
		CHECK_INT(p.send_bits, 11);
	}
}

/* A list that does not parse is not used at all. */
static void
test_syntax(void)
{
	static const char	*bad[] = {
		"permessage-deflate;",
		"permessage-deflate; ",
		";",
		"permessage-deflate x",
		"permessage-deflate; a=",
		"permessage-deflate; a=\"open",
		"permessage-deflate; a=\"x\\",
		"permessage-deflate; =1",
		"permessage-deflate, \"q\"",
		"permessage-deflate; a b",
		"permessage-deflate; a=\"\x01\"",
		"permessage-deflate, x;",
	};
	struct pmce_params	p;
	char			line[PMCE_LINE_MAX];
	size_t			i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_INT(accept_str(bad[i], &p, line), PMCE_INVALID);
		CHECK_STR(line, "");
		CHECK_INT(p.on, 0);
	}
	/* Quoted values with escapes are fine, if ours are digits. */
	CHECK_INT(accept_str("x; a=\"b\\\"c, d\", permessage-deflate", &p,
	    line), PMCE_OK);
	CHECK_INT(accept_str("permessage-deflate; server_max_window_bits="
	    "\"1\\3\"", &p, line), PMCE_OK);
	CHECK_INT(p.send_bits, 13);
}

static void
test_answers(void)
{
	struct pmce_params	 p;
	char			 line[PMCE_LINE_MAX];
	const char		*v, *off;

	/* What our server says is what our client accepts. */
	CHECK_INT(accept_str("permessage-deflate; client_max_window_bits; "
	    "server_max_window_bits=9", &p, line), PMCE_OK);
	v = line + strlen("Sec-WebSocket-Extensions: ");
	CHECK_INT(pmce_check_answer(v, strlen(v) - 2, &p), PMCE_OK);
	CHECK_INT(p.peer_takeover, 0);
	CHECK_INT(p.send_bits, 15);

	/* Our offer is one our server takes. */
	off = pmce_offer();
	CHECK(strncmp(off, "Sec-WebSocket-Extensions: ", 26) == 0);
	CHECK_INT(pmce_accept(off + 26, strlen(off + 26) - 2, &p, line),
	    PMCE_OK);

	v = "permessage-deflate";
	CHECK_INT(pmce_check_answer(v, strlen(v), &p), PMCE_OK);
	CHECK_INT(p.peer_takeover, 1);
	CHECK_INT(p.send_bits, 15);
	v = "permessage-deflate; client_max_window_bits=9; "
	    "server_no_context_takeover; server_max_window_bits=10";
	CHECK_INT(pmce_check_answer(v, strlen(v), &p), PMCE_OK);
	CHECK_INT(p.peer_takeover, 0);
	CHECK_INT(p.send_bits, 9);

	v = "permessage-deflate; client_max_window_bits";
	CHECK_INT(pmce_check_answer(v, strlen(v), &p), PMCE_INVALID);
	CHECK_INT(p.on, 0);
	v = "permessage-deflate, permessage-deflate";
	CHECK_INT(pmce_check_answer(v, strlen(v), &p), PMCE_INVALID);
	v = "x-webkit-deflate-frame";
	CHECK_INT(pmce_check_answer(v, strlen(v), &p), PMCE_INVALID);
	v = "permessage-deflate; unknown";
	CHECK_INT(pmce_check_answer(v, strlen(v), &p), PMCE_INVALID);
	v = "permessage-deflate; server_max_window_bits=7";
	CHECK_INT(pmce_check_answer(v, strlen(v), &p), PMCE_INVALID);
	v = "permessage-deflate;";
	CHECK_INT(pmce_check_answer(v, strlen(v), &p), PMCE_INVALID);
	CHECK_INT(pmce_check_answer("", 0, &p), PMCE_INVALID);
}

/* Every prefix of a list, read exactly within its length. */
static void
test_prefixes(void)
{
	const char		*full = "permessage-deflate; "
	    "server_max_window_bits=\"10\"; client_max_window_bits, "
	    "x; y=z";
	struct pmce_params	 p;
	char			 line[PMCE_LINE_MAX], *copy;
	size_t			 i, n = strlen(full);

	for (i = 0; i <= n; i++) {
		/* An exact-size heap copy lets ASan catch an overread. */
		if ((copy = malloc(i > 0 ? i : 1)) == NULL)
			abort();
		memcpy(copy, full, i);
		(void)pmce_accept(copy, i, &p, line);
		(void)pmce_check_answer(copy, i, &p);
		free(copy);
	}
	CHECK_INT(pmce_accept(full, n, &p, line), PMCE_OK);
	CHECK_INT(p.send_bits, 10);
}

int
main(void)
{
	test_offers();
	test_declined();
	test_syntax();
	test_answers();
	test_prefixes();
	return test_done();
}
