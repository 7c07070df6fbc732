/*
 * test_buf.c — net/buf.c: contents survive growth and compaction, and the
 * copying that growth and compaction do stays linear in the bytes appended
 * (a client that never reads its replies once made each 256 KB reply copy
 * the whole backlog: the torture client's TSan stalls). Also net/reply.c's
 * double formatting, which needs no connection.
 */
#include "net/buf.h"
#include "net/reply.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK (256u << 10)

static char chunk[CHUNK];

/* Appends n chunks, each filled with its sequence number's low byte; counts
 * the bytes a growth or compaction had to copy (the pending bytes, whenever
 * they moved). */
static size_t append_chunks(struct buf *b, unsigned first, unsigned n)
{
	size_t copied = 0;

	for (unsigned i = first; i < first + n; i++) {
		char *before = b->data;
		size_t cap = b->cap, pend = buf_pending(b), rpos = b->rpos;

		memset(chunk, (int)(i & 0xff), CHUNK);
		buf_append(b, chunk, CHUNK);
		/* moved: a new allocation or size, or a compaction to the front */
		if (b->data != before || b->cap != cap || (rpos > 0 && b->rpos == 0))
			copied += pend;
	}
	return copied;
}

static void check_chunks(const struct buf *b, unsigned first, unsigned n)
{
	const char *p = b->data + b->rpos;

	cr_assert_eq(buf_pending(b), (size_t)n * CHUNK);
	for (unsigned i = 0; i < n; i++)
		for (size_t j = 0; j < CHUNK; j += 4093)
			cr_assert_eq((unsigned char)p[(size_t)i * CHUNK + j],
				     (unsigned char)((first + i) & 0xff), "chunk %u byte %zu", i,
				     j);
}

Test(buf, never_read_backlog_copies_linearly)
{
	struct buf b;
	const unsigned n = 256; /* 64 MB of replies, never read */
	size_t copied;

	buf_init(&b);
	copied = append_chunks(&b, 0, n);
	check_chunks(&b, 0, n);
	/* geometric growth copies each byte a bounded number of times (< 3 for
	 * 1.5x); growing by a constant re-copied the backlog every few chunks
	 * (~n/4 times the average backlog, i.e. over 30 times here) */
	cr_assert_lt(copied, (size_t)3 * n * CHUNK, "copied %zu bytes to append %zu", copied,
		     (size_t)n * CHUNK);
	buf_deinit(&b);
}

Test(buf, slow_reader_backlog_copies_linearly)
{
	struct buf b;
	const unsigned n = 256;
	unsigned first = 0, appended = 0;
	size_t copied = 0, consumed = 0;

	buf_init(&b);
	copied += append_chunks(&b, 0, 64);
	appended = 64;
	/* a reader that takes a little less than is appended: a large backlog
	 * stays pending while rpos keeps moving */
	while (appended < n) {
		buf_consume(&b, CHUNK / 2);
		consumed += CHUNK / 2;
		if (consumed % CHUNK == 0)
			first++;
		copied += append_chunks(&b, appended, 1);
		appended++;
	}
	/* what is pending is exactly the unconsumed chunks, in order */
	cr_assert_eq(buf_pending(&b), (size_t)appended * CHUNK - consumed);
	{
		const char *p = b.data + b.rpos;
		size_t off = consumed % CHUNK ? CHUNK - consumed % CHUNK : 0;

		for (unsigned i = first + (off ? 1 : 0); i < appended; i++, off += CHUNK)
			cr_assert_eq((unsigned char)p[off], (unsigned char)(i & 0xff), "chunk %u",
				     i);
	}
	cr_assert_lt(copied, (size_t)4 * n * CHUNK, "copied %zu bytes to append %zu", copied,
		     (size_t)n * CHUNK);
	buf_deinit(&b);
}

Test(buf, one_large_request_gets_what_it_asks)
{
	struct buf b;

	buf_init(&b);
	buf_append(&b, "x", 1);
	buf_reserve(&b, 100u << 20);
	/* a 100 MB bulk is not rounded up to 150 MB (the allocator's own size
	 * classes may add up to a quarter: jemalloc's 112 MB class) */
	cr_assert_geq(b.cap - b.len, 100u << 20);
	cr_assert_lt(b.cap, 128u << 20, "cap %zu", b.cap);
	cr_assert_eq(b.data[0], 'x');
	buf_deinit(&b);
}

Test(buf, compaction_keeps_pending_bytes)
{
	struct buf b;

	buf_init(&b);
	for (int i = 0; i < 1000; i++) {
		char c = (char)('a' + i % 26);

		buf_append(&b, &c, 1);
		if (i % 3 == 2)
			buf_consume(&b, 2);
	}
	/* 1000 appended, 333 * 2 consumed */
	cr_assert_eq(buf_pending(&b), 1000 - 666);
	for (size_t i = 0; i < buf_pending(&b); i++)
		cr_assert_eq(b.data[b.rpos + i], (char)('a' + (666 + i) % 26));
	buf_deinit(&b);
}

/* reply_fmt_double writes exactly what "%.17g" writes: the integral fast
 * path's edges (signs, -0, 10^15 and its neighbours, 2^53), fractions, the
 * non-finite values, and random doubles and integers. */
Test(reply_fmt, same_bytes_as_printf)
{
	static const double fixed[] = {0.0,
				       -0.0,
				       1.0,
				       -1.0,
				       7.0,
				       10.0,
				       -10.0,
				       99.0,
				       1e14,
				       -1e14,
				       1e15 - 1,
				       -(1e15 - 1),
				       1e15,
				       -1e15,
				       1e15 + 1,
				       1e16,
				       9007199254740992.0,
				       1e17,
				       1e300,
				       0.5,
				       -0.5,
				       1.5,
				       0.1,
				       3.14159,
				       1e-300,
				       5e-324,
				       INFINITY,
				       -INFINITY,
				       NAN};
	char a[64], b[64];
	uint64_t x = 88172645463325252ULL;

	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		int n = reply_fmt_double(a, sizeof(a), fixed[i]);
		int m = snprintf(b, sizeof(b), "%.17g", fixed[i]);
		cr_expect(n == m && strcmp(a, b) == 0, "%.17g: got \"%s\" (%d), want \"%s\" (%d)",
			  fixed[i], a, n, b, m);
	}
	for (int i = 0; i < 200000; i++) {
		double d;

		x ^= x << 13; /* xorshift64 */
		x ^= x >> 7;
		x ^= x << 17;
		if (i % 2) {
			memcpy(&d, &x, sizeof(d)); /* any bit pattern */
		} else {
			d = (double)(int64_t)(x >> (x % 60)) * ((x & 1) ? -1 : 1);
		}
		int n = reply_fmt_double(a, sizeof(a), d);
		int m = snprintf(b, sizeof(b), "%.17g", d);
		cr_assert(n == m && strcmp(a, b) == 0, "%.17g: got \"%s\", want \"%s\"", d, a, b);
	}
}
