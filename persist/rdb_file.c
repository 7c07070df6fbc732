/*
 * rdb_file.c — the RDB file writer and loader (rdb_file.h): Redis 7.0.15's
 * rdbSaveRio and rdbLoadRioWithLoadingCtx for what kvsd holds.
 *
 * The writer appends to a buffer and writes it out (through the running
 * CRC-64) whenever it passes WBUF_FLUSH bytes, so a save's memory is one
 * buffer plus the largest single value's encoding. 128 KB: the buffer stays
 * in the core's L2 cache from one flush to the next, and a flush (the CRC
 * read and write()'s copy into the page cache) touches 256 KB; with 1 MB
 * the lines written were new ones each time and one flush touched 2 MB,
 * evicting the worker's cache during the saver's loan of its core
 * (concurrency/lend.h). Eight times the write calls (about 6,000 for a
 * 750 MB file) cost milliseconds. The loader maps the file
 * and walks it with a bounds check before every read: a truncated or
 * corrupt file ends in an error naming the byte where the damaged item
 * starts, never in a read past the mapping.
 */
#include "persist/rdb_file.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "concurrency/mem.h"
#include "persist/autosync.h"
#include "persist/crc64.h"
#include "persist/rdb_value.h"
#include "storage/db.h"
#include "storage/kvmap.h"

/* Opcodes (rdb.h). */
enum {
	RDB_OPCODE_FUNCTION2 = 245,
	RDB_OPCODE_FUNCTION = 246,
	RDB_OPCODE_MODULE_AUX = 247,
	RDB_OPCODE_IDLE = 248,
	RDB_OPCODE_FREQ = 249,
	RDB_OPCODE_AUX = 250,
	RDB_OPCODE_RESIZEDB = 251,
	RDB_OPCODE_EXPIRETIME_MS = 252,
	RDB_OPCODE_EXPIRETIME = 253,
	RDB_OPCODE_SELECTDB = 254,
	RDB_OPCODE_EOF = 255,
};

/* The version redis-ver names: the Redis release whose format and
 * behaviour kvsd follows (redis-check-rdb and redis-server only log it). */
#define RDB_REDIS_VER "7.0.15"
#define WBUF_FLUSH    (128u << 10)

/* ---- writer */

struct writer {
	int fd, err; /* err: errno of the first failed write */
	struct rdb_buf b, val;
	struct autosync as;
	uint64_t crc, bytes;
	const struct rdb_save_opts *o;
	const struct rdb_source *src;
	long long keys, expired;
	long long delayed; /* key_delay's counter (rdb-key-save-delay < 0) */
};

static void key_delay(int usec, long long *n);

/* Writes the buffer out; crc: it is part of what the trailer checks. */
static void w_flush(struct writer *w, bool crc)
{
	size_t off = 0;

	if (crc && w->o->checksum)
		w->crc = crc64(w->crc, w->b.p, w->b.len);
	while (!w->err && off < w->b.len) {
		ssize_t n = write(w->fd, w->b.p + off, w->b.len - off);

		if (n < 0) {
			if (errno != EINTR)
				w->err = errno;
			continue;
		}
		off += (size_t)n;
	}
	w->bytes += off;
	w->b.len = 0;
	if (!w->err) {
		int rc = autosync_wrote(&w->as, off);

		if (rc != 0)
			w->err = -rc;
	}
}

static void w_byte(struct writer *w, unsigned char c)
{
	rdb_buf_put(&w->b, &c, 1);
}

static void w_aux(struct writer *w, const char *k, const char *v)
{
	w_byte(w, RDB_OPCODE_AUX);
	rdb_put_string(&w->b, k, strlen(k), w->o->compress);
	rdb_put_string(&w->b, v, strlen(v), w->o->compress);
}

static void w_entry(void *arg, const struct kv_entry *e)
{
	struct writer *w = arg;
	unsigned char ms[8];

	if (kv_entry_expire(e) != 0 && kv_entry_expire(e) < w->o->now_ms) {
		w->expired++;
		return;
	}
	if (kv_entry_expire(e) != 0) {
		w_byte(w, RDB_OPCODE_EXPIRETIME_MS);
		for (int i = 0; i < 8; i++)
			ms[i] = (unsigned char)((uint64_t)kv_entry_expire(e) >> (8 * i));
		rdb_buf_put(&w->b, ms, 8);
	}
	if (w->src->access) {
		uint64_t idle = 0;
		unsigned freq = 0;
		int k = w->src->access(w->src->arg, e, &idle, &freq);

		if (k == 1) {
			w_byte(w, RDB_OPCODE_IDLE);
			rdb_put_len(&w->b, idle);
		} else if (k == 2) {
			w_byte(w, RDB_OPCODE_FREQ);
			w_byte(w, (unsigned char)(freq > 255 ? 255 : freq));
		}
	}
	/* the value encodes as type byte + payload; the key goes between */
	w->val.len = 0;
	rdb_value_encode(&w->val, e, w->o->compress);
	w_byte(w, w->val.p[0]);
	rdb_put_string(&w->b, kv_entry_key(e), e->klen, w->o->compress);
	rdb_buf_put(&w->b, w->val.p + 1, w->val.len - 1);
	w->keys++;
	if (w->o->key_delay)
		key_delay(w->o->key_delay, &w->delayed);
	if (w->b.len >= WBUF_FLUSH) {
		w_flush(w, true);
		if (w->o->progress) /* relaxed: a statistic for INFO; publishes nothing */
			atomic_store_explicit(w->o->progress, w->keys, memory_order_relaxed);
	}
}

