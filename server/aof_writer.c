/*
 * aof_writer.c — the AOF thread and what feeds it (aof.h, "Ordering" and
 * "Group commit"): records appended by the workers into aof.buf under
 * aof.lock, the thread that writes them to the current incremental file and
 * fsyncs as appendfsync says (one fsync covers every record queued
 * meanwhile, by every worker), the held replies it releases, the switch to
 * a new incr file at a rewrite's cut, the auto-aof-rewrite check, and the
 * striped locks and the gate that order writes per key. State: aof
 * (aof_state.h), under the locks its fields name.
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

/* ---- the AOF thread */

static void fatal_write(int rc)
{
	LOG(LOG_WARNING,
	    "Error writing to the AOF file: %s. Exiting: kvsd acknowledges no write "
	    "it could not log.",
	    strerror(-rc));
	_exit(1);
}

/* A CLOCK_REALTIME deadline ns from now, for pthread_cond_timedwait. */
struct timespec aof_deadline_in(long ns)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += ns;
	while (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

/* Adds n to an INFO counter of aof_state.h. relaxed: statistics */
static void stat_add(_Atomic uint64_t *x, uint64_t n)
{
	atomic_fetch_add_explicit(x, n, memory_order_relaxed);
}

/* Wakes the AOF thread (waiting for work or gathering), once per wait: it
 * sets idle again if it waits again. Under lock. */
static void signal_work(void)
{
	stat_add(&aof.nsignal, 1);
	aof.idle = false;
	pthread_cond_signal(&aof.work);
}

static void hold_unlink(struct aof_hold *h)
{
	h->prev->next = h->next;
	h->next->prev = h->prev;
	h->prev = h->next = NULL;
	h->linked = false;
}

/* The group wait (aof.h): h's connection, released by one of the last
 * two wake passes, has appended again or closes, so it is no longer
 * expected back. Under lock. */
static void expect_clear(struct aof_hold *h)
{
	if (h->exp_gen == 0)
		return;
	if (h->exp_gen == aof.rel_gen && aof.exp_cur > 0)
		aof.exp_cur--;
	else if (h->exp_gen + 1 == aof.rel_gen && aof.exp_prev > 0)
		aof.exp_prev--;
	h->exp_gen = 0;
}

/* Wakes the held connections the synced offset covers (every one with
 * `all`: the AOF stops). Under lock: a closing connection unlinks itself
 * under it (aof_conn_close), so none is woken after its close hook. */
static void wake_held(bool all)
{
	/* relaxed: stored by this thread, under the lock we hold */
	uint64_t synced = atomic_load_explicit(&aof.synced, memory_order_relaxed);
	struct aof_hold *h = aof.held.next;
	uint64_t woken = 0, gen = aof.rel_gen + 1;

	while (h != &aof.held) {
		struct aof_hold *next = h->next;

		if (all || h->lsn <= synced) {
			hold_unlink(h);
			expect_clear(h);
			h->exp_gen = gen; /* its next write is expected back */
			conn_wake(h->c);
			woken++;
		}
		h = next;
	}
	if (woken) {
		stat_add(&aof.nwake, woken);
		stat_add(&aof.nwake_pass, 1);
		aof.rel_gen = gen;
		aof.exp_prev = aof.exp_cur;
		aof.exp_cur = (uint32_t)woken;
		aof.rel_last = (uint32_t)woken;
		aof.rel_at = clock_mono_ns();
	}
}

/* appendfsync always, the group wait (aof.h, "Group wait"): how much
 * longer (ns) the queued records should wait for the writes expected back
 * before their fdatasync starts; 0: start it now. Under lock. */
static int64_t group_wait_ns(int64_t now)
{
	/* relaxed: see aof_internal.h */
	int64_t cap = atomic_load_explicit(&aof_group_wait_us_g, memory_order_relaxed) * 1000;
	int64_t bound, left;

	/* relaxed policy: see aof_internal.h */
	if (cap <= 0 || aof.rel_last <= 1 || aof.exp_cur + aof.exp_prev == 0 ||
	    aof.len >= AOF_GATHER_BYTES || aof.stop || aof.switch_pending ||
	    atomic_load_explicit(&aof_fsync_g, memory_order_relaxed) != AOF_FSYNC_ALWAYS)
		return 0;
	bound = aof.fsync_ns < cap ? aof.fsync_ns : cap;
	left = aof.rel_at + bound - now;
	return left > 0 ? left : 0;
}

/* The queue is taken for a write and fdatasync: ends its group wait, if
 * it waited. Under lock. */
static void group_taken(int64_t now, bool timeout)
{
	if (aof.wait_since == 0)
		return;
	stat_add(&aof.ngwait, 1);
	stat_add(&aof.gwait_ns, (uint64_t)(now - aof.wait_since));
	if (timeout)
		stat_add(&aof.ngtimeout, 1);
	aof.wait_since = 0;
}

/* A write + fdatasync took d ns: the group wait's bound follows it
 * (smoothed over about four). Under lock. */
static void fsync_time_note(int64_t d)
{
	aof.fsync_ns = aof.fsync_ns ? (3 * aof.fsync_ns + d) / 4 : d;
}

static int64_t auto_rw_checked;

/* Whether an automatic rewrite may start now (Redis's aofRewriteLimited):
 * not while one runs; after 3 consecutive failures, not before a delay of
 * a minute, doubling with each further failure up to an hour. */
static bool auto_rewrite_allowed(int64_t now)
{
	bool ok;

	pthread_mutex_lock(&aof.rw_lock);
	ok = !aof.rw_running;
	if (ok && aof.rw_fails >= 3) {
		int shift = aof.rw_fails - 3 < 6 ? aof.rw_fails - 3 : 6;
		int64_t delay = (60LL << shift) * 1000000000LL;

		if (delay > 3600LL * 1000000000LL)
			delay = 3600LL * 1000000000LL;
		ok = now - aof.rw_end_ns >= delay;
	}
	pthread_mutex_unlock(&aof.rw_lock);
	return ok;
}

/* auto-aof-rewrite (Redis's serverCron rule): the AOF thread, every 100 ms,
 * under no lock. */
static void auto_rewrite_check(void)
{
	/* relaxed: settings; a change seen one check late is harmless */
	long long perc = atomic_load_explicit(&aof_rw_perc_g, memory_order_relaxed);
	long long min = atomic_load_explicit(&aof_rw_min_g, memory_order_relaxed);
	int64_t now = clock_mono_ns();
	uint64_t cur, base;
	long long growth;
	char err[256];

	if (now - auto_rw_checked < 100 * 1000 * 1000LL)
		return;
	auto_rw_checked = now;
	if (aof_rewrite_scheduled() && !psrv_bgsave_busy() && auto_rewrite_allowed(now)) {
		/* Redis's serverCron: a rewrite that waited for a BGSAVE (or that
		 * failed while appendonly was being switched on) */
		if (aof_rewrite_start(err, sizeof(err)) < 0)
			LOG(LOG_WARNING, "Scheduled AOF rewrite could not start: %s", err);
		return;
	}
	if (perc <= 0)
		return;
	pthread_mutex_lock(&aof.lock);
	cur = aof.cur_base + aof.appended - aof.cur_from;
	base = aof.base_size ? aof.base_size : 1;
	pthread_mutex_unlock(&aof.lock);
	if ((long long)cur <= min || !auto_rewrite_allowed(now))
		return;
	growth = (long long)(cur * 100 / base) - 100;
	if (growth < perc)
		return;
	LOG(LOG_NOTICE, "Starting automatic rewriting of AOF on %lld%% growth", growth);
	if (aof_rewrite_start(err, sizeof(err)) < 0)
		LOG(LOG_WARNING, "Automatic AOF rewrite could not start: %s", err);
}

/* everysec / no: waits up to AOF_GATHER_NS for AOF_GATHER_BYTES of records
 * to share one write(2), unless the writer is asked to stop or switch files.
 * Under lock (the wait drops it). */
static void gather(void)
{
	struct timespec ts = aof_deadline_in(AOF_GATHER_NS);

	aof.gathering = true;
	while (aof.len < AOF_GATHER_BYTES && !aof.stop && !aof.switch_pending)
		if (pthread_cond_timedwait(&aof.work, &aof.lock, &ts) == ETIMEDOUT)
			break;
	aof.gathering = false;
}

/* An fdatasync covered the records up to lsn, and the first recs records
 * ever appended. The writer: the AOF thread, or a worker in commit_inline
 * (one at a time: aof.inline_busy). */
static void fsync_note(uint64_t lsn, uint64_t recs)
{
	if (recs > aof.recs_synced) {
		stat_add(&aof.fsync_recs, recs - aof.recs_synced);
		aof.recs_synced = recs;
	}
	/* release: DEBUG AOF-FSYNC that sees lsn sees written >= lsn (its
	 * store came first: aof_fsync_stats); one writer at a time */
	atomic_store_explicit(&aof.fsynced, lsn, memory_order_release);
	atomic_store_explicit(&aof.nfsync,
			      atomic_load_explicit(&aof.nfsync, memory_order_relaxed) + 1,
			      memory_order_relaxed);
}

/* Whether the AOF thread takes the queue now: it stops or switches files;
 * or records are queued and either the policy is not always (everysec and
 * no gather below), or a worker ended the batch that appended them (a
 * kick: aof_batch_end) and the group wait is over, or they fill
 * AOF_GATHER_BYTES. Under lock. */
static bool batch_ready(void)
{
	if (aof.stop || aof.switch_pending)
		return true;
	if (aof.len == 0)
		return false;
	/* relaxed: see aof_internal.h */
	return atomic_load_explicit(&aof_fsync_g, memory_order_relaxed) != AOF_FSYNC_ALWAYS ||
	       (aof.kicked && group_wait_ns(clock_mono_ns()) == 0) || aof.len >= AOF_GATHER_BYTES;
}

void *aof_thread(void *arg)
{
	char *batch = NULL;
	size_t bcap = 0;
	int64_t last_fsync = clock_mono_ns();
	uint64_t unsynced = 0, recs_taken = 0;
	bool recent = false; /* the last pass wrote records */

	(void)arg;
	pthread_mutex_lock(&aof.lock);
	for (;;) {
		size_t n;
		uint64_t end, sw_at;
		int policy, sw_fd;
		bool sw, pre = false, timed_out = false;
		int64_t t0;

		/* relaxed: see aof_internal.h */
		if (recent && !aof.stop && !aof.switch_pending && !aof.inline_busy &&
		    atomic_load_explicit(&aof_fsync_g, memory_order_relaxed) != AOF_FSYNC_ALWAYS) {
			/* everysec / no, and the last pass wrote: gather on a
			 * timer rather than wait idle for an append's signal, so
			 * that a steady write load costs one timed wait and one
			 * write(2) a round, and the workers no futex wake */
			gather();
			pre = true;
		}
		aof.thr_waiting = true;
		while (aof.inline_busy || !batch_ready()) {
			if (aof.inline_busy) {
				/* a worker writes the queue (commit_inline) */
				pthread_cond_wait(&aof.done, &aof.lock);
				continue;
			}
			/* wake at least every 100 ms: everysec's fsync clock and the
			 * auto-rewrite check; records that wait for their worker's
			 * batch end wait at most AOF_KICK_NS, kicked ones at most
			 * for the group wait's bound */
			bool waiting = aof.len > 0;
			int64_t now = clock_mono_ns(), left = 0;
			long ns = waiting ? AOF_KICK_NS : 100 * 1000 * 1000;
			int rc;

			if (waiting && aof.kicked) {
				left = group_wait_ns(now);
				if (left > 0) {
					ns = (long)left;
					if (aof.wait_since == 0)
						aof.wait_since = now;
				}
			}
			struct timespec ts = aof_deadline_in(ns);

			aof.idle = true;
			aof.thr_wake_at = now + ns;
			stat_add(&aof.nwait, 1);
			rc = pthread_cond_timedwait(&aof.work, &aof.lock, &ts);
			aof.idle = false;
			if (rc == ETIMEDOUT && waiting && aof.len > 0) {
				/* a worker still busy in its batch, or the group
				 * wait's bound: write what is here */
				timed_out = left > 0 && aof.kicked;
				break;
			}
			if (waiting)
				continue;
			pthread_mutex_unlock(&aof.lock);
			auto_rewrite_check();
			pthread_mutex_lock(&aof.lock);
			/* relaxed: see aof_internal.h */
			if (unsynced &&
			    atomic_load_explicit(&aof_fsync_g, memory_order_relaxed) ==
				AOF_FSYNC_EVERYSEC &&
			    clock_mono_ns() - last_fsync >= 1000000000LL)
				break;
		}
		aof.thr_waiting = false;
		if (aof.inline_busy)
			continue; /* a worker began writing while we waited */
		if (aof.len == 0 && aof.stop && !aof.switch_pending)
			break;
		/* relaxed: see aof_internal.h */
		policy = atomic_load_explicit(&aof_fsync_g, memory_order_relaxed);
		if (!pre && policy != AOF_FSYNC_ALWAYS && aof.len && aof.len < AOF_GATHER_BYTES &&
		    !aof.stop && !aof.switch_pending) {
			/* everysec / no: nobody waits for this write, so let more
			 * records share it (one write(2), fewer wake-ups) */
			gather();
		}
		aof.kicked = false;
		group_taken(clock_mono_ns(), timed_out);
		/* take the whole queue: everything appended so far is one batch,
		 * covered by one write and one fsync (group commit) */
		{
			char *t = aof.buf;
			size_t tc = aof.cap;

			aof.buf = batch;
			aof.cap = bcap;
			batch = t;
			bcap = tc;
		}
		n = aof.len;
		aof.len = 0;
		end = aof.appended;
		/* relaxed: written under the lock we hold */
		recs_taken = atomic_load_explicit(&aof.nrec, memory_order_relaxed);
		sw = aof.switch_pending;
		sw_at = aof.switch_at;
		sw_fd = aof.switch_fd;
		aof.switch_pending = false;
		pthread_mutex_unlock(&aof.lock);

		if (sw) {
			/* BGREWRITEAOF's cut: what came before it ends the old file,
			 * made durable before the new one takes over */
			size_t k = (size_t)(sw_at - (end - n));

			/* no file yet (appendonly switched on: k is 0, the
			 * records before the cut were dropped) */
			if (aof.fd >= 0) {
				int rc = aof_write_all(aof.fd, batch, k);

				if (rc == 0 && fdatasync(aof.fd) < 0)
					rc = -errno;
				if (rc < 0)
					fatal_write(rc);
				close(aof.fd);
			}
			aof.fd = sw_fd;
			if (n > k) /* batch is NULL before the first append */
				memmove(batch, batch + k, n - k);
			n -= k;
			unsynced = 0;
		}
		recent = n > 0;
		t0 = clock_mono_ns();
		if (n) {
			int rc = aof_write_all(aof.fd, batch, n);

			if (rc < 0)
				fatal_write(rc);
			unsynced += n;
			stat_add(&aof.nwrite, 1);
		}
		/* release: DEBUG AOF-FSYNC that sees end sees appended >= end
		 * (taken under aof.lock before: aof_fsync_stats) */
		atomic_store_explicit(&aof.written, end, memory_order_release);
		/* relaxed: see aof_internal.h (a policy changed meanwhile: the
		 * next batch follows it) */
		policy = atomic_load_explicit(&aof_fsync_g, memory_order_relaxed);
		if (unsynced && (policy == AOF_FSYNC_ALWAYS ||
				 (policy == AOF_FSYNC_EVERYSEC &&
				  clock_mono_ns() - last_fsync >= 1000000000LL))) {
			if (fdatasync(aof.fd) < 0)
				fatal_write(-errno);
			last_fsync = clock_mono_ns();
			unsynced = 0;
			fsync_note(end, recs_taken);
		}

		pthread_mutex_lock(&aof.lock);
		if (policy == AOF_FSYNC_ALWAYS && n)
			fsync_time_note(clock_mono_ns() - t0);
		/* release: the write (and fdatasync) above happen before any
		 * reply that aof_before_write lets go on seeing this value */
		if (end > atomic_load_explicit(&aof.synced, memory_order_relaxed))
			atomic_store_explicit(&aof.synced, end, memory_order_release);
		wake_held(false);
		pthread_cond_broadcast(&aof.done);
		pthread_mutex_unlock(&aof.lock);
		auto_rewrite_check();
		pthread_mutex_lock(&aof.lock);
	}
	if (unsynced && fdatasync(aof.fd) == 0)
		fsync_note(aof.appended - aof.len, recs_taken);
	wake_held(true); /* stopping: nothing more will be written */
	pthread_mutex_unlock(&aof.lock);
	mem_free(batch);
	return NULL;
}

/* ---- appending */

static void cat_select(int db)
{
	char num[16];
	const char *argv[2] = {"SELECT", num};
	size_t argl[2] = {6, 0};

	argl[1] = (size_t)snprintf(num, sizeof(num), "%d", db);
	aof_format_cmd(&aof.buf, &aof.len, &aof.cap, 2, argv, argl);
}

static void cat_word(const char *w)
{
	const char *argv[1] = {w};
	size_t argl[1] = {strlen(w)};

	aof_format_cmd(&aof.buf, &aof.len, &aof.cap, 1, argv, argl);
}

/* Appends the record; returns its LSN. h: the hold of the connection
 * that writes, when the group wait may expect it back (else NULL). Under
 * no lock of ours but stripes. */
static uint64_t append_prop(const struct aof_prop *p, bool wrap, struct aof_hold *h)
{
	uint64_t lsn;
	size_t len0;

	pthread_mutex_lock(&aof.lock);
	if (h)
		expect_clear(h);
	len0 = aof.len;
	if (wrap) {
		if (p->items[0].db != aof.last_db) {
			cat_select(p->items[0].db);
			aof.last_db = p->items[0].db;
		}
		cat_word("MULTI");
	}
	for (size_t i = 0; i < p->n; i++) {
		const struct aof_item *it = &p->items[i];

		if (it->db != aof.last_db) {
			cat_select(it->db);
			aof.last_db = it->db;
		}
		aof_format_raw(&aof.buf, &aof.len, &aof.cap, p->buf + it->off, it->len);
	}
	if (wrap)
		cat_word("EXEC");
	aof.appended += aof.len - len0;
	lsn = aof.appended;
	if (aof.precut || aof.closed) {
		/* switching on, before the cut (the base will hold this write),
		 * or switched off: nothing to write, nobody waits for it */
		aof.len = len0;
		/* release: as the AOF thread's (a reply seeing it may leave) */
		atomic_store_explicit(&aof.synced, lsn, memory_order_release);
		pthread_mutex_unlock(&aof.lock);
		return lsn;
	}
	stat_add(&aof.nrec, p->n);
	if (len0 == 0)
		aof.queued_since = clock_mono_ns();
	/* Under always, a worker's records wait for its batch end
	 * (aof_batch_end): one write and one fdatasync for the whole batch;
	 * a thread that is not a worker has no batch end: its record goes at
	 * once. A busy AOF thread takes the queue when it comes back: no
	 * wake-up. relaxed policy: see aof_internal.h */
	if (atomic_load_explicit(&aof_fsync_g, memory_order_relaxed) == AOF_FSYNC_ALWAYS &&
	    aof.len < AOF_GATHER_BYTES) {
		struct wctx *w = wctx_self();

		/* a worker's append does not signal even when the queue is
		 * kicked already: a kick that waits (the group wait) would
		 * otherwise wake the AOF thread once per returning client */
		if (w->index >= 0) {
			w->aof_unkicked = true;
		} else {
			aof.kicked = true;
			if (aof.idle)
				signal_work();
		}
	} else if (aof.idle || (aof.gathering && aof.len >= AOF_GATHER_BYTES)) {
		signal_work();
	}
	pthread_mutex_unlock(&aof.lock);
	return lsn;
}

/* appendfsync always, a worker's batch end with records queued and the
 * AOF thread waiting for them: the worker writes and fdatasyncs the queue
 * itself and releases the replies it covers, as Redis's event loop does
 * before it sleeps, instead of waking the AOF thread and being woken back
 * by it (two thread switches and a futex wake more per fdatasync on a
 * shared core). The worker is offline here (net's offline hook, between
 * tasks: no stripe, gate or epoch held), so nothing waits for it but its
 * own connections' next runs, which this fdatasync would hold back anyway
 * if they write. Only while the AOF thread is in its wait loop (waiting,
 * or woken but not yet past its checks of inline_busy: thr_waiting), not
 * while it writes, switches files or stops.
 * Under lock; returns whether it committed (the lock was dropped
 * meanwhile). */
static bool commit_inline(void)
{
	char *b;
	size_t n, cap;
	uint64_t end, recs;
	int64_t t0;
	int rc;

	/* relaxed policy: see aof_internal.h */
	if (!aof.thr_waiting || aof.inline_busy || aof.stop || aof.switch_pending || aof.len == 0 ||
	    aof.fd < 0 || aof.precut || aof.closed ||
	    atomic_load_explicit(&aof_fsync_g, memory_order_relaxed) != AOF_FSYNC_ALWAYS)
		return false;
	aof.inline_busy = true;
	aof.kicked = false;
	group_taken(clock_mono_ns(), false);
	b = aof.buf;
	cap = aof.cap;
	aof.buf = aof.ibuf;
	aof.cap = aof.icap;
	n = aof.len;
	aof.len = 0;
	end = aof.appended;
	/* relaxed: written under the lock we hold */
	recs = atomic_load_explicit(&aof.nrec, memory_order_relaxed);
	pthread_mutex_unlock(&aof.lock);

	t0 = clock_mono_ns();
	rc = aof_write_all(aof.fd, b, n);
	if (rc == 0 && fdatasync(aof.fd) < 0)
		rc = -errno;
	if (rc < 0)
		fatal_write(rc);
	stat_add(&aof.nwrite, 1);
	stat_add(&aof.ninline, 1);
	stat_add(&aof.inline_ns, (uint64_t)(clock_mono_ns() - t0));
	/* release: as the AOF thread's; before fsync_note, so that no
	 * DEBUG AOF-FSYNC sees fsynced ahead of written */
	atomic_store_explicit(&aof.written, end, memory_order_release);
	fsync_note(end, recs);

	pthread_mutex_lock(&aof.lock);
	fsync_time_note(clock_mono_ns() - t0);
	aof.ibuf = b;
	aof.icap = cap;
	/* release: as the AOF thread's, the write and fdatasync above happen
	 * before any reply that aof_before_write lets go on seeing it */
	if (end > atomic_load_explicit(&aof.synced, memory_order_relaxed))
		atomic_store_explicit(&aof.synced, end, memory_order_release);
	wake_held(false);
	aof.inline_busy = false;
	pthread_cond_broadcast(&aof.done);
	/* records other workers queued meanwhile, already kicked */
	if (aof.len > 0 && aof.kicked && aof.idle)
		signal_work();
	return true;
}

void aof_batch_end(void)
{
	struct wctx *w = wctx_self();
	bool busy;

	if (!w->aof_unkicked)
		return;
	/* tasks still queued: a poll in the middle of the batch, not its end */
	busy = net_worker_has_tasks(w->index);
	pthread_mutex_lock(&aof.lock);
	if (busy && aof.len > 0 && clock_mono_ns() - aof.queued_since < AOF_KICK_NS) {
		pthread_mutex_unlock(&aof.lock);
		return; /* the batch's end (or a later poll) kicks */
	}
	w->aof_unkicked = false;
	/* nothing queued: the AOF thread took this worker's records already */
	if (aof.len > 0) {
		int64_t now = clock_mono_ns(), left = group_wait_ns(now);

		if (left > 0) {
			/* the group wait: the writes expected back commit them at
			 * a later batch end; else the AOF thread, at the bound
			 * (woken now if its timed wait ends later) */
			aof.kicked = true;
			if (aof.wait_since == 0)
				aof.wait_since = now;
			if (aof.idle && aof.thr_wake_at > now + left)
				signal_work();
		} else if (!commit_inline()) {
			aof.kicked = true;
			if (aof.idle)
				signal_work();
		}
	}
	pthread_mutex_unlock(&aof.lock);
}

void aof_prop_reset(struct aof_prop *p, size_t len, size_t n)
{
	p->len = len;
	p->n = n;
	if (n == 0)
		p->overridden = false;
}

/* Each thread keeps the buffers of its last freed propagation record (if
 * small) for the next one: no malloc/free per logged command. Freed when
 * the thread exits (the key's destructor). */
#define PROP_SPARE_MAX (64 * 1024)

struct prop_spare {
	char *buf;
	size_t cap;
	struct aof_item *items;
	size_t ncap;
};

static pthread_key_t spare_key;
static pthread_once_t spare_once = PTHREAD_ONCE_INIT;

static void spare_free(void *v)
{
	struct prop_spare *sp = v;

	mem_free(sp->buf);
	mem_free(sp->items);
	mem_free(sp);
}

static void spare_key_init(void)
{
	if (pthread_key_create(&spare_key, spare_free) != 0)
		abort();
}

static struct prop_spare *spare_get(void)
{
	struct prop_spare *sp;

	pthread_once(&spare_once, spare_key_init);
	sp = pthread_getspecific(spare_key);
	if (sp == NULL) {
		sp = mem_calloc(1, sizeof(*sp));
		if (pthread_setspecific(spare_key, sp) != 0) {
			mem_free(sp);
			return NULL;
		}
	}
	return sp;
}

void aof_prop_free(struct aof_prop *p)
{
	struct prop_spare *sp = p->cap || p->ncap ? spare_get() : NULL;

	if (sp && sp->buf == NULL && p->cap <= PROP_SPARE_MAX) {
		sp->buf = p->buf;
		sp->cap = p->cap;
		p->buf = NULL;
	}
	if (sp && sp->items == NULL && p->ncap <= PROP_SPARE_MAX / sizeof(*p->items)) {
		sp->items = p->items;
		sp->ncap = p->ncap;
		p->items = NULL;
	}
	mem_free(p->buf);
	mem_free(p->items);
	memset(p, 0, sizeof(*p));
}

void aof_prop_add(struct cmd_req *r, int argc, const char *const *argv, const size_t *argl)
{
	if (r->prop)
		aof_prop_add_db(r->prop, conn_db(r->c), argc, argv, argl);
}

void aof_prop_add_db(struct aof_prop *p, int db, int argc, const char *const *argv,
		     const size_t *argl)
{
	size_t off;

	if (p == NULL)
		return;
	if (p->cap == 0 && p->ncap == 0) {
		/* the thread's spare buffers, if it has them (aof_prop_free) */
		struct prop_spare *sp = spare_get();

		if (sp && sp->buf) {
			p->buf = sp->buf;
			p->cap = sp->cap;
			sp->buf = NULL;
		}
		if (sp && sp->items) {
			p->items = sp->items;
			p->ncap = sp->ncap;
			sp->items = NULL;
		}
	}
	off = p->len;
	aof_format_cmd(&p->buf, &p->len, &p->cap, argc, argv, argl);
	if (p->n == p->ncap) {
		p->ncap = p->ncap ? 2 * p->ncap : 4;
		p->items = mem_realloc(p->items, p->ncap * sizeof(*p->items));
	}
	p->items[p->n++] = (struct aof_item){.db = db, .off = off, .len = p->len - off};
}

/* ---- stripes */

static uint16_t stripe_of(const char *k, size_t n)
{
	/* only spreads keys over stripes: 8 bytes a step (FNV-1a's constants) */
	uint64_t h = 0xcbf29ce484222325ULL ^ n;
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		uint64_t w;

		memcpy(&w, k + i, 8);
		h = (h ^ w) * 0x100000001b3ULL;
		h ^= h >> 32;
	}
	for (; i < n; i++)
		h = (h ^ (unsigned char)k[i]) * 0x100000001b3ULL;
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 32;
	return (uint16_t)(h % AOF_STRIPES);
}

