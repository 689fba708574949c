/*
 * Copyright (c) 2026 The chat authors.
 *
 * server.h: what the server's modules share.  options.c owns the
 * settings (struct server_config); main.c owns signals, the listener
 * and the poll loop; server-client.c owns one connection from accept to
 * free; router.c owns users, their offline queues and presence
 * watchers; metrics.c formats what they count.  Struct layouts that
 * more than one of them needs are here; the rest stay in their .c
 * files.
 */
#ifndef SERVER_H
#define SERVER_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "store.h"

struct ws_conn;
struct tp;
struct poller;

/*
 * One ready descriptor: c is NULL for listener lidx, or for the wake-up
 * descriptor (lidx == nlst).
 */
struct server_ready {
	struct client	*c;
	short		 revents;
	int		 lidx;
};

/* A listening socket: plain ws:// or TLS wss://. */
struct listener {
	int		 fd;			/* -1 once closed */
	int		 tls;
};

#define SERVER_MAX_LISTENERS	2

/* Every limit a peer can push against, settable by option. */
struct server_config {
	const char	*listen;		/* address to bind */
	int		 port;			/* 0: any free port */
	int		 tls_port;		/* -1: none; else wss:// here */
	const char	*cert, *key;		/* PEM files for TLS, or NULL */

	/* Security (all off by default, for local use). */
	uint8_t		*jwt_key;		/* --jwt-secret-file contents */
	size_t		 jwt_keylen;
	const char	**origins;		/* --allow-origin, NULL: any */
	size_t		 norigins;
	double		 rate;			/* messages/s per connection */
	uint32_t	 burst;
	size_t		 max_per_ip;		/* 0: unlimited */
	const char	*stats_token;		/* guards /stats if set */
	size_t		 max_clients;		/* connections, all states */
	size_t		 max_message;		/* bytes in one message */
	size_t		 max_output;		/* bytes buffered per client */
	size_t		 max_per_user;		/* connections per user id */
	struct store_config store;		/* --store, --history-*, -Q */
	const char	*cluster;		/* --cluster URLs, or NULL */
	uint64_t	 handshake_timeout;	/* ms */
	uint64_t	 ping_interval;		/* ms */
	uint64_t	 idle_timeout;		/* ms */

	/* Strings and secrets above are owned by options.c. */
	int		 log_level;		/* LOG_*: -q, -v */
	int		 log_json;		/* --log-format json */
	int		 use_poll;		/* --poller poll */
	const char	*config;		/* --config FILE, or NULL */
	const char	*jwt_secret_file;	/* read into jwt_key */
	const char	*stats_token_file;	/* read into stats_token */
};

/* A chat message as sent to receivers: shared, reference-counted. */
struct msg {
	unsigned	 refs;
	uint64_t	 seq;			/* in the receiver's inbox */
	/* Owned by store.c's memory backing while the inbox keeps it. */
	struct msg	*inext;			/* same inbox, by seq */
	struct msg	*sprev, *snext;		/* delivered, oldest first */
	void		*inbox;
	uint64_t	 ts;
	size_t		 len;
	char		 data[];
};

/* A message of len bytes (data uninitialised but NUL-terminated). */
struct msg	*msg_alloc(size_t len);
struct msg	*msg_new(const char *data, size_t len);
struct msg	*msg_ref(struct msg *);
void		 msg_unref(struct msg *);

/* One entry of a FIFO of messages. */
struct mq_ent {
	struct mq_ent	*next;
	struct msg	*m;
	uint64_t	 start, end;	/* output stream offsets (in flight) */
	int		 fresh;		/* its first send to the user */
};

struct mq {
	struct mq_ent	*head, *tail;
	size_t		 n, bytes;
};

void	mq_push(struct mq *, struct mq_ent *);
struct mq_ent *mq_pop(struct mq *);
void	mq_clear(struct mq *);

/* What became of a chat message (router.c). */
enum route_result {
	ROUTE_PENDING,		/* in the store's open batch */
	ROUTE_DELIVERED,	/* committed, sent to a connection */
	ROUTE_QUEUED,		/* committed, no connection took it yet */
	ROUTE_FULL,
	ROUTE_UNAVAILABLE,	/* the store failed */
	ROUTE_CLUSTER,		/* NATS unreachable: not accepted */
	ROUTE_NOMEM
};

