/*
 * tracking.c — client-side caching (tracking.h explains the model, the
 * ordering argument and the lock order).
 *
 * The command texts, errors and reply shapes follow Redis 7.0.15's
 * networking.c (clientCommand) and tracking.c;
 * tests/integration/py/test_diff_tracking.py compares both servers.
 */
#include "server/tracking.h"
#include "concurrency/mem.h"
#include "concurrency/wctx.h"
#include "net/conn.h"
#include "net/reply.h"
#include "net/resp.h"
#include "server/cmd.h"
#include "server/cmd_docs.h"
#include "server/config.h"
#include "server/keyspec.h"
#include "server/notify.h"
#include "server/pubsub.h"
#include "server/session.h"
#include "storage/siphash.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define TRK_SHARDS   64
#define REG_BUCKETS  64 /* per client shard */
#define EVICT_EFFORT 100

/* trk_client.flags (Redis's CLIENT_TRACKING_* bits) */
#define TF_ON	  0x01
#define TF_BCAST  0x02
#define TF_OPTIN  0x04
#define TF_OPTOUT 0x08
#define TF_NOLOOP 0x10
#define TF_BROKEN 0x20

enum { TM_INVALIDATE, TM_BROKEN };

/* A queued message: its payload is formatted already (the key array, the
 * flush's null in the tracking client's protocol, or BROKEN's ":id"); the
 * receiver's runner adds the header its protocol needs. */
struct trk_msg {
	struct trk_msg *next;
	int kind;
	bool redirected;
	size_t len;
	char p[];
};

struct trk_client {
	struct trk_client *next; /* registry chain: under its shard lock */
	struct conn *c;
	uint64_t id;
	/* TF_*: written by the runner (CLIENT TRACKING, close) and, TF_BROKEN
	 * only, by senders; read by senders. Relaxed: senders reach a client
	 * through a table or prefix record, and the runner stores the flags
	 * before it takes that record's lock to register (the lock orders them) */
	_Atomic unsigned flags;
	/* the REDIRECT id (0: none): as flags */
	_Atomic uint64_t redir;
	/* the mailbox, under mu */
	pthread_mutex_t mu;
	struct trk_msg *qh, *qt;
	/* runner only */
	bool caching;	/* CLIENT CACHING given for the next command */
	unsigned shown; /* the flags last mirrored to CLIENT LIST */
	char **pfx;	/* this client's BCAST prefixes, sorted */
	size_t *pfxlen, npfx;
};

/* ------------------------------------------------------------ state */

struct reg_shard {
	pthread_mutex_t mu;
	struct trk_client *b[REG_BUCKETS];
} __attribute__((aligned(64)));

struct trk_key {
	struct trk_key *next; /* bucket chain */
	uint64_t h;
	uint64_t *ids;
	size_t nids, capids;
	size_t klen;
	char key[];
};

struct tbl_shard {
	pthread_mutex_t mu;
	struct trk_key **b; /* nb buckets, grown past one key per bucket */
	size_t nb, n;
} __attribute__((aligned(64)));

struct trk_pfx {
	char *p;
	size_t len;
	uint64_t *ids;
	size_t nids, cap;
};

static struct reg_shard reg[TRK_SHARDS];
static struct tbl_shard tbl[TRK_SHARDS];
static pthread_rwlock_t pfx_lock = PTHREAD_RWLOCK_INITIALIZER;
static struct trk_pfx **pfxs; /* under pfx_lock */
static size_t npfx_v, cap_pfx;
static const uint8_t hash_key[16] = {0x74, 0x72, 0x61, 0x63, 0x6b, 0x69, 0x6e, 0x67,
				     0x9e, 0x37, 0x79, 0xb9, 0x7f, 0x4a, 0x7c, 0x15};

_Atomic bool trk_used_g;
/* Statistics (INFO): nkeys / nitems changed under the table shard lock of
 * what they count, nprefixes under pfx_lock, nclients by each client's
 * runner; read anywhere. Relaxed: counts that publish nothing — but for
 * nprefixes' use as broadcast()'s fast path, which a seq_cst fence on each
 * side orders (see broadcast and pfx_add). */
static _Atomic long nclients, nkeys, nitems, nprefixes;
/* trackingLimitUsedSlots' effort multiplier (runs without success) and
 * the shard eviction starts from. Relaxed: heuristics only. */
static _Atomic unsigned evict_fails, evict_cursor;

void trk_setup(void)
{
	for (int i = 0; i < TRK_SHARDS; i++) {
		pthread_mutex_init(&reg[i].mu, NULL);
		pthread_mutex_init(&tbl[i].mu, NULL);
	}
}

static void key_free(struct trk_key *k)
{
	mem_free(k->ids);
	mem_free(k);
}

