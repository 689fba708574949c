/*
 * Copyright (c) 2026 The chat authors.
 *
 * model: the client's state as plain data (see model.h).  Text from the
 * network becomes wide characters here, once, with every control
 * character replaced, so that neither the UI nor the terminal ever sees
 * an escape sequence a peer sent.  Nothing here draws, reads a socket
 * or knows about curses; the unit tests drive it directly.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wctype.h>

#include "model.h"
#include "utf8.h"

#define MODEL_REPL	0xfffd		/* U+FFFD REPLACEMENT CHARACTER */
#define MODEL_ELLIPSIS	0x2026

const char *const model_help[] = {
	"commands:",
	"  /to ID     send to ID from now on",
	"  /who       list the users online",
	"  /help      this text",
	"  /quit      leave (also Ctrl-D on an empty line)",
	"  //text     send a message starting with '/'",
	"keys: Left Right Home End Ctrl-A Ctrl-E Backspace Delete",
	"  Ctrl-U Ctrl-K Ctrl-W kill, Up Down history,",
	"  PgUp PgDn scroll, Ctrl-L redraw",
	NULL
};

/* The width of one character on the screen; unprintables show as 1. */
static int
model_cwidth(wchar_t wc)
{
	int	w = wcwidth(wc);

	return w < 0 ? 1 : w;
}

size_t
model_width(const wchar_t *w, size_t n)
{
	size_t	i, cols = 0;

	for (i = 0; i < n; i++)
		cols += (size_t)model_cwidth(w[i]);
	return cols;
}

size_t
model_utf8_put(wchar_t wc, char *out)
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

/* Decode the well-formed sequence of n bytes at p. */
static wchar_t
model_utf8_get(const uint8_t *p, size_t n)
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

/* What a character from the network looks like on our screen. */
static wchar_t
model_safe(wchar_t wc)
{
	if (wc == '\n')
		return wc;
	if (wc == '\t')
		return ' ';
	if (wc < 0x20 || (wc >= 0x7f && wc < 0xa0) || wcwidth(wc) < 0)
		return MODEL_REPL;
	return wc;
}

/*
 * A growable wide string with a hard cap: past MODEL_MAX_TEXT + 64
 * characters (the text cap plus room for stamp, sender and state) it
 * silently stops growing.
 */
struct wbuf {
	wchar_t	*w;
	size_t	 len, cap;
	int	 failed;
};

