/*
 * aof_rewrite.c — BGREWRITEAOF without fork (aof.h): the rewrite thread,
 * the new base written from a storage/snap.h snapshot (RDB, or commands
 * with aof-use-rdb-preamble no: aof_base.c), the manifest that then names
 * it, the rewrite with appendonly no (a base alone), its scheduling behind
 * a BGSAVE, and SHUTDOWN's decision about a running rewrite. State: aof's
 * rw_* fields under aof.rw_lock (aof_state.h); the rewrite thread alone
 * owns rw_src and rw_gen.
 */
#include "server/aof.h"
#include "server/loading.h"
#include "server/aof_internal.h"
#include "server/aof_state.h"
#include "server/aof_base.h"
#include "concurrency/clock.h"
#include "concurrency/ebr.h"
#include "concurrency/lend.h"
#include "concurrency/mem.h"
#include "concurrency/wctx.h"
#include "net/conn.h"
#include "net/net.h"
#include "persist/aof_format.h"
#include "persist/autosync.h"
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

/* ---- BGREWRITEAOF without fork */

static struct rw_src {
	struct db_snap *s;
	rdb_entry_fn fn; /* the writer's, for rs_entry */
	void *fnarg;
} rw_src;

static int rs_databases(void *arg)
{
	return db_snap_databases(((struct rw_src *)arg)->s);
}

static long long rs_keys(void *arg, int i)
{
	return db_snap_keys(((struct rw_src *)arg)->s, i);
}

static long long rs_expires(void *arg, int i)
{
	return db_snap_expires(((struct rw_src *)arg)->s, i);
}

/* Each key: none more once switched off (the switch-off waits for the
 * rewrite's end, which must come soon however large the batch) */
static void rs_entry(void *arg, const struct kv_entry *e)
{
	struct rw_src *r = arg;

	lend_beat(); /* progress, for the workers that lend (concurrency/lend.h) */
	if (!aof_rw_cancelled())
		r->fn(r->fnarg, e);
}

static bool rs_next(void *arg, int i, rdb_entry_fn fn, void *fnarg)
{
	struct rw_src *r = arg;

	/* switched off: the file written so far is thrown away (rewrite_run) */
	if (aof_rw_cancelled())
		return false;
	r->fn = fn;
	r->fnarg = fnarg;
	return db_snap_next(r->s, i, rs_entry, r);
}

int aof_write_manifest(const struct aof_manifest *m, char *err, size_t errlen)
{
	char name[512], *text;
	size_t len;
	int rc;

	text = aof_manifest_format(m, &len);
	snprintf(name, sizeof(name), "%s.manifest", aof.fname);
	rc = aof_write_file_atomic(name, text, len);
	mem_free(text);
	if (rc < 0)
		snprintf(err, errlen, "Can't write the AOF manifest %.200s: %s", name,
			 strerror(-rc));
	return rc;
}

static void unlink_name(const char *name)
{
	char *p = aof_path_of(name);

	unlink(p);
	mem_free(p);
}

/* The generation the running rewrite belongs to: set by aof_rewrite_spawn
 * before the thread starts, read by the rewrite thread. */
static uint64_t rw_gen;

bool aof_rw_cancelled(void)
{
	/* relaxed: a request to give up; what the rewrite then touches is
	 * under rw_lock or lock */
	return atomic_load_explicit(&aof.gen, memory_order_relaxed) != rw_gen;
}

static bool rw_cancelled_cb(void *arg)
{
	(void)arg;
	return aof_rw_cancelled();
}

/* Writes the snapshot as the base file tmp_name (RDB, aof-base 1, or
 * aof_base.c's command form); its size in *bytes. 0, or -1 with err. */
