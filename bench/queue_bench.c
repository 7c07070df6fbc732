/*
 * queue_bench.c — kvsd-queue-bench: the job-queue benchmark of issue 14.
 *
 * P producer threads LPUSH unique jobs onto one list; C consumer threads
 * BRPOP them. One connection (hiredis, blocking) per thread: that is how
 * Sidekiq/Resque/RQ workers use a queue, and it is what makes a consumer
 * park in the server. Each job carries its producer's CLOCK_MONOTONIC
 * timestamp taken just before the LPUSH was sent ("P:SEQ:T_NS:" + padding);
 * the consumer takes its own timestamp when the BRPOP reply arrives, so the
 * push-to-pop latency is measured on one host with one clock and includes
 * the time the job waited in the list.
 *
 * Why a program of its own and not a kvsd-loadgen mode: kvsd-loadgen is one
 * epoll loop per thread over pipelined connections that measures request to
 * reply; here the latency runs from one connection's request to another's
 * reply, and a consumer is a connection parked in BRPOP, so a thread per
 * connection with blocking calls is the natural (and the workers') model.
 * The latency histogram is kvsd-loadgen's (loadgen/hist.h).
 *
 * Producers run closed loop (each pushes its next job when the previous
 * LPUSH answered) unless --rate spreads the jobs over time (open loop; a
 * job's timestamp is then still its real send time). Every job is marked in
 * a bitmap when popped: a job popped twice counts as a duplicate, a job never
 * popped as missing. Termination: consumers stop once every job was popped;
 * BRPOP has a short timeout (--timeout) so that consumers parked when the
 * last job went see the end; if no job arrives for --drain seconds after the
 * producers finished, the run ends and reports the missing jobs (bounded).
 *
 * Exit status: 0 when every job was popped exactly once and no command
 * failed, 2 when jobs were missing or duplicated or a command failed, 1 on a
 * usage or connection error.
 */
#include <errno.h>
#include <getopt.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "loadgen/hist.h"

#define MAX_THREADS 1024
#define MAX_CPUS    256

struct qb_config {
	const char *host, *key, *json, *cpu_list;
	int port, producers, consumers;
	uint64_t jobs;
	size_t size;
	double timeout, drain, rate;
	int cpus[MAX_CPUS], ncpus;
};

struct qb_thread {
	int id; /* producers 0..P-1, consumers P..P+C-1 */
	pthread_t thread;
	redisContext *rc;
	/* consumer results, read by main after pthread_join */
	struct hist lat;
	uint64_t popped, dups, bad, errors, timeouts;
	uint64_t last_pop_ns;
	/* producer results */
	uint64_t pushed, last_push_ns;
	char err[160];
};

static struct qb_config cfg = {
    .host = "127.0.0.1",
    .key = "kvsd-queue-bench:jobs",
    .port = 6379,
    .producers = 1,
    .consumers = 1,
    .jobs = 100000,
    .size = 32,
    .timeout = 0.1,
    .drain = 5.0,
};
static pthread_barrier_t go;
static uint64_t t_start;
/* Shared between the threads (main writes the plain ones before the barrier):
 * seen: one bit per job (producer * per_producer + seq), set by the consumer that pops it;
 * consumed: distinct jobs popped, added by consumers, read by consumers for the end test;
 * producers_left: decremented by each producer when done, read by consumers;
 * last_progress_ns: latest pop or the end of pushing, written by both, read by consumers
 * for the --drain bound. */
static _Atomic uint64_t *seen;
static uint64_t per_producer; /* jobs of producer 0, the most any producer has */
static _Atomic uint64_t consumed;
static _Atomic int producers_left;
static _Atomic uint64_t last_progress_ns;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static uint64_t jobs_of(int p)
{
	return cfg.jobs / (uint64_t)cfg.producers +
	       ((uint64_t)p < cfg.jobs % (uint64_t)cfg.producers);
}