void trk_teardown(void)
{
	for (int i = 0; i < TRK_SHARDS; i++) {
		struct tbl_shard *t = &tbl[i];

		for (size_t b = 0; b < t->nb; b++)
			while (t->b[b]) {
				struct trk_key *k = t->b[b];

				t->b[b] = k->next;
				key_free(k);
			}
		mem_free(t->b);
		t->b = NULL;
		t->nb = t->n = 0;
		pthread_mutex_destroy(&reg[i].mu);
		pthread_mutex_destroy(&tbl[i].mu);
	}
	/* every client closed: every prefix went with its last client */
	mem_free(pfxs);
	pfxs = NULL;
	npfx_v = cap_pfx = 0;
}

long trk_nclients(void)
{
	return atomic_load_explicit(&nclients, memory_order_relaxed);
}

long trk_nkeys(void)
{
	return atomic_load_explicit(&nkeys, memory_order_relaxed);
}

long trk_nitems(void)
{
	return atomic_load_explicit(&nitems, memory_order_relaxed);
}

long trk_nprefixes(void)
{
	return atomic_load_explicit(&nprefixes, memory_order_relaxed);
}

static unsigned flags_of(const struct trk_client *t)
{
	/* relaxed: see trk_client.flags */
	return atomic_load_explicit(&t->flags, memory_order_relaxed);
}

static void flags_set(struct trk_client *t, unsigned f)
{
	/* relaxed: see trk_client.flags */
	atomic_store_explicit(&t->flags, f, memory_order_relaxed);
}

/* ------------------------------------------------------------ clients */

static struct reg_shard *reg_of(uint64_t id)
{
	return &reg[id % TRK_SHARDS];
}

static struct trk_client **reg_slot(struct reg_shard *sh, uint64_t id)
{
	struct trk_client **pp = &sh->b[(id / TRK_SHARDS) % REG_BUCKETS];

	while (*pp && (*pp)->id != id)
		pp = &(*pp)->next;
	return pp;
}

void trk_conn_init(struct conn *c, struct session *s)
{
	struct trk_client *t = mem_calloc(1, sizeof(*t));
	struct reg_shard *sh;

	t->c = c;
	t->id = conn_id(c);
	pthread_mutex_init(&t->mu, NULL);
	s->trk = t;
	sh = reg_of(t->id);
	pthread_mutex_lock(&sh->mu);
	*reg_slot(sh, t->id) = t;
	pthread_mutex_unlock(&sh->mu);
}

/* Mailbox: called holding the client shard lock t is linked under (so t and
 * its connection are alive). */
static void enqueue(struct trk_client *t, int kind, bool redirected, const char *p, size_t len)
{
	struct trk_msg *m = mem_alloc(sizeof(*m) + len);

	m->next = NULL;
	m->kind = kind;
	m->redirected = redirected;
	m->len = len;
	memcpy(m->p, p, len);
	pthread_mutex_lock(&t->mu);
	if (t->qt)
		t->qt->next = m;
	else
		t->qh = m;
	t->qt = m;
	pthread_mutex_unlock(&t->mu);
	/* the runner empties the mailbox (trk_deliver) when it runs */
	conn_wake(t->c);
}

/* Redis's sendTrackingMessage, for the client with id `id`. keys: the
 * payload (an array of keys), or NULL for a flush (a null in the tracking
 * client's protocol). mode: 0 key tracking, 1 BCAST, 2 flush — which
 * clients take it (Redis's checks in each caller). */
static void send_to(uint64_t id, uint64_t writer, int mode, const char *keys, size_t klen)
{
	struct reg_shard *sh = reg_of(id);
	struct trk_client *t, *r;
	unsigned f;
	uint64_t redir;
	char nbuf[8];

	pthread_mutex_lock(&sh->mu);
	t = *reg_slot(sh, id);
	f = t ? flags_of(t) : 0;
	if (t == NULL || !(f & TF_ON) || (mode == 0 && (f & TF_BCAST)) ||
	    (mode != 2 && (f & TF_NOLOOP) && id == writer)) {
		pthread_mutex_unlock(&sh->mu);
		return;
	}
	if (keys == NULL) {
		bool r3 = conn_resp(t->c) >= 3;

		memcpy(nbuf, r3 ? "_\r\n" : "$-1\r\n", r3 ? 3 : 5);
		keys = nbuf;
		klen = r3 ? 3 : 5;
	}
	/* relaxed: see trk_client.redir */
	redir = atomic_load_explicit(&t->redir, memory_order_relaxed);
	if (redir == 0) {
		enqueue(t, TM_INVALIDATE, false, keys, klen);
		pthread_mutex_unlock(&sh->mu);
		return;
	}
	pthread_mutex_unlock(&sh->mu);
	sh = reg_of(redir);
	pthread_mutex_lock(&sh->mu);
	r = *reg_slot(sh, redir);
	if (r)
		enqueue(r, TM_INVALIDATE, true, keys, klen);
	pthread_mutex_unlock(&sh->mu);
	if (r)
		return;
	/* the redirect client is gone: tell the tracking client (RESP3) */
	sh = reg_of(id);
	pthread_mutex_lock(&sh->mu);
	t = *reg_slot(sh, id);
	if (t) {
		char b[32];
		int n = snprintf(b, sizeof(b), ":%llu\r\n", (unsigned long long)redir);
		/* relaxed: see trk_client.flags */
		unsigned old = atomic_fetch_or_explicit(&t->flags, TF_BROKEN, memory_order_relaxed);

		if (conn_resp(t->c) >= 3 || !(old & TF_BROKEN))
			enqueue(t, TM_BROKEN, false, b, (size_t)n); /* dropped in RESP2 */
	}
	pthread_mutex_unlock(&sh->mu);
}

