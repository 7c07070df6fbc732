/*
 * cmd_obs.c — observability and server commands: LATENCY (the latency
 * monitor of latency.h and the per-command histograms of lathist.h), the
 * MEMORY container (its subcommands live in cmd_memory.c), WAIT, ROLE and
 * LOLWUT, with Redis 7.0.15's replies and error texts.
 *
 * kvsd has no replication: ROLE says master with no replicas, and WAIT
 * answers 0 at once (Redis, with no replica, answers 0 at once when asked
 * for 0 replicas and after the timeout otherwise; kvsd does not hold the
 * client for a timeout that can only end in 0). LOLWUT prints what Redis
 * 7.0.15 prints, naming the version INFO's redis_version reports
 * ("Redis ver. 7.0.15"); VERSION 5 and 6 draw their pictures (lolwut.c).
 */
#include "concurrency/clock.h"
#include "concurrency/mem.h"
#include "net/conn.h"
#include "net/reply.h"
#include "net/resp.h"
#include "server/cmd.h"
#include "server/errorstats.h"
#include "server/info.h"
#include "server/lathist.h"
#include "server/latency.h"
#include "server/lolwut.h"

#include <stdlib.h>
#include <string.h>

extern const struct cmd_def cmd_memory_subcmds[]; /* cmd_memory.c */
void cmd_memory_startup(void);			  /* cmd_memory.c */

/* The redis_version INFO reports. */
#define OBS_REDIS_VERSION INFO_REDIS_VERSION

void obs_setup(const char *const *names, size_t n)
{
	lathist_setup(names, n);
	errorstats_setup();
	cmd_memory_startup();
}

void obs_teardown(void)
{
	errorstats_teardown();
	lathist_teardown();
}

static void container_arity(struct cmd_req *r)
{
	cmd_reply_arity(r);
}

/* ---- LATENCY ------------------------------------------------------------ */

static void latency_latest(struct cmd_req *r)
{
	latency_reply_latest(r->c);
}

static void latency_history(struct cmd_req *r)
{
	latency_reply_history(r->c, r->argv[2], r->argl[2]);
}

static void latency_graph(struct cmd_req *r)
{
	latency_reply_graph(r->c, r->argv[2], r->argl[2]);
}

static void latency_doctor(struct cmd_req *r)
{
	latency_reply_doctor(r->c);
}

static void latency_reset_cmd(struct cmd_req *r)
{
	int n = 0;

	if (r->argc == 2)
		n = latency_reset(NULL, 0);
	for (int j = 2; j < r->argc; j++)
		n += latency_reset(r->argv[j], strnlen(r->argv[j], r->argl[j]));
	reply_int(r->c, n);
}

static void cdf_pair(long long usec, long long cum, void *arg)
{
	reply_int(arg, usec);
	reply_int(arg, cum);
}

/* One command's entry, as Redis's fillCommandCDF(). */
static void reply_cdf(struct conn *c, size_t idx, const struct lathist_snap *s)
{
	reply_bulk_cstr(c, lathist_name(idx));
	reply_map(c, 2);
	reply_bulk_cstr(c, "calls");
	reply_int(c, (long long)s->total);
	reply_bulk_cstr(c, "histogram_usec");
	reply_map(c, lathist_cdf(s, NULL, NULL));
	lathist_cdf(s, cdf_pair, c);
}

/* Whether stats index i is command top or one of its subcommands. */
static int in_family(const char *name, const char *top, size_t toplen)
{
	return strncmp(name, top, toplen) == 0 && (name[toplen] == '\0' || name[toplen] == '|');
}

/* Appends idx to the list if command idx has samples. */
static void pick(size_t idx, struct lathist_snap *s, size_t **list, size_t *n, size_t *cap)
{
	if (lathist_get(idx, s) == 0)
		return;
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		*list = realloc(*list, *cap * sizeof(**list));
		if (*list == NULL)
			abort();
	}
	(*list)[(*n)++] = idx;
}

