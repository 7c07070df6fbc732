/*
 * ptree.c — the persistent counted B+tree of ptree.h.
 *
 * Layout. Every allocation the tree owns starts with its 64-bit generation:
 * leaves, interior nodes and out-of-line elements (struct pt_big) alike, so
 * one rule (gen == the edit's: private, free or change it; otherwise
 * published: copy it, and record the original in ed->old) covers them all.
 *
 *  - A leaf is LEAF_BYTES (one allocator size class) laid out as a slotted
 *    page: a 16-byte header, then n 16-bit slot offsets in element order
 *    growing up, and the records they point to growing down from the end.
 *    A record is [key u64][alen u8][blen u8][a][b]; a large element's record
 *    is [key][255][255][struct pt_big *] (255/255 cannot be an inline
 *    record: inline needs alen + blen <= PT_INLINE_MAX). A removed record
 *    leaves a hole (counted in `garbage`) that an insert compacts away when
 *    it needs the room. So an element costs 12 + alen + blen bytes.
 *  - An interior node holds up to FAN children, each with its subtree's
 *    element count and a separator (key, sep bytes): every element of child
 *    i - 1 sorts below separator i, every element of child i at or above it.
 *    Separators are the shortest such prefix of child i's first element
 *    (mostly zero bytes: the keys differ), kept in a byte area after the
 *    arrays. Separator 0 is not used by lookups (child 0 takes everything
 *    below separator 1); a node built by a split keeps there the separator
 *    its parent must take.
 *
 * Writes go down recursively, copying published nodes on the way (own()),
 * and come back up with the node that replaces each one: a leaf change in
 * place when the page has room, otherwise the nodes involved are rebuilt
 * from a list of their records or children (splits, merges, anything that
 * changes separators), which keeps every case the same short code. A leaf
 * that overflows shares its contents with a sibling (two leaves, or three
 * when the two are full: B*-tree style, leaves stay ~80% full), except at
 * the ends of the tree, where an in-order fill (ascending scores) leaves the
 * full leaf full and starts a new one. A delete
 * that leaves a node underfull (a leaf below a quarter of its bytes, an
 * interior node below a quarter of FAN) merges it with a sibling, or shares
 * their contents evenly when both do not fit in one; a root left with one
 * child is collapsed. All leaves are at the same depth, so the depth is
 * O(log n) (PT_MAX_DEPTH is asserted when a root splits).
 */
#include "storage/ptree.h"

#include <stdatomic.h>
#include <string.h>

#include "concurrency/mem.h"
#include "concurrency/util.h"
#include "storage/kvmap.h"

/* 768 B nodes (a jemalloc size class). A write copies a path of them, and
 * the copies' first reads of cold nodes are most of its cache misses. At
 * 768 B the depth at 2M elements is unchanged (5) and memory per element
 * ~2-3% higher than with 1 KB; callgrind per write to a 2M-member
 * collection, both binaries run side by side (bench/types_ir.sh --cache):
 * LL read misses down 7-12%, L1 read misses down 13-29% (SPOP +6%),
 * instructions within 1%. 512 B nodes add a level and 9-12% memory (a
 * 1M-member sorted set over issue 13's 0.8x of Redis); 256 B more so.
 * docs/BENCHMARKS.md, "Node size". */
#define LEAF_BYTES 768
#define HDR	   16
#define LEAF_DATA  (LEAF_BYTES - HDR)
#define REC_HDR	   10
#define OOL_MARK   255
#define OOL_REC	   (REC_HDR + sizeof(void *))
/* The most records a leaf can hold (each >= REC_HDR bytes + a 2-byte slot). */
#define LEAF_MAXN (LEAF_DATA / (REC_HDR + 2))
/* 23: an interior node with short separators fits in LEAF_BYTES (24 + 23 * 32) */
#define FAN 23

struct pt_node {
	uint64_t gen;
	uint16_t n;	  /* elements (leaf) or children (interior) */
	uint8_t leaf;	  /* 1: leaf */
	uint8_t wt;	  /* 1: a positional tree's node (counts are weights) */
	uint16_t top;	  /* leaf: records occupy [top, LEAF_BYTES) */
	uint16_t garbage; /* leaf: bytes of that range no slot points to */
};
_Static_assert(sizeof(struct pt_node) == HDR, "leaf header is HDR bytes");

/* key[] first: a lookup reads the header and the keys it probes from the
 * node's first two cache lines, then one line of child[] (and the
 * separator bytes only when a key ties). */
struct pt_inode {
	struct pt_node h;
	uint32_t sepbytes; /* size of sep[] */
	uint32_t pad;
	uint64_t key[FAN]; /* separator i: (key[i], sep_at(i), sep_len(i)) */
	struct pt_node *child[FAN];
	uint64_t cnt[FAN]; /* elements under child[i] */
	/* soff / slen: only when sepbytes > 0 (else every separator is its key
	 * alone, and the arrays are neither written nor copied: most nodes of a
	 * hash's or set's tree, whose keys differ) */
	uint32_t soff[FAN];
	uint32_t slen[FAN];
	char sep[];
};

static inline size_t sep_len(const struct pt_inode *in, unsigned i)
{
	return in->sepbytes ? in->slen[i] : 0;
}

static inline const char *sep_at(const struct pt_inode *in, unsigned i)
{
	return in->sepbytes ? in->sep + in->soff[i] : in->sep;
}

/* An element kept out of line: a and b back to back. */
struct pt_big {
	uint64_t gen;
	uint32_t alen, blen;
	char data[];
};

/* ---- generations and small helpers */

/* Only uniqueness matters (a gen tags the nodes of one edit, owned by one
 * thread; the nodes themselves are published by the entry CAS): relaxed. */
static _Atomic uint64_t pt_gen_counter = 1;

uint64_t pt_gen_next(void)
{
	/* relaxed: a unique number is all we need; it orders nothing */
	return atomic_fetch_add_explicit(&pt_gen_counter, 1, memory_order_relaxed);
}

static inline uint64_t gen_of(const void *p)
{
	uint64_t g;
	memcpy(&g, p, sizeof(g));
	return g;
}

static int cmp_ka(uint64_t k1, const void *a1, size_t l1, uint64_t k2, const void *a2, size_t l2)
{
	if (k1 != k2)
		return k1 < k2 ? -1 : 1;
	size_t m = l1 < l2 ? l1 : l2;
	int c = m ? memcmp(a1, a2, m) : 0;
	if (c)
		return c;
	return l1 < l2 ? -1 : l1 > l2;
}

static inline const struct pt_inode *cin(const struct pt_node *n)
{
	return (const struct pt_inode *)n;
}

static inline struct pt_inode *in_of(struct pt_node *n)
{
	return (struct pt_inode *)n;
}

/* ---- leaf records */

static inline uint16_t *lslots(const struct pt_node *n)
{
	return (uint16_t *)((char *)n + HDR);
}

static inline const unsigned char *lrec(const struct pt_node *n, unsigned i)
{
	return (const unsigned char *)n + lslots(n)[i];
}

static inline bool rec_is_big(const unsigned char *r)
{
	return r[8] == OOL_MARK && r[9] == OOL_MARK;
}

