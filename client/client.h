/*
 * Copyright (c) 2026 The chat authors.
 *
 * client: what main.c shares with the two front ends, tui.c (the
 * curses session, drawn by ui.c) and batch.c (line mode).  main.c owns
 * the options and the poll loop; a front end turns input and server
 * events into actions on the connection and says when it is done.
 * The exit reason is kept as text and printed by main() only after the
 * terminal has been restored.  client.c also holds what both front ends
 * do with the resume state (state.c): dropping chat messages already
 * shown, logging what was shown or sent, writing the cursor.
 */
#ifndef CLIENT_H
#define CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "conn.h"
#include "dial.h"
#include "model.h"
#include "state.h"

#define CLIENT_DEFAULT_URL	"ws://127.0.0.1:8000"
#define CLIENT_DEFAULT_WAIT_MS	10000
#define CLIENT_MAX_LINE		65536	/* bytes of a line in line mode */
#define CLIENT_MAX_PASTE	(256 * 1024)	/* bytes of one paste */

/* Exit statuses (man/chat-client.1, EXIT STATUS). */
#define CLIENT_EXIT_OK		0
#define CLIENT_EXIT_FAIL	1
#define CLIENT_EXIT_USAGE	2

enum client_color {
	CLIENT_COLOR_AUTO = 0,	/* unless NO_COLOR is set */
	CLIENT_COLOR_ALWAYS,
	CLIENT_COLOR_NEVER
};

struct client_opts {
	const char	*user;
	char		 target[MODEL_MAX_NAME + 1];	/* "" if none, a user
							   or "#" and a room
							   (--room) */
	const char	*url_text;
	struct dial_url	 url;
	const char	*ca_file;	/* --ca-file, NULL for the system's */
	int		 insecure;	/* --insecure: no certificate check */
	int		 batch;		/* line mode */
	int		 json;
	int		 retry;		/* line mode: keep trying at start */
	int		 verbose;
	const char	*logpath;
	long long	 wait_ms;	/* line mode: acks after end of input */
	int		 wait_set;	/* --wait was given */
	const char	*token_file;	/* --token-file, read at each connect */
	const char	*token_env;	/* CHAT_TOKEN, if no --token-file */
	int		 no_resume;	/* --no-resume: no since, no state */
	enum client_color color;	/* --color */
	int		 bell;		/* ring for messages out of view */
	int		 listen;	/* line mode: stdin is not read */
	unsigned long	 count;		/* line mode: leave after N, 0 */
	long long	 timeout_ms;	/* line mode: deadline, 0 none */
	int		 no_compress;	/* --no-compress: no permessage-deflate */
};

struct client {
	struct client_opts	 o;
	struct tp_tls		*tls;		/* for wss://, else NULL */
	struct conn		*conn;

	int			 quit;		/* leave: close, then stop */
	int			 status;	/* exit status */
	char			 reason[512];	/* printed on stderr at exit */

	/* Line mode. */
	char			*lbuf;		/* a partial input line */
	size_t			 llen;
	int			 discard;	/* skipping an overlong line */
	unsigned long		 lineno;
	int			 eof;
	uint64_t		 eof_at;
	size_t			 who_pending;	/* who and room requests */
	size_t			 failed;
	int			 lost;		/* reported a loss */
	uint64_t		 started_at;	/* for --timeout */
	unsigned long		 received;	/* chat messages printed */
	char			 last_from[CODEC_MAX_USER + 1];	/* for /r */
	int			 room_joined;	/* --room: the join answered */

	/* TUI. */
	struct model		 model;
	int			 quit_warned;
	int			 sparse;	/* the server's seqs skip numbers */
	char			 shown_error[DIAL_ERRLEN];
	char			*line;		/* a line taken for sending */
	int			 esc;		/* ESC came: Meta for the next */
	int			 pasting;	/* inside a bracketed paste */
	char			*paste;		/* its text, UTF-8 */
	size_t			 pastelen;
	int			 paste_over;	/* longer than CLIENT_MAX_PASTE */
	int			 paste_cr;	/* the last character was CR */

	/* Resume state and conversation log, unless --no-resume. */
	struct state		 state;
	int			 front_started;	/* client_warn can show */
	char			 state_warning[STATE_ERRLEN + 64];
	int			 state_warned;	/* a write failure shown */
	unsigned long		 dups;		/* chat messages dropped */
};

