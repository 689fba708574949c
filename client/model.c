/*
 * Copyright (c) 2026 The chat authors.
 *
 * model: the client's state as plain data (see model.h).  Text from the
 * network goes through text.c once, when an entry is made, so that
 * neither the UI nor the terminal ever sees an escape sequence a peer
 * sent.  Nothing here draws, reads a socket or knows about curses; the
 * unit tests drive it directly.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "text.h"

const char *const model_commands[] = {
	"/close", "/help", "/join", "/msg", "/names", "/part", "/query",
	"/quit", "/r", "/rooms", "/to", "/w", "/who"
};
const size_t model_ncommands = sizeof(model_commands) /
    sizeof(model_commands[0]);

const char *const model_help[] = {
	"commands:",
	"  /to ID       talk to ID: open (or show) the conversation",
	"  /msg ID TEXT send TEXT to ID, staying here",
	"  /r [TEXT]    go to whoever wrote last (and send TEXT)",
	"  /w N         show window N (1 is the status window)",
	"  /close       close this conversation",
	"  /who         list the users online",
	"  /join ROOM   join a room (its window is #ROOM)",
	"  /part [ROOM] leave this room (or ROOM)",
	"  /names       list this room's members",
	"  /rooms       list the rooms you are in",
	"  /help        this text",
	"  /quit        leave (also Ctrl-D on an empty line)",
	"  //text       send a message starting with '/'",
	"windows: Alt-1..9 Alt-0, Alt-Left Alt-Right, Ctrl-P Ctrl-N,",
	"  Alt-A the next with activity; PgUp PgDn scroll",
	"editing: Left Right Home End Ctrl-A Ctrl-E Ctrl-B Ctrl-F,",
	"  Alt-B Alt-F words, Backspace Delete Ctrl-D, Ctrl-U Ctrl-K",
	"  Ctrl-W Alt-Backspace Alt-D kill, Ctrl-Y yank, Ctrl-T swap,",
	"  Up Down history, Ctrl-R search, Tab complete ids,",
	"  Alt-Enter or Ctrl-J new line, Ctrl-L redraw",
	NULL
};

static struct model_view *
model_view_new(const char *name)
{
	struct model_view	*v;

	if ((v = calloc(1, sizeof(*v))) == NULL)
		return NULL;
	snprintf(v->name, sizeof(v->name), "%s", name);
	v->online = -1;
	v->told = -1;
	return v;
}

static void
model_view_free(struct model_view *v)
{
	size_t	i;

	if (v == NULL)
		return;
	for (i = 0; i < v->cap; i++)
		free(v->lines[i].w);
	free(v->lines);
	free(v);
}

int
model_init(struct model *m, const char *user, const char *url)
{
	memset(m, 0, sizeof(*m));
	input_init(&m->in);
	if ((m->views[0] = model_view_new("")) == NULL)
		return -1;
	m->nviews = 1;
	m->next_seq = 1;
	m->pane_w = 80;
	m->pane_h = 20;
	snprintf(m->user, sizeof(m->user), "%s", user);
	snprintf(m->url, sizeof(m->url), "%s", url);
	m->dirty = 1;
	return 0;
}

void
model_release(struct model *m)
{
	size_t	i;

	for (i = 0; i < m->nviews; i++)
		model_view_free(m->views[i]);
	m->nviews = 0;
	free(m->users);
	m->users = NULL;
	m->nusers = 0;
	input_release(&m->in);
}

struct model_view *
model_cur(struct model *m)
{
	return m->views[m->cur];
}

int
model_view(struct model *m, const char *name, int create)
{
	size_t	i;

	for (i = 1; i < m->nviews; i++)
		if (strcmp(m->views[i]->name, name) == 0)
			return (int)i;
	if (!create || name[0] == '\0' || m->nviews == MODEL_MAX_VIEWS ||
	    (m->views[m->nviews] = model_view_new(name)) == NULL)
		return -1;
	m->dirty = 1;
	return (int)m->nviews++;
}

void
model_switch(struct model *m, size_t i)
{
	if (i >= m->nviews)
		return;
	m->cur = i;
	m->views[i]->act = MODEL_ACT_NONE;
	m->dirty = 1;
}

void
model_switch_rel(struct model *m, int dir)
{
	model_switch(m, (m->cur + m->nviews + (size_t)(dir < 0 ? -1 : 1)) %
	    m->nviews);
}

int
model_next_active(const struct model *m)
{
	const struct model_view	*v;
	size_t			 i;
	int			 best = -1;

	for (i = 0; i < m->nviews; i++) {
		v = m->views[i];
		if (i == m->cur || v->act == MODEL_ACT_NONE)
			continue;
		if (best == -1 || v->act > m->views[best]->act ||
		    (v->act == m->views[best]->act &&
		    v->act_at > m->views[best]->act_at))
			best = (int)i;
	}
	return best;
}

int
model_close(struct model *m)
{
	size_t	i = m->cur;

	if (i == 0)
		return -1;
	model_view_free(m->views[i]);
	memmove(m->views + i, m->views + i + 1,
	    (m->nviews - i - 1) * sizeof(m->views[0]));
	m->nviews--;
	model_switch(m, i - 1);
	return 0;
}

const struct model_entry *
model_entry_at(const struct model_view *v, size_t i)
{
	if (i >= v->count)
		return NULL;
	return &v->lines[(v->first + i) % v->cap];
}

struct model_entry *
model_find(struct model *m, uint64_t seq)
{
	struct model_view	*v;
	struct model_entry	*e;
	size_t			 i, lo, hi, mid;

	/* Seqs rise within a view: a binary search in each. */
	for (i = 0; i < m->nviews; i++) {
		v = m->views[i];
		lo = 0;
		hi = v->count;
		while (lo < hi) {
			mid = lo + (hi - lo) / 2;
			e = &v->lines[(v->first + mid) % v->cap];
			if (e->seq == seq)
				return e;
			if (e->seq < seq)
				lo = mid + 1;
			else
				hi = mid;
		}
	}
	return NULL;
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
	case MODEL_ELSEWHERE:
		return "other device";
	case MODEL_NONE:
		break;
	}
	return NULL;
}

