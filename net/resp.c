/*
 * resp.c — incremental RESP parsers: requests (server side) and replies
 * (client side).
 *
 * Requests follow Redis 7.0's processMultibulkBuffer() / processInlineBuffer()
 * rule for rule, because clients and test suites depend on which inputs are
 * accepted and on the exact error texts. The state between calls is a handful
 * of offsets into the caller's buffer: `pos` (start of the next element),
 * `scan` (how far the current line has been searched for its terminator),
 * `mbulk` (elements still expected) and `bulk` (length of the bulk whose
 * header has been read). Every byte is therefore examined a bounded number of
 * times however the input is split, and argv / scratch keep their capacity
 * from one request to the next.
 *
 * Inline commands are split by resp_split_word(), Redis's sdssplitargs()
 * taken one word at a time so that it serves both the inline parser (words
 * without quotes stay in the caller's buffer, quoted ones are unescaped into
 * scratch) and server/'s config-file splitter. It sits with string2ll and
 * sdscatrepr at the end of this file: the rules kvsd shares with Redis's text.
 *
 * Replies are walked one header at a time with a stack of aggregates still
 * expecting elements; an attribute ('|') is a frame that does not count as an
 * element of its parent, so "attribute + value" is parsed as one reply.
 */
#include "net/resp.h"
#include "concurrency/mem.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* isspace() in the C locale, which is what Redis runs its splitting in. */
static int resp_isspace(unsigned char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

/* ---------------------------------------------------------------------------
 * Requests.
 */

void resp_req_init(struct resp_req *r)
{
	memset(r, 0, sizeof(*r));
	r->max_bulk_len = RESP_BULK_MAX_DEF;
	r->mbulk = -1;
	r->bulk = -1;
}

void resp_req_deinit(struct resp_req *r)
{
	mem_free(r->argv);
	mem_free(r->scratch);
	r->argv = NULL;
	r->scratch = NULL;
	r->argv_cap = 0;
	r->scratch_cap = 0;
	resp_req_reset(r);
}

/* Ready for the next request; the last one's argc/argv stay readable. */
static void req_rewind(struct resp_req *r)
{
	r->kind = 0;
	r->mbulk = -1;
	r->bulk = -1;
	r->pos = 0;
	r->scan = 0;
}

void resp_req_reset(struct resp_req *r)
{
	req_rewind(r);
	r->argc = 0;
	r->scratch_len = 0;
	r->err[0] = '\0';
}

/* Records a failure; it sticks until resp_req_reset(). */
static enum resp_status req_fail(struct resp_req *r, enum resp_status st, const char *msg)
{
	snprintf(r->err, sizeof(r->err), "%s", msg);
	r->kind = st == RESP_ETOOBIG ? 'T' : 'E';
	return st;
}

static enum resp_status req_done(struct resp_req *r, size_t end, size_t *consumed)
{
	*consumed = end;
	req_rewind(r);
	return RESP_OK;
}

static void req_push_arg(struct resp_req *r, size_t off, size_t len, int in_scratch)
{
	if (r->argc == r->argv_cap) {
		int cap = r->argv_cap ? r->argv_cap * 2 : 8;

		r->argv = mem_realloc(r->argv, (size_t)cap * sizeof(*r->argv));
		r->argv_cap = cap;
	}
	r->argv[r->argc].off = off;
	r->argv[r->argc].len = len;
	r->argv[r->argc].in_scratch = in_scratch;
	r->argv[r->argc].ext = NULL;
	r->argc++;
}

void resp_req_put_bulk(struct resp_req *r, const char *p)
{
	/* the bulk whose header was read; nothing of it is in the buffer */
	req_push_arg(r, 0, (size_t)r->bulk, 0);
	r->argv[r->argc - 1].ext = p;
	r->scan = r->pos;
	r->bulk = -1;
	r->mbulk--;
}

/* resp_str2ll for a request's counts and lengths, with the one- and two-digit
 * ones (nearly all of them) read inline; s[n] is readable (the line's CR). */
static inline int count_parse(const char *s, size_t n, long long *out)
{
	unsigned d0 = (unsigned)(unsigned char)s[0] - '0';

	if (n == 1 && d0 <= 9) {
		*out = d0;
		return 1;
	}
	if (n == 2 && d0 - 1 < 9) {
		unsigned d1 = (unsigned)(unsigned char)s[1] - '0';

		if (d1 > 9)
			return 0;
		*out = d0 * 10 + d1;
		return 1;
	}
	return resp_str2ll(s, n, out);
}

enum line_result { LINE_FOUND, LINE_MORE, LINE_TOOBIG };

/*
 * Finds the terminator `ch` of the line starting at `start`, as strchr() on
 * Redis's NUL-terminated query buffer would: a NUL first hides it for good.
 * The search resumes at *scan and leaves *scan where it stopped. As in Redis,
 * a line is too big only while its terminator is not among the bytes given
 * and more than RESP_INLINE_MAX of them follow its start (see resp.h).
 */
static enum line_result find_line(const char *buf, size_t len, size_t start, size_t *scan, char ch,
				  size_t *at)
{
	size_t i = *scan;

	for (; i < len; i++) {
		if (buf[i] == ch) {
			*scan = i;
			*at = i;
			return LINE_FOUND;
		}
		if (buf[i] == '\0')
			break; /* stalled: stay on the NUL, nothing after it matters */
	}
	*scan = i;
	return len - start > RESP_INLINE_MAX ? LINE_TOOBIG : LINE_MORE;
}

/* find_line(..., '\r', ...) for a multibulk's count lines, inline where they
 * are read. A count of one or two digits ("*3", "$5", "$16": nearly every
 * request header) needs no loop: bytes above '\r' are neither the terminator
 * nor a NUL, so a CR at i + 2 or i + 3 after two (three) of them is the one
 * the loop would find (~45 instructions fewer per 3-argument request). */
static inline __attribute__((always_inline)) enum line_result
find_cr(const char *buf, size_t len, size_t start, size_t *scan, size_t *at)
{
	size_t i = *scan;

	if (__builtin_expect(i + 3 < len, 1) && (unsigned char)buf[i] > '\r' &&
	    (unsigned char)buf[i + 1] > '\r') {
		if (buf[i + 2] == '\r') {
			*scan = *at = i + 2;
			return LINE_FOUND;
		}
		if ((unsigned char)buf[i + 2] > '\r' && buf[i + 3] == '\r') {
			*scan = *at = i + 3;
			return LINE_FOUND;
		}
	}
	return find_line(buf, len, start, scan, '\r', at);
}

static inline __attribute__((always_inline)) enum resp_status
req_multibulk(struct resp_req *r, const char *buf, size_t len, size_t *consumed)
{
	size_t nl;
	long long ll;

	if (r->mbulk < 0) {
		switch (find_cr(buf, len, 0, &r->scan, &nl)) {
		case LINE_TOOBIG:
			return req_fail(r, RESP_ETOOBIG,
					"ERR Protocol error: too big mbulk count string");
		case LINE_MORE:
			return RESP_INCOMPLETE;
		case LINE_FOUND:
			break;
		}
		if (nl + 1 >= len) /* Redis wants one more byte (the \n), unchecked */
			return RESP_INCOMPLETE;
		if (!count_parse(buf + 1, nl - 1, &ll))
			return req_fail(r, RESP_EPROTO,
					"ERR Protocol error: invalid multibulk length");
		if (ll > RESP_MBULK_MAX)
			return req_fail(r, RESP_ETOOBIG,
					"ERR Protocol error: invalid multibulk length");
		if (ll > RESP_AUTH_MBULK_MAX && r->auth_required)
			return req_fail(r, RESP_ETOOBIG,
					"ERR Protocol error: unauthenticated multibulk length");
		r->pos = r->scan = nl + 2;
		if (ll <= 0)
			return req_done(r, r->pos, consumed);
		r->mbulk = ll;
	}

	while (r->mbulk > 0) {
		if (r->bulk < 0) {
			switch (find_cr(buf, len, r->pos, &r->scan, &nl)) {
			case LINE_TOOBIG:
				return req_fail(r, RESP_ETOOBIG,
						"ERR Protocol error: too big bulk count string");
			case LINE_MORE:
				return RESP_INCOMPLETE;
			case LINE_FOUND:
				break;
			}
			if (nl + 1 >= len)
				return RESP_INCOMPLETE;
			if (buf[r->pos] != '$') {
				char c = buf[r->pos];

				/* addReplyErrorFormat() maps CR and LF to spaces */
				if (c == '\r' || c == '\n')
					c = ' ';
				snprintf(r->err, sizeof(r->err),
					 "ERR Protocol error: expected '$', got '%c'", c);
				r->kind = 'E';
				return RESP_EPROTO;
			}
			if (!count_parse(buf + r->pos + 1, nl - r->pos - 1, &ll) || ll < 0)
				return req_fail(r, RESP_EPROTO,
						"ERR Protocol error: invalid bulk length");
			if (ll > r->max_bulk_len)
				return req_fail(r, RESP_ETOOBIG,
						"ERR Protocol error: invalid bulk length");
			if (ll > RESP_AUTH_BULK_MAX && r->auth_required)
				return req_fail(r, RESP_ETOOBIG,
						"ERR Protocol error: unauthenticated bulk length");
			r->pos = nl + 2;
			r->bulk = ll;
		}
		/* The payload's trailing CRLF is skipped unchecked, as in Redis. */
		if (len - r->pos < (size_t)r->bulk + 2)
			return RESP_INCOMPLETE;
		req_push_arg(r, r->pos, (size_t)r->bulk, 0);
		r->pos += (size_t)r->bulk + 2;
		r->scan = r->pos;
		r->bulk = -1;
		r->mbulk--;
	}
	return req_done(r, r->pos, consumed);
}

/*
 * Splits buf[0..end) into r->argv with sdssplitargs()'s rules. Words without
 * quotes stay in the caller's buffer; quoted ones are unescaped into scratch,
 * which is only grown for a line that has a quote. Each scratch byte comes
 * from a distinct byte of the line, so the line's length bounds all of this
 * request's scratch. Returns 0, or -1 on unbalanced quotes.
 */
static int req_split_inline(struct resp_req *r, const char *buf, size_t end)
{
	struct resp_word w;
	size_t pos = 0;
	int rc;

	if (r->scratch_cap < end && (memchr(buf, '"', end) || memchr(buf, '\'', end))) {
		r->scratch = mem_realloc(r->scratch, end);
		r->scratch_cap = end;
	}
	while ((rc = resp_split_word(buf, end, &pos,
				     r->scratch ? r->scratch + r->scratch_len : NULL, &w)) > 0) {
		if (w.unescaped) {
			req_push_arg(r, r->scratch_len, w.len, 1);
			r->scratch_len += w.len;
		} else {
			req_push_arg(r, w.start, w.len, 0);
		}
	}
	return rc;
}

static enum resp_status req_inline(struct resp_req *r, const char *buf, size_t len,
				   size_t *consumed)
{
	size_t nl, end;

	switch (find_line(buf, len, 0, &r->scan, '\n', &nl)) {
	case LINE_TOOBIG:
		return req_fail(r, RESP_ETOOBIG, "ERR Protocol error: too big inline request");
	case LINE_MORE:
		return RESP_INCOMPLETE;
	case LINE_FOUND:
		break;
	}
	end = nl > 0 && buf[nl - 1] == '\r' ? nl - 1 : nl;
	if (req_split_inline(r, buf, end) < 0)
		return req_fail(r, RESP_EPROTO, "ERR Protocol error: unbalanced quotes in request");
	return req_done(r, nl + 1, consumed);
}

/* resp_req_parse's body, inlined into its two callers (resp_req_parse and
 * resp_req_peek): with the look-ahead as a second caller the compiler had
 * stopped inlining the parse into the connection's loop (+60 instructions
 * per request of a pipeline of GETs, callgrind). */
static inline __attribute__((always_inline)) enum resp_status
req_parse(struct resp_req *r, const char *buf, size_t len, size_t *consumed)
{
	*consumed = 0;
	switch (r->kind) {
	case 'E':
		return RESP_EPROTO;
	case 'T':
		return RESP_ETOOBIG;
	case 0:
		if (len == 0)
			return RESP_INCOMPLETE;
		resp_req_reset(r);
		r->kind = buf[0] == '*' ? '*' : 'i';
		break;
	}
	if (r->kind == '*')
		return req_multibulk(r, buf, len, consumed);
	return req_inline(r, buf, len, consumed);
}

enum resp_status resp_req_parse(struct resp_req *r, const char *buf, size_t len, size_t *consumed)
{
	return req_parse(r, buf, len, consumed);
}

/* The argument count of the multibulk request at p, if a look-ahead takes
 * it (1 to RESP_PEEK_ARGC arguments: resp_req_peek's argv never grows),
 * else -1. */
static int peek_argc(const char *p, size_t len)
{
	int n = 0;
	size_t i = 1;

	if (len < 4 || p[0] != '*')
		return -1;
	while (i < len && i < 3 && p[i] >= '0' && p[i] <= '9')
		n = n * 10 + (p[i++] - '0');
	if (i == 1 || i >= len || p[i] != '\r' || n < 1 || n > RESP_PEEK_ARGC)
		return -1;
	return n;
}

int resp_req_peek(const char *buf, size_t len, long long max_bulk_len, struct resp_peek *out,
		  int max, size_t *covered)
{
	struct resp_arg av[RESP_PEEK_ARGC];
	struct resp_req r;
	size_t off = 0;
	int n = 0;

	resp_req_init(&r);
	r.argv = av; /* never grown: peek_argc bounds argc; multibulk only, so no scratch */
	r.argv_cap = RESP_PEEK_ARGC;
	r.max_bulk_len = max_bulk_len;
	while (n < max && off < len) {
		size_t used = 0;

		if (peek_argc(buf + off, len - off) < 0 ||
		    req_parse(&r, buf + off, len - off, &used) != RESP_OK)
			break;
		out[n].argc = r.argc;
		for (int i = 0; i < r.argc && i < RESP_PEEK_ARGS; i++) {
			out[n].argv[i] = resp_req_argp(&r, buf + off, i);
			out[n].argl[i] = r.argv[i].len;
		}
		off += used;
		n++;
	}
	*covered = off;
	return n;
}

/* ---------------------------------------------------------------------------
 * Redis's text rules (see resp.h).
 */

#define RESP_LONG_STR_SIZE 21 /* Redis's LONG_STR_SIZE: string2ll refuses longer input */

int resp_str2ll(const char *s, size_t len, long long *out)
{
	unsigned long long v;
	size_t i = 0;
	int neg = 0;

	/* no valid number is this long; the bound keeps the loop short */
	if (len == 0 || len >= RESP_LONG_STR_SIZE)
		return 0;
	if (len < 10 && s[0] >= '1' && s[0] <= '9') {
		/* the lengths and counts of requests: at most 9 digits, no sign,
		 * no overflow to check (the same answers as the loop below) */
		unsigned u = (unsigned)(s[0] - '0');

		for (i = 1; i < len; i++) {
			unsigned d = (unsigned)(unsigned char)s[i] - '0';

			if (d > 9)
				return 0;
			u = u * 10 + d;
		}
		if (out)
			*out = (long long)u;
		return 1;
	}
	if (len == 1 && s[0] == '0') {
		if (out)
			*out = 0;
		return 1;
	}
	if (s[0] == '-') {
		neg = 1;
		if (++i == len)
			return 0;
	}
	if (s[i] < '1' || s[i] > '9')
		return 0;
	v = (unsigned long long)(s[i++] - '0');
	for (; i < len; i++) {
		unsigned d;

		if (s[i] < '0' || s[i] > '9')
			return 0;
		d = (unsigned)(s[i] - '0');
		if (v > (ULLONG_MAX - d) / 10)
			return 0;
		v = v * 10 + d;
	}
	if (v > (unsigned long long)LLONG_MAX + (unsigned)neg)
		return 0;
	if (out && !neg)
		*out = (long long)v;
	else if (out)
		*out = v == (unsigned long long)LLONG_MAX + 1 ? LLONG_MIN : -(long long)v;
	return 1;
}

/* Value of a hex digit, or -1. */
static int resp_hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The byte a backslash escape inside "..." stands for: \n \r \t \b \a map
 * to control characters, anything else to itself. */
static char resp_unescape(unsigned char e)
{
	switch (e) {
	case 'n':
		return '\n';
	case 'r':
		return '\r';
	case 't':
		return '\t';
	case 'b':
		return '\b';
	case 'a':
		return '\a';
	default:
		return (char)e;
	}
}

/* The byte sdssplitargs() would read at text[k]: past the end it reads the
 * C string's NUL, so the end of the text and a NUL inside it look alike. */
static unsigned char text_at(const char *text, size_t len, size_t k)
{
	return k < len ? (unsigned char)text[k] : 0;
}

/* Follows sdssplitargs() rule for rule. A word is copied into out only once
 * its first quote is met (with the bytes before it). */
int resp_split_word(const char *text, size_t len, size_t *pos, char *out, struct resp_word *w)
{
	size_t p = *pos, n = 0;
	unsigned char quote = 0; /* the open quote, '"' or '\'' */

	while (text_at(text, len, p) && resp_isspace(text_at(text, len, p)))
		p++;
	if (!text_at(text, len, p)) {
		*pos = p;
		return 0;
	}
	w->start = p;
	w->unescaped = 0;
	for (;; p++) {
		unsigned char c = text_at(text, len, p), c1 = text_at(text, len, p + 1);

		if (quote) {
			int hi = resp_hexval(text_at(text, len, p + 2));
			int lo = resp_hexval(text_at(text, len, p + 3));

			if (quote == '"' && c == '\\' && c1 == 'x' && hi >= 0 && lo >= 0) {
				out[n++] = (char)(hi * 16 + lo);
				p += 3;
			} else if (quote == '"' && c == '\\' && c1) {
				out[n++] = resp_unescape(c1);
				p++;
			} else if (quote == '\'' && c == '\\' && c1 == '\'') {
				out[n++] = '\'';
				p++;
			} else if (c == quote) {
				break;
			} else if (!c) {
				return -1;
			} else {
				out[n++] = (char)c;
			}
		} else if (!c || c == ' ' || c == '\n' || c == '\r' || c == '\t') {
			*pos = c ? p + 1 : p;
			w->len = p - w->start;
			return 1;
		} else if (c == '"' || c == '\'') {
			if (!w->unescaped) {
				n = p - w->start;
				memcpy(out, text + w->start, n);
				w->unescaped = 1;
			}
			quote = c;
		}
	}
	/* the closing quote at p ends the word and must be followed by a blank
	 * or the end */
	if (text_at(text, len, p + 1) && !resp_isspace(text_at(text, len, p + 1)))
		return -1;
	*pos = p + 1;
	w->len = n;
	return 1;
}

size_t resp_repr(char *dst, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = 0;

	dst[n++] = '"';
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		char e = 0;

		switch (c) {
		case '\\':
		case '"':
			e = (char)c;
			break;
		case '\n':
			e = 'n';
			break;
		case '\r':
			e = 'r';
			break;
		case '\t':
			e = 't';
			break;
		case '\a':
			e = 'a';
			break;
		case '\b':
			e = 'b';
			break;
		}
		if (e) {
			dst[n++] = '\\';
			dst[n++] = e;
		} else if (c >= 0x20 && c < 0x7f) { /* isprint() in the C locale */
			dst[n++] = (char)c;
		} else {
			dst[n++] = '\\';
			dst[n++] = 'x';
			dst[n++] = hex[c >> 4];
			dst[n++] = hex[c & 15];
		}
	}
	dst[n++] = '"';
	return n;
}

