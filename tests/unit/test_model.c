/*
 * Copyright (c) 2026 The chat authors.
 *
 * Unit tests for client/model.c: wrapping (with wide characters),
 * history bounds and scrollback, state suffixes, input editing with
 * wide and combining characters, horizontal scrolling, input history,
 * and "/" command parsing.  No terminal, no sockets.
 */
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "model.h"
#include "tap.h"

/* The entry's displayed text as UTF-8, in a static buffer. */
static const char *
entry_text(const struct model_entry *e)
{
	static char	buf[MODEL_MAX_TEXT * 4 + 512];
	size_t		i, n = 0;

	for (i = 0; i < e->wlen && n + 4 < sizeof(buf); i++)
		n += model_utf8_put(e->w[i], buf + n);
	buf[n] = '\0';
	return buf;
}

static const char *
input_text(struct model *m)
{
	static char	buf[MODEL_MAX_INPUT * 4 + 8];
	size_t		i, n = 0;

	for (i = 0; i < m->ilen; i++)
		n += model_utf8_put(m->in[i], buf + n);
	buf[n] = '\0';
	return buf;
}

static void
type(struct model *m, const char *s)
{
	wchar_t	wc;
	mbstate_t st;
	size_t	n, len = strlen(s);

	memset(&st, 0, sizeof(st));
	while (len > 0) {
		n = mbrtowc(&wc, s, len, &st);
		if (n == (size_t)-1 || n == (size_t)-2 || n == 0)
			break;
		model_input_insert(m, wc);
		s += n;
		len -= n;
	}
}

static void
test_wrap(void)
{
	const wchar_t	*ascii = L"abcdefghij";
	const wchar_t	*cjk = L"\x4f60\x597d\x4e16\x754c";	/* 你好世界 */
	const wchar_t	*nl = L"ab\ncd";
	const wchar_t	*comb = L"e\x0301\x0301x";	/* é́x */
	size_t		 end, next;

	end = model_row(ascii, 10, 0, 4, &next);
	CHECK_INT(end, 4);
	CHECK_INT(next, 4);
	end = model_row(ascii, 10, 8, 4, &next);
	CHECK_INT(end, 10);

	/* Width 5 holds two CJK characters (4 columns), not two and a half. */
	end = model_row(cjk, 4, 0, 5, &next);
	CHECK_INT(end, 2);
	end = model_row(cjk, 4, 2, 5, &next);
	CHECK_INT(end, 4);
	/* A wide character wider than the row still makes progress. */
	end = model_row(cjk, 4, 0, 1, &next);
	CHECK_INT(end, 1);

	end = model_row(nl, 5, 0, 80, &next);
	CHECK_INT(end, 2);
	CHECK_INT(next, 3);

	/* Combining marks stay on the row of their base character. */
	end = model_row(comb, 4, 0, 1, &next);
	CHECK_INT(end, 3);
	CHECK_INT(model_width(comb, 4), 2);
	CHECK_INT(model_width(cjk, 4), 8);
}

static void
test_history(void)
{
	struct model		 m;
	const struct model_entry *e;
	uint64_t		 seq, s2;
	size_t			 i;
	char			 big[40000];

	CHECK(model_init(&m, "8888", "6666", "ws://127.0.0.1:8000") == 0);
	seq = model_add(&m, MODEL_IN, 0, "6666", NULL, "hi", 2);
	CHECK(seq > 0);
	e = model_entry_at(&m, 0);
	CHECK_STR(entry_text(e), "00:00 6666: hi");
	CHECK_INT(e->tend, 6);
	CHECK_INT(e->fend, 12);

	seq = model_add(&m, MODEL_OWN, 60, "8888", "6666",
	    "\xe4\xbd\xa0\xe5\xa5\xbd, \xe4\xb8\x96\xe7\x95\x8c", 14);
	CHECK_STR(entry_text(model_find(&m, seq)),
	    "00:01 8888 -> 6666: 你好, 世界 [pending]");
	CHECK(model_set_state(&m, seq, MODEL_QUEUED, NULL) == 0);
	CHECK_STR(entry_text(model_find(&m, seq)),
	    "00:01 8888 -> 6666: 你好, 世界 [queued]");
	CHECK(model_set_state(&m, seq, MODEL_FAILED, "bad_target: no") == 0);
	CHECK_STR(entry_text(model_find(&m, seq)),
	    "00:01 8888 -> 6666: 你好, 世界 [failed: bad_target: no]");
	CHECK_INT(model_find(&m, seq)->state, MODEL_FAILED);

	/* Escape sequences and invalid bytes from a peer are defused. */
	s2 = model_add(&m, MODEL_IN, 0, "x", NULL, "a\x1b[2Jb\xff\tc", 9);
	CHECK_STR(entry_text(model_find(&m, s2)),
	    "00:00 x: a\xef\xbf\xbd[2Jb\xef\xbf\xbd c");

	s2 = model_sys(&m, MODEL_SYS, "%s is online", "6666");
	e = model_find(&m, s2);
	CHECK(e != NULL && wcsstr(e->w, L"-!- 6666 is online") != NULL);

	/* The ring keeps MODEL_MAX_LINES entries; old seqs disappear. */
	for (i = 0; i < MODEL_MAX_LINES + 10; i++)
		model_add(&m, MODEL_IN, 0, "a", NULL, "x", 1);
	CHECK_INT(m.count, MODEL_MAX_LINES);
	CHECK(model_find(&m, seq) == NULL);
	CHECK(model_set_state(&m, seq, MODEL_DELIVERED, NULL) == -1);
	CHECK(model_find(&m, m.next_seq - 1) != NULL);

	/* Huge texts are cut. */
	memset(big, 'y', sizeof(big));
	seq = model_add(&m, MODEL_IN, 0, "a", NULL, big, sizeof(big));
	e = model_find(&m, seq);
	CHECK(e != NULL && e->xend - e->fend == MODEL_MAX_TEXT + 1);
	CHECK(e != NULL && e->w[e->xend - 1] == 0x2026);
	model_release(&m);
}

