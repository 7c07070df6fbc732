/*
 * config.c — the configuration table and everything driven by it.
 *
 * One row per parameter (enum cfg_id order) gives its redis.conf name, type,
 * default, bounds, flags and description. From that table come: defaults
 * (cfg_init), the config file and `--name value` overrides (cfg_load_*),
 * CONFIG GET (cfg_match + cfg_format), CONFIG SET (cfg_set_many), CONFIG
 * REWRITE (cfg_rewrite) and `kvsd --help`. conf/kvsd.conf documents the same
 * rows; tests/unit/server/test_config.c proves they agree.
 *
 * Values: bool, int, memory and enum parameters live in `ival[]`, one atomic
 * each, so any worker reads them without a lock; strings live in `sval[]`
 * under `lock`, which also serialises writers (CONFIG SET, REWRITE). Parsing
 * follows Redis 7.0's config.c rule for rule, and the error texts are
 * Redis's, checked against redis-server 7.0.15:
 *   bool     yes|no (any case)        "argument must be 'yes' or 'no'"
 *   int      string2ll                "argument couldn't be parsed into an integer"
 *   octal    strtoll(,8)              "argument couldn't be parsed as an octal number"
 *   memory   memtoull + units         "argument must be a memory value"
 *   bounds                            "argument must be between 1 and 500 inclusive"
 *   enum     name (any case)          "argument(s) must be one of the following: a, b"
 * Command-line arguments are turned into config text exactly as redis-server
 * does (each `--name` starts a line, other words are appended quoted) and
 * parsed by the same loader, so both report errors the same way.
 */
#include "server/config.h"
#include "server/strutil.h"
#include "concurrency/mem.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CFG_BIND_MAX 16 /* Redis's CONFIG_BINDADDR_MAX */

static const char *const loglevel_names[] = {"debug",	"verbose", "notice",
					     "warning", NULL};
/* Map implementations selectable at start-up; kvsd's own map is added here. */
static const char *const map_names[] = {"kvsd", "urcu", NULL};
/* kvsd has no persistence yet: these exist so tools that read them (redis-benchmark
 * reads save and appendonly at start-up) see the truth, and setting them to anything
 * that promises persistence is refused rather than silently ignored. */
static const char *const save_names[] = {"", NULL};
static const char *const appendonly_names[] = {"no", NULL};
/* In the order of enum db_policy (storage/db.h), which is Redis's (its
 * CONFIG SET error lists them so). */
static const char *const maxmemory_policy_names[] = {
    "volatile-lru",   "volatile-lfu", "volatile-random",
    "volatile-ttl",   "allkeys-lru",  "allkeys-lfu",
    "allkeys-random", "noeviction",   NULL};

static const char *const conn_assign_names[] = {"round-robin", "least-loaded", "single",
						  NULL};

