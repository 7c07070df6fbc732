/*
 * ptree.h — a persistent (copy-on-write) counted B+tree of byte elements:
 * the large encoding of hashes, sets and sorted sets (storage/coll.h).
 *
 * An element is (key, a, b): a 64-bit key, then two byte strings. Elements
 * are ordered by (key, a): key as an unsigned integer, then a by memcmp
 * over the shorter length, the shorter first on a tie (Redis's sdscmp), and
 * a tree holds at most one element per (key, a). b is payload. Users pick
 * the key: a hash of a (hashes, sets: O(log n) lookup by field, and a scan
 * cursor that survives writes, as Redis's reverse-binary dict cursor does)
 * or an order-preserving image of a double (a sorted set's score order,
 * pt_score_key). Every interior node keeps its subtrees' element counts, so
 * rank, select (the element at rank i) and a uniform random element are
 * O(log n).
 *
 * Versions. A tree is identified by its root pointer; published nodes are
 * immutable. A write runs inside an edit (struct pt_edit) whose generation
 * `gen` is unique in the process (pt_gen_next): a node whose gen equals the
 * edit's is private to it (built by this edit, reachable from no published
 * version) and is changed in place; any other node reached by the write is
 * copied first (path copying: the nodes from the root down to the change,
 * O(log n) of them) and the published original is recorded in the edit's
 * `old` list. So a reader of the previous root keeps seeing the previous
 * version whole, and a command that writes many elements (HSET of ten
 * fields, SUNIONSTORE, a conversion) copies each node at most once. The
 * caller publishes the edit's roots (a new entry swapped in by CAS, db.h),
 * then ends the edit:
 *  - published: pt_edit_retire() hands the replaced nodes to the epoch
 *    reclaimer (kvmap_defer: freed after readers of the old version are
 *    gone). The edit's private nodes now belong to the published version and
 *    the edit must not write again: begin a new one (a new gen).
 *  - not published (lost the CAS, transaction aborted, result discarded):
 *    pt_edit_drop() frees the private nodes reachable from the edit's roots
 *    and forgets `old` (those nodes still belong to the published version).
 * Nodes a private write removes (merges, deleted elements' out-of-line
 * bytes) are freed at once when private, recorded in `old` when published.
 * A whole version that stops being reachable (its key deleted, overwritten
 * with another value, expired, evicted) is freed with pt_free() — after a
 * grace period, by whoever retires it (storage/coll.c) — which frees every
 * node reachable from its root. That is exactly the nodes no edit has
 * replaced: each node is freed once, by the edit that replaced it or by the
 * version that held it last.
 *
 * Large elements: an element whose a + b exceed PT_INLINE_MAX bytes keeps
 * its bytes out of line (one allocation, shared by the leaf copies that
 * hold it, treated as a node by the rules above), so a path copy never
 * copies more than a few kilobytes whatever the values' sizes.
 *
 * Threads: readers (pt_get, pt_rank*, pt_at, iterators, pt_count,
 * pt_bytes) of a published root: any number, any thread, lock-free and
 * store-free, inside an epoch section (kvmap.h: "Threads"). An edit
 * belongs to one thread. Element pointers returned (pt_elem.a, .b) point
 * into nodes: valid for a published root until the caller's next quiescent
 * state; for an edit's roots, until the edit's next write.
 * Ordering: none of its own — the entry CAS that publishes a root releases
 * the nodes, the lookup that finds the entry acquires them (kvmap.h).
 * Memory: mem_alloc; nodes of up to MEM_BLOCK bytes (every leaf, most
 * interior nodes) and the edit's list of replaced nodes come from the
 * per-thread block cache (mem_block_alloc, concurrency/mem.h), since every
 * write allocates a path of them and the reclaimer frees them in bursts.
 * Allocation failure aborts (as mem_alloc does).
 * Errors: none; lookups report absence with false / counts.
 */
#ifndef KVSD_PTREE_H
#define KVSD_PTREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Elements longer than this (a + b bytes), or whose a or b alone has 255
 * bytes or more, are kept out of line. A quarter of a 768 B leaf: a leaf
 * split shared among three leaves must fit (ptree.c, leaf_spread). */
#define PT_INLINE_MAX 192

struct pt_node;

struct pt_elem {
	uint64_t key;
	const char *a;
	size_t alen;
	const char *b;
	size_t blen;
};

