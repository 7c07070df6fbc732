/*
 * test_bits.c — server/bits.c: popcount and bit search against a naive
 * per-bit model over random buffers of every small length and alignment,
 * fields read back after writes at unaligned offsets, the overflow rules at
 * the edges of every width (values checked on redis-server 7.0.15 with
 * BITFIELD ... OVERFLOW WRAP|SAT|FAIL), and the BITFIELD parser's errors in
 * Redis's order.
 */
#include "server/bits.h"

#include <criterion/criterion.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

static uint64_t naive_pop(const unsigned char *p, size_t n)
{
	uint64_t c = 0;

	for (size_t i = 0; i < n * 8; i++)
		c += (p[i / 8] >> (7 - i % 8)) & 1;
	return c;
}

static int64_t naive_pos(const unsigned char *p, size_t n, int bit)
{
	for (size_t i = 0; i < n * 8; i++)
		if ((int)((p[i / 8] >> (7 - i % 8)) & 1) == bit)
			return (int64_t)i;
	return bit ? -1 : (int64_t)(n * 8);
}

Test(bits, popcount_and_pos_match_model)
{
	unsigned char buf[200];

	srand(42);
	for (int round = 0; round < 300; round++) {
		int mode = round % 3; /* random, mostly zero, mostly one */
		for (size_t i = 0; i < sizeof(buf); i++) {
			unsigned char v = (unsigned char)rand();
			buf[i] = mode == 0   ? v
				 : mode == 1 ? (rand() % 50 ? 0 : v)
					     : (rand() % 50 ? 0xff : v);
		}
		for (size_t off = 0; off < 9; off++)
			for (size_t n = 0; n + off <= sizeof(buf); n += 1 + (size_t)rand() % 13) {
				cr_assert_eq(bits_popcount(buf + off, n), naive_pop(buf + off, n));
				cr_assert_eq(bits_pos(buf + off, n, 1), naive_pos(buf + off, n, 1));
				cr_assert_eq(bits_pos(buf + off, n, 0), naive_pos(buf + off, n, 0));
			}
	}
}

Test(bits, pos_empty_and_full)
{
	unsigned char z[17] = {0}, o[17];

	memset(o, 0xff, sizeof(o));
	cr_assert_eq(bits_pos(z, 0, 1), -1);
	cr_assert_eq(bits_pos(z, 0, 0), 0);
	cr_assert_eq(bits_pos(z, 17, 1), -1);
	cr_assert_eq(bits_pos(o, 17, 0), 17 * 8); /* right-padded with zeros */
	cr_assert_eq(bits_pos(o, 17, 1), 0);
	z[16] = 0x01;
	cr_assert_eq(bits_pos(z, 17, 1), 16 * 8 + 7);
}

Test(bits, fields_roundtrip_unaligned)
{
	unsigned char buf[16];

	srand(7);
	for (int round = 0; round < 2000; round++) {
		int bits = 1 + rand() % 64;
		uint64_t off = (uint64_t)(rand() % (int)(sizeof(buf) * 8 - 64 + 1));
		uint64_t v = ((uint64_t)rand() << 42) ^ ((uint64_t)rand() << 21) ^ (uint64_t)rand();
		unsigned char before[16];

		for (size_t i = 0; i < sizeof(buf); i++)
			buf[i] = (unsigned char)rand();
		memcpy(before, buf, sizeof(buf));
		bits_set(buf, off, bits, v);
		uint64_t mask = bits == 64 ? UINT64_MAX : ((uint64_t)1 << bits) - 1;
		cr_assert_eq(bits_get_unsigned(buf, off, bits), v & mask);
		int64_t s = bits_get_signed(buf, off, bits);
		if (bits < 64 && (v & ((uint64_t)1 << (bits - 1))))
			cr_assert_eq((uint64_t)s, (v & mask) | ~mask);
		else
			cr_assert_eq((uint64_t)s, v & mask);
		/* bits outside the field are untouched */
		for (uint64_t i = 0; i < sizeof(buf) * 8; i++) {
			if (i >= off && i < off + (uint64_t)bits)
				continue;
			cr_assert_eq((buf[i / 8] >> (7 - i % 8)) & 1,
				     (before[i / 8] >> (7 - i % 8)) & 1);
		}
	}
}