/* A free slot at the end of view v, dropping the oldest when full. */
static struct model_entry *
model_slot(struct model_view *v)
{
	struct model_entry	*p;
	size_t			 ncap;

	if (v->count == MODEL_MAX_LINES) {
		p = &v->lines[v->first];
		free(p->w);
		p->w = NULL;
		v->first = (v->first + 1) % v->cap;
		v->count--;
	} else if (v->count == v->cap) {
		/* Grows only until full, so first is still 0. */
		ncap = v->cap ? v->cap * 2 : 64;
		if (ncap > MODEL_MAX_LINES)
			ncap = MODEL_MAX_LINES;
		if ((p = reallocarray(v->lines, ncap, sizeof(*p))) == NULL)
			return NULL;
		memset(p + v->cap, 0, (ncap - v->cap) * sizeof(*p));
		v->lines = p;
		v->cap = ncap;
	}
	return &v->lines[(v->first + v->count) % v->cap];
}

uint64_t
model_add(struct model *m, size_t vi, enum model_kind kind, time_t when,
    const char *from, const char *to, const char *text, size_t len)
{
	struct model_view	*v;
	struct model_entry	*e;
	struct text_buf		 b;
	struct tm		 tm;
	char			 stamp[16];
	size_t			 tend, fend, xend;
	enum model_act		 act;

	if (vi >= m->nviews)
		vi = 0;
	v = m->views[vi];
	memset(&b, 0, sizeof(b));
	b.max = MODEL_MAX_TEXT + 400;
	if (localtime_r(&when, &tm) == NULL ||
	    strftime(stamp, sizeof(stamp), "%H:%M ", &tm) == 0)
		strcpy(stamp, "--:-- ");
	text_buf_str(&b, stamp);
	tend = b.len;
	if (kind == MODEL_IN || kind == MODEL_OWN) {
		text_buf_utf8(&b, from, strlen(from), CODEC_MAX_USER);
		if (kind == MODEL_OWN && to != NULL && *to != '\0') {
			text_buf_str(&b, " -> ");
			text_buf_utf8(&b, to, strlen(to), MODEL_MAX_NAME);
		}
		text_buf_str(&b, ": ");
	} else
		text_buf_str(&b, "-!- ");
	fend = b.len;
	text_buf_utf8(&b, text, len, MODEL_MAX_TEXT);
	xend = b.len;
	if (kind == MODEL_OWN)
		text_buf_str(&b, " [pending]");
	if (b.failed || b.w == NULL || (e = model_slot(v)) == NULL) {
		free(b.w);
		return 0;
	}
	v->count++;
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
	if (v->scroll > 0) {
		v->scroll += model_rows(e, m->pane_w);
		v->unread++;
	}
	if (!m->quiet) {
		act = kind == MODEL_IN ? MODEL_ACT_MSG : MODEL_ACT_NOTICE;
		if (vi != m->cur && act >= v->act) {
			v->act = act;
			v->act_at = ++m->tick;
		}
		if (kind == MODEL_IN && (vi != m->cur || v->scroll > 0))
			m->bell = 1;
	}
	m->dirty = 1;
	return e->seq;
}

