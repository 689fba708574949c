/*
 * Copyright (c) 2026 The chat authors.
 *
 * text: the client's text as the screen sees it.  Text from the network
 * becomes wide characters (UTF-32 code points) here, once, made safe to
 * show: no control character, no bidirectional override, no mark
 * without a base.  Editing and layout go by grapheme cluster (what a
 * reader takes for one character: an emoji with its skin tone, a family
 * joined by ZWJ, a letter with its accents), found and measured with
 * libutf8proc.  Rows are laid out with word wrap and a hanging indent.
 * Pure: no curses, no locale, no allocation beyond struct text_buf.
 */
#ifndef TEXT_H
#define TEXT_H

#include <stddef.h>
#include <wchar.h>

#define TEXT_REPL	0xfffd		/* U+FFFD REPLACEMENT CHARACTER */
#define TEXT_ELLIPSIS	0x2026
#define TEXT_DOTTED	0x25cc		/* U+25CC: the base of a lone mark */

/*
 * A growable wide string with a hard cap: past max characters it
 * silently stops growing (failed stays 0); failed is set when memory
 * runs out.  w is NUL-terminated while not NULL.  Start from zeroes
 * and a max; the caller frees w.
 */
struct text_buf {
	wchar_t	*w;
	size_t	 len, cap, max;
	int	 failed;
};

void	text_buf_add(struct text_buf *, wchar_t);

/*
 * Append UTF-8 text s[0..len) from a peer, at most max characters, then
 * an ellipsis after a cut.  Invalid bytes, control characters (but
 * '\n'), unassigned code points and bidirectional embeddings, overrides
 * and isolates (U+202A-U+202E, U+2066-U+2069) become U+FFFD; '\t'
 * becomes a space; "\r\n", a lone '\r', U+2028 and U+2029 become '\n';
 * a combining mark at the start of the text or of a line gets U+25CC as
 * its base, so that it cannot sit on what comes before.
 */
void	text_buf_utf8(struct text_buf *, const char *s, size_t len,
	    size_t max);

/* Append a NUL-terminated UTF-8 string as text_buf_utf8 does. */
void	text_buf_str(struct text_buf *, const char *s);

/*
 * Whether a code point typed on the keyboard may go into the input
 * line: printable, not a control, not a bidirectional control.
 */
int	text_typable(wchar_t wc);

/*
 * Grapheme clusters.  text_next: where the cluster that starts at w[i]
 * ends (i < len; '\n' is a cluster of its own).  text_prev: where the
 * cluster that ends at w[i] starts (0 < i <= len, i on a boundary);
 * it scans from the last newline before i.
 */
size_t	text_next(const wchar_t *w, size_t len, size_t i);
size_t	text_prev(const wchar_t *w, size_t len, size_t i);

/*
 * Columns of the cluster w[i..j): the width of its first code point
 * (libutf8proc), as curses gives a cell to a character and what
 * follows it in the same cell.  0 for '\n' and zero-width clusters.
 */
int	text_cluster_width(const wchar_t *w, size_t i, size_t j);

/* Columns of w[0..n), cluster by cluster. */
size_t	text_width(const wchar_t *w, size_t n);

/* Whether the cluster at w[i] is a letter or digit (for word motion). */
int	text_is_word(const wchar_t *w, size_t i);

/*
 * One row of laid-out text: w[start..end) drawn after indent blank
 * columns; mark is set when the row continues the text after an
 * embedded newline (the UI shows a marker there, so that it cannot
 * pass for a line of its own).
 */
struct text_row {
	size_t	start, end;
	int	indent;
	int	mark;
};

/*
 * Lay out the row of w[0..len) that starts at pos (0 for the first),
 * width columns wide; rows after the first start after indent columns
 * (cut to leave at least half the width, or one column).  With words
 * set, a row that does not fit ends after the last word that does, and
 * the spaces at the break are skipped; a word longer than the row is
 * cut between clusters.  '\n' ends a row and is skipped.  Every row but
 * that of an empty line holds at least one cluster, so the caller's
 * loop ends.  Returns where the next row starts (len at the end).
 */
size_t	text_row(const wchar_t *w, size_t len, size_t pos, int width,
	    int indent, int words, struct text_row *r);

/* Rows that text_row lays out for w[0..len) (at least 1). */
size_t	text_rows(const wchar_t *w, size_t len, int width, int indent,
	    int words);

/* Encode one code point as UTF-8 into out[4]; returns the length. */
size_t	text_utf8_put(wchar_t wc, char *out);

/* Bytes of w[0..n) as UTF-8. */
size_t	text_utf8_len(const wchar_t *w, size_t n);

#endif /* TEXT_H */
