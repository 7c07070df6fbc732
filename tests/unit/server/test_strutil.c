/*
 * test_strutil.c — strutil against Redis 7.0's exact behaviour.
 *
 * The glob table was produced by running KEYS <pattern> on redis-server
 * 7.0.15 over the subjects below (one '0'/'1' per subject); the other
 * expectations were checked the same way (INCRBYFLOAT, CONFIG SET, inline
 * commands for sdssplitargs). string2ll and the text rules net/resp.c holds
 * are tested in tests/unit/net/test_resp.c.
 */
#include "server/strutil.h"
#include "concurrency/mem.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct glob_case {
	const char *pat;
	size_t plen;
	const char *expect;
};

static const char *const glob_subjects[] = {"hello",
					    "hallo",
					    "hxllo",
					    "hllo",
					    "heeeello",
					    "a",
					    "ab",
					    "abc",
					    "a*c",
					    "a\?c",
					    "a[c",
					    "a]c",
					    "a\\c",
					    "-",
					    "^",
					    "Hello",
					    "x\xffy",
					    "ba",
					    "aaaaaaaaaaaaaaaaaaaaaaaab"};
static const struct glob_case glob_cases[] = {
    {"*", 1, "1111111111111111111"},	     {"**", 2, "1111111111111111111"},
    {"h\?llo", 5, "1110000000000000000"},    {"h*llo", 5, "1111100000000000000"},
    {"h[ae]llo", 8, "1100000000000000000"},  {"h[^e]llo", 8, "0110000000000000000"},
    {"h[a-b]llo", 9, "0100000000000000000"}, {"h[b-a]llo", 9, "0100000000000000000"},
    {"a\\*c", 4, "0000000010000000000"},     {"a\\\?c", 4, "0000000001000000000"},
    {"a[\\]]c", 6, "0000000000010000000"},   {"a[", 2, "0000000000000000000"},
    {"a[^", 3, "0000001000000000000"},	     {"[", 1, "0000000000000000000"},
    {"a\\", 2, "0000000000000000000"},	     {"a[\\", 3, "0000000000000000000"},
    {"*b", 2, "0000001000000000001"},	     {"\?", 1, "0000010000000110000"},
    {"\?\?", 2, "0000001000000000010"},	     {"a*", 2, "0000011111111000001"},
    {"*c", 2, "0000000111111000000"},	     {"[a-]", 4, "0000010000000010000"},
    {"[-]", 3, "0000000000000100000"},	     {"[^]", 3, "0000010000000110000"},
    {"[]", 2, "0000000000000000000"},	     {"a[]c", 4, "0000000000000000000"},
    {"a[!b]c", 6, "0000000100000000000"},    {"x[\x80-\xff]y", 7, "0000000000000000100"},
    {"x\?y", 3, "0000000000000000100"},	     {"H*", 2, "0000000000000001000"},
    {"hello*", 6, "1000000000000000000"},    {"*a*a*a*a*a*a*a*b", 16, "0000000000000000001"},
    {"[\\-]", 4, "0000000000000100000"},     {"a\\\\c", 4, "0000000000001000000"},
    {"[a-c]*", 6, "0000011111111000011"},    {"\\a*", 3, "0000011111111000001"},
    {"*\?", 2, "1111111111111111111"},	     {"\?*\?", 3, "1111101111111001111"},
    {"", 0, "0000000000000000000"},	     {"a[b-", 4, "0000001000000000000"},
    {"a[b-]c", 6, "0000001000000000000"},
};

Test(strutil, glob_matches_redis)
{
	size_t nsub = sizeof(glob_subjects) / sizeof(glob_subjects[0]);

	for (size_t i = 0; i < sizeof(glob_cases) / sizeof(glob_cases[0]); i++) {
		const struct glob_case *c = &glob_cases[i];

		for (size_t k = 0; k < nsub; k++) {
			int want = c->expect[k] == '1';
			int got = su_glob_match(c->pat, c->plen, glob_subjects[k],
						strlen(glob_subjects[k]), 0);

			cr_expect_eq(got, want, "pattern '%s' subject '%s': got %d want %d", c->pat,
				     glob_subjects[k], got, want);
		}
	}
}

