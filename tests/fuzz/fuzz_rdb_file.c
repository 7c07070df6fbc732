/*
 * fuzz_rdb_file.c — libFuzzer target for persist/rdb_file.c's loader: the
 * input is a whole RDB file (what a user hands kvsd as dump.rdb, from
 * kvsd, redis-server or anywhere). The checksum is not verified, so the
 * fuzzer reaches past the header into every opcode and value. Inputs of
 * odd size load on three worker threads (the parallel loader), even ones
 * on the calling thread.
 *
 * Checks: nothing reads or writes outside its buffer (ASan); a file the
 * loader accepts saves again (rdb_save) and that file loads into a second
 * database with the same number of keys per database.
 */
#include "persist/rdb_file.h"
#include "../unit/persist/scan_source.h"
#include "storage/coll.h"
#include "storage/db.h"
#include "storage/kvmap.h"
#include "storage/thash.h"
#include "storage/tlist.h"
#include "storage/tset.h"
#include "storage/tzset.h"
#include "tests/fuzz/fuzz_util.h"

#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fake_sha1(const void *p, size_t n, uint8_t out[20])
{
	(void)p;
	(void)n;
	memset(out, 0, 20);
}

static struct db *db1, *db2;
static int out_fd = -1;

static void setup_once(void)
{
	if (db1)
		return;
	kvmap_setup();
	coll_setup();
	thash_setup(fake_sha1);
	tset_setup(fake_sha1);
	tzset_setup(fake_sha1);
	tlist_setup(fake_sha1);
	kvmap_thread_register();
	db1 = db_create(KVMAP_KVSD);
	db2 = db_create(KVMAP_KVSD);
	out_fd = memfd_create("fuzz_rdb_file", 0);
	FUZZ_CHECK(out_fd >= 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* now: before every expiry a real file holds, after none of the
	 * fuzzer's small ones, so both the loaded and the skipped path run */
	struct rdb_load_opts o = {.path = "fuzz.rdb",
				  .checksum = false,
				  .now_ms = 1700000000000LL,
				  /* odd sizes: the parallel loader from the first byte */
				  .threads = size % 2 ? 3 : 1,
				  .parallel_min = 0};
	struct rdb_load_stats st;
	char err[512];

	setup_once();
	if (rdb_load_mem(db1, data, size, &o, &st, err, sizeof(err)) != 0) {
		FUZZ_CHECK(strstr(err, "fuzz.rdb at byte ") != NULL);
		db_flush_all(db_plain(db1), true); /* what loaded before the error */
		return 0;
	}
	{
		struct scan_src ss = {.db = db1};
		struct rdb_source s = {s_databases, s_keys, s_expires, s_next, NULL, &ss};
		struct rdb_save_opts so = {.compress = true, .checksum = true, .now_ms = o.now_ms};
		struct rdb_save_stats sst;
		struct rdb_load_opts o2 = o;
		void *m;

		FUZZ_CHECK(ftruncate(out_fd, 0) == 0 && lseek(out_fd, 0, SEEK_SET) == 0);
		FUZZ_CHECK(rdb_save(out_fd, &s, &so, &sst, err, sizeof(err)) == 0);
		m = mmap(NULL, sst.bytes, PROT_READ, MAP_SHARED, out_fd, 0);
		FUZZ_CHECK(m != MAP_FAILED);
		o2.checksum = true;
		FUZZ_CHECK(rdb_load_mem(db2, m, sst.bytes, &o2, NULL, err, sizeof(err)) == 0);
		munmap(m, sst.bytes);
		for (int i = 0; i < db_databases(db1); i++)
			FUZZ_CHECK(db_size_of(db1, i) == db_size_of(db2, i));
	}
	/* both empty again: nothing is left for LeakSanitizer at exit */
	db_flush_all(db_plain(db1), true);
	db_flush_all(db_plain(db2), true);
	return 0;
}
