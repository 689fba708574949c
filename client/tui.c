/*
 * Copyright (c) 2026 The chat authors.
 *
 * tui: the interactive session's logic.  Keys from ui.c become edits of
 * the input line, commands, window switches or actions on the
 * connection; server events and connection changes become entries in
 * the conversation they belong to, and status fields.  At start it
 * shows the end of the conversation log (state.c), each entry in the
 * view of its peer between two marker lines, and loads the lines typed
 * in earlier runs; at the end it saves them.  A paste of several lines
 * (bracketed paste) asks before it sends anything.  It holds no curses
 * calls beyond what ui.c exports and never touches a socket directly.
 */
#include <curses.h>
#include <langinfo.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client.h"
#include "conn.h"
#include "input.h"
#include "log.h"
#include "model.h"
#include "text.h"
#include "util.h"

#define CTRL(c)		((c) & 0x1f)
#define KEY_ESC		0x1b

/* Tell the server whose presence we follow: every conversation's peer. */
static void
tui_watch(struct client *c)
{
	const char	*users[MODEL_MAX_VIEWS];
	struct model	*m = &c->model;
	size_t		 i, n = 0;

	for (i = 1; i < m->nviews; i++)
		if (model_view_room(m->views[i]->name) == NULL)
			users[n++] = m->views[i]->name;
	conn_watch(c->conn, users, n);
}

/*
 * The view of name (a user, or "#" and a room), made if needed (and
 * then watched); -1 if none.
 */
static int
tui_view(struct client *c, const char *name)
{
	struct model	*m = &c->model;
	size_t		 before = m->nviews;
	int		 v;

	v = model_view(m, name, 1);
	if (model_view_room(name) == NULL)
		model_user_seen(m, name);
	if (v != -1 && m->nviews != before && c->front_started)
		tui_watch(c);
	return v;
}

/*
 * The last entries of the log, each in the view of its peer, marked as
 * history; a line with the date comes first and wherever the day
 * changes.
 */
static void
tui_history(struct client *c)
{
	struct model		*m = &c->model;
	struct state_entry	*e;
	struct tm		 tm;
	time_t			 t;
	char			 err[STATE_ERRLEN], day[64];
	char			 last[MODEL_MAX_VIEWS][64];
	unsigned char		 seen[MODEL_MAX_VIEWS];
	size_t			 n, i;
	uint64_t		 seq;
	const char		*peer;
	char			 rv[MODEL_MAX_NAME + 1];
	int			 v;

	if (state_log_tail(&c->state, STATE_HISTORY, &e, &n, err) == -1) {
		client_warn(c, "%s: no history shown", err);
		return;
	}
	if (n == 0)
		return;
	memset(seen, 0, sizeof(seen));
	m->quiet = 1;
	for (i = 0; i < n; i++) {
		peer = e[i].way == STATE_IN ? e[i].from : e[i].to;
		if (e[i].room[0] != '\0') {
			model_room_view_name(rv, e[i].room);
			peer = rv;
		}
		if ((v = tui_view(c, peer)) == -1)
			v = 0;
		if (!seen[v]) {
			model_sys_to(m, (size_t)v, MODEL_SYS,
			    "--- history ---");
			last[v][0] = '\0';
			seen[v] = 1;
		}
		t = (time_t)(e[i].ts / 1000);
		if (localtime_r(&t, &tm) != NULL &&
		    strftime(day, sizeof(day), "%a %e %b %Y", &tm) > 0 &&
		    strcmp(day, last[v]) != 0) {
			model_sys_to(m, (size_t)v, MODEL_SYS, "%s", day);
			snprintf(last[v], sizeof(last[v]), "%s", day);
		}
		if (e[i].way == STATE_IN) {
			model_add(m, (size_t)v, MODEL_IN, t, e[i].from, NULL,
			    e[i].text, e[i].len);
			snprintf(m->last_from, sizeof(m->last_from), "%s",
			    e[i].from);
			continue;
		}
		seq = model_add(m, (size_t)v, MODEL_OWN, t, e[i].from,
		    e[i].room[0] != '\0' ? NULL : e[i].to, e[i].text,
		    e[i].len);
		if (seq != 0)
			model_set_state(m, seq, strcmp(e[i].status,
			    "queued") == 0 ? MODEL_QUEUED : strcmp(e[i].status,
			    "sent") == 0 ? MODEL_ELSEWHERE : MODEL_DELIVERED,
			    NULL);
	}
	for (i = 0; i < MODEL_MAX_VIEWS; i++)
		if (seen[i])
			model_sys_to(m, i, MODEL_SYS,
			    "--- end of history ---");
	m->quiet = 0;
	state_entries_free(e, n);
}

static void
tui_hist_add(void *arg, const char *s, size_t len)
{
	input_hist_add(arg, s, len);
}

