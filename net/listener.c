/*
 * listener.c — listening sockets, accepting, and net/'s life cycle.
 *
 * The main thread runs the listener's event loop: it accepts connections on
 * every TCP bind address and the optional unix socket, applies the accept-
 * time policy (maxclients, protected mode, keepalive, TCP_NODELAY) and hands
 * each connection to a worker (conn-assign, worker.c). On EMFILE/ENFILE it
 * pauses accepting for 100 ms instead of spinning on a listen socket that
 * stays readable, then resumes.
 *
 * CONFIG SET bind / port (net_listen_tcp) may run on any thread: the new
 * sockets are bound there first, so a failure leaves the old ones serving;
 * then, under listen_lock, the TCP entries of the listener table are swapped,
 * and the old events are freed (libevent waits for an accept callback that
 * is running on them) and their sockets closed.
 */
#include "concurrency/mem.h"
#include "net/conn.h"
#include "net/state.h"
#include "net/task.h"
#include "net/worker.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_LISTENERS (NET_BIND_MAX + 1) /* the TCP addresses and the unix socket */

static struct event_base *main_base;
static struct event *stop_ev;
static struct event *resume_ev;
/* The listener table. Under listen_lock: written by net_setup, net_listen_tcp
 * (any thread) and net_close_listeners; read by the main thread's
 * pause/resume. closed: the listeners are shut for good (shutdown). */
static pthread_mutex_t listen_lock = PTHREAD_MUTEX_INITIALIZER;
static int lfd[MAX_LISTENERS];
static int lfd_unix[MAX_LISTENERS];
static struct event *lev[MAX_LISTENERS];
static int nlisten;
static int listeners_closed;
static char *listen_bind; /* what the TCP listeners were opened for */
static int listen_port;
static char *unix_path;

static const char denied_msg[] =
    "-DENIED Redis is running in protected mode because protected mode is enabled and no "
    "password is set for the default user. In this mode connections are only accepted from "
    "the loopback interface. If you want to connect from external computers to Redis you may "
    "adopt one of the following solutions: 1) Just disable protected mode sending the command "
    "'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from "
    "the same host the server is running, however MAKE SURE Redis is not publicly accessible "
    "from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) "
    "Alternatively you can just disable the protected mode by editing the Redis configuration "
    "file, and setting the protected mode option to 'no', and then restarting the server. 3) "
    "If you started the server manually just for testing, restart it with the "
    "'--protected-mode no' option. 4) Set up an authentication password for the default user. "
    "NOTE: You only need to do one of the above things in order for the server to start "
    "accepting connections from the outside.\r\n";

static int is_loopback(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s = (const struct sockaddr_in *)ss;

		return (ntohl(s->sin_addr.s_addr) >> 24) == 127;
	}
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)ss;

		if (IN6_IS_ADDR_LOOPBACK(&s->sin6_addr))
			return 1;
		if (IN6_IS_ADDR_V4MAPPED(&s->sin6_addr))
			return s->sin6_addr.s6_addr[12] == 127;
		return 0;
	}
	return 1; /* unix sockets */
}

static void set_keepalive(int fd, long secs)
{
	int yes = 1, v;

	if (secs <= 0)
		return;
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &yes, sizeof(yes));
	v = (int)secs;
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &v, sizeof(v));
	v = (int)(secs / 3) > 0 ? (int)(secs / 3) : 1;
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &v, sizeof(v));
	v = 3;
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &v, sizeof(v));
}

static void resume_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	pthread_mutex_lock(&listen_lock);
	for (int i = 0; i < nlisten; i++)
		event_add(lev[i], NULL);
	pthread_mutex_unlock(&listen_lock);
}

static void pause_accepting(void)
{
	struct timeval tv = {0, 100000};

	pthread_mutex_lock(&listen_lock);
	for (int i = 0; i < nlisten; i++)
		event_del(lev[i]);
	pthread_mutex_unlock(&listen_lock);
	event_add(resume_ev, &tv);
}