static const struct cfg_def table[CFG_COUNT_] = {
    [CFG_BIND] = {"bind", CFG_T_STRING, "127.0.0.1", 0, 0, NULL, CFG_IMMUTABLE | CFG_MULTIARG,
		  "Addresses to listen on for TCP, separated by spaces (at most 16). An empty "
		  "list (bind \"\") listens on no TCP address."},
    [CFG_PORT] = {"port", CFG_T_INT, "6379", 0, 65535, NULL, CFG_IMMUTABLE,
		  "TCP port to accept connections on; 0 disables TCP."},
    [CFG_UNIXSOCKET] = {"unixsocket", CFG_T_STRING, "", 0, 0, NULL, CFG_IMMUTABLE,
			"Path of a Unix domain socket to listen on; empty for none."},
    [CFG_UNIXSOCKETPERM] = {"unixsocketperm", CFG_T_INT, "0", 0, 0777, NULL,
			    CFG_IMMUTABLE | CFG_OCTAL,
			    "Permissions of the Unix socket, in octal (e.g. 700); 0 keeps the "
			    "umask's."},
    [CFG_PROTECTED_MODE] = {"protected-mode", CFG_T_BOOL, "yes", 0, 1, NULL, 0,
			    "When yes and no requirepass is set, only loopback clients may "
			    "connect (as Redis)."},
    [CFG_TCP_BACKLOG] = {"tcp-backlog", CFG_T_INT, "511", 0, INT_MAX, NULL, CFG_IMMUTABLE,
			 "listen() backlog (the kernel caps it at net.core.somaxconn)."},
    [CFG_TCP_KEEPALIVE] = {"tcp-keepalive", CFG_T_INT, "300", 0, INT_MAX, NULL, 0,
			   "Seconds between TCP keepalive probes to idle clients; 0 disables "
			   "them."},
    [CFG_TIMEOUT] = {"timeout", CFG_T_INT, "0", 0, INT_MAX, NULL, 0,
		     "Close a client after it has been idle this many seconds; 0 never."},
    [CFG_THREADS] = {"threads", CFG_T_INT, "0", 0, 1024, NULL, CFG_IMMUTABLE,
		     "Worker threads serving connections; 0 means one per online CPU."},
    [CFG_MAXCLIENTS] = {"maxclients", CFG_T_INT, "10000", 1, 4294967295LL, NULL, 0,
			"Maximum simultaneous clients; further connections get \"-ERR max "
			"number of clients reached\"."},
    [CFG_REQUIREPASS] = {"requirepass", CFG_T_STRING, "", 0, 0, NULL, CFG_SENSITIVE,
			 "Password clients must give with AUTH; empty disables "
			 "authentication."},
    [CFG_LOGLEVEL] = {"loglevel", CFG_T_ENUM, "notice", 0, 0, loglevel_names, 0,
		      "Log verbosity: debug, verbose, notice or warning."},
    [CFG_LOGFILE] = {"logfile", CFG_T_STRING, "", 0, 0, NULL, CFG_IMMUTABLE,
		     "File to log to; empty logs to standard output."},
    [CFG_PROTO_MAX_BULK_LEN] = {"proto-max-bulk-len", CFG_T_MEMORY, "512mb", 1024 * 1024, LLONG_MAX,
				NULL, 0,
				"Largest bulk string a client may send, in bytes (memory "
				"units allowed; at least 1mb)."},
    [CFG_CLIENT_QUERY_BUFFER_LIMIT] = {"client-query-buffer-limit", CFG_T_MEMORY, "1gb",
				       1024 * 1024, LLONG_MAX, NULL, 0,
				       "Largest unparsed input a client may accumulate, in "
				       "bytes; over it the client is closed (at least 1mb)."},
    [CFG_HZ] = {"hz", CFG_T_INT, "10", 0, INT_MAX, NULL, 0,
		"Frequency of background tasks (idle timeouts, expiry sampling) per second; "
		"values outside 1-500 are clamped into it, as Redis does."},
    [CFG_DATABASES] = {"databases", CFG_T_INT, "1", 1, 1, NULL, CFG_IMMUTABLE,
		       "Number of databases. kvsd has exactly one (SELECT 0 only); the key "
		       "exists so tools that read it work."},
    [CFG_MAP] = {"map", CFG_T_ENUM, "kvsd", 0, 0, map_names, CFG_IMMUTABLE,
		 "Hash map implementation behind the key space: kvsd (kvsd's own lock-free map) "
		 "or urcu (liburcu's cds_lfht, the reference)."},
    [CFG_DIR] = {"dir", CFG_T_STRING, "", 0, 0, NULL, CFG_PROTECTED,
		 "Working directory, entered at start-up (files such as the pidfile are "
		 "relative to it); empty keeps the directory kvsd was started in. CONFIG GET "
		 "dir reports the current working directory."},
    [CFG_PIDFILE] = {"pidfile", CFG_T_STRING, "", 0, 0, NULL, CFG_IMMUTABLE,
		     "File to write the process id to at start-up; empty for none."},
    [CFG_SAVE] = {"save", CFG_T_ENUM, "", 0, 0, save_names, 0,
		  "RDB snapshot points. kvsd has no persistence yet, so only \"\" (never save) "
		  "is accepted."},
    [CFG_APPENDONLY] = {"appendonly", CFG_T_ENUM, "no", 0, 0, appendonly_names, 0,
			"Append-only file. kvsd has no persistence yet, so only no is accepted."},
    [CFG_MAXMEMORY] = {"maxmemory", CFG_T_MEMORY, "0", 0, LLONG_MAX, NULL, 0,
		       "Memory limit for used_memory, in bytes (memory units allowed); 0 means "
		       "no limit. Over it, maxmemory-policy decides."},
    [CFG_MAXMEMORY_POLICY] = {"maxmemory-policy", CFG_T_ENUM, "noeviction", 0, 0,
			      maxmemory_policy_names, 0,
			      "What to do over maxmemory: noeviction (refuse writes with -OOM), "
			      "allkeys-lru, allkeys-lfu, allkeys-random, volatile-lru, "
			      "volatile-lfu, volatile-random or volatile-ttl."},
    [CFG_MAXMEMORY_SAMPLES] = {"maxmemory-samples", CFG_T_INT, "5", 1, INT_MAX, NULL, 0,
			       "Keys sampled per eviction by the approximated LRU/LFU/TTL "
			       "policies (kvsd uses at most 64)."},
    [CFG_ACTIVE_EXPIRE_EFFORT] = {"active-expire-effort", CFG_T_INT, "1", 1, 10, NULL, 0,
				  "Effort of active expiry, 1-10: more CPU per cycle for fewer "
				  "expired keys left in memory."},
    [CFG_SLOWLOG_LOG_SLOWER_THAN] = {"slowlog-log-slower-than", CFG_T_INT, "10000", -1, LLONG_MAX,
				     NULL, 0,
				     "Commands slower than this many microseconds go to the "
				     "slow log; 0 logs every command, -1 none."},
    [CFG_SLOWLOG_MAX_LEN] = {"slowlog-max-len", CFG_T_INT, "128", 0, LONG_MAX, NULL, 0,
			     "Entries the slow log keeps (the oldest are dropped)."},
    [CFG_WORK_STEALING] = {"work-stealing", CFG_T_BOOL, "yes", 0, 1, NULL, 0,
			   "Idle workers steal scheduled connections from busy ones."},
    [CFG_CONN_ASSIGN] = {"conn-assign", CFG_T_ENUM, "round-robin", 0, 0, conn_assign_names, 0,
			 "Which worker owns a new connection: round-robin, least-loaded or "
			 "single (all on worker 0)."},
    [CFG_RUN_BUDGET_COMMANDS] = {"run-budget-commands", CFG_T_INT, "64", 1, INT_MAX, NULL, 0,
				 "Commands a connection runs before yielding to others on its "
				 "worker."},
    [CFG_CLIENT_OUTPUT_BUFFER_LIMIT] =
	{"client-output-buffer-limit", CFG_T_STRING,
	 "normal 0 0 0 replica 256mb 64mb 60 pubsub 32mb 8mb 60", 0, 0, NULL, CFG_MULTIARG,
	 "Per class: hard soft soft-seconds. Over hard, or over soft "
	 "for soft-seconds, the client is closed; 0 = no limit."},
    [CFG_CLIENT_OUTPUT_PAUSE_LIMIT] = {"client-output-pause-limit", CFG_T_MEMORY, "1mb", 0,
				       LLONG_MAX, NULL, 0,
				       "Stop reading a client whose pending replies exceed this "
				       "many bytes until they drain; 0 never."},
    [CFG_SHUTDOWN_TIMEOUT] = {"shutdown-timeout", CFG_T_INT, "10", 0, INT_MAX, NULL, 0,
			      "Seconds shutdown waits for clients' replies to be flushed."},
};

