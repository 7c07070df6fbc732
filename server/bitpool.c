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
#include <string.h>

struct bp_delta {
	uint64_t seq;
	uint32_t byte;
	unsigned char val;
};

struct bitpool_lineage {
	pthread_mutex_t mu;
	uint64_t latest; /* newest recorded version */
	size_t refs;	 /* buffers naming this lineage (pooled, published, being built) */
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

static size_t trailer_off(size_t vlen)
{
	return (vlen + 1 + 15) & ~(size_t)15;
}

static struct bp_trailer *trailer(char *buf, size_t vlen)
{
	return (struct bp_trailer *)(void *)(buf + trailer_off(vlen));
}

static void lineage_free(struct bitpool_lineage *l)
{
	pthread_mutex_destroy(&l->mu);
	mem_free(l);
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
		while (l->npool)
			drop[ndrop++] = l->pool[--l->npool];
		drop[ndrop++] = buf;
	} else if (l->latest - t->seq >= BITPOOL_RING) {
		drop[ndrop++] = buf; /* too old to catch up */
	} else if (l->npool < BITPOOL_MAX) {
		l->pool[l->npool++] = buf;
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

/* Takes the newest usable pooled buffer of l for a value at version s and
 * copies the changes it lacks into d; NULL if none. Under l->mu. */
static char *take(struct bitpool_lineage *l, size_t vlen, uint64_t s, struct bp_delta *d,
		  size_t *nd)
{
	size_t best = BITPOOL_MAX;
	uint64_t bseq = 0;

	for (size_t i = 0; i < l->npool; i++) {
		uint64_t q = trailer(l->pool[i], vlen)->seq;

		if (q < s && s - q < BITPOOL_RING && (best == BITPOOL_MAX || q > bseq)) {
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

	if (old->recycle) {
		struct bp_trailer *t = trailer((char *)(uintptr_t)ov, vlen);
		struct bitpool_lineage *ol = t->lin;

		pthread_mutex_lock(&ol->mu);
		if (!ol->dead) { /* dead: old is not current any more, its CAS will fail */
			l = ol;
			s = t->seq;
			if (l->latest == s)
				b = take(l, vlen, s, d, &nd);
			if (!b)
				l->refs++; /* the buffer allocated below */
		}
		pthread_mutex_unlock(&ol->mu);
	}
	if (!l) { /* a new lineage: old came from elsewhere */
		l = mem_calloc(1, sizeof(*l));
		pthread_mutex_init(&l->mu, NULL);
		l->refs = 1;
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
	struct kv_entry *e = kv_entry_new_adopt(key, klen, b, vlen, old->expire_ms);
	e->recycle = 1;
	*tx = (struct bitpool_tx){.lin = l, .buf = b, .seq = s + 1, .byte = byte, .val = val};
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
	int last;

	kv_entry_free_shell(e);
	mem_free(tx->buf);
	pthread_mutex_lock(&l->mu);
	last = --l->refs == 0;
	pthread_mutex_unlock(&l->mu);
	if (last)
		lineage_free(l);
}
