/*
 * fuzz_resp_req.c — libFuzzer target for the request parser
 * (resp_req_parse): the input is a stream of requests as a client would
 * send it. It is parsed whole, then in random-sized pieces (moved to a fresh
 * buffer before every call, as a connection may), then byte by byte, and all
 * three transcripts must agree. Each is run with Redis's defaults and again
 * with auth_required and a tiny proto-max-bulk-len, so the limit paths are
 * reached. Structural invariants of every result are checked too, and the
 * look-ahead (resp_req_peek) must see exactly the requests the parse gives,
 * up to the first one it does not take. (Lines
 * longer than RESP_INLINE_MAX may legitimately parse differently split —
 * resp.h — but fuzz inputs are at most 4096 bytes: run-fuzzers.sh.)
 */
#include "net/resp.h"
#include "concurrency/mem.h"
#include "tests/fuzz/fuzz_util.h"
#include "tests/unit/net/resp_feed.h"

#include <stdbool.h>
#include <string.h>

#define FUZZ_MAX_CUTS 4096

/* Invariants of one parse of the whole input, request after request. */
static void check_invariants(struct resp_req *r, const char *in, size_t n)
{
	size_t start = 0;

	for (;;) {
		size_t c = 0;
		enum resp_status st = resp_req_parse(r, in + start, n - start, &c);
		int i;

		if (st != RESP_OK) {
			FUZZ_CHECK(c == 0);
			if (st == RESP_EPROTO || st == RESP_ETOOBIG)
				FUZZ_CHECK(strncmp(r->err, "ERR Protocol error: ", 20) == 0);
			return;
		}
		FUZZ_CHECK(c > 0 && c <= n - start);
		FUZZ_CHECK(r->argc >= 0);
		for (i = 0; i < r->argc; i++) {
			const struct resp_arg *a = &r->argv[i];

			if (a->in_scratch)
				FUZZ_CHECK(a->off + a->len <= r->scratch_len);
			else
				FUZZ_CHECK(a->off + a->len <= c);
			if (in[start] == '*')
				FUZZ_CHECK(!a->in_scratch && (long long)a->len <= r->max_bulk_len);
		}
		start += c;
	}
}

/* resp_req_peek agrees with resp_req_parse: the same requests, the same
 * bytes, and it stops exactly where a request is not one it takes. */
static void check_peek(struct resp_req *r, const char *in, size_t n)
{
	struct resp_peek pk[8];
	size_t covered = 0, start = 0;
	int np = resp_req_peek(in, n, r->max_bulk_len, pk, 8, &covered);

	FUZZ_CHECK(np >= 0 && np <= 8 && covered <= n);
	for (int k = 0;; k++) {
		size_t c = 0;
		enum resp_status st = resp_req_parse(r, in + start, n - start, &c);
		bool takes = st == RESP_OK && in[start] == '*' && r->argc >= 1 &&
			     r->argc <= RESP_PEEK_ARGC;

		if (k == np) {
			FUZZ_CHECK(start == covered);
			/* it stopped: at the limit, or before a request it does not take */
			FUZZ_CHECK(np == 8 || !takes);
			break;
		}
		FUZZ_CHECK(takes);
		FUZZ_CHECK(pk[k].argc == r->argc);
		for (int i = 0; i < r->argc && i < RESP_PEEK_ARGS; i++) {
			FUZZ_CHECK(pk[k].argl[i] == r->argv[i].len);
			FUZZ_CHECK(pk[k].argv[i] == resp_req_argp(r, in + start, i));
		}
		start += c;
	}
	resp_req_reset(r);
}

static void run(const char *in, size_t size, uint64_t seed, long long max_bulk, int auth)
{
	static size_t cuts[FUZZ_MAX_CUTS];
	struct resp_req r;
	struct resp_tx whole, piece;
	size_t nc, i;

	resp_req_init(&r);
	if (max_bulk)
		r.max_bulk_len = max_bulk;
	r.auth_required = auth;
	check_invariants(&r, in, size);
	resp_req_reset(&r);
	if (!auth)
		check_peek(&r, in, size);

	resp_tx_init(&whole);
	resp_feed_req(&r, in, size, NULL, 0, 0, &whole);

	resp_req_reset(&r);
	resp_tx_init(&piece);
	nc = fuzz_cuts(&seed, size, cuts, FUZZ_MAX_CUTS);
	resp_feed_req(&r, in, size, cuts, nc, 1, &piece);
	if (strcmp(whole.s, piece.s) != 0) {
		fprintf(stderr, "whole:\n%s\npieces:\n%s\n", whole.s, piece.s);
		FUZZ_CHECK(!"pieces differ from whole");
	}

	if (size <= FUZZ_MAX_CUTS) {
		for (i = 1; i < size; i++)
			cuts[i - 1] = i;
		resp_req_reset(&r);
		piece.len = 0;
		piece.s[0] = '\0';
		resp_feed_req(&r, in, size, cuts, size ? size - 1 : 0, 0, &piece);
		if (strcmp(whole.s, piece.s) != 0) {
			fprintf(stderr, "whole:\n%s\nbytes:\n%s\n", whole.s, piece.s);
			FUZZ_CHECK(!"byte-by-byte differs from whole");
		}
	}
	resp_tx_free(&whole);
	resp_tx_free(&piece);
	resp_req_deinit(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t seed = fuzz_seed(data, size);

	run((const char *)data, size, seed, 0, 0);
	run((const char *)data, size, seed, 64, 1);
	return 0;
}
