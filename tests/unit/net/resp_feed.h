/*
 * resp_feed.h — test helpers shared by the RESP unit tests and fuzz targets:
 * run a parser over an input fed in chunks, the way a connection would (the
 * unconsumed bytes are moved to a fresh buffer before every call), and print
 * what it produced as a transcript, so that feeding the same input whole, split
 * at any byte or byte by byte can be compared with one strcmp.
 *
 * Threads: none; each call owns its parser. Ownership: transcripts are
 * caller-provided buffers (struct resp_tx). Errors: none; allocation failure
 * aborts (mem_alloc panics).
 */
#ifndef KVSD_TESTS_RESP_FEED_H
#define KVSD_TESTS_RESP_FEED_H

#include "net/resp.h"
#include "concurrency/mem.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* A transcript: text that grows with every result; truncated (and marked) if full. */
struct resp_tx {
	char *s;
	size_t len, cap;
};

static inline void resp_tx_init(struct resp_tx *t)
{
	t->cap = 256;
	t->len = 0;
	t->s = mem_alloc(t->cap);
	t->s[0] = '\0';
}

static inline void resp_tx_free(struct resp_tx *t)
{
	mem_free(t->s);
	t->s = NULL;
}

static inline void resp_tx_put(struct resp_tx *t, const char *p, size_t n)
{
	if (t->len + n + 1 > t->cap) {
		while (t->len + n + 1 > t->cap)
			t->cap *= 2;
		t->s = mem_realloc(t->s, t->cap);
	}
	memcpy(t->s + t->len, p, n);
	t->len += n;
	t->s[t->len] = '\0';
}

__attribute__((format(printf, 2, 3))) static inline void resp_tx_printf(struct resp_tx *t,
									const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(tmp) - 1)
		n = sizeof(tmp) - 1;
	resp_tx_put(t, tmp, (size_t)n);
}

/* Bytes, with anything outside printable ASCII (and '\\', '[', ']') as \xHH. */
static inline void resp_tx_bytes(struct resp_tx *t, const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c < 0x20 || c > 0x7e || c == '\\' || c == '[' || c == ']')
			resp_tx_printf(t, "\\x%02x", c);
		else
			resp_tx_put(t, (const char *)&c, 1);
	}
}

static inline const char *resp_status_name(enum resp_status st)
{
	switch (st) {
	case RESP_OK:
		return "OK";
	case RESP_INCOMPLETE:
		return "INCOMPLETE";
	case RESP_EPROTO:
		return "EPROTO";
	case RESP_ETOOBIG:
		return "ETOOBIG";
	}
	return "?";
}

/*
 * Calls r's parser over in[0..n) delivered in chunks: chunk i ends at
 * cuts[i] (ascending, < n; the last chunk ends at n). If `move` is set the
 * unconsumed bytes are copied to a fresh exactly-sized buffer before every
 * call (catches stale pointers under ASan); otherwise the input is used in
 * place. Each complete request prints "OK argc=N [a][b]...\n"; the run ends
 * with "INCOMPLETE\n" or "EPROTO <err>\n" / "ETOOBIG <err>\n".
 */
static inline void resp_feed_req(struct resp_req *r, const char *in, size_t n, const size_t *cuts,
				 size_t ncuts, int move, struct resp_tx *t)
{
	size_t start = 0, avail = 0, ci = 0;

	for (;;) {
		enum resp_status st;
		size_t consumed = 0;
		const char *buf = in + start;
		char *copy = NULL;

		if (move) {
			copy = mem_alloc(avail - start ? avail - start : 1);
			memcpy(copy, in + start, avail - start);
			buf = copy;
		}
		st = resp_req_parse(r, buf, avail - start, &consumed);
		if (st == RESP_OK) {
			int i;

			resp_tx_printf(t, "OK argc=%d", r->argc);
			for (i = 0; i < r->argc; i++) {
				resp_tx_put(t, " [", 2);
				resp_tx_bytes(t, resp_req_argp(r, buf, i), r->argv[i].len);
				resp_tx_put(t, "]", 1);
			}
			resp_tx_printf(t, " n=%zu\n", consumed);
			start += consumed;
		}
		mem_free(copy);
		if (st == RESP_EPROTO || st == RESP_ETOOBIG) {
			resp_tx_printf(t, "%s ", resp_status_name(st));
			resp_tx_bytes(t, r->err, strlen(r->err));
			resp_tx_put(t, "\n", 1);
			return;
		}
		if (st == RESP_INCOMPLETE || start == avail) {
			if (avail == n) {
				if (st == RESP_INCOMPLETE)
					resp_tx_printf(t, "INCOMPLETE\n");
				return;
			}
			avail = ci < ncuts ? cuts[ci++] : n;
		}
	}
}

/* Same for replies: "OK t=<type> null=<0|1> int=<n> str=[...] n=<consumed>\n". */
static inline void resp_feed_reply(struct resp_reply *r, const char *in, size_t n,
				   const size_t *cuts, size_t ncuts, int move, struct resp_tx *t)
{
	size_t start = 0, avail = 0, ci = 0;

	for (;;) {
		enum resp_status st;
		size_t consumed = 0;
		const char *buf = in + start;
		char *copy = NULL;

		if (move) {
			copy = mem_alloc(avail - start ? avail - start : 1);
			memcpy(copy, in + start, avail - start);
			buf = copy;
		}
		st = resp_reply_parse(r, buf, avail - start, &consumed);
		if (st == RESP_OK) {
			const struct resp_value *v = &r->top;

			resp_tx_printf(t, "OK t=%c null=%d int=%lld str=[", v->type, v->is_null,
				       v->integer);
			if (v->str_off + v->str_len <= consumed)
				resp_tx_bytes(t, buf + v->str_off, v->str_len);
			else
				resp_tx_printf(t, "<out of range>");
			if (v->type == RESP_T_DOUBLE)
				resp_tx_printf(t, "] d=%g n=%zu\n", v->dbl, consumed);
			else
				resp_tx_printf(t, "] n=%zu\n", consumed);
			start += consumed;
		}
		mem_free(copy);
		if (st == RESP_EPROTO || st == RESP_ETOOBIG) {
			resp_tx_printf(t, "%s ", resp_status_name(st));
			resp_tx_bytes(t, r->err, strlen(r->err));
			resp_tx_put(t, "\n", 1);
			return;
		}
		if (st == RESP_INCOMPLETE || start == avail) {
			if (avail == n) {
				if (st == RESP_INCOMPLETE)
					resp_tx_printf(t, "INCOMPLETE\n");
				return;
			}
			avail = ci < ncuts ? cuts[ci++] : n;
		}
	}
}

#endif