/* ---------------------------------------------------------------------------
 * Replies.
 */

#define RESP_NUM_LINE_MAX 64 /* longest header line of a number, length or count */

void resp_reply_init(struct resp_reply *r)
{
	memset(r, 0, sizeof(*r));
	r->max_bulk_len = RESP_BULK_MAX_DEF;
}

static enum resp_status val_fail(char *err, size_t errlen, enum resp_status st, const char *msg,
				 int c)
{
	if (err)
		snprintf(err, errlen, msg, c);
	return st;
}

static int valid_double(const char *s, size_t n, double *out)
{
	char tmp[RESP_NUM_LINE_MAX + 1], *end;
	size_t i;

	if (n == 0 || n > RESP_NUM_LINE_MAX)
		return 0;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	if (!strcmp(tmp, "inf") || !strcmp(tmp, "+inf")) {
		*out = INFINITY;
		return 1;
	}
	if (!strcmp(tmp, "-inf")) {
		*out = -INFINITY;
		return 1;
	}
	if (!strcmp(tmp, "nan") || !strcmp(tmp, "-nan")) {
		*out = NAN;
		return 1;
	}
	for (i = 0; i < n; i++)
		if (tmp[i] == '\0' || !strchr("0123456789+-.eE", tmp[i]))
			return 0;
	*out = strtod(tmp, &end);
	return end == tmp + n;
}

