/*
 * test_config.c — the config table, conf/kvsd.conf, loaders, CONFIG SET /
 * GET / REWRITE.
 *
 * Error texts were checked against redis-server 7.0.15 (CONFIG SET and
 * `redis-server --name value`); kvsd's own bounds differ where the table
 * says so (databases 1..128; hz is clamped into 1..500 as Redis does).
 * Criterion runs every test in its own process, so each starts from
 * cfg_init() and may chdir freely.
 */
#include "server/config.h"
#include "net/net.h"
#include "server/slowlog.h"
#include "server/strutil.h"
#include "storage/db.h"

#include <criterion/criterion.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef KVSD_CONF_PATH
#error "meson passes -DKVSD_CONF_PATH=<source root>/conf/kvsd.conf"
#endif

static void setup(void)
{
	cfg_init();
}

static void teardown(void)
{
	cfg_deinit();
}

TestSuite(config, .init = setup, .fini = teardown);

static char err[512];

static void expect_fmt(enum cfg_id id, const char *want)
{
	char *got = cfg_format(id);

	cr_expect_str_eq(got, want, "%s: got '%s' want '%s'", cfg_table()[id].name, got, want);
	free(got);
}

static int load(const char *text)
{
	err[0] = '\0';
	return cfg_load_string(text, strlen(text), "t.conf", err, sizeof(err));
}

static void expect_load_err(const char *text, const char *want)
{
	cr_expect_eq(load(text), -1, "'%s' loaded", text);
	cr_expect_str_eq(err, want, "'%s': got \"%s\"", text, err);
}

static int set1(const char *name, const char *value)
{
	err[0] = '\0';
	return cfg_set(name, value, strlen(value), err, sizeof(err));
}

static void expect_set_err(const char *name, const char *value, const char *want)
{
	cr_expect_eq(set1(name, value), -1, "%s %s accepted", name, value);
	cr_expect_str_eq(err, want, "%s '%s': got \"%s\"", name, value, err);
}

static int setn(int argc, const char *const *argv)
{
	size_t lens[64];

	for (int i = 0; i < argc; i++)
		lens[i] = strlen(argv[i]);
	err[0] = '\0';
	return cfg_set_many(argv, lens, argc, err, sizeof(err));
}

static int load_args(int argc, const char *const *argv)
{
	err[0] = '\0';
	return cfg_load_args(argc, (char **)argv, err, sizeof(err));
}

/* ------------------------------------------------------------ the table */

Test(config, table_rows_in_enum_order)
{
	static const char *const names[CFG_COUNT_] = {
	    "bind",
	    "port",
	    "unixsocket",
	    "unixsocketperm",
	    "protected-mode",
	    "tcp-backlog",
	    "tcp-keepalive",
	    "timeout",
	    "threads",
	    "maxclients",
	    "requirepass",
	    "loglevel",
	    "logfile",
	    "proto-max-bulk-len",
	    "client-query-buffer-limit",
	    "hz",
	    "databases",
	    "map",
	    "dir",
	    "dbfilename",
	    "rdbcompression",
	    "rdbchecksum",
	    "stop-writes-on-bgsave-error",
	    "pidfile",
	    "save",
	    "appendonly",
	    "maxmemory",
	    "maxmemory-policy",
	    "maxmemory-samples",
	    "maxmemory-eviction-tenacity",
	    "active-expire-effort",
	    "slowlog-log-slower-than",
	    "slowlog-max-len",
	    "work-stealing",
	    "io-uring",
	    "worker-nap-us",
	    "worker-pipeline-nap-us",
	    "conn-assign",
	    "run-budget-commands",
	    "client-output-buffer-limit",
	    "client-output-pause-limit",
	    "shutdown-timeout",
	    "hll-sparse-max-bytes",
	    "latency-monitor-threshold",
	    "latency-tracking",
	    "latency-tracking-info-percentiles",
	    "enable-debug-command",
	    "hash-max-listpack-entries",
	    "hash-max-listpack-value",
	    "set-max-intset-entries",
	    "zset-max-listpack-entries",
	    "zset-max-listpack-value",
	    "list-max-listpack-size",
	    "list-compress-depth",
	    "appendfilename",
	    "appenddirname",
	    "appendfsync",
	    "aof-group-wait-us",
	    "aof-load-truncated",
	    "aof-use-rdb-preamble",
	    "rdb-save-incremental-fsync",
	    "aof-rewrite-incremental-fsync",
	    "bgsave-cpu-percent",
	    "bgsave-cpu-slice-us",
	    "auto-aof-rewrite-percentage",
	    "auto-aof-rewrite-min-size",
	    "key-load-delay",
	    "rdb-key-save-delay",
	    "loading-process-events-interval-bytes",
	    "lazyfree-lazy-eviction",
	    "lazyfree-lazy-expire",
	    "lazyfree-lazy-server-del",
	    "lazyfree-lazy-user-del",
	    "lazyfree-lazy-user-flush",
	    "busy-reply-threshold",
	    "notify-keyspace-events",
	    "cluster-enabled",
	    "cluster-config-file",
	    "cluster-announce-ip",
	    "cluster-announce-port",
	    "tracking-table-max-keys",
	};
	const struct cfg_def *t = cfg_table();

	for (int i = 0; i < CFG_COUNT_; i++) {
		cr_expect_str_eq(t[i].name, names[i]);
		cr_expect_eq(cfg_lookup(names[i]), i);
		cr_expect(t[i].desc && strlen(t[i].desc) > 10, "%s has no description", t[i].name);
		cr_expect_not_null(t[i].def);
		if (t[i].type == CFG_T_ENUM)
			cr_expect_not_null(t[i].enums);
	}
	cr_expect_eq(cfg_lookup("PORT"), CFG_PORT);
	cr_expect_eq(cfg_lookup("Client-Query-Buffer-Limit"), CFG_CLIENT_QUERY_BUFFER_LIMIT);
	cr_expect_eq(cfg_lookup("nosuch"), -1);
	cr_expect_eq(cfg_lookup("por"), -1);
}

Test(config, defaults)
{
	char *cwd = getcwd(NULL, 0);
	char buf[32];

	expect_fmt(CFG_BIND, "127.0.0.1");
	expect_fmt(CFG_PORT, "6379");
	expect_fmt(CFG_UNIXSOCKET, "");
	expect_fmt(CFG_UNIXSOCKETPERM, "0");
	expect_fmt(CFG_PROTECTED_MODE, "yes");
	expect_fmt(CFG_TCP_BACKLOG, "511");
	expect_fmt(CFG_TCP_KEEPALIVE, "300");
	expect_fmt(CFG_TIMEOUT, "0");
	expect_fmt(CFG_MAXCLIENTS, "10000");
	expect_fmt(CFG_REQUIREPASS, "");
	expect_fmt(CFG_LOGLEVEL, "notice");
	expect_fmt(CFG_LOGFILE, "");
	expect_fmt(CFG_PROTO_MAX_BULK_LEN, "536870912");
	expect_fmt(CFG_CLIENT_QUERY_BUFFER_LIMIT, "1073741824");
	expect_fmt(CFG_HZ, "10");
	expect_fmt(CFG_DATABASES, "16");
	expect_fmt(CFG_MAP, "kvsd");
	expect_fmt(CFG_DIR, cwd);
	expect_fmt(CFG_PIDFILE, "");
	snprintf(buf, sizeof(buf), "%ld", sysconf(_SC_NPROCESSORS_ONLN));
	expect_fmt(CFG_THREADS, buf);
	cr_expect_eq(cfg_int(CFG_THREADS), sysconf(_SC_NPROCESSORS_ONLN));
	cr_expect_eq(cfg_int(CFG_PORT), 6379);
	cr_expect_eq(cfg_int(CFG_PROTECTED_MODE), 1);
	cr_expect_eq(cfg_int(CFG_LOGLEVEL), CFG_LOG_NOTICE);
	cr_expect_eq(cfg_int(CFG_PROTO_MAX_BULK_LEN), 512LL * 1024 * 1024);
	cr_expect_str_eq(cfg_enum_name(CFG_LOGLEVEL), "notice");
	cr_expect_str_eq(cfg_enum_name(CFG_MAP), "kvsd");
	cr_expect_null(cfg_enum_name(CFG_PORT));
	cr_expect_null(cfg_file());
	free(cwd);
}

