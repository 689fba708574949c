/*
 * Copyright (c) 2026 The chat authors.
 *
 * limits: connections per peer address, for --max-per-ip.  A small
 * open hash of addresses with a count each; an address is dropped when
 * its count falls to zero, so the table holds at most one entry per
 * connection.  Nothing here knows a connection.
 */
#include <stdlib.h>
#include <string.h>

#include "server.h"

struct ip_ent {
	struct ip_ent	*next;
	uint32_t	 count;
	uint8_t		 af;
	uint8_t		 ip[16];
};

struct ipcount {
	struct ip_ent	**tab;
	size_t		  nbuckets, n;
};

struct ipcount *
ipcount_new(void)
{
	struct ipcount	*t;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	t->nbuckets = 1024;
	if ((t->tab = calloc(t->nbuckets, sizeof(*t->tab))) == NULL) {
		free(t);
		return NULL;
	}
	return t;
}

void
ipcount_free(struct ipcount *t)
{
	struct ip_ent	*e, *next;
	size_t		 i;

	if (t == NULL)
		return;
	for (i = 0; i < t->nbuckets; i++)
		for (e = t->tab[i]; e != NULL; e = next) {
			next = e->next;
			free(e);
		}
	free(t->tab);
	free(t);
}

static size_t
ip_hash(uint8_t af, const uint8_t *ip)
{
	size_t	h = 2166136261u ^ af, i;

	for (i = 0; i < 16; i++)
		h = (h ^ ip[i]) * 16777619u;
	return h;
}

static struct ip_ent **
ip_find(struct ipcount *t, uint8_t af, const uint8_t *ip)
{
	struct ip_ent	**pp;

	for (pp = &t->tab[ip_hash(af, ip) & (t->nbuckets - 1)]; *pp != NULL;
	    pp = &(*pp)->next)
		if ((*pp)->af == af && memcmp((*pp)->ip, ip, 16) == 0)
			break;
	return pp;
}

static void
ip_grow(struct ipcount *t)
{
	struct ip_ent	**tab, *e, *next;
	size_t		  i, n = t->nbuckets * 2, b;

	if ((tab = calloc(n, sizeof(*tab))) == NULL)
		return;		/* longer chains, still correct */
	for (i = 0; i < t->nbuckets; i++)
		for (e = t->tab[i]; e != NULL; e = next) {
			next = e->next;
			b = ip_hash(e->af, e->ip) & (n - 1);
			e->next = tab[b];
			tab[b] = e;
		}
	free(t->tab);
	t->tab = tab;
	t->nbuckets = n;
}

uint32_t
ipcount_add(struct ipcount *t, uint8_t af, const uint8_t *ip)
{
	struct ip_ent	**pp, *e;

	if (*(pp = ip_find(t, af, ip)) != NULL)
		return ++(*pp)->count;
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return UINT32_MAX;	/* refuse rather than not count */
	e->af = af;
	memcpy(e->ip, ip, 16);
	e->count = 1;
	*pp = e;
	if (++t->n > t->nbuckets)
		ip_grow(t);
	return 1;
}

void
ipcount_del(struct ipcount *t, uint8_t af, const uint8_t *ip)
{
	struct ip_ent	**pp, *e;

	if ((e = *(pp = ip_find(t, af, ip))) == NULL)
		return;
	if (--e->count == 0) {
		*pp = e->next;
		free(e);
		t->n--;
	}
}
