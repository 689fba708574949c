/*
 * Copyright (c) 2026 The chat authors.
 *
 * codec: the chat protocol's JSON messages (man/chat-protocol.7), both
 * directions, with jansson.  Pure: text in, struct out; struct in, text
 * out.  It checks shapes and types; routing limits (who may be
 * addressed, queue bounds) belong to the server.
 */
#ifndef CODEC_H
#define CODEC_H

#include <stddef.h>
#include <stdint.h>

#define CODEC_MAX_USER		64	/* bytes in a user id */
#define CODEC_MAX_IDJSON	128	/* bytes of a client "id", as JSON */
#define CODEC_MAX_WATCH		256	/* users in one watch list */
#define CODEC_MAX_DETAIL	200	/* bytes of an error detail */
#define CODEC_MAX_EPOCH		32	/* bytes of a store's epoch */
#define CODEC_MAX_ROOM		64	/* bytes in a room name */

/* Error codes carried in {"type":"error","error":CODE}. */
#define CODEC_E_BAD_JSON	"bad_json"	/* not a JSON object */
#define CODEC_E_BAD_MESSAGE	"bad_message"	/* missing or mistyped field */
#define CODEC_E_BAD_TARGET	"bad_target"	/* target id not valid */
#define CODEC_E_BAD_ID		"bad_id"	/* "id" not string/number, too long */
#define CODEC_E_BINARY		"binary_unsupported"
#define CODEC_E_UNKNOWN_TYPE	"unknown_type"
#define CODEC_E_QUEUE_FULL	"queue_full"
#define CODEC_E_TOO_MANY	"too_many_watches"
#define CODEC_E_RATE_LIMITED	"rate_limited"	/* over --rate */
#define CODEC_E_STORE		"store_unavailable" /* not made durable */
#define CODEC_E_CLUSTER		"cluster_unavailable" /* NATS unreachable */
#define CODEC_E_BAD_ROOM	"bad_room"	/* room name not valid */
#define CODEC_E_NOT_MEMBER	"not_a_member"	/* send or leave: not joined */
#define CODEC_E_FORBIDDEN	"forbidden"	/* the token's rooms claim */
#define CODEC_E_ROOM_FULL	"room_full"	/* --room-members */
#define CODEC_E_TOO_MANY_ROOMS	"too_many_rooms" /* --user-rooms */

/* Nonzero if p[0..len) is a valid user id: 1-64 of [A-Za-z0-9._-]. */
int	codec_valid_user(const char *p, size_t len);
/*
 * Nonzero if p[0..len) is a valid room name: 1-64 bytes of UTF-8 with
 * no control, format or space character (Unicode categories Cc, Cf,
 * Zs, Zl, Zp), as libutf8proc classifies them.
 */
int	codec_valid_room(const char *p, size_t len);

/* ---- client to server ---- */

enum codec_req_type {
	CODEC_REQ_CHAT = 1,	/* {"message", "target_user" or
				   "target_room", ["id"]} */
	CODEC_REQ_WHO,		/* {"type":"who"} */
	CODEC_REQ_WATCH,	/* {"type":"watch","users":[...]} */
	CODEC_REQ_RESUME,	/* {"type":"resume","since":N} */
	CODEC_REQ_JOIN,		/* {"type":"join","room":R} */
	CODEC_REQ_LEAVE,	/* {"type":"leave","room":R} */
	CODEC_REQ_ROOMS,	/* {"type":"rooms"} */
	CODEC_REQ_MEMBERS	/* {"type":"members","room":R} */
};

struct codec_req {
	enum codec_req_type type;
	const char	*message;	/* CHAT: UTF-8, not NUL-terminated:
					   use len; points into the input
					   or into priv */
	size_t		 message_len;
	char		 target[CODEC_MAX_USER + 1];	/* CHAT to a user,
							   else "" */
	char		 room[CODEC_MAX_ROOM + 1];	/* CHAT to a room,
							   JOIN, LEAVE,
							   MEMBERS; else "" */
	char		 id[CODEC_MAX_IDJSON + 1];	/* "id" as compact
							   JSON, "" if none */
	size_t		 nusers;			/* WATCH */
	char		(*users)[CODEC_MAX_USER + 1];	/* WATCH */
	uint64_t	 since;				/* RESUME */
	char		 epoch[CODEC_MAX_EPOCH + 1];	/* RESUME, "" */
	void		*priv;		/* owns message and users */
};

