/*
 * Copyright (c) 2026 The chat authors.
 *
 * Unit tests for client/state.c: the state directory and safe file
 * names, creating directories with mode 0700, the seq cursor (written
 * atomically, throttled, forced, merged with another client's, reset by
 * a restarted server, retention gaps), unreadable or corrupt files, and
 * the conversation log (round trip, cut texts, bad lines, duplicates,
 * compaction by count and by size).  Files live in a fresh directory
 * under $TEST_TMP (or /tmp), removed at the end.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "state.h"
#include "tap.h"
#include "utf8.h"

static char	top[1024];

static int
rm_one(const char *path, const struct stat *sb, int flag, struct FTW *f)
{
	return remove(path);
}

static void
write_file(const char *path, const char *text)
{
	FILE	*fp = fopen(path, "w");

	CHECK(fp != NULL);
	if (fp == NULL)
		return;
	fputs(text, fp);
	fclose(fp);
}

static const char *
read_file(const char *path)
{
	static char	buf[4 * 1024 * 1024];
	FILE		*fp = fopen(path, "r");
	size_t		 n;

	if (fp == NULL)
		return "";
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	return buf;
}

static size_t
count_lines(const char *path)
{
	const char	*p = read_file(path);
	size_t		 n = 0;

	for (; *p != '\0'; p++)
		n += *p == '\n';
	return n;
}

/* Files in dir whose name contains s. */
static int
count_names(const char *dir, const char *s)
{
	DIR		*d = opendir(dir);
	struct dirent	*de;
	int		 n = 0;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		n += strstr(de->d_name, s) != NULL;
	closedir(d);
	return n;
}

static void
test_dir(void)
{
	char	buf[PATH_MAX], big[PATH_MAX + 10];

	CHECK_INT(state_dir(buf, sizeof(buf), "/x/state", "/home/u"), 0);
	CHECK_STR(buf, "/x/state/chat-client");
	/* Empty or relative: unset, as the XDG specification says. */
	CHECK_INT(state_dir(buf, sizeof(buf), "", "/home/u"), 0);
	CHECK_STR(buf, "/home/u/.local/state/chat-client");
	CHECK_INT(state_dir(buf, sizeof(buf), "rel/state", "/home/u"), 0);
	CHECK_STR(buf, "/home/u/.local/state/chat-client");
	CHECK_INT(state_dir(buf, sizeof(buf), NULL, "/home/u"), 0);
	CHECK_STR(buf, "/home/u/.local/state/chat-client");
	CHECK_INT(state_dir(buf, sizeof(buf), NULL, NULL), -1);
	CHECK_INT(state_dir(buf, sizeof(buf), "", "home"), -1);
	memset(big, 'a', sizeof(big) - 1);
	big[0] = '/';
	big[sizeof(big) - 1] = '\0';
	CHECK_INT(state_dir(buf, sizeof(buf), big, NULL), -1);
	CHECK_INT(state_dir(buf, 10, "/x/state", NULL), -1);
}

