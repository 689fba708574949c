/*
 * Copyright (c) 2026 The chat authors.
 *
 * utf8: strict UTF-8 validation after RFC 3629.  This module owns only
 * the byte-level rules: which sequences are well formed.  It allocates
 * nothing, keeps no state and never looks past the length it is given.
 */

#include <stddef.h>
#include <stdint.h>

#include <string.h>

#include "utf8.h"

/*
 * The table in RFC 3629 section 4 restricts the second byte of some lead
 * bytes: E0 and F0 would otherwise allow overlong forms, ED the UTF-16
 * surrogates D800-DFFF, and F4 code points above U+10FFFF.  C0, C1 and
 * F5-FF never start a sequence.  Every later byte is a plain 80-BF.
 */
size_t
utf8_seqlen(const uint8_t *p, size_t len)
{
	uint8_t	c, lo = 0x80, hi = 0xbf;
	size_t	n, i;

	if (p == NULL || len == 0)
		return (0);
	c = p[0];
	if (c < 0x80)
		return (1);
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	} else
		return (0);

	if (len < n)
		return (0);
	if (p[1] < lo || p[1] > hi)
		return (0);
	for (i = 2; i < n; i++) {
		if (p[i] < 0x80 || p[i] > 0xbf)
			return (0);
	}
	return (n);
}

int
utf8_valid(const uint8_t *p, size_t len)
{
	size_t	off = 0, n;

	if (p == NULL)
		return (len == 0);
	while (off < len) {
		/*
		 * Runs of ASCII are the common case in chat text: test eight
		 * bytes at a time (memcpy keeps the load aligned-safe).
		 */
		while (len - off >= 8) {
			uint64_t	w;

			memcpy(&w, p + off, 8);
			if (w & 0x8080808080808080ULL)
				break;
			off += 8;
		}
		if (off >= len)
			break;
		if (p[off] < 0x80) {
			off++;
			continue;
		}
		n = utf8_seqlen(p + off, len - off);
		if (n == 0)
			return (0);
		off += n;
	}
	return (1);
}

int
utf8_prefix_valid(const uint8_t *p, size_t len)
{
	uint8_t	buf[4];
	size_t	off = 0, n, rest, pad;

	while (off < len) {
		if ((n = utf8_seqlen(p + off, len - off)) > 0) {
			off += n;
			continue;
		}
		/*
		 * Either invalid or cut short by the end: complete the tail
		 * with the smallest continuation bytes and try again.
		 */
		rest = len - off;
		if (rest >= 4)
			return (0);
		memcpy(buf, p + off, rest);
		for (pad = rest; pad < 4; pad++)
			buf[pad] = (pad == 1 && (buf[0] == 0xe0)) ? 0xa0 :
			    (pad == 1 && buf[0] == 0xf0) ? 0x90 : 0x80;
		return (utf8_seqlen(buf, 4) > rest);
	}
	return (1);
}
