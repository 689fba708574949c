/*
 * Copyright (c) 2026 The chat authors.
 *
 * state: what chat-client keeps between runs, one pair of files per
 * server and user in $XDG_STATE_HOME/chat-client/ (or
 * ~/.local/state/chat-client/): NAME.seq holds the seq of the last chat
 * message shown, so that the next connection resumes after it, and
 * NAME.log the recent conversation as JSON lines, for the history the
 * full-screen interface shows at start.  The seq file is replaced
 * atomically (a temporary file, then rename) at most once a second
 * while messages flow, and whenever the caller forces it; the log is
 * appended under flock(2) and compacted when it grows.  Nothing is
 * fsync'ed: a crash may lose the last second, which at worst shows a
 * message twice.  It never prints, exits or talks to the server: a
 * failure comes back as -1 with a sentence in the caller's buffer.
 */
#ifndef STATE_H
#define STATE_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "dial.h"

#define STATE_ERRLEN		(PATH_MAX + 160)
#define STATE_SAVE_MS		1000	/* between seq file writes */
#define STATE_LOG_MAX		1000	/* log entries before compacting */
#define STATE_LOG_MAX_BYTES	(384 * 1024)
#define STATE_LOG_KEEP		500	/* entries a compaction keeps */
#define STATE_LOG_KEEP_BYTES	(192 * 1024)
#define STATE_LOG_READ_MAX	(4 * 1024 * 1024)	/* read of a log */
#define STATE_MAX_TEXT		16384	/* bytes kept of one message */
#define STATE_MAX_NAME		180	/* bytes of a file name base */
#define STATE_HISTORY		50	/* entries shown at start */

enum state_way {
	STATE_IN = 1,		/* received and shown */
	STATE_OUT		/* sent by this user and acknowledged */
};

/* One entry of the log. */
struct state_entry {
	uint64_t	 ts;		/* milliseconds since the epoch */
	enum state_way	 way;
	uint64_t	 seq;		/* STATE_IN: the server's, 0 if none */
	char		 from[CODEC_MAX_USER + 1];
	char		 to[CODEC_MAX_USER + 1];	/* ourselves, for a
							   room */
	char		 room[CODEC_MAX_ROOM + 1];	/* "" if none */
	char		 status[16];	/* STATE_OUT: "delivered", "queued" */
	char		*text;		/* UTF-8, NUL-terminated; may hold
					   NULs, so use len */
	size_t		 len;
};

struct state {
	char		 seqpath[PATH_MAX];	/* "" when in memory only */
	char		 logpath[PATH_MAX];
	char		 histpath[PATH_MAX];	/* lines typed in the TUI */
	int		 have_seq;	/* seq is known */
	uint64_t	 seq;		/* last shown */
	char		 epoch[CODEC_MAX_EPOCH + 1];	/* its numbering, "" */
	int		 dirty;		/* seq not written yet */
	int		 reset;		/* seq went back: write it as is */
	uint64_t	 saved_at;	/* monotonic ms of the last write */
	size_t		 log_entries;	/* lines in the log, as far as known */
	size_t		 log_bytes;
};

/*
 * The state directory: "XDG/chat-client" when xdg is an absolute path,
 * else "HOME/.local/state/chat-client" when home is one (either may be
 * NULL; relative or empty values count as unset, as the XDG base
 * directory specification says).  Returns 0 with buf[len] filled, or
 * -1 when neither is usable or the path does not fit.
 */
int	state_dir(char *buf, size_t len, const char *xdg, const char *home);

/*
 * The base name of the files for user on the server of u:
 * "ws_HOST_PORT_USER" or "wss_HOST_PORT_USER".  The host is lowercased
 * and every byte other than a-z 0-9 . - becomes %XX, so that the name
 * is a safe file name and no two servers share one; a host that would
 * take more than 100 bytes is replaced by "%h" and a hash of it.  user
 * must be a valid user id.  Returns 0 with buf[len] filled (len >=
 * STATE_MAX_NAME + 1 always suffices), or -1 if it does not fit.
 */
int	state_name(char *buf, size_t len, const struct dial_url *u,
	    const char *user);

/*
 * Fill st with nothing known and no files: the cursor then lives in
 * memory only.
 */
