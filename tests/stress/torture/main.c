/*
 * main.c — the torture client's driver: start kvsd, run the checkers and the torture threads
 * (torture.h lists them) for --seconds, watch the server for an early exit, then check that it
 * still answers correctly, restore its configuration and stop it with SIGTERM, expecting exit
 * status 0 and no sanitizer report in its output.
 *
 * usage: stress_torture [--seconds S] [--latency-ms L] [--server-threads T] [--checkers N]
 *                       [--seed X] [--skip role,...]
 * (--skip leaves out torture roles, e.g. --skip huge,config, to find which one a failure needs)
 * $KVSD_TORTURE_SECONDS sets the default of --seconds (20); $KVSD_BIN, $KVSD_EXTRA_ARGS as for
 * every integration test. Prints a summary; exits 1 on any failure, with each failure's time,
 * the actions of the torture threads just before it, and the server's output when it exited.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "hr_show.h"
#include "torture.h"

#define TT_MAX_FAILS  64
#define TT_EVENTS     32768 /* a few tens of seconds of actions */
#define TT_FAIL_LEN   400
#define TT_MAX_VICTIM 256
#define TT_MAX_CKIDS  64

struct tt_run tt;
struct tt_checker tt_checkers[TT_MAX_CHECKERS];
int tt_nchecker = 3;

static struct kvsd_proc srv;

/* Failures, the global event timeline and the registries: each under its own lock. */
static pthread_mutex_t fail_lock = PTHREAD_MUTEX_INITIALIZER;
static long nfail;				 /* under fail_lock */
static int nfail_kept;				 /* under fail_lock: distinct messages kept */
static long fail_count[TT_MAX_FAILS];		 /* under fail_lock: repeats of each */
static double fail_at[TT_MAX_FAILS];		 /* under fail_lock: first occurrence */
static char fail_msg[TT_MAX_FAILS][TT_FAIL_LEN]; /* under fail_lock */
static char *fail_ctx[TT_MAX_FAILS];		 /* under fail_lock: torture actions just before */
static double ctx_until = -1; /* under fail_lock: time of the last context taken */
static int nctx;	      /* under fail_lock */

static pthread_mutex_t ev_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	double at;
	const char *who;
	int frequent; /* from proto, fuzz or churn */
	char text[TT_ACT_LEN];
} events[TT_EVENTS];	     /* under ev_lock */
static unsigned long nevent; /* under ev_lock */

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	long long id;
	char addr[64];
} victims[TT_MAX_VICTIM];		    /* under reg_lock */
static unsigned long nvictim;		    /* under reg_lock */
static long long checker_ids[TT_MAX_CKIDS]; /* under reg_lock */
static int nchecker_ids;		    /* under reg_lock */

static void print_events_before(FILE *out, double t, double window, int max);

static long long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int tt_running(void)
{
	/* relaxed: a stop flag; see struct tt_run */
	return !atomic_load_explicit(&tt.stop, memory_order_relaxed) &&
	       kvsd_now_ms() < tt.deadline_ms;
}

double tt_elapsed(void)
{
	return (double)(now_us() - tt.t0_ms * 1000) / 1e6;
}

/* Record msg; with the torture actions up to `since` when it starts a new burst. */
static void fail_record(double since, const char *msg)
{
	int i;

	pthread_mutex_lock(&fail_lock);
	nfail++;
	for (i = 0; i < nfail_kept && strcmp(fail_msg[i], msg) != 0; i++)
		;
	if (i < nfail_kept) {
		fail_count[i]++;
	} else if (nfail_kept < TT_MAX_FAILS) {
		double t = tt_elapsed();

		fail_at[nfail_kept] = t;
		fail_count[nfail_kept] = 1;
		snprintf(fail_msg[nfail_kept], TT_FAIL_LEN, "%s", msg);
		/* The torture actions of the 2 s before the first failure of each burst, taken
		 * now: the event ring keeps only the last few seconds. */
		if (nctx < 16 && t > ctx_until + 0.3) {
			size_t len;
			FILE *f = open_memstream(&fail_ctx[nfail_kept], &len);

			if (f) {
				print_events_before(f, since + 0.05, 2.0, 20);
				fclose(f);
			}
			nctx++;
			ctx_until = t;
		}
		nfail_kept++;
	}
	pthread_mutex_unlock(&fail_lock);
}

