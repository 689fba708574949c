/*
 * Copyright (c) 2026 The chat authors.
 *
 * utf8: validation and display width of UTF-8 text.  Pure functions.
 * wslay validates what it receives; this checks what we send and what
 * the client's editor handles.
 */
#ifndef UTF8_H
#define UTF8_H

#include <stddef.h>
#include <stdint.h>

/*
 * Nonzero if p[0..len) is well-formed UTF-8 (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF).  NUL bytes are valid.
 */
int	utf8_valid(const uint8_t *p, size_t len);

/*
 * Length in bytes of the well-formed sequence starting at p[0] (at
 * most len), or 0 if p[0..len) does not start with one.
 */
size_t	utf8_seqlen(const uint8_t *p, size_t len);

/*
 * Nonzero if p[0..len) can begin a well-formed UTF-8 text: every
 * complete sequence is valid and a sequence cut off by the end could
 * still be completed.  For failing fast on input that arrives in pieces.
 */
int	utf8_prefix_valid(const uint8_t *p, size_t len);

#endif /* UTF8_H */