static inline size_t rec_len(const unsigned char *r)
{
	return rec_is_big(r) ? OOL_REC : (size_t)REC_HDR + r[8] + r[9];
}

static inline struct pt_big *rec_big(const unsigned char *r)
{
	struct pt_big *b = NULL;
	if (rec_is_big(r))
		memcpy(&b, r + REC_HDR, sizeof(b));
	return b;
}

static inline uint64_t rec_key(const unsigned char *r)
{
	uint64_t k;
	memcpy(&k, r, sizeof(k));
	return k;
}

static void rec_elem(const unsigned char *r, struct pt_elem *e)
{
	e->key = rec_key(r);
	if (rec_is_big(r)) {
		const struct pt_big *b = rec_big(r);
		e->a = b->data;
		e->alen = b->alen;
		e->b = b->data + b->alen;
		e->blen = b->blen;
	} else {
		e->a = (const char *)r + REC_HDR;
		e->alen = r[8];
		e->b = (const char *)r + REC_HDR + r[8];
		e->blen = r[9];
	}
}

/* Bytes of records and slots in use. */
static inline size_t leaf_used(const struct pt_node *n)
{
	return (size_t)(LEAF_BYTES - n->top - n->garbage) + 2u * n->n;
}

/* First position whose element is >= (key, a); *exact if equal. */
/* cmp_ka of record r against (key, a): the keys alone unless they tie. */
static inline int rec_cmp(const unsigned char *r, uint64_t key, const void *a, size_t alen)
{
	uint64_t k = rec_key(r);
	if (k != key)
		return k < key ? -1 : 1;
	struct pt_elem e;
	rec_elem(r, &e);
	return cmp_ka(k, e.a, e.alen, key, a, alen);
}

static unsigned leaf_lower(const struct pt_node *n, uint64_t key, const void *a, size_t alen,
			   bool *exact)
{
	unsigned lo = 0, hi = n->n;
	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;
		if (rec_cmp(lrec(n, mid), key, a, alen) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (exact)
		*exact = lo < n->n && rec_cmp(lrec(n, lo), key, a, alen) == 0;
	return lo;
}

/* in_route's tie: from separator i on, those that share `key` and are still
 * <= (key, a) (rare in a hash's or set's tree: its keys are hashes). */
static __attribute__((noinline)) unsigned in_route_tie(const struct pt_inode *in, unsigned i,
						       uint64_t key, const void *a, size_t alen)
{
	while (i < in->h.n && in->key[i] == key &&
	       cmp_ka(key, sep_at(in, i), sep_len(in, i), key, a, alen) <= 0)
		i++;
	return i;
}

/* Last child whose separator is <= (key, a) (child 0 if none): a
 * branch-free lower bound over the keys of separators 1 .. n - 1, then the
 * separator bytes only where a key ties (soff / slen / sep untouched
 * otherwise). */
static inline unsigned in_route(const struct pt_inode *in, uint64_t key, const void *a, size_t alen)
{
	const uint64_t *first = in->key + 1, *b = first;
	unsigned len = in->h.n - 1u;
	if (!len)
		return 0;
	while (len > 1) {
		unsigned half = len / 2;
		b = b[half - 1] < key ? b + half : b;
		len -= half;
	}
	/* i: the first separator whose key is >= key (n if none) */
	unsigned i = (unsigned)(b - first) + (*b < key) + 1u;
	if (i < in->h.n && in->key[i] == key)
		i = in_route_tie(in, i, key, a, alen);
	return i - 1u;
}

/* A positional leaf: the position of the element covering unit u
 * (cover) or of the boundary at unit u (insertion; u must be one);
 * *start receives the units before it. */
static unsigned leaf_pos(const struct pt_node *n, size_t u, bool cover, size_t *start)
{
	size_t acc = 0;
	unsigned pos = 0;
	if (cover) {
		while (pos < n->n && acc + rec_key(lrec(n, pos)) <= u)
			acc += rec_key(lrec(n, pos++));
		KV_ASSERT(pos < n->n);
	} else {
		while (pos < n->n && acc < u)
			acc += rec_key(lrec(n, pos++));
		KV_ASSERT(acc == u);
	}
	if (start)
		*start = acc;
	return pos;
}

/* A positional interior node: the child covering unit *u (cover) or
 * holding the boundary at *u (insertion: a boundary between two children
 * goes to the left one, so the ends go to the edge children); *u becomes
 * the unit within that child. */
static unsigned in_pos(const struct pt_inode *in, size_t *u, bool cover)
{
	unsigned j = 0;
	while (j + 1u < in->h.n && (cover ? *u >= in->cnt[j] : *u > in->cnt[j]))
		*u -= in->cnt[j++];
	return j;
}

static size_t node_count(const struct pt_node *n)
{
	if (n->leaf && n->wt) {
		size_t s = 0;
		for (unsigned i = 0; i < n->n; i++)
			s += rec_key(lrec(n, i));
		return s;
	}
	if (n->leaf)
		return n->n;
	size_t s = 0;
	for (unsigned i = 0; i < n->n; i++)
		s += cin(n)->cnt[i];
	return s;
}

static size_t node_size(const struct pt_node *n)
{
	return n->leaf ? LEAF_BYTES : sizeof(struct pt_inode) + cin(n)->sepbytes;
}

/* Nodes of up to MEM_BLOCK bytes (every leaf, interior nodes with short
 * separators) come from mem.h's per-thread block cache. */
_Static_assert(LEAF_BYTES == MEM_BLOCK, "a leaf is one cached block");

static void *node_alloc(size_t sz)
{
	return sz <= MEM_BLOCK ? mem_block_alloc() : mem_alloc(sz);
}

static void node_free(struct pt_node *n)
{
	if (node_size(n) <= MEM_BLOCK)
		mem_block_free(n);
	else
		mem_free(n);
}

/* ed->old holds nodes and other blocks; a node from the block cache is
 * tagged in bit 0 (allocations are aligned) so the batch that frees them
 * knows its size without asking the allocator. */
#define OLD_BLOCK ((uintptr_t)1)

/* ---- the edit's bookkeeping */

/* ed->old starts as one cached block (OLD_FIRST slots: a write replaces a
 * few nodes) and grows into plain allocations; an array holding at most
 * OLD_FIRST - 2 entries is always the block (it grows when nold + 2 would
 * exceed its capacity), which is how free_old_batch tells them apart. */
#define OLD_FIRST (MEM_BLOCK / sizeof(void *))

static void old_array_free(void **v, size_t n)
{
	if (n <= OLD_FIRST - 2)
		mem_block_free(v);
	else
		mem_free(v);
}

static void push_old(struct pt_edit *ed, void *p)
{
	/* one spare slot for pt_edit_retire's terminator */
	if (ed->nold + 2 > ed->capold) {
		if (!ed->capold) {
			ed->capold = OLD_FIRST;
			ed->old = mem_block_alloc();
		} else {
			void **v = mem_alloc(ed->capold * 2 * sizeof(void *));
			memcpy(v, ed->old, ed->nold * sizeof(void *));
			old_array_free(ed->old, ed->nold);
			ed->old = v;
			ed->capold *= 2;
		}
	}
	ed->old[ed->nold++] = p;
}

/* p (a pt_big) leaves the edit's trees. */
static void dispose(struct pt_edit *ed, void *p)
{
	if (gen_of(p) == ed->gen)
		mem_free(p);
	else
		push_old(ed, p);
}

/* A published node n was replaced or removed. */
static void retire_node(struct pt_edit *ed, struct pt_node *n)
{
	push_old(ed, node_size(n) <= MEM_BLOCK ? (void *)((uintptr_t)n | OLD_BLOCK) : n);
}

/* The node n leaves the edit's trees. */
static void dispose_node(struct pt_edit *ed, struct pt_node *n)
{
	if (n->gen == ed->gen)
		node_free(n);
	else
		retire_node(ed, n);
}

/* Copies the bytes of n that are in use into c (a block of node_size(n)):
 * a leaf's header and slots and its record area [top, LEAF_BYTES), an
 * interior node's first n entries of each array and its separator bytes.
 * Nodes are mostly 70-90% full, and the copy is the bulk of a path copy. */
static void node_copy(struct pt_node *c, const struct pt_node *n)
{
	if (n->leaf) {
		memcpy(c, n, HDR + 2u * n->n);
		memcpy((char *)c + n->top, (const char *)n + n->top, LEAF_BYTES - n->top);
		return;
	}
	const struct pt_inode *s = cin(n);
	struct pt_inode *d = in_of(c);
	size_t k = n->n;
	/* header, key[], child[] and cnt[0 .. k) as one copy: the unused tails
	 * of key[] and child[] (a few words each) cost less than three more
	 * memcpy calls per level (callgrind) */
	memcpy(d, s, offsetof(struct pt_inode, cnt) + k * sizeof(s->cnt[0]));
	if (s->sepbytes) {
		memcpy(d->soff, s->soff, k * sizeof(s->soff[0]));
		memcpy(d->slen, s->slen, k * sizeof(s->slen[0]));
		memcpy(d->sep, s->sep, s->sepbytes);
	}
}

/* n, made private: the node itself when it is, else a copy. */
static struct pt_node *own(struct pt_edit *ed, struct pt_node *n)
{
	if (n->gen == ed->gen)
		return n;
	size_t sz = node_size(n);
	struct pt_node *c = node_alloc(sz);
	node_copy(c, n);
	c->gen = ed->gen;
	retire_node(ed, n);
	return c;
}

void pt_edit_begin(struct pt_edit *ed, struct pt_node *r0, struct pt_node *r1)
{
	ed->gen = pt_gen_next();
	ed->root[0] = r0;
	ed->root[1] = r1;
	ed->old = NULL;
	ed->nold = ed->capold = 0;
	ed->priv = NULL;
	ed->npriv = ed->cappriv = 0;
}

void pt_edit_adopt(struct pt_edit *ed, void *p)
{
	if (ed->npriv == ed->cappriv) {
		ed->cappriv = ed->cappriv ? ed->cappriv * 2 : 4;
		ed->priv = mem_realloc(ed->priv, ed->cappriv * sizeof(void *));
	}
	ed->priv[ed->npriv++] = p;
}

void pt_edit_dispose(struct pt_edit *ed, void *p, bool is_private)
{
	if (!is_private) {
		push_old(ed, p);
		return;
	}
	for (size_t i = ed->npriv; i-- > 0;) {
		if (ed->priv[i] == p) {
			ed->priv[i] = ed->priv[--ed->npriv];
			mem_free(p);
			return;
		}
	}
	KV_ASSERT(false); /* a private block the edit did not adopt */
}

void pt_old_free(void **old, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uintptr_t u = (uintptr_t)old[i];
		if (u & OLD_BLOCK)
			mem_block_free((void *)(u & ~OLD_BLOCK));
		else
			mem_free(old[i]);
	}
	if (old)
		old_array_free(old, n);
}

