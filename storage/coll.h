/*
 * coll.h — values that are not strings: how hashes, sets and sorted sets
 * (and later lists) live in kv_entry values, who owns their memory, and the
 * write contexts their commands edit them in.
 *
 * Type. A string entry is what it always was. Any other value is marked by
 * the entry header's enc field set to KV_ENC_TYPED (kvmap.h) — the one value
 * of those two bits strings never use, so a string costs no byte more and
 * GET tells a string apart with one load of a word it reads anyway — and its
 * value bytes start with two bytes: the type (enum kv_type, Redis's OBJ_*
 * numbers) and the encoding (enum coll_enc, what OBJECT ENCODING answers).
 *
 * Two representations, both immutable once published, both replaced by a
 * CAS of the whole entry exactly like a string (db_put), so every single-key
 * command is atomic and linearizable, readers never lock and never see half
 * of a command, MULTI/EXEC and multi-key commands stage collection writes in
 * the transaction overlay like any other write, and a point-in-time snapshot
 * only has to hold a root:
 *  - compact (listpack, intset): the elements packed in the value bytes
 *    after the two type bytes, in a format private to the type's module.
 *    A write copies the blob (at most the *-max-listpack-* thresholds: a
 *    few kilobytes), as Redis moves memory inside a listpack.
 *  - large (hashtable, skiplist): a struct coll_big in the value bytes (at
 *    the first 8-aligned address after the type bytes), holding the roots
 *    of persistent counted B+trees (storage/ptree.h). A write path-copies
 *    O(log n) nodes and swaps in a new entry with the new roots; the
 *    versions share every node the write did not touch.
 *
 * Lineages and ownership (large only). The successive versions of one large
 * collection — the entries that share its nodes — form a lineage, named by
 * a process-unique id (coll_big.lineage). An edit of a lineage (struct
 * pt_edit) records the published nodes it replaced; when its result is
 * published they are retired (ptree.h), and when it is not, its private
 * nodes are freed. Which of the two happens is decided where the result is
 * published or abandoned — db_put in a plain view, the commit of a
 * transaction — by coll_ctx_publish() / coll_ctx_abort(), which the db layer
 * calls: a handler only calls coll_edit(), writes through the pt_edit, and
 * builds its new entry with coll_new_big().
 * The last version of a lineage frees the whole tree when it is retired:
 * coll_big.owns is 1 in every entry built, and the db layer clears it in an
 * entry it replaces by a later version of the same lineage (the new version
 * owns the nodes from then on). kv_entry_free_retired() (kvmap.h) runs
 * coll's hook for every entry freed after its grace period; an owning one
 * hands its roots to the background freer (a large collection is never
 * freed on a worker's hot path). Entries freed without having been
 * published (kv_entry_free) never free a tree.
 * Blocks a type keeps outside its trees (a list's end chunks, named from
 * the entry's extension bytes: coll_new_big_ext) follow the same rules:
 * the edit adopts the ones it allocates and disposes of the ones it stops
 * using (ptree.h, pt_edit_adopt / pt_edit_dispose), and the owning
 * version's retired hook frees the rest through the type's release op.
 * Rules this relies on: a lineage lives in one published entry at a time
 * (RENAME, MOVE and EXPIRE keep the lineage; COPY makes a new one with
 * coll_copy(), a deep copy); a handler never reads a version it has
 * started editing other than through its edit.
 *
 * Threads: coll_ctx objects belong to one thread (a transaction's, or the
 * per-thread one of plain views, db.h); everything else: any storage thread.
 * Errors: none (allocation failure aborts).
 */
#ifndef KVSD_COLL_H
#define KVSD_COLL_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "storage/kvmap.h"
#include "storage/ptree.h"

/* Redis's OBJ_* numbers (the RDB type bytes build on them). */
enum kv_type {
	KV_STRING = 0,
	KV_LIST = 1,
	KV_SET = 2,
	KV_ZSET = 3,
	KV_HASH = 4,
	KV_TYPES = 5,
};

/* Encodings of typed values: OBJECT ENCODING's words. */
enum coll_enc {
	COLL_LISTPACK = 0,	/* hash, zset (compact) */
	COLL_INTSET = 1,	/* set of integers (compact) */
	COLL_HASHTABLE = 2,	/* hash, set (large) */
	COLL_SKIPLIST = 3,	/* zset (large) */
	COLL_QUICKLIST = 4,	/* list (compact: one packed blob, storage/tlist.h) */
	COLL_QUICKLIST_BIG = 5, /* list (large: a positional tree of chunks) */
};