static void
test_name(void)
{
	struct dial_url	u;
	char		buf[STATE_MAX_NAME + 1], err[DIAL_ERRLEN];
	char		host[200];

	CHECK_INT(dial_parse_url("ws://127.0.0.1:8000", &u, err), 0);
	CHECK_INT(state_name(buf, sizeof(buf), &u, "8888"), 0);
	CHECK_STR(buf, "ws_127.0.0.1_8000_8888");
	CHECK_INT(dial_parse_url("wss://Chat.Example.ORG/x", &u, err), 0);
	CHECK_INT(state_name(buf, sizeof(buf), &u, "a.b_c-d"), 0);
	CHECK_STR(buf, "wss_chat.example.org_443_a.b_c-d");
	CHECK_INT(dial_parse_url("ws://[::1]:9000", &u, err), 0);
	CHECK_INT(state_name(buf, sizeof(buf), &u, "u"), 0);
	CHECK_STR(buf, "ws_%3a%3a1_9000_u");
	CHECK_INT(state_name(buf, sizeof(buf), &u, "bad/user"), -1);
	CHECK_INT(state_name(buf, sizeof(buf), &u, ""), -1);
	CHECK_INT(state_name(buf, 8, &u, "u"), -1);

	/* Hosts that no parser should give us still make safe names. */
	snprintf(u.host, sizeof(u.host), "../../etc/x_y z\x01");
	CHECK_INT(state_name(buf, sizeof(buf), &u, "u"), 0);
	CHECK_STR(buf, "ws_..%2f..%2fetc%2fx%5fy%20z%01_9000_u");
	CHECK(strchr(buf, '/') == NULL);

	/* A long host becomes a hash, the same one each time. */
	memset(host, 'h', 150);
	host[150] = '\0';
	snprintf(u.host, sizeof(u.host), "%s", host);
	CHECK_INT(state_name(buf, sizeof(buf), &u, "u"), 0);
	CHECK(strncmp(buf, "ws_%h", 5) == 0);
	CHECK_INT(strlen(buf), strlen("ws_%h") + 16 + strlen("_9000_u"));
	u.host[0] = 'H';	/* case does not matter */
	{
		char	again[STATE_MAX_NAME + 1];

		CHECK_INT(state_name(again, sizeof(again), &u, "u"), 0);
		CHECK_STR(again, buf);
		u.host[1] = 'x';
		CHECK_INT(state_name(again, sizeof(again), &u, "u"), 0);
		CHECK(strcmp(again, buf) != 0);
	}
	/* The worst case fits STATE_MAX_NAME. */
	memset(host, '_', 33);
	host[33] = '\0';
	snprintf(u.host, sizeof(u.host), "%s", host);
	memset(host, 'u', 64);
	host[64] = '\0';
	snprintf(u.port, sizeof(u.port), "65535");
	u.tls = 1;
	CHECK_INT(state_name(buf, sizeof(buf), &u, host), 0);
	CHECK(strlen(buf) <= STATE_MAX_NAME);
}

static void
test_open(void)
{
	struct state	st;
	struct stat	sb;
	char		dir[PATH_MAX], path[PATH_MAX + 32], err[STATE_ERRLEN];

	/* Missing parents are made, each 0700. */
	snprintf(dir, sizeof(dir), "%s/xdg/a/chat-client", top);
	CHECK_INT(state_open(&st, dir, "ws_h_1_u", err), 0);
	CHECK(stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode));
	CHECK_INT(sb.st_mode & 0777, 0700);
	snprintf(path, sizeof(path), "%s/xdg/a", top);
	CHECK(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0700);
	CHECK_INT(st.have_seq, 0);	/* the first run: no since */
	CHECK(strstr(st.seqpath, "/ws_h_1_u.seq") != NULL);
	CHECK(strstr(st.logpath, "/ws_h_1_u.log") != NULL);
	CHECK_INT(state_timeout(&st, 5000), -1);
	CHECK_INT(state_flush(&st, 5000, 1, err), 0);
	CHECK(access(st.seqpath, F_OK) == -1);	/* nothing to write */

	/* An existing directory keeps its mode. */
	snprintf(dir, sizeof(dir), "%s/open755", top);
	CHECK(mkdir(dir, 0755) == 0);
	CHECK_INT(state_open(&st, dir, "n", err), 0);
	CHECK(stat(dir, &sb) == 0 && (sb.st_mode & 0777) == 0755);

	/* A file in the way: no files, but a working cursor in memory. */
	snprintf(path, sizeof(path), "%s/afile", top);
	write_file(path, "x");
	snprintf(dir, sizeof(dir), "%s/afile/chat-client", top);
	err[0] = '\0';
	CHECK_INT(state_open(&st, dir, "n", err), -1);
	CHECK(strstr(err, "cannot create directory") != NULL);
	CHECK_STR(st.seqpath, "");
	state_shown(&st, 3);
	CHECK(state_is_dup(&st, 3));
	CHECK_INT(state_flush(&st, 9000, 1, err), 0);
	CHECK_INT(state_timeout(&st, 9000), -1);
	{
		struct state_entry	e;

		memset(&e, 0, sizeof(e));
		e.way = STATE_IN;
		snprintf(e.from, sizeof(e.from), "a");
		snprintf(e.to, sizeof(e.to), "b");
		e.text = (char *)"hi";
		e.len = 2;
		CHECK_INT(state_log_add(&st, &e, err), 0);
	}
}