static void free_old_batch(void *p)
{
	void **v = p;
	size_t n = 0;
	while (v[n])
		n++;
	pt_old_free(v, n);
}

void pt_edit_retire(struct pt_edit *ed)
{
	if (ed->nold) {
		/* the reclaimer's byte count only feeds statistics and the
		 * evictor's limbo check: nodes are at most about LEAF_BYTES, and
		 * asking the allocator for each one's size cost ~7% of a large
		 * hash's HSET (callgrind) */
		size_t bytes = (ed->nold + 1) * LEAF_BYTES;
		ed->old[ed->nold] = NULL; /* push_old kept room for it */
		kvmap_defer(ed->old, bytes, free_old_batch);
	}
	mem_free(ed->priv); /* the blocks now belong to the published version */
	memset(ed, 0, sizeof(*ed));
}

static void drop_private(uint64_t gen, struct pt_node *n)
{
	if (!n || n->gen != gen)
		return;
	if (n->leaf) {
		for (unsigned i = 0; i < n->n; i++) {
			struct pt_big *b = rec_big(lrec(n, i));
			if (b && b->gen == gen)
				mem_free(b);
		}
	} else {
		for (unsigned i = 0; i < n->n; i++)
			drop_private(gen, in_of(n)->child[i]);
	}
	node_free(n);
}

void pt_edit_drop(struct pt_edit *ed)
{
	drop_private(ed->gen, ed->root[0]);
	drop_private(ed->gen, ed->root[1]);
	for (size_t i = 0; i < ed->npriv; i++)
		mem_free(ed->priv[i]);
	mem_free(ed->priv);
	if (ed->old)
		old_array_free(ed->old, ed->nold);
	memset(ed, 0, sizeof(*ed));
}

/* ---- freeing whole versions */

struct pt_freeing {
	size_t n, cap;
	struct pt_node **stack;
};

struct pt_freeing *pt_free_start(struct pt_node *root)
{
	if (!root)
		return NULL;
	struct pt_freeing *f = mem_alloc(sizeof(*f));
	f->cap = 64;
	f->stack = mem_alloc(f->cap * sizeof(*f->stack));
	f->stack[0] = root;
	f->n = 1;
	return f;
}

struct pt_freeing *pt_free_step(struct pt_freeing *f, size_t budget)
{
	if (!f)
		return NULL;
	while (f->n && budget--) {
		struct pt_node *n = f->stack[--f->n];
		if (n->leaf) {
			for (unsigned i = 0; i < n->n; i++) {
				struct pt_big *b = rec_big(lrec(n, i));
				if (b)
					mem_free(b);
			}
		} else {
			if (f->n + n->n > f->cap) {
				while (f->n + n->n > f->cap)
					f->cap *= 2;
				f->stack = mem_realloc(f->stack, f->cap * sizeof(*f->stack));
			}
			for (unsigned i = 0; i < n->n; i++)
				f->stack[f->n++] = in_of(n)->child[i];
		}
		mem_free(n);
	}
	if (f->n)
		return f;
	mem_free(f->stack);
	mem_free(f);
	return NULL;
}

void pt_free(struct pt_node *root)
{
	struct pt_freeing *f = pt_free_start(root);
	while (f)
		f = pt_free_step(f, SIZE_MAX);
}

/* ---- reads */

