/*
 * torture.h — the torture client's shared state: one real kvsd ($KVSD_BIN) abused by several
 * threads at once while checker threads verify that ordinary clients keep getting exactly the
 * right answers within a latency bound (issue 10, "Evidence").
 *
 * Roles (one thread each unless noted; every loop ends at the deadline or when the run stops):
 *  - checker (checker.c, --checkers N, default 3): one connection each, the first opened before
 *    any abuse starts and the others later (so they are likely owned by other workers); SET /
 *    GET / INCR / MSET / MGET / PING of keys only it touches; every reply must be exactly right
 *    and arrive within --latency-ms;
 *  - proto, fuzz (proto.c): malformed requests with Redis's exact replies; mutated requests;
 *  - huge (huge.c): huge counts (MSET / MGET / DEL ... of 20,000 keys, MULTI with 5,000 queued
 *    commands), huge declared lengths and counts, huge offsets, overflowing numbers;
 *  - slow, neverread, churn (clients.c): byte-by-byte writers, slow readers, a slow MONITOR,
 *    pipelines never read, connections opened and dropped in every state;
 *  - config x2 (admin.c): CONFIG SET of every key from CONFIG GET * with good and bad values,
 *    each key owned by one of the two threads so that the thread can check what CONFIG GET says
 *    after each SET;
 *  - killer (admin.c): CLIENT KILL by ID, ADDR + ID, the old form and SKIPME, only ever aimed at
 *    torture connections (registered ids, or CLIENT LIST entries named "torture-...").
 * The main thread (main.c) starts kvsd, watches it for an early exit, and at the end checks that
 * it still answers, restores the configuration, and stops it with SIGTERM expecting exit 0.
 *
 * Keys: checkers use "chk:<n>:*" and nothing else touches keys starting "chk:"; each torture
 * thread uses its own prefix. Excluded from the CONFIG SET fuzzing, as the issue says, are the
 * keys that legitimately cut clients off (requirepass, maxmemory, timeout, maxclients,
 * client-output-buffer-limit); no thread sends FLUSHALL, FLUSHDB, SHUTDOWN, CLIENT PAUSE or
 * anything else that would legitimately stall or disconnect a checker.
 *
 * Failures: tt_fail() records a message with its time and marks the run failed, but the run goes
 * on (so one run reports every kind of failure it meets) unless the server has gone away, which
 * stops everything. Torture threads run at a lower CPU priority (nice 10) so that the test's own
 * threads compete as little as possible with the checkers for the machine's cores.
 *
 * Threads: tt is written by main() before any thread starts and read-only afterwards except for
 * the atomics and the lock-protected fields named below. Each thread's struct tt_thread is
 * written only by that thread and read by main() after joining it.
 */
#ifndef KVSD_TORTURE_H
#define KVSD_TORTURE_H

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include "kvsd_proc.h"

#define TT_MAX_CHECKERS 8
#define TT_ACT_RING	12  /* last actions kept per thread, shown when the server dies */
#define TT_ACT_LEN	200 /* bytes kept per action */

struct tt_run {
	struct kvsd_proc target; /* a copy holding the port, for kvsd_connect() in threads */
	long long t0_ms;	 /* when the abuse started */
	long long deadline_ms;	 /* when every loop stops */
	int seconds;
	int latency_ms; /* a checker reply slower than this is a violation */
	int is_redis;	/* $KVSD_BIN is redis-server: kvsd-only checks are skipped */
	uint32_t seed;
	/* relaxed: a stop flag set by main() when the server exits early; publishes nothing */
	atomic_int stop;
};
extern struct tt_run tt;

/* One thread's activity: a ring of its latest actions (for crash attribution) and counters. */
struct tt_thread {
	pthread_t th;
	const char *name;
	int index;
	uint32_t rng;
	long long act_ms[TT_ACT_RING];
	char act[TT_ACT_RING][TT_ACT_LEN];
	unsigned nact;
	long ops, conns, errs, closed_by_server;
};

/* tt_running: before the deadline and no stop requested. Any thread. */
int tt_running(void);

/* tt_elapsed: seconds since the abuse started. */
double tt_elapsed(void);

/* tt_fail: record a failure (the first 64 messages are kept) and mark the run failed. */
void tt_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* tt_fail_since: the same, for a failure whose cause lies at `since` (tt_elapsed() seconds):
 * the torture actions shown with it are those just before that moment. */
