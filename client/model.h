/*
 * Copyright (c) 2026 The chat authors.
 *
 * model: everything the TUI shows, as plain data.  Conversations are
 * views, as irssi's query windows or WeeChat's buffers: view 0 is the
 * status view, and each peer has one, made when we write to it or it
 * writes to us.  Each view keeps its history with its scrollback
 * position, whether it is online, and its activity (unread notices, or
 * unread messages for us) for the status bar.  Also here: the input
 * line (input.c), the ids known for completion, the status fields, and
 * the parsing of "/" commands (shared with line mode).  A room is a
 * view too, named "#" and the room's name (user ids hold no '#').
 * Pure: no
 * curses, no sockets, no clocks except localtime_r() for the HH:MM
 * stamp of an entry.
 */
#ifndef MODEL_H
#define MODEL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <wchar.h>

#include "codec.h"
#include "input.h"

#define MODEL_MAX_LINES		5000	/* entries kept in each view */
#define MODEL_MAX_TEXT		16384	/* characters shown of one entry */
#define MODEL_MAX_VIEWS		64	/* the status view and 63 peers */
#define MODEL_MAX_USERS		1024	/* ids kept for completion */
#define MODEL_MAX_URL		300
/* A view's name: a user id, or "#" and a room's name. */
#define MODEL_MAX_NAME		(CODEC_MAX_ROOM + 1)

enum model_kind {
	MODEL_IN = 1,		/* a message from someone else */
	MODEL_OWN,		/* a message we sent */
	MODEL_SYS,		/* presence, who, help, connection news */
	MODEL_ERR		/* errors */
};

enum model_state {
	MODEL_NONE = 0,		/* not a sent message */
	MODEL_PENDING,		/* waiting for the server's ack */
	MODEL_DELIVERED,
	MODEL_QUEUED,		/* target offline: the server keeps it */
	MODEL_FAILED,
	MODEL_ELSEWHERE		/* sent from another of our devices */
};

enum model_conn {
	MODEL_CONNECTING = 0,
	MODEL_CONNECTED,
	MODEL_RECONNECTING	/* waiting model.retry_in seconds */
};

/* Unread entries in a view that is not shown, in rising order. */
enum model_act {
	MODEL_ACT_NONE = 0,
	MODEL_ACT_NOTICE,	/* notices, our own messages from elsewhere */
	MODEL_ACT_MSG		/* a message from the peer: for us */
};

/*
 * One history entry.  w holds the line as displayed: "HH:MM ", then
 * the sender ("8888: ", "8888 -> 6666: " or "-!- "), the text, then a
 * state suffix for sent messages.  tend, fend and xend are the ends
 * of the stamp, sender and text segments in w, so the UI can colour
 * them; rows after the first are indented to fend.  The text is made
 * safe by text.c: no control character but '\n', which starts a
 * marked continuation row.
 */
struct model_entry {
	uint64_t	 seq;
	enum model_kind	 kind;
	enum model_state state;
	time_t		 when;
	wchar_t		*w;
	size_t		 wlen;
	size_t		 tend, fend, xend;
};

struct model_view {
	char		 name[MODEL_MAX_NAME + 1];	/* "" for status */
	struct model_entry *lines;	/* ring once count == MODEL_MAX_LINES */
	size_t		 first, count, cap;
	size_t		 scroll;	/* rows above the bottom */
	size_t		 unread;	/* entries added while scrolled up */
	enum model_act	 act;
	uint64_t	 act_at;	/* when act last rose (model.tick) */
	int		 online;	/* -1 unknown, 0, 1 */
	int		 told;		/* the presence last shown, -1 */
};

struct model {
	struct model_view *views[MODEL_MAX_VIEWS];
	size_t		 nviews, cur;
	uint64_t	 next_seq, tick;

	/* The pane's size, set by the UI before each draw. */
	int		 pane_w, pane_h;

	struct input	 in;
	int		 input_full;	/* said that the line is full */

	char		 user[CODEC_MAX_USER + 1];
	char		 last_from[CODEC_MAX_USER + 1];	/* for /r, "" */
	char		 (*users)[CODEC_MAX_USER + 1];	/* known ids, sorted */
	size_t		 nusers;

	enum model_conn	 conn;
	unsigned	 retry_in;	/* seconds, when RECONNECTING */
	char		 why[80];	/* after the countdown, "" if none */
	char		 url[MODEL_MAX_URL];
	size_t		 npending;	/* messages waiting for an ack */
	int		 insecure;	/* wss:// without certificate checks */
	char		 ask[256];	/* a question on the input line, "" */

	int		 ascii;		/* the locale shows ASCII only */
	int		 quiet;		/* no activity or bell (history) */
	int		 bell;		/* ring at the next draw */
	int		 dirty;		/* needs a redraw */
};

/* Fill m with the status view only.  Returns 0 or -1 (no memory). */
int	model_init(struct model *m, const char *user, const char *url);
void	model_release(struct model *m);

/* The current view. */
struct model_view *model_cur(struct model *m);

/*
 * The view of peer name, made (at the end) when create is set and there
 * is room: returns its index, or -1 when there is none.
 */
int	model_view(struct model *m, const char *name, int create);

