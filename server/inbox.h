/*
 * Copyright (c) 2026 The chat authors.
 *
 * inbox: every user's inbox, numbered, behind one interface with three
 * backings: memory (inbox-mem.c, lost on restart), SQLite (inbox-
 * sqlite.c, a file) and JetStream (inbox-js.c, shared by the nodes of a
 * cluster).  The first two share their rules (inbox-local.c); the third
 * keeps them with NATS.  The router knows only this interface.
 *
 * The guarantee, which chat-protocol(7) states for clients: a message
 * whose append succeeds (the sender is told delivered or queued) is
 * kept until some connection of its user has written it to its socket
 * (the cursor passes it), and after that until an explicit policy
 * (count, age, bytes) drops it.  Beyond the bounds, new messages are
 * refused (INBOX_FULL), never old undelivered ones dropped.  A seq is
 * never reused under one epoch.  A message carries the seq of the one
 * before it in the same inbox (prev), so a reader sees what retention
 * took: everything between its last seq and prev.
 *
 * Calls come from the loop thread.  An operation either answers at once
 * or says INBOX_PENDING and answers once through the events given at
 * open, with the caller's tag, which stays the caller's to keep alive
 * until then.
 */
#ifndef INBOX_H
#define INBOX_H

#include <stddef.h>
#include <stdint.h>

struct hist;
struct msg;
struct presence;
struct user;
struct users;
struct inbox;
struct nats_link;

enum inbox_status {
	INBOX_OK = 0,
	INBOX_PENDING,		/* the answer comes through the events */
	INBOX_FULL,		/* a bound of the target or sender: queue_full */
	INBOX_UNAVAILABLE,	/* the backing failed: store_unavailable */
	INBOX_CLUSTER,		/* NATS unreachable: cluster_unavailable */
	INBOX_NOMEM
};

struct inbox_config {
	const char	*path;		/* SQLite file; NULL: memory */
	int		 sync_full;	/* synchronous=FULL, else NORMAL */
	/*
	 * SQLite: commits start at least this far apart, the appends
	 * between waiting for the next (see inbox-local.c); 0: every
	 * inbox_commit() commits.
	 */
	uint64_t	 commit_delay_us;
	size_t		 history_limit;	/* messages kept per user */
	double		 history_days;	/* age of delivered ones; 0: any */
	size_t		 history_bytes;	/* bytes kept, all users */
	size_t		 queue_limit;	/* undelivered per target */
	size_t		 target_bytes;	/* undelivered bytes per target */
	size_t		 sender_limit;	/* undelivered per sender */
	size_t		 sender_bytes;	/* undelivered bytes per sender */
	size_t		 max_message;	/* largest chat event (JetStream) */
	int		 replicas;	/* JetStream streams' replicas */
	/*
	 * SQLite: commits between two drop rounds (see inbox-local.c);
	 * 0: the default.  Tests set 1 to hold the file to the memory
	 * store's byte counts.
	 */
	unsigned	 drop_every;
	/* JetStream: who is online on which node (set by the router). */
	struct presence	*presence;
};

/* Where a user's inbox stands. */
struct inbox_info {
	uint64_t	 first;		/* oldest kept, 0: none */
	uint64_t	 last;		/* newest */
	uint64_t	 cursor;	/* newest written to a socket */
	int		 sparse;	/* seqs grow but skip numbers */
	char		 epoch[17];	/* names the numbering: 16 hex */
};

/* What the backing tells its user (the router). */
struct inbox_events {
	void	*arg;
	/*
	 * An append answered later: m has its seq and prev (INBOX_OK), or
	 * the reason it was refused (m NULL).  m is lent for the call.
	 */
	void	(*appended)(void *arg, void *tag, enum inbox_status,
		    struct msg *m);
	/*
	 * A read answered later: n messages lent for the call, oldest
	 * first.  One with no text stands for a seq with nothing to
	 * deliver (not a chat message): the reader moves past it.
	 */
	void	(*read)(void *arg, void *tag, enum inbox_status,
		    struct msg **v, size_t n);
	/* An info answered later. */
	void	(*info)(void *arg, void *tag, enum inbox_status,
		    const struct inbox_info *);
	/* Another node appended m to u's inbox (JetStream only). */
	void	(*arrived)(void *arg, struct user *u, struct msg *m);
	/* The backing became usable (1) or not (0); reads may be stale. */
	void	(*ready)(void *arg, int ready);
};

/* Counters for /stats and /metrics. */
struct inbox_stats {
	const char	*kind;		/* "memory", "sqlite", "jetstream" */
	int		 ok;		/* writes work */
	uint64_t	 messages;	/* kept, where known */
	uint64_t	 bytes;		/* counted against --history-bytes */
	uint64_t	 refused_full;	/* appends refused: a bound */
	uint64_t	 commits, commit_us; /* group commits and their time */
	uint64_t	 purges;	/* delivered messages purged (cluster): */
	uint64_t	 purges_full;	/* ...of them when an inbox was full, */
	uint64_t	 purged;	/* ...and stored messages they took */
	/* Commits (local) or JetStream's answers to a store (cluster). */
	const struct hist *latency;
};

