/*
 * coll.c — typed values: building their entries, resolving their edits
 * when the db layer publishes or abandons them, the per-type registry, the
 * encoding thresholds, and the background freer of large values.
 *
 * Why the resolution is right (storage/coll.h, "Lineages and ownership"):
 * every node of a lineage is freed exactly once —
 *  - a node an edit created and whose version is never published: by
 *    pt_edit_drop (coll_ctx_fail / _abort, or a commit that did not
 *    publish the lineage);
 *  - a published node a published edit replaced: by pt_edit_retire, after a
 *    grace period (readers of the older version may hold it);
 *  - a node of the last version of a lineage: by that version's retired
 *    hook (owns still 1), after its grace period. An edit of a lineage
 *    whose key is then deleted in the same transaction is dropped, not
 *    retired, so the nodes it replaced are freed by the base version's hook
 *    and not twice.
 * A lineage continues in at most one published entry (coll.h's rules), so
 * exactly one entry of it owns the trees at any time.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "concurrency/mem.h"
#include "concurrency/util.h"
#include "storage/coll.h"

/* ---- entries */

struct kv_entry *coll_new_compact(const void *key, size_t klen, enum kv_type type,
				  enum coll_enc enc, const void *blob, size_t len,
				  int64_t expire_ms)
{
	struct kv_entry *e = kv_entry_new(key, klen, NULL, len + 2, expire_ms);
	char *v = kv_entry_mutval(e);

	e->enc = KV_ENC_TYPED;
	v[0] = (char)type;
	v[1] = (char)enc;
	if (blob && len)
		memcpy(v + 2, blob, len);
	return e;
}

struct kv_entry *coll_new_big(const void *key, size_t klen, enum kv_type type, enum coll_enc enc,
			      uint64_t lineage, struct pt_node *r0, struct pt_node *r1,
			      int64_t expire_ms)
{
	return coll_new_big_ext(key, klen, type, enc, lineage, r0, r1, 0, expire_ms);
}

KV_HOT struct kv_entry *coll_new_big_ext(const void *key, size_t klen, enum kv_type type,
					 enum coll_enc enc, uint64_t lineage, struct pt_node *r0,
					 struct pt_node *r1, size_t ext, int64_t expire_ms)
{
	size_t vlen = coll_big_vlen(klen) + ext;
	struct kv_entry *e = kv_entry_new(key, klen, NULL, vlen, expire_ms);
	char *v = kv_entry_mutval(e);
	struct coll_big *b;

	KV_ASSERT(coll_enc_is_big(enc));
	memset(v, 0, vlen);
	e->enc = KV_ENC_TYPED;
	v[0] = (char)type;
	v[1] = (char)enc;
	b = coll_big_of(e);
	KV_ASSERT(((uintptr_t)b & 7) == 0);
	/* relaxed: the entry is not published yet; its publishing CAS releases it */
	atomic_store_explicit(&b->owns, 1, memory_order_relaxed);
	b->lineage = lineage;
	b->root[0] = r0;
	b->root[1] = r1;
	return e;
}

struct kv_entry *coll_clone(const struct kv_entry *e, const void *key, size_t klen,
			    int64_t expire_ms)
{
	struct kv_entry *n;

	if (e->enc == KV_ENC_TYPED && coll_enc_is_big(coll_entry_enc(e))) {
		const struct coll_big *b = coll_big_of(e);
		size_t ext = coll_big_ext_len(e);

		n = coll_new_big_ext(key, klen, kv_entry_type(e), coll_entry_enc(e), b->lineage,
				     b->root[0], b->root[1], ext, expire_ms);
		if (ext)
			memcpy(coll_big_ext(n), coll_big_ext(e), ext);
		return n;
	}
	n = kv_entry_new(key, klen, kv_entry_val(e), e->vlen, expire_ms);
	n->enc = e->enc;
	return n;
}

/* ---- write contexts */

struct coll_rec {
	uint64_t lineage;
	struct pt_edit ed;
};

struct coll_ctx {
	struct coll_rec *rec;
	size_t n, cap;
};

/* Lineage ids: unique is all that matters (relaxed). 0 is "no lineage". */
static _Atomic uint64_t next_lineage = 1;

struct coll_ctx *coll_ctx_create(void)
{
	return mem_calloc(1, sizeof(struct coll_ctx));
}

void coll_ctx_destroy(struct coll_ctx **pc)
{
	struct coll_ctx *c = *pc;

	if (!c)
		return;
	coll_ctx_abort(c);
	mem_free(c->rec);
	mem_free(c);
	*pc = NULL;
}

bool coll_ctx_busy(const struct coll_ctx *c)
{
	return c->n != 0;
}

