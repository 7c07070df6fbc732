/*
 * test_basic.c — string and key commands through hiredis against a real kvsd.
 *
 * Every test starts its own server (kvsd_start) and stops it with SIGTERM at the end,
 * asserting exit status 0 (under ASan a leak makes it non-zero). Arguments are passed with
 * %b so keys and values carry NUL bytes and CRLF; large values (1 MB, 20 MB) check that
 * bulk parsing and reply writing handle buffers far beyond a single read or write.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "hr_test.h"

static struct kvsd_proc srv;
static redisContext *ctx;

static void basic_setup(void)
{
	int rc;

	signal(SIGPIPE, SIG_IGN);
	rc = kvsd_start(&srv, NULL);
	cr_assert(rc == 0, "kvsd_start: %s", strerror(-rc));
	ctx = HR_CONNECT(&srv);
}

static void basic_teardown(void)
{
	int st;

	if (ctx)
		redisFree(ctx);
	ctx = NULL;
	st = kvsd_stop(&srv, 15000);
	cr_expect(st == 0, "server exit status after SIGTERM: %d (want 0)", st);
}

TestSuite(basic, .init = basic_setup, .fini = basic_teardown, .timeout = 90);

/* Deterministic filler with every byte value, including NUL, CR and LF. */
static void fill_pattern(char *buf, size_t len, unsigned seed)
{
	unsigned x = seed * 2654435761u + 1;

	for (size_t i = 0; i < len; i++) {
		x = x * 1103515245u + 12345u;
		buf[i] = (char)(x >> 16);
	}
	if (len > 4)
		memcpy(buf, "\r\n\0\r", 4);
}

Test(basic, binary_safe_keys_and_values)
{
	static const char key[] = "k\0ey\r\nwith\0nul";
	static const char val[] = "\0\r\n$3\r\nfoo\r\n\0*1\r\n";
	static const char key2[] = "\r\n";

	HR_OK(HR_CMD(ctx, "SET %b %b", key, sizeof(key) - 1, val, sizeof(val) - 1));
	HR_BULK(HR_CMD(ctx, "GET %b", key, sizeof(key) - 1), val, sizeof(val) - 1);
	HR_INT(HR_CMD(ctx, "STRLEN %b", key, sizeof(key) - 1), (long long)sizeof(val) - 1);
	/* The same key without its tail is a different key. */
	HR_NIL(HR_CMD(ctx, "GET %b", key, (size_t)1));
	HR_OK(HR_CMD(ctx, "SET %b %b", key2, sizeof(key2) - 1, "", (size_t)0));
	HR_BULK(HR_CMD(ctx, "GET %b", key2, sizeof(key2) - 1), "", 0);
	HR_INT(HR_CMD(ctx, "EXISTS %b %b", key, sizeof(key) - 1, key2, sizeof(key2) - 1), 2);
	HR_INT(HR_CMD(ctx, "APPEND %b %b", key2, sizeof(key2) - 1, "\0x", (size_t)2), 2);
	HR_BULK(HR_CMD(ctx, "GET %b", key2, sizeof(key2) - 1), "\0x", 2);
}

static void big_value_roundtrip(size_t len, unsigned seed)
{
	char *val = malloc(len);
	redisReply *r;

	cr_assert(val != NULL);
	fill_pattern(val, len, seed);
	HR_OK(HR_CMD(ctx, "SET big:%u %b", seed, val, len));
	r = HR_CMD(ctx, "GET big:%u", seed);
	HR_EXPECT_TYPE(r, REDIS_REPLY_STRING, "GET of a big value");
	cr_assert(r->len == len, "GET big value: %zu bytes, want %zu", r->len, len);
	cr_assert(memcmp(r->str, val, len) == 0, "GET big value: content differs");
	freeReplyObject(r);
	HR_INT(HR_CMD(ctx, "STRLEN big:%u", seed), (long long)len);
	/* A range from the middle, across what would be read boundaries. */
	r = HR_CMD(ctx, "GETRANGE big:%u %lu %lu", seed, (unsigned long)(len / 2),
		   (unsigned long)(len / 2 + 99));
	HR_BULK(r, val + len / 2, 100);
	free(val);
}

