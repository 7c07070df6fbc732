/*
 * net.h — kvsd's network layer: listeners, worker threads and the hand-off
 * of parsed commands to the server.
 *
 * net_setup() starts `threads` workers, each running its own libevent
 * event_base in its own thread, and opens the listening sockets (TCP on each
 * bind address, plus a unix socket if configured). The main thread runs the
 * listener loop (net_run) which accepts connections and hands each to a
 * worker (conn-assign: round-robin, least-loaded or single) through that
 * worker's MPSC inbox, waking it through its event loop. Connections are
 * tasks: readiness on the owner's loop schedules one onto the owner's
 * work-stealing deque, and any worker may run it (worker.c explains the
 * scheduler: stealing, parking, at most half the workers searching).
 * Workers parse requests and call the dispatch function for every complete
 * command.
 *
 * Threads: net_setup / net_run / net_teardown on the main thread;
 * net_stop() from any thread (signal handler context excluded: it is called
 * from a libevent signal event). net_set_* from any thread (relaxed atomics:
 * a limit changing a moment late is harmless).
 * Ownership: net owns every connection; dispatch borrows it for one call.
 * Errors: 0 / -errno from net_setup with a message in err.
 */
#ifndef KVSD_NET_H
#define KVSD_NET_H

#include <limits.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct conn;

/*
 * Limits net/ owns. The config table (server/config_table.c) takes the bounds
 * of its rows from here; most are Redis 7.0's bounds for the same parameter.
 */
/* port, unixsocketperm (octal), bind (addresses: Redis's CONFIG_BINDADDR_MAX) */
#define NET_PORT_MAX	       65535
#define NET_UNIXSOCKETPERM_MAX 0777
#define NET_BIND_MAX	       16
/* tcp-backlog (listen() takes an int); timeout, tcp-keepalive and
 * shutdown-timeout, in seconds; threads */
#define NET_BACKLOG_MAX INT_MAX
#define NET_SECONDS_MAX INT_MAX
#define NET_THREADS_MAX 1024
/* maxclients: Redis's bounds; what the descriptors allow is checked by
 * net_fd_limit_clients() when it is set */
#define NET_MAXCLIENTS_MIN 1
#define NET_MAXCLIENTS_MAX 4294967295LL
/* proto-max-bulk-len at least (its ceiling is what storage holds);
 * client-query-buffer-limit; client-output-pause-limit (output limits are
 * clamped to it); run-budget-commands */
#define NET_BULK_LEN_MIN     (1024 * 1024)
#define NET_QUERY_LIMIT_MIN  (1024 * 1024)
#define NET_QUERY_LIMIT_MAX  LLONG_MAX
#define NET_OUTPUT_LIMIT_MAX LLONG_MAX
#define NET_RUN_BUDGET_MIN   1
#define NET_RUN_BUDGET_MAX   INT_MAX
/* hz: any value 0..NET_HZ_ACCEPT_MAX is accepted and clamped into
 * NET_HZ_MIN..NET_HZ_MAX, as Redis does (CONFIG_MIN_HZ, CONFIG_MAX_HZ) */
#define NET_HZ_ACCEPT_MAX INT_MAX
#define NET_HZ_MIN	  1
#define NET_HZ_MAX	  500
/* Descriptors kvsd keeps beside its clients: Redis's CONFIG_MIN_RESERVED_FDS
 * for listeners, the log and files, plus each worker's event loop (epoll and
 * its wake-up eventfd) and io_uring (net/uring.h) with room to spare. */
#define NET_RESERVED_FDS   32
#define NET_FDS_PER_WORKER 4

/* Runs one command. argv[i] has argl[i] bytes (not NUL-terminated). */
typedef void (*net_dispatch_fn)(struct conn *c, int argc, const char **argv, const size_t *argl);
/* Called on each worker thread when it starts / before it exits (register with
 * the storage reclaimer etc.), and on every worker every 1000/hz ms. */
