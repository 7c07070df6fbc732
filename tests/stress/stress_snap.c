/*
 * stress_snap.c — point-in-time snapshots (storage/snap.h) taken over and
 * over while writers run: each must be a consistent cut.
 * A plain, time-boxed program (also under ThreadSanitizer and ASan/LSan).
 *
 * Writers (WRITERS threads), in a random mix:
 *  - transfers: a transaction (db_txn, one kvmap_mwcas at its commit; every
 *    32nd exclusive) moves an amount between two of ACCOUNTS keys of
 *    database 0, so the accounts' total never changes;
 *  - sequenced writes: writer w sets key s<w>-<slot> (SLOTS slots, round
 *    robin) to its next sequence number n, after storing started[w][slot]
 *    = n and, once db_put returned, acked[w][slot] = n;
 *  - churn in databases 2 and 3: inserts (some with a TTL of a few ms, so
 *    lazy and active expiry remove them) and deletes, which grow and shrink
 *    the table and make keys appear and vanish after the cut.
 * A flusher runs active expiry and db_cron, and FLUSHDB 2 or SWAPDB 2 3 in
 * turn every few ms. The main thread takes snapshots and checks each one:
 *  - every account is yielded exactly once and the balances sum to the
 *    constant total (a transfer half in, half out breaks it);
 *  - for every slot, acked (read before db_snap_begin) <= the yielded value
 *    <= started (read after it returned), and the key is present if acked
 *    is set: a write acknowledged before the cut is in the snapshot, a
 *    write that began after it is not;
 *  - each database yields exactly db_snap_keys(index) keys, none twice
 *    (keys created or deleted after the cut, FLUSHDB/SWAPDB after the cut
 *    and expiry change nothing).
 * The check can fail: --scan-walk reads the databases with SCAN instead of
 * a snapshot (no cut: writers move money while the walk runs); meson
 * expects that run to fail.
 *
 * --stripe-bits B forces 2^B stripes (snap.h's db_snap_force_bits): with
 * 17, more stripes than the small tables have buckets (a large map's path).
 *
 * Usage: stress_snap [--seconds S] [--scan-walk] [--map kvsd|urcu] [--stripe-bits B]
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "concurrency/clock.h"
#include "storage/db.h"
#include "storage/kvmap.h"
#include "storage/snap.h"

#define WRITERS	 3
#define ACCOUNTS 256
#define SLOTS	 64
#define CHURN	 2048 /* churn keys per writer */
#define BALANCE	 1000

static struct db *db;
static _Atomic bool stop;
static _Atomic unsigned long long transfers, seqs, churns, flushes;
/* per writer and slot: the sequence number of the write begun / acknowledged
 * last (release by the writer, acquire by the checker) */
static _Atomic uint64_t started[WRITERS][SLOTS], acked[WRITERS][SLOTS];
static bool scan_walk;
static unsigned long long snapshots, failures;

