/*
 * fuzz_glob.c — libFuzzer target for su_glob_match (server/strutil.c), the
 * glob matcher of KEYS, SCAN MATCH, PSUBSCRIBE, PUBSUB CHANNELS and CONFIG
 * GET, against an independent reference written from the semantics of
 * Redis's stringmatchlen (util.c), not from its code.
 *
 * Input: byte 0 holds flags (bit 0: nocase; bit 1: repeat the pattern up to
 * GROW_PAT bytes and the subject up to GROW_SUBJ, so a short input becomes a long
 * pathological case such as "*a*a*a...b" against "aaaa..."); bytes 1-2 the
 * pattern's length (little endian, modulo what is left); then the pattern,
 * then the subject. Both may hold any byte, NUL included.
 *
 * The reference: the pattern is first cut into tokens the way stringmatchlen
 * reads it, which does not depend on the subject:
 *   '*' (a run is one token), '?', a literal byte, '\x' (the literal x; a
 *   lone '\' at the end is itself), and '[' classes: '^' first negates;
 *   inside, '\x' is x compared exactly (even with nocase), "a-z" a range
 *   whose ends are swapped when reversed (any three bytes "x-y" count, so
 *   "[a-]" is a range a..']' and leaves the class open), every other byte
 *   itself; ']' ends it; a class without ']' takes the rest of the pattern
 *   (so "[^" matches any one byte, "[" none). Bytes compare as signed chars
 *   (x86 Redis), ranges after tolower() of the ends and the byte with nocase.
 * Then a non-empty subject matches when the tokens do, '*' taking any run of
 * bytes (a dynamic programme over tokens x subject); an empty subject matches
 * only an empty pattern (Redis's loop never runs, so not even "*"). Redis
 * also gives up beyond 1,000 nested '*' (recursion), so the comparison is
 * made only for patterns with at most 1,000 '*' runs (and tables of at most
 * MAX_CELLS, for speed); the others are only run (bounded time: libFuzzer's
 * -timeout, and the replayed seeds include "*a" x 1,200 against "a" x 1,200
 * and friends, exponential without the early give-up).
 *
 * Checks: su_glob_match equals the reference for both nocase values it is
 * given; nothing reads outside the pattern or subject (ASan: both are copied
 * into buffers of exactly their size).
 */
#include "server/strutil.h"
#include "concurrency/mem.h"
#include "tests/fuzz/fuzz_util.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define GROW_PAT   2400 /* > 2 x MAX_STARS: "*a" grows past the nesting limit */
#define GROW_SUBJ  1200
#define MAX_STARS  1000
#define MAX_CELLS  (1u << 16) /* larger token x subject tables are only run, not compared */
#define CLASS_SIZE 256

enum tok_kind { T_STAR, T_ANY, T_LIT, T_CLASS };

struct tok {
	enum tok_kind kind;
	int lit;	 /* T_LIT: the byte as a signed char */
	uint8_t *in_set; /* T_CLASS: in_set[(uint8_t)c] for every subject byte c */
};

/* A pattern byte; past the end the byte is '\0', as in a NUL-terminated sds. */
static int pat_at(const uint8_t *p, size_t plen, size_t i)
{
	return i < plen ? (signed char)p[i] : 0;
}

static int fold(int c, bool nocase)
{
	return nocase ? tolower(c) : c;
}

/* Class [..] starting after '[' at i; fills set, returns the index after the
 * class (plen when unterminated). */
static size_t parse_class(const uint8_t *p, size_t plen, size_t i, bool nocase, uint8_t *set)
{
	bool neg = pat_at(p, plen, i) == '^';

	memset(set, 0, CLASS_SIZE);
	if (neg)
		i++;
	for (;;) {
		int pc = pat_at(p, plen, i);

		if (pc == '\\' && i + 2 <= plen) { /* escaped: exact, never folded */
			int x = pat_at(p, plen, i + 1);

			set[(uint8_t)x] = 1;
			i += 2;
		} else if (pc == ']' && i < plen) {
			i++;
			break;
		} else if (i >= plen) {
			break; /* unterminated: the class is the rest of the pattern */
		} else if (i + 3 <= plen && pat_at(p, plen, i + 1) == '-') {
			int lo = pc, hi = pat_at(p, plen, i + 2);

			if (lo > hi) {
				int t = lo;

				lo = hi;
				hi = t;
			}
			lo = fold(lo, nocase);
			hi = fold(hi, nocase);
			for (int c = -128; c < 128; c++) {
				int f = fold(c, nocase);

				if (f >= lo && f <= hi)
					set[(uint8_t)c] = 1;
			}
			i += 3;
		} else {
			for (int c = -128; c < 128; c++)
				if (fold(c, nocase) == fold(pc, nocase))
					set[(uint8_t)c] = 1;
			i++;
		}
	}
	if (neg)
		for (int c = 0; c < CLASS_SIZE; c++)
			set[c] = !set[c];
	return i;
}

static size_t count_byte(const uint8_t *p, size_t len, uint8_t b)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		n += p[i] == b;
	return n;
}

