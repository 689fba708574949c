/*
 * Copyright (c) 2026 The chat authors.
 *
 * vec: growing an array (see vec.h).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vec.h"

int
vec_grow(void *arrp, size_t *capp, size_t need, size_t size)
{
	void	*p, *old;
	size_t	 cap = *capp;

	if (need <= cap)
		return 0;
	/* No object may be larger than PTRDIFF_MAX bytes (C11 6.5.6). */
	if (size == 0 || need > PTRDIFF_MAX / size)
		return -1;
	cap = cap < 16 ? 16 : cap + cap / 2;
	if (cap < need || cap > PTRDIFF_MAX / size)
		cap = need;
	memcpy(&old, arrp, sizeof(old));
	if ((p = realloc(old, cap * size)) == NULL)
		return -1;
	memcpy(arrp, &p, sizeof(p));
	*capp = cap;
	return 0;
}