/* ------------------------------------------------------------ the table */

static uint64_t key_hash(const char *p, size_t len)
{
	return siphash_1_2(hash_key, p, len);
}

static struct tbl_shard *tbl_of(uint64_t h)
{
	return &tbl[h % TRK_SHARDS];
}

/* Shard lock held. */
static struct trk_key **key_slot(struct tbl_shard *t, const char *p, size_t len, uint64_t h)
{
	struct trk_key **pp = &t->b[(h / TRK_SHARDS) & (t->nb - 1)];

	while (*pp && !((*pp)->h == h && (*pp)->klen == len && memcmp((*pp)->key, p, len) == 0))
		pp = &(*pp)->next;
	return pp;
}

/* Shard lock held: doubles the buckets. */
static void tbl_grow(struct tbl_shard *t)
{
	size_t nb = t->nb ? 2 * t->nb : 16;
	struct trk_key **b = mem_calloc(nb, sizeof(*b));

	for (size_t i = 0; i < t->nb; i++)
		while (t->b[i]) {
			struct trk_key *k = t->b[i];
			size_t j = (k->h / TRK_SHARDS) & (nb - 1);

			t->b[i] = k->next;
			k->next = b[j];
			b[j] = k;
		}
	mem_free(t->b);
	t->b = b;
	t->nb = nb;
}

/* Redis's trackingRememberKeys, for one key. A key read by n clients costs
 * O(n) per registration (the ids are a plain array; Redis's a rax). */
static void remember(uint64_t id, const char *p, size_t len)
{
	uint64_t h = key_hash(p, len);
	struct tbl_shard *t = tbl_of(h);
	struct trk_key **pp, *k;
	size_t i;

	pthread_mutex_lock(&t->mu);
	if (t->n >= t->nb)
		tbl_grow(t);
	pp = key_slot(t, p, len, h);
	k = *pp;
	if (k == NULL) {
		k = mem_calloc(1, sizeof(*k) + len);
		k->h = h;
		k->klen = len;
		memcpy(k->key, p, len);
		*pp = k;
		t->n++;
		/* relaxed: see nkeys */
		atomic_fetch_add_explicit(&nkeys, 1, memory_order_relaxed);
	}
	for (i = 0; i < k->nids && k->ids[i] != id; i++)
		;
	if (i == k->nids) {
		if (k->nids == k->capids) {
			k->capids = k->capids ? 2 * k->capids : 2;
			k->ids = mem_realloc(k->ids, k->capids * sizeof(*k->ids));
		}
		k->ids[k->nids++] = id;
		/* relaxed: see nitems */
		atomic_fetch_add_explicit(&nitems, 1, memory_order_relaxed);
	}
	pthread_mutex_unlock(&t->mu);
}

/* Shard lock held: unlinks *pp and updates the counts. */
static struct trk_key *detach(struct tbl_shard *t, struct trk_key **pp)
{
	struct trk_key *k = *pp;

	*pp = k->next;
	t->n--;
	/* relaxed: see nkeys */
	atomic_fetch_sub_explicit(&nkeys, 1, memory_order_relaxed);
	atomic_fetch_sub_explicit(&nitems, (long)k->nids, memory_order_relaxed);
	return k;
}

/* "*1\r\n$<len>\r\n<key>\r\n" into a buffer of at least len + 32 bytes. */
static size_t one_key(char *out, const char *p, size_t len)
{
	int n = sprintf(out, "*1\r\n$%zu\r\n", len);

	memcpy(out + n, p, len);
	memcpy(out + n + len, "\r\n", 2);
	return (size_t)n + len + 2;
}

/* Sends k's invalidation to the clients that read it, and frees k. */
static void announce(struct trk_key *k, uint64_t writer)
{
	char small[256], *buf = k->klen + 32 <= sizeof(small) ? small : mem_alloc(k->klen + 32);
	size_t n = one_key(buf, k->key, k->klen);

	for (size_t i = 0; i < k->nids; i++)
		send_to(k->ids[i], writer, 0, buf, n);
	if (buf != small)
		mem_free(buf);
	key_free(k);
}

/* Redis's trackingInvalidateKey (the tracking table part). */
static void invalidate_key(uint64_t writer, const char *p, size_t len)
{
	uint64_t h = key_hash(p, len);
	struct tbl_shard *t = tbl_of(h);
	struct trk_key **pp, *k = NULL;

	pthread_mutex_lock(&t->mu);
	if (t->nb) {
		pp = key_slot(t, p, len, h);
		if (*pp)
			k = detach(t, pp);
	}
	pthread_mutex_unlock(&t->mu);
	if (k)
		announce(k, writer);
}

/* Redis's trackingLimitUsedSlots: past tracking-table-max-keys, invalidates
 * keys (an effort that grows while it does not get under the limit). */
