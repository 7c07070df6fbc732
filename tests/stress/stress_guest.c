/*
 * stress_guest.c — guest polling under stress: long tasks, pingers, connection churn, kills,
 * idle timeouts and a shutdown in the middle of it, against a real kvsd ($KVSD_BIN).
 *
 * A plain executable, also run in the ThreadSanitizer build where the server is instrumented
 * too (its TSAN_OPTIONS get exitcode=66, so a race report makes its exit status non-zero; its
 * output is searched for reports as well). The server runs with --threads T (default 2),
 * --hz 100 and (once 20,000 keys are filled in) timeout 1, so a worker's cron (idle-timeout
 * closes, CLIENT PAUSE resumes, the server cron) often runs on a guest that polls the loop of
 * a worker stuck in a long task (net/worker.c). For --seconds S (default 3):
 *  - long clients: pipelines of KEYS walking 20,000 keys, MSET / DEL of 2,000 keys,
 *    MULTI with 300 SETs + EXEC — tasks of many milliseconds that make their worker stuck;
 *  - pingers: PING in a loop; every reply must be +PONG (the worst round trip is printed);
 *  - a churner: connect, PING, close; connect and close half-way through a command; connect,
 *    publish the connection's CLIENT ID for the killer and leave it open, or leave one idle
 *    for the idle timeout;
 *  - a killer: CLIENT KILL ID of the published victims (closes requested from another
 *    worker, carried out by whoever holds the owner's loop). It does not use CLIENT LIST,
 *    whose unsynchronized reads of other connections are issue 10's defect 6, not this test's;
 *  - at the deadline the server gets SIGTERM while the long clients are still running.
 * The server must exit 0 without sanitizer reports; any wrong reply before the shutdown fails.
 * Prints one summary line, with the INFO guest-poll counters, so a run that never exercised
 * guest polling shows it (and fails: with long tasks and pingers it must happen).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "kvsd_proc.h"

#define NKEYS	  20000
#define NLONG	  2
#define NPING	  4
#define MSET_N	  2000
#define MULTI_N	  300
#define KEYS_PIPE 8

static struct kvsd_proc srv;
static long long deadline_ms;
/* stop flags: relaxed — they publish nothing; replies after `stopping` are not checked */
static atomic_int failed, stopping;
static atomic_llong long_tasks, pings, churned, killed, worst_ping_ms; /* statistics */
static pthread_mutex_t fail_lock = PTHREAD_MUTEX_INITIALIZER;
/* CLIENT IDs of the churner's victims, 0 = none: relaxed, an id publishes nothing */
static _Atomic long long victim_id[16];
static char fail_msg[512]; /* under fail_lock */

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void fail(const char *fmt, ...)
{
	va_list ap;

	if (atomic_load_explicit(&stopping, memory_order_relaxed))
		return; /* the server is going away: errors are expected */
	pthread_mutex_lock(&fail_lock);
	if (!fail_msg[0]) {
		va_start(ap, fmt);
		vsnprintf(fail_msg, sizeof(fail_msg), fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&fail_lock);
	atomic_store_explicit(&failed, 1, memory_order_relaxed);
}

static int running(void)
{
	return !atomic_load_explicit(&failed, memory_order_relaxed) &&
	       !atomic_load_explicit(&stopping, memory_order_relaxed) &&
	       kvsd_now_ms() < deadline_ms;
}

static uint32_t rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* Reads n pipelined replies; each must have type `type` (0: anything but an error). */
static int expect_replies(redisContext *c, int n, int type, const char *what)
{
	for (int i = 0; i < n; i++) {
		redisReply *r = NULL;

		if (redisGetReply(c, (void **)&r) != REDIS_OK || r == NULL) {
			fail("%s: %s", what, c->errstr);
			return -1;
		}
		if (r->type == REDIS_REPLY_ERROR || (type && r->type != type)) {
			fail("%s: reply type %d: %s", what, r->type, r->str ? r->str : "");
			freeReplyObject(r);
			return -1;
		}
		freeReplyObject(r);
	}
	return 0;
}

static void *long_main(void *arg)
{
	uint32_t seed = (uint32_t)(uintptr_t)arg * 2654435761u + 1;
	redisContext *c = kvsd_connect(&srv);
	const char **argv = malloc(sizeof(*argv) * (2 * MSET_N + 1));
	char(*keys)[24] = malloc(sizeof(*keys) * MSET_N);

	if (!c || c->err || !argv || !keys) {
		fail("long: connect");
		goto out;
	}
	for (int i = 0; i < MSET_N; i++)
		snprintf(keys[i], sizeof(keys[i]), "m%u:%d", (unsigned)(uintptr_t)arg, i);
	while (running()) {
		switch (rnd(&seed) % 4) {
		case 0: /* a pipeline of map walks: one task of many milliseconds */
			for (int i = 0; i < KEYS_PIPE; i++)
				redisAppendCommand(c, "KEYS k:*x");
			if (expect_replies(c, KEYS_PIPE, REDIS_REPLY_ARRAY, "KEYS") < 0)
				goto out;
			break;
		case 1:
			argv[0] = "MSET";
			for (int i = 0; i < MSET_N; i++) {
				argv[1 + 2 * i] = keys[i];
				argv[2 + 2 * i] = "v";
			}
			redisAppendCommandArgv(c, 2 * MSET_N + 1, argv, NULL);
			if (expect_replies(c, 1, REDIS_REPLY_STATUS, "MSET") < 0)
				goto out;
			break;
		case 2:
			argv[0] = "DEL";
			for (int i = 0; i < MSET_N; i++)
				argv[1 + i] = keys[i];
			redisAppendCommandArgv(c, MSET_N + 1, argv, NULL);
			if (expect_replies(c, 1, REDIS_REPLY_INTEGER, "DEL") < 0)
				goto out;
			break;
		default:
			redisAppendCommand(c, "MULTI");
			for (int i = 0; i < MULTI_N; i++)
				redisAppendCommand(c, "SET %s x", keys[i]);
			redisAppendCommand(c, "EXEC");
			if (expect_replies(c, MULTI_N + 1, 0, "MULTI") < 0 ||
			    expect_replies(c, 1, REDIS_REPLY_ARRAY, "EXEC") < 0)
				goto out;
			break;
		}
		/* relaxed: statistics */
		atomic_fetch_add_explicit(&long_tasks, 1, memory_order_relaxed);
	}
out:
	free(argv);
	free(keys);
	if (c)
		redisFree(c);
	return NULL;
}

static void *ping_main(void *arg)
{
	redisContext *c = kvsd_connect(&srv);

	(void)arg;
	if (!c || c->err) {
		fail("ping: connect");
		goto out;
	}
	while (running()) {
		long long t0 = kvsd_now_ms(), ms;
		redisReply *r = redisCommand(c, "PING");

		if (!r || r->type != REDIS_REPLY_STATUS || strcmp(r->str, "PONG") != 0) {
			fail("PING: %s", r ? (r->str ? r->str : "?") : c->errstr);
			if (r)
				freeReplyObject(r);
			break;
		}
		freeReplyObject(r);
		ms = kvsd_now_ms() - t0;
		/* relaxed: statistics */
		for (long long w = atomic_load_explicit(&worst_ping_ms, memory_order_relaxed);
		     ms > w && !atomic_compare_exchange_weak_explicit(&worst_ping_ms, &w, ms,
								      memory_order_relaxed,
								      memory_order_relaxed);)
			;
		atomic_fetch_add_explicit(&pings, 1, memory_order_relaxed);
		kvsd_sleep_ms(1);
	}
out:
	if (c)
		redisFree(c);
	return NULL;
}

static void *churn_main(void *arg)
{
	uint32_t seed = 12345;
	redisContext *victims[16] = {0}; /* named "victim", left open for the killer */
	int idle[8];			 /* left idle for the server's idle timeout */
	unsigned nv = 0, ni = 0;
	int fd;

	(void)arg;
	for (int i = 0; i < 8; i++)
		idle[i] = -1;
	while (running()) {
		redisContext *c;
		redisReply *r;

		switch (rnd(&seed) % 4) {
		case 0: /* connect, PING, close */
			c = kvsd_connect(&srv);
			if (c && !c->err) {
				r = redisCommand(c, "PING");
				if (r)
					freeReplyObject(r);
			}
			if (c)
				redisFree(c);
			break;
		case 1: /* close half-way through a command */
			fd = kvsd_raw_connect(&srv);
			if (fd >= 0) {
				static const char half[] = "*3\r\n$3\r\nSET\r\n$1\r\nk";

				(void)kvsd_raw_send(fd, half, sizeof(half) - 1);
				close(fd);
			}
			break;
		case 2: /* a victim for the killer (or closed by us, whichever is first) */
			c = kvsd_connect(&srv);
			if (victims[nv % 16])
				redisFree(victims[nv % 16]);
			victims[nv % 16] = c;
			if (c && !c->err) {
				r = redisCommand(c, "CLIENT ID");
				if (r && r->type == REDIS_REPLY_INTEGER)
					atomic_store_explicit(&victim_id[nv % 16], r->integer,
							      memory_order_relaxed);
				if (r)
					freeReplyObject(r);
			}
			nv++;
			break;
		default: /* idle: the server's idle timeout (cron) closes it */
			fd = kvsd_raw_connect(&srv);
			if (idle[ni % 8] >= 0)
				close(idle[ni % 8]);
			idle[ni++ % 8] = fd;
			break;
		}
		/* relaxed: statistics */
		atomic_fetch_add_explicit(&churned, 1, memory_order_relaxed);
	}
	for (int i = 0; i < 16; i++)
		if (victims[i])
			redisFree(victims[i]);
	for (int i = 0; i < 8; i++)
		if (idle[i] >= 0)
			close(idle[i]);
	return NULL;
}

static void *kill_main(void *arg)
{
	redisContext *c = kvsd_connect(&srv);

	(void)arg;
	if (!c || c->err) {
		fail("killer: connect");
		goto out;
	}
	while (running()) {
		/* not idle (timeout 1) while the churner waits for a stuck worker */
		redisReply *p = redisCommand(c, "PING");

		if (!p || p->type != REDIS_REPLY_STATUS) {
			fail("killer: PING: %s", p && p->str ? p->str : c->errstr);
			if (p)
				freeReplyObject(p);
			goto out;
		}
		freeReplyObject(p);
		for (int i = 0; i < 16; i++) {
			long long id =
			    atomic_exchange_explicit(&victim_id[i], 0, memory_order_relaxed);
			redisReply *k;

			if (id == 0)
				continue;
			k = redisCommand(c, "CLIENT KILL ID %lld", id);
			if (!k || k->type != REDIS_REPLY_INTEGER) {
				fail("CLIENT KILL: %s", k && k->str ? k->str : c->errstr);
				if (k)
					freeReplyObject(k);
				goto out;
			}
			/* relaxed: statistics */
			atomic_fetch_add_explicit(&killed, k->integer, memory_order_relaxed);
			freeReplyObject(k);
		}
		kvsd_sleep_ms(2);
	}
out:
	if (c)
		redisFree(c);
	return NULL;
}

/* Sum of one `field=` over INFO's worker lines, or -1. */
static long long info_sum(redisContext *c, const char *field)
{
	redisReply *r = redisCommand(c, "INFO kvsd");
	long long sum = -1;
	char key[64];

	snprintf(key, sizeof(key), ",%s=", field);
	if (r && r->type == REDIS_REPLY_STRING) {
		sum = 0;
		for (char *p = r->str; (p = strstr(p, key)) != NULL; p++)
			sum += atoll(p + strlen(key));
	}
	if (r)
		freeReplyObject(r);
	return sum;
}

/* Add exitcode=66 to the child's TSAN_OPTIONS (this process read its own at start-up). */
static void child_sanitizer_env(void)
{
	const char *old = getenv("TSAN_OPTIONS");
	char buf[1024];

	snprintf(buf, sizeof(buf), "%s%sexitcode=66", old ? old : "", old && *old ? ":" : "");
	setenv("TSAN_OPTIONS", buf, 1);
}

int main(int argc, char **argv)
{
	int seconds = 3, st, san, nth = 0;
	const char *threads = "2", *assign = "round-robin";
	pthread_t th[NLONG + NPING + 2];
	redisContext *c;
	long long polled = -1;
	static char log[65536];

	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--seconds") == 0)
			seconds = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--server-threads") == 0)
			threads = argv[i + 1];
		else if (strcmp(argv[i], "--conn-assign") == 0)
			assign = argv[i + 1];
	}
	if (kvsd_bin_is_redis()) {
		printf("stress_guest: skipped (kvsd-only)\n");
		return 0;
	}
	signal(SIGPIPE, SIG_IGN);
	child_sanitizer_env();
	srv.keep_log = 1;
	if (kvsd_start(&srv, (const char *[]){"--threads", threads, "--conn-assign", assign, "--hz",
					      "100", "--run-budget-commands", "1000", NULL}) != 0) {
		fprintf(stderr, "stress_guest: FAIL: kvsd did not start\n");
		kvsd_dump_log(&srv);
		return 1;
	}
	c = kvsd_connect(&srv);
	if (!c || c->err) {
		fprintf(stderr, "stress_guest: FAIL: connect\n");
		kvsd_kill(&srv);
		return 1;
	}
	for (int i = 0; i < NKEYS; i++)
		redisAppendCommand(c, "SET k:%d v", i);
	/* the idle timeout only now: on a loaded machine, building the fill could take
	 * longer than it */
	redisAppendCommand(c, "CONFIG SET timeout 1");
	if (expect_replies(c, NKEYS, REDIS_REPLY_STATUS, "fill") < 0 ||
	    expect_replies(c, 1, REDIS_REPLY_STATUS, "CONFIG SET timeout") < 0) {
		fprintf(stderr, "stress_guest: FAIL: %s\n", fail_msg);
		kvsd_dump_log(&srv);
		kvsd_kill(&srv);
		return 1;
	}
	deadline_ms = kvsd_now_ms() + seconds * 1000LL;
	for (int i = 0; i < NLONG; i++)
		pthread_create(&th[nth++], NULL, long_main, (void *)(uintptr_t)(i + 1));
	for (int i = 0; i < NPING; i++)
		pthread_create(&th[nth++], NULL, ping_main, NULL);
	pthread_create(&th[nth++], NULL, churn_main, NULL);
	pthread_create(&th[nth++], NULL, kill_main, NULL);
	while (kvsd_now_ms() < deadline_ms && !atomic_load_explicit(&failed, memory_order_relaxed))
		kvsd_sleep_ms(20);
	redisFree(c); /* idle for --seconds: closed by the idle timeout anyway */
	c = kvsd_connect(&srv);
	if (c && !c->err)
		polled = info_sum(c, "polled_by_guest");
	if (c)
		redisFree(c);
	/* SIGTERM while the long clients are still in their commands */
	atomic_store_explicit(&stopping, 1, memory_order_relaxed);
	st = kvsd_stop(&srv, 60000);
	for (int i = 0; i < nth; i++)
		pthread_join(th[i], NULL);
	kvsd_log(&srv, log, sizeof(log));
	kvsd_kill(&srv); /* removes the log */
	san = strstr(log, "WARNING: ThreadSanitizer") || strstr(log, "ERROR: AddressSanitizer") ||
	      strstr(log, "runtime error:");
	if (st != 0 || san) {
		fprintf(stderr,
			"stress_guest: FAIL: server exit status %d after SIGTERM (want 0; 66 = "
			"ThreadSanitizer report)%s\n---- server output (tail) ----\n%s\n",
			st, san ? "; sanitizer report in its output" : "", log);
		return 1;
	}
	if (atomic_load_explicit(&failed, memory_order_relaxed)) {
		fprintf(stderr, "stress_guest: FAIL: %s\n", fail_msg);
		return 1;
	}
	if (polled <= 0) {
		fprintf(stderr, "stress_guest: FAIL: no loop was polled by a guest (%lld)\n",
			polled);
		return 1;
	}
	printf("stress_guest: OK %ds, %s placement, %s server threads: %lld long tasks, %lld "
	       "PINGs (worst %lld ms), %lld connections churned, %lld killed, %lld guest polls, "
	       "exit 0\n",
	       seconds, assign, threads, (long long)long_tasks, (long long)pings,
	       (long long)worst_ping_ms, (long long)churned, (long long)killed, polled);
	return 0;
}