Test(strutil, glob_nocase_and_empty)
{
	cr_expect(su_glob_match("H*", 2, "hello", 5, 1));
	cr_expect(!su_glob_match("H*", 2, "hello", 5, 0));
	cr_expect(su_glob_match("[A-C]x", 6, "bx", 2, 1));
	cr_expect(su_glob_match("max*", 4, "MAXCLIENTS", 10, 1));
	/* An empty subject never matches, not even "*" (Redis 7.0). */
	cr_expect(!su_glob_match("*", 1, "", 0, 0));
	cr_expect(su_glob_match("", 0, "", 0, 0));
	/* Binary-safe: NUL bytes in pattern and subject. */
	cr_expect(su_glob_match("a\0?", 3, "a\0b", 3, 0));
	cr_expect(!su_glob_match("a\0c", 3, "a\0b", 3, 0));
}

Test(strutil, glob_pathological_is_fast)
{
	char subj[4096], pat[64];

	memset(subj, 'a', sizeof(subj));
	strcpy(pat, "*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b");
	cr_expect(!su_glob_match(pat, strlen(pat), subj, sizeof(subj), 0));
	/* Nesting deeper than 1000 '*' levels fails rather than recursing on. */
	{
		char deep[2200];
		size_t n = 0;

		for (int i = 0; i < 1100; i++) {
			deep[n++] = '*';
			deep[n++] = 'a';
		}
		cr_expect(!su_glob_match(deep, n, subj, sizeof(subj), 0));
	}
}

static void expect_split(const char *line, int want_argc, const char *const *want,
			 const size_t *want_lens)
{
	int argc = -1;
	size_t *lens = NULL;
	char **v = su_split_args(line, strlen(line), &argc, &lens);

	cr_assert_not_null(v, "split '%s' failed", line);
	cr_assert_eq(argc, want_argc, "split '%s': argc %d want %d", line, argc, want_argc);
	for (int i = 0; i < argc; i++) {
		size_t wl = want_lens ? want_lens[i] : strlen(want[i]);

		cr_expect_eq(lens[i], wl, "split '%s' word %d len %zu want %zu", line, i, lens[i],
			     wl);
		cr_expect(memcmp(v[i], want[i], wl) == 0, "split '%s' word %d", line, i);
		cr_expect_eq(v[i][lens[i]], '\0');
	}
	su_free_args(v, lens, argc);
}

Test(strutil, split_args)
{
	expect_split("", 0, NULL, NULL);
	expect_split("   \t ", 0, NULL, NULL);
	expect_split("set key value", 3, (const char *[]){"set", "key", "value"}, NULL);
	expect_split("  a\tb  ", 2, (const char *[]){"a", "b"}, NULL);
	expect_split("\"a b\" 'c d'", 2, (const char *[]){"a b", "c d"}, NULL);
	expect_split("\"\\x41\\n\\r\\t\\b\\a\\\\\\\"\"", 1, (const char *[]){"A\n\r\t\b\a\\\""},
		     NULL);
	expect_split("\"\\x00z\"", 1, (const char *[]){"\0z"}, (size_t[]){2});
	expect_split("\"\\xzz\"", 1, (const char *[]){"xzz"}, NULL);
	expect_split("'it\\'s' '\\n'", 2, (const char *[]){"it's", "\\n"}, NULL);
	expect_split("\"\" ''", 2, (const char *[]){"", ""}, NULL);
	/* A quote inside a word opens quoting there. */
	expect_split("a\"b c\"", 1, (const char *[]){"ab c"}, NULL);
	expect_split("a\\\"\\\"x\\x\"", 1, (const char *[]){"a\\\"xx"}, NULL);
	/* \v and \f separate words only before a word, not inside one. */
	expect_split("\va\vb", 1, (const char *[]){"a\vb"}, NULL);
}

Test(strutil, split_args_errors)
{
	const char *bad[] = {"\"abc", "'abc", "\"a\"b", "'a'b", "a\"b c\"d", "x \"y\\\"", "\"\\"};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int argc = 7;
		size_t *lens = (size_t *)1;

		cr_expect_null(su_split_args(bad[i], strlen(bad[i]), &argc, &lens), "'%s'", bad[i]);
	}
	/* The text ends at a NUL byte, as Redis's C string does. */
	{
		int argc;
		size_t *lens;
		char **v = su_split_args("ab\0cd", 5, &argc, &lens);

		cr_assert_not_null(v);
		cr_expect_eq(argc, 1);
		cr_expect_eq(lens[0], 2);
		su_free_args(v, lens, argc);
	}
}