static void fail(const char *what)
{
	fprintf(stderr, "stress_snap: FAIL: %s\n", what);
	exit(1);
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static long long val_ll(const struct kv_entry *e)
{
	char b[32];
	size_t n = e->vlen < sizeof(b) - 1 ? e->vlen : sizeof(b) - 1;

	memcpy(b, kv_entry_val(e), n);
	b[n] = 0;
	return strtoll(b, NULL, 10);
}

static struct kv_entry *new_ll(const char *k, long long v, int64_t exp)
{
	char b[32];
	int n = snprintf(b, sizeof(b), "%lld", v);

	return kv_entry_new(k, strlen(k), b, (size_t)n, exp);
}

static void transfer(struct db_txn *t, uint64_t *rs, bool exclusive)
{
	char ka[16], kb[16];
	int a = (int)(rnd(rs) % ACCOUNTS), b = (int)(rnd(rs) % ACCOUNTS);
	long long amt = (long long)(rnd(rs) % 10) + 1;
	int rc;

	if (a == b)
		b = (b + 1) % ACCOUNTS;
	snprintf(ka, sizeof(ka), "a%d", a);
	snprintf(kb, sizeof(kb), "a%d", b);
	do {
		db_txn_select(t, 0);
		const struct db_view *v = db_txn_begin(t, NULL, 0, exclusive);
		const struct kv_entry *ea = db_lookup(v, ka, strlen(ka), 0, NULL, 0);
		const struct kv_entry *eb = db_lookup(v, kb, strlen(kb), 0, NULL, 0);

		if (!ea || !eb)
			fail("an account is missing from the map");
		if (db_put(v, ea, new_ll(ka, val_ll(ea) - amt, 0)) != 0 ||
		    db_put(v, eb, new_ll(kb, val_ll(eb) + amt, 0)) != 0)
			fail("overlay write failed");
		rc = db_txn_commit(t);
	} while (rc == -EAGAIN);
	if (rc != 0)
		fail("transfer commit");
}

static void seq_write(int w, unsigned *slot, uint64_t *seq)
{
	struct db_view v;
	char k[24];
	int s = (int)(*slot)++ % SLOTS;
	uint64_t n = ++*seq;

	snprintf(k, sizeof(k), "s%d-%d", w, s);
	db_view_init(db, 1, &v);
	/* release: read by the checker after its cut (an upper bound) */
	atomic_store_explicit(&started[w][s], n, memory_order_release);
	struct kv_entry *e = new_ll(k, (long long)n, 0);
	while (db_put(&v, db_lookup(&v, k, strlen(k), 0, NULL, 0), e) != 0)
		;
	/* release: read by the checker before its cut (a lower bound) */
	atomic_store_explicit(&acked[w][s], n, memory_order_release);
}

static void churn(int w, uint64_t *rs)
{
	struct db_view v;
	char k[24];
	int64_t now = clock_wall_ms();

	snprintf(k, sizeof(k), "c%d-%d", w, (int)(rnd(rs) % CHURN));
	db_view_init(db, 2 + (int)(rnd(rs) & 1), &v);
	for (;;) {
		const struct kv_entry *old = db_lookup(&v, k, strlen(k), now, NULL, 0);
		struct kv_entry *e = NULL;

		if (!old)
			e = new_ll(k, 1, rnd(rs) % 4 == 0 ? now + (int64_t)(rnd(rs) % 20) : 0);
		if (db_put(&v, old, e) == 0)
			break;
		if (e)
			kv_entry_free(e);
	}
}

static void *writer(void *arg)
{
	int w = (int)(intptr_t)arg;
	uint64_t rs = 0x9e3779b97f4a7c15ULL * (uint64_t)(w + 1), seq = 0;
	unsigned slot = 0, k = 0;
	struct db_txn *t;

	kvmap_thread_register();
	t = db_txn_create(db);
	/* relaxed: a flag; the joins order the rest */
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		unsigned r = (unsigned)(rnd(&rs) % 100);

		if (r < 45) {
			transfer(t, &rs, ++k % 32 == 0);
			/* relaxed: counters read after the joins */
			atomic_fetch_add_explicit(&transfers, 1, memory_order_relaxed);
		} else if (r < 70) {
			seq_write(w, &slot, &seq);
			atomic_fetch_add_explicit(&seqs, 1, memory_order_relaxed);
		} else {
			churn(w, &rs);
			atomic_fetch_add_explicit(&churns, 1, memory_order_relaxed);
		}
		kvmap_quiescent();
	}
	db_txn_destroy(&t);
	kvmap_thread_unregister();
	return NULL;
}

static void *flusher(void *arg)
{
	struct db_view v;
	unsigned n = 0;
	struct timespec ts = {0, 3000000};

	(void)arg;
	kvmap_thread_register();
	db_view_init(db, 2, &v);
	/* relaxed: a flag */
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		db_active_expire(db, 100, 1, 500);
		db_cron(db, clock_wall_ms());
		if (++n % 4 == 0) {
			if (n % 8 == 0)
				db_flush(&v, false);
			else
				db_swap(&v, 2, 3);
			/* relaxed: counter */
			atomic_fetch_add_explicit(&flushes, 1, memory_order_relaxed);
		}
		kvmap_thread_offline();
		nanosleep(&ts, NULL);
		kvmap_thread_online();
	}
	kvmap_thread_unregister();
	return NULL;
}

/* ---- the checker */

