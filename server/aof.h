/*
 * aof.h — the append-only file: Redis 7.0's multi-part layout (a directory
 * appenddirname inside dir with a manifest, a base file and incremental
 * files of RESP commands), the AOF thread that writes and fsyncs them, the
 * propagation of each write as a deterministic command, and the replay at
 * start-up.
 *
 * Propagation (Redis's call() + feedAppendOnlyFile). Every command runs with
 * a propagation record (struct aof_prop, in cmd_req.prop while the AOF is
 * on). After the handler, aof_after_cmd() decides what the command logs: a
 * handler may have called cmd_propagate() itself; otherwise the rule of its
 * command (aof_prop.c) rewrites it into Redis's deterministic form (relative
 * expiries as absolute PXAT / PEXPIREAT, INCRBYFLOAT as SET ... KEEPTTL,
 * SPOP as SREM, blocking pops as their non-blocking form, RESTORE with
 * ABSTTL) reading the key's state after the write; any other command is
 * logged as received — in each case only if it changed something (the
 * thread's db_writes counter moved: Redis's server.dirty). A transaction
 * collects its commands' records and logs them as MULTI ... EXEC (a single
 * record bare, as Redis 7.0). A SELECT precedes a record whose database is
 * not the one the file last selected. Keys the db layer removes by itself
 * (expiry, eviction) are logged as DEL / UNLINK by aof_drop.c: inside the
 * running command's record, or as a record of their own.
 *
 * Ordering (why replay reproduces the state). Writes to one key from
 * different workers must reach the file in the order they took effect. While
 * the AOF is on, dispatch takes striped mutexes (AOF_STRIPES, by a hash of
 * the key bytes) for every key of a write command, in increasing stripe
 * order, before the handler runs, and releases them only after the record is
 * appended to the AOF queue (aof_append). So for two writes W1, W2 of the same
 * key, the one that locks the stripe first both commits first (its CAS
 * happens while the other waits) and appends first: file order = commit
 * order for every key; writes to disjoint stripes commute, so their relative
 * order in the file does not matter. Commands with keys in several stripes
 * lock them all (sorted: no deadlock between them). Above the stripes sits
 * one writer-preferring rwlock, the gate: a keyed write holds it shared;
 * what must be ordered against every key holds it exclusively instead of
 * every stripe (EXEC, commands without key specs that write — FLUSHALL,
 * FLUSHDB, SWAPDB —, a blocked client served by another's push, whose
 * BLMOVE destination is known only per waiter, and BGREWRITEAOF's cut). A
 * thread waits for the gate or a stripe offline (kvmap_thread_offline), so
 * an epoch grace period (FLUSHALL SYNC's purge) never waits for a thread
 * parked on them. No cycle with the storage's exclusive transactions: a
 * holder may wait for the exclusive gate of db.c, but whoever holds that
 * gate took the AOF gate and stripes before it and takes none after.
 *
 * Group commit (appendfsync always). aof_append() copies a record into the
 * shared queue under one mutex and returns its end offset (an LSN). The AOF
 * thread swaps the queue out, writes it, fdatasyncs, then publishes the
 * synced offset and wakes waiters: every record appended while the previous
 * batch was being written is covered by the next single fsync. The batch
 * boundary is the workers' own: a worker's append does not wake the AOF
 * thread; when the worker leaves its batch of ready tasks (net's offline
 * hook: it polls or parks) it kicks the queue (aof_batch_end), so one
 * fdatasync covers every write of that batch, as Redis's one fsync per
 * event-loop pass, while the next batch is parsed and run meanwhile (a
 * record waits for its batch end at most AOF_KICK_NS; a thread that is not
 * a worker kicks at once). Before this, the first append woke the idle AOF
 * thread, which fsynced 1-5 records while the rest of the batch waited for
 * the next fsync. When that worker's batch ends while the AOF thread
 * waits (no batch of its own in flight), the worker writes and fdatasyncs
 * the queue itself, still offline (commit_inline in aof_writer.c), and wakes
 * the replies it covers: on a shared core the handoff to the AOF thread and
 * back (a futex wake, an eventfd write, two thread switches per fdatasync)
 * cost more than the overlap it bought; the AOF thread keeps everything
 * else (file switches, timeouts, non-workers, everysec and no). A batch
 * ends when the worker's own tasks ran dry (net_worker_has_tasks): a poll
 * in the middle of a batch does not commit it, unless its records have
 * waited AOF_KICK_NS. A reply is
 * held back, not the worker's other work: net/ calls aof_before_write()
 * before it writes a connection's pending replies; while the synced offset
 * is short of the connection's last record it puts the connection on the
 * AOF thread's held list and net leaves it idle (a pipeline of writes waits
 * once); after each fdatasync the AOF thread wakes (conn_wake) every held
 * connection it covers, whose replies then leave. everysec and no: the AOF
 * thread gathers records for up to AOF_GATHER_NS or AOF_GATHER_BYTES before
 * one write(2); everysec fsyncs at most once a second (a crash loses at most
 * about 2 s); no: the kernel decides.
 *
 * Group wait (appendfsync always, aof-group-wait-us). With closed-loop
 * clients, starting the next fdatasync the moment one ends splits them in
 * two cohorts for good: those released by the last fsync come back during
 * the next, which covers only the others (about 26 of 50 SETs per fsync,
 * as redis-server). So after a wake pass releases connections, a batch
 * end commits only once the writes expected back have been appended:
 * every connection released by the last two passes (the cohort it just
 * released, and the one the fsync before released, whose requests may
 * still be unread) has appended again or closed. Otherwise the records
 * wait, at most min(aof-group-wait-us, the last write + fdatasync's
 * duration) from that pass; the AOF thread commits them at the bound.
 * Never when the last pass released one connection (a lone client pays no
 * wait), when the queue holds AOF_GATHER_BYTES, or with the bound at 0. No
 * reply leaves before the fsync covering it, as without the wait.
 *
 * auto-aof-rewrite-percentage / -min-size (Redis's semantics): the AOF
 * thread starts a rewrite when the AOF (base and incr files) is at least
 * min-size and has grown by percentage over its size after the last rewrite
 * (or at start-up); 0 percent turns it off.
 *
 * Threads: aof_setup/aof_teardown on the main thread, aof_start on the
 * loading thread (server/loading.h); the switches (below, "Switching") on
 * a worker under the config's set lock; the rest on workers (dispatch), the
 * AOF thread and the rewrite thread. Locks: sw_lock (switches) before
 * rw_lock (state, rewrite thread) and lock (the queue); the gate before
 * stripes, the db's gate and lock; nobody waits for the gate holding
 * rw_lock. The switch-off waits for the gate and for an abandoned rewrite
 * only for a bounded time (it holds the config's set lock, which a CONFIG
 * SET inside EXEC, holding the gate, may be waiting for). Errors: 0 /
 * -errno with a reason.
 */