size_t pt_count(const struct pt_node *root)
{
	return root ? node_count(root) : 0;
}

/* Asks for every line of the node at n at once (a node is LEAF_BYTES at most
 * where lookups read it: an interior node's key[] and child[] arrays, a
 * leaf's slots and records). A lookup's binary search reads 3-5 lines of a
 * node, each address depending on the last load, so on a cold node they
 * were 3-5 memory latencies in a row; with the lines already requested they
 * overlap (Chen, Gibbons & Mowry, "Improving Index Performance through
 * Prefetching", SIGMOD 2001). A write routes on the node as found and
 * asks for the child before it copies the node (ins(), del()): the copy of
 * one level then overlaps the fetch of the next, where copying first left
 * the check of each cold node's gen waiting on its first miss (67% of own's
 * samples in an HSET to a 2M-field hash, perf). */
static inline void node_prefetch(const struct pt_node *n)
{
	for (size_t off = 0; off < LEAF_BYTES; off += 64)
		__builtin_prefetch((const char *)n + off);
}

void pt_prefetch(const struct pt_node *n)
{
	node_prefetch(n);
}

void pt_prefetch_run(const struct pt_node *root, uint64_t key, unsigned nleaves)
{
	const struct pt_node *n = root;

	while (n && !n->leaf) {
		const struct pt_inode *in = cin(n);
		unsigned i = in_route(in, key, NULL, 0);
		const struct pt_node *ch = in->child[i];

		if (ch->leaf) {
			for (unsigned j = i; j < in->h.n && j < i + nleaves; j++)
				node_prefetch(in->child[j]);
			return;
		}
		n = ch;
	}
}

/* One level of a lookup by (key, a): pt_get's step, and pt_descend's. */
static inline const struct pt_node *descend(const struct pt_node *n, uint64_t key, const void *a,
					    size_t alen)
{
	if (n->leaf)
		return NULL;
	const struct pt_node *ch = cin(n)->child[in_route(cin(n), key, a, alen)];
	node_prefetch(ch);
	return ch;
}

const struct pt_node *pt_descend(const struct pt_node *n, uint64_t key, const void *a, size_t alen)
{
	return descend(n, key, a, alen);
}

const struct pt_node *pt_descend_at(const struct pt_node *n, size_t *i)
{
	if (n->leaf)
		return NULL;
	const struct pt_node *ch = cin(n)->child[in_pos(cin(n), i, true)];
	node_prefetch(ch);
	return ch;
}

bool pt_get(const struct pt_node *root, uint64_t key, const void *a, size_t alen,
	    struct pt_elem *out)
{
	if (!root)
		return false;
	const struct pt_node *n = root, *ch;
	while ((ch = descend(n, key, a, alen)) != NULL)
		n = ch;
	bool exact;
	unsigned pos = leaf_lower(n, key, a, alen, &exact);
	if (!exact)
		return false;
	if (out)
		rec_elem(lrec(n, pos), out);
	return true;
}

size_t pt_rank(const struct pt_node *root, uint64_t key, const void *a, size_t alen)
{
	if (!root)
		return 0;
	size_t r = 0;
	const struct pt_node *n = root;
	while (!n->leaf) {
		unsigned i = in_route(cin(n), key, a, alen);
		for (unsigned j = 0; j < i; j++)
			r += cin(n)->cnt[j];
		n = cin(n)->child[i];
	}
	return r + leaf_lower(n, key, a, alen, NULL);
}

size_t pt_rank_key_le(const struct pt_node *root, uint64_t key)
{
	if (key == UINT64_MAX)
		return pt_count(root);
	return pt_rank(root, key + 1, NULL, 0);
}

bool pt_find_at(const struct pt_node *root, size_t u, struct pt_elem *out, size_t *start)
{
	if (!root || !root->wt || u >= pt_count(root))
		return false;
	size_t base = 0;
	const struct pt_node *n = root;
	while (!n->leaf) {
		unsigned j = 0;
		while (j + 1u < n->n && u >= cin(n)->cnt[j]) {
			u -= cin(n)->cnt[j];
			base += cin(n)->cnt[j++];
		}
		n = cin(n)->child[j];
	}
	size_t acc;
	unsigned pos = leaf_pos(n, u, true, &acc);
	rec_elem(lrec(n, pos), out);
	if (start)
		*start = base + acc;
	return true;
}

bool pt_at(const struct pt_node *root, size_t i, struct pt_elem *out)
{
	if (!root)
		return false;
	if (root->wt)
		return pt_find_at(root, i, out, NULL);
	const struct pt_node *n = root;
	while (!n->leaf) {
		unsigned j = 0;
		while (j + 1 < n->n && i >= cin(n)->cnt[j])
			i -= cin(n)->cnt[j++];
		if (i >= cin(n)->cnt[j])
			return false;
		n = cin(n)->child[j];
		node_prefetch(n);
	}
	if (i >= n->n)
		return false;
	rec_elem(lrec(n, (unsigned)i), out);
	return true;
}

size_t pt_bytes(const struct pt_node *root)
{
	if (!root)
		return 0;
	size_t s = mem_usable((void *)root);
	if (root->leaf) {
		for (unsigned i = 0; i < root->n; i++) {
			struct pt_big *b = rec_big(lrec(root, i));
			if (b)
				s += mem_usable(b);
		}
	} else {
		for (unsigned i = 0; i < root->n; i++)
			s += pt_bytes(cin(root)->child[i]);
	}
	return s;
}

/* ---- iteration */

void pt_iter_seek(struct pt_iter *it, const struct pt_node *root, size_t i)
{
	pt_iter_seek_at(it, root, i, NULL);
}

void pt_iter_seek_at(struct pt_iter *it, const struct pt_node *root, size_t i, size_t *start)
{
	it->depth = -1;
	if (!root || i >= pt_count(root))
		return;
	int d = 0;
	size_t base = 0;
	const struct pt_node *n = root;
	while (!n->leaf) {
		unsigned j = 0;
		while (j + 1 < n->n && i >= cin(n)->cnt[j]) {
			base += cin(n)->cnt[j];
			i -= cin(n)->cnt[j++];
		}
		KV_ASSERT(d < PT_MAX_DEPTH - 1);
		it->path[d] = n;
		it->pos[d] = (uint16_t)j;
		d++;
		n = cin(n)->child[j];
	}
	it->path[d] = n;
	if (n->wt) {
		size_t acc;
		it->pos[d] = (uint16_t)leaf_pos(n, i, true, &acc);
		base += acc;
	} else {
		it->pos[d] = (uint16_t)i;
		base += i;
	}
	it->depth = d;
	if (start)
		*start = base;
}

bool pt_iter_next(struct pt_iter *it, struct pt_elem *out)
{
	if (it->depth < 0)
		return false;
	int d = it->depth;
	rec_elem(lrec(it->path[d], it->pos[d]), out);
	if (++it->pos[d] < it->path[d]->n)
		return true;
	int up = d - 1;
	while (up >= 0 && it->pos[up] + 1 >= it->path[up]->n)
		up--;
	if (up < 0) {
		it->depth = -1;
		return true;
	}
	it->pos[up]++;
	for (int e = up + 1; e <= d; e++) {
		it->path[e] = cin(it->path[e - 1])->child[it->pos[e - 1]];
		it->pos[e] = 0;
	}
	return true;
}

