/*
 * config_table.c — the one config table: a row per parameter with its type,
 * default, bounds, flags, description, parser and apply function.
 *
 * As in Redis's config.c (createIntConfig("hz", ..., updateHZ)), a row says
 * everything about its parameter: the engine in config.c loads, sets, gets
 * and rewrites it from the row alone, and after CONFIG SET stores a value the
 * row's apply function hands it to the module that owns it (net/, storage/,
 * the log). Bounds are not literals here: each comes from the module that
 * owns the limit (NET_*, DB_*, SLOWLOG_*), so proto-max-bulk-len, for one,
 * can never exceed what storage can hold (DB_STRING_MAX).
 *
 * Rows without an apply function are immutable (or protected) at run time;
 * tests/unit/server/test_config.c walks the table to check that every row
 * has bounds (or an enum / a parser, or is free text) and an apply function
 * (or is immutable), and that conf/kvsd.conf says the same.
 *
 * Threads: apply functions run on the thread that called cfg_set* (a worker
 * running CONFIG SET, or the main thread at start-up); they read values back
 * with cfg_int / cfg_str_*. The engine serialises CONFIG SETs, so two never
 * apply concurrently.
 */
#include "concurrency/lend.h"
#include "concurrency/mem.h"
#include "net/net.h"
#include "server/config.h"
#include "server/aof.h"
#include "server/config_internal.h"
#include "server/hll.h"
#include "server/log.h"
#include "server/notify.h"
#include "server/slowlog.h"
#include "server/strutil.h"
#include "server/tracking.h"
#include "storage/coll.h"
#include "storage/db.h"

#include <ctype.h>
#include <stdbool.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* In the order of enum cfg_loglevel, which is enum log_level's. */
static const char *const loglevel_names[] = {"debug", "verbose", "notice", "warning", NULL};
_Static_assert((int)CFG_LOG_DEBUG == (int)LOG_DEBUG && (int)CFG_LOG_WARNING == (int)LOG_WARNING,
	       "loglevel values are the log's levels");
/* Map implementations selectable at start-up; kvsd's own map is added here. */
static const char *const map_names[] = {"kvsd", "urcu", NULL};
/* In the order of enum aof_fsync (server/aof.h). */
static const char *const appendfsync_names[] = {"always", "everysec", "no", NULL};
/* In the order of enum db_policy (storage/db.h), which is Redis's (its
 * CONFIG SET error lists them so). */
static const char *const maxmemory_policy_names[] = {
    "volatile-lru",   "volatile-lfu", "volatile-random",
    "volatile-ttl",   "allkeys-lru",  "allkeys-lfu",
    "allkeys-random", "noeviction",   NULL};
/* In the order of enum cfg_protected. */
static const char *const protected_names[] = {"no", "yes", "local", NULL};
/* In the order of enum net_assign (net/net_internal.h). */
static const char *const conn_assign_names[] = {"round-robin", "least-loaded", "single", NULL};

static char *dup_bytes(const char *s, size_t len, size_t *outlen)
{
	char *d = malloc(len + 1);

	if (!d)
		abort();
	memcpy(d, s, len);
	d[len] = '\0';
	if (outlen)
		*outlen = len;
	return d;
}

/* ---------------------------------------------------------------- parsers */

/* bind: at most NET_BIND_MAX addresses, stored space-separated; a single empty
 * argument (bind "") is no address. Addresses are checked when bound. */
static char *parse_bind(char *const *argv, const size_t *lens, int argc, const char *cur,
			size_t *outlen, char *why, size_t whylen)
{
	size_t total = 0, pos = 0;
	char *s;

	(void)cur;
	if (argc > NET_BIND_MAX) {
		snprintf(why, whylen, "Too many bind addresses specified.");
		return NULL;
	}
	for (int k = 0; k < argc; k++)
		total += lens[k] + 1;
	s = malloc(total + 1);
	if (!s)
		abort();
	for (int k = 0; k < argc; k++) {
		if (k)
			s[pos++] = ' ';
		memcpy(s + pos, argv[k], lens[k]);
		pos += lens[k];
	}
	s[pos] = '\0';
	*outlen = pos;
	return s;
}

/*
 * latency-tracking-info-percentiles: Redis's parsing (each space-separated
 * word a double as string2d reads it, within [0, 100]; a single "" is the
 * empty list) and CONFIG GET's form (each as "%f" with trailing zeros and
 * a trailing point trimmed, joined by spaces).
 */
static char *parse_percentiles(char *const *argv, const size_t *lens, int argc, const char *cur,
			       size_t *outlen, char *why, size_t whylen)
{
	char *out = malloc((size_t)argc * 64 + 1);
	size_t pos = 0;

	(void)cur;
	if (!out)
		abort();
	out[0] = '\0';
	*outlen = 0;
	if (argc == 0 || (argc == 1 && lens[0] == 0))
		return out;
	for (int k = 0; k < argc; k++) {
		char buf[64], *end;
		double d;
		int n;

		if (lens[k] == 0 || lens[k] >= sizeof(buf) || isspace((unsigned char)argv[k][0]) ||
		    isspace((unsigned char)argv[k][lens[k] - 1])) {
			snprintf(why, whylen,
				 "Invalid latency-tracking-info-percentiles parameters");
			goto bad;
		}
		memcpy(buf, argv[k], lens[k]);
		buf[lens[k]] = '\0';
		errno = 0;
		d = strtod(buf, &end);
		if (*end != '\0' || errno == ERANGE || isnan(d)) {
			snprintf(why, whylen,
				 "Invalid latency-tracking-info-percentiles parameters");
			goto bad;
		}
		if (d > 100.0 || d < 0.0) {
			snprintf(why, whylen,
				 "latency-tracking-info-percentiles parameters should sit between "
				 "[0.0,100.0]");
			goto bad;
		}
		n = snprintf(out + pos, 64, "%s%f", k ? " " : "", d);
		if (memchr(out + pos, '.', (size_t)n)) {
			while (out[pos + (size_t)n - 1] == '0')
				n--;
			if (out[pos + (size_t)n - 1] == '.')
				n--;
		}
		pos += (size_t)n;
		out[pos] = '\0';
	}
	*outlen = pos;
	return out;
bad:
	free(out);
	return NULL;
}

/* dir: entered at once, as Redis does; "" stays where kvsd is. */
static char *parse_dir(char *const *argv, const size_t *lens, int argc, const char *cur,
		       size_t *outlen, char *why, size_t whylen)
{
	(void)cur;
	(void)argc;
	if (lens[0] && chdir(argv[0]) != 0) {
		snprintf(why, whylen, "%s", strerror(errno));
		return NULL;
	}
	return dup_bytes(argv[0], lens[0], outlen);
}