/*
 * Parse one client text message.  Returns 0 with *req filled (release
 * it with codec_req_release; req->message may point into p, so keep p
 * until then), or -1 with *req released and err pointing
 * at a CODEC_E_* code and detail[CODEC_MAX_DETAIL + 1] holding a
 * sentence for the user.  Even on error, req->id holds the client's
 * "id" when one could be read, so the error can carry it.
 */
int	codec_parse_req(const char *p, size_t len, struct codec_req *req,
	    const char **err, char *detail);

/*
 * Turn the chat fast path off (0) or on (1, the default): with it off,
 * jansson parses every request.  For tests and benchmarks that compare
 * the two paths; process-wide.
 */
void	codec_set_fast_path(int on);

/* Free what codec_parse_req allocated.  Safe to call twice. */
void	codec_req_release(struct codec_req *req);

/*
 * Builders.  Each returns a malloc'd, NUL-terminated compact JSON text
 * and stores its length in *lenp, or returns NULL when out of memory.
 * The caller frees.  Strings must be valid UTF-8; id is compact JSON
 * text as stored in struct codec_req ("" or NULL: no "id" member).
 */
/* seq 0: no "seq" member (the seed's shape). */
char	*codec_chat(const char *from, const char *msg, size_t msglen,
	    uint64_t ts_ms, uint64_t seq, size_t *lenp);
/*
 * The chat event written into buf[buflen] (NUL-terminated) without an
 * allocation; from and msg must be valid UTF-8.  Returns the length it
 * needs (without the NUL): if that is >= buflen, or buf is NULL,
 * nothing was written.
 */
size_t	 codec_chat_into(char *buf, size_t buflen, const char *from,
	    const char *msg, size_t msglen, uint64_t ts_ms, uint64_t seq);
/*
 * The same for a message to a room (room NULL: codec_chat_into()):
 * {"message","from_user","room","ts"[,"seq"]}.
 */
size_t	 codec_room_chat_into(char *buf, size_t buflen, const char *from,
	    const char *room, const char *msg, size_t msglen, uint64_t ts_ms,
	    uint64_t seq);
char	*codec_ack(const char *id, const char *status, size_t *lenp);
/*
 * The ack of a room message: with "seq":seq (0: none), its seq in the
 * sender's own inbox when the sending connection skipped it, and
 * "missed":missed (0: none), the members whose inbox refused it.
 */
char	*codec_ack_room(const char *id, const char *status, uint64_t seq,
	    uint64_t missed, size_t *lenp);
char	*codec_error(const char *code, const char *detail, const char *id,
	    size_t *lenp);
/* truncated: add "truncated":true (the list was cut to fit a limit). */
char	*codec_who(const char *const *users, size_t n, int truncated,
	    size_t *lenp);
char	*codec_presence(const char *user, int online, size_t *lenp);
/*
 * The answer to a resume: the replay starts after since; first is the
 * oldest seq still kept (0: none), last the newest (0: none yet); epoch
 * names the store's numbering; reset: the client's since belonged to
 * another numbering (its cursor must go back to since); sparse: seqs
 * increase but skip (a cluster), so first > since + 1 is no gap;
 * cursor: the client asked without since (only for the epoch), and
 * since is where the server's cursor stands.
 */
char	*codec_resumed(uint64_t since, uint64_t first, uint64_t last,
	    const char *epoch, int reset, int sparse, int cursor,
	    size_t *lenp);
/*
 * Retention took the messages between after and before (both
 * exclusive) before this connection was sent them:
 * {"type":"expired","after":A,"before":B}.
 */
char	*codec_expired(uint64_t after, uint64_t before, size_t *lenp);

/*
 * A copy of a chat message the user sent from another connection, for
 * the user's other connections: {"type":"sent","message","target_user",
 * "ts"}.  msg and target must be valid UTF-8.
 */
char	*codec_sent(const char *target, const char *msg, size_t msglen,
	    uint64_t ts_ms, size_t *lenp);

/*
 * Rooms.  {"type":"joined","room","members":[...]} (the answer to a
 * join) and {"type":"members","room","members":[...]}, with
 * "truncated":true when the list was cut to fit a limit;
 * {"type":"left","room"}; {"type":"member","room","user","event":
 * "join" or "leave"}; {"type":"rooms","rooms":[{"room","members"}...]}.
 */
char	*codec_joined(const char *room, const char *const *users, size_t n,
	    int truncated, size_t *lenp);
char	*codec_members(const char *room, const char *const *users, size_t n,
	    int truncated, size_t *lenp);
char	*codec_left(const char *room, size_t *lenp);
char	*codec_member(const char *room, const char *user, int joined,
	    size_t *lenp);
