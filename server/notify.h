/*
 * notify.h — keyspace notifications (Redis 7.0.15's notify.c):
 * notify-keyspace-events, and the events of commands, expiry and eviction
 * published through Pub/Sub (pubsub_publish) as
 *   __keyspace@<db>__:<key>  -> <event>    (flag K)
 *   __keyevent@<db>__:<event> -> <key>     (flag E)
 * for the classes the flags select (g $ l s h z x e t m d n; A = g$lshzxetd).
 *
 * How events are found. Redis calls notifyKeyspaceEvent() inside each
 * command; kvsd derives them around the handler instead (ntf_call), from
 * the command's name and arguments, whether it wrote (the thread's
 * db_writes moved: Redis's server.dirty), which of its keys existed before
 * and after, and, for the pops that name their key in the reply (BLPOP,
 * LMPOP, BZMPOP...), the reply — in Redis's order per key: expired (lazy
 * expiry during a lookup), keymiss, new, the command's event(s), del. Keys
 * the db layer removes by itself (lazy and active expiry, eviction) are
 * reported by the drop hook (aof_drop.c) through ntf_drop().
 *
 * Delivery after commit. Inside a command the events are collected in the
 * thread's buffer (wctx->ntf, set by ntf_begin for the duration of a
 * command) and published by ntf_end after the command (and its AOF record)
 * completed: EXEC and scripts, which may run an attempt again on conflict,
 * cut the buffer back to the committed mark (ntf_mark / ntf_reset) when an
 * attempt is dropped, so each event of the committed attempt is published
 * exactly once. Outside a command (the active expire cycle, eviction before
 * a command) an event is published at once.
 *
 * Ordering: one connection's events arrive in its commands' order; events
 * of different connections on different workers interleave in the order
 * their commands completed (per key, writes of one key from two
 * connections at the same moment may be seen in either order).
 *
 * Cost when disabled (notify-keyspace-events ""): one relaxed load per
 * command (ntf_call) and per removal by the db layer (ntf_drop).
 *
 * Threads: ntf_apply on the CONFIG SET thread; everything else on the
 * thread running the command (or the expire cycle), with its wctx.
 */
#ifndef KVSD_NOTIFY_H
#define KVSD_NOTIFY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cmd_req;
struct cmd_def;
struct wctx;
struct db;
struct db_drop;

/* Redis's NOTIFY_* bits */
#define NTF_KEYSPACE (1 << 0)  /* K */
#define NTF_KEYEVENT (1 << 1)  /* E */
#define NTF_GENERIC  (1 << 2)  /* g */
#define NTF_STRING   (1 << 3)  /* $ */
#define NTF_LIST     (1 << 4)  /* l */
#define NTF_SET	     (1 << 5)  /* s */
#define NTF_HASH     (1 << 6)  /* h */
#define NTF_ZSET     (1 << 7)  /* z */
#define NTF_EXPIRED  (1 << 8)  /* x */
#define NTF_EVICTED  (1 << 9)  /* e */
#define NTF_STREAM   (1 << 10) /* t */
#define NTF_KEY_MISS (1 << 11) /* m */
#define NTF_MODULE   (1 << 13) /* d */
#define NTF_NEW	     (1 << 14) /* n */
#define NTF_ALL                                                                                    \
	(NTF_GENERIC | NTF_STRING | NTF_LIST | NTF_SET | NTF_HASH | NTF_ZSET | NTF_EXPIRED |       \
	 NTF_EVICTED | NTF_STREAM | NTF_MODULE)

/* The flags (notify_cfg.c): written by ntf_apply (CONFIG SET, start-up),
 * read by every command and removal. Relaxed: a flag word that publishes
 * nothing else; a command that starts just after a CONFIG SET may still see
 * the old value, as a command in Redis that ran just before it would. */
extern _Atomic int ntf_flags_g;

/* A command's collected events (opaque but for the caller's storage). */
struct ntf_buf {
	char *p;
	size_t len, cap;
	/* the client running the command (conn_id; 0: none): client tracking's
	 * NOLOOP leaves it out of its own invalidations */
	uint64_t writer;
};

/* Redis's keyspaceEventsStringToFlags: the flags, or -1 for an unknown
 * character. */
int ntf_parse(const char *s, size_t len);
/* Redis's keyspaceEventsFlagsToString into out (at least 16 bytes). */
size_t ntf_format(int flags, char *out);
/* notify-keyspace-events' parser (config_table.c): the canonical string of
 * s into out (at least 16 bytes) and its length, (size_t)-1 if invalid. */
size_t ntf_config_parse(const char *s, size_t len, char *out);
/* notify-keyspace-events' apply function (config_table.c). */
int ntf_apply(char *why, size_t whylen);

/* Runs d's handler for r, with its events collected when notifications
 * are on. In place of d->proc(r) (dispatch, EXEC, scripts). */
void ntf_call(struct cmd_req *r, const struct cmd_def *d);

/* A command starts (b: the caller's zeroed buffer) / ends: the events it
 * collected are published and b is freed. */
void ntf_begin(struct wctx *ctx, struct ntf_buf *b);
void ntf_end(struct wctx *ctx, struct ntf_buf *b);
/* Where the events of ctx's current command end now; ntf_reset cuts them
 * back to a mark (a dropped EXEC / script attempt). No-ops outside one. */
size_t ntf_mark(const struct wctx *ctx);
void ntf_reset(struct wctx *ctx, size_t mark);

/* For writes outside ntf_call (a blocked client served by another's push,
 * blocking.h): the flags now (0: notifications are off; one relaxed load),
 * and an event of class cls on key in database db, under those flags —
 * collected if a command runs on this thread, else published at once. */
static inline int ntf_flags(void)
{
	/* relaxed: see ntf_flags_g */
	return atomic_load_explicit(&ntf_flags_g, memory_order_relaxed);
}
void ntf_event(int flags, int cls, const char *ev, int db, const char *key, size_t klen);

/* Client tracking (tracking.h): key (NULL: a flush) was changed; its
 * invalidation is collected with the command's events and sent by ntf_end,
 * after the command committed (cut back by ntf_reset with them), or sent
 * at once outside a command. */
void ntf_track(struct wctx *ctx, const char *key, size_t klen);

/* The db layer removed d->key by itself (storage/db.h's drop hook, after
 * a removal that won): "expired" or "evicted". Any thread. */
void ntf_drop(struct db *db, const struct db_drop *d);

#endif
