/*
 * persist_srv.c — SAVE, BGSAVE, the save rules, the save at shutdown, the
 * load at start-up and INFO persistence (persist_srv.h), over
 * persist/rdb_file and storage/snap.h.
 *
 * State that saves share (the running thread, the statuses INFO reports,
 * the rules) lives under one mutex, taken by commands, the cron and INFO:
 * never on a hot path. The save itself runs outside the mutex; `busy`
 * (under it) keeps a second one from starting.
 */
#include "server/persist_srv.h"
#include "server/aof.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "concurrency/clock.h"
#include "concurrency/lend.h"
#include "concurrency/mem.h"
#include "concurrency/wctx.h"
#include "persist/autosync.h"
#include "persist/rdb_file.h"
#include "server/config.h"
#include "server/loading.h"
#include "server/script.h"
#include "server/log.h"
#include "storage/db.h"
#include "storage/kvmap.h"
#include "storage/snap.h"
#include "concurrency/util.h"

/* ---- changes since the last save: per-worker counters */

#define DIRTY_SLOTS 64
struct dirty_slot {
	/* written by the workers that map to this slot (relaxed adds: a count
	 * that publishes nothing); summed by any thread */
	_Atomic uint64_t n;
	char pad[64 - sizeof(uint64_t)];
};
static struct dirty_slot dirty[DIRTY_SLOTS];

KV_HOT void psrv_dirty(struct wctx *w)
{
	unsigned i = w ? (unsigned)(w->index + 1) % DIRTY_SLOTS : 0;

	/* relaxed: a statistic the cron compares with a threshold */
	atomic_fetch_add_explicit(&dirty[i].n, 1, memory_order_relaxed);
}

static uint64_t dirty_total(void)
{
	uint64_t s = 0;

	for (int i = 0; i < DIRTY_SLOTS; i++) /* relaxed: see psrv_dirty */
		s += atomic_load_explicit(&dirty[i].n, memory_order_relaxed);
	return s;
}

/* ---- shared state */

#define MAX_RULES      64
#define BGSAVE_RETRY_S 5  /* CONFIG_BGSAVE_RETRY_DELAY */
#define SAVER_NICE     19 /* a saver's fallback when SCHED_IDLE is refused */

struct rule {
	long long secs, changes;
};

static struct {
	struct db *db;
	pthread_mutex_t lock;
	bool busy;	  /* a save runs (SAVE, BGSAVE or the final one) */
	bool bg_running;  /* ... and it is a BGSAVE thread */
	bool bg_joinable; /* a BGSAVE thread ended or runs: join it */
	bool scheduled;	  /* BGSAVE in EXEC: the cron starts it */
	pthread_t bg;
	int64_t bg_start_ms;
	long long last_bg_secs; /* rdb_last_bgsave_time_sec */
	bool last_bg_ok;	/* rdb_last_bgsave_status */
	int64_t lastsave_s;	/* LASTSAVE */
	int64_t last_try_s;	/* lastbgsave_try */
	long long saves;	/* rdb_saves */
	uint64_t dirty_base;	/* dirty_total() the last successful save covered */
	long long load_loaded, load_expired;
	int shutdown_mode; /* 0 default, 1 SAVE, 2 NOSAVE */
	bool shutdown_saved;
	/* mirrors !last_bg_ok for the command path (relaxed: a flag that
	 * publishes nothing; a command that sees it a moment late is as if it
	 * ran a moment earlier) */
	_Atomic int bg_failed;
	/* INFO current_save_keys_*: relaxed statistics */
	_Atomic long long keys_done, keys_total;
	_Atomic int cancel; /* a running save stops at its next batch */
} ps = {.lock = PTHREAD_MUTEX_INITIALIZER, .last_bg_secs = -1, .last_bg_ok = true};