typedef void (*net_thread_fn)(int worker_idx);
/* Called by a worker between commands and between tasks, when it holds no map
 * pointer (dispatch must not keep one past its return); and around blocking
 * in the event loop. */
typedef void (*net_quiesce_fn)(void);

/* net_opts.prefetch: at most this many requests looked at ahead. */
#define NET_PEEK_MAX	 16
#define NET_PEEK_BACKOFF 15
struct resp_peek; /* net/resp.h */

struct net_opts {
	const char *bind; /* space-separated addresses; "" = none */
	int port;	  /* 0 = no TCP listener */
	const char *unixsocket;
	int unixsocketperm;
	int tcp_backlog;
	int threads;
	/* io-uring: each worker sends the last replies of its runs in batches
	 * through an io_uring of its own (net/uring.h); without it, or if the
	 * kernel refuses io_uring, one send(2) per run */
	bool io_uring;
	net_dispatch_fn dispatch;
	/* thread_start/thread_stop: on each worker thread as it starts and
	 * ends. thread_cron: hz times a second on worker 0's loop (called with
	 * 0; the other workers' ticks serve their own connections only). */
	net_thread_fn thread_start, thread_stop, thread_cron;
	net_quiesce_fn quiescent, offline, online;
	/* Called when a connection joins its worker's loop, before its first
	 * command (by the holder of that loop's token): returns the server's
	 * session for it (conn_session()) and sets its attributes' defaults
	 * (conn_set_authenticated when no password). May be NULL. */
	void *(*conn_init)(struct conn *c);
	/* Called by the closing thread before a connection is freed, with what
	 * conn_init returned (NULL if conn_init never ran: a connection closed
	 * before it was attached). Frees the session. May be NULL. */
	void (*conn_close)(struct conn *c, void *session);
	/* A blocked connection (conn_block) runs: called on its runner; returns
	 * true once the server appended the blocked command's reply (the
	 * connection then runs its pipeline again), false while it still
	 * waits. Required if the server calls conn_block. */
	bool (*resume)(struct conn *c);
	/* Background work in slices (active expiry): called online on worker
	 * 0's loop right after its thread_cron, and again on each later
	 * pass of that loop while it returns true, so the worker's readiness,
	 * tasks and clients are served between slices; a slice should last about
	 * a millisecond. Called by the holder of the loop's token (the owner, or
	 * a guest while the owner is stuck in a task). May be NULL. */
	bool (*thread_slice)(int worker_idx);
	/* Called on the runner before a connection's pending replies are
	 * written (the AOF's appendfsync always: not before the fsync that
	 * covers them). true: write them. false: hold them — net writes
	 * nothing, runs and reads nothing more of the connection (its
	 * handlers already ran; only their output waits) until the server
	 * calls conn_wake(c); the next run calls before_write again. Must not
	 * block. Rules of conn_wake's lifetime apply (conn.h): the server
	 * keeps no pointer to c once conn_close returned. May be NULL. */
	bool (*before_write)(struct conn *c);
	/* Messages other threads queued for the connection (Pub/Sub): called
	 * on the runner at the start of each run and, while it returns true
	 * (more queued), again each time the pending replies were written out,
	 * with the bytes the server may append (about; at least one message).
	 * A thread that queues a message wakes the connection (conn_wake).
	 * May be NULL. */
	bool (*deliver)(struct conn *c, size_t max_bytes);
	/* Called on the runner between two commands of a run when at least
	 * two more complete requests wait in the query buffer: the next n
	 * (2 <= n <= NET_PEEK_MAX) of them, in order, none run yet
	 * (resp_req_peek: pointers into the buffer, valid during the call). A hint,
	 * for prefetching what they will read: it must change nothing, and the
	 * requests still run through dispatch as usual. Called where dispatch
	 * may be (the runner is online), and the same rules hold for map
	 * pointers. Not called for connections that must still authenticate.
	 * Returns whether it had a use for them: after false, net skips the
	 * connection's next NET_PEEK_BACKOFF look-aheads (a pipeline of GETs
	 * does not pay a second parse of every request for nothing). May be
	 * NULL. */
	bool (*prefetch)(struct conn *c, int n, const struct resp_peek *reqs);
};

