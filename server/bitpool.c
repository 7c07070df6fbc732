/*
 * bitpool.c — recycled bitmap buffers for SETBIT (see bitpool.h).
 *
 * Why a recycled buffer is safe to write: kv_entry_free() of a retired entry
 * runs only after its grace period (storage/kvmap.h, concurrency/ebr.h:
 * "fn(p) runs after every release by every thread that could have loaded
 * p"), so no reader holds the buffer when bitpool_recycle() receives it;
 * from then on the lineage's mutex hands it to exactly one writer, which
 * writes it before publishing it with db_put() (a release).
 *
 * Why the replayed buffer equals the current value: a buffer of version b
 * holds exactly version b's bytes (versions are immutable once published and
 * a buffer is written only while unpublished). Version v + 1 differs from v
 * by the one byte its SETBIT recorded as ring[v + 1], recorded by the
 * writer that published it, in the same storage section as its CAS — so
 * before v could be reclaimed, and before any buffer older than v + 1 could
 * come back. A writer uses the pool only when the version it read, s, is the
 * lineage's newest recorded one, and replays b+1..s only if every one of
 * those ring slots still holds that version (else it copies). Version
 * numbers are never reused: s + 1 is published at most once, by the CAS that
 * replaces version s.
 *
 * Lifetime: every buffer names its lineage and counts in lin->refs; the
 * lineage is freed with its last buffer. It dies (its pool is freed) when
 * its newest version comes back to the recycler: nothing replaced it by a
 * SETBIT, so the key holds something else now.
 */
#include "server/bitpool.h"
#include "concurrency/mem.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>

struct bp_delta {
	uint64_t seq;
	uint32_t byte;
	unsigned char val;
};

struct bitpool_lineage {
	struct bitpool_lineage *prev, *next; /* all lineages, under reg_mu */
	pthread_mutex_t mu;
	uint64_t builds, builds_seen; /* SETBITs on it; at the last bitpool_cron() */
	uint64_t latest;	      /* newest recorded version */
	size_t vlen;		      /* every version's length */
	size_t refs; /* buffers naming this lineage (pooled, published, being built) */
	int dead;
	size_t npool;
	char *pool[BITPOOL_MAX];
	struct bp_delta ring[BITPOOL_RING];
};

/* After the value bytes and their spare byte, 16-aligned. */
struct bp_trailer {
	struct bitpool_lineage *lin;
	uint64_t seq;
};

/* Every lineage, for bitpool_cron(). Lock order: reg_mu, then a lineage's mu. */
static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static struct bitpool_lineage reg = {.prev = &reg, .next = &reg};
/* Bytes in every pool: a budget check, approximate when racing (relaxed:
 * it orders nothing; a pool may overshoot by a few buffers). */
static _Atomic int64_t pooled_bytes;

static size_t trailer_off(size_t vlen)
{
	return (vlen + 1 + 15) & ~(size_t)15;
}

static struct bp_trailer *trailer(char *buf, size_t vlen)
{
	return (struct bp_trailer *)(void *)(buf + trailer_off(vlen));
}

static struct bitpool_lineage *lineage_new(void)
{
	struct bitpool_lineage *l = mem_calloc(1, sizeof(*l));

	pthread_mutex_init(&l->mu, NULL);
	pthread_mutex_lock(&reg_mu);
	l->next = reg.next;
	l->prev = &reg;
	reg.next->prev = l;
	reg.next = l;
	pthread_mutex_unlock(&reg_mu);
	return l;
}

/* With l->refs == 0 (no buffer names l: nothing else can reach it). */
static void lineage_free(struct bitpool_lineage *l)
{
	pthread_mutex_lock(&reg_mu);
	l->prev->next = l->next;
	l->next->prev = l->prev;
	pthread_mutex_unlock(&reg_mu);
	pthread_mutex_destroy(&l->mu);
	mem_free(l);
}

static size_t buf_bytes(size_t vlen)
{
	return trailer_off(vlen) + sizeof(struct bp_trailer);
}

static void pooled_add(int64_t n)
{
	/* relaxed: a budget estimate, it publishes nothing */
	atomic_fetch_add_explicit(&pooled_bytes, n, memory_order_relaxed);
}

/*
 * The recycler: buf (of a published version) is past its grace period.
 * Pooled if its lineage lives and it is recent enough, else freed.
 */
