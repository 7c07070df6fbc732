/*
 * pubsub.c — the Pub/Sub registry, mailboxes and commands (pubsub.h
 * explains the model, the ordering and the lock order).
 *
 * Structures:
 *  - two channel tables (channels, shard channels), each PS_SHARDS shards of
 *    a mutex and a chained hash of channel records; a record lists the links
 *    of its subscribers and is freed with its last one;
 *  - the patterns: an array of pattern records under one rwlock, each with
 *    its subscribers' links; npat (atomic) lets PUBLISH skip the lock when
 *    there is none;
 *  - per subscribed client (struct ps_client, in its session): the links it
 *    holds, by type, in a list in subscription order and, for channels and
 *    shard channels, a hash index by name, so that SUBSCRIBE's lookup and
 *    UNSUBSCRIBE's removal are O(1) (both touched only by its runner and its
 *    closing thread; the link's registry list pointers are under the
 *    registry lock it sits in), and the
 *    mailbox, a ring of runs under the client's mutex;
 *  - per channel and per pattern record, a log (struct ps_log): the chunk
 *    PUBLISH writes the next frame into.
 * A chunk (struct ps_chunk) is reference counted: its log holds one
 * reference while it is current, each queued run one, a publisher
 * one while it fans out. A pattern name (struct ps_str) too: its pattern
 * record holds it.
 */
#include "server/pubsub.h"
#include "concurrency/clock.h"
#include "concurrency/mem.h"
#include "net/conn.h"
#include "net/net.h"
#include "net/reply.h"
#include "server/cmd.h"
#include "server/session.h"
#include "server/strutil.h"
#include "storage/siphash.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PS_SHARDS  64
#define PS_BUCKETS 256 /* per shard */
#define PS_BATCH   32  /* runs a runner takes from its mailbox per lock */

enum { PS_CHANNEL, PS_PATTERN, PS_SHARD, PS_TYPES };

/* A shared byte string: a pattern's name, then the same formatted as a
 * RESP bulk ($len CRLF name CRLF: fmt, flen bytes), which every pmessage
 * copies. refs: see chunk_unref. */
struct ps_str {
	_Atomic long refs;
	size_t len, flen;
	char *fmt;
	char p[];
};

/*
 * A log chunk: frames appended back to back, each a whole RESP2 message
 * frame (*3 message / *4 pmessage / *3 smessage and their bulks; a RESP3
 * receiver gets the same bytes with '>' for the first). refs: the log that
 * appends to it (while it is the log's current chunk), each queued run that
 * points into it, and a publisher while it fans out. Bytes are
 * written only by the log's appender, under the log's lock, and before any
 * run covering them is queued (under the mailbox lock, which orders them
 * before the runner's read); an appender rewinds a chunk (used = 0) only
 * when it holds the last reference, so no run points into it.
 */
struct ps_chunk {
	_Atomic long refs;
	size_t cap, used; /* used: the log's appender only */
	char data[];
};

/* A channel's or a pattern's log: where PUBLISH writes the frame its
 * receivers share. Under the channel's shard lock, or the pattern's mu. */
struct ps_log {
	struct ps_chunk *cur; /* one reference; NULL until the first message */
};

struct ps_client;

struct ps_link {
	struct ps_link *prev, *next; /* under the lock of the list it is in */
	/* the client's links of this type in subscription order (UNSUBSCRIBE
	 * with no argument replies in it): runner / closing thread only */
	struct ps_link *cprev, *cnext;
	struct ps_client *cl;
	void *owner; /* struct ps_chan or struct ps_pat; fixed while linked */
};

struct ps_chan {
	struct ps_chan *next; /* bucket chain */
	uint64_t h;
	long nsubs;
	struct ps_link *head;
	struct ps_log log; /* under the shard lock */
	size_t len;
	char name[];
};

struct ps_pat {
	struct ps_str *name;
	long nsubs;
	struct ps_link *head;
	/* publishers fan out under the pattern lock read-held, several at
	 * once: the log takes its own lock */
	pthread_mutex_t mu;
	struct ps_log log; /* under mu */
};

/* Queued messages: the frames [start, end) of one chunk, consecutive
 * messages of one log. A message that follows the last run's end in the
 * same chunk extends it, so a subscriber's backlog costs one run (and one
 * chunk reference) per chunk of each source it falls behind on, not a word
 * per message. */
struct ps_run {
	struct ps_chunk *ck; /* one reference */
	size_t start, end;
};

/* A client's channel (or shard channel) links by name: open addressing with
 * linear probing over the channels' hashes, so SUBSCRIBE's "already
 * subscribed?" is O(1) as in Redis's per-client dict, not a walk of every
 * link. Patterns stay a list (Redis 7.0 searches its pattern list too). */
struct ps_index {
	struct ps_link **slot;
	size_t cap, n; /* cap: 0 or a power of two, n <= cap / 2 */
};

struct ps_client {
	struct conn *c;
	/* runner / closing thread only: each type's links, oldest first */
	struct ps_link *head[PS_TYPES], *tail[PS_TYPES];
	size_t nlinks[PS_TYPES];
	struct ps_index idx[2]; /* PS_CHANNEL at [0], PS_SHARD at [1] */
	/* the mailbox, under mu */
	pthread_mutex_t mu;
	struct ps_run *q; /* a ring of qcap (a power of two) runs */
	size_t qhead, qn, qcap;
	size_t bytes; /* the runs' bytes: what they are formatted to */
	size_t shown; /* net_reply_list_bytes(bytes) as last given to conn_set_queued */
	int64_t soft_since_ms;
	bool dead; /* over a limit or closing: takes nothing more */
	/* in the soft list (pubsub_cron), under soft_mu */
	struct ps_client *soft_prev, *soft_next;
	bool soft_listed;
};

struct ps_shard {
	pthread_mutex_t mu;
	struct ps_chan *b[PS_BUCKETS];
} __attribute__((aligned(64)));

struct ps_table {
	struct ps_shard shards[PS_SHARDS];
	/* channels with subscribers: changed under a shard lock, read by INFO
	 * and PUBSUB (relaxed, a statistic) and by PUBLISH, which skips the
	 * table when it is 0 (release/acquire, as npat: a SUBSCRIBE's increment,
	 * before its reply, is seen by a PUBLISH started after the reply) */
	_Atomic long nchannels;
};

static struct ps_table tables[2]; /* PS_CHANNEL, and PS_SHARD at [1] */
static const uint8_t hash_key[16] = {0x70, 0x75, 0x62, 0x73, 0x75, 0x62, 0x6b, 0x76,
				     0x9e, 0x37, 0x79, 0xb9, 0x7f, 0x4a, 0x7c, 0x15};

