/*
 * Copyright (c) 2026 The chat authors.
 *
 * Unit tests for server/users.c: interning, references, and the reaping
 * of users left without references after the pass (the doomed vector,
 * including a pass that dooms more users than it keeps room for).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "tap.h"
#include "users.h"

static void
test_intern(void)
{
	struct users	*us;
	struct user	*a;
	char		 id[CODEC_MAX_USER + 2];

	if ((us = users_new()) == NULL)
		abort();
	CHECK(users_find(us, "alice") == NULL);
	a = users_get(us, "alice");
	CHECK(a != NULL && strcmp(a->id, "alice") == 0);
	CHECK(users_get(us, "alice") == a);
	CHECK(users_find(us, "alice") == a);
	CHECK_INT(users_count(us), 1);
	memset(id, 'x', sizeof(id) - 1);
	id[sizeof(id) - 1] = '\0';
	CHECK(users_get(us, id) == NULL);	/* one byte too long */
	id[CODEC_MAX_USER] = '\0';
	CHECK(users_get(us, id) != NULL);
	/* Nobody took a reference: both gone after the pass. */
	users_reap(us);
	CHECK(users_find(us, "alice") == NULL);
	CHECK_INT(users_count(us), 0);
	users_free(us);
}

static void
test_refs(void)
{
	struct users	*us;
	struct user	*a, *b;

	if ((us = users_new()) == NULL)
		abort();
	a = users_get(us, "a");
	b = users_get(us, "b");
	if (a == NULL || b == NULL)
		abort();
	user_ref(a);
	user_ref(b);
	users_reap(us);
	CHECK_INT(users_count(us), 2);
	/* b dropped and taken again within the pass: it stays. */
	user_unref(us, a);
	user_unref(us, b);
	user_ref(b);
	users_reap(us);
	CHECK(users_find(us, "a") == NULL);
	CHECK(users_find(us, "b") == b);
	/* Doomed twice in one pass: listed once, freed once. */
	user_unref(us, b);
	user_ref(b);
	user_unref(us, b);
	users_reap(us);
	CHECK_INT(users_count(us), 0);
	users_free(us);
}

/* More users doomed in one pass than the vector keeps room for. */
static void
test_burst(void)
{
	struct users	*us;
	struct user	*u;
	char		 id[32];
	size_t		 i, round, made;

	if ((us = users_new()) == NULL)
		abort();
	for (round = 0; round < 2; round++) {
		for (i = 0, made = 0; i < 5000; i++) {
			snprintf(id, sizeof(id), "u%zu", i);
			if ((u = users_get(us, id)) == NULL)
				break;
			made++;
			if (i % 2 == 0)
				user_ref(u);
		}
		CHECK_INT(made, 5000);
		users_reap(us);
		CHECK_INT(users_count(us), 2500);
		CHECK(users_find(us, "u4998") != NULL);
		CHECK(users_find(us, "u4999") == NULL);
		/* Drop the kept ones: all gone, and the round runs again. */
		for (i = 0; i < 5000; i += 2) {
			snprintf(id, sizeof(id), "u%zu", i);
			if ((u = users_find(us, id)) != NULL)
				user_unref(us, u);
		}
		users_reap(us);
		CHECK_INT(users_count(us), 0);
	}
	users_free(us);
}

int
main(void)
{
	test_intern();
	test_refs();
	test_burst();
	return test_done();
}
