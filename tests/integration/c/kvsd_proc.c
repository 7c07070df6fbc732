/*
 * kvsd_proc.c — fork/exec the server under test, wait for it to answer, stop it and report
 * how it exited.
 *
 * A port is chosen at random below the ephemeral range and checked by a bind; another
 * process may take it before the server binds, so kvsd_start() retries with a fresh port when
 * the child exits during start-up. Readiness is "a hiredis PING gets any reply but -LOADING" (the
 * dataset loads while clients are served). The child dies with its parent (PR_SET_PDEATHSIG) so a
 * crashed test does not leave servers behind; its output goes to a temporary file that failure
 * messages print.
 */
#include "kvsd_proc.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define KVSD_START_TIMEOUT_MS 10000

long long kvsd_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void kvsd_sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

int kvsd_free_port(void)
{
	/* below the kernel's ephemeral range (32768 and up): a port from
	 * bind(0) is an ephemeral one, which any client connection of any test
	 * may take as its local port before the server binds it (ci13) */
	static unsigned seed;

	if (seed == 0)
		seed = (unsigned)getpid() ^ (unsigned)kvsd_now_ms();
	for (int i = 0; i < 1000; i++) {
		struct sockaddr_in sa = {.sin_family = AF_INET,
					 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
		int port = 10000 + (int)(rand_r(&seed) % 22700);
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), ok;

		if (fd < 0)
			return -errno;
		sa.sin_port = htons((uint16_t)port);
		ok = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
		close(fd);
		if (ok && port != 6379)
			return port;
	}
	return -EADDRINUSE;
}

static const char *proc_bin(void)
{
	const char *bin = getenv("KVSD_BIN");

	return bin && *bin ? bin : "build/server/kvsd";
}

int kvsd_bin_is_redis(void)
{
	const char *bin = proc_bin(), *slash = strrchr(bin, '/');

	return strncmp(slash ? slash + 1 : bin, "redis-server", 12) == 0;
}

static int proc_encode_status(int wstatus)
{
	if (WIFEXITED(wstatus))
		return WEXITSTATUS(wstatus);
	if (WIFSIGNALED(wstatus))
		return 128 + WTERMSIG(wstatus);
	return 255;
}

