/*
 * Copyright (c) 2026 The chat authors.
 *
 * text: safe wide text, grapheme clusters and row layout (see text.h).
 * Cluster boundaries follow Unicode's extended grapheme cluster rules
 * (UAX #29) as libutf8proc implements them, with its state so that
 * emoji ZWJ sequences and flag pairs hold together; widths come from
 * its tables, not from the C library's wcwidth(), whose answer depends
 * on the locale and which knows nothing of clusters.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "text.h"
#include "utf8.h"

void
text_buf_add(struct text_buf *b, wchar_t wc)
{
	wchar_t	*p;
	size_t	 ncap;

	if (b->failed || b->len >= b->max)
		return;
	if (b->len + 1 >= b->cap) {
		ncap = b->cap ? b->cap * 2 : 64;
		if ((p = realloc(b->w, ncap * sizeof(*p))) == NULL) {
			b->failed = 1;
			return;
		}
		b->w = p;
		b->cap = ncap;
	}
	b->w[b->len++] = wc;
	b->w[b->len] = 0;
}

/* Decode the well-formed sequence of n bytes at p. */
static wchar_t
text_utf8_get(const uint8_t *p, size_t n)
{
	switch (n) {
	case 1:
		return p[0];
	case 2:
		return ((p[0] & 0x1f) << 6) | (p[1] & 0x3f);
	case 3:
		return ((p[0] & 0x0f) << 12) | ((p[1] & 0x3f) << 6) |
		    (p[2] & 0x3f);
	default:
		return ((p[0] & 0x07) << 18) | ((p[1] & 0x3f) << 12) |
		    ((p[2] & 0x3f) << 6) | (p[3] & 0x3f);
	}
}

/* Embeddings, overrides and isolates: they reorder what follows. */
static int
text_is_bidi_control(wchar_t wc)
{
	return (wc >= 0x202a && wc <= 0x202e) || (wc >= 0x2066 &&
	    wc <= 0x2069);
}

static int
text_is_mark(wchar_t wc)
{
	switch (utf8proc_category((utf8proc_int32_t)wc)) {
	case UTF8PROC_CATEGORY_MN:
	case UTF8PROC_CATEGORY_MC:
	case UTF8PROC_CATEGORY_ME:
		return 1;
	default:
		return 0;
	}
}

/* What a code point other than '\n' looks like on our screen. */
static wchar_t
text_safe(wchar_t wc)
{
	if (wc == '\t')
		return ' ';
	switch (utf8proc_category((utf8proc_int32_t)wc)) {
	case UTF8PROC_CATEGORY_CC:
	case UTF8PROC_CATEGORY_CS:
	case UTF8PROC_CATEGORY_CN:
		return TEXT_REPL;
	default:
		break;
	}
	return text_is_bidi_control(wc) ? TEXT_REPL : wc;
}

void
text_buf_utf8(struct text_buf *b, const char *s, size_t len, size_t max)
{
	const uint8_t	*p = (const uint8_t *)s;
	size_t		 i = 0, n, count = 0, start = b->len;
	wchar_t		 wc;

	while (i < len) {
		if (count == max) {
			text_buf_add(b, TEXT_ELLIPSIS);
			return;
		}
		if ((n = utf8_seqlen(p + i, len - i)) == 0) {
			wc = TEXT_REPL;
			n = 1;
		} else
			wc = text_utf8_get(p + i, n);
		i += n;
		if (wc == '\r' && i < len && p[i] == '\n')
			continue;	/* the '\n' comes next */
		if (wc == '\r' || wc == 0x2028 || wc == 0x2029)
			wc = '\n';
		if (wc != '\n') {
			wc = text_safe(wc);
			if (text_is_mark(wc) && (b->len == start ||
			    (b->len > 0 && b->w[b->len - 1] == '\n')))
				text_buf_add(b, TEXT_DOTTED);
		}
		text_buf_add(b, wc);
		count++;
	}
}

void
text_buf_str(struct text_buf *b, const char *s)
{
	text_buf_utf8(b, s, strlen(s), (size_t)-1);
}

int
text_typable(wchar_t wc)
{
	if (wc < 0x20 || wc > 0x10ffff || wc == '\t')
		return 0;
	return text_safe(wc) == wc;
}

