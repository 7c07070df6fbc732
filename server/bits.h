/*
 * bits.h — the pure halves of the bitmap commands (server/cmd_bits.c):
 * population count, first set/clear bit, BITFIELD's integer fields and
 * overflow rules, and BITFIELD's argument parser. No I/O, no storage: the
 * handlers feed them bytes, the unit tests (tests/unit/server/test_bits.c)
 * and the fuzz target (tests/fuzz/fuzz_bitfield.c) feed them anything.
 *
 * Semantics are Redis 7.0's bitops.c facts: bits are numbered from the most
 * significant bit of byte 0 (bit 0 = 0x80 of byte 0); a field of `bits` bits
 * at `offset` is read and written most significant bit first; signed fields
 * are two's complement; i1..i64 and u1..u63 are the valid types.
 *
 * Threads: every function is reentrant (no state). Errors: the parser
 * returns Redis's error text (without a leading '-'), NULL on success.
 */
#ifndef KVSD_BITS_H
#define KVSD_BITS_H

#include <stddef.h>
#include <stdint.h>

/* Set bits in p[0..n). */
uint64_t bits_popcount(const void *p, size_t n);

/*
 * Redis's redisBitpos(): the position of the first bit equal to `bit` in
 * p[0..n). Looking for a 0 and finding none answers n * 8 (the string is
 * taken as right-padded with zeros); looking for a 1 and finding none
 * answers -1.
 */
int64_t bits_pos(const void *p, size_t n, int bit);

/* A field of `bits` (1..64) bits at bit `offset` of p; p must hold every
 * byte the field touches. */
uint64_t bits_get_unsigned(const unsigned char *p, uint64_t offset, int bits);
int64_t bits_get_signed(const unsigned char *p, uint64_t offset, int bits);
/* Writes the low `bits` bits of value at `offset`. */
void bits_set(unsigned char *p, uint64_t offset, int bits, uint64_t value);

/* OVERFLOW modes, in Redis's order. */
enum bits_overflow { BITS_WRAP, BITS_SAT, BITS_FAIL };

/*
 * Redis's checkSignedBitfieldOverflow / checkUnsignedBitfieldOverflow:
 * whether value + incr leaves the range of a `bits`-bit field (1: above,
 * -1: below, 0: fits); when it does and the mode is WRAP or SAT, *limit
 * receives the wrapped or saturated result (FAIL leaves it alone). A SET is
 * checked as value = the new value, incr = 0.
 */
int bits_overflow_signed(int64_t value, int64_t incr, int bits, enum bits_overflow ow,
			 int64_t *limit);
int bits_overflow_unsigned(uint64_t value, int64_t incr, int bits, enum bits_overflow ow,
			   uint64_t *limit);

/*
 * Redis's getBitOffsetFromArgument: a bit offset argument, with `#N`
 * meaning N * bits when hash_bits > 0 (BITFIELD). It must be a canonical
 * integer >= 0 whose byte (offset >> 3) is below max_bytes
 * (proto-max-bulk-len). 1 and *out on success; 0 on
 * "ERR bit offset is not an integer or out of range".
 */
int bits_parse_offset(const char *s, size_t len, int hash_bits, long long max_bytes, uint64_t *out);

/* BITFIELD's operations. */
enum bits_opcode { BITS_GET, BITS_SET, BITS_INCRBY };

struct bits_op {
	uint64_t offset;
	int64_t arg; /* SET's value or INCRBY's increment */
	uint8_t opcode, sign, bits, overflow;
};

struct bits_cmd {
	struct bits_op *ops; /* mem_alloc'd; bits_cmd_free() */
	size_t nops;
	int readonly;		       /* only GETs (and OVERFLOWs) */
	uint64_t highest_write_offset; /* last bit any SET/INCRBY touches */
};

/*
 * Parses BITFIELD's arguments argv[2..argc) (argv[0] the name, argv[1] the
 * key) in Redis's order: subcommand words and their argument counts, then
 * type, offset and value, one operation at a time, the first error wins.
 * Returns NULL with *out filled (free with bits_cmd_free), or the error
 * text (a static string; *out is left empty).
 */
const char *bits_parse_bitfield(int argc, const char *const *argv, const size_t *argl,
				long long max_bytes, struct bits_cmd *out);
void bits_cmd_free(struct bits_cmd *cmd);

#endif
