/*
 * test_resp.c — unit tests for net/resp.c.
 *
 * Every case is a whole input and the transcript it must produce (see
 * resp_feed.h); each is also fed split at every byte position and byte by
 * byte, with the unconsumed bytes moved to a fresh buffer before each call,
 * and must give the identical transcript. Expected texts were checked against
 * redis-server 7.0.15 (raw sockets) where the behaviour is Redis's.
 */
#include "net/resp.h"
#include "concurrency/mem.h"
#include "concurrency/util.h"
#include "tests/unit/net/resp_feed.h"

#include <criterion/criterion.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define S(lit) lit, sizeof(lit) - 1

/* Transcript comparison that prints both sides on failure. */
#define EXPECT_TX(got, want, ...)                                                                  \
	cr_assert(strcmp((got), (want)) == 0, "%s\n--- got:\n%s--- want:\n%s", #__VA_ARGS__,       \
		  (got), (want))

struct req_opts {
	long long max_bulk_len; /* 0 = default */
	int auth_required;
};

static void req_setup(struct resp_req *r, const struct req_opts *o)
{
	resp_req_init(r);
	if (o && o->max_bulk_len)
		r->max_bulk_len = o->max_bulk_len;
	if (o)
		r->auth_required = o->auth_required;
}

static char *run_req(const char *in, size_t n, const size_t *cuts, size_t ncuts, int move,
		     const struct req_opts *o)
{
	struct resp_req r;
	struct resp_tx t;
	char *out;

	req_setup(&r, o);
	resp_tx_init(&t);
	resp_feed_req(&r, in, n, cuts, ncuts, move, &t);
	/* errors are sticky */
	if (r.kind == 'E' || r.kind == 'T') {
		size_t c = 99;
		enum resp_status st = resp_req_parse(&r, in, n, &c);

		cr_assert(st == RESP_EPROTO || st == RESP_ETOOBIG);
		cr_assert_eq(c, 0);
	}
	resp_req_deinit(&r);
	out = strdup(t.s);
	resp_tx_free(&t);
	return out;
}

/* Checks one request input against its expected transcript, fed every way. */
static void check_req_opts(const char *in, size_t n, const char *want, const struct req_opts *o)
{
	char *whole = run_req(in, n, NULL, 0, 0, o);
	size_t k, *cuts;

	EXPECT_TX(whole, want, "whole input");
	free(whole);
	whole = run_req(in, n, NULL, 0, 1, o);
	EXPECT_TX(whole, want, "whole input, moved");
	free(whole);
	if (n > 4096) {
		/* large inputs: a few chunkings, in place (moving would be quadratic) */
		static const size_t steps[] = {1, 7, 1000, 16384};

		for (k = 0; k < KV_ARRAY_LEN(steps); k++) {
			size_t nc = n / steps[k], i;
			char *got;

			cuts = malloc((nc + 1) * sizeof(*cuts));
			for (i = 0; i < nc; i++)
				cuts[i] = (i + 1) * steps[k];
			while (nc > 0 && cuts[nc - 1] >= n)
				nc--;
			got = run_req(in, n, cuts, nc, 0, o);
			EXPECT_TX(got, want, "chunks of %zu");
			free(got);
			free(cuts);
		}
		return;
	}
	for (k = 1; k < n; k++) {
		char *got = run_req(in, n, &k, 1, 1, o);

		EXPECT_TX(got, want, "split at %zu");
		free(got);
	}
	if (n > 1) {
		char *got;

		cuts = malloc(n * sizeof(*cuts));
		for (k = 1; k < n; k++)
			cuts[k - 1] = k;
		got = run_req(in, n, cuts, n - 1, 1, o);
		EXPECT_TX(got, want, "byte by byte");
		free(got);
		free(cuts);
	}
}

static void check_req(const char *in, size_t n, const char *want)
{
	check_req_opts(in, n, want, NULL);
}

/* The input given in one call only: for lines longer than RESP_INLINE_MAX,
 * whose outcome depends on the split as Redis's depends on its reads. */
static void check_req_whole(const char *in, size_t n, const char *want)
{
	char *got = run_req(in, n, NULL, 0, 0, NULL);

	EXPECT_TX(got, want, "whole input");
	free(got);
}

/* ------------------------------------------------------------------------- */

Test(resp_req, multibulk_basic)
{
	check_req(S("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"), "OK argc=2 [GET] [k] n=20\n");
	check_req(S("*1\r\n$4\r\nPING\r\n"), "OK argc=1 [PING] n=14\n");
	check_req(S("*1\r\n$0\r\n\r\n"), "OK argc=1 [] n=10\n");
	check_req(S("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n"),
		  "OK argc=3 [SET] [k] [hello] n=31\n");
	/* binary payloads: NUL, CR, LF inside a bulk are data */
	check_req(S("*1\r\n$6\r\n\0\r\n*\r\n\r\n"),
		  "OK argc=1 [\\x00\\x0d\\x0a*\\x0d\\x0a] n=16\n");
}

Test(resp_req, partial)
{
	check_req(S("*2\r\n$3\r\nGET\r\n$1\r\nk\r"), "INCOMPLETE\n");
	check_req(S("*2\r\n$3\r\nGET\r\n$1\r\nk"), "INCOMPLETE\n");
	check_req(S("*2\r\n$3\r\nGET\r\n$1\r\n"), "INCOMPLETE\n");
	check_req(S("*2\r\n$3\r\nGET\r\n$1\r"), "INCOMPLETE\n");
	check_req(S("*2\r\n$3\r\nGE"), "INCOMPLETE\n");
	check_req(S("*2\r"), "INCOMPLETE\n");
	check_req(S("*"), "INCOMPLETE\n");
	check_req(S("PING"), "INCOMPLETE\n");
	check_req(S("PING\r"), "INCOMPLETE\n");
	check_req(S(""), "INCOMPLETE\n");
}

Test(resp_req, empty_requests_skipped)
{
	check_req(S("*0\r\n"), "OK argc=0 n=4\n");
	check_req(S("*-1\r\n"), "OK argc=0 n=5\n");
	check_req(S("*-5\r\n*1\r\n$4\r\nPING\r\n"), "OK argc=0 n=5\nOK argc=1 [PING] n=14\n");
	check_req(S("*-9223372036854775808\r\n"), "OK argc=0 n=23\n");
	check_req(S("\r\n"), "OK argc=0 n=2\n");
	check_req(S("\n"), "OK argc=0 n=1\n");
	check_req(S("   \t \r\n"), "OK argc=0 n=7\n");
	check_req(S("\r\n\nPING\n"), "OK argc=0 n=2\nOK argc=0 n=1\nOK argc=1 [PING] n=5\n");
}