static inline bool coll_enc_is_big(unsigned enc)
{
	return enc == COLL_HASHTABLE || enc == COLL_SKIPLIST || enc == COLL_QUICKLIST_BIG;
}

/* The type of any entry. */
static inline enum kv_type kv_entry_type(const struct kv_entry *e)
{
	if (e->enc != KV_ENC_TYPED)
		return KV_STRING;
	return (enum kv_type)(unsigned char)e->data[e->klen];
}
/* The encoding of a typed entry. */
static inline enum coll_enc coll_entry_enc(const struct kv_entry *e)
{
	return (enum coll_enc)(unsigned char)e->data[e->klen + 1];
}

/* A large value. */
struct coll_big {
	/* 1 while this entry owns the trees (see above). Set when built;
	 * cleared once, by the thread that published this lineage's next
	 * version over it, inside that publish's epoch section, so before the
	 * grace period that ends with this entry's retired hook (relaxed on
	 * both sides: the grace period orders them). */
	_Atomic uint8_t owns;
	uint64_t lineage;
	struct pt_node *root[2]; /* hash, set: root[0]; zset: by score, by member */
};

static inline size_t coll_big_offset(size_t klen)
{
	/* the struct starts at the first 8-aligned offset after the type
	 * bytes; entries' data is 8-aligned (entry.c) */
	return (klen + 2 + 7) & ~(size_t)7;
}
/* The struct coll_big of a large entry. Mutable only for owns. */
static inline struct coll_big *coll_big_of(const struct kv_entry *e)
{
	return (struct coll_big *)(uintptr_t)(e->data + coll_big_offset(e->klen));
}

/* Compact value bytes (after the two type bytes) and their length. */
static inline const char *coll_blob(const struct kv_entry *e, size_t *len)
{
	*len = e->vlen - 2;
	return e->data + e->klen + 2;
}

/* ---- building entries (unpublished; kv_entry_free frees them) */

/* A compact value of `len` bytes: blob copied, or (blob NULL) left for the
 * caller to fill through coll_blob_mut. */
struct kv_entry *coll_new_compact(const void *key, size_t klen, enum kv_type type,
				  enum coll_enc enc, const void *blob, size_t len,
				  int64_t expire_ms);
static inline char *coll_blob_mut(struct kv_entry *e)
{
	return e->data + e->klen + 2;
}
/* A large value holding an edit's roots (lineage: the edit's, coll_edit). */
struct kv_entry *coll_new_big(const void *key, size_t klen, enum kv_type type, enum coll_enc enc,
			      uint64_t lineage, struct pt_node *r0, struct pt_node *r1,
			      int64_t expire_ms);
/* coll_new_big with `ext` zeroed bytes after the struct coll_big (a
 * type's per-version extension: a list's end chunks, tlist.c), at
 * coll_big_ext(e), 8-aligned. coll_clone copies them with the roots. */
struct kv_entry *coll_new_big_ext(const void *key, size_t klen, enum kv_type type,
				  enum coll_enc enc, uint64_t lineage, struct pt_node *r0,
				  struct pt_node *r1, size_t ext, int64_t expire_ms);
static inline void *coll_big_ext(const struct kv_entry *e)
{
	return (char *)coll_big_of(e) + sizeof(struct coll_big);
}
/* The value length of a large entry without extension bytes. */
static inline size_t coll_big_vlen(size_t klen)
{
	return coll_big_offset(klen) + sizeof(struct coll_big) - klen;
}
/* How many extension bytes the large entry e carries (0: built without). */
static inline size_t coll_big_ext_len(const struct kv_entry *e)
{
	return e->vlen - coll_big_vlen(e->klen);
}
/* The same value under another key or expiry (RENAME, MOVE, EXPIRE,
 * PERSIST): the same lineage for a large one. For strings too. */
struct kv_entry *coll_clone(const struct kv_entry *e, const void *key, size_t klen,
			    int64_t expire_ms);

/* ---- write contexts */

struct coll_ctx;
struct coll_ctx *coll_ctx_create(void);
void coll_ctx_destroy(struct coll_ctx **c);

