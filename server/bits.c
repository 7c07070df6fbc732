/*
 * bits.c — population count, bit search, BITFIELD fields, overflow rules and
 * argument parsing (see bits.h). The arithmetic of the overflow checks is
 * done on unsigned 64-bit words: Redis's C relies on two's complement
 * wrap-around in a few places (a `#` offset times the width, min - value),
 * which is undefined behaviour for signed types; unsigned arithmetic gives
 * the same bits, defined.
 */
#include "server/bits.h"
#include "server/strutil.h"
#include "net/resp.h"
#include "concurrency/mem.h"

#include <limits.h>
#include <string.h>

/* ---- population count */

static uint64_t popcount_words(const unsigned char *p, size_t n)
{
	uint64_t c = 0, w;
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		memcpy(&w, p + i, 8);
		c += (uint64_t)__builtin_popcountll(w);
	}
	for (; i < n; i++)
		c += (uint64_t)__builtin_popcount(p[i]);
	return c;
}

#if defined(__x86_64__) && defined(__GNUC__)
/* The same loop compiled for the POPCNT instruction, used when the CPU has
 * it (every x86-64 since 2008; the baseline target does not assume it). */
__attribute__((target("popcnt"))) static uint64_t popcount_words_hw(const unsigned char *p,
								    size_t n)
{
	uint64_t c = 0, w;
	size_t i = 0;

	for (; i + 32 <= n; i += 32) {
		uint64_t w0, w1, w2, w3;

		memcpy(&w0, p + i, 8);
		memcpy(&w1, p + i + 8, 8);
		memcpy(&w2, p + i + 16, 8);
		memcpy(&w3, p + i + 24, 8);
		c += (uint64_t)(__builtin_popcountll(w0) + __builtin_popcountll(w1) +
				__builtin_popcountll(w2) + __builtin_popcountll(w3));
	}
	for (; i + 8 <= n; i += 8) {
		memcpy(&w, p + i, 8);
		c += (uint64_t)__builtin_popcountll(w);
	}
	for (; i < n; i++)
		c += (uint64_t)__builtin_popcount(p[i]);
	return c;
}

uint64_t bits_popcount(const void *p, size_t n)
{
	if (__builtin_cpu_supports("popcnt"))
		return popcount_words_hw(p, n);
	return popcount_words(p, n);
}
#else
uint64_t bits_popcount(const void *p, size_t n)
{
	return popcount_words(p, n);
}
#endif

/* ---- bit search */

int64_t bits_pos(const void *s, size_t n, int bit)
{
	const unsigned char *p = s;
	const uint64_t skip = bit ? 0 : UINT64_MAX;
	size_t i = 0;

	/* whole words that cannot hold the bit we look for */
	while (i + 8 <= n) {
		uint64_t w;

		memcpy(&w, p + i, 8);
		if (w != skip)
			break;
		i += 8;
	}
	for (; i < n; i++) {
		unsigned char c = bit ? p[i] : (unsigned char)~p[i];

		if (c)
			return (int64_t)(i * 8) + (__builtin_clz(c) - (int)(sizeof(int) * 8 - 8));
	}
	return bit ? -1 : (int64_t)(n * 8);
}

/* ---- fields */

uint64_t bits_get_unsigned(const unsigned char *p, uint64_t offset, int bits)
{
	uint64_t v = 0;

	for (int j = 0; j < bits; j++, offset++) {
		unsigned bit = 7 - (unsigned)(offset & 7);

		v = (v << 1) | ((p[offset >> 3] >> bit) & 1u);
	}
	return v;
}

int64_t bits_get_signed(const unsigned char *p, uint64_t offset, int bits)
{
	uint64_t v = bits_get_unsigned(p, offset, bits);

	/* two's complement: propagate the field's sign bit upwards */
	if (bits < 64 && (v & ((uint64_t)1 << (bits - 1))))
		v |= UINT64_MAX << bits;
	return (int64_t)v;
}

void bits_set(unsigned char *p, uint64_t offset, int bits, uint64_t value)
{
	for (int j = 0; j < bits; j++, offset++) {
		unsigned bit = 7 - (unsigned)(offset & 7);
		unsigned v = (unsigned)(value >> (bits - 1 - j)) & 1u;
		unsigned char *b = &p[offset >> 3];

		*b = (unsigned char)((*b & ~(1u << bit)) | (v << bit));
	}
}

/* ---- overflow */

int bits_overflow_signed(int64_t value, int64_t incr, int bits, enum bits_overflow ow,
			 int64_t *limit)
{
	int64_t max = bits == 64 ? INT64_MAX : (int64_t)(((uint64_t)1 << (bits - 1)) - 1);
	int64_t min = -max - 1;
	/* These may wrap (Redis's do too); they are only used once value is
	 * known to be in range, where they do not. */
	int64_t maxincr = (int64_t)((uint64_t)max - (uint64_t)value);
	int64_t minincr = (int64_t)((uint64_t)min - (uint64_t)value);
	int dir = 0;

	if (value > max || (bits != 64 && incr > maxincr) ||
	    (value >= 0 && incr > 0 && incr > maxincr))
		dir = 1;
	else if (value < min || (bits != 64 && incr < minincr) ||
		 (value < 0 && incr < 0 && incr < minincr))
		dir = -1;
	if (!dir)
		return 0;
	if (ow == BITS_SAT) {
		*limit = dir > 0 ? max : min;
	} else if (ow == BITS_WRAP) {
		uint64_t c = (uint64_t)value + (uint64_t)incr;

		if (bits < 64) {
			uint64_t mask = UINT64_MAX << bits;

			if (c & ((uint64_t)1 << (bits - 1)))
				c |= mask;
			else
				c &= ~mask;
		}
		*limit = (int64_t)c;
	}
	return dir;
}