void tt_fail(const char *fmt, ...)
{
	char msg[TT_FAIL_LEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fail_record(tt_elapsed(), msg);
}

void tt_fail_since(double since, const char *fmt, ...)
{
	char msg[TT_FAIL_LEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fail_record(since, msg);
}

/* ---- time spent waiting for a CPU ----
 * On a shared 2-core machine a reply can be late only because kvsd's threads, or the checker
 * itself, sat runnable on a run queue while other processes ran. Linux accounts that time per
 * thread (/proc/<pid>/task/<tid>/schedstat: ns run, ns waited). The sampler thread reads it
 * for every kvsd thread every SAMPLE_MS and keeps, per interval, the smallest wait among the
 * kvsd threads that wanted a CPU (ran or waited) for at least half of it: when others load the
 * machine every one of them waits, while kvsd's own busy thread (a worker spinning on one
 * command) waits only for the others and leaves the smallest wait near zero. A thread that
 * slept most of the interval does not count: the scheduler favours a thread waking from a long
 * sleep, so kvsd's main thread waking for a moment got a CPU within 0.4 ms while both workers
 * sat 96-100 ms on the run queue (load ~15), and counting it excused none of a 100 ms stall
 * ("0 ms waited": the LTO build's "stalls" of issue 14 were this; both builds met them). In a
 * virtual machine the host also takes vCPUs away, which no run queue shows: the sampler adds the
 * largest steal time of any vCPU (/proc/stat) in the interval. A checker reads its own wait before
 * and after each command. A late reply is a violation only if it is still late once those waits are
 * taken off; a stall inside kvsd (a busy worker, a starved loop, a lock) still counts. */
#define SAMPLE_MS 5
#define SAMPLES	  65536 /* over five minutes of samples */
#define MAX_TIDS  64

static pthread_mutex_t wait_lock = PTHREAD_MUTEX_INITIALIZER;
static double wait_at[SAMPLES], wait_ms[SAMPLES]; /* under wait_lock: run queue + steal */
static unsigned long nwait;			  /* under wait_lock */
static double wait_worst_ms, wait_total_ms;	  /* under wait_lock */
static double steal_total_ms;			  /* under wait_lock */

#define MAX_CPUS 64

/* The largest steal time (ms) of any vCPU since the previous call; last[] per CPU. */
static double steal_delta_ms(int fd, long long *last)
{
	static char buf[16384]; /* the sampler's only */
	double worst = 0;
	ssize_t n = fd >= 0 ? pread(fd, buf, sizeof(buf) - 1, 0) : -1;
	long tick = sysconf(_SC_CLK_TCK);

	if (n <= 0 || tick <= 0)
		return 0;
	buf[n] = '\0';
	for (char *line = strstr(buf, "\ncpu"); line; line = strstr(line + 1, "\ncpu")) {
		unsigned long long v[8];
		int cpu;

		if (sscanf(line + 4, "%d %llu %llu %llu %llu %llu %llu %llu %llu", &cpu, &v[0],
			   &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) != 9 ||
		    cpu < 0 || cpu >= MAX_CPUS)
			continue;
		if (last[cpu] >= 0 && (double)((long long)v[7] - last[cpu]) * 1000 / tick > worst)
			worst = (double)((long long)v[7] - last[cpu]) * 1000 / (double)tick;
		last[cpu] = (long long)v[7];
	}
	return worst;
}

/* The "ns run, ns waited" of a schedstat file; -1 when it cannot be read. */
static int schedstat_read(int fd, long long *run, long long *wait)
{
	char buf[128];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return sscanf(buf, "%lld %lld", run, wait) == 2 ? 0 : -1;
}

long long tt_schedstat_wait_ns(int fd)
{
	long long run, wait;

	return schedstat_read(fd, &run, &wait) == 0 ? wait : -1;
}

/* The kvsd threads' fds, reopened every half second (the server may start threads late). */
static int sampler_scan(pid_t pid, int *fds, long long (*last)[2], int n)
{
	char path[320];
	struct dirent *de;
	DIR *d;
	int m = 0;

	for (int i = 0; i < n; i++)
		close(fds[i]);
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d)
		return 0;
	while ((de = readdir(d)) && m < MAX_TIDS) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/schedstat", (int)pid, de->d_name);
		fds[m] = open(path, O_RDONLY | O_CLOEXEC);
		if (fds[m] >= 0)
			last[m++][0] = -1;
	}
	closedir(d);
	return m;
}

