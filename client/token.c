/*
 * Copyright (c) 2026 The chat authors.
 *
 * token: reading and checking the client's bearer token (token.h).  A
 * file is opened without following a FIFO into a blocking read, read up
 * to a fixed bound and wiped from the stack buffer afterwards.  Nothing
 * here logs or prints; messages name the file, never the token.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "token.h"

/*
 * Drop trailing white space from tok[0..*len) and check what is left.
 * Returns NULL if it can be sent, else why not.
 */
static const char *
token_check(const char *tok, size_t *len)
{
	size_t	i;

	while (*len > 0 && (tok[*len - 1] == '\n' || tok[*len - 1] == '\r' ||
	    tok[*len - 1] == ' ' || tok[*len - 1] == '\t'))
		(*len)--;
	if (*len == 0)
		return "empty";
	if (*len > TOKEN_MAX)
		return "longer than 4096 bytes";
	/* It goes into a header line: no controls, no spaces. */
	for (i = 0; i < *len; i++)
		if ((unsigned char)tok[i] <= 0x20 ||
		    (unsigned char)tok[i] >= 0x7f)
			return "a space or control character";
	return NULL;
}

int
token_read_file(const char *path, char *tok, char *err)
{
	char		 buf[TOKEN_MAX + 64];
	const char	*why;
	struct stat	 st;
	size_t		 len = 0;
	ssize_t		 n;
	int		 fd;

	tok[0] = '\0';
	if ((fd = open(path, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC)) ==
	    -1) {
		snprintf(err, TOKEN_ERRLEN, "cannot read token file '%s': %s",
		    path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		snprintf(err, TOKEN_ERRLEN, "cannot read token file '%s': %s",
		    path, strerror(errno));
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, TOKEN_ERRLEN, "cannot read token file '%s': %s",
		    path, S_ISDIR(st.st_mode) ? strerror(EISDIR) :
		    "not a regular file");
		close(fd);
		return -1;
	}
	/* One byte more than the bound tells a file that is too long. */
	while (len < sizeof(buf)) {
		n = read(fd, buf + len, sizeof(buf) - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			snprintf(err, TOKEN_ERRLEN, "cannot read token file "
			    "'%s': %s", path, strerror(errno));
			close(fd);
			explicit_bzero(buf, sizeof(buf));
			return -1;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (len == sizeof(buf))
		why = "longer than 4096 bytes";
	else
		why = token_check(buf, &len);
	if (why != NULL) {
		snprintf(err, TOKEN_ERRLEN, "invalid token in '%s': %s", path,
		    why);
		explicit_bzero(buf, sizeof(buf));
		return -1;
	}
	memcpy(tok, buf, len);
	tok[len] = '\0';
	explicit_bzero(buf, sizeof(buf));
	return 0;
}

int
token_from_text(const char *text, const char *what, char *tok, char *err)
{
	const char	*why;
	size_t		 len = strlen(text);

	tok[0] = '\0';
	if ((why = token_check(text, &len)) != NULL) {
		snprintf(err, TOKEN_ERRLEN, "invalid token in %s: %s", what,
		    why);
		return -1;
	}
	memcpy(tok, text, len);
	tok[len] = '\0';
	return 0;
}

void
token_wipe(char *tok)
{
	explicit_bzero(tok, TOKEN_MAX + 1);
}