/* Save the lines typed, for the next run. */
static void
tui_hist_save(struct client *c)
{
	struct input	*in = &c->model.in;
	char		*lines[INPUT_MAX_HIST] = { NULL }, err[STATE_ERRLEN];
	size_t		 lens[INPUT_MAX_HIST] = { 0 }, i, j, n = 0;

	if (c->o.no_resume)
		return;
	for (i = 0; i < in->nhist; i++) {
		lens[n] = text_utf8_len(in->hist[i], wcslen(in->hist[i]));
		if ((lines[n] = malloc(lens[n] + 1)) == NULL)
			continue;
		lens[n] = 0;
		for (j = 0; in->hist[i][j] != 0; j++)
			lens[n] += text_utf8_put(in->hist[i][j],
			    lines[n] + lens[n]);
		n++;
	}
	if (state_hist_write(&c->state, lines, lens, n, err) == -1)
		log_warn("%s: lines typed not saved", err);
	for (i = 0; i < n; i++)
		free(lines[i]);
}

int
tui_start(struct client *c, char *why, size_t len)
{
	struct model	*m = &c->model;
	const char	*nc = getenv("NO_COLOR");
	char		 err[STATE_ERRLEN];
	int		 colour, v;

	/* https://no-color.org: set and not empty means no colour. */
	colour = c->o.color == CLIENT_COLOR_ALWAYS ||
	    (c->o.color == CLIENT_COLOR_AUTO && (nc == NULL || *nc == '\0'));
	if (ui_init(colour, c->o.bell, why, len) == -1)
		return -1;
	if (model_init(m, c->o.user, c->o.url_text) == -1 ||
	    (c->line = malloc(INPUT_MAX_BYTES + 8)) == NULL) {
		ui_end();
		snprintf(why, len, "out of memory");
		return -1;
	}
	if (c->o.target[0] != '\0' && (v = tui_view(c, c->o.target)) != -1)
		model_switch(m, (size_t)v);
	model_sys(m, MODEL_SYS, "chat-client %s: you are %s%s%s; "
	    "type /help for help", CHAT_VERSION, c->o.user,
	    c->o.target[0] != '\0' ? ", talking to " : "", c->o.target);
	if (strcmp(nl_langinfo(CODESET), "UTF-8") != 0) {
		m->ascii = 1;
		model_sys(m, MODEL_ERR, "warning: the character set of this "
		    "locale is %s, not UTF-8: text other than ASCII shows as "
		    "'?' and cannot be typed (set LANG=C.UTF-8, say)",
		    nl_langinfo(CODESET));
	}
	if (c->o.insecure) {
		m->insecure = 1;
		model_sys(m, MODEL_ERR, "warning: --insecure: the server's "
		    "certificate is not checked, anyone on the way can read "
		    "and change this chat");
	}
	c->front_started = 1;
	if (c->o.wait_set || c->o.retry)
		client_warn(c, "--wait and --retry apply to line mode only "
		    "(-b); this screen always reconnects");
	if (c->state_warning[0] != '\0')
		client_warn(c, "%s", c->state_warning);
	if (!c->o.no_resume) {
		tui_history(c);
		if (state_hist_read(&c->state, INPUT_MAX_HIST, tui_hist_add,
		    &m->in, err) == -1)
			client_warn(c, "%s: no lines typed before", err);
	}
	tui_watch(c);
	/* --room: joined at every connect, its window shown at once. */
	conn_set_room(c->conn, model_view_room(c->o.target));
	return 0;
}

void
tui_stop(struct client *c)
{
	ui_end();
	if (c->status == CLIENT_EXIT_OK && c->model.npending > 0 &&
	    c->reason[0] == '\0')
		snprintf(c->reason, sizeof(c->reason), "%zu message%s not "
		    "acknowledged", c->model.npending,
		    c->model.npending == 1 ? " was" : "s were");
	tui_hist_save(c);
	model_release(&c->model);
	free(c->line);
	c->line = NULL;
	free(c->paste);
	c->paste = NULL;
}

/*
 * Send text to target: an entry in its view (made if needed), then the
 * outbox.  A message too big for the server is not sent: returns -1
 * and the caller may put it back in the input line.
 */
static int
tui_send(struct client *c, const char *target, const char *text, size_t len)
{
	struct model	*m = &c->model;
	uint64_t	 seq;
	size_t		 size;
	int		 v, r;

	size = conn_send_size(target, text, len);
	if (size > CONN_MAX_SEND) {
		model_sys(m, MODEL_ERR, "message too long: %zu bytes as sent, "
		    "the server takes at most %d (64 KiB); not sent", size,
		    CONN_MAX_SEND);
		return -1;
	}
	if ((v = tui_view(c, target)) == -1)
		v = 0;
	/* In a room's view our own lines read like everyone's. */
	seq = model_add(m, (size_t)v, MODEL_OWN, time(NULL), m->user,
	    model_view_room(target) != NULL ? NULL : target, text, len);
	if (seq == 0)
		return 0;
	if ((r = conn_send(c->conn, target, text, len, seq, NULL)) != 0) {
		model_set_state(m, seq, MODEL_FAILED, r == CONN_SEND_TOO_BIG ?
		    "too long" : "outbox full");
		return 0;
	}
	m->npending++;
	/* Whoever sends wants to see it. */
	if ((size_t)v == m->cur)
		model_scroll(m, -(long)model_cur(m)->scroll);
	return 0;
}