static void *sampler_main(void *arg)
{
	pid_t pid = *(const pid_t *)arg;
	int fds[MAX_TIDS], n = 0, statfd = open("/proc/stat", O_RDONLY | O_CLOEXEC);
	long long last[MAX_TIDS][2], next_scan = 0; /* run, wait at the previous sample */
	long long steal_last[MAX_CPUS], prev_us;    /* prev_us: the previous sample's time */

	for (int i = 0; i < MAX_CPUS; i++)
		steal_last[i] = -1;
	steal_delta_ms(statfd, steal_last);
	prev_us = now_us();
	while (tt_running()) {
		double worst = -1; /* the smallest wait of an active thread, in ms */
		double steal;
		long long at_us = now_us(), span_ns = (at_us - prev_us) * 1000;

		prev_us = at_us;

		if (kvsd_now_ms() >= next_scan) {
			n = sampler_scan(pid, fds, last, n);
			next_scan = kvsd_now_ms() + 500;
		}
		for (int i = 0; i < n; i++) {
			long long run, wait;

			if (schedstat_read(fds[i], &run, &wait) != 0)
				continue;
			/* active: wanted a CPU for at least half the interval */
			if (last[i][0] >= 0 &&
			    2 * ((run - last[i][0]) + (wait - last[i][1])) >= span_ns &&
			    (worst < 0 || (double)(wait - last[i][1]) / 1e6 < worst))
				worst = (double)(wait - last[i][1]) / 1e6;
			last[i][0] = run;
			last[i][1] = wait;
		}
		if (worst < 0)
			worst = 0;
		steal = steal_delta_ms(statfd, steal_last);
		pthread_mutex_lock(&wait_lock);
		wait_at[nwait % SAMPLES] = tt_elapsed();
		wait_ms[nwait % SAMPLES] = worst + steal;
		nwait++;
		wait_total_ms += worst;
		steal_total_ms += steal;
		if (worst > wait_worst_ms)
			wait_worst_ms = worst;
		pthread_mutex_unlock(&wait_lock);
		kvsd_sleep_ms(SAMPLE_MS);
	}
	for (int i = 0; i < n; i++)
		close(fds[i]);
	if (statfd >= 0)
		close(statfd);
	return NULL;
}

/* The time of the latest sample, or -1. */
static double sample_latest(void)
{
	double at;

	pthread_mutex_lock(&wait_lock);
	at = nwait ? wait_at[(nwait - 1) % SAMPLES] : -1;
	pthread_mutex_unlock(&wait_lock);
	return at;
}

/*
 * Each sample covers the interval since the previous one; a sample overlapping [from, to]
 * counts for the overlapping fraction of its wait. Under load the sampler is starved like
 * everyone else: the sample covering a stall may come only after the checker got its late
 * reply (at load ~25, three checkers' 240-260 ms stalls were reported as "0 ms waited", and an
 * outside sampler of the same files had no sample in them at all), so this first waits (up to 1 s)
 * for a sample at or after `to`.
 */
double tt_server_wait_ms(double from, double to)
{
	double sum = 0, later = -1;

	for (int i = 0; i < 200 && tt_running() && sample_latest() < to; i++)
		kvsd_sleep_ms(SAMPLE_MS);
	pthread_mutex_lock(&wait_lock);
	for (unsigned long i = nwait; i-- > (nwait > SAMPLES ? nwait - SAMPLES : 0);) {
		double at = wait_at[i % SAMPLES];
		double lo = at > from ? (at < to ? at : to) : from;
		double hi = later < 0 || later > to ? to : later;

		if (later >= 0 && hi > lo)
			sum += wait_ms[(i + 1) % SAMPLES] * (hi - lo) / (later - at);
		if (at <= from)
			break;
		later = at;
	}
	pthread_mutex_unlock(&wait_lock);
	return sum;
}

