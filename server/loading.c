/*
 * loading.c — the start-up load on a thread of its own, and its INFO fields
 * (loading.h). The state is a handful of atomics: the loading thread writes
 * the progress, INFO reads it from any worker; none of it publishes data
 * but `active`, whose release store ends the load.
 */
#include "server/loading.h"

#include "concurrency/clock.h"
#include "server/log.h"
#include "storage/db.h"
#include "storage/kvmap.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

static struct {
	/* 1 from loading_begin until the load completed (loading thread:
	 * release store; readers acquire); stays 1 when it failed or was
	 * cancelled, as the server then only shuts down */
	_Atomic int active;
	/* set by loading_stop; polled by the load's loops (relaxed: a request
	 * to stop, it publishes nothing) */
	_Atomic int cancel;
	/* written by the loading thread, read by INFO (relaxed: statistics) */
	_Atomic uint64_t total, loaded;
	_Atomic long long used_mem;
	_Atomic int64_t start_s;
	/* the thread and its outcome: written by the loading thread before it
	 * exits, read by loading_stop after the join (which orders them) */
	pthread_t thr;
	bool started;
	int result;
	loading_fn fn;
	loading_fail_fn on_fail;
	int port;
} ld;

void loading_begin(uint64_t total_bytes, long long rdb_used_mem)
{
	/* relaxed: no other thread runs yet (net_setup's thread creation
	 * publishes it) */
	atomic_store_explicit(&ld.active, 1, memory_order_relaxed);
	atomic_store_explicit(&ld.start_s, clock_wall_ms() / 1000, memory_order_relaxed);
	atomic_store_explicit(&ld.total, total_bytes, memory_order_relaxed);
	atomic_store_explicit(&ld.loaded, 0, memory_order_relaxed);
	atomic_store_explicit(&ld.used_mem, rdb_used_mem, memory_order_relaxed);
	atomic_store_explicit(&ld.cancel, 0, memory_order_relaxed);
}

static void *loading_main(void *arg)
{
	char err[1024] = "";
	int rc;

	(void)arg;
	kvmap_thread_register();
	rc = ld.fn(err, sizeof(err));
	db_coll_thread_exit();
	kvmap_thread_unregister();
	if (rc == 0) {
		ld.result = 0;
		/* release: every key the load wrote before a command that sees
		 * loading over; pairs with the acquire in loading_active() */
		atomic_store_explicit(&ld.active, 0, memory_order_release);
		LOG(LOG_NOTICE, "Ready to accept connections on port %d", ld.port);
		return NULL;
	}
	/* relaxed: see ld.cancel */
	if (rc == -ECANCELED || atomic_load_explicit(&ld.cancel, memory_order_relaxed)) {
		ld.result = 1;
		LOG(LOG_WARNING, "Loading stopped by a shutdown: nothing is saved");
		return NULL;
	}
	ld.result = -1;
	LOG(LOG_WARNING, "%s", err);
	LOG(LOG_WARNING, "Fatal error loading the DB, exiting now.");
	fprintf(stderr, "kvsd: %s\n", err);
	ld.on_fail();
	return NULL;
}

int loading_start(loading_fn fn, loading_fail_fn on_fail, int port, char *err, size_t errlen)
{
	int rc;

	ld.fn = fn;
	ld.on_fail = on_fail;
	ld.port = port;
	rc = pthread_create(&ld.thr, NULL, loading_main, NULL);
	if (rc != 0) {
		snprintf(err, errlen, "Can't start the loading thread: %s", strerror(rc));
		return -1;
	}
	ld.started = true;
	return 0;
}

int loading_stop(void)
{
	if (!ld.started)
		return 0;
	/* relaxed: see ld.cancel; the join below is the synchronisation */
	atomic_store_explicit(&ld.cancel, 1, memory_order_relaxed);
	pthread_join(ld.thr, NULL);
	ld.started = false;
	return ld.result;
}

bool loading_active(void)
{
	/* acquire: pairs with the release in loading_main(), so the whole
	 * dataset is visible once this reads 0 */
	return atomic_load_explicit(&ld.active, memory_order_acquire) != 0;
}

const _Atomic int *loading_cancel_flag(void)
{
	return &ld.cancel;
}

/* relaxed in the setters and in loading_info: statistics, publish nothing */
void loading_set_loaded(uint64_t bytes)
{
	atomic_store_explicit(&ld.loaded, bytes, memory_order_relaxed);
}

void loading_add_loaded(uint64_t bytes)
{
	atomic_fetch_add_explicit(&ld.loaded, bytes, memory_order_relaxed);
}

void loading_set_rdb_used_mem(long long bytes)
{
	atomic_store_explicit(&ld.used_mem, bytes, memory_order_relaxed);
}

int loading_info_flag(void)
{
	return loading_active() ? 1 : 0;
}

size_t loading_info(char *buf, size_t len)
{
	uint64_t total = atomic_load_explicit(&ld.total, memory_order_relaxed);
	uint64_t loaded = atomic_load_explicit(&ld.loaded, memory_order_relaxed);
	int64_t start = atomic_load_explicit(&ld.start_s, memory_order_relaxed);
	int64_t elapsed = clock_wall_ms() / 1000 - start, eta;
	uint64_t remaining = 1;
	double perc = 0;
	int n;

	if (len == 0 || !loading_active())
		return 0;
	/* Redis 7.0's genRedisInfoString, to the letter */
	if (total) {
		perc = (double)loaded / (double)total * 100;
		remaining = total > loaded ? total - loaded : 0;
	}
	if (elapsed == 0)
		eta = 1; /* Redis's fake figure when nothing is known yet */
	else
		eta = (int64_t)((uint64_t)elapsed * remaining / (loaded + 1));
	n = snprintf(buf, len,
		     "loading_start_time:%lld\r\nloading_total_bytes:%llu\r\n"
		     "loading_rdb_used_mem:%lld\r\nloading_loaded_bytes:%llu\r\n"
		     "loading_loaded_perc:%.2f\r\nloading_eta_seconds:%lld\r\n",
		     (long long)start, (unsigned long long)total,
		     atomic_load_explicit(&ld.used_mem, memory_order_relaxed),
		     (unsigned long long)loaded, perc, (long long)eta);
	return n < 0 ? 0 : (size_t)n >= len ? len - 1 : (size_t)n;
}