static pthread_rwlock_t pat_lock = PTHREAD_RWLOCK_INITIALIZER;
static struct ps_pat **pats; /* under pat_lock */
static size_t npats_v, cap_pats;
/* Pattern records. Written under the write lock; PUBLISH loads it before
 * taking the read lock, to skip the lock when there is no pattern.
 * release/acquire: a PSUBSCRIBE's store (before its reply is sent) is seen
 * by a PUBLISH that starts after the reply was received. */
static _Atomic long npat;

/* Subscribers whose soft-limit clock runs (soft_since_ms set): pubsub_cron
 * looks at them hz times a second, as Redis 7.0's clientsCron checks every
 * client's output limits (closeClientOnOutputBufferLimitReached), so that a
 * subscriber over the soft limit is closed once its seconds have passed even
 * when nothing more is published to it. Lock order: soft_mu, then a mailbox
 * lock; enqueue lists a client after it let go of its mailbox lock. */
static pthread_mutex_t soft_mu = PTHREAD_MUTEX_INITIALIZER;
static struct ps_client *soft_head; /* under soft_mu */

static const char *const sub_word[PS_TYPES] = {"subscribe", "psubscribe", "ssubscribe"};
static const char *const unsub_word[PS_TYPES] = {"unsubscribe", "punsubscribe", "sunsubscribe"};

/* ------------------------------------------------------------ setup */

void pubsub_setup(void)
{
	for (int t = 0; t < 2; t++)
		for (int i = 0; i < PS_SHARDS; i++)
			pthread_mutex_init(&tables[t].shards[i].mu, NULL);
}

void pubsub_teardown(void)
{
	/* every client closed: every record was freed with its last link */
	mem_free(pats);
	pats = NULL;
	npats_v = cap_pats = 0;
	for (int t = 0; t < 2; t++)
		for (int i = 0; i < PS_SHARDS; i++)
			pthread_mutex_destroy(&tables[t].shards[i].mu);
}

long pubsub_nchannels(void)
{
	return atomic_load_explicit(&tables[0].nchannels, memory_order_relaxed);
}

long pubsub_nshard_channels(void)
{
	return atomic_load_explicit(&tables[1].nchannels, memory_order_relaxed);
}

long pubsub_npatterns(void)
{
	/* acquire: pairs with the release in the pattern edits; a count only */
	return atomic_load_explicit(&npat, memory_order_acquire);
}

/* ------------------------------------------------------------ references */

/* Writes p as a RESP bulk at dst (room for len + 25 bytes); returns its
 * length. */
