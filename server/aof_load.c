/*
 * aof_load.c — start-up replay of the AOF directory (aof.h): an RDB base
 * decoded by persist/rdb_file (on every worker when large), then every
 * command of the command-form base and the incr files run through the
 * normal command path: one end of a socketpair becomes a client connection
 * (net_adopt) and the loading thread writes the files into the other end
 * while it reads and drops the replies; an ECHO of a random token after the
 * last command says when everything ran. Meanwhile every other client gets
 * -LOADING. A torn tail of the last incr file is cut when
 * aof-load-truncated says so (logged). The loading thread only.
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

/* ---- loading */

/* Feeds bytes to the loader connection and drains its replies; with
 * `token`, reads until the token's ECHO reply has arrived. */
static int feed(int fd, const char *buf, size_t len, const char *token)
{
	char rd[65536];
	size_t tl = token ? strlen(token) : 0;
	/* the tail of what was read, to find a token cut across reads */
	char tail[128];
	size_t tailn = 0;

	for (;;) {
		struct pollfd pf = {.fd = fd, .events = POLLIN | (len ? POLLOUT : 0)};

		if (len == 0 && token == NULL)
			return 0;
		/* relaxed: a request to stop (loading.h) */
		if (atomic_load_explicit(loading_cancel_flag(), memory_order_relaxed))
			return -ECANCELED;
		if (poll(&pf, 1, 100) < 0) { /* a shutdown is seen within 100 ms */
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (pf.revents & POLLIN) {
			ssize_t n = read(fd, rd, sizeof(rd));

			if (n == 0)
				return -EPIPE;
			if (n > 0 && token) {
				/* search tail + new bytes for the token */
				size_t keep = tailn + (size_t)n;
				char *scan = mem_alloc(keep + 1);

				memcpy(scan, tail, tailn);
				memcpy(scan + tailn, rd, (size_t)n);
				scan[keep] = '\0';
				if (memmem(scan, keep, token, tl)) {
					mem_free(scan);
					return 0;
				}
				tailn = keep < tl ? keep : tl;
				memcpy(tail, scan + keep - tailn, tailn);
				mem_free(scan);
			}
		} else if (pf.revents & (POLLERR | POLLHUP)) {
			return -EPIPE;
		}
		if (len && (pf.revents & POLLOUT)) {
			ssize_t n = write(fd, buf, len > 65536 ? 65536 : len);

			if (n > 0) {
				buf += n;
				len -= (size_t)n;
			}
		}
	}
}

/* INFO loading_rdb_used_mem: the base's used-mem AUX field, as Redis */
static void base_aux(void *arg, const char *k, size_t kl, const char *v, size_t vl)
{
	char num[32];

	(void)arg;
	if (kl == 8 && memcmp(k, "used-mem", 8) == 0 && vl < sizeof(num)) {
		memcpy(num, v, vl);
		num[vl] = '\0';
		loading_set_rdb_used_mem(strtoll(num, NULL, 10));
	}
}

static void base_progress(void *arg, uint64_t off, uint64_t size, long long keys)
{
	(void)arg;
	(void)size;
	(void)keys;
	loading_set_loaded(off);
}

/* Loads an RDB base file into db (persist/rdb_file.h). The loading thread,
 * online; clients get -LOADING meanwhile. */
int aof_load_rdb_base(struct db *db, const char *name, char *err, size_t errlen)
{
	char *path = aof_path_of(name);
	struct rdb_load_opts o = {.path = path,
				  .checksum = cfg_int(CFG_RDBCHECKSUM) != 0,
				  .now_ms = clock_wall_ms(),
				  .aux = base_aux,
				  .progress = base_progress,
				  .progress_bytes =
				      (uint64_t)cfg_int(CFG_LOADING_PROCESS_EVENTS_INTERVAL_BYTES),
				  .key_delay = (int)cfg_int(CFG_KEY_LOAD_DELAY),
				  .cancel = loading_cancel_flag(),
				  .function = script_func_rdb_load,
				  /* decode and insert on every worker's share, as the
				   * dump.rdb load (persist_srv.c) */
				  .threads = (int)cfg_int(CFG_THREADS),
				  .parallel_min = 1 << 20};
	struct rdb_load_stats st;
	int rc = rdb_load(db, &o, &st, err, errlen);

	mem_free(path);
	if (rc == -ENOENT)
		snprintf(err, errlen, "The AOF base file %s does not exist", name);
	if (rc == -ECANCELED)
		return rc;
	if (rc != 0)
		return -EINVAL;
	LOG(LOG_NOTICE, "DB loaded from base file %s: %lld keys (%lld expired)", name, st.keys,
	    st.expired);
	return 0;
}

/* Replays one command file through the loader connection. `last`: the
 * file is the last incremental one (the only one a torn tail is allowed
 * in). */
static int load_cmd_file(int fd, const char *name, bool last, char *err, size_t errlen)
{
	char *path = aof_path_of(name), *buf;
	size_t len;
	struct aof_scan_info si;
	enum aof_scan_result sr;
	int rc = aof_read_file(path, &buf, &len);

	if (rc < 0) {
		snprintf(err, errlen, "Can't open the append-only file %s: %s", name,
			 strerror(-rc));
		mem_free(path);
		return rc;
	}
	sr = aof_scan(buf, len, &si);
	if (sr == AOF_SCAN_CORRUPT) {
		snprintf(err, errlen,
			 "Bad file format reading the append only file %s at offset %zu", name,
			 si.bad);
		rc = -EINVAL;
		goto out;
	}
	if (sr == AOF_SCAN_TRUNCATED) {
		if (!last || !cfg_int(CFG_AOF_LOAD_TRUNCATED)) {
			snprintf(
			    err, errlen,
			    "Unexpected end of file reading the append only file %s at offset "
			    "%zu (%s). You can: 1) Make a backup of your AOF file, then use "
			    "./redis-check-aof --fix <filename.manifest>. 2) Alternatively you "
			    "can set the 'aof-load-truncated' configuration option to yes and "
			    "restart the server.",
			    name, si.valid, si.why);
			rc = -EINVAL;
			goto out;
		}
		LOG(LOG_WARNING, "!!! Warning: short read while loading the AOF file %s!!! (%s)",
		    name, si.why);
		LOG(LOG_WARNING,
		    "AOF %s loaded anyway because aof-load-truncated is enabled: cut from %zu to "
		    "%zu bytes",
		    name, len, si.valid);
		if (truncate(path, (off_t)si.valid) < 0) {
			rc = -errno;
			snprintf(err, errlen, "Can't truncate the append only file %s: %s", name,
				 strerror(errno));
			goto out;
		}
	}
	rc = feed(fd, buf, si.valid, NULL);
	loading_add_loaded(len);
	if (rc == -ECANCELED)
		snprintf(err, errlen, "loading cancelled");
	else if (rc < 0)
		snprintf(err, errlen, "The loader connection failed while loading %s", name);
	else
		LOG(LOG_NOTICE, "DB loaded from incr file %s: %" PRIu64 " commands", name,
		    si.ncmds);
out:
	mem_free(buf);
	mem_free(path);
	return rc;
}

int aof_load_all(char *err, size_t errlen)
{
	int sv[2], rc = 0;
	char token[41], echo[80];
	unsigned char rnd[20];
	int64_t t0 = clock_mono_ns();

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		snprintf(err, errlen, "socketpair: %s", strerror(errno));
		return -errno;
	}
	if (fcntl(sv[0], F_SETFL, O_NONBLOCK) < 0 || fcntl(sv[1], F_SETFL, O_NONBLOCK) < 0) {
		snprintf(err, errlen, "fcntl: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return -EIO;
	}
	/* the id is stored before the connection reaches a worker (net_adopt),
	 * so its conn_init already knows it is the loader's */
	net_adopt(sv[0], &aof.loader_id);
	if (aof.man.base.name && !aof.base_is_rdb)
		rc = load_cmd_file(sv[1], aof.man.base.name, false, err, errlen);
	for (size_t i = 0; rc == 0 && i < aof.man.nincr; i++)
		rc =
		    load_cmd_file(sv[1], aof.man.incr[i].name, i + 1 == aof.man.nincr, err, errlen);
	if (rc == 0) {
		getrandom(rnd, sizeof(rnd), 0);
		for (int i = 0; i < 20; i++)
			snprintf(token + 2 * i, 3, "%02x", rnd[i]);
		snprintf(echo, sizeof(echo), "*2\r\n$4\r\nECHO\r\n$40\r\n%s\r\n", token);
		rc = feed(sv[1], echo, strlen(echo), token);
		if (rc < 0)
			snprintf(err, errlen, "The AOF loader connection failed");
	}
	close(sv[1]); /* the loader connection closes on EOF */
	if (rc == 0)
		LOG(LOG_NOTICE, "DB loaded from append only file: %.3f seconds",
		    (double)(clock_mono_ns() - t0) / 1e9);
	return rc;
}
