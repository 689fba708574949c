/*
 * Copyright (c) 2026 The chat authors.
 *
 * client: what main.c shares with the two front ends, tui.c (the
 * curses session, drawn by ui.c) and batch.c (line mode).  main.c owns
 * the options and the poll loop; a front end turns input and server
 * events into actions on the connection and says when it is done.
 * The exit reason is kept as text and printed by main() only after the
 * terminal has been restored.
 */
#ifndef CLIENT_H
#define CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "conn.h"
#include "dial.h"
#include "model.h"

#define CLIENT_DEFAULT_URL	"ws://127.0.0.1:8000"
#define CLIENT_DEFAULT_WAIT_MS	10000

/* Exit statuses (man/chat-client.1, EXIT STATUS). */
#define CLIENT_EXIT_OK		0
#define CLIENT_EXIT_FAIL	1
#define CLIENT_EXIT_USAGE	2

struct client_opts {
	const char	*user;
	char		 target[CODEC_MAX_USER + 1];	/* "" if none */
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
	const char	*token_file;	/* --token-file, read at each connect */
	const char	*token_env;	/* CHAT_TOKEN, if no --token-file */
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
	size_t			 who_pending;
	size_t			 failed;
	int			 lost;		/* reported a loss */

	/* TUI. */
	struct model		 model;
	int			 quit_warned;
	char			 shown_error[DIAL_ERRLEN];
};

/* Set the exit status and the sentence main() prints, and quit. */
void	client_exit(struct client *, int status, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

/*
 * Why the connection failed or was lost, as conn_error() says, with a
 * hint when the server wants a token and none was given.  Returns buf.
 */
const char *client_conn_why(const struct client *, char *buf, size_t len);

/* batch.c: line mode.  stdin is read with read(2), stdout is the output. */
void	batch_start(struct client *);
int	batch_wants_input(const struct client *);
void	batch_on_input(struct client *);
void	batch_on_state(struct client *, enum conn_state);
void	batch_on_event(struct client *, const struct codec_ev *,
	    const char *raw, size_t rawlen, uint64_t tag);
void	batch_tick(struct client *, uint64_t now);
int	batch_timeout(const struct client *, uint64_t now);

/* tui.c: the interactive session. */
int	tui_start(struct client *);
void	tui_stop(struct client *);
void	tui_on_input(struct client *);
void	tui_on_resize(struct client *);
void	tui_on_state(struct client *, enum conn_state);
void	tui_on_event(struct client *, const struct codec_ev *,
	    const char *raw, size_t rawlen, uint64_t tag);
void	tui_tick(struct client *, uint64_t now);
int	tui_timeout(const struct client *, uint64_t now);
void	tui_draw(struct client *);

/* ui.c: curses only. */
enum ui_key_type {
	UI_NONE = 0,
	UI_CHAR,	/* a character (including control characters) */
	UI_KEY		/* a curses KEY_* code */
};

int	ui_init(void);
void	ui_end(void);
void	ui_resize(void);
void	ui_redraw_all(void);
/* The next key without waiting; UI_NONE when there is none. */
enum ui_key_type ui_getkey(unsigned *code);
void	ui_draw(struct model *);

#endif /* CLIENT_H */
