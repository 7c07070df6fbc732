/*
 * stress_server.c — a time-boxed torture run of a real kvsd from many client threads.
 *
 * A plain executable, not a Criterion test, because it also runs in the ThreadSanitizer build
 * where the kvsd it starts ($KVSD_BIN) is TSan-instrumented too: the child gets
 * TSAN_OPTIONS with exitcode=66, so a race report in the server makes its exit status
 * non-zero, and its output is also searched for sanitizer reports.
 *
 * For --seconds S (default 3) these clients run at once against a small key space:
 *  - mixers: SET/GET/MSET of self-checking values (key, seed, length, body from the seed,
 *    checksum), APPEND of "tid.seq;" tokens, DEL, PEXPIRE, and INCR on shared counters whose
 *    per-thread tallies must add up exactly at the end;
 *  - churn: connect, one command (or half of one), disconnect, as fast as possible;
 *  - abandoners: pipeline 1,000 commands and close without reading a single reply.
 * Invariants checked while running: every GET value is a whole value written for that key;
 * every APPEND value is a sequence of well-formed tokens, each thread's in increasing order;
 * INCR answers integers. At the end: counters exact, SIGTERM, exit status 0.
 * Prints one summary line; exits 1 with a message on the first violation.
 */
#include <errno.h>
#include <inttypes.h>
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

#define ST_KEYS	      16
#define ST_CTRS	      4
#define ST_MAX_MIXERS 32
#define ST_MAX_VAL    9000
#define ST_TOKEN_TIDS ST_MAX_MIXERS
#define ST_PIPELINE   1000

static struct kvsd_proc st_srv;
static long long st_deadline_ms;

/* Set once by the first failing thread; others poll it to stop early. */
static atomic_int st_failed;
static pthread_mutex_t st_fail_lock = PTHREAD_MUTEX_INITIALIZER;
static char st_fail_msg[1024]; /* under st_fail_lock */

static void st_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void st_fail(const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&st_fail_lock);
	if (!st_fail_msg[0]) {
		va_start(ap, fmt);
		vsnprintf(st_fail_msg, sizeof(st_fail_msg), fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&st_fail_lock);
	/* relaxed: a stop flag; the message is published by st_fail_lock */
	atomic_store_explicit(&st_failed, 1, memory_order_relaxed);
}

static int st_running(void)
{
	/* relaxed: see st_fail() */
	return !atomic_load_explicit(&st_failed, memory_order_relaxed) &&
	       kvsd_now_ms() < st_deadline_ms;
}

static uint32_t st_rand(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static uint32_t fnv1a(const char *p, size_t n)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)p[i]) * 16777619u;
	return h;
}

/* "<key>|<seed>|<len>|<body>|<fnv1a of everything before>". */
static size_t val_make(char *buf, const char *key, uint32_t seed, size_t len)
{
	size_t n = (size_t)sprintf(buf, "%s|%08" PRIx32 "|%zu|", key, seed, len);
	uint32_t x = seed | 1;

	for (size_t i = 0; i < len; i++)
		buf[n + i] = (char)('a' + st_rand(&x) % 26);
	n += len;
	n += (size_t)sprintf(buf + n, "|%08" PRIx32, fnv1a(buf, n));
	return n;
}

static int val_check(const char *key, const redisReply *r, char *scratch)
{
	char k[32];
	unsigned seed;
	size_t len;
	int hdr = 0;

	if (r->type == REDIS_REPLY_NIL)
		return 0;
	if (r->type != REDIS_REPLY_STRING) {
		st_fail("GET %s: reply type %d (%.80s)", key, r->type, r->str ? r->str : "");
		return -1;
	}
	if (sscanf(r->str, "%31[^|]|%8x|%zu|%n", k, &seed, &len, &hdr) != 3 || hdr == 0 ||
	    len > ST_MAX_VAL) {
		st_fail("GET %s: malformed value: %.80s", key, r->str);
		return -1;
	}
	if (strcmp(k, key) != 0) {
		st_fail("GET %s returned a value written for %s", key, k);
		return -1;
	}
	if (val_make(scratch, key, seed, len) != r->len || memcmp(scratch, r->str, r->len) != 0) {
		st_fail("GET %s: torn or corrupt value (%zu bytes, header seed %08x len %zu)", key,
			r->len, seed, len);
		return -1;
	}
	return 0;
}

