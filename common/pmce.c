/*
 * Copyright (c) 2026 The chat authors.
 *
 * pmce: negotiating permessage-deflate (RFC 7692 section 7.1) over the
 * Sec-WebSocket-Extensions syntax of RFC 6455 section 9.1.  Owns the
 * parsing of extension lists and the choice of parameters; it keeps no
 * state, reads only within the lengths it is given and writes only into
 * the caller's fixed-size buffers.
 */
#include <stdio.h>
#include <string.h>

#include "pmce.h"

#define PMCE_NAME	"permessage-deflate"
/* Longest parameter value we look at ("15"); longer ones are invalid. */
#define PMCE_VALUE_MAX	8

/* One extension of a list: its name and the parameters we know. */
struct pmce_ext {
	int	deflate;	/* named permessage-deflate */
	int	bad;		/* unknown, repeated or malformed parameter */
	int	snct, cnct;	/* server_/client_no_context_takeover */
	int	smwb;		/* server_max_window_bits: -1 absent, 8..15 */
	int	cmwb;		/* client_max_window_bits: -1 absent, 0
				   without a value, 8..15 */
};

static int
pmce_is_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return 1;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static void
pmce_ows(const char *v, size_t len, size_t *pos)
{
	while (*pos < len && (v[*pos] == ' ' || v[*pos] == '\t'))
		(*pos)++;
}

/* A token at *pos: its start and length (0 if there is none). */
static size_t
pmce_token(const char *v, size_t len, size_t *pos, const char **start)
{
	size_t	s = *pos;

	while (*pos < len && pmce_is_tchar((unsigned char)v[*pos]))
		(*pos)++;
	*start = v + s;
	return *pos - s;
}

/* Case-insensitive comparison of v[0..n) with a lowercase literal. */
static int
pmce_is(const char *v, size_t n, const char *lit)
{
	size_t	i;
	char	c;

	if (strlen(lit) != n)
		return 0;
	for (i = 0; i < n; i++) {
		c = v[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c != lit[i])
			return 0;
	}
	return 1;
}

/*
 * A parameter value: a token or a quoted-string (RFC 9110 section
 * 5.6.4), unquoted into out[PMCE_VALUE_MAX + 1].  Returns its length,
 * PMCE_VALUE_MAX + 1 if it is too long to matter (still skipped), or -1
 * for a syntax error.
 */
static int
pmce_value(const char *v, size_t len, size_t *pos, char *out)
{
	const char	*t;
	size_t		 n = 0, tl;

	if (*pos < len && v[*pos] == '"') {
		for ((*pos)++; *pos < len && v[*pos] != '"'; (*pos)++) {
			if (v[*pos] == '\\' && ++(*pos) >= len)
				return -1;
			if ((unsigned char)v[*pos] < 0x20 && v[*pos] != '\t')
				return -1;
			if (n < PMCE_VALUE_MAX + 1)
				out[n] = v[*pos];
			n++;
		}
		if (*pos >= len)
			return -1;
		(*pos)++;
	} else {
		if ((tl = pmce_token(v, len, pos, &t)) == 0)
			return -1;
		n = tl;
		memcpy(out, t, n < PMCE_VALUE_MAX + 1 ? n : PMCE_VALUE_MAX + 1);
	}
	if (n > PMCE_VALUE_MAX)
		return PMCE_VALUE_MAX + 1;
	out[n] = '\0';
	return (int)n;
}

/* RFC 7692 section 7.1.2: 8 to 15 in decimal, without leading zeros. */
static int
pmce_bits(const char *s, int n)
{
	if (n == 1 && (s[0] == '8' || s[0] == '9'))
		return s[0] - '0';
	if (n == 2 && s[0] == '1' && s[1] >= '0' && s[1] <= '5')
		return 10 + s[1] - '0';
	return -1;
}

/* Record one parameter of a permessage-deflate extension. */
static void
pmce_param(struct pmce_ext *e, const char *name, size_t nlen,
    const char *val, int vlen)
{
	int	bits = vlen > 0 ? pmce_bits(val, vlen) : -1;

	if (pmce_is(name, nlen, "server_no_context_takeover")) {
		if (e->snct++ || vlen >= 0)
			e->bad = 1;
	} else if (pmce_is(name, nlen, "client_no_context_takeover")) {
		if (e->cnct++ || vlen >= 0)
			e->bad = 1;
	} else if (pmce_is(name, nlen, "server_max_window_bits")) {
		if (e->smwb != -1 || bits == -1)
			e->bad = 1;
		e->smwb = bits;
	} else if (pmce_is(name, nlen, "client_max_window_bits")) {
		/* In an offer the value is optional. */
		if (e->cmwb != -1 || (vlen >= 0 && bits == -1))
			e->bad = 1;
		e->cmwb = vlen >= 0 ? bits : 0;
	} else
		e->bad = 1;
}

