/*
 * Copyright (c) 2026 The chat authors.
 *
 * cluster: this node's link to NATS (--cluster).  It owns the NATS
 * connection, the hand-off of everything NATS' threads receive to the
 * poll loop (a queue and a wake-up pipe), the requests in flight with
 * their deadlines, the JetStream streams and the send chains; what
 * other nodes say about presence is kept by presence.c, fed from here.
 * The loop never waits on NATS: requests are published with a reply
 * subject and their answers come back through the pipe.
 *
 * In NATS: stream CHAT holds every user's inbox (subject
 * chat.inbox.<hex of the user id>; a message's seq is its stream
 * sequence), stream CHAT_CURSOR the seed delivery cursor of each user
 * (chat.cursor.<hex>), chat.user.<hex> reaches the nodes where a user
 * has connections, chat.presence carries heartbeats and online/offline
 * events between nodes.
 *
 * Nothing here knows about connections' inboxes: answers go to the
 * router (router_cl_*() in router.c).
 */
#ifndef CLUSTER_H
#define CLUSTER_H

#include <stddef.h>
#include <stdint.h>

struct cluster;
struct client;
struct server;
struct msg;

/* What a lookup asks for (bits). */
#define CL_LAST		0x1	/* newest seq of the user's inbox */
#define CL_FIRST	0x2	/* oldest kept */
#define CL_CURSOR	0x4	/* the seed delivery cursor */

/*
 * Join the cluster at urls (comma-separated nats:// URLs).  Does not
 * wait for NATS: a node started while NATS is down runs alone and joins
 * when it comes up.  NULL with err[errlen] saying why (bad URL, no
 * memory).
 */
struct cluster	*cluster_new(struct server *, const char *urls, char *err,
		    size_t errlen);
void	cluster_free(struct cluster *);
/* Poll this for POLLIN; then call cluster_process(). */
int	cluster_wakefd(const struct cluster *);
/* Handle everything NATS handed over since the last call. */
void	cluster_process(struct cluster *);
/* Heartbeats, request deadlines, silent nodes: call every sweep. */
void	cluster_tick(struct cluster *, uint64_t now);

/* Connected and the streams are set up. */
int	cluster_ready(const struct cluster *);
/* "ready" or "down", for /stats and logs. */
const char *cluster_state(const struct cluster *);
/* Other nodes heard from lately. */
size_t	cluster_nodes(const struct cluster *);
/* For /metrics: JetStream's answer time to a store; NULL without cl. */
struct metrics_hist;
const struct metrics_hist *cluster_store_latency(const struct cluster *);
/* The CHAT stream's numbering (16 hex digits), "" until known. */
const char *cluster_epoch(const struct cluster *);

/*
 * Store a chat message for target (data: the chat JSON without seq),
 * then tell target's nodes: router_cl_done() follows with
 * ROUTE_DELIVERED, ROUTE_QUEUED or ROUTE_CLUSTER.  0, or -1 if it
 * cannot even be tried (not ready, too many in flight).
 */
int	cluster_publish(struct cluster *, struct client *from,
	    const char *target, const char *data, size_t len, const char *id);
/*
 * The first message of user's inbox with seq >= from, for c:
 * router_cl_fetched() follows.  0 or -1.
 */
int	cluster_fetch(struct cluster *, struct client *c, const char *user,
	    uint64_t from);
/* Ask for what (CL_*) of user for c: router_cl_looked_up() per bit. */
int	cluster_lookup(struct cluster *, struct client *c, const char *user,
	    int what);
/* Record user's seed delivery cursor (no answer). */
void	cluster_cursor(struct cluster *, const char *user, uint64_t seq);
/* c is going away: answers for it are dropped. */
void	cluster_forget(struct cluster *, struct client *c);

/*
 * user got its first connection on this node (online 1) or lost its
 * last (0): follow its subject and tell the other nodes.
 */
void	cluster_user_local(struct cluster *, const char *user, int online);
/* Is user online on another node? */
int	cluster_user_remote(const struct cluster *, const char *user);
/*
 * Users online on other nodes, each once, appended to v (up to max):
 * returns how many were added.
 */
size_t	cluster_remote_users(const struct cluster *, const char **v,
	    size_t max);
size_t	cluster_nremote(const struct cluster *);

#endif /* CLUSTER_H */
