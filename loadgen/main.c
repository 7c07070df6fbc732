/*
 * main.c — kvsd-loadgen: options, start-up, the progress line, shutdown.
 *
 * Options follow memtier_benchmark where one exists (see usage()). main
 * resolves the server, builds the shared read-only pieces (the random value
 * block, the key distribution, the --verify bitmap), starts the workers and
 * waits at a barrier until every connection is open and --prefill is done.
 * It then fixes the common start time, releases the workers, and every
 * second turns the timeline's completed second into a point (ops/s and
 * percentiles) that is printed as the progress line and kept for --plot.
 * After the workers are joined, report.c prints and writes the results.
 *
 * Exit status: 0 when the run completed (even with error replies — they are
 * reported), 1 on a usage or connection error.
 */
#include "loadgen/loadgen.h"

#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "concurrency/mem.h"
#include "loadgen/pubsub.h"

enum {
	OPT_RATIO = 256,
	OPT_WORKLOAD,
	OPT_KEYS,
	OPT_DIST,
	OPT_PREFILL,
	OPT_REQUESTS,
	OPT_DURATION,
	OPT_WARMUP,
	OPT_RATE,
	OPT_HIST_OUT,
	OPT_PROGRESS,
	OPT_JSON,
	OPT_PLOT,
	OPT_VERIFY,
	OPT_CPU,
	OPT_SEED,
	OPT_DBS,
	OPT_COMMAND,
	OPT_MIX,
	OPT_CLUSTER,
	OPT_PUBSUB,
	OPT_PSUBSCRIBE,
	OPT_SUBSCRIBERS,
	OPT_PUBLISHERS,
	OPT_CHANNELS,
	OPT_HELP,
};

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "Usage: kvsd-loadgen [options]\n"
	    "  -h HOST              server address (default 127.0.0.1)\n"
	    "  -p PORT              server port (default 6379)\n"
	    "  -a PASSWORD          AUTH on every connection\n"
	    "  -t, --threads N      worker threads (default 1)\n"
	    "  -c N                 connections per thread (default 50)\n"
	    "  -P N                 pipeline depth per connection (default 1)\n"
	    "  --ratio SET:GET      operation mix (default 1:10)\n"
	    "  --workload W         YCSB a (50%% GET / 50%% SET), b (95/5), c (GET only),\n"
	    "                       f (50%% GET, 50%% GET then SET of the same key),\n"
	    "                       cache (GET, SET on a miss); default dist zipf\n"
	    "  --keys N             key space key:000000000000 .. (default 100000)\n"
	    "  --dist D             uniform | zipf[:theta] (0.99) | sequential\n"
	    "  -d N|MIN-MAX         value size in bytes (default 64)\n"
	    "  --prefill            SET every key once before the run (not measured)\n"
	    "  --requests N         total requests (default 100000)\n"
	    "  --duration S         run for S seconds instead\n"
	    "  --warmup S           run S seconds first without recording\n"
	    "  --rate OPS           open loop: OPS requests/s in total, latency from the\n"
	    "                       intended send time (coordinated omission corrected)\n"
	    "  --hist-out FILE      latency distribution, HdrHistogram .hgrm (microseconds)\n"
	    "  --progress           progress line each second on stderr (default: if a tty)\n"
	    "  --json FILE          results as JSON\n"
	    "  --plot FILE.png|.svg latency percentiles and throughput over time (gnuplot)\n"
	    "  --verify             check GET values against what this run wrote\n"
	    "  --cpu LIST           pin worker threads to these CPUs (e.g. 1 or 2-3,5)\n"
	    "  --seed N             random seed (default 1)\n"
	    "  --dbs N              SELECT a random database 0..N-1 before each request\n"
	    "                       when it differs from the connection's (SELECTs are\n"
	    "                       not counted as requests; --prefill fills database 0)\n"
	    "  --command \"CMD ARG..\" every request is this command instead of the GET/SET\n"
	    "                       mix (words split on spaces); each __rand_int__ becomes\n"
	    "                       a key index from --keys/--dist, 12 digits zero-padded,\n"
	    "                       as redis-benchmark -r (e.g. \"ZINCRBY lb 1 m:__rand_int__\")\n"
	    "  --mix \"W:CMD ARG..\"  repeatable (at most 16): W%% of all requests are this\n"
	    "                       template (W a decimal percentage, e.g. 2.5), drawn per\n"
	    "                       request; the GET/SET mix (--ratio/--workload, with its\n"
	    "                       own SET:GET split) gets the rest of 100%%. The weights\n"
	    "                       add up to at most 100. Each template's latency has its\n"
	    "                       own row (named by its first word) and JSON object\n"
	    "                       (per_command), so GET's row stays GET alone; e.g.\n"
	    "                       --mix \"10:HGET h:__rand_int__ f3\" --mix \"10:SADD "
	    "s:__rand_int__ 3\"\n"
	    "  --cluster            Redis Cluster: read CLUSTER SLOTS from -h/-p, open -c\n"
	    "                       connections per thread to every master, send each\n"
	    "                       request to the master of its key's slot (a template's\n"
	    "                       key is its first argument), follow -MOVED and -ASK;\n"
	    "                       reports requests and ops/s per node\n"
	    "  --pubsub             Pub/Sub fan-out instead of requests (loadgen/pubsub.h):\n"
	    "                       subscribers SUBSCRIBE, publishers PUBLISH -d byte\n"
	    "                       messages (>= 46) carrying send time and sequence;\n"
	    "                       reports delivered msgs/s, publish-to-receive\n"
	    "                       latency, loss/duplicates/order; --requests counts\n"
	    "                       PUBLISHes, --rate is PUBLISHes/s, -P per publisher\n"
	    "  --subscribers N      --pubsub: subscriber connections (default 50)\n"
	    "  --publishers N       --pubsub: publisher connections (default 1)\n"
	    "  --channels N         --pubsub: channels, subscriber i on i %% N (default 1)\n"
	    "  --psubscribe         --pubsub with PSUBSCRIBE of the channel's name + '*'\n"
	    "  --help\n");
}