/*
 * save: Redis's setConfigSaveOption. A single "" is no rule; otherwise an
 * even number of words, seconds >= 1 and changes >= 0 (strtoll, the whole
 * word). CONFIG SET replaces the rules; in a config file (and argv) the
 * first `save` line replaces the default and later lines add to it.
 * Stored as CONFIG GET prints it: the pairs joined by spaces.
 */
static char *parse_save(char *const *argv, const size_t *lens, int argc, const char *cur,
			size_t *outlen, char *why, size_t whylen)
{
	bool append = cur && cfg_load_repeat(CFG_SAVE) && cur[0];
	size_t cap = (cur && append ? strlen(cur) : 0) + 1, pos = 0;
	char *out;

	if (argc == 1 && lens[0] == 0) {
		/* "" clears every rule, in a file too */
		argc = 0;
		append = false;
	}
	for (int k = 0; k < argc; k++)
		cap += lens[k] + 24;
	if (argc & 1) {
		snprintf(why, whylen, "Invalid save parameters");
		return NULL;
	}
	out = malloc(cap);
	if (!out)
		abort();
	if (append)
		pos = (size_t)snprintf(out, cap, "%s", cur);
	out[pos] = '\0';
	for (int k = 0; k < argc; k++) {
		char *z = dup_bytes(argv[k], lens[k], NULL), *end;
		long long v = strtoll(z, &end, 10);
		bool bad = *end != '\0' || ((k & 1) == 0 && v < 1) || ((k & 1) == 1 && v < 0);

		free(z);
		if (bad) {
			free(out);
			snprintf(why, whylen, "Invalid save parameters");
			return NULL;
		}
		pos += (size_t)snprintf(out + pos, cap - pos, "%s%lld", pos ? " " : "", v);
	}
	*outlen = pos;
	return out;
}

/* notify-keyspace-events: Redis's setConfigNotifyKeyspaceEventsOption; stored
 * as CONFIG GET prints it (keyspaceEventsFlagsToString). */
static char *parse_notify(char *const *argv, const size_t *lens, int argc, const char *cur,
			  size_t *outlen, char *why, size_t whylen)
{
	char *out;

	(void)cur;
	if (argc == 0) { /* "" */
		out = malloc(1);
		if (!out)
			abort();
		out[0] = '\0';
		*outlen = 0;
		return out;
	}
	if (argc != 1) {
		snprintf(why, whylen, "wrong number of arguments");
		return NULL;
	}
	out = malloc(16);
	if (!out)
		abort();
	*outlen = ntf_config_parse(argv[0], lens[0], out);
	if (*outlen == (size_t)-1) {
		free(out);
		snprintf(why, whylen, "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.");
		return NULL;
	}
	return out;
}

/* dbfilename: Redis's isValidDBfilename (a file name, not a path). */
static char *parse_dbfilename(char *const *argv, const size_t *lens, int argc, const char *cur,
			      size_t *outlen, char *why, size_t whylen)
{
	(void)cur;
	(void)argc;
	if (memchr(argv[0], '/', lens[0]) != NULL) {
		snprintf(why, whylen, "dbfilename can't be a path, just a filename");
		return NULL;
	}
	return dup_bytes(argv[0], lens[0], outlen);
}

/* client-output-buffer-limit, per class: Redis's three classes and defaults. */
enum { OBUF_NORMAL, OBUF_REPLICA, OBUF_PUBSUB, OBUF_CLASSES };
struct obuf_limit {
	unsigned long long hard, soft;
	int secs;
};
static const char *const obuf_names[OBUF_CLASSES] = {"normal", "slave", "pubsub"};
static const struct obuf_limit obuf_defaults[OBUF_CLASSES] = {
    {0, 0, 0}, {256ULL << 20, 64ULL << 20, 60}, {32ULL << 20, 8ULL << 20, 60}};

/* The three classes of a value parse_obuf() produced (CONFIG GET's form). */
static int obuf_read(const char *s, struct obuf_limit l[OBUF_CLASSES])
{
	return sscanf(s, "normal %llu %llu %d slave %llu %llu %d pubsub %llu %llu %d", &l[0].hard,
		      &l[0].soft, &l[0].secs, &l[1].hard, &l[1].soft, &l[1].secs, &l[2].hard,
		      &l[2].soft, &l[2].secs) == 9
		   ? 0
		   : -1;
}

/*
 * Redis's updateClientOutputBufferLimit(): words in fours, <class> <hard>
 * <soft> <soft-seconds>; class normal, replica (or slave) or pubsub (master
 * is refused); hard and soft memtoull (units, no sign), seconds strtoll into
 * an int that must not be negative. Classes not named keep their values.
 * All or nothing; the result is CONFIG GET's form, bytes and "slave".
 */
static char *parse_obuf(char *const *argv, const size_t *lens, int argc, const char *cur,
			size_t *outlen, char *why, size_t whylen)
{
	struct obuf_limit l[OBUF_CLASSES];
	char buf[256];
	int n;

	if (argc % 4) {
		snprintf(why, whylen, "Wrong number of arguments in buffer limit configuration.");
		return NULL;
	}
	memcpy(l, obuf_defaults, sizeof(l));
	if (cur && obuf_read(cur, l) != 0)
		memcpy(l, obuf_defaults, sizeof(l));
	for (int j = 0; j < argc; j += 4) {
		int cls = su_word_is(argv[j], lens[j], "normal") ? OBUF_NORMAL
			  : su_word_is(argv[j], lens[j], "slave") ||
				  su_word_is(argv[j], lens[j], "replica")
			      ? OBUF_REPLICA
			  : su_word_is(argv[j], lens[j], "pubsub") ? OBUF_PUBSUB
								   : -1;
		long long hard, soft, ll;
		char *end;

		if (cls < 0) {
			snprintf(why, whylen,
				 "Invalid client class specified in buffer limit configuration.");
			return NULL;
		}
		/* The words are NUL-terminated (split results), as Redis's sds. */
		errno = 0;
		ll = strtoll(argv[j + 3], &end, 10);
		if (!su_memtoll(argv[j + 1], &hard) || !su_memtoll(argv[j + 2], &soft) ||
		    *end != '\0' || (int)(unsigned)(unsigned long long)ll < 0) {
			snprintf(why, whylen,
				 "Error in hard, soft or soft_seconds setting in buffer limit "
				 "configuration.");
			return NULL;
		}
		/* su_memtoll wraps as memtoull does: the bits are the unsigned value */
		l[cls].hard = (unsigned long long)hard;
		l[cls].soft = (unsigned long long)soft;
		/* Redis stores strtoll's result in an int */
		l[cls].secs = (int)(unsigned)(unsigned long long)ll;
	}
	n = snprintf(buf, sizeof(buf), "%s %llu %llu %d %s %llu %llu %d %s %llu %llu %d",
		     obuf_names[0], l[0].hard, l[0].soft, l[0].secs, obuf_names[1], l[1].hard,
		     l[1].soft, l[1].secs, obuf_names[2], l[2].hard, l[2].soft, l[2].secs);
	return dup_bytes(buf, (size_t)n, outlen);
}

