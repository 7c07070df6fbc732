/*
 * loadgen.h — kvsd-loadgen's shared types: the run's configuration, each
 * worker thread's state and statistics, and the per-second timeline that the
 * progress line and --plot read.
 *
 * Architecture: main.c parses options, resolves the server address, starts
 * `threads` workers (worker.c) and, while they run, prints one progress line
 * per second from the timeline; report.c merges the workers' histograms and
 * writes the summary, --json, --hist-out and --plot. Each worker owns its
 * connections and runs one epoll loop over them: requests are encoded into a
 * per-connection buffer that was sized once (no allocation per request),
 * pipelined up to -P deep, and replies are parsed with net/resp's reply parser.
 *
 * Threads: struct lg_config is written by main before the workers start and
 * is read-only afterwards. struct lg_worker belongs to its thread until
 * pthread_join; main reads it only after joining, except for the fields
 * marked atomic below. The timeline's slots are guarded by its mutex.
 * Ownership: main allocates workers and the timeline and frees them at exit.
 * Errors: functions that touch the system return 0 / -errno.
 */
#ifndef KVSD_LOADGEN_H
#define KVSD_LOADGEN_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loadgen/cluster.h"
#include "loadgen/dist.h"
#include "loadgen/hist.h"
#include "loadgen/mix.h"
#include "loadgen/rate.h"

#define LG_MAX_CPUS   256
#define LG_RING	      16 /* timeline seconds in flight between workers and main */
#define LG_ERR_TEXTS  16 /* distinct error texts kept per thread */
#define LG_KEY_PREFIX "key:"
#define LG_KEY_DIGITS 12
#define LG_KEY_LEN    16  /* "key:" + 12 digits, as redis-benchmark's -r keys */
#define LG_VALUE_SKEW 256 /* values start at one of 256 offsets of a random block */
#define LG_DRAIN_NS   (2ULL * 1000000000ULL) /* replies still awaited after --duration */

/* LG_SELECT (--dbs) and LG_ASKING (--cluster) are slot types only: they have
 * no statistics of their own */
/* LG_CMD: the --command template, or one of the --mix templates */
enum lg_type { LG_GET = 0, LG_SET = 1, LG_CMD = 2, LG_NTYPES, LG_SELECT = LG_NTYPES, LG_ASKING };
/* redis-benchmark's placeholder: replaced by a key index from the key
 * distribution, LG_KEY_DIGITS digits zero-padded (as many as it has) */
#define LG_RAND_INT "__rand_int__"
enum lg_workload { LG_WL_RATIO, LG_WL_A, LG_WL_B, LG_WL_C, LG_WL_F, LG_WL_CACHE };

struct lg_config {
	const char *host;
	int port;
	const char *auth;
	int threads, conns, pipeline;
	unsigned set_ratio, get_ratio; /* --ratio SET:GET (default 1:10) */
	enum lg_workload workload;
	const char *workload_name;
	uint64_t keys;
	enum dist_kind dist;
	double theta;
	uint64_t dmin, dmax;
	bool prefill;
	uint64_t requests; /* 0 with --duration */
	double duration;   /* seconds; 0 with --requests */
	double warmup;
	double rate; /* 0 = closed loop */
	const char *hist_out, *json, *plot;
	bool progress, verify;
	int cpus[LG_MAX_CPUS], ncpus;
	const char *cpu_list;
	uint64_t seed;
	/* --dbs N: before each primary request, a connection SELECTs a database
	 * drawn uniformly from 0..N-1 when it is not the one it has selected
	 * (a SELECT-switching workload); 1 = never (the default) */
	unsigned dbs;
	/* --command "ZINCRBY lb 1 m:__rand_int__": every primary operation is
	 * this command (words split on spaces), each LG_RAND_INT in it replaced
	 * by its own draw from the key distribution; replaces the GET/SET mix.
	 * NULL: the mix. */
	const char *command;
	struct lg_tmpl cmd;
	/* --mix 'WEIGHT:TEMPLATE' (mix.h): nmix templates drawn with their weights
	 * next to the GET/SET mix, which gets LG_MIX_ONE - mix_total */
	struct lg_tmpl mix[LG_MAX_MIX];
	int nmix;
	uint32_t mix_total;
	/* --cluster (cluster.h): the masters and the slot map from CLUSTER SLOTS
	 * of the seed (host, port); NULL: one server */
	struct lg_cluster *cl;
	/* --pubsub (pubsub.h): subscribers and publishers instead of requests */
	bool pubsub, psubscribe;
	unsigned subscribers, publishers, channels;
	/* derived */
	size_t req_max;			     /* bytes of the longest encoded request */
	unsigned set_permille, rmw_permille; /* share of SETs; share of GET-then-SET */
	struct sockaddr_storage addr;
	unsigned addrlen;
	char *values;		   /* dmax + LG_VALUE_SKEW random bytes, read-only */
	_Atomic uint64_t *written; /* --verify: bit per key, set once a SET was acknowledged */
	struct dist keydist;
};