static int die(const char *fmt, const char *arg)
{
	fprintf(stderr, "kvsd-loadgen: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n");
	exit(1);
}

static uint64_t parse_u64(const char *s, const char *opt, uint64_t min)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || v < min)
		die("bad value for %s", opt);
	return v;
}

static double parse_double(const char *s, const char *opt)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || *end || !(v >= 0))
		die("bad value for %s", opt);
	return v;
}

static void parse_cpus(struct lg_config *c, const char *s)
{
	char *copy = strdup(s), *save = NULL, *tok;

	c->cpu_list = s;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *dash = strchr(tok, '-');
		uint64_t lo, hi;

		if (dash)
			*dash = '\0';
		lo = parse_u64(tok, "--cpu", 0);
		hi = dash ? parse_u64(dash + 1, "--cpu", lo) : lo;
		for (uint64_t i = lo; i <= hi && c->ncpus < LG_MAX_CPUS; i++) {
			if (i >= CPU_SETSIZE)
				die("bad value for %s", "--cpu");
			c->cpus[c->ncpus++] = (int)i;
		}
	}
	free(copy);
	if (!c->ncpus)
		die("bad value for %s", "--cpu");
}

/* --command: the template's words (split on spaces and tabs). */
static void parse_command(struct lg_config *c, const char *s)
{
	if (c->command)
		die("%s", "--command given twice");
	c->command = s;
	if (lg_tmpl_parse(&c->cmd, s) < 0)
		die("bad value for %s", "--command");
}

/* --mix WEIGHT:TEMPLATE, repeatable (mix.h). */
static void parse_mix(struct lg_config *c, const char *s)
{
	if (c->nmix == LG_MAX_MIX)
		die("at most 16 %s templates", "--mix");
	if (lg_mix_parse(&c->mix[c->nmix], s) < 0)
		die("bad value for %s (want WEIGHT:TEMPLATE, WEIGHT a percentage in (0,100])",
		    "--mix");
	c->nmix++;
}

