/*
 * aof.c — the AOF's set-up, its switches at run time and its teardown
 * (aof.h), and the state they share with aof_files.c, aof_writer.c,
 * aof_rewrite.c and aof_load.c (aof_state.h); reading the directory's
 * manifest (aof_open_dir) and creating a new directory happen here.
 */
#include "server/aof.h"
#include "server/loading.h"
#include "server/aof_internal.h"
#include "server/aof_state.h"
#include "server/aof_base.h"
#include "concurrency/clock.h"
#include "concurrency/ebr.h"
#include "concurrency/mem.h"
#include "concurrency/wctx.h"
#include "net/conn.h"
#include "net/net.h"
#include "persist/aof_format.h"
#include "persist/crc64.h"
#include "persist/rdb_file.h"
#include "storage/snap.h"
#include "server/cmd.h"
#include "server/cmd_docs.h"
#include "server/config.h"
#include "server/keyspec.h"
#include "server/log.h"
#include "server/script.h"
#include "server/multi.h"
#include "server/session.h"
#include "server/persist_srv.h"
#include "storage/kvmap.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

struct aof_state aof = {
    .fd = -1, .last_db = -1, .closed = true, .rw_last_secs = -1, .rw_last_ok = true};

bool aof_is_loader(const struct conn *c)
{
	/* relaxed: net_adopt stores it before the hand-off to the worker,
	 * whose inbox pop (acquire) orders it before every run of the loader's
	 * connection; any other connection only compares it */
	uint64_t id = atomic_load_explicit(&aof.loader_id, memory_order_relaxed);

	return id != 0 && conn_id(c) == id;
}

/* ---- set-up */

/* aof_set_appendonly's target (the config's apply, on a worker) */
static int switch_apply(bool on, char *why, size_t whylen)
{
	if (on)
		return aof_switch_on(aof_gate_held(), why, whylen);
	aof_switch_off(aof_gate_held());
	return 0;
}

static int thread_start(int fd, bool precut);

static int create_new(char *err, size_t errlen)
{
	char name[512], *rdb;
	size_t len;
	int rc, fd;

	/* aof-use-rdb-preamble no: an empty command-form base, as Redis 7.0 */
	bool rdb_base = cfg_int(CFG_AOF_USE_RDB_PREAMBLE) != 0;

	snprintf(name, sizeof(name), "%s.1.base.%s", aof.fname, rdb_base ? "rdb" : "aof");
	rdb = rdb_base ? aof_empty_rdb(&len) : mem_alloc(1);
	if (!rdb_base)
		len = 0;
	rc = aof_write_file_atomic(name, rdb, len);
	mem_free(rdb);
	if (rc < 0) {
		snprintf(err, errlen, "Can't write the AOF base file %s: %s", name, strerror(-rc));
		return rc;
	}
	aof_manifest_add(&aof.man, name, 1, 'b');
	snprintf(name, sizeof(name), "%s.1.incr.aof", aof.fname);
	{
		char *p = aof_path_of(name);

		fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		mem_free(p);
	}
	if (fd < 0) {
		snprintf(err, errlen, "Can't create the AOF file %s: %s", name, strerror(errno));
		return -errno;
	}
	close(fd);
	aof_manifest_add(&aof.man, name, 1, 'i');
	rc = aof_write_manifest(&aof.man, err, errlen);
	if (rc == 0)
		LOG(LOG_NOTICE,
		    "Creating AOF base file %s.1.base.%s and incr file %s.1.incr.aof: the dataset "
		    "starts empty",
		    aof.fname, rdb_base ? "rdb" : "aof", aof.fname);
	return rc;
}

/* Whether a file starts like an RDB file (Redis's base test). */
static int starts_with_redis(const char *name, bool *yes)
{
	char *path = aof_path_of(name), magic[5];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	mem_free(path);
	if (fd < 0)
		return -errno;
	n = read(fd, magic, 5);
	close(fd);
	*yes = n == 5 && memcmp(magic, "REDIS", 5) == 0;
	return 0;
}