static void pin(int id)
{
	cpu_set_t set;

	if (!cfg.ncpus)
		return;
	CPU_ZERO(&set);
	CPU_SET(cfg.cpus[id % cfg.ncpus], &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

static void *producer(void *arg)
{
	struct qb_thread *t = arg;
	uint64_t n = jobs_of(t->id);
	char *job = malloc(cfg.size + 64);

	pin(t->id);
	pthread_barrier_wait(&go);
	for (uint64_t k = 0; k < n && job; k++) {
		redisReply *r;
		uint64_t ts;
		int len;

		if (cfg.rate > 0) { /* job k of producer i is due at (k * P + i) / rate */
			uint64_t due = t_start + (uint64_t)(((double)k * cfg.producers + t->id) /
							    cfg.rate * 1e9);
			uint64_t now = now_ns();

			if (due > now)
				nanosleep(
				    &(struct timespec){
					.tv_sec = (time_t)((due - now) / 1000000000ULL),
					.tv_nsec = (long)((due - now) % 1000000000ULL)},
				    NULL);
		}
		ts = now_ns();
		len = snprintf(job, 64, "%d:%" PRIu64 ":%" PRIu64 ":", t->id, k, ts);
		if ((size_t)len < cfg.size) {
			memset(job + len, 'x', cfg.size - (size_t)len);
			len = (int)cfg.size;
		}
		r = redisCommand(t->rc, "LPUSH %s %b", cfg.key, job, (size_t)len);
		if (!r) {
			snprintf(t->err, sizeof(t->err), "LPUSH: %s", t->rc->errstr);
			t->errors++;
			break;
		}
		if (r->type == REDIS_REPLY_INTEGER) {
			t->pushed++;
		} else {
			t->errors++;
			if (!t->err[0])
				snprintf(t->err, sizeof(t->err), "LPUSH: %s",
					 r->type == REDIS_REPLY_ERROR ? r->str
								      : "unexpected reply");
		}
		freeReplyObject(r);
	}
	t->last_push_ns = now_ns();
	free(job);
	/* release: a consumer that sees 0 also sees this producer's pushes answered (the
	 * drain clock below starts after them); pairs with the consumers' acquire */
	if (atomic_fetch_sub_explicit(&producers_left, 1, memory_order_release) == 1)
		/* relaxed: a clock reading for the drain bound; it publishes nothing */
		atomic_store_explicit(&last_progress_ns, now_ns(), memory_order_relaxed);
	return NULL;
}

/* Parse "P:SEQ:T_NS:" at the start of a job. */
static bool parse_job(const char *s, size_t len, uint64_t *p, uint64_t *seq, uint64_t *ts)
{
	char buf[64], *end;

	if (len > sizeof(buf) - 1)
		len = sizeof(buf) - 1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	*p = strtoull(buf, &end, 10);
	if (*end != ':')
		return false;
	*seq = strtoull(end + 1, &end, 10);
	if (*end != ':')
		return false;
	*ts = strtoull(end + 1, &end, 10);
	return *end == ':';
}

static void *consumer(void *arg)
{
	struct qb_thread *t = arg;
	char tmo[32];

	snprintf(tmo, sizeof(tmo), "%g", cfg.timeout);
	hist_init(&t->lat);
	pin(t->id);
	pthread_barrier_wait(&go);
	for (;;) {
		redisReply *r, *v;
		uint64_t now, p, seq, ts;

		/* relaxed: a progress counter; the loop re-checks after every BRPOP */
		if (atomic_load_explicit(&consumed, memory_order_relaxed) >= cfg.jobs)
			break;
		r = redisCommand(t->rc, "BRPOP %s %s", cfg.key, tmo);
		now = now_ns();
		if (!r) {
			snprintf(t->err, sizeof(t->err), "BRPOP: %s", t->rc->errstr);
			t->errors++;
			break;
		}
		if (r->type == REDIS_REPLY_NIL ||
		    (r->type == REDIS_REPLY_ARRAY && r->elements == 0)) { /* timed out */
			freeReplyObject(r);
			t->timeouts++;
			/* acquire: pairs with the last producer's release */
			if (atomic_load_explicit(&producers_left, memory_order_acquire) == 0 &&
			    now - atomic_load_explicit(&last_progress_ns, memory_order_relaxed) >
				(uint64_t)(cfg.drain * 1e9))
				break; /* nothing for --drain seconds after the last push */
			continue;
		}
		if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
		    (v = r->element[1])->type != REDIS_REPLY_STRING) {
			t->errors++;
			if (!t->err[0])
				snprintf(t->err, sizeof(t->err), "BRPOP: %s",
					 r->type == REDIS_REPLY_ERROR ? r->str
								      : "unexpected reply");
			freeReplyObject(r);
			if (t->errors > 100)
				break;
			continue;
		}
		if (!parse_job(v->str, v->len, &p, &seq, &ts) || p >= (uint64_t)cfg.producers ||
		    seq >= jobs_of((int)p) || ts > now) {
			t->bad++;
		} else {
			uint64_t bit = p * per_producer + seq;
			/* relaxed: the bit's own atomicity is all that decides "first pop" */
			uint64_t old = atomic_fetch_or_explicit(&seen[bit / 64], 1ULL << (bit % 64),
								memory_order_relaxed);

			if (old & (1ULL << (bit % 64))) {
				t->dups++;
			} else {
				t->popped++;
				hist_record(&t->lat, now - ts);
				t->last_pop_ns = now;
				/* relaxed: counters for the end test and the drain clock */
				atomic_fetch_add_explicit(&consumed, 1, memory_order_relaxed);
				atomic_store_explicit(&last_progress_ns, now, memory_order_relaxed);
			}
		}
		freeReplyObject(r);
	}
	return NULL;
}

static void usage(FILE *f)
{
	fprintf(
	    f, "Usage: kvsd-queue-bench [options]\n"
	       "  -h HOST            server address (default 127.0.0.1)\n"
	       "  -p PORT            server port (default 6379)\n"
	       "  --producers P      producer threads, one connection each, LPUSH (default 1)\n"
	       "  --consumers C      consumer threads, one connection each, BRPOP (default 1)\n"
	       "  --jobs N           jobs in total, split over the producers (default 100000)\n"
	       "  --size BYTES       job size, \"P:SEQ:T_NS:\" padded with x (default 32)\n"
	       "  --key NAME         the list (default kvsd-queue-bench:jobs; deleted first)\n"
	       "  --rate JOBS/S      open loop: spread the jobs at this total rate (default:\n"
	       "                     closed loop, each producer as fast as LPUSH answers)\n"
	       "  --timeout S        BRPOP timeout, lets idle consumers see the end (default 0.1)\n"
	       "  --drain S          give up S seconds after the last push or pop (default 5)\n"
	       "  --cpu LIST         pin the threads round-robin to these CPUs (e.g. 1 or 2-3)\n"
	       "  --json FILE        results as JSON\n"
	       "  --help\n"
	       "Latency is push-to-pop: producer's CLOCK_MONOTONIC before LPUSH to consumer's\n"
	       "after BRPOP answered. Exit 0: every job popped exactly once; 2: jobs missing or\n"
	       "duplicated or a command failed; 1: usage or connection error.\n");
}

static void die(const char *what, const char *arg)
{
	fprintf(stderr, "kvsd-queue-bench: %s%s\n", what, arg ? arg : "");
	exit(1);
}

static double num(const char *s, const char *opt, double min)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || *end || !(v >= min))
		die("bad value for ", opt);
	return v;
}

