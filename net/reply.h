/*
 * reply.h — the RESP codec's writing half: replies appended to a
 * connection's output buffer, in RESP2 or RESP3 depending on what the
 * connection negotiated with HELLO.
 *
 * Type mapping for RESP2 connections (as Redis does): null → $-1 (or *-1 for
 * reply_null_array), map → flat array of 2N, set → array, verbatim → bulk
 * string.
 *
 * Threads: only the thread currently running the connection may call these.
 * Ownership: bytes are copied; callers keep their buffers.
 * Errors: none (allocation failure panics). reply_error* count the error for
 * INFO's error statistics.
 *
 * Marks: a command that must look back at, or take back, what it appended
 * (statistics: did the reply start with an error; EXEC re-running a
 * transaction) takes a mark first and passes it back. A mark is valid until
 * dispatch returns.
 */
#ifndef KVSD_REPLY_H
#define KVSD_REPLY_H

#include <stddef.h>
#include <stdint.h>

struct conn;

/* "+OK\r\n" */
void reply_ok(struct conn *c);
/* "+<s>\r\n"; s must not contain CR/LF */
void reply_simple(struct conn *c, const char *s);
/* "-<s>\r\n"; s is the full text including the code, e.g. "ERR syntax error".
 * CR/LF inside s are replaced by spaces (as Redis's addReplyErrorLength). */
void reply_error(struct conn *c, const char *s);
void reply_errorf(struct conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Called with the text of every error reply (n bytes, without '-' and CRLF)
 * on the replying thread: server/'s INFO errorstats. Set once, before any
 * worker starts (or NULL). */
typedef void (*reply_error_observer_fn)(const char *s, size_t n);
void reply_set_error_observer(reply_error_observer_fn fn);
void reply_int(struct conn *c, long long v);
void reply_bulk(struct conn *c, const void *p, size_t n);
void reply_bulk_cstr(struct conn *c, const char *s);
void reply_bulk_ll(struct conn *c, long long v);
/* A double as Redis's addReplyDouble: RESP3 ",<%.17g>", RESP2 its bulk string. */
void reply_double(struct conn *c, double d);
/* The bytes snprintf(buf, size, "%.17g", d) writes, and their count; an
 * integral d below 10^15 in magnitude (most sorted-set scores) is printed
 * without printf, which is what makes it worth calling. size >= 32. */
int reply_fmt_double(char *buf, size_t size, double d);
/* RESP2 "$-1", RESP3 "_" */
void reply_null(struct conn *c);
/* RESP2 "*-1", RESP3 "_" */
void reply_null_array(struct conn *c);
void reply_array(struct conn *c, long long n);
/* RESP3 "%n", RESP2 "*2n" */
void reply_map(struct conn *c, long long n);
/* RESP3 "~n", RESP2 "*n" */
void reply_set(struct conn *c, long long n);
/* RESP3 "=<len>\r\ntxt:<s>", RESP2 bulk (INFO, CLIENT INFO, CLIENT LIST) */
void reply_verbatim(struct conn *c, const char *s, size_t n);

/* Bytes appended as they are: the caller writes whole RESP elements (the
 * RESP3 types no other reply needs: DEBUG PROTOCOL's double, bignum,
 * boolean, attribute and push). */
void reply_raw(struct conn *c, const void *p, size_t n);

/* Where the next reply byte will go. */
size_t conn_reply_mark(const struct conn *c);
/* Drops every reply byte appended since mark (error counts stay). */
void conn_reply_truncate(struct conn *c, size_t mark);
/* The first reply byte appended since mark ('-' for an error, '+', ':' ...),
 * or -1 if nothing was. */
int conn_reply_first_byte(const struct conn *c, size_t mark);
/* The reply bytes appended since mark (*len of them; NULL when none), valid
 * until the next append: the AOF reads back what SPOP or a pop took. */
const char *conn_reply_since(const struct conn *c, size_t mark, size_t *len);

#endif
