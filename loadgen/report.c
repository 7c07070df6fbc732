/*
 * report.c — results: the summary on stdout, --json, --hist-out, --plot.
 *
 * The workers' per-type histograms are merged (and all types into one), the
 * measured window runs from the end of the warmup to the last measured reply,
 * and every rate is requests in the window divided by its length. Latencies
 * are kept in nanoseconds and printed in microseconds.
 */
#include "loadgen/loadgen.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "concurrency/mem.h"
#include "loadgen/pubsub.h"

const char *const lg_type_names[LG_NTYPES] = {"GET", "SET", "CMD"};

struct lg_total {
	struct hist all, type[LG_NTYPES], mix[LG_MAX_MIX];
	uint64_t mix_errors[LG_MAX_MIX];
	uint64_t errors, type_errors[LG_NTYPES];
	uint64_t hits, misses, verify_failures, other, selects;
	struct lg_errtext texts[LG_ERR_TEXTS * 4];
	unsigned ntexts;
	uint64_t last_reply_ns;
};

static void add_text(struct lg_total *t, const struct lg_errtext *e)
{
	for (unsigned i = 0; i < t->ntexts; i++) {
		if (!strcmp(t->texts[i].text, e->text)) {
			t->texts[i].count += e->count;
			return;
		}
	}
	if (t->ntexts < sizeof(t->texts) / sizeof(t->texts[0]))
		t->texts[t->ntexts++] = *e;
}

