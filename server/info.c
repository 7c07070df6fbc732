/*
 * info.c — INFO sections: server, clients, memory, persistence, stats,
 * replication, cpu, commandstats, cluster, keyspace and kvsd's own `# Kvsd`,
 * with Redis 7.0's field names and formats so redis-cli --stat, exporters
 * and client libraries parse them. Persistence and replication report the
 * honest zeros of a server that has neither; commandstats (not in the
 * default set, as in Redis) comes from cmdstat.c's per-thread counters.
 */
#include "server/script.h"
#include "server/aof.h"
#include "server/info.h"
#include "server/cluster.h"
#include "server/blocking.h"
#include "concurrency/clock.h"
#include "concurrency/lend.h"
#include "concurrency/mem.h"
#include "kvsd_build.h"
#include "net/net.h"
#include "server/cmdstat.h"
#include "server/config.h"
#include "server/errorstats.h"
#include "server/lathist.h"
#include "server/persist_srv.h"
#include "server/pubsub.h"
#include "server/server.h"
#include "server/strutil.h"
#include "server/tracking.h"
#include "storage/coll.h"
#include "storage/db.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#define SAMPLES 16

static pthread_mutex_t sample_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t samples_ops[SAMPLES], samples_in[SAMPLES], samples_out[SAMPLES];
static int sample_idx;
static int64_t last_sample_ms;
static uint64_t last_ops, last_in, last_out;

struct sb {
	char *p;
	size_t len, cap;
};

static void sb_printf(struct sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(struct sb *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		b->cap = b->cap * 2 + (size_t)(n > 0 ? n : 0) + 256;
		b->p = mem_realloc(b->p, b->cap);
	}
}

static void human(char *out, size_t size, double n)
{
	const char *u = "B";

	if (n >= 1024.0 * 1024 * 1024 * 1024) {
		n /= 1024.0 * 1024 * 1024 * 1024;
		u = "T";
	} else if (n >= 1024.0 * 1024 * 1024) {
		n /= 1024.0 * 1024 * 1024;
		u = "G";
	} else if (n >= 1024.0 * 1024) {
		n /= 1024.0 * 1024;
		u = "M";
	} else if (n >= 1024.0) {
		n /= 1024.0;
		u = "K";
	}
	if (u[0] == 'B')
		snprintf(out, size, "%lluB", (unsigned long long)n);
	else
		snprintf(out, size, "%.2f%s", n, u);
}

void info_cron(void)
{
	struct net_stats s;
	int64_t now;

	now = clock_mono_ms();
	pthread_mutex_lock(&sample_lock);
	if (now - last_sample_ms >= 100) {
		int64_t dt = last_sample_ms ? now - last_sample_ms : 0;

		net_get_stats(&s);
		if (dt > 0) {
			samples_ops[sample_idx] =
			    (s.commands_processed - last_ops) * 1000 / (uint64_t)dt;
			samples_in[sample_idx] =
			    (s.net_input_bytes - last_in) * 1000 / (uint64_t)dt;
			samples_out[sample_idx] =
			    (s.net_output_bytes - last_out) * 1000 / (uint64_t)dt;
			sample_idx = (sample_idx + 1) % SAMPLES;
		}
		last_ops = s.commands_processed;
		last_in = s.net_input_bytes;
		last_out = s.net_output_bytes;
		last_sample_ms = now;
	}
	pthread_mutex_unlock(&sample_lock);
}

static void inst(uint64_t *ops, double *in_kbps, double *out_kbps)
{
	uint64_t o = 0, i = 0, w = 0;

	pthread_mutex_lock(&sample_lock);
	for (int k = 0; k < SAMPLES; k++) {
		o += samples_ops[k];
		i += samples_in[k];
		w += samples_out[k];
	}
	pthread_mutex_unlock(&sample_lock);
	*ops = o / SAMPLES;
	*in_kbps = (double)i / SAMPLES / 1024.0;
	*out_kbps = (double)w / SAMPLES / 1024.0;
}