/*
 * Parses the value starting at buf[p]: for a scalar the whole value, for an
 * aggregate its header line. *scan (>= p) is where the search for the line's
 * CR resumes; it is updated on RESP_INCOMPLETE. On RESP_OK *end is the offset
 * just past what was parsed.
 */
static enum resp_status value_at(const char *buf, size_t len, size_t p, size_t *scan,
				 long long max_bulk, struct resp_value *v, size_t *end, char *err,
				 size_t errlen)
{
	size_t i, ls = p + 1, le;
	long long ll;
	int type;

	if (p >= len)
		return RESP_INCOMPLETE;
	type = (unsigned char)buf[p];
	switch (type) {
	case '+':
	case '-':
	case ':':
	case '$':
	case '*':
	case '_':
	case ',':
	case '#':
	case '!':
	case '=':
	case '(':
	case '%':
	case '~':
	case '>':
	case '|':
		break;
	default:
		return val_fail(err, errlen, RESP_EPROTO,
				"Protocol error: invalid reply type byte 0x%02x", type);
	}
	/* Find the CR of the header line; simple strings and errors may be long. */
	for (i = *scan > ls ? *scan : ls; i < len; i++) {
		if (buf[i] == '\r')
			break;
		if (buf[i] == '\n')
			return val_fail(err, errlen, RESP_EPROTO,
					"Protocol error: bare LF in '%c' line", type);
		if (type != '+' && type != '-' && i - ls >= RESP_NUM_LINE_MAX)
			return val_fail(err, errlen, RESP_EPROTO,
					"Protocol error: '%c' line too long", type);
	}
	if (i > ls && (long long)(i - ls) > max_bulk)
		return val_fail(err, errlen, RESP_ETOOBIG, "Protocol error: '%c' line too long",
				type);
	*scan = i;
	if (i + 1 >= len)
		return RESP_INCOMPLETE;
	if (buf[i + 1] != '\n')
		return val_fail(err, errlen, RESP_EPROTO,
				"Protocol error: CR without LF in '%c' line", type);
	le = i;
	memset(v, 0, sizeof(*v));
	v->type = type;
	v->str_off = ls;
	v->str_len = le - ls;
	*end = le + 2;

	switch (type) {
	case '+':
	case '-':
		return RESP_OK;
	case ':':
		if (!resp_str2ll(buf + ls, le - ls, &v->integer))
			return val_fail(err, errlen, RESP_EPROTO, "Protocol error: bad integer", 0);
		return RESP_OK;
	case '(':
		i = ls + (le > ls && buf[ls] == '-');
		if (i == le)
			return val_fail(err, errlen, RESP_EPROTO, "Protocol error: bad big number",
					0);
		for (; i < le; i++)
			if (buf[i] < '0' || buf[i] > '9')
				return val_fail(err, errlen, RESP_EPROTO,
						"Protocol error: bad big number", 0);
		return RESP_OK;
	case ',':
		if (!valid_double(buf + ls, le - ls, &v->dbl))
			return val_fail(err, errlen, RESP_EPROTO, "Protocol error: bad double", 0);
		return RESP_OK;
	case '#':
		if (le - ls != 1 || (buf[ls] != 't' && buf[ls] != 'f'))
			return val_fail(err, errlen, RESP_EPROTO, "Protocol error: bad boolean", 0);
		v->integer = buf[ls] == 't';
		return RESP_OK;
	case '_':
		if (le != ls)
			return val_fail(err, errlen, RESP_EPROTO, "Protocol error: bad null", 0);
		v->is_null = 1;
		return RESP_OK;
	}

	if (!resp_str2ll(buf + ls, le - ls, &ll) || ll < -1)
		return val_fail(err, errlen, RESP_EPROTO, "Protocol error: bad '%c' length", type);
	if (ll == -1) {
		/* RESP2 nulls only */
		if (type != '$' && type != '*')
			return val_fail(err, errlen, RESP_EPROTO, "Protocol error: bad '%c' length",
					type);
		v->is_null = 1;
		v->integer = -1;
		v->str_len = 0;
		return RESP_OK;
	}
	v->integer = ll;
	if (type == '*' || type == '%' || type == '~' || type == '>' || type == '|') {
		if (ll > LLONG_MAX / 4)
			return val_fail(err, errlen, RESP_ETOOBIG,
					"Protocol error: '%c' count too big", type);
		v->str_len = 0;
		return RESP_OK;
	}
	/* $ ! = : a payload follows */
	if (ll > max_bulk)
		return val_fail(err, errlen, RESP_ETOOBIG, "Protocol error: '%c' length too big",
				type);
	if (len - *end < (size_t)ll + 2)
		return RESP_INCOMPLETE;
	v->str_off = *end;
	v->str_len = (size_t)ll;
	if (buf[*end + ll] != '\r' || buf[*end + ll + 1] != '\n')
		return val_fail(err, errlen, RESP_EPROTO,
				"Protocol error: '%c' payload without CRLF", type);
	if (type == '=' && (ll < 4 || buf[*end + 3] != ':'))
		return val_fail(err, errlen, RESP_EPROTO, "Protocol error: bad verbatim string", 0);
	*end += (size_t)ll + 2;
	return RESP_OK;
}

