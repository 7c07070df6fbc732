/*
 * autosync.c — incremental write-out of a file written in one pass
 * (autosync.h): Redis 7.0.15's rioFileWrite autosync, plus dropping each
 * chunk from the page cache once it is on the device.
 */
#include "persist/autosync.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

void autosync_init(struct autosync *a, int fd, uint64_t every, void (*io_wait)(bool begin))
{
	*a = (struct autosync){.fd = fd, .every = every, .next = every, .io_wait = io_wait};
}

/* fdatasync instead, where the file system has no sync_file_range. */
static bool unsupported(int e)
{
	return e == EINVAL || e == ENOSYS || e == ESPIPE || e == EOPNOTSUPP;
}

/* The chunk that ends at `end` is complete: start its write-out, then
 * wait for the chunk before it and drop that from the page cache. */
static int chunk_done(struct autosync *a, uint64_t end)
{
	uint64_t n = a->every;
	int rc = 0;

	if (!a->fallback &&
	    sync_file_range(a->fd, (off_t)(end - n), (off_t)n, SYNC_FILE_RANGE_WRITE) != 0) {
		if (!unsupported(errno))
			return -errno;
		a->fallback = true;
	}
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
		(void)posix_fadvise(a->fd, (off_t)(end - 2 * n), (off_t)n, POSIX_FADV_DONTNEED);
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
	return 0;
}

void autosync_drop_cache(int fd)
{
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED); /* advice only */
}
