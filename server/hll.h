/*
 * hll.h — HyperLogLog on a byte buffer, byte for byte Redis 7.0's
 * representation (hyperloglog.c), so that an HLL moves between kvsd and
 * redis-server with GET/SET and PFCOUNT answers the same number.
 *
 * Layout: a 16-byte header — "HYLL", the encoding (0 dense, 1 sparse), three
 * unused bytes, the cached cardinality as 8 bytes little endian whose top bit
 * (bit 7 of byte 15) marks the cache invalid — then the 16384 registers of 6
 * bits (HLL_P = 14 index bits; a register holds the position of the first 1
 * in the hash's other 50 bits, plus one):
 *  - dense: 12288 bytes of registers packed little endian (register i starts
 *    at bit 6i);
 *  - sparse: a run-length code of opcodes — ZERO 00xxxxxx (1..64 zero
 *    registers), XZERO 01xxxxxx yyyyyyyy (1..16384 zero registers), VAL
 *    1vvvvvxx (1..4 registers of value 1..32). A sparse HLL turns dense when a
 *    register needs a value above 32 or when it would grow past
 *    hll-sparse-max-bytes.
 * Elements hash with MurmurHash64A (seed 0xadc83b19); the cardinality is
 * Ertl's improved estimator over the register histogram ("New cardinality
 * estimation algorithms for HyperLogLog sketches", arXiv:1702.01284), as
 * Redis 7.0's hllCount.
 *
 * Corrupt input. A sparse payload is a parser's input (a client can SET any
 * bytes): every function here reads only inside the buffer it is given and
 * reports an invalid payload where Redis does (-1 / *invalid). Where Redis
 * reads the NUL terminator of its sds past the last byte (an XZERO cut in
 * half), these functions read a zero byte instead, so the results agree.
 *
 * Threads: pure functions on the caller's buffers. Ownership: struct hll_buf
 * owns its storage (hll_buf_free). Errors: -1 for a corrupt payload; memory
 * exhaustion aborts (concurrency/mem.h).
 */
#ifndef KVSD_HLL_H
#define KVSD_HLL_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HLL_P		 14
#define HLL_Q		 (64 - HLL_P)
#define HLL_REGISTERS	 (1 << HLL_P)
#define HLL_BITS	 6
#define HLL_REGISTER_MAX ((1 << HLL_BITS) - 1)
#define HLL_HDR_SIZE	 16
#define HLL_DENSE_SIZE	 (HLL_HDR_SIZE + (HLL_REGISTERS * HLL_BITS + 7) / 8)
#define HLL_ENC_DENSE	 0
#define HLL_ENC_SPARSE	 1
/* An empty HLL: a sparse header and one XZERO of 16384 registers. */
#define HLL_EMPTY_SIZE (HLL_HDR_SIZE + 2)
/* hll-sparse-max-bytes' upper bound (Redis's; the default is 3000) */
#define HLL_SPARSE_MAX_MAX LONG_MAX

/* MurmurHash64A as Redis's (little-endian reads; len as Redis's int). */
uint64_t hll_murmur64a(const void *key, size_t len, uint64_t seed);
/* The register an element goes to (*reg) and the value it offers it
 * (1..HLL_Q + 1): Redis's hllPatLen. */
int hll_pat_len(const void *ele, size_t len, unsigned *reg);

/* Whether len bytes at p are an HLL as Redis's isHLLObjectOrReply accepts:
 * at least a header, the magic, a known encoding, and exactly
 * HLL_DENSE_SIZE bytes when dense (a sparse payload is checked only where it
 * is used). */
bool hll_is_valid(const void *p, size_t len);

/* Dense registers (the bytes after the header). */
unsigned hll_dense_get(const uint8_t *regs, unsigned i);
void hll_dense_set(uint8_t *regs, unsigned i, unsigned v);

/* The cached cardinality: valid or not, read, written (valid), invalidated. */
bool hll_cache_valid(const uint8_t *hll);
uint64_t hll_cache_get(const uint8_t *hll);
void hll_cache_set(uint8_t *hll, uint64_t card);
void hll_cache_invalidate(uint8_t *hll);

/* The cardinality estimate of a valid HLL (hll_is_valid); *invalid is set
 * when a sparse payload does not cover exactly 16384 registers (Redis's
 * hllCount; the cache is not consulted). */
uint64_t hll_count(const uint8_t *hll, size_t len, bool *invalid);
/* The estimate of 16384 one-byte registers (a union being computed). */
uint64_t hll_count_raw(const uint8_t *max);

/* max[i] = MAX(max[i], register i of hll) for a valid HLL: 0, or -1 if its
 * sparse payload is corrupt (max is then partly updated). Redis's hllMerge. */
int hll_merge(uint8_t *max, const uint8_t *hll, size_t len);

/* Whether adding ele would change hll (read only; -1 corrupt sparse). The
 * dense test PFADD runs before it copies anything. */
int hll_would_change(const uint8_t *hll, size_t len, const void *ele, size_t elen);

/*
 * A growable HLL being modified: p[0..len) the bytes, always followed by a
 * zero byte (as an sds), cap bytes allocated.
 */
struct hll_buf {
	uint8_t *p;
	size_t len, cap;
};

/* Loads a copy of len bytes (an empty sparse HLL when src is NULL). */
void hll_buf_init(struct hll_buf *b, const void *src, size_t len);
void hll_buf_free(struct hll_buf *b);

/* Redis's hllAdd: 1 if a register changed, 0 if not, -1 corrupt sparse
 * payload (earlier changes stay, as in Redis). sparse_max is
 * hll-sparse-max-bytes. Does not touch the cache (PFADD invalidates it
 * once at the end), except that a sparse update invalidates it as Redis's. */
int hll_add(struct hll_buf *b, const void *ele, size_t elen, long long sparse_max);
/* Redis's hllSparseSet / hllDenseSet for register idx: same returns. A
 * sparse HLL turns dense when count > 32 or when it would grow past
 * sparse_max bytes. */
int hll_set(struct hll_buf *b, unsigned idx, unsigned count, long long sparse_max);
/* Redis's hllSparseToDense: 0 (also when already dense), -1 corrupt (b
 * unchanged). The header, cache included, is kept. */
int hll_to_dense(struct hll_buf *b);

/* PFDEBUG DECODE's text of a sparse payload ("z:%d", "Z:%d", "v:%d,%d"
 * joined by spaces): a malloc'd string, its length in *outlen. */
char *hll_decode(const uint8_t *hll, size_t len, size_t *outlen);

/* PFSELFTEST: Redis's two tests (register access, then the approximation
 * error with dense and sparse side by side over 10^7 elements). NULL on
 * success, else the error text (a constant, or written into buf of size n).
 * rnd is the caller's random source (Redis's rand()). */
const char *hll_selftest(uint64_t (*rnd)(void *), void *arg, long long sparse_max, char *buf,
			 size_t n);

#endif