struct lg_errtext {
	char text[96];
	uint64_t count;
};

/* Statistics of one thread, merged by report.c. */
struct lg_stats {
	struct hist hist[LG_NTYPES]; /* measured window only */
	uint64_t errors[LG_NTYPES];
	/* --mix: each template's own latency (also counted in hist[LG_CMD]) */
	struct hist mix_hist[LG_MAX_MIX];
	uint64_t mix_errors[LG_MAX_MIX];
	uint64_t get_hits, get_misses, verify_failures, other_errors;
	uint64_t selects;	/* --dbs: SELECTs sent in the measured window (not in ops) */
	uint64_t last_reply_ns; /* latest measured reply */
	/* --cluster: redirects followed (not requests, not errors), and the
	 * measured replies of each node (index into cfg->cl->node) */
	uint64_t moved, asks;
	uint64_t node_requests[LG_MAX_NODES];
	struct lg_errtext texts[LG_ERR_TEXTS];
	unsigned ntexts;
	uint64_t texts_dropped;
};

/* The per-second timeline: workers add their last second's samples; main
 * turns complete seconds into struct lg_point. */
struct lg_timeline {
	pthread_mutex_t mu;
	struct hist slot[LG_RING]; /* under mu */
	uint64_t ops[LG_RING], errors[LG_RING];
};

struct lg_point {
	double t; /* seconds since the start (end of the second) */
	bool warmup;
	uint64_t ops, errors;
	uint64_t p50, p90, p99, p999, max; /* ns */
};

struct lg_worker {
	int id;
	pthread_t thread;
	struct lg_config *cfg;
	struct lg_timeline *tl;
	struct lg_stats stats;
	/* written by the worker, read by main for the progress line:
	 * release when a second was added to the timeline; pairs with main's acquire. */
	_Atomic int64_t reported_sec;
	_Atomic int done; /* release: all of this thread's timeline seconds are in */
	/* private to the worker */
	struct hist ival;
	uint64_t ival_ops, ival_errors;
	int64_t ival_sec;
	char errbuf[160];
	int failed;
	uint8_t *slotmap; /* --cluster: this worker's copy of cfg->cl->owner, updated by MOVED */
};

/* Shared run control, written by main. */
struct lg_run {
	pthread_barrier_t ready, go;
	_Atomic uint64_t start_ns; /* written before `go`; the barrier orders it */
	_Atomic int stop;	   /* SIGINT: relaxed, polled each loop */
};
extern struct lg_run lg_run;

uint64_t lg_now_ns(void);
void *lg_worker_main(void *arg);
/* Add the worker's current second (ival_*) to the timeline and start the next. */
void lg_ival_publish(struct lg_worker *w);
void lg_key_format(char *dst, uint64_t idx);
uint64_t lg_value_len(const struct lg_config *c, uint64_t idx);
static inline const char *lg_value_ptr(const struct lg_config *c, uint64_t idx)
{
	return c->values + (idx % LG_VALUE_SKEW);
}
/* Count an error under its text (n times); texts beyond LG_ERR_TEXTS are only counted. */
void lg_stats_error(struct lg_stats *s, const char *text, size_t len);
void lg_stats_errors(struct lg_stats *s, const char *text, size_t len, uint64_t n);

/* report.c */
/* Merge the workers' results; print the summary; write --json and --hist-out.
 * t_measure: start of the measured window. Returns 0 / -errno (file errors). */
int lg_report(const struct lg_config *c, struct lg_worker *w, int nworkers,
	      const struct lg_point *pts, size_t npts, uint64_t t_measure, double cpu_share);
/* Draw --plot with gnuplot; -ENOENT (after saying so) when gnuplot is missing. */
int lg_plot(const struct lg_config *c, const struct lg_point *pts, size_t npts);
extern const char *const lg_type_names[LG_NTYPES];

#endif