static struct check {
	unsigned char account_seen[ACCOUNTS];
	long long total;
	bool seq_seen[WRITERS][SLOTS];
	uint64_t seq_val[WRITERS][SLOTS];
	long long n; /* keys of the database being walked */
	bool bad;
	char why[256];
} ck;

static void bad(const char *why)
{
	if (!ck.bad)
		snprintf(ck.why, sizeof(ck.why), "%s", why);
	ck.bad = true;
}

static void check_fn(void *arg, const struct kv_entry *e)
{
	const char *k = kv_entry_key(e);
	char name[40];
	int a, w, s;

	(void)arg;
	ck.n++;
	snprintf(name, sizeof(name), "%.*s", (int)(e->klen < 32 ? e->klen : 32), k);
	if (name[0] == 'a' && sscanf(name + 1, "%d", &a) == 1 && a >= 0 && a < ACCOUNTS) {
		if (ck.account_seen[a]++)
			bad("an account yielded twice");
		ck.total += val_ll(e);
	} else if (name[0] == 's' && sscanf(name + 1, "%d-%d", &w, &s) == 2) {
		if (ck.seq_seen[w][s])
			bad("a sequenced key yielded twice");
		ck.seq_seen[w][s] = true;
		ck.seq_val[w][s] = (uint64_t)val_ll(e);
	}
}

static void scan_visit(const struct kv_entry *e, void *arg)
{
	check_fn(arg, e);
}

static void check_once(uint64_t *rs)
{
	uint64_t lo[WRITERS][SLOTS], hi[WRITERS][SLOTS];
	struct db_snap *s = NULL;
	char why[256];
	int err, n;

	memset(&ck, 0, sizeof(ck));
	for (int w = 0; w < WRITERS; w++)
		for (int i = 0; i < SLOTS; i++)
			/* acquire: the acknowledged write happened before the cut */
			lo[w][i] = atomic_load_explicit(&acked[w][i], memory_order_acquire);
	if (!scan_walk) {
		s = db_snap_begin(db, &err);
		if (!s)
			fail("db_snap_begin");
	}
	for (int w = 0; w < WRITERS; w++)
		for (int i = 0; i < SLOTS; i++)
			/* acquire: every write in the snapshot began before this load */
			hi[w][i] = atomic_load_explicit(&started[w][i], memory_order_acquire);
	n = scan_walk ? db_databases(db) : db_snap_databases(s);
	for (int d = 0; d < n; d++) {
		ck.n = 0;
		if (scan_walk) {
			struct db_view v;
			uint64_t cur = 0;

			db_view_init(db, d, &v);
			do
				cur = db_scan(&v, cur, 64, scan_visit, NULL);
			while (cur != 0);
			continue;
		}
		while (db_snap_next(s, d, check_fn, NULL))
			;
		if (ck.n != db_snap_keys(s, d)) {
			snprintf(why, sizeof(why), "database %d yielded %lld keys, %lld at the cut",
				 d, ck.n, db_snap_keys(s, d));
			bad(why);
		}
		/* an abandoned walk now and then: db_snap_end mid-way */
		if (d == 3 && rnd(rs) % 16 == 0)
			break;
	}
	for (int a = 0; a < ACCOUNTS && !ck.bad; a++)
		if (ck.account_seen[a] != 1)
			bad("an account is missing");
	if (!ck.bad && ck.total != (long long)ACCOUNTS * BALANCE) {
		snprintf(why, sizeof(why), "the accounts total %lld, not %lld", ck.total,
			 (long long)ACCOUNTS * BALANCE);
		bad(why);
	}
	for (int w = 0; w < WRITERS; w++)
		for (int i = 0; i < SLOTS; i++) {
			uint64_t v = ck.seq_val[w][i];

			if (lo[w][i] && !ck.seq_seen[w][i]) {
				snprintf(why, sizeof(why),
					 "s%d-%d acked %llu before the cut, missing", w, i,
					 (unsigned long long)lo[w][i]);
				bad(why);
			} else if (ck.seq_seen[w][i] && (v < lo[w][i] || v > hi[w][i])) {
				snprintf(why, sizeof(why),
					 "s%d-%d is %llu, acked %llu before the cut, begun %llu "
					 "after it",
					 w, i, (unsigned long long)v, (unsigned long long)lo[w][i],
					 (unsigned long long)hi[w][i]);
				bad(why);
			}
		}
	if (s)
		db_snap_end(&s);
	snapshots++;
	if (ck.bad) {
		failures++;
		fprintf(stderr, "stress_snap: snapshot %llu: %s\n", snapshots, ck.why);
		if (!scan_walk)
			fail("inconsistent snapshot");
	}
}

