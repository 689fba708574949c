/*
 * Copyright (c) 2026 The chat authors.
 *
 * Unit tests for client/text.c: what peer text becomes (controls,
 * bidirectional overrides, newlines, lone marks), grapheme clusters
 * (emoji with skin tones, ZWJ families, flags, accents) and their
 * widths, and row layout with word wrap, hanging indent and marked
 * continuation rows.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "tap.h"
#include "text.h"

/* The text of b as UTF-8, in a static buffer. */
static const char *
utf8(const wchar_t *w, size_t n)
{
	static char	buf[4096];
	size_t		i, len = 0;

	for (i = 0; i < n && len + 4 < sizeof(buf); i++)
		len += text_utf8_put(w[i], buf + len);
	buf[len] = '\0';
	return buf;
}

static const char *
clean(const char *s)
{
	static char		 out[4096];
	struct text_buf		 b;

	memset(&b, 0, sizeof(b));
	b.max = 1000;
	text_buf_utf8(&b, s, strlen(s), 100);
	snprintf(out, sizeof(out), "%s", b.w != NULL ? utf8(b.w, b.len) :
	    "");
	free(b.w);
	return out;
}

static void
test_clean(void)
{
	CHECK_STR(clean("plain"), "plain");
	CHECK_STR(clean("a\x1b[2Jb"), "a\xef\xbf\xbd[2Jb");
	CHECK_STR(clean("tab\there"), "tab here");
	CHECK_STR(clean("one\r\ntwo\rthree"), "one\ntwo\nthree");
	CHECK_STR(clean("line\xe2\x80\xa8sep"), "line\nsep");
	/* C1 controls, DEL and invalid bytes. */
	CHECK_STR(clean("x\xc2\x9b" "1m\x7f\xff"),
	    "x\xef\xbf\xbd" "1m\xef\xbf\xbd\xef\xbf\xbd");
	/* U+202E RIGHT-TO-LEFT OVERRIDE and U+2066 LRI are defused. */
	CHECK_STR(clean("abc\xe2\x80\xae" "fdp.exe"),
	    "abc\xef\xbf\xbd" "fdp.exe");
	CHECK_STR(clean("\xe2\x81\xa6x"), "\xef\xbf\xbdx");
	/* A mark at the start of the text or of a line gets a base. */
	CHECK_STR(clean("\xcc\x81x"), "\xe2\x97\x8c\xcc\x81x");
	CHECK_STR(clean("a\n\xcc\x81"), "a\n\xe2\x97\x8c\xcc\x81");
	CHECK_STR(clean("e\xcc\x81"), "e\xcc\x81");
	/* ZWJ sequences are kept whole. */
	CHECK_STR(clean("\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9"),
	    "\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9");
	/* Unassigned code points. */
	CHECK_STR(clean("\xcd\xb8"), "\xef\xbf\xbd");
	CHECK(text_typable('a'));
	CHECK(text_typable(0x1f44d));
	CHECK(!text_typable(0x1b));
	CHECK(!text_typable(0x202e));
	CHECK(!text_typable('\t'));
}

static void
test_clusters(void)
{
	/* a, 👍🏽, 👨‍👩‍👧, 🇺🇸, é (e + U+0301), 你 */
	static const wchar_t w[] = { 'a', 0x1f44d, 0x1f3fd, 0x1f468, 0x200d,
	    0x1f469, 0x200d, 0x1f467, 0x1f1fa, 0x1f1f8, 'e', 0x301, 0x4f60 };
	size_t	n = sizeof(w) / sizeof(w[0]);

	CHECK_INT(text_next(w, n, 0), 1);
	CHECK_INT(text_next(w, n, 1), 3);
	CHECK_INT(text_next(w, n, 3), 8);
	CHECK_INT(text_next(w, n, 8), 10);
	CHECK_INT(text_next(w, n, 10), 12);
	CHECK_INT(text_next(w, n, 12), 13);
	CHECK_INT(text_prev(w, n, 13), 12);
	CHECK_INT(text_prev(w, n, 12), 10);
	CHECK_INT(text_prev(w, n, 10), 8);
	CHECK_INT(text_prev(w, n, 8), 3);
	CHECK_INT(text_prev(w, n, 3), 1);
	CHECK_INT(text_prev(w, n, 1), 0);
	CHECK_INT(text_cluster_width(w, 1, 3), 2);
	CHECK_INT(text_cluster_width(w, 3, 8), 2);
	CHECK_INT(text_cluster_width(w, 10, 12), 1);
	/* a 1 + thumb 2 + family 2 + flag 1 + é 1 + 你 2 */
	CHECK_INT(text_width(w, n), 9);
	CHECK(text_is_word(w, 0));
	CHECK(text_is_word(w, 12));
	CHECK(!text_is_word(w, 1));
}

static void
test_rows(void)
{
	const wchar_t	*s = L"12:00 evil: ok\n12:00 6666: run this";
	const wchar_t	*words = L"aa bb cccc dd";
	const wchar_t	*longw = L"abcdefghijkl";
	struct text_row	 r;
	size_t		 pos, len;

	/* Embedded newline: the second row is marked and indented. */
	len = wcslen(s);
	pos = text_row(s, len, 0, 60, 12, 1, &r);
	CHECK_INT(r.start, 0);
	CHECK_INT(r.end, 14);
	CHECK_INT(r.indent, 0);
	CHECK_INT(r.mark, 0);
	CHECK_INT(pos, 15);
	pos = text_row(s, len, pos, 60, 12, 1, &r);
	CHECK_INT(r.indent, 12);
	CHECK_INT(r.mark, 1);
	CHECK_STR(utf8(s + r.start, r.end - r.start), "12:00 6666: run this");
	CHECK_INT(pos, len);

	/* Word wrap at 8 columns: "aa bb" / "cccc dd" with indent 0. */
	len = wcslen(words);
	pos = text_row(words, len, 0, 8, 0, 1, &r);
	CHECK_STR(utf8(words + r.start, r.end - r.start), "aa bb");
	pos = text_row(words, len, pos, 8, 0, 1, &r);
	CHECK_STR(utf8(words + r.start, r.end - r.start), "cccc dd");
	CHECK_INT(r.mark, 0);
	CHECK_INT(pos, len);
	/* With a hanging indent of 3, rows after the first hold 5. */
	CHECK_INT(text_rows(words, len, 8, 3, 1), 3);
	/* Without word wrap, rows are cut anywhere. */
	pos = text_row(words, len, 0, 8, 0, 0, &r);
	CHECK_INT(r.end, 8);

	/* A word longer than the row is cut; the indent is capped. */
	len = wcslen(longw);
	pos = text_row(longw, len, 0, 5, 0, 1, &r);
	CHECK_INT(r.end, 5);
	pos = text_row(longw, len, pos, 5, 40, 1, &r);
	CHECK_INT(r.indent, 2);
	CHECK_INT(r.end - r.start, 3);
	/* Width 1 and a wide character: still one cluster a row. */
	CHECK_INT(text_rows(L"\x4f60\x597d", 2, 1, 0, 1), 2);
	/* An empty line makes an empty, marked row. */
	CHECK_INT(text_rows(L"a\n\nb", 4, 10, 2, 1), 3);
}

int
main(void)
{
	test_clean();
	test_clusters();
	test_rows();
	return test_done();
}