static void
tui_quit(struct client *c)
{
	struct model	*m = &c->model;

	if (m->npending > 0 && !c->quit_warned) {
		model_sys(m, MODEL_ERR, "%zu message%s not acknowledged yet: "
		    "leaving once %s, /quit again to leave now", m->npending,
		    m->npending == 1 ? " is" : "s are",
		    m->npending == 1 ? "it is" : "they are");
		c->quit_warned = 1;
		return;
	}
	client_exit(c, CLIENT_EXIT_OK, NULL);
}

/*
 * An answer to one of our messages came: if /quit waits for the last
 * one, leave now, and say why once the terminal is back.
 */
static void
tui_answered(struct client *c)
{
	struct model	*m = &c->model;

	if (m->npending > 0)
		m->npending--;
	if (c->quit_warned && m->npending == 0)
		client_exit(c, CLIENT_EXIT_OK, "left after the last message "
		    "was answered, as /quit asked");
}

/* Show view v (0-based) or say there is none. */
static void
tui_window(struct client *c, size_t v)
{
	struct model	*m = &c->model;

	if (v >= m->nviews) {
		model_sys(m, MODEL_ERR, "no window %zu: there are %zu (Alt-1 "
		    "to Alt-%zu)", v + 1, m->nviews, m->nviews < 10 ?
		    m->nviews : 10);
		return;
	}
	model_switch(m, v);
}

static void
tui_submit(struct client *c)
{
	struct model		*m = &c->model;
	struct model_view	*cur;
	struct model_cmd	 cmd;
	const char		*room;
	size_t			 len, i;
	int			 v;

	len = input_take(&m->in, c->line, INPUT_MAX_BYTES + 8);
	m->input_full = 0;
	model_parse_cmd(c->line, len, &cmd);
	if (cmd.type != MODEL_CMD_QUIT)
		c->quit_warned = 0;
	cur = model_cur(m);
	switch (cmd.type) {
	case MODEL_CMD_EMPTY:
		break;
	case MODEL_CMD_TEXT:
		if (m->cur == 0) {
			model_sys(m, MODEL_ERR, "this is the status window: "
			    "/to ID opens a conversation, /msg ID TEXT sends");
			input_set(&m->in, c->line, len);
		} else if (tui_send(c, cur->name, cmd.text, cmd.textlen) ==
		    -1)
			input_set(&m->in, c->line, len);
		break;
	case MODEL_CMD_TO:
		if ((v = tui_view(c, cmd.arg)) == -1) {
			model_sys(m, MODEL_ERR, "too many windows (%d): /close "
			    "some", MODEL_MAX_VIEWS);
			break;
		}
		model_switch(m, (size_t)v);
		model_sys(m, MODEL_SYS, "now talking to %s", cmd.arg);
		break;
	case MODEL_CMD_MSG:
		if (tui_send(c, cmd.arg, cmd.text, cmd.textlen) == -1)
			input_set(&m->in, c->line, len);
		else if ((v = model_view(m, cmd.arg, 0)) != -1 &&
		    (size_t)v != m->cur)
			model_sys(m, MODEL_SYS, "sent to %s, in window %d",
			    cmd.arg, v + 1);
		break;
	case MODEL_CMD_REPLY:
		if (m->last_from[0] == '\0') {
			model_sys(m, MODEL_ERR, "/r: nobody has written to "
			    "you yet");
			break;
		}
		if ((v = tui_view(c, m->last_from)) != -1)
			model_switch(m, (size_t)v);
		if (cmd.textlen > 0 && tui_send(c, m->last_from, cmd.text,
		    cmd.textlen) == -1)
			input_set(&m->in, c->line, len);
		break;
	case MODEL_CMD_WINDOW:
		tui_window(c, (size_t)cmd.num - 1);
		break;
	case MODEL_CMD_CLOSE:
		if (model_close(m) == -1)
			model_sys(m, MODEL_ERR, "the status window stays open");
		else
			tui_watch(c);
		break;
	case MODEL_CMD_WHO:
		if (conn_who(c->conn) == -1)
			model_sys(m, MODEL_ERR, "/who: not connected");
		break;
	case MODEL_CMD_JOIN:
		if (conn_room(c->conn, "join", cmd.arg) == -1)
			model_sys(m, MODEL_ERR, "/join: not connected");
		break;
	case MODEL_CMD_PART:
		room = cmd.arg[0] != '\0' ? cmd.arg :
		    model_view_room(cur->name);
		if (room == NULL)
			model_sys(m, MODEL_ERR, "/part: this is not a room's "
			    "window (/part ROOM)");
		else if (conn_room(c->conn, "leave", room) == -1)
			model_sys(m, MODEL_ERR, "/part: not connected");
		break;
	case MODEL_CMD_NAMES:
		if ((room = model_view_room(cur->name)) == NULL)
			model_sys(m, MODEL_ERR, "/names: this is not a room's "
			    "window");
		else if (conn_room(c->conn, "members", room) == -1)
			model_sys(m, MODEL_ERR, "/names: not connected");
		break;
	case MODEL_CMD_ROOMS:
		if (conn_room(c->conn, "rooms", NULL) == -1)
			model_sys(m, MODEL_ERR, "/rooms: not connected");
		break;
	case MODEL_CMD_HELP:
		for (i = 0; model_help[i] != NULL; i++)
			model_sys(m, MODEL_SYS, "%s", model_help[i]);
		break;
	case MODEL_CMD_QUIT:
		tui_quit(c);
		break;
	case MODEL_CMD_BAD:
		model_sys(m, MODEL_ERR, "%s", cmd.error);
		break;
	}
}

