/*
 * Copyright (c) 2026 The chat authors.
 *
 * config: chat-client's configuration file, so that a plain chat-client
 * works: $XDG_CONFIG_HOME/chat-client/config, or
 * ~/.config/chat-client/config.  Lines of "key = value"; '#' starts a
 * comment line; blank lines are ignored.  The keys are those of the
 * long options that make sense to keep: user, server, to, ca-file,
 * token-file, color, and bell (on or off).  main.c gives the
 * environment (CHAT_USER, CHAT_SERVER, CHAT_TO) and then the command
 * line precedence over it.  Pure but for reading the file: it never
 * prints or exits.
 */
#ifndef CONFIG_H
#define CONFIG_H

#include <limits.h>
#include <stddef.h>

#include "codec.h"

#define CONFIG_ERRLEN		(PATH_MAX + 300)
#define CONFIG_WHYLEN		256	/* config_parse_line's err */
#define CONFIG_MAX_LINE		4096	/* bytes of a line */
#define CONFIG_MAX_SIZE		65536	/* bytes of the file */

/* What the file set; "" for what it did not. */
struct config {
	char	user[CODEC_MAX_USER + 1];
	char	to[CODEC_MAX_USER + 1];
	char	server[CONFIG_MAX_LINE];
	char	ca_file[PATH_MAX];
	char	token_file[PATH_MAX];
	char	color[8];		/* auto, always or never */
	int	bell;			/* -1 unset, 0 off, 1 on */
};

/*
 * A path by the XDG base directory rules: "XDG/REST" when xdg is an
 * absolute path, else "HOME/SUB/REST" when home is one (relative or
 * empty values count as unset).  Returns 0, or -1 when neither is
 * usable or the path does not fit in buf[len].
 */
int	config_xdg_path(char *buf, size_t len, const char *xdg,
	    const char *home, const char *sub, const char *rest);

/*
 * The file's path: "XDG/chat-client/config" (XDG_CONFIG_HOME), else
 * "HOME/.config/chat-client/config".  Returns 0 or -1.
 */
int	config_path(char *buf, size_t len, const char *xdg, const char *home);

/* Fill cf with nothing set. */
void	config_init(struct config *cf);

/*
 * Parse one line (without its newline) into cf.  Returns 0, or -1 with
 * err[CONFIG_WHYLEN] saying what is wrong with it.
 */
int	config_parse_line(struct config *cf, const char *line, char *err);

/*
 * Read the file at path into cf.  Returns 0 (also when there is no such
 * file), or -1 with err[CONFIG_ERRLEN]: "'PATH' line N: ...".
 */
int	config_read(struct config *cf, const char *path, char *err);

#endif /* CONFIG_H */