/*
 * Parse the next extension of the list at *pos into *e.  Empty list
 * elements are skipped (RFC 9110 section 5.6.1).  Returns 1 for an
 * extension, 0 at the end of the list, -1 for a syntax error.
 */
static int
pmce_next(const char *v, size_t len, size_t *pos, struct pmce_ext *e)
{
	const char	*name, *pname;
	char		 val[PMCE_VALUE_MAX + 2];
	size_t		 nlen, plen;
	int		 vlen;

	memset(e, 0, sizeof(*e));
	e->smwb = e->cmwb = -1;
	for (;;) {
		pmce_ows(v, len, pos);
		if (*pos >= len)
			return 0;
		if (v[*pos] != ',')
			break;
		(*pos)++;
	}
	if ((nlen = pmce_token(v, len, pos, &name)) == 0)
		return -1;
	e->deflate = pmce_is(name, nlen, PMCE_NAME);
	for (;;) {
		pmce_ows(v, len, pos);
		if (*pos >= len)
			return 1;
		if (v[*pos] == ',') {
			(*pos)++;
			return 1;
		}
		if (v[*pos] != ';')
			return -1;
		(*pos)++;
		pmce_ows(v, len, pos);
		if ((plen = pmce_token(v, len, pos, &pname)) == 0)
			return -1;
		pmce_ows(v, len, pos);
		vlen = -1;
		if (*pos < len && v[*pos] == '=') {
			(*pos)++;
			pmce_ows(v, len, pos);
			if ((vlen = pmce_value(v, len, pos, val)) < 0)
				return -1;
		}
		if (e->deflate)
			pmce_param(e, pname, plen, val, vlen);
	}
}

int
pmce_accept(const char *v, size_t len, struct pmce_params *params,
    char *line)
{
	struct pmce_ext	e;
	size_t		pos = 0;
	int		r, found = 0, smwb = -1;
	char		bits[32];

	memset(params, 0, sizeof(*params));
	line[0] = '\0';
	if (v == NULL)
		return PMCE_NONE;
	/* The whole list must parse, even past the offer we take. */
	while ((r = pmce_next(v, len, &pos, &e)) == 1) {
		if (found || !e.deflate || e.bad)
			continue;
		found = 1;
		smwb = e.smwb;
		params->on = 1;
		params->send_bits = e.smwb == -1 ? 15 : (uint8_t)e.smwb;
		params->peer_takeover = 0;
	}
	if (r == -1) {
		memset(params, 0, sizeof(*params));
		return PMCE_INVALID;
	}
	if (!found)
		return PMCE_NONE;
	/*
	 * Section 7.1.2.1: an offer's server_max_window_bits is accepted
	 * by naming it back.  Both no_context_takeover parameters are
	 * ours to add (sections 7.1.1.1 and 7.1.1.2): no zlib state
	 * outlives a message on this side.
	 */
	bits[0] = '\0';
	if (smwb != -1)
		snprintf(bits, sizeof(bits), "; server_max_window_bits=%u",
		    (unsigned)params->send_bits);
	snprintf(line, PMCE_LINE_MAX, "Sec-WebSocket-Extensions: " PMCE_NAME
	    "; server_no_context_takeover; client_no_context_takeover%s\r\n",
	    bits);
	return PMCE_OK;
}

const char *
pmce_offer(void)
{
	return "Sec-WebSocket-Extensions: " PMCE_NAME
	    "; client_max_window_bits\r\n";
}

int
pmce_check_answer(const char *v, size_t len, struct pmce_params *params)
{
	struct pmce_ext	e, more;
	size_t		pos = 0;

	memset(params, 0, sizeof(*params));
	if (pmce_next(v, len, &pos, &e) != 1 || !e.deflate || e.bad)
		return PMCE_INVALID;
	/* One extension, and an answer's client_max_window_bits has a value. */
	if (pmce_next(v, len, &pos, &more) != 0 || e.cmwb == 0)
		return PMCE_INVALID;
	params->on = 1;
	params->send_bits = e.cmwb == -1 ? 15 : (uint8_t)e.cmwb;
	params->peer_takeover = !e.snct;
	return PMCE_OK;
}
