/*
 * resp.h — the RESP codec's parsing half: pure functions from bytes to values.
 *
 * Two parsers:
 *  - resp_req_parse(): requests as a server reads them — RESP multibulk arrays
 *    of bulk strings ("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n") and inline commands
 *    ("GET k\r\n", split with Redis's quoting rules, as redis-cli and telnet
 *    send). Limits (bulk length, element count, inline length) produce the
 *    exact error texts Redis 7.0 sends before it closes the connection.
 *  - resp_reply_parse(): any RESP2 or RESP3 value as a client reads it
 *    (+ - : $ * _ , # ! = ( % ~ > |), nested to any depth up to a limit.
 *
 * And the text rules they share with server/, kept here once: string2ll,
 * ll2string, sdssplitargs (one word at a time) and sdscatrepr.
 *
 * Both are incremental: they may be called again whenever more bytes arrive,
 * are correct for input split at any byte, and keep enough state that a long
 * value arriving in many pieces is not re-scanned from its start each time
 * (total work is linear in the input). Running out of bytes is not an error
 * (RESP_INCOMPLETE).
 *
 * Threads: a parser object belongs to one connection; calls on one parser
 * must not overlap. Different parsers are independent. No globals.
 * Ownership: the caller owns the input buffer. Parsed arguments are offsets
 * into the caller's buffer, relative to the first unconsumed byte passed in;
 * the caller must present the same unconsumed bytes (possibly moved, possibly
 * extended) on the next call until a value completes and is consumed.
 * Inline arguments that need unescaping are copied into the parser's
 * scratch area (resp_req.scratch); resp_req_argp() hides the difference.
 * Errors: RESP_EPROTO / RESP_ETOOBIG with resp_req.err set to the exact
 * Redis error text (without the leading '-' and trailing CRLF).
 * Progress: pure computation; no system calls.
 *
 * Compatibility notes (checked against redis-server 7.0.15):
 *  - A header line is found as Redis finds it, with strchr(): a NUL byte
 *    before the line's terminator hides the terminator, so such a request
 *    never completes and ends in a "too big ..." error once more than
 *    RESP_INLINE_MAX bytes are buffered. The "\n" after a header's "\r" and
 *    the CRLF after a bulk payload are skipped, not checked, as Redis does.
 *  - A line (inline request, multibulk or bulk count) is "too big ..." as
 *    in Redis: when its terminator is not among the bytes given and more
 *    than RESP_INLINE_MAX bytes follow its start. A longer line whose
 *    terminator arrived in the same read is parsed, so for lines over
 *    RESP_INLINE_MAX the result depends on how the input is split into
 *    calls, as Redis's depends on its reads; conn_io.c sizes its reads as
 *    Redis 7.0 does so that both accept and refuse the same requests.
 *    Lines up to RESP_INLINE_MAX never depend on the split.
 *  - Streamed RESP3 types ("$?", "*?", ";" chunks, ".") are not supported by
 *    resp_reply_parse(): RESP_EPROTO. Redis itself never sends them.
 */
#ifndef KVSD_RESP_H
#define KVSD_RESP_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

enum resp_status {
	RESP_OK = 0,	 /* one complete value parsed; *consumed says how many bytes */
	RESP_INCOMPLETE, /* need more bytes; state kept, call again with more */
	RESP_EPROTO,	 /* malformed input; err holds Redis's text; close after replying */
	RESP_ETOOBIG,	 /* a limit was exceeded; err holds Redis's text; close after replying */
};

/* Redis's defaults. */
#define RESP_INLINE_MAX	    (64 * 1024) /* PROTO_INLINE_MAX_SIZE */
#define RESP_MBULK_MAX	    INT_MAX	/* max elements in a request array (7.0: INT_MAX) */
#define RESP_BULK_MAX_DEF   (512LL * 1024 * 1024)
#define RESP_AUTH_MBULK_MAX 10	  /* array size allowed before AUTH */
#define RESP_AUTH_BULK_MAX  16384 /* bulk length allowed before AUTH */
#define RESP_REPLY_MAXDEPTH 64

/* One argument of a parsed request: bytes [off, off+len) of the buffer given to
 * resp_req_parse (or of req->scratch when in_scratch is set, inline only; or
 * at ext when the caller received the bulk itself, resp_req_put_bulk). */