#ifndef KVSD_AOF_H
#define KVSD_AOF_H

#include "concurrency/ebr.h"
#include "concurrency/wctx.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cmd_req;
struct cmd_def;
struct aof_cmd_info;
struct conn;
struct db;

/* everysec / no: the AOF thread waits this long, or for this many queued
 * bytes, before a write(2) */
#define AOF_GATHER_NS	 (1000 * 1000)
#define AOF_GATHER_BYTES (256 * 1024)
/* always: queued records wait at most this long for the end of the batch
 * of the worker that appended them (aof_batch_end) */
#define AOF_KICK_NS (500 * 1000)
/* always: aof-group-wait-us's default, the most a batch is held back for
 * the writes expected back (see "Group wait" above): off, because on a
 * disk whose fdatasync is short next to the CPU time of bringing the
 * clients back it cost throughput (docs/BENCHMARKS.md, group wait) */
#define AOF_GROUP_WAIT_US 0

/* Values of appendfsync, in the config table's order. */
enum aof_fsync { AOF_FSYNC_ALWAYS, AOF_FSYNC_EVERYSEC, AOF_FSYNC_NO };

#define AOF_STRIPES 256

/* What one command (or a whole transaction) logs. */
struct aof_prop {
	char *buf; /* formatted commands */
	size_t len, cap;
	struct aof_item {
		int db;
		size_t off, len;
	} * items;
	size_t n, ncap;
	bool overridden; /* a handler called cmd_propagate */
};