int net_setup(const struct net_opts *o, char *err, size_t errlen);
/* Serves fd (a connected socket, e.g. one end of a socketpair) as a client
 * connection of its own, as if accepted on the unix socket: the AOF loader
 * replays files through it. *id receives the connection's id before any
 * worker can run it (relaxed store; the hand-off to the worker releases
 * it). After net_setup. Any thread. */
void net_adopt(int fd, _Atomic uint64_t *id);
/* Runs the listener loop until net_stop(). */
void net_run(void);
/* Asks net_run to return (SHUTDOWN, signals). Thread-safe. */
void net_stop(void);
/* Closes listeners, stops and joins workers, frees every connection. */
void net_teardown(void);

/* Runtime limits (CONFIG SET). */
void net_set_maxclients(long n);
/*
 * Raises the soft RLIMIT_NOFILE (never the hard limit, whatever the
 * privileges) so that `clients` connections fit beside kvsd's own
 * descriptors (NET_RESERVED_FDS + NET_FDS_PER_WORKER per worker).
 * Returns how many clients fit now: `clients`, or the most that the hard
 * limit allows (possibly < 1). Any thread.
 */
long long net_fd_limit_clients(long long clients, int threads);
/* hz: frequency of each worker's cron (idle timeouts, CLIENT PAUSE ends,
 * the server's thread_cron); clamped into NET_HZ_MIN..NET_HZ_MAX. Running
 * workers switch to the new interval at once. Any thread. */
void net_set_hz(int hz);
void net_set_timeout(long seconds);
/* worker-nap-us: a worker that ran two or more connections since it last
 * waited in its loop sleeps us microseconds before it waits again (worker.c:
 * park_worker); 0 = never. At most NET_NAP_US_MAX. */
#define NET_NAP_US_MAX 1000
void net_set_worker_nap_us(long us);
/* worker-pipeline-nap-us: the same nap, only after a pass whose connections
 * pipelined (two or more run, NET_PIPELINED_CMDS commands per run or more
 * on average); worker-nap-us, when set, takes precedence. 0 = never. */
#define NET_PIPELINED_CMDS 4
void net_set_worker_pipeline_nap_us(long us);
void net_set_tcp_keepalive(long seconds);
void net_set_query_limit(long long bytes);
void net_set_max_bulk(long long bytes);
/* Refuse non-loopback TCP peers with Redis's DENIED text (protected-mode yes
 * and no password). */
void net_set_protected_mode(int on);
/*
 * CONFIG SET bind / port: listens on the space-separated addresses of bind at
 * port (0: as at start-up) instead of the current TCP listeners; the unix
 * socket is kept. New sockets are bound before the old ones close, except
 * when they collide with them (same port): then the old ones close first and
 * a failure leaves no TCP listener. Before net_setup() it does nothing (the
 * options given to net_setup are used). Any thread. 0, or -errno with a
 * reason in err.
 */
int net_listen_tcp(const char *bind, int port, char *err, size_t errlen);
/* Closes the listening sockets (first step of shutdown); net_listen_tcp()
 * opens none after this. Main thread. */
void net_close_listeners(void);
/* The TCP port actually bound (useful with port 0). */
int net_tcp_port(void);
/* The listener's event base, for the server's signal and cron events. */
struct event_base *net_main_base(void);

/* Scheduling and backpressure (work-stealing issue). Any thread. */
void net_set_work_stealing(int on);
/* 0 round-robin, 1 least-loaded, 2 single (every connection on worker 0) */
void net_set_conn_assign(int policy);
/* Commands a connection runs before yielding to others on its worker. */
void net_set_run_budget(long commands);
/*
 * client-output-buffer-limit, normal class (kvsd has only normal clients):
 * bytes, 0 = no limit. As in Redis, the first NET_REPLY_STATIC_BYTES of
 * pending replies (Redis's static reply buffer) do not count, and what lies
 * beyond counts at least that much (a reply-list node): over hard → closed
 * at once, without sending anything more; over soft for more than
 * soft_seconds → closed.
 */
