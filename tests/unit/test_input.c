/*
 * Copyright (c) 2026 The chat authors.
 *
 * Unit tests for client/input.c: editing by grapheme cluster (an emoji
 * with a skin tone, a ZWJ family, accents), readline's word motions and
 * kills, Ctrl-T, Ctrl-Y, the byte limit, history and reverse search,
 * completion, and the layout of a line of several rows.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "input.h"
#include "tap.h"
#include "text.h"

static const char *
line(const struct input *in)
{
	static char	buf[INPUT_MAX_BYTES * 4 + 8];
	size_t		i, n = 0;

	for (i = 0; i < in->len; i++)
		n += text_utf8_put(in->w[i], buf + n);
	buf[n] = '\0';
	return buf;
}

/* Type UTF-8 text, one code point at a time. */
static void
type(struct input *in, const char *s)
{
	struct text_buf	b;
	size_t		i;

	memset(&b, 0, sizeof(b));
	b.max = 100000;
	text_buf_utf8(&b, s, strlen(s), 100000);
	for (i = 0; i < b.len; i++)
		input_insert(in, b.w[i]);
	free(b.w);
}

static void
test_clusters(void)
{
	struct input	in;
	char		out[INPUT_MAX_BYTES + 8];

	input_init(&in);
	/* ok 👍🏽: Backspace takes the thumb and its skin tone. */
	type(&in, "ok \xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd");
	CHECK_INT(in.len, 5);
	input_edit(&in, INPUT_BACKSPACE);
	CHECK_STR(line(&in), "ok ");
	/* a👨‍👩‍👧: one Backspace for the family. */
	input_edit(&in, INPUT_KILL_START);
	type(&in, "a\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9\xe2\x80\x8d"
	    "\xf0\x9f\x91\xa7");
	CHECK_INT(in.len, 6);
	input_edit(&in, INPUT_LEFT);
	CHECK_INT(in.cur, 1);
	input_edit(&in, INPUT_RIGHT);
	CHECK_INT(in.cur, 6);
	input_edit(&in, INPUT_BACKSPACE);
	CHECK_STR(line(&in), "a");
	CHECK_INT(in.bytes, 1);
	/* é as e + U+0301, and a flag: Delete takes each whole. */
	type(&in, "e\xcc\x81\xf0\x9f\x87\xba\xf0\x9f\x87\xb8z");
	input_edit(&in, INPUT_HOME);
	input_edit(&in, INPUT_RIGHT);
	input_edit(&in, INPUT_DELETE);
	CHECK_STR(line(&in), "a\xf0\x9f\x87\xba\xf0\x9f\x87\xb8z");
	input_edit(&in, INPUT_DELETE);
	CHECK_STR(line(&in), "az");
	/* Control characters and bidi overrides are refused. */
	CHECK(input_insert(&in, 0x1b) == -1);
	CHECK(input_insert(&in, 0x7f) == -1);
	CHECK(input_insert(&in, 0x202e) == -1);
	CHECK(input_insert(&in, '\n') == 0);
	CHECK_INT(input_take(&in, out, sizeof(out)), 3);
	CHECK_STR(out, "a\nz");
	CHECK_INT(in.len, 0);
	input_release(&in);
}

