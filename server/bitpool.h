/*
 * bitpool.h — SETBIT on large bitmaps without copying the bitmap.
 *
 * Values are immutable once published (storage/kvmap.h): readers copy them
 * with plain loads, so a SETBIT must publish a new value. Copying a 1 MB
 * bitmap per SETBIT costs ~100x Redis's in-place update. The bitpool makes
 * the new value out of an OLD one instead: a buffer of the same key that was
 * retired and whose grace period has passed (no reader can hold it any
 * more: kvmap's reclaimer hands it back through kv_entry_set_recycler()
 * instead of freeing it), brought up to date by replaying the few byte
 * changes published since it was current, plus this SETBIT's byte.
 *
 * A key's successive bitpool values form a lineage: versions 1, 2, 3 ...,
 * each published by one SETBIT's compare-and-swap (so each version number is
 * published at most once), each carrying (lineage, version) in a trailer
 * after its bytes; the lineage keeps the last BITPOOL_RING byte changes
 * (version -> offset, new byte) and up to BITPOOL_MAX retired buffers (at
 * most BITPOOL_BUDGET bytes in all pools; bitpool_cron() empties the pools
 * of idle bitmaps, so a bitmap no one writes costs its own bytes only). A
 * buffer of version b is reusable for version s + 1 when s - b <
 * BITPOOL_RING and every change b+1..s is recorded. Otherwise (no buffer
 * back yet, a change not recorded yet, a new lineage) the value is copied as
 * before. A lineage dies when its newest version is retired without a
 * successor (SET, DEL, expiry, FLUSHALL, a BITFIELD or a growing SETBIT
 * replaced it): its buffers are freed then, so nothing lingers.
 *
 * Threads: bitpool_build / _published / _abort from command handlers (plain
 * view only: a transaction's overlay entries are copied as usual), inside
 * the storage section; bitpool_recycle from whichever thread reclaims. A
 * lineage's state is under its mutex (held for a few loads and stores; the
 * byte replay runs outside it, on a buffer the caller owns).
 * Ownership: bitpool_build returns an unpublished entry; after db_put
 * succeeds call bitpool_published, else bitpool_abort (which frees it).
 */
#ifndef KVSD_BITPOOL_H
#define KVSD_BITPOOL_H

#include "storage/kvmap.h"

#include <stddef.h>
#include <stdint.h>

/* Bitmaps smaller than this are copied (a copy is cheaper than the pool). */
#define BITPOOL_MIN  (16 * 1024)
#define BITPOOL_RING 512
/* Retired buffers kept per lineage, and in all pools together (bytes). */
#define BITPOOL_MAX    32
#define BITPOOL_BUDGET ((int64_t)64 << 20)

struct bitpool_lineage;

struct bitpool_tx {
	struct bitpool_lineage *lin;
	char *buf;
	uint64_t seq;
	size_t byte;
	unsigned char val, oldval;
};

/* Registers bitpool_recycle with storage. Once, at start-up. */
void bitpool_setup(void);
/* From the hz timer (one thread): frees the pools no SETBIT used since the
 * previous call. */
void bitpool_cron(void);

/* The entry for key whose value is old's with byte `byte` (< old->vlen,
 * old->vlen >= BITPOOL_MIN) set to val; expiry kept. */
struct kv_entry *bitpool_build(const char *key, size_t klen, const struct kv_entry *old,
			       size_t byte, unsigned char val, struct bitpool_tx *tx);
/* After db_put() published it: records the change. */
void bitpool_published(struct bitpool_tx *tx);
/* After db_put() refused it: frees the entry; its buffer, with the byte put
 * back, holds the version it was built from again and goes to the pool. */
void bitpool_abort(struct kv_entry *e, struct bitpool_tx *tx);

#endif
