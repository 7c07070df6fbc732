/*
 * stress_script.c — Lua scripts under contention against a real kvsd ($KVSD_BIN), issue 16.
 *
 * A plain executable (also run in the ThreadSanitizer build, where the server is
 * instrumented too and a race report makes it fail). For --seconds S (default 3):
 *  - tellers run a transfer script (EVALSHA) between two random balance keys; every
 *    fourth one also touches an undeclared key, and every eighth one calls ECHO
 *    first (not a map-only command: the script restarts exclusively);
 *  - auditors sum every balance with a script (EVAL_RO) and with MGET in MULTI/EXEC:
 *    the total never changes;
 *  - loaders SCRIPT LOAD a fresh script and at once EVALSHA it on another connection
 *    (another worker, likely): NOSCRIPT after LOAD returned is a failure; one of them
 *    SCRIPT FLUSHes now and then, after which NOSCRIPT is allowed until the next LOAD;
 *  - functions: every other transfer is FCALL of the same transfer as a library
 *    function, every third script audit FCALL_RO of a no-writes one, and a function
 *    loader FUNCTION LOAD REPLACEs a library whose function returns a new number and
 *    at once FCALLs it on another connection: it must answer that number (the
 *    registry is shared; every worker reloads its libraries on the new generation).
 * At the end: the total is exact, INFO commandstats counts one ECHO per script that
 * called it (an effect outside the map never runs twice), SIGTERM, exit status 0. Exits 1 on the
 * first violation.
 */
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "kvsd_proc.h"

#define ACCOUNTS 16
#define INITIAL	 1000

static struct kvsd_proc srv;
static long long deadline_ms;
static atomic_int failed;
static atomic_llong transfers, audits, loads, named;
static char transfer_sha[41];

static const char transfer_src[] =
    "local a = tonumber(redis.call('GET', KEYS[1])) "
    "local b = tonumber(redis.call('GET', KEYS[2])) "
    "local n = tonumber(ARGV[1]) "
    "if ARGV[2] == 'named' then redis.call('ECHO', 'teller') end "
    "if a < n then return 0 end "
    "redis.call('SET', KEYS[1], a - n) "
    "redis.call('SET', KEYS[2], b + n) "
    "if ARGV[2] == 'extra' then redis.call('INCR', 'undeclared:count') end "
    "return 1";

static const char bank_lib[] =
    "#!lua name=bank\n"
    "redis.register_function('transfer', function(keys, args) "
    "local a = tonumber(redis.call('GET', keys[1])) "
    "local b = tonumber(redis.call('GET', keys[2])) "
    "local n = tonumber(args[1]) "
    "if args[2] == 'named' then redis.call('ECHO', 'teller') end "
    "if a < n then return 0 end "
    "redis.call('SET', keys[1], a - n) "
    "redis.call('SET', keys[2], b + n) "
    "if args[2] == 'extra' then redis.call('INCR', 'undeclared:count') end "
    "return 1 end)\n"
    "redis.register_function{function_name='audit', flags={'no-writes'}, "
    "callback=function() local t = 0 "
    "for i = 0, 15 do t = t + tonumber(redis.call('GET', 'bal:' .. i)) end "
    "return t end}\n";

static const char audit_src[] =
    "local t = 0 "
    "for i = 0, 15 do t = t + tonumber(redis.call('GET', 'bal:' .. i)) end "
    "return t";

static void fail(const char *what, const char *detail)
{
	if (!atomic_exchange(&failed, 1))
		fprintf(stderr, "stress_script: FAIL: %s%s%s\n", what, detail ? ": " : "",
			detail ? detail : "");
}

static int running(void)
{
	return !atomic_load(&failed) && kvsd_now_ms() < deadline_ms;
}

static void *teller(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg;
	redisContext *c = kvsd_connect(&srv);

	if (!c) {
		fail("connect", NULL);
		return NULL;
	}
	for (long i = 0; running(); i++) {
		int a = rand_r(&seed) % ACCOUNTS, b = rand_r(&seed) % ACCOUNTS;
		char ka[16], kb[16], amt[16];

		if (a == b)
			b = (a + 1) % ACCOUNTS;
		snprintf(ka, sizeof(ka), "bal:%d", a);
		snprintf(kb, sizeof(kb), "bal:%d", b);
		snprintf(amt, sizeof(amt), "%d", 1 + rand_r(&seed) % 50);
		const char *mode = i % 8 == 7 ? "named" : i % 4 == 3 ? "extra" : "plain";
		redisReply *r =
		    i % 2 ? redisCommand(c, "FCALL transfer 2 %s %s %s %s", ka, kb, amt, mode)
			  : redisCommand(c, "EVALSHA %s 2 %s %s %s %s", transfer_sha, ka, kb, amt,
					 mode);
		if (!r) {
			fail("connection lost", c->errstr);
			break;
		}
		if (r->type != REDIS_REPLY_INTEGER)
			fail("transfer reply", r->str);
		freeReplyObject(r);
		atomic_fetch_add(&transfers, 1);
		if (mode[0] == 'n')
			atomic_fetch_add(&named, 1);
	}
	redisFree(c);
	return NULL;
}