Test(resp_req, pipelined)
{
	check_req(S("*1\r\n$4\r\nPING\r\n*0\r\n*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\nPING\r\nECHO "
		    "\"x y\"\n*1\r\n$4\r\nPING\r\n"),
		  "OK argc=1 [PING] n=14\n"
		  "OK argc=0 n=4\n"
		  "OK argc=2 [ECHO] [hi] n=22\n"
		  "OK argc=1 [PING] n=6\n"
		  "OK argc=2 [ECHO] [x y] n=11\n"
		  "OK argc=1 [PING] n=14\n");
	/* an error after good requests: the good ones are still delivered */
	check_req(S("PING\r\n*1\r\nx\r\n"),
		  "OK argc=1 [PING] n=6\nEPROTO ERR Protocol error: expected '$', got 'x'\n");
}

Test(resp_req, unchecked_crlf_like_redis)
{
	/* Redis skips the byte after a header's CR and the two after a payload
	 * without looking at them (redis-server 7.0.15 answers +PONG to both). */
	check_req(S("*1\rx$4\r\nPINGxy"), "OK argc=1 [PING] n=14\n");
	check_req(S("*1\r\n$4\r\nPINGxyPING\r\n"), "OK argc=1 [PING] n=14\nOK argc=1 [PING] n=6\n");
	check_req(S("*1\r\n$4\rzPING\r\n"), "OK argc=1 [PING] n=14\n");
}

Test(resp_req, short_count_lines)
{
	/* one-, two- and three-digit counts (the parser reads the first two
	 * without a loop), each split at every byte by check_req */
	check_req(S("*1\r\n$12\r\nhello world!\r\n"), "OK argc=1 [hello world!] n=23\n");
	check_req(S("*1\r\n$100\r\n"), "INCOMPLETE\n");
	check_req(S("*10\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n"
		    "$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$2\r\nab\r\n"),
		  "OK argc=10 [a] [a] [a] [a] [a] [a] [a] [a] [a] [ab] n=76\n");
	/* a NUL or a CR among the first bytes: as the byte-by-byte search */
	check_req(S("*1\r\n$1\0\r\nx\r\n"), "INCOMPLETE\n");
	check_req(S("*1\r\n$\0\r\r\nx\r\n"), "INCOMPLETE\n");
	check_req(S("*1\r\n$\r\n\r\n"), "EPROTO ERR Protocol error: invalid bulk length\n");
	check_req(S("*1\r\n$1\t\r\nx\r\n"), "EPROTO ERR Protocol error: invalid bulk length\n");
	check_req(S("*\r\n"), "EPROTO ERR Protocol error: invalid multibulk length\n");
}

Test(resp_req, nul_hides_the_terminator)
{
	/* strchr() on Redis's query buffer stops at a NUL: never completes */
	check_req(S("PING\0\r\n"), "INCOMPLETE\n");
	check_req(S("*1\0\r\n$4\r\nPING\r\n"), "INCOMPLETE\n");
	check_req(S("*1\r\n$4\0\r\nPING\r\n"), "INCOMPLETE\n");
	check_req(S("\0"), "INCOMPLETE\n");
}

Test(resp_req, multibulk_length_errors)
{
	const char *inv = "EPROTO ERR Protocol error: invalid multibulk length\n";

	check_req(S("*\r\n"), inv);
	check_req(S("*01\r\n"), inv);
	check_req(S("*+1\r\n"), inv);
	check_req(S("*-0\r\n"), inv);
	check_req(S("* 1\r\n"), inv);
	check_req(S("*1 \r\n"), inv);
	check_req(S("*1\n\r\n"), inv);
	check_req(S("*x\r\n"), inv);
	check_req(S("*-\r\n"), inv);
	check_req(S("*9223372036854775808\r\n"), inv);
	check_req(S("*000000000000000000001\r\n"), inv);
	check_req(S("*2147483648\r\n"), "ETOOBIG ERR Protocol error: invalid multibulk length\n");
	check_req(S("*2147483647\r\n"), "INCOMPLETE\n");
	check_req(S("*1048577\r\n"), "INCOMPLETE\n"); /* 7.0 allows more than 1M */
}

Test(resp_req, bulk_length_errors)
{
	const char *inv = "EPROTO ERR Protocol error: invalid bulk length\n";

	check_req(S("*1\r\n$-1\r\n"), inv);
	check_req(S("*1\r\n$00\r\n"), inv);
	check_req(S("*1\r\n$+4\r\nPING\r\n"), inv);
	check_req(S("*1\r\n$4 \r\nPING\r\n"), inv);
	check_req(S("*1\r\n$\r\n"), inv);
	check_req(S("*1\r\n$4\n\r\n"), inv);
	check_req(S("*1\r\n$99999999999999999999\r\n"), inv);
	check_req(S("*1\r\n$536870913\r\n"), "ETOOBIG ERR Protocol error: invalid bulk length\n");
	check_req(S("*1\r\n$536870912\r\n"), "INCOMPLETE\n");
	check_req(S("*2\r\n$1\r\na\r\n$-1\r\n"), inv);
}

Test(resp_req, expected_dollar)
{
	check_req(S("*1\r\nx4\r\n"), "EPROTO ERR Protocol error: expected '$', got 'x'\n");
	check_req(S("*1\r\n:4\r\n"), "EPROTO ERR Protocol error: expected '$', got ':'\n");
	/* CR and LF are shown as spaces (addReplyErrorFormat maps them) */
	check_req(S("*1\r\n\n\r\n"), "EPROTO ERR Protocol error: expected '$', got ' '\n");
	check_req(S("*1\r\n\r\r\n"), "EPROTO ERR Protocol error: expected '$', got ' '\n");
	check_req(S("*2\r\n$1\r\na\r\n*1\r\n"),
		  "EPROTO ERR Protocol error: expected '$', got '*'\n");
	check_req(S("*1\r\n\xff\r\n"), "EPROTO ERR Protocol error: expected '$', got '\\xff'\n");
}

