/*
 * log.h — logging in Redis's line format:
 *   <pid>:<role> <dd Mon yyyy HH:MM:SS.mmm> <level-char> <message>
 * with role 'M' (main thread) or 'T' (worker threads), level chars
 * '.' debug, '-' verbose, '*' notice, '#' warning, as redis-server prints.
 *
 * Threads: any thread (log_setup / log_reopen / log_teardown: the main
 * thread). A line is written with one write() call, so lines from
 * different threads never interleave. The level check happens before the
 * arguments are evaluated (macro), so disabled levels cost one load.
 * Errors: a failing log write is ignored (there is nowhere to report it).
 */
#ifndef KVSD_LOG_H
#define KVSD_LOG_H

#include <stdatomic.h>

enum log_level { LOG_DEBUG = 0, LOG_VERBOSE, LOG_NOTICE, LOG_WARNING, LOG_NOTHING };

/* relaxed: the level is a filter; seeing a change a moment late is harmless */
extern _Atomic int log_level_g;

/* Opens the log file (append) or uses stdout when path is NULL or "". 0 / -errno. */
int log_setup(const char *path, int level);
void log_set_level(int level);
/* Reopens the log file at its path (SIGHUP after logrotate moved it);
 * no-op when logging to stdout. Main thread. 0 / -errno (the old file stays). */
int log_reopen(void);
void log_teardown(void);
void log_write(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define LOG(level, ...)                                                                            \
	do {                                                                                       \
		if ((level) >= atomic_load_explicit(&log_level_g, memory_order_relaxed))           \
			log_write((level), __VA_ARGS__);                                           \
	} while (0)

#endif