long tt_failures(void)
{
	long n;

	pthread_mutex_lock(&fail_lock);
	n = nfail;
	pthread_mutex_unlock(&fail_lock);
	return n;
}

void tt_act(struct tt_thread *self, const char *fmt, ...)
{
	unsigned slot = self->nact++ % TT_ACT_RING;
	char raw[TT_ACT_LEN], *out = self->act[slot];
	size_t o = 0;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	/* printable: requests often hold CR, LF and binary bytes */
	for (const unsigned char *p = (const unsigned char *)raw; *p && o + 5 < TT_ACT_LEN; p++) {
		if (*p == '\r' || *p == '\n') {
			out[o++] = '\\';
			out[o++] = *p == '\r' ? 'r' : 'n';
		} else if (*p < 0x20 || *p >= 0x7f) {
			o += (size_t)snprintf(out + o, TT_ACT_LEN - o, "\\x%02x", *p);
		} else {
			out[o++] = (char)*p;
		}
	}
	out[o] = '\0';
	self->act_ms[slot] = kvsd_now_ms() - tt.t0_ms;
	pthread_mutex_lock(&ev_lock);
	events[nevent % TT_EVENTS].at = tt_elapsed();
	events[nevent % TT_EVENTS].who = self->name;
	events[nevent % TT_EVENTS].frequent = !strcmp(self->name, "proto") ||
					      !strcmp(self->name, "fuzz") ||
					      !strcmp(self->name, "churn");
	memcpy(events[nevent % TT_EVENTS].text, out, TT_ACT_LEN);
	nevent++;
	pthread_mutex_unlock(&ev_lock);
}

uint32_t tt_rand(struct tt_thread *self)
{
	uint32_t x = self->rng;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return self->rng = x;
}

uint32_t tt_below(struct tt_thread *self, uint32_t n)
{
	return n ? tt_rand(self) % n : 0;
}

void tt_nap(long ms)
{
	while (ms > 0 && tt_running()) {
		long step = ms > 20 ? 20 : ms;

		kvsd_sleep_ms(step);
		ms -= step;
	}
}

void tt_lower_priority(void)
{
	/* Linux: nice values are per thread. Best effort; a failure only costs precision. */
	if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 10) != 0)
		return;
}

redisContext *tt_connect(struct tt_thread *self, int timeout_ms)
{
	struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
	redisContext *c = redisConnectWithTimeout("127.0.0.1", tt.target.port, tv);

	if (!c || c->err) {
		if (c)
			redisFree(c);
		self->errs++;
		return NULL;
	}
	redisSetTimeout(c, tv);
	self->conns++;
	return c;
}

int tt_raw(int timeout_ms)
{
	struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
	int fd = kvsd_raw_connect(&tt.target);

	if (fd < 0)
		return fd;
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

int tt_send_chunked(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		size_t n = len < 65536 ? len : 65536;

		if (!tt_running() || kvsd_raw_send(fd, buf, n) != 0)
			return -1;
		buf += n;
		len -= n;
	}
	return 0;
}