Test(resp_req, custom_max_bulk_len)
{
	struct req_opts o = {.max_bulk_len = 10};

	check_req_opts(S("*1\r\n$10\r\n0123456789\r\n"), "OK argc=1 [0123456789] n=21\n", &o);
	check_req_opts(S("*1\r\n$11\r\n"), "ETOOBIG ERR Protocol error: invalid bulk length\n", &o);
}

Test(resp_req, unauthenticated_limits)
{
	struct req_opts o = {.auth_required = 1};

	check_req_opts(S("*10\r\n"), "INCOMPLETE\n", &o);
	check_req_opts(S("*11\r\n"),
		       "ETOOBIG ERR Protocol error: unauthenticated multibulk length\n", &o);
	check_req_opts(S("*11x\r\n"), "EPROTO ERR Protocol error: invalid multibulk length\n", &o);
	check_req_opts(S("*-5\r\n"), "OK argc=0 n=5\n", &o);
	check_req_opts(S("*1\r\n$16384\r\n"), "INCOMPLETE\n", &o);
	check_req_opts(S("*1\r\n$16385\r\n"),
		       "ETOOBIG ERR Protocol error: unauthenticated bulk length\n", &o);
	check_req_opts(S("*1\r\n$16385x\r\n"), "EPROTO ERR Protocol error: invalid bulk length\n",
		       &o);
	check_req_opts(S("*1\r\n$536870913\r\n"),
		       "ETOOBIG ERR Protocol error: invalid bulk length\n", &o);
	/* without auth_required both are fine */
	check_req(S("*11\r\n"), "INCOMPLETE\n");
	check_req(S("*1\r\n$16385\r\n"), "INCOMPLETE\n");
}

/* Builds prefix + fill*n + suffix. */
static char *build(const char *prefix, char fill, size_t n, const char *suffix, size_t *len)
{
	size_t pl = strlen(prefix), sl = strlen(suffix);
	char *s = malloc(pl + n + sl + 1);

	memcpy(s, prefix, pl);
	memset(s + pl, fill, n);
	memcpy(s + pl + n, suffix, sl);
	*len = pl + n + sl;
	s[*len] = '\0';
	return s;
}

Test(resp_req, too_big_inline)
{
	size_t n;
	char *s;

	s = build("", 'A', RESP_INLINE_MAX, "", &n);
	check_req(s, n, "INCOMPLETE\n");
	free(s);
	s = build("", 'A', RESP_INLINE_MAX + 1, "", &n);
	check_req(s, n, "ETOOBIG ERR Protocol error: too big inline request\n");
	free(s);
	/* as Redis: a longer line whose newline is among the bytes given is
	 * parsed (what one read brought decides; conn_io.c reads as Redis does) */
	s = build("ECHO ", 'A', RESP_INLINE_MAX + 10, "\r\n", &n);
	{
		struct resp_req r;
		size_t c;

		resp_req_init(&r);
		cr_assert_eq(resp_req_parse(&r, s, n, &c), RESP_OK);
		cr_assert_eq(c, n);
		cr_assert_eq(r.argc, 2);
		cr_assert_eq(r.argv[1].len, (size_t)RESP_INLINE_MAX + 10);
		resp_req_deinit(&r);
		/* the same line given without its newline first: refused */
		resp_req_init(&r);
		cr_assert_eq(resp_req_parse(&r, s, RESP_INLINE_MAX + 1, &c), RESP_ETOOBIG);
		resp_req_deinit(&r);
	}
	free(s);
	/* a line whose newline is within the limit is fine */
	s = build("ECHO ", 'A', RESP_INLINE_MAX - 5, "\n", &n);
	{
		struct resp_req r;
		size_t c;

		resp_req_init(&r);
		cr_assert_eq(resp_req_parse(&r, s, n, &c), RESP_OK);
		cr_assert_eq(c, n);
		cr_assert_eq(r.argc, 2);
		cr_assert_eq(r.argv[1].len, (size_t)RESP_INLINE_MAX - 5);
		resp_req_deinit(&r);
	}
	free(s);
	/* a NUL stalls the line until the limit */
	s = build("PING\0", 'A', RESP_INLINE_MAX, "\r\n", &n);
	s[4] = '\0';
	check_req(s, n, "ETOOBIG ERR Protocol error: too big inline request\n");
	free(s);
}

Test(resp_req, too_big_count_strings)
{
	size_t n;
	char *s;

	s = build("*", '1', RESP_INLINE_MAX - 1, "", &n); /* 65536 bytes: still waiting */
	check_req(s, n, "INCOMPLETE\n");
	free(s);
	s = build("*", '1', RESP_INLINE_MAX, "", &n);
	check_req(s, n, "ETOOBIG ERR Protocol error: too big mbulk count string\n");
	free(s);
	/* terminated in the same bytes: a count that is not a number (Redis) */
	s = build("*", '1', RESP_INLINE_MAX, "\r\n", &n);
	check_req_whole(s, n, "EPROTO ERR Protocol error: invalid multibulk length\n");
	free(s);
	/* counted from the start of the bulk header line, not of the request */
	s = build("*1\r\n$", '1', RESP_INLINE_MAX - 1, "", &n);
	check_req(s, n, "INCOMPLETE\n");
	free(s);
	s = build("*1\r\n$", '1', RESP_INLINE_MAX, "", &n);
	check_req(s, n, "ETOOBIG ERR Protocol error: too big bulk count string\n");
	free(s);
	s = build("*2\r\n$1\r\na\r\n$", '1', RESP_INLINE_MAX, "", &n);
	check_req(s, n, "ETOOBIG ERR Protocol error: too big bulk count string\n");
	free(s);
	s = build("*2\r\n$1\r\na\r\n$", '1', RESP_INLINE_MAX, "\r\n", &n);
	check_req_whole(s, n, "EPROTO ERR Protocol error: invalid bulk length\n");
	free(s);
}

Test(resp_req, inline_splitting)
{
	check_req(S("PING\r\n"), "OK argc=1 [PING] n=6\n");
	check_req(S("PING\n"), "OK argc=1 [PING] n=5\n");
	check_req(S("PING\r\r\n"), "OK argc=1 [PING] n=7\n");
	check_req(S("  SET   k  v  \r\n"), "OK argc=3 [SET] [k] [v] n=16\n");
	check_req(S("ECHO a\rb\r\n"), "OK argc=3 [ECHO] [a] [b] n=10\n");
	check_req(S("ECHO a\tb\r\n"), "OK argc=3 [ECHO] [a] [b] n=10\n");
	/* \v and \f are blanks between tokens but not token ends */
	check_req(S("ECHO a\vb\r\n"), "OK argc=2 [ECHO] [a\\x0bb] n=10\n");
	check_req(S("\v\fECHO\r\n"), "OK argc=1 [ECHO] n=8\n");
	check_req(S("ECHO \xc3\xa9\r\n"), "OK argc=2 [ECHO] [\\xc3\\xa9] n=9\n");
}

