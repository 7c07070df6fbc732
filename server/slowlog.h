/*
 * slowlog.h — the slow log: commands whose execution took at least
 * slowlog-log-slower-than microseconds, newest first, at most slowlog-max-len
 * entries, read with SLOWLOG GET/LEN/RESET as in Redis 7.0.
 *
 * An entry keeps what Redis keeps: a unique id, the unix time the command
 * started, its duration in microseconds, at most 32 arguments (the 32nd
 * becomes "... (N more arguments)") each cut to 128 bytes ("... (N more
 * bytes)"), the client's address and name. Arguments arrive as MONITOR shows
 * them: the ones the command redacted (AUTH's, HELLO AUTH's user and
 * password) already read "(redacted)".
 *
 * Threads: slowlog_push and the readers from any thread; one mutex guards the
 * list (pushes happen only for slow commands, so it is off the hot path).
 * Ownership: entries are copies; callers keep their buffers.
 */
#ifndef KVSD_SLOWLOG_H
#define KVSD_SLOWLOG_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

struct conn;

/* Bounds of slowlog-log-slower-than (microseconds; 0 logs every command, -1
 * none) and slowlog-max-len (entries), Redis's. */
#define SLOWLOG_SLOWER_THAN_MIN (-1LL)
#define SLOWLOG_SLOWER_THAN_MAX LLONG_MAX
#define SLOWLOG_LEN_MAX		LONG_MAX

/* Records a command that ran for `usec` microseconds, starting at start_ms
 * (unix ms). max_len: slowlog-max-len at the time of the push. */
void slowlog_push(int argc, const char **argv, const size_t *argl, int64_t start_ms, uint64_t usec,
		  const char *peer, const char *name, long long max_len);

/* SLOWLOG GET: the newest `count` entries (count < 0: all) as Redis replies. */
void slowlog_reply(struct conn *c, long long count);
long long slowlog_len(void);
void slowlog_reset(void);
/* Frees every entry (shutdown). */
void slowlog_teardown(void);

#endif