void tt_fail_since(double since, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* tt_server_wait_ms: how long, within [from, to] (tt_elapsed() seconds), every kvsd thread
 * that wanted a CPU sat waiting for one, plus the steal time of the busiest vCPU (main.c). */
double tt_server_wait_ms(double from, double to);

/* tt_schedstat_wait_ns: the run-queue wait so far of the thread whose schedstat file fd is
 * (e.g. /proc/thread-self/schedstat), or -1. */
long long tt_schedstat_wait_ns(int fd);

/* tt_failures: number of failures recorded so far. */
long tt_failures(void);

/* tt_act: note what self is about to do (kept in its ring, printed if the server dies). */
void tt_act(struct tt_thread *self, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* tt_rand / tt_below: xorshift32 on the thread's state. */
uint32_t tt_rand(struct tt_thread *self);
uint32_t tt_below(struct tt_thread *self, uint32_t n);

/* tt_nap: sleep ms, waking early when the run ends. */
void tt_nap(long ms);

/* tt_lower_priority: nice 10 for the calling thread (torture threads only). */
void tt_lower_priority(void);

/* tt_connect: a hiredis context with the given read/write timeout, or NULL (counted in errs). */
redisContext *tt_connect(struct tt_thread *self, int timeout_ms);

/* tt_raw: a raw loopback socket with send/receive timeouts (timeout_ms), or -errno. */
int tt_raw(int timeout_ms);

/* tt_send_chunked: send all of buf in 64 KB pieces, giving up when the run ends or a piece
 * fails (each piece is bounded by the socket's send timeout): 0 or -1. */
int tt_send_chunked(int fd, const char *buf, size_t len);

/* TT_SEND_LIT: send a string literal (its length from sizeof, so NULs inside count). */
#define TT_SEND_LIT(fd, lit) kvsd_raw_send((fd), (lit), sizeof(lit) - 1)

/* tt_close_rst: close a socket with an RST instead of a FIN (no TIME_WAIT left behind). */
void tt_close_rst(int fd);

/* tt_reply_is: 1 when r is non-NULL and of this type with exactly this text. */
int tt_reply_is(const redisReply *r, int type, const char *text);

/* tt_show: a short printable rendering of a reply, for messages (thread-local buffer). */
const char *tt_show(const redisReply *r);

/* Victims for the killer: torture connections that announced themselves (CLIENT ID). */
void tt_victim_add(long long id, const char *addr);
int tt_victim_pick(struct tt_thread *self, long long *id, char *addr, size_t addrlen);

/* Checker ids: the killer refuses (and reports) any attempt to kill one of these. */
void tt_checker_id_add(long long id);
int tt_is_checker_id(long long id);

/* tt_announce: pipeline CLIENT SETNAME torture-<kind> + CLIENT ID on c and register it. */
int tt_announce(redisContext *c, const char *kind);

/* Thread entry points; arg is the thread's struct tt_thread. */
void *tt_checker_main(void *arg);
void *tt_proto_main(void *arg);
void *tt_fuzz_main(void *arg);
void *tt_huge_main(void *arg);
void *tt_slow_main(void *arg);
void *tt_neverread_main(void *arg);
void *tt_churn_main(void *arg);
void *tt_config_main(void *arg);
void *tt_killer_main(void *arg);

/* Checker parameters and results (checker.c), set up by main(). */
struct tt_checker {
	struct tt_thread t;
	long long start_at_ms; /* offset from t0 when it connects */
	long long id;	       /* CLIENT ID of its connection (-1 until known) */
	/* relaxed: set once connected; main() only decides how long to wait for the first
	 * checker before starting the abuse, and reads the other fields after joining */
	atomic_int connected;
	long rounds, commands, violations, reconnects;
	long excused; /* over the bound, but not once the waits for a CPU are taken off */
	double worst_ms;
	char worst_cmd[16];
	double worst_at; /* seconds into the run */
	long long incr;	 /* the counter's expected value */
	long seq;	 /* the last SET's sequence number */
	int lost;	 /* the connection was lost at least once */
};
extern struct tt_checker tt_checkers[TT_MAX_CHECKERS];
extern int tt_nchecker;

/* tt_checker_value: the value checker n's SET of round seq writes to "chk:<n>:s". */
size_t tt_checker_value(char *buf, size_t cap, int n, long seq);

/* Config (admin.c): tt_config_setup reads CONFIG GET * before any thread starts (the keys to
 * fuzz and their start-up values); tt_config_restore sets them back at the end and checks. */
int tt_config_setup(redisContext *c);
int tt_config_restore(redisContext *c);

#endif
