/*
 * conn.h — a client connection as the server sees it: an opaque handle
 * whose attributes the server reads and sets through these functions during
 * dispatch, and the server's own per-connection session behind one pointer.
 *
 * net/ owns the connection: its socket, buffers, parser and scheduling are
 * net_internal.h's, and no file outside net/ touches them. Replies are
 * appended with reply.h, which also offers the marks a command needs to
 * look back at or take back what it appended. The server keeps what only it
 * reads (transactions, ...) in its session: net_opts.conn_init creates it
 * when the connection is attached, net_opts.conn_close frees it, and
 * conn_session() returns it.
 *
 * What stays in net/ (with accessors here) is what net/ itself reads: the
 * protocol version (the reply encoder), whether the client authenticated
 * (the request parser applies Redis's limits for unauthenticated clients
 * before dispatch), and what CLIENT LIST / MONITOR lines show from other
 * threads (name, db, last command, addresses), which net/ formats under its
 * own locks.
 *
 * Threads: unless noted, call these only on the thread running the
 * connection (inside dispatch or a hook net/ calls for it). resp, db and
 * last_cmd are also read by CLIENT LIST on other threads: relaxed atomics,
 * each one word read on its own (a describer needs only some value the
 * runner stored, not an order with other fields), and none publishes other
 * memory (last_cmd points to a command's static name). The name is changed
 * under the registry lock (conn_set_name).
 * Ownership: net frees a connection when it closes; the server must not keep
 * the pointer past dispatch's return.
 */
#ifndef KVSD_CONN_H
#define KVSD_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct conn;

uint64_t conn_id(const struct conn *c);
/* peer "ip:port" (or "/path:0" for the unix socket) */
const char *conn_addr(const struct conn *c);
/* CLIENT SETNAME's name or NULL; runner only */
const char *conn_name(const struct conn *c);
/* Sets or clears the client name (takes the registry lock). */
void conn_set_name(struct conn *c, const char *name, size_t len);

/* protocol version, 2 or 3 (HELLO); the encoding reply.h uses */
int conn_resp(const struct conn *c);
void conn_set_resp(struct conn *c, int resp);
/* SELECTed database */
int conn_db(const struct conn *c);
void conn_set_db(struct conn *c, int db);
/* static name of the last command, for CLIENT LIST; NULL before the first
 * command (and after an unknown one) */
const char *conn_last_cmd(const struct conn *c);
void conn_set_last_cmd(struct conn *c, const char *name);
/* AUTH / HELLO passed, or no password configured; false: the parser refuses
 * requests an unauthenticated client may not send (Redis's limits) */
bool conn_authenticated(const struct conn *c);
void conn_set_authenticated(struct conn *c, bool on);

/* The server's session: what net_opts.conn_init returned. */
void *conn_session(const struct conn *c);

/* Close after the replies appended so far are written (QUIT). */
void conn_close_after_reply(struct conn *c);
/* Close without writing anything more (SHUTDOWN). */
void conn_close_asap(struct conn *c);
/* net_monitor_start() was called for c. */
bool conn_is_monitor(const struct conn *c);

/* Calls fn for every open connection under the registry lock (CLIENT LIST,
 * INFO). fn must not block or call back into net/ except conn_id,
 * conn_killed, conn_is_pubsub and conn_describe. Any thread. */
void conn_foreach(void (*fn)(struct conn *c, void *arg), void *arg);

/* CLIENT KILL killed c (it is closing: not listed). Under conn_foreach. */
bool conn_killed(struct conn *c);

/* Number of open client connections. Any thread. */
long conn_count(void);

/*
 * Blocking commands (BLPOP and friends; server/blocking.h).
 * conn_block(): runner, during dispatch. After dispatch returns, the
 * connection runs no further command of its pipeline, but it is still read:
 * EOF closes it, the query-buffer limit still applies, CLIENT KILL and the
 * shutdown drain close it (unanswered, as Redis). Whenever it runs while
 * blocked, net calls net_opts.resume(c) on its runner: true once the server
 * appended the blocked command's reply — the pipeline then goes on.
 * A blocked connection is exempt from the idle timeout (as in Redis) and
 * shows flag 'b' in CLIENT LIST.
 * conn_wake(): any thread — makes the connection run (and so call resume,
 * or before_write again for replies it held: net.h) soon. Lifetime: net
 * frees c right after net_opts.conn_close returns, so the server must never
 * call conn_wake(c) once that hook has returned; the server's hook unlinks
 * the connection's waiter under the locks every waker holds while it wakes,
 * which guarantees it.
 * conn_blocked(): any thread, a relaxed read (statistics, CLIENT LIST).
 */
void conn_block(struct conn *c);
void conn_wake(struct conn *c);
/* As conn_wake, but c runs after what its worker has queued already: for a
 * waker that wakes many connections over and over (PUBLISH's fan-out), so
 * that the first woken do not wait behind those woken since. */
void conn_wake_fair(struct conn *c);
bool conn_blocked(const struct conn *c);
/* Any thread, under conn_wake's lifetime rule: closes c as CLIENT KILL does
 * (nothing more is written), e.g. a subscriber over its output limit. */
void conn_kill(struct conn *c);

/* Pub/Sub (server/pubsub.h): the connection's subscription counts, shown by
 * CLIENT LIST as sub= psub= ssub= and, when any is non-zero, flag 'P'.
 * Runner only. */
void conn_set_pubsub(struct conn *c, int sub, int psub, int ssub);
/* Pub/Sub: what the messages queued for c and not yet formatted by its
 * runner (net_opts.deliver) count as Redis's reply list
 * (net_reply_list_bytes of their bytes; 0: none). CLIENT LIST shows it as
 * omem, plus what c's formatted replies hold beyond Redis's static buffer.
 * Any thread under conn_wake's lifetime rule; the caller serialises its
 * stores (a relaxed mirror). */
void conn_set_queued(struct conn *c, size_t bytes);
/* c has a subscription (CLIENT LIST / KILL TYPE pubsub). Under conn_foreach
 * or any thread: relaxed mirrors, a moment late. */
bool conn_is_pubsub(struct conn *c);

/* What CLIENT LIST shows of the server's state: multi=<queued> (-1 outside
 * MULTI, and flag 'x' inside) and these flags. Runner only; stores only
 * what changed. */
#define CONN_DESC_NO_EVICT 0x1 /* 'e': CLIENT NO-EVICT on */
void conn_set_described(struct conn *c, int multi, unsigned flags);

/* Client tracking (server/tracking.h) as CLIENT LIST shows it: flags t
 * (on), R (broken redirect), B (BCAST), and redir= (-1 when off). Runner. */
#define CONN_TRK_ON	0x1
#define CONN_TRK_BROKEN 0x2
#define CONN_TRK_BCAST	0x4
void conn_set_tracking(struct conn *c, unsigned flags, long long redir);

/* Formats a CLIENT LIST / CLIENT INFO line for c into buf (NUL-terminated).
 * Under conn_foreach, or on c's runner. */
size_t conn_describe(struct conn *c, char *buf, size_t size, int64_t now_ms);

#endif
