/*
 * Copyright (c) 2026 The chat authors.
 *
 * cluster: presence among the nodes of a cluster, over the NATS link:
 * what presence.c says goes out on chat.presence, what comes in on it
 * goes to presence.c, with the heartbeat and sweep timers.  The inboxes
 * have their own part (inbox-js.c); this is the rest of being a node.
 */
#ifndef CLUSTER_H
#define CLUSTER_H

#include <stdint.h>

struct cluster;
struct nats_link;
struct presence;

/* Tie pres to link.  NULL: no memory (or cannot subscribe). */
struct cluster	*cluster_new(struct nats_link *, struct presence *);
void	cluster_free(struct cluster *);
/* The link's deadlines and presence's timers: every sweep. */
void	cluster_tick(struct cluster *, uint64_t now);

#endif /* CLUSTER_H */