static void limit_keys(uint64_t writer)
{
	/* relaxed: see trk_max_keys_g, evict_fails */
	long long max = atomic_load_explicit(&trk_max_keys_g, memory_order_relaxed);
	unsigned fails = atomic_load_explicit(&evict_fails, memory_order_relaxed);
	long effort = EVICT_EFFORT * (long)(fails + 1);

	if (max == 0 || trk_nkeys() <= max) {
		if (fails)
			atomic_store_explicit(&evict_fails, 0, memory_order_relaxed);
		return;
	}
	while (effort-- > 0) {
		unsigned s = atomic_fetch_add_explicit(&evict_cursor, 1, memory_order_relaxed);
		struct tbl_shard *t = &tbl[s % TRK_SHARDS];
		struct trk_key *k = NULL;

		pthread_mutex_lock(&t->mu);
		for (size_t b = 0; t->n && b < t->nb; b++) {
			size_t j = (b + s / TRK_SHARDS) & (t->nb - 1);

			if (t->b[j]) {
				k = detach(t, &t->b[j]);
				break;
			}
		}
		pthread_mutex_unlock(&t->mu);
		if (k)
			announce(k, writer);
		if (trk_nkeys() <= max) {
			atomic_store_explicit(&evict_fails, 0, memory_order_relaxed);
			return;
		}
	}
	atomic_fetch_add_explicit(&evict_fails, 1, memory_order_relaxed);
}

/* ------------------------------------------------------------ BCAST */

static bool has_prefix(const char *key, size_t klen, const struct trk_pfx *p)
{
	return klen >= p->len && memcmp(key, p->p, p->len) == 0;
}

/* Redis's trackingRememberKeyToBroadcast + trackingBroadcastInvalidationMessages
 * for one command's keys: per prefix, one message with the keys it covers. */
static void broadcast(uint64_t writer, const char *const *keys, const size_t *lens, size_t n)
{
	/* seq_cst fence: orders the write's commit before the load of
	 * nprefixes; pairs with the fence after pfx_add's increment, so either
	 * this load sees the prefix, or the BCAST client's later reads see the
	 * write (store buffering: both sides fence). Relaxed load: the count is
	 * only the fast path; the prefixes themselves are read under pfx_lock */
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load_explicit(&nprefixes, memory_order_relaxed) == 0)
		return;
	pthread_rwlock_rdlock(&pfx_lock);
	for (size_t i = 0; i < npfx_v; i++) {
		struct trk_pfx *p = pfxs[i];
		size_t cnt = 0, cap = 16, len;
		char *buf;

		for (size_t j = 0; j < n; j++)
			if (has_prefix(keys[j], lens[j], p)) {
				cnt++;
				cap += lens[j] + 24;
			}
		if (cnt == 0)
			continue;
		buf = mem_alloc(cap);
		len = (size_t)sprintf(buf, "*%zu\r\n", cnt);
		for (size_t j = 0; j < n; j++)
			if (has_prefix(keys[j], lens[j], p)) {
				len += (size_t)sprintf(buf + len, "$%zu\r\n", lens[j]);
				memcpy(buf + len, keys[j], lens[j]);
				memcpy(buf + len + lens[j], "\r\n", 2);
				len += lens[j] + 2;
			}
		for (size_t c = 0; c < p->nids; c++)
			send_to(p->ids[c], writer, 1, buf, len);
		mem_free(buf);
	}
	pthread_rwlock_unlock(&pfx_lock);
}

static int cmp_bytes(const char *a, size_t al, const char *b, size_t bl)
{
	int c = memcmp(a, b, al < bl ? al : bl);

	return c ? c : (al > bl) - (al < bl);
}

/* Redis's enableBcastTrackingForPrefix. Runner. */
static void pfx_add(struct trk_client *t, const char *p, size_t len)
{
	struct trk_pfx *x = NULL;
	size_t at;

	for (at = 0; at < t->npfx; at++) {
		int c = cmp_bytes(t->pfx[at], t->pfxlen[at], p, len);

		if (c == 0)
			return; /* registered already */
		if (c > 0)
			break;
	}
	t->pfx = mem_realloc(t->pfx, (t->npfx + 1) * sizeof(*t->pfx));
	t->pfxlen = mem_realloc(t->pfxlen, (t->npfx + 1) * sizeof(*t->pfxlen));
	memmove(&t->pfx[at + 1], &t->pfx[at], (t->npfx - at) * sizeof(*t->pfx));
	memmove(&t->pfxlen[at + 1], &t->pfxlen[at], (t->npfx - at) * sizeof(*t->pfxlen));
	t->pfx[at] = mem_strndup(p, len);
	t->pfxlen[at] = len;
	t->npfx++;
	pthread_rwlock_wrlock(&pfx_lock);
	for (size_t i = 0; i < npfx_v; i++)
		if (pfxs[i]->len == len && memcmp(pfxs[i]->p, p, len) == 0) {
			x = pfxs[i];
			break;
		}
	if (x == NULL) {
		if (npfx_v == cap_pfx) {
			cap_pfx = cap_pfx ? 2 * cap_pfx : 8;
			pfxs = mem_realloc(pfxs, cap_pfx * sizeof(*pfxs));
		}
		x = mem_calloc(1, sizeof(*x));
		x->p = mem_strndup(p, len);
		x->len = len;
		pfxs[npfx_v++] = x;
		/* relaxed: see nprefixes */
		atomic_fetch_add_explicit(&nprefixes, 1, memory_order_relaxed);
	}
	if (x->nids == x->cap) {
		x->cap = x->cap ? 2 * x->cap : 4;
		x->ids = mem_realloc(x->ids, x->cap * sizeof(*x->ids));
	}
	x->ids[x->nids++] = t->id;
	pthread_rwlock_unlock(&pfx_lock);
	/* seq_cst: pairs with the fence in broadcast() */
	atomic_thread_fence(memory_order_seq_cst);
}

