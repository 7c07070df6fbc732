/*
 * latency.c — the latency monitor's event table and replies (latency.h).
 *
 * A handful of event classes exist, so the table is a small array searched
 * by name under one mutex. Each class keeps a ring of LATENCY_TS_LEN samples
 * (second, worst latency in that second) as Redis's latencyTimeSeries: a
 * sample in the same second as the previous one only raises it.
 */
#include "server/latency.h"
#include "concurrency/clock.h"
#include "concurrency/util.h"
#include "net/reply.h"
#include "server/config.h"
#include "server/strutil.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define EVENTS_MAX 16
#define EVENT_NAME 32

struct sample {
	int64_t time; /* seconds; 0 = unused */
	uint64_t latency;
};

struct series {
	char name[EVENT_NAME]; /* "" = free slot */
	int idx;
	uint64_t max;
	struct sample s[LATENCY_TS_LEN];
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct series events[EVENTS_MAX]; /* under lock */

static struct series *find(const char *name, size_t len, int nocase)
{
	for (int i = 0; i < EVENTS_MAX; i++) {
		struct series *t = &events[i];

		if (t->name[0] && strlen(t->name) == len &&
		    (nocase ? strncasecmp(t->name, name, len) : memcmp(t->name, name, len)) == 0)
			return t;
	}
	return NULL;
}

void latency_add_sample(const char *event, uint64_t ms, int64_t now)
{
	size_t len = strlen(event);
	struct series *t;
	int prev;

	pthread_mutex_lock(&lock);
	t = find(event, len, 0);
	for (int i = 0; t == NULL && i < EVENTS_MAX; i++)
		if (events[i].name[0] == '\0') {
			t = &events[i];
			memset(t, 0, sizeof(*t));
			snprintf(t->name, sizeof(t->name), "%s", event);
		}
	if (t == NULL)
		goto out;
	if (ms > t->max)
		t->max = ms;
	prev = (t->idx + LATENCY_TS_LEN - 1) % LATENCY_TS_LEN;
	if (t->s[prev].time == now) {
		if (ms > t->s[prev].latency)
			t->s[prev].latency = ms;
		goto out;
	}
	t->s[t->idx].time = now;
	t->s[t->idx].latency = ms;
	t->idx = (t->idx + 1) % LATENCY_TS_LEN;
out:
	pthread_mutex_unlock(&lock);
}

void latency_sample_if_needed(const char *event, uint64_t ms)
{
	long long threshold = cfg_int(CFG_LATENCY_MONITOR_THRESHOLD);

	if (kv_unlikely(threshold > 0 && ms >= (uint64_t)threshold))
		latency_add_sample(event, ms, clock_wall_ms() / 1000);
}

int latency_reset(const char *event, size_t len)
{
	int n = 0;

	pthread_mutex_lock(&lock);
	for (int i = 0; i < EVENTS_MAX; i++) {
		struct series *t = &events[i];

		if (t->name[0] && (event == NULL || (strlen(t->name) == len &&
						     strncasecmp(t->name, event, len) == 0))) {
			t->name[0] = '\0';
			n++;
		}
	}
	pthread_mutex_unlock(&lock);
	return n;
}

int latency_samples(const char *event, int64_t *times, uint64_t *lat, int max,
		    uint64_t *all_time_max)
{
	struct series *t;
	int n = 0;

	pthread_mutex_lock(&lock);
	t = find(event, strlen(event), 0);
	for (int j = 0; t && j < LATENCY_TS_LEN && n < max; j++) {
		const struct sample *s = &t->s[(t->idx + j) % LATENCY_TS_LEN];

		if (s->time == 0)
			continue;
		times[n] = s->time;
		lat[n++] = s->latency;
	}
	if (t)
		*all_time_max = t->max;
	pthread_mutex_unlock(&lock);
	return t ? n : -1;
}

void latency_reply_latest(struct conn *c)
{
	int n = 0;

	pthread_mutex_lock(&lock);
	for (int i = 0; i < EVENTS_MAX; i++)
		n += events[i].name[0] != '\0';
	reply_array(c, n);
	for (int i = 0; i < EVENTS_MAX; i++) {
		struct series *t = &events[i];
		int last = (t->idx + LATENCY_TS_LEN - 1) % LATENCY_TS_LEN;

		if (!t->name[0])
			continue;
		reply_array(c, 4);
		reply_bulk_cstr(c, t->name);
		reply_int(c, t->s[last].time);
		reply_int(c, (long long)t->s[last].latency);
		reply_int(c, (long long)t->max);
	}
	pthread_mutex_unlock(&lock);
}

void latency_reply_history(struct conn *c, const char *event, size_t len)
{
	struct series *t;
	int n = 0;

	pthread_mutex_lock(&lock);
	t = find(event, len, 0);
	for (int j = 0; t && j < LATENCY_TS_LEN; j++)
		n += t->s[j].time != 0;
	reply_array(c, n);
	for (int j = 0; t && j < LATENCY_TS_LEN; j++) {
		const struct sample *s = &t->s[(t->idx + j) % LATENCY_TS_LEN];

		if (s->time == 0)
			continue;
		reply_array(c, 2);
		reply_int(c, s->time);
		reply_int(c, (long long)s->latency);
	}
	pthread_mutex_unlock(&lock);
}

/* A growing text buffer for DOCTOR and GRAPH. */
struct text {
	char *p;
	size_t len, cap;
};

static void tx_printf(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tx_printf(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(t->p + t->len, t->cap - t->len, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < t->cap - t->len) {
			t->len += (size_t)n;
			return;
		}
		t->cap = t->cap * 2 + (size_t)(n > 0 ? n : 0) + 256;
		t->p = realloc(t->p, t->cap);
		if (t->p == NULL)
			abort();
	}
}

/* Redis's analyzeLatencyForEvent: samples, average, mean deviation, period. */
struct stats {
	int samples;
	uint64_t avg, mad, min, max;
	int64_t period;
};

static void analyze(const struct series *t, struct stats *st, int64_t now)
{
	uint64_t sum = 0;

	memset(st, 0, sizeof(*st));
	for (int j = 0; j < LATENCY_TS_LEN; j++) {
		const struct sample *s = &t->s[j];

		if (s->time == 0)
			continue;
		if (st->samples++ == 0 || s->latency < st->min)
			st->min = s->latency;
		if (s->latency > st->max)
			st->max = s->latency;
		sum += s->latency;
		if (st->period == 0 || s->time < st->period)
			st->period = s->time;
	}
	if (st->samples == 0)
		return;
	st->avg = sum / (uint64_t)st->samples;
	st->period = now - st->period;
	if (st->period == 0)
		st->period = 1;
	sum = 0;
	for (int j = 0; j < LATENCY_TS_LEN; j++) {
		int64_t d;

		if (t->s[j].time == 0)
			continue;
		d = (int64_t)st->avg - (int64_t)t->s[j].latency;
		sum += (uint64_t)(d < 0 ? -d : d);
	}
	st->mad = sum / (uint64_t)st->samples;
}

/* Bytes of transparent huge pages mapped by this process (Redis's
 * THPGetAnonHugePagesSize), from /proc/self/smaps. */
static long long anon_huge_pages(void)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[256];
	long long kb = 0;

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "AnonHugePages:", 14) == 0)
			kb += strtoll(line + 14, NULL, 10);
	fclose(f);
	return kb * 1024;
}

