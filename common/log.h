/*
 * Copyright (c) 2026 The chat authors.
 *
 * log: one line per event to a stream (stderr for the server, a file
 * for the client with -v), prefixed with a timestamp, the program name
 * and the level.  Callers escape peer bytes with util_escape() first.
 */
#ifndef LOG_H
#define LOG_H

#include <stdio.h>

enum log_level {
	LOG_ERROR = 0,
	LOG_WARN = 1,
	LOG_INFO = 2,
	LOG_DEBUG = 3,
	LOG_DEBUG2 = 4
};

/*
 * Set the program name, the highest level that is written and the
 * stream (NULL: logging off).  The stream is not owned.
 */
void	log_init(const char *prog, int level, FILE *fp);

/* Nonzero if a message at level would be written. */
int	log_enabled(int level);

void	log_msg(int level, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

#define log_error(...)	log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)	log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...)	log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...)	log_msg(LOG_DEBUG, __VA_ARGS__)

#endif /* LOG_H */