#define NET_REPLY_STATIC_BYTES (16 * 1024)
void net_set_output_limit(long long hard, long long soft, long soft_seconds);
/* client-output-buffer-limit, pubsub class: kept here beside the normal
 * class and read by the server's Pub/Sub mailboxes (server/pubsub.h), which
 * apply it to the messages queued for a subscriber. Any thread (relaxed). */
void net_set_pubsub_output_limit(long long hard, long long soft, long soft_seconds);
void net_pubsub_output_limit(long long *hard, long long *soft, long *soft_seconds);
/*
 * What Redis 7.0 counts for n bytes of replies in its reply list
 * (getClientOutputBufferMemoryUsage: the allocated size of each block plus
 * its list node and block header, 40 bytes): n is cut into blocks of
 * NET_REPLY_BLOCK_BYTES, the usable size of the 16 KB chunk
 * (PROTO_REPLY_CHUNK_BYTES + its 16-byte header) that jemalloc rounds to
 * 20,480; the last block counts whole. Exact for replies of at most 16 KB
 * (a Pub/Sub message up to about that size); for larger ones Redis's
 * blocks are sized to the reply and this undercounts their rounding. 0 for 0.
 */
#define NET_REPLY_BLOCK_BYTES (20480 - 16)
static inline size_t net_reply_list_bytes(size_t n)
{
	return (n + NET_REPLY_BLOCK_BYTES - 1) / NET_REPLY_BLOCK_BYTES *
	       (NET_REPLY_BLOCK_BYTES + 40);
}
/* client-output-pause-limit: stop reading a client whose pending replies
 * exceed this many bytes until they drain; 0 = never. */
void net_set_output_pause_limit(long long bytes);

/* Per-worker scheduler statistics (INFO # Kvsd). 0, or -ENOENT for a bad index. */
struct net_worker_stats {
	uint64_t tasks, steals, failed_steals, parks, wakeups;
	uint64_t naps;		     /* worker-nap-us sleeps before a park */
	uint64_t lookaheads, peeked; /* net_opts.prefetch calls, requests they showed */
	uint64_t lookaheads_used;    /* those calls that had a use for them (returned true) */
	uint64_t polled_by_guest;    /* this worker's loop polled by another while it was stuck */
	uint64_t guest_polls;	     /* stuck workers' loops this worker polled */
	uint64_t defer_overdue;	     /* deferred wake-ups that waited DEFER_MAX_NS (worker.c) */
	uint64_t handoffs;	     /* yielded connections given to a parked peer (worker.c) */
	uint64_t flood_polls;	     /* polls of the own loop before a flood's slice (worker.c) */
	/* system calls by kind: client reads (and those that got EAGAIN),
	 * client writes (and those that found the socket full), non-blocking
	 * polls of the own loop; epoll_wait calls = polls + parks + guest_polls */
	uint64_t reads, reads_eagain, writes, writes_eagain, polls;
	uint64_t reads_skipped; /* reads not made: no readable edge since the last empty one */
	/* batched sends (io-uring yes: net/uring.h): ring 1 if the worker has a
	 * ring; ring_submits io_uring_enter calls; ring_sends the sends they
	 * made, counted in writes too; ring_reads the reads made on the ring
	 * by read-ahead (net/task.c), counted in reads too, their submits in
	 * ring_submits (socket system calls: reads + writes - ring_reads -
	 * ring_sends + ring_submits) */
	uint64_t ring, ring_submits, ring_sends, ring_reads;
};
int net_worker_stats(int idx, struct net_worker_stats *out);
int net_workers(void);
/* Whether worker idx has tasks queued (its deque or inbox): called by that
 * worker itself (wctx index), between tasks; a hint, exact for the owner's
 * own pushes. -1 (not a worker) or an unknown index: false. */
bool net_worker_has_tasks(int idx);

