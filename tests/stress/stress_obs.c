/*
 * stress_obs.c — the observability counters while commands run on every
 * worker (issue 12): per-worker latency histograms and error-code counters
 * are written by the workers and summed by readers, CONFIG RESETSTAT bumps
 * the histograms' generation while workers record.
 *
 * A plain executable (Criterion aborts under TSan) that starts a real kvsd
 * ($KVSD_BIN) with three workers and runs for --seconds S (default 3):
 *  - loaders (one connection each, so they land on different workers):
 *    pipelines of SET / GET / INCR on a non-number (ERR) / an unknown
 *    command (ERR) / MULTI + FOO + EXEC (EXECABORT);
 *  - a reader: INFO errorstats, INFO latencystats, LATENCY HISTOGRAM,
 *    LATENCY LATEST, CONFIG RESETSTAT, CONFIG SET latency-tracking no/yes,
 *    each reply checked for form.
 * At the end, with the loaders stopped: CONFIG RESETSTAT, then a known
 * number of errors and calls on every loader connection, and the sums must
 * be exact: errorstat_ERR and errorstat_EXECABORT counts, total_error_replies,
 * and LATENCY HISTOGRAM set's calls. Under ThreadSanitizer the server runs
 * with exitcode=66 and its output is searched for reports.
 */
#include <hiredis/hiredis.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvsd_proc.h"

#define LOADERS 3

static struct kvsd_proc srv;
static long long deadline_ms;
/* relaxed: a stop flag */
static atomic_int failed;
static char fail_msg[512]; /* first failure; written once before failed is set */
static pthread_mutex_t fail_lock = PTHREAD_MUTEX_INITIALIZER;

static void fail(const char *what, const redisReply *r)
{
	pthread_mutex_lock(&fail_lock);
	if (!fail_msg[0])
		snprintf(fail_msg, sizeof(fail_msg), "%s: (type %d) %s", what, r ? r->type : -1,
			 r ? (r->str ? r->str : "(non-string reply)") : "no reply");
	pthread_mutex_unlock(&fail_lock);
	atomic_store_explicit(&failed, 1, memory_order_relaxed); /* relaxed: stop flag */
}

static int running(void)
{
	/* relaxed: stop flag */
	return !atomic_load_explicit(&failed, memory_order_relaxed) && kvsd_now_ms() < deadline_ms;
}

/* Sends n copies of the error-making batch and reads every reply. */
static int batch(redisContext *c, int n)
{
	redisReply *r;
	int replies = 0;

	for (int i = 0; i < n; i++) {
		redisAppendCommand(c, "SET s%d v", i);
		redisAppendCommand(c, "GET s%d", i);
		redisAppendCommand(c, "INCR s%d", i); /* -ERR value is not an integer */
		redisAppendCommand(c, "NOSUCHCMD x"); /* -ERR unknown command */
		redisAppendCommand(c, "MULTI");
		redisAppendCommand(c, "FOO");  /* -ERR unknown command */
		redisAppendCommand(c, "EXEC"); /* -EXECABORT */
		replies += 7;
	}
	for (int i = 0; i < replies; i++) {
		if (redisGetReply(c, (void **)&r) != REDIS_OK) {
			fail("loader", NULL);
			return -1;
		}
		freeReplyObject(r);
	}
	return 0;
}

static void *loader(void *arg)
{
	redisContext *c = arg;

	while (running())
		if (batch(c, 20) != 0)
			break;
	return NULL;
}

static void *reader(void *arg)
{
	static const char *const cmds[] = {
	    "INFO errorstats",
	    "INFO latencystats",
	    "LATENCY HISTOGRAM",
	    "LATENCY HISTOGRAM set",
	    "LATENCY LATEST",
	    "CONFIG RESETSTAT",
	    "CONFIG SET latency-tracking no",
	    "INFO latencystats",
	    "CONFIG SET latency-tracking yes",
	    "INFO everything",
	};
	redisContext *c = kvsd_connect(&srv);
	long *n = arg;

	while (c && running()) {
		for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
			redisReply *r = redisCommand(c, cmds[i]);

			if (r == NULL || r->type == REDIS_REPLY_ERROR ||
			    (strncmp(cmds[i], "INFO", 4) == 0 &&
			     (r->type != REDIS_REPLY_STRING || r->str[0] != '#'))) {
				char what[128];

				snprintf(what, sizeof(what), "%s (after %s)", cmds[i],
					 cmds[(i + sizeof(cmds) / sizeof(cmds[0]) - 1) %
					      (sizeof(cmds) / sizeof(cmds[0]))]);
				fail(what, r);
				freeReplyObject(r);
				break;
			}
			freeReplyObject(r);
			(*n)++;
		}
	}
	if (c)
		redisFree(c);
	return NULL;
}

