/*
 * kvsd_proc — start and stop a real kvsd (or redis-server) for black-box tests.
 *
 * The binary comes from $KVSD_BIN (meson sets it). kvsd_start() picks a free loopback port,
 * forks and execs the server with `--port P --bind 127.0.0.1 --threads 2 --loglevel warning`,
 * the caller's extra arguments and the words of $KVSD_EXTRA_ARGS, and waits (at most 10 s)
 * until it answers PING (any reply counts, so a NOAUTH error also means "up"). When
 * $KVSD_BIN is a redis-server the kvsd-only `--threads` is left out and persistence is turned
 * off, so the tests themselves can be checked against Redis. The child's stdout and stderr go
 * to a temporary file that kvsd_log() reads back; kvsd_stop() sends SIGTERM and reaps the
 * child, sending SIGKILL if it has not exited in time.
 *
 * Threads: a struct kvsd_proc belongs to one thread. Call kvsd_start() before creating other
 * threads where possible (fork in a threaded process is safe here: the child only execs).
 * kvsd_connect() may be called from any thread; each context belongs to its caller.
 *
 * Ownership: kvsd_stop() / kvsd_kill() remove the log file; the struct itself is the caller's.
 *
 * Errors: functions return 0 or -errno; exit statuses are encoded as the exit code (0..255),
 * or 128 + signal number when the child was killed by a signal.
 */
#ifndef KVSD_TEST_PROC_H
#define KVSD_TEST_PROC_H

#include <stddef.h>
#include <sys/types.h>

#include <hiredis/hiredis.h>

#define KVSD_PROC_MAX_ARGS 64

struct kvsd_proc {
	pid_t pid;	    /* 0 when no child is running */
	int port;	    /* loopback TCP port the server listens on */
	int is_redis;	    /* KVSD_BIN is a redis-server (tests may skip kvsd-only checks) */
	char log_path[256]; /* child's stdout + stderr */
	int status;	    /* encoded exit status once reaped, else -1 */
	int keep_log; /* set by the caller: kvsd_stop() keeps the log; kvsd_kill() removes it */
	/* set by the caller: > 0 starts the server with RLIMIT_NOFILE soft = hard = nofile
	 * (as `prlimit --nofile=N:N`), unable to raise it even when the tests run as root */
	long nofile;
};

/*
 * kvsd_start: (p zeroed, or reused after kvsd_stop) start the server with the standard flags plus
 * extra_args (NULL-terminated, may be NULL; a `--threads` there replaces the default 2) and wait
 * until it answers PING. Tries up to three ports in case one is taken between choosing and binding
 * it. Returns 0, or -errno (-ETIMEDOUT: never answered; -ECHILD: it exited, status in p->status and
 * its output in kvsd_log()).
 */
int kvsd_start(struct kvsd_proc *p, const char *const *extra_args);

/*
 * kvsd_spawn: fork and exec KVSD_BIN with exactly argv[1..] = args (NULL-terminated; no
 * standard flags added, KVSD_EXTRA_ARGS ignored), without waiting for it. Used to check that
 * a bad configuration makes the server exit. Returns 0 or -errno.
 */
int kvsd_spawn(struct kvsd_proc *p, const char *const *args);

/*
 * kvsd_wait: wait at most timeout_ms for the child to exit. Returns the encoded exit status,
 * or -ETIMEDOUT (child still running).
 */
int kvsd_wait(struct kvsd_proc *p, int timeout_ms);

/*
 * kvsd_stop: SIGTERM the child and wait at most timeout_ms; on timeout SIGKILL it and return
 * -ETIMEDOUT. Otherwise returns the encoded exit status (tests assert 0: under ASan a leak
 * makes it non-zero). Removes the log file unless p->keep_log or $KVSD_KEEP_LOGS is set. Safe to
 * call when the child has already been reaped.
 */
int kvsd_stop(struct kvsd_proc *p, int timeout_ms);

/* kvsd_kill: SIGKILL and reap (cleanup path); removes the log file. */
void kvsd_kill(struct kvsd_proc *p);

/*
 * kvsd_log: read the child's output into buf (NUL-terminated, truncated to the last cap - 1
 * bytes). Returns the number of bytes stored, or -errno.
 */
ssize_t kvsd_log(const struct kvsd_proc *p, char *buf, size_t cap);

/* kvsd_dump_log: print the tail of the child's output to stderr (for failure messages). */
void kvsd_dump_log(const struct kvsd_proc *p);

/*
 * kvsd_connect: a hiredis connection to the server with a 10 s connect and read timeout.
 * Returns NULL only when hiredis could not allocate; check ctx->err otherwise.
 */
redisContext *kvsd_connect(const struct kvsd_proc *p);

/* kvsd_raw_connect: a plain blocking TCP socket to the server, or -errno. */
int kvsd_raw_connect(const struct kvsd_proc *p);

/* kvsd_raw_send: write all of buf (MSG_NOSIGNAL). Returns 0 or -errno (e.g. -EPIPE). */
int kvsd_raw_send(int fd, const void *buf, size_t len);

/*
 * kvsd_raw_recv: read into buf until `want` bytes have arrived, the peer closed (EOF or
 * reset: *closed = 1), or timeout_ms passed (*closed = 0). buf gets a NUL after the data, so
 * cap must exceed want. Returns the number of bytes read.
 */
size_t kvsd_raw_recv(int fd, char *buf, size_t cap, size_t want, int timeout_ms, int *closed);

/* kvsd_free_port: a loopback TCP port nothing listens on right now, or -errno. */
int kvsd_free_port(void);

/* kvsd_bin_is_redis: $KVSD_BIN is a redis-server (used to check the tests themselves). */
int kvsd_bin_is_redis(void);

/* kvsd_now_ms: CLOCK_MONOTONIC in milliseconds. */
long long kvsd_now_ms(void);

/* kvsd_sleep_ms: sleep, resuming after signals. */
void kvsd_sleep_ms(long ms);

#endif