bool pt_iter_prev(struct pt_iter *it, struct pt_elem *out)
{
	if (it->depth < 0)
		return false;
	int d = it->depth;
	rec_elem(lrec(it->path[d], it->pos[d]), out);
	if (it->pos[d] > 0) {
		it->pos[d]--;
		return true;
	}
	int up = d - 1;
	while (up >= 0 && it->pos[up] == 0)
		up--;
	if (up < 0) {
		it->depth = -1;
		return true;
	}
	it->pos[up]--;
	for (int e = up + 1; e <= d; e++) {
		it->path[e] = cin(it->path[e - 1])->child[it->pos[e - 1]];
		it->pos[e] = (uint16_t)(it->path[e]->n - 1);
	}
	return true;
}

/* ---- building nodes from lists */

struct lent { /* a leaf record */
	const unsigned char *r;
	size_t len;
};

struct ient { /* an interior entry */
	struct pt_node *child;
	uint64_t cnt;
	uint64_t key;
	const char *a;
	size_t alen;
};

/* Bytes of v[from .. to) as leaf contents. */
static size_t lent_bytes(const struct lent *v, size_t from, size_t to)
{
	size_t s = 0;
	for (size_t i = from; i < to; i++)
		s += v[i].len + 2;
	return s;
}

static struct pt_node *leaf_build(uint64_t gen, uint8_t wt, const struct lent *v, size_t n)
{
	KV_ASSERT(n >= 1 && lent_bytes(v, 0, n) <= LEAF_DATA);
	struct pt_node *l = mem_block_alloc();
	l->gen = gen;
	l->n = (uint16_t)n;
	l->leaf = 1;
	l->wt = wt;
	l->garbage = 0;
	size_t top = LEAF_BYTES;
	for (size_t i = 0; i < n; i++) {
		top -= v[i].len;
		memcpy((char *)l + top, v[i].r, v[i].len);
		lslots(l)[i] = (uint16_t)top;
	}
	l->top = (uint16_t)top;
	return l;
}

static size_t leaf_views(const struct pt_node *l, struct lent *v)
{
	for (unsigned i = 0; i < l->n; i++) {
		v[i].r = lrec(l, i);
		v[i].len = rec_len(v[i].r);
	}
	return l->n;
}

static struct pt_node *in_build(uint64_t gen, uint8_t wt, const struct ient *v, size_t n)
{
	KV_ASSERT(n >= 1 && n <= FAN);
	size_t seps = 0;
	for (size_t i = 0; i < n; i++)
		seps += v[i].alen;
	KV_ASSERT(seps <= UINT32_MAX);
	struct pt_inode *in = node_alloc(sizeof(*in) + seps);
	in->h.gen = gen;
	in->h.n = (uint16_t)n;
	in->h.leaf = 0;
	in->h.wt = wt;
	in->h.top = in->h.garbage = 0;
	in->sepbytes = (uint32_t)seps;
	in->pad = 0;
	size_t off = 0;
	for (size_t i = 0; i < n; i++) {
		in->child[i] = v[i].child;
		in->cnt[i] = v[i].cnt;
		in->key[i] = v[i].key;
		if (!seps)
			continue;
		in->soff[i] = (uint32_t)off;
		in->slen[i] = (uint32_t)v[i].alen;
		if (v[i].alen)
			memcpy(in->sep + off, v[i].a, v[i].alen);
		off += v[i].alen;
	}
	return &in->h;
}

static size_t in_views(const struct pt_inode *in, struct ient *v)
{
	for (unsigned i = 0; i < in->h.n; i++) {
		v[i].child = in->child[i];
		v[i].cnt = in->cnt[i];
		v[i].key = in->key[i];
		v[i].a = sep_at(in, i);
		v[i].alen = sep_len(in, i);
	}
	return in->h.n;
}

/* The shortest separator s with lo < s <= hi (lo < hi): hi's key with the
 * shortest prefix of hi.a that still sorts above lo. */
static void sep_between(const struct pt_elem *lo, const struct pt_elem *hi, struct ient *s)
{
	s->key = hi->key;
	s->a = hi->a;
	s->alen = 0;
	if (lo->key != hi->key)
		return;
	size_t m = 0;
	while (m < lo->alen && m < hi->alen && lo->a[m] == hi->a[m])
		m++;
	s->alen = m + 1;
	KV_ASSERT(s->alen <= hi->alen);
}

/* Separator between leaves l and r (adjacent, l first). */
static void leaf_sep(const struct pt_node *l, const struct pt_node *r, struct ient *s)
{
	if (l->wt) { /* positional: separators are never read */
		*s = (struct ient){NULL, 0, 0, NULL, 0};
		return;
	}
	struct pt_elem lo, hi;
	rec_elem(lrec(l, l->n - 1u), &lo);
	rec_elem(lrec(r, 0), &hi);
	sep_between(&lo, &hi, s);
}

/* Where to cut n records into two leaves: about half their bytes each. */
static size_t leaf_cut(const struct lent *v, size_t n)
{
	size_t total = 0, acc = 0, k = 0;
	for (size_t i = 0; i < n; i++)
		total += v[i].len + 2;
	while (k < n - 1 && acc + (v[k].len + 2) / 2 < total / 2)
		acc += v[k++].len + 2;
	if (k == 0)
		k = 1;
	return k;
}

/* ---- leaf edits in place */

static void leaf_compact(struct pt_node *l)
{
	_Alignas(struct pt_node) unsigned char tmp[LEAF_BYTES];
	memcpy(tmp, l, LEAF_BYTES);
	const struct pt_node *t = (const struct pt_node *)tmp;
	size_t top = LEAF_BYTES;
	for (unsigned i = 0; i < t->n; i++) {
		const unsigned char *r = lrec(t, i);
		size_t len = rec_len(r);
		top -= len;
		memcpy((char *)l + top, r, len);
		lslots(l)[i] = (uint16_t)top;
	}
	l->top = (uint16_t)top;
	l->garbage = 0;
}

static bool leaf_room(struct pt_node *l, size_t len)
{
	size_t avail = (size_t)l->top - HDR - 2u * l->n;
	if (avail >= len + 2)
		return true;
	if (avail + l->garbage < len + 2)
		return false;
	leaf_compact(l);
	return true;
}

static void leaf_insert(struct pt_node *l, unsigned pos, const unsigned char *r, size_t len)
{
	uint16_t *s = lslots(l);
	memmove(s + pos + 1, s + pos, (l->n - pos) * sizeof(*s));
	l->top = (uint16_t)(l->top - len);
	memcpy((char *)l + l->top, r, len);
	s[pos] = l->top;
	l->n++;
}

static void leaf_remove(struct pt_node *l, unsigned pos)
{
	uint16_t *s = lslots(l);
	size_t len = rec_len(lrec(l, pos));
	if (s[pos] == l->top)
		l->top = (uint16_t)(l->top + len);
	else
		l->garbage = (uint16_t)(l->garbage + len);
	memmove(s + pos, s + pos + 1, (l->n - pos - 1u) * sizeof(*s));
	l->n--;
	if (l->n == 0) {
		l->top = LEAF_BYTES;
		l->garbage = 0;
	}
}