Test(resp_req, inline_quotes)
{
	check_req(S("ECHO \"a b\"\r\n"), "OK argc=2 [ECHO] [a b] n=12\n");
	check_req(S("ECHO \"\"\r\n"), "OK argc=2 [ECHO] [] n=9\n");
	check_req(S("ECHO ''\r\n"), "OK argc=2 [ECHO] [] n=9\n");
	check_req(S("ECHO \"\\x41\\x4g\\n\"\r\n"), "OK argc=2 [ECHO] [Ax4g\\x0a] n=19\n");
	check_req(S("ECHO \"\\n\\r\\t\\b\\a\\\\\\\"\\q\"\r\n"),
		  "OK argc=2 [ECHO] [\\x0a\\x0d\\x09\\x08\\x07\\x5c\"q] n=25\n");
	check_req(S("ECHO \"\\xff\\x00\\xAb\"\r\n"), "OK argc=2 [ECHO] [\\xff\\x00\\xab] n=21\n");
	check_req(S("ECHO \"\\xZZ\"\r\n"), "OK argc=2 [ECHO] [xZZ] n=13\n");
	check_req(S("ECHO \"\\x4\"\r\n"), "OK argc=2 [ECHO] [x4] n=12\n");
	check_req(S("ECHO 'a\\'b'\r\n"), "OK argc=2 [ECHO] [a'b] n=13\n");
	check_req(S("ECHO 'a\\nb'\r\n"), "OK argc=2 [ECHO] [a\\x5cnb] n=13\n");
	check_req(S("ECHO 'a\"b'\r\n"), "OK argc=2 [ECHO] [a\"b] n=12\n");
	check_req(S("ECHO \"a'b\"\r\n"), "OK argc=2 [ECHO] [a'b] n=12\n");
	/* a quote may start inside a token */
	check_req(S("ECHO x\"a b\"\r\n"), "OK argc=2 [ECHO] [xa b] n=13\n");
	check_req(S("ECHO x'a b' y\r\n"), "OK argc=3 [ECHO] [xa b] [y] n=15\n");
	/* closing quote followed by a blank, \v included, or the end */
	check_req(S("ECHO \"a\"\v\r\n"), "OK argc=2 [ECHO] [a] n=11\n");
	check_req(S("ECHO \"a\"\r\r\n"), "OK argc=2 [ECHO] [a] n=11\n");
	check_req(S("ECHO \"a\"\"b\" c\r\n"),
		  "EPROTO ERR Protocol error: unbalanced quotes in request\n");
	check_req(S("SET \"k\" \"v\" \"\"\n"), "OK argc=4 [SET] [k] [v] [] n=15\n");
	/* the tail of "a\"" in double quotes: \<char> */
	check_req(S("ECHO \"a\\\"\"\n"), "OK argc=2 [ECHO] [a\"] n=11\n");
}

Test(resp_req, inline_unbalanced)
{
	const char *ub = "EPROTO ERR Protocol error: unbalanced quotes in request\n";

	check_req(S("ECHO \"a\"b\r\n"), ub);
	check_req(S("ECHO \"a\r\n"), ub);
	check_req(S("ECHO 'a'b\r\n"), ub);
	check_req(S("ECHO 'a\r\n"), ub);
	check_req(S("ECHO \"a\\\"\r\n"), ub);
	check_req(S("ECHO \"a\\\r\n"), ub);
	check_req(S("ECHO 'a\\'\r\n"), ub);
	check_req(S("\"\n"), ub);
	check_req(S("'\n"), ub);
	/* good requests before it are still delivered */
	check_req(S("PING\nECHO \"\nPING\n"), "OK argc=1 [PING] n=5\n"
					      "EPROTO ERR Protocol error: "
					      "unbalanced quotes in request\n");
}

Test(resp_req, large_bulk_hint_and_linear_feed)
{
	size_t len = 1 << 20, n = 0, i, c = 0;
	char hdr[64];
	size_t hl = (size_t)snprintf(hdr, sizeof(hdr), "*2\r\n$3\r\nSET\r\n$%zu\r\n", len);
	char *in = malloc(hl + len + 2);

	cr_assert(in != NULL && hl < sizeof(hdr));
	struct resp_req r;
	enum resp_status st = RESP_INCOMPLETE;

	memcpy(in, hdr, (size_t)hl);
	memset(in + hl, 'v', len);
	memcpy(in + hl + len, "\r\n", 2);
	n = (size_t)hl + len + 2;
	resp_req_init(&r);
	cr_assert_eq(resp_req_parse(&r, in, (size_t)hl, &c), RESP_INCOMPLETE);
	cr_assert_eq(c, 0);
	cr_assert_eq(r.bulk, (long long)len);
	cr_assert_eq(resp_req_need(&r), n);
	/* one byte at a time: must stay linear (this would take minutes if each
	 * call re-scanned the request) */
	for (i = (size_t)hl + 1; i <= n; i++) {
		st = resp_req_parse(&r, in, i, &c);
		if (st != RESP_INCOMPLETE)
			break;
	}
	cr_assert_eq(st, RESP_OK);
	cr_assert_eq(i, n);
	cr_assert_eq(c, n);
	cr_assert_eq(r.argc, 2);
	cr_assert_eq(r.argv[1].len, len);
	cr_assert_eq(resp_req_argp(&r, in, 1), in + hl);
	resp_req_deinit(&r);
	free(in);
}

/* A bulk received outside the buffer (resp_req_put_bulk), as conn_io.c does for
 * large ones: the next argument points at it, parsing resumes after it. */