/* An APPEND value: tokens "tid.seq;", each thread's seq strictly increasing. */
static int append_check(const char *key, const redisReply *r)
{
	long last[ST_TOKEN_TIDS];
	const char *p, *end;

	if (r->type == REDIS_REPLY_NIL)
		return 0;
	if (r->type != REDIS_REPLY_STRING) {
		st_fail("GET %s: reply type %d", key, r->type);
		return -1;
	}
	for (int i = 0; i < ST_TOKEN_TIDS; i++)
		last[i] = -1;
	p = r->str;
	end = r->str + r->len;
	while (p < end) {
		char *q;
		long tid = strtol(p, &q, 10), seq;

		if (q == p || *q != '.' || tid < 0 || tid >= ST_TOKEN_TIDS)
			goto bad;
		p = q + 1;
		seq = strtol(p, &q, 10);
		if (q == p || q >= end || *q != ';')
			goto bad;
		if (seq <= last[tid]) {
			st_fail("GET %s: thread %ld's appends out of order (%ld after %ld)", key,
				tid, seq, last[tid]);
			return -1;
		}
		last[tid] = seq;
		p = q + 1;
	}
	return 0;
bad:
	st_fail("GET %s: malformed APPEND value near offset %td: %.40s", key, p - r->str, p);
	return -1;
}

struct mixer {
	pthread_t th;
	int id;
	long ops;
	long incrs[ST_CTRS]; /* successful INCRs per counter, read after join */
};

/* Run one command; NULL (and a recorded failure) on an I/O error. */
static redisReply *mx_cmd(redisContext *c, const char *what, const char *fmt, ...)
{
	redisReply *r;
	va_list ap;

	va_start(ap, fmt);
	r = redisvCommand(c, fmt, ap);
	va_end(ap);
	if (!r)
		st_fail("%s: connection error %d: %s", what, c->err, c->errstr);
	else if (r->type == REDIS_REPLY_ERROR)
		st_fail("%s: error reply: %s", what, r->str);
	if (r && r->type == REDIS_REPLY_ERROR) {
		freeReplyObject(r);
		r = NULL;
	}
	return r;
}

static void *mixer_main(void *arg)
{
	struct mixer *m = arg;
	char *buf = malloc(2 * ST_MAX_VAL + 200), *buf2 = malloc(ST_MAX_VAL + 100);
	char *scratch = malloc(ST_MAX_VAL + 100);
	redisContext *c = kvsd_connect(&st_srv);
	uint32_t rng = 0x9e3779b9u ^ (uint32_t)(m->id * 7919 + 1);
	long seq = 0;

	if (!buf || !buf2 || !scratch || !c || c->err) {
		st_fail("mixer %d: setup failed: %s", m->id, c ? c->errstr : "oom");
		goto out;
	}
	while (st_running()) {
		uint32_t x = st_rand(&rng), op = x % 100;
		unsigned k = (x >> 8) % ST_KEYS;
		char key[32], key2[32];
		redisReply *r = NULL;

		snprintf(key, sizeof(key), "v:%u", k);
		if (op < 25) {
			size_t len = (x >> 12) % 16 ? (x >> 16) % 64 : (x >> 16) % ST_MAX_VAL;
			size_t n = val_make(buf, key, st_rand(&rng), len);

			r = mx_cmd(c, "SET", "SET %s %b", key, buf, n);
		} else if (op < 50) {
			r = mx_cmd(c, "GET", "GET %s", key);
			if (r)
				val_check(key, r, scratch);
		} else if (op < 60) {
			unsigned k2 = (k + 1 + (x >> 20) % (ST_KEYS - 1)) % ST_KEYS;
			size_t n1, n2;

			snprintf(key2, sizeof(key2), "v:%u", k2);
			n1 = val_make(buf, key, st_rand(&rng), (x >> 4) % 200);
			n2 = val_make(buf2, key2, st_rand(&rng), (x >> 14) % 200);
			r = mx_cmd(c, "MSET", "MSET %s %b %s %b", key, buf, n1, key2, buf2, n2);
		} else if (op < 75) {
			unsigned ck = (x >> 8) % ST_CTRS;

			r = mx_cmd(c, "INCR", "INCR ctr:%u", ck);
			if (r && r->type != REDIS_REPLY_INTEGER)
				st_fail("INCR ctr:%u: reply type %d", ck, r->type);
			else if (r)
				m->incrs[ck]++;
		} else if (op < 85) {
			r = mx_cmd(c, "APPEND", "APPEND a:%u %d.%ld;", k, m->id, seq++);
			if (r && r->type != REDIS_REPLY_INTEGER)
				st_fail("APPEND a:%u: reply type %d", k, r->type);
		} else if (op < 92) {
			snprintf(key2, sizeof(key2), "a:%u", k);
			r = mx_cmd(c, "GET a:", "GET %s", key2);
			if (r)
				append_check(key2, r);
		} else if (op < 96) {
			r = mx_cmd(c, "DEL", "DEL %s a:%u", key, k);
		} else {
			r = mx_cmd(c, "PEXPIRE", "PEXPIRE %s %u", (x & 0x100000) ? key : "a:0",
				   20 + (x >> 24) % 200);
		}
		if (r)
			freeReplyObject(r);
		m->ops++;
	}
out:
	if (c)
		redisFree(c);
	free(buf);
	free(buf2);
	free(scratch);
	return NULL;
}