static void check_total(long long total, const char *how)
{
	char buf[64];

	if (total != (long long)ACCOUNTS * INITIAL) {
		snprintf(buf, sizeof(buf), "%s saw %lld", how, total);
		fail("total changed", buf);
	}
}

static void *auditor(void *arg)
{
	redisContext *c = kvsd_connect(&srv);

	(void)arg;
	if (!c) {
		fail("connect", NULL);
		return NULL;
	}
	for (int i = 0; running(); i++) {
		redisReply *r;

		if (i % 2 == 0) {
			r = i % 3 ? redisCommand(c, "EVAL_RO %s 0", audit_src)
				  : redisCommand(c, "FCALL_RO audit 0");
			if (!r) {
				fail("connection lost", c->errstr);
				break;
			}
			if (r->type != REDIS_REPLY_INTEGER)
				fail("audit script reply", r->str);
			else
				check_total(r->integer, "script");
			freeReplyObject(r);
		} else {
			redisAppendCommand(c, "MULTI");
			redisAppendCommand(c,
					   "MGET bal:0 bal:1 bal:2 bal:3 bal:4 bal:5 bal:6 bal:7 "
					   "bal:8 bal:9 bal:10 bal:11 bal:12 bal:13 bal:14 bal:15");
			redisAppendCommand(c, "EXEC");
			for (int k = 0; k < 3; k++) {
				if (redisGetReply(c, (void **)&r) != REDIS_OK) {
					fail("connection lost", c->errstr);
					redisFree(c);
					return NULL;
				}
				if (k == 2) {
					long long t = 0;

					if (r->type != REDIS_REPLY_ARRAY || r->elements != 1 ||
					    r->element[0]->elements != ACCOUNTS) {
						fail("EXEC reply", NULL);
					} else {
						for (size_t j = 0; j < ACCOUNTS; j++)
							t += atoll(r->element[0]->element[j]->str);
						check_total(t, "MULTI/EXEC");
					}
				}
				freeReplyObject(r);
			}
		}
		atomic_fetch_add(&audits, 1);
	}
	redisFree(c);
	return NULL;
}

/* SCRIPT LOAD on one connection, EVALSHA at once on another. */
static void *loader(void *arg)
{
	int id = (int)(uintptr_t)arg;
	redisContext *a = kvsd_connect(&srv), *b = kvsd_connect(&srv);

	if (!a || !b) {
		fail("connect", NULL);
		goto out;
	}
	for (long i = 0; running(); i++) {
		char src[96];
		redisReply *r;

		snprintf(src, sizeof(src), "return '%d:%ld'", id, i);
		r = redisCommand(a, "SCRIPT LOAD %s", src);
		if (!r || r->type != REDIS_REPLY_STRING) {
			fail("SCRIPT LOAD", r ? r->str : a->errstr);
			if (r)
				freeReplyObject(r);
			break;
		}
		char sha[41];
		snprintf(sha, sizeof(sha), "%s", r->str);
		freeReplyObject(r);
		r = redisCommand(b, "EVALSHA %s 0", sha);
		if (!r) {
			fail("connection lost", b->errstr);
			break;
		}
		/* a flush by the other loader may have come between: only then NOSCRIPT */
		if (r->type == REDIS_REPLY_ERROR && id == 0 && strncmp(r->str, "NOSCRIPT", 8) == 0)
			fail("NOSCRIPT after SCRIPT LOAD returned", sha);
		else if (r->type == REDIS_REPLY_STRING && strcmp(r->str, src + 8) != 0 &&
			 strncmp(r->str, src + 8, strlen(r->str)) != 0)
			fail("EVALSHA ran another script", r->str);
		freeReplyObject(r);
		if (id == 1 && i % 50 == 49)
			freeReplyObject(redisCommand(a, "SCRIPT FLUSH"));
		atomic_fetch_add(&loads, 1);
	}
out:
	if (a)
		redisFree(a);
	if (b)
		redisFree(b);
	return NULL;
}

/* FUNCTION LOAD REPLACE on one connection, FCALL at once on another. */
static void *func_loader(void *arg)
{
	redisContext *a = kvsd_connect(&srv), *b = kvsd_connect(&srv);

	(void)arg;
	if (!a || !b) {
		fail("connect", NULL);
		goto out;
	}
	for (long i = 0; running(); i++) {
		char src[128];
		redisReply *r;

		snprintf(src, sizeof(src),
			 "#!lua name=gen\nredis.register_function('gen', function() return %ld "
			 "end)",
			 i);
		r = redisCommand(a, "FUNCTION LOAD REPLACE %s", src);
		if (!r || r->type != REDIS_REPLY_STRING) {
			fail("FUNCTION LOAD", r ? r->str : a->errstr);
			if (r)
				freeReplyObject(r);
			break;
		}
		freeReplyObject(r);
		r = redisCommand(b, "FCALL gen 0");
		if (!r) {
			fail("connection lost", b->errstr);
			break;
		}
		if (r->type != REDIS_REPLY_INTEGER || r->integer != i)
			fail("FCALL after FUNCTION LOAD returned ran another version",
			     r->type == REDIS_REPLY_ERROR ? r->str : NULL);
		freeReplyObject(r);
		atomic_fetch_add(&loads, 1);
	}
out:
	if (a)
		redisFree(a);
	if (b)
		redisFree(b);
	return NULL;
}

