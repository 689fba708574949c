/*
 * Copyright (c) 2026 The chat authors.
 *
 * batch: line mode, for scripts and pipes.  Each stdin line is a message
 * to the current target or a "/" command (parsed by model.c, as in the
 * TUI); each chat message received becomes one stdout line, "HH:MM:SS
 * FROM: TEXT" ("HH:MM:SS #ROOM FROM: TEXT" from a room), or the
 * server's JSON with --json.  Diagnostics go to stderr.  With --room
 * (or /join) the room is the target: it is joined at the first connect
 * (membership then stays with the user), and input waits for the
 * answer, so no message reaches the room before its sender is in it.  Like the TUI, it resumes after the last message it printed
 * and logs what it printed and sent (client.c), but shows no history:
 * a script run twice prints each message once.  At end of input it
 * waits, at most --wait seconds, for every ack, then closes.  Input is
 * read only while connected once and while the outbox has room, so a
 * fast producer is slowed down, not refused.  --listen reads no input;
 * --count N ends the session after the Nth message printed, --timeout
 * after a time, whatever is left.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "conn.h"
#include "log.h"
#include "model.h"
#include "utf8.h"
#include "util.h"

#define BATCH_READ	65536

static void	batch_join(struct client *);

void
batch_start(struct client *c)
{
	/* Scripts read our output as it comes. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	c->started_at = util_mono_ms();
	if ((c->lbuf = malloc(CLIENT_MAX_LINE + 1)) == NULL)
		client_exit(c, CLIENT_EXIT_FAIL, "out of memory");
	if (c->o.target[0] != '\0')
		log_info("sending to '%s'", c->o.target);
	c->room_joined = model_view_room(c->o.target) == NULL;
	batch_join(c);
	if (c->o.insecure)
		fprintf(stderr, "chat-client: warning: --insecure: the "
		    "server's certificate is not checked\n");
	c->front_started = 1;
	if (c->state_warning[0] != '\0')
		client_warn(c, "%s", c->state_warning);
}

int
batch_wants_input(const struct client *c)
{
	return !c->eof && !c->o.listen && conn_ever_open(c->conn) &&
	    c->room_joined && conn_outbox(c->conn) < CONN_MAX_OUTBOX - 1;
}

static void
batch_fail(struct client *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
batch_fail(struct client *c, const char *fmt, ...)
{
	va_list	ap;

	c->failed++;
	fputs("chat-client: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Print text so that it stays on one line of a terminal or a log. */
static void
batch_put_text(const char *p, size_t len)
{
	const uint8_t	*s = (const uint8_t *)p;
	size_t		 i = 0, n;

	while (i < len) {
		n = utf8_seqlen(s + i, len - i);
		if (n == 0) {
			fputs("\xef\xbf\xbd", stdout);
			i++;
			continue;
		}
		if (n == 1 && (s[i] == '\n' || s[i] == '\r' || s[i] == '\t'))
			putchar(' ');
		else if (n == 1 && (s[i] < 0x20 || s[i] == 0x7f))
			putchar('?');
		else if (n == 2 && s[i] == 0xc2 && s[i + 1] < 0xa0)
			putchar('?');	/* C1 controls */
		else
			fwrite(s + i, 1, n, stdout);
		i += n;
	}
}

/* Send text to target, saying what went wrong on line lineno. */
static void
batch_send(struct client *c, const char *target, const char *text,
    size_t len)
{
	switch (conn_send(c->conn, target, text, len, c->lineno, NULL)) {
	case 0:
		break;
	case CONN_SEND_TOO_BIG:
		batch_fail(c, "line %lu: message too long: %zu bytes as sent, "
		    "the server takes at most %d", c->lineno,
		    conn_send_size(target, text, len), CONN_MAX_SEND);
		break;
	default:
		batch_fail(c, "line %lu: outbox full", c->lineno);
		break;
	}
}