Test(bits, field_layout_msb_first)
{
	unsigned char b[2] = {0, 0};

	bits_set(b, 0, 4, 0xa); /* 1010.... */
	cr_assert_eq(b[0], 0xa0);
	bits_set(b, 6, 4, 0xf); /* ......11 11...... */
	cr_assert_eq(b[0], 0xa3);
	cr_assert_eq(b[1], 0xc0);
	cr_assert_eq(bits_get_signed(b, 0, 4), -6);
	cr_assert_eq(bits_get_unsigned(b, 0, 16), 0xa3c0);
}

Test(bits, overflow_signed_edges)
{
	int64_t lim = 12345;

	/* i8: 127 + 1 */
	cr_assert_eq(bits_overflow_signed(127, 1, 8, BITS_WRAP, &lim), 1);
	cr_assert_eq(lim, -128);
	cr_assert_eq(bits_overflow_signed(127, 1, 8, BITS_SAT, &lim), 1);
	cr_assert_eq(lim, 127);
	lim = 5;
	cr_assert_eq(bits_overflow_signed(127, 1, 8, BITS_FAIL, &lim), 1);
	cr_assert_eq(lim, 5);
	/* i8: -128 - 1 */
	cr_assert_eq(bits_overflow_signed(-128, -1, 8, BITS_WRAP, &lim), -1);
	cr_assert_eq(lim, 127);
	cr_assert_eq(bits_overflow_signed(-128, -1, 8, BITS_SAT, &lim), -1);
	cr_assert_eq(lim, -128);
	cr_assert_eq(bits_overflow_signed(100, 27, 8, BITS_SAT, &lim), 0);
	/* SET is checked as value + 0: 300 in i8 wraps to 44 */
	cr_assert_eq(bits_overflow_signed(300, 0, 8, BITS_WRAP, &lim), 1);
	cr_assert_eq(lim, 44);
	/* i64 */
	cr_assert_eq(bits_overflow_signed(INT64_MAX, 1, 64, BITS_WRAP, &lim), 1);
	cr_assert_eq(lim, INT64_MIN);
	cr_assert_eq(bits_overflow_signed(INT64_MIN, -1, 64, BITS_SAT, &lim), -1);
	cr_assert_eq(lim, INT64_MIN);
	cr_assert_eq(bits_overflow_signed(-1, INT64_MIN, 64, BITS_SAT, &lim), -1);
	cr_assert_eq(lim, INT64_MIN);
	cr_assert_eq(bits_overflow_signed(INT64_MIN, INT64_MAX, 64, BITS_SAT, &lim), 0);
	/* i1: values -1 and 0 */
	cr_assert_eq(bits_overflow_signed(0, 1, 1, BITS_WRAP, &lim), 1);
	cr_assert_eq(lim, -1);
	cr_assert_eq(bits_overflow_signed(-1, 1, 1, BITS_SAT, &lim), 0);
}

Test(bits, overflow_unsigned_edges)
{
	uint64_t lim = 0;

	cr_assert_eq(bits_overflow_unsigned(255, 1, 8, BITS_WRAP, &lim), 1);
	cr_assert_eq(lim, 0);
	cr_assert_eq(bits_overflow_unsigned(255, 1, 8, BITS_SAT, &lim), 1);
	cr_assert_eq(lim, 255);
	cr_assert_eq(bits_overflow_unsigned(0, -1, 8, BITS_WRAP, &lim), -1);
	cr_assert_eq(lim, 255);
	cr_assert_eq(bits_overflow_unsigned(0, -1, 8, BITS_SAT, &lim), -1);
	cr_assert_eq(lim, 0);
	/* SET u8 -5: the value is taken as unsigned, so it is above the range */
	cr_assert_eq(bits_overflow_unsigned((uint64_t)-5, 0, 8, BITS_SAT, &lim), 1);
	cr_assert_eq(lim, 255);
	cr_assert_eq(bits_overflow_unsigned((uint64_t)-5, 0, 8, BITS_WRAP, &lim), 1);
	cr_assert_eq(lim, 251);
	/* u63 */
	cr_assert_eq(bits_overflow_unsigned(INT64_MAX, 1, 63, BITS_WRAP, &lim), 1);
	cr_assert_eq(lim, 0);
	cr_assert_eq(bits_overflow_unsigned(10, -10, 63, BITS_SAT, &lim), 0);
	cr_assert_eq(bits_overflow_unsigned(10, INT64_MIN, 63, BITS_SAT, &lim), -1);
	cr_assert_eq(lim, 0);
}

