/*
 * Copyright (c) 2026 The chat authors.
 *
 * tui: the interactive session's logic.  Keys from ui.c become edits of
 * the model or actions on the connection; server events and connection
 * changes become history entries and status fields.  At start it shows
 * the end of the conversation log (state.c), between two marker lines,
 * before anything from the server.  It holds no curses calls beyond
 * what ui.c exports and never touches a socket directly.
 */
#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client.h"
#include "conn.h"
#include "log.h"
#include "model.h"
#include "util.h"

#define CTRL(c)		((c) & 0x1f)

/*
 * The last entries of the log, all conversations, marked as history;
 * a line with the date comes first and wherever the day changes.
 */
static void
tui_history(struct client *c)
{
	struct model		*m = &c->model;
	struct state_entry	*e;
	struct tm		 tm;
	time_t			 t;
	char			 err[STATE_ERRLEN], day[64], last[64] = "";
	size_t			 n, i;
	uint64_t		 seq;

	if (state_log_tail(&c->state, STATE_HISTORY, &e, &n, err) == -1) {
		client_warn(c, "%s: no history shown", err);
		return;
	}
	if (n == 0)
		return;
	model_sys(m, MODEL_SYS, "--- history ---");
	for (i = 0; i < n; i++) {
		t = (time_t)(e[i].ts / 1000);
		if (localtime_r(&t, &tm) != NULL &&
		    strftime(day, sizeof(day), "%a %e %b %Y", &tm) > 0 &&
		    strcmp(day, last) != 0) {
			model_sys(m, MODEL_SYS, "%s", day);
			snprintf(last, sizeof(last), "%s", day);
		}
		if (e[i].way == STATE_IN) {
			model_add(m, MODEL_IN, t, e[i].from, NULL, e[i].text,
			    e[i].len);
			continue;
		}
		seq = model_add(m, MODEL_OWN, t, e[i].from, e[i].to,
		    e[i].text, e[i].len);
		if (seq != 0)
			model_set_state(m, seq, strcmp(e[i].status,
			    "queued") == 0 ? MODEL_QUEUED : MODEL_DELIVERED,
			    NULL);
	}
	model_sys(m, MODEL_SYS, "--- end of history ---");
	state_entries_free(e, n);
}

int
tui_start(struct client *c)
{
	struct model	*m = &c->model;

	if (model_init(m, c->o.user, c->o.target, c->o.url_text) == -1)
		return -1;
	if (ui_init() == -1)
		return -1;
	model_sys(m, MODEL_SYS, "chat-client %s: you are %s%s%s; "
	    "type /help for help", CHAT_VERSION, c->o.user,
	    c->o.target[0] != '\0' ? ", talking to " : "", c->o.target);
	if (c->o.insecure) {
		m->insecure = 1;
		model_sys(m, MODEL_ERR, "warning: --insecure: the server's "
		    "certificate is not checked, anyone on the way can read "
		    "and change this chat");
	}
	c->front_started = 1;
	if (c->state_warning[0] != '\0')
		client_warn(c, "%s", c->state_warning);
	if (!c->o.no_resume)
		tui_history(c);
	if (c->o.target[0] != '\0')
		conn_watch(c->conn, c->o.target);
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
	model_release(&c->model);
}