/* Keys' stripes held by a running command (n > 0: the gate is held shared
 * too; all: the gate is held exclusively), and the command (req), so that
 * a key expired during it is logged in its record (aof_drop.c). */
struct aof_locks {
	uint16_t idx[32];
	int n;
	bool all;
	struct cmd_req *req;
	/* the command's row in aof_prop.c's table (NULL: not found), for
	 * aof_after_cmd */
	const struct aof_cmd_info *info;
};

/* Whether appendonly is on (Redis's aof_state != AOF_OFF: INFO
 * aof_enabled), switching on included. */
bool aof_enabled(void);
/* Whether writes log themselves: from aof_start, or from the switch-on's
 * rewrite setting it before its grace period, until the switch-off or
 * teardown. */
bool aof_started(void);
/* Whether aof_setup ran: appendonly's start-up value is settled. */
bool aof_configured(void);
void aof_set_fsync(enum aof_fsync policy);
/* aof-group-wait-us: the group wait's bound in microseconds, 0: off */
void aof_set_group_wait(long long us);
/* CONFIG SET appendonly (the config's apply): before aof_start settles
 * appendonly, nothing; then aof_switch_on / aof_switch_off (below). 0, or
 * -1 with Redis's reason in why. */
int aof_set_appendonly(bool on, char *why, size_t whylen);
/* auto-aof-rewrite-percentage (0: off) and auto-aof-rewrite-min-size
 * (bytes), read by the AOF thread at its next check. Any thread. */
void aof_set_auto_rewrite(long long percentage, long long min_size);

/*
 * Start-up, in two steps. aof_setup, before net_setup (main thread): with
 * appendonly yes, opens (or creates: an empty RDB base and an empty incr
 * file, as Redis 7.0) the AOF directory and reads its manifest. aof_start,
 * on the loading thread after net_setup (server/loading.h: clients are
 * served and get -LOADING): loads an RDB base (persist/rdb_file.h), replays
 * a RESP base and the incremental files through a connection of its own,
 * then opens the last incremental file for appending and starts the AOF
 * thread. Both: 0, -ECANCELED when a shutdown stopped the load, or -errno
 * with the reason in err (the server must not start).
 */
int aof_setup(struct db *db, char *err, size_t errlen);
int aof_start(char *err, size_t errlen);
/* After aof_setup: the size of the base and incr files aof_start will
 * replay, 0 if none (INFO loading_total_bytes from the first moment). */
uint64_t aof_load_size(void);
/* BGREWRITEAOF: starts the forkless rewrite (rewrite_run in aof_rewrite.c). 0;
 * 1: scheduled (a BGSAVE runs; the AOF thread starts it after, as Redis's
 * cron, or aof_rewrite_cron while appendonly is no); or -1 with the
 * reply's error text in err. With appendonly no it writes a base and a
 * manifest naming it alone, as Redis 7.0 (no incr file). Any thread. */
int aof_rewrite_start(char *err, size_t errlen);
/* The hz cron (psrv_cron, holding no lock): starts a rewrite scheduled
 * while appendonly is no once no BGSAVE runs (with the AOF on, the AOF
 * thread's check does). */
void aof_rewrite_cron(void);
/* SHUTDOWN, before its save (Redis's prepareForShutdown): while the
 * switch-on's rewrite writes the initial AOF, -1 unless force (logged
 * "Writing initial AOF, can't exit."; SHUTDOWN then answers its error and
 * the server keeps running). Otherwise a running rewrite is abandoned (it
 * stops at its next key, its files deleted; the manifest stays valid) and
 * waited for (at most 0.5 s; not inside EXEC), as Redis kills its rewrite
 * child, and 0. A worker, online. A SIGTERM does not come here: the
 * teardown abandons the rewrite the same way (aof_teardown). */