static void parse_cpus(const char *s)
{
	char *copy = strdup(s), *save = NULL, *tok;

	cfg.cpu_list = s;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *dash = strchr(tok, '-');
		int lo, hi;

		if (dash)
			*dash = '\0';
		lo = (int)num(tok, "--cpu", 0);
		hi = dash ? (int)num(dash + 1, "--cpu", lo) : lo;
		for (int i = lo; i <= hi && cfg.ncpus < MAX_CPUS; i++) {
			if (i >= CPU_SETSIZE)
				die("bad value for ", "--cpu");
			cfg.cpus[cfg.ncpus++] = i;
		}
	}
	free(copy);
	if (!cfg.ncpus)
		die("bad value for ", "--cpu");
}

static void parse_args(int argc, char **argv)
{
	enum {
		O_PROD = 256,
		O_CONS,
		O_JOBS,
		O_SIZE,
		O_KEY,
		O_RATE,
		O_TMO,
		O_DRAIN,
		O_CPU,
		O_JSON,
		O_HELP
	};
	static const struct option lo[] = {
	    {"producers", required_argument, NULL, O_PROD},
	    {"consumers", required_argument, NULL, O_CONS},
	    {"jobs", required_argument, NULL, O_JOBS},
	    {"size", required_argument, NULL, O_SIZE},
	    {"key", required_argument, NULL, O_KEY},
	    {"rate", required_argument, NULL, O_RATE},
	    {"timeout", required_argument, NULL, O_TMO},
	    {"drain", required_argument, NULL, O_DRAIN},
	    {"cpu", required_argument, NULL, O_CPU},
	    {"json", required_argument, NULL, O_JSON},
	    {"help", no_argument, NULL, O_HELP},
	    {NULL, 0, NULL, 0},
	};
	int o;

	while ((o = getopt_long(argc, argv, "h:p:", lo, NULL)) != -1) {
		switch (o) {
		case 'h':
			cfg.host = optarg;
			break;
		case 'p':
			cfg.port = (int)num(optarg, "-p", 1);
			break;
		case O_PROD:
			cfg.producers = (int)num(optarg, "--producers", 1);
			break;
		case O_CONS:
			cfg.consumers = (int)num(optarg, "--consumers", 1);
			break;
		case O_JOBS:
			cfg.jobs = (uint64_t)num(optarg, "--jobs", 1);
			break;
		case O_SIZE:
			cfg.size = (size_t)num(optarg, "--size", 0);
			if (cfg.size > 1 << 20)
				die("bad value for ", "--size");
			break;
		case O_KEY:
			cfg.key = optarg;
			break;
		case O_RATE:
			cfg.rate = num(optarg, "--rate", 0);
			break;
		case O_TMO:
			cfg.timeout = num(optarg, "--timeout", 0.001);
			break;
		case O_DRAIN:
			cfg.drain = num(optarg, "--drain", 0);
			break;
		case O_CPU:
			parse_cpus(optarg);
			break;
		case O_JSON:
			cfg.json = optarg;
			break;
		case O_HELP:
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			exit(1);
		}
	}
	if (optind < argc)
		die("unexpected argument ", argv[optind]);
	if (cfg.producers + cfg.consumers > MAX_THREADS)
		die("too many threads (at most 1024 producers + consumers)", NULL);
	if ((uint64_t)cfg.producers > cfg.jobs)
		die("fewer jobs than producers", NULL);
}