struct resp_arg {
	size_t off;
	size_t len;
	int in_scratch;
	const char *ext;
};

struct resp_req {
	/* limits, set by the caller (defaults by resp_req_init) */
	long long max_bulk_len; /* proto-max-bulk-len */
	int auth_required;	/* Redis refuses big unauthenticated requests */

	/* result of the last RESP_OK */
	int argc;
	struct resp_arg *argv; /* capacity argv_cap; grows, reused across requests */
	int argv_cap;
	char *scratch; /* unescaped inline arguments live here */
	size_t scratch_len, scratch_cap;

	/* error text for RESP_EPROTO / RESP_ETOOBIG */
	char err[128];

	/* private parse state */
	int kind;	 /* 0 = none yet, '*' multibulk, 'i' inline, 'E'/'T' failed */
	long long mbulk; /* elements still expected, -1 unknown */
	long long bulk;	 /* length of the bulk being read, -1 if header not read */
	size_t pos;	 /* bytes of this request parsed so far (start of the next element) */
	size_t scan;	 /* where the search for the current line's terminator resumes */
};

/* Zeroes r and sets the limits to Redis's defaults (no allocation). */
void resp_req_init(struct resp_req *r);
/* Frees argv and scratch (allocated with mem_alloc). */
void resp_req_deinit(struct resp_req *r);
/* Forget any partial request or error (RESP_OK does this by itself, keeping
 * argc/argv readable until the next call). Capacity is kept. */
void resp_req_reset(struct resp_req *r);

/*
 * Parse one request from buf[0..len). On RESP_OK, *consumed is the number of
 * bytes making up the request (the caller drops them after executing it),
 * r->argc/argv describe it. argc may be 0 for an empty request ("*0\r\n",
 * "*-1\r\n", an empty inline line): the caller just consumes it.
 * Pointer to argument i: resp_req_argp(r, buf, i).
 * On RESP_INCOMPLETE *consumed is 0; when a bulk's header has been read
 * (r->bulk >= 0), resp_req_need() tells how many bytes the request needs at
 * least (the caller may grow its buffer once rather than repeatedly).
 * After RESP_EPROTO / RESP_ETOOBIG every further call returns the same status
 * until resp_req_reset().
 */
enum resp_status resp_req_parse(struct resp_req *r, const char *buf, size_t len, size_t *consumed);

/*
 * Look-ahead (net_opts.prefetch): the complete requests at the start of
 * buf[0..len), up to max of them, each as its argc and its first
 * RESP_PEEK_ARGS arguments (pointing into buf), parsed as resp_req_parse
 * parses them with proto-max-bulk-len max_bulk_len. Stops before the first
 * request that is incomplete, malformed, inline, empty, or of more than
 * RESP_PEEK_ARGC arguments. Returns how many; *covered = their bytes. No
 * allocation, no state: the connection's own parse is untouched.
 */
#define RESP_PEEK_ARGS 4
#define RESP_PEEK_ARGC 8
struct resp_peek {
	int argc;
	const char *argv[RESP_PEEK_ARGS];
	size_t argl[RESP_PEEK_ARGS];
};
int resp_req_peek(const char *buf, size_t len, long long max_bulk_len, struct resp_peek *out,
		  int max, size_t *covered);

/* After RESP_INCOMPLETE: total bytes (from the request's first byte) needed
 * before the bulk being read is complete, or 0 when not known yet. */
static inline size_t resp_req_need(const struct resp_req *r)
{
	return r->kind == '*' && r->bulk >= 0 ? r->pos + (size_t)r->bulk + 2 : 0;
}

static inline const char *resp_req_argp(const struct resp_req *r, const char *buf, int i)
{
	if (r->argv[i].ext)
		return r->argv[i].ext;
	return r->argv[i].in_scratch ? r->scratch + r->argv[i].off : buf + r->argv[i].off;
}

