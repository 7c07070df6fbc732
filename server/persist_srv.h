/*
 * persist_srv.h — what the server does with RDB files (Redis 7.0.15's
 * rdb.c / server.c behaviour around persist/rdb_file): SAVE and BGSAVE
 * from a storage/snap.h snapshot into dir/dbfilename through a temp file
 * (temp-<pid>.rdb: write, fsync, rename, fsync of the directory), the save
 * rules (`save <seconds> <changes> ...`) checked on the hz cron, the save at
 * shutdown, the load at start-up, and the INFO persistence fields.
 *
 * Changes since the last save (Redis's server.dirty): every write command
 * that did not answer an error counts one (Redis counts changes: MSET of
 * three keys counts three, a DEL of a missing key none), in a per-worker
 * counter (a relaxed add on a line of its own); a save remembers the sum it
 * read before its cut and subtracts it when it succeeds.
 *
 * BGSAVE runs on a thread of its own, registered with the map and online
 * for the whole save (snap.h: that keeps the cut's entries alive); writers
 * go on. At most one save (SAVE, BGSAVE, the cron's, the final one) runs at
 * a time. SAVE runs on the calling worker (its client waits, as Redis's
 * SAVE blocks, but only that worker).
 *
 * Loading runs on the loading thread while clients are served (loading.h:
 * they get -LOADING meanwhile, INFO shows loading:1 and the progress this
 * module reports). A file of 1 MB or more is decoded on `threads` threads
 * (rdb_file.h). A file that fails to load stops the server (exit status 1)
 * with a message naming the file and the byte offset; key-load-delay and
 * loading-process-events-interval-bytes act as in Redis. While loading, the
 * save rules are not checked and SHUTDOWN never saves.
 *
 * Threads: psrv_setup / psrv_teardown on the main thread, psrv_load on the
 * loading thread (both online in the map); psrv_dirty from any worker;
 * psrv_cron from worker 0's cron; commands from any worker; INFO anywhere.
 * Errors: 0 / -1 with Redis's text.
 */
#ifndef KVSD_PERSIST_SRV_H
#define KVSD_PERSIST_SRV_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct db;
struct wctx;

void psrv_setup(struct db *db);
/* Loads dir/dbfilename if it exists; logs as Redis. 0, -ECANCELED (a
 * shutdown stopped it), or -1 with err. */
int psrv_load(char *err, size_t errlen);
/* The size of the RDB file psrv_load would read, 0 if none, and its used-mem
 * AUX field, 0 if none (main thread, before the load starts: INFO
 * loading_total_bytes and loading_rdb_used_mem from the first moment). */
uint64_t psrv_load_size(void);
long long psrv_load_used_mem(void);
/* Shutdown: cancels a BGSAVE in progress and joins it, then saves when the
 * shutdown asks for it (SHUTDOWN SAVE, or save rules exist and it is not
 * NOSAVE) unless SHUTDOWN's own save already wrote every change. 0, or -1
 * when that final save failed (logged). Main thread, online. */
int psrv_teardown(void);

/* Puts the calling thread (a BGSAVE or AOF rewrite thread) below the
 * workers: SCHED_IDLE, so a worker that wakes on its core preempts it at
 * once and the save runs in the workers' idle time, as a forked child
 * would on an idle core; nice 19 if SCHED_IDLE is refused (logged at
 * verbose). A SCHED_IDLE thread alone gets only a sliver of a busy core
 * (about 0.3% against one nice-0 worker): under a load that never idles a
 * 1M-key save did not end in 10 s. So while such a thread writes its file
 * it beats per key, and a worker that sees it starving lends it the core
 * bgsave-cpu-percent of the wall time, bgsave-cpu-slice-us at a time
 * (concurrency/lend.h; INFO kvsd: rdb_saver_lends, rdb_saver_cpu_us,
 * aof_rewrite_lends). No lock a worker spins on is held
 * across a long stretch by such a thread (snap.h: one stripe's walk, with
 * sleeping waiters). who names the thread in the log, comm (15 bytes at
 * most) in the system's tools (top -H, perf, ftrace: as Redis names its
 * children redis-rdb-bgsave and redis-aof-rewrite). */
void psrv_background_prio(const char *who, const char *comm);
/* Puts a background thread (psrv_background_prio) back at the workers'
 * priority, best effort: for a thread somebody now waits for (a rewrite that
 * SHUTDOWN abandoned and joins), which under SCHED_IDLE on a busy machine
 * could take seconds to reach its next cancellation check. Not yet joined. */
void psrv_foreground_prio(pthread_t thr);

/* A write command succeeded on this worker. */
void psrv_dirty(struct wctx *w);
void psrv_cron(int64_t now_ms);

/* SAVE, on the calling thread (online). 0, or -1 with the reply's text in
 * err ("ERR Background save already in progress", "ERR"). */
int psrv_save(char *err, size_t errlen);
/* Whether a save (any) runs now. */
bool psrv_bgsave_busy(void);
/* BGSAVE inside EXEC: the cron starts it when no save runs. */
void psrv_bgsave_schedule(void);
/* BGSAVE: 0 when the thread started, or -1 with the error text. */
int psrv_bgsave(char *err, size_t errlen);
/* SHUTDOWN's save decision, before the server stops: mode 0 default, 1
 * SAVE, 2 NOSAVE. Saves now when it must (see psrv_teardown); -1 when
 * that save failed (SHUTDOWN then answers its error and keeps running). */
int psrv_shutdown_prepare(int mode);
/* stop-writes-on-bgsave-error: whether write commands (and PING) are
 * refused with -MISCONF now (save rules exist, the option is yes and the
 * last BGSAVE failed). One relaxed load while saves succeed. Any thread. */
bool psrv_write_denied(void);

/* LASTSAVE: unix seconds of the last successful save (start-up time before one). */
long long psrv_lastsave(void);

/* INFO persistence (the whole section, "# Persistence\r\n..."), into
 * buf; returns its length (truncated to len - 1). */
size_t psrv_info(char *buf, size_t len);

#endif
