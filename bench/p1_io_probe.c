/*
 * p1_io_probe.c — what one server thread's I/O path costs per request at
 * pipeline 1, by system-call shape (issue 19: "the way past it is fewer
 * system calls per request"). Not kvsd and not a peer comparison: a bare
 * echo of fixed-size requests, so the figures are the I/O path's alone, the
 * part of a request kvsd's command code cannot shrink. It answers whether
 * moving the reads into io_uring (the worker waiting in io_uring_enter
 * instead of epoll_wait) would pay before anyone rebuilds the loop for it.
 *
 * One process, two threads over loopback: the server thread (pinned to CPU
 * 0) and one client thread (CPU 1) that keeps --conns connections at
 * pipeline 1, closed loop, as redis-benchmark does (send a request; on its
 * reply, send the next). Server modes, each the same echo:
 *   epoll   epoll_wait, then recv and send(2) per ready connection (Redis's
 *           shape at pipeline 1: read, write, a wait per pass)
 *   ring    epoll_wait, recv per ready connection, the pass's replies in one
 *           io_uring_enter (kvsd's shape today, net/uring.c)
 *   uring   no epoll: a multishot recv per connection into a provided-buffer
 *           ring, replies as send SQEs, and one io_uring_submit_and_wait per
 *           pass that both submits the pass's sends and waits for the next
 *           receives (DEFER_TASKRUN: completions are posted only there)
 * Printed per mode (median of --runs alternating runs): requests/s, the
 * server thread's CPU time per request (its clock: user + system), system
 * calls per request and requests per pass.
 *
 * With --ext PORT:PID (repeatable), the same client also drives real servers
 * (GET key, after a SET key value: the same reply bytes), and their CPU per
 * request is every thread's on-CPU time (/proc/PID/task/x/schedstat) over
 * the run: the floor above against what kvsd and redis-server spend, under
 * one client. Pin the servers to CPU 0 yourself (taskset).
 *
 * Usage: p1-io-probe [--conns 50] [--requests 200000] [--runs 5] [--modes epoll,ring,uring]
 *                    [--cmd get|set] [--wait-nr N --wait-us U] [--nap-us U]
 *                    [--ext PORT:PID ...]
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAXC	1024
#define BUF_LEN 2048
#define NBUF	1024 /* provided buffers (a power of two) */
#define BGID	7

/* --cmd get (default) or set: the request and its reply, as a real server
 * answers them once key holds value */
static const char *REQ = "*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n";
static const char *REP = "$5\r\nvalue\r\n";
static size_t REQ_LEN, REP_LEN;
static char rep_block[64 * 16]; /* up to 64 replies in one send */

enum mode { M_EPOLL, M_RING, M_URING, M_EXT };
static const char *mode_name[] = {"epoll", "ring", "uring"};
#define MAXEXT 4
static int next_ = 0, ext_port[MAXEXT], ext_pid[MAXEXT];

static int nconns = 50;
static long nrequests = 200000;
/* uring: a pass waits for wait_nr completions or wait_us, whichever is first
 * (--wait-nr, --wait-us: a coalescing trial; 1 and 100 ms by default) */
static unsigned wait_nr = 1;
static long wait_us = 100000;
/* epoll, ring: a pass that found work naps nap_us before the next wait
 * (--nap-us: the same coalescing with a timer; 0, off, by default) */
static long nap_us = 0;

struct run {
	enum mode mode;
	int ext; /* M_EXT: which --ext */
	int srv[MAXC], cli[MAXC];
	volatile int stop;
	long served, syscalls, passes;
	double cpu0, t0;
	/* at the first pass that finds every request served */
	int snapped;
	long s_served, s_syscalls, s_passes;
	double cpu_s, wall_s;
};

