/*
 * tlist.h — the list type (Redis's OBJ_LIST, t_list.c / quicklist.c in Redis
 * 7.0.15): its two encodings, the readers, a write session that edits one
 * version whatever its encoding, and the whole-command operations the
 * blocking pops share with LPOP / RPOP / LPUSH (tlist_pop, tlist_push,
 * tlist_move).
 *
 * Encodings (storage/coll.h; both answer "quicklist" in OBJECT ENCODING, as
 * every Redis 7.0 list does):
 *  - COLL_QUICKLIST (compact, like one quicklist node): after the two type
 *    bytes, a LEB128 varint count, then each item as (varint length,
 *    bytes), head first. A 16-byte item costs 17 bytes.
 *  - COLL_QUICKLIST_BIG (large): one positional tree (storage/ptree.h,
 *    root[0]) of chunks: each element packs up to TLIST_CHUNK_MAX bytes of
 *    consecutive items in the compact item format, its key (the weight) is
 *    its item count, so pt_count is the list's length and an index finds
 *    its chunk in O(log n). The two END chunks live outside the tree
 *    (list-compress-depth 0, the default): the entry's extension
 *    (coll_big_ext) names a head chunk and a tail chunk, each with this
 *    version's window (offset, bytes, items) into it; the list is head
 *    window, tree, tail window. A push appends IN PLACE into the end
 *    chunk's free space beyond every published window and publishes a new
 *    entry with a wider window (no chunk or tree node copied); a pop
 *    publishes a narrower window. See tlist.c, "End chunks", for the claim
 *    that makes the in-place append safe against concurrent writers and
 *    old readers. A full end chunk moves into the tree (one path copy per
 *    ~60 items); an emptied one is refilled from the tree's end element.
 *    With list-compress-depth d > 0 (coll_limit(COLL_LIST_COMPRESS)) the
 *    chunks between the first d and the last d are stored LZF-compressed
 *    (Redis's quicklist node compression: a chunk of at least
 *    TLIST_MIN_COMPRESS_BYTES that LZF shrinks by at least
 *    TLIST_MIN_COMPRESS_IMPROVE bytes), as each write session leaves them;
 *    readers and sessions decompress into buffers of their own, so a
 *    published chunk is never changed in place (tlist.c, "Which chunks").
 * Conversion (Redis's quicklist node limit, list-max-listpack-size =
 * coll_limit(COLL_LIST_MAX_SIZE)): a compact list becomes large when it
 * would no longer fit one quicklist node — with a negative setting -1..-5
 * when its listpack size (estimated as Redis encodes it) passes 4/8/16/32/64
 * KB; with a positive one when it has more entries than that (or its
 * listpack passes 8 KB). A large list never becomes compact again (Redis 7.0
 * keeps a quicklist).
 *
 * Threads: readers read published entries (any storage thread, inside its
 * epoch section); a write session belongs to its coll_ctx's thread.
 * Several sessions (any threads, plain or transactional views) may start
 * from the same published version: each end chunk's atomic claim decides
 * which of them may write its free bytes (the others copy the window);
 * bytes inside any version's window are never written again, so readers
 * of every version (snapshots, iterators, LRANGE, DUMP) see it unchanged.
 * Ordering: the entry CAS that publishes a version releases the bytes its
 * pushes wrote; the lookup that finds it acquires them (kvmap.h). The
 * claim itself publishes nothing (relaxed).
 * Ownership: end chunks follow the lineage rules of tree nodes
 * (storage/coll.h): a chunk a session allocates is private to its edit
 * (pt_edit_adopt: freed if the result is dropped), a published chunk a
 * version stops using is retired by the edit (pt_edit_dispose), and the
 * lineage's last version frees the chunks it still holds (the row's
 * release hook).
 * Progress: readers are lock-free and store-free; tlist_pop / tlist_push
 * are optimistic CAS loops (lock-free: a retry means another write won).
 * Pointers returned point into the entry (or its tree, or the caller's
 * memory for items a session was given): valid until the caller's next
 * quiescent state, and for a session's reads, until its next write.
 * Errors: none (allocation failure aborts).
 */
#ifndef KVSD_TLIST_H
#define KVSD_TLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "storage/coll.h"
#include "storage/ptree.h"

struct db_view;

/* Item bytes a large list's chunk packs (with their length varints):
 * a chunk's out-of-line copy is one 1 KB allocation. */
#define TLIST_CHUNK_MAX 1008

enum tlist_end { TLIST_HEAD = 0, TLIST_TAIL = 1 };

