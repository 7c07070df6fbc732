/*
 * fuzz_bitfield.c — libFuzzer target for BITFIELD's argument parser and
 * field arithmetic (server/bits.c): the input, split on spaces into the
 * arguments after `BITFIELD key` (NUL bytes stay inside arguments), is
 * parsed with a small proto-max-bulk-len so every accepted offset fits a
 * small buffer. A refused input must come back with one of Redis's error
 * texts and nothing allocated; an accepted one must describe valid
 * operations (widths i1..i64 / u1..u63, offsets below the limit, the
 * highest write offset covering every SET/INCRBY), and running them on a
 * buffer grown as BITFIELD grows its string must read back what each write
 * stored, after WRAP/SAT, or leave the field alone under FAIL.
 */
#include "server/bits.h"
#include "concurrency/mem.h"
#include "tests/fuzz/fuzz_util.h"

#include <string.h>

#define FUZZ_MAX_ARGS  128
#define FUZZ_MAX_BYTES 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int is_error(const char *e)
{
	static const char *const known[] = {
	    "ERR syntax error",
	    "ERR bit offset is not an integer or out of range",
	    "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not "
	    "supported but i64 is.",
	    "ERR Invalid OVERFLOW type specified",
	    "ERR value is not an integer or out of range",
	};
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(e, known[i]) == 0)
			return 1;
	return 0;
}

/* The field's value as the reader sees it after storing v. */
static uint64_t stored(uint64_t v, int bits, int sign)
{
	uint64_t mask = bits == 64 ? UINT64_MAX : ((uint64_t)1 << bits) - 1;

	v &= mask;
	if (sign && bits < 64 && (v & ((uint64_t)1 << (bits - 1))))
		v |= ~mask;
	return v;
}

static void run(const struct bits_cmd *cmd)
{
	/* the string BITFIELD grows to; GETs may read past it (zeros) */
	size_t len = cmd->readonly ? 0 : (size_t)(cmd->highest_write_offset >> 3) + 1;
	unsigned char *p = mem_calloc(FUZZ_MAX_BYTES + 9, 1);

	for (size_t i = 0; i < cmd->nops; i++) {
		const struct bits_op *op = &cmd->ops[i];

		FUZZ_CHECK(op->bits >= 1 && op->bits <= (op->sign ? 64 : 63));
		FUZZ_CHECK((op->offset >> 3) < FUZZ_MAX_BYTES);
		FUZZ_CHECK(op->overflow <= BITS_FAIL);
		if (op->opcode == BITS_GET) {
			(void)bits_get_unsigned(p, op->offset, op->bits);
			continue;
		}
		FUZZ_CHECK(op->offset + op->bits - 1 <= cmd->highest_write_offset);
		FUZZ_CHECK(((op->offset + op->bits - 1) >> 3) < len);
		uint64_t before = bits_get_unsigned(p, op->offset, op->bits), nv;
		int ov;
		if (op->sign) {
			int64_t old = bits_get_signed(p, op->offset, op->bits), lim = 0;
			int64_t v = op->opcode == BITS_SET ? op->arg : old;
			int64_t inc = op->opcode == BITS_SET ? 0 : op->arg;
			ov = bits_overflow_signed(v, inc, op->bits, op->overflow, &lim);
			nv = ov ? (uint64_t)lim : (uint64_t)v + (uint64_t)inc;
			if (ov && op->overflow == BITS_SAT) /* the range's end */
				FUZZ_CHECK(
				    lim ==
				    (ov > 0 ? (op->bits == 64 ? INT64_MAX
							      : ((int64_t)1 << (op->bits - 1)) - 1)
					    : (op->bits == 64 ? INT64_MIN
							      : -((int64_t)1 << (op->bits - 1)))));
		} else {
			uint64_t old = bits_get_unsigned(p, op->offset, op->bits), lim = 0;
			uint64_t v = op->opcode == BITS_SET ? (uint64_t)op->arg : old;
			int64_t inc = op->opcode == BITS_SET ? 0 : op->arg;
			ov = bits_overflow_unsigned(v, inc, op->bits, op->overflow, &lim);
			nv = ov ? lim : v + (uint64_t)inc;
			if (ov && op->overflow == BITS_SAT)
				FUZZ_CHECK(lim == (ov > 0 ? ((uint64_t)1 << op->bits) - 1 : 0));
		}
		if (ov && op->overflow == BITS_FAIL) {
			FUZZ_CHECK(bits_get_unsigned(p, op->offset, op->bits) == before);
			continue;
		}
		/* a value that fitted, or a wrapped/saturated one, fits the field */
		FUZZ_CHECK(stored(nv, op->bits, op->sign) == nv);
		bits_set(p, op->offset, op->bits, nv);
		uint64_t back = op->sign ? (uint64_t)bits_get_signed(p, op->offset, op->bits)
					 : bits_get_unsigned(p, op->offset, op->bits);
		FUZZ_CHECK(back == stored(nv, op->bits, op->sign));
	}
	mem_free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *argv[FUZZ_MAX_ARGS + 2] = {"bitfield", "k"};
	size_t argl[FUZZ_MAX_ARGS + 2] = {8, 1};
	char *copy = mem_alloc(size + 1);
	int argc = 2;
	size_t at = 0;
	struct bits_cmd cmd;

	memcpy(copy, data, size);
	while (at < size && argc < FUZZ_MAX_ARGS + 2) {
		const char *sp = memchr(copy + at, ' ', size - at);
		size_t n = sp ? (size_t)(sp - (copy + at)) : size - at;

		argv[argc] = copy + at;
		argl[argc++] = n;
		at += n + 1;
	}
	const char *err = bits_parse_bitfield(argc, argv, argl, FUZZ_MAX_BYTES, &cmd);
	if (err) {
		FUZZ_CHECK(is_error(err));
		FUZZ_CHECK(cmd.ops == NULL && cmd.nops == 0);
	} else {
		FUZZ_CHECK(cmd.nops <= (size_t)argc);
		run(&cmd);
		bits_cmd_free(&cmd);
	}
	mem_free(copy);
	return 0;
}
