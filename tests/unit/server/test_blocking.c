/*
 * Unit tests for server/blocking.c: the waiter registry (FIFO per key, claims
 * that exclude each other), the ready-key hook's arming, the timer heap
 * (deadlines fire in order, none early) and CLIENT UNBLOCK. net/'s side is
 * stubbed: a "connection" here is a struct with a wake counter.
 */
#include <criterion/criterion.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "concurrency/clock.h"
#include "net/conn.h"
#include "server/aof.h"
#include "server/blocking.h"
#include "server/cmd.h"
#include "server/cmd_docs.h"
#include "server/keyspec.h"
#include "server/multi.h"
#include "server/session.h"
#include "storage/kvmap.h"
#include "storage/db.h"

#include <stdio.h>
#include <stdlib.h>

/* ---- net/ stubs */

struct conn {
	uint64_t id;
	struct session s;
	_Atomic int wakes;
	_Atomic int64_t woken_us; /* first wake */
	int blocked;
	char err[128];
};

uint64_t conn_id(const struct conn *c)
{
	return c->id;
}
int conn_db(const struct conn *c)
{
	(void)c;
	return 0;
}
void *conn_session(const struct conn *c)
{
	return (void *)&c->s;
}
void conn_block(struct conn *c)
{
	c->blocked = 1;
}
void conn_wake(struct conn *c)
{
	int64_t zero = 0;

	atomic_compare_exchange_strong(&c->woken_us, &zero, clock_mono_us());
	atomic_fetch_add(&c->wakes, 1);
}
void reply_error(struct conn *c, const char *s)
{
	snprintf(c->err, sizeof(c->err), "%s", s);
}
void reply_null_array(struct conn *c)
{
	snprintf(c->err, sizeof(c->err), "null");
}
/* no AOF here (server/aof.h) */
bool aof_serve_lock(void)
{
	return false;
}
void aof_serve_unlock(void)
{
}
void aof_note_lsn(struct conn *c, uint64_t lsn)
{
	(void)c;
	(void)lsn;
}
/* the guard's collaborators (server/blocking.h, the guard): no transactions
 * here, and no storage threads to go offline for */
bool multi_is_exec(const struct cmd_def *d)
{
	(void)d;
	return false;
}
void multi_each_queued(struct conn *c,
		       void (*fn)(void *arg, const struct cmd_def *d, int argc,
				  const char *const *argv, const size_t *argl),
		       void *arg)
{
	(void)c;
	(void)fn;
	(void)arg;
}
const struct cmd_doc *cmd_docs_find(const char *name)
{
	(void)name;
	return NULL;
}
int keyspec_has_keys(const struct cmd_doc *doc)
{
	(void)doc;
	return 0;
}
int keyspec_find(const struct cmd_doc *doc, int argc, const char *const *argv, const size_t *argl,
		 struct keyspec_key *out, int cap)
{
	(void)doc, (void)argc, (void)argv, (void)argl, (void)out, (void)cap;
	return 0;
}
void kvmap_thread_offline(void)
{
}
void kvmap_thread_online(void)
{
}

/* ---- a fake command: serves pop from a counter of "elements" per key */

static _Atomic int elements; /* what the one key holds */
static int served_order[16], nserved;

static enum blk_serve_rc serve_count(struct blk_waiter *w, const struct db_view *v, int k,
				     int64_t now_ms)
{
	(void)v;
	(void)k;
	(void)now_ms;
	if (atomic_load(&elements) == 0)
		return BLK_EMPTY;
	atomic_fetch_sub(&elements, 1);
	served_order[nserved++] = (int)w->id;
	blk_result_add(&w->res, "e", 1, 0);
	return BLK_SERVED;
}

static void reply_stub(struct conn *c, struct blk_waiter *w)
{
	snprintf(c->err, sizeof(c->err), "%s",
		 atomic_load(&w->state) == BLK_DONE ? "served" : "timeout");
}

