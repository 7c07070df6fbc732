/*
 * tzset.h — the sorted-set value (Redis's OBJ_ZSET) in its two encodings,
 * with Redis 7.0's order, conversions and score rules (t_zset.c).
 *
 * Order: by score (as doubles: -0.0 == 0.0), then by member bytes (memcmp
 * over the shorter length, the shorter first: Redis's sdscmp). A member is
 * present at most once.
 *
 * Encodings (storage/coll.h):
 *  - listpack (compact): an immutable blob after the type bytes, private to
 *    this module: a 4-byte element count, then the elements in order, each
 *    [len][member][score: the double's 8 bytes][len] (len: one byte below
 *    255, else 0xff and 4 bytes, mirrored at the end so the blob is walked
 *    both ways). Scores are kept bit-exact (-0.0 stays -0.0), as a listpack
 *    keeps d2string's text, which reads back to the same double.
 *  - skiplist (large): two persistent trees (storage/ptree.h). root[0] by
 *    score: key pt_score_key(score), a = member, b = empty — or the score's
 *    8 bytes when the score is -0.0, whose key is 0.0's; root[1] by member:
 *    key kvmap_hash(member), a = member, b = the score's 8 bytes.
 *    Deferred deletes: a pop from the low end (ZPOPMIN, BZPOPMIN, ZMPOP MIN,
 *    ZREMRANGEBYRANK/BYSCORE from rank 0) deletes its elements from the
 *    by-score tree only and leaves their by-member records in place, stale:
 *    the by-member delete is a copy of a random, cold root-to-leaf path and
 *    half of a pop's time (docs/BENCHMARKS.md, "Which half of a pop costs").
 *    The version's extension bytes (struct tzset_lazy) count the stale
 *    records and bound their scores (wmark), so a by-member record is live
 *    unless stale > 0, its score <= wmark, and the by-score tree lacks
 *    (score, member) — the by-score tree holds exactly the live elements,
 *    and only records at or below the mark pay that second lookup. Writes
 *    remove stale records in sweeps that walk the by-member tree in key
 *    order from a cursor (a leaf copy removes several at once); a record
 *    re-added by ZADD is overwritten in place. Deferral stops while stale
 *    records would exceed half the live ones (the pop then deletes both
 *    records, as before), which bounds the memory they hold; a run of pops
 *    settles near a third.
 * Conversions as Redis 7.0: a write that inserts a member into a listpack
 * converts it to a skiplist when the count would exceed
 * zset-max-listpack-entries or the member is longer than
 * zset-max-listpack-value (zsetAdd); nothing converts a skiplist back but a
 * stored result built whole (ZRANGESTORE, Z*STORE: tzset_build), which is a
 * listpack when it fits (zsetConvertToListpackIfNeeded).
 *
 * Threads: readers (tzset_count ... tzset_iter_*) read published entries
 * from any storage thread inside its epoch section, lock-free (coll.h). A
 * writer (struct tzset_w) belongs to the thread running the command, and
 * lives inside one attempt of the handler's db_put loop.
 * Ownership: items returned point into the entry (or, for a writer, into
 * its edit / its input): valid until the caller's next quiescent state, and
 * for a writer only until its next write.
 * Errors: none (allocation failure aborts).
 */
#ifndef KVSD_TZSET_H
#define KVSD_TZSET_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "storage/coll.h"
#include "storage/ptree.h"

/* One element. */
struct tz_item {
	const char *m;
	size_t mlen;
	double score;
};

/* Member order: sdscmp (memcmp, then the shorter first). */
int tz_memcmp(const char *a, size_t alen, const char *b, size_t blen);

/* ---- score and lex ranges (ZRANGEBYSCORE, ZRANGEBYLEX and friends) */
struct tz_range {
	double min, max;
	bool minex, maxex; /* exclusive bounds: "(" */
};
/* zslParseRange: each bound "(" optional then strtod over the argument up
 * to its first NUL byte, which must be consumed whole (so "" is 0 and
 * leading spaces pass, as in Redis); not NaN. 0 on error ("ERR min or max
 * is not a float"). */
int tz_range_parse(const char *min, size_t minlen, const char *max, size_t maxlen,
		   struct tz_range *out);
bool tz_range_gte_min(double v, const struct tz_range *r);
bool tz_range_lte_max(double v, const struct tz_range *r);

