/*
 * log.c — Redis-format log lines to stdout or a log file.
 *
 * log_reopen() (SIGHUP, for logrotate) opens the path again and dup2()s the
 * new descriptor over the old one: the descriptor number never changes and
 * is never closed while in use, so concurrent writers need no lock — each
 * line goes whole to the old file or whole to the new one.
 */
#include "server/log.h"
#include "concurrency/mem.h"
#include "concurrency/clock.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

_Atomic int log_level_g = LOG_NOTICE;
static int log_fd = STDOUT_FILENO;
static pthread_t main_thread;
static char *log_path; /* NULL when logging to stdout; main thread only */

int log_setup(const char *path, int level)
{
	main_thread = pthread_self();
	log_set_level(level);
	if (path && path[0]) {
		int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);

		if (fd < 0)
			return -errno;
		log_fd = fd;
		mem_free(log_path);
		log_path = mem_strndup(path, strlen(path));
	}
	return 0;
}

int log_reopen(void)
{
	int fd;

	if (log_path == NULL)
		return 0;
	fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		int e = errno;

		LOG(LOG_WARNING, "Failed to reopen the log file '%s': %s", log_path, strerror(e));
		return -e;
	}
	if (dup3(fd, log_fd, O_CLOEXEC) < 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	close(fd);
	LOG(LOG_NOTICE, "Received SIGHUP, log file reopened");
	return 0;
}

void log_set_level(int level)
{
	atomic_store_explicit(&log_level_g, level, memory_order_relaxed);
}

void log_teardown(void)
{
	if (log_fd != STDOUT_FILENO) {
		close(log_fd);
		log_fd = STDOUT_FILENO;
	}
	mem_free(log_path);
	log_path = NULL;
}

void log_write(int level, const char *fmt, ...)
{
	static const char marks[] = ".-*#";
	char line[1024];
	int64_t now_us;
	time_t now_s;
	struct tm tm;
	va_list ap;
	size_t n;
	int r;

	if (level < LOG_DEBUG || level > LOG_WARNING)
		return;
	now_us = clock_wall_us();
	now_s = (time_t)(now_us / 1000000);
	localtime_r(&now_s, &tm);
	n = (size_t)snprintf(line, sizeof(line), "%d:%c ", (int)getpid(),
			     pthread_equal(pthread_self(), main_thread) ? 'M' : 'T');
	n += strftime(line + n, sizeof(line) - n, "%d %b %Y %H:%M:%S.", &tm);
	n += (size_t)snprintf(line + n, sizeof(line) - n, "%03d %c ",
			      (int)(now_us % 1000000 / 1000), marks[level]);
	va_start(ap, fmt);
	r = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	va_end(ap);
	if (r > 0)
		n += (size_t)r < sizeof(line) - n - 1 ? (size_t)r : sizeof(line) - n - 2;
	line[n++] = '\n';
	(void)!write(log_fd, line, n);
}