/* The end of the session: no more input, wait for what is left. */
static void
batch_end_input(struct client *c)
{
	if (c->eof)
		return;
	c->eof = 1;
	c->eof_at = util_mono_ms();
}

/* A room request, answered before the end. */
static void
batch_room(struct client *c, const char *type, const char *room)
{
	if (conn_room(c->conn, type, room) == -1)
		batch_fail(c, "line %lu: /%s: not connected", c->lineno,
		    strcmp(type, "leave") == 0 ? "part" : strcmp(type,
		    "members") == 0 ? "names" : type);
	else
		c->who_pending++;
}

/* Join the target room at every connect (conn.c), now if connected. */
static void
batch_join(struct client *c)
{
	const char	*room = model_view_room(c->o.target);

	if (room == NULL)
		return;
	log_info("joining room '%s'", room);
	conn_set_room(c->conn, room);
}

static void
batch_line(struct client *c, const char *line, size_t len)
{
	struct model_cmd	 cmd;
	const char		*room;
	size_t			 i;

	c->lineno++;
	if (!utf8_valid((const uint8_t *)line, len)) {
		batch_fail(c, "line %lu is not valid UTF-8", c->lineno);
		return;
	}
	model_parse_cmd(line, len, &cmd);
	switch (cmd.type) {
	case MODEL_CMD_EMPTY:
		break;
	case MODEL_CMD_TEXT:
		if (c->o.target[0] == '\0') {
			batch_fail(c, "line %lu: no target: use --to or /to",
			    c->lineno);
			break;
		}
		batch_send(c, c->o.target, cmd.text, cmd.textlen);
		break;
	case MODEL_CMD_MSG:
		batch_send(c, cmd.arg, cmd.text, cmd.textlen);
		break;
	case MODEL_CMD_REPLY:
		if (c->last_from[0] == '\0')
			batch_fail(c, "line %lu: /r: nobody has written yet",
			    c->lineno);
		else if (cmd.textlen == 0)
			batch_fail(c, "line %lu: usage: /r TEXT", c->lineno);
		else
			batch_send(c, c->last_from, cmd.text, cmd.textlen);
		break;
	case MODEL_CMD_TO:
		snprintf(c->o.target, sizeof(c->o.target), "%s", cmd.arg);
		log_info("sending to '%s'", c->o.target);
		break;
	case MODEL_CMD_WHO:
		if (conn_who(c->conn) == -1)
			batch_fail(c, "line %lu: /who: not connected",
			    c->lineno);
		else
			c->who_pending++;
		break;
	case MODEL_CMD_HELP:
		for (i = 0; model_help[i] != NULL; i++)
			printf("%s\n", model_help[i]);
		break;
	case MODEL_CMD_QUIT:
		batch_end_input(c);
		break;
	case MODEL_CMD_JOIN:
		model_room_view_name(c->o.target, cmd.arg);
		c->room_joined = 0;
		batch_join(c);
		break;
	case MODEL_CMD_PART:
		room = cmd.arg[0] != '\0' ? cmd.arg :
		    model_view_room(c->o.target);
		if (room == NULL)
			batch_fail(c, "line %lu: /part: no room (use --room, "
			    "/join or /part ROOM)", c->lineno);
		else
			batch_room(c, "leave", room);
		break;
	case MODEL_CMD_NAMES:
		if ((room = model_view_room(c->o.target)) == NULL)
			batch_fail(c, "line %lu: /names: the target is not a "
			    "room", c->lineno);
		else
			batch_room(c, "members", room);
		break;
	case MODEL_CMD_ROOMS:
		batch_room(c, "rooms", NULL);
		break;
	case MODEL_CMD_WINDOW:
	case MODEL_CMD_CLOSE:
		batch_fail(c, "line %lu: windows are for the full-screen "
		    "interface", c->lineno);
		break;
	case MODEL_CMD_BAD:
		batch_fail(c, "line %lu: %s", c->lineno, cmd.error);
		break;
	}
}