char	*codec_rooms(const char *const *rooms, const size_t *members,
	    size_t n, size_t *lenp);

/* Client side: requests. */
char	*codec_req_chat(const char *target, const char *msg, size_t msglen,
	    const char *id, size_t *lenp);
char	*codec_req_room_chat(const char *room, const char *msg, size_t msglen,
	    const char *id, size_t *lenp);
/* type "join", "leave" or "members" with room; "rooms" with room NULL. */
char	*codec_req_room(const char *type, const char *room, size_t *lenp);
char	*codec_req_who(size_t *lenp);
char	*codec_req_watch(const char *const *users, size_t n, size_t *lenp);
/* epoch NULL or "": none. */
char	*codec_req_resume(uint64_t since, const char *epoch, size_t *lenp);

/* ---- server to client ---- */

enum codec_ev_type {
	CODEC_EV_CHAT = 1,	/* {"message","from_user","ts","seq"} */
	CODEC_EV_ACK,		/* {"type":"ack","id","status"} */
	CODEC_EV_ERROR,		/* {"type":"error","error","detail",["id"]} */
	CODEC_EV_WHO,		/* {"type":"who","users"} */
	CODEC_EV_PRESENCE,	/* {"type":"presence","user","online"} */
	CODEC_EV_RESUMED,	/* {"type":"resumed","since","first","last",
				   "epoch",["reset"],["sparse"],["cursor"]} */
	CODEC_EV_SENT,		/* {"type":"sent","message","target_user",
				   "ts"}: sent from another connection */
	CODEC_EV_EXPIRED,	/* {"type":"expired","after","before"} */
	CODEC_EV_JOINED,	/* {"type":"joined","room","members"} */
	CODEC_EV_LEFT,		/* {"type":"left","room"} */
	CODEC_EV_MEMBER,	/* {"type":"member","room","user","event"} */
	CODEC_EV_MEMBERS,	/* {"type":"members","room","members"} */
	CODEC_EV_ROOMS,		/* {"type":"rooms","rooms":[...]} */
	CODEC_EV_OTHER		/* a type this version does not know */
};

/* One entry of a "rooms" answer. */
struct codec_room_info {
	char		 room[CODEC_MAX_ROOM + 1];
	uint64_t	 members;
};

struct codec_ev {
	enum codec_ev_type type;
	const char	*message;	/* CHAT, SENT */
	size_t		 message_len;
	char		 from[CODEC_MAX_USER + 1];	/* CHAT */
	char		 target[CODEC_MAX_USER + 1];	/* SENT */
	uint64_t	 ts;			/* CHAT, SENT; 0 if absent */
	uint64_t	 seq;				/* CHAT, ACK; 0 if
							   absent */
	char		 room[CODEC_MAX_ROOM + 1];	/* CHAT ("" if to
							   us), rooms */
	int		 joined;			/* MEMBER: 1 join,
							   0 leave */
	int		 truncated;			/* JOINED, MEMBERS */
	uint64_t	 missed;			/* ACK, 0 if absent */
	size_t		 nrooms;			/* ROOMS */
	struct codec_room_info *rooms;			/* ROOMS */
	uint64_t	 since, first, last;		/* RESUMED */
	uint64_t	 after, before;			/* EXPIRED */
	char		 epoch[CODEC_MAX_EPOCH + 1];	/* RESUMED, "" */
	int		 reset;				/* RESUMED */
	int		 sparse;			/* RESUMED */
	int		 cursor;			/* RESUMED */
	char		 id[CODEC_MAX_IDJSON + 1];	/* ACK, ERROR */
	char		 status[16];			/* ACK */
	char		 error[32];			/* ERROR */
	char		 detail[CODEC_MAX_DETAIL + 1];	/* ERROR */
	char		 user[CODEC_MAX_USER + 1];	/* PRESENCE, MEMBER */
	int		 online;			/* PRESENCE */
	size_t		 nusers;			/* WHO, JOINED,
							   MEMBERS */
	char		(*users)[CODEC_MAX_USER + 1];	/* the same */
	void		*priv;
};

/*
 * Parse one server text message.  Returns 0 (release with
 * codec_ev_release) or -1 with detail[CODEC_MAX_DETAIL + 1] saying why.
 * Unknown members are ignored, unknown types give CODEC_EV_OTHER.
 */
int	codec_parse_ev(const char *p, size_t len, struct codec_ev *ev,
	    char *detail);
void	codec_ev_release(struct codec_ev *ev);

#endif /* CODEC_H */