static void accept_cb(evutil_socket_t fd, short what, void *arg)
{
	int is_unix = (int)(intptr_t)arg;

	(void)what;
	for (int burst = 0; burst < 64; burst++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int cfd = accept4(fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		long maxc;

		if (cfd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE)
				pause_accepting();
			return;
		}
		/* relaxed: statistics */
		atomic_fetch_add_explicit(&net_g.stats.accepted, 1, memory_order_relaxed);
		maxc = atomic_load_explicit(&net_g.limits.maxclients, memory_order_relaxed);
		if (conn_count() >= maxc) {
			static const char msg[] = "-ERR max number of clients reached\r\n";

			(void)!send(cfd, msg, sizeof(msg) - 1, MSG_NOSIGNAL);
			close(cfd);
			atomic_fetch_add_explicit(&net_g.stats.rejected, 1, memory_order_relaxed);
			continue;
		}
		if (!is_unix &&
		    atomic_load_explicit(&net_g.limits.protected_mode, memory_order_relaxed) &&
		    !is_loopback(&ss)) {
			(void)!send(cfd, denied_msg, sizeof(denied_msg) - 1, MSG_NOSIGNAL);
			close(cfd);
			atomic_fetch_add_explicit(&net_g.stats.rejected, 1, memory_order_relaxed);
			continue;
		}
		if (!is_unix) {
			int yes = 1;

			setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof(yes));
			set_keepalive(cfd, atomic_load_explicit(&net_g.limits.keepalive_s,
								memory_order_relaxed));
		}
		conn_accept(cfd, is_unix);
	}
}

/* TCP listening sockets being opened: one per bind address, all on one port. */
struct tcp_set {
	int fd[NET_BIND_MAX];
	int n;
	int port; /* the port bound (chosen by the kernel for port 0), 0 if none */
};

static void tcp_set_close(struct tcp_set *set)
{
	for (int i = 0; i < set->n; i++)
		close(set->fd[i]);
	set->n = 0;
}

/* Opens a listening socket on addr (Redis's bind syntax: "*", "-" prefix for
 * an optional address) and adds it to set. port 0: the set's port if one is
 * bound already, else one the kernel chooses. 0 / -errno with err. */
static int listen_tcp(const char *addr, int port, int backlog, struct tcp_set *set, char *err,
		      size_t errlen)
{
	struct addrinfo hints = {0}, *res, *ai;
	char portstr[16];
	int rc, fd = -1;
	const char *a = addr;

	if (a[0] == '-')
		a++; /* "-::1": optional address, as Redis's bind syntax */
	if (port == 0)
		port = set->port;
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST;
	snprintf(portstr, sizeof(portstr), "%d", port);
	if (strcmp(a, "*") == 0)
		a = "0.0.0.0";
	rc = getaddrinfo(a, portstr, &hints, &res);
	if (rc != 0) {
		snprintf(err, errlen, "bind '%s': %s", addr, gai_strerror(rc));
		return -EINVAL;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		int yes = 1;

		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
		if (ai->ai_family == AF_INET6)
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &yes, sizeof(yes));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, backlog) == 0)
			break;
		rc = errno;
		close(fd);
		fd = -1;
		errno = rc;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		rc = errno;
		if (addr[0] == '-' && (rc == EADDRNOTAVAIL || rc == EAFNOSUPPORT))
			return 0;
		snprintf(err, errlen, "Could not create server TCP listening socket %s:%d: %s", a,
			 port, strerror(rc));
		return -rc;
	}
	if (set->n >= NET_BIND_MAX) {
		close(fd);
		snprintf(err, errlen, "too many bind addresses");
		return -EINVAL;
	}
	set->fd[set->n++] = fd;
	if (set->port == 0) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);

		if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
			set->port = ntohs(ss.ss_family == AF_INET
					      ? ((struct sockaddr_in *)&ss)->sin_port
					      : ((struct sockaddr_in6 *)&ss)->sin6_port);
	}
	return 0;
}

/* The TCP listeners for bind (space-separated) and port: none when port is 0
 * and a unix socket is configured; port 0 alone picks a free port. On error
 * nothing stays open. 0 / -errno with err. */
static int open_tcp_set(const char *bind, int port, int has_unix, int backlog, struct tcp_set *set,
			char *err, size_t errlen)
{
	char *binds, *save = NULL, *tok;
	int rc = 0;

	memset(set, 0, sizeof(*set));
	if (port == 0 && has_unix)
		return 0;
	binds = mem_strndup(bind, strlen(bind));
	for (tok = strtok_r(binds, " ", &save); tok && rc == 0; tok = strtok_r(NULL, " ", &save))
		rc = listen_tcp(tok, port, backlog, set, err, errlen);
	mem_free(binds);
	if (rc < 0)
		tcp_set_close(set);
	return rc;
}