enum client_state {
	CLIENT_HANDSHAKE,	/* reading the HTTP request */
	CLIENT_REPLY,		/* writing an HTTP answer (101 or error) */
	CLIENT_CHAT,		/* WebSocket, chat endpoint */
	CLIENT_ECHO,		/* WebSocket, echo endpoint */
	CLIENT_CLOSING,		/* close queued; waiting for flush or peer */
	CLIENT_LINGER		/* HTTP error sent; draining until EOF */
};

struct user;
struct router;
struct store;

struct client_hs;

/*
 * One connection.  Kept small: an idle chat connection is this, its
 * ws_conn and its share of its user.
 */
struct client {
	struct client	*prev, *next;		/* all clients */
	struct client	*unext;			/* same user */
	struct server	*srv;
	struct tp	*tp;			/* until the upgrade */
	struct client_hs *hs;			/* until the upgrade */
	struct ws_conn	*ws;
	struct user	*user;			/* CLIENT_CHAT */
	char		*gone_id;		/* user id after detach, for logs */
	struct mq	 inflight;		/* chat messages not yet written */
	uint64_t	 seq;			/* last seq sent to it */
	struct clconn	*clc;			/* its sync state in a cluster */
	uint32_t	 clreqs;		/* NATS requests for it */

	/* Presence subscriptions: ids this client watches (nwatch below). */
	char		(*watch)[CODEC_MAX_USER + 1];

	uint64_t	 deadline;		/* handshake or close */
	uint64_t	 last_rx;		/* last byte received */
	uint64_t	 last_tx_progress;	/* last time output moved */

	uint32_t	 token_exp;		/* seconds since epoch, 0: none */
	float		 rl_tokens;		/* rate limit bucket */
	uint32_t	 rl_at;			/* its last refill, mono ms */
	float		 q_tokens;		/* who/watch/resume budget */
	uint32_t	 q_at;			/* its last refill */
	float		 rl_refused;		/* refusals, decayed */
	uint32_t	 rl_refused_at;		/* its last update */
	uint8_t		 ip_counted;		/* in the per-address table */
	uint8_t		 ip_over;		/* ...beyond --max-per-ip */

	uint32_t	 id;			/* serial number for logs */
	enum client_state state;
	short		 armed;			/* events registered */
	uint8_t		 dead;			/* reap after this pass */
	uint8_t		 touched;		/* on the server's touch list */
	uint8_t		 cut;			/* cut off as a slow reader */
	uint8_t		 detaching;		/* leave the router after the pass */
	uint8_t		 pinged;		/* a ping is outstanding */
	uint16_t	 nwatch;		/* at most CODEC_MAX_WATCH */
	uint8_t		 af;			/* peer address, for logs */
	uint16_t	 port;
	uint8_t		 ip[16];
};

struct server {
	struct server_config cfg;
	struct router	*router;
	struct store	*store;
	struct client	*clients;
	size_t		 nclients;

	/* The loop (server-loop.c). */
	struct poller	*poller;
	struct listener	 lst[SERVER_MAX_LISTENERS];
	int		 nlst;
	short		 lev;			/* listeners' armed events */
	int		 wakefd;		/* the cluster's, or -1 */
	struct cluster	*cluster;		/* --cluster, or NULL */
	struct tp_tls	*tls;			/* for wss:, NULL without */
	struct server_ready *ready;		/* what the last wait found */
	size_t		 capready;
	struct client	**touch;		/* flush, re-arm or reap */
	size_t		 ntouch, captouch;
	uint64_t	 next_id;
	uint64_t	 now;			/* monotonic ms, once per pass */
	uint64_t	 started;		/* monotonic ms at start */
	struct ipcount	*ipc;			/* connections per address */

	/* Counters for /stats. */
	uint64_t	 st_delivered, st_queued, st_refused;
	uint64_t	 st_bytes_in, st_bytes_out;
	int		 shutting_down;
};

/* server-loop.c */
/*
 * Set up the poller ("epoll" or "poll") for the listeners in s->lst and
 * the wake-up descriptor.  0 or -1 with errno.
 */
