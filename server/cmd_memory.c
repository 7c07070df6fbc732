/*
 * cmd_memory.c — MEMORY STATS / USAGE / DOCTOR / MALLOC-STATS / PURGE / HELP.
 *
 * MEMORY STATS answers Redis 7.0's map, field for field and in its order,
 * with kvsd's own figures: allocated bytes are concurrency/mem.c's count of
 * what kvsd allocated (Redis's zmalloc_used), the allocator.* fields are
 * jemalloc's stats.allocated / active / resident (zeros when jemalloc is not
 * linked, as in sanitizer builds), RSS is /proc's. Figures kvsd does not
 * have are the zeros of a server without them: no replication backlog,
 * replicas, cluster links, AOF, Lua or functions. kvsd does not yet measure
 * its clients' buffers (clients.normal) nor the map's own table apart from
 * its entries (db.0's overhead.hashtable.main), so those read 0 and the bytes
 * count towards dataset.bytes.
 */
#include "concurrency/mem.h"
#include "net/conn.h"
#include "net/reply.h"
#include "server/cmd.h"
#include "storage/db.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* mem_used() when the server started taking commands (Redis's
 * startup.allocated); set by cmd_memory_startup(). */
static int64_t startup_allocated;

void cmd_memory_startup(void);
void cmd_memory_startup(void)
{
	startup_allocated = mem_used();
}

static void kv_int(struct conn *c, const char *k, long long v)
{
	reply_bulk_cstr(c, k);
	reply_int(c, v);
}

static void kv_double(struct conn *c, const char *k, double v)
{
	reply_bulk_cstr(c, k);
	reply_double(c, v);
}

static void memory_stats(struct cmd_req *r)
{
	struct conn *c = r->c;
	struct mem_allocator_stats a;
	int64_t used = mem_used(), peak = mem_peak(), rss = mem_rss();
	long long keys = db_size(db_plain(r->db));
	int64_t overhead = startup_allocated,
		net_usage = used > startup_allocated ? used - startup_allocated : 0;
	int64_t dataset = used > overhead ? used - overhead : 0;

	if (mem_allocator_stats(&a) != 0) {
		/* no jemalloc: what kvsd itself allocated and the process's RSS */
		a.allocated = a.active = used;
		a.resident = rss;
	}
	/* Redis: 27 fields, plus one map per database holding keys */
	reply_map(c, 27 + (keys > 0));
	kv_int(c, "peak.allocated", peak);
	kv_int(c, "total.allocated", used);
	kv_int(c, "startup.allocated", startup_allocated);
	kv_int(c, "replication.backlog", 0);
	kv_int(c, "clients.slaves", 0);
	kv_int(c, "clients.normal", 0);
	kv_int(c, "cluster.links", 0);
	kv_int(c, "aof.buffer", 0);
	kv_int(c, "lua.caches", 0);
	kv_int(c, "functions.caches", 0);
	if (keys > 0) {
		reply_bulk_cstr(c, "db.0");
		reply_map(c, 3);
		kv_int(c, "overhead.hashtable.main", 0);
		kv_int(c, "overhead.hashtable.expires", 0);
		kv_int(c, "overhead.hashtable.slot-to-keys", 0);
	}
	kv_int(c, "overhead.total", overhead);
	kv_int(c, "keys.count", keys);
	kv_int(c, "keys.bytes-per-key", keys ? net_usage / keys : 0);
	kv_int(c, "dataset.bytes", dataset);
	kv_double(c, "dataset.percentage",
		  net_usage ? (double)dataset * 100.0 / (double)net_usage : 0.0);
	kv_double(c, "peak.percentage", peak ? (double)used * 100.0 / (double)peak : 0.0);
	kv_int(c, "allocator.allocated", a.allocated);
	kv_int(c, "allocator.active", a.active);
	kv_int(c, "allocator.resident", a.resident);
	kv_double(c, "allocator-fragmentation.ratio",
		  a.allocated ? (double)a.active / (double)a.allocated : 0.0);
	kv_int(c, "allocator-fragmentation.bytes", a.active - a.allocated);
	kv_double(c, "allocator-rss.ratio", a.active ? (double)a.resident / (double)a.active : 0.0);
	kv_int(c, "allocator-rss.bytes", a.resident - a.active);
	kv_double(c, "rss-overhead.ratio", a.resident ? (double)rss / (double)a.resident : 0.0);
	kv_int(c, "rss-overhead.bytes", rss - a.resident);
	kv_double(c, "fragmentation", used ? (double)rss / (double)used : 0.0);
	kv_int(c, "fragmentation.bytes", rss - used);
}