/* ---- storage stubs: the hook blocking.c registers, and the end of a
 * serve's edits */
static db_ready_fn hook_fn;
static const _Atomic long *hook_armed;

void db_set_ready_hook(db_ready_fn fn, const _Atomic long *armed)
{
	hook_fn = fn;
	hook_armed = armed;
}
void db_coll_end(void)
{
}

static void setup(void)
{
	blk_setup(NULL);
	nserved = 0;
	atomic_store(&elements, 0);
}

static void teardown(void)
{
	blk_teardown();
}

static struct conn *mkconn(uint64_t id)
{
	struct conn *c = calloc(1, sizeof(*c));

	c->id = id;
	return c;
}

/* blocks c on "key" (timeout_us 0: forever) */
static struct blk_waiter *block_on(struct conn *c, const char *key, int64_t timeout_us)
{
	const char *argv[] = {"bfake", key, "0"};
	size_t argl[] = {5, strlen(key), 1};
	struct cmd_req r = {.c = c, .argc = 3, .argv = argv, .argl = argl};
	int ki = 1;
	struct blk_waiter *w = blk_waiter_prepare(&r, &ki, 1);

	w->serve = serve_count;
	w->reply = reply_stub;
	w->deadline_us = timeout_us ? clock_mono_us() + timeout_us : 0;
	blk_block(&r, w);
	return w;
}

static void close_conn(struct conn *c)
{
	blk_conn_close(c, &c->s);
	free(c);
}

TestSuite(blocking, .init = setup, .fini = teardown, .timeout = 20);

Test(blocking, fifo_per_key_and_count)
{
	struct conn *c[3];

	cr_assert_eq(blk_blocked_clients(), 0);
	for (int i = 0; i < 3; i++) {
		c[i] = mkconn(10 + (uint64_t)i);
		block_on(c[i], "k", 0);
		cr_assert(c[i]->blocked);
		cr_assert_eq(atomic_load(&c[i]->wakes), 0);
	}
	cr_assert_eq(blk_blocked_clients(), 3);
	cr_assert_not(blk_resume(c[0]), "not answered yet");
	/* two elements arrive; the key is signalled by a write (the db hook),
	 * served at the end of the command */
	atomic_store(&elements, 2);
	blk_serve_ready(); /* nothing noted yet: serves nothing */
	cr_assert_eq(nserved, 0);
	hook_fn(0, "k", 1); /* what the db layer does for a created key */
	cr_assert(blk_have_ready());
	blk_serve_ready();
	cr_assert_eq(nserved, 2);
	cr_assert_eq(served_order[0], 10, "first come, first served");
	cr_assert_eq(served_order[1], 11);
	cr_assert_eq(atomic_load(&c[0]->wakes), 1);
	cr_assert_eq(atomic_load(&c[1]->wakes), 1);
	cr_assert_eq(atomic_load(&c[2]->wakes), 0);
	cr_assert(blk_resume(c[0]));
	cr_assert_str_eq(c[0]->err, "served");
	cr_assert(blk_resume(c[1]));
	cr_assert_not(blk_resume(c[2]));
	cr_assert_eq(blk_blocked_clients(), 1);
	for (int i = 0; i < 3; i++)
		close_conn(c[i]);
	cr_assert_eq(blk_blocked_clients(), 0);
}

Test(blocking, block_serves_itself_when_the_key_filled_meanwhile)
{
	struct conn *a = mkconn(5);

	/* the lost-wakeup window: an element arrived after the command looked
	 * and before it registered; its re-check after registering finds it */
	atomic_store(&elements, 1);
	block_on(a, "k", 0);
	cr_assert_eq(nserved, 1);
	cr_assert(blk_resume(a));
	cr_assert_str_eq(a->err, "served");
	close_conn(a);
}