int	server_loop_init(struct server *, const char *poller);
void	server_loop_release(struct server *);
/* Arm the listeners for events (POLLIN, or 0 to pause accepting). */
void	server_listen_events(struct server *, short events);
/* Close the listeners (shutdown). */
void	server_close_listeners(struct server *);
/*
 * Put c on the list handled before the next wait: flushed once, its
 * events re-armed, or reaped if dead.  Cheap and idempotent.
 */
void	server_touch(struct server *, struct client *);
/* Register c with the poller and the client list.  0 or -1. */
int	server_link(struct server *, struct client *);
/* Flush, re-arm or reap every touched client. */
void	server_process_touched(struct server *);
/*
 * Wait up to timeout ms; fill s->ready.  Returns how many are ready,
 * 0 on timeout, -1 with errno.
 */
int	server_wait(struct server *, int timeout);

/* server-client.c */
struct sockaddr;
/*
 * Can the router still send to c?  Not once it is dead, cut off or
 * closing: such a client leaves the router after the pass, never from
 * inside a router call (see client_detach_later()).
 */
static inline int
client_routable(const struct client *c)
{
	return !c->dead && !c->cut && !c->detaching;
}
/* A new connection on fd (TLS if tls).  Owns fd, also on failure. */
struct client	*client_new(struct server *, int fd, const struct sockaddr *,
		    int tls);
/* The peer as "ip:port" in a static buffer, for one log line. */
const char	*client_addr(const struct client *);
/* Handle what poll reported for c (both directions for TLS). */
void	client_on_event(struct client *, short revents);
void	client_on_readable(struct client *);
int	client_is_tls(const struct client *);
void	client_flush(struct client *);
short	client_events(const struct client *);
int	client_fd(const struct client *);
void	client_timers(struct client *);
void	client_shutdown(struct client *);
/*
 * If c is to leave the router (closing, cut off or dead), do it now:
 * the loop calls this for each touched client, outside any router call.
 */
void	client_detach_pending(struct client *);
/* Drop the connection at once (socket error), logging why. */
void	client_drop(struct client *, const char *why);
void	client_free(struct client *);
/* Send a protocol message (ack, presence...): 0 or -1 (client cut). */
int	client_send_text(struct client *, const char *p, size_t len);
/*
 * Send a chat message and track it until written.  0, or -1 if the
 * client could not take it (it is then cut off; m was not kept).
 */
int	client_send_msg(struct client *, struct msg *m);
/* Bytes the client can still take before its output cap. */
size_t	client_room(const struct client *);
/* Bytes queued for it, not yet written. */
size_t	client_pending(const struct client *);
/*
 * The answer to a chat message router_submit() took: an ack, or an
 * error.  c may be NULL (gone).
 */
void	client_chat_done(struct client *, const char *id,
	    enum route_result);
/* Start closing with code and reason; the client is detached. */
void	client_close(struct client *, uint16_t code, const char *reason);

/*
 * What server-client.c counts for /metrics, besides the st_ counters of
 * struct server: refusals and cuts, by reason.
 */
enum client_counter {
	CC_ACCEPTED,		/* connections accepted */
	CC_MAX_CLIENTS,		/* refused at accept: --max-clients */
	CC_MAX_PER_USER,	/* closed at the upgrade: --max-per-user */
	CC_HANDSHAKE_TIMEOUT,	/* no request in --handshake-timeout */
	CC_TLS_FAILED,		/* TLS handshake failed */
	CC_QUEUE_FULL,		/* chat messages refused: queue_full */
	CC_STORE_UNAVAILABLE,	/* ...: store_unavailable */
	CC_CLUSTER_UNAVAILABLE,	/* ...: cluster_unavailable */
	CC_RATE_LIMITED,	/* chat messages over --rate */
	CC_QUERY_LIMITED,	/* who, watch, resume over their budget */
	CC_RATE_CLOSED,		/* connections closed for either */
	CC_SLOW_READER,		/* cut off: output over -o or stalled */
	CC_HTTP_400, CC_HTTP_401, CC_HTTP_403, CC_HTTP_404, CC_HTTP_405,
	CC_HTTP_426, CC_HTTP_431, CC_HTTP_500, CC_HTTP_503, CC_HTTP_OTHER,
	CC_N
};
/*
 * Add one to a counter; read one (0 for an unknown one); when it was
 * last added to (monotonic ms, 0: never).
 */
