/*
 * test_aof_format.c — persist/aof_format: the manifest as redis-server
 * 7.0.15 writes it (parsed, and formatted back byte for byte), Redis's
 * refusals (duplicate base, non-monotonic seqs, a cut last line, paths),
 * quoted names; the command-stream scan: complete files, every truncation
 * point of a file (a prefix is never corrupt, and the valid prefix always
 * ends on a command boundary outside an open MULTI), corrupt bytes reported
 * at their offset.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "concurrency/mem.h"
#include "persist/aof_format.h"

static const char redis_manifest[] = "file appendonly.aof.1.base.rdb seq 1 type b\n"
				     "file appendonly.aof.1.incr.aof seq 1 type i\n";

Test(aof_manifest, redis_text_round_trips)
{
	struct aof_manifest m;
	char err[256];
	size_t len;
	char *text;

	cr_assert_eq(
	    aof_manifest_parse(redis_manifest, strlen(redis_manifest), &m, err, sizeof(err)), 0,
	    "%s", err);
	cr_assert_str_eq(m.base.name, "appendonly.aof.1.base.rdb");
	cr_assert_eq(m.base.seq, 1);
	cr_assert_eq(m.nincr, 1);
	cr_assert_str_eq(m.incr[0].name, "appendonly.aof.1.incr.aof");
	text = aof_manifest_format(&m, &len);
	cr_assert_eq(len, strlen(redis_manifest));
	cr_assert_str_eq(text, redis_manifest);
	mem_free(text);
	aof_manifest_free(&m);
}

Test(aof_manifest, keys_in_any_order_comments_history_and_quotes)
{
	static const char in[] = "# a comment\n"
				 "seq 2 type b file base.rdb\n"
				 "file old.aof seq 1 type h\n"
				 "file \"with space.aof\" seq 3 type i unknown-key x\n"
				 "file x.aof seq 4 type i\n";
	struct aof_manifest m;
	char err[256], *text;
	size_t len;

	cr_assert_eq(aof_manifest_parse(in, strlen(in), &m, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(m.base.name, "base.rdb");
	cr_assert_eq(m.nhist, 1);
	cr_assert_eq(m.nincr, 2);
	cr_assert_str_eq(m.incr[0].name, "with space.aof");
	text = aof_manifest_format(&m, &len);
	cr_assert_str_eq(text, "file base.rdb seq 2 type b\n"
			       "file old.aof seq 1 type h\n"
			       "file \"with space.aof\" seq 3 type i\n"
			       "file x.aof seq 4 type i\n");
	mem_free(text);
	aof_manifest_free(&m);
}

static void refused(const char *in, const char *why)
{
	struct aof_manifest m;
	char err[256] = "";

	cr_expect_eq(aof_manifest_parse(in, strlen(in), &m, err, sizeof(err)), -22, "accepted: %s",
		     in);
	cr_expect(strstr(err, why) != NULL, "'%s': got '%s', want '%s'", in, err, why);
	cr_expect_null(m.base.name);
	cr_expect_eq(m.nincr, 0);
}

Test(aof_manifest, refusals)
{
	refused("", "empty");
	refused("file a seq 1 type b\nfile b seq 1 type b\n", "duplicate base");
	refused("file a seq 2 type i\nfile b seq 2 type i\n", "non-monotonic");
	refused("file a seq 1 type i", "no newline");
	refused("file ../a seq 1 type i\n", "file name");
	refused("file a seq x type i\n", "seq");
	refused("file a seq 1 type z\n", "type");
	refused("file a seq 1\n", "missing");
	refused("file \"a seq 1 type i\n", "quotes");
	refused("file a seq\n", "format");
}

static const char stream[] = "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n"
			     "*3\r\n$3\r\nset\r\n$1\r\na\r\n$1\r\nb\r\n"
			     "*1\r\n$5\r\nMULTI\r\n"
			     "*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n"
			     "*1\r\n$4\r\nEXEC\r\n"
			     "*2\r\n$3\r\nDEL\r\n$1\r\na\r\n";

Test(aof_scan, complete_stream)
{
	struct aof_scan_info si;

	cr_assert_eq(aof_scan(stream, strlen(stream), &si), AOF_SCAN_OK);
	cr_assert_eq(si.valid, strlen(stream));
	cr_assert_eq(si.ncmds, 6);
	cr_assert_eq(aof_scan("", 0, &si), AOF_SCAN_OK);
	cr_assert_eq(si.ncmds, 0);
}

/* The ends of whole commands, and where the MULTI starts. */
Test(aof_scan, every_truncation_cuts_at_a_boundary)
{
	size_t n = strlen(stream);
	size_t ends[6], k = 0, multi_at;
	const char *p = stream;

	/* boundaries: after each command */
	while (k < 6) {
		p = strstr(p + 1, "*");
		ends[k++] = p ? (size_t)(p - stream) : n;
		if (!p)
			break;
	}
	multi_at = ends[1];
	for (size_t cut = 0; cut < n; cut++) {
		struct aof_scan_info si;
		enum aof_scan_result r = aof_scan(stream, cut, &si);
		size_t want = 0;

		for (size_t i = 0; i < 6; i++)
			if (ends[i] <= cut)
				want = ends[i];
		/* inside MULTI ... EXEC: back to the MULTI */
		if (want > multi_at && want < ends[4])
			want = multi_at;
		if (cut == want) {
			cr_expect(r == AOF_SCAN_OK || r == AOF_SCAN_TRUNCATED, "cut %zu", cut);
		} else {
			cr_expect_eq(r, AOF_SCAN_TRUNCATED, "cut %zu", cut);
		}
		cr_expect_eq(si.valid, want, "cut %zu: valid %zu, want %zu", cut, si.valid, want);
	}
}