/* ------------------------------------------------------ conf/kvsd.conf */

/* A bound as conf/kvsd.conf writes it: decimal (memory units allowed for
 * memory rows), octal for octal rows. */
static long long doc_number(const struct cfg_def *d, const char *s, size_t n)
{
	char buf[64];
	long long v = 0;

	cr_assert_lt(n, sizeof(buf), "'%s': bound too long", d->name);
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (d->flags & CFG_OCTAL)
		v = strtoll(buf, NULL, 8);
	else if (d->type == CFG_T_MEMORY && buf[0] != '-')
		cr_assert(su_memtoll(buf, &v), "'%s': bound '%s' is not a number", d->name, buf);
	else
		cr_assert(resp_str2ll(buf, n, &v), "'%s': bound '%s' is not a number", d->name,
			  buf);
	return v;
}

/*
 * What the comment block above a key says must be what its row says: numbers
 * give "Range: <min>-<max>" with the table's bounds, and exactly the rows
 * CONFIG SET refuses say "Start-up only.".
 */
static void check_doc_block(const struct cfg_def *d, const char *block)
{
	const char *r = strstr(block, "Range: ");
	int startup = strstr(block, "Start-up only.") != NULL;
	int fixed = (d->flags & (CFG_IMMUTABLE | CFG_PROTECTED)) != 0;

	cr_expect(startup == fixed, "'%s': the file %s \"Start-up only.\" but the row is %s",
		  d->name, startup ? "says" : "does not say", fixed ? "immutable" : "mutable");
	if (d->type != CFG_T_INT && d->type != CFG_T_MEMORY) {
		cr_expect(r == NULL, "'%s' is not a number but documents a range", d->name);
		return;
	}
	cr_assert_not_null(r, "'%s': no \"Range: min-max\" in its comment block", d->name);
	r += strlen("Range: ");
	{
		/* the separator is the first '-' after the first character */
		const char *dash = strchr(r + 1, '-');
		size_t hi_len;

		cr_assert_not_null(dash, "'%s': malformed range", d->name);
		hi_len = strcspn(dash + 1, " .,;()\n");
		cr_expect_eq(doc_number(d, r, (size_t)(dash - r)), d->min,
			     "'%s': documented minimum differs from the table's %lld", d->name,
			     d->min);
		cr_expect_eq(doc_number(d, dash + 1, hi_len), d->max,
			     "'%s': documented maximum differs from the table's %lld", d->name,
			     d->max);
	}
}

Test(config, conf_file_documents_exactly_the_table)
{
	FILE *fp = fopen(KVSD_CONF_PATH, "r");
	char line[1024], block[4096] = "";
	int seen[CFG_COUNT_] = {0};
	int prev_comment = 0, lineno = 0;
	const struct cfg_def *t = cfg_table();

	cr_assert_not_null(fp, "cannot open %s", KVSD_CONF_PATH);
	while (fgets(line, sizeof(line), fp)) {
		char key[128], *p = line, *val;
		size_t n;
		int id;

		lineno++;
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '#' || line[0] == '\0') {
			prev_comment = line[0] == '#' && line[1] != '#';
			if (!prev_comment)
				block[0] = '\0';
			else if (strlen(block) + strlen(line) + 2 < sizeof(block))
				strcat(strcat(block, line + 1), "\n");
			continue;
		}
		n = strcspn(p, " \t");
		cr_assert_lt(n, sizeof(key));
		memcpy(key, p, n);
		key[n] = '\0';
		val = p + n + strspn(p + n, " \t");
		id = cfg_lookup(key);
		cr_assert_geq(id, 0, "%s:%d: '%s' is not in the table", KVSD_CONF_PATH, lineno,
			      key);
		cr_expect_eq(seen[id], 0, "'%s' documented twice", key);
		seen[id] = 1;
		cr_expect(prev_comment, "'%s' (line %d) has no comment block above it", key,
			  lineno);
		/* The documented value is the table's default, written as the table
		 * writes it ("" for empty strings). */
		if (t[id].def[0] == '\0')
			cr_expect_str_eq(val, "\"\"", "'%s': documented '%s', default empty", key,
					 val);
		else
			cr_expect_str_eq(val, t[id].def, "'%s': documented '%s', default '%s'", key,
					 val, t[id].def);
		check_doc_block(&t[id], block);
		prev_comment = 0;
		block[0] = '\0';
	}
	fclose(fp);
	for (int i = 0; i < CFG_COUNT_; i++)
		cr_expect(seen[i], "'%s' is not documented in conf/kvsd.conf", t[i].name);
}

/*
 * Issue 11, "config rows that apply themselves": every row declares what it
 * accepts (bounds from the owning module, an enum, a parser, or free text)
 * and how a new value takes effect (an apply function), unless CONFIG SET
 * refuses it. A row accepted at run time but applied by nobody (the old
 * hz) cannot be written any more.
 */
Test(config, table_rows_apply_themselves)
{
	const struct cfg_def *t = cfg_table();

	for (int i = 0; i < CFG_COUNT_; i++) {
		const struct cfg_def *d = &t[i];
		int fixed = (d->flags & (CFG_IMMUTABLE | CFG_PROTECTED)) != 0;

		switch (d->type) {
		case CFG_T_BOOL:
			cr_expect(d->min == 0 && d->max == 1, "'%s': bool bounds", d->name);
			break;
		case CFG_T_INT:
		case CFG_T_MEMORY:
			cr_expect(d->min <= d->max, "'%s': min > max", d->name);
			break;
		case CFG_T_ENUM:
			cr_expect(d->enums && d->enums[0], "'%s': no enum values", d->name);
			break;
		case CFG_T_STRING:
			cr_expect((d->parse != NULL) != ((d->flags & CFG_FREE_TEXT) != 0),
				  "'%s': a string row has a parser or is free text (one of them)",
				  d->name);
			break;
		}
		if (d->type != CFG_T_STRING)
			cr_expect_null(d->parse, "'%s': a parser on a non-string row", d->name);
		if (fixed)
			cr_expect_null(d->apply, "'%s' is immutable but has an apply function",
				       d->name);
		else
			cr_expect_not_null(d->apply, "'%s' is settable but nothing applies it",
					   d->name);
	}
	/* The default of every row is within its bounds: cfg_init() parsed
	 * them all (it aborts otherwise) to the values the table documents. */
	for (int i = 0; i < CFG_COUNT_; i++) {
		if (t[i].type == CFG_T_INT || t[i].type == CFG_T_MEMORY)
			cr_expect(cfg_int((enum cfg_id)i) >= t[i].min ||
				      (i == CFG_THREADS && cfg_int(CFG_THREADS) >= 1),
				  "'%s' default below its minimum", t[i].name);
	}
	/* Bounds come from the modules that own the limits. */
	cr_expect_eq(t[CFG_PROTO_MAX_BULK_LEN].max, DB_STRING_MAX);
	cr_expect_eq(t[CFG_PROTO_MAX_BULK_LEN].max, KV_LEN_MAX);
	cr_expect_eq(t[CFG_PROTO_MAX_BULK_LEN].min, NET_BULK_LEN_MIN);
	cr_expect_eq(t[CFG_PORT].max, NET_PORT_MAX);
	cr_expect_eq(t[CFG_MAXCLIENTS].max, NET_MAXCLIENTS_MAX);
	cr_expect_eq(t[CFG_DATABASES].max, DB_COUNT_MAX);
	cr_expect_eq(t[CFG_ACTIVE_EXPIRE_EFFORT].max, DB_EXPIRE_EFFORT_MAX);
	cr_expect_eq(t[CFG_SLOWLOG_LOG_SLOWER_THAN].min, SLOWLOG_SLOWER_THAN_MIN);
}

