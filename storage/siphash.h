/*
 * siphash.h — SipHash-c-d, the keyed pseudo-random function of Aumasson &
 * Bernstein ("SipHash: a fast short-input PRF", INDOCRYPT 2012), written from
 * the paper. kvmap_hash() uses SipHash-1-2 (as Redis does since 4.0: one
 * compression and two finalisation rounds are enough for hash-flooding
 * resistance of a table's bucket index, and twice as fast on short keys);
 * SipHash-2-4 is exported so the implementation can be checked against the
 * paper's test vector.
 *
 * Threads: pure functions of their arguments; callable from any thread.
 * Progress: wait-free, O(len).
 * Errors: none.
 */
#ifndef KVSD_SIPHASH_H
#define KVSD_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

/* key: 16 bytes, read as two little-endian 64-bit words k0 || k1. */
uint64_t siphash_1_2(const uint8_t key[16], const void *in, size_t len);
uint64_t siphash_2_4(const uint8_t key[16], const void *in, size_t len);

#endif