static void
wbuf_add(struct wbuf *b, wchar_t wc)
{
	wchar_t	*p;
	size_t	 ncap;

	if (b->failed || b->len >= MODEL_MAX_TEXT + 64 + 200)
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

/* Append UTF-8 text, at most max characters, "..." after a cut. */
static void
wbuf_utf8(struct wbuf *b, const char *s, size_t len, size_t max)
{
	const uint8_t	*p = (const uint8_t *)s;
	size_t		 i = 0, n, count = 0;

	while (i < len) {
		if (count == max) {
			wbuf_add(b, MODEL_ELLIPSIS);
			return;
		}
		if ((n = utf8_seqlen(p + i, len - i)) == 0) {
			wbuf_add(b, MODEL_REPL);
			i++;
		} else {
			wbuf_add(b, model_safe(model_utf8_get(p + i, n)));
			i += n;
		}
		count++;
	}
}

static void
wbuf_str(struct wbuf *b, const char *s)
{
	wbuf_utf8(b, s, strlen(s), MODEL_MAX_TEXT);
}

int
model_init(struct model *m, const char *user, const char *target,
    const char *url)
{
	memset(m, 0, sizeof(*m));
	m->lines = calloc(MODEL_MAX_LINES, sizeof(*m->lines));
	if (m->lines == NULL)
		return -1;
	m->next_seq = 1;
	m->target_online = -1;
	m->pane_w = 80;
	m->pane_h = 20;
	snprintf(m->user, sizeof(m->user), "%s", user);
	snprintf(m->target, sizeof(m->target), "%s", target);
	snprintf(m->url, sizeof(m->url), "%s", url);
	m->dirty = 1;
	return 0;
}

void
model_release(struct model *m)
{
	size_t	i;

	if (m->lines != NULL) {
		for (i = 0; i < MODEL_MAX_LINES; i++)
			free(m->lines[i].w);
		free(m->lines);
		m->lines = NULL;
	}
	for (i = 0; i < m->nhist; i++)
		free(m->hist[i]);
	m->nhist = 0;
	free(m->saved);
	m->saved = NULL;
}

const struct model_entry *
model_entry_at(const struct model *m, size_t i)
{
	if (i >= m->count)
		return NULL;
	return &m->lines[(m->first + i) % MODEL_MAX_LINES];
}

struct model_entry *
model_find(struct model *m, uint64_t seq)
{
	struct model_entry	*e;
	uint64_t		 oldest;

	if (m->count == 0)
		return NULL;
	oldest = m->lines[m->first].seq;
	if (seq < oldest || seq - oldest >= m->count)
		return NULL;
	e = &m->lines[(m->first + (size_t)(seq - oldest)) % MODEL_MAX_LINES];
	return e->seq == seq ? e : NULL;
}

static const char *
model_state_name(enum model_state st)
{
	switch (st) {
	case MODEL_PENDING:
		return "pending";
	case MODEL_DELIVERED:
		return "delivered";
	case MODEL_QUEUED:
		return "queued";
	case MODEL_FAILED:
		return "failed";
	case MODEL_NONE:
		break;
	}
	return NULL;
}

uint64_t
model_add(struct model *m, enum model_kind kind, time_t when,
    const char *from, const char *to, const char *text, size_t len)
{
	struct model_entry	*e;
	struct wbuf		 b;
	struct tm		 tm;
	char			 stamp[16];
	size_t			 tend, fend, xend;

	memset(&b, 0, sizeof(b));
	if (localtime_r(&when, &tm) == NULL ||
	    strftime(stamp, sizeof(stamp), "%H:%M ", &tm) == 0)
		strcpy(stamp, "--:-- ");
	wbuf_str(&b, stamp);
	tend = b.len;
	if (kind == MODEL_IN || kind == MODEL_OWN) {
		wbuf_utf8(&b, from, strlen(from), CODEC_MAX_USER);
		if (kind == MODEL_OWN && to != NULL && *to != '\0') {
			wbuf_str(&b, " -> ");
			wbuf_utf8(&b, to, strlen(to), CODEC_MAX_USER);
		}
		wbuf_str(&b, ": ");
	} else
		wbuf_str(&b, "-!- ");
	fend = b.len;
	wbuf_utf8(&b, text, len, MODEL_MAX_TEXT);
	xend = b.len;
	if (kind == MODEL_OWN)
		wbuf_str(&b, " [pending]");
	if (b.failed || b.w == NULL) {
		free(b.w);
		return 0;
	}

	/* Drop the oldest entry when the ring is full. */
	if (m->count == MODEL_MAX_LINES) {
		e = &m->lines[m->first];
		free(e->w);
		e->w = NULL;
		m->first = (m->first + 1) % MODEL_MAX_LINES;
		m->count--;
	}
	e = &m->lines[(m->first + m->count) % MODEL_MAX_LINES];
	m->count++;
	e->seq = m->next_seq++;
	e->kind = kind;
	e->state = kind == MODEL_OWN ? MODEL_PENDING : MODEL_NONE;
	e->when = when;
	e->w = b.w;
	e->wlen = b.len;
	e->tend = tend;
	e->fend = fend;
	e->xend = xend;

	/* Keep a scrolled-up view where it is. */
	if (m->scroll > 0) {
		m->scroll += model_rows(e, m->pane_w);
		m->unread++;
	}
	m->dirty = 1;
	return e->seq;
}

uint64_t
model_sys(struct model *m, enum model_kind kind, const char *fmt, ...)
{
	char	buf[1024];
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return 0;
	if ((size_t)n >= sizeof(buf))
		n = sizeof(buf) - 1;
	return model_add(m, kind, time(NULL), "", NULL, buf, (size_t)n);
}

int
model_set_state(struct model *m, uint64_t seq, enum model_state st,
    const char *reason)
{
	struct model_entry	*e;
	struct wbuf		 b;
	const char		*name;

	if ((e = model_find(m, seq)) == NULL)
		return -1;
	/* Rebuild the suffix after the text. */
	b.w = e->w;
	b.len = e->xend;
	b.cap = e->wlen + 1;
	b.failed = 0;
	b.w[b.len] = 0;
	if ((name = model_state_name(st)) != NULL) {
		wbuf_str(&b, " [");
		wbuf_str(&b, name);
		if (st == MODEL_FAILED && reason != NULL && *reason != '\0') {
			wbuf_str(&b, ": ");
			wbuf_utf8(&b, reason, strlen(reason), 200);
		}
		wbuf_str(&b, "]");
	}
	/* On a failed realloc, b.w is still the old, valid buffer. */
	e->w = b.w;
	e->wlen = b.failed ? e->xend : b.len;
	e->w[e->wlen] = 0;
	e->state = st;
	m->dirty = 1;
	return 0;
}

size_t
model_row(const wchar_t *w, size_t len, size_t start, int width,
    size_t *next)
{
	size_t	i = start;
	int	col = 0, cw;

	if (width < 1)
		width = 1;
	while (i < len) {
		if (w[i] == '\n') {
			*next = i + 1;
			return i;
		}
		cw = model_cwidth(w[i]);
		if (col + cw > width && i > start)
			break;
		col += cw;
		i++;
	}
	*next = i;
	return i;
}

size_t
model_rows(const struct model_entry *e, int width)
{
	size_t	pos = 0, next, rows = 0;

	do {
		model_row(e->w, e->wlen, pos, width, &next);
		rows++;
		pos = next;
	} while (pos < e->wlen);
	return rows;
}

void
model_scroll(struct model *m, long n)
{
	size_t	i, total = 0, want, max;

	if (n < 0) {
		if ((size_t)-n >= m->scroll)
			m->scroll = 0;
		else
			m->scroll -= (size_t)-n;
		if (m->scroll == 0)
			m->unread = 0;
		m->dirty = 1;
		return;
	}
	/* Count rows from the bottom only as far as needed. */
	want = m->scroll + (size_t)n + (size_t)(m->pane_h > 0 ? m->pane_h : 1);
	for (i = m->count; i > 0 && total < want; i--)
		total += model_rows(model_entry_at(m, i - 1), m->pane_w);
	max = total > (size_t)m->pane_h ? total - (size_t)m->pane_h : 0;
	m->scroll += (size_t)n;
	if (m->scroll > max)
		m->scroll = max;
	m->dirty = 1;
}

/* Input editing.  Zero-width characters move with the one before. */

static size_t
model_prev(const struct model *m, size_t i)
{
	if (i == 0)
		return 0;
	i--;
	while (i > 0 && wcwidth(m->in[i]) == 0)
		i--;
	return i;
}

static size_t
model_next(const struct model *m, size_t i)
{
	if (i >= m->ilen)
		return m->ilen;
	i++;
	while (i < m->ilen && wcwidth(m->in[i]) == 0)
		i++;
	return i;
}

static size_t
model_bytes(const wchar_t *w, size_t n)
{
	char	tmp[4];
	size_t	i, b = 0;

	for (i = 0; i < n; i++)
		b += model_utf8_put(w[i], tmp);
	return b;
}

/* Remove in[a..b). */
static void
model_cut(struct model *m, size_t a, size_t b)
{
	if (a >= b)
		return;
	m->ibytes -= model_bytes(m->in + a, b - a);
	memmove(m->in + a, m->in + b, (m->ilen - b) * sizeof(wchar_t));
	m->ilen -= b - a;
	m->in[m->ilen] = 0;
	if (m->icur >= b)
		m->icur -= b - a;
	else if (m->icur > a)
		m->icur = a;
}

/* Replace the input with w (NULL: empty). */
static void
model_load(struct model *m, const wchar_t *w)
{
	size_t	n = w != NULL ? wcslen(w) : 0;

	if (n > MODEL_MAX_INPUT)
		n = MODEL_MAX_INPUT;
	if (n > 0)
		memcpy(m->in, w, n * sizeof(wchar_t));
	m->in[n] = 0;
	m->ilen = m->icur = n;
	m->ibytes = model_bytes(m->in, n);
	m->ihscroll = 0;
}

int
model_input_insert(struct model *m, wchar_t wc)
{
	char	tmp[4];
	size_t	nb;

	if (wc < 0x20 || (wc >= 0x7f && wc < 0xa0) || wc > 0x10ffff ||
	    (wc >= 0xd800 && wc <= 0xdfff) || wcwidth(wc) < 0)
		return -1;
	nb = model_utf8_put(wc, tmp);
	if (m->ibytes + nb > MODEL_MAX_INPUT || m->ilen >= MODEL_MAX_INPUT)
		return -1;
	memmove(m->in + m->icur + 1, m->in + m->icur,
	    (m->ilen - m->icur) * sizeof(wchar_t));
	m->in[m->icur++] = wc;
	m->ilen++;
	m->in[m->ilen] = 0;
	m->ibytes += nb;
	m->dirty = 1;
	return 0;
}

static wchar_t *
model_wcsdup(const wchar_t *w, size_t n)
{
	wchar_t	*p;

	if ((p = malloc((n + 1) * sizeof(*p))) == NULL)
		return NULL;
	memcpy(p, w, n * sizeof(*p));
	p[n] = 0;
	return p;
}

void
model_input_edit(struct model *m, enum model_edit op)
{
	size_t	i;

	m->dirty = 1;
	switch (op) {
	case MODEL_LEFT:
		m->icur = model_prev(m, m->icur);
		break;
	case MODEL_RIGHT:
		m->icur = model_next(m, m->icur);
		break;
	case MODEL_HOME:
		m->icur = 0;
		break;
	case MODEL_END:
		m->icur = m->ilen;
		break;
	case MODEL_BACKSPACE:
		model_cut(m, model_prev(m, m->icur), m->icur);
		break;
	case MODEL_DELETE:
		model_cut(m, m->icur, model_next(m, m->icur));
		break;
	case MODEL_KILL_START:
		model_cut(m, 0, m->icur);
		break;
	case MODEL_KILL_END:
		model_cut(m, m->icur, m->ilen);
		break;
	case MODEL_KILL_WORD:
		i = m->icur;
		while (i > 0 && iswspace(m->in[i - 1]))
			i--;
		while (i > 0 && !iswspace(m->in[i - 1]))
			i--;
		model_cut(m, i, m->icur);
		break;
	case MODEL_HIST_PREV:
		if (m->hpos == 0)
			break;
		if (m->hpos == m->nhist) {
			free(m->saved);
			m->saved = model_wcsdup(m->in, m->ilen);
		}
		m->hpos--;
		model_load(m, m->hist[m->hpos]);
		break;
	case MODEL_HIST_NEXT:
		if (m->hpos >= m->nhist)
			break;
		m->hpos++;
		if (m->hpos == m->nhist) {
			model_load(m, m->saved);
			free(m->saved);
			m->saved = NULL;
		} else
			model_load(m, m->hist[m->hpos]);
		break;
	}
}

size_t
model_input_take(struct model *m, char *out, size_t outlen)
{
	size_t	 i, n = 0;
	wchar_t	*copy;

	for (i = 0; i < m->ilen && n + 4 < outlen; i++)
		n += model_utf8_put(m->in[i], out + n);
	out[n] = '\0';

	if (m->ilen > 0 && (m->nhist == 0 ||
	    wcscmp(m->hist[m->nhist - 1], m->in) != 0) &&
	    (copy = model_wcsdup(m->in, m->ilen)) != NULL) {
		if (m->nhist == MODEL_MAX_HIST) {
			free(m->hist[0]);
			memmove(m->hist, m->hist + 1,
			    (MODEL_MAX_HIST - 1) * sizeof(m->hist[0]));
			m->nhist--;
		}
		m->hist[m->nhist++] = copy;
	}
	m->hpos = m->nhist;
	free(m->saved);
	m->saved = NULL;
	model_load(m, NULL);
	m->dirty = 1;
	return n;
}

int
model_input_view(struct model *m, int width)
{
	size_t	room;

	if (width < 2)
		width = 2;
	/* One column stays free for the cursor after the last character. */
	room = (size_t)width - 1;
	if (model_width(m->in, m->ilen) <= room)
		m->ihscroll = 0;
	if (m->icur < m->ihscroll) {
		/* Jumping left: show some context before the cursor too. */
		m->ihscroll = m->icur;
		while (m->ihscroll > 0 && model_width(m->in +
		    model_prev(m, m->ihscroll), m->icur -
		    model_prev(m, m->ihscroll)) <= room / 2)
			m->ihscroll = model_prev(m, m->ihscroll);
	}
	while (m->ihscroll < m->icur &&
	    model_width(m->in + m->ihscroll, m->icur - m->ihscroll) > room)
		m->ihscroll = model_next(m, m->ihscroll);
	return (int)model_width(m->in + m->ihscroll, m->icur - m->ihscroll);
}

/* Does word w[0..n) equal the command name? */
static int
model_is(const char *w, size_t n, const char *name)
{
	return strlen(name) == n && memcmp(w, name, n) == 0;
}

void
model_parse_cmd(const char *line, size_t len, struct model_cmd *cmd)
{
	const char	*w, *a;
	size_t		 wn, an;

	memset(cmd, 0, sizeof(*cmd));
	while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == '\n'))
		len--;
	if (len == 0) {
		cmd->type = MODEL_CMD_EMPTY;
		return;
	}
	if (line[0] != '/' || (len > 1 && line[1] == '/')) {
		cmd->type = MODEL_CMD_TEXT;
		cmd->text = line[0] == '/' ? line + 1 : line;
		cmd->textlen = line[0] == '/' ? len - 1 : len;
		return;
	}
	w = line + 1;
	for (wn = 0; wn < len - 1 && w[wn] != ' ' && w[wn] != '\t'; wn++)
		;
	a = w + wn;
	an = len - 1 - wn;
	while (an > 0 && (*a == ' ' || *a == '\t')) {
		a++;
		an--;
	}
	while (an > 0 && (a[an - 1] == ' ' || a[an - 1] == '\t'))
		an--;

	if (model_is(w, wn, "to")) {
		if (an == 0 || !codec_valid_user(a, an)) {
			cmd->type = MODEL_CMD_BAD;
			snprintf(cmd->error, sizeof(cmd->error), "usage: /to ID "
			    "(1-64 characters of A-Z a-z 0-9 . _ -)");
			return;
		}
		cmd->type = MODEL_CMD_TO;
		memcpy(cmd->arg, a, an);
		cmd->arg[an] = '\0';
		return;
	}
	if (model_is(w, wn, "who"))
		cmd->type = MODEL_CMD_WHO;
	else if (model_is(w, wn, "help"))
		cmd->type = MODEL_CMD_HELP;
	else if (model_is(w, wn, "quit") || model_is(w, wn, "exit"))
		cmd->type = MODEL_CMD_QUIT;
	else {
		cmd->type = MODEL_CMD_BAD;
		snprintf(cmd->error, sizeof(cmd->error),
		    "unknown command '/%.*s' (try /help)",
		    (int)(wn > 40 ? 40 : wn), w);
		return;
	}
	if (an > 0) {
		cmd->type = MODEL_CMD_BAD;
		snprintf(cmd->error, sizeof(cmd->error),
		    "/%.*s takes no arguments", (int)wn, w);
	}
}