Test(bits, offsets)
{
	uint64_t off = 0;

	cr_assert(bits_parse_offset("0", 1, 0, 512 << 20, &off) && off == 0);
	cr_assert(bits_parse_offset("4294967295", 10, 0, 512 << 20, &off) && off == 4294967295u);
	cr_assert(!bits_parse_offset("4294967296", 10, 0, 512 << 20, &off));
	cr_assert(!bits_parse_offset("-1", 2, 0, 512 << 20, &off));
	cr_assert(!bits_parse_offset("#1", 2, 0, 512 << 20, &off)); /* no # outside BITFIELD */
	cr_assert(bits_parse_offset("#3", 2, 16, 512 << 20, &off) && off == 48);
	cr_assert(!bits_parse_offset("#", 1, 16, 512 << 20, &off));
	cr_assert(!bits_parse_offset("01", 2, 0, 512 << 20, &off));
	/* #N * bits wraps to a negative number: out of range, not a crash */
	cr_assert(!bits_parse_offset("#144115188075855872", 19, 64, 512 << 20, &off));
}

static const char *parse(struct bits_cmd *cmd, int argc, const char *const *argv)
{
	size_t argl[32];

	for (int i = 0; i < argc; i++)
		argl[i] = strlen(argv[i]);
	return bits_parse_bitfield(argc, argv, argl, 512 << 20, cmd);
}

Test(bits, bitfield_parser)
{
	struct bits_cmd cmd;
	const char *ok[] = {"bitfield", "k",   "GET", "i8",  "#1",  "overflow", "SAT", "incrby",
			    "u63",	"100", "-5",  "SET", "i64", "0",	"-1"};
	cr_assert_null(parse(&cmd, 15, ok));
	cr_assert_eq(cmd.nops, 3);
	cr_assert_eq(cmd.readonly, 0);
	cr_assert_eq(cmd.ops[0].offset, 8);
	cr_assert_eq(cmd.ops[1].overflow, BITS_SAT);
	cr_assert_eq(cmd.ops[1].arg, -5);
	cr_assert_eq(cmd.highest_write_offset, 162);
	bits_cmd_free(&cmd);

	const char *ro[] = {"bitfield", "k", "GET", "u8", "0"};
	cr_assert_null(parse(&cmd, 5, ro));
	cr_assert(cmd.readonly);
	bits_cmd_free(&cmd);

	/* the first error wins, in Redis's order: word, type, offset, value */
	const char *e1[] = {"bitfield", "k", "GET", "u8"};
	cr_assert_str_eq(parse(&cmd, 4, e1), "ERR syntax error");
	const char *e2[] = {"bitfield", "k", "GET", "u64", "x"};
	cr_assert_str_eq(parse(&cmd, 5, e2), "ERR Invalid bitfield type. Use something like "
					     "i16 u8. Note that u64 is not supported but i64 is.");
	const char *e3[] = {"bitfield", "k", "SET", "i8", "x", "y"};
	cr_assert_str_eq(parse(&cmd, 6, e3), "ERR bit offset is not an integer or out of range");
	const char *e4[] = {"bitfield", "k", "SET", "i8", "0", "y"};
	cr_assert_str_eq(parse(&cmd, 6, e4), "ERR value is not an integer or out of range");
	const char *e5[] = {"bitfield", "k", "OVERFLOW", "x", "GET", "u64", "0"};
	cr_assert_str_eq(parse(&cmd, 7, e5), "ERR Invalid OVERFLOW type specified");
	cr_assert_null(cmd.ops);
}
