/*
 * Copyright (c) 2026 The chat authors.
 *
 * ui: the only file that calls curses.  It draws a model (the current
 * view's messages, the status bar with the activity list, the input
 * rows) into stdscr and ends each pass with one doupdate(); it reads
 * keys without waiting, with bracketed paste and Alt-arrows turned into
 * key codes of our own.  It never changes the model except for the pane
 * size, the input's scroll and the bell, and never touches the network.
 * ui_end() is safe to call more than once (main() also runs it at
 * exit), so every way out restores the terminal.
 *
 * Text is drawn one grapheme cluster per cell: curses gives a cell the
 * width of its first character, and a cchar_t holds that character and
 * up to CCHARW_MAX - 1 more, which the terminal gets together.  That is
 * what makes an emoji ZWJ sequence two columns here, as in the model.
 * setcchar() keeps only zero-width characters after the first (a ZWJ
 * sequence has wide ones), so the rest go into chars[] directly.
 */
#include <curses.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <wchar.h>

#include "client.h"
#include "input.h"
#include "model.h"
#include "text.h"

#define UI_PROMPT_W	2
#define UI_INPUT_ROWS	8	/* at most, and a third of the screen */

enum ui_pair {
	UI_PAIR_OWN = 1,
	UI_PAIR_FROM,
	UI_PAIR_SYS,
	UI_PAIR_ERR,
	UI_PAIR_BAR,
	UI_PAIR_TIME,
	UI_PAIR_WARN,
	UI_PAIR_ACT
};

static SCREEN		*ui_screen;
static int		 ui_colour;
static int		 ui_bell;

/* Rows of one entry, reused across draws. */
static struct text_row	*ui_rows;
static size_t		 ui_rows_cap;

/* Key sequences curses does not know for TERM=screen and friends. */
static const struct {
	const char	*seq;
	int		 code;
} ui_keys[] = {
	{ "\033[200~",	UI_K_PASTE_START },
	{ "\033[201~",	UI_K_PASTE_END },
	{ "\033[1;3D",	UI_K_ALT_LEFT },	/* xterm */
	{ "\033[1;3C",	UI_K_ALT_RIGHT },
	{ "\033[1;9D",	UI_K_ALT_LEFT },	/* some Mac terminals */
	{ "\033[1;9C",	UI_K_ALT_RIGHT },
};

/* Bytes for the terminal that curses does not know how to send. */
static void
ui_write(const char *s)
{
	size_t	len = strlen(s);
	ssize_t	n;

	fflush(stdout);
	while (len > 0 && ((n = write(STDOUT_FILENO, s, len)) > 0 ||
	    (n == -1 && errno == EINTR))) {
		if (n > 0) {
			s += n;
			len -= (size_t)n;
		}
	}
}

int
ui_init(int colour, int ring, char *why, size_t whylen)
{
	const char	*term = getenv("TERM");
	char		*cup;
	size_t		 i;

	if (term == NULL || *term == '\0') {
		snprintf(why, whylen, "TERM is not set");
		return -1;
	}
	if ((ui_screen = newterm(NULL, stdout, stdin)) == NULL) {
		snprintf(why, whylen, "unknown terminal type TERM=%s", term);
		return -1;
	}
	set_term(ui_screen);
	/* A terminal that cannot move its cursor (dumb, a printer). */
	cup = tigetstr("cup");
	if (cup == NULL || cup == (char *)-1 || tigetflag("hc") > 0) {
		snprintf(why, whylen, "TERM=%s cannot move the cursor", term);
		endwin();
		delscreen(ui_screen);
		ui_screen = NULL;
		return -1;
	}
	cbreak();
	noecho();
	nonl();
	intrflush(stdscr, FALSE);
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	set_escdelay(25);
	curs_set(1);
	for (i = 0; i < sizeof(ui_keys) / sizeof(ui_keys[0]); i++)
		define_key(ui_keys[i].seq, ui_keys[i].code);
	if (colour && has_colors() && start_color() == OK) {
		use_default_colors();
		init_pair(UI_PAIR_OWN, COLOR_CYAN, -1);
		init_pair(UI_PAIR_FROM, COLOR_GREEN, -1);
		init_pair(UI_PAIR_SYS, COLOR_YELLOW, -1);
		init_pair(UI_PAIR_ERR, COLOR_RED, -1);
		init_pair(UI_PAIR_BAR, COLOR_WHITE, COLOR_BLUE);
		init_pair(UI_PAIR_TIME, COLOR_BLUE, -1);
		init_pair(UI_PAIR_WARN, COLOR_WHITE, COLOR_RED);
		init_pair(UI_PAIR_ACT, COLOR_YELLOW, COLOR_BLUE);
		ui_colour = 1;
	}
	ui_bell = ring;
	/*
	 * Bracketed paste (xterm): a paste comes between two markers.
	 * Written directly: curses' own buffer would hold it until endwin.
	 */
	ui_write("\033[?2004h");
	return 0;
}