/* ---- insertion */

struct ins_ctx {
	struct pt_edit *ed;
	uint64_t key;
	const char *a;
	size_t alen;
	const unsigned char *rec; /* the new record */
	size_t reclen;
	bool inserted;
	bool posmode;	       /* positional: route by units (at), never compare keys */
	bool replace;	       /* positional: replace the element covering at */
	size_t at;	       /* positional: the unit (within the current node) */
	uint64_t delta;	       /* units added under the path (wraps when negative) */
	bool biased;	       /* the leaf split at an end of the tree (in-order fill) */
	struct pt_node *right; /* set when the node returned split */
	struct ient sep;       /* separator of `right` */
};

static struct pt_node *leaf_ins(struct ins_ctx *c, struct pt_node *l, bool lmost, bool rmost)
{
	bool exact;
	unsigned pos;
	if (c->posmode) {
		pos = leaf_pos(l, c->at, c->replace, NULL);
		exact = c->replace;
	} else {
		pos = leaf_lower(l, c->key, c->a, c->alen, &exact);
	}
	c->delta = l->wt ? c->key : 1;
	c->inserted = !exact;
	if (exact) {
		unsigned char *r = (unsigned char *)l + lslots(l)[pos];
		struct pt_big *b = rec_big(r);
		c->delta -= l->wt ? rec_key(r) : 1;
		if (!b && rec_len(r) == c->reclen) {
			/* same size (HSET of a same-length value): overwrite in place,
			 * no hole to compact later */
			memcpy(r, c->rec, c->reclen);
			return l;
		}
		if (b)
			dispose(c->ed, b);
		leaf_remove(l, pos);
	}
	if (leaf_room(l, c->reclen)) {
		leaf_insert(l, pos, c->rec, c->reclen);
		return l;
	}
	struct lent v[LEAF_MAXN + 1];
	size_t m = 0;
	for (unsigned i = 0; i < l->n; i++) {
		if (i == pos)
			v[m++] = (struct lent){c->rec, c->reclen};
		v[m].r = lrec(l, i);
		v[m].len = rec_len(v[m].r);
		m++;
	}
	if (pos == l->n)
		v[m++] = (struct lent){c->rec, c->reclen};
	size_t k;
	c->biased = true;
	if (rmost && pos == l->n)
		k = m - 1; /* appending in order: leave the full leaf full */
	else if (lmost && pos == 0)
		k = 1;
	else {
		k = leaf_cut(v, m);
		c->biased = false;
	}
	struct pt_node *left = leaf_build(c->ed->gen, l->wt, v, k);
	struct pt_node *right = leaf_build(c->ed->gen, l->wt, v + k, m - k);
	node_free(l); /* private: own() made it so */
	c->right = right;
	leaf_sep(left, right, &c->sep);
	return left;
}

/* Free room a leaf keeps after leaf_spread, so the next insert fits. */
#define SPREAD_ROOM (LEAF_BYTES / 16)
/* The largest inline record with its slot, and leaf_spread's three-way
 * bound for it (see there). */
#define REC_MAX	     (REC_HDR + PT_INLINE_MAX + 2)
#define SPREAD_TOTAL (2 * LEAF_DATA + REC_MAX)
_Static_assert(SPREAD_TOTAL / 3 + REC_MAX / 2 <= LEAF_DATA &&
		   (2 * SPREAD_TOTAL / 3 + REC_MAX / 2) / 2 + REC_MAX / 2 <= LEAF_DATA,
	       "leaf_spread's three pieces fit in leaves");

/*
 * A leaf split into l and r (private) beside sibling s (after them when
 * s_after): instead of a third of a leaf of new room at the split point,
 * share the three among two leaves when they fit with room to spare, else
 * among three (each about two thirds full) — the B*-tree rule, which keeps
 * leaves about 80% full under random inserts instead of 70%. Fills pieces[]
 * and the separators psep[1 ..] (they point into the pieces), frees l and r,
 * disposes of s; returns the number of pieces.
 */
static size_t leaf_spread(struct pt_edit *ed, struct pt_node *l, struct pt_node *r,
			  struct pt_node *s, bool s_after, struct pt_node **pieces,
			  struct ient *psep)
{
	struct lent v[3 * LEAF_MAXN];
	size_t m = 0;
	if (!s_after)
		m += leaf_views(s, v + m);
	m += leaf_views(l, v + m);
	m += leaf_views(r, v + m);
	if (s_after)
		m += leaf_views(s, v + m);
	size_t total = lent_bytes(v, 0, m);
	size_t k = leaf_cut(v, m);
	size_t np;
	if (lent_bytes(v, 0, k) + SPREAD_ROOM <= LEAF_DATA &&
	    lent_bytes(v, k, m) + SPREAD_ROOM <= LEAF_DATA) {
		pieces[0] = leaf_build(ed->gen, l->wt, v, k);
		pieces[1] = leaf_build(ed->gen, l->wt, v + k, m - k);
		np = 2;
	} else {
		/* a third, then the rest in halves: with records of at most
		 * REC_MAX bytes (slot included) and total <= 2 * LEAF_DATA +
		 * REC_MAX, the pieces are at most total / 3 + REC_MAX / 2 and
		 * (2 * total / 3 + REC_MAX / 2) / 2 + REC_MAX / 2 bytes (asserted
		 * at compile time above: SPREAD_FITS) */
		size_t c1 = 0, c2, acc = 0;
		while (c1 < m - 2 && acc + (v[c1].len + 2) / 2 < total / 3)
			acc += v[c1++].len + 2;
		if (c1 == 0)
			c1 = 1;
		c2 = c1 + leaf_cut(v + c1, m - c1);
		pieces[0] = leaf_build(ed->gen, l->wt, v, c1);
		pieces[1] = leaf_build(ed->gen, l->wt, v + c1, c2 - c1);
		pieces[2] = leaf_build(ed->gen, l->wt, v + c2, m - c2);
		np = 3;
	}
	for (size_t q = 1; q < np; q++)
		leaf_sep(pieces[q - 1], pieces[q], &psep[q]);
	node_free(l);
	node_free(r);
	dispose_node(ed, s);
	return np;
}