int rdb_save(int fd, const struct rdb_source *src, const struct rdb_save_opts *o,
	     struct rdb_save_stats *st, char *err, size_t errlen)
{
	struct writer w = {.fd = fd, .o = o, .src = src};
	char num[32];
	unsigned char tail[8];
	int dbs = src->databases(src->arg);

	autosync_init(&w.as, fd, o->autosync, o->io_wait);
	snprintf(num, sizeof(num), "REDIS%04d", RDB_VERSION);
	rdb_buf_put(&w.b, num, 9);
	/* rdbSaveInfoAuxFields: the order 7.0 writes them */
	w_aux(&w, "redis-ver", RDB_REDIS_VER);
	snprintf(num, sizeof(num), "%d", (int)(sizeof(void *) * 8));
	w_aux(&w, "redis-bits", num);
	snprintf(num, sizeof(num), "%lld", (long long)(o->now_ms / 1000));
	w_aux(&w, "ctime", num);
	snprintf(num, sizeof(num), "%lld", o->used_mem);
	w_aux(&w, "used-mem", num);
	w_aux(&w, "aof-base", o->aof_base ? "1" : "0");
	for (int i = 0; i < o->nlibs; i++) { /* rdbSaveFunctions */
		w_byte(&w, RDB_OPCODE_FUNCTION2);
		rdb_put_string(&w.b, o->libs[i], o->lib_lens[i], o->compress);
	}
	for (int i = 0; i < dbs && !w.err; i++) {
		long long keys = src->keys(src->arg, i);

		if (keys <= 0)
			continue;
		w_byte(&w, RDB_OPCODE_SELECTDB);
		rdb_put_len(&w.b, (uint64_t)i);
		w_byte(&w, RDB_OPCODE_RESIZEDB);
		rdb_put_len(&w.b, (uint64_t)keys);
		rdb_put_len(&w.b, (uint64_t)src->expires(src->arg, i));
		while (!w.err && src->next(src->arg, i, w_entry, &w))
			;
	}
	w_byte(&w, RDB_OPCODE_EOF);
	w_flush(&w, true); /* the CRC covers everything up to EOF */
	for (int i = 0; i < 8; i++)
		tail[i] = o->checksum ? (unsigned char)(w.crc >> (8 * i)) : 0;
	rdb_buf_put(&w.b, tail, 8);
	w_flush(&w, false);
	rdb_buf_free(&w.b);
	rdb_buf_free(&w.val);
	if (st) {
		st->keys = w.keys;
		st->expired = w.expired;
		st->bytes = w.bytes;
		st->syncs = w.as.waits;
		st->starts = w.as.starts;
	}
	if (o->progress) /* relaxed: a statistic */
		atomic_store_explicit(o->progress, w.keys, memory_order_relaxed);
	if (w.err) {
		snprintf(err, errlen, "%s", strerror(w.err));
		return -1;
	}
	return 0;
}

/* ---- loader */

/* A decoded string waiting for its insert: the loader hashes a key, starts
 * fetching its bucket (kvmap_prefetch) and inserts it LOAD_PIPE keys later,
 * when the bucket is in cache, instead of stalling on each insert's miss. */
#define LOAD_PIPE 8

struct pend {
	struct kv_entry *e;
	uint64_t hash;
	size_t at;
	int dbi;
	long long idle, freq;
};

struct loader {
	const unsigned char *base, *p, *end;
	const struct rdb_load_opts *o;
	const char *name;
	struct db *db;
	char *err;
	size_t errlen;
	size_t fail_at; /* where the error fail() reported is */
	struct rdb_buf key, aux;
	struct par *par; /* the parallel load, or NULL */
	/* the trailer's CRC-64 of base[0..crc_at), computed as the walk goes
	 * (crc_to), on bytes it just read */
	uint64_t crc;
	size_t crc_at;
	size_t map_keys;	     /* the map's keys when the load began (RESIZEDB) */
	struct pend pipe[LOAD_PIPE]; /* pending inserts, oldest at pipe_head */
	unsigned pipe_head, pipe_n;
};