/* Redis's createLatencyReport(), for the event classes kvsd records. */
static void doctor(struct text *out)
{
	long long threshold = cfg_int(CFG_LATENCY_MONITOR_THRESHOLD);
	long long slower = cfg_int(CFG_SLOWLOG_LOG_SLOWER_THAN);
	int slowlog_enabled = 0, slowlog_tuning = 0, slowlog_inspect = 0, scheduler = 0, hz = 0;
	int large_objects = 0, thp = 0, advices = 0, eventnum = 0, nevents = 0;
	int64_t now = clock_wall_ms() / 1000;

	for (int i = 0; i < EVENTS_MAX; i++)
		nevents += events[i].name[0] != '\0';
	if (nevents == 0 && threshold == 0) {
		tx_printf(out,
			  "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in "
			  "this Redis instance. You may use \"CONFIG SET "
			  "latency-monitor-threshold <milliseconds>.\" in order to enable it. "
			  "If we weren't in a deep space mission I'd suggest to take a look at "
			  "https://redis.io/topics/latency-monitor.\n");
		return;
	}
	for (int i = 0; i < EVENTS_MAX; i++) {
		const struct series *t = &events[i];
		struct stats st;

		if (!t->name[0])
			continue;
		if (++eventnum == 1)
			tx_printf(out,
				  "Dave, I have observed latency spikes in this Redis instance. "
				  "You don't mind talking about it, do you Dave?\n\n");
		analyze(t, &st, now);
		tx_printf(out,
			  "%d. %s: %d latency spikes (average %lums, mean deviation %lums, period "
			  "%.2f sec). Worst all time event %lums.",
			  eventnum, t->name, st.samples, (unsigned long)st.avg,
			  (unsigned long)st.mad, (double)st.period / st.samples,
			  (unsigned long)t->max);
		if (strcasecmp(t->name, "command") == 0) {
			if (slower < 0) {
				slowlog_enabled = 1;
				advices++;
			} else if (slower / 1000 > threshold) {
				slowlog_tuning = 1;
				advices++;
			}
			slowlog_inspect = 1;
			large_objects = 1;
			advices += 2;
		}
		if (strcasecmp(t->name, "fast-command") == 0) {
			scheduler = 1;
			advices++;
		}
		if (strcasecmp(t->name, "expire-cycle") == 0) {
			hz = 1;
			large_objects = 1;
			advices += 2;
		}
		tx_printf(out, "\n");
	}
	if (anon_huge_pages() > 0) {
		thp = 1;
		advices++;
	}
	if (eventnum == 0 && advices == 0) {
		tx_printf(out,
			  "Dave, no latency spike was observed during the lifetime of this Redis "
			  "instance, not in the slightest bit. I honestly think you ought to sit "
			  "down calmly, take a stress pill, and think things over.\n");
		return;
	}
	if (eventnum > 0 && advices == 0) {
		tx_printf(out,
			  "\nWhile there are latency events logged, I'm not able to suggest any "
			  "easy fix. Please use the Redis community to get some help, providing "
			  "this report in your help request.\n");
		return;
	}
	tx_printf(out, "\nI have a few advices for you:\n\n");
	if (slowlog_enabled)
		tx_printf(
		    out,
		    "- There are latency issues with potentially slow commands you are using. "
		    "Try to enable the Slow Log Redis feature using the command 'CONFIG SET "
		    "slowlog-log-slower-than %llu'. If the Slow log is disabled Redis is not "
		    "able to log slow commands execution for you.\n",
		    (unsigned long long)threshold * 1000);
	if (slowlog_tuning)
		tx_printf(out,
			  "- Your current Slow Log configuration only logs events that are slower "
			  "than your configured latency monitor threshold. Please use 'CONFIG SET "
			  "slowlog-log-slower-than %llu'.\n",
			  (unsigned long long)threshold * 1000);
	if (slowlog_inspect)
		tx_printf(out, "- Check your Slow Log to understand what are the commands you are "
			       "running which are too slow to execute. Please check "
			       "https://redis.io/commands/slowlog for more information.\n");
	if (scheduler)
		tx_printf(
		    out,
		    "- The system is slow to execute Redis code paths not containing system "
		    "calls. This usually means the system does not provide Redis CPU time to "
		    "run for long periods. You should try to:\n"
		    "  1) Lower the system load.\n"
		    "  2) Use a computer / VM just for Redis if you are running other software "
		    "in the same system.\n"
		    "  3) Check if you have a \"noisy neighbour\" problem.\n"
		    "  4) Check with 'redis-cli --intrinsic-latency 100' what is the intrinsic "
		    "latency in your system.\n"
		    "  5) Check if the problem is allocator-related by recompiling Redis with "
		    "MALLOC=libc, if you are using Jemalloc. However this may create "
		    "fragmentation problems.\n");
	if (hz && cfg_int(CFG_HZ) < 100)
		tx_printf(out,
			  "- In order to make the Redis keys expiring process more incremental, "
			  "try to set the 'hz' configuration parameter to 100 using 'CONFIG SET "
			  "hz 100'.\n");
	if (large_objects)
		tx_printf(out,
			  "- Deleting, expiring or evicting (because of maxmemory policy) large "
			  "objects is a blocking operation. If you have very large objects that "
			  "are often deleted, expired, or evicted, try to fragment those objects "
			  "into multiple smaller objects.\n");
	if (thp)
		tx_printf(out,
			  "- I detected a non zero amount of anonymous huge pages used by your "
			  "process. This creates very serious latency events in different "
			  "conditions, especially when Redis is persisting on disk. To disable THP "
			  "support use the command 'echo never > "
			  "/sys/kernel/mm/transparent_hugepage/enabled', make sure to also add it "
			  "into /etc/rc.local so that the command will be executed again after a "
			  "reboot. Note that even if you have already disabled THP, you still need "
			  "to restart the Redis process to get rid of the huge pages already "
			  "created.\n");
}