/* Locks stripe i; waits for it offline, so that a grace period another
 * thread waits for (while it holds stripes) never waits for us. */
static void stripe_lock(unsigned i)
{
	if (pthread_mutex_trylock(&aof.stripe[i]) == 0)
		return;
	kvmap_thread_offline();
	pthread_mutex_lock(&aof.stripe[i]);
	kvmap_thread_online();
}

static void gate_shared(void)
{
	if (pthread_rwlock_tryrdlock(&aof.gate) == 0)
		return;
	kvmap_thread_offline();
	pthread_rwlock_rdlock(&aof.gate);
	kvmap_thread_online();
}

void aof_gate_exclusive(void)
{
	if (pthread_rwlock_trywrlock(&aof.gate) == 0)
		return;
	kvmap_thread_offline();
	pthread_rwlock_wrlock(&aof.gate);
	kvmap_thread_online();
}

uint16_t aof_stripe_of(const char *k, size_t n)
{
	return stripe_of(k, n);
}

int aof_stripe_trylock(unsigned i)
{
	return pthread_mutex_trylock(&aof.stripe[i]);
}

void aof_stripe_unlock(unsigned i)
{
	pthread_mutex_unlock(&aof.stripe[i]);
}

int aof_gate_tryshared(void)
{
	return pthread_rwlock_tryrdlock(&aof.gate);
}

