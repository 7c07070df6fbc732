/*
 * entry.c — building and freeing struct kv_entry.
 *
 * An entry is a single mem_alloc() block: the expiry word (only when the
 * entry has a TTL: `ttl`), an 8-byte header (key and value lengths, flags),
 * then the key bytes and the value bytes. 16-byte keys with 64-byte values
 * make 88 bytes without a TTL (a block of the 88-byte pool, below, where
 * jemalloc would round to 96), which is why there is no stored hash (kvsd's
 * map keeps a 16-bit tag in the slot and recomputes SipHash when it migrates
 * an entry) and no NUL terminator (commands parse values by length). The
 * URCU backend needs a cds_lfht node, an rcu_head and the hash per entry:
 * while an URCU map exists, entries get a KV_PREFIX_BYTES prefix in front of
 * the header (its last word is the expiry word, so such an entry always has
 * `ttl` set), flagged in the header so kv_entry_free() can find the block's
 * start whichever map the entry met.
 *
 * A large value that arrived in an allocation of its own (the network layer
 * reads big bulks so) is adopted rather than copied: the entry holds the key
 * and the value's address, flagged `ext`, and frees the value with itself.
 * Storing a 512 MB value then costs 512 MB, not twice that.
 */
#include <assert.h>
#include <string.h>

#include "concurrency/epool.h"
#include "concurrency/mem.h"
#include "concurrency/util.h"
#include "kvsd_build.h"
#include "storage/kvmap.h"
#include "storage/kvmap_internal.h"

static_assert(sizeof(struct kv_entry) == 8, "the entry header is 8 bytes");
static_assert(KV_PREFIX_BYTES >= sizeof(int64_t), "the prefix ends with the expiry word");
static_assert(KV_PREFIX_BYTES % 8 == 0, "slot words need 8-aligned entries");

/*
 * The 88-byte class. jemalloc rounds an 81-88-byte block up to 96; those
 * come from concurrency/epool.h's pool instead, in builds with jemalloc
 * (sanitizer builds keep every entry in the sanitizers' allocator, so they
 * see every use after free; the pool has its own tests there). Entries with
 * the URCU prefix never do (tests and benchmarks only). Whether an entry's
 * block is a pool block is a function of its header (block_class), fixed
 * when it is built, so nothing asks the allocator.
 */
#define ENTRY_POOL KVSD_HAVE_JEMALLOC
static_assert(EPOOL_BLOCK % 8 == 0, "pool blocks keep entries 8-aligned");

static inline bool in_pool(size_t n, bool prefix)
{
	return ENTRY_POOL && !prefix && n > EPOOL_BLOCK - 8 && n <= EPOOL_BLOCK;
}

KV_HOT struct kv_entry *kv_entry_new(const void *key, size_t klen, const void *val, size_t vlen,
				     int64_t expire_ms)
{
	KV_ASSERT(klen <= KV_KEY_MAX && vlen <= KV_LEN_MAX);
	/* relaxed: the flag only sizes this allocation; an URCU map created
	 * concurrently with entry building is a caller bug its insert asserts */
	bool prefix = atomic_load_explicit(&kvmap_urcu_maps, memory_order_relaxed) > 0;
	bool ttl = prefix || expire_ms != 0;
	size_t pre = prefix ? KV_PREFIX_BYTES : ttl ? sizeof(int64_t) : 0;
	size_t n = pre + sizeof(struct kv_entry) + klen + vlen;
	char *base = in_pool(n, prefix) ? epool_alloc() : mem_alloc(n);
	struct kv_entry *e = (struct kv_entry *)(void *)(base + pre);

	if (prefix) {
		memset(base, 0, pre);
		*kv_entry_prefix_hash(e) = kvmap_key_hash(0, key, klen);
	}
	if (ttl)
		memcpy((char *)e - sizeof(expire_ms), &expire_ms, sizeof(expire_ms));
	e->klen = (uint32_t)klen;
	e->space = 0;
	e->prefix = prefix;
	e->ext = 0;
	e->ttl = ttl;
	e->vlen = (uint32_t)vlen;
	e->enc = KV_ENC_AUTO;
	if (klen)
		kv_copy_short(e->data, key, klen);
	if (val && vlen)
		kv_copy_short(e->data + klen, val, vlen);
	return e;
}

struct kv_entry *kv_entry_new_adopt(const void *key, size_t klen, char *val, size_t vlen,
				    int64_t expire_ms)
{
	/* the header and key, with the value's address in the value's place */
	struct kv_entry *e = kv_entry_new(key, klen, &val, sizeof(val), expire_ms);

	KV_ASSERT(vlen <= KV_LEN_MAX);
	e->vlen = (uint32_t)vlen;
	e->ext = 1;
	return e;
}