Test(config, conf_file_loads_to_the_defaults)
{
	const char *argv[] = {"kvsd", KVSD_CONF_PATH};
	char *before[CFG_COUNT_];

	for (int i = 0; i < CFG_COUNT_; i++)
		before[i] = cfg_format((enum cfg_id)i);
	cr_assert_eq(load_args(2, argv), 0, "%s", err);
	cr_expect_str_eq(cfg_file(), KVSD_CONF_PATH);
	for (int i = 0; i < CFG_COUNT_; i++) {
		expect_fmt((enum cfg_id)i, before[i]);
		free(before[i]);
	}
}

/* ------------------------------------------------------------- loading */

Test(config, load_syntax)
{
	cr_assert_eq(load("# comment\n"
			  "\n"
			  "   \t\n"
			  "  port 7000  \r\n"
			  "PORT 7001\n"
			  "Hz \"20\"\n"
			  "requirepass 'a \"b' \n"
			  "logfile \"\\x41\\tb\"\n"
			  "proto-max-bulk-len 2MB\n"
			  "client-query-buffer-limit 3000k\n"
			  "protected-mode NO\n"
			  "loglevel WARNING\n"
			  "unixsocketperm 700\n"
			  "bind 127.0.0.1 ::1\n"
			  "maxclients 4294967295"),
		     0, "%s", err);
	expect_fmt(CFG_PORT, "7001"); /* the last one wins */
	expect_fmt(CFG_HZ, "20");
	expect_fmt(CFG_REQUIREPASS, "a \"b");
	expect_fmt(CFG_LOGFILE, "A\tb");
	expect_fmt(CFG_PROTO_MAX_BULK_LEN, "2097152");
	expect_fmt(CFG_CLIENT_QUERY_BUFFER_LIMIT, "3000000");
	expect_fmt(CFG_PROTECTED_MODE, "no");
	expect_fmt(CFG_LOGLEVEL, "warning");
	cr_expect_eq(cfg_int(CFG_LOGLEVEL), CFG_LOG_WARNING);
	expect_fmt(CFG_UNIXSOCKETPERM, "700");
	cr_expect_eq(cfg_int(CFG_UNIXSOCKETPERM), 0700);
	expect_fmt(CFG_BIND, "127.0.0.1 ::1");
	expect_fmt(CFG_MAXCLIENTS, "4294967295");
	cr_assert_eq(load("bind '10.0.0.1 ::1'\nbind \"\"\n"), 0, "%s", err);
	expect_fmt(CFG_BIND, "");
	cr_assert_eq(load("bind \"10.0.0.1 ::1\"\n"), 0, "%s", err);
	expect_fmt(CFG_BIND, "10.0.0.1 ::1");
	cr_assert_eq(load("bind\n"), 0, "%s", err); /* no address, as Redis */
	expect_fmt(CFG_BIND, "");
	cr_assert_eq(load("threads 3\n"), 0, "%s", err);
	cr_expect_eq(cfg_int(CFG_THREADS), 3);
	cr_assert_eq(load("unixsocketperm ''\n"), 0, "%s", err); /* strtoll: "" is 0 */
	cr_expect_eq(cfg_int(CFG_UNIXSOCKETPERM), 0);
	cr_assert_eq(load(""), 0);
}

Test(config, load_errors)
{
	expect_load_err("port 1\n\nprot 7000\n", "kvsd: t.conf:3: unknown directive 'prot'");
	expect_load_err("PROT 7000", "kvsd: t.conf:1: unknown directive 'prot'");
	expect_load_err("port\n", "kvsd: t.conf:1: 'port': wrong number of arguments");
	expect_load_err("port 1 2\n", "kvsd: t.conf:1: 'port': wrong number of arguments");
	expect_load_err("# x\nport abc\n",
			"kvsd: t.conf:2: 'port': argument couldn't be parsed into an integer");
	expect_load_err("port 70000",
			"kvsd: t.conf:1: 'port': argument must be between 0 and 65535 inclusive");
	expect_load_err("port -1",
			"kvsd: t.conf:1: 'port': argument must be between 0 and 65535 inclusive");
	expect_load_err("port 99999999999999999999",
			"kvsd: t.conf:1: 'port': argument couldn't be parsed into an integer");
	expect_load_err(
	    "hz -1", "kvsd: t.conf:1: 'hz': argument must be between 0 and 2147483647 inclusive");
	expect_load_err("hz +5",
			"kvsd: t.conf:1: 'hz': argument couldn't be parsed into an integer");
	expect_load_err("hz 05",
			"kvsd: t.conf:1: 'hz': argument couldn't be parsed into an integer");
	expect_load_err("maxclients 0", "kvsd: t.conf:1: 'maxclients': argument must be between 1 "
					"and 4294967295 inclusive");
	expect_load_err("protected-mode maybe",
			"kvsd: t.conf:1: 'protected-mode': argument must be 'yes' or 'no'");
	expect_load_err("protected-mode ''",
			"kvsd: t.conf:1: 'protected-mode': argument must be 'yes' or 'no'");
	expect_load_err("proto-max-bulk-len 1x",
			"kvsd: t.conf:1: 'proto-max-bulk-len': argument must be a memory value");
	expect_load_err("proto-max-bulk-len -1",
			"kvsd: t.conf:1: 'proto-max-bulk-len': argument must be a memory value");
	/* kvsd's upper bound is what storage holds (Redis's is LONG_MAX) */
	expect_load_err("proto-max-bulk-len 10",
			"kvsd: t.conf:1: 'proto-max-bulk-len': argument must be between 1048576 "
			"and 1073741823 inclusive");
	expect_load_err("proto-max-bulk-len 4gb",
			"kvsd: t.conf:1: 'proto-max-bulk-len': argument must be between 1048576 "
			"and 1073741823 inclusive");
	expect_load_err("client-query-buffer-limit 99999999999999999999",
			"kvsd: t.conf:1: 'client-query-buffer-limit': argument must be between "
			"1048576 and 9223372036854775807 inclusive");
	expect_load_err("unixsocketperm 999", "kvsd: t.conf:1: 'unixsocketperm': argument "
					      "couldn't be parsed as an octal number");
	expect_load_err("unixsocketperm 1000", "kvsd: t.conf:1: 'unixsocketperm': argument must "
					       "be between 0 and 777 inclusive");
	expect_load_err("unixsocketperm -1", "kvsd: t.conf:1: 'unixsocketperm': argument must be "
					     "between 0 and 777 inclusive");
	expect_load_err("loglevel loud",
			"kvsd: t.conf:1: 'loglevel': argument(s) must be one of the following: "
			"debug, verbose, notice, warning");
	expect_load_err("map cds", "kvsd: t.conf:1: 'map': argument(s) must be one of the "
				   "following: kvsd, urcu");
	expect_load_err(
	    "databases 129",
	    "kvsd: t.conf:1: 'databases': argument must be between 1 and 128 inclusive");
	expect_load_err(
	    "databases 0",
	    "kvsd: t.conf:1: 'databases': argument must be between 1 and 128 inclusive");
	expect_load_err("threads 100000",
			"kvsd: t.conf:1: 'threads': argument must be between 0 and 1024 inclusive");
	expect_load_err("bind 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17",
			"kvsd: t.conf:1: 'bind': Too many bind addresses specified.");
	expect_load_err("port 1\nrequirepass \"abc\n",
			"kvsd: t.conf:2: unbalanced quotes in configuration line");
	expect_load_err("requirepass \"a\"b", "kvsd: t.conf:1: unbalanced quotes in "
					      "configuration line");
	expect_load_err("dir /nonexistent/kvsd-test-dir",
			"kvsd: t.conf:1: 'dir': No such file or directory");
}

Test(config, load_dir_changes_directory)
{
	char tmpl[] = "/tmp/kvsd-cfg-XXXXXX";
	char *d = mkdtemp(tmpl), text[256];
	char *got;

	cr_assert_not_null(d);
	snprintf(text, sizeof(text), "dir %s\n", d);
	cr_assert_eq(load(text), 0, "%s", err);
	got = cfg_str_dup(CFG_DIR);
	cr_expect_str_eq(got, d);
	free(got);
	expect_fmt(CFG_DIR, d);
	rmdir(d);
}

