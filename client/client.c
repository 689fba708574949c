/*
 * Copyright (c) 2026 The chat authors.
 *
 * client: the state shared by main.c and the front ends (client.h).
 * Only what both front ends call lives here, outside main.c, so that
 * unit tests can link every client object but main.o.  That includes
 * the use of the resume state: state.c keeps the files, this decides
 * what goes in them and says when they fail.
 */
#include <sys/stat.h>

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client.h"
#include "conn.h"
#include "log.h"
#include "model.h"
#include "state.h"
#include "util.h"

void
client_exit(struct client *c, int status, const char *fmt, ...)
{
	va_list	ap;

	if (c->quit && c->reason[0] != '\0')
		return;		/* the first reason wins */
	c->quit = 1;
	c->status = status;
	c->reason[0] = '\0';
	if (fmt != NULL) {
		va_start(ap, fmt);
		vsnprintf(c->reason, sizeof(c->reason), fmt, ap);
		va_end(ap);
	}
}

const char *
client_conn_why(const struct client *c, char *buf, size_t len)
{
	const char	*hint = "";

	if (conn_auth(c->conn) == CONN_AUTH_REFUSED &&
	    conn_http_status(c->conn) == 401 && c->o.token_file == NULL &&
	    c->o.token_env == NULL)
		hint = " (give one with --token-file or CHAT_TOKEN)";
	snprintf(buf, len, "%s%s", conn_error(c->conn), hint);
	return buf;
}

void
client_warn(struct client *c, const char *fmt, ...)
{
	char	buf[STATE_ERRLEN + 128];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	log_warn("%s", buf);
	if (!c->front_started)
		return;
	if (c->o.batch)
		fprintf(stderr, "chat-client: warning: %s\n", buf);
	else
		model_sys(&c->model, MODEL_ERR, "warning: %s", buf);
}

void
client_state_open(struct client *c)
{
	char		 dir[PATH_MAX], name[STATE_MAX_NAME + 1];
	char		 err[STATE_ERRLEN];
	const char	*xdg, *home;
	struct stat	 sb;

	state_init(&c->state);
	c->state_warning[0] = '\0';
	if (c->o.no_resume)
		return;
	if (state_name(name, sizeof(name), &c->o.url, c->o.user) == -1) {
		snprintf(c->state_warning, sizeof(c->state_warning),
		    "no state file name for this server: history and resume "
		    "state are not kept");
		return;
	}
	xdg = getenv("XDG_STATE_HOME");
	home = getenv("HOME");
	/*
	 * The directories under HOME are made when missing, but not HOME
	 * itself: HOME=/nonexistent means "no home", as for system users.
	 */
	if ((xdg == NULL || xdg[0] != '/') && home != NULL && home[0] == '/' &&
	    (stat(home, &sb) == -1 || !S_ISDIR(sb.st_mode))) {
		snprintf(c->state_warning, sizeof(c->state_warning),
		    "no home directory '%.*s': history and resume state are "
		    "not kept", PATH_MAX, home);
		return;
	}
	if (state_dir(dir, sizeof(dir), xdg, home) == -1) {
		snprintf(c->state_warning, sizeof(c->state_warning),
		    "no state directory (set HOME or XDG_STATE_HOME): history "
		    "and resume state are not kept");
		return;
	}
	if (state_open(&c->state, dir, name, err) == 0) {
		log_info("state in %s/%s.{seq,log}", dir, name);
		return;
	}
	if (c->state.seqpath[0] == '\0')
		snprintf(c->state_warning, sizeof(c->state_warning),
		    "%s: history and resume state are not kept", err);
	else
		snprintf(c->state_warning, sizeof(c->state_warning),
		    "%s: starting without resume state", err);
}

int
client_since(const struct client *c, uint64_t *since, char *epoch)
{
	if (c->o.no_resume)
		return 0;
	/*
	 * A seq means something only with its epoch: without one (a first
	 * run, or an old state file) ask for the epoch instead.
	 */
	if (state_since(&c->state, since, epoch) && epoch[0] != '\0')
		return 1;
	epoch[0] = '\0';
	return 2;
}

int
client_chat_is_new(struct client *c, const struct codec_ev *ev)
{
	if (c->o.no_resume || !state_is_dup(&c->state, ev->seq))
		return 1;
	c->dups++;
	log_debug("dropping message seq %llu from %s: shown already (%lu "
	    "so far)", (unsigned long long)ev->seq, ev->from, c->dups);
	return 0;
}

/* Log an entry; the first failure is shown, the rest only logged. */
static void
client_log(struct client *c, const struct state_entry *e)
{
	char	err[STATE_ERRLEN];

	if (state_log_add(&c->state, e, err) == 0)
		return;
	if (c->state_warned) {
		log_warn("%s", err);
		return;
	}
	c->state_warned = 1;
	client_warn(c, "%s: history not saved", err);
}