static int write_base(const char *tmp_name, bool rdb_base, struct rdb_save_stats *st,
		      uint64_t *bytes, char *err, size_t errlen)
{
	struct rdb_source src = {.databases = rs_databases,
				 .keys = rs_keys,
				 .expires = rs_expires,
				 .next = rs_next,
				 .arg = &rw_src};
	struct rdb_save_opts o = {
	    .compress = cfg_int(CFG_RDBCOMPRESSION) != 0,
	    .checksum = cfg_int(CFG_RDBCHECKSUM) != 0,
	    .aof_base = true,
	    .used_mem = 0,
	    .key_delay = (int)cfg_int(CFG_RDB_KEY_SAVE_DELAY),
	    /* aof-rewrite-incremental-fsync; the thread lends (below) */
	    .autosync = cfg_int(CFG_AOF_REWRITE_INCREMENTAL_FSYNC) ? AUTOSYNC_BYTES : 0,
	    .io_wait = lend_io_wait};
	char *p = aof_path_of(tmp_name), **libs;
	size_t *lib_lens;
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644), rc, nlibs;
	struct stat bst;

	o.now_ms = clock_wall_ms();
	nlibs = script_func_codes(&libs, &lib_lens);
	o.libs = libs;
	o.lib_lens = lib_lens;
	o.nlibs = nlibs;
	/* on the idle-class rewrite thread: workers lend their core while it
	 * starves (lend.h); not over the fsync */
	lend_begin(LEND_AOF);
	rc = fd < 0	? -1
	     : rdb_base ? rdb_save(fd, &src, &o, st, err, errlen)
			: aof_base_write(fd, &src, &o, st, err, errlen);
	lend_end();
	script_func_codes_free(libs, lib_lens, nlibs);
	/* abandoned: the file is deleted, no fsync (a shutdown waits) */
	if (fd >= 0 && rc == 0 && !aof_rw_cancelled() && fsync(fd) != 0) {
		snprintf(err, errlen, "fsync: %s", strerror(errno));
		rc = -1;
	}
	if (fd >= 0 && rc == 0 && o.autosync)
		autosync_drop_cache(fd);
	if (fd >= 0 && rc == 0 && fstat(fd, &bst) == 0) {
		*bytes = (uint64_t)bst.st_size;
		LOG(LOG_VERBOSE,
		    "AOF base %s: %llu bytes, %llu write-out starts, %llu incremental syncs",
		    tmp_name, (unsigned long long)*bytes, (unsigned long long)st->starts,
		    (unsigned long long)st->syncs);
	}
	if (fd >= 0)
		close(fd);
	else
		snprintf(err, errlen, "Can't open %.200s: %s", tmp_name, strerror(errno));
	mem_free(p);
	return rc == 0 ? 0 : -1;
}

/*
 * The rewrite (Redis's rewriteAppendOnlyFileBackground, without fork): a
 * new incr file is added to the manifest; then, holding every stripe (no
 * logged write is between its commit and its record), the snapshot's cut
 * is taken and the AOF thread is told to start the new incr file at the
 * queue's current end: so every write is either in the cut and in the old
 * files, or after it and in the new incr file. The stripes are released and
 * the snapshot is written as the new base (RDB, aof-base 1); then the
 * manifest names the new base and the new incr file only, and the old files
 * are deleted.
 *
 * Switching on (`enabling`: state AOF_WAIT_REWRITE, aof.h "Switching"):
 * the manifest is left alone until the end, the new records go to a
 * temporary incr file (Redis's temp-<appendfilename>.incr); before the
 * cut, ebr_synchronize waits until every worker passed a command boundary
 * since logging was switched on, so no write that saw the AOF off can land
 * after the cut. At the end the temporary file gets the new incr name, the
 * manifest names the new base and it, the files of an older manifest go,
 * and the state is AOF_ON. A switch-off (a new generation: aof_rw_cancelled)
 * abandons a rewrite at its next step: -ECANCELED, and its files are
 * deleted. -EBUSY: a BGSAVE holds the snapshot (the caller schedules the
 * rewrite again).
 */