Test(config, load_args_command_line)
{
	const char *a1[] = {"kvsd", "--port", "7000", "--bind", "127.0.0.1", "::1", "--hz", "33"};
	const char *a2[] = {"kvsd",	    "--port 7001",   "--bind",
			    "10.0.0.1 ::1", "--requirepass", "--secret"};
	const char *a3[] = {"kvsd", "--requirepass", "a \"b\" 'c'\n\\", "--logfile", ""};
	const char *a4[] = {"kvsd", "--tcp-keepalive", "-1"};
	const char *a5[] = {"kvsd", "--port", "1", "--prot", "2"};
	const char *a6[] = {"kvsd", "--hz", "5", "--port"};
	const char *a7[] = {"kvsd", "/nonexistent/kvsd.conf", "--port", "1"};
	const char *a8[] = {"kvsd"};
	char *s;

	cr_assert_eq(load_args(8, a1), 0, "%s", err);
	expect_fmt(CFG_PORT, "7000");
	expect_fmt(CFG_BIND, "127.0.0.1 ::1");
	expect_fmt(CFG_HZ, "33");
	cr_expect_null(cfg_file());

	cr_assert_eq(load_args(6, a2), 0, "%s", err);
	expect_fmt(CFG_PORT, "7001");
	expect_fmt(CFG_BIND, "10.0.0.1 ::1");
	expect_fmt(CFG_REQUIREPASS, "--secret"); /* a value after a bare --name */

	cr_assert_eq(load_args(5, a3), 0, "%s", err);
	s = cfg_str_dup(CFG_REQUIREPASS);
	cr_expect_str_eq(s, "a \"b\" 'c'\n\\");
	free(s);
	expect_fmt(CFG_LOGFILE, "");

	cr_expect_eq(load_args(3, a4), -1);
	cr_expect_str_eq(err, "kvsd: command line:1: 'tcp-keepalive': argument must be between "
			      "0 and 2147483647 inclusive");
	cr_expect_eq(load_args(5, a5), -1);
	cr_expect_str_eq(err, "kvsd: command line:2: unknown directive 'prot'");
	cr_expect_eq(load_args(4, a6), -1);
	cr_expect_str_eq(err, "kvsd: command line:2: 'port': wrong number of arguments");
	cr_expect_eq(load_args(4, a7), -1);
	cr_expect_str_eq(err, "kvsd: can't open config file '/nonexistent/kvsd.conf': No such "
			      "file or directory");
	cr_expect_eq(load_args(1, a8), 0);
}

static char *write_temp(const char *dir, const char *name, const char *text)
{
	char *path = malloc(strlen(dir) + strlen(name) + 2);
	FILE *fp;

	sprintf(path, "%s/%s", dir, name);
	fp = fopen(path, "w");
	cr_assert_not_null(fp);
	fputs(text, fp);
	fclose(fp);
	return path;
}

static char *slurp(const char *path)
{
	FILE *fp = fopen(path, "r");
	char *buf = calloc(1, 1 << 16);

	cr_assert_not_null(fp);
	fread(buf, 1, (1 << 16) - 1, fp);
	fclose(fp);
	return buf;
}

Test(config, load_args_file_then_overrides)
{
	char tmpl[] = "/tmp/kvsd-cfg-XXXXXX";
	char *d = mkdtemp(tmpl);
	char *path = write_temp(d, "k.conf", "port 7000\nhz 20\n");
	char *rel, *cwd = getcwd(NULL, 0);
	const char *argv[] = {"kvsd", path, "--port", "7100"};
	const char *bad[] = {"kvsd", NULL};

	cr_assert_eq(load_args(4, argv), 0, "%s", err);
	expect_fmt(CFG_PORT, "7100");
	expect_fmt(CFG_HZ, "20");
	cr_expect_str_eq(cfg_file(), path);

	/* A relative path is remembered absolute (CONFIG REWRITE after a chdir). */
	cr_assert_eq(chdir(d), 0);
	bad[1] = "k.conf";
	cr_assert_eq(load_args(2, bad), 0, "%s", err);
	cr_expect_str_eq(cfg_file(), path);

	/* Errors name the file as given. */
	rel = write_temp(d, "bad.conf", "# first\nport 7000\nport x\n");
	bad[1] = "bad.conf";
	cr_expect_eq(load_args(2, bad), -1);
	cr_expect_str_eq(err, "kvsd: bad.conf:3: 'port': argument couldn't be parsed into an "
			      "integer");
	unlink(rel);
	unlink(path);
	cr_assert_eq(chdir(cwd), 0);
	rmdir(d);
	free(rel);
	free(path);
	free(cwd);
}

Test(config, load_args_stdin)
{
	char tmpl[] = "/tmp/kvsd-cfg-XXXXXX";
	char *d = mkdtemp(tmpl);
	char *path = write_temp(d, "in.conf", "port 7200\nhz 40\n");
	const char *argv[] = {"kvsd", "-", "--hz", "41"};

	cr_assert_not_null(freopen(path, "r", stdin));
	cr_assert_eq(load_args(4, argv), 0, "%s", err);
	expect_fmt(CFG_PORT, "7200");
	expect_fmt(CFG_HZ, "41");
	unlink(path);
	rmdir(d);
	free(path);
}

/* ---------------------------------------------------------- CONFIG SET */

static _Atomic int hook_calls[CFG_COUNT_];

static int count_hook(enum cfg_id id, char *why, size_t whylen)
{
	(void)why;
	(void)whylen;
	atomic_fetch_add_explicit(&hook_calls[id], 1, memory_order_relaxed);
	return 0;
}

Test(config, set_values)
{
	cfg_set_apply_hook(count_hook);
	cr_assert_eq(set1("hz", "100"), 0, "%s", err);
	cr_expect_eq(cfg_int(CFG_HZ), 100);
	cr_expect_eq(hook_calls[CFG_HZ], 1);
	cr_assert_eq(set1("HZ", "100"), 0, "%s", err);
	cr_expect_eq(hook_calls[CFG_HZ], 1, "hook runs only on a change");
	cr_assert_eq(set1("maxclients", "5"), 0);
	cr_expect_eq(cfg_int(CFG_MAXCLIENTS), 5);
	cr_assert_eq(set1("protected-mode", "No"), 0);
	cr_expect_eq(cfg_int(CFG_PROTECTED_MODE), 0);
	cr_assert_eq(set1("loglevel", "DEBUG"), 0);
	expect_fmt(CFG_LOGLEVEL, "debug");
	cr_assert_neq(set1("loglevel", "nothing"), 0, "Redis 7.0 has no loglevel 'nothing'");
	cr_assert_eq(set1("loglevel", "warning"), 0);
	cr_expect_eq(cfg_int(CFG_LOGLEVEL), CFG_LOG_WARNING);
	/* Redis clamps hz into 1..500 instead of refusing */
	cr_assert_eq(set1("hz", "0"), 0, "%s", err);
	cr_expect_eq(cfg_int(CFG_HZ), 1);
	cr_assert_eq(set1("hz", "100000"), 0, "%s", err);
	cr_expect_eq(cfg_int(CFG_HZ), 500);
	cr_assert_eq(set1("proto-max-bulk-len", "2MB"), 0);
	expect_fmt(CFG_PROTO_MAX_BULK_LEN, "2097152");
	cr_assert_eq(set1("client-query-buffer-limit", "2000k"), 0);
	expect_fmt(CFG_CLIENT_QUERY_BUFFER_LIMIT, "2000000");
	cr_assert_eq(set1("requirepass", "s3cret"), 0);
	expect_fmt(CFG_REQUIREPASS, "s3cret");
	cr_assert_eq(set1("timeout", "30"), 0);
	cr_assert_eq(set1("tcp-keepalive", "0"), 0);
	cr_expect_eq(cfg_int(CFG_TIMEOUT), 30);
	cr_expect_eq(cfg_int(CFG_TCP_KEEPALIVE), 0);
	cr_expect_eq(hook_calls[CFG_REQUIREPASS], 1);
	cfg_set_apply_hook(NULL);
}

