/*
 * Copyright (c) 2026 The chat authors.
 *
 * Unit tests for common/log.c: the text line and its ISO 8601 time with
 * the zone, JSON lines (parsed back with jansson, also for bytes that
 * are not UTF-8), and the rate limit of repeated lines on a clock of
 * the test's own: twenty lines of a kind a second, then a count.
 */
#include <regex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "log.h"
#include "tap.h"

static uint64_t	fake_now;

static uint64_t
fake_clock(void)
{
	return fake_now;
}

static char	*buf;
static size_t	 buflen;
static FILE	*fp;

static void
open_log(int json)
{
	if (fp != NULL)
		fclose(fp);
	free(buf);
	buf = NULL;
	fp = open_memstream(&buf, &buflen);
	log_init("test", LOG_INFO, fp);
	log_set_json(json);
	log_set_clock(fake_clock);
}

static int
count_lines(void)
{
	const char	*p;
	int		 n = 0;

	fflush(fp);
	for (p = buf; p != NULL && *p != '\0'; p++)
		if (*p == '\n')
			n++;
	return n;
}

static int
matches(const char *re, const char *s)
{
	regex_t	r;
	int	ok;

	if (regcomp(&r, re, REG_EXTENDED | REG_NOSUB) != 0)
		return 0;
	ok = regexec(&r, s, 0, NULL, 0) == 0;
	regfree(&r);
	return ok;
}

/* One call site: the rate limit tells kinds of lines by their format. */
static void
warn_refused(int i)
{
	log_warn("refused #%d", i);
}

int
main(void)
{
	json_t		*o;
	json_error_t	 jerr;
	int		 i;

	setenv("TZ", "UTC", 1);

	/* Text: ISO 8601 time, to the millisecond, with the zone. */
	open_log(0);
	log_info("hello %s", "world");
	fflush(fp);
	CHECK(matches("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:"
	    "[0-9]{2}\\.[0-9]{3}\\+00:00 test: info: hello world\n$", buf));
	log_debug("not at info");
	CHECK_INT(count_lines(), 1);

	/* JSON: one object a line, with the same fields. */
	open_log(1);
	log_warn("a \"quoted\" %s", "word");
	fflush(fp);
	o = json_loads(buf, 0, &jerr);
	CHECK(o != NULL);
	CHECK_STR(json_string_value(json_object_get(o, "level")), "warning");
	CHECK_STR(json_string_value(json_object_get(o, "program")), "test");
	CHECK_STR(json_string_value(json_object_get(o, "msg")),
	    "a \"quoted\" word");
	CHECK(matches("^[0-9-]{10}T[0-9:.]{12}\\+00:00$",
	    json_string_value(json_object_get(o, "time"))));
	json_decref(o);
	/* Bytes that are not UTF-8 are escaped, not dropped. */
	open_log(1);
	log_info("bad \xff byte");
	fflush(fp);
	o = json_loads(buf, 0, &jerr);
	CHECK_STR(json_string_value(json_object_get(o, "msg")),
	    "bad \\xff byte");
	json_decref(o);

	/* The rate limit: 20 lines of a kind a second, then a count. */
	open_log(0);
	fake_now = 1000;
	for (i = 0; i < 35; i++)
		warn_refused(i);
	CHECK_INT(count_lines(), 20);
	/* Another kind is not held back; info lines never are. */
	log_error("something else");
	for (i = 0; i < 30; i++)
		log_info("connected %d", i);
	CHECK_INT(count_lines(), 51);
	/* A second later: the count, then the line. */
	fake_now = 2000;
	warn_refused(99);
	CHECK_INT(count_lines(), 53);
	CHECK(strstr(buf, "15 similar lines suppressed in 1.0 s: "
	    "\"refused #%d\"") != NULL);
	CHECK(strstr(buf, "refused #99") != NULL);
	/* A flood that stops is reported at the next log_flush(). */
	for (i = 0; i < 24; i++)
		warn_refused(i);
	CHECK_INT(count_lines(), 72);
	log_flush();
	CHECK_INT(count_lines(), 72);	/* its second is not over */
	fake_now = 3500;
	log_flush();
	CHECK_INT(count_lines(), 73);
	CHECK(strstr(buf, "5 similar lines suppressed in 1.5 s") != NULL);
	/* Marked info lines are limited too. */
	for (i = 0; i < 25; i++)
		log_info_limited("refused: 401 (%d)", i);
	CHECK_INT(count_lines(), 93);

	log_set_clock(NULL);
	log_init("test", LOG_INFO, NULL);
	fclose(fp);
	free(buf);
	return test_done();
}