/* One write context over up to two trees (a sorted set writes two). */
struct pt_edit {
	uint64_t gen;		 /* nodes with this gen are private: written in place */
	struct pt_node *root[2]; /* the trees being edited (NULL = empty) */
	void **old;		 /* published nodes this edit replaced or removed (tagged:
				  * free a list taken out of an edit with pt_old_free) */
	size_t nold, capold;
	void **priv; /* blocks outside the trees private to the edit (pt_edit_adopt) */
	size_t npriv, cappriv;
};

/* A generation no edit has used (process-wide counter). Any thread. */
uint64_t pt_gen_next(void);
/* Starts an edit of the trees r0, r1 (either may be NULL) with a new gen. */
void pt_edit_begin(struct pt_edit *ed, struct pt_node *r0, struct pt_node *r1);
/* The edit's roots were published: retire its `old` nodes (kvmap_defer;
 * call inside the epoch section in which the publish happened, on a storage
 * thread) and reset the edit to empty (not usable until the next begin). */
void pt_edit_retire(struct pt_edit *ed);
/* The edit's roots will never be published: free its private nodes, forget
 * `old`, reset the edit. */
void pt_edit_drop(struct pt_edit *ed);
/* Blocks a version holds outside its trees (a list's end chunks, tlist.h),
 * under the same rules as nodes. pt_edit_adopt: p (mem_alloc'd by the edit's
 * thread, written by it) is private to the edit: pt_edit_drop frees it,
 * pt_edit_retire hands it to the published version (whose owner frees it
 * later). pt_edit_dispose: p leaves the edit's result: freed now when it was
 * adopted by this edit (removed from the private list), else (published,
 * older readers may hold it) freed by pt_edit_retire's grace period or
 * forgotten by pt_edit_drop. */
void pt_edit_adopt(struct pt_edit *ed, void *p);
void pt_edit_dispose(struct pt_edit *ed, void *p, bool is_private);
/* Frees an edit's `old` list (n entries, and the array) that the caller took
 * out of the edit instead of retiring it (tests that keep versions readable
 * by holding their replaced nodes back). */
void pt_old_free(void **old, size_t n);
/* Frees every node of a version nobody can read any more. */
void pt_free(struct pt_node *root);
/* pt_free's work in bounded slices, for a background freer: frees up to
 * about `budget` nodes and returns the rest of the work (NULL when done).
 * Start with pt_free_start(root). */
struct pt_freeing *pt_free_start(struct pt_node *root);
struct pt_freeing *pt_free_step(struct pt_freeing *f, size_t budget);

/* ---- reads (any published root, or an edit's roots by its own thread) */
size_t pt_count(const struct pt_node *root);
/* The element (key, a), if present. */
bool pt_get(const struct pt_node *root, uint64_t key, const void *a, size_t alen,
	    struct pt_elem *out);
/* A lookup of (key, a) one level at a time, so that a caller with many
 * independent lookups can interleave their cache misses (group
 * prefetching: server/prefetch.c walks the lookups of a pipelined batch
 * level by level before running it). pt_prefetch asks for the lines of
 * the node n; pt_descend returns NULL when n is a leaf, else the child a
 * lookup of (key, a) goes to, after asking for its lines. Hints only:
 * neither changes anything, and the nodes' pointers are the caller's
 * until its next quiescent state, as pt_get's. */
void pt_prefetch(const struct pt_node *n);
const struct pt_node *pt_descend(const struct pt_node *n, uint64_t key, const void *a, size_t alen);
/* A hint for a walk in key order from `key` (a sweep): asks for the lines
 * of the leaf holding the first element of key >= `key` and of the next
 * ones under the same parent, nleaves in all at most. Reads the interior
 * nodes on the way and that leaf's header; changes nothing. */
void pt_prefetch_run(const struct pt_node *root, uint64_t key, unsigned nleaves);
/* pt_descend for a lookup by rank (pt_at's walk) in a tree of unweighted
 * elements: *i, the rank within n, becomes the rank within the child. */
const struct pt_node *pt_descend_at(const struct pt_node *n, size_t *i);
/* How many elements sort before (key, a); a == NULL means before every
 * element of `key` (so pt_rank(r, k, NULL, 0) counts the keys < k). */
size_t pt_rank(const struct pt_node *root, uint64_t key, const void *a, size_t alen);
/* How many elements have a key <= `key`. */
size_t pt_rank_key_le(const struct pt_node *root, uint64_t key);
/* The element at rank i (0-based), if i < pt_count (positional trees: the
 * element covering unit i). */