Test(config, set_errors_match_redis)
{
	expect_set_err("port", "abc",
		       "ERR CONFIG SET failed (possibly related to argument "
		       "'port') - argument couldn't be parsed into an integer");
	expect_set_err("bind", "1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17",
		       "ERR CONFIG SET failed (possibly related to argument 'bind') - Too many "
		       "bind addresses specified.");
	expect_set_err("nosuch", "1",
		       "ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'");
	expect_set_err("protected-mode", "maybe",
		       "ERR CONFIG SET failed (possibly related to "
		       "argument 'protected-mode') - argument must "
		       "be 'yes' or 'no'");
	expect_set_err("hz", "-1",
		       "ERR CONFIG SET failed (possibly related to argument 'hz') - "
		       "argument must be between 0 and 2147483647 inclusive");
	expect_set_err("HZ", "abc",
		       "ERR CONFIG SET failed (possibly related to argument 'hz') - "
		       "argument couldn't be parsed into an integer");
	expect_set_err("hz", " 5",
		       "ERR CONFIG SET failed (possibly related to argument 'hz') - "
		       "argument couldn't be parsed into an integer");
	expect_set_err("hz", "1000000000000000000000",
		       "ERR CONFIG SET failed (possibly related to argument 'hz') - argument "
		       "couldn't be parsed into an integer");
	expect_set_err("timeout", "3.5",
		       "ERR CONFIG SET failed (possibly related to argument "
		       "'timeout') - argument couldn't be parsed into an "
		       "integer");
	expect_set_err("timeout", "-1",
		       "ERR CONFIG SET failed (possibly related to argument "
		       "'timeout') - argument must be between 0 and "
		       "2147483647 inclusive");
	expect_set_err("maxclients", "4294967296",
		       "ERR CONFIG SET failed (possibly related to argument 'maxclients') - "
		       "argument must be between 1 and 4294967295 inclusive");
	expect_set_err("loglevel", "debug verbose",
		       "ERR CONFIG SET failed (possibly related to argument 'loglevel') - "
		       "argument(s) must be one of the following: debug, verbose, notice, "
		       "warning");
	expect_set_err("proto-max-bulk-len", "10",
		       "ERR CONFIG SET failed (possibly related to argument 'proto-max-bulk-len') "
		       "- argument must be between 1048576 and 1073741823 inclusive");
	expect_set_err("proto-max-bulk-len", "",
		       "ERR CONFIG SET failed (possibly related to argument 'proto-max-bulk-len') "
		       "- argument must be between 1048576 and 1073741823 inclusive");
	expect_set_err("proto-max-bulk-len", "1x",
		       "ERR CONFIG SET failed (possibly related to argument 'proto-max-bulk-len') "
		       "- argument must be a memory value");
	expect_set_err("DATABASES", "2",
		       "ERR CONFIG SET failed (possibly related to argument "
		       "'DATABASES') - can't set immutable config");
	expect_set_err("dir", "/tmp",
		       "ERR CONFIG SET failed (possibly related to argument "
		       "'dir') - can't set protected config");
	{
		static const char *const immutable[] = {
		    "unixsocket", "unixsocketperm", "threads", "databases",
		    "map",	  "tcp-backlog",    "logfile", "pidfile",
		};

		for (size_t i = 0; i < sizeof(immutable) / sizeof(immutable[0]); i++) {
			char want[256];

			snprintf(want, sizeof(want),
				 "ERR CONFIG SET failed (possibly related to argument '%s') - "
				 "can't set immutable config",
				 immutable[i]);
			expect_set_err(immutable[i], "1", want);
		}
	}
	/* Error replies stay on one line. */
	expect_set_err("a\r\nb", "1",
		       "ERR Unknown option or number of arguments for CONFIG SET - 'a  b'");
	/* Nothing above changed anything. */
	expect_fmt(CFG_HZ, "10");
	expect_fmt(CFG_PROTO_MAX_BULK_LEN, "536870912");
	expect_fmt(CFG_LOGLEVEL, "notice");
}

Test(config, set_many_is_all_or_nothing)
{
	cr_assert_eq(setn(4, (const char *[]){"hz", "50", "loglevel", "debug"}), 0, "%s", err);
	expect_fmt(CFG_HZ, "50");
	expect_fmt(CFG_LOGLEVEL, "debug");

	/* A bad value anywhere changes nothing; its canonical name is reported. */
	cr_expect_eq(setn(6, (const char *[]){"loglevel", "notice", "timeout", "9", "HZ", "1x"}),
		     -1);
	cr_expect_str_eq(err, "ERR CONFIG SET failed (possibly related to argument 'hz') - "
			      "argument couldn't be parsed into an integer");
	expect_fmt(CFG_LOGLEVEL, "debug");
	expect_fmt(CFG_TIMEOUT, "0");
	expect_fmt(CFG_HZ, "50");

	/* The first bad value in argument order wins. */
	cr_expect_eq(setn(4, (const char *[]){"hz", "abc", "timeout", "-5"}), -1);
	cr_expect_str_eq(err, "ERR CONFIG SET failed (possibly related to argument 'hz') - "
			      "argument couldn't be parsed into an integer");

	cr_expect_eq(setn(4, (const char *[]){"HZ", "5", "hz", "6"}), -1);
	cr_expect_str_eq(err, "ERR CONFIG SET failed (possibly related to argument 'hz') - "
			      "duplicate parameter");
	/* Unknown vs immutable: whichever comes first is reported. */
	cr_expect_eq(setn(4, (const char *[]){"databases", "1", "nosuch", "2"}), -1);
	cr_expect_str_eq(err, "ERR CONFIG SET failed (possibly related to argument 'databases') - "
			      "can't set immutable config");
	cr_expect_eq(setn(4, (const char *[]){"nosuch", "2", "databases", "1"}), -1);
	cr_expect_str_eq(err,
			 "ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'");
	cr_expect_eq(setn(4, (const char *[]){"hz", "abc", "nosuch", "2"}), -1);
	cr_expect_str_eq(err,
			 "ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'");
	cr_expect_eq(setn(4, (const char *[]){"nosuch", "1", "nosuch2", "2"}), -1);
	cr_expect_str_eq(err,
			 "ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'");
	cr_expect_eq(setn(3, (const char *[]){"hz", "5", "port"}), -1);
	cr_expect_str_eq(err, "ERR syntax error");
	cr_expect_eq(setn(0, (const char *[]){NULL}), -1);
	cr_expect_str_eq(err, "ERR syntax error");
	expect_fmt(CFG_HZ, "50");

	/* Many pairs (more than the table has rows) are handled. */
	{
		const char *many[40];

		for (int i = 0; i < 40; i += 2) {
			many[i] = "timeout";
			many[i + 1] = "1";
		}
		cr_expect_eq(setn(40, many), -1);
		cr_expect_str_eq(err, "ERR CONFIG SET failed (possibly related to argument "
				      "'timeout') - duplicate parameter");
	}
}

/* An apply hook that refuses maxclients over 100, as the descriptor check
 * does, and counts calls. */
static _Atomic int applied[CFG_COUNT_];

static int limit_hook(enum cfg_id id, char *why, size_t whylen)
{
	atomic_fetch_add_explicit(&applied[id], 1, memory_order_relaxed);
	if (id == CFG_MAXCLIENTS && cfg_int(CFG_MAXCLIENTS) > 100) {
		snprintf(why, whylen,
			 "The operating system is not able to handle the specified number of "
			 "clients, try with 100");
		return -1;
	}
	return 0;
}