static int want(const char *name, const char *const *secs, const size_t *lens, int n, int dflt)
{
	if (n == 0)
		return dflt;
	for (int i = 0; i < n; i++) {
		if (su_word_is(secs[i], lens[i], "all") ||
		    su_word_is(secs[i], lens[i], "everything"))
			return 1;
		if (su_word_is(secs[i], lens[i], "default") && dflt)
			return 1;
		if (su_word_is(secs[i], lens[i], name))
			return 1;
	}
	return 0;
}

static void sec_server(struct sb *b, struct db *db)
{
	const struct server_info *si = server_info();
	struct utsname un;
	int64_t now_us = clock_wall_us(), now = now_us / 1000;
	char *cf;

	(void)db;
	uname(&un);
	cf = (char *)(si->config_file ? si->config_file : "");
	sb_printf(b,
		  "# Server\r\nredis_version:" INFO_REDIS_VERSION "\r\nredis_git_sha1:00000000\r\n"
		  "redis_git_dirty:0\r\nredis_build_id:0\r\nredis_mode:%s\r\n"
		  "os:%s %s %s\r\narch_bits:%d\r\nmonotonic_clock:POSIX clock_gettime\r\n"
		  "multiplexing_api:epoll\r\natomicvar_api:c11-builtin\r\ngcc_version:%d.%d.%d\r\n"
		  "process_id:%d\r\nprocess_supervised:no\r\nrun_id:%s\r\ntcp_port:%d\r\n"
		  "server_time_usec:%lld\r\nuptime_in_seconds:%lld\r\nuptime_in_days:%lld\r\n"
		  "hz:%lld\r\nconfigured_hz:%lld\r\nlru_clock:%lld\r\nexecutable:%s\r\n"
		  "config_file:%s\r\nio_threads_active:0\r\n"
		  "kvsd_version:%s\r\n",
		  cluster_on ? "cluster" : "standalone", un.sysname, un.release, un.machine,
		  (int)(sizeof(long) * 8),
#ifdef __GNUC__
		  __GNUC__, __GNUC_MINOR__, __GNUC_PATCHLEVEL__,
#else
		  0, 0, 0,
#endif
		  (int)getpid(), si->run_id, net_tcp_port(), (long long)now_us,
		  (long long)((now - si->start_ms) / 1000),
		  (long long)((now - si->start_ms) / 86400000), cfg_int(CFG_HZ), cfg_int(CFG_HZ),
		  (long long)((now / 1000) & ((1 << 24) - 1)), si->executable, cf, KVSD_VERSION);
}

static void sec_clients(struct sb *b, struct db *db)
{
	struct net_stats s;

	(void)db;
	net_get_stats(&s);
	sb_printf(b,
		  "# Clients\r\nconnected_clients:%ld\r\ncluster_connections:0\r\n"
		  "maxclients:%lld\r\nclient_recent_max_input_buffer:0\r\n"
		  "client_recent_max_output_buffer:0\r\nblocked_clients:%ld\r\n"
		  "tracking_clients:%ld\r\nclients_in_timeout_table:%ld\r\n",
		  s.connected_clients, cfg_int(CFG_MAXCLIENTS), blk_blocked_clients(),
		  trk_nclients(), blk_timeout_clients());
}