static void
test_readline(void)
{
	struct input	in;

	input_init(&in);
	type(&in, "hello big world");
	input_edit(&in, INPUT_WORD_LEFT);		/* Meta-b */
	CHECK_INT(in.cur, 10);
	input_edit(&in, INPUT_WORD_LEFT);
	CHECK_INT(in.cur, 6);
	input_edit(&in, INPUT_WORD_RIGHT);		/* Meta-f */
	CHECK_INT(in.cur, 9);
	input_edit(&in, INPUT_HOME);
	input_edit(&in, INPUT_KILL_WORD);		/* Meta-d */
	CHECK_STR(line(&in), " big world");
	input_edit(&in, INPUT_END);
	input_edit(&in, INPUT_KILL_WORD_BACK);		/* Meta-Backspace */
	CHECK_STR(line(&in), " big ");
	input_edit(&in, INPUT_HOME);
	input_edit(&in, INPUT_YANK);			/* Ctrl-Y */
	CHECK_STR(line(&in), "world big ");
	/* Ctrl-W kills back to white space, punctuation and all. */
	input_edit(&in, INPUT_KILL_START);
	input_edit(&in, INPUT_KILL_END);
	type(&in, "see a.b-c");
	input_edit(&in, INPUT_KILL_SPACE_WORD);
	CHECK_STR(line(&in), "see ");
	/* Meta-Backspace stops at punctuation. */
	type(&in, "a.b-c");
	input_edit(&in, INPUT_KILL_WORD_BACK);
	CHECK_STR(line(&in), "see a.b-");
	/* Ctrl-T: swap around the cursor, or the last two at the end. */
	input_edit(&in, INPUT_KILL_START);
	input_edit(&in, INPUT_KILL_END);
	type(&in, "abc");
	input_edit(&in, INPUT_TRANSPOSE);
	CHECK_STR(line(&in), "acb");
	input_edit(&in, INPUT_HOME);
	input_edit(&in, INPUT_RIGHT);
	input_edit(&in, INPUT_TRANSPOSE);
	CHECK_STR(line(&in), "cab");
	CHECK_INT(in.cur, 2);
	/* By cluster: x👍🏽 becomes 👍🏽x. */
	input_edit(&in, INPUT_KILL_START);
	input_edit(&in, INPUT_KILL_END);
	type(&in, "x\xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd");
	input_edit(&in, INPUT_TRANSPOSE);
	CHECK_STR(line(&in), "\xf0\x9f\x91\x8d\xf0\x9f\x8f\xbdx");
	input_release(&in);
}

static void
test_limit(void)
{
	struct input	 in;
	char		*out;
	wchar_t		*big;
	size_t		 i;

	input_init(&in);
	out = malloc(INPUT_MAX_BYTES + 8);
	big = malloc(10001 * sizeof(*big));
	CHECK(out != NULL && big != NULL);
	/* A paste of 10,000 characters fits whole. */
	for (i = 0; i < 10000; i++)
		big[i] = (wchar_t)('a' + i % 26);
	CHECK(input_insert_text(&in, big, 10000) == 0);
	CHECK_INT(in.len, 10000);
	/* One that would pass the limit goes in not at all. */
	for (i = 0; i < 10000; i++)
		big[i] = 0x4e16;
	CHECK(input_insert_text(&in, big, 10000) == 0);
	CHECK(input_insert_text(&in, big, 10000) == -1);
	CHECK_INT(in.len, 20000);
	/* Up to the limit, character by character, 3 bytes each. */
	while (input_insert(&in, 0x4e16) == 0)
		;
	CHECK(in.bytes <= INPUT_MAX_BYTES && in.bytes > INPUT_MAX_BYTES - 3);
	CHECK_INT(input_take(&in, out, INPUT_MAX_BYTES + 8), in.bytes == 0 ?
	    strlen(out) : 0);
	CHECK(strlen(out) > INPUT_MAX_BYTES - 3);
	free(out);
	free(big);
	input_release(&in);
}

static void
test_history(void)
{
	struct input	in;
	char		out[256];
	size_t		i;

	input_init(&in);
	input_hist_add(&in, "from an earlier run", 19);
	type(&in, "first");
	input_take(&in, out, sizeof(out));
	type(&in, "second");
	input_take(&in, out, sizeof(out));
	type(&in, "   ");
	input_take(&in, out, sizeof(out));	/* blank: not kept */
	CHECK_INT(in.nhist, 3);
	type(&in, "draft");
	input_edit(&in, INPUT_HIST_PREV);
	CHECK_STR(line(&in), "second");
	input_edit(&in, INPUT_HIST_PREV);
	input_edit(&in, INPUT_HIST_PREV);
	CHECK_STR(line(&in), "from an earlier run");
	input_edit(&in, INPUT_HIST_NEXT);
	input_edit(&in, INPUT_HIST_NEXT);
	input_edit(&in, INPUT_HIST_NEXT);
	CHECK_STR(line(&in), "draft");

	/* Ctrl-R: "r" finds "first", Ctrl-R again the earlier run. */
	input_search_start(&in);
	input_search_key(&in, 'i');
	CHECK_STR(line(&in), "first");
	input_search_backspace(&in);
	input_search_key(&in, 'r');
	CHECK_STR(line(&in), "first");
	CHECK_INT(in.cur, 2);
	input_search_start(&in);
	CHECK_STR(line(&in), "from an earlier run");
	input_search_key(&in, 'x');
	CHECK_INT(in.sfailed, 1);
	input_search_backspace(&in);
	CHECK_INT(in.sfailed, 0);
	input_search_cancel(&in);
	CHECK_STR(line(&in), "draft");
	input_search_start(&in);
	input_search_key(&in, 's');
	input_search_key(&in, 'e');
	input_search_accept(&in);
	CHECK_STR(line(&in), "second");
	CHECK_INT(in.searching, 0);

	for (i = 0; i < INPUT_MAX_HIST + 20; i++) {
		input_edit(&in, INPUT_KILL_START);
		input_insert(&in, (wchar_t)('a' + i % 26));
		input_insert(&in, (wchar_t)('0' + i % 7));
		input_take(&in, out, sizeof(out));
	}
	CHECK_INT(in.nhist, INPUT_MAX_HIST);
	input_release(&in);
}