static void
test_seq(void)
{
	struct state	st, other;
	char		dir[PATH_MAX], err[STATE_ERRLEN];
	char		epoch[CODEC_MAX_EPOCH + 1];
	uint64_t	since = 99;

	snprintf(dir, sizeof(dir), "%s/seq", top);
	CHECK_INT(state_open(&st, dir, "s", err), 0);
	CHECK_INT(state_since(&st, &since, NULL), 0);
	CHECK(!state_is_dup(&st, 1));

	/* The first message is written at once... */
	state_shown(&st, 5);
	CHECK_INT(state_timeout(&st, 10000), 0);
	CHECK_INT(state_flush(&st, 10000, 0, err), 0);
	CHECK_STR(read_file(st.seqpath), "5\n");
	CHECK_INT(state_timeout(&st, 10000), -1);
	/* ...the next ones at most once a second... */
	state_shown(&st, 6);
	CHECK_INT(state_flush(&st, 10500, 0, err), 0);
	CHECK_STR(read_file(st.seqpath), "5\n");
	CHECK_INT(state_timeout(&st, 10500), 500);
	CHECK_INT(state_flush(&st, 11000, 0, err), 0);
	CHECK_STR(read_file(st.seqpath), "6\n");
	/* ...unless forced, as at exit. */
	state_shown(&st, 7);
	CHECK_INT(state_flush(&st, 11100, 1, err), 0);
	CHECK_STR(read_file(st.seqpath), "7\n");
	CHECK_INT(count_names(dir, "s.seq."), 0);	/* no temp files */

	/* Duplicates and messages without seq. */
	CHECK(state_is_dup(&st, 7));
	CHECK(state_is_dup(&st, 1));
	CHECK(!state_is_dup(&st, 8));
	CHECK(!state_is_dup(&st, 0));
	state_shown(&st, 0);
	state_shown(&st, 4);	/* never backwards */
	CHECK(state_since(&st, &since, NULL) == 1 && since == 7);
	CHECK_INT(st.dirty, 0);

	/* The next run starts after it. */
	CHECK_INT(state_open(&other, dir, "s", err), 0);
	CHECK(state_since(&other, &since, NULL) == 1 && since == 7);

	/* Another client of the user went further: its value stays. */
	write_file(st.seqpath, "12\n");
	state_shown(&st, 9);
	CHECK_INT(state_flush(&st, 20000, 1, err), 0);
	CHECK_STR(read_file(st.seqpath), "12\n");

	/* Retention gaps, reported relative to the server's since. */
	CHECK_INT(state_resumed(&st, 9, 5, 20, NULL, 0), 0);
	CHECK_INT(state_resumed(&st, 9, 10, 20, NULL, 0), 0);
	CHECK_INT(state_resumed(&st, 9, 15, 20, NULL, 0), 5);
	CHECK_INT(state_resumed(&st, 9, 0, 12, NULL, 0), 3);	/* nothing kept */
	CHECK_INT(state_resumed(&st, 9, 0, 0, NULL, 0), 0);
	CHECK(state_since(&st, &since, NULL) == 1 && since == 9);
	CHECK_INT(st.dirty, 0);

	/* A restarted server: the cursor follows, and is written as is. */
	CHECK_INT(state_resumed(&st, 0, 1, 3, NULL, 0), 0);
	CHECK(state_since(&st, &since, NULL) == 1 && since == 0);
	CHECK(!state_is_dup(&st, 1));
	CHECK_INT(state_flush(&st, 30000, 1, err), 0);
	CHECK_STR(read_file(st.seqpath), "0\n");
	CHECK_INT(state_open(&other, dir, "s", err), 0);
	CHECK(state_since(&other, &since, NULL) == 1 && since == 0);
	state_shown(&st, 2);
	CHECK_INT(state_flush(&st, 40000, 1, err), 0);
	CHECK_STR(read_file(st.seqpath), "2\n");

	/* The server names its numbering: kept with the seq, and sent. */
	CHECK_INT(state_resumed(&st, 2, 1, 2, "0a1b2c3d4e5f6789", 0), 0);
	CHECK_INT(state_flush(&st, 50000, 1, err), 0);
	CHECK_STR(read_file(st.seqpath), "2 0a1b2c3d4e5f6789\n");
	CHECK_INT(state_open(&other, dir, "s", err), 0);
	CHECK(state_since(&other, &since, epoch) == 1 && since == 2);
	CHECK_STR(epoch, "0a1b2c3d4e5f6789");
	/* Another client's larger seq of another numbering is not kept. */
	write_file(st.seqpath, "40 ffffffffffffffff\n");
	state_shown(&st, 3);
	CHECK_INT(state_flush(&st, 60000, 1, err), 0);
	CHECK_STR(read_file(st.seqpath), "3 0a1b2c3d4e5f6789\n");
	/* Reset: our seq was from another numbering; back to the since. */
	CHECK_INT(state_resumed(&st, 0, 1, 9, "1111222233334444", 1), 0);
	CHECK(state_since(&st, &since, epoch) == 1 && since == 0);
	CHECK_STR(epoch, "1111222233334444");
	CHECK_INT(state_flush(&st, 70000, 1, err), 0);
	CHECK_STR(read_file(st.seqpath), "0 1111222233334444\n");
	/* An epoch we could not put in a URL is ignored. */
	CHECK_INT(state_resumed(&st, 0, 1, 9, "a b&c", 0), 0);
	CHECK(state_since(&st, &since, epoch) == 1);
	CHECK_STR(epoch, "1111222233334444");
}