/* ---- readers */

/* Items in the list. */
size_t tlist_len(const struct kv_entry *e);
/* The item at index i (0-based from the head), if i < length. *p may point
 * into a buffer of the calling thread (a compressed chunk, decompressed):
 * valid until the thread's next tlist_index or quiescent state. */
bool tlist_index(const struct kv_entry *e, size_t i, const char **p, size_t *len);

/* Iteration from an index, toward the tail (forward) or the head. The
 * entry must stay valid meanwhile; tlist_iter_done frees its buffers. An
 * item's pointer is valid until the iterator moves to the next chunk (a
 * compressed chunk is decompressed into the iterator's buffer): copy what
 * must outlive the next tlist_iter_next. */
struct tlist_item {
	const char *p;
	size_t len;
};
struct tlist_iter {
	bool big, fwd;
	int part; /* large: 0 the head chunk, 1 the tree, 2 the tail chunk */
	const struct kv_entry *e;
	struct pt_iter pit;
	struct tlist_item *v; /* the current chunk's (or the blob's) items */
	size_t n, cap, pos;   /* pos: the next item of v (backward: pos - 1) */
	char *zb;	      /* the current chunk decompressed (if it was compressed) */
	size_t zcap;
};
void tlist_iter_init(struct tlist_iter *it, const struct kv_entry *e, size_t i, bool forward);
bool tlist_iter_next(struct tlist_iter *it, const char **p, size_t *len);
void tlist_iter_done(struct tlist_iter *it);

/* ---- a write session over one version
 *
 * tlist_w_begin(c, old): `old` NULL (an empty list) or a published list
 * entry the caller read; a large one is edited through coll_edit(c, old),
 * so the caller must not read `old` afterwards. Items given to the session
 * (push, set, insert) are referenced, not copied, until tlist_w_finish: keep
 * them alive until then. Indexes are 0-based from the head and must be in
 * range (the caller validates). tlist_w_finish builds the new unpublished
 * entry (NULL when the list is empty: the caller deletes the key) and ends
 * the session; tlist_w_abort ends it without a result (the context drops
 * the edit). */
struct tlist_w;
struct tlist_w *tlist_w_begin(struct coll_ctx *c, const struct kv_entry *old);
size_t tlist_w_len(const struct tlist_w *w);
void tlist_w_push(struct tlist_w *w, enum tlist_end end, size_t n, const char *const *elems,
		  const size_t *lens);
/* Pops min(count, length) items from `end`, in pop order, into out
 * (mem_alloc'd copies appended to out). Returns how many. */
struct tlist_popped;
size_t tlist_w_pop(struct tlist_w *w, enum tlist_end end, size_t count, struct tlist_popped *out);
bool tlist_w_get(struct tlist_w *w, size_t i, const char **p, size_t *len);
void tlist_w_set(struct tlist_w *w, size_t i, const char *p, size_t len);
/* Inserts before index i (i == length: at the tail). */
void tlist_w_insert(struct tlist_w *w, size_t i, const char *p, size_t len);
/* LREM: removes up to |count| items equal to (p, len), from the head when
 * count > 0, from the tail when < 0, all when 0. Returns how many. */
size_t tlist_w_rem(struct tlist_w *w, long long count, const char *p, size_t len);
/* LTRIM: keeps the items [start, stop] (stop < length; start > stop keeps
 * nothing). */
void tlist_w_trim(struct tlist_w *w, size_t start, size_t stop);
struct kv_entry *tlist_w_finish(struct tlist_w *w, const void *key, size_t klen, int64_t expire_ms);
void tlist_w_abort(struct tlist_w *w);

/* ---- whole commands (the CAS loop included), shared with blocking pops */

/* A first popped item up to this many bytes is copied into the struct
 * itself: a pop of one short item allocates nothing. Small on purpose: the
 * struct sits in the pop's stack frame, and a 128-byte buffer there cost
 * LPOP/RPOP 2.5-4 more L1 data misses per request in callgrind's model
 * (the frames below it moved onto other lines) than it saved. */