void psrv_setup(struct db *db)
{
	ps.db = db;
	ps.lastsave_s = clock_wall_ms() / 1000;
	lend_set_share((int)cfg_int(CFG_BGSAVE_CPU_PERCENT));	  /* bgsave-cpu-percent */
	lend_set_slice_us((int)cfg_int(CFG_BGSAVE_CPU_SLICE_US)); /* bgsave-cpu-slice-us */
}

/* ---- the save rules: "" or pairs "seconds changes" (setConfigSaveOption) */

/* The rules, read from the config each time (10 times a second at most:
 * the cron); r holds MAX_RULES. */
static int read_rules(struct rule *r)
{
	char *s = cfg_str_dup(CFG_SAVE), *p = s, *end;
	int n = 0;

	for (;;) {
		long long a, b;

		a = strtoll(p, &end, 10);
		if (end == p)
			break;
		b = strtoll(end, &p, 10);
		if (n < MAX_RULES)
			r[n++] = (struct rule){a, b};
	}
	free(s);
	return n;
}

/* ---- one save */

struct snap_src {
	struct db_snap *s;
	bool bg;	 /* a BGSAVE thread (idle-class): it beats (lend.h) */
	rdb_entry_fn fn; /* ss_next's caller's, for ss_entry */
	void *fnarg;
};

static int ss_databases(void *arg)
{
	return db_snap_databases(((struct snap_src *)arg)->s);
}
static long long ss_keys(void *arg, int i)
{
	return db_snap_keys(((struct snap_src *)arg)->s, i);
}
static long long ss_expires(void *arg, int i)
{
	return db_snap_expires(((struct snap_src *)arg)->s, i);
}
/* One entry for the writer, and a beat: progress the workers watch to tell
 * a starving saver (concurrency/lend.h). A batch is 1024 keys or more, too
 * coarse for that: on a core of its own the saver would look starved. Once
 * cancelled, none more (as the AOF rewrite's rs_entry): the file is thrown
 * away, and under rdb-key-save-delay the rest of a batch would hold a
 * SIGTERM or SHUTDOWN up for seconds. */
static void ss_entry(void *arg, const struct kv_entry *e)
{
	struct snap_src *src = arg;

	lend_beat();
	/* relaxed: see ss_next */
	if (!atomic_load_explicit(&ps.cancel, memory_order_relaxed))
		src->fn(src->fnarg, e);
}

static bool ss_next(void *arg, int i, rdb_entry_fn fn, void *fnarg)
{
	struct snap_src *src = arg;

	/* relaxed: a request to stop; the saver acts on it at a batch boundary */
	if (atomic_load_explicit(&ps.cancel, memory_order_relaxed))
		return false;
	if (!src->bg)
		return db_snap_next(src->s, i, fn, fnarg);
	src->fn = fn;
	src->fnarg = fnarg;
	return db_snap_next(src->s, i, ss_entry, src);
}

/* IDLE / FREQ as Redis saves them: under an LRU policy the idle seconds,
 * under an LFU policy the decayed counter (db_key_access, by the entry's
 * own key space: the cut's). */
static int ss_access(void *arg, const struct kv_entry *e, uint64_t *idle_s, unsigned *freq)
{
	enum db_policy p = (enum db_policy)cfg_int(CFG_MAXMEMORY_POLICY);
	uint64_t idle_ms = 0;
	int k;

	(void)arg;
	if (p != DB_VOLATILE_LRU && p != DB_ALLKEYS_LRU && p != DB_VOLATILE_LFU &&
	    p != DB_ALLKEYS_LFU)
		return 0;
	k = db_key_access(ps.db, kv_entry_hash(e), clock_wall_ms(), &idle_ms, freq);
	*idle_s = idle_ms / 1000;
	return k;
}

static int fsync_dir(void)
{
	int fd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc;

	if (fd < 0)
		return -errno;
	rc = fsync(fd) == 0 ? 0 : -errno;
	close(fd);
	return rc;
}

/*
 * Writes the snapshot to dir/dbfilename (rdbSave): temp-<pid>.rdb, fsync,
 * rename over the file, fsync of the directory. On the calling thread,
 * which must be online. Called with busy set (not holding the lock).
 */
