/*
 * kvmap.c — the backend-independent half of kvmap: the per-process hash seed,
 * kvmap_hash(), each thread's reclamation state, the sharded entry and
 * pending-byte counters, and the dispatch of every map call to its backend's
 * struct kvmap_ops.
 *
 * Reclamation: every registered thread is a reader of both reclaimers —
 * liburcu's QSBR flavour for the cds_lfht backend and the process's epoch
 * domain (concurrency/ebr.h) for kvsd's map — whenever it is online, and
 * register / quiescent / offline / online drive both. Both fast paths are a
 * load and a compare when no grace period is pending, so driving the idle
 * one costs next to nothing and either backend can be used at any time.
 *
 * Every call acts on the map itself: transactions are an overlay above it
 * (txn.h), reached through the db layer's transactional view (db.h), and
 * this file knows nothing of them. Stripes (kvmap.h): for a backend that does
 * not bump them itself (cds_lfht), the write wrappers here do, and
 * kvmap_mwcas falls back to validate-then-apply under a process-wide mutex.
 *
 * Counters are sharded by thread (the context's ticket modulo KVMAP_SHARDS),
 * each shard on its own cache line: an insert or retire touches only its
 * thread's line, and a reader of the total sums the shards. A shard may go
 * negative (one thread inserts, another removes); only the sum means anything.
 */
#include "storage/kvmap.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

/* liburcu's inline fast paths (its headers' _LGPL_SOURCE, as bench/ebr_bench.c
 * uses them): kvmap_quiescent's rcu_quiescent_state() becomes a load and a
 * compare with no call into the library and no __tls_get_addr for its
 * thread-local reader (~35 instructions and an I1 line per command at P16,
 * bench/lists_ir.sh). Not under TSan, whose build keeps the library's calls. */
#if defined(__SANITIZE_THREAD__) /* gcc */
#define KVMAP_URCU_CALLS 1
#elif defined(__has_feature) /* clang */
#if __has_feature(thread_sanitizer)
#define KVMAP_URCU_CALLS 1
#endif
#endif
#ifndef KVMAP_URCU_CALLS
#define _LGPL_SOURCE
#endif
#include <urcu-qsbr.h>

#include "concurrency/ebr.h"
#include "concurrency/mem.h"
#include "concurrency/util.h"
#include "concurrency/wctx.h"
#include "storage/kvmap_internal.h"
#include "storage/siphash.h"

/* Written once under pthread_once in kvmap_setup(), read-only afterwards. */
static uint8_t kvmap_seed[16];
static pthread_once_t kvmap_seed_once = PTHREAD_ONCE_INIT;

/* Per-space salts (kvmap.h, "Key spaces"): the same bytes in two spaces land
 * in unrelated buckets. splitmix64 of the seed and the space; space 0 has
 * none (kvmap_hash). Written once with the seed, read-only afterwards. */
static uint64_t kvmap_salt[KV_SPACES];

/* The epoch domain; created once by kvmap_setup(), read-only pointer afterwards. */
static struct ebr *kvmap_ebr;

_Atomic int kvmap_urcu_maps;

/* Retired-but-unfreed bytes, sharded like the entry counts. */
static struct kvmap_shard kvmap_pending[KVMAP_SHARDS];

#ifdef KVMAP_TSAN
/* Sync object standing for "all quiescent states so far"; see kvmap_internal.h. */
char kvmap_tsan_grace;
#endif

static void kvmap_fill_random(uint8_t *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = getrandom(buf + got, len - got, 0);
		if (n > 0) {
			got += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		break;
	}
	if (got == len)
		return;
	/* Kernels without getrandom(2): the device is the same pool. */
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		KV_PANIC("kvmap: no randomness for the hash seed: %s", strerror(errno));
	while (got < len) {
		ssize_t n = read(fd, buf + got, len - got);
		if (n <= 0 && !(n < 0 && errno == EINTR))
			KV_PANIC("kvmap: reading /dev/urandom failed");
		if (n > 0)
			got += (size_t)n;
	}
	close(fd);
}

static void kvmap_seed_init(void)
{
	uint64_t s0;

	kvmap_fill_random(kvmap_seed, sizeof(kvmap_seed));
	memcpy(&s0, kvmap_seed, sizeof(s0));
	for (unsigned i = 1; i < KV_SPACES; i++) {
		uint64_t x = s0 + 0x9e3779b97f4a7c15ULL * (i + 1);

		x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
		x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
		kvmap_salt[i] = x ^ (x >> 31);
	}
	/* 64 KiB per thread before a retire collects (a few hundred replaced
	 * entries): what is freed is reused while still in the core's L2. Every
	 * write publishes a new entry and retires the old one, so at 4 MiB the
	 * allocator handed out lines evicted long ago and the frees overflowed
	 * its thread cache: ~3 L2 misses per LPUSH more (bench/lists_ir.sh
	 * --cache, a 512 KB L2 model: 3.2 at 4 MiB, 0.5 at 64 KiB) */
	kvmap_ebr = ebr_create((size_t)64 << 10);
	if (!kvmap_ebr)
		KV_PANIC("kvmap: out of memory creating the epoch domain");
}

