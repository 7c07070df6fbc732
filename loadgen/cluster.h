/*
 * cluster.h — kvsd-loadgen --cluster: Redis Cluster's client side, modelled
 * on memtier_benchmark's --cluster-mode.
 *
 * main.c asks one seed node (-h/-p) for CLUSTER SLOTS before the workers
 * start (lg_cluster_discover) and keeps the result read-only in struct
 * lg_cluster: the masters' addresses and which of them owns each of the
 * 16384 slots. Each worker copies the slot map, opens one connection set per
 * node (-c connections to every master) and sends each request to the node
 * that owns the slot of its key: the first argument of the command, hashed
 * with CRC16/XMODEM over the key or its {hash tag}, mod 16384 (Redis
 * Cluster's keyHashSlot). A -MOVED reply updates that worker's copy of the
 * map and the request goes again to the named node; -ASK sends it once to
 * the named node behind ASKING and leaves the map alone. Neither counts as an
 * error or as a request; they are counted as "moved" and "asks".
 *
 * Threads: lg_cluster_discover runs in main before the workers; afterwards
 * struct lg_cluster is read-only until the workers are joined, when
 * lg_cluster_sum writes the per-node totals. The pure functions below may
 * run on any thread.
 * Errors: lg_cluster_discover returns 0 / -errno with a message in err.
 */
#ifndef KVSD_LOADGEN_CLUSTER_H
#define KVSD_LOADGEN_CLUSTER_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define LG_SLOTS     16384
#define LG_MAX_NODES 64
#define LG_NO_NODE   0xff /* a slot no master serves */

struct lg_config;
struct lg_worker;

struct lg_node {
	char addr[96]; /* "ip:port" as CLUSTER SLOTS and -MOVED name it */
	struct sockaddr_storage sa;
	unsigned salen;
	uint64_t requests; /* lg_cluster_sum: measured replies this node served */
};

struct lg_cluster {
	int nnodes;
	struct lg_node node[LG_MAX_NODES];
	uint8_t owner[LG_SLOTS]; /* node index, or LG_NO_NODE */
	uint64_t moved, asks;	 /* lg_cluster_sum */
};

/* Connect to c->addr (AUTH with c->auth), read CLUSTER SLOTS and fill *cl
 * with the masters (at most LG_MAX_NODES) and the slot map. An empty host in
 * a reply means the seed's host. 0, or -errno with a message in err. */
int lg_cluster_discover(const struct lg_config *c, struct lg_cluster *cl, char *err, size_t errlen);
/* Redis Cluster's slot of a key: CRC16/XMODEM of the key, or of the part
 * between the first '{' and the next '}' when that part is not empty. */
unsigned lg_key_slot(const char *key, size_t len);
/* The slot of an encoded request ("*N\r\n$L\r\nCMD\r\n$L\r\nKEY\r\n..."): the
 * slot of its first argument; 0 for a request without arguments. */
unsigned lg_req_slot(const char *req, size_t len);
/* A redirect in the text of an error reply ("MOVED 3999 127.0.0.1:6381",
 * "ASK ..."): 1 MOVED, 2 ASK, each with *slot and *node (-1 when the address
 * is not one of cl's nodes); 0 for any other error. */
int lg_cluster_redirect(const struct lg_cluster *cl, const char *text, size_t len, unsigned *slot,
			int *node);
/* After the workers are joined: add their per-node counts into cl. */
void lg_cluster_sum(struct lg_cluster *cl, const struct lg_worker *w, int nworkers);
/* The summary's lines and the JSON fields ("moved", "asks", "nodes"), over a
 * measured window of secs seconds. */
void lg_cluster_print(const struct lg_cluster *cl, double secs);
void lg_cluster_json(FILE *f, const struct lg_cluster *cl, double secs);

#endif
