/*
 * cluster_map.c — CRC16 key slots and the static slot map file parser
 * (cluster_map.h). The parser reads the text a line at a time, splits each
 * line into words on blanks, and checks the whole map once every line is
 * read: coverage of all 16384 slots, then which node owns each slot.
 */
#include "server/cluster_map.h"
#include "concurrency/mem.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* CRC16/XMODEM by table (polynomial 0x1021), as Redis's crc16.c: entry i is
 * the CRC of the byte i shifted into the high half. Constant, so any thread
 * may use it. */
static const uint16_t crc16_table[256] = {
    0x0000, 0x1021, 0x2042, 0x3063, 0x4084, 0x50a5, 0x60c6, 0x70e7, 0x8108, 0x9129, 0xa14a, 0xb16b,
    0xc18c, 0xd1ad, 0xe1ce, 0xf1ef, 0x1231, 0x0210, 0x3273, 0x2252, 0x52b5, 0x4294, 0x72f7, 0x62d6,
    0x9339, 0x8318, 0xb37b, 0xa35a, 0xd3bd, 0xc39c, 0xf3ff, 0xe3de, 0x2462, 0x3443, 0x0420, 0x1401,
    0x64e6, 0x74c7, 0x44a4, 0x5485, 0xa56a, 0xb54b, 0x8528, 0x9509, 0xe5ee, 0xf5cf, 0xc5ac, 0xd58d,
    0x3653, 0x2672, 0x1611, 0x0630, 0x76d7, 0x66f6, 0x5695, 0x46b4, 0xb75b, 0xa77a, 0x9719, 0x8738,
    0xf7df, 0xe7fe, 0xd79d, 0xc7bc, 0x48c4, 0x58e5, 0x6886, 0x78a7, 0x0840, 0x1861, 0x2802, 0x3823,
    0xc9cc, 0xd9ed, 0xe98e, 0xf9af, 0x8948, 0x9969, 0xa90a, 0xb92b, 0x5af5, 0x4ad4, 0x7ab7, 0x6a96,
    0x1a71, 0x0a50, 0x3a33, 0x2a12, 0xdbfd, 0xcbdc, 0xfbbf, 0xeb9e, 0x9b79, 0x8b58, 0xbb3b, 0xab1a,
    0x6ca6, 0x7c87, 0x4ce4, 0x5cc5, 0x2c22, 0x3c03, 0x0c60, 0x1c41, 0xedae, 0xfd8f, 0xcdec, 0xddcd,
    0xad2a, 0xbd0b, 0x8d68, 0x9d49, 0x7e97, 0x6eb6, 0x5ed5, 0x4ef4, 0x3e13, 0x2e32, 0x1e51, 0x0e70,
    0xff9f, 0xefbe, 0xdfdd, 0xcffc, 0xbf1b, 0xaf3a, 0x9f59, 0x8f78, 0x9188, 0x81a9, 0xb1ca, 0xa1eb,
    0xd10c, 0xc12d, 0xf14e, 0xe16f, 0x1080, 0x00a1, 0x30c2, 0x20e3, 0x5004, 0x4025, 0x7046, 0x6067,
    0x83b9, 0x9398, 0xa3fb, 0xb3da, 0xc33d, 0xd31c, 0xe37f, 0xf35e, 0x02b1, 0x1290, 0x22f3, 0x32d2,
    0x4235, 0x5214, 0x6277, 0x7256, 0xb5ea, 0xa5cb, 0x95a8, 0x8589, 0xf56e, 0xe54f, 0xd52c, 0xc50d,
    0x34e2, 0x24c3, 0x14a0, 0x0481, 0x7466, 0x6447, 0x5424, 0x4405, 0xa7db, 0xb7fa, 0x8799, 0x97b8,
    0xe75f, 0xf77e, 0xc71d, 0xd73c, 0x26d3, 0x36f2, 0x0691, 0x16b0, 0x6657, 0x7676, 0x4615, 0x5634,
    0xd94c, 0xc96d, 0xf90e, 0xe92f, 0x99c8, 0x89e9, 0xb98a, 0xa9ab, 0x5844, 0x4865, 0x7806, 0x6827,
    0x18c0, 0x08e1, 0x3882, 0x28a3, 0xcb7d, 0xdb5c, 0xeb3f, 0xfb1e, 0x8bf9, 0x9bd8, 0xabbb, 0xbb9a,
    0x4a75, 0x5a54, 0x6a37, 0x7a16, 0x0af1, 0x1ad0, 0x2ab3, 0x3a92, 0xfd2e, 0xed0f, 0xdd6c, 0xcd4d,
    0xbdaa, 0xad8b, 0x9de8, 0x8dc9, 0x7c26, 0x6c07, 0x5c64, 0x4c45, 0x3ca2, 0x2c83, 0x1ce0, 0x0cc1,
    0xef1f, 0xff3e, 0xcf5d, 0xdf7c, 0xaf9b, 0xbfba, 0x8fd9, 0x9ff8, 0x6e17, 0x7e36, 0x4e55, 0x5e74,
    0x2e93, 0x3eb2, 0x0ed1, 0x1ef0,
};