/* Sets aof.dir and aof.fname from the config, creates the directory and
 * reads its manifest into aof.man: 0, -ENOENT when there is none (aof.man
 * stays empty), or -errno with the reason in err. The main thread at
 * start-up, or the switch-on (rw_lock held). */
int aof_open_dir(char *err, size_t errlen)
{
	char mname[512], *mpath, *text;
	size_t len;
	int rc;

	{
		char *d = cfg_str_dup(CFG_APPENDDIRNAME), *f = cfg_str_dup(CFG_APPENDFILENAME);

		aof.dir = mem_strndup(d, strlen(d));
		aof.fname = mem_strndup(f, strlen(f));
		free(d);
		free(f);
	}
	aof.man_loaded = true;
	if (mkdir(aof.dir, 0755) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "Can't open or create append-only dir %s: %s", aof.dir,
			 strerror(errno));
		return -errno;
	}
	snprintf(mname, sizeof(mname), "%s.manifest", aof.fname);
	mpath = aof_path_of(mname);
	rc = aof_read_file(mpath, &text, &len);
	mem_free(mpath);
	if (rc == -ENOENT)
		return rc;
	if (rc < 0) {
		snprintf(err, errlen, "Can't read the AOF manifest %s: %s", mname, strerror(-rc));
		return rc;
	}
	rc = aof_manifest_parse(text, len, &aof.man, err, errlen);
	mem_free(text);
	if (rc < 0) {
		size_t l = strlen(err);

		snprintf(err + l, errlen - l, " (manifest %s/%s)", aof.dir, mname);
		return rc;
	}
	return 0;
}