void aof_gate_unlock(void)
{
	pthread_rwlock_unlock(&aof.gate);
}

static int cmp_u16(const void *a, const void *b)
{
	return (int)*(const uint16_t *)a - (int)*(const uint16_t *)b;
}

/* The stripes of r's keys into l->idx (sorted, distinct), l->n of them;
 * false when the keys are unknown or too many (the caller takes every key:
 * the gate exclusively). */
static bool keys_stripes(struct cmd_req *r, const struct cmd_def *d, const struct aof_cmd_info *in,
			 struct aof_locks *l)
{
	struct keyspec_key keys[64];
	const struct cmd_doc *doc;
	int n = 0;

	if (in && in->keys == AOF_KEYS_RANGE) {
		/* the common case (SET, INCR, HSET...): no search */
		if (r->argc <= in->last)
			return false;
		for (int i = in->first; i <= in->last; i += in->step)
			l->idx[n++] = stripe_of(r->argv[i], r->argl[i]);
	} else {
		if (in)
			doc = in->keys == AOF_KEYS_SPECS ? in->doc : NULL;
		else
			doc = multi_is_exec(d) || script_is_eval(d) ? NULL : cmd_docs_find(d->name);
		n = doc && (in || keyspec_has_keys(doc)) && r->argc * (doc->nkeyspecs + 1) <= 64
			? keyspec_find(doc, r->argc, r->argv, r->argl, keys, 64)
			: -1;
		if (n <= 0 || n > (int)(sizeof(l->idx) / sizeof(l->idx[0])))
			return false;
		for (int i = 0; i < n; i++)
			l->idx[i] = stripe_of(r->argv[keys[i].pos], r->argl[keys[i].pos]);
	}
	if (n > 1)
		qsort(l->idx, (size_t)n, sizeof(l->idx[0]), cmp_u16);
	for (int i = 0; i < n; i++)
		if (i == 0 || l->idx[i] != l->idx[i - 1])
			l->idx[l->n++] = l->idx[i];
	return true;
}

