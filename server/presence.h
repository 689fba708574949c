/*
 * Copyright (c) 2026 The chat authors.
 *
 * presence: who is online, and telling those who asked.  A user is
 * online while it has a connection here (the router says so) or, in a
 * cluster, on another node (the nodes say so on chat.presence).
 * Connections watch users and are told when one comes online or goes
 * offline; "who" lists everyone online, once, built again only after a
 * change.  Among nodes: each says when a user gets its first or loses
 * its last connection there ({"node","on":[...]} / {"node","off":[...]}),
 * sends a heartbeat every second with its count of users ({"node",
 * "hb":N}), and on request ({"node","sync":ID}) its whole list, in
 * chunks: the first with "reset":true, the last with "end":true; who it
 * does not name goes at the end (nobody flickers offline meanwhile).  A
 * node whose count differs from what we hold is asked for its list; a
 * node silent for 3 s is gone, and so are its users.  No I/O here:
 * connections are reached through deliver.h, NATS through the send
 * function given to presence_cluster().
 */
#ifndef PRESENCE_H
#define PRESENCE_H

#include <stddef.h>
#include <stdint.h>

#include "codec.h"

struct presence;
struct users;
struct user;
struct deliver_ops;

/* Presence's part of a connection, kept inside it. */
struct pconn {
	void		 *conn;		/* the deliver ops' conn: its rconn */
	struct user	**watch;	/* watched users (referenced) */
	uint16_t	  nwatch;
};

/* who answers are cut to fit half of max_output. */
struct presence	*presence_new(struct users *, const struct deliver_ops *,
		    size_t max_output);
void	presence_free(struct presence *);

/*
 * Join a cluster as node (32 hex digits): what we say goes out through
 * send(arg, json, len).
 */
void	presence_cluster(struct presence *, const char *node,
	    void (*send)(void *, const char *, size_t), void *arg);

/*
 * Be told when another node starts holding a user (a new (user, node)
 * pair, from "on" or a snapshot): the JetStream inbox hands that node
 * what it stored for the user meanwhile.  One listener.
 */
void	presence_on_join(struct presence *,
	    void (*cb)(void *, struct user *, const char *node), void *arg);
/*
 * The other nodes u is online on: up to max ids (32 hex digits, valid
 * until presence next hears from the nodes) into ids; how many.
 */
size_t	presence_nodes_of(const struct user *u, const char **ids, size_t max);

/*
 * u got its first connection here (online 1) or lost its last (0).  The
 * caller (the router) holds a reference to u while it is online here:
 * presence keeps only a byte in u for it.
 */
void	presence_local(struct presence *, struct user *u, int online);
/* Is u online on another node? */
int	presence_remote(const struct presence *, const struct user *u);
/* Users online here; anywhere (each once). */
size_t	presence_nlocal(const struct presence *);
size_t	presence_nonline(const struct presence *);

/*
 * Replace pc's watch list with users[0..n) (an id listed twice is
 * watched once) and send the current state of each.  0 or -1 (no
 * memory: pc watches nothing).
 */
int	presence_watch(struct presence *, struct pconn *pc,
	    char (*users)[CODEC_MAX_USER + 1], size_t n);
/* pc goes: drop its watches. */
void	presence_unwatch(struct presence *, struct pconn *pc);
/*
 * The "who" answer (JSON, *len bytes, presence's, valid until the next
 * call): everyone online, cut to half of max_output.  NULL: no memory.
 */
const char *presence_who(struct presence *, size_t *len);

/* A message from chat.presence; ready: we may answer a sync. */
void	presence_input(struct presence *, const char *data, size_t len,
	    uint64_t now, int ready);
/*
 * Silent nodes go, but only while ready (NATS up): a node that cannot
 * hear the others does not take them for gone; once back, each has
 * NODE_DEAD_MS again to be heard.  Our heartbeat when ready.  Every
 * sweep.
 */
void	presence_tick(struct presence *, uint64_t now, int ready);
/* Our users from the start, after (re)joining. */
void	presence_snapshot(struct presence *);
/* Entries (user, node) held; other nodes heard from lately. */
size_t	presence_nremote(const struct presence *);
size_t	presence_nodes(const struct presence *);

#endif /* PRESENCE_H */
