/*
 * aof_state.h — the AOF module's shared state and its internal functions,
 * for the files that implement aof.h: aof.c (set-up, switches, teardown,
 * the manifest's reading), aof_files.c (paths and crash-safe file writes),
 * aof_writer.c (the AOF thread, appending, group commit, stripes and gate),
 * aof_rewrite.c (BGREWRITEAOF) and aof_load.c (start-up replay). Nothing
 * outside server/aof*.c includes it. Each field's comment says which lock
 * or thread owns it; the functions below keep the contracts written at
 * their definitions (threads, locks held, errors: 0 or -errno with err).
 */
#ifndef KVSD_AOF_STATE_H
#define KVSD_AOF_STATE_H

#include "server/aof.h"
#include "persist/aof_format.h"
#include "server/session.h" /* struct aof_hold */

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct db;
struct cmd_doc;
struct cmd_def;
struct ebr;

/* Redis's aof_state */
enum { AOF_OFF, AOF_WAIT_REWRITE, AOF_ON };

struct aof_state {
	char *dir, *fname; /* appenddirname, appendfilename */
	struct aof_manifest man;
	int fd; /* the current incremental file; AOF thread (and teardown) */

	/* the queue, under lock */
	pthread_mutex_t lock;
	pthread_cond_t work, done;
	char *buf;
	size_t len, cap;
	uint64_t appended; /* bytes ever appended: a record's LSN is its end */
	/* bytes known durable (always) / written (others): stored under lock
	 * by the AOF thread, read there or by aof_before_write's fast path */
	_Atomic uint64_t synced;
	int last_db; /* the database the file last SELECTed */
	bool stop;
	/* the AOF thread waits for records (idle) or gathers them (everysec,
	 * no): an append signals work only then, and while gathering only
	 * once AOF_GATHER_BYTES are queued */
	bool idle, gathering;
	/* appendfsync always: a worker ended the batch that appended some of
	 * the queued records (aof_batch_end), so the queue goes to the next
	 * write and fdatasync; the AOF thread clears it when it takes the queue */
	bool kicked;
	/* when the queue last went from empty to not (clock_mono_ns): a
	 * worker's records wait for its batch's end at most AOF_KICK_NS from
	 * then (aof_batch_end). Under lock */
	int64_t queued_since;
	/* appendfsync always: a worker writes and fdatasyncs the queue itself
	 * at its batch end (commit_inline in aof_writer.c) while the AOF thread
	 * waits: set under lock by that worker, which then owns fd, the write
	 * and the fsync statistics as the AOF thread does while it writes; the
	 * AOF thread takes no batch meanwhile. ibuf/icap: the buffer the queue
	 * is swapped into. recs_synced: records covered by fdatasyncs so far
	 * (INFO), kept by whoever writes. */
	bool inline_busy;
	/* the AOF thread is in its wait loop, so it checks inline_busy
	 * before it takes a batch: commit_inline may run (under lock) */
	bool thr_waiting;
	char *ibuf;
	size_t icap;
	uint64_t recs_synced;
	/* appendfsync always, the group wait (aof.h, "Group wait"), under
	 * lock: wake passes that released connections so far (rel_gen), how
	 * many the last one released (rel_last) and when (rel_at, mono ns);
	 * of the connections released by the last pass (exp_cur) and by the
	 * one before (exp_prev), those that have not appended since; the last
	 * write + fdatasync's duration, smoothed (fsync_ns); when the queued
	 * records were first held back for them (wait_since, 0: not); when the
	 * AOF thread's timed wait ends while it is idle (thr_wake_at) */
	uint64_t rel_gen;
	uint32_t rel_last, exp_cur, exp_prev;
	int64_t rel_at, fsync_ns, wait_since, thr_wake_at;
	/* connections whose replies wait for the fsync (appendfsync always):
	 * struct aof_hold in their sessions, a circular list with this head */
	struct aof_hold held;
	pthread_t thr;
	/* start-up: the manifest names files to replay; its base is RDB */
	bool need_replay, base_is_rdb;
	/* INFO aof_current_size = cur_base + appended - cur_from (the files'
	 * sizes at start-up, or the base written by the last rewrite plus the
	 * incr file it started at offset cur_from); base_size: Redis's
	 * aof_rewrite_base_size (the base file at start-up, the whole AOF
	 * after a rewrite), what auto-aof-rewrite-percentage grows from. Under
	 * lock: the rewrite thread writes them, INFO and the AOF thread read */
	uint64_t cur_base, cur_from, base_size;
	/* BGREWRITEAOF's cut (under lock): records before switch_at go to the
	 * current file, the rest to switch_fd */
	bool switch_pending;
	int switch_fd;
	uint64_t switch_at;
	struct db *db;
	/* the rewrite thread: rw_running is set by the command under rw_lock
	 * and cleared by the thread when it ends; the next start (or teardown)
	 * joins it */
	pthread_mutex_t rw_lock;
	bool rw_running, rw_joinable;
	/* the running rewrite was given up by a switch-off that did not wait
	 * for its end (SWITCH_WAIT_NS): INFO no longer shows it, as Redis
	 * shows no killed child; cleared by the next start. Under rw_lock */
	bool rw_abandoned;
	/* the running rewrite was given up by SHUTDOWN or by the teardown (a
	 * SIGTERM), not by a switch: its log line says so. Under rw_lock */
	bool rw_shutdown;
	/* consecutive failed rewrites and when the last one ended (mono ns),
	 * under rw_lock: automatic rewrites back off after failures */
	int rw_fails;
	int64_t rw_end_ns;
	/* INFO persistence (Redis's aof_rewrites, aof_last_rewrite_time_sec,
	 * aof_last_bgrewrite_status), under rw_lock: rewrites started, when
	 * the running one started (mono ns), the last one's seconds (-1:
	 * none) and whether it succeeded */
	long long rw_count, rw_last_secs;
	int64_t rw_start_ns;
	bool rw_last_ok;
	bool rw_closed; /* teardown: no rewrite starts any more */
	pthread_t rw_thr;

