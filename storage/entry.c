/*
 * entry.c — building and freeing struct kv_entry.
 *
 * An entry is a single mem_alloc() block: the fixed header (the backend's
 * reserved words, hash, expiry, lengths, type), then the key bytes, the value
 * bytes and a NUL, so a value can be handed to strtoll() and friends without
 * a copy. One allocation per key keeps memory per key low and makes a
 * retired entry one mem_free(). The hash is computed here with kvmap_hash(),
 * so kvmap_setup() must have run.
 */
#include <string.h>

#include "concurrency/mem.h"
#include "concurrency/util.h"
#include "storage/kvmap.h"

struct kv_entry *kv_entry_new(const void *key, size_t klen, const void *val, size_t vlen,
			      int64_t expire_ms)
{
	KV_ASSERT(klen <= UINT32_MAX && vlen <= UINT32_MAX);
	size_t hdr = offsetof(struct kv_entry, data);
	struct kv_entry *e = mem_alloc(hdr + klen + vlen + 1);

	memset(e, 0, hdr);
	e->hash = kvmap_hash(key, klen);
	e->expire_ms = expire_ms;
	e->klen = (uint32_t)klen;
	e->vlen = (uint32_t)vlen;
	e->type = KV_STRING;
	if (klen)
		memcpy(e->data, key, klen);
	if (val && vlen)
		memcpy(e->data + klen, val, vlen);
	e->data[klen + vlen] = '\0';
	return e;
}

void kv_entry_free(struct kv_entry *e)
{
	mem_free(e);
}

size_t kv_entry_size(const struct kv_entry *e)
{
	/* mem_usable() only reads the allocator's metadata for the block */
	return mem_usable((void *)e);
}