static struct {
	/* Bool / int / memory / enum values. Written under `lock` by loaders and
	 * cfg_set_many; read by any thread without the lock (relaxed: each value
	 * stands alone and publishes no other memory; a reader seeing a change a
	 * moment late is fine). */
	_Atomic long long ival[CFG_COUNT_];
	pthread_mutex_t lock; /* guards sval, slen, file; serialises writers */
	char *sval[CFG_COUNT_];
	size_t slen[CFG_COUNT_];
	char *file; /* absolute path of the loaded config file, or NULL */
	long long ncpu;
	_Atomic(cfg_apply_fn) hook; /* relaxed: set once at start-up */
	unsigned rewrite_seq;	    /* under lock */
} st = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* A parsed value not yet stored. */
struct cfg_val {
	long long i;
	char *s; /* malloc'd, NUL-terminated, for strings */
	size_t slen;
};

const struct cfg_def *cfg_table(void)
{
	return table;
}

static int lookup_len(const char *name, size_t len)
{
	for (int i = 0; i < CFG_COUNT_; i++) {
		if (su_eqi(name, len, table[i].name))
			return i;
	}
	return -1;
}

int cfg_lookup(const char *name)
{
	return lookup_len(name, strlen(name));
}

static char *dup_bytes(const char *s, size_t len)
{
	char *d = malloc(len + 1);

	if (!d)
		abort();
	memcpy(d, s, len);
	d[len] = '\0';
	return d;
}

/* ----------------------------------------------------------- parsing */

/*
 * Parses argv[0..argc) for row d into *out. Returns 0, or -1 with the reason
 * (Redis's wording) in why[0..whylen).
 */
static int parse_value(const struct cfg_def *d, char *const *argv, const size_t *lens, int argc,
		       struct cfg_val *out, char *why, size_t whylen)
{
	const char *a = argc > 0 ? argv[0] : "";
	size_t alen = argc > 0 ? lens[0] : 0;
	long long v = 0;

	memset(out, 0, sizeof(*out));
	switch (d->type) {
	case CFG_T_BOOL:
		if (su_eqi(a, alen, "yes")) {
			out->i = 1;
		} else if (su_eqi(a, alen, "no")) {
			out->i = 0;
		} else {
			snprintf(why, whylen, "argument must be 'yes' or 'no'");
			return -1;
		}
		return 0;
	case CFG_T_INT:
	case CFG_T_MEMORY:
		if (d->type == CFG_T_MEMORY) {
			char *z = dup_bytes(a, alen);
			int ok = su_memtoll(z, &v);

			free(z);
			if (!ok) {
				snprintf(why, whylen, "argument must be a memory value");
				return -1;
			}
		} else if (d->flags & CFG_OCTAL) {
			char *z = dup_bytes(a, alen), *end;
			int ok;

			errno = 0;
			v = strtoll(z, &end, 8);
			ok = errno == 0 && *end == '\0';
			free(z);
			if (!ok) {
				snprintf(why, whylen,
					 "argument couldn't be parsed as an octal number");
				return -1;
			}
		} else if (!su_str2ll(a, alen, &v)) {
			snprintf(why, whylen, "argument couldn't be parsed into an integer");
			return -1;
		}
		if (v < d->min || v > d->max) {
			snprintf(why, whylen,
				 (d->flags & CFG_OCTAL)
				     ? "argument must be between %llo and %llo inclusive"
				     : "argument must be between %lld and %lld inclusive",
				 d->min, d->max);
			return -1;
		}
		if (d == &table[CFG_HZ])
			v = v < 1 ? 1 : v > 500 ? 500 : v; /* Redis clamps hz rather than refusing */
		out->i = v;
		return 0;
	case CFG_T_ENUM:
		for (int k = 0; d->enums[k]; k++) {
			if (su_eqi(a, alen, d->enums[k])) {
				out->i = k;
				return 0;
			}
		}
		{
			size_t n = (size_t)snprintf(why, whylen,
						    "argument(s) must be one of the following: ");

			for (int k = 0; d->enums[k] && n < whylen; k++)
				n += (size_t)snprintf(why + n, whylen - n, "%s%s", k ? ", " : "",
						      d->enums[k]);
		}
		return -1;
	case CFG_T_STRING:
		if (d->flags & CFG_MULTIARG) {
			size_t total = 0, pos = 0;

			if (argc > CFG_BIND_MAX) {
				snprintf(why, whylen, "Too many bind addresses specified.");
				return -1;
			}
			for (int k = 0; k < argc; k++)
				total += lens[k] + 1;
			out->s = malloc(total + 1);
			if (!out->s)
				abort();
			for (int k = 0; k < argc; k++) {
				if (k)
					out->s[pos++] = ' ';
				memcpy(out->s + pos, argv[k], lens[k]);
				pos += lens[k];
			}
			out->s[pos] = '\0';
			out->slen = pos;
		} else {
			out->s = dup_bytes(a, alen);
			out->slen = alen;
		}
		if (d == &table[CFG_DIR] && out->slen && chdir(out->s) != 0) {
			snprintf(why, whylen, "%s", strerror(errno));
			free(out->s);
			out->s = NULL;
			return -1;
		}
		return 0;
	}
	return -1;
}