static uint64_t
model_vsys(struct model *m, size_t v, enum model_kind kind, const char *fmt,
    va_list ap)
{
	char	buf[1024];
	int	n;

	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	if (n < 0)
		return 0;
	if ((size_t)n >= sizeof(buf))
		n = sizeof(buf) - 1;
	return model_add(m, v, kind, time(NULL), "", NULL, buf, (size_t)n);
}

uint64_t
model_sys_to(struct model *m, size_t v, enum model_kind kind,
    const char *fmt, ...)
{
	va_list		ap;
	uint64_t	seq;

	va_start(ap, fmt);
	seq = model_vsys(m, v, kind, fmt, ap);
	va_end(ap);
	return seq;
}

uint64_t
model_sys(struct model *m, enum model_kind kind, const char *fmt, ...)
{
	va_list		ap;
	uint64_t	seq;

	va_start(ap, fmt);
	seq = model_vsys(m, m->cur, kind, fmt, ap);
	va_end(ap);
	return seq;
}

int
model_set_state(struct model *m, uint64_t seq, enum model_state st,
    const char *reason)
{
	struct model_entry	*e;
	struct text_buf		 b;
	const char		*name;

	if ((e = model_find(m, seq)) == NULL)
		return -1;
	/* Rebuild the suffix after the text. */
	b.w = e->w;
	b.len = e->xend;
	b.cap = e->wlen + 1;
	b.max = e->xend + 300;
	b.failed = 0;
	b.w[b.len] = 0;
	if ((name = model_state_name(st)) != NULL) {
		text_buf_str(&b, " [");
		text_buf_str(&b, name);
		if (st == MODEL_FAILED && reason != NULL && *reason != '\0') {
			text_buf_str(&b, ": ");
			text_buf_utf8(&b, reason, strlen(reason), 200);
		}
		text_buf_str(&b, "]");
	}
	/* On a failed realloc, b.w is still the old, valid buffer. */
	e->w = b.w;
	e->wlen = b.failed ? e->xend : b.len;
	e->w[e->wlen] = 0;
	e->state = st;
	m->dirty = 1;
	return 0;
}

/* Rows after the first start under the text: after the sender. */
static int
model_indent(const struct model_entry *e)
{
	return (int)text_width(e->w, e->fend);
}

size_t
model_row(const struct model_entry *e, int width, size_t pos,
    struct text_row *r)
{
	return text_row(e->w, e->wlen, pos, width, model_indent(e), 1, r);
}

size_t
model_rows(const struct model_entry *e, int width)
{
	return text_rows(e->w, e->wlen, width, model_indent(e), 1);
}

void
model_scroll(struct model *m, long n)
{
	struct model_view	*v = model_cur(m);
	size_t			 i, total = 0, want, max, h;

	if (n < 0) {
		if ((size_t)-n >= v->scroll)
			v->scroll = 0;
		else
			v->scroll -= (size_t)-n;
		if (v->scroll == 0)
			v->unread = 0;
		m->dirty = 1;
		return;
	}
	h = (size_t)(m->pane_h > 0 ? m->pane_h : 1);
	/* Count rows from the bottom only as far as needed. */
	want = v->scroll + (size_t)n + h;
	for (i = v->count; i > 0 && total < want; i--)
		total += model_rows(model_entry_at(v, i - 1), m->pane_w);
	/*
	 * Scrolled back by s rows, the pane shows h - 1 of them above the
	 * marker row: the oldest row is at the top when s = total - h + 1.
	 */
	max = total > h ? total - h + 1 : 0;
	v->scroll += (size_t)n;
	if (v->scroll > max)
		v->scroll = max;
	if (v->scroll == 0)
		v->unread = 0;
	m->dirty = 1;
}

void
model_set_online(struct model *m, const char *name, int online)
{
	size_t	i;
	int	vi;

	if (online == -1) {
		for (i = 0; i < m->nviews; i++)
			m->views[i]->online = -1;
	} else if ((vi = model_view(m, name, 0)) != -1)
		m->views[vi]->online = online;
	m->dirty = 1;
}

void
model_user_seen(struct model *m, const char *id)
{
	size_t	lo = 0, hi = m->nusers, mid;
	int	c;

	if (id[0] == '\0' || strcmp(id, m->user) == 0)
		return;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if ((c = strcmp(m->users[mid], id)) == 0)
			return;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (m->nusers == MODEL_MAX_USERS)
		return;
	if (m->users == NULL && (m->users = calloc(MODEL_MAX_USERS,
	    sizeof(*m->users))) == NULL)
		return;
	memmove(m->users + lo + 1, m->users + lo,
	    (m->nusers - lo) * sizeof(*m->users));
	snprintf(m->users[lo], sizeof(m->users[lo]), "%s", id);
	m->nusers++;
}