enum tz_lex_kind { TZ_LEX_STR, TZ_LEX_MINUS /* "-" */, TZ_LEX_PLUS /* "+" */ };
struct tz_lex {
	enum tz_lex_kind kind;
	const char *s; /* TZ_LEX_STR: the bound without its "(" or "[" */
	size_t len;
	bool ex;
};
/* zslParseLexRangeItem: "-", "+" (the argument ends at its first NUL),
 * "(x", "[x". 0 on error ("ERR min or max not valid string range item"). */
int tz_lex_parse(const char *arg, size_t len, struct tz_lex *out);
bool tz_lex_gte_min(const char *m, size_t mlen, const struct tz_lex *min);
bool tz_lex_lte_max(const char *m, size_t mlen, const struct tz_lex *max);
/* Whether no member can be in [min, max] (zslIsInLexRange's first test). */
bool tz_lex_empty(const struct tz_lex *min, const struct tz_lex *max);

/* ---- reads of a published zset entry (either encoding) */
size_t tzset_count(const struct kv_entry *e);
/* The score of member m, if present. */
bool tzset_score(const struct kv_entry *e, const char *m, size_t mlen, double *score);
/* The 0-based ascending rank of m, or -1 when absent. */
long long tzset_rank(const struct kv_entry *e, const char *m, size_t mlen);
/* The element at ascending rank i (< count). */
bool tzset_at(const struct kv_entry *e, size_t i, struct tz_item *out);
/* How many elements have a score < s (tzset_count_le: <= s). With them a
 * score range is the ranks [start, end): start = minex ? le(min) :
 * lt(min), end = maxex ? lt(max) : le(max). */
size_t tzset_count_lt(const struct kv_entry *e, double s);
size_t tzset_count_le(const struct kv_entry *e, double s);
/* Lex ranges as Redis finds them (zzl/zslFirstInLexRange,
 * ...LastInLexRange; meaningful when all scores are equal, as Redis's):
 * the first rank whose member is in [min, max], or -1; the last such rank,
 * or -1. */
long long tzset_lex_first(const struct kv_entry *e, const struct tz_lex *min,
			  const struct tz_lex *max);
long long tzset_lex_last(const struct kv_entry *e, const struct tz_lex *min,
			 const struct tz_lex *max);
/* A uniformly random element (rnd: any 64 random bits). */
void tzset_random(const struct kv_entry *e, uint64_t rnd, struct tz_item *out);

/* In-order iteration from a rank, forward or backward. Holds no resource. */
struct tzset_iter {
	bool big, reverse;
	/* listpack: the next element's first byte (forward) or the byte
	 * after it (reverse); left: elements still to visit */
	const char *p;
	size_t left;
	struct pt_iter it; /* skiplist: over root[0] */
};
/* Positioned at ascending rank i; reverse walks towards rank 0 (i ==
 * count: nothing forward; reverse from i == count - 1 is the last). */
void tzset_iter_init(struct tzset_iter *it, const struct kv_entry *e, size_t i, bool reverse);
bool tzset_iter_next(struct tzset_iter *it, struct tz_item *out);
/* Whether the by-member record (m, score) of the skiplist e is stale (its
 * element was popped: see "Deferred deletes"): walks of root[1] (ZSCAN) skip
 * those. */
bool tzset_stale(const struct kv_entry *e, const char *m, size_t mlen, double score);

/* ---- writes: one writer per attempt of a handler's db_put loop
 *
 *   struct tzset_w w;
 *   tzset_w_begin(&w, db_coll_ctx(r->view), old);   // old: zset or NULL
 *   tzset_w_put(&w, m, mlen, score); tzset_w_del(&w, m, mlen); ...
 *   e = tzset_w_finish(&w, key, klen, old ? kv_entry_expire(old) : 0); // NULL: empty
 *   rc = db_put(r->view, old, e);   // e NULL deletes the key
 *   tzset_w_end(&w);                // always, after db_put
 *
 * A listpack is rewritten (the writer keeps the elements in an array
 * pointing into the old blob and the callers' bytes, which must stay valid
 * until finish); a skiplist is edited through coll_edit(), started at the
 * first write (a command that changes nothing starts no edit; a finished
 * writer that wrote nothing still builds a new version); a listpack
 * converts as Redis's zsetAdd (see above). The caller must not read `old`
 * after the first write (its edit may write nodes in place). */