static int listen_unix(const char *path, int perm, int backlog, char *err, size_t errlen)
{
	struct sockaddr_un sa = {0};
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "unixsocket path too long: %s", path);
		return -ENAMETOOLONG;
	}
	sa.sun_family = AF_UNIX;
	strcpy(sa.sun_path, path);
	unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(fd, backlog) != 0) {
		int rc = errno;

		if (fd >= 0)
			close(fd);
		snprintf(err, errlen, "Failed opening Unix socket %s: %s", path, strerror(rc));
		return -rc;
	}
	if (perm)
		chmod(path, (mode_t)perm);
	lfd[nlisten] = fd;
	lfd_unix[nlisten] = 1;
	nlisten++;
	unix_path = mem_strndup(path, strlen(path));
	return 0;
}

static void stop_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	event_base_loopbreak(main_base);
}

int net_setup(const struct net_opts *o, char *err, size_t errlen)
{
	struct tcp_set set;
	int rc;

	net_g.opts = *o;
	if (evthread_use_pthreads() != 0) {
		snprintf(err, errlen, "libevent has no pthreads support");
		return -ENOTSUP;
	}
	main_base = event_base_new();
	if (main_base == NULL) {
		snprintf(err, errlen, "cannot create the listener's event loop");
		return -ENOMEM;
	}
	stop_ev = event_new(main_base, -1, 0, stop_cb, NULL);
	resume_ev = event_new(main_base, -1, 0, resume_cb, NULL);
	rc = open_tcp_set(o->bind, o->port, o->unixsocket && o->unixsocket[0], o->tcp_backlog, &set,
			  err, errlen);
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&listen_lock);
	for (int i = 0; i < set.n; i++) {
		lfd[nlisten] = set.fd[i];
		lfd_unix[nlisten++] = 0;
	}
	listeners_closed = 0;
	listen_bind = mem_strndup(o->bind, strlen(o->bind));
	listen_port = o->port;
	pthread_mutex_unlock(&listen_lock);
	/* relaxed: see net_counters.tcp_port */
	atomic_store_explicit(&net_g.stats.tcp_port, set.n ? set.port : o->port,
			      memory_order_relaxed);
	if (o->unixsocket && o->unixsocket[0]) {
		rc = listen_unix(o->unixsocket, o->unixsocketperm, o->tcp_backlog, err, errlen);
		if (rc < 0)
			return rc;
	}
	if (nlisten == 0) {
		snprintf(err, errlen, "no listening socket: set bind/port or unixsocket");
		return -EINVAL;
	}
	net_g.opts.unixsocket = unix_path;
	rc = workers_start(o->threads, err, errlen);
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&listen_lock);
	for (int i = 0; i < nlisten; i++) {
		lev[i] = event_new(main_base, lfd[i], EV_READ | EV_PERSIST, accept_cb,
				   (void *)(intptr_t)lfd_unix[i]);
		event_add(lev[i], NULL);
	}
	pthread_mutex_unlock(&listen_lock);
	return 0;
}

/* Takes the TCP entries out of the listener table into fds/evs (the unix
 * socket stays). listen_lock held. */
static int take_tcp_listeners(int *fds, struct event **evs)
{
	int k = 0, n = 0;

	for (int i = 0; i < nlisten; i++) {
		if (lfd_unix[i]) {
			lfd[k] = lfd[i];
			lev[k] = lev[i];
			lfd_unix[k++] = 1;
		} else {
			fds[n] = lfd[i];
			evs[n++] = lev[i];
		}
	}
	nlisten = k;
	return n;
}

/* Closes listeners taken out of the table; libevent's event_free waits for an
 * accept callback that is running on one. Called without listen_lock. */
static void close_taken(const int *fds, struct event **evs, int n)
{
	for (int i = 0; i < n; i++) {
		if (evs[i])
			event_free(evs[i]);
		if (fds[i] >= 0)
			close(fds[i]);
	}
}

/* Opens the TCP listeners for bind/port and swaps them in. 0 / -errno. */
static int swap_tcp_listeners(const char *bind, int port, char *err, size_t errlen)
{
	int old_fd[MAX_LISTENERS], n_old, rc;
	struct event *old_ev[MAX_LISTENERS];
	struct tcp_set set;

	rc = open_tcp_set(bind, port, unix_path != NULL, net_g.opts.tcp_backlog, &set, err, errlen);
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&listen_lock);
	if (listeners_closed) {
		pthread_mutex_unlock(&listen_lock);
		tcp_set_close(&set);
		snprintf(err, errlen, "shutting down");
		return -ESHUTDOWN;
	}
	n_old = take_tcp_listeners(old_fd, old_ev);
	for (int i = 0; i < set.n; i++) {
		lfd[nlisten] = set.fd[i];
		lfd_unix[nlisten] = 0;
		lev[nlisten] = event_new(main_base, set.fd[i], EV_READ | EV_PERSIST, accept_cb,
					 (void *)(intptr_t)0);
		event_add(lev[nlisten++], NULL);
	}
	/* relaxed: see net_counters.tcp_port */
	atomic_store_explicit(&net_g.stats.tcp_port, set.port, memory_order_relaxed);
	mem_free(listen_bind);
	listen_bind = mem_strndup(bind, strlen(bind));
	listen_port = port;
	pthread_mutex_unlock(&listen_lock);
	close_taken(old_fd, old_ev, n_old);
	return 0;
}

