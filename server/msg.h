/*
 * Copyright (c) 2026 The chat authors.
 *
 * msg: a chat message as sent to receivers, shared by reference between
 * the inbox that keeps it and the connections writing it.  Its text is
 * the chat event, seq included once known.  A message can be made with
 * room in front of it for its owner's own fields (the memory inbox keeps
 * its links there), so that keeping one costs one allocation.
 */
#ifndef MSG_H
#define MSG_H

#include <stddef.h>
#include <stdint.h>

struct msg {
	uint32_t	 refs;
	uint32_t	 hdr;		/* bytes of the owner's header */
	size_t		 len;		/* of data, which is NUL-terminated */
	size_t		 cap;		/* room in data, NUL excluded */
	uint64_t	 seq;		/* in its inbox, 0 until known */
	uint64_t	 prev;		/* the seq before it there, 0: none */
	uint64_t	 ts;		/* wall time, ms */
	char		 data[];
};

/* Room msg_set_seq() needs: ,"seq": and 19 digits. */
#define MSG_SEQ_ROOM	27

/*
 * A message with room for cap bytes of data (len 0) and hdr bytes before
 * it for the caller (msg_hdr()); one reference.  NULL: no memory.
 */
struct msg	*msg_alloc(size_t hdr, size_t cap);
/* A message holding a copy of data[0..len), with MSG_SEQ_ROOM to spare. */
struct msg	*msg_new(const char *data, size_t len);
/* The hdr bytes in front of m, and m from them. */
void		*msg_hdr(struct msg *m);
struct msg	*msg_from_hdr(void *h, size_t hdr);
struct msg	*msg_ref(struct msg *);
void		 msg_unref(struct msg *);
/*
 * Set m's seq and write it into its text: the event ends with "}" and
 * gets ,"seq":N before it.  0, or -1 if m has no room or no such end.
 */
int		 msg_set_seq(struct msg *m, uint64_t seq);
/* Bytes m costs in memory (for the inbox's accounting). */
size_t		 msg_cost(const struct msg *m);

#endif /* MSG_H */