static void
test_corrupt(void)
{
	struct state	st;
	char		dir[PATH_MAX], path[PATH_MAX + 32], err[STATE_ERRLEN];
	uint64_t	since;
	static const char *const bad[] = {
		"", "\n", "abc\n", "-3\n", "12 \n", "1\n2\n", "5x",
		"99999999999999999999999999\n", NULL
	};
	size_t		i;

	snprintf(dir, sizeof(dir), "%s/corrupt", top);
	CHECK(mkdir(dir, 0700) == 0);
	snprintf(path, sizeof(path), "%s/c.seq", dir);
	for (i = 0; bad[i] != NULL; i++) {
		write_file(path, bad[i]);
		err[0] = '\0';
		CHECK_INT(state_open(&st, dir, "c", err), -1);
		CHECK(strstr(err, "holds no seq number") != NULL);
		CHECK_INT(state_since(&st, &since, NULL), 0);
		/* Still usable: the next message writes a good file. */
		CHECK(st.seqpath[0] != '\0');
	}
	state_shown(&st, 4);
	CHECK_INT(state_flush(&st, 1000, 1, err), 0);
	CHECK_INT(state_open(&st, dir, "c", err), 0);
	CHECK(state_since(&st, &since, NULL) == 1 && since == 4);
	write_file(path, "42");		/* no newline is fine */
	CHECK_INT(state_open(&st, dir, "c", err), 0);
	CHECK(state_since(&st, &since, NULL) == 1 && since == 42);

	/* Unreadable (a directory where the file should be). */
	snprintf(path, sizeof(path), "%s/d.seq", dir);
	CHECK(mkdir(path, 0700) == 0);
	err[0] = '\0';
	CHECK_INT(state_open(&st, dir, "d", err), -1);
	CHECK(strstr(err, "cannot read") != NULL);
	CHECK_INT(state_since(&st, &since, NULL), 0);
	state_shown(&st, 1);
	err[0] = '\0';
	CHECK_INT(state_flush(&st, 1000, 1, err), -1);
	CHECK(strstr(err, "cannot write") != NULL);
	CHECK_INT(st.dirty, 1);		/* tried again later */
	CHECK_INT(state_timeout(&st, 1500), 500);
	CHECK_INT(count_names(dir, "d.seq."), 0);
}

static void
add(struct state *st, enum state_way way, uint64_t seq, const char *from,
    const char *text, size_t len)
{
	struct state_entry	e;
	char			err[STATE_ERRLEN];

	memset(&e, 0, sizeof(e));
	e.ts = 1767225600000ULL + seq;
	e.way = way;
	e.seq = seq;
	snprintf(e.from, sizeof(e.from), "%s", from);
	snprintf(e.to, sizeof(e.to), "%s", way == STATE_IN ? "me" : "you");
	if (way == STATE_OUT)
		snprintf(e.status, sizeof(e.status), "queued");
	e.text = (char *)text;
	e.len = len;
	CHECK_INT(state_log_add(st, &e, err), 0);
}

