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
 * Inline commands are split with the rules of Redis's sdssplitargs(): blanks
 * are isspace() characters, a token ends at ' ', \t, \r or \n, "..." takes
 * \n \r \t \b \a \xHH and \<any> escapes, '...' takes only \', and a closing
 * quote must be followed by a blank or the end of the line. Tokens without
 * quotes stay in the caller's buffer; quoted ones are unescaped into scratch.
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

#define RESP_LONG_STR_SIZE 21 /* Redis's LONG_STR_SIZE: string2ll refuses longer input */

/*
 * Redis's string2ll(): optional '-', no '+', no leading zeros (but "0"),
 * no blanks, at most 20 characters, within long long. Returns 1 on success.
 */
static int resp_str2ll(const char *s, size_t n, long long *out)
{
	unsigned long long v;
	int neg = 0;
	size_t i = 0;

	if (n == 0 || n >= RESP_LONG_STR_SIZE)
		return 0;
	if (n == 1 && s[0] == '0') {
		*out = 0;
		return 1;
	}
	if (s[0] == '-') {
		neg = 1;
		if (++i == n)
			return 0;
	}
	if (s[i] < '1' || s[i] > '9')
		return 0;
	v = (unsigned long long)(s[i++] - '0');
	for (; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		if (v > ULLONG_MAX / 10)
			return 0;
		v *= 10;
		if (v > ULLONG_MAX - (unsigned long long)(s[i] - '0'))
			return 0;
		v += (unsigned long long)(s[i] - '0');
	}
	if (neg) {
		if (v > (unsigned long long)LLONG_MAX + 1)
			return 0;
		*out = v == (unsigned long long)LLONG_MAX + 1 ? LLONG_MIN : -(long long)v;
	} else {
		if (v > (unsigned long long)LLONG_MAX)
			return 0;
		*out = (long long)v;
	}
	return 1;
}

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

void resp_req_reset(struct resp_req *r)
{
	r->argc = 0;
	r->scratch_len = 0;
	r->kind = 0;
	r->mbulk = -1;
	r->bulk = -1;
	r->pos = 0;
	r->scan = 0;
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
	r->kind = 0; /* argc/argv stay readable until the next call */
	r->mbulk = -1;
	r->bulk = -1;
	r->pos = 0;
	r->scan = 0;
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

static enum resp_status req_multibulk(struct resp_req *r, const char *buf, size_t len,
				      size_t *consumed)
{
	size_t nl;
	long long ll;

	if (r->mbulk < 0) {
		switch (find_line(buf, len, 0, &r->scan, '\r', &nl)) {
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
		if (!resp_str2ll(buf + 1, nl - 1, &ll))
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
			switch (find_line(buf, len, r->pos, &r->scan, '\r', &nl)) {
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
			if (!resp_str2ll(buf + r->pos + 1, nl - r->pos - 1, &ll) || ll < 0)
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
 * Splits buf[0..end) into r->argv with sdssplitargs()'s rules. Returns 0, or
 * -1 on unbalanced quotes.
 */
static int req_split_inline(struct resp_req *r, const char *buf, size_t end)
{
	size_t p = 0;

	for (;;) {
		size_t tok, tok_end = 0, s0 = 0;
		int inq = 0, insq = 0, quoted = 0, done = 0;

		while (p < end && resp_isspace((unsigned char)buf[p]))
			p++;
		if (p == end)
			return 0;
		tok = p;
		while (!done) {
			unsigned char c = p < end ? (unsigned char)buf[p] : 0;
			int more = p + 1 < end; /* "*(p+1) != 0" */

			if (inq) {
				if (c == '\\' && p + 3 < end && buf[p + 1] == 'x' &&
				    resp_hexval((unsigned char)buf[p + 2]) >= 0 &&
				    resp_hexval((unsigned char)buf[p + 3]) >= 0) {
					r->scratch[r->scratch_len++] =
					    (char)(resp_hexval((unsigned char)buf[p + 2]) * 16 +
						   resp_hexval((unsigned char)buf[p + 3]));
					p += 3;
				} else if (c == '\\' && more) {
					r->scratch[r->scratch_len++] = resp_unescape(buf[++p]);
				} else if (c == '"') {
					if (more && !resp_isspace((unsigned char)buf[p + 1]))
						return -1;
					done = 1;
				} else if (p == end) {
					return -1;
				} else {
					r->scratch[r->scratch_len++] = (char)c;
				}
			} else if (insq) {
				if (c == '\\' && more && buf[p + 1] == '\'') {
					p++;
					r->scratch[r->scratch_len++] = '\'';
				} else if (c == '\'') {
					if (more && !resp_isspace((unsigned char)buf[p + 1]))
						return -1;
					done = 1;
				} else if (p == end) {
					return -1;
				} else {
					r->scratch[r->scratch_len++] = (char)c;
				}
			} else if (p == end || c == ' ' || c == '\n' || c == '\r' || c == '\t') {
				tok_end = p;
				done = 1;
			} else if (c == '"' || c == '\'') {
				/* The token leaves the buffer. Each scratch byte comes
				 * from a distinct byte of the line, so the line's length
				 * bounds all of this request's scratch. */
				if (r->scratch_cap < end) {
					r->scratch = mem_realloc(r->scratch, end);
					r->scratch_cap = end;
				}
				s0 = r->scratch_len;
				memcpy(r->scratch + s0, buf + tok, p - tok);
				r->scratch_len += p - tok;
				quoted = 1;
				if (c == '"')
					inq = 1;
				else
					insq = 1;
			}
			if (p < end)
				p++;
		}
		if (quoted)
			req_push_arg(r, s0, r->scratch_len - s0, 1);
		else
			req_push_arg(r, tok, tok_end - tok, 0);
	}
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

enum resp_status resp_req_parse(struct resp_req *r, const char *buf, size_t len, size_t *consumed)
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
		r->argc = 0;
		r->scratch_len = 0;
		r->mbulk = -1;
		r->bulk = -1;
		r->pos = 0;
		r->scan = 0;
		r->err[0] = '\0';
		r->kind = buf[0] == '*' ? '*' : 'i';
		break;
	}
	if (r->kind == '*')
		return req_multibulk(r, buf, len, consumed);
	return req_inline(r, buf, len, consumed);
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