void tt_close_rst(int fd)
{
	struct linger lg = {1, 0};

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

int tt_reply_is(const redisReply *r, int type, const char *text)
{
	return r && r->type == type && r->len == strlen(text) && memcmp(r->str, text, r->len) == 0;
}

const char *tt_show(const redisReply *r)
{
	return r ? hr_show(r) : "(no reply)";
}

void tt_victim_add(long long id, const char *addr)
{
	pthread_mutex_lock(&reg_lock);
	victims[nvictim % TT_MAX_VICTIM].id = id;
	snprintf(victims[nvictim % TT_MAX_VICTIM].addr, 64, "%s", addr ? addr : "");
	nvictim++;
	pthread_mutex_unlock(&reg_lock);
}

int tt_victim_pick(struct tt_thread *self, long long *id, char *addr, size_t addrlen)
{
	int ok = 0;

	pthread_mutex_lock(&reg_lock);
	if (nvictim > 0) {
		unsigned long n = nvictim < TT_MAX_VICTIM ? nvictim : TT_MAX_VICTIM;
		unsigned long i = (nvictim - 1 - tt_below(self, (uint32_t)(n < 32 ? n : 32))) %
				  TT_MAX_VICTIM; /* mostly recent ones: likelier still connected */

		*id = victims[i].id;
		snprintf(addr, addrlen, "%s", victims[i].addr);
		ok = 1;
	}
	pthread_mutex_unlock(&reg_lock);
	return ok;
}

void tt_checker_id_add(long long id)
{
	pthread_mutex_lock(&reg_lock);
	if (nchecker_ids < TT_MAX_CKIDS)
		checker_ids[nchecker_ids++] = id;
	pthread_mutex_unlock(&reg_lock);
}

int tt_is_checker_id(long long id)
{
	int hit = 0;

	pthread_mutex_lock(&reg_lock);
	for (int i = 0; i < nchecker_ids; i++)
		hit |= checker_ids[i] == id;
	pthread_mutex_unlock(&reg_lock);
	return hit;
}

int tt_announce(redisContext *c, const char *kind)
{
	redisReply *r1 = NULL, *r2 = NULL;
	char addr[64] = "";
	int rc = -1;

	redisAppendCommand(c, "CLIENT SETNAME torture-%s", kind);
	redisAppendCommand(c, "CLIENT ID");
	if (redisGetReply(c, (void **)&r1) == REDIS_OK &&
	    redisGetReply(c, (void **)&r2) == REDIS_OK && r2 && r2->type == REDIS_REPLY_INTEGER) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);

		if (getsockname(c->fd, (struct sockaddr *)&ss, &len) == 0 &&
		    ss.ss_family == AF_INET) {
			const struct sockaddr_in *sa = (const struct sockaddr_in *)&ss;

			snprintf(addr, sizeof(addr), "127.0.0.1:%u", ntohs(sa->sin_port));
		}
		tt_victim_add(r2->integer, addr);
		rc = 0;
	}
	if (r1)
		freeReplyObject(r1);
	if (r2)
		freeReplyObject(r2);
	return rc;
}

static void usage(const char *prog)
{
	fprintf(
	    stderr,
	    "usage: %s [--seconds S] [--latency-ms L] [--server-threads T] [--checkers N] "
	    "[--seed X] [--skip role,...]\n  roles: proto fuzz huge slow neverread churn config "
	    "killer\n  $KVSD_TORTURE_SECONDS: default for --seconds (20)\n",
	    prog);
	exit(2);
}

/* Add exitcode=66 to the child's TSAN_OPTIONS (this process read its own at start-up). */
static void child_sanitizer_env(void)
{
	const char *old = getenv("TSAN_OPTIONS");
	char buf[1024];

	snprintf(buf, sizeof(buf), "%s%sexitcode=66", old ? old : "", old && *old ? ":" : "");
	setenv("TSAN_OPTIONS", buf, 1);
}

/* The torture threads: name, entry point, how many. */
static const struct {
	const char *name;
	void *(*fn)(void *);
	int count;
} roles[] = {
    {"proto", tt_proto_main, 1},   {"fuzz", tt_fuzz_main, 1},		{"huge", tt_huge_main, 1},
    {"slow", tt_slow_main, 1},	   {"neverread", tt_neverread_main, 1}, {"churn", tt_churn_main, 1},
    {"config", tt_config_main, 2}, {"killer", tt_killer_main, 1},
};
#define TT_MAX_TORTURE 16

/* Print the torture actions in the window seconds up to t, at most per_thread of each thread
 * (two of the frequent small ones: proto, fuzz, churn) and max in all, oldest first. */
static void print_events_before(FILE *out, double t, double window, int max)
{
	const int per_thread = 4;
	unsigned long first, pick[64];
	const char *who[16];
	int seen[16], nwho = 0, npick = 0;

	pthread_mutex_lock(&ev_lock);
	first = nevent > TT_EVENTS ? nevent - TT_EVENTS : 0;
	for (unsigned long i = nevent; i-- > first && npick < max && npick < 64;) {
		const char *w = events[i % TT_EVENTS].who;
		double at = events[i % TT_EVENTS].at;
		int j;

		if (at < t - window)
			break;
		if (at > t)
			continue;
		for (j = 0; j < nwho && who[j] != w; j++)
			;
		if (j == nwho && nwho < 16) {
			who[nwho] = w;
			seen[nwho++] = 0;
		}
		if (j >= nwho ||
		    seen[j] >= (events[i % TT_EVENTS].frequent ? per_thread / 2 : per_thread))
			continue;
		seen[j]++;
		pick[npick++] = i;
	}
	while (npick-- > 0) {
		unsigned long i = pick[npick] % TT_EVENTS;

		fprintf(out, "      %8.3f s  %-9s %s\n", events[i].at, events[i].who,
			events[i].text);
	}
	pthread_mutex_unlock(&ev_lock);
}

