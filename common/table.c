/*
 * Copyright (c) 2026 The chat authors.
 *
 * table: the intrusive hash table (see table.h) and its keyed hash.
 * SipHash-2-4 (Aumasson and Bernstein, 2012) is written here from the
 * paper: 40 lines, against OpenSSL's MAC interface, which allocates a
 * context per call; test_table checks it against the paper's vectors.
 */
#include <stdlib.h>
#include <string.h>

#include "table.h"
#include "util.h"

#define TABLE_MIN_BUCKETS	64
/*
 * Elements a bucket on average before the buckets double.  2, not 1:
 * the users table has a bucket pointer for every user online, and at
 * load 1 that is 8 to 16 bytes per idle connection; at 2, 4 to 8.  A
 * lookup walks 2 nodes on average instead of 1.5, and a node that is
 * not the one costs a key compare, which mostly stops at the first
 * bytes (no hash is stored: see table.h).
 */
#define TABLE_LOAD		2

static uint64_t	sip_k0, sip_k1;
static int	sip_keyed;

#define ROTL(x, b)	(uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

#define SIPROUND do {							\
	v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32);	\
	v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;				\
	v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;				\
	v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32);	\
} while (0)

static uint64_t
le64(const uint8_t *p)
{
	return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 |
	    (uint64_t)p[3] << 24 | (uint64_t)p[4] << 32 |
	    (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 |
	    (uint64_t)p[7] << 56;
}

void
table_hash_key(const uint8_t key[16])
{
	sip_k0 = le64(key);
	sip_k1 = le64(key + 8);
	sip_keyed = 1;
}

uint64_t
table_hash(const void *key, size_t len)
{
	const uint8_t	*p = key, *end;
	uint64_t	 v0, v1, v2, v3, m, b = (uint64_t)len << 56;
	size_t		 left = len & 7;

	if (!sip_keyed) {
		uint8_t	k[16];

		util_random_bytes(k, sizeof(k));
		sip_k0 = le64(k);
		sip_k1 = le64(k + 8);
		sip_keyed = 1;
	}
	v0 = sip_k0 ^ 0x736f6d6570736575ULL;
	v1 = sip_k1 ^ 0x646f72616e646f6dULL;
	v2 = sip_k0 ^ 0x6c7967656e657261ULL;
	v3 = sip_k1 ^ 0x7465646279746573ULL;
	for (end = p + (len - left); p != end; p += 8) {
		m = le64(p);
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	switch (left) {
	case 7: b |= (uint64_t)p[6] << 48;	/* FALLTHROUGH */
	case 6: b |= (uint64_t)p[5] << 40;	/* FALLTHROUGH */
	case 5: b |= (uint64_t)p[4] << 32;	/* FALLTHROUGH */
	case 4: b |= (uint64_t)p[3] << 24;	/* FALLTHROUGH */
	case 3: b |= (uint64_t)p[2] << 16;	/* FALLTHROUGH */
	case 2: b |= (uint64_t)p[1] << 8;	/* FALLTHROUGH */
	case 1: b |= (uint64_t)p[0];		/* FALLTHROUGH */
	default: break;
	}
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

void
table_init(struct table *t, ptrdiff_t key_off, size_t key_len)
{
	t->b = NULL;
	t->nb = t->n = 0;
	t->key_off = key_off;
	t->key_len = key_len;
}

void
table_release(struct table *t)
{
	free(t->b);
	t->b = NULL;
	t->nb = t->n = 0;
}

static const void *
node_key(const struct table *t, const struct table_node *n)
{
	return (const char *)n + t->key_off;
}

static size_t
key_len(const struct table *t, const void *key)
{
	return t->key_len != 0 ? t->key_len : strlen(key);
}

/* The bucket of node n among nb. */
static size_t
node_bucket(const struct table *t, const struct table_node *n, size_t nb)
{
	const void	*key = node_key(t, n);

	return (size_t)(table_hash(key, key_len(t, key)) & (nb - 1));
}

struct table_node *
table_find(const struct table *t, const void *key)
{
	struct table_node	*n;
	size_t			 len;

	if (t->n == 0)
		return NULL;
	len = key_len(t, key);
	n = t->b[table_hash(key, len) & (t->nb - 1)];
	for (; n != NULL; n = n->next)
		if (t->key_len != 0 ? memcmp(node_key(t, n), key, len) == 0 :
		    strcmp(node_key(t, n), key) == 0)
			return n;
	return NULL;
}

/*
 * Double the buckets; on failure the table stays as it is.  Each node's
 * hash is computed again: about one more hash per insert, amortized.
 */
static void
table_grow(struct table *t)
{
	struct table_node	**b, *n, *next;
	size_t			  nb, i, j;

	nb = t->nb == 0 ? TABLE_MIN_BUCKETS : t->nb * 2;
	if (nb > SIZE_MAX / sizeof(*b) || (b = calloc(nb, sizeof(*b))) == NULL)
		return;
	for (i = 0; i < t->nb; i++) {
		for (n = t->b[i]; n != NULL; n = next) {
			next = n->next;
			j = node_bucket(t, n, nb);
			n->next = b[j];
			b[j] = n;
		}
	}
	free(t->b);
	t->b = b;
	t->nb = nb;
}

int
table_insert(struct table *t, struct table_node *n)
{
	size_t	i;

	if (t->n >= TABLE_LOAD * t->nb)
		table_grow(t);
	if (t->nb == 0)
		return -1;
	i = node_bucket(t, n, t->nb);
	n->next = t->b[i];
	t->b[i] = n;
	t->n++;
	return 0;
}

void
table_remove(struct table *t, struct table_node *n)
{
	struct table_node	**pp;

	for (pp = &t->b[node_bucket(t, n, t->nb)]; *pp != n; pp = &(*pp)->next)
		;
	*pp = n->next;
	n->next = NULL;
	t->n--;
}

size_t
table_count(const struct table *t)
{
	return t->n;
}

void
table_iter_init(struct table_iter *it)
{
	it->bucket = 0;
	it->next = NULL;
}

struct table_node *
table_iter_next(const struct table *t, struct table_iter *it)
{
	struct table_node	*n;

	while ((n = it->next) == NULL) {
		if (it->bucket >= t->nb)
			return NULL;
		it->next = t->b[it->bucket++];
	}
	it->next = n->next;
	return n;
}