Test(strutil, repr_round_trips)
{
	const char raw[] = "a \"q\" \\ \n\r\t\a\b \x01\xff~";
	size_t rl, *lens;
	char *r = su_repr(raw, sizeof(raw) - 1, &rl);
	int argc;
	char **v;

	cr_expect_str_eq(r, "\"a \\\"q\\\" \\\\ \\n\\r\\t\\a\\b \\x01\\xff~\"");
	cr_expect_eq(rl, strlen(r));
	v = su_split_args(r, rl, &argc, &lens);
	cr_assert_not_null(v);
	cr_assert_eq(argc, 1);
	cr_expect_eq(lens[0], sizeof(raw) - 1);
	cr_expect(memcmp(v[0], raw, sizeof(raw) - 1) == 0);
	su_free_args(v, lens, argc);
	mem_free(r);
	r = su_repr("", 0, NULL);
	cr_expect_str_eq(r, "\"\"");
	mem_free(r);
}

Test(strutil, str2ld_and_human)
{
	static const struct {
		const char *in, *out; /* out NULL: rejected; as INCRBYFLOAT k <in> from 0 */
	} c[] = {
	    {"1.5", "1.5"},	   {"0.1", "0.1"},
	    {"-0", "0"},	   {"1e10", "10000000000"},
	    {"-1e-5", "-0.00001"}, {"3.0000000000000001", "3.0000000000000001"},
	    {"1.", "1"},	   {".5", "0.5"},
	    {"+5", "5"},	   {"0x10", "16"},
	    {"5e-20", "0"},	   {"-862891.658", "-862891.65800000000001546"},
	    {"1e5000", NULL},	   {"1e-5000", NULL},
	    {"nan", NULL},	   {" 1", NULL},
	    {"1 ", NULL},	   {"", NULL},
	    {"1x", NULL},
	};
	char buf[SU_LD_STR_MAX];

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		long double v;
		int ok = su_str2ld(c[i].in, strlen(c[i].in), &v);

		cr_expect_eq(ok, c[i].out != NULL, "'%s'", c[i].in);
		if (!ok || !c[i].out)
			continue;
		cr_expect_gt(su_ld2str_human(buf, sizeof(buf), v), 0);
		cr_expect_str_eq(buf, c[i].out, "'%s'", c[i].in);
	}
	cr_expect_eq(su_ld2str_human(buf, sizeof(buf), (long double)INFINITY), 3);
	cr_expect_str_eq(buf, "inf");
	cr_expect_eq(su_ld2str_human(buf, sizeof(buf), -(long double)INFINITY), 4);
	cr_expect_str_eq(buf, "-inf");
	cr_expect_eq(su_ld2str_human(buf, 4, 12345.0L), 0);
	cr_expect_str_eq(buf, "");
	/* The largest long double needs ~4950 bytes; the documented size holds it. */
	{
		long double big;

		cr_assert(su_str2ld("1e4931", 6, &big));
		cr_expect_gt(su_ld2str_human(buf, sizeof(buf), big), 4900);
	}
}

Test(strutil, memtoll)
{
	static const struct {
		const char *s;
		int ok;
		long long v;
	} c[] = {
	    {"1048576", 1, 1048576},
	    {"1mb", 1, 1048576},
	    {"1MB", 1, 1048576},
	    {"1m", 1, 1000000},
	    {"2000k", 1, 2000000},
	    {"3kb", 1, 3072},
	    {"2gb", 1, 2147483648LL},
	    {"5G", 1, 5000000000LL},
	    {"7b", 1, 7},
	    {"", 1, 0},
	    {"kb", 1, 0},
	    {"99999999999999999999", 1, -1}, /* saturates, then the bounds check fails */
	    {"-1", 0, 0},
	    {"1.5mb", 0, 0},
	    {"5 mb", 0, 0},
	    {"+5mb", 0, 0},
	    {"1tb", 0, 0},
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		long long v = 42;
		int ok = su_memtoll(c[i].s, &v);

		cr_expect_eq(ok, c[i].ok, "'%s'", c[i].s);
		if (ok)
			cr_expect_eq(v, c[i].v, "'%s': %lld", c[i].s, v);
	}
}

Test(strutil, eqi)
{
	cr_expect(su_eqi("PoRt", 4, "port"));
	cr_expect(!su_eqi("por", 3, "port"));
	cr_expect(!su_eqi("portx", 5, "port"));
	cr_expect(!su_eqi("po\0t", 4, "po"));
	cr_expect(su_eqi("", 0, ""));
}

