/*
 * Copyright (c) 2026 The chat authors.
 *
 * msg: shared chat messages (see msg.h).
 */
#include <stdlib.h>
#include <string.h>

#include "msg.h"

/* malloc(3)'s own header, as glibc keeps it, counted in msg_cost(). */
#define MALLOC_OVERHEAD	16

struct msg *
msg_alloc(size_t hdr, size_t cap)
{
	struct msg	*m;
	char		*p;

	/* The header keeps struct msg aligned. */
	hdr = (hdr + sizeof(void *) - 1) & ~(sizeof(void *) - 1);
	if (hdr > UINT32_MAX || cap > SIZE_MAX - sizeof(*m) - hdr - 1 ||
	    (p = malloc(hdr + sizeof(*m) + cap + 1)) == NULL)
		return NULL;
	m = (struct msg *)(void *)(p + hdr);
	m->refs = 1;
	m->hdr = (uint32_t)hdr;
	m->len = 0;
	m->cap = cap;
	m->seq = m->prev = m->ts = 0;
	m->data[0] = '\0';
	return m;
}

struct msg *
msg_new(const char *data, size_t len)
{
	struct msg	*m;

	if (len > SIZE_MAX - MSG_SEQ_ROOM ||
	    (m = msg_alloc(0, len + MSG_SEQ_ROOM)) == NULL)
		return NULL;
	memcpy(m->data, data, len);
	m->data[len] = '\0';
	m->len = len;
	return m;
}

void *
msg_hdr(struct msg *m)
{
	return (char *)m - m->hdr;
}

struct msg *
msg_from_hdr(void *h, size_t hdr)
{
	hdr = (hdr + sizeof(void *) - 1) & ~(sizeof(void *) - 1);
	return (struct msg *)(void *)((char *)h + hdr);
}

struct msg *
msg_ref(struct msg *m)
{
	m->refs++;
	return m;
}

void
msg_unref(struct msg *m)
{
	if (m != NULL && --m->refs == 0)
		free(msg_hdr(m));
}

/*
 * Written by hand: once per inbox a message goes to (each member of a
 * room), snprintf() was 6% of the server's CPU under a room's load.
 */
int
msg_set_seq(struct msg *m, uint64_t seq)
{
	char		digits[20], tail[MSG_SEQ_ROOM + 2];
	size_t		n = 0, nd = 0;
	uint64_t	v = seq;

	if (m->len == 0 || m->data[m->len - 1] != '}')
		return -1;
	do {
		digits[nd++] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0);
	memcpy(tail, ",\"seq\":", 7);
	for (n = 7; nd > 0; n++)
		tail[n] = digits[--nd];
	tail[n++] = '}';
	tail[n] = '\0';
	if (m->len - 1 + n > m->cap)
		return -1;
	memcpy(m->data + m->len - 1, tail, n + 1);
	m->len += n - 1;
	m->seq = seq;
	return 0;
}

size_t
msg_cost(const struct msg *m)
{
	return m->hdr + sizeof(*m) + m->cap + 1 + MALLOC_OVERHEAD;
}
