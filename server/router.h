/*
 * Copyright (c) 2026 The chat authors.
 *
 * router: chat messages between users.  It takes a message from a
 * connection, appends it to its target's inbox (inbox.h), answers the
 * sender once the inbox has (delivered or queued), and moves each
 * connection through its user's inbox by seq: live when caught up,
 * reading from the inbox when behind, resuming after a seq when asked.
 * It moves the inbox's cursor as connections write, and tells a
 * connection when retention took messages it has not seen.  It owns the
 * inbox and the rooms (rooms.h): a message to a room is appended to
 * the inbox of each member, so that every member's seq, resume, quotas
 * and retention work as for a direct message, and membership changes
 * are told to the members' connections.  Connections are reached
 * through deliver.h, online state and watchers belong to presence.h.
 */
#ifndef ROUTER_H
#define ROUTER_H

#include <stddef.h>
#include <stdint.h>

#include "deliver.h"
#include "inbox.h"

struct router;
struct presence;
struct users;
struct user;
struct rwait;

/*
 * The router's part of a connection, kept inside it.  The deliver ops
 * (deliver.h) are given this struct itself as their conn.
 */
struct rconn {
	struct rconn	*unext;		/* same user */
	struct user	*user;		/* NULL: not attached */
	struct rwait	*wait;		/* a sync or read in flight */
	uint64_t	 seq;		/* newest seq queued to it */
	uint64_t	*skip;		/* its own room messages: not sent */
	uint32_t	 npend;		/* its requests not yet answered */
	uint16_t	 nskip;		/* at most MAX_SKIP (router.c) */
	uint8_t		 state;		/* RC_* in router.c */
};

struct router_config {
	size_t		 max_per_user;	/* connections per user */
	size_t		 max_message;	/* bytes in one message */
	size_t		 max_output;	/* bytes buffered per connection */
	size_t		 max_members;	/* members per room */
	size_t		 max_rooms;	/* rooms per user */
};

/*
 * A router with its inbox (opened here, over link for JetStream, else
 * memory or SQLite as icfg says).  NULL with err[errlen] saying why.
 */
struct router	*router_new(const struct router_config *, struct users *,
		    struct presence *, const struct deliver_ops *,
		    const struct inbox_config *icfg, struct nats_link *link,
		    char *err, size_t errlen);
/* Commit what is open and close the inbox.  NULL is fine. */
void	router_free(struct router *);

/*
 * Attach rc (rc->conn set) to user id.  With resume, rc is sent a
 * "resumed" answer and every kept message after since (all of them if
 * epoch, when given, is not the inbox's); without, what no connection
 * of the user has written yet, and the "resumed" answer too if epoch is
 * not NULL (the client asks for the numbering's name).  0, -1 (too many
 * connections for this user) or -2 (no memory).
 */
int	router_attach(struct router *, struct rconn *rc, const char *id,
	    int resume, uint64_t since, const char *epoch);
/* {"type":"resume"} on an attached connection; epoch NULL or "". */
void	router_resume(struct router *, struct rconn *rc, uint64_t since,
	    const char *epoch);
/* rc leaves its user (closing, cut off or gone); idempotent. */
void	router_detach(struct router *, struct rconn *rc);
/*
 * A chat message from rc for target: ROUTE_PENDING (deliver_ops.done
 * follows) or why it was refused now.  id is the sender's "id" or "".
 */
enum route_result router_submit(struct router *, struct rconn *from,
	    const char *target, const char *msg, size_t msglen,
	    const char *id);
/*
 * The same to room: appended to the inbox of every member, the sender
 * included (its other connections get it; rc does not).  ROUTE_PENDING,
 * ROUTE_NOT_MEMBER, or why it was refused now.
 */
enum route_result router_submit_room(struct router *, struct rconn *from,
	    const char *room, const char *msg, size_t msglen,
	    const char *id);
/*
 * rc's user joins (join 1) or leaves room; rc is answered "joined" with
 * the members or "left", now or later, or an error carrying id ("" or
 * the client's); the members' other connections are sent "member".
 */
void	router_join(struct router *, struct rconn *rc, const char *room,
	    int join, const char *id);
/* "members" of room, or not_a_member, to rc. */
void	router_members(struct router *, struct rconn *rc, const char *room,
	    const char *id);
/* "rooms": the rooms of rc's user, to rc. */
void	router_rooms(struct router *, struct rconn *rc);
/* Rooms with members, and memberships, for /stats. */
void	router_rooms_stats(const struct router *, size_t *rooms,
	    size_t *memberships);
/* The pass's group commit: then the appends are answered. */
void	router_commit(struct router *);
/*
 * When, in monotonic us, router_commit() must run again for a commit
 * the inbox put off; 0: no hurry.
 */
uint64_t router_commit_due(const struct router *);
/* The pass wrote to sockets: the inbox publishes what must not wait. */
void	router_flush(struct router *);
/* rc has written every chat message up to seq to its socket. */
void	router_written(struct router *, struct rconn *rc, uint64_t seq);
/* rc's output drained: send more if it is behind. */
void	router_drained(struct router *, struct rconn *rc);
/* Timers (the inbox's retention and deadlines): every sweep. */
void	router_tick(struct router *, uint64_t now_ms);

const char *router_user_id(const struct rconn *);
size_t	router_user_conns(const struct rconn *);
/* Users with a connection here. */
size_t	router_nonline(const struct router *);
/* The inbox's counters, for /stats and /metrics. */
void	router_inbox_stats(const struct router *, struct inbox_stats *);

#endif /* ROUTER_H */
