/*
 * stress_tracking.c — client tracking across workers against a real kvsd ($KVSD_BIN).
 *
 * A plain executable (also run in the ThreadSanitizer build, where the server is
 * instrumented and a race report makes it fail). kvsd runs 4 workers and the clients'
 * connections spread over them. For --seconds S (default 3):
 *  - WRITERS writers INCR random keys of KEYS;
 *  - READERS readers keep a client-side cache: each GETs random keys and caches the
 *    value, and drops a key when its invalidation arrives (a null drops everything).
 *    Readers 0..READERS-2 use RESP3 (pushes on their own connection), reader
 *    READERS-2 in BCAST mode with the keys' prefix; the last one uses RESP2 and
 *    REDIRECT to a second connection subscribed to __redis__:invalidate;
 *  - churners connect, enable tracking (plain, BCAST with a prefix, OPTIN with
 *    CACHING yes, NOLOOP, or a REDIRECT to a connection they close first), read and
 *    write a few keys and disconnect without reading what they were sent;
 *  - a flusher runs FLUSHDB now and then, and switches tracking-table-max-keys
 *    between a small limit (evictions) and none.
 * At the end, once every write was answered, each reader sends PING (the server
 * delivers the invalidations queued for a client before its next command's reply)
 * and reads up to PONG; then every value still in a reader's cache must equal the
 * key's value: a stale one means an invalidation was lost. Bounded: every read has a
 * timeout. Prints one summary line; exits 1 with a message on the first violation.
 */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <hiredis/hiredis.h>

#include "kvsd_proc.h"

#define WRITERS	 2
#define READERS	 5
#define CHURNERS 2
#define KEYS	 32
#define VAL_MAX	 32

static struct kvsd_proc srv;
static long long deadline_ms;
static atomic_int failed, running = 1;
static atomic_llong writes_n, reads_n, invals_n, churn_n, flush_n;

static void fail(const char *what, long long x, long long y)
{
	if (!atomic_exchange(&failed, 1))
		fprintf(stderr, "stress_tracking: FAIL: %s (%lld, %lld)\n", what, x, y);
}

static long long now_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static redisContext *connect_hr(void)
{
	struct timeval tv = {10, 0};
	redisContext *c = redisConnectWithTimeout("127.0.0.1", srv.port, tv);

	if (c == NULL || c->err) {
		fail("connect", 0, 0);
		if (c)
			redisFree(c);
		return NULL;
	}
	redisSetTimeout(c, tv);
	return c;
}

/* ------------------------------------------------ a minimal RESP2/3 reader */

struct conn {
	int fd;
	char buf[1 << 16];
	size_t len, off;
};

/* One parsed frame: its type byte; for a string, its bytes; for an aggregate, its
 * elements (at most a few: invalidate pushes carry up to KEYS keys). */
struct frame {
	char type;
	long long n; /* integer, or the element / byte count; -1: a RESP2 null */
	char str[64];
	size_t slen;
	struct frame *el;
};

static void frame_free(struct frame *f)
{
	if (f->el) {
		for (long long i = 0; i < f->n; i++)
			frame_free(&f->el[i]);
		free(f->el);
		f->el = NULL;
	}
}

static int conn_open(struct conn *c)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)srv.port)};
	struct timeval tv = {10, 0};

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	c->len = c->off = 0;
	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	if (c->fd < 0)
		return -1;
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(c->fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		close(c->fd);
		c->fd = -1;
		return -1;
	}
	return 0;
}

