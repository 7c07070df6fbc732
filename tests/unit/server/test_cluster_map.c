/*
 * test_cluster_map.c — server/cluster_map.c: CRC16/XMODEM against its check
 * value, key slots (hash tags included) against what redis-server 7.0.15's
 * CLUSTER KEYSLOT answered, and the slot map parser's acceptance and
 * refusals (overlaps, holes, bad ids and addresses, duplicates).
 */
#include "server/cluster_map.h"

#include <criterion/criterion.h>
#include <string.h>

Test(cluster_map, crc16_check_value)
{
	/* CRC-16/XMODEM's catalogue check value */
	cr_assert_eq(cluster_crc16("123456789", 9), 0x31c3);
	cr_assert_eq(cluster_crc16("", 0), 0);
}

static unsigned slot(const char *k)
{
	return cluster_keyslot(k, strlen(k));
}

Test(cluster_map, keyslot_matches_redis)
{
	/* answers of redis-server 7.0.15's CLUSTER KEYSLOT */
	cr_assert_eq(slot("foo"), 12182);
	cr_assert_eq(slot("a"), 15495);
	cr_assert_eq(slot("b"), 3300);
	cr_assert_eq(slot("c"), 7365);
	cr_assert_eq(slot("key3"), 935);
	cr_assert_eq(slot("{user}a"), 5474);
	cr_assert_eq(slot("{x}a"), 16287);
	cr_assert_eq(slot("x"), 16287);
}

Test(cluster_map, hash_tags)
{
	/* the tag is between the first '{' and the first '}' after it */
	cr_assert_eq(slot("{user1000}.following"), slot("user1000"));
	cr_assert_eq(slot("foo{user1000}bar{zap}"), slot("user1000"));
	cr_assert_eq(slot("foo{{bar}}zap"), slot("{bar"));
	cr_assert_eq(slot("foo{bar}{zap}"), slot("bar"));
	/* an empty tag or none closed: the whole key */
	cr_assert_eq(slot("foo{}{bar}"), cluster_crc16("foo{}{bar}", 10) & 16383);
	cr_assert_eq(slot("{abc"), cluster_crc16("{abc", 4) & 16383);
	cr_assert_eq(slot("abc}{"), cluster_crc16("abc}{", 5) & 16383);
	/* binary keys */
	cr_assert_eq(cluster_keyslot("a\0{b}", 5), slot("b"));
}

static const char three[] =
    "# three masters\n"
    "0b1f2a3c4d5e6f708192a3b4c5d6e7f801234561 127.0.0.1:30001 0-5460\n"
    "0b1f2a3c4d5e6f708192a3b4c5d6e7f801234562 127.0.0.1:30002 5461-10922\n"
    "0b1f2a3c4d5e6f708192a3b4c5d6e7f801234563 127.0.0.1:30003 10923-16383\n";

Test(cluster_map, parses_three_masters)
{
	struct cluster_map m;
	char err[256];

	cr_assert_eq(cluster_map_parse(three, strlen(three), &m, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(m.nnodes, 3);
	cr_assert_str_eq(m.nodes[1].ip, "127.0.0.1");
	cr_assert_eq(m.nodes[1].port, 30002);
	cr_assert_eq(m.nodes[1].nranges, 1);
	cr_assert_eq(m.nodes[1].ranges[0][0], 5461);
	cr_assert_eq(m.nodes[1].ranges[0][1], 10922);
	cr_assert_eq(m.owner[0], 0);
	cr_assert_eq(m.owner[5460], 0);
	cr_assert_eq(m.owner[5461], 1);
	cr_assert_eq(m.owner[16383], 2);
	cluster_map_free(&m);
	cr_assert_eq(m.nnodes, 0);
}

Test(cluster_map, joins_ranges_and_single_slots)
{
	static const char t[] =
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa ::1:7000 0-99 101-16383 100\r\n";
	struct cluster_map m;
	char err[256];

	cr_assert_eq(cluster_map_parse(t, strlen(t), &m, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(m.nodes[0].ip, "::1");
	cr_assert_eq(m.nodes[0].nranges, 1);
	cr_assert_eq(m.nodes[0].ranges[0][1], 16383);
	cluster_map_free(&m);
}

static void refused(const char *text, const char *want)
{
	struct cluster_map m;
	char err[256] = "";

	cr_assert_eq(cluster_map_parse(text, strlen(text), &m, err, sizeof(err)), -1, "%s", text);
	cr_assert_eq(m.nnodes, 0);
	cr_assert(strstr(err, want) != NULL, "'%s' lacks '%s'", err, want);
}

#define ID_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define ID_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

Test(cluster_map, refusals)
{
	refused("", "names no node");
	refused("# only a comment\n", "names no node");
	refused(ID_A " 127.0.0.1:7000 0-16382\n", "slot 16383 is assigned to no node");
	refused(ID_A " 127.0.0.1:7000 0-9000\n" ID_B " 127.0.0.1:7001 9000-16383\n",
		"line 2: slot 9000 is already assigned to node " ID_A);
	refused("xyz 127.0.0.1:7000 0-16383\n", "line 1: a node id must be 40");
	refused("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA 127.0.0.1:7000 0-16383\n", "node id");
	refused(ID_A " 127.0.0.1 0-16383\n", "<ip>:<port>");
	refused(ID_A " 127.0.0.1:0 0-16383\n", "port must be 1..65535");
	refused(ID_A " 127.0.0.1:65536 0-16383\n", "port must be 1..65535");
	refused(ID_A " :7000 0-16383\n", "the ip must be");
	refused(ID_A " 0.0.0.0:7000 0-16383\n", "no address a client can connect to");
	refused(ID_A " host.example:7000 0-16383\n", "numeric");
	refused(ID_A " 127.0.0.1:7000\n", "expected <node id> <ip>:<port> <slot ranges>");
	refused(ID_A " 127.0.0.1:7000 0-16384\n", "'0-16384' is not a slot");
	refused(ID_A " 127.0.0.1:7000 10-5\n", "'10-5' is not a slot");
	refused(ID_A " 127.0.0.1:7000 -5\n", "is not a slot");
	refused(ID_A " 127.0.0.1:7000 0-100\n" ID_A " 127.0.0.1:7001 101-16383\n", "appears twice");
	refused(ID_A " 127.0.0.1:7000 0-100\n" ID_B " 127.0.0.1:7000 101-16383\n",
		"address 127.0.0.1:7000 appears twice");
}
