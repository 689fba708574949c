/*
 * Copyright (c) 2026 The chat authors.
 *
 * log: one line per event to a stream (stderr for the server, a file
 * for the client with -v), prefixed with a timestamp, the program name
 * and the level, or as JSON; a line repeated too often is counted
 * rather than written.  Callers escape peer bytes with util_escape()
 * first.
 */
#ifndef LOG_H
#define LOG_H

#include <stdint.h>
#include <stdio.h>

enum log_level {
	LOG_ERROR = 0,
	LOG_WARN = 1,
	LOG_INFO = 2,
	LOG_DEBUG = 3,
	LOG_DEBUG2 = 4
};

/*
 * OR'ed into a level: the line is rate-limited like warnings and
 * errors are (see log_msg()).
 */
#define LOG_LIMIT	0x100

/*
 * Set the program name, the highest level that is written and the
 * stream (NULL: logging off).  The stream is not owned.
 */
void	log_init(const char *prog, int level, FILE *fp);

/*
 * Lines as JSON objects, one a line: {"time":...,"level":...,
 * "program":...,"msg":...}; off (the default): "TIME PROG: LEVEL: MSG".
 * TIME is ISO 8601 local time to the millisecond with the zone, as in
 * 2026-11-25T19:09:00.123+00:00.
 */
void	log_set_json(int on);

/*
 * For tests: the monotonic clock (ms) the rate limit reads; NULL
 * restores the real one.  Forgets what was counted.
 */
void	log_set_clock(uint64_t (*now_ms)(void));

/*
 * Buffer the stream fully (call before anything is written to it):
 * from then on warnings and errors are still written at once, other
 * lines when log_flush() is called, which a program's loop does once
 * per pass before it sleeps, so a burst of events costs one write.
 * Without it, every line is flushed as it is logged.
 */
void	log_batch(void);
void	log_flush(void);

/* Nonzero if a message at level would be written. */
int	log_enabled(int level);

/*
 * Write one line at level.  Warnings, errors and lines whose level has
 * LOG_LIMIT are rate-limited per call site (fmt): beyond 20 lines of
 * one fmt in a second the rest are counted, not written, and the next
 * line of that fmt after the second (or log_flush()) says how many.
 */
void	log_msg(int level, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/*
 * The level is tested before the arguments are evaluated, so formatting
 * an address for a line that is not written costs nothing.
 */
#define LOG_AT(level, ...) do {						\
	if (log_enabled(level))						\
		log_msg((level), __VA_ARGS__);				\
} while (0)
#define log_error(...)	LOG_AT(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)	LOG_AT(LOG_WARN, __VA_ARGS__)
#define log_info(...)	LOG_AT(LOG_INFO, __VA_ARGS__)
#define log_debug(...)	LOG_AT(LOG_DEBUG, __VA_ARGS__)
/* An info line that a peer can repeat at will (refusals). */
#define log_info_limited(...) LOG_AT(LOG_INFO | LOG_LIMIT, __VA_ARGS__)

#endif /* LOG_H */