static void
test_scroll(void)
{
	struct model	m;
	int		i;

	CHECK(model_init(&m, "a", "b", "ws://x") == 0);
	m.pane_w = 20;
	m.pane_h = 5;
	for (i = 0; i < 10; i++)
		model_add(&m, MODEL_IN, 0, "b", NULL, "one row", 7);
	model_scroll(&m, 3);
	CHECK_INT(m.scroll, 3);
	model_scroll(&m, 100);
	CHECK_INT(m.scroll, 5);		/* 10 rows, 5 shown */
	model_add(&m, MODEL_IN, 0, "b", NULL, "new", 3);
	CHECK_INT(m.scroll, 6);		/* the view stays put */
	CHECK_INT(m.unread, 1);
	model_scroll(&m, -4);
	CHECK_INT(m.unread, 1);
	model_scroll(&m, -100);
	CHECK_INT(m.scroll, 0);
	CHECK_INT(m.unread, 0);
	/* At the bottom, new entries do not count as unread. */
	model_add(&m, MODEL_IN, 0, "b", NULL, "new", 3);
	CHECK_INT(m.unread, 0);
	/* A 30-column entry takes two rows at width 20. */
	CHECK_INT(model_rows(model_entry_at(&m, m.count - 1), 20), 1);
	model_add(&m, MODEL_IN, 0, "b", NULL, "0123456789012345678901234", 25);
	CHECK_INT(model_rows(model_entry_at(&m, m.count - 1), 20), 2);
	model_release(&m);
}