void kvmap_setup(void)
{
	pthread_once(&kvmap_seed_once, kvmap_seed_init);
}

void kvmap_teardown(void)
{
	struct wctx *w = wctx_self();
	bool was_online = w->kv_online;

	/* rcu_barrier() must not run inside a read-side section, and under QSBR
	 * an online thread is one; the callbacks it waits for also need this
	 * thread's quiescent state. */
	if (was_online)
		kvmap_thread_offline();
	rcu_barrier();
	/* The other threads stopped (offline or unregistered): two advances per
	 * collect; a few rounds free everything, including garbage the frees
	 * themselves retire (none today). */
	if (kvmap_ebr) {
		struct ebr_thread *t = w->ebr ? w->ebr : ebr_register(kvmap_ebr);
		for (int i = 0; i < 8 && ebr_pending_bytes(kvmap_ebr) > 0; i++)
			(void)ebr_collect(t);
		if (!w->ebr)
			ebr_unregister(t);
	}
	if (was_online)
		kvmap_thread_online();
}

uint64_t kvmap_hash(const void *key, size_t len)
{
	return kvmap_key_hash(0, key, len);
}

KV_HOT uint64_t kvmap_key_hash(unsigned space, const void *key, size_t len)
{
	uint64_t h = siphash_1_2(kvmap_seed, key, len) ^ kvmap_salt[space];

	return (h & ~((uint64_t)(KV_SPACES - 1) << KV_SPACE_SHIFT)) | (uint64_t)space
									  << KV_SPACE_SHIFT;
}

uint64_t kv_entry_hash(const struct kv_entry *e)
{
	return kvmap_key_hash(e->space, kv_entry_key(e), e->klen);
}

/* ---- thread state. */

unsigned kvmap_thread_shard(void)
{
	return wctx_self()->ticket & (KVMAP_SHARDS - 1);
}

void kvmap_thread_register(void)
{
	struct wctx *w = wctx_self();

	if (w->kv_registered)
		return;
	kvmap_setup();
	rcu_register_thread();
	w->ebr = ebr_register(kvmap_ebr);
	if (!w->ebr)
		KV_PANIC("kvmap: out of memory registering a thread");
	ebr_online(w->ebr);
	w->kv_registered = true;
	w->kv_online = true;
}

void kvmap_thread_unregister(void)
{
	struct wctx *w = wctx_self();

	kvmap_kvsd_memo_forget();
	if (!w->kv_registered)
		return;
	kvmap_tsan_quiescent();
	rcu_unregister_thread();
	ebr_unregister(w->ebr); /* goes offline, orphans its garbage */
	w->ebr = NULL;
	w->kv_registered = false;
	w->kv_online = false;
}

/* Limbo bytes (about a dozen replaced entries) from which a quiescent
 * state (between commands) frees what the thread retired: a write's new
 * entry then reuses a block freed a few commands ago, still in L1, and
 * freeing reads lines still there; the cap above stays the bound within a
 * task. D1 misses per LPUSH 13.6 -> 8.6, per SET 14.5 -> 10.5
 * (bench/lists_ir.sh --cache --hz 1, 32 KB L1 model). */
#define KVMAP_QS_COLLECT ((size_t)2 << 10)

KV_HOT void kvmap_quiescent(void)
{
	struct wctx *w = wctx_self();

	kvmap_tsan_quiescent();
	kvmap_kvsd_memo_forget();
	rcu_quiescent_state();
	if (w->ebr)
		ebr_quiescent_collect(w->ebr, KVMAP_QS_COLLECT);
}

void kvmap_thread_offline(void)
{
	struct wctx *w = wctx_self();

	kvmap_kvsd_memo_forget();
	if (!w->kv_online)
		return;
	kvmap_tsan_quiescent();
	rcu_thread_offline();
	ebr_offline(w->ebr);
	w->kv_online = false;
}

void kvmap_thread_online(void)
{
	struct wctx *w = wctx_self();

	if (!w->kv_registered || w->kv_online)
		return;
	rcu_thread_online();
	ebr_online(w->ebr);
	w->kv_online = true;
}