static void bitpool_recycle(char *buf, size_t vlen)
{
	struct bp_trailer *t = trailer(buf, vlen);
	struct bitpool_lineage *l = t->lin;
	char *drop[BITPOOL_MAX + 1];
	size_t ndrop = 0;
	int last;

	pthread_mutex_lock(&l->mu);
	if (t->seq == l->latest) /* its newest version went without a successor */
		l->dead = 1;
	if (l->dead) {
		pooled_add(-(int64_t)(l->npool * buf_bytes(vlen)));
		while (l->npool)
			drop[ndrop++] = l->pool[--l->npool];
		drop[ndrop++] = buf;
	} else if (l->latest - t->seq >= BITPOOL_RING) {
		drop[ndrop++] = buf; /* too old to catch up */
	} else if (l->npool < BITPOOL_MAX &&
		   /* relaxed: see pooled_bytes */
		   atomic_load_explicit(&pooled_bytes, memory_order_relaxed) +
			   (int64_t)buf_bytes(vlen) <=
		       BITPOOL_BUDGET) {
		l->pool[l->npool++] = buf;
		pooled_add((int64_t)buf_bytes(vlen));
	} else if (l->npool == 0) {
		drop[ndrop++] = buf;
	} else {
		/* full: keep the newer of buf and the oldest pooled buffer */
		size_t oldest = 0;
		for (size_t i = 1; i < l->npool; i++)
			if (trailer(l->pool[i], vlen)->seq < trailer(l->pool[oldest], vlen)->seq)
				oldest = i;
		if (trailer(l->pool[oldest], vlen)->seq < t->seq) {
			drop[ndrop++] = l->pool[oldest];
			l->pool[oldest] = buf;
		} else {
			drop[ndrop++] = buf;
		}
	}
	l->refs -= ndrop;
	last = l->refs == 0;
	pthread_mutex_unlock(&l->mu);
	for (size_t i = 0; i < ndrop; i++)
		mem_free(drop[i]);
	if (last)
		lineage_free(l);
}

void bitpool_setup(void)
{
	kv_entry_set_recycler(bitpool_recycle);
}

/*
 * Frees the pools of lineages no SETBIT used since the last call, so an
 * idle bitmap costs its own bytes only. A live lineage keeps refs >= 1 (its
 * newest version, live or still in its grace period) and a dead one has an
 * empty pool, so no lineage is freed here.
 */
void bitpool_cron(void)
{
	pthread_mutex_lock(&reg_mu);
	for (struct bitpool_lineage *l = reg.next; l != &reg; l = l->next) {
		char *drop[BITPOOL_MAX];
		size_t n = 0, vlen = 0;

		pthread_mutex_lock(&l->mu);
		if (l->builds == l->builds_seen && l->npool) {
			vlen = l->vlen;
			while (l->npool)
				drop[n++] = l->pool[--l->npool];
			l->refs -= n;
		}
		l->builds_seen = l->builds;
		pthread_mutex_unlock(&l->mu);
		if (n)
			pooled_add(-(int64_t)(n * buf_bytes(vlen)));
		for (size_t i = 0; i < n; i++)
			mem_free(drop[i]);
	}
	pthread_mutex_unlock(&reg_mu);
}

/* Takes the newest usable pooled buffer of l for a value at version s and
 * copies the changes it lacks into d; NULL if none. Under l->mu. */
static char *take(struct bitpool_lineage *l, size_t vlen, uint64_t s, struct bp_delta *d,
		  size_t *nd)
{
	size_t best = BITPOOL_MAX;
	uint64_t bseq = 0;

	for (size_t i = 0; i < l->npool; i++) {
		uint64_t q = trailer(l->pool[i], vlen)->seq;

		if (q <= s && s - q < BITPOOL_RING && (best == BITPOOL_MAX || q > bseq)) {
			best = i;
			bseq = q;
		}
	}
	if (best == BITPOOL_MAX)
		return NULL;
	*nd = 0;
	for (uint64_t x = bseq + 1; x <= s; x++) {
		const struct bp_delta *r = &l->ring[x % BITPOOL_RING];

		if (r->seq != x)
			return NULL; /* not recorded (yet): copy instead */
		d[(*nd)++] = *r;
	}
	char *b = l->pool[best];
	l->pool[best] = l->pool[--l->npool];
	pooled_add(-(int64_t)buf_bytes(vlen));
	return b;
}

