/*
 * Copyright (c) 2026 The chat authors.
 *
 * Unit tests for common/table.c and common/vec.c: SipHash-2-4 against
 * the paper's test vectors; string and binary keys; many elements
 * (growth), lookups of present and absent keys, removal while walking,
 * a walk that sees every element once; vec_grow's overflow checks.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "table.h"
#include "tap.h"
#include "vec.h"

struct sel {
	int			 seen;
	struct table_node	 node;
	char			 id[];
};

struct bel {
	struct table_node	 node;
	uint8_t			 key[17];
};

static void
test_siphash(void)
{
	uint8_t	k[16], m[64];
	size_t	i;

	for (i = 0; i < 16; i++)
		k[i] = (uint8_t)i;
	for (i = 0; i < sizeof(m); i++)
		m[i] = (uint8_t)i;
	table_hash_key(k);
	/* vectors_sip64[0], [1], [8], [15] and [63] of the reference code. */
	CHECK(table_hash(m, 0) == 0x726fdb47dd0e0e31ULL);
	CHECK(table_hash(m, 1) == 0x74f839c593dc67fdULL);
	CHECK(table_hash(m, 8) == 0x93f5f5799a932462ULL);
	CHECK(table_hash(m, 15) == 0xa129ca6149be45e5ULL);
	CHECK(table_hash(m, 63) == 0x958a324ceb064572ULL);
}

static void
test_strings(void)
{
	struct table		 t;
	struct table_iter	 it;
	struct table_node	*n;
	struct sel		**v;
	char			 key[32];
	size_t			 i, count = 20000, walked = 0, left;

	table_init(&t, (ptrdiff_t)offsetof(struct sel, id) -
	    (ptrdiff_t)offsetof(struct sel, node), 0);
	CHECK(table_find(&t, "nobody") == NULL);
	if ((v = calloc(count, sizeof(*v))) == NULL)
		abort();
	for (i = 0; i < count; i++) {
		snprintf(key, sizeof(key), "user%zu", i);
		if ((v[i] = calloc(1, sizeof(*v[i]) + strlen(key) + 1)) ==
		    NULL)
			abort();
		memcpy(v[i]->id, key, strlen(key) + 1);
		if (table_insert(&t, &v[i]->node) != 0)
			CHECK(0);
	}
	CHECK_INT(table_count(&t), count);
	CHECK(t.nb >= count / 2);	/* TABLE_LOAD */
	for (i = 0; i < count; i += 997) {
		snprintf(key, sizeof(key), "user%zu", i);
		n = table_find(&t, key);
		CHECK(n == &v[i]->node);
		CHECK_STR(TABLE_ENTRY(n, struct sel, node)->id, key);
	}
	CHECK(table_find(&t, "user") == NULL);
	CHECK(table_find(&t, "user20000") == NULL);
	/* Every element once; every odd one removed as it is seen. */
	table_iter_init(&it);
	while ((n = table_iter_next(&t, &it)) != NULL) {
		struct sel	*e = TABLE_ENTRY(n, struct sel, node);

		e->seen++;
		walked++;
		if (atoi(e->id + 4) % 2)
			table_remove(&t, n);
	}
	CHECK_INT(walked, count);
	for (i = 0, left = 0; i < count; i++) {
		if (v[i]->seen != 1)
			break;
		/* No hash is stored: each lookup compares keys down a chain. */
		snprintf(key, sizeof(key), "user%zu", i);
		n = table_find(&t, key);
		if (n != (i % 2 ? NULL : &v[i]->node))
			break;
		left += n != NULL;
	}
	CHECK_INT(i, count);
	CHECK_INT(left, count / 2);
	CHECK_INT(table_count(&t), count / 2);
	for (i = 0; i < count; i++)
		free(v[i]);
	free(v);
	table_release(&t);
	CHECK_INT(table_count(&t), 0);
}

static void
test_binary(void)
{
	struct table	t = TABLE_INIT(struct bel, node, key, 17);
	struct bel	a, b;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	/* Keys with NULs in them, differing in the last byte only. */
	a.key[0] = 2;
	b.key[0] = 2;
	b.key[16] = 1;
	CHECK_INT(table_insert(&t, &a.node), 0);
	CHECK_INT(table_insert(&t, &b.node), 0);
	CHECK(table_find(&t, a.key) == &a.node);
	CHECK(table_find(&t, b.key) == &b.node);
	table_remove(&t, &a.node);
	CHECK(table_find(&t, a.key) == NULL);
	CHECK(table_find(&t, b.key) == &b.node);
	table_release(&t);
}

static void
test_vec(void)
{
	int	*v = NULL;
	size_t	 cap = 0, i;

	CHECK_INT(vec_grow(&v, &cap, 1, sizeof(*v)), 0);
	CHECK(cap >= 1 && v != NULL);
	for (i = 0; i < 1000; i++) {
		if (vec_grow(&v, &cap, i + 1, sizeof(*v)) != 0)
			break;
		v[i] = (int)i;
	}
	CHECK_INT(i, 1000);
	CHECK(cap >= 1000 && v[999] == 999);
	/* Counts whose size in bytes would wrap: refused, array kept. */
	CHECK_INT(vec_grow(&v, &cap, SIZE_MAX / 2, sizeof(*v)), -1);
	CHECK_INT(vec_grow(&v, &cap, SIZE_MAX, 1), -1);
	CHECK(v[999] == 999);
	free(v);
}

int
main(void)
{
	test_siphash();
	test_strings();
	test_binary();
	test_vec();
	return test_done();
}
