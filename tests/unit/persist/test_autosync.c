/*
 * test_autosync.c — persist/autosync.h: chunks are handed to the device
 * and waited for one behind, as Redis 7.0.15's rioFileWrite does; the
 * io_wait hook brackets every wait; off does nothing; the bytes written
 * are untouched.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "persist/autosync.h"

static int hook_depth, hook_calls;

static void hook(bool begin)
{
	hook_depth += begin ? 1 : -1;
	cr_assert(hook_depth == 0 || hook_depth == 1, "unbalanced io_wait");
	hook_calls += begin;
}

/* Writes total bytes in pieces of piece through a, with a pattern. */
static void write_all(struct autosync *a, int fd, size_t total, size_t piece)
{
	char *b = malloc(piece);

	for (size_t off = 0; off < total; off += piece) {
		size_t n = total - off < piece ? total - off : piece;

		for (size_t i = 0; i < n; i++)
			b[i] = (char)((off + i) * 131);
		cr_assert_eq(write(fd, b, n), (ssize_t)n);
		cr_assert_eq(autosync_wrote(a, n), 0);
	}
	free(b);
}

Test(autosync, waits_one_chunk_behind)
{
	FILE *f = tmpfile();
	struct autosync a;
	size_t total = 10 * 1024 * 1024 + 123; /* chunks end at 4 and 8 MB */

	cr_assert_not_null(f);
	hook_depth = hook_calls = 0;
	autosync_init(&a, fileno(f), AUTOSYNC_BYTES, hook);
	write_all(&a, fileno(f), total, 1000003); /* pieces that straddle chunk ends */
	/* the 4 MB chunk was waited for when the 8 MB one was complete */
	cr_assert_eq(a.waits, 1);
	cr_assert_eq(hook_calls, a.fallback ? 2 : 1);
	cr_assert_eq(a.written, total);
	autosync_drop_cache(fileno(f));
	/* the contents are what was written */
	char *b = malloc(total);
	cr_assert_eq(pread(fileno(f), b, total, 0), (ssize_t)total);
	for (size_t i = 0; i < total; i++)
		if (b[i] != (char)(i * 131))
			cr_assert_fail("byte %zu differs", i);
	free(b);
	fclose(f);
}

Test(autosync, exact_multiples_and_big_writes)
{
	FILE *f = tmpfile();
	struct autosync a;

	cr_assert_not_null(f);
	hook_depth = hook_calls = 0;
	autosync_init(&a, fileno(f), 1 << 16, hook);
	/* one write past three chunk ends at once: all three are handled */
	write_all(&a, fileno(f), 3 << 16, 3 << 16);
	cr_assert_eq(a.waits, 2);
	write_all(&a, fileno(f), 1 << 16, 1 << 16);
	cr_assert_eq(a.waits, 3);
	fclose(f);
}

Test(autosync, off_does_nothing)
{
	FILE *f = tmpfile();
	struct autosync a;

	cr_assert_not_null(f);
	hook_depth = hook_calls = 0;
	autosync_init(&a, fileno(f), 0, hook);
	write_all(&a, fileno(f), 9 * 1024 * 1024, 1 << 20);
	cr_assert_eq(a.waits, 0);
	cr_assert_eq(hook_calls, 0);
	fclose(f);
}

Test(autosync, bad_descriptor_is_an_error)
{
	struct autosync a;

	autosync_init(&a, -1, 4096, NULL);
	cr_assert_eq(autosync_wrote(&a, 4096), -EBADF);
}

/* The write-out is started a piece (AUTOSYNC_PIECE) at a time as the writer
 * passes each, not a whole chunk in one call at the chunk's end: on a
 * kernel without kernel-mode preemption one long call holds the core. With
 * piece 0, one call per chunk (Redis's). Same waits, same bytes either way. */
Test(autosync, starts_the_write_out_in_pieces)
{
	size_t total = 10 * 1024 * 1024 + 123;

	for (int whole = 0; whole <= 1; whole++) {
		FILE *f = tmpfile();
		struct autosync a;

		cr_assert_not_null(f);
		hook_depth = hook_calls = 0;
		autosync_init(&a, fileno(f), AUTOSYNC_BYTES, hook);
		cr_assert_eq(a.piece, AUTOSYNC_PIECE);
		if (whole)
			a.piece = 0;
		write_all(&a, fileno(f), 1 << 20, 1000); /* smaller than a piece */
		if (!a.fallback && !whole) {
			/* 1 MB in: every whole piece started already, nothing else */
			cr_assert_eq(a.started, (1u << 20) / AUTOSYNC_PIECE * AUTOSYNC_PIECE);
			cr_assert_eq(a.starts, (1u << 20) / AUTOSYNC_PIECE);
		}
		if (!a.fallback && whole)
			cr_assert_eq(a.starts, 0); /* no chunk complete yet */
		write_all(&a, fileno(f), total - (1 << 20), 1000003);
		cr_assert_eq(a.waits, 1);
		if (!a.fallback) {
			/* 10 MB: 80 pieces (the 123 bytes wait), or the two chunks */
			cr_assert_eq(a.starts, whole ? 2 : (total / AUTOSYNC_PIECE));
			cr_assert_eq(a.started, whole ? 2 * (uint64_t)AUTOSYNC_BYTES
						      : total / AUTOSYNC_PIECE * AUTOSYNC_PIECE);
		}
		fclose(f);
	}
}