/* Drops every BCAST prefix of t (disableTracking). Runner / closing thread. */
static void pfx_clear(struct trk_client *t)
{
	if (t->npfx == 0)
		return;
	pthread_rwlock_wrlock(&pfx_lock);
	for (size_t k = 0; k < t->npfx; k++)
		for (size_t i = 0; i < npfx_v; i++) {
			struct trk_pfx *x = pfxs[i];

			if (x->len != t->pfxlen[k] || memcmp(x->p, t->pfx[k], x->len) != 0)
				continue;
			for (size_t j = 0; j < x->nids; j++)
				if (x->ids[j] == t->id) {
					x->ids[j] = x->ids[--x->nids];
					break;
				}
			if (x->nids == 0) {
				pfxs[i] = pfxs[--npfx_v];
				mem_free(x->p);
				mem_free(x->ids);
				mem_free(x);
				/* relaxed: see nprefixes */
				atomic_fetch_sub_explicit(&nprefixes, 1, memory_order_relaxed);
			}
			break;
		}
	pthread_rwlock_unlock(&pfx_lock);
	for (size_t k = 0; k < t->npfx; k++)
		mem_free(t->pfx[k]);
	mem_free(t->pfx);
	mem_free(t->pfxlen);
	t->pfx = NULL;
	t->pfxlen = NULL;
	t->npfx = 0;
}

/* ------------------------------------------------------------ invalidation */

void trk_invalidate(uint64_t writer, const char *const *keys, const size_t *lens, size_t n)
{
	for (size_t i = 0; i < n; i++)
		invalidate_key(writer, keys[i], lens[i]);
	broadcast(writer, keys, lens, n);
}

/* Redis's trackingInvalidateKeysOnFlush: the table is emptied first, then
 * every tracking client told: a read registered after the flush committed
 * either stays (registered after the emptying) or is covered by the null. */
void trk_flush(void)
{
	uint64_t *ids = NULL;
	size_t n = 0, cap = 0;

	for (int i = 0; i < TRK_SHARDS; i++) {
		struct tbl_shard *t = &tbl[i];
		struct trk_key *drop = NULL;

		pthread_mutex_lock(&t->mu);
		for (size_t b = 0; b < t->nb; b++)
			while (t->b[b]) {
				struct trk_key *k = detach(t, &t->b[b]);

				k->next = drop;
				drop = k;
			}
		pthread_mutex_unlock(&t->mu);
		while (drop) {
			struct trk_key *k = drop;

			drop = k->next;
			key_free(k);
		}
	}
	/* a client that registered a read before the emptying is seen ON here:
	 * its flags store precedes that registration, which the shard lock
	 * ordered before the emptying (no count shortcut: it would race) */
	for (int i = 0; i < TRK_SHARDS; i++) {
		struct reg_shard *sh = &reg[i];

		pthread_mutex_lock(&sh->mu);
		for (int b = 0; b < REG_BUCKETS; b++)
			for (struct trk_client *t = sh->b[b]; t; t = t->next) {
				if (!(flags_of(t) & TF_ON))
					continue;
				if (n == cap) {
					cap = cap ? 2 * cap : 16;
					ids = mem_realloc(ids, cap * sizeof(*ids));
				}
				ids[n++] = t->id;
			}
		pthread_mutex_unlock(&sh->mu);
	}
	for (size_t i = 0; i < n; i++)
		send_to(ids[i], 0, 2, NULL, 0);
	mem_free(ids);
}

static bool is_flush(const struct cmd_def *d)
{
	return strcmp(d->name, "flushall") == 0 || strcmp(d->name, "flushdb") == 0;
}

static bool is_ro_script(const struct cmd_def *d)
{
	return strcmp(d->name, "eval_ro") == 0 || strcmp(d->name, "evalsha_ro") == 0 ||
	       strcmp(d->name, "fcall_ro") == 0;
}

/* r's keys into *out (small, or a heap array the caller frees when it is
 * not small); -1 if the specs give none. */