void aof_before_cmd(struct cmd_req *r, const struct cmd_def *d, struct aof_prop *p,
		    struct aof_locks *l)
{
	const struct aof_cmd_info *in;

	l->n = 0;
	l->all = false;
	l->req = NULL;
	l->info = NULL;
	r->prop = NULL;
	if (!aof_started() || aof_is_loader(r->c))
		return;
	r->prop = p;
	l->req = r;
	r->ctx->aof_cmd = l; /* keys expired from here on join its record */
	in = l->info = aof_cmd_info_of(d);
	if (!(d->flags & CMD_WRITE) &&
	    !(in ? in->exec_or_eval : multi_is_exec(d) || script_is_eval(d)))
		return;
	if (!keys_stripes(r, d, in, l)) {
		/* no keys found (EXEC, FLUSHALL, SWAPDB) or too many: every key */
		l->n = 0;
		l->all = true;
		aof_gate_exclusive();
		return;
	}
	gate_shared();
	for (int i = 0; i < l->n; i++)
		stripe_lock(l->idx[i]);
}

void aof_finish_cmd(struct cmd_req *r, struct aof_prop *p, struct aof_locks *l)
{
	r->ctx->aof_cmd = NULL;
	if (r->prop && p->n) {
		struct session *s = session_of(r->c);
		uint64_t lsn = append_prop(p, p->n > 1, s && s->aof_expect ? &s->aof_hold : NULL);

		if (s) {
			s->aof_lsn = lsn;
			s->aof_expect = false;
		}
	}
	if (l->all) {
		pthread_rwlock_unlock(&aof.gate);
	} else if (l->n) {
		for (int i = l->n; i-- > 0;)
			pthread_mutex_unlock(&aof.stripe[l->idx[i]]);
		pthread_rwlock_unlock(&aof.gate);
	}
	l->n = 0;
	l->all = false;
	aof_prop_reset(p, 0, 0);
}

