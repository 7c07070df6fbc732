/*
 * hr_test — Criterion helpers shared by the hiredis integration tests.
 *
 * Each checker takes a reply returned by hiredis, asserts its type and content and frees it;
 * the HR_* wrappers pass the caller's line so a failure points at the test, not at this file.
 * A NULL reply (I/O error) fails with the context's error text.
 *
 * Threads: the checkers call cr_assert, which must run on the test's own thread; worker
 * threads in the tests record failures in their own state and the test thread asserts.
 */
#ifndef KVSD_TEST_HR_TEST_H
#define KVSD_TEST_HR_TEST_H

#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include <criterion/criterion.h>
#include <hiredis/hiredis.h>

#include "hr_show.h"
#include "kvsd_proc.h"

/* hr_cmd: run a command; fails the test when hiredis returns no reply. */
static inline redisReply *hr_cmd_at(int line, redisContext *c, const char *fmt, ...)
{
	redisReply *r;
	va_list ap;

	va_start(ap, fmt);
	r = redisvCommand(c, fmt, ap);
	va_end(ap);
	cr_assert(r != NULL, "line %d: '%s': no reply (err %d: %s)", line, fmt, c->err, c->errstr);
	return r;
}

static inline void hr_expect_type_at(int line, redisReply *r, int type, const char *what)
{
	if (r->type != type) {
		const char *shown = hr_show(r);

		cr_assert_fail("line %d: %s: expected a %s reply, got %s", line, what,
			       hr_type_name(type), shown);
	}
}

static inline void hr_ok_at(int line, redisReply *r)
{
	hr_expect_type_at(line, r, REDIS_REPLY_STATUS, "status OK");
	cr_assert(r->len == 2 && memcmp(r->str, "OK", 2) == 0, "line %d: expected +OK, got %s",
		  line, hr_show(r));
	freeReplyObject(r);
}

static inline void hr_status_at(int line, redisReply *r, const char *want)
{
	hr_expect_type_at(line, r, REDIS_REPLY_STATUS, want);
	cr_assert(r->len == strlen(want) && memcmp(r->str, want, r->len) == 0,
		  "line %d: expected +%s, got %s", line, want, hr_show(r));
	freeReplyObject(r);
}

static inline void hr_int_at(int line, redisReply *r, long long want)
{
	hr_expect_type_at(line, r, REDIS_REPLY_INTEGER, "integer");
	cr_assert(r->integer == want, "line %d: expected (integer) %lld, got %lld", line, want,
		  r->integer);
	freeReplyObject(r);
}

static inline void hr_bulk_at(int line, redisReply *r, const void *want, size_t len)
{
	hr_expect_type_at(line, r, REDIS_REPLY_STRING, "bulk");
	cr_assert(r->len == len, "line %d: expected a %zu-byte bulk, got %zu bytes", line, len,
		  r->len);
	cr_assert(memcmp(r->str, want, len) == 0, "line %d: bulk content differs", line);
	freeReplyObject(r);
}

static inline void hr_nil_at(int line, redisReply *r)
{
	hr_expect_type_at(line, r, REDIS_REPLY_NIL, "nil");
	freeReplyObject(r);
}

static inline void hr_err_at(int line, redisReply *r, const char *want)
{
	hr_expect_type_at(line, r, REDIS_REPLY_ERROR, want);
	cr_assert(r->len == strlen(want) && memcmp(r->str, want, r->len) == 0,
		  "line %d: expected -%s, got %s", line, want, hr_show(r));
	freeReplyObject(r);
}

/* Error whose text starts with prefix (for errors whose tail may differ). */
static inline void hr_err_prefix_at(int line, redisReply *r, const char *prefix)
{
	hr_expect_type_at(line, r, REDIS_REPLY_ERROR, prefix);
	cr_assert(r->len >= strlen(prefix) && memcmp(r->str, prefix, strlen(prefix)) == 0,
		  "line %d: expected an error starting '%s', got %s", line, prefix, hr_show(r));
	freeReplyObject(r);
}

#define HR_CMD(c, ...)		  hr_cmd_at(__LINE__, (c), __VA_ARGS__)
#define HR_OK(r)		  hr_ok_at(__LINE__, (r))
#define HR_STATUS(r, s)		  hr_status_at(__LINE__, (r), (s))
#define HR_INT(r, n)		  hr_int_at(__LINE__, (r), (n))
#define HR_BULK(r, p, n)	  hr_bulk_at(__LINE__, (r), (p), (n))
#define HR_STR(r, s)		  hr_bulk_at(__LINE__, (r), (s), strlen(s))
#define HR_NIL(r)		  hr_nil_at(__LINE__, (r))
#define HR_ERR(r, s)		  hr_err_at(__LINE__, (r), (s))
#define HR_ERR_PREFIX(r, s)	  hr_err_prefix_at(__LINE__, (r), (s))
#define HR_EXPECT_TYPE(r, t, msg) hr_expect_type_at(__LINE__, (r), (t), (msg))

/* hr_connect: a connected context or a failed test. */
static inline redisContext *hr_connect_at(int line, const struct kvsd_proc *p)
{
	redisContext *c = kvsd_connect(p);

	cr_assert(c != NULL && !c->err, "line %d: connect to port %d: %s", line, p->port,
		  c ? c->errstr : "out of memory");
	return c;
}
#define HR_CONNECT(p) hr_connect_at(__LINE__, (p))

#endif