bool pt_at(const struct pt_node *root, size_t i, struct pt_elem *out);
/* Allocated bytes of the version (nodes and out-of-line elements): MEMORY
 * USAGE. O(nodes). */
size_t pt_bytes(const struct pt_node *root);

/* In-order iteration from a rank, forward or backward: O(1) amortised per
 * step. The iterator holds no resource (no cleanup); the tree must stay
 * unchanged while it is used. */
#define PT_MAX_DEPTH 16
struct pt_iter {
	const struct pt_node *path[PT_MAX_DEPTH];
	uint16_t pos[PT_MAX_DEPTH];
	int depth; /* -1: exhausted */
};
/* Positions it at rank i (i == pt_count: past the end). */
void pt_iter_seek(struct pt_iter *it, const struct pt_node *root, size_t i);
/* The element at the position, then moves forward (next) or backward
 * (prev). false when there is none. */
bool pt_iter_next(struct pt_iter *it, struct pt_elem *out);
bool pt_iter_prev(struct pt_iter *it, struct pt_elem *out);

/* ---- writes (inside an edit; t selects ed->root[t]) */
/* Inserts e, or replaces the element with e's (key, a): returns true if
 * it inserted. The bytes are copied. */
bool pt_put(struct pt_edit *ed, int t, const struct pt_elem *e);
/* Removes (key, a): true if it was present. */
bool pt_del(struct pt_edit *ed, int t, uint64_t key, const void *a, size_t alen);
/* Removes (key, a), which the caller knows is present (it just read it, or
 * an invariant says so): pt_del without its lookup first. Absent: a bug
 * (asserted). */
void pt_del_present(struct pt_edit *ed, int t, uint64_t key, const void *a, size_t alen);

/*
 * ---- positional trees (lists)
 *
 * A tree built only by the functions below is positional: its elements
 * are ordered by position alone and no key is ever compared. An element's
 * key is its WEIGHT (>= 1): the number of units it stands for (a list
 * stores one element per item with weight 1, or a packed chunk of k items
 * with weight k). Counts are sums of weights: pt_count is the number of
 * units, and positions u are in units, 0-based. The same gen / old /
 * private-in-place rules as keyed writes hold, and pt_count, pt_at (the
 * element covering unit u), pt_find_at, iterators (pt_iter_seek_at),
 * pt_bytes and the edit / free functions work on both kinds. Never mix:
 * pt_put / pt_del / pt_get / pt_rank* on a positional tree, or the
 * functions below on a keyed one, is a bug (asserted where cheap). An empty
 * tree (NULL) becomes positional with its first pt_insert_at.
 * Deletes at the ends (the leftmost / rightmost leaf, either kind of tree)
 * do not merge an underfull edge leaf with its sibling: it shrinks until
 * empty and is then removed, so pops at the ends cost no merge.
 */
/* The element covering unit u (u < pt_count) and, in *start (may be NULL),
 * the unit position of its first unit. */
bool pt_find_at(const struct pt_node *root, size_t u, struct pt_elem *out, size_t *start);
/* Positions an iterator on the element covering unit u; *start (may be
 * NULL) as pt_find_at. Keyed trees: the same as pt_iter_seek. */
void pt_iter_seek_at(struct pt_iter *it, const struct pt_node *root, size_t u, size_t *start);
/* Inserts e (e->key: its weight) at unit position u, which must be a
 * boundary: 0, pt_count, or the first unit of an element. Bytes copied. */
void pt_insert_at(struct pt_edit *ed, int t, size_t u, const struct pt_elem *e);
/* Replaces the element covering unit u with e (its weight may differ). */
void pt_set_at(struct pt_edit *ed, int t, size_t u, const struct pt_elem *e);
/* Removes the element covering unit u; returns its weight. */
uint64_t pt_del_at(struct pt_edit *ed, int t, size_t u);

/* ---- keys */
/* An order-preserving image of a double: a < b (as doubles, -0.0 == 0.0;
 * never NaN) iff pt_score_key(a) < pt_score_key(b). And back. -0.0 gets
 * 0.0's key (pt_key_score gives 0.0): keep the exact score in b if its sign
 * matters. */
uint64_t pt_score_key(double d);
double pt_key_score(uint64_t k);

#endif