static size_t put_bulk(char *dst, const char *p, size_t len)
{
	char num[24];
	size_t nd = 0, o = 0, v = len;

	do {
		num[nd++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	dst[o++] = '$';
	while (nd)
		dst[o++] = num[--nd];
	dst[o++] = '\r';
	dst[o++] = '\n';
	memcpy(dst + o, p, len);
	o += len;
	dst[o++] = '\r';
	dst[o++] = '\n';
	return o;
}

static struct ps_str *str_new(const char *p, size_t len)
{
	struct ps_str *s = mem_alloc(sizeof(*s) + 2 * len + 32);

	atomic_init(&s->refs, 1);
	s->len = len;
	memcpy(s->p, p, len);
	s->fmt = s->p + len;
	s->flen = put_bulk(s->fmt, p, len);
	return s;
}

static void str_unref(struct ps_str *s)
{
	/* acq_rel: every holder's reads happen before the free (release by
	 * each dropper, acquire by the last one) */
	if (s && atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) == 1)
		mem_free(s);
}

static void chunk_unref(struct ps_chunk *ck)
{
	/* acq_rel: every holder's reads happen before the free or the rewind
	 * (release by each dropper, acquire by the last one, and by the
	 * appender's load in log_reserve) */
	if (atomic_fetch_sub_explicit(&ck->refs, 1, memory_order_acq_rel) == 1)
		mem_free(ck);
}

/* The log's chunks, allocated in powers of two (header included: jemalloc
 * size classes): the first is small (a channel with one message, or whose
 * receivers keep up, holds a few hundred bytes), each next twice the last
 * up to PS_CHUNK_MAX. A log keeps its current chunk until its next message
 * or its last subscriber leaves: at most 64 KB per channel or pattern, as
 * each of its subscribers' reply buffers may keep after a burst. */
#define PS_CHUNK_MIN 512
#define PS_CHUNK_MAX (64 * 1024)

/* Log lock held: room for n bytes at the end of the log's current chunk
 * (a new chunk when the current one is full and still referenced; a
 * rewound one when nobody else references it). Returns the chunk, *start
 * the offset of the room; the caller writes there and adds n to used. */
static struct ps_chunk *log_reserve(struct ps_log *lg, size_t n, size_t *start)
{
	struct ps_chunk *ck = lg->cur;

	/* acquire: pairs with the release in chunk_unref, so the last
	 * reader's reads of the chunk precede the rewind's writes */
	if (ck && atomic_load_explicit(&ck->refs, memory_order_acquire) == 1)
		ck->used = 0; /* nobody reads it: reuse it */
	if (ck == NULL || ck->cap - ck->used < n) {
		size_t size = ck ? 2 * (sizeof(*ck) + ck->cap) : PS_CHUNK_MIN;

		if (size > PS_CHUNK_MAX)
			size = PS_CHUNK_MAX;
		while (size < sizeof(*ck) + n) /* n fits PS_CHUNK_MAX (log_append) */
			size *= 2;
		if (ck)
			chunk_unref(ck);
		ck = mem_alloc(size);
		atomic_init(&ck->refs, 1);
		ck->cap = size - sizeof(*ck);
		ck->used = 0;
		lg->cur = ck;
	}
	*start = ck->used;
	return ck;
}

static void log_deinit(struct ps_log *lg)
{
	if (lg->cur)
		chunk_unref(lg->cur);
	lg->cur = NULL;
}

/* The bytes of p as a RESP bulk. */
static size_t bulk_len(size_t len)
{
	size_t nd = 1;

	for (size_t v = len; v >= 10; v /= 10)
		nd++;
	return 1 + nd + 2 + len + 2;
}

/* The length of the frame at p (written by frame_put: "*N\r\n" and N
 * bulks, N < 10). */
static size_t frame_len(const char *p)
{
	int n = p[1] - '0';
	size_t o = 4;

	while (n-- > 0) {
		size_t len = 0;

		for (o++; p[o] != '\r'; o++)
			len = len * 10 + (size_t)(p[o] - '0');
		o += 2 + len + 2;
	}
	return o;
}

/* ------------------------------------------------------------ mailbox */

static void reply_hdr(struct conn *c, int resp, int n)
{
	char h[4] = {resp >= 3 ? '>' : '*', (char)('0' + n), '\r', '\n'};

	reply_raw(c, h, 4);
}

/* The fixed start of each kind's RESP2 frame (array header and kind bulk);
 * RESP3's push differs in its first byte only. */
enum ps_kind { PS_MESSAGE, PS_PMESSAGE, PS_SMESSAGE };
static const char *const frame_head[3] = {"*3\r\n$7\r\nmessage\r\n", "*4\r\n$8\r\npmessage\r\n",
					  "*3\r\n$8\r\nsmessage\r\n"};
static const size_t frame_head_len[3] = {17, 18, 18};

/* A message's frame, as it will be appended: head, the pattern's bulk
 * (pmessage), the channel's and the payload's bulks. */
struct ps_frame {
	int kind;
	const struct ps_str *pat; /* PS_PMESSAGE only */
	const char *ch, *msg;
	size_t chlen, len;
	size_t bytes; /* the whole frame */
};

static void frame_put(char *dst, const struct ps_frame *f)
{
	size_t o = frame_head_len[f->kind];

	memcpy(dst, frame_head[f->kind], o);
	if (f->pat) {
		memcpy(dst + o, f->pat->fmt, f->pat->flen);
		o += f->pat->flen;
	}
	o += put_bulk(dst + o, f->ch, f->chlen);
	put_bulk(dst + o, f->msg, f->len);
}

/* Log lock held: appends f to lg; returns its chunk, with a reference for
 * the caller (who drops it after the fan-out), and *start its offset. A
 * frame too big for a chunk gets one of its own, which the log does not
 * keep: it is freed once delivered, as the log's next message would leave
 * a big chunk waiting. */
static struct ps_chunk *log_append(struct ps_log *lg, const struct ps_frame *f, size_t *start)
{
	struct ps_chunk *ck;

	if (sizeof(*ck) + f->bytes > PS_CHUNK_MAX) {
		ck = mem_alloc(sizeof(*ck) + f->bytes);
		atomic_init(&ck->refs, 1);
		ck->cap = ck->used = f->bytes;
		*start = 0;
		frame_put(ck->data, f);
		return ck;
	}
	ck = log_reserve(lg, f->bytes, start);
	frame_put(ck->data + *start, f);
	ck->used += f->bytes;
	/* relaxed: taken under the log's lock, which orders it before the
	 * next appender's rewind check (log_reserve); keeps ck once another
	 * publisher moves the log on */
	atomic_fetch_add_explicit(&ck->refs, 1, memory_order_relaxed);
	return ck;
}

/* Mailbox lock held: CLIENT LIST's omem after cl->bytes changed. Only when
 * the figure changes (every 20 KB): the store lands in the subscriber's
 * connection, a cache line its own worker uses. */
static void show_queued(struct ps_client *cl)
{
	size_t b = net_reply_list_bytes(cl->bytes);

	if (b != cl->shown) {
		cl->shown = b;
		conn_set_queued(cl->c, b);
	}
}

static void drop_entries(struct ps_client *cl)
{
	for (size_t i = 0; i < cl->qn; i++)
		chunk_unref(cl->q[(cl->qhead + i) & (cl->qcap - 1)].ck);
	cl->qhead = cl->qn = 0;
	cl->bytes = 0;
	show_queued(cl);
}

/* client-output-buffer-limit pubsub, read once per PUBLISH. */
struct ps_limits {
	long long hard, soft;
	long secs;
};

/* Mailbox lock held: over client-output-buffer-limit pubsub? */
static bool over_limit(struct ps_client *cl, const struct ps_limits *lim)
{
	long long hard = lim->hard, soft = lim->soft;
	long long used = (long long)net_reply_list_bytes(cl->bytes);
	long secs = lim->secs;

	if (hard > 0 && used >= hard)
		return true;
	if (soft > 0 && used >= soft) {
		int64_t now = clock_wall_ms();

		if (cl->soft_since_ms == 0) {
			cl->soft_since_ms = now;
			return false;
		}
		/* Redis: elapsed seconds strictly over soft-seconds */
		return (now - cl->soft_since_ms) / 1000 > (int64_t)secs;
	}
	cl->soft_since_ms = 0;
	return false;
}

/* soft_mu held. */
static void soft_unlist(struct ps_client *cl)
{
	if (!cl->soft_listed)
		return;
	if (cl->soft_prev)
		cl->soft_prev->soft_next = cl->soft_next;
	else
		soft_head = cl->soft_next;
	if (cl->soft_next)
		cl->soft_next->soft_prev = cl->soft_prev;
	cl->soft_prev = cl->soft_next = NULL;
	cl->soft_listed = false;
}

/* Puts cl in the soft list (once). Called holding the lock of a registry
 * list cl is linked in (so it is not freed), not its mailbox lock. */
static void soft_list(struct ps_client *cl)
{
	pthread_mutex_lock(&soft_mu);
	if (!cl->soft_listed) {
		cl->soft_prev = NULL;
		cl->soft_next = soft_head;
		if (soft_head)
			soft_head->soft_prev = cl;
		soft_head = cl;
		cl->soft_listed = true;
	}
	pthread_mutex_unlock(&soft_mu);
}

/* Mailbox lock held: cl is over its limit. Redis frees such a client
 * asynchronously: nothing more is sent. */
static void kill_over_limit(struct ps_client *cl)
{
	cl->dead = true;
	drop_entries(cl);
	conn_kill(cl->c);
}

void pubsub_cron(void)
{
	struct ps_limits lim;

	net_pubsub_output_limit(&lim.hard, &lim.soft, &lim.secs);
	pthread_mutex_lock(&soft_mu);
	for (struct ps_client *cl = soft_head, *next; cl; cl = next) {
		next = cl->soft_next;
		pthread_mutex_lock(&cl->mu);
		if (cl->dead) {
			soft_unlist(cl);
		} else if (over_limit(cl, &lim)) {
			kill_over_limit(cl);
			soft_unlist(cl);
		} else if (cl->soft_since_ms == 0) {
			soft_unlist(cl); /* back under the soft limit */
		}
		pthread_mutex_unlock(&cl->mu);
	}
	pthread_mutex_unlock(&soft_mu);
}

/* Called holding the lock of a registry list cl is linked in, and a
 * reference to ck (the log's or the publisher's): queues the frame
 * [start, end) of ck, extending cl's last run when it ends where the frame
 * starts. */
static void enqueue(struct ps_client *cl, struct ps_chunk *ck, size_t start, size_t end,
		    const struct ps_limits *lim)
{
	struct ps_run *last;
	bool watch = false, was_empty;

	pthread_mutex_lock(&cl->mu);
	if (cl->dead) {
		pthread_mutex_unlock(&cl->mu);
		return;
	}
	was_empty = cl->qn == 0;
	last = was_empty ? NULL : &cl->q[(cl->qhead + cl->qn - 1) & (cl->qcap - 1)];
	if (last && last->ck == ck && last->end == start) {
		last->end = end;
	} else {
		if (cl->qn == cl->qcap) {
			size_t ncap = cl->qcap ? 2 * cl->qcap : 8;
			struct ps_run *nq = mem_alloc(ncap * sizeof(*nq));

			for (size_t i = 0; i < cl->qn; i++)
				nq[i] = cl->q[(cl->qhead + i) & (cl->qcap - 1)];
			mem_free(cl->q);
			cl->q = nq;
			cl->qcap = ncap;
			cl->qhead = 0;
		}
		cl->q[(cl->qhead + cl->qn) & (cl->qcap - 1)] = (struct ps_run){ck, start, end};
		/* relaxed: the caller holds a reference, so the count cannot
		 * reach 0 (nor 1, for a rewind) meanwhile */
		atomic_fetch_add_explicit(&ck->refs, 1, memory_order_relaxed);
		cl->qn++;
	}
	cl->bytes += end - start;
	show_queued(cl);
	if (over_limit(cl, lim)) {
		kill_over_limit(cl);
	} else {
		watch = cl->soft_since_ms != 0;
		if (was_empty) {
			/* the runner empties the mailbox, or leaves it non-empty only
			 * when it will come back by itself (pubsub_deliver's return) */
			conn_wake_fair(cl->c);
		}
	}
	pthread_mutex_unlock(&cl->mu);
	if (watch)
		soft_list(cl);
}

/* Where to cut run r to format about room more bytes: after its frames
 * that start within room (at least one). */
static size_t run_cut(const struct ps_run *r, size_t room)
{
	size_t o = r->start;

	if (r->end - r->start <= room)
		return r->end;
	do
		o += frame_len(r->ck->data + o);
	while (o < r->end && o - r->start < room);
	return o;
}

/* Formats a run: RESP2 copies its frames as they are, RESP3 puts '>' in
 * front of each instead of '*'. */
static void format_run(struct conn *c, int resp, const struct ps_run *r)
{
	const char *p = r->ck->data;

	if (resp < 3) {
		reply_raw(c, p + r->start, r->end - r->start);
		return;
	}
	for (size_t o = r->start, n; o < r->end; o += n) {
		n = frame_len(p + o);
		reply_raw(c, ">", 1);
		reply_raw(c, p + o + 1, n - 1);
	}
}

bool pubsub_deliver(struct conn *c, size_t max_bytes)
{
	struct session *s = session_of(c);
	struct ps_client *cl = s ? s->ps : NULL;
	int resp;
	size_t done = 0;

	if (cl == NULL)
		return false;
	resp = conn_resp(c);
	for (;;) {
		struct ps_run batch[PS_BATCH];
		size_t k = 0;
		bool more;

		pthread_mutex_lock(&cl->mu);
		while (cl->qn > 0 && k < PS_BATCH && (done < max_bytes || (k == 0 && done == 0))) {
			struct ps_run *r = &cl->q[cl->qhead];
			size_t cut = run_cut(r, done < max_bytes ? max_bytes - done : 0);

			batch[k] = *r;
			if (cut == r->end) { /* the whole run: its reference moves */
				cl->qhead = (cl->qhead + 1) & (cl->qcap - 1);
				cl->qn--;
			} else {
				batch[k].end = cut;
				r->start = cut;
				/* relaxed: the run still queued holds a reference */
				atomic_fetch_add_explicit(&r->ck->refs, 1, memory_order_relaxed);
			}
			cl->bytes -= cut - batch[k].start;
			done += cut - batch[k].start;
			k++;
		}
		more = cl->qn > 0;
		if (k)
			show_queued(cl);
		pthread_mutex_unlock(&cl->mu);
		for (size_t i = 0; i < k; i++) {
			format_run(c, resp, &batch[i]);
			chunk_unref(batch[i].ck);
		}
		if (!more || done >= max_bytes)
			return more;
	}
}

/* ------------------------------------------------------------ registry */

static uint64_t chan_hash(const char *p, size_t len)
{
	return siphash_1_2(hash_key, p, len);
}

static struct ps_shard *shard_of(struct ps_table *t, uint64_t h)
{
	return &t->shards[h % PS_SHARDS];
}

/* Shard lock held. */
static struct ps_chan **chan_slot(struct ps_shard *sh, const char *p, size_t len, uint64_t h)
{
	struct ps_chan **pp = &sh->b[(h / PS_SHARDS) % PS_BUCKETS];

	for (; *pp; pp = &(*pp)->next)
		if ((*pp)->h == h && (*pp)->len == len && memcmp((*pp)->name, p, len) == 0)
			break;
	return pp;
}

static void link_push(struct ps_link **head, struct ps_link *l)
{
	l->prev = NULL;
	l->next = *head;
	if (*head)
		(*head)->prev = l;
	*head = l;
}

static void link_remove(struct ps_link **head, struct ps_link *l)
{
	if (l->prev)
		l->prev->next = l->next;
	else
		*head = l->next;
	if (l->next)
		l->next->prev = l->prev;
}

static struct ps_table *table_of(int type)
{
	return &tables[type == PS_SHARD];
}

static void chan_link(int type, struct ps_link *l, const char *p, size_t len)
{
	struct ps_table *t = table_of(type);
	uint64_t h = chan_hash(p, len);
	struct ps_shard *sh = shard_of(t, h);
	struct ps_chan **pp, *ch;

	pthread_mutex_lock(&sh->mu);
	pp = chan_slot(sh, p, len, h);
	ch = *pp;
	if (ch == NULL) {
		ch = mem_calloc(1, sizeof(*ch) + len);
		ch->h = h;
		ch->len = len;
		memcpy(ch->name, p, len);
		*pp = ch;
		/* release: see ps_table.nchannels */
		atomic_fetch_add_explicit(&t->nchannels, 1, memory_order_release);
	}
	l->owner = ch;
	link_push(&ch->head, l);
	ch->nsubs++;
	pthread_mutex_unlock(&sh->mu);
}

static void chan_unlink(int type, struct ps_link *l)
{
	struct ps_table *t = table_of(type);
	struct ps_chan *ch = l->owner;
	struct ps_shard *sh = shard_of(t, ch->h);

	pthread_mutex_lock(&sh->mu);
	link_remove(&ch->head, l);
	if (--ch->nsubs == 0) {
		*chan_slot(sh, ch->name, ch->len, ch->h) = ch->next;
		log_deinit(&ch->log);
		mem_free(ch);
		/* relaxed: see ps_table.nchannels */
		atomic_fetch_sub_explicit(&t->nchannels, 1, memory_order_relaxed);
	}
	pthread_mutex_unlock(&sh->mu);
}

static void pat_link(struct ps_link *l, const char *p, size_t len)
{
	struct ps_pat *pt = NULL;

	pthread_rwlock_wrlock(&pat_lock);
	for (size_t i = 0; i < npats_v; i++)
		if (pats[i]->name->len == len && memcmp(pats[i]->name->p, p, len) == 0) {
			pt = pats[i];
			break;
		}
	if (pt == NULL) {
		if (npats_v == cap_pats) {
			cap_pats = cap_pats ? 2 * cap_pats : 8;
			pats = mem_realloc(pats, cap_pats * sizeof(*pats));
		}
		pt = mem_calloc(1, sizeof(*pt));
		pt->name = str_new(p, len);
		pthread_mutex_init(&pt->mu, NULL);
		pats[npats_v++] = pt;
		/* release: pairs with the acquire in pubsub_publish (see npat) */
		atomic_store_explicit(&npat, (long)npats_v, memory_order_release);
	}
	l->owner = pt;
	link_push(&pt->head, l);
	pt->nsubs++;
	pthread_rwlock_unlock(&pat_lock);
}

static void pat_unlink(struct ps_link *l)
{
	struct ps_pat *pt = l->owner;

	pthread_rwlock_wrlock(&pat_lock);
	link_remove(&pt->head, l);
	if (--pt->nsubs == 0) {
		for (size_t i = 0; i < npats_v; i++)
			if (pats[i] == pt) {
				/* keep the order: PUBSUB and delivery follow creation */
				memmove(&pats[i], &pats[i + 1], (npats_v - i - 1) * sizeof(*pats));
				npats_v--;
				break;
			}
		/* release: see npat */
		atomic_store_explicit(&npat, (long)npats_v, memory_order_release);
		str_unref(pt->name);
		log_deinit(&pt->log);
		pthread_mutex_destroy(&pt->mu);
		mem_free(pt);
	}
	pthread_rwlock_unlock(&pat_lock);
}

/* The name a link subscribes to (fixed while it is linked). */
static const char *link_name(int type, const struct ps_link *l, size_t *len)
{
	if (type == PS_PATTERN) {
		const struct ps_pat *pt = l->owner;

		*len = pt->name->len;
		return pt->name->p;
	}
	*len = ((const struct ps_chan *)l->owner)->len;
	return ((const struct ps_chan *)l->owner)->name;
}

long pubsub_publish(const char *channel, size_t chlen, const char *msg, size_t len, bool shard)
{
	struct ps_table *t = &tables[shard];
	struct ps_frame f = {.ch = channel, .chlen = chlen, .msg = msg, .len = len};
	uint64_t h;
	struct ps_shard *sh;
	struct ps_chan *ch;
	struct ps_limits lim;
	size_t tail;
	long n = 0;

	/* acquire: see ps_table.nchannels and npat. No subscriber anywhere (the
	 * PUBLISH-only and notification-only cases): no hash, no lock. */
	if (atomic_load_explicit(&t->nchannels, memory_order_acquire) == 0 &&
	    (shard || atomic_load_explicit(&npat, memory_order_acquire) == 0))
		return 0;
	net_pubsub_output_limit(&lim.hard, &lim.soft, &lim.secs);
	tail = bulk_len(chlen) + bulk_len(len); /* every frame ends with these */
	h = chan_hash(channel, chlen);
	sh = shard_of(t, h);
	pthread_mutex_lock(&sh->mu);
	ch = *chan_slot(sh, channel, chlen, h);
	if (ch) {
		struct ps_chunk *ck;
		size_t start;

		f.kind = shard ? PS_SMESSAGE : PS_MESSAGE;
		f.bytes = frame_head_len[f.kind] + tail;
		ck = log_append(&ch->log, &f, &start);
		for (struct ps_link *l = ch->head; l; l = l->next) {
			enqueue(l->cl, ck, start, start + f.bytes, &lim);
			n++;
		}
		chunk_unref(ck);
	}
	pthread_mutex_unlock(&sh->mu);
	/* acquire: pairs with the release in pat_link / pat_unlink */
	if (!shard && atomic_load_explicit(&npat, memory_order_acquire) > 0) {
		f.kind = PS_PMESSAGE;
		pthread_rwlock_rdlock(&pat_lock);
		for (size_t i = 0; i < npats_v; i++) {
			struct ps_pat *pt = pats[i];
			struct ps_chunk *ck;
			size_t start;

			if (!su_glob_match(pt->name->p, pt->name->len, channel, chlen, 0))
				continue;
			f.pat = pt->name;
			f.bytes = frame_head_len[PS_PMESSAGE] + pt->name->flen + tail;
			pthread_mutex_lock(&pt->mu);
			ck = log_append(&pt->log, &f, &start);
			pthread_mutex_unlock(&pt->mu);
			for (struct ps_link *l = pt->head; l; l = l->next) {
				enqueue(l->cl, ck, start, start + f.bytes, &lim);
				n++;
			}
			chunk_unref(ck);
		}
		pthread_rwlock_unlock(&pat_lock);
	}
	return n;
}

/* ------------------------------------------------------------ clients */

static struct ps_client *client_get(struct conn *c)
{
	struct session *s = session_of(c);

	if (s->ps == NULL) {
		struct ps_client *cl = mem_calloc(1, sizeof(*cl));

		cl->c = c;
		pthread_mutex_init(&cl->mu, NULL);
		s->ps = cl;
	}
	return s->ps;
}

static uint64_t link_h(const struct ps_link *l)
{
	return ((const struct ps_chan *)l->owner)->h;
}

static void idx_insert(struct ps_index *x, struct ps_link *l)
{
	if (2 * (x->n + 1) > x->cap) {
		struct ps_index y = {.cap = x->cap ? 2 * x->cap : 16};

		y.slot = mem_calloc(y.cap, sizeof(*y.slot));
		for (size_t i = 0; i < x->cap; i++)
			if (x->slot[i])
				idx_insert(&y, x->slot[i]);
		mem_free(x->slot);
		*x = y;
	}
	size_t i = link_h(l) & (x->cap - 1);

	while (x->slot[i])
		i = (i + 1) & (x->cap - 1);
	x->slot[i] = l;
	x->n++;
}

static size_t idx_pos(const struct ps_index *x, uint64_t h, const char *p, size_t len)
{
	size_t i = h & (x->cap - 1);

	for (; x->slot[i]; i = (i + 1) & (x->cap - 1)) {
		const struct ps_chan *ch = x->slot[i]->owner;

		if (ch->h == h && ch->len == len && memcmp(ch->name, p, len) == 0)
			return i;
	}
	return SIZE_MAX;
}

static struct ps_link *idx_find(const struct ps_index *x, const char *p, size_t len)
{
	size_t i;

	if (x->n == 0)
		return NULL;
	i = idx_pos(x, chan_hash(p, len), p, len);
	return i == SIZE_MAX ? NULL : x->slot[i];
}

/* Removes l (present), moving later entries of its probe run back. */
static void idx_remove(struct ps_index *x, struct ps_link *l)
{
	const struct ps_chan *ch = l->owner;
	size_t mask = x->cap - 1, i = idx_pos(x, ch->h, ch->name, ch->len);

	for (size_t j = (i + 1) & mask; x->slot[j]; j = (j + 1) & mask) {
		size_t home = link_h(x->slot[j]) & mask;

		/* j's entry may fill the hole at i unless its home lies in (i, j] */
		if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
			x->slot[i] = x->slot[j];
			i = j;
		}
	}
	x->slot[i] = NULL;
	x->n--;
}

