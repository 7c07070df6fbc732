/*
 * snap.c — point-in-time snapshots of a db (snap.h).
 *
 * Stage 1: the simple, correct version. db_snap_begin closes the exclusive
 * gate (db.c, "Exclusive transactions") and keeps it closed until
 * db_snap_end, so no thread writes the map during the save: writers wait.
 * Each database is walked once with SCAN over the whole map (keeping the
 * cut's key space only); SCAN may visit an entry twice (a shrink started by
 * kvmap_maintain needs no gate), so the walk's pointers are sorted and
 * deduplicated (entries are immutable: one pointer per key while nobody
 * writes) before they are handed out in batches.
 */
#include "storage/snap.h"
#include "concurrency/mem.h"
#include "concurrency/util.h"
#include "storage/db_internal.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define SNAP_BATCH 4096 /* entries per db_snap_next call */

struct snap_walk {
	const struct kv_entry **e;
	size_t n, cap, pos;
	bool started;
};

struct db_snap {
	struct db *db;
	struct db_table cut; /* the database table at the cut */
	long long keys[DB_COUNT_MAX], expires[DB_COUNT_MAX];
	int walking; /* the database whose walk is in progress, or -1 */
	struct snap_walk w;
};

struct db_snap *db_snap_begin(struct db *db, int *err)
{
	struct db_snap *s;
	int free_ = 0;

	/* acq_rel: the previous snapshot's end happens-before this one */
	if (!atomic_compare_exchange_strong_explicit(&db->snap_busy, &free_, 1,
						     memory_order_acq_rel, memory_order_relaxed)) {
		*err = -EBUSY;
		return NULL;
	}
	s = mem_calloc(1, sizeof(*s));
	if (!s) {
		/* release: gives the claim back */
		atomic_store_explicit(&db->snap_busy, 0, memory_order_release);
		*err = -ENOMEM;
		return NULL;
	}
	db_excl_enter(db);
	/* relaxed: written only with the gate held (db_internal.h) */
	atomic_store_explicit(&db->snap, s, memory_order_relaxed);
	s->db = db;
	s->cut = *db_table_now(db);
	for (int i = 0; i < s->cut.n; i++) {
		/* exact: no write is in progress */
		s->keys[i] = kvmap_count_space(db_map(db), s->cut.space[i]);
		s->expires[i] = kvmap_expires_space(db_map(db), s->cut.space[i]);
	}
	s->walking = -1;
	*err = 0;
	return s;
}

int db_snap_databases(const struct db_snap *s)
{
	return s->cut.n;
}

long long db_snap_keys(const struct db_snap *s, int index)
{
	return index >= 0 && index < s->cut.n ? s->keys[index] : 0;
}

long long db_snap_expires(const struct db_snap *s, int index)
{
	return index >= 0 && index < s->cut.n ? s->expires[index] : 0;
}

struct collect_arg {
	struct snap_walk *w;
	unsigned space;
};

static void collect(const struct kv_entry *e, void *arg)
{
	struct collect_arg *c = arg;
	struct snap_walk *w = c->w;

	if (e->space != c->space)
		return;
	if (w->n == w->cap) {
		w->cap = w->cap ? 2 * w->cap : 1024;
		w->e = mem_realloc(w->e, w->cap * sizeof(*w->e));
	}
	w->e[w->n++] = e;
}

static int ptr_cmp(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t) * (const struct kv_entry *const *)a;
	uintptr_t y = (uintptr_t) * (const struct kv_entry *const *)b;

	return x < y ? -1 : x > y;
}

static void walk_start(struct db_snap *s, int index)
{
	struct snap_walk *w = &s->w;
	struct collect_arg c = {w, s->cut.space[index]};
	uint64_t cur = 0;
	size_t k = 0;

	w->n = w->pos = 0;
	w->started = true;
	s->walking = index;
	do
		cur = kvmap_scan(db_map(s->db), cur, 1024, collect, &c);
	while (cur != 0);
	qsort(w->e, w->n, sizeof(*w->e), ptr_cmp);
	for (size_t i = 0; i < w->n; i++)
		if (k == 0 || w->e[k - 1] != w->e[i])
			w->e[k++] = w->e[i];
	w->n = k;
}

bool db_snap_next(struct db_snap *s, int index, db_snap_fn fn, void *arg)
{
	struct snap_walk *w = &s->w;
	size_t end;

	if (index < 0 || index >= s->cut.n)
		return false;
	if (s->walking != index)
		walk_start(s, index);
	end = w->pos + SNAP_BATCH < w->n ? w->pos + SNAP_BATCH : w->n;
	for (; w->pos < end; w->pos++)
		fn(arg, w->e[w->pos]);
	return w->pos < w->n;
}

void db_snap_end(struct db_snap **ps)
{
	struct db_snap *s = *ps;

	if (!s)
		return;
	/* relaxed: the gate is still held (db_internal.h) */
	atomic_store_explicit(&s->db->snap, NULL, memory_order_relaxed);
	db_excl_exit(s->db);
	/* release: this snapshot's end before the next begin's claim */
	atomic_store_explicit(&s->db->snap_busy, 0, memory_order_release);
	mem_free(s->w.e);
	mem_free(s);
	*ps = NULL;
}

void snap_touch(struct db *db, unsigned space, const void *key, size_t klen, uint64_t hash)
{
	(void)db;
	(void)space;
	(void)key;
	(void)klen;
	(void)hash;
}