	/* taken shared by every logged write (then its stripes), exclusively
	 * by what must order itself against every key (EXEC, FLUSHALL, a
	 * served pop, the rewrite's cut); writer-preferring, so an exclusive
	 * taker is not starved by a stream of writes */
	pthread_rwlock_t gate;
	pthread_mutex_t stripe[AOF_STRIPES];
	/* CONFIG SET appendonly at run time (aof.h, "Switching"). state:
	 * Redis's aof_state, under rw_lock. rw_scheduled: a rewrite waits for
	 * a BGSAVE or an abandoned rewrite to end, or retries a failed one
	 * while switching on (INFO aof_rewrite_scheduled), under rw_lock. gen:
	 * bumped by every switch (under rw_lock); a rewrite that started in
	 * another generation gives up at its next step (rw_cancelled).
	 * precut (under lock): records are dropped, not queued — the switch-
	 * on's rewrite has not taken its cut yet, whose base will hold them.
	 * closed (under lock): no AOF thread takes records. thr_running: the
	 * AOF thread runs (under sw_lock). man_loaded: dir, fname and man are
	 * set (under sw_lock; read by the rewrite thread it starts later). */
	int state;
	bool rw_scheduled;
	_Atomic uint64_t gen;
	bool precut, closed, thr_running, man_loaded;
	/* serialises the switches (and teardown): thread_start/stop, thr,
	 * thr_running, man_loaded's setting; taken before rw_lock */
	pthread_mutex_t sw_lock;
	/* the workers' command boundaries as an epoch domain (aof.h,
	 * "Switching"); created by aof_setup */
	struct ebr *qs;
	/* DEBUG AOF-FSYNC (aof.h): fdatasyncs of incr files so far, and the
	 * byte counts (LSNs) the last write and the last one covered; written
	 * by the AOF thread (or a worker's inline commit), read by DEBUG.
	 * Stored with release after what they count (written after the batch
	 * was taken under aof.lock, fsynced after written), and loaded with
	 * acquire in the reverse order (aof_fsync_stats), so a snapshot has
	 * fsynced <= written <= appended */
	_Atomic uint64_t nfsync, fsynced, written;
	/* INFO's group-commit counters (aof_info): records appended (nrec,
	 * under lock), records covered by fdatasyncs (fsync_recs), write(2)
	 * batches (nwrite), waits of the AOF thread for work (nwait) and the
	 * signals that woke it (nsignal), replies held (nheld) and
	 * connections the AOF thread woke (nwake) in how many passes
	 * (nwake_pass), fdatasyncs run by workers themselves (ninline,
	 * commit_inline) and the time they spent in them with the write
	 * (inline_ns). Read by INFO: relaxed, statistics */
	_Atomic uint64_t nrec, fsync_recs, nwrite, nwait, nsignal, nheld, nwake, nwake_pass;
	_Atomic uint64_t ninline, inline_ns;
	/* the group wait: batches held back for expected writes (ngwait), the
	 * time they were held (gwait_ns), and those the bound ended
	 * (ngtimeout) rather than the expected writes' arrival. Relaxed,
	 * statistics */
	_Atomic uint64_t ngwait, gwait_ns, ngtimeout;
	/* the start-up loader's connection id (0: none); written by net_adopt
	 * before the connection is handed to a worker, read by conn_init and
	 * dispatch */
	_Atomic uint64_t loader_id;
};