static int save_now(const char *who, bool bg)
{
	char tmp[64], *fname = cfg_str_dup(CFG_DBFILENAME), err[256];
	struct snap_src src = {.bg = bg};
	struct rdb_source s = {ss_databases, ss_keys, ss_expires, ss_next, ss_access, &src};
	struct rdb_save_opts o = {.compress = cfg_int(CFG_RDBCOMPRESSION) != 0,
				  .checksum = cfg_int(CFG_RDBCHECKSUM) != 0,
				  .now_ms = clock_wall_ms(),
				  .used_mem = mem_used(),
				  .progress = &ps.keys_done,
				  .key_delay = (int)cfg_int(CFG_RDB_KEY_SAVE_DELAY),
				  /* rdb-save-incremental-fsync (SAVE too, as rdbSave) */
				  .autosync =
				      cfg_int(CFG_RDB_SAVE_INCREMENTAL_FSYNC) ? AUTOSYNC_BYTES : 0,
				  /* a BGSAVE lends (below): not while it waits on the disk */
				  .io_wait = bg ? lend_io_wait : NULL};
	struct rdb_save_stats st;
	uint64_t before = dirty_total(); /* read before the cut: every change it counts is in it */
	long long total = 0;
	int fd, rc, e;

	snprintf(tmp, sizeof(tmp), "temp-%d.rdb", (int)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		char *cwd = cfg_str_dup(CFG_DIR);

		LOG(LOG_WARNING,
		    "Failed opening the temp RDB file %s (in server root dir %s) for saving: %s",
		    tmp, cwd, strerror(errno));
		free(cwd);
		free(fname);
		return -1;
	}
	src.s = db_snap_begin(ps.db, &e);
	if (src.s == NULL) {
		LOG(LOG_WARNING, "Can't take a snapshot for saving: %s", strerror(-e));
		close(fd);
		unlink(tmp);
		free(fname);
		return -1;
	}
	for (int i = 0; i < db_snap_databases(src.s); i++)
		total += db_snap_keys(src.s, i);
	/* relaxed: statistics for INFO */
	atomic_store_explicit(&ps.keys_total, total, memory_order_relaxed);
	atomic_store_explicit(&ps.keys_done, 0, memory_order_relaxed);
	char **libs;
	size_t *lib_lens;
	int nlibs = script_func_codes(&libs, &lib_lens);

	o.libs = libs;
	o.lib_lens = lib_lens;
	o.nlibs = nlibs;
	if (bg) /* workers lend their core while it starves; not over the fsync */
		lend_begin(LEND_RDB);
	rc = rdb_save(fd, &s, &o, &st, err, sizeof(err));
	if (bg)
		lend_end();
	script_func_codes_free(libs, lib_lens, nlibs);
	db_snap_end(&src.s);
	/* relaxed: see ss_next */
	if (rc == 0 && atomic_load_explicit(&ps.cancel, memory_order_relaxed)) {
		snprintf(err, sizeof(err), "cancelled");
		rc = -1;
	}
	if (rc == 0 && fsync(fd) != 0) {
		snprintf(err, sizeof(err), "%s", strerror(errno));
		rc = -1;
	}
	if (rc == 0 && o.autosync)
		autosync_drop_cache(fd);
	if (close(fd) != 0 && rc == 0) {
		snprintf(err, sizeof(err), "%s", strerror(errno));
		rc = -1;
	}
	if (rc != 0) {
		LOG(LOG_WARNING, "Write error saving DB on disk: %s", err);
		unlink(tmp);
		free(fname);
		return -1;
	}
	if (rename(tmp, fname) != 0) {
		char *cwd = cfg_str_dup(CFG_DIR);

		LOG(LOG_WARNING,
		    "Error moving temp DB file %s on the final destination %s (in server root dir "
		    "%s): %s",
		    tmp, fname, cwd, strerror(errno));
		free(cwd);
		unlink(tmp);
		free(fname);
		return -1;
	}
	e = fsync_dir();
	if (e != 0)
		LOG(LOG_WARNING, "Failed to fsync the directory after renaming %s: %s", fname,
		    strerror(-e));
	free(fname);
	LOG(LOG_NOTICE, "DB saved on disk");
	LOG(LOG_VERBOSE,
	    "%s save: %lld keys, %llu bytes, %llu write-out starts, %llu incremental syncs", who,
	    st.keys, (unsigned long long)st.bytes, (unsigned long long)st.starts,
	    (unsigned long long)st.syncs);
	pthread_mutex_lock(&ps.lock);
	ps.dirty_base = before;
	ps.lastsave_s = clock_wall_ms() / 1000;
	ps.saves++;
	pthread_mutex_unlock(&ps.lock);
	return 0;
}