/* Tab: a command name, or a user id from presence, /who and history. */
static void
tui_complete(struct client *c)
{
	struct model	*m = &c->model;
	const char	*ids[MODEL_MAX_USERS];
	size_t		 i;

	if (input_completing_command(&m->in)) {
		input_complete(&m->in, model_commands, model_ncommands);
		return;
	}
	for (i = 0; i < m->nusers; i++)
		ids[i] = m->users[i];
	if (input_complete(&m->in, ids, m->nusers) == 0)
		m->bell = 1;
}

static void
tui_insert(struct client *c, wchar_t wc)
{
	struct model	*m = &c->model;

	if (m->ascii && wc > 0x7e)
		return;
	if (input_insert(&m->in, wc) == 0 || !text_typable(wc))
		return;
	if (!m->input_full)
		model_sys(m, MODEL_ERR, "the message is at its limit of %d "
		    "bytes (the server's): it cannot grow", INPUT_MAX_BYTES);
	m->input_full = 1;
}

/* ---- bracketed paste ---- */

static void
tui_paste_add(struct client *c, unsigned code)
{
	char	buf[4], *p;
	size_t	n;

	if (code == '\n' && c->paste_cr) {
		c->paste_cr = 0;
		return;		/* CR LF: the LF was already counted */
	}
	c->paste_cr = code == '\r';
	if (code == '\r')
		code = '\n';
	if (code > 0x10ffff || (code < 0x20 && code != '\n' && code != '\t'))
		return;
	n = text_utf8_put((wchar_t)code, buf);
	if (c->paste_over || c->pastelen + n > CLIENT_MAX_PASTE) {
		c->paste_over = 1;
		return;
	}
	if (c->paste == NULL) {
		if ((p = malloc(CLIENT_MAX_PASTE)) == NULL) {
			c->paste_over = 1;
			return;
		}
		c->paste = p;
	}
	memcpy(c->paste + c->pastelen, buf, n);
	c->pastelen += n;
}

static void
tui_paste_drop(struct client *c)
{
	free(c->paste);
	c->paste = NULL;
	c->pastelen = 0;
	c->model.ask[0] = '\0';
	c->model.dirty = 1;
}

/* Put the paste into the input line at the cursor, all or nothing. */
static void
tui_paste_edit(struct client *c)
{
	struct model	*m = &c->model;
	struct text_buf	 b;

	memset(&b, 0, sizeof(b));
	b.max = CLIENT_MAX_PASTE;
	text_buf_utf8(&b, c->paste, c->pastelen, CLIENT_MAX_PASTE);
	if (b.failed || input_insert_text(&m->in, b.w, b.len) == -1)
		model_sys(m, MODEL_ERR, "the paste does not fit: a message "
		    "holds at most %d bytes (the server's limit)",
		    INPUT_MAX_BYTES);
	free(b.w);
	tui_paste_drop(c);
}

static void
tui_paste_end(struct client *c)
{
	struct model	*m = &c->model;
	size_t		 i, lines = 1;

	c->pasting = 0;
	if (c->paste_over) {
		model_sys(m, MODEL_ERR, "paste refused: longer than %d bytes",
		    CLIENT_MAX_PASTE);
		tui_paste_drop(c);
		return;
	}
	while (c->pastelen > 0 && c->paste[c->pastelen - 1] == '\n')
		c->pastelen--;
	if (c->pastelen == 0) {
		tui_paste_drop(c);
		return;
	}
	for (i = 0; i < c->pastelen; i++)
		if (c->paste[i] == '\n')
			lines++;
	/* One line, or text to add to: it goes into the line. */
	if (lines == 1 || m->in.len > 0 || m->cur == 0) {
		tui_paste_edit(c);
		return;
	}
	snprintf(m->ask, sizeof(m->ask), "paste of %zu lines to %s: "
	    "s = send %zu messages, o = one message, e = edit, n = drop",
	    lines, model_cur(m)->name, lines);
	m->dirty = 1;
}

/* The answer to the paste question. */
static void
tui_paste_answer(struct client *c, unsigned code)
{
	struct model	*m = &c->model;
	struct model_cmd cmd;
	char		*p, *nl, *end, target[MODEL_MAX_NAME + 1];

	snprintf(target, sizeof(target), "%s", model_cur(m)->name);
	switch (code) {
	case 's':
	case 'S':
		/* Each line as typed text would be, but never a command. */
		end = c->paste + c->pastelen;
		for (p = c->paste; p < end; p = nl + 1) {
			if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
				nl = end;
			model_parse_cmd(p, (size_t)(nl - p), &cmd);
			if (cmd.type != MODEL_CMD_EMPTY)
				(void)tui_send(c, target, p, (size_t)(nl - p));
		}
		break;
	case 'o':
	case 'O':
		(void)tui_send(c, target, c->paste, c->pastelen);
		break;
	case 'e':
	case 'E':
		tui_paste_edit(c);
		return;
	case 'n':
	case 'N':
	case KEY_ESC:
	case CTRL('C'):
	case CTRL('G'):
		model_sys(m, MODEL_SYS, "paste dropped");
		break;
	default:
		m->bell = 1;
		return;
	}
	tui_paste_drop(c);
}