int bits_overflow_unsigned(uint64_t value, int64_t incr, int bits, enum bits_overflow ow,
			   uint64_t *limit)
{
	uint64_t max = bits == 64 ? UINT64_MAX : ((uint64_t)1 << bits) - 1;
	int64_t maxincr = (int64_t)(max - value);
	int64_t minincr = (int64_t)(0 - value);
	int dir = 0;

	if (value > max || (incr > 0 && incr > maxincr))
		dir = 1;
	else if (incr < 0 && incr < minincr)
		dir = -1;
	if (!dir)
		return 0;
	if (ow == BITS_SAT) {
		*limit = dir > 0 ? max : 0;
	} else if (ow == BITS_WRAP) {
		uint64_t res = value + (uint64_t)incr;

		if (bits < 64)
			res &= ~(UINT64_MAX << bits);
		*limit = res;
	}
	return dir;
}

/* ---- arguments */

int bits_parse_offset(const char *s, size_t len, int hash_bits, long long max_bytes, uint64_t *out)
{
	int hash = hash_bits > 0 && len > 0 && s[0] == '#';
	long long v;

	if (!resp_str2ll(s + hash, len - (size_t)hash, &v))
		return 0;
	if (hash) /* wraps as Redis's signed product does in practice */
		v = (long long)((uint64_t)v * (uint64_t)hash_bits);
	if (v < 0 || (v >> 3) >= max_bytes)
		return 0;
	*out = (uint64_t)v;
	return 1;
}

static const char ERR_SYNTAX[] = "ERR syntax error";
static const char ERR_OFFSET[] = "ERR bit offset is not an integer or out of range";
static const char ERR_TYPE[] = "ERR Invalid bitfield type. Use something like i16 u8. "
			       "Note that u64 is not supported but i64 is.";
static const char ERR_OVERFLOW[] = "ERR Invalid OVERFLOW type specified";
static const char ERR_NOT_INT[] = "ERR value is not an integer or out of range";

/* getBitfieldTypeFromArgument: 'i' or 'u', then a width read up to the
 * argument's first NUL (Redis's strlen), i1..i64 or u1..u63. */
static int parse_type(const char *s, size_t len, int *sign, int *bits)
{
	long long w;
	const char *nul = memchr(s, '\0', len);

	if (nul)
		len = (size_t)(nul - s);
	if (len == 0 || (s[0] != 'i' && s[0] != 'u'))
		return 0;
	*sign = s[0] == 'i';
	if (!resp_str2ll(s + 1, len - 1, &w) || w < 1 || (*sign && w > 64) || (!*sign && w > 63))
		return 0;
	*bits = (int)w;
	return 1;
}

const char *bits_parse_bitfield(int argc, const char *const *argv, const size_t *argl,
				long long max_bytes, struct bits_cmd *out)
{
	enum bits_overflow ow = BITS_WRAP;
	size_t cap = 0;

	memset(out, 0, sizeof(*out));
	out->readonly = 1;
	for (int j = 2; j < argc; j++) {
		int rem = argc - j - 1;
		int opcode, sign, bits;
		uint64_t offset;
		long long arg = 0;
		const char *err = NULL;

		if (su_word_is(argv[j], argl[j], "get") && rem >= 2) {
			opcode = BITS_GET;
		} else if (su_word_is(argv[j], argl[j], "set") && rem >= 3) {
			opcode = BITS_SET;
		} else if (su_word_is(argv[j], argl[j], "incrby") && rem >= 3) {
			opcode = BITS_INCRBY;
		} else if (su_word_is(argv[j], argl[j], "overflow") && rem >= 1) {
			j++;
			if (su_word_is(argv[j], argl[j], "wrap"))
				ow = BITS_WRAP;
			else if (su_word_is(argv[j], argl[j], "sat"))
				ow = BITS_SAT;
			else if (su_word_is(argv[j], argl[j], "fail"))
				ow = BITS_FAIL;
			else
				err = ERR_OVERFLOW;
			if (!err)
				continue;
		} else {
			err = ERR_SYNTAX;
		}
		if (!err && !parse_type(argv[j + 1], argl[j + 1], &sign, &bits))
			err = ERR_TYPE;
		if (!err && !bits_parse_offset(argv[j + 2], argl[j + 2], bits, max_bytes, &offset))
			err = ERR_OFFSET;
		if (!err && opcode != BITS_GET) {
			out->readonly = 0;
			if (out->highest_write_offset < offset + (uint64_t)bits - 1)
				out->highest_write_offset = offset + (uint64_t)bits - 1;
			if (!resp_str2ll(argv[j + 3], argl[j + 3], &arg))
				err = ERR_NOT_INT;
		}
		if (err) {
			bits_cmd_free(out);
			return err;
		}
		if (out->nops == cap) {
			cap = cap ? cap * 2 : 8;
			out->ops = mem_realloc(out->ops, cap * sizeof(*out->ops));
		}
		out->ops[out->nops++] = (struct bits_op){
		    .offset = offset,
		    .arg = arg,
		    .opcode = (uint8_t)opcode,
		    .sign = (uint8_t)sign,
		    .bits = (uint8_t)bits,
		    .overflow = (uint8_t)ow,
		};
		j += opcode == BITS_GET ? 2 : 3;
	}
	return NULL;
}

void bits_cmd_free(struct bits_cmd *cmd)
{
	mem_free(cmd->ops);
	cmd->ops = NULL;
	cmd->nops = 0;
	cmd->readonly = 1;
	cmd->highest_write_offset = 0;
}
