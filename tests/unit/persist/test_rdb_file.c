/*
 * test_rdb_file.c — persist/rdb_file: a dataset of every type and encoding,
 * with TTLs and several databases, saved and loaded back key by key (same
 * RDB value bytes, same expiry); the header, AUX fields, checksum on and
 * off; keys already expired are skipped at load; and a small file cut at
 * every offset and with bytes flipped at every offset: an error naming the
 * file and a byte offset, never a crash or an overread (ASan in CI), and
 * never a success from a truncation.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "persist/crc64.h"
#include "persist/rdb_file.h"
#include "scan_source.h"
#include "persist/rdb_value.h"
#include "server/sha1.h"
#include "storage/coll.h"
#include "storage/db.h"
#include "storage/kvmap.h"
#include "storage/kvmap_internal.h"
#include "storage/thash.h"
#include "storage/tlist.h"
#include "storage/tset.h"
#include "storage/tzset.h"

#define NOW 1700000000000LL

#include "../storage/db_fixture.h"

/* src: the fixture's db; dst: where files load */
static struct db *src, *dst;

static void types(void)
{
	thash_setup(sha1);
	tset_setup(sha1);
	tzset_setup(sha1);
	tlist_setup(sha1);
}

static void init(void)
{
	db_fixture_open(types);
	src = db;
	dst = db_create(KVMAP_KVSD);
}

static void fini(void)
{
	db_destroy(&dst);
	db_fixture_close();
}

static void put_str(struct rdb_buf *b, const char *s)
{
	rdb_put_len(b, strlen(s));
	rdb_buf_put(b, s, strlen(s));
}

/* Puts key = the value payload b (type byte first) into database i. */
static void put_value(int i, const char *key, const struct rdb_buf *b, int64_t exp)
{
	struct db_view v;
	struct kv_entry *e = NULL;
	size_t used;

	db_view_init(src, i, &v);
	cr_assert_eq(
	    rdb_value_decode(db_coll_ctx(&v), b->p, b->len, key, strlen(key), exp, &e, &used),
	    RDB_OK);
	cr_assert_eq(db_put(&v, NULL, e), 0);
	db_coll_end();
}

static void put_string(int i, const char *key, const char *val, int64_t exp)
{
	struct rdb_buf b = {0};

	rdb_buf_put(&b, "\x00", 1);
	rdb_put_string(&b, val, strlen(val), false);
	put_value(i, key, &b, exp);
	rdb_buf_free(&b);
}

/* A collection payload of type t (1 list, 2 set, 4 hash) with n members,
 * or a zset (5) with binary scores. */
static void put_coll(int i, const char *key, int t, int n, size_t vlen, int64_t exp)
{
	struct rdb_buf b = {0};
	unsigned char tb = (unsigned char)t;
	char m[300];

	rdb_buf_put(&b, &tb, 1);
	rdb_put_len(&b, (uint64_t)n);
	for (int k = 0; k < n; k++) {
		if (vlen && k % 2) {
			/* distinct: the index, padded with letters to vlen */
			int w = snprintf(m, sizeof(m), "%d", k);

			memset(m + w, 'a' + k % 26, vlen > (size_t)w ? vlen - (size_t)w : 0);
			m[vlen > (size_t)w ? vlen : (size_t)w] = '\0';
		} else
			snprintf(m, sizeof(m), t == 2 && vlen == 0 ? "%d" : "m%d", k * 7 - 3);
		put_str(&b, m);
		if (t == 4) {
			snprintf(m, sizeof(m), "v%d", k);
			put_str(&b, m);
		} else if (t == 5) {
			double s = k * 0.5 - 3;

			rdb_buf_put(&b, &s, 8);
		}
	}
	put_value(i, key, &b, exp);
	rdb_buf_free(&b);
}

