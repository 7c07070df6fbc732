/*
 * multi.h — MULTI / EXEC / DISCARD / WATCH / UNWATCH, and the atomic
 * execution of multi-key commands (MSET, MSETNX, RENAME, RENAMENX, DEL).
 *
 * Redis 7.0's semantics and reply bytes: commands sent after MULTI are
 * checked (existence, arity, authentication, maxmemory, no-multi flag) and
 * queued (+QUEUED); an error at that point makes EXEC answer -EXECABORT;
 * EXEC runs the queue and answers one reply per command (runtime errors are
 * per-command replies), or a null array when a WATCHed key was touched
 * since WATCH (by any write, expiry, FLUSHALL/FLUSHDB) or has expired.
 *
 * Isolation: EXEC runs the queue as one optimistic transaction (storage/
 * db.h, txn.h) — against a private overlay, committed with one multi-word
 * CAS that validates every key it read — and re-runs it, discarding its
 * replies, if another client changed one of those keys meanwhile. So no
 * client sees part of a transaction, and its replies come from one
 * consistent state. A conflict is never visible to the client (only WATCH
 * makes EXEC fail). Re-runs are bounded: after a few failed attempts the
 * next one runs exclusively (no other client writes to the map meanwhile)
 * and cannot fail. A queue holding a command with effects outside the map
 * (CLIENT KILL, CONFIG SET, ... : anything that names no key and is not a
 * @keyspace command) runs exclusively from the start, so that command runs
 * exactly once. Limits: SCAN/KEYS/RANDOMKEY read the map directly;
 * a FLUSHALL/FLUSHDB splits the transaction in two atomic halves. Queued
 * commands count in INFO commandstats as in Redis, once each (a map-only
 * command when its attempt commits, any other when it runs: once), but not
 * in the slow log (EXEC is).
 *
 * Threads: per-connection state (the session's multi, session.h), touched
 * only by the thread running the connection; multi_conn_close() frees it.
 */
#ifndef KVSD_MULTI_H
#define KVSD_MULTI_H

#include <stdbool.h>
#include <stddef.h>

#include "server/cmd.h"

struct conn;

/* MULTI EXEC DISCARD WATCH UNWATCH; terminated by name == NULL. */
extern const struct cmd_def cmd_multi_table[];

/* cmd_dispatch(), once the command passed its checks, when the session's
 * multi is set:
 * queues it (1: dispatch must return) or lets it run (0). */
int multi_intercept(struct conn *c, const struct cmd_def *d, size_t idx, int argc,
		    const char **argv, const size_t *argl);

/* cmd_dispatch()'s rejection paths: an error at queue time aborts EXEC. */
void multi_flag_error(struct conn *c);
/* Commands queued since MULTI, or -1 outside one (CLIENT LIST's multi=). */
int multi_queued(const struct conn *c);

/* Calls fn for each command queued in c's transaction (MULTI ... before
 * EXEC runs them), in order: the blocking guard finds EXEC's keys
 * (server/blocking.h). c's runner. */
struct cmd_def;
void multi_each_queued(struct conn *c,
		       void (*fn)(void *arg, const struct cmd_def *d, int argc,
				  const char *const *argv, const size_t *argl),
		       void *arg);
/* d is EXEC. */
bool multi_is_exec(const struct cmd_def *d);
/* EXEC refused before it ran (arity, authentication): discards the
 * transaction and its watches, and answers "-EXECABORT Transaction discarded
 * because of: <why>" as Redis's execCommandAbort, in MULTI or not. */
void multi_exec_abort(struct conn *c, const char *why);

/* Drops the transaction and its watches without a reply (Redis's
 * discardTransaction: EXEC refused by cluster routing, server/cluster.h). */
void multi_discard(struct conn *c);

/* Frees the connection's transaction state (from net's close hook). */
void multi_conn_close(struct conn *c);

/* Whether d acts only on the keyspace (it names keys, or is a @keyspace or
 * data-type command): it may run again in a new attempt unnoticed. Any
 * other may have effects outside the map and must run exactly once. */
bool multi_map_only(const struct cmd_def *d);

/* Runs fn(r) as one isolated transaction (re-run on conflict) in the
 * connection's transactional view, or directly when r already runs in one
 * (a command queued in MULTI). */
void multi_atomic(struct cmd_req *r, cmd_proc fn);

#endif
