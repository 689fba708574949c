/*
 * Copyright (c) 2026 The chat authors.
 *
 * cluster: presence among nodes over the NATS link (see cluster.h).
 */
#include <stdlib.h>

#include "cluster.h"
#include "log.h"
#include "nats-link.h"
#include "presence.h"
#include "util.h"

struct cluster {
	struct nats_link	*link;
	struct presence		*pres;
	natsSubscription	*sub;
};

/* What presence says goes out on chat.presence, while connected. */
static void
say(void *arg, const char *json, size_t len)
{
	struct cluster	*cl = arg;

	(void)nats_link_publish(cl->link, "chat.presence", json, len, NULL, 0);
}

static void
heard(void *arg, natsMsg *m)
{
	struct cluster	*cl = arg;

	presence_input(cl->pres, natsMsg_GetData(m),
	    (size_t)natsMsg_GetDataLength(m), util_mono_ms(),
	    nats_link_up(cl->link));
}

/* (Re)joined: our users from the start. */
static void
state(void *arg, int up)
{
	struct cluster	*cl = arg;

	if (up)
		presence_snapshot(cl->pres);
}

struct cluster *
cluster_new(struct nats_link *link, struct presence *pres)
{
	struct cluster	*cl;

	if ((cl = calloc(1, sizeof(*cl))) == NULL)
		return NULL;
	cl->link = link;
	cl->pres = pres;
	presence_cluster(pres, nats_link_node(link), say, cl);
	if (nats_link_subscribe(link, "chat.presence", heard, cl,
	    &cl->sub) != 0) {
		free(cl);
		return NULL;
	}
	nats_link_on_state(link, state, cl);
	return cl;
}

void
cluster_free(struct cluster *cl)
{
	if (cl == NULL)
		return;
	nats_link_unsubscribe(cl->sub);
	free(cl);
}

void
cluster_tick(struct cluster *cl, uint64_t now)
{
	nats_link_tick(cl->link, now);
	presence_tick(cl->pres, now, nats_link_up(cl->link));
}