Test(basic, one_megabyte_value)
{
	big_value_roundtrip(1u << 20, 1);
}

Test(basic, twenty_megabyte_value)
{
	big_value_roundtrip(20u << 20, 2);
	/* The connection still works after the big transfer. */
	HR_STATUS(HR_CMD(ctx, "PING"), "PONG");
}

Test(basic, mset_mget)
{
	redisReply *r;

	HR_OK(HR_CMD(ctx, "MSET a 1 b %b c 3", "t\0o", (size_t)3));
	r = HR_CMD(ctx, "MGET a nosuch b c");
	HR_EXPECT_TYPE(r, REDIS_REPLY_ARRAY, "MGET");
	cr_assert_eq(r->elements, 4);
	cr_assert(r->element[0]->type == REDIS_REPLY_STRING && r->element[0]->len == 1 &&
		  r->element[0]->str[0] == '1');
	cr_assert(r->element[1]->type == REDIS_REPLY_NIL, "MGET of a missing key: %s",
		  hr_show(r->element[1]));
	cr_assert(r->element[2]->len == 3 && memcmp(r->element[2]->str, "t\0o", 3) == 0);
	cr_assert(r->element[3]->len == 1 && r->element[3]->str[0] == '3');
	freeReplyObject(r);
	HR_ERR(HR_CMD(ctx, "MSET a 1 b"), "ERR wrong number of arguments for 'mset' command");
	HR_INT(HR_CMD(ctx, "MSETNX a 9 z 9"), 0);
	HR_NIL(HR_CMD(ctx, "GET z"));
	HR_INT(HR_CMD(ctx, "MSETNX y 8 z 9"), 1);
	HR_STR(HR_CMD(ctx, "GET z"), "9");
}

Test(basic, incr_family)
{
	HR_INT(HR_CMD(ctx, "INCR n"), 1);
	HR_INT(HR_CMD(ctx, "INCRBY n 41"), 42);
	HR_INT(HR_CMD(ctx, "DECR n"), 41);
	HR_INT(HR_CMD(ctx, "DECRBY n 50"), -9);
	HR_STR(HR_CMD(ctx, "GET n"), "-9");
	HR_OK(HR_CMD(ctx, "SET s abc"));
	HR_ERR(HR_CMD(ctx, "INCR s"), "ERR value is not an integer or out of range");
	HR_OK(HR_CMD(ctx, "SET m 9223372036854775807"));
	HR_ERR(HR_CMD(ctx, "INCR m"), "ERR increment or decrement would overflow");
	HR_STR(HR_CMD(ctx, "INCRBYFLOAT f 1.5"), "1.5");
	HR_ERR(HR_CMD(ctx, "INCR"), "ERR wrong number of arguments for 'incr' command");
}

Test(basic, expire_ttl_pttl)
{
	redisReply *r;

	HR_OK(HR_CMD(ctx, "SET k v"));
	HR_INT(HR_CMD(ctx, "TTL k"), -1);
	HR_INT(HR_CMD(ctx, "PTTL k"), -1);
	HR_INT(HR_CMD(ctx, "TTL nosuch"), -2);
	HR_INT(HR_CMD(ctx, "PTTL nosuch"), -2);
	HR_INT(HR_CMD(ctx, "EXPIRE nosuch 10"), 0);
	HR_INT(HR_CMD(ctx, "EXPIRE k 100"), 1);
	r = HR_CMD(ctx, "TTL k");
	HR_EXPECT_TYPE(r, REDIS_REPLY_INTEGER, "TTL");
	cr_assert(r->integer == 100 || r->integer == 99, "TTL after EXPIRE 100: %lld", r->integer);
	freeReplyObject(r);
	r = HR_CMD(ctx, "PTTL k");
	HR_EXPECT_TYPE(r, REDIS_REPLY_INTEGER, "PTTL");
	cr_assert(r->integer > 98000 && r->integer <= 100000, "PTTL after EXPIRE 100: %lld",
		  r->integer);
	freeReplyObject(r);
	HR_INT(HR_CMD(ctx, "PERSIST k"), 1);
	HR_INT(HR_CMD(ctx, "TTL k"), -1);
	HR_OK(HR_CMD(ctx, "SET e v EX 10"));
	r = HR_CMD(ctx, "TTL e");
	cr_assert(r->type == REDIS_REPLY_INTEGER && r->integer >= 9 && r->integer <= 10,
		  "TTL after SET EX 10: %s", hr_show(r));
	freeReplyObject(r);
	/* SET without KEEPTTL clears the TTL. */
	HR_OK(HR_CMD(ctx, "SET e v2"));
	HR_INT(HR_CMD(ctx, "TTL e"), -1);
	HR_ERR(HR_CMD(ctx, "EXPIRE k abc"), "ERR value is not an integer or out of range");
}

