/*
 * Copyright (c) 2026 The chat authors.
 *
 * table: one intrusive hash table for every keyed set in both programs
 * (users, inboxes, remote presence, requests in flight, addresses).
 * An element embeds a struct table_node and holds its key at a fixed
 * offset from it: a NUL-terminated string (key_len 0) or key_len bytes.
 * The table never allocates elements or copies keys; it owns only its
 * bucket array, which doubles at load TABLE_LOAD, 2 (a failed growth
 * only makes chains longer).  The hash is SipHash-2-4 under a key drawn at random
 * once per process, so that peers choosing user ids cannot make chains
 * long (hash flooding).  A node is its link alone: the hash is not kept
 * but computed again from the key when the node is removed or the
 * buckets grow, and a lookup compares keys: 8 bytes less in every
 * element, every user online among them (bench/README.md, "Memory per
 * idle connection").  So an element's key must stay as it is while the
 * element is in the table.
 */
#ifndef TABLE_H
#define TABLE_H

#include <stddef.h>
#include <stdint.h>

struct table_node {
	struct table_node	*next;
};

struct table {
	struct table_node	**b;		/* NULL until the first insert */
	size_t			  nb, n;
	ptrdiff_t		  key_off;	/* key address - node address */
	size_t			  key_len;	/* 0: NUL-terminated string */
};

/*
 * The table of elements whose key lies key_off bytes after their
 * table_node (offsetof(elem, key) - offsetof(elem, node)).
 */
#define TABLE_INIT(type, node, key, len) \
	{ NULL, 0, 0, (ptrdiff_t)offsetof(type, key) - \
	    (ptrdiff_t)offsetof(type, node), (len) }
void	table_init(struct table *, ptrdiff_t key_off, size_t key_len);
/* Free the buckets (not the elements). */
void	table_release(struct table *);

/* The element's struct from its node. */
#define TABLE_ENTRY(np, type, member) \
	((type *)(void *)((char *)(np) - offsetof(type, member)))

/* The node whose key equals key (a string, or key_len bytes), or NULL. */
struct table_node *table_find(const struct table *, const void *key);
/*
 * Add n, whose key is already in its element and not in the table.
 * 0, or -1 if there is no bucket array and none could be made.
 */
int	table_insert(struct table *, struct table_node *n);
/* Take n, which is in the table, out of it. */
void	table_remove(struct table *, struct table_node *n);
size_t	table_count(const struct table *);

/*
 * Walking: table_iter_init() then table_iter_next() until NULL.  The
 * node returned may be removed before the next call; inserting during
 * a walk is not allowed (the buckets may grow).
 */
struct table_iter {
	size_t			 bucket;
	struct table_node	*next;
};
void	table_iter_init(struct table_iter *);
struct table_node *table_iter_next(const struct table *, struct table_iter *);

/* The keyed hash itself (also for keys kept elsewhere). */
uint64_t table_hash(const void *key, size_t len);
/* Set the hash key (tests only; otherwise random at the first hash). */
void	table_hash_key(const uint8_t key[16]);

#endif /* TABLE_H */