/* cl's link of type to p, or NULL: O(1) for channels (the index), a walk
 * of the patterns (Redis 7.0 searches its pattern list too). */
static struct ps_link *find_link(struct ps_client *cl, int type, const char *p, size_t len)
{
	if (type != PS_PATTERN)
		return idx_find(&cl->idx[type == PS_SHARD], p, len);
	for (struct ps_link *l = cl->head[type]; l; l = l->cnext) {
		size_t n;
		const char *name = link_name(type, l, &n);

		if (n == len && memcmp(name, p, len) == 0)
			return l;
	}
	return NULL;
}

/* Redis's subscription counts: channels and patterns together; shard
 * channels on their own. */
static long sub_count(const struct ps_client *cl, int type)
{
	if (cl == NULL)
		return 0;
	return type == PS_SHARD ? (long)cl->nlinks[PS_SHARD]
				: (long)(cl->nlinks[PS_CHANNEL] + cl->nlinks[PS_PATTERN]);
}

static void describe(struct conn *c, const struct ps_client *cl)
{
	conn_set_pubsub(c, (int)cl->nlinks[PS_CHANNEL], (int)cl->nlinks[PS_PATTERN],
			(int)cl->nlinks[PS_SHARD]);
}

bool pubsub_active(const struct conn *c)
{
	const struct ps_client *cl = session_of(c)->ps;

	return cl && cl->nlinks[PS_CHANNEL] + cl->nlinks[PS_PATTERN] + cl->nlinks[PS_SHARD] > 0;
}