Test(basic, lazy_expiry)
{
	HR_OK(HR_CMD(ctx, "SET short v PX 50"));
	HR_OK(HR_CMD(ctx, "SET long v"));
	HR_INT(HR_CMD(ctx, "PEXPIRE long 100000"), 1);
	HR_STR(HR_CMD(ctx, "GET short"), "v");
	kvsd_sleep_ms(120);
	HR_NIL(HR_CMD(ctx, "GET short"));
	HR_INT(HR_CMD(ctx, "EXISTS short"), 0);
	HR_INT(HR_CMD(ctx, "TTL short"), -2);
	HR_INT(HR_CMD(ctx, "DBSIZE"), 1);
	HR_STR(HR_CMD(ctx, "GET long"), "v");
	/* An expired key is not counted by EXISTS/KEYS even before anything touched it. */
	HR_OK(HR_CMD(ctx, "SET short2 v PX 30"));
	kvsd_sleep_ms(80);
	HR_INT(HR_CMD(ctx, "EXISTS short2"), 0);
	HR_INT(HR_CMD(ctx, "DBSIZE"), 1);
}

Test(basic, del_exists_type)
{
	HR_OK(HR_CMD(ctx, "SET a 1"));
	HR_OK(HR_CMD(ctx, "SET b 2"));
	HR_INT(HR_CMD(ctx, "EXISTS a b c a"), 3);
	HR_STATUS(HR_CMD(ctx, "TYPE a"), "string");
	HR_STATUS(HR_CMD(ctx, "TYPE c"), "none");
	HR_INT(HR_CMD(ctx, "DEL a c"), 1);
	HR_INT(HR_CMD(ctx, "EXISTS a"), 0);
	HR_INT(HR_CMD(ctx, "UNLINK b"), 1);
	HR_INT(HR_CMD(ctx, "DBSIZE"), 0);
	HR_ERR(HR_CMD(ctx, "NOSUCHCMD x"),
	       "ERR unknown command 'NOSUCHCMD', with args beginning with: 'x' ");
}

#define SCAN_KEYS 5000