/* Stores a parsed value; takes ownership of v->s. Returns 1 if it changed.
 * Called with st.lock held. */
static int store_value(enum cfg_id id, struct cfg_val *v)
{
	if (table[id].type == CFG_T_STRING) {
		int changed = !st.sval[id] || st.slen[id] != v->slen ||
			      memcmp(st.sval[id], v->s, v->slen) != 0;

		free(st.sval[id]);
		st.sval[id] = v->s;
		st.slen[id] = v->slen;
		v->s = NULL;
		return changed;
	}
	/* relaxed: see the declaration of ival; the lock orders writers. */
	return atomic_exchange_explicit(&st.ival[id], v->i, memory_order_relaxed) != v->i;
}

/* ----------------------------------------------------------- lifecycle */

void cfg_init(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	st.ncpu = n > 0 ? n : 1;
	pthread_mutex_lock(&st.lock);
	for (int i = 0; i < CFG_COUNT_; i++) {
		const struct cfg_def *d = &table[i];
		char *argv[1] = {(char *)d->def};
		size_t lens[1] = {strlen(d->def)};
		struct cfg_val v;
		char why[256];

		if (d->type == CFG_T_STRING) {
			/* Defaults never chdir: dir "" is "stay where we are". */
			v.s = dup_bytes(d->def, lens[0]);
			v.slen = lens[0];
			v.i = 0;
		} else if (parse_value(d, argv, lens, 1, &v, why, sizeof(why)) != 0) {
			fprintf(stderr, "kvsd: config table: '%s': bad default: %s\n", d->name,
				why);
			abort();
		}
		store_value((enum cfg_id)i, &v);
	}
	pthread_mutex_unlock(&st.lock);
}

void cfg_deinit(void)
{
	pthread_mutex_lock(&st.lock);
	for (int i = 0; i < CFG_COUNT_; i++) {
		free(st.sval[i]);
		st.sval[i] = NULL;
		st.slen[i] = 0;
	}
	free(st.file);
	st.file = NULL;
	pthread_mutex_unlock(&st.lock);
}

const char *cfg_file(void)
{
	return st.file;
}

void cfg_set_apply_hook(cfg_apply_fn fn)
{
	/* relaxed: installed at start-up before other threads run. */
	atomic_store_explicit(&st.hook, fn, memory_order_relaxed);
}

/* -------------------------------------------------------------- reading */

long long cfg_int(enum cfg_id id)
{
	/* relaxed: see the declaration of ival. */
	long long v = atomic_load_explicit(&st.ival[id], memory_order_relaxed);

	if (id == CFG_THREADS && v == 0)
		return st.ncpu;
	return v;
}

const char *cfg_enum_name(enum cfg_id id)
{
	if (table[id].type != CFG_T_ENUM)
		return NULL;
	return table[id].enums[cfg_int(id)];
}

static char *cwd_dup(void)
{
	char *cwd = getcwd(NULL, 0);

	return cwd ? cwd : dup_bytes("", 0);
}

char *cfg_str_dup(enum cfg_id id)
{
	char *s;

	if (id == CFG_DIR)
		return cwd_dup();
	pthread_mutex_lock(&st.lock);
	s = dup_bytes(st.sval[id] ? st.sval[id] : "", st.slen[id]);
	pthread_mutex_unlock(&st.lock);
	return s;
}

int cfg_str_equal(enum cfg_id id, const char *s, size_t len)
{
	unsigned diff;

	pthread_mutex_lock(&st.lock);
	/* Time depends on the caller's len only, never on the secret's bytes
	 * or length: every byte of s is compared against some byte. */
	{
		const unsigned char *sec = (const unsigned char *)st.sval[id];
		size_t slen = st.slen[id];

		diff = (unsigned)(slen != len);
		for (size_t i = 0; i < len; i++) {
			unsigned char c = slen ? sec[i % slen] : 0;

			diff |= (unsigned)(c ^ (unsigned char)s[i]);
		}
	}
	pthread_mutex_unlock(&st.lock);
	return diff == 0;
}

/* Formats id's value into a malloc'd string. raw: the file's form (memory
 * with units, threads as configured) rather than CONFIG GET's. Called with
 * st.lock held for strings. */
static char *format_locked(enum cfg_id id, int raw)
{
	const struct cfg_def *d = &table[id];
	long long v = atomic_load_explicit(&st.ival[id], memory_order_relaxed); /* see ival */
	char buf[64];

	switch (d->type) {
	case CFG_T_BOOL:
		return dup_bytes(v ? "yes" : "no", v ? 3 : 2);
	case CFG_T_ENUM:
		return dup_bytes(d->enums[v], strlen(d->enums[v]));
	case CFG_T_INT:
		if (d->flags & CFG_OCTAL)
			snprintf(buf, sizeof(buf), "%llo", v);
		else
			snprintf(buf, sizeof(buf), "%lld", raw ? v : cfg_int(id));
		return dup_bytes(buf, strlen(buf));
	case CFG_T_MEMORY: {
		const long long gb = 1024LL * 1024 * 1024, mb = 1024 * 1024, kb = 1024;

		if (raw && v && v % gb == 0)
			snprintf(buf, sizeof(buf), "%lldgb", v / gb);
		else if (raw && v && v % mb == 0)
			snprintf(buf, sizeof(buf), "%lldmb", v / mb);
		else if (raw && v && v % kb == 0)
			snprintf(buf, sizeof(buf), "%lldkb", v / kb);
		else
			snprintf(buf, sizeof(buf), "%lld", v);
		return dup_bytes(buf, strlen(buf));
	}
	case CFG_T_STRING:
		if (id == CFG_DIR && !raw)
			return cwd_dup();
		return dup_bytes(st.sval[id] ? st.sval[id] : "", st.slen[id]);
	}
	return dup_bytes("", 0);
}

