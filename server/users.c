/*
 * Copyright (c) 2026 The chat authors.
 *
 * users: the table of interned user ids (see users.h).
 */
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "users.h"
#include "vec.h"

/*
 * The doomed vector's capacity kept between passes; past it, a pass
 * that doomed many users (a burst of connections) gives it back.
 */
#define USERS_DOOMED_KEEP	256

/*
 * Users left without references are doomed: listed in a vector here
 * rather than linked through a pointer in each user (8 bytes in every
 * user online, see users.h).  If the vector cannot grow, the user is
 * only marked, and the next users_reap() walks the whole table.
 */
struct users {
	struct table	  tab;
	struct user	**doomed;
	size_t		  ndoomed, cdoomed;
	int		  overflow;	/* some doomed are not in the vector */
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
	free(us->doomed);
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
	if (vec_grow(&us->doomed, &us->cdoomed, us->ndoomed + 1,
	    sizeof(*us->doomed)) == -1)
		us->overflow = 1;
	else
		us->doomed[us->ndoomed++] = u;
}

/* Free u if it is still without references (it was doomed). */
static void
reap_one(struct users *us, struct user *u)
{
	u->doomed = 0;
	if (u->refs > 0)
		return;		/* taken again meanwhile */
	table_remove(&us->tab, &u->node);
	free(u);
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
	struct table_iter	 it;
	struct table_node	*n;
	struct user		*u;
	size_t			 i;

	for (i = 0; i < us->ndoomed; i++)
		reap_one(us, us->doomed[i]);
	us->ndoomed = 0;
	if (us->cdoomed > USERS_DOOMED_KEEP) {
		free(us->doomed);
		us->doomed = NULL;
		us->cdoomed = 0;
	}
	if (!us->overflow)
		return;
	us->overflow = 0;
	table_iter_init(&it);
	while ((n = table_iter_next(&us->tab, &it)) != NULL)
		if ((u = TABLE_ENTRY(n, struct user, node))->doomed)
			reap_one(us, u);
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