static void sec_memory(struct sb *b, struct db *db)
{
	int64_t used = mem_used(), rss = mem_rss(), peak = mem_peak();
	long long maxmem = cfg_int(CFG_MAXMEMORY);
	const char *policy = cfg_enum_name(CFG_MAXMEMORY_POLICY);
	char h1[32], h2[32], h3[32], h4[32], h5[32], hl[32], hs[32];
	long long lua = script_lua_memory(), scr = script_cached_bytes(),
		  nscr = script_cached_count();
	long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
	long long total = pages > 0 && psize > 0 ? (long long)pages * psize : 0;

	(void)db;
	human(h1, sizeof(h1), (double)used);
	human(h2, sizeof(h2), (double)rss);
	human(h3, sizeof(h3), (double)peak);
	human(h4, sizeof(h4), (double)maxmem);
	human(h5, sizeof(h5), (double)total);
	human(hl, sizeof(hl), (double)lua);
	human(hs, sizeof(hs), (double)scr);
	sb_printf(b,
		  "# Memory\r\nused_memory:%lld\r\nused_memory_human:%s\r\n"
		  "used_memory_rss:%lld\r\nused_memory_rss_human:%s\r\n"
		  "used_memory_peak:%lld\r\nused_memory_peak_human:%s\r\n"
		  "used_memory_peak_perc:%.2f%%\r\n"
		  "used_memory_dataset:%lld\r\nallocator_allocated:%lld\r\n"
		  "total_system_memory:%lld\r\ntotal_system_memory_human:%s\r\n"
		  "used_memory_lua:%lld\r\nused_memory_vm_eval:%lld\r\nused_memory_lua_human:%s\r\n"
		  "used_memory_scripts_eval:%lld\r\nnumber_of_cached_scripts:%lld\r\n"
		  "number_of_functions:%lld\r\nused_memory_vm_functions:0\r\n"
		  "used_memory_vm_total:%lld\r\nused_memory_vm_total_human:%s\r\n"
		  "used_memory_functions:0\r\nused_memory_scripts:%lld\r\n"
		  "used_memory_scripts_human:%s\r\n"
		  "maxmemory:%lld\r\nmaxmemory_human:%s\r\nmaxmemory_policy:%s\r\n"
		  "mem_fragmentation_ratio:%.2f\r\nmem_fragmentation_bytes:%lld\r\n"
		  "mem_not_counted_for_evict:0\r\nmem_replication_backlog:0\r\n"
		  "mem_clients_slaves:0\r\nmem_aof_buffer:0\r\nmem_allocator:%s\r\n"
		  "active_defrag_running:0\r\nlazyfree_pending_objects:%lld\r\n"
		  "lazyfreed_objects:0\r\n",
		  (long long)used, h1, (long long)rss, h2, (long long)peak, h3,
		  peak > 0 ? (double)used * 100.0 / (double)peak : 0.0, (long long)used,
		  (long long)mem_jemalloc_allocated(), total, h5, lua, lua, hl, scr, nscr,
		  script_func_count(false), lua, hl, scr, hs, maxmem, h4,
		  policy ? policy : "noeviction", used > 0 ? (double)rss / (double)used : 0.0,
		  (long long)(rss - used), mem_allocator_name(), coll_lazyfree_pending());
}

static void sec_persistence(struct sb *b, struct db *db)
{
	char buf[2048];

	(void)db;
	psrv_info(buf, sizeof(buf));
	sb_printf(b, "%s", buf);
}

