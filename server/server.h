/*
 * Copyright (c) 2026 The chat authors.
 *
 * server.h: what the loop and the connections share.  options.c owns
 * the settings (struct server_config); main.c signals and the
 * listeners; server-loop.c the poller and the wait; server-client.c one
 * connection from accept to free, and the pass's touch list; metrics.c
 * formats what the modules count.  Below them: the router (router.h),
 * presence (presence.h), the inbox (inbox.h), interned users (users.h),
 * the NATS link (nats-link.h).  Struct layouts that more than one of
 * them need are here; the rest stay in their .c files.
 */
#ifndef SERVER_H
#define SERVER_H

#include <sys/socket.h>

#include <poll.h>
#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "deliver.h"
#include "inbox.h"
#include "presence.h"
#include "router.h"
#include "ws.h"

struct ws_conn;
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
	size_t		 room_members;		/* members per room */
	size_t		 user_rooms;		/* rooms per user */
	struct inbox_config store;		/* --store, --history-*, -Q */
	const char	*cluster;		/* --cluster URLs, or NULL */
	const char	*cluster_creds;		/* NATS credentials file */
	const char	*cluster_ca;		/* TLS to NATS: CA file, */
	const char	*cluster_cert;		/* client certificate */
	const char	*cluster_key;		/* and its key */
	uint8_t		*cluster_secret;	/* --cluster-secret-file's */
	size_t		 cluster_secretlen;
	size_t		 max_pending;		/* unanswered per connection */
	uint64_t	 handshake_timeout;	/* ms */
	uint64_t	 ping_interval;		/* ms */
	uint64_t	 idle_timeout;		/* ms */

	/* Strings and secrets above are owned by options.c. */
	int		 log_level;		/* LOG_*: -q, -v */
	int		 log_json;		/* --log-format json */
	int		 use_poll;		/* --poller poll */
	const char	*config;		/* --config FILE, or NULL */
	const char	*jwt_secret_file;	/* read into jwt_key */
	const char	*cluster_secret_file;	/* read into cluster_secret */
	const char	*stats_token_file;	/* read into stats_token */
};

/* One chat message queued to a connection, until written. */
struct mq_ent {
	struct mq_ent	*next;
	struct msg	*m;
	uint64_t	 start, end;	/* output stream offsets */
	int		 skip;		/* not sent: its own room message */
};

/* A connection's chat messages in flight, oldest first: a ring. */
struct mq {
	struct mq_ent	*tail;		/* tail->next is the head */
};

enum client_state {
	CLIENT_HANDSHAKE,	/* reading the HTTP request */
	CLIENT_REPLY,		/* writing an HTTP answer (101 or error) */
	CLIENT_CHAT,		/* WebSocket, chat endpoint */
	CLIENT_ECHO,		/* WebSocket, echo endpoint */
	CLIENT_CLOSING,		/* close queued; waiting for flush or peer */
	CLIENT_LINGER		/* HTTP error sent; draining until EOF */
};

/* What ip holds (a field of 2 bits). */
enum client_addr {
	CLIENT_ADDR_NONE,
	CLIENT_ADDR_V4,		/* ip */
	CLIENT_ADDR_V6		/* 16 bytes after the ws_conn */
};

struct client_hs;
struct client_rare;

/*
 * One connection.  Kept small: an idle chat connection is one malloc
 * chunk, this (96 bytes) with its ws_conn (common/ws.c, 56) inside at
 * ws_mem, 152 bytes in a 160-byte chunk, and its user's struct user
 * (users.h: 99 bytes with an 11-character id and the router's part
 * inside, a 112 chunk); presence adds nothing for a user only online
 * here.  bench/README.md, "Memory per idle connection", has the budget,
 * the breakdown and how it is measured.  The _Static_assert below and
 * its siblings at those structures keep them there.
 *
 * ip holds an IPv4 peer's address; an IPv6 peer's 16 bytes end the
 * chunk, after the ws_conn (a 192-byte chunk for such a peer).
 *
 * Nothing here points at what is found another way: the server is
 * server-client.c's one client_srv; the clients are found by their
 * descriptor (struct server's byfd, a pointer per descriptor: no list
 * runs through them); the router's and the ws_conn's callbacks get the
 * rconn or the ws_conn and find the client around it (offsetof); the
 * in-flight queue is a ring held by its tail; state,
 * the address's kind and the armed events are bit-fields.
 *
 * Allocated lazily, freed as soon as unused:
 * - the handshake state (struct client_hs, server-client.c, its pointer
 *   in ws_mem until the upgrade: client_hs()): the transport, the
 *   request bytes, the HTTP answer and the parsed query, from accept to
 *   the upgrade (or, the transport alone, to the end of lingering after
 *   an HTTP answer); the ws_conn holds the transport from then on.  Freed
 *   states are kept for the next accepts (up to 64), so that a connect
 *   burst does not leave them as holes between long-lived chunks;
 * - the ws_conn's parser and wslay context (about 13 KB) only while a
 *   frame is arriving, its output buffer (with its offsets at its
 *   head) only while bytes are pending (common/ws.c); its callbacks
 *   and limits are the server's ws_shared;
 * - rare (struct client_rare, server-client.c): what only some
 *   connections need: presence's part (made at the first "watch"), a
 *   token's rooms claim (made at the upgrade if the token limits
 *   rooms), the decayed count of refusals (made at the first one: a
 *   client going over --rate or the query budget), and the user id kept
 *   for logs after leaving the router (made then);
 * - rc.skip: own room messages in flight; rare->pc.watch: watched
 *   users; an mq_ent per chat message queued and not yet written;
 * - the user's struct puser (presence.c) only while it is watched or
 *   online on another node; its struct box (the memory inbox's
 *   counters) once its numbering has given out a seq or it holds
 *   messages (inbox-local.c).
 * Times are uint32_t monotonic milliseconds, compared by wrapping
 * difference: every timeout is at most a day (options.c).
 */
