/*
 * autosync.h — incremental write-out of a file being written in one pass
 * (an RDB save, an AOF rewrite's base file), as Redis 7.0.15's rio does
 * under rdb-save-incremental-fsync / aof-rewrite-incremental-fsync
 * (rioFileWrite with autosync = REDIS_AUTOSYNC_BYTES, 4 MB).
 *
 * Without it a save leaves the whole file (746 MB at 10M keys) dirty in the
 * page cache and fsyncs once at the end: the kernel's flusher threads, at
 * normal priority, write it back in bursts on the workers' cores, and the
 * final fsync waits for all of it. With it, each time the writer passes a
 * multiple of `every` bytes, the chunk just completed is handed to the
 * device (sync_file_range SYNC_FILE_RANGE_WRITE: starts the write-out and
 * returns) and the writer waits for the chunk before it (WAIT_BEFORE |
 * WRITE | WAIT_AFTER), which has had a whole chunk's writing time to
 * complete: so at most about two chunks are dirty or in flight, the
 * write-out's CPU work (block allocation, bio submission) runs in the
 * writer's own context (the saver's idle class) rather than in a flusher,
 * and neither call forces a journal commit or a device cache flush (the
 * caller's final fsync does, once). These are exactly the calls redis-server
 * 7.0.15 makes (strace: sync_file_range(fd, off, 4194304, ...), one WRITE
 * per chunk, one WAIT per chunk but the last). kvsd adds one thing: the
 * chunk just waited for is clean, and posix_fadvise(POSIX_FADV_DONTNEED)
 * drops it from the page cache, so a save does not grow the page cache by
 * the file's size and push the server's own memory towards reclaim.
 *
 * Threads: one autosync per file, used by the thread that writes it.
 * Blocking: autosync_wrote may wait for the device; around that wait it
 * calls the caller's io_wait hook (server/: the saver stops asking the
 * workers to lend it their core, concurrency/lend.h: a thread blocked on
 * the disk is not starving). The caller must hold nothing a worker waits
 * for (no snapshot stripe: db_snap_next calls its fn after the stripe's
 * lock). Errors: the first failure's -errno; a file system without
 * sync_file_range (EINVAL, ENOSYS, ESPIPE) falls back to fdatasync.
 */
#ifndef KVSD_PERSIST_AUTOSYNC_H
#define KVSD_PERSIST_AUTOSYNC_H

#include <stdbool.h>
#include <stdint.h>

#define AUTOSYNC_BYTES (4u << 20) /* REDIS_AUTOSYNC_BYTES */

struct autosync {
	int fd;
	uint64_t every; /* chunk size; 0: off (autosync_wrote does nothing) */
	uint64_t written;
	uint64_t next;		     /* the end of the chunk the writer is in */
	bool fallback;		     /* sync_file_range refused: fdatasync per chunk */
	void (*io_wait)(bool begin); /* around a blocking call, or NULL */
	uint64_t waits;		     /* chunks waited for (statistics) */
};

/* Starts tracking fd, written from offset 0 on; every 0 turns it off. */
void autosync_init(struct autosync *a, int fd, uint64_t every, void (*io_wait)(bool begin));
/* n more bytes were written: 0, or -errno of a failed write-out. */
int autosync_wrote(struct autosync *a, uint64_t n);
/* After the caller's final fsync (the file is clean): drops what is still
 * cached of it, the last chunk or two. */
void autosync_drop_cache(int fd);

#endif
