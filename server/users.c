/*
 * Copyright (c) 2026 The chat authors.
 *
 * users: the table of interned user ids (see users.h).
 */
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "users.h"

struct users {
	struct table	 tab;
	struct user	*doomed;
};

struct users *
users_new(void)
{
	struct users	*us;

	if ((us = calloc(1, sizeof(*us))) == NULL)
		return NULL;
	table_init(&us->tab, (ptrdiff_t)offsetof(struct user, id) -
	    (ptrdiff_t)offsetof(struct user, node), 0);
	return us;
}

void
users_free(struct users *us)
{
	struct table_iter	 it;
	struct table_node	*n;

	if (us == NULL)
		return;
	table_iter_init(&it);
	while ((n = table_iter_next(&us->tab, &it)) != NULL)
		free(TABLE_ENTRY(n, struct user, node));
	table_release(&us->tab);
	free(us);
}

struct user *
users_find(struct users *us, const char *id)
{
	struct table_node	*n;

	if ((n = table_find(&us->tab, id)) == NULL)
		return NULL;
	return TABLE_ENTRY(n, struct user, node);
}

static void
doom(struct users *us, struct user *u)
{
	if (u->doomed)
		return;
	u->doomed = 1;
	u->dnext = us->doomed;
	us->doomed = u;
}

/* What a user with an id of len bytes takes: the struct ends with it. */
static size_t
user_size(size_t len)
{
	return offsetof(struct user, id) + len + 1;
}

struct user *
users_get(struct users *us, const char *id)
{
	struct user	*u;
	size_t		 len;

	if ((u = users_find(us, id)) != NULL)
		return u;
	if ((len = strlen(id)) > CODEC_MAX_USER ||
	    (u = calloc(1, user_size(len))) == NULL)
		return NULL;
	memcpy(u->id, id, len + 1);
	if (table_insert(&us->tab, &u->node) == -1) {
		free(u);
		return NULL;
	}
	/* Unreferenced until a module keeps it: gone after the pass. */
	doom(us, u);
	return u;
}

void
user_ref(struct user *u)
{
	u->refs++;
}

void
user_unref(struct users *us, struct user *u)
{
	if (u->refs > 0 && --u->refs == 0)
		doom(us, u);
}

void
users_reap(struct users *us)
{
	struct user	*u;

	while ((u = us->doomed) != NULL) {
		us->doomed = u->dnext;
		u->doomed = 0;
		if (u->refs > 0)
			continue;	/* taken again meanwhile */
		table_remove(&us->tab, &u->node);
		free(u);
	}
}

size_t
users_count(const struct users *us)
{
	return table_count(&us->tab);
}

void
users_each(struct users *us, void (*fn)(struct user *, void *), void *arg)
{
	struct table_iter	 it;
	struct table_node	*n;

	table_iter_init(&it);
	while ((n = table_iter_next(&us->tab, &it)) != NULL)
		fn(TABLE_ENTRY(n, struct user, node), arg);
}

size_t
users_cost(const char *id)
{
	/* What users_get() allocates, malloc's header, a bucket's share. */
	return user_size(strlen(id)) + 16 + sizeof(void *);
}