static void conn_close(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

static int send_cmd(struct conn *c, int argc, const char **argv)
{
	char out[512];
	int n = snprintf(out, sizeof(out), "*%d\r\n", argc);

	for (int i = 0; i < argc; i++)
		n += snprintf(out + n, sizeof(out) - (size_t)n, "$%zu\r\n%s\r\n", strlen(argv[i]),
			      argv[i]);
	return send(c->fd, out, (size_t)n, MSG_NOSIGNAL) == n ? 0 : -1;
}

/* Parses a frame at c->buf + *pos: 1 done, 0 incomplete, -1 protocol error. */
static int parse(struct conn *c, size_t *pos, struct frame *f)
{
	char *p = c->buf + *pos, *end = c->buf + c->len, *nl;
	long long n;

	memset(f, 0, sizeof(*f));
	nl = memchr(p, '\n', (size_t)(end - p));
	if (nl == NULL)
		return 0;
	f->type = p[0];
	n = strtoll(p + 1, NULL, 10);
	f->n = n;
	*pos = (size_t)(nl + 1 - c->buf);
	switch (f->type) {
	case '+':
	case '-':
		f->slen = (size_t)(nl - 1 - (p + 1)) < sizeof(f->str) ? (size_t)(nl - 1 - (p + 1))
								      : sizeof(f->str) - 1;
		memcpy(f->str, p + 1, f->slen);
		return 1;
	case ':':
	case '_':
		return 1;
	case '$':
		if (n < 0)
			return 1;
		if ((size_t)(end - (c->buf + *pos)) < (size_t)n + 2)
			return 0;
		f->slen = (size_t)n < sizeof(f->str) ? (size_t)n : sizeof(f->str) - 1;
		memcpy(f->str, c->buf + *pos, f->slen);
		*pos += (size_t)n + 2;
		return 1;
	case '*':
	case '>':
	case '~':
	case '%':
		if (f->type == '%')
			f->n = n *= 2;
		if (n <= 0)
			return 1;
		f->el = calloc((size_t)n, sizeof(*f->el));
		for (long long i = 0; i < n; i++) {
			int r = parse(c, pos, &f->el[i]);

			if (r <= 0) {
				frame_free(f);
				return r;
			}
		}
		return 1;
	default:
		return -1;
	}
}

/* Reads the next frame (blocking, with the socket's timeout). 0 or -1. */
static int read_frame(struct conn *c, struct frame *f)
{
	for (;;) {
		size_t pos = c->off;
		int r = c->len > c->off ? parse(c, &pos, f) : 0;
		ssize_t got;

		if (r < 0)
			return -1;
		if (r == 1) {
			c->off = pos;
			return 0;
		}
		if (c->off > 0) {
			memmove(c->buf, c->buf + c->off, c->len - c->off);
			c->len -= c->off;
			c->off = 0;
		}
		if (c->len == sizeof(c->buf))
			return -1;
		got = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
		if (got <= 0)
			return -1;
		c->len += (size_t)got;
	}
}

/* ------------------------------------------------ readers */

struct reader {
	int idx;
	bool resp2, bcast;
	struct conn c, sub; /* sub: the RESP2 reader's redirect connection */
	bool cached[KEYS];
	char val[KEYS][VAL_MAX];
};

static struct reader readers[READERS];

static int key_index(const char *s, size_t len)
{
	if (len < 4 || memcmp(s, "tk:", 3) != 0)
		return -1;
	return atoi(s + 3);
}

/* An invalidation payload: an array of keys, or a null (everything). */
static void invalidate(struct reader *r, const struct frame *keys)
{
	atomic_fetch_add(&invals_n, 1);
	if (keys->type == '_' || (keys->type == '$' && keys->n < 0)) {
		memset(r->cached, 0, sizeof(r->cached));
		return;
	}
	if (keys->type != '*') {
		fail("invalidation payload of an unexpected type", keys->type, r->idx);
		return;
	}
	for (long long i = 0; i < keys->n; i++) {
		int k = key_index(keys->el[i].str, keys->el[i].slen);

		if (k >= 0 && k < KEYS)
			r->cached[k] = false;
	}
}

/* A frame that is an invalidation (RESP3 push, or a RESP2 message on
 * __redis__:invalidate): handled, true. */
static bool handle_push(struct reader *r, const struct frame *f)
{
	if (f->type == '>' && f->n == 2 && strcmp(f->el[0].str, "invalidate") == 0) {
		invalidate(r, &f->el[1]);
		return true;
	}
	if (f->type == '>' && f->n == 2 && strcmp(f->el[0].str, "tracking-redir-broken") == 0) {
		fail("tracking-redir-broken to a reader", r->idx, 0);
		return true;
	}
	if (f->type == '*' && f->n == 3 && strcmp(f->el[0].str, "message") == 0 &&
	    strcmp(f->el[1].str, "__redis__:invalidate") == 0) {
		invalidate(r, &f->el[2]);
		return true;
	}
	return false;
}

/* Reads c's next reply that is not an invalidation (those are applied). */
static int read_reply(struct reader *r, struct conn *c, struct frame *f)
{
	for (;;) {
		if (read_frame(c, f) != 0)
			return -1;
		if (!handle_push(r, f))
			return 0;
		frame_free(f);
	}
}

/* Applies the invalidations waiting on the redirect connection, without
 * blocking. */
static void drain_sub(struct reader *r)
{
	struct frame f;

	for (;;) {
		size_t pos = r->sub.off;
		ssize_t got;

		if (r->sub.len > r->sub.off && parse(&r->sub, &pos, &f) == 1) {
			r->sub.off = pos;
			if (!handle_push(r, &f))
				fail("unexpected frame on the redirect connection", f.type, r->idx);
			frame_free(&f);
			continue;
		}
		if (r->sub.off > 0) {
			memmove(r->sub.buf, r->sub.buf + r->sub.off, r->sub.len - r->sub.off);
			r->sub.len -= r->sub.off;
			r->sub.off = 0;
		}
		got = recv(r->sub.fd, r->sub.buf + r->sub.len, sizeof(r->sub.buf) - r->sub.len,
			   MSG_DONTWAIT);
		if (got <= 0)
			return;
		r->sub.len += (size_t)got;
	}
}

static int simple(struct reader *r, struct conn *c, int argc, const char **argv)
{
	struct frame f;
	int rc;

	if (send_cmd(c, argc, argv) != 0 || read_reply(r, c, &f) != 0)
		return -1;
	rc = f.type == '-' ? -1 : 0;
	frame_free(&f);
	return rc;
}

static int reader_setup(struct reader *r)
{
	if (conn_open(&r->c) != 0)
		return -1;
	if (!r->resp2) {
		const char *hello[] = {"HELLO", "3"};
		const char *on[] = {"CLIENT", "TRACKING", "on", "bcast", "prefix", "tk:"};

		return simple(r, &r->c, 2, hello) || simple(r, &r->c, r->bcast ? 6 : 3, on) ? -1
											    : 0;
	}
	{
		const char *id[] = {"CLIENT", "ID"};
		const char *sub[] = {"SUBSCRIBE", "__redis__:invalidate"};
		char ids[32];
		const char *on[] = {"CLIENT", "TRACKING", "on", "REDIRECT", ids};
		struct frame f;

		if (conn_open(&r->sub) != 0 || send_cmd(&r->sub, 2, id) != 0 ||
		    read_frame(&r->sub, &f) != 0 || f.type != ':')
			return -1;
		snprintf(ids, sizeof(ids), "%lld", f.n);
		if (send_cmd(&r->sub, 2, sub) != 0 || read_frame(&r->sub, &f) != 0)
			return -1;
		frame_free(&f);
		return simple(r, &r->c, 5, on);
	}
}

static void *reader_main(void *arg)
{
	struct reader *r = arg;
	unsigned seed = (unsigned)r->idx * 7919u + 1;

	while (atomic_load(&running) && !atomic_load(&failed)) {
		int k = (int)(rand_r(&seed) % KEYS);
		char key[16];
		const char *get[] = {"GET", key};
		struct frame f;

		snprintf(key, sizeof(key), "tk:%d", k);
		if (send_cmd(&r->c, 2, get) != 0 || read_reply(r, &r->c, &f) != 0) {
			fail("reader: GET failed", r->idx, k);
			break;
		}
		if (f.type == '$' || f.type == '_') {
			/* a value (or none): cached until invalidated */
			r->cached[k] = true;
			if (f.type == '$' && f.n >= 0)
				snprintf(r->val[k], VAL_MAX, "%.*s", (int)f.slen, f.str);
			else
				strcpy(r->val[k], "(nil)");
		} else {
			fail("reader: GET answered an unexpected type", f.type, r->idx);
		}
		frame_free(&f);
		if (r->resp2)
			drain_sub(r);
		atomic_fetch_add(&reads_n, 1);
		if (now_ms() >= deadline_ms)
			break;
	}
	return NULL;
}

/* After every write was answered: whatever was queued for r precedes PONG. */
static void reader_barrier(struct reader *r)
{
	const char *ping[] = {"PING"};
	struct frame f;

	if (r->resp2) {
		/* on the subscribed connection: the RESP2 subscribed-mode PONG */
		if (send_cmd(&r->sub, 1, ping) != 0 || read_reply(r, &r->sub, &f) != 0 ||
		    f.type != '*') {
			fail("redirect connection: PING failed", r->idx, 0);
			return;
		}
		frame_free(&f);
		return;
	}
	if (send_cmd(&r->c, 1, ping) != 0 || read_reply(r, &r->c, &f) != 0 || f.type != '+')
		fail("reader: PING failed", r->idx, 0);
	frame_free(&f);
}

/* ------------------------------------------------ writers, churners, flusher */

static void *writer_main(void *arg)
{
	unsigned seed = (unsigned)(intptr_t)arg * 104729u + 3;
	redisContext *c = connect_hr();

	if (c == NULL)
		return NULL;
	while (atomic_load(&running) && !atomic_load(&failed)) {
		redisReply *rep = redisCommand(c, "INCR tk:%u", rand_r(&seed) % KEYS);

		if (rep == NULL || rep->type != REDIS_REPLY_INTEGER) {
			fail("writer: INCR failed", rep ? rep->type : -1, 0);
			if (rep)
				freeReplyObject(rep);
			break;
		}
		freeReplyObject(rep);
		atomic_fetch_add(&writes_n, 1);
		if (now_ms() >= deadline_ms)
			break;
	}
	redisFree(c);
	return NULL;
}

static void *churner_main(void *arg)
{
	unsigned seed = (unsigned)(intptr_t)arg * 15485863u + 5;

	while (atomic_load(&running) && !atomic_load(&failed) && now_ms() < deadline_ms) {
		struct conn c, target;
		char key[16], ids[32];
		const char *hello[] = {"HELLO", "3"};
		const char *modes[][6] = {
		    {"CLIENT", "TRACKING", "on", NULL},
		    {"CLIENT", "TRACKING", "on", "bcast", "prefix", "tk:1"},
		    {"CLIENT", "TRACKING", "on", "optin", NULL},
		    {"CLIENT", "TRACKING", "on", "noloop", NULL},
		    {"CLIENT", "TRACKING", "on", "REDIRECT", ids, NULL},
		};
		int mode = (int)(rand_r(&seed) % 5), argc = 0;
		const char *id[] = {"CLIENT", "ID"};
		struct frame f;

		if (conn_open(&c) != 0) {
			fail("churner: connect", 0, 0);
			break;
		}
		send_cmd(&c, 2, hello);
		if (mode == 4) {
			/* a redirect target that is gone when keys change */
			if (conn_open(&target) != 0 || send_cmd(&target, 2, id) != 0 ||
			    read_frame(&target, &f) != 0) {
				fail("churner: redirect target", 0, 0);
				conn_close(&c);
				break;
			}
			snprintf(ids, sizeof(ids), "%lld", f.n);
		}
		while (argc < 6 && modes[mode][argc])
			argc++;
		send_cmd(&c, argc, modes[mode]);
		if (mode == 4)
			conn_close(&target);
		if (mode == 2) {
			const char *caching[] = {"CLIENT", "CACHING", "yes"};

			send_cmd(&c, 3, caching);
		}
		for (int i = 0; i < 8; i++) {
			const char *get[] = {"GET", key};
			const char *set[] = {"SET", key, "1000000"};

			snprintf(key, sizeof(key), "tk:%u", rand_r(&seed) % KEYS);
			/* a write (sometimes) invalidates readers' caches too */
			send_cmd(&c, i == 7 && mode == 3 ? 3 : 2, i == 7 && mode == 3 ? set : get);
		}
		/* read a little of what was sent, or nothing, then leave */
		if (rand_r(&seed) % 2 && read_frame(&c, &f) == 0)
			frame_free(&f);
		conn_close(&c);
		atomic_fetch_add(&churn_n, 1);
	}
	return NULL;
}

static void *flusher_main(void *arg)
{
	redisContext *c = connect_hr();
	int round = 0;

	(void)arg;
	if (c == NULL)
		return NULL;
	while (atomic_load(&running) && !atomic_load(&failed) && now_ms() < deadline_ms) {
		redisReply *rep;

		usleep(100 * 1000);
		if (round++ % 3 == 0) {
			rep = redisCommand(c, "FLUSHDB");
			atomic_fetch_add(&flush_n, 1);
		} else {
			rep = redisCommand(c, "CONFIG SET tracking-table-max-keys %d",
					   round % 2 ? 8 : 0);
		}
		if (rep == NULL || rep->type == REDIS_REPLY_ERROR) {
			fail("flusher: command failed", round, 0);
			if (rep)
				freeReplyObject(rep);
			break;
		}
		freeReplyObject(rep);
	}
	redisFree(c);
	return NULL;
}

/* ------------------------------------------------ main */

/* The final round, all else stopped: each reader caches every key, then every
 * key is written once more; after the barrier no reader may still cache any. */
static void final_round(void)
{
	redisContext *c = connect_hr();

	if (c == NULL)
		return;
	for (int i = 0; i < READERS && !atomic_load(&failed); i++)
		for (int k = 0; k < KEYS; k++) {
			char key[16];
			const char *get[] = {"GET", key};
			struct frame f;

			snprintf(key, sizeof(key), "tk:%d", k);
			if (send_cmd(&readers[i].c, 2, get) != 0 ||
			    read_reply(&readers[i], &readers[i].c, &f) != 0) {
				fail("final round: GET failed", i, k);
				break;
			}
			frame_free(&f);
			readers[i].cached[k] = true;
			strcpy(readers[i].val[k], "(final)");
		}
	for (int k = 0; k < KEYS && !atomic_load(&failed); k++) {
		redisReply *rep = redisCommand(c, "INCR tk:%d", k);

		if (rep == NULL || rep->type != REDIS_REPLY_INTEGER)
			fail("final round: INCR failed", k, 0);
		if (rep)
			freeReplyObject(rep);
	}
	redisFree(c);
}

static int check_caches(void)
{
	redisContext *c = connect_hr();
	long long checked = 0;

	if (c == NULL)
		return -1;
	for (int i = 0; i < READERS; i++)
		for (int k = 0; k < KEYS && !atomic_load(&failed); k++) {
			redisReply *rep;
			char now[VAL_MAX];

			if (!readers[i].cached[k])
				continue;
			if (strcmp(readers[i].val[k], "(final)") == 0) {
				fail("lost invalidation: a key read and then written in the final "
				     "round is still cached",
				     i, k);
				break;
			}
			rep = redisCommand(c, "GET tk:%d", k);
			if (rep == NULL) {
				fail("check: GET failed", k, 0);
				break;
			}
			if (rep->type == REDIS_REPLY_STRING)
				snprintf(now, sizeof(now), "%s", rep->str);
			else
				strcpy(now, "(nil)");
			freeReplyObject(rep);
			checked++;
			if (strcmp(now, readers[i].val[k]) != 0) {
				fprintf(stderr,
					"stress_tracking: reader %d caches tk:%d = %s, the key is "
					"%s\n",
					i, k, readers[i].val[k], now);
				fail("lost invalidation: a reader's cache holds a stale value", i,
				     k);
			}
		}
	redisFree(c);
	printf("stress_tracking: %lld cached values checked\n", checked);
	return 0;
}

int main(int argc, char **argv)
{
	int seconds = 3;
	const char *args[] = {"--threads", "4", NULL};
	pthread_t w[WRITERS], r[READERS], ch[CHURNERS], fl;

	for (int i = 1; i + 1 < argc; i++)
		if (strcmp(argv[i], "--seconds") == 0)
			seconds = atoi(argv[i + 1]);
	if (kvsd_start(&srv, args) != 0) {
		fprintf(stderr, "stress_tracking: cannot start the server\n");
		return 1;
	}
	for (int i = 0; i < READERS; i++) {
		readers[i].idx = i;
		readers[i].resp2 = i == READERS - 1;
		readers[i].bcast = i == READERS - 2;
		readers[i].c.fd = readers[i].sub.fd = -1;
		if (reader_setup(&readers[i]) != 0) {
			fail("reader setup", i, 0);
			break;
		}
	}
	deadline_ms = now_ms() + seconds * 1000LL;
	for (int i = 0; i < READERS; i++)
		pthread_create(&r[i], NULL, reader_main, &readers[i]);
	for (int i = 0; i < WRITERS; i++)
		pthread_create(&w[i], NULL, writer_main, (void *)(intptr_t)i);
	for (int i = 0; i < CHURNERS; i++)
		pthread_create(&ch[i], NULL, churner_main, (void *)(intptr_t)i);
	pthread_create(&fl, NULL, flusher_main, NULL);
	pthread_join(fl, NULL);
	for (int i = 0; i < WRITERS; i++)
		pthread_join(w[i], NULL);
	for (int i = 0; i < CHURNERS; i++)
		pthread_join(ch[i], NULL);
	for (int i = 0; i < READERS; i++)
		pthread_join(r[i], NULL);
	atomic_store(&running, 0);
	for (int i = 0; i < READERS && !atomic_load(&failed); i++)
		reader_barrier(&readers[i]);
	final_round();
	/* every write was answered: each reader's invalidations are queued */
	for (int i = 0; i < READERS && !atomic_load(&failed); i++)
		reader_barrier(&readers[i]);
	if (!atomic_load(&failed))
		check_caches();
	for (int i = 0; i < READERS; i++) {
		conn_close(&readers[i].c);
		conn_close(&readers[i].sub);
	}
	printf("stress_tracking: %lld writes, %lld reads, %lld invalidations, %lld churned "
	       "clients, %lld flushes\n",
	       (long long)writes_n, (long long)reads_n, (long long)invals_n, (long long)churn_n,
	       (long long)flush_n);
	{
		/* a sanitizer report or a crash makes the server's exit status non-zero */
		int rc = kvsd_stop(&srv, 20000);

		if (rc != 0)
			fail("server exit status", rc, 0);
	}
	return atomic_load(&failed) ? 1 : 0;
}