void latency_reply_doctor(struct conn *c)
{
	struct text t = {malloc(1024), 0, 1024};

	if (t.p == NULL)
		abort();
	pthread_mutex_lock(&lock);
	doctor(&t);
	pthread_mutex_unlock(&lock);
	reply_verbatim(c, t.p, t.len);
	free(t.p);
}

/*
 * LATENCY GRAPH: Redis's sparkline of the samples (sparkline.c: 80 columns
 * per chunk, 4 rows of 3 levels, filled), each column labelled vertically
 * with how long ago its sample was taken.
 */
struct spark {
	double v;
	char label[24];
};

static void spark_range(struct text *out, const struct spark *seq, double min, double max, int off,
			int len)
{
	static const char charset_fill[] = "_o#"; /* SPARKLINE_FILL's characters */
	const int rows = 4, clen = 3, margin = 1, steps = clen * rows;
	double relmax = max - min == 0 ? 1 : max - min;
	char chars[LATENCY_TS_LEN];
	int loop = 1;

	for (int row = 0; loop;) {
		loop = 0;
		memset(chars, ' ', (size_t)len);
		for (int j = 0; j < len; j++) {
			const struct spark *s = &seq[j + off];
			int step = (int)((s->v - min) * steps) / relmax;

			if (step < 0)
				step = 0;
			if (step >= steps)
				step = steps - 1;
			if (row < rows) {
				int ci = step - (rows - row - 1) * clen;

				loop = 1;
				if (ci >= 0 && ci < clen)
					chars[j] = charset_fill[ci];
				else if (ci >= clen)
					chars[j] = '|';
			} else {
				int lc = row - rows - margin;

				if (row - rows < margin) { /* the blank line above the labels */
					loop = 1;
					break;
				}
				if ((int)strlen(s->label) > lc) {
					loop = 1;
					chars[j] = s->label[lc];
				}
			}
		}
		if (loop) {
			row++;
			tx_printf(out, "%.*s\n", len, chars);
		}
	}
}

