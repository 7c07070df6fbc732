/*
 * aof.c — the AOF directory, the AOF thread (write + group-commit fsync),
 * the stripes that order writes per key, and start-up replay (aof.h).
 *
 * Replay runs every command of the files through the normal command path:
 * one end of a socketpair becomes a client connection (net_adopt) and the
 * loading thread (server/loading.h) writes the files into the other end
 * while it reads and drops the replies; an ECHO of a random token after the
 * last command says when everything ran. Meanwhile every other client gets
 * -LOADING for what Redis refuses while loading, so none sees a half-loaded
 * dataset; only the loader's connection runs everything.
 */
#include "server/aof.h"
#include "server/loading.h"
#include "server/aof_internal.h"
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

/* Redis's aof_state */
enum { AOF_OFF, AOF_WAIT_REWRITE, AOF_ON };

static struct {
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
	 * byte count (LSN) the last one covered; written by the AOF thread,
	 * read by DEBUG: relaxed, statistics */
	_Atomic uint64_t nfsync, fsynced, written;
	/* the start-up loader's connection id (0: none); written by net_adopt
	 * before the connection is handed to a worker, read by conn_init and
	 * dispatch */
	_Atomic uint64_t loader_id;
} aof = {.fd = -1, .last_db = -1, .closed = true, .rw_last_secs = -1, .rw_last_ok = true};

bool aof_is_loader(const struct conn *c)
{
	/* relaxed: net_adopt stores it before the hand-off to the worker,
	 * whose inbox pop (acquire) orders it before every run of the loader's
	 * connection; any other connection only compares it */
	uint64_t id = atomic_load_explicit(&aof.loader_id, memory_order_relaxed);

	return id != 0 && conn_id(c) == id;
}

/* ---- paths and files */

static char *path_of(const char *name)
{
	size_t n = strlen(aof.dir) + strlen(name) + 2;
	char *p = mem_alloc(n);

	snprintf(p, n, "%s/%s", aof.dir, name);
	return p;
}

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

/* Writes all of buf to fd. 0 or -errno. */
static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Replaces dir/name with the bytes: temp file, fsync, rename, fsync dir. */
static int write_file_atomic(const char *name, const char *buf, size_t len)
{
	char *path = path_of(name), *tmp;
	size_t n = strlen(path) + 16;
	int fd, rc;

	tmp = mem_alloc(n);
	snprintf(tmp, n, "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	rc = write_all(fd, buf, len);
	if (rc == 0 && fsync(fd) < 0)
		rc = -errno;
	close(fd);
	if (rc == 0 && rename(tmp, path) < 0)
		rc = -errno;
	if (rc == 0)
		rc = fsync_dir(aof.dir);
	if (rc < 0)
		unlink(tmp);
out:
	mem_free(tmp);
	mem_free(path);
	return rc;
}

static int read_file(const char *path, char **out, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	char *buf;
	size_t got = 0;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return -errno;
	}
	buf = mem_alloc((size_t)st.st_size + 1);
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	buf[got] = '\0';
	*out = buf;
	*len = got;
	return 0;
}

/* ---- an empty RDB base (Redis writes one when it creates the directory) */

static void put_str(char **b, size_t *n, size_t *cap, const char *s)
{
	size_t l = strlen(s);
	char hdr = (char)l; /* < 64: the 6-bit length form */

	aof_format_raw(b, n, cap, &hdr, 1);
	aof_format_raw(b, n, cap, s, l);
}

static void put_int32(char **b, size_t *n, size_t *cap, uint32_t v)
{
	unsigned char t[5] = {0xc2, (unsigned char)v, (unsigned char)(v >> 8),
			      (unsigned char)(v >> 16), (unsigned char)(v >> 24)};

	aof_format_raw(b, n, cap, (const char *)t, 5);
}

/* An RDB file with only Redis 7.0's AUX fields and "aof-base 1": the base
 * of a dataset that was empty when the AOF began. */
