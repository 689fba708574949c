/*
 * Copyright (c) 2026 The chat authors.
 *
 * token: the bearer token chat-client sends in its upgrade request, from
 * --token-file (read again before every connect, so that an operator
 * can drop in a fresh one) or from CHAT_TOKEN.  It checks only that the
 * text can travel in a header line; the server judges the token.  A
 * token is never logged, printed or put into an error message.
 */
#ifndef TOKEN_H
#define TOKEN_H

#include <stddef.h>

#define TOKEN_MAX	4096	/* bytes, as common/jwt.h's JWT_MAX_TOKEN */
#define TOKEN_ERRLEN	256

/*
 * Read the token in the regular file path into tok[TOKEN_MAX + 1]:
 * trailing white space (the newline an editor adds) is dropped, and the
 * rest must be 1 to TOKEN_MAX bytes of printable ASCII without spaces.
 * Returns 0, or -1 with err[TOKEN_ERRLEN] saying why, e.g. "cannot read
 * token file 'tok': No such file or directory" or "invalid token in
 * 'tok': empty".
 */
int	token_read_file(const char *path, char *tok, char *err);

/*
 * Check a token given as text (CHAT_TOKEN) the same way and copy it
 * into tok[TOKEN_MAX + 1].  what names its source in err.  Returns 0,
 * or -1 with err[TOKEN_ERRLEN] filled.
 */
int	token_from_text(const char *text, const char *what, char *tok,
	    char *err);

/* Overwrite a token buffer of TOKEN_MAX + 1 bytes. */
void	token_wipe(char *tok);

#endif /* TOKEN_H */
