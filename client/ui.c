/*
 * Copyright (c) 2026 The chat authors.
 *
 * ui: the only file that calls curses.  It draws a model (message pane,
 * status bar, input line) into stdscr and ends each pass with one
 * doupdate(); it reads keys without waiting.  It never changes the
 * model except for the pane size and the input line's horizontal
 * scroll, and never touches the network.  ui_end() is safe to call
 * more than once (main() also runs it at exit), so every way out
 * restores the terminal.
 */
#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <wchar.h>

#include "client.h"
#include "model.h"

#define UI_PROMPT	L"> "
#define UI_PROMPT_W	2

enum ui_pair {
	UI_PAIR_OWN = 1,
	UI_PAIR_FROM,
	UI_PAIR_SYS,
	UI_PAIR_ERR,
	UI_PAIR_BAR,
	UI_PAIR_TIME,
	UI_PAIR_WARN
};

static SCREEN	*ui_screen;
static int	 ui_colour;

/* Row starts and ends of one entry, reused across draws. */
static size_t	*ui_rows;
static size_t	 ui_rows_cap;

int
ui_init(void)
{
	if ((ui_screen = newterm(NULL, stdout, stdin)) == NULL)
		return -1;
	set_term(ui_screen);
	cbreak();
	noecho();
	nonl();
	intrflush(stdscr, FALSE);
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	set_escdelay(25);
	curs_set(1);
	if (has_colors() && start_color() == OK) {
		use_default_colors();
		init_pair(UI_PAIR_OWN, COLOR_CYAN, -1);
		init_pair(UI_PAIR_FROM, COLOR_GREEN, -1);
		init_pair(UI_PAIR_SYS, COLOR_YELLOW, -1);
		init_pair(UI_PAIR_ERR, COLOR_RED, -1);
		init_pair(UI_PAIR_BAR, COLOR_WHITE, COLOR_BLUE);
		init_pair(UI_PAIR_TIME, COLOR_BLUE, -1);
		init_pair(UI_PAIR_WARN, COLOR_WHITE, COLOR_RED);
		ui_colour = 1;
	}
	return 0;
}

void
ui_end(void)
{
	if (ui_screen == NULL)
		return;
	endwin();
	delscreen(ui_screen);
	ui_screen = NULL;
	free(ui_rows);
	ui_rows = NULL;
	ui_rows_cap = 0;
}

void
ui_resize(void)
{
	struct winsize	ws;

	if (ui_screen == NULL)
		return;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 &&
	    ws.ws_col > 0)
		resizeterm(ws.ws_row, ws.ws_col);
	clearok(curscr, TRUE);
}

void
ui_redraw_all(void)
{
	if (ui_screen != NULL)
		clearok(curscr, TRUE);
}

enum ui_key_type
ui_getkey(unsigned *code)
{
	wint_t	wc;
	int	r;

	if (ui_screen == NULL)
		return UI_NONE;
	r = get_wch(&wc);
	if (r == ERR)
		return UI_NONE;
	*code = (unsigned)wc;
	return r == KEY_CODE_YES ? UI_KEY : UI_CHAR;
}

/* The attribute for segment seg (0 stamp, 1 sender, 2 text, 3 state). */
static attr_t
ui_attr(const struct model_entry *e, int seg)
{
	attr_t	a = A_NORMAL;

	switch (e->kind) {
	case MODEL_OWN:
		if (seg == 1)
			a = A_BOLD | (ui_colour ? COLOR_PAIR(UI_PAIR_OWN) : 0);
		else if (seg == 3 && e->state == MODEL_FAILED)
			a = A_BOLD | (ui_colour ? COLOR_PAIR(UI_PAIR_ERR) :
			    A_STANDOUT);
		else if (seg == 3)
			a = A_DIM;
		break;
	case MODEL_IN:
		if (seg == 1)
			a = ui_colour ? COLOR_PAIR(UI_PAIR_FROM) | A_BOLD :
			    A_UNDERLINE;
		break;
	case MODEL_SYS:
		if (seg >= 1)
			a = ui_colour ? COLOR_PAIR(UI_PAIR_SYS) : A_DIM;
		break;
	case MODEL_ERR:
		if (seg >= 1)
			a = A_BOLD | (ui_colour ? COLOR_PAIR(UI_PAIR_ERR) : 0);
		break;
	}
	if (seg == 0 && ui_colour)
		a |= COLOR_PAIR(UI_PAIR_TIME);
	return a;
}

static void
ui_draw_row(const struct model_entry *e, size_t a, size_t b, int y)
{
	size_t	bounds[4], i, end;
	int	seg;

	bounds[0] = e->tend;
	bounds[1] = e->fend;
	bounds[2] = e->xend;
	bounds[3] = e->wlen;
	move(y, 0);
	for (i = a; i < b; i = end) {
		for (seg = 0; seg < 3 && i >= bounds[seg]; seg++)
			;
		end = bounds[seg] < b ? bounds[seg] : b;
		if (end <= i)
			end = b;
		attrset(ui_attr(e, seg));
		addnwstr(e->w + i, (int)(end - i));
	}
	attrset(A_NORMAL);
}