static void
test_log(void)
{
	struct state		 st;
	struct state_entry	*e;
	char			 dir[PATH_MAX], err[STATE_ERRLEN];
	char			*big;
	size_t			 n, i;
	int			 fd;

	snprintf(dir, sizeof(dir), "%s/log", top);
	CHECK_INT(state_open(&st, dir, "l", err), 0);
	CHECK_INT(state_log_tail(&st, 50, &e, &n, err), 0);
	CHECK_INT(n, 0);
	CHECK(e == NULL);

	add(&st, STATE_IN, 1, "a", "hello", 5);
	add(&st, STATE_OUT, 0, "me", "line\none \"q\" \\", 15);
	add(&st, STATE_IN, 2, "b", "nul\0inside", 10);
	add(&st, STATE_IN, 3, "c", "\xe4\xbd\xa0\xe5\xa5\xbd", 6);
	CHECK_INT(count_lines(st.logpath), 4);
	CHECK_INT(st.log_entries, 4);

	CHECK_INT(state_log_tail(&st, 50, &e, &n, err), 0);
	CHECK_INT(n, 4);
	if (n == 4) {
		CHECK_INT(e[0].way, STATE_IN);
		CHECK_INT(e[0].seq, 1);
		CHECK_INT(e[0].ts, 1767225600001ULL);
		CHECK_STR(e[0].from, "a");
		CHECK_STR(e[0].to, "me");
		CHECK_STR(e[0].text, "hello");
		CHECK_INT(e[1].way, STATE_OUT);
		CHECK_INT(e[1].seq, 0);
		CHECK_STR(e[1].to, "you");
		CHECK_STR(e[1].status, "queued");
		CHECK_INT(e[1].len, 15);
		CHECK_STR(e[1].text, "line\none \"q\" \\");
		CHECK_INT(e[2].len, 10);
		CHECK(memcmp(e[2].text, "nul\0inside", 10) == 0);
		CHECK_STR(e[3].text, "你好");
	}
	state_entries_free(e, n);
	CHECK_INT(state_log_tail(&st, 2, &e, &n, err), 0);
	CHECK(n == 2 && e[0].seq == 2 && e[1].seq == 3);
	state_entries_free(e, n);

	/*
	 * A line cut by a crash and a line of garbage are skipped; the
	 * cut line does not swallow the next entry.
	 */
	fd = open(st.logpath, O_WRONLY | O_APPEND);
	CHECK(fd != -1);
	CHECK(write(fd, "not json\n{\"ts\":1,\"dir\":\"in\",\"fr", 31) == 31);
	close(fd);
	add(&st, STATE_IN, 4, "d", "after the cut", 13);
	/* The same message logged by two clients of the user: once. */
	add(&st, STATE_IN, 4, "d", "after the cut", 13);
	/* Same seq from a restarted server, other text: both kept. */
	add(&st, STATE_IN, 4, "d", "new numbering", 13);
	CHECK_INT(state_log_tail(&st, 50, &e, &n, err), 0);
	CHECK_INT(n, 6);
	if (n == 6) {
		CHECK_STR(e[3].text, "你好");
		CHECK_STR(e[4].text, "after the cut");
		CHECK_STR(e[5].text, "new numbering");
	}
	state_entries_free(e, n);

	/* Invalid UTF-8 is refused, and long texts are cut at a character. */
	{
		struct state_entry	x;

		memset(&x, 0, sizeof(x));
		x.way = STATE_IN;
		snprintf(x.from, sizeof(x.from), "a");
		snprintf(x.to, sizeof(x.to), "b");
		x.text = (char *)"\xff";
		x.len = 1;
		CHECK_INT(state_log_add(&st, &x, err), -1);
	}
	big = malloc(STATE_MAX_TEXT + 101);
	CHECK(big != NULL);
	if (big == NULL)
		return;
	/* "a" then é é é...: the limit falls inside a character. */
	big[0] = 'a';
	for (i = 1; i + 1 < STATE_MAX_TEXT + 101; i += 2) {
		big[i] = '\xc3';
		big[i + 1] = '\xa9';
	}
	add(&st, STATE_IN, 5, "e", big, STATE_MAX_TEXT + 99);
	CHECK_INT(state_log_tail(&st, 1, &e, &n, err), 0);
	CHECK(n == 1 && e[0].len <= STATE_MAX_TEXT &&
	    e[0].len >= STATE_MAX_TEXT - 2);
	CHECK(n == 1 && utf8_valid((uint8_t *)e[0].text, e[0].len));
	state_entries_free(e, n);
	free(big);

	/* A room's message names its room; a bad room skips the line. */
	{
		struct state_entry	x;

		memset(&x, 0, sizeof(x));
		x.ts = 1767225700000ULL;
		x.way = STATE_IN;
		x.seq = 6;
		snprintf(x.from, sizeof(x.from), "a");
		snprintf(x.to, sizeof(x.to), "me");
		snprintf(x.room, sizeof(x.room), "caf\xc3\xa9");
		x.text = (char *)"in the room";
		x.len = 11;
		CHECK_INT(state_log_add(&st, &x, err), 0);
	}
	fd = open(st.logpath, O_WRONLY | O_APPEND);
	CHECK(fd != -1);
	CHECK(write(fd, "{\"ts\":2,\"dir\":\"in\",\"seq\":7,\"from\":\"a\","
	    "\"to\":\"b\",\"room\":\"a b\",\"text\":\"x\"}\n", 72) == 72);
	close(fd);
	CHECK_INT(state_log_tail(&st, 2, &e, &n, err), 0);
	CHECK(n == 2 && strcmp(e[1].room, "caf\xc3\xa9") == 0 &&
	    strcmp(e[1].text, "in the room") == 0 && e[0].room[0] == '\0');
	state_entries_free(e, n);
}

