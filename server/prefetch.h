/*
 * prefetch.h — group prefetching for a pipelined batch (net_opts.prefetch).
 *
 * A command on a member of a large hash, set or sorted set (HSET, HGET,
 * SADD, SISMEMBER, ZADD, ZSCORE, ...) walks a B+tree of the collection
 * (storage/ptree.h) from its root to a leaf, and on a collection larger than
 * the caches each level below the top ones is a memory latency the walk
 * waits for: dependent misses, one command after the other. When a
 * connection pipelines, net shows the server the next requests before they
 * run; prefetch_batch walks all of their trees level by level, each level's
 * nodes of every request asked for at once, so their misses overlap (group
 * prefetching: Chen, Ailamaki, Gibbons & Mowry, "Improving Hash Join
 * Performance through Prefetching", ICDE 2004). The commands then run as
 * usual and find their paths in the cache.
 *
 * A hint and nothing else: it reads the published entries and trees
 * (db_peek: no lazy expiry, no access record, no statistics) and changes
 * nothing, so a request it misjudges (a command it does not know, a key
 * that changes type before its turn, another database after a SELECT in the
 * batch) costs a wasted walk, never a different reply.
 * Threads: a worker, between commands (online, holding no map pointer;
 * none is kept past the call).
 */
#ifndef KVSD_PREFETCH_H
#define KVSD_PREFETCH_H

#include "net/net.h"

#include <stdbool.h>

struct db;

/* The database the hints read (cmd_setup's). Before the workers start. */
void prefetch_setup(struct db *db);
/* net_opts.prefetch: true when it walked something. */
bool prefetch_batch(struct conn *c, int n, const struct resp_peek *reqs);

#endif