bool aof_serve_lock(void)
{
	if (!aof_started())
		return false;
	aof_gate_exclusive();
	return true;
}

void aof_serve_unlock(void)
{
	pthread_rwlock_unlock(&aof.gate);
}

uint64_t aof_log_served(int db, int argc, const char *const *argv, const size_t *argl)
{
	return aof_started() ? aof_append_one(db, argc, argv, argl) : 0;
}

uint64_t aof_append_one(int db, int argc, const char *const *argv, const size_t *argl)
{
	struct aof_prop p = {0};
	struct aof_item it;
	uint64_t lsn;

	aof_format_cmd(&p.buf, &p.len, &p.cap, argc, argv, argl);
	it = (struct aof_item){.db = db, .off = 0, .len = p.len};
	p.items = &it;
	p.n = 1;
	lsn = append_prop(&p, false, NULL);
	mem_free(p.buf);
	return lsn;
}

void aof_note_lsn(struct conn *c, uint64_t lsn)
{
	struct session *s = session_of(c);

	if (s && lsn > s->aof_lsn)
		s->aof_lsn = lsn;
}

bool aof_before_write(struct conn *c)
{
	struct session *s = session_of(c);
	struct aof_hold *h;
	uint64_t lsn;
	bool go;

	if (!aof_started() || s == NULL || s->aof_lsn == 0)
		return true;
	lsn = s->aof_lsn;
	/* not held before (so not linked): decide without the lock.
	 * relaxed policy: see aof_internal.h. acquire: pairs with the AOF
	 * thread's release, so the fsync covering lsn is done before the
	 * reply leaves */
	if (!s->aof_held &&
	    (atomic_load_explicit(&aof_fsync_g, memory_order_relaxed) != AOF_FSYNC_ALWAYS ||
	     atomic_load_explicit(&aof.synced, memory_order_acquire) >= lsn)) {
		s->aof_lsn = 0;
		return true;
	}
	h = &s->aof_hold;
	pthread_mutex_lock(&aof.lock);
	/* relaxed synced: stored under the lock we hold. relaxed policy: see
	 * aof_internal.h; a policy no longer always lets the replies go (the
	 * AOF thread's next pass would wake them anyway) */
	go = atomic_load_explicit(&aof.synced, memory_order_relaxed) >= lsn || aof.stop ||
	     atomic_load_explicit(&aof_fsync_g, memory_order_relaxed) != AOF_FSYNC_ALWAYS;
	if (go) {
		if (h->linked)
			hold_unlink(h);
	} else {
		h->lsn = lsn;
		if (!h->linked) {
			stat_add(&aof.nheld, 1);
			h->c = c;
			h->prev = aof.held.prev;
			h->next = &aof.held;
			aof.held.prev->next = h;
			aof.held.prev = h;
			h->linked = true;
		}
	}
	pthread_mutex_unlock(&aof.lock);
	if (go && s->aof_held)
		s->aof_expect = true; /* held, now released: maybe expected back */
	s->aof_held = !go;
	if (go)
		s->aof_lsn = 0;
	return go;
}