/* hz: any value in bounds is accepted and clamped, as Redis's updateHZ(). */
static int check_hz(long long *v, char *why, size_t whylen)
{
	(void)why;
	(void)whylen;
	*v = *v < NET_HZ_MIN ? NET_HZ_MIN : *v > NET_HZ_MAX ? NET_HZ_MAX : *v;
	return 0;
}

/* ------------------------------------------------------------ apply functions */

/* bind and port: listen on the new addresses / port (Redis's applyBind and
 * updatePort, with their reasons); the log says why it failed. */
static int listen_again(const char *fail, char *why, size_t whylen)
{
	char *bind = cfg_str_dup(CFG_BIND), err[256] = "";
	int rc = net_listen_tcp(bind, (int)cfg_int(CFG_PORT), err, sizeof(err));

	free(bind);
	if (rc == 0)
		return 0;
	LOG(LOG_WARNING, "%s", err);
	snprintf(why, whylen, "%s", fail);
	return -1;
}

static int apply_bind(char *why, size_t whylen)
{
	return listen_again("Failed to bind to specified addresses.", why, whylen);
}

static int apply_port(char *why, size_t whylen)
{
	return listen_again("Unable to listen on this port. Check server logs.", why, whylen);
}

static int apply_protected_mode(char *why, size_t whylen)
{
	(void)why;
	(void)whylen;
	net_set_protected_mode(cfg_int(CFG_PROTECTED_MODE) &&
			       cfg_str_equal(CFG_REQUIREPASS, "", 0));
	return 0;
}

static int apply_tcp_keepalive(char *why, size_t whylen)
{
	(void)why;
	(void)whylen;
	net_set_tcp_keepalive((long)cfg_int(CFG_TCP_KEEPALIVE)); /* new connections */
	return 0;
}

static int apply_worker_nap(char *why, size_t whylen)
{
	(void)why;
	(void)whylen;
	net_set_worker_nap_us((long)cfg_int(CFG_WORKER_NAP_US));
	return 0;
}

static int apply_worker_pipeline_nap(char *why, size_t whylen)
{
	(void)why;
	(void)whylen;
	net_set_worker_pipeline_nap_us((long)cfg_int(CFG_WORKER_PIPELINE_NAP_US));
	return 0;
}

static int apply_timeout(char *why, size_t whylen)
{
	(void)why;
	(void)whylen;
	net_set_timeout((long)cfg_int(CFG_TIMEOUT));
	return 0;
}

/* As Redis's updateMaxclients(): the descriptors for that many clients must
 * be available (the soft limit is raised up to the hard one), else the value
 * is refused, naming the most that works. */
static int apply_maxclients(char *why, size_t whylen)
{
	long long want = cfg_int(CFG_MAXCLIENTS);
	long long fit = net_fd_limit_clients(want, (int)cfg_int(CFG_THREADS));

	if (fit < want) {
		snprintf(why, whylen,
			 "The operating system is not able to handle the specified number of "
			 "clients, try with %lld",
			 fit > 0 ? fit : 0);
		return -1;
	}
	net_set_maxclients((long)want);
	return 0;
}

static int apply_loglevel(char *why, size_t whylen)
{
	(void)why;
	(void)whylen;
	log_set_level((int)cfg_int(CFG_LOGLEVEL));
	return 0;
}

static int apply_proto_max_bulk_len(char *why, size_t whylen)
{
	(void)why;
	(void)whylen;
	net_set_max_bulk(cfg_int(CFG_PROTO_MAX_BULK_LEN)); /* the request parser's limit */
	return 0;
}

static int apply_query_buffer_limit(char *why, size_t whylen)
{
	(void)why;
	(void)whylen;
	net_set_query_limit(cfg_int(CFG_CLIENT_QUERY_BUFFER_LIMIT));
	return 0;
}

static int apply_hz(char *why, size_t whylen)
{
	(void)why;
	(void)whylen;
	net_set_hz((int)cfg_int(CFG_HZ)); /* every worker's cron, from now on */
	return 0;
}

static int apply_maxmemory(char *why, size_t whylen)
{
	struct db *db = cfg_apply_db();

	(void)why;
	(void)whylen;
	if (db)
		db_set_memory_policy(db, cfg_int(CFG_MAXMEMORY),
				     (enum db_policy)cfg_int(CFG_MAXMEMORY_POLICY),
				     (int)cfg_int(CFG_MAXMEMORY_SAMPLES));
	return 0;
}

static int apply_eviction_tenacity(char *why, size_t whylen)
{
	struct db *db = cfg_apply_db();

	(void)why;
	(void)whylen;
	if (db)
		db_set_eviction_tenacity(db, (int)cfg_int(CFG_MAXMEMORY_EVICTION_TENACITY));
	return 0;
}

static int apply_work_stealing(char *why, size_t whylen)
{
	(void)why;
	(void)whylen;
	net_set_work_stealing((int)cfg_int(CFG_WORK_STEALING));
	return 0;
}

static int apply_conn_assign(char *why, size_t whylen)
{
	(void)why;
	(void)whylen;
	net_set_conn_assign((int)cfg_int(CFG_CONN_ASSIGN));
	return 0;
}

static int apply_run_budget(char *why, size_t whylen)
{
	(void)why;
	(void)whylen;
	net_set_run_budget((long)cfg_int(CFG_RUN_BUDGET_COMMANDS));
	return 0;
}

/* The normal class applies in net/, the pubsub class to subscribers'
 * queued messages (pubsub.h); the replica class is kept for CONFIG GET /
 * REWRITE until kvsd has replicas. */
static int apply_output_buffer_limit(char *why, size_t whylen)
{
	char *s = cfg_str_dup(CFG_CLIENT_OUTPUT_BUFFER_LIMIT);
	struct obuf_limit l[OBUF_CLASSES];
	int rc = obuf_read(s, l);

	free(s);
	if (rc != 0) { /* the parser wrote it: cannot happen */
		snprintf(why, whylen,
			 "Error in hard, soft or soft_seconds setting in buffer "
			 "limit configuration.");
		return -1;
	}
	net_set_output_limit(
	    l[OBUF_NORMAL].hard > NET_OUTPUT_LIMIT_MAX ? NET_OUTPUT_LIMIT_MAX
						       : (long long)l[OBUF_NORMAL].hard,
	    l[OBUF_NORMAL].soft > NET_OUTPUT_LIMIT_MAX ? NET_OUTPUT_LIMIT_MAX
						       : (long long)l[OBUF_NORMAL].soft,
	    l[OBUF_NORMAL].secs);
	net_set_pubsub_output_limit(
	    l[OBUF_PUBSUB].hard > NET_OUTPUT_LIMIT_MAX ? NET_OUTPUT_LIMIT_MAX
						       : (long long)l[OBUF_PUBSUB].hard,
	    l[OBUF_PUBSUB].soft > NET_OUTPUT_LIMIT_MAX ? NET_OUTPUT_LIMIT_MAX
						       : (long long)l[OBUF_PUBSUB].soft,
	    l[OBUF_PUBSUB].secs);
	return 0;
}