void	state_init(struct state *st);

/*
 * Create dir and its missing parents with mode 0700, then read
 * dir/name.seq and count dir/name.log.  Returns 0, or -1 with
 * err[STATE_ERRLEN] saying what was wrong; st is usable either way:
 * without files when dir could not be made, without a known seq when
 * the seq file could not be read or held no number.  A missing seq
 * file is not an error (the first run).
 */
int	state_open(struct state *st, const char *dir, const char *name,
	    char *err);

/*
 * Returns 1 with *since set when a seq is known, else 0; epoch (at least
 * CODEC_MAX_EPOCH + 1 bytes, may be NULL) gets the numbering it belongs
 * to, "" if unknown.
 */
int	state_since(const struct state *st, uint64_t *since, char *epoch);

/*
 * Nonzero if a chat message with this seq was already shown, that is,
 * seq is not 0 and not above the last seq shown.
 */
int	state_is_dup(const struct state *st, uint64_t seq);

/* A message with this seq (0: none, ignored) has been shown. */
void	state_shown(struct state *st, uint64_t seq);

/*
 * The server answered a resume: since is the value it used, first the
 * oldest seq it keeps (0: none), last the newest (0: none), epoch its
 * numbering's name ("" or NULL: none; kept when it is a short token),
 * reset whether our cursor was from another numbering.  When since is
 * below the cursor (reset, or the numbering restarted), the cursor goes
 * back to it.  Returns how many messages after since the server no
 * longer has (dropped by its retention), 0 if none.
 */
uint64_t state_resumed(struct state *st, uint64_t since, uint64_t first,
	    uint64_t last, const char *epoch, int reset);

/*
 * Write the seq file if the cursor changed and, unless force is set,
 * STATE_SAVE_MS have passed since the last write (now_ms is monotonic).
 * A larger value written meanwhile by another client of the same user
 * is kept, unless the cursor went back.  Returns 0 (also when there
 * was nothing to do), or -1 with err[STATE_ERRLEN]; the write is then
 * tried again at the next call.
 */
int	state_flush(struct state *st, uint64_t now_ms, int force, char *err);

/* Milliseconds until state_flush() has a write to do, or -1. */
int	state_timeout(const struct state *st, uint64_t now_ms);

/*
 * Append e to the log (e->text is cut to STATE_MAX_TEXT bytes, at a
 * character boundary), then compact the log to its last STATE_LOG_KEEP
 * entries (and at most STATE_LOG_KEEP_BYTES) once it holds more than
 * STATE_LOG_MAX entries or STATE_LOG_MAX_BYTES.  Returns 0, or -1 with
 * err[STATE_ERRLEN].  Without files it does nothing and returns 0.
 */
int	state_log_add(struct state *st, const struct state_entry *e,
	    char *err);

/*
 * The last n entries of the log, oldest first, in a malloc'd array
 * stored in *ep (free it with state_entries_free) and their number in
 * *np.  Lines that are not valid entries are skipped, and so are
 * received messages logged twice (by two clients of the same user).
 * Returns 0 (with *np 0 when there is no log), or -1 with
 * err[STATE_ERRLEN].
 */
int	state_log_tail(const struct state *st, size_t n,
	    struct state_entry **ep, size_t *np, char *err);

/* Free what state_log_tail returned; e may be NULL. */
void	state_entries_free(struct state_entry *e, size_t n);

/*
 * The lines typed in the full-screen interface (its input history), in
 * dir/name.hist: one JSON string a line, oldest first.
 * state_hist_read calls add for each line of the file, at most the last
 * max, and returns 0 (also when there is no file or no state files) or
 * -1 with err[STATE_ERRLEN].  state_hist_write replaces the file with
 * lines[0..n) (lens[i] bytes each; lines longer than STATE_MAX_TEXT are
 * left out) and returns 0 or -1 with err.
 */
int	state_hist_read(const struct state *st, size_t max,
	    void (*add)(void *arg, const char *s, size_t len), void *arg,
	    char *err);
int	state_hist_write(const struct state *st, char *const *lines,
	    const size_t *lens, size_t n, char *err);

#endif /* STATE_H */