struct churner {
	pthread_t th;
	long conns;
};

static void *churn_main(void *arg)
{
	struct churner *ch = arg;
	uint32_t rng = 12345;

	while (st_running()) {
		redisContext *c = kvsd_connect(&st_srv);
		redisReply *r;

		if (!c || c->err) {
			st_fail("churn connect: %s", c ? c->errstr : "oom");
			if (c)
				redisFree(c);
			break;
		}
		switch (st_rand(&rng) % 3) {
		case 0:
			r = redisCommand(c, "PING");
			if (!r || r->type != REDIS_REPLY_STATUS)
				st_fail("churn PING: %s", r ? r->str : c->errstr);
			if (r)
				freeReplyObject(r);
			break;
		case 1: /* half a command, then gone */
			if (write(c->fd, "*3\r\n$3\r\nSET\r\n$5\r\nchu", 21) < 0)
				st_fail("churn write: %s", strerror(errno));
			break;
		default: /* connect and leave */
			break;
		}
		redisFree(c);
		ch->conns++;
	}
	return NULL;
}

struct abandoner {
	pthread_t th;
	int id;
	long pipelines;
};

static void *abandon_main(void *arg)
{
	struct abandoner *ab = arg;

	while (st_running()) {
		redisContext *c = kvsd_connect(&st_srv);
		int done = 0;

		if (!c || c->err) {
			st_fail("abandoner connect: %s", c ? c->errstr : "oom");
			if (c)
				redisFree(c);
			break;
		}
		for (int i = 0; i < ST_PIPELINE; i++) {
			switch (i % 4) {
			case 0:
				redisAppendCommand(c, "SET pab:%d:%d %0200d", ab->id, i % 50, i);
				break;
			case 1:
				redisAppendCommand(c, "GET pab:%d:%d", ab->id, i % 50);
				break;
			case 2:
				redisAppendCommand(c, "INCR pabctr:%d", ab->id);
				break;
			default:
				redisAppendCommand(c, "MGET v:0 v:1 v:2 v:3 ctr:0");
			}
		}
		while (!done && redisBufferWrite(c, &done) == REDIS_OK)
			;
		redisFree(c);
		ab->pipelines++;
		kvsd_sleep_ms(10); /* leave the server's time mostly to the checking clients */
	}
	return NULL;
}

static int st_check_counters(const struct mixer *mx, int nmix)
{
	redisContext *c = kvsd_connect(&st_srv);
	int rc = 0;

	if (!c || c->err) {
		st_fail("final connect: %s", c ? c->errstr : "oom");
		rc = -1;
		goto out;
	}
	for (int k = 0; k < ST_CTRS; k++) {
		long long want = 0;
		redisReply *r = redisCommand(c, "GET ctr:%d", k);

		for (int t = 0; t < nmix; t++)
			want += mx[t].incrs[k];
		if (!r || (want && (r->type != REDIS_REPLY_STRING || atoll(r->str) != want)) ||
		    (!want && r->type != REDIS_REPLY_NIL)) {
			st_fail("GET ctr:%d = %s, want %lld (sum of acknowledged INCRs)", k,
				r && r->str ? r->str : "(nil/err)", want);
			rc = -1;
		}
		if (r)
			freeReplyObject(r);
	}
out:
	if (c)
		redisFree(c);
	return rc;
}

static void usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s [--seconds S] [--clients N] [--server-threads T]\n"
		"  KVSD_BIN: server binary; KVSD_EXTRA_ARGS: more server flags\n",
		prog);
	exit(2);
}