static double mono(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static double thread_cpu(void)
{
	struct timespec t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* The figures, once every request has been served (the run's end, before the
 * server notices the client is done). */
static void snap(struct run *r)
{
	if (r->snapped || r->served < nrequests)
		return;
	r->snapped = 1;
	r->cpu_s = thread_cpu() - r->cpu0;
	r->wall_s = mono() - r->t0;
	r->s_served = r->served;
	r->s_syscalls = r->syscalls;
	r->s_passes = r->passes;
}

static void pin(int cpu)
{
	cpu_set_t s;

	if (sysconf(_SC_NPROCESSORS_ONLN) <= cpu)
		return;
	CPU_ZERO(&s);
	CPU_SET(cpu, &s);
	(void)pthread_setaffinity_np(pthread_self(), sizeof(s), &s);
}

static void die(const char *what, int err)
{
	fprintf(stderr, "p1-io-probe: %s: %s\n", what, strerror(err));
	exit(1);
}

/* Every thread's on-CPU time of process pid, in seconds (schedstat: ns). */
static double proc_cpu(int pid)
{
	char path[64];
	DIR *d;
	struct dirent *e;
	double sum = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	if ((d = opendir(path)) == NULL)
		die("opendir /proc/PID/task", errno);
	while ((e = readdir(d)) != NULL) {
		char f[352];
		unsigned long long ns = 0;
		FILE *fp;

		if (e->d_name[0] == '.')
			continue;
		snprintf(f, sizeof(f), "%s/%s/schedstat", path, e->d_name);
		if ((fp = fopen(f, "r")) == NULL)
			continue; /* the thread ended */
		if (fscanf(fp, "%llu", &ns) == 1)
			sum += (double)ns * 1e-9;
		fclose(fp);
	}
	closedir(d);
	return sum;
}

/* Connections to a real server at port (non-blocking, TCP_NODELAY), after
 * SET key value on a blocking one. */
static void connect_ext(struct run *r, int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons((uint16_t)port),
				.sin_addr.s_addr = htonl(0x7f000001)};
	static const char set[] = "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n";
	char ok[16];
	int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0 || connect(fd, (void *)&a, sizeof(a)) != 0)
		die("connect --ext", errno);
	if (send(fd, set, sizeof(set) - 1, 0) < 0 || recv(fd, ok, sizeof(ok), 0) != 5)
		die("SET key value", errno ? errno : EPROTO);
	close(fd);
	for (int i = 0; i < nconns; i++) {
		r->srv[i] = -1;
		r->cli[i] = socket(AF_INET, SOCK_STREAM, 0);
		if (r->cli[i] < 0 || connect(r->cli[i], (void *)&a, sizeof(a)) != 0)
			die("connect --ext", errno);
		setsockopt(r->cli[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
}

/* Connected pairs over loopback, both ends non-blocking, TCP_NODELAY. */
static void connect_pairs(struct run *r)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
	socklen_t l = sizeof(a);
	int ls = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	if (ls < 0 || bind(ls, (void *)&a, sizeof(a)) || getsockname(ls, (void *)&a, &l) ||
	    listen(ls, MAXC))
		die("listen", errno);
	for (int i = 0; i < nconns; i++) {
		r->cli[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		if (connect(r->cli[i], (void *)&a, sizeof(a)) != 0 && errno != EINPROGRESS)
			die("connect", errno);
		if ((r->srv[i] = accept4(ls, NULL, NULL, SOCK_NONBLOCK)) < 0)
			die("accept", errno);
		setsockopt(r->srv[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		setsockopt(r->cli[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	close(ls);
}

/* Replies for n requests on fd (send(2), blocking on a full buffer: never here). */
static long send_replies(int fd, long n)
{
	long calls = 0;

	while (n > 0) {
		long k = n > 64 ? 64 : n;

		if (send(fd, rep_block, (size_t)k * REP_LEN, MSG_NOSIGNAL) < 0)
			die("send", errno);
		calls++;
		n -= k;
	}
	return calls;
}

static void serve_epoll(struct run *r, int ring_sends)
{
	int ep = epoll_create1(0);
	struct epoll_event evs[MAXC];
	static char buf[16384];
	long part[MAXC] = {0};
	struct io_uring ring;

	if (ring_sends && io_uring_queue_init(1024, &ring, 0) != 0)
		die("io_uring_queue_init", errno);
	for (int i = 0; i < nconns; i++) {
		struct epoll_event e = {.events = EPOLLIN, .data.u32 = (uint32_t)i};

		epoll_ctl(ep, EPOLL_CTL_ADD, r->srv[i], &e);
	}
	while (!r->stop) {
		int n, queued = 0;

		if (nap_us > 0 && r->passes > 0) {
			struct timespec nap = {0, nap_us * 1000};

			nanosleep(&nap, NULL);
			r->syscalls++;
		}
		n = epoll_wait(ep, evs, MAXC, 100);

		r->syscalls++;
		r->passes++;
		snap(r);
		for (int k = 0; k < n; k++) {
			int i = (int)evs[k].data.u32;
			ssize_t got = recv(r->srv[i], buf, sizeof(buf), 0);
			long req;

			r->syscalls++;
			if (got <= 0)
				continue;
			part[i] += got;
			req = part[i] / (long)REQ_LEN;
			part[i] %= (long)REQ_LEN;
			r->served += req;
			if (req == 0)
				continue;
			if (!ring_sends) {
				r->syscalls += send_replies(r->srv[i], req);
			} else {
				struct io_uring_sqe *s = io_uring_get_sqe(&ring);

				io_uring_prep_send(s, r->srv[i], rep_block,
						   (size_t)(req > 64 ? 64 : req) * REP_LEN,
						   MSG_NOSIGNAL);
				queued++;
			}
		}
		if (queued) {
			struct io_uring_cqe *c;
			unsigned head, seen = 0;

			io_uring_submit(&ring);
			r->syscalls++;
			io_uring_for_each_cqe(&ring, head, c) seen++;
			io_uring_cq_advance(&ring, seen);
		}
	}
	if (ring_sends)
		io_uring_queue_exit(&ring);
	close(ep);
}

#define TAG_RECV 1ULL
#define TAG_SEND 2ULL

static void arm_recv(struct io_uring *ring, int fd, int i)
{
	struct io_uring_sqe *s = io_uring_get_sqe(ring);

	io_uring_prep_recv_multishot(s, fd, NULL, 0, 0);
	s->flags |= IOSQE_BUFFER_SELECT;
	s->buf_group = BGID;
	io_uring_sqe_set_data64(s, ((uint64_t)i << 8) | TAG_RECV);
}

static void serve_uring(struct run *r)
{
	struct io_uring ring;
	struct io_uring_params p = {.flags =
					IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN};
	struct io_uring_buf_ring *br;
	struct io_uring_buf_reg reg = {0};
	char *bufs;
	long part[MAXC] = {0};
	size_t br_size = NBUF * sizeof(struct io_uring_buf);
	int rc;

	if ((rc = io_uring_queue_init_params(2048, &ring, &p)) != 0)
		die("io_uring_queue_init_params (DEFER_TASKRUN)", -rc);
	br = mmap(NULL, br_size, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
	bufs = malloc((size_t)NBUF * BUF_LEN);
	if (br == MAP_FAILED || bufs == NULL)
		die("buffers", ENOMEM);
	io_uring_buf_ring_init(br);
	reg.ring_addr = (uint64_t)(uintptr_t)br;
	reg.ring_entries = NBUF;
	reg.bgid = BGID;
	if ((rc = io_uring_register_buf_ring(&ring, &reg, 0)) != 0)
		die("io_uring_register_buf_ring", -rc);
	for (int b = 0; b < NBUF; b++)
		io_uring_buf_ring_add(br, bufs + (size_t)b * BUF_LEN, BUF_LEN, (unsigned short)b,
				      io_uring_buf_ring_mask(NBUF), b);
	io_uring_buf_ring_advance(br, NBUF);
	for (int i = 0; i < nconns; i++)
		arm_recv(&ring, r->srv[i], i);
	while (!r->stop) {
		struct __kernel_timespec ts = {wait_us / 1000000, (wait_us % 1000000) * 1000};
		struct io_uring_cqe *c;
		unsigned head, seen = 0, recycled = 0;

		/* submits the last pass's sends (and re-arms) and waits for one completion */
		rc = io_uring_submit_and_wait_timeout(&ring, &c, wait_nr, &ts, NULL);
		r->syscalls++;
		r->passes++;
		if (rc < 0 && rc != -ETIME && rc != -EINTR)
			die("io_uring_submit_and_wait_timeout", -rc);
		snap(r);
		io_uring_for_each_cqe(&ring, head, c)
		{
			uint64_t d = io_uring_cqe_get_data64(c);
			int i = (int)(d >> 8);

			seen++;
			if ((d & 0xff) == TAG_SEND) {
				if (c->res < 0)
					die("send completion", -c->res);
				continue;
			}
			if (c->res > 0) {
				unsigned bid = c->flags >> IORING_CQE_BUFFER_SHIFT;
				long req;

				part[i] += c->res;
				req = part[i] / (long)REQ_LEN;
				part[i] %= (long)REQ_LEN;
				r->served += req;
				while (req > 0) {
					struct io_uring_sqe *s = io_uring_get_sqe(&ring);
					long k = req > 64 ? 64 : req;

					if (s == NULL) { /* full: submit what is queued */
						io_uring_submit(&ring);
						r->syscalls++;
						continue;
					}
					io_uring_prep_send(s, r->srv[i], rep_block,
							   (size_t)k * REP_LEN, MSG_NOSIGNAL);
					io_uring_sqe_set_data64(s, ((uint64_t)i << 8) | TAG_SEND);
					/* a send that succeeds posts nothing: the pass's wait
					 * ends on receives (and on a failed send) */
					s->flags |= IOSQE_CQE_SKIP_SUCCESS;
					req -= k;
				}
				io_uring_buf_ring_add(
				    br, bufs + (size_t)bid * BUF_LEN, BUF_LEN, (unsigned short)bid,
				    io_uring_buf_ring_mask(NBUF), (int)recycled++);
			} else if (c->res != -ENOBUFS && c->res != 0) {
				die("recv completion", -c->res);
			}
			if (!(c->flags & IORING_CQE_F_MORE) && !r->stop)
				arm_recv(&ring, r->srv[i],
					 i); /* ended (or out of buffers): again */
		}
		io_uring_cq_advance(&ring, seen);
		if (recycled)
			io_uring_buf_ring_advance(br, (int)recycled);
	}
	io_uring_queue_exit(&ring);
	munmap(br, br_size);
	free(bufs);
}

static void *server_main(void *arg)
{
	struct run *r = arg;

	pin(0);
	r->cpu0 = thread_cpu();
	r->t0 = mono();
	if (r->mode == M_URING)
		serve_uring(r);
	else
		serve_epoll(r, r->mode == M_RING);
	if (!r->snapped) {
		fprintf(stderr, "p1-io-probe: %s: served %ld of %ld\n", mode_name[r->mode],
			r->served, nrequests);
		exit(1);
	}
	return NULL;
}

/* The client: every connection at pipeline 1 until nrequests replies came back. */
static void client(struct run *r)
{
	int ep = epoll_create1(0);
	struct epoll_event evs[MAXC];
	static char buf[65536];
	long got[MAXC] = {0}, done = 0, sent = 0;

	pin(1);
	for (int i = 0; i < nconns; i++) {
		struct epoll_event e = {.events = EPOLLIN, .data.u32 = (uint32_t)i};

		epoll_ctl(ep, EPOLL_CTL_ADD, r->cli[i], &e);
	}
	for (int i = 0; i < nconns; i++, sent++)
		while (send(r->cli[i], REQ, REQ_LEN, MSG_NOSIGNAL) < 0)
			; /* the connect may still be completing */
	while (done < nrequests) {
		int n = epoll_wait(ep, evs, MAXC, 1000);

		if (n == 0) {
			fprintf(stderr, "p1-io-probe: %s: no reply for 1 s (%ld done)\n",
				mode_name[r->mode], done);
			exit(1);
		}
		for (int k = 0; k < n; k++) {
			int i = (int)evs[k].data.u32;
			ssize_t b = recv(r->cli[i], buf, sizeof(buf), 0);

			if (b <= 0)
				continue;
			got[i] += b;
			while (got[i] >= (long)REP_LEN) {
				got[i] -= (long)REP_LEN;
				done++;
				if (sent < nrequests) {
					send(r->cli[i], REQ, REQ_LEN, MSG_NOSIGNAL);
					sent++;
				}
			}
		}
	}
	close(ep);
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_d);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* One run of column m (a mode, or an --ext server) into the arrays' slot k. */
static void one_run(int m, int k, double rate[][64], double cpu[][64], double sys[][64],
		    double per_pass[][64])
{
	struct run *r = calloc(1, sizeof(*r));
	pthread_t th;

	if (m < 3) {
		r->mode = (enum mode)m;
		connect_pairs(r);
		pthread_create(&th, NULL, server_main, r);
		client(r);
		r->stop = 1;
		/* wake a server that waits: an end of file on every connection */
		for (int i = 0; i < nconns; i++)
			shutdown(r->cli[i], SHUT_WR);
		pthread_join(th, NULL);
		rate[m][k] = (double)r->s_served / r->wall_s;
		cpu[m][k] = r->cpu_s * 1e6 / (double)r->s_served;
		sys[m][k] = (double)r->s_syscalls / (double)r->s_served;
		per_pass[m][k] = (double)r->s_served / (double)r->s_passes;
	} else {
		int e = m - 3;
		double c0, t0;

		r->mode = M_EXT;
		connect_ext(r, ext_port[e]);
		c0 = proc_cpu(ext_pid[e]);
		t0 = mono();
		client(r);
		rate[m][k] = (double)nrequests / (mono() - t0);
		cpu[m][k] = (proc_cpu(ext_pid[e]) - c0) * 1e6 / (double)nrequests;
		sys[m][k] = per_pass[m][k] = 0;
	}
	for (int i = 0; i < nconns; i++) {
		if (r->srv[i] >= 0)
			close(r->srv[i]);
		close(r->cli[i]);
	}
	free(r);
}

int main(int argc, char **argv)
{
	int runs = 5, modes[3 + MAXEXT] = {1, 1, 1};
	static double rate[3 + MAXEXT][64], cpu[3 + MAXEXT][64], sys[3 + MAXEXT][64],
	    per_pass[3 + MAXEXT][64];

	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--conns"))
			nconns = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--requests"))
			nrequests = atol(argv[i + 1]);
		else if (!strcmp(argv[i], "--runs"))
			runs = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--wait-nr"))
			wait_nr = (unsigned)atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--wait-us"))
			wait_us = atol(argv[i + 1]);
		else if (!strcmp(argv[i], "--nap-us"))
			nap_us = atol(argv[i + 1]);
		else if (!strcmp(argv[i], "--cmd") && !strcmp(argv[i + 1], "set")) {
			REQ = "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n";
			REP = "+OK\r\n";
		} else if (!strcmp(argv[i], "--cmd") && !strcmp(argv[i + 1], "get")) {
			continue;
		} else if (!strcmp(argv[i], "--modes")) {
			for (int m = 0; m < 3; m++)
				modes[m] = strstr(argv[i + 1], mode_name[m]) != NULL;
		} else if (!strcmp(argv[i], "--ext") && next_ < MAXEXT &&
			   sscanf(argv[i + 1], "%d:%d", &ext_port[next_], &ext_pid[next_]) == 2) {
			modes[3 + next_++] = 1;
		} else {
			fprintf(
			    stderr,
			    "usage: %s [--conns N] [--requests N] [--runs N] "
			    "[--modes epoll,ring,uring] [--cmd get|set]\n"
			    "       [--wait-nr N --wait-us U] [--nap-us U] [--ext PORT:PID ...]\n",
			    argv[0]);
			return 2;
		}
	}
	REQ_LEN = strlen(REQ);
	REP_LEN = strlen(REP);
	for (size_t i = 0; i + REP_LEN <= sizeof(rep_block); i += REP_LEN)
		memcpy(rep_block + i, REP, REP_LEN);
	if (nconns < 1 || nconns > MAXC || runs < 1 || runs > 64 || nrequests < nconns ||
	    wait_nr < 1 || wait_us < 1) {
		fprintf(stderr, "p1-io-probe: bad arguments\n");
		return 2;
	}
	for (int k = 0; k < runs; k++)
		for (int m = 0; m < 3 + next_; m++)
			if (modes[m])
				one_run(m, k, rate, cpu, sys, per_pass);
	printf("p1-io-probe: %s, %d connections at pipeline 1, %ld requests, median of %d runs\n",
	       REP[0] == '+' ? "SET" : "GET", nconns, nrequests, runs);
	printf("%-12s %12s %14s %14s %12s\n", "server", "requests/s", "server us/req",
	       "syscalls/req", "req/pass");
	for (int m = 0; m < 3 + next_; m++) {
		char name[32];

		if (!modes[m])
			continue;
		if (m < 3)
			snprintf(name, sizeof(name), "%s", mode_name[m]);
		else
			snprintf(name, sizeof(name), "port %d", ext_port[m - 3]);
		if (m < 3) /* the probe's own counts */
			printf("%-12s %12.0f %14.2f %14.3f %12.2f\n", name, median(rate[m], runs),
			       median(cpu[m], runs), median(sys[m], runs),
			       median(per_pass[m], runs));
		else
			printf("%-12s %12.0f %14.2f %14s %12s\n", name, median(rate[m], runs),
			       median(cpu[m], runs), "-", "-");
	}
	return 0;
}