Test(basic, scan_full_iteration)
{
	static unsigned char seen[SCAN_KEYS];
	char cursor[32] = "0";
	size_t total = 0;
	int calls = 0;

	for (int i = 0; i < SCAN_KEYS; i++)
		redisAppendCommand(ctx, "SET scan:%d %d", i, i);
	redisAppendCommand(ctx, "SET other:x 1");
	for (int i = 0; i <= SCAN_KEYS; i++) {
		redisReply *r = NULL;

		cr_assert(redisGetReply(ctx, (void **)&r) == REDIS_OK, "pipelined SET %d: %s", i,
			  ctx->errstr);
		HR_OK(r);
	}
	HR_INT(HR_CMD(ctx, "DBSIZE"), SCAN_KEYS + 1);
	do {
		redisReply *r = HR_CMD(ctx, "SCAN %s MATCH scan:* COUNT 100", cursor);

		HR_EXPECT_TYPE(r, REDIS_REPLY_ARRAY, "SCAN");
		cr_assert_eq(r->elements, 2);
		cr_assert_eq(r->element[0]->type, REDIS_REPLY_STRING);
		cr_assert_eq(r->element[1]->type, REDIS_REPLY_ARRAY);
		snprintf(cursor, sizeof(cursor), "%.*s", (int)r->element[0]->len,
			 r->element[0]->str);
		for (size_t i = 0; i < r->element[1]->elements; i++) {
			redisReply *k = r->element[1]->element[i];
			int n;

			cr_assert(k->len > 5 && memcmp(k->str, "scan:", 5) == 0,
				  "SCAN MATCH returned %s", hr_show(k));
			n = atoi(k->str + 5);
			cr_assert(n >= 0 && n < SCAN_KEYS);
			seen[n] = 1;
			total++;
		}
		freeReplyObject(r);
		cr_assert(++calls < 10000, "SCAN did not finish after 10000 calls");
	} while (strcmp(cursor, "0") != 0);
	for (int i = 0; i < SCAN_KEYS; i++)
		cr_assert(seen[i], "SCAN never returned scan:%d (%zu keys in %d calls)", i, total,
			  calls);
	cr_assert(total < 2 * SCAN_KEYS, "SCAN returned %zu keys for %d", total, SCAN_KEYS);
}

Test(basic, scan_count_bounds_reply)
{
	redisReply *r;

	for (int i = 0; i < 1000; i++)
		redisAppendCommand(ctx, "SET sc:%d x", i);
	for (int i = 0; i < 1000; i++) {
		cr_assert(redisGetReply(ctx, (void **)&r) == REDIS_OK);
		HR_OK(r);
	}
	r = HR_CMD(ctx, "SCAN 0 COUNT 10");
	HR_EXPECT_TYPE(r, REDIS_REPLY_ARRAY, "SCAN");
	cr_assert(r->element[1]->elements <= 100,
		  "SCAN COUNT 10 over 1000 keys returned %zu keys in one call",
		  r->element[1]->elements);
	cr_assert(strcmp(r->element[0]->str, "0") != 0, "SCAN COUNT 10 finished in one call");
	freeReplyObject(r);
	HR_ERR(HR_CMD(ctx, "SCAN abc"), "ERR invalid cursor");
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Run KEYS pattern and compare with the expected set (order-insensitive). */
static void keys_expect(const char *pattern, const char **want, size_t nwant)
{
	redisReply *r = HR_CMD(ctx, "KEYS %s", pattern);
	char *got[16];

	HR_EXPECT_TYPE(r, REDIS_REPLY_ARRAY, "KEYS");
	cr_assert_eq(r->elements, nwant, "KEYS %s: %zu keys, want %zu", pattern, r->elements,
		     nwant);
	for (size_t i = 0; i < r->elements; i++)
		got[i] = r->element[i]->str;
	qsort(got, r->elements, sizeof(got[0]), cmp_str);
	for (size_t i = 0; i < nwant; i++)
		cr_assert_str_eq(got[i], want[i], "KEYS %s", pattern);
	freeReplyObject(r);
}

Test(basic, keys_pattern)
{
	HR_OK(HR_CMD(ctx, "MSET kp:alpha 1 kp:beta 2 kp:gamma 3 other 4 h\\llo 5"));
	keys_expect("kp:*", (const char *[]){"kp:alpha", "kp:beta", "kp:gamma"}, 3);
	keys_expect("kp:?eta", (const char *[]){"kp:beta"}, 1);
	keys_expect("*a[lm]*", (const char *[]){"kp:alpha", "kp:gamma"}, 2);
	keys_expect("kp:[^a]*", (const char *[]){"kp:beta", "kp:gamma"}, 2);
	keys_expect("nomatch*", (const char *[]){NULL}, 0);
	keys_expect("*", (const char *[]){"h\\llo", "kp:alpha", "kp:beta", "kp:gamma", "other"}, 5);
}
