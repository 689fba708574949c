/*
 * Copyright (c) 2026 The chat authors.
 *
 * options: one table of chat-server's settings (long name, short
 * letter, kind, range, default, the field it sets, help text, whether
 * a reload may change it), as tmux's options-table.c drives its
 * options.  From it come the getopt_long() strings, --help, the range
 * errors, the configuration file's names and SIGHUP's rules, so that
 * none of them can drift from the others; tests/integ/test_manpages.py
 * holds the manual to it.
 *
 * Every string and secret put in a struct server_config is owned here
 * and freed by options_release().  A reload builds a whole new
 * configuration the same way as the start did, then swaps the fields
 * that may change into the running one: the old values leave with the
 * new configuration, so nothing is freed while in use.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "options.h"
#include "server.h"
#include "users.h"
#include "util.h"

/* How a value is read. */
enum opt_kind {
	OK_FLAG,		/* no value */
	OK_INT,			/* integer in [min, max] */
	OK_SIZE,		/* N[k|m|g] bytes */
	OK_DURATION,		/* N[us|ms|s|m|h], stored in ms */
	OK_DURATION_US,		/* the same, stored in us */
	OK_REAL,		/* decimal number in [min, max] */
	OK_STRING,		/* non-empty text */
	OK_CHOICE		/* one of the words in choices */
};

/* How the field it sets is stored. */
enum opt_type {
	OT_NONE,
	OT_INT,			/* int */
	OT_U32,			/* uint32_t */
	OT_SIZE,		/* size_t */
	OT_U64,			/* uint64_t */
	OT_DOUBLE,		/* double */
	OT_STR,			/* char *, owned */
	OT_STRV,		/* const char **, owned, count at off2 */
	OT_BYTES		/* uint8_t *, owned, length at off2 */
};

enum opt_flags {
	OF_RELOAD = 1 << 0,	/* SIGHUP may change it */
	OF_CMDLINE = 1 << 1,	/* not in a configuration file */
	OF_HIDDEN = 1 << 2,	/* an old name: not in the usage or --help */
	OF_SECRET = 1 << 3,	/* never logged */
	OF_REPEAT = 1 << 4,	/* each use adds one (a list) */
	OF_NONEMPTY = 1 << 5,	/* OK_STRING: "" is refused */
	OF_INTERNAL = 1 << 6	/* not an option: a field read from a file
				   named by one, swapped and freed alike */
};

struct opt_ctx;
struct opt;

/* A setter for what the kinds above do not cover.  0 or -1 with err. */
typedef int (*opt_setter)(struct server_config *, const struct opt *,
    const char *value, struct opt_ctx *, char *err, size_t errlen);

struct opt {
	const char	*name;		/* long name, and in the file */
	int		 letter;	/* short option, or 0 */
	enum opt_kind	 kind;
	double		 min, max;	/* the numbers' kinds: in their units */
	const char	*zero;		/* what min 0 means, for errors */
	const char	*choices;	/* OK_CHOICE: "a|b", stored as 0, 1 */
	const char	*def;		/* default, parsed as a value */
	enum opt_type	 type;
	size_t		 off, off2;	/* the field(s) in server_config */
	opt_setter	 set;		/* instead of the kind's own */
	int		 flags;
	const char	*syn;		/* the argument in the usage */
	const char	*arg;		/* the argument in --help */
	const char	*help;		/* "\n" starts a continuation line */
};

/* One load: where values come from and what was given. */
struct opt_ctx {
	const char	*file;		/* NULL: the command line */
	unsigned	 line;
	unsigned char	*given;		/* per option: set by file or argv */
	unsigned char	*cmdline;	/* per option: set by argv */
};

#define CFG(f)		offsetof(struct server_config, f)

static int	set_origin(struct server_config *, const struct opt *,
		    const char *, struct opt_ctx *, char *, size_t);
static int	set_cluster(struct server_config *, const struct opt *,
		    const char *, struct opt_ctx *, char *, size_t);
static int	set_either(struct server_config *, const struct opt *,
		    const char *, struct opt_ctx *, char *, size_t);
static int	set_level(struct server_config *, const struct opt *,
		    const char *, struct opt_ctx *, char *, size_t);
static int	set_nothing(struct server_config *, const struct opt *,
		    const char *, struct opt_ctx *, char *, size_t);

/*
 * The table, in the order of the manual's list: by the name shown
 * first (the letter if there is one), ignoring case.
 */
