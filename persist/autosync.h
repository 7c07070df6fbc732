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
 * And one more, for a kernel that does not preempt in kernel mode
 * (preempt=none, as the Linux 6.18 VMs kvsd is measured on): a system call
 * holds its core until it returns or reaches a cond_resched(). On ext4 a
 * SYNC_FILE_RANGE_WRITE of a whole 4 MB chunk allocates the chunk's blocks
 * (delayed allocation) and builds its bios in one stretch: 0.1-2.2 ms of
 * the saver's CPU during which a worker woken on that core (a request, the
 * end of a loan) waits (ftrace of a 1M-key BGSAVE under load, docs/
 * BENCHMARKS.md "BGSAVE writeback on ext4"); on tmpfs the call does
 * nothing, which is most of the p99 difference between the two. So the
 * write-out is started in pieces of `piece` bytes (AUTOSYNC_PIECE, whole
 * pages) as the writer passes them, each its own call, and a chunk waited
 * for is dropped in pieces too: the I/O is the same, the longest stretch
 * the saver holds its core in the kernel several times shorter. The waits stay once per chunk, as
 * in Redis.
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
/* The write-out is started (and a waited-for chunk dropped) this many bytes
 * at a time, on multiples of it (so a page still being filled is not
 * started; a chunk's last piece may be shorter when `every` is not a
 * multiple). Each call has a fixed cost (on a VM the device's doorbell is
 * an exit): writing 256 MB on the ext4 VM (bench/save-pieces.c), the
 * write-out's own CPU was 1.5-2x that of whole chunks in 512 KB pieces
 * (about +0.05 ms per MB written) and 5x in 128 KB ones, and the 99th
 * percentile of one call 112-249 us against 250-642 us for a whole chunk
 * (docs/BENCHMARKS.md, "BGSAVE writeback on ext4"). */
#define AUTOSYNC_PIECE (512u << 10)

struct autosync {
	int fd;
	uint64_t every; /* chunk size; 0: off (autosync_wrote does nothing) */
	uint64_t written;
	uint64_t next;		     /* the end of the chunk the writer is in */
	uint64_t piece;		     /* AUTOSYNC_PIECE; 0: whole chunks (Redis's calls) */
	uint64_t started;	     /* bytes whose write-out was started */
	bool fallback;		     /* sync_file_range refused: fdatasync per chunk */
	void (*io_wait)(bool begin); /* around a blocking call, or NULL */
	uint64_t waits;		     /* chunks waited for (statistics) */
	uint64_t starts;	     /* SYNC_FILE_RANGE_WRITE calls (statistics) */
};

/* Starts tracking fd, written from offset 0 on; every 0 turns it off.
 * piece is AUTOSYNC_PIECE (a test may set a.piece after it). */
void autosync_init(struct autosync *a, int fd, uint64_t every, void (*io_wait)(bool begin));
/* n more bytes were written: 0, or -errno of a failed write-out. */
int autosync_wrote(struct autosync *a, uint64_t n);
/* After the caller's final fsync (the file is clean): drops what is still
 * cached of it, the last chunk or two (a piece per call). */
void autosync_drop_cache(int fd);

#endif
