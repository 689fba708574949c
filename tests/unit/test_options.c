/*
 * Copyright (c) 2026 The chat authors.
 *
 * Unit tests for server/options.c: defaults and derived defaults, the
 * command line, the configuration file (comments, blanks, errors with
 * the file and line, the command line winning, lists replaced), secret
 * files, and a reload that applies what may change live and leaves the
 * rest.  Files are written in the runner's temporary directory.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "options.h"
#include "server.h"
#include "tap.h"

static char	err[4096];

static void
write_file(const char *path, const char *text)
{
	FILE	*fp = fopen(path, "w");

	if (fp == NULL) {
		perror(path);
		exit(1);
	}
	fputs(text, fp);
	fclose(fp);
}

/* Load a NULL-terminated argument list (argv[0] added). */
static int
load_v(struct server_config *cfg, const char *const *args)
{
	static char	*argv[32];
	int		 argc = 0;

	argv[argc++] = (char *)"chat-server";
	while (*args != NULL && argc < 31)
		argv[argc++] = (char *)*args++;
	argv[argc] = NULL;
	err[0] = '\0';
	return options_load(argc, argv, cfg, err, sizeof(err));
}

#define LOAD(cfg, ...) load_v((cfg), (const char *const []){ __VA_ARGS__, NULL })

/*
 * Every default the usage gives ("(default 64m, 1g with --store)") is a
 * value its option takes: --help said 1g while sizes stopped at m.
 * Words that only describe ("no limit", "an eighth", "or 7 times") are
 * not values.
 */
static void
check_defaults(const char *usage)
{
	struct server_config	 cfg;
	const char		*p = usage, *q, *d;
	char			 opt[64] = "", val[64];
	size_t			 n, nvals = 0;

	for (; *p != '\0'; p = *q != '\0' ? q + 1 : q) {
		q = p + strcspn(p, "\n");
		/* An option's line: "  -m, --max-message SIZE ...". */
		d = p + strspn(p, " ");
		if (*d == '-' && (d = strstr(d, "--")) != NULL && d < q) {
			n = strcspn(d, " \n");
			snprintf(opt, sizeof(opt), "%.*s", (int)n, d);
		}
		if ((d = strstr(p, "(default ")) == NULL || d > q)
			continue;
		for (d += 9; *d != ')' && *d != '\0'; ) {
			d += strspn(d, " \n");
			n = strcspn(d, " ,)\n");
			snprintf(val, sizeof(val), "%.*s", (int)n, d);
			if (n > 0 && strcmp(val, "no") != 0 &&
			    strcmp(val, "an") != 0 && strcmp(val, "or") != 0) {
				if (LOAD(&cfg, opt, val) == OPTIONS_OK)
					options_release(&cfg);
				else {
					fprintf(stderr, "%s %s: %s\n", opt, val,
					    err);
					CHECK(0);
				}
				nvals++;
			}
			/* The next value follows a comma. */
			d += strcspn(d, ",)");
			if (*d == ',')
				d++;
		}
	}
	CHECK(nvals >= 20);
}