static uint64_t big_lineage(const struct kv_entry *e)
{
	if (!e || e->enc != KV_ENC_TYPED || !coll_enc_is_big(coll_entry_enc(e)))
		return 0;
	return coll_big_of(e)->lineage;
}

KV_HOT struct pt_edit *coll_edit(struct coll_ctx *c, const struct kv_entry *cur, uint64_t *lineage)
{
	uint64_t lin = big_lineage(cur);
	struct coll_rec *r;

	for (size_t i = 0; lin && i < c->n; i++)
		if (c->rec[i].lineage == lin) {
			*lineage = lin;
			return &c->rec[i].ed;
		}
	if (c->n == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 4;
		c->rec = mem_realloc(c->rec, c->cap * sizeof(*c->rec));
	}
	r = &c->rec[c->n++];
	memset(r, 0, sizeof(*r));
	if (lin) {
		const struct coll_big *b = coll_big_of(cur);
		r->lineage = lin;
		pt_edit_begin(&r->ed, b->root[0], b->root[1]);
	} else {
		/* relaxed: only uniqueness matters */
		r->lineage = atomic_fetch_add_explicit(&next_lineage, 1, memory_order_relaxed);
		pt_edit_begin(&r->ed, NULL, NULL);
	}
	*lineage = r->lineage;
	return &r->ed;
}

static void disown(const struct kv_entry *old)
{
	/* relaxed: the grace period before old's retired hook orders it (coll.h) */
	atomic_store_explicit(&coll_big_of(old)->owns, 0, memory_order_relaxed);
}

KV_HOT void coll_ctx_publish(struct coll_ctx *c, const struct kv_entry *old,
			     const struct kv_entry *neww)
{
	uint64_t ln = big_lineage(neww), lo = big_lineage(old);

	for (size_t i = 0; i < c->n; i++) {
		if (ln && c->rec[i].lineage == ln)
			pt_edit_retire(&c->rec[i].ed);
		else
			pt_edit_drop(&c->rec[i].ed);
	}
	c->n = 0;
	if (lo && lo == ln)
		disown(old);
}

void coll_ctx_fail(struct coll_ctx *c)
{
	coll_ctx_abort(c);
}

void coll_ctx_abort(struct coll_ctx *c)
{
	for (size_t i = 0; i < c->n; i++)
		pt_edit_drop(&c->rec[i].ed);
	c->n = 0;
}

static bool published_lineage(const struct kvmap_mw *items, size_t n, uint64_t lin)
{
	for (size_t i = 0; i < n; i++)
		if (items[i].write && big_lineage(items[i].neww) == lin)
			return true;
	return false;
}

void coll_ctx_commit(struct coll_ctx *c, const struct kvmap_mw *items, size_t n)
{
	for (size_t i = 0; i < c->n; i++) {
		if (published_lineage(items, n, c->rec[i].lineage))
			pt_edit_retire(&c->rec[i].ed);
		else
			pt_edit_drop(&c->rec[i].ed);
	}
	c->n = 0;
	for (size_t i = 0; i < n; i++) {
		uint64_t lo = items[i].write ? big_lineage(items[i].old) : 0;

		if (lo && published_lineage(items, n, lo))
			disown(items[i].old);
	}
}

/* ---- registry and names */

/* Written at start-up only (coll_register), read by any thread after. */
static const struct coll_type_ops *ops_table[KV_TYPES];

void coll_register(enum kv_type t, const struct coll_type_ops *ops)
{
	KV_ASSERT(t > KV_STRING && t < KV_TYPES);
	ops_table[t] = ops;
}

const struct coll_type_ops *coll_ops(enum kv_type t)
{
	return t > KV_STRING && t < KV_TYPES ? ops_table[t] : NULL;
}

const char *coll_type_name(const struct kv_entry *e)
{
	static const char *const names[KV_TYPES] = {"string", "list", "set", "zset", "hash"};
	enum kv_type t = kv_entry_type(e);

	return t < KV_TYPES ? names[t] : "none";
}

const char *coll_enc_name(enum coll_enc enc)
{
	switch (enc) {
	case COLL_LISTPACK:
		return "listpack";
	case COLL_INTSET:
		return "intset";
	case COLL_HASHTABLE:
		return "hashtable";
	case COLL_SKIPLIST:
		return "skiplist";
	case COLL_QUICKLIST:
	case COLL_QUICKLIST_BIG:
		return "quicklist";
	}
	return "unknown";
}

/* ---- thresholds: relaxed, each a setting read per command */

static _Atomic long long limits[COLL_LIMITS] = {
    [COLL_HASH_MAX_ENTRIES] = 512, [COLL_HASH_MAX_VALUE] = 64, [COLL_SET_MAX_INTSET] = 512,
    [COLL_ZSET_MAX_ENTRIES] = 128, [COLL_ZSET_MAX_VALUE] = 64, [COLL_LIST_MAX_SIZE] = -2,
};

