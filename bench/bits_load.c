/*
 * bits_load.c — load generator for bench/bits.sh: SETBIT / GETBIT / BITCOUNT
 * on bitmaps of a given size, with random offsets and bit values, which
 * redis-benchmark cannot produce (its __rand_int__ is zero-padded, and Redis
 * refuses "000123" as a bit offset) and kvsd-loadgen does not speak.
 *
 * One thread, C connections, each keeping a pipeline of P requests in flight
 * (it sends P, waits for the P replies, sends P more). Every reply of these
 * commands is one line (":0", ":12345" or an error), so replies are counted
 * by newlines; any error reply makes the run fail. Prints one line:
 * "<command> <requests> <seconds> <requests/s>".
 *
 * Usage: bits-load -p PORT [-c 50] [-P 16] [-n 1000000] [-k KEYS] [-b BITS]
 *                  [-s SEED] setbit|getbit|bitcount
 *   KEYS bitmaps named bm:0 .. bm:KEYS-1 (default 1); offsets are uniform in
 *   [0, BITS) (default 8388608: 1 MB bitmaps).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct lconn {
	int fd;
	long inflight;
	char partial; /* last byte read was not a newline: a reply is split */
};

static uint64_t rng_state = 88172645463325252ULL;

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int append_cmd(char *out, const char *cmd, long keys, long long bits)
{
	char key[32], off[32], val[2] = {(char)('0' + (rnd() & 1)), 0};
	int kl = snprintf(key, sizeof(key), "bm:%ld", (long)(rnd() % (uint64_t)keys));
	int ol = snprintf(off, sizeof(off), "%llu", (unsigned long long)(rnd() % (uint64_t)bits));

	if (!strcmp(cmd, "setbit"))
		return sprintf(out, "*4\r\n$6\r\nSETBIT\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n$1\r\n%s\r\n",
			       kl, key, ol, off, val);
	if (!strcmp(cmd, "getbit"))
		return sprintf(out, "*3\r\n$6\r\nGETBIT\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", kl, key, ol,
			       off);
	return sprintf(out, "*2\r\n$8\r\nBITCOUNT\r\n$%d\r\n%s\r\n", kl, key);
}

int main(int argc, char **argv)
{
	int port = 0, conns = 50, pipeline = 16, opt;
	long long total = 1000000, bits = 8388608, sent = 0, done = 0, errors = 0;
	long keys = 1;

	while ((opt = getopt(argc, argv, "p:c:P:n:k:b:s:")) != -1) {
		switch (opt) {
		case 'p':
			port = atoi(optarg);
			break;
		case 'c':
			conns = atoi(optarg);
			break;
		case 'P':
			pipeline = atoi(optarg);
			break;
		case 'n':
			total = atoll(optarg);
			break;
		case 'k':
			keys = atol(optarg);
			break;
		case 'b':
			bits = atoll(optarg);
			break;
		case 's':
			rng_state = (uint64_t)atoll(optarg) * 2654435761ULL + 1;
			break;
		default:
			goto usage;
		}
	}
	if (optind != argc - 1 || port <= 0 || conns < 1 || pipeline < 1 || keys < 1 || bits < 1)
		goto usage;
	const char *cmd = argv[optind];
	if (strcmp(cmd, "setbit") && strcmp(cmd, "getbit") && strcmp(cmd, "bitcount"))
		goto usage;

	struct lconn *c = calloc((size_t)conns, sizeof(*c));
	struct pollfd *pf = calloc((size_t)conns, sizeof(*pf));
	char *out = malloc((size_t)pipeline * 128), in[65536];
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (int i = 0; i < conns; i++) {
		int one = 1;
		c[i].fd = socket(AF_INET, SOCK_STREAM, 0);
		if (c[i].fd < 0 || connect(c[i].fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			perror("connect");
			return 1;
		}
		setsockopt(c[i].fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		pf[i].fd = c[i].fd;
		pf[i].events = POLLIN;
	}
	double t0 = now_s();
	while (done < total) {
		for (int i = 0; i < conns; i++) {
			if (c[i].inflight || sent >= total)
				continue;
			long n = total - sent < pipeline ? (long)(total - sent) : pipeline;
			size_t len = 0;
			for (long j = 0; j < n; j++)
				len += (size_t)append_cmd(out + len, cmd, keys, bits);
			for (size_t w = 0; w < len;) {
				ssize_t k = write(c[i].fd, out + w, len - w);
				if (k < 0 && errno != EINTR) {
					perror("write");
					return 1;
				}
				w += k > 0 ? (size_t)k : 0;
			}
			c[i].inflight = n;
			sent += n;
		}
		if (poll(pf, (nfds_t)conns, 10000) <= 0) {
			fprintf(stderr, "bits-load: no reply for 10 s\n");
			return 1;
		}
		for (int i = 0; i < conns; i++) {
			if (!(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			ssize_t k = read(c[i].fd, in, sizeof(in));
			if (k <= 0) {
				fprintf(stderr, "bits-load: connection closed\n");
				return 1;
			}
			for (ssize_t j = 0; j < k; j++) {
				if (!c[i].partial && in[j] == '-')
					errors++;
				c[i].partial = in[j] != '\n';
				if (in[j] == '\n') {
					c[i].inflight--;
					done++;
				}
			}
		}
	}
	double dt = now_s() - t0;
	if (errors) {
		fprintf(stderr, "bits-load: %lld error replies\n", errors);
		return 1;
	}
	printf("%s %lld %.3f %.0f\n", cmd, total, dt, (double)total / dt);
	return 0;
usage:
	fprintf(stderr,
		"usage: bits-load -p PORT [-c N] [-P N] [-n N] [-k KEYS] [-b BITS] [-s SEED] "
		"setbit|getbit|bitcount\n");
	return 2;
}