struct inbox_ops {
	const char *kind;
	void	(*close)(struct inbox *);
	enum inbox_status (*append)(struct inbox *, struct user *to,
		    struct user *from, struct msg *m, int live, void *tag);
	void	(*commit)(struct inbox *);
	enum inbox_status (*read)(struct inbox *, struct user *,
		    uint64_t after, size_t max, size_t bytes, struct msg **out,
		    size_t *n, void *tag);
	enum inbox_status (*info)(struct inbox *, struct user *,
		    struct inbox_info *out, void *tag);
	void	(*cursor)(struct inbox *, struct user *, uint64_t seq);
	void	(*hold)(struct inbox *, struct user *, int on);
	void	(*tick)(struct inbox *, uint64_t now_ms);
	void	(*stats)(const struct inbox *, struct inbox_stats *);
	size_t	(*msg_hdr)(const struct inbox *);
	void	(*flush)(struct inbox *);
	/* When a commit put off must be made (see inbox_due()); NULL: never. */
	uint64_t (*due)(const struct inbox *);
};

/* Every backing's struct inbox starts with this. */
struct inbox_base {
	const struct inbox_ops	*ops;
	struct users		*users;
	struct inbox_events	 ev;
};

/*
 * Open the backing cfg asks for (memory, or SQLite at cfg->path), or
 * JetStream over link when link is not NULL.  NULL with err[errlen]
 * saying why (the file named).
 */
struct inbox	*inbox_open(const struct inbox_config *, struct users *,
		    struct nats_link *link, const struct inbox_events *,
		    char *err, size_t errlen);
/* Commit what is open, then close.  NULL is fine. */
void	inbox_close(struct inbox *);

/*
 * Append m (the chat event without seq, with MSG_SEQ_ROOM to spare) from
 * sender to to's inbox.  live: it goes to a connection at once, so it
 * does not count against the undelivered bounds.  INBOX_PENDING (the
 * answer comes through appended(tag), after the pass's commit at the
 * earliest), or why it was refused now.  The inbox takes its own
 * reference on m.
 */
enum inbox_status inbox_append(struct inbox *, struct user *to,
	    struct user *from, struct msg *m, int live, void *tag);
/*
 * The pass's group commit: durable, then the appends are answered.  A
 * file's commit may be put off (commit_delay_us): inbox_due() says
 * until when.
 */
void	inbox_commit(struct inbox *);
/*
 * The monotonic time in us by which inbox_commit() must be called
 * again for a commit it put off, or 0: none is waiting.
 */
uint64_t inbox_due(const struct inbox *);
/*
 * The pass is over (sockets written): say what must not wait for the
 * next one (JetStream: the cursors, for other nodes to see).
 */
void	inbox_flush(struct inbox *);
/*
 * u's messages with seq > after, oldest first, at most max of them and
 * (beyond the first) bytes bytes: INBOX_OK with *n of them referenced
 * into out (none: nothing more), INBOX_PENDING (read(tag) follows), or
 * a failure.
 */
enum inbox_status inbox_read(struct inbox *, struct user *, uint64_t after,
	    size_t max, size_t bytes, struct msg **out, size_t *n, void *tag);
/* Where u's inbox stands: INBOX_OK with *out, INBOX_PENDING, or failure. */
enum inbox_status inbox_info(struct inbox *, struct user *,
	    struct inbox_info *out, void *tag);
/* Some connection of u wrote everything up to seq to its socket. */
void	inbox_cursor(struct inbox *, struct user *, uint64_t seq);
/* u has connections here (on 1) or no more (0): keep its state. */
void	inbox_hold(struct inbox *, struct user *, int on);
/*
 * The room a message given to inbox_append() should have in front of it
 * (msg_alloc()'s hdr): the memory backing keeps its links there.
 */
size_t	inbox_msg_hdr(const struct inbox *);
/* Age retention and deadlines; call every sweep. */
void	inbox_tick(struct inbox *, uint64_t now_ms);
void	inbox_stats(const struct inbox *, struct inbox_stats *);
const char *inbox_status_str(enum inbox_status);
/*
 * The SQLite handle of an inbox kept in a file, or NULL: the file's
 * other tables (rooms-sqlite.c) use it, since the file is locked for
 * this one connection.  Between inbox_commit() and the next append or
 * cursor, no transaction of the inbox is open.
 */
struct sqlite3;
struct sqlite3	*inbox_sqlite(struct inbox *);

/* The backings' constructors (inbox.c picks one). */
struct inbox	*inbox_local_open(const struct inbox_config *, struct users *,
		    const struct inbox_events *, char *err, size_t errlen);
struct inbox	*inbox_js_open(const struct inbox_config *, struct users *,
		    struct nats_link *, const struct inbox_events *,
		    char *err, size_t errlen);

#endif /* INBOX_H */
