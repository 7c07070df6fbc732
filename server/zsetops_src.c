/*
 * zsetops_src.c — the sorted-set algebra's view of sets and sorted sets
 * (zsetops_src.h): the one file that calls the types' own APIs.
 */
#include "server/zsetops_src.h"
#include "storage/coll.h"
#include "storage/db.h"
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
	return coll_ops(kv_entry_type(e))->count(e);
}

struct each_ctx {
	zs_each_fn fn;
	void *arg;
	bool stopped;
};

/* a set's members through its type row's walk: each scores 1.0 (zuiNext) */
static void each_cb(const char *a, size_t alen, const char *b, size_t blen, void *arg)
{
	struct each_ctx *c = arg;

	(void)b;
	(void)blen;
	if (c->stopped)
		return;
	if (!c->fn(c->arg, a, alen, 1.0))
		c->stopped = true;
}

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
	struct each_ctx c = {.fn = fn, .arg = arg};

	coll_ops(kv_entry_type(e))->foreach (e, each_cb, &c);
}

struct find_ctx {
	const char *m;
	size_t mlen;
	double score;
	bool found;
};

static bool find_cb(void *arg, const char *m, size_t mlen, double score)
{
	struct find_ctx *f = arg;

	if (mlen == f->mlen && (mlen == 0 || memcmp(m, f->m, mlen) == 0)) {
		f->score = score;
		f->found = true;
		return false;
	}
	return true;
}

bool zs_find(const struct kv_entry *e, const char *m, size_t mlen, double *score)
{
	if (kv_entry_type(e) == KV_ZSET)
		return tzset_score(e, m, mlen, score);
	struct find_ctx f = {.m = m, .mlen = mlen};

	zs_each(e, find_cb, &f);
	if (f.found)
		*score = f.score;
	return f.found;
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