uint16_t cluster_crc16(const char *buf, size_t len)
{
	uint16_t crc = 0;

	for (size_t i = 0; i < len; i++)
		crc = (uint16_t)((crc << 8) ^ crc16_table[((crc >> 8) ^ (uint8_t)buf[i]) & 0xff]);
	return crc;
}

unsigned cluster_keyslot(const char *key, size_t len)
{
	const char *open = memchr(key, '{', len), *close;
	size_t s;

	if (open == NULL)
		return cluster_crc16(key, len) & (CLUSTER_SLOTS - 1);
	s = (size_t)(open - key);
	close = memchr(open + 1, '}', len - s - 1);
	/* no '}' or "{}": the whole key */
	if (close == NULL || close == open + 1)
		return cluster_crc16(key, len) & (CLUSTER_SLOTS - 1);
	return cluster_crc16(open + 1, (size_t)(close - open - 1)) & (CLUSTER_SLOTS - 1);
}

void cluster_map_free(struct cluster_map *m)
{
	for (int i = 0; i < m->nnodes; i++)
		mem_free(m->nodes[i].ranges);
	mem_free(m->nodes);
	m->nodes = NULL;
	m->nnodes = 0;
}

struct word {
	const char *p;
	size_t n;
};

static bool is_blank(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r';
}

/* Reads an integer in [0, max] from the whole word; -1 if it is not one. */
static long word_num(const char *p, size_t n, long max)
{
	long v = 0;

	if (n == 0 || n > 6)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	return v <= max ? v : -1;
}

static int parse_id(struct cluster_node *nd, struct word w)
{
	if (w.n != CLUSTER_ID_LEN)
		return -1;
	for (size_t i = 0; i < w.n; i++)
		if (!((w.p[i] >= '0' && w.p[i] <= '9') || (w.p[i] >= 'a' && w.p[i] <= 'f')))
			return -1;
	memcpy(nd->id, w.p, w.n);
	nd->id[w.n] = '\0';
	return 0;
}

/* ip:port, split at the last ':' (an IPv6 address keeps its own colons). */
static int parse_addr(struct cluster_node *nd, struct word w, char *err, size_t errlen, int line)
{
	const char *colon = NULL;
	size_t iplen;
	long port;

	for (size_t i = 0; i < w.n; i++)
		if (w.p[i] == ':')
			colon = w.p + i;
	if (colon == NULL) {
		snprintf(err, errlen, "line %d: the address must be <ip>:<port>", line);
		return -1;
	}
	iplen = (size_t)(colon - w.p);
	port = word_num(colon + 1, w.n - iplen - 1, 65535);
	if (port <= 0) {
		snprintf(err, errlen, "line %d: the port must be 1..65535", line);
		return -1;
	}
	if (iplen == 0 || iplen > CLUSTER_IP_MAX) {
		snprintf(err, errlen, "line %d: the ip must be 1..%d characters", line,
			 CLUSTER_IP_MAX);
		return -1;
	}
	memcpy(nd->ip, w.p, iplen);
	nd->ip[iplen] = '\0';
	for (size_t i = 0; i < iplen; i++)
		if (!((nd->ip[i] >= '0' && nd->ip[i] <= '9') ||
		      (nd->ip[i] >= 'a' && nd->ip[i] <= 'f') ||
		      (nd->ip[i] >= 'A' && nd->ip[i] <= 'F') || nd->ip[i] == '.' ||
		      nd->ip[i] == ':')) {
			snprintf(err, errlen,
				 "line %d: the ip must be a numeric IPv4 or IPv6 address", line);
			return -1;
		}
	if (!strcmp(nd->ip, "0.0.0.0") || !strcmp(nd->ip, "::")) {
		snprintf(err, errlen,
			 "line %d: %s is no address a client can connect to; give the node's own",
			 line, nd->ip);
		return -1;
	}
	nd->port = (int)port;
	return 0;
}

/* One range word: "N" or "A-B"; the node's ranges grow by one. */
static int parse_range(struct cluster_map *m, struct word w, int32_t *claim, int idx, char *err,
		       size_t errlen, int line)
{
	struct cluster_node *nd = &m->nodes[idx];
	const char *dash = memchr(w.p, '-', w.n);
	long a, b;

	if (dash) {
		a = word_num(w.p, (size_t)(dash - w.p), CLUSTER_SLOTS - 1);
		b = word_num(dash + 1, w.n - (size_t)(dash - w.p) - 1, CLUSTER_SLOTS - 1);
	} else {
		a = b = word_num(w.p, w.n, CLUSTER_SLOTS - 1);
	}
	if (a < 0 || b < 0 || a > b) {
		snprintf(err, errlen, "line %d: '%.*s' is not a slot or a range of slots 0-16383",
			 line, (int)(w.n > 32 ? 32 : w.n), w.p);
		return -1;
	}
	for (long s = a; s <= b; s++) {
		if (claim[s] >= 0) {
			snprintf(err, errlen, "line %d: slot %ld is already assigned to node %s",
				 line, s, m->nodes[claim[s]].id);
			return -1;
		}
		claim[s] = idx;
	}
	nd->ranges = mem_realloc(nd->ranges, sizeof(*nd->ranges) * (size_t)(nd->nranges + 1));
	nd->ranges[nd->nranges][0] = (uint16_t)a;
	nd->ranges[nd->nranges][1] = (uint16_t)b;
	nd->nranges++;
	return 0;
}