static int keys_of(const struct cmd_req *r, const struct cmd_def *d, struct keyspec_key *small,
		   int nsmall, struct keyspec_key **out)
{
	const struct cmd_doc *doc = cmd_docs_find(d->name);
	int cap;

	*out = small;
	if (doc == NULL || !keyspec_has_keys(doc))
		return -1;
	cap = r->argc * (doc->nkeyspecs + 1);
	if (cap > nsmall)
		*out = mem_alloc((size_t)cap * sizeof(**out));
	return keyspec_find(doc, r->argc, (const char *const *)r->argv, r->argl, *out, cap);
}

/* Whether t remembers what it reads now (Redis's call() and
 * trackingRememberKeys' OPTIN / OPTOUT test). */
static bool tracks_reads(const struct trk_client *t, const struct cmd_def *d)
{
	unsigned f;

	if (t == NULL || !(d->flags & CMD_READONLY) || is_ro_script(d))
		return false;
	f = flags_of(t);
	if (!(f & TF_ON) || (f & TF_BCAST))
		return false;
	return !(((f & TF_OPTIN) && !t->caching) || ((f & TF_OPTOUT) && t->caching));
}

void trk_before_read(struct cmd_req *r, const struct cmd_def *d)
{
	struct trk_client *t = session_of(r->c)->trk;
	struct keyspec_key small[64], *keys;
	int n;

	/* before the handler reads: see tracking.h, Model */
	if (!tracks_reads(t, d))
		return;
	n = keys_of(r, d, small, 64, &keys);
	for (int i = 0; i < n; i++)
		remember(t->id, r->argv[keys[i].pos], r->argl[keys[i].pos]);
	if (keys != small)
		mem_free(keys);
	if (n > 0)
		limit_keys(t->id);
}

void trk_written(struct cmd_req *r, const struct cmd_def *d, uint64_t writes0, size_t mark)
{
	struct keyspec_key small[64], *keys;
	int n;

	if (is_flush(d)) {
		/* Redis signals a flush even of an empty database */
		if (!cmd_reply_failed(r->c, mark))
			ntf_track(r->ctx, NULL, 0);
		return;
	}
	if (r->ctx->db_writes == writes0)
		return;
	/* the keys the command may have changed: its write key specs */
	n = keys_of(r, d, small, 64, &keys);
	for (int i = 0; i < n; i++)
		if (keys[i].flags & (KS_RW | KS_OW | KS_RM))
			ntf_track(r->ctx, r->argv[keys[i].pos], r->argl[keys[i].pos]);
	if (keys != small)
		mem_free(keys);
}

/* ------------------------------------------------------------ delivery */

static void mirror(struct trk_client *t)
{
	unsigned f = flags_of(t);

	if (f != t->shown) {
		t->shown = f;
		/* relaxed: see trk_client.redir */
		conn_set_tracking(
		    t->c,
		    ((f & TF_ON) ? CONN_TRK_ON : 0) | ((f & TF_BROKEN) ? CONN_TRK_BROKEN : 0) |
			((f & TF_BCAST) ? CONN_TRK_BCAST : 0),
		    (f & TF_ON) ? (long long)atomic_load_explicit(&t->redir, memory_order_relaxed)
				: -1);
	}
}

bool trk_deliver(struct conn *c, size_t max_bytes)
{
	struct session *s = session_of(c);
	struct trk_client *t = s ? s->trk : NULL;
	struct trk_msg *m;
	size_t done = 0;
	bool more;

	if (t == NULL)
		return false;
	mirror(t);
	for (;;) {
		int resp;

		pthread_mutex_lock(&t->mu);
		m = t->qh;
		if (m) {
			t->qh = m->next;
			if (t->qh == NULL)
				t->qt = NULL;
		}
		more = t->qh != NULL;
		pthread_mutex_unlock(&t->mu);
		if (m == NULL)
			return false;
		resp = conn_resp(c);
		if (m->kind == TM_BROKEN) {
			if (resp >= 3) {
				reply_raw(c, ">2\r\n$21\r\ntracking-redir-broken\r\n", 32);
				reply_raw(c, m->p, m->len);
			}
		} else if (resp >= 3) {
			reply_raw(c, ">2\r\n$10\r\ninvalidate\r\n", 21);
			reply_raw(c, m->p, m->len);
		} else if (m->redirected && pubsub_active(c)) {
			reply_raw(c, "*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n", 44);
			reply_raw(c, m->p, m->len);
		}
		done += m->len + 44;
		mem_free(m);
		if (!more)
			return false;
		if (done >= max_bytes)
			return true;
	}
}

void trk_after_command(struct conn *c, bool client_cmd, bool in_multi)
{
	struct trk_client *t = session_of(c)->trk;

	if (t == NULL)
		return;
	if (!in_multi && !client_cmd)
		t->caching = false;
	/* the writer's own invalidations follow its reply */
	trk_deliver(c, SIZE_MAX);
}

/* ------------------------------------------------------------ lifecycle */

/* Redis's disableTracking. Runner / closing thread. */
static void disable(struct trk_client *t)
{
	unsigned f = flags_of(t);

	if (f & TF_BCAST)
		pfx_clear(t);
	if (f & TF_ON) {
		/* relaxed: see nclients */
		atomic_fetch_sub_explicit(&nclients, 1, memory_order_relaxed);
		flags_set(t, 0);
	}
	t->caching = false;
}