/* Show view i (its activity is read); out of range: nothing. */
void	model_switch(struct model *m, size_t i);
/* The next (+1) or previous (-1) view, round. */
void	model_switch_rel(struct model *m, int dir);
/*
 * The view with the most urgent activity, the latest first: -1 when no
 * view has any.
 */
int	model_next_active(const struct model *m);
/* Close the current view (not the status view); returns 0 or -1. */
int	model_close(struct model *m);

/*
 * Append an entry to view v.  text is UTF-8 of len bytes (see text.h
 * for what it becomes); from is the sender (MODEL_IN, MODEL_OWN), to
 * the target (MODEL_OWN, may be NULL).  The oldest entry goes when the
 * view is full.  A view not shown gets activity, and a message from
 * someone else rings the bell when its view is not shown or scrolled
 * back (unless quiet).  Returns the entry's seq (> 0, unique across
 * views), or 0 when out of memory.
 */
uint64_t model_add(struct model *m, size_t v, enum model_kind kind,
	    time_t when, const char *from, const char *to, const char *text,
	    size_t len);

/* A system or error line in view v, printf-style; returns its seq or 0. */
uint64_t model_sys_to(struct model *m, size_t v, enum model_kind kind,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* The same in the current view. */
uint64_t model_sys(struct model *m, enum model_kind kind, const char *fmt,
	    ...) __attribute__((format(printf, 3, 4)));

/* The entry with sequence seq in any view, or NULL if it is gone. */
struct model_entry *model_find(struct model *m, uint64_t seq);

/* Entry i of view v, 0 being the oldest kept; NULL past the end. */
const struct model_entry *model_entry_at(const struct model_view *v,
	    size_t i);

/*
 * Set the state of sent message seq; reason (UTF-8, may be NULL) is
 * shown after MODEL_FAILED.  Returns 0, or -1 if seq is gone.
 */
int	model_set_state(struct model *m, uint64_t seq, enum model_state st,
	    const char *reason);

/*
 * Layout of an entry at width: text_row() with the hanging indent
 * under the text (after the sender).  model_row returns where the next
 * row starts; model_rows counts them (at least 1).
 */
struct text_row;
size_t	model_row(const struct model_entry *e, int width, size_t pos,
	    struct text_row *r);
size_t	model_rows(const struct model_entry *e, int width);

/*
 * Scrollback of the current view for the pane (model.pane_w and
 * pane_h): model_scroll(m, +n) goes n rows back in time, stopping when
 * the oldest row is at the top (while scrolled back, the pane's last
 * row is a marker, so one row fewer holds entries); -n goes forward,
 * stopping at the bottom, where the unread count is cleared.
 */
void	model_scroll(struct model *m, long n);

/* Peer name's presence (online 1 or 0; -1 for every view: unknown). */
void	model_set_online(struct model *m, const char *name, int online);

/* Remember a user id for completion. */
void	model_user_seen(struct model *m, const char *id);

/* The name of room's view ("#" and room) into buf[MODEL_MAX_NAME + 1]. */
void	model_room_view_name(char *buf, const char *room);
/* The room of a view's name, or NULL if it is a user's. */
const char *model_view_room(const char *name);

/* Commands typed on the input line or read in line mode. */
enum model_cmd_type {
	MODEL_CMD_TEXT = 0,	/* a message: text, textlen */
	MODEL_CMD_EMPTY,	/* nothing to do (blank) */
	MODEL_CMD_TO,		/* /to ID, /query ID: arg */
	MODEL_CMD_MSG,		/* /msg ID TEXT: arg, text */
	MODEL_CMD_REPLY,	/* /r [TEXT]: text may be empty */
	MODEL_CMD_WINDOW,	/* /w N: num */
	MODEL_CMD_CLOSE,
	MODEL_CMD_WHO,
	MODEL_CMD_HELP,
	MODEL_CMD_QUIT,
	MODEL_CMD_JOIN,		/* /join ROOM: arg */
	MODEL_CMD_PART,		/* /part [ROOM]: arg, "" for this room */
	MODEL_CMD_NAMES,	/* /names: this room's members */
	MODEL_CMD_ROOMS,	/* /rooms: ours */
	MODEL_CMD_BAD		/* error says why */
};

struct model_cmd {
	enum model_cmd_type type;
	const char	*text;		/* points into line */
	size_t		 textlen;
	char		 arg[MODEL_MAX_NAME + 1];	/* an id or a room */
	int		 num;
	char		 error[96];
};

/*
 * Parse a line (without its newline).  "/to ID", "/msg ID TEXT", "/r",
 * "/w N", "/close", "/who", "/join ROOM", "/part [ROOM]", "/names",
 * "/rooms", "/help", "/quit" are commands; "//x" sends "/x"; a line of
 * white space only is empty; anything else is a message.  A room may
 * be written with one '#' in front, which is not part of its name.
 */
void	model_parse_cmd(const char *line, size_t len, struct model_cmd *cmd);

/* Command names for completion, sorted, and their number. */
extern const char *const model_commands[];
extern const size_t model_ncommands;

/* The /help text, NULL-terminated. */
extern const char *const model_help[];

#endif /* MODEL_H */