static void sec_stats(struct sb *b, struct db *db)
{
	struct net_stats s;
	struct db_stats d;
	uint64_t ops;
	double in_k, out_k;

	net_get_stats(&s);
	db_get_stats(db, &d);
	inst(&ops, &in_k, &out_k);
	sb_printf(
	    b,
	    "# Stats\r\ntotal_connections_received:%llu\r\ntotal_commands_processed:%llu\r\n"
	    "instantaneous_ops_per_sec:%llu\r\ntotal_net_input_bytes:%llu\r\n"
	    "total_net_output_bytes:%llu\r\ninstantaneous_input_kbps:%.2f\r\n"
	    "instantaneous_output_kbps:%.2f\r\nrejected_connections:%llu\r\n"
	    "expired_keys:%llu\r\nexpired_stale_perc:%.2f\r\n"
	    "expired_time_cap_reached_count:%llu\r\nexpire_cycle_cpu_milliseconds:%llu\r\n"
	    "evicted_keys:%llu\r\nevicted_clients:0\r\ntotal_eviction_exceeded_time:0\r\n"
	    "current_eviction_exceeded_time:0\r\n"
	    "keyspace_hits:%llu\r\nkeyspace_misses:%llu\r\n"
	    "pubsub_channels:%ld\r\npubsub_patterns:%ld\r\npubsubshard_channels:%ld\r\n"
	    "latest_fork_usec:0\r\n"
	    "total_forks:0\r\ntracking_total_keys:%ld\r\ntracking_total_items:%ld\r\n"
	    "tracking_total_prefixes:%ld\r\nunexpected_error_replies:0\r\n"
	    "total_error_replies:%llu\r\n",
	    (unsigned long long)s.connections_received, (unsigned long long)s.commands_processed,
	    (unsigned long long)ops, (unsigned long long)s.net_input_bytes,
	    (unsigned long long)s.net_output_bytes, in_k, out_k,
	    (unsigned long long)s.rejected_connections, (unsigned long long)d.expired_keys,
	    d.expired_stale_perc, (unsigned long long)d.expired_time_cap_reached,
	    (unsigned long long)(d.expire_cycle_us / 1000), (unsigned long long)d.evicted_keys,
	    (unsigned long long)d.hits, (unsigned long long)d.misses, pubsub_nchannels(),
	    pubsub_npatterns(), pubsub_nshard_channels(), trk_nkeys(), trk_nitems(),
	    trk_nprefixes(), (unsigned long long)s.error_replies);
}

static void sec_replication(struct sb *b, struct db *db)
{
	(void)db;
	sb_printf(b,
		  "# Replication\r\nrole:master\r\nconnected_slaves:0\r\n"
		  "master_failover_state:no-failover\r\nmaster_replid:%s\r\n"
		  "master_replid2:0000000000000000000000000000000000000000\r\n"
		  "master_repl_offset:0\r\nsecond_repl_offset:-1\r\n"
		  "repl_backlog_active:0\r\nrepl_backlog_size:1048576\r\n"
		  "repl_backlog_first_byte_offset:0\r\nrepl_backlog_histlen:0\r\n",
		  server_info()->run_id);
}

static void sec_cpu(struct sb *b, struct db *db)
{
	struct rusage self, ch;

	(void)db;
	getrusage(RUSAGE_SELF, &self);
	getrusage(RUSAGE_CHILDREN, &ch);
	sb_printf(b,
		  "# CPU\r\nused_cpu_sys:%ld.%06ld\r\nused_cpu_user:%ld.%06ld\r\n"
		  "used_cpu_sys_children:%ld.%06ld\r\nused_cpu_user_children:%ld.%06ld\r\n",
		  (long)self.ru_stime.tv_sec, (long)self.ru_stime.tv_usec,
		  (long)self.ru_utime.tv_sec, (long)self.ru_utime.tv_usec, (long)ch.ru_stime.tv_sec,
		  (long)ch.ru_stime.tv_usec, (long)ch.ru_utime.tv_sec, (long)ch.ru_utime.tv_usec);
}

static void sec_keyspace(struct sb *b, struct db *db)
{
	struct db_stats d;

	db_get_stats(db, &d);
	sb_printf(b, "# Keyspace\r\n");
	/* a line per non-empty database, as Redis; avg_ttl is the keyspace's
	 * sampled average (active expiry samples all databases together) */
	for (int i = 0; i < db_databases(db); i++) {
		long long keys = db_size_of(db, i), expires = db_expires_of(db, i);

		if (keys > 0)
			sb_printf(b, "db%d:keys=%lld,expires=%lld,avg_ttl=%lld\r\n", i, keys,
				  expires, expires ? d.avg_ttl_ms : 0);
	}
}

static void cmdstat_line(const char *name, const struct cmdstat_row *r, void *arg)
{
	sb_printf(arg,
		  "cmdstat_%s:calls=%llu,usec=%llu,usec_per_call=%.2f,rejected_calls=%llu,"
		  "failed_calls=%llu\r\n",
		  name, (unsigned long long)r->calls, (unsigned long long)r->usec,
		  r->calls ? (double)r->usec / (double)r->calls : 0.0,
		  (unsigned long long)r->rejected, (unsigned long long)r->failed);
}

