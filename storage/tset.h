/*
 * tset.h — the set type (Redis 7.0's t_set.c): its two encodings, the reads
 * every set command and other modules need, and a builder that applies
 * Redis's conversion rules while a command writes.
 *
 * Encodings (OBJECT ENCODING's words; Redis 7.0 has no listpack sets):
 *  - intset (compact, coll.h): every member is an integer (as string2ll
 *    reads it: no leading zeros, no '+', "-0" is no integer) and there are
 *    at most set-max-intset-entries of them. The blob after the two type
 *    bytes is one width byte (2, 4 or 8) and the members as host-order
 *    integers of that width, ascending — Redis's intset without its 8-byte
 *    header. The width is the smallest that held every member ever added
 *    (an insert upgrades it, a removal never narrows it), as Redis's.
 *  - hashtable (large): one persistent tree (root[0]) holding each member
 *    as the element (kvmap_hash(member), member, empty b): membership in
 *    O(log n), random members and SSCAN cursors by hash order.
 * Conversions are Redis's: intset -> hashtable when a non-integer is added
 * or an insert makes it longer than the limit (setTypeAdd); hashtable ->
 * intset never in place, only where Redis builds a new set (SPOP's case 3,
 * the S*STORE results, SUNION/SDIFF's temporary set), which the builder
 * starts as an empty intset exactly as createIntsetObject() does.
 *
 * Iteration order: intset ascending (byte-identical with Redis);
 * hashtable: the tree's (hash) order, which Redis leaves undefined.
 *
 * Threads: readers (tset_src_*, tset_count, ...) read immutable published
 * values or the calling thread's own edit: any storage thread, inside its
 * section. A builder belongs to the thread running its command.
 * Memory: mem_alloc; a builder's arrays are freed by tset_build_done; its
 * tree edits are resolved by the coll context it was given (coll.h), or,
 * built without one, dropped by tset_build_done.
 * Errors: none (allocation failure aborts).
 */
#ifndef KVSD_TSET_H
#define KVSD_TSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "storage/coll.h"

/* Registers the set row (coll_register(KV_SET, ...)). sha1 computes the
 * SHA-1 digest DEBUG DIGEST-VALUE xors per member (server/sha1.h's sha1():
 * storage does not depend on server/, so the caller hands it in). */
void tset_setup(void (*sha1)(const void *p, size_t n, uint8_t out[20]));

/* Redis's string2ll: whether s[0..len) is an integer a set stores in an
 * intset (*out receives it). */
bool tset_str2ll(const char *s, size_t len, long long *out);

/* Room for a member formatted from an intset ("-9223372036854775808"). */
#define TSET_LL_MAX 24

/* ---- reading a set (a published entry, or a builder's current state) */
struct tset_src {
	bool big;
	const char *blob;	    /* intset: members after the width byte */
	unsigned width;		    /* intset: 2, 4 or 8 */
	size_t n;		    /* intset: members */
	const struct pt_node *root; /* hashtable */
};
/* e: a KV_SET entry, or NULL (an empty set). */
void tset_src_of(const struct kv_entry *e, struct tset_src *s);
size_t tset_src_count(const struct tset_src *s);
bool tset_src_has(const struct tset_src *s, const char *m, size_t len);
/* The member at position i < count (intset: i-th smallest; hashtable: rank
 * i in tree order): its bytes in *m, *len (intset: formatted into buf). */
void tset_src_at(const struct tset_src *s, size_t i, char buf[TSET_LL_MAX], const char **m,
		 size_t *len);
/* The position a random pick (SPOP, SRANDMEMBER) takes among n > 0 members
 * for the random value rnd: one formula for the picks and for the hint that
 * foresees them (server/prefetch.c). */
static inline size_t tset_pick_pos(uint64_t rnd, size_t n)
{
	return (size_t)(rnd % n);
}
/* intset only: the i-th smallest integer. */
long long tset_src_int(const struct tset_src *s, size_t i);

/* In-order walk, O(1) amortised per member. */
struct tset_iter {
	const struct tset_src *s;
	size_t i;
	struct pt_iter pit;
	char buf[TSET_LL_MAX];
};
void tset_iter_init(struct tset_iter *it, const struct tset_src *s, size_t from);
/* The next member (valid until the next call) or false at the end. */
bool tset_iter_next(struct tset_iter *it, const char **m, size_t *len);

/* Convenience over published entries (other modules). */
size_t tset_count(const struct kv_entry *e);
bool tset_ismember(const struct kv_entry *e, const char *m, size_t len);
/* A uniformly random member for random value rnd. e not empty. */
void tset_random(const struct kv_entry *e, uint64_t rnd, char buf[TSET_LL_MAX], const char **m,
		 size_t *len);
/* The intset width for v: 2, 4 or 8 bytes (Redis's _intsetValueEncoding). */
unsigned tset_int_width(long long v);

/* ---- building / editing a set under Redis's encoding rules */
struct tset_build {
	bool big;
	/* intset state */
	int64_t *v; /* ascending */
	size_t n, cap;
	unsigned width;
	/* hashtable state: the edit is the context's (ctx) or our own */
	struct coll_ctx *ctx;
	struct pt_edit *ed;
	uint64_t lineage;
	struct pt_edit own;
};
/* An empty set, as createIntsetObject(). ctx: where a hashtable result is
 * edited (its entry is then publishable); NULL for a temporary result that
 * is only read (SUNION's reply): tset_build_done frees it. */
void tset_build_init(struct tset_build *b, struct coll_ctx *ctx);
/* The set of entry e (KV_SET or NULL), to be changed and published over e:
 * a hashtable continues e's lineage (coll_edit(ctx, e, ...)). From here on
 * read e only through the builder. */
void tset_build_from(struct tset_build *b, struct coll_ctx *ctx, const struct kv_entry *e);
/* setTypeAdd: true if m was not a member. Converts to hashtable on a
 * non-integer or past the limit. */
bool tset_build_add(struct tset_build *b, const char *m, size_t len);
/* setTypeRemove: true if m was a member. Never converts. */
bool tset_build_del(struct tset_build *b, const char *m, size_t len);
/* tset_build_del of a member known to be in b (just read from it, copied
 * out): a large set skips the lookup before the delete. */
void tset_build_del_present(struct tset_build *b, const char *m, size_t len);
size_t tset_build_count(const struct tset_build *b);
/* The builder's current set, readable until its next change. */
void tset_build_src(const struct tset_build *b, struct tset_src *s);
/* The entry holding the set (count > 0), for db_put; the builder may be
 * reused afterwards only for tset_build_done. */
struct kv_entry *tset_build_entry(struct tset_build *b, const void *key, size_t klen,
				  int64_t expire_ms);
void tset_build_done(struct tset_build *b);

/* Bytes the value holds beyond its entry (MEMORY USAGE). */
size_t tset_memory(const struct kv_entry *e);

#endif
