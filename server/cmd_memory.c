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
 * its entries (db.N's overhead.hashtable.main), so those read 0 and the bytes
 * count towards dataset.bytes.
 */
#include "concurrency/mem.h"
#include "net/conn.h"
#include "net/reply.h"
#include "server/cmd.h"
#include "storage/coll.h"
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
	int ndb = db_databases(r->db), nonempty = 0;
	long long keys = 0, dbkeys[DB_COUNT_MAX];
	int64_t overhead = startup_allocated,
		net_usage = used > startup_allocated ? used - startup_allocated : 0;
	int64_t dataset = used > overhead ? used - overhead : 0;

	if (mem_allocator_stats(&a) != 0) {
		/* no jemalloc: what kvsd itself allocated and the process's RSS */
		a.allocated = a.active = used;
		a.resident = rss;
	}
	for (int i = 0; i < ndb; i++) {
		struct db_view v;

		db_view_init(r->db, i, &v);
		dbkeys[i] = db_size(&v);
		keys += dbkeys[i];
		nonempty += dbkeys[i] > 0;
	}
	/* Redis: 27 fields, plus one map per database holding keys */
	reply_map(c, 27 + nonempty);
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
	for (int i = 0; i < ndb; i++) {
		char name[16];

		if (dbkeys[i] <= 0)
			continue;
		snprintf(name, sizeof(name), "db.%d", i);
		reply_bulk_cstr(c, name);
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
	long long samples = 5, n; /* OBJ_COMPUTE_SIZE_DEF_SAMPLES */

	/* SAMPLES: how many elements of a hash, set or sorted set the type's
	 * estimate looks at (0: all), as objectComputeSize */
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
	if (n >= 0) {
		/* a typed value owns more than its entry: its type's estimate */
		const struct kv_entry *e =
		    db_lookup_notouch(r->view, r->argv[2], r->argl[2], r->now_ms, NULL, 0);
		const struct coll_type_ops *ops = e ? coll_ops(kv_entry_type(e)) : NULL;

		if (ops && ops->memory)
			n += (long long)ops->memory(e, samples);
	}
	if (n < 0)
		reply_null(r->c);
	else
		reply_int(r->c, n);
}

/*
 * Redis's getMemoryDoctorReport(), on the figures MEMORY STATS reports:
 * under 5 MB allocated the instance is "empty"; otherwise a peak over 150%
 * of what is allocated, and each fragmentation / RSS ratio over its bound
 * with more than 10 MB behind it, is a finding. (Replica buffers, client
 * buffers and Lua scripts, Redis's other findings, kvsd does not have or
 * measure.)
 */
static void memory_doctor(struct cmd_req *r)
{
	struct mem_allocator_stats a;
	int64_t used = mem_used(), peak = mem_peak(), rss = mem_rss();
	int empty = 0, big_peak = 0, frag = 0, alloc_frag = 0, alloc_rss = 0, proc_rss = 0;
	char *out;
	size_t len = 0, cap = 8192; /* the longest report is under 3 KB */

	if (mem_allocator_stats(&a) != 0) {
		a.allocated = a.active = used;
		a.resident = rss;
	}
	if (used < 5 * 1024 * 1024) {
		empty = 1;
	} else {
		big_peak = (float)peak / (float)used > 1.5;
		frag = (float)rss / (float)used > 1.4 && rss - used > 10 << 20;
		alloc_frag = a.allocated && (float)a.active / (float)a.allocated > 1.1 &&
			     a.active - a.allocated > 10 << 20;
		alloc_rss = a.active && (float)a.resident / (float)a.active > 1.1 &&
			    a.resident - a.active > 10 << 20;
		proc_rss = a.resident && (float)rss / (float)a.resident > 1.1 &&
			   rss - a.resident > 10 << 20;
	}
	out = mem_alloc(cap);
#define CAT(...) (len += (size_t)snprintf(out + len, cap - len, __VA_ARGS__))
	if (empty) {
		CAT("Hi Sam, this instance is empty or is using very little memory, my issues "
		    "detector can't be used in these conditions. Please, leave for your mission on "
		    "Earth and fill it with some data. The new Sam and I will be back to our "
		    "programming as soon as I finished rebooting.\n");
	} else if (!big_peak && !frag && !alloc_frag && !alloc_rss && !proc_rss) {
		CAT("Hi Sam, I can't find any memory issue in your instance. I can only account "
		    "for "
		    "what occurs on this base.\n");
	} else {
		CAT("Sam, I detected a few issues in this Redis instance memory implants:\n\n");
		if (big_peak)
			CAT(" * Peak memory: In the past this instance used more than 150%% the "
			    "memory "
			    "that is currently using. The allocator is normally not able to "
			    "release "
			    "memory after a peak, so you can expect to see a big fragmentation "
			    "ratio, "
			    "however this is actually harmless and is only due to the memory peak, "
			    "and "
			    "if the Redis instance Resident Set Size (RSS) is currently bigger "
			    "than "
			    "expected, the memory will be used as soon as you fill the Redis "
			    "instance "
			    "with more data. If the memory peak was only occasional and you want "
			    "to try "
			    "to reclaim memory, please try the MEMORY PURGE command, otherwise the "
			    "only "
			    "other option is to shutdown and restart the instance.\n\n");
		if (frag)
			CAT(" * High total RSS: This instance has a memory fragmentation and RSS "
			    "overhead greater than 1.4 (this means that the Resident Set Size of "
			    "the "
			    "Redis process is much larger than the sum of the logical allocations "
			    "Redis "
			    "performed). This problem is usually due either to a large peak memory "
			    "(check if there is a peak memory entry above in the report) or may "
			    "result "
			    "from a workload that causes the allocator to fragment memory a lot. "
			    "If the "
			    "problem is a large peak memory, then there is no issue. Otherwise, "
			    "make "
			    "sure you are using the Jemalloc allocator and not the default libc "
			    "malloc. "
			    "Note: The currently used allocator is \"%s\".\n\n",
			    mem_allocator_name());
		if (alloc_frag)
			CAT(" * High allocator fragmentation: This instance has an allocator "
			    "external "
			    "fragmentation greater than 1.1. This problem is usually due either to "
			    "a "
			    "large peak memory (check if there is a peak memory entry above in the "
			    "report) or may result from a workload that causes the allocator to "
			    "fragment memory a lot. You can try enabling 'activedefrag' config "
			    "option.\n\n");
		if (alloc_rss)
			CAT(" * High allocator RSS overhead: This instance has an RSS memory "
			    "overhead "
			    "is greater than 1.1 (this means that the Resident Set Size of the "
			    "allocator is much larger than the sum what the allocator actually "
			    "holds). "
			    "This problem is usually due to a large peak memory (check if there is "
			    "a "
			    "peak memory entry above in the report), you can try the MEMORY PURGE "
			    "command to reclaim it.\n\n");
		if (proc_rss)
			CAT(" * High process RSS overhead: This instance has non-allocator RSS "
			    "memory "
			    "overhead is greater than 1.1 (this means that the Resident Set Size "
			    "of the "
			    "Redis process is much larger than the RSS the allocator holds). This "
			    "problem may be due to Lua scripts or Modules.\n\n");
		CAT("I'm here to keep you safe, Sam. I want to help you.\n");
	}
#undef CAT
	reply_verbatim(r->c, out, len);
	mem_free(out);
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
