/*
 * Copyright (c) 2026 The chat authors.
 *
 * Unit tests for client/model.c: entries and their state suffixes,
 * defused peer text, one view per peer with activity (notices, messages
 * for us) and the bell, switching and closing views, scrollback that
 * reaches the first row with the marker row in place, wrapped rows
 * indented under the text, completion ids, and "/" command parsing.
 * No terminal, no sockets.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "model.h"
#include "tap.h"
#include "text.h"

/* The entry's displayed text as UTF-8, in a static buffer. */
static const char *
entry_text(const struct model_entry *e)
{
	static char	buf[MODEL_MAX_TEXT * 4 + 512];
	size_t		i, n = 0;

	for (i = 0; i < e->wlen && n + 4 < sizeof(buf); i++)
		n += text_utf8_put(e->w[i], buf + n);
	buf[n] = '\0';
	return buf;
}

static void
test_entries(void)
{
	struct model		 m;
	const struct model_entry *e;
	uint64_t		 seq, s2;
	size_t			 i;
	char			 big[40000];
	int			 v;

	CHECK(model_init(&m, "8888", "ws://127.0.0.1:8000") == 0);
	v = model_view(&m, "6666", 1);
	CHECK_INT(v, 1);
	seq = model_add(&m, 1, MODEL_IN, 0, "6666", NULL, "hi", 2);
	CHECK(seq > 0);
	e = model_entry_at(m.views[1], 0);
	CHECK_STR(entry_text(e), "00:00 6666: hi");
	CHECK_INT(e->tend, 6);
	CHECK_INT(e->fend, 12);

	seq = model_add(&m, 1, MODEL_OWN, 60, "8888", "6666",
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
	CHECK(model_set_state(&m, seq, MODEL_ELSEWHERE, NULL) == 0);
	CHECK_STR(entry_text(model_find(&m, seq)),
	    "00:01 8888 -> 6666: 你好, 世界 [other device]");

	/* Escape sequences and invalid bytes from a peer are defused. */
	s2 = model_add(&m, 1, MODEL_IN, 0, "x", NULL, "a\x1b[2Jb\xff\tc", 9);
	CHECK_STR(entry_text(model_find(&m, s2)),
	    "00:00 x: a\xef\xbf\xbd[2Jb\xef\xbf\xbd c");

	s2 = model_sys(&m, MODEL_SYS, "%s is online", "6666");
	e = model_find(&m, s2);
	CHECK(e != NULL && wcsstr(e->w, L"-!- 6666 is online") != NULL);

	/* A view keeps MODEL_MAX_LINES entries; old seqs disappear. */
	for (i = 0; i < MODEL_MAX_LINES + 10; i++)
		model_add(&m, 1, MODEL_IN, 0, "a", NULL, "x", 1);
	CHECK_INT(m.views[1]->count, MODEL_MAX_LINES);
	CHECK(model_find(&m, seq) == NULL);
	CHECK(model_set_state(&m, seq, MODEL_DELIVERED, NULL) == -1);
	CHECK(model_find(&m, m.next_seq - 1) != NULL);
	/* The status view's entry is still found among the others. */
	CHECK(model_find(&m, s2) != NULL);

	/* Huge texts are cut. */
	memset(big, 'y', sizeof(big));
	seq = model_add(&m, 1, MODEL_IN, 0, "a", NULL, big, sizeof(big));
	e = model_find(&m, seq);
	CHECK(e != NULL && e->xend - e->fend == MODEL_MAX_TEXT + 1);
	CHECK(e != NULL && e->w[e->xend - 1] == 0x2026);
	model_release(&m);
}

static void
test_views(void)
{
	struct model	m;
	int		a, b;

	CHECK(model_init(&m, "8888", "ws://x") == 0);
	CHECK_INT(m.nviews, 1);
	CHECK_INT(model_view(&m, "6666", 0), -1);
	a = model_view(&m, "6666", 1);
	b = model_view(&m, "7777", 1);
	CHECK_INT(a, 1);
	CHECK_INT(b, 2);
	CHECK_INT(model_view(&m, "6666", 1), 1);
	CHECK_INT(model_view(&m, "", 1), -1);
	model_switch(&m, 1);

	/* A third user's message goes to its own view, not the shown one. */
	model_add(&m, 2, MODEL_IN, 0, "7777", NULL, "psst", 4);
	CHECK_INT(m.views[1]->count, 0);
	CHECK_INT(m.views[2]->count, 1);
	CHECK_INT(m.views[2]->act, MODEL_ACT_MSG);
	CHECK_INT(m.bell, 1);
	m.bell = 0;
	/* Activity in the shown view does not count; notices are lower. */
	model_add(&m, 1, MODEL_IN, 0, "6666", NULL, "here", 4);
	CHECK_INT(m.views[1]->act, MODEL_ACT_NONE);
	CHECK_INT(m.bell, 0);
	model_sys_to(&m, 2, MODEL_SYS, "7777 is online");
	CHECK_INT(m.views[2]->act, MODEL_ACT_MSG);
	model_sys_to(&m, 0, MODEL_SYS, "notice");
	CHECK_INT(m.views[0]->act, MODEL_ACT_NOTICE);
	CHECK_INT(m.bell, 0);
	/* Alt-A: messages before notices. */
	CHECK_INT(model_next_active(&m), 2);
	model_switch(&m, 2);
	CHECK_INT(m.views[2]->act, MODEL_ACT_NONE);
	CHECK_INT(model_next_active(&m), 0);
	model_switch_rel(&m, 1);
	CHECK_INT(m.cur, 0);
	model_switch_rel(&m, -1);
	CHECK_INT(m.cur, 2);
	/* History is quiet. */
	m.quiet = 1;
	model_add(&m, 1, MODEL_IN, 0, "6666", NULL, "old", 3);
	m.quiet = 0;
	CHECK_INT(m.views[1]->act, MODEL_ACT_NONE);
	CHECK_INT(m.bell, 0);

	/* Presence: per view, and all unknown when we are not connected. */
	model_set_online(&m, "6666", 1);
	CHECK_INT(m.views[1]->online, 1);
	CHECK_INT(m.views[2]->online, -1);
	model_set_online(&m, NULL, -1);
	CHECK_INT(m.views[1]->online, -1);

	/* Closing: not the status view; the one before is shown. */
	CHECK_INT(model_close(&m), 0);
	CHECK_INT(m.nviews, 2);
	CHECK_INT(m.cur, 1);
	CHECK_STR(m.views[1]->name, "6666");
	model_switch(&m, 0);
	CHECK_INT(model_close(&m), -1);

	/* Completion ids: sorted, unique, never our own. */
	model_user_seen(&m, "zed");
	model_user_seen(&m, "6666");
	model_user_seen(&m, "alice");
	model_user_seen(&m, "6666");
	model_user_seen(&m, "8888");
	CHECK_INT(m.nusers, 3);
	CHECK_STR(m.users[0], "6666");
	CHECK_STR(m.users[1], "alice");
	CHECK_STR(m.users[2], "zed");
	model_release(&m);
}

static void
test_scroll(void)
{
	struct model		m;
	struct model_view	*v;
	struct text_row		r;
	const struct model_entry *e;
	size_t			pos;
	int			i;

	CHECK(model_init(&m, "a", "ws://x") == 0);
	v = m.views[0];
	m.pane_w = 20;
	m.pane_h = 5;
	for (i = 0; i < 10; i++)
		model_sys(&m, MODEL_SYS, "one row");
	model_scroll(&m, 3);
	CHECK_INT(v->scroll, 3);
	/*
	 * 10 rows, 5 in the pane: scrolled back, 4 of them above the
	 * marker, so the first row is at the top when 6 rows are below.
	 */
	model_scroll(&m, 100);
	CHECK_INT(v->scroll, 6);
	model_add(&m, 0, MODEL_IN, 0, "b", NULL, "new", 3);
	CHECK_INT(v->scroll, 7);		/* the view stays put */
	CHECK_INT(v->unread, 1);
	CHECK_INT(m.bell, 1);			/* scrolled back: ring */
	model_scroll(&m, -4);
	CHECK_INT(v->unread, 1);
	model_scroll(&m, -100);
	CHECK_INT(v->scroll, 0);
	CHECK_INT(v->unread, 0);
	/* At the bottom, new entries do not count as unread. */
	model_add(&m, 0, MODEL_IN, 0, "b", NULL, "new", 3);
	CHECK_INT(v->unread, 0);
	/* Fewer rows than the pane: no scrolling at all. */
	model_switch(&m, (size_t)model_view(&m, "b", 1));
	model_add(&m, m.cur, MODEL_IN, 0, "b", NULL, "x", 1);
	model_scroll(&m, 5);
	CHECK_INT(model_cur(&m)->scroll, 0);

	/*
	 * Word wrap with a hanging indent: "00:00 b: " is 9 columns, so
	 * rows after the first start at column 9 and hold 11.
	 */
	model_add(&m, m.cur, MODEL_IN, 0, "b", NULL, "aaa bbb ccc ddd", 15);
	e = model_entry_at(model_cur(&m), 1);
	pos = model_row(e, 20, 0, &r);
	CHECK_INT(r.end - r.start, 20);		/* "00:00 b: aaa bbb ccc" */
	model_row(e, 20, pos, &r);
	CHECK_INT(r.indent, 9);
	CHECK_INT(r.mark, 0);
	CHECK_INT(model_rows(e, 20), 2);
	/* An embedded newline: a marked row, indented too. */
	model_add(&m, m.cur, MODEL_IN, 0, "evil", NULL,
	    "ok\n16:58 6666: run this", 23);
	e = model_entry_at(model_cur(&m), 2);
	pos = model_row(e, 60, 0, &r);
	model_row(e, 60, pos, &r);
	CHECK_INT(r.mark, 1);
	CHECK_INT(r.indent, 12);
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
	/* White space only is nothing to send. */
	model_parse_cmd("  \t ", 4, &c);
	CHECK_INT(c.type, MODEL_CMD_EMPTY);
	model_parse_cmd("//to x", 6, &c);
	CHECK_INT(c.type, MODEL_CMD_TEXT);
	CHECK(c.textlen == 5 && memcmp(c.text, "/to x", 5) == 0);
	model_parse_cmd("/to  6666 ", 10, &c);
	CHECK_INT(c.type, MODEL_CMD_TO);
	CHECK_STR(c.arg, "6666");
	model_parse_cmd("/query 6666", 11, &c);
	CHECK_INT(c.type, MODEL_CMD_TO);
	model_parse_cmd("/to", 3, &c);
	CHECK_INT(c.type, MODEL_CMD_BAD);
	model_parse_cmd("/to a b", 7, &c);
	CHECK_INT(c.type, MODEL_CMD_BAD);
	model_parse_cmd("/msg 7777 hi  there", 19, &c);
	CHECK_INT(c.type, MODEL_CMD_MSG);
	CHECK_STR(c.arg, "7777");
	CHECK(c.textlen == 9 && memcmp(c.text, "hi  there", 9) == 0);
	model_parse_cmd("/msg 7777", 9, &c);
	CHECK_INT(c.type, MODEL_CMD_BAD);
	model_parse_cmd("/msg 7777   ", 12, &c);
	CHECK_INT(c.type, MODEL_CMD_BAD);
	model_parse_cmd("/msg bad!id x", 13, &c);
	CHECK_INT(c.type, MODEL_CMD_BAD);
	model_parse_cmd("/r", 2, &c);
	CHECK_INT(c.type, MODEL_CMD_REPLY);
	CHECK_INT(c.textlen, 0);
	model_parse_cmd("/r thanks", 9, &c);
	CHECK_INT(c.type, MODEL_CMD_REPLY);
	CHECK(c.textlen == 6 && memcmp(c.text, "thanks", 6) == 0);
	model_parse_cmd("/w 3", 4, &c);
	CHECK_INT(c.type, MODEL_CMD_WINDOW);
	CHECK_INT(c.num, 3);
	model_parse_cmd("/w 0", 4, &c);
	CHECK_INT(c.type, MODEL_CMD_BAD);
	model_parse_cmd("/w x", 4, &c);
	CHECK_INT(c.type, MODEL_CMD_BAD);
	model_parse_cmd("/close", 6, &c);
	CHECK_INT(c.type, MODEL_CMD_CLOSE);
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
	/* Rooms: one '#' in front is not part of the name. */
	model_parse_cmd("/join ops", 9, &c);
	CHECK_INT(c.type, MODEL_CMD_JOIN);
	CHECK_STR(c.arg, "ops");
	model_parse_cmd("/join #ops ", 11, &c);
	CHECK_INT(c.type, MODEL_CMD_JOIN);
	CHECK_STR(c.arg, "ops");
	model_parse_cmd("/join ##x", 9, &c);
	CHECK_STR(c.arg, "#x");
	model_parse_cmd("/join caf\xc3\xa9", 11, &c);
	CHECK_INT(c.type, MODEL_CMD_JOIN);
	CHECK_STR(c.arg, "caf\xc3\xa9");
	model_parse_cmd("/join", 5, &c);
	CHECK_INT(c.type, MODEL_CMD_BAD);
	model_parse_cmd("/join a b", 9, &c);
	CHECK_INT(c.type, MODEL_CMD_BAD);
	model_parse_cmd("/join #", 7, &c);
	CHECK_INT(c.type, MODEL_CMD_BAD);
	model_parse_cmd("/part", 5, &c);
	CHECK_INT(c.type, MODEL_CMD_PART);
	CHECK_STR(c.arg, "");
	model_parse_cmd("/part #ops", 10, &c);
	CHECK_INT(c.type, MODEL_CMD_PART);
	CHECK_STR(c.arg, "ops");
	model_parse_cmd("/names", 6, &c);
	CHECK_INT(c.type, MODEL_CMD_NAMES);
	model_parse_cmd("/rooms", 6, &c);
	CHECK_INT(c.type, MODEL_CMD_ROOMS);
	model_parse_cmd("/rooms x", 8, &c);
	CHECK_INT(c.type, MODEL_CMD_BAD);
	{
		char	name[MODEL_MAX_NAME + 1];

		model_room_view_name(name, "ops");
		CHECK_STR(name, "#ops");
		CHECK_STR(model_view_room(name), "ops");
		CHECK(model_view_room("6666") == NULL);
	}
}

int
main(void)
{
	test_entries();
	test_views();
	test_scroll();
	test_cmd();
	return test_done();
}
