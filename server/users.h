/*
 * Copyright (c) 2026 The chat authors.
 *
 * users: every user id the server deals with, interned once.  A struct
 * user is found or made by users_get(), and the modules keep their own
 * state for it behind their pointer (the router's connections, the
 * inbox's counters and messages, presence's watchers, rooms'
 * memberships), so that one
 * message looks its target up once.  Each module holding state in a user
 * holds a reference; a user left with none is freed after the loop pass
 * (users_reap()), never during a call, since callers up the stack may
 * still hold it.
 */
#ifndef USERS_H
#define USERS_H

#include <stddef.h>
#include <stdint.h>

#include "table.h"

struct rconn;		/* router.h */
struct box;		/* inbox backings */
struct puser;		/* presence.c */
struct membership;	/* rooms.c */

/*
 * Rooms a user can be in, and joins it can have asked on top of them:
 * the bound of --user-rooms, and rooms.c refuses memberships a store
 * brings in past it.
 */
#define USER_MAX_ROOMS	UINT16_MAX

/*
 * Ordered by size so that nothing is padding: 8-byte fields, then 4,
 * 2 and 1, then the id.
 */
struct user {
	struct table_node	 node;
	/*
	 * The router's part, while it has connections here: the list, the
	 * newest seq known in the inbox, the newest written (as told the
	 * inbox); both 0 while offline.
	 */
	struct rconn		*conns;		/* linked by unext */
	uint64_t		 last;
	uint64_t		 cursor;
	struct box		*box;
	struct puser		*pres;
	struct membership	*rooms;		/* the rooms it is in */
	/*
	 * Undelivered messages this user sent, bytes and count (the
	 * inbox's quotas).
	 */
	uint64_t		 q_bytes;
	/*
	 * The memory inbox's numbering while its box is absent (forgotten
	 * before it gave out a seq), 0: none; and its holds (ib_holds), so
	 * that an online user with an empty inbox needs no box
	 * (inbox-local.c).
	 */
	uint64_t		 ib_gen;
	uint32_t		 q_msgs;
	uint32_t		 refs;
	uint16_t		 nrooms;	/* <= USER_MAX_ROOMS */
	uint16_t		 njoining;	/* joins asked, not answered */
	uint8_t			 doomed;	/* to be reaped (users.c) */
	uint8_t			 ib_holds;
	uint8_t			 here;		/* online here (presence) */
	char			 id[];		/* allocated to its length */
};

/*
 * Every user online here has one: with a 12-byte id (11 characters and
 * the NUL) it is a 112-byte malloc chunk (87 + 12 + glibc's 8, rounded
 * up to 16), the router's part inside; ids up to 16 characters fit the
 * same chunk.
 */
#define USER_HEAD_SIZE	87
_Static_assert(offsetof(struct user, id) <= USER_HEAD_SIZE,
    "struct user grew: see \"Memory per idle connection\" in "
    "bench/README.md before raising USER_HEAD_SIZE");

struct users;

struct users	*users_new(void);
/* Free every user (their modules' parts must be gone already). */
void	users_free(struct users *);
/* The user named id, or NULL. */
struct user	*users_find(struct users *, const char *id);
/*
 * The user named id, made if need be (without a reference: take one to
 * keep it past the pass).  NULL if id is longer than CODEC_MAX_USER or
 * there is no memory.
 */
struct user	*users_get(struct users *, const char *id);
void	user_ref(struct user *);
/* Drop a reference; at none the user is freed by users_reap(). */
void	user_unref(struct users *, struct user *);
/* Free the users left without references since the last call. */
void	users_reap(struct users *);
size_t	users_count(const struct users *);
/* Call fn for every user; fn may drop references but not free users. */
void	users_each(struct users *, void (*fn)(struct user *, void *),
	    void *arg);
/* Bytes a user of id costs in memory, for the inbox's accounting. */
size_t	users_cost(const char *id);

#endif /* USERS_H */