size_t
text_next(const wchar_t *w, size_t len, size_t i)
{
	utf8proc_int32_t	state = 0;

	if (i >= len)
		return len;
	for (i++; i < len; i++)
		if (utf8proc_grapheme_break_stateful((utf8proc_int32_t)w[i - 1],
		    (utf8proc_int32_t)w[i], &state))
			break;
	return i;
}

size_t
text_prev(const wchar_t *w, size_t len, size_t i)
{
	size_t	a, b;

	if (i == 0)
		return 0;
	if (i > len)
		i = len;
	/* A newline is a boundary on both sides: start after the last. */
	for (a = i - 1; a > 0 && w[a - 1] != '\n'; a--)
		;
	if (w[i - 1] == '\n')
		return i - 1;
	for (;;) {
		b = text_next(w, len, a);
		if (b >= i)
			return a;
		a = b;
	}
}

int
text_cluster_width(const wchar_t *w, size_t i, size_t j)
{
	int	cw;

	if (j <= i || w[i] == '\n')
		return 0;
	cw = utf8proc_charwidth((utf8proc_int32_t)w[i]);
	return cw < 0 ? 1 : cw;
}

size_t
text_width(const wchar_t *w, size_t n)
{
	size_t	i = 0, j, cols = 0;

	while (i < n) {
		j = text_next(w, n, i);
		cols += (size_t)text_cluster_width(w, i, j);
		i = j;
	}
	return cols;
}

int
text_is_word(const wchar_t *w, size_t i)
{
	switch (utf8proc_category((utf8proc_int32_t)w[i])) {
	case UTF8PROC_CATEGORY_LU:
	case UTF8PROC_CATEGORY_LL:
	case UTF8PROC_CATEGORY_LT:
	case UTF8PROC_CATEGORY_LM:
	case UTF8PROC_CATEGORY_LO:
	case UTF8PROC_CATEGORY_ND:
	case UTF8PROC_CATEGORY_NL:
	case UTF8PROC_CATEGORY_NO:
		return 1;
	default:
		return w[i] == '_';
	}
}

size_t
text_row(const wchar_t *w, size_t len, size_t pos, int width, int indent,
    int words, struct text_row *r)
{
	size_t	i = pos, j, brk = pos;
	int	col = 0, cw, avail;

	if (width < 1)
		width = 1;
	if (indent > width / 2)
		indent = width / 2;
	if (indent < 0)
		indent = 0;
	r->start = pos;
	r->indent = pos == 0 ? 0 : indent;
	r->mark = pos > 0 && w[pos - 1] == '\n';
	avail = width - r->indent;
	while (i < len) {
		if (w[i] == '\n') {
			r->end = i;
			return i + 1;
		}
		j = text_next(w, len, i);
		cw = text_cluster_width(w, i, j);
		if (col + cw > avail && i > pos) {
			if (words && w[i] != ' ' && brk > pos)
				i = brk;	/* after the last whole word */
			r->end = i;
			if (words)
				while (i < len && w[i] == ' ')
					i++;
			return i;
		}
		if (w[i] == ' ' && i > pos && w[i - 1] != ' ')
			brk = i;
		col += cw;
		i = j;
	}
	r->end = len;
	return len;
}

size_t
text_rows(const wchar_t *w, size_t len, int width, int indent, int words)
{
	struct text_row	r;
	size_t		pos = 0, rows = 0;

	do {
		pos = text_row(w, len, pos, width, indent, words, &r);
		rows++;
	} while (pos < len);
	return rows;
}

size_t
text_utf8_put(wchar_t wc, char *out)
{
	uint32_t	c = (uint32_t)wc;

	if (c < 0x80) {
		out[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		out[0] = (char)(0xc0 | (c >> 6));
		out[1] = (char)(0x80 | (c & 0x3f));
		return 2;
	}
	if (c < 0x10000) {
		out[0] = (char)(0xe0 | (c >> 12));
		out[1] = (char)(0x80 | ((c >> 6) & 0x3f));
		out[2] = (char)(0x80 | (c & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (c >> 18));
	out[1] = (char)(0x80 | ((c >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((c >> 6) & 0x3f));
	out[3] = (char)(0x80 | (c & 0x3f));
	return 4;
}

size_t
text_utf8_len(const wchar_t *w, size_t n)
{
	char	tmp[4];
	size_t	i, b = 0;

	for (i = 0; i < n; i++)
		b += text_utf8_put(w[i], tmp);
	return b;
}