static void json_str(FILE *f, const char *s)
{
	if (!s) {
		fputs("null", f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20 || ch >= 0x7f)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

static void json_lat(FILE *f, const struct hist *h, uint64_t errors, double secs)
{
	fprintf(f,
		"\"requests\": %llu, \"ops_per_sec\": %.1f, \"errors\": %llu, "
		"\"mean_us\": %.3f, \"p50_us\": %.3f, \"p90_us\": %.3f, \"p99_us\": %.3f, "
		"\"p999_us\": %.3f, \"p9999_us\": %.3f, \"max_us\": %.3f",
		(unsigned long long)h->total, secs > 0 ? (double)h->total / secs : 0.0,
		(unsigned long long)errors, hist_mean(h) / 1e3, hist_percentile(h, 50) / 1e3,
		hist_percentile(h, 90) / 1e3, hist_percentile(h, 99) / 1e3,
		hist_percentile(h, 99.9) / 1e3, hist_percentile(h, 99.99) / 1e3,
		(h->total ? (double)h->max : 0.0) / 1e3);
}

static const char *dist_name(const struct lg_config *c)
{
	return c->dist == DIST_UNIFORM ? "uniform" : c->dist == DIST_ZIPF ? "zipf" : "sequential";
}

static void json_config(FILE *f, const struct lg_config *c)
{
	fprintf(f, "  \"config\": {\"host\": ");
	json_str(f, c->host);
	fprintf(f,
		", \"port\": %d, \"auth\": %s, \"threads\": %d, \"connections\": %d, "
		"\"pipeline\": %d, \"ratio\": \"%u:%u\", \"workload\": ",
		c->port, c->auth ? "true" : "false", c->threads, c->conns, c->pipeline,
		c->set_ratio, c->get_ratio);
	json_str(f, c->workload_name);
	fprintf(f, ", \"keys\": %llu, \"dist\": \"%s\", \"theta\": %g, ",
		(unsigned long long)c->keys, dist_name(c), c->theta);
	fprintf(f, "\"data_size_min\": %llu, \"data_size_max\": %llu, \"prefill\": %s, ",
		(unsigned long long)c->dmin, (unsigned long long)c->dmax,
		c->prefill ? "true" : "false");
	fprintf(f, "\"requests\": %llu, \"duration\": %g, \"warmup\": %g, \"rate\": %g, ",
		(unsigned long long)c->requests, c->duration, c->warmup, c->rate);
	fprintf(f, "\"open_loop\": %s, \"hist_out\": ", c->rate > 0 ? "true" : "false");
	json_str(f, c->hist_out);
	fprintf(f, ", \"json\": ");
	json_str(f, c->json);
	fprintf(f, ", \"plot\": ");
	json_str(f, c->plot);
	fprintf(f, ", \"progress\": %s, \"verify\": %s, \"cpu\": ", c->progress ? "true" : "false",
		c->verify ? "true" : "false");
	json_str(f, c->cpu_list);
	fprintf(f, ", \"seed\": %llu, \"dbs\": %u, \"command\": ", (unsigned long long)c->seed,
		c->dbs);
	json_str(f, c->command);
	fprintf(f, ", \"mix\": [");
	for (int i = 0; i < c->nmix; i++) {
		fprintf(f, "%s{\"weight_pct\": %g, \"template\": ", i ? ", " : "",
			100.0 * c->mix[i].weight / LG_MIX_ONE);
		json_str(f, c->mix[i].text);
		fputc('}', f);
	}
	fprintf(f, "], \"mix_getset_pct\": %g", 100.0 * (LG_MIX_ONE - c->mix_total) / LG_MIX_ONE);
	fputc('}', f);
}

static int write_json(const struct lg_config *c, const struct lg_total *t, double secs,
		      const struct lg_point *pts, size_t npts, double cpu_share, uint64_t t_measure)
{
	FILE *f = fopen(c->json, "w");
	int rc;

	if (!f)
		return -errno;
	fprintf(f, "{\n  ");
	json_lat(f, &t->all, t->errors, secs);
	fprintf(f, ",\n  \"duration_s\": %.6f, \"get_hits\": %llu, \"get_misses\": %llu, ", secs,
		(unsigned long long)t->hits, (unsigned long long)t->misses);
	fprintf(f, "\"verify_failures\": %llu, \"loadgen_cpu\": %.3f, \"selects\": %llu,",
		(unsigned long long)t->verify_failures, cpu_share, (unsigned long long)t->selects);
	if (c->cl)
		lg_cluster_json(f, c->cl, secs);
	fprintf(f, "\n  \"per_type\": {");
	for (int i = 0, n = 0; i < LG_NTYPES; i++) {
		if (!t->type[i].total && !t->type_errors[i])
			continue;
		fprintf(f, "%s\n    \"%s\": {", n++ ? "," : "", lg_type_names[i]);
		json_lat(f, &t->type[i], t->type_errors[i], secs);
		fputc('}', f);
	}
	/* --mix: one object per template, in the order given (names may repeat) */
	fprintf(f, "},\n  \"per_command\": [");
	for (int i = 0; i < c->nmix; i++) {
		fprintf(f, "%s\n    {\"name\": ", i ? "," : "");
		json_str(f, c->mix[i].name);
		fprintf(f, ", \"template\": ");
		json_str(f, c->mix[i].text);
		fprintf(f, ", \"weight_pct\": %g, ", 100.0 * c->mix[i].weight / LG_MIX_ONE);
		json_lat(f, &t->mix[i], t->mix_errors[i], secs);
		fputc('}', f);
	}
	fprintf(f, "],\n  \"error_texts\": {");
	for (unsigned i = 0; i < t->ntexts; i++) {
		fprintf(f, "%s", i ? ", " : "");
		json_str(f, t->texts[i].text);
		fprintf(f, ": %llu", (unsigned long long)t->texts[i].count);
	}
	fprintf(f, "},\n  \"timeline\": [");
	for (size_t i = 0; i < npts; i++)
		fprintf(f,
			"%s\n    {\"t\": %.3f, \"warmup\": %s, \"ops_per_sec\": %llu, "
			"\"errors\": %llu, \"p50_us\": %.3f, \"p99_us\": %.3f, \"max_us\": %.3f}",
			i ? "," : "", pts[i].t, pts[i].warmup ? "true" : "false",
			(unsigned long long)pts[i].ops, (unsigned long long)pts[i].errors,
			pts[i].p50 / 1e3, pts[i].p99 / 1e3, pts[i].max / 1e3);
	fprintf(f, "],\n");
	if (c->pubsub) { /* --pubsub: the delivery figures (CMD above is PUBLISH) */
		fprintf(f, "  ");
		lg_pubsub_json(f, c, t_measure);
		fprintf(f, ",\n");
	}
	json_config(f, c);
	fprintf(f, "\n}\n");
	rc = ferror(f) ? -EIO : 0;
	if (fclose(f) && !rc)
		rc = -errno;
	return rc;
}

static void print_row(const char *name, const struct hist *h, uint64_t errors, double secs)
{
	printf("%-5s %10llu %12.0f %9.1f %9.1f %9.1f %9.1f %9.1f %10.1f %8llu\n", name,
	       (unsigned long long)h->total, secs > 0 ? (double)h->total / secs : 0.0,
	       hist_percentile(h, 50) / 1e3, hist_percentile(h, 90) / 1e3,
	       hist_percentile(h, 99) / 1e3, hist_percentile(h, 99.9) / 1e3,
	       hist_percentile(h, 99.99) / 1e3, (h->total ? (double)h->max : 0.0) / 1e3,
	       (unsigned long long)errors);
}

int lg_report(const struct lg_config *c, struct lg_worker *w, int nworkers,
	      const struct lg_point *pts, size_t npts, uint64_t t_measure, double cpu_share)
{
	struct lg_total *t = mem_calloc(1, sizeof(*t));
	double secs;
	int rc = 0;

	hist_init(&t->all);
	for (int i = 0; i < LG_NTYPES; i++)
		hist_init(&t->type[i]);
	for (int i = 0; i < LG_MAX_MIX; i++)
		hist_init(&t->mix[i]);
	for (int k = 0; k < nworkers; k++) {
		struct lg_stats *s = &w[k].stats;

		for (int i = 0; i < c->nmix; i++) {
			hist_merge(&t->mix[i], &s->mix_hist[i]);
			t->mix_errors[i] += s->mix_errors[i];
		}

		for (int i = 0; i < LG_NTYPES; i++) {
			hist_merge(&t->type[i], &s->hist[i]);
			hist_merge(&t->all, &s->hist[i]);
			t->type_errors[i] += s->errors[i];
			t->errors += s->errors[i];
		}
		t->errors += s->other_errors;
		t->hits += s->get_hits;
		t->misses += s->get_misses;
		t->selects += s->selects;
		t->verify_failures += s->verify_failures;
		for (unsigned i = 0; i < s->ntexts; i++)
			add_text(t, &s->texts[i]);
		if (s->last_reply_ns > t->last_reply_ns)
			t->last_reply_ns = s->last_reply_ns;
	}
	secs = t->last_reply_ns > t_measure ? (double)(t->last_reply_ns - t_measure) / 1e9 : 0.0;

	printf("kvsd-loadgen %s:%d  threads %d  ", c->host, c->port, c->threads);
	if (c->pubsub)
		printf("subscribers %u  publishers %u", c->subscribers, c->publishers);
	else
		printf("connections %d/thread", c->conns);
	printf("  pipeline %d  %s", c->pipeline, c->rate > 0 ? "open loop" : "closed loop");
	if (c->rate > 0)
		printf(" at %.0f ops/s", c->rate);
	printf("\nworkload %s", c->pubsub    ? "pubsub (CMD = PUBLISH)"
				: c->command ? "command"
					     : c->workload_name);
	if (c->command)
		printf(" \"%s\"", c->command);
	else if (c->workload == LG_WL_RATIO && !c->pubsub)
		printf(" SET:GET %u:%u", c->set_ratio, c->get_ratio);
	if (c->nmix)
		printf(" (%g%% of requests) + %d --mix templates (%g%%)",
		       100.0 * (LG_MIX_ONE - c->mix_total) / LG_MIX_ONE, c->nmix,
		       100.0 * c->mix_total / LG_MIX_ONE);
	if (c->dbs > 1)
		printf("  databases %u (%llu SELECTs, not counted)", c->dbs,
		       (unsigned long long)t->selects);
	printf("  keys %llu %s", (unsigned long long)c->keys, dist_name(c));
	if (c->dist == DIST_ZIPF)
		printf(":%g", c->theta);
	if (c->dmin == c->dmax)
		printf("  value %llu B\n", (unsigned long long)c->dmin);
	else
		printf("  value %llu-%llu B\n", (unsigned long long)c->dmin,
		       (unsigned long long)c->dmax);
	printf("measured %.3f s: %llu requests, %.0f ops/s, %llu errors, loadgen CPU %.0f%%\n\n",
	       secs, (unsigned long long)t->all.total, secs > 0 ? (double)t->all.total / secs : 0.0,
	       (unsigned long long)t->errors, 100 * cpu_share);
	printf("%-5s %10s %12s %9s %9s %9s %9s %9s %10s %8s\n", "type", "requests", "ops/s",
	       "p50 us", "p90 us", "p99 us", "p99.9 us", "p99.99", "max us", "errors");
	for (int i = 0; i < LG_NTYPES; i++)
		if (t->type[i].total)
			print_row(lg_type_names[i], &t->type[i], t->type_errors[i], secs);
	print_row("ALL", &t->all, t->errors, secs);
	if (c->nmix) {
		/* CMD above is all --mix templates together; one row each here */
		printf("\n%-12s %7s %10s %12s %9s %9s %9s %9s %10s %8s\n", "--mix", "weight",
		       "requests", "ops/s", "p50 us", "p90 us", "p99 us", "p99.9 us", "max us",
		       "errors");
		for (int i = 0; i < c->nmix; i++) {
			const struct hist *h = &t->mix[i];

			printf("%-12s %6g%% %10llu %12.0f %9.1f %9.1f %9.1f %9.1f %10.1f %8llu\n",
			       c->mix[i].name, 100.0 * c->mix[i].weight / LG_MIX_ONE,
			       (unsigned long long)h->total,
			       secs > 0 ? (double)h->total / secs : 0.0,
			       hist_percentile(h, 50) / 1e3, hist_percentile(h, 90) / 1e3,
			       hist_percentile(h, 99) / 1e3, hist_percentile(h, 99.9) / 1e3,
			       (h->total ? (double)h->max : 0.0) / 1e3,
			       (unsigned long long)t->mix_errors[i]);
		}
	}
	if (t->hits + t->misses)
		printf("\nGET hits %llu  misses %llu\n", (unsigned long long)t->hits,
		       (unsigned long long)t->misses);
	if (c->verify)
		printf("verify: %llu failures\n", (unsigned long long)t->verify_failures);
	for (unsigned i = 0; i < t->ntexts; i++)
		printf("error x%llu: %s\n", (unsigned long long)t->texts[i].count,
		       t->texts[i].text);
	if (c->cl) {
		lg_cluster_sum(c->cl, w, nworkers);
		lg_cluster_print(c->cl, secs);
	}
	if (c->pubsub)
		lg_pubsub_print(c, t_measure);
	fflush(stdout);

	if (c->json && (rc = write_json(c, t, secs, pts, npts, cpu_share, t_measure)) < 0)
		fprintf(stderr, "kvsd-loadgen: --json %s: %s\n", c->json, strerror(-rc));
	if (c->hist_out) {
		FILE *f = fopen(c->hist_out, "w");

		if (!f || hist_write_hgrm(&t->all, f, 1000.0) < 0 || fclose(f)) {
			rc = -EIO;
			fprintf(stderr, "kvsd-loadgen: --hist-out %s: write failed\n", c->hist_out);
		}
	}
	mem_free(t);
	return rc;
}

static bool have_gnuplot(void)
{
	const char *path = getenv("PATH");
	char buf[4096], *save = NULL, *dir, *copy;
	bool found = false;

	if (!path)
		return false;
	copy = strdup(path);
	for (dir = strtok_r(copy, ":", &save); dir && !found; dir = strtok_r(NULL, ":", &save)) {
		snprintf(buf, sizeof(buf), "%s/gnuplot", dir);
		found = access(buf, X_OK) == 0;
	}
	free(copy);
	return found;
}

int lg_plot(const struct lg_config *c, const struct lg_point *pts, size_t npts)
{
	const char *ext = strrchr(c->plot, '.');
	bool svg = ext && !strcmp(ext, ".svg");
	char dat[4096];
	FILE *f, *g;

	snprintf(dat, sizeof(dat), "%s.dat", c->plot);
	if (!(f = fopen(dat, "w")))
		return -errno;
	fprintf(f, "# t_s ops_per_sec p50_ms p90_ms p99_ms p999_ms max_ms errors warmup\n");
	for (size_t i = 0; i < npts; i++)
		fprintf(f, "%.3f %llu %.4f %.4f %.4f %.4f %.4f %llu %d\n", pts[i].t,
			(unsigned long long)pts[i].ops, pts[i].p50 / 1e6, pts[i].p90 / 1e6,
			pts[i].p99 / 1e6, pts[i].p999 / 1e6, pts[i].max / 1e6,
			(unsigned long long)pts[i].errors, pts[i].warmup);
	fclose(f);
	if (!have_gnuplot()) {
		fprintf(stderr,
			"kvsd-loadgen: gnuplot is not installed, so --plot %s was not drawn "
			"(install gnuplot-nox); its data is in %s\n",
			c->plot, dat);
		return -ENOENT;
	}
	if (!(g = popen("gnuplot", "w")))
		return -errno;
	fprintf(g, "set terminal %s size 1000,700\nset output '%s'\n", svg ? "svg" : "pngcairo",
		c->plot);
	fprintf(g, "set multiplot layout 2,1 title 'kvsd-loadgen %s:%d, %s'\n", c->host, c->port,
		c->rate > 0 ? "open loop" : "closed loop");
	fprintf(g, "set grid\nset xlabel 'time (s)'\nset ylabel 'latency (ms)'\nset logscale y\n"
		   "set key outside right\n");
	fprintf(g,
		"plot '%s' using 1:3 with linespoints title 'p50', '' using 1:4 with linespoints "
		"title 'p90', '' using 1:5 with linespoints title 'p99', '' using 1:6 with "
		"linespoints title 'p99.9', '' using 1:7 with linespoints title 'max'\n",
		dat);
	fprintf(g,
		"unset logscale y\nset ylabel 'ops/s'\nset yrange [0:*]\n"
		"plot '%s' using 1:2 with linespoints title 'throughput'\nunset multiplot\n",
		dat);
	if (pclose(g) != 0) {
		fprintf(stderr, "kvsd-loadgen: gnuplot failed drawing %s\n", c->plot);
		return -EIO;
	}
	fprintf(stderr, "plot: %s\n", c->plot);
	return 0;
}