/* The integer after `field` in an INFO text, or -1. */
static long long field(const char *info, const char *name)
{
	const char *p = strstr(info, name);

	return p ? atoll(p + strlen(name)) : -1;
}

static int final_check(redisContext **lc)
{
	redisContext *c = kvsd_connect(&srv);
	redisReply *r, *e, *s;
	long long err, abort_, total;
	int ok;

	if (!c)
		return 0;
	freeReplyObject(redisCommand(c, "CONFIG RESETSTAT"));
	for (int i = 0; i < LOADERS; i++)
		if (batch(lc[i], 10) != 0)
			return 0;
	e = redisCommand(c, "INFO errorstats");
	s = redisCommand(c, "INFO stats");
	r = redisCommand(c, "LATENCY HISTOGRAM set");
	/* per batch: INCR, NOSUCHCMD, FOO = 3 ERR, 1 EXECABORT */
	err = e ? field(e->str, "errorstat_ERR:count=") : -1;
	abort_ = e ? field(e->str, "errorstat_EXECABORT:count=") : -1;
	total = s ? field(s->str, "total_error_replies:") : -1;
	ok = err == LOADERS * 10 * 3 && abort_ == LOADERS * 10 && total == LOADERS * 10 * 4 && r &&
	     r->type == REDIS_REPLY_ARRAY && r->elements == 2 && r->element[1]->elements == 4 &&
	     r->element[1]->element[1]->integer == LOADERS * 10;
	if (!ok)
		fprintf(stderr,
			"stress_obs: FAIL: after RESETSTAT and %d batches: ERR %lld (want %d), "
			"EXECABORT %lld (want %d), total_error_replies %lld (want %d), set calls "
			"%lld (want %d)\n",
			LOADERS * 10, err, LOADERS * 30, abort_, LOADERS * 10, total, LOADERS * 40,
			r && r->type == REDIS_REPLY_ARRAY && r->elements == 2
			    ? r->element[1]->element[1]->integer
			    : -1,
			LOADERS * 10);
	freeReplyObject(e);
	freeReplyObject(s);
	freeReplyObject(r);
	redisFree(c);
	return ok;
}

int main(int argc, char **argv)
{
	pthread_t lt[LOADERS], rt;
	redisContext *lc[LOADERS];
	static char log[1 << 16];
	const char *old = getenv("TSAN_OPTIONS");
	char env[1024];
	long reads = 0;
	int seconds = 3, st, san, ok;

	for (int i = 1; i < argc; i++)
		if (i + 1 < argc && strcmp(argv[i], "--seconds") == 0)
			seconds = atoi(argv[++i]);
	signal(SIGPIPE, SIG_IGN);
	snprintf(env, sizeof(env), "%s%sexitcode=66", old ? old : "", old && *old ? ":" : "");
	setenv("TSAN_OPTIONS", env, 1);
	srv.keep_log = 1;
	if (kvsd_start(&srv, (const char *[]){"--threads", "3", NULL}) != 0) {
		fprintf(stderr, "stress_obs: FAIL: kvsd did not start\n");
		return 1;
	}
	deadline_ms = kvsd_now_ms() + seconds * 1000LL;
	for (int i = 0; i < LOADERS; i++) {
		lc[i] = kvsd_connect(&srv);
		if (!lc[i]) {
			fprintf(stderr, "stress_obs: FAIL: connect\n");
			return 1;
		}
		pthread_create(&lt[i], NULL, loader, lc[i]);
	}
	pthread_create(&rt, NULL, reader, &reads);
	for (int i = 0; i < LOADERS; i++)
		pthread_join(lt[i], NULL);
	pthread_join(rt, NULL);
	ok = !atomic_load_explicit(&failed, memory_order_relaxed) && final_check(lc);
	for (int i = 0; i < LOADERS; i++)
		redisFree(lc[i]);
	st = kvsd_stop(&srv, 30000);
	kvsd_log(&srv, log, sizeof(log));
	kvsd_kill(&srv);
	san = strstr(log, "WARNING: ThreadSanitizer") || strstr(log, "ERROR: AddressSanitizer") ||
	      strstr(log, "runtime error:");
	if (st != 0 || san || !ok) {
		fprintf(stderr, "stress_obs: FAIL: exit status %d (66 = TSan report)%s%s%s\n", st,
			san ? "; sanitizer report in the server's output" : "",
			fail_msg[0] ? "; " : "", fail_msg);
		if (st != 0 || san)
			fprintf(stderr, "---- server output ----\n%s\n", log);
		return 1;
	}
	printf("stress_obs: OK %d s, %ld reader commands, exact sums after RESETSTAT\n", seconds,
	       reads);
	return 0;
}