static void sec_commandstats(struct sb *b, struct db *db)
{
	(void)db;
	sb_printf(b, "# Commandstats\r\n");
	cmdstat_foreach(cmdstat_line, b);
}

/* errorstats.c's and lathist.c's bodies under their headers */
static void sec_text(struct sb *b, const char *head, char *(*gen)(size_t *len))
{
	size_t len;
	char *s = gen(&len);

	sb_printf(b, "%s%.*s", head, (int)len, s);
	mem_free(s);
}

static void sec_errorstats(struct sb *b, struct db *db)
{
	(void)db;
	sec_text(b, "# Errorstats\r\n", errorstats_info);
}

static void sec_latencystats(struct sb *b, struct db *db)
{
	(void)db;
	sec_text(b, "# Latencystats\r\n", lathist_info);
}

static void sec_cluster(struct sb *b, struct db *db)
{
	(void)db;
	sb_printf(b, "# Cluster\r\ncluster_enabled:%d\r\n", cluster_on ? 1 : 0);
}

static void sec_kvsd(struct sb *b, struct db *db)
{
	struct net_stats s;
	struct db_stats d;
	char *map = cfg_format(CFG_MAP);

	net_get_stats(&s);
	db_get_stats(db, &d);
	sb_printf(b,
		  "# Kvsd\r\nkvsd_version:%s\r\nmap:%s\r\nworkers:%d\r\n"
		  "ebr_epoch:%llu\r\nebr_limbo_bytes:%lld\r\nexpire_cycles:%llu\r\n"
		  "expire_cycle_avg_us:%llu\r\n",
		  KVSD_VERSION, map ? map : "", s.workers, (unsigned long long)kvmap_epoch(),
		  (long long)kvmap_pending_bytes(), (unsigned long long)d.expire_cycles,
		  (unsigned long long)(d.expire_cycles ? d.expire_cycle_us / d.expire_cycles : 0));
	sb_printf(b, "txn_conflicts:%llu\r\ntxn_exclusive_runs:%llu\r\n",
		  (unsigned long long)d.txn_conflicts, (unsigned long long)d.txn_exclusive);
	sb_printf(b, "put_cas_retries:%llu\r\nput_hot_fallbacks:%llu\r\n",
		  (unsigned long long)d.put_retries, (unsigned long long)d.hot_fallbacks);
	free(map);
	/* issue 15: loans of a worker's core to a starving BGSAVE / AOF rewrite
	 * thread (concurrency/lend.h): loans, loans it used, loans that overran
	 * (2x), their total time, the thread's CPU time during them, and its
	 * CPU time while it wanted lending (loans and idle time); the loans'
	 * granted lengths, the wall time it wanted lending, its system CPU time
	 * and preemptions then (lend.h, struct lend_stats) */
	for (int k = 0; k < LEND_KINDS; k++) {
		const char *p = k == LEND_RDB ? "rdb_saver" : "aof_rewrite";
		struct lend_stats l;

		lend_stats((enum lend_kind)k, &l);
		sb_printf(b, "%s_lends:%llu\r\n%s_lends_used:%llu\r\n%s_lends_overrun:%llu\r\n", p,
			  (unsigned long long)l.lends, p, (unsigned long long)l.used, p,
			  (unsigned long long)l.overrun);
		sb_printf(b, "%s_lent_us:%llu\r\n%s_lent_cpu_us:%llu\r\n%s_cpu_us:%llu\r\n", p,
			  (unsigned long long)(l.lent_ns / 1000), p,
			  (unsigned long long)(l.lent_cpu_ns / 1000), p,
			  (unsigned long long)(l.cpu_ns / 1000));
		sb_printf(b,
			  "%s_asked_us:%llu\r\n%s_wanted_us:%llu\r\n%s_sys_us:%llu\r\n"
			  "%s_preempted:%llu\r\n",
			  p, (unsigned long long)(l.asked_ns / 1000), p,
			  (unsigned long long)(l.want_ns / 1000), p,
			  (unsigned long long)(l.sys_ns / 1000), p,
			  (unsigned long long)l.preempted);
	}
	{
		/* issue 15: the AOF's group commit (aof.h, aof_group_info) */
		char t[1024];

		if (aof_group_info(t, sizeof(t)))
			sb_printf(b, "%s", t);
	}
	/* scheduler, per worker (work-stealing issue) */
	for (int i = 0; i < net_workers(); i++) {
		struct net_worker_stats w;

		if (net_worker_stats(i, &w) == 0)
			sb_printf(
			    b,
			    "worker%d:tasks=%llu,steals=%llu,failed_steals=%llu,parks=%llu,"
			    "wakeups=%llu,polled_by_guest=%llu,guest_polls=%llu,"
			    "defer_overdue=%llu,naps=%llu,lookaheads=%llu,peeked=%llu,"
			    "lookaheads_used=%llu,handoffs=%llu,flood_polls=%llu\r\n",
			    i, (unsigned long long)w.tasks, (unsigned long long)w.steals,
			    (unsigned long long)w.failed_steals, (unsigned long long)w.parks,
			    (unsigned long long)w.wakeups, (unsigned long long)w.polled_by_guest,
			    (unsigned long long)w.guest_polls, (unsigned long long)w.defer_overdue,
			    (unsigned long long)w.naps, (unsigned long long)w.lookaheads,
			    (unsigned long long)w.peeked, (unsigned long long)w.lookaheads_used,
			    (unsigned long long)w.handoffs, (unsigned long long)w.flood_polls);
		/* its system calls by kind (CPU per request, issue 19) */
		if (net_worker_stats(i, &w) == 0)
			sb_printf(
			    b,
			    "worker%d_io:reads=%llu,reads_eagain=%llu,writes=%llu,"
			    "writes_eagain=%llu,polls=%llu,reads_skipped=%llu,ring=%llu,"
			    "ring_submits=%llu,ring_sends=%llu,ring_reads=%llu\r\n",
			    i, (unsigned long long)w.reads, (unsigned long long)w.reads_eagain,
			    (unsigned long long)w.writes, (unsigned long long)w.writes_eagain,
			    (unsigned long long)w.polls, (unsigned long long)w.reads_skipped,
			    (unsigned long long)w.ring, (unsigned long long)w.ring_submits,
			    (unsigned long long)w.ring_sends, (unsigned long long)w.ring_reads);
	}
}

char *info_generate(struct db *db, const char *const *secs, const size_t *lens, int n, size_t *len)
{
	static const struct {
		const char *name;
		int dflt; /* part of INFO without arguments / "default" */
		void (*gen)(struct sb *b, struct db *db);
	} order[] = {
	    {"server", 1, sec_server},
	    {"clients", 1, sec_clients},
	    {"memory", 1, sec_memory},
	    {"persistence", 1, sec_persistence},
	    {"stats", 1, sec_stats},
	    {"replication", 1, sec_replication},
	    {"cpu", 1, sec_cpu},
	    {"commandstats", 0, sec_commandstats},
	    {"errorstats", 1, sec_errorstats},
	    {"latencystats", 0, sec_latencystats},
	    {"cluster", 1, sec_cluster},
	    {"keyspace", 1, sec_keyspace},
	    {"kvsd", 1, sec_kvsd},
	};
	struct sb b = {mem_alloc(4096), 0, 4096};

	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		if (!want(order[i].name, secs, lens, n, order[i].dflt))
			continue;
		if (b.len)
			sb_printf(&b, "\r\n");
		order[i].gen(&b, db);
	}
	*len = b.len;
	return b.p;
}