void aof_conn_close(struct conn *c, void *session)
{
	struct session *s = session;

	(void)c;
	if (s == NULL || (!s->aof_held && !s->aof_expect))
		return;
	pthread_mutex_lock(&aof.lock);
	if (s->aof_hold.linked)
		hold_unlink(&s->aof_hold);
	expect_clear(&s->aof_hold); /* closed: never back */
	pthread_mutex_unlock(&aof.lock);
	s->aof_held = false;
	s->aof_expect = false;
}

size_t aof_info(char *buf, size_t len)
{
	uint64_t appended, synced, cur, base;
	size_t pending;
	int n;

	if (!aof_enabled())
		return 0;
	pthread_mutex_lock(&aof.lock);
	appended = aof.appended;
	/* relaxed: stored under the lock we hold */
	synced = atomic_load_explicit(&aof.synced, memory_order_relaxed);
	pending = aof.len;
	cur = aof.cur_base + appended - aof.cur_from;
	base = aof.base_size;
	pthread_mutex_unlock(&aof.lock);
	n = snprintf(buf, len,
		     "aof_current_size:%llu\r\naof_base_size:%llu\r\naof_pending_rewrite:0\r\n"
		     "aof_buffer_length:%zu\r\naof_pending_bio_fsync:%d\r\n"
		     "aof_delayed_fsync:0\r\n",
		     (unsigned long long)cur, (unsigned long long)base, pending,
		     synced < appended ? 1 : 0);
	return n < 0 ? 0 : (size_t)n >= len ? len - 1 : (size_t)n;
}