struct kv_entry *bitpool_build(const char *key, size_t klen, const struct kv_entry *old,
			       size_t byte, unsigned char val, struct bitpool_tx *tx)
{
	struct bp_delta d[BITPOOL_RING];
	size_t vlen = old->vlen, nd = 0;
	const char *ov = kv_entry_val(old);
	struct bitpool_lineage *l = NULL;
	uint64_t s = 0;
	char *b = NULL;

	if (kv_entry_recycles(old)) {
		struct bp_trailer *t = trailer((char *)(uintptr_t)ov, vlen);
		struct bitpool_lineage *ol = t->lin;

		pthread_mutex_lock(&ol->mu);
		/* A writer records its version just after its CAS: when old is that
		 * version, wait a moment for the record rather than copy. */
		for (int spin = 0; spin < 100 && !ol->dead && ol->latest < t->seq; spin++) {
			pthread_mutex_unlock(&ol->mu);
			sched_yield();
			pthread_mutex_lock(&ol->mu);
		}
		if (!ol->dead) { /* dead: old is not current any more, its CAS will fail */
			l = ol;
			s = t->seq;
			l->builds++;
			if (l->latest == s)
				b = take(l, vlen, s, d, &nd);
			if (!b)
				l->refs++; /* the buffer allocated below */
		}
		pthread_mutex_unlock(&ol->mu);
	}
	if (!l) { /* a new lineage: old came from elsewhere */
		l = lineage_new();
		pthread_mutex_lock(&l->mu);
		l->refs = 1;
		l->vlen = vlen;
		pthread_mutex_unlock(&l->mu);
		s = 0;
	}
	if (b) {
		for (size_t i = 0; i < nd; i++)
			b[d[i].byte] = (char)d[i].val;
	} else {
		b = mem_alloc(trailer_off(vlen) + sizeof(struct bp_trailer));
		memcpy(b, ov, vlen);
		b[vlen] = '\0';
		trailer(b, vlen)->lin = l;
	}
	b[byte] = (char)val;
	trailer(b, vlen)->seq = s + 1;
	struct kv_entry *e = kv_entry_new_adopt(key, klen, b, vlen, kv_entry_expire(old));
	kv_entry_set_recycle(e);
	e->enc = KV_ENC_RAW; /* as every SETBIT result in Redis */
	*tx = (struct bitpool_tx){.lin = l,
				  .buf = b,
				  .seq = s + 1,
				  .byte = byte,
				  .val = val,
				  .oldval = (unsigned char)ov[byte]};
	return e;
}

void bitpool_published(struct bitpool_tx *tx)
{
	struct bitpool_lineage *l = tx->lin;

	pthread_mutex_lock(&l->mu);
	l->ring[tx->seq % BITPOOL_RING] =
	    (struct bp_delta){.seq = tx->seq, .byte = (uint32_t)tx->byte, .val = tx->val};
	if (tx->seq > l->latest)
		l->latest = tx->seq;
	pthread_mutex_unlock(&l->mu);
}

void bitpool_abort(struct kv_entry *e, struct bitpool_tx *tx)
{
	struct bitpool_lineage *l = tx->lin;
	size_t vlen = e->vlen;
	uint64_t v = tx->seq - 1; /* the version it was built from */
	int keep, last;

	kv_entry_free_shell(e);
	/* Never published, so no reader has seen it: put the byte back and it
	 * is version v again (version 0, a value from outside the lineage, is
	 * not kept). */
	tx->buf[tx->byte] = (char)tx->oldval;
	trailer(tx->buf, vlen)->seq = v;
	pthread_mutex_lock(&l->mu);
	keep = v > 0 && !l->dead && l->npool < BITPOOL_MAX && l->latest - v < BITPOOL_RING;
	if (keep) {
		l->pool[l->npool++] = tx->buf;
		pooled_add((int64_t)buf_bytes(vlen));
	} else {
		l->refs--;
	}
	last = l->refs == 0;
	pthread_mutex_unlock(&l->mu);
	if (!keep)
		mem_free(tx->buf);
	if (last)
		lineage_free(l);
}
