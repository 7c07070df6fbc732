/*
 * aof_base.h — the AOF base file in command form (aof-use-rdb-preamble no):
 * what Redis 7.0.15's rewriteAppendOnlyFileRio writes instead of an RDB
 * base. First a FUNCTION LOAD per function library, then per non-empty
 * database a SELECT, then per key (already expired keys
 * left out, as the RDB writer does):
 *   string: SET key value
 *   list:   RPUSH key e1 .. e64, repeated per 64 elements (head to tail)
 *   set:    SADD key m1 .. m64, repeated
 *   zset:   ZADD key s1 m1 .. s64 m64, repeated (scores as Redis prints
 *           them: the listpack's d2string form, %.17g for a skiplist)
 *   hash:   HMSET key f1 v1 .. f64 v64, repeated
 * followed by PEXPIREAT key <ms> when the key has a TTL. The file is plain
 * RESP, so the start-up loader replays it as it replays an incr file.
 *
 * Threads: any thread inside its epoch section for the duration (the
 * source's entries are read in place). Errors: 0, or -1 with the reason in
 * err (a write failed).
 */
#ifndef KVSD_AOF_BASE_H
#define KVSD_AOF_BASE_H

#include <stddef.h>
#include <stdint.h>

struct rdb_source;
struct rdb_save_opts;
struct rdb_save_stats;

/* Writes o's libraries' code and src to fd in command form (above); of o
 * it uses libs, lib_lens, nlibs, now_ms (the expiry cut), and autosync and
 * io_wait (written out as it grows, as rdb_save does: persist/autosync.h,
 * aof-rewrite-incremental-fsync). st counts keys written and left out as
 * expired, bytes written and the chunks synced. */
int aof_base_write(int fd, const struct rdb_source *src, const struct rdb_save_opts *o,
		   struct rdb_save_stats *st, char *err, size_t errlen);

#endif