/* ---- keys ---- */

/* A key while Ctrl-R searches; returns 1 when it was taken. */
static int
tui_search_key(struct client *c, enum ui_key_type type, unsigned code,
    int meta)
{
	struct input	*in = &c->model.in;

	c->model.dirty = 1;
	if (meta) {
		input_search_accept(in);
		return 0;
	}
	if (type == UI_CHAR) {
		switch (code) {
		case CTRL('R'):
			input_search_start(in);
			return 1;
		case CTRL('G'):
		case KEY_ESC:
			input_search_cancel(in);
			return 1;
		case CTRL('H'):
		case 0x7f:
			input_search_backspace(in);
			return 1;
		case '\r':
			input_search_accept(in);
			return 0;	/* and send */
		default:
			if (code >= 0x20 && code != 0x7f) {
				input_search_key(in, (wchar_t)code);
				return 1;
			}
			break;
		}
	} else if (code == KEY_BACKSPACE) {
		input_search_backspace(in);
		return 1;
	}
	input_search_accept(in);
	return 0;
}

/* Alt (Meta) with a key: ESC came just before it. */
static void
tui_meta(struct client *c, enum ui_key_type type, unsigned code)
{
	struct model	*m = &c->model;
	int		 v;

	if (type == UI_KEY) {
		switch (code) {
		case KEY_LEFT:
			model_switch_rel(m, -1);
			break;
		case KEY_RIGHT:
			model_switch_rel(m, 1);
			break;
		case KEY_BACKSPACE:
			input_edit(&m->in, INPUT_KILL_WORD_BACK);
			break;
		case KEY_ENTER:
			tui_insert(c, '\n');
			break;
		}
		return;
	}
	switch (code) {
	case 'b':
	case 'B':
		input_edit(&m->in, INPUT_WORD_LEFT);
		break;
	case 'f':
	case 'F':
		input_edit(&m->in, INPUT_WORD_RIGHT);
		break;
	case 'd':
	case 'D':
		input_edit(&m->in, INPUT_KILL_WORD);
		break;
	case CTRL('H'):
	case 0x7f:
		input_edit(&m->in, INPUT_KILL_WORD_BACK);
		break;
	case '\r':
	case '\n':
		tui_insert(c, '\n');
		break;
	case 'a':
	case 'A':
		if ((v = model_next_active(m)) != -1)
			model_switch(m, (size_t)v);
		break;
	case '0':
		tui_window(c, 9);
		break;
	default:
		if (code >= '1' && code <= '9')
			tui_window(c, code - '1');
		break;
	}
}

static void
tui_curses_key(struct client *c, unsigned code)
{
	struct model	*m = &c->model;
	long		 page = m->pane_h > 2 ? m->pane_h - 1 : 1;

	switch (code) {
	case KEY_ENTER:
		tui_submit(c);
		break;
	case KEY_LEFT:
		input_edit(&m->in, INPUT_LEFT);
		break;
	case KEY_RIGHT:
		input_edit(&m->in, INPUT_RIGHT);
		break;
	case KEY_HOME:
		input_edit(&m->in, INPUT_HOME);
		break;
	case KEY_END:
		input_edit(&m->in, INPUT_END);
		break;
	case KEY_BACKSPACE:
		input_edit(&m->in, INPUT_BACKSPACE);
		break;
	case KEY_DC:
		input_edit(&m->in, INPUT_DELETE);
		break;
	case KEY_UP:
		input_edit(&m->in, INPUT_HIST_PREV);
		break;
	case KEY_DOWN:
		input_edit(&m->in, INPUT_HIST_NEXT);
		break;
	case KEY_PPAGE:
		model_scroll(m, page);
		break;
	case KEY_NPAGE:
		model_scroll(m, -page);
		break;
	case UI_K_ALT_LEFT:
		model_switch_rel(m, -1);
		break;
	case UI_K_ALT_RIGHT:
		model_switch_rel(m, 1);
		break;
	case KEY_RESIZE:
		/* resizeterm() queued it: the size is known. */
		break;
	default:
		break;
	}
}

