/*
 * Copyright (c) 2026 The chat authors.
 *
 * log: timestamped, levelled lines to one stream.  The state is private
 * to this file and set once at startup by the program.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "log.h"

static const char	*log_prog = "chat";
static int		 log_level = LOG_INFO;
static FILE		*log_fp;
static int		 log_batched;

void
log_init(const char *prog, int level, FILE *fp)
{
	log_prog = prog;
	log_level = level;
	log_fp = fp;
}

int
log_enabled(int level)
{
	return log_fp != NULL && level <= log_level;
}

void
log_msg(int level, const char *fmt, ...)
{
	static const char *const names[] = {
		"error", "warning", "info", "debug", "debug2"
	};
	struct timeval	tv;
	struct tm	tm;
	char		stamp[32];
	va_list		ap;

	if (!log_enabled(level))
		return;
	gettimeofday(&tv, NULL);
	localtime_r(&tv.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm);
	fprintf(log_fp, "%s.%03ld %s: %s: ", stamp, (long)tv.tv_usec / 1000,
	    log_prog, names[level]);
	va_start(ap, fmt);
	vfprintf(log_fp, fmt, ap);
	va_end(ap);
	fputc('\n', log_fp);
	/* Errors go out at once; batched lines with the next log_flush(). */
	if (!log_batched || level <= LOG_WARN)
		fflush(log_fp);
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
	if (log_fp != NULL)
		fflush(log_fp);
}
