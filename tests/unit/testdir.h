/*
 * Copyright (c) 2026 The chat authors.
 *
 * testdir.h: a fresh directory for the files of a unit test, under
 * $TEST_TMP (the runner's), else $TMPDIR, else /tmp, removed with
 * everything in it at the end.
 */
#ifndef TESTDIR_H
#define TESTDIR_H

#include <sys/stat.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>

/* Make top[len]: "DIR/name.XXXXXX".  0, or -1 after saying why. */
static int
testdir_make(char *top, size_t len, const char *name)
{
	const char	*tmp = getenv("TEST_TMP");

	if (tmp == NULL || *tmp == '\0')
		tmp = getenv("TMPDIR");
	snprintf(top, len, "%s/%s.XXXXXX", tmp != NULL && *tmp != '\0' ?
	    tmp : "/tmp", name);
	if (mkdtemp(top) == NULL) {
		perror(top);
		return -1;
	}
	return 0;
}

static int
testdir_rm_one(const char *path, const struct stat *sb, int flag,
    struct FTW *f)
{
	return remove(path);
}

static void
testdir_remove(const char *top)
{
	nftw(top, testdir_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

#endif /* TESTDIR_H */