int net_listen_tcp(const char *bind, int port, char *err, size_t errlen)
{
	int old_fd[MAX_LISTENERS], n_old, rc;
	struct event *old_ev[MAX_LISTENERS];

	if (main_base == NULL)
		return 0; /* not listening yet: net_setup() opens them from its options */
	pthread_mutex_lock(&listen_lock);
	rc = listen_port == port && listen_bind && strcmp(listen_bind, bind) == 0;
	pthread_mutex_unlock(&listen_lock);
	if (rc)
		return 0; /* already listening there (CONFIG SET restoring old values) */
	/* New sockets first, so that the old ones serve until the new ones do. */
	rc = swap_tcp_listeners(bind, port, err, errlen);
	if (rc != -EADDRINUSE)
		return rc;
	/* An address in use may be our own (same port, overlapping addresses):
	 * close ours first, as Redis's changeBindAddr() does. On failure there are
	 * no TCP listeners until CONFIG SET restores and applies the old values. */
	pthread_mutex_lock(&listen_lock);
	n_old = listeners_closed ? 0 : take_tcp_listeners(old_fd, old_ev);
	mem_free(listen_bind);
	listen_bind = NULL; /* no TCP listener now */
	pthread_mutex_unlock(&listen_lock);
	close_taken(old_fd, old_ev, n_old);
	return swap_tcp_listeners(bind, port, err, errlen);
}

int net_tcp_port(void)
{
	/* relaxed: see net_counters.tcp_port */
	return atomic_load_explicit(&net_g.stats.tcp_port, memory_order_relaxed);
}

struct event_base *net_main_base(void)
{
	return main_base;
}

void net_run(void)
{
	event_base_dispatch(main_base);
}

void net_stop(void)
{
	if (stop_ev)
		event_active(stop_ev, EV_READ, 0);
}

void net_close_listeners(void)
{
	int fds[MAX_LISTENERS], n;
	struct event *evs[MAX_LISTENERS];

	pthread_mutex_lock(&listen_lock);
	listeners_closed = 1; /* no CONFIG SET port / bind opens new ones */
	n = nlisten;
	for (int i = 0; i < n; i++) {
		fds[i] = lfd[i];
		evs[i] = lev[i];
	}
	nlisten = 0;
	pthread_mutex_unlock(&listen_lock);
	close_taken(fds, evs, n);
	if (unix_path)
		unlink(unix_path);
}

void net_teardown(void)
{
	net_close_listeners();
	workers_stop();
	event_free(stop_ev);
	event_free(resume_ev);
	event_base_free(main_base);
	stop_ev = resume_ev = NULL;
	main_base = NULL;
	mem_free(unix_path);
	unix_path = NULL;
	mem_free(listen_bind);
	listen_bind = NULL;
	libevent_global_shutdown();
}

long long net_fd_limit_clients(long long clients, int threads)
{
	long long reserve = NET_RESERVED_FDS + (long long)NET_FDS_PER_WORKER * threads;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return clients; /* cannot tell: as Redis, assume it fits */
	if (rl.rlim_cur != RLIM_INFINITY && (long long)rl.rlim_cur < clients + reserve) {
		struct rlimit want = rl;

		/* As far as the hard limit allows, never beyond it: raising the hard
		 * limit needs privileges, and a limit that worked only as root would
		 * surprise whoever runs kvsd later without them. */
		want.rlim_cur =
		    rl.rlim_max == RLIM_INFINITY || (long long)rl.rlim_max >= clients + reserve
			? (rlim_t)(clients + reserve)
			: rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &want) == 0)
			rl = want;
	}
	if (rl.rlim_cur == RLIM_INFINITY || (long long)rl.rlim_cur >= clients + reserve)
		return clients;
	return (long long)rl.rlim_cur - reserve;
}
