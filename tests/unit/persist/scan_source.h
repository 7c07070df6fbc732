/*
 * scan_source.h — an rdb_source (persist/rdb_file.h) over a quiet db for
 * tests and fuzz targets: each database walked with db_scan. Correct only
 * while nobody writes the db (the server's source is a storage/snap.h
 * snapshot); the tests that use it are single-threaded.
 *
 *   struct scan_src ss = {.db = db};
 *   struct rdb_source s = {s_databases, s_keys, s_expires, s_next, NULL, &ss};
 */
#ifndef KVSD_TESTS_SCAN_SOURCE_H
#define KVSD_TESTS_SCAN_SOURCE_H

#include <stdbool.h>
#include <stdint.h>

#include "persist/rdb_file.h"
#include "storage/db.h"

struct scan_src {
	struct db *db;
	uint64_t cursor;
	bool started;
};

struct scan_visit {
	rdb_entry_fn fn;
	void *arg;
};

static inline int s_databases(void *arg)
{
	return db_databases(((struct scan_src *)arg)->db);
}

static inline long long s_keys(void *arg, int i)
{
	return db_size_of(((struct scan_src *)arg)->db, i);
}

static inline long long s_expires(void *arg, int i)
{
	return db_expires_of(((struct scan_src *)arg)->db, i);
}

static inline void s_visit(const struct kv_entry *e, void *arg)
{
	struct scan_visit *v = arg;

	v->fn(v->arg, e);
}

/* One db_scan batch of database i; false once its cursor came back to 0. */
static inline bool s_next(void *arg, int i, rdb_entry_fn fn, void *fnarg)
{
	struct scan_src *s = arg;
	struct db_view v;
	struct scan_visit sv = {fn, fnarg};

	if (s->started && s->cursor == 0) {
		s->started = false;
		return false;
	}
	db_view_init(s->db, i, &v);
	s->started = true;
	s->cursor = db_scan(&v, s->cursor, 100, s_visit, &sv);
	return true;
}

#endif