static const struct opt opts[] = {
	{ "allow-origin", 0, OK_STRING, 0, 0, NULL, NULL, NULL, OT_STRV,
	    CFG(origins), CFG(norigins), set_origin,
	    OF_RELOAD | OF_REPEAT | OF_NONEMPTY, "origin", "ORIGIN",
	    "refuse browsers from other origins (repeat)" },
	{ "burst", 0, OK_INT, 1, 1000000, NULL, NULL, "20", OT_U32,
	    CFG(burst), 0, NULL, OF_RELOAD, "n", "N",
	    "messages at once under --rate" },
	{ "cert", 'C', OK_STRING, 0, 0, NULL, NULL, NULL, OT_STR,
	    CFG(cert), 0, NULL, OF_RELOAD | OF_NONEMPTY, "cert", "FILE",
	    "TLS certificate chain (PEM): serve wss://" },
	{ "max-clients", 'c', OK_INT, 1, 1000000, NULL, NULL, "10000",
	    OT_SIZE, CFG(max_clients), 0, NULL, OF_RELOAD, "max-clients", "N",
	    "connections at once" },
	{ "cluster", 0, OK_STRING, 0, 0, NULL, NULL, NULL, OT_STR,
	    CFG(cluster), 0, set_cluster, OF_NONEMPTY, "url[,url ...]",
	    "URLS", "join the nodes on these NATS servers\n"
	    "(nats://host:port, comma-separated)" },
	{ "cluster-ca", 0, OK_STRING, 0, 0, NULL, NULL, NULL, OT_STR,
	    CFG(cluster_ca), 0, NULL, OF_NONEMPTY, "file", "FILE",
	    "TLS to NATS: trust these CA certificates" },
	{ "cluster-cert", 0, OK_STRING, 0, 0, NULL, NULL, NULL, OT_STR,
	    CFG(cluster_cert), 0, NULL, OF_NONEMPTY, "file", "FILE",
	    "TLS to NATS: this node's certificate (PEM)" },
	{ "cluster-creds", 0, OK_STRING, 0, 0, NULL, NULL, NULL, OT_STR,
	    CFG(cluster_creds), 0, NULL, OF_NONEMPTY, "file", "FILE",
	    "NATS credentials (user JWT and seed)" },
	{ "cluster-key", 0, OK_STRING, 0, 0, NULL, NULL, NULL, OT_STR,
	    CFG(cluster_key), 0, NULL, OF_NONEMPTY, "file", "FILE",
	    "private key for --cluster-cert (PEM)" },
	{ "cluster-replicas", 0, OK_INT, 1, 5, NULL, NULL, "1", OT_INT,
	    CFG(store.replicas), 0, NULL, 0, "n", "N",
	    "JetStream replicas of the streams" },
	{ "cluster-secret-file", 0, OK_STRING, 0, 0, NULL, NULL, NULL, OT_STR,
	    CFG(cluster_secret_file), 0, NULL, OF_NONEMPTY, "file", "FILE",
	    "sign and check node-to-node messages with\n"
	    "the secret in FILE" },
	{ "cluster-secret", 0, OK_STRING, 0, 0, NULL, NULL, NULL, OT_BYTES,
	    CFG(cluster_secret), CFG(cluster_secretlen), NULL,
	    OF_INTERNAL | OF_SECRET, NULL, NULL, NULL },
	{ "config", 0, OK_STRING, 0, 0, NULL, NULL, NULL, OT_STR,
	    CFG(config), 0, NULL, OF_CMDLINE | OF_NONEMPTY, "file", "FILE",
	    "read settings from FILE first (lines of\n"
	    "'name value', the long option names)" },
	{ "help", 'h', OK_FLAG, 0, 0, NULL, NULL, NULL, OT_NONE, 0, 0,
	    set_nothing, OF_CMDLINE, NULL, NULL,
	    "show this help and exit" },
	{ "history-bytes", 0, OK_SIZE, 1024, 1099511627776.0, NULL, NULL,
	    NULL, OT_SIZE, CFG(store.history_bytes), 0, NULL, 0, "size",
	    "SIZE", "bytes kept, all users (default 64m, 1g\n"
	    "with --store; --queue-bytes is the old name)" },
	{ "queue-bytes", 0, OK_SIZE, 1024, 1099511627776.0, NULL, NULL,
	    NULL, OT_SIZE, CFG(store.history_bytes), 0, NULL, OF_HIDDEN,
	    "size", "SIZE", NULL },
	{ "history-days", 0, OK_REAL, 0, 36500, "no limit", NULL, "30",
	    OT_DOUBLE, CFG(store.history_days), 0, NULL, 0, "days", "DAYS",
	    "keep delivered messages DAYS" },
	{ "history-limit", 0, OK_INT, 1, 10000000, NULL, NULL, "1000",
	    OT_SIZE, CFG(store.history_limit), 0, NULL, 0, "n", "N",
	    "messages kept per user" },
	{ "idle-timeout", 'I', OK_DURATION, 0, 86400000, "off", NULL, "75s",
	    OT_U64, CFG(idle_timeout), 0, NULL, OF_RELOAD, "idle-timeout",
	    "DUR", "close clients silent this long" },
	{ "ping-interval", 'i', OK_DURATION, 0, 86400000, "off", NULL, "30s",
	    OT_U64, CFG(ping_interval), 0, NULL, OF_RELOAD, "ping-interval",
	    "DUR", "ping clients silent this long" },
	{ "jwt-secret-file", 0, OK_STRING, 0, 0, NULL, NULL, NULL, OT_STR,
	    CFG(jwt_secret_file), 0, NULL, OF_RELOAD | OF_NONEMPTY, "file",
	    "FILE", "require HS256 tokens signed with FILE" },
	{ "jwt-secret", 0, OK_STRING, 0, 0, NULL, NULL, NULL, OT_BYTES,
	    CFG(jwt_key), CFG(jwt_keylen), NULL,
	    OF_INTERNAL | OF_RELOAD | OF_SECRET, NULL, NULL, NULL },
	{ "key", 'K', OK_STRING, 0, 0, NULL, NULL, NULL, OT_STR, CFG(key), 0,
	    NULL, OF_RELOAD | OF_NONEMPTY, "key", "FILE",
	    "private key for --cert (PEM)" },
	{ "listen", 'l', OK_STRING, 0, 0, NULL, NULL, "127.0.0.1", OT_STR,
	    CFG(listen), 0, NULL, OF_NONEMPTY, "address", "ADDR",
	    "address to bind" },
	{ "log-format", 0, OK_CHOICE, 0, 0, NULL, "text|json", "text",
	    OT_INT, CFG(log_json), 0, NULL, OF_RELOAD, "text | json",
	    "text|json", "log lines as text or JSON objects" },
	{ "max-message", 'm', OK_SIZE, 16, 16 << 20, NULL, NULL, "64k",
	    OT_SIZE, CFG(max_message), 0, NULL, 0, "max-message", "SIZE",
	    "largest message accepted" },
	{ "max-pending", 0, OK_INT, 1, 1000000, NULL, NULL, "1024", OT_SIZE,
	    CFG(max_pending), 0, NULL, OF_RELOAD, "n", "N",
	    "chat messages one connection may have\n"
	    "unanswered (then it is not read)" },
	{ "max-per-ip", 0, OK_INT, 1, 1000000, NULL, NULL, NULL, OT_SIZE,
	    CFG(max_per_ip), 0, NULL, 0, "n", "N",
	    "connections per address (default no limit)" },
	{ "max-output", 'o', OK_SIZE, 4096, 1 << 30, NULL, NULL, NULL,
	    OT_SIZE, CFG(max_output), 0, NULL, 0, "max-output", "SIZE",
	    "bytes buffered per client (default 1m,\n"
	    "or 7 times -m plus 32k if that is more)" },
	{ "port", 'p', OK_INT, 0, 65535, NULL, NULL, "8000", OT_INT,
	    CFG(port), 0, NULL, 0, "port", "N",
	    "port, 0 for any free one" },
	{ "poller", 0, OK_CHOICE, 0, 0, NULL, "epoll|poll", "epoll", OT_INT,
	    CFG(use_poll), 0, NULL, 0, "epoll | poll", "epoll|poll",
	    "how to wait for sockets" },
	{ "queue-limit", 'Q', OK_INT, 0, 10000000, NULL, NULL, "1000",
	    OT_SIZE, CFG(store.queue_limit), 0, NULL, 0, "queue-limit", "N",
	    "undelivered messages per user" },
	{ "quiet", 'q', OK_FLAG, 0, 0, NULL, NULL, NULL, OT_INT,
	    CFG(log_level), 0, set_level, OF_RELOAD, NULL, NULL,
	    "log warnings and errors only" },
	{ "rate", 0, OK_REAL, 0.01, 1000000, NULL, NULL, NULL, OT_DOUBLE,
	    CFG(rate), 0, NULL, OF_RELOAD, "msgs-per-s", "N",
	    "messages/s per connection (default no limit)" },
	{ "room-members", 0, OK_INT, 1, 1000000, NULL, NULL, "1000",
	    OT_SIZE, CFG(room_members), 0, NULL, 0, "n", "N",
	    "members per room" },
	{ "sender-bytes", 0, OK_SIZE, 1024, 1099511627776.0, NULL, NULL,
	    NULL, OT_SIZE, CFG(store.sender_bytes), 0, NULL, 0, "size",
	    "SIZE", "undelivered bytes per sender (default an\n"
	    "eighth of --history-bytes)" },
	{ "sender-limit", 0, OK_INT, 1, 100000000, NULL, NULL, "10000",
	    OT_SIZE, CFG(store.sender_limit), 0, NULL, 0, "n", "N",
	    "undelivered messages per sender" },
	{ "stats-token", 0, OK_STRING, 0, 0, NULL, NULL, NULL, OT_STR,
	    CFG(stats_token), 0, set_either, OF_RELOAD | OF_SECRET |
	    OF_NONEMPTY, "token", "TOKEN",
	    "require it for /stats and /metrics" },
	{ "stats-token-file", 0, OK_STRING, 0, 0, NULL, NULL, NULL, OT_STR,
	    CFG(stats_token_file), 0, set_either, OF_RELOAD | OF_NONEMPTY,
	    "file", "FILE", "the same, read from FILE" },
	{ "store", 0, OK_STRING, 0, 0, NULL, NULL, NULL, OT_STR,
	    CFG(store.path), 0, NULL, OF_NONEMPTY, "file", "FILE",
	    "keep inboxes in SQLite FILE (default memory)" },
	{ "store-delay", 0, OK_DURATION_US, 0, 100000, "off", NULL, "0",
	    OT_U64, CFG(store.commit_delay_us), 0, NULL, 0, "delay", "DUR",
	    "start commits at least DUR apart, the\n"
	    "messages between waiting" },
	{ "store-sync", 0, OK_CHOICE, 0, 0, NULL, "normal|full", "normal",
	    OT_INT, CFG(store.sync_full), 0, NULL, 0, "normal | full",
	    "MODE", "normal: survive a crash; full: also power\n"
	    "loss" },
	{ "target-bytes", 0, OK_SIZE, 1024, 1099511627776.0, NULL, NULL,
	    NULL, OT_SIZE, CFG(store.target_bytes), 0, NULL, 0, "size",
	    "SIZE", "undelivered bytes per user (default an\n"
	    "eighth of --history-bytes)" },
	{ "handshake-timeout", 't', OK_DURATION, 100, 3600000, NULL, NULL,
	    "10s", OT_U64, CFG(handshake_timeout), 0, NULL, OF_RELOAD,
	    "handshake-timeout", "DUR",
	    "time for TLS and the upgrade" },
	{ "tls-port", 0, OK_INT, 0, 65535, NULL, NULL, NULL, OT_INT,
	    CFG(tls_port), 0, NULL, 0, "port", "N",
	    "serve wss:// here, ws:// on --port" },
	{ "max-per-user", 'u', OK_INT, 1, 100000, NULL, NULL, "8", OT_SIZE,
	    CFG(max_per_user), 0, NULL, 0, "max-per-user", "N",
	    "connections per user id" },
	{ "user-rooms", 0, OK_INT, 1, USER_MAX_ROOMS, NULL, NULL, "100", OT_SIZE,
	    CFG(user_rooms), 0, NULL, 0, "n", "N", "rooms per user" },
	{ "version", 'V', OK_FLAG, 0, 0, NULL, NULL, NULL, OT_NONE, 0, 0,
	    set_nothing, OF_CMDLINE, NULL, NULL,
	    "print the version and exit" },
	{ "verbose", 'v', OK_FLAG, 0, 0, NULL, NULL, NULL, OT_INT,
	    CFG(log_level), 0, set_level, OF_RELOAD, NULL, NULL,
	    "log more (repeat for debug)" },
};
#define NOPTS	(sizeof(opts) / sizeof(opts[0]))

