/*
 * thash.h — the hash type (Redis's OBJ_HASH, t_hash.c in Redis 7.0.15):
 * its two encodings, the write that applies a command's field updates and
 * converts between them, and the readers other modules use (HGET-like
 * lookups, iteration, random picks, TYPE/DIGEST/MEMORY/COPY via the
 * registered coll row).
 *
 * Encodings (storage/coll.h):
 *  - listpack (compact): after the two type bytes, a LEB128 varint count,
 *    then `count` pairs (varint field length, field bytes, varint value
 *    length, value bytes) in insertion order — a deleted field leaves the
 *    order of the others, a re-added one goes last, as in Redis's listpack.
 *    Lookups are a linear scan (at most hash-max-listpack-entries pairs).
 *  - hashtable (large): one persistent tree (root[0]) whose elements are
 *    (kvmap_hash(field), field, value); iteration is tree order, which is
 *    also HSCAN's cursor order.
 * Conversion as Redis 7.0 (hashTypeTryConversion / hashTypeSet): a compact
 * hash becomes a hashtable when a field or value being written is longer
 * than hash-max-listpack-value, or when the number of fields would exceed
 * hash-max-listpack-entries; a hashtable never becomes compact again.
 *
 * Threads: every function reads published entries (any storage thread,
 * inside its epoch section) or builds unpublished ones in the caller's
 * coll_ctx (that context's thread). Pointers returned point into the entry
 * (or its tree): valid until the caller's next quiescent state.
 * Errors: none (allocation failure aborts).
 */
#ifndef KVSD_THASH_H
#define KVSD_THASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "storage/coll.h"
#include "storage/ptree.h"

/* Fields in the hash. */
size_t thash_count(const struct kv_entry *e);
/* The value of field f, if present. */
bool thash_get(const struct kv_entry *e, const void *f, size_t flen, const char **v, size_t *vlen);

/* Iteration in the encoding's order (listpack: insertion order, as Redis
 * replies; hashtable: tree order). The entry must stay valid meanwhile. */
struct thash_iter {
	bool big;
	const char *p, *end; /* listpack: next pair */
	size_t left;
	struct pt_iter it; /* hashtable */
};
void thash_iter_init(struct thash_iter *it, const struct kv_entry *e);
/* The next pair in out (a/alen: field, b/blen: value); false at the end. */
bool thash_iter_next(struct thash_iter *it, struct pt_elem *out);

/* The pair at position i of the iteration order (i < count). O(i) for a
 * listpack, O(log n) for a hashtable. */
bool thash_at(const struct kv_entry *e, size_t i, struct pt_elem *out);

/* One field update of a write: set f to v, or (del) remove f. */
struct thash_op {
	const char *f;
	size_t flen;
	const char *v;
	size_t vlen;
	bool del;
};

/*
 * The hash after applying ops[0..n) in order to `old` (NULL: an empty
 * hash; else a published hash entry the caller read), built as a new
 * unpublished entry under key with expiry expire_ms, converting as Redis
 * does (see above). A large result is written through coll_edit(c, old):
 * the caller must not read `old` afterwards and must db_put the result (or
 * let the context drop the edit). *added receives the number of fields
 * inserted, *removed the number deleted (either may be NULL). Returns NULL
 * when the result has no field (the caller deletes the key).
 */
struct kv_entry *thash_apply(struct coll_ctx *c, const struct kv_entry *old, const void *key,
			     size_t klen, int64_t expire_ms, const struct thash_op *ops, size_t n,
			     size_t *added, size_t *removed);

/* The type row's operations, also callable directly. */
void thash_digest(const struct kv_entry *e, unsigned char out[20]);
size_t thash_memory(const struct kv_entry *e, long long samples);
void thash_foreach(const struct kv_entry *e,
		   void (*fn)(const char *a, size_t alen, const char *b, size_t blen, void *arg),
		   void *arg);
struct kv_entry *thash_copy(struct coll_ctx *c, const struct kv_entry *e, const void *key,
			    size_t klen, int64_t expire_ms);

/* Registers the hash row (coll_register(KV_HASH, ...)) at start-up. sha1
 * computes the SHA-1 DEBUG DIGEST-VALUE mixes per field and value
 * (server/sha1.h's sha1(); storage does not link server/). */
void thash_setup(void (*sha1)(const void *p, size_t n, uint8_t out[20]));

#endif