static void latency_histogram(struct cmd_req *r)
{
	struct lathist_snap *s = malloc(sizeof(*s));
	size_t n = lathist_count(), *list = NULL, nlist = 0, cap = 0;

	if (s == NULL)
		abort();
	/* Redis: all commands with a histogram, or for each argument that names
	 * a command (unknown ones skipped), it and its subcommands. The list is
	 * chosen first and each entry then merged once more: other workers keep
	 * recording, so the entry count must not depend on a second look. */
	if (r->argc == 2)
		for (size_t i = 0; i < n; i++)
			pick(i, s, &list, &nlist, &cap);
	for (int j = 2; j < r->argc; j++) {
		long top = lathist_lookup(r->argv[j], r->argl[j]);
		const char *name = top < 0 ? NULL : lathist_name((size_t)top);

		if (name == NULL)
			continue;
		pick((size_t)top, s, &list, &nlist, &cap);
		if (strchr(name, '|') == NULL)
			for (size_t i = 0; i < n; i++)
				if (i != (size_t)top &&
				    in_family(lathist_name(i), name, strlen(name)))
					pick(i, s, &list, &nlist, &cap);
	}
	reply_map(r->c, (long long)nlist);
	for (size_t k = 0; k < nlist; k++) {
		lathist_get(list[k], s); /* a CONFIG RESETSTAT since may have emptied it */
		reply_cdf(r->c, list[k], s);
	}
	free(list);
	free(s);
}

static void latency_help(struct cmd_req *r)
{
	static const char *const lines[] = {
	    "DOCTOR",
	    "    Return a human readable latency analysis report.",
	    "GRAPH <event>",
	    "    Return an ASCII latency graph for the <event> class.",
	    "HISTORY <event>",
	    "    Return time-latency samples for the <event> class.",
	    "LATEST",
	    "    Return the latest latency samples for all events.",
	    "RESET [<event> ...]",
	    "    Reset latency data of one or more <event> classes.",
	    "    (default: reset all data for all event classes)",
	    "HISTOGRAM [COMMAND ...]",
	    "    Return a cumulative distribution of latencies in the format of a histogram for "
	    "the specified command names.",
	    "    If no commands are specified then all histograms are replied.",
	    NULL,
	};

	cmd_reply_help(r, lines);
}

/* ---- WAIT, ROLE, LOLWUT ---------------------------------------------------- */

static void wait_cmd(struct cmd_req *r)
{
	long long replicas, timeout;

	if (!cmd_arg_ll(r, 1, &replicas))
		return;
	if (!resp_str2ll(r->argv[2], r->argl[2], &timeout)) {
		reply_error(r->c, "ERR timeout is not an integer or out of range");
		return;
	}
	if (timeout < 0) {
		reply_error(r->c, "ERR timeout is negative");
		return;
	}
	/* Redis 7.0 adds the time to a positive timeout without an overflow check */
	reply_int(r->c, 0); /* replicas that acknowledged: kvsd has none */
}

static void role_cmd(struct cmd_req *r)
{
	reply_array(r->c, 3);
	reply_bulk_cstr(r->c, "master");
	reply_int(r->c, 0);
	reply_array(r->c, 0);
}

/*
 * LOLWUT [VERSION v] [args]: Redis 7.0 reads v as a long and prints it as
 * "%u.0.0" (so it wraps like an unsigned int); 5 draws Schotter (columns,
 * squares per row, per column), 6 the skyline (columns, rows), anything
 * else prints the version line only.
 */
