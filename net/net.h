/*
 * net.h — kvsd's network layer: listeners, worker threads and the hand-off
 * of parsed commands to the server.
 *
 * net_setup() starts `threads` workers, each running its own libevent
 * event_base in its own thread, and opens the listening sockets (TCP on each
 * bind address, plus a unix socket if configured). The main thread runs the
 * listener loop (net_run) which accepts connections and hands each to a
 * worker round-robin through that worker's inbox (a mutex-guarded list whose
 * wake-up is an event_active() on the worker's base). Workers parse requests
 * and call the dispatch function for every complete command.
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

#include <stddef.h>
#include <stdint.h>

struct conn;

/* Runs one command. argv[i] has argl[i] bytes (not NUL-terminated). */
typedef void (*net_dispatch_fn)(struct conn *c, int argc, const char **argv, const size_t *argl);
/* Called on each worker thread when it starts / before it exits (register with
 * the storage reclaimer etc.), and on every worker every 1000/hz ms. */
typedef void (*net_thread_fn)(int worker_idx);
/* Called by a worker between tasks, when it holds no map pointer; and around
 * blocking in the event loop. */
typedef void (*net_quiesce_fn)(void);

struct net_opts {
	const char *bind; /* space-separated addresses; "" = none */
	int port;         /* 0 = no TCP listener */
	const char *unixsocket;
	int unixsocketperm;
	int tcp_backlog;
	int threads;
	int hz;
	net_dispatch_fn dispatch;
	net_thread_fn thread_start, thread_stop, thread_cron;
	net_quiesce_fn quiescent, offline, online;
	/* called on the main thread when a connection is accepted, before it runs:
	 * the server sets session defaults (authenticated when no password). */
	void (*conn_init)(struct conn *c);
};

int net_setup(const struct net_opts *o, char *err, size_t errlen);
/* Runs the listener loop until net_stop(). */
void net_run(void);
/* Asks net_run to return (SHUTDOWN, signals). Thread-safe. */
void net_stop(void);
/* Closes listeners, stops and joins workers, frees every connection. */
void net_teardown(void);

/* Runtime limits (CONFIG SET). */
void net_set_maxclients(long n);
void net_set_timeout(long seconds);
void net_set_tcp_keepalive(long seconds);
void net_set_query_limit(long long bytes);
void net_set_max_bulk(long long bytes);
/* Refuse non-loopback TCP peers with Redis's DENIED text (protected-mode yes
 * and no password). */
void net_set_protected_mode(int on);
/* Closes the listening sockets (first step of shutdown). Main thread. */
void net_close_listeners(void);
/* The TCP port actually bound (useful with port 0). */
int net_tcp_port(void);
/* The listener's event base, for the server's signal and cron events. */
struct event_base *net_main_base(void);

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
