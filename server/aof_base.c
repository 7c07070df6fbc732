/*
 * aof_base.c — the command-form AOF base (aof_base.h): a snapshot written
 * as the commands Redis 7.0.15's rewriteAppendOnlyFileRio emits, for
 * aof-use-rdb-preamble no. Commands are formatted into a buffer (the AOF's
 * own formatter, persist/aof_format.h) and written out every 64 KB.
 */
#include "server/aof_base.h"
#include "concurrency/mem.h"
#include "persist/aof_format.h"
#include "persist/autosync.h"
#include "persist/rdb_file.h"
#include "storage/coll.h"
#include "storage/kvmap.h"
#include "storage/thash.h"
#include "storage/tlist.h"
#include "storage/tset.h"
#include "storage/tzset.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* AOF_REWRITE_ITEMS_PER_CMD of Redis: elements per RPUSH/SADD/ZADD/HMSET */
#define ITEMS_PER_CMD 64
#define FLUSH_AT      (64 * 1024)

struct bw {
	int fd, err; /* err: errno of the first failed write */
	int64_t now_ms;
	struct autosync as;
	char *buf; /* the output, flushed at FLUSH_AT */
	size_t len, cap;
	/* one command's arguments being gathered */
	const char *argv[2 + 2 * ITEMS_PER_CMD];
	size_t argl[2 + 2 * ITEMS_PER_CMD];
	int argc;
	char scores[ITEMS_PER_CMD][40]; /* a ZADD's formatted scores */
	struct rdb_save_stats *st;
};

static void flush(struct bw *w)
{
	size_t off = 0;

	while (off < w->len && w->err == 0) {
		ssize_t n = write(w->fd, w->buf + off, w->len - off);

		if (n < 0) {
			if (errno != EINTR)
				w->err = errno;
			continue;
		}
		off += (size_t)n;
	}
	w->st->bytes += off;
	w->len = 0;
	if (w->err == 0) {
		int rc = autosync_wrote(&w->as, off);

		if (rc != 0)
			w->err = -rc;
	}
}

static void emit(struct bw *w, int argc, const char *const *argv, const size_t *argl)
{
	aof_format_cmd(&w->buf, &w->len, &w->cap, argc, argv, argl);
	if (w->len >= FLUSH_AT)
		flush(w);
}

/* ---- one command of up to ITEMS_PER_CMD elements */

static void cmd_begin(struct bw *w, const char *name, const struct kv_entry *e)
{
	w->argv[0] = name;
	w->argl[0] = strlen(name);
	w->argv[1] = kv_entry_key(e);
	w->argl[1] = e->klen;
	w->argc = 2;
}

static void cmd_arg(struct bw *w, const char *p, size_t len)
{
	w->argv[w->argc] = p;
	w->argl[w->argc++] = len;
}

/* Emits the gathered command if it holds `per` arguments after the key
 * (full) or, with `last`, any; then starts the next with the same name. */
static void cmd_maybe_emit(struct bw *w, int per, bool last)
{
	if (w->argc == 2 || (!last && w->argc - 2 < per))
		return;
	emit(w, w->argc, w->argv, w->argl);
	w->argc = 2;
}

/* The score as Redis writes it: d2string for a listpack's (how zzlInsertAt
 * stored it), %.17g for a skiplist's (rioWriteBulkDouble). */
static size_t fmt_score(char *buf, size_t len, double v, bool listpack)
{
	int n;

	if (isinf(v))
		n = snprintf(buf, len, "%s", v < 0 ? "-inf" : "inf");
	else if (!listpack)
		n = snprintf(buf, len, "%.17g", v);
	else if (v == 0)
		n = snprintf(buf, len, "%s", signbit(v) ? "-0" : "0");
	else if (v > -4503599627370495.0 && v < 4503599627370496.0 && v == (double)(long long)v)
		n = snprintf(buf, len, "%lld", (long long)v);
	else
		n = snprintf(buf, len, "%.17g", v);
	return (size_t)n;
}

static void put_list(struct bw *w, const struct kv_entry *e)
{
	struct tlist_iter it;
	const char *p;
	size_t len;

	cmd_begin(w, "RPUSH", e);
	tlist_iter_init(&it, e, 0, true);
	while (tlist_iter_next(&it, &p, &len)) {
		cmd_arg(w, p, len);
		cmd_maybe_emit(w, ITEMS_PER_CMD, false);
	}
	cmd_maybe_emit(w, ITEMS_PER_CMD, true);
	tlist_iter_done(&it);
}