size_t aof_group_info(char *buf, size_t len)
{
	int n;

	if (!aof_enabled())
		return 0;
#define AOF_STAT(x) (unsigned long long)atomic_load_explicit(&aof.x, memory_order_relaxed)
	/* AOF_STAT: relaxed, statistics */
	n = snprintf(buf, len,
		     "aof_gc_records:%llu\r\naof_gc_writes:%llu\r\naof_gc_fsyncs:%llu\r\n"
		     "aof_gc_fsync_records:%llu\r\naof_gc_thread_waits:%llu\r\n"
		     "aof_gc_thread_signals:%llu\r\naof_gc_replies_held:%llu\r\n"
		     "aof_gc_held_woken:%llu\r\naof_gc_wake_passes:%llu\r\n"
		     "aof_gc_inline_commits:%llu\r\naof_gc_inline_us:%llu\r\n"
		     "aof_gc_group_waits:%llu\r\naof_gc_group_wait_us:%llu\r\n"
		     "aof_gc_group_timeouts:%llu\r\n",
		     AOF_STAT(nrec), AOF_STAT(nwrite), AOF_STAT(nfsync), AOF_STAT(fsync_recs),
		     AOF_STAT(nwait), AOF_STAT(nsignal), AOF_STAT(nheld), AOF_STAT(nwake),
		     AOF_STAT(nwake_pass), AOF_STAT(ninline), AOF_STAT(inline_ns) / 1000,
		     AOF_STAT(ngwait), AOF_STAT(gwait_ns) / 1000, AOF_STAT(ngtimeout));
#undef AOF_STAT
	return n < 0 ? 0 : (size_t)n >= len ? len - 1 : (size_t)n;
}