Test(config, set_apply_failure_restores_everything)
{
	cfg_set_apply_hook(limit_hook);
	cr_assert_eq(setn(4, (const char *[]){"maxclients", "50", "hz", "20"}), 0, "%s", err);
	cr_expect_eq(applied[CFG_MAXCLIENTS], 1);
	cr_expect_eq(applied[CFG_HZ], 1);

	/* The apply fails after hz changed: both go back, and are applied again
	 * with their old values; the reason and the row are Redis's. */
	cr_expect_eq(setn(6, (const char *[]){"hz", "30", "maxclients", "200", "timeout", "5"}),
		     -1);
	cr_expect_str_eq(err, "ERR CONFIG SET failed (possibly related to argument 'maxclients') - "
			      "The operating system is not able to handle the specified number "
			      "of clients, try with 100");
	expect_fmt(CFG_HZ, "20");
	expect_fmt(CFG_MAXCLIENTS, "50");
	expect_fmt(CFG_TIMEOUT, "0");
	cr_expect_geq(applied[CFG_HZ], 3, "hz applied with 30, then with 20 again");
	cr_expect_geq(applied[CFG_MAXCLIENTS], 3, "maxclients refused, then 50 applied again");

	/* One apply per CONFIG SET for rows that share it (maxmemory's three). */
	memset((void *)applied, 0, sizeof(applied));
	cr_assert_eq(setn(6, (const char *[]){"maxmemory-policy", "allkeys-lru", "maxmemory", "1mb",
					      "maxmemory-samples", "7"}),
		     0, "%s", err);
	cr_expect_eq(applied[CFG_MAXMEMORY_POLICY] + applied[CFG_MAXMEMORY] +
			 applied[CFG_MAXMEMORY_SAMPLES],
		     1);
	/* Nothing changed: nothing applied. */
	memset((void *)applied, 0, sizeof(applied));
	cr_assert_eq(setn(2, (const char *[]){"maxmemory", "1048576"}), 0, "%s", err);
	cr_expect_eq(applied[CFG_MAXMEMORY], 0);
	cfg_set_apply_hook(NULL);
	/* Without cfg_apply_start() or a hook, nothing is applied at all. */
	cr_assert_eq(set1("maxclients", "5000"), 0, "%s", err);
	expect_fmt(CFG_MAXCLIENTS, "5000");
}

/* Defect 11: client-output-buffer-limit is parsed, checked and shown as Redis
 * 7.0.15 does (every text below is redis-server's). */
static void expect_obuf(const char *value, const char *want_get)
{
	cr_assert_eq(set1("client-output-buffer-limit", value), 0, "'%s': %s", value, err);
	expect_fmt(CFG_CLIENT_OUTPUT_BUFFER_LIMIT, want_get);
}

static void expect_obuf_err(const char *value, const char *why)
{
	char want[512];

	snprintf(want, sizeof(want),
		 "ERR CONFIG SET failed (possibly related to argument "
		 "'client-output-buffer-limit') - %s",
		 why);
	expect_set_err("client-output-buffer-limit", value, want);
}

Test(config, defect11_client_output_buffer_limit_as_redis)
{
	static const char *const wrong_n = "Wrong number of arguments in buffer limit "
					   "configuration.";
	static const char *const bad_class = "Invalid client class specified in buffer limit "
					     "configuration.";
	static const char *const bad_num = "Error in hard, soft or soft_seconds setting in "
					   "buffer limit configuration.";

	/* The default, normalised: bytes, "slave", all three classes. */
	expect_fmt(CFG_CLIENT_OUTPUT_BUFFER_LIMIT,
		   "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60");
	expect_obuf_err("abc", wrong_n);
	expect_obuf_err("pubsub 1", wrong_n);
	expect_obuf_err(" ", wrong_n);
	expect_obuf_err("normal 1 2 3 foo", wrong_n);
	expect_obuf_err("normal -5 -5 -5", bad_num);
	expect_obuf_err("normal 1x 2 3", bad_num);
	expect_obuf_err("normal 1 2 3k", bad_num);
	expect_obuf_err("normal +1 2 3", bad_num);
	expect_obuf_err("normal 1 2 99999999999999999999", bad_num);
	expect_obuf_err("normal 1 2 2147483648", bad_num);
	expect_obuf_err("master 1 2 3", bad_class);
	expect_obuf_err("foo 1 2 3", bad_class);
	expect_obuf_err("\"normal 1 2\" 3", bad_class);
	/* an error anywhere changes nothing */
	expect_obuf_err("normal 1 2 3 pubsub x 1 1", bad_num);
	expect_fmt(CFG_CLIENT_OUTPUT_BUFFER_LIMIT,
		   "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60");

	expect_obuf("normal 1gb 2mb 3 replica 1k 2K 0",
		    "normal 1073741824 2097152 3 slave 1000 2000 0 pubsub 33554432 8388608 60");
	/* classes not named keep their values; the last of a class wins */
	expect_obuf("NORMAL 4 5 6 normal 7 8 9",
		    "normal 7 8 9 slave 1000 2000 0 pubsub 33554432 8388608 60");
	expect_obuf("normal  2 3", "normal 0 2 3 slave 1000 2000 0 pubsub 33554432 8388608 60");
	expect_obuf("normal 1 2 ", "normal 1 2 0 slave 1000 2000 0 pubsub 33554432 8388608 60");
	expect_obuf("normal 1 2 +3", "normal 1 2 3 slave 1000 2000 0 pubsub 33554432 8388608 60");
	expect_obuf("normal 1 2 4294967296",
		    "normal 1 2 0 slave 1000 2000 0 pubsub 33554432 8388608 60");
	expect_obuf("normal 18446744073709551615 2 3",
		    "normal 18446744073709551615 2 3 slave 1000 2000 0 pubsub 33554432 8388608 60");
	expect_obuf("normal 99999999999999999999 0 0",
		    "normal 18446744073709551615 0 0 slave 1000 2000 0 pubsub 33554432 8388608 60");
	expect_obuf("", "normal 18446744073709551615 0 0 slave 1000 2000 0 pubsub 33554432 "
			"8388608 60");
	expect_obuf("SLAVE 256mb 64mb 60 normal 0 0 0",
		    "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60");

	/* The file: one directive per class or all in one; errors name the line. */
	cr_assert_eq(load("client-output-buffer-limit pubsub 1mb 1mb 1\n"
			  "client-output-buffer-limit normal 64mb 32mb 10\n"),
		     0, "%s", err);
	expect_fmt(
	    CFG_CLIENT_OUTPUT_BUFFER_LIMIT,
	    "normal 67108864 33554432 10 slave 268435456 67108864 60 pubsub 1048576 1048576 1");
	expect_load_err("client-output-buffer-limit normal -1 0 0",
			"kvsd: t.conf:1: 'client-output-buffer-limit': Error in hard, soft or "
			"soft_seconds setting in buffer limit configuration.");
	expect_load_err("client-output-buffer-limit abc",
			"kvsd: t.conf:1: 'client-output-buffer-limit': Wrong number of arguments "
			"in buffer limit configuration.");
}

Test(config, defect7_hz_is_clamped_as_redis)
{
	cr_assert_eq(set1("hz", "0"), 0, "%s", err);
	expect_fmt(CFG_HZ, "1");
	cr_assert_eq(set1("hz", "2147483647"), 0, "%s", err);
	expect_fmt(CFG_HZ, "500");
	cr_assert_eq(load("hz 1000\n"), 0, "%s", err);
	expect_fmt(CFG_HZ, "500");
}

Test(config, set_binary_safe_names_and_values)
{
	const char *argv[2] = {"hz\0x", "7"};
	size_t lens[2] = {4, 1};

	cr_expect_eq(cfg_set_many(argv, lens, 2, err, sizeof(err)), -1);
	cr_expect_str_eq(err, "ERR Unknown option or number of arguments for CONFIG SET - 'hz'");
	argv[0] = "hz";
	argv[1] = "7\0";
	lens[0] = 2;
	lens[1] = 2;
	cr_expect_eq(cfg_set_many(argv, lens, 2, err, sizeof(err)), -1);
	argv[0] = "requirepass";
	argv[1] = "a\0b";
	lens[0] = 11;
	lens[1] = 3;
	cr_assert_eq(cfg_set_many(argv, lens, 2, err, sizeof(err)), 0);
	cr_expect(cfg_str_equal(CFG_REQUIREPASS, "a\0b", 3));
	cr_expect(!cfg_str_equal(CFG_REQUIREPASS, "a", 1));
}