static void put_set(struct bw *w, const struct kv_entry *e)
{
	struct tset_src s;
	struct tset_iter it;
	const char *m;
	size_t len;
	/* an intset member is formatted into the iterator's buffer: copied
	 * here, as the command gathers up to ITEMS_PER_CMD of them */
	char nums[ITEMS_PER_CMD][TSET_LL_MAX];

	tset_src_of(e, &s);
	cmd_begin(w, "SADD", e);
	tset_iter_init(&it, &s, 0);
	while (tset_iter_next(&it, &m, &len)) {
		if (!s.big) {
			char *slot = nums[w->argc - 2];

			memcpy(slot, m, len);
			m = slot;
		}
		cmd_arg(w, m, len);
		cmd_maybe_emit(w, ITEMS_PER_CMD, false);
	}
	cmd_maybe_emit(w, ITEMS_PER_CMD, true);
}

static void put_zset(struct bw *w, const struct kv_entry *e)
{
	bool lp = coll_entry_enc(e) == COLL_LISTPACK;
	struct tzset_iter it;
	struct tz_item item;

	cmd_begin(w, "ZADD", e);
	tzset_iter_init(&it, e, 0, false);
	while (tzset_iter_next(&it, &item)) {
		char *sb = w->scores[(w->argc - 2) / 2];

		cmd_arg(w, sb, fmt_score(sb, sizeof(w->scores[0]), item.score, lp));
		cmd_arg(w, item.m, item.mlen);
		cmd_maybe_emit(w, 2 * ITEMS_PER_CMD, false);
	}
	cmd_maybe_emit(w, 2 * ITEMS_PER_CMD, true);
}

static void put_hash(struct bw *w, const struct kv_entry *e)
{
	struct thash_iter it;
	struct pt_elem el;

	cmd_begin(w, "HMSET", e);
	thash_iter_init(&it, e);
	while (thash_iter_next(&it, &el)) {
		cmd_arg(w, el.a, el.alen);
		cmd_arg(w, el.b, el.blen);
		cmd_maybe_emit(w, 2 * ITEMS_PER_CMD, false);
	}
	cmd_maybe_emit(w, 2 * ITEMS_PER_CMD, true);
}

static void put_entry(void *arg, const struct kv_entry *e)
{
	struct bw *w = arg;

	if (kv_entry_expire(e) != 0 && kv_entry_expire(e) < w->now_ms) {
		w->st->expired++;
		return;
	}
	switch (kv_entry_type(e)) {
	case KV_LIST:
		put_list(w, e);
		break;
	case KV_SET:
		put_set(w, e);
		break;
	case KV_ZSET:
		put_zset(w, e);
		break;
	case KV_HASH:
		put_hash(w, e);
		break;
	default: {
		const char *argv[3] = {"SET", kv_entry_key(e), kv_entry_val(e)};
		size_t argl[3] = {3, e->klen, e->vlen};

		emit(w, 3, argv, argl);
		break;
	}
	}
	if (kv_entry_expire(e) != 0) {
		char ms[24];
		const char *argv[3] = {"PEXPIREAT", kv_entry_key(e), ms};
		size_t argl[3] = {9, e->klen, 0};

		argl[2] = (size_t)snprintf(ms, sizeof(ms), "%" PRId64, kv_entry_expire(e));
		emit(w, 3, argv, argl);
	}
	w->st->keys++;
}

int aof_base_write(int fd, const struct rdb_source *src, const struct rdb_save_opts *o,
		   struct rdb_save_stats *st, char *err, size_t errlen)
{
	struct bw w = {.fd = fd, .now_ms = o->now_ms, .st = st};
	int n = src->databases(src->arg);

	memset(st, 0, sizeof(*st));
	autosync_init(&w.as, fd, o->autosync, o->io_wait);
	for (int i = 0; i < o->nlibs && w.err == 0; i++) { /* rewriteFunctions */
		const char *argv[3] = {"FUNCTION", "LOAD", o->libs[i]};
		size_t argl[3] = {8, 4, o->lib_lens[i]};

		emit(&w, 3, argv, argl);
	}
	for (int i = 0; i < n && w.err == 0; i++) {
		char num[16];
		const char *argv[2] = {"SELECT", num};
		size_t argl[2] = {6, 0};

		if (src->keys(src->arg, i) == 0)
			continue;
		argl[1] = (size_t)snprintf(num, sizeof(num), "%d", i);
		emit(&w, 2, argv, argl);
		while (w.err == 0 && src->next(src->arg, i, put_entry, &w))
			;
	}
	flush(&w);
	st->syncs = w.as.waits;
	st->starts = w.as.starts;
	mem_free(w.buf);
	if (w.err) {
		snprintf(err, errlen, "Write error writing the AOF base: %s", strerror(w.err));
		return -1;
	}
	return 0;
}
