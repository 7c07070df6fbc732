/*
 * autosync.c — incremental write-out of a file written in one pass
 * (autosync.h): Redis 7.0.15's rioFileWrite autosync, plus dropping each
 * chunk from the page cache once it is on the device, and both the start
 * of the write-out and the drop in pieces (short system calls: autosync.h).
 */
#include "persist/autosync.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

void autosync_init(struct autosync *a, int fd, uint64_t every, void (*io_wait)(bool begin))
{
	*a = (struct autosync){
	    .fd = fd, .every = every, .next = every, .piece = AUTOSYNC_PIECE, .io_wait = io_wait};
}

/* fdatasync instead, where the file system has no sync_file_range. */
static bool unsupported(int e)
{
	return e == EINVAL || e == ENOSYS || e == ESPIPE || e == EOPNOTSUPP;
}

/* Starts the write-out of [a->started, end), a piece per call (the whole
 * range in one call with piece 0); all of it with `all`, else whole pieces
 * only (the rest waits for the next call): 0, or -errno. */
static int start_to(struct autosync *a, uint64_t end, bool all)
{
	while (!a->fallback && a->started < end) {
		uint64_t n = end - a->started;

		if (a->piece && n > a->piece)
			n = a->piece;
		if (a->piece && n < a->piece && !all)
			break;
		if (sync_file_range(a->fd, (off_t)a->started, (off_t)n, SYNC_FILE_RANGE_WRITE) !=
		    0) {
			if (!unsupported(errno))
				return -errno;
			a->fallback = true;
			break;
		}
		a->starts++;
		a->started += n;
	}
	return 0;
}

/* Drops [off, off + n) from the page cache, a piece per call (advice only:
 * errors ignored). */
static void drop(const struct autosync *a, uint64_t off, uint64_t n)
{
	uint64_t step = a->piece ? a->piece : n;

	for (uint64_t o = off; o < off + n; o += step)
		(void)posix_fadvise(a->fd, (off_t)o,
				    (off_t)(off + n - o < step ? off + n - o : step),
				    POSIX_FADV_DONTNEED);
}

/* The chunk that ends at `end` is complete: start the write-out of what is
 * left of it, then wait for the chunk before it and drop that from the page
 * cache. */
static int chunk_done(struct autosync *a, uint64_t end)
{
	uint64_t n = a->every;
	int rc = start_to(a, end, true);

	if (rc != 0)
		return rc;
	if (!a->fallback && end < 2 * n)
		return 0; /* nothing before it yet */
	if (a->io_wait)
		a->io_wait(true);
	if (a->fallback) {
		if (fdatasync(a->fd) != 0)
			rc = -errno;
	} else if (sync_file_range(a->fd, (off_t)(end - 2 * n), (off_t)n,
				   SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
				       SYNC_FILE_RANGE_WAIT_AFTER) != 0) {
		rc = -errno;
	}
	if (a->io_wait)
		a->io_wait(false);
	if (rc != 0)
		return rc;
	a->waits++;
	/* clean now: dropping it costs no I/O (advice only: errors ignored) */
	if (a->fallback)
		(void)posix_fadvise(a->fd, 0, (off_t)end, POSIX_FADV_DONTNEED);
	else
		drop(a, end - 2 * n, n);
	return 0;
}

int autosync_wrote(struct autosync *a, uint64_t n)
{
	a->written += n;
	if (a->every == 0)
		return 0;
	while (a->written >= a->next) {
		int rc = chunk_done(a, a->next);

		if (rc != 0)
			return rc;
		a->next += a->every;
	}
	/* the whole pieces written since: their write-out starts now, a
	 * call each, rather than all at the chunk's end in one long call */
	if (a->piece && a->written - a->started >= a->piece)
		return start_to(a, a->written, false);
	return 0;
}

void autosync_drop_cache(int fd)
{
	struct stat st;

	/* what is still cached is the last chunks: dropped a piece per call
	 * (short calls, autosync.h), then whatever else remains in one */
	if (fstat(fd, &st) == 0 && st.st_size > 0) {
		struct autosync a = {.fd = fd, .piece = AUTOSYNC_PIECE};
		uint64_t end = (uint64_t)st.st_size;
		uint64_t from =
		    end > 3 * (uint64_t)AUTOSYNC_BYTES ? end - 3 * (uint64_t)AUTOSYNC_BYTES : 0;

		from -= from % AUTOSYNC_PIECE;
		drop(&a, from, end - from);
	}
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED); /* advice only */
}