/* One (un)subscribe confirmation: [kind, name or nil, count], a push in RESP3. */
static void reply_confirm(struct conn *c, const char *kind, const char *p, size_t len, long count)
{
	reply_hdr(c, conn_resp(c), 3);
	reply_bulk_cstr(c, kind);
	if (p)
		reply_bulk(c, p, len);
	else
		reply_null(c);
	reply_int(c, count);
}

static void subscribe_one(struct conn *c, int type, const char *p, size_t len)
{
	struct ps_client *cl = client_get(c);

	if (find_link(cl, type, p, len) == NULL) {
		struct ps_link *l = mem_calloc(1, sizeof(*l));

		l->cl = cl;
		if (type == PS_PATTERN) {
			pat_link(l, p, len);
		} else {
			chan_link(type, l, p, len);
			idx_insert(&cl->idx[type == PS_SHARD], l);
		}
		l->cprev = cl->tail[type];
		if (cl->tail[type])
			cl->tail[type]->cnext = l;
		else
			cl->head[type] = l;
		cl->tail[type] = l;
		cl->nlinks[type]++;
	}
	reply_confirm(c, sub_word[type], p, len, sub_count(cl, type));
}

/* Unlinks l (one of cl's links of type) from the registry and from cl's
 * list, and frees it. */
