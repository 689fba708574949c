/*
 * Copyright (c) 2026 The chat authors.
 *
 * metrics: the Prometheus text exposition format (version 0.0.4) of what
 * the server counts, for GET /metrics.  Every figure comes through a
 * function of the module that owns it; this file only formats.  Label
 * values are fixed words, so nothing a peer sends reaches the output.
 */
#include <stdio.h>
#include <stdlib.h>

#include "hist.h"
#include "metrics.h"
#include "nats-link.h"
#include "presence.h"
#include "server.h"
#include "util.h"


static void
family(FILE *fp, const char *name, const char *type, const char *help)
{
	fprintf(fp, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
sample(FILE *fp, const char *name, const char *labels, uint64_t v)
{
	fprintf(fp, "%s%s %llu\n", name, labels, (unsigned long long)v);
}

/* A family of one sample without labels. */
static void
single(FILE *fp, const char *name, const char *type, const char *help,
    uint64_t v)
{
	family(fp, name, type, help);
	sample(fp, name, "", v);
}

static void
histogram(FILE *fp, const char *name, const char *help,
    const struct hist *h)
{
	uint64_t	cum = 0;
	size_t		i;

	family(fp, name, "histogram", help);
	for (i = 0; i < HIST_BUCKETS; i++) {
		cum += h->bucket[i];
		fprintf(fp, "%s_bucket{le=\"%s\"} %llu\n", name, hist_bounds_le[i],
		    (unsigned long long)cum);
	}
	fprintf(fp, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.6f\n"
	    "%s_count %llu\n", name, (unsigned long long)h->count, name,
	    (double)h->sum_us / 1e6, name, (unsigned long long)h->count);
}

/* One labelled sample per counter of a list. */
struct labelled {
	const char		*label;
	enum client_counter	 cc;
};

static void
counters(FILE *fp, const struct server *s, const char *name,
    const char *help, const char *key, const struct labelled *l, size_t n)
{
	char	labels[64];
	size_t	i;

	family(fp, name, "counter", help);
	for (i = 0; i < n; i++) {
		snprintf(labels, sizeof(labels), "{%s=\"%s\"}", key,
		    l[i].label);
		sample(fp, name, labels, s->count[l[i].cc]);
	}
}

char *
metrics_render(const struct server *s, size_t *len)
{
	static const struct labelled refusals[] = {
		{ "max_clients", CC_MAX_CLIENTS },
		{ "max_per_user", CC_MAX_PER_USER },
		{ "handshake_timeout", CC_HANDSHAKE_TIMEOUT },
		{ "tls_handshake", CC_TLS_FAILED },
		{ "query_limited", CC_QUERY_LIMITED },
		{ "rate_closed", CC_RATE_CLOSED }
	}, http[] = {
		{ "400", CC_HTTP_400 }, { "401", CC_HTTP_401 },
		{ "403", CC_HTTP_403 }, { "404", CC_HTTP_404 },
		{ "405", CC_HTTP_405 }, { "426", CC_HTTP_426 },
		{ "431", CC_HTTP_431 }, { "500", CC_HTTP_500 },
		{ "503", CC_HTTP_503 }, { "other", CC_HTTP_OTHER }
	}, refused_msgs[] = {
		{ "queue_full", CC_QUEUE_FULL },
		{ "store_unavailable", CC_STORE_UNAVAILABLE },
		{ "cluster_unavailable", CC_CLUSTER_UNAVAILABLE },
		{ "rate_limited", CC_RATE_LIMITED }
	};
	struct inbox_stats	 is;
	FILE			*fp;
	char			*buf = NULL, labels[64];
	size_t			 size = 0, i, nrooms, nmembers;

	if ((fp = open_memstream(&buf, &size)) == NULL)
		return NULL;
	family(fp, "chat_build_info", "gauge", "The version of chat-server.");
	fprintf(fp, "chat_build_info{version=\"%s\"} 1\n", CHAT_VERSION);
	single(fp, "chat_uptime_seconds", "gauge",
	    "Seconds since the server started.",
	    (s->now - s->started) / 1000);
	single(fp, "chat_ready", "gauge", "1 while /readyz answers 200: not "
	    "shutting down, store or cluster up.", metrics_unready(s) == NULL);
	single(fp, "chat_connections", "gauge",
	    "Open connections, in every state.", s->nclients);
	single(fp, "chat_connections_accepted_total", "counter",
	    "Connections accepted.", s->count[CC_ACCEPTED]);
	single(fp, "chat_users_online", "gauge",
	    "Users with a connection to this server.",
	    router_nonline(s->router));
	router_rooms_stats(s->router, &nrooms, &nmembers);
	single(fp, "chat_rooms", "gauge", "Rooms with members.", nrooms);
	single(fp, "chat_room_members", "gauge",
	    "Memberships of all rooms.", nmembers);

	family(fp, "chat_messages_total", "counter",
	    "Chat messages by outcome: delivered to a connection, queued "
	    "for an offline user, or refused and why.");
	sample(fp, "chat_messages_total", "{outcome=\"delivered\"}",
	    s->st_delivered);
	sample(fp, "chat_messages_total", "{outcome=\"queued\"}",
	    s->st_queued);
	for (i = 0; i < sizeof(refused_msgs) / sizeof(refused_msgs[0]);
	    i++) {
		snprintf(labels, sizeof(labels), "{outcome=\"%s\"}",
		    refused_msgs[i].label);
		sample(fp, "chat_messages_total", labels,
		    s->count[refused_msgs[i].cc]);
	}
	single(fp, "chat_received_bytes_total", "counter",
	    "Bytes read from clients.", s->st_bytes_in);
	single(fp, "chat_sent_bytes_total", "counter",
	    "Bytes written to clients.", s->st_bytes_out);
	counters(fp, s, "chat_refusals_total", "Connections and requests "
	    "refused or closed by a limit, by reason.", "reason", refusals,
	    sizeof(refusals) / sizeof(refusals[0]));
	counters(fp, s, "chat_http_refusals_total", "HTTP requests answered "
	    "with an error, by status.", "status", http,
	    sizeof(http) / sizeof(http[0]));
	single(fp, "chat_slow_reader_cuts_total", "counter",
	    "Connections cut off as slow readers (output over --max-output "
	    "or stalled).", s->count[CC_SLOW_READER]);

	router_inbox_stats(s->router, &is);
	if (s->link == NULL) {
		single(fp, "chat_store_up", "gauge",
		    "1 while the last write to the store worked.", is.ok);
		single(fp, "chat_store_messages", "gauge",
		    "Messages kept in the inboxes of all users.", is.messages);
		single(fp, "chat_store_bytes", "gauge",
		    "Bytes kept in the inboxes of all users.", is.bytes);
		histogram(fp, "chat_store_commit_seconds", "Time to commit "
		    "one batch of messages to the store.", is.latency);
	} else {
		single(fp, "chat_cluster_up", "gauge",
		    "1 while this node can store and route through NATS.",
		    is.ok);
		single(fp, "chat_cluster_nodes", "gauge",
		    "Other nodes heard from in the last 3 seconds.",
		    presence_nodes(s->presence));
		histogram(fp, "chat_cluster_store_seconds", "Time for "
		    "JetStream to answer the store of a message.", is.latency);
		single(fp, "chat_cluster_purges_total", "counter",
		    "Purges of an inbox's delivered messages.", is.purges);
		single(fp, "chat_cluster_full_purges_total", "counter",
		    "Of them, purges after a store was refused, the inbox "
		    "full.", is.purges_full);
		single(fp, "chat_cluster_purged_total", "counter",
		    "Stored messages the purges took.", is.purged);
	}
	if (fclose(fp) != 0) {
		free(buf);
		return NULL;
	}
	*len = size;
	return buf;
}

/*
 * A failing store may take the next small write (a cursor) and fail the
 * next message again: it counts as unavailable until it has refused no
 * message for READY_HOLD_MS, so that a balancer does not see it flap.
 */
#define READY_HOLD_MS	5000

const char *
metrics_unready(const struct server *s)
{
	struct inbox_stats	is;
	uint64_t		at;

	if (s->shutting_down)
		return "shutting down";
	router_inbox_stats(s->router, &is);
	if (s->link != NULL)
		return is.ok ? NULL : "cluster unavailable";
	at = s->count_at[CC_STORE_UNAVAILABLE];
	if (!is.ok || (at != 0 && util_mono_ms() - at <
	    READY_HOLD_MS))
		return "store unavailable";
	return NULL;
}