/*
 * Receiving a large bulk outside the buffer. After RESP_INCOMPLETE with the
 * header of a bulk read (resp_req_bulk_pending() > 0), the caller may take
 * the bulk's bytes out of its buffer — which must then end where the payload
 * starts, resp_req_bulk_start() bytes after the request's first byte — and
 * gather the payload and its CRLF elsewhere (a large value can then become
 * stored data without a copy). Once it holds them all at p, it calls
 * resp_req_put_bulk(r, p): the bulk becomes the next argument
 * (resp_req_argp() returns p; p must stay valid while the request is used)
 * and parsing resumes with the buffer's bytes after the bulk, as if the
 * payload had been there. As with a payload in the buffer, its CRLF is not
 * checked.
 */
static inline long long resp_req_bulk_pending(const struct resp_req *r)
{
	return r->kind == '*' ? r->bulk : -1;
}

static inline size_t resp_req_bulk_start(const struct resp_req *r)
{
	return r->pos;
}

void resp_req_put_bulk(struct resp_req *r, const char *p);

/* ---------------------------------------------------------------------------
 * Redis's text rules. The codec needs them (lengths, inline commands) and so
 * does server/ (command arguments, the config file, CONFIG REWRITE, MONITOR
 * lines), so they live here once. Pure functions, any thread.
 */

/*
 * string2ll: kvsd's one string-to-integer, with the acceptance rules of
 * Redis's util.c string2ll() (which Redis uses for request lengths and, via
 * getLongLongFromObject, for every integer argument and value): base 10, an
 * optional '-', no '+', no blanks, no leading zeros except "0" itself (so
 * "-0" and "01" are refused), every byte of s[0..len) a digit (an embedded NUL
 * is not), within long long. Returns 1 and stores the value in *out (out may
 * be NULL), or 0.
 */
int resp_str2ll(const char *s, size_t len, long long *out);

/* ll2string: v in base 10 at dst (RESP_LL_STR_MAX bytes suffice), the form
 * resp_str2ll() reads back. Returns the length; no NUL is added. Inline: the
 * reply encoder calls it for every header. */
#define RESP_LL_STR_MAX 20
static inline size_t resp_digits10(unsigned long long v)
{
	if (v < 10)
		return 1;
	if (v < 100)
		return 2;
	if (v < 1000)
		return 3;
	if (v < 1000000000000ULL) {
		if (v < 100000000ULL) {
			if (v < 1000000)
				return v < 10000 ? 4 : 5 + (v >= 100000);
			return 7 + (v >= 10000000ULL);
		}
		if (v < 10000000000ULL)
			return 9 + (v >= 1000000000ULL);
		return 11 + (v >= 100000000000ULL);
	}
	return 12 + resp_digits10(v / 1000000000000ULL);
}

static inline size_t resp_ll2str(char *dst, long long v)
{
	/* two digits per division, written from the end (Redis's ll2string) */
	static const char pairs[201] = "00010203040506070809101112131415161718192021222324"
				       "25262728293031323334353637383940414243444546474849"
				       "50515253545556575859606162636465666768697071727374"
				       "75767778798081828384858687888990919293949596979899";
	unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
	size_t n = resp_digits10(u), i = v < 0;

	if (v < 0)
		dst[0] = '-';
	for (size_t k = i + n; u >= 100; u /= 100) {
		unsigned r = (unsigned)(u % 100) * 2;

		dst[--k] = pairs[r + 1];
		dst[--k] = pairs[r];
	}
	if (u >= 10) {
		dst[i + 1] = pairs[u * 2 + 1];
		dst[i] = pairs[u * 2];
	} else {
		dst[i] = (char)('0' + u);
	}
	return i + n;
}

/* One word found by resp_split_word(). */
struct resp_word {
	size_t start;  /* where the word begins in the text */
	size_t len;    /* its length once unquoted */
	int unescaped; /* 0: the word is text[start..start+len); 1: it is out[0..len) */
};

/*
 * sdssplitargs, one word at a time: the next word of text[*pos..len) with the
 * rules of Redis's sds.c sdssplitargs(), which splits inline commands and
 * config lines. Blanks (isspace) separate words; a word ends at ' ', \t, \r,
 * \n; "..." takes \xHH, \n \r \t \b \a and \<any> escapes, '...' only \';
 * a closing quote must be followed by a blank or the end. The text ends at
 * len or at its first NUL byte, as Redis's C string does.
 *
 * A word without quotes stays in the text (w->unescaped == 0). A word with
 * quotes is unescaped into out, which needs room for len - *pos bytes (an
 * unescaped word is never longer than the text it came from); out is not
 * touched otherwise and may be NULL when the text holds no quote character.
 * Returns 1 with *w set and *pos past the word, 0 when only blanks are left,
 * -1 on unbalanced quotes (Redis's "unbalanced quotes" errors).
 */