void
batch_on_input(struct client *c)
{
	char	 buf[BATCH_READ];
	ssize_t	 n, i;

	n = read(STDIN_FILENO, buf, sizeof(buf));
	if (n == -1 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n == -1) {
		batch_fail(c, "cannot read standard input: %s",
		    strerror(errno));
		n = 0;
	}
	if (n == 0) {
		/* A last line without a newline still counts. */
		if (c->llen > 0 && !c->discard)
			batch_line(c, c->lbuf, c->llen);
		c->llen = 0;
		log_info("end of input, %zu messages unacknowledged",
		    conn_outbox(c->conn));
		/* With --count, the count ends the session, not the input. */
		if (c->o.count == 0)
			batch_end_input(c);
		else
			c->o.listen = 1;
		return;
	}
	for (i = 0; i < n && !c->eof; i++) {
		if (buf[i] == '\n') {
			if (!c->discard)
				batch_line(c, c->lbuf, c->llen);
			c->discard = 0;
			c->llen = 0;
			continue;
		}
		if (c->discard)
			continue;
		if (c->llen == CLIENT_MAX_LINE) {
			batch_fail(c, "line %lu is longer than %d bytes (the "
			    "server's limit)", c->lineno + 1, CLIENT_MAX_LINE);
			c->lineno++;
			c->discard = 1;
			c->llen = 0;
			continue;
		}
		c->lbuf[c->llen++] = buf[i];
	}
}

void
batch_on_state(struct client *c, enum conn_state st)
{
	char			why[DIAL_ERRLEN + 64];
	enum conn_auth		auth;

	switch (st) {
	case CONN_OPEN:
		if (c->lost)
			fprintf(stderr, "chat-client: reconnected to '%s'\n",
			    c->o.url_text);
		c->lost = 0;
		break;
	case CONN_WAITING:
		client_conn_why(c, why, sizeof(why));
		auth = conn_auth(c->conn);
		/*
		 * A refused token stays refused until someone changes it:
		 * give up, unless told to wait for that.  Only a token file
		 * can bring a fresh token after an expiry.
		 */
		if (auth == CONN_AUTH_REFUSED && !c->o.retry)
			client_exit(c, CLIENT_EXIT_FAIL, "cannot connect to "
			    "'%s': %s", c->o.url_text, why);
		else if (auth == CONN_AUTH_EXPIRED && !c->o.retry &&
		    c->o.token_file == NULL)
			client_exit(c, CLIENT_EXIT_FAIL, "%s: start again with "
			    "a fresh CHAT_TOKEN", why);
		else if (!conn_ever_open(c->conn)) {
			if (!c->o.retry)
				client_exit(c, CLIENT_EXIT_FAIL,
				    "cannot connect to '%s': %s",
				    c->o.url_text, why);
			else if (!c->lost)
				fprintf(stderr, "chat-client: cannot connect "
				    "to '%s': %s; retrying\n", c->o.url_text,
				    why);
			c->lost = 1;
		} else if (!c->lost) {
			fprintf(stderr, "chat-client: %s; reconnecting\n",
			    why);
			c->lost = 1;
		}
		break;
	default:
		break;
	}
}

static void
batch_print_chat(const struct codec_ev *ev)
{
	struct tm	tm;
	time_t		t;
	char		stamp[16];

	t = ev->ts != 0 ? (time_t)(ev->ts / 1000) : time(NULL);
	if (localtime_r(&t, &tm) == NULL ||
	    strftime(stamp, sizeof(stamp), "%H:%M:%S", &tm) == 0)
		strcpy(stamp, "--:--:--");
	if (ev->room[0] != '\0') {
		printf("%s #", stamp);
		batch_put_text(ev->room, strlen(ev->room));
		printf(" %s: ", ev->from);
	} else
		printf("%s %s: ", stamp, ev->from);
	batch_put_text(ev->message, ev->message_len);
	putchar('\n');
}