static int cmp_range(const void *a, const void *b)
{
	return (int)((const uint16_t *)a)[0] - (int)((const uint16_t *)b)[0];
}

/* Sorts a node's ranges and joins adjacent ones (CLUSTER SLOTS lists a
 * contiguous run once). */
static void normalise_ranges(struct cluster_node *nd)
{
	int n = 0;

	qsort(nd->ranges, (size_t)nd->nranges, sizeof(*nd->ranges), cmp_range);
	for (int i = 0; i < nd->nranges; i++) {
		if (n > 0 && nd->ranges[n - 1][1] + 1 == nd->ranges[i][0]) {
			nd->ranges[n - 1][1] = nd->ranges[i][1];
			continue;
		}
		nd->ranges[n][0] = nd->ranges[i][0];
		nd->ranges[n][1] = nd->ranges[i][1];
		n++;
	}
	nd->nranges = n;
}

static int parse_line(struct cluster_map *m, const char *p, size_t n, int line, int32_t *claim,
		      char *err, size_t errlen)
{
	struct cluster_node *nd = NULL;
	struct word w;
	size_t i = 0;
	int k = 0;

	for (;;) {
		while (i < n && is_blank(p[i]))
			i++;
		if (i == n || p[i] == '#')
			break;
		w.p = p + i;
		while (i < n && !is_blank(p[i]))
			i++;
		w.n = (size_t)(p + i - w.p);
		if (k == 0) {
			if (m->nnodes == CLUSTER_NODES_MAX) {
				snprintf(err, errlen, "line %d: more than %d nodes", line,
					 CLUSTER_NODES_MAX);
				return -1;
			}
			m->nodes =
			    mem_realloc(m->nodes, sizeof(*m->nodes) * (size_t)(m->nnodes + 1));
			nd = &m->nodes[m->nnodes++];
			memset(nd, 0, sizeof(*nd));
			if (parse_id(nd, w) != 0) {
				snprintf(err, errlen,
					 "line %d: a node id must be 40 lower-case hex digits",
					 line);
				return -1;
			}
		} else if (k == 1) {
			if (parse_addr(nd, w, err, errlen, line) != 0)
				return -1;
		} else if (parse_range(m, w, claim, m->nnodes - 1, err, errlen, line) != 0) {
			return -1;
		}
		k++;
	}
	if (k == 0)
		return 0; /* blank or comment */
	if (k < 3 || nd == NULL) {
		snprintf(err, errlen, "line %d: expected <node id> <ip>:<port> <slot ranges>",
			 line);
		return -1;
	}
	for (int j = 0; j < m->nnodes - 1; j++) {
		if (!strcmp(m->nodes[j].id, nd->id)) {
			snprintf(err, errlen, "line %d: node id %s appears twice", line, nd->id);
			return -1;
		}
		if (!strcmp(m->nodes[j].ip, nd->ip) && m->nodes[j].port == nd->port) {
			snprintf(err, errlen, "line %d: address %s:%d appears twice", line, nd->ip,
				 nd->port);
			return -1;
		}
	}
	normalise_ranges(nd);
	return 0;
}

int cluster_map_parse(const char *text, size_t len, struct cluster_map *m, char *err, size_t errlen)
{
	int32_t *claim = mem_alloc(sizeof(*claim) * CLUSTER_SLOTS);
	size_t at = 0;
	int line = 0, rc = -1;

	memset(m, 0, sizeof(*m));
	for (int s = 0; s < CLUSTER_SLOTS; s++)
		claim[s] = -1;
	while (at < len) {
		const char *nl = memchr(text + at, '\n', len - at);
		size_t n = nl ? (size_t)(nl - (text + at)) : len - at;

		line++;
		if (parse_line(m, text + at, n, line, claim, err, errlen) != 0)
			goto out;
		at += n + (nl != NULL);
	}
	if (m->nnodes == 0) {
		snprintf(err, errlen, "the map names no node");
		goto out;
	}
	for (int s = 0; s < CLUSTER_SLOTS; s++) {
		if (claim[s] < 0) {
			snprintf(err, errlen,
				 "slot %d is assigned to no node (all 0-16383 must be)", s);
			goto out;
		}
		m->owner[s] = (uint16_t)claim[s];
	}
	rc = 0;
out:
	mem_free(claim);
	if (rc != 0)
		cluster_map_free(m);
	return rc;
}
