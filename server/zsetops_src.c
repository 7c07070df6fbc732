/*
 * zsetops_src.c — the sorted-set algebra's view of sets and sorted sets
 * (zsetops_src.h): the one file that calls the types' own APIs.
 */
#include "server/zsetops_src.h"
#include "storage/coll.h"
#include "storage/db.h"
#include "storage/tset.h"
#include "storage/tzset.h"
#include "server/strutil.h"
#include "concurrency/mem.h"

#include <string.h>

int zs_parse_double(const char *s, size_t len, double *out)
{
	return su_str2d(s, len, out);
}

size_t zs_card(const struct kv_entry *e)
{
	if (kv_entry_type(e) == KV_ZSET)
		return tzset_count(e);
	return tset_count(e);
}

/* A set's members score 1.0 (zuiNext / zuiFind over sets). */
void zs_each(const struct kv_entry *e, zs_each_fn fn, void *arg)
{
	if (kv_entry_type(e) == KV_ZSET) {
		struct tzset_iter it;
		struct tz_item item;

		tzset_iter_init(&it, e, 0, false);
		while (tzset_iter_next(&it, &item))
			if (!fn(arg, item.m, item.mlen, item.score))
				return;
		return;
	}
	struct tset_src src;
	struct tset_iter it;
	const char *m;
	size_t mlen;

	tset_src_of(e, &src);
	tset_iter_init(&it, &src, 0);
	while (tset_iter_next(&it, &m, &mlen))
		if (!fn(arg, m, mlen, 1.0))
			return;
}

bool zs_find(const struct kv_entry *e, const char *m, size_t mlen, double *score)
{
	if (kv_entry_type(e) == KV_ZSET)
		return tzset_score(e, m, mlen, score);
	if (!tset_ismember(e, m, mlen))
		return false;
	*score = 1.0;
	return true;
}

struct kv_entry *zs_build(const struct db_view *v, const void *key, size_t klen,
			  const struct zs_elem *el, size_t n, int64_t expire_ms)
{
	struct tz_item *items = mem_alloc(n * sizeof(*items));

	for (size_t i = 0; i < n; i++)
		items[i] = (struct tz_item){.m = el[i].m, .mlen = el[i].mlen, .score = el[i].score};
	struct kv_entry *e = tzset_build(db_coll_ctx(v), key, klen, items, n, expire_ms);
	mem_free(items);
	return e;
}
