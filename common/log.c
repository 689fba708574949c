/*
 * Copyright (c) 2026 The chat authors.
 *
 * log: timestamped, levelled lines to one stream, as text or as one
 * JSON object a line, and the rate limit of repeated lines.  The state
 * is private to this file and set once at startup by the program.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include <jansson.h>

#include "log.h"
#include "util.h"

/*
 * A line of a format logged more than LIMIT_LINES times within one
 * LIMIT_WINDOW_MS is suppressed; the first line after the window (or
 * log_flush()) says how many were.  Formats are told apart by their
 * address: each call site is one kind of line.
 */
#define LIMIT_LINES	20
#define LIMIT_WINDOW_MS	1000
#define LIMIT_SLOTS	32
#define LINE_MAX_BYTES	4096

struct log_limit {
	const char	*fmt;		/* NULL: free slot */
	int		 level;
	uint64_t	 start;		/* window start, ms */
	unsigned	 lines;		/* written in the window */
	unsigned long	 suppressed;	/* not written in the window */
};

static const char	*log_prog = "chat";
static int		 log_level = LOG_INFO;
static FILE		*log_fp;
static int		 log_batched;
static int		 log_json;
static uint64_t		(*log_clock)(void) = util_mono_ms;
static struct log_limit	 log_limits[LIMIT_SLOTS];

static const char *const log_names[] = {
	"error", "warning", "info", "debug", "debug2"
};

void
log_init(const char *prog, int level, FILE *fp)
{
	log_prog = prog;
	log_level = level;
	log_fp = fp;
}

void
log_set_json(int on)
{
	log_json = on;
}

void
log_set_clock(uint64_t (*now_ms)(void))
{
	log_clock = now_ms != NULL ? now_ms : util_mono_ms;
	memset(log_limits, 0, sizeof(log_limits));
}

int
log_enabled(int level)
{
	return log_fp != NULL && (level & ~LOG_LIMIT) <= log_level;
}

/* ISO 8601, local time to the millisecond and the zone: ...T...+01:00. */
static void
log_stamp(char *buf, size_t len)
{
	struct timeval	tv;
	struct tm	tm;
	char		date[24], zone[8];

	gettimeofday(&tv, NULL);
	localtime_r(&tv.tv_sec, &tm);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
	strftime(zone, sizeof(zone), "%z", &tm);	/* +0100 */
	snprintf(buf, len, "%.20s.%03d%.3s:%.2s", date,
	    (int)(tv.tv_usec / 1000) % 1000, zone, zone + 3);
}

static void
log_write(int level, const char *text)
{
	json_t	*o, *m;
	char	 stamp[64], esc[LINE_MAX_BYTES];

	log_stamp(stamp, sizeof(stamp));
	if (!log_json) {
		fprintf(log_fp, "%s %s: %s: %s\n", stamp, log_prog,
		    log_names[level], text);
	} else {
		o = json_pack("{s:s, s:s, s:s}", "time", stamp, "level",
		    log_names[level], "program", log_prog);
		/* Text that is not UTF-8 is escaped rather than lost. */
		if ((m = json_string(text)) == NULL)
			m = json_string(util_escape(esc, sizeof(esc), text,
			    strlen(text)));
		if (o == NULL || m == NULL || json_object_set_new(o, "msg",
		    m) != 0 || json_dumpf(o, log_fp, JSON_COMPACT |
		    JSON_PRESERVE_ORDER) != 0) {
			if (o == NULL)
				json_decref(m);
			fprintf(log_fp, "{\"level\":\"error\",\"msg\":"
			    "\"cannot format a log line\"}");
		}
		fputc('\n', log_fp);
		json_decref(o);
	}
	/* Errors go out at once; batched lines with the next log_flush(). */
	if (!log_batched || level <= LOG_WARN)
		fflush(log_fp);
}

/* Say how many lines of l's kind were suppressed, and start again. */
static void
log_limit_report(struct log_limit *l, uint64_t now)
{
	char	text[LINE_MAX_BYTES];

	if (l->suppressed > 0) {
		snprintf(text, sizeof(text), "%lu similar line%s suppressed "
		    "in %.1f s: \"%s\"", l->suppressed,
		    l->suppressed == 1 ? "" : "s",
		    (double)(now - l->start) / 1000.0, l->fmt);
		log_write(l->level, text);
	}
	l->start = now;
	l->lines = 0;
	l->suppressed = 0;
}

/* 1 if a line of fmt may be written now. */
static int
log_limit_pass(int level, const char *fmt)
{
	struct log_limit	*l, *free_slot = NULL;
	uint64_t		 now = log_clock();
	size_t			 i;

	for (i = 0; i < LIMIT_SLOTS; i++) {
		l = &log_limits[i];
		if (l->fmt == fmt)
			break;
		if (free_slot == NULL && (l->fmt == NULL ||
		    (l->suppressed == 0 &&
		    now - l->start >= LIMIT_WINDOW_MS)))
			free_slot = l;
	}
	if (i == LIMIT_SLOTS) {
		if ((l = free_slot) == NULL)
			return 1;	/* too many kinds at once: no limit */
		l->fmt = fmt;
		l->level = level;
		l->start = now;
		l->lines = 0;
		l->suppressed = 0;
	}
	if (now - l->start >= LIMIT_WINDOW_MS)
		log_limit_report(l, now);
	if (l->lines < LIMIT_LINES) {
		l->lines++;
		return 1;
	}
	l->suppressed++;
	return 0;
}

void
log_msg(int level, const char *fmt, ...)
{
	char	text[LINE_MAX_BYTES];
	va_list	ap;
	int	n;

	if (!log_enabled(level))
		return;
	/* Warnings, errors and lines marked LOG_LIMIT are rate-limited. */
	if (((level & LOG_LIMIT) || level <= LOG_WARN) &&
	    !log_limit_pass(level & ~LOG_LIMIT, fmt))
		return;
	level &= ~LOG_LIMIT;
	va_start(ap, fmt);
	n = vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof(text))
		memcpy(text + sizeof(text) - 4, "...", 4);
	log_write(level, text);
}

void
log_batch(void)
{
	if (log_fp != NULL && setvbuf(log_fp, NULL, _IOFBF, 1 << 16) == 0)
		log_batched = 1;
}

void
log_flush(void)
{
	uint64_t	now = 0;
	size_t		i;

	if (log_fp == NULL)
		return;
	/* Called every pass: the clock is read only if lines were held. */
	for (i = 0; i < LIMIT_SLOTS; i++) {
		if (log_limits[i].suppressed == 0)
			continue;
		if (now == 0)
			now = log_clock();
		if (now - log_limits[i].start >= LIMIT_WINDOW_MS)
			log_limit_report(&log_limits[i], now);
	}
	fflush(log_fp);
}
