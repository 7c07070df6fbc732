/*
 * save-pieces.c — the CPU of persist/autosync.c's calls by the size of the
 * piece the write-out is started in (issue 15, branch save15c): writes a
 * file as a BGSAVE does (128 KB write()s), starts the write-out with
 * sync_file_range(SYNC_FILE_RANGE_WRITE) a piece at a time (0: one call per
 * 4 MB chunk, Redis's), waits for the chunk before at each 4 MB boundary
 * and drops it (posix_fadvise DONTNEED) a piece at a time, then fsyncs.
 * Prints, per kind of call, the thread's CPU time in it (its own CPU clock:
 * what the machine's load does not change, except through caches): total,
 * p50, p99, max. On a kernel without kernel-mode preemption the CPU of one
 * call is how long it can keep a worker off the core it shares.
 *
 *   cc -O2 -Wall -Wextra -o /tmp/save-pieces bench/save-pieces.c
 *   for p in 0 131072 524288 1048576; do
 *       taskset -c 0 /tmp/save-pieces $p /tmp/save-pieces.dat 256; done
 *
 * Arguments: piece bytes, a scratch file (deleted), megabytes to write.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define WRITE_BYTES (128u << 10)
#define CHUNK	    (4u << 20)
#define MAXN	    200000

static long long cpu_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

static void report(const char *name, long long *v, int n)
{
	long long sum = 0;

	if (n == 0)
		return;
	for (int i = 0; i < n; i++)
		sum += v[i];
	qsort(v, (size_t)n, sizeof(*v), cmp);
	printf("  %-18s calls %6d  CPU %7.1f ms  p50 %5lld us  p99 %5lld us  max %5lld us\n", name,
	       n, (double)sum / 1e6, v[n / 2] / 1000, v[n * 99 / 100] / 1000, v[n - 1] / 1000);
}

static long long vw[MAXN], vs[MAXN], vwait[MAXN], vf[MAXN];

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: %s PIECE_BYTES FILE MEGABYTES\n", argv[0]);
		return 2;
	}
	size_t piece = strtoull(argv[1], NULL, 0), total = strtoull(argv[3], NULL, 0) << 20;
	int fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644), nw = 0, ns = 0, nwait = 0,
	    nf = 0;
	char *b = malloc(WRITE_BYTES);
	size_t written = 0, started = 0;
	long long t0 = cpu_ns(), c;

	if (fd < 0 || !b || total / WRITE_BYTES >= MAXN) {
		perror("save-pieces");
		return 1;
	}
	memset(b, 'x', WRITE_BYTES);
	while (written < total) {
		c = cpu_ns();
		if (write(fd, b, WRITE_BYTES) != (ssize_t)WRITE_BYTES) {
			perror("write");
			return 1;
		}
		vw[nw++] = cpu_ns() - c;
		written += WRITE_BYTES;
		/* whole pieces now; at a chunk's end all of it (autosync.c) */
		size_t lim = written % CHUNK == 0 ? written
			     : piece		  ? written / piece * piece
						  : started;

		while (started < lim) {
			size_t n = lim - started;

			if (piece && n > piece)
				n = piece;
			c = cpu_ns();
			(void)sync_file_range(fd, (off_t)started, (off_t)n, SYNC_FILE_RANGE_WRITE);
			vs[ns++] = cpu_ns() - c;
			started += n;
		}
		if (written % CHUNK == 0 && written >= 2 * CHUNK) {
			size_t step = piece ? piece : CHUNK;

			c = cpu_ns();
			(void)sync_file_range(fd, (off_t)(written - 2 * CHUNK), CHUNK,
					      SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
						  SYNC_FILE_RANGE_WAIT_AFTER);
			vwait[nwait++] = cpu_ns() - c;
			for (size_t o = written - 2 * CHUNK; o < written - CHUNK; o += step) {
				c = cpu_ns();
				(void)posix_fadvise(fd, (off_t)o, (off_t)step, POSIX_FADV_DONTNEED);
				vf[nf++] = cpu_ns() - c;
			}
		}
	}
	c = cpu_ns();
	(void)fsync(fd);
	c = cpu_ns() - c;
	printf("piece %zu KB: %zu MB written, CPU %.1f ms in all (the final fsync %.1f ms)\n",
	       piece >> 10, total >> 20, (double)(cpu_ns() - t0) / 1e6, (double)c / 1e6);
	report("write", vw, nw);
	report("sync_file_range W", vs, ns);
	report("wait chunk before", vwait, nwait);
	report("fadvise DONTNEED", vf, nf);
	close(fd);
	unlink(argv[2]);
	free(b);
	return 0;
}
