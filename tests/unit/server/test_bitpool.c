/*
 * test_bitpool.c — server/bitpool.c on one thread, with the map simulated:
 * "publishing" a built entry is bitpool_published(), "retiring" an entry
 * after its grace period is kv_entry_free() (which hands a recycled value to
 * the pool). Checks that a retired buffer is reused (same address) and holds
 * exactly the current value after the replay, that an aborted build gives
 * its buffer back with the byte restored, and that the lineage dies with
 * its newest version (under ASan, LeakSanitizer checks nothing is left).
 */
#include "server/bitpool.h"
#include "concurrency/mem.h"

#include <criterion/criterion.h>
#include <string.h>

#define N (32 * 1024)

static unsigned char model[N];

static void check_value(const struct kv_entry *e)
{
	cr_assert_eq(e->vlen, N);
	cr_assert(memcmp(kv_entry_val(e), model, N) == 0, "value differs from the model");
}

/* SETBIT-like step: byte i := v, published at once. */
static struct kv_entry *step(const struct kv_entry *old, size_t i, unsigned char v)
{
	struct bitpool_tx tx;
	struct kv_entry *e = bitpool_build("k", 1, old, i, v, &tx);

	cr_assert(kv_entry_recycles(e) && e->ext);
	bitpool_published(&tx);
	model[i] = v;
	check_value(e);
	return e;
}

Test(bitpool, reuse_replay_abort_death)
{
	bitpool_setup();
	memset(model, 0, sizeof(model));
	struct kv_entry *e0 = kv_entry_new("k", 1, model, N, 0);
	struct kv_entry *e1 = step(e0, 5, 0x80);
	kv_entry_free(e0); /* not recycled: it came from outside */
	struct kv_entry *e2 = step(e1, 7, 0x01);
	const char *b1 = kv_entry_val(e1);
	kv_entry_free(e1); /* version 1 comes back to the pool */
	struct kv_entry *e3 = step(e2, 9, 0xff);
	cr_assert_eq(kv_entry_val(e3), b1, "the retired buffer is reused");
	const char *b2 = kv_entry_val(e2);
	kv_entry_free(e2);

	/* a build whose CAS failed: its buffer goes back as it was */
	struct bitpool_tx tx;
	struct kv_entry *lost = bitpool_build("k", 1, e3, 11, 0x11, &tx);
	cr_assert_eq(kv_entry_val(lost), b2);
	bitpool_abort(lost, &tx);
	struct kv_entry *e4 = step(e3, 12, 0x22);
	cr_assert_eq(kv_entry_val(e4), b2, "the aborted buffer is reused, byte 11 restored");
	cr_assert_eq(((const unsigned char *)kv_entry_val(e4))[11], 0);

	/* many steps with the retire delayed by two versions, as a grace period */
	struct kv_entry *hist[3] = {e3, e4, NULL};
	for (int k = 0; k < 2000; k++) {
		size_t i = (size_t)(k * 7919) % N;
		struct kv_entry *e = step(hist[1], i, (unsigned char)(k * 31 + 1));

		kv_entry_free(hist[0]);
		hist[0] = hist[1];
		hist[1] = e;
	}
	/* the key is overwritten: its newest version retires last, the lineage dies */
	kv_entry_free(hist[0]);
	kv_entry_free(hist[1]);
	bitpool_cron();
}

Test(bitpool, idle_pool_emptied_by_cron)
{
	bitpool_setup();
	memset(model, 0, sizeof(model));
	struct kv_entry *e0 = kv_entry_new("k", 1, model, N, 0);
	struct kv_entry *e1 = step(e0, 1, 1);
	kv_entry_free(e0);
	struct kv_entry *e2 = step(e1, 2, 2);
	kv_entry_free(e1); /* pooled */
	bitpool_cron();	   /* it was used since the last call: kept */
	int64_t before = mem_used();
	bitpool_cron(); /* idle: the pool is freed */
	cr_assert_geq(before - mem_used(), N, "the idle pool's buffer was freed");
	struct kv_entry *e3 = step(e2, 3, 3);
	kv_entry_free(e2);
	kv_entry_free(e3);
}