#define TLIST_POPPED_LOCAL 16
struct tlist_popped {
	size_t n;
	char **elem;  /* copies; the array is one allocation with len's */
	size_t *len;  /* inside elem's allocation: never freed on its own */
	bool inline0; /* elem[0] is inside elem's allocation too, else each
		       * elem[i] is its own mem_alloc'd copy */
	/* n == 1 and the item was short: elem and len point at e0 and l0,
	 * and e0 at b0 (nothing allocated; the struct must not be copied) */
	bool local0;
	char *e0;
	size_t l0;
	char b0[TLIST_POPPED_LOCAL];
};
/* An empty result (tlist_pop does it; tlist_w_pop's caller too). */
static inline void tlist_popped_init(struct tlist_popped *p)
{
	p->n = 0;
	p->elem = NULL;
	p->len = NULL;
	p->inline0 = p->local0 = false;
}
/* Pops min(count, length) elements (count >= 1) from `end` of the list at
 * key (in pop order), deleting the key when it empties. 1: popped (n >= 1);
 * 0: key absent; -1: another type. Any view (plain: a CAS loop;
 * transactional: the overlay). out is initialised here. */
int tlist_pop(const struct db_view *v, const void *key, size_t klen, enum tlist_end end,
	      long long count, int64_t now_ms, struct tlist_popped *out);
void tlist_popped_free(struct tlist_popped *p);
/* Pushes n elements at `end` one after another in argument order (LPUSH a
 * b c -> c b a), creating the key when absent if `create`, keeping the TTL.
 * New length; 0 when absent and !create (LPUSHX); -1 another type. */
long long tlist_push(const struct db_view *v, const void *key, size_t klen, enum tlist_end end,
		     size_t n, const char *const *elems, const size_t *lens, bool create,
		     int64_t now_ms);
/* LMOVE's body: pops one element from `from` of src and pushes it at `to`
 * of dst (src == dst: a rotation). Checks src's type, then (src not empty)
 * dst's, before writing anything. 1: moved (*elem / *len: a mem_alloc'd
 * copy, the caller frees it); 0: src absent; -1: src holds another type;
 * -2: dst holds another type. Two different keys are atomic only in a
 * transactional view (multi_atomic); one key in any view. */
int tlist_move(const struct db_view *v, const void *src, size_t slen, const void *dst, size_t dlen,
	       enum tlist_end from, enum tlist_end to, int64_t now_ms, char **elem, size_t *len);

/* DEBUG OBJECT's quicklist figures: *nodes (1 for a compact list, the
 * chunks of a large one) and *bytes, the listpack bytes they would take in
 * Redis (estimated as Redis encodes entries). O(n). */
void tlist_node_info(const struct kv_entry *e, size_t *nodes, size_t *bytes);

/* ---- chunk compression (list-compress-depth)
 *
 * Redis's quicklist thresholds: a chunk shorter than MIN_COMPRESS_BYTES is
 * not compressed, nor one LZF does not shrink by MIN_COMPRESS_IMPROVE. */
#define TLIST_MIN_COMPRESS_BYTES   48
#define TLIST_MIN_COMPRESS_IMPROVE 8
/* LZF of raw[0..len) into out (room for len bytes): the compressed length,
 * or 0 when the chunk stays raw (below the thresholds above). */
size_t tlist_lzf_pack(const char *raw, size_t len, char *out);
/* true when in[0..inlen) decompresses to exactly rawlen bytes at out. */
bool tlist_lzf_unpack(const char *in, size_t inlen, char *out, size_t rawlen);
/* The list's chunks (1 for a compact list), how many are stored compressed,
 * and (misplaced, may be NULL) how many are not as the current depth asks:
 * an end chunk compressed, or an inner one raw that LZF would shrink enough.
 * Tests; O(chunks) with an LZF attempt per inner raw chunk. */
void tlist_chunk_stats(const struct kv_entry *e, size_t *chunks, size_t *compressed,
		       size_t *misplaced);

/* Tests: whether a push at `end` of this large version would append in
 * place (it has an end chunk whose claim is at its window's edge: no other
 * session took the bytes beyond it and no pop narrowed it there), and then
 * in *room the free bytes there. false for a compact list. */
bool tlist_end_appendable(const struct kv_entry *e, enum tlist_end end, size_t *room);

/* ---- the type row */
void tlist_digest(const struct kv_entry *e, unsigned char out[20]);
size_t tlist_memory(const struct kv_entry *e, long long samples);
void tlist_foreach(const struct kv_entry *e,
		   void (*fn)(const char *a, size_t alen, const char *b, size_t blen, void *arg),
		   void *arg);
struct kv_entry *tlist_copy(struct coll_ctx *c, const struct kv_entry *e, const void *key,
			    size_t klen, int64_t expire_ms);
/* Registers the list row (coll_register(KV_LIST, ...)) at start-up. sha1 as
 * thash_setup's. */
void tlist_setup(void (*sha1)(const void *p, size_t n, uint8_t out[20]));

#endif
