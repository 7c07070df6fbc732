/*
 * cluster_map.h — Redis Cluster's key-to-slot function and kvsd's static
 * slot map file (docs/CLUSTER.md).
 *
 * cluster_keyslot() is Redis's keyHashSlot(): CRC16/XMODEM (polynomial
 * 0x1021, initial value 0, no reflection) of the key, or of its hash tag —
 * the bytes between the first '{' and the first '}' after it, when that is
 * not empty — modulo 16384.
 *
 * The map file names every master of the cluster, one per line:
 *
 *     # comment
 *     <node id: 40 hex digits> <ip>:<port> <slot>|<first>-<last> ...
 *
 * The same file is given to every node. cluster_map_parse() accepts it only
 * when the ids and addresses are unique, every slot of 0..16383 belongs to
 * exactly one node, and no address is one a client cannot reach (empty,
 * 0.0.0.0 or ::, the bug dragonflydb/dragonfly#7771 shows).
 *
 * Threads: pure functions; the parsed map is read-only once built.
 * Ownership: the caller owns struct cluster_map; cluster_map_free() releases
 * what cluster_map_parse() allocated in it.
 * Errors: cluster_map_parse() returns -1 and a message naming the line.
 */
#ifndef KVSD_CLUSTER_MAP_H
#define KVSD_CLUSTER_MAP_H

#include <stddef.h>
#include <stdint.h>

#define CLUSTER_SLOTS	  16384
#define CLUSTER_ID_LEN	  40
#define CLUSTER_NODES_MAX 1000 /* Redis recommends at most ~1000 nodes */
#define CLUSTER_IP_MAX	  46   /* INET6_ADDRSTRLEN */

struct cluster_node {
	char id[CLUSTER_ID_LEN + 1];
	char ip[CLUSTER_IP_MAX + 1];
	int port;
	/* the node's slot ranges in ascending order: [first, last] pairs */
	int nranges;
	uint16_t (*ranges)[2];
};

struct cluster_map {
	int nnodes;
	struct cluster_node *nodes;    /* in file order */
	uint16_t owner[CLUSTER_SLOTS]; /* slot -> index into nodes */
};

/* CRC16/XMODEM of buf[0..len). */
uint16_t cluster_crc16(const char *buf, size_t len);
/* The hash slot of a key (Redis's keyHashSlot). */
unsigned cluster_keyslot(const char *key, size_t len);

/* Parses a map file's text (any bytes; need not be NUL-terminated) into *m.
 * 0 on success; -1 with a message in err on any error (*m is then empty). */
int cluster_map_parse(const char *text, size_t len, struct cluster_map *m, char *err,
		      size_t errlen);
/* Releases what cluster_map_parse() allocated; *m is left empty. */
void cluster_map_free(struct cluster_map *m);

#endif