/* Final checks on a fresh connection: it answers, the checkers' keys hold what they wrote. */
static void final_checks(void)
{
	redisContext *c = kvsd_connect(&tt.target);
	redisReply *r;
	char want[256];

	if (!c || c->err) {
		tt_fail("final: cannot connect: %s", c ? c->errstr : "oom");
		goto out;
	}
	r = redisCommand(c, "PING");
	if (!tt_reply_is(r, REDIS_REPLY_STATUS, "PONG"))
		tt_fail("final: PING answered %s", tt_show(r));
	if (r)
		freeReplyObject(r);
	for (int n = 0; n < tt_nchecker; n++) {
		struct tt_checker *k = &tt_checkers[n];

		if (k->id < 0 || k->lost)
			continue; /* never connected, or an unknown outcome: reported already */
		r = redisCommand(c, "GET chk:%d:n", n);
		snprintf(want, sizeof(want), "%lld", k->incr);
		if (!tt_reply_is(r, REDIS_REPLY_STRING, want))
			tt_fail("final: GET chk:%d:n = %s, want %s", n, tt_show(r), want);
		if (r)
			freeReplyObject(r);
		if (k->seq > 0) {
			size_t len = tt_checker_value(want, sizeof(want), n, k->seq);

			r = redisCommand(c, "GET chk:%d:s", n);
			if (!r || r->type != REDIS_REPLY_STRING || r->len != len ||
			    memcmp(r->str, want, len) != 0)
				tt_fail("final: GET chk:%d:s = %s, want \"%s\"", n, tt_show(r),
					want);
			if (r)
				freeReplyObject(r);
		}
	}
	if (tt_config_restore(c) != 0)
		tt_fail("final: the configuration could not be restored");
	r = redisCommand(c, "INFO");
	if (!r || r->type != REDIS_REPLY_STRING || !strstr(r->str, "redis_version:"))
		tt_fail("final: INFO answered %s", tt_show(r));
	if (r)
		freeReplyObject(r);
out:
	if (c)
		redisFree(c);
}

static void report(int server_status, int sanitizer, const char *log, long long t_run)
{
	long nf = tt_failures();
	long viol = 0;

	for (int n = 0; n < tt_nchecker; n++)
		viol += tt_checkers[n].violations;
	printf("stress_torture: %s after %.1f s (seed %u, latency bound %d ms, %s)\n",
	       nf || server_status != 0 || sanitizer ? "FAIL" : "OK", t_run / 1000.0, tt.seed,
	       tt.latency_ms, tt.is_redis ? "redis-server" : "kvsd");
	for (int n = 0; n < tt_nchecker; n++) {
		const struct tt_checker *k = &tt_checkers[n];

		printf("  checker %d (connected at %.1f s, id %lld): %ld rounds, %ld commands, "
		       "worst %.1f ms (%s at %.1f s), %ld over %d ms (and %ld more only because of "
		       "waits for a CPU), %ld reconnects\n",
		       n, k->start_at_ms / 1000.0, k->id, k->rounds, k->commands, k->worst_ms,
		       k->worst_cmd[0] ? k->worst_cmd : "-", k->worst_at, k->violations,
		       tt.latency_ms, k->excused, k->reconnects);
	}
	if (viol)
		printf("  latency violations: %ld\n", viol);
	pthread_mutex_lock(&wait_lock);
	printf("  kvsd's threads all waited for a CPU: %.0f ms in all, at most %.0f ms in one %d "
	       "ms interval; steal time of the busiest vCPU: %.0f ms\n",
	       wait_total_ms, wait_worst_ms, SAMPLE_MS, steal_total_ms);
	pthread_mutex_unlock(&wait_lock);
	if (server_status == -ETIMEDOUT)
		printf("  the server did not exit within 30 s of SIGTERM (then killed)\n");
	else if (server_status != 0)
		printf(
		    "  server exit status %d after SIGTERM (want 0; 66 = ThreadSanitizer report, "
		    "134 = abort, 137 = killed)\n",
		    server_status);
	if (sanitizer)
		printf("  sanitizer report in the server's output\n");
	fflush(stdout);
	if (nf) {
		pthread_mutex_lock(&fail_lock);
		fprintf(
		    stderr,
		    "stress_torture: %ld failure(s), %d distinct (with the torture actions in the "
		    "2 s before the first of each burst):\n",
		    nf, nfail_kept);
		for (int i = 0; i < nfail_kept; i++) {
			fprintf(stderr, "  [%8.3f s] %s", fail_at[i], fail_msg[i]);
			if (fail_count[i] > 1)
				fprintf(stderr, " (and %ld more times)", fail_count[i] - 1);
			fprintf(stderr, "\n");
			if (fail_ctx[i])
				fputs(fail_ctx[i], stderr);
		}
		pthread_mutex_unlock(&fail_lock);
	}
	if ((nf || server_status != 0 || sanitizer) && log && log[0])
		fprintf(stderr,
			"---- server output (tail) ----\n%s\n------------------------------\n",
			log);
}