static void drop_link(struct ps_client *cl, int type, struct ps_link *l)
{
	if (l->cprev)
		l->cprev->cnext = l->cnext;
	else
		cl->head[type] = l->cnext;
	if (l->cnext)
		l->cnext->cprev = l->cprev;
	else
		cl->tail[type] = l->cprev;
	cl->nlinks[type]--;
	if (type == PS_PATTERN) {
		pat_unlink(l);
	} else {
		idx_remove(&cl->idx[type == PS_SHARD], l); /* before the record may go */
		chan_unlink(type, l);
	}
	mem_free(l);
}

static void unsubscribe_all(struct conn *c, int type, bool notify)
{
	struct ps_client *cl = session_of(c)->ps;
	if (cl == NULL || cl->nlinks[type] == 0) {
		if (notify)
			reply_confirm(c, unsub_word[type], NULL, 0, sub_count(cl, type));
		return;
	}
	/* front to back, in subscription order; nlinks is the count the
	 * confirmation shows */
	while (cl->head[type]) {
		struct ps_link *l = cl->head[type];
		size_t len;
		/* the name lives in the record the link holds: copy before unlinking */
		const char *p = link_name(type, l, &len);
		char small[256], *name = len <= sizeof(small) ? small : mem_alloc(len);

		memcpy(name, p, len);
		drop_link(cl, type, l);
		if (notify)
			reply_confirm(c, unsub_word[type], name, len, sub_count(cl, type));
		if (name != small)
			mem_free(name);
	}
}

static void unsubscribe_one(struct conn *c, int type, const char *p, size_t len)
{
	struct ps_client *cl = session_of(c)->ps;
	struct ps_link *l = cl ? find_link(cl, type, p, len) : NULL;

	if (l)
		drop_link(cl, type, l);
	reply_confirm(c, unsub_word[type], p, len, sub_count(cl, type));
}

void pubsub_reset(struct conn *c)
{
	struct ps_client *cl = session_of(c)->ps;

	if (cl == NULL)
		return;
	for (int t = 0; t < PS_TYPES; t++)
		unsubscribe_all(c, t, false);
	describe(c, cl);
}