static redisContext *connect_one(void)
{
	struct timeval tv = {.tv_sec = 10};
	redisContext *rc = redisConnectWithTimeout(cfg.host, cfg.port, tv);

	if (!rc || rc->err)
		die("connect: ", rc ? rc->errstr : "out of memory");
	/* no socket timeout: BRPOP's own timeout bounds each call */
	return rc;
}

static void write_json(const struct hist *lat, uint64_t popped, uint64_t dups, uint64_t bad,
		       uint64_t missing, uint64_t errors, uint64_t timeouts, double secs,
		       double push_secs, uint64_t pushed, long long left)
{
	FILE *f = fopen(cfg.json, "w");

	if (!f) {
		perror(cfg.json);
		return;
	}
	fprintf(f,
		"{\n  \"producers\": %d, \"consumers\": %d, \"jobs\": %" PRIu64
		", \"pushed\": %" PRIu64 ", \"popped\": %" PRIu64 ",\n",
		cfg.producers, cfg.consumers, cfg.jobs, pushed, popped);
	fprintf(f,
		"  \"duplicates\": %" PRIu64 ", \"malformed\": %" PRIu64 ", \"missing\": %" PRIu64
		", \"errors\": %" PRIu64 ", \"brpop_timeouts\": %" PRIu64
		", \"left_in_list\": %lld,\n",
		dups, bad, missing, errors, timeouts, left);
	fprintf(f,
		"  \"duration_s\": %.6f, \"jobs_per_sec\": %.1f, \"push_duration_s\": %.6f, "
		"\"push_per_sec\": %.1f,\n",
		secs, secs > 0 ? (double)popped / secs : 0.0, push_secs,
		push_secs > 0 ? (double)pushed / push_secs : 0.0);
	fprintf(f,
		"  \"latency\": {\"mean_us\": %.3f, \"p50_us\": %.3f, \"p90_us\": %.3f, "
		"\"p99_us\": %.3f, \"p999_us\": %.3f, \"max_us\": %.3f},\n",
		hist_mean(lat) / 1e3, hist_percentile(lat, 50) / 1e3,
		hist_percentile(lat, 90) / 1e3, hist_percentile(lat, 99) / 1e3,
		hist_percentile(lat, 99.9) / 1e3, (lat->total ? (double)lat->max : 0.0) / 1e3);
	fprintf(f,
		"  \"config\": {\"host\": \"%s\", \"port\": %d, \"key\": \"%s\", \"size\": %zu, "
		"\"rate\": %g, \"timeout\": %g, \"drain\": %g, \"cpu\": %s%s%s}\n}\n",
		cfg.host, cfg.port, cfg.key, cfg.size, cfg.rate, cfg.timeout, cfg.drain,
		cfg.cpu_list ? "\"" : "", cfg.cpu_list ? cfg.cpu_list : "null",
		cfg.cpu_list ? "\"" : "");
	fclose(f);
}