bool kvmap_thread_is_online(void)
{
	return wctx_self()->kv_online;
}

/* ---- counters. */

void kvmap_pending_add(int64_t d)
{
	/* relaxed: statistic for INFO; publishes nothing */
	atomic_fetch_add_explicit(&kvmap_pending[kvmap_thread_shard()].v, d, memory_order_relaxed);
}

KV_HOT void kvmap_retire(void *p, size_t bytes, void (*fn)(void *))
{
	struct ebr_thread *t = wctx_self()->ebr;

	KV_ASSERT(t != NULL);
	ebr_retire(t, p, bytes, fn);
}

uint64_t kvmap_epoch(void)
{
	return kvmap_ebr ? ebr_epoch(kvmap_ebr) : 0;
}

int64_t kvmap_pending_bytes(void)
{
	int64_t sum = kvmap_ebr ? ebr_pending_bytes(kvmap_ebr) : 0;

	for (unsigned i = 0; i < KVMAP_SHARDS; i++)
		/* relaxed: statistic; exact once the callbacks have been waited for */
		sum += atomic_load_explicit(&kvmap_pending[i].v, memory_order_relaxed);
	return sum;
}

int64_t kvmap_pending_cost(void)
{
	int64_t sum = kvmap_ebr ? ebr_pending_cost(kvmap_ebr) : 0;

	for (unsigned i = 0; i < KVMAP_SHARDS; i++)
		/* relaxed: statistic, as in kvmap_pending_bytes() */
		sum += atomic_load_explicit(&kvmap_pending[i].v, memory_order_relaxed);
	return sum;
}

size_t kvmap_count(const struct kvmap *m)
{
	int64_t sum = 0;

	for (unsigned i = 0; i < KVMAP_SHARDS; i++)
		/* relaxed: approximate by contract; exact when writers are quiescent */
		sum += atomic_load_explicit(&m->count[i].v, memory_order_relaxed);
	return sum > 0 ? (size_t)sum : 0;
}

int64_t kvmap_count_space(const struct kvmap *m, unsigned space)
{
	int64_t sum = 0;

	for (unsigned i = 0; i < KVMAP_SPACE_SHARDS; i++)
		/* relaxed: approximate by contract; exact when writers are quiescent */
		sum += atomic_load_explicit(&m->spc[i][space][0], memory_order_relaxed);
	return sum > 0 ? sum : 0;
}

int64_t kvmap_expires_space(const struct kvmap *m, unsigned space)
{
	int64_t sum = 0;

	for (unsigned i = 0; i < KVMAP_SPACE_SHARDS; i++)
		/* relaxed: as kvmap_count_space */
		sum += atomic_load_explicit(&m->spc[i][space][1], memory_order_relaxed);
	return sum > 0 ? sum : 0;
}

/* A successful write replaced `old` (NULL: none) by `neww` (NULL: none). */
static void space_count_slow(struct kvmap *m, const struct kv_entry *old,
			     const struct kv_entry *neww)
{
	_Atomic int64_t(*c)[2] = m->spc[kvmap_thread_shard() % KVMAP_SPACE_SHARDS];

	/* relaxed: statistics only; they publish nothing */
	if (old) {
		atomic_fetch_sub_explicit(&c[old->space][0], 1, memory_order_relaxed);
		if (kv_entry_expire(old))
			atomic_fetch_sub_explicit(&c[old->space][1], 1, memory_order_relaxed);
	}
	if (neww) {
		atomic_fetch_add_explicit(&c[neww->space][0], 1, memory_order_relaxed);
		if (kv_entry_expire(neww))
			atomic_fetch_add_explicit(&c[neww->space][1], 1, memory_order_relaxed);
	}
}

static inline void space_count(struct kvmap *m, const struct kv_entry *old,
			       const struct kv_entry *neww)
{
	/* a value replaced in place (SET of an existing key): nothing moves */
	if (old && neww && old->space == neww->space &&
	    !kv_entry_expire(old) == !kv_entry_expire(neww))
		return;
	space_count_slow(m, old, neww);
}

/* ---- map allocation and dispatch. */

struct kvmap *kvmap_base_alloc(size_t size, const struct kvmap_ops *ops)
{
	size_t rounded = (size + KV_CACHELINE - 1) & ~(size_t)(KV_CACHELINE - 1);
	struct kvmap *m = mem_alloc_aligned(KV_CACHELINE, rounded);

	memset(m, 0, rounded);
	m->ops = ops;
	m->stripes = mem_calloc(KVMAP_STRIPES, sizeof(*m->stripes));
	m->spc = mem_calloc(KVMAP_SPACE_SHARDS, sizeof(*m->spc));
	return m;
}