static int is_aggregate(const struct resp_value *v)
{
	return !v->is_null && (v->type == '*' || v->type == '%' || v->type == '~' ||
			       v->type == '>' || v->type == '|');
}

enum resp_status resp_reply_parse(struct resp_reply *r, const char *buf, size_t len,
				  size_t *consumed)
{
	*consumed = 0;
	if (!r->started) {
		r->started = 1;
		r->depth = 0;
		r->pos = 0;
		r->scan = 0;
		r->have_top = 0;
		r->err[0] = '\0';
	}
	for (;;) {
		struct resp_value v;
		size_t end;
		enum resp_status st;
		int attr;

		st = value_at(buf, len, r->pos, &r->scan, r->max_bulk_len, &v, &end, r->err,
			      sizeof(r->err));
		if (st != RESP_OK) {
			if (st != RESP_INCOMPLETE)
				r->started = 0;
			return st;
		}
		r->pos = end;
		r->scan = end;
		attr = v.type == '|';
		if (r->depth == 0 && !attr) {
			r->top = v;
			r->have_top = 1;
		}
		if (is_aggregate(&v) && v.integer > 0) {
			if (r->depth == RESP_REPLY_MAXDEPTH) {
				snprintf(r->err, sizeof(r->err), "Protocol error: nested too deep");
				r->started = 0;
				return RESP_EPROTO;
			}
			r->remaining[r->depth] =
			    (v.type == '%' || v.type == '|') ? v.integer * 2 : v.integer;
			r->is_attr[r->depth] = (unsigned char)attr;
			r->depth++;
			continue;
		}
		/* A value is complete: count it in its parent, closing finished frames. */
		for (;;) {
			if (r->depth == 0) {
				if (attr)
					break; /* the attributed value follows */
				*consumed = r->pos;
				r->started = 0;
				return RESP_OK;
			}
			if (attr)
				break; /* attributes are not elements of their parent */
			if (--r->remaining[r->depth - 1] > 0)
				break;
			r->depth--;
			attr = r->is_attr[r->depth];
		}
	}
}

enum resp_status resp_value_next(const char *buf, size_t len, struct resp_value *v, size_t *hdr)
{
	size_t scan = 0;

	return value_at(buf, len, 0, &scan, LLONG_MAX, v, hdr, NULL, 0);
}