void
batch_on_event(struct client *c, const struct codec_ev *ev, const char *raw,
    size_t rawlen, const struct conn_sent *sent)
{
	uint64_t	 tag = sent != NULL ? sent->tag : 0;
	const char	*room;
	size_t		 i;
	char		 why[256];

	/* Past --count, messages stay unshown: the next run gets them. */
	if (ev->type == CODEC_EV_CHAT && c->o.count > 0 &&
	    c->received >= c->o.count)
		return;

	if (c->o.json) {
		/* One object per line: JSON needs no raw newlines. */
		for (i = 0; i < rawlen; i++)
			putchar(raw[i] == '\n' || raw[i] == '\r' ? ' ' :
			    raw[i]);
		putchar('\n');
	}
	switch (ev->type) {
	case CODEC_EV_CHAT:
		/* Ours to a room from elsewhere: as "sent", --json only. */
		if (!c->o.json && (ev->room[0] == '\0' ||
		    strcmp(ev->from, c->o.user) != 0))
			batch_print_chat(ev);
		if (!ferror(stdout))
			client_chat_shown(c, ev);
		snprintf(c->last_from, sizeof(c->last_from), "%s", ev->from);
		if (c->o.count > 0 && ++c->received == c->o.count)
			batch_end_input(c);
		break;
	case CODEC_EV_ACK:
		if (tag == 0)
			break;
		log_info("line %llu: %s%s", (unsigned long long)tag,
		    ev->status, ev->missed > 0 ? ", missed by some members" :
		    "");
		client_own_seq(c, ev->seq);
		if (ev->missed > 0)
			fprintf(stderr, "chat-client: line %llu: %llu member%s "
			    "of the room did not get the message (their inbox "
			    "refused it)\n", (unsigned long long)tag,
			    (unsigned long long)ev->missed, ev->missed == 1 ?
			    "" : "s");
		client_sent_acked(c, sent, strcmp(ev->status, "queued") == 0 ?
		    "queued" : "delivered");
		break;
	case CODEC_EV_ERROR:
		if (tag != 0)
			batch_fail(c, "line %llu: message not sent: %s: %s",
			    (unsigned long long)tag, ev->error, ev->detail);
		else
			batch_fail(c, "server error: %s: %s", ev->error,
			    ev->detail);
		/* A refused join stops input for good: nothing to send. */
		if (tag == 0 && !c->room_joined)
			client_exit(c, CLIENT_EXIT_FAIL, "cannot join room "
			    "'%s': %s", model_view_room(c->o.target),
			    ev->detail);
		if (tag == 0 && c->who_pending > 0)
			c->who_pending--;
		break;
	case CODEC_EV_JOINED:
	case CODEC_EV_MEMBERS:
		if (ev->type == CODEC_EV_JOINED &&
		    (room = model_view_room(c->o.target)) != NULL &&
		    strcmp(room, ev->room) == 0) {
			/* Our --room or /join: input may go on. */
			c->room_joined = 1;
			log_info("joined room '%s' (%zu members)", ev->room,
			    ev->nusers);
			break;
		}
		if (c->who_pending > 0)
			c->who_pending--;
		if (!c->o.json) {
			printf("#");
			batch_put_text(ev->room, strlen(ev->room));
			printf(" members:");
			for (i = 0; i < ev->nusers; i++)
				printf(" %s", ev->users[i]);
			printf("%s\n", ev->truncated ? " ..." : "");
		}
		break;
	case CODEC_EV_LEFT:
		if (c->who_pending > 0)
			c->who_pending--;
		if ((room = model_view_room(c->o.target)) != NULL &&
		    strcmp(room, ev->room) == 0) {
			c->o.target[0] = '\0';
			conn_set_room(c->conn, NULL);
		}
		log_info("left room '%s'", ev->room);
		break;
	case CODEC_EV_ROOMS:
		if (c->who_pending > 0)
			c->who_pending--;
		if (!c->o.json) {
			printf("rooms:");
			for (i = 0; i < ev->nrooms; i++) {
				printf(" #");
				batch_put_text(ev->rooms[i].room,
				    strlen(ev->rooms[i].room));
				printf("(%llu)", (unsigned long long)
				    ev->rooms[i].members);
			}
			putchar('\n');
		}
		break;
	case CODEC_EV_WHO:
		if (c->who_pending > 0)
			c->who_pending--;
		if (!c->o.json) {
			printf("online:");
			for (i = 0; i < ev->nusers; i++)
				printf(" %s", ev->users[i]);
			putchar('\n');
		}
		break;
	case CODEC_EV_RESUMED:
		if (client_resumed(c, ev, why, sizeof(why)))
			fprintf(stderr, "chat-client: %s\n", why);
		break;
	case CODEC_EV_EXPIRED:
		client_expired(c, ev, why, sizeof(why));
		fprintf(stderr, "chat-client: %s\n", why);
		break;
	case CODEC_EV_SENT:
		/* Only --json shows our messages sent from elsewhere. */
		client_sent_elsewhere(c, ev);
		break;
	case CODEC_EV_PRESENCE:
	case CODEC_EV_MEMBER:
	case CODEC_EV_OTHER:
		break;
	}
	if (ferror(stdout))
		client_exit(c, CLIENT_EXIT_FAIL, "cannot write to standard "
		    "output: %s", strerror(errno));
}