/* Fork and exec argv (argv[0] is the binary); output to a fresh log file. */
static int proc_exec(struct kvsd_proc *p, char *const *argv)
{
	const char *tmp = getenv("TMPDIR");
	int logfd;
	pid_t pid;

	snprintf(p->log_path, sizeof(p->log_path), "%s/kvsd-test.XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	logfd = mkstemp(p->log_path);
	if (logfd < 0)
		return -errno;
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		int err = -errno;

		close(logfd);
		unlink(p->log_path);
		p->log_path[0] = '\0';
		return err;
	}
	if (pid == 0) {
		int nullfd = open("/dev/null", O_RDONLY);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (p->nofile > 0) {
			struct rlimit rl = {(rlim_t)p->nofile, (rlim_t)p->nofile};

			/* as `prlimit --nofile=N:N`; without CAP_SYS_RESOURCE (dropped
			 * from the bounding set, so a root test run behaves like an
			 * unprivileged one) the server cannot raise the hard limit */
			setrlimit(RLIMIT_NOFILE, &rl);
			prctl(PR_CAPBSET_DROP, CAP_SYS_RESOURCE, 0, 0, 0);
		}
		if (nullfd >= 0)
			dup2(nullfd, 0);
		dup2(logfd, 1);
		dup2(logfd, 2);
		execv(argv[0], argv);
		dprintf(2, "kvsd_proc: exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(logfd);
	p->pid = pid;
	p->status = -1;
	return 0;
}

int kvsd_spawn(struct kvsd_proc *p, const char *const *args)
{
	char *argv[KVSD_PROC_MAX_ARGS + 2];
	int n = 0;

	argv[n++] = (char *)proc_bin();
	for (; args && *args && n < KVSD_PROC_MAX_ARGS; args++)
		argv[n++] = (char *)*args;
	argv[n] = NULL;
	p->port = 0;
	p->is_redis = kvsd_bin_is_redis();
	return proc_exec(p, argv);
}

/* Reap without blocking; 1 when the child has exited (status stored), 0 if running. */
static int proc_try_reap(struct kvsd_proc *p)
{
	int wstatus;
	pid_t r;

	if (p->pid <= 0)
		return 1;
	r = waitpid(p->pid, &wstatus, WNOHANG);
	if (r == p->pid) {
		p->status = proc_encode_status(wstatus);
		p->pid = 0;
		return 1;
	}
	if (r < 0 && errno == ECHILD) {
		p->pid = 0;
		return 1;
	}
	return 0;
}

int kvsd_wait(struct kvsd_proc *p, int timeout_ms)
{
	long long deadline = kvsd_now_ms() + timeout_ms;

	for (;;) {
		if (proc_try_reap(p))
			return p->status;
		if (kvsd_now_ms() >= deadline)
			return -ETIMEDOUT;
		kvsd_sleep_ms(5);
	}
}

static void proc_unlink_log(struct kvsd_proc *p)
{
	if (p->log_path[0] && !getenv("KVSD_KEEP_LOGS"))
		unlink(p->log_path);
	p->log_path[0] = '\0';
}

void kvsd_kill(struct kvsd_proc *p)
{
	if (p->pid > 0) {
		kill(p->pid, SIGKILL);
		waitpid(p->pid, NULL, 0);
		p->pid = 0;
	}
	proc_unlink_log(p);
}

/* Prints every thread's stack of a server that does not exit (gdb, when installed: setup.sh
 * installs it), so that a hang seen once in CI can be read from its log. */
static void proc_dump_stacks(const struct kvsd_proc *p)
{
	char cmd[160];

	snprintf(cmd, sizeof(cmd),
		 "command -v gdb >/dev/null && timeout 120 gdb -p %d -batch -nx "
		 "-ex 'thread apply all bt 30' 1>&2 2>/dev/null",
		 (int)p->pid);
	fprintf(stderr, "kvsd_proc: thread stacks of pid %d:\n", (int)p->pid);
	fflush(stderr);
	if (system(cmd) != 0)
		fprintf(stderr, "kvsd_proc: (no stacks: gdb missing or failed)\n");
}

int kvsd_stop(struct kvsd_proc *p, int timeout_ms)
{
	int st;

	if (p->pid > 0)
		kill(p->pid, SIGTERM);
	st = kvsd_wait(p, timeout_ms);
	if (st == -ETIMEDOUT) {
		fprintf(stderr, "kvsd_proc: pid %d did not exit %d ms after SIGTERM; killing it\n",
			(int)p->pid, timeout_ms);
		kvsd_dump_log(p);
		proc_dump_stacks(p);
		kvsd_kill(p);
		return -ETIMEDOUT;
	}
	if (st != 0) {
		fprintf(stderr, "kvsd_proc: server exited with status %d\n", st);
		kvsd_dump_log(p);
	}
	if (!p->keep_log)
		proc_unlink_log(p);
	return st;
}

ssize_t kvsd_log(const struct kvsd_proc *p, char *buf, size_t cap)
{
	ssize_t n;
	off_t size;
	int fd;

	if (cap == 0)
		return -EINVAL;
	buf[0] = '\0';
	fd = open(p->log_path, O_RDONLY);
	if (fd < 0)
		return -errno;
	size = lseek(fd, 0, SEEK_END);
	if (size > (off_t)(cap - 1))
		lseek(fd, size - (off_t)(cap - 1), SEEK_SET);
	else
		lseek(fd, 0, SEEK_SET);
	n = read(fd, buf, cap - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return n;
}

void kvsd_dump_log(const struct kvsd_proc *p)
{
	static char buf[8192];

	if (kvsd_log(p, buf, sizeof(buf)) > 0)
		fprintf(stderr,
			"---- server output (tail) ----\n%s\n------------------------------\n",
			buf);
}

redisContext *kvsd_connect(const struct kvsd_proc *p)
{
	struct timeval tv = {10, 0};
	redisContext *c = redisConnectWithTimeout("127.0.0.1", p->port, tv);

	if (c && !c->err)
		redisSetTimeout(c, tv);
	return c;
}

int kvsd_raw_connect(const struct kvsd_proc *p)
{
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons((uint16_t)p->port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

int kvsd_raw_send(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

size_t kvsd_raw_recv(int fd, char *buf, size_t cap, size_t want, int timeout_ms, int *closed)
{
	long long deadline = kvsd_now_ms() + timeout_ms;
	size_t got = 0;

	*closed = 0;
	if (want >= cap)
		want = cap - 1;
	while (got < want) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		long long left = deadline - kvsd_now_ms();
		ssize_t n;

		if (left <= 0 || poll(&pfd, 1, (int)left) == 0)
			break;
		n = recv(fd, buf + got, want - got, 0);
		if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
			*closed = 1;
			break;
		}
		if (n > 0)
			got += (size_t)n;
	}
	buf[got] = '\0';
	return got;
}

/*
 * 1 when the server at p->port answers PING with any reply but -LOADING and is
 * our child. Another test's server may have bound the port between
 * kvsd_free_port() and our child's bind: it answers PING too, while our child
 * exits on "Address already in use". So INFO's process_id must be the child's.
 * A server that refuses INFO (e.g. -NOAUTH, or a proxy such as nutcracker,
 * which answers PING itself) is taken on PING alone: 2, and the caller then
 * makes sure the child is still alive a moment later (ci13: a child that had
 * failed to bind was taken for started while it shut down).
 * A server started with --requirepass answers -NOAUTH before it looks at
 * whether it is loading (Redis's order, and kvsd's): with `auth`, that
 * password is sent first, so -LOADING is still seen while the dataset loads.
 */
static int proc_answers_ping(const struct kvsd_proc *p, const char *auth)
{
	struct timeval tv = {0, 300000};
	redisContext *c = redisConnectWithTimeout("127.0.0.1", p->port, tv);
	redisReply *r = NULL;
	int ok = 0;

	if (c && !c->err) {
		redisSetTimeout(c, tv);
		if (auth) {
			r = redisCommand(c, "AUTH %s", auth);
			if (r)
				freeReplyObject(r);
		}
		r = redisCommand(c, "PING");
		ok = r != NULL && !(r->type == REDIS_REPLY_ERROR && r->str &&
				    strncmp(r->str, "LOADING", 7) == 0);
		if (r)
			freeReplyObject(r);
		r = ok ? redisCommand(c, "INFO server") : NULL;
		if (ok)
			ok = 2; /* not known to be our child's yet */
		if (r && r->type == REDIS_REPLY_STRING && r->str) {
			const char *pid = strstr(r->str, "process_id:");

			if (pid && atol(pid + strlen("process_id:")) != (long)p->pid)
				ok = 0; /* someone else's server on our port */
			else if (pid)
				ok = 1;
		}
		if (r)
			freeReplyObject(r);
	}
	if (c)
		redisFree(c);
	return ok;
}

/* Append the words of KVSD_EXTRA_ARGS (split on spaces) into argv; strings live in *store. */
static int proc_extra_env_args(char **argv, int n, char **store)
{
	const char *env = getenv("KVSD_EXTRA_ARGS");
	char *save = NULL, *w;

	*store = NULL;
	if (!env || !*env)
		return n;
	*store = strdup(env);
	if (!*store)
		return n;
	for (w = strtok_r(*store, " \t\n", &save); w && n < KVSD_PROC_MAX_ARGS;
	     w = strtok_r(NULL, " \t\n", &save))
		argv[n++] = w;
	return n;
}

/* The word after `name` in args, or NULL. */
static const char *proc_arg_value(const char *const *args, const char *name)
{
	for (; args && *args; args++)
		if (strcmp(*args, name) == 0)
			return args[1];
	return NULL;
}

static int proc_has_arg(const char *const *args, const char *name)
{
	for (; args && *args; args++)
		if (strcmp(*args, name) == 0)
			return 1;
	return 0;
}

static int proc_start_once(struct kvsd_proc *p, const char *const *extra_args)
{
	char *argv[KVSD_PROC_MAX_ARGS + 2];
	char portbuf[16], *envstore;
	const char *auth;
	long long deadline;
	int n = 0, port, rc;

	port = kvsd_free_port();
	if (port < 0)
		return port;
	snprintf(portbuf, sizeof(portbuf), "%d", port);
	argv[n++] = (char *)proc_bin();
	p->is_redis = kvsd_bin_is_redis();
	argv[n++] = "--port";
	argv[n++] = portbuf;
	argv[n++] = "--bind";
	argv[n++] = "127.0.0.1";
	argv[n++] = "--loglevel";
	argv[n++] = "warning";
	if (p->is_redis) {
		argv[n++] = "--save";
		argv[n++] = "";
		argv[n++] = "--appendonly";
		argv[n++] = "no";
	} else {
		/* kvsd's default save rules would write dump.rdb into the
		 * working directory (a test that wants them passes --save) */
		argv[n++] = "--save";
		argv[n++] = "";
		if (!proc_has_arg(extra_args, "--threads")) {
			argv[n++] = "--threads";
			argv[n++] = "2";
		}
	}
	auth = proc_arg_value(extra_args, "--requirepass");
	for (; extra_args && *extra_args && n < KVSD_PROC_MAX_ARGS - 16; extra_args++)
		argv[n++] = (char *)*extra_args;
	n = proc_extra_env_args(argv, n, &envstore);
	argv[n] = NULL;
	p->port = port;
	rc = proc_exec(p, argv);
	free(envstore);
	if (rc != 0)
		return rc;
	deadline = kvsd_now_ms() + KVSD_START_TIMEOUT_MS;
	while (kvsd_now_ms() < deadline) {
		if (proc_try_reap(p))
			return -ECHILD;
		switch (proc_answers_ping(p, auth)) {
		case 1:
			return 0;
		case 2: /* alive a moment later, or it was someone else's */
			kvsd_sleep_ms(100);
			if (proc_try_reap(p))
				return -ECHILD;
			return 0;
		default:
			break;
		}
		kvsd_sleep_ms(20);
	}
	return -ETIMEDOUT;
}

int kvsd_start(struct kvsd_proc *p, const char *const *extra_args)
{
	int rc = -EAGAIN, attempt, keep = p->keep_log;
	long nofile = p->nofile;

	memset(p, 0, sizeof(*p));
	p->keep_log = keep;
	p->nofile = nofile;
	p->status = -1;
	for (attempt = 0; attempt < 3; attempt++) {
		rc = proc_start_once(p, extra_args);
		if (rc == 0)
			return 0;
		fprintf(stderr, "kvsd_proc: start on port %d failed (%s, status %d)\n", p->port,
			strerror(-rc), p->status);
		kvsd_dump_log(p);
		if (rc == -ETIMEDOUT) {
			kvsd_kill(p);
			return rc;
		}
		if (rc != -ECHILD)
			return rc;
		if (attempt < 2)
			proc_unlink_log(p);
	}
	return rc;
}
