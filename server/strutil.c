/*
 * strutil.c — Redis 7.0's string rules, rewritten for kvsd.
 *
 * Clients and tools depend on Redis's exact edge cases, so each function
 * here follows one Redis function rule for rule (written from its documented
 * behaviour and checked against redis-server 7.0.15, not copied):
 *
 *  - su_glob_match is util.c's stringmatchlen(): '*' collapses runs and gives
 *    up early once the rest of the pattern failed from every later position
 *    (so patterns like "a*a*a*a*b" cannot go exponential), recursion deeper
 *    than 1000 fails, '[' without ']' reads to the end of the pattern, an empty
 *    subject never matches (not even "*"), a trailing lone '\' is literal.
 *    Redis relies on patterns being NUL-terminated; here every read past the
 *    pattern's length sees '\0' instead, which reproduces the same results.
 *  - su_split_args and su_repr give sds.c's sdssplitargs() and sdscatrepr()
 *    (net/resp.c's resp_split_word and resp_repr) allocated results.
 *  - su_str2ld / su_ld2str_human / su_memtoll follow string2ld,
 *    ld2string(LD_STR_HUMAN) and memtoull. memtoull is not built on
 *    string2ll because Redis's is not: its digits are strtoull's (leading
 *    zeros and "" accepted, overflow saturating), so "0100mb" is a memory
 *    value but not an integer.
 *  - su_word_is is strcasecmp() on an argument Redis holds NUL-terminated.
 *
 * Everything is pure and reentrant; only su_split_args and su_repr allocate
 * (through mem_alloc, so the bytes show in used_memory).
 */
#include "server/strutil.h"
#include "concurrency/mem.h"
#include "net/resp.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- glob */

#define GLOB_MAX_NESTING 1000

struct glob {
	const char *p; /* pattern; reads at or past plen see '\0' */
	size_t plen;
	int nocase;
	int give_up; /* Redis's skipLongerMatches */
};

/* Bytes compare as signed chars, as in Redis on x86 (this decides ranges
 * such as "[a-\xff]"). */
static int glob_pc(const struct glob *g, size_t i)
{
	return i < g->plen ? (signed char)g->p[i] : '\0';
}

static int glob_fold(int c, int nocase)
{
	return nocase ? tolower(c) : c;
}

/* Matches pattern[pi..plen) against s[0..slen); nesting counts '*' levels. */
static int glob_rec(struct glob *g, size_t pi, const signed char *s, size_t slen, int nesting)
{
	if (nesting > GLOB_MAX_NESTING)
		return 0;
	while (pi < g->plen && slen > 0) {
		int c = glob_pc(g, pi);

		switch (c) {
		case '*':
			while (pi < g->plen && glob_pc(g, pi + 1) == '*')
				pi++;
			if (pi + 1 == g->plen)
				return 1;
			while (slen > 0) {
				if (glob_rec(g, pi + 1, s, slen, nesting + 1))
					return 1;
				if (g->give_up)
					return 0;
				s++;
				slen--;
			}
			/* The rest failed from every position: an earlier '*'
			 * taking more of the subject cannot help either. */
			g->give_up = 1;
			return 0;
		case '?':
			s++;
			slen--;
			break;
		case '[': {
			int neg, match = 0;

			pi++;
			neg = glob_pc(g, pi) == '^';
			if (neg)
				pi++;
			for (;;) {
				int pc = glob_pc(g, pi);

				if (pc == '\\' && pi < g->plen && g->plen - pi >= 2) {
					pi++;
					if (glob_pc(g, pi) == s[0])
						match = 1;
				} else if (pc == ']') {
					break;
				} else if (pi >= g->plen) {
					/* Unterminated class: stop on the last byte. */
					pi--;
					break;
				} else if (g->plen - pi >= 3 && glob_pc(g, pi + 1) == '-') {
					int lo = pc, hi = glob_pc(g, pi + 2), sc = s[0];

					if (lo > hi) {
						int t = lo;
						lo = hi;
						hi = t;
					}
					lo = glob_fold(lo, g->nocase);
					hi = glob_fold(hi, g->nocase);
					sc = glob_fold(sc, g->nocase);
					pi += 2;
					if (sc >= lo && sc <= hi)
						match = 1;
				} else if (glob_fold(pc, g->nocase) == glob_fold(s[0], g->nocase)) {
					match = 1;
				}
				pi++;
			}
			if (neg)
				match = !match;
			if (!match)
				return 0;
			s++;
			slen--;
			break;
		}
		case '\\':
			if (g->plen - pi >= 2) {
				pi++;
				c = glob_pc(g, pi);
			}
			/* fall through */
		default:
			if (glob_fold(c, g->nocase) != glob_fold(s[0], g->nocase))
				return 0;
			s++;
			slen--;
			break;
		}
		pi++;
		if (slen == 0) {
			while (pi < g->plen && glob_pc(g, pi) == '*')
				pi++;
			break;
		}
	}
	return pi >= g->plen && slen == 0;
}