struct client {
	struct rconn	 rc;			/* the router's part */
	struct client_rare *rare;		/* NULL: none of it */
	struct mq	 inflight;		/* chat messages not yet written */

	/*
	 * A deadline runs only before the upgrade and after the close
	 * began, a token's expiry matters only between the two.
	 */
	union {
		uint32_t deadline;		/* handshake, linger or close */
		uint32_t token_exp;		/* chat: seconds since epoch,
						   0: none */
	};
	uint32_t	 last_rx;		/* last byte received */
	uint32_t	 last_tx_progress;	/* last time output moved */
	/* Token buckets, refilled up to last_rx (client_heard()). */
	float		 rl_tokens;		/* --rate */
	float		 q_tokens;		/* who/watch/resume budget */

	uint32_t	 id;			/* serial number for logs */
	uint8_t		 ip[4];			/* IPv4 peer address, for logs
						   (IPv6: after the ws_conn) */
	uint16_t	 port;
	unsigned int	 state:3;		/* enum client_state */
	unsigned int	 addr:2;		/* enum client_addr */
	unsigned int	 armed:3;		/* events registered: POLLIN,
						   POLLOUT */
	unsigned int	 dead:1;		/* reap after this pass */
	unsigned int	 touched:1;		/* on the server's touch list */
	unsigned int	 cut:1;			/* cut off as a slow reader */
	unsigned int	 detaching:1;		/* leave the router after the
						   pass */
	unsigned int	 pinged:1;		/* a ping is outstanding */
	unsigned int	 ip_counted:1;		/* in the per-address table */
	unsigned int	 ip_over:1;		/* ...beyond --max-per-ip */
	unsigned int	 upgraded:1;		/* ws_mem is a ws_conn */
	/*
	 * The ws_conn (common/ws.c), ws_conn_size() bytes, in this chunk;
	 * then, for an IPv6 peer, its address.
	 */
	uint64_t	 ws_mem[];
};

#define CLIENT_SIZE	96
_Static_assert(CLIENT_LINGER < 8 && (POLLIN | POLLOUT) < 8,
    "struct client's state or armed bit-field is too narrow");
_Static_assert(sizeof(struct client) <= CLIENT_SIZE,
    "struct client grew: see \"Memory per idle connection\" in "
    "bench/README.md before raising CLIENT_SIZE");

/*
 * What the server counts for /metrics, besides the st_ counters of
 * struct server: refusals and cuts, by reason (struct server's count[]).
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

struct server {
	struct server_config cfg;
	struct users	*users;
	struct router	*router;
	struct presence	*presence;
	struct nats_link *link;			/* --cluster, or NULL */
	struct cluster	*cluster;		/* presence over link */
	struct client	**byfd;			/* linked clients by their
						   descriptor (server-client.c) */
	size_t		 nbyfd, capbyfd;	/* slots set, allocated */
	size_t		 nclients;

	/* The loop (server-loop.c). */
	struct poller	*poller;
	struct listener	 lst[SERVER_MAX_LISTENERS];
	int		 nlst;
	short		 lev;			/* listeners' armed events */
	int		 wakefd;		/* the NATS link's, or -1 */
	struct tp_tls	*tls;			/* for wss:, NULL without */
	struct ws_shared ws_shared;		/* every connection's */
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
	/* By reason; count_at: when last added to (monotonic ms, 0: never). */
	uint64_t	 count[CC_N], count_at[CC_N];
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
 * Wait up to timeout_us microseconds (-1: no limit); fill s->ready.
 * Returns how many are ready, 0 on timeout, -1 with errno.
 */
int	server_wait(struct server *, long long timeout_us);

/* server-client.c */
struct sockaddr;
/*
 * Put c on the list handled before the next wait: flushed once, its
 * events re-armed, or reaped if dead.  Cheap and idempotent.
 */
void	client_touch(struct server *, struct client *);
/* Register c with the poller and s->byfd.  0 or -1. */
int	client_link(struct server *, struct client *);
/* Flush, re-arm or reap every touched client. */
void	clients_process_touched(struct server *);
/*
 * Call fn for every linked client.  fn may mark clients dead (they are
 * reaped after the pass) but must not free or link one.
 */
void	clients_each(struct server *, void (*fn)(struct client *));
/* Free every linked client and s->byfd (at exit). */
void	clients_free_all(struct server *);
/*
 * How the router and presence reach connections (deliver.h): a
 * connection that is closing, cut off or dead takes nothing more, and
 * leaves the router after the pass, never from inside a router call.
 */
extern const struct deliver_ops client_deliver_ops;
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
/* Free what the connections keep for reuse (at exit). */
void	client_cache_free(void);
/* Send a protocol message (ack, presence...): 0 or -1 (client cut). */
int	client_send_text(struct client *, const char *p, size_t len);
/* Bytes the client can still take before its output cap. */
size_t	client_room(const struct client *);
/* Start closing with code and reason; the client leaves after the pass. */
void	client_close(struct client *, uint16_t code, const char *reason);
/* Add one to a counter of s->count[]. */
void	client_count(struct server *, enum client_counter);


/* limits.c */
struct ipcount;
struct ipcount	*ipcount_new(void);
void	ipcount_free(struct ipcount *);
/* Count one more connection from af/ip (16 bytes); the new count. */
uint32_t ipcount_add(struct ipcount *, uint8_t af, const uint8_t *ip);
void	ipcount_del(struct ipcount *, uint8_t af, const uint8_t *ip);

#endif /* SERVER_H */