Test(config, str_equal)
{
	cr_expect(cfg_str_equal(CFG_REQUIREPASS, "", 0));
	cr_expect(!cfg_str_equal(CFG_REQUIREPASS, "x", 1));
	cr_assert_eq(set1("requirepass", "secret"), 0);
	cr_expect(cfg_str_equal(CFG_REQUIREPASS, "secret", 6));
	cr_expect(!cfg_str_equal(CFG_REQUIREPASS, "secreT", 6));
	cr_expect(!cfg_str_equal(CFG_REQUIREPASS, "secre", 5));
	cr_expect(!cfg_str_equal(CFG_REQUIREPASS, "secrets", 7));
	cr_expect(!cfg_str_equal(CFG_REQUIREPASS, "secretsecret", 12));
	cr_expect(!cfg_str_equal(CFG_REQUIREPASS, "", 0));
}

/* ---------------------------------------------------------- CONFIG GET */

struct names {
	char buf[4096]; /* the *-*-* names outgrew 1 KB */
};

static void collect(enum cfg_id id, void *arg)
{
	struct names *n = arg;

	strcat(n->buf, cfg_table()[id].name);
	strcat(n->buf, ",");
}

static const char *match(const char *pat)
{
	static struct names n;

	n.buf[0] = '\0';
	cfg_match(pat, strlen(pat), collect, &n);
	return n.buf;
}

Test(config, match_glob)
{
	char all[4096] = "";

	for (int i = 0; i < CFG_COUNT_; i++) {
		strcat(all, cfg_table()[i].name);
		strcat(all, ",");
	}
	cr_expect_str_eq(match("*"), all);
	cr_expect_str_eq(match("h?"), "hz,");
	cr_expect_str_eq(match("PORT"), "port,");
	cr_expect_str_eq(match("*port*"), "port,cluster-announce-port,");
	cr_expect_str_eq(match("unixsocket*"), "unixsocket,unixsocketperm,");
	cr_expect_str_eq(match("[bp]*"),
			 "bind,port,protected-mode,proto-max-bulk-len,pidfile,bgsave-cpu-percent,"
			 "bgsave-cpu-slice-us,busy-reply-threshold,");
	cr_expect_str_eq(
	    match("*-*-*"),
	    "proto-max-bulk-len,client-query-buffer-limit,"
	    "stop-writes-on-bgsave-error,maxmemory-eviction-tenacity,active-expire-effort,"
	    "slowlog-log-slower-than,slowlog-max-len,worker-nap-us,worker-pipeline-nap-us,"
	    "run-budget-commands,"
	    "client-output-buffer-limit,client-output-pause-limit,"
	    "hll-sparse-max-bytes,latency-monitor-threshold,"
	    "latency-tracking-info-percentiles,enable-debug-command,"
	    "hash-max-listpack-entries,hash-max-listpack-value,set-max-intset-entries,"
	    "zset-max-listpack-entries,zset-max-listpack-value,list-max-listpack-size,"
	    "list-compress-depth,aof-group-wait-us,aof-load-truncated,aof-use-rdb-preamble,"
	    "rdb-save-incremental-fsync,aof-rewrite-incremental-fsync,bgsave-cpu-percent,"
	    "bgsave-cpu-slice-us,auto-aof-rewrite-percentage,auto-aof-rewrite-min-size,"
	    "key-load-delay,rdb-key-save-delay,loading-process-events-interval-bytes,"
	    "lazyfree-lazy-eviction,lazyfree-lazy-expire,lazyfree-lazy-server-del,"
	    "lazyfree-lazy-user-del,lazyfree-lazy-user-flush,busy-reply-threshold,"
	    "notify-keyspace-events,cluster-config-file,cluster-announce-ip,"
	    "cluster-announce-port,tracking-table-max-keys,");
	cr_expect_str_eq(match("nomatch*"), "");
	cr_expect_str_eq(match(""), "");
}

/* ------------------------------------------------------ CONFIG REWRITE */

Test(config, rewrite_without_file)
{
	cr_expect_eq(cfg_rewrite(err, sizeof(err)), -1);
	cr_expect_str_eq(err, "ERR The server is running without a config file");
}

Test(config, rewrite_round_trip)
{
	char tmpl[] = "/tmp/kvsd-cfg-XXXXXX";
	char *d = mkdtemp(tmpl), *text, *again, *want, *cwd = getcwd(NULL, 0);
	char *path = write_temp(d, "r.conf",
				"# kvsd test config\n"
				"\n"
				"# the port\n"
				"port 7000\n"
				"PORT 7001\n"
				"   # indented comment\n"
				"\n"
				" \t\n"
				"hz 10\n"
				"requirepass \"old\"\n"
				"loglevel verbose\n");
	const char *argv[] = {"kvsd", path, "--maxclients", "77"};
	struct stat sb;
	size_t wl;

	chmod(path, 0600);
	cr_assert_eq(load_args(4, argv), 0, "%s", err);
	expect_fmt(CFG_PORT, "7001");
	cr_assert_eq(set1("hz", "20"), 0);
	cr_assert_eq(set1("requirepass", "new \"pw\"\n"), 0);
	cr_assert_eq(set1("loglevel", "notice"), 0); /* back to default: line kept */
	cr_assert_eq(set1("proto-max-bulk-len", "3mb"), 0);
	cr_assert_eq(set1("client-query-buffer-limit", "1048577"), 0);
	cr_assert_eq(set1("protected-mode", "no"), 0);
	cr_assert_eq(set1("client-output-buffer-limit", "normal 1mb 2mb 3"), 0);
	cr_assert_eq(cfg_rewrite(err, sizeof(err)), 0, "%s", err);

	text = slurp(path);
	wl = strlen(cwd) + 1024;
	want = malloc(wl);
	snprintf(want, wl,
		 "# kvsd test config\n"
		 "\n"
		 "# the port\n"
		 "port 7001\n"
		 "\n" /* the duplicate PORT line, blanked */
		 "# indented comment\n"
		 "\n" /* two blank lines, collapsed */
		 "hz 20\n"
		 "requirepass \"new \\\"pw\\\"\\n\"\n"
		 "loglevel notice\n"
		 "\n" /* the old file's last, empty line */
		 "# Generated by CONFIG REWRITE\n"
		 "protected-mode no\n"
		 "maxclients 77\n"
		 "proto-max-bulk-len 3mb\n"
		 "client-query-buffer-limit 1048577\n"
		 "dir \"%s\"\n"
		 "client-output-buffer-limit normal 1048576 2097152 3 slave 268435456 67108864 60 "
		 "pubsub 33554432 8388608 60\n",
		 cwd);
	cr_expect_str_eq(text, want, "got:\n%s", text);
	cr_expect_eq(stat(path, &sb), 0);
	cr_expect_eq(sb.st_mode & 0777, 0600, "mode %o", sb.st_mode & 0777);

	/* Rewriting again adds no second signature; as in Redis the file then
	 * keeps one trailing blank line, and further rewrites change nothing. */
	cr_assert_eq(cfg_rewrite(err, sizeof(err)), 0, "%s", err);
	again = slurp(path);
	cr_expect_eq(strlen(again), strlen(text) + 1);
	cr_expect(strncmp(again, text, strlen(text)) == 0);
	cr_expect_str_eq(again + strlen(text), "\n");
	free(text);
	cr_assert_eq(cfg_rewrite(err, sizeof(err)), 0, "%s", err);
	text = slurp(path);
	cr_expect_str_eq(text, again);

	/* Loading the rewritten file reproduces the running values. */
	{
		char *before[CFG_COUNT_];
		const char *a2[] = {"kvsd", path};

		for (int i = 0; i < CFG_COUNT_; i++)
			before[i] = cfg_format((enum cfg_id)i);
		cfg_deinit();
		cfg_init();
		cr_assert_eq(load_args(2, a2), 0, "%s", err);
		for (int i = 0; i < CFG_COUNT_; i++) {
			expect_fmt((enum cfg_id)i, before[i]);
			free(before[i]);
		}
	}

	/* No temporary file is left behind. */
	{
		char cmd[256];

		snprintf(cmd, sizeof(cmd), "test $(ls -A %s | wc -l) -eq 1", d);
		cr_expect_eq(system(cmd), 0, "stray files in %s", d);
	}
	unlink(path);
	rmdir(d);
	free(text);
	free(again);
	free(want);
	free(path);
	free(cwd);
}