int aof_shutdown_prepare(bool force);
/* SHUTDOWN failed after aof_shutdown_prepare (its save failed): a
 * switch-on whose rewrite it abandoned is scheduled again. */
void aof_shutdown_cancelled(void);
bool aof_rewrite_running(void);
/* INFO aof_rewrite_scheduled: a rewrite waits to start (a BGSAVE runs, or
 * switching on needs one again). Any thread. */
bool aof_rewrite_scheduled(void);
/* INFO persistence's rewrite fields (Redis's names): in progress,
 * scheduled, started so far, the last one's and the running one's
 * seconds (-1: none), the last one's status, consecutive failures. */
struct aof_rewrite_info {
	bool running, scheduled, last_ok;
	long long count, last_secs, current_secs;
	int fails;
};
void aof_rewrite_info(struct aof_rewrite_info *ri);

/*
 * Switching (CONFIG SET appendonly at run time, as Redis 7.0's
 * startAppendOnly / stopAppendOnly). Called by the config's apply on a
 * worker, under the config's set lock.
 *
 * aof_switch_on: state AOF_WAIT_REWRITE (INFO aof_enabled:1), the AOF
 * thread starts with no file, and a rewrite starts (or is scheduled while a
 * BGSAVE runs or inside EXEC: aof_rewrite_scheduled). The rewrite then (1)
 * sets the flag that makes every write log itself, (2) waits for a grace
 * period of the workers' command boundaries (ebr_synchronize on a domain of
 * its own, below), (3) takes the cut under the gate and points the AOF
 * thread at a fresh temporary incr file, (4) writes the base, renames the
 * incr file and writes the manifest: state AOF_ON. Records appended between
 * (1) and (3) are dropped: they were committed before the cut (they hold
 * the gate until queued), so the base has them. A write that read the flag
 * off is one whose command began before its worker's next boundary; (2)
 * waits until every worker passed one, so each such write is in the map
 * before the cut: in the base. So every write is in the base or in the
 * incr file, never in both, never in neither.
 *
 * The boundaries: every worker is a thread of the domain, online while it
 * runs tasks, offline while it polls (net's online/offline hooks), and
 * announces a quiescent state between commands (net's quiescent hook):
 * one relaxed load and a compare per command while nothing switches, as
 * the storage's own epochs. Nothing else reads or waits on the domain.
 *
 * aof_switch_off: the flag off, the gate taken once exclusively (every
 * write that saw it on has queued its record), the AOF thread writes what
 * is queued and stops, the file is fsynced and closed; a running rewrite
 * gives up at its next step (its files are deleted). `gate_held`: the
 * caller holds the gate exclusively (CONFIG SET inside EXEC). Never waits
 * for a rewrite. 0, or -1 with Redis's reason in why.
 */
int aof_switch_on(bool in_exec, char *why, size_t whylen);
void aof_switch_off(bool gate_held);
/* net's hooks on each worker (server.c): register once at thread start
 * (and unregister at its end), online/offline around the event loop's
 * poll, quiescent between commands. */
void aof_qs_register(void);
void aof_qs_unregister(void);
void aof_qs_online(void);
void aof_qs_offline(void);
static inline void aof_qs_quiescent(void)
{
	struct ebr_thread *t = wctx_self()->aof_qs;

	if (t)
		ebr_quiescent(t);
}
/* Whether the calling thread holds the gate exclusively (runs EXEC or a
 * write without key specs while the AOF is written). */
bool aof_gate_held(void);
/* DEBUG AOF-FSYNC (everysec's loss bound, testable): the byte counts
 * (LSNs) appended, written to the file and covered by the last fdatasync,
 * and the number of fdatasyncs. Any thread; statistics. */