static void lolwut_cmd(struct cmd_req *r)
{
	static const char text[] = "Redis ver. " OBS_REDIS_VERSION "\n";
	long long ver = 7, a[3] = {0, 0, 0};
	int first = 1, nargs;
	unsigned v;
	size_t len;
	char *art;

	if (r->argc >= 3 && cmd_arg_is(r, 1, "version")) {
		if (!cmd_arg_ll(r, 2, &ver))
			return;
		first = 3;
	}
	v = (unsigned)ver;
	if (v != 5 && v != 6) {
		reply_verbatim(r->c, text, sizeof(text) - 1);
		return;
	}
	nargs = v == 5 ? 3 : 2;
	for (int j = 0; j < nargs && first + j < r->argc; j++)
		if (!cmd_arg_ll(r, first + j, &a[j]))
			return;
	if (v == 5)
		art = lolwut_schotter(
		    r->ctx, first < r->argc ? (long)a[0] : 66, first + 1 < r->argc ? (long)a[1] : 8,
		    first + 2 < r->argc ? (long)a[2] : 12, OBS_REDIS_VERSION, &len);
	else
		art =
		    lolwut_skyline(r->ctx, first < r->argc ? (long)a[0] : 80,
				   first + 1 < r->argc ? (long)a[1] : 20, OBS_REDIS_VERSION, &len);
	reply_verbatim(r->c, art, len);
	mem_free(art);
}

/* ---- the table ------------------------------------------------------------- */

#define LAT_FLAGS (CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE)

static const struct cmd_def latency_subcmds[] = {
    {"latency|doctor", latency_doctor, 2, LAT_FLAGS, 0, 0, 0, "admin slow dangerous", "server",
     "Return a human readable latency analysis report.", "2.8.13", "O(1)", NULL},
    {"latency|graph", latency_graph, 3, LAT_FLAGS, 0, 0, 0, "admin slow dangerous", "server",
     "Return a latency graph for the event.", "2.8.13", "O(1)", NULL},
    {"latency|help", latency_help, 2, CMD_LOADING | CMD_STALE, 0, 0, 0, "slow", "server",
     "Show helpful text about the different subcommands.", "2.8.13", "O(1)", NULL},
    {"latency|histogram", latency_histogram, -2, LAT_FLAGS, 0, 0, 0, "admin slow dangerous",
     "server", "Return the cumulative distribution of latencies of a subset of commands or all.",
     "7.0.0", "O(N) where N is the number of commands with latency information being retrieved.",
     NULL},
    {"latency|history", latency_history, 3, LAT_FLAGS, 0, 0, 0, "admin slow dangerous", "server",
     "Return timestamp-latency samples for the event.", "2.8.13", "O(1)", NULL},
    {"latency|latest", latency_latest, 2, LAT_FLAGS, 0, 0, 0, "admin slow dangerous", "server",
     "Return the latest latency samples for all events.", "2.8.13", "O(1)", NULL},
    {"latency|reset", latency_reset_cmd, -2, LAT_FLAGS, 0, 0, 0, "admin slow dangerous", "server",
     "Reset latency data for one or more events.", "2.8.13", "O(1)", NULL},
    {NULL},
};

const struct cmd_def cmd_obs_table[] = {
    {"latency", container_arity, -2, 0, 0, 0, 0, "slow", "server",
     "A container for latency diagnostics commands", "2.8.13", "Depends on subcommand.",
     latency_subcmds},
    {"lolwut", lolwut_cmd, -1, CMD_READONLY | CMD_FAST, 0, 0, 0, "read fast", "server",
     "Display some computer art and the Redis version", "5.0.0", NULL, NULL},
    {"memory", container_arity, -2, 0, 0, 0, 0, "slow", "server",
     "A container for memory diagnostics commands", "4.0.0", "Depends on subcommand.",
     cmd_memory_subcmds},
    {"role", role_cmd, 1, CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_FAST, 0, 0, 0,
     "admin fast dangerous", "server",
     "Return the role of the instance in the context of replication", "2.8.12", "O(1)", NULL},
    {"wait", wait_cmd, 3, CMD_NOSCRIPT, 0, 0, 0, "slow connection", "generic",
     "Wait for the synchronous replication of all the write commands sent in the context of "
     "the current connection",
     "3.0.0", "O(1)", NULL},
    {NULL},
};