void
ui_end(void)
{
	if (ui_screen == NULL)
		return;
	endwin();
	ui_write("\033[?2004l");
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

/*
 * Draw the cluster w[i..j) at the cursor.  Zero-width clusters are
 * left out; with an ASCII-only locale, anything else than ASCII shows
 * as '?', one for each column.
 */
static void
ui_put_cluster(const wchar_t *w, size_t i, size_t j, attr_t a, short pair,
    int ascii)
{
	cchar_t	cc;
	wchar_t	one[2];
	size_t	k;
	int	cw = text_cluster_width(w, i, j);

	if (cw <= 0)
		return;
	if (ascii) {
		for (k = i; k < j && w[k] >= 0x20 && w[k] < 0x7f; k++)
			;
		if (k < j) {
			while (cw-- > 0) {
				one[0] = '?';
				one[1] = 0;
				setcchar(&cc, one, a, pair, NULL);
				wadd_wch(stdscr, &cc);
			}
			return;
		}
	}
	one[0] = w[i];
	one[1] = 0;
	if (setcchar(&cc, one, a, pair, NULL) == ERR)
		return;
	for (k = 1; k < j - i && k < CCHARW_MAX; k++)
		cc.chars[k] = w[i + k];
	wadd_wch(stdscr, &cc);
}

/* The attribute and colour pair for segment seg (0 stamp ... 3 state). */
static void
ui_attr(const struct model_entry *e, int seg, attr_t *ap, short *pp)
{
	attr_t	a = A_NORMAL;
	short	p = 0;

	switch (e->kind) {
	case MODEL_OWN:
		if (seg == 1) {
			a = A_BOLD;
			p = UI_PAIR_OWN;
		} else if (seg == 3 && e->state == MODEL_FAILED) {
			a = A_BOLD | (ui_colour ? 0 : A_STANDOUT);
			p = UI_PAIR_ERR;
		} else if (seg == 3)
			a = A_DIM;
		break;
	case MODEL_IN:
		if (seg == 1) {
			a = ui_colour ? A_BOLD : A_UNDERLINE;
			p = UI_PAIR_FROM;
		}
		break;
	case MODEL_SYS:
		if (seg >= 1) {
			a = ui_colour ? A_NORMAL : A_DIM;
			p = UI_PAIR_SYS;
		}
		break;
	case MODEL_ERR:
		if (seg >= 1) {
			a = A_BOLD;
			p = UI_PAIR_ERR;
		}
		break;
	}
	if (seg == 0)
		p = UI_PAIR_TIME;
	*ap = a;
	*pp = ui_colour ? p : 0;
}

static void
ui_draw_row(const struct model *m, const struct model_entry *e,
    const struct text_row *r, int y)
{
	size_t	bounds[3], i, j;
	attr_t	a;
	short	p;
	int	seg;

	bounds[0] = e->tend;
	bounds[1] = e->fend;
	bounds[2] = e->xend;
	move(y, r->indent);
	/*
	 * A row after a newline in the text is marked, so that it cannot
	 * pass for a message of its own (it is indented too).
	 */
	if (r->mark && r->indent >= 2) {
		attrset(A_BOLD);
		mvaddstr(y, r->indent - 2, "| ");
		attrset(A_NORMAL);
	}
	for (i = r->start; i < r->end; i = j) {
		j = text_next(e->w, r->end, i);
		for (seg = 0; seg < 3 && i >= bounds[seg]; seg++)
			;
		ui_attr(e, seg, &a, &p);
		ui_put_cluster(e->w, i, j, a, p, m->ascii);
	}
}

/* Fill ui_rows; returns the number of rows. */
static size_t
ui_layout(const struct model_entry *e, int width)
{
	struct text_row	*p;
	size_t		 pos = 0, n = 0, ncap;

	do {
		if (n == ui_rows_cap) {
			ncap = ui_rows_cap ? ui_rows_cap * 2 : 64;
			if ((p = reallocarray(ui_rows, ncap, sizeof(*p))) ==
			    NULL)
				return n;
			ui_rows = p;
			ui_rows_cap = ncap;
		}
		pos = model_row(e, width, pos, &ui_rows[n]);
		n++;
	} while (pos < e->wlen);
	return n;
}

static void
ui_draw_pane(struct model *m, int height, int width)
{
	const struct model_view	 *v = model_cur(m);
	const struct model_entry *e;
	size_t			  i, r, nrows, skip = v->scroll;
	int			  y = height - 1;
	char			  marker[80];

	if (v->scroll > 0 && height > 1) {
		/* The last row says there is more below. */
		if (v->unread > 0)
			snprintf(marker, sizeof(marker), " -- %zu new "
			    "message%s below: PgDn -- ", v->unread,
			    v->unread == 1 ? "" : "s");
		else
			snprintf(marker, sizeof(marker),
			    " -- more below: PgDn -- ");
		attrset(A_REVERSE | A_BOLD);
		mvaddnstr(y, 0, marker, width);
		attrset(A_NORMAL);
		y--;
	}
	for (i = v->count; i > 0 && y >= 0; i--) {
		e = model_entry_at(v, i - 1);
		nrows = ui_layout(e, width);
		for (r = nrows; r > 0 && y >= 0; r--) {
			if (skip > 0) {
				skip--;
				continue;
			}
			ui_draw_row(m, e, &ui_rows[r - 1], y--);
		}
	}
}

/* Draw s (UTF-8), cut to fit width columns from x. */
static void
ui_put_cut(int y, int x, const char *s, int width)
{
	wchar_t	w[1024];
	size_t	n, i;
	int	cols = 0, cw;

	n = mbstowcs(w, s, sizeof(w) / sizeof(w[0]) - 1);
	if (n == (size_t)-1)
		return;
	for (i = 0; i < n; i++) {
		cw = text_cluster_width(w, i, i + 1);
		if (cols + cw > width)
			break;
		cols += cw;
	}
	mvaddnwstr(y, x, w, (int)i);
}

/* The activity list: "act: 3:7777* 4:5555", "" when none. */
static void
ui_activity(const struct model *m, char *buf, size_t len)
{
	const struct model_view	*v;
	size_t			 i, n = 0;

	buf[0] = '\0';
	for (i = 0; i < m->nviews && n + 80 < len; i++) {
		v = m->views[i];
		if (i == m->cur || v->act == MODEL_ACT_NONE)
			continue;
		n += (size_t)snprintf(buf + n, len - n, "%s%zu:%s%s",
		    n == 0 ? " | act: " : " ", i + 1, i == 0 ? "status" :
		    v->name, v->act == MODEL_ACT_MSG ? "*" : "");
	}
}

static void
ui_draw_status(const struct model *m, int y, int width)
{
	const struct model_view	*v = m->views[m->cur];
	char			 buf[2048], conn[128], pend[32], act[1024];
	const char		*online;
	attr_t			 a = ui_colour ? COLOR_PAIR(UI_PAIR_BAR) :
				    A_REVERSE;
	int			 x = 0;

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
	/* Presence is not known while we are not connected. */
	online = m->conn != MODEL_CONNECTED || v->online == -1 ? "" :
	    v->online ? " (online)" : " (offline)";
	pend[0] = '\0';
	if (m->npending > 0)
		snprintf(pend, sizeof(pend), " | %zu pending", m->npending);
	ui_activity(m, act, sizeof(act));
	if (m->cur != 0 && model_view_room(v->name) != NULL)
		snprintf(buf, sizeof(buf), " [%zu] %s in %s%s | %s | %s%s",
		    m->cur + 1, m->user, v->name, act, conn, m->url, pend);
	else if (m->cur != 0)
		snprintf(buf, sizeof(buf), " [%zu] %s -> %s%s%s | %s | %s%s",
		    m->cur + 1, m->user, v->name, online, act, conn, m->url,
		    pend);
	else
		snprintf(buf, sizeof(buf), " [1] %s (status: /to ID to talk)"
		    "%s | %s | %s%s", m->user, act, conn, m->url, pend);
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

/* The input rows from y; returns the cursor's place in *cy, *cx. */
static void
ui_draw_input(struct model *m, int y, int nrows, const size_t *start,
    const size_t *end, int crow, int ccol, int width, int *cy, int *cx)
{
	struct input	*in = &m->in;
	size_t		 i, j;
	int		 r;

	for (r = 0; r < nrows; r++) {
		mvaddstr(y + r, 0, r == 0 && in->top == 0 ? "> " : "  ");
		move(y + r, UI_PROMPT_W);
		for (i = start[r]; i < end[r]; i = j) {
			j = text_next(in->w, end[r], i);
			ui_put_cluster(in->w, i, j, A_NORMAL, 0, m->ascii);
		}
	}
	*cy = y + crow;
	*cx = UI_PROMPT_W + ccol < width ? UI_PROMPT_W + ccol : width - 1;
}

/* The reverse search line, above the input: "(reverse-i-search)'x': ". */
static void
ui_draw_search(const struct model *m, int y, int width)
{
	const struct input	*in = &m->in;
	char			 buf[INPUT_MAX_SEARCH * 4 + 64];
	size_t			 i, n;

	n = (size_t)snprintf(buf, sizeof(buf), "(%sreverse-i-search)'",
	    in->sfailed ? "failed " : "");
	for (i = 0; i < in->slen; i++)
		n += text_utf8_put(in->search[i], buf + n);
	snprintf(buf + n, sizeof(buf) - n, "': ");
	attrset(A_BOLD);
	ui_put_cut(y, 0, buf, width);
	attrset(A_NORMAL);
}

void
ui_draw(struct model *m)
{
	size_t	start[UI_INPUT_ROWS], end[UI_INPUT_ROWS];
	int	rows, cols, pane, maxin, nin, crow, ccol, cy, cx, search;

	if (ui_screen == NULL)
		return;
	getmaxyx(stdscr, rows, cols);
	erase();
	if (rows < 1 || cols < 1)
		goto out;
	maxin = rows / 3 < UI_INPUT_ROWS ? rows / 3 : UI_INPUT_ROWS;
	if (maxin < 1)
		maxin = 1;
	search = m->in.searching && m->ask[0] == '\0' && rows >= 4;
	if (m->ask[0] != '\0') {
		nin = 1;
		crow = ccol = 0;
	} else
		nin = input_layout(&m->in, cols - UI_PROMPT_W, maxin, start,
		    end, &crow, &ccol);
	pane = rows - 1 - nin - search;
	m->pane_w = cols;
	m->pane_h = pane > 0 ? pane : 1;
	/* A resize can leave the scroll position past the top. */
	model_scroll(m, 0);
	if (pane > 0)
		ui_draw_pane(m, pane, cols);
	if (rows >= 2)
		ui_draw_status(m, rows - 1 - nin - search, cols);
	if (search)
		ui_draw_search(m, rows - 1 - nin, cols);
	if (m->ask[0] != '\0') {
		attrset(A_REVERSE);
		ui_put_cut(rows - 1, 0, m->ask, cols);
		attrset(A_NORMAL);
		getyx(stdscr, cy, cx);
	} else
		ui_draw_input(m, rows - nin, nin, start, end, crow, ccol,
		    cols, &cy, &cx);
	move(cy, cx);
out:
	if (m->bell && ui_bell)
		beep();
	m->bell = 0;
	wnoutrefresh(stdscr);
	doupdate();
}