static void
test_input(void)
{
	struct model	m;
	char		out[MODEL_MAX_INPUT + 1];
	size_t		i;
	int		col;

	CHECK(model_init(&m, "a", "b", "ws://x") == 0);
	type(&m, "hello world");
	CHECK_STR(input_text(&m), "hello world");
	model_input_edit(&m, MODEL_KILL_WORD);
	CHECK_STR(input_text(&m), "hello ");
	model_input_edit(&m, MODEL_HOME);
	type(&m, ">");
	CHECK_STR(input_text(&m), ">hello ");
	model_input_edit(&m, MODEL_DELETE);
	CHECK_STR(input_text(&m), ">ello ");
	model_input_edit(&m, MODEL_END);
	model_input_edit(&m, MODEL_BACKSPACE);
	CHECK_STR(input_text(&m), ">ello");
	model_input_edit(&m, MODEL_LEFT);
	model_input_edit(&m, MODEL_LEFT);
	model_input_edit(&m, MODEL_KILL_END);
	CHECK_STR(input_text(&m), ">el");
	model_input_edit(&m, MODEL_LEFT);
	model_input_edit(&m, MODEL_KILL_START);
	CHECK_STR(input_text(&m), "l");
	CHECK_INT(m.icur, 0);
	model_input_edit(&m, MODEL_KILL_END);

	/* Wide characters are edited whole; é + combining acute too. */
	type(&m, "你好e\xcc\x81x");
	CHECK_INT(m.ilen, 5);
	CHECK_INT(m.ibytes, 10);
	model_input_edit(&m, MODEL_LEFT);	/* before x */
	model_input_edit(&m, MODEL_LEFT);	/* before e + accent */
	CHECK_INT(m.icur, 2);
	model_input_edit(&m, MODEL_DELETE);
	CHECK_STR(input_text(&m), "你好x");
	model_input_edit(&m, MODEL_BACKSPACE);
	CHECK_STR(input_text(&m), "你x");
	CHECK_INT(m.ibytes, 4);

	/* Control characters are refused. */
	CHECK(model_input_insert(&m, 0x1b) == -1);
	CHECK(model_input_insert(&m, 0x7f) == -1);

	CHECK_INT(model_input_take(&m, out, sizeof(out)), 4);
	CHECK_STR(out, "你x");
	CHECK_INT(m.ilen, 0);

	/* The byte limit holds for 3-byte characters too. */
	for (i = 0; i < MODEL_MAX_INPUT; i++)
		model_input_insert(&m, 0x4e16);
	CHECK_INT(m.ibytes, MODEL_MAX_INPUT / 3 * 3);
	CHECK_INT(m.ilen, MODEL_MAX_INPUT / 3);

	/* Horizontal scrolling keeps the cursor within 10 columns. */
	col = model_input_view(&m, 10);
	CHECK(col <= 9);
	CHECK(model_width(m.in + m.ihscroll, m.icur - m.ihscroll) <= 9);
	model_input_edit(&m, MODEL_HOME);
	CHECK_INT(model_input_view(&m, 10), 0);
	CHECK_INT(m.ihscroll, 0);
	model_input_take(&m, out, sizeof(out));
	CHECK_INT(strlen(out), MODEL_MAX_INPUT / 3 * 3);

	/* Input history: Up, Up, Down, Down back to the line being typed. */
	type(&m, "first");
	model_input_take(&m, out, sizeof(out));
	type(&m, "second");
	model_input_take(&m, out, sizeof(out));
	type(&m, "draft");
	model_input_edit(&m, MODEL_HIST_PREV);
	CHECK_STR(input_text(&m), "second");
	model_input_edit(&m, MODEL_HIST_PREV);
	CHECK_STR(input_text(&m), "first");
	model_input_edit(&m, MODEL_HIST_NEXT);
	CHECK_STR(input_text(&m), "second");
	model_input_edit(&m, MODEL_HIST_NEXT);
	CHECK_STR(input_text(&m), "draft");
	model_input_edit(&m, MODEL_HIST_NEXT);
	CHECK_STR(input_text(&m), "draft");

	for (i = 0; i < MODEL_MAX_HIST + 20; i++) {
		model_input_edit(&m, MODEL_KILL_START);
		model_input_insert(&m, (wchar_t)('a' + i % 26));
		model_input_insert(&m, (wchar_t)('0' + i % 7));
		model_input_take(&m, out, sizeof(out));
	}
	CHECK_INT(m.nhist, MODEL_MAX_HIST);
	model_release(&m);
}

static void
test_cmd(void)
{
	struct model_cmd	c;

	model_parse_cmd("hello", 5, &c);
	CHECK_INT(c.type, MODEL_CMD_TEXT);
	CHECK_INT(c.textlen, 5);
	model_parse_cmd("", 0, &c);
	CHECK_INT(c.type, MODEL_CMD_EMPTY);
	model_parse_cmd("\r", 1, &c);
	CHECK_INT(c.type, MODEL_CMD_EMPTY);
	model_parse_cmd("//to x", 6, &c);
	CHECK_INT(c.type, MODEL_CMD_TEXT);
	CHECK(c.textlen == 5 && memcmp(c.text, "/to x", 5) == 0);
	model_parse_cmd("/to  6666 ", 10, &c);
	CHECK_INT(c.type, MODEL_CMD_TO);
	CHECK_STR(c.arg, "6666");
	model_parse_cmd("/to", 3, &c);
	CHECK_INT(c.type, MODEL_CMD_BAD);
	model_parse_cmd("/to a b", 7, &c);
	CHECK_INT(c.type, MODEL_CMD_BAD);
	model_parse_cmd("/who", 4, &c);
	CHECK_INT(c.type, MODEL_CMD_WHO);
	model_parse_cmd("/help", 5, &c);
	CHECK_INT(c.type, MODEL_CMD_HELP);
	model_parse_cmd("/quit", 5, &c);
	CHECK_INT(c.type, MODEL_CMD_QUIT);
	model_parse_cmd("/quit now", 9, &c);
	CHECK_INT(c.type, MODEL_CMD_BAD);
	model_parse_cmd("/frob", 5, &c);
	CHECK_INT(c.type, MODEL_CMD_BAD);
	CHECK(strstr(c.error, "'/frob'") != NULL);
}

int
main(void)
{
	if (setlocale(LC_ALL, "C.UTF-8") == NULL) {
		printf("skip: no C.UTF-8 locale\n");
		return 77;
	}
	test_wrap();
	test_history();
	test_scroll();
	test_input();
	test_cmd();
	return test_done();
}
