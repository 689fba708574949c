/*
 * Copyright (c) 2026 The chat authors.
 *
 * libFuzzer target: the token parser.  Any input goes to jwt_verify()
 * with a fixed key; the invariant is that only a token this key signed
 * can pass, and it must name a user.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jwt.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t	 key[] = "fuzzing-key-fuzzing-key-fuzzing";
	struct jwt_claims	 c;
	char			*copy;
	int			 r;

	if (size > JWT_MAX_TOKEN + 16)
		return 0;
	if ((copy = malloc(size ? size : 1)) == NULL)
		return 0;
	memcpy(copy, data, size);
	r = jwt_verify(copy, size, key, sizeof(key) - 1, 1700000000, 30, &c);
	if (r == JWT_OK && (c.sub[0] == '\0' || c.exp == 0))
		abort();
	(void)jwt_strerror(r);
	free(copy);
	return 0;
}