char *cfg_format(enum cfg_id id)
{
	char *s;

	pthread_mutex_lock(&st.lock);
	s = format_locked(id, 0);
	pthread_mutex_unlock(&st.lock);
	return s;
}

void cfg_match(const char *pattern, size_t plen, void (*fn)(enum cfg_id id, void *arg), void *arg)
{
	for (int i = 0; i < CFG_COUNT_; i++) {
		if (su_glob_match(pattern, plen, table[i].name, strlen(table[i].name), 1))
			fn((enum cfg_id)i, arg);
	}
}

void cfg_print_help(FILE *out)
{
	fprintf(out, "Configuration (in a file: `name value`; on the command line: "
		     "`--name value`):\n");
	for (int i = 0; i < CFG_COUNT_; i++) {
		const struct cfg_def *d = &table[i];

		fprintf(out, "  %-26s default \"%s\"%s\n      %s\n", d->name, d->def,
			(d->flags & (CFG_IMMUTABLE | CFG_PROTECTED)) ? " (start-up only)" : "",
			d->desc);
	}
}

/* ---------------------------------------------------------------- errors */

/* Formats into err; CR and LF become spaces as in Redis's addReplyErrorFormat
 * (an error reply must stay on one line). */
static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	for (char *p = err; *p; p++) {
		if (*p == '\r' || *p == '\n')
			*p = ' ';
	}
}

/* ---------------------------------------------------------------- loading */

/* Applies one directive line's words (argv[0] is the name). 0 or -1 + err. */
static int load_directive(char **argv, size_t *lens, int argc, const char *origin, int linenum,
			  char *err, size_t errlen)
{
	char why[512];
	struct cfg_val v;
	int id, rc;

	for (size_t k = 0; k < lens[0]; k++)
		argv[0][k] = (char)tolower((unsigned char)argv[0][k]);
	id = lookup_len(argv[0], lens[0]);
	if (id < 0) {
		set_err(err, errlen, "kvsd: %s:%d: unknown directive '%s'", origin, linenum,
			argv[0]);
		return -1;
	}
	if (!(table[id].flags & CFG_MULTIARG) && argc != 2) {
		set_err(err, errlen, "kvsd: %s:%d: '%s': wrong number of arguments", origin,
			linenum, table[id].name);
		return -1;
	}
	if ((table[id].flags & CFG_MULTIARG) && argc == 2 && lens[1] > 0) {
		/* One argument holding several ("--bind '1.2.3.4 ::1'"): split it. */
		size_t *sl;
		int sc;
		char **sv = su_split_args(argv[1], lens[1], &sc, &sl);

		if (!sv) {
			set_err(err, errlen, "kvsd: %s:%d: '%s': unbalanced quotes", origin,
				linenum, table[id].name);
			return -1;
		}
		rc = parse_value(&table[id], sv, sl, sc, &v, why, sizeof(why));
		su_free_args(sv, sl, sc);
	} else {
		rc = parse_value(&table[id], argv + 1, lens + 1, argc - 1, &v, why, sizeof(why));
	}
	if (rc != 0) {
		set_err(err, errlen, "kvsd: %s:%d: '%s': %s", origin, linenum, table[id].name, why);
		return -1;
	}
	pthread_mutex_lock(&st.lock);
	store_value((enum cfg_id)id, &v);
	pthread_mutex_unlock(&st.lock);
	return 0;
}

static int is_trim(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int cfg_load_string(const char *text, size_t len, const char *origin, char *err, size_t errlen)
{
	size_t pos = 0;
	int linenum = 0;

	/* Split at every '\n' as Redis does, so text ending in a newline has a
	 * last, empty line (appended lines then follow a blank line). */
	while (len > 0 && pos <= len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t b = pos, e = nl ? (size_t)(nl - text) : len;
		char **argv;
		size_t *lens;
		int argc, rc;

		linenum++;
		pos = e + 1;
		while (b < e && is_trim(text[b]))
			b++;
		while (e > b && is_trim(text[e - 1]))
			e--;
		if (b == e || text[b] == '#')
			continue;
		argv = su_split_args(text + b, e - b, &argc, &lens);
		if (!argv) {
			set_err(err, errlen, "kvsd: %s:%d: unbalanced quotes in configuration line",
				origin, linenum);
			return -1;
		}
		rc = argc ? load_directive(argv, lens, argc, origin, linenum, err, errlen) : 0;
		su_free_args(argv, lens, argc);
		if (rc != 0)
			return -1;
	}
	return 0;
}

/* Reads all of fp into a malloc'd buffer. NULL on error (errno set). */
static char *read_all(FILE *fp, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);

	if (!buf)
		abort();
	for (;;) {
		size_t r = fread(buf + n, 1, cap - n, fp);

		n += r;
		if (n < cap) {
			if (ferror(fp)) {
				free(buf);
				return NULL;
			}
			break;
		}
		cap *= 2;
		buf = realloc(buf, cap);
		if (!buf)
			abort();
	}
	*len = n;
	return buf;
}