int main(int argc, char **argv)
{
	int n;
	struct qb_thread *ts;
	struct hist *lat;
	redisContext *ctl;
	redisReply *r;
	uint64_t popped = 0, dups = 0, bad = 0, errors = 0, timeouts = 0, pushed = 0;
	uint64_t last_pop = 0, last_push = 0, missing;
	long long left = -1;
	double secs, push_secs;

	parse_args(argc, argv);
	n = cfg.producers + cfg.consumers;
	per_producer = jobs_of(0);
	seen = calloc((size_t)(per_producer * (uint64_t)cfg.producers / 64 + 1), sizeof(*seen));
	ts = calloc((size_t)n, sizeof(*ts));
	lat = malloc(sizeof(*lat));
	if (!seen || !ts || !lat)
		die("out of memory", NULL);
	ctl = connect_one();
	r = redisCommand(ctl, "DEL %s", cfg.key);
	if (!r || r->type == REDIS_REPLY_ERROR)
		die("DEL failed: ", r ? r->str : ctl->errstr);
	freeReplyObject(r);
	for (int i = 0; i < n; i++) {
		ts[i].id = i; /* producers are 0..P-1 (their jobs' P field); pin() uses it */
		ts[i].rc = connect_one();
	}
	atomic_init(&producers_left, cfg.producers);
	pthread_barrier_init(&go, NULL, (unsigned)n + 1);
	for (int i = 0; i < n; i++) {
		if (pthread_create(&ts[i].thread, NULL, i < cfg.producers ? producer : consumer,
				   &ts[i]) != 0)
			die("cannot start a thread", NULL);
	}
	t_start = now_ns() + 1000000; /* the barrier orders it for the threads */
	/* relaxed: written before the threads pass the barrier, which orders it */
	atomic_store_explicit(&last_progress_ns, t_start, memory_order_relaxed);
	pthread_barrier_wait(&go);
	hist_init(lat);
	for (int i = 0; i < n; i++) {
		struct qb_thread *t = &ts[i];

		pthread_join(t->thread, NULL);
		if (t->err[0])
			fprintf(stderr, "kvsd-queue-bench: %s\n", t->err);
		errors += t->errors;
		if (i < cfg.producers) {
			pushed += t->pushed;
			if (t->last_push_ns > last_push)
				last_push = t->last_push_ns;
			continue;
		}
		hist_merge(lat, &t->lat);
		popped += t->popped;
		dups += t->dups;
		bad += t->bad;
		timeouts += t->timeouts;
		if (t->last_pop_ns > last_pop)
			last_pop = t->last_pop_ns;
		redisFree(t->rc);
	}
	for (int i = 0; i < cfg.producers; i++)
		redisFree(ts[i].rc);
	r = redisCommand(ctl, "LLEN %s", cfg.key);
	if (r && r->type == REDIS_REPLY_INTEGER)
		left = r->integer;
	freeReplyObject(r);
	redisFree(ctl);
	missing = cfg.jobs - popped;
	secs = last_pop > t_start ? (double)(last_pop - t_start) / 1e9 : 0.0;
	push_secs = last_push > t_start ? (double)(last_push - t_start) / 1e9 : 0.0;
	printf("kvsd-queue-bench %s:%d  producers %d  consumers %d  jobs %" PRIu64
	       " of %zu B  %s\n",
	       cfg.host, cfg.port, cfg.producers, cfg.consumers, cfg.jobs, cfg.size,
	       cfg.rate > 0 ? "open loop" : "closed loop");
	printf("popped %" PRIu64 " in %.3f s: %.0f jobs/s (pushes done in %.3f s: %.0f/s)\n",
	       popped, secs, secs > 0 ? (double)popped / secs : 0.0, push_secs,
	       push_secs > 0 ? (double)pushed / push_secs : 0.0);
	printf("push-to-pop latency us: p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f  max %.1f\n",
	       hist_percentile(lat, 50) / 1e3, hist_percentile(lat, 90) / 1e3,
	       hist_percentile(lat, 99) / 1e3, hist_percentile(lat, 99.9) / 1e3,
	       (lat->total ? (double)lat->max : 0.0) / 1e3);
	printf("missing %" PRIu64 "  duplicates %" PRIu64 "  malformed %" PRIu64 "  errors %" PRIu64
	       "  left in list %lld  BRPOP timeouts %" PRIu64 "\n",
	       missing, dups, bad, errors, left, timeouts);
	if (cfg.json)
		write_json(lat, popped, dups, bad, missing, errors, timeouts, secs, push_secs,
			   pushed, left);
	free(lat);
	free(ts);
	free(seen);
	return missing || dups || bad || errors ? 2 : 0;
}