struct kv_entry *kv_entry_with_expire(struct kv_entry *e, int64_t expire_ms)
{
	struct kv_entry *c;

	if (e->prefix || e->ttl == (expire_ms != 0)) {
		if (e->ttl)
			memcpy((char *)e - sizeof(expire_ms), &expire_ms, sizeof(expire_ms));
		return e;
	}
	if (e->ext) {
		c = kv_entry_new_adopt(kv_entry_key(e), e->klen, (char *)(uintptr_t)kv_entry_val(e),
				       e->vlen, expire_ms);
		if (kv_entry_recycles(e))
			kv_entry_set_recycle(c);
	} else {
		c = kv_entry_new(kv_entry_key(e), e->klen, kv_entry_val(e), e->vlen, expire_ms);
	}
	c->enc = e->enc;
	kv_entry_set_space(c, e->space);
	kv_entry_free_shell(e); /* an ext value is c's now */
	return c;
}

void kv_entry_set_recycle(struct kv_entry *e)
{
	uintptr_t a;

	KV_ASSERT(e->ext);
	memcpy(&a, e->data + e->klen, sizeof(a));
	a |= KV_EXT_RECYCLE;
	memcpy(e->data + e->klen, &a, sizeof(a));
}

void kv_entry_respace(struct kv_entry *e, unsigned space)
{
	KV_ASSERT(space < KV_SPACES);
	e->space = space & (KV_SPACES - 1);
	if (e->prefix)
		*kv_entry_prefix_hash(e) = kv_entry_hash(e);
}

/*
 * The entry's block from its header alone: its start (*base) and its size,
 * the header, key and value (or the value's address) as kv_entry_new()
 * requested them: EPOOL_BLOCK for a block of the pool (*pool set), else the
 * allocator's usable size (its size class; without jemalloc the request
 * itself). Arithmetic only, so retiring and freeing an entry reads no
 * allocator metadata (a likely cache miss per lookup).
 */
static inline size_t block_class(const struct kv_entry *e, char **base, bool *pool)
{
	size_t pre = e->prefix ? KV_PREFIX_BYTES : e->ttl ? sizeof(int64_t) : 0;
	size_t n = pre + sizeof(*e) + e->klen + (e->ext ? sizeof(char *) : e->vlen);

	*base = (char *)(uintptr_t)e - pre;
	*pool = in_pool(n, e->prefix);
	if (*pool)
		return EPOOL_BLOCK;
#if KVSD_MEM_CHECK && (defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__))
	/* no size classes here (the sanitizers' allocators report the request):
	 * check the computation the jemalloc build relies on */
	KV_ASSERT(mem_usable(*base) == n);
#endif
	return mem_size_class(n);
}

void kv_entry_free_shell(struct kv_entry *e)
{
	char *base;
	bool pool;
	size_t c;

	if (e == NULL)
		return;
	c = block_class(e, &base, &pool);
	if (pool)
		epool_free(base);
	else
		mem_free_sized(base, c); /* c is within [request, usable] */
}

/* Written once at start-up, before the threads that free entries exist. */
static kv_value_recycle_fn value_recycler;

void kv_entry_set_recycler(kv_value_recycle_fn fn)
{
	value_recycler = fn;
}

KV_HOT void kv_entry_free(struct kv_entry *e)
{
	if (e && e->ext) {
		char *v = (char *)(uintptr_t)kv_entry_val(e);

		if (kv_entry_recycles(e) && value_recycler)
			value_recycler(v, e->vlen);
		else
			mem_free(v); /* adopted: its size is its owner's (net/conn_io.c) */
	}
	kv_entry_free_shell(e);
}

/* Written once at start-up, before any typed entry exists. */
static kv_typed_free_fn typed_free;

void kv_entry_set_typed_free(kv_typed_free_fn fn)
{
	typed_free = fn;
}

void kv_entry_free_retired(struct kv_entry *e)
{
	if (e && e->enc == KV_ENC_TYPED && typed_free)
		typed_free(e);
	kv_entry_free(e);
}

KV_HOT size_t kv_entry_size(const struct kv_entry *e)
{
	char *base;
	bool pool;
	size_t n = block_class(e, &base, &pool);

	if (e->ext)
		n += mem_usable((void *)(uintptr_t)kv_entry_val(e));
	return n;
}
