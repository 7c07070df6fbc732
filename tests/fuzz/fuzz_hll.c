/*
 * fuzz_hll.c — libFuzzer target for server/hll.c: the sparse decoder is a
 * parser of bytes any client can SET. The input becomes an HLL — byte 0
 * picks the encoding (bit 0) and hll-sparse-max-bytes (the other bits);
 * the rest is the payload after a "HYLL" header, padded or cut to the dense
 * size when dense — which is counted, merged, decoded, made dense and added
 * to, as PFCOUNT / PFMERGE / PFDEBUG / PFADD do.
 *
 * Checks: nothing reads or writes outside its buffer (ASan); a payload the
 * merge accepts is also accepted by the count and the dense conversion,
 * which keep its registers; adding to an HLL never lowers a register and
 * leaves a valid HLL; hll_would_change predicts hll_add (on any payload:
 * no change, or an error). (Not for a payload
 * ending in half an XZERO: like Redis, the functions read a zero byte past
 * the end for it, and an update of that opcode leaves its last byte past the
 * end — in Redis in the sds terminator's place — so the stored HLL is corrupt
 * afterwards in both.)
 */
#include "server/hll.h"
#include "concurrency/mem.h"
#include "tests/fuzz/fuzz_util.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Whether a sparse payload's last opcode is an XZERO cut in half. */
static bool half_xzero_at_end(const uint8_t *p, const uint8_t *end)
{
	while (p < end) {
		if ((*p & 0xc0) == 0x40) {
			if (p + 1 == end)
				return true;
			p += 2;
		} else {
			p++;
		}
	}
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const long long limits[] = {0, 20, 300, 3000};
	static uint8_t before[HLL_REGISTERS], after[HLL_REGISTERS];

	if (size < 1)
		return 0;
	int enc = data[0] & 1;
	long long sparse_max = limits[(data[0] >> 1) & 3];
	size_t plen = enc == HLL_ENC_DENSE ? HLL_DENSE_SIZE - HLL_HDR_SIZE : size - 1;
	uint8_t *h = mem_calloc(1, HLL_HDR_SIZE + plen);
	size_t len = HLL_HDR_SIZE + plen;

	memcpy(h, "HYLL", 4);
	h[4] = (uint8_t)enc;
	h[15] = 0x80; /* cache invalid */
	memcpy(h + HLL_HDR_SIZE, data + 1, size - 1 < plen ? size - 1 : plen);
	FUZZ_CHECK(hll_is_valid(h, len));

	bool invalid = false;
	hll_count(h, len, &invalid);
	memset(before, 0, sizeof(before));
	int merged = hll_merge(before, h, len);
	bool strict = enc == HLL_ENC_DENSE || !half_xzero_at_end(h + HLL_HDR_SIZE, h + len);
	if (enc == HLL_ENC_SPARSE) {
		size_t n;
		mem_free(hll_decode(h, len, &n));
	}

	struct hll_buf b;
	hll_buf_init(&b, h, len);
	int dense_rc = hll_to_dense(&b);
	if (merged == 0) {
		/* a payload the merge accepts covers exactly 16384 registers */
		FUZZ_CHECK(!invalid && dense_rc == 0);
		memset(after, 0, sizeof(after));
		FUZZ_CHECK(hll_merge(after, b.p, b.len) == 0);
		FUZZ_CHECK(memcmp(before, after, sizeof(before)) == 0);
	} else {
		FUZZ_CHECK(dense_rc == -1 && b.len == len);
	}
	hll_buf_free(&b);

	/* adds: elements cut from the input itself */
	uint64_t seed = fuzz_seed(data, size);
	hll_buf_init(&b, h, len);
	for (int i = 0; i < 64; i++) {
		uint64_t e = fuzz_rand(&seed);
		int will = hll_would_change(b.p, b.len, &e, sizeof(e));
		int rc = hll_add(&b, &e, sizeof(e), sparse_max);

		if (rc < 0)
			break;
		if (merged == 0 && strict) /* a half XZERO's update corrupts it */
			FUZZ_CHECK(will == rc);
		if (i == 0) { /* any payload: PFADD's read-only test agrees */
			FUZZ_CHECK(will >= 0 || rc < 0);
			FUZZ_CHECK(will != 0 || rc == 0);
		}
	}
	if (merged == 0 && strict) {
		memset(after, 0, sizeof(after));
		FUZZ_CHECK(hll_is_valid(b.p, b.len));
		FUZZ_CHECK(hll_merge(after, b.p, b.len) == 0);
		for (unsigned i = 0; i < HLL_REGISTERS; i++)
			FUZZ_CHECK(after[i] >= before[i]);
		invalid = false;
		hll_count(b.p, b.len, &invalid);
		FUZZ_CHECK(!invalid);
	}
	hll_buf_free(&b);
	mem_free(h);
	return 0;
}
