/*
 * Copyright (c) 2026 The chat authors.
 *
 * deliver: how the router and presence reach a connection, which they
 * know only as an opaque pointer and these operations (server-client.c
 * provides them).  The router's pointer is the connection's struct
 * rconn itself (router.h), so that a connection holds no pointer back
 * to itself: the provider finds its connection around it (the server's
 * struct client holds its rconn at rc).  Presence passes the pointer
 * in its struct pconn, which must be the same for one connection.  None of them calls back into the router or presence:
 * a connection that cannot take what it is sent is marked and leaves
 * after the loop pass (see server-client.c).
 */
#ifndef DELIVER_H
#define DELIVER_H

#include <stddef.h>
#include <stdint.h>

struct msg;

/* What became of a chat message, as its sender is told. */
enum route_result {
	ROUTE_PENDING,		/* the answer comes later */
	ROUTE_DELIVERED,	/* stored, sent to a connection of the target */
	ROUTE_QUEUED,		/* stored, no connection took it yet */
	ROUTE_FULL,		/* a bound: queue_full */
	ROUTE_UNAVAILABLE,	/* the store failed: store_unavailable */
	ROUTE_CLUSTER,		/* NATS unreachable: cluster_unavailable */
	ROUTE_NOMEM,
	ROUTE_NOT_MEMBER	/* to a room the sender is not in */
};

struct deliver_ops {
	/*
	 * Queue a chat message and track it until written (the router is
	 * told through router_written()).  0, or -1 if the connection
	 * cannot take it (it is then cut off, after the pass).
	 */
	int	(*send_msg)(void *conn, struct msg *m);
	/*
	 * m is not sent to conn (its own room message, conn sent it) but
	 * counts as written once what was queued before it is.  0 or -1.
	 */
	int	(*skip_msg)(void *conn, struct msg *m);
	/* Queue a protocol event.  0 or -1, as above. */
	int	(*send_text)(void *conn, const char *p, size_t len);
	/*
	 * The answer to a chat message the connection sent.  A room's
	 * has seq, the message's seq in the sender's own inbox when conn
	 * skipped it (else 0), and missed, the members whose inbox refused
	 * it (else 0).
	 */
	void	(*done)(void *conn, const char *id, enum route_result,
		    uint64_t seq, uint64_t missed);
	/* Close it with code and reason (after the pass). */
	void	(*close)(void *conn, uint16_t code, const char *reason);
	/* Bytes it can still take before its output cap. */
	size_t	(*room)(const void *conn);
	/* Bytes queued and not yet written. */
	size_t	(*pending)(const void *conn);
	/* Can it still be sent to (not closing, cut off or dead)? */
	int	(*live)(const void *conn);
	/* "address #serial", for logs. */
	const char *(*name)(const void *conn);
};

#endif /* DELIVER_H */