/* The command line, kept for a reload. */
static int	  saved_argc;
static char	**saved_argv;

static void __attribute__((format(printf, 3, 4)))
opt_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* "--port" on the command line, "'port'" in a file. */
static const char *
opt_shown(const struct opt *o, const struct opt_ctx *ctx, char *buf,
    size_t len)
{
	snprintf(buf, len, ctx->file == NULL ? "--%s" : "'%s'", o->name);
	return buf;
}

/* "FILE:LINE: " before an error from a file, "" otherwise. */
static const char *
opt_where(const struct opt_ctx *ctx, char *buf, size_t len)
{
	if (ctx->file == NULL)
		buf[0] = '\0';
	else
		snprintf(buf, len, "%s:%u: ", ctx->file, ctx->line);
	return buf;
}

/* v in the largest unit that divides it: 16m, 1g, 24h, 100ms. */
struct opt_unit {
	long long	 factor;
	const char	*suffix;
};

static void
fmt_scaled(char *buf, size_t len, double v, const struct opt_unit *u)
{
	long long	n = (long long)v;

	for (; u->factor > 1 && (n == 0 || n % u->factor != 0); u++)
		;
	snprintf(buf, len, "%lld%s", n / u->factor, n == 0 ? "" : u->suffix);
}

static void
fmt_bound(const struct opt *o, char *buf, size_t len, double v)
{
	static const struct opt_unit sizes[] = {
		{ 1073741824, "g" }, { 1048576, "m" }, { 1024, "k" }, { 1, "" }
	}, durations[] = {
		{ 3600000, "h" }, { 60000, "m" }, { 1000, "s" }, { 1, "ms" }
	}, durations_us[] = {
		{ 1000000, "s" }, { 1000, "ms" }, { 1, "us" }
	};

	switch (o->kind) {
	case OK_SIZE:
		fmt_scaled(buf, len, v, sizes);
		break;
	case OK_DURATION:
		fmt_scaled(buf, len, v, durations);
		break;
	case OK_DURATION_US:
		fmt_scaled(buf, len, v, durations_us);
		break;
	case OK_REAL:
		snprintf(buf, len, "%.15g", v);
		break;
	default:
		snprintf(buf, len, "%.0f", v);
		break;
	}
}

/*
 * The accepted values, for an error: "expected 0 (off) to 24h", what
 * ("whole milliseconds, ") before the numbers' range.
 */