/* The edit of the lineage of `cur` (the version the caller read: a large
 * entry; NULL or compact: a new lineage), started on first use in this
 * context; *lineage receives its id. Write through the returned edit, then
 * build the new entry with coll_new_big(..., *lineage, ed->root[0],
 * ed->root[1], ...) and db_put it. Valid until the context resolves it. */
struct pt_edit *coll_edit(struct coll_ctx *c, const struct kv_entry *cur, uint64_t *lineage);

/* The db layer's side (db.c): */
/* A plain write published `neww` over `old` (either may be NULL): the
 * edit of neww's lineage is retired, every other edit dropped (a plain
 * command edits the key it puts), and old stops owning a tree neww
 * continues. */
void coll_ctx_publish(struct coll_ctx *c, const struct kv_entry *old, const struct kv_entry *neww);
/* A plain write failed its CAS: every edit is dropped (the command reads
 * again and rebuilds). */
void coll_ctx_fail(struct coll_ctx *c);
/* A transaction published items (kvtxn_publish_fn: those with .write set
 * replaced .old by .neww). Every edit is retired if its lineage is among
 * the published entries, else dropped; an .old whose lineage continues
 * stops owning. */
void coll_ctx_commit(struct coll_ctx *c, const struct kvmap_mw *items, size_t n);
/* Nothing of the context will be published: drop every edit. */
void coll_ctx_abort(struct coll_ctx *c);
/* Whether the context holds an unresolved edit. */
bool coll_ctx_busy(const struct coll_ctx *c);

/* ---- per-type operations (each type's module registers its row) */
struct coll_type_ops {
	const char *name; /* TYPE's answer */
	/* elements (hash: fields) */
	size_t (*count)(const struct kv_entry *e);
	/* DEBUG DIGEST-VALUE: Redis's 20-byte digest of the value */
	void (*digest)(const struct kv_entry *e, unsigned char out[20]);
	/* MEMORY USAGE's value bytes beyond the entry (samples: Redis's
	 * SAMPLES argument, 0 = all) */
	size_t (*memory)(const struct kv_entry *e, long long samples);
	/* every element in the type's order (zset: by score; b is the score
	 * as Redis prints it; set: b NULL), for SORT and SCAN-like walks */
	void (*foreach)(const struct kv_entry *e,
			void (*fn)(const char *a, size_t alen, const char *b, size_t blen,
				   void *arg),
			void *arg);
	/* COPY: a deep copy under another key (a new lineage), published or
	 * freed by the caller; built in ctx */
	struct kv_entry *(*copy)(struct coll_ctx *c, const struct kv_entry *e, const void *key,
				 size_t klen, int64_t expire_ms);
	/* optional: the last version of a large value's lineage was retired
	 * (its trees go to the freer): free what its extension bytes own */
	void (*release)(const struct kv_entry *e);
};
/* Registers the row of type t (at start-up, before any thread runs). */
void coll_register(enum kv_type t, const struct coll_type_ops *ops);
/* The row of a typed entry's type (NULL for strings / unregistered). */
const struct coll_type_ops *coll_ops(enum kv_type t);
/* The name TYPE prints for an entry: "string", "hash", ... */
const char *coll_type_name(const struct kv_entry *e);
/* OBJECT ENCODING's word for a typed entry. */
const char *coll_enc_name(enum coll_enc enc);

/* ---- encoding thresholds (config: hash-max-listpack-entries, ...) */
enum coll_limit {
	COLL_HASH_MAX_ENTRIES, /* 512 */
	COLL_HASH_MAX_VALUE,   /* 64 */
	COLL_SET_MAX_INTSET,   /* 512 */
	COLL_ZSET_MAX_ENTRIES, /* 128 */
	COLL_ZSET_MAX_VALUE,   /* 64 */
	COLL_LIST_MAX_SIZE,    /* -2 (list-max-listpack-size) */
	COLL_LIST_COMPRESS,    /* 0 (list-compress-depth; storage/tlist.h) */
	COLL_LIMITS,
};
long long coll_limit(enum coll_limit l);
void coll_set_limit(enum coll_limit l, long long v);

/* ---- process set-up: the retired-entry hook and the background freer */
void coll_setup(void);
/* Waits until every tree handed to the freer is freed (tests, teardown). */
void coll_drain(void);
void coll_teardown(void);
/* Trees waiting for the background freer (INFO lazyfree_pending_objects). */
long long coll_lazyfree_pending(void);

#endif