static void
test_compact(void)
{
	struct state		 st, again;
	struct state_entry	*e;
	char			 dir[PATH_MAX], err[STATE_ERRLEN], text[64];
	char			*big;
	size_t			 n, i, lines;
	struct stat		 sb;

	snprintf(dir, sizeof(dir), "%s/compact", top);
	CHECK_INT(state_open(&st, dir, "k", err), 0);
	for (i = 1; i <= STATE_LOG_MAX + 1; i++) {
		snprintf(text, sizeof(text), "message %zu", i);
		add(&st, STATE_IN, i, "a", text, strlen(text));
	}
	lines = count_lines(st.logpath);
	CHECK_INT(lines, STATE_LOG_KEEP);
	CHECK_INT(st.log_entries, STATE_LOG_KEEP);
	CHECK_INT(count_names(dir, "k.log."), 0);
	CHECK(stat(st.logpath, &sb) == 0 && (sb.st_mode & 0777) == 0600);
	CHECK_INT(state_log_tail(&st, STATE_HISTORY, &e, &n, err), 0);
	CHECK_INT(n, STATE_HISTORY);
	if (n == STATE_HISTORY) {
		snprintf(text, sizeof(text), "message %d",
		    STATE_LOG_MAX + 1 - STATE_HISTORY + 1);
		CHECK_STR(e[0].text, text);
		snprintf(text, sizeof(text), "message %d", STATE_LOG_MAX + 1);
		CHECK_STR(e[n - 1].text, text);
	}
	state_entries_free(e, n);
	/* A new run counts what is there. */
	CHECK_INT(state_open(&again, dir, "k", err), 0);
	CHECK_INT(again.log_entries, STATE_LOG_KEEP);

	/* By size: big entries are kept within STATE_LOG_KEEP_BYTES. */
	big = malloc(10000);
	CHECK(big != NULL);
	if (big == NULL)
		return;
	memset(big, 'x', 10000);
	for (i = 0; i < 60; i++)
		add(&again, STATE_OUT, 0, "me", big, 10000);
	CHECK(stat(again.logpath, &sb) == 0);
	CHECK(sb.st_size <= STATE_LOG_MAX_BYTES);
	CHECK(again.log_bytes <= STATE_LOG_MAX_BYTES);
	CHECK_INT(state_log_tail(&again, 1000, &e, &n, err), 0);
	CHECK(n > 0 && n < 60);
	CHECK(n > 0 && e[n - 1].way == STATE_OUT && e[n - 1].len == 10000);
	state_entries_free(e, n);
	free(big);
}

int
main(void)
{
	const char	*tmp = getenv("TEST_TMP");

	snprintf(top, sizeof(top), "%s/state-test.XXXXXX",
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	if (mkdtemp(top) == NULL) {
		perror(top);
		return 1;
	}
	umask(022);
	test_dir();
	test_name();
	test_open();
	test_seq();
	test_corrupt();
	test_log();
	test_compact();
	nftw(top, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return test_done();
}