static char *empty_rdb(size_t *len)
{
	char *b = NULL;
	size_t cap = 0;
	unsigned char c;
	uint64_t crc;

	*len = 0;
	aof_format_raw(&b, len, &cap, "REDIS0010", 9);
	c = 0xfa;
	aof_format_raw(&b, len, &cap, (const char *)&c, 1);
	put_str(&b, len, &cap, "redis-ver");
	put_str(&b, len, &cap, "7.0.15");
	aof_format_raw(&b, len, &cap, "\xfa", 1);
	put_str(&b, len, &cap, "redis-bits");
	aof_format_raw(&b, len, &cap, "\xc0\x40", 2);
	aof_format_raw(&b, len, &cap, "\xfa", 1);
	put_str(&b, len, &cap, "ctime");
	put_int32(&b, len, &cap, (uint32_t)(clock_wall_ms() / 1000));
	aof_format_raw(&b, len, &cap, "\xfa", 1);
	put_str(&b, len, &cap, "used-mem");
	put_int32(&b, len, &cap, 1 << 20);
	aof_format_raw(&b, len, &cap, "\xfa", 1);
	put_str(&b, len, &cap, "aof-base");
	aof_format_raw(&b, len, &cap, "\xc0\x01", 2);
	aof_format_raw(&b, len, &cap, "\xff", 1);
	crc = crc64(0, b, *len);
	for (int i = 0; i < 8; i++) {
		c = (unsigned char)(crc >> (8 * i));
		aof_format_raw(&b, len, &cap, (const char *)&c, 1);
	}
	return b;
}

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
static struct timespec deadline_in(long ns)
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

static void hold_unlink(struct aof_hold *h)
{
	h->prev->next = h->next;
	h->next->prev = h->prev;
	h->prev = h->next = NULL;
	h->linked = false;
}

/* Wakes the held connections the synced offset covers (every one with
 * `all`: the AOF stops). Under lock: a closing connection unlinks itself
 * under it (aof_conn_close), so none is woken after its close hook. */