static struct pt_node *ins(struct ins_ctx *c, struct pt_node *n, bool lmost, bool rmost)
{
	if (n->leaf)
		return leaf_ins(c, own(c->ed, n), lmost, rmost);
	/* route first (a copy routes the same way), so the child's lines are
	 * on their way while this node is copied: see node_prefetch */
	unsigned i = c->posmode ? in_pos(cin(n), &c->at, c->replace)
				: in_route(cin(n), c->key, c->a, c->alen);
	node_prefetch(cin(n)->child[i]);
	n = own(c->ed, n);
	struct pt_inode *in = in_of(n);
	struct pt_node *ch = ins(c, in->child[i], lmost && i == 0, rmost && i + 1u == n->n);
	in->child[i] = ch;
	if (!c->right) {
		in->cnt[i] += c->delta; /* unsigned wrap-around subtracts */
		return n;
	}
	/* The child split: entries lo .. lo + span - 1 become pieces[0 .. np - 1]. */
	struct pt_node *pieces[3] = {ch, c->right, NULL};
	struct ient psep[3];
	size_t np = 2, lo = i, span = 1;
	psep[1] = c->sep;
	if (c->right->leaf && !c->biased && n->n >= 2) {
		unsigned j = i + 1u < n->n ? i + 1 : i - 1;
		np = leaf_spread(c->ed, ch, c->right, in->child[j], j > i, pieces, psep);
		lo = j > i ? i : j;
		span = 2;
	}
	struct ient v[FAN + 2];
	size_t m = 0;
	for (unsigned j = 0; j < n->n; j++) {
		if (j > lo && j < lo + span)
			continue;
		v[m].child = in->child[j];
		v[m].cnt = in->cnt[j];
		v[m].key = in->key[j];
		v[m].a = sep_at(in, j);
		v[m].alen = sep_len(in, j);
		if (j == lo) {
			for (size_t q = 0; q < np; q++) {
				if (q)
					v[m] = psep[q];
				v[m].child = pieces[q];
				v[m].cnt = node_count(pieces[q]);
				m++;
			}
			continue;
		}
		m++;
	}
	KV_ASSERT(m == n->n - span + np);
	i = (unsigned)lo; /* for the in-order bias below: the last new piece is at i + np - 1 */
	c->right = NULL;
	struct pt_node *out;
	if (m <= FAN) {
		out = in_build(c->ed->gen, n->wt, v, m);
	} else {
		size_t k = (rmost && i + np == m) ? m - 1 : m / 2;
		out = in_build(c->ed->gen, n->wt, v, k);
		struct pt_node *r = in_build(c->ed->gen, n->wt, v + k, m - k);
		c->right = r;
		c->sep = (struct ient){NULL, 0, in_of(r)->key[0], sep_at(in_of(r), 0),
				       sep_len(in_of(r), 0)};
	}
	node_free(n);
	return out;
}

static size_t depth_of(const struct pt_node *n)
{
	size_t d = 1;
	while (!n->leaf) {
		n = cin(n)->child[0];
		d++;
	}
	return d;
}

/* e's record in buf (inline, or pointing to a new out-of-line copy);
 * returns its length, *a the copy of e->a. */
static size_t make_rec(struct pt_edit *ed, const struct pt_elem *e, unsigned char *buf,
		       const char **ap)
{
	size_t len;
	const char *a;
	memcpy(buf, &e->key, 8);
	if (e->alen + e->blen <= PT_INLINE_MAX && e->alen < OOL_MARK && e->blen < OOL_MARK) {
		buf[8] = (unsigned char)e->alen;
		buf[9] = (unsigned char)e->blen;
		if (e->alen)
			memcpy(buf + REC_HDR, e->a, e->alen);
		if (e->blen)
			memcpy(buf + REC_HDR + e->alen, e->b, e->blen);
		len = REC_HDR + e->alen + e->blen;
		a = (const char *)buf + REC_HDR;
	} else {
		KV_ASSERT(e->alen <= UINT32_MAX && e->blen <= UINT32_MAX);
		struct pt_big *b = mem_alloc(sizeof(*b) + e->alen + e->blen);
		b->gen = ed->gen;
		b->alen = (uint32_t)e->alen;
		b->blen = (uint32_t)e->blen;
		if (e->alen)
			memcpy(b->data, e->a, e->alen);
		if (e->blen)
			memcpy(b->data + e->alen, e->b, e->blen);
		buf[8] = buf[9] = OOL_MARK;
		memcpy(buf + REC_HDR, &b, sizeof(b));
		len = OOL_REC;
		a = b->data;
	}
	*ap = a;
	return len;
}

/* Runs an insertion (or positional replacement) down ed->root[t]. */
static bool ins_root(struct pt_edit *ed, int t, struct ins_ctx *c, uint8_t wt)
{
	struct pt_node *root = ed->root[t];
	if (!root) {
		struct lent v = {c->rec, c->reclen};
		ed->root[t] = leaf_build(ed->gen, wt, &v, 1);
		return true;
	}
	root = ins(c, root, true, true);
	if (c->right) {
		struct ient v[2];
		v[0] = (struct ient){root, node_count(root), 0, NULL, 0};
		v[1] = c->sep;
		v[1].child = c->right;
		v[1].cnt = node_count(c->right);
		root = in_build(ed->gen, root->wt, v, 2);
		KV_ASSERT(depth_of(root) <= PT_MAX_DEPTH);
	}
	ed->root[t] = root;
	return c->inserted;
}

bool pt_put(struct pt_edit *ed, int t, const struct pt_elem *e)
{
	/* Search with the copy: e may point into this tree (an element read
	 * from it), which the write may change or free. */
	unsigned char buf[REC_HDR + PT_INLINE_MAX];
	const char *a;
	size_t len = make_rec(ed, e, buf, &a);
	struct ins_ctx c = {
	    .ed = ed, .key = e->key, .a = a, .alen = e->alen, .rec = buf, .reclen = len};
	KV_ASSERT(!ed->root[t] || !ed->root[t]->wt);
	return ins_root(ed, t, &c, 0);
}

/* ---- deletion */

static bool underfull(const struct pt_node *n)
{
	return n->leaf ? leaf_used(n) < LEAF_DATA / 4 : n->n < FAN / 4;
}

/* Merges children i and i + 1 of the private node in, or shares their
 * contents evenly when they do not fit in one; returns the node replacing in. */
static struct pt_node *rebalance(struct pt_edit *ed, struct pt_inode *in, unsigned i)
{
	struct pt_node *l = in->child[i], *r = in->child[i + 1];
	struct pt_node *nl, *nr = NULL;
	struct ient s = {0};
	if (l->leaf) {
		struct lent v[2 * LEAF_MAXN];
		size_t m = leaf_views(l, v);
		m += leaf_views(r, v + m);
		size_t total = 0;
		for (size_t j = 0; j < m; j++)
			total += v[j].len + 2;
		if (total <= LEAF_DATA) {
			nl = leaf_build(ed->gen, l->wt, v, m);
		} else {
			size_t k = leaf_cut(v, m);
			nl = leaf_build(ed->gen, l->wt, v, k);
			nr = leaf_build(ed->gen, l->wt, v + k, m - k);
			leaf_sep(nl, nr, &s);
		}
	} else {
		struct ient v[2 * FAN];
		size_t m = in_views(cin(l), v);
		size_t ml = m;
		m += in_views(cin(r), v + m);
		/* r's first child is bounded below by in's separator i + 1 */
		v[ml].key = in->key[i + 1];
		v[ml].a = sep_at(in, i + 1);
		v[ml].alen = sep_len(in, i + 1);
		if (m <= FAN) {
			nl = in_build(ed->gen, l->wt, v, m);
		} else {
			size_t k = m / 2;
			nl = in_build(ed->gen, l->wt, v, k);
			nr = in_build(ed->gen, l->wt, v + k, m - k);
			s = (struct ient){NULL, 0, in_of(nr)->key[0], sep_at(in_of(nr), 0),
					  sep_len(in_of(nr), 0)};
		}
	}
	struct ient pv[FAN];
	size_t pm = 0;
	for (unsigned j = 0; j < in->h.n; j++) {
		if (j == i + 1 && !nr)
			continue;
		pv[pm].child = in->child[j];
		pv[pm].cnt = in->cnt[j];
		pv[pm].key = in->key[j];
		pv[pm].a = sep_at(in, j);
		pv[pm].alen = sep_len(in, j);
		if (j == i) {
			pv[pm].child = nl;
			pv[pm].cnt = node_count(nl);
		} else if (j == i + 1) {
			pv[pm].child = nr;
			pv[pm].cnt = node_count(nr);
			pv[pm].key = s.key;
			pv[pm].a = s.a;
			pv[pm].alen = s.alen;
		}
		pm++;
	}
	struct pt_node *out = in_build(ed->gen, l->wt, pv, pm);
	dispose_node(ed, l);
	dispose_node(ed, r);
	node_free(&in->h);
	return out;
}

