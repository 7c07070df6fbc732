/*
 * zsetops_src.h — what the sorted-set algebra (server/cmd_zsetops.c) needs
 * from the set and sorted-set types, in one thin adapter: the inputs'
 * elements and scores (a set's members score 1.0, as Redis's zuiInit /
 * zuiNext / zuiFind over sets), the weight parser, and building the
 * stored result (the sorted-set type picks its encoding). Only
 * zsetops_src.c knows the types' own APIs (storage/tzset.h,
 * storage/tset.h), so a change there is one file's work here.
 *
 * Threads: any worker, inside its storage section (entries read are valid
 * until its next quiescent state). Ownership: member bytes passed to a
 * callback are valid during the call only; built entries are the caller's
 * (publish with db_put or kv_entry_free).
 * Errors: none (allocation failure aborts).
 */
#ifndef KVSD_ZSETOPS_SRC_H
#define KVSD_ZSETOPS_SRC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "storage/coll.h"

struct db_view;

/* One element of a result, or of an input while it is walked. */
struct zs_elem {
	const char *m;
	size_t mlen;
	double score;
};

/* Redis's getDoubleFromObject (string2d): strtod over the whole argument,
 * no leading space, no NaN, no overflow to +-HUGE_VAL, no underflow to 0
 * ("inf" and "-inf" are fine). 1 on success. */
int zs_parse_double(const char *s, size_t len, double *out);

/* Elements of a set or sorted set entry. */
size_t zs_card(const struct kv_entry *e);

/* Calls fn for every element of a set or sorted set entry, in any order,
 * until fn returns false. */
typedef bool (*zs_each_fn)(void *arg, const char *m, size_t mlen, double score);
void zs_each(const struct kv_entry *e, zs_each_fn fn, void *arg);

/* Whether member m is in the set or sorted set e; *score: its score (a
 * set's member: 1.0). */
bool zs_find(const struct kv_entry *e, const char *m, size_t mlen, double *score);

/* A new sorted-set entry under key holding the n (> 0) elements of el —
 * distinct members, in any order — built in v's write context: a listpack
 * when n <= zset-max-listpack-entries and no member is longer than
 * zset-max-listpack-value, else a skiplist (Redis's
 * zsetConvertToListpackIfNeeded on a stored result). Unpublished. */
struct kv_entry *zs_build(const struct db_view *v, const void *key, size_t klen,
			  const struct zs_elem *el, size_t n, int64_t expire_ms);

#endif
