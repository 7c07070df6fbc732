/*
 * fuzz_inline.c — libFuzzer target for inline commands ("SET k \"v\"\r\n"):
 * the input is turned into text lines (a '*' opening a line becomes a blank
 * so no line is read as multibulk, and a final '\n' is added), parsed with
 * resp_req_parse(), and every line's arguments are compared with an
 * independent, deliberately plain model of Redis's sdssplitargs() run on a
 * NUL-terminated copy of the line. A NUL inside a line must stall the parser
 * (Redis's strchr() never sees the newline behind it).
 */
#include "net/resp.h"
#include "concurrency/mem.h"
#include "tests/fuzz/fuzz_util.h"

#include <string.h>

#define MODEL_MAX_ARGS 4096

struct model_arg {
	char *s;
	size_t len;
};

static int is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static int hexv(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)(c | 0x20);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/*
 * The model: `line` is NUL-terminated; output bytes go to `out` (at least
 * strlen(line) long). Returns argc, or -1 for unbalanced quotes.
 */
static int model_split(const char *line, char *out, struct model_arg *args, int max)
{
	const char *p = line;
	char *o = out;
	int argc = 0;

	for (;;) {
		char *tok;
		int quote = 0; /* 0, '"' or '\'' */

		while (*p && is_blank(*p))
			p++;
		if (!*p)
			return argc;
		tok = o;
		for (;;) {
			if (quote == '"') {
				if (p[0] == '\\' && p[1] == 'x' && hexv(p[2]) >= 0 &&
				    hexv(p[3]) >= 0) {
					*o++ = (char)(hexv(p[2]) * 16 + hexv(p[3]));
					p += 4;
				} else if (p[0] == '\\' && p[1]) {
					char c = p[1];

					*o++ = c == 'n'	  ? '\n'
					       : c == 'r' ? '\r'
					       : c == 't' ? '\t'
					       : c == 'b' ? '\b'
					       : c == 'a' ? '\a'
							  : c;
					p += 2;
				} else if (p[0] == '"') {
					if (p[1] && !is_blank(p[1]))
						return -1;
					p++;
					break;
				} else if (!p[0]) {
					return -1;
				} else {
					*o++ = *p++;
				}
			} else if (quote == '\'') {
				if (p[0] == '\\' && p[1] == '\'') {
					*o++ = '\'';
					p += 2;
				} else if (p[0] == '\'') {
					if (p[1] && !is_blank(p[1]))
						return -1;
					p++;
					break;
				} else if (!p[0]) {
					return -1;
				} else {
					*o++ = *p++;
				}
			} else if (!*p || *p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') {
				if (*p)
					p++;
				break;
			} else if (*p == '"' || *p == '\'') {
				quote = *p++;
			} else {
				*o++ = *p++;
			}
		}
		FUZZ_CHECK(argc < max);
		args[argc].s = tok;
		args[argc].len = (size_t)(o - tok);
		argc++;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct model_arg margs[MODEL_MAX_ARGS];
	char *in = mem_alloc(size + 1), *line = mem_alloc(size + 2), *out = mem_alloc(size + 2);
	struct resp_req r;
	size_t i, start = 0, n = size + 1;

	memcpy(in, data, size);
	in[size] = '\n';
	for (i = 0; i < n; i++)
		if (in[i] == '*' && (i == 0 || in[i - 1] == '\n'))
			in[i] = ' ';
	resp_req_init(&r);
	while (start < n) {
		const char *nl = memchr(in + start, '\n', n - start);
		size_t ll = (size_t)(nl - (in + start)), c = 0, k;
		enum resp_status st = resp_req_parse(&r, in + start, n - start, &c);
		int margc, j;

		if (memchr(in + start, '\0', ll)) {
			FUZZ_CHECK(st == RESP_INCOMPLETE || st == RESP_ETOOBIG);
			break;
		}
		/* a line of any length is parsed when its newline is among the
		 * bytes given (Redis's rule; resp.h) */
		k = ll > 0 && in[start + ll - 1] == '\r' ? ll - 1 : ll;
		memcpy(line, in + start, k);
		line[k] = '\0';
		margc = model_split(line, out, margs, MODEL_MAX_ARGS);
		if (margc < 0) {
			FUZZ_CHECK(st == RESP_EPROTO);
			FUZZ_CHECK(
			    !strcmp(r.err, "ERR Protocol error: unbalanced quotes in request"));
			break;
		}
		FUZZ_CHECK(st == RESP_OK);
		FUZZ_CHECK(c == ll + 1);
		FUZZ_CHECK(r.argc == margc);
		for (j = 0; j < margc; j++) {
			FUZZ_CHECK(r.argv[j].len == margs[j].len);
			FUZZ_CHECK(
			    !memcmp(resp_req_argp(&r, in + start, j), margs[j].s, margs[j].len));
		}
		start += c;
	}
	resp_req_deinit(&r);
	mem_free(in);
	mem_free(line);
	mem_free(out);
	return 0;
}