static void parse_args(struct lg_config *c, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"threads", required_argument, NULL, 't'},
	    {"connections", required_argument, NULL, 'c'},
	    {"pipeline", required_argument, NULL, 'P'},
	    {"data-size", required_argument, NULL, 'd'},
	    {"ratio", required_argument, NULL, OPT_RATIO},
	    {"workload", required_argument, NULL, OPT_WORKLOAD},
	    {"keys", required_argument, NULL, OPT_KEYS},
	    {"dist", required_argument, NULL, OPT_DIST},
	    {"prefill", no_argument, NULL, OPT_PREFILL},
	    {"requests", required_argument, NULL, OPT_REQUESTS},
	    {"duration", required_argument, NULL, OPT_DURATION},
	    {"warmup", required_argument, NULL, OPT_WARMUP},
	    {"rate", required_argument, NULL, OPT_RATE},
	    {"hist-out", required_argument, NULL, OPT_HIST_OUT},
	    {"progress", no_argument, NULL, OPT_PROGRESS},
	    {"json", required_argument, NULL, OPT_JSON},
	    {"plot", required_argument, NULL, OPT_PLOT},
	    {"verify", no_argument, NULL, OPT_VERIFY},
	    {"cpu", required_argument, NULL, OPT_CPU},
	    {"seed", required_argument, NULL, OPT_SEED},
	    {"dbs", required_argument, NULL, OPT_DBS},
	    {"command", required_argument, NULL, OPT_COMMAND},
	    {"mix", required_argument, NULL, OPT_MIX},
	    {"cluster", no_argument, NULL, OPT_CLUSTER},
	    {"pubsub", no_argument, NULL, OPT_PUBSUB},
	    {"psubscribe", no_argument, NULL, OPT_PSUBSCRIBE},
	    {"subscribers", required_argument, NULL, OPT_SUBSCRIBERS},
	    {"publishers", required_argument, NULL, OPT_PUBLISHERS},
	    {"channels", required_argument, NULL, OPT_CHANNELS},
	    {"help", no_argument, NULL, OPT_HELP},
	    {NULL, 0, NULL, 0},
	};
	bool dist_given = false;
	unsigned s, g;
	char tail;
	int o;

	while ((o = getopt_long(argc, argv, "h:p:a:t:c:P:d:", longopts, NULL)) != -1) {
		switch (o) {
		case 'h':
			c->host = optarg;
			break;
		case 'p':
			c->port = (int)parse_u64(optarg, "-p", 1);
			if (c->port > 65535)
				die("bad value for %s", "-p");
			break;
		case 'a':
			c->auth = optarg;
			break;
		case 't':
			c->threads = (int)parse_u64(optarg, "-t", 1);
			break;
		case 'c':
			c->conns = (int)parse_u64(optarg, "-c", 1);
			break;
		case 'P':
			c->pipeline = (int)parse_u64(optarg, "-P", 1);
			break;
		case 'd':
			if (sscanf(optarg, "%llu-%llu%c", (unsigned long long *)&c->dmin,
				   (unsigned long long *)&c->dmax, &tail) == 2) {
				if (c->dmin > c->dmax)
					die("bad value for %s", "-d");
			} else {
				c->dmin = c->dmax = parse_u64(optarg, "-d", 0);
			}
			if (c->dmax > 512ULL * 1024 * 1024)
				die("bad value for %s", "-d");
			break;
		case OPT_RATIO:
			if (sscanf(optarg, "%u:%u%c", &s, &g, &tail) != 2 || s + g == 0)
				die("bad value for %s (want SET:GET)", "--ratio");
			c->set_ratio = s;
			c->get_ratio = g;
			break;
		case OPT_WORKLOAD:
			c->workload_name = optarg;
			if (!strcmp(optarg, "a"))
				c->workload = LG_WL_A;
			else if (!strcmp(optarg, "b"))
				c->workload = LG_WL_B;
			else if (!strcmp(optarg, "c"))
				c->workload = LG_WL_C;
			else if (!strcmp(optarg, "f"))
				c->workload = LG_WL_F;
			else if (!strcmp(optarg, "cache"))
				c->workload = LG_WL_CACHE;
			else
				die("bad value for %s (a|b|c|f|cache)", "--workload");
			break;
		case OPT_KEYS:
			c->keys = parse_u64(optarg, "--keys", 1);
			if (c->keys > 1000000000000ULL)
				die("bad value for %s (at most 10^12: 12 digits)", "--keys");
			break;
		case OPT_DIST:
			if (dist_parse(optarg, &c->dist, &c->theta) < 0)
				die("bad value for %s (uniform|zipf[:theta in (0,1)]|sequential)",
				    "--dist");
			dist_given = true;
			break;
		case OPT_PREFILL:
			c->prefill = true;
			break;
		case OPT_REQUESTS:
			c->requests = parse_u64(optarg, "--requests", 1);
			break;
		case OPT_DURATION:
			c->duration = parse_double(optarg, "--duration");
			break;
		case OPT_WARMUP:
			c->warmup = parse_double(optarg, "--warmup");
			break;
		case OPT_RATE:
			c->rate = parse_double(optarg, "--rate");
			break;
		case OPT_HIST_OUT:
			c->hist_out = optarg;
			break;
		case OPT_PROGRESS:
			c->progress = true;
			break;
		case OPT_JSON:
			c->json = optarg;
			break;
		case OPT_PLOT:
			c->plot = optarg;
			break;
		case OPT_VERIFY:
			c->verify = true;
			break;
		case OPT_CPU:
			parse_cpus(c, optarg);
			break;
		case OPT_SEED:
			c->seed = parse_u64(optarg, "--seed", 0);
			break;
		case OPT_DBS:
			c->dbs = (unsigned)parse_u64(optarg, "--dbs", 1);
			if (c->dbs > 1000000)
				die("bad value for %s", "--dbs");
			break;
		case OPT_COMMAND:
			parse_command(c, optarg);
			break;
		case OPT_MIX:
			parse_mix(c, optarg);
			break;
		case OPT_CLUSTER:
			c->cl = mem_calloc(1, sizeof(*c->cl));
			break;
		case OPT_PSUBSCRIBE:
			c->psubscribe = true;
			/* fall through */
		case OPT_PUBSUB:
			c->pubsub = true;
			break;
		case OPT_SUBSCRIBERS:
			c->subscribers = (unsigned)parse_u64(optarg, "--subscribers", 0);
			break;
		case OPT_PUBLISHERS:
			c->publishers = (unsigned)parse_u64(optarg, "--publishers", 1);
			break;
		case OPT_CHANNELS:
			c->channels = (unsigned)parse_u64(optarg, "--channels", 1);
			break;
		case OPT_HELP:
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			exit(1);
		}
	}
	if (optind < argc)
		die("unexpected argument %s", argv[optind]);
	if (c->pubsub && c->cl)
		die("%s", "--pubsub and --cluster exclude each other");
	if (c->dbs > 1 && c->cl)
		die("%s", "--dbs and --cluster exclude each other (a cluster has database 0 only)");
	if (c->dbs > 1 && c->rate > 0)
		die("%s", "--dbs works in the closed loop only (no --rate)");
	if (c->nmix && c->command)
		die("%s",
		    "--mix and --command exclude each other (--mix 100:TEMPLATE is --command)");
	if (c->nmix) {
		int64_t total = lg_mix_total(c->mix, c->nmix);

		if (total < 0)
			die("%s", "the --mix weights add up to more than 100%");
		c->mix_total = (uint32_t)total;
	}
	if (c->requests && c->duration > 0)
		die("%s", "--requests and --duration exclude each other");
	if (!c->requests && !(c->duration > 0))
		c->requests = 100000;
	if (c->workload != LG_WL_RATIO && !dist_given) {
		c->dist = DIST_ZIPF; /* YCSB's default request distribution */
		c->theta = 0.99;
	}
	switch (c->workload) {
	case LG_WL_RATIO:
		c->set_permille =
		    (unsigned)(1000ULL * c->set_ratio / (c->set_ratio + c->get_ratio));
		break;
	case LG_WL_A:
		c->set_permille = 500;
		break;
	case LG_WL_B:
		c->set_permille = 50;
		break;
	case LG_WL_C:
	case LG_WL_CACHE:
		break;
	case LG_WL_F:
		c->rmw_permille = 500;
		break;
	}
	if (c->progress == false && isatty(2))
		c->progress = true;
}

