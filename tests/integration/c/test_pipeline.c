/*
 * test_pipeline.c — pipelined requests through hiredis: replies come back complete and in
 * request order, for one connection and for several pipelining at once.
 *
 * hiredis's redisAppendCommand only buffers; the first redisGetReply writes the whole batch
 * (about 300 KB for 10,000 commands), so the server sees many commands per read and must
 * keep answering while its socket's send buffer is full.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hr_test.h"

static struct kvsd_proc srv;
static redisContext *ctx;

static void pipe_setup(void)
{
	int rc;

	signal(SIGPIPE, SIG_IGN);
	rc = kvsd_start(&srv, NULL);
	cr_assert(rc == 0, "kvsd_start: %s", strerror(-rc));
	ctx = HR_CONNECT(&srv);
}

static void pipe_teardown(void)
{
	int st;

	if (ctx)
		redisFree(ctx);
	ctx = NULL;
	st = kvsd_stop(&srv, 15000);
	cr_expect(st == 0, "server exit status after SIGTERM: %d (want 0)", st);
}

TestSuite(pipeline, .init = pipe_setup, .fini = pipe_teardown, .timeout = 90);

#define PIPE_N 10000

static redisReply *pipe_next(redisContext *c, int i)
{
	redisReply *r = NULL;

	cr_assert(redisGetReply(c, (void **)&r) == REDIS_OK, "reply %d: %s", i, c->errstr);
	return r;
}

Test(pipeline, ten_thousand_in_order)
{
	char want[64];

	/* SET k_i, GET k_(i-1), INCR ctr in rotation: each reply's value says its position. */
	for (int i = 0; i < PIPE_N; i++) {
		switch (i % 3) {
		case 0:
			redisAppendCommand(ctx, "SET pk:%d v-%d", i, i);
			break;
		case 1:
			redisAppendCommand(ctx, "GET pk:%d", i - 1);
			break;
		default:
			redisAppendCommand(ctx, "INCR ctr");
		}
	}
	for (int i = 0; i < PIPE_N; i++) {
		redisReply *r = pipe_next(ctx, i);

		switch (i % 3) {
		case 0:
			HR_OK(r);
			break;
		case 1:
			snprintf(want, sizeof(want), "v-%d", i - 1);
			HR_STR(r, want);
			break;
		default:
			HR_INT(r, i / 3 + 1);
		}
	}
	HR_STR(HR_CMD(ctx, "GET ctr"), "3333");
}

Test(pipeline, mixed_with_errors_in_order)
{
	/* Errors in the middle of a pipeline do not shift the replies after them. */
	for (int i = 0; i < 1000; i++) {
		if (i % 10 == 5)
			redisAppendCommand(ctx, "INCR");
		else if (i % 10 == 7)
			redisAppendCommand(ctx, "NOSUCH");
		else
			redisAppendCommand(ctx, "ECHO e%d", i);
	}
	for (int i = 0; i < 1000; i++) {
		redisReply *r = pipe_next(ctx, i);
		char want[32];

		if (i % 10 == 5) {
			HR_ERR(r, "ERR wrong number of arguments for 'incr' command");
		} else if (i % 10 == 7) {
			HR_ERR_PREFIX(r, "ERR unknown command 'NOSUCH'");
		} else {
			snprintf(want, sizeof(want), "e%d", i);
			HR_STR(r, want);
		}
	}
}

#define PAR_CONNS 4
#define PAR_N	  5000

struct par_arg {
	int id;
	char err[512];
};

static void *par_writer(void *p)
{
	struct par_arg *a = p;
	redisContext *c = kvsd_connect(&srv);

	if (!c || c->err) {
		snprintf(a->err, sizeof(a->err), "connect: %s", c ? c->errstr : "oom");
		goto out;
	}
	for (int i = 0; i < PAR_N; i++)
		redisAppendCommand(c, "SET par:%d:%d %d-%d", a->id, i, a->id, i);
	for (int i = 0; i < PAR_N; i++) {
		redisReply *r = NULL;

		if (redisGetReply(c, (void **)&r) != REDIS_OK) {
			snprintf(a->err, sizeof(a->err), "conn %d reply %d: %s", a->id, i,
				 c->errstr);
			goto out;
		}
		if (r->type != REDIS_REPLY_STATUS || strcmp(r->str, "OK") != 0)
			snprintf(a->err, sizeof(a->err), "conn %d reply %d: %s", a->id, i,
				 hr_show(r));
		freeReplyObject(r);
		if (a->err[0])
			goto out;
	}
out:
	if (c)
		redisFree(c);
	return NULL;
}

Test(pipeline, four_connections_at_once)
{
	struct par_arg args[PAR_CONNS];
	pthread_t th[PAR_CONNS];
	char want[32];

	for (int t = 0; t < PAR_CONNS; t++) {
		args[t] = (struct par_arg){.id = t};
		cr_assert(pthread_create(&th[t], NULL, par_writer, &args[t]) == 0);
	}
	for (int t = 0; t < PAR_CONNS; t++)
		pthread_join(th[t], NULL);
	for (int t = 0; t < PAR_CONNS; t++)
		cr_assert(args[t].err[0] == '\0', "%s", args[t].err);
	HR_INT(HR_CMD(ctx, "DBSIZE"), PAR_CONNS * PAR_N);
	for (int t = 0; t < PAR_CONNS; t++)
		for (int i = 0; i < PAR_N; i++)
			redisAppendCommand(ctx, "GET par:%d:%d", t, i);
	for (int t = 0; t < PAR_CONNS; t++)
		for (int i = 0; i < PAR_N; i++) {
			snprintf(want, sizeof(want), "%d-%d", t, i);
			HR_STR(pipe_next(ctx, i), want);
		}
}
