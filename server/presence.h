/*
 * Copyright (c) 2026 The chat authors.
 *
 * presence: who is online on the other nodes of a cluster.  Each node
 * says on chat.presence when a user gets its first or loses its last
 * connection there ({"node","on":[...]} / {"node","off":[...]}), sends
 * a heartbeat every second with its count of users ({"node","hb":N}),
 * and on request ({"node","sync":ID}) its whole list, in chunks: the
 * first with "reset":true, the last with "end":true; who it does not
 * name goes at the end (nobody flickers offline meanwhile).  A node
 * whose count differs from what we hold is asked for its list; a node
 * silent for 3 s is gone, and so are its users.  Changes that make a user online or offline across
 * the cluster go to router_cl_presence().  No I/O here: messages go
 * out through the send function given at creation.
 */
#ifndef PRESENCE_H
#define PRESENCE_H

#include <stddef.h>
#include <stdint.h>

struct presence;
struct router;

/* node: our id; send(arg, json, len) publishes on chat.presence. */
struct presence	*presence_new(struct router *, const char *node,
		    void (*send)(void *, const char *, size_t), void *arg);
void	presence_free(struct presence *);
/* A message from chat.presence; ready: we may answer a sync. */
void	presence_input(struct presence *, const char *data, size_t len,
	    uint64_t now, int ready);
/* Silent nodes go; our heartbeat when ready.  Every sweep. */
void	presence_tick(struct presence *, uint64_t now, int ready);
/* Our users from the start, after (re)joining. */
void	presence_snapshot(struct presence *);
/* A user got its first (online) or lost its last connection here. */
void	presence_local(struct presence *, const char *user, int online);

/* Is user online on another node? */
int	presence_remote(const struct presence *, const char *user);
/* Users online elsewhere, each once, into v (up to max): how many. */
size_t	presence_remote_users(const struct presence *, const char **v,
	    size_t max);
/* Entries (user, node) held; other nodes heard from lately. */
size_t	presence_nremote(const struct presence *);
size_t	presence_nodes(const struct presence *);

#endif /* PRESENCE_H */