Test(blocking, cancelled_never_served)
{
	struct conn *a = mkconn(1), *b = mkconn(2);

	block_on(a, "k", 0);
	block_on(b, "k", 0);
	close_conn(a); /* a disconnect */
	atomic_store(&elements, 1);
	hook_fn(0, "k", 1); /* what the db layer does for a created key */
	blk_serve_ready();
	cr_assert_eq(nserved, 1);
	cr_assert_eq(served_order[0], 2, "the element went to the waiter still there");
	cr_assert(blk_resume(b));
	close_conn(b);
}

Test(blocking, unblock_timeout_and_error)
{
	struct conn *a = mkconn(7);

	block_on(a, "k", 0);
	cr_assert_eq(blk_unblock(8, false, false), 0, "no such client");
	cr_assert_eq(blk_unblock(7, false, false), 1);
	cr_assert_eq(blk_unblock(7, true, false), 0, "already unblocked");
	cr_assert_eq(atomic_load(&a->wakes), 1);
	atomic_store(&elements, 1);
	hook_fn(0, "k", 1); /* what the db layer does for a created key */
	blk_serve_ready();
	cr_assert_eq(nserved, 0, "an unblocked waiter is not served");
	cr_assert(blk_resume(a));
	cr_assert_str_eq(a->err, "timeout");
	cr_assert_eq(atomic_load(&elements), 1, "the element stayed");
	atomic_store(&elements, 0);
	block_on(a, "k2", 0);
	cr_assert_eq(blk_unblock(7, true, false), 1);
	cr_assert(blk_resume(a));
	cr_assert_str_eq(a->err, "UNBLOCKED client unblocked via CLIENT UNBLOCK");
	close_conn(a);
}

Test(blocking, timer_fires_in_order_never_early)
{
	enum { N = 12 };
	struct conn *c[N];
	int64_t t0 = clock_mono_us(), deadline[N];

	/* deadlines 5..60 ms, inserted out of order */
	for (int i = 0; i < N; i++) {
		int64_t us = 5000 + ((i * 7) % N) * 5000;

		c[i] = mkconn(100 + (uint64_t)i);
		block_on(c[i], "t", us);
		deadline[i] = c[i]->s.blk->deadline_us;
	}
	{
		/* all N wait, unless the first deadline passed meanwhile (a loaded
		 * machine can hold this thread past 5 ms): nothing may fire before
		 * its deadline, so a count read before the earliest one is N */
		int left = blk_timeout_clients();
		int64_t now = clock_mono_us(), first = deadline[0];

		for (int i = 1; i < N; i++)
			first = deadline[i] < first ? deadline[i] : first;
		if (now < first)
			cr_assert_eq(left, N);
		else
			cr_assert(left >= 0 && left <= N);
	}
	for (int spin = 0; spin < 2000; spin++) {
		int done = 0;

		for (int i = 0; i < N; i++)
			done += atomic_load(&c[i]->wakes) > 0;
		if (done == N)
			break;
		usleep(1000);
	}
	for (int i = 0; i < N; i++) {
		int64_t at = atomic_load(&c[i]->woken_us);

		cr_assert_gt(at, 0, "waiter %d never timed out", i);
		cr_assert_geq(at, deadline[i], "waiter %d fired %lld us early", i,
			      (long long)(deadline[i] - at));
		cr_assert(blk_resume(c[i]));
		cr_assert_str_eq(c[i]->err, "timeout");
	}
	cr_assert_eq(blk_timeout_clients(), 0);
	for (int i = 0; i < N; i++)
		close_conn(c[i]);
	(void)t0;
}

Test(blocking, hook_armed_only_while_blocked)
{
	struct conn *a = mkconn(3);

	cr_assert_eq(atomic_load(hook_armed), 0);
	block_on(a, "k", 0);
	cr_assert_eq(atomic_load(hook_armed), 1);
	close_conn(a);
	cr_assert_eq(atomic_load(hook_armed), 0);
}