void
client_chat_shown(struct client *c, const struct codec_ev *ev)
{
	struct state_entry	e;

	if (c->o.no_resume)
		return;
	state_shown(&c->state, ev->seq);
	memset(&e, 0, sizeof(e));
	e.ts = ev->ts != 0 ? ev->ts : util_wall_ms();
	e.way = STATE_IN;
	e.seq = ev->seq;
	snprintf(e.from, sizeof(e.from), "%s", ev->from);
	snprintf(e.to, sizeof(e.to), "%s", c->o.user);
	snprintf(e.room, sizeof(e.room), "%s", ev->room);
	/* Ours to a room, from another device: logged as sent there. */
	if (ev->room[0] != '\0' && strcmp(ev->from, c->o.user) == 0) {
		e.way = STATE_OUT;
		snprintf(e.status, sizeof(e.status), "sent");
	}
	e.text = (char *)ev->message;	/* only read */
	e.len = ev->message_len;
	client_log(c, &e);
}

void
client_sent_elsewhere(struct client *c, const struct codec_ev *ev)
{
	struct state_entry	e;

	if (c->o.no_resume)
		return;
	memset(&e, 0, sizeof(e));
	e.ts = ev->ts != 0 ? ev->ts : util_wall_ms();
	e.way = STATE_OUT;
	snprintf(e.from, sizeof(e.from), "%s", c->o.user);
	snprintf(e.to, sizeof(e.to), "%s", ev->target);
	snprintf(e.status, sizeof(e.status), "sent");
	e.text = (char *)ev->message;	/* only read */
	e.len = ev->message_len;
	client_log(c, &e);
}

void
client_sent_acked(struct client *c, const struct conn_sent *sent,
    const char *status)
{
	struct state_entry	e;

	if (c->o.no_resume || sent == NULL)
		return;
	memset(&e, 0, sizeof(e));
	e.ts = util_wall_ms();
	e.way = STATE_OUT;
	snprintf(e.from, sizeof(e.from), "%s", c->o.user);
	/* "#room": the log names the room, and us as "to". */
	if (sent->target[0] == '#') {
		snprintf(e.room, sizeof(e.room), "%s", sent->target + 1);
		snprintf(e.to, sizeof(e.to), "%s", c->o.user);
	} else
		snprintf(e.to, sizeof(e.to), "%s", sent->target);
	snprintf(e.status, sizeof(e.status), "%s", status);
	e.text = (char *)sent->text;	/* only read */
	e.len = sent->len;
	client_log(c, &e);
}

void
client_own_seq(struct client *c, uint64_t seq)
{
	if (!c->o.no_resume && seq != 0)
		state_shown(&c->state, seq);
}

int
client_resumed(struct client *c, const struct codec_ev *ev, char *why,
    size_t len)
{
	uint64_t	was = 0;
	int		had, restart;

	c->sparse = ev->sparse;
	if (c->o.no_resume)
		return 0;
	had = state_since(&c->state, &was, NULL);
	/*
	 * Asked without since (for the epoch): what comes is numbered
	 * after the server's cursor in this epoch; a seq kept from an
	 * unknown numbering means nothing, so it goes.
	 */
	restart = ev->reset || (had && ev->cursor);
	(void)state_resumed(&c->state, ev->since, ev->first, ev->last,
	    ev->epoch, restart);
	log_info("resumed after %llu (first %llu, last %llu, epoch %s%s)",
	    (unsigned long long)ev->since, (unsigned long long)ev->first,
	    (unsigned long long)ev->last, ev->epoch,
	    ev->cursor ? ", the server's cursor" : "");
	if (!ev->reset)
		return 0;
	log_info("the server's numbering restarted: cursor back from %llu "
	    "to %llu", (unsigned long long)was,
	    (unsigned long long)ev->since);
	snprintf(why, len, "the server's history was started again (a new "
	    "numbering): messages sent to you while you were away may be "
	    "lost");
	return 1;
}

void
client_expired(const struct client *c, const struct codec_ev *ev, char *why,
    size_t len)
{
	uint64_t	n = ev->before - ev->after - 1;

	if (c->sparse || n == 0)
		snprintf(why, len, "messages after #%llu were removed by the "
		    "server's retention before they reached you",
		    (unsigned long long)ev->after);
	else
		snprintf(why, len, "%llu message%s after #%llu %s removed by "
		    "the server's retention before %s reached you",
		    (unsigned long long)n, n == 1 ? "" : "s",
		    (unsigned long long)ev->after, n == 1 ? "was" : "were",
		    n == 1 ? "it" : "they");
}

void
client_state_tick(struct client *c, uint64_t now, int force)
{
	char	err[STATE_ERRLEN];

	if (c->o.no_resume || state_flush(&c->state, now, force, err) == 0)
		return;
	if (c->state_warned) {
		log_warn("%s", err);
		return;
	}
	c->state_warned = 1;
	client_warn(c, "%s: resume state not saved", err);
}

int
client_state_timeout(const struct client *c, uint64_t now)
{
	if (c->o.no_resume)
		return -1;
	return state_timeout(&c->state, now);
}