/* Set the exit status and the sentence main() prints, and quit. */
void	client_exit(struct client *, int status, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

/*
 * Why the connection failed or was lost, as conn_error() says, with a
 * hint when the server wants a token and none was given.  Returns buf.
 */
const char *client_conn_why(const struct client *, char *buf, size_t len);

/*
 * A warning for the user, once the front end runs: a -!- line in the
 * TUI, "chat-client: warning: ..." on stderr in line mode.
 */
void	client_warn(struct client *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/*
 * Open the state of this server and user (nothing with --no-resume).
 * A problem does not stop the client: it is kept in state_warning for
 * the front end to show at start, and what can work goes on (the
 * cursor in memory, or a start without since).
 */
void	client_state_open(struct client *);

/* The since to ask for at a connect: 1 with *since set, or 0. */
int	client_since(const struct client *, uint64_t *since, char *epoch);

/*
 * Whether to show chat event ev: 0 if its seq says it was shown
 * already (it is then counted and logged at debug level), else 1.
 */
int	client_chat_is_new(struct client *, const struct codec_ev *ev);

/* Chat event ev was shown: move the cursor and log it. */
void	client_chat_shown(struct client *, const struct codec_ev *ev);

/* A copy of our own message from another device was shown: log it. */
void	client_sent_elsewhere(struct client *, const struct codec_ev *ev);

/* A message of ours was acknowledged with status: log it. */
void	client_sent_acked(struct client *, const struct conn_sent *sent,
	    const char *status);
/*
 * The ack of our message to a room carried seq: the server did not send
 * it to this connection, after everything before it; count it as shown.
 */
void	client_own_seq(struct client *, uint64_t seq);

/*
 * The server's answer to our since (or to our question for its epoch):
 * follow a restarted numbering.  Returns 1 with a sentence for the user
 * in why[len] if history may be missing (the numbering restarted), else
 * 0.
 */
int	client_resumed(struct client *, const struct codec_ev *ev,
	    char *why, size_t len);
/* An "expired" event in words, for the user, into why[len]. */
void	client_expired(const struct client *, const struct codec_ev *ev,
	    char *why, size_t len);

/*
 * Write the cursor when due (force: now, as at exit and at each
 * disconnect); the first failure is shown with client_warn.
 */
void	client_state_tick(struct client *, uint64_t now, int force);
/* Milliseconds until client_state_tick() has work, or -1. */
int	client_state_timeout(const struct client *, uint64_t now);

/* batch.c: line mode.  stdin is read with read(2), stdout is the output. */
void	batch_start(struct client *);
int	batch_wants_input(const struct client *);
void	batch_on_input(struct client *);
void	batch_on_state(struct client *, enum conn_state);
void	batch_on_event(struct client *, const struct codec_ev *,
	    const char *raw, size_t rawlen, const struct conn_sent *sent);
void	batch_tick(struct client *, uint64_t now);
int	batch_timeout(const struct client *, uint64_t now);

/*
 * tui.c: the interactive session.  tui_start returns -1 with why[len]
 * when the terminal cannot have it (main then falls back to line mode).
 */
int	tui_start(struct client *, char *why, size_t len);
void	tui_stop(struct client *);
void	tui_on_input(struct client *);
void	tui_on_resize(struct client *);
void	tui_on_state(struct client *, enum conn_state);
void	tui_on_event(struct client *, const struct codec_ev *,
	    const char *raw, size_t rawlen, const struct conn_sent *sent);
void	tui_tick(struct client *, uint64_t now);
int	tui_timeout(const struct client *, uint64_t now);
void	tui_draw(struct client *);

/* ui.c: curses only. */
enum ui_key_type {
	UI_NONE = 0,
	UI_CHAR,	/* a character (including control characters) */
	UI_KEY		/* a curses KEY_* code, or a UI_K_* one */
};

/* Key codes of our own, above curses' KEY_MAX (0777). */
#define UI_K_PASTE_START	0x1001	/* bracketed paste starts */
#define UI_K_PASTE_END		0x1002
#define UI_K_ALT_LEFT		0x1003
#define UI_K_ALT_RIGHT		0x1004

/*
 * Start curses.  colour: use colours if the terminal has them; ring:
 * ring the bell at all.  Returns 0, or -1 with why[whylen] saying why
 * this terminal cannot have the full-screen interface.
 */
int	ui_init(int colour, int ring, char *why, size_t whylen);
void	ui_end(void);
void	ui_resize(void);
void	ui_redraw_all(void);
/* The next key without waiting; UI_NONE when there is none. */
enum ui_key_type ui_getkey(unsigned *code);
void	ui_draw(struct model *);

#endif /* CLIENT_H */