Test(aof_scan, corrupt_bytes_are_reported_at_their_offset)
{
	struct aof_scan_info si;
	char buf[sizeof(stream)];

	memcpy(buf, stream, sizeof(stream));
	buf[23] = 'x'; /* the '*' of the second command */
	cr_assert_eq(aof_scan(buf, strlen(buf), &si), AOF_SCAN_CORRUPT);
	cr_expect_eq(si.bad, 23);
	cr_expect_eq(si.valid, 23);

	memcpy(buf, stream, sizeof(stream));
	buf[28] = '!'; /* the length of "$3" */
	cr_assert_eq(aof_scan(buf, strlen(buf), &si), AOF_SCAN_CORRUPT);
	cr_expect_eq(si.bad, 28);

	cr_expect_eq(aof_scan("*0\r\n", 4, &si), AOF_SCAN_CORRUPT);
	cr_expect_eq(aof_scan("*1\r\n$1\r\nab\r\n", 12, &si), AOF_SCAN_CORRUPT);
	cr_expect_eq(si.bad, 9);
	cr_expect_eq(aof_scan("*1\r\n$99999999999999999999\r\n", 27, &si), AOF_SCAN_CORRUPT);
}

Test(aof_scan, formatted_commands_scan_back)
{
	const char *argv[3] = {"SET", "k\r\n", ""};
	size_t argl[3] = {3, 3, 0}, len = 0, cap = 0;
	char *buf = NULL;
	struct aof_scan_info si;

	aof_format_cmd(&buf, &len, &cap, 3, argv, argl);
	aof_format_cmd(&buf, &len, &cap, 1, argv, argl);
	cr_assert_str_eq(buf, "*3\r\n$3\r\nSET\r\n$3\r\nk\r\n\r\n$0\r\n\r\n*1\r\n$3\r\nSET\r\n");
	cr_assert_eq(aof_scan(buf, len, &si), AOF_SCAN_OK);
	cr_assert_eq(si.ncmds, 2);
	mem_free(buf);
}