static void
opt_range(const struct opt *o, const char *what, char *buf, size_t len)
{
	char	lo[32], hi[32], alt[160];
	size_t	i, n;

	switch (o->kind) {
	case OK_CHOICE:
		/* "a|b|c": "expected a, b or c". */
		for (i = 0, n = 0; o->choices[i] != '\0' && n + 4 < sizeof(alt);
		    i++) {
			if (o->choices[i] != '|')
				alt[n++] = o->choices[i];
			else if (strchr(o->choices + i + 1, '|') != NULL) {
				alt[n++] = ',';
				alt[n++] = ' ';
			} else {
				memcpy(alt + n, " or ", 4);
				n += 4;
			}
		}
		alt[n] = '\0';
		snprintf(buf, len, "expected %s", alt);
		return;
	case OK_STRING:
		snprintf(buf, len, "expected a non-empty value");
		return;
	case OK_FLAG:
		snprintf(buf, len, "takes no value");
		return;
	default:
		break;
	}
	fmt_bound(o, lo, sizeof(lo), o->min);
	fmt_bound(o, hi, sizeof(hi), o->max);
	snprintf(buf, len, "expected %s%s%s%s%s to %s%s", what, lo,
	    o->zero != NULL && o->min == 0 ? " (" : "",
	    o->zero != NULL && o->min == 0 ? o->zero : "",
	    o->zero != NULL && o->min == 0 ? ")" : "", hi,
	    o->kind == OK_SIZE ? " bytes" : "");
}

static void *
field(struct server_config *cfg, size_t off)
{
	return (char *)cfg + off;
}

static void
store_number(struct server_config *cfg, const struct opt *o, double d,
    long long v)
{
	void	*p = field(cfg, o->off);

	switch (o->type) {
	case OT_INT:
		*(int *)p = (int)v;
		break;
	case OT_U32:
		*(uint32_t *)p = (uint32_t)v;
		break;
	case OT_SIZE:
		*(size_t *)p = (size_t)v;
		break;
	case OT_U64:
		*(uint64_t *)p = (uint64_t)v;
		break;
	case OT_DOUBLE:
		*(double *)p = d;
		break;
	default:
		break;
	}
}

/* Replace an owned string field with a copy of value. */
static int
store_string(struct server_config *cfg, size_t off, const char *value,
    int secret)
{
	char	**p = field(cfg, off), *copy;

	if ((copy = strdup(value)) == NULL)
		return -1;
	if (*p != NULL && secret)
		explicit_bzero(*p, strlen(*p));
	free(*p);
	*p = copy;
	return 0;
}

/* Set one option from one value (NULL for a flag). */
static int
opt_apply(struct server_config *cfg, const struct opt *o, const char *value,
    struct opt_ctx *ctx, char *err, size_t errlen)
{
	char		 where[PATH_MAX + 32], name[64], range[200], esc[96];
	char		*end;
	long long	 v = 0;
	double		 d = 0;
	int		 bad = 0, finer = 0;
	size_t		 i, n;
	const char	*p;

	if (value == NULL && o->kind != OK_FLAG) {
		opt_err(err, errlen, "%s%s needs a value", opt_where(ctx, where,
		    sizeof(where)), opt_shown(o, ctx, name, sizeof(name)));
		return -1;
	}
	if (value != NULL && o->kind == OK_FLAG) {
		opt_err(err, errlen, "%s%s takes no value", opt_where(ctx,
		    where, sizeof(where)), opt_shown(o, ctx, name,
		    sizeof(name)));
		return -1;
	}
	switch (o->kind) {
	case OK_FLAG:
		break;
	case OK_INT:
		bad = util_parse_ll(value, (long long)o->min,
		    (long long)o->max, &v) != 0;
		break;
	case OK_SIZE:
		bad = util_parse_size(value, (long long)o->min,
		    (long long)o->max, &v) != 0;
		break;
	case OK_DURATION:
		/* Read in us, so that a finer value can be told as such. */
		bad = util_parse_duration_us(value, (long long)o->min * 1000,
		    (long long)o->max * 1000, &v) != 0;
		if (!bad && v % 1000 != 0)
			bad = finer = 1;
		v /= 1000;
		break;
	case OK_DURATION_US:
		bad = util_parse_duration_us(value, (long long)o->min,
		    (long long)o->max, &v) != 0;
		break;
	case OK_REAL:
		errno = 0;
		d = strtod(value, &end);
		bad = errno != 0 || end == value || *end != '\0' ||
		    isspace((unsigned char)*value) ||
		    !(d >= o->min && d <= o->max);
		break;
	case OK_STRING:
		bad = (o->flags & OF_NONEMPTY) && *value == '\0';
		break;
	case OK_CHOICE:
		bad = 1;
		for (i = 0, p = o->choices; *p != '\0'; i++) {
			n = strcspn(p, "|");
			if (strlen(value) == n && strncmp(value, p, n) == 0) {
				v = (long long)i;
				bad = 0;
				break;
			}
			p += n + (p[n] == '|');
		}
		break;
	}
	if (bad) {
		opt_range(o, finer ? "whole milliseconds, " : "", range,
		    sizeof(range));
		opt_err(err, errlen, "%sinvalid value '%s' for %s: %s",
		    opt_where(ctx, where, sizeof(where)),
		    util_escape(esc, sizeof(esc), value, strlen(value)),
		    opt_shown(o, ctx, name, sizeof(name)), range);
		return -1;
	}
	if (o->set != NULL)
		return o->set(cfg, o, value, ctx, err, errlen);
	if (o->type == OT_STR) {
		if (store_string(cfg, o->off, value, o->flags & OF_SECRET) ==
		    -1) {
			opt_err(err, errlen, "out of memory");
			return -1;
		}
	} else
		store_number(cfg, o, o->kind == OK_REAL ? d : (double)v, v);
	return 0;
}

static void
strv_free(const char **v, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		free((char *)v[i]);
	free(v);
}

/* --allow-origin: the command line's list replaces the file's. */
static int
set_origin(struct server_config *cfg, const struct opt *o, const char *value,
    struct opt_ctx *ctx, char *err, size_t errlen)
{
	const char	**v;
	char		 *copy;

	if (ctx->file == NULL && !ctx->cmdline[o - opts]) {
		strv_free(cfg->origins, cfg->norigins);
		cfg->origins = NULL;
		cfg->norigins = 0;
	}
	if (cfg->norigins >= 256) {
		opt_err(err, errlen, "more than 256 origins");
		return -1;
	}
	if ((copy = strdup(value)) == NULL || (v = realloc(cfg->origins,
	    (cfg->norigins + 1) * sizeof(*v))) == NULL) {
		free(copy);
		opt_err(err, errlen, "out of memory");
		return -1;
	}
	v[cfg->norigins++] = copy;
	cfg->origins = v;
	return 0;
}