Test(config, rewrite_recreates_missing_file)
{
	char tmpl[] = "/tmp/kvsd-cfg-XXXXXX";
	char *d = mkdtemp(tmpl), *text;
	char *path = write_temp(d, "m.conf", "hz 11\n");
	const char *argv[] = {"kvsd", path};

	cr_assert_eq(load_args(2, argv), 0, "%s", err);
	unlink(path);
	cr_assert_eq(cfg_rewrite(err, sizeof(err)), 0, "%s", err);
	text = slurp(path);
	cr_expect(strncmp(text, "# Generated by CONFIG REWRITE\nhz 11\ndir \"", 41) == 0, "%s",
		  text);
	unlink(path);
	cr_assert_eq(rmdir(d), 0);
	free(text);
	free(path);
}

Test(config, rewrite_error)
{
	char tmpl[] = "/tmp/kvsd-cfg-XXXXXX";
	char *d = mkdtemp(tmpl);
	char *path = write_temp(d, "e.conf", "hz 11\n");
	const char *argv[] = {"kvsd", path};

	cr_assert_eq(load_args(2, argv), 0, "%s", err);
	if (geteuid() == 0) {
		/* root ignores directory permissions: make the directory vanish. */
		unlink(path);
		rmdir(d);
	} else {
		chmod(d, 0500);
	}
	cr_expect_eq(cfg_rewrite(err, sizeof(err)), -1);
	cr_expect(strncmp(err, "ERR Rewriting config file: ", 27) == 0, "%s", err);
	chmod(d, 0700);
	unlink(path);
	rmdir(d);
	free(path);
}

/* ------------------------------------------------------------- threads */

static atomic_int stop;

static void *reader(void *arg)
{
	long long seen = 0;

	(void)arg;
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		long long hz = cfg_int(CFG_HZ);
		char *s = cfg_str_dup(CFG_REQUIREPASS);

		cr_assert(hz >= 1 && hz <= 500);
		cr_assert(strcmp(s, "aaaa") == 0 || strcmp(s, "bb") == 0 || s[0] == '\0');
		free(s);
		seen++;
	}
	return (void *)(intptr_t)seen;
}

Test(config, concurrent_readers_and_setter)
{
	pthread_t t[2];

	for (int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, reader, NULL);
	for (int i = 0; i < 2000; i++) {
		char v[8];

		snprintf(v, sizeof(v), "%d", 1 + i % 500);
		cr_assert_eq(set1("hz", v), 0);
		cr_assert_eq(set1("requirepass", i % 2 ? "aaaa" : "bb"), 0);
		(void)cfg_str_equal(CFG_REQUIREPASS, "bb", 2);
	}
	atomic_store_explicit(&stop, 1, memory_order_relaxed);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
}

Test(config, help_lists_every_key)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);

	cfg_print_help(fp);
	fclose(fp);
	for (int i = 0; i < CFG_COUNT_; i++)
		cr_expect_not_null(strstr(buf, cfg_table()[i].name));
	free(buf);
}

/* ------------------------------------------------------ aliases */

/* Redis 7.0's *-ziplist-* names are aliases of the *-listpack-* rows: the
 * same row from the file, the command line and CONFIG SET (checked against
 * redis-server 7.0.15: same bounds, memory units on the -value ones). */
Test(config, ziplist_aliases_name_the_listpack_rows)
{
	cr_expect_eq(cfg_lookup("hash-max-ziplist-entries"), CFG_HASH_MAX_LISTPACK_ENTRIES);
	cr_expect_eq(cfg_lookup("HASH-MAX-ZIPLIST-VALUE"), CFG_HASH_MAX_LISTPACK_VALUE);
	cr_expect_eq(cfg_lookup("zset-max-ziplist-entries"), CFG_ZSET_MAX_LISTPACK_ENTRIES);
	cr_expect_eq(cfg_lookup("zset-max-ziplist-value"), CFG_ZSET_MAX_LISTPACK_VALUE);
	cr_expect_eq(cfg_lookup("set-max-ziplist-entries"), -1);
	expect_fmt(CFG_HASH_MAX_LISTPACK_ENTRIES, "512");
	expect_fmt(CFG_ZSET_MAX_LISTPACK_ENTRIES, "128");
	cr_assert_eq(load("hash-max-ziplist-entries 7\nzset-max-ziplist-value 1kb\n"), 0, "%s",
		     err);
	expect_fmt(CFG_HASH_MAX_LISTPACK_ENTRIES, "7");
	expect_fmt(CFG_ZSET_MAX_LISTPACK_VALUE, "1024");
	cr_expect_neq(load("set-max-intset-entries -1\n"), 0);
	cr_expect_neq(load("hash-max-listpack-entries 1k\n"), 0);
}

/* A bad value names the alias the client used (redis-server 7.0.15:
 * "CONFIG SET ZSET-MAX-ZIPLIST-ENTRIES abc" names zset-max-ziplist-entries). */
Test(config, set_error_names_the_alias_used)
{
	const char *argv[2] = {"ZSET-MAX-ZIPLIST-ENTRIES", "abc"};
	size_t lens[2] = {24, 3};

	cr_assert_neq(cfg_set_many(argv, lens, 2, err, sizeof(err)), 0);
	cr_expect_str_eq(err, "ERR CONFIG SET failed (possibly related to argument "
			      "'zset-max-ziplist-entries') - argument couldn't be parsed into an "
			      "integer");
	argv[0] = "ZSET-MAX-LISTPACK-ENTRIES";
	lens[0] = 25;
	cr_assert_neq(cfg_set_many(argv, lens, 2, err, sizeof(err)), 0);
	cr_expect_str_eq(err, "ERR CONFIG SET failed (possibly related to argument "
			      "'zset-max-listpack-entries') - argument couldn't be parsed into an "
			      "integer");
}

/* Redis 7.0.15 keeps an alias as a config of its own: one CONFIG SET may
 * name a row under both spellings (no "duplicate parameter"; the last
 * wins), but not the same spelling twice. */
Test(config, set_name_and_alias_together)
{
	const char *a1[4] = {"hash-max-ziplist-entries", "1", "hash-max-listpack-entries", "2"};
	size_t l1[4] = {24, 1, 25, 1};
	const char *a2[4] = {"hash-max-listpack-entries", "3", "HASH-MAX-ZIPLIST-ENTRIES", "4"};
	size_t l2[4] = {25, 1, 24, 1};
	const char *a3[4] = {"hash-max-ziplist-entries", "5", "HASH-max-ziplist-entries", "6"};
	size_t l3[4] = {24, 1, 24, 1};

	cr_assert_eq(cfg_set_many(a1, l1, 4, err, sizeof(err)), 0, "%s", err);
	expect_fmt(CFG_HASH_MAX_LISTPACK_ENTRIES, "2");
	cr_assert_eq(cfg_set_many(a2, l2, 4, err, sizeof(err)), 0, "%s", err);
	expect_fmt(CFG_HASH_MAX_LISTPACK_ENTRIES, "4");
	cr_assert_neq(cfg_set_many(a3, l3, 4, err, sizeof(err)), 0);
	cr_expect_str_eq(err, "ERR CONFIG SET failed (possibly related to argument "
			      "'HASH-max-ziplist-entries') - duplicate parameter");
	expect_fmt(CFG_HASH_MAX_LISTPACK_ENTRIES, "4");
}