int
main(void)
{
	struct server_config	cfg;
	char			conf[] = "options.conf", secret[] = "jwt.secret";
	char			tokf[] = "stats.token";
	char			*usage = NULL;
	size_t			usage_len = 0;
	FILE			*fp;

	log_init("test_options", LOG_ERROR, stderr);

	/* Defaults, and those derived from other settings. */
	CHECK_INT(LOAD(&cfg, "--port", "0"), OPTIONS_OK);
	CHECK_STR(cfg.listen, "127.0.0.1");
	CHECK_INT(cfg.port, 0);
	CHECK_INT(cfg.tls_port, -1);
	CHECK_INT(cfg.max_message, 64 * 1024);
	CHECK_INT(cfg.max_output, 1024 * 1024);
	CHECK_INT(cfg.store.history_bytes, 64 << 20);
	CHECK_INT(cfg.store.queue_limit, 1000);
	CHECK(cfg.store.history_days == 30);
	CHECK_INT(cfg.idle_timeout, 75000);
	CHECK_INT(cfg.burst, 20);
	CHECK_INT(cfg.log_level, LOG_INFO);
	CHECK(cfg.rate == 0 && cfg.stats_token == NULL && cfg.config == NULL);
	options_release(&cfg);

	/* -m alone raises the default of -o; an explicit -o is checked. */
	CHECK_INT(LOAD(&cfg, "-m", "16m"), OPTIONS_OK);
	CHECK_INT(cfg.max_output, 7 * (16 << 20) + 32768);
	options_release(&cfg);
	CHECK_INT(LOAD(&cfg, "-m", "1k", "-o", "8k"), OPTIONS_ERROR);
	CHECK(strstr(err, "--max-output") != NULL);
	CHECK_INT(LOAD(&cfg, "--store", "x.db"), OPTIONS_OK);
	CHECK_INT(cfg.store.history_bytes, 1 << 30);
	options_release(&cfg);
	/* Sizes in GiB, as --help writes the default above. */
	CHECK_INT(LOAD(&cfg, "--history-bytes", "1g"), OPTIONS_OK);
	CHECK_INT(cfg.store.history_bytes, 1 << 30);
	options_release(&cfg);
	CHECK_INT(LOAD(&cfg, "--history-bytes", "3G"), OPTIONS_OK);
	CHECK(cfg.store.history_bytes == 3ULL << 30);
	options_release(&cfg);
	CHECK_INT(LOAD(&cfg, "--history-bytes", "1025g"), OPTIONS_ERROR);
	CHECK_STR(err, "invalid value '1025g' for --history-bytes: expected "
	    "1k to 1024g bytes");
	CHECK_INT(LOAD(&cfg, "--history-bytes", "1gb"), OPTIONS_ERROR);
	/* 2^63 bytes: refused, not wrapped. */
	CHECK_INT(LOAD(&cfg, "--history-bytes", "8589934592g"), OPTIONS_ERROR);
	CHECK_INT(LOAD(&cfg, "--max-output", "2g"), OPTIONS_ERROR);
	CHECK_STR(err, "invalid value '2g' for --max-output: expected 4k to "
	    "1g bytes");
	/* Durations in us for --store-delay; whole ms for the others. */
	CHECK_INT(LOAD(&cfg, "--store", "x.db"), OPTIONS_OK);
	CHECK_INT(cfg.store.commit_delay_us, 0);
	options_release(&cfg);
	CHECK_INT(LOAD(&cfg, "--store-delay", "250us"), OPTIONS_OK);
	CHECK_INT(cfg.store.commit_delay_us, 250);
	options_release(&cfg);
	CHECK_INT(LOAD(&cfg, "--store-delay", "1ms"), OPTIONS_OK);
	CHECK_INT(cfg.store.commit_delay_us, 1000);
	options_release(&cfg);
	CHECK_INT(LOAD(&cfg, "--store-delay", "0"), OPTIONS_OK);
	CHECK_INT(cfg.store.commit_delay_us, 0);
	options_release(&cfg);
	CHECK_INT(LOAD(&cfg, "--store-delay", "100001us"), OPTIONS_ERROR);
	CHECK_STR(err, "invalid value '100001us' for --store-delay: expected "
	    "0 (off) to 100ms");
	CHECK_INT(LOAD(&cfg, "--store-delay", "-1us"), OPTIONS_ERROR);
	CHECK_INT(LOAD(&cfg, "--store-delay", "5 us"), OPTIONS_ERROR);
	CHECK_INT(LOAD(&cfg, "-I", "90000ms"), OPTIONS_OK);
	CHECK_INT(cfg.idle_timeout, 90000);
	options_release(&cfg);
	CHECK_INT(LOAD(&cfg, "-I", "91000000us"), OPTIONS_OK);
	CHECK_INT(cfg.idle_timeout, 91000);
	options_release(&cfg);
	CHECK_INT(LOAD(&cfg, "-I", "1500us"), OPTIONS_ERROR);
	CHECK_STR(err, "invalid value '1500us' for --idle-timeout: expected "
	    "whole milliseconds, 0 (off) to 24h");

	/* The command line: values, flags in order, errors. */
	CHECK_INT(LOAD(&cfg, "-q", "-v", "--rate", "2.5", "--allow-origin",
	    "https://a", "--allow-origin", "https://b"), OPTIONS_OK);
	CHECK_INT(cfg.log_level, LOG_INFO);
	CHECK(cfg.rate == 2.5);
	CHECK_INT(cfg.norigins, 2);
	CHECK_STR(cfg.origins[1], "https://b");
	options_release(&cfg);
	CHECK_INT(LOAD(&cfg, "--port", "70000"), OPTIONS_ERROR);
	CHECK_STR(err, "invalid value '70000' for --port: expected 0 to 65535");
	/* struct user counts rooms in 16 bits. */
	CHECK_INT(LOAD(&cfg, "--user-rooms", "65536"), OPTIONS_ERROR);
	CHECK_STR(err, "invalid value '65536' for --user-rooms: expected 1 "
	    "to 65535");
	CHECK_INT(LOAD(&cfg, "--user-rooms", "65535"), OPTIONS_OK);
	CHECK_INT(cfg.user_rooms, 65535);
	options_release(&cfg);
	CHECK_INT(LOAD(&cfg, "--bogus"), OPTIONS_USAGE);
	CHECK(strstr(err, "--bogus") != NULL);
	CHECK_INT(LOAD(&cfg, "-p"), OPTIONS_USAGE);
	CHECK_STR(err, "option '--port' needs a value");
	CHECK_INT(LOAD(&cfg, "stray"), OPTIONS_USAGE);
	CHECK_INT(LOAD(&cfg, "-p", "1", "--help"), OPTIONS_HELP);
	CHECK_INT(LOAD(&cfg, "-V"), OPTIONS_VERSION);

	/* A file: comments, blanks, flags, and the command line wins. */
	write_file(conf, "# chat-server settings\n"
	    "\n"
	    "port 9000\n"
	    "  listen   0.0.0.0  \n"
	    "verbose\n"
	    "allow-origin https://file.example\n"
	    "allow-origin https://other.example\n"
	    "history-days 0.5\n"
	    "queue-bytes 2m\n");
	CHECK_INT(LOAD(&cfg, "--config", conf, "-p", "9001"), OPTIONS_OK);
	CHECK_INT(cfg.port, 9001);
	CHECK_STR(cfg.listen, "0.0.0.0");
	CHECK_INT(cfg.log_level, LOG_DEBUG);
	CHECK_INT(cfg.norigins, 2);
	CHECK(cfg.store.history_days == 0.5);
	CHECK_INT(cfg.store.history_bytes, 2 << 20);
	CHECK_STR(cfg.config, conf);
	options_release(&cfg);
	/* A list on the command line replaces the file's. */
	CHECK_INT(LOAD(&cfg, "--allow-origin", "https://cli", "--config",
	    conf), OPTIONS_OK);
	CHECK_INT(cfg.norigins, 1);
	CHECK_STR(cfg.origins[0], "https://cli");
	options_release(&cfg);

	/* Errors in a file name the file and the line. */
	write_file(conf, "port 1\n\nportt 2\n");
	CHECK_INT(LOAD(&cfg, "--config", conf), OPTIONS_ERROR);
	CHECK_STR(err, "options.conf:3: unknown option 'portt'");
	write_file(conf, "# x\nmax-clients many\n");
	CHECK_INT(LOAD(&cfg, "--config", conf), OPTIONS_ERROR);
	CHECK_STR(err, "options.conf:2: invalid value 'many' for "
	    "'max-clients': expected 1 to 1000000");
	write_file(conf, "quiet yes\n");
	CHECK_INT(LOAD(&cfg, "--config", conf), OPTIONS_ERROR);
	CHECK_STR(err, "options.conf:1: 'quiet' takes no value");
	write_file(conf, "port\n");
	CHECK_INT(LOAD(&cfg, "--config", conf), OPTIONS_ERROR);
	CHECK_STR(err, "options.conf:1: 'port' needs a value");
	write_file(conf, "config other.conf\n");
	CHECK_INT(LOAD(&cfg, "--config", conf), OPTIONS_ERROR);
	CHECK(strstr(err, "only works on the command line") != NULL);
	CHECK_INT(LOAD(&cfg, "--config", "missing.conf"), OPTIONS_ERROR);
	CHECK(strstr(err, "'missing.conf'") != NULL);
	/* The combinations are checked after the file too. */
	write_file(conf, "ping-interval 10s\nidle-timeout 5s\n");
	CHECK_INT(LOAD(&cfg, "--config", conf), OPTIONS_ERROR);
	CHECK(strstr(err, "--idle-timeout") != NULL);

	/* Secrets by file. */
	write_file(tokf, "s3cret-t0ken\n");
	write_file(secret, "0123456789abcdef0123456789abcdef\n");
	CHECK_INT(LOAD(&cfg, "--stats-token-file", tokf, "--jwt-secret-file",
	    secret), OPTIONS_OK);
	CHECK_STR(cfg.stats_token, "s3cret-t0ken");
	CHECK_INT(cfg.jwt_keylen, 32);
	options_release(&cfg);
	CHECK(cfg.stats_token == NULL && cfg.jwt_key == NULL);
	/* A secret file the command line overrides is never opened. */
	write_file(conf, "stats-token-file /nonexistent/token\n"
	    "jwt-secret-file /nonexistent/secret\n");
	CHECK_INT(LOAD(&cfg, "--config", conf, "--stats-token", "cli",
	    "--jwt-secret-file", secret), OPTIONS_OK);
	CHECK_STR(cfg.stats_token, "cli");
	CHECK(cfg.stats_token_file == NULL);
	CHECK_INT(cfg.jwt_keylen, 32);
	options_release(&cfg);
	write_file(conf, "stats-token from-file\n");
	CHECK_INT(LOAD(&cfg, "--config", conf, "--stats-token-file", tokf),
	    OPTIONS_OK);
	CHECK_STR(cfg.stats_token, "s3cret-t0ken");
	options_release(&cfg);
	CHECK_INT(LOAD(&cfg, "--stats-token-file", "/nonexistent/t"),
	    OPTIONS_ERROR);
	CHECK(strstr(err, "'/nonexistent/t'") != NULL);
	write_file(tokf, "two words\n");
	CHECK_INT(LOAD(&cfg, "--stats-token-file", tokf), OPTIONS_ERROR);
	CHECK(strstr(err, "one word") != NULL);
	write_file(tokf, "\n");
	CHECK_INT(LOAD(&cfg, "--stats-token-file", tokf), OPTIONS_ERROR);
	CHECK(strstr(err, "too short") != NULL);
	write_file(secret, "short\n");
	CHECK_INT(LOAD(&cfg, "--jwt-secret-file", secret), OPTIONS_ERROR);
	CHECK(strstr(err, "too short") != NULL);

	/* A reload applies what may change and leaves the rest. */
	write_file(secret, "0123456789abcdef0123456789abcdef\n");
	write_file(conf, "rate 5\nport 9000\nallow-origin https://a\n"
	    "jwt-secret-file jwt.secret\n");
	CHECK_INT(LOAD(&cfg, "--config", conf, "-l", "127.0.0.2"),
	    OPTIONS_OK);
	write_file(secret, "fedcba9876543210fedcba9876543210XY\n");
	write_file(conf, "rate 10\nport 9999\nallow-origin https://b\n"
	    "allow-origin https://c\njwt-secret-file jwt.secret\n"
	    "verbose\nmax-clients 50\n");
	CHECK_INT(options_reload(&cfg, err, sizeof(err)),
	    OPTIONS_CHANGED_LOG | OPTIONS_CHANGED_LIMITS);
	CHECK(cfg.rate == 10);
	CHECK_INT(cfg.port, 9000);		/* needs a restart */
	CHECK_STR(cfg.listen, "127.0.0.2");	/* the command line stays */
	CHECK_INT(cfg.norigins, 2);
	CHECK_STR(cfg.origins[1], "https://c");
	CHECK_INT(cfg.jwt_keylen, 34);
	CHECK_INT(cfg.log_level, LOG_DEBUG);
	CHECK_INT(cfg.max_clients, 50);
	/* A bad file changes nothing. */
	write_file(conf, "rate 20\nrate fast\n");
	CHECK_INT(options_reload(&cfg, err, sizeof(err)), -1);
	CHECK_STR(err, "options.conf:2: invalid value 'fast' for 'rate': "
	    "expected 0.01 to 1000000");
	CHECK(cfg.rate == 10);
	/* Nothing changed: nothing to do. */
	write_file(conf, "rate 10\nport 9000\nallow-origin https://b\n"
	    "allow-origin https://c\njwt-secret-file jwt.secret\n"
	    "verbose\nmax-clients 50\n");
	CHECK_INT(options_reload(&cfg, err, sizeof(err)), 0);
	options_release(&cfg);

	/* The usage names every option but the old alias. */
	fp = open_memstream(&usage, &usage_len);
	options_usage(fp, 1);
	fclose(fp);
	CHECK(strstr(usage, "usage: chat-server [-hqVv] [-C cert]") == usage);
	CHECK(strstr(usage, "[--stats-token-file file]") != NULL);
	CHECK(strstr(usage, "  -t, --handshake-timeout DUR time") != NULL);
	CHECK(strstr(usage, "[--queue-bytes") == NULL);
	check_defaults(usage);
	free(usage);

	unlink(conf);
	unlink(secret);
	unlink(tokf);
	return test_done();
}
