/*
 * Copyright (c) 2026 The chat authors.
 *
 * test_utf8: unit tests for common/utf8.c: every row of the RFC 3629
 * table at its edges, the classic invalid forms (overlongs, surrogates,
 * code points above U+10FFFF, stray continuation bytes, truncation) and
 * an exhaustive cross-check of every code point against an encoder.
 */

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "utf8.h"
#include "tap.h"

#define VALID(s)	utf8_valid((const uint8_t *)(s), sizeof(s) - 1)
#define SEQLEN(s)	utf8_seqlen((const uint8_t *)(s), sizeof(s) - 1)

/* The reference encoder, straight from RFC 3629 section 3. */
static size_t
encode(uint32_t cp, uint8_t *out)
{
	if (cp < 0x80) {
		out[0] = (uint8_t)cp;
		return (1);
	}
	if (cp < 0x800) {
		out[0] = (uint8_t)(0xc0 | cp >> 6);
		out[1] = (uint8_t)(0x80 | (cp & 0x3f));
		return (2);
	}
	if (cp < 0x10000) {
		out[0] = (uint8_t)(0xe0 | cp >> 12);
		out[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
		out[2] = (uint8_t)(0x80 | (cp & 0x3f));
		return (3);
	}
	out[0] = (uint8_t)(0xf0 | cp >> 18);
	out[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3f));
	out[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
	out[3] = (uint8_t)(0x80 | (cp & 0x3f));
	return (4);
}

static void
test_valid(void)
{
	CHECK(utf8_valid(NULL, 0));
	CHECK(VALID(""));
	CHECK(VALID("hello, world"));
	CHECK(VALID("a\0b"));
	CHECK(VALID("\x7f"));
	CHECK(VALID("caf\xc3\xa9"));			/* U+00E9 */
	CHECK(VALID("\xc2\x80"));			/* U+0080 */
	CHECK(VALID("\xdf\xbf"));			/* U+07FF */
	CHECK(VALID("\xe0\xa0\x80"));			/* U+0800 */
	CHECK(VALID("\xe2\x82\xac"));			/* U+20AC */
	CHECK(VALID("\xed\x9f\xbf"));			/* U+D7FF */
	CHECK(VALID("\xee\x80\x80"));			/* U+E000 */
	CHECK(VALID("\xef\xbf\xbf"));			/* U+FFFF */
	CHECK(VALID("\xef\xbb\xbf"));			/* BOM */
	CHECK(VALID("\xf0\x90\x80\x80"));		/* U+10000 */
	CHECK(VALID("\xf0\x9f\x98\x80"));		/* U+1F600 */
	CHECK(VALID("\xf3\xbf\xbf\xbf"));		/* U+FFFFF */
	CHECK(VALID("\xf4\x8f\xbf\xbf"));		/* U+10FFFF */
	CHECK(VALID("你好, 世界"));
	CHECK(VALID("\xe4\xbd\xa0\xe5\xa5\xbd, \xe4\xb8\x96\xe7\x95\x8c"));
	CHECK(VALID("Καλημέρα κόσμε, こんにちは, 🙂"));
}

static void
test_invalid(void)
{
	/* Overlong forms. */
	CHECK(!VALID("\xc0\x80"));
	CHECK(!VALID("\xc1\xbf"));
	CHECK(!VALID("\xe0\x80\x80"));
	CHECK(!VALID("\xe0\x9f\xbf"));
	CHECK(!VALID("\xf0\x80\x80\x80"));
	CHECK(!VALID("\xf0\x8f\xbf\xbf"));
	/* UTF-16 surrogates, alone and paired. */
	CHECK(!VALID("\xed\xa0\x80"));
	CHECK(!VALID("\xed\xbf\xbf"));
	CHECK(!VALID("\xed\xa0\xbd\xed\xb8\x80"));
	/* Above U+10FFFF, and bytes that never occur. */
	CHECK(!VALID("\xf4\x90\x80\x80"));
	CHECK(!VALID("\xf5\x80\x80\x80"));
	CHECK(!VALID("\xf7\xbf\xbf\xbf"));
	CHECK(!VALID("\xf8\x88\x80\x80\x80"));
	CHECK(!VALID("\xfc\x84\x80\x80\x80\x80"));
	CHECK(!VALID("\xfe"));
	CHECK(!VALID("\xff"));
	/* Stray continuation bytes and broken sequences. */
	CHECK(!VALID("\x80"));
	CHECK(!VALID("a\xbf" "b"));
	CHECK(!VALID("\xc3\x28"));
	CHECK(!VALID("\xe2\x28\xa1"));
	CHECK(!VALID("\xe2\x82\x28"));
	CHECK(!VALID("\xf0\x28\x8c\xbc"));
	CHECK(!VALID("\xf0\x90\x28\xbc"));
	CHECK(!VALID("\xf0\x90\x8c\x28"));
	CHECK(!VALID("\xc3\xa9\xc3"));
	/* Truncated at the end of the buffer. */
	CHECK(!VALID("\xc3"));
	CHECK(!VALID("\xe4\xbd"));
	CHECK(!VALID("\xf0\x9f\x98"));
	CHECK(!VALID("ok \xe4"));
	/* The length is honoured: a valid prefix of a longer buffer. */
	CHECK(utf8_valid((const uint8_t *)"ab\xff", 2));
	CHECK(!utf8_valid((const uint8_t *)"\xe4\xbd\xa0", 2));
}

static void
test_seqlen(void)
{
	CHECK_INT(utf8_seqlen(NULL, 0), 0);
	CHECK_INT(utf8_seqlen((const uint8_t *)"a", 0), 0);
	CHECK_INT(SEQLEN("a"), 1);
	CHECK_INT(SEQLEN("\0"), 1);
	CHECK_INT(SEQLEN("ab"), 1);
	CHECK_INT(SEQLEN("\xc3\xa9xyz"), 2);
	CHECK_INT(SEQLEN("\xe4\xbd\xa0\xe5\xa5\xbd"), 3);
	CHECK_INT(SEQLEN("\xf0\x9f\x98\x80!"), 4);
	CHECK_INT(SEQLEN("\xf4\x8f\xbf\xbf"), 4);
	CHECK_INT(SEQLEN("\x80"), 0);
	CHECK_INT(SEQLEN("\xc0\x80"), 0);
	CHECK_INT(SEQLEN("\xe0\x80\x80"), 0);
	CHECK_INT(SEQLEN("\xed\xa0\x80"), 0);
	CHECK_INT(SEQLEN("\xf4\x90\x80\x80"), 0);
	CHECK_INT(SEQLEN("\xe4\xbd"), 0);
	CHECK_INT(utf8_seqlen((const uint8_t *)"\xf0\x9f\x98\x80", 3), 0);
	CHECK_INT(utf8_seqlen((const uint8_t *)"\xc3\xa9", 1), 0);
}

/*
 * Every code point: the encoding of a scalar value is valid with the
 * right length, the encoding of a surrogate is not, and every lone
 * byte is valid exactly when it is ASCII.
 */
static void
test_exhaustive(void)
{
	uint8_t		buf[4], b;
	uint32_t	cp;
	size_t		n;
	int		bad = 0, surrogate;

	for (cp = 0; cp <= 0x10ffff; cp++) {
		n = encode(cp, buf);
		surrogate = cp >= 0xd800 && cp <= 0xdfff;
		if (utf8_seqlen(buf, n) != (surrogate ? 0 : n) ||
		    utf8_valid(buf, n) != !surrogate) {
			fprintf(stderr, "U+%04X wrong\n", (unsigned int)cp);
			bad++;
		}
		/* Every proper prefix of a multibyte form is incomplete. */
		while (n > 1) {
			if (utf8_seqlen(buf, --n) != 0)
				bad++;
		}
	}
	CHECK_INT(bad, 0);

	bad = 0;
	for (n = 0; n < 256; n++) {
		b = (uint8_t)n;
		if (utf8_valid(&b, 1) != (n < 0x80))
			bad++;
	}
	CHECK_INT(bad, 0);
}

int
main(void)
{
	test_valid();
	test_invalid();
	test_seqlen();
	test_exhaustive();
	/* Prefixes: cut anywhere, a valid text stays a valid prefix. */
	{
		const char	*ok = "a\xc3\xa9\xe4\xbd\xa0\xf0\x9f\x98\x80z";
		size_t		 k;

		for (k = 0; k <= strlen(ok); k++)
			CHECK(utf8_prefix_valid((const uint8_t *)ok, k));
		CHECK(!utf8_prefix_valid((const uint8_t *)"\xff", 1));
		CHECK(!utf8_prefix_valid((const uint8_t *)"ab\xc0", 3));
		CHECK(!utf8_prefix_valid((const uint8_t *)"\xe0\x80", 2));
		CHECK(!utf8_prefix_valid((const uint8_t *)"\xed\xa0", 2));
		CHECK(!utf8_prefix_valid((const uint8_t *)"\xf4\x90", 2));
		CHECK(!utf8_prefix_valid((const uint8_t *)"\xe4\x41", 2));
		CHECK(utf8_prefix_valid((const uint8_t *)"\xe0", 1));
		CHECK(utf8_prefix_valid((const uint8_t *)"\xf0\x90\x80", 3));
		CHECK(utf8_prefix_valid((const uint8_t *)"\xed\x9f", 2));
	}
	return test_done();
}
