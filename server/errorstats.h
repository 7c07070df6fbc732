/*
 * errorstats.h — INFO errorstats: how many error replies the server sent,
 * per error code, as Redis 7.0's afterErrorReply() counts them: the code is
 * the error's first word when a space occurs within its first 31 bytes
 * (WRONGTYPE, OOM, NOAUTH, EXECABORT ...), else "ERR". Every error reply
 * counts, whichever command (or none: an unknown command, a protocol error)
 * sent it, including the errors inside an EXEC's reply.
 *
 * Codes are registered once in a process-wide table of ERRSTAT_MAX entries
 * (a new code takes a lock; kvsd sends a small fixed set, Redis caps its
 * table at 128 too); counting is per thread (a block hung on the thread's
 * worker context, one writer per counter, relaxed), summed on read.
 * CONFIG RESETSTAT records the current sums as a baseline.
 *
 * Threads: errorstats_setup before workers start (it installs net/'s error
 * observer); errorstats_count on any thread replying; errorstats_info /
 * errorstats_reset from any thread (registry lock).
 */
#ifndef KVSD_ERRORSTATS_H
#define KVSD_ERRORSTATS_H

#include <stddef.h>
#include <stdint.h>

#define ERRSTAT_MAX 128

void errorstats_setup(void);
void errorstats_teardown(void);

/* Counts one error reply whose text (without '-' and CRLF) is s[0..n). */
void errorstats_count(const char *s, size_t n);
/* The "# Errorstats" body: "errorstat_<CODE>:count=<n>\r\n" for every code
 * counted since the last reset, in byte order of the codes (as Redis's rax).
 * Caller frees with mem_free(); *len is its length. */
char *errorstats_info(size_t *len);
void errorstats_reset(void);

#endif