static void
tui_char(struct client *c, unsigned code)
{
	struct model	*m = &c->model;

	switch (code) {
	case '\r':
		tui_submit(c);
		break;
	case '\n':		/* Ctrl-J */
		tui_insert(c, '\n');
		break;
	case '\t':
		tui_complete(c);
		break;
	case CTRL('A'):
		input_edit(&m->in, INPUT_HOME);
		break;
	case CTRL('B'):
		input_edit(&m->in, INPUT_LEFT);
		break;
	case CTRL('D'):
		if (m->in.len == 0)
			tui_quit(c);
		else
			input_edit(&m->in, INPUT_DELETE);
		break;
	case CTRL('E'):
		input_edit(&m->in, INPUT_END);
		break;
	case CTRL('F'):
		input_edit(&m->in, INPUT_RIGHT);
		break;
	case CTRL('H'):
	case 0x7f:
		input_edit(&m->in, INPUT_BACKSPACE);
		break;
	case CTRL('K'):
		input_edit(&m->in, INPUT_KILL_END);
		break;
	case CTRL('L'):
		ui_redraw_all();
		break;
	case CTRL('N'):
		model_switch_rel(m, 1);
		break;
	case CTRL('P'):
		model_switch_rel(m, -1);
		break;
	case CTRL('R'):
		input_search_start(&m->in);
		break;
	case CTRL('T'):
		input_edit(&m->in, INPUT_TRANSPOSE);
		break;
	case CTRL('U'):
		input_edit(&m->in, INPUT_KILL_START);
		break;
	case CTRL('W'):
		input_edit(&m->in, INPUT_KILL_SPACE_WORD);
		break;
	case CTRL('Y'):
		input_edit(&m->in, INPUT_YANK);
		break;
	default:
		if (code >= 0x20 && code != 0x7f)
			tui_insert(c, (wchar_t)code);
		break;
	}
}

static void
tui_key(struct client *c, enum ui_key_type type, unsigned code)
{
	struct model	*m = &c->model;
	int		 meta = 0;

	if (log_enabled(LOG_DEBUG2))
		log_msg(LOG_DEBUG2, "%s %#x", type == UI_KEY ? "key" : "char",
		    code);
	m->dirty = 1;
	if (c->pasting) {
		if (type == UI_KEY && code == UI_K_PASTE_END)
			tui_paste_end(c);
		else if (type == UI_CHAR)
			tui_paste_add(c, code);
		return;
	}
	if (type == UI_KEY && code == UI_K_PASTE_START) {
		c->esc = 0;
		if (m->ask[0] != '\0')
			tui_paste_drop(c);	/* a new paste replaces it */
		c->pasting = 1;
		c->pastelen = 0;
		c->paste_over = 0;
		c->paste_cr = 0;
		return;
	}
	if (c->esc) {
		c->esc = 0;
		meta = 1;
	} else if (type == UI_CHAR && code == KEY_ESC) {
		c->esc = 1;
		return;
	}
	if (m->ask[0] != '\0') {
		tui_paste_answer(c, meta ? KEY_ESC : code);
		return;
	}
	if (m->in.searching && tui_search_key(c, type, code, meta))
		return;
	if (meta)
		tui_meta(c, type, code);
	else if (type == UI_KEY)
		tui_curses_key(c, code);
	else
		tui_char(c, code);
}

void
tui_on_input(struct client *c)
{
	enum ui_key_type	type;
	unsigned		code;
	int			n = 0;

	/* Bounded, so a paste cannot starve the socket. */
	while (n++ < 4096 && !c->quit &&
	    (type = ui_getkey(&code)) != UI_NONE)
		tui_key(c, type, code);
	/* An ESC with nothing after it is the Esc key: it cancels. */
	if (c->esc && n <= 4096) {
		c->esc = 0;
		if (c->model.ask[0] != '\0')
			tui_paste_answer(c, KEY_ESC);
		else if (c->model.in.searching)
			input_search_cancel(&c->model.in);
		c->model.dirty = 1;
	}
}

void
tui_on_resize(struct client *c)
{
	ui_resize();
	c->model.dirty = 1;
}

void
tui_on_state(struct client *c, enum conn_state st)
{
	struct model	*m = &c->model;
	const char	*err = conn_error(c->conn);
	char		 why[DIAL_ERRLEN + 64];
	enum conn_auth	 auth;

	switch (st) {
	case CONN_DIALING:
		m->conn = MODEL_CONNECTING;
		break;
	case CONN_OPEN:
		m->conn = MODEL_CONNECTED;
		model_sys(m, MODEL_SYS, "connected to %s", c->o.url_text);

		c->shown_error[0] = '\0';
		m->why[0] = '\0';
		break;
	case CONN_WAITING:
		m->conn = MODEL_RECONNECTING;
		/* Who is online is not known until we are back. */
		model_set_online(m, NULL, -1);
		auth = conn_auth(c->conn);
		/* A refused token stays in the status bar until it passes. */
		if (auth == CONN_AUTH_REFUSED &&
		    strncmp(err, CONN_REFUSED, strlen(CONN_REFUSED)) == 0)
			snprintf(m->why, sizeof(m->why), "refused: %s",
			    err + strlen(CONN_REFUSED));
		else if (auth == CONN_AUTH_EXPIRED)
			snprintf(m->why, sizeof(m->why), "token expired");
		else
			m->why[0] = '\0';
		err = client_conn_why(c, why, sizeof(why));
		/* Say why once, not at every attempt. */
		if (strcmp(err, c->shown_error) != 0) {
			if (auth == CONN_AUTH_EXPIRED)
				model_sys(m, MODEL_ERR, "%s; reconnecting", err);
			else if (strncmp(err, "server closed", 13) == 0 ||
			    strncmp(err, "connection lost", 15) == 0)
				model_sys(m, MODEL_ERR, "%s", err);
			else
				model_sys(m, MODEL_ERR, "cannot connect to "
				    "'%s': %s", c->o.url_text, err);
			snprintf(c->shown_error, sizeof(c->shown_error), "%s",
			    err);
		}
		break;
	case CONN_CLOSING:
	case CONN_CLOSED:
		break;
	}
	m->dirty = 1;
}