/* ---- BGSAVE's thread */

void psrv_background_prio(const char *who, const char *comm)
{
	struct sched_param sp = {.sched_priority = 0};
	int rc;

	/* best effort: the name only labels the thread for top -H, perf, ftrace */
	(void)pthread_setname_np(pthread_self(), comm);
	rc = pthread_setschedparam(pthread_self(), SCHED_IDLE, &sp);

	if (rc == 0)
		return;
	if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), SAVER_NICE) == 0)
		LOG(LOG_VERBOSE, "%s thread: SCHED_IDLE refused (%s), runs at nice %d", who,
		    strerror(rc), SAVER_NICE);
	else
		LOG(LOG_VERBOSE, "%s thread keeps the workers' priority: %s", who, strerror(errno));
}

void psrv_foreground_prio(pthread_t thr)
{
	struct sched_param sp = {.sched_priority = 0};

	/* fails harmlessly where lowering the nice fallback needs privilege */
	(void)pthread_setschedparam(thr, SCHED_OTHER, &sp);
}

static void *bg_main(void *arg)
{
	int64_t t0 = clock_wall_ms();
	int rc;

	(void)arg;
	wctx_register(-1);
	/* named as Redis names its child: redis-rdb-bgsave */
	psrv_background_prio("BGSAVE", "rdb-bgsave");
	kvmap_thread_register(); /* online from here to the end of the save */
	rc = save_now("background", true);
	kvmap_thread_unregister();
	pthread_mutex_lock(&ps.lock);
	ps.last_bg_ok = rc == 0;
	atomic_store_explicit(&ps.bg_failed, rc != 0, memory_order_relaxed); /* see bg_failed */
	ps.last_bg_secs = (clock_wall_ms() - t0 + 500) / 1000;
	ps.busy = false;
	ps.bg_running = false;
	pthread_mutex_unlock(&ps.lock);
	if (rc == 0)
		LOG(LOG_NOTICE, "Background saving terminated with success");
	else
		LOG(LOG_WARNING, "Background saving error");
	return NULL;
}

/* Joins a BGSAVE thread that has ended. Called with the lock held. */
static void reap_locked(void)
{
	if (ps.bg_joinable && !ps.bg_running) {
		pthread_join(ps.bg, NULL);
		ps.bg_joinable = false;
	}
}

/* Starts BGSAVE with the lock held: 0, or -1 with err. */
static int bgsave_locked(char *err, size_t errlen)
{
	int rc;

	reap_locked();
	if (ps.busy) {
		snprintf(err, errlen, "ERR Background save already in progress");
		return -1;
	}
	ps.last_try_s = clock_wall_ms() / 1000;
	ps.busy = ps.bg_running = true;
	ps.bg_start_ms = clock_wall_ms();
	atomic_store_explicit(&ps.cancel, 0, memory_order_relaxed); /* relaxed: see ss_next */
	rc = pthread_create(&ps.bg, NULL, bg_main, NULL);
	if (rc != 0) {
		ps.busy = ps.bg_running = false;
		ps.last_bg_ok = false;
		atomic_store_explicit(&ps.bg_failed, 1, memory_order_relaxed); /* see bg_failed */
		LOG(LOG_WARNING, "Can't save in background: thread: %s", strerror(rc));
		snprintf(err, errlen, "ERR Can't save in background: %s", strerror(rc));
		return -1;
	}
	ps.bg_joinable = true;
	LOG(LOG_NOTICE, "Background saving started by thread (kvsd saves without fork)");
	return 0;
}