/* A skiplist version's deferred-delete state (its extension bytes; all
 * zero when none is pending). */
struct tzset_lazy {
	uint64_t stale;	 /* by-member records whose element was popped */
	double wmark;	 /* every stale record's score is <= wmark (stale > 0) */
	uint64_t cursor; /* the sweep's next by-member key */
	uint64_t debt;	 /* records the next sweep owes */
};

struct tzset_w {
	struct coll_ctx *ctx;
	const struct kv_entry *old;
	bool big;
	/* listpack */
	struct tz_item *items;
	size_t n, cap;
	/* skiplist */
	struct pt_edit *ed;
	uint64_t lineage;
	struct tzset_lazy lz; /* the state the new version will carry */
};
void tzset_w_begin(struct tzset_w *w, struct coll_ctx *ctx, const struct kv_entry *old);
size_t tzset_w_count(const struct tzset_w *w);
/* The current score of m, if present. */
bool tzset_w_score(const struct tzset_w *w, const char *m, size_t mlen, double *score);
/* Inserts m with score, or changes its score. true if it inserted. */
bool tzset_w_put(struct tzset_w *w, const char *m, size_t mlen, double score);
/* tzset_w_put of a member known to have score old (tzset_w_score just said
 * so): a skiplist skips looking it up again. */
void tzset_w_update(struct tzset_w *w, const char *m, size_t mlen, double old, double score);
/* Removes m: true if it was present. */
bool tzset_w_del(struct tzset_w *w, const char *m, size_t mlen);
/* Removes the ascending ranks [start, end) and returns how many. */
size_t tzset_w_del_ranks(struct tzset_w *w, size_t start, size_t end);
/* The element at ascending rank i of the writer's current state. */
bool tzset_w_at(const struct tzset_w *w, size_t i, struct tz_item *out);
/* The new entry (NULL when the set is empty: delete the key). */
struct kv_entry *tzset_w_finish(struct tzset_w *w, const void *key, size_t klen, int64_t expire_ms);
/* Frees the writer's own memory (not the edit: the db layer resolves it). */
void tzset_w_end(struct tzset_w *w);

/* A new sorted set holding items[0..n) (distinct members; any order: they
 * are sorted here), built in ctx: a listpack when n <= zset-max-listpack-
 * entries and every member fits zset-max-listpack-value, else a skiplist
 * (ZRANGESTORE, ZUNIONSTORE ...: zsetConvertToListpackIfNeeded). NULL when
 * n == 0. The caller db_puts it (or kv_entry_frees it). */
struct kv_entry *tzset_build(struct coll_ctx *ctx, const void *key, size_t klen,
			     const struct tz_item *items, size_t n, int64_t expire_ms);

/* ---- the type's row, statistics */
/* The type row's operations (coll.h's struct coll_type_ops), also callable
 * directly. The digest is xorObjectDigest's sorted-set part: for each
 * element a zeroed digest, mixDigest(member), mixDigest("%.17g" of the
 * score), then xorDigest'ed (its SHA-1 xored) into out, which starts
 * zeroed; DEBUG DIGEST-VALUE = SHA1(SHA1(htonl(OBJ_ZSET))) xor out, as for
 * hashes and sets (checked against redis-server 7.0.15). */
void tzset_digest(const struct kv_entry *e, unsigned char out[20]);
size_t tzset_memory(const struct kv_entry *e, long long samples);
void tzset_foreach(const struct kv_entry *e,
		   void (*fn)(const char *a, size_t alen, const char *b, size_t blen, void *arg),
		   void *arg);
struct kv_entry *tzset_copy(struct coll_ctx *c, const struct kv_entry *e, const void *key,
			    size_t klen, int64_t expire_ms);
/* Registers the sorted-set row (coll_register(KV_ZSET, ...)) at start-up.
 * sha1 computes the SHA-1 the digest mixes (server/sha1.h's sha1():
 * storage does not depend on server/, so the caller hands it in). */
void tzset_setup(void (*sha1)(const void *p, size_t n, uint8_t out[20]));

/* Hot-key figures for INFO: db_put CAS failures of sorted-set writes
 * (each one means another write to the key succeeded), summed over the
 * threads' shards. */
struct tzset_stats {
	long long cas_retries;
};
void tzset_stats(struct tzset_stats *out);
/* A sorted-set handler lost a db_put race (relaxed per-shard counter). */
void tzset_count_retry(void);

#endif