/* How far the CRC may lag the walk: computed on bytes still in cache. */
#define CRC_STEP (256u << 10)

static void crc_to(struct loader *l, size_t to)
{
	if (l->o->checksum && to > l->crc_at) {
		l->crc = crc64(l->crc, l->base + l->crc_at, to - l->crc_at);
		l->crc_at = to;
	}
}

/* A key as errors show it: printable bytes, others as \xHH, at most 64. */
static const char *key_shown_n(const void *key, size_t len, char *out, size_t outlen)
{
	size_t o = 0;

	for (size_t i = 0; i < len && o + 5 < outlen; i++) {
		unsigned char c = ((const unsigned char *)key)[i];

		if (i == 64) {
			o += (size_t)snprintf(out + o, outlen - o, "...");
			break;
		}
		if (c >= 0x20 && c < 0x7f && c != '\\' && c != '\'')
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, outlen - o, "\\x%02x", c);
	}
	out[o] = '\0';
	return out;
}

static const char *key_shown(const struct rdb_buf *k, char *out, size_t outlen)
{
	return key_shown_n(k->p, k->len, out, outlen);
}

static int fail(struct loader *l, size_t at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(struct loader *l, size_t at, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(l->err, l->errlen, "Bad RDB file %s at byte %zu: ", l->name, at);

	l->fail_at = at;

	if (n > 0 && (size_t)n < l->errlen) {
		va_start(ap, fmt);
		vsnprintf(l->err + n, l->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static size_t off(const struct loader *l)
{
	return (size_t)(l->p - l->base);
}

static bool get_len(struct loader *l, uint64_t *v)
{
	size_t n = rdb_get_len(l->p, (size_t)(l->end - l->p), v);

	l->p += n;
	return n != 0;
}

static bool get_str(struct loader *l, struct rdb_buf *b)
{
	size_t n = rdb_get_string(l->p, (size_t)(l->end - l->p), b);

	l->p += n;
	return n != 0;
}

static bool get_bytes(struct loader *l, size_t n, const unsigned char **out)
{
	if ((size_t)(l->end - l->p) < n)
		return false;
	*out = l->p;
	l->p += n;
	return true;
}

static const char *type_name(int t)
{
	switch (t) {
	case RDB_TYPE_STREAM_LISTPACKS:
	case RDB_TYPE_STREAM_LISTPACKS_2:
		return "stream";
	case 6:
	case 7:
		return "module value";
	default:
		return "value";
	}
}

/* Inserts the oldest pending string. 0, or -1 (a duplicated key) with the
 * error at that key's record. */
static int pipe_put(struct loader *l, struct rdb_load_stats *st)
{
	struct pend *p = &l->pipe[l->pipe_head];
	struct db_view v;
	char shown[300];

	l->pipe_head = (l->pipe_head + 1) % LOAD_PIPE;
	l->pipe_n--;
	db_view_init(l->db, p->dbi, &v);
	if (db_load_put(&v, p->e, p->hash, l->o->now_ms) != 0) {
		int rc =
		    fail(l, p->at, "duplicated key '%s' in db %d",
			 key_shown_n(kv_entry_key(p->e), p->e->klen, shown, sizeof(shown)), p->dbi);

		kv_entry_free(p->e);
		return rc;
	}
	db_coll_end();
	if (p->idle >= 0 || p->freq >= 0)
		db_key_set_access(l->db, p->hash, l->o->now_ms, p->idle, p->freq);
	st->keys++;
	return 0;
}

/* Inserts every pending string (they are the load's before any later
 * record's). */
static int pipe_drain(struct loader *l, struct rdb_load_stats *st)
{
	while (l->pipe_n > 0)
		if (pipe_put(l, st) != 0)
			return -1;
	return 0;
}

/* Frees the pending strings (a failed load). */
static void pipe_discard(struct loader *l)
{
	while (l->pipe_n > 0) {
		kv_entry_free(l->pipe[l->pipe_head].e);
		l->pipe_head = (l->pipe_head + 1) % LOAD_PIPE;
		l->pipe_n--;
	}
}

/* One key-value pair whose type byte t was read at `at`. A string joins
 * the insert pipeline; another type (its edits live in the thread's
 * collection context until its put) is put at once, after the pending
 * strings. */
static int load_pair(struct loader *l, struct rdb_load_stats *st, size_t at, int t, int dbi,
		     bool has_exp, int64_t exp, long long idle, long long freq)
{
	struct db_view v;
	struct kv_entry *e;
	size_t used;
	char shown[300];
	enum rdb_err rc;

	if (!get_str(l, &l->key))
		return fail(l, at, "a key is cut short or malformed");
	if (l->key.len > KV_KEY_MAX)
		return fail(l, at, "key of %zu bytes is longer than kvsd holds", l->key.len);
	db_view_init(l->db, dbi, &v);
	if (t != RDB_TYPE_STRING && pipe_drain(l, st) != 0)
		return -1;
	rc = rdb_value_decode_as(db_coll_ctx(&v), t, l->p, (size_t)(l->end - l->p), l->key.p,
				 l->key.len, has_exp ? (exp == 0 ? -1 : exp) : 0, &e, &used);
	if (rc == RDB_EUNSUPPORTED) {
		db_coll_end();
		return fail(l, at,
			    "key '%s' (db %d) holds a %s (RDB type %d), a type kvsd does not "
			    "support",
			    key_shown(&l->key, shown, sizeof(shown)), dbi, type_name(t), t);
	}
	if (rc != RDB_OK) {
		db_coll_end();
		if (t > RDB_TYPE_LIST_QUICKLIST_2 && t < RDB_OPCODE_FUNCTION2)
			return fail(l, at, "unknown RDB type or opcode %d", t);
		return fail(l, at, "the value of key '%s' (db %d, RDB type %d) is malformed",
			    key_shown(&l->key, shown, sizeof(shown)), dbi, t);
	}
	l->p += used;
	if (has_exp && exp < l->o->now_ms) {
		/* rdbLoad on a master: an expired key is not loaded */
		kv_entry_free(e);
		db_coll_end();
		st->expired++;
		return 0;
	}
	if (t == RDB_TYPE_STRING) {
		struct pend *p;

		if (l->pipe_n == LOAD_PIPE && pipe_put(l, st) != 0) {
			kv_entry_free(e);
			return -1;
		}
		p = &l->pipe[(l->pipe_head + l->pipe_n++) % LOAD_PIPE];
		*p = (struct pend){.e = e,
				   .hash = db_key_hash(&v, l->key.p, l->key.len),
				   .at = at,
				   .dbi = dbi,
				   .idle = idle,
				   .freq = freq};
		kvmap_prefetch(db_map(l->db), p->hash);
		return 0;
	}
	if (db_put(&v, NULL, e) != 0) {
		kv_entry_free(e);
		db_coll_end();
		return fail(l, at, "duplicated key '%s' in db %d",
			    key_shown(&l->key, shown, sizeof(shown)), dbi);
	}
	db_coll_end();
	if (idle >= 0 || freq >= 0)
		db_key_set_access(l->db, db_key_hash(&v, l->key.p, l->key.len), l->o->now_ms, idle,
				  freq);
	st->keys++;
	return 0;
}

/* ---- the parallel load
 *
 * The loading thread (the walker) walks the file's framing (opcodes, and
 * each value's extent by rdb_value_skip, which builds nothing) and the
 * CRC, and hands records in batches to threads - 1 worker threads, which
 * decode them and db_put them: building and inserting the values, the
 * costly part. The walker's own work is light, so it works too: whenever
 * the queue holds PAR_QUEUE_PER batches per worker it decodes the oldest
 * batch itself instead of waiting, and once the walk is over it drains
 * the queue with the workers; so `threads` threads are busy for the whole
 * load and none sleeps on a full queue. Keys are distinct, so the order
 * of puts does not matter; a record carries its database, expiry and
 * access data. Errors: the one at the smallest offset is reported (a
 * batch's or the walker's); any error stops the load.
 */
#define PAR_BATCH     512
#define PAR_MAX	      64
#define PAR_QUEUE_PER 2 /* batches queued per worker before the walker decodes one */

struct prec {
	size_t at, key_at, end;
	int type, dbi;
	bool has_exp;
	int64_t exp;
	long long idle, freq;
};

struct pbatch {
	struct pbatch *next;
	size_t n;
	struct prec r[PAR_BATCH];
};

/* One thread's decoding state (a worker's, or the walker's when it helps). */
struct pdec {
	struct loader l; /* the walker's immutable fields; p/end per record */
	struct rdb_load_stats st;
	char err[512];
};

struct par {
	const struct loader *main;
	pthread_mutex_t mu; /* guards everything below but `stop` */
	pthread_cond_t work;
	struct pbatch *head, *tail, *cur; /* cur: being filled by the walker (walker only) */
	int queued, nth;		  /* nth: worker threads */
	bool done;
	bool has_err;
	size_t err_at;
	char err[512];
	long long keys, expired;
	/* set by a thread whose batch failed, read by everyone to stop early
	 * (relaxed: the error itself is published under mu) */
	_Atomic int stop;
	struct pdec walker; /* the walker's decoding state (walker only) */
	pthread_t th[PAR_MAX];
};

static void par_error(struct par *pp, size_t at, const char *msg)
{
	pthread_mutex_lock(&pp->mu);
	if (!pp->has_err || at < pp->err_at) {
		pp->has_err = true;
		pp->err_at = at;
		snprintf(pp->err, sizeof(pp->err), "%s", msg);
	}
	pthread_mutex_unlock(&pp->mu);
}

static int load_pair(struct loader *l, struct rdb_load_stats *st, size_t at, int t, int dbi,
		     bool has_exp, int64_t exp, long long idle, long long freq);

static void pdec_init(struct pdec *d, const struct par *pp)
{
	memset(d, 0, sizeof(*d));
	d->l = (struct loader){.base = pp->main->base,
			       .o = pp->main->o,
			       .name = pp->main->name,
			       .db = pp->main->db,
			       .err = d->err,
			       .errlen = sizeof(d->err)};
}

/* Decodes and puts batch b's records (then frees b), inside the caller's
 * epoch section. */
static void par_run(struct par *pp, struct pdec *d, struct pbatch *b)
{
	/* relaxed: see par.stop */
	for (size_t i = 0; i < b->n && !atomic_load_explicit(&pp->stop, memory_order_relaxed);
	     i++) {
		const struct prec *r = &b->r[i];
		int rc;

		d->l.p = d->l.base + r->key_at;
		d->l.end = d->l.base + r->end;
		rc = load_pair(&d->l, &d->st, r->at, r->type, r->dbi, r->has_exp, r->exp, r->idle,
			       r->freq);
		if (rc == 0 && d->l.p != d->l.end)
			rc = fail(&d->l, r->at, "a value's contents and its lengths disagree");
		if (rc != 0) {
			par_error(pp, d->l.fail_at, d->err);
			/* relaxed: see par.stop */
			atomic_store_explicit(&pp->stop, 1, memory_order_relaxed);
		}
	}
	/* relaxed: see par.stop */
	if (!atomic_load_explicit(&pp->stop, memory_order_relaxed) &&
	    pipe_drain(&d->l, &d->st) != 0) {
		par_error(pp, d->l.fail_at, d->err);
		/* relaxed: see par.stop */
		atomic_store_explicit(&pp->stop, 1, memory_order_relaxed);
	}
	pipe_discard(&d->l);
	mem_free(b);
}

/* The queue's oldest batch, or NULL (called with mu held). */
static struct pbatch *par_pop(struct par *pp)
{
	struct pbatch *b = pp->head;

	if (b) {
		pp->head = b->next;
		if (pp->head == NULL)
			pp->tail = NULL;
		pp->queued--;
	}
	return b;
}

static void pdec_fini(struct par *pp, struct pdec *d)
{
	pthread_mutex_lock(&pp->mu);
	pp->keys += d->st.keys;
	pp->expired += d->st.expired;
	pthread_mutex_unlock(&pp->mu);
	rdb_buf_free(&d->l.key);
}

static void *par_main(void *arg)
{
	struct par *pp = arg;
	struct pdec *d = mem_alloc(sizeof(*d));

	pdec_init(d, pp);
	kvmap_thread_register();
	for (;;) {
		struct pbatch *b;

		kvmap_thread_offline(); /* waiting: hold nothing */
		pthread_mutex_lock(&pp->mu);
		while (pp->head == NULL && !pp->done)
			pthread_cond_wait(&pp->work, &pp->mu);
		b = par_pop(pp);
		pthread_mutex_unlock(&pp->mu);
		kvmap_thread_online();
		if (b == NULL)
			break;
		par_run(pp, d, b);
		kvmap_quiescent();
	}
	pdec_fini(pp, d);
	mem_free(d);
	db_coll_thread_exit();
	kvmap_thread_unregister();
	return NULL;
}

/* Queues the walker's current batch; then, while the queue is full, the
 * walker decodes its oldest batch itself (drain: every batch, the walk
 * being over). -1 when a batch failed. */
static int par_flush(struct par *pp, bool drain)
{
	struct pbatch *b = pp->cur;
	int limit = drain ? 0 : PAR_QUEUE_PER * pp->nth;

	pp->cur = NULL;
	pthread_mutex_lock(&pp->mu);
	if (b && b->n > 0) {
		b->next = NULL;
		if (pp->tail)
			pp->tail->next = b;
		else
			pp->head = b;
		pp->tail = b;
		pp->queued++;
		pthread_cond_signal(&pp->work);
		b = NULL;
	}
	mem_free(b); /* an empty one */
	while (pp->queued > limit) {
		struct pbatch *mine = par_pop(pp);

		pthread_mutex_unlock(&pp->mu);
		par_run(pp, &pp->walker, mine);
		kvmap_quiescent();
		pthread_mutex_lock(&pp->mu);
	}
	pthread_mutex_unlock(&pp->mu);
	/* relaxed: see par.stop */
	return atomic_load_explicit(&pp->stop, memory_order_relaxed) ? -1 : 0;
}

/* The walker's side of a key-value record whose type byte t is at `at`:
 * its extent, queued for a worker. A record the skipper refuses is loaded
 * here instead, so its error is the serial loader's. */
static int par_record(struct loader *l, struct rdb_load_stats *st, size_t at, int t, int dbi,
		      bool has_exp, int64_t exp, long long idle, long long freq)
{
	size_t key_at = off(l), u;
	struct prec *r;

	if (!rdb_value_skip(RDB_TYPE_STRING, l->p, (size_t)(l->end - l->p), &u))
		return fail(l, at, "a key is cut short or malformed");
	l->p += u;
	if (!rdb_value_skip(t, l->p, (size_t)(l->end - l->p), &u)) {
		l->p = l->base + key_at;
		return load_pair(l, st, at, t, dbi, has_exp, exp, idle, freq);
	}
	l->p += u;
	if (l->par->cur == NULL) {
		l->par->cur = mem_alloc(sizeof(*l->par->cur));
		l->par->cur->n = 0;
	}
	r = &l->par->cur->r[l->par->cur->n++];
	*r = (struct prec){.at = at,
			   .key_at = key_at,
			   .end = off(l),
			   .type = t,
			   .dbi = dbi,
			   .has_exp = has_exp,
			   .exp = exp,
			   .idle = idle,
			   .freq = freq};
	if (l->par->cur->n == PAR_BATCH && par_flush(l->par, false) != 0)
		return fail(l, at, "(a worker failed)");
	return 0;
}

/* Redis's debugDelay() for key-load-delay and rdb-key-save-delay: > 0 sleeps that many
 * microseconds; < 0 sleeps 1 microsecond once every -usec keys (Redis
 * draws it at random; a counter gives the same rate). */
static void key_delay(int usec, long long *n)
{
	if (usec < 0)
		usec = ++*n % -(long long)usec == 0 ? 1 : 0;
	if (usec > 0)
		usleep((useconds_t)usec);
}

static int cancelled(struct loader *l)
{
	snprintf(l->err, l->errlen, "loading cancelled");
	l->fail_at = off(l);
	return -ECANCELED;
}

static int load_body(struct loader *l, struct rdb_load_stats *st)
{
	const unsigned char *h;
	int dbi = 0, dbs = db_databases(l->db);
	bool has_exp = false;
	int64_t exp = 0;
	long long idle = -1, freq = -1;
	uint64_t every = l->o->progress_bytes ? l->o->progress_bytes : 2u << 20;
	uint64_t next_progress = every;
	long long records = 0, delayed = 0;
	int ver = 0;

	if (!get_bytes(l, 9, &h))
		return fail(l, 0, "too short for an RDB header");
	if (memcmp(h, "REDIS", 5) != 0)
		return fail(l, 0, "wrong signature trying to load DB from file");
	for (int i = 5; i < 9; i++) {
		if (h[i] < '0' || h[i] > '9')
			return fail(l, 0, "bad RDB version");
		ver = ver * 10 + (h[i] - '0');
	}
	if (ver < 1 || ver > RDB_VERSION)
		return fail(l, 5, "can't handle RDB format version %d", ver);
	st->version = ver;
	for (;;) {
		size_t at = off(l);
		const unsigned char *x;
		uint64_t a, b;
		int t;

		if ((uint64_t)at >= next_progress && l->o->progress) {
			l->o->progress(l->o->arg, at, (uint64_t)(l->end - l->base), records);
			next_progress = at + every;
		}
		if (!get_bytes(l, 1, &x))
			return fail(l, at, "unexpected end of file (no EOF opcode)");
		t = x[0];
		switch (t) {
		case RDB_OPCODE_EXPIRETIME:
			if (!get_bytes(l, 4, &x))
				return fail(l, at, "EXPIRETIME cut short");
			exp = (int64_t)(int32_t)((uint32_t)x[0] | (uint32_t)x[1] << 8 |
						 (uint32_t)x[2] << 16 | (uint32_t)x[3] << 24) *
			      1000;
			has_exp = true;
			continue;
		case RDB_OPCODE_EXPIRETIME_MS: {
			uint64_t u = 0;

			if (!get_bytes(l, 8, &x))
				return fail(l, at, "EXPIRETIME_MS cut short");
			for (int i = 7; i >= 0; i--)
				u = (u << 8) | x[i];
			exp = (int64_t)u;
			has_exp = true;
			continue;
		}
		case RDB_OPCODE_FREQ:
			if (!get_bytes(l, 1, &x))
				return fail(l, at, "FREQ cut short");
			freq = x[0];
			continue;
		case RDB_OPCODE_IDLE:
			if (!get_len(l, &a))
				return fail(l, at, "IDLE cut short or malformed");
			idle = a > (uint64_t)INT64_MAX / 1000 ? INT64_MAX / 1000 : (long long)a;
			continue;
		case RDB_OPCODE_SELECTDB:
			if (!get_len(l, &a))
				return fail(l, at, "SELECTDB cut short or malformed");
			if (a >= (uint64_t)dbs)
				return fail(l, at,
					    "the file holds database %llu but kvsd is configured "
					    "with %d databases",
					    (unsigned long long)a, dbs);
			dbi = (int)a;
			continue;
		case RDB_OPCODE_RESIZEDB: {
			/* a record takes 3 bytes at least: a size beyond what
			 * the rest of the file can hold is not believed */
			uint64_t most;

			if (!get_len(l, &a) || !get_len(l, &b))
				return fail(l, at, "RESIZEDB cut short or malformed");
			most = (uint64_t)(l->end - l->p) / 3;
			/* as Redis's dictExpand on RESIZEDB: the map grows once,
			 * now, instead of migrating every key present at each
			 * doubling while they arrive */
			kvmap_reserve(db_map(l->db), l->map_keys + (size_t)records +
							 (size_t)(a < most ? a : most));
			continue;
		}
		case RDB_OPCODE_AUX: {
			struct rdb_buf k = {0};

			if (!get_str(l, &k) || !get_str(l, &l->aux)) {
				rdb_buf_free(&k);
				return fail(l, at, "AUX field cut short or malformed");
			}
			if (l->o->aux)
				l->o->aux(l->o->arg, (const char *)k.p, k.len,
					  (const char *)l->aux.p, l->aux.len);
			rdb_buf_free(&k);
			continue;
		}
		case RDB_OPCODE_MODULE_AUX:
			return fail(l, at,
				    "module data (MODULE_AUX, opcode 247): kvsd has no "
				    "modules");
		case RDB_OPCODE_FUNCTION2: {
			char ferr[512];

			if (!get_str(l, &l->aux))
				return fail(l, at,
					    "function library (FUNCTION2) cut short or malformed");
			if (!l->o->function)
				return fail(l, at,
					    "a function library (FUNCTION2, opcode 245) "
					    "where none is accepted");
			if (l->o->function(l->o->arg, (const char *)l->aux.p, l->aux.len, ferr,
					   sizeof(ferr)) != 0)
				return fail(l, at, "Failed loading library: %s", ferr);
			continue;
		}
		case RDB_OPCODE_FUNCTION:
			return fail(l, at,
				    "pre-release function format (opcode 246) not "
				    "supported");
		case RDB_OPCODE_EOF:
			if (pipe_drain(l, st) != 0)
				return -1;
			if (ver >= 5) {
				uint64_t want = 0, got;

				if (!get_bytes(l, 8, &x))
					return fail(l, off(l), "the CRC-64 trailer is cut short");
				for (int i = 7; i >= 0; i--)
					want = (want << 8) | x[i];
				st->checksum_found = want != 0;
				if (want != 0 && l->o->checksum) {
					crc_to(l, at + 1);
					got = l->crc;
					if (got != want)
						return fail(l, at + 1,
							    "wrong RDB checksum: expected %016llx, "
							    "computed %016llx",
							    (unsigned long long)want,
							    (unsigned long long)got);
				}
			}
			return 0;
		default:
			if ((l->par ? par_record : load_pair)(l, st, at, t, dbi, has_exp, exp, idle,
							      freq) != 0)
				return -1;
			has_exp = false;
			idle = freq = -1;
			records++;
			if ((records & 1023) == 0)
				kvmap_quiescent();
			if (off(l) - l->crc_at >= CRC_STEP)
				crc_to(l, off(l));
			if (l->o->key_delay)
				key_delay(l->o->key_delay, &delayed);
			/* relaxed: a request to stop; the load's result is read
			 * by the thread that ran it */
			if (l->o->cancel &&
			    atomic_load_explicit(l->o->cancel, memory_order_relaxed))
				return cancelled(l);
			continue;
		}
	}
}

int rdb_load_mem(struct db *db, const void *p, size_t n, const struct rdb_load_opts *o,
		 struct rdb_load_stats *st, char *err, size_t errlen)
{
	struct loader l = {.base = p,
			   .p = p,
			   .end = (const unsigned char *)p + n,
			   .o = o,
			   .name = o->path ? o->path : "(memory)",
			   .db = db,
			   .err = err,
			   .errlen = errlen,
			   .map_keys = kvmap_count(db_map(db))};
	struct rdb_load_stats dummy;
	struct par pp = {.main = &l};
	int rc;

	if (st == NULL)
		st = &dummy;
	memset(st, 0, sizeof(*st));
	if (o->threads > 1 && n >= o->parallel_min) {
		/* threads - 1 workers: the walker decodes too (par_flush) */
		pp.nth = o->threads - 1 > PAR_MAX ? PAR_MAX : o->threads - 1;
		pthread_mutex_init(&pp.mu, NULL);
		pthread_cond_init(&pp.work, NULL);
		pdec_init(&pp.walker, &pp);
		for (int i = 0; i < pp.nth; i++) {
			if (pthread_create(&pp.th[i], NULL, par_main, &pp) != 0) {
				pp.nth = i;
				break;
			}
		}
		if (pp.nth > 0)
			l.par = &pp;
	}
	rc = load_body(&l, st);
	pipe_discard(&l); /* what a failed load left pending */
	if (l.par) {
		bool walker_failed = rc != 0;

		if (rc == 0)
			rc = par_flush(&pp, true); /* the rest, with the workers */
		else /* relaxed: see par.stop; the queued batches are moot */
			atomic_store_explicit(&pp.stop, 1, memory_order_relaxed);
		mem_free(pp.cur);
		pthread_mutex_lock(&pp.mu);
		pp.done = true;
		pthread_cond_broadcast(&pp.work);
		pthread_mutex_unlock(&pp.mu);
		kvmap_thread_offline(); /* joining: hold nothing */
		for (int i = 0; i < pp.nth; i++)
			pthread_join(pp.th[i], NULL);
		kvmap_thread_online();
		pdec_fini(&pp, &pp.walker);
		/* the error at the smallest offset: a batch's, or the walker's */
		if (pp.has_err && (!walker_failed || pp.err_at <= l.fail_at)) {
			snprintf(err, errlen, "%s", pp.err);
			rc = -1;
		}
		st->keys += pp.keys;
		st->expired += pp.expired;
		while (pp.head) {
			struct pbatch *b = pp.head;

			pp.head = b->next;
			mem_free(b);
		}
	}
	if (pp.nth > 0) {
		pthread_mutex_destroy(&pp.mu);
		pthread_cond_destroy(&pp.work);
	}
	rdb_buf_free(&l.key);
	rdb_buf_free(&l.aux);
	return rc;
}

bool rdb_peek_aux(const char *path, const char *key, char *out, size_t outlen)
{
	enum { HEAD = 64 * 1024 };
	unsigned char *p = mem_alloc(HEAD);
	struct rdb_buf k = {0}, v = {0};
	size_t klen = strlen(key), n = 0, at = 9;
	bool found = false;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		while (n < HEAD) {
			ssize_t r = read(fd, p + n, HEAD - n);

			if (r <= 0)
				break;
			n += (size_t)r;
		}
		close(fd);
	}
	/* "REDIS" and four version digits, then AUX records (0xFA key value) */
	if (n < at || memcmp(p, "REDIS", 5) != 0)
		n = 0;
	while (!found && at < n && p[at] == 0xFA) {
		size_t a = rdb_get_string(p + at + 1, n - at - 1, &k), b;

		if (a == 0 || (b = rdb_get_string(p + at + 1 + a, n - at - 1 - a, &v)) == 0)
			break;
		at += 1 + a + b;
		if (k.len == klen && memcmp(k.p, key, klen) == 0 && outlen > 0) {
			size_t m = v.len < outlen - 1 ? v.len : outlen - 1;

			memcpy(out, v.p, m);
			out[m] = '\0';
			found = true;
		}
	}
	rdb_buf_free(&k);
	rdb_buf_free(&v);
	mem_free(p);
	return found;
}

int rdb_load(struct db *db, const struct rdb_load_opts *o, struct rdb_load_stats *st, char *err,
	     size_t errlen)
{
	struct stat sb;
	void *m;
	int fd = open(o->path, O_RDONLY | O_CLOEXEC), rc;

	if (fd < 0) {
		if (errno == ENOENT)
			return -ENOENT;
		snprintf(err, errlen, "Can't open RDB file %s: %s", o->path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &sb) != 0) {
		snprintf(err, errlen, "Can't stat RDB file %s: %s", o->path, strerror(errno));
		close(fd);
		return -1;
	}
	if (sb.st_size == 0) {
		close(fd);
		return rdb_load_mem(db, "", 0, o, st, err, errlen);
	}
	m = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (m == MAP_FAILED) {
		snprintf(err, errlen, "Can't map RDB file %s: %s", o->path, strerror(errno));
		return -1;
	}
	(void)madvise(m, (size_t)sb.st_size, MADV_SEQUENTIAL);
	rc = rdb_load_mem(db, m, (size_t)sb.st_size, o, st, err, errlen);
	munmap(m, (size_t)sb.st_size);
	return rc;
}