/* Tokens of p; returns their count, *stars the number of '*' runs. */
static size_t tokenize(const uint8_t *p, size_t plen, bool nocase, struct tok *t, uint8_t *sets,
		       size_t *stars)
{
	size_t n = 0, i = 0, ncls = 0;

	*stars = 0;
	while (i < plen) {
		int c = pat_at(p, plen, i);

		if (c == '*') {
			while (i < plen && pat_at(p, plen, i) == '*')
				i++;
			t[n++] = (struct tok){.kind = T_STAR};
			(*stars)++;
		} else if (c == '?') {
			t[n++] = (struct tok){.kind = T_ANY};
			i++;
		} else if (c == '[') {
			uint8_t *set = sets + ncls++ * CLASS_SIZE;

			i = parse_class(p, plen, i + 1, nocase, set);
			t[n++] = (struct tok){.kind = T_CLASS, .in_set = set};
		} else if (c == '\\' && i + 2 <= plen) {
			t[n++] = (struct tok){.kind = T_LIT, .lit = pat_at(p, plen, i + 1)};
			i += 2;
		} else {
			t[n++] = (struct tok){.kind = T_LIT, .lit = c};
			i++;
		}
	}
	return n;
}

static bool tok_eats(const struct tok *t, int c, bool nocase)
{
	switch (t->kind) {
	case T_ANY:
		return true;
	case T_LIT:
		return fold(t->lit, nocase) == fold(c, nocase);
	case T_CLASS:
		return t->in_set[(uint8_t)c];
	default:
		return false;
	}
}

/* The reference; -1 when not decided (more than MAX_STARS '*' runs, or a
 * table above MAX_CELLS, which would only slow the fuzzer down). */
static int ref_match(const uint8_t *p, size_t plen, const uint8_t *s, size_t slen, bool nocase)
{
	struct tok *t;
	uint8_t *sets, *row, *next;
	size_t n, stars;
	int r;

	if (slen == 0)
		return plen == 0;
	t = mem_alloc((plen + 1) * sizeof(*t));
	sets = mem_alloc((count_byte(p, plen, '[') + 1) * CLASS_SIZE); /* a class per '[' */
	n = tokenize(p, plen, nocase, t, sets, &stars);
	if (stars > MAX_STARS || (n + 1) * slen > MAX_CELLS) {
		mem_free(t);
		mem_free(sets);
		return -1;
	}
	/* row[i]: tokens i.. match the subject's suffix from j; j from slen down */
	row = mem_alloc(n + 1);
	next = mem_alloc(n + 1);
	row[n] = 1;
	for (size_t i = n; i-- > 0;)
		row[i] = t[i].kind == T_STAR && row[i + 1];
	for (size_t j = slen; j-- > 0;) {
		int c = (signed char)s[j];
		uint8_t *tmp;

		next[n] = 0;
		for (size_t i = n; i-- > 0;) {
			if (t[i].kind == T_STAR) /* none of s[j] (next[i + 1]) or s[j] and more */
				next[i] = next[i + 1] || row[i];
			else
				next[i] = tok_eats(&t[i], c, nocase) && row[i + 1];
		}
		tmp = row;
		row = next;
		next = tmp;
	}
	r = row[0];
	mem_free(row);
	mem_free(next);
	mem_free(t);
	mem_free(sets);
	return r;
}

/* Copy (len bytes from src, or src repeated up to `grow` bytes) into an exact buffer. */
static uint8_t *copy(const uint8_t *src, size_t len, size_t grow, size_t *out)
{
	size_t n = grow && len > 0 && len < grow ? grow - grow % len : len;
	uint8_t *b = mem_alloc(n ? n : 1);

	for (size_t i = 0; i < n; i++)
		b[i] = src[i % len];
	*out = n;
	return b;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t plen, slen, pl, sl;
	uint8_t *p, *s;
	bool nocase, grow;

	if (size < 3)
		return 0;
	nocase = data[0] & 1;
	grow = data[0] & 2;
	plen = (size_t)(data[1] | data[2] << 8) % (size - 3 + 1);
	slen = size - 3 - plen;
	p = copy(data + 3, plen, grow ? GROW_PAT : 0, &pl);
	s = copy(data + 3 + plen, slen, grow ? GROW_SUBJ : 0, &sl);
	{
		int got = su_glob_match((const char *)p, pl, (const char *)s, sl, nocase);
		int want = ref_match(p, pl, s, sl, nocase);

		FUZZ_CHECK(got == 0 || got == 1);
		if (want >= 0 && got != want) {
			fprintf(stderr, "pattern (%zu bytes) %.*s\nsubject (%zu bytes) %.*s\n", pl,
				(int)(pl < 200 ? pl : 200), (const char *)p, sl,
				(int)(sl < 200 ? sl : 200), (const char *)s);
			fprintf(stderr, "nocase %d: su_glob_match %d, reference %d\n", nocase, got,
				want);
		}
		FUZZ_CHECK(want < 0 || got == want);
	}
	mem_free(p);
	mem_free(s);
	return 0;
}
