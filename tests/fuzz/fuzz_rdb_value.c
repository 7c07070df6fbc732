/*
 * fuzz_rdb_value.c — libFuzzer target for persist/rdb_value.c's decoder:
 * the bytes a client hands RESTORE (and, later, an RDB file holds) after
 * the checksum, which any client can forge. Byte 0 picks small or default
 * encoding thresholds (so both the compact and the large builders run); the
 * rest is decoded as one value.
 *
 * Checks: nothing reads or writes outside its buffer (ASan); a value the
 * decoder accepts encodes, and its encoding decodes again to a value that
 * encodes to the same bytes (a fixpoint after one round: kvsd's encoding
 * choice is a function of the content); rdb_value_skip measures an
 * accepted value exactly as the decoder read it.
 */
#include "persist/rdb_value.h"
#include "storage/coll.h"
#include "storage/kvmap.h"
#include "storage/thash.h"
#include "storage/tlist.h"
#include "storage/tset.h"
#include "storage/tzset.h"
#include "tests/fuzz/fuzz_util.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fake_sha1(const void *p, size_t n, uint8_t out[20])
{
	(void)p;
	(void)n;
	memset(out, 0, 20);
}

static struct coll_ctx *ctx;

static void setup_once(void)
{
	if (ctx)
		return;
	kvmap_setup();
	coll_setup();
	thash_setup(fake_sha1);
	tset_setup(fake_sha1);
	tzset_setup(fake_sha1);
	tlist_setup(fake_sha1);
	kvmap_thread_register();
	ctx = coll_ctx_create();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kv_entry *e = NULL, *e2 = NULL;
	struct rdb_buf b1, b2;
	size_t used;
	bool small;

	if (size < 1)
		return 0;
	setup_once();
	small = data[0] & 1;
	coll_set_limit(COLL_HASH_MAX_ENTRIES, small ? 4 : 512);
	coll_set_limit(COLL_SET_MAX_INTSET, small ? 4 : 512);
	coll_set_limit(COLL_ZSET_MAX_ENTRIES, small ? 4 : 128);
	coll_set_limit(COLL_LIST_MAX_SIZE, small ? 3 : -2);
	if (rdb_value_decode(ctx, data + 1, size - 1, "k", 1, 0, &e, &used) != RDB_OK) {
		FUZZ_CHECK(e == NULL);
		coll_ctx_abort(ctx);
		return 0;
	}
	FUZZ_CHECK(e != NULL && used <= size - 1);
	{
		/* the parallel file loader measures values with rdb_value_skip:
		 * it must agree with every value the decoder accepts */
		size_t skipped = 0;

		FUZZ_CHECK(rdb_value_skip(data[1], data + 2, size - 2, &skipped));
		FUZZ_CHECK(skipped + 1 == used);
	}
	rdb_buf_init(&b1);
	rdb_buf_init(&b2);
	rdb_value_encode(&b1, e, true);
	FUZZ_CHECK(rdb_value_decode(ctx, b1.p, b1.len, "k", 1, 0, &e2, &used) == RDB_OK);
	FUZZ_CHECK(used == b1.len);
	rdb_value_encode(&b2, e2, true);
	FUZZ_CHECK(b1.len == b2.len && memcmp(b1.p, b2.p, b1.len) == 0);
	rdb_buf_free(&b1);
	rdb_buf_free(&b2);
	kv_entry_free(e);
	kv_entry_free(e2);
	coll_ctx_abort(ctx);
	return 0;
}