static int rewrite_run(bool enabling, char *err, size_t errlen)
{
	long long seq_b = (aof.man.base.name ? aof.man.base.seq : 0) + 1;
	long long seq_i = (aof.man.nincr ? aof.man.incr[aof.man.nincr - 1].seq : 0) + 1;
	char incr_name[512], base_name[512], tmp_name[576], tmp_incr[576];
	struct rdb_save_stats st = {0};
	struct aof_manifest next = {0}, old;
	char *p;
	int nfd, rc, e;
	uint64_t cut = 0, base_bytes = 0;
	bool rdb_base = cfg_int(CFG_AOF_USE_RDB_PREAMBLE) != 0; /* no: aof_base.c's form */

	snprintf(incr_name, sizeof(incr_name), "%s.%lld.incr.aof", aof.fname, seq_i);
	snprintf(tmp_incr, sizeof(tmp_incr), "temp-%s.incr", aof.fname);
	snprintf(base_name, sizeof(base_name), "%s.%lld.base.%s", aof.fname, seq_b,
		 rdb_base ? "rdb" : "aof");
	snprintf(tmp_name, sizeof(tmp_name), "temp-rewriteaof-bg-%d.aof", (int)getpid());
	/* enabling: a fresh inode (an earlier attempt's file may still be
	 * the AOF thread's until this cut) */
	if (enabling)
		unlink_name(tmp_incr);
	p = aof_path_of(enabling ? tmp_incr : incr_name);
	nfd = open(p, O_WRONLY | O_APPEND | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	mem_free(p);
	if (nfd < 0) {
		snprintf(err, errlen, "Can't open the append-only file %.200s: %s",
			 enabling ? tmp_incr : incr_name, strerror(errno));
		return -errno;
	}
	if (!enabling) {
		aof_manifest_add(&aof.man, incr_name, seq_i, 'i');
		rc = aof_write_manifest(&aof.man, err, errlen);
		if (rc < 0) {
			close(nfd);
			return rc;
		}
	} else {
		bool on;

		/* Log every write from here on: under rw_lock, so a switch-off
		 * (which clears it under the same lock) cannot come between
		 * the check and the store. relaxed: ebr_synchronize's first
		 * fence orders it before the grace period (aof.h, "Switching") */
		pthread_mutex_lock(&aof.rw_lock);
		on = !aof_rw_cancelled();
		if (on)
			atomic_store_explicit(&aof_started_g, true, memory_order_relaxed);
		pthread_mutex_unlock(&aof.rw_lock);
		/* then every worker's commands that saw the AOF off are done */
		if (!on || ebr_synchronize(aof.qs, rw_cancelled_cb, NULL) != 0) {
			close(nfd);
			unlink_name(tmp_incr);
			snprintf(err, errlen, "appendonly was switched off");
			return -ECANCELED;
		}
	}
	/* the cut */
	aof_gate_exclusive();
	e = -ECANCELED;
	rw_src.s = aof_rw_cancelled() ? NULL : db_snap_begin(aof.db, &e);
	if (rw_src.s) {
		bool handed = false;

		pthread_mutex_lock(&aof.lock);
		/* else switched off meanwhile (maybe on again: not ours) */
		if (!aof.closed && !aof_rw_cancelled()) {
			handed = true;
			aof.switch_fd = nfd;
			aof.switch_at = cut = aof.appended;
			aof.switch_pending = true;
			aof.last_db = -1; /* the new file starts with a SELECT */
			aof.precut = false;
			pthread_cond_signal(&aof.work);
		}
		pthread_mutex_unlock(&aof.lock);
		if (!handed) /* not under lock: it waits for writers */
			db_snap_end(&rw_src.s);
	}
	pthread_rwlock_unlock(&aof.gate);
	if (rw_src.s == NULL) {
		snprintf(err, errlen, "Can't take a snapshot for the AOF rewrite: %s",
			 strerror(-e));
		close(nfd); /* the manifest's extra empty incr file is harmless */
		if (enabling)
			unlink_name(tmp_incr);
		return e;
	}
	/* the base */
	rc = write_base(tmp_name, rdb_base, &st, &base_bytes, err, errlen);
	db_snap_end(&rw_src.s);
	if (rc == 0 && aof_rw_cancelled()) {
		snprintf(err, errlen, "appendonly was switched off");
		rc = -ECANCELED;
	}
	if (rc == 0) {
		char *q = aof_path_of(base_name);

		p = aof_path_of(tmp_name);
		if (rename(p, q) != 0) {
			snprintf(err, errlen, "Can't rename %.200s to %.200s: %s", tmp_name,
				 base_name, strerror(errno));
			rc = -EIO;
		}
		mem_free(q);
		mem_free(p);
	}
	if (rc == 0 && enabling) {
		/* the AOF thread keeps appending to the same inode */
		char *q = aof_path_of(incr_name);

		p = aof_path_of(tmp_incr);
		if (rename(p, q) != 0) {
			snprintf(err, errlen, "Can't rename %.200s to %.200s: %s", tmp_incr,
				 incr_name, strerror(errno));
			rc = -EIO;
		}
		mem_free(q);
		mem_free(p);
	}
	if (rc != 0) {
		unlink_name(tmp_name);
		if (enabling) /* the AOF thread's file until the next cut */
			unlink_name(tmp_incr);
		return rc == -ECANCELED ? rc : -EIO;
	}
	/* the new manifest: the new base and the incr files from the cut on */
	aof_manifest_add(&next, base_name, seq_b, 'b');
	aof_manifest_add(&next, incr_name, seq_i, 'i');
	rc = aof_write_manifest(&next, err, errlen);
	if (rc < 0) {
		aof_manifest_free(&next);
		return rc;
	}
	/* wait until the AOF thread left the old files */
	pthread_mutex_lock(&aof.lock);
	while (aof.switch_pending && !aof.stop)
		pthread_cond_wait(&aof.done, &aof.lock);
	/* INFO's sizes and auto-rewrite's base from now on (Redis's
	 * backgroundRewriteDoneHandler): the new base and the new incr file */
	aof.cur_base = base_bytes;
	aof.cur_from = cut;
	aof.base_size = aof.cur_base + aof.appended - aof.cur_from;
	pthread_mutex_unlock(&aof.lock);
	old = aof.man;
	aof.man = next;
	if (old.base.name)
		unlink_name(old.base.name);
	for (size_t i = 0; i < old.nincr; i++)
		if (strcmp(old.incr[i].name, incr_name) != 0)
			unlink_name(old.incr[i].name);
	aof_manifest_free(&old);
	(void)aof_fsync_dir(aof.dir);
	if (enabling) {
		pthread_mutex_lock(&aof.rw_lock);
		if (!aof_rw_cancelled() && aof.state == AOF_WAIT_REWRITE)
			aof.state = AOF_ON;
		pthread_mutex_unlock(&aof.rw_lock);
	}
	LOG(LOG_NOTICE,
	    "Background AOF rewrite finished successfully: base %s (%lld keys), incr %s", base_name,
	    st.keys, incr_name);
	return 0;
}

/*
 * The rewrite while appendonly is no (Redis 7.0's BGREWRITEAOF with the AOF
 * off): the directory and its manifest are read if they were not (the
 * directory is created), the snapshot is written as the new base
 * (<appendfilename>.<seq>.base.rdb, or .aof without the preamble), and the
 * manifest then names that base alone: the old base and every incr file
 * are history and deleted, as Redis's rewriteAppendOnlyFileBackground does
 * with no AOF file open (no new incr file). A switch-on meanwhile (a new
 * generation) abandons it before the manifest changes: -ECANCELED, and
 * the switch-on's own rewrite (scheduled, as while any rewrite runs)
 * writes the directory after this one ended.
 */
static int rewrite_off_run(char *err, size_t errlen)
{
	long long seq_b = (aof.man.base.name ? aof.man.base.seq : 0) + 1;
	char base_name[512], tmp_name[576];
	struct rdb_save_stats st = {0};
	struct aof_manifest next = {0}, old;
	uint64_t base_bytes = 0;
	bool rdb_base = cfg_int(CFG_AOF_USE_RDB_PREAMBLE) != 0;
	int rc, e = -ECANCELED;

	snprintf(base_name, sizeof(base_name), "%s.%lld.base.%s", aof.fname, seq_b,
		 rdb_base ? "rdb" : "aof");
	snprintf(tmp_name, sizeof(tmp_name), "temp-rewriteaof-bg-%d.aof", (int)getpid());
	/* the cut: no AOF thread to hand a new file to */
	rw_src.s = aof_rw_cancelled() ? NULL : db_snap_begin(aof.db, &e);
	if (rw_src.s == NULL) {
		snprintf(err, errlen, "Can't take a snapshot for the AOF rewrite: %s",
			 strerror(-e));
		return e;
	}
	rc = write_base(tmp_name, rdb_base, &st, &base_bytes, err, errlen);
	db_snap_end(&rw_src.s);
	if (rc == 0 && aof_rw_cancelled()) {
		snprintf(err, errlen, "appendonly was switched on");
		rc = -ECANCELED;
	}
	if (rc == 0) {
		char *p = aof_path_of(tmp_name), *q = aof_path_of(base_name);

		if (rename(p, q) != 0) {
			snprintf(err, errlen, "Can't rename %.200s to %.200s: %s", tmp_name,
				 base_name, strerror(errno));
			rc = -EIO;
		}
		mem_free(q);
		mem_free(p);
	}
	if (rc != 0) {
		unlink_name(tmp_name);
		return rc == -ECANCELED ? rc : -EIO;
	}
	aof_manifest_add(&next, base_name, seq_b, 'b');
	rc = aof_write_manifest(&next, err, errlen);
	if (rc < 0) {
		aof_manifest_free(&next);
		unlink_name(base_name);
		return rc;
	}
	old = aof.man;
	aof.man = next;
	if (old.base.name)
		unlink_name(old.base.name);
	for (size_t i = 0; i < old.nincr; i++)
		unlink_name(old.incr[i].name);
	aof_manifest_free(&old);
	(void)aof_fsync_dir(aof.dir);
	LOG(LOG_NOTICE,
	    "Background AOF rewrite finished successfully: base %s (%lld keys, appendonly no: "
	    "no incr file)",
	    base_name, st.keys);
	return 0;
}

static void *rewrite_main(void *arg)
{
	char err[512] = "";
	bool enabling, off;
	int rc;

	(void)arg;
	pthread_mutex_lock(&aof.rw_lock);
	enabling = aof.state == AOF_WAIT_REWRITE;
	off = aof.state == AOF_OFF;
	pthread_mutex_unlock(&aof.rw_lock);
	psrv_background_prio("AOF rewrite", "aof-rewrite"); /* Redis: redis-aof-rewrite */
	kvmap_thread_register();
	rc = off ? rewrite_off_run(err, sizeof(err)) : rewrite_run(enabling, err, sizeof(err));
	if (rc == -EBUSY) /* Redis: scheduled while another save runs */
		LOG(LOG_WARNING, "AOF rewrite scheduled: a background save is in progress");
	else if (rc != 0 && rc != -ECANCELED)
		LOG(LOG_WARNING, "Background AOF rewrite failed: %s", err);
	kvmap_thread_unregister();
	pthread_mutex_lock(&aof.rw_lock);
	if (rc == -ECANCELED && aof.rw_shutdown)
		LOG(LOG_NOTICE, "Background AOF rewrite abandoned: shutting down (its temporary "
				"files were removed)");
	else if (rc == -ECANCELED)
		LOG(LOG_NOTICE, "Background AOF rewrite abandoned: appendonly was switched %s",
		    off ? "on" : "off");
	if (rc != -ECANCELED && rc != -EBUSY) {
		aof.rw_fails = rc == 0 ? 0 : aof.rw_fails + 1;
		aof.rw_end_ns = clock_mono_ns();
		aof.rw_last_secs = (aof.rw_end_ns - aof.rw_start_ns) / 1000000000LL;
		aof.rw_last_ok = rc == 0;
	}
	/* still switching on (Redis: aof_rewrite_scheduled, retried by the
	 * AOF thread's check) */
	if (!aof_rw_cancelled() && aof.state != AOF_OFF &&
	    (rc == -EBUSY || (rc != 0 && aof.state == AOF_WAIT_REWRITE)))
		aof.rw_scheduled = true;
	aof.rw_running = false;
	pthread_mutex_unlock(&aof.rw_lock);
	return NULL;
}

/* Starts the rewrite thread. rw_lock held. */
int aof_rewrite_spawn(char *err, size_t errlen)
{
	if (aof.rw_joinable)
		pthread_join(aof.rw_thr, NULL); /* it ended: rw_running is false */
	aof.rw_joinable = false;
	aof.rw_running = true;
	aof.rw_abandoned = false;
	aof.rw_shutdown = false;
	aof.rw_scheduled = false;
	aof.rw_count++;
	aof.rw_start_ns = clock_mono_ns();
	/* The generation is taken here, not by the thread when it first runs: a
	 * SHUTDOWN FORCE (or switch) between the spawn and a late start of the
	 * thread (idle-class, on a busy machine) bumped aof.gen already, and a
	 * thread that took the bumped value as its own ran the whole rewrite
	 * (test_aof_switch diff-shutdown, under load). relaxed: aof.gen changes
	 * under rw_lock, held; pthread_create orders rw_gen for the thread. */
	rw_gen = atomic_load_explicit(&aof.gen, memory_order_relaxed);
	if (pthread_create(&aof.rw_thr, NULL, rewrite_main, NULL) != 0) {
		aof.rw_running = false;
		snprintf(err, errlen, "ERR Can't rewrite append only file in background");
		return -1;
	}
	aof.rw_joinable = true;
	return 0;
}

int aof_rewrite_start(char *err, size_t errlen)
{
	int rc = 0;

	/* appendonly no: Redis 7.0 rewrites too (a base and a manifest naming
	 * it alone: rewrite_off_run); the directory and its manifest first,
	 * under sw_lock as the switch-on reads them */
	pthread_mutex_lock(&aof.sw_lock);
	pthread_mutex_lock(&aof.rw_lock);
	if (aof.state == AOF_OFF && !aof.man_loaded && !aof.rw_closed && !aof.rw_running &&
	    !psrv_bgsave_busy()) {
		char why[512] = "";
		int r = aof_open_dir(why, sizeof(why));

		if (r < 0 && r != -ENOENT) { /* read again at the next try */
			aof_manifest_free(&aof.man);
			mem_free(aof.dir);
			mem_free(aof.fname);
			aof.dir = aof.fname = NULL;
			aof.man_loaded = false;
			LOG(LOG_WARNING, "Can't rewrite append only file in background: %s", why);
			aof.rw_last_ok = false;
			pthread_mutex_unlock(&aof.rw_lock);
			pthread_mutex_unlock(&aof.sw_lock);
			snprintf(err, errlen,
				 "ERR Can't execute an AOF background rewriting. Please "
				 "check the server logs for more information.");
			return -1;
		}
	}
	pthread_mutex_unlock(&aof.sw_lock);
	if (aof.rw_closed) {
		snprintf(err, errlen, "ERR kvsd is shutting down");
		rc = -1;
	} else if (aof.rw_running) {
		snprintf(err, errlen,
			 "ERR Background append only file rewriting already in progress");
		rc = -1;
	} else if (psrv_bgsave_busy()) {
		/* Redis: scheduled while a BGSAVE runs (the snapshot is its) */
		aof.rw_scheduled = true;
		rc = 1;
	} else {
		rc = aof_rewrite_spawn(err, errlen);
	}
	pthread_mutex_unlock(&aof.rw_lock);
	return rc;
}

/* SHUTDOWN waits this long at most for an abandoned rewrite to end (it
 * gives up at its next key: normally microseconds), as the switch-off. */
#define SHUTDOWN_WAIT_NS (500 * 1000 * 1000L)

int aof_shutdown_prepare(bool force)
{
	bool join = false;
	int rc = 0;

	pthread_mutex_lock(&aof.rw_lock);
	if (aof.rw_running && !aof.rw_abandoned) {
		if (aof.state == AOF_WAIT_REWRITE && !force) {
			LOG(LOG_WARNING, "Writing initial AOF, can't exit.");
			rc = -1;
		} else {
			if (aof.state == AOF_WAIT_REWRITE)
				LOG(LOG_WARNING, "Writing initial AOF. Exit anyway.");
			LOG(LOG_WARNING, "There is a rewrite of the AOF running. Abandoning it!");
			aof.rw_shutdown = true;
			/* relaxed: as the switch-off's (aof_rw_cancelled): the
			 * rewrite gives up at its next key */
			atomic_store_explicit(
			    &aof.gen, atomic_load_explicit(&aof.gen, memory_order_relaxed) + 1,
			    memory_order_relaxed);
			/* Redis waits for its killed child too: the rewrite's
			 * snapshot must end before SHUTDOWN's save takes one. Not
			 * inside EXEC (the gate held: the rewrite may wait for it) */
			if (aof.rw_joinable && !aof_gate_held()) {
				join = true;
				aof.rw_joinable = false;
			}
		}
	}
	pthread_mutex_unlock(&aof.rw_lock);
	if (join)
		(void)aof_rw_join_within(SHUTDOWN_WAIT_NS);
	return rc;
}

bool aof_rw_join_within(long ns)
{
	struct timespec ts = aof_deadline_in(ns);
	int jr;

	/* offline: a grace period of the storage never waits for us */
	kvmap_thread_offline();
	psrv_foreground_prio(aof.rw_thr); /* waited for now: not idle-class */
	jr = pthread_timedjoin_np(aof.rw_thr, NULL, &ts);
	kvmap_thread_online();
	if (jr == 0)
		return true;
	/* still ending: the teardown (or a later start) joins it */
	pthread_mutex_lock(&aof.rw_lock);
	aof.rw_joinable = true;
	pthread_mutex_unlock(&aof.rw_lock);
	return false;
}

void aof_shutdown_cancelled(void)
{
	pthread_mutex_lock(&aof.rw_lock);
	/* a switch-on whose rewrite SHUTDOWN FORCE abandoned: run it again */
	if (aof.state == AOF_WAIT_REWRITE && !aof.rw_running && !aof.rw_closed)
		aof.rw_scheduled = true;
	pthread_mutex_unlock(&aof.rw_lock);
}

void aof_rewrite_cron(void)
{
	char err[256];
	bool go;

	pthread_mutex_lock(&aof.rw_lock);
	go = aof.state == AOF_OFF && aof.rw_scheduled && !aof.rw_running && !aof.rw_closed;
	pthread_mutex_unlock(&aof.rw_lock);
	if (go && !psrv_bgsave_busy() && aof_rewrite_start(err, sizeof(err)) < 0)
		LOG(LOG_WARNING, "Scheduled AOF rewrite could not start: %s", err);
}

void aof_rewrite_info(struct aof_rewrite_info *ri)
{
	pthread_mutex_lock(&aof.rw_lock);
	ri->running = aof.rw_running && !aof.rw_abandoned;
	ri->scheduled = aof.rw_scheduled;
	ri->count = aof.rw_count;
	ri->last_secs = aof.rw_last_secs;
	ri->current_secs = ri->running ? (clock_mono_ns() - aof.rw_start_ns) / 1000000000LL : -1;
	ri->last_ok = aof.rw_last_ok;
	ri->fails = aof.rw_fails;
	pthread_mutex_unlock(&aof.rw_lock);
}

bool aof_rewrite_scheduled(void)
{
	bool r;

	pthread_mutex_lock(&aof.rw_lock);
	r = aof.rw_scheduled;
	pthread_mutex_unlock(&aof.rw_lock);
	return r;
}

bool aof_rewrite_running(void)
{
	bool r;

	pthread_mutex_lock(&aof.rw_lock);
	r = aof.rw_running;
	pthread_mutex_unlock(&aof.rw_lock);
	return r;
}