static int load_file(const char *path, char *err, size_t errlen)
{
	FILE *fp = fopen(path, "r");
	size_t len;
	char *text;
	int rc;

	if (!fp) {
		set_err(err, errlen, "kvsd: can't open config file '%s': %s", path,
			strerror(errno));
		return -1;
	}
	text = read_all(fp, &len);
	if (!text) {
		set_err(err, errlen, "kvsd: can't read config file '%s': %s", path,
			strerror(errno));
		fclose(fp);
		return -1;
	}
	fclose(fp);
	rc = cfg_load_string(text, len, path, err, errlen);
	free(text);
	return rc;
}

/* Growable text for the command-line options. */
struct text {
	char *b;
	size_t len, cap;
};

static void text_add(struct text *t, const char *s, size_t n)
{
	if (t->len + n + 1 > t->cap) {
		t->cap = (t->len + n + 1) * 2;
		t->b = realloc(t->b, t->cap);
		if (!t->b)
			abort();
	}
	memcpy(t->b + t->len, s, n);
	t->len += n;
	t->b[t->len] = '\0';
}

static void text_adds(struct text *t, const char *s)
{
	text_add(t, s, strlen(s));
}

/* Absolute form of path (no symlink resolution, as Redis's getAbsolutePath). */
static char *absolute_path(const char *path)
{
	char *cwd, *abs;
	size_t n;

	if (path[0] == '/')
		return dup_bytes(path, strlen(path));
	cwd = getcwd(NULL, 0);
	if (!cwd)
		return dup_bytes(path, strlen(path));
	n = strlen(cwd) + strlen(path) + 2;
	abs = malloc(n);
	if (!abs)
		abort();
	snprintf(abs, n, "%s%s%s", cwd, cwd[strlen(cwd) - 1] == '/' ? "" : "/", path);
	free(cwd);
	return abs;
}

int cfg_load_args(int argc, char **argv, char *err, size_t errlen)
{
	struct text opts = {0};
	const char *file = NULL;
	int j = 1, from_stdin = 0, named_last = 1, rc = 0;

	if (argc > 1 && argv[1][0] != '-') {
		file = argv[1];
		j = 2;
	}
	text_add(&opts, "", 0);
	/* As redis-server: every "--name" starts a line; the words after it are
	 * appended quoted; a "--x" right after a bare "--name" is its value. */
	for (; j < argc; j++) {
		const char *a = argv[j];

		if (a[0] == '-' && a[1] == '\0' && (j == 1 || j == argc - 1)) {
			from_stdin = 1;
		} else if (named_last && a[0] == '-' && a[1] == '-') {
			size_t *l;
			int n;
			char **w;

			if (opts.len)
				text_adds(&opts, "\n");
			text_adds(&opts, a + 2);
			text_adds(&opts, " ");
			w = su_split_args(a, strlen(a), &n, &l);
			named_last = !(w && n == 1);
			su_free_args(w, l, w ? n : 0);
		} else {
			size_t rl;
			char *r = su_repr(a, strlen(a), &rl);

			text_add(&opts, r, rl);
			text_adds(&opts, " ");
			mem_free(r);
			named_last = 1;
		}
	}
	if (file) {
		rc = load_file(file, err, errlen);
		if (rc == 0) {
			pthread_mutex_lock(&st.lock);
			free(st.file);
			st.file = absolute_path(file);
			pthread_mutex_unlock(&st.lock);
		}
	}
	if (rc == 0 && from_stdin) {
		size_t len;
		char *text = read_all(stdin, &len);

		if (!text) {
			set_err(err, errlen, "kvsd: can't read config from stdin: %s",
				strerror(errno));
			rc = -1;
		} else {
			rc = cfg_load_string(text, len, "stdin", err, errlen);
			free(text);
		}
	}
	if (rc == 0)
		rc = cfg_load_string(opts.b, opts.len, "command line", err, errlen);
	free(opts.b);
	return rc;
}

/* ---------------------------------------------------------------- CONFIG SET */