static int apply_output_pause_limit(char *why, size_t whylen)
{
	(void)why;
	(void)whylen;
	net_set_output_pause_limit(cfg_int(CFG_CLIENT_OUTPUT_PAUSE_LIMIT));
	return 0;
}

/*
 * Rows whose consumer reads the value with cfg_int() each time it acts, so a
 * stored value is in effect from its next use: the slow log thresholds (each
 * command), active-expire-effort (each cron), shutdown-timeout (when a
 * shutdown starts). Nothing to hand over.
 */
static int apply_read_at_use(char *why, size_t whylen)
{
	(void)why;
	(void)whylen;
	return 0;
}

/* The encoding thresholds of hashes, sets and sorted sets: storage reads
 * them (coll_limit) each time a write decides an encoding. */
static int apply_coll_limits(char *why, size_t whylen)
{
	(void)why;
	(void)whylen;
	coll_set_limit(COLL_HASH_MAX_ENTRIES, cfg_int(CFG_HASH_MAX_LISTPACK_ENTRIES));
	coll_set_limit(COLL_HASH_MAX_VALUE, cfg_int(CFG_HASH_MAX_LISTPACK_VALUE));
	coll_set_limit(COLL_SET_MAX_INTSET, cfg_int(CFG_SET_MAX_INTSET_ENTRIES));
	coll_set_limit(COLL_ZSET_MAX_ENTRIES, cfg_int(CFG_ZSET_MAX_LISTPACK_ENTRIES));
	coll_set_limit(COLL_ZSET_MAX_VALUE, cfg_int(CFG_ZSET_MAX_LISTPACK_VALUE));
	coll_set_limit(COLL_LIST_MAX_SIZE, cfg_int(CFG_LIST_MAX_LISTPACK_SIZE));
	coll_set_limit(COLL_LIST_COMPRESS, cfg_int(CFG_LIST_COMPRESS_DEPTH));
	return 0;
}

/* appendonly: at start-up aof_setup reads it; at run time the AOF is
 * switched on (a rewrite writes its base) or off, as Redis's
 * updateAppendonly (server/aof.h, "Switching"). */
static int apply_appendonly(char *why, size_t whylen)
{
	return aof_set_appendonly(cfg_int(CFG_APPENDONLY) != 0, why, whylen);
}

static int apply_appendfsync(char *why, size_t whylen)
{
	(void)why;
	(void)whylen;
	aof_set_fsync((enum aof_fsync)cfg_int(CFG_APPENDFSYNC));
	return 0;
}

static int apply_aof_group_wait(char *why, size_t whylen)
{
	(void)why;
	(void)whylen;
	aof_set_group_wait(cfg_int(CFG_AOF_GROUP_WAIT_US));
	return 0;
}

static int apply_bgsave_cpu(char *why, size_t whylen)
{
	(void)why;
	(void)whylen;
	lend_set_share((int)cfg_int(CFG_BGSAVE_CPU_PERCENT));
	lend_set_slice_us((int)cfg_int(CFG_BGSAVE_CPU_SLICE_US));
	return 0;
}

static int apply_auto_aof_rewrite(char *why, size_t whylen)
{
	(void)why;
	(void)whylen;
	aof_set_auto_rewrite(cfg_int(CFG_AUTO_AOF_REWRITE_PERCENTAGE),
			     cfg_int(CFG_AUTO_AOF_REWRITE_MIN_SIZE));
	return 0;
}

/* appendfilename / appenddirname: a file name, as Redis's isValidAOFfilename
 * (and isValidAOFdirname): no path separators. */
static char *parse_aof_name(char *const *argv, const size_t *lens, int argc, const char *cur,
			    size_t *outlen, char *why, size_t whylen)
{
	(void)cur;
	if (argc != 1 || lens[0] == 0 || memchr(argv[0], '/', lens[0]) ||
	    (lens[0] <= 2 && argv[0][0] == '.' && (lens[0] == 1 || argv[0][1] == '.'))) {
		snprintf(why, whylen, "appendfilename can't be a path, just a filename");
		return NULL;
	}
	return dup_bytes(argv[0], lens[0], outlen);
}

/* ---------------------------------------------------------------- the table */

