/*
 * Copyright (c) 2026 The chat authors.
 *
 * config: the configuration file (see config.h).  The file is read
 * whole, at most CONFIG_MAX_SIZE bytes; a value is the rest of the line
 * after '=', without white space around it.  An unknown key or a bad
 * value is an error, as for a bad option: a typo should not pass for a
 * setting.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

int
config_xdg_path(char *buf, size_t len, const char *xdg, const char *home,
    const char *sub, const char *rest)
{
	int	n;

	if (xdg != NULL && xdg[0] == '/')
		n = snprintf(buf, len, "%s/%s", xdg, rest);
	else if (home != NULL && home[0] == '/')
		n = snprintf(buf, len, "%s/%s/%s", home, sub, rest);
	else
		return -1;
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

int
config_path(char *buf, size_t len, const char *xdg, const char *home)
{
	return config_xdg_path(buf, len, xdg, home, ".config",
	    "chat-client/config");
}

void
config_init(struct config *cf)
{
	memset(cf, 0, sizeof(*cf));
	cf->bell = -1;
}

static int
config_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r';
}

/* Copy v[0..n) into dst[size]; -1 if it does not fit. */
static int
config_copy(char *dst, size_t size, const char *v, size_t n)
{
	if (n >= size)
		return -1;
	memcpy(dst, v, n);
	dst[n] = '\0';
	return 0;
}

int
config_parse_line(struct config *cf, const char *line, char *err)
{
	const char	*k, *v, *eq;
	size_t		 kn, vn;

	while (config_space(*line))
		line++;
	if (*line == '\0' || *line == '#')
		return 0;
	if ((eq = strchr(line, '=')) == NULL) {
		snprintf(err, CONFIG_WHYLEN, "expected 'key = value'");
		return -1;
	}
	k = line;
	for (kn = (size_t)(eq - line); kn > 0 && config_space(k[kn - 1]); kn--)
		;
	for (v = eq + 1; config_space(*v); v++)
		;
	for (vn = strlen(v); vn > 0 && config_space(v[vn - 1]); vn--)
		;
#define KEY(name)	(kn == sizeof(name) - 1 && memcmp(k, name, kn) == 0)
	if (KEY("user") || KEY("to")) {
		if (!codec_valid_user(v, vn)) {
			snprintf(err, CONFIG_WHYLEN, "invalid user id '%.*s' "
			    "for %.*s: use 1-64 characters of A-Z a-z 0-9 . _ "
			    "-", (int)(vn > 80 ? 80 : vn), v, (int)kn, k);
			return -1;
		}
		(void)config_copy(KEY("user") ? cf->user : cf->to,
		    sizeof(cf->user), v, vn);
	} else if (KEY("server")) {
		if (vn == 0 || config_copy(cf->server, sizeof(cf->server), v,
		    vn) == -1)
			goto bad;
	} else if (KEY("ca-file")) {
		if (vn == 0 || config_copy(cf->ca_file, sizeof(cf->ca_file), v,
		    vn) == -1)
			goto bad;
	} else if (KEY("token-file")) {
		if (vn == 0 || config_copy(cf->token_file,
		    sizeof(cf->token_file), v, vn) == -1)
			goto bad;
	} else if (KEY("color")) {
		if ((vn != 4 || memcmp(v, "auto", 4) != 0) &&
		    (vn != 6 || memcmp(v, "always", 6) != 0) &&
		    (vn != 5 || memcmp(v, "never", 5) != 0)) {
			snprintf(err, CONFIG_WHYLEN, "invalid value '%.*s' for "
			    "color: expected auto, always or never",
			    (int)(vn > 80 ? 80 : vn), v);
			return -1;
		}
		(void)config_copy(cf->color, sizeof(cf->color), v, vn);
	} else if (KEY("bell")) {
		if (vn == 2 && memcmp(v, "on", 2) == 0)
			cf->bell = 1;
		else if (vn == 3 && memcmp(v, "off", 3) == 0)
			cf->bell = 0;
		else {
			snprintf(err, CONFIG_WHYLEN, "invalid value '%.*s' for "
			    "bell: expected on or off",
			    (int)(vn > 80 ? 80 : vn), v);
			return -1;
		}
	} else {
		snprintf(err, CONFIG_WHYLEN, "unknown key '%.*s' (known: "
		    "user, server, to, ca-file, token-file, color, bell)",
		    (int)(kn > 80 ? 80 : kn), k);
		return -1;
	}
#undef KEY
	return 0;
bad:
	snprintf(err, CONFIG_WHYLEN, "invalid value for %.*s: empty or too "
	    "long", (int)kn, k);
	return -1;
}

int
config_read(struct config *cf, const char *path, char *err)
{
	char	buf[CONFIG_MAX_SIZE + 1], line[CONFIG_MAX_LINE];
	char	why[CONFIG_WHYLEN];
	size_t	len = 0, i, start, n;
	ssize_t	r;
	int	fd, lineno = 0;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, CONFIG_ERRLEN, "cannot read '%s': %s", path,
		    strerror(errno));
		return -1;
	}
	while (len < sizeof(buf) - 1) {
		r = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	if (r == -1 || len == sizeof(buf) - 1) {
		snprintf(err, CONFIG_ERRLEN, "cannot read '%s': %s", path,
		    r == -1 ? strerror(errno) : "larger than 64 KiB");
		return -1;
	}
	for (start = 0, i = 0; i <= len; i++) {
		if (i < len && buf[i] != '\n')
			continue;
		lineno++;
		n = i - start;
		if (n >= sizeof(line)) {
			snprintf(err, CONFIG_ERRLEN, "'%s' line %d: longer "
			    "than %d bytes", path, lineno, CONFIG_MAX_LINE);
			return -1;
		}
		memcpy(line, buf + start, n);
		line[n] = '\0';
		if (memchr(line, '\0', n) != NULL ||
		    config_parse_line(cf, line, why) == -1) {
			snprintf(err, CONFIG_ERRLEN, "'%s' line %d: %s", path,
			    lineno, memchr(line, '\0', n) != NULL ?
			    "a NUL byte" : why);
			return -1;
		}
		start = i + 1;
	}
	return 0;
}
