/*
 * Copyright (c) 2026 The chat authors.
 *
 * input: the input line editor (see input.h).  Positions are indexes
 * into the line's code points, always on grapheme cluster boundaries
 * (text.c finds them), so that an emoji with its modifier or a ZWJ
 * sequence moves and goes as one.  A word, for Meta-b, Meta-f, Meta-d
 * and Meta-Backspace, is a run of letters and digits as in readline;
 * Ctrl-W kills back to white space, as in readline and the shell.
 */
#include <stdlib.h>
#include <string.h>
#include <wctype.h>

#include "input.h"
#include "text.h"

void
input_init(struct input *in)
{
	memset(in, 0, sizeof(*in));
}

void
input_release(struct input *in)
{
	size_t	i;

	free(in->w);
	free(in->kill);
	free(in->saved);
	for (i = 0; i < in->nhist; i++)
		free(in->hist[i]);
	memset(in, 0, sizeof(*in));
}

static wchar_t *
input_wcsdup(const wchar_t *w, size_t n)
{
	wchar_t	*p;

	if ((p = malloc((n + 1) * sizeof(*p))) == NULL)
		return NULL;
	if (n > 0)
		memcpy(p, w, n * sizeof(*p));
	p[n] = 0;
	return p;
}

/* Room for n characters.  Returns 0 or -1. */
static int
input_reserve(struct input *in, size_t n)
{
	wchar_t	*p;
	size_t	 ncap;

	if (n + 1 <= in->cap)
		return 0;
	ncap = in->cap ? in->cap : 128;
	while (ncap < n + 1)
		ncap *= 2;
	if ((p = realloc(in->w, ncap * sizeof(*p))) == NULL)
		return -1;
	in->w = p;
	in->cap = ncap;
	return 0;
}

/* Every change but a completion ends a completion. */
static void
input_touch(struct input *in)
{
	in->completing = 0;
	in->changed = 1;
}

/* Replace the line with w[0..n) (NULL: empty), the cursor at cur. */
static void
input_load(struct input *in, const wchar_t *w, size_t n, size_t cur)
{
	if (input_reserve(in, n) == -1)
		n = 0;
	if (n > 0)
		memcpy(in->w, w, n * sizeof(wchar_t));
	if (in->w != NULL)
		in->w[n] = 0;
	in->len = n;
	in->cur = cur > n ? n : cur;
	in->bytes = text_utf8_len(in->w, n);
	in->top = 0;
	input_touch(in);
}

int
input_insert(struct input *in, wchar_t wc)
{
	if (wc != '\n' && !text_typable(wc))
		return -1;
	return input_insert_text(in, &wc, 1);
}

int
input_insert_text(struct input *in, const wchar_t *w, size_t n)
{
	char	tmp[4];
	size_t	i, nb = 0;

	for (i = 0; i < n; i++)
		nb += text_utf8_put(w[i] == '\n' || text_typable(w[i]) ?
		    w[i] : TEXT_REPL, tmp);
	if (in->bytes + nb > INPUT_MAX_BYTES ||
	    input_reserve(in, in->len + n) == -1)
		return -1;
	memmove(in->w + in->cur + n, in->w + in->cur,
	    (in->len - in->cur) * sizeof(wchar_t));
	for (i = 0; i < n; i++)
		in->w[in->cur + i] = w[i] == '\n' || text_typable(w[i]) ?
		    w[i] : TEXT_REPL;
	in->cur += n;
	in->len += n;
	in->w[in->len] = 0;
	in->bytes += nb;
	input_touch(in);
	return 0;
}

/* Remove w[a..b); with kill set, it goes into the kill buffer. */
static void
input_cut(struct input *in, size_t a, size_t b, int kill)
{
	wchar_t	*k;

	if (a >= b)
		return;
	if (kill && (k = input_wcsdup(in->w + a, b - a)) != NULL) {
		free(in->kill);
		in->kill = k;
		in->killlen = b - a;
	}
	in->bytes -= text_utf8_len(in->w + a, b - a);
	memmove(in->w + a, in->w + b, (in->len - b) * sizeof(wchar_t));
	in->len -= b - a;
	in->w[in->len] = 0;
	if (in->cur >= b)
		in->cur -= b - a;
	else if (in->cur > a)
		in->cur = a;
	input_touch(in);
}

static size_t
input_prev(const struct input *in, size_t i)
{
	return text_prev(in->w, in->len, i);
}