static void resolve(struct lg_config *c)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res;
	char port[16];
	int rc;

	snprintf(port, sizeof(port), "%d", c->port);
	if ((rc = getaddrinfo(c->host, port, &hints, &res)) != 0)
		die("cannot resolve the host: %s", gai_strerror(rc));
	memcpy(&c->addr, res->ai_addr, res->ai_addrlen);
	c->addrlen = (unsigned)res->ai_addrlen;
	freeaddrinfo(res);
}

static double cpu_seconds(void)
{
	char buf[1024], *p;
	unsigned long ut = 0, st = 0;
	FILE *f = fopen("/proc/self/stat", "r");
	size_t n;

	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')'); /* the command name may hold spaces */
	if (!p ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		return 0;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static void on_sigint(int sig)
{
	(void)sig;
	/* relaxed: workers poll it; it orders nothing */
	atomic_store_explicit(&lg_run.stop, 1, memory_order_relaxed);
}

/* Finalize timeline second s into a point. */
static struct lg_point take_point(struct lg_timeline *tl, int64_t s, const struct lg_config *c,
				  uint64_t t_last)
{
	unsigned i = (unsigned)(s % LG_RING);
	struct lg_point p = {0};
	struct hist *h = &tl->slot[i];

	pthread_mutex_lock(&tl->mu);
	p.t = t_last ? (double)t_last / 1e9 : (double)(s + 1);
	p.warmup = (double)s < c->warmup;
	p.ops = tl->ops[i];
	p.errors = tl->errors[i];
	p.p50 = hist_percentile(h, 50);
	p.p90 = hist_percentile(h, 90);
	p.p99 = hist_percentile(h, 99);
	p.p999 = hist_percentile(h, 99.9);
	p.max = h->total ? h->max : 0;
	hist_init(h);
	tl->ops[i] = tl->errors[i] = 0;
	pthread_mutex_unlock(&tl->mu);
	return p;
}

static void progress_line(const struct lg_point *p)
{
	fprintf(stderr,
		"[%6.1fs] %10.0f ops/s  p50 %8.3f ms  p99 %8.3f ms  max %8.3f ms  errors %llu%s\n",
		p->t, (double)p->ops, (double)p->p50 / 1e6, (double)p->p99 / 1e6,
		(double)p->max / 1e6, (unsigned long long)p->errors, p->warmup ? "  (warmup)" : "");
}

int main(int argc, char **argv)
{
	static struct lg_config cfg = {
	    .host = "127.0.0.1",
	    .port = 6379,
	    .threads = 1,
	    .conns = 50,
	    .pipeline = 1,
	    .set_ratio = 1,
	    .get_ratio = 10,
	    .workload_name = "ratio",
	    .keys = 100000,
	    .dist = DIST_UNIFORM,
	    .theta = 0.99,
	    .dmin = 64,
	    .dmax = 64,
	    .seed = 1,
	    .dbs = 1,
	    .subscribers = 50,
	    .publishers = 1,
	    .channels = 1,
	};
	struct lg_config *c = &cfg;
	struct lg_timeline *tl;
	struct lg_worker *ws;
	struct lg_point *pts = NULL;
	size_t npts = 0, cap = 0;
	int64_t next_sec = 0;
	uint64_t t0, t_measure, t_prefill;
	double cpu0, cpu_share;
	bool failed = false;
	struct sigaction sa = {.sa_handler = on_sigint};
	struct dist_rng rng;

	parse_args(c, argc, argv);
	resolve(c);
	if (c->cl) {
		char err[200];

		if (lg_cluster_discover(c, c->cl, err, sizeof(err)) < 0)
			die("--cluster: %s", err);
		/* tests wait for this line before they change the slot map */
		fprintf(stderr, "cluster: %d masters from CLUSTER SLOTS of %s:%d\n", c->cl->nnodes,
			c->host, c->port);
	}
	c->req_max = 64 + c->dmax;
	if (c->command && lg_tmpl_req_max(&c->cmd) > c->req_max)
		c->req_max = lg_tmpl_req_max(&c->cmd);
	for (int i = 0; i < c->nmix; i++)
		if (lg_tmpl_req_max(&c->mix[i]) > c->req_max)
			c->req_max = lg_tmpl_req_max(&c->mix[i]);
	if (c->pubsub)
		lg_pubsub_setup(c);
	signal(SIGPIPE, SIG_IGN);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (dist_init(&c->keydist, c->dist, c->keys, c->theta) < 0)
		die("%s", "bad --dist for these --keys");
	c->values = mem_alloc(c->dmax + LG_VALUE_SKEW);
	dist_rng_seed(&rng, c->seed);
	for (uint64_t i = 0; i < c->dmax + LG_VALUE_SKEW; i++)
		c->values[i] =
		    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"[dist_rng_below(
			&rng, 62)];
	if (c->verify)
		c->written = mem_calloc((size_t)(c->keys / 64 + 1), sizeof(*c->written));

	tl = mem_calloc(1, sizeof(*tl));
	pthread_mutex_init(&tl->mu, NULL);
	for (int i = 0; i < LG_RING; i++)
		hist_init(&tl->slot[i]);
	ws = mem_calloc((size_t)c->threads, sizeof(*ws));
	pthread_barrier_init(&lg_run.ready, NULL, (unsigned)c->threads + 1);
	pthread_barrier_init(&lg_run.go, NULL, (unsigned)c->threads + 1);
	t_prefill = lg_now_ns();
	for (int i = 0; i < c->threads; i++) {
		ws[i].id = i;
		ws[i].cfg = c;
		ws[i].tl = tl;
		atomic_init(&ws[i].reported_sec, -1);
		if (pthread_create(&ws[i].thread, NULL,
				   c->pubsub ? lg_pubsub_worker_main : lg_worker_main, &ws[i]) != 0)
			die("%s", "cannot start a thread");
	}
	pthread_barrier_wait(&lg_run.ready);
	for (int i = 0; i < c->threads; i++) {
		if (ws[i].failed) {
			fprintf(stderr, "kvsd-loadgen: %s:%d: %s\n", c->host, c->port,
				ws[i].errbuf);
			failed = true;
			break;
		}
	}
	if (c->prefill && !failed)
		fprintf(stderr, "prefill: %llu keys in %.2f s\n", (unsigned long long)c->keys,
			(double)(lg_now_ns() - t_prefill) / 1e9);
	if (failed)
		atomic_store_explicit(&lg_run.stop, 1, memory_order_relaxed); /* see on_sigint */
	t0 = lg_now_ns() + 1000000;
	t_measure = t0 + (uint64_t)(c->warmup * 1e9);
	/* relaxed: pthread_barrier_wait below orders it for the workers */
	atomic_store_explicit(&lg_run.start_ns, t0, memory_order_relaxed);
	cpu0 = cpu_seconds();
	pthread_barrier_wait(&lg_run.go);

	for (;;) {
		bool all_done = true, complete = true;
		int64_t max_rep = -1;

		for (int i = 0; i < c->threads; i++) {
			/* acquire: pairs with the worker's release after adding a second */
			int64_t r = atomic_load_explicit(&ws[i].reported_sec, memory_order_acquire);
			int d = atomic_load_explicit(&ws[i].done, memory_order_acquire);

			if (!d)
				all_done = false;
			if (r > max_rep)
				max_rep = r;
			if (!d && r < next_sec)
				complete = false;
		}
		if (complete && next_sec <= max_rep) {
			uint64_t now = lg_now_ns(),
				 end = t0 + (uint64_t)(next_sec + 1) * 1000000000ULL;
			bool last = all_done && next_sec == max_rep && now < end;
			double secs = 1.0;
			struct lg_point p;

			if (last) /* the final, partial second */
				secs =
				    (double)(now - (t0 + (uint64_t)next_sec * 1000000000ULL)) / 1e9;
			p = take_point(tl, next_sec, c,
				       last ? (uint64_t)((double)next_sec * 1e9 + secs * 1e9) : 0);
			if (npts == cap) {
				cap = cap ? 2 * cap : 64;
				pts = mem_realloc(pts, cap * sizeof(*pts));
			}
			next_sec++;
			if (last && secs < 0.25)
				continue; /* a sliver after the end: in the results, not the
					     timeline */
			p.ops = (uint64_t)((double)p.ops / secs); /* ops per second */
			pts[npts++] = p;
			if (c->progress)
				progress_line(&p);
			continue;
		}
		if (all_done && next_sec > max_rep)
			break;
		nanosleep(&(struct timespec){.tv_nsec = 20000000}, NULL);
	}
	for (int i = 0; i < c->threads; i++)
		pthread_join(ws[i].thread, NULL);
	cpu_share = (cpu_seconds() - cpu0) / ((double)(lg_now_ns() - t0) / 1e9);
	if (failed)
		return 1;
	lg_report(c, ws, c->threads, pts, npts, t_measure, cpu_share);
	if (c->plot)
		lg_plot(c, pts, npts);
	mem_free(pts);
	mem_free(ws);
	mem_free(tl);
	mem_free(c->values);
	mem_free(c->written);
	mem_free(c->cl);
	return 0;
}
