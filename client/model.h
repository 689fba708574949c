/*
 * Copyright (c) 2026 The chat authors.
 *
 * model: everything the TUI shows, as plain data: the message history
 * with its scrollback position, the input line and its editing, the
 * input history, the status fields, and the parsing of "/" commands
 * (shared with line mode).  Pure: no curses, no sockets, no clocks
 * except localtime_r() for the HH:MM stamp of an entry.  Display widths
 * come from wcwidth(3), so the caller sets a UTF-8 LC_CTYPE first.
 */
#ifndef MODEL_H
#define MODEL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <wchar.h>

#include "codec.h"

#define MODEL_MAX_INPUT		4096	/* bytes of UTF-8 in the input line */
#define MODEL_MAX_LINES		5000	/* history entries kept */
#define MODEL_MAX_TEXT		16384	/* characters shown of one entry */
#define MODEL_MAX_HIST		100	/* input lines remembered */
#define MODEL_MAX_URL		300

enum model_kind {
	MODEL_IN = 1,		/* a message from someone else */
	MODEL_OWN,		/* a message we sent */
	MODEL_SYS,		/* presence, who, help, connection news */
	MODEL_ERR		/* errors */
};

enum model_state {
	MODEL_NONE = 0,		/* not a sent message */
	MODEL_PENDING,		/* waiting for the server's ack */
	MODEL_DELIVERED,
	MODEL_QUEUED,		/* target offline: the server keeps it */
	MODEL_FAILED
};

enum model_conn {
	MODEL_CONNECTING = 0,
	MODEL_CONNECTED,
	MODEL_RECONNECTING	/* waiting model.retry_in seconds */
};

/*
 * One history entry.  w holds the line as displayed: "HH:MM ", then
 * the sender ("8888: ", "8888 -> 6666: " or "-!- "), the text, then a
 * state suffix for sent messages.  tend, fend and xend are the ends
 * of the stamp, sender and text segments in w, so the UI can colour
 * them.  Control characters are already replaced; '\n' is kept and
 * breaks the row.
 */
struct model_entry {
	uint64_t	 seq;
	enum model_kind	 kind;
	enum model_state state;
	time_t		 when;
	wchar_t		*w;
	size_t		 wlen;
	size_t		 tend, fend, xend;
};

enum model_edit {
	MODEL_LEFT = 1, MODEL_RIGHT, MODEL_HOME, MODEL_END,
	MODEL_BACKSPACE, MODEL_DELETE,
	MODEL_KILL_START,	/* Ctrl-U */
	MODEL_KILL_END,		/* Ctrl-K */
	MODEL_KILL_WORD,	/* Ctrl-W */
	MODEL_HIST_PREV, MODEL_HIST_NEXT
};

struct model {
	/* History: a ring of MODEL_MAX_LINES entries. */
	struct model_entry *lines;
	size_t		 first, count;
	uint64_t	 next_seq;

	/* Scrollback: rows above the bottom, for a pane of this size. */
	int		 pane_w, pane_h;
	size_t		 scroll;
	size_t		 unread;	/* entries added while scrolled up */

	/* Input line, as characters; ibytes is its UTF-8 length. */
	wchar_t		 in[MODEL_MAX_INPUT + 1];
	size_t		 ilen, icur, ibytes;
	size_t		 ihscroll;	/* first character shown */

	/* Input history; hpos == nhist when not browsing. */
	wchar_t		*hist[MODEL_MAX_HIST];
	size_t		 nhist, hpos;
	wchar_t		*saved;		/* the line being typed */

	/* Status bar. */
	char		 user[CODEC_MAX_USER + 1];
	char		 target[CODEC_MAX_USER + 1];	/* "" if none */
	int		 target_online;	/* -1 unknown, 0, 1 */
	enum model_conn	 conn;
	unsigned	 retry_in;	/* seconds, when RECONNECTING */
	char		 why[80];	/* after the countdown, "" if none */
	char		 url[MODEL_MAX_URL];
	size_t		 npending;	/* messages waiting for an ack */
	int		 insecure;	/* wss:// without certificate checks */

	int		 dirty;		/* needs a redraw */
};

/* Fill m; user and target may be "".  Returns 0 or -1 (no memory). */
int	model_init(struct model *m, const char *user, const char *target,
	    const char *url);