void	client_count(enum client_counter);
uint64_t client_counter(enum client_counter);
uint64_t client_counted_at(enum client_counter);

/* limits.c */
struct ipcount;
struct ipcount	*ipcount_new(void);
void	ipcount_free(struct ipcount *);
/* Count one more connection from af/ip (16 bytes); the new count. */
uint32_t ipcount_add(struct ipcount *, uint8_t af, const uint8_t *ip);
void	ipcount_del(struct ipcount *, uint8_t af, const uint8_t *ip);

/* router.c */
struct router	*router_new(const struct server_config *, struct store *);
void	router_free(struct router *);
/*
 * Attach c to user id.  With resume, c is sent a "resumed" answer and
 * every kept message after since (all of them if epoch, when given,
 * is not the store's); without, what no connection of the user was
 * sent yet.  0, -1 (too many connections for this user) or -2 (no
 * memory).
 */
int	router_attach(struct router *, struct client *, const char *user,
	    int resume, uint64_t since, const char *epoch);
/* {"type":"resume"} on an attached connection; epoch NULL or "". */
void	router_resume(struct router *, struct client *, uint64_t since,
	    const char *epoch);
/*
 * Detach a client from its user; unsent is its unwritten chat messages:
 * if it was the user's last connection, the delivery cursor moves back
 * before the first one it was the first to be sent.  Drops its watches.
 */
void	router_detach(struct router *, struct client *, struct mq *unsent);
/*
 * Number a chat message from a connection for target and append it to
 * the open batch: ROUTE_PENDING (client_chat_done() follows at the
 * commit) or why it was refused.  id is the sender's "id" or "".
 */
enum route_result router_submit(struct router *, struct client *from,
	    const char *target, const char *msg, size_t msglen,
	    const char *id);
/*
 * The pass's group commit: make the batch durable, then deliver it and
 * answer its senders (or refuse them all if the store failed).
 */
void	router_commit(struct router *);
/* c is going away: drop it from the answers waiting for the commit. */
void	router_forget(struct router *, struct client *);
/*
 * Free the users left with no connection and no watcher during the
 * pass (a user is never freed while a router call may hold it).  The
 * loop calls it after reaping clients.
 */
void	router_reap(struct router *);
/* Replay more to c if it is behind (its output drained). */
void	router_catch_up(struct router *, struct client *);
const char *router_user_id(const struct user *);
size_t	router_user_conns(const struct user *);
/* Users with at least one connection. */
size_t	router_nonline(const struct router *);
/* Online user ids (caller frees the array, not the strings). */
const char **router_online(struct router *, size_t *n);
/*
 * The "who" answer (JSON, *len bytes; the router's, valid until the next
 * router call), cut to half of --max-output; built again only once the
 * online set has changed.  NULL without memory.
 */
const char *router_who(struct router *, size_t *len);
/* Replace c's watch list and send the current state of each. 0 or -1. */
int	router_watch(struct router *, struct client *,
	    char (*users)[CODEC_MAX_USER + 1], size_t n);
/* Users with a connection on this node (caller frees the array). */
const char **router_local_users(struct router *, size_t *n);

/*
 * In a cluster (router.c; cluster.c calls these from the loop thread).
 * The router routes through cl from now on.
 */
struct cluster;
void	router_set_cluster(struct router *, struct cluster *cl);
/* Streams are ready: connections waiting for their history sync now. */
void	router_cl_ready(struct router *);
/*
 * user's inbox got m (seq; the message before it in the inbox is prev;
 * m NULL if it could not be built): 1 if the user has a connection here.
 */
int	router_cl_hint(struct router *, const char *user, uint64_t seq,
	    uint64_t prev, struct msg *m);
/*
 * A fetch for c came back: m (seq seq, after prev in its inbox), or seq
 * alone (not a chat message: skip it), or neither (nothing more), or
 * err.
 */
void	router_cl_fetched(struct router *, struct client *c, struct msg *m,
	    uint64_t seq, uint64_t prev, int err);
/* One CL_* value of a lookup for c came back (err: it failed). */
void	router_cl_looked_up(struct router *, struct client *c, int what,
	    uint64_t value, int err);
/* user came online on another node or went offline on all others. */
void	router_cl_presence(struct router *, const char *user, int online);

#endif /* SERVER_H */
