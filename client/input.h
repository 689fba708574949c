/*
 * Copyright (c) 2026 The chat authors.
 *
 * input: the input line and its editing, with readline's habits:
 * motion and deletion by grapheme cluster and by word, a kill buffer,
 * transposition, a history of the lines typed with reverse incremental
 * search, completion of a word from a list, and lines of several rows
 * (a message may hold newlines).  Pure: no curses, no files; the caller
 * loads and saves the history.
 */
#ifndef INPUT_H
#define INPUT_H

#include <stddef.h>
#include <wchar.h>

#define INPUT_MAX_BYTES		65536	/* UTF-8 bytes: the server's
					   default message limit */
#define INPUT_MAX_HIST		500	/* lines remembered */
#define INPUT_MAX_SEARCH	64	/* characters of a search */

enum input_op {
	INPUT_LEFT = 1, INPUT_RIGHT, INPUT_HOME, INPUT_END,
	INPUT_WORD_LEFT,	/* Meta-b */
	INPUT_WORD_RIGHT,	/* Meta-f */
	INPUT_BACKSPACE, INPUT_DELETE,
	INPUT_KILL_START,	/* Ctrl-U */
	INPUT_KILL_END,		/* Ctrl-K */
	INPUT_KILL_SPACE_WORD,	/* Ctrl-W: back to white space */
	INPUT_KILL_WORD_BACK,	/* Meta-Backspace: back to a word start */
	INPUT_KILL_WORD,	/* Meta-d: to the end of the next word */
	INPUT_TRANSPOSE,	/* Ctrl-T */
	INPUT_YANK,		/* Ctrl-Y */
	INPUT_HIST_PREV, INPUT_HIST_NEXT
};

struct input {
	wchar_t		*w;		/* the line, NUL-terminated */
	size_t		 len, cap, cur, bytes;
	size_t		 top;		/* first row shown */

	wchar_t		*kill;		/* the last text killed */
	size_t		 killlen;

	wchar_t		*hist[INPUT_MAX_HIST];	/* oldest first */
	size_t		 nhist, hpos;	/* hpos == nhist: not browsing */
	wchar_t		*saved;		/* the line being typed */

	int		 searching;	/* Ctrl-R */
	wchar_t		 search[INPUT_MAX_SEARCH + 1];
	size_t		 slen, smatch;	/* smatch: history index shown */
	int		 sfailed;	/* no line matches */

	int		 completing;	/* the last op was a completion */
	size_t		 cstart, cend, cindex;
	char		 cprefix[128];

	int		 changed;	/* since the caller last cleared it */
};

void	input_init(struct input *);
void	input_release(struct input *);

/*
 * Insert a typed character at the cursor.  Returns 0, or -1 when wc
 * may not be typed (see text_typable(); '\n' may) or the line would
 * pass INPUT_MAX_BYTES.
 */
int	input_insert(struct input *, wchar_t wc);

/*
 * Insert w[0..n) at the cursor, all or nothing.  Characters that may
 * not be typed become U+FFFD.  Returns 0, or -1 when it does not fit
 * (or memory is short).
 */
int	input_insert_text(struct input *, const wchar_t *w, size_t n);

void	input_edit(struct input *, enum input_op);

/*
 * Take the line: store it as UTF-8 in out[outlen] (outlen >
 * INPUT_MAX_BYTES), remember it in the history when not blank, and
 * clear the line.  Returns its length in bytes.
 */
size_t	input_take(struct input *, char *out, size_t outlen);

/* Replace the line with UTF-8 text (as after a refused send). */
void	input_set(struct input *, const char *s, size_t len);

/* Append a line to the history (loaded from a file): UTF-8. */
void	input_hist_add(struct input *, const char *s, size_t len);

/*
 * Reverse incremental search (Ctrl-R).  start: begin, or look for the
 * next older match.  key/backspace change the search text.  accept
 * keeps the line found (the cursor at the match); cancel puts back the
 * line from before.
 */
void	input_search_start(struct input *);
void	input_search_key(struct input *, wchar_t wc);
void	input_search_backspace(struct input *);
void	input_search_accept(struct input *);
void	input_search_cancel(struct input *);

/*
 * Complete the word before the cursor from cands[0..n) (sorted ASCII
 * words; a command list when the word starts the line with '/').  A
 * first Tab inserts the first candidate that starts with the word, and
 * a space; Tabs right after it go through the others in turn.  Returns
 * the number of candidates that matched (0: nothing changed).
 */
size_t	input_complete(struct input *, const char *const *cands, size_t n);

/* The word being completed: the first word of the line is a command. */
int	input_completing_command(const struct input *);

/*
 * Layout for a field of width columns (the first row starts after a
 * prompt that the caller draws in the same columns as the others): at
 * most maxrows rows, scrolled so that the cursor is shown.  Fills
 * start[] and end[] for the rows shown, *crow and *ccol with the
 * cursor's place among them, and returns the number of rows shown.
 */
int	input_layout(struct input *, int width, int maxrows, size_t *start,
	    size_t *end, int *crow, int *ccol);

#endif /* INPUT_H */