/* Does word w[0..n) equal the command name? */
static int
model_is(const char *w, size_t n, const char *name)
{
	return strlen(name) == n && memcmp(w, name, n) == 0;
}

static int
model_blank(const char *s, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' &&
		    s[i] != '\r')
			return 0;
	return 1;
}

/* Split off the first word of a[0..an): an id. */
static int
model_take_id(const char **a, size_t *an, char *out)
{
	size_t	n;

	for (n = 0; n < *an && (*a)[n] != ' ' && (*a)[n] != '\t'; n++)
		;
	if (n == 0 || !codec_valid_user(*a, n))
		return -1;
	memcpy(out, *a, n);
	out[n] = '\0';
	*a += n;
	*an -= n;
	if (*an > 0) {		/* one separator; the text is kept as is */
		(*a)++;
		(*an)--;
	}
	return 0;
}

/* A room name, with one '#' in front or not: into out.  0 or -1. */
static int
model_take_room(const char *a, size_t an, char *out)
{
	if (an > 0 && a[0] == '#') {
		a++;
		an--;
	}
	if (!codec_valid_room(a, an))
		return -1;
	memcpy(out, a, an);
	out[an] = '\0';
	return 0;
}

void
model_room_view_name(char *buf, const char *room)
{
	snprintf(buf, MODEL_MAX_NAME + 1, "#%s", room);
}

const char *
model_view_room(const char *name)
{
	return name[0] == '#' ? name + 1 : NULL;
}

static void
model_bad(struct model_cmd *cmd, const char *usage)
{
	cmd->type = MODEL_CMD_BAD;
	snprintf(cmd->error, sizeof(cmd->error), "usage: %s", usage);
}

void
model_parse_cmd(const char *line, size_t len, struct model_cmd *cmd)
{
	const char	*w, *a;
	size_t		 wn, an;
	long		 num;
	char		*end, nbuf[8];

	memset(cmd, 0, sizeof(*cmd));
	while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == '\n'))
		len--;
	if (model_blank(line, len)) {
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

	if (model_is(w, wn, "msg")) {
		if (model_take_id(&a, &an, cmd->arg) == -1 ||
		    model_blank(a, an)) {
			model_bad(cmd, "/msg ID TEXT");
			return;
		}
		cmd->type = MODEL_CMD_MSG;
		cmd->text = a;
		cmd->textlen = an;
		return;
	}
	if (model_is(w, wn, "r")) {
		cmd->type = MODEL_CMD_REPLY;
		cmd->text = a;
		cmd->textlen = model_blank(a, an) ? 0 : an;
		return;
	}
	while (an > 0 && (a[an - 1] == ' ' || a[an - 1] == '\t'))
		an--;
	if (model_is(w, wn, "to") || model_is(w, wn, "query")) {
		if (model_take_id(&a, &an, cmd->arg) == -1 || an > 0) {
			model_bad(cmd, "/to ID (1-64 characters of A-Z a-z "
			    "0-9 . _ -)");
			return;
		}
		cmd->type = MODEL_CMD_TO;
		return;
	}
	if (model_is(w, wn, "w") || model_is(w, wn, "window")) {
		if (an == 0 || an >= sizeof(nbuf)) {
			model_bad(cmd, "/w N");
			return;
		}
		memcpy(nbuf, a, an);
		nbuf[an] = '\0';
		num = strtol(nbuf, &end, 10);
		if (*end != '\0' || num < 1 || num > MODEL_MAX_VIEWS) {
			model_bad(cmd, "/w N");
			return;
		}
		cmd->type = MODEL_CMD_WINDOW;
		cmd->num = (int)num;
		return;
	}
	if (model_is(w, wn, "join") || model_is(w, wn, "part")) {
		if ((an > 0 || model_is(w, wn, "join")) &&
		    model_take_room(a, an, cmd->arg) == -1) {
			model_bad(cmd, model_is(w, wn, "join") ? "/join ROOM "
			    "(1-64 bytes, no spaces)" : "/part [ROOM]");
			return;
		}
		cmd->type = model_is(w, wn, "join") ? MODEL_CMD_JOIN :
		    MODEL_CMD_PART;
		return;
	}
	if (model_is(w, wn, "who"))
		cmd->type = MODEL_CMD_WHO;
	else if (model_is(w, wn, "names"))
		cmd->type = MODEL_CMD_NAMES;
	else if (model_is(w, wn, "rooms"))
		cmd->type = MODEL_CMD_ROOMS;
	else if (model_is(w, wn, "help"))
		cmd->type = MODEL_CMD_HELP;
	else if (model_is(w, wn, "close"))
		cmd->type = MODEL_CMD_CLOSE;
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