static void fill(bool big)
{
	put_string(0, "s1", "hello", 0);
	put_string(0, "n1", "12345", NOW + 100000);
	put_string(0, "long", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 0);
	put_coll(0, "lst", 1, 5, 0, 0);
	put_coll(1, "set", 2, 4, 0, NOW + 5000);
	put_coll(1, "sets", 2, 3, 3, 0);
	put_coll(2, "h", 4, 3, 0, 0);
	put_coll(2, "z", 5, 3, 0, 0);
	if (big) {
		put_coll(3, "bigset", 2, 700, 0, 0);
		put_coll(3, "bigsets", 2, 700, 5, NOW + 1);
		put_coll(3, "bigh", 4, 700, 0, 0);
		put_coll(3, "bigz", 5, 300, 0, 0);
		put_coll(3, "bigl", 1, 3000, 100, 0);
		for (int k = 0; k < 2000; k++) {
			char key[32];

			snprintf(key, sizeof(key), "key:%d", k);
			put_string(4 + k % 3, key, key + 4, k % 10 ? 0 : NOW + 1000 + k);
		}
	}
}

/* ---- a source over a db: db_scan per database (the test is single-threaded) */

/* The access data a source reports: every key FREQ 9 (LFU). */
static int s_access_lfu(void *arg, const struct kv_entry *e, uint64_t *idle_s, unsigned *freq)
{
	(void)arg;
	(void)e;
	(void)idle_s;
	*freq = 9;
	return 2;
}

static bool with_access;