static size_t
input_next(const struct input *in, size_t i)
{
	return text_next(in->w, in->len, i);
}

/* The start of the word before i (Meta-b). */
static size_t
input_word_start(const struct input *in, size_t i)
{
	size_t	p;

	while (i > 0 && !text_is_word(in->w, p = input_prev(in, i)))
		i = p;
	while (i > 0 && text_is_word(in->w, p = input_prev(in, i)))
		i = p;
	return i;
}

/* The end of the word at or after i (Meta-f). */
static size_t
input_word_end(const struct input *in, size_t i)
{
	while (i < in->len && !text_is_word(in->w, i))
		i = input_next(in, i);
	while (i < in->len && text_is_word(in->w, i))
		i = input_next(in, i);
	return i;
}

/* Ctrl-T: swap the clusters around the cursor and move past them. */
static void
input_transpose(struct input *in)
{
	size_t	 a, b, c, n1, n2;
	wchar_t	*tmp;

	if (in->len == 0 || in->cur == 0)
		return;
	b = in->cur;
	if (b == in->len)
		b = input_prev(in, b);	/* at the end: the last two */
	if (b == 0)
		return;
	a = input_prev(in, b);
	c = input_next(in, b);
	n1 = b - a;
	n2 = c - b;
	if ((tmp = input_wcsdup(in->w + a, n1)) == NULL)
		return;
	memmove(in->w + a, in->w + b, n2 * sizeof(wchar_t));
	memcpy(in->w + a + n2, tmp, n1 * sizeof(wchar_t));
	free(tmp);
	in->cur = c;
	input_touch(in);
}

static void
input_hist_move(struct input *in, int back)
{
	const wchar_t	*w;

	if (back) {
		if (in->hpos == 0)
			return;
		if (in->hpos == in->nhist) {
			free(in->saved);
			in->saved = input_wcsdup(in->w != NULL ? in->w : L"",
			    in->len);
		}
		in->hpos--;
	} else {
		if (in->hpos >= in->nhist)
			return;
		in->hpos++;
	}
	w = in->hpos == in->nhist ? in->saved : in->hist[in->hpos];
	input_load(in, w, w != NULL ? wcslen(w) : 0, (size_t)-1);
	if (in->hpos == in->nhist) {
		free(in->saved);
		in->saved = NULL;
	}
}

void
input_edit(struct input *in, enum input_op op)
{
	size_t	i;

	in->changed = 1;
	in->completing = 0;
	switch (op) {
	case INPUT_LEFT:
		in->cur = input_prev(in, in->cur);
		break;
	case INPUT_RIGHT:
		in->cur = input_next(in, in->cur);
		break;
	case INPUT_HOME:
		in->cur = 0;
		break;
	case INPUT_END:
		in->cur = in->len;
		break;
	case INPUT_WORD_LEFT:
		in->cur = input_word_start(in, in->cur);
		break;
	case INPUT_WORD_RIGHT:
		in->cur = input_word_end(in, in->cur);
		break;
	case INPUT_BACKSPACE:
		input_cut(in, input_prev(in, in->cur), in->cur, 0);
		break;
	case INPUT_DELETE:
		input_cut(in, in->cur, input_next(in, in->cur), 0);
		break;
	case INPUT_KILL_START:
		input_cut(in, 0, in->cur, 1);
		break;
	case INPUT_KILL_END:
		input_cut(in, in->cur, in->len, 1);
		break;
	case INPUT_KILL_SPACE_WORD:
		i = in->cur;
		while (i > 0 && iswspace(in->w[i - 1]))
			i--;
		while (i > 0 && !iswspace(in->w[i - 1]))
			i = input_prev(in, i);
		input_cut(in, i, in->cur, 1);
		break;
	case INPUT_KILL_WORD_BACK:
		input_cut(in, input_word_start(in, in->cur), in->cur, 1);
		break;
	case INPUT_KILL_WORD:
		input_cut(in, in->cur, input_word_end(in, in->cur), 1);
		break;
	case INPUT_TRANSPOSE:
		input_transpose(in);
		break;
	case INPUT_YANK:
		if (in->kill != NULL)
			(void)input_insert_text(in, in->kill, in->killlen);
		break;
	case INPUT_HIST_PREV:
		input_hist_move(in, 1);
		break;
	case INPUT_HIST_NEXT:
		input_hist_move(in, 0);
		break;
	}
}