extern struct aof_state aof;

/* aof_files.c */
/* an RDB file with no key (a new directory's base), mem_alloc'd */
char *aof_empty_rdb(size_t *len);
/* fsync of a directory: 0 or -errno */
int aof_fsync_dir(const char *dir);
/* aof.dir/name, mem_alloc'd */
char *aof_path_of(const char *name);
/* a whole file into *out (mem_alloc'd): 0 or -errno */
int aof_read_file(const char *path, char **out, size_t *len);
/* write(2) until done (EINTR retried): 0 or -errno */
int aof_write_all(int fd, const char *buf, size_t len);
/* aof.dir/name through a temp file, fsync, rename, directory fsync: 0 or -errno */
int aof_write_file_atomic(const char *name, const char *buf, size_t len);
/* aof_writer.c */
/* the AOF thread's body (thread_start in aof.c creates it) */
void *aof_thread(void *arg);
/* CLOCK_REALTIME now + ns, for pthread timed waits */
struct timespec aof_deadline_in(long ns);
/* Joins the rewrite thread within ns nanoseconds, offline meanwhile. false:
 * it is still ending; rw_joinable is set, so the teardown or a later start
 * joins it. Caller: not holding rw_lock. */
bool aof_rw_join_within(long ns);
/* appendfsync always: the calling worker ended a batch of tasks (net's
 * offline hook, aof_qs_offline); the records it appended since its last
 * batch end go to the next fdatasync (aof.kicked), which this thread runs
 * itself when the AOF thread waits (commit_inline: it may block for one
 * write and fdatasync). Its own thread, offline, holding no lock. */
void aof_batch_end(void);
/* takes aof.gate exclusively (no logged write between commit and record) */
void aof_gate_exclusive(void);
/* aof_rewrite.c */
/* starts the rewrite thread, rw_lock held: 0 or -1 with the reply's error */
int aof_rewrite_spawn(char *err, size_t errlen);
/* the running rewrite's generation is stale (a switch or SHUTDOWN): rewrite thread */
bool aof_rw_cancelled(void);
/* m as the directory's manifest, crash-safe: 0 or -errno with err */
int aof_write_manifest(const struct aof_manifest *m, char *err, size_t errlen);
/* aof_prop.c: what dispatch's AOF glue needs of a command row, worked out
 * once for every row (top-level and subcommands) when the table is first
 * asked for, then read-only: the docs row, whether it is EXEC or a script
 * (ordered against every key, logged by their own path), its propagation
 * rule, and where its keys are. keys: AOF_KEYS_RANGE — argv[first..last]
 * step `step` when argc > last (SET's argv[1]; any row with one static
 * index/range key spec of fixed length), else no keys found;
 * AOF_KEYS_SPECS — keyspec_find; AOF_KEYS_NONE — the docs name none. */
enum { AOF_KEYS_NONE, AOF_KEYS_RANGE, AOF_KEYS_SPECS };
struct aof_cmd_info {
	const struct cmd_def *d;
	const struct cmd_doc *doc;
	const void *rule; /* aof_prop.c's, or NULL */
	bool exec_or_eval;
	unsigned char keys;
	int first, last, step;
};
/* d's row, or NULL for a row not in the command table. Any thread. */
const struct aof_cmd_info *aof_cmd_info_of(const struct cmd_def *d);
/* aof_load.c */
/* replays the command-form base and the incr files: loading thread; 0 or -errno with err */
int aof_load_all(char *err, size_t errlen);
/* loads an RDB base into db: loading thread; 0 or -errno with err */
int aof_load_rdb_base(struct db *db, const char *name, char *err, size_t errlen);
/* aof.c */
/* aof.dir, aof.fname and aof.man from the config and the manifest: 0, -ENOENT, -errno */
int aof_open_dir(char *err, size_t errlen);

#endif
