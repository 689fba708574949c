/*
 * Copyright (c) 2026 The chat authors.
 *
 * tap: the in-house assert helper for unit tests.  Each CHECK counts;
 * a failed one prints file, line and the expression; test_done()
 * prints "N checks, N failed" and returns the exit status.
 */
#ifndef TAP_H
#define TAP_H

#include <stdio.h>
#include <string.h>

static int tap_checks, tap_failed;

#define CHECK(expr) do {						\
	tap_checks++;							\
	if (!(expr)) {							\
		tap_failed++;						\
		fprintf(stderr, "%s:%d: check failed: %s\n",		\
		    __FILE__, __LINE__, #expr);				\
	}								\
} while (0)

#define CHECK_INT(a, b) do {						\
	long long tap_a = (long long)(a), tap_b = (long long)(b);	\
	tap_checks++;							\
	if (tap_a != tap_b) {						\
		tap_failed++;						\
		fprintf(stderr, "%s:%d: %s == %lld, expected %s == %lld\n", \
		    __FILE__, __LINE__, #a, tap_a, #b, tap_b);		\
	}								\
} while (0)

#define CHECK_STR(a, b) do {						\
	const char *tap_sa = (a), *tap_sb = (b);			\
	tap_checks++;							\
	if (tap_sa == NULL || tap_sb == NULL ||				\
	    strcmp(tap_sa, tap_sb) != 0) {				\
		tap_failed++;						\
		fprintf(stderr, "%s:%d: %s == \"%s\", expected \"%s\"\n", \
		    __FILE__, __LINE__, #a, tap_sa ? tap_sa : "(null)",	\
		    tap_sb ? tap_sb : "(null)");			\
	}								\
} while (0)

static inline int
test_done(void)
{
	printf("%d checks, %d failed\n", tap_checks, tap_failed);
	return tap_failed != 0 || tap_checks == 0;
}

#endif /* TAP_H */