static void wake_held(bool all)
{
	/* relaxed: stored by this thread, under the lock we hold */
	uint64_t synced = atomic_load_explicit(&aof.synced, memory_order_relaxed);
	struct aof_hold *h = aof.held.next;

	while (h != &aof.held) {
		struct aof_hold *next = h->next;

		if (all || h->lsn <= synced) {
			hold_unlink(h);
			conn_wake(h->c);
		}
		h = next;
	}
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

/* The AOF thread: an fdatasync covered the records up to lsn. */
static void fsync_note(uint64_t lsn)
{
	/* relaxed: statistics for DEBUG AOF-FSYNC; single writer */
	atomic_store_explicit(&aof.fsynced, lsn, memory_order_relaxed);
	atomic_store_explicit(&aof.nfsync,
			      atomic_load_explicit(&aof.nfsync, memory_order_relaxed) + 1,
			      memory_order_relaxed);
}

static void *aof_thread(void *arg)
{
	char *batch = NULL;
	size_t bcap = 0;
	int64_t last_fsync = clock_mono_ns();
	uint64_t unsynced = 0;

	(void)arg;
	pthread_mutex_lock(&aof.lock);
	for (;;) {
		size_t n;
		uint64_t end, sw_at;
		int policy, sw_fd;
		bool sw;

		while (aof.len == 0 && !aof.stop && !aof.switch_pending) {
			struct timespec ts = deadline_in(100 * 1000 * 1000);

			/* wake at least every 100 ms: everysec's fsync clock and the
			 * auto-rewrite check */
			aof.idle = true;
			pthread_cond_timedwait(&aof.work, &aof.lock, &ts);
			aof.idle = false;
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
		if (aof.len == 0 && aof.stop && !aof.switch_pending)
			break;
		/* relaxed: see aof_internal.h */
		policy = atomic_load_explicit(&aof_fsync_g, memory_order_relaxed);
		if (policy != AOF_FSYNC_ALWAYS && aof.len && aof.len < AOF_GATHER_BYTES &&
		    !aof.stop && !aof.switch_pending) {
			/* everysec / no: nobody waits for this write, so let more
			 * records share it (one write(2), fewer wake-ups) */
			struct timespec ts = deadline_in(AOF_GATHER_NS);

			aof.gathering = true;
			while (aof.len < AOF_GATHER_BYTES && !aof.stop && !aof.switch_pending)
				if (pthread_cond_timedwait(&aof.work, &aof.lock, &ts) == ETIMEDOUT)
					break;
			aof.gathering = false;
		}
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
				int rc = write_all(aof.fd, batch, k);

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
		if (n) {
			int rc = write_all(aof.fd, batch, n);

			if (rc < 0)
				fatal_write(rc);
			unsynced += n;
		}
		/* relaxed: statistics for DEBUG AOF-FSYNC */
		atomic_store_explicit(&aof.written, end, memory_order_relaxed);
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
			fsync_note(end);
		}

		pthread_mutex_lock(&aof.lock);
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
		fsync_note(aof.appended - aof.len);
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

/* Appends the record; returns its LSN. Under no lock of ours but stripes. */
static uint64_t append_prop(const struct aof_prop *p, bool wrap)
{
	uint64_t lsn;
	size_t len0;

	pthread_mutex_lock(&aof.lock);
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
	/* a busy AOF thread takes the queue when it comes back: no wake-up */
	if (aof.idle || (aof.gathering && aof.len >= AOF_GATHER_BYTES))
		pthread_cond_signal(&aof.work);
	pthread_mutex_unlock(&aof.lock);
	return lsn;
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
	uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a: only spreads keys over stripes */

	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)k[i];
		h *= 0x100000001b3ULL;
	}
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

static void gate_exclusive(void)
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

void aof_before_cmd(struct cmd_req *r, const struct cmd_def *d, struct aof_prop *p,
		    struct aof_locks *l)
{
	const struct cmd_doc *doc;
	struct keyspec_key keys[64];
	int n;

	l->n = 0;
	l->all = false;
	l->req = NULL;
	r->prop = NULL;
	if (!aof_started() || aof_is_loader(r->c))
		return;
	r->prop = p;
	l->req = r;
	r->ctx->aof_cmd = l; /* keys expired from here on join its record */
	if (!(d->flags & CMD_WRITE) && !multi_is_exec(d) && !script_is_eval(d))
		return;
	doc = multi_is_exec(d) || script_is_eval(d) ? NULL : cmd_docs_find(d->name);
	n = doc && keyspec_has_keys(doc) && r->argc * (doc->nkeyspecs + 1) <= 64
		? keyspec_find(doc, r->argc, r->argv, r->argl, keys, 64)
		: -1;
	if (n <= 0 || n > (int)(sizeof(l->idx) / sizeof(l->idx[0]))) {
		/* no keys found (EXEC, FLUSHALL, SWAPDB) or too many: every key */
		l->all = true;
		gate_exclusive();
		return;
	}
	gate_shared();
	for (int i = 0; i < n; i++)
		l->idx[i] = stripe_of(r->argv[keys[i].pos], r->argl[keys[i].pos]);
	qsort(l->idx, (size_t)n, sizeof(l->idx[0]), cmp_u16);
	for (int i = 0; i < n; i++)
		if (i == 0 || l->idx[i] != l->idx[i - 1])
			l->idx[l->n++] = l->idx[i];
	for (int i = 0; i < l->n; i++)
		stripe_lock(l->idx[i]);
}

void aof_finish_cmd(struct cmd_req *r, struct aof_prop *p, struct aof_locks *l)
{
	r->ctx->aof_cmd = NULL;
	if (r->prop && p->n) {
		uint64_t lsn = append_prop(p, p->n > 1);
		struct session *s = session_of(r->c);

		if (s)
			s->aof_lsn = lsn;
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
	gate_exclusive();
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
	lsn = append_prop(&p, false);
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
			h->c = c;
			h->prev = aof.held.prev;
			h->next = &aof.held;
			aof.held.prev->next = h;
			aof.held.prev = h;
			h->linked = true;
		}
	}
	pthread_mutex_unlock(&aof.lock);
	s->aof_held = !go;
	if (go)
		s->aof_lsn = 0;
	return go;
}

void aof_conn_close(struct conn *c, void *session)
{
	struct session *s = session;

	(void)c;
	if (s == NULL || !s->aof_held)
		return;
	pthread_mutex_lock(&aof.lock);
	if (s->aof_hold.linked)
		hold_unlink(&s->aof_hold);
	pthread_mutex_unlock(&aof.lock);
	s->aof_held = false;
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

static bool rw_cancelled(void);

/* Each key: none more once switched off (the switch-off waits for the
 * rewrite's end, which must come soon however large the batch) */
static void rs_entry(void *arg, const struct kv_entry *e)
{
	struct rw_src *r = arg;

	if (!rw_cancelled())
		r->fn(r->fnarg, e);
}

static bool rs_next(void *arg, int i, rdb_entry_fn fn, void *fnarg)
{
	struct rw_src *r = arg;

	/* switched off: the file written so far is thrown away (rewrite_run) */
	if (rw_cancelled())
		return false;
	r->fn = fn;
	r->fnarg = fnarg;
	return db_snap_next(r->s, i, rs_entry, r);
}

static int write_manifest(const struct aof_manifest *m, char *err, size_t errlen)
{
	char name[512], *text;
	size_t len;
	int rc;

	text = aof_manifest_format(m, &len);
	snprintf(name, sizeof(name), "%s.manifest", aof.fname);
	rc = write_file_atomic(name, text, len);
	mem_free(text);
	if (rc < 0)
		snprintf(err, errlen, "Can't write the AOF manifest %.200s: %s", name,
			 strerror(-rc));
	return rc;
}

static void unlink_name(const char *name)
{
	char *p = path_of(name);

	unlink(p);
	mem_free(p);
}

/* The generation the running rewrite belongs to: the rewrite thread's. */
static uint64_t rw_gen;

static bool rw_cancelled(void)
{
	/* relaxed: a request to give up; what the rewrite then touches is
	 * under rw_lock or lock */
	return atomic_load_explicit(&aof.gen, memory_order_relaxed) != rw_gen;
}

static bool rw_cancelled_cb(void *arg)
{
	(void)arg;
	return rw_cancelled();
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
	struct rdb_save_opts o = {.compress = cfg_int(CFG_RDBCOMPRESSION) != 0,
				  .checksum = cfg_int(CFG_RDBCHECKSUM) != 0,
				  .aof_base = true,
				  .used_mem = 0,
				  .key_delay = (int)cfg_int(CFG_RDB_KEY_SAVE_DELAY)};
	char *p = path_of(tmp_name), **libs;
	size_t *lib_lens;
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644), rc, nlibs;
	struct stat bst;

	o.now_ms = clock_wall_ms();
	nlibs = script_func_codes(&libs, &lib_lens);
	o.libs = libs;
	o.lib_lens = lib_lens;
	o.nlibs = nlibs;
	rc = fd < 0 ? -1
	     : rdb_base
		 ? rdb_save(fd, &src, &o, st, err, errlen)
		 : aof_base_write(fd, &src, libs, lib_lens, nlibs, o.now_ms, st, err, errlen);
	script_func_codes_free(libs, lib_lens, nlibs);
	if (fd >= 0 && rc == 0 && fsync(fd) != 0) {
		snprintf(err, errlen, "fsync: %s", strerror(errno));
		rc = -1;
	}
	if (fd >= 0 && rc == 0 && fstat(fd, &bst) == 0)
		*bytes = (uint64_t)bst.st_size;
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
 * and the state is AOF_ON. A switch-off (a new generation: rw_cancelled)
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
	p = path_of(enabling ? tmp_incr : incr_name);
	nfd = open(p, O_WRONLY | O_APPEND | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	mem_free(p);
	if (nfd < 0) {
		snprintf(err, errlen, "Can't open the append-only file %.200s: %s",
			 enabling ? tmp_incr : incr_name, strerror(errno));
		return -errno;
	}
	if (!enabling) {
		aof_manifest_add(&aof.man, incr_name, seq_i, 'i');
		rc = write_manifest(&aof.man, err, errlen);
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
		on = !rw_cancelled();
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
	gate_exclusive();
	e = -ECANCELED;
	rw_src.s = rw_cancelled() ? NULL : db_snap_begin(aof.db, &e);
	if (rw_src.s) {
		bool handed = false;

		pthread_mutex_lock(&aof.lock);
		/* else switched off meanwhile (maybe on again: not ours) */
		if (!aof.closed && !rw_cancelled()) {
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
	if (rc == 0 && rw_cancelled()) {
		snprintf(err, errlen, "appendonly was switched off");
		rc = -ECANCELED;
	}
	if (rc == 0) {
		char *q = path_of(base_name);

		p = path_of(tmp_name);
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
		char *q = path_of(incr_name);

		p = path_of(tmp_incr);
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
	rc = write_manifest(&next, err, errlen);
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
	(void)fsync_dir(aof.dir);
	if (enabling) {
		pthread_mutex_lock(&aof.rw_lock);
		if (!rw_cancelled() && aof.state == AOF_WAIT_REWRITE)
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
	rw_src.s = rw_cancelled() ? NULL : db_snap_begin(aof.db, &e);
	if (rw_src.s == NULL) {
		snprintf(err, errlen, "Can't take a snapshot for the AOF rewrite: %s",
			 strerror(-e));
		return e;
	}
	rc = write_base(tmp_name, rdb_base, &st, &base_bytes, err, errlen);
	db_snap_end(&rw_src.s);
	if (rc == 0 && rw_cancelled()) {
		snprintf(err, errlen, "appendonly was switched on");
		rc = -ECANCELED;
	}
	if (rc == 0) {
		char *p = path_of(tmp_name), *q = path_of(base_name);

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
	rc = write_manifest(&next, err, errlen);
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
	(void)fsync_dir(aof.dir);
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
	/* relaxed: written under rw_lock, which we hold */
	rw_gen = atomic_load_explicit(&aof.gen, memory_order_relaxed);
	pthread_mutex_unlock(&aof.rw_lock);
	psrv_background_prio("AOF rewrite");
	kvmap_thread_register();
	rc = off ? rewrite_off_run(err, sizeof(err)) : rewrite_run(enabling, err, sizeof(err));
	if (rc == -EBUSY) /* Redis: scheduled while another save runs */
		LOG(LOG_WARNING, "AOF rewrite scheduled: a background save is in progress");
	else if (rc == -ECANCELED)
		LOG(LOG_NOTICE, "Background AOF rewrite abandoned: appendonly was switched %s",
		    off ? "on" : "off");
	else if (rc != 0)
		LOG(LOG_WARNING, "Background AOF rewrite failed: %s", err);
	kvmap_thread_unregister();
	pthread_mutex_lock(&aof.rw_lock);
	if (rc != -ECANCELED && rc != -EBUSY) {
		aof.rw_fails = rc == 0 ? 0 : aof.rw_fails + 1;
		aof.rw_end_ns = clock_mono_ns();
		aof.rw_last_secs = (aof.rw_end_ns - aof.rw_start_ns) / 1000000000LL;
		aof.rw_last_ok = rc == 0;
	}
	/* still switching on (Redis: aof_rewrite_scheduled, retried by the
	 * AOF thread's check) */
	if (!rw_cancelled() && aof.state != AOF_OFF &&
	    (rc == -EBUSY || (rc != 0 && aof.state == AOF_WAIT_REWRITE)))
		aof.rw_scheduled = true;
	aof.rw_running = false;
	pthread_mutex_unlock(&aof.rw_lock);
	return NULL;
}

static int open_dir(char *err, size_t errlen);

/* Starts the rewrite thread. rw_lock held. */
static int rewrite_spawn(char *err, size_t errlen)
{
	if (aof.rw_joinable)
		pthread_join(aof.rw_thr, NULL); /* it ended: rw_running is false */
	aof.rw_joinable = false;
	aof.rw_running = true;
	aof.rw_abandoned = false;
	aof.rw_scheduled = false;
	aof.rw_count++;
	aof.rw_start_ns = clock_mono_ns();
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
		int r = open_dir(why, sizeof(why));

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
		rc = rewrite_spawn(err, errlen);
	}
	pthread_mutex_unlock(&aof.rw_lock);
	return rc;
}

int aof_shutdown_prepare(bool force)
{
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
			/* relaxed: as the switch-off's (rw_cancelled): the rewrite
			 * gives up at its next key; the teardown joins it */
			atomic_store_explicit(
			    &aof.gen, atomic_load_explicit(&aof.gen, memory_order_relaxed) + 1,
			    memory_order_relaxed);
		}
	}
	pthread_mutex_unlock(&aof.rw_lock);
	return rc;
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

/* ---- loading */

/* Feeds bytes to the loader connection and drains its replies; with
 * `token`, reads until the token's ECHO reply has arrived. */
static int feed(int fd, const char *buf, size_t len, const char *token)
{
	char rd[65536];
	size_t tl = token ? strlen(token) : 0;
	/* the tail of what was read, to find a token cut across reads */
	char tail[128];
	size_t tailn = 0;

	for (;;) {
		struct pollfd pf = {.fd = fd, .events = POLLIN | (len ? POLLOUT : 0)};

		if (len == 0 && token == NULL)
			return 0;
		/* relaxed: a request to stop (loading.h) */
		if (atomic_load_explicit(loading_cancel_flag(), memory_order_relaxed))
			return -ECANCELED;
		if (poll(&pf, 1, 100) < 0) { /* a shutdown is seen within 100 ms */
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (pf.revents & POLLIN) {
			ssize_t n = read(fd, rd, sizeof(rd));

			if (n == 0)
				return -EPIPE;
			if (n > 0 && token) {
				/* search tail + new bytes for the token */
				size_t keep = tailn + (size_t)n;
				char *scan = mem_alloc(keep + 1);

				memcpy(scan, tail, tailn);
				memcpy(scan + tailn, rd, (size_t)n);
				scan[keep] = '\0';
				if (memmem(scan, keep, token, tl)) {
					mem_free(scan);
					return 0;
				}
				tailn = keep < tl ? keep : tl;
				memcpy(tail, scan + keep - tailn, tailn);
				mem_free(scan);
			}
		} else if (pf.revents & (POLLERR | POLLHUP)) {
			return -EPIPE;
		}
		if (len && (pf.revents & POLLOUT)) {
			ssize_t n = write(fd, buf, len > 65536 ? 65536 : len);

			if (n > 0) {
				buf += n;
				len -= (size_t)n;
			}
		}
	}
}

/* INFO loading_rdb_used_mem: the base's used-mem AUX field, as Redis */
static void base_aux(void *arg, const char *k, size_t kl, const char *v, size_t vl)
{
	char num[32];

	(void)arg;
	if (kl == 8 && memcmp(k, "used-mem", 8) == 0 && vl < sizeof(num)) {
		memcpy(num, v, vl);
		num[vl] = '\0';
		loading_set_rdb_used_mem(strtoll(num, NULL, 10));
	}
}

static void base_progress(void *arg, uint64_t off, uint64_t size, long long keys)
{
	(void)arg;
	(void)size;
	(void)keys;
	loading_set_loaded(off);
}

/* Loads an RDB base file into db (persist/rdb_file.h). The loading thread,
 * online; clients get -LOADING meanwhile. */
static int load_rdb_base(struct db *db, const char *name, char *err, size_t errlen)
{
	char *path = path_of(name);
	struct rdb_load_opts o = {.path = path,
				  .checksum = cfg_int(CFG_RDBCHECKSUM) != 0,
				  .now_ms = clock_wall_ms(),
				  .aux = base_aux,
				  .progress = base_progress,
				  .progress_bytes =
				      (uint64_t)cfg_int(CFG_LOADING_PROCESS_EVENTS_INTERVAL_BYTES),
				  .key_delay = (int)cfg_int(CFG_KEY_LOAD_DELAY),
				  .cancel = loading_cancel_flag(),
				  .function = script_func_rdb_load,
				  /* decode and insert on every worker's share, as the
				   * dump.rdb load (persist_srv.c) */
				  .threads = (int)cfg_int(CFG_THREADS),
				  .parallel_min = 1 << 20};
	struct rdb_load_stats st;
	int rc = rdb_load(db, &o, &st, err, errlen);

	mem_free(path);
	if (rc == -ENOENT)
		snprintf(err, errlen, "The AOF base file %s does not exist", name);
	if (rc == -ECANCELED)
		return rc;
	if (rc != 0)
		return -EINVAL;
	LOG(LOG_NOTICE, "DB loaded from base file %s: %lld keys (%lld expired)", name, st.keys,
	    st.expired);
	return 0;
}

/* Replays one command file through the loader connection. `last`: the
 * file is the last incremental one (the only one a torn tail is allowed
 * in). */
static int load_cmd_file(int fd, const char *name, bool last, char *err, size_t errlen)
{
	char *path = path_of(name), *buf;
	size_t len;
	struct aof_scan_info si;
	enum aof_scan_result sr;
	int rc = read_file(path, &buf, &len);

	if (rc < 0) {
		snprintf(err, errlen, "Can't open the append-only file %s: %s", name,
			 strerror(-rc));
		mem_free(path);
		return rc;
	}
	sr = aof_scan(buf, len, &si);
	if (sr == AOF_SCAN_CORRUPT) {
		snprintf(err, errlen,
			 "Bad file format reading the append only file %s at offset %zu", name,
			 si.bad);
		rc = -EINVAL;
		goto out;
	}
	if (sr == AOF_SCAN_TRUNCATED) {
		if (!last || !cfg_int(CFG_AOF_LOAD_TRUNCATED)) {
			snprintf(
			    err, errlen,
			    "Unexpected end of file reading the append only file %s at offset "
			    "%zu (%s). You can: 1) Make a backup of your AOF file, then use "
			    "./redis-check-aof --fix <filename.manifest>. 2) Alternatively you "
			    "can set the 'aof-load-truncated' configuration option to yes and "
			    "restart the server.",
			    name, si.valid, si.why);
			rc = -EINVAL;
			goto out;
		}
		LOG(LOG_WARNING, "!!! Warning: short read while loading the AOF file %s!!! (%s)",
		    name, si.why);
		LOG(LOG_WARNING,
		    "AOF %s loaded anyway because aof-load-truncated is enabled: cut from %zu to "
		    "%zu bytes",
		    name, len, si.valid);
		if (truncate(path, (off_t)si.valid) < 0) {
			rc = -errno;
			snprintf(err, errlen, "Can't truncate the append only file %s: %s", name,
				 strerror(errno));
			goto out;
		}
	}
	rc = feed(fd, buf, si.valid, NULL);
	loading_add_loaded(len);
	if (rc == -ECANCELED)
		snprintf(err, errlen, "loading cancelled");
	else if (rc < 0)
		snprintf(err, errlen, "The loader connection failed while loading %s", name);
	else
		LOG(LOG_NOTICE, "DB loaded from incr file %s: %" PRIu64 " commands", name,
		    si.ncmds);
out:
	mem_free(buf);
	mem_free(path);
	return rc;
}

static int load_all(char *err, size_t errlen)
{
	int sv[2], rc = 0;
	char token[41], echo[80];
	unsigned char rnd[20];
	int64_t t0 = clock_mono_ns();

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		snprintf(err, errlen, "socketpair: %s", strerror(errno));
		return -errno;
	}
	if (fcntl(sv[0], F_SETFL, O_NONBLOCK) < 0 || fcntl(sv[1], F_SETFL, O_NONBLOCK) < 0) {
		snprintf(err, errlen, "fcntl: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return -EIO;
	}
	/* the id is stored before the connection reaches a worker (net_adopt),
	 * so its conn_init already knows it is the loader's */
	net_adopt(sv[0], &aof.loader_id);
	if (aof.man.base.name && !aof.base_is_rdb)
		rc = load_cmd_file(sv[1], aof.man.base.name, false, err, errlen);
	for (size_t i = 0; rc == 0 && i < aof.man.nincr; i++)
		rc =
		    load_cmd_file(sv[1], aof.man.incr[i].name, i + 1 == aof.man.nincr, err, errlen);
	if (rc == 0) {
		getrandom(rnd, sizeof(rnd), 0);
		for (int i = 0; i < 20; i++)
			snprintf(token + 2 * i, 3, "%02x", rnd[i]);
		snprintf(echo, sizeof(echo), "*2\r\n$4\r\nECHO\r\n$40\r\n%s\r\n", token);
		rc = feed(sv[1], echo, strlen(echo), token);
		if (rc < 0)
			snprintf(err, errlen, "The AOF loader connection failed");
	}
	close(sv[1]); /* the loader connection closes on EOF */
	if (rc == 0)
		LOG(LOG_NOTICE, "DB loaded from append only file: %.3f seconds",
		    (double)(clock_mono_ns() - t0) / 1e9);
	return rc;
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
	char name[512], *rdb, *text;
	size_t len;
	int rc, fd;

	/* aof-use-rdb-preamble no: an empty command-form base, as Redis 7.0 */
	bool rdb_base = cfg_int(CFG_AOF_USE_RDB_PREAMBLE) != 0;

	snprintf(name, sizeof(name), "%s.1.base.%s", aof.fname, rdb_base ? "rdb" : "aof");
	rdb = rdb_base ? empty_rdb(&len) : mem_alloc(1);
	if (!rdb_base)
		len = 0;
	rc = write_file_atomic(name, rdb, len);
	mem_free(rdb);
	if (rc < 0) {
		snprintf(err, errlen, "Can't write the AOF base file %s: %s", name, strerror(-rc));
		return rc;
	}
	aof_manifest_add(&aof.man, name, 1, 'b');
	snprintf(name, sizeof(name), "%s.1.incr.aof", aof.fname);
	{
		char *p = path_of(name);

		fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		mem_free(p);
	}
	if (fd < 0) {
		snprintf(err, errlen, "Can't create the AOF file %s: %s", name, strerror(errno));
		return -errno;
	}
	close(fd);
	aof_manifest_add(&aof.man, name, 1, 'i');
	text = aof_manifest_format(&aof.man, &len);
	snprintf(name, sizeof(name), "%s.manifest", aof.fname);
	rc = write_file_atomic(name, text, len);
	mem_free(text);
	if (rc < 0)
		snprintf(err, errlen, "Can't write the AOF manifest %.200s: %s", name,
			 strerror(-rc));
	else
		LOG(LOG_NOTICE,
		    "Creating AOF base file %s.1.base.%s and incr file %s.1.incr.aof: the dataset "
		    "starts empty",
		    aof.fname, rdb_base ? "rdb" : "aof", aof.fname);
	return rc;
}

/* Whether a file starts like an RDB file (Redis's base test). */
static int starts_with_redis(const char *name, bool *yes)
{
	char *path = path_of(name), magic[5];
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
static int open_dir(char *err, size_t errlen)
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
	mpath = path_of(mname);
	rc = read_file(mpath, &text, &len);
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
	aof_set_auto_rewrite(cfg_int(CFG_AUTO_AOF_REWRITE_PERCENTAGE),
			     cfg_int(CFG_AUTO_AOF_REWRITE_MIN_SIZE));
	aof.qs = ebr_create(0);
	aof_switch_fn = switch_apply;
	if (!aof_enabled())
		return 0;
	aof.state = AOF_ON;
	rc = open_dir(err, errlen);
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
		char *p = name ? path_of(name) : NULL;
		struct stat st;

		if (p && stat(p, &st) == 0)
			n += (uint64_t)st.st_size;
		mem_free(p);
	}
	return n;
}

int aof_start(char *err, size_t errlen)
{
	int rc;

	/* relaxed: see aof_internal.h; from here on appendonly is settled */
	atomic_store_explicit(&aof_configured_g, true, memory_order_relaxed);
	if (!aof_enabled())
		return 0;
	if (aof.need_replay) {
		loading_set_total(files_size());
		if (aof.base_is_rdb)
			rc = load_rdb_base(aof.db, aof.man.base.name, err, errlen);
		else
			rc = 0;
		if (rc == 0)
			rc = load_all(err, errlen);
		if (rc < 0)
			return rc;
	}
	if (aof.man.nincr == 0) { /* a base alone: the first incr file */
		char name[512];

		char *p;
		int fd;

		snprintf(name, sizeof(name), "%s.1.incr.aof", aof.fname);
		p = path_of(name);
		fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		mem_free(p);
		if (fd < 0) {
			snprintf(err, errlen, "Can't create the AOF file %s: %s", name,
				 strerror(errno));
			return -errno;
		}
		close(fd); /* before the manifest names it */
		aof_manifest_add(&aof.man, name, 1, 'i');
		rc = write_manifest(&aof.man, err, errlen);
		if (rc < 0)
			return rc;
	}
	{
		char *p = path_of(aof.man.incr[aof.man.nincr - 1].name);

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
		char *p = name ? path_of(name) : NULL;
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
		rc = open_dir(err, sizeof(err));
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
	/* relaxed: read under rw_lock, or by rw_cancelled (a request) */
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
	} else if (rewrite_spawn(err, sizeof(err)) != 0) {
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
	 * and gives up (rw_cancelled); the started flag below is written
	 * under rw_lock, as the switch-on's rewrite writes it */
	atomic_store_explicit(&aof.gen, atomic_load_explicit(&aof.gen, memory_order_relaxed) + 1,
			      memory_order_relaxed);
	atomic_store_explicit(&aof_started_g, false, memory_order_relaxed);
	atomic_store_explicit(&aof_enabled_g, false, memory_order_relaxed);
	pthread_mutex_unlock(&aof.rw_lock);
	if (join) {
		struct timespec ts = deadline_in(SWITCH_WAIT_NS);
		int jr;

		/* offline: a grace period of the storage never waits for us */
		kvmap_thread_offline();
		jr = pthread_timedjoin_np(aof.rw_thr, NULL, &ts);
		kvmap_thread_online();
		if (jr != 0) { /* still ending: a later start joins it */
			LOG(LOG_WARNING, "The abandoned AOF rewrite is still ending");
			pthread_mutex_lock(&aof.rw_lock);
			aof.rw_joinable = true;
			aof.rw_abandoned = aof.rw_running;
			pthread_mutex_unlock(&aof.rw_lock);
		}
	}
	/* Every write that saw the AOF on holds the gate until its record is
	 * queued: once we had it exclusively, each is queued; a later one
	 * sees the flag off (the gate's unlock and lock order it), or its
	 * record is dropped by the closed queue. Inside EXEC we hold it. */
	if (!gate_held) {
		struct timespec ts = deadline_in(SWITCH_WAIT_NS);

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
	struct ebr_thread *t = wctx_self()->aof_qs;

	if (t)
		ebr_offline(t);
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
	if (aof.rw_joinable) {
		pthread_mutex_unlock(&aof.rw_lock);
		kvmap_thread_offline();
		pthread_join(aof.rw_thr, NULL); /* a rewrite finishes first */
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
	pthread_mutex_lock(&aof.lock);
	st->appended = aof.appended;
	pthread_mutex_unlock(&aof.lock);
	/* relaxed: statistics (the AOF thread is their single writer) */
	st->written = atomic_load_explicit(&aof.written, memory_order_relaxed);
	st->fsynced = atomic_load_explicit(&aof.fsynced, memory_order_relaxed);
	st->nfsync = atomic_load_explicit(&aof.nfsync, memory_order_relaxed);
}