long long coll_limit(enum coll_limit l)
{
	return atomic_load_explicit(&limits[l], memory_order_relaxed);
}

void coll_set_limit(enum coll_limit l, long long v)
{
	atomic_store_explicit(&limits[l], v, memory_order_relaxed);
}

/* ---- the background freer
 *
 * An owning large value's roots are freed here, off the worker that ran
 * the reclaimer's callback: a million-element tree takes tens of
 * milliseconds to free. Small trees are freed at once (cheaper than the
 * hand-off). The queue is a mutex-protected list; the freer works in
 * bounded slices (pt_free_step) so coll_drain() and teardown stay prompt.
 */
#define FREE_INLINE_MAX 256  /* elements: below this, free in the callback */
#define FREE_SLICE	4096 /* nodes per pt_free_step */

struct lazy_item {
	struct lazy_item *next;
	struct pt_node *root;
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t wake, idle;
	struct lazy_item *head; /* under lock */
	bool stop, running, busy;
	pthread_t thread;
} lz = {.lock = PTHREAD_MUTEX_INITIALIZER,
	.wake = PTHREAD_COND_INITIALIZER,
	.idle = PTHREAD_COND_INITIALIZER};

/* Trees queued or being freed: INFO's lazyfree_pending_objects (relaxed:
 * a statistic). */
static _Atomic long long lz_pending;

static void lazy_push(struct pt_node *root)
{
	struct lazy_item *it;

	if (!root)
		return;
	if (pt_count(root) < FREE_INLINE_MAX) {
		pt_free(root);
		return;
	}
	pthread_mutex_lock(&lz.lock);
	if (!lz.running) { /* before set-up or after teardown */
		pthread_mutex_unlock(&lz.lock);
		pt_free(root);
		return;
	}
	it = mem_alloc(sizeof(*it));
	it->root = root;
	atomic_fetch_add_explicit(&lz_pending, 1, memory_order_relaxed);
	it->next = lz.head;
	lz.head = it;
	pthread_cond_signal(&lz.wake);
	pthread_mutex_unlock(&lz.lock);
}

static void *lazy_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&lz.lock);
	for (;;) {
		struct lazy_item *it = lz.head;

		if (!it) {
			lz.busy = false;
			pthread_cond_broadcast(&lz.idle);
			if (lz.stop)
				break;
			pthread_cond_wait(&lz.wake, &lz.lock);
			continue;
		}
		lz.head = it->next;
		lz.busy = true;
		pthread_mutex_unlock(&lz.lock);
		for (struct pt_freeing *f = pt_free_start(it->root); f;)
			f = pt_free_step(f, FREE_SLICE);
		mem_free(it);
		atomic_fetch_sub_explicit(&lz_pending, 1, memory_order_relaxed);
		pthread_mutex_lock(&lz.lock);
	}
	pthread_mutex_unlock(&lz.lock);
	return NULL;
}

/* kv_entry_free_retired's hook: a typed entry no reader can hold any more. */
static KV_HOT void typed_free(struct kv_entry *e)
{
	struct coll_big *b;

	if (!coll_enc_is_big(coll_entry_enc(e)))
		return;
	b = coll_big_of(e);
	/* relaxed: the grace period ordered a disowning store before us */
	if (!atomic_load_explicit(&b->owns, memory_order_relaxed))
		return;
	const struct coll_type_ops *o = coll_ops(kv_entry_type(e));
	if (o && o->release)
		o->release(e);
	lazy_push(b->root[0]);
	lazy_push(b->root[1]);
}

void coll_setup(void)
{
	kv_entry_set_typed_free(typed_free);
	pthread_mutex_lock(&lz.lock);
	if (!lz.running) {
		lz.stop = false;
		lz.running = pthread_create(&lz.thread, NULL, lazy_main, NULL) == 0;
	}
	pthread_mutex_unlock(&lz.lock);
}

void coll_drain(void)
{
	pthread_mutex_lock(&lz.lock);
	while (lz.running && (lz.head || lz.busy))
		pthread_cond_wait(&lz.idle, &lz.lock);
	pthread_mutex_unlock(&lz.lock);
}

void coll_teardown(void)
{
	bool was;

	pthread_mutex_lock(&lz.lock);
	was = lz.running;
	lz.stop = true;
	pthread_cond_signal(&lz.wake);
	pthread_mutex_unlock(&lz.lock);
	if (was)
		pthread_join(lz.thread, NULL);
	pthread_mutex_lock(&lz.lock);
	lz.running = false;
	pthread_mutex_unlock(&lz.lock);
}

long long coll_lazyfree_pending(void)
{
	return atomic_load_explicit(&lz_pending, memory_order_relaxed);
}