static void
tui_presence(struct client *c, const struct codec_ev *ev)
{
	struct model		*m = &c->model;
	struct model_view	*view;
	int			 v;

	if (ev->online)
		model_user_seen(m, ev->user);
	if ((v = model_view(m, ev->user, 0)) == -1)
		return;
	view = m->views[v];
	/*
	 * Said once for each change, not again after a reconnect; the
	 * first news of a view not shown is not worth an activity mark.
	 */
	if (view->told != ev->online && (view->told != -1 ||
	    (size_t)v == m->cur))
		model_sys_to(m, (size_t)v, MODEL_SYS, "%s is %s", ev->user,
		    ev->online ? "online" : "offline: messages will be queued");
	view->told = ev->online;
	model_set_online(m, ev->user, ev->online);
}

/* "a, b and 3 more" of ev's users into list[len]; each is remembered. */
static void
tui_users(struct client *c, const struct codec_ev *ev, char *list,
    size_t len)
{
	size_t	i, n = 0;

	list[0] = '\0';
	for (i = 0; i < ev->nusers && n < len - 80; i++)
		n += (size_t)snprintf(list + n, len - n, "%s%s",
		    i > 0 ? ", " : "", ev->users[i]);
	if (i < ev->nusers || ev->truncated)
		snprintf(list + n, len - n, " and %zu more",
		    ev->nusers - i);
	for (i = 0; i < ev->nusers; i++)
		model_user_seen(&c->model, ev->users[i]);
}

/* A message to a room: in its view; ours if sent from elsewhere. */
static void
tui_room_chat(struct client *c, const struct codec_ev *ev)
{
	struct model	*m = &c->model;
	char		 name[MODEL_MAX_NAME + 1];
	time_t		 t = ev->ts != 0 ? (time_t)(ev->ts / 1000) : time(NULL);
	uint64_t	 seq;
	int		 v, own = strcmp(ev->from, m->user) == 0;

	model_room_view_name(name, ev->room);
	if ((v = tui_view(c, name)) == -1)
		v = 0;
	seq = model_add(m, (size_t)v, own ? MODEL_OWN : MODEL_IN, t,
	    ev->from, NULL, ev->message, ev->message_len);
	if (seq == 0)
		return;
	if (own)
		model_set_state(m, seq, MODEL_ELSEWHERE, NULL);
	else
		model_user_seen(m, ev->from);
	client_chat_shown(c, ev);
}

/* joined, left, member, members, rooms: lines in the room's view. */
static void
tui_room_event(struct client *c, const struct codec_ev *ev)
{
	struct model	*m = &c->model;
	char		 name[MODEL_MAX_NAME + 1], list[1024];
	size_t		 i, n = 0;
	int		 v, self = strcmp(ev->user, m->user) == 0;

	model_room_view_name(name, ev->room);
	switch (ev->type) {
	case CODEC_EV_JOINED:
		/* Only our own join is answered: show its room. */
		if ((v = tui_view(c, name)) == -1) {
			model_sys(m, MODEL_ERR, "joined %s, but there are too "
			    "many windows (%d): /close some", name,
			    MODEL_MAX_VIEWS);
			return;
		}
		if (model_view_room(c->o.target) != NULL &&
		    strcmp(model_view_room(c->o.target), ev->room) == 0)
			c->room_joined = 1;
		model_switch(m, (size_t)v);
		tui_users(c, ev, list, sizeof(list));
		model_sys_to(m, (size_t)v, MODEL_SYS, "you are in %s; members "
		    "(%zu): %s", name, ev->nusers, list);
		break;
	case CODEC_EV_MEMBERS:
		if ((v = model_view(m, name, 0)) == -1)
			v = 0;
		tui_users(c, ev, list, sizeof(list));
		model_sys_to(m, (size_t)v, MODEL_SYS, "members of %s (%zu): %s",
		    name, ev->nusers, list);
		break;
	case CODEC_EV_LEFT:
		if ((v = model_view(m, name, 0)) == -1)
			v = 0;
		model_sys_to(m, (size_t)v, MODEL_SYS, "you left %s", name);
		break;
	case CODEC_EV_MEMBER:
		/*
		 * Our own join from another device opens the room here too;
		 * other news goes only to a view that is open.
		 */
		v = self && ev->joined ? tui_view(c, name) :
		    model_view(m, name, 0);
		if (v == -1)
			break;
		if (!self)
			model_user_seen(m, ev->user);
		model_sys_to(m, (size_t)v, MODEL_SYS, "%s %s %s%s",
		    self ? "you" : ev->user, ev->joined ? "joined" : "left",
		    name, self ? " (on another device)" : "");
		break;
	case CODEC_EV_ROOMS:
		list[0] = '\0';
		for (i = 0; i < ev->nrooms && n < sizeof(list) - 100; i++)
			n += (size_t)snprintf(list + n, sizeof(list) - n,
			    "%s#%s (%llu)", i > 0 ? ", " : "",
			    ev->rooms[i].room,
			    (unsigned long long)ev->rooms[i].members);
		if (i < ev->nrooms)
			snprintf(list + n, sizeof(list) - n, " and %zu more",
			    ev->nrooms - i);
		model_sys(m, MODEL_SYS, "your rooms (%zu): %s", ev->nrooms,
		    ev->nrooms > 0 ? list : "none (/join ROOM)");
		break;
	default:
		break;
	}
}

