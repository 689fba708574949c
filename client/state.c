/*
 * Copyright (c) 2026 The chat authors.
 *
 * state: the resume cursor and the conversation log kept between runs
 * (see state.h).  Two processes of the same user may share the files: a
 * TUI and a script, say.  The seq file is replaced with rename(2), so a
 * reader sees the old or the new number, never half of one; the log is
 * appended and compacted under flock(2), and an appender that waited
 * for the lock while a compaction replaced the file opens it again.
 * JSON goes through jansson, as in common/codec.c.
 */
#include <sys/types.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codec.h"
#include "config.h"
#include "dial.h"
#include "state.h"
#include "util.h"

#define STATE_MAX_HOST		100	/* bytes of the host part of a name */

static void
state_err(char *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
state_err(char *err, const char *fmt, ...)
{
	va_list	ap;

	if (err == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(err, STATE_ERRLEN, fmt, ap);
	va_end(ap);
}

int
state_dir(char *buf, size_t len, const char *xdg, const char *home)
{
	return config_xdg_path(buf, len, xdg, home, ".local/state",
	    "chat-client");
}

int
state_name(char *buf, size_t len, const struct dial_url *u, const char *user)
{
	static const char	 hex[] = "0123456789abcdef";
	char			 host[STATE_MAX_HOST + 1];
	const unsigned char	*p;
	unsigned char		 ch;
	uint64_t		 h = 0xcbf29ce484222325ULL;	/* FNV-1a */
	size_t			 n = 0;
	int			 long_host = 0, r;

	if (!codec_valid_user(user, strlen(user)))
		return -1;
	for (p = (const unsigned char *)u->host; *p != '\0'; p++) {
		/* Host names are case-insensitive: one file for both. */
		ch = *p >= 'A' && *p <= 'Z' ? *p + ('a' - 'A') : *p;
		h = (h ^ ch) * 0x100000001b3ULL;
		if (long_host)
			continue;
		if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		    ch == '.' || ch == '-') {
			if (n + 1 > STATE_MAX_HOST)
				long_host = 1;
			else
				host[n++] = (char)ch;
		} else if (n + 3 > STATE_MAX_HOST)
			long_host = 1;
		else {
			/* Also '_', so that it stays the separator. */
			host[n++] = '%';
			host[n++] = hex[ch >> 4];
			host[n++] = hex[ch & 0xf];
		}
	}
	host[n] = '\0';
	/* Escapes only make %XX with hex digits: "%h" cannot clash. */
	if (long_host)
		snprintf(host, sizeof(host), "%%h%016llx",
		    (unsigned long long)h);
	r = snprintf(buf, len, "%s_%s_%s_%s", u->tls ? "wss" : "ws", host,
	    u->port, user);
	return r < 0 || (size_t)r >= len ? -1 : 0;
}

void
state_init(struct state *st)
{
	memset(st, 0, sizeof(*st));
}

/* mkdir -p with mode 0700 for what is created. */
static int
state_mkdirs(const char *dir, char *err)
{
	char		path[PATH_MAX];
	struct stat	sb;
	size_t		i, len = strlen(dir);

	if (len == 0 || len >= sizeof(path)) {
		state_err(err, "state directory name too long");
		return -1;
	}
	memcpy(path, dir, len + 1);
	for (i = 1; i <= len; i++) {
		if (path[i] != '/' && path[i] != '\0')
			continue;
		path[i] = '\0';
		if (mkdir(path, 0700) == -1 && errno != EEXIST) {
			state_err(err, "cannot create directory '%s': %s",
			    path, strerror(errno));
			return -1;
		}
		path[i] = dir[i];
	}
	if (stat(dir, &sb) == -1) {
		state_err(err, "cannot use directory '%s': %s", dir,
		    strerror(errno));
		return -1;
	}
	if (!S_ISDIR(sb.st_mode)) {
		state_err(err, "cannot use directory '%s': Not a directory",
		    dir);
		return -1;
	}
	return 0;
}

/* An epoch we can put in a URL as is: 1-32 of [A-Za-z0-9._-]. */
static int
state_epoch_ok(const char *e)
{
	size_t	n = strlen(e);

	return n > 0 && n <= CODEC_MAX_EPOCH && strspn(e,
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789._-") == n;
}

/*
 * Read the number in a seq file.  Returns 0, 1 if the file does not
 * exist, or -1 with err (unreadable, or not a number).
 */
static int
state_read_seq(const char *path, uint64_t *out, char *epoch, char *err)
{
	char		buf[32 + CODEC_MAX_EPOCH + 2], *sp;
	size_t		len = 0;
	ssize_t		n;
	long long	v;
	int		fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			return 1;
		state_err(err, "cannot read '%s': %s", path, strerror(errno));
		return -1;
	}
	while (len < sizeof(buf) - 1) {
		n = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			state_err(err, "cannot read '%s': %s", path,
			    strerror(errno));
			close(fd);
			return -1;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	if (len > 0 && buf[len - 1] == '\n')
		buf[--len] = '\0';
	/* "SEQ" or "SEQ EPOCH" */
	if ((sp = strchr(buf, ' ')) != NULL) {
		*sp++ = '\0';
		if (!state_epoch_ok(sp)) {
			state_err(err, "'%s' holds no seq number and "
			    "epoch", path);
			return -1;
		}
	}
	if (util_parse_ll(buf, 0, LLONG_MAX, &v) == -1) {
		state_err(err, "'%s' holds no seq number", path);
		return -1;
	}
	*out = (uint64_t)v;
	if (epoch != NULL)
		snprintf(epoch, CODEC_MAX_EPOCH + 1, "%s", sp != NULL ? sp : "");
	return 0;
}

/*
 * Open path and take its lock.  A compaction may replace the file
 * while we wait: then the lock is on a file nobody reads, so try the
 * new one.  Returns the fd or -1 with errno.
 */
static int
state_lock(const char *path, int flags)
{
	struct stat	a, b;
	int		fd, i;

	for (i = 0; i < 10; i++) {
		if ((fd = open(path, flags | O_CLOEXEC, 0600)) == -1)
			return -1;
		if (flock(fd, LOCK_EX) == -1) {
			close(fd);
			return -1;
		}
		if (fstat(fd, &a) == 0 && stat(path, &b) == 0 &&
		    a.st_dev == b.st_dev && a.st_ino == b.st_ino)
			return fd;
		close(fd);
	}
	errno = EAGAIN;
	return -1;
}

/*
 * Read at most the last STATE_LOG_READ_MAX bytes of fd into a malloc'd
 * buffer, starting at a line when cut.  Returns 0 or -1 with err.
 */
static int
state_slurp(int fd, const char *path, char **bufp, size_t *lenp, char *err)
{
	struct stat	 sb;
	char		*buf, *nl;
	off_t		 off = 0;
	size_t		 size, len = 0;
	ssize_t		 n;

	*bufp = NULL;
	*lenp = 0;
	if (fstat(fd, &sb) == -1) {
		state_err(err, "cannot read '%s': %s", path, strerror(errno));
		return -1;
	}
	size = (size_t)sb.st_size;
	if (size > STATE_LOG_READ_MAX) {
		off = sb.st_size - STATE_LOG_READ_MAX;
		size = STATE_LOG_READ_MAX;
	}
	if ((buf = malloc(size + 1)) == NULL) {
		state_err(err, "cannot read '%s': out of memory", path);
		return -1;
	}
	while (len < size) {
		n = pread(fd, buf + len, size - len, off + (off_t)len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			state_err(err, "cannot read '%s': %s", path,
			    strerror(errno));
			free(buf);
			return -1;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (off > 0) {
		/* The first line is cut: drop it. */
		nl = memchr(buf, '\n', len);
		n = nl != NULL ? nl + 1 - buf : (ssize_t)len;
		memmove(buf, buf + n, len - (size_t)n);
		len -= (size_t)n;
	}
	buf[len] = '\0';
	*bufp = buf;
	*lenp = len;
	return 0;
}

/* Count the log's lines; a log too big to read is due for compacting. */
static void
state_count_log(struct state *st)
{
	char	buf[65536], *p;
	ssize_t	n;
	int	fd;

	st->log_entries = st->log_bytes = 0;
	if ((fd = open(st->logpath, O_RDONLY | O_CLOEXEC)) == -1)
		return;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		st->log_bytes += (size_t)n;
		for (p = buf; (p = memchr(p, '\n', (size_t)(buf + n - p))) !=
		    NULL; p++)
			st->log_entries++;
		if (st->log_bytes > STATE_LOG_READ_MAX) {
			st->log_entries = STATE_LOG_MAX + 1;
			break;
		}
	}
	close(fd);
}

int
state_open(struct state *st, const char *dir, const char *name, char *err)
{
	uint64_t	v;
	int		n, r;

	state_init(st);
	if (state_mkdirs(dir, err) == -1)
		return -1;
	n = snprintf(st->seqpath, sizeof(st->seqpath), "%s/%s.seq", dir,
	    name);
	r = snprintf(st->logpath, sizeof(st->logpath), "%s/%s.log", dir,
	    name);
	(void)snprintf(st->histpath, sizeof(st->histpath), "%s/%s.hist",
	    dir, name);
	/* Room for mkstemp's ".XXXXXX" too (.hist is one longer). */
	if (n < 0 || r < 0 || (size_t)n + 9 >= sizeof(st->seqpath) ||
	    (size_t)r + 9 >= sizeof(st->logpath)) {
		state_init(st);
		state_err(err, "state directory name too long");
		return -1;
	}
	state_count_log(st);
	r = state_read_seq(st->seqpath, &v, st->epoch, err);
	if (r == 0) {
		st->have_seq = 1;
		st->seq = v;
	}
	return r == -1 ? -1 : 0;
}

int
state_since(const struct state *st, uint64_t *since, char *epoch)
{
	if (epoch != NULL)
		snprintf(epoch, CODEC_MAX_EPOCH + 1, "%s", st->epoch);
	if (!st->have_seq)
		return 0;
	*since = st->seq;
	return 1;
}

int
state_is_dup(const struct state *st, uint64_t seq)
{
	return seq != 0 && st->have_seq && seq <= st->seq;
}

void
state_shown(struct state *st, uint64_t seq)
{
	if (seq == 0 || (st->have_seq && seq <= st->seq))
		return;
	st->have_seq = 1;
	st->seq = seq;
	st->dirty = 1;
}

uint64_t
state_resumed(struct state *st, uint64_t since, uint64_t first,
    uint64_t last, const char *epoch, int reset)
{
	if (epoch != NULL && state_epoch_ok(epoch) &&
	    strcmp(epoch, st->epoch) != 0) {
		snprintf(st->epoch, sizeof(st->epoch), "%s", epoch);
		st->reset = 1;		/* written as is, not merged */
		st->dirty = st->have_seq;
	}
	/* Our cursor was from another numbering, or it restarted. */
	if (st->have_seq && (reset || since < st->seq)) {
		st->seq = since;
		st->reset = 1;
		st->dirty = 1;
	}
	if (since < UINT64_MAX && first > since + 1)
		return first - since - 1;
	if (first == 0 && last > since)
		return last - since;
	return 0;
}

/* Write all of p or fail. */
static int
state_write_all(int fd, const char *p, size_t len)
{
	ssize_t	n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Replace path with len bytes of p: a temporary file beside it, then
 * rename(2).  Returns 0 or -1 with err.
 */
static int
state_replace(const char *path, const char *p, size_t len, char *err)
{
	char	tmp[PATH_MAX];
	int	fd, saved;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >=
	    sizeof(tmp)) {
		state_err(err, "cannot write '%s': name too long", path);
		return -1;
	}
	if ((fd = mkstemp(tmp)) == -1) {
		state_err(err, "cannot write '%s': %s", path, strerror(errno));
		return -1;
	}
	if (state_write_all(fd, p, len) == -1 || close(fd) == -1) {
		saved = errno;
		close(fd);
		unlink(tmp);
		state_err(err, "cannot write '%s': %s", path, strerror(saved));
		return -1;
	}
	if (rename(tmp, path) == -1) {
		saved = errno;
		unlink(tmp);
		state_err(err, "cannot write '%s': %s", path, strerror(saved));
		return -1;
	}
	return 0;
}

int
state_flush(struct state *st, uint64_t now_ms, int force, char *err)
{
	char		buf[32 + CODEC_MAX_EPOCH + 2];
	char		oepoch[CODEC_MAX_EPOCH + 1];
	uint64_t	v, other;
	int		n;

	if (!st->dirty || !st->have_seq)
		return 0;
	if (st->seqpath[0] == '\0') {
		st->dirty = 0;
		return 0;
	}
	if (!force && st->saved_at != 0 &&
	    now_ms - st->saved_at < STATE_SAVE_MS)
		return 0;
	/* Failed or not, the next try waits: no write storm on ENOSPC. */
	st->saved_at = now_ms;
	v = st->seq;
	/* Another client of this user got further in the same numbering. */
	if (!st->reset && state_read_seq(st->seqpath, &other, oepoch,
	    NULL) == 0 && other > v && strcmp(oepoch, st->epoch) == 0)
		v = other;
	if (st->epoch[0] != '\0')
		n = snprintf(buf, sizeof(buf), "%llu %s\n",
		    (unsigned long long)v, st->epoch);
	else
		n = snprintf(buf, sizeof(buf), "%llu\n",
		    (unsigned long long)v);
	if (state_replace(st->seqpath, buf, (size_t)n, err) == -1)
		return -1;
	st->dirty = 0;
	st->reset = 0;
	return 0;
}

int
state_timeout(const struct state *st, uint64_t now_ms)
{
	uint64_t	at;

	if (!st->dirty || !st->have_seq || st->seqpath[0] == '\0')
		return -1;
	if (st->saved_at == 0)
		return 0;
	at = st->saved_at + STATE_SAVE_MS;
	return at <= now_ms ? 0 : (int)(at - now_ms);
}

/* Where to cut text to keep at most max bytes, at a character start. */
static size_t
state_cut(const char *text, size_t len, size_t max)
{
	if (len <= max)
		return len;
	while (max > 0 && ((unsigned char)text[max] & 0xc0) == 0x80)
		max--;
	return max;
}

/* Parse one log line into e (e->text malloc'd).  Returns 0 or -1. */
static int
state_parse(const char *p, size_t len, struct state_entry *e)
{
	json_t		*o, *v;
	json_error_t	 jerr;
	const char	*s;
	int		 r = -1;

	memset(e, 0, sizeof(*e));
	if ((o = json_loadb(p, len, JSON_ALLOW_NUL, &jerr)) == NULL)
		return -1;
	if (!json_is_object(o))
		goto out;
	if (!json_is_integer(v = json_object_get(o, "ts")) ||
	    json_integer_value(v) < 0)
		goto out;
	e->ts = (uint64_t)json_integer_value(v);
	if ((s = json_string_value(json_object_get(o, "dir"))) == NULL)
		goto out;
	if (strcmp(s, "in") == 0)
		e->way = STATE_IN;
	else if (strcmp(s, "out") == 0)
		e->way = STATE_OUT;
	else
		goto out;
	if ((v = json_object_get(o, "seq")) != NULL) {
		if (!json_is_integer(v) || json_integer_value(v) < 0)
			goto out;
		e->seq = (uint64_t)json_integer_value(v);
	}
	v = json_object_get(o, "from");
	if (!json_is_string(v) || !codec_valid_user(json_string_value(v),
	    json_string_length(v)))
		goto out;
	snprintf(e->from, sizeof(e->from), "%s", json_string_value(v));
	v = json_object_get(o, "to");
	if (!json_is_string(v) || !codec_valid_user(json_string_value(v),
	    json_string_length(v)))
		goto out;
	snprintf(e->to, sizeof(e->to), "%s", json_string_value(v));
	if ((v = json_object_get(o, "room")) != NULL) {
		if (!json_is_string(v) || !codec_valid_room(
		    json_string_value(v), json_string_length(v)))
			goto out;
		snprintf(e->room, sizeof(e->room), "%s",
		    json_string_value(v));
	}
	if ((v = json_object_get(o, "status")) != NULL) {
		if (!json_is_string(v) ||
		    json_string_length(v) >= sizeof(e->status))
			goto out;
		snprintf(e->status, sizeof(e->status), "%s",
		    json_string_value(v));
	}
	v = json_object_get(o, "text");
	if (!json_is_string(v) || json_string_length(v) > STATE_MAX_TEXT)
		goto out;
	e->len = json_string_length(v);
	if ((e->text = malloc(e->len + 1)) == NULL)
		goto out;
	memcpy(e->text, json_string_value(v), e->len + 1);
	r = 0;
out:
	json_decref(o);
	return r;
}

/*
 * Rewrite the log with its last entries (see state.h).  Called with
 * the lock held on fd.  Returns 0 or -1 with err.
 */
static int
state_compact(struct state *st, int fd, char *err)
{
	struct state_entry	  e;
	char			 *buf, *out = NULL;
	size_t			  len, i, start, end, n = 0, keep, bytes;
	size_t			 *lines = NULL, cap = 0;
	int			  r = -1;

	if (state_slurp(fd, st->logpath, &buf, &len, err) == -1)
		return -1;
	/* Offsets of the valid lines: lines[2k] start, lines[2k+1] end. */
	for (start = 0; start < len; start = end + 1) {
		char	*nl = memchr(buf + start, '\n', len - start);

		if (nl == NULL)
			break;		/* cut short: dropped */
		end = (size_t)(nl - buf);
		if (end == start || state_parse(buf + start, end - start,
		    &e) == -1)
			continue;
		free(e.text);
		if (n + 2 > cap) {
			size_t	*nlines;

			cap = cap == 0 ? 256 : cap * 2;
			if ((nlines = reallocarray(lines, cap,
			    sizeof(*lines))) == NULL) {
				state_err(err, "cannot compact '%s': out of "
				    "memory", st->logpath);
				goto done;
			}
			lines = nlines;
		}
		lines[n++] = start;
		lines[n++] = end + 1;
	}
	n /= 2;
	/* The last KEEP entries within KEEP_BYTES, but at least one. */
	keep = 0;
	bytes = 0;
	for (i = n; i > 0 && keep < STATE_LOG_KEEP; i--) {
		size_t	l = lines[2 * (i - 1) + 1] - lines[2 * (i - 1)];

		if (keep > 0 && bytes + l > STATE_LOG_KEEP_BYTES)
			break;
		bytes += l;
		keep++;
	}
	if ((out = malloc(bytes + 1)) == NULL) {
		state_err(err, "cannot compact '%s': out of memory",
		    st->logpath);
		goto done;
	}
	for (i = n - keep, len = 0; i < n; i++) {
		memcpy(out + len, buf + lines[2 * i],
		    lines[2 * i + 1] - lines[2 * i]);
		len += lines[2 * i + 1] - lines[2 * i];
	}
	if (state_replace(st->logpath, out, len, err) == -1)
		goto done;
	st->log_entries = keep;
	st->log_bytes = len;
	r = 0;
done:
	free(out);
	free(lines);
	free(buf);
	return r;
}

int
state_log_add(struct state *st, const struct state_entry *e, char *err)
{
	json_t		*o, *text;
	struct stat	 sb;
	char		*line, *nline, last;
	size_t		 len;
	int		 fd, r = 0;

	if (st->logpath[0] == '\0')
		return 0;
	text = json_stringn(e->text, state_cut(e->text, e->len,
	    STATE_MAX_TEXT));
	if (text == NULL) {
		state_err(err, "cannot log a message: not valid UTF-8");
		return -1;
	}
	if ((o = json_object()) == NULL ||
	    json_object_set_new(o, "ts", json_integer((json_int_t)e->ts)) ||
	    json_object_set_new(o, "dir", json_string(e->way == STATE_IN ?
	    "in" : "out")) ||
	    (e->seq != 0 && json_object_set_new(o, "seq",
	    json_integer((json_int_t)e->seq))) ||
	    json_object_set_new(o, "from", json_string(e->from)) ||
	    json_object_set_new(o, "to", json_string(e->to)) ||
	    (e->room[0] != '\0' && json_object_set_new(o, "room",
	    json_string(e->room))) ||
	    (e->status[0] != '\0' && json_object_set_new(o, "status",
	    json_string(e->status)))) {
		json_decref(text);
		json_decref(o);
		state_err(err, "cannot log a message: out of memory");
		return -1;
	}
	/* The text last, for people reading the file; set_new takes it. */
	if (json_object_set_new(o, "text", text)) {
		json_decref(o);
		state_err(err, "cannot log a message: out of memory");
		return -1;
	}
	line = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (line == NULL ||
	    (nline = realloc(line, (len = strlen(line)) + 2)) == NULL) {
		free(line);
		state_err(err, "cannot log a message: out of memory");
		return -1;
	}
	line = nline;
	line[len++] = '\n';
	line[len] = '\0';

	if ((fd = state_lock(st->logpath, O_RDWR | O_APPEND | O_CREAT)) ==
	    -1) {
		state_err(err, "cannot write '%s': %s", st->logpath,
		    strerror(errno));
		free(line);
		return -1;
	}
	/* A line cut short by a crash must not swallow this one. */
	if (fstat(fd, &sb) == 0 && sb.st_size > 0 &&
	    pread(fd, &last, 1, sb.st_size - 1) == 1 && last != '\n')
		(void)state_write_all(fd, "\n", 1);
	if (state_write_all(fd, line, len) == -1) {
		state_err(err, "cannot write '%s': %s", st->logpath,
		    strerror(errno));
		r = -1;
	} else {
		st->log_entries++;
		st->log_bytes += len;
		if (st->log_entries > STATE_LOG_MAX ||
		    st->log_bytes > STATE_LOG_MAX_BYTES)
			r = state_compact(st, fd, err);
	}
	close(fd);
	free(line);
	return r;
}

/* Whether a and b are the same received message, logged twice. */
static int
state_same(const struct state_entry *a, const struct state_entry *b)
{
	return a->way == STATE_IN && b->way == STATE_IN && a->seq != 0 &&
	    a->seq == b->seq && strcmp(a->from, b->from) == 0 &&
	    a->len == b->len && memcmp(a->text, b->text, a->len) == 0;
}

int
state_log_tail(const struct state *st, size_t n, struct state_entry **ep,
    size_t *np, char *err)
{
	struct state_entry	*e, tmp;
	char			*buf;
	size_t			 len, end, pos, k = 0, i;
	int			 fd, dup;

	*ep = NULL;
	*np = 0;
	if (st->logpath[0] == '\0' || n == 0)
		return 0;
	if ((fd = open(st->logpath, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			return 0;
		state_err(err, "cannot read '%s': %s", st->logpath,
		    strerror(errno));
		return -1;
	}
	if (state_slurp(fd, st->logpath, &buf, &len, err) == -1) {
		close(fd);
		return -1;
	}
	close(fd);
	if ((e = calloc(n, sizeof(*e))) == NULL) {
		free(buf);
		state_err(err, "cannot read '%s': out of memory", st->logpath);
		return -1;
	}
	/* From the end back, line by line. */
	for (end = len; end > 0 && k < n; end = pos) {
		pos = end;
		if (buf[pos - 1] == '\n')
			pos--;
		i = pos;
		while (pos > 0 && buf[pos - 1] != '\n')
			pos--;
		if (i == pos || state_parse(buf + pos, i - pos, &tmp) == -1)
			continue;
		for (dup = 0, i = 0; i < k && !dup; i++)
			dup = state_same(&e[i], &tmp);
		if (dup) {
			free(tmp.text);
			continue;
		}
		e[k++] = tmp;
	}
	free(buf);
	for (i = 0; i < k / 2; i++) {
		tmp = e[i];
		e[i] = e[k - 1 - i];
		e[k - 1 - i] = tmp;
	}
	if (k == 0) {
		free(e);
		e = NULL;
	}
	*ep = e;
	*np = k;
	return 0;
}

void
state_entries_free(struct state_entry *e, size_t n)
{
	size_t	i;

	if (e == NULL)
		return;
	for (i = 0; i < n; i++)
		free(e[i].text);
	free(e);
}

int
state_hist_read(const struct state *st, size_t max,
    void (*add)(void *arg, const char *s, size_t len), void *arg,
    char *err)
{
	char		*buf, *p, *nl, *end;
	size_t		 len, nlines = 0, skip;
	json_t		*v;
	json_error_t	 jerr;
	int		 fd;

	if (st->histpath[0] == '\0')
		return 0;
	if ((fd = open(st->histpath, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			return 0;
		state_err(err, "cannot read '%s': %s", st->histpath,
		    strerror(errno));
		return -1;
	}
	if (state_slurp(fd, st->histpath, &buf, &len, err) == -1) {
		close(fd);
		return -1;
	}
	close(fd);
	end = buf + len;
	for (p = buf; p < end && (nl = memchr(p, '\n', (size_t)(end - p))) !=
	    NULL; p = nl + 1)
		nlines++;
	skip = nlines > max ? nlines - max : 0;
	for (p = buf; p < end && (nl = memchr(p, '\n', (size_t)(end - p))) !=
	    NULL; p = nl + 1) {
		if (skip > 0) {
			skip--;
			continue;
		}
		v = json_loadb(p, (size_t)(nl - p), JSON_DECODE_ANY, &jerr);
		if (json_is_string(v))
			add(arg, json_string_value(v), json_string_length(v));
		json_decref(v);
	}
	free(buf);
	return 0;
}

int
state_hist_write(const struct state *st, char *const *lines,
    const size_t *lens, size_t n, char *err)
{
	json_t	*v;
	char	*buf = NULL, *s, *p;
	size_t	 i, len = 0, cap = 0, sl;
	int	 r;

	if (st->histpath[0] == '\0')
		return 0;
	for (i = 0; i < n; i++) {
		if (lens[i] > STATE_MAX_TEXT ||
		    (v = json_stringn(lines[i], lens[i])) == NULL)
			continue;
		s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
		json_decref(v);
		if (s == NULL)
			continue;
		sl = strlen(s);
		if (len + sl + 1 > cap) {
			cap = (len + sl + 1) * 2;
			if ((p = realloc(buf, cap)) == NULL) {
				free(s);
				free(buf);
				state_err(err, "cannot write '%s': out of "
				    "memory", st->histpath);
				return -1;
			}
			buf = p;
		}
		memcpy(buf + len, s, sl);
		len += sl;
		buf[len++] = '\n';
		free(s);
	}
	r = state_replace(st->histpath, buf != NULL ? buf : "", len, err);
	free(buf);
	return r;
}