void kvmap_base_free(struct kvmap *m)
{
	mem_free((void *)m->stripes);
	mem_free((void *)m->spc);
	mem_free(m);
}

uint64_t kvmap_stripe(struct kvmap *m, uint64_t hash)
{
	/* acquire: pairs with the release of a writer whose bump came first */
	return atomic_load_explicit(&m->stripes[kvmap_stripe_idx(hash)], memory_order_acquire);
}

/* The hash of an entry for the wrappers' stripe bumps (cds_lfht keeps it in the prefix). */
static uint64_t entry_hash_of(const struct kv_entry *e)
{
	return e->prefix ? *kv_entry_prefix_hash(e) : kv_entry_hash(e);
}

static inline void wrapper_bump(struct kvmap *m, const struct kv_entry *e)
{
	if (!m->ops->bumps_stripes)
		kvmap_stripe_bump(m, entry_hash_of(e));
}

/* Serialises the fallback MWCAS (backends without their own). */
static pthread_mutex_t kvmap_mw_lock = PTHREAD_MUTEX_INITIALIZER;

static int mwcas_serial(struct kvmap *m, struct kvmap_mw *items, size_t n,
			const struct kvmap_mw_watch *watch, size_t nwatch)
{
	int rc = 0;

	pthread_mutex_lock(&kvmap_mw_lock);
	for (size_t i = 0; i < n && rc == 0; i++)
		if (m->ops->get(m, items[i].key, items[i].klen, items[i].hash) != items[i].old)
			rc = -EAGAIN;
	for (size_t i = 0; i < nwatch && rc == 0; i++)
		if (kvmap_stripe(m, watch[i].hash) != watch[i].stripe)
			rc = -EAGAIN;
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct kvmap_mw *it = &items[i];

		if (!it->write)
			continue;
		kvmap_stripe_bump(m, it->hash);
		if (it->neww)
			(void)m->ops->set(m, it->neww);
		else if (it->old)
			(void)m->ops->remove(m, it->old);
	}
	pthread_mutex_unlock(&kvmap_mw_lock);
	return rc;
}

int kvmap_mwcas(struct kvmap *m, struct kvmap_mw *items, size_t n,
		const struct kvmap_mw_watch *watch, size_t nwatch)
{
	int rc = m->ops->mwcas ? m->ops->mwcas(m, items, n, watch, nwatch)
			       : mwcas_serial(m, items, n, watch, nwatch);

	for (size_t i = 0; i < n && rc == 0; i++)
		if (items[i].write)
			space_count(m, items[i].old, items[i].neww);
	return rc;
}

struct kvmap *kvmap_create(enum kvmap_backend backend, size_t initial_buckets)
{
	switch (backend) {
	case KVMAP_URCU:
		return kvmap_urcu_ops.create(initial_buckets);
	case KVMAP_KVSD:
		return kvmap_kvsd_ops.create(initial_buckets);
	}
	return NULL;
}

void kvmap_destroy(struct kvmap **m)
{
	if (!m || !*m)
		return;
	(*m)->ops->destroy(*m);
	*m = NULL;
}

const char *kvmap_backend_name(const struct kvmap *m)
{
	return m->ops->name;
}

const struct kv_entry *kvmap_get(struct kvmap *m, const void *key, size_t klen, uint64_t hash)
{
	return m->ops->get(m, key, klen, hash);
}

/* The witness of absence on a backend that has none (kvmap.h). */
#define KVMAP_NO_WITNESS 1

const struct kv_entry *kvmap_get_witness(struct kvmap *m, const void *key, size_t klen,
					 uint64_t hash, uintptr_t *witness)
{
	if (m->ops->get_witness)
		return m->ops->get_witness(m, key, klen, hash, witness);
	*witness = KVMAP_NO_WITNESS;
	return m->ops->get(m, key, klen, hash);
}

int kvmap_unchanged(struct kvmap *m, const void *key, size_t klen, uint64_t hash,
		    const struct kv_entry *e, uintptr_t witness)
{
	uintptr_t now;

	if (m->ops->unchanged)
		return m->ops->unchanged(m, key, klen, hash, e, witness);
	if (kvmap_get_witness(m, key, klen, hash, &now) != e)
		return 0;
	return e != NULL || (witness != 0 && now == witness);
}