int cfg_set_many(const char *const *argv, const size_t *lens, int argc, char *err, size_t errlen)
{
	int ids[CFG_COUNT_];
	struct cfg_val vals[CFG_COUNT_];
	int changed[CFG_COUNT_];
	const char *bad_name = NULL, *why = NULL;
	size_t bad_len = 0;
	int unknown = 0, n = argc / 2;
	char whybuf[512];
	cfg_apply_fn hook;

	if (argc < 2 || argc % 2) {
		set_err(err, errlen, "ERR syntax error");
		return -1;
	}
	/* Pass 1, as Redis: the first unknown name wins unless an immutable /
	 * duplicate error came first; later unknown names are not reported. */
	for (int i = 0; i < n && !unknown; i++) {
		const char *name = argv[2 * i];
		size_t nlen = lens[2 * i];
		int id = lookup_len(name, nlen);

		if (id < 0) {
			if (!why) {
				bad_name = name;
				bad_len = nlen;
				unknown = 1;
			}
			continue;
		}
		if (why)
			continue;
		if (table[id].flags & (CFG_IMMUTABLE | CFG_PROTECTED)) {
			why = (table[id].flags & CFG_IMMUTABLE) ? "can't set immutable config"
								: "can't set protected config";
			bad_name = name;
			bad_len = nlen;
			continue;
		}
		for (int k = 0; k < i; k++) {
			if (ids[k] == id) {
				why = "duplicate parameter";
				bad_name = name;
				bad_len = nlen;
				break;
			}
		}
		/* In bounds: reaching here means ids[0..i) are distinct mutable rows. */
		ids[i] = id;
	}
	if (unknown) {
		/* %.*s stops at a NUL byte as Redis's %s does. */
		set_err(err, errlen,
			"ERR Unknown option or number of arguments for CONFIG SET - '%.*s'",
			(int)strnlen(bad_name, bad_len), bad_name);
		return -1;
	}
	if (why) {
		set_err(err, errlen,
			"ERR CONFIG SET failed (possibly related to argument '%.*s') - %s",
			(int)strnlen(bad_name, bad_len), bad_name, why);
		return -1;
	}
	/* Pass 2: parse every value before storing any (all or nothing). */
	pthread_mutex_lock(&st.lock);
	for (int i = 0; i < n; i++) {
		const struct cfg_def *d = &table[ids[i]];
		char *v = (char *)argv[2 * i + 1];
		size_t vl = lens[2 * i + 1];
		int rc;

		if (d->flags & CFG_MULTIARG) {
			size_t *sl;
			int sc;
			char *z = dup_bytes(v, vl);
			char **sv = su_split_args(z, vl, &sc, &sl);

			free(z);
			rc = sv ? parse_value(d, sv, sl, sc, &vals[i], whybuf, sizeof(whybuf)) : -1;
			if (!sv)
				snprintf(whybuf, sizeof(whybuf), "unbalanced quotes");
			su_free_args(sv, sl, sv ? sc : 0);
		} else {
			rc = parse_value(d, &v, &vl, 1, &vals[i], whybuf, sizeof(whybuf));
		}
		if (rc != 0) {
			for (int k = 0; k < i; k++)
				free(vals[k].s);
			pthread_mutex_unlock(&st.lock);
			set_err(err, errlen,
				"ERR CONFIG SET failed (possibly related to argument '%s') - %s",
				d->name, whybuf);
			return -1;
		}
	}
	for (int i = 0; i < n; i++)
		changed[i] = store_value((enum cfg_id)ids[i], &vals[i]);
	pthread_mutex_unlock(&st.lock);
	hook = atomic_load_explicit(&st.hook, memory_order_relaxed); /* set at start-up */
	for (int i = 0; i < n && hook; i++) {
		if (changed[i])
			hook((enum cfg_id)ids[i]);
	}
	return 0;
}

int cfg_set(const char *name, const char *value, size_t vlen, char *err, size_t errlen)
{
	const char *argv[2] = {name, value};
	size_t lens[2] = {strlen(name), vlen};

	return cfg_set_many(argv, lens, 2, err, errlen);
}

/* ---------------------------------------------------------------- REWRITE */

#define REWRITE_SIGNATURE "# Generated by CONFIG REWRITE"

struct lines {
	char **v;
	size_t n, cap;
};

static void lines_add(struct lines *l, char *s)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		l->v = realloc(l->v, l->cap * sizeof(char *));
		if (!l->v)
			abort();
	}
	l->v[l->n++] = s;
}

/* The line CONFIG REWRITE writes for id ("port 6379", "logfile \"\""). Called
 * with st.lock held. */
static char *rewrite_line(enum cfg_id id)
{
	const struct cfg_def *d = &table[id];
	char *val, *line;
	size_t n;

	if (id == CFG_DIR) {
		char *cwd = cwd_dup();

		val = su_repr(cwd, strlen(cwd), NULL);
		free(cwd);
	} else if (d->type == CFG_T_STRING && !(d->flags & CFG_MULTIARG)) {
		val = su_repr(st.sval[id] ? st.sval[id] : "", st.slen[id], NULL);
	} else if (d->flags & CFG_MULTIARG && st.slen[id] == 0) {
		val = su_repr("", 0, NULL);
	} else {
		char *f = format_locked(id, 1);

		val = mem_strndup(f, strlen(f));
		free(f);
	}
	n = strlen(d->name) + strlen(val) + 2;
	line = malloc(n);
	if (!line)
		abort();
	snprintf(line, n, "%s %s", d->name, val);
	mem_free(val);
	return line;
}

/* Whether id's current value differs from its default. st.lock held. */
static int is_default(enum cfg_id id)
{
	const struct cfg_def *d = &table[id];

	if (d->type == CFG_T_STRING)
		return st.sval[id] && st.slen[id] == strlen(d->def) &&
		       memcmp(st.sval[id], d->def, st.slen[id]) == 0;
	{
		char *argv[1] = {(char *)d->def};
		size_t lens[1] = {strlen(d->def)};
		struct cfg_val v;
		char why[256];

		if (parse_value(d, argv, lens, 1, &v, why, sizeof(why)) != 0)
			return 0;
		/* relaxed: see ival */
		return v.i == atomic_load_explicit(&st.ival[id], memory_order_relaxed);
	}
}

/*
 * Builds the new file from the old (trimmed) lines, as Redis 7.0 does: each
 * parameter's first line is replaced by its current value, its later lines
 * are blanked, runs of blank lines shrink to one, unparsable lines are kept
 * commented out ("# ??? "), comments and unknown lines stay, and parameters
 * missing from the file are appended after a signature line when they are
 * not at their default. st.lock held. Takes the strings of old.
 */
