/*
 * Unit tests for loadgen/mix.c: parsing --command templates and --mix
 * "WEIGHT:TEMPLATE" specs (weights are percentages of all requests), the
 * weight total's limit of 100%, and the weighted pick's class boundaries.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "loadgen/mix.h"

Test(mix, template_words_and_name)
{
	struct lg_tmpl t;

	cr_assert_eq(lg_tmpl_parse(&t, "  hget\th:__rand_int__   f3 "), 0);
	cr_assert_eq(t.argc, 3);
	cr_assert_str_eq(t.argv[0], "hget");
	cr_assert_str_eq(t.argv[1], "h:__rand_int__");
	cr_assert_eq(t.argl[1], 14);
	cr_assert_str_eq(t.argv[2], "f3");
	cr_assert_str_eq(t.name, "HGET");
	/* *3, three "$len" headers and the words */
	cr_assert_geq(lg_tmpl_req_max(&t), strlen("*3\r\n$4\r\nhget\r\n$14\r\nh:__rand_int__\r\n"
						  "$2\r\nf3\r\n"));
	lg_tmpl_free(&t);
	cr_assert_eq(lg_tmpl_parse(&t, ""), -EINVAL);
	cr_assert_eq(lg_tmpl_parse(&t, " \t "), -EINVAL);
}

Test(mix, weight_is_a_percentage)
{
	struct lg_tmpl t;

	cr_assert_eq(lg_mix_parse(&t, "20:SADD s:__rand_int__ 3"), 0);
	cr_assert_eq(t.weight, 200000);
	cr_assert_eq(t.argc, 3);
	cr_assert_str_eq(t.name, "SADD");
	cr_assert_str_eq(t.text, "SADD s:__rand_int__ 3");
	lg_tmpl_free(&t);
	cr_assert_eq(lg_mix_parse(&t, "2.5:GET x"), 0);
	cr_assert_eq(t.weight, 25000);
	lg_tmpl_free(&t);
	cr_assert_eq(lg_mix_parse(&t, "100:PING"), 0);
	cr_assert_eq(t.weight, LG_MIX_ONE);
	lg_tmpl_free(&t);
	cr_assert_eq(lg_mix_parse(&t, "0.0001:PING"), 0);
	cr_assert_eq(t.weight, 1);
	lg_tmpl_free(&t);
	/* a colon inside the template belongs to the template */
	cr_assert_eq(lg_mix_parse(&t, "5:HSET h:__rand_int__ f:1 v"), 0);
	cr_assert_str_eq(t.argv[1], "h:__rand_int__");
	cr_assert_str_eq(t.argv[2], "f:1");
	lg_tmpl_free(&t);
}

Test(mix, bad_specs)
{
	static const char *const bad[] = {
	    "",		 "GET x",	":GET x",   "0:GET x",	     "-5:GET x", "+5:GET x",
	    "101:GET x", "100.5:GET x", "x:GET x",  "5x:GET x",	     "5:",	 "5: \t ",
	    "nan:GET x", "inf:GET x",	" 5:GET x", "0.00001:GET x",
	};
	struct lg_tmpl t;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(lg_mix_parse(&t, bad[i]), -EINVAL, "accepted \"%s\"", bad[i]);
}

Test(mix, total_at_most_100_percent)
{
	struct lg_tmpl t[3];

	cr_assert_eq(lg_mix_parse(&t[0], "60:GET a"), 0);
	cr_assert_eq(lg_mix_parse(&t[1], "40:GET b"), 0);
	cr_assert_eq(lg_mix_parse(&t[2], "0.5:GET c"), 0);
	cr_assert_eq(lg_mix_total(t, 0), 0);
	cr_assert_eq(lg_mix_total(t, 1), 600000);
	cr_assert_eq(lg_mix_total(t, 2), LG_MIX_ONE);
	cr_assert_eq(lg_mix_total(t, 3), -EINVAL);
	for (int i = 0; i < 3; i++)
		lg_tmpl_free(&t[i]);
}

Test(mix, pick_boundaries)
{
	struct lg_tmpl t[2];

	cr_assert_eq(lg_mix_parse(&t[0], "10:HGET h f"), 0);
	cr_assert_eq(lg_mix_parse(&t[1], "5:SADD s m"), 0);
	cr_assert_eq(lg_mix_pick(t, 2, 0), 0);
	cr_assert_eq(lg_mix_pick(t, 2, 99999), 0);
	cr_assert_eq(lg_mix_pick(t, 2, 100000), 1);
	cr_assert_eq(lg_mix_pick(t, 2, 149999), 1);
	cr_assert_eq(lg_mix_pick(t, 2, 150000), -1); /* the GET/SET mix */
	cr_assert_eq(lg_mix_pick(t, 2, LG_MIX_ONE - 1), -1);
	cr_assert_eq(lg_mix_pick(t, 0, 0), -1);
	/* the shares over every draw are exactly the weights */
	{
		unsigned n[3] = {0};

		for (uint32_t r = 0; r < LG_MIX_ONE; r++)
			n[lg_mix_pick(t, 2, r) + 1]++;
		cr_assert_eq(n[1], 100000);
		cr_assert_eq(n[2], 50000);
		cr_assert_eq(n[0], 850000);
	}
	lg_tmpl_free(&t[0]);
	lg_tmpl_free(&t[1]);
}
