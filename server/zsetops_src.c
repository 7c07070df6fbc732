/*
 * zsetops_src.c — the sorted-set algebra's view of sets and sorted sets
 * (zsetops_src.h): the one file that calls the types' own APIs.
 */
#include "server/zsetops_src.h"
#include "storage/coll.h"
#include "storage/db.h"
#include "concurrency/mem.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int zs_parse_double(const char *s, size_t len, double *out)
{
	char buf[256], *end;
	double d;

	/* strtod needs a terminated string; longer arguments are copied */
	if (len == 0 || isspace((unsigned char)s[0]))
		return 0;
	char *p = len < sizeof(buf) ? buf : mem_alloc(len + 1);
	memcpy(p, s, len);
	p[len] = '\0';
	errno = 0;
	d = strtod(p, &end);
	int ok = (size_t)(end - p) == len && !isnan(d) &&
		 !(errno == ERANGE && (d == HUGE_VAL || d == -HUGE_VAL || d == 0));
	if (p != buf)
		mem_free(p);
	if (ok)
		*out = d;
	return ok;
}

size_t zs_card(const struct kv_entry *e)
{
	return coll_ops(kv_entry_type(e))->count(e);
}

struct each_ctx {
	zs_each_fn fn;
	void *arg;
	bool stopped;
	bool zset;
};

static void each_cb(const char *a, size_t alen, const char *b, size_t blen, void *arg)
{
	struct each_ctx *c = arg;
	double score = 1.0;

	if (c->stopped)
		return;
	if (c->zset) {
		char buf[128];
		if (blen >= sizeof(buf))
			blen = sizeof(buf) - 1;
		memcpy(buf, b, blen);
		buf[blen] = '\0';
		score = strtod(buf, NULL);
	}
	if (!c->fn(c->arg, a, alen, score))
		c->stopped = true;
}

void zs_each(const struct kv_entry *e, zs_each_fn fn, void *arg)
{
	struct each_ctx c = {.fn = fn, .arg = arg, .zset = kv_entry_type(e) == KV_ZSET};

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
	struct find_ctx f = {.m = m, .mlen = mlen};

	zs_each(e, find_cb, &f);
	if (f.found)
		*score = f.score;
	return f.found;
}