int main(int argc, char **argv)
{
	double seconds = 3;
	enum kvmap_backend backend = KVMAP_KVSD;
	pthread_t w[WRITERS], fl;
	struct db_view v;
	uint64_t rs = 88172645463325252ULL;
	int64_t end, hard_end;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
			seconds = atof(argv[++i]);
		else if (strcmp(argv[i], "--scan-walk") == 0)
			scan_walk = true;
		else if (strcmp(argv[i], "--map") == 0 && i + 1 < argc)
			backend = strcmp(argv[++i], "urcu") == 0 ? KVMAP_URCU : KVMAP_KVSD;
		else if (strcmp(argv[i], "--stripe-bits") == 0 && i + 1 < argc)
			db_snap_force_bits((unsigned)atoi(argv[++i]));
		else {
			fprintf(stderr, "usage: stress_snap [--seconds S] [--scan-walk] "
					"[--map kvsd|urcu] [--stripe-bits B]\n");
			return 2;
		}
	}
	kvmap_setup();
	kvmap_thread_register();
	db = db_create(backend);
	if (!db)
		fail("db_create");
	db_view_init(db, 0, &v);
	for (int a = 0; a < ACCOUNTS; a++) {
		char k[16];

		snprintf(k, sizeof(k), "a%d", a);
		if (db_put(&v, NULL, new_ll(k, BALANCE, 0)) != 0)
			fail("setup");
	}
	for (int i = 0; i < WRITERS; i++)
		pthread_create(&w[i], NULL, writer, (void *)(intptr_t)i);
	pthread_create(&fl, NULL, flusher, NULL);
	end = clock_mono_ms() + (int64_t)(seconds * 1000);
	/* past the time asked for, go on (bounded: up to 4 times it) until the
	 * minimum of work below is done: a starved run (tests side by side on a
	 * loaded machine) checks as much as a quiet one, only later */
	hard_end = clock_mono_ms() + (int64_t)(4 * seconds * 1000);
	for (;;) {
		int64_t now = clock_mono_ms();

		/* relaxed: a progress hint; the joins below order the counts */
		if (now >= hard_end || (now >= end && snapshots >= 3 &&
					atomic_load_explicit(&transfers, memory_order_relaxed) > 0))
			break;
		struct timespec ts = {0, (long)(rnd(&rs) % 5000000)};

		kvmap_thread_offline();
		nanosleep(&ts, NULL);
		kvmap_thread_online();
		check_once(&rs);
		kvmap_quiescent();
		if (scan_walk && failures)
			break;
	}
	/* relaxed: the joins below order everything */
	atomic_store_explicit(&stop, true, memory_order_relaxed);
	kvmap_thread_offline();
	for (int i = 0; i < WRITERS; i++)
		pthread_join(w[i], NULL);
	pthread_join(fl, NULL);
	kvmap_thread_online();
	db_destroy(&db);
	kvmap_thread_unregister();
	kvmap_teardown();
	/* relaxed: after the joins */
	printf("stress_snap: %s: snapshots=%llu failures=%llu transfers=%llu seqs=%llu "
	       "churn=%llu flushes/swaps=%llu\n",
	       scan_walk ? "scan walk" : "snapshots", snapshots, failures,
	       atomic_load_explicit(&transfers, memory_order_relaxed),
	       atomic_load_explicit(&seqs, memory_order_relaxed),
	       atomic_load_explicit(&churns, memory_order_relaxed),
	       atomic_load_explicit(&flushes, memory_order_relaxed));
	if (scan_walk)
		return failures ? 1 : 0;
	if (snapshots < 3 || atomic_load_explicit(&transfers, memory_order_relaxed) == 0)
		fail("too little work to mean anything");
	return 0;
}
