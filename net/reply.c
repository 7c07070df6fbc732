/*
 * reply.c — RESP2/RESP3 reply encoding into a connection's output buffer.
 *
 * Every function appends complete protocol elements; the connection writes
 * the buffer once per batch of commands. Integers are formatted without
 * printf on the hot path.
 */
#include "net/reply.h"
#include "concurrency/mem.h"
#include "net/conn.h"
#include "net/net_internal.h"
#include "net/resp.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdarg.h>
#include <stdio.h>

/* A header (type, number, CRLF) written straight into the buffer. */
static inline void hdr(struct conn *c, char type, long long n)
{
	struct buf *o = &c->out;
	char *b;

	if (o->cap - o->len < RESP_LL_STR_MAX + 3)
		buf_reserve(o, RESP_LL_STR_MAX + 3);
	b = o->data + o->len;
	b[0] = type;
	size_t l = 1 + resp_ll2str(b + 1, n);
	b[l] = '\r';
	b[l + 1] = '\n';
	o->len += l + 2;
}

void reply_ok(struct conn *c)
{
	buf_append(&c->out, "+OK\r\n", 5);
}

void reply_raw(struct conn *c, const void *p, size_t n)
{
	buf_append(&c->out, p, n);
}

void reply_simple(struct conn *c, const char *s)
{
	buf_append(&c->out, "+", 1);
	buf_append(&c->out, s, strlen(s));
	buf_append(&c->out, "\r\n", 2);
}

/* set before workers start (thread creation orders it); read-only after */
static reply_error_observer_fn error_observer;

void reply_set_error_observer(reply_error_observer_fn fn)
{
	error_observer = fn;
}

int reply_fmt_double(char *buf, size_t size, double d)
{
	/* %.17g prints an integer below 10^17 in full, without exponent or
	 * point; -0.0 ("-0") and NaN (the comparisons fail) go to printf */
	if (d > -1e15 && d < 1e15 && d == (double)(long long)d && !(d == 0 && signbit(d))) {
		size_t len = resp_ll2str(buf, (long long)d);

		buf[len] = '\0';
		return (int)len;
	}
	return snprintf(buf, size, "%.17g", d);
}

void reply_double(struct conn *c, double d)
{
	char buf[64];
	int n = reply_fmt_double(buf, sizeof(buf), d);

	if (conn_resp(c) == 3) {
		buf_append(&c->out, ",", 1);
		buf_append(&c->out, buf, (size_t)n);
		buf_append(&c->out, "\r\n", 2);
	} else {
		reply_bulk(c, buf, (size_t)n);
	}
}

void reply_error(struct conn *c, const char *s)
{
	size_t n = strlen(s), start;

	buf_reserve(&c->out, n + 3);
	buf_append(&c->out, "-", 1);
	start = c->out.len;
	buf_append(&c->out, s, n);
	/* A newline inside an error would split the protocol: Redis replaces them. */
	for (size_t i = start; i < c->out.len; i++)
		if (c->out.data[i] == '\r' || c->out.data[i] == '\n')
			c->out.data[i] = ' ';
	if (error_observer)
		error_observer(c->out.data + start, n);
	buf_append(&c->out, "\r\n", 2);
	c->nerrors++; /* the runner adds it to its worker's count (conn_io.c) */
}

void reply_errorf(struct conn *c, const char *fmt, ...)
{
	char small[512], *p = small;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(small)) {
		p = mem_alloc((size_t)n + 1);
		va_start(ap, fmt);
		vsnprintf(p, (size_t)n + 1, fmt, ap);
		va_end(ap);
	}
	reply_error(c, p);
	if (p != small)
		mem_free(p);
}

KV_HOT void reply_int(struct conn *c, long long v)
{
	/* Shared small integers, as Redis keeps shared.integers. */
	if (v == 0) {
		buf_append(&c->out, ":0\r\n", 4);
		return;
	}
	if (v == 1) {
		buf_append(&c->out, ":1\r\n", 4);
		return;
	}
	hdr(c, ':', v);
}

KV_HOT void reply_bulk(struct conn *c, const void *p, size_t n)
{
	struct buf *o = &c->out;
	char *b;
	size_t l;

	if (o->cap - o->len < n + RESP_LL_STR_MAX + 5)
		buf_reserve(o, n + RESP_LL_STR_MAX + 5);
	b = o->data + o->len;
	b[0] = '$';
	l = 1 + resp_ll2str(b + 1, (long long)n);
	b[l++] = '\r';
	b[l++] = '\n';
	kv_copy_short(b + l, p, n);
	l += n;
	b[l++] = '\r';
	b[l++] = '\n';
	o->len += l;
}

void reply_bulk_cstr(struct conn *c, const char *s)
{
	reply_bulk(c, s, strlen(s));
}

void reply_bulk_ll(struct conn *c, long long v)
{
	char b[RESP_LL_STR_MAX];
	size_t n = resp_ll2str(b, v);

	reply_bulk(c, b, n);
}

void reply_null(struct conn *c)
{
	if (conn_resp(c) >= 3)
		buf_append(&c->out, "_\r\n", 3);
	else
		buf_append(&c->out, "$-1\r\n", 5);
}

void reply_null_array(struct conn *c)
{
	if (conn_resp(c) >= 3)
		buf_append(&c->out, "_\r\n", 3);
	else
		buf_append(&c->out, "*-1\r\n", 5);
}

void reply_array(struct conn *c, long long n)
{
	hdr(c, '*', n);
}

void reply_map(struct conn *c, long long n)
{
	if (conn_resp(c) >= 3)
		hdr(c, '%', n);
	else
		hdr(c, '*', n * 2);
}

void reply_set(struct conn *c, long long n)
{
	hdr(c, conn_resp(c) >= 3 ? '~' : '*', n);
}

void reply_verbatim(struct conn *c, const char *s, size_t n)
{
	if (conn_resp(c) < 3) {
		reply_bulk(c, s, n);
		return;
	}
	buf_reserve(&c->out, n + 40);
	hdr(c, '=', (long long)n + 4);
	buf_append(&c->out, "txt:", 4);
	buf_append(&c->out, s, n);
	buf_append(&c->out, "\r\n", 2);
}

/* ---- marks -------------------------------------------------------------- */

/* A mark is the number of reply bytes pending: nothing is written to the
 * socket while a command runs, and compaction keeps pending bytes in order,
 * so it stays meaningful until dispatch returns. */
size_t conn_reply_mark(const struct conn *c)
{
	return buf_pending(&c->out);
}

void conn_reply_truncate(struct conn *c, size_t mark)
{
	KV_ASSERT(mark <= buf_pending(&c->out));
	c->out.len = c->out.rpos + mark;
}

const char *conn_reply_since(const struct conn *c, size_t mark, size_t *len)
{
	if (buf_pending(&c->out) <= mark) {
		*len = 0;
		return NULL;
	}
	*len = buf_pending(&c->out) - mark;
	return c->out.data + c->out.rpos + mark;
}

int conn_reply_first_byte(const struct conn *c, size_t mark)
{
	if (buf_pending(&c->out) <= mark)
		return -1;
	return (unsigned char)c->out.data[c->out.rpos + mark];
}
