/*
 * Copyright (c) 2026 The chat authors.
 *
 * rooms: who is in which room.  A membership belongs to a user, not to
 * a connection, and is kept by a store behind a small interface: memory
 * (lost at exit), the SQLite file of --store (table members, beside
 * the inboxes: rooms-sqlite.c) or JetStream in a cluster (stream
 * CHAT_ROOMS: rooms-js.c), where every node holds the whole list and
 * learns the other nodes' changes.  It checks the limits (members per
 * room, rooms per user), asks the store, and applies a join or leave
 * once the store has it; a room exists while it has members.  It
 * reaches no connection and sends no message: the router is told of
 * every change (rooms_events) and tells the members.
 */
#ifndef ROOMS_H
#define ROOMS_H

#include <stddef.h>
#include <stdint.h>

struct users;
struct user;
struct room;
struct rooms;
struct rooms_store;
struct nats_link;
struct sqlite3;

enum rooms_status {
	ROOMS_OK = 0,
	ROOMS_PENDING,		/* the answer comes through done() */
	ROOMS_NOT_MEMBER,	/* leave: not in the room */
	ROOMS_FULL,		/* the room has --room-members members */
	ROOMS_TOO_MANY,		/* the user is in --user-rooms rooms */
	ROOMS_UNAVAILABLE,	/* the store failed */
	ROOMS_CLUSTER,		/* NATS unreachable, or not read yet */
	ROOMS_NOMEM
};

struct rooms_config {
	size_t		 max_members;	/* members per room */
	size_t		 max_rooms;	/* rooms per user */
};

/* What rooms tells its user (the router). */
struct rooms_events {
	void	*arg;
	/*
	 * u joined (1) or left (0) room r, as the store now keeps it;
	 * tag is the one given to rooms_join() or rooms_leave(), NULL for
	 * a change made elsewhere (another node, a reload).  r is valid
	 * for the call (after a leave it may have no member left).
	 */
	void	(*changed)(void *arg, struct room *r, struct user *u,
		    int joined, void *tag);
	/*
	 * A join or leave answered later: ROOMS_OK (after changed(), if
	 * it changed anything) or why not.  room and u as asked.
	 */
	void	(*done)(void *arg, void *tag, enum rooms_status,
		    const char *room, struct user *u);
};

/*
 * The rooms, kept by store (rooms takes it over, also on failure).
 * The store's memberships are read now (memory, SQLite) or once it is
 * ready (JetStream).  NULL with err[errlen] saying why.
 */
struct rooms	*rooms_open(const struct rooms_config *, struct users *,
		    struct rooms_store *store, const struct rooms_events *,
		    char *err, size_t errlen);
/* Answer what is pending (ROOMS_UNAVAILABLE), close the store. */
void	rooms_close(struct rooms *);

/*
 * u joins room (a valid name): ROOMS_OK if it is a member already,
 * ROOMS_PENDING (changed() then done(tag) follow, after rooms_commit()
 * at the earliest), or why not now.  tag stays the caller's to keep
 * alive until done().
 */
enum rooms_status rooms_join(struct rooms *, struct user *u,
	    const char *room, void *tag);
/* u leaves room: ROOMS_PENDING, ROOMS_NOT_MEMBER, or why not now. */
enum rooms_status rooms_leave(struct rooms *, struct user *u,
	    const char *room, void *tag);
/* The pass's commit: the store writes what was asked, then answers. */
void	rooms_commit(struct rooms *);
/* The store's timers: every sweep. */
void	rooms_tick(struct rooms *, uint64_t now_ms);
/* Can joins and leaves be asked now (the store read and reachable)? */
int	rooms_ready(const struct rooms *);
const char *rooms_status_str(enum rooms_status);

/* The room named name, or NULL (nobody in it). */
struct room	*rooms_find(const struct rooms *, const char *name);
const char	*room_name(const struct room *);
size_t		 room_size(const struct room *);
/* Member i of r (0 <= i < room_size(r)), in no particular order. */
struct user	*room_member(const struct room *, size_t i);
/* Is u a member of r? */
int		 room_has(const struct room *, const struct user *u);
/*
 * The rooms u is in: up to max of them into out, in no particular
 * order; returns how many u is in.
 */
size_t	rooms_of(const struct rooms *, const struct user *u,
	    struct room **out, size_t max);
/* Rooms with members; memberships in all. */
size_t	rooms_count(const struct rooms *);
size_t	rooms_memberships(const struct rooms *);

/* ---- stores ---- */

/* What a store tells rooms. */
struct rooms_store_events {
	void	*arg;
	/* A put() answered: ROOMS_OK or why not. */
	void	(*done)(void *arg, void *tag, enum rooms_status);
	/*
	 * user is (joined 1) or is not (0) in room, as read from the
	 * store or changed by another node.
	 */
	void	(*set)(void *arg, const char *room, const char *user,
		    int joined);
	/*
	 * begin 1: the whole list follows through set(joined 1); begin 0:
	 * it is over, and a membership it did not name is gone.
	 */
	void	(*sync)(void *arg, int begin);
	/* The store can take puts (1) or not (0). */
	void	(*ready)(void *arg, int ready);
};

struct rooms_store_ops {
	const char	*kind;
	/*
	 * Start telling ev (copied): the memberships kept, at once or
	 * later, and ready().  0 or -1 with err[errlen].
	 */
	int	(*start)(struct rooms_store *, const struct rooms_store_events *,
		    char *err, size_t errlen);
	/*
	 * Keep (join 1) or drop (0) a membership: ROOMS_PENDING (done(tag)
	 * follows) or why not now.
	 */
	enum rooms_status (*put)(struct rooms_store *, const char *room,
		    const char *user, int join, void *tag);
	/* The pass is over: write what was put.  NULL: nothing to do. */
	void	(*commit)(struct rooms_store *);
	/* Timers, every sweep.  NULL: none. */
	void	(*tick)(struct rooms_store *, uint64_t now_ms);
	/* Answer what is pending with ROOMS_UNAVAILABLE and free. */
	void	(*close)(struct rooms_store *);
};

/* Every store's struct rooms_store starts with this. */
struct rooms_store_base {
	const struct rooms_store_ops *ops;
};

/* Memberships in memory only. */
struct rooms_store *rooms_store_memory(void);
/*
 * In table members of the SQLite file h (the inbox's, which owns the
 * file and its format: inbox-sqlite.c); h stays the inbox's.
 */
struct rooms_store *rooms_store_sqlite(struct sqlite3 *h, char *err,
		    size_t errlen);
/* In JetStream (stream CHAT_ROOMS), replicas as the inboxes'. */
struct rooms_store *rooms_store_js(struct nats_link *, int replicas,
		    char *err, size_t errlen);

#endif /* ROOMS_H */