int su_glob_match(const char *pat, size_t plen, const char *s, size_t slen, int nocase)
{
	struct glob g = {.p = pat, .plen = plen, .nocase = nocase, .give_up = 0};

	return glob_rec(&g, 0, (const signed char *)s, slen, 0);
}

/* ------------------------------------------------------------ splitargs */

char **su_split_args(const char *line, size_t len, int *argc, size_t **lens)
{
	char *tmp = mem_alloc(len + 1); /* resp_split_word's room for a quoted word */
	char **v = mem_alloc(sizeof(char *));
	size_t *l = mem_alloc(sizeof(size_t));
	struct resp_word w;
	size_t pos = 0;
	int n = 0, rc;

	while ((rc = resp_split_word(line, len, &pos, tmp, &w)) > 0) {
		char *word = mem_alloc(w.len + 1);

		memcpy(word, w.unescaped ? tmp : line + w.start, w.len);
		word[w.len] = '\0';
		v = mem_realloc(v, (size_t)(n + 1) * sizeof(char *));
		l = mem_realloc(l, (size_t)(n + 1) * sizeof(size_t));
		v[n] = word;
		l[n] = w.len;
		n++;
	}
	mem_free(tmp);
	if (rc < 0) {
		su_free_args(v, l, n);
		*argc = 0;
		if (lens)
			*lens = NULL;
		return NULL;
	}
	*argc = n;
	if (lens)
		*lens = l;
	else
		mem_free(l);
	return v;
}

void su_free_args(char **argv, size_t *lens, int argc)
{
	if (argv) {
		for (int i = 0; i < argc; i++)
			mem_free(argv[i]);
		mem_free(argv);
	}
	mem_free(lens);
}

char *su_repr(const char *s, size_t len, size_t *outlen)
{
	char *r = mem_alloc(RESP_REPR_MAX(len) + 1);
	size_t n = resp_repr(r, s, len);

	r[n] = '\0';
	if (outlen)
		*outlen = n;
	return r;
}

/* -------------------------------------------------------------- numbers */

int su_str2ld(const char *s, size_t len, long double *out)
{
	char buf[SU_LD_STR_MAX];
	long double v;
	char *end;

	if (len == 0 || len >= sizeof(buf))
		return 0;
	memcpy(buf, s, len);
	buf[len] = '\0';
	errno = 0;
	v = strtold(buf, &end);
	if (isspace((unsigned char)buf[0]) || *end != '\0' || (size_t)(end - buf) != len ||
	    (errno == ERANGE && (isinf(v) || fpclassify(v) == FP_ZERO)) || errno == EINVAL ||
	    isnan(v))
		return 0;
	if (out)
		*out = v;
	return 1;
}

int su_ld2str_human(char *buf, size_t size, long double v)
{
	int n;
	size_t l;

	if (isinf(v)) {
		if (size < 5)
			goto err;
		l = v > 0 ? 3 : 4;
		memcpy(buf, v > 0 ? "inf" : "-inf", l + 1);
		return (int)l;
	}
	/* 17 digits: with 80/128-bit long doubles small decimals round back to
	 * what the user typed. */
	n = snprintf(buf, size, "%.17Lf", v);
	if (n < 0 || (size_t)n + 1 > size)
		goto err;
	l = (size_t)n;
	if (memchr(buf, '.', l)) {
		while (buf[l - 1] == '0')
			l--;
		if (buf[l - 1] == '.')
			l--;
	}
	if (l == 2 && buf[0] == '-' && buf[1] == '0') {
		buf[0] = '0';
		l = 1;
	}
	buf[l] = '\0';
	return (int)l;
err:
	if (size > 0)
		buf[0] = '\0';
	return 0;
}

