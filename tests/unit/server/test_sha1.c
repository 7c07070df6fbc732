/*
 * test_sha1.c — server/sha1.c against the FIPS 180 / RFC 3174 test vectors,
 * split feeds (every chunk size up to 130 bytes) and padding boundaries
 * (55, 56, 63, 64, 65 bytes), whose digests were taken from sha1sum.
 */
#include "server/sha1.h"

#include <criterion/criterion.h>
#include <string.h>

static void check(const void *data, size_t len, const char *want)
{
	uint8_t d[SHA1_DIGEST_LEN];
	char hex[41];

	sha1(data, len, d);
	sha1_hex(d, hex);
	cr_assert_str_eq(hex, want, "len %zu", len);
}

Test(sha1, fips_vectors)
{
	check("", 0, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
	check("abc", 3, "a9993e364706816aba3e25717850c26c9cd0d89d");
	check("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56,
	      "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
	check("The quick brown fox jumps over the lazy dog", 43,
	      "2fd4e1c67a2d28fced849ee1bb76e7391b93eb12");
}

Test(sha1, million_a)
{
	static char buf[1000000];
	struct sha1_ctx c;
	uint8_t d[SHA1_DIGEST_LEN];
	char hex[41];

	memset(buf, 'a', sizeof(buf));
	check(buf, sizeof(buf), "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
	/* the same in odd-sized pieces */
	sha1_init(&c);
	for (size_t off = 0; off < sizeof(buf); off += 997)
		sha1_update(&c, buf + off, sizeof(buf) - off < 997 ? sizeof(buf) - off : 997);
	sha1_final(&c, d);
	sha1_hex(d, hex);
	cr_assert_str_eq(hex, "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
}

Test(sha1, padding_boundaries)
{
	static const struct {
		size_t n;
		const char *want;
	} cases[] = {
	    {55, "c1c8bbdc22796e28c0e15163d20899b65621d65a"},
	    {56, "c2db330f6083854c99d4b5bfb6e8f29f201be699"},
	    {63, "03f09f5b158a7a8cdad920bddc29b81c18a551f5"},
	    {64, "0098ba824b5c16427bd7a1122a5a442a25ec644d"},
	    {65, "11655326c708d70319be2610e8a57d9a5b959d3b"},
	};
	char buf[65];

	memset(buf, 'a', sizeof(buf));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check(buf, cases[i].n, cases[i].want);
}

Test(sha1, split_feeds_agree)
{
	char buf[130];
	uint8_t whole[SHA1_DIGEST_LEN], part[SHA1_DIGEST_LEN];

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (char)(i * 7 + 3);
	sha1(buf, sizeof(buf), whole);
	for (size_t step = 1; step <= sizeof(buf); step++) {
		struct sha1_ctx c;

		sha1_init(&c);
		for (size_t off = 0; off < sizeof(buf); off += step)
			sha1_update(&c, buf + off,
				    sizeof(buf) - off < step ? sizeof(buf) - off : step);
		sha1_final(&c, part);
		cr_assert(memcmp(whole, part, sizeof(whole)) == 0, "step %zu", step);
	}
}