void trk_conn_close(struct conn *c, struct session *s)
{
	struct trk_client *t = s->trk;
	struct reg_shard *sh;

	(void)c;
	if (t == NULL)
		return;
	disable(t);
	sh = reg_of(t->id);
	pthread_mutex_lock(&sh->mu);
	*reg_slot(sh, t->id) = t->next;
	pthread_mutex_unlock(&sh->mu);
	/* unlinked: no sender reaches t any more */
	while (t->qh) {
		struct trk_msg *m = t->qh;

		t->qh = m->next;
		mem_free(m);
	}
	pthread_mutex_destroy(&t->mu);
	mem_free(t);
	s->trk = NULL;
}

void trk_reset(struct conn *c)
{
	struct trk_client *t = session_of(c)->trk;

	if (t) {
		disable(t);
		mirror(t);
	}
}

/* ------------------------------------------------------------ commands */

static bool client_exists(uint64_t id)
{
	struct reg_shard *sh = reg_of(id);
	bool found;

	pthread_mutex_lock(&sh->mu);
	found = *reg_slot(sh, id) != NULL;
	pthread_mutex_unlock(&sh->mu);
	return found;
}

static bool prefix_overlap(const char *a, size_t al, const char *b, size_t bl)
{
	return memcmp(a, b, al < bl ? al : bl) == 0;
}

/* Redis 7.0.15's checkPrefixCollisionsOrReply: false after an error reply.
 * As in 7.0.15, two given prefixes that overlap, found at a given prefix
 * other than the first, answer the error and yet return true (so tracking
 * is enabled with them all, and +OK follows the error). */
static bool prefixes_ok(struct cmd_req *r, const struct trk_client *t, const int *pi, int np)
{
	for (int i = 0; i < np; i++) {
		const char *p = r->argv[pi[i]];
		size_t pl = r->argl[pi[i]];

		for (size_t k = 0; k < t->npfx; k++)
			if (prefix_overlap(t->pfx[k], t->pfxlen[k], p, pl)) {
				reply_errorf(
				    r->c,
				    "ERR Prefix '%.*s' overlaps with an existing prefix '%s'. "
				    "Prefixes for a single client must not overlap.",
				    (int)strnlen(p, pl), p, t->pfx[k]);
				return false;
			}
		for (int j = i + 1; j < np; j++)
			if (prefix_overlap(p, pl, r->argv[pi[j]], r->argl[pi[j]])) {
				reply_errorf(
				    r->c,
				    "ERR Prefix '%.*s' overlaps with another provided prefix "
				    "'%.*s'. Prefixes for a single client must not overlap.",
				    (int)strnlen(p, pl), p,
				    (int)strnlen(r->argv[pi[j]], r->argl[pi[j]]), r->argv[pi[j]]);
				return i > 0;
			}
	}
	return true;
}