Test(resp_req, put_bulk)
{
	static const char head[] = "*4\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\n";
	static const char tail[] = "$2\r\nEX\r\n";
	char buf[128], ext[8] = "hello\r\n";
	struct resp_req r;
	size_t n = sizeof(head) - 1, c = 0;

	memcpy(buf, head, n);
	memcpy(buf + n, "he", 2); /* part of the payload arrived */
	resp_req_init(&r);
	cr_assert_eq(resp_req_parse(&r, buf, n + 2, &c), RESP_INCOMPLETE);
	cr_assert_eq(resp_req_bulk_pending(&r), 5);
	cr_assert_eq(resp_req_bulk_start(&r), n);
	/* the caller takes the payload out: the buffer ends at its start */
	resp_req_put_bulk(&r, ext);
	cr_assert_eq(resp_req_bulk_pending(&r), -1);
	cr_assert_eq(resp_req_parse(&r, buf, n, &c), RESP_INCOMPLETE);
	memcpy(buf + n, tail, sizeof(tail) - 1);
	cr_assert_eq(resp_req_parse(&r, buf, n + 5, &c), RESP_INCOMPLETE);
	cr_assert_eq(resp_req_parse(&r, buf, n + sizeof(tail) - 1, &c), RESP_OK);
	cr_assert_eq(c, n + sizeof(tail) - 1);
	cr_assert_eq(r.argc, 4);
	cr_assert_eq(resp_req_argp(&r, buf, 2), ext);
	cr_assert_eq(r.argv[2].len, 5);
	cr_assert(memcmp(resp_req_argp(&r, buf, 3), "EX", 2) == 0);
	cr_assert(memcmp(resp_req_argp(&r, buf, 1), "k", 1) == 0);
	/* the next request starts clean: no argument points outside */
	cr_assert_eq(resp_req_parse(&r, "*1\r\n$4\r\nPING\r\n", 14, &c), RESP_OK);
	cr_assert_eq(r.argc, 1);
	cr_assert_null(r.argv[0].ext);
	resp_req_deinit(&r);
	/* the last argument: the request completes on the next call */
	{
		static const char three[] = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\n";

		resp_req_init(&r);
		cr_assert_eq(resp_req_parse(&r, three, sizeof(three) - 1, &c), RESP_INCOMPLETE);
		resp_req_put_bulk(&r, ext);
		cr_assert_eq(resp_req_parse(&r, three, sizeof(three) - 1, &c), RESP_OK);
		cr_assert_eq(c, sizeof(three) - 1);
		cr_assert_eq(r.argc, 3);
		cr_assert_eq(resp_req_argp(&r, three, 2), ext);
		resp_req_deinit(&r);
	}
}

Test(resp_req, linear_inline_feed)
{
	size_t n, i, c;
	char *s = build("ECHO ", 'x', RESP_INLINE_MAX - 10, "\r\n", &n);
	struct resp_req r;
	enum resp_status st = RESP_INCOMPLETE;

	resp_req_init(&r);
	for (i = 1; i <= n; i++) {
		st = resp_req_parse(&r, s, i, &c);
		if (st != RESP_INCOMPLETE)
			break;
	}
	cr_assert_eq(st, RESP_OK);
	cr_assert_eq(c, n);
	resp_req_deinit(&r);
	free(s);
}

Test(resp_req, many_args_and_reuse)
{
	/* 1000 arguments, then the same request again: no allocation the 2nd time */
	size_t cap = 16 + 1000 * 8, n = 0, c, i;
	char *in = malloc(cap);
	struct resp_req r;
	int64_t before;

	n += (size_t)sprintf(in + n, "*1000\r\n");
	for (i = 0; i < 1000; i++)
		n += (size_t)sprintf(in + n, "$1\r\n%c\r\n", (char)('a' + i % 26));
	resp_req_init(&r);
	cr_assert_eq(resp_req_parse(&r, in, n, &c), RESP_OK);
	cr_assert_eq(r.argc, 1000);
	cr_assert_eq(*resp_req_argp(&r, in, 999), 'a' + 999 % 26);
	cr_assert_eq(resp_req_parse(&r, S("ECHO \"a b\" 'c'\r\n"), &c), RESP_OK);
	before = mem_used();
	for (i = 0; i < 100; i++) {
		cr_assert_eq(resp_req_parse(&r, in, n, &c), RESP_OK);
		cr_assert_eq(c, n);
		cr_assert_eq(resp_req_parse(&r, S("ECHO \"a b\" 'c'\r\n"), &c), RESP_OK);
		cr_assert_eq(r.argc, 3);
		cr_assert(r.argv[1].in_scratch);
	}
	cr_assert_eq(mem_used(), before, "steady state allocates nothing");
	resp_req_deinit(&r);
	free(in);
}

Test(resp_req, reset_forgets_partial_and_errors)
{
	struct resp_req r;
	size_t c;

	resp_req_init(&r);
	cr_assert_eq(resp_req_parse(&r, S("*2\r\n$3\r\nGET\r\n"), &c), RESP_INCOMPLETE);
	resp_req_reset(&r);
	cr_assert_eq(resp_req_parse(&r, S("PING\r\n"), &c), RESP_OK);
	cr_assert_eq(r.argc, 1);
	cr_assert_eq(resp_req_parse(&r, S("*x\r\n"), &c), RESP_EPROTO);
	cr_assert_str_eq(r.err, "ERR Protocol error: invalid multibulk length");
	cr_assert_eq(resp_req_parse(&r, S("PING\r\n"), &c), RESP_EPROTO);
	resp_req_reset(&r);
	cr_assert_eq(resp_req_parse(&r, S("PING\r\n"), &c), RESP_OK);
	resp_req_deinit(&r);
}

/* ---------------------------------------------------------------------------
 * Replies.
 */

static char *run_reply(const char *in, size_t n, const size_t *cuts, size_t ncuts, int move,
		       long long maxbulk)
{
	struct resp_reply r;
	struct resp_tx t;
	char *out;

	resp_reply_init(&r);
	if (maxbulk)
		r.max_bulk_len = maxbulk;
	resp_tx_init(&t);
	resp_feed_reply(&r, in, n, cuts, ncuts, move, &t);
	out = strdup(t.s);
	resp_tx_free(&t);
	return out;
}

static void check_reply_max(const char *in, size_t n, const char *want, long long maxbulk)
{
	char *got = run_reply(in, n, NULL, 0, 1, maxbulk);
	size_t k, *cuts;

	EXPECT_TX(got, want, "whole input");
	free(got);
	for (k = 1; k < n; k++) {
		got = run_reply(in, n, &k, 1, 1, maxbulk);
		EXPECT_TX(got, want, "split at %zu");
		free(got);
	}
	if (n > 1) {
		cuts = malloc(n * sizeof(*cuts));
		for (k = 1; k < n; k++)
			cuts[k - 1] = k;
		got = run_reply(in, n, cuts, n - 1, 1, maxbulk);
		EXPECT_TX(got, want, "byte by byte");
		free(got);
		free(cuts);
	}
}

