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

/* CRC16/XMODEM by table, as Redis's crc16.c. */
static uint16_t crc16_table[256];
static bool crc16_ready;

static void crc16_init(void)
{
	for (unsigned i = 0; i < 256; i++) {
		uint16_t c = (uint16_t)(i << 8);

		for (int k = 0; k < 8; k++)
			c = (uint16_t)(c & 0x8000 ? (c << 1) ^ 0x1021 : c << 1);
		crc16_table[i] = c;
	}
	crc16_ready = true;
}

uint16_t cluster_crc16(const char *buf, size_t len)
{
	uint16_t crc = 0;

	if (!crc16_ready) /* idempotent: racing initialisations write equal values */
		crc16_init();
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