/* Fill ui_rows with start/end pairs; returns the number of rows. */
static size_t
ui_layout(const struct model_entry *e, int width)
{
	size_t	pos = 0, next, end, n = 0, ncap, *p;

	do {
		if (n == ui_rows_cap) {
			ncap = ui_rows_cap ? ui_rows_cap * 2 : 64;
			if ((p = realloc(ui_rows, 2 * ncap * sizeof(*p))) ==
			    NULL)
				return n;
			ui_rows = p;
			ui_rows_cap = ncap;
		}
		end = model_row(e->w, e->wlen, pos, width, &next);
		ui_rows[2 * n] = pos;
		ui_rows[2 * n + 1] = end;
		n++;
		pos = next;
	} while (pos < e->wlen);
	return n;
}

static void
ui_draw_pane(struct model *m, int height, int width)
{
	const struct model_entry *e;
	size_t			 i, r, nrows, skip = m->scroll;
	int			 y = height - 1;
	char			 marker[80];

	if (m->scroll > 0 && height > 1) {
		/* The last row says there is more below. */
		if (m->unread > 0)
			snprintf(marker, sizeof(marker), " -- %zu new "
			    "message%s below: PgDn -- ", m->unread,
			    m->unread == 1 ? "" : "s");
		else
			snprintf(marker, sizeof(marker),
			    " -- more below: PgDn -- ");
		attrset(A_REVERSE | A_BOLD);
		mvaddnstr(y, 0, marker, width);
		attrset(A_NORMAL);
		y--;
	}
	for (i = m->count; i > 0 && y >= 0; i--) {
		e = model_entry_at(m, i - 1);
		nrows = ui_layout(e, width);
		for (r = nrows; r > 0 && y >= 0; r--) {
			if (skip > 0) {
				skip--;
				continue;
			}
			ui_draw_row(e, ui_rows[2 * (r - 1)],
			    ui_rows[2 * (r - 1) + 1], y--);
		}
	}
}

/* Draw s (UTF-8), cut to fit width columns from x. */
static void
ui_put_cut(int y, int x, const char *s, int width)
{
	wchar_t	w[512];
	size_t	n, i;
	int	cols = 0, cw;

	n = mbstowcs(w, s, sizeof(w) / sizeof(w[0]) - 1);
	if (n == (size_t)-1)
		return;
	for (i = 0; i < n; i++) {
		cw = wcwidth(w[i]);
		if (cw < 0) {
			w[i] = '?';
			cw = 1;
		}
		if (cols + cw > width)
			break;
		cols += cw;
	}
	mvaddnwstr(y, x, w, (int)i);
}

static void
ui_draw_status(const struct model *m, int y, int width)
{
	char		 buf[1024], conn[128], pend[32];
	const char	*online;
	attr_t		 a = ui_colour ? COLOR_PAIR(UI_PAIR_BAR) : A_REVERSE;
	int		 x = 0;

	switch (m->conn) {
	case MODEL_CONNECTING:
		snprintf(conn, sizeof(conn), "connecting");
		break;
	case MODEL_CONNECTED:
		snprintf(conn, sizeof(conn), "connected");
		break;
	case MODEL_RECONNECTING:
		snprintf(conn, sizeof(conn), "reconnecting in %u s%s%s",
		    m->retry_in, m->why[0] != '\0' ? ", " : "", m->why);
		break;
	}
	online = m->target_online == 1 ? "online" :
	    m->target_online == 0 ? "offline" : "?";
	pend[0] = '\0';
	if (m->npending > 0)
		snprintf(pend, sizeof(pend), " | %zu pending", m->npending);
	if (m->target[0] != '\0')
		snprintf(buf, sizeof(buf), " %s -> %s (%s) | %s | %s%s",
		    m->user, m->target, online, conn, m->url, pend);
	else
		snprintf(buf, sizeof(buf), " %s -> (no target: /to ID) | "
		    "%s | %s%s", m->user, conn, m->url, pend);
	attrset(a);
	mvhline(y, 0, ' ', width);
	/*
	 * Unchecked TLS comes first, so that no width hides it; without
	 * colour it is the one part of the bar not in reverse video.
	 */
	if (m->insecure && width > 10) {
		attrset(A_BOLD | (ui_colour ? COLOR_PAIR(UI_PAIR_WARN) : 0));
		mvaddstr(y, 0, " INSECURE ");
		attrset(a);
		x = 10;
	}
	ui_put_cut(y, x, buf, width - x);
	attrset(A_NORMAL);
}

static void
ui_draw_input(struct model *m, int y, int width)
{
	int	room = width - UI_PROMPT_W, col, cols = 0, cw;
	size_t	i;

	mvaddwstr(y, 0, UI_PROMPT);
	if (room < 2)
		return;
	col = model_input_view(m, room);
	for (i = m->ihscroll; i < m->ilen; i++) {
		cw = wcwidth(m->in[i]);
		if (cw < 0)
			cw = 1;
		if (cols + cw > room - 1)
			break;
		cols += cw;
	}
	addnwstr(m->in + m->ihscroll, (int)(i - m->ihscroll));
	move(y, UI_PROMPT_W + col);
}

void
ui_draw(struct model *m)
{
	int	rows, cols, pane;

	if (ui_screen == NULL)
		return;
	getmaxyx(stdscr, rows, cols);
	erase();
	pane = rows - 2;
	m->pane_w = cols > 0 ? cols : 1;
	m->pane_h = pane > 0 ? pane : 1;
	/* A resize can leave the scroll position past the top. */
	model_scroll(m, 0);
	if (pane > 0)
		ui_draw_pane(m, pane, cols);
	if (rows >= 2)
		ui_draw_status(m, rows - 2, cols);
	if (rows >= 1)
		ui_draw_input(m, rows - 1, cols);
	wnoutrefresh(stdscr);
	doupdate();
}
