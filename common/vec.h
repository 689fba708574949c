/*
 * Copyright (c) 2026 The chat authors.
 *
 * vec: growing an array, for every growable array in both programs.
 * The multiplication is checked before it is done, so a count a peer
 * pushes up can only fail, never wrap.
 */
#ifndef VEC_H
#define VEC_H

#include <stddef.h>

/*
 * Make *arrp (an array of *capp elements of size bytes; arrp is the
 * address of the array pointer) hold at least need elements, growing by
 * half (at least 16).  0, or -1 if it would pass PTRDIFF_MAX bytes or
 * there is no memory (the array is then unchanged).
 */
int	vec_grow(void *arrp, size_t *capp, size_t need, size_t size);

#endif /* VEC_H */
