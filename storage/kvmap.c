/*
 * kvmap.c — the backend-independent half of kvmap: the per-process hash seed,
 * kvmap_hash(), each thread's reclamation state, the sharded entry and
 * pending-byte counters, and the dispatch of every map call to its backend's
 * struct kvmap_ops.
 *
 * Reclamation is liburcu's QSBR flavour for the cds_lfht backend: a
 * registered thread is an RCU reader whenever it is online, and announces a
 * quiescent state between tasks. kvsd's own map will hook its epoch
 * reclaimer into the same register/quiescent/offline calls.
 *
 * Counters are sharded by thread (registration order modulo KVMAP_SHARDS),
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

#include <urcu-qsbr.h>

#include "concurrency/util.h"
#include "storage/kvmap_internal.h"
#include "storage/siphash.h"

/* Written once under pthread_once in kvmap_setup(), read-only afterwards. */
static uint8_t kvmap_seed[16];
static pthread_once_t kvmap_seed_once = PTHREAD_ONCE_INIT;

/* Next shard to hand to a thread; relaxed: only distinctness matters. */
static _Atomic unsigned kvmap_next_shard;

/* Retired-but-unfreed bytes, sharded like the entry counts. */
static struct kvmap_shard kvmap_pending[KVMAP_SHARDS];

#ifdef KVMAP_TSAN
/* Sync object standing for "all quiescent states so far"; see kvmap_internal.h. */
char kvmap_tsan_grace;
#endif

static _Thread_local struct {
	unsigned shard; /* 0 = not assigned yet; else shard index + 1 */
	bool registered;
	bool online;
} kvmap_self;

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
	kvmap_fill_random(kvmap_seed, sizeof(kvmap_seed));
}

void kvmap_setup(void)
{
	pthread_once(&kvmap_seed_once, kvmap_seed_init);
}

void kvmap_teardown(void)
{
	bool was_online = kvmap_self.online;

	/* rcu_barrier() must not run inside a read-side section, and under QSBR
	 * an online thread is one; the callbacks it waits for also need this
	 * thread's quiescent state. */
	if (was_online)
		kvmap_thread_offline();
	rcu_barrier();
	if (was_online)
		kvmap_thread_online();
}

uint64_t kvmap_hash(const void *key, size_t len)
{
	return siphash_1_2(kvmap_seed, key, len);
}

/* ---- thread state. */

unsigned kvmap_thread_shard(void)
{
	if (kv_unlikely(kvmap_self.shard == 0)) {
		/* relaxed: only distinctness of the ticket matters */
		unsigned t = atomic_fetch_add_explicit(&kvmap_next_shard, 1, memory_order_relaxed);
		kvmap_self.shard = (t & (KVMAP_SHARDS - 1)) + 1;
	}
	return kvmap_self.shard - 1;
}

void kvmap_thread_register(void)
{
	if (kvmap_self.registered)
		return;
	rcu_register_thread();
	kvmap_self.registered = true;
	kvmap_self.online = true;
	(void)kvmap_thread_shard();
}

void kvmap_thread_unregister(void)
{
	if (!kvmap_self.registered)
		return;
	kvmap_tsan_quiescent();
	rcu_unregister_thread();
	kvmap_self.registered = false;
	kvmap_self.online = false;
}

void kvmap_quiescent(void)
{
	kvmap_tsan_quiescent();
	rcu_quiescent_state();
}

void kvmap_thread_offline(void)
{
	if (!kvmap_self.online)
		return;
	kvmap_tsan_quiescent();
	rcu_thread_offline();
	kvmap_self.online = false;
}

void kvmap_thread_online(void)
{
	if (!kvmap_self.registered || kvmap_self.online)
		return;
	rcu_thread_online();
	kvmap_self.online = true;
}

bool kvmap_thread_is_online(void)
{
	return kvmap_self.online;
}

/* ---- counters. */

void kvmap_pending_add(int64_t d)
{
	/* relaxed: statistic for INFO; publishes nothing */
	atomic_fetch_add_explicit(&kvmap_pending[kvmap_thread_shard()].v, d, memory_order_relaxed);
}

int64_t kvmap_pending_bytes(void)
{
	int64_t sum = 0;

	for (unsigned i = 0; i < KVMAP_SHARDS; i++)
		/* relaxed: statistic; exact once the callbacks have been waited for */
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

/* ---- map allocation and dispatch. */

struct kvmap *kvmap_base_alloc(size_t size, const struct kvmap_ops *ops)
{
	size_t rounded = (size + KV_CACHELINE - 1) & ~(size_t)(KV_CACHELINE - 1);
	struct kvmap *m = aligned_alloc(KV_CACHELINE, rounded);

	if (!m)
		KV_PANIC("kvmap: out of memory allocating a map");
	memset(m, 0, rounded);
	m->ops = ops;
	return m;
}

void kvmap_base_free(struct kvmap *m)
{
	free(m);
}

struct kvmap *kvmap_create(enum kvmap_backend backend, size_t initial_buckets)
{
	switch (backend) {
	case KVMAP_URCU:
		return kvmap_urcu_ops.create(initial_buckets);
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

int kvmap_insert(struct kvmap *m, struct kv_entry *e, const struct kv_entry **existing)
{
	return m->ops->insert(m, e, existing);
}

int kvmap_set(struct kvmap *m, struct kv_entry *e)
{
	return m->ops->set(m, e);
}

int kvmap_replace(struct kvmap *m, const struct kv_entry *expected, struct kv_entry *e)
{
	return m->ops->replace(m, expected, e);
}

int kvmap_remove(struct kvmap *m, const struct kv_entry *expected)
{
	return m->ops->remove(m, expected);
}

size_t kvmap_clear(struct kvmap *m)
{
	return m->ops->clear(m);
}

uint64_t kvmap_scan(struct kvmap *m, uint64_t cursor, size_t count, kvmap_visit_fn fn, void *arg)
{
	return m->ops->scan(m, cursor, count, fn, arg);
}

const struct kv_entry *kvmap_random(struct kvmap *m, uint64_t rnd)
{
	return m->ops->random(m, rnd);
}
