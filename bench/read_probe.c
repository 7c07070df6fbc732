/*
 * read-probe — what one read of a ready loopback TCP socket costs here, made
 * as read(2) or as one of n receives in one io_uring submit (net/task.c's
 * read-ahead, issue 14). One thread: it writes `--bytes` (default 640, a
 * pipeline of 16 short commands) to each of n client sockets, then reads
 * each server socket once, either way, and counts only the reads' CPU time
 * (CLOCK_THREAD_CPUTIME_ID). Prints, per n in 1 2 4 8 16, the CPU us per
 * read of each way, medians of --runs runs of --iters rounds.
 *
 * Usage: build/bench/read-probe [--runs N] [--iters N] [--bytes N]
 * Pin it (taskset -c 0) on an otherwise idle machine.
 */
#include <arpa/inet.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAXN 16

static double cpu_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void die(const char *what)
{
	perror(what);
	exit(1);
}

/* CPU us per read over iters rounds of n reads, by read(2) (ring NULL) or
 * one submit of n receives. */
static double run(int n, struct io_uring *ring, const int *cl, const int *sv, int iters, size_t len)
{
	static char msg[65536], buf[MAXN][65536];
	double spent = 0;

	memset(msg, 'x', len);
	for (int it = 0; it < iters; it++) {
		double t0;

		for (int i = 0; i < n; i++)
			if (write(cl[i], msg, len) != (ssize_t)len)
				die("write");
		t0 = cpu_s();
		if (ring == NULL) {
			for (int i = 0; i < n; i++)
				if (read(sv[i], buf[i], sizeof(buf[i])) != (ssize_t)len)
					die("read");
		} else {
			struct io_uring_cqe *cqe;
			unsigned head, seen = 0;

			for (int i = 0; i < n; i++) {
				struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

				io_uring_prep_recv(sqe, sv[i], buf[i], sizeof(buf[i]),
						   MSG_DONTWAIT);
			}
			if (io_uring_submit_and_wait(ring, (unsigned)n) < 0)
				die("io_uring_submit_and_wait");
			io_uring_for_each_cqe(ring, head, cqe)
			{
				if (cqe->res != (int)len)
					die("recv");
				seen++;
			}
			io_uring_cq_advance(ring, seen);
		}
		spent += cpu_s() - t0;
	}
	return spent / iters / n * 1e6;
}

int main(int argc, char **argv)
{
	int runs = 5, iters = 20000, one = 1, cl[MAXN], sv[MAXN], ls;
	size_t len = 640;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof(a);
	struct io_uring ring;
	struct io_uring_params p = {0};

	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--runs"))
			runs = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--iters"))
			iters = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--bytes"))
			len = (size_t)atol(argv[i + 1]);
	}
	if (runs < 1 || runs > 99 || iters < 1 || len < 1 || len > 65536) {
		fprintf(stderr, "usage: read-probe [--runs 1-99] [--iters N] [--bytes 1-65536]\n");
		return 2;
	}
	if ((ls = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
	    bind(ls, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    getsockname(ls, (struct sockaddr *)&a, &al) != 0 || listen(ls, 64) != 0)
		die("listen");
	for (int i = 0; i < MAXN; i++) {
		if ((cl[i] = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
		    connect(cl[i], (struct sockaddr *)&a, sizeof(a)) != 0 ||
		    (sv[i] = accept(ls, NULL, NULL)) < 0)
			die("connect");
		setsockopt(cl[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	/* as net/uring.c: one issuer, completions reaped at once */
	p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN;
	if (io_uring_queue_init_params(64, &ring, &p) < 0)
		die("io_uring_queue_init_params");
	printf("reads per submit | read(2) us/read | ring us/read | read(2)/ring (medians of %d "
	       "runs of %d rounds, %zu bytes)\n",
	       runs, iters, len);
	for (int n = 1; n <= MAXN; n *= 2) {
		double r[99], u[99];

		for (int k = 0; k < runs; k++) {
			r[k] = run(n, NULL, cl, sv, iters, len);
			u[k] = run(n, &ring, cl, sv, iters, len);
		}
		qsort(r, (size_t)runs, sizeof(r[0]), cmp_double);
		qsort(u, (size_t)runs, sizeof(u[0]), cmp_double);
		printf("%16d | %15.3f | %12.3f | %.2fx\n", n, r[runs / 2], u[runs / 2],
		       r[runs / 2] / u[runs / 2]);
	}
	io_uring_queue_exit(&ring);
	return 0;
}
