/*
 * Copyright (c) 2026 The chat authors.
 *
 * options: chat-server's settings from one table (options.c) that
 * drives the command line, the configuration file (--config), --help,
 * the range errors and what a reload (SIGHUP) may change.  It fills a
 * struct server_config and owns the strings and secrets it puts there;
 * it never opens a socket or a store.
 */
#ifndef OPTIONS_H
#define OPTIONS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct server_config;

enum options_result {
	OPTIONS_OK = 0,
	OPTIONS_HELP = 1,	/* --help: print options_usage(stdout, 1) */
	OPTIONS_VERSION = 2,	/* --version */
	OPTIONS_ERROR = -1,	/* a bad value or file: err says which */
	OPTIONS_USAGE = -2	/* a bad command line: err, then the usage */
};

/*
 * Fill cfg with the defaults, then the file named by --config (if
 * any), then the command line, which wins over the file; then derive
 * what depends on other settings and check the combinations.  argv is
 * kept (not copied) for options_reload(): it must outlive the program.
 * Returns an options_result; on an error err[errlen] holds one line
 * naming the option (and the file and line number for the file).
 */
int	options_load(int argc, char **argv, struct server_config *cfg,
	    char *err, size_t errlen);

/*
 * options_load() for main(): prints and exits 0 after --help and
 * --version, and exits 2 after printing an error (and the usage for a
 * bad command line) to stderr.
 */
void	options_parse(int argc, char **argv, struct server_config *cfg);

/* What options_reload() changed in the running configuration. */
enum options_changed {
	OPTIONS_CHANGED_TLS = 1 << 0,		/* --cert or --key */
	OPTIONS_CHANGED_LOG = 1 << 1,		/* -q, -v, --log-format */
	OPTIONS_CHANGED_LIMITS = 1 << 2		/* --max-clients */
};

/*
 * SIGHUP: read the configuration file and the command line again.
 * Settings that can change in a running server (certificate, key,
 * secrets, tokens, rate limits, origins, timeouts, log level) are
 * moved into cfg, each change logged; any other that differs is
 * logged as needing a restart and left alone.  A file that does not
 * load changes nothing.  Returns a mask of options_changed, or -1 with
 * err[errlen] saying why the file did not load.
 */
int	options_reload(struct server_config *cfg, char *err, size_t errlen);

/* Free what options_load() put in cfg.  A zeroed cfg is fine. */
void	options_release(struct server_config *cfg);

/*
 * The usage lines (full: and the list of options) to fp, generated
 * from the table; the same text as the manual's SYNOPSIS.
 */
void	options_usage(FILE *fp, int full);

/*
 * Read a secret file: its bytes without a final newline, at least min
 * and at most max.  0 with *buf (caller frees, after explicit_bzero)
 * and *len set, or -1 with err[errlen] naming the file.
 */
int	options_read_secret(const char *path, size_t min, size_t max,
	    uint8_t **buf, size_t *len, char *err, size_t errlen);

#endif /* OPTIONS_H */