/* Remember w[0..n) unless blank or the same as the last line. */
static void
input_remember(struct input *in, const wchar_t *w, size_t n)
{
	wchar_t	*copy;
	size_t	 i;

	for (i = 0; i < n && iswspace(w[i]); i++)
		;
	if (i == n)
		return;
	if (in->nhist > 0 && wcslen(in->hist[in->nhist - 1]) == n &&
	    wmemcmp(in->hist[in->nhist - 1], w, n) == 0)
		return;
	if ((copy = input_wcsdup(w, n)) == NULL)
		return;
	if (in->nhist == INPUT_MAX_HIST) {
		free(in->hist[0]);
		memmove(in->hist, in->hist + 1,
		    (INPUT_MAX_HIST - 1) * sizeof(in->hist[0]));
		in->nhist--;
	}
	in->hist[in->nhist++] = copy;
}

size_t
input_take(struct input *in, char *out, size_t outlen)
{
	size_t	i, n = 0;

	if (in->searching)
		input_search_accept(in);
	for (i = 0; i < in->len && n + 4 < outlen; i++)
		n += text_utf8_put(in->w[i], out + n);
	out[n] = '\0';
	input_remember(in, in->w, in->len);
	in->hpos = in->nhist;
	free(in->saved);
	in->saved = NULL;
	input_load(in, NULL, 0, 0);
	return n;
}

/* UTF-8 into a malloc'd wide string; *np gets its length. */
static wchar_t *
input_from_utf8(const char *s, size_t len, size_t *np)
{
	struct text_buf	b;

	memset(&b, 0, sizeof(b));
	b.max = INPUT_MAX_BYTES;
	text_buf_utf8(&b, s, len, INPUT_MAX_BYTES);
	if (b.failed) {
		free(b.w);
		return NULL;
	}
	*np = b.len;
	return b.w;
}

void
input_set(struct input *in, const char *s, size_t len)
{
	wchar_t	*w;
	size_t	 n = 0;

	if ((w = input_from_utf8(s, len, &n)) == NULL && len > 0)
		return;
	input_load(in, w, n, n);
	free(w);
}

void
input_hist_add(struct input *in, const char *s, size_t len)
{
	wchar_t	*w;
	size_t	 n = 0;

	if ((w = input_from_utf8(s, len, &n)) == NULL)
		return;
	input_remember(in, w, n);
	in->hpos = in->nhist;
	free(w);
}

/* Show history line i with the cursor on the search's match. */
static int
input_search_from(struct input *in, size_t from)
{
	const wchar_t	*hit;
	size_t		 i;

	in->search[in->slen] = 0;
	for (i = from; i > 0; i--) {
		if ((hit = wcsstr(in->hist[i - 1], in->search)) == NULL)
			continue;
		in->smatch = i - 1;
		in->sfailed = 0;
		input_load(in, in->hist[i - 1], wcslen(in->hist[i - 1]),
		    (size_t)(hit - in->hist[i - 1]));
		return 0;
	}
	in->sfailed = 1;
	return -1;
}

void
input_search_start(struct input *in)
{
	in->changed = 1;
	if (!in->searching) {
		free(in->saved);
		in->saved = input_wcsdup(in->w != NULL ? in->w : L"", in->len);
		in->searching = 1;
		in->slen = 0;
		in->smatch = in->nhist;
		in->sfailed = 0;
		return;
	}
	if (in->slen > 0 && in->smatch > 0)
		(void)input_search_from(in, in->smatch);
}

void
input_search_key(struct input *in, wchar_t wc)
{
	if (!text_typable(wc) || in->slen == INPUT_MAX_SEARCH)
		return;
	in->search[in->slen++] = wc;
	in->changed = 1;
	/* The line shown may still match the longer text. */
	(void)input_search_from(in, in->smatch < in->nhist ?
	    in->smatch + 1 : in->nhist);
}

void
input_search_backspace(struct input *in)
{
	if (in->slen == 0)
		return;
	in->slen--;
	in->changed = 1;
	if (in->slen == 0) {
		in->sfailed = 0;
		return;
	}
	(void)input_search_from(in, in->nhist);
}

void
input_search_accept(struct input *in)
{
	in->searching = 0;
	in->changed = 1;
	in->hpos = in->nhist;
	free(in->saved);
	in->saved = NULL;
}

void
input_search_cancel(struct input *in)
{
	wchar_t	*w = in->saved;

	in->searching = 0;
	in->saved = NULL;
	input_load(in, w, w != NULL ? wcslen(w) : 0, (size_t)-1);
	free(w);
}