/*
 * Graceful shutdown, second step (after net_close_listeners): stop reading,
 * let every connection finish the commands already in its query buffer and
 * flush their replies, closing each when done; returns when every client is
 * closed or after timeout_ms (the rest are closed by net_teardown). Runs the
 * listener's event loop meanwhile, so signal events still fire. Main thread.
 */
struct net_drain_stats {
	long clients;	      /* connections open when the drain began */
	long clients_flushed; /* of those, closed with every reply written */
	uint64_t commands;    /* commands completed during the drain */
	uint64_t bytes;	      /* reply bytes written during the drain */
	int timed_out;
};
void net_drain(long timeout_ms, struct net_drain_stats *st);

/* CLIENT KILL: closes connections matching id (0 = any) and addr / laddr
 * (NULL = any), skipping `skip` (may be NULL). The caller's own connection is
 * closed after its reply. Returns how many were killed. Any worker thread. */
long net_client_kill(struct conn *self, uint64_t id, const char *addr, const char *laddr,
		     struct conn *skip);
/* The same, limited by client type: pubsub true kills only clients with a
 * subscription (Redis's type pubsub), false only those without (normal). */
long net_client_kill_type(struct conn *self, uint64_t id, const char *addr, const char *laddr,
			  struct conn *skip, bool pubsub);
/* CLIENT PAUSE until now+ms (all = 1: every command; 0: write commands, as
 * decided by is_write). CLIENT UNPAUSE ends it and resumes waiting clients. */
typedef int (*net_cmd_class_fn)(int argc, const char **argv, const size_t *argl);
void net_client_pause(int64_t until_ms, int all, net_cmd_class_fn is_write);
void net_client_unpause(void);
/* MONITOR: c starts receiving the lines net_monitor_feed() sends. */
void net_monitor_start(struct conn *c);
/* Sends one command, as Redis's MONITOR line ("+<time> [<db> <addr>] "arg"
 * ...", arguments quoted as sdscatrepr does), to every MONITOR client. The
 * server decides what is shown (which commands, which arguments redacted)
 * and calls it on c's runner after the command ran. One relaxed load when no
 * client monitors. */
void net_monitor_feed(struct conn *c, int argc, const char **argv, const size_t *argl);
/* The same in two steps, for lines shown later than their command ran (a
 * script's commands, shown once its attempt is the one that counts):
 * net_monitor_format appends the line (timestamped now, c's database, and
 * who — "lua" — in place of c's address unless NULL) to *line;
 * net_monitor_feed_lines sends every line in *lines to every MONITOR
 * client. net_monitor_any: 1 if some client may be monitoring (a relaxed
 * hint: formatting can be skipped when 0). */
struct buf;
void net_monitor_format(struct buf *line, struct conn *c, const char *who, int argc,
			const char **argv, const size_t *argl);
void net_monitor_feed_lines(const struct buf *lines);
int net_monitor_any(void);

/*
 * Large arguments without a copy. A bulk argument of NET_BIG_ARG bytes or
 * more (Redis's PROTO_MBULK_BIG_ARG) arrives in an allocation of its own
 * (mem_alloc), starting with the argument's bytes. During dispatch, on the
 * connection's runner: net_arg_adoptable() says whether argv pointer arg is
 * such an allocation that net still owns; net_arg_adopt() hands it over —
 * net will not free it, the caller frees it with mem_free (typically with an
 * entry built around it). Until dispatch returns, net still reads the
 * arguments: adopt only what stays valid that long.
 */
#define NET_BIG_ARG (32 * 1024)
bool net_arg_adoptable(struct conn *c, const char *arg);
void net_arg_adopt(struct conn *c, const char *arg);

/* Statistics for INFO. */
struct net_stats {
	uint64_t connections_received;
	uint64_t rejected_connections;
	uint64_t commands_processed;
	uint64_t net_input_bytes;
	uint64_t net_output_bytes;
	uint64_t error_replies;
	long connected_clients;
	int workers;
	int tcp_port;
};
void net_get_stats(struct net_stats *s);
void net_reset_stats(void);

#endif