static void check_reply(const char *in, size_t n, const char *want)
{
	check_reply_max(in, n, want, 0);
}

Test(resp_reply, resp2_scalars)
{
	check_reply(S("+OK\r\n"), "OK t=+ null=0 int=0 str=[OK] n=5\n");
	check_reply(S("+\r\n"), "OK t=+ null=0 int=0 str=[] n=3\n");
	check_reply(S("-ERR no\r\n"), "OK t=- null=0 int=0 str=[ERR no] n=9\n");
	check_reply(S(":123\r\n"), "OK t=: null=0 int=123 str=[123] n=6\n");
	check_reply(S(":-9223372036854775808\r\n"),
		    "OK t=: null=0 int=-9223372036854775808 str=[-9223372036854775808] n=23\n");
	check_reply(S("$5\r\nhello\r\n"), "OK t=$ null=0 int=5 str=[hello] n=11\n");
	check_reply(S("$0\r\n\r\n"), "OK t=$ null=0 int=0 str=[] n=6\n");
	check_reply(S("$4\r\n\r\n\r\n\r\n"),
		    "OK t=$ null=0 int=4 str=[\\x0d\\x0a\\x0d\\x0a] n=10\n");
	check_reply(S("$-1\r\n"), "OK t=$ null=1 int=-1 str=[] n=5\n");
	check_reply(S("*-1\r\n"), "OK t=* null=1 int=-1 str=[] n=5\n");
}

Test(resp_reply, aggregates)
{
	check_reply(S("*0\r\n"), "OK t=* null=0 int=0 str=[] n=4\n");
	check_reply(S("*2\r\n$1\r\na\r\n:1\r\n"), "OK t=* null=0 int=2 str=[] n=15\n");
	check_reply(S("*2\r\n*1\r\n+a\r\n%1\r\n+k\r\n+v\r\n"), "OK t=* null=0 int=2 str=[] n=24\n");
	check_reply(S("*3\r\n*0\r\n*-1\r\n$-1\r\n"), "OK t=* null=0 int=3 str=[] n=18\n");
	check_reply(S("%2\r\n+a\r\n:1\r\n+b\r\n*1\r\n:2\r\n"), "OK t=% null=0 int=2 str=[] n=24\n");
	check_reply(S("~2\r\n+a\r\n+b\r\n"), "OK t=~ null=0 int=2 str=[] n=12\n");
	check_reply(S(">3\r\n+message\r\n+ch\r\n$2\r\nhi\r\n"),
		    "OK t=> null=0 int=3 str=[] n=27\n");
	/* back to back */
	check_reply(S("+OK\r\n*1\r\n:1\r\n$-1\r\n"), "OK t=+ null=0 int=0 str=[OK] n=5\n"
						     "OK t=* null=0 int=1 str=[] n=8\n"
						     "OK t=$ null=1 int=-1 str=[] n=5\n");
}

Test(resp_reply, resp3_scalars)
{
	check_reply(S("_\r\n"), "OK t=_ null=1 int=0 str=[] n=3\n");
	check_reply(S(",3.25\r\n"), "OK t=, null=0 int=0 str=[3.25] d=3.25 n=7\n");
	check_reply(S(",-1e+300\r\n"), "OK t=, null=0 int=0 str=[-1e+300] d=-1e+300 n=10\n");
	check_reply(S(",inf\r\n"), "OK t=, null=0 int=0 str=[inf] d=inf n=6\n");
	check_reply(S(",-inf\r\n"), "OK t=, null=0 int=0 str=[-inf] d=-inf n=7\n");
	check_reply(S(",10\r\n"), "OK t=, null=0 int=0 str=[10] d=10 n=5\n");
	check_reply(S("#t\r\n"), "OK t=# null=0 int=1 str=[t] n=4\n");
	check_reply(S("#f\r\n"), "OK t=# null=0 int=0 str=[f] n=4\n");
	check_reply(S("!7\r\nERR bad\r\n"), "OK t=! null=0 int=7 str=[ERR bad] n=13\n");
	check_reply(S("=8\r\ntxt:abcd\r\n"), "OK t== null=0 int=8 str=[txt:abcd] n=14\n");
	check_reply(S("(12345678901234567890123\r\n"),
		    "OK t=( null=0 int=0 str=[12345678901234567890123] n=26\n");
	check_reply(S("(-1\r\n"), "OK t=( null=0 int=0 str=[-1] n=5\n");
}

Test(resp_reply, attributes)
{
	/* an attribute and the value after it are one reply; top is the value */
	check_reply(S("|1\r\n+key\r\n+val\r\n:5\r\n"), "OK t=: null=0 int=5 str=[5] n=20\n");
	check_reply(S("|0\r\n+x\r\n"), "OK t=+ null=0 int=0 str=[x] n=8\n");
	check_reply(S("|1\r\n+a\r\n*1\r\n:1\r\n*2\r\n:1\r\n:2\r\n"),
		    "OK t=* null=0 int=2 str=[] n=28\n");
	/* attributes inside an aggregate are not elements */
	check_reply(S("*2\r\n|1\r\n+a\r\n+b\r\n:1\r\n|0\r\n:2\r\n"),
		    "OK t=* null=0 int=2 str=[] n=28\n");
	/* attribute on an attribute, and an attribute that holds aggregates */
	check_reply(S("|1\r\n|1\r\n+a\r\n+b\r\n+c\r\n%1\r\n+k\r\n*1\r\n+v\r\n#t\r\n"),
		    "OK t=# null=0 int=1 str=[t] n=40\n");
	check_reply(S("|1\r\n+key\r\n+val\r\n"), "INCOMPLETE\n");
}

Test(resp_reply, incomplete)
{
	check_reply(S("+OK\r"), "INCOMPLETE\n");
	check_reply(S("$5\r\nhel"), "INCOMPLETE\n");
	check_reply(S("$5\r\nhello\r"), "INCOMPLETE\n");
	check_reply(S("*2\r\n:1\r\n"), "INCOMPLETE\n");
	check_reply(S("%1\r\n+k\r\n"), "INCOMPLETE\n");
	check_reply(S(""), "INCOMPLETE\n");
}

