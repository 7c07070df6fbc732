/*
 * stress_pubsub.c — Pub/Sub across workers against a real kvsd ($KVSD_BIN).
 *
 * A plain executable (also run in the ThreadSanitizer build, where the server is
 * instrumented and a race report makes it fail). kvsd runs 4 workers (--threads N: N;
 * --no-stealing: with work-stealing no) and the clients' connections spread over them.
 * For --seconds S (default 3):
 *  - PUBLISHERS publishers each PUBLISH "<p>:<seq>" (seq 0, 1, 2, ...) on channels
 *    ch0 ch1 ch2 in turn; every PUBLISH must count at least the stable receivers;
 *  - stable subscribers, subscribed before publishing starts and never leaving: two to
 *    the three channels, two to the pattern "ch*", one to both (it receives each message
 *    twice, as a message and as a pmessage). Each checks, per publisher and kind, that
 *    seq runs 0, 1, 2, ... with no loss, no duplicate, nothing out of order;
 *  - churners connect, SUBSCRIBE to one channel or PSUBSCRIBE "c*", read some messages
 *    (per publisher and kind, seq strictly increasing: order kept, no duplicate), then
 *    UNSUBSCRIBE (reading up to the confirmation), RESET, or just disconnect;
 *  - a killer CLIENT KILLs churners by id.
 * At the end each publisher sends "END:<p>"; the stable subscribers read up to every END
 * and check they received exactly what was published. Bounded: every read has a timeout.
 * Prints one summary line; exits 1 with a message on the first violation.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "kvsd_proc.h"

#define PUBLISHERS	 3
#define CHANNELS	 3
#define STABLE		 5
#define CHURNERS	 4
#define STABLE_RECEIVERS 6 /* subscriptions of the stable subscribers each message meets */

static struct kvsd_proc srv;
static long long deadline_ms;
static atomic_int failed, publishing = 1, churning = 1;
static long long published[PUBLISHERS];
static atomic_llong delivered_n, churn_msgs_n, churn_rounds_n, kills_n;
static _Atomic long long churn_ids[CHURNERS];

static void fail(const char *fmt, const char *a, long long x, long long y)
{
	if (!atomic_exchange(&failed, 1)) {
		fprintf(stderr, "stress_pubsub: FAIL: ");
		fprintf(stderr, fmt, a, x, y);
		fprintf(stderr, "\n");
	}
}

static long long now_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* timeout: seconds for connecting and for each read */
static redisContext *connect_srv(int timeout)
{
	struct timeval tv = {timeout, 0};
	redisContext *c = redisConnectWithTimeout("127.0.0.1", srv.port, tv);

	if (c == NULL || c->err) {
		fail("connect: %s%lld%lld", c ? c->errstr : "oom", 0, 0);
		if (c)
			redisFree(c);
		return NULL;
	}
	redisSetTimeout(c, tv);
	return c;
}

/* A message frame: kind 0 message, 1 pmessage; publisher and seq from "<p>:<seq>", or
 * seq -1 for "END:<p>". 0 on success, -1 if r is not a message. */
static int parse_msg(redisReply *r, int *kind, int *pub, long long *seq)
{
	redisReply *payload;

	if (r->type != REDIS_REPLY_ARRAY)
		return -1;
	if (r->elements == 3 && strcmp(r->element[0]->str, "message") == 0) {
		*kind = 0;
		payload = r->element[2];
	} else if (r->elements == 4 && strcmp(r->element[0]->str, "pmessage") == 0) {
		*kind = 1;
		payload = r->element[3];
	} else {
		return -1;
	}
	if (strncmp(payload->str, "END:", 4) == 0) {
		*pub = atoi(payload->str + 4);
		*seq = -1;
	} else {
		char *colon = strchr(payload->str, ':');

		if (colon == NULL)
			return -1;
		*pub = atoi(payload->str);
		*seq = atoll(colon + 1);
	}
	if (*pub < 0 || *pub >= PUBLISHERS) {
		fail("bad payload %s%lld%lld", payload->str, 0, 0);
		return -1;
	}
	return 0;
}

static void *publisher(void *arg)
{
	int p = (int)(intptr_t)arg;
	redisContext *c = connect_srv(10);
	long long seq = 0;

	if (c == NULL)
		return NULL;
	while (atomic_load(&publishing) && !atomic_load(&failed)) {
		redisReply *r =
		    redisCommand(c, "PUBLISH ch%d %d:%lld", (int)(seq % CHANNELS), p, seq);

		if (r == NULL || r->type != REDIS_REPLY_INTEGER) {
			fail("PUBLISH failed%s %lld %lld", "", seq, 0);
			if (r)
				freeReplyObject(r);
			break;
		}
		if (r->integer < STABLE_RECEIVERS)
			fail("PUBLISH counted %s%lld receivers, stable ones are %lld", "",
			     r->integer, STABLE_RECEIVERS);
		freeReplyObject(r);
		seq++;
		if (now_ms() >= deadline_ms)
			break;
	}
	published[p] = seq;
	{
		redisReply *r = redisCommand(c, "PUBLISH ch0 END:%d", p);

		if (r)
			freeReplyObject(r);
	}
	redisFree(c);
	return NULL;
}