/* ---- MEMORY -------------------------------------------------------------- */

static void memory_usage(struct cmd_req *r)
{
	long long samples, n;

	/* SAMPLES only matters for nested values; kvsd's are strings */
	for (int j = 3; j < r->argc; j++) {
		if (cmd_arg_is(r, j, "samples") && j + 1 < r->argc) {
			if (!cmd_arg_ll(r, j + 1, &samples))
				return;
			if (samples < 0) {
				cmd_reply_syntax_error(r);
				return;
			}
			j++;
		} else {
			cmd_reply_syntax_error(r);
			return;
		}
	}
	n = db_key_memory(r->view, r->argv[2], r->argl[2], r->now_ms);
	if (n < 0)
		reply_null(r->c);
	else
		reply_int(r->c, n);
}

static void memory_doctor(struct cmd_req *r)
{
	/* Redis's verdicts for an instance too small to judge, and for one with
	 * no finding; kvsd has no fragmentation or buffer analysis yet */
	const char *msg =
	    mem_used() < 5 * 1024 * 1024
		? "Hi Sam, this instance is empty or is using very little memory, my issues "
		  "detector can't be used in these conditions. Please, leave for your mission on "
		  "Earth and fill it with some data. The new Sam and I will be back to our "
		  "programming as soon as I finished rebooting.\n"
		: "Hi Sam, I can't find any memory issue in your instance. I can only account for "
		  "what occurs on this base.\n";

	reply_verbatim(r->c, msg, strlen(msg));
}

/* jemalloc's arena purge, as Redis's jemalloc_purge(); other allocators: OK */
static void memory_purge(struct cmd_req *r)
{
	if (mem_purge() == -EIO)
		reply_error(r->c, "ERR Error purging dirty pages");
	else
		reply_ok(r->c);
}

static void memory_malloc_stats(struct cmd_req *r)
{
	size_t len;
	char *text = mem_malloc_stats_text(&len);

	if (text == NULL) {
		const char *msg = "Stats not supported for the current allocator";

		reply_verbatim(r->c, msg, strlen(msg));
		return;
	}
	reply_verbatim(r->c, text, len);
	mem_free(text);
}

static void memory_help(struct cmd_req *r)
{
	static const char *const lines[] = {
	    "DOCTOR",
	    "    Return memory problems reports.",
	    "MALLOC-STATS",
	    "    Return internal statistics report from the memory allocator.",
	    "PURGE",
	    "    Attempt to purge dirty pages for reclamation by the allocator.",
	    "STATS",
	    "    Return information about the memory usage of the server.",
	    "USAGE <key> [SAMPLES <count>]",
	    "    Return memory in bytes used by <key> and its value. Nested values are",
	    "    sampled up to <count> times (default: 5, 0 means sample all).",
	    NULL,
	};

	cmd_reply_help(r, lines);
}

/* The MEMORY container's rows (cmd_obs.c's table holds the container). */
const struct cmd_def cmd_memory_subcmds[] = {
    {"memory|doctor", memory_doctor, 2, 0, 0, 0, 0, "slow", "server",
     "Outputs memory problems report", "4.0.0", "O(1)", NULL},
    {"memory|help", memory_help, 2, CMD_LOADING | CMD_STALE, 0, 0, 0, "slow", "server",
     "Show helpful text about the different subcommands", "4.0.0", "O(1)", NULL},
    {"memory|malloc-stats", memory_malloc_stats, 2, 0, 0, 0, 0, "slow", "server",
     "Show allocator internal stats", "4.0.0",
     "Depends on how much memory is allocated, could be slow", NULL},
    {"memory|purge", memory_purge, 2, 0, 0, 0, 0, "slow", "server",
     "Ask the allocator to release memory", "4.0.0",
     "Depends on how much memory is allocated, could be slow", NULL},
    {"memory|stats", memory_stats, 2, 0, 0, 0, 0, "slow", "server", "Show memory usage details",
     "4.0.0", "O(1)", NULL},
    {"memory|usage", memory_usage, -3, CMD_READONLY, 2, 2, 1, "read slow", "server",
     "Estimate the memory usage of a key", "4.0.0", "O(N) where N is the number of samples.", NULL},
    {NULL},
};