Test(resp_reply, errors)
{
	check_reply(S("x\r\n"), "EPROTO Protocol error: invalid reply type byte 0x78\n");
	check_reply(S("+OK\n"), "EPROTO Protocol error: bare LF in '+' line\n");
	check_reply(S("+OK\rX"), "EPROTO Protocol error: CR without LF in '+' line\n");
	check_reply(S(":abc\r\n"), "EPROTO Protocol error: bad integer\n");
	check_reply(S(":01\r\n"), "EPROTO Protocol error: bad integer\n");
	check_reply(S(":\r\n"), "EPROTO Protocol error: bad integer\n");
	check_reply(S("$5\r\nhelloXX"), "EPROTO Protocol error: '$' payload without CRLF\n");
	check_reply(S("$-2\r\n"), "EPROTO Protocol error: bad '$' length\n");
	check_reply(S("$x\r\n"), "EPROTO Protocol error: bad '$' length\n");
	check_reply(S("!-1\r\n"), "EPROTO Protocol error: bad '!' length\n");
	check_reply(S("%-1\r\n"), "EPROTO Protocol error: bad '%' length\n");
	check_reply(S("#x\r\n"), "EPROTO Protocol error: bad boolean\n");
	check_reply(S("#tt\r\n"), "EPROTO Protocol error: bad boolean\n");
	check_reply(S("_x\r\n"), "EPROTO Protocol error: bad null\n");
	check_reply(S(",abc\r\n"), "EPROTO Protocol error: bad double\n");
	check_reply(S(",\r\n"), "EPROTO Protocol error: bad double\n");
	check_reply(S(",1.5x\r\n"), "EPROTO Protocol error: bad double\n");
	check_reply(S("=3\r\nabc\r\n"), "EPROTO Protocol error: bad verbatim string\n");
	check_reply(S("=5\r\nabcde\r\n"), "EPROTO Protocol error: bad verbatim string\n");
	check_reply(S("(\r\n"), "EPROTO Protocol error: bad big number\n");
	check_reply(S("(12a\r\n"), "EPROTO Protocol error: bad big number\n");
	check_reply(S("(-\r\n"), "EPROTO Protocol error: bad big number\n");
	/* streamed types are not supported */
	check_reply(S("$?\r\n;3\r\nabc\r\n;0\r\n"), "EPROTO Protocol error: bad '$' length\n");
	check_reply(S("*?\r\n:1\r\n.\r\n"), "EPROTO Protocol error: bad '*' length\n");
	check_reply(S(":11111111111111111111111111111111111111111111111111111111111111111\r\n"),
		    "EPROTO Protocol error: ':' line too long\n");
	check_reply(S("*1\r\nx\r\n"), "EPROTO Protocol error: invalid reply type byte 0x78\n");
	check_reply(S("+OK\r\n+\n"), "OK t=+ null=0 int=0 str=[OK] n=5\n"
				     "EPROTO Protocol error: bare LF in '+' line\n");
	check_reply_max(S("$11\r\nhello world\r\n"), "ETOOBIG Protocol error: '$' length too big\n",
			10);
	check_reply_max(S("+hello world\r\n"), "ETOOBIG Protocol error: '+' line too long\n", 10);
}

Test(resp_reply, depth_limit)
{
	char in[8 * (RESP_REPLY_MAXDEPTH + 2)];
	size_t n = 0;
	int i;

	for (i = 0; i < RESP_REPLY_MAXDEPTH; i++)
		n += (size_t)sprintf(in + n, "*1\r\n");
	n += (size_t)sprintf(in + n, ":1\r\n");
	check_reply(in, n, "OK t=* null=0 int=1 str=[] n=260\n");
	n = 0;
	for (i = 0; i < RESP_REPLY_MAXDEPTH + 1; i++)
		n += (size_t)sprintf(in + n, "*1\r\n");
	n += (size_t)sprintf(in + n, ":1\r\n");
	check_reply(in, n, "EPROTO Protocol error: nested too deep\n");
}

Test(resp_reply, value_next_walk)
{
	const char in[] = "*3\r\n$3\r\nfoo\r\n%1\r\n+k\r\n:7\r\n_\r\n";
	struct resp_value v;
	size_t off = 0, hdr;

	cr_assert_eq(resp_value_next(in + off, sizeof(in) - 1 - off, &v, &hdr), RESP_OK);
	cr_assert_eq(v.type, '*');
	cr_assert_eq(v.integer, 3);
	cr_assert_eq(hdr, 4);
	off += hdr;
	cr_assert_eq(resp_value_next(in + off, sizeof(in) - 1 - off, &v, &hdr), RESP_OK);
	cr_assert_eq(v.type, '$');
	cr_assert_eq(v.str_len, 3);
	cr_assert_eq(memcmp(in + off + v.str_off, "foo", 3), 0);
	cr_assert_eq(hdr, 9);
	off += hdr;
	cr_assert_eq(resp_value_next(in + off, sizeof(in) - 1 - off, &v, &hdr), RESP_OK);
	cr_assert_eq(v.type, '%');
	cr_assert_eq(v.integer, 1);
	off += hdr;
	cr_assert_eq(resp_value_next(in + off, sizeof(in) - 1 - off, &v, &hdr), RESP_OK);
	cr_assert_eq(v.type, '+');
	off += hdr;
	cr_assert_eq(resp_value_next(in + off, sizeof(in) - 1 - off, &v, &hdr), RESP_OK);
	cr_assert_eq(v.integer, 7);
	off += hdr;
	cr_assert_eq(resp_value_next(in + off, sizeof(in) - 1 - off, &v, &hdr), RESP_OK);
	cr_assert_eq(v.type, '_');
	off += hdr;
	cr_assert_eq(off, sizeof(in) - 1);
	cr_assert_eq(resp_value_next(S("$3\r\nfo"), &v, &hdr), RESP_INCOMPLETE);
	cr_assert_eq(resp_value_next(S("?\r\n"), &v, &hdr), RESP_EPROTO);
}

/* ---------------------------------------------------------------------------
 * Redis's text rules.
 */

/*
 * string2ll. Each row's verdict was recorded from redis-server 7.0.15 with
 * INCRBY k <s>, EXPIRE k <s>, GETRANGE k <s> 1 and CONFIG SET hz <s>, which
 * all refuse (or all accept) the same inputs; tests/integration/py/
 * test_text_rules.py repeats the comparison against both servers.
 */