int
input_completing_command(const struct input *in)
{
	size_t	i;

	if (in->len == 0 || in->w[0] != '/')
		return 0;
	for (i = 0; i < in->cur; i++)
		if (iswspace(in->w[i]))
			return 0;
	return 1;
}

size_t
input_complete(struct input *in, const char *const *cands, size_t n)
{
	wchar_t		 repl[130];
	const char	*c;
	size_t		 i, k, plen, start, matches = 0, first = n, pick;

	if (!in->completing) {
		/* The word before the cursor, ASCII only (ids, commands). */
		for (start = in->cur; start > 0 &&
		    !iswspace(in->w[start - 1]); start--)
			;
		if (in->cur - start >= sizeof(in->cprefix))
			return 0;
		for (i = start; i < in->cur; i++) {
			if (in->w[i] > 0x7e)
				return 0;
			in->cprefix[i - start] = (char)in->w[i];
		}
		in->cprefix[in->cur - start] = '\0';
		in->cstart = start;
		in->cend = in->cur;
		in->cindex = n;
	}
	plen = strlen(in->cprefix);
	for (i = 0; i < n; i++) {
		if (strncmp(cands[i], in->cprefix, plen) != 0)
			continue;
		if (matches++ == 0)
			first = i;
	}
	if (matches == 0)
		return 0;
	/* The next match after the one shown, round. */
	pick = first;
	if (in->completing)
		for (i = in->cindex + 1; i < n; i++)
			if (strncmp(cands[i], in->cprefix, plen) == 0) {
				pick = i;
				break;
			}
	c = cands[pick];
	for (k = 0; c[k] != '\0' && k < sizeof(repl) / sizeof(repl[0]) - 2;
	    k++)
		repl[k] = (wchar_t)(unsigned char)c[k];
	repl[k++] = ' ';
	/* Take out what the last Tab put in, then put this in. */
	input_cut(in, in->cstart, in->cend, 0);
	in->cur = in->cstart;
	if (input_insert_text(in, repl, k) == -1)
		return 0;
	in->cend = in->cstart + k;
	in->cindex = pick;
	in->completing = 1;
	return matches;
}

/*
 * Which of the rows start[0..n) holds the cursor: the last that starts
 * at or before it, so that the end of a row cut by the width belongs
 * to the next row, and the end of one ended by a newline to its own.
 */
static int
input_cursor_row(const struct input *in, const size_t *start, int n)
{
	int	r;

	for (r = n - 1; r > 0; r--)
		if (in->cur >= start[r])
			break;
	return r;
}

int
input_layout(struct input *in, int width, int maxrows, size_t *start,
    size_t *end, int *crow, int *ccol)
{
	struct text_row	 r;
	size_t		 pos = 0, total = 0, crowabs = 0;
	int		 w = width > 2 ? width - 1 : 1, n = 0;
	const wchar_t	*text = in->w != NULL ? in->w : L"";

	if (maxrows < 1)
		maxrows = 1;
	/*
	 * One column stays free for the cursor after the last character;
	 * rows are cut between clusters (as readline does), not at words.
	 * First find the cursor's row, then scroll to show it.
	 */
	do {
		r.start = pos;
		pos = text_row(text, in->len, pos, w, 0, 0, &r);
		if (in->cur >= r.start)
			crowabs = total;
		total++;
	} while (pos < in->len);
	if (in->len > 0 && text[in->len - 1] == '\n') {
		if (in->cur == in->len)
			crowabs = total;
		total++;		/* the empty line after it */
	}
	if (crowabs < in->top)
		in->top = crowabs;
	if (crowabs >= in->top + (size_t)maxrows)
		in->top = crowabs - (size_t)maxrows + 1;
	if (total < in->top + (size_t)maxrows)
		in->top = total > (size_t)maxrows ? total - (size_t)maxrows : 0;

	pos = 0;
	total = 0;
	do {
		size_t	next = text_row(text, in->len, pos, w, 0, 0, &r);

		if (total >= in->top && n < maxrows) {
			start[n] = r.start;
			end[n] = r.end;
			n++;
		}
		total++;
		pos = next;
	} while (pos < in->len && n < maxrows);
	if (n < maxrows && in->len > 0 && text[in->len - 1] == '\n' &&
	    total >= in->top) {
		start[n] = end[n] = in->len;
		n++;
	}
	*crow = input_cursor_row(in, start, n);
	*ccol = (int)text_width(text + start[*crow], in->cur -
	    start[*crow]);
	return n;
}
