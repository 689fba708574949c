/*
 * Copyright (c) 2026 The chat authors.
 *
 * util: small helpers shared by both programs: strict number parsing,
 * clocks, non-blocking sockets and escaping peer bytes before they reach
 * a log.  Nothing here prints or exits.
 */
#ifndef UTIL_H
#define UTIL_H

#include <stddef.h>
#include <stdint.h>

/*
 * Parse the whole of s as a base-10 integer in [min, max].  Leading or
 * trailing garbage, an empty string and overflow are refused.
 * Returns 0 and stores the value in *out, or -1.
 */
int	util_parse_ll(const char *s, long long min, long long max,
	    long long *out);

/*
 * Parse a duration: an integer followed by an optional unit "us", "ms",
 * "s" (default), "m" or "h".  The result, in microseconds, must lie
 * within [min_us, max_us].  Returns 0 or -1.
 */
int	util_parse_duration_us(const char *s, long long min_us,
	    long long max_us, long long *out);
/*
 * The same in milliseconds, within [min_ms, max_ms]: a duration that
 * is not a whole number of them is refused.
 */
int	util_parse_duration_ms(const char *s, long long min_ms,
	    long long max_ms, long long *out);

/*
 * Parse a size: an integer followed by an optional unit "k"/"K" (KiB),
 * "m"/"M" (MiB) or "g"/"G" (GiB); the result must lie within [min,
 * max].  Returns 0 or -1.
 */
int	util_parse_size(const char *s, long long min, long long max,
	    long long *out);

/* Milliseconds from a monotonic clock, for timers. */
uint64_t util_mono_ms(void);

/* Microseconds from the same clock, for latencies. */
uint64_t util_mono_us(void);

/* Milliseconds since the Unix epoch, for message timestamps. */
uint64_t util_wall_ms(void);

/* Set O_NONBLOCK and FD_CLOEXEC on fd.  Returns 0 or -1 with errno. */
int	util_set_nonblock(int fd);

/*
 * FNV-1a of a NUL-terminated string: for hash tables keyed by user ids,
 * which are short and chosen by peers (the tables resize).
 */
size_t	util_hash_str(const char *s);

/* n random bytes into out. */
void	util_random_bytes(void *out, size_t n);

/* n random bytes as 2n lowercase hex digits and a NUL into out. */
void	util_random_hex(char *out, size_t n);

/* The string s as lowercase hex digits and a NUL into out. */
void	util_hex(char *out, const char *s);
/*
 * The string whose hex digits are hex[0..len) into out[outlen] (with a
 * NUL).  0, or -1 if hex is not that, holds a NUL byte or does not fit.
 */
int	util_unhex(char *out, size_t outlen, const char *hex, size_t len);

/*
 * Write a printable, NUL-terminated copy of at most srclen bytes of src
 * into dst (dstlen > 0): bytes outside printable ASCII become \xNN,
 * backslash becomes \\, and output that does not fit ends with "...".
 * Returns dst, so it can be used inside a log call.
 */
char	*util_escape(char *dst, size_t dstlen, const void *src,
	    size_t srclen);

#endif /* UTIL_H */