void pubsub_conn_close(struct conn *c, void *session)
{
	struct session *s = session;
	struct ps_client *cl = s->ps;

	(void)c;
	if (cl == NULL)
		return;
	for (int t = 0; t < PS_TYPES; t++) {
		for (struct ps_link *l = cl->head[t], *next; l; l = next) {
			next = l->cnext;
			if (t == PS_PATTERN)
				pat_unlink(l);
			else
				chan_unlink(t, l);
			mem_free(l);
		}
	}
	mem_free(cl->idx[0].slot);
	mem_free(cl->idx[1].slot);
	/* unlinked everywhere: no publisher reaches cl any more, and out of
	 * the soft list, pubsub_cron does not either */
	pthread_mutex_lock(&soft_mu);
	soft_unlist(cl);
	pthread_mutex_unlock(&soft_mu);
	pthread_mutex_lock(&cl->mu);
	cl->dead = true;
	drop_entries(cl);
	pthread_mutex_unlock(&cl->mu);
	pthread_mutex_destroy(&cl->mu);
	mem_free(cl->q);
	mem_free(cl);
	s->ps = NULL;
}

/* ------------------------------------------------------------ commands */

bool pubsub_cmd_allowed(const struct cmd_def *d)
{
	static const char *const ok[] = {"ping",	 "subscribe",	 "ssubscribe",
					 "unsubscribe",	 "sunsubscribe", "psubscribe",
					 "punsubscribe", "quit",	 "reset"};

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (strcmp(d->name, ok[i]) == 0)
			return true;
	return false;
}

static void sub_generic(struct cmd_req *r, int type)
{
	session_of(r->c)->ps_pushed = true;
	for (int i = 1; i < r->argc; i++)
		subscribe_one(r->c, type, r->argv[i], r->argl[i]);
	describe(r->c, session_of(r->c)->ps);
}

static void unsub_generic(struct cmd_req *r, int type)
{
	session_of(r->c)->ps_pushed = true;
	if (r->argc == 1)
		unsubscribe_all(r->c, type, true);
	else
		for (int i = 1; i < r->argc; i++)
			unsubscribe_one(r->c, type, r->argv[i], r->argl[i]);
	if (session_of(r->c)->ps)
		describe(r->c, session_of(r->c)->ps);
}

static void subscribe_cmd(struct cmd_req *r)
{
	sub_generic(r, PS_CHANNEL);
}

static void psubscribe_cmd(struct cmd_req *r)
{
	sub_generic(r, PS_PATTERN);
}

static void ssubscribe_cmd(struct cmd_req *r)
{
	sub_generic(r, PS_SHARD);
}

static void unsubscribe_cmd(struct cmd_req *r)
{
	unsub_generic(r, PS_CHANNEL);
}

static void punsubscribe_cmd(struct cmd_req *r)
{
	unsub_generic(r, PS_PATTERN);
}

static void sunsubscribe_cmd(struct cmd_req *r)
{
	unsub_generic(r, PS_SHARD);
}

/* A client that receives its own message gets it before PUBLISH's reply,
 * as in Redis (which writes it into the client's buffer during PUBLISH),
 * also under CLIENT REPLY OFF / SKIP (Redis's CLIENT_PUSHING; not inside
 * EXEC, whose array header precedes it). From a script the reply buffer is
 * the script's: the message waits for pubsub_deliver_before. */
static void publish_generic(struct cmd_req *r, bool shard)
{
	long n = pubsub_publish(r->argv[1], r->argl[1], r->argv[2], r->argl[2], shard);
	struct session *s = session_of(r->c);

	if (s->ps && !r->in_script) {
		pubsub_deliver(r->c, SIZE_MAX);
		if (!r->in_exec)
			s->ps_keep = conn_reply_mark(r->c);
	}
	reply_int(r->c, n);
}

void pubsub_deliver_before(struct cmd_req *r, size_t mark)
{
	struct session *s = session_of(r->c);
	const char *p;
	char *reply;
	size_t len;

	if (s->ps == NULL)
		return;
	p = conn_reply_since(r->c, mark, &len);
	reply = mem_alloc(len ? len : 1);
	if (len)
		memcpy(reply, p, len);
	conn_reply_truncate(r->c, mark);
	pubsub_deliver(r->c, SIZE_MAX);
	if (!r->in_exec)
		s->ps_keep = conn_reply_mark(r->c);
	reply_raw(r->c, reply, len);
	mem_free(reply);
}

static void publish_cmd(struct cmd_req *r)
{
	publish_generic(r, false);
}

static void spublish_cmd(struct cmd_req *r)
{
	publish_generic(r, true);
}

/* Redis's addReplySubcommandSyntaxError (PUBSUB's own argument checks). */
static void reply_sub_syntax(struct cmd_req *r)
{
	reply_errorf(r->c,
		     "ERR unknown subcommand or wrong number of arguments for '%.*s'. Try "
		     "PUBSUB HELP.",
		     (int)(r->argl[1] < 128 ? r->argl[1] : 128), r->argv[1]);
}

struct name_vec {
	char **p;
	size_t *len;
	size_t n, cap;
};

/* PUBSUB CHANNELS / SHARDCHANNELS [pattern]. */
static void channels_generic(struct cmd_req *r, struct ps_table *t)
{
	struct name_vec v = {0};
	const char *pat = r->argc == 3 ? r->argv[2] : NULL;
	size_t plen = r->argc == 3 ? r->argl[2] : 0;

	if (r->argc > 3) {
		reply_sub_syntax(r);
		return;
	}
	for (int i = 0; i < PS_SHARDS; i++) {
		struct ps_shard *sh = &t->shards[i];

		pthread_mutex_lock(&sh->mu);
		for (int b = 0; b < PS_BUCKETS; b++)
			for (struct ps_chan *ch = sh->b[b]; ch; ch = ch->next) {
				if (pat && !su_glob_match(pat, plen, ch->name, ch->len, 0))
					continue;
				if (v.n == v.cap) {
					v.cap = v.cap ? 2 * v.cap : 16;
					v.p = mem_realloc(v.p, v.cap * sizeof(*v.p));
					v.len = mem_realloc(v.len, v.cap * sizeof(*v.len));
				}
				v.p[v.n] = mem_strndup(ch->name, ch->len);
				v.len[v.n++] = ch->len;
			}
		pthread_mutex_unlock(&sh->mu);
	}
	reply_array(r->c, (long long)v.n);
	for (size_t i = 0; i < v.n; i++) {
		reply_bulk(r->c, v.p[i], v.len[i]);
		mem_free(v.p[i]);
	}
	mem_free(v.p);
	mem_free(v.len);
}

static void numsub_generic(struct cmd_req *r, struct ps_table *t)
{
	reply_array(r->c, (long long)(r->argc - 2) * 2);
	for (int i = 2; i < r->argc; i++) {
		uint64_t h = chan_hash(r->argv[i], r->argl[i]);
		struct ps_shard *sh = shard_of(t, h);
		struct ps_chan *ch;
		long n;

		pthread_mutex_lock(&sh->mu);
		ch = *chan_slot(sh, r->argv[i], r->argl[i], h);
		n = ch ? ch->nsubs : 0;
		pthread_mutex_unlock(&sh->mu);
		reply_bulk(r->c, r->argv[i], r->argl[i]);
		reply_int(r->c, n);
	}
}