int aof_setup(struct db *db, char *err, size_t errlen)
{
	char mname[512];
	int rc;

	pthread_mutex_init(&aof.lock, NULL);
	pthread_mutex_init(&aof.rw_lock, NULL);
	pthread_mutex_init(&aof.sw_lock, NULL);
	aof.db = db;
	pthread_cond_init(&aof.work, NULL);
	pthread_cond_init(&aof.done, NULL);
	aof.held.prev = aof.held.next = &aof.held;
	for (unsigned i = 0; i < AOF_STRIPES; i++)
		pthread_mutex_init(&aof.stripe[i], NULL);
	{
		pthread_rwlockattr_t a;

		pthread_rwlockattr_init(&a);
		pthread_rwlockattr_setkind_np(&a, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
		pthread_rwlock_init(&aof.gate, &a);
		pthread_rwlockattr_destroy(&a);
	}
	/* relaxed: see aof_internal.h */
	atomic_store_explicit(&aof_enabled_g, cfg_int(CFG_APPENDONLY) != 0, memory_order_relaxed);
	atomic_store_explicit(&aof_fsync_g, (int)cfg_int(CFG_APPENDFSYNC), memory_order_relaxed);
	aof_set_group_wait(cfg_int(CFG_AOF_GROUP_WAIT_US));
	aof_set_auto_rewrite(cfg_int(CFG_AUTO_AOF_REWRITE_PERCENTAGE),
			     cfg_int(CFG_AUTO_AOF_REWRITE_MIN_SIZE));
	aof.qs = ebr_create(0);
	aof_switch_fn = switch_apply;
	if (!aof_enabled())
		return 0;
	aof.state = AOF_ON;
	rc = aof_open_dir(err, errlen);
	if (rc == -ENOENT)
		return create_new(err, errlen);
	if (rc < 0)
		return rc;
	snprintf(mname, sizeof(mname), "%s.manifest", aof.fname);
	/* a base alone (BGREWRITEAOF while appendonly was no) loads, and
	 * aof_start adds a first incr file, as Redis's
	 * aofOpenIfNeededOnServerStart */
	if (aof.man.nincr == 0 && !aof.man.base.name) {
		snprintf(err, errlen, "The AOF manifest %s names no file", mname);
		return -EINVAL;
	}
	aof.need_replay = true;
	if (aof.man.base.name) {
		rc = starts_with_redis(aof.man.base.name, &aof.base_is_rdb);
		if (rc < 0) {
			snprintf(err, errlen, "Can't open the AOF base file %s: %s",
				 aof.man.base.name, strerror(-rc));
			return rc;
		}
	}
	return 0; /* aof_start loads the files, on the loading thread */
}

/* The base and incremental files' total size (INFO loading_total_bytes). */
static uint64_t files_size(void)
{
	uint64_t n = 0;

	for (size_t i = 0; i <= aof.man.nincr; i++) {
		const char *name = i < aof.man.nincr ? aof.man.incr[i].name : aof.man.base.name;
		char *p = name ? aof_path_of(name) : NULL;
		struct stat st;

		if (p && stat(p, &st) == 0)
			n += (uint64_t)st.st_size;
		mem_free(p);
	}
	return n;
}

uint64_t aof_load_size(void)
{
	return aof_enabled() && aof.need_replay ? files_size() : 0;
}

int aof_start(char *err, size_t errlen)
{
	int rc;

	/* relaxed: see aof_internal.h; from here on appendonly is settled */
	atomic_store_explicit(&aof_configured_g, true, memory_order_relaxed);
	if (!aof_enabled())
		return 0;
	if (aof.need_replay) { /* loading_total_bytes: aof_load_size, before the load */
		if (aof.base_is_rdb)
			rc = aof_load_rdb_base(aof.db, aof.man.base.name, err, errlen);
		else
			rc = 0;
		if (rc == 0)
			rc = aof_load_all(err, errlen);
		if (rc < 0)
			return rc;
	}
	if (aof.man.nincr == 0) { /* a base alone: the first incr file */
		char name[512];

		char *p;
		int fd;

		snprintf(name, sizeof(name), "%s.1.incr.aof", aof.fname);
		p = aof_path_of(name);
		fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		mem_free(p);
		if (fd < 0) {
			snprintf(err, errlen, "Can't create the AOF file %s: %s", name,
				 strerror(errno));
			return -errno;
		}
		close(fd); /* before the manifest names it */
		aof_manifest_add(&aof.man, name, 1, 'i');
		rc = aof_write_manifest(&aof.man, err, errlen);
		if (rc < 0)
			return rc;
	}
	{
		char *p = aof_path_of(aof.man.incr[aof.man.nincr - 1].name);

		aof.fd = open(p, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
		mem_free(p);
	}
	if (aof.fd < 0) {
		snprintf(err, errlen, "Can't open the append-only file %s: %s",
			 aof.man.incr[aof.man.nincr - 1].name, strerror(errno));
		return -errno;
	}
	aof.cur_base = aof.cur_from = 0;
	for (size_t i = 0; i <= aof.man.nincr; i++) {
		const char *name = i < aof.man.nincr ? aof.man.incr[i].name : aof.man.base.name;
		char *p = name ? aof_path_of(name) : NULL;
		struct stat st;

		if (p && stat(p, &st) == 0) {
			aof.cur_base += (uint64_t)st.st_size;
			if (i == aof.man.nincr)
				aof.base_size = (uint64_t)st.st_size;
		}
		mem_free(p);
	}
	aof.state = AOF_ON;
	if (thread_start(aof.fd, false) != 0) {
		snprintf(err, errlen, "Can't start the AOF thread");
		return -EAGAIN;
	}
	/* relaxed: see aof_internal.h */
	atomic_store_explicit(&aof_started_g, true, memory_order_relaxed);
	return 0;
}

/* ---- switching at run time (aof.h, "Switching") */

/* Starts the AOF thread writing to fd (-1: no file before the switch-on's
 * cut; precut: records are dropped until then). sw_lock held, or start-up.
 * 0 or -EAGAIN. */
static int thread_start(int fd, bool precut)
{
	pthread_mutex_lock(&aof.lock);
	aof.len = 0;
	aof.stop = false;
	aof.closed = false;
	aof.precut = precut;
	if (precut) { /* INFO aof_current_size: 0 until the first base, as Redis */
		aof.cur_base = aof.base_size = 0;
		aof.cur_from = aof.appended;
	}
	aof.switch_pending = false;
	aof.last_db = -1;
	aof.idle = aof.gathering = false;
	pthread_mutex_unlock(&aof.lock);
	aof.fd = fd; /* the thread's from its creation on */
	if (pthread_create(&aof.thr, NULL, aof_thread, NULL) != 0) {
		pthread_mutex_lock(&aof.lock);
		aof.closed = true;
		pthread_mutex_unlock(&aof.lock);
		aof.fd = -1;
		return -EAGAIN;
	}
	aof.thr_running = true;
	return 0;
}

/* Stops the AOF thread once it wrote (and fsynced) what is queued, then
 * fsyncs and closes its file (Redis's stopAppendOnly). Records appended
 * from the stop on are dropped. sw_lock held (not rw_lock: the thread's
 * rewrite check takes it). */
static void thread_stop(void)
{
	if (!aof.thr_running)
		return;
	pthread_mutex_lock(&aof.lock);
	aof.stop = true;
	aof.closed = true;
	pthread_cond_broadcast(&aof.work);
	pthread_cond_broadcast(&aof.done);
	pthread_mutex_unlock(&aof.lock);
	pthread_join(aof.thr, NULL);
	aof.thr_running = false;
	if (aof.fd >= 0) {
		if (fsync(aof.fd) < 0)
			LOG(LOG_WARNING, "Fail to fsync the AOF file: %s", strerror(errno));
		close(aof.fd);
		aof.fd = -1;
	}
}

int aof_switch_on(bool in_exec, char *why, size_t whylen)
{
	char err[512] = "";
	int rc = 0;

	pthread_mutex_lock(&aof.sw_lock);
	pthread_mutex_lock(&aof.rw_lock);
	rc = aof.state != AOF_OFF || aof.rw_closed;
	pthread_mutex_unlock(&aof.rw_lock);
	if (rc) {
		pthread_mutex_unlock(&aof.sw_lock);
		return 0;
	}
	if (!aof.man_loaded) {
		rc = aof_open_dir(err, sizeof(err));
		if (rc == -ENOENT)
			rc = 0;
		if (rc < 0) { /* read again at the next try */
			aof_manifest_free(&aof.man);
			mem_free(aof.dir);
			mem_free(aof.fname);
			aof.dir = aof.fname = NULL;
			aof.man_loaded = false;
		}
	}
	if (rc == 0 && thread_start(-1, true) != 0) {
		snprintf(err, sizeof(err), "Can't start the AOF thread");
		rc = -EAGAIN;
	}
	if (rc < 0) {
		/* Redis: the rewrite failed before it began (INFO's status) */
		pthread_mutex_lock(&aof.rw_lock);
		aof.rw_last_ok = false;
		pthread_mutex_unlock(&aof.rw_lock);
		pthread_mutex_unlock(&aof.sw_lock);
		LOG(LOG_WARNING, "Unable to turn on AOF: %s", err);
		snprintf(why, whylen, "Unable to turn on AOF. Check server logs.");
		return -1;
	}
	pthread_mutex_lock(&aof.rw_lock);
	aof.state = AOF_WAIT_REWRITE;
	/* relaxed: read under rw_lock, or by aof_rw_cancelled (a request) */
	atomic_store_explicit(&aof.gen, atomic_load_explicit(&aof.gen, memory_order_relaxed) + 1,
			      memory_order_relaxed);
	/* relaxed: INFO's flag (aof_internal.h) */
	atomic_store_explicit(&aof_enabled_g, true, memory_order_relaxed);
	if (aof.rw_running || in_exec || psrv_bgsave_busy()) {
		/* Redis: scheduled, started by the AOF thread's check once
		 * nothing is in the way */
		LOG(LOG_WARNING,
		    "AOF was enabled but there is already another background operation (or a "
		    "transaction). An AOF background was scheduled to start when possible.");
		aof.rw_scheduled = true;
	} else if (aof_rewrite_spawn(err, sizeof(err)) != 0) {
		rc = -1;
	}
	pthread_mutex_unlock(&aof.rw_lock);
	pthread_mutex_unlock(&aof.sw_lock);
	if (rc < 0) {
		aof_switch_off(in_exec);
		LOG(LOG_WARNING, "Redis needs to enable the AOF but can't trigger a background "
				 "AOF rewrite operation.");
		snprintf(why, whylen, "Unable to turn on AOF. Check server logs.");
		return -1;
	}
	LOG(LOG_NOTICE, "appendonly switched on: writing the AOF base while logging new writes");
	return 0;
}

/* The switch-off waits this long at most for the gate and for an
 * abandoned rewrite: it runs under the config's set lock, which a CONFIG
 * SET inside EXEC (holding the gate, maybe making the rewrite wait) may be
 * waiting for. Normally both come in microseconds. */
#define SWITCH_WAIT_NS (500 * 1000 * 1000L)

void aof_switch_off(bool gate_held)
{
	bool join = false;

	pthread_mutex_lock(&aof.sw_lock);
	pthread_mutex_lock(&aof.rw_lock);
	if (aof.state == AOF_OFF) {
		pthread_mutex_unlock(&aof.rw_lock);
		pthread_mutex_unlock(&aof.sw_lock);
		return;
	}
	/* Redis kills the rewrite child and waits for it: we wait for the
	 * thread, which gives up at its next key. Not while we hold the gate
	 * (inside EXEC): the rewrite may be waiting for it; it then ends by
	 * itself a little later. */
	if (aof.rw_joinable && !gate_held) {
		join = true;
		aof.rw_joinable = false;
	}
	aof.state = AOF_OFF;
	aof.rw_scheduled = false;
	if (aof.rw_running && !join)
		aof.rw_abandoned = true; /* nobody waits for it below */
	/* relaxed: a running rewrite sees a new generation at its next step
	 * and gives up (aof_rw_cancelled); the started flag below is written
	 * under rw_lock, as the switch-on's rewrite writes it */
	atomic_store_explicit(&aof.gen, atomic_load_explicit(&aof.gen, memory_order_relaxed) + 1,
			      memory_order_relaxed);
	atomic_store_explicit(&aof_started_g, false, memory_order_relaxed);
	atomic_store_explicit(&aof_enabled_g, false, memory_order_relaxed);
	pthread_mutex_unlock(&aof.rw_lock);
	if (join && !aof_rw_join_within(SWITCH_WAIT_NS)) {
		LOG(LOG_WARNING, "The abandoned AOF rewrite is still ending");
		pthread_mutex_lock(&aof.rw_lock);
		aof.rw_abandoned = aof.rw_running;
		pthread_mutex_unlock(&aof.rw_lock);
	}
	/* Every write that saw the AOF on holds the gate until its record is
	 * queued: once we had it exclusively, each is queued; a later one
	 * sees the flag off (the gate's unlock and lock order it), or its
	 * record is dropped by the closed queue. Inside EXEC we hold it. */
	if (!gate_held) {
		struct timespec ts = aof_deadline_in(SWITCH_WAIT_NS);

		kvmap_thread_offline();
		if (pthread_rwlock_timedwrlock(&aof.gate, &ts) == 0)
			pthread_rwlock_unlock(&aof.gate);
		else /* their records are dropped by the closed queue */
			LOG(LOG_WARNING, "Switching appendonly off without waiting for the "
					 "writes in flight");
		kvmap_thread_online();
	}
	/* not under rw_lock: the AOF thread's rewrite check takes it */
	thread_stop();
	pthread_mutex_unlock(&aof.sw_lock);
	LOG(LOG_NOTICE, "appendonly switched off: the AOF was fsynced and closed");
}

void aof_qs_register(void)
{
	struct wctx *w = wctx_self();

	if (aof.qs == NULL || w->aof_qs != NULL)
		return;
	w->aof_qs = ebr_register(aof.qs);
	if (w->aof_qs == NULL)
		abort();
	ebr_online(w->aof_qs);
}

void aof_qs_unregister(void)
{
	struct wctx *w = wctx_self();

	if (w->aof_qs == NULL)
		return;
	ebr_unregister(w->aof_qs);
	w->aof_qs = NULL;
}

void aof_qs_offline(void)
{
	struct wctx *w = wctx_self();

	if (w->aof_qs)
		ebr_offline(w->aof_qs);
	/* the worker leaves its batch of tasks (it polls or parks): the
	 * records they appended go to the next fsync together */
	if (w->aof_unkicked)
		aof_batch_end();
}

void aof_qs_online(void)
{
	struct ebr_thread *t = wctx_self()->aof_qs;

	if (t)
		ebr_online(t);
}

void aof_teardown(void)
{
	pthread_mutex_lock(&aof.rw_lock);
	aof.rw_closed = true; /* the AOF thread's auto-rewrite starts none now */
	if (aof.rw_running && !aof.rw_abandoned && !aof.rw_shutdown &&
	    aof.state != AOF_WAIT_REWRITE) {
		/* a SIGTERM during BGREWRITEAOF (or an automatic rewrite): as
		 * Redis kills its rewrite child, the rewrite gives up at its next
		 * key and deletes its files (the manifest stays the last one
		 * written: it names every record) rather than finishing a base
		 * nobody will use. Switching on is left to finish: its base is
		 * the only copy of the dataset the directory will have. relaxed:
		 * as the switch-off's (aof_rw_cancelled) */
		LOG(LOG_WARNING, "There is a rewrite of the AOF running. Abandoning it!");
		aof.rw_shutdown = true;
		atomic_store_explicit(&aof.gen,
				      atomic_load_explicit(&aof.gen, memory_order_relaxed) + 1,
				      memory_order_relaxed);
	}
	if (aof.rw_joinable) {
		pthread_mutex_unlock(&aof.rw_lock);
		kvmap_thread_offline();
		psrv_foreground_prio(aof.rw_thr); /* waited for now: not idle-class */
		pthread_join(aof.rw_thr, NULL);	  /* a rewrite finishes first */
		kvmap_thread_online();
		pthread_mutex_lock(&aof.rw_lock);
		aof.rw_joinable = false;
	}
	if (aof.state == AOF_WAIT_REWRITE)
		LOG(LOG_WARNING, "Shutting down while appendonly was being switched on: the "
				 "AOF directory was left as it was");
	pthread_mutex_unlock(&aof.rw_lock);
	pthread_mutex_lock(&aof.sw_lock);
	thread_stop(); /* not under rw_lock: the AOF thread's check takes it */
	pthread_mutex_unlock(&aof.sw_lock);
	/* relaxed: see aof_internal.h */
	atomic_store_explicit(&aof_started_g, false, memory_order_relaxed);
	aof_manifest_free(&aof.man);
	mem_free(aof.buf);
	aof.buf = NULL;
	mem_free(aof.ibuf);
	aof.ibuf = NULL;
	aof.icap = 0;
	mem_free(aof.dir);
	mem_free(aof.fname);
	aof.dir = aof.fname = NULL;
	aof.man_loaded = false;
	if (aof.qs) /* every worker unregistered (net_teardown ran) */
		ebr_destroy(&aof.qs);
}

bool aof_gate_held(void)
{
	const struct aof_locks *l = wctx_self()->aof_cmd;

	return l != NULL && l->all;
}

void aof_fsync_stats(struct aof_fsync_stats *st)
{
	/* Each count only grows and each is stored after the one it trails
	 * (aof_state.h), so reading them against the pipeline's direction
	 * gives fsynced <= written <= appended. Read appended first (as
	 * before) and written could pass it in between: a CI run's ASan build
	 * answered appended 1183769, written 1183977. */
	/* acquire: pairs with fsync_note's release (written came before) */
	st->fsynced = atomic_load_explicit(&aof.fsynced, memory_order_acquire);
	/* relaxed: a count of fdatasyncs, not ordered with the offsets */
	st->nfsync = atomic_load_explicit(&aof.nfsync, memory_order_relaxed);
	/* acquire: pairs with the writer's release (the batch was taken
	 * under aof.lock before it, so the lock below sees appended >= it) */
	st->written = atomic_load_explicit(&aof.written, memory_order_acquire);
	pthread_mutex_lock(&aof.lock);
	st->appended = aof.appended;
	pthread_mutex_unlock(&aof.lock);
}
