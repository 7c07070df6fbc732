/*
 * test_digest.c — DEBUG DIGEST-VALUE of hashes, sets and sorted sets
 * (server/digest.c) against digests redis-server 7.0.15 printed for the same
 * values:
 *   SADD s a b c; HSET h f1 v1 f2 v2; ZADD z 1.5 a -0.1 b inf c;
 *   DEBUG DIGEST-VALUE s h z; EXPIRE s 100; DEBUG DIGEST-VALUE s
 * The values are built by hand (compact entries whose blob is the elements,
 * NUL-separated) with a stand-in type row whose foreach hands them out as a
 * type module's would (a sorted set's score as "%.17g" prints it), so this
 * tests the digest's recipe independently of the types' own modules, and in
 * another element order than Redis's (the digest is an xor per element).
 */
#include "server/digest.h"
#include "storage/coll.h"
#include "storage/kvmap.h"

#include <criterion/criterion.h>
#include <string.h>

/* The blob's NUL-separated strings, in reverse order, one (set) or two
 * (hash, zset) per element. */
static void fake_foreach(const struct kv_entry *e,
			 void (*fn)(const char *a, size_t alen, const char *b, size_t blen,
				    void *arg),
			 void *arg)
{
	size_t len, n = 0;
	const char *p = coll_blob(e, &len), *w[16];
	int pairs = kv_entry_type(e) != KV_SET;

	for (size_t i = 0; i < len; i += strlen(p + i) + 1)
		w[n++] = p + i;
	if (pairs) {
		for (size_t i = n; i >= 2; i -= 2)
			fn(w[i - 2], strlen(w[i - 2]), w[i - 1], strlen(w[i - 1]), arg);
	} else {
		for (size_t i = n; i >= 1; i--)
			fn(w[i - 1], strlen(w[i - 1]), NULL, 0, arg);
	}
}

static const struct coll_type_ops fake_set = {.name = "set", .foreach = fake_foreach};
static const struct coll_type_ops fake_hash = {.name = "hash", .foreach = fake_foreach};
static const struct coll_type_ops fake_zset = {.name = "zset", .foreach = fake_foreach};

static void setup(void)
{
	kvmap_setup();
	coll_register(KV_SET, &fake_set);
	coll_register(KV_HASH, &fake_hash);
	coll_register(KV_ZSET, &fake_zset);
}

TestSuite(digest, .init = setup);

static void expect_digest(enum kv_type t, const char *blob, size_t len, int64_t expire,
			  const char *want)
{
	struct kv_entry *e = coll_new_compact("k", 1, t, COLL_LISTPACK, blob, len, expire);
	uint8_t d[DIGEST_LEN] = {0};
	char hex[2 * DIGEST_LEN + 1];

	digest_value(e, d);
	digest_hex(d, hex);
	cr_expect_str_eq(hex, want, "type %d: %s, redis-server: %s", t, hex, want);
	kv_entry_free(e);
}

Test(digest, set_as_redis)
{
	static const char b[] = "a\0b\0c";

	expect_digest(KV_SET, b, sizeof(b), 0, "593c2414786d75446e97f4ea5d4b731f3313da72");
}

Test(digest, set_with_ttl_as_redis)
{
	static const char b[] = "c\0a\0b";

	expect_digest(KV_SET, b, sizeof(b), 4102444800000LL,
		      "bfb9daeba4549f10af811f121821bc8429bd9bf1");
}

Test(digest, hash_as_redis)
{
	static const char b[] = "f2\0v2\0f1\0v1";

	expect_digest(KV_HASH, b, sizeof(b), 0, "047cc60ea73a34cde6d08a2721a4a26d19ee6570");
}

Test(digest, zset_as_redis)
{
	/* scores as "%.17g" prints them */
	static const char b[] = "b\0-0.10000000000000001\0a\0001.5\0c\0inf";

	expect_digest(KV_ZSET, b, sizeof(b), 0, "26a8676ad61a06ca55969602523c2862f2af254a");
}