/* Add exitcode=66 to the child's TSAN_OPTIONS (this process read its own at start-up). */
static void st_child_sanitizer_env(void)
{
	const char *old = getenv("TSAN_OPTIONS");
	char buf[1024];

	snprintf(buf, sizeof(buf), "%s%sexitcode=66", old ? old : "", old && *old ? ":" : "");
	setenv("TSAN_OPTIONS", buf, 1);
}

int main(int argc, char **argv)
{
	int seconds = 3, nmix = 6, sthreads = 2, st, rc, san;
	struct mixer mx[ST_MAX_MIXERS];
	struct churner ch = {0};
	struct abandoner ab[2];
	char threads_arg[16], log[65536];
	long long ops = 0, t0;

	for (int i = 1; i < argc; i++) {
		if (i + 1 >= argc)
			usage(argv[0]);
		if (strcmp(argv[i], "--seconds") == 0)
			seconds = atoi(argv[++i]);
		else if (strcmp(argv[i], "--clients") == 0)
			nmix = atoi(argv[++i]);
		else if (strcmp(argv[i], "--server-threads") == 0)
			sthreads = atoi(argv[++i]);
		else
			usage(argv[0]);
	}
	if (seconds < 1 || nmix < 1 || nmix > ST_MAX_MIXERS || sthreads < 1)
		usage(argv[0]);
	signal(SIGPIPE, SIG_IGN);
	st_child_sanitizer_env();
	snprintf(threads_arg, sizeof(threads_arg), "%d", sthreads);
	st_srv.keep_log = 1;
	rc = kvsd_start(
	    &st_srv, kvsd_bin_is_redis() ? NULL : (const char *[]){"--threads", threads_arg, NULL});
	if (rc != 0) {
		fprintf(stderr, "stress_server: FAIL: kvsd did not start: %s\n", strerror(-rc));
		return 1;
	}

	t0 = kvsd_now_ms();
	st_deadline_ms = t0 + seconds * 1000LL;
	for (int t = 0; t < nmix; t++) {
		mx[t] = (struct mixer){.id = t};
		pthread_create(&mx[t].th, NULL, mixer_main, &mx[t]);
	}
	pthread_create(&ch.th, NULL, churn_main, &ch);
	for (int t = 0; t < 2; t++) {
		ab[t] = (struct abandoner){.id = t};
		pthread_create(&ab[t].th, NULL, abandon_main, &ab[t]);
	}
	for (int t = 0; t < nmix; t++) {
		pthread_join(mx[t].th, NULL);
		ops += mx[t].ops;
	}
	pthread_join(ch.th, NULL);
	for (int t = 0; t < 2; t++)
		pthread_join(ab[t].th, NULL);

	if (!atomic_load_explicit(&st_failed, memory_order_relaxed))
		st_check_counters(mx, nmix);
	st = kvsd_stop(&st_srv, 30000);
	kvsd_log(&st_srv, log, sizeof(log));
	kvsd_kill(&st_srv); /* removes the log */
	san = strstr(log, "WARNING: ThreadSanitizer") || strstr(log, "ERROR: AddressSanitizer") ||
	      strstr(log, "runtime error:");
	if (st != 0 || san) {
		/* The server's failure explains the clients' errors that follow from it. */
		fprintf(stderr,
			"stress_server: FAIL: server exit status %d after SIGTERM (want 0; 66 = "
			"ThreadSanitizer report)%s\n",
			st, san ? "; sanitizer report in its output" : "");
		if (st_fail_msg[0])
			fprintf(stderr, "stress_server: first client-side error: %s\n",
				st_fail_msg);
		fprintf(stderr, "---- server output (tail) ----\n%s\n", log);
		return 1;
	}
	if (atomic_load_explicit(&st_failed, memory_order_relaxed)) {
		fprintf(stderr, "stress_server: FAIL: %s\n", st_fail_msg);
		if (log[0])
			fprintf(stderr, "---- server output (tail) ----\n%s\n", log);
		return 1;
	}
	printf("stress_server: OK %.1f s, %d clients + churn + 2 abandoners, %lld ops (%.0f/s), "
	       "%ld connections churned, %ld pipelines abandoned, server threads %d, exit 0\n",
	       (kvsd_now_ms() - t0) / 1000.0, nmix, ops, ops * 1000.0 / (seconds * 1000.0),
	       ch.conns, ab[0].pipelines + ab[1].pipelines, sthreads);
	return 0;
}
