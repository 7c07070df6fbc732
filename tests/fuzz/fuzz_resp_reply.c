/*
 * fuzz_resp_reply.c — libFuzzer target for the reply parser
 * (resp_reply_parse): the input is a stream of RESP2/RESP3 replies. It is
 * parsed whole, in random-sized pieces (moved before each call) and byte by
 * byte; the transcripts must agree. Every complete reply is then walked with
 * resp_value_next(), which must accept it and end exactly where
 * resp_reply_parse() said it ends.
 */
#include "net/resp.h"
#include "concurrency/mem.h"
#include "tests/fuzz/fuzz_util.h"
#include "tests/unit/net/resp_feed.h"

#include <string.h>

#define FUZZ_MAX_CUTS 4096

/* Walks one complete reply of n bytes header by header; returns bytes walked. */
static size_t walk(const char *buf, size_t n)
{
	long long remaining[RESP_REPLY_MAXDEPTH + 1];
	int attr[RESP_REPLY_MAXDEPTH + 1];
	int depth = 0;
	size_t off = 0;

	for (;;) {
		struct resp_value v;
		size_t hdr = 0;
		int is_attr;

		FUZZ_CHECK(resp_value_next(buf + off, n - off, &v, &hdr) == RESP_OK);
		FUZZ_CHECK(hdr > 0 && hdr <= n - off);
		off += hdr;
		is_attr = v.type == RESP_T_ATTR;
		if (!v.is_null && v.integer > 0 &&
		    (v.type == '*' || v.type == '%' || v.type == '~' || v.type == '>' ||
		     v.type == '|')) {
			FUZZ_CHECK(depth < RESP_REPLY_MAXDEPTH);
			remaining[depth] =
			    v.type == '%' || v.type == '|' ? 2 * v.integer : v.integer;
			attr[depth++] = is_attr;
			continue;
		}
		for (;;) {
			if (depth == 0) {
				if (is_attr)
					break;
				return off;
			}
			if (is_attr)
				break;
			if (--remaining[depth - 1] > 0)
				break;
			is_attr = attr[--depth];
		}
	}
}

static void check_walk(const char *in, size_t n)
{
	struct resp_reply r;
	size_t start = 0;

	resp_reply_init(&r);
	for (;;) {
		size_t c = 0;
		enum resp_status st = resp_reply_parse(&r, in + start, n - start, &c);

		if (st != RESP_OK) {
			FUZZ_CHECK(c == 0);
			if (st != RESP_INCOMPLETE)
				FUZZ_CHECK(r.err[0] != '\0');
			return;
		}
		FUZZ_CHECK(c > 0 && c <= n - start);
		FUZZ_CHECK(r.top.str_off + r.top.str_len <= c);
		FUZZ_CHECK(walk(in + start, c) == c);
		start += c;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static size_t cuts[FUZZ_MAX_CUTS];
	const char *in = (const char *)data;
	uint64_t seed = fuzz_seed(data, size);
	struct resp_reply r;
	struct resp_tx whole, piece;
	size_t nc, i;

	check_walk(in, size);

	resp_reply_init(&r);
	resp_tx_init(&whole);
	resp_feed_reply(&r, in, size, NULL, 0, 0, &whole);

	resp_reply_init(&r);
	resp_tx_init(&piece);
	nc = fuzz_cuts(&seed, size, cuts, FUZZ_MAX_CUTS);
	resp_feed_reply(&r, in, size, cuts, nc, 1, &piece);
	if (strcmp(whole.s, piece.s) != 0) {
		fprintf(stderr, "whole:\n%s\npieces:\n%s\n", whole.s, piece.s);
		FUZZ_CHECK(!"pieces differ from whole");
	}
	if (size <= FUZZ_MAX_CUTS) {
		for (i = 1; i < size; i++)
			cuts[i - 1] = i;
		resp_reply_init(&r);
		piece.len = 0;
		piece.s[0] = '\0';
		resp_feed_reply(&r, in, size, cuts, size ? size - 1 : 0, 0, &piece);
		if (strcmp(whole.s, piece.s) != 0) {
			fprintf(stderr, "whole:\n%s\nbytes:\n%s\n", whole.s, piece.s);
			FUZZ_CHECK(!"byte-by-byte differs from whole");
		}
	}
	resp_tx_free(&whole);
	resp_tx_free(&piece);
	return 0;
}