void
tui_on_event(struct client *c, const struct codec_ev *ev, const char *raw,
    size_t rawlen, const struct conn_sent *sent)
{
	struct model	*m = &c->model;
	char		 list[1024], reason[CODEC_MAX_DETAIL + 40];
	time_t		 t;
	uint64_t	 seq;
	char		 why[256];
	int		 v;

	switch (ev->type) {
	case CODEC_EV_CHAT:
		if (ev->room[0] != '\0') {
			tui_room_chat(c, ev);
			break;
		}
		t = ev->ts != 0 ? (time_t)(ev->ts / 1000) : time(NULL);
		if ((v = tui_view(c, ev->from)) == -1)
			v = 0;
		if (model_add(m, (size_t)v, MODEL_IN, t, ev->from, NULL,
		    ev->message, ev->message_len) != 0)
			client_chat_shown(c, ev);
		snprintf(m->last_from, sizeof(m->last_from), "%s", ev->from);
		break;
	case CODEC_EV_SENT:
		t = ev->ts != 0 ? (time_t)(ev->ts / 1000) : time(NULL);
		if ((v = tui_view(c, ev->target)) == -1)
			v = 0;
		seq = model_add(m, (size_t)v, MODEL_OWN, t, m->user,
		    ev->target, ev->message, ev->message_len);
		if (seq != 0) {
			model_set_state(m, seq, MODEL_ELSEWHERE, NULL);
			client_sent_elsewhere(c, ev);
		}
		break;
	case CODEC_EV_ACK:
		if (sent == NULL)
			break;
		model_set_state(m, sent->tag, strcmp(ev->status, "queued") ==
		    0 ? MODEL_QUEUED : MODEL_DELIVERED, NULL);
		client_sent_acked(c, sent, strcmp(ev->status, "queued") == 0 ?
		    "queued" : "delivered");
		client_own_seq(c, ev->seq);
		if (ev->missed > 0 && (v = model_view(m, sent->target, 0)) !=
		    -1)
			model_sys_to(m, (size_t)v, MODEL_ERR, "%llu member%s "
			    "did not get that message: their inbox refused it",
			    (unsigned long long)ev->missed, ev->missed == 1 ?
			    "" : "s");
		tui_answered(c);
		break;
	case CODEC_EV_ERROR:
		if (sent != NULL) {
			snprintf(reason, sizeof(reason), "%s: %s", ev->error,
			    ev->detail);
			model_set_state(m, sent->tag, MODEL_FAILED, reason);
			tui_answered(c);
		} else
			model_sys(m, MODEL_ERR, "server error: %s: %s",
			    ev->error, ev->detail);
		break;
	case CODEC_EV_WHO:
		tui_users(c, ev, list, sizeof(list));
		model_sys(m, MODEL_SYS, "online (%zu): %s", ev->nusers,
		    ev->nusers > 0 ? list : "nobody");
		break;
	case CODEC_EV_PRESENCE:
		tui_presence(c, ev);
		break;
	case CODEC_EV_RESUMED:
		if (client_resumed(c, ev, why, sizeof(why)))
			model_sys(m, MODEL_ERR, "%s", why);
		break;
	case CODEC_EV_EXPIRED:
		client_expired(c, ev, why, sizeof(why));
		model_sys(m, MODEL_ERR, "%s", why);
		break;
	case CODEC_EV_JOINED:
	case CODEC_EV_LEFT:
	case CODEC_EV_MEMBER:
	case CODEC_EV_MEMBERS:
	case CODEC_EV_ROOMS:
		tui_room_event(c, ev);
		break;
	case CODEC_EV_OTHER:
		break;
	}
}

void
tui_tick(struct client *c, uint64_t now)
{
	struct model	*m = &c->model;
	uint64_t	 at;
	unsigned	 secs;

	if (m->in.changed) {
		m->in.changed = 0;
		m->dirty = 1;
	}
	if (conn_state(c->conn) != CONN_WAITING)
		return;
	at = conn_retry_at(c->conn);
	secs = at > now ? (unsigned)((at - now + 999) / 1000) : 0;
	if (secs != m->retry_in) {
		m->retry_in = secs;
		m->dirty = 1;
	}
}

int
tui_timeout(const struct client *c, uint64_t now)
{
	uint64_t	at;

	/* Wake at each second boundary of the countdown. */
	if (conn_state(c->conn) != CONN_WAITING)
		return -1;
	at = conn_retry_at(c->conn);
	if (at <= now)
		return 0;
	return (int)((at - now) % 1000) + 1;
}

void
tui_draw(struct client *c)
{
	if (!c->model.dirty && !c->model.in.changed)
		return;
	ui_draw(&c->model);
	c->model.dirty = 0;
	c->model.in.changed = 0;
}