const struct cfg_def cfg_rows[CFG_COUNT_] = {
    [CFG_BIND] = {"bind", CFG_T_STRING, "127.0.0.1", 0, 0, NULL, CFG_MULTIARG,
		  "Addresses to listen on for TCP, separated by spaces (at most 16). An empty "
		  "list (bind \"\") listens on no TCP address.",
		  .parse = parse_bind, .apply = apply_bind},
    [CFG_PORT] = {"port", CFG_T_INT, "6379", 0, NET_PORT_MAX, NULL, 0,
		  "TCP port to accept connections on; 0 disables TCP (with a unixsocket; "
		  "without one, a free port is chosen).",
		  .apply = apply_port},
    [CFG_UNIXSOCKET] = {"unixsocket", CFG_T_STRING, "", 0, 0, NULL, CFG_IMMUTABLE | CFG_FREE_TEXT,
			"Path of a Unix domain socket to listen on; empty for none."},
    [CFG_UNIXSOCKETPERM] = {"unixsocketperm", CFG_T_INT, "0", 0, NET_UNIXSOCKETPERM_MAX, NULL,
			    CFG_IMMUTABLE | CFG_OCTAL,
			    "Permissions of the Unix socket, in octal (e.g. 700); 0 keeps the "
			    "umask's."},
    [CFG_PROTECTED_MODE] = {"protected-mode", CFG_T_BOOL, "yes", 0, 1, NULL, 0,
			    "When yes and no requirepass is set, only loopback clients may "
			    "connect (as Redis).",
			    .apply = apply_protected_mode},
    [CFG_TCP_BACKLOG] = {"tcp-backlog", CFG_T_INT, "511", 0, NET_BACKLOG_MAX, NULL, CFG_IMMUTABLE,
			 "listen() backlog (the kernel caps it at net.core.somaxconn)."},
    [CFG_TCP_KEEPALIVE] = {"tcp-keepalive", CFG_T_INT, "300", 0, NET_SECONDS_MAX, NULL, 0,
			   "Seconds between TCP keepalive probes to idle clients; 0 disables "
			   "them.",
			   .apply = apply_tcp_keepalive},
    [CFG_TIMEOUT] = {"timeout", CFG_T_INT, "0", 0, NET_SECONDS_MAX, NULL, 0,
		     "Close a client after it has been idle this many seconds; 0 never.",
		     .apply = apply_timeout},
    [CFG_THREADS] = {"threads", CFG_T_INT, "0", 0, NET_THREADS_MAX, NULL, CFG_IMMUTABLE,
		     "Worker threads serving connections; 0 means one per online CPU."},
    [CFG_MAXCLIENTS] = {"maxclients", CFG_T_INT, "10000", NET_MAXCLIENTS_MIN, NET_MAXCLIENTS_MAX,
			NULL, 0,
			"Maximum simultaneous clients; further connections get \"-ERR max "
			"number of clients reached\". Refused beyond what the open files "
			"limit allows.",
			.apply = apply_maxclients},
    [CFG_REQUIREPASS] = {"requirepass", CFG_T_STRING, "", 0, 0, NULL, CFG_SENSITIVE | CFG_FREE_TEXT,
			 "Password clients must give with AUTH; empty disables "
			 "authentication.",
			 .apply = apply_protected_mode},
    [CFG_LOGLEVEL] = {"loglevel", CFG_T_ENUM, "notice", 0, 0, loglevel_names, 0,
		      "Log verbosity: debug, verbose, notice or warning.", .apply = apply_loglevel},
    [CFG_LOGFILE] = {"logfile", CFG_T_STRING, "", 0, 0, NULL, CFG_IMMUTABLE | CFG_FREE_TEXT,
		     "File to log to; empty logs to standard output."},
    [CFG_PROTO_MAX_BULK_LEN] = {"proto-max-bulk-len", CFG_T_MEMORY, "512mb", NET_BULK_LEN_MIN,
				DB_STRING_MAX, NULL, 0,
				"Largest bulk string a client may send, and the largest string "
				"APPEND / SETRANGE may build, in bytes (memory units allowed; "
				"1mb up to what storage holds, 1gb - 1).",
				.apply = apply_proto_max_bulk_len},
    [CFG_CLIENT_QUERY_BUFFER_LIMIT] = {"client-query-buffer-limit", CFG_T_MEMORY, "1gb",
				       NET_QUERY_LIMIT_MIN, NET_QUERY_LIMIT_MAX, NULL, 0,
				       "Largest unparsed input a client may accumulate, in "
				       "bytes; over it the client is closed (at least 1mb).",
				       .apply = apply_query_buffer_limit},
    [CFG_HZ] = {"hz", CFG_T_INT, "10", 0, NET_HZ_ACCEPT_MAX, NULL, 0,
		"Frequency of background tasks (idle timeouts, expiry sampling) per second; "
		"values outside 1-500 are clamped into it, as Redis does.",
		.check = check_hz, .apply = apply_hz},
    [CFG_DATABASES] = {"databases", CFG_T_INT, "16", 1, DB_COUNT_MAX, NULL, CFG_IMMUTABLE,
		       "Number of databases (SELECT 0 to databases-1), as Redis; at most "
		       "DB_COUNT_MAX (128)."},
    [CFG_MAP] = {"map", CFG_T_ENUM, "kvsd", 0, 0, map_names, CFG_IMMUTABLE,
		 "Hash map implementation behind the key space: kvsd (kvsd's own lock-free map) "
		 "or urcu (liburcu's cds_lfht, the reference)."},
    [CFG_DIR] = {"dir", CFG_T_STRING, "", 0, 0, NULL, CFG_PROTECTED,
		 "Working directory, entered at start-up (files such as the pidfile are "
		 "relative to it); empty keeps the directory kvsd was started in. CONFIG GET "
		 "dir reports the current working directory.",
		 .parse = parse_dir},
    [CFG_DBFILENAME] = {"dbfilename", CFG_T_STRING, "dump.rdb", 0, 0, NULL, CFG_PROTECTED,
			"The RDB file's name, in dir: SAVE, BGSAVE and shutdown write it, "
			"start-up loads it.",
			.parse = parse_dbfilename},
    [CFG_RDBCOMPRESSION] = {"rdbcompression", CFG_T_BOOL, "yes", 0, 1, NULL, 0,
			    "Compress strings longer than 20 bytes with LZF in RDB files.",
			    .apply = apply_read_at_use},
    [CFG_RDBCHECKSUM] = {"rdbchecksum", CFG_T_BOOL, "yes", 0, 1, NULL, CFG_IMMUTABLE,
			 "End RDB files with a CRC-64 and check it at load (no: write zeros, "
			 "check nothing)."},
    [CFG_STOP_WRITES_ON_BGSAVE_ERROR] = {"stop-writes-on-bgsave-error", CFG_T_BOOL, "yes", 0, 1,
					 NULL, 0,
					 "With save rules, refuse writes (and PING) with -MISCONF "
					 "while the last background save failed.",
					 .apply = apply_read_at_use},
    [CFG_PIDFILE] = {"pidfile", CFG_T_STRING, "", 0, 0, NULL, CFG_IMMUTABLE | CFG_FREE_TEXT,
		     "File to write the process id to at start-up; empty for none."},
    [CFG_SAVE] = {"save", CFG_T_STRING, "3600 1 300 100 60 10000", 0, 0, NULL, CFG_MULTIARG,
		  "RDB snapshot points: pairs <seconds> <changes>; a BGSAVE starts when at least "
		  "<changes> writes happened and <seconds> passed since the last save. \"\" "
		  "disables them. With rules, shutdown saves too.",
		  .parse = parse_save, .apply = apply_read_at_use},
    [CFG_APPENDONLY] = {"appendonly", CFG_T_BOOL, "no", 0, 1, NULL, CFG_DENY_LOADING,
			"Append-only file (Redis 7's multi-part directory, appenddirname "
			"inside dir): every write is logged and replayed at start-up. "
			"CONFIG SET yes starts a rewrite whose base is the dataset, "
			"as Redis; no stops appending (fsync, close).",
			.apply = apply_appendonly},
    [CFG_MAXMEMORY] = {"maxmemory", CFG_T_MEMORY, "0", 0, DB_MAXMEMORY_MAX, NULL, 0,
		       "Memory limit for used_memory, in bytes (memory units allowed); 0 means "
		       "no limit. Over it, maxmemory-policy decides.",
		       .apply = apply_maxmemory},
    [CFG_MAXMEMORY_POLICY] = {"maxmemory-policy", CFG_T_ENUM, "noeviction", 0, 0,
			      maxmemory_policy_names, 0,
			      "What to do over maxmemory: noeviction (refuse writes with -OOM), "
			      "allkeys-lru, allkeys-lfu, allkeys-random, volatile-lru, "
			      "volatile-lfu, volatile-random or volatile-ttl.",
			      .apply = apply_maxmemory},
    [CFG_MAXMEMORY_SAMPLES] = {"maxmemory-samples", CFG_T_INT, "5", DB_SAMPLES_MIN, DB_SAMPLES_MAX,
			       NULL, 0,
			       "Keys sampled per eviction by the approximated LRU/LFU/TTL "
			       "policies (kvsd uses at most 64).",
			       .apply = apply_maxmemory},
    [CFG_MAXMEMORY_EVICTION_TENACITY] = {"maxmemory-eviction-tenacity", CFG_T_INT, "10",
					 DB_TENACITY_MIN, DB_TENACITY_MAX, NULL, 0,
					 "How long one eviction pass may run before the command "
					 "goes on over the limit (Redis's scale): 0-10 give "
					 "50 us per step, above 10 each step is 15% longer, "
					 "100 means no limit.",
					 .apply = apply_eviction_tenacity},
    [CFG_ACTIVE_EXPIRE_EFFORT] = {"active-expire-effort", CFG_T_INT, "1", DB_EXPIRE_EFFORT_MIN,
				  DB_EXPIRE_EFFORT_MAX, NULL, 0,
				  "Effort of active expiry, 1-10: more CPU per cycle for fewer "
				  "expired keys left in memory.",
				  .apply = apply_read_at_use},
    [CFG_SLOWLOG_LOG_SLOWER_THAN] = {"slowlog-log-slower-than", CFG_T_INT, "10000",
				     SLOWLOG_SLOWER_THAN_MIN, SLOWLOG_SLOWER_THAN_MAX, NULL, 0,
				     "Commands slower than this many microseconds go to the "
				     "slow log; 0 logs every command, -1 none.",
				     .apply = apply_read_at_use},
    [CFG_SLOWLOG_MAX_LEN] = {"slowlog-max-len", CFG_T_INT, "128", 0, SLOWLOG_LEN_MAX, NULL, 0,
			     "Entries the slow log keeps (the oldest are dropped).",
			     .apply = apply_read_at_use},
    [CFG_WORK_STEALING] = {"work-stealing", CFG_T_BOOL, "yes", 0, 1, NULL, 0,
			   "Idle workers steal scheduled connections from busy ones.",
			   .apply = apply_work_stealing},
    [CFG_IO_URING] = {"io-uring", CFG_T_BOOL, "yes", 0, 1, NULL, CFG_IMMUTABLE,
		      "Each worker sends its connections' replies, and makes their first "
		      "reads, in batches through an io_uring (one system call for many); "
		      "no: one send(2) and one read(2) each."},
    [CFG_WORKER_NAP_US] = {"worker-nap-us", CFG_T_INT, "0", 0, NET_NAP_US_MAX, NULL, 0,
			   "A worker that ran two or more connections since it last waited "
			   "sleeps this long before it waits again, so its next pass finds "
			   "more of them ready: fewer wake-ups and system calls per request, "
			   "up to this much more latency; 0 off.",
			   .apply = apply_worker_nap},
    [CFG_WORKER_PIPELINE_NAP_US] = {"worker-pipeline-nap-us", CFG_T_INT, "10", 0, NET_NAP_US_MAX,
				    NULL, 0,
				    "As worker-nap-us, only after a pass whose connections "
				    "pipelined (4 or more commands per read on average): "
				    "throughput per core for pipelining clients, pipeline-1 "
				    "latency untouched; 0 off.",
				    .apply = apply_worker_pipeline_nap},
    [CFG_CONN_ASSIGN] = {"conn-assign", CFG_T_ENUM, "round-robin", 0, 0, conn_assign_names, 0,
			 "Which worker owns a new connection: round-robin, least-loaded or "
			 "single (all on worker 0).",
			 .apply = apply_conn_assign},
    [CFG_RUN_BUDGET_COMMANDS] = {"run-budget-commands", CFG_T_INT, "64", NET_RUN_BUDGET_MIN,
				 NET_RUN_BUDGET_MAX, NULL, 0,
				 "Commands a connection runs before yielding to others on its "
				 "worker (a run also yields after about 1 ms, whatever this "
				 "says).",
				 .apply = apply_run_budget},
    [CFG_CLIENT_OUTPUT_BUFFER_LIMIT] =
	{"client-output-buffer-limit", CFG_T_STRING,
	 "normal 0 0 0 replica 256mb 64mb 60 pubsub 32mb 8mb 60", 0, 0, NULL, CFG_MULTIARG,
	 "Per class: hard soft soft-seconds. Over hard, or over soft "
	 "for soft-seconds, the client is closed; 0 = no limit.",
	 .parse = parse_obuf, .apply = apply_output_buffer_limit},
    [CFG_CLIENT_OUTPUT_PAUSE_LIMIT] = {"client-output-pause-limit", CFG_T_MEMORY, "1mb", 0,
				       NET_OUTPUT_LIMIT_MAX, NULL, 0,
				       "Stop reading a client whose pending replies exceed this "
				       "many bytes until they drain; 0 never.",
				       .apply = apply_output_pause_limit},
    [CFG_SHUTDOWN_TIMEOUT] = {"shutdown-timeout", CFG_T_INT, "10", 0, NET_SECONDS_MAX, NULL, 0,
			      "Seconds shutdown waits for clients' replies to be flushed.",
			      .apply = apply_read_at_use},
    [CFG_HLL_SPARSE_MAX_BYTES] = {"hll-sparse-max-bytes", CFG_T_MEMORY, "3000", 0,
				  HLL_SPARSE_MAX_MAX, NULL, 0,
				  "Largest sparse HyperLogLog, header included, in bytes; a "
				  "sparse HLL that would grow past it turns dense.",
				  .apply = apply_read_at_use},
    [CFG_LATENCY_MONITOR_THRESHOLD] = {"latency-monitor-threshold", CFG_T_INT, "0", 0, LLONG_MAX,
				       NULL, 0,
				       "Latency monitor: operations taking at least this many "
				       "milliseconds are sampled for LATENCY LATEST / HISTORY; "
				       "0 disables it.",
				       .apply = apply_read_at_use},
    [CFG_LATENCY_TRACKING] = {"latency-tracking", CFG_T_BOOL, "yes", 0, 1, NULL, 0,
			      "Per-command latency histograms for LATENCY HISTOGRAM and INFO "
			      "latencystats.",
			      .apply = apply_read_at_use},
    [CFG_LATENCY_TRACKING_INFO_PERCENTILES] = {"latency-tracking-info-percentiles", CFG_T_STRING,
					       "50 99 99.9", 0, 0, NULL, CFG_MULTIARG,
					       "Percentiles INFO latencystats reports, each "
					       "0-100, separated by spaces.",
					       .parse = parse_percentiles,
					       .apply = apply_read_at_use},
    [CFG_ENABLE_DEBUG_COMMAND] = {"enable-debug-command", CFG_T_ENUM, "no", 0, 0, protected_names,
				  CFG_IMMUTABLE,
				  "Allow the DEBUG command: no, yes, or local (only from the "
				  "loopback or the unix socket)."},
    /* Redis's SIZE_T configs: 0 up to LLONG_MAX; the *-value ones take
     * memory units */
    [CFG_BUSY_REPLY_THRESHOLD] = {"busy-reply-threshold", CFG_T_INT, "5000", 0, LLONG_MAX, NULL, 0,
				  "Milliseconds a script may run before other clients get -BUSY "
				  "and SCRIPT KILL may stop it; 0 = never busy.",
				  .apply = apply_read_at_use, .alias = "lua-time-limit"},
    [CFG_NOTIFY_KEYSPACE_EVENTS] =
	{"notify-keyspace-events", CFG_T_STRING, "", 0, 0, NULL, 0,
	 "Keyspace notifications through Pub/Sub: K (__keyspace@<db>__ "
	 "channels) and/or E (__keyevent@<db>__), with the classes g $ l "
	 "s h z x e t m d n (A = g$lshzxetd); \"\" disables them.",
	 .parse = parse_notify, .apply = ntf_apply},
    [CFG_TRACKING_TABLE_MAX_KEYS] = {"tracking-table-max-keys", CFG_T_INT, "1000000", 0, LLONG_MAX,
				     NULL, 0,
				     "Client tracking: keys the invalidation table holds at most "
				     "(past it, keys are invalidated to make room); 0 = unlimited.",
				     .apply = trk_apply_max_keys},
    [CFG_HASH_MAX_LISTPACK_ENTRIES] = {"hash-max-listpack-entries", CFG_T_INT, "512", 0, LLONG_MAX,
				       NULL, 0,
				       "A hash with at most this many fields (and no value "
				       "longer than hash-max-listpack-value) is stored as a "
				       "listpack; past it, as a hashtable.",
				       .apply = apply_coll_limits,
				       .alias = "hash-max-ziplist-entries"},
    [CFG_HASH_MAX_LISTPACK_VALUE] = {"hash-max-listpack-value", CFG_T_MEMORY, "64", 0, LLONG_MAX,
				     NULL, 0,
				     "Longest field or value, in bytes, a listpack hash holds.",
				     .apply = apply_coll_limits, .alias = "hash-max-ziplist-value"},
    [CFG_SET_MAX_INTSET_ENTRIES] = {"set-max-intset-entries", CFG_T_INT, "512", 0, LLONG_MAX, NULL,
				    0,
				    "A set of at most this many members, all integers, is stored "
				    "as an intset; past it, as a hashtable.",
				    .apply = apply_coll_limits},
    [CFG_ZSET_MAX_LISTPACK_ENTRIES] = {"zset-max-listpack-entries", CFG_T_INT, "128", 0, LLONG_MAX,
				       NULL, 0,
				       "A sorted set with at most this many members (none longer "
				       "than zset-max-listpack-value) is stored as a listpack; "
				       "past it, as a skiplist.",
				       .apply = apply_coll_limits,
				       .alias = "zset-max-ziplist-entries"},
    [CFG_ZSET_MAX_LISTPACK_VALUE] = {"zset-max-listpack-value", CFG_T_MEMORY, "64", 0, LLONG_MAX,
				     NULL, 0,
				     "Longest member, in bytes, a listpack sorted set holds.",
				     .apply = apply_coll_limits, .alias = "zset-max-ziplist-value"},
    /* Redis's INT configs: any int */
    [CFG_LIST_MAX_LISTPACK_SIZE] = {"list-max-listpack-size", CFG_T_INT, "-2", INT_MIN, INT_MAX,
				    NULL, 0,
				    "How much one quicklist node of a list holds: -1..-5 = 4, 8, "
				    "16, 32, 64 KB, a positive count = that many entries. A list "
				    "that fits one node is kept packed in its entry.",
				    .apply = apply_coll_limits, .alias = "list-max-ziplist-size"},
    [CFG_LIST_COMPRESS_DEPTH] = {"list-compress-depth", CFG_T_INT, "0", 0, INT_MAX, NULL, 0,
				 "Chunks at each end of a list kept uncompressed; the inner "
				 "ones are stored LZF-compressed (0 = off). Applies to a list "
				 "as it is next modified.",
				 .apply = apply_coll_limits},
    [CFG_APPENDFILENAME] = {"appendfilename", CFG_T_STRING, "appendonly.aof", 0, 0, NULL,
			    CFG_IMMUTABLE, "Base name of the AOF files (a file name, not a path).",
			    .parse = parse_aof_name},
    [CFG_APPENDDIRNAME] = {"appenddirname", CFG_T_STRING, "appendonlydir", 0, 0, NULL,
			   CFG_IMMUTABLE,
			   "Directory (inside dir) holding the AOF manifest, base and "
			   "incremental files.",
			   .parse = parse_aof_name},
    [CFG_APPENDFSYNC] = {"appendfsync", CFG_T_ENUM, "everysec", 0, 0, appendfsync_names, 0,
			 "always: no write is acknowledged before an fsync covers it (one fsync "
			 "covers every write queued meanwhile); everysec: fsync about once a "
			 "second; no: leave it to the kernel.",
			 .apply = apply_appendfsync},
    [CFG_AOF_GROUP_WAIT_US] = {"aof-group-wait-us", CFG_T_INT, "0", 0, 100000, NULL, 0,
			       "kvsd extension. appendfsync always: after an fsync releases "
			       "several clients, the next fsync waits for their next writes "
			       "at most this many microseconds (and at most one fsync's "
			       "duration), so one fsync covers them all; 0 (the default): off.",
			       .apply = apply_aof_group_wait},
    [CFG_AOF_LOAD_TRUNCATED] = {"aof-load-truncated", CFG_T_BOOL, "yes", 0, 1, NULL, 0,
				"yes: an AOF whose last file ends inside a command is cut there "
				"(logged) and loaded; no: start-up fails.",
				.apply = apply_read_at_use},
    [CFG_AOF_USE_RDB_PREAMBLE] = {"aof-use-rdb-preamble", CFG_T_BOOL, "yes", 0, 1, NULL, 0,
				  "The base file an AOF rewrite (or a new AOF directory) starts "
				  "with: yes, RDB form (.base.rdb); no, the commands that rebuild "
				  "the dataset (.base.aof), as Redis 7.0.",
				  .apply = apply_read_at_use},
    [CFG_RDB_SAVE_INCREMENTAL_FSYNC] = {"rdb-save-incremental-fsync", CFG_T_BOOL, "yes", 0, 1, NULL,
					0,
					"While SAVE or BGSAVE writes the RDB file, write it out "
					"every 4 MB (sync_file_range, as Redis; started 512 KB per "
					"call) instead of leaving it all dirty in the page cache "
					"until the final fsync.",
					.apply = apply_read_at_use},
    [CFG_AOF_REWRITE_INCREMENTAL_FSYNC] = {"aof-rewrite-incremental-fsync", CFG_T_BOOL, "yes", 0, 1,
					   NULL, 0,
					   "The same for the base file an AOF rewrite writes.",
					   .apply = apply_read_at_use},
    [CFG_BGSAVE_CPU_PERCENT] = {"bgsave-cpu-percent", CFG_T_INT, "25", LEND_SHARE_MIN,
				LEND_SHARE_MAX, NULL, 0,
				"kvsd extension. The share of a worker's core, in percent, that "
				"a BGSAVE or AOF rewrite thread gets while the workers never "
				"idle (the workers lend it their core, bgsave-cpu-slice-us at a "
				"time); with idle time to spare it uses that instead.",
				.apply = apply_bgsave_cpu},
    [CFG_BGSAVE_CPU_SLICE_US] = {"bgsave-cpu-slice-us", CFG_T_INT, "100", LEND_SLICE_MIN_US,
				 LEND_SLICE_MAX_US, NULL, 0,
				 "kvsd extension. How long a worker lends its core to a starving "
				 "BGSAVE or AOF rewrite thread at a time, in microseconds, when it "
				 "comes back to its loop often (after a long task, what is owed, "
				 "up to 1000). Longer: more of the share is the saver's useful "
				 "work (each loan costs both threads a fixed switch and cache "
				 "refill); shorter: a request that arrives during a loan waits "
				 "less.",
				 .apply = apply_bgsave_cpu},
    [CFG_AUTO_AOF_REWRITE_PERCENTAGE] =
	{"auto-aof-rewrite-percentage", CFG_T_INT, "100", 0, INT_MAX, NULL, 0,
	 "Rewrite the AOF (BGREWRITEAOF) once it has grown by this "
	 "many percent over its size after the last rewrite (or "
	 "start-up) and is over auto-aof-rewrite-min-size; 0: never.",
	 .apply = apply_auto_aof_rewrite},
    [CFG_AUTO_AOF_REWRITE_MIN_SIZE] = {"auto-aof-rewrite-min-size", CFG_T_MEMORY, "64mb", 0,
				       LLONG_MAX, NULL, 0,
				       "No automatic AOF rewrite while the AOF is at most this "
				       "size.",
				       .apply = apply_auto_aof_rewrite},
    /* Redis's test aids, with its bounds and defaults */
    [CFG_KEY_LOAD_DELAY] = {"key-load-delay", CFG_T_INT, "0", INT_MIN, INT_MAX, NULL, 0,
			    "Loading an RDB file sleeps this many microseconds after each "
			    "key (a negative value: 1 microsecond every -value keys), so "
			    "tests can watch a slow load; 0: none.",
			    .apply = apply_read_at_use},
    [CFG_RDB_KEY_SAVE_DELAY] = {"rdb-key-save-delay", CFG_T_INT, "0", INT_MIN, INT_MAX, NULL, 0,
				"Writing an RDB file (SAVE, BGSAVE, an AOF base in RDB form) "
				"sleeps this many microseconds after each key (negative: 1 "
				"microsecond every -value keys), so tests can watch a slow "
				"save; 0: none.",
				.apply = apply_read_at_use},
    [CFG_LOADING_PROCESS_EVENTS_INTERVAL_BYTES] =
	{"loading-process-events-interval-bytes", CFG_T_INT, "2097152", 1024, INT_MAX, NULL, 0,
	 "While an RDB file loads, INFO's loading_loaded_bytes (and the cancel check of a "
	 "shutdown) advance every this many bytes read (at least 1024).",
	 .apply = apply_read_at_use},
    [CFG_LAZYFREE_LAZY_EVICTION] = {"lazyfree-lazy-eviction", CFG_T_BOOL, "no", 0, 1, NULL, 0,
				    "An evicted key is logged to the AOF as UNLINK (yes) or DEL "
				    "(no); kvsd frees values in the background either way.",
				    .apply = apply_read_at_use},
    [CFG_LAZYFREE_LAZY_EXPIRE] = {"lazyfree-lazy-expire", CFG_T_BOOL, "no", 0, 1, NULL, 0,
				  "An expired key removed (on access or by the active cycle) is "
				  "logged to the AOF as UNLINK (yes) or DEL (no).",
				  .apply = apply_read_at_use},
    [CFG_LAZYFREE_LAZY_SERVER_DEL] = {"lazyfree-lazy-server-del", CFG_T_BOOL, "no", 0, 1, NULL, 0,
				      "Accepted for Redis compatibility: kvsd frees the value a "
				      "command overwrites or deletes implicitly in the background "
				      "either way.",
				      .apply = apply_read_at_use},
    [CFG_LAZYFREE_LAZY_USER_DEL] = {"lazyfree-lazy-user-del", CFG_T_BOOL, "no", 0, 1, NULL, 0,
				    "Accepted for Redis compatibility (DEL as UNLINK): kvsd's DEL "
				    "never frees a large value before its reply; logged as DEL.",
				    .apply = apply_read_at_use},
    [CFG_LAZYFREE_LAZY_USER_FLUSH] = {"lazyfree-lazy-user-flush", CFG_T_BOOL, "no", 0, 1, NULL, 0,
				      "FLUSHALL / FLUSHDB without SYNC or ASYNC: yes frees the old "
				      "keys in the background (ASYNC), no before the reply (SYNC).",
				      .apply = apply_read_at_use},
    /* server/cluster.h: read once at start-up (the map is static) */
    [CFG_CLUSTER_ENABLED] = {"cluster-enabled", CFG_T_BOOL, "no", 0, 1, NULL, CFG_IMMUTABLE,
			     "yes: answer as a node of a Redis Cluster whose slot map is "
			     "cluster-config-file (docs/CLUSTER.md); no gossip, failover or "
			     "resharding."},
    [CFG_CLUSTER_CONFIG_FILE] = {"cluster-config-file", CFG_T_STRING, "nodes.conf", 0, 0, NULL,
				 CFG_IMMUTABLE | CFG_FREE_TEXT,
				 "The static slot map (the same file on every node): lines "
				 "<node id> <ip>:<port> <slot ranges>; relative to dir. kvsd "
				 "reads it, never writes it."},
    [CFG_CLUSTER_ANNOUNCE_IP] = {"cluster-announce-ip", CFG_T_STRING, "", 0, 0, NULL,
				 CFG_IMMUTABLE | CFG_FREE_TEXT,
				 "This node's address in the slot map, when its port alone "
				 "does not tell which entry it is; empty: by port (and bind)."},
    [CFG_CLUSTER_ANNOUNCE_PORT] = {"cluster-announce-port", CFG_T_INT, "0", 0, NET_PORT_MAX, NULL,
				   CFG_IMMUTABLE,
				   "This node's port in the slot map when it differs from port "
				   "(behind NAT); 0: port."},
};