int main(int argc, char **argv)
{
	int seconds = 3, st;
	pthread_t th[16];
	int nth = 0;

	for (int i = 1; i + 1 < argc; i += 2)
		if (strcmp(argv[i], "--seconds") == 0)
			seconds = atoi(argv[i + 1]);
	signal(SIGPIPE, SIG_IGN);
	setenv("TSAN_OPTIONS", "exitcode=66", 0);
	srv.keep_log = 1;
	if (kvsd_start(&srv,
		       kvsd_bin_is_redis() ? NULL : (const char *[]){"--threads", "3", NULL})) {
		fprintf(stderr, "stress_script: FAIL: kvsd did not start\n");
		return 1;
	}
	redisContext *c = kvsd_connect(&srv);
	if (!c) {
		kvsd_kill(&srv);
		return 1;
	}
	for (int i = 0; i < ACCOUNTS; i++)
		freeReplyObject(redisCommand(c, "SET bal:%d %d", i, INITIAL));
	redisReply *r = redisCommand(c, "SCRIPT LOAD %s", transfer_src);
	if (!r || r->type != REDIS_REPLY_STRING) {
		fprintf(stderr, "stress_script: FAIL: SCRIPT LOAD\n");
		kvsd_kill(&srv);
		return 1;
	}
	snprintf(transfer_sha, sizeof(transfer_sha), "%s", r->str);
	freeReplyObject(r);
	r = redisCommand(c, "FUNCTION LOAD %s", bank_lib);
	if (!r || r->type != REDIS_REPLY_STRING) {
		fprintf(stderr, "stress_script: FAIL: FUNCTION LOAD: %s\n", r ? r->str : "?");
		kvsd_kill(&srv);
		return 1;
	}
	freeReplyObject(r);
	deadline_ms = kvsd_now_ms() + seconds * 1000LL;
	for (int i = 0; i < 4; i++)
		pthread_create(&th[nth++], NULL, teller, (void *)(uintptr_t)(7 * i + 1));
	for (int i = 0; i < 2; i++)
		pthread_create(&th[nth++], NULL, auditor, NULL);
	/* loader 1 flushes; loader 0 never expects NOSCRIPT... unless loader 1 flushed: so
	 * loader 0 runs alone in the first half, both in the second */
	pthread_create(&th[nth++], NULL, loader, (void *)(uintptr_t)0);
	pthread_create(&th[nth++], NULL, func_loader, NULL);
	for (int i = 0; i < nth; i++)
		pthread_join(th[i], NULL);
	nth = 0;
	if (!atomic_load(&failed)) {
		deadline_ms = kvsd_now_ms() + 1000;
		/* the transfer script must survive nothing: reload it after loader 1's flushes */
		pthread_create(&th[nth++], NULL, loader, (void *)(uintptr_t)1);
		for (int i = 0; i < nth; i++)
			pthread_join(th[i], NULL);
	}
	/* the ECHO of "named" transfers has effects outside the map: it ran exactly
	 * once per script (restarted exclusively before it, never re-run) */
	r = redisCommand(c, "INFO commandstats");
	if (r && r->type == REDIS_REPLY_STRING && !kvsd_bin_is_redis()) {
		const char *e = strstr(r->str, "cmdstat_echo:calls=");
		long long calls = e ? atoll(e + 19) : 0;
		char buf[64];

		if (calls != atomic_load(&named)) {
			snprintf(buf, sizeof(buf), "%lld ECHO calls for %lld scripts", calls,
				 (long long)atomic_load(&named));
			fail("an outside effect ran twice or never", buf);
		}
	}
	if (r)
		freeReplyObject(r);
	r = redisCommand(c, "EVAL_RO %s 0", audit_src);
	if (!r || r->type != REDIS_REPLY_INTEGER)
		fail("final audit", NULL);
	else
		check_total(r->integer, "final script");
	if (r)
		freeReplyObject(r);
	redisFree(c);
	st = kvsd_stop(&srv, 30000);
	if (st != 0) {
		kvsd_dump_log(&srv);
		fail("server exit status", NULL);
	}
	kvsd_kill(&srv);
	printf("stress_script: %s: %lld transfers (%lld with ECHO), %lld audits, %lld "
	       "load+evalsha in %ds\n",
	       atomic_load(&failed) ? "FAIL" : "ok", (long long)transfers, (long long)named,
	       (long long)audits, (long long)loads, seconds);
	return atomic_load(&failed) ? 1 : 0;
}