int main(int argc, char **argv)
{
	struct tt_thread torture[TT_MAX_TORTURE];
	pthread_t sampler;
	static pid_t kvsd_pid;
	const char *env = getenv("KVSD_TORTURE_SECONDS");
	int sthreads = 2, ntorture = 0, st = 0, san = 0, rc;
	const char *skip = "";
	int dumped = 0;
	char threads_arg[16];
	static char log[65536];
	long long t_start;

	tt.seconds = env && atoi(env) > 0 ? atoi(env) : 20;
	tt.latency_ms = 100;
	tt.seed = 1;
	for (int i = 1; i < argc; i++) {
		if (i + 1 >= argc)
			usage(argv[0]);
		if (strcmp(argv[i], "--seconds") == 0)
			tt.seconds = atoi(argv[++i]);
		else if (strcmp(argv[i], "--latency-ms") == 0)
			tt.latency_ms = atoi(argv[++i]);
		else if (strcmp(argv[i], "--server-threads") == 0)
			sthreads = atoi(argv[++i]);
		else if (strcmp(argv[i], "--checkers") == 0)
			tt_nchecker = atoi(argv[++i]);
		else if (strcmp(argv[i], "--skip") == 0)
			skip = argv[++i];
		else if (strcmp(argv[i], "--seed") == 0)
			tt.seed = (uint32_t)strtoul(argv[++i], NULL, 0);
		else
			usage(argv[0]);
	}
	if (tt.seconds < 1 || tt.latency_ms < 1 || sthreads < 1 || tt_nchecker < 1 ||
	    tt_nchecker > TT_MAX_CHECKERS || tt.seed == 0)
		usage(argv[0]);
	signal(SIGPIPE, SIG_IGN);
	child_sanitizer_env();
	snprintf(threads_arg, sizeof(threads_arg), "%d", sthreads);
	srv.keep_log = 1;
	tt.is_redis = kvsd_bin_is_redis();
	rc =
	    kvsd_start(&srv, tt.is_redis ? NULL : (const char *[]){"--threads", threads_arg, NULL});
	if (rc != 0) {
		fprintf(stderr, "stress_torture: FAIL: the server did not start: %s\n",
			strerror(-rc));
		return 1;
	}
	tt.target.port = srv.port;
	tt.target.is_redis = srv.is_redis;
	{
		redisContext *c = kvsd_connect(&tt.target);

		if (!c || c->err || tt_config_setup(c) != 0) {
			fprintf(stderr, "stress_torture: FAIL: CONFIG GET * failed\n");
			if (c)
				redisFree(c);
			kvsd_kill(&srv);
			return 1;
		}
		redisFree(c);
	}

	t_start = kvsd_now_ms();
	tt.t0_ms = t_start;
	tt.deadline_ms = t_start + tt.seconds * 1000LL;
	for (int n = 0; n < tt_nchecker; n++) {
		struct tt_checker *k = &tt_checkers[n];

		k->t.name = "checker";
		k->t.index = n;
		k->t.rng = tt.seed * 2654435761u + (uint32_t)n + 1;
		k->id = -1;
		/* the first before any abuse; the others spread over the first two thirds */
		k->start_at_ms = n == 0 ? 0 : tt.seconds * 1000LL * 2 * n / (3 * tt_nchecker);
		pthread_create(&k->t.th, NULL, tt_checker_main, k);
	}
	kvsd_pid = srv.pid;
	pthread_create(&sampler, NULL, sampler_main, &kvsd_pid);
	/* relaxed: see struct tt_checker */
	for (int waited = 0; waited < 5000 &&
			     !atomic_load_explicit(&tt_checkers[0].connected, memory_order_relaxed);
	     waited += 5)
		kvsd_sleep_ms(5);
	for (size_t r = 0; r < sizeof(roles) / sizeof(roles[0]); r++) {
		size_t nl = strlen(roles[r].name);
		const char *hit = strstr(skip, roles[r].name);

		if (hit && (hit == skip || hit[-1] == ',') && (hit[nl] == ',' || !hit[nl]))
			continue; /* --skip: to find which abuse a failure needs */
		for (int i = 0; i < roles[r].count && ntorture < TT_MAX_TORTURE; i++) {
			struct tt_thread *t = &torture[ntorture++];

			memset(t, 0, sizeof(*t));
			t->name = roles[r].name;
			t->index = i;
			t->rng = (tt.seed + (uint32_t)ntorture * 7919u) * 2246822519u | 1;
			pthread_create(&t->th, NULL, roles[r].fn, t);
		}
	}

	/* Watch the server until the deadline; the threads stop on their own after it. */
	while (kvsd_now_ms() < tt.deadline_ms) {
		int s = kvsd_wait(&srv, 0);

		if (s != -ETIMEDOUT) {
			tt_fail("the server exited during the run with status %d%s", s,
				s == 134 ? " (abort)" : (s == 137 ? " (killed)" : ""));
			/* relaxed: see struct tt_run */
			atomic_store_explicit(&tt.stop, 1, memory_order_relaxed);
			fprintf(stderr,
				"stress_torture: the server exited at %.3f s; the last "
				"torture actions:\n",
				tt_elapsed());
			print_events_before(stderr, tt_elapsed(), 2.0, 30);
			break;
		}
		kvsd_sleep_ms(20);
	}
	for (int n = 0; n < tt_nchecker; n++)
		pthread_join(tt_checkers[n].t.th, NULL);
	pthread_join(sampler, NULL);
	for (int i = 0; i < ntorture; i++)
		pthread_join(torture[i].th, NULL);

	if (kvsd_wait(&srv, 0) == -ETIMEDOUT) {
		final_checks();
		st = kvsd_stop(&srv, 30000);
		dumped = st != 0; /* kvsd_stop() printed the tail of its output */
	} else {
		st = srv.status;
	}
	kvsd_log(&srv, log, sizeof(log));
	kvsd_kill(&srv); /* removes the log */
	san = strstr(log, "WARNING: ThreadSanitizer") || strstr(log, "ERROR: AddressSanitizer") ||
	      strstr(log, "ERROR: LeakSanitizer") || strstr(log, "runtime error:");
	report(st, san, dumped ? NULL : log, kvsd_now_ms() - t_start);
	printf("  torture threads:");
	for (int i = 0; i < ntorture; i++)
		printf(" %s[%d]: %ld ops, %ld conns, %ld closed by server;", torture[i].name,
		       torture[i].index, torture[i].ops, torture[i].conns,
		       torture[i].closed_by_server);
	printf("\n");
	if (getenv("KVSD_TORTURE_VERBOSE"))
		for (int i = 0; i < ntorture; i++) {
			struct tt_thread *t = &torture[i];

			for (unsigned j = t->nact > TT_ACT_RING ? t->nact - TT_ACT_RING : 0;
			     j < t->nact; j++)
				printf("    %s[%d] %8.3f s %s\n", t->name, t->index,
				       t->act_ms[j % TT_ACT_RING] / 1000.0,
				       t->act[j % TT_ACT_RING]);
		}
	return tt_failures() || st != 0 || san ? 1 : 0;
}
