/*
 * Copyright (c) 2026 The chat authors.
 *
 * util: strict number parsing, clocks, socket flags and log escaping.
 * Every parser consumes the whole string and checks its range, so an
 * option like "--port 80x" is refused instead of read as 80.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util.h"

int
util_parse_ll(const char *s, long long min, long long max, long long *out)
{
	char		*end;
	long long	 v;

	if (s == NULL || *s == '\0' || isspace((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/*
 * Split s into a non-negative integer and a unit suffix, then scale by
 * the unit's factor from the table.  Overflow is checked before the
 * multiplication.
 */
struct unit {
	const char	*name;
	long long	 factor;
};

static int
parse_scaled(const char *s, const struct unit *units, long long min,
    long long max, long long *out)
{
	char		 num[32];
	const char	*p;
	long long	 v;
	size_t		 n;

	if (s == NULL)
		return -1;
	for (p = s; *p >= '0' && *p <= '9'; p++)
		;
	n = (size_t)(p - s);
	if (n == 0 || n >= sizeof(num))
		return -1;
	memcpy(num, s, n);
	num[n] = '\0';
	if (util_parse_ll(num, 0, LLONG_MAX, &v) != 0)
		return -1;
	for (; units->name != NULL; units++) {
		if (strcmp(p, units->name) != 0)
			continue;
		if (v > LLONG_MAX / units->factor)
			return -1;
		v *= units->factor;
		if (v < min || v > max)
			return -1;
		*out = v;
		return 0;
	}
	return -1;
}

int
util_parse_duration_us(const char *s, long long min_us, long long max_us,
    long long *out)
{
	static const struct unit units[] = {
		{ "", 1000000 }, { "s", 1000000 }, { "ms", 1000 },
		{ "us", 1 }, { "m", 60000000 }, { "h", 3600000000LL },
		{ NULL, 0 }
	};

	return parse_scaled(s, units, min_us, max_us, out);
}

int
util_parse_duration_ms(const char *s, long long min_ms, long long max_ms,
    long long *out)
{
	long long	v;

	if (min_ms > LLONG_MAX / 1000 || max_ms > LLONG_MAX / 1000 ||
	    util_parse_duration_us(s, min_ms * 1000, max_ms * 1000,
	    &v) == -1 || v % 1000 != 0)
		return -1;
	*out = v / 1000;
	return 0;
}

int
util_parse_size(const char *s, long long min, long long max, long long *out)
{
	static const struct unit units[] = {
		{ "", 1 }, { "k", 1024 }, { "K", 1024 }, { "m", 1048576 },
		{ "M", 1048576 }, { "g", 1073741824 }, { "G", 1073741824 },
		{ NULL, 0 }
	};

	return parse_scaled(s, units, min, max, out);
}

uint64_t
util_mono_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t
util_mono_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

uint64_t
util_wall_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int
util_set_nonblock(int fd)
{
	int	fl;

	if ((fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1)
		return -1;
	if ((fl = fcntl(fd, F_GETFD)) == -1 ||
	    fcntl(fd, F_SETFD, fl | FD_CLOEXEC) == -1)
		return -1;
	return 0;
}

char *
util_escape(char *dst, size_t dstlen, const void *src, size_t srclen)
{
	static const char	 hex[] = "0123456789abcdef";
	const unsigned char	*p = src;
	size_t			 i, o = 0;

	if (dstlen == 0)
		return dst;
	for (i = 0; i < srclen; i++) {
		unsigned char	c = p[i];
		size_t		need = (c == '\\') ? 2 :
			    (c < 0x20 || c > 0x7e) ? 4 : 1;

		/* Keep room for "..." and the NUL. */
		if (o + need + 4 > dstlen) {
			if (dstlen >= 4) {
				while (o + 4 > dstlen)
					o--;
				memcpy(dst + o, "...", 3);
				o += 3;
			}
			break;
		}
		if (c == '\\') {
			dst[o++] = '\\';
			dst[o++] = '\\';
		} else if (need == 4) {
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hex[c >> 4];
			dst[o++] = hex[c & 15];
		} else
			dst[o++] = (char)c;
	}
	dst[o < dstlen ? o : dstlen - 1] = '\0';
	return dst;
}

size_t
util_hash_str(const char *s)
{
	size_t	h = 2166136261u;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

void
util_random_bytes(void *out, size_t n)
{
	arc4random_buf(out, n);
}

void
util_hex(char *out, const char *s)
{
	static const char	 hex[] = "0123456789abcdef";
	const unsigned char	*p = (const unsigned char *)s;

	for (; *p != '\0'; p++) {
		*out++ = hex[*p >> 4];
		*out++ = hex[*p & 15];
	}
	*out = '\0';
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int
util_unhex(char *out, size_t outlen, const char *hex, size_t len)
{
	size_t	i;
	int	hi, lo;

	if (len % 2 != 0 || len / 2 >= outlen)
		return -1;
	for (i = 0; i < len / 2; i++) {
		if ((hi = hexval(hex[2 * i])) < 0 ||
		    (lo = hexval(hex[2 * i + 1])) < 0 || (hi | lo) == 0)
			return -1;
		out[i] = (char)(hi << 4 | lo);
	}
	out[len / 2] = '\0';
	return 0;
}

void
util_random_hex(char *out, size_t n)
{
	static const char	hex[] = "0123456789abcdef";
	uint8_t			b;
	size_t			i;

	for (i = 0; i < n; i++) {
		arc4random_buf(&b, 1);
		out[2 * i] = hex[b >> 4];
		out[2 * i + 1] = hex[b & 15];
	}
	out[2 * n] = '\0';
}