static void rewrite_build(struct lines *old, struct lines *out)
{
	long first[CFG_COUNT_];
	int signed_ = 0, blank = 0;
	struct lines tmp = {0};

	for (int i = 0; i < CFG_COUNT_; i++)
		first[i] = -1;
	for (size_t k = 0; k < old->n; k++) {
		char *s = old->v[k], **argv;
		size_t *lens;
		int argc, id;

		if (s[0] == '\0' || s[0] == '#') {
			if (strcmp(s, REWRITE_SIGNATURE) == 0)
				signed_ = 1;
			lines_add(&tmp, s);
			continue;
		}
		argv = su_split_args(s, strlen(s), &argc, &lens);
		if (!argv) {
			size_t n = strlen(s) + 8;
			char *c = malloc(n);

			if (!c)
				abort();
			snprintf(c, n, "# ??? %s", s);
			free(s);
			lines_add(&tmp, c);
			continue;
		}
		id = argc ? lookup_len(argv[0], lens[0]) : -1;
		su_free_args(argv, lens, argc);
		if (id >= 0 && first[id] < 0) {
			first[id] = (long)k;
			free(s);
			lines_add(&tmp, rewrite_line((enum cfg_id)id));
		} else if (id >= 0) {
			s[0] = '\0'; /* a later duplicate: blanked */
			lines_add(&tmp, s);
		} else {
			lines_add(&tmp, s);
		}
	}
	old->n = 0;
	/* dir is always written, as Redis writes the working directory. */
	for (int i = 0; i < CFG_COUNT_; i++) {
		if (first[i] >= 0 || (i != CFG_DIR && is_default((enum cfg_id)i)))
			continue;
		if (!signed_) {
			lines_add(&tmp, dup_bytes(REWRITE_SIGNATURE, strlen(REWRITE_SIGNATURE)));
			signed_ = 1;
		}
		lines_add(&tmp, rewrite_line((enum cfg_id)i));
	}
	for (size_t k = 0; k < tmp.n; k++) {
		if (tmp.v[k][0] == '\0' && blank) {
			free(tmp.v[k]);
			continue;
		}
		blank = tmp.v[k][0] == '\0';
		lines_add(out, tmp.v[k]);
	}
	free(tmp.v);
}

/* Splits the current file into trimmed lines; a missing file is empty.
 * 0 / -errno. */
static int rewrite_read(const char *path, struct lines *old, mode_t *mode)
{
	FILE *fp = fopen(path, "r");
	struct stat sb;
	size_t len, pos = 0;
	char *text;

	*mode = 0644;
	if (!fp)
		return errno == ENOENT ? 0 : -errno;
	if (fstat(fileno(fp), &sb) == 0)
		*mode = sb.st_mode & 07777;
	text = read_all(fp, &len);
	fclose(fp);
	if (!text)
		return -EIO;
	/* Split at every '\n' as Redis does, so text ending in a newline has a
	 * last, empty line (appended lines then follow a blank line). */
	while (len > 0 && pos <= len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t b = pos, e = nl ? (size_t)(nl - text) : len;

		pos = e + 1;
		while (b < e && is_trim(text[b]))
			b++;
		while (e > b && is_trim(text[e - 1]))
			e--;
		lines_add(old, dup_bytes(text + b, e - b));
	}
	free(text);
	return 0;
}

/* Writes lines to a temporary file next to path, then renames it over path. */
static int rewrite_write(const char *path, struct lines *out, mode_t mode, unsigned seq)
{
	size_t n = strlen(path) + 64;
	char *tmp = malloc(n);
	int fd, rc = 0;

	if (!tmp)
		abort();
	snprintf(tmp, n, "%s.tmp-%ld-%u", path, (long)getpid(), seq);
	fd = open(tmp, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, mode);
	if (fd < 0) {
		rc = -errno;
		free(tmp);
		return rc;
	}
	(void)fchmod(fd, mode); /* not subject to the umask, as the original */
	for (size_t k = 0; k < out->n && rc == 0; k++) {
		const char *parts[2] = {out->v[k], "\n"};

		for (int p = 0; p < 2 && rc == 0; p++) {
			size_t left = strlen(parts[p]);
			const char *s = parts[p];

			while (left) {
				ssize_t w = write(fd, s, left);

				if (w < 0 && errno == EINTR)
					continue;
				if (w < 0) {
					rc = -errno;
					break;
				}
				s += w;
				left -= (size_t)w;
			}
		}
	}
	if (rc == 0 && fsync(fd) != 0)
		rc = -errno;
	if (close(fd) != 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, path) != 0)
		rc = -errno;
	if (rc != 0)
		unlink(tmp);
	free(tmp);
	return rc;
}

int cfg_rewrite(char *err, size_t errlen)
{
	struct lines old = {0}, out = {0};
	mode_t mode;
	int rc;

	pthread_mutex_lock(&st.lock);
	if (!st.file) {
		pthread_mutex_unlock(&st.lock);
		set_err(err, errlen, "ERR The server is running without a config file");
		return -1;
	}
	rc = rewrite_read(st.file, &old, &mode);
	if (rc == 0) {
		rewrite_build(&old, &out);
		rc = rewrite_write(st.file, &out, mode, ++st.rewrite_seq);
	}
	pthread_mutex_unlock(&st.lock);
	for (size_t k = 0; k < old.n; k++)
		free(old.v[k]);
	for (size_t k = 0; k < out.n; k++)
		free(out.v[k]);
	free(old.v);
	free(out.v);
	if (rc != 0) {
		set_err(err, errlen, "ERR Rewriting config file: %s", strerror(-rc));
		return -1;
	}
	return 0;
}