static void pubsub_channels(struct cmd_req *r)
{
	channels_generic(r, &tables[0]);
}

static void pubsub_shardchannels(struct cmd_req *r)
{
	channels_generic(r, &tables[1]);
}

static void pubsub_numsub(struct cmd_req *r)
{
	numsub_generic(r, &tables[0]);
}

static void pubsub_shardnumsub(struct cmd_req *r)
{
	numsub_generic(r, &tables[1]);
}

static void pubsub_numpat(struct cmd_req *r)
{
	if (r->argc != 2) {
		reply_sub_syntax(r);
		return;
	}
	reply_int(r->c, pubsub_npatterns());
}

static void pubsub_help(struct cmd_req *r)
{
	static const char *const lines[] = {
	    "CHANNELS [<pattern>]",
	    "    Return the currently active channels matching a <pattern> (default: '*').",
	    "NUMPAT",
	    "    Return number of subscriptions to patterns.",
	    "NUMSUB [<channel> ...]",
	    "    Return the number of subscribers for the specified channels, excluding",
	    "    pattern subscriptions(default: no channels).",
	    "SHARDCHANNELS [<pattern>]",
	    "    Return the currently active shard level channels matching a <pattern> "
	    "(default: '*').",
	    "SHARDNUMSUB [<shardchannel> ...]",
	    "    Return the number of subscribers for the specified shard level channel(s)",
	    NULL};

	cmd_reply_help(r, lines);
}

#define PS_FLAGS (CMD_NOSCRIPT | CMD_LOADING | CMD_STALE)

static const struct cmd_def pubsub_subcmds[] = {
    {"pubsub|channels", pubsub_channels, -2, CMD_LOADING | CMD_STALE, 0, 0, 0, "pubsub slow",
     "pubsub", "List active channels", "2.8.0",
     "O(N) where N is the number of active channels, and assuming constant time pattern "
     "matching (relatively short channels and patterns)",
     NULL},
    {"pubsub|help", pubsub_help, 2, CMD_LOADING | CMD_STALE, 0, 0, 0, "slow", "pubsub",
     "Show helpful text about the different subcommands", "6.2.0", "O(1)", NULL},
    {"pubsub|numpat", pubsub_numpat, 2, CMD_LOADING | CMD_STALE, 0, 0, 0, "pubsub slow", "pubsub",
     "Get the count of unique patterns pattern subscriptions", "2.8.0", "O(1)", NULL},
    {"pubsub|numsub", pubsub_numsub, -2, CMD_LOADING | CMD_STALE, 0, 0, 0, "pubsub slow", "pubsub",
     "Get the count of subscribers for channels", "2.8.0",
     "O(N) for the NUMSUB subcommand, where N is the number of requested channels", NULL},
    {"pubsub|shardchannels", pubsub_shardchannels, -2, CMD_LOADING | CMD_STALE, 0, 0, 0,
     "pubsub slow", "pubsub", "List active shard channels", "7.0.0",
     "O(N) where N is the number of active shard channels, and assuming constant time "
     "pattern matching (relatively short shard channels).",
     NULL},
    {"pubsub|shardnumsub", pubsub_shardnumsub, -2, CMD_LOADING | CMD_STALE, 0, 0, 0, "pubsub slow",
     "pubsub", "Get the count of subscribers for shard channels", "7.0.0",
     "O(N) for the SHARDNUMSUB subcommand, where N is the number of requested shard channels",
     NULL},
    {NULL},
};

static void pubsub_cmd(struct cmd_req *r)
{
	/* the container alone: arity -2 answers before this */
	reply_sub_syntax(r);
}

const struct cmd_def cmd_pubsub_table[] = {
    {"psubscribe", psubscribe_cmd, -2, PS_FLAGS, 0, 0, 0, "pubsub slow", "pubsub",
     "Listen for messages published to channels matching the given patterns", "2.0.0",
     "O(N) where N is the number of patterns the client is already subscribed to.", NULL},
    {"publish", publish_cmd, 3, CMD_LOADING | CMD_STALE | CMD_FAST, 0, 0, 0, "pubsub fast",
     "pubsub", "Post a message to a channel", "2.0.0",
     "O(N+M) where N is the number of clients subscribed to the receiving channel and M is "
     "the total number of subscribed patterns (by any client).",
     NULL},
    {"pubsub", pubsub_cmd, -2, 0, 0, 0, 0, "slow", "pubsub", "A container for Pub/Sub commands",
     "2.8.0", "Depends on subcommand.", pubsub_subcmds},
    {"punsubscribe", punsubscribe_cmd, -1, PS_FLAGS, 0, 0, 0, "pubsub slow", "pubsub",
     "Stop listening for messages posted to channels matching the given patterns", "2.0.0",
     "O(N+M) where N is the number of patterns the client is already subscribed and M is "
     "the number of total patterns subscribed in the system (by any client).",
     NULL},
    {"spublish", spublish_cmd, 3, CMD_LOADING | CMD_STALE | CMD_FAST, 1, 1, 1, "pubsub fast",
     "pubsub", "Post a message to a shard channel", "7.0.0",
     "O(N) where N is the number of clients subscribed to the receiving shard channel.", NULL},
    {"ssubscribe", ssubscribe_cmd, -2, PS_FLAGS, 1, -1, 1, "pubsub slow", "pubsub",
     "Listen for messages published to the given shard channels", "7.0.0",
     "O(N) where N is the number of shard channels to subscribe to.", NULL},
    {"subscribe", subscribe_cmd, -2, PS_FLAGS, 0, 0, 0, "pubsub slow", "pubsub",
     "Listen for messages published to the given channels", "2.0.0",
     "O(N) where N is the number of channels to subscribe to.", NULL},
    {"sunsubscribe", sunsubscribe_cmd, -1, PS_FLAGS, 1, -1, 1, "pubsub slow", "pubsub",
     "Stop listening for messages posted to the given shard channels", "7.0.0",
     "O(N) where N is the number of clients already subscribed to a shard channel.", NULL},
    {"unsubscribe", unsubscribe_cmd, -1, PS_FLAGS, 0, 0, 0, "pubsub slow", "pubsub",
     "Stop listening for messages posted to the given channels", "2.0.0",
     "O(N) where N is the number of clients already subscribed to a channel.", NULL},
    {NULL},
};