void trk_cmd_tracking(struct cmd_req *r)
{
	struct trk_client *t = session_of(r->c)->trk;
	long long redir = 0;
	unsigned opts = 0, f = flags_of(t);
	int small[16], *pi = small, np = 0;

	if (r->argc - 3 > 16)
		pi = mem_alloc((size_t)r->argc * sizeof(*pi));
	for (int j = 3; j < r->argc; j++) {
		bool more = r->argc - 1 - j > 0;

		if (cmd_arg_is(r, j, "redirect") && more) {
			j++;
			if (redir != 0) {
				reply_error(
				    r->c,
				    "ERR A client can only redirect to a single other client");
				goto out;
			}
			if (!resp_str2ll(r->argv[j], r->argl[j], &redir)) {
				reply_error(r->c, "ERR value is not an integer or out of range");
				goto out;
			}
			if (redir <= 0 || !client_exists((uint64_t)redir)) {
				reply_error(
				    r->c, "ERR The client ID you want redirect to does not exist");
				goto out;
			}
		} else if (cmd_arg_is(r, j, "bcast")) {
			opts |= TF_BCAST;
		} else if (cmd_arg_is(r, j, "optin")) {
			opts |= TF_OPTIN;
		} else if (cmd_arg_is(r, j, "optout")) {
			opts |= TF_OPTOUT;
		} else if (cmd_arg_is(r, j, "noloop")) {
			opts |= TF_NOLOOP;
		} else if (cmd_arg_is(r, j, "prefix") && more) {
			pi[np++] = ++j;
		} else {
			reply_error(r->c, "ERR syntax error");
			goto out;
		}
	}
	if (cmd_arg_is(r, 2, "on")) {
		if (!(opts & TF_BCAST) && np) {
			reply_error(r->c, "ERR PREFIX option requires BCAST mode to be enabled");
			goto out;
		}
		if ((f & TF_ON) && !!(f & TF_BCAST) != !!(opts & TF_BCAST)) {
			reply_error(r->c,
				    "ERR You can't switch BCAST mode on/off before disabling "
				    "tracking for this client, and then re-enabling it with a "
				    "different mode.");
			goto out;
		}
		if ((opts & TF_BCAST) && (opts & (TF_OPTIN | TF_OPTOUT))) {
			reply_error(r->c, "ERR OPTIN and OPTOUT are not compatible with BCAST");
			goto out;
		}
		if ((opts & TF_OPTIN) && (opts & TF_OPTOUT)) {
			reply_error(r->c, "ERR You can't specify both OPTIN mode and OPTOUT mode");
			goto out;
		}
		if (((opts & TF_OPTIN) && (f & TF_OPTOUT)) ||
		    ((opts & TF_OPTOUT) && (f & TF_OPTIN))) {
			reply_error(r->c,
				    "ERR You can't switch OPTIN/OPTOUT mode before disabling "
				    "tracking for this client, and then re-enabling it with a "
				    "different mode.");
			goto out;
		}
		if ((opts & TF_BCAST) && !prefixes_ok(r, t, pi, np))
			goto out;
		/* Redis's enableTracking */
		if (!(f & TF_ON))
			/* relaxed: see nclients */
			atomic_fetch_add_explicit(&nclients, 1, memory_order_relaxed);
		if (!atomic_load_explicit(&trk_used_g, memory_order_relaxed)) {
			/* relaxed store, then seq_cst fence: pairs with the fence in
			 * trk_after_write (a write that missed the flag committed
			 * before the reads this client makes after +OK) */
			atomic_store_explicit(&trk_used_g, true, memory_order_relaxed);
			atomic_thread_fence(memory_order_seq_cst);
		}
		/* relaxed: see trk_client.redir */
		atomic_store_explicit(&t->redir, (uint64_t)redir, memory_order_relaxed);
		flags_set(t, TF_ON | (opts & (TF_BCAST | TF_OPTIN | TF_OPTOUT | TF_NOLOOP)));
		if (opts & TF_BCAST) {
			if (np == 0)
				pfx_add(t, "", 0);
			for (int i = 0; i < np; i++)
				pfx_add(t, r->argv[pi[i]], r->argl[pi[i]]);
		}
	} else if (cmd_arg_is(r, 2, "off")) {
		disable(t);
	} else {
		reply_error(r->c, "ERR syntax error");
		goto out;
	}
	mirror(t);
	reply_ok(r->c);
out:
	if (pi != small)
		mem_free(pi);
}

void trk_cmd_caching(struct cmd_req *r)
{
	struct trk_client *t = session_of(r->c)->trk;
	unsigned f = flags_of(t);

	if (!(f & TF_ON)) {
		reply_error(r->c, "ERR CLIENT CACHING can be called only when the client is in "
				  "tracking mode with OPTIN or OPTOUT mode enabled");
		return;
	}
	if (cmd_arg_is(r, 2, "yes")) {
		if (!(f & TF_OPTIN)) {
			reply_error(r->c, "ERR CLIENT CACHING YES is only valid when tracking is "
					  "enabled in OPTIN mode.");
			return;
		}
	} else if (cmd_arg_is(r, 2, "no")) {
		if (!(f & TF_OPTOUT)) {
			reply_error(r->c, "ERR CLIENT CACHING NO is only valid when tracking is "
					  "enabled in OPTOUT mode.");
			return;
		}
	} else {
		reply_error(r->c, "ERR syntax error");
		return;
	}
	t->caching = true;
	reply_ok(r->c);
}

static long long redirect_shown(const struct trk_client *t)
{
	/* relaxed: see trk_client.redir */
	return (flags_of(t) & TF_ON)
		   ? (long long)atomic_load_explicit(&t->redir, memory_order_relaxed)
		   : -1;
}

void trk_cmd_getredir(struct cmd_req *r)
{
	reply_int(r->c, redirect_shown(session_of(r->c)->trk));
}

void trk_cmd_trackinginfo(struct cmd_req *r)
{
	struct trk_client *t = session_of(r->c)->trk;
	unsigned f = flags_of(t);
	const char *names[8];
	int n = 0;

	names[n++] = (f & TF_ON) ? "on" : "off";
	if (f & TF_BCAST)
		names[n++] = "bcast";
	if (f & TF_OPTIN) {
		names[n++] = "optin";
		if (t->caching)
			names[n++] = "caching-yes";
	}
	if (f & TF_OPTOUT) {
		names[n++] = "optout";
		if (t->caching)
			names[n++] = "caching-no";
	}
	if (f & TF_NOLOOP)
		names[n++] = "noloop";
	if (f & TF_BROKEN)
		names[n++] = "broken_redirect";
	reply_map(r->c, 3);
	reply_bulk_cstr(r->c, "flags");
	reply_set(r->c, n);
	for (int i = 0; i < n; i++)
		reply_bulk_cstr(r->c, names[i]);
	reply_bulk_cstr(r->c, "redirect");
	reply_int(r->c, redirect_shown(t));
	reply_bulk_cstr(r->c, "prefixes");
	reply_array(r->c, (long long)t->npfx);
	for (size_t i = 0; i < t->npfx; i++)
		reply_bulk(r->c, t->pfx[i], t->pfxlen[i]);
}