struct del_ctx {
	struct pt_edit *ed;
	uint64_t key;
	const void *a;
	size_t alen;
	bool posmode; /* positional: remove the element covering unit `at` */
	size_t at;
	uint64_t w; /* units removed */
};

/* Deletes below n; lmost / rmost: n is on the tree's left / right edge. An
 * edge leaf left underfull is not merged (it is removed once empty): pops
 * at the ends (LPOP, ZPOPMIN) pay no merge, as inserts at the ends fill in
 * order. Interior nodes still merge (rare: once per many leaves), so the
 * edges never keep a chain of thin nodes and the depth comes down. */
static struct pt_node *del(struct del_ctx *c, struct pt_node *n, bool lmost, bool rmost)
{
	if (n->leaf) {
		n = own(c->ed, n);
		unsigned pos;
		if (c->posmode) {
			pos = leaf_pos(n, c->at, true, NULL);
		} else {
			bool exact;
			pos = leaf_lower(n, c->key, c->a, c->alen, &exact);
			KV_ASSERT(exact);
		}
		c->w = n->wt ? rec_key(lrec(n, pos)) : 1;
		struct pt_big *b = rec_big(lrec(n, pos));
		if (b)
			dispose(c->ed, b);
		leaf_remove(n, pos);
		if (n->n)
			return n;
		node_free(n);
		return NULL;
	}
	/* as ins(): route on the node as found, fetch the child, then copy */
	unsigned i =
	    c->posmode ? in_pos(cin(n), &c->at, true) : in_route(cin(n), c->key, c->a, c->alen);
	node_prefetch(cin(n)->child[i]);
	n = own(c->ed, n);
	struct pt_inode *in = in_of(n);
	bool cl = lmost && i == 0, cr = rmost && i + 1u == n->n;
	struct pt_node *ch = del(c, in->child[i], cl, cr);
	if (!ch) {
		unsigned m = n->n - i - 1u;
		memmove(in->child + i, in->child + i + 1, m * sizeof(in->child[0]));
		memmove(in->cnt + i, in->cnt + i + 1, m * sizeof(in->cnt[0]));
		memmove(in->key + i, in->key + i + 1, m * sizeof(in->key[0]));
		if (in->sepbytes) {
			memmove(in->soff + i, in->soff + i + 1, m * sizeof(in->soff[0]));
			memmove(in->slen + i, in->slen + i + 1, m * sizeof(in->slen[0]));
		}
		if (--n->n)
			return n;
		node_free(n);
		return NULL;
	}
	in->child[i] = ch;
	in->cnt[i] -= c->w;
	if (n->n >= 2 && !(ch->leaf && (cl || cr)) && underfull(ch))
		return rebalance(c->ed, in, i + 1u < n->n ? i : i - 1);
	return n;
}

static void del_root(struct pt_edit *ed, int t, struct del_ctx *c)
{
	struct pt_node *root = del(c, ed->root[t], true, true);
	while (root && !root->leaf && root->n == 1) {
		struct pt_node *ch = in_of(root)->child[0];
		dispose_node(ed, root);
		root = ch;
	}
	ed->root[t] = root;
}

bool pt_del(struct pt_edit *ed, int t, uint64_t key, const void *a, size_t alen)
{
	struct pt_node *root = ed->root[t];
	if (!pt_get(root, key, a, alen, NULL))
		return false;
	pt_del_present(ed, t, key, a, alen);
	return true;
}

void pt_del_present(struct pt_edit *ed, int t, uint64_t key, const void *a, size_t alen)
{
	KV_ASSERT(ed->root[t] && !ed->root[t]->wt);
	struct del_ctx c = {.ed = ed, .key = key, .a = a, .alen = alen};
	del_root(ed, t, &c);
}

/* ---- positional writes */

void pt_insert_at(struct pt_edit *ed, int t, size_t u, const struct pt_elem *e)
{
	KV_ASSERT(e->key >= 1);
	KV_ASSERT(!ed->root[t] || ed->root[t]->wt);
	KV_ASSERT(u <= pt_count(ed->root[t]));
	unsigned char buf[REC_HDR + PT_INLINE_MAX];
	const char *a;
	size_t len = make_rec(ed, e, buf, &a);
	struct ins_ctx c = {.ed = ed,
			    .key = e->key,
			    .a = a,
			    .alen = e->alen,
			    .rec = buf,
			    .reclen = len,
			    .posmode = true,
			    .at = u};
	ins_root(ed, t, &c, 1);
}

void pt_set_at(struct pt_edit *ed, int t, size_t u, const struct pt_elem *e)
{
	KV_ASSERT(e->key >= 1);
	KV_ASSERT(ed->root[t] && ed->root[t]->wt && u < pt_count(ed->root[t]));
	unsigned char buf[REC_HDR + PT_INLINE_MAX];
	const char *a;
	size_t len = make_rec(ed, e, buf, &a);
	struct ins_ctx c = {.ed = ed,
			    .key = e->key,
			    .a = a,
			    .alen = e->alen,
			    .rec = buf,
			    .reclen = len,
			    .posmode = true,
			    .replace = true,
			    .at = u};
	ins_root(ed, t, &c, 1);
}

uint64_t pt_del_at(struct pt_edit *ed, int t, size_t u)
{
	KV_ASSERT(ed->root[t] && ed->root[t]->wt && u < pt_count(ed->root[t]));
	struct del_ctx c = {.ed = ed, .posmode = true, .at = u};
	del_root(ed, t, &c);
	return c.w;
}

/* ---- keys */

uint64_t pt_score_key(double d)
{
	if (d == 0)
		d = 0.0; /* -0.0 and 0.0 get one key; keep the exact score in b if it matters */
	uint64_t u;
	memcpy(&u, &d, sizeof(u));
	return (u >> 63) ? ~u : u | (UINT64_C(1) << 63);
}

double pt_key_score(uint64_t k)
{
	uint64_t u = (k >> 63) ? k & ~(UINT64_C(1) << 63) : ~k;
	double d;
	memcpy(&d, &u, sizeof(d));
	return d;
}