bool psrv_bgsave_busy(void)
{
	bool b;

	pthread_mutex_lock(&ps.lock);
	b = ps.busy;
	pthread_mutex_unlock(&ps.lock);
	return b;
}

void psrv_bgsave_schedule(void)
{
	pthread_mutex_lock(&ps.lock);
	ps.scheduled = true;
	pthread_mutex_unlock(&ps.lock);
}

int psrv_bgsave(char *err, size_t errlen)
{
	int rc;

	pthread_mutex_lock(&ps.lock);
	rc = bgsave_locked(err, errlen);
	pthread_mutex_unlock(&ps.lock);
	return rc;
}

/* A synchronous save on this thread: -1 with err when one runs already. */
static int save_sync(const char *who, char *err, size_t errlen)
{
	int rc;

	pthread_mutex_lock(&ps.lock);
	reap_locked();
	if (ps.busy) {
		pthread_mutex_unlock(&ps.lock);
		snprintf(err, errlen, "ERR Background save already in progress");
		return -1;
	}
	ps.busy = true;
	pthread_mutex_unlock(&ps.lock);
	atomic_store_explicit(&ps.cancel, 0, memory_order_relaxed); /* relaxed: see ss_next */
	rc = save_now(who, false);
	pthread_mutex_lock(&ps.lock);
	ps.busy = false;
	if (rc == 0) {
		ps.last_bg_ok = true; /* rdbSave sets lastbgsave_status on success */
		atomic_store_explicit(&ps.bg_failed, 0, memory_order_relaxed); /* see bg_failed */
	}
	pthread_mutex_unlock(&ps.lock);
	if (rc != 0)
		snprintf(err, errlen, "ERR");
	return rc;
}

int psrv_save(char *err, size_t errlen)
{
	return save_sync("SAVE", err, errlen);
}

bool psrv_write_denied(void)
{
	struct rule r[MAX_RULES];

	/* relaxed: see bg_failed */
	if (!atomic_load_explicit(&ps.bg_failed, memory_order_relaxed))
		return false;
	return cfg_int(CFG_STOP_WRITES_ON_BGSAVE_ERROR) && read_rules(r) > 0;
}

long long psrv_lastsave(void)
{
	long long v;

	pthread_mutex_lock(&ps.lock);
	v = ps.lastsave_s;
	pthread_mutex_unlock(&ps.lock);
	return v;
}

/* ---- the cron: save rules (serverCron) */

void psrv_cron(int64_t now_ms)
{
	int64_t now = now_ms / 1000;
	uint64_t changes;
	char err[128];
	struct rule rules[MAX_RULES];
	int nrules;

	if (loading_active())
		return;	    /* as Redis's serverCron, which does not run while loading */
	aof_rewrite_cron(); /* before ps.lock: it asks psrv_bgsave_busy */
	nrules = read_rules(rules);
	pthread_mutex_lock(&ps.lock);
	reap_locked();
	if (ps.busy || (nrules == 0 && !ps.scheduled) || ps.shutdown_mode) {
		pthread_mutex_unlock(&ps.lock);
		return;
	}
	if (ps.scheduled) {
		ps.scheduled = false;
		(void)bgsave_locked(err, sizeof(err));
		pthread_mutex_unlock(&ps.lock);
		return;
	}
	changes = dirty_total() - ps.dirty_base;
	for (int i = 0; i < nrules; i++) {
		const struct rule *r = &rules[i];

		if (changes >= (uint64_t)r->changes && now - ps.lastsave_s > r->secs &&
		    (now - ps.last_try_s > BGSAVE_RETRY_S || ps.last_bg_ok)) {
			LOG(LOG_NOTICE, "%lld changes in %lld seconds. Saving...",
			    (long long)r->changes, r->secs);
			(void)bgsave_locked(err, sizeof(err));
			break;
		}
	}
	pthread_mutex_unlock(&ps.lock);
}