static void graph(struct text *out, const struct series *t, int64_t now)
{
	struct spark seq[LATENCY_TS_LEN];
	uint64_t min = 0, max = 0;
	double smin = 0, smax = 0;
	int n = 0;

	for (int j = 0; j < LATENCY_TS_LEN; j++) {
		const struct sample *s = &t->s[(t->idx + j) % LATENCY_TS_LEN];
		long long el = (long long)(now - s->time);
		double v = (double)s->latency;

		if (s->time == 0)
			continue;
		if (n == 0 || s->latency > max)
			max = s->latency;
		if (n == 0 || s->latency < min)
			min = s->latency;
		/* the sequence's own range, updated as sparkline.c does */
		if (n == 0)
			smin = smax = v;
		else if (v < smin)
			smin = v;
		else if (v > smax)
			smax = v;
		if (el < 60)
			snprintf(seq[n].label, sizeof(seq[n].label), "%llds", el);
		else if (el < 3600)
			snprintf(seq[n].label, sizeof(seq[n].label), "%lldm", el / 60);
		else if (el < 3600 * 24)
			snprintf(seq[n].label, sizeof(seq[n].label), "%lldh", el / 3600);
		else
			snprintf(seq[n].label, sizeof(seq[n].label), "%lldd", el / (3600 * 24));
		seq[n++].v = v;
	}
	tx_printf(out, "%s - high %lu ms, low %lu ms (all time high %lu ms)\n", t->name,
		  (unsigned long)max, (unsigned long)min, (unsigned long)t->max);
	for (int j = 0; j < 80; j++)
		tx_printf(out, "-");
	tx_printf(out, "\n");
	for (int off = 0; off < n; off += 80) {
		if (off)
			tx_printf(out, "\n");
		spark_range(out, seq, smin, smax, off, n - off < 80 ? n - off : 80);
	}
}

void latency_reply_graph(struct conn *c, const char *event, size_t len)
{
	struct text t = {malloc(1024), 0, 1024};
	struct series *s;

	if (t.p == NULL)
		abort();
	pthread_mutex_lock(&lock);
	s = find(event, len, 0);
	if (s)
		graph(&t, s, clock_wall_ms() / 1000);
	pthread_mutex_unlock(&lock);
	if (s)
		reply_verbatim(c, t.p, t.len);
	else
		reply_errorf(c, "ERR No samples available for event '%.*s'", (int)len, event);
	free(t.p);
}
