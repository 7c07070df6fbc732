/*
 * pubsub.h — Pub/Sub across workers: SUBSCRIBE / PSUBSCRIBE / SSUBSCRIBE and
 * their UNSUBSCRIBEs, PUBLISH / SPUBLISH, PUBSUB's subcommands, with Redis
 * 7.0.15's replies; and pubsub_publish(), the seam other modules (keyspace
 * notifications) publish through.
 *
 * Model. A subscriber's connection may run on any worker, and so may a
 * publisher's. The registry maps a channel (or shard channel) to the links
 * of its subscribers, in PS_SHARDS mutex-protected hash shards, and keeps
 * the patterns in one list under a read-write lock (PUBLISH takes it for
 * reading, and only while some pattern exists). Each channel and each
 * pattern has a log: PUBLISH writes the message's frame once into the log's
 * current chunk (reference counted, up to 64 KB; for the receivers of each
 * matching pattern, once more into that pattern's log, with the pattern's
 * bulk), and each subscribed client has a mailbox, a FIFO of runs (a chunk
 * and a byte range in it) under the client's own mutex. PUBLISH appends the
 * frame to the mailbox of every receiver: when the mailbox's last run ends
 * where the frame starts, the run grows; else a run is added, which takes a
 * reference to the chunk. It wakes the receiver's connection
 * (conn_wake_fair: behind what its worker has queued, so that the
 * subscribers woken first are not left behind those woken since) when its
 * mailbox turns non-empty. With no channel and no pattern subscribed
 * anywhere, PUBLISH is two atomic loads. The subscriber's runner (net's
 * deliver hook, pubsub_deliver) copies what its mailbox holds into its
 * reply buffer in its own protocol (a RESP2 run is copied as it is; RESP3
 * puts '>' for the first byte of each frame), a window at a time, and drops
 * the chunk references of the runs it took: a chunk is freed once every
 * run into it was delivered or dropped (unsubscribe, close, output limit)
 * and its log moved on or was freed (its last subscriber gone). So
 * subscribers that do not read share one copy of the backlog: each holds
 * one run (24 bytes) per chunk of each source it lags on, beside a window
 * of formatted bytes (PS_OUT_WINDOW) in its reply buffer. A log whose
 * chunk nobody else references rewinds it, so a channel whose receivers
 * keep up holds one small chunk.
 *
 * Ordering. One publisher's PUBLISH appends to each mailbox before it
 * returns, and a mailbox is FIFO: per publisher, a subscriber receives in
 * publish order. A subscription is linked (under the shard or pattern lock)
 * before its confirmation is appended, and an unsubscription unlinked before
 * its reply: a PUBLISH that starts after SUBSCRIBE's reply was sent finds
 * the subscriber; one that starts after UNSUBSCRIBE's reply does not.
 * Before running a command of a subscribed client, dispatch drains its
 * mailbox (pubsub_deliver with no window), so a message queued before a
 * command precedes that command's reply (UNSUBSCRIBE's confirmation follows
 * the messages of the channel published before it).
 *
 * Backpressure (client-output-buffer-limit pubsub, which net/ keeps:
 * net_pubsub_output_limit): PUBLISH checks the
 * receiver's queued bytes (each message counted as the bytes it will be
 * formatted to) at each append: over the hard limit, or over the soft one
 * for more than soft-seconds, the mailbox is emptied, takes nothing more,
 * and the connection is killed (conn_kill); pubsub_cron checks the
 * subscribers over the soft limit again without a PUBLISH. The queued bytes
 * count as Redis counts its reply list (net_reply_list_bytes: 20,464-byte
 * blocks at 20,504 bytes each), the formatted window standing for Redis's
 * static 16 KB buffer, which Redis does not count either; CLIENT LIST shows
 * the same figure as omem. A publisher only appends under a short lock: it
 * never waits for a subscriber.
 *
 * Threads: the command handlers and pubsub_deliver on the connection's
 * runner; pubsub_publish from any worker thread (inside or outside a
 * command); pubsub_conn_close on the closing thread; the statistics from
 * any thread. Lock order: a shard lock or the pattern lock, then a mailbox
 * lock; shard locks are never held together, nor with the pattern lock.
 * Lifetime: a publisher calls conn_wake / conn_kill only while holding the
 * lock of a structure the subscriber is linked in; pubsub_conn_close unlinks
 * the client from all of them before returning (net/conn.h's rule).
 * Progress: blocking (short critical sections).
 */
#ifndef KVSD_PUBSUB_H
#define KVSD_PUBSUB_H

#include <stdbool.h>
#include <stddef.h>

struct conn;
struct cmd_def;
struct cmd_req;

/* Formatted bytes a runner keeps in a subscriber's reply buffer at most
 * (beyond that, messages wait in the mailbox as references). */
#define PS_OUT_WINDOW (16 * 1024)

void pubsub_setup(void);
/* After every connection is closed. */
void pubsub_teardown(void);

/*
 * Publishes msg on channel (shard: a shard channel, SPUBLISH's) to every
 * subscriber of the channel and, unless shard, of each pattern matching it.
 * Returns the number of receivers as Redis counts them (a client subscribed
 * to the channel and to a matching pattern counts twice). Any worker thread;
 * never blocks on a subscriber.
 */
long pubsub_publish(const char *channel, size_t chlen, const char *msg, size_t len, bool shard);

/* net's deliver hook, c's runner: formats up to about max_bytes of c's
 * queued messages into its reply buffer (at least one message when any is
 * queued). True if messages remain queued. */
bool pubsub_deliver(struct conn *c, size_t max_bytes);
/*
 * After a script (EVAL, FCALL) wrote its reply since reply mark `mark`:
 * deliver the client's queued messages ahead of that reply — what Redis
 * sends when a subscribed RESP3 client's script publishes to it (the
 * message is written into the client's buffer while the script runs). No-op
 * for a client without subscriptions. On the client's own thread.
 */
void pubsub_deliver_before(struct cmd_req *r, size_t mark);

/* c has a subscription (Redis's CLIENT_PUBSUB flag). Runner. */
bool pubsub_active(const struct conn *c);
/* RESP2 subscribed mode refuses every command but these (by name). */
bool pubsub_cmd_allowed(const struct cmd_def *d);
/* RESET: drops every subscription, without replies. Runner. */
void pubsub_reset(struct conn *c);
/* net's close hook: unlinks c's subscriptions and frees its mailbox. */
void pubsub_conn_close(struct conn *c, void *session);

/* hz times a second (worker 0's cron): closes the subscribers that have been
 * over the soft limit for more than soft-seconds although nothing was
 * published to them since, as Redis's clientsCron does. Any one thread. */
void pubsub_cron(void);

/* INFO: distinct channels, patterns and shard channels with subscribers. */
long pubsub_nchannels(void);
long pubsub_npatterns(void);
long pubsub_nshard_channels(void);

#endif