/* ---- shutdown */

static bool shutdown_wants_save(void)
{
	struct rule r[MAX_RULES];
	bool rules = read_rules(r) > 0;
	int mode;

	pthread_mutex_lock(&ps.lock);
	mode = ps.shutdown_mode;
	pthread_mutex_unlock(&ps.lock);
	return mode == 1 || (mode == 0 && rules);
}

/* Cancels a BGSAVE in progress and waits for its thread (Redis kills the
 * child and removes its temp file). */
static void cancel_bgsave(void)
{
	pthread_mutex_lock(&ps.lock);
	if (ps.bg_joinable) {
		if (ps.bg_running)
			LOG(LOG_WARNING, "There is a child saving an .rdb. Killing it!");
		atomic_store_explicit(&ps.cancel, 1, memory_order_relaxed); /* relaxed: ss_next */
		pthread_mutex_unlock(&ps.lock);
		pthread_join(ps.bg, NULL);
		pthread_mutex_lock(&ps.lock);
		ps.bg_joinable = false;
	}
	pthread_mutex_unlock(&ps.lock);
}

int psrv_shutdown_prepare(int mode)
{
	char err[64];

	/* as Redis's prepareForShutdown: while loading, never save (a partial
	 * dataset must not overwrite the file) */
	if (loading_active())
		mode = 2;
	pthread_mutex_lock(&ps.lock);
	ps.shutdown_mode = mode;
	pthread_mutex_unlock(&ps.lock);
	if (!shutdown_wants_save())
		return 0;
	cancel_bgsave();
	LOG(LOG_NOTICE, "Saving the final RDB snapshot before exiting.");
	if (save_sync("shutdown", err, sizeof(err)) != 0) {
		LOG(LOG_WARNING, "Error trying to save the DB, can't exit.");
		pthread_mutex_lock(&ps.lock);
		ps.shutdown_mode = 0;
		pthread_mutex_unlock(&ps.lock);
		return -1;
	}
	pthread_mutex_lock(&ps.lock);
	ps.shutdown_saved = true;
	pthread_mutex_unlock(&ps.lock);
	return 0;
}

int psrv_teardown(void)
{
	char err[64];
	bool need;

	if (ps.db == NULL)
		return 0;
	cancel_bgsave();
	need = shutdown_wants_save();
	if (need && ps.shutdown_saved && dirty_total() == ps.dirty_base)
		need = false; /* SHUTDOWN's save has every change */
	if (!need)
		return 0;
	if (!ps.shutdown_saved)
		LOG(LOG_NOTICE, "Saving the final RDB snapshot before exiting.");
	if (save_sync("shutdown", err, sizeof(err)) != 0) {
		LOG(LOG_WARNING, "Error trying to save the DB before exiting: the changes since "
				 "the last save are lost");
		return -1;
	}
	return 0;
}

/* ---- loading */

static void on_aux(void *arg, const char *k, size_t kl, const char *val, size_t vl)
{
	char v[32]; /* the numbers, NUL-terminated */

	(void)arg;
	snprintf(v, sizeof(v), "%.*s", (int)(vl < sizeof(v) ? vl : sizeof(v) - 1), val);
	if (kl == 9 && !memcmp(k, "redis-ver", 9)) {
		LOG(LOG_NOTICE, "Loading RDB produced by version %.*s", (int)vl, val);
	} else if (kl == 5 && !memcmp(k, "ctime", 5)) {
		long long t = strtoll(v, NULL, 10), age = clock_wall_ms() / 1000 - t;

		(void)vl;
		LOG(LOG_NOTICE, "RDB age %lld seconds", age < 0 ? 0 : age);
	} else if (kl == 8 && !memcmp(k, "used-mem", 8)) {
		LOG(LOG_NOTICE, "RDB memory usage when created %.2f Mb",
		    (double)strtoll(v, NULL, 10) / (1024 * 1024));
		loading_set_rdb_used_mem(strtoll(v, NULL, 10));
	}
}