int resp_split_word(const char *text, size_t len, size_t *pos, char *out, struct resp_word *w);

/*
 * sdscatrepr: writes s[0..len) to dst as Redis quotes it (MONITOR lines,
 * CONFIG REWRITE, logs): in double quotes, with \\ \" \n \r \t \a \b
 * escaped and every other byte outside printable ASCII as \xHH (lower-case
 * hex), which resp_split_word() reads back. dst needs RESP_REPR_MAX(len)
 * bytes; returns the length written (no NUL is added).
 */
#define RESP_REPR_MAX(len) (4 * (len) + 2)
size_t resp_repr(char *dst, const char *s, size_t len);

/* ---------------------------------------------------------------------------
 * Replies (client side).
 */
enum resp_type {
	RESP_T_SIMPLE = '+',
	RESP_T_ERROR = '-',
	RESP_T_INT = ':',
	RESP_T_BULK = '$',
	RESP_T_ARRAY = '*',
	RESP_T_NULL = '_',
	RESP_T_DOUBLE = ',',
	RESP_T_BOOL = '#',
	RESP_T_BLOBERR = '!',
	RESP_T_VERBATIM = '=',
	RESP_T_BIGNUM = '(',
	RESP_T_MAP = '%',
	RESP_T_SET = '~',
	RESP_T_PUSH = '>',
	RESP_T_ATTR = '|',
};

/* Describes the top-level value of the last complete reply. For $-1 and *-1
 * (RESP2 nulls) is_null is set and type stays '$' or '*'; '_' also sets it.
 * An attribute ('|') before a value is skipped: top describes the value. */
struct resp_value {
	int type;
	int is_null;
	long long integer; /* ':' value, '#' as 0/1, aggregate count as sent (pairs for % |) */
	double dbl;	   /* ',' value */
	size_t str_off;	   /* payload of + - $ ! = ( , : # relative to the buffer start */
	size_t str_len;
};

struct resp_reply {
	struct resp_value top;
	char err[128];
	long long max_bulk_len; /* default RESP_BULK_MAX_DEF */
	/* private: a stack of aggregates still expecting elements */
	int depth;
	long long remaining[RESP_REPLY_MAXDEPTH];
	unsigned char is_attr[RESP_REPLY_MAXDEPTH]; /* frame is an attribute (not an element) */
	size_t pos;				    /* bytes of this reply parsed so far */
	size_t scan; /* where the search for the current line's CR resumes */
	int started;
	int have_top;
};

/* Zeroes r and sets max_bulk_len to RESP_BULK_MAX_DEF. Needs no deinit. */
void resp_reply_init(struct resp_reply *r);
/*
 * Parse one complete reply (including all nested elements) from buf[0..len).
 * On RESP_OK *consumed is its size and r->top describes it; nested elements
 * can be walked with resp_reply_parse on a fresh parser over the payload, or
 * with resp_value_next() below. Validation is strict (CRLF everywhere, exact
 * integers, verbatim "xxx:" prefix, '#' t/f, ...): anything else is
 * RESP_EPROTO with err set; a bulk over max_bulk_len is RESP_ETOOBIG.
 * After RESP_OK the parser is ready for the next reply.
 */
enum resp_status resp_reply_parse(struct resp_reply *r, const char *buf, size_t len,
				  size_t *consumed);

/*
 * Non-incremental helper for walking a complete reply: parse exactly one value
 * header at buf[0..len) (which must hold a complete value), fill *v, and set
 * *hdr to the bytes of the value's own header/payload — for aggregates that is
 * only the "*N\r\n" line, so the next call reads the first element (an
 * attribute is returned as type '|' with integer = pairs; the caller skips
 * its 2N elements). Returns RESP_OK, or RESP_INCOMPLETE / RESP_EPROTO.
 */
enum resp_status resp_value_next(const char *buf, size_t len, struct resp_value *v, size_t *hdr);

#endif