/* Option words compare as Redis's strcasecmp(argv[i]->ptr, lit): the
 * argument ends at its first NUL (checked with SET k v "NX\0junk" and
 * CONFIG SET protected-mode "yes\0junk" on redis-server 7.0.15). */
Test(strutil, word_is)
{
	cr_expect(su_word_is("NX", 2, "nx"));
	cr_expect(su_word_is("nX\0junk", 7, "nx"));
	cr_expect(!su_word_is("nxx", 3, "nx"));
	cr_expect(!su_word_is("n", 1, "nx"));
	cr_expect(!su_word_is("\0nx", 3, "nx"));
	cr_expect(su_word_is("", 0, ""));
	cr_expect(!su_eqi("nx\0junk", 7, "nx")); /* names compare whole */
}

/* string2d as ZADD's scores use it: strtod over the whole argument, no
 * leading space, no NaN, no overflow, no underflow to zero */
Test(strutil, str2d_as_string2d)
{
	double v;

	cr_expect(su_str2d("1.5", 3, &v) && v == 1.5);
	cr_expect(su_str2d("-inf", 4, &v) && isinf(v) && v < 0);
	cr_expect(su_str2d("+inf", 4, &v) && isinf(v) && v > 0);
	cr_expect(su_str2d("-0", 2, &v) && v == 0 && signbit(v));
	cr_expect(su_str2d("1e-320", 6, &v) && v > 0); /* subnormal: kept */
	cr_expect(su_str2d("0x10", 4, &v) && v == 16);
	cr_expect_not(su_str2d("1e-400", 6, &v)); /* underflow to zero */
	cr_expect_not(su_str2d("1e400", 5, &v));
	cr_expect_not(su_str2d("nan", 3, &v));
	cr_expect_not(su_str2d("", 0, &v));
	cr_expect_not(su_str2d(" 1", 2, &v));
	cr_expect_not(su_str2d("1 ", 2, &v));
	cr_expect_not(su_str2d("1\0", 2, &v));
	cr_expect_not(su_str2d("abc", 3, &v));
}

/* d2string with double2ll, as a listpack score reads back (values from
 * redis-server 7.0.15's ZSCAN of a listpack) */
Test(strutil, d2str_as_d2string)
{
	char buf[SU_D2STR_MAX];
	static const struct {
		double v;
		const char *s;
	} cases[] = {
	    {1.5, "1.5"},
	    {5, "5"},
	    {-5, "-5"},
	    {1e17, "100000000000000000"},
	    {123456789012345678.0, "123456789012345680"},
	    {4e18, "4000000000000000000"},
	    {5e18, "5e+18"},
	    {1.5e-7, "1.4999999999999999e-07"},
	    {0.1, "0.10000000000000001"},
	    {INFINITY, "inf"},
	    {-INFINITY, "-inf"},
	    {0.0, "0"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int n = su_d2str(buf, sizeof(buf), cases[i].v);

		cr_expect_eq((size_t)n, strlen(cases[i].s), "%s", cases[i].s);
		cr_expect_str_eq(buf, cases[i].s);
	}
}

/* su_str2d's integer fast path gives strtod's exact double (sign of zero
 * included) for digit strings of every length around its 15-digit limit,
 * and what it does not take still goes through the strict checks. */
Test(strutil, str2d_integers_as_strtod)
{
	unsigned long long x = 0x9E3779B97F4A7C15ULL;
	char s[32];
	double v;

	for (int i = 0; i < 100000; i++) {
		x ^= x << 13; /* xorshift64 */
		x ^= x >> 7;
		x ^= x << 17;
		size_t n = 0, digits = 1 + x % 20;
		if (x & 0x100000)
			s[n++] = '-';
		for (size_t d = 0; d < digits; d++)
			s[n++] = (char)('0' + (x >> (d * 3 % 60)) % 10);
		s[n] = '\0';
		double want = strtod(s, NULL);
		cr_assert(su_str2d(s, n, &v), "%s rejected", s);
		cr_assert(memcmp(&v, &want, sizeof(v)) == 0, "%s: got %.17g, want %.17g", s, v,
			  want);
	}
	cr_expect(!su_str2d("-", 1, &v));
	cr_expect(!su_str2d("12a", 3, &v));
	cr_expect(!su_str2d(" 12", 3, &v));
	cr_expect(!su_str2d("1 2", 3, &v));
	cr_expect(su_str2d("+12", 3, &v) && v == 12);
	cr_expect(su_str2d("000000000000000000007", 21, &v) && v == 7);
}