int su_str2d(const char *s, size_t len, double *out)
{
	char small[128], *buf = small;
	char *end;
	double v;
	int ok;

	if (len == 0)
		return 0;
	/* most scores are short integers: up to 15 digits (after an optional
	 * '-') the value is exact, so strtod's answer is known without it
	 * ("-0" is -0.0, as strtod gives) */
	if (len <= 16) {
		size_t i = s[0] == '-';
		unsigned long long u = 0;

		if (i < len && len - i <= 15) {
			while (i < len && s[i] >= '0' && s[i] <= '9')
				u = u * 10 + (unsigned)(s[i++] - '0');
			if (i == len) {
				if (out)
					*out = s[0] == '-' ? -(double)u : (double)u;
				return 1;
			}
		}
	}
	if (len >= sizeof(small))
		buf = mem_alloc(len + 1);
	memcpy(buf, s, len);
	buf[len] = '\0';
	errno = 0;
	v = strtod(buf, &end);
	/* an embedded NUL stops strtod short of len: rejected, as Redis */
	ok = !isspace((unsigned char)buf[0]) && (size_t)(end - buf) == len &&
	     !(errno == ERANGE && (isinf(v) || fpclassify(v) == FP_ZERO)) && !isnan(v);
	if (buf != small)
		mem_free(buf);
	if (ok && out)
		*out = v;
	return ok;
}

int su_d2str(char *buf, size_t size, double v)
{
	int n;

	if (isnan(v))
		n = snprintf(buf, size, "nan");
	else if (isinf(v))
		n = snprintf(buf, size, v < 0 ? "-inf" : "inf");
	else if (v == 0)
		n = snprintf(buf, size, signbit(v) ? "-0" : "0");
	else if (v >= (double)(-LLONG_MAX / 2) && v <= (double)(LLONG_MAX / 2) &&
		 v == (double)(long long)v) /* double2ll */
		n = snprintf(buf, size, "%lld", (long long)v);
	else
		n = snprintf(buf, size, "%.17g", v);
	return n;
}

int su_memtoll(const char *s, long long *out)
{
	static const struct {
		const char *unit;
		unsigned long long mul;
	} units[] = {
	    {"", 1},
	    {"b", 1},
	    {"k", 1000},
	    {"kb", 1024},
	    {"m", 1000 * 1000},
	    {"mb", 1024 * 1024},
	    {"g", 1000ULL * 1000 * 1000},
	    {"gb", 1024ULL * 1024 * 1024},
	};
	const char *u = s;
	unsigned long long mul = 0, val = 0;
	size_t digits;

	if (*u == '-')
		return 0;
	while (*u >= '0' && *u <= '9')
		u++;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcasecmp(u, units[i].unit) == 0) {
			mul = units[i].mul;
			break;
		}
	}
	digits = (size_t)(u - s);
	if (mul == 0 || digits >= 128)
		return 0;
	/* strtoull semantics: saturates at ULLONG_MAX on overflow. */
	for (size_t i = 0; i < digits; i++) {
		unsigned d = (unsigned)(s[i] - '0');

		if (val > (ULLONG_MAX - d) / 10) {
			val = ULLONG_MAX;
			break;
		}
		val = val * 10 + d;
	}
	if (out)
		*out = (long long)(val * mul); /* wraps as in Redis */
	return 1;
}

int su_eqi(const char *s, size_t len, const char *lit)
{
	for (size_t i = 0; i < len; i++) {
		if (lit[i] == '\0' ||
		    tolower((unsigned char)s[i]) != tolower((unsigned char)lit[i]))
			return 0;
	}
	return lit[len] == '\0';
}

int su_word_is(const char *s, size_t len, const char *lit)
{
	return su_eqi(s, strnlen(s, len), lit);
}