/* --cluster: 1 to 16 comma-separated nats://HOST[:PORT] URLs. */
static int
cluster_urls_ok(const char *v)
{
	const char	*p = v, *end;
	size_t		 n = 0;

	for (;;) {
		end = strchr(p, ',');
		if (end == NULL)
			end = p + strlen(p);
		if ((size_t)(end - p) <= 7 || strncmp(p, "nats://", 7) != 0 ||
		    ++n > 16)
			return 0;
		if (*end == '\0')
			return strlen(v) < 512;
		p = end + 1;
	}
}

static int
set_cluster(struct server_config *cfg, const struct opt *o, const char *value,
    struct opt_ctx *ctx, char *err, size_t errlen)
{
	char	where[PATH_MAX + 32], name[64];

	if (!cluster_urls_ok(value)) {
		/* Not echoed: the URLs may carry a password. */
		opt_err(err, errlen, "%sinvalid value for %s: expected "
		    "nats://HOST:PORT[,nats://HOST:PORT...] (at most 16)",
		    opt_where(ctx, where, sizeof(where)),
		    opt_shown(o, ctx, name, sizeof(name)));
		return -1;
	}
	if (store_string(cfg, o->off, value, 1) == -1) {
		opt_err(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

int
options_read_secret(const char *path, size_t min, size_t max, uint8_t **bufp,
    size_t *lenp, char *err, size_t errlen)
{
	FILE	*fp;
	uint8_t	*buf;
	size_t	 n;

	if ((buf = malloc(max + 1)) == NULL) {
		opt_err(err, errlen, "out of memory");
		return -1;
	}
	if ((fp = fopen(path, "r")) == NULL) {
		opt_err(err, errlen, "cannot read secret file '%s': %s", path,
		    strerror(errno));
		free(buf);
		return -1;
	}
	n = fread(buf, 1, max + 1, fp);
	if (ferror(fp) || n > max) {
		opt_err(err, errlen, "cannot read secret file '%s': %s", path,
		    ferror(fp) ? strerror(errno) : "too large");
		fclose(fp);
		explicit_bzero(buf, max + 1);
		free(buf);
		return -1;
	}
	fclose(fp);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	if (n < min) {
		opt_err(err, errlen, "secret in '%s' is too short: %zu "
		    "byte%s, at least %zu", path, n, n == 1 ? "" : "s", min);
		explicit_bzero(buf, max + 1);
		free(buf);
		return -1;
	}
	buf[n] = '\0';
	*bufp = buf;
	*lenp = n;
	return 0;
}

/*
 * --stats-token and --stats-token-file: the one given last wins, so
 * that the command line overrides the file whichever it uses.
 */
static int
set_either(struct server_config *cfg, const struct opt *o, const char *value,
    struct opt_ctx *ctx, char *err, size_t errlen)
{
	size_t	other = o->off == CFG(stats_token) ? CFG(stats_token_file) :
		    CFG(stats_token);
	char	**p = field(cfg, other);

	if (*p != NULL)
		explicit_bzero(*p, strlen(*p));
	free(*p);
	*p = NULL;
	if (store_string(cfg, o->off, value, 1) == -1) {
		opt_err(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

/*
 * The files that hold secrets are read once every source is merged, so
 * that a file the command line overrides is never opened:
 * --jwt-secret-file, the HS256 secret, the file's bytes without a final
 * newline, at least 16 bytes (RFC 7518 3.2 asks for 32: shorter is
 * refused outright below 16 and only works otherwise); and
 * --stats-token-file, one word of visible ASCII (it travels in a header
 * or a URL).
 */
static int
read_secrets(struct server_config *cfg, char *err, size_t errlen)
{
	uint8_t	*tok;
	size_t	 len, i;

	if (cfg->jwt_secret_file != NULL &&
	    options_read_secret(cfg->jwt_secret_file, 16, 4096, &cfg->jwt_key,
	    &cfg->jwt_keylen, err, errlen) == -1)
		return -1;
	if (cfg->cluster_secret_file != NULL &&
	    options_read_secret(cfg->cluster_secret_file, 16, 4096,
	    &cfg->cluster_secret, &cfg->cluster_secretlen, err, errlen) == -1)
		return -1;
	if (cfg->stats_token_file == NULL)
		return 0;
	if (options_read_secret(cfg->stats_token_file, 1, 512, &tok, &len,
	    err, errlen) == -1)
		return -1;
	for (i = 0; i < len; i++)
		if (tok[i] <= 0x20 || tok[i] >= 0x7f)
			break;
	if (i < len) {
		opt_err(err, errlen, "token in '%s' must be one word of "
		    "visible ASCII", cfg->stats_token_file);
		explicit_bzero(tok, len);
		free(tok);
		return -1;
	}
	cfg->stats_token = (char *)tok;
	return 0;
}

/* -q sets the level to warnings; each -v raises it, in order given. */
static int
set_level(struct server_config *cfg, const struct opt *o, const char *value,
    struct opt_ctx *ctx, char *err, size_t errlen)
{
	if (o->letter == 'q')
		cfg->log_level = LOG_WARN;
	else if (cfg->log_level < LOG_DEBUG2)
		cfg->log_level++;
	return 0;
}

static int
set_nothing(struct server_config *cfg, const struct opt *o,
    const char *value, struct opt_ctx *ctx, char *err, size_t errlen)
{
	return 0;
}

static const struct opt *
opt_find(const char *name)
{
	size_t	i;

	for (i = 0; i < NOPTS; i++)
		if (strcmp(opts[i].name, name) == 0 &&
		    !(opts[i].flags & OF_INTERNAL))
			return &opts[i];
	return NULL;
}

/*
 * The configuration file: "name value" lines, the long option names;
 * blank lines and lines starting with # are skipped.  The value is the
 * rest of the line, without the blanks around it.
 */
static int
load_file(struct server_config *cfg, const char *path, struct opt_ctx *ctx,
    char *err, size_t errlen)
{
	FILE		*fp;
	char		 line[4096], esc[96], *p, *name, *value, *end;
	const struct opt *o;
	int		 c;

	if ((fp = fopen(path, "r")) == NULL) {
		opt_err(err, errlen, "cannot read configuration file '%s': %s",
		    path, strerror(errno));
		return -1;
	}
	ctx->file = path;
	ctx->line = 0;
	while (fgets(line, sizeof(line), fp) != NULL) {
		ctx->line++;
		if (strchr(line, '\n') == NULL && !feof(fp)) {
			opt_err(err, errlen, "%s:%u: line longer than %zu bytes",
			    path, ctx->line, sizeof(line) - 2);
			goto fail;
		}
		for (p = line; *p == ' ' || *p == '\t'; p++)
			;
		end = p + strlen(p);
		while (end > p && isspace((unsigned char)end[-1]))
			*--end = '\0';
		if (*p == '\0' || *p == '#')
			continue;
		name = p;
		p += strcspn(p, " \t");
		value = NULL;
		if (*p != '\0') {
			*p++ = '\0';
			while (*p == ' ' || *p == '\t')
				p++;
			value = p;
		}
		if ((o = opt_find(name)) == NULL) {
			opt_err(err, errlen, "%s:%u: unknown option '%s'", path,
			    ctx->line, util_escape(esc, sizeof(esc), name,
			    strlen(name)));
			goto fail;
		}
		if (o->flags & OF_CMDLINE) {
			opt_err(err, errlen, "%s:%u: '%s' only works on the "
			    "command line", path, ctx->line, o->name);
			goto fail;
		}
		if (opt_apply(cfg, o, value, ctx, err, errlen) == -1)
			goto fail;
		ctx->given[o - opts] = 1;
	}
	c = ferror(fp);
	fclose(fp);
	ctx->file = NULL;
	if (c) {
		opt_err(err, errlen, "cannot read configuration file '%s'",
		    path);
		return -1;
	}
	return 0;
fail:
	fclose(fp);
	ctx->file = NULL;
	return -1;
}

/* One option from the command line: which, and its value or NULL. */
struct opt_arg {
	const struct opt *o;
	const char	*value;
};

/*
 * Read argv into args[] (at most argc of them) without applying
 * anything, so that --config is known before the file is read.
 */
static int
scan_argv(int argc, char **argv, struct opt_arg *args, size_t *nargs,
    char *err, size_t errlen)
{
	struct option	 longopts[NOPTS + 1];
	char		 shortopts[2 * NOPTS + 2], *sp = shortopts;
	const struct opt *o;
	size_t		 i, n = 0;
	int		 ch;

	memset(longopts, 0, sizeof(longopts));
	*sp++ = ':';	/* tell a missing value from an unknown option */
	for (i = 0; i < NOPTS; i++) {
		if (opts[i].flags & OF_INTERNAL)
			continue;
		longopts[n].name = opts[i].name;
		longopts[n].has_arg = opts[i].kind == OK_FLAG ? no_argument :
		    required_argument;
		longopts[n++].val = 256 + (int)i;
		if (opts[i].letter != 0) {
			*sp++ = (char)opts[i].letter;
			if (opts[i].kind != OK_FLAG)
				*sp++ = ':';
		}
	}
	*sp = '\0';
	*nargs = 0;
	optind = 0;	/* glibc: start over, also after a reload */
	opterr = 0;
	while ((ch = getopt_long(argc, argv, shortopts, longopts, NULL)) !=
	    -1) {
		if (ch == '?' || ch == ':') {
			o = NULL;
			if (optopt >= 256 && (size_t)optopt < 256 + NOPTS)
				o = &opts[optopt - 256];
			for (i = 0; o == NULL && optopt != 0 && i < NOPTS;
			    i++)
				if (opts[i].letter == optopt)
					o = &opts[i];
			if (ch == ':' && o != NULL)
				opt_err(err, errlen, "option '--%s' needs a "
				    "value", o->name);
			else if (optopt != 0 && optopt < 256)
				opt_err(err, errlen, "unknown option '-%c'",
				    optopt);
			else
				opt_err(err, errlen, "unknown or ambiguous "
				    "option '%s'", argv[optind - 1]);
			return OPTIONS_USAGE;
		}
		if (ch >= 256)
			o = &opts[ch - 256];
		else
			for (o = NULL, i = 0; o == NULL && i < NOPTS; i++)
				if (opts[i].letter == ch)
					o = &opts[i];
		if (o == NULL)
			continue;
		if (o->letter == 'h')
			return OPTIONS_HELP;
		if (o->letter == 'V')
			return OPTIONS_VERSION;
		args[*nargs].o = o;
		args[*nargs].value = o->kind == OK_FLAG ? NULL : optarg;
		(*nargs)++;
	}
	if (optind != argc) {
		opt_err(err, errlen, "unexpected argument '%s'", argv[optind]);
		return OPTIONS_USAGE;
	}
	return OPTIONS_OK;
}

/* Settings whose default depends on others, and combinations. */
static int
finish(struct server_config *cfg, const struct opt_ctx *ctx, char *err,
    size_t errlen)
{
	size_t	need;

	if (read_secrets(cfg, err, errlen) == -1)
		return -1;
	if (!ctx->given[opt_find("tls-port") - opts])
		cfg->tls_port = -1;
	if (!ctx->given[opt_find("history-bytes") - opts] &&
	    !ctx->given[opt_find("queue-bytes") - opts])
		cfg->store.history_bytes = cfg->store.path != NULL ?
		    (size_t)1 << 30 : (size_t)64 << 20;
	/* One sender's, or one target's, backlog: an eighth of the total. */
	if (!ctx->given[opt_find("sender-bytes") - opts])
		cfg->store.sender_bytes = cfg->store.history_bytes / 8;
	if (!ctx->given[opt_find("target-bytes") - opts])
		cfg->store.target_bytes = cfg->store.history_bytes / 8;
	/*
	 * A chat event escapes each byte into at most 6 (\u0000), and a
	 * watch of 256 users answers with up to 32k of presence events:
	 * one legal request must never get its reader cut off.
	 */
	need = cfg->max_message * 7 + 32768;
	if (!ctx->given[opt_find("max-output") - opts])
		cfg->max_output = need > (size_t)1 << 20 ? need :
		    (size_t)1 << 20;
	if (cfg->max_output < need) {
		opt_err(err, errlen, "--max-output (%zu) must be at least 7 "
		    "times --max-message (%zu) plus 32k", cfg->max_output,
		    cfg->max_message);
		return -1;
	}
	if (cfg->cluster != NULL && cfg->store.path != NULL) {
		opt_err(err, errlen, "--cluster and --store exclude each "
		    "other: a cluster keeps history in JetStream");
		return -1;
	}
	if ((cfg->cluster_cert == NULL) != (cfg->cluster_key == NULL)) {
		opt_err(err, errlen, "--cluster-cert and --cluster-key go "
		    "together");
		return -1;
	}
	if (cfg->cluster == NULL && (cfg->cluster_ca != NULL ||
	    cfg->cluster_cert != NULL || cfg->cluster_creds != NULL ||
	    cfg->cluster_secret_file != NULL)) {
		opt_err(err, errlen, "--cluster-ca, --cluster-cert, "
		    "--cluster-creds and --cluster-secret-file need --cluster");
		return -1;
	}
	if ((cfg->cert == NULL) != (cfg->key == NULL)) {
		opt_err(err, errlen, "--cert and --key go together");
		return -1;
	}
	if (cfg->tls_port != -1 && cfg->cert == NULL) {
		opt_err(err, errlen, "--tls-port needs --cert and --key");
		return -1;
	}
	if (cfg->ping_interval > 0 && cfg->idle_timeout > 0 &&
	    cfg->idle_timeout <= cfg->ping_interval) {
		opt_err(err, errlen, "--idle-timeout must be longer than "
		    "--ping-interval");
		return -1;
	}
	return 0;
}

/* Defaults, the file, the command line, then finish(). */
static int
load(int argc, char **argv, struct server_config *cfg, char *err,
    size_t errlen)
{
	struct opt_ctx	 ctx;
	struct opt_arg	*args;
	unsigned char	 given[NOPTS], cmdline[NOPTS];
	const char	*config = NULL;
	size_t		 nargs, i;
	int		 r;

	memset(cfg, 0, sizeof(*cfg));
	memset(&ctx, 0, sizeof(ctx));
	memset(given, 0, sizeof(given));
	memset(cmdline, 0, sizeof(cmdline));
	ctx.given = given;
	ctx.cmdline = cmdline;
	cfg->log_level = LOG_INFO;
	if ((args = calloc((size_t)argc + 1, sizeof(*args))) == NULL) {
		opt_err(err, errlen, "out of memory");
		return OPTIONS_ERROR;
	}
	if ((r = scan_argv(argc, argv, args, &nargs, err, errlen)) !=
	    OPTIONS_OK)
		goto out;
	r = OPTIONS_ERROR;
	for (i = 0; i < NOPTS; i++)
		if (opts[i].def != NULL && opt_apply(cfg, &opts[i],
		    opts[i].def, &ctx, err, errlen) == -1)
			goto out;
	for (i = 0; i < nargs; i++)
		if (args[i].o == opt_find("config"))
			config = args[i].value;
	if (config != NULL && load_file(cfg, config, &ctx, err, errlen) == -1)
		goto out;
	for (i = 0; i < nargs; i++) {
		if (opt_apply(cfg, args[i].o, args[i].value, &ctx, err,
		    errlen) == -1)
			goto out;
		given[args[i].o - opts] = cmdline[args[i].o - opts] = 1;
	}
	if (finish(cfg, &ctx, err, errlen) == -1)
		goto out;
	r = OPTIONS_OK;
out:
	free(args);
	return r;
}

int
options_load(int argc, char **argv, struct server_config *cfg, char *err,
    size_t errlen)
{
	int	r;

	saved_argc = argc;
	saved_argv = argv;
	if ((r = load(argc, argv, cfg, err, errlen)) < 0) {
		options_release(cfg);
		memset(cfg, 0, sizeof(*cfg));
	}
	return r;
}

void
options_parse(int argc, char **argv, struct server_config *cfg)
{
	char	err[PATH_MAX + 256];

	switch (options_load(argc, argv, cfg, err, sizeof(err))) {
	case OPTIONS_OK:
		return;
	case OPTIONS_HELP:
		options_usage(stdout, 1);
		exit(0);
	case OPTIONS_VERSION:
		printf("chat-server %s\n", CHAT_VERSION);
		exit(0);
	case OPTIONS_USAGE:
		fprintf(stderr, "chat-server: %s\n", err);
		options_usage(stderr, 0);
		exit(2);
	default:
		fprintf(stderr, "chat-server: %s\n", err);
		exit(2);
	}
}

/* Do a and b hold the same value of o? */
static int
same(const struct opt *o, struct server_config *a, struct server_config *b)
{
	const char	*sa, *sb, **va, **vb;
	size_t		 na, nb, i;

	switch (o->type) {
	case OT_STR:
		sa = *(char **)field(a, o->off);
		sb = *(char **)field(b, o->off);
		return (sa == NULL && sb == NULL) ||
		    (sa != NULL && sb != NULL && strcmp(sa, sb) == 0);
	case OT_STRV:
		va = *(const char ***)field(a, o->off);
		vb = *(const char ***)field(b, o->off);
		na = *(size_t *)field(a, o->off2);
		nb = *(size_t *)field(b, o->off2);
		if (na != nb)
			return 0;
		for (i = 0; i < na; i++)
			if (strcmp(va[i], vb[i]) != 0)
				return 0;
		return 1;
	case OT_BYTES:
		na = *(size_t *)field(a, o->off2);
		nb = *(size_t *)field(b, o->off2);
		return na == nb && (na == 0 ||
		    memcmp(*(uint8_t **)field(a, o->off),
		    *(uint8_t **)field(b, o->off), na) == 0);
	case OT_INT:
		return *(int *)field(a, o->off) == *(int *)field(b, o->off);
	case OT_U32:
		return *(uint32_t *)field(a, o->off) ==
		    *(uint32_t *)field(b, o->off);
	case OT_SIZE:
		return *(size_t *)field(a, o->off) ==
		    *(size_t *)field(b, o->off);
	case OT_U64:
		return *(uint64_t *)field(a, o->off) ==
		    *(uint64_t *)field(b, o->off);
	case OT_DOUBLE:
		return *(double *)field(a, o->off) ==
		    *(double *)field(b, o->off);
	default:
		return 1;
	}
}

static size_t
type_size(enum opt_type t)
{
	switch (t) {
	case OT_INT:
		return sizeof(int);
	case OT_U32:
		return sizeof(uint32_t);
	case OT_SIZE:
		return sizeof(size_t);
	case OT_U64:
		return sizeof(uint64_t);
	case OT_DOUBLE:
		return sizeof(double);
	case OT_STR:
	case OT_STRV:
	case OT_BYTES:
		return sizeof(void *);
	default:
		return 0;
	}
}

static void
swap_bytes(void *a, void *b, size_t n)
{
	unsigned char	tmp[sizeof(double) > sizeof(void *) ?
			    sizeof(double) : sizeof(void *)];

	memcpy(tmp, a, n);
	memcpy(a, b, n);
	memcpy(b, tmp, n);
}

int
options_reload(struct server_config *cfg, char *err, size_t errlen)
{
	struct server_config	 fresh;
	const struct opt	*o;
	size_t			 i, j;
	int			 changed = 0, done;

	if (load(saved_argc, saved_argv, &fresh, err, errlen) != OPTIONS_OK) {
		options_release(&fresh);
		return -1;
	}
	for (i = 0; i < NOPTS; i++) {
		o = &opts[i];
		if (o->type == OT_NONE || (o->flags & OF_CMDLINE) ||
		    same(o, cfg, &fresh))
			continue;
		/* Options sharing a field (aliases) are handled once. */
		for (done = 0, j = 0; j < i; j++)
			if (opts[j].off == o->off && opts[j].type == o->type)
				done = 1;
		if (done)
			continue;
		if (!(o->flags & OF_RELOAD)) {
			log_warn("reload: '%s' changed: restart to apply it",
			    o->name);
			continue;
		}
		swap_bytes(field(cfg, o->off), field(&fresh, o->off),
		    type_size(o->type));
		if (o->off2 != 0)
			swap_bytes(field(cfg, o->off2), field(&fresh, o->off2),
			    sizeof(size_t));
		log_info("reload: '%s' changed", o->name);
		if (o->off == CFG(cert) || o->off == CFG(key))
			changed |= OPTIONS_CHANGED_TLS;
		else if (o->off == CFG(log_level) || o->off == CFG(log_json))
			changed |= OPTIONS_CHANGED_LOG;
		else if (o->off == CFG(max_clients))
			changed |= OPTIONS_CHANGED_LIMITS;
	}
	options_release(&fresh);
	return changed;
}

void
options_release(struct server_config *cfg)
{
	const struct opt	*o;
	size_t			 i, j, n;
	char			**sp;
	uint8_t			**bp;
	int			 dup;

	for (i = 0; i < NOPTS; i++) {
		o = &opts[i];
		for (dup = 0, j = 0; j < i; j++)
			if (opts[j].off == o->off && opts[j].type == o->type)
				dup = 1;
		if (dup)
			continue;
		switch (o->type) {
		case OT_STR:
			sp = field(cfg, o->off);
			if (*sp != NULL && (o->flags & OF_SECRET))
				explicit_bzero(*sp, strlen(*sp));
			free(*sp);
			*sp = NULL;
			break;
		case OT_STRV:
			strv_free(*(const char ***)field(cfg, o->off),
			    *(size_t *)field(cfg, o->off2));
			*(const char ***)field(cfg, o->off) = NULL;
			*(size_t *)field(cfg, o->off2) = 0;
			break;
		case OT_BYTES:
			bp = field(cfg, o->off);
			n = *(size_t *)field(cfg, o->off2);
			if (*bp != NULL)
				explicit_bzero(*bp, n);
			free(*bp);
			*bp = NULL;
			*(size_t *)field(cfg, o->off2) = 0;
			break;
		default:
			break;
		}
	}
}

/* Short options sort by letter, then capital first: -hqVv. */
static int
letter_cmp(const void *a, const void *b)
{
	const struct opt *x = *(const struct opt *const *)a;
	const struct opt *y = *(const struct opt *const *)b;
	int		  cx = tolower(x->letter), cy = tolower(y->letter);

	if (cx != cy)
		return cx - cy;
	return isupper(y->letter) - isupper(x->letter);
}

static int
name_cmp(const void *a, const void *b)
{
	const struct opt *x = *(const struct opt *const *)a;
	const struct opt *y = *(const struct opt *const *)b;

	return strcmp(x->name, y->name);
}

/* Append one usage item, wrapping under the program name. */
static void
usage_item(FILE *fp, const char *item, size_t *col)
{
	static const char	indent[] = "                   ";

	if (*col + 1 + strlen(item) > 78) {
		fprintf(fp, "\n%s", indent);
		*col = sizeof(indent) - 1;
	} else {
		fputc(' ', fp);
		(*col)++;
	}
	fputs(item, fp);
	*col += strlen(item);
}

void
options_usage(FILE *fp, int full)
{
	const struct opt *sorted[NOPTS];
	char		  item[128], left[64];
	const char	 *h, *nl, *cont = "";
	size_t		  i, n, col, len;

	col = strlen("usage: chat-server");
	fputs("usage: chat-server", fp);
	/* [-hqVv]: flags with a letter. */
	for (n = 0, i = 0; i < NOPTS; i++)
		if (opts[i].letter != 0 && opts[i].kind == OK_FLAG)
			sorted[n++] = &opts[i];
	qsort(sorted, n, sizeof(*sorted), letter_cmp);
	len = 0;
	item[len++] = '[';
	item[len++] = '-';
	for (i = 0; i < n; i++)
		item[len++] = (char)sorted[i]->letter;
	item[len++] = ']';
	item[len] = '\0';
	usage_item(fp, item, &col);
	/* [-C cert]: letters with a value. */
	for (n = 0, i = 0; i < NOPTS; i++)
		if (opts[i].letter != 0 && opts[i].kind != OK_FLAG)
			sorted[n++] = &opts[i];
	qsort(sorted, n, sizeof(*sorted), letter_cmp);
	for (i = 0; i < n; i++) {
		snprintf(item, sizeof(item), "[-%c %s]", sorted[i]->letter,
		    sorted[i]->syn);
		usage_item(fp, item, &col);
	}
	/* [--store file]: long names only. */
	for (n = 0, i = 0; i < NOPTS; i++)
		if (opts[i].letter == 0 &&
		    !(opts[i].flags & (OF_HIDDEN | OF_INTERNAL)))
			sorted[n++] = &opts[i];
	qsort(sorted, n, sizeof(*sorted), name_cmp);
	for (i = 0; i < n; i++) {
		if (sorted[i]->kind == OK_FLAG)
			snprintf(item, sizeof(item), "[--%s]", sorted[i]->name);
		else
			snprintf(item, sizeof(item), "[--%s %s]",
			    sorted[i]->name, sorted[i]->syn);
		usage_item(fp, item, &col);
	}
	fputs("\n       chat-server token --jwt-secret-file file -u user "
	    "[-t ttl] [-r room ...]\n", fp);
	if (!full)
		return;
	fputc('\n', fp);
	for (i = 0; i < NOPTS; i++) {
		if (opts[i].flags & (OF_HIDDEN | OF_INTERNAL))
			continue;
		snprintf(left, sizeof(left), "%c%c%c --%s%s%s",
		    opts[i].letter ? '-' : ' ',
		    opts[i].letter ? opts[i].letter : ' ',
		    opts[i].letter ? ',' : ' ', opts[i].name,
		    opts[i].arg != NULL ? " " : "",
		    opts[i].arg != NULL ? opts[i].arg : "");
		if (strlen(left) > 27)
			fprintf(fp, "  %s\n%30s", left, "");
		else
			fprintf(fp, "  %-27s ", left);
		/* Continuation lines, then the default on the last. */
		for (h = opts[i].help; h != NULL; h = nl != NULL ? nl + 1 :
		    NULL) {
			nl = strchr(h, '\n');
			fprintf(fp, "%s%.*s", cont, nl != NULL ?
			    (int)(nl - h) : (int)strlen(h), h);
			cont = "\n                              ";
		}
		cont = "";
		if (opts[i].def != NULL)
			fprintf(fp, " (default %s)", opts[i].def);
		fputc('\n', fp);
	}
	fputs("\nDUR: N[us|ms|s|m|h]; SIZE: N[k|m|g].  Every long option can be "
	    "a line of the\n--config file.  See chat-server(1).\n", fp);
}