int kvmap_insert(struct kvmap *m, struct kv_entry *e, const struct kv_entry **existing)
{
	if (m->ops->bumps_stripes) {
		int rc = m->ops->insert(m, e, existing);
		if (rc == 0)
			space_count(m, NULL, e);
		return rc;
	}
	/* cds_lfht: bump only if it inserted (a failed SETNX touches nothing);
	 * after the insert, so this backend's WATCH is best-effort */
	int rc = m->ops->insert(m, e, existing);
	if (rc == 0) {
		kvmap_stripe_bump(m, entry_hash_of(e));
		space_count(m, NULL, e);
	}
	return rc;
}

int kvmap_set(struct kvmap *m, struct kv_entry *e)
{
	int rc;

	wrapper_bump(m, e);
	rc = m->ops->set(m, e);
	/* a replaced entry's TTL is unknown here: kvmap_set is for tests and
	 * set-up, the db layer writes through replace */
	space_count(m, NULL, rc == 0 ? e : NULL);
	return rc;
}

int kvmap_replace(struct kvmap *m, const struct kv_entry *expected, struct kv_entry *e)
{
	int rc;

	wrapper_bump(m, expected);
	rc = m->ops->replace(m, expected, e);
	if (rc == 0)
		space_count(m, expected, e);
	return rc;
}

int kvmap_remove(struct kvmap *m, const struct kv_entry *expected)
{
	int rc;

	wrapper_bump(m, expected);
	rc = m->ops->remove(m, expected);
	if (rc == 0)
		space_count(m, expected, NULL);
	return rc;
}

static void bump_visit(const struct kv_entry *e, void *arg)
{
	kvmap_stripe_bump(arg, entry_hash_of(e));
}

size_t kvmap_clear(struct kvmap *m)
{
	if (!m->ops->bumps_stripes) {
		/* touch every present key's stripe first (WATCH); keys inserted
		 * meanwhile bump their own */
		uint64_t cur = 0;
		do
			cur = m->ops->scan(m, cur, 1024, bump_visit, m);
		while (cur != 0);
	}
	size_t n = m->ops->clear(m);

	for (unsigned i = 0; i < KVMAP_SPACE_SHARDS; i++)
		for (unsigned s = 0; s < KV_SPACES; s++)
			for (unsigned k = 0; k < 2; k++)
				/* relaxed: statistics; writers racing the clear may
				 * leave them off by what they add meanwhile */
				atomic_store_explicit(&m->spc[i][s][k], 0, memory_order_relaxed);
	return n;
}

uint64_t kvmap_scan(struct kvmap *m, uint64_t cursor, size_t count, kvmap_visit_fn fn, void *arg)
{
	return m->ops->scan(m, cursor, count, fn, arg);
}

size_t kvmap_walk_stripe(struct kvmap *m, unsigned space, uint64_t stripe, unsigned bits,
			 kvmap_stripe_fn fn, void *arg)
{
	KV_ASSERT(bits <= 32 && stripe < (1ull << bits) && space < KV_SPACES);
	return m->ops->walk_stripe(m, space, stripe, bits, fn, arg);
}

int kvmap_walk_stripe_linear(const struct kvmap *m)
{
	return m->ops->walk_linear;
}

void kvmap_defer(void *p, size_t bytes, void (*fn)(void *))
{
	kvmap_retire(p, bytes, fn);
}

const struct kv_entry *kvmap_random(struct kvmap *m, uint64_t rnd)
{
	return m->ops->random(m, rnd);
}

void kvmap_collect(void)
{
	struct ebr_thread *t = wctx_self()->ebr;

	if (t)
		(void)ebr_collect(t);
}

int kvmap_insert_hashed(struct kvmap *m, struct kv_entry *e, uint64_t hash)
{
	int rc;

	if (!m->ops->insert_hashed || !m->ops->bumps_stripes)
		return kvmap_insert(m, e, NULL);
	rc = m->ops->insert_hashed(m, e, hash);
	if (rc == 0)
		space_count(m, NULL, e);
	return rc;
}

void kvmap_prefetch(struct kvmap *m, uint64_t hash)
{
	if (m->ops->prefetch)
		m->ops->prefetch(m, hash);
}

void kvmap_reserve(struct kvmap *m, size_t keys)
{
	if (m->ops->reserve)
		m->ops->reserve(m, keys);
}

void kvmap_maintain(struct kvmap *m)
{
	if (m->ops->maintain)
		m->ops->maintain(m);
	struct ebr_thread *t = wctx_self()->ebr;

	/* frees what parked threads donated; a no-op when nothing is pending.
	 * A slice per call (crons call this between commands): a backlog left
	 * by a long grace period (a BGSAVE's saver) drains through the
	 * quiescent states' slices, and this one is 16 of them, so an idle
	 * server still frees ~80k objects a second at hz 10 */
	if (t)
		(void)ebr_collect_some(t, 16 * EBR_FREE_BUDGET);
}
