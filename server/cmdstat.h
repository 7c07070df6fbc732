/*
 * cmdstat.h — per-command statistics for INFO commandstats: calls, time spent
 * (usec), failed calls (the command answered an error) and rejected calls
 * (refused before running: arity, NOAUTH, OOM), as Redis 7.0 reports them.
 *
 * Each thread that records gets its own array of counters (one row per
 * command index, assigned by cmd.c), hung on its worker context (wctx.h, the
 * argument of the recording calls), created on its first call and kept until
 * cmdstat_teardown(), so recording is a load and a store on a line no other
 * thread writes. Readers (INFO) sum the arrays under a registry lock.
 * CONFIG RESETSTAT does not write other threads' counters: it records the
 * current sums as a baseline that later reports subtract.
 *
 * Threads: cmdstat_setup / cmdstat_teardown on the main thread while no
 * command runs; cmdstat_call / cmdstat_reject from any thread, each thread
 * writing only its own array; cmdstat_foreach / cmdstat_reset from any
 * thread (registry lock).
 * Ordering: counters are statistics (relaxed); they publish nothing.
 */
#ifndef KVSD_CMDSTAT_H
#define KVSD_CMDSTAT_H

#include <stddef.h>
#include <stdint.h>

struct wctx;

struct cmdstat_row {
	uint64_t calls, usec, failed, rejected;
};

/* names[i] (static storage, e.g. "get", "config|get") is command index i. */
void cmdstat_setup(const char *const *names, size_t n);
void cmdstat_teardown(void);

/* w: the calling thread's context (the request's). */
void cmdstat_call(struct wctx *w, size_t idx, uint64_t usec, int failed);
void cmdstat_reject(struct wctx *w, size_t idx);
/* A blocked command answered (Redis 7.0's updateStatsOnUnblock): its call was
 * counted when it ran; this adds the time its answer took, and a failed call
 * if the answer is an error. */
void cmdstat_unblocked(struct wctx *w, size_t idx, uint64_t usec, int failed);

/* Calls fn for every command with at least one call or rejection since the
 * last reset, in index order. */
void cmdstat_foreach(void (*fn)(const char *name, const struct cmdstat_row *r, void *arg),
		     void *arg);
void cmdstat_reset(void);

#endif