Test(resp_text, str2ll_accepts_what_redis_accepts)
{
	static const struct {
		const char *s;
		size_t len; /* 0: strlen */
		int ok;
		long long v;
	} c[] = {
	    {"0", 0, 1, 0},
	    {"1", 0, 1, 1},
	    {"-1", 0, 1, -1},
	    {"100", 0, 1, 100},
	    {"999999999", 0, 1, 999999999},
	    {"1000000000", 0, 1, 1000000000},
	    {"12345678:", 0, 0, 0},
	    {"1/", 0, 0, 0},
	    {"9223372036854775807", 0, 1, LLONG_MAX},
	    {"-9223372036854775808", 0, 1, LLONG_MIN},
	    {"9223372036854775808", 0, 0, 0},
	    {"-9223372036854775809", 0, 0, 0},
	    {"18446744073709551616", 0, 0, 0},
	    {"99999999999999999999", 0, 0, 0},
	    {"-0", 0, 0, 0},
	    {"+1", 0, 0, 0},
	    {" 1", 0, 0, 0},
	    {"\t1", 0, 0, 0},
	    {"1 ", 0, 0, 0},
	    {"01", 0, 0, 0},
	    {"00", 0, 0, 0},
	    {"-01", 0, 0, 0},
	    {"0x10", 0, 0, 0},
	    {"1e3", 0, 0, 0},
	    {"12a", 0, 0, 0},
	    {"-", 0, 0, 0},
	    {"", 0, 0, 0},
	    {"1\0", 2, 0, 0},
	    {"0000000000000000000001", 0, 0, 0},
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		size_t len = c[i].len ? c[i].len : strlen(c[i].s);
		long long v = 42;
		int ok = resp_str2ll(c[i].s, len, &v);

		cr_expect_eq(ok, c[i].ok, "'%s'", c[i].s);
		cr_expect_eq(resp_str2ll(c[i].s, len, NULL), c[i].ok, "'%s' (out NULL)", c[i].s);
		if (ok)
			cr_expect_eq(v, c[i].v, "'%s'", c[i].s);
		else
			cr_expect_eq(v, 42, "'%s': *out written on failure", c[i].s);
	}
}

Test(resp_text, ll2str_round_trips)
{
	static const long long v[] = {0, 1, -1, 9, 10, -10, 123456789, LLONG_MAX, LLONG_MIN};
	char buf[RESP_LL_STR_MAX], want[32];

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		size_t n = resp_ll2str(buf, v[i]);
		long long back;

		snprintf(want, sizeof(want), "%lld", v[i]);
		cr_expect_eq(n, strlen(want));
		cr_expect(memcmp(buf, want, n) == 0, "%lld", v[i]);
		cr_expect(resp_str2ll(buf, n, &back) && back == v[i], "%lld", v[i]);
	}
}

/* The words of text as "[w1] [w2]...", "ERR" on a quoting error. */
static void split_words(const char *text, size_t len, char *out, size_t outsz)
{
	char *scratch = malloc(len + 1);
	struct resp_word w;
	size_t pos = 0, n = 0;
	int rc;

	out[0] = '\0';
	while ((rc = resp_split_word(text, len, &pos, scratch, &w)) > 0)
		n += (size_t)snprintf(out + n, outsz - n, "[%.*s]", (int)w.len,
				      w.unescaped ? scratch : text + w.start);
	if (rc < 0)
		snprintf(out, outsz, "ERR");
	free(scratch);
}

Test(resp_text, split_word_plain_words_stay_in_the_text)
{
	const char text[] = "  ab\t'c d'  e\"f\" ";
	char scratch[sizeof(text)];
	struct resp_word w;
	size_t pos = 0;

	cr_assert_eq(resp_split_word(S(text), &pos, NULL, &w), 1);
	cr_expect(!w.unescaped && w.start == 2 && w.len == 2);
	cr_assert_eq(resp_split_word(S(text), &pos, scratch, &w), 1);
	cr_expect(w.unescaped && w.len == 3 && memcmp(scratch, "c d", 3) == 0);
	cr_assert_eq(resp_split_word(S(text), &pos, scratch, &w), 1);
	cr_expect(w.unescaped && w.len == 2 && memcmp(scratch, "ef", 2) == 0);
	cr_expect_eq(resp_split_word(S(text), &pos, scratch, &w), 0);
	cr_expect_eq(pos, sizeof(text) - 1);
}

Test(resp_text, split_word_ends_at_nul_like_redis)
{
	char got[128];

	split_words(S("ab\0cd"), got, sizeof(got));
	cr_expect_str_eq(got, "[ab]");
	split_words(S("\"ab\0\" c"), got, sizeof(got));
	cr_expect_str_eq(got, "ERR"); /* the quote is never closed */
	split_words(S("\"ab\"\0x"), got, sizeof(got));
	cr_expect_str_eq(got, "[ab]");
	split_words(S("a \"\\x41\\x\" 'b\\'c'"), got, sizeof(got));
	cr_expect_str_eq(got, "[a][Ax][b'c]");
}

Test(resp_text, repr_every_byte)
{
	static const char head[] = "\"\\x00\\x01\\x02\\x03\\x04\\x05\\x06\\a\\b\\t\\n\\x0b\\x0c\\r";
	char s[256], out[RESP_REPR_MAX(256)], scratch[sizeof(out)];
	struct resp_word w;
	size_t n, pos = 0;

	for (int i = 0; i < 256; i++)
		s[i] = (char)i;
	n = resp_repr(out, s, sizeof(s));
	cr_assert_leq(n, sizeof(out));
	/* Redis's sdscatrepr: the named escapes, printable ASCII as is, \xHH */
	cr_expect(memmem(out, n, S(head)) == out, "%.47s", out);
	cr_expect(memmem(out, n, S(" !\\\"#$")) != NULL);
	cr_expect(memmem(out, n, S("[\\\\]")) != NULL);
	cr_expect(memmem(out, n, S("}~\\x7f\\x80")) != NULL);
	cr_expect(memmem(out, n, S("\\xfe\\xff\"")) == out + n - 9);
	/* and it reads back */
	cr_assert_eq(resp_split_word(out, n, &pos, scratch, &w), 1);
	cr_expect_eq(w.len, sizeof(s));
	cr_expect(memcmp(scratch, s, sizeof(s)) == 0);
	cr_expect_eq(resp_repr(out, "", 0), 2);
}
