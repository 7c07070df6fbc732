/*
 * cmd_zset.h — what cmd_zset.c shares with other command files: the pop of
 * ZPOPMIN / ZPOPMAX / ZMPOP, which the blocking BZPOP* commands reuse
 * (server/cmd_blocking.c), so a served BZPOPMIN and a ZPOPMIN take the same
 * path.
 */
#ifndef KVSD_CMD_ZSET_H
#define KVSD_CMD_ZSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "storage/tzset.h"

struct db_view;

/* Members of up to this many bytes popped alone (ZPOPMIN/ZPOPMAX without a
 * count, BZPOPMIN, a COUNT 1) are copied into the struct itself, not the
 * heap: two allocations and two frees were ~350 of ZPOPMIN's ~8,400
 * instructions on a large sorted set (docs/BENCHMARKS.md, branch group13). */
#define ZSET_POPPED_LOCAL 32

/* popped elements: copies, in one buffer (items and buf point into the
 * struct for one short member: do not copy a filled struct) */
struct zset_popped {
	struct tz_item *items;
	char *buf;
	size_t n;
	struct tz_item one;
	char local[ZSET_POPPED_LOCAL];
};

/* Pops up to count elements of the sorted set at key in view v, from the
 * low end (or the high end if max), into *p. 1 when popped, 0 when the key
 * is missing (or count is 0), -1 when it holds another type. Any worker
 * thread, in its storage section. */
int zset_pop(const struct db_view *v, const char *key, size_t klen, int64_t now_ms, bool max,
	     long long count, struct zset_popped *p);
void zset_popped_free(struct zset_popped *p);

struct cmd_req;
/* ZMPOP's and BZMPOP's arguments from `numkeys_idx` on: numkeys key [key
 * ...] MIN|MAX [COUNT count], checked in Redis's order with its errors
 * (zmpopGenericCommand). On success *first_key is the first key's index,
 * *numkeys their number, *max the end and *count (1 by default); 0 after
 * replying the error. */
int zset_mpop_parse(struct cmd_req *r, int numkeys_idx, int *first_key, long long *numkeys,
		    bool *max, long long *count);

#endif