/* Every loading-process-events-interval-bytes of input: INFO's progress
 * (loading_loaded_bytes, rdb_last_load_keys_loaded as Redis counts it
 * live), and a log line at most once a second. */
static void on_progress(void *arg, uint64_t off, uint64_t size, long long keys)
{
	int64_t *next = arg, now = clock_mono_ms();

	loading_set_loaded(off);
	pthread_mutex_lock(&ps.lock);
	ps.load_loaded = keys;
	pthread_mutex_unlock(&ps.lock);
	if (now < *next)
		return;
	*next = now + 1000;
	LOG(LOG_NOTICE, "Loading RDB: %.1f%% of %llu bytes, %lld keys loaded",
	    size ? 100.0 * (double)off / (double)size : 0.0, (unsigned long long)size, keys);
}

uint64_t psrv_load_size(void)
{
	char *fname = cfg_str_dup(CFG_DBFILENAME);
	struct stat sb;
	uint64_t n = fname && stat(fname, &sb) == 0 ? (uint64_t)sb.st_size : 0;

	free(fname);
	return n;
}

long long psrv_load_used_mem(void)
{
	char *fname = cfg_str_dup(CFG_DBFILENAME);
	char v[32];
	/* the loading thread's on_aux sets the same value again */
	long long m =
	    fname && rdb_peek_aux(fname, "used-mem", v, sizeof(v)) ? strtoll(v, NULL, 10) : 0;

	free(fname);
	return m;
}

int psrv_load(char *err, size_t errlen)
{
	char *fname = cfg_str_dup(CFG_DBFILENAME);
	int64_t t0 = clock_mono_us(), next = clock_mono_ms() + 1000;
	struct rdb_load_opts o = {.path = fname,
				  .checksum = cfg_int(CFG_RDBCHECKSUM) != 0,
				  .now_ms = clock_wall_ms(),
				  .aux = on_aux,
				  .progress = on_progress,
				  .arg = &next,
				  /* decode on as many threads as will serve clients */
				  .threads = (int)cfg_int(CFG_THREADS),
				  .parallel_min = 1 << 20,
				  .progress_bytes =
				      (uint64_t)cfg_int(CFG_LOADING_PROCESS_EVENTS_INTERVAL_BYTES),
				  .key_delay = (int)cfg_int(CFG_KEY_LOAD_DELAY),
				  .cancel = loading_cancel_flag(),
				  .function = script_func_rdb_load};
	struct rdb_load_stats st;
	struct stat sb;
	int rc;

	script_func_flush(); /* Redis's emptyData: the file's libraries replace all */

	pthread_mutex_lock(&ps.lock);
	ps.load_loaded = ps.load_expired = 0; /* Redis's startLoading */
	pthread_mutex_unlock(&ps.lock);
	if (stat(fname, &sb) != 0)
		sb.st_size = 0; /* loading_total_bytes: psrv_load_size, before the load */
	if (sb.st_size > 0)
		LOG(LOG_NOTICE, "Loading %s (%lld bytes) on %d thread%s", fname,
		    (long long)sb.st_size,
		    (size_t)sb.st_size >= o.parallel_min && o.threads > 1 ? o.threads : 1,
		    (size_t)sb.st_size >= o.parallel_min && o.threads > 1 ? "s" : "");
	rc = rdb_load(ps.db, &o, &st, err, errlen);

	if (rc == -ENOENT) {
		char *cwd = cfg_str_dup(CFG_DIR);

		/* where Redis logs nothing: say it, so a missing file is seen */
		LOG(LOG_NOTICE, "No RDB file %s in %s: the dataset starts empty", fname, cwd);
		free(cwd);
		free(fname);
		return 0;
	}
	if (rc != 0) {
		free(fname);
		return rc == -ECANCELED ? rc : -1;
	}
	loading_set_loaded((uint64_t)sb.st_size);
	if (!st.checksum_found && st.version >= 5)
		LOG(LOG_WARNING, "RDB file was saved with checksum disabled: no check performed.");
	LOG(LOG_NOTICE, "Done loading RDB, keys loaded: %lld, keys expired: %lld.", st.keys,
	    st.expired);
	LOG(LOG_NOTICE, "DB loaded from disk: %.3f seconds", (double)(clock_mono_us() - t0) / 1e6);
	pthread_mutex_lock(&ps.lock);
	ps.load_loaded = st.keys;
	ps.load_expired = st.expired;
	pthread_mutex_unlock(&ps.lock);
	free(fname);
	return 0;
}

