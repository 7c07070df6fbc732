/*
 * latency.h — Redis's latency monitor (LATENCY LATEST / HISTORY / RESET /
 * DOCTOR / GRAPH): per event class, the last 160 one-second samples of
 * latencies (milliseconds) at or above latency-monitor-threshold, and the
 * all-time maximum. Events kvsd records, named as Redis names them:
 *   "command"       a command that is not flagged fast took >= threshold
 *   "fast-command"  a fast command (GET, SET, ...) did
 *   "expire-cycle"  one active-expiry cycle (worker 0's hz timer) did
 * kvsd has no fork, AOF, RDB or eviction-del sampling (no persistence; the
 * evictor runs inside the command that found memory over the limit, so its
 * time is in that command's sample).
 *
 * Threads: any thread may add a sample or read; one mutex guards the table
 * (samples arrive only for operations slower than the threshold, so it is
 * off the hot path; the check before it is one relaxed config load).
 */
#ifndef KVSD_LATENCY_H
#define KVSD_LATENCY_H

#include <stddef.h>
#include <stdint.h>

#define LATENCY_TS_LEN 160 /* Redis's LATENCY_TS_LEN */

struct conn;

/* Adds a sample of ms milliseconds to event when latency-monitor-threshold is
 * set and ms is at least it (Redis's latencyAddSampleIfNeeded). */
void latency_sample_if_needed(const char *event, uint64_t ms);
/* Adds the sample unconditionally (tests); now_s is the wall time in seconds. */
void latency_add_sample(const char *event, uint64_t ms, int64_t now_s);
/* Forgets event (case-insensitive) or every event when NULL; returns how many. */
int latency_reset(const char *event, size_t len);

/* Copies event's samples, oldest first (at most max), into times (seconds)
 * and lat (ms); returns how many; *all_time_max gets the event's maximum.
 * -1 when the event has none. */
int latency_samples(const char *event, int64_t *times, uint64_t *lat, int max,
		    uint64_t *all_time_max);

/* Replies: LATENCY LATEST, HISTORY <event>, DOCTOR, GRAPH <event>. */
void latency_reply_latest(struct conn *c);
void latency_reply_history(struct conn *c, const char *event, size_t len);
void latency_reply_doctor(struct conn *c);
void latency_reply_graph(struct conn *c, const char *event, size_t len);

#endif