/* --timeout: the deadline passed; say what was still awaited. */
static void
batch_deadline(struct client *c)
{
	size_t	left = conn_outbox(c->conn);

	if (c->o.count > 0 && c->received < c->o.count)
		client_exit(c, CLIENT_EXIT_FAIL, "timed out after %lld ms: "
		    "%lu of %lu messages received", c->o.timeout_ms,
		    c->received, c->o.count);
	else if (left > 0)
		client_exit(c, CLIENT_EXIT_FAIL, "timed out after %lld ms: "
		    "%zu message%s not acknowledged", c->o.timeout_ms, left,
		    left == 1 ? "" : "s");
	else if (c->failed > 0)
		client_exit(c, CLIENT_EXIT_FAIL, NULL);
	else
		client_exit(c, CLIENT_EXIT_OK, NULL);
}

void
batch_tick(struct client *c, uint64_t now)
{
	size_t	left;

	if (c->quit)
		return;
	if (c->o.timeout_ms > 0 &&
	    now - c->started_at >= (uint64_t)c->o.timeout_ms) {
		batch_deadline(c);
		return;
	}
	if (!c->eof)
		return;
	left = conn_outbox(c->conn);
	if (left == 0 && c->who_pending == 0) {
		if (c->failed > 0)
			client_exit(c, CLIENT_EXIT_FAIL, NULL);
		else
			client_exit(c, CLIENT_EXIT_OK, NULL);
		return;
	}
	if (now - c->eof_at >= (uint64_t)c->o.wait_ms) {
		if (left > 0)
			client_exit(c, CLIENT_EXIT_FAIL, "%zu message%s not "
			    "acknowledged after %lld s%s%s", left,
			    left == 1 ? "" : "s", c->o.wait_ms / 1000,
			    conn_state(c->conn) != CONN_OPEN ? ": " : "",
			    conn_state(c->conn) != CONN_OPEN ?
			    conn_error(c->conn) : "");
		else
			client_exit(c, CLIENT_EXIT_FAIL, "no answer to /who "
			    "after %lld s", c->o.wait_ms / 1000);
	}
}

int
batch_timeout(const struct client *c, uint64_t now)
{
	uint64_t	end = UINT64_MAX;

	if (c->eof)
		end = c->eof_at + (uint64_t)c->o.wait_ms;
	if (c->o.timeout_ms > 0 && c->started_at +
	    (uint64_t)c->o.timeout_ms < end)
		end = c->started_at + (uint64_t)c->o.timeout_ms;
	if (end == UINT64_MAX)
		return -1;
	return end <= now ? 0 : end - now > INT32_MAX ? INT32_MAX :
	    (int)(end - now);
}
