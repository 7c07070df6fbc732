/*
 * test_keyspec.c — key extraction from Redis 7.0's key specs (server/
 * keyspec.c) over the rows of server/cmd_docs.c. Expectations are what
 * redis-server 7.0.15 answers to COMMAND GETKEYSANDFLAGS for the same
 * arguments; the integration test test_diff_intro.py compares the replies
 * themselves.
 */
#include "server/cmd_docs.h"
#include "server/keyspec.h"

#include <criterion/criterion.h>
#include <string.h>

#define MAXK 64

/* Finds the keys of the command whose arguments are the NULL-terminated
 * list; returns the count (-1: invalid) and the positions in pos[]. */
static int find(const char *name, const char *const *args, int *pos, unsigned *flags)
{
	const struct cmd_doc *doc = cmd_docs_find(name);
	size_t len[32];
	struct keyspec_key k[MAXK];
	int argc = 0, n;

	cr_assert_not_null(doc, "no docs row for %s", name);
	while (args[argc]) {
		len[argc] = strlen(args[argc]);
		argc++;
	}
	n = keyspec_find(doc, argc, args, len, k, MAXK);
	for (int i = 0; i < n; i++) {
		pos[i] = k[i].pos;
		if (flags)
			flags[i] = k[i].flags;
	}
	return n;
}

Test(keyspec, flags_parse_in_redis_order)
{
	cr_expect_eq(keyspec_flags("RW access update"), KS_RW | KS_ACCESS | KS_UPDATE);
	cr_expect_eq(keyspec_flags("OW update"), KS_OW | KS_UPDATE);
	cr_expect_eq(keyspec_flags("RM delete"), KS_RM | KS_DELETE);
	cr_expect_eq(keyspec_flags(""), 0u);
	cr_expect_str_eq(keyspec_flag_names[0], "RO");
	cr_expect_str_eq(keyspec_flag_names[10], "variable_flags");
}

Test(keyspec, index_single_key)
{
	const char *get[] = {"get", "a", NULL};
	int pos[MAXK];
	unsigned fl[MAXK];

	cr_assert_eq(find("get", get, pos, fl), 1);
	cr_expect_eq(pos[0], 1);
	cr_expect_eq(fl[0], KS_RO | KS_ACCESS);
}

Test(keyspec, range_to_the_end_with_step)
{
	const char *mset[] = {"mset", "a", "1", "b", "2", "c", "3", NULL};
	const char *del[] = {"del", "a", "b", "c", NULL};
	int pos[MAXK];
	unsigned fl[MAXK];

	cr_assert_eq(find("mset", mset, pos, fl), 3);
	cr_expect(pos[0] == 1 && pos[1] == 3 && pos[2] == 5);
	cr_expect_eq(fl[0], KS_OW | KS_UPDATE);
	cr_assert_eq(find("del", del, pos, fl), 3);
	cr_expect(pos[0] == 1 && pos[2] == 3);
	cr_expect_eq(fl[0], KS_RM | KS_DELETE);
}

Test(keyspec, two_specs)
{
	const char *rename[] = {"rename", "src", "dst", NULL};
	int pos[MAXK];
	unsigned fl[MAXK];

	cr_assert_eq(find("rename", rename, pos, fl), 2);
	cr_expect(pos[0] == 1 && pos[1] == 2);
	cr_expect_eq(fl[0], KS_RW | KS_ACCESS | KS_DELETE);
	cr_expect_eq(fl[1], KS_OW | KS_UPDATE);
}

Test(keyspec, subcommand_key_after_the_subcommand)
{
	const char *obj[] = {"object", "encoding", "k", NULL};
	int pos[MAXK];

	cr_assert_eq(find("object|encoding", obj, pos, NULL), 1);
	cr_expect_eq(pos[0], 2);
}

Test(keyspec, set_variable_flags_follow_get)
{
	const char *plain[] = {"set", "k", "v", NULL};
	const char *get[] = {"set", "k", "v", "EX", "10", "gEt", NULL};
	const char *getx[] = {"set", "k", "v", "getx", NULL};
	int pos[MAXK];
	unsigned fl[MAXK];

	cr_assert_eq(find("set", plain, pos, fl), 1);
	cr_expect_eq(fl[0], KS_OW | KS_UPDATE);
	cr_assert_eq(find("set", get, pos, fl), 1);
	cr_expect_eq(fl[0], KS_RW | KS_ACCESS | KS_UPDATE);
	cr_assert_eq(find("set", getx, pos, fl), 1);
	cr_expect_eq(fl[0], KS_OW | KS_UPDATE);
}

Test(keyspec, bitfield_readonly_unless_it_writes)
{
	const char *ro[] = {"bitfield", "k", "GET", "u8", "0", NULL};
	const char *rw[] = {"bitfield", "k", "GET", "u8", "0", "SET", "u8", "0", "1", NULL};
	int pos[MAXK];
	unsigned fl[MAXK];

	if (cmd_docs_find("bitfield") == NULL)
		return;
	cr_assert_eq(find("bitfield", ro, pos, fl), 1);
	cr_expect_eq(fl[0], KS_RO | KS_ACCESS);
	cr_assert_eq(find("bitfield", rw, pos, fl), 1);
	cr_expect_eq(fl[0], KS_RW | KS_ACCESS | KS_UPDATE);
}

Test(keyspec, has_keys)
{
	cr_expect(keyspec_has_keys(cmd_docs_find("get")));
	cr_expect(!keyspec_has_keys(cmd_docs_find("ping")));
	cr_expect(!keyspec_has_keys(cmd_docs_find("object")));
	cr_expect(!keyspec_has_keys(NULL));
}