struct stable {
	int idx;
	bool chans, pattern;
	redisContext *c;
	long long next[PUBLISHERS][2];
	bool ended[PUBLISHERS][2];
};

static struct stable stables[STABLE];

static void *stable_reader(void *arg)
{
	struct stable *s = arg;
	int kinds = (s->chans ? 1 : 0) + (s->pattern ? 1 : 0), ends = 0;

	while (ends < PUBLISHERS * kinds && !atomic_load(&failed)) {
		redisReply *r;
		int kind, pub;
		long long seq;

		if (redisGetReply(s->c, (void **)&r) != REDIS_OK) {
			fail("stable subscriber %s%lld: read failed (lost messages?) after %lld "
			     "ends",
			     "", s->idx, ends);
			break;
		}
		if (parse_msg(r, &kind, &pub, &seq) != 0) {
			fail("stable subscriber got a non-message%s %lld %lld", "", s->idx, 0);
			freeReplyObject(r);
			break;
		}
		freeReplyObject(r);
		if (seq < 0) {
			if (s->ended[pub][kind])
				fail("END twice%s %lld %lld", "", pub, kind);
			s->ended[pub][kind] = true;
			ends++;
			continue;
		}
		if (s->ended[pub][kind])
			fail("message after END%s publisher %lld seq %lld", "", pub, seq);
		if (seq != s->next[pub][kind])
			fail(
			    "stable subscriber%s: publisher %lld: got seq %lld (loss, duplicate or "
			    "reorder)",
			    "", pub, seq);
		s->next[pub][kind] = seq + 1;
		atomic_fetch_add(&delivered_n, 1);
	}
	return NULL;
}

/* One churn round on a fresh connection. */
static void churn_round(int idx, unsigned *rng)
{
	redisContext *c = connect_srv(1); /* reads end soon once publishing stops */
	long long last[PUBLISHERS][2];
	redisReply *r;
	int mode = rand_r(rng) % 3, want = 1 + rand_r(rng) % 200;

	if (c == NULL)
		return;
	memset(last, 0xff, sizeof(last)); /* -1 */
	r = redisCommand(c, "CLIENT ID");
	if (r && r->type == REDIS_REPLY_INTEGER)
		atomic_store(&churn_ids[idx], r->integer);
	if (r)
		freeReplyObject(r);
	if (rand_r(rng) % 2)
		r = redisCommand(c, "SUBSCRIBE ch%d", rand_r(rng) % CHANNELS);
	else
		r = redisCommand(c, "PSUBSCRIBE c*");
	if (r == NULL) {
		redisFree(c); /* killed */
		return;
	}
	freeReplyObject(r);
	for (int i = 0; i < want && !atomic_load(&failed); i++) {
		int kind, pub;
		long long seq;

		if (redisGetReply(c, (void **)&r) != REDIS_OK)
			break; /* killed, or the publishers stopped */
		if (parse_msg(r, &kind, &pub, &seq) == 0 && seq >= 0) {
			if (seq <= last[pub][kind])
				fail("churner%s: publisher %lld: seq %lld not increasing", "", pub,
				     seq);
			last[pub][kind] = seq;
			atomic_fetch_add(&churn_msgs_n, 1);
		}
		freeReplyObject(r);
	}
	if (mode == 0) {
		/* UNSUBSCRIBE: messages until its confirmation, still in order */
		redisAppendCommand(c, "UNSUBSCRIBE");
		redisAppendCommand(c, "PUNSUBSCRIBE");
		for (int confirmations = 0; confirmations < 2 && !atomic_load(&failed);) {
			int kind, pub;
			long long seq;

			if (redisGetReply(c, (void **)&r) != REDIS_OK)
				break;
			if (parse_msg(r, &kind, &pub, &seq) == 0) {
				if (seq >= 0 && seq <= last[pub][kind])
					fail("churner%s: publisher %lld: seq %lld not increasing",
					     "", pub, seq);
				if (seq >= 0)
					last[pub][kind] = seq;
			} else {
				confirmations++;
			}
			freeReplyObject(r);
		}
	} else if (mode == 1) {
		r = redisCommand(c, "RESET");
		if (r)
			freeReplyObject(r);
	}
	atomic_store(&churn_ids[idx], 0);
	redisFree(c); /* mode 2: a disconnect with messages unread */
	atomic_fetch_add(&churn_rounds_n, 1);
}