void	model_release(struct model *m);

/*
 * Append an entry.  text is UTF-8 of len bytes (invalid bytes show as
 * U+FFFD); from is the sender (MODEL_IN, MODEL_OWN), to the target
 * (MODEL_OWN, may be NULL).  The oldest entry goes when the ring is
 * full.  Returns the entry's sequence number (> 0), or 0 when out of
 * memory.
 */
uint64_t model_add(struct model *m, enum model_kind kind, time_t when,
	    const char *from, const char *to, const char *text, size_t len);

/* A system or error line, printf-style; returns its seq or 0. */
uint64_t model_sys(struct model *m, enum model_kind kind, const char *fmt,
	    ...) __attribute__((format(printf, 3, 4)));

/* The entry with sequence seq, or NULL if it has scrolled away. */
struct model_entry *model_find(struct model *m, uint64_t seq);

/* Entry i, 0 being the oldest kept; NULL past the end. */
const struct model_entry *model_entry_at(const struct model *m, size_t i);

/*
 * Set the state of sent message seq; reason (UTF-8, may be NULL) is
 * shown after MODEL_FAILED.  Returns 0, or -1 if seq is gone.
 */
int	model_set_state(struct model *m, uint64_t seq, enum model_state st,
	    const char *reason);

/*
 * Wrapping.  The row that starts at w[start] ends before the returned
 * index; *next receives where the following row starts (a '\n' ends a
 * row and is skipped).  A row is at most width columns; a wide
 * character that does not fit moves to the next row, and zero-width
 * characters stay with the one before.  Every row but an empty line's
 * holds at least one character, so the loop always ends.
 */
size_t	model_row(const wchar_t *w, size_t len, size_t start, int width,
	    size_t *next);

/* Rows entry e takes at width (at least 1). */
size_t	model_rows(const struct model_entry *e, int width);

/* Display width of w[0..n): wcwidth, with unprintables counted as 1. */
size_t	model_width(const wchar_t *w, size_t n);

/*
 * Scrollback for a pane of pane_w x pane_h (set model.pane_w/pane_h
 * first).  model_scroll(m, +n) goes n rows back in time, stopping at
 * the oldest row; -n goes forward, stopping at the bottom, where the
 * unread count is cleared.
 */
void	model_scroll(struct model *m, long n);

/*
 * Input editing.  model_input_insert returns 0, or -1 when wc is not
 * printable or the line would pass MODEL_MAX_INPUT bytes.
 */
int	model_input_insert(struct model *m, wchar_t wc);
void	model_input_edit(struct model *m, enum model_edit op);

/*
 * Take the line: store it as UTF-8 in out[outlen] (outlen >=
 * MODEL_MAX_INPUT + 1), remember it in the input history when not
 * empty, and clear the input.  Returns its length in bytes.
 */
size_t	model_input_take(struct model *m, char *out, size_t outlen);

/*
 * Horizontal scrolling: for a field width columns wide, update the
 * first character shown so that the cursor is visible, and return the
 * cursor's column within the field.
 */
int	model_input_view(struct model *m, int width);

/* Commands typed on the input line or read in line mode. */
enum model_cmd_type {
	MODEL_CMD_TEXT = 0,	/* a message: text, textlen */
	MODEL_CMD_EMPTY,	/* nothing to do */
	MODEL_CMD_TO,		/* arg: a valid user id */
	MODEL_CMD_WHO,
	MODEL_CMD_HELP,
	MODEL_CMD_QUIT,
	MODEL_CMD_BAD		/* error says why */
};

struct model_cmd {
	enum model_cmd_type type;
	const char	*text;		/* MODEL_CMD_TEXT: points into line */
	size_t		 textlen;
	char		 arg[CODEC_MAX_USER + 1];
	char		 error[96];
};

/*
 * Parse a line (without its newline).  "/to ID", "/who", "/help",
 * "/quit" are commands; "//x" sends "/x"; anything else is a message.
 */
void	model_parse_cmd(const char *line, size_t len, struct model_cmd *cmd);

/* The /help text, NULL-terminated. */
extern const char *const model_help[];

/* Encode one code point as UTF-8 into out[4]; returns the length. */
size_t	model_utf8_put(wchar_t wc, char *out);

#endif /* MODEL_H */