/* ---- INFO persistence (Redis 7.0.15's fields, in its order) */

size_t psrv_info(char *buf, size_t len)
{
	int n;
	int64_t now = clock_wall_ms();
	struct aof_rewrite_info ri;

	aof_rewrite_info(&ri); /* not under ps.lock: rw_lock is the AOF's */
	pthread_mutex_lock(&ps.lock);
	n = snprintf(
	    buf, len,
	    "# Persistence\r\nloading:%d\r\nasync_loading:0\r\ncurrent_cow_peak:0\r\n"
	    "current_cow_size:0\r\ncurrent_cow_size_age:0\r\ncurrent_fork_perc:0.00\r\n"
	    "current_save_keys_processed:%lld\r\ncurrent_save_keys_total:%lld\r\n"
	    "rdb_changes_since_last_save:%llu\r\nrdb_bgsave_in_progress:%d\r\n"
	    "rdb_last_save_time:%lld\r\nrdb_last_bgsave_status:%s\r\n"
	    "rdb_last_bgsave_time_sec:%lld\r\nrdb_current_bgsave_time_sec:%lld\r\n"
	    "rdb_saves:%lld\r\nrdb_last_cow_size:0\r\nrdb_last_load_keys_expired:%lld\r\n"
	    "rdb_last_load_keys_loaded:%lld\r\n"
	    "aof_enabled:%d\r\naof_rewrite_in_progress:%d\r\naof_rewrite_scheduled:%d\r\n"
	    "aof_last_rewrite_time_sec:%lld\r\naof_current_rewrite_time_sec:%lld\r\n"
	    "aof_last_bgrewrite_status:%s\r\naof_rewrites:%lld\r\n"
	    "aof_rewrites_consecutive_failures:%d\r\naof_last_write_status:ok\r\n"
	    "aof_last_cow_size:0\r\nmodule_fork_in_progress:0\r\nmodule_fork_last_cow_size:0\r\n",
	    loading_info_flag(),
	    /* relaxed: statistics */
	    ps.busy ? atomic_load_explicit(&ps.keys_done, memory_order_relaxed) : 0,
	    ps.busy ? atomic_load_explicit(&ps.keys_total, memory_order_relaxed) : 0,
	    (unsigned long long)(dirty_total() - ps.dirty_base), ps.bg_running ? 1 : 0,
	    (long long)ps.lastsave_s, ps.last_bg_ok ? "ok" : "err", ps.last_bg_secs,
	    ps.bg_running ? (long long)((now - ps.bg_start_ms) / 1000) : -1LL, ps.saves,
	    ps.load_expired, ps.load_loaded, aof_enabled() ? 1 : 0, ri.running ? 1 : 0,
	    ri.scheduled ? 1 : 0, ri.last_secs, ri.current_secs, ri.last_ok ? "ok" : "err",
	    ri.count, ri.fails);
	pthread_mutex_unlock(&ps.lock);
	if (n >= 0 && (size_t)n < len)
		n += (int)aof_info(buf + n, len - (size_t)n);
	if (n >= 0 && (size_t)n < len)
		n += (int)loading_info(buf + n, len - (size_t)n);
	return n < 0 ? 0 : (size_t)n >= len ? len - 1 : (size_t)n;
}