static void
test_complete(void)
{
	static const char *const ids[] = { "6666", "7777", "7778", "alice" };
	static const char *const cmds[] = { "/msg", "/quit", "/r", "/to" };
	struct input	in;

	input_init(&in);
	type(&in, "/msg 77");
	CHECK(!input_completing_command(&in));
	CHECK_INT(input_complete(&in, ids, 4), 2);
	CHECK_STR(line(&in), "/msg 7777 ");
	CHECK_INT(input_complete(&in, ids, 4), 2);
	CHECK_STR(line(&in), "/msg 7778 ");
	CHECK_INT(input_complete(&in, ids, 4), 2);
	CHECK_STR(line(&in), "/msg 7777 ");
	type(&in, "hi");
	CHECK_STR(line(&in), "/msg 7777 hi");
	/* Nothing matches: nothing changes. */
	input_edit(&in, INPUT_KILL_START);
	type(&in, "zz");
	CHECK_INT(input_complete(&in, ids, 4), 0);
	CHECK_STR(line(&in), "zz");
	/* A command at the start of the line. */
	input_edit(&in, INPUT_KILL_START);
	type(&in, "/t");
	CHECK(input_completing_command(&in));
	CHECK_INT(input_complete(&in, cmds, 4), 1);
	CHECK_STR(line(&in), "/to ");
	input_release(&in);
}

static void
test_layout(void)
{
	struct input	in;
	size_t		start[4], end[4];
	int		n, crow, ccol;

	input_init(&in);
	type(&in, "abcdefghijkl");
	/* Width 6: 5 columns a row, one kept for the cursor. */
	n = input_layout(&in, 6, 4, start, end, &crow, &ccol);
	CHECK_INT(n, 3);
	CHECK_INT(crow, 2);
	CHECK_INT(ccol, 2);
	CHECK_INT(end[0], 5);
	/* Two rows at most: scrolled to the cursor. */
	n = input_layout(&in, 6, 2, start, end, &crow, &ccol);
	CHECK_INT(n, 2);
	CHECK_INT(in.top, 1);
	CHECK_INT(start[0], 5);
	CHECK_INT(crow, 1);
	input_edit(&in, INPUT_HOME);
	n = input_layout(&in, 6, 2, start, end, &crow, &ccol);
	CHECK_INT(in.top, 0);
	CHECK_INT(crow, 0);
	/* A newline starts a row; the cursor after it is on an empty one. */
	input_edit(&in, INPUT_KILL_END);
	type(&in, "ab\n");
	n = input_layout(&in, 20, 4, start, end, &crow, &ccol);
	CHECK_INT(n, 2);
	CHECK_INT(crow, 1);
	CHECK_INT(ccol, 0);
	input_edit(&in, INPUT_LEFT);
	n = input_layout(&in, 20, 4, start, end, &crow, &ccol);
	CHECK_INT(crow, 0);
	CHECK_INT(ccol, 2);
	/* A wide emoji cluster counts two columns for the cursor. */
	input_edit(&in, INPUT_KILL_START);
	input_edit(&in, INPUT_KILL_END);
	type(&in, "\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9x");
	n = input_layout(&in, 20, 4, start, end, &crow, &ccol);
	CHECK_INT(ccol, 3);
	input_release(&in);
}

int
main(void)
{
	test_clusters();
	test_readline();
	test_limit();
	test_history();
	test_complete();
	test_layout();
	return test_done();
}
