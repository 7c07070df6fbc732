/*
 * aof_files.c — the AOF directory's files (aof_state.h): paths inside
 * appenddirname, whole-file reads, writes that survive a crash (temp file,
 * fsync, rename, fsync of the directory), and the empty RDB base that a new
 * directory starts with (Redis writes one too). No state of its own: it
 * reads aof.dir, which the set-up and the switch-on set. Any thread.
 */
#include "server/aof.h"
#include "server/loading.h"
#include "server/aof_internal.h"
#include "server/aof_state.h"
#include "server/aof_base.h"
#include "concurrency/clock.h"
#include "concurrency/ebr.h"
#include "concurrency/mem.h"
#include "concurrency/wctx.h"
#include "net/conn.h"
#include "net/net.h"
#include "persist/aof_format.h"
#include "persist/crc64.h"
#include "persist/rdb_file.h"
#include "storage/snap.h"
#include "server/cmd.h"
#include "server/cmd_docs.h"
#include "server/config.h"
#include "server/keyspec.h"
#include "server/log.h"
#include "server/script.h"
#include "server/multi.h"
#include "server/session.h"
#include "server/persist_srv.h"
#include "storage/kvmap.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- paths and files */

char *aof_path_of(const char *name)
{
	size_t n = strlen(aof.dir) + strlen(name) + 2;
	char *p = mem_alloc(n);

	snprintf(p, n, "%s/%s", aof.dir, name);
	return p;
}

int aof_fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

/* Writes all of buf to fd. 0 or -errno. */
int aof_write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Replaces dir/name with the bytes: temp file, fsync, rename, fsync dir. */
int aof_write_file_atomic(const char *name, const char *buf, size_t len)
{
	char *path = aof_path_of(name), *tmp;
	size_t n = strlen(path) + 16;
	int fd, rc;

	tmp = mem_alloc(n);
	snprintf(tmp, n, "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	rc = aof_write_all(fd, buf, len);
	if (rc == 0 && fsync(fd) < 0)
		rc = -errno;
	close(fd);
	if (rc == 0 && rename(tmp, path) < 0)
		rc = -errno;
	if (rc == 0)
		rc = aof_fsync_dir(aof.dir);
	if (rc < 0)
		unlink(tmp);
out:
	mem_free(tmp);
	mem_free(path);
	return rc;
}

int aof_read_file(const char *path, char **out, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	char *buf;
	size_t got = 0;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return -errno;
	}
	buf = mem_alloc((size_t)st.st_size + 1);
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	buf[got] = '\0';
	*out = buf;
	*len = got;
	return 0;
}

/* ---- an empty RDB base (Redis writes one when it creates the directory) */

static void put_str(char **b, size_t *n, size_t *cap, const char *s)
{
	size_t l = strlen(s);
	char hdr = (char)l; /* < 64: the 6-bit length form */

	aof_format_raw(b, n, cap, &hdr, 1);
	aof_format_raw(b, n, cap, s, l);
}

static void put_int32(char **b, size_t *n, size_t *cap, uint32_t v)
{
	unsigned char t[5] = {0xc2, (unsigned char)v, (unsigned char)(v >> 8),
			      (unsigned char)(v >> 16), (unsigned char)(v >> 24)};

	aof_format_raw(b, n, cap, (const char *)t, 5);
}

/* An RDB file with only Redis 7.0's AUX fields and "aof-base 1": the base
 * of a dataset that was empty when the AOF began. */
char *aof_empty_rdb(size_t *len)
{
	char *b = NULL;
	size_t cap = 0;
	unsigned char c;
	uint64_t crc;

	*len = 0;
	aof_format_raw(&b, len, &cap, "REDIS0010", 9);
	c = 0xfa;
	aof_format_raw(&b, len, &cap, (const char *)&c, 1);
	put_str(&b, len, &cap, "redis-ver");
	put_str(&b, len, &cap, "7.0.15");
	aof_format_raw(&b, len, &cap, "\xfa", 1);
	put_str(&b, len, &cap, "redis-bits");
	aof_format_raw(&b, len, &cap, "\xc0\x40", 2);
	aof_format_raw(&b, len, &cap, "\xfa", 1);
	put_str(&b, len, &cap, "ctime");
	put_int32(&b, len, &cap, (uint32_t)(clock_wall_ms() / 1000));
	aof_format_raw(&b, len, &cap, "\xfa", 1);
	put_str(&b, len, &cap, "used-mem");
	put_int32(&b, len, &cap, 1 << 20);
	aof_format_raw(&b, len, &cap, "\xfa", 1);
	put_str(&b, len, &cap, "aof-base");
	aof_format_raw(&b, len, &cap, "\xc0\x01", 2);
	aof_format_raw(&b, len, &cap, "\xff", 1);
	crc = crc64(0, b, *len);
	for (int i = 0; i < 8; i++) {
		c = (unsigned char)(crc >> (8 * i));
		aof_format_raw(&b, len, &cap, (const char *)&c, 1);
	}
	return b;
}