static void *churner(void *arg)
{
	int idx = (int)(intptr_t)arg;
	unsigned rng = 0x9e3779b9u * (unsigned)(idx + 1);

	while (atomic_load(&churning) && !atomic_load(&failed))
		churn_round(idx, &rng);
	return NULL;
}

static void *killer(void *arg)
{
	redisContext *c = connect_srv(10);
	unsigned rng = 12345;

	(void)arg;
	if (c == NULL)
		return NULL;
	while (atomic_load(&churning) && !atomic_load(&failed)) {
		long long id = atomic_load(&churn_ids[rand_r(&rng) % CHURNERS]);

		if (id > 0) {
			redisReply *r = redisCommand(c, "CLIENT KILL ID %lld", id);

			if (r && r->type == REDIS_REPLY_INTEGER && r->integer == 1)
				atomic_fetch_add(&kills_n, 1);
			if (r)
				freeReplyObject(r);
		}
		usleep(20000);
	}
	redisFree(c);
	return NULL;
}

int main(int argc, char **argv)
{
	const char *extra[] = {"--threads", "4", NULL, NULL, NULL};
	pthread_t pubs[PUBLISHERS], readers[STABLE], churners[CHURNERS], kt;
	int seconds = 3;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
			seconds = atoi(argv[++i]);
		} else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
			extra[1] = argv[++i];
		} else if (strcmp(argv[i], "--no-stealing") == 0) {
			/* a worker's own subscribers then take the deferred path
			 * (net/worker.c: defer_take), as with --threads 1 */
			extra[2] = "--work-stealing";
			extra[3] = "no";
		}
	}
	if (kvsd_start(&srv, extra) != 0) {
		fprintf(stderr, "stress_pubsub: cannot start the server\n");
		return 1;
	}
	/* the stable subscribers, subscribed before anything is published */
	for (int i = 0; i < STABLE; i++) {
		struct stable *s = &stables[i];
		redisReply *r;

		s->idx = i;
		s->chans = i == 0 || i == 1 || i == 4;
		s->pattern = i == 2 || i == 3 || i == 4;
		s->c = connect_srv(10);
		if (s->c == NULL)
			goto out;
		if (s->chans) {
			r = redisCommand(s->c, "SUBSCRIBE ch0 ch1 ch2");
			freeReplyObject(r);
			for (int k = 1; k < CHANNELS; k++) {
				redisGetReply(s->c, (void **)&r);
				freeReplyObject(r);
			}
		}
		if (s->pattern) {
			r = redisCommand(s->c, "PSUBSCRIBE ch*");
			freeReplyObject(r);
		}
	}
	deadline_ms = now_ms() + seconds * 1000LL;
	for (int i = 0; i < STABLE; i++)
		pthread_create(&readers[i], NULL, stable_reader, &stables[i]);
	for (int i = 0; i < CHURNERS; i++)
		pthread_create(&churners[i], NULL, churner, (void *)(intptr_t)i);
	pthread_create(&kt, NULL, killer, NULL);
	for (int i = 0; i < PUBLISHERS; i++)
		pthread_create(&pubs[i], NULL, publisher, (void *)(intptr_t)i);
	for (int i = 0; i < PUBLISHERS; i++)
		pthread_join(pubs[i], NULL);
	atomic_store(&churning, 0);
	for (int i = 0; i < STABLE; i++)
		pthread_join(readers[i], NULL);
	for (int i = 0; i < CHURNERS; i++)
		pthread_join(churners[i], NULL);
	pthread_join(kt, NULL);
	for (int i = 0; i < STABLE && !atomic_load(&failed); i++)
		for (int p = 0; p < PUBLISHERS; p++)
			for (int k = 0; k < 2; k++)
				if (((k == 0 && stables[i].chans) ||
				     (k == 1 && stables[i].pattern)) &&
				    stables[i].next[p][k] != published[p])
					fail("stable subscriber%s received %lld of %lld", "",
					     stables[i].next[p][k], published[p]);
out:
	for (int i = 0; i < STABLE; i++)
		if (stables[i].c)
			redisFree(stables[i].c);
	{
		int rc = kvsd_stop(&srv, 20000);

		if (rc != 0)
			fail("server exit status %s%lld%lld", "", rc, 0);
	}
	printf("stress_pubsub: %lld published, %lld delivered to stable subscribers, %lld to "
	       "churners in %lld rounds, %lld kills: %s\n",
	       published[0] + published[1] + published[2], (long long)atomic_load(&delivered_n),
	       (long long)atomic_load(&churn_msgs_n), (long long)atomic_load(&churn_rounds_n),
	       (long long)atomic_load(&kills_n), atomic_load(&failed) ? "FAIL" : "ok");
	return atomic_load(&failed) ? 1 : 0;
}