/* Saves db to a buffer (through a temporary file). */
static void save(struct db *db, bool compress, bool checksum, struct rdb_buf *out)
{
	struct scan_src ss = {.db = db};
	struct rdb_source s = {
	    s_databases, s_keys, s_expires, s_next, with_access ? s_access_lfu : NULL, &ss};
	struct rdb_save_opts o = {
	    .compress = compress, .checksum = checksum, .now_ms = NOW, .used_mem = 12345};
	struct rdb_save_stats st;
	char err[256], chunk[4096];
	FILE *f = tmpfile();
	ssize_t n;

	cr_assert_not_null(f);
	cr_assert_eq(rdb_save(fileno(f), &s, &o, &st, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq((off_t)st.bytes, lseek(fileno(f), 0, SEEK_CUR));
	lseek(fileno(f), 0, SEEK_SET);
	rdb_buf_init(out);
	while ((n = read(fileno(f), chunk, sizeof(chunk))) > 0)
		rdb_buf_put(out, chunk, (size_t)n);
	fclose(f);
}

struct cmp {
	struct db *other;
	int index;
	long long n;
};

static void cmp_visit(const struct kv_entry *e, void *arg)
{
	struct cmp *c = arg;
	struct db_view v;
	const struct kv_entry *o;
	struct rdb_buf a = {0}, b = {0};

	db_view_init(c->other, c->index, &v);
	o = db_lookup(&v, kv_entry_key(e), e->klen, NOW, NULL, 0);
	cr_assert_not_null(o, "key %.*s missing from db %d", (int)e->klen, kv_entry_key(e),
			   c->index);
	cr_assert_eq(kv_entry_expire(o), kv_entry_expire(e));
	rdb_value_encode(&a, e, false);
	rdb_value_encode(&b, o, false);
	cr_assert_eq(a.len, b.len, "key %.*s", (int)e->klen, kv_entry_key(e));
	cr_assert_arr_eq(a.p, b.p, a.len);
	rdb_buf_free(&a);
	rdb_buf_free(&b);
	c->n++;
}

/* Every key of a is in b with the same value and TTL, and the counts match. */
static void same(struct db *a, struct db *b)
{
	for (int i = 0; i < db_databases(a); i++) {
		struct cmp c = {b, i, 0};
		struct db_view v;
		uint64_t cur = 0;

		db_view_init(a, i, &v);
		do
			cur = db_scan(&v, cur, 100, cmp_visit, &c);
		while (cur != 0);
		cr_assert_eq(c.n, db_size_of(b, i), "db %d: %lld keys vs %lld", i, c.n,
			     db_size_of(b, i));
	}
}

struct aux_seen {
	int n;
	bool ver, aofbase;
};

static void on_aux(void *arg, const char *k, size_t kl, const char *v, size_t vl)
{
	struct aux_seen *a = arg;

	a->n++;
	if (kl == 9 && !memcmp(k, "redis-ver", 9))
		a->ver = vl == 6 && !memcmp(v, "7.0.15", 6);
	if (kl == 8 && !memcmp(k, "aof-base", 8))
		a->aofbase = vl == 1 && v[0] == '0';
}

/* Loads on this many threads (the parallel loader from the first byte). */
static int load_threads = 1;

static int load(const struct rdb_buf *b, size_t n, struct rdb_load_stats *st, char *err,
		size_t errlen)
{
	struct rdb_load_opts o = {.path = "t.rdb",
				  .checksum = true,
				  .now_ms = NOW,
				  .threads = load_threads,
				  .parallel_min = 0};

	return rdb_load_mem(dst, b->p, n, &o, st, err, errlen);
}

static void flush_dst(void)
{
	db_flush_all(db_plain(dst), true);
}

Test(rdb_file, round_trip, .init = init, .fini = fini)
{
	for (int mode = 0; mode < 4; mode++) {
		struct rdb_buf b;
		struct rdb_load_stats st;
		struct aux_seen aux = {0};
		struct rdb_load_opts o = {
		    .path = "t.rdb", .checksum = true, .now_ms = NOW, .aux = on_aux, .arg = &aux};
		char err[512];

		if (mode == 0)
			fill(true);
		save(src, mode & 1, !(mode & 2), &b);
		cr_assert_arr_eq(b.p, "REDIS0010", 9);
		if (mode & 2) /* rdbchecksum no: eight zero bytes */
			cr_assert_arr_eq(b.p + b.len - 8, "\0\0\0\0\0\0\0\0", 8);
		else
			cr_assert_eq(
			    crc64(0, b.p, b.len - 8),
			    (uint64_t)b.p[b.len - 8] | (uint64_t)b.p[b.len - 7] << 8 |
				(uint64_t)b.p[b.len - 6] << 16 | (uint64_t)b.p[b.len - 5] << 24 |
				(uint64_t)b.p[b.len - 4] << 32 | (uint64_t)b.p[b.len - 3] << 40 |
				(uint64_t)b.p[b.len - 2] << 48 | (uint64_t)b.p[b.len - 1] << 56);
		cr_assert_eq(b.p[b.len - 9], 0xff); /* EOF */
		flush_dst();
		cr_assert_eq(rdb_load_mem(dst, b.p, b.len, &o, &st, err, sizeof(err)), 0, "%s",
			     err);
		cr_assert_eq(st.version, 10);
		cr_assert_eq(aux.n, 5);
		cr_assert(aux.ver && aux.aofbase);
		cr_assert_eq(st.expired, 0);
		same(src, dst);
		same(dst, src);
		rdb_buf_free(&b);
	}
}

/* The parallel loader: the big dataset on 3 workers, key by key. */
Test(rdb_file, parallel_round_trip, .init = init, .fini = fini)
{
	struct rdb_buf b;
	struct rdb_load_stats st;
	char err[512];

	fill(true);
	save(src, true, true, &b);
	load_threads = 3;
	cr_assert_eq(load(&b, b.len, &st, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(st.keys, 2013);
	same(src, dst);
	same(dst, src);
	/* cut or flipped: an error naming an offset, never a crash */
	for (size_t n = 0; n < b.len; n += b.len / 97 + 1) {
		flush_dst();
		cr_assert_eq(load(&b, n, &st, err, sizeof(err)), -1);
		cr_assert(strstr(err, "t.rdb at byte ") != NULL, "%s", err);
	}
	for (size_t i = 9; i < b.len; i += b.len / 89 + 1) {
		b.p[i] ^= 0x24;
		flush_dst();
		cr_assert_eq(load(&b, b.len, &st, err, sizeof(err)), -1, "flip at %zu loaded", i);
		cr_assert(strstr(err, "t.rdb at byte ") != NULL, "%s", err);
		b.p[i] ^= 0x24;
	}
	load_threads = 1;
	rdb_buf_free(&b);
}

/* A file of n strings "k<i>" (every 10th with an expiry), RESIZEDB
 * saying `resize` keys, and key "k<dup>" again at the end when dup >= 0;
 * *dup_at: the offset of that last record. */
static void strings_file(struct rdb_buf *b, int n, uint64_t resize, int dup, size_t *dup_at)
{
	char k[32];
	unsigned char ms[8];

	b->len = 0;
	rdb_buf_put(b, "REDIS0010\xfe\x00\xfb", 12);
	rdb_put_len(b, resize);
	rdb_put_len(b, 0);
	for (int i = 0; i < n + (dup >= 0); i++) {
		int kn = snprintf(k, sizeof(k), "k%d", i < n ? i : dup);

		if (i == n)
			*dup_at = b->len;
		if (i % 10 == 3) {
			for (int j = 0; j < 8; j++)
				ms[j] = (unsigned char)((uint64_t)(NOW + 100000 + i) >> (8 * j));
			rdb_buf_put(b, "\xfc", 1);
			rdb_buf_put(b, ms, 8);
		}
		rdb_buf_put(b, "\x00", 1);
		rdb_put_string(b, k, (size_t)kn, false);
		rdb_put_string(b, k, (size_t)kn, false);
	}
	rdb_buf_put(b, "\xff\0\0\0\0\0\0\0\0", 9);
}

/* The insert pipeline (strings inserted a few keys after their decode)
 * on one and on two threads (one worker and the walker, which decodes a
 * batch whenever the queue is full): every key and expiry; a duplicated
 * key is refused, at its own record's offset on one thread. */
Test(rdb_file, pipelined_strings_and_duplicate, .init = init, .fini = fini)
{
	struct rdb_buf b = {0};
	struct rdb_load_stats st;
	char err[512], want[64];
	size_t dup_at = 0;
	int n = 5000;

	strings_file(&b, n, (uint64_t)n, -1, &dup_at);
	for (load_threads = 1; load_threads <= 2; load_threads++) {
		flush_dst();
		cr_assert_eq(load(&b, b.len, &st, err, sizeof(err)), 0, "%s", err);
		cr_assert_eq(st.keys, n);
		for (int i = 0; i < n; i++) {
			char k[32];
			int kn = snprintf(k, sizeof(k), "k%d", i);
			const struct kv_entry *e =
			    db_lookup(db_plain(dst), k, (size_t)kn, NOW, NULL, 0);

			cr_assert_not_null(e, "%s missing on %d threads", k, load_threads);
			cr_assert_eq(e->vlen, (uint32_t)kn);
			cr_assert_eq(kv_entry_expire(e), i % 10 == 3 ? NOW + 100000 + i : 0);
		}
	}
	strings_file(&b, n, (uint64_t)n, 4321, &dup_at);
	snprintf(want, sizeof(want), "at byte %zu: duplicated key 'k4321'", dup_at);
	for (load_threads = 1; load_threads <= 2; load_threads++) {
		flush_dst();
		cr_assert_eq(load(&b, b.len, &st, err, sizeof(err)), -1);
		/* two threads: whichever copy is inserted second is named */
		cr_assert(strstr(err, load_threads == 1 ? want : "duplicated key 'k4321'") != NULL,
			  "%d threads: %s", load_threads, err);
	}
	load_threads = 1;
	rdb_buf_free(&b);
}

/* RESIZEDB grows the map once, before the keys (no migration while they
 * arrive); a size the rest of the file cannot hold is not believed. */
Test(rdb_file, resizedb_reserves, .init = init, .fini = fini)
{
	struct rdb_buf b = {0};
	struct rdb_load_stats st;
	char err[512];
	size_t dup_at, buckets;

	/* 20000 keys said to be 40000: the table 40000 keys need (at 4/5 of
	 * the slots, + one bucket: 6251 buckets), where growth alone stops
	 * at fewer for 20000 */
	strings_file(&b, 20000, 40000, -1, &dup_at);
	flush_dst();
	cr_assert_eq(load(&b, b.len, &st, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(st.keys, 20000);
	cr_assert_eq(kvmap_kvsd_buckets(db_map(dst)), 6251, "%zu buckets",
		     kvmap_kvsd_buckets(db_map(dst)));
	/* 2^50 keys in a file of 10: at most (bytes after RESIZEDB) / 3 */
	strings_file(&b, 10, (uint64_t)1 << 50, -1, &dup_at);
	db_destroy(&dst);
	dst = db_create(KVMAP_KVSD);
	buckets = kvmap_kvsd_buckets(db_map(dst));
	cr_assert_eq(load(&b, b.len, &st, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(st.keys, 10);
	cr_assert_leq(kvmap_kvsd_buckets(db_map(dst)), buckets < 64 ? 64 : buckets, "%zu buckets",
		      kvmap_kvsd_buckets(db_map(dst)));
	rdb_buf_free(&b);
}

Test(rdb_file, expired_keys_skipped, .init = init, .fini = fini)
{
	struct rdb_buf b;
	struct rdb_load_stats st;
	struct rdb_load_opts o = {.path = "t.rdb", .checksum = true, .now_ms = NOW + 50000};
	struct db_view v;
	char err[256];

	fill(false);
	save(src, true, true, &b);
	cr_assert_eq(rdb_load_mem(dst, b.p, b.len, &o, &st, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(st.expired, 1); /* set: NOW + 5000 */
	db_view_init(dst, 1, &v);
	cr_assert_null(db_lookup(&v, "set", 3, NOW, NULL, 0));
	cr_assert_not_null(db_lookup(&v, "sets", 4, NOW, NULL, 0));
	rdb_buf_free(&b);
}

/* Every truncation fails naming the file and an offset; every flipped byte
 * either fails the same way or (a byte the checksum does not cover, checked
 * off) loads: never a crash. */
Test(rdb_file, truncations_and_flips, .init = init, .fini = fini)
{
	struct rdb_buf b, c = {0};
	struct rdb_load_stats st;
	char err[512];

	fill(false);
	save(src, true, true, &b);
	for (size_t n = 0; n < b.len; n++) {
		flush_dst();
		err[0] = '\0';
		cr_assert_eq(load(&b, n, &st, err, sizeof(err)), -1, "a %zu-byte prefix loaded", n);
		cr_assert(strstr(err, "t.rdb at byte ") != NULL, "%s", err);
	}
	rdb_buf_put(&c, b.p, b.len);
	for (size_t i = 0; i < b.len; i++) {
		for (int bit = 0; bit < 8; bit += 3) {
			int rc;

			c.p[i] ^= (unsigned char)(1 << bit);
			flush_dst();
			err[0] = '\0';
			rc = load(&c, c.len, &st, err, sizeof(err));
			/* only the trailer's own bytes may change... and then the
			 * CRC no longer matches: every flip is an error */
			cr_assert_eq(rc, -1, "flip at %zu bit %d loaded", i, bit);
			cr_assert(strstr(err, "t.rdb at byte ") != NULL, "%s", err);
			c.p[i] ^= (unsigned char)(1 << bit);
		}
	}
	/* with checksums off a flip may load: it still never crashes */
	for (size_t i = 9; i < b.len - 9; i++) {
		struct rdb_load_opts o = {.path = "t.rdb", .checksum = false, .now_ms = NOW};

		c.p[i] ^= 0x41;
		flush_dst();
		(void)rdb_load_mem(dst, c.p, c.len, &o, &st, err, sizeof(err));
		c.p[i] ^= 0x41;
	}
	rdb_buf_free(&b);
	rdb_buf_free(&c);
}

Test(rdb_file, refused_opcodes_and_types, .init = init, .fini = fini)
{
	static const struct {
		const char *bytes;
		size_t n;
		const char *want;
	} cases[] = {
	    {"REDIS0011\xff", 10, "version 11"},
	    {"REDIX0010\xff", 10, "signature"},
	    {"REDIS0010\xf5", 10, "FUNCTION2"},
	    {"REDIS0010\xf7", 10, "MODULE_AUX"},
	    {"REDIS0010\xfe\x20", 11, "configured with 16 databases"},
	    {"REDIS0010\x0f\x02st\x00", 14, "key 'st' (db 0) holds a stream"},
	    {"REDIS0010\x00\x01k\x01v\x00\x01k\x01w\xff", 20, "duplicated key 'k'"},
	    {"REDIS0010\x63\x01k\x01v", 14, "unknown RDB type or opcode 99"},
	};
	struct rdb_buf b = {0};
	struct rdb_load_stats st;
	char err[512];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		b.len = 0;
		rdb_buf_put(&b, cases[i].bytes, cases[i].n);
		flush_dst();
		cr_assert_eq(load(&b, b.len, &st, err, sizeof(err)), -1);
		cr_assert(strstr(err, cases[i].want) != NULL, "case %zu: %s", i, err);
	}
	/* version 6 with EXPIRETIME (seconds), no trailer check when zero */
	b.len = 0;
	rdb_buf_put(&b, "REDIS0006\xfd\xff\xff\xff\x7f\x00\x01k\x01v\xff\0\0\0\0\0\0\0\0", 28);
	flush_dst();
	cr_assert_eq(load(&b, b.len, &st, err, sizeof(err)), 0, "%s", err);
	{
		const struct kv_entry *e = db_lookup(db_plain(dst), "k", 1, NOW, NULL, 0);

		cr_assert_not_null(e);
		cr_assert_eq(kv_entry_expire(e), 0x7fffffffLL * 1000);
	}
	rdb_buf_free(&b);
}

/* FREQ written per key when the source gives it, and applied at load to
 * the key's LFU counter (IDLE the same way under an LRU policy). */
Test(rdb_file, freq_round_trip, .init = init, .fini = fini)
{
	struct rdb_buf b;
	struct rdb_load_stats st;
	char err[256];
	const struct kv_entry *e;
	uint64_t idle;
	unsigned freq = 0;

	fill(false);
	with_access = true;
	save(src, false, true, &b);
	with_access = false;
	db_set_memory_policy(dst, 0, DB_ALLKEYS_LFU, 5);
	cr_assert_eq(load(&b, b.len, &st, err, sizeof(err)), 0, "%s", err);
	e = db_lookup_notouch(db_plain(dst), "s1", 2, NOW, NULL, 0);
	cr_assert_not_null(e);
	cr_assert_eq(db_key_access(dst, kv_entry_hash(e), NOW, &idle, &freq), 2);
	cr_assert_eq(freq, 9);
	rdb_buf_free(&b);
}

Test(rdb_file, missing_file, .init = init, .fini = fini)
{
	struct rdb_load_opts o = {.path = "/nonexistent/dir/dump.rdb", .now_ms = NOW};
	char err[256];

	cr_assert_eq(rdb_load(dst, &o, NULL, err, sizeof(err)), -ENOENT);
}

/* rdb_peek_aux: an AUX field's value from a file's head (the server's
 * loading_rdb_used_mem before the load); nothing from a missing file, a
 * file that is not an RDB, or a key the head does not hold. */
Test(rdb_file, peek_aux, .init = init, .fini = fini)
{
	char path[] = "/tmp/kvsd-peek-XXXXXX", v[32];
	struct rdb_buf b;
	int fd = mkstemp(path);

	cr_assert_geq(fd, 0);
	fill(true);
	save(src, true, true, &b);
	cr_assert_eq(write(fd, b.p, b.len), (ssize_t)b.len);
	cr_assert(rdb_peek_aux(path, "used-mem", v, sizeof(v)));
	cr_assert_str_eq(v, "12345");
	cr_assert(rdb_peek_aux(path, "redis-ver", v, sizeof(v)));
	cr_assert_str_eq(v, "7.0.15");
	cr_assert(rdb_peek_aux(path, "redis-ver", v, 3)); /* cut to fit */
	cr_assert_str_eq(v, "7.");
	cr_assert_not(rdb_peek_aux(path, "no-such-field", v, sizeof(v)));
	cr_assert_eq(ftruncate(fd, 0), 0);
	cr_assert_eq(pwrite(fd, "NOTAN RDB FILE AT ALL", 21, 0), 21);
	cr_assert_not(rdb_peek_aux(path, "used-mem", v, sizeof(v)));
	close(fd);
	unlink(path);
	cr_assert_not(rdb_peek_aux(path, "used-mem", v, sizeof(v)));
	rdb_buf_free(&b);
}

/* Function libraries: FUNCTION2 records after the AUX fields and before the
 * keys, handed back to the loader's callback in order; a refusal from the
 * callback fails the load naming it; no callback refuses the record. */
struct fn_seen {
	int n;
	char code[2][128];
	bool refuse;
};

static int on_function(void *arg, const char *code, size_t len, char *err, size_t errlen)
{
	struct fn_seen *f = arg;

	if (f->refuse) {
		snprintf(err, errlen, "no thanks");
		return -1;
	}
	cr_assert_lt(f->n, 2);
	cr_assert_lt(len, sizeof(f->code[0]));
	memcpy(f->code[f->n], code, len);
	f->code[f->n][len] = '\0';
	f->n++;
	return 0;
}

Test(rdb_file, function_libraries, .init = init, .fini = fini)
{
	static char lib_a[] = "#!lua name=a\nredis.register_function('f', function() return 1 end)";
	static char lib_b[] = "#!lua name=b\n";
	char *libs[] = {lib_a, lib_b};
	size_t lens[] = {sizeof(lib_a) - 1, sizeof(lib_b) - 1};
	struct scan_src ss = {.db = src};
	struct rdb_source s = {s_databases, s_keys, s_expires, s_next, NULL, &ss};
	struct rdb_save_opts so = {.compress = true,
				   .checksum = true,
				   .now_ms = NOW,
				   .libs = libs,
				   .lib_lens = lens,
				   .nlibs = 2};
	struct rdb_save_stats sst;
	struct rdb_load_stats st;
	struct fn_seen seen = {0};
	struct rdb_load_opts o = {.path = "t.rdb",
				  .checksum = true,
				  .now_ms = NOW,
				  .function = on_function,
				  .arg = &seen};
	struct rdb_buf b = {0};
	char err[512], chunk[4096];
	FILE *f = tmpfile();
	ssize_t n;

	fill(true);
	cr_assert_eq(rdb_save(fileno(f), &s, &so, &sst, err, sizeof(err)), 0, "%s", err);
	lseek(fileno(f), 0, SEEK_SET);
	while ((n = read(fileno(f), chunk, sizeof(chunk))) > 0)
		rdb_buf_put(&b, chunk, (size_t)n);
	fclose(f);
	flush_dst();
	cr_assert_eq(rdb_load_mem(dst, b.p, b.len, &o, &st, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(seen.n, 2);
	cr_assert_str_eq(seen.code[0], lib_a);
	cr_assert_str_eq(seen.code[1], lib_b);
	same(src, dst);
	seen.refuse = true;
	flush_dst();
	cr_assert_eq(rdb_load_mem(dst, b.p, b.len, &o, &st, err, sizeof(err)), -1);
	cr_assert(strstr(err, "Failed loading library: no thanks") != NULL, "%s", err);
	o.function = NULL;
	flush_dst();
	cr_assert_eq(rdb_load_mem(dst, b.p, b.len, &o, &st, err, sizeof(err)), -1);
	cr_assert(strstr(err, "FUNCTION2") != NULL, "%s", err);
	rdb_buf_free(&b);
}