static void
tui_send(struct client *c, const char *text, size_t len)
{
	struct model	*m = &c->model;
	uint64_t	 seq;

	if (m->target[0] == '\0') {
		model_sys(m, MODEL_ERR, "no target: use /to ID first");
		return;
	}
	seq = model_add(m, MODEL_OWN, time(NULL), m->user, m->target, text,
	    len);
	if (seq == 0)
		return;
	if (conn_send(c->conn, m->target, text, len, seq, NULL) == -1) {
		model_set_state(m, seq, MODEL_FAILED, "outbox full");
		return;
	}
	m->npending++;
	/* Whoever sends wants to see it. */
	model_scroll(m, -(long)m->scroll);
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

static void
tui_submit(struct client *c)
{
	struct model		*m = &c->model;
	struct model_cmd	 cmd;
	char			 line[MODEL_MAX_INPUT + 8];
	size_t			 len, i;

	len = model_input_take(m, line, sizeof(line));
	model_parse_cmd(line, len, &cmd);
	if (cmd.type != MODEL_CMD_QUIT)
		c->quit_warned = 0;
	switch (cmd.type) {
	case MODEL_CMD_EMPTY:
		break;
	case MODEL_CMD_TEXT:
		tui_send(c, cmd.text, cmd.textlen);
		break;
	case MODEL_CMD_TO:
		snprintf(m->target, sizeof(m->target), "%s", cmd.arg);
		m->target_online = -1;
		conn_watch(c->conn, m->target);
		model_sys(m, MODEL_SYS, "now talking to %s", m->target);
		break;
	case MODEL_CMD_WHO:
		if (conn_who(c->conn) == -1)
			model_sys(m, MODEL_ERR, "/who: not connected");
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

static void
tui_key(struct client *c, enum ui_key_type type, unsigned code)
{
	struct model	*m = &c->model;
	long		 page = m->pane_h > 2 ? m->pane_h - 1 : 1;

	if (log_enabled(LOG_DEBUG2))
		log_msg(LOG_DEBUG2, "%s %#x", type == UI_KEY ? "key" : "char",
		    code);
	if (type == UI_KEY) {
		switch (code) {
		case KEY_ENTER:
			tui_submit(c);
			break;
		case KEY_LEFT:
			model_input_edit(m, MODEL_LEFT);
			break;
		case KEY_RIGHT:
			model_input_edit(m, MODEL_RIGHT);
			break;
		case KEY_HOME:
			model_input_edit(m, MODEL_HOME);
			break;
		case KEY_END:
			model_input_edit(m, MODEL_END);
			break;
		case KEY_BACKSPACE:
			model_input_edit(m, MODEL_BACKSPACE);
			break;
		case KEY_DC:
			model_input_edit(m, MODEL_DELETE);
			break;
		case KEY_UP:
			model_input_edit(m, MODEL_HIST_PREV);
			break;
		case KEY_DOWN:
			model_input_edit(m, MODEL_HIST_NEXT);
			break;
		case KEY_PPAGE:
			model_scroll(m, page);
			break;
		case KEY_NPAGE:
			model_scroll(m, -page);
			break;
		case KEY_RESIZE:
			/* resizeterm() queued it: the size is known. */
			m->dirty = 1;
			break;
		default:
			break;
		}
		return;
	}
	switch (code) {
	case '\r':
	case '\n':
		tui_submit(c);
		break;
	case CTRL('A'):
		model_input_edit(m, MODEL_HOME);
		break;
	case CTRL('B'):
		model_input_edit(m, MODEL_LEFT);
		break;
	case CTRL('D'):
		if (m->ilen == 0)
			tui_quit(c);
		else
			model_input_edit(m, MODEL_DELETE);
		break;
	case CTRL('E'):
		model_input_edit(m, MODEL_END);
		break;
	case CTRL('F'):
		model_input_edit(m, MODEL_RIGHT);
		break;
	case CTRL('H'):
	case 0x7f:
		model_input_edit(m, MODEL_BACKSPACE);
		break;
	case CTRL('K'):
		model_input_edit(m, MODEL_KILL_END);
		break;
	case CTRL('L'):
		ui_redraw_all();
		m->dirty = 1;
		break;
	case CTRL('N'):
		model_input_edit(m, MODEL_HIST_NEXT);
		break;
	case CTRL('P'):
		model_input_edit(m, MODEL_HIST_PREV);
		break;
	case CTRL('U'):
		model_input_edit(m, MODEL_KILL_START);
		break;
	case CTRL('W'):
		model_input_edit(m, MODEL_KILL_WORD);
		break;
	default:
		if (code >= 0x20)
			model_input_insert(m, (wchar_t)code);
		break;
	}
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

void
tui_on_event(struct client *c, const struct codec_ev *ev, const char *raw,
    size_t rawlen, const struct conn_sent *sent)
{
	struct model	*m = &c->model;
	char		 list[1024], reason[CODEC_MAX_DETAIL + 40];
	size_t		 i, n;
	time_t		 t;
	uint64_t	 dropped;

	switch (ev->type) {
	case CODEC_EV_CHAT:
		t = ev->ts != 0 ? (time_t)(ev->ts / 1000) : time(NULL);
		if (model_add(m, MODEL_IN, t, ev->from, NULL, ev->message,
		    ev->message_len) != 0)
			client_chat_shown(c, ev);
		break;
	case CODEC_EV_ACK:
		if (sent == NULL)
			break;
		model_set_state(m, sent->tag, strcmp(ev->status, "queued") ==
		    0 ? MODEL_QUEUED : MODEL_DELIVERED, NULL);
		client_sent_acked(c, sent, strcmp(ev->status, "queued") == 0 ?
		    "queued" : "delivered");
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
		n = 0;
		list[0] = '\0';
		for (i = 0; i < ev->nusers && n < sizeof(list) - 80; i++)
			n += (size_t)snprintf(list + n, sizeof(list) - n,
			    "%s%s", i > 0 ? ", " : "", ev->users[i]);
		if (i < ev->nusers)
			snprintf(list + n, sizeof(list) - n, " and %zu more",
			    ev->nusers - i);
		model_sys(m, MODEL_SYS, "online (%zu): %s", ev->nusers,
		    ev->nusers > 0 ? list : "nobody");
		break;
	case CODEC_EV_PRESENCE:
		if (strcmp(ev->user, m->target) != 0)
			break;
		if (m->target_online != ev->online)
			model_sys(m, MODEL_SYS, "%s is %s", ev->user,
			    ev->online ? "online" :
			    "offline: messages will be queued");
		m->target_online = ev->online;
		break;
	case CODEC_EV_RESUMED:
		dropped = client_resumed(c, ev);
		if (dropped > 0)
			model_sys(m, MODEL_ERR, "%llu older message%s dropped "
			    "by the server's retention",
			    (unsigned long long)dropped, dropped == 1 ?
			    " was" : "s were");
		break;
	case CODEC_EV_SENT:
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
	if (!c->model.dirty)
		return;
	ui_draw(&c->model);
	c->model.dirty = 0;
}
