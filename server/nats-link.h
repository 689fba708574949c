/*
 * Copyright (c) 2026 The chat authors.
 *
 * nats-link: this node's connection to NATS (--cluster), for the
 * JetStream inbox (inbox-js.c) and presence among nodes (cluster.c).
 * It owns the NATS connection, driven by the server's loop (nats.c's
 * external event loop: the loop reads and writes the NATS socket, and
 * subscriptions are synchronous ones it drains after each read), the
 * requests in flight with their deadlines, and the cluster secret:
 * what this node publishes carries an HMAC (header Chat-Mac) over its
 * subject, its Chat-* headers and its payload, and what a subscription
 * receives without a valid one is dropped and counted.  The loop never
 * waits on NATS: a request is published with a reply subject
 * (_INBOX.<random>.<token>) and its answer, or its deadline, comes back
 * through the loop.  Callbacks run on the loop thread only, from
 * nats_link_process() and nats_link_tick(); a NATS message given to one
 * is lent for the call.  nats.c's own threads (its timers, reconnection
 * and connection callbacks) only queue what they have for the loop.
 */
#ifndef NATS_LINK_H
#define NATS_LINK_H

#include <stddef.h>
#include <stdint.h>

#include <nats/nats.h>

struct nats_link;

/* An answer to a request: m, or NULL (deadline passed, or NATS went). */
typedef void (*nats_answer_cb)(void *arg, void *tag, natsMsg *m);
/* A message on a subscribed subject. */
typedef void (*nats_msg_cb)(void *arg, natsMsg *m);
/* The link came up (1) or went down (0). */
typedef void (*nats_state_cb)(void *arg, int up);

/* One header of a message to publish. */
struct nats_hdr {
	const char	*key;
	const char	*value;
};

/* How to reach NATS and whom to trust. */
struct nats_link_config {
	const char	*urls;		/* comma-separated nats:// URLs */
	const char	*creds;		/* NATS credentials file, or NULL */
	const char	*ca;		/* CA certificates: TLS to NATS */
	const char	*cert, *key;	/* client certificate and its key */
	const uint8_t	*secret;	/* the cluster secret, or NULL */
	size_t		 secretlen;
};

/*
 * Join at cfg->urls.  The first attempt is made now: a server that
 * answers and refuses us (credentials, TLS) is a configuration error
 * (NULL, err says NATS' reason); none answering and the node runs alone
 * and keeps trying.  NULL with err[errlen] on a bad URL, an unreadable
 * file or no memory too.  cfg's strings are copied.
 */
struct nats_link *nats_link_new(const struct nats_link_config *cfg,
	    char *err, size_t errlen);
/* Write what is buffered (within 2 s), then close.  NULL is fine. */
void	nats_link_free(struct nats_link *);
/* Add a listener of up/down (several may listen; up is told at once). */
void	nats_link_on_state(struct nats_link *, nats_state_cb, void *arg);
/*
 * Poll this for POLLIN (an epoll descriptor holding the NATS socket and
 * a wake-up pipe); then call nats_link_process(), which reads, and
 * hands out what subscriptions and requests got.
 */
int	nats_link_wakefd(const struct nats_link *);
void	nats_link_process(struct nats_link *);
/*
 * Write what this pass published: once a pass, before the loop sleeps
 * (what does not fit in the socket goes when it can take more).
 */
void	nats_link_flush(struct nats_link *);
/* Request deadlines: every sweep. */
void	nats_link_tick(struct nats_link *, uint64_t now);
int	nats_link_up(const struct nats_link *);
/* "off" (no link), "down" or "ready" (up), for /stats and logs. */
const char *nats_link_state(const struct nats_link *);
/* This node's id (32 hex digits). */
const char *nats_link_node(const struct nats_link *);
/* The URLs as logged (credentials shown as ***). */
const char *nats_link_urls(const struct nats_link *);
/* NATS' largest message, or 0 if not known. */
int64_t	nats_link_max_payload(const struct nats_link *);

/*
 * Subscribe to subj: cb for each message (with --cluster-secret-file,
 * each one signed with the secret; the others are dropped and counted).
 * *sub for unsubscribing.  Subscriptions are drained after every read,
 * so keep them few: one per kind of message, not one per user.
 */
int	nats_link_subscribe(struct nats_link *, const char *subj,
	    nats_msg_cb cb, void *arg, natsSubscription **sub);
/* No callback for sub from now on (NULL is fine). */
void	nats_link_unsubscribe(natsSubscription *);
/*
 * Publish, with optional headers (nh of them), signed when there is a
 * secret.  0 or -1.
 */
int	nats_link_publish(struct nats_link *, const char *subj,
	    const void *data, size_t len, const struct nats_hdr *h, size_t nh);
/*
 * Publish as a request: cb(arg, tag, answer) follows exactly once, from
 * the loop, within NATS_REQ_TIMEOUT_MS (a NULL answer after that, or
 * when NATS goes).  0, or -1 if it could not even be sent (cb is not
 * called).
 */
#define NATS_REQ_TIMEOUT_MS	5000
int	nats_link_request(struct nats_link *, const char *subj,
	    const void *data, size_t len, const struct nats_hdr *h, size_t nh,
	    nats_answer_cb cb, void *arg, void *tag);
/* Requests in flight. */
size_t	nats_link_inflight(const struct nats_link *);
/* Answer every request in flight with NULL now (before its owner goes). */
void	nats_link_cancel_all(struct nats_link *);

/*
 * Is m, a message for subj (its subject, or for a stored message read
 * back, the subject it was stored on), signed with the cluster secret?
 * 1 if so or if there is no secret; 0 (counted, and logged once in a
 * while) if not.
 */
int	nats_link_verify(struct nats_link *, const char *subj, natsMsg *m);
/* Messages dropped so far for a bad or missing signature. */
uint64_t nats_link_forged(const struct nats_link *);

/* A status reply (no responders, not found...): its code, else 0. */
int	nats_msg_status(natsMsg *m);
/* A header's value as an unsigned number: 1 with *v, else 0. */
int	nats_msg_u64(natsMsg *m, const char *key, uint64_t *v);

#endif /* NATS_LINK_H */