struct aof_fsync_stats {
	uint64_t appended, written, fsynced, nfsync;
};
void aof_fsync_stats(struct aof_fsync_stats *st);
/* Abandons a running rewrite (not switching on's, which it lets finish) as
 * aof_shutdown_prepare does and joins it, then writes and fsyncs what is
 * queued and stops the AOF thread. Main thread. */
void aof_teardown(void);

/* ---- dispatch glue (server/cmd.c, server/multi.c) */

/* Before a command's handler: takes the stripes of its keys when it may
 * write (held in *l), and points r->prop at *p. Holding no entry. */
void aof_before_cmd(struct cmd_req *r, const struct cmd_def *d, struct aof_prop *p,
		    struct aof_locks *l);
/* After its handler (reply_mark: where its reply starts; writes0: the
 * thread's db_writes before it ran): adds what it logs to r->prop. */
void aof_after_cmd(struct cmd_req *r, const struct cmd_def *d, size_t reply_mark, uint64_t writes0);
/* Appends r->prop to the AOF (wrapped in MULTI/EXEC when it holds several
 * commands: a transaction, SPOP with a count), remembers the record's LSN
 * for the connection's replies, and releases the stripes. */
void aof_finish_cmd(struct cmd_req *r, struct aof_prop *p, struct aof_locks *l);
/* net's before_write hook (runner): false holds the connection's replies
 * until its records are durable (appendfsync always): the connection joins
 * the AOF thread's held list and is woken (conn_wake) by the fsync that
 * covers it, or by the AOF's stop. true: they may leave. Never blocks. */
bool aof_before_write(struct conn *c);
/* The connection closes (net's conn_close hook, before its session is
 * freed): leaves the held list, so no conn_wake(c) follows. */
void aof_conn_close(struct conn *c, void *session);
/*
 * Blocked clients served by another command's thread (server/blocking.c):
 * aof_serve_lock takes every stripe (false, and nothing, when no AOF is
 * written) before the serve takes its shard lock; each served pop is
 * logged with aof_log_served (returns its LSN, 0 when nothing is logged),
 * which the served client's runner passes to aof_note_lsn before it
 * formats the reply.
 */
bool aof_serve_lock(void);
void aof_serve_unlock(void);
uint64_t aof_log_served(int db, int argc, const char *const *argv, const size_t *argl);
void aof_note_lsn(struct conn *c, uint64_t lsn);
/* INFO persistence's AOF fields that Redis prints when appendonly is on
 * (aof_current_size ... aof_delayed_fsync), into buf; returns the length
 * written (0 when the AOF is off). Any thread. */
size_t aof_info(char *buf, size_t len);
/* INFO kvsd's group-commit counters while appendonly is on (0 bytes when
 * off): records appended, write(2)s, fdatasyncs, records they covered,
 * the AOF thread's waits for work and the signals that woke it, replies
 * held for an fdatasync, held connections woken and in how many passes,
 * fdatasyncs a worker ran itself and the time it spent in them. Into buf; returns the length
 * written. Any thread. */
size_t aof_group_info(char *buf, size_t len);
/* The drop hooks (storage/db.h) that log keys the db layer expires or
 * evicts as DEL / UNLINK (aof_drop.c); installed by aof_start. */
void aof_drop_install(struct db *db);

/* Whether the connection is the start-up loader's (no propagation). */
bool aof_is_loader(const struct conn *c);

/* A handler's propagation override: log this command (in the view's
 * database) instead of the default; may be called several times. */
void aof_prop_add(struct cmd_req *r, int argc, const char *const *argv, const size_t *argl);
/* The same into p, in database db (aof_drop.c: the view's database). */
void aof_prop_add_db(struct aof_prop *p, int db, int argc, const char *const *argv,
		     const size_t *argl);
void aof_prop_reset(struct aof_prop *p, size_t len, size_t n);
void aof_prop_free(struct aof_prop *p);

#endif
